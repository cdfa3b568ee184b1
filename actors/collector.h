/*  collector.h: takes every RESULT, decides each site's state, publishes
    ALERTs, and tells the dispatcher when to check again.

    Binds a PULL for pinger results and a PUB for the alert feed (topic
    "STATE URL", e.g. "down https://example.com/", so subscribers filter by
    prefix); connects a PUSH to the dispatcher (DONE) and, when a store is
    configured, a PUSH to the store writer (every accepted RESULT, every
    state change as an ALERT).

    Site states (sq_state_t), one function per transition in collector.c:
      UNKNOWN  not yet checked (or restarted without a store)
      UP       the last verdict was up
      SUSPECT  failed fewer than failure_threshold times in a row: rechecked
               at once, then faster than usual; recovers silently
      DOWN     failed failure_threshold times in a row; UP again after
               success_threshold successes in a row
    Only DOWN and the way back to UP are published on the feed, each with
    the next sequence number.

    Pipe commands: "SITES" + config_t pointer (signal when copied);
    "DRAIN": take every result already queued, then signal; "STATS".
    In report mode (sweep) the collector also sends, the first time each
    site reaches UP or DOWN, "VERDICT" + the deciding sq_result_t (raw
    bytes) + the state name on its pipe.
*/
#ifndef COLLECTOR_H_INCLUDED
#define COLLECTOR_H_INCLUDED

#include <czmq.h>

typedef struct {
    const char *results;        //  PULL endpoint to bind for pingers
    const char *feed;           //  PUB endpoint to bind for the alert feed
    const char *done;           //  dispatcher's DONE PULL (connect)
    const char *store;          //  store writer's PULL (connect), or NULL
    const char *data_dir;       //  store folder, to restore states; or NULL
    bool report;                //  send VERDICTs on the pipe (sweep)
} collector_args_t;

//  The zactor task.  args is a collector_args_t *, read during set-up.
void collector_actor (zsock_t *pipe, void *args);

#endif
