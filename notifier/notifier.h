/*  notifier.h: subscribes to the alert feed and tells owners.

    Connects a SUB to the collector's PUB.  For every ALERT: a log line,
    and a JSON POST to the site owner's webhook and to the global webhook
    (sweep's --notify), if any.  Deliveries run concurrently (64 at most,
    the rest wait their turn) on libcurl's multi interface in the
    notifier's own thread, so one slow receiver delays nobody else; a
    failed delivery is retried with backoff.

    Pipe commands:
      "SITES" + config_t pointer: owners and their webhooks (signal when copied).
      "SYNC <seq>": reply "OK <seq>" once every ALERT up to seq has been
      received and every delivery for it has ended (delivered or given up).
      "STATS": counters line.
*/
#ifndef NOTIFIER_H_INCLUDED
#define NOTIFIER_H_INCLUDED

#include <czmq.h>

typedef struct {
    const char *feed;           //  collector's PUB endpoint (connect)
    const char *notify_url;     //  webhook told of every alert, or NULL
    unsigned timeout_ms;        //  per delivery attempt; 0 = 10000
    unsigned attempts;          //  deliveries tried per webhook; 0 = 4
    unsigned backoff_ms;        //  first retry delay, doubled each time; 0 = 1000
    unsigned parallel;          //  deliveries in progress at most; 0 = 64
} notifier_args_t;

//  The zactor task.  args is a notifier_args_t *, read during set-up.
void notifier_actor (zsock_t *pipe, void *args);

//  Wait until every alert up to seq is received and its deliveries ended.
//  0, or -1 when timeout_ms passed first.
int notifier_sync (zactor_t *notifier, uint64_t seq, int timeout_ms);

#endif
