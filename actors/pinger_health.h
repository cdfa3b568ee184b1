/*  pinger_health.h: is a vantage point's own network sound?  Pure code.

    A pinger whose own uplink is broken fails every check it runs, and
    each failure looks like the site's.  The collector tells the two apart
    by comparing each verdict with what other pingers saw of the same
    target lately (docs/ARCHITECTURE.md, "Pinger health"):

    - a site is compared with the other pingers of the same region only,
      so a region whose path to the site is cut (every pinger of it fails)
      is a regional view, not a pinger fault;
    - a canary (config `canaries`, targets meant to be reachable from
      everywhere) is compared with every other pinger, so a region with a
      single pinger can be judged too;
    - only verdicts of pingers not in quarantine count as the others';
    - "down while most others see it up" is a disagreement; the same
      verdict as most others is an agreement; no other verdict, a tie, or
      "up while others see it down" proves nothing about this pinger's
      network (it is not counted).

    Every pinger keeps its last HEALTH_WINDOW comparisons.  It is
    quarantined when at least HEALTH_MIN are kept and at least
    HEALTH_ENTER_PERCENT of them are disagreements; a quarantined pinger
    is let back after HEALTH_RELEASE agreements in a row (its history then
    starts afresh).  An outage that every pinger sees is agreement, so a
    mass outage never quarantines anyone.  No clock, no sockets.
*/
#ifndef PINGER_HEALTH_H_INCLUDED
#define PINGER_HEALTH_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define HEALTH_WINDOW           20      //  comparisons remembered per pinger (<= 32)
#define HEALTH_MIN              6       //  comparisons before any judgement
#define HEALTH_ENTER_PERCENT    75      //  share of disagreements that quarantines
#define HEALTH_RELEASE          5       //  agreements in a row that let a pinger back

//  One verdict compared with the others'.
typedef enum {
    HEALTH_UNPROVEN,            //  nothing to compare with, or nothing proven
    HEALTH_AGREE,               //  the same verdict as most others
    HEALTH_DISAGREE             //  down while most others see it up
} health_outcome_t;

//  What a comparison changed.
typedef enum {
    HEALTH_SAME,                //  no change of standing
    HEALTH_QUARANTINED,         //  just quarantined
    HEALTH_RELEASED             //  just let back
} health_event_t;

//  One pinger's standing.  Zeroed = healthy, no history.
typedef struct {
    uint32_t history;           //  bit 0 = the latest comparison, 1 = a disagreement
    uint8_t kept;               //  comparisons in history, <= HEALTH_WINDOW
    uint8_t disagreements;      //  ones among them
    uint8_t agree_run;          //  agreements in a row (release)
    bool quarantined;
} pinger_health_t;

//  A verdict (mine_up) against the others' fresh verdicts on the same
//  target: others_up of them up, others_down down.
health_outcome_t pinger_health_compare (bool mine_up, uint32_t others_up, uint32_t others_down);

//  Record one comparison; UNPROVEN changes nothing.
health_event_t pinger_health_observe (pinger_health_t *self, health_outcome_t outcome);

#endif
