/*  store.h: the SQLite store.  Sites and owners, raw results, incidents,
    hourly rollups (per site, and per site and region) and each site's
    current state, in <data_dir>/squirrel.db (WAL mode, so readers run
    beside the one writer).

    Writes go through one actor, off the check path: a slow disk, a long
    prune or a checkpoint only ever delays the store's own thread, never a
    check or an alert.  Everyone else sends it messages.  The synchronous
    helpers below (store_open ...) are for the supervisor and `squirrel
    status`; each store_t is its own connection.  See docs/ARCHITECTURE.md,
    "Store".
*/
#ifndef STORE_H_INCLUDED
#define STORE_H_INCLUDED

#include <czmq.h>
#include "sq_proto.h"
#include "sq_counters.h"

#define STORE_FILE_NAME             "squirrel.db"   //  inside data_dir
#define STORE_SCHEMA_VERSION        4       //  PRAGMA user_version this build writes;
                                            //  a version 1 to 3 file is upgraded in place
#define STORE_DEFAULT_RESULTS_MS    (UINT64_C (24) * 3600 * 1000)       //  raw results kept: 24 h
#define STORE_DEFAULT_ROLLUPS_MS    (UINT64_C (400) * 86400 * 1000)     //  hourly rollups kept: 400 d
#define STORE_FLUSH_MS              500     //  flush this long after the first unflushed write
#define STORE_FLUSH_WRITES          2000    //  ... or as soon as this many are pending
#define STORE_PRUNE_SLICE           5000    //  rows deleted per prune transaction, at most
#define STORE_PENDING_MAX           50000   //  writes held in memory while flushes fail
#define STORE_BEHIND_MAX            20000   //  ... and while the database cannot keep up
#define STORE_REGIONS_WINDOW_US     (INT64_C (2) * 86400 * 1000000) //  status's look back per region

//  The writer actor.  Binds a PULL at `endpoint` (inproc:// in practice) and
//  takes encoded RESULT, ALERT and CHANGE messages (sq_wire_send of sq_msg_t,
//  no head frame) from the collector.  RESULT -> a raw result row + rollup
//  update + the rollup of its region + site last-check fields.  CHANGE (a change of state that was not
//  published) -> site state/since update; state DOWN opens an incident
//  (start = since, reason, detail) unless one is open; any other new state
//  closes the open incident (end = since).  ALERT (a published change) ->
//  the same, and the alert kept by its seq in table alert (store_alerts).
//  A batch holding an ALERT is committed at once, not after 500 ms, so that
//  the alert can be replayed and its seq is not reused after a crash.
//  Anything else arriving is malformed: logged, counted, dropped.
//  Batches: one transaction per flush, flushed when 500 ms have passed since the
//  first unflushed write or 2,000 writes are pending, and on $TERM (nothing
//  received is lost at a clean stop).  Pipe commands: "$TERM"; "STATS" ->
//  the STORE_COUNTERS below as one line;
//  "FLUSH" -> takes what is already queued on the socket, flushes now and
//  replies "OK", or "ERROR why" when the flush failed (the writes stay pending
//  and are retried); "PRUNE" -> deletes raw results older than
//  retention_results_ms, then the hours of rollup and region_rollup that
//  ended before retention_rollups_ms ago (the hour that holds that moment is
//  kept), and replies "OK N" (N rows deleted from the three tables) or
//  "ERROR why"; "PRUNE NOW_US" does the same as if the time were NOW_US
//  (unix µs), for tests.  Sites, incidents and alerts are kept for good.
//  Pruning also runs by itself a minute after start and then once an hour, in
//  slices of at most STORE_PRUNE_SLICE rows per transaction, so that it never
//  holds the write lock for long; the rollups are walked key by key (a site,
//  or a site and a region) on their primary keys, never scanned whole.
//  Counters: results, alerts, changes = messages taken; flushes = transactions
//  committed; malformed = frames refused; failed_writes = failed attempts to
//  write (each logged with a site id, but on a full disk the first and then
//  one a minute; a transient failure keeps the batch for a retry); dropped
//  = writes taken but never stored (a site the store does not know, a row
//  the database refuses, a batch given up after repeated failures, and
//  while flushes fail the oldest raw results held, dropped to keep the
//  buffer within STORE_PENDING_MAX, or within STORE_BEHIND_MAX while the
//  database cannot keep up with the results).  results + alerts + changes = stored
//  + pending + dropped.  disk_full = 1 while flushes fail because the disk
//  is full or refuses writes (the writer keeps the batch and retries,
//  backing off to 8 s, for as long as it takes, never giving it up);
//  stale_since = unix seconds of the first failed flush of the writes not
//  yet stored, 0 while the store is up to date (also in STORE_HEALTH_FILE,
//  for `squirrel status`).
#define STORE_COUNTERS(C) \
    C (STORE, results,       "RESULTs taken") \
    C (STORE, alerts,        "ALERTs taken") \
    C (STORE, changes,       "CHANGEs taken") \
    C (STORE, flushes,       "transactions committed") \
    C (STORE, malformed,     "frames refused") \
    C (STORE, failed_writes, "failed write attempts, each logged") \
    C (STORE, pending,       "writes held, not yet committed") \
    C (STORE, dropped,       "writes taken but never stored") \
    C (STORE, disk_full,     "1 while flushes fail for a full (or failing) disk") \
    C (STORE, stale_since,   "unix seconds since the store is behind, 0 up to date")

typedef enum { STORE_COUNTERS (SQ_COUNTER_ENUM) STORE_COUNTER_COUNT } store_counter_t;

typedef struct {
    const char *data_dir;       //  folder of squirrel.db
    const char *endpoint;       //  PULL endpoint to bind
    uint64_t retention_results_ms;  //  raw results kept; 0 = STORE_DEFAULT_RESULTS_MS
    uint64_t retention_rollups_ms;  //  rollup and region_rollup hours kept; 0 =
                                    //  STORE_DEFAULT_ROLLUPS_MS
} store_args_t;

//  The zactor task.  args is a store_args_t *, read during set-up only.
void store_actor (zsock_t *pipe, void *args);

//  Synchronous helpers for the supervisor and the `status` command; each
//  opens its own connection (WAL lets them run beside the writer).
typedef struct _store_t store_t;

//  Open <data_dir>/squirrel.db, creating data_dir (mode 0700), the file and
//  the schema if missing.  NULL with a message in error when the folder or
//  file cannot be made or opened, or the file has a newer schema.
store_t *store_open (const char *data_dir, char *error, size_t error_size);

//  Close the connection.  Safe twice; nulls the caller's pointer.
void store_close (store_t **self_p);

//  Give every site a stable id by URL (insert if new), and record its owner.
//  Sites no longer listed are marked inactive (kept for history), not deleted.
//  owners, or any entry of it, may be NULL (no owner); ids_out may be NULL.
//  Returns 0, or -1 with error.  When the disk is full (or refuses writes)
//  returns 1, with error saying why: a site the store knows gets its id
//  from it, one it does not gets an id in memory above every id the store
//  has given, the same id at every call in this process (so a reload
//  keeps it), recorded in the store by the writer, or by the next call
//  that can write, as soon as the disk takes writes again.  Owners and
//  retirements are recorded at the next call that can write.
int store_sync_sites (store_t *self, const char **urls, const char **owners, size_t count,
                      uint64_t *ids_out, char *error, size_t error_size);

#define STORE_RESERVE_FILE  "store.reserve" //  in data_dir: room kept to open the store on
                                            //  a full disk (store_open deletes it then)
#define STORE_RESERVE_BYTES (256 * 1024)    //  its size: a -shm (32 KiB) and more
#define STORE_HEALTH_FILE   "store.health"  //  in data_dir: is the store behind? (store_health)
#define STORE_HEALTH_BYTES  512             //  its size, fixed: made while there is room,
                                            //  then rewritten in place, so that a full
                                            //  disk cannot stop it from saying so

//  What the writer last said of the store in data_dir: *stale when writes
//  are failing (held in memory, or lost), since *since_us (unix µs), and
//  why.  0 (*stale false when up to date, or when no writer ever said), or
//  -1 when the file cannot be read.
int store_health (const char *data_dir, bool *stale, int64_t *since_us, char *why,
                  size_t why_size);

//  Current state of a site, for restoring the collector after a restart: 0 if
//  found, -1 if not.  since_us is 0 when the state began at an unknown time.
int store_site_state (store_t *self, uint64_t site_id, sq_state_t *state, int64_t *since_us);

//  One row per active site, ordered by URL, for `squirrel status`.
typedef struct {
    uint64_t id;                //  site id
    const char *url;            //  borrowed for the callback's duration
    const char *owner;          //  borrowed for the callback's duration; "" if none
    sq_state_t state;           //  current state
    int64_t since_us;           //  since when, unix µs (0 unknown)
    int64_t last_check_us;      //  `at` of the latest result, unix µs (0 never checked)
    sq_reason_t last_reason;    //  reason of the latest result
    unsigned last_status;       //  HTTP status of the latest result (0 none)
    const char *last_pinger;    //  pinger of the latest raw result kept, "" if none
                                //  (borrowed for the callback's duration)
    const char *last_region;    //  its region, "" if none (borrowed)
    double uptime_24h;          //  percent 0..100, or -1 when no checks in that window
    double uptime_7d;           //  the same over 7 days
    double uptime_30d;          //  the same over 30 days (rollups outlive raw results)
    double quorum_uptime_24h;   //  percent 0..100 of the time in the last 24 h the site
                                //  was not down by quorum (no incident open), counted
                                //  from its first check if later; -1 never checked
    double quorum_uptime_7d;    //  the same over 7 days
    double quorum_uptime_30d;   //  the same over 30 days
    unsigned open_incident;     //  1 if an incident is open
} store_status_t;

//  Call callback once per active site.  Uptime windows end at now_us and
//  count whole rollup hours: the current hour and the ones before it (24,
//  7 * 24, 30 * 24 hours in all).  Quorum uptime windows are exact: from
//  now_us minus the window, or from the site's first check when that is
//  later (its earliest raw result kept, else the start of its earliest
//  rollup hour), to now_us; an incident still open counts as down until
//  now_us.  Returns the number of rows, or -1.
int store_status (store_t *self, int64_t now_us,
                  void (*callback) (const store_status_t *row, void *arg), void *arg);

//  The id of the site with url (normal form), active or not; 0 when the
//  store has none, or cannot say (logged).
uint64_t store_site_id (store_t *self, const char *url);

//  The same for one site (site_id), if it is active: one row read, not
//  every site's.  Returns the number of rows (0 or 1), or -1.
int store_status_of (store_t *self, int64_t now_us, uint64_t site_id,
                     void (*callback) (const store_status_t *row, void *arg), void *arg);

//  Incidents of a site, newest first, at most `limit`, for tests and status.
typedef struct {
    int64_t start_us;           //  went down, unix µs
    int64_t end_us;             //  came back, unix µs; 0 while still open
    sq_reason_t reason;         //  reason of the check that decided DOWN
    const char *detail;         //  borrowed for the callback's duration
} store_incident_t;

//  Call callback per incident.  Returns the number of rows, or -1.
int store_incidents (store_t *self, uint64_t site_id, size_t limit,
                     void (*callback) (const store_incident_t *row, void *arg), void *arg);

//  The highest seq of the alerts kept, 0 when none: the collector goes on
//  from there after a restart.  0, or -1 (logged).
int store_last_seq (store_t *self, uint64_t *seq);

//  One region of a site, for `squirrel status`: its latest kept verdict
//  and the uptime of its own checks.
typedef struct {
    const char *region;         //  region name, "" if none (borrowed for the callback's duration)
    bool up;                    //  the region's latest verdict
    sq_reason_t reason;         //  its reason
    int64_t at_us;              //  its time, unix µs
    double uptime_24h;          //  percent 0..100 of this region's checks that were up,
                                //  or -1 when it made none in that window
    double uptime_7d;           //  the same over 7 days
    double uptime_30d;          //  the same over 30 days (region rollups outlive raw results)
} store_region_t;

//  Call callback once per region that checked the site in the
//  STORE_REGIONS_WINDOW_US before now_us, by region name.  Uptime windows
//  as in store_status, from the region's rollups.  Returns the number of
//  regions, or -1.
int store_site_regions (store_t *self, uint64_t site_id, int64_t now_us,
                        void (*callback) (const store_region_t *row, void *arg), void *arg);

//  The newest stored alert of every site that has one, in seq order (the
//  notifier restores what it last heard of each site).  Returns the number,
//  or -1.
int store_latest_alerts (store_t *self, void (*callback) (const sq_alert_t *alert, void *arg),
                         void *arg);

//  For each active site whose latest kept result saw a certificate: the
//  site id and the certificate's end (unix seconds).  Returns the number of
//  sites reported, or -1.
int store_cert_expiries (store_t *self, void (*callback) (uint64_t site_id, int64_t expiry,
                                                          void *arg), void *arg);

//  The alerts kept with since < seq (and seq <= until, unless until is 0),
//  in order of seq, at most limit, each handed to callback (the alert is
//  borrowed for the call; its fields are checked against sq_proto.h's
//  limits, a damaged row is skipped and logged).  For the snapshot
//  service and `watch --since`.  Returns the number of alerts, or -1.
int store_alerts (store_t *self, uint64_t since, uint64_t until, size_t limit,
                  void (*callback) (const sq_alert_t *alert, void *arg), void *arg);

#endif
