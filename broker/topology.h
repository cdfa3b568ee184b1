/*  topology.h: wires the four actors together and owns their lifetimes.

    The actors only ever see endpoint strings; this module is the one place
    that chooses them.  inproc:// runs every actor as a thread of this
    process (local use and tests), ipc:// lets actors run as processes on
    one host.  tcp:// (with CURVE on every link) arrives with the
    multi-host issue and is refused here until then.
*/
#ifndef TOPOLOGY_H_INCLUDED
#define TOPOLOGY_H_INCLUDED

#include <czmq.h>

#define TOPOLOGY_ENDPOINT_MAX 256

//  The endpoints of one topology.
typedef struct {
    char jobs [TOPOLOGY_ENDPOINT_MAX];      //  dispatcher ROUTER <- pinger DEALERs
    char results [TOPOLOGY_ENDPOINT_MAX];   //  collector PULL <- pinger PUSHes
    char recheck [TOPOLOGY_ENDPOINT_MAX];   //  dispatcher PULL <- collector PUSH
    char feed [TOPOLOGY_ENDPOINT_MAX];      //  collector PUB -> notifier, watchers
} topology_endpoints_t;

typedef struct {
    const char *transport;      //  "inproc" (default) or "ipc"
    const char *runtime_dir;    //  folder for ipc:// sockets
    const char *feed;           //  feed endpoint to bind, NULL = derived
    unsigned pingers;           //  pinger threads; 0 = 1
    unsigned concurrency;       //  live checks per pinger; 0 = default
    const char *region;         //  region the local pingers report
    const char *ca_file;        //  extra CA bundle for checks, or NULL
} topology_args_t;

typedef struct _topology_t topology_t;

//  Fill endpoints for a transport.  0, or -1 with a message in error.
int topology_endpoints (topology_endpoints_t *endpoints, const topology_args_t *args,
                        char *error, size_t error_size);

//  Start every actor.  NULL (with the reason logged) if any failed.
topology_t *topology_new (const topology_args_t *args);

//  Stop every actor, consumers last so that nothing in flight is lost.
void topology_destroy (topology_t **self_p);

//  The endpoints in use (borrowed).
const topology_endpoints_t *topology_endpoints_of (topology_t *self);

//  Counters of every actor, one line each, "actor: name=value ...".
//  Caller frees.
char *topology_stats (topology_t *self);

#endif
