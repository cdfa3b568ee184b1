/*  topology.h: wires the actors together and owns their lifetimes.

    The actors only ever see endpoint strings; this module is the one place
    that chooses them.  inproc:// runs every actor as a thread of this
    process (local use and tests), ipc:// puts the sockets in a runtime
    folder.  Remote pinger nodes reach the hub over tcp:// only when
    `listen` is given, and only with CURVE (the caller runs the
    authenticator, broker/sq_keys.h); the links between the hub's own
    actors stay inproc or ipc.

    Actors: dispatcher, pingers, collector, notifier, and, when a data
    folder is given, the store writer.
*/
#ifndef TOPOLOGY_H_INCLUDED
#define TOPOLOGY_H_INCLUDED

#include <czmq.h>
#include "sq_actor.h"
#include "notifier.h"

#define TOPOLOGY_ENDPOINT_MAX 256

//  The endpoints of one topology.
typedef struct {
    char jobs [TOPOLOGY_ENDPOINT_MAX];      //  dispatcher ROUTER <- pinger DEALERs
    char results [TOPOLOGY_ENDPOINT_MAX];   //  collector PULL <- pinger PUSHes
    char done [TOPOLOGY_ENDPOINT_MAX];      //  dispatcher PULL <- collector PUSH
    char feed [TOPOLOGY_ENDPOINT_MAX];      //  collector PUB -> notifier, watchers
    char store [TOPOLOGY_ENDPOINT_MAX];     //  store PULL <- collector PUSH
    char snapshot [TOPOLOGY_ENDPOINT_MAX];  //  snapshot ROUTER <- watchers: the feed + ".snapshot"
    char jobs_remote [TOPOLOGY_ENDPOINT_MAX];   //  tcp:// for remote pingers, or ""
    char results_remote [TOPOLOGY_ENDPOINT_MAX];//  tcp:// for their results, or ""
    char feed_remote [TOPOLOGY_ENDPOINT_MAX];   //  tcp:// forwarder XPUB for remote watchers, or ""
    char snapshot_remote [TOPOLOGY_ENDPOINT_MAX];// tcp:// snapshot ROUTER for them, or ""
} topology_endpoints_t;

typedef struct {
    const char *transport;      //  "inproc" (default) or "ipc"
    const char *runtime_dir;    //  folder for ipc:// sockets
    const char *feed;           //  feed endpoint to bind, NULL = derived
    unsigned pingers;           //  pinger threads; 0 = one per core, at most 8
    unsigned concurrency;       //  live checks per pinger; 0 = default
    const char *region;         //  region the local pingers report
    const char *ca_file;        //  extra CA bundle for checks, or NULL
    const char *data_dir;       //  store folder; NULL = no store
    uint64_t retention_results_ms;  //  the store's raw results window; 0 = its default
    uint64_t retention_rollups_ms;  //  its hourly rollups' window; 0 = its default
    const char *notify_url;     //  webhook told of every alert, or NULL
    bool once;                  //  sweep: each site checked to a verdict, once
    const char *listen;         //  tcp://HOST:PORT for remote pingers, or NULL
    const char *keys_dir;       //  the hub's keys and allowed/, required with listen
    bool remote_only;           //  no local pinger threads (workers.pingers 0)
    const char *part;           //  NULL: every actor, in this process; or one part
                                //  of it, for workers.mode processes:
                                //  "collector" (with the store, the feed's
                                //  helpers and, with listen, the authenticator),
                                //  "notifier", "dispatcher" (with the
                                //  authenticator, with listen), "pingers"
    unsigned heartbeat_ms;      //  pinger heartbeat; silence for 3.5 of them = gone;
                                //  0 = SQ_HEARTBEAT_MS
    const notifier_settings_t *notify;  //  smtp and delivery settings, or NULL: defaults
} topology_args_t;

//  The endpoints a hub listening on tcp://HOST:PORT uses, and a pinger
//  node connecting to it: jobs on PORT, results on PORT + 1.  The user
//  names one address; the others follow.  0, or -1 with a message.
int topology_remote_endpoints (const char *listen, char *jobs, char *results,
                               char *error, size_t error_size);

//  The same for watchers (`squirrel watch tcp://HUB:PORT`): the feed's
//  forwarder on PORT + 2, the snapshot service on PORT + 3.  A hub with
//  `listen` binds all four, so its PORT goes up to 65532.  0, or -1.
int topology_remote_feed_endpoints (const char *listen, char *feed, char *snapshot,
                                    char *error, size_t error_size);

//  The snapshot service's local endpoint for a local feed endpoint: the
//  feed's own name + ".snapshot" (ipc:///var/lib/squirrel/feed ->
//  ipc:///var/lib/squirrel/feed.snapshot).  0, or -1 when too long.
int topology_snapshot_endpoint (const char *feed, char *snapshot, char *error, size_t error_size);

typedef struct _topology_t topology_t;

//  Fill endpoints for a transport.  0, or -1 with a message in error.
int topology_endpoints (topology_endpoints_t *endpoints, const topology_args_t *args,
                        char *error, size_t error_size);

//  The local pingers args asks for: none when remote_only, else pingers,
//  else one per core (at most 8): each is one event loop.
unsigned topology_pinger_count (const topology_args_t *args);

//  Log title, then each line of stats (topology_stats) as a line of its
//  own.
void topology_log_counters (const char *title, const char *stats);

//  The mark the topology's dispatcher puts on job job_id of site_id (for
//  tests that play a pinger).
uint64_t topology_job_token (topology_t *self, uint64_t job_id, uint64_t site_id);

//  Start every actor.  With listen, also the hub's keys (created on the
//  first start, see sq_keys.h) and the authenticator that lets in only
//  the pingers and watchers whose public key is in keys_dir/allowed, and
//  the feed's forwarder (broker/forwarder.h).  With a data folder, the
//  snapshot service (broker/snapshot.h), local and, with listen, remote.
//  NULL (with the reason logged) if anything failed.
topology_t *topology_new (const topology_args_t *args);

//  Stop every actor, producers first, so that nothing in flight is lost.
void topology_destroy (topology_t **self_p);

//  Hand a site list, a batch of SITE frames (see sq_actor.h), to every
//  actor that needs it.  batch stays the caller's: each actor takes a copy
//  before this returns.  The same path serves the first load and a reload.
int topology_set_sites (topology_t *self, zmsg_t *batch);

//  Hand the owners, a batch of OWNER frames, to the notifier (if this
//  topology has one).  Before the sites: a site names its owner.  0, or -1.
int topology_set_owners (topology_t *self, zmsg_t *batch);

//  The endpoints in use (borrowed).
const topology_endpoints_t *topology_endpoints_of (topology_t *self);

//  The collector actor, whose pipe carries VERDICTs in once mode (borrowed).
zactor_t *topology_collector (topology_t *self);

//  Wait until at least count pingers (local or remote) have joined the
//  dispatcher, or timeout_ms passes, or *stop (when not NULL) turns true.
//  Returns the live pingers at the end (0 when stopped), or -1 if the
//  dispatcher did not answer.
int topology_wait_pingers (topology_t *self, unsigned count, int timeout_ms,
                           const volatile int *stop);

//  Wait until the notifier has handled every alert published so far and
//  finished their deliveries.  0, or -1 on timeout.
int topology_drain_notifications (topology_t *self, int timeout_ms);

//  Ask the store writer to commit what it holds.  0, or -1 (no store, or
//  no answer).
int topology_flush_store (topology_t *self);

//  Counters of every actor, one line each, "actor: name=value ...".
//  Caller frees.
char *topology_stats (topology_t *self);

#endif
