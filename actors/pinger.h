/*  pinger.h: the check engine.  Takes CHECK jobs, returns RESULTs.

    One pinger is one thread with one event loop: libcurl's multi socket
    interface and the actor's ZeroMQ sockets polled together.  It connects
    a DEALER to the dispatcher's ROUTER (identity = pinger id; CHECK in,
    READY and HEARTBEAT out) and a PUSH to the collector's PULL (RESULT out).
    See docs/ARCHITECTURE.md, "Pinger".
*/
#ifndef PINGER_H_INCLUDED
#define PINGER_H_INCLUDED

#include <czmq.h>

typedef struct {
    const char *jobs;           //  dispatcher's ROUTER endpoint (connect)
    const char *results;        //  collector's PULL endpoint (connect)
    const char *pinger_id;      //  unique name, also the DEALER identity
    const char *region;         //  where checks run from; "" if unnamed
    unsigned concurrency;       //  live transfers at most; 0 = default 256
    const char *ca_file;        //  extra trusted CA bundle, NULL = system's
    unsigned heartbeat_ms;      //  heartbeat interval; 0 = default 1000
} pinger_args_t;

//  The zactor task.  args is a pinger_args_t *, read during set-up only.
void pinger_actor (zsock_t *pipe, void *args);

#define PINGER_DEFAULT_CONCURRENCY  256
#define PINGER_BODY_CAP             (1024 * 1024)   //  bytes of body read at most

#endif
