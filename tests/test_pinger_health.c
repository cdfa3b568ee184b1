/*  test_pinger_health.c: a vantage point's own health (actors/pinger_health.h),
    table-driven.  A row is a run of comparisons, one letter each: 'D'
    disagree, 'A' agree, '.' unproven; and the standing expected after
    each: 'q' just quarantined, 'r' just released, '-' no change.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pinger_health.h"

#include <string.h>

static void
test_compare (void **state)
{
    static const struct { bool mine_up; uint32_t up, down; health_outcome_t want; const char *name; }
    rows [] = {
        { false, 0, 0, HEALTH_UNPROVEN, "no other verdict proves nothing" },
        { false, 1, 0, HEALTH_DISAGREE, "down while the other sees it up" },
        { false, 2, 1, HEALTH_DISAGREE, "down while most see it up" },
        { false, 1, 1, HEALTH_UNPROVEN, "a tie proves nothing" },
        { false, 0, 1, HEALTH_AGREE,    "down as the others see it: an outage, not us" },
        { false, 1, 2, HEALTH_AGREE,    "down as most see it" },
        { true,  1, 0, HEALTH_AGREE,    "up as the others" },
        { true,  0, 2, HEALTH_UNPROVEN, "up while others see it down: not a broken uplink" },
    };
    for (size_t row = 0; row < sizeof (rows) / sizeof (rows [0]); row++) {
        health_outcome_t got = pinger_health_compare (rows [row].mine_up, rows [row].up,
                                                      rows [row].down);
        if (got != rows [row].want)
            fail_msg ("row '%s': got %d, want %d", rows [row].name, got, rows [row].want);
    }
}

static void
test_runs (void **state)
{
    static const struct { const char *name, *outcomes, *events; } rows [] = {
        { "five disagreements are too few to judge",        "DDDDD",    "-----" },
        { "six disagreements in six: quarantined at the 6th", "DDDDDD", "-----q" },
        { "unproven comparisons do not count",              "D.D.D.D.D.D", "----------q" },
        { "agreements dilute: 6 of 8 is 75%: quarantined",  "AADDDDDD", "-------q" },
        { "5 of 7 is 71%: not yet",                         "AADDDDD",  "-------" },
        { "a mass outage is agreement: never quarantined",  "AAAAAAAAAAAA", "------------" },
        { "released after five agreements in a row",        "DDDDDDAAAAA", "-----q----r" },
        { "a disagreement restarts the run",                "DDDDDDAAAADAAAAA", "-----q---------r" },
        { "released starts afresh: quarantined again at exactly the 6th disagreement",
                                                            "DDDDDDAAAAADDDDDD", "-----q----r-----q" },
        { "an old window slides: 4 of 20 stay healthy",
          "DDDDAAAAAAAAAAAAAAAADDDD", "------------------------" },
    };
    for (size_t row = 0; row < sizeof (rows) / sizeof (rows [0]); row++) {
        pinger_health_t health;
        memset (&health, 0, sizeof (health));
        char events [64] = "";
        size_t count = strlen (rows [row].outcomes);
        for (size_t index = 0; index < count; index++) {
            char letter = rows [row].outcomes [index];
            health_event_t event = pinger_health_observe (&health,
                letter == 'D' ? HEALTH_DISAGREE : letter == 'A' ? HEALTH_AGREE : HEALTH_UNPROVEN);
            events [index] = event == HEALTH_QUARANTINED ? 'q' : event == HEALTH_RELEASED ? 'r' : '-';
        }
        if (strcmp (events, rows [row].events))
            fail_msg ("row '%s': %s, want %s", rows [row].name, events, rows [row].events);
    }
}

//  The window keeps exactly HEALTH_WINDOW comparisons: after 20 agreements
//  and 20 disagreements only the disagreements are left.
static void
test_window (void **state)
{
    pinger_health_t health;
    memset (&health, 0, sizeof (health));
    for (int index = 0; index < HEALTH_WINDOW; index++)
        pinger_health_observe (&health, HEALTH_AGREE);
    assert_int_equal (health.kept, HEALTH_WINDOW);
    assert_int_equal (health.disagreements, 0);
    int quarantined_at = -1;
    for (int index = 0; index < HEALTH_WINDOW; index++)
        if (pinger_health_observe (&health, HEALTH_DISAGREE) == HEALTH_QUARANTINED)
            quarantined_at = index + 1;
    //  75% of 20 = 15 disagreements.
    assert_int_equal (quarantined_at, 15);
    assert_int_equal (health.kept, HEALTH_WINDOW);
    assert_int_equal (health.disagreements, HEALTH_WINDOW);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_compare),
        cmocka_unit_test (test_runs),
        cmocka_unit_test (test_window),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
