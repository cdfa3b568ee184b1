/*  test_faults.c: kill -9 at random moments, against 1,000 sites that are
    all up (issue 11's fault suite).

    `squirrel run` in processes mode (every actor a child process, two
    pingers) checks 1,000 paths of the test site, every 10 s.  At random
    moments (the seed is printed, and FAULTS_SEED replays it) each part is
    killed with SIGKILL in a random order: collector (with the store
    writer), dispatcher, notifier and both pingers; the supervisor starts
    each again.  Then the whole `run` is killed with SIGKILL (its children
    die with it) and started again.  After the last start every site must
    be checked within two intervals, and then, from the store:
    - no check lost: every site has results, and no two of a site's
      results, nor its last and the end, are further apart than two
      intervals, a job's deadline and a restart (S_GAP_MAX_S);
    - no false DOWN: not one site left UP, not one DOWN alert in the
      store, not one post to the owner's webhook, no "-> down" in a log;
    - the store intact: PRAGMA integrity_check says "ok".
    Every wait has a deadline.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_SITES         1000
#define S_INTERVAL_S    10
#define START_MS        30000   //  the supervisor and five children start, 1,000 sites (ASan)
#define RESTART_MS      15000   //  a killed part is started again (backoff included)
#define STOP_MS         60000   //  a clean stop of every child
//  The longest a site may go unchecked: a round (10 s), the first check
//  of a new dispatcher spread over one more, a lost job's deadline (2 s
//  timeout + 5 s margin) and a restart.
#define S_GAP_MAX_S     (2 * S_INTERVAL_S + 7 + 8)


//  Whether pid is a live process (a zombie is not: killed grandchildren
//  wait for whoever reaps orphans here).
static bool
s_alive (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    char state = 0;
    int fields = fscanf (file, "%*d (%*[^)]) %c", &state);
    fclose (file);
    return fields == 1 && state != 'Z' && state != 'X';
}

//  Kill the part now running under that name; wait until the supervisor
//  has said so and started it again.
static void
s_kill_part (cli_harness_t *harness, const char *part)
{
    pid_t pid = cli_harness_last_pid (harness, "run1.err", part);
    assert_true (pid > 0);
    printf ("test_faults: kill -9 %s (pid %d)\n", part, (int) pid);
    assert_int_equal (kill (pid, SIGKILL), 0);
    char *died = fixture_format ("%s (pid %d) was killed by signal 9; restarting it in", part,
                                 (int) pid);
    assert_true (cli_harness_wait_text (harness, "run1.err", died, RESTART_MS));
    free (died);
    int64_t deadline = fixture_now_ms () + RESTART_MS;
    while (cli_harness_last_pid (harness, "run1.err", part) == pid
       &&  fixture_now_ms () < deadline)
        fixture_sleep_ms (50);
    assert_true (cli_harness_last_pid (harness, "run1.err", part) != pid);
}

static void
test_kill_9_loses_no_check_and_raises_no_false_down (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    const char *seed_text = getenv ("FAULTS_SEED");
    unsigned seed = seed_text ? (unsigned) strtoul (seed_text, NULL, 10)
                              : (unsigned) time (NULL) ^ (unsigned) getpid ();
    printf ("test_faults: seed %u (FAULTS_SEED=%u replays this order and these moments)\n",
            seed, seed);
    srand (seed);

    //  1,000 sites, each a path of the test site that answers 200.
    size_t size = 0;
    char *sites = NULL;
    FILE *stream = open_memstream (&sites, &size);
    assert_non_null (stream);
    for (int index = 0; index < S_SITES; index++) {
        char path [32];
        snprintf (path, sizeof (path), "/count/fault-%d", index);
        char *url = testsite_url (cli_harness_site, "http", path);
        fprintf (stream, "  - { url: %s, owner: alice }\n", url);
        free (url);
    }
    fclose (stream);
    char *alice = webhook_url (cli_harness_webhook, "/faults");
    char *config = cli_harness_config (harness, "faults.yaml", alice, sites);
    assert_non_null (config);
    char *text = cli_harness_read (harness, "faults.yaml");
    char *more = fixture_format ("workers:\n  mode: processes\n  pingers: 2\n%s", text);
    assert_int_equal (cli_harness_write (harness, "faults.yaml", more), 0);
    size_t posts = webhook_count (cli_harness_webhook);
    int64_t started = (int64_t) time (NULL);

    const char *args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run1.out", "run1.err", args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run1.err", "monitoring 1000 sites from",
                                        START_MS));

    //  Every part once, in a random order, each after 0.5 to 3 s.
    const char *parts [] = { "collector", "dispatcher", "notifier", "pinger1", "pinger2" };
    size_t count = sizeof (parts) / sizeof (parts [0]);
    for (size_t index = count - 1; index > 0; index--) {
        size_t other = (size_t) rand () % (index + 1);
        const char *swap = parts [index];
        parts [index] = parts [other];
        parts [other] = swap;
    }
    for (size_t index = 0; index < count; index++) {
        fixture_sleep_ms (500 + rand () % 2500);
        s_kill_part (harness, parts [index]);
    }
    //  Then the whole run, and a new one on the same folder.
    fixture_sleep_ms (500 + rand () % 2500);
    printf ("test_faults: kill -9 run (pid %d)\n", (int) run);
    assert_int_equal (kill (run, SIGKILL), 0);
    assert_int_equal (cli_harness_reap (harness, run, 5000), 128 + SIGKILL);
    //  Its children die with it (PR_SET_PDEATHSIG): wait until they are
    //  gone, then start again on the same folder.
    int64_t deadline = fixture_now_ms () + RESTART_MS;
    for (size_t index = 0; index < count; index++) {
        pid_t child = cli_harness_last_pid (harness, "run1.err", parts [index]);
        while (child > 0 && s_alive (child) && fixture_now_ms () < deadline)
            fixture_sleep_ms (50);
        assert_false (child > 0 && s_alive (child));
    }
    pid_t second = cli_harness_spawn (harness, "run2.out", "run2.err", args);
    assert_true (second > 0);
    assert_true (cli_harness_wait_text (harness, "run2.err", "monitoring 1000 sites from",
                                        START_MS));
    int64_t restarted_us = (int64_t) time (NULL) * 1000000;

    //  Every site checked after the last start, within two rounds.
    char *after = fixture_format ("SELECT count (DISTINCT site_id) FROM result WHERE at_us >= %lld",
                                  (long long) restarted_us);
    deadline = fixture_now_ms () + 2 * S_INTERVAL_S * 1000 + 5000;
    long long checked = cli_harness_store_number (harness, after);
    while (checked < S_SITES && fixture_now_ms () < deadline) {
        fixture_sleep_ms (250);
        checked = cli_harness_store_number (harness, after);
    }
    assert_int_equal (checked, S_SITES);
    assert_int_equal (kill (second, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, second, STOP_MS), 0);
    int64_t ended = (int64_t) time (NULL);

    //  The store is intact.
    char *integrity = cli_harness_store_text (harness, "PRAGMA integrity_check");
    assert_non_null (integrity);
    assert_string_equal (integrity, "ok");
    free (integrity);
    //  No check lost: every site has results, and no gap in them (nor
    //  from the start to the first, nor from the last to the end) is
    //  longer than S_GAP_MAX_S.
    assert_int_equal (cli_harness_store_number (harness,
                          "SELECT count (*) FROM site WHERE active = 1"), S_SITES);
    assert_int_equal (cli_harness_store_number (harness,
                          "SELECT count (DISTINCT site_id) FROM result"), S_SITES);
    long long gap = cli_harness_store_number (harness,
        "SELECT max (at_us - previous) / 1000000 FROM (SELECT at_us, lag (at_us) OVER "
        "(PARTITION BY site_id ORDER BY at_us) AS previous FROM result)"
        " WHERE previous IS NOT NULL");
    printf ("test_faults: longest gap between two checks of a site: %lld s\n", gap);
    assert_true (gap >= S_INTERVAL_S - 1 && gap <= S_GAP_MAX_S);
    char *first = fixture_format ("SELECT max (first) FROM (SELECT min (at_us) / 1000000 - %lld "
                                  "AS first FROM result GROUP BY site_id)", (long long) started);
    long long latest_first = cli_harness_store_number (harness, first);
    assert_true (latest_first >= 0 && latest_first <= S_GAP_MAX_S);
    char *last = fixture_format ("SELECT max (%lld - last) FROM (SELECT max (at_us) / 1000000 "
                                 "AS last FROM result GROUP BY site_id)", (long long) ended);
    long long oldest_last = cli_harness_store_number (harness, last);
    assert_true (oldest_last >= 0 && oldest_last <= S_GAP_MAX_S);
    //  No false DOWN: every check up, every site up, no alert but none.
    const char *downs [] = { "SELECT count (*) FROM result WHERE up = 0",
                             "SELECT count (*) FROM alert WHERE state = 3",
                             "SELECT count (*) FROM site WHERE state = 3" };
    for (size_t index = 0; index < sizeof (downs) / sizeof (downs [0]); index++)
        assert_int_equal (cli_harness_store_number (harness, downs [index]), 0);
    assert_int_equal (webhook_count (cli_harness_webhook), posts);
    assert_int_equal (cli_harness_count (harness, "run1.err", "-> down"), 0);
    assert_int_equal (cli_harness_count (harness, "run2.err", "-> down"), 0);
    //  Each part was killed and started again once; the second run's
    //  children all stopped cleanly.
    assert_int_equal (cli_harness_count (harness, "run1.err", "was killed by signal 9"),
                      (int) count);
    assert_int_equal (cli_harness_count (harness, "run2.err", " exited with status 0"), 5);

    free (last);
    free (first);
    free (after);
    free (more);
    free (text);
    free (config);
    free (alice);
    free (sites);
}

int
main (int argc, char **argv)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        CLI_HARNESS_TEST (test_kill_9_loses_no_check_and_raises_no_false_down),
    };
    int rc = cmocka_run_group_tests (tests, cli_harness_group_setup, cli_harness_group_teardown);
    curl_global_cleanup ();
    return rc;
}
