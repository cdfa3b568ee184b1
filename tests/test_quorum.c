/*  test_quorum.c: a site's state across regions (actors/quorum.h),
    table-driven.  Each row gives the regions' own states ('U' up, 'S'
    suspect, 'D' down, '?' unknown, '-' never checked, lower case: last
    verdict too old to count), the site's quorum (0 = majority) and the
    judgement expected, with the counts.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "quorum.h"

#include <string.h>

#define NOW     INT64_C(1700000000000000)
#define FRESH   INT64_C(60000000)       //  a minute

typedef struct {
    const char *name;           //  what the row shows
    const char *regions;        //  one letter per region, see above
    unsigned quorum;            //  the site's; 0 = majority
    sq_state_t state;           //  expected
    unsigned available, down, needed;
} row_t;

static const row_t s_rows [] = {
    { "one region: its own state, up",              "U",   0, SQ_STATE_UP,          1, 0, 1 },
    { "one region: its own state, suspect",         "S",   0, SQ_STATE_SUSPECT,     1, 0, 1 },
    { "one region: its own state, down",            "D",   0, SQ_STATE_DOWN,        1, 1, 1 },
    { "nothing checked yet",                        "--",  0, SQ_STATE_UNKNOWN,     0, 0, 0 },
    { "two regions, one down: degraded",            "DU",  0, SQ_STATE_DEGRADED,    2, 1, 2 },
    { "two regions, both down",                     "DD",  0, SQ_STATE_DOWN,        2, 2, 2 },
    { "three regions, majority 2: one down",        "DUU", 0, SQ_STATE_DEGRADED,    3, 1, 2 },
    { "three regions, majority 2: two down",        "DDU", 0, SQ_STATE_DOWN,        3, 2, 2 },
    { "quorum 1: any region down is down",          "DUU", 1, SQ_STATE_DOWN,        3, 1, 1 },
    { "quorum 3 of 3: two down is degraded",        "DDU", 3, SQ_STATE_DEGRADED,    3, 2, 3 },
    { "a region gone quiet is left out: majority of 2", "DUu", 0, SQ_STATE_DEGRADED, 2, 1, 2 },
    { "a stale down counts for nothing",            "dUU", 0, SQ_STATE_UP,          2, 0, 2 },
    { "quorum 2, one region left: unmonitored",     "dU",  2, SQ_STATE_UNMONITORED, 1, 0, 2 },
    { "quorum 2, one region left, down: unmonitored, not down", "Du", 2, SQ_STATE_UNMONITORED, 1, 1, 2 },
    { "every region gone quiet: unmonitored",       "uu",  0, SQ_STATE_UNMONITORED, 0, 0, 0 },
    { "a suspect region and an up one: suspect",    "SU",  0, SQ_STATE_SUSPECT,     2, 0, 2 },
    { "down and suspect reach the quorum: suspect, rechecking", "DS", 0, SQ_STATE_SUSPECT, 2, 1, 2 },
    { "down and suspect short of the quorum: degraded", "DSU", 3, SQ_STATE_DEGRADED, 3, 1, 3 },
    { "checked but unknown everywhere",             "??",  0, SQ_STATE_UNKNOWN,     2, 0, 2 },
};

static void
test_table (void **state)
{
    for (size_t row = 0; row < sizeof (s_rows) / sizeof (s_rows [0]); row++) {
        const row_t *case_ = &s_rows [row];
        quorum_region_t regions [8];
        size_t count = strlen (case_->regions);
        for (size_t index = 0; index < count; index++) {
            char letter = case_->regions [index];
            char upper = letter >= 'a' && letter <= 'z' ? (char) (letter - 32) : letter;
            regions [index].state = upper == 'U' ? SQ_STATE_UP : upper == 'S' ? SQ_STATE_SUSPECT
                                  : upper == 'D' ? SQ_STATE_DOWN : SQ_STATE_UNKNOWN;
            regions [index].last_us = letter == '-' ? 0
                                    : letter != upper ? NOW - FRESH - 1 : NOW - FRESH;
        }
        quorum_t verdict = quorum_judge (regions, count, case_->quorum, NOW, FRESH);
        if (verdict.state != case_->state || verdict.available != case_->available
        ||  verdict.down != case_->down || verdict.needed != case_->needed)
            fail_msg ("row '%s': %s (available %u, down %u, needed %u), want %s (%u, %u, %u)",
                      case_->name, sq_state_name (verdict.state), verdict.available,
                      verdict.down, verdict.needed, sq_state_name (case_->state),
                      case_->available, case_->down, case_->needed);
    }
}

//  Which changes are published: a run of judged states and, after each,
//  'P' published, 's' stored only, '.' no change; and the previous of each
//  published one.
static void
test_steps (void **state)
{
    static const struct { const char *name, *judged, *marks, *previous; } rows [] = {
        { "first up is stored, a suspect that recovers wakes nobody", "USU", "sss", "" },
        { "down, then up: both published, previous up then down",  "USDU", "ssPP", "UD" },
        { "degraded, down, up",                                    "UGDU", "sPPP", "UGD" },
        { "degraded back to up is published",                      "UGU",  "sPP",  "UG" },
        { "unmonitored and back",                                  "UMU",  "sPP",  "UM" },
        { "down from unknown: previous unknown",                   "SD",   "sP",   "?" },
        { "suspect inside degraded is stored only",                "UGSG", "sPss", "U" },
        { "unknown again after up: stored only, up again silent",  "U?U",  "sss",  "" },
    };
    for (size_t row = 0; row < sizeof (rows) / sizeof (rows [0]); row++) {
        sq_state_t now = SQ_STATE_UNKNOWN, settled = SQ_STATE_UNKNOWN;
        char marks [16] = "", previous [16] = "";
        size_t published = 0;
        for (size_t index = 0; rows [row].judged [index]; index++) {
            char letter = rows [row].judged [index];
            sq_state_t judged = letter == 'U' ? SQ_STATE_UP : letter == 'S' ? SQ_STATE_SUSPECT
                              : letter == 'D' ? SQ_STATE_DOWN : letter == 'G' ? SQ_STATE_DEGRADED
                              : letter == 'M' ? SQ_STATE_UNMONITORED : SQ_STATE_UNKNOWN;
            quorum_step_t step = quorum_step (&now, &settled, judged);
            marks [index] = step.publish ? 'P' : step.changed ? 's' : '.';
            if (step.publish) {
                sq_state_t before = step.previous;
                previous [published++] = before == SQ_STATE_UP ? 'U' : before == SQ_STATE_DOWN ? 'D'
                                       : before == SQ_STATE_DEGRADED ? 'G'
                                       : before == SQ_STATE_UNMONITORED ? 'M' : '?';
            }
        }
        if (strcmp (marks, rows [row].marks) || strcmp (previous, rows [row].previous))
            fail_msg ("row '%s': marks %s previous %s, want %s and %s", rows [row].name, marks,
                      previous, rows [row].marks, rows [row].previous);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_table),
        cmocka_unit_test (test_steps),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
