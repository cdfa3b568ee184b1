/*  forwarder.c: see forwarder.h. */
#include "forwarder.h"
#include "sq_metrics.h"

#include <string.h>

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *upstream;          //  XSUB, connected to the collector's PUB
    zsock_t *watchers;          //  XPUB, manual mode, bound for remote watchers
    zpoller_t *poller;          //  pipe, upstream, watchers
    zhashx_t *topics;           //  topic -> subscriptions held (uintptr_t), all watchers
    uint64_t held;              //  subscriptions held: the sum over topics
    bool logged_long;           //  a long subscription was logged (once)
    bool logged_full;           //  the cap was logged (once)
    bool terminated;            //  $TERM received
    uint64_t counters [FORWARDER_COUNTER_COUNT];    //  reported on STATS
} self_t;

static const char *const s_counter_names [] = { FORWARDER_COUNTERS (SQ_COUNTER_STRING) };

//  One message from the collector: passed on whole.  An XPUB never
//  blocks; a watcher over its high-water mark loses messages, sees the
//  gap in seq and asks the snapshot service for them.
static void
s_handle_upstream (self_t *self)
{
    zmsg_t *message = zmsg_recv (self->upstream);
    if (!message)
        return;
    if (zmsg_send (&message, self->watchers) == 0)
        self->counters [FORWARDER_forwarded]++;
    zmsg_destroy (&message);
}

//  Apply (or undo) a subscription on the XPUB, for the watcher that sent
//  the message just read: in manual mode that is what setsockopt does.
static void
s_apply (self_t *self, bool subscribe, const char *topic, size_t size)
{
    zmq_setsockopt (zsock_resolve (self->watchers), subscribe ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE,
                    topic, size);
}

static void
s_subscribe (self_t *self, const char *topic, size_t size)
{
    if (size > FORWARDER_TOPIC_MAX) {
        self->counters [FORWARDER_refused_long]++;
        if (!self->logged_long)
            zsys_warning ("forwarder: refused a subscription of %zu bytes (at most %d; logged "
                          "once, counted in refused_long)", size, FORWARDER_TOPIC_MAX);
        self->logged_long = true;
        return;
    }
    if (self->held >= FORWARDER_SUBSCRIPTIONS_MAX) {
        self->counters [FORWARDER_refused_full]++;
        if (!self->logged_full)
            zsys_warning ("forwarder: refused a subscription: %d held already (logged once, "
                          "counted in refused_full)", FORWARDER_SUBSCRIPTIONS_MAX);
        self->logged_full = true;
        return;
    }
    s_apply (self, true, topic, size);
    uintptr_t count = (uintptr_t) zhashx_lookup (self->topics, topic);
    zhashx_update (self->topics, topic, (void *) (count + 1));
    self->held++;
}

//  An unsubscribe is taken only for a topic held: one that was refused
//  (or never sent) changes nothing.  A watcher cannot tell us which of
//  several equal subscriptions it holds, so one that unsubscribes what it
//  never held lowers the count of another's; the XPUB still holds the
//  other's, so at worst the forwarder holds twice the cap.
static void
s_unsubscribe (self_t *self, const char *topic, size_t size)
{
    uintptr_t count = (uintptr_t) zhashx_lookup (self->topics, topic);
    if (!count)
        return;
    s_apply (self, false, topic, size);
    if (count == 1)
        zhashx_delete (self->topics, topic);
    else
        zhashx_update (self->topics, topic, (void *) (count - 1));
    self->held--;
}

//  A (un)subscription from a remote watcher, hostile like any frame: one
//  frame, first byte 1 (subscribe) or 0 (unsubscribe), then the topic,
//  which a "STATE URL" topic never fills with NUL bytes.
static void
s_handle_watchers (self_t *self)
{
    zframe_t *frame = zframe_recv (self->watchers);
    if (!frame)
        return;
    bool more = zframe_more (frame);
    const char *data = (const char *) zframe_data (frame);
    size_t size = zframe_size (frame);
    if (more || size == 0 || data [0] > 1 || memchr (data + 1, 0, size - 1)) {
        self->counters [FORWARDER_malformed]++;
        sq_metrics_refused (SQ_ACTOR_FORWARDER);
        zsys_warning ("forwarder: dropped a frame from a watcher: not a subscription");
        while (more) {
            zframe_destroy (&frame);
            frame = zframe_recv (self->watchers);
            more = frame && zframe_more (frame);
        }
        zframe_destroy (&frame);
        return;
    }
    char *topic = (char *) malloc (size);
    assert (topic);
    memcpy (topic, data + 1, size - 1);
    topic [size - 1] = '\0';
    if (data [0] == 1)
        s_subscribe (self, topic, size - 1);
    else
        s_unsubscribe (self, topic, size - 1);
    free (topic);
    zframe_destroy (&frame);
}

static void
s_handle_pipe (self_t *self)
{
    char *command = sq_actor_recv_command (self->pipe, NULL);
    if (streq (command, SQ_CMD_TERM))
        self->terminated = true;
    else
    if (streq (command, SQ_CMD_STATS)) {
        self->counters [FORWARDER_subscriptions] = self->held;
        sq_actor_send_counters (self->pipe, s_counter_names, self->counters, FORWARDER_COUNTER_COUNT);
    }
    else
        zsys_warning ("forwarder: unknown pipe command '%s'", command);
    zstr_free (&command);
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->upstream);
    zsock_destroy (&self->watchers);
    zhashx_destroy (&self->topics);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const forwarder_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->topics = zhashx_new ();
    self->upstream = zsock_new (ZMQ_XSUB);
    self->watchers = zsock_new (ZMQ_XPUB);
    assert (self->topics && self->upstream && self->watchers);
    zsock_set_xpub_manual (self->watchers, 1);
    //  Like the collector's PUB: a burst of alerts must not be dropped for
    //  a watcher that keeps up, and the bound caps what a stalled one costs.
    zsock_set_sndhwm (self->watchers, 10000);
    zsock_set_rcvhwm (self->upstream, 0);
    uint8_t everything = 1;     //  subscribe, to the empty topic
    if (zsock_connect (self->upstream, "%s", args->upstream) < 0
    ||  zmq_send (zsock_resolve (self->upstream), &everything, 1, 0) != 1
    ||  sq_actor_bind_remote (self->watchers, args->endpoint, &args->curve) < 0) {
        snprintf (error, error_size, "cannot connect %s or bind %s: %s", args->upstream,
                  args->endpoint, zmq_strerror (zmq_errno ()));
        s_self_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->upstream, self->watchers, NULL);
    zpoller_set_nonstop (self->poller, true);
    return self;
}

void
forwarder_actor (zsock_t *pipe, void *args)
{
    char error [512] = "";
    self_t *self = s_self_new (pipe, (const forwarder_args_t *) args, error, sizeof (error));
    sq_actor_report (pipe, self ? NULL : error);
    while (self && !self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, -1);
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->upstream)
            s_handle_upstream (self);
        else
        if (which == self->watchers)
            s_handle_watchers (self);
    }
    s_self_destroy (&self);
}
