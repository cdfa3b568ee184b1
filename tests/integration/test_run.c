/*  test_run.c: what only real `squirrel run` processes show.

    A restart keeps what the store knew: a site that went down and is still
    down when `run` starts again raises no second DOWN.  SIGHUP reaches the
    running actors: a site it adds is checked, a site it removes is checked
    no more.  Checks are seen where they land, in the test site's hit
    counts, not in the store (which a reload updates either way).

    Real processes (tests/support/cli_harness.h), the real test site, the
    real webhook receiver; every wait has a deadline.  The config loader's
    floor is a 10 s interval and first checks are spread over it, so each
    test takes a few intervals.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_harness.h"
#include "fixture_process.h"
#include "testsite.h"
#include "webhook.h"
#include "store.h"

#include <curl/curl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START_MS        15000   //  `run` says "monitoring" (ASan start-up included)
#define STOP_MS         30000   //  a clean stop
#define ROUND_MS        35000   //  two checks: a spread first one, then one interval


//  A config of the given sites (YAML list items), owner alice.  Caller frees.
static char *
s_config (cli_harness_t *harness, const char *sites)
{
    char *alice = webhook_url (cli_harness_webhook, "/alice");
    char *path = cli_harness_config (harness, "run.yaml", alice, sites);
    free (alice);
    assert_non_null (path);
    return path;
}

//  Results the store holds (committed), 0 before there is a store.
static long long
s_stored_results (cli_harness_t *harness)
{
    char *path = cli_harness_path (harness, "data/" STORE_FILE_NAME);
    sqlite3 *db = NULL;
    long long count = 0;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout (db, 1000);
        sqlite3_stmt *statement = NULL;
        if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM result", -1, &statement, NULL)
                == SQLITE_OK
        &&  sqlite3_step (statement) == SQLITE_ROW)
            count = sqlite3_column_int64 (statement, 0);
        sqlite3_finalize (statement);
    }
    sqlite3_close (db);
    free (path);
    return count;
}

//  Wait until the store holds at least want results; the last count.
static long long
s_wait_stored_results (cli_harness_t *harness, long long want, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    long long count = s_stored_results (harness);
    while (count < want && fixture_now_ms () < deadline) {
        fixture_sleep_ms (100);
        count = s_stored_results (harness);
    }
    if (count < want)
        fprintf (stderr, "the store held %lld results, not %lld, within %d ms\n", count, want,
                 timeout_ms);
    return count;
}

//  A counter of the collector from the counters `run` logs when it stops;
//  -1 if the log has none.
static long long
s_collector_counter_at_stop (cli_harness_t *harness, const char *log, const char *name)
{
    char *text = cli_harness_read (harness, log);
    long long value = -1;
    const char *line = strstr (text, "stopped; counters at stop:");
    line = line ? strstr (line, " collector: sites=") : NULL;     //  a log line of its own
    const char *end = line ? strchr (line + 1, '\n') : NULL;
    char needle [64];
    snprintf (needle, sizeof (needle), " %s=", name);
    const char *at = line ? strstr (line, needle) : NULL;
    if (at && (!end || at < end))
        value = atoll (at + strlen (needle));
    free (text);
    return value;
}

//  Wait until a SIGHUP was taken for the count-th time, and check what it
//  says it loaded.
static void
s_wait_reloaded (cli_harness_t *harness, const char *config, size_t count, size_t sites)
{
    assert_true (cli_harness_wait_count (harness, "run.err", "squirrel run: reloaded ", count,
                                         10000));
    char *line = fixture_format ("squirrel run: reloaded %s: %zu sites", config, sites);
    assert_non_null (line);
    assert_true (cli_harness_count (harness, "run.err", line) >= 1);
    free (line);
}

//  `run`, the site goes down, stop, `run` again: the second run knows it is
//  down (from the store) and says nothing new.  Without the restore, the
//  second run would see UNKNOWN -> SUSPECT -> DOWN and alert again.
static void
test_restart_does_not_alert_again (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *url = testsite_url (cli_harness_site, "http", "/switch/restart");
    char *sites = fixture_format ("  - url: %s\n    owner: alice\n    failure_threshold: 2\n", url);
    char *config = s_config (harness, sites);
    size_t posts = webhook_count (cli_harness_webhook);

    //  The watcher first: it reconnects by itself to each run's feed.
    const char *watch_args [] = { "watch", "--json", cli_harness_feed (harness), NULL };
    pid_t watch = cli_harness_spawn (harness, "watch.out", "watch.err", watch_args);
    assert_true (watch > 0);
    const char *run_args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run1.out", "run1.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run1.err", "monitoring 1 sites", START_MS));

    //  Up first (no alert for that), then down: one DOWN, seen by both.
    assert_true (s_wait_stored_results (harness, 1, ROUND_MS) >= 1);
    assert_int_equal (testsite_request (cli_harness_site, "/set/restart/500"), 200);
    assert_true (cli_harness_wait_text (harness, "watch.out", "\"state\":\"down\"", ROUND_MS));
    assert_true (webhook_wait (cli_harness_webhook, posts + 1, 10000));
    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);
    assert_int_equal (cli_harness_count (harness, "run1.err", "collector: ALERT #"), 1);
    long long stored = s_stored_results (harness);
    long hits = testsite_hits (cli_harness_site, "/switch/restart");
    assert_true (hits >= 3);            //  up once, down twice, maybe more

    //  Again, the site still down.  Wait until this run has checked it
    //  failure_threshold (2) times and the collector has taken both results
    //  (they are in the store): an alert, if any, went out by then.
    run = cli_harness_spawn (harness, "run2.out", "run2.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run2.err", "monitoring 1 sites", START_MS));
    assert_true (s_wait_stored_results (harness, stored + 2, ROUND_MS) >= stored + 2);
    assert_true (testsite_hits (cli_harness_site, "/switch/restart") >= hits + 2);
    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);
    assert_int_equal (kill (watch, SIGINT), 0);
    assert_int_equal (cli_harness_reap (harness, watch, 5000), 0);

    //  Exactly one DOWN across both runs, wherever one would show.
    assert_true (s_collector_counter_at_stop (harness, "run2.err", "results") >= 2);
    assert_int_equal (s_collector_counter_at_stop (harness, "run2.err", "alerts"), 0);
    assert_int_equal (cli_harness_count (harness, "run2.err", "collector: ALERT #"), 0);
    assert_int_equal (cli_harness_count (harness, "watch.out", "\"state\":\"down\""), 1);
    assert_int_equal (cli_harness_count (harness, "watch.out", "\n"), 1);
    assert_int_equal (webhook_count (cli_harness_webhook), posts + 1);
    char *body = webhook_body (cli_harness_webhook, posts);
    assert_non_null (body);
    assert_non_null (strstr (body, "\"state\":\"down\""));
    assert_non_null (strstr (body, "/switch/restart"));
    free (body);

    assert_int_equal (testsite_request (cli_harness_site, "/set/restart/200"), 200);
    free (config);
    free (sites);
    free (url);
}

//  SIGHUP adds a site: it is checked.  SIGHUP removes it: it is not.
static void
test_reload_reaches_the_actors (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *control = testsite_url (cli_harness_site, "http", "/count/reload-control");
    char *added = testsite_url (cli_harness_site, "http", "/count/reload-added");
    char *one = fixture_format ("  - url: %s\n", control);
    char *two = fixture_format ("  - url: %s\n  - url: %s\n", control, added);
    char *config = s_config (harness, one);
    const char *run_args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run.out", "run.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run.err", "monitoring 1 sites", START_MS));
    long before = testsite_hits (cli_harness_site, "/count/reload-added");
    assert_true (before >= 0);

    //  Added: its first check comes within one interval.
    free (s_config (harness, two));
    assert_int_equal (kill (run, SIGHUP), 0);
    s_wait_reloaded (harness, config, 1, 2);
    assert_true (testsite_wait_hits (cli_harness_site, "/count/reload-added", before + 1, ROUND_MS)
                 >= before + 1);

    //  Removed: the site that stays is checked twice more, so more than an
    //  interval has passed, and the removed one not once.
    free (s_config (harness, one));
    assert_int_equal (kill (run, SIGHUP), 0);
    s_wait_reloaded (harness, config, 2, 1);
    long removed_at = testsite_hits (cli_harness_site, "/count/reload-added");
    long control_at = testsite_hits (cli_harness_site, "/count/reload-control");
    assert_true (removed_at >= before + 1);
    assert_true (control_at >= 0);
    assert_true (testsite_wait_hits (cli_harness_site, "/count/reload-control", control_at + 2, ROUND_MS)
                 >= control_at + 2);
    assert_int_equal (testsite_hits (cli_harness_site, "/count/reload-added"), removed_at);
    //  No reload above changed what the topology is built from: no warning.
    const char *warning = "take effect at the next start; the sites are reloaded now";
    assert_int_equal (cli_harness_count (harness, "run.err", warning), 0);
    //  A new heartbeat does not apply until the next start, and it says so.
    char *text = cli_harness_read (harness, "run.yaml");
    char *beat = fixture_format ("heartbeat: 2s\n%s", text);
    assert_int_equal (cli_harness_write (harness, "run.yaml", beat), 0);
    assert_int_equal (kill (run, SIGHUP), 0);
    s_wait_reloaded (harness, config, 3, 1);
    assert_int_equal (cli_harness_count (harness, "run.err", warning), 1);
    free (beat);
    free (text);

    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);
    free (config);
    free (two);
    free (one);
    free (added);
    free (control);
}

//  test_run [PATTERN]: only the tests whose names match PATTERN (cmocka's
//  filter, '*' and '?'), e.g. test_run 'test_reload*'.
int
main (int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter (argv [1]);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        CLI_HARNESS_TEST (test_restart_does_not_alert_again),
        CLI_HARNESS_TEST (test_reload_reaches_the_actors),
    };
    int rc = cmocka_run_group_tests (tests, cli_harness_group_setup, cli_harness_group_teardown);
    curl_global_cleanup ();
    return rc;
}
