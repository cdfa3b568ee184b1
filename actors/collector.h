/*  collector.h: takes every RESULT, decides each site's state, publishes
    ALERTs.  Binds a PULL for pinger results and a PUB for the alert feed
    (topic "STATE URL", so subscribers filter by prefix).  This is the
    skeleton: it decodes and counts results; the site state machine and
    the store arrive with issue 4.
*/
#ifndef COLLECTOR_H_INCLUDED
#define COLLECTOR_H_INCLUDED

#include <czmq.h>

typedef struct {
    const char *results;        //  PULL endpoint to bind for pingers
    const char *feed;           //  PUB endpoint to bind for the alert feed
    const char *recheck;        //  dispatcher's recheck PULL (connect)
} collector_args_t;

//  The zactor task.  args is a collector_args_t *, read during set-up.
void collector_actor (zsock_t *pipe, void *args);

#endif
