/*  dispatcher.h: owns the schedule and hands CHECK jobs to pingers.

    Binds a ROUTER for pingers (READY and HEARTBEAT in, CHECK out, each
    addressed to one pinger that has credit) and a PULL for recheck
    requests from the collector.  This is the skeleton: it tracks pinger
    credit and counts what it refuses; the schedule arrives with issue 4.
*/
#ifndef DISPATCHER_H_INCLUDED
#define DISPATCHER_H_INCLUDED

#include <czmq.h>

typedef struct {
    const char *jobs;           //  ROUTER endpoint to bind for pingers
    const char *recheck;        //  PULL endpoint to bind for the collector
} dispatcher_args_t;

//  The zactor task.  args is a dispatcher_args_t *, read during set-up.
void dispatcher_actor (zsock_t *pipe, void *args);

#endif
