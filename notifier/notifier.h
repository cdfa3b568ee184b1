/*  notifier.h: subscribes to the alert feed and tells owners.  Connects a
    SUB to the collector's PUB.  This is the skeleton: it decodes, counts
    and logs each ALERT; webhooks arrive with issue 4, email and the rest
    with the notifications issue.
*/
#ifndef NOTIFIER_H_INCLUDED
#define NOTIFIER_H_INCLUDED

#include <czmq.h>

typedef struct {
    const char *feed;           //  collector's PUB endpoint (connect)
} notifier_args_t;

//  The zactor task.  args is a notifier_args_t *, read during set-up.
void notifier_actor (zsock_t *pipe, void *args);

#endif
