/*  dispatcher.h: owns the schedule and hands CHECK jobs to pingers.

    Binds a ROUTER for pingers (READY and HEARTBEAT in, CHECK out, each
    addressed to one pinger that has credit) and a PULL for DONE messages
    from the collector (a job's result is in; recheck soon if suspect).
    Every site's next event lives in one min-heap on the monotonic clock:
    the time its next check is due, or, while a job is out, the job's
    deadline.  A job whose deadline passes, or whose pinger goes silent, is
    sent again with attempt + 1, to another pinger when there is one.

    Pipe commands:
      "SITES" + pointer to a config_t: take this site list (ids set).  Sites
      whose id is known keep their schedule; new ones are spread over their
      interval (or due at once in once mode); missing ones are dropped.
      Replies with a signal once the list is copied.
      "STATS": counters line.
*/
#ifndef DISPATCHER_H_INCLUDED
#define DISPATCHER_H_INCLUDED

#include <czmq.h>

typedef struct {
    const char *jobs;           //  ROUTER endpoint to bind for pingers
    const char *done;           //  PULL endpoint to bind for the collector
    bool once;                  //  sweep: check each site until DONE says
                                //  no recheck, then never again
    unsigned deadline_margin_ms;    //  added to a check's timeout; 0 = 5000
    unsigned pinger_silence_ms;     //  no message for this long = gone; 0 = 3500
    unsigned max_attempts;      //  sends of one job; 0 = 3
} dispatcher_args_t;

//  The zactor task.  args is a dispatcher_args_t *, read during set-up.
void dispatcher_actor (zsock_t *pipe, void *args);

#endif
