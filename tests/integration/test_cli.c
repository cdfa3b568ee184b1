/*  test_cli.c: the `squirrel` command as a user runs it: real processes,
    real test site, real webhook receiver, files in a temporary folder.

    sweep: exit codes, JSON lines, config errors with file:line:column.
    run + watch + status: a site goes down and the watcher sees it, status
    reads the store, SIGHUP adds a site, SIGTERM stops cleanly.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testsite.h"
#include "webhook.h"

#include <czmq.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <sqlite3.h>

#ifndef SQ_BINARY
#   error "SQ_BINARY must name the squirrel binary"
#endif

static testsite_t *s_site;
static webhook_t *s_webhook;
static char s_dir [64];

static char *
s_path (const char *name)
{
    return zsys_sprintf ("%s/%s", s_dir, name);
}

static void
s_write_file (const char *name, const char *text)
{
    char *path = s_path (name);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
    free (path);
}

//  Read a whole file; "" if it does not exist.  Caller frees.
static char *
s_read_file (const char *name)
{
    char *path = s_path (name);
    FILE *file = fopen (path, "r");
    free (path);
    if (!file)
        return strdup ("");
    char *text = NULL;
    size_t size = 0;
    FILE *memory = open_memstream (&text, &size);
    char buffer [4096];
    size_t got;
    while ((got = fread (buffer, 1, sizeof (buffer), file)) > 0)
        fwrite (buffer, 1, got, memory);
    fclose (file);
    fclose (memory);
    return text;
}

//  Start squirrel with args, stdout and stderr to files in the folder.
static pid_t
s_spawn (const char *out, const char *err, const char *const *args)
{
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        char *out_path = s_path (out), *err_path = s_path (err);
        int out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2 (out_fd, 1);
        dup2 (err_fd, 2);
        char *argv [32];
        size_t count = 0;
        argv [count++] = (char *) SQ_BINARY;
        for (size_t index = 0; args [index] && count < 31; index++)
            argv [count++] = (char *) args [index];
        argv [count] = NULL;
        execv (SQ_BINARY, argv);
        _exit (127);
    }
    return pid;
}

//  Wait for a child with a deadline; its exit code, or -1 (then killed).
static int
s_reap (pid_t pid, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    int status = 0;
    while (zclock_mono () < deadline) {
        if (waitpid (pid, &status, WNOHANG) == pid)
            return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        zclock_sleep (10);
    }
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    return -1;
}

//  Run squirrel to the end; exit code.
static int
s_run (const char *const *args)
{
    return s_reap (s_spawn ("out.txt", "err.txt", args), 60000);
}

//  Wait until file holds needle; true if it did before the deadline.
static bool
s_wait_text (const char *name, const char *needle, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        char *text = s_read_file (name);
        bool found = strstr (text, needle) != NULL;
        free (text);
        if (found)
            return true;
        if (zclock_mono () >= deadline)
            return false;
        zclock_sleep (50);
    }
}

//  Run `squirrel status --json CONFIG` until its output holds every needle
//  (the store commits in batches, so a change shows up a moment later).
static bool
s_wait_status (const char *config, const char *const *needles, int timeout_ms)
{
    const char *args [] = { "status", "--json", config, NULL };
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        assert_int_equal (s_run (args), 0);
        char *out = s_read_file ("out.txt");
        bool all = true;
        for (size_t index = 0; needles [index] && all; index++)
            all = strstr (out, needles [index]) != NULL;
        if (!all && zclock_mono () >= deadline)
            fprintf (stderr, "status never showed what was expected:\n%s\n", out);
        free (out);
        if (all)
            return true;
        if (zclock_mono () >= deadline)
            return false;
        zclock_sleep (100);
    }
}

static int
s_setup (void **state)
{
    strcpy (s_dir, "/tmp/sq-cli-XXXXXX");
    if (!mkdtemp (s_dir))
        return -1;
    s_site = testsite_start ();
    s_webhook = webhook_start (0, 200);
    return s_site && s_webhook ? 0 : -1;
}

static int
s_teardown (void **state)
{
    testsite_stop (&s_site);
    webhook_stop (&s_webhook);
    char *command = zsys_sprintf ("rm -rf '%s'", s_dir);
    int rc = system (command);
    zstr_free (&command);
    return rc;
}

static void
test_sweep_all_up_exits_zero (void **state)
{
    char *ok = testsite_url (s_site, "http", "/ok");
    char *head405 = testsite_url (s_site, "http", "/head405");
    char *list = zsys_sprintf ("# sites\n%s\n\n%s   # refuses HEAD, up by GET\n", ok, head405);
    s_write_file ("up.txt", list);
    char *path = s_path ("up.txt");
    const char *args [] = { "sweep", path, NULL };
    assert_int_equal (s_run (args), 0);
    char *out = s_read_file ("out.txt");
    assert_non_null (strstr (out, ok));
    assert_null (strstr (out, "DOWN"));
    free (out);
    //  Not on a terminal: no progress line.
    char *err = s_read_file ("err.txt");
    assert_null (strstr (err, "checked"));
    free (err);

    //  On a terminal (script(1) gives it one): a progress line, then the table.
    char *command = zsys_sprintf ("timeout 60 script -qec '%s sweep %s' /dev/null > '%s/tty.txt' 2>&1",
                                  SQ_BINARY, path, s_dir);
    assert_int_equal (system (command), 0);
    char *tty = s_read_file ("tty.txt");
    assert_non_null (strstr (tty, "2/2 checked, 0 down"));
    assert_non_null (strstr (tty, ok));
    free (tty);
    free (command);
    free (path);
    free (list);
    free (ok);
    free (head405);
}

static void
test_sweep_json_and_down_exits_one (void **state)
{
    char *ok = testsite_url (s_site, "http", "/ok");
    char *bad = testsite_url (s_site, "http", "/status/503");
    char *list = zsys_sprintf ("%s\n%s\nhttp://nowhere.invalid/\n", ok, bad);
    s_write_file ("mixed.txt", list);
    char *path = s_path ("mixed.txt");
    char *notify = webhook_url (s_webhook, "/all");
    size_t posts = webhook_count (s_webhook);
    const char *args [] = { "sweep", "--json", "--failure-threshold", "1", "--notify", notify,
                            path, NULL };
    assert_int_equal (s_run (args), 1);
    char *out = s_read_file ("out.txt");
    //  One JSON object per line, in the file's order.
    char *first = strstr (out, "{\"url\":\"http://127.0.0.1");
    assert_non_null (first);
    assert_non_null (strstr (first, "\"state\":\"up\",\"reason\":\"ok\",\"status\":200,\"method\":\"HEAD\""));
    assert_non_null (strstr (out, "\"state\":\"down\",\"reason\":\"http_status\",\"status\":503"));
    assert_non_null (strstr (out, "{\"url\":\"http://nowhere.invalid/\",\"state\":\"down\",\"reason\":\"dns\""));
    assert_non_null (strstr (out, "\"timings\":{\"queue_us\":"));
    assert_non_null (strstr (out, "\"ttfb_us\":"));
    size_t lines = 0;
    for (char *at = out; (at = strchr (at, '\n')); at++)
        lines++;
    assert_int_equal (lines, 3);
    //  The two down sites were notified before sweep exited.
    assert_int_equal (webhook_count (s_webhook), posts + 2);
    free (out);
    free (notify);
    free (path);
    free (list);
    free (ok);
    free (bad);
}

static void
test_sweep_usage_and_config_errors_exit_two (void **state)
{
    s_write_file ("bad.yaml", "sites:\n  - url: https://example.com/\n    intervall: 5m\n");
    char *path = s_path ("bad.yaml");
    const char *args [] = { "sweep", path, NULL };
    assert_int_equal (s_run (args), 2);
    char *err = s_read_file ("err.txt");
    char *where = zsys_sprintf ("%s:3:5: unknown key 'intervall'", path);
    assert_non_null (strstr (err, where));
    free (where);
    free (err);

    s_write_file ("ftp.txt", "http://example.com/\n  ftp://example.com/\n");
    free (path);
    path = s_path ("ftp.txt");
    const char *ftp [] = { "sweep", path, NULL };
    assert_int_equal (s_run (ftp), 2);
    err = s_read_file ("err.txt");
    assert_non_null (strstr (err, "ftp.txt:2:3: scheme 'ftp' is not monitored"));
    free (err);

    const char *option [] = { "sweep", "--frobnicate", path, NULL };
    assert_int_equal (s_run (option), 2);
    const char *timeout [] = { "sweep", "--timeout", "soon", path, NULL };
    assert_int_equal (s_run (timeout), 2);
    err = s_read_file ("err.txt");
    assert_non_null (strstr (err, "--timeout takes a duration"));
    free (err);
    const char *missing [] = { "sweep", NULL };
    assert_int_equal (s_run (missing), 2);
    const char *ca [] = { "sweep", "--ca-file", "/nonexistent/ca.pem", path, NULL };
    assert_int_equal (s_run (ca), 2);
    err = s_read_file ("err.txt");
    assert_non_null (strstr (err, "--ca-file /nonexistent/ca.pem: No such file or directory"));
    free (err);
    free (path);
}

static char *
s_config (const char *sites)
{
    char *webhook = webhook_url (s_webhook, "/alice");
    char *text = zsys_sprintf (
        "data_dir: %s/data\n"
        "feed: ipc://%s/feed\n"
        "defaults:\n"
        "  interval: 10s\n"
        "  timeout: 2s\n"
        "owners:\n"
        "  alice:\n"
        "    webhook: %s\n"
        "sites:\n%s", s_dir, s_dir, webhook, sites);
    free (webhook);
    return text;
}

static void
test_run_watch_status_reload (void **state)
{
    char *watched = testsite_url (s_site, "http", "/switch/run");
    char *added = testsite_url (s_site, "http", "/ok");
    char *sites = zsys_sprintf ("  - url: %s\n    owner: alice\n", watched);
    char *config = s_config (sites);
    s_write_file ("run.yaml", config);
    char *path = s_path ("run.yaml");
    char *feed = zsys_sprintf ("ipc://%s/feed", s_dir);

    //  Before any run there is no store, and status does not make one.
    const char *early [] = { "status", path, NULL };
    assert_int_equal (s_run (early), 1);
    char *err = s_read_file ("err.txt");
    assert_non_null (strstr (err, "no store at"));
    free (err);

    const char *run_args [] = { "run", path, NULL };
    pid_t run = s_spawn ("run.out", "run.err", run_args);
    assert_true (s_wait_text ("run.err", "monitoring 1 sites", 10000));
    const char *watch_args [] = { "watch", "--json", feed, NULL };
    pid_t watch = s_spawn ("watch.out", "watch.err", watch_args);

    //  The first check is spread over the 10 s interval.
    const char *first_up [] = { "\"state\":\"up\"", "\"uptime_24h\":100.000",
                                "\"reason\":\"ok\",\"status\":200", NULL };
    assert_true (s_wait_status (path, first_up, 25000));

    //  Down: the watcher and the owner's webhook hear of it once.
    size_t posts = webhook_count (s_webhook);
    assert_int_equal (testsite_request (s_site, "/set/run/500"), 200);
    assert_true (s_wait_text ("watch.out", "\"state\":\"down\"", 25000));
    char *watched_json = zsys_sprintf ("\"url\":\"%s\"", watched);
    assert_true (s_wait_text ("watch.out", watched_json, 1000));
    assert_true (s_wait_text ("watch.out", "\"previous\":\"up\",\"reason\":\"http_status\"", 1000));
    assert_true (webhook_wait (s_webhook, posts + 1, 10000));

    //  SIGHUP with a second site: status lists both.
    free (sites);
    free (config);
    sites = zsys_sprintf ("  - url: %s\n    owner: alice\n  - url: %s\n", watched, added);
    config = s_config (sites);
    s_write_file ("run.yaml", config);
    kill (run, SIGHUP);
    assert_true (s_wait_text ("run.err", "reloaded", 10000));
    const char *both [] = { added, "\"state\":\"down\"", NULL };
    assert_true (s_wait_status (path, both, 5000));

    //  A broken config on SIGHUP is refused; the run goes on.
    s_write_file ("run.yaml", "sites:\n  - url: gopher://x/\n");
    kill (run, SIGHUP);
    assert_true (s_wait_text ("run.err", "reload refused", 10000));

    kill (run, SIGTERM);
    assert_int_equal (s_reap (run, 20000), 0);
    kill (watch, SIGINT);
    assert_int_equal (s_reap (watch, 5000), 0);
    free (watched_json);
    free (feed);
    free (path);
    free (config);
    free (sites);
    free (watched);
    free (added);
}

//  How many times needle stands in a file.
static size_t
s_count_text (const char *name, const char *needle)
{
    char *text = s_read_file (name);
    size_t count = 0;
    for (const char *at = text; (at = strstr (at, needle)); at += strlen (needle))
        count++;
    free (text);
    return count;
}

//  A clean stop loses no result already received: every RESULT the pingers
//  sent (they say how many when they stop) is a row in the store.
static void
test_clean_stop_loses_no_result (void **state)
{
    char *sites = strdup ("");
    for (int index = 0; index < 20; index++) {
        char path [64];
        snprintf (path, sizeof (path), "/slow/300?site=%d", index);
        char *url = testsite_url (s_site, "http", path);
        char *more = zsys_sprintf ("%s  - url: %s\n", sites, url);
        free (sites);
        free (url);
        sites = more;
    }
    char *config = s_config (sites);
    //  Its own store and feed, apart from the other run test's.
    char *own = zsys_sprintf ("data_dir: %s/stop-data\nfeed: ipc://%s/stop-feed\n%s", s_dir, s_dir,
                              strstr (strstr (config, "\n") + 1, "\n") + 1);
    s_write_file ("stop.yaml", own);
    char *path = s_path ("stop.yaml");
    const char *args [] = { "run", path, NULL };
    pid_t run = s_spawn ("stop.out", "stop.err", args);
    assert_true (s_wait_text ("stop.err", "monitoring 20 sites", 10000));
    //  Stop while checks come and go (each takes 300 ms).
    int64_t deadline = zclock_mono () + 25000;
    while (s_count_text ("stop.err", "unknown -> up") < 8 && zclock_mono () < deadline)
        zclock_sleep (50);
    assert_true (s_count_text ("stop.err", "unknown -> up") >= 8);
    kill (run, SIGTERM);
    assert_int_equal (s_reap (run, 20000), 0);

    char *log = s_read_file ("stop.err");
    long long sent = 0;
    size_t pingers = 0;
    for (const char *at = log; (at = strstr (at, ": stopped: checks=")); at++) {
        sent += atoll (at + strlen (": stopped: checks="));
        pingers++;
    }
    free (log);
    assert_true (pingers >= 1);
    assert_true (sent >= 8);

    char *database = zsys_sprintf ("%s/stop-data/squirrel.db", s_dir);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (database, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *statement = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, "SELECT count(*) FROM result", -1, &statement, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_step (statement), SQLITE_ROW);
    long long stored = sqlite3_column_int64 (statement, 0);
    sqlite3_finalize (statement);
    sqlite3_close (db);
    assert_int_equal (stored, sent);
    free (database);
    free (path);
    free (own);
    free (config);
    free (sites);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_sweep_all_up_exits_zero),
        cmocka_unit_test (test_sweep_json_and_down_exits_one),
        cmocka_unit_test (test_sweep_usage_and_config_errors_exit_two),
        cmocka_unit_test (test_run_watch_status_reload),
        cmocka_unit_test (test_clean_stop_loses_no_result),
    };
    int rc = cmocka_run_group_tests (tests, s_setup, s_teardown);
    curl_global_cleanup ();
    zsys_shutdown ();
    return rc;
}
