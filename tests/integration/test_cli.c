/*  test_cli.c: the `squirrel` command as a user runs it: real processes,
    real test site, real webhook receiver, files in a temporary folder.

    sweep: exit codes, JSON lines, config errors with file:line:column.
    run + watch + status: a site goes down and the watcher and the owner
    hear of it once, status reads the store, a broken config on SIGHUP is
    refused while checks go on, SIGTERM stops cleanly and loses no result.
    status of a site checked from regions: a region gone quiet for longer
    than the site's freshness window reads unavailable.
    Usage errors and --help: test_cli_usage.c; what SIGHUP and a restart do
    to the running actors: test_run.c.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_harness.h"
#include "fixture_process.h"
#include "sq_actor.h"
#include "sq_json.h"
#include "sq_wire.h"
#include "store.h"
#include "testsite.h"
#include "webhook.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SQ_BINARY
#   error "SQ_BINARY must name the squirrel binary"
#endif

#define RUN_MS      60000       //  a command that runs to its end
#define START_MS    15000       //  `run` says "monitoring" (ASan start-up included)
#define STOP_MS     30000       //  a clean stop
#define ROUND_MS    25000       //  a check spread over the 10 s interval, and a recheck


//  Run `squirrel status --json CONFIG` until its output holds every needle
//  (the store commits in batches, so a change shows up a moment later).
static bool
s_wait_status (cli_harness_t *harness, const char *config, const char *const *needles,
               int timeout_ms)
{
    const char *args [] = { "status", "--json", config, NULL };
    int64_t deadline = fixture_now_ms () + timeout_ms;
    while (true) {
        assert_int_equal (cli_harness_run (harness, args, RUN_MS), 0);
        char *out = cli_harness_read (harness, "out.txt");
        bool all = true;
        for (size_t index = 0; needles [index] && all; index++)
            all = strstr (out, needles [index]) != NULL;
        if (!all && fixture_now_ms () >= deadline)
            fprintf (stderr, "status never showed what was expected:\n%s\n", out);
        free (out);
        if (all)
            return true;
        if (fixture_now_ms () >= deadline)
            return false;
        fixture_sleep_ms (100);
    }
}

static void
test_sweep_all_up_exits_zero (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *ok = testsite_url (cli_harness_site, "http", "/ok");
    char *head405 = testsite_url (cli_harness_site, "http", "/head405");
    char *list = fixture_format ("# sites\n%s\n\n%s   # refuses HEAD, up by GET\n", ok, head405);
    assert_int_equal (cli_harness_write (harness, "up.txt", list), 0);
    char *path = cli_harness_path (harness, "up.txt");
    const char *args [] = { "sweep", path, NULL };
    assert_int_equal (cli_harness_run (harness, args, RUN_MS), 0);
    assert_int_equal (cli_harness_count (harness, "out.txt", ok), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt", head405), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt", "DOWN"), 0);
    //  Not on a terminal: no progress line.
    assert_int_equal (cli_harness_count (harness, "err.txt", "checked"), 0);

    //  On a terminal (script(1) gives it one): a progress line, then the table.
    char *command = fixture_format ("timeout 60 script -qec '%s sweep %s' /dev/null "
                                    "> '%s/tty.txt' 2>&1", SQ_BINARY, path,
                                    cli_harness_dir (harness));
    assert_int_equal (system (command), 0);
    assert_true (cli_harness_count (harness, "tty.txt", "2/2 checked, 0 down") >= 1);
    assert_int_equal (cli_harness_count (harness, "tty.txt", ok), 1);
    free (command);
    free (path);
    free (list);
    free (ok);
    free (head405);
}

static void
test_sweep_json_and_down_exits_one (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *ok = testsite_url (cli_harness_site, "http", "/ok");
    char *bad = testsite_url (cli_harness_site, "http", "/status/503");
    char *list = fixture_format ("%s\n%s\nhttp://nowhere.invalid/\n", ok, bad);
    assert_int_equal (cli_harness_write (harness, "mixed.txt", list), 0);
    char *path = cli_harness_path (harness, "mixed.txt");
    char *notify = webhook_url (cli_harness_webhook, "/all");
    size_t posts = webhook_count (cli_harness_webhook);
    const char *args [] = { "sweep", "--json", "--failure-threshold", "1", "--notify", notify,
                            path, NULL };
    assert_int_equal (cli_harness_run (harness, args, RUN_MS), 1);
    char *out = cli_harness_read (harness, "out.txt");
    //  One JSON object per line, in the file's order.
    char *first = strstr (out, "{\"url\":\"http://127.0.0.1");
    assert_true (first == out);
    assert_non_null (strstr (first, "\"state\":\"up\",\"reason\":\"ok\",\"status\":200,"
                                    "\"method\":\"HEAD\""));
    char *second = strstr (out, "\n{\"url\":\"http://127.0.0.1");
    assert_non_null (second);
    assert_non_null (strstr (second, "\"state\":\"down\",\"reason\":\"http_status\",\"status\":503"));
    assert_non_null (strstr (second, "\n{\"url\":\"http://nowhere.invalid/\","
                                     "\"state\":\"down\",\"reason\":\"dns\""));
    assert_non_null (strstr (out, "\"timings\":{\"queue_us\":"));
    assert_non_null (strstr (out, "\"ttfb_us\":"));
    assert_int_equal (cli_harness_count (harness, "out.txt", "\n"), 3);
    //  The two down sites were notified before sweep exited: two notices,
    //  in one POST or two (a receiver free when both are due gets both).
    size_t notices = 0;
    for (size_t index = posts; index < webhook_count (cli_harness_webhook); index++) {
        char *body = webhook_body (cli_harness_webhook, index);
        assert_non_null (body);
        for (char *at = strstr (body, "\"kind\":\"alert\""); at;
             at = strstr (at + 1, "\"kind\":\"alert\""))
            notices++;
        free (body);
    }
    assert_int_equal (notices, 2);
    free (out);
    free (notify);
    free (path);
    free (list);
    free (ok);
    free (bad);
}

//  A sweep whose checks all run on a pinger node: the YAML's listen, keys
//  and workers (no local pinger), --min-pingers, CURVE keys from keygen.
static void
test_sweep_through_a_remote_node (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    int port = cli_harness_free_ports (4);   //  listen uses PORT .. PORT + 3
    assert_true (port > 0);
    //  The hub's pair and the node's, both from keygen; the node's public
    //  key in allowed/.
    char *keys = cli_harness_path (harness, "keys");
    char *allowed = cli_harness_path (harness, "keys/allowed");
    assert_int_equal (mkdir (keys, 0700), 0);
    assert_int_equal (mkdir (allowed, 0700), 0);
    char *hub = cli_harness_path (harness, "keys/hub");
    char *node = cli_harness_path (harness, "node.key");
    const char *keygen_hub [] = { "keygen", hub, NULL };
    const char *keygen_node [] = { "keygen", node, NULL };
    assert_int_equal (cli_harness_run (harness, keygen_hub, RUN_MS), 0);
    assert_int_equal (cli_harness_run (harness, keygen_node, RUN_MS), 0);
    char *public = cli_harness_read (harness, "node.key");
    assert_int_equal (cli_harness_write (harness, "keys/allowed/node", public), 0);

    char *ok = testsite_url (cli_harness_site, "http", "/ok");
    char *bad = testsite_url (cli_harness_site, "http", "/status/503");
    char *yaml = fixture_format ("listen: tcp://127.0.0.1:%d\nkeys: %s\nworkers:\n  pingers: 0\n"
                                 "sites:\n  - url: %s\n  - url: %s\n", port, keys, ok, bad);
    assert_int_equal (cli_harness_write (harness, "remote.yaml", yaml), 0);
    char *path = cli_harness_path (harness, "remote.yaml");
    char *connect = fixture_format ("tcp://127.0.0.1:%d", port);
    const char *node_args [] = { "pinger", "--connect", connect, "--key", node,
                                 "--server-key", hub, "--id", "far-node", "--region", "there",
                                 NULL };
    pid_t pinger = cli_harness_spawn (harness, "node.out", "node.err", node_args);
    assert_true (pinger > 0);
    const char *args [] = { "sweep", "--json", "--failure-threshold", "1", "--min-pingers", "1",
                            path, NULL };
    assert_int_equal (cli_harness_run (harness, args, RUN_MS), 1);
    //  Both verdicts came from the node, none from a local thread.
    assert_int_equal (cli_harness_count (harness, "out.txt", "\n"), 2);
    assert_int_equal (cli_harness_count (harness, "out.txt", "\"pinger\":\"far-node\""), 2);
    assert_int_equal (cli_harness_count (harness, "out.txt", "\"state\":\"up\""), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt", "\"status\":503"), 1);
    kill (pinger, SIGTERM);
    assert_int_equal (cli_harness_reap (harness, pinger, RUN_MS), 0);
    assert_int_equal (cli_harness_count (harness, "node.err", ": stopped: checks=2 "), 1);
    free (connect);
    free (path);
    free (yaml);
    free (ok);
    free (bad);
    free (public);
    free (node);
    free (hub);
    free (allowed);
    free (keys);
}

static void
test_sweep_config_errors_exit_two (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    assert_int_equal (cli_harness_write (harness, "bad.yaml",
                      "sites:\n  - url: https://example.com/\n    intervall: 5m\n"), 0);
    char *path = cli_harness_path (harness, "bad.yaml");
    const char *args [] = { "sweep", path, NULL };
    assert_int_equal (cli_harness_run (harness, args, RUN_MS), 2);
    char *where = fixture_format ("%s:3:5: unknown key 'intervall'", path);
    assert_int_equal (cli_harness_count (harness, "err.txt", where), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt", "\n"), 0);
    free (where);
    free (path);

    assert_int_equal (cli_harness_write (harness, "ftp.txt",
                      "http://example.com/\n  ftp://example.com/\n"), 0);
    path = cli_harness_path (harness, "ftp.txt");
    const char *ftp [] = { "sweep", path, NULL };
    assert_int_equal (cli_harness_run (harness, ftp, RUN_MS), 2);
    where = fixture_format ("%s:2:3: scheme 'ftp' is not monitored", path);
    assert_int_equal (cli_harness_count (harness, "err.txt", where), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt", "\n"), 0);
    free (where);
    free (path);
}

static void
test_run_watch_status (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *watched = testsite_url (cli_harness_site, "http", "/switch/run");
    char *sites = fixture_format ("  - url: %s\n    owner: alice\n", watched);
    char *alice = webhook_url (cli_harness_webhook, "/alice");
    char *path = cli_harness_config (harness, "run.yaml", alice, sites);
    assert_non_null (path);

    //  Before any run there is no store, and status does not make one.
    const char *early [] = { "status", path, NULL };
    assert_int_equal (cli_harness_run (harness, early, RUN_MS), 1);
    assert_int_equal (cli_harness_count (harness, "err.txt", "no store at"), 1);

    //  The watcher first: it connects once `run` binds the feed.
    const char *watch_args [] = { "watch", "--json", cli_harness_feed (harness), NULL };
    pid_t watch = cli_harness_spawn (harness, "watch.out", "watch.err", watch_args);
    assert_true (watch > 0);
    const char *run_args [] = { "run", path, NULL };
    pid_t run = cli_harness_spawn (harness, "run.out", "run.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run.err", "monitoring 1 sites", START_MS));
    //  The feed's socket file is the owner's only: nobody else on this
    //  host can read the alerts (or, for the other sockets, inject jobs).
    struct stat info;
    assert_int_equal (stat (cli_harness_feed (harness) + strlen ("ipc://"), &info), 0);
    assert_true (S_ISSOCK (info.st_mode));
    assert_int_equal (info.st_mode & 0777, 0600);

    //  The first check is spread over the 10 s interval.
    const char *first_up [] = { "\"state\":\"up\"", "\"uptime_24h\":100.000",
                                "\"reason\":\"ok\",\"status\":200", NULL };
    assert_true (s_wait_status (harness, path, first_up, ROUND_MS));

    //  Down: the watcher and the owner's webhook hear of it (and only once,
    //  checked at the end, after more checks of the down site).
    size_t posts = webhook_count (cli_harness_webhook);
    assert_int_equal (testsite_request (cli_harness_site, "/set/run/500"), 200);
    assert_true (cli_harness_wait_text (harness, "watch.out", "\"state\":\"down\"", ROUND_MS));
    char *watched_json = fixture_format ("\"url\":\"%s\"", watched);
    assert_int_equal (cli_harness_count (harness, "watch.out", watched_json), 1);
    assert_int_equal (cli_harness_count (harness, "watch.out",
                                         "\"previous\":\"up\",\"reason\":\"http_status\""), 1);
    assert_true (webhook_wait (cli_harness_webhook, posts + 1, 10000));
    const char *down [] = { watched, "\"state\":\"down\"", NULL };
    assert_true (s_wait_status (harness, path, down, 5000));

    //  A broken config on SIGHUP is refused, and checks go on: the site is
    //  hit again after the refusal.
    long hits = testsite_hits (cli_harness_site, "/switch/run");
    assert_true (hits >= 1);
    assert_int_equal (cli_harness_write (harness, "run.yaml", "sites:\n  - url: gopher://x/\n"), 0);
    assert_int_equal (kill (run, SIGHUP), 0);
    assert_true (cli_harness_wait_text (harness, "run.err", "reload refused", 10000));
    assert_true (testsite_wait_hits (cli_harness_site, "/switch/run", hits + 1, ROUND_MS) >= hits + 1);

    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);
    assert_int_equal (kill (watch, SIGINT), 0);
    assert_int_equal (cli_harness_reap (harness, watch, 5000), 0);
    //  Once: one alert line in all, one post.
    assert_int_equal (cli_harness_count (harness, "watch.out", "\n"), 1);
    assert_int_equal (webhook_count (cli_harness_webhook), posts + 1);
    assert_int_equal (testsite_request (cli_harness_site, "/set/run/200"), 200);
    free (watched_json);
    free (path);
    free (alice);
    free (sites);
    free (watched);
}

//  A clean stop loses no result already received: every RESULT the pingers
//  sent (they say how many when they stop) is a row in the store.
static void
test_clean_stop_loses_no_result (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *sites = strdup ("");
    for (int index = 0; index < 20; index++) {
        char path [64];
        snprintf (path, sizeof (path), "/slow/300?site=%d", index);
        char *url = testsite_url (cli_harness_site, "http", path);
        char *more = fixture_format ("%s  - url: %s\n", sites, url);
        free (sites);
        free (url);
        sites = more;
    }
    char *alice = webhook_url (cli_harness_webhook, "/alice");
    char *path = cli_harness_config (harness, "stop.yaml", alice, sites);
    assert_non_null (path);
    const char *args [] = { "run", path, NULL };
    pid_t run = cli_harness_spawn (harness, "stop.out", "stop.err", args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "stop.err", "monitoring 20 sites", START_MS));
    //  Stop while checks come and go (each takes 300 ms).
    assert_true (cli_harness_wait_count (harness, "stop.err", "unknown -> up", 8, ROUND_MS));
    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);

    char *log = cli_harness_read (harness, "stop.err");
    long long sent = 0;
    size_t pingers = 0;
    for (const char *at = log; (at = strstr (at, ": stopped: checks=")); at++) {
        sent += atoll (at + strlen (": stopped: checks="));
        pingers++;
    }
    free (log);
    //  How many pingers run depends on the cores; each says what it sent.
    assert_true (pingers >= 1);
    assert_true (sent >= 8);

    char *database = cli_harness_path (harness, "data/squirrel.db");
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
    free (alice);
    free (sites);
}

//  A RESULT as the collector hands it to the store.
static void
s_store_result (zsock_t *push, uint64_t site_id, const char *region, int64_t at, bool up,
                sq_reason_t reason)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_RESULT;
    msg.result.job_id = 1;
    msg.result.attempt = 1;
    msg.result.site_id = site_id;
    snprintf (msg.result.pinger_id, sizeof (msg.result.pinger_id), "%s-pinger", region);
    snprintf (msg.result.region, sizeof (msg.result.region), "%s", region);
    msg.result.up = up;
    msg.result.reason = (uint8_t) reason;
    msg.result.http_status = up ? 200 : 0;
    msg.result.total_us = 1000;
    msg.result.at = at;
    assert_int_equal (sq_wire_send (push, NULL, 0, &msg), 0);
}

//  status shows a region whose latest verdict is older than the site's
//  freshness window (two intervals + timeout + the deadline margin, from
//  the config, or its defaults for a site it does not list) as
//  unavailable; --json gives each region's state and uptime, and each
//  site's quorum uptime.
static void
test_status_shows_unavailable_regions (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    //  fast: 10 s + 10 s + 2 s + 5 s = 27 s; patient: 10 s + 10 s + 60 s
    //  + 5 s = 85 s; slow and gone (not in the config, so the defaults):
    //  60 s + 60 s + 2 s + 5 s = 127 s.
    char *text = fixture_format ("data_dir: %s/data\n"
                                 "defaults:\n  interval: 1m\n  timeout: 2s\n"
                                 "sites:\n"
                                 "  - url: https://fast.example/\n    interval: 10s\n"
                                 "  - url: https://patient.example/\n    interval: 10s\n"
                                 "    timeout: 1m\n"
                                 "  - url: https://slow.example/\n", cli_harness_dir (harness));
    assert_int_equal (cli_harness_write (harness, "regions.yaml", text), 0);
    free (text);
    char *path = cli_harness_path (harness, "regions.yaml");
    char *data_dir = cli_harness_path (harness, "data");

    //  The store as `run` would leave it: eu last heard a minute ago (a
    //  down), us 5 s ago; the store writer itself takes the results.
    char error [256] = "";
    store_t *store = store_open (data_dir, error, sizeof (error));
    assert_non_null (store);
    const char *urls [] = { "https://fast.example/", "https://gone.example/",
                            "https://patient.example/", "https://slow.example/" };
    uint64_t ids [4];
    assert_int_equal (store_sync_sites (store, urls, NULL, 4, ids, error, sizeof (error)), 0);
    store_close (&store);
    store_args_t args = { .data_dir = data_dir, .endpoint = "inproc://test-cli-store" };
    zactor_t *writer = sq_actor_start (store_actor, &args, "store");
    assert_non_null (writer);
    zsock_t *push = zsock_new_push ("inproc://test-cli-store");
    assert_non_null (push);
    int64_t now = sq_wallclock_us ();
    int64_t eu_at = now - 60000000;
    for (size_t site = 0; site < 4; site++) {
        s_store_result (push, ids [site], "eu", eu_at - 1000000, true, SQ_REASON_OK);
        s_store_result (push, ids [site], "eu", eu_at, false, SQ_REASON_TIMEOUT);
        s_store_result (push, ids [site], "us", now - 5000000, true, SQ_REASON_OK);
    }
    assert_int_equal (zstr_send (writer, "FLUSH"), 0);
    char *reply = zstr_recv (writer);
    assert_non_null (reply);
    assert_string_equal (reply, "OK");
    zstr_free (&reply);
    zsock_destroy (&push);
    zactor_destroy (&writer);

    //  Within 22 s of the checks above, us is fresh everywhere.
    const char *text_args [] = { "status", path, NULL };
    assert_int_equal (cli_harness_run (harness, text_args, RUN_MS), 0);
    assert_int_equal (cli_harness_count (harness, "out.txt",
                                         "https://fast.example/ eu:unavailable us:up\n"), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt",
                                         "https://slow.example/ eu:down(timeout) us:up\n"), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt",
                                         "https://gone.example/ eu:down(timeout) us:up\n"), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt",
                                         "https://patient.example/ eu:down(timeout) us:up\n"), 1);

    const char *json_args [] = { "status", "--json", path, NULL };
    assert_int_equal (cli_harness_run (harness, json_args, RUN_MS), 0);
    char at [40];
    sq_time_iso (eu_at, at, sizeof (at));
    const char *states [] = { "unavailable", "down", "down", "down" };
    char *out = cli_harness_read (harness, "out.txt");
    for (size_t site = 0; site < 4; site++) {
        //  The site's own line: its figures, then its regions.
        char *head = fixture_format ("{\"url\":\"%s\",\"owner\":\"\",\"state\":\"unknown\","
                                     "\"uptime_24h\":66.667,\"uptime_7d\":66.667,\"uptime_30d\":66.667,"
                                     "\"quorum_uptime_24h\":100.000,\"quorum_uptime_7d\":100.000,"
                                     "\"quorum_uptime_30d\":100.000,", urls [site]);
        char *line = strstr (out, head);
        assert_non_null (line);
        char *end = strchr (line, '\n');
        assert_non_null (end);
        *end = '\0';
        char *regions = fixture_format ("\"regions\":{\"eu\":{\"name\":\"eu\",\"state\":\"%s\","
                                        "\"up\":false,\"reason\":\"timeout\",\"at\":\"%s\","
                                        "\"uptime_24h\":50.000,\"uptime_7d\":50.000,"
                                        "\"uptime_30d\":50.000},\"us\":{\"name\":\"us\","
                                        "\"state\":\"up\",\"up\":true,\"reason\":\"ok\",\"at\":\"",
                                        states [site], at);
        assert_non_null (strstr (line, regions));
        const char *tail = "\"uptime_24h\":100.000,\"uptime_7d\":100.000,\"uptime_30d\":100.000}}}";
        assert_true (strlen (line) > strlen (tail));
        assert_string_equal (line + strlen (line) - strlen (tail), tail);
        *end = '\n';
        free (regions);
        free (head);
    }
    free (out);
    free (data_dir);
    free (path);
}

//  An international host name is checked like any other (issue 11, item
//  9).  "bücher.localhost" in the config is checked, and shown, as its
//  punycode form (sq_url_normalise), which libcurl resolves to loopback by
//  itself (every *.localhost name, since 7.85; the system's resolver here
//  does not know it): the test site answers, so the site is up.  The
//  --notify URL is handed to libcurl as typed, Unicode and all: the alert
//  reaches the receiver only if libcurl can convert the name, which needs
//  LC_CTYPE C.UTF-8 (main.c).
static void
test_sweep_international_host (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    int site_port = testsite_port (cli_harness_site, "http");
    char *receiver = webhook_url (cli_harness_webhook, "/");
    int hook_port = atoi (strrchr (receiver, ':') + 1);
    assert_true (site_port > 0 && hook_port > 0);
    char *list = fixture_format ("http://Bücher.LOCALHOST:%d/count/idn#top\n"
                                 "http://bücher.localhost:%d/status/503\n", site_port, site_port);
    assert_int_equal (cli_harness_write (harness, "idn.txt", list), 0);
    char *path = cli_harness_path (harness, "idn.txt");
    char *notify = fixture_format ("http://bücher.localhost:%d/idn", hook_port);
    long hits = testsite_hits (cli_harness_site, "/count/idn");
    size_t posts = webhook_count (cli_harness_webhook);
    const char *args [] = { "sweep", "--json", "--failure-threshold", "1", "--notify", notify,
                            path, NULL };
    assert_int_equal (cli_harness_run (harness, args, RUN_MS), 1);

    char *up = fixture_format ("{\"url\":\"http://xn--bcher-kva.localhost:%d/count/idn\","
                               "\"state\":\"up\",\"reason\":\"ok\",\"status\":200,", site_port);
    char *down = fixture_format ("\n{\"url\":\"http://xn--bcher-kva.localhost:%d/status/503\","
                                 "\"state\":\"down\",\"reason\":\"http_status\",\"status\":503,",
                                 site_port);
    char *out = cli_harness_read (harness, "out.txt");
    assert_true (strstr (out, up) == out);
    assert_non_null (strstr (out, down));
    assert_int_equal (cli_harness_count (harness, "out.txt", "\n"), 2);
    //  Really checked there, once.
    assert_int_equal (testsite_hits (cli_harness_site, "/count/idn"), hits + 1);
    //  The down one was told to the Unicode-named receiver before sweep exited.
    char *shown = fixture_format ("\"url\":\"http://xn--bcher-kva.localhost:%d/status/503\"",
                                  site_port);
    assert_int_equal (webhook_count (cli_harness_webhook), posts + 1);
    char *body = webhook_body (cli_harness_webhook, posts);
    assert_non_null (body);
    assert_non_null (strstr (body, "\"kind\":\"alert\""));
    assert_non_null (strstr (body, shown));
    free (body);
    free (shown);
    free (out);
    free (down);
    free (up);
    free (notify);
    free (path);
    free (list);
    free (receiver);
}

//  A password and a token in a site's URL never leave it (issue 11, item
//  2): not in sweep's output, not in its log (--verbose), not in the alert
//  posted; the site is still checked with them.
static void
test_sweep_hides_secrets (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    int site_port = testsite_port (cli_harness_site, "http");
    char *receiver = webhook_url (cli_harness_webhook, "/secrets");
    assert_true (site_port > 0);
    char *list = fixture_format ("http://alice:S3cretPw@127.0.0.1:%d/status/503?site=7&token=S3cretTok\n",
                                 site_port);
    assert_int_equal (cli_harness_write (harness, "secret.txt", list), 0);
    char *path = cli_harness_path (harness, "secret.txt");
    size_t posts = webhook_count (cli_harness_webhook);
    const char *args [] = { "sweep", "--json", "--verbose", "--failure-threshold", "1",
                            "--notify", receiver, path, NULL };
    assert_int_equal (cli_harness_run (harness, args, RUN_MS), 1);
    char *shown = fixture_format ("{\"url\":\"http://***@127.0.0.1:%d/status/503?site=7&token=***\","
                                  "\"state\":\"down\"", site_port);
    char *out = cli_harness_read (harness, "out.txt");
    assert_true (strstr (out, shown) == out);
    assert_int_equal (cli_harness_count (harness, "out.txt", "S3cret"), 0);
    assert_int_equal (cli_harness_count (harness, "err.txt", "S3cret"), 0);
    assert_int_equal (cli_harness_count (harness, "err.txt", "collector: ALERT #"), 1);
    assert_int_equal (webhook_count (cli_harness_webhook), posts + 1);
    char *body = webhook_body (cli_harness_webhook, posts);
    assert_non_null (body);
    assert_null (strstr (body, "S3cret"));
    assert_non_null (strstr (body, "http://***@127.0.0.1:"));
    free (body);
    free (out);
    free (shown);
    free (path);
    free (list);
    free (receiver);
}

int
main (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        CLI_HARNESS_TEST (test_sweep_all_up_exits_zero),
        CLI_HARNESS_TEST (test_sweep_json_and_down_exits_one),
        CLI_HARNESS_TEST (test_sweep_through_a_remote_node),
        CLI_HARNESS_TEST (test_sweep_config_errors_exit_two),
        CLI_HARNESS_TEST (test_run_watch_status),
        CLI_HARNESS_TEST (test_clean_stop_loses_no_result),
        CLI_HARNESS_TEST (test_status_shows_unavailable_regions),
        CLI_HARNESS_TEST (test_sweep_international_host),
        CLI_HARNESS_TEST (test_sweep_hides_secrets),
    };
    int rc = cmocka_run_group_tests (tests, cli_harness_group_setup, cli_harness_group_teardown);
    curl_global_cleanup ();
    return rc;
}
