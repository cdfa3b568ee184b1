/*  test_policy.c: the notifier's policy (notifier/policy.h), table-driven.
    Each row gives one site's settings and a script of alerts, ticks,
    restores and reloads; after every alert the verdict, after every tick
    the exact notices (kind and state), are checked.  Times are exact:
    a notice due at t is checked 1 µs before t (nothing) and at t.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEPS_MAX   32
#define SITE        42

//  Times: µs after T0 (a Tuesday, 2023-11-14 22:13:20 UTC)
#define T0_S        INT64_C(1700000000)
#define T0          (T0_S * 1000000)
#define SECONDS(n)  ((int64_t) (n) * 1000000)
#define MINUTES(n)  SECONDS ((n) * 60)
#define HOURS(n)    MINUTES ((n) * 60)
#define DAYS(n)     HOURS ((n) * 24)
#define NEVER       INT64_MIN   //  RESTORE: owner never told (told_us 0)

typedef enum {
    OP_END = 0,                 //  end of the script
    OP_ALERT,                   //  policy_alert: state, since, now -> verdict
    OP_TICK,                    //  policy_tick at now -> notices
    OP_RESTORE,                 //  policy_restore: state, since, told at now
    OP_RELOAD,                  //  policy_set_site with the row's reload settings
    OP_FLAPPING                 //  policy_flapping -> flapping
} op_t;

typedef struct {
    op_t op;
    char state;                 //  ALERT, RESTORE: 'U' or 'D'
    int64_t since;              //  ALERT, RESTORE: when the state began
    int64_t now;                //  ALERT, TICK: now; RESTORE: told (or NEVER)
    policy_verdict_t verdict;   //  ALERT: the verdict wanted
    const char *notices;        //  TICK: kind letter and state letter per notice:
                                //  R reminder, S settled, M maintenance over
    bool flapping;              //  FLAPPING: the answer wanted
} step_t;

#define ALERT(s, t, v)          { .op = OP_ALERT, .state = s, .since = t, .now = t, .verdict = v }
#define ALERT_AT(s, t, n, v)    { .op = OP_ALERT, .state = s, .since = t, .now = n, .verdict = v }
#define TICK(n, text)           { .op = OP_TICK, .now = n, .notices = text }
#define RESTORE(s, t, told)     { .op = OP_RESTORE, .state = s, .since = t, .now = told }
#define RELOAD                  { .op = OP_RELOAD }
#define FLAPPING(yes)           { .op = OP_FLAPPING, .flapping = yes }

#define SEND                    POLICY_SEND
#define FLAPS                   POLICY_FLAPPING
#define HUSH_FLAPPING           POLICY_HUSH_FLAPPING
#define HUSH_MAINTENANCE        POLICY_HUSH_MAINTENANCE

typedef struct {
    const char *name;           //  what the row shows
    bool has_settings;          //  false: policy_set_site never called
    policy_site_t settings;     //  set before the script
    policy_site_t reload;       //  set at each RELOAD
    step_t steps [STEPS_MAX];   //  the script, to OP_END
} row_t;

//  Windows: once, [T0 + 1 h, T0 + 2 h); weekly, an hour from T0 + 1 day
#define WINDOW_ONCE     { .count = 1, .window = { { T0_S + 3600, 3600, 0 } } }
#define WINDOW_LATE     { .count = 1, .window = { { T0_S + 5 * 3600, 3600, 0 } } }
#define WINDOW_LONG     { .count = 1, .window = { { T0_S + 3600, 2 * 3600, 0 } } }
#define WINDOW_WEEKLY   { .count = 1, .window = { { T0_S + 86400, 3600, 7 * 86400 } } }

#define FLAP_2_IN_10    .flap_changes = 2, .flap_window_ms = 600000
#define REMIND_HOURLY   .remind_every_ms = 3600000

static const row_t s_rows [] = {
    { "flap 2 in 10 min: the third change flaps, once; later ones hushed; settled once",
      true, { FLAP_2_IN_10 }, { 0 }, {
        ALERT ('D', 0, SEND), FLAPPING (false),
        ALERT ('U', MINUTES (1), SEND),
        ALERT ('D', MINUTES (2), FLAPS), FLAPPING (true),
        ALERT ('U', MINUTES (3), HUSH_FLAPPING), ALERT ('D', MINUTES (4), HUSH_FLAPPING),
        ALERT ('U', MINUTES (5), HUSH_FLAPPING), ALERT ('D', MINUTES (6), HUSH_FLAPPING),
        ALERT ('U', MINUTES (7), HUSH_FLAPPING), ALERT ('D', MINUTES (8), HUSH_FLAPPING),
        ALERT ('U', MINUTES (9), HUSH_FLAPPING),
        TICK (MINUTES (10), ""), TICK (MINUTES (19) - 1, ""), FLAPPING (true),
        TICK (MINUTES (19), "SU"), FLAPPING (false),
        TICK (MINUTES (19) + 1, ""), TICK (HOURS (5), ""),
        ALERT ('D', HOURS (6), SEND), FLAPPING (false) } },
    { "flapping again after settling, counted afresh",
      true, { FLAP_2_IN_10 }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (1), SEND), ALERT ('D', MINUTES (2), FLAPS),
        TICK (MINUTES (12), "SD"),
        ALERT ('U', MINUTES (30), SEND), ALERT ('D', MINUTES (31), SEND),
        ALERT ('U', MINUTES (32), FLAPS), ALERT ('D', MINUTES (33), HUSH_FLAPPING),
        TICK (MINUTES (43) - 1, ""), TICK (MINUTES (43), "SD"), TICK (MINUTES (44), "") } },
    { "flap window edge: a change exactly a window old no longer counts",
      true, { FLAP_2_IN_10 }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (5), SEND), ALERT ('D', MINUTES (10), SEND),
        FLAPPING (false) } },
    { "flap window edge: 1 µs inside the window still counts",
      true, { FLAP_2_IN_10 }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (5), SEND), ALERT ('D', MINUTES (10) - 1, FLAPS),
        FLAPPING (true) } },
    { "flap_changes 0: no flap detection",
      true, { .flap_changes = 0, .flap_window_ms = 600000 }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (1), SEND), ALERT ('D', MINUTES (2), SEND),
        ALERT ('U', MINUTES (3), SEND), ALERT ('D', MINUTES (4), SEND),
        ALERT ('U', MINUTES (5), SEND),
        FLAPPING (false), TICK (MINUTES (30), "") } },
    { "flap_window 0: no flap detection",
      true, { .flap_changes = 2, .flap_window_ms = 0 }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', 1, SEND), ALERT ('D', 2, SEND),
        ALERT ('U', 3, SEND), FLAPPING (false), TICK (MINUTES (30), "") } },
    { "a site never set: always sent, never flapping, no notices",
      false, { 0 }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', 1, SEND), ALERT ('D', 2, SEND),
        ALERT ('U', 3, SEND), ALERT ('D', 4, SEND), FLAPPING (false),
        TICK (HOURS (1), ""), TICK (DAYS (1), "") } },
    { "maintenance once: start inclusive, start + length exclusive",
      true, { .site_windows = WINDOW_ONCE }, { 0 }, {
        ALERT ('D', HOURS (1) - 1, SEND), ALERT ('U', HOURS (1), HUSH_MAINTENANCE),
        ALERT ('D', HOURS (2) - 1, HUSH_MAINTENANCE), ALERT ('U', HOURS (2), SEND) } },
    { "maintenance: judged by when the change began, not when it arrives",
      true, { .site_windows = WINDOW_ONCE }, { 0 }, {
        ALERT_AT ('D', HOURS (1) + MINUTES (59), HOURS (2) + MINUTES (5), HUSH_MAINTENANCE),
        ALERT_AT ('U', HOURS (2) + MINUTES (1), HOURS (2) + MINUTES (6), SEND) } },
    { "maintenance weekly: every week, an hour from the start",
      true, { .site_windows = WINDOW_WEEKLY }, { 0 }, {
        ALERT ('D', DAYS (1) - 1, SEND), ALERT ('U', DAYS (1), HUSH_MAINTENANCE),
        ALERT ('D', DAYS (1) + MINUTES (30), HUSH_MAINTENANCE),
        ALERT ('U', DAYS (1) + HOURS (1), SEND),
        ALERT ('D', DAYS (4), SEND), ALERT ('U', DAYS (8) - 1, SEND),
        ALERT ('D', DAYS (8), HUSH_MAINTENANCE),
        ALERT ('U', DAYS (8) + HOURS (1) - 1, HUSH_MAINTENANCE),
        ALERT ('D', DAYS (8) + HOURS (1), SEND),
        ALERT ('U', DAYS (15) + MINUTES (59), HUSH_MAINTENANCE) } },
    { "maintenance: the owner's window holds too",
      true, { .owner_windows = WINDOW_ONCE }, { 0 }, {
        ALERT ('D', MINUTES (59), SEND), ALERT ('U', HOURS (1) + MINUTES (1), HUSH_MAINTENANCE),
        ALERT ('D', HOURS (2), SEND) } },
    { "maintenance: site and owner windows both hold",
      true, { .site_windows = WINDOW_ONCE, .owner_windows = WINDOW_LATE }, { 0 }, {
        ALERT ('D', HOURS (1), HUSH_MAINTENANCE), ALERT ('U', HOURS (3), SEND),
        ALERT ('D', HOURS (5), HUSH_MAINTENANCE), ALERT ('U', HOURS (6), SEND) } },
    { "maintenance over: once, when the window ends, with the state changed inside",
      true, { .site_windows = WINDOW_ONCE }, { 0 }, {
        ALERT ('U', 0, SEND), ALERT ('D', HOURS (1) + MINUTES (10), HUSH_MAINTENANCE),
        TICK (HOURS (1) + MINUTES (30), ""), TICK (HOURS (2) - 1, ""),
        TICK (HOURS (2), "MD"), TICK (HOURS (2) + SECONDS (1), ""), TICK (HOURS (9), "") } },
    { "maintenance over: nothing when the state is back where the owner was told",
      true, { .site_windows = WINDOW_ONCE }, { 0 }, {
        ALERT ('U', 0, SEND), ALERT ('D', HOURS (1) + MINUTES (10), HUSH_MAINTENANCE),
        ALERT ('U', HOURS (1) + MINUTES (20), HUSH_MAINTENANCE),
        TICK (HOURS (2), ""), TICK (HOURS (3), "") } },
    { "maintenance over counts as told: reminders follow from it",
      true, { REMIND_HOURLY, .site_windows = WINDOW_ONCE }, { 0 }, {
        ALERT ('U', 0, SEND), ALERT ('D', HOURS (1) + MINUTES (10), HUSH_MAINTENANCE),
        TICK (HOURS (1) + MINUTES (50), ""), TICK (HOURS (2), "MD"),
        TICK (HOURS (3) - 1, ""), TICK (HOURS (3), "RD") } },
    { "a site flapping when its window ends: FLAPPING counted as told",
      true, { .flap_changes = 2, .flap_window_ms = 7200000, .site_windows = WINDOW_ONCE }, { 0 }, {
        ALERT ('D', MINUTES (50), SEND), ALERT ('U', MINUTES (51), SEND),
        ALERT ('D', MINUTES (52), FLAPS), ALERT ('U', HOURS (1) + MINUTES (30), HUSH_MAINTENANCE),
        TICK (HOURS (2) - 1, ""), TICK (HOURS (2), "MU"), FLAPPING (true),
        TICK (HOURS (3) + MINUTES (30) - 1, ""), TICK (HOURS (3) + MINUTES (30), "SU") } },
    { "maintenance over is once: a later hushed flapping change is not maintenance",
      true, { FLAP_2_IN_10, .site_windows = WINDOW_ONCE }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', HOURS (1) + MINUTES (30), HUSH_MAINTENANCE),
        TICK (HOURS (2), "MU"),
        ALERT ('D', HOURS (3), SEND), ALERT ('U', HOURS (3) + MINUTES (1), SEND),
        ALERT ('D', HOURS (3) + MINUTES (2), FLAPS),
        ALERT ('U', HOURS (3) + MINUTES (3), HUSH_FLAPPING),
        TICK (HOURS (3) + MINUTES (4), ""), TICK (HOURS (3) + MINUTES (13), "SU") } },
    { "reminders: every hour after the owner was told (told at now, not since)",
      true, { REMIND_HOURLY }, { 0 }, {
        ALERT_AT ('D', 0, SECONDS (5), SEND),
        TICK (HOURS (1) + SECONDS (5) - 1, ""), TICK (HOURS (1) + SECONDS (5), "RD"),
        TICK (HOURS (2) + SECONDS (5) - 1, ""), TICK (HOURS (2) + SECONDS (5), "RD"),
        TICK (HOURS (3) + SECONDS (5), "RD"), TICK (HOURS (3) + SECONDS (6), "") } },
    { "reminders: remind_every 0 (or a quiet owner) never reminds",
      true, { .remind_every_ms = 0 }, { 0 }, {
        ALERT ('D', 0, SEND), TICK (HOURS (1), ""), TICK (HOURS (10), ""), TICK (DAYS (30), "") } },
    { "reminders: none for a site up",
      true, { REMIND_HOURLY }, { 0 }, {
        ALERT ('U', 0, SEND), TICK (HOURS (1), ""), TICK (HOURS (2), "") } },
    { "reminders: none once the site is back up",
      true, { REMIND_HOURLY }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (30), SEND),
        TICK (HOURS (1), ""), TICK (HOURS (2), "") } },
    { "reminders: none while flapping; from settled on",
      true, { REMIND_HOURLY, .flap_changes = 2, .flap_window_ms = 7200000 }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (1), SEND), ALERT ('D', MINUTES (2), FLAPS),
        TICK (HOURS (1) + MINUTES (2), ""), TICK (HOURS (2) + MINUTES (2) - 1, ""),
        TICK (HOURS (2) + MINUTES (2), "SD"),
        TICK (HOURS (3) + MINUTES (2) - 1, ""), TICK (HOURS (3) + MINUTES (2), "RD") } },
    { "reminders: none inside a window; due ones come when it ends",
      true, { REMIND_HOURLY, .site_windows = WINDOW_LONG }, { 0 }, {
        ALERT ('D', 0, SEND), TICK (HOURS (1), ""), TICK (HOURS (3) - 1, ""),
        TICK (HOURS (3), "RD"), TICK (HOURS (4) - 1, ""), TICK (HOURS (4), "RD") } },
    { "reminders: none inside the owner's window",
      true, { REMIND_HOURLY, .owner_windows = WINDOW_ONCE }, { 0 }, {
        ALERT ('D', 0, SEND), TICK (HOURS (1), ""), TICK (HOURS (2), "RD") } },
    { "reminders: a week apart (ms to µs in 64 bits)",
      true, { .remind_every_ms = SQ_REMIND_MAX_MS }, { 0 }, {
        ALERT ('D', 0, SEND), TICK (HOURS (1), ""), TICK (DAYS (7) - 1, ""),
        TICK (DAYS (7), "RD") } },
    { "restore: reminders timed from told_us",
      true, { REMIND_HOURLY }, { 0 }, {
        RESTORE ('D', -HOURS (5), MINUTES (10)),
        TICK (HOURS (1) + MINUTES (10) - 1, ""), TICK (HOURS (1) + MINUTES (10), "RD"),
        TICK (HOURS (2) + MINUTES (10), "RD"),
        ALERT ('U', HOURS (2) + MINUTES (30), SEND), TICK (HOURS (4), "") } },
    { "restore: never told, never reminded",
      true, { REMIND_HOURLY }, { 0 }, {
        RESTORE ('D', -HOURS (5), NEVER), TICK (HOURS (1), ""), TICK (DAYS (1), "") } },
    { "restore: told up, no reminders",
      true, { REMIND_HOURLY }, { 0 }, {
        RESTORE ('U', -HOURS (5), -HOURS (5)), TICK (HOURS (1), ""), TICK (DAYS (1), "") } },
    { "reload keeps memory: still flapping, settled from the same changes",
      true, { FLAP_2_IN_10 }, { FLAP_2_IN_10, REMIND_HOURLY }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (1), SEND), ALERT ('D', MINUTES (2), FLAPS),
        RELOAD, FLAPPING (true), ALERT ('U', MINUTES (3), HUSH_FLAPPING),
        TICK (MINUTES (13) - 1, ""), TICK (MINUTES (13), "SU") } },
    { "reload turns reminders on: due from when the owner was told",
      true, { .remind_every_ms = 0 }, { REMIND_HOURLY }, {
        ALERT ('D', 0, SEND), TICK (HOURS (1), ""), RELOAD,
        TICK (HOURS (1) + 1, "RD"), TICK (HOURS (2), ""), TICK (HOURS (2) + 1, "RD") } },
    { "reload turns flap detection off while flapping: settled at the next tick",
      true, { FLAP_2_IN_10 }, { 0 }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (1), SEND), ALERT ('D', MINUTES (2), FLAPS),
        RELOAD, TICK (MINUTES (3), "SD"), FLAPPING (false), TICK (MINUTES (4), ""),
        ALERT ('U', MINUTES (5), SEND) } },
    { "reload to fewer flap changes keeps the newest changes",
      true, { .flap_changes = 5, .flap_window_ms = 600000 }, { FLAP_2_IN_10 }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (1), SEND), ALERT ('D', MINUTES (2), SEND),
        RELOAD, ALERT ('U', MINUTES (3), FLAPS) } },
    { "reload to more flap changes keeps the changes so far",
      true, { FLAP_2_IN_10 }, { .flap_changes = 4, .flap_window_ms = 600000 }, {
        ALERT ('D', 0, SEND), ALERT ('U', MINUTES (1), SEND), RELOAD,
        ALERT ('D', MINUTES (2), SEND), ALERT ('U', MINUTES (3), SEND),
        ALERT ('D', MINUTES (4), FLAPS) } },
};

//  What a tick told, as letters.
typedef struct {
    char text [64];             //  kind and state letter per notice
    size_t count;               //  notices
    uint64_t site_id;           //  site the notices must be about (0: any)
} heard_t;

static char
s_kind_letter (notice_kind_t kind)
{
    switch (kind) {
        case NOTICE_REMINDER:           return 'R';
        case NOTICE_SETTLED:            return 'S';
        case NOTICE_MAINTENANCE_OVER:   return 'M';
        default:                        return '?';
    }
}

static char
s_state_letter (unsigned state)
{
    return state == SQ_STATE_UP ? 'U' : state == SQ_STATE_DOWN ? 'D' : '?';
}

static void
s_hear (notice_kind_t kind, const sq_alert_t *latest, uint32_t changes, void *arg)
{
    heard_t *heard = (heard_t *) arg;
    assert_non_null (latest);
    assert_int_equal (changes, 0);
    if (heard->site_id)
        assert_int_equal (latest->site_id, heard->site_id);
    size_t length = strlen (heard->text);
    assert_true (length + 3 <= sizeof (heard->text));
    heard->text [length] = s_kind_letter (kind);
    heard->text [length + 1] = s_state_letter (latest->state);
    heard->text [length + 2] = '\0';
    heard->count++;
}

//  Alerts are big: one, reused
static sq_alert_t s_alert;

static const sq_alert_t *
s_alert_of (uint64_t site_id, char state, int64_t since, uint64_t seq)
{
    memset (&s_alert, 0, sizeof (s_alert));
    s_alert.seq = seq;
    s_alert.site_id = site_id;
    snprintf (s_alert.url, sizeof (s_alert.url), "https://site-%llu.example.com/",
              (unsigned long long) site_id);
    s_alert.state = state == 'U' ? SQ_STATE_UP : SQ_STATE_DOWN;
    s_alert.previous = state == 'U' ? SQ_STATE_DOWN : SQ_STATE_UP;
    s_alert.since = since;
    return &s_alert;
}

static void
test_table (void **state)
{
    (void) state;
    for (size_t row = 0; row < sizeof (s_rows) / sizeof (s_rows [0]); row++) {
        const row_t *case_ = &s_rows [row];
        policy_t *policy = policy_new ();
        if (case_->has_settings)
            policy_set_site (policy, SITE, &case_->settings);
        uint64_t seq = 0;
        for (size_t index = 0; index < STEPS_MAX && case_->steps [index].op != OP_END; index++) {
            const step_t *step = &case_->steps [index];
            switch (step->op) {
                case OP_ALERT: {
                    const sq_alert_t *alert =
                        s_alert_of (SITE, step->state, T0 + step->since, ++seq);
                    policy_verdict_t verdict = policy_alert (policy, alert, T0 + step->now);
                    if (verdict != step->verdict)
                        fail_msg ("row '%s', step %zu (alert %c): %s, want %s", case_->name,
                                  index + 1, step->state, policy_verdict_name (verdict),
                                  policy_verdict_name (step->verdict));
                    break;
                }
                case OP_TICK: {
                    heard_t heard = { .site_id = SITE };
                    size_t count = policy_tick (policy, T0 + step->now, s_hear, &heard);
                    if (strcmp (heard.text, step->notices) != 0 || count != heard.count)
                        fail_msg ("row '%s', step %zu (tick): '%s' (%zu returned), want '%s'",
                                  case_->name, index + 1, heard.text, count, step->notices);
                    break;
                }
                case OP_RESTORE: {
                    const sq_alert_t *alert =
                        s_alert_of (SITE, step->state, T0 + step->since, ++seq);
                    policy_restore (policy, alert, (sq_state_t) alert->state,
                                    step->now == NEVER ? 0 : T0 + step->now);
                    break;
                }
                case OP_RELOAD:
                    policy_set_site (policy, SITE, &case_->reload);
                    break;
                case OP_FLAPPING:
                    if (policy_flapping (policy, SITE) != step->flapping)
                        fail_msg ("row '%s', step %zu: flapping %d, want %d", case_->name,
                                  index + 1, !step->flapping, step->flapping);
                    break;
                default:
                    fail_msg ("row '%s': bad step", case_->name);
            }
        }
        policy_destroy (&policy);
        assert_null (policy);
    }
}

typedef struct {
    sq_alert_t seen [2];        //  the latest alerts handed to s_keep
    size_t count;               //  how many
} seen_t;

static void
s_keep (notice_kind_t kind, const sq_alert_t *latest, uint32_t changes, void *arg)
{
    seen_t *seen = (seen_t *) arg;
    assert_int_equal (kind, NOTICE_REMINDER);
    assert_int_equal (changes, 0);
    assert_true (seen->count < 2);
    seen->seen [seen->count++] = *latest;
}

//  A notice carries the site's latest alert whole: URL at its longest,
//  detail, numbers; a shorter URL after a longer one is not mixed in.
static void
test_latest_whole (void **state)
{
    (void) state;
    policy_t *policy = policy_new ();
    policy_site_t settings = { REMIND_HOURLY };
    policy_set_site (policy, 1, &settings);
    policy_set_site (policy, 2, &settings);

    static sq_alert_t long_alert, short_alert;
    memset (&long_alert, 0, sizeof (long_alert));
    long_alert.seq = 77;
    long_alert.site_id = 1;
    memcpy (long_alert.url, "https://", 8);
    memset (long_alert.url + 8, 'a', SQ_URL_MAX - 8);
    long_alert.url [SQ_URL_MAX] = '\0';
    long_alert.previous = SQ_STATE_UP;
    long_alert.state = SQ_STATE_DOWN;
    long_alert.since = T0 - SECONDS (3);
    long_alert.reason = 1;
    snprintf (long_alert.detail, sizeof (long_alert.detail), "connection refused");
    long_alert.previous_since = T0 - DAYS (2);
    long_alert.http_status = 503;
    long_alert.total_us = 1234;
    short_alert = long_alert;
    short_alert.site_id = 2;
    snprintf (short_alert.url, sizeof (short_alert.url), "http://b/");
    short_alert.detail [0] = '\0';

    //  Restore the long one first, so its URL precedes in the scratch
    policy_restore (policy, &long_alert, (sq_state_t) long_alert.state, T0);
    assert_int_equal (policy_alert (policy, &short_alert, T0 + SECONDS (1)), POLICY_SEND);

    static seen_t seen;
    memset (&seen, 0, sizeof (seen));
    assert_int_equal (policy_tick (policy, T0 + HOURS (1) + SECONDS (1), s_keep, &seen), 2);
    assert_int_equal (seen.count, 2);
    for (size_t index = 0; index < 2; index++) {
        const sq_alert_t *got = &seen.seen [index];
        const sq_alert_t *want = got->site_id == 1 ? &long_alert : &short_alert;
        assert_int_equal (got->site_id, want->site_id);
        assert_int_equal (got->seq, want->seq);
        assert_string_equal (got->url, want->url);
        assert_string_equal (got->detail, want->detail);
        assert_int_equal (got->state, want->state);
        assert_int_equal (got->previous, want->previous);
        assert_int_equal (got->since, want->since);
        assert_int_equal (got->reason, want->reason);
        assert_int_equal (got->previous_since, want->previous_since);
        assert_int_equal (got->http_status, want->http_status);
        assert_int_equal (got->total_us, want->total_us);
    }
    assert_int_not_equal (seen.seen [0].site_id, seen.seen [1].site_id);
    policy_destroy (&policy);
}

//  Sites are apart; a removed site is forgotten, settings and all.
static void
test_sites_apart (void **state)
{
    (void) state;
    policy_t *policy = policy_new ();
    policy_site_t flappy = { FLAP_2_IN_10, REMIND_HOURLY };
    policy_site_t calm = { REMIND_HOURLY, .site_windows = WINDOW_ONCE };
    policy_set_site (policy, 1, &flappy);
    policy_set_site (policy, 2, &calm);
    assert_int_equal (policy_alert (policy, s_alert_of (1, 'D', T0, 1), T0), POLICY_SEND);
    assert_int_equal (policy_alert (policy, s_alert_of (2, 'D', T0, 2), T0), POLICY_SEND);
    assert_int_equal (policy_alert (policy, s_alert_of (1, 'U', T0 + 1, 3), T0 + 1), POLICY_SEND);
    assert_int_equal (policy_alert (policy, s_alert_of (1, 'D', T0 + 2, 4), T0 + 2),
                      POLICY_FLAPPING);
    assert_true (policy_flapping (policy, 1));
    assert_false (policy_flapping (policy, 2));
    assert_false (policy_flapping (policy, 3));     //  unknown

    //  Site 2's window does not hush site 1, and site 1's flapping not 2
    assert_int_equal (policy_alert (policy, s_alert_of (2, 'U', T0 + HOURS (1), 5), T0 + HOURS (1)),
                      POLICY_HUSH_MAINTENANCE);
    assert_int_equal (policy_alert (policy, s_alert_of (1, 'U', T0 + HOURS (1), 6), T0 + HOURS (1)),
                      POLICY_HUSH_FLAPPING);        //  quiet for the window, but
                                                    //  only a tick settles it
    policy_remove_site (policy, 1);
    policy_remove_site (policy, 99);                //  unknown: harmless
    assert_false (policy_flapping (policy, 1));
    heard_t heard = { .site_id = 2 };
    assert_int_equal (policy_tick (policy, T0 + HOURS (2), s_hear, &heard), 1);
    assert_string_equal (heard.text, "MU");
    //  Site 1 again: remembered afresh, without settings
    assert_int_equal (policy_alert (policy, s_alert_of (1, 'D', T0 + HOURS (3), 7), T0 + HOURS (3)),
                      POLICY_SEND);
    heard_t none = { 0 };
    assert_int_equal (policy_tick (policy, T0 + HOURS (9), s_hear, &none), 0);
    policy_destroy (&policy);
    policy_destroy (&policy);                       //  safe twice
}

//  100,000 sites: each reminded once an hour, by one tick, once; removing
//  half (the dense array moves sites into the holes) keeps the rest apart.
#define SCALE_SITES 100000

typedef struct {
    size_t count;               //  notices heard
    uint8_t heard [SCALE_SITES + 1];    //  per site id, notices heard
} tally_t;

static void
s_tally (notice_kind_t kind, const sq_alert_t *latest, uint32_t changes, void *arg)
{
    tally_t *tally = (tally_t *) arg;
    assert_int_equal (kind, NOTICE_REMINDER);
    assert_int_equal (changes, 0);
    assert_in_range (latest->site_id, 1, SCALE_SITES);
    assert_int_equal (tally->heard [latest->site_id]++, 0);
    tally->count++;
}

static size_t
s_tick_tally (policy_t *policy, int64_t now_us, tally_t *tally)
{
    memset (tally, 0, sizeof (tally_t));
    size_t count = policy_tick (policy, now_us, s_tally, tally);
    assert_int_equal (count, tally->count);
    return count;
}

static void
test_scale (void **state)
{
    (void) state;
    static tally_t tally;
    policy_t *policy = policy_new ();
    policy_site_t settings = { REMIND_HOURLY, FLAP_2_IN_10 };
    for (uint64_t site_id = 1; site_id <= SCALE_SITES; site_id++) {
        policy_set_site (policy, site_id, &settings);
        assert_int_equal (policy_alert (policy, s_alert_of (site_id, 'D', T0, site_id), T0),
                          POLICY_SEND);
    }
    assert_int_equal (s_tick_tally (policy, T0 + HOURS (1) - 1, &tally), 0);
    assert_int_equal (s_tick_tally (policy, T0 + HOURS (1), &tally), SCALE_SITES);
    assert_int_equal (s_tick_tally (policy, T0 + HOURS (1) + SECONDS (1), &tally), 0);

    for (uint64_t site_id = 1; site_id <= SCALE_SITES; site_id += 2)
        policy_remove_site (policy, site_id);
    policy_remove_site (policy, SCALE_SITES + 1);   //  unknown: harmless
    assert_int_equal (s_tick_tally (policy, T0 + HOURS (2), &tally), SCALE_SITES / 2);
    for (uint64_t site_id = 1; site_id <= SCALE_SITES; site_id++)
        assert_int_equal (tally.heard [site_id], site_id % 2 ? 0 : 1);

    //  Every site left is found by its id: all back up, so none reminded
    for (uint64_t site_id = SCALE_SITES; site_id >= 2; site_id -= 2)
        assert_int_equal (policy_alert (policy, s_alert_of (site_id, 'U', T0 + HOURS (2) + 1,
                                                            SCALE_SITES + site_id),
                                        T0 + HOURS (2) + 1), POLICY_SEND);
    //  A removed site comes back without settings: never reminded
    assert_int_equal (policy_alert (policy, s_alert_of (1, 'D', T0 + HOURS (3), 1), T0 + HOURS (3)),
                      POLICY_SEND);
    assert_int_equal (s_tick_tally (policy, T0 + HOURS (9), &tally), 0);
    policy_destroy (&policy);
}

static void
test_names (void **state)
{
    (void) state;
    assert_string_equal (policy_verdict_name (POLICY_SEND), "send");
    assert_string_equal (policy_verdict_name (POLICY_FLAPPING), "flapping");
    assert_string_equal (policy_verdict_name (POLICY_HUSH_FLAPPING), "hush_flapping");
    assert_string_equal (policy_verdict_name (POLICY_HUSH_MAINTENANCE), "hush_maintenance");
    assert_string_equal (policy_verdict_name (POLICY_VERDICT_COUNT), "?");
}

//  An alert older than the one last heard of (caught up late from the
//  store) or the same one again tells nobody and changes nothing: the
//  site stays down, and the reminder still comes an hour after the DOWN.
static void
test_stale_alert (void **state)
{
    policy_t *policy = policy_new ();
    policy_site_t settings = { .remind_every_ms = 3600000 };
    policy_set_site (policy, SITE, &settings);
    assert_int_equal (policy_alert (policy, s_alert_of (SITE, 'D', T0 + SECONDS (10), 2), T0),
                      POLICY_SEND);
    assert_int_equal (policy_alert (policy, s_alert_of (SITE, 'U', T0 + SECONDS (5), 1), T0),
                      POLICY_HUSH_STALE);
    assert_int_equal (policy_alert (policy, s_alert_of (SITE, 'D', T0 + SECONDS (10), 2), T0),
                      POLICY_HUSH_STALE);
    heard_t heard = { .site_id = SITE };
    assert_int_equal (policy_tick (policy, T0 + HOURS (1) - 1, s_hear, &heard), 0);
    assert_int_equal (policy_tick (policy, T0 + HOURS (1), s_hear, &heard), 1);
    assert_string_equal (heard.text, "RD");
    //  A newer change is heard again.
    assert_int_equal (policy_alert (policy, s_alert_of (SITE, 'U', T0 + HOURS (2), 3),
                                    T0 + HOURS (2)), POLICY_SEND);
    policy_destroy (&policy);
}

//  Restored with a state its owner was never told (hushed before the
//  restart): one notice says where the site is, once no window holds.
static void
test_restore_untold_state (void **state)
{
    policy_t *policy = policy_new ();
    policy_site_t settings = { .remind_every_ms = 0 };
    policy_set_site (policy, SITE, &settings);
    policy_restore (policy, s_alert_of (SITE, 'D', T0, 5), SQ_STATE_UP, T0 - HOURS (1));
    heard_t heard = { .site_id = SITE };
    assert_int_equal (policy_tick (policy, T0 + SECONDS (1), s_hear, &heard), 1);
    assert_int_equal (heard.text [1], 'D');
    heard_t again = { .site_id = SITE };
    assert_int_equal (policy_tick (policy, T0 + SECONDS (2), s_hear, &again), 0);
    //  Told the same state it was in: nothing.
    policy_restore (policy, s_alert_of (SITE + 1, 'D', T0, 6), SQ_STATE_DOWN, T0);
    heard_t none = { 0 };
    assert_int_equal (policy_tick (policy, T0 + SECONDS (3), s_hear, &none), 0);
    policy_destroy (&policy);
}

//  Degraded reaches only owners who asked; the way back to the state the
//  owner was told is then nothing to tell.
static void
test_degraded (void **state)
{
    policy_t *policy = policy_new ();
    policy_site_t quiet = { .remind_every_ms = 0 };
    policy_set_site (policy, SITE, &quiet);
    sq_alert_t *alert = (sq_alert_t *) s_alert_of (SITE, 'U', T0, 1);
    alert->previous = SQ_STATE_UNKNOWN;
    assert_int_equal (policy_alert (policy, alert, T0), POLICY_SEND);
    alert = (sq_alert_t *) s_alert_of (SITE, 'U', T0 + SECONDS (10), 2);
    alert->state = SQ_STATE_DEGRADED;
    alert->previous = SQ_STATE_UP;
    assert_int_equal (policy_alert (policy, alert, T0), POLICY_HUSH_DEGRADED);
    alert = (sq_alert_t *) s_alert_of (SITE, 'U', T0 + SECONDS (20), 3);
    alert->previous = SQ_STATE_DEGRADED;
    assert_int_equal (policy_alert (policy, alert, T0), POLICY_HUSH_UNCHANGED);
    //  Degraded, then down: told down; then up from down: told up.
    alert = (sq_alert_t *) s_alert_of (SITE, 'U', T0 + SECONDS (30), 4);
    alert->state = SQ_STATE_DEGRADED;
    assert_int_equal (policy_alert (policy, alert, T0), POLICY_HUSH_DEGRADED);
    alert = (sq_alert_t *) s_alert_of (SITE, 'D', T0 + SECONDS (40), 5);
    alert->previous = SQ_STATE_DEGRADED;
    assert_int_equal (policy_alert (policy, alert, T0), POLICY_SEND);
    assert_int_equal (policy_alert (policy, s_alert_of (SITE, 'U', T0 + SECONDS (50), 6), T0),
                      POLICY_SEND);
    //  A site never told anything: degraded then up is nothing to tell.
    alert = (sq_alert_t *) s_alert_of (SITE + 1, 'U', T0 + SECONDS (10), 10);
    alert->state = SQ_STATE_DEGRADED;
    alert->previous = SQ_STATE_UNKNOWN;
    assert_int_equal (policy_alert (policy, alert, T0), POLICY_HUSH_DEGRADED);
    alert = (sq_alert_t *) s_alert_of (SITE + 1, 'U', T0 + SECONDS (20), 11);
    alert->previous = SQ_STATE_DEGRADED;
    assert_int_equal (policy_alert (policy, alert, T0), POLICY_HUSH_UNCHANGED);
    //  An owner who asked is told of degraded.
    policy_site_t asked = { .notify_degraded = true };
    policy_set_site (policy, SITE, &asked);
    alert = (sq_alert_t *) s_alert_of (SITE, 'U', T0 + SECONDS (60), 7);
    alert->state = SQ_STATE_DEGRADED;
    assert_int_equal (policy_alert (policy, alert, T0), POLICY_SEND);
    policy_destroy (&policy);
}

//  Certificate warnings: the tightest threshold reached, one warning
//  covering those above it; whole days, rounded down.
static void
test_cert_thresholds (void **state)
{
    sq_days_t days = { .count = 2, .day = { 14, 3 } };
    assert_int_equal (notice_cert_threshold (&days, 30), -1);
    assert_int_equal (notice_cert_threshold (&days, 15), -1);
    assert_int_equal (notice_cert_threshold (&days, 14), 14);
    assert_int_equal (notice_cert_threshold (&days, 4), 14);
    assert_int_equal (notice_cert_threshold (&days, 3), 3);
    assert_int_equal (notice_cert_threshold (&days, 0), 3);
    assert_int_equal (notice_cert_threshold (&days, -2), 3);
    sq_days_t none = { .count = 0 };
    assert_int_equal (notice_cert_threshold (&none, 0), -1);
    int64_t now = T0_S;
    assert_int_equal (notice_days_left (now + 14 * 86400, now), 14);
    assert_int_equal (notice_days_left (now + 14 * 86400 - 1, now), 13);
    assert_int_equal (notice_days_left (now, now), 0);
    assert_int_equal (notice_days_left (now - 1, now), -1);
    assert_int_equal (notice_days_left (now - 86400, now), -1);
    assert_int_equal (notice_days_left (now - 86401, now), -2);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_table),
        cmocka_unit_test (test_latest_whole),
        cmocka_unit_test (test_sites_apart),
        cmocka_unit_test (test_scale),
        cmocka_unit_test (test_names),
        cmocka_unit_test (test_stale_alert),
        cmocka_unit_test (test_restore_untold_state),
        cmocka_unit_test (test_degraded),
        cmocka_unit_test (test_cert_thresholds),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
