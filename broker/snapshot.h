/*  snapshot.h: the alerts a watcher missed, from the store.

    The late-joiner fix of PUB/SUB, as the ZeroMQ guide's Clone pattern
    does it: a watcher subscribes to the feed first, then asks this
    service for the alerts after the last seq it has (FETCH since, until),
    prints them, and from then on prints only live alerts above the last
    one printed; a gap in the live seqs is asked for the same way.

    A ROUTER binds a local endpoint (the feed's + ".snapshot", see
    topology_snapshot_endpoint) and, for remote watchers, tcp://HOST:PORT+3
    as a CURVE server (sq_actor_bind_remote).  Each FETCH is answered with
    the stored alerts in order, at most SQ_FETCH_REPLY_MAX of them, one
    ALERT message each, then one FETCHED (the last seq sent, and whether
    more are stored in the range: then the watcher asks again from there).
    The alerts are read through the actor's own reader connection
    (store.h; WAL lets it read beside the writer).  A reply to a watcher
    that is gone or not reading is dropped by the ROUTER (never blocks);
    the watcher asks again after its deadline.

    Pipe: "$TERM", "STATS".
*/
#ifndef SNAPSHOT_H_INCLUDED
#define SNAPSHOT_H_INCLUDED

#include <czmq.h>
#include "sq_actor.h"

#define SNAPSHOT_COUNTERS(C) \
    C (SNAPSHOT, requests,   "FETCHes answered") \
    C (SNAPSHOT, alerts,     "ALERTs sent in answers") \
    C (SNAPSHOT, failed,     "FETCHes not answered: the store could not be read") \
    C (SNAPSHOT, malformed,  "frames refused")

typedef enum { SNAPSHOT_COUNTERS (SQ_COUNTER_ENUM) SNAPSHOT_COUNTER_COUNT } snapshot_counter_t;

typedef struct {
    const char *data_dir;       //  the store's folder
    const char *endpoint;       //  local ROUTER endpoint to bind
    const char *remote;         //  tcp:// to bind for remote watchers, or NULL
    sq_curve_t curve;           //  the hub's keys, with remote
} snapshot_args_t;

//  The zactor task.  args is a snapshot_args_t *, read during set-up.
void snapshot_actor (zsock_t *pipe, void *args);

#endif
