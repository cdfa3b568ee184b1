/*  test_feed.c: the alert feed as a watcher sees it, with real processes.

    - Sequence numbers go on across restarts of `squirrel run`: the second
      run's first alert is the first run's last + 1, never #1 again.
    - `watch --since N` started late prints the stored alerts after N
      exactly once, in order, then the live ones, exactly once.
    - Against a scripted hub (this test's own XPUB and ROUTER): a live
      alert already printed from the snapshot is not printed again, a gap
      is asked for and filled before the live alert after it, a snapshot
      answer in pages is followed to the end, hostile frames are dropped.
    - Over tcp with CURVE (loopback, real keys from `squirrel keygen`): a
      watcher whose key is allowed follows the hub through the forwarder
      and the snapshot service; one with an unknown key gets nothing; a
      subscription longer than a topic can be is refused, logged once.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_harness.h"
#include "fixture_process.h"
#include "testsite.h"
#include "forwarder.h"
#include "sq_keys.h"
#include "sq_wire.h"
#include "topology.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_MS      60000       //  a command that runs to its end
#define START_MS    15000       //  `run` says "monitoring" (ASan start-up included)
#define STOP_MS     30000       //  a clean stop
#define ROUND_MS    25000       //  a check spread over the 10 s interval, and a recheck
#define WATCH_MS    15000       //  a watcher prints what it was given

static testsite_t *s_site;

static int
s_group_setup (void **state)
{
    s_site = testsite_start ();
    return s_site ? 0 : -1;
}

static int
s_group_teardown (void **state)
{
    testsite_stop (&s_site);
    return 0;
}

//  The seq of each JSON line of a watcher's output, in order; how many.
static size_t
s_seqs (cli_harness_t *harness, const char *name, uint64_t *seqs, size_t max)
{
    char *text = cli_harness_read (harness, name);
    size_t count = 0;
    for (char *line = text; line && *line; ) {
        char *end = strchr (line, '\n');
        if (end)
            *end = '\0';
        const char *seq = strstr (line, "{\"seq\":");
        if (seq && count < max)
            seqs [count] = strtoull (seq + 7, NULL, 10);
        count++;
        line = end ? end + 1 : NULL;
    }
    free (text);
    return count;
}

//  The watcher's output is exactly the alerts first .. last, once each, in order.
static void
s_assert_seqs (cli_harness_t *harness, const char *name, uint64_t first, uint64_t last)
{
    uint64_t seqs [64];
    size_t count = s_seqs (harness, name, seqs, 64);
    if (count != last - first + 1) {
        char *text = cli_harness_read (harness, name);
        fprintf (stderr, "%s: expected #%llu .. #%llu, got:\n%s\n", name,
                 (unsigned long long) first, (unsigned long long) last, text);
        free (text);
    }
    assert_int_equal (count, last - first + 1);
    for (size_t index = 0; index < count; index++)
        assert_int_equal (seqs [index], first + index);
}

static void
s_stop (cli_harness_t *harness, pid_t pid, int signal, int timeout_ms)
{
    assert_int_equal (kill (pid, signal), 0);
    assert_int_equal (cli_harness_reap (harness, pid, timeout_ms), 0);
}

//  ---------------------------------------------------------------------
//  Against the real hub, over ipc

static void
test_seq_goes_on_and_since_replays (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *url = testsite_url (s_site, "http", "/switch/feed");
    char *sites = fixture_format ("  - url: %s\n    failure_threshold: 1\n"
                                  "    success_threshold: 1\n", url);
    char *alice = fixture_format ("http://127.0.0.1:%d/alice", testsite_port (s_site, "closed"));
    char *config = cli_harness_config (harness, "run.yaml", alice, sites);
    assert_non_null (config);
    assert_int_equal (testsite_request (s_site, "/set/feed/200"), 200);

    //  First run: up, down (#1), up (#2).
    const char *run_args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run1.out", "run1.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run1.err", "monitoring 1 sites", START_MS));
    assert_true (cli_harness_wait_text (harness, "run1.err", "unknown -> up", ROUND_MS));
    assert_int_equal (testsite_request (s_site, "/set/feed/503"), 200);
    assert_true (cli_harness_wait_text (harness, "run1.err", "ALERT #1 ", ROUND_MS));
    assert_int_equal (testsite_request (s_site, "/set/feed/200"), 200);
    assert_true (cli_harness_wait_text (harness, "run1.err", "ALERT #2 ", ROUND_MS));
    s_stop (harness, run, SIGTERM, STOP_MS);
    assert_int_equal (cli_harness_count (harness, "run1.err", "collector: ALERT #"), 2);

    //  Second run: it goes down again, and that is #3, not #1.
    run = cli_harness_spawn (harness, "run2.out", "run2.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run2.err", "monitoring 1 sites", START_MS));
    assert_int_equal (testsite_request (s_site, "/set/feed/503"), 200);
    assert_true (cli_harness_wait_text (harness, "run2.err", "collector: ALERT #", ROUND_MS));
    assert_int_equal (cli_harness_count (harness, "run2.err", "collector: ALERT #3 "), 1);
    assert_int_equal (cli_harness_count (harness, "run2.err", "collector: ALERT #1 "), 0);

    //  Late watchers: every stored alert after N, once, in order ...
    const char *all_args [] = { "watch", "--json", "--since", "0", cli_harness_feed (harness), NULL };
    pid_t all = cli_harness_spawn (harness, "all.out", "all.err", all_args);
    const char *late_args [] = { "watch", "--json", "--since", "2", cli_harness_feed (harness), NULL };
    pid_t late = cli_harness_spawn (harness, "late.out", "late.err", late_args);
    assert_true (all > 0 && late > 0);
    assert_true (cli_harness_wait_text (harness, "all.err", "caught up to #3", WATCH_MS));
    assert_true (cli_harness_wait_text (harness, "late.err", "caught up to #3", WATCH_MS));
    s_assert_seqs (harness, "all.out", 1, 3);
    s_assert_seqs (harness, "late.out", 3, 3);

    //  ... then the live one, once.
    assert_int_equal (testsite_request (s_site, "/set/feed/200"), 200);
    assert_true (cli_harness_wait_text (harness, "run2.err", "collector: ALERT #4 ", ROUND_MS));
    assert_true (cli_harness_wait_text (harness, "all.out", "{\"seq\":4,", WATCH_MS));
    assert_true (cli_harness_wait_text (harness, "late.out", "{\"seq\":4,", WATCH_MS));
    //  Past an idle re-fetch of the watchers (2 s): still once.
    fixture_sleep_ms (3000);
    s_stop (harness, run, SIGTERM, STOP_MS);
    s_stop (harness, all, SIGINT, 5000);
    s_stop (harness, late, SIGINT, 5000);
    s_assert_seqs (harness, "all.out", 1, 4);
    s_assert_seqs (harness, "late.out", 3, 4);
    assert_int_equal (cli_harness_count (harness, "all.err", "missed"), 0);
    assert_int_equal (cli_harness_count (harness, "all.out", "\"state\":\"down\""), 2);
    char *json_url = fixture_format ("\"url\":\"%s\"", url);
    assert_int_equal (cli_harness_count (harness, "all.out", json_url), 4);
    free (json_url);
    free (config);
    free (alice);
    free (sites);
    free (url);
}

//  ---------------------------------------------------------------------
//  Against a scripted hub: this test plays the feed and the snapshot service

static void
s_alert (sq_msg_t *msg, uint64_t seq)
{
    memset (msg, 0, sizeof (*msg));
    msg->type = SQ_MSG_ALERT;
    msg->alert.seq = seq;
    msg->alert.site_id = 7;
    snprintf (msg->alert.url, sizeof (msg->alert.url), "https://scripted.example/");
    msg->alert.previous = seq % 2 ? SQ_STATE_UP : SQ_STATE_DOWN;
    msg->alert.state = seq % 2 ? SQ_STATE_DOWN : SQ_STATE_UP;
    msg->alert.since = 1700000000000000LL + (int64_t) seq;
    snprintf (msg->alert.detail, sizeof (msg->alert.detail), "scripted %llu",
              (unsigned long long) seq);
}

static void
s_publish (zsock_t *feed, uint64_t seq)
{
    sq_msg_t msg;
    s_alert (&msg, seq);
    const char *topic = seq % 2 ? "down https://scripted.example/" : "up https://scripted.example/";
    assert_int_equal (sq_wire_send (feed, topic, strlen (topic), &msg), 0);
}

//  Wait for a FETCH on the ROUTER; its asker's identity into identity.
static sq_fetch_t
s_wait_fetch (zsock_t *router, uint8_t *identity, size_t *identity_size)
{
    zpoller_t *poller = zpoller_new (router, NULL);
    assert_true (zpoller_wait (poller, WATCH_MS) == router);
    zpoller_destroy (&poller);
    sq_msg_t msg;
    char why [128] = "";
    assert_int_equal (sq_wire_recv (router, identity, identity_size, &msg, why, sizeof (why)),
                      SQ_PROTO_OK);
    assert_int_equal (msg.type, SQ_MSG_FETCH);
    return msg.fetch;
}

static void
s_answer (zsock_t *router, const uint8_t *identity, size_t identity_size, uint64_t seq)
{
    sq_msg_t msg;
    s_alert (&msg, seq);
    assert_int_equal (sq_wire_send (router, identity, identity_size, &msg), 0);
}

static void
s_answer_end (zsock_t *router, const uint8_t *identity, size_t identity_size,
              uint64_t last, bool more)
{
    sq_msg_t msg = { .type = SQ_MSG_FETCHED };
    msg.fetched.last = last;
    msg.fetched.more = more;
    assert_int_equal (sq_wire_send (router, identity, identity_size, &msg), 0);
}

static void
test_watch_drops_duplicates_and_fills_gaps (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *feed_endpoint = fixture_format ("ipc://%s/scripted.feed", cli_harness_dir (harness));
    char snapshot_endpoint [TOPOLOGY_ENDPOINT_MAX], error [256];
    assert_int_equal (topology_snapshot_endpoint (feed_endpoint, snapshot_endpoint, error,
                                                  sizeof (error)), 0);
    zsock_t *feed = zsock_new (ZMQ_XPUB);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert_non_null (feed);
    assert_non_null (router);
    assert_int_equal (zsock_bind (feed, "%s", feed_endpoint), 0);
    assert_int_equal (zsock_bind (router, "%s", snapshot_endpoint), 0);

    const char *args [] = { "watch", "--json", "--since", "0", feed_endpoint, NULL };
    pid_t watch = cli_harness_spawn (harness, "watch.out", "watch.err", args);
    assert_true (watch > 0);
    //  Its subscription arrives (first, as the Clone pattern wants) ...
    zpoller_t *poller = zpoller_new (feed, NULL);
    assert_true (zpoller_wait (poller, WATCH_MS) == feed);
    zpoller_destroy (&poller);
    zframe_t *subscription = zframe_recv (feed);
    assert_non_null (subscription);
    assert_int_equal (zframe_size (subscription), 1);
    assert_int_equal (zframe_data (subscription) [0], 1);
    zframe_destroy (&subscription);

    //  ... then its FETCH: answered in two pages, with hostile frames.
    uint8_t identity [256];
    size_t identity_size = sizeof (identity);
    sq_fetch_t fetch = s_wait_fetch (router, identity, &identity_size);
    assert_int_equal (fetch.since, 0);
    assert_int_equal (fetch.until, 0);
    assert_int_equal (zsock_send (router, "bs", identity, identity_size, "not msgpack"), 0);
    s_answer (router, identity, identity_size, 1);
    s_answer (router, identity, identity_size, 2);
    s_answer_end (router, identity, identity_size, 2, true);
    identity_size = sizeof (identity);
    fetch = s_wait_fetch (router, identity, &identity_size);
    assert_int_equal (fetch.since, 2);
    s_answer (router, identity, identity_size, 3);
    s_answer (router, identity, identity_size, 2);      //  not asked for: refused
    s_answer_end (router, identity, identity_size, 3, false);
    assert_true (cli_harness_wait_text (harness, "watch.err", "caught up to #3", WATCH_MS));

    //  Live: #2 and #3 again (already printed), garbage, #4, then #6: the
    //  watcher must ask for #5 before it prints #6.
    s_publish (feed, 2);
    s_publish (feed, 3);
    assert_int_equal (zsock_send (feed, "ss", "down x", "garbage"), 0);
    s_publish (feed, 4);
    s_publish (feed, 6);
    identity_size = sizeof (identity);
    fetch = s_wait_fetch (router, identity, &identity_size);
    assert_int_equal (fetch.since, 4);
    assert_int_equal (fetch.until, 5);
    s_answer (router, identity, identity_size, 5);
    s_answer_end (router, identity, identity_size, 5, false);
    assert_true (cli_harness_wait_text (harness, "watch.out", "{\"seq\":6,", WATCH_MS));
    s_publish (feed, 6);
    s_publish (feed, 7);
    assert_true (cli_harness_wait_text (harness, "watch.out", "{\"seq\":7,", WATCH_MS));
    s_stop (harness, watch, SIGINT, 5000);
    s_assert_seqs (harness, "watch.out", 1, 7);
    assert_int_equal (cli_harness_count (harness, "watch.err", "missed"), 0);
    assert_true (cli_harness_count (harness, "watch.err", "dropped") >= 3);
    zsock_destroy (&feed);
    zsock_destroy (&router);
    free (feed_endpoint);
}

//  ---------------------------------------------------------------------
//  Over tcp with CURVE, on loopback

static void
s_keygen (cli_harness_t *harness, const char *name)
{
    char *path = cli_harness_path (harness, name);
    const char *args [] = { "keygen", path, NULL };
    assert_int_equal (cli_harness_run (harness, args, RUN_MS), 0);
    free (path);
}

static void
test_tcp_watch_with_curve (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    int port = cli_harness_free_ports (4);
    assert_true (port > 0);
    char *url = testsite_url (s_site, "http", "/switch/tcp");
    char *sites = fixture_format ("  - url: %s\n    failure_threshold: 1\n"
                                  "    success_threshold: 1\n", url);
    char *alice = fixture_format ("http://127.0.0.1:%d/alice", testsite_port (s_site, "closed"));
    char *config = cli_harness_config (harness, "tcp.yaml", alice, sites);
    assert_non_null (config);
    char *text = cli_harness_read (harness, "tcp.yaml");
    char *listen = fixture_format ("tcp://127.0.0.1:%d", port);
    char *keys = cli_harness_path (harness, "keys");
    char *full = fixture_format ("listen: %s\nkeys: %s\n%s", listen, keys, text);
    assert_int_equal (cli_harness_write (harness, "tcp.yaml", full), 0);
    assert_int_equal (testsite_request (s_site, "/set/tcp/200"), 200);

    const char *run_args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run.out", "run.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run.err", "monitoring 1 sites", START_MS));

    //  One watcher allowed, one not.
    s_keygen (harness, "watcher.key");
    s_keygen (harness, "stranger.key");
    char *public = cli_harness_read (harness, "watcher.key");
    assert_int_equal (cli_harness_write (harness, "keys/allowed/watcher", public), 0);
    free (public);
    char *watcher_key = cli_harness_path (harness, "watcher.key");
    char *stranger_key = cli_harness_path (harness, "stranger.key");
    char *hub_key = cli_harness_path (harness, "keys/hub");
    const char *watch_args [] = { "watch", listen, "--key", watcher_key, "--server-key", hub_key,
                                  "--json", "--since", "0", NULL };
    pid_t watch = cli_harness_spawn (harness, "watch.out", "watch.err", watch_args);
    const char *stranger_args [] = { "watch", listen, "--key", stranger_key, "--server-key",
                                     hub_key, "--json", "--since", "0", NULL };
    pid_t stranger = cli_harness_spawn (harness, "stranger.out", "stranger.err", stranger_args);
    const char *live_args [] = { "watch", listen, "--key", stranger_key, "--server-key", hub_key,
                                 "--json", NULL };
    pid_t live = cli_harness_spawn (harness, "live.out", "live.err", live_args);
    assert_true (watch > 0 && stranger > 0 && live > 0);
    assert_true (cli_harness_wait_text (harness, "watch.err", "caught up to #0", WATCH_MS));

    //  A subscription longer than any topic, twice, from an allowed key:
    //  refused, logged once.
    char feed [TOPOLOGY_ENDPOINT_MAX], snapshot [TOPOLOGY_ENDPOINT_MAX], error [256];
    zcert_t *mine = sq_keys_load_pair (watcher_key, error, sizeof (error));
    assert_non_null (mine);
    zcert_t *hub = sq_keys_load_public (hub_key, error, sizeof (error));
    assert_non_null (hub);
    sq_curve_t curve = { zcert_public_txt (mine), zcert_secret_txt (mine), zcert_public_txt (hub) };
    assert_int_equal (topology_remote_feed_endpoints (listen, feed, snapshot, error,
                                                      sizeof (error)), 0);
    zsock_t *hostile = zsock_new (ZMQ_SUB);
    assert_non_null (hostile);
    assert_int_equal (sq_actor_connect (hostile, feed, &curve), 0);
    char long_topic [FORWARDER_TOPIC_MAX + 2];
    memset (long_topic, 'x', sizeof (long_topic) - 1);
    long_topic [sizeof (long_topic) - 1] = '\0';
    zsock_set_subscribe (hostile, long_topic);
    long_topic [0] = 'y';
    zsock_set_subscribe (hostile, long_topic);
    char *refused = fixture_format ("forwarder: refused a subscription of %d bytes",
                                    FORWARDER_TOPIC_MAX + 1);
    assert_true (cli_harness_wait_text (harness, "run.err", refused, WATCH_MS));

    //  The site goes down and up: the allowed watcher prints #1 and #2.
    assert_true (cli_harness_wait_text (harness, "run.err", "unknown -> up", ROUND_MS));
    assert_int_equal (testsite_request (s_site, "/set/tcp/503"), 200);
    assert_true (cli_harness_wait_text (harness, "watch.out", "{\"seq\":1,", ROUND_MS));
    assert_int_equal (testsite_request (s_site, "/set/tcp/200"), 200);
    assert_true (cli_harness_wait_text (harness, "watch.out", "{\"seq\":2,", ROUND_MS));
    //  Not a wait for something to happen: the watchers that must get
    //  nothing get 2.5 s more than the allowed one needed to get #2.
    fixture_sleep_ms (2500);
    s_stop (harness, run, SIGTERM, STOP_MS);
    s_stop (harness, watch, SIGINT, 10000);
    s_stop (harness, stranger, SIGINT, 10000);
    s_stop (harness, live, SIGINT, 10000);
    s_assert_seqs (harness, "watch.out", 1, 2);
    //  The unknown key got nothing, live or stored.
    assert_int_equal (cli_harness_count (harness, "stranger.out", "\n"), 0);
    assert_int_equal (cli_harness_count (harness, "live.out", "\n"), 0);
    assert_int_equal (cli_harness_count (harness, "stranger.err", "caught up"), 0);
    //  Refused once in the log, twice in the counters.
    assert_int_equal (cli_harness_count (harness, "run.err", "forwarder: refused a subscription"), 1);
    assert_int_equal (cli_harness_count (harness, "run.err", "refused_long=2 "), 1);
    assert_int_equal (cli_harness_count (harness, "run.err", "forwarder: forwarded=2 "), 1);

    zsock_destroy (&hostile);
    zcert_destroy (&mine);
    zcert_destroy (&hub);
    free (refused);
    free (hub_key);
    free (stranger_key);
    free (watcher_key);
    free (full);
    free (keys);
    free (listen);
    free (text);
    free (config);
    free (alice);
    free (sites);
    free (url);
}

int
main (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        CLI_HARNESS_TEST (test_watch_drops_duplicates_and_fills_gaps),
        CLI_HARNESS_TEST (test_seq_goes_on_and_since_replays),
        CLI_HARNESS_TEST (test_tcp_watch_with_curve),
    };
    int rc = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    curl_global_cleanup ();
    return rc;
}
