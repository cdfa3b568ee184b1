/*  pinger.h: the check engine.  Takes CHECK jobs, returns RESULTs.

    One pinger is one thread with one event loop: libcurl's multi socket
    interface and the actor's ZeroMQ sockets polled together.  It connects
    a DEALER to the dispatcher's ROUTER (identity = pinger id; CHECK in,
    READY and HEARTBEAT out) and a PUSH to the collector's PULL (RESULT out).
    See docs/ARCHITECTURE.md, "Pinger".

    The actor is thin: its decisions live in two pure cores, credit.h
    (slots, the waiting queue, READY and HEARTBEAT figures) and verdict.h
    (up or down and why, HEAD -> GET fallback, our own faults).

    Pipe commands: "$TERM"; "STATS": PINGER_COUNTERS below, as one line.
*/
#ifndef PINGER_H_INCLUDED
#define PINGER_H_INCLUDED

#include <czmq.h>
#include "sq_actor.h"

//  Counters on the STATS line (see sq_counters.h).  live and waiting are the
//  values at the moment of asking.  Other code reads these names (the log
//  line at stop, "pinger ID: stopped: checks=...", is parsed by test_cli).
#define PINGER_COUNTERS(C) \
    C (PINGER, checks,          "RESULTs sent") \
    C (PINGER, up,              "... of which up") \
    C (PINGER, head_fallbacks,  "HEAD answered 405/501, sent again as GET") \
    C (PINGER, malformed,       "frames refused by the decoder") \
    C (PINGER, over_capacity,   "CHECKs refused: the queue was full") \
    C (PINGER, send_failures,   "RESULTs the socket would not take") \
    C (PINGER, local_faults,    "checks not judged: the pinger's own fault") \
    C (PINGER, shortages,       "tries lost to our own lack of descriptors, memory or ports") \
    C (PINGER, retries,         "tries started again after such a shortage") \
    C (PINGER, live,            "checks running now") \
    C (PINGER, waiting,         "jobs waiting for a slot now")

typedef enum { PINGER_COUNTERS (SQ_COUNTER_ENUM) PINGER_COUNTER_COUNT } pinger_counter_t;

typedef struct {
    const char *jobs;           //  dispatcher's ROUTER endpoint (connect)
    const char *results;        //  collector's PULL endpoint (connect)
    const char *pinger_id;      //  unique name, also the DEALER identity
    const char *region;         //  where checks run from; "" if unnamed
    unsigned concurrency;       //  live transfers at most; 0 = default 256
    const char *ca_file;        //  extra trusted CA bundle, NULL = system's
    unsigned heartbeat_ms;      //  heartbeat interval; 0 = SQ_HEARTBEAT_MS
    sq_curve_t curve;           //  keys for a tcp:// hub; all NULL otherwise
} pinger_args_t;

//  The zactor task.  args is a pinger_args_t *, read during set-up only.
//  Fit pingers x concurrency checks (0 = the default) into this process's
//  descriptors: raise the soft RLIMIT_NOFILE to the hard one, then lower
//  the concurrency (with a warning saying why) so that every check can
//  have PINGER_FDS_PER_CHECK descriptors besides PINGER_FDS_RESERVED.
//  Returns the concurrency to use, at least 1; when it is lowered, why
//  says so (else it is ""), for the caller to print or log.  A shortage
//  left anyway (other processes, the system's own limit) is retried by
//  the pinger, never judged as the site's.
unsigned pinger_fit_concurrency (unsigned pingers, unsigned concurrency, char *why,
                                 size_t why_size);

void pinger_actor (zsock_t *pipe, void *args);

#define PINGER_DEFAULT_CONCURRENCY  256
#define PINGER_RETRY_MIN_MS     20      //  first pause after a local shortage
#define PINGER_RETRY_MAX_MS     1000    //  longest pause
#define PINGER_RETRY_WINDOW_MS  2500    //  a check retries this long at most
                                        //  (half the dispatcher's deadline margin)
#define PINGER_SHORTAGE_LOG_MS  10000   //  one shortage warning this often at most
#define PINGER_HEADER_CAP       (100 * 1024)   //  response header bytes read at most
#define PINGER_FDS_PER_CHECK    3       //  a socket, and a name lookup's socket pair
#define PINGER_FDS_RESERVED     128     //  the rest of the process: ZeroMQ, SQLite, logs
#define PINGER_BODY_CAP             (1024 * 1024)   //  bytes of body read at most

#endif
