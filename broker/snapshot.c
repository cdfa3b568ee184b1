/*  snapshot.c: see snapshot.h. */
#include "snapshot.h"
#include "sq_wire.h"
#include "sq_metrics.h"
#include "store.h"

#include <string.h>

#define S_IDENTITY_MAX  256     //  a ROUTER identity: 5 bytes unless a peer names itself

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *router;            //  ROUTER: FETCH in, ALERTs and FETCHED out
    zpoller_t *poller;          //  pipe, router
    store_t *store;             //  our own reader connection
    sq_msg_t *reply;            //  SQ_FETCH_REPLY_MAX + 1 ALERTs, read before sending
    size_t reply_count;         //  entries of reply in use
    bool terminated;            //  $TERM received
    uint64_t counters [SNAPSHOT_COUNTER_COUNT];     //  reported on STATS
} self_t;

static const char *const s_counter_names [] = { SNAPSHOT_COUNTERS (SQ_COUNTER_STRING) };

static void
s_collect (const sq_alert_t *alert, void *arg)
{
    self_t *self = (self_t *) arg;
    if (self->reply_count <= SQ_FETCH_REPLY_MAX) {
        sq_msg_t *msg = &self->reply [self->reply_count++];
        msg->type = SQ_MSG_ALERT;
        msg->alert = *alert;
    }
}

static void
s_handle_fetch (self_t *self, const uint8_t *identity, size_t identity_size,
                const sq_fetch_t *fetch)
{
    //  One more than we send, to know whether more are stored.
    self->reply_count = 0;
    if (store_alerts (self->store, fetch->since, fetch->until, SQ_FETCH_REPLY_MAX + 1,
                      s_collect, self) < 0) {
        self->counters [SNAPSHOT_failed]++;
        return;
    }
    bool more = self->reply_count > SQ_FETCH_REPLY_MAX;
    size_t count = more ? SQ_FETCH_REPLY_MAX : self->reply_count;
    sq_msg_t end = { .type = SQ_MSG_FETCHED };
    end.fetched.last = fetch->since;
    for (size_t index = 0; index < count; index++) {
        if (sq_wire_send (self->router, identity, identity_size, &self->reply [index]))
            return;     //  the watcher is gone: it will ask again
        end.fetched.last = self->reply [index].alert.seq;
        self->counters [SNAPSHOT_alerts]++;
    }
    end.fetched.more = more;
    if (sq_wire_send (self->router, identity, identity_size, &end) == 0)
        self->counters [SNAPSHOT_requests]++;
}

static void
s_handle_router (self_t *self)
{
    //  Bounded, so the pipe is never starved.
    for (int round = 0; round < 64 && (zsock_events (self->router) & ZMQ_POLLIN); round++) {
        uint8_t identity [S_IDENTITY_MAX];
        size_t identity_size = sizeof (identity);
        sq_msg_t msg;
        int rc = sq_wire_recv_expect (self->router, identity, &identity_size, &msg,
                                      SQ_WIRE_TYPE (SQ_MSG_FETCH),
                                      "snapshot: dropped a frame from a watcher",
                                      &self->counters [SNAPSHOT_malformed]);
        sq_metrics_refusal (rc, SQ_ACTOR_SNAPSHOT);
        if (rc == SQ_WIRE_INTERRUPTED)
            return;
        if (rc == SQ_PROTO_OK)
            s_handle_fetch (self, identity, identity_size, &msg.fetch);
    }
}

static void
s_handle_pipe (self_t *self)
{
    char *command = sq_actor_recv_command (self->pipe, NULL);
    if (streq (command, SQ_CMD_TERM))
        self->terminated = true;
    else
    if (streq (command, SQ_CMD_STATS)) {
        sq_actor_send_counters (self->pipe, s_counter_names, self->counters, SNAPSHOT_COUNTER_COUNT);
    }
    else
        zsys_warning ("snapshot: unknown pipe command '%s'", command);
    zstr_free (&command);
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->router);
    store_close (&self->store);
    free (self->reply);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const snapshot_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->reply = (sq_msg_t *) calloc (SQ_FETCH_REPLY_MAX + 1, sizeof (sq_msg_t));
    assert (self->reply);
    self->store = store_open (args->data_dir, error, error_size);
    if (!self->store) {
        s_self_destroy (&self);
        return NULL;
    }
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    if (sq_actor_bind (self->router, args->endpoint) < 0
    ||  (args->remote && sq_actor_bind_remote (self->router, args->remote, &args->curve) < 0)) {
        snprintf (error, error_size, "cannot bind %s%s%s: %s", args->endpoint,
                  args->remote ? " or " : "", args->remote ? args->remote : "",
                  zmq_strerror (zmq_errno ()));
        s_self_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->router, NULL);
    zpoller_set_nonstop (self->poller, true);
    return self;
}

void
snapshot_actor (zsock_t *pipe, void *args)
{
    char error [512] = "";
    self_t *self = s_self_new (pipe, (const snapshot_args_t *) args, error, sizeof (error));
    sq_actor_report (pipe, self ? NULL : error);
    while (self && !self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, -1);
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->router)
            s_handle_router (self);
    }
    s_self_destroy (&self);
}
