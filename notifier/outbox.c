/*  outbox.c: the notifier's durable record (see outbox.h).

    Two tables and a mark.  A notice row holds what the message is about:
    its site's state change as an encoded CHANGE frame (the wire codec is
    the one place that knows the fields, and decoding it back checks a
    damaged row like a hostile frame), plus the notice's own fields.  A
    delivery row per notice and receiver says whether it is pending,
    delivered or failed.  Every write is its own small transaction (WAL,
    synchronous=NORMAL: a commit survives the process being killed; a
    power cut may lose the last ones, which are then sent again: at least
    once, as promised).
*/
#include "outbox.h"
#include "sq_url.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#define S_SCHEMA_VERSION    1
#define S_BUSY_MS           5000    //  only `squirrel status` reads beside us

static const char *s_schema_sql =
    "CREATE TABLE notice ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"   //  never reused: receivers de-duplicate on it
    "  kind INTEGER NOT NULL,"                  //  notice_kind_t
    "  owner TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"                   //  the ALERT's seq; 0 if not from one
    "  site_id INTEGER NOT NULL,"
    "  since_us INTEGER NOT NULL,"
    "  change BLOB NOT NULL,"                   //  the state change, a CHANGE frame
    "  at_us INTEGER NOT NULL,"                 //  when the notice was made
    "  changes INTEGER NOT NULL,"
    "  window_ms INTEGER NOT NULL,"
    "  cert_expiry INTEGER NOT NULL,"
    "  days_left INTEGER NOT NULL"
    ") STRICT;"
    "CREATE UNIQUE INDEX notice_alert ON notice (seq, site_id, since_us) WHERE seq > 0;"
    "CREATE INDEX notice_site ON notice (site_id, id);"
    "CREATE TABLE delivery ("
    "  notice_id INTEGER NOT NULL REFERENCES notice (id),"
    "  receiver TEXT NOT NULL,"                 //  "<channel>:<owner>"
    "  channel INTEGER NOT NULL,"               //  channel_kind_t, for counts
    "  state INTEGER NOT NULL,"                 //  outbox_state_t
    "  ended_us INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY (notice_id, receiver)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX delivery_pending ON delivery (notice_id) WHERE state = 0;"
    "CREATE TABLE mark (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;"
    "PRAGMA user_version = 1;";

//  Statements, prepared once.
#define OUTBOX_STATEMENTS(S) \
    S (NOTICE_FIND,     "SELECT id FROM notice WHERE seq = ?1 AND site_id = ?2 AND since_us = ?3" \
                        " AND seq > 0") \
    S (NOTICE_INSERT,   "INSERT INTO notice (kind, owner, seq, site_id, since_us, change, at_us," \
                        " changes, window_ms, cert_expiry, days_left)" \
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)") \
    S (DELIVERY_INSERT, "INSERT OR IGNORE INTO delivery (notice_id, receiver, channel, state)" \
                        " VALUES (?1, ?2, ?3, 0)") \
    S (DELIVERY_MARK,   "UPDATE delivery SET state = ?3, ended_us = ?4, error = ?5" \
                        " WHERE notice_id = ?1 AND receiver = ?2 AND state = 0") \
    S (PENDING,         "SELECT n.id, n.kind, n.owner, n.seq, n.change, n.at_us, n.changes," \
                        " n.window_ms, n.cert_expiry, n.days_left, d.receiver" \
                        " FROM delivery d JOIN notice n ON n.id = d.notice_id" \
                        " WHERE d.state = 0 ORDER BY n.id, d.receiver") \
    S (LATEST,          "SELECT n.id, n.kind, n.owner, n.seq, n.change, n.at_us, n.changes," \
                        " n.window_ms, n.cert_expiry, n.days_left FROM notice n" \
                        " JOIN (SELECT MAX (id) AS id FROM notice WHERE kind != 5 GROUP BY site_id) m" \
                        " ON n.id = m.id ORDER BY n.id") \
    S (MARK_GET,        "SELECT value FROM mark WHERE name = ?1") \
    S (MARK_SET,        "INSERT INTO mark (name, value) VALUES (?1, ?2)" \
                        " ON CONFLICT (name) DO UPDATE SET value = excluded.value") \
    S (CERT_WARNED,     "SELECT 1 FROM notice WHERE site_id = ?1 AND kind = 5 AND cert_expiry = ?2" \
                        " AND days_left <= ?3 LIMIT 1") \
    S (COUNTS,          "SELECT channel, state, COUNT (*) FROM delivery GROUP BY channel, state") \
    S (PENDING_COUNTS,  "SELECT channel, COUNT (*) FROM delivery WHERE state = 0 GROUP BY channel") \
    S (PRUNE_DELIVERIES, "DELETE FROM delivery WHERE state != 0 AND ended_us < ?1") \
    S (PRUNE_NOTICES,   "DELETE FROM notice WHERE at_us < ?1" \
                        " AND id NOT IN (SELECT notice_id FROM delivery)" \
                        " AND id NOT IN (SELECT MAX (id) FROM notice WHERE kind != 5 GROUP BY site_id)" \
                        " AND NOT (kind = 5 AND cert_expiry > ?2)")

#define S_STATEMENT_ENUM(NAME, sql) STMT_##NAME,
typedef enum { OUTBOX_STATEMENTS (S_STATEMENT_ENUM) STMT_COUNT } statement_t;
#define S_STATEMENT_SQL(NAME, sql) sql,
static const char *s_statement_sql [STMT_COUNT] = { OUTBOX_STATEMENTS (S_STATEMENT_SQL) };

struct _outbox_t {
    sqlite3 *db;                        //  the connection
    sqlite3_stmt *statement [STMT_COUNT];   //  prepared once
    bool is_new;                        //  no received mark yet
    char path [PATH_MAX];               //  for messages
};


//  --------------------------------------------------------------------------
//  Opening

static int
s_exec (outbox_t *self, const char *sql)
{
    int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        zsys_error ("outbox: %s: %s", self->path, sqlite3_errmsg (self->db));
    return rc == SQLITE_OK ? 0 : -1;
}

static void
s_rollback (outbox_t *self)
{
    if (!sqlite3_get_autocommit (self->db))
        sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

outbox_t *
outbox_open (const char *data_dir, char *error, size_t error_size)
{
    outbox_t *self = (outbox_t *) calloc (1, sizeof (outbox_t));
    assert (self);
    if (data_dir) {
        if (snprintf (self->path, sizeof (self->path), "%s/%s", data_dir, OUTBOX_FILE_NAME)
            >= (int) sizeof (self->path)) {
            snprintf (error, error_size, "data folder name too long");
            free (self);
            return NULL;
        }
        //  Owners' addresses and the channels' URLs live here: made 0600
        //  by us, only when new (closing a descriptor of an open SQLite
        //  file would drop our own locks on it, see store.c).
        int fd = open (self->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            close (fd);
        else
        if (errno != EEXIST) {
            snprintf (error, error_size, "cannot create %s: %s", self->path, strerror (errno));
            free (self);
            return NULL;
        }
    }
    else
        snprintf (self->path, sizeof (self->path), ":memory:");
    const char *step = "open";
    int version = -1;
    if (sqlite3_open_v2 (self->path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
        != SQLITE_OK)
        goto failed;
    sqlite3_busy_timeout (self->db, S_BUSY_MS);
    step = "set up";
    if (data_dir && sqlite3_exec (self->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)
        goto failed;
    //  -wal and -shm outlive the last close, so that a full disk does not
    //  keep the outbox from opening at the next start (see store.c).
    int persist = 1;
    if (data_dir)
        sqlite3_file_control (self->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    if (sqlite3_exec (self->db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
                      NULL, NULL, NULL) != SQLITE_OK)
        goto failed;
    step = "read the schema version of";
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &statement, NULL) == SQLITE_OK
    &&  sqlite3_step (statement) == SQLITE_ROW)
        version = sqlite3_column_int (statement, 0);
    sqlite3_finalize (statement);
    if (version < 0)
        goto failed;
    if (version > S_SCHEMA_VERSION) {
        snprintf (error, error_size, "%s has schema version %d, newer than this squirrel "
                  "understands (%d): use a newer squirrel", self->path, version, S_SCHEMA_VERSION);
        outbox_close (&self);
        return NULL;
    }
    step = "create the schema in";
    if (version == 0) {
        //  Read again under the write lock: another connection (a `status`
        //  beside a first start) may have created it meanwhile.
        if (s_exec (self, "BEGIN IMMEDIATE"))
            goto failed;
        version = -1;
        if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &statement, NULL) == SQLITE_OK
        &&  sqlite3_step (statement) == SQLITE_ROW)
            version = sqlite3_column_int (statement, 0);
        sqlite3_finalize (statement);
        if (version < 0 || (version == 0 && s_exec (self, s_schema_sql)) || s_exec (self, "COMMIT")) {
            s_rollback (self);
            goto failed;
        }
    }
    step = "prepare statements on";
    for (int index = 0; index < STMT_COUNT; index++)
        if (sqlite3_prepare_v3 (self->db, s_statement_sql [index], -1, SQLITE_PREPARE_PERSISTENT,
                                &self->statement [index], NULL) != SQLITE_OK)
            goto failed;
    sqlite3_stmt *mark = self->statement [STMT_MARK_GET];
    sqlite3_bind_text (mark, 1, "received", -1, SQLITE_STATIC);
    self->is_new = sqlite3_step (mark) != SQLITE_ROW;
    sqlite3_reset (mark);
    return self;

failed:
    snprintf (error, error_size, "cannot %s %s: %s", step, self->path,
              self->db ? sqlite3_errmsg (self->db) : "out of memory");
    outbox_close (&self);
    return NULL;
}

void
outbox_close (outbox_t **self_p)
{
    assert (self_p);
    outbox_t *self = *self_p;
    if (!self)
        return;
    for (int index = 0; index < STMT_COUNT; index++)
        sqlite3_finalize (self->statement [index]);
    sqlite3_close (self->db);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Writing

//  Step a write statement, reset it; SQLITE_DONE -> 0.
static int
s_step (outbox_t *self, statement_t which)
{
    sqlite3_stmt *statement = self->statement [which];
    int rc = sqlite3_step (statement);
    sqlite3_reset (statement);
    sqlite3_clear_bindings (statement);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        zsys_error ("outbox: %s: %s", self->path, sqlite3_errmsg (self->db));
        return -1;
    }
    return 0;
}


int
outbox_add (outbox_t *self, notice_t *notice, const char *const *receivers, size_t count)
{
    assert (self && notice);
    const sq_alert_t *alert = &notice->alert;
    if (alert->seq) {
        sqlite3_stmt *find = self->statement [STMT_NOTICE_FIND];
        sqlite3_bind_int64 (find, 1, (int64_t) alert->seq);
        sqlite3_bind_int64 (find, 2, (int64_t) alert->site_id);
        sqlite3_bind_int64 (find, 3, alert->since);
        int rc = sqlite3_step (find);
        if (rc == SQLITE_ROW)
            notice->id = (uint64_t) sqlite3_column_int64 (find, 0);
        sqlite3_reset (find);
        if (rc == SQLITE_ROW)
            return 1;
    }
    sq_msg_t msg = { .type = SQ_MSG_CHANGE };
    sq_change_from_alert (&msg.change, alert);
    uint8_t frame [SQ_FRAME_MAX];
    int size = sq_msg_encode (&msg, frame, sizeof (frame));
    if (size < 0) {
        char shown [SQ_URL_MAX + 1];
        sq_url_shown (alert->url, shown, sizeof (shown));
        zsys_error ("outbox: notice for %s cannot be encoded", shown);
        return -1;
    }
    if (s_exec (self, "BEGIN IMMEDIATE"))
        return -1;
    sqlite3_stmt *insert = self->statement [STMT_NOTICE_INSERT];
    sqlite3_bind_int (insert, 1, notice->kind);
    sqlite3_bind_text (insert, 2, notice->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (insert, 3, (int64_t) alert->seq);
    sqlite3_bind_int64 (insert, 4, (int64_t) alert->site_id);
    sqlite3_bind_int64 (insert, 5, alert->since);
    sqlite3_bind_blob (insert, 6, frame, size, SQLITE_STATIC);
    sqlite3_bind_int64 (insert, 7, notice->at_us);
    sqlite3_bind_int64 (insert, 8, notice->changes);
    sqlite3_bind_int64 (insert, 9, notice->window_ms);
    sqlite3_bind_int64 (insert, 10, notice->cert_expiry);
    sqlite3_bind_int64 (insert, 11, notice->days_left);
    if (s_step (self, STMT_NOTICE_INSERT)) {
        s_rollback (self);
        return -1;
    }
    notice->id = (uint64_t) sqlite3_last_insert_rowid (self->db);
    for (size_t index = 0; index < count; index++) {
        channel_kind_t kind;
        char owner [SQ_NAME_MAX + 1];
        int parsed = outbox_receiver_parse (receivers [index], &kind, owner, sizeof (owner));
        assert (parsed == 0);       //  the caller made the key
        (void) parsed;
        sqlite3_stmt *delivery = self->statement [STMT_DELIVERY_INSERT];
        sqlite3_bind_int64 (delivery, 1, (int64_t) notice->id);
        sqlite3_bind_text (delivery, 2, receivers [index], -1, SQLITE_STATIC);
        sqlite3_bind_int (delivery, 3, kind);
        if (s_step (self, STMT_DELIVERY_INSERT)) {
            s_rollback (self);
            return -1;
        }
    }
    if (s_exec (self, "COMMIT")) {
        s_rollback (self);
        return -1;
    }
    return 0;
}

static int
s_mark_one (outbox_t *self, uint64_t notice, const char *receiver, outbox_state_t state,
            const char *error_text)
{
    sqlite3_stmt *mark = self->statement [STMT_DELIVERY_MARK];
    sqlite3_bind_int64 (mark, 1, (int64_t) notice);
    sqlite3_bind_text (mark, 2, receiver, -1, SQLITE_STATIC);
    sqlite3_bind_int (mark, 3, state);
    sqlite3_bind_int64 (mark, 4, zclock_time () * 1000);
    sqlite3_bind_text (mark, 5, error_text ? error_text : "", -1, SQLITE_STATIC);
    return s_step (self, STMT_DELIVERY_MARK);
}

int
outbox_mark_many (outbox_t *self, const uint64_t *notices, size_t count, const char *receiver,
                  outbox_state_t state, const char *error_text)
{
    assert (self && receiver);
    if (count == 0)
        return 0;
    if (s_exec (self, "BEGIN IMMEDIATE"))
        return -1;
    for (size_t index = 0; index < count; index++)
        if (s_mark_one (self, notices [index], receiver, state, error_text)) {
            s_rollback (self);
            return -1;
        }
    if (s_exec (self, "COMMIT")) {
        s_rollback (self);
        return -1;
    }
    return 0;
}

bool
outbox_has_alert (outbox_t *self, uint64_t seq, uint64_t site_id, int64_t since)
{
    sqlite3_stmt *find = self->statement [STMT_NOTICE_FIND];
    sqlite3_bind_int64 (find, 1, seq > INT64_MAX ? INT64_MAX : (int64_t) seq);
    sqlite3_bind_int64 (find, 2, site_id > INT64_MAX ? INT64_MAX : (int64_t) site_id);
    sqlite3_bind_int64 (find, 3, since);
    bool found = sqlite3_step (find) == SQLITE_ROW;
    sqlite3_reset (find);
    return found;
}

int
outbox_prune (outbox_t *self, int64_t before_us, int64_t now_s)
{
    if (s_exec (self, "BEGIN IMMEDIATE"))
        return -1;
    sqlite3_bind_int64 (self->statement [STMT_PRUNE_DELIVERIES], 1, before_us);
    int rc = s_step (self, STMT_PRUNE_DELIVERIES);
    int deleted = rc ? 0 : sqlite3_changes (self->db);
    sqlite3_bind_int64 (self->statement [STMT_PRUNE_NOTICES], 1, before_us);
    sqlite3_bind_int64 (self->statement [STMT_PRUNE_NOTICES], 2, now_s);
    rc = rc ? rc : s_step (self, STMT_PRUNE_NOTICES);
    deleted += rc ? 0 : sqlite3_changes (self->db);
    if (rc || s_exec (self, "COMMIT")) {
        s_rollback (self);
        return -1;
    }
    return deleted;
}

int
outbox_pending_counts (outbox_t *self, uint64_t pending [CHANNEL_COUNT])
{
    memset (pending, 0, sizeof (uint64_t) * CHANNEL_COUNT);
    sqlite3_stmt *statement = self->statement [STMT_PENDING_COUNTS];
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        int channel = sqlite3_column_int (statement, 0);
        if (channel >= 0 && channel < CHANNEL_COUNT)
            pending [channel] = (uint64_t) sqlite3_column_int64 (statement, 1);
    }
    sqlite3_reset (statement);
    return rc == SQLITE_DONE ? 0 : -1;
}

bool
outbox_cert_warned (outbox_t *self, uint64_t site_id, int64_t cert_expiry, int32_t days)
{
    sqlite3_stmt *statement = self->statement [STMT_CERT_WARNED];
    sqlite3_bind_int64 (statement, 1, (int64_t) site_id);
    sqlite3_bind_int64 (statement, 2, cert_expiry);
    sqlite3_bind_int64 (statement, 3, days);
    bool warned = sqlite3_step (statement) == SQLITE_ROW;
    sqlite3_reset (statement);
    return warned;
}

uint64_t
outbox_received (outbox_t *self)
{
    sqlite3_stmt *mark = self->statement [STMT_MARK_GET];
    sqlite3_bind_text (mark, 1, "received", -1, SQLITE_STATIC);
    uint64_t value = 0;
    if (sqlite3_step (mark) == SQLITE_ROW)
        value = (uint64_t) sqlite3_column_int64 (mark, 0);
    sqlite3_reset (mark);
    return value;
}

int
outbox_set_received (outbox_t *self, uint64_t seq)
{
    sqlite3_stmt *mark = self->statement [STMT_MARK_SET];
    sqlite3_bind_text (mark, 1, "received", -1, SQLITE_STATIC);
    sqlite3_bind_int64 (mark, 2, seq > INT64_MAX ? INT64_MAX : (int64_t) seq);
    int rc = s_step (self, STMT_MARK_SET);
    if (rc == 0)
        self->is_new = false;
    return rc;
}

bool
outbox_is_new (outbox_t *self)
{
    return self->is_new;
}


//  --------------------------------------------------------------------------
//  Reading back

//  A notice from the columns of PENDING or LATEST (same first ten).
//  false for a damaged row.
static bool
s_notice_read (sqlite3_stmt *statement, notice_t *notice)
{
    memset (notice, 0, sizeof (*notice));
    notice->id = (uint64_t) sqlite3_column_int64 (statement, 0);
    int kind = sqlite3_column_int (statement, 1);
    const char *owner = (const char *) sqlite3_column_text (statement, 2);
    int64_t seq = sqlite3_column_int64 (statement, 3);
    const void *frame = sqlite3_column_blob (statement, 4);
    int size = sqlite3_column_bytes (statement, 4);
    sq_msg_t msg;
    if (kind < 0 || kind >= NOTICE_KIND_COUNT || !owner || strlen (owner) > SQ_NAME_MAX
    ||  seq < 0 || !frame || size <= 0
    ||  sq_msg_decode (frame, (size_t) size, &msg, NULL, 0) != SQ_PROTO_OK
    ||  msg.type != SQ_MSG_CHANGE)
        return false;
    notice->kind = (notice_kind_t) kind;
    snprintf (notice->owner, sizeof (notice->owner), "%s", owner);
    sq_alert_from_change (&notice->alert, (uint64_t) seq, &msg.change);
    notice->at_us = sqlite3_column_int64 (statement, 5);
    notice->changes = (uint32_t) sqlite3_column_int64 (statement, 6);
    notice->window_ms = (uint32_t) sqlite3_column_int64 (statement, 7);
    notice->cert_expiry = sqlite3_column_int64 (statement, 8);
    notice->days_left = (int32_t) sqlite3_column_int64 (statement, 9);
    return true;
}

int
outbox_each_pending (outbox_t *self, outbox_pending_fn *fn, void *arg)
{
    sqlite3_stmt *statement = self->statement [STMT_PENDING];
    notice_t *notice = (notice_t *) malloc (sizeof (notice_t));
    assert (notice);
    uint64_t current = 0;
    bool damaged = false;
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        uint64_t id = (uint64_t) sqlite3_column_int64 (statement, 0);
        if (id != current) {
            current = id;
            damaged = !s_notice_read (statement, notice);
            if (damaged)
                zsys_error ("outbox: notice %llu is damaged in %s, not sent",
                            (unsigned long long) id, self->path);
        }
        const char *receiver = (const char *) sqlite3_column_text (statement, 10);
        channel_kind_t kind;
        char owner [SQ_NAME_MAX + 1];
        if (damaged || !receiver
        ||  outbox_receiver_parse (receiver, &kind, owner, sizeof (owner)))
            continue;
        fn (notice, receiver, arg);
        rows++;
    }
    free (notice);
    if (rc != SQLITE_DONE)
        zsys_error ("outbox: cannot read %s: %s", self->path, sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return rc == SQLITE_DONE ? rows : -1;
}

int
outbox_each_latest (outbox_t *self, outbox_latest_fn *fn, void *arg)
{
    sqlite3_stmt *statement = self->statement [STMT_LATEST];
    notice_t *notice = (notice_t *) malloc (sizeof (notice_t));
    assert (notice);
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
        if (s_notice_read (statement, notice)) {
            fn (&notice->alert, notice->at_us, arg);
            rows++;
        }
    free (notice);
    if (rc != SQLITE_DONE)
        zsys_error ("outbox: cannot read %s: %s", self->path, sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return rc == SQLITE_DONE ? rows : -1;
}

int
outbox_counts (outbox_t *self, uint64_t counts [CHANNEL_COUNT][3])
{
    memset (counts, 0, sizeof (uint64_t) * CHANNEL_COUNT * 3);
    sqlite3_stmt *statement = self->statement [STMT_COUNTS];
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        int channel = sqlite3_column_int (statement, 0);
        int state = sqlite3_column_int (statement, 1);
        if (channel >= 0 && channel < CHANNEL_COUNT && state >= 0 && state < 3)
            counts [channel][state] = (uint64_t) sqlite3_column_int64 (statement, 2);
    }
    sqlite3_reset (statement);
    return rc == SQLITE_DONE ? 0 : -1;
}


//  --------------------------------------------------------------------------
//  Receiver keys

void
outbox_receiver_key (channel_kind_t kind, const char *owner, char *out, size_t out_size)
{
    snprintf (out, out_size, "%s:%s", channel_kind_name (kind), owner ? owner : "");
}

int
outbox_receiver_parse (const char *key, channel_kind_t *kind, char *owner, size_t owner_size)
{
    const char *colon = key ? strchr (key, ':') : NULL;
    if (!colon || (size_t) (colon - key) >= 16 || strlen (colon + 1) >= owner_size)
        return -1;
    char name [16];
    memcpy (name, key, (size_t) (colon - key));
    name [colon - key] = '\0';
    int parsed = channel_kind_from_name (name);
    if (parsed < 0)
        return -1;
    *kind = (channel_kind_t) parsed;
    snprintf (owner, owner_size, "%s", colon + 1);
    return 0;
}
