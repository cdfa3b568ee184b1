/*  test_site_state.c: the collector's state machine (actors/site_state.h),
    table-driven.  Each row feeds a run of verdicts to one site and says,
    after every verdict, the state, whether it was published, and the
    recheck asked for.  Counts are exact: DOWN on exactly the Nth failure,
    UP on exactly the Mth success, nothing published one verdict early.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "site_state.h"
#include "sq_defaults.h"

#include <string.h>

#define STEPS_MAX   16

typedef struct {
    const char *name;           //  what the row shows
    site_rules_t rules;         //  thresholds and interval
    sq_state_t start;           //  restored state (UNKNOWN, UP or DOWN)
    const char *verdicts;       //  'u' up, 'd' down, one per check
    const char *states;         //  state after each: U S D ? (unknown)
    const char *published;      //  'P' published, '.' only stored or unchanged
    int64_t recheck [STEPS_MAX];//  recheck asked for after each verdict
    const char *previous;       //  for each 'P': the ALERT's previous state
} row_t;

#define N   SITE_NO_RECHECK

static const row_t s_rows [] = {
    { "thresholds 3 and 2: down on the third failure, up on the second success",
      { 3, 2, 300000 }, SQ_STATE_UNKNOWN, "udddduu", "USSDDDU", "...P..P",
      { N, 0, 2000, N, N, 0, N }, "UD" },
    { "thresholds 2 and 1: a suspect that recovers wakes nobody",
      { 2, 1, 300000 }, SQ_STATE_UNKNOWN, "uduudu", "USUUSU", "......",
      { N, 0, N, N, 0, N }, "" },
    { "failure_threshold 1: down at once, from up",
      { 1, 1, 300000 }, SQ_STATE_UNKNOWN, "udu", "UDU", ".PP", { N, N, N }, "UD" },
    { "never seen up: DOWN says previous unknown",
      { 2, 1, 300000 }, SQ_STATE_UNKNOWN, "dd", "SD", ".P", { 0, N }, "?" },
    { "thresholds 0 are taken as 1",
      { 0, 0, 300000 }, SQ_STATE_UNKNOWN, "du", "DU", "PP", { N, N }, "?D" },
    { "restored DOWN: still down says nothing; one success is UP",
      { 2, 1, 300000 }, SQ_STATE_DOWN, "ddu", "DDU", "..P", { N, N, N }, "D" },
    { "restored UP: a failure is suspect, from up",
      { 2, 1, 300000 }, SQ_STATE_UP, "dd", "SD", ".P", { 0, N }, "U" },
    { "a failure resets the successes counted toward UP",
      { 2, 3, 300000 }, SQ_STATE_DOWN, "uuduuu", "DDDDDU", ".....P",
      { 0, 0, N, 0, 0, N }, "D" },
    { "a success resets the failures counted toward DOWN",
      { 3, 1, 300000 }, SQ_STATE_UP, "ddudd" "d", "SSUSSD", ".....P",
      { 0, 2000, N, 0, 2000, N }, "U" },
    { "rechecks of a suspect grow 2 s, 4 s, 8 s ... to the cap",
      { 10, 1, 3600000 }, SQ_STATE_UP, "ddddddddd", "SSSSSSSSS", ".........",
      { 0, 2000, 4000, 8000, 16000, 32000, SQ_RECHECK_CAP_MS, SQ_RECHECK_CAP_MS,
        SQ_RECHECK_CAP_MS }, "" },
    { "a recheck never waits longer than the interval",
      { 10, 1, 5000 }, SQ_STATE_UP, "dddd", "SSSS", "....", { 0, 2000, 4000, 5000 }, "" },
};

static sq_state_t
s_state_of (char code)
{
    switch (code) {
        case 'U': return SQ_STATE_UP;
        case 'S': return SQ_STATE_SUSPECT;
        case 'D': return SQ_STATE_DOWN;
        default:  return SQ_STATE_UNKNOWN;
    }
}

static void
test_table (void **state)
{
    for (size_t row = 0; row < sizeof (s_rows) / sizeof (s_rows [0]); row++) {
        const row_t *case_ = &s_rows [row];
        site_state_t site;
        site_state_init (&site, case_->start);
        size_t count = strlen (case_->verdicts);
        assert_int_equal (strlen (case_->states), count);
        assert_int_equal (strlen (case_->published), count);
        const char *previous = case_->previous;
        for (size_t step = 0; step < count; step++) {
            sq_state_t before = site.state;
            site_step_t result = site_state_step (&site, &case_->rules, case_->verdicts [step] == 'u');
            sq_state_t want = s_state_of (case_->states [step]);
            bool publish = case_->published [step] == 'P';
            if (site.state != want || result.to != want || result.from != before
            ||  result.publish != publish || result.recheck_ms != case_->recheck [step]
            ||  result.changed != (want != before))
                fail_msg ("row '%s', verdict %zu: state %s (want %s), publish %d (want %d), "
                          "recheck %lld (want %lld), changed %d",
                          case_->name, step + 1, sq_state_name (site.state), sq_state_name (want),
                          result.publish, publish, (long long) result.recheck_ms,
                          (long long) case_->recheck [step], result.changed);
            if (publish) {
                assert_true (*previous);
                if (result.previous != s_state_of (*previous))
                    fail_msg ("row '%s', verdict %zu: previous %s, want %s", case_->name,
                              step + 1, sq_state_name (result.previous),
                              sq_state_name (s_state_of (*previous)));
                previous++;
            }
        }
        assert_int_equal (*previous, '\0');
    }
}

//  Job ids only grow: a twin or an older result is refused.
static void
test_job_ids (void **state)
{
    site_state_t site;
    site_state_init (&site, SQ_STATE_UNKNOWN);
    assert_true (site_state_accept_job (&site, 5));
    assert_false (site_state_accept_job (&site, 5));
    assert_false (site_state_accept_job (&site, 4));
    assert_true (site_state_accept_job (&site, 6));
    assert_int_equal (site.last_job, 6);
}

//  Only UP and DOWN can be restored; anything else starts UNKNOWN.
static void
test_restore (void **state)
{
    site_state_t site;
    site_state_init (&site, SQ_STATE_SUSPECT);
    assert_int_equal (site.state, SQ_STATE_UNKNOWN);
    site_state_init (&site, SQ_STATE_DOWN);
    assert_int_equal (site.state, SQ_STATE_DOWN);
    assert_int_equal (site.failures, 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_table),
        cmocka_unit_test (test_job_ids),
        cmocka_unit_test (test_restore),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
