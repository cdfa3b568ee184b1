/*  test_collector_health.c: the collector judges the pingers' own health
    (actors/pinger_health.h) from the results they send.

    A collector runs alone in this process over inproc, with no dispatcher
    and no pinger: the RESULTs the test pushes into its results endpoint
    are the only ones it ever sees.  The test binds the DONE endpoint the
    collector connects to (in a topology the dispatcher binds it), so each
    injected result is answered by exactly one DONE: that DONE is both the
    barrier that says "this result is accounted for" and a view of what the
    dispatcher would be told (recheck, avoid, quarantined).  A SUB on the
    feed counts the ALERTs.

    The rules under test (pinger_health.h): HEALTH_MIN = 6 comparisons
    before any judgement, quarantine at >= 75 % disagreements, release
    after HEALTH_RELEASE = 5 agreements in a row.  A pinger's verdict is
    judged before the collector decides whether to use it, so the result
    that quarantines a pinger is already the first one left out, and the
    one that releases it is already used.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "collector.h"
#include "sq_actor.h"
#include "sq_wire.h"
#include "pinger_health.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DAY_MS        86400000    //  the sites' interval: every verdict stays fresh
#define S_WAIT_MS       5000        //  the deadline of every wait for the collector
#define S_QUIET_MS      200         //  the feed is drained until it is quiet this long

_Static_assert (HEALTH_MIN == 6 && HEALTH_RELEASE == 5 && HEALTH_ENTER_PERCENT == 75,
                "the counts in these tests follow the rules of pinger_health.h");

//  One collector and the sockets around it.
typedef struct {
    zactor_t *collector;
    zsock_t *results;           //  PUSH, as a pinger
    zsock_t *done;              //  PULL, as the dispatcher
    zsock_t *feed;              //  SUB to everything, as a watcher
    uint64_t job;               //  last job id sent: each result gets a newer one
    char data_dir [64];         //  "" when the collector has none
} rig_t;

//  What the running test made, destroyed by s_teardown even when an
//  assertion ends the test early.
static rig_t *s_rig;
static config_t *s_config;

static rig_t *
s_rig_new (const char *name, bool with_data_dir)
{
    rig_t *rig = (rig_t *) calloc (1, sizeof (rig_t));
    assert_non_null (rig);
    char results [96], feed [96], done [96];
    snprintf (results, sizeof (results), "inproc://health-%s-results", name);
    snprintf (feed, sizeof (feed), "inproc://health-%s-feed", name);
    snprintf (done, sizeof (done), "inproc://health-%s-done", name);
    if (with_data_dir) {
        snprintf (rig->data_dir, sizeof (rig->data_dir), "/tmp/sq-health-XXXXXX");
        assert_non_null (mkdtemp (rig->data_dir));
    }
    //  The dispatcher's side first: the collector connects to it.
    rig->done = zsock_new (ZMQ_PULL);
    assert_non_null (rig->done);
    assert_int_equal (zsock_bind (rig->done, "%s", done), 0);
    zsock_set_rcvtimeo (rig->done, S_WAIT_MS);
    collector_args_t args = { .results = results, .feed = feed, .done = done,
                              .data_dir = with_data_dir ? rig->data_dir : NULL };
    rig->collector = sq_actor_start (collector_actor, &args, "collector");
    assert_non_null (rig->collector);
    rig->results = zsock_new (ZMQ_PUSH);
    assert_non_null (rig->results);
    assert_int_equal (zsock_connect (rig->results, "%s", results), 0);
    rig->feed = zsock_new_sub (feed, "");
    assert_non_null (rig->feed);
    //  Let the subscription reach the PUB before anything is published.
    zclock_sleep (100);
    s_rig = rig;
    return rig;
}

static void
s_rig_destroy (rig_t **rig_p)
{
    rig_t *rig = *rig_p;
    zsock_destroy (&rig->results);
    zactor_destroy (&rig->collector);
    zsock_destroy (&rig->feed);
    zsock_destroy (&rig->done);
    if (rig->data_dir [0]) {
        char command [128];
        snprintf (command, sizeof (command), "rm -rf '%s'", rig->data_dir);
        assert_int_equal (system (command), 0);
    }
    free (rig);
    *rig_p = NULL;
}

//  An empty config, with the built-in defaults, for the running test.
static config_t *
s_config_new (void)
{
    s_config = config_new_empty ();
    assert_non_null (s_config);
    return s_config;
}

static int
s_teardown (void **state)
{
    if (s_rig)
        s_rig_destroy (&s_rig);
    config_destroy (&s_config);
    return 0;
}

//  Hand the config's sites (and canaries) to the collector.
static void
s_hand (rig_t *rig, const config_t *config)
{
    char error [256];
    zmsg_t *batch = config_sites_batch (config, error, sizeof (error));
    assert_non_null (batch);
    assert_int_equal (sq_actor_set_sites (rig->collector, batch), 0);
    zmsg_destroy (&batch);
}

//  A site that no real check will ever reach in the test's time.
static void
s_add_site (config_t *config, uint64_t id, uint32_t failure_threshold,
            uint32_t success_threshold)
{
    char url [64], error [256];
    snprintf (url, sizeof (url), "http://127.0.0.1:1/site-%llu", (unsigned long long) id);
    assert_int_equal (config_add_site (config, url, error, sizeof (error)), 0);
    config_site_t *site = &config->sites [config->site_count - 1];
    site->id = id;
    site->interval_ms = S_DAY_MS;
    site->failure_threshold = failure_threshold;
    site->success_threshold = success_threshold;
}

//  One result from pinger in region on site, with a newer job id; waits
//  for its DONE (the collector has accounted for it) and gives it back.
static sq_done_t
s_result (rig_t *rig, uint64_t site_id, const char *pinger, const char *region, bool up)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_RESULT;
    msg.result.job_id = ++rig->job;
    msg.result.attempt = 1;
    msg.result.site_id = site_id;
    snprintf (msg.result.pinger_id, sizeof (msg.result.pinger_id), "%s", pinger);
    snprintf (msg.result.region, sizeof (msg.result.region), "%s", region);
    msg.result.up = up;
    msg.result.reason = up ? SQ_REASON_OK : SQ_REASON_CONNECT;
    msg.result.http_status = up ? 200 : 0;
    if (!up)
        snprintf (msg.result.error, sizeof (msg.result.error), "Connection refused");
    msg.result.at = sq_wallclock_us ();
    assert_int_equal (sq_wire_send (rig->results, NULL, 0, &msg), 0);

    sq_msg_t reply;
    assert_int_equal (sq_wire_recv (rig->done, NULL, NULL, &reply, NULL, 0), SQ_PROTO_OK);
    assert_int_equal (reply.type, SQ_MSG_DONE);
    assert_int_equal (reply.done.job_id, rig->job);
    assert_int_equal (reply.done.site_id, site_id);
    assert_string_equal (reply.done.pinger, pinger);
    assert_string_equal (reply.done.region, region);
    return reply.done;
}

//  A counter, read once: callers have had the DONE of every result sent.
static long long
s_counter (rig_t *rig, const char *name)
{
    char *stats = sq_actor_stats (rig->collector);
    assert_non_null (stats);
    long long value = sq_stats_value (stats, name);
    zstr_free (&stats);
    assert_true (value >= 0);
    return value;
}

//  Wait, with a deadline, until the collector has accounted for want
//  results, used or left out (a quarantined pinger's); the count seen.
//  (Each result's DONE already said so; this is the counters' word.)
static long long
s_wait_accounted (rig_t *rig, long long want)
{
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    long long seen = 0;
    while (true) {
        seen = s_counter (rig, "results") + s_counter (rig, "quarantined_results");
        if (seen >= want || zclock_mono () >= deadline)
            return seen;
        zclock_sleep (10);
    }
}

//  ALERTs on the feed since the last call: read until it has been quiet
//  for S_QUIET_MS, within S_WAIT_MS in all.
static int
s_feed_alerts (rig_t *rig)
{
    int alerts = 0;
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    zsock_set_rcvtimeo (rig->feed, S_QUIET_MS);
    while (zclock_mono () < deadline) {
        char topic [SQ_URL_MAX + 16];
        size_t topic_size = sizeof (topic);
        sq_msg_t msg;
        int rc = sq_wire_recv (rig->feed, topic, &topic_size, &msg, NULL, 0);
        if (rc == SQ_WIRE_INTERRUPTED)
            break;              //  quiet
        assert_int_equal (rc, SQ_PROTO_OK);
        assert_int_equal (msg.type, SQ_MSG_ALERT);
        alerts++;
    }
    return alerts;
}

static void
s_assert_plain_done (sq_done_t done, bool recheck)
{
    assert_false (done.quarantined);
    assert_int_equal (done.recheck, recheck);
}

//  The DONE of a quarantined pinger's result: not used; another pinger of
//  the region (b here, healthy and fresh) checks again at once.
static void
s_assert_quarantined_done (sq_done_t done, const char *pinger)
{
    assert_true (done.quarantined);
    assert_true (done.recheck);
    assert_int_equal (done.delay_ms, 0);
    assert_string_equal (done.avoid, pinger);
}


//  --------------------------------------------------------------------------
//  Same-region comparisons: a pinger that fails where its neighbour succeeds

//  Site 1, failure_threshold 1 and success_threshold 1: a single verdict
//  moves the site, so every result that reaches the state machine shows
//  on the feed.  That is what makes the counts exact: b's up always comes
//  right before a's down, so before the quarantine every a down takes the
//  site UP -> DOWN (an ALERT) and every b up after it takes it back to UP
//  (an ALERT), and once a is in quarantine its downs would move the site
//  (an ALERT each) if they were used at all.  b's ups are never judged
//  (up while the other sees it down proves nothing), so b stays healthy.
static config_t *
s_one_site_config (void)
{
    config_t *config = s_config_new ();
    s_add_site (config, 1, 1, 1);
    return config;
}

//  Rounds of "b up, a down" on site 1, region eu, until a is quarantined
//  by its 6th down; returns with the counters checked at every step.
static void
s_quarantine_a (rig_t *rig)
{
    for (int round = 1; round <= HEALTH_MIN; round++) {
        sq_done_t done = s_result (rig, 1, "b", "eu", true);
        s_assert_plain_done (done, false);
        //  UNKNOWN -> UP (silent) the first time, DOWN -> UP (an ALERT) after.
        assert_int_equal (s_feed_alerts (rig), round == 1 ? 0 : 1);
        done = s_result (rig, 1, "a", "eu", false);
        if (round < HEALTH_MIN) {
            //  Judged (a disagreement each time), not yet enough to act on:
            //  the verdict is the site's, UP -> DOWN, published.
            s_assert_plain_done (done, false);
            assert_int_equal (s_counter (rig, "quarantines"), 0);
            assert_int_equal (s_counter (rig, "quarantined"), 0);
            assert_int_equal (s_feed_alerts (rig), 1);
        }
        else {
            //  6 of 6 disagreements: quarantined by this very result,
            //  which is already left out of the site's verdict (it would
            //  have taken the site DOWN, an ALERT).
            assert_int_equal (s_feed_alerts (rig), 0);
            assert_int_equal (s_counter (rig, "quarantines"), 1);
            assert_int_equal (s_counter (rig, "quarantined"), 1);
            s_assert_quarantined_done (done, "a");
        }
    }
    //  6 b ups and 5 a downs used; a's 6th down is quarantined.
    assert_int_equal (s_counter (rig, "results"), 2 * HEALTH_MIN - 1);
    assert_int_equal (s_counter (rig, "quarantined_results"), 1);
    //  Every a down before the quarantine (5) and every b up after one (5).
    assert_int_equal (s_counter (rig, "alerts"), 2 * (HEALTH_MIN - 1));
    assert_int_equal (s_counter (rig, "releases"), 0);
}

//  Whether data_dir/pingers.json, as the collector rewrites it every 5 s,
//  holds every one of the fragments, within 8 s.
static bool
s_pingers_file_has (rig_t *rig, const char *const *fragments, size_t count)
{
    char path [128];
    snprintf (path, sizeof (path), "%s/pingers.json", rig->data_dir);
    int64_t deadline = zclock_mono () + 8000;
    while (zclock_mono () < deadline) {
        FILE *file = fopen (path, "r");
        if (file) {
            char text [4096];
            size_t size = fread (text, 1, sizeof (text) - 1, file);
            fclose (file);
            text [size] = '\0';
            size_t found = 0;
            for (size_t index = 0; index < count; index++)
                found += strstr (text, fragments [index]) != NULL;
            if (found == count)
                return true;
        }
        zclock_sleep (100);
    }
    return false;
}

static void
test_pinger_failing_where_its_neighbour_succeeds_is_quarantined (void **state)
{
    rig_t *rig = s_rig_new ("same-region", true);
    config_t *config = s_one_site_config ();
    s_hand (rig, config);
    s_quarantine_a (rig);

    //  a keeps failing, three times in a row: with failure_threshold 1
    //  each would be an ALERT if it reached the site (it is UP, by b).
    long long results = s_counter (rig, "results");
    for (int index = 0; index < 3; index++) {
        s_assert_quarantined_done (s_result (rig, 1, "a", "eu", false), "a");
        assert_int_equal (s_feed_alerts (rig), 0);
    }
    //  b still sees it up (the site was UP: nothing to publish), and a
    //  fails again after it.
    s_assert_plain_done (s_result (rig, 1, "b", "eu", true), false);
    s_assert_quarantined_done (s_result (rig, 1, "a", "eu", false), "a");
    assert_int_equal (s_feed_alerts (rig), 0);

    assert_int_equal (s_counter (rig, "quarantined_results"), 1 + 4);
    assert_int_equal (s_counter (rig, "results"), results + 1);      //  b's only
    assert_int_equal (s_counter (rig, "alerts"), 2 * (HEALTH_MIN - 1));
    assert_int_equal (s_counter (rig, "quarantines"), 1);
    assert_int_equal (s_counter (rig, "quarantined"), 1);
    assert_int_equal (s_counter (rig, "releases"), 0);
    assert_int_equal (s_counter (rig, "canary_results"), 0);

    //  And `squirrel status` reads the standing from data_dir.
    const char *const fragments [] = {
        "{\"id\":\"a\",\"region\":\"eu\",\"state\":\"quarantined\"",
        "{\"id\":\"b\",\"region\":\"eu\",\"state\":\"healthy\"",
    };
    assert_true (s_pingers_file_has (rig, fragments, 2));
    assert_int_equal (s_counter (rig, "pingers_file_errors"), 0);

}


//  --------------------------------------------------------------------------
//  A regional view is not a pinger fault

//  Site 1 (failure_threshold 2, the default success_threshold): eu's
//  pingers a and b see it down, us's pingers see it up, for 10 rounds.
//  a and b agree with each other; the us pingers with each other (or with
//  no one); nobody is compared across regions, so nobody is quarantined.
static void
s_regional_view (const char *name, const char *const *us, size_t us_count)
{
    rig_t *rig = s_rig_new (name, false);
    config_t *config = s_config_new ();
    s_add_site (config, 1, 2, 1);
    s_hand (rig, config);
    for (int round = 0; round < 10; round++) {
        s_result (rig, 1, "a", "eu", false);
        s_result (rig, 1, "b", "eu", false);
        for (size_t index = 0; index < us_count; index++)
            s_result (rig, 1, us [index], "us", true);
    }
    long long total = 10 * (2 + (long long) us_count);
    assert_int_equal (s_wait_accounted (rig, total), total);
    assert_int_equal (s_counter (rig, "quarantines"), 0);
    assert_int_equal (s_counter (rig, "quarantined"), 0);
    assert_int_equal (s_counter (rig, "quarantined_results"), 0);
    assert_int_equal (s_counter (rig, "results"), total);
}

static void
test_regional_view_is_not_a_pinger_fault (void **state)
{
    const char *const us [] = { "c" };
    s_regional_view ("regional", us, 1);
}

//  The same with three pingers in us: were sites compared across regions,
//  a's and b's downs would each face three ups (and one down) and both
//  would be quarantined.  (With one pinger in us, as above, it would be a
//  tie, which proves nothing either way.)
static void
test_regional_view_outnumbered_is_not_a_pinger_fault (void **state)
{
    const char *const us [] = { "c", "d", "e" };
    s_regional_view ("regional-outnumbered", us, 3);
}


//  --------------------------------------------------------------------------
//  A mass outage quarantines nobody

static void
test_mass_outage_quarantines_nobody (void **state)
{
    rig_t *rig = s_rig_new ("mass", false);
    config_t *config = s_config_new ();
    for (uint64_t id = 1; id <= 3; id++)
        s_add_site (config, id, 2, 1);
    s_hand (rig, config);
    for (int round = 0; round < 10; round++)
        for (uint64_t id = 1; id <= 3; id++) {
            s_result (rig, id, "a", "eu", false);
            s_result (rig, id, "b", "eu", false);
            s_result (rig, id, "c", "us", false);
        }
    assert_int_equal (s_wait_accounted (rig, 90), 90);
    assert_int_equal (s_counter (rig, "quarantines"), 0);
    assert_int_equal (s_counter (rig, "quarantined"), 0);
    assert_int_equal (s_counter (rig, "quarantined_results"), 0);
    assert_int_equal (s_counter (rig, "results"), 90);
}


//  --------------------------------------------------------------------------
//  Canaries compare across regions

static void
test_canary_judges_a_lone_pinger_against_other_regions (void **state)
{
    rig_t *rig = s_rig_new ("canary", false);
    config_t *config = s_config_new ();
    //  As config_canaries_parse stores them; canaries take the defaults.
    config->canaries = (char **) calloc (CONFIG_CANARIES_MAX, sizeof (char *));
    assert_non_null (config->canaries);
    config->canaries [0] = strdup ("http://127.0.0.1:1/canary");
    assert_non_null (config->canaries [0]);
    config->canary_count = 1;
    config->defaults.interval_ms = S_DAY_MS;
    //  A plain site for a, to show the feed works in this rig.
    s_add_site (config, 1, 1, 1);
    s_hand (rig, config);
    assert_int_equal (s_counter (rig, "sites"), 2);

    const uint64_t canary = SQ_CANARY_ID_BASE;
    for (int round = 1; round <= HEALTH_MIN + 2; round++) {
        s_assert_plain_done (s_result (rig, canary, "a", "eu", true), false);
        s_assert_plain_done (s_result (rig, canary, "b", "eu", true), false);
        //  c, the only pinger of us, fails where both eu pingers succeed.
        sq_done_t done = s_result (rig, canary, "c", "us", false);
        assert_false (done.recheck);        //  a canary is never rechecked
        assert_int_equal (done.quarantined, round >= HEALTH_MIN);
        assert_int_equal (s_counter (rig, "quarantines"), round >= HEALTH_MIN ? 1 : 0);
        assert_int_equal (s_counter (rig, "quarantined"), round >= HEALTH_MIN ? 1 : 0);
        assert_int_equal (s_counter (rig, "canary_results"), 3 * round);
    }
    //  The canary has no state: no result of it is a site's, no ALERT.
    assert_int_equal (s_feed_alerts (rig), 0);
    assert_int_equal (s_counter (rig, "results"), 0);
    assert_int_equal (s_counter (rig, "quarantined_results"), 0);
    assert_int_equal (s_counter (rig, "alerts"), 0);

    //  The feed does carry the ALERT of a real site.
    s_assert_plain_done (s_result (rig, 1, "a", "eu", false), false);
    assert_int_equal (s_feed_alerts (rig), 1);
    assert_int_equal (s_counter (rig, "alerts"), 1);
}


//  --------------------------------------------------------------------------
//  Release

static void
test_quarantined_pinger_is_let_back_after_five_agreements (void **state)
{
    rig_t *rig = s_rig_new ("release", false);
    config_t *config = s_one_site_config ();
    s_hand (rig, config);
    s_quarantine_a (rig);
    long long results = s_counter (rig, "results");
    long long alerts = s_counter (rig, "alerts");

    //  a sees the site up again, as b does.
    for (int agreement = 1; agreement <= HEALTH_RELEASE; agreement++) {
        s_assert_plain_done (s_result (rig, 1, "b", "eu", true), false);
        sq_done_t done = s_result (rig, 1, "a", "eu", true);
        if (agreement < HEALTH_RELEASE) {
            s_assert_quarantined_done (done, "a");
            assert_int_equal (s_counter (rig, "releases"), 0);
            assert_int_equal (s_counter (rig, "quarantined"), 1);
            assert_int_equal (s_counter (rig, "quarantined_results"), 1 + agreement);
        }
        else {
            //  Let back by this result, which is used again.
            s_assert_plain_done (done, false);
            assert_int_equal (s_counter (rig, "releases"), 1);
            assert_int_equal (s_counter (rig, "quarantined"), 0);
            assert_int_equal (s_counter (rig, "quarantined_results"), HEALTH_RELEASE);
        }
    }
    //  5 of b's ups and a's last; the site stayed UP throughout.
    assert_int_equal (s_counter (rig, "results"), results + HEALTH_RELEASE + 1);
    assert_int_equal (s_counter (rig, "alerts"), alerts);
    assert_int_equal (s_feed_alerts (rig), 0);

    //  Its history starts afresh: its next down is the site's again
    //  (UP -> DOWN with failure_threshold 1, an ALERT), not a quarantine.
    s_assert_plain_done (s_result (rig, 1, "a", "eu", false), false);
    assert_int_equal (s_counter (rig, "quarantines"), 1);
    assert_int_equal (s_counter (rig, "quarantined"), 0);
    assert_int_equal (s_counter (rig, "alerts"), alerts + 1);
    assert_int_equal (s_feed_alerts (rig), 1);
}


//  --------------------------------------------------------------------------
//  A quarantined pinger's verdicts are not the others'

//  a is quarantined and keeps failing; c, a new pinger of eu, fails too
//  while b sees the site up.  c is compared with b alone: 6 disagreements
//  quarantine it.  Were a's downs counted, c would face one up and one
//  down, a tie that proves nothing, and would never be quarantined.
static void
test_quarantined_verdicts_are_not_peers (void **state)
{
    rig_t *rig = s_rig_new ("not-peers", false);
    config_t *config = s_one_site_config ();
    s_hand (rig, config);
    s_quarantine_a (rig);
    for (int round = 1; round <= HEALTH_MIN; round++) {
        s_result (rig, 1, "b", "eu", true);
        s_assert_quarantined_done (s_result (rig, 1, "a", "eu", false), "a");
        sq_done_t done = s_result (rig, 1, "c", "eu", false);
        assert_int_equal (done.quarantined, round == HEALTH_MIN);
        assert_int_equal (s_counter (rig, "quarantines"), round == HEALTH_MIN ? 2 : 1);
        assert_int_equal (s_counter (rig, "quarantined"), round == HEALTH_MIN ? 2 : 1);
    }
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
#define S_TEST(test) cmocka_unit_test_teardown (test, s_teardown)
    const struct CMUnitTest tests [] = {
        S_TEST (test_pinger_failing_where_its_neighbour_succeeds_is_quarantined),
        S_TEST (test_regional_view_is_not_a_pinger_fault),
        S_TEST (test_regional_view_outnumbered_is_not_a_pinger_fault),
        S_TEST (test_mass_outage_quarantines_nobody),
        S_TEST (test_canary_judges_a_lone_pinger_against_other_regions),
        S_TEST (test_quarantined_pinger_is_let_back_after_five_agreements),
        S_TEST (test_quarantined_verdicts_are_not_peers),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
