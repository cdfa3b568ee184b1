/*  forwarder.h: the alert feed for watchers on other hosts.

    An XSUB connects to the collector's feed (the local PUB, inproc:// or
    ipc://) and an XPUB binds tcp://HOST:PORT+2 as a CURVE server
    (sq_actor_bind_remote: the authenticator decides who gets in, frames
    are capped, heartbeats on).  Every message the collector publishes is
    passed on as it came, topic frame and ALERT frame; `squirrel watch
    tcp://HUB:PORT` decodes it as hostile, like any subscriber.

    The XPUB runs in manual mode (ZMQ_XPUB_MANUAL): a subscription a
    remote watcher sends is not applied until this actor applies it, so
    the actor bounds what outsiders can make it hold.  A subscription
    longer than FORWARDER_TOPIC_MAX (a "STATE URL" topic and a margin) is
    refused, and so is any beyond FORWARDER_SUBSCRIPTIONS_MAX at once; each
    kind of refusal is logged once and counted.  Upstream the XSUB takes
    everything ("" once, at start): alerts are few, and the subscriptions
    of one watcher must never decide what another receives.

    Pipe: "$TERM", "STATS".
*/
#ifndef FORWARDER_H_INCLUDED
#define FORWARDER_H_INCLUDED

#include <czmq.h>
#include "sq_actor.h"

#define FORWARDER_TOPIC_MAX          (SQ_URL_MAX + 16)  //  bytes of one subscription
#define FORWARDER_SUBSCRIPTIONS_MAX  1000               //  subscriptions held at once

#define FORWARDER_COUNTERS(C) \
    C (FORWARDER, forwarded,     "messages passed from the collector to remote watchers") \
    C (FORWARDER, subscriptions, "subscriptions held now") \
    C (FORWARDER, refused_long,  "subscriptions refused: longer than FORWARDER_TOPIC_MAX") \
    C (FORWARDER, refused_full,  "subscriptions refused: FORWARDER_SUBSCRIPTIONS_MAX held") \
    C (FORWARDER, malformed,     "frames from watchers that are not subscriptions")

typedef enum { FORWARDER_COUNTERS (SQ_COUNTER_ENUM) FORWARDER_COUNTER_COUNT } forwarder_counter_t;

typedef struct {
    const char *upstream;       //  the collector's feed, to connect
    const char *endpoint;       //  tcp:// to bind for remote watchers
    sq_curve_t curve;           //  the hub's keys
} forwarder_args_t;

//  The zactor task.  args is a forwarder_args_t *, read during set-up.
void forwarder_actor (zsock_t *pipe, void *args);

#endif
