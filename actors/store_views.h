/*  store_views.h: read-only views of the store for the status page (and
    anyone else who shows history): a site's uptime per day, its latest
    response times, and the open and recent incidents of every site.

    Each function reads through a store_t from store_open (its own
    connection; WAL lets it run beside the writer) and prepares its
    statement per call: a page render makes a few calls per site, and
    store.c's prepared list stays the writer's and the status command's.
    Nothing here writes.  Times are unix µs; days are UTC days.
*/
#ifndef STORE_VIEWS_H_INCLUDED
#define STORE_VIEWS_H_INCLUDED

#include "store.h"

#define STORE_VIEW_DAYS             90      //  days of the uptime bar, by default
#define STORE_VIEW_DAYS_MAX         400     //  at most (the rollups are kept 400 days)
#define STORE_VIEW_LATENCY_POINTS   50      //  raw results in a latency series, by default
#define STORE_VIEW_INCIDENT_WINDOW_US (INT64_C (7) * 86400 * 1000000)
                                            //  "recent": ended within this, by default

//  Read everything that follows from one snapshot of the file, until
//  store_snapshot_end: what the writer commits meanwhile is not seen, so
//  that a page made of many reads agrees with itself (a site's state with
//  its incidents).  Writers are not held up (WAL).  Keep it short: the
//  WAL cannot be checkpointed past a snapshot still read.  0, or -1
//  (logged).
int store_snapshot_begin (store_t *self);

//  End the snapshot begun by store_snapshot_begin.  Safe without one.
void store_snapshot_end (store_t *self);

//  One UTC day of a site, from its hourly rollups.
typedef struct {
    int64_t day;                //  days since 1970-01-01 (UTC): day * 86400 s is its midnight
    int64_t checks;             //  checks made that day; 0 = no data (not 100 %)
    int64_t up;                 //  of which up
    double uptime;              //  percent 0..100 of checks up; -1 when checks is 0
} store_day_t;

//  Fill days [0 .. count - 1] with the last count UTC days of site_id,
//  oldest first: days [count - 1] is the day that holds now_us.  A day
//  without a rollup hour gets checks 0 and uptime -1.  Reads at most
//  count * 24 rollup rows, on the rollup's primary key.  count at most
//  STORE_VIEW_DAYS_MAX.  Returns count, or -1 (logged; days then
//  unchanged).
int store_daily_uptime (store_t *self, uint64_t site_id, int64_t now_us,
                        store_day_t *days, size_t count);

//  One check of a latency series.
typedef struct {
    int64_t at_us;              //  when it was made, unix µs
    uint64_t total_us;          //  the whole check, µs
    bool up;                    //  its verdict (a failed check's time is its
                                //  timeout or its error, not a response time)
} store_latency_t;

//  The latest count raw results of site_id, oldest first, into points.
//  Returns how many were filled (0 .. count; 0 before its first check or
//  once its results are pruned), or -1 (logged).
//
//  Why raw results, not the hourly rollups' total_us / checks: a status
//  page is first seen minutes after a site is added (the first minute of
//  `make run`), when rollups give one point and no line; raw results give
//  the line from the second check on.  Each raw result keeps its verdict,
//  so a timeout can be drawn as a failure instead of a 10 s spike that
//  flattens every real response time (a rollup's sum mixes both); and the
//  latest value shown is the latest check's, not an hour's partial mean.
//  It costs one range of the (site_id, at_us) index.  The long view is the
//  90-day uptime bar's; what this gives up is a fixed time axis (50 checks
//  span 8 minutes at a 10 s interval, 2 days at one hour, fewer once the
//  24 h raw retention prunes them).
int store_latency (store_t *self, uint64_t site_id, store_latency_t *points, size_t count);

//  One incident, with its site.
typedef struct {
    uint64_t site_id;           //  the site's id
    const char *url;            //  the site's stored URL, borrowed for the callback's
                                //  duration: show it through sq_url_shown, never raw
    int64_t start_us;           //  went down, unix µs
    int64_t end_us;             //  came back, unix µs; 0 while still open
    sq_reason_t reason;         //  reason of the check that decided DOWN
    const char *detail;         //  borrowed for the callback's duration
} store_incident_row_t;

//  Call callback for the open incidents of every active site, then for the
//  incidents that ended at or after ended_since_us, at most limit in all:
//  open ones first, each group newest (latest start) first.  site_ids,
//  when not NULL, restricts them to the site_count sites listed (none when
//  site_count is 0); NULL means every active site.  A site no longer
//  configured (inactive) has none: nobody closes its incident any more.
//  Returns the number of rows, or -1 (logged).
int store_incidents_recent (store_t *self, int64_t ended_since_us,
                            const uint64_t *site_ids, size_t site_count, size_t limit,
                            void (*callback) (const store_incident_row_t *row, void *arg),
                            void *arg);

//  How many active sites are in each state: counts [state] for every
//  sq_state_t, in one statement (a site with a state out of range is not
//  counted).  The total, or -1 (logged).
long long store_state_counts (store_t *self, uint64_t counts [SQ_STATE_COUNT]);

#endif
