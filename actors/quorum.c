/*  quorum.c: see quorum.h.  */
#include "quorum.h"

quorum_t
quorum_judge (const quorum_region_t *regions, size_t count, unsigned quorum, int64_t now_us,
              int64_t fresh_us)
{
    quorum_t verdict = { .state = SQ_STATE_UNKNOWN };
    unsigned checked = 0, suspect = 0, up = 0;
    for (size_t index = 0; index < count; index++) {
        const quorum_region_t *region = &regions [index];
        if (region->last_us == 0)
            continue;
        checked++;
        if (now_us - region->last_us > fresh_us)
            continue;           //  unavailable: neither up nor down
        verdict.available++;
        if (region->state == SQ_STATE_DOWN)
            verdict.down++;
        else
        if (region->state == SQ_STATE_SUSPECT)
            suspect++;
        else
        if (region->state == SQ_STATE_UP)
            up++;
    }
    if (verdict.available == 0) {
        verdict.state = checked ? SQ_STATE_UNMONITORED : SQ_STATE_UNKNOWN;
        return verdict;
    }
    verdict.needed = quorum ? quorum : verdict.available / 2 + 1;
    if (verdict.available < verdict.needed)
        verdict.state = SQ_STATE_UNMONITORED;
    else
    if (verdict.down >= verdict.needed)
        verdict.state = SQ_STATE_DOWN;
    else
    //  Down here, suspect there, enough of them together for the quorum:
    //  the suspects are being rechecked, and an outage seen everywhere
    //  should read DOWN, not DEGRADED first.
    if (verdict.down + suspect >= verdict.needed)
        verdict.state = SQ_STATE_SUSPECT;
    else
    if (verdict.down > 0)
        verdict.state = SQ_STATE_DEGRADED;
    else
    if (suspect > 0)
        verdict.state = SQ_STATE_SUSPECT;
    else
    if (up > 0)
        verdict.state = SQ_STATE_UP;
    return verdict;
}

//  States an owner or an operator hears of.
static bool
s_published (sq_state_t state)
{
    return state == SQ_STATE_DOWN || state == SQ_STATE_DEGRADED
        || state == SQ_STATE_UNMONITORED;
}

quorum_step_t
quorum_step (sq_state_t *state, sq_state_t *settled, sq_state_t judged)
{
    quorum_step_t step = {
        .changed = judged != *state, .from = *state, .to = judged, .previous = *settled
    };
    *state = judged;
    if (s_published (judged) && judged != *settled) {
        step.publish = true;
        *settled = judged;
    }
    else
    if (judged == SQ_STATE_UP && *settled != SQ_STATE_UP) {
        step.publish = s_published (*settled);
        *settled = SQ_STATE_UP;
    }
    return step;
}
