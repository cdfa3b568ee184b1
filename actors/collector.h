/*  collector.h: takes every RESULT, decides each site's state, publishes
    ALERTs, and tells the dispatcher when to check again.

    Binds a PULL for pinger results and a PUB for the alert feed (topic
    "STATE URL", e.g. "down https://example.com/", so subscribers filter by
    prefix); connects a PUSH to the dispatcher (DONE) and, when a store is
    configured, a PUSH to the store writer (every accepted RESULT; every
    published change of state as its ALERT, every other change as a CHANGE).

    Each site's state is decided by the pure state machine in site_state.h
    (UNKNOWN, UP, SUSPECT, DOWN); this actor only reads results, feeds them
    to it and does what each step says.  Only DOWN and the way back to UP
    are published on the feed, each with the next sequence number; with a
    store, the numbers go on after the highest one stored (a seq names one
    alert for good, across restarts).

    Pipe commands: "SITES" + a batch of SITE frames (signal when taken);
    "DRAIN": take every result already queued, then signal; "STATS".
    In report mode (sweep) the collector also sends, the first time each
    site reaches UP or DOWN, "VERDICT" + the deciding RESULT (an encoded
    message, as on the wire) + the state name on its pipe.
*/
#ifndef COLLECTOR_H_INCLUDED
#define COLLECTOR_H_INCLUDED

#include <czmq.h>
#include "sq_actor.h"

//  Counters on the STATS line (see sq_counters.h).
#define COLLECTOR_COUNTERS(C) \
    C (COLLECTOR, sites,        "sites known") \
    C (COLLECTOR, results,      "RESULTs accounted for") \
    C (COLLECTOR, duplicates,   "RESULTs for a job already accounted for, or older") \
    C (COLLECTOR, unknown_site, "RESULTs for a site not in the list") \
    C (COLLECTOR, alerts,       "ALERTs published") \
    C (COLLECTOR, suspects,     "times a site became suspect") \
    C (COLLECTOR, malformed,    "frames refused") \
    C (COLLECTOR, impostors,    "RESULTs under a pinger name from another key") \
    C (COLLECTOR, regions_refused, "RESULTs from a region past SQ_REGIONS_MAX for a site") \
    C (COLLECTOR, seq,          "last feed sequence number") \
    C (COLLECTOR, canary_results, "RESULTs of canaries (pinger health only)") \
    C (COLLECTOR, quarantined_results, "RESULTs of quarantined pingers: no site verdict") \
    C (COLLECTOR, quarantines,  "times a pinger was quarantined") \
    C (COLLECTOR, releases,     "times a pinger was let back") \
    C (COLLECTOR, quarantined,  "gauge: pingers in quarantine") \
    C (COLLECTOR, pingers_file_errors, "writes of data_dir/pingers.json that failed") \
    C (COLLECTOR, unmarked,     "RESULTs without the mark of a job the dispatcher issued")

#define COLLECTOR_PINGERS_MAX   4096    //  pinger names whose key is remembered

typedef enum { COLLECTOR_COUNTERS (SQ_COUNTER_ENUM) COLLECTOR_COUNTER_COUNT } collector_counter_t;

typedef struct {
    const char *results;        //  PULL endpoint to bind for pingers
    const char *results_remote; //  tcp:// endpoint for remote pingers, or NULL
    sq_curve_t curve;           //  the hub's keys, with results_remote
    const char *feed;           //  PUB endpoint to bind for the alert feed
    const char *done;           //  dispatcher's DONE PULL (connect)
    const char *store;          //  store writer's PULL (connect), or NULL
    const char *data_dir;       //  store folder, to restore states; or NULL
    bool report;                //  send VERDICTs on the pipe (sweep)
    sq_job_key_t job_key;       //  the dispatcher's: results must bear its mark
} collector_args_t;

//  The zactor task.  args is a collector_args_t *, read during set-up.
void collector_actor (zsock_t *pipe, void *args);

#endif
