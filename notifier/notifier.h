/*  notifier.h: subscribes to the alert feed and tells owners.

    Connects a SUB to the collector's PUB.  For every ALERT: a log line,
    and a JSON POST to the site owner's webhook and to the global webhook
    (sweep's --notify), if any.  Deliveries run concurrently (`parallel` at
    most, default SQ_NOTIFY_PARALLEL; the rest wait their turn) on libcurl's multi interface in the
    notifier's own thread, so one slow receiver delays nobody else; a
    failed delivery is retried with backoff.  What to start, retry and give
    up is decided by the delivery book (delivery.h); this actor runs the
    POSTs and the sockets.

    Pipe commands:
      "SITES" + a batch of SITE frames: owners and their webhooks (signal when taken).
      "SYNC <seq>": reply "OK <seq>" once every ALERT up to seq has been
      received and every delivery for it has ended (delivered or given up).
      "STATS": counters line, NOTIFIER_COUNTERS below.
*/
#ifndef NOTIFIER_H_INCLUDED
#define NOTIFIER_H_INCLUDED

#include <czmq.h>
#include "sq_actor.h"

//  The STATS line, in this order (see sq_counters.h).
#define NOTIFIER_COUNTERS(C) \
    C (NOTIFIER, alerts,    "ALERTs received") \
    C (NOTIFIER, delivered, "deliveries answered 2xx") \
    C (NOTIFIER, retries,   "attempts after the first") \
    C (NOTIFIER, given_up,  "deliveries abandoned after every attempt") \
    C (NOTIFIER, pending,   "deliveries not ended yet (a gauge, read at STATS)") \
    C (NOTIFIER, malformed, "frames refused") \
    C (NOTIFIER, gaps,      "ALERTs missed, seen from sequence gaps")

typedef enum {
    NOTIFIER_COUNTERS (SQ_COUNTER_ENUM)
    NOTIFIER_COUNTER_COUNT
} notifier_counter_t;

typedef struct {
    const char *feed;           //  collector's PUB endpoint (connect)
    const char *notify_url;     //  webhook told of every alert, or NULL
    unsigned timeout_ms;        //  per delivery attempt; 0 = SQ_NOTIFY_TIMEOUT_MS
    unsigned attempts;          //  attempts per delivery; 0 = SQ_NOTIFY_ATTEMPTS
    unsigned backoff_ms;        //  first retry delay, doubled each time; 0 = SQ_NOTIFY_BACKOFF_MS
    unsigned parallel;          //  deliveries in progress at most; 0 = SQ_NOTIFY_PARALLEL
} notifier_args_t;

//  The zactor task.  args is a notifier_args_t *, read during set-up.
void notifier_actor (zsock_t *pipe, void *args);

//  Wait until every alert up to seq is received and its deliveries ended.
//  0, or -1 when timeout_ms passed first.
int notifier_sync (zactor_t *notifier, uint64_t seq, int timeout_ms);

#endif
