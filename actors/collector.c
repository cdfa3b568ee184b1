/*  collector.c: see collector.h. */
#include "collector.h"
#include "sq_actor.h"
#include "sq_wire.h"

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *results;           //  PULL from the pingers
    zsock_t *feed;              //  PUB, the alert feed
    zsock_t *recheck;           //  PUSH to the dispatcher
    zpoller_t *poller;          //  pipe, results
    bool terminated;            //  $TERM received
    uint64_t results_taken;     //  RESULTs decoded
    uint64_t malformed;         //  frames refused
} self_t;

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->results);
    zsock_destroy (&self->feed);
    zsock_destroy (&self->recheck);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const collector_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->results = zsock_new (ZMQ_PULL);
    self->feed = zsock_new (ZMQ_PUB);
    self->recheck = zsock_new (ZMQ_PUSH);
    assert (self->results && self->feed && self->recheck);
    zsock_set_rcvhwm (self->results, 0);
    zsock_set_linger (self->feed, 2000);
    zsock_set_linger (self->recheck, 1000);
    if (zsock_bind (self->results, "%s", args->results) < 0
    ||  zsock_bind (self->feed, "%s", args->feed) < 0
    ||  zsock_connect (self->recheck, "%s", args->recheck) < 0) {
        snprintf (error, error_size, "cannot bind %s or %s, or connect %s: %s", args->results,
                  args->feed, args->recheck, zmq_strerror (zmq_errno ()));
        s_self_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->results, NULL);
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
        zstr_sendf (self->pipe, "results=%llu malformed=%llu",
                    (unsigned long long) self->results_taken,
                    (unsigned long long) self->malformed);
    else
        zsys_warning ("collector: unknown pipe command '%s'", command);
    zstr_free (&command);
}

static void
s_handle_results (self_t *self)
{
    sq_msg_t msg;
    char why [128] = "";
    int rc = sq_wire_recv (self->results, NULL, NULL, &msg, why, sizeof (why));
    if (rc == SQ_WIRE_INTERRUPTED)
        return;
    if (rc != SQ_PROTO_OK || msg.type != SQ_MSG_RESULT) {
        self->malformed++;
        zsys_warning ("collector: dropped a frame from a pinger: %s",
                      rc == SQ_PROTO_OK ? "not a RESULT" : why);
        return;
    }
    self->results_taken++;
}

void
collector_actor (zsock_t *pipe, void *args)
{
    char error [256] = "";
    self_t *self = s_self_new (pipe, (const collector_args_t *) args, error, sizeof (error));
    sq_actor_report (pipe, self ? NULL : error);
    while (self && !self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, -1);
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->results)
            s_handle_results (self);
    }
    s_self_destroy (&self);
}
