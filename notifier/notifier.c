/*  notifier.c: see notifier.h. */
#include "notifier.h"
#include "sq_actor.h"
#include "sq_wire.h"

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *feed;              //  SUB to the alert feed
    zpoller_t *poller;          //  pipe, feed
    bool terminated;            //  $TERM received
    uint64_t alerts;            //  ALERTs taken
    uint64_t malformed;         //  frames refused
} self_t;

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->feed);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const notifier_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->feed = zsock_new (ZMQ_SUB);
    assert (self->feed);
    zsock_set_subscribe (self->feed, "");
    zsock_set_rcvhwm (self->feed, 0);
    if (zsock_connect (self->feed, "%s", args->feed) < 0) {
        snprintf (error, error_size, "cannot connect %s", args->feed);
        s_self_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->feed, NULL);
    zpoller_set_nonstop (self->poller, true);
    return self;
}

static void
s_handle_pipe (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "STATS"))
        zstr_sendf (self->pipe, "alerts=%llu malformed=%llu",
                    (unsigned long long) self->alerts, (unsigned long long) self->malformed);
    else
        zsys_warning ("notifier: unknown pipe command '%s'", command);
    zstr_free (&command);
}

static void
s_handle_feed (self_t *self)
{
    char topic [SQ_URL_MAX + 32];
    size_t topic_size = sizeof (topic) - 1;
    sq_msg_t msg;
    char why [128] = "";
    int rc = sq_wire_recv (self->feed, topic, &topic_size, &msg, why, sizeof (why));
    if (rc == SQ_WIRE_INTERRUPTED)
        return;
    if (rc != SQ_PROTO_OK || msg.type != SQ_MSG_ALERT) {
        self->malformed++;
        zsys_warning ("notifier: dropped a frame from the feed: %s",
                      rc == SQ_PROTO_OK ? "not an ALERT" : why);
        return;
    }
    self->alerts++;
    zsys_info ("notifier: %s is %s (was %s): %s", msg.alert.url,
               sq_state_name ((sq_state_t) msg.alert.state),
               sq_state_name ((sq_state_t) msg.alert.previous),
               sq_reason_name ((sq_reason_t) msg.alert.reason));
}

void
notifier_actor (zsock_t *pipe, void *args)
{
    char error [256] = "";
    self_t *self = s_self_new (pipe, (const notifier_args_t *) args, error, sizeof (error));
    sq_actor_report (pipe, self ? NULL : error);
    while (self && !self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, -1);
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->feed)
            s_handle_feed (self);
    }
    s_self_destroy (&self);
}
