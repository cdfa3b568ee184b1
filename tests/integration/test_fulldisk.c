/*  test_fulldisk.c: a full disk stops neither checking nor alerting, and
    the store catches up when room returns (issue 11, item 7).

    data_dir is a 2 MiB tmpfs mounted for the test, in a mount namespace
    of the test's own (unshare): the mount goes with the test process and
    its children whatever ends them, and the teardown also unmounts it on
    every path.  Mounting needs root: as another user the test says why
    and exits 77, which ctest counts as skipped (SKIP_RETURN_CODE).

    One real `squirrel run` on a site of the test site that the test
    switches down and up, a `watch` on the feed, the webhook receiver:
    1. The store writes; then a filler file takes every free byte.  The
       log says "disk full", the site goes down and the DOWN still reaches
       the feed and the owner's webhook; `status` (text and --json) says
       the store is stale, since a time after the disk filled.
    2. The filler goes: the store catches up within its retry backoff (the
       DOWN alert and the results checked while the disk was full are in
       the store) and `status` no longer says stale.
    3. `run` stops, and an operator's sqlite3 session closes the store
       last, which deletes its -wal and -shm (squirrel keeps them); the
       disk fills again.  `run` starts all the same: SQLite must make a
       -shm to open the store, and the store frees its reserve for it.
       With the disk filled once more it still alerts (the site comes back
       UP on the feed); its counters at stop say disk_full=1, and
       `status` after it says the store is stale.
    4. `run` starts once more, on the full disk and with no reserve left,
       and a third site in its config: the -shm it kept lets the store
       open; the store cannot record the new site, so the ids are read
       from it and the new site is given one in memory (the log says so),
       and it is checked.  The UP of step 3 never reached the store (that
       `run` stopped with the disk full and said it lost its held
       writes), so this one restores the site DOWN and publishes its UP
       again, under a new number: alert.seq kept the one run 3 used.
    Every wait has a deadline.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     //  unshare
#endif
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
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define START_MS        15000   //  `run` says "monitoring" (ASan start-up included)
#define STOP_MS         30000   //  a clean stop
#define ROUND_MS        35000   //  a check spread over the 10 s interval, and one more
#define CATCH_UP_MS     20000   //  the writer retries at least every 8 s
#define RUN_MS          30000   //  `status` runs to its end
#define TMPFS_OPTIONS   "size=2m,mode=0700"

static char *s_mount_point;     //  data_dir while the tmpfs is mounted there, else NULL


//  Unmount data_dir's tmpfs if it is mounted (lazily: a `run` a failed
//  assertion left behind may still hold files in it).
static void
s_unmount (void)
{
    if (!s_mount_point)
        return;
    if (umount2 (s_mount_point, MNT_DETACH))
        fprintf (stderr, "test_fulldisk: cannot unmount %s: %s\n", s_mount_point,
                 strerror (errno));
    free (s_mount_point);
    s_mount_point = NULL;
}

//  A harness with its data/ a fresh tmpfs.
static int
s_setup (void **state)
{
    if (cli_harness_setup (state))
        return -1;
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *data = cli_harness_path (harness, "data");
    if (mkdir (data, 0700) || mount ("tmpfs", data, "tmpfs", 0, TMPFS_OPTIONS)) {
        fprintf (stderr, "test_fulldisk: cannot mount a tmpfs on %s: %s\n", data, strerror (errno));
        free (data);
        return -1;
    }
    s_mount_point = data;
    return 0;
}

static int
s_teardown (void **state)
{
    s_unmount ();
    return cli_harness_teardown (state);
}

//  Fill data_dir: write name until the disk says ENOSPC.  Bytes written.
static long long
s_fill (cli_harness_t *harness, const char *name)
{
    char *path = cli_harness_path (harness, name);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true (fd >= 0);
    static char block [4096];
    memset (block, 'x', sizeof (block));
    long long written = 0;
    ssize_t size;
    while ((size = write (fd, block, sizeof (block))) > 0)
        written += size;
    int error = errno;
    assert_int_equal (close (fd), 0);
    assert_int_equal (error, ENOSPC);
    free (path);
    return written;
}

//  Wait until sql gives at least want; the last value.
static long long
s_wait_store_number (cli_harness_t *harness, const char *sql, long long want, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    long long value = cli_harness_store_number (harness, sql);
    while (value < want && fixture_now_ms () < deadline) {
        fixture_sleep_ms (100);
        value = cli_harness_store_number (harness, sql);
    }
    if (value < want)
        fprintf (stderr, "'%s' gave %lld, not %lld, within %d ms\n", sql, value, want, timeout_ms);
    return value;
}

//  Open the store read-write and close it, as an operator's sqlite3 session
//  would: the last connection to close, it deletes -wal and -shm (it does
//  not keep them as squirrel's connections do).
static void
s_sqlite_session (cli_harness_t *harness)
{
    char *path = cli_harness_path (harness, "data/" STORE_FILE_NAME);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db, "SELECT count (*) FROM site", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_close (db), SQLITE_OK);
    free (path);
}

//  Whether name exists in the folder.
static bool
s_exists (cli_harness_t *harness, const char *name)
{
    char *path = cli_harness_path (harness, name);
    struct stat info;
    bool exists = stat (path, &info) == 0;
    free (path);
    return exists;
}

//  `squirrel status [--json] CONFIG`; its exit code, its output in out.txt.
static int
s_status (cli_harness_t *harness, const char *config, bool json)
{
    const char *json_args [] = { "status", "--json", config, NULL };
    const char *text_args [] = { "status", config, NULL };
    return cli_harness_run (harness, json ? json_args : text_args, RUN_MS);
}

//  The time after "since":" in status --json's output, as unix seconds;
//  -1 when there is none.
static int64_t
s_stale_since (cli_harness_t *harness)
{
    char *out = cli_harness_read (harness, "out.txt");
    const char *at = strstr (out, "{\"store\":{\"stale\":true,\"since\":\"");
    struct tm moment;
    memset (&moment, 0, sizeof (moment));
    int64_t since = -1;
    if (at && strptime (at + strlen ("{\"store\":{\"stale\":true,\"since\":\""),
                        "%Y-%m-%dT%H:%M:%S", &moment))
        since = (int64_t) timegm (&moment);
    free (out);
    return since;
}

//  Wait until status --json says stale (true) or up to date (false).
static bool
s_wait_stale (cli_harness_t *harness, const char *config, bool stale, int timeout_ms)
{
    const char *needle = stale ? "{\"store\":{\"stale\":true," : "{\"store\":{\"stale\":false}}\n";
    int64_t deadline = fixture_now_ms () + timeout_ms;
    while (true) {
        bool ran = s_status (harness, config, true) == 0;
        if (ran && cli_harness_count (harness, "out.txt", needle) == 1)
            return true;
        if (fixture_now_ms () >= deadline) {
            char *out = cli_harness_read (harness, "out.txt");
            fprintf (stderr, "status never said stale %s:\n%s\n", stale ? "true" : "false", out);
            free (out);
            return false;
        }
        fixture_sleep_ms (200);
    }
}

//  A counter of the store from the counters `run` logs when it stops; -1
//  when the log has none.
static long long
s_store_counter_at_stop (cli_harness_t *harness, const char *log, const char *name)
{
    char *text = cli_harness_read (harness, log);
    long long value = -1;
    const char *line = strstr (text, "stopped; counters at stop:");
    line = line ? strstr (line, " store: ") : NULL;
    const char *end = line ? strchr (line + 1, '\n') : NULL;
    char needle [64];
    snprintf (needle, sizeof (needle), " %s=", name);
    const char *at = line ? strstr (line, needle) : NULL;
    if (at && (!end || at < end))
        value = atoll (at + strlen (needle));
    free (text);
    return value;
}

static void
test_full_disk_monitoring_goes_on (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *url = testsite_url (cli_harness_site, "http", "/switch/fulldisk");
    char *other = testsite_url (cli_harness_site, "http", "/count/fulldisk-other");
    char *sites = fixture_format ("  - url: %s\n    owner: alice\n    failure_threshold: 1\n"
                                  "  - url: %s\n", url, other);
    char *alice = webhook_url (cli_harness_webhook, "/alice");
    char *config = cli_harness_config (harness, "run.yaml", alice, sites);
    assert_non_null (config);
    assert_int_equal (testsite_request (cli_harness_site, "/set/fulldisk/200"), 200);
    size_t posts = webhook_count (cli_harness_webhook);

    const char *watch_args [] = { "watch", "--json", cli_harness_feed (harness), NULL };
    pid_t watch = cli_harness_spawn (harness, "watch.out", "watch.err", watch_args);
    assert_true (watch > 0);
    const char *run_args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run1.out", "run1.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run1.err", "monitoring 2 sites", START_MS));
    const char *results = "SELECT count (*) FROM result";
    assert_true (s_wait_store_number (harness, results, 2, ROUND_MS) >= 2);
    assert_true (s_wait_stale (harness, config, false, 5000));

    //  1. The disk fills.  The next flush fails, and says so.
    int64_t filled = (int64_t) time (NULL);
    assert_true (s_fill (harness, "data/filler") > 0);
    long long before = cli_harness_store_number (harness, results);
    assert_true (before >= 2);
    assert_true (cli_harness_wait_text (harness, "run1.err", "store: disk full at ", ROUND_MS));
    assert_true (cli_harness_count (harness, "run1.err", "monitoring goes on, history is buffered "
                                                         "(at most 50000 writes") >= 1);
    //  Checks and alerts go on: the DOWN reaches the feed and the owner.
    assert_int_equal (testsite_request (cli_harness_site, "/set/fulldisk/503"), 200);
    assert_true (cli_harness_wait_text (harness, "watch.out", "\"state\":\"down\"", ROUND_MS));
    assert_true (webhook_wait (cli_harness_webhook, posts + 1, 15000));
    char *body = webhook_body (cli_harness_webhook, posts);
    assert_non_null (body);
    assert_non_null (strstr (body, "\"state\":\"down\""));
    free (body);
    //  Nothing of it is in the store yet.
    assert_int_equal (cli_harness_store_number (harness, "SELECT count (*) FROM alert"), 0);
    assert_int_equal (cli_harness_store_number (harness, results), before);
    //  status says the store is stale, and since a moment after the fill.
    assert_true (s_wait_stale (harness, config, true, 5000));
    int64_t since = s_stale_since (harness);
    assert_true (since >= filled - 1 && since <= (int64_t) time (NULL));
    assert_int_equal (cli_harness_count (harness, "out.txt", "\"why\":\"disk full: "), 1);
    assert_int_equal (s_status (harness, config, false), 0);
    assert_int_equal (cli_harness_count (harness, "out.txt", "store: stale since "), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt", " UTC (disk full: "), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt",
                                         "); states and uptimes below may be out of date\n"), 1);

    //  2. Room again: the store catches up, the alert and the results held
    //  included, and is up to date.
    char *filler = cli_harness_path (harness, "data/filler");
    assert_int_equal (unlink (filler), 0);
    assert_true (cli_harness_wait_text (harness, "run1.err", "store: writing again in ",
                                        CATCH_UP_MS));
    assert_int_equal (cli_harness_store_number (harness,
                          "SELECT count (*) FROM alert WHERE state = 3"), 1);
    char *held = fixture_format ("SELECT count (*) FROM result WHERE at_us >= %lld",
                                 (long long) filled * 1000000);
    assert_true (cli_harness_store_number (harness, held) >= 2);
    assert_true (cli_harness_store_number (harness, results) >= before + 2);
    assert_true (s_wait_stale (harness, config, false, 5000));
    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);
    assert_int_equal (s_store_counter_at_stop (harness, "run1.err", "disk_full"), 0);
    assert_int_equal (s_store_counter_at_stop (harness, "run1.err", "stale_since"), 0);

    //  3. A restart on a full disk, the store's -shm gone: it starts (with
    //  the reserve's room), and monitors.
    assert_true (s_exists (harness, "data/" STORE_FILE_NAME "-shm"));
    s_sqlite_session (harness);
    assert_false (s_exists (harness, "data/" STORE_FILE_NAME "-shm"));
    assert_true (s_exists (harness, "data/" STORE_RESERVE_FILE));
    assert_true (s_fill (harness, "data/filler") > 0);
    pid_t second = cli_harness_spawn (harness, "run2.out", "run2.err", run_args);
    assert_true (second > 0);
    assert_true (cli_harness_wait_text (harness, "run2.err", "monitoring 2 sites", START_MS));
    assert_int_equal (cli_harness_count (harness, "run2.err", "released the reserve"), 1);
    //  Whatever room the reserve gave goes too; the site comes back.
    char *more = cli_harness_path (harness, "data/filler2");
    s_fill (harness, "data/filler2");
    size_t ups = cli_harness_count (harness, "watch.out", "\"state\":\"up\"");
    assert_int_equal (testsite_request (cli_harness_site, "/set/fulldisk/200"), 200);
    assert_true (cli_harness_wait_count (harness, "watch.out", "\"state\":\"up\"", ups + 1,
                                         ROUND_MS));
    assert_true (cli_harness_wait_text (harness, "run2.err", "store: disk full at ", ROUND_MS));
    assert_int_equal (kill (second, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, second, STOP_MS), 0);
    assert_int_equal (s_store_counter_at_stop (harness, "run2.err", "disk_full"), 1);
    assert_true (s_store_counter_at_stop (harness, "run2.err", "stale_since") >= filled);
    //  The store stopped behind: status says so.
    assert_int_equal (s_status (harness, config, false), 0);
    assert_int_equal (cli_harness_count (harness, "out.txt", "store: stale since "), 1);

    //  4. Again on the full disk, no reserve left: the -shm kept opens it.
    assert_false (s_exists (harness, "data/" STORE_RESERVE_FILE));
    assert_true (s_exists (harness, "data/" STORE_FILE_NAME "-shm"));
    char *added = testsite_url (cli_harness_site, "http", "/count/fulldisk-new");
    char *three = fixture_format ("%s  - url: %s\n", sites, added);
    free (cli_harness_config (harness, "run.yaml", alice, three));
    long checked = testsite_hits (cli_harness_site, "/count/fulldisk-new");
    assert_int_equal (checked, 0);
    pid_t third = cli_harness_spawn (harness, "run3.out", "run3.err", run_args);
    assert_true (third > 0);
    assert_true (cli_harness_wait_text (harness, "run3.err", "monitoring 3 sites", START_MS));
    assert_int_equal (cli_harness_count (harness, "run3.err", "released the reserve"), 0);
    //  The sites' ids could only be read: the log says so.
    assert_int_equal (cli_harness_count (harness, "run3.err", ": cannot record the sites: "
                                         "database or disk is full; ids read from the store, "
                                         "and 1 site new to it given ids in memory, recorded "
                                         "when the store can write again; monitoring goes on"),
                      1);
    assert_true (testsite_wait_hits (cli_harness_site, "/count/fulldisk-new", 1, ROUND_MS) >= 1);
    assert_int_equal (cli_harness_count (harness, "run2.err", "store: GIVING UP on "), 1);
    assert_true (cli_harness_wait_count (harness, "watch.out", "\"state\":\"up\"", ups + 2,
                                         ROUND_MS));
    //  Run 2 published its UP as #2 and lost it with its held writes; the
    //  store's last alert is #1, but alert.seq kept #2: this UP is #3, and
    //  no watcher ever saw two alerts under one number.
    assert_int_equal (cli_harness_count (harness, "run3.err", "the store's last alert is #1 but "
                                         "#2 was published"), 1);
    assert_int_equal (cli_harness_count (harness, "run3.err", "collector: ALERT #3 "), 1);
    assert_int_equal (cli_harness_count (harness, "run3.err", "collector: ALERT #2 "), 0);
    assert_int_equal (cli_harness_count (harness, "watch.out", "\"seq\":2,"), 1);
    assert_int_equal (cli_harness_count (harness, "watch.out", "\"seq\":3,"), 1);
    assert_int_equal (kill (third, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, third, STOP_MS), 0);

    assert_int_equal (kill (watch, SIGINT), 0);
    assert_int_equal (cli_harness_reap (harness, watch, 5000), 0);
    unlink (more);
    unlink (filler);
    free (three);
    free (added);
    free (more);
    free (held);
    free (filler);
    free (config);
    free (alice);
    free (sites);
    free (other);
    free (url);
}

int
main (void)
{
    //  Mounting a tmpfs takes root (CAP_SYS_ADMIN), in a mount namespace of
    //  our own so that nothing outlives the test.
    if (geteuid () != 0) {
        printf ("test_fulldisk: skipped: mounting a small tmpfs as data_dir needs root "
                "(run as uid %u)\n", (unsigned) geteuid ());
        return 77;
    }
    if (unshare (CLONE_NEWNS) || mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
        printf ("test_fulldisk: skipped: no mount namespace of our own: %s\n", strerror (errno));
        return 77;
    }
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_full_disk_monitoring_goes_on, s_setup, s_teardown),
    };
    int rc = cmocka_run_group_tests (tests, cli_harness_group_setup, cli_harness_group_teardown);
    s_unmount ();
    curl_global_cleanup ();
    return rc;
}
