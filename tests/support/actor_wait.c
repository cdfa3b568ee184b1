/*  actor_wait.c: see actor_wait.h. */
#include "actor_wait.h"
#include "sq_actor.h"

long long
actor_wait_counter (zactor_t *actor, const char *name, long long want, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        char *stats = sq_actor_stats (actor);
        long long value = stats ? sq_stats_value (stats, name) : -1;
        zstr_free (&stats);
        if (value >= want || zclock_mono () >= deadline)
            return value;
        zclock_sleep (10);
    }
}
