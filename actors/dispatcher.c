/*  dispatcher.c: see dispatcher.h. */
#include "dispatcher.h"
#include "sq_actor.h"
#include "sq_wire.h"

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *jobs;              //  ROUTER to the pingers
    zsock_t *recheck;           //  PULL from the collector
    zpoller_t *poller;          //  pipe, jobs, recheck
    zhashx_t *credit;           //  pinger id -> free slots (uintptr_t)
    bool terminated;            //  $TERM received
    uint64_t malformed;         //  frames refused
    uint64_t heartbeats;        //  READY and HEARTBEAT taken
} self_t;

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy (&self->poller);
    zhashx_destroy (&self->credit);
    zsock_destroy (&self->jobs);
    zsock_destroy (&self->recheck);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const dispatcher_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->jobs = zsock_new (ZMQ_ROUTER);
    self->recheck = zsock_new (ZMQ_PULL);
    self->credit = zhashx_new ();
    assert (self->jobs && self->recheck && self->credit);
    //  An unroutable CHECK must fail loudly, not vanish; a pinger that
    //  reconnects under the same id takes over its old route.
    zsock_set_router_mandatory (self->jobs, 1);
    zsock_set_router_handover (self->jobs, 1);
    zsock_set_sndhwm (self->jobs, 0);
    if (zsock_bind (self->jobs, "%s", args->jobs) < 0
    ||  zsock_bind (self->recheck, "%s", args->recheck) < 0) {
        snprintf (error, error_size, "cannot bind %s or %s: %s", args->jobs, args->recheck,
                  zmq_strerror (zmq_errno ()));
        s_self_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->jobs, self->recheck, NULL);
    zpoller_set_nonstop (self->poller, true);    //  the supervisor handles signals
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
        zstr_sendf (self->pipe, "pingers=%zu heartbeats=%llu malformed=%llu",
                    zhashx_size (self->credit), (unsigned long long) self->heartbeats,
                    (unsigned long long) self->malformed);
    else
        zsys_warning ("dispatcher: unknown pipe command '%s'", command);
    zstr_free (&command);
}

static void
s_handle_jobs (self_t *self)
{
    char identity [256];
    size_t identity_size = sizeof (identity) - 1;
    sq_msg_t msg;
    char why [128] = "";
    int rc = sq_wire_recv (self->jobs, identity, &identity_size, &msg, why, sizeof (why));
    if (rc == SQ_WIRE_INTERRUPTED)
        return;
    if (rc != SQ_PROTO_OK || (msg.type != SQ_MSG_READY && msg.type != SQ_MSG_HEARTBEAT)) {
        self->malformed++;
        zsys_warning ("dispatcher: dropped a frame from a pinger: %s",
                      rc == SQ_PROTO_OK ? "unexpected message type" : why);
        return;
    }
    identity [identity_size] = '\0';
    uintptr_t slots = (uintptr_t) zhashx_lookup (self->credit, identity);
    if (msg.type == SQ_MSG_READY)
        slots += msg.ready.free_slots;
    else
        slots = msg.heartbeat.free_slots;
    zhashx_update (self->credit, identity, (void *) slots);
    self->heartbeats++;
}

static void
s_handle_recheck (self_t *self)
{
    //  No recheck message exists in the contract yet (issue 4): whatever
    //  arrives here is read, counted and dropped.
    zmsg_t *frames = zmsg_recv (self->recheck);
    zmsg_destroy (&frames);
    self->malformed++;
}

void
dispatcher_actor (zsock_t *pipe, void *args)
{
    char error [256] = "";
    self_t *self = s_self_new (pipe, (const dispatcher_args_t *) args, error, sizeof (error));
    sq_actor_report (pipe, self ? NULL : error);
    while (self && !self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, -1);
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->jobs)
            s_handle_jobs (self);
        else
        if (which == self->recheck)
            s_handle_recheck (self);
        else
        if (zpoller_terminated (self->poller))
            break;
    }
    s_self_destroy (&self);
}
