/*  site_state.h: one site's state machine, the collector's decisions as
    pure code.  No sockets, no clock, no store: the collector feeds it one
    verdict at a time and does what the step it gets back says (publish an
    ALERT, record a change, ask for a recheck).

    States (sq_state_t):
      UNKNOWN  never judged (or restarted without a store)
      UP       the last settled verdict was up
      SUSPECT  failed fewer than failure_threshold times in a row since it
               was last settled: rechecked at once, then after 2 s, 4 s,
               8 s ... (at most SQ_RECHECK_CAP_MS, at most the interval);
               recovers silently
      DOWN     failed failure_threshold times in a row; back UP after
               success_threshold successes in a row, each confirmed by an
               immediate recheck

    Transitions, one way into each state:
      UNKNOWN --up--> UP                 stored, not published
      UNKNOWN/UP --down--> SUSPECT       stored, not published, recheck now
      UNKNOWN/UP --down--> DOWN          when failure_threshold is 1: published
      SUSPECT --up--> UP                 stored, not published: a false alarm
      SUSPECT --down x threshold--> DOWN published
      DOWN --up x success_threshold--> UP   published
    Only DOWN and DOWN -> UP are published, so a suspect that recovers
    wakes nobody.  An ALERT's `previous` is the last settled state (UP, or
    UNKNOWN for a site never seen up), never SUSPECT.
*/
#ifndef SITE_STATE_H_INCLUDED
#define SITE_STATE_H_INCLUDED

#include "sq_proto.h"

//  The rules one site is judged by.
typedef struct {
    uint32_t failure_threshold; //  failures in a row before DOWN; 0 is taken as 1
    uint32_t success_threshold; //  successes in a row before UP again; 0 is taken as 1
    uint32_t interval_ms;       //  normal interval: rechecks never wait longer
} site_rules_t;

//  Where one site stands.
typedef struct {
    sq_state_t state;           //  current state
    sq_state_t settled;         //  last state before SUSPECT: UP or UNKNOWN
    uint32_t failures;          //  failures in a row, while not DOWN
    uint32_t successes;         //  successes in a row, while DOWN
    uint64_t last_job;          //  highest job id accounted for
} site_state_t;

#define SITE_NO_RECHECK     (-1)    //  next round as usual

//  What one verdict did, and what the collector must do about it.
typedef struct {
    bool changed;               //  the state changed: record it in the store
    bool publish;               //  ... and publish it on the feed
    sq_state_t from;            //  state before this verdict
    sq_state_t to;              //  state after it
    sq_state_t previous;        //  for an ALERT: the last settled state
    int64_t recheck_ms;         //  SITE_NO_RECHECK, 0 = at once, or a delay
} site_step_t;

//  Start a site in state restored (UP or DOWN from the store), or UNKNOWN.
void site_state_init (site_state_t *self, sq_state_t restored);

//  Whether a result for job_id is new: job ids only grow, so an older or
//  equal one is a resend's twin or a late result.  Accepting records it.
bool site_state_accept_job (site_state_t *self, uint64_t job_id);

//  Feed one verdict; returns what changed and what to do.
site_step_t site_state_step (site_state_t *self, const site_rules_t *rules, bool up);


#endif
