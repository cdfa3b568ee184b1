/*  dispatcher.h: owns the schedule and hands CHECK jobs to pingers.

    Binds a ROUTER for pingers (READY and HEARTBEAT in, CHECK out, each
    addressed to one pinger that has credit) and a PULL for DONE messages
    from the collector (a job's result is in; recheck soon if suspect).
    Each round a site is checked once from each of its regions (SITE's
    regions, or every region with a live pinger), by a pinger of that
    region (READY's region).
    Every decision (the schedule, credit, resends, abandon, pinger gone,
    the next round) is made by the pure job book, job_book.h; this actor
    reads sockets and sends what the book says.

    Pipe commands:
      "SITES" + a batch of SITE frames: take this site list.  Sites
      whose id is known keep their schedule; new ones are spread over their
      interval (or due at once in once mode); missing ones are dropped.
      Replies with a signal once the list is taken.
      "STATS": counters line.
*/
#ifndef DISPATCHER_H_INCLUDED
#define DISPATCHER_H_INCLUDED

#include <czmq.h>
#include "sq_actor.h"

//  Counters of the actor itself; the job book's (JOB_BOOK_COUNTERS in
//  job_book.h) follow them on the STATS line.
#define DISPATCHER_COUNTERS(C) \
    C (DISPATCHER, sites,       "sites in the schedule") \
    C (DISPATCHER, pingers,     "live pingers") \
    C (DISPATCHER, malformed,   "frames refused") \
    C (DISPATCHER, refused,     "pingers refused: pinger or region table full") \
    C (DISPATCHER, impostors,   "messages under a pinger name from another key") \
    C (DISPATCHER, lag_p50_ms,  "gauge: median schedule lag, ms, the process's (sq_metrics.h)") \
    C (DISPATCHER, lag_p99_ms,  "gauge: its 99th percentile, ms (bucket bounds, rounded up)") \
    C (DISPATCHER, late,        "checks sent late_ms (5 s) or more after they were due")

typedef enum { DISPATCHER_COUNTERS (SQ_COUNTER_ENUM) DISPATCHER_COUNTER_COUNT } dispatcher_counter_t;

typedef struct {
    const char *jobs;           //  ROUTER endpoint to bind for pingers
    const char *done;           //  PULL endpoint to bind for the collector
    const char *jobs_remote;    //  tcp:// endpoint for remote pingers, or NULL
    sq_curve_t curve;           //  the hub's keys, with jobs_remote
    bool once;                  //  sweep: check each site until DONE says
                                //  no recheck, then never again
    unsigned deadline_margin_ms;    //  added to a check's timeout; 0 = SQ_DEADLINE_MARGIN_MS
    unsigned pinger_silence_ms;     //  no message for this long = gone; 0 = SQ_PINGER_SILENCE_MS
    unsigned max_attempts;      //  sends of one job; 0 = SQ_MAX_ATTEMPTS
    unsigned late_ms;           //  a check sent this late is late (counted, logged:
                                //  our own backlog, not the site's; never in once
                                //  mode); 0 = SQ_LATE_MS
    sq_job_key_t job_key;       //  marks the jobs (shared with the collector)
} dispatcher_args_t;

//  The zactor task.  args is a dispatcher_args_t *, read during set-up.
void dispatcher_actor (zsock_t *pipe, void *args);

#endif
