/*  store.c: see store.h.

    The connection half of the store: store_t (a connection with its
    prepared statements), the schema, and the synchronous helpers for the
    supervisor and `squirrel status`.  The writer actor, which owns one
    store_t of its own, is in store_writer.c; what both use is in
    store_private.h.
*/
#include "store_private.h"
#include "sq_url.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_READER_BUSY_MS        5000    //  helpers wait this long for a lock
#define S_DAY_US                (24 * STORE_HOUR_US)

//  Version 1.  Timestamps are unix µs, enums are the sq_proto.h values.
//  A new file gets version 1, then the upgrades below, in one transaction.
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
    ") STRICT, WITHOUT ROWID;";

//  Version 2 adds the published alerts, by feed sequence number, so that a
//  seq names one alert for good (the collector goes on from the highest)
//  and a watcher can ask for the ones it missed.  A version 1 file gets
//  this table and nothing else changes: no row of it is touched.
static const char *s_schema_v2_sql =
    "CREATE TABLE alert ("                      //  every ALERT published, kept for good
    "  seq INTEGER PRIMARY KEY,"                //  the feed's sequence number
    "  site_id INTEGER NOT NULL REFERENCES site (id),"   //  the URL is the site's
    "  previous INTEGER NOT NULL,"              //  sq_state_t
    "  state INTEGER NOT NULL,"                 //  sq_state_t
    "  since_us INTEGER NOT NULL,"
    "  reason INTEGER NOT NULL,"
    "  detail TEXT NOT NULL"
    ") STRICT;"
    "PRAGMA user_version = 2;";

//  Version 3 keeps, with each alert, what the notifier tells an owner
//  besides the state: how long the previous state lasted, the deciding
//  check's status and phases, the regions that saw it down.  Older rows read them as 0 (unknown).
static const char *s_schema_v3_sql =
    "ALTER TABLE alert ADD COLUMN previous_since_us INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alert ADD COLUMN http_status INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alert ADD COLUMN dns_us INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alert ADD COLUMN connect_us INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alert ADD COLUMN tls_us INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alert ADD COLUMN ttfb_us INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alert ADD COLUMN total_us INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alert ADD COLUMN regions TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX alert_by_site ON alert (site_id, seq);"
    "PRAGMA user_version = 3;";

//  Version 4 keeps a rollup per site, region and hour beside the one per
//  site and hour, so that each region's uptime outlives raw results too.
//  An older file gets it filled once from the raw results still kept (each
//  check's total capped at one hour, as the writer does): history within
//  the raw retention is not lost, older hours have no regions.  No
//  existing row is touched.
static const char *s_schema_v4_sql =
    "CREATE TABLE region_rollup ("              //  per site, region and hour; kept for good
    "  site_id INTEGER NOT NULL REFERENCES site (id),"
    "  region TEXT NOT NULL,"                   //  "" for results without one
    "  hour INTEGER NOT NULL,"                  //  at_us / 3600e6
    "  checks INTEGER NOT NULL,"
    "  up INTEGER NOT NULL,"
    "  total_us INTEGER NOT NULL,"              //  sum, each check capped at one hour
    "  PRIMARY KEY (site_id, region, hour)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO region_rollup (site_id, region, hour, checks, up, total_us)"
    "  SELECT site_id, region, at_us / 3600000000, COUNT (*), SUM (up),"
    "  SUM (MIN (total_us, 3600000000)) FROM result"
    "  GROUP BY site_id, region, at_us / 3600000000;"
    "PRAGMA user_version = 4;";
_Static_assert (STORE_HOUR_US == 3600000000LL, "the version 4 fill writes the hour out");

#define S_STATEMENT_SQL(NAME, sql) sql,
static const char *s_statement_sql [STMT_COUNT] = { STORE_STATEMENTS (S_STATEMENT_SQL) };


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

//  mkdir -p, each missing folder with mode 0700 (it holds the ipc sockets).
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
        if (mkdir (buffer, 0700) < 0 && errno != EEXIST) {
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

int
store_step (store_t *self, store_statement_t which)
{
    sqlite3_stmt *statement = self->statement [which];
    int rc = sqlite3_step (statement);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        snprintf (self->error, sizeof (self->error), "%s", sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

void
store_rollback (store_t *self)
{
    if (!sqlite3_get_autocommit (self->db))
        store_step (self, STMT_ROLLBACK);
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

//  Create the schema in a new file, upgrade an older one; refuse a newer one.
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
    //  Version 0 (a new file) or older.  Re-read under the write lock:
    //  another connection may be creating or upgrading it at this moment.
    //  Every step runs in the one transaction: a failed upgrade leaves
    //  the file as it was.
    int rc = sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = s_pragma_int (self, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK && version == 0)
        rc = sqlite3_exec (self->db, s_schema_sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK && version < 2) {
        rc = sqlite3_exec (self->db, s_schema_v2_sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK && version == 1)
            zsys_info ("store: %s upgraded from schema version 1 to 2 (table alert added)", path);
    }
    if (rc == SQLITE_OK && version < 3) {
        rc = sqlite3_exec (self->db, s_schema_v3_sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK && version >= 1)
            zsys_info ("store: %s upgraded to schema version 3 (alert facts added)", path);
    }
    if (rc == SQLITE_OK && version < 4) {
        //  Only the fill changes rows: the count is the rows it made.
        sqlite3_int64 changes = sqlite3_total_changes64 (self->db);
        rc = sqlite3_exec (self->db, s_schema_v4_sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK && version >= 1)
            zsys_info ("store: %s upgraded to schema version 4 (region rollups added, %lld "
                       "rows made from the raw results kept)", path,
                       (long long) (sqlite3_total_changes64 (self->db) - changes));
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        s_set_error (error, error_size, "cannot create or upgrade the schema in %s: %s", path,
                     sqlite3_errmsg (self->db));
        if (!sqlite3_get_autocommit (self->db))
            sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

store_t *
store_open_with_timeout (const char *data_dir, int busy_ms, char *error, size_t error_size)
{
    assert (data_dir);
    if (s_make_folder (data_dir, error, error_size))
        return NULL;
    char path [PATH_MAX];
    if (snprintf (path, sizeof (path), "%s/%s", data_dir, STORE_FILE_NAME) >= (int) sizeof (path)) {
        s_set_error (error, error_size, "data folder name too long");
        return NULL;
    }
    //  Create the file ourselves, mode 0600 whatever the umask (owners'
    //  addresses and the sites' URLs live here); SQLite gives -wal and
    //  -shm the same mode.  Only when it is new (O_EXCL): closing a
    //  descriptor of a file drops every POSIX lock this process holds on
    //  it, including the shared lock of the writer's connection, and a
    //  reader in another process would then think itself the last one and
    //  delete the WAL.
    int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        //  The umask can only have taken bits away; give the owner's back.
        if (fchmod (fd, 0600))
            zsys_warning ("store: cannot make %s mode 600: %s", path, strerror (errno));
        close (fd);
    }
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
    return store_open_with_timeout (data_dir, S_READER_BUSY_MS, error, error_size);
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
    int rc = store_step (self, STMT_BEGIN);
    if (rc == SQLITE_OK)
        rc = store_step (self, STMT_SITES_RETIRE);
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
        rc = store_step (self, STMT_COMMIT);
    if (rc != SQLITE_OK) {
        s_set_error (error, error_size, "cannot record the sites: %s", self->error);
        store_rollback (self);
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

//  The share of a window the site was not down by quorum: the window runs
//  from now_us - window_us, or from the site's first check when that is
//  later, to now_us; the STATUS row holds the first check (NULL: never
//  checked) and the time down inside the window.  -1 when never checked,
//  or first checked at now_us or later.
static double
s_quorum_uptime (sqlite3_stmt *statement, int first_column, int down_column, int64_t now_us,
                 int64_t window_us)
{
    if (sqlite3_column_type (statement, first_column) == SQLITE_NULL)
        return -1;
    int64_t first = sqlite3_column_int64 (statement, first_column);
    int64_t start = now_us - window_us > first ? now_us - window_us : first;
    if (start >= now_us)
        return -1;
    double span = (double) (now_us - start);
    double down = sqlite3_column_double (statement, down_column);
    //  Incidents never overlap unless a clock stepped back; then the
    //  window was down at most all of it.
    if (down > span)
        down = span;
    return 100.0 * (span - down) / span;
}

//  The first rollup hours of the 24 h, 7 d and 30 d windows, and the
//  current one, as STATUS and SITE_REGIONS take them (from offset on).
static void
s_bind_hours (sqlite3_stmt *statement, int offset, int64_t now_us)
{
    int64_t hour = now_us > 0 ? now_us / STORE_HOUR_US : 0;
    sqlite3_bind_int64 (statement, offset, hour - 23);
    sqlite3_bind_int64 (statement, offset + 1, hour - 7 * 24 + 1);
    sqlite3_bind_int64 (statement, offset + 2, hour - 30 * 24 + 1);
    sqlite3_bind_int64 (statement, offset + 3, hour);
}

int
store_status (store_t *self, int64_t now_us,
              void (*callback) (const store_status_t *row, void *arg), void *arg)
{
    assert (self);
    assert (callback);
    sqlite3_stmt *statement = self->statement [STMT_STATUS];
    s_bind_hours (statement, 1, now_us);
    sqlite3_bind_int64 (statement, 5, now_us);
    sqlite3_bind_int64 (statement, 6, now_us - S_DAY_US);
    sqlite3_bind_int64 (statement, 7, now_us - 7 * S_DAY_US);
    sqlite3_bind_int64 (statement, 8, now_us - 30 * S_DAY_US);
    sqlite3_bind_int64 (statement, 9, STORE_HOUR_US);
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        int state = sqlite3_column_int (statement, 3);
        int reason = sqlite3_column_int (statement, 6);
        const char *url = (const char *) sqlite3_column_text (statement, 1);
        const char *owner = (const char *) sqlite3_column_text (statement, 2);
        //  "PINGER REGION" of the latest result (a pinger id has no space).
        char decider [2 * SQ_NAME_MAX + 2] = "";
        const char *text = (const char *) sqlite3_column_text (statement, 15);
        snprintf (decider, sizeof (decider), "%s", text ? text : "");
        char *space = strchr (decider, ' ');
        if (space)
            *space = '\0';
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
            .quorum_uptime_24h = s_quorum_uptime (statement, 16, 17, now_us, S_DAY_US),
            .quorum_uptime_7d = s_quorum_uptime (statement, 16, 18, now_us, 7 * S_DAY_US),
            .quorum_uptime_30d = s_quorum_uptime (statement, 16, 19, now_us, 30 * S_DAY_US),
            .last_pinger = decider,
            .last_region = space ? space + 1 : "",
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
store_site_regions (store_t *self, uint64_t site_id, int64_t now_us,
                    void (*callback) (const store_region_t *row, void *arg), void *arg)
{
    assert (self && callback);
    if (site_id > INT64_MAX)
        return 0;
    sqlite3_stmt *statement = self->statement [STMT_SITE_REGIONS];
    sqlite3_bind_int64 (statement, 1, (int64_t) site_id);
    //  The last two days only: a range of the (site, time) index, not every
    //  result kept (a region silent that long is no longer checking).
    sqlite3_bind_int64 (statement, 2, now_us - STORE_REGIONS_WINDOW_US);
    s_bind_hours (statement, 3, now_us);
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        const char *region = (const char *) sqlite3_column_text (statement, 0);
        int reason = sqlite3_column_int (statement, 2);
        store_region_t row = {
            .region = region ? region : "",
            .up = sqlite3_column_int (statement, 1) != 0,
            .reason = reason >= 0 && reason < SQ_REASON_COUNT ? (sq_reason_t) reason : SQ_REASON_OK,
            .at_us = sqlite3_column_int64 (statement, 3),
            .uptime_24h = s_uptime (statement, 4),
            .uptime_7d = s_uptime (statement, 6),
            .uptime_30d = s_uptime (statement, 8),
        };
        callback (&row, arg);
        rows++;
    }
    if (rc != SQLITE_DONE)
        zsys_error ("store: cannot read the regions of site %llu: %s",
                    (unsigned long long) site_id, sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return rc == SQLITE_DONE ? rows : -1;
}

int
store_cert_expiries (store_t *self, void (*callback) (uint64_t site_id, int64_t expiry, void *arg),
                     void *arg)
{
    assert (self && callback);
    sqlite3_stmt *statement = self->statement [STMT_CERTS];
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        int64_t site_id = sqlite3_column_int64 (statement, 0);
        int64_t expiry = sqlite3_column_int64 (statement, 1);      //  NULL reads as 0
        if (site_id > 0 && expiry > 0) {
            callback ((uint64_t) site_id, expiry, arg);
            rows++;
        }
    }
    if (rc != SQLITE_DONE)
        zsys_error ("store: cannot read certificate expiries: %s", sqlite3_errmsg (self->db));
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

int
store_last_seq (store_t *self, uint64_t *seq)
{
    assert (self);
    assert (seq);
    sqlite3_stmt *statement = self->statement [STMT_ALERT_LAST];
    int rc = sqlite3_step (statement);
    if (rc == SQLITE_ROW)
        *seq = (uint64_t) sqlite3_column_int64 (statement, 0);     //  NULL (none) reads as 0
    else
        zsys_error ("store: cannot read the last alert's seq: %s", sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return rc == SQLITE_ROW ? 0 : -1;
}

//  Copy a text column into a fixed buffer; false when it does not fit.
static bool
s_column_text (sqlite3_stmt *statement, int column, char *buffer, size_t size)
{
    const char *text = (const char *) sqlite3_column_text (statement, column);
    size_t length = text ? (size_t) sqlite3_column_bytes (statement, column) : 0;
    if (length >= size || (text && strlen (text) != length))
        return false;
    memcpy (buffer, text ? text : "", length);
    buffer [length] = '\0';
    return true;
}

//  Read the alert rows of statement (bound by the caller) and reset it;
//  what says which alerts, for the error line.
static int
s_alert_rows (store_t *self, sqlite3_stmt *statement, const char *what,
              void (*callback) (const sq_alert_t *alert, void *arg), void *arg)
{
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        //  What the store holds is checked like a frame would be: a row
        //  that would not encode is skipped, loudly, not sent.
        sq_alert_t alert;
        memset (&alert, 0, sizeof (alert));
        alert.seq = (uint64_t) sqlite3_column_int64 (statement, 0);
        alert.site_id = (uint64_t) sqlite3_column_int64 (statement, 1);
        int previous = sqlite3_column_int (statement, 3);
        int state = sqlite3_column_int (statement, 4);
        int reason = sqlite3_column_int (statement, 6);
        alert.since = sqlite3_column_int64 (statement, 5);
        if (!s_column_text (statement, 2, alert.url, sizeof (alert.url))
        ||  !s_column_text (statement, 7, alert.detail, sizeof (alert.detail))
        ||  previous < 0 || previous >= SQ_STATE_COUNT || state < 0 || state >= SQ_STATE_COUNT
        ||  reason < 0 || reason >= SQ_REASON_COUNT || alert.since < 0 || alert.site_id == 0
        ||  !*alert.url) {
            zsys_error ("store: alert #%llu is damaged in the store, skipped",
                        (unsigned long long) alert.seq);
            continue;
        }
        //  The store keeps the URL a site is checked as; an alert shows it
        //  as any alert does, with no user, password or token in it.
        char shown [SQ_URL_MAX + 1];
        sq_url_shown (alert.url, shown, sizeof (shown));
        snprintf (alert.url, sizeof (alert.url), "%s", shown);
        alert.previous = (uint8_t) previous;
        alert.state = (uint8_t) state;
        alert.reason = (uint8_t) reason;
        int64_t previous_since = sqlite3_column_int64 (statement, 8);
        int status = sqlite3_column_int (statement, 9);
        alert.previous_since = previous_since > 0 ? previous_since : 0;
        alert.http_status = (uint16_t) (status > 0 && status <= 999 ? status : 0);
        uint64_t *phases [] = { &alert.dns_us, &alert.connect_us, &alert.tls_us,
                                &alert.ttfb_us, &alert.total_us };
        for (int phase = 0; phase < 5; phase++) {
            int64_t value = sqlite3_column_int64 (statement, 10 + phase);
            *phases [phase] = value > 0 ? (uint64_t) value : 0;
        }
        s_column_text (statement, 15, alert.regions, sizeof (alert.regions));
        callback (&alert, arg);
        rows++;
    }
    if (rc != SQLITE_DONE)
        zsys_error ("store: cannot read %s: %s", what, sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return rc == SQLITE_DONE ? rows : -1;
}

int
store_alerts (store_t *self, uint64_t since, uint64_t until, size_t limit,
              void (*callback) (const sq_alert_t *alert, void *arg), void *arg)
{
    assert (self);
    assert (callback);
    if (since >= INT64_MAX || limit == 0)
        return 0;
    sqlite3_stmt *statement = self->statement [STMT_ALERTS];
    sqlite3_bind_int64 (statement, 1, (int64_t) since);
    sqlite3_bind_int64 (statement, 2, until == 0 || until > INT64_MAX ? INT64_MAX : (int64_t) until);
    sqlite3_bind_int64 (statement, 3, limit > INT64_MAX ? INT64_MAX : (int64_t) limit);
    return s_alert_rows (self, statement, "alerts", callback, arg);
}

int
store_latest_alerts (store_t *self, void (*callback) (const sq_alert_t *alert, void *arg),
                     void *arg)
{
    assert (self && callback);
    return s_alert_rows (self, self->statement [STMT_ALERTS_LATEST], "the latest alerts",
                         callback, arg);
}
