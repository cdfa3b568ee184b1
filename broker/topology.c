/*  topology.c: see topology.h. */
#include "topology.h"
#include "sq_actor.h"
#include "dispatcher.h"
#include "pinger.h"
#include "collector.h"
#include "notifier.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

struct _topology_t {
    topology_endpoints_t endpoints; //  where everything meets
    zactor_t *collector;        //  binds results and feed
    zactor_t *dispatcher;       //  binds jobs and recheck
    zactor_t *notifier;         //  subscribes to the feed
    zactor_t **pingers;         //  pinger threads
    unsigned pinger_count;      //  entries in pingers
};

int
topology_endpoints (topology_endpoints_t *endpoints, const topology_args_t *args,
                    char *error, size_t error_size)
{
    static atomic_uint instance = 0;
    const char *transport = args->transport ? args->transport : "inproc";
    memset (endpoints, 0, sizeof (*endpoints));
    if (streq (transport, "inproc")) {
        //  Unique per topology, so tests may run several in one process.
        unsigned id = atomic_fetch_add (&instance, 1);
        snprintf (endpoints->jobs, TOPOLOGY_ENDPOINT_MAX, "inproc://sq-%d-%u-jobs", getpid (), id);
        snprintf (endpoints->results, TOPOLOGY_ENDPOINT_MAX, "inproc://sq-%d-%u-results", getpid (), id);
        snprintf (endpoints->recheck, TOPOLOGY_ENDPOINT_MAX, "inproc://sq-%d-%u-recheck", getpid (), id);
        snprintf (endpoints->feed, TOPOLOGY_ENDPOINT_MAX, "inproc://sq-%d-%u-feed", getpid (), id);
    }
    else
    if (streq (transport, "ipc")) {
        const char *dir = args->runtime_dir ? args->runtime_dir : ".";
        if (strlen (dir) > TOPOLOGY_ENDPOINT_MAX - 32) {
            snprintf (error, error_size, "runtime folder name too long: %s", dir);
            return -1;
        }
        snprintf (endpoints->jobs, TOPOLOGY_ENDPOINT_MAX, "ipc://%s/jobs.sock", dir);
        snprintf (endpoints->results, TOPOLOGY_ENDPOINT_MAX, "ipc://%s/results.sock", dir);
        snprintf (endpoints->recheck, TOPOLOGY_ENDPOINT_MAX, "ipc://%s/recheck.sock", dir);
        snprintf (endpoints->feed, TOPOLOGY_ENDPOINT_MAX, "ipc://%s/feed.sock", dir);
    }
    else {
        snprintf (error, error_size, "transport '%s' is not supported here: use inproc or ipc "
                  "(tcp needs CURVE and arrives with multi-host pingers)", transport);
        return -1;
    }
    if (args->feed) {
        if (strlen (args->feed) >= TOPOLOGY_ENDPOINT_MAX) {
            snprintf (error, error_size, "feed endpoint too long");
            return -1;
        }
        snprintf (endpoints->feed, TOPOLOGY_ENDPOINT_MAX, "%s", args->feed);
    }
    return 0;
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
    //  Binders first, so that connecting actors find their peers.
    dispatcher_args_t dispatcher = { endpoints->jobs, endpoints->recheck };
    collector_args_t collector = { endpoints->results, endpoints->feed, endpoints->recheck };
    notifier_args_t notifier = { endpoints->feed };
    self->dispatcher = sq_actor_start (dispatcher_actor, &dispatcher, "dispatcher");
    if (self->dispatcher)
        self->collector = sq_actor_start (collector_actor, &collector, "collector");
    if (self->collector)
        self->notifier = sq_actor_start (notifier_actor, &notifier, "notifier");
    self->pinger_count = args->pingers ? args->pingers : 1;
    self->pingers = (zactor_t **) calloc (self->pinger_count, sizeof (zactor_t *));
    assert (self->pingers);
    for (unsigned index = 0; self->notifier && index < self->pinger_count; index++) {
        char host [32] = "";
        gethostname (host, sizeof (host) - 1);
        char pinger_id [64];
        snprintf (pinger_id, sizeof (pinger_id), "%s-%d-%u", host, getpid (), index);
        pinger_args_t pinger = {
            .jobs = endpoints->jobs, .results = endpoints->results, .pinger_id = pinger_id,
            .region = args->region ? args->region : "", .concurrency = args->concurrency,
            .ca_file = args->ca_file,
        };
        self->pingers [index] = sq_actor_start (pinger_actor, &pinger, "pinger");
        if (!self->pingers [index]) {
            topology_destroy (&self);
            return NULL;
        }
    }
    if (!self->notifier) {
        topology_destroy (&self);
        return NULL;
    }
    return self;
}

void
topology_destroy (topology_t **self_p)
{
    topology_t *self = *self_p;
    if (!self)
        return;
    //  Producers first: pingers flush their results (linger) into the
    //  collector, which is still running to take them.
    for (unsigned index = 0; self->pingers && index < self->pinger_count; index++)
        zactor_destroy (&self->pingers [index]);
    zactor_destroy (&self->dispatcher);
    zactor_destroy (&self->collector);
    zactor_destroy (&self->notifier);
    free (self->pingers);
    free (self);
    *self_p = NULL;
}

const topology_endpoints_t *
topology_endpoints_of (topology_t *self)
{
    return &self->endpoints;
}

char *
topology_stats (topology_t *self)
{
    struct { const char *name; zactor_t *actor; } actors [] = {
        { "dispatcher", self->dispatcher }, { "collector", self->collector },
        { "notifier", self->notifier },
    };
    char *text = strdup ("");
    for (size_t index = 0; index < sizeof (actors) / sizeof (actors [0]) + self->pinger_count; index++) {
        bool is_pinger = index >= 3;
        zactor_t *actor = is_pinger ? self->pingers [index - 3] : actors [index].actor;
        char *stats = sq_actor_stats (actor);
        char *joined = zsys_sprintf ("%s%s: %s\n", text, is_pinger ? "pinger" : actors [index].name,
                                     stats ? stats : "(no answer)");
        zstr_free (&stats);
        free (text);
        text = joined;
    }
    return text;
}
