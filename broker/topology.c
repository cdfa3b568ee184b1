/*  topology.c: see topology.h. */
#include "topology.h"
#include "sq_actor.h"
#include "dispatcher.h"
#include "pinger.h"
#include "collector.h"
#include "notifier.h"
#include "store.h"
#include "sq_keys.h"
#include "forwarder.h"
#include "snapshot.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

struct _topology_t {
    topology_endpoints_t endpoints; //  where everything meets
    zactor_t *store;            //  store writer, or NULL
    zactor_t *collector;        //  binds results and feed
    zactor_t *notifier;         //  subscribes to the feed
    zactor_t *dispatcher;       //  binds jobs and done
    zactor_t **pingers;         //  pinger threads
    unsigned pinger_count;      //  entries in pingers
    sq_job_key_t job_key;       //  marks the jobs (dispatcher and collector)
    zcert_t *hub;               //  the hub's key pair, with listen
    zactor_t *auth;             //  the authenticator, with listen
    zactor_t *snapshot;         //  answers FETCH from the store, with a data folder
    zactor_t *forwarder;        //  the feed for remote watchers, with listen
};

int
topology_endpoints (topology_endpoints_t *endpoints, const topology_args_t *args,
                    char *error, size_t error_size)
{
    static atomic_uint instance = 0;
    const char *transport = args->transport ? args->transport : "inproc";
    const char *names [] = { "jobs", "results", "done", "feed", "store" };
    char *slots [] = { endpoints->jobs, endpoints->results, endpoints->done, endpoints->feed,
                       endpoints->store };
    memset (endpoints, 0, sizeof (*endpoints));
    if (streq (transport, "inproc")) {
        //  Unique per topology, so tests may run several in one process.
        unsigned id = atomic_fetch_add (&instance, 1);
        for (size_t index = 0; index < 5; index++)
            snprintf (slots [index], TOPOLOGY_ENDPOINT_MAX, "inproc://sq-%d-%u-%s",
                      getpid (), id, names [index]);
    }
    else
    if (streq (transport, "ipc")) {
        const char *dir = args->runtime_dir ? args->runtime_dir : ".";
        if (strlen (dir) > TOPOLOGY_ENDPOINT_MAX - 32) {
            snprintf (error, error_size, "runtime folder name too long: %s", dir);
            return -1;
        }
        for (size_t index = 0; index < 5; index++)
            snprintf (slots [index], TOPOLOGY_ENDPOINT_MAX, "ipc://%s/%s.sock", dir, names [index]);
    }
    else {
        snprintf (error, error_size, "transport '%s' is not supported here: use inproc or ipc "
                  "(tcp links are made with listen:, always with CURVE)", transport);
        return -1;
    }
    //  The store writer always lives beside the collector, in this process:
    //  over inproc a message sent is a message queued, which is what lets a
    //  clean stop hand everything over.
    if (!streq (transport, "inproc")) {
        unsigned id = atomic_fetch_add (&instance, 1);
        snprintf (endpoints->store, TOPOLOGY_ENDPOINT_MAX, "inproc://sq-%d-%u-store", getpid (), id);
    }
    if (args->listen) {
        if (!args->keys_dir) {
            snprintf (error, error_size, "listen %s: tcp needs the hub's CURVE keys", args->listen);
            return -1;
        }
        if (topology_remote_endpoints (args->listen, endpoints->jobs_remote,
                                       endpoints->results_remote, error, error_size)
        ||  topology_remote_feed_endpoints (args->listen, endpoints->feed_remote,
                                            endpoints->snapshot_remote, error, error_size))
            return -1;
    }
    if (args->feed) {
        if (strlen (args->feed) >= TOPOLOGY_ENDPOINT_MAX) {
            snprintf (error, error_size, "feed endpoint too long");
            return -1;
        }
        //  The feed binds without CURVE: only transports that stay on this
        //  host.  Watchers elsewhere come through the forwarder (listen).
        if (strncmp (args->feed, "ipc://", 6) != 0 && strncmp (args->feed, "inproc://", 9) != 0) {
            snprintf (error, error_size, "feed %s: only ipc:// or inproc:// (watchers on other "
                      "hosts connect through listen:, with CURVE)", args->feed);
            return -1;
        }
        snprintf (endpoints->feed, TOPOLOGY_ENDPOINT_MAX, "%s", args->feed);
    }
    return topology_snapshot_endpoint (endpoints->feed, endpoints->snapshot, error, error_size);
}

//  tcp://HOST:PORT -> tcp://HOST:PORT+first and tcp://HOST:PORT+first+1,
//  PORT from 1 to 65535 - first - 1.  HOST a name, an IPv4 address or [IPv6].
static int
s_remote_pair (const char *listen, long first, char *one, char *two,
               char *error, size_t error_size)
{
    long top = 65535 - first - 1;
    const char *colon = listen ? strrchr (listen, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol (colon + 1, &end, 10) : 0;
    if (!listen || strncmp (listen, "tcp://", 6) != 0 || colon <= listen + 6
    ||  !end || *end || colon [1] == '\0' || port < 1 || port > top
    ||  strlen (listen) > TOPOLOGY_ENDPOINT_MAX - 8) {
        snprintf (error, error_size, "'%s' is not tcp://HOST:PORT with a port from 1 to %ld",
                  listen ? listen : "", top);
        return -1;
    }
    int host_length = (int) (colon - listen);
    snprintf (one, TOPOLOGY_ENDPOINT_MAX, "%.*s:%ld", host_length, listen, port + first);
    snprintf (two, TOPOLOGY_ENDPOINT_MAX, "%.*s:%ld", host_length, listen, port + first + 1);
    return 0;
}

int
topology_remote_endpoints (const char *listen, char *jobs, char *results,
                           char *error, size_t error_size)
{
    return s_remote_pair (listen, 0, jobs, results, error, error_size);
}

int
topology_remote_feed_endpoints (const char *listen, char *feed, char *snapshot,
                                char *error, size_t error_size)
{
    return s_remote_pair (listen, 2, feed, snapshot, error, error_size);
}

int
topology_snapshot_endpoint (const char *feed, char *snapshot, char *error, size_t error_size)
{
    if (snprintf (snapshot, TOPOLOGY_ENDPOINT_MAX, "%s.snapshot", feed) >= TOPOLOGY_ENDPOINT_MAX) {
        snprintf (error, error_size, "feed endpoint too long for its snapshot endpoint: %s", feed);
        return -1;
    }
    return 0;
}

unsigned
topology_pinger_count (const topology_args_t *args)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    return args->remote_only ? 0 : args->pingers ? args->pingers
         : (unsigned) (cores < 1 ? 1 : cores > 8 ? 8 : cores);
}

topology_t *
topology_new (const topology_args_t *args)
{
    topology_t *self = (topology_t *) calloc (1, sizeof (topology_t));
    assert (self);
    char error [256];
    if (topology_endpoints (&self->endpoints, args, error, sizeof (error))) {
        zsys_error ("topology: %s", error);
        free (self);
        return NULL;
    }
    topology_endpoints_t *endpoints = &self->endpoints;
    //  One part of the topology, or all of it (see topology.h).
    const char *part = args->part;
    bool with_collector = !part || streq (part, "collector");
    bool with_notifier = !part || streq (part, "notifier");
    bool with_dispatcher = !part || streq (part, "dispatcher");
    bool with_pingers = !part || streq (part, "pingers");
    self->pinger_count = with_pingers ? topology_pinger_count (args) : 0;
    //  Our descriptors bound how many checks can run at once (a check
    //  that cannot open a socket is our fault, never the site's).
    char why [256];
    unsigned concurrency = pinger_fit_concurrency ((unsigned) self->pinger_count,
                                                   args->concurrency, why, sizeof (why));
    if (*why)
        zsys_warning ("topology: %s", why);
    self->pingers = (zactor_t **) calloc (self->pinger_count + 1, sizeof (zactor_t *));
    assert (self->pingers);

    //  The keys and the authenticator before any CURVE server binds.
    bool ok = true;
    sq_curve_t curve = { NULL, NULL, NULL };
    if (args->listen && (with_collector || with_dispatcher)) {
        self->hub = sq_keys_hub (args->keys_dir, error, sizeof (error));
        char *allowed = zsys_sprintf ("%s/%s", args->keys_dir, SQ_KEYS_ALLOWED_NAME);
        sq_auth_args_t auth = { .allowed_dir = allowed };
        if (!self->hub)
            zsys_error ("topology: %s", error);
        ok = self->hub && (self->auth = sq_actor_start (sq_auth_actor, &auth, "auth")) != NULL;
        zstr_free (&allowed);
        if (ok) {
            curve.public_key = zcert_public_txt (self->hub);
            curve.secret_key = zcert_secret_txt (self->hub);
        }
    }
    unsigned heartbeat_ms = args->heartbeat_ms ? args->heartbeat_ms : SQ_HEARTBEAT_MS;
    //  The key that marks jobs: the dispatcher and the collector must hold
    //  the same one, so with a data_dir (each may be its own process) it
    //  is the one kept there; otherwise (a sweep) a fresh one.
    if (ok && (with_collector || with_dispatcher)) {
        if (args->data_dir)
            ok = sq_job_key_load (args->data_dir, &self->job_key, error, sizeof (error)) == 0;
        else
            sq_job_key_random (&self->job_key);
        if (!ok)
            zsys_error ("topology: %s", error);
    }
    //  Consumers and binders first, so that nothing is sent to no one.
    if (ok && with_collector && args->data_dir) {
        store_args_t store = { .data_dir = args->data_dir, .endpoint = endpoints->store,
                               .retention_results_ms = args->retention_results_ms,
                               .retention_rollups_ms = args->retention_rollups_ms };
        ok = (self->store = sq_actor_start (store_actor, &store, "store")) != NULL;
    }
    if (ok && with_collector) {
        collector_args_t collector = {
            .results = endpoints->results, .feed = endpoints->feed, .done = endpoints->done,
            .results_remote = args->listen ? endpoints->results_remote : NULL,
            .curve = curve,
            .store = args->data_dir ? endpoints->store : NULL, .data_dir = args->data_dir,
            .report = args->once, .job_key = self->job_key,
        };
        ok = (self->collector = sq_actor_start (collector_actor, &collector, "collector")) != NULL;
    }
    //  The feed's helpers, once the feed is bound.
    if (ok && with_collector && args->data_dir) {
        snapshot_args_t snapshot = {
            .data_dir = args->data_dir, .endpoint = endpoints->snapshot,
            .remote = args->listen ? endpoints->snapshot_remote : NULL, .curve = curve,
        };
        ok = (self->snapshot = sq_actor_start (snapshot_actor, &snapshot, "snapshot")) != NULL;
    }
    if (ok && with_collector && args->listen) {
        forwarder_args_t forwarder = {
            .upstream = endpoints->feed, .endpoint = endpoints->feed_remote, .curve = curve,
        };
        ok = (self->forwarder = sq_actor_start (forwarder_actor, &forwarder, "forwarder")) != NULL;
    }
    if (ok && with_notifier) {
        notifier_args_t notifier = {
            .feed = endpoints->feed, .data_dir = args->data_dir, .notify_url = args->notify_url,
        };
        if (args->notify)
            notifier.settings = *args->notify;
        ok = (self->notifier = sq_actor_start (notifier_actor, &notifier, "notifier")) != NULL;
    }
    if (ok && with_dispatcher) {
        dispatcher_args_t dispatcher = {
            .jobs = endpoints->jobs, .done = endpoints->done, .once = args->once,
            .jobs_remote = args->listen ? endpoints->jobs_remote : NULL, .curve = curve,
            .pinger_silence_ms = heartbeat_ms * 7 / 2, .job_key = self->job_key,
        };
        ok = (self->dispatcher = sq_actor_start (dispatcher_actor, &dispatcher, "dispatcher")) != NULL;
    }
    char host [32] = "";
    gethostname (host, sizeof (host) - 1);
    for (unsigned index = 0; ok && index < self->pinger_count; index++) {
        char pinger_id [64];
        snprintf (pinger_id, sizeof (pinger_id), "%s-%d-%u", host, getpid (), index);
        pinger_args_t pinger = {
            .jobs = endpoints->jobs, .results = endpoints->results, .pinger_id = pinger_id,
            .region = args->region ? args->region : "", .concurrency = concurrency,
            .ca_file = args->ca_file, .heartbeat_ms = heartbeat_ms,
        };
        ok = (self->pingers [index] = sq_actor_start (pinger_actor, &pinger, "pinger")) != NULL;
    }
    if (!ok)
        topology_destroy (&self);
    return self;
}

void
topology_destroy (topology_t **self_p)
{
    topology_t *self = *self_p;
    if (!self)
        return;
    //  Producers first: pingers flush their results (linger) into the
    //  collector, the collector flushes into the store and the feed, and
    //  the store commits what it holds on $TERM.
    for (unsigned index = 0; self->pingers && index < self->pinger_count; index++)
        zactor_destroy (&self->pingers [index]);
    if (self->collector && zstr_send (self->collector, SQ_CMD_DRAIN) == 0)
        zsock_wait (self->collector);
    //  Alerts published up to now are delivered (or given up) before the
    //  notifier goes: bounded, so unreachable receivers cannot hold a stop.
    if (self->collector && self->notifier && topology_drain_notifications (self, SQ_NOTIFY_DRAIN_MS))
        zsys_warning ("topology: stopping with notifications still pending");
    zactor_destroy (&self->dispatcher);
    zactor_destroy (&self->collector);
    zactor_destroy (&self->notifier);
    zactor_destroy (&self->store);
    zactor_destroy (&self->forwarder);
    zactor_destroy (&self->snapshot);
    //  The authenticator outlives every CURVE server it answers for.
    zactor_destroy (&self->auth);
    zcert_destroy (&self->hub);
    free (self->pingers);
    free (self);
    *self_p = NULL;
}

int
topology_set_sites (topology_t *self, zmsg_t *batch)
{
    //  The dispatcher last: by the time a result can come back, the
    //  collector and notifier know the site.  Those two take the list at
    //  the same time (each decodes it on its own thread): a list of
    //  100,000 sites costs them seconds each.
    bool collector = self->collector
                  && sq_actor_send_batch (self->collector, SQ_CMD_SITES, batch) == 0;
    bool notifier = self->notifier
                 && sq_actor_send_batch (self->notifier, SQ_CMD_SITES, batch) == 0;
    int rc = (self->collector && !collector) || (self->notifier && !notifier) ? -1 : 0;
    //  Every list sent is waited for, or a late signal would answer the next.
    if (collector && zsock_wait (self->collector))
        rc = -1;
    if (notifier && zsock_wait (self->notifier))
        rc = -1;
    if (rc == 0 && self->dispatcher && sq_actor_set_sites (self->dispatcher, batch))
        rc = -1;
    return rc;
}

int
topology_set_owners (topology_t *self, zmsg_t *batch)
{
    return self->notifier ? sq_actor_set_batch (self->notifier, SQ_CMD_OWNERS, batch) : 0;
}

const topology_endpoints_t *
topology_endpoints_of (topology_t *self)
{
    return &self->endpoints;
}

zactor_t *
topology_collector (topology_t *self)
{
    return self->collector;
}

int
topology_drain_notifications (topology_t *self, int timeout_ms)
{
    char *stats = sq_actor_stats (self->collector);
    long long seq = stats ? sq_stats_value (stats, SQ_STAT (COLLECTOR, seq)) : -1;
    long long published = stats ? sq_stats_value (stats, SQ_STAT (COLLECTOR, alerts)) : -1;
    zstr_free (&stats);
    if (seq < 0 || published < 0)
        return -1;
    //  Seqs go on from the store's: a run that published nothing has
    //  nothing to wait for, though its seq is not 0.
    if (published == 0)
        return 0;
    return notifier_sync (self->notifier, (uint64_t) seq, timeout_ms);
}

int
topology_wait_pingers (topology_t *self, unsigned count, int timeout_ms,
                       const volatile int *stop)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (!stop || !*stop) {
        char *stats = sq_actor_stats (self->dispatcher);
        long long alive = stats ? sq_stats_value (stats, SQ_STAT (DISPATCHER, pingers)) : -1;
        zstr_free (&stats);
        if (alive < 0 || alive >= count || zclock_mono () >= deadline)
            return (int) alive;
        zclock_sleep (50);
    }
    return 0;
}

int
topology_flush_store (topology_t *self)
{
    if (!self->store || zstr_send (self->store, SQ_CMD_FLUSH))
        return -1;
    zsock_set_rcvtimeo (self->store, 30000);
    char *reply = zstr_recv (self->store);
    zsock_set_rcvtimeo (self->store, -1);
    int rc = reply && streq (reply, "OK") ? 0 : -1;
    zstr_free (&reply);
    return rc;
}

char *
topology_stats (topology_t *self)
{
    struct { const char *name; zactor_t *actor; } actors [] = {
        { "dispatcher", self->dispatcher }, { "collector", self->collector },
        { "notifier", self->notifier }, { "store", self->store }, { "auth", self->auth },
        { "forwarder", self->forwarder }, { "snapshot", self->snapshot },
    };
    size_t fixed = sizeof (actors) / sizeof (actors [0]);
    char *text = strdup ("");
    for (size_t index = 0; index < fixed + self->pinger_count; index++) {
        bool is_pinger = index >= fixed;
        zactor_t *actor = is_pinger ? self->pingers [index - fixed] : actors [index].actor;
        if (!actor)
            continue;
        char *stats = sq_actor_stats (actor);
        char *joined = zsys_sprintf ("%s%s: %s\n", text, is_pinger ? "pinger" : actors [index].name,
                                     stats ? stats : "(no answer)");
        zstr_free (&stats);
        free (text);
        text = joined;
    }
    return text;
}

uint64_t
topology_job_token (topology_t *self, uint64_t job_id, uint64_t site_id)
{
    return sq_job_token (&self->job_key, job_id, site_id);
}

void
topology_log_counters (const char *title, const char *stats)
{
    //  One log line per actor: the log cuts a line past its buffer, and
    //  the counters of every actor together outgrow it.
    zsys_info ("%s", title);
    const char *line = stats ? stats : "";
    while (*line) {
        const char *end = strchr (line, '\n');
        int length = end ? (int) (end - line) : (int) strlen (line);
        if (length)
            zsys_info ("%.*s", length, line);
        line += length + (end ? 1 : 0);
    }
}
