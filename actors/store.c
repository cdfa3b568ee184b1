/*  store.c: see store.h.

    One file holds two halves that share the connection code: the
    synchronous store_t (a connection with its prepared statements), and
    the writer actor, which owns one store_t of its own.

    The writer keeps incoming writes in memory and applies them in one
    transaction per flush, rather than holding a transaction open while
    it waits for more: the write lock is then held only for the few
    milliseconds a flush takes, so store_sync_sites and prune slices get
    it promptly, and a failed batch is still in memory to retry.  Each
    write inside the batch runs under its own SAVEPOINT, so a row the
    database refuses is dropped alone; an error that spoils the whole
    transaction (busy, disk full, I/O) keeps the batch for a retry.
*/
#include "store.h"
#include "sq_actor.h"
#include "sq_wire.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_HOUR_US               3600000000LL    //  one rollup hour
#define S_DAY_US                86400000000LL
#define S_READER_BUSY_MS        5000    //  helpers wait this long for a lock
#define S_WRITER_BUSY_MS        1000    //  the writer waits less, then retries later
#define S_FLUSH_ATTEMPTS        10      //  failed flushes in a row before a batch is given up
#define S_RETRY_MAX_MS          8000    //  retry delay doubles from STORE_FLUSH_MS up to this
#define S_TERM_ATTEMPTS         3       //  flush attempts at $TERM
#define S_RECEIVE_BURST         256     //  messages taken per wake-up, so the pipe stays served
#define S_PRUNE_FIRST_MS        60000   //  first automatic prune, after start
#define S_PRUNE_EVERY_MS        3600000 //  then once an hour
#define S_PRUNE_RETRY_MS        60000   //  after a failed prune
#define S_TOTAL_US_MAX          S_HOUR_US   //  one check's total_us as counted in a rollup

//  Version 1.  Timestamps are unix µs, enums are the sq_proto.h values.
static const char *s_schema_sql =
    "CREATE TABLE site ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"   //  stable, never reused
    "  url TEXT NOT NULL UNIQUE,"
    "  owner TEXT NOT NULL DEFAULT '',"
    "  active INTEGER NOT NULL DEFAULT 1,"      //  0: no longer configured, kept for history
    "  state INTEGER NOT NULL DEFAULT 0,"       //  sq_state_t, from ALERTs
    "  since_us INTEGER NOT NULL DEFAULT 0,"    //  0 unknown
    "  last_check_us INTEGER NOT NULL DEFAULT 0,"
    "  last_reason INTEGER NOT NULL DEFAULT 0,"
    "  last_status INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE TABLE result ("                     //  raw results, pruned after the retention
    "  id INTEGER PRIMARY KEY,"
    "  site_id INTEGER NOT NULL REFERENCES site (id),"
    "  at_us INTEGER NOT NULL,"
    "  up INTEGER NOT NULL,"
    "  reason INTEGER NOT NULL,"
    "  http_status INTEGER NOT NULL,"
    "  method INTEGER NOT NULL,"
    "  pinger_id TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  queue_us INTEGER NOT NULL,"
    "  dns_us INTEGER NOT NULL,"
    "  connect_us INTEGER NOT NULL,"
    "  tls_us INTEGER NOT NULL,"
    "  ttfb_us INTEGER NOT NULL,"
    "  total_us INTEGER NOT NULL,"
    "  cert_expiry INTEGER NOT NULL,"           //  unix seconds, 0 none
    "  error TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX result_by_time ON result (at_us);"
    "CREATE INDEX result_by_site ON result (site_id, at_us);"
    "CREATE TABLE incident ("                   //  down periods
    "  id INTEGER PRIMARY KEY,"
    "  site_id INTEGER NOT NULL REFERENCES site (id),"
    "  start_us INTEGER NOT NULL,"
    "  end_us INTEGER,"                         //  NULL while open
    "  reason INTEGER NOT NULL,"
    "  detail TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX incident_by_site ON incident (site_id, start_us);"
    "CREATE UNIQUE INDEX incident_open ON incident (site_id) WHERE end_us IS NULL;"
    "CREATE TABLE rollup ("                     //  per site and hour; kept for good
    "  site_id INTEGER NOT NULL REFERENCES site (id),"
    "  hour INTEGER NOT NULL,"                  //  at_us / 3600e6
    "  checks INTEGER NOT NULL,"
    "  up INTEGER NOT NULL,"
    "  total_us INTEGER NOT NULL,"              //  sum, each check capped at one hour
    "  PRIMARY KEY (site_id, hour)"
    ") STRICT, WITHOUT ROWID;"
    "PRAGMA user_version = 1;";

//  Every statement a connection uses, prepared once at open.
#define S_STATEMENTS(S) \
    S (BEGIN,           "BEGIN IMMEDIATE") \
    S (COMMIT,          "COMMIT") \
    S (ROLLBACK,        "ROLLBACK") \
    S (SAVEPOINT,       "SAVEPOINT write") \
    S (RELEASE,         "RELEASE write") \
    S (ROLLBACK_TO,     "ROLLBACK TO write") \
    S (SITE_CHECK,      "UPDATE site SET" \
                        " last_reason = CASE WHEN ?2 >= last_check_us THEN ?3 ELSE last_reason END," \
                        " last_status = CASE WHEN ?2 >= last_check_us THEN ?4 ELSE last_status END," \
                        " last_check_us = MAX (last_check_us, ?2) WHERE id = ?1") \
    S (RESULT_INSERT,   "INSERT INTO result (site_id, at_us, up, reason, http_status, method," \
                        " pinger_id, region, queue_us, dns_us, connect_us, tls_us, ttfb_us," \
                        " total_us, cert_expiry, error)" \
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)") \
    S (ROLLUP,          "INSERT INTO rollup (site_id, hour, checks, up, total_us) VALUES (?1, ?2, 1, ?3, ?4)" \
                        " ON CONFLICT (site_id, hour) DO UPDATE SET checks = checks + 1," \
                        " up = up + excluded.up, total_us = total_us + excluded.total_us") \
    S (SITE_STATE,      "UPDATE site SET state = ?2, since_us = ?3 WHERE id = ?1") \
    S (INCIDENT_OPEN,   "INSERT INTO incident (site_id, start_us, reason, detail)" \
                        " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS" \
                        " (SELECT 1 FROM incident WHERE site_id = ?1 AND end_us IS NULL)") \
    S (INCIDENT_CLOSE,  "UPDATE incident SET end_us = MAX (?2, start_us)" \
                        " WHERE site_id = ?1 AND end_us IS NULL") \
    S (PRUNE,           "DELETE FROM result WHERE id IN" \
                        " (SELECT id FROM result WHERE at_us < ?1 ORDER BY at_us LIMIT ?2)") \
    S (SITES_RETIRE,    "UPDATE site SET active = 0 WHERE active = 1") \
    S (SITE_UPSERT,     "INSERT INTO site (url, owner) VALUES (?1, ?2) ON CONFLICT (url)" \
                        " DO UPDATE SET owner = excluded.owner, active = 1 RETURNING id") \
    S (SITE_STATE_GET,  "SELECT state, since_us FROM site WHERE id = ?1") \
    S (STATUS,          "SELECT s.id, s.url, s.owner, s.state, s.since_us, s.last_check_us," \
                        " s.last_reason, s.last_status," \
                        " EXISTS (SELECT 1 FROM incident i WHERE i.site_id = s.id AND i.end_us IS NULL)," \
                        " SUM (CASE WHEN r.hour >= ?1 THEN r.checks END)," \
                        " SUM (CASE WHEN r.hour >= ?1 THEN r.up END)," \
                        " SUM (CASE WHEN r.hour >= ?2 THEN r.checks END)," \
                        " SUM (CASE WHEN r.hour >= ?2 THEN r.up END)," \
                        " SUM (r.checks), SUM (r.up)" \
                        " FROM site s LEFT JOIN rollup r" \
                        " ON r.site_id = s.id AND r.hour BETWEEN ?3 AND ?4" \
                        " WHERE s.active = 1 GROUP BY s.id ORDER BY s.url") \
    S (INCIDENTS,       "SELECT start_us, end_us, reason, detail FROM incident" \
                        " WHERE site_id = ?1 ORDER BY start_us DESC, id DESC LIMIT ?2")

#define S_STATEMENT_ID(NAME, sql) STMT_##NAME,
typedef enum { S_STATEMENTS (S_STATEMENT_ID) STMT_COUNT } statement_t;
#define S_STATEMENT_SQL(NAME, sql) sql,
static const char *s_statement_sql [STMT_COUNT] = { S_STATEMENTS (S_STATEMENT_SQL) };

struct _store_t {
    sqlite3 *db;                            //  this connection
    sqlite3_stmt *statement [STMT_COUNT];   //  prepared once, reset after each use
    char error [256];                       //  text of the last failed step
};


//  ---------------------------------------------------------------------
//  Connection

static void
s_set_error (char *error, size_t error_size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_set_error (char *error, size_t error_size, const char *format, ...)
{
    if (!error || !error_size)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (error, error_size, format, args);
    va_end (args);
}

//  mkdir -p, each missing folder with mode 0750.
static int
s_make_folder (const char *path, char *error, size_t error_size)
{
    char buffer [PATH_MAX];
    if (!*path || strlen (path) >= sizeof (buffer)) {
        s_set_error (error, error_size, "data folder name is empty or too long");
        return -1;
    }
    strcpy (buffer, path);
    for (char *slash = strchr (buffer + 1, '/'); ; slash = strchr (slash + 1, '/')) {
        if (slash)
            *slash = 0;
        if (mkdir (buffer, 0750) < 0 && errno != EEXIST) {
            s_set_error (error, error_size, "cannot create %s: %s", buffer, strerror (errno));
            return -1;
        }
        if (!slash)
            break;
        *slash = '/';
    }
    struct stat info;
    if (stat (path, &info) < 0 || !S_ISDIR (info.st_mode)) {
        s_set_error (error, error_size, "%s is not a folder", path);
        return -1;
    }
    return 0;
}

//  Step a statement that returns no rows we want; reset it.  SQLITE_OK or
//  the error code, with the text in self->error.
static int
s_step (store_t *self, statement_t which)
{
    sqlite3_stmt *statement = self->statement [which];
    int rc = sqlite3_step (statement);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        snprintf (self->error, sizeof (self->error), "%s", sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

//  Leave a transaction that failed, if SQLite has not already.
static void
s_rollback (store_t *self)
{
    if (!sqlite3_get_autocommit (self->db))
        s_step (self, STMT_ROLLBACK);
}

static int
s_pragma_int (store_t *self, const char *sql, int *value)
{
    sqlite3_stmt *statement;
    int rc = sqlite3_prepare_v2 (self->db, sql, -1, &statement, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step (statement);
        if (rc == SQLITE_ROW) {
            *value = sqlite3_column_int (statement, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize (statement);
    return rc;
}

//  Create the schema in a new file; refuse a newer one.
static int
s_schema (store_t *self, const char *path, char *error, size_t error_size)
{
    int version = 0;
    if (s_pragma_int (self, "PRAGMA user_version", &version) != SQLITE_OK) {
        s_set_error (error, error_size, "cannot read %s: %s", path, sqlite3_errmsg (self->db));
        return -1;
    }
    if (version == STORE_SCHEMA_VERSION)
        return 0;
    if (version > STORE_SCHEMA_VERSION) {
        s_set_error (error, error_size, "%s has schema version %d, newer than this squirrel "
                     "understands (%d): use a newer squirrel", path, version, STORE_SCHEMA_VERSION);
        return -1;
    }
    //  Version 0: a new file.  Re-read under the write lock: another
    //  connection may be creating it at this very moment.
    int rc = sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = s_pragma_int (self, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK && version == 0)
        rc = sqlite3_exec (self->db, s_schema_sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        s_set_error (error, error_size, "cannot create the schema in %s: %s", path,
                     sqlite3_errmsg (self->db));
        if (!sqlite3_get_autocommit (self->db))
            sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static store_t *
s_store_open (const char *data_dir, int busy_ms, char *error, size_t error_size)
{
    assert (data_dir);
    if (s_make_folder (data_dir, error, error_size))
        return NULL;
    char path [PATH_MAX];
    if (snprintf (path, sizeof (path), "%s/%s", data_dir, STORE_FILE_NAME) >= (int) sizeof (path)) {
        s_set_error (error, error_size, "data folder name too long");
        return NULL;
    }
    //  Create the file ourselves so it is not world-readable (owners'
    //  addresses live here); SQLite gives -wal and -shm the same mode.
    //  Only when it is new (O_EXCL): closing a descriptor of a file drops
    //  every POSIX lock this process holds on it, including the shared
    //  lock of the writer's connection, and a reader in another process
    //  would then think itself the last one and delete the WAL.
    int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd >= 0)
        close (fd);
    else
    if (errno != EEXIST) {
        s_set_error (error, error_size, "cannot open %s: %s", path, strerror (errno));
        return NULL;
    }

    store_t *self = (store_t *) calloc (1, sizeof (store_t));
    assert (self);
    const char *step = "open";
    if (sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        goto failed;
    sqlite3_busy_timeout (self->db, busy_ms);
    step = "switch to WAL";
    char mode [16] = "";
    sqlite3_stmt *statement;
    if (sqlite3_prepare_v2 (self->db, "PRAGMA journal_mode=WAL", -1, &statement, NULL) == SQLITE_OK
    &&  sqlite3_step (statement) == SQLITE_ROW)
        snprintf (mode, sizeof (mode), "%s", (const char *) sqlite3_column_text (statement, 0));
    sqlite3_finalize (statement);
    if (strcasecmp (mode, "wal"))
        goto failed;
    step = "set pragmas";
    if (sqlite3_exec (self->db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
                      NULL, NULL, NULL) != SQLITE_OK)
        goto failed;
    if (s_schema (self, path, error, error_size)) {
        store_close (&self);
        return NULL;
    }
    step = "prepare statements";
    for (int index = 0; index < STMT_COUNT; index++)
        if (sqlite3_prepare_v3 (self->db, s_statement_sql [index], -1, SQLITE_PREPARE_PERSISTENT,
                                &self->statement [index], NULL) != SQLITE_OK)
            goto failed;
    return self;

failed:
    s_set_error (error, error_size, "cannot %s %s: %s", step, path,
                 self->db ? sqlite3_errmsg (self->db) : "out of memory");
    store_close (&self);
    return NULL;
}

store_t *
store_open (const char *data_dir, char *error, size_t error_size)
{
    return s_store_open (data_dir, S_READER_BUSY_MS, error, error_size);
}

void
store_close (store_t **self_p)
{
    assert (self_p);
    store_t *self = *self_p;
    if (!self)
        return;
    for (int index = 0; index < STMT_COUNT; index++)
        sqlite3_finalize (self->statement [index]);
    sqlite3_close (self->db);     //  all statements finalized: never SQLITE_BUSY
    free (self);
    *self_p = NULL;
}


//  ---------------------------------------------------------------------
//  Synchronous helpers

int
store_sync_sites (store_t *self, const char **urls, const char **owners, size_t count,
                  uint64_t *ids_out, char *error, size_t error_size)
{
    assert (self);
    assert (urls || count == 0);
    for (size_t index = 0; index < count; index++)
        if (!urls [index] || !*urls [index] || strlen (urls [index]) > SQ_URL_MAX) {
            s_set_error (error, error_size, "site %zu: URL missing or longer than %d bytes",
                         index + 1, SQ_URL_MAX);
            return -1;
        }
    int rc = s_step (self, STMT_BEGIN);
    if (rc == SQLITE_OK)
        rc = s_step (self, STMT_SITES_RETIRE);
    sqlite3_stmt *upsert = self->statement [STMT_SITE_UPSERT];
    for (size_t index = 0; rc == SQLITE_OK && index < count; index++) {
        const char *owner = owners && owners [index] ? owners [index] : "";
        sqlite3_bind_text (upsert, 1, urls [index], -1, SQLITE_STATIC);
        sqlite3_bind_text (upsert, 2, owner, -1, SQLITE_STATIC);
        rc = sqlite3_step (upsert);
        if (rc == SQLITE_ROW) {
            if (ids_out)
                ids_out [index] = (uint64_t) sqlite3_column_int64 (upsert, 0);
            rc = sqlite3_step (upsert);     //  run it to the end
        }
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        else
            snprintf (self->error, sizeof (self->error), "%s: %s", urls [index],
                      sqlite3_errmsg (self->db));
        sqlite3_reset (upsert);
    }
    if (rc == SQLITE_OK)
        rc = s_step (self, STMT_COMMIT);
    if (rc != SQLITE_OK) {
        s_set_error (error, error_size, "cannot record the sites: %s", self->error);
        s_rollback (self);
        return -1;
    }
    return 0;
}

int
store_site_state (store_t *self, uint64_t site_id, sq_state_t *state, int64_t *since_us)
{
    assert (self);
    if (site_id > INT64_MAX)
        return -1;
    sqlite3_stmt *statement = self->statement [STMT_SITE_STATE_GET];
    sqlite3_bind_int64 (statement, 1, (int64_t) site_id);
    int rc = sqlite3_step (statement);
    if (rc == SQLITE_ROW) {
        int value = sqlite3_column_int (statement, 0);
        if (state)
            *state = value >= 0 && value < SQ_STATE_COUNT ? (sq_state_t) value : SQ_STATE_UNKNOWN;
        if (since_us)
            *since_us = sqlite3_column_int64 (statement, 1);
    }
    sqlite3_reset (statement);
    return rc == SQLITE_ROW ? 0 : -1;
}

static double
s_uptime (sqlite3_stmt *statement, int checks_column)
{
    int64_t checks = sqlite3_column_int64 (statement, checks_column);
    int64_t up = sqlite3_column_int64 (statement, checks_column + 1);
    return checks > 0 ? 100.0 * (double) up / (double) checks : -1;
}

int
store_status (store_t *self, int64_t now_us,
              void (*callback) (const store_status_t *row, void *arg), void *arg)
{
    assert (self);
    assert (callback);
    int64_t hour = now_us > 0 ? now_us / S_HOUR_US : 0;
    sqlite3_stmt *statement = self->statement [STMT_STATUS];
    sqlite3_bind_int64 (statement, 1, hour - 23);
    sqlite3_bind_int64 (statement, 2, hour - 7 * 24 + 1);
    sqlite3_bind_int64 (statement, 3, hour - 30 * 24 + 1);
    sqlite3_bind_int64 (statement, 4, hour);
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        int state = sqlite3_column_int (statement, 3);
        int reason = sqlite3_column_int (statement, 6);
        const char *url = (const char *) sqlite3_column_text (statement, 1);
        const char *owner = (const char *) sqlite3_column_text (statement, 2);
        store_status_t row = {
            .id = (uint64_t) sqlite3_column_int64 (statement, 0),
            .url = url ? url : "",
            .owner = owner ? owner : "",
            .state = state >= 0 && state < SQ_STATE_COUNT ? (sq_state_t) state : SQ_STATE_UNKNOWN,
            .since_us = sqlite3_column_int64 (statement, 4),
            .last_check_us = sqlite3_column_int64 (statement, 5),
            .last_reason = reason >= 0 && reason < SQ_REASON_COUNT ? (sq_reason_t) reason : SQ_REASON_OK,
            .last_status = (unsigned) sqlite3_column_int (statement, 7),
            .open_incident = sqlite3_column_int (statement, 8) ? 1 : 0,
            .uptime_24h = s_uptime (statement, 9),
            .uptime_7d = s_uptime (statement, 11),
            .uptime_30d = s_uptime (statement, 13),
        };
        callback (&row, arg);
        rows++;
    }
    if (rc != SQLITE_DONE)
        zsys_error ("store: cannot read the status: %s", sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return rc == SQLITE_DONE ? rows : -1;
}

int
store_incidents (store_t *self, uint64_t site_id, size_t limit,
                 void (*callback) (const store_incident_t *row, void *arg), void *arg)
{
    assert (self);
    assert (callback);
    if (site_id > INT64_MAX)
        return 0;
    sqlite3_stmt *statement = self->statement [STMT_INCIDENTS];
    sqlite3_bind_int64 (statement, 1, (int64_t) site_id);
    sqlite3_bind_int64 (statement, 2, limit > INT64_MAX ? INT64_MAX : (int64_t) limit);
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        int reason = sqlite3_column_int (statement, 2);
        const char *detail = (const char *) sqlite3_column_text (statement, 3);
        store_incident_t row = {
            .start_us = sqlite3_column_int64 (statement, 0),
            .end_us = sqlite3_column_int64 (statement, 1),     //  NULL reads as 0
            .reason = reason >= 0 && reason < SQ_REASON_COUNT ? (sq_reason_t) reason : SQ_REASON_OK,
            .detail = detail ? detail : "",
        };
        callback (&row, arg);
        rows++;
    }
    if (rc != SQLITE_DONE)
        zsys_error ("store: cannot read incidents of site %llu: %s",
                    (unsigned long long) site_id, sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return rc == SQLITE_DONE ? rows : -1;
}


//  ---------------------------------------------------------------------
//  The writer actor

//  An ALERT as the store keeps it: the URL is already in the site row.
typedef struct {
    uint64_t site_id;           //  the site
    sq_state_t state;           //  its new state
    int64_t since;              //  unix µs the new state began
    sq_reason_t reason;         //  reason of the deciding check
    char detail [SQ_TEXT_MAX + 1];  //  short human text
} pending_alert_t;

//  One write waiting for the next flush.
typedef struct {
    sq_msg_type_t type;         //  SQ_MSG_RESULT or SQ_MSG_ALERT
    union {
        sq_result_t result;     //  type RESULT: as decoded
        pending_alert_t alert;  //  type ALERT
    };
} pending_write_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *writes;            //  PULL, RESULT and ALERT from the collector
    zpoller_t *poller;          //  pipe, writes
    store_t *store;             //  the writer's own connection
    uint32_t retention_days;    //  raw results kept
    bool terminated;            //  $TERM received
    pending_write_t *pending;   //  writes not yet committed, in arrival order
    size_t pending_count;       //  entries in use
    size_t pending_size;        //  entries allocated
    int64_t first_pending_at;   //  monotonic ms the oldest pending write arrived
    unsigned flush_failures;    //  failed flushes in a row of the current batch
    int64_t retry_at;           //  monotonic ms before which a failed batch is not retried
    bool overflowing;           //  pending is full and new writes are being dropped
    uint64_t overflow_dropped;  //  writes dropped since overflowing began
    int64_t prune_at;           //  monotonic ms of the next automatic prune
    bool pruning;               //  an automatic prune is under way, one slice per turn
    int64_t prune_cutoff;       //  its cutoff, unix µs
    uint64_t pruned;            //  rows it has deleted so far
    uint64_t results;           //  RESULTs taken
    uint64_t alerts;            //  ALERTs taken
    uint64_t flushes;           //  transactions committed
    uint64_t malformed;         //  frames refused
    uint64_t failed_writes;     //  failed write attempts (each logged)
    uint64_t dropped;           //  writes taken but never stored
} self_t;

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->writes);
    store_close (&self->store);
    free (self->pending);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const store_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->retention_days = args->retention_days ? args->retention_days : STORE_DEFAULT_RETENTION;
    self->store = s_store_open (args->data_dir, S_WRITER_BUSY_MS, error, error_size);
    if (!self->store) {
        s_self_destroy (&self);
        return NULL;
    }
    self->writes = zsock_new (ZMQ_PULL);
    assert (self->writes);
    //  No high-water mark: the collector must never block or drop because
    //  the disk is slow.  The backlog is bounded here, by STORE_PENDING_MAX.
    zsock_set_rcvhwm (self->writes, 0);
    if (zsock_bind (self->writes, "%s", args->endpoint) < 0) {
        snprintf (error, error_size, "cannot bind %s: %s", args->endpoint,
                  zmq_strerror (zmq_errno ()));
        s_self_destroy (&self);
        return NULL;
    }
    self->pending_size = STORE_FLUSH_WRITES;
    self->pending = (pending_write_t *) malloc (self->pending_size * sizeof (pending_write_t));
    assert (self->pending);
    self->prune_at = zclock_mono () + S_PRUNE_FIRST_MS;
    self->poller = zpoller_new (pipe, self->writes, NULL);
    zpoller_set_nonstop (self->poller, true);
    return self;
}

static uint64_t
s_site_of (const pending_write_t *write)
{
    return write->type == SQ_MSG_RESULT ? write->result.site_id : write->alert.site_id;
}

static int64_t
s_clamp (uint64_t value, int64_t max)
{
    return value > (uint64_t) max ? max : (int64_t) value;
}

//  RESULT: site last-check fields, raw row, rollup.  *known false when the
//  site is not in the store (nothing written then).
static int
s_apply_result (store_t *store, const sq_result_t *result, bool *known)
{
    int64_t site_id = (int64_t) result->site_id;
    sqlite3_stmt *statement = store->statement [STMT_SITE_CHECK];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_int64 (statement, 2, result->at);
    sqlite3_bind_int (statement, 3, result->reason);
    sqlite3_bind_int (statement, 4, result->http_status);
    int rc = s_step (store, STMT_SITE_CHECK);
    *known = rc != SQLITE_OK || sqlite3_changes (store->db) > 0;
    if (rc != SQLITE_OK || !*known)
        return rc;

    statement = store->statement [STMT_RESULT_INSERT];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_int64 (statement, 2, result->at);
    sqlite3_bind_int (statement, 3, result->up);
    sqlite3_bind_int (statement, 4, result->reason);
    sqlite3_bind_int (statement, 5, result->http_status);
    sqlite3_bind_int (statement, 6, result->method);
    sqlite3_bind_text (statement, 7, result->pinger_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (statement, 8, result->region, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (statement, 9, s_clamp (result->queue_us, INT64_MAX));
    sqlite3_bind_int64 (statement, 10, s_clamp (result->dns_us, INT64_MAX));
    sqlite3_bind_int64 (statement, 11, s_clamp (result->connect_us, INT64_MAX));
    sqlite3_bind_int64 (statement, 12, s_clamp (result->tls_us, INT64_MAX));
    sqlite3_bind_int64 (statement, 13, s_clamp (result->ttfb_us, INT64_MAX));
    sqlite3_bind_int64 (statement, 14, s_clamp (result->total_us, INT64_MAX));
    sqlite3_bind_int64 (statement, 15, result->cert_expiry);
    sqlite3_bind_text (statement, 16, result->error, -1, SQLITE_STATIC);
    rc = s_step (store, STMT_RESULT_INSERT);
    if (rc != SQLITE_OK)
        return rc;

    //  A hostile total_us must not overflow the hour's sum.
    statement = store->statement [STMT_ROLLUP];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_int64 (statement, 2, result->at / S_HOUR_US);
    sqlite3_bind_int (statement, 3, result->up);
    sqlite3_bind_int64 (statement, 4, s_clamp (result->total_us, S_TOTAL_US_MAX));
    return s_step (store, STMT_ROLLUP);
}

//  ALERT: site state, then open or close the incident.
static int
s_apply_alert (store_t *store, const pending_alert_t *alert, bool *known)
{
    int64_t site_id = (int64_t) alert->site_id;
    sqlite3_stmt *statement = store->statement [STMT_SITE_STATE];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_int (statement, 2, alert->state);
    sqlite3_bind_int64 (statement, 3, alert->since);
    int rc = s_step (store, STMT_SITE_STATE);
    *known = rc != SQLITE_OK || sqlite3_changes (store->db) > 0;
    if (rc != SQLITE_OK || !*known)
        return rc;

    if (alert->state == SQ_STATE_DOWN) {
        statement = store->statement [STMT_INCIDENT_OPEN];
        sqlite3_bind_int64 (statement, 1, site_id);
        sqlite3_bind_int64 (statement, 2, alert->since);
        sqlite3_bind_int (statement, 3, alert->reason);
        sqlite3_bind_text (statement, 4, alert->detail, -1, SQLITE_STATIC);
        return s_step (store, STMT_INCIDENT_OPEN);
    }
    //  A clock that stepped back must not make an incident end before it began.
    statement = store->statement [STMT_INCIDENT_CLOSE];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_int64 (statement, 2, alert->since);
    return s_step (store, STMT_INCIDENT_CLOSE);
}

//  Errors that concern one row only; anything else spoils the batch.
static bool
s_row_error (int rc)
{
    rc &= 0xff;
    return rc == SQLITE_CONSTRAINT || rc == SQLITE_MISMATCH || rc == SQLITE_TOOBIG
        || rc == SQLITE_RANGE;
}

//  Apply one write under its own savepoint.  A write for an unknown site or
//  one the database refuses is dropped alone (counted in *dropped, which the
//  caller keeps only if the batch commits).  Returns SQLITE_OK, or the error
//  that spoiled the transaction.
static int
s_apply (self_t *self, const pending_write_t *write, uint64_t *dropped)
{
    store_t *store = self->store;
    int rc = s_step (store, STMT_SAVEPOINT);
    if (rc != SQLITE_OK)
        return rc;
    bool known = true;
    rc = write->type == SQ_MSG_RESULT
       ? s_apply_result (store, &write->result, &known)
       : s_apply_alert (store, &write->alert, &known);
    if (rc == SQLITE_OK) {
        if (!known) {
            zsys_warning ("store: dropped a %s for site %llu, which is not in the store",
                          sq_msg_type_name (write->type), (unsigned long long) s_site_of (write));
            (*dropped)++;
        }
        return s_step (store, STMT_RELEASE);
    }
    if (s_row_error (rc) && !sqlite3_get_autocommit (store->db)) {
        self->failed_writes++;
        (*dropped)++;
        zsys_error ("store: the database refused a %s for site %llu, dropped: %s",
                    sq_msg_type_name (write->type), (unsigned long long) s_site_of (write),
                    store->error);
        rc = s_step (store, STMT_ROLLBACK_TO);
        return rc == SQLITE_OK ? s_step (store, STMT_RELEASE) : rc;
    }
    return rc;
}

//  Drop every pending write, loudly.
static void
s_give_up (self_t *self, const char *why)
{
    zsys_error ("store: GIVING UP on %zu writes (sites %llu .. %llu) after %u failed flushes, "
                "their data is LOST: %s", self->pending_count,
                (unsigned long long) s_site_of (&self->pending [0]),
                (unsigned long long) s_site_of (&self->pending [self->pending_count - 1]),
                self->flush_failures, why);
    self->dropped += self->pending_count;
    self->pending_count = 0;
    self->flush_failures = 0;
    self->retry_at = 0;
}

//  Write every pending write in one transaction.  0, or -1 with the batch
//  kept for a retry (or given up after S_FLUSH_ATTEMPTS failures in a row).
static int
s_flush (self_t *self)
{
    if (!self->pending_count)
        return 0;
    store_t *store = self->store;
    uint64_t dropped = 0;
    const pending_write_t *failed = NULL;
    int rc = s_step (store, STMT_BEGIN);
    for (size_t index = 0; rc == SQLITE_OK && index < self->pending_count; index++) {
        rc = s_apply (self, &self->pending [index], &dropped);
        if (rc != SQLITE_OK)
            failed = &self->pending [index];
    }
    if (rc == SQLITE_OK)
        rc = s_step (store, STMT_COMMIT);
    if (rc == SQLITE_OK) {
        self->flushes++;
        self->dropped += dropped;
        self->pending_count = 0;
        self->flush_failures = 0;
        self->retry_at = 0;
        if (self->overflowing) {
            zsys_error ("store: writing again; %llu writes were dropped while the queue was full",
                        (unsigned long long) self->overflow_dropped);
            self->overflowing = false;
            self->overflow_dropped = 0;
        }
        return 0;
    }
    char why [sizeof (store->error)];
    snprintf (why, sizeof (why), "%s", store->error);
    s_rollback (store);
    self->failed_writes++;
    self->flush_failures++;
    unsigned shift = self->flush_failures < 5 ? self->flush_failures - 1 : 4;
    int64_t delay = (int64_t) STORE_FLUSH_MS << shift;
    if (delay > S_RETRY_MAX_MS)
        delay = S_RETRY_MAX_MS;
    self->retry_at = zclock_mono () + delay;
    if (failed)
        zsys_error ("store: write of a %s for site %llu failed (batch of %zu kept, attempt %u "
                    "of %u): %s", sq_msg_type_name (failed->type),
                    (unsigned long long) s_site_of (failed), self->pending_count,
                    self->flush_failures, S_FLUSH_ATTEMPTS, why);
    else
        zsys_error ("store: flush of %zu writes (sites %llu ..) failed (kept, attempt %u of %u): %s",
                    self->pending_count, (unsigned long long) s_site_of (&self->pending [0]),
                    self->flush_failures, S_FLUSH_ATTEMPTS, why);
    if (self->flush_failures >= S_FLUSH_ATTEMPTS)
        s_give_up (self, why);
    return -1;
}

//  Take one message off the socket into pending.
static void
s_take_one (self_t *self)
{
    sq_msg_t msg;
    char why [128] = "";
    int rc = sq_wire_recv (self->writes, NULL, NULL, &msg, why, sizeof (why));
    if (rc == SQ_WIRE_INTERRUPTED)
        return;
    const char *problem = rc != SQ_PROTO_OK ? why
                        : msg.type != SQ_MSG_RESULT && msg.type != SQ_MSG_ALERT ? "neither RESULT nor ALERT"
                        : (msg.type == SQ_MSG_RESULT ? msg.result.site_id : msg.alert.site_id) > INT64_MAX
                        ? "site id beyond the store's range" : NULL;
    if (problem) {
        self->malformed++;
        zsys_warning ("store: dropped a frame from the collector: %s", problem);
        return;
    }
    if (msg.type == SQ_MSG_RESULT)
        self->results++;
    else
        self->alerts++;
    if (self->pending_count == STORE_PENDING_MAX) {
        if (!self->overflowing)
            zsys_error ("store: %d writes waiting and flushes are failing: dropping new writes "
                        "(first: %s for site %llu) until a flush succeeds", STORE_PENDING_MAX,
                        sq_msg_type_name (msg.type), (unsigned long long)
                        (msg.type == SQ_MSG_RESULT ? msg.result.site_id : msg.alert.site_id));
        self->overflowing = true;
        self->overflow_dropped++;
        self->dropped++;
        return;
    }
    if (self->pending_count == self->pending_size) {
        self->pending_size = self->pending_size * 2 < STORE_PENDING_MAX
                           ? self->pending_size * 2 : STORE_PENDING_MAX;
        self->pending = (pending_write_t *) realloc (self->pending,
                                                     self->pending_size * sizeof (pending_write_t));
        assert (self->pending);
    }
    if (self->pending_count == 0)
        self->first_pending_at = zclock_mono ();
    pending_write_t *write = &self->pending [self->pending_count++];
    write->type = msg.type;
    if (msg.type == SQ_MSG_RESULT)
        write->result = msg.result;
    else {
        write->alert.site_id = msg.alert.site_id;
        write->alert.state = (sq_state_t) msg.alert.state;
        write->alert.since = msg.alert.since;
        write->alert.reason = (sq_reason_t) msg.alert.reason;
        memcpy (write->alert.detail, msg.alert.detail, sizeof (write->alert.detail));
    }
}

//  Take what is queued on the socket: at most one burst, or (drain) all
//  of it (bounded, against a peer that never stops), as $TERM and FLUSH need.  A full batch is flushed at once, so no
//  transaction holds more than STORE_FLUSH_WRITES writes unless flushes
//  are failing.
static void
s_handle_writes (self_t *self, bool drain)
{
    size_t limit = drain ? STORE_PENDING_MAX : S_RECEIVE_BURST;
    for (size_t taken = 0; taken < limit; taken++) {
        if (!(zsock_events (self->writes) & ZMQ_POLLIN))
            break;
        s_take_one (self);
        if (self->pending_count >= STORE_FLUSH_WRITES && self->flush_failures == 0)
            s_flush (self);
    }
}

static int64_t
s_prune_cutoff (self_t *self)
{
    int64_t now = sq_wallclock_us ();
    if (self->retention_days >= now / S_DAY_US)
        return 0;       //  keeps everything
    return now - (int64_t) self->retention_days * S_DAY_US;
}

//  Delete one slice of raw results older than cutoff, in its own
//  (autocommit) transaction.  Rows deleted, or -1.
static int64_t
s_prune_slice (self_t *self, int64_t cutoff)
{
    store_t *store = self->store;
    sqlite3_stmt *statement = store->statement [STMT_PRUNE];
    sqlite3_bind_int64 (statement, 1, cutoff);
    sqlite3_bind_int (statement, 2, STORE_PRUNE_SLICE);
    if (s_step (store, STMT_PRUNE) != SQLITE_OK) {
        zsys_error ("store: pruning raw results failed: %s", store->error);
        return -1;
    }
    return sqlite3_changes (store->db);
}

static void
s_prune_done (self_t *self, uint64_t deleted)
{
    if (deleted)
        zsys_info ("store: pruned %llu raw results older than %u days",
                   (unsigned long long) deleted, self->retention_days);
    //  Give the WAL back to the main file while it is quiet; PASSIVE never
    //  waits for readers.
    sqlite3_wal_checkpoint_v2 (self->store->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    self->pruning = false;
    self->prune_at = zclock_mono () + S_PRUNE_EVERY_MS;
}

//  PRUNE: every slice now.  Rows deleted, or -1.
static int64_t
s_prune_all (self_t *self)
{
    int64_t cutoff = s_prune_cutoff (self);
    int64_t deleted = 0;
    int64_t slice;
    do {
        slice = s_prune_slice (self, cutoff);
        if (slice < 0)
            return -1;
        deleted += slice;
    } while (slice == STORE_PRUNE_SLICE);
    s_prune_done (self, (uint64_t) deleted);
    return deleted;
}

static void
s_handle_pipe (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "STATS"))
        zstr_sendf (self->pipe, "results=%llu alerts=%llu flushes=%llu malformed=%llu "
                    "failed_writes=%llu pending=%zu dropped=%llu",
                    (unsigned long long) self->results, (unsigned long long) self->alerts,
                    (unsigned long long) self->flushes, (unsigned long long) self->malformed,
                    (unsigned long long) self->failed_writes, self->pending_count,
                    (unsigned long long) self->dropped);
    else
    if (streq (command, "FLUSH")) {
        s_handle_writes (self, true);
        if (s_flush (self) == 0)
            zstr_send (self->pipe, "OK");
        else
            zstr_sendf (self->pipe, "ERROR %s", self->store->error);
    }
    else
    if (streq (command, "PRUNE")) {
        int64_t deleted = s_prune_all (self);
        if (deleted >= 0)
            zstr_sendf (self->pipe, "OK %lld", (long long) deleted);
        else
            zstr_sendf (self->pipe, "ERROR %s", self->store->error);
    }
    else
        zsys_warning ("store: unknown pipe command '%s'", command);
    zstr_free (&command);
}

//  Flush when due; run a slice of the automatic prune.
static void
s_handle_timers (self_t *self)
{
    int64_t now = zclock_mono ();
    if (self->pending_count && now >= self->retry_at
    &&  (self->pending_count >= STORE_FLUSH_WRITES || now >= self->first_pending_at + STORE_FLUSH_MS))
        s_flush (self);
    if (!self->pruning && now >= self->prune_at) {
        self->pruning = true;
        self->prune_cutoff = s_prune_cutoff (self);
        self->pruned = 0;
    }
    if (self->pruning) {
        int64_t slice = s_prune_slice (self, self->prune_cutoff);
        if (slice < 0) {
            self->pruning = false;
            self->prune_at = now + S_PRUNE_RETRY_MS;
        }
        else {
            self->pruned += (uint64_t) slice;
            if (slice < STORE_PRUNE_SLICE)
                s_prune_done (self, self->pruned);
        }
    }
}

//  Milliseconds until s_handle_timers has work.
static int
s_timeout (self_t *self)
{
    if (self->pruning)
        return 0;
    int64_t deadline = self->prune_at;
    if (self->pending_count) {
        int64_t flush_at = self->pending_count >= STORE_FLUSH_WRITES
                         ? 0 : self->first_pending_at + STORE_FLUSH_MS;
        if (flush_at < self->retry_at)
            flush_at = self->retry_at;
        if (flush_at < deadline)
            deadline = flush_at;
    }
    int64_t timeout = deadline - zclock_mono ();
    return timeout < 0 ? 0 : timeout > INT_MAX ? INT_MAX : (int) timeout;
}

void
store_actor (zsock_t *pipe, void *args)
{
    char error [512] = "";
    self_t *self = s_self_new (pipe, (const store_args_t *) args, error, sizeof (error));
    sq_actor_report (pipe, self ? NULL : error);
    while (self && !self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, s_timeout (self));
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->writes)
            s_handle_writes (self, false);
        s_handle_timers (self);
    }
    if (self) {
        //  A clean stop loses nothing that reached the socket.
        s_handle_writes (self, true);
        for (unsigned attempt = 0; self->pending_count && attempt < S_TERM_ATTEMPTS; attempt++)
            s_flush (self);
        if (self->pending_count)
            s_give_up (self, "the store is stopping");
    }
    s_self_destroy (&self);
}
