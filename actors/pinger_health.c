/*  pinger_health.c: see pinger_health.h. */
#include "pinger_health.h"

#include <string.h>

_Static_assert (HEALTH_WINDOW <= 32, "history is one uint32_t");
_Static_assert (HEALTH_MIN <= HEALTH_WINDOW, "a judgement needs HEALTH_MIN kept");

health_outcome_t
pinger_health_compare (bool mine_up, uint32_t others_up, uint32_t others_down)
{
    if (others_up == others_down)
        return HEALTH_UNPROVEN;         //  none, or a tie
    bool most_up = others_up > others_down;
    if (mine_up == most_up)
        return HEALTH_AGREE;
    return mine_up ? HEALTH_UNPROVEN : HEALTH_DISAGREE;
}

health_event_t
pinger_health_observe (pinger_health_t *self, health_outcome_t outcome)
{
    if (outcome == HEALTH_UNPROVEN)
        return HEALTH_SAME;
    bool disagree = outcome == HEALTH_DISAGREE;
    //  The oldest comparison leaves a full window.
    if (self->kept == HEALTH_WINDOW) {
        if ((self->history >> (HEALTH_WINDOW - 1)) & 1)
            self->disagreements--;
        self->kept--;
    }
    self->history = (self->history << 1) | (disagree ? 1u : 0u);
    if (HEALTH_WINDOW < 32)
        self->history &= (UINT32_C (1) << HEALTH_WINDOW) - 1;
    self->kept++;
    self->disagreements += disagree;
    self->agree_run = disagree ? 0 : (uint8_t) (self->agree_run + (self->agree_run < 255));

    if (self->quarantined) {
        if (self->agree_run < HEALTH_RELEASE)
            return HEALTH_SAME;
        memset (self, 0, sizeof (*self));
        return HEALTH_RELEASED;
    }
    if (self->kept >= HEALTH_MIN
    &&  (uint32_t) self->disagreements * 100 >= (uint32_t) self->kept * HEALTH_ENTER_PERCENT) {
        self->quarantined = true;
        self->agree_run = 0;
        return HEALTH_QUARANTINED;
    }
    return HEALTH_SAME;
}
