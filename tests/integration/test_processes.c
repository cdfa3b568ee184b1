/*  test_processes.c: `squirrel run` with workers: { mode: processes }.

    Every part (collector with the store, notifier, dispatcher, two
    pingers) is a child process.  Each of collector, dispatcher and
    notifier is killed with SIGKILL in turn: the supervisor logs the death
    with its signal and starts the part again, checks go on (the test
    site's own hit counter grows), and the site that was down before the
    kills is announced exactly once (webhook and log), because a collector
    started again restores states from the store.  Then a clean stop.
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

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START_MS        20000   //  the supervisor and five children start (ASan)
#define ROUND_MS        35000   //  two checks: a spread first one, then one interval
#define STOP_MS         60000   //  a clean stop of every child


static void
test_parts_restart_and_nothing_is_said_twice (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    assert_int_equal (testsite_request (cli_harness_site, "/set/procs/500"), 200);
    char *up = testsite_url (cli_harness_site, "http", "/count/procs-up");
    char *down = testsite_url (cli_harness_site, "http", "/switch/procs");
    char *sites = fixture_format ("  - url: %s\n    owner: alice\n  - url: %s\n    owner: alice\n",
                                  up, down);
    char *alice = webhook_url (cli_harness_webhook, "/alice");
    char *config = cli_harness_config (harness, "procs.yaml", alice, sites);
    assert_non_null (config);
    //  The harness's config, in processes mode with two pingers.
    char *text = cli_harness_read (harness, "procs.yaml");
    char *more = fixture_format ("workers:\n  mode: processes\n  pingers: 2\n%s", text);
    assert_int_equal (cli_harness_write (harness, "procs.yaml", more), 0);
    size_t posts = webhook_count (cli_harness_webhook);

    const char *args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run.out", "run.err", args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run.err", "monitoring 2 sites from", START_MS));
    assert_true (cli_harness_wait_text (harness, "run.err", "with 5 processes", 1000));
    //  The down site is announced once.
    assert_true (webhook_wait (cli_harness_webhook, posts + 1, ROUND_MS));
    assert_true (cli_harness_wait_text (harness, "run.err", "ALERT #1 ", 5000));

    const char *parts [] = { "collector", "dispatcher", "notifier" };
    for (size_t index = 0; index < 3; index++) {
        pid_t pid = cli_harness_last_pid (harness, "run.err", parts [index]);
        assert_true (pid > 0);
        long hits = testsite_hits (cli_harness_site, "/count/procs-up");
        assert_int_equal (kill (pid, SIGKILL), 0);
        char *died = fixture_format ("%s (pid %d) was killed by signal 9; restarting it in",
                                     parts [index], (int) pid);
        assert_true (cli_harness_wait_text (harness, "run.err", died, 10000));
        free (died);
        //  Started again, under a new pid.
        int64_t deadline = fixture_now_ms () + 10000;
        while (cli_harness_last_pid (harness, "run.err", parts [index]) == pid
           &&  fixture_now_ms () < deadline)
            fixture_sleep_ms (50);
        assert_true (cli_harness_last_pid (harness, "run.err", parts [index]) != pid);
        //  Checks go on: the up site is visited again.
        assert_true (testsite_wait_hits (cli_harness_site, "/count/procs-up", hits + 1, ROUND_MS) > hits);
    }
    //  A round after the last restart (the up site visited again), nobody
    //  was told twice.
    long hits = testsite_hits (cli_harness_site, "/count/procs-up");
    assert_true (testsite_wait_hits (cli_harness_site, "/count/procs-up", hits + 1, ROUND_MS) > hits);
    assert_int_equal (webhook_count (cli_harness_webhook), posts + 1);
    assert_int_equal (cli_harness_count (harness, "run.err", "collector: ALERT #"), 1);

    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);
    assert_int_equal (cli_harness_count (harness, "run.err", " exited with status 0"), 5);
    free (more);
    free (text);
    free (config);
    free (alice);
    free (sites);
    free (down);
    free (up);
}

int
main (int argc, char **argv)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        CLI_HARNESS_TEST (test_parts_restart_and_nothing_is_said_twice),
    };
    int rc = cmocka_run_group_tests (tests, cli_harness_group_setup, cli_harness_group_teardown);
    curl_global_cleanup ();
    return rc;
}
