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
#include <pthread.h>
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
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        snprintf (self->error, sizeof (self->error), "%s", sqlite3_errmsg (self->db));
        self->system_errno = sqlite3_system_errno (self->db);
    }
    sqlite3_reset (statement);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

//  A full disk shows as SQLITE_FULL, or as an I/O error whose errno says
//  so (SQLite reports a -shm it cannot grow as SQLITE_IOERR_SHMSIZE).
static store_fault_t
s_fault_of (int rc, int system_errno)
{
    int primary = rc & 0xff;
    if (primary == SQLITE_OK || primary == SQLITE_ROW || primary == SQLITE_DONE)
        return STORE_FAULT_NONE;
    if (primary == SQLITE_FULL || system_errno == ENOSPC || system_errno == EDQUOT)
        return STORE_FAULT_SPACE;
    if (primary == SQLITE_IOERR || primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN)
        return STORE_FAULT_IO;
    return STORE_FAULT_OTHER;
}

store_fault_t
store_fault (store_t *self, int rc)
{
    assert (self);
    return s_fault_of (rc, self->system_errno);
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

//  Open (see store_open_with_timeout); on failure *fault says whether the
//  disk was to blame.
static store_t *
s_open (const char *data_dir, int busy_ms, store_fault_t *fault, char *error, size_t error_size)
{
    *fault = STORE_FAULT_OTHER;
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
        *fault = s_fault_of (SQLITE_CANTOPEN, errno);
        s_set_error (error, error_size, "cannot open %s: %s", path, strerror (errno));
        return NULL;
    }

    store_t *self = (store_t *) calloc (1, sizeof (store_t));
    assert (self);
    self->data_dir = strdup (data_dir);
    assert (self->data_dir);
    const char *step = "open";
    int rc = sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK)
        goto failed;
    sqlite3_busy_timeout (self->db, busy_ms);
    step = "switch to WAL";
    char mode [16] = "";
    sqlite3_stmt *statement;
    //  The first read of a WAL file makes its -shm: on a full disk, this
    //  is where the open fails.
    rc = sqlite3_prepare_v2 (self->db, "PRAGMA journal_mode=WAL", -1, &statement, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step (statement)) == SQLITE_ROW) {
        snprintf (mode, sizeof (mode), "%s", (const char *) sqlite3_column_text (statement, 0));
        rc = SQLITE_OK;
    }
    self->system_errno = sqlite3_system_errno (self->db);
    sqlite3_finalize (statement);
    if (strcasecmp (mode, "wal"))
        goto failed;
    //  Keep -wal and -shm when the last connection closes: a store closed
    //  on a full disk then opens again without new blocks (the -shm is
    //  there, the WAL is reused from its start).
    int persist = 1;
    sqlite3_file_control (self->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    step = "set pragmas";
    if ((rc = sqlite3_exec (self->db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
                            NULL, NULL, NULL)) != SQLITE_OK)
        goto failed;
    if (s_schema (self, path, error, error_size)) {
        //  The rollback may have cleared the code; the errno stays.
        int code = sqlite3_extended_errcode (self->db);
        *fault = s_fault_of (code == SQLITE_OK ? SQLITE_ERROR : code,
                             sqlite3_system_errno (self->db));
        store_close (&self);
        return NULL;
    }
    step = "prepare statements";
    for (int index = 0; index < STMT_COUNT; index++)
        if ((rc = sqlite3_prepare_v3 (self->db, s_statement_sql [index], -1,
                                      SQLITE_PREPARE_PERSISTENT, &self->statement [index],
                                      NULL)) != SQLITE_OK)
            goto failed;
    return self;

failed:
    if (self->db && !self->system_errno)
        self->system_errno = sqlite3_system_errno (self->db);
    *fault = s_fault_of (rc == SQLITE_OK ? SQLITE_IOERR : rc, self->system_errno);
    s_set_error (error, error_size, "cannot %s %s: %s", step, path,
                 self->db ? sqlite3_errmsg (self->db) : "out of memory");
    store_close (&self);
    return NULL;
}

//  Free the reserve (store_reserve_make) for a store that cannot open on a
//  full disk.  true when there was one to free.
static bool
s_reserve_release (const char *data_dir)
{
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/%s", data_dir, STORE_RESERVE_FILE);
    return unlink (path) == 0;
}

store_t *
store_open_with_timeout (const char *data_dir, int busy_ms, char *error, size_t error_size)
{
    assert (data_dir);
    store_fault_t fault;
    store_t *self = s_open (data_dir, busy_ms, &fault, error, error_size);
    //  A full disk: SQLite cannot make the -shm of a store closed cleanly
    //  (or finish a new one).  The reserve is there for this moment.
    if (!self && fault == STORE_FAULT_SPACE && s_reserve_release (data_dir)) {
        zsys_warning ("store: disk full at %s: released the reserve (%s, %d KiB) to open the "
                      "store: %s", data_dir, STORE_RESERVE_FILE, STORE_RESERVE_BYTES / 1024,
                      error);
        self = s_open (data_dir, busy_ms, &fault, error, error_size);
    }
    if (!self && fault == STORE_FAULT_SPACE) {
        size_t length = error ? strlen (error) : 0;
        if (length < error_size)
            s_set_error (error + length, error_size - length, " (the disk is full, and there "
                         "is no %s left to free: make room in %s)", STORE_RESERVE_FILE, data_dir);
    }
    return self;
}

int
store_reserve_make (const char *data_dir)
{
    assert (data_dir);
    char path [PATH_MAX];
    if (snprintf (path, sizeof (path), "%s/%s", data_dir, STORE_RESERVE_FILE) >= (int) sizeof (path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    struct stat info;
    if (stat (path, &info) == 0 && info.st_size >= STORE_RESERVE_BYTES)
        return 0;
    int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    //  Blocks really allocated (posix_fallocate writes them where the file
    //  system cannot allocate), so that freeing them frees room.
    int rc = posix_fallocate (fd, 0, STORE_RESERVE_BYTES);
    close (fd);
    if (rc) {
        unlink (path);          //  half a reserve would only take room
        errno = rc;
        return -1;
    }
    return 0;
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
    free (self->data_dir);
    free (self);
    *self_p = NULL;
}


//  ---------------------------------------------------------------------
//  Synchronous helpers

//  Sites given an id while the store could not be written.  One table per
//  process, for one data_dir (a `run` has one): a reload gives such a site
//  the same id again, the writer records it as soon as it can
//  (store_provisional_write), and the next store_sync_sites that commits
//  records the rest and empties the table.  The lock guards the table; a
//  thread that also wants SQLite's write lock takes that one first, never
//  the other way round.
typedef struct {
    uint64_t id;                //  the id given, above every id the store had
    char *owner;                //  its owner, malloc'd ("" none)
} provisional_t;

static pthread_mutex_t s_provisional_lock = PTHREAD_MUTEX_INITIALIZER;
static zhashx_t *s_provisional;         //  URL -> provisional_t *; NULL when empty
static char *s_provisional_dir;         //  the data_dir it is for, malloc'd
static uint64_t s_provisional_version;  //  bumped at each change of the table

static void
s_provisional_destroy (void **item_p)
{
    provisional_t *item = (provisional_t *) *item_p;
    if (item) {
        free (item->owner);
        free (item);
        *item_p = NULL;
    }
}

//  Forget the table (called with the lock held).
static void
s_provisional_clear (void)
{
    if (s_provisional) {
        zhashx_destroy (&s_provisional);
        s_provisional_version++;
    }
    free (s_provisional_dir);
    s_provisional_dir = NULL;
}

//  The id the table gives url in data_dir, or 0.
static uint64_t
s_provisional_id (const char *data_dir, const char *url)
{
    uint64_t id = 0;
    pthread_mutex_lock (&s_provisional_lock);
    if (s_provisional && streq (s_provisional_dir, data_dir)) {
        provisional_t *item = (provisional_t *) zhashx_lookup (s_provisional, url);
        id = item ? item->id : 0;
    }
    pthread_mutex_unlock (&s_provisional_lock);
    return id;
}

//  The highest id the table gives in data_dir, or 0.
static uint64_t
s_provisional_max (const char *data_dir)
{
    uint64_t highest = 0;
    pthread_mutex_lock (&s_provisional_lock);
    if (s_provisional && streq (s_provisional_dir, data_dir))
        for (provisional_t *item = (provisional_t *) zhashx_first (s_provisional); item;
             item = (provisional_t *) zhashx_next (s_provisional))
            if (item->id > highest)
                highest = item->id;
    pthread_mutex_unlock (&s_provisional_lock);
    return highest;
}

//  Insert the table's sites the store does not have yet, active or not
//  (called with the lock held, inside a transaction).  SQLITE_OK or the
//  error.
static int
s_provisional_insert (store_t *self, bool active)
{
    int rc = SQLITE_OK;
    sqlite3_stmt *insert = self->statement [STMT_SITE_PROVISIONAL];
    for (provisional_t *item = (provisional_t *) zhashx_first (s_provisional);
         item && rc == SQLITE_OK; item = (provisional_t *) zhashx_next (s_provisional)) {
        sqlite3_bind_int64 (insert, 1, (int64_t) item->id);
        sqlite3_bind_text (insert, 2, (const char *) zhashx_cursor (s_provisional), -1,
                           SQLITE_STATIC);
        sqlite3_bind_text (insert, 3, item->owner, -1, SQLITE_STATIC);
        sqlite3_bind_int (insert, 4, active ? 1 : 0);
        rc = store_step (self, STMT_SITE_PROVISIONAL);
    }
    return rc;
}

int
store_provisional_write (store_t *self, uint64_t applied, uint64_t *version)
{
    assert (self && version);
    int rc = SQLITE_OK;
    pthread_mutex_lock (&s_provisional_lock);
    *version = s_provisional_version;
    if (s_provisional && applied != s_provisional_version
    &&  streq (s_provisional_dir, self->data_dir))
        rc = s_provisional_insert (self, true);
    pthread_mutex_unlock (&s_provisional_lock);
    return rc;
}

//  The store could not be written: give each URL the id the store has for
//  it, or else the one the table gives it, or else a new one above every
//  id the store and the table hold (kept in the table).  0, or -1 when
//  even reading fails.  *fresh counts the URLs the store does not have.
static int
s_sync_read_only (store_t *self, const char **urls, const char **owners, size_t count,
                  uint64_t *ids_out, size_t *fresh)
{
    *fresh = 0;
    sqlite3_stmt *statement = self->statement [STMT_SITE_ID_MAX];
    int rc = sqlite3_step (statement);
    int64_t highest = rc == SQLITE_ROW ? sqlite3_column_int64 (statement, 0) : 0;
    sqlite3_reset (statement);
    if (rc != SQLITE_ROW) {
        snprintf (self->error, sizeof (self->error), "%s", sqlite3_errmsg (self->db));
        return -1;
    }
    pthread_mutex_lock (&s_provisional_lock);
    if (s_provisional_dir && !streq (s_provisional_dir, self->data_dir))
        s_provisional_clear ();
    if (!s_provisional) {
        s_provisional = zhashx_new ();
        assert (s_provisional);
        zhashx_set_destructor (s_provisional, s_provisional_destroy);
        s_provisional_dir = strdup (self->data_dir);
        assert (s_provisional_dir);
    }
    for (provisional_t *item = (provisional_t *) zhashx_first (s_provisional); item;
         item = (provisional_t *) zhashx_next (s_provisional))
        if ((int64_t) item->id > highest)
            highest = (int64_t) item->id;
    statement = self->statement [STMT_SITE_ID];
    for (size_t index = 0; rc != -1 && index < count; index++) {
        sqlite3_bind_text (statement, 1, urls [index], -1, SQLITE_STATIC);
        rc = sqlite3_step (statement);
        uint64_t id = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64 (statement, 0) : 0;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            snprintf (self->error, sizeof (self->error), "%s: %s", urls [index],
                      sqlite3_errmsg (self->db));
            rc = -1;
        }
        sqlite3_reset (statement);
        if (rc == -1 || id) {
            if (ids_out)
                ids_out [index] = id;
            continue;
        }
        (*fresh)++;
        provisional_t *item = (provisional_t *) zhashx_lookup (s_provisional, urls [index]);
        if (!item) {
            item = (provisional_t *) calloc (1, sizeof (provisional_t));
            assert (item);
            item->id = (uint64_t) ++highest;
            zhashx_insert (s_provisional, urls [index], item);
        }
        free (item->owner);
        item->owner = strdup (owners && owners [index] ? owners [index] : "");
        assert (item->owner);
        s_provisional_version++;
        if (ids_out)
            ids_out [index] = item->id;
    }
    if (zhashx_size (s_provisional) == 0)
        s_provisional_clear ();
    pthread_mutex_unlock (&s_provisional_lock);
    return rc == -1 ? -1 : 0;
}

//  After a commit: record the table's sites the config no longer lists
//  (inactive, so that their ids are never given to another URL), in their
//  own transaction, then empty the table.  The write lock first, then the
//  table's: the writer takes them in that order too (store_provisional_write
//  runs inside its transaction), so neither waits on the other.
static void
s_provisional_retire (store_t *self)
{
    pthread_mutex_lock (&s_provisional_lock);
    bool any = s_provisional && streq (s_provisional_dir, self->data_dir);
    pthread_mutex_unlock (&s_provisional_lock);
    if (!any)
        return;
    int rc = store_step (self, STMT_BEGIN);
    pthread_mutex_lock (&s_provisional_lock);
    if (rc == SQLITE_OK && s_provisional && streq (s_provisional_dir, self->data_dir))
        rc = s_provisional_insert (self, false);
    if (rc == SQLITE_OK)
        rc = store_step (self, STMT_COMMIT);
    if (rc == SQLITE_OK)
        s_provisional_clear ();
    pthread_mutex_unlock (&s_provisional_lock);
    if (rc != SQLITE_OK) {
        zsys_warning ("store: cannot yet record the sites given ids while the disk was full: "
                      "%s (tried again at the next sync)", self->error);
        store_rollback (self);
    }
}

//  For qsort and bsearch of site ids (store_sync_sites).
static int
s_id_order (const void *one, const void *two)
{
    uint64_t first = *(const uint64_t *) one, second = *(const uint64_t *) two;
    return (first > second) - (first < second);
}

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
    //  Most syncs (every start, every reload) find most sites as they
    //  were: each is read first and written only when it is new, its owner
    //  changed or it was retired; then the active sites not listed are
    //  retired.  Writing every row twice (retire all, upsert each) cost
    //  about 20 us a site, 4 s at 200,000 sites; a read costs about 2 us.
    uint64_t *ids = ids_out ? ids_out : (uint64_t *) calloc (count + 1, sizeof (uint64_t));
    assert (ids);
    sqlite3_stmt *known = NULL, *active = NULL, *retire = NULL;
    int rc = store_step (self, STMT_BEGIN);
    if (rc == SQLITE_OK
    &&  (sqlite3_prepare_v2 (self->db, "SELECT id, owner, active FROM site WHERE url = ?1",
                             -1, &known, NULL)
    ||   sqlite3_prepare_v2 (self->db, "SELECT id FROM site WHERE active = 1", -1, &active,
                             NULL)
    ||   sqlite3_prepare_v2 (self->db, "UPDATE site SET active = 0 WHERE id = ?1", -1,
                             &retire, NULL))) {
        snprintf (self->error, sizeof (self->error), "%s", sqlite3_errmsg (self->db));
        rc = sqlite3_errcode (self->db);
    }
    //  A new site gets the next id above every id the store has given and
    //  every id given in memory, in the order of urls: the ids a read-only
    //  sync gives (s_sync_read_only), so that processes that sync apart
    //  (workers.mode processes), one able to write and one not, agree.
    //  (Left to AUTOINCREMENT, an upsert that updates uses up an id too.)
    int64_t next = 0;
    if (rc == SQLITE_OK) {
        sqlite3_stmt *statement = self->statement [STMT_SITE_ID_MAX];
        rc = sqlite3_step (statement);
        next = rc == SQLITE_ROW ? sqlite3_column_int64 (statement, 0) : 0;
        if (rc == SQLITE_ROW)
            rc = SQLITE_OK;
        else {
            snprintf (self->error, sizeof (self->error), "%s", sqlite3_errmsg (self->db));
            self->system_errno = sqlite3_system_errno (self->db);
        }
        sqlite3_reset (statement);
        uint64_t provisional_max = s_provisional_max (self->data_dir);
        if ((int64_t) provisional_max > next)
            next = (int64_t) provisional_max;
    }
    //  A store that never had a site (its first start): no site can be
    //  known, and the read is skipped (a fifth of a new store's start).
    bool empty = rc == SQLITE_OK && next == 0;
    sqlite3_stmt *upsert = self->statement [STMT_SITE_UPSERT];
    for (size_t index = 0; rc == SQLITE_OK && index < count; index++) {
        const char *owner = owners && owners [index] ? owners [index] : "";
        sqlite3_bind_text (known, 1, urls [index], -1, SQLITE_STATIC);
        rc = empty ? SQLITE_DONE : sqlite3_step (known);
        bool same = rc == SQLITE_ROW && sqlite3_column_int (known, 2) == 1
                 && streq ((const char *) sqlite3_column_text (known, 1), owner);
        if (same)
            ids [index] = (uint64_t) sqlite3_column_int64 (known, 0);
        bool stored = rc == SQLITE_ROW;
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset (known);
        if (same || rc != SQLITE_OK)
            continue;
        //  A site given an id in memory keeps it; a new one takes next + 1
        //  (a site the store has keeps its own: the id bound is not used).
        //  A site not stored is inserted as it is: the upsert's RETURNING
        //  costs an ephemeral table per row (a third of a new store's sync).
        uint64_t provisional = s_provisional_id (self->data_dir, urls [index]);
        int64_t offered = provisional ? (int64_t) provisional : next + 1;
        sqlite3_stmt *write = stored ? upsert : self->statement [STMT_SITE_INSERT];
        sqlite3_bind_text (write, 1, urls [index], -1, SQLITE_STATIC);
        sqlite3_bind_text (write, 2, owner, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (write, 3, offered);
        rc = sqlite3_step (write);
        if (rc == SQLITE_DONE && !stored && sqlite3_changes (self->db) == 0) {
            //  Stored after all: a URL listed twice in a store that was
            //  empty (not read first).  The upsert gives its id.
            sqlite3_reset (write);
            write = upsert;
            sqlite3_bind_text (write, 1, urls [index], -1, SQLITE_STATIC);
            sqlite3_bind_text (write, 2, owner, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (write, 3, offered);
            rc = sqlite3_step (write);
        }
        if (rc == SQLITE_DONE && write != upsert) {
            ids [index] = (uint64_t) offered;
            if (!provisional)
                next++;
        }
        else
        if (rc == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64 (upsert, 0);
            ids [index] = (uint64_t) id;
            if (!provisional && id == offered)
                next++;
            rc = sqlite3_step (upsert);     //  run it to the end
        }
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        else {
            snprintf (self->error, sizeof (self->error), "%s: %s", urls [index],
                      sqlite3_errmsg (self->db));
            self->system_errno = sqlite3_system_errno (self->db);
        }
        sqlite3_reset (write);
    }
    //  Retire the active sites not listed (collected first: no writes to
    //  the table under a running read of it).
    if (rc == SQLITE_OK) {
        uint64_t *listed = (uint64_t *) malloc ((count + 1) * sizeof (uint64_t));
        assert (listed);
        memcpy (listed, ids, count * sizeof (uint64_t));
        qsort (listed, count, sizeof (uint64_t), s_id_order);
        zlistx_t *gone = zlistx_new ();
        assert (gone);
        while ((rc = sqlite3_step (active)) == SQLITE_ROW) {
            uint64_t id = (uint64_t) sqlite3_column_int64 (active, 0);
            if (!bsearch (&id, listed, count, sizeof (uint64_t), s_id_order))
                zlistx_add_end (gone, (void *) (uintptr_t) id);
        }
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        for (void *id = zlistx_first (gone); id && rc == SQLITE_OK; id = zlistx_next (gone)) {
            sqlite3_bind_int64 (retire, 1, (int64_t) (uintptr_t) id);
            rc = sqlite3_step (retire);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            sqlite3_reset (retire);
        }
        if (rc != SQLITE_OK) {
            snprintf (self->error, sizeof (self->error), "%s", sqlite3_errmsg (self->db));
            self->system_errno = sqlite3_system_errno (self->db);
        }
        zlistx_destroy (&gone);
        free (listed);
    }
    sqlite3_finalize (known);
    sqlite3_finalize (active);
    sqlite3_finalize (retire);
    if (ids != ids_out)
        free (ids);
    if (rc == SQLITE_OK)
        rc = store_step (self, STMT_COMMIT);
    if (rc == SQLITE_OK) {
        s_provisional_retire (self);
        return 0;
    }
    s_set_error (error, error_size, "cannot record the sites: %s", self->error);
    store_fault_t fault = store_fault (self, rc);
    store_rollback (self);
    if (fault != STORE_FAULT_SPACE && fault != STORE_FAULT_IO)
        return -1;
    //  The disk refuses writes: monitoring goes on with the ids it can give.
    size_t fresh = 0;
    if (s_sync_read_only (self, urls, owners, count, ids_out, &fresh)) {
        s_set_error (error, error_size, "cannot record the sites, nor read them: %s",
                     self->error);
        return -1;
    }
    size_t length = error ? strlen (error) : 0;
    if (length < error_size && fresh)
        s_set_error (error + length, error_size - length, "; ids read from the store, and %zu "
                     "site%s new to it given ids in memory, recorded when the store can write "
                     "again", fresh, fresh == 1 ? "" : "s");
    else
    if (length < error_size)
        s_set_error (error + length, error_size - length, "; ids read from the store");
    return 1;
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

uint64_t
store_site_id (store_t *self, const char *url)
{
    assert (self && url);
    sqlite3_stmt *statement = self->statement [STMT_SITE_ID];
    sqlite3_bind_text (statement, 1, url, -1, SQLITE_STATIC);
    int rc = sqlite3_step (statement);
    uint64_t id = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64 (statement, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        zsys_error ("store: cannot look up a site's id: %s", sqlite3_errmsg (self->db));
    sqlite3_reset (statement);
    return id;
}

int
store_status (store_t *self, int64_t now_us,
              void (*callback) (const store_status_t *row, void *arg), void *arg)
{
    return store_status_of (self, now_us, 0, callback, arg);
}

int
store_status_of (store_t *self, int64_t now_us, uint64_t site_id,
                 void (*callback) (const store_status_t *row, void *arg), void *arg)
{
    assert (self);
    assert (callback);
    sqlite3_stmt *statement = self->statement [STMT_STATUS];
    if (site_id)
        sqlite3_bind_int64 (statement, 10, (int64_t) site_id);
    else
        sqlite3_bind_null (statement, 10);
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
        //  "PINGER REGION" of the latest result (a pinger id has no space).
        char decider [2 * SQ_NAME_MAX + 2] = "";
        snprintf (decider, sizeof (decider), "%s", store_column_text (statement, 15));
        char *space = strchr (decider, ' ');
        if (space)
            *space = '\0';
        store_status_t row = {
            .id = (uint64_t) sqlite3_column_int64 (statement, 0),
            .url = store_column_text (statement, 1),
            .owner = store_column_text (statement, 2),
            .state = state >= 0 && state < SQ_STATE_COUNT ? (sq_state_t) state : SQ_STATE_UNKNOWN,
            .since_us = sqlite3_column_int64 (statement, 4),
            .last_check_us = sqlite3_column_int64 (statement, 5),
            .last_reason = store_column_reason (statement, 6, SQ_REASON_OK),
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
        store_region_t row = {
            .region = store_column_text (statement, 0),
            .up = sqlite3_column_int (statement, 1) != 0,
            .reason = store_column_reason (statement, 2, SQ_REASON_OK),
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
        store_incident_t row = {
            .start_us = sqlite3_column_int64 (statement, 0),
            .end_us = sqlite3_column_int64 (statement, 1),     //  NULL reads as 0
            .reason = store_column_reason (statement, 2, SQ_REASON_OK),
            .detail = store_column_text (statement, 3),
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

int
store_health (const char *data_dir, bool *stale, int64_t *since_us, char *why, size_t why_size)
{
    assert (data_dir && stale && since_us);
    *stale = false;
    *since_us = 0;
    if (why && why_size)
        *why = '\0';
    char path [PATH_MAX];
    if (snprintf (path, sizeof (path), "%s/%s", data_dir, STORE_HEALTH_FILE) >= (int) sizeof (path))
        return -1;
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    char text [STORE_HEALTH_BYTES + 1];
    ssize_t size = pread (fd, text, STORE_HEALTH_BYTES, 0);
    close (fd);
    if (size < 0)
        return -1;
    text [size] = '\0';
    //  "stale SINCE_US WHY\n" or "fresh\n", then NUL padding.
    char *end = strchr (text, '\n');
    if (end)
        *end = '\0';
    if (strncmp (text, "stale ", 6))
        return 0;
    char *rest = NULL;
    long long since = strtoll (text + 6, &rest, 10);
    *stale = true;
    *since_us = since > 0 ? since : 0;
    if (why && why_size)
        snprintf (why, why_size, "%s", rest && *rest == ' ' ? rest + 1 : "");
    return 0;
}
