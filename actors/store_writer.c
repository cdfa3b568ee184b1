/*  store_writer.c: the store's writer actor (store_actor, see store.h).
    It owns one store_t of its own, opened through store_private.h.

    The writer keeps incoming writes in memory and applies them in one
    transaction per flush, rather than holding a transaction open while
    it waits for more: the write lock is then held only for the few
    milliseconds a flush takes, so store_sync_sites and prune slices get
    it promptly, and a failed batch is still in memory to retry.  Each
    write inside the batch runs under its own SAVEPOINT, so a row the
    database refuses is dropped alone; an error that spoils the whole
    transaction (busy, disk full, I/O) keeps the batch for a retry.

    A full disk (or one that refuses writes) must not stop monitoring,
    nor lose more than it has to.  A flush that fails for it keeps its
    batch and is retried, backing off from STORE_FLUSH_MS to
    S_RETRY_MAX_MS, for as long as it takes (a batch is given up only for
    other errors, after S_FLUSH_ATTEMPTS).  Writes go on arriving and are
    held, at most STORE_PENDING_MAX of them: past that, the oldest raw
    result held is dropped for each new write (counted in dropped, logged
    at the first and when writing resumes); alerts and state changes are
    dropped only when nothing but them is held.  A raw result dropped is
    marked, not moved; the array is compacted once S_EVICT_SLACK slots are
    marked, so a drop costs little even with the buffer full.  The first
    failure writes "stale" with its time and cause into
    <data_dir>/store.health, a file of fixed size made at start and
    rewritten in place (a full disk refuses new blocks, not old ones), for
    `squirrel status`; the first commit after it writes "fresh".  On
    start, and when writing resumes, the writer makes store.reserve if it
    is missing (store_reserve_make): the room store_open frees to open
    the store after a restart on a full disk.

    Pruning keeps the file's size bounded: raw results for
    retention_results_ms (24 h by default), hourly rollups (per site, and
    per site and region) for retention_rollups_ms (400 d), sites,
    incidents and alerts for good.  A pass deletes in slices of at most
    STORE_PRUNE_SLICE rows, each its own transaction, one slice per turn of
    the loop, so writes go on between them.  Raw results go oldest first
    by their time index.  The rollup tables have no index by hour (one
    would cost every row of them bytes and a write), so a pass walks their
    primary keys instead: for each key (a site; a site and a region), one
    seek finds it and one deletes its hours below the cutoff, oldest
    first, so a pass costs a few seeks per key and the rows it deletes,
    never a scan of the table.
*/
#include "store_private.h"
#include "sq_actor.h"
#include "sq_wire.h"
#include "sq_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_WRITER_BUSY_MS        1000    //  the writer waits less than readers, then retries later
#define S_FLUSH_ATTEMPTS        10      //  failed flushes in a row before a batch is given up
#define S_RETRY_MAX_MS          8000    //  retry delay doubles from STORE_FLUSH_MS up to this
#define S_TERM_ATTEMPTS         3       //  flush attempts at $TERM
#define S_RECEIVE_BURST         256     //  messages taken per wake-up, so the pipe stays served
#define S_PRUNE_FIRST_MS        60000   //  first automatic prune, after start
#define S_PRUNE_EVERY_MS        3600000 //  then once an hour
#define S_PRUNE_RETRY_MS        60000   //  after a failed prune
#define S_PRUNE_KEYS            2000    //  rollup keys visited per prune slice, at most
#define S_TOTAL_US_MAX          STORE_HOUR_US   //  one check's total_us as counted in a rollup
#define S_EVICT_SLACK           (STORE_PENDING_MAX / 10)    //  slots of dropped results held
                                //  before the pending array is compacted
#define S_STALE_LOG_MS          60000   //  while the disk stays full, a reminder this often
#define S_BEHIND_LOG_MS         60000   //  while the writer is behind, said this often

//  An ALERT or CHANGE as the store keeps it: the URL is already in the
//  site row.
typedef struct {
    uint64_t seq;               //  ALERT: its feed seq; CHANGE: 0 (not published)
    uint64_t site_id;           //  the site
    sq_state_t previous;        //  its state before
    sq_state_t state;           //  its new state
    int64_t since;              //  unix µs the new state began
    sq_reason_t reason;         //  reason of the deciding check
    char detail [SQ_TEXT_MAX + 1];  //  short human text
    int64_t previous_since;     //  unix µs the previous state began (ALERT only)
    uint16_t http_status;       //  the deciding check's status (ALERT only)
    uint64_t phase_us [5];      //  its dns, connect, tls, ttfb, total (ALERT only)
    char *regions;              //  where it was down (ALERT only), malloc'd; NULL = ""
} pending_alert_t;

//  What a prune pass is doing: one table after the other, one slice per
//  turn of the loop (or all of them at once, for PRUNE).
typedef enum {
    PRUNE_IDLE,                 //  no pass under way; the next one at prune_at
    PRUNE_RESULTS,              //  raw results before results_cutoff, oldest first
    PRUNE_ROLLUPS,              //  rollup hours before rollups_cutoff, site by site
    PRUNE_REGION_ROLLUPS        //  region_rollup hours, site and region by site and region
} prune_phase_t;

//  A prune pass.
typedef struct {
    prune_phase_t phase;        //  where it is
    int64_t results_cutoff;     //  raw results with at_us below this go (unix µs)
    int64_t rollups_cutoff;     //  rollup rows with hour below this go (an hour number)
    int64_t site_id;            //  the rollup walk's current key: its site (-1 before the first)
    char *region;               //  and its region (region_rollup), malloc'd; NULL before the first
    bool key_open;              //  that key may still hold hours to delete (a slice ran out
                                //  of budget inside it)
    bool walk_done;             //  the walk of the current rollup table found no more keys
    uint64_t deleted [3];       //  rows deleted so far: results, rollup, region_rollup
} prune_t;

//  One write waiting for the next flush.
typedef struct {
    sq_msg_type_t type;         //  SQ_MSG_RESULT, SQ_MSG_ALERT or SQ_MSG_CHANGE
    bool evicted;               //  a RESULT dropped to make room (a full buffer): skipped
    union {
        sq_result_t result;     //  type RESULT: as decoded
        pending_alert_t alert;  //  type ALERT or CHANGE
    };
} pending_write_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *writes;            //  PULL, RESULT, ALERT and CHANGE from the collector
    zpoller_t *poller;          //  pipe, writes
    store_t *store;             //  the writer's own connection
    uint64_t retention_results_ms;  //  raw results kept
    uint64_t retention_rollups_ms;  //  rollup hours kept
    bool terminated;            //  $TERM received
    pending_write_t *pending;   //  writes not yet committed, in arrival order
    size_t pending_count;       //  entries in use, evicted ones included
    size_t pending_size;        //  entries allocated
    size_t pending_evicted;     //  entries in use that are evicted (pending_count minus
                                //  these is what is held)
    size_t evict_from;          //  no RESULT still held lies before this entry
    int64_t first_pending_at;   //  monotonic ms the oldest pending write arrived
    bool alert_pending;         //  an ALERT is pending: flush without waiting
    unsigned flush_failures;    //  failed flushes in a row of the current batch
    int64_t retry_at;           //  monotonic ms before which a failed batch is not retried
    bool behind;                //  raw results are being dropped (s_read_ahead)
    uint64_t behind_dropped;    //  ... not yet said
    int64_t behind_last;        //  mono ms of the latest drop
    int64_t behind_log_at;      //  mono ms before which it is not said again
    bool overflowing;           //  pending is full and writes are being dropped
    uint64_t overflow_dropped;  //  writes dropped since overflowing began
    char *data_dir;             //  the store's folder, malloc'd
    int health_fd;              //  STORE_HEALTH_FILE, open for rewriting in place; -1 none
    int64_t stale_since;        //  unix µs of the first failed flush not yet made good,
                                //  or read from STORE_HEALTH_FILE at start; 0 up to date
    bool stale_logged;          //  a failure of this stale period that the disk is to
                                //  blame for was logged
    int64_t stale_log_at;       //  monotonic ms of the next reminder while it lasts
    uint64_t provisional_version;   //  sites given ids in memory: the table's version
                                    //  last committed (store_provisional_write)
    int64_t prune_at;           //  monotonic ms of the next automatic prune
    prune_t prune;              //  the prune pass under way, if any
    uint64_t counters [STORE_COUNTER_COUNT];    //  reported on STATS (store.h)
} self_t;

static const char *const s_counter_names [] = { STORE_COUNTERS (SQ_COUNTER_STRING) };

static void s_pending_clear (self_t *self);

//  The writes held: pending's entries in use, less the evicted ones.
static size_t
s_held (const self_t *self)
{
    return self->pending_count - self->pending_evicted;
}

//  Open STORE_HEALTH_FILE and give it its full size while there is room;
//  take the stale time it holds (a run that stopped while the disk was
//  full).
static void
s_health_open (self_t *self)
{
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/%s", self->data_dir, STORE_HEALTH_FILE);
    bool stale = false;
    int64_t since = 0;
    if (store_health (self->data_dir, &stale, &since, NULL, 0) == 0 && stale)
        self->stale_since = since ? since : sq_wallclock_us ();
    self->health_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat info;
    int rc = self->health_fd < 0 ? errno
           : fstat (self->health_fd, &info) ? errno
           : info.st_size >= STORE_HEALTH_BYTES ? 0
           : posix_fallocate (self->health_fd, 0, STORE_HEALTH_BYTES);
    if (rc) {
        zsys_warning ("store: cannot make %s: %s; should the disk fill, `squirrel status` "
                      "will not say that the store is behind", path, strerror (rc));
        if (self->health_fd >= 0)
            close (self->health_fd);
        self->health_fd = -1;
    }
}

//  Say in STORE_HEALTH_FILE whether the store is behind, and why: the
//  whole file rewritten in place, so it needs no new block.
static void
s_health_write (self_t *self, const char *why)
{
    char text [STORE_HEALTH_BYTES];
    memset (text, 0, sizeof (text));
    if (self->stale_since)
        snprintf (text, sizeof (text), "stale %lld %s\n", (long long) self->stale_since, why);
    else
        snprintf (text, sizeof (text), "fresh\n");
    if (self->health_fd < 0
    ||  pwrite (self->health_fd, text, sizeof (text), 0) != (ssize_t) sizeof (text))
        zsys_error ("store: cannot write in %s/%s that the store is %s: %s; `squirrel status` "
                    "will not say so", self->data_dir, STORE_HEALTH_FILE,
                    self->stale_since ? "behind" : "up to date",
                    self->health_fd < 0 ? "the file could not be made at start" : strerror (errno));
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->writes);
    store_close (&self->store);
    s_pending_clear (self);
    free (self->pending);
    free (self->prune.region);
    if (self->health_fd >= 0)
        close (self->health_fd);
    free (self->data_dir);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const store_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->health_fd = -1;
    self->data_dir = strdup (args->data_dir);
    assert (self->data_dir);
    self->retention_results_ms = args->retention_results_ms ? args->retention_results_ms
                                                            : STORE_DEFAULT_RESULTS_MS;
    self->retention_rollups_ms = args->retention_rollups_ms ? args->retention_rollups_ms
                                                          : STORE_DEFAULT_ROLLUPS_MS;
    self->store = store_open_with_timeout (args->data_dir, S_WRITER_BUSY_MS, error, error_size);
    if (!self->store) {
        s_self_destroy (&self);
        return NULL;
    }
    s_health_open (self);
    if (store_reserve_make (self->data_dir))
        zsys_warning ("store: cannot keep %s/%s (%d KiB): %s; should the disk fill, a restart "
                      "may not be able to open the store", self->data_dir, STORE_RESERVE_FILE,
                      STORE_RESERVE_BYTES / 1024, strerror (errno));
    self->writes = zsock_new (ZMQ_PULL);
    assert (self->writes);
    //  No high-water mark: the collector must never block or drop because
    //  the disk is slow.  The backlog is bounded here, by STORE_PENDING_MAX.
    zsock_set_rcvhwm (self->writes, 0);
    if (sq_actor_bind (self->writes, args->endpoint) < 0) {
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

//  RESULT: site last-check fields, raw row, the site's rollup and its
//  region's.  *known false when the site is not in the store (nothing
//  written then).
static int
s_apply_result (store_t *store, const sq_result_t *result, bool *known)
{
    int64_t site_id = (int64_t) result->site_id;
    sqlite3_stmt *statement = store->statement [STMT_SITE_CHECK];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_int64 (statement, 2, result->at);
    sqlite3_bind_int (statement, 3, result->reason);
    sqlite3_bind_int (statement, 4, result->http_status);
    int rc = store_step (store, STMT_SITE_CHECK);
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
    rc = store_step (store, STMT_RESULT_INSERT);
    if (rc != SQLITE_OK)
        return rc;

    //  A hostile total_us must not overflow the hour's sum.
    int64_t hour = result->at / STORE_HOUR_US;
    int64_t total_us = s_clamp (result->total_us, S_TOTAL_US_MAX);
    statement = store->statement [STMT_ROLLUP];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_int64 (statement, 2, hour);
    sqlite3_bind_int (statement, 3, result->up);
    sqlite3_bind_int64 (statement, 4, total_us);
    rc = store_step (store, STMT_ROLLUP);
    if (rc != SQLITE_OK)
        return rc;

    statement = store->statement [STMT_REGION_ROLLUP];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_text (statement, 2, result->region, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (statement, 3, hour);
    sqlite3_bind_int (statement, 4, result->up);
    sqlite3_bind_int64 (statement, 5, total_us);
    return store_step (store, STMT_REGION_ROLLUP);
}

//  ALERT or CHANGE: site state, then open or close the incident; an ALERT
//  is also kept by its seq.
static int
s_apply_alert (store_t *store, const pending_alert_t *alert, bool *known)
{
    int64_t site_id = (int64_t) alert->site_id;
    sqlite3_stmt *statement = store->statement [STMT_SITE_STATE];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_int (statement, 2, alert->state);
    sqlite3_bind_int64 (statement, 3, alert->since);
    int rc = store_step (store, STMT_SITE_STATE);
    *known = rc != SQLITE_OK || sqlite3_changes (store->db) > 0;
    if (rc != SQLITE_OK || !*known)
        return rc;

    if (alert->seq) {
        statement = store->statement [STMT_ALERT_INSERT];
        sqlite3_bind_int64 (statement, 1, (int64_t) alert->seq);
        sqlite3_bind_int64 (statement, 2, site_id);
        sqlite3_bind_int (statement, 3, alert->previous);
        sqlite3_bind_int (statement, 4, alert->state);
        sqlite3_bind_int64 (statement, 5, alert->since);
        sqlite3_bind_int (statement, 6, alert->reason);
        sqlite3_bind_text (statement, 7, alert->detail, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (statement, 8, alert->previous_since);
        sqlite3_bind_int (statement, 9, alert->http_status);
        for (int phase = 0; phase < 5; phase++)
            sqlite3_bind_int64 (statement, 10 + phase, s_clamp (alert->phase_us [phase], INT64_MAX));
        sqlite3_bind_text (statement, 15, alert->regions ? alert->regions : "", -1, SQLITE_STATIC);
        rc = store_step (store, STMT_ALERT_INSERT);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (alert->state == SQ_STATE_DOWN) {
        statement = store->statement [STMT_INCIDENT_OPEN];
        sqlite3_bind_int64 (statement, 1, site_id);
        sqlite3_bind_int64 (statement, 2, alert->since);
        sqlite3_bind_int (statement, 3, alert->reason);
        sqlite3_bind_text (statement, 4, alert->detail, -1, SQLITE_STATIC);
        return store_step (store, STMT_INCIDENT_OPEN);
    }
    //  A clock that stepped back must not make an incident end before it began.
    statement = store->statement [STMT_INCIDENT_CLOSE];
    sqlite3_bind_int64 (statement, 1, site_id);
    sqlite3_bind_int64 (statement, 2, alert->since);
    return store_step (store, STMT_INCIDENT_CLOSE);
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
    int rc = store_step (store, STMT_SAVEPOINT);
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
        return store_step (store, STMT_RELEASE);
    }
    if (s_row_error (rc) && !sqlite3_get_autocommit (store->db)) {
        self->counters [STORE_failed_writes]++;
        (*dropped)++;
        zsys_error ("store: the database refused a %s for site %llu, dropped: %s",
                    sq_msg_type_name (write->type), (unsigned long long) s_site_of (write),
                    store->error);
        rc = store_step (store, STMT_ROLLBACK_TO);
        return rc == SQLITE_OK ? store_step (store, STMT_RELEASE) : rc;
    }
    return rc;
}

//  Forget every pending write (after a commit, or when giving up).
static void
s_pending_clear (self_t *self)
{
    for (size_t index = 0; index < self->pending_count; index++)
        if (self->pending [index].type != SQ_MSG_RESULT) {
            free (self->pending [index].alert.regions);
            self->pending [index].alert.regions = NULL;
        }
    self->pending_count = 0;
    self->pending_evicted = 0;
    self->evict_from = 0;
}

//  Drop every pending write, loudly.
static void
s_give_up (self_t *self, const char *why)
{
    size_t held = s_held (self);
    zsys_error ("store: GIVING UP on %zu writes (sites %llu .. %llu) after %u failed flushes, "
                "their data is LOST: %s", held,
                (unsigned long long) s_site_of (&self->pending [0]),
                (unsigned long long) s_site_of (&self->pending [self->pending_count - 1]),
                self->flush_failures, why);
    self->counters [STORE_dropped] += held;
    s_pending_clear (self);
    self->alert_pending = false;
    self->flush_failures = 0;
    self->retry_at = 0;
}

//  A flush committed after failures: the store is up to date again.
static void
s_caught_up (self_t *self, size_t written)
{
    int64_t seconds = (sq_wallclock_us () - self->stale_since) / 1000000;
    zsys_warning ("store: writing again in %s after %lld s: %zu writes held were stored; the "
                  "store is up to date", self->data_dir, (long long) (seconds > 0 ? seconds : 0),
                  written);
    self->stale_since = 0;
    self->stale_logged = false;
    self->counters [STORE_disk_full] = 0;
    s_health_write (self, "");
    //  The room for the next time, if there is room for it now.
    store_reserve_make (self->data_dir);
}

//  A flush failed; fault says whether the disk is to blame.  Say so once
//  (then once a minute while it lasts), and mark the store stale.
static void
s_fell_behind (self_t *self, store_fault_t fault, const char *why)
{
    bool disk = fault == STORE_FAULT_SPACE || fault == STORE_FAULT_IO;
    self->counters [STORE_disk_full] = disk;
    int64_t now = zclock_mono ();
    size_t held = s_held (self);
    char text [STORE_HEALTH_BYTES - 40];
    snprintf (text, sizeof (text), "%s%s", fault == STORE_FAULT_SPACE ? "disk full: " : "", why);
    //  The first failure marks the store stale; the first one the disk is
    //  to blame for (maybe after a busy one) is logged, and is the cause
    //  status shows.
    bool first = !self->stale_since;
    if (first)
        self->stale_since = sq_wallclock_us ();
    if (first || (disk && !self->stale_logged))
        s_health_write (self, text);
    if (disk && !self->stale_logged) {
        self->stale_logged = true;
        self->stale_log_at = now + S_STALE_LOG_MS;
        zsys_error ("store: %s at %s: %s; monitoring goes on, history is buffered (at most %d "
                    "writes, then the oldest raw results are dropped) and written when the disk "
                    "takes writes again; `squirrel status` says the store is stale",
                    fault == STORE_FAULT_SPACE ? "disk full" : "the disk refuses writes",
                    self->data_dir, why, STORE_PENDING_MAX);
    }
    else
    if (disk && now >= self->stale_log_at) {
        self->stale_log_at = now + S_STALE_LOG_MS;
        zsys_error ("store: still cannot write at %s (%s): %zu writes held, %llu dropped so far",
                    self->data_dir, why, held, (unsigned long long) self->counters [STORE_dropped]);
    }
}

//  Write every pending write in one transaction.  0, or -1 with the batch
//  kept for a retry (or, unless the disk is to blame, given up after
//  S_FLUSH_ATTEMPTS failures in a row).
static int
s_flush (self_t *self)
{
    if (!self->pending_count)
        return 0;
    store_t *store = self->store;
    uint64_t dropped = 0;
    const pending_write_t *failed = NULL;
    uint64_t provisional = self->provisional_version;
    int rc = store_step (store, STMT_BEGIN);
    //  Sites given ids while the store could not write, before their writes.
    if (rc == SQLITE_OK)
        rc = store_provisional_write (store, self->provisional_version, &provisional);
    for (size_t index = 0; rc == SQLITE_OK && index < self->pending_count; index++) {
        if (self->pending [index].evicted)
            continue;
        rc = s_apply (self, &self->pending [index], &dropped);
        if (rc != SQLITE_OK)
            failed = &self->pending [index];
    }
    if (rc == SQLITE_OK)
        rc = store_step (store, STMT_COMMIT);
    if (rc == SQLITE_OK) {
        size_t written = s_held (self);
        self->provisional_version = provisional;
        self->counters [STORE_flushes]++;
        self->counters [STORE_dropped] += dropped;
        s_pending_clear (self);
        self->alert_pending = false;
        self->flush_failures = 0;
        self->retry_at = 0;
        if (self->overflowing) {
            zsys_error ("store: writing again; %llu writes were dropped while the buffer was full",
                        (unsigned long long) self->overflow_dropped);
            self->overflowing = false;
            self->overflow_dropped = 0;
        }
        if (self->stale_since)
            s_caught_up (self, written);
        return 0;
    }
    char why [sizeof (store->error)];
    snprintf (why, sizeof (why), "%s", store->error);
    store_fault_t fault = store_fault (store, rc);
    store_rollback (store);
    self->counters [STORE_failed_writes]++;
    self->flush_failures++;
    unsigned shift = self->flush_failures < 5 ? self->flush_failures - 1 : 4;
    int64_t delay = (int64_t) STORE_FLUSH_MS << shift;
    if (delay > S_RETRY_MAX_MS)
        delay = S_RETRY_MAX_MS;
    self->retry_at = zclock_mono () + delay;
    bool disk = fault == STORE_FAULT_SPACE || fault == STORE_FAULT_IO;
    size_t held = s_held (self);
    //  On a full disk every retry fails alike: s_fell_behind says it, not
    //  a line per attempt.
    if (!disk && failed)
        zsys_error ("store: write of a %s for site %llu failed (batch of %zu kept, attempt %u "
                    "of %u): %s", sq_msg_type_name (failed->type),
                    (unsigned long long) s_site_of (failed), held,
                    self->flush_failures, S_FLUSH_ATTEMPTS, why);
    else
    if (!disk)
        zsys_error ("store: flush of %zu writes (sites %llu ..) failed (kept, attempt %u of %u): %s",
                    held, (unsigned long long) s_site_of (&self->pending [0]),
                    self->flush_failures, S_FLUSH_ATTEMPTS, why);
    s_fell_behind (self, fault, why);
    if (!disk && self->flush_failures >= S_FLUSH_ATTEMPTS)
        s_give_up (self, why);
    return -1;
}

//  Make room for one write in a full buffer: drop the oldest raw result
//  held.  false when nothing but alerts and changes is held.
static bool
s_evict_oldest_result (self_t *self)
{
    for (size_t index = self->evict_from; index < self->pending_count; index++) {
        pending_write_t *write = &self->pending [index];
        if (write->type == SQ_MSG_RESULT && !write->evicted) {
            write->evicted = true;
            self->pending_evicted++;
            self->evict_from = index + 1;
            return true;
        }
    }
    self->evict_from = self->pending_count;
    return false;
}

//  Squeeze the evicted entries out of pending, keeping the order.
static void
s_compact (self_t *self)
{
    size_t kept = 0;
    for (size_t index = 0; index < self->pending_count; index++)
        if (!self->pending [index].evicted)
            self->pending [kept++] = self->pending [index];
    self->pending_count = kept;
    self->pending_evicted = 0;
    self->evict_from = 0;
}

//  Take one message off the socket into pending.
static void
s_take_one (self_t *self)
{
    sq_msg_t msg;
    if (sq_metrics_refusal (sq_wire_recv_expect (self->writes, NULL, NULL, &msg,
                             SQ_WIRE_TYPE (SQ_MSG_RESULT) | SQ_WIRE_TYPE (SQ_MSG_ALERT)
                             | SQ_WIRE_TYPE (SQ_MSG_CHANGE),
                             "store: dropped a frame from the collector", &self->counters [STORE_malformed]),
                            SQ_ACTOR_STORE) != SQ_PROTO_OK)
        return;
    //  CHANGE is ALERT without its seq: one form from here on.
    if (msg.type == SQ_MSG_CHANGE) {
        sq_change_t change = msg.change;
        sq_alert_from_change (&msg.alert, 0, &change);
    }
    uint64_t site_id = msg.type == SQ_MSG_RESULT ? msg.result.site_id : msg.alert.site_id;
    if (site_id > INT64_MAX || (msg.type == SQ_MSG_ALERT && msg.alert.seq > INT64_MAX)) {
        self->counters [STORE_malformed]++;
        sq_metrics_refused (SQ_ACTOR_STORE);
        zsys_warning ("store: dropped a frame from the collector: site id or seq beyond the "
                      "store's range");
        return;
    }
    if (msg.type == SQ_MSG_RESULT)
        self->counters [STORE_results]++;
    else
    if (msg.type == SQ_MSG_ALERT)
        self->counters [STORE_alerts]++;
    else
        self->counters [STORE_changes]++;
    if (s_held (self) == STORE_PENDING_MAX) {
        //  Full: the oldest raw result goes, so that the newest history and
        //  every alert are kept; only with no raw result left is the new
        //  write itself dropped.
        bool room = s_evict_oldest_result (self);
        if (!self->overflowing)
            zsys_error ("store: %d writes held and flushes are failing: dropping %s (first: a "
                        "%s for site %llu) until a flush succeeds", STORE_PENDING_MAX,
                        room ? "the oldest raw results held" : "new writes",
                        room ? "RESULT" : sq_msg_type_name (msg.type),
                        (unsigned long long) (room ? s_site_of (&self->pending [self->evict_from - 1])
                                                   : site_id));
        else
        if (!room && msg.type != SQ_MSG_RESULT)
            zsys_error ("store: buffer full of alerts and changes: a %s for site %llu is "
                        "dropped", sq_msg_type_name (msg.type), (unsigned long long) site_id);
        self->overflowing = true;
        self->overflow_dropped++;
        self->counters [STORE_dropped]++;
        if (!room)
            return;
    }
    if (self->pending_count == self->pending_size) {
        if (self->pending_evicted)
            s_compact (self);
        else {
            size_t most = STORE_PENDING_MAX + S_EVICT_SLACK;
            self->pending_size = self->pending_size * 2 < most ? self->pending_size * 2 : most;
            self->pending = (pending_write_t *) realloc (self->pending,
                                                         self->pending_size
                                                         * sizeof (pending_write_t));
            assert (self->pending);
        }
    }
    if (self->pending_count == 0)
        self->first_pending_at = zclock_mono ();
    pending_write_t *write = &self->pending [self->pending_count++];
    write->type = msg.type;
    write->evicted = false;
    if (msg.type == SQ_MSG_RESULT)
        write->result = msg.result;
    else {
        write->alert.seq = msg.type == SQ_MSG_ALERT ? msg.alert.seq : 0;
        write->alert.site_id = msg.alert.site_id;
        write->alert.previous = (sq_state_t) msg.alert.previous;
        write->alert.state = (sq_state_t) msg.alert.state;
        write->alert.since = msg.alert.since;
        write->alert.reason = (sq_reason_t) msg.alert.reason;
        memcpy (write->alert.detail, msg.alert.detail, sizeof (write->alert.detail));
        write->alert.previous_since = msg.alert.previous_since;
        write->alert.http_status = msg.alert.http_status;
        write->alert.phase_us [0] = msg.alert.dns_us;
        write->alert.phase_us [1] = msg.alert.connect_us;
        write->alert.phase_us [2] = msg.alert.tls_us;
        write->alert.phase_us [3] = msg.alert.ttfb_us;
        write->alert.phase_us [4] = msg.alert.total_us;
        write->alert.regions = msg.alert.regions [0] ? strdup (msg.alert.regions) : NULL;
        if (msg.type == SQ_MSG_ALERT)
            self->alert_pending = true;
    }
}

//  Before a flush: take whatever else is queued on the socket, at most
//  STORE_PENDING_MAX messages (against a peer that never stops), holding
//  at most STORE_BEHIND_MAX writes: past that the oldest raw result held
//  goes for each one taken (counted in dropped; alerts and changes are
//  kept).  A writer slower than the results thus keeps the newest of its
//  backlog, bounded, rather than all of it in the socket's queue, which is
//  not: at 1,000,000 sites on two cores that queue grew by about a million
//  results in eight minutes.  A transaction then holds at most
//  STORE_BEHIND_MAX writes (2 to 3 s of writing here: other connections
//  wait 5 s for the lock), and more results share each page it writes.
static void
s_read_ahead (self_t *self)
{
    uint64_t dropped = 0;
    for (size_t taken = 0; taken < STORE_PENDING_MAX; taken++) {
        if (!(zsock_events (self->writes) & ZMQ_POLLIN))
            break;
        s_take_one (self);
        if (s_held (self) > STORE_BEHIND_MAX && self->flush_failures == 0
        &&  s_evict_oldest_result (self))
            dropped++;
    }
    self->counters [STORE_dropped] += dropped;
    self->behind_dropped += dropped;
    //  Said when it starts, then at most once a minute while it lasts, and
    //  over after a minute without a drop (a writer at its limit falls
    //  behind and catches up every few seconds: one line each was noise).
    int64_t now = zclock_mono ();
    if (dropped) {
        self->behind_last = now;
        if (!self->behind || now >= self->behind_log_at) {
            zsys_error ("store: the database cannot keep up with the results: each batch "
                        "keeps the newest %d writes and drops older raw results (alerts and "
                        "changes are kept); %llu dropped %s", STORE_BEHIND_MAX,
                        (unsigned long long) self->behind_dropped,
                        self->behind ? "in the last minute" : "now");
            self->behind_dropped = 0;
            self->behind_log_at = now + S_BEHIND_LOG_MS;
        }
        self->behind = true;
    }
    else
    if (self->behind && now - self->behind_last >= S_BEHIND_LOG_MS) {
        zsys_warning ("store: keeping up again%s", self->behind_dropped
                      ? " (more raw results were dropped since the last line)" : "");
        self->behind = false;
        self->behind_dropped = 0;
    }
}

//  Take what is queued on the socket: at most one burst, or (drain) all
//  of it (bounded, against a peer that never stops), as $TERM and FLUSH
//  need.  A full batch is flushed at once, with what is queued behind it
//  (s_read_ahead).
static void
s_handle_writes (self_t *self, bool drain)
{
    size_t limit = drain ? STORE_PENDING_MAX : S_RECEIVE_BURST;
    for (size_t taken = 0; taken < limit; taken++) {
        if (!(zsock_events (self->writes) & ZMQ_POLLIN))
            break;
        s_take_one (self);
        if (self->pending_count >= STORE_FLUSH_WRITES && self->flush_failures == 0) {
            s_read_ahead (self);
            s_flush (self);
        }
    }
}

//  now minus a window (ms), in unix µs; INT64_MIN (keeps everything) when
//  the window reaches back before 1970.
static int64_t
s_cutoff (int64_t now, uint64_t window_ms)
{
    if (now <= 0 || window_ms >= (uint64_t) now / 1000)
        return INT64_MIN;
    return now - (int64_t) window_ms * 1000;
}

//  A window as messages show it: "400d", "24h", "90m", "1500ms" (days
//  from 2 on, as the config's examples write them).
static const char *
s_window_text (uint64_t window_ms, char *text, size_t size)
{
    static const struct { uint64_t ms; const char *unit; } units [] = {
        { 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" }
    };
    for (size_t index = 0; index < sizeof (units) / sizeof (units [0]); index++)
        if ((window_ms % units [index].ms == 0 && window_ms >= 2 * units [index].ms)
        ||  units [index].ms == 1) {
            snprintf (text, size, "%llu%s", (unsigned long long) (window_ms / units [index].ms),
                      units [index].unit);
            break;
        }
    return text;
}

//  Start a pass as if the time were now (unix µs).  A rollup hour goes
//  once it has ended before now minus the window: the hour that holds
//  that moment is kept, as part of it is inside the window.
static void
s_prune_start (self_t *self, int64_t now)
{
    prune_t *prune = &self->prune;
    free (prune->region);
    memset (prune, 0, sizeof (*prune));
    prune->phase = PRUNE_RESULTS;
    prune->results_cutoff = s_cutoff (now, self->retention_results_ms);
    int64_t rollups_cutoff = s_cutoff (now, self->retention_rollups_ms);
    prune->rollups_cutoff = rollups_cutoff == INT64_MIN ? INT64_MIN : rollups_cutoff / STORE_HOUR_US;
}

//  Begin the walk of a rollup table at its first key.
static void
s_walk_start (prune_t *prune, prune_phase_t phase)
{
    prune->phase = phase;
    prune->site_id = -1;
    free (prune->region);
    prune->region = NULL;
    prune->key_open = false;
    prune->walk_done = false;
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
    if (store_step (store, STMT_PRUNE) != SQLITE_OK) {
        zsys_error ("store: pruning raw results failed: %s", store->error);
        return -1;
    }
    return sqlite3_changes (store->db);
}

//  The rollup walk's next key after the current one, as the current one:
//  SQLITE_OK with *found, or an error.
static int
s_walk_next (self_t *self, bool regions, bool *found)
{
    store_t *store = self->store;
    prune_t *prune = &self->prune;
    store_statement_t which = regions ? STMT_REGION_ROLLUP_NEXT : STMT_ROLLUP_NEXT;
    sqlite3_stmt *statement = store->statement [which];
    sqlite3_bind_int64 (statement, 1, prune->site_id);
    if (regions)
        sqlite3_bind_text (statement, 2, prune->region ? prune->region : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step (statement);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        prune->site_id = sqlite3_column_int64 (statement, 0);
        if (regions) {
            //  Copied before the reset, which frees the column's text.
            const char *region = (const char *) sqlite3_column_text (statement, 1);
            char *copy = strdup (region ? region : "");
            assert (copy);
            free (prune->region);
            prune->region = copy;
        }
    }
    else
    if (rc != SQLITE_DONE)
        snprintf (store->error, sizeof (store->error), "%s", sqlite3_errmsg (store->db));
    sqlite3_reset (statement);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

//  Delete the current key's hours before the cutoff, at most budget of
//  them, oldest first.  SQLITE_OK with *deleted, or an error.
static int
s_walk_prune (self_t *self, bool regions, int64_t budget, int64_t *deleted)
{
    store_t *store = self->store;
    prune_t *prune = &self->prune;
    store_statement_t which = regions ? STMT_REGION_ROLLUP_PRUNE : STMT_ROLLUP_PRUNE;
    sqlite3_stmt *statement = store->statement [which];
    int column = 1;
    sqlite3_bind_int64 (statement, column++, prune->site_id);
    if (regions)
        sqlite3_bind_text (statement, column++, prune->region ? prune->region : "", -1,
                           SQLITE_STATIC);
    sqlite3_bind_int64 (statement, column++, prune->rollups_cutoff);
    sqlite3_bind_int64 (statement, column, budget);
    int rc = store_step (store, which);
    *deleted = rc == SQLITE_OK ? sqlite3_changes (store->db) : 0;
    return rc;
}

//  One slice of the walk of rollup (regions false) or region_rollup, in
//  its own transaction: keys in order from the current one, until
//  STORE_PRUNE_SLICE rows are deleted or S_PRUNE_KEYS keys are visited
//  (a slice over keys with nothing to delete still ends soon).  A key whose
//  budget ran out stays the current one, for the next slice.  Sets
//  walk_done at the end of the table.  Rows deleted, or -1.
static int64_t
s_walk_slice (self_t *self, bool regions)
{
    store_t *store = self->store;
    prune_t *prune = &self->prune;
    int64_t deleted = 0;
    int rc = store_step (store, STMT_BEGIN);
    for (unsigned keys = 0;
         rc == SQLITE_OK && keys < S_PRUNE_KEYS && deleted < STORE_PRUNE_SLICE; keys++) {
        if (!prune->key_open) {
            bool found = false;
            rc = s_walk_next (self, regions, &found);
            if (rc != SQLITE_OK)
                break;
            if (!found) {
                prune->walk_done = true;
                break;
            }
            prune->key_open = true;
        }
        int64_t budget = STORE_PRUNE_SLICE - deleted;
        int64_t rows = 0;
        rc = s_walk_prune (self, regions, budget, &rows);
        deleted += rows;
        if (rc == SQLITE_OK && rows < budget)
            prune->key_open = false;        //  nothing older is left in this key
    }
    if (rc == SQLITE_OK)
        rc = store_step (store, STMT_COMMIT);
    if (rc != SQLITE_OK) {
        zsys_error ("store: pruning %s failed: %s", regions ? "region rollups" : "rollups",
                    store->error);
        store_rollback (store);
        return -1;
    }
    return deleted;
}

static void
s_prune_done (self_t *self)
{
    prune_t *prune = &self->prune;
    if (prune->deleted [0] || prune->deleted [1] || prune->deleted [2]) {
        char results [32], rollups [32];
        zsys_info ("store: pruned %llu raw results older than %s, %llu rollup hours and %llu "
                   "region rollup hours older than %s",
                   (unsigned long long) prune->deleted [0],
                   s_window_text (self->retention_results_ms, results, sizeof (results)),
                   (unsigned long long) prune->deleted [1], (unsigned long long) prune->deleted [2],
                   s_window_text (self->retention_rollups_ms, rollups, sizeof (rollups)));
    }
    //  Give the WAL back to the main file while it is quiet; PASSIVE never
    //  waits for readers.
    sqlite3_wal_checkpoint_v2 (self->store->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    free (prune->region);
    prune->region = NULL;
    prune->phase = PRUNE_IDLE;
    self->prune_at = zclock_mono () + S_PRUNE_EVERY_MS;
}

//  One slice of the pass under way; the next phase when a table is done,
//  s_prune_done after the last.  0, or -1 (the pass is abandoned: the
//  caller decides when to try again).
static int
s_prune_step (self_t *self)
{
    prune_t *prune = &self->prune;
    int64_t rows;
    switch (prune->phase) {
        case PRUNE_IDLE:
            return 0;
        case PRUNE_RESULTS:
            rows = s_prune_slice (self, prune->results_cutoff);
            if (rows < 0)
                break;
            prune->deleted [0] += (uint64_t) rows;
            if (rows < STORE_PRUNE_SLICE)
                s_walk_start (prune, PRUNE_ROLLUPS);
            return 0;
        case PRUNE_ROLLUPS:
        case PRUNE_REGION_ROLLUPS: {
            bool regions = prune->phase == PRUNE_REGION_ROLLUPS;
            rows = s_walk_slice (self, regions);
            if (rows < 0)
                break;
            prune->deleted [regions ? 2 : 1] += (uint64_t) rows;
            if (prune->walk_done) {
                if (regions)
                    s_prune_done (self);
                else
                    s_walk_start (prune, PRUNE_REGION_ROLLUPS);
            }
            return 0;
        }
    }
    free (prune->region);
    prune->region = NULL;
    prune->phase = PRUNE_IDLE;
    return -1;
}

//  PRUNE: a whole pass now, as if the time were now (unix µs).  Rows
//  deleted, or -1.
static int64_t
s_prune_all (self_t *self, int64_t now)
{
    s_prune_start (self, now);
    while (self->prune.phase != PRUNE_IDLE) {
        //  The counts survive s_prune_done, which only ends the phase.
        if (s_prune_step (self))
            return -1;
    }
    const uint64_t *deleted = self->prune.deleted;
    return (int64_t) (deleted [0] + deleted [1] + deleted [2]);
}

static void
s_handle_pipe (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, SQ_CMD_TERM))
        self->terminated = true;
    else
    if (streq (command, SQ_CMD_STATS)) {
        self->counters [STORE_pending] = s_held (self);
        self->counters [STORE_stale_since] = (uint64_t) (self->stale_since / 1000000);
        sq_actor_send_counters (self->pipe, s_counter_names, self->counters, STORE_COUNTER_COUNT);
    }
    else
    if (streq (command, SQ_CMD_FLUSH)) {
        s_handle_writes (self, true);
        if (s_flush (self) == 0)
            zstr_send (self->pipe, "OK");
        else
            zstr_sendf (self->pipe, "ERROR %s", self->store->error);
    }
    else
    if (streq (command, SQ_CMD_PRUNE) || strncmp (command, SQ_CMD_PRUNE " ", 6) == 0) {
        //  "PRUNE NOW_US": as if the time were NOW_US (tests).
        int64_t now = command [5] ? strtoll (command + 6, NULL, 10) : sq_wallclock_us ();
        int64_t deleted = s_prune_all (self, now);
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
    &&  (self->pending_count >= STORE_FLUSH_WRITES || self->alert_pending
         || now >= self->first_pending_at + STORE_FLUSH_MS))
        s_flush (self);
    if (self->prune.phase == PRUNE_IDLE && now >= self->prune_at)
        s_prune_start (self, sq_wallclock_us ());
    if (self->prune.phase != PRUNE_IDLE && s_prune_step (self))
        self->prune_at = now + S_PRUNE_RETRY_MS;
}

//  Milliseconds until s_handle_timers has work.
static int
s_timeout (self_t *self)
{
    if (self->prune.phase != PRUNE_IDLE)
        return 0;
    int64_t deadline = self->prune_at;
    if (self->pending_count) {
        int64_t flush_at = self->pending_count >= STORE_FLUSH_WRITES || self->alert_pending
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
        sq_metrics_store_pending (s_held (self));
    }
    if (self) {
        //  A clean stop loses nothing that reached the socket: the senders
        //  are gone by now, so take everything, not one bounded burst.
        while (zsock_events (self->writes) & ZMQ_POLLIN)
            s_handle_writes (self, true);
        for (unsigned attempt = 0; self->pending_count && attempt < S_TERM_ATTEMPTS; attempt++)
            s_flush (self);
        if (self->pending_count)
            s_give_up (self, "the store is stopping");
    }
    s_self_destroy (&self);
}
