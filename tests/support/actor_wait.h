/*  actor_wait.h: wait, with a deadline, for an actor's counter.
    Tests poll an actor's STATS line rather than sleep and hope.
*/
#ifndef SQ_ACTOR_WAIT_H_INCLUDED
#define SQ_ACTOR_WAIT_H_INCLUDED

#include <czmq.h>

//  Read counter name from the actor's STATS until it reaches want or
//  timeout_ms has passed; it is read at least once.  Returns the last
//  value seen (-1 when the actor does not report it).
long long actor_wait_counter (zactor_t *actor, const char *name, long long want, int timeout_ms);

#endif
