/*  quorum.h: a site's state across regions, as pure code (the regions
    issue; the collector is to call it once it keeps one state machine per
    region, see docs/ARCHITECTURE.md, "Quorum").

    Each region that checks a site runs the site's own state machine
    (site_state.h) on its own verdicts, so each region's DOWN already
    waited for failure_threshold failures.  The quorum combines them:

    - a region counts ("available") when it has a verdict no older than
      the freshness window (the caller passes two intervals plus the
      timeout): a region whose pingers died stops counting, it is neither
      up nor down;
    - needed = the site's quorum, or (quorum 0) a majority of the
      available regions;
    - fewer available than needed: UNMONITORED (never a false UP or
      DOWN); none available: UNKNOWN if no region ever checked it, else
      UNMONITORED;
    - down >= needed: DOWN; down and suspect together >= needed: SUSPECT
      (the suspects are being rechecked: an outage seen everywhere reads
      DOWN, not DEGRADED first); some down: DEGRADED; else SUSPECT if one
      is suspect, UP if one is up, else UNKNOWN.

    With one region this is that region's own state, so a single-region
    monitor behaves as before.  No clock: now is an argument.
*/
#ifndef QUORUM_H_INCLUDED
#define QUORUM_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "sq_proto.h"

//  One region's view of one site.
typedef struct {
    sq_state_t state;           //  its own state machine's state (UNKNOWN, UP, SUSPECT, DOWN)
    int64_t last_us;            //  when its latest verdict was made; 0 = never checked
} quorum_region_t;

//  The judgement.
typedef struct {
    sq_state_t state;           //  UNKNOWN, UP, SUSPECT, DEGRADED, DOWN or UNMONITORED
    unsigned available;         //  regions that counted
    unsigned down;              //  of which DOWN
    unsigned needed;            //  the quorum in force (0 when none is available)
} quorum_t;

//  Judge a site from its regions [0..count) at now_us; a region counts
//  when now_us - last_us <= fresh_us.  quorum: the site's, 0 = majority.
quorum_t quorum_judge (const quorum_region_t *regions, size_t count, unsigned quorum,
                       int64_t now_us, int64_t fresh_us);

//  A site's published life across regions: the state the quorum judged,
//  and whether the change is published (ALERT) or only stored (CHANGE).
//  Published: DOWN, DEGRADED, UNMONITORED, and UP after any of them.  Not
//  published: UNKNOWN -> UP (first seen up), SUSPECT and UNKNOWN (a region
//  rechecks).  `settled` is the last published state (UP, or UNKNOWN
//  before the site was first seen up); an ALERT's previous is it.
typedef struct {
    bool changed;               //  the state changed: record it
    bool publish;               //  ... on the feed too, as an ALERT
    sq_state_t from;            //  state before
    sq_state_t to;              //  state now
    sq_state_t previous;        //  for an ALERT: the settled state before
} quorum_step_t;

//  Move *state (and *settled) to judged; what to do about it.
quorum_step_t quorum_step (sq_state_t *state, sq_state_t *settled, sq_state_t judged);

#endif
