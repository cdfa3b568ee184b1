/*  site_state.c: see site_state.h.  One function per transition. */
#include "site_state.h"
#include "sq_defaults.h"

#include <assert.h>
#include <string.h>

void
site_state_init (site_state_t *self, sq_state_t restored)
{
    assert (self);
    memset (self, 0, sizeof (*self));
    self->state = restored == SQ_STATE_UP || restored == SQ_STATE_DOWN ? restored
                                                                       : SQ_STATE_UNKNOWN;
    self->settled = self->state == SQ_STATE_DOWN ? SQ_STATE_UNKNOWN : self->state;
}

bool
site_state_accept_job (site_state_t *self, uint64_t job_id)
{
    if (job_id <= self->last_job)
        return false;
    self->last_job = job_id;
    return true;
}

//  The wait before recheck number `failures` (2 or more) of a suspect:
//  1 s doubled per failure after the first, capped.
static int64_t
s_recheck_delay (uint32_t failures, uint32_t interval_ms)
{
    uint32_t shift = failures < 2 ? 0 : failures - 1 < 6 ? failures - 1 : 6;
    int64_t delay = 1000LL << shift;
    if (delay > SQ_RECHECK_CAP_MS)
        delay = SQ_RECHECK_CAP_MS;
    if (delay > interval_ms)
        delay = interval_ms;
    return delay;
}

static site_step_t
s_stay (site_state_t *self, int64_t recheck_ms)
{
    return (site_step_t) { .from = self->state, .to = self->state, .previous = self->settled,
                           .recheck_ms = recheck_ms };
}

static site_step_t
s_move (site_state_t *self, sq_state_t next, sq_state_t previous, bool publish,
        int64_t recheck_ms)
{
    site_step_t step = { .changed = true, .publish = publish, .from = self->state, .to = next,
                         .previous = previous, .recheck_ms = recheck_ms };
    self->state = next;
    return step;
}

//  UNKNOWN or SUSPECT -> UP: nobody was told anything, so nobody is now.
static site_step_t
s_to_up_silently (site_state_t *self)
{
    sq_state_t previous = self->state == SQ_STATE_SUSPECT ? self->settled : SQ_STATE_UNKNOWN;
    self->settled = SQ_STATE_UP;
    return s_move (self, SQ_STATE_UP, previous, false, SITE_NO_RECHECK);
}

//  DOWN -> UP after success_threshold successes: published.
static site_step_t
s_to_up_recovered (site_state_t *self)
{
    self->successes = 0;
    self->settled = SQ_STATE_UP;
    return s_move (self, SQ_STATE_UP, SQ_STATE_DOWN, true, SITE_NO_RECHECK);
}

//  UNKNOWN or UP -> SUSPECT: recheck at once, tell nobody yet.
static site_step_t
s_to_suspect (site_state_t *self)
{
    self->settled = self->state;
    return s_move (self, SQ_STATE_SUSPECT, self->settled, false, 0);
}

//  -> DOWN after failure_threshold failures in a row: published.
static site_step_t
s_to_down (site_state_t *self)
{
    if (self->state != SQ_STATE_SUSPECT)
        self->settled = self->state;
    self->failures = 0;
    return s_move (self, SQ_STATE_DOWN, self->settled, true, SITE_NO_RECHECK);
}

static site_step_t
s_on_success (site_state_t *self, uint32_t success_threshold)
{
    self->failures = 0;
    switch (self->state) {
        case SQ_STATE_UNKNOWN:
        case SQ_STATE_SUSPECT:
            return s_to_up_silently (self);
        case SQ_STATE_DOWN:
            if (++self->successes < success_threshold)
                return s_stay (self, 0);        //  confirm the recovery at once
            return s_to_up_recovered (self);
        default:
            return s_stay (self, SITE_NO_RECHECK);
    }
}

static site_step_t
s_on_failure (site_state_t *self, uint32_t failure_threshold, uint32_t interval_ms)
{
    self->successes = 0;
    if (self->state == SQ_STATE_DOWN)
        return s_stay (self, SITE_NO_RECHECK);  //  still down: nothing new to say
    if (++self->failures >= failure_threshold)
        return s_to_down (self);
    if (self->state != SQ_STATE_SUSPECT)
        return s_to_suspect (self);
    //  Still suspect: recheck again, a little later each time.
    return s_stay (self, s_recheck_delay (self->failures, interval_ms));
}

site_step_t
site_state_step (site_state_t *self, const site_rules_t *rules, bool up)
{
    assert (self && rules);
    uint32_t failure_threshold = rules->failure_threshold ? rules->failure_threshold : 1;
    uint32_t success_threshold = rules->success_threshold ? rules->success_threshold : 1;
    return up ? s_on_success (self, success_threshold)
              : s_on_failure (self, failure_threshold, rules->interval_ms);
}
