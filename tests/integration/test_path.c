/*  test_path.c: the whole path in one process, over inproc://, against the
    real test site, a real webhook receiver and a real SQLite store.

    A site that goes down is reported DOWN after the threshold and UP after
    it recovers, with exactly one alert each way, seen by a feed subscriber
    and by the owner's webhook, and the store holds the incident.  A suspect
    site that recovers on recheck raises no alert.

    Each test builds its topology in its body; the per-test teardown takes
    down whatever was built, also after a failed assertion, so one failure
    does not spill into the next test.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "topology.h"
#include "config.h"
#include "store.h"
#include "sq_actor.h"
#include "sq_wire.h"
#include "testsite.h"
#include "webhook.h"
#include "actor_wait.h"

#include <curl/curl.h>
#include <string.h>

typedef struct {
    testsite_t *site;           //  the monitored sites
    webhook_t *webhook;         //  the owner's webhook receiver
    char data_dir [64];         //  the store's folder for this test
    config_t *config;           //  one site, owned by alice
    topology_t *topology;       //  the actors
    zsock_t *feed;              //  a subscriber to the alert feed
} fixture_t;

static fixture_t s_fixture;

static int
s_group_setup (void **state)
{
    s_fixture.site = testsite_start ();
    s_fixture.webhook = webhook_start (0, 200);
    return s_fixture.site && s_fixture.webhook ? 0 : -1;
}

static int
s_group_teardown (void **state)
{
    testsite_stop (&s_fixture.site);
    webhook_stop (&s_fixture.webhook);
    return 0;
}

//  Whatever s_start built, stopped and removed; safe on a part-built
//  fixture.  cmocka runs it after each test, passed or failed.
static int
s_teardown (void **state)
{
    fixture_t *self = &s_fixture;
    zsock_destroy (&self->feed);
    topology_destroy (&self->topology);
    config_destroy (&self->config);
    int rc = 0;
    if (self->data_dir [0]) {
        char *command = zsys_sprintf ("rm -rf '%s'", self->data_dir);
        rc = system (command) == 0 ? 0 : -1;
        zstr_free (&command);
        self->data_dir [0] = '\0';
    }
    return rc;
}

//  One site at /switch/NAME, checked every 300 ms (below the config's
//  10 s floor: the topology takes what it is given, and tests need speed).
static void
s_start (const char *name)
{
    fixture_t *self = &s_fixture;
    strcpy (self->data_dir, "/tmp/sq-path-XXXXXX");
    assert_non_null (mkdtemp (self->data_dir));
    self->config = config_new_empty ();
    assert_non_null (self->config);
    char path [64];
    snprintf (path, sizeof (path), "/switch/%s", name);
    char *url = testsite_url (self->site, "http", path);
    char error [256];
    assert_int_equal (config_add_site (self->config, url, error, sizeof (error)), 0);
    free (url);
    config_site_t *site = &self->config->sites [0];
    site->interval_ms = 300;
    site->timeout_ms = 2000;
    site->owner = strdup ("alice");
    self->config->owners = (config_owner_t *) calloc (1, sizeof (config_owner_t));
    self->config->owners [0].name = strdup ("alice");
    self->config->owners [0].webhook = webhook_url (self->webhook, "/alice");
    self->config->owner_count = 1;

    store_t *store = store_open (self->data_dir, error, sizeof (error));
    assert_non_null (store);
    const char *urls [] = { site->url };
    const char *owners [] = { site->owner };
    assert_int_equal (store_sync_sites (store, urls, owners, 1, &site->id, error, sizeof (error)), 0);
    store_close (&store);

    topology_args_t args = { .transport = "inproc", .data_dir = self->data_dir, .concurrency = 8 };
    self->topology = topology_new (&args);
    assert_non_null (self->topology);
    self->feed = zsock_new_sub (topology_endpoints_of (self->topology)->feed, "");
    assert_non_null (self->feed);
    assert_int_equal (config_hand_sites (self->config, self->topology, error, sizeof (error)), 0);
}

//  The next ALERT on the feed within timeout_ms, or false.
static bool
s_next_alert (sq_alert_t *alert, int timeout_ms)
{
    zsock_set_rcvtimeo (s_fixture.feed, timeout_ms);
    char topic [SQ_URL_MAX + 32];
    size_t topic_size = sizeof (topic) - 1;
    sq_msg_t msg;
    int rc = sq_wire_recv (s_fixture.feed, topic, &topic_size, &msg, NULL, 0);
    if (rc != SQ_PROTO_OK)
        return false;
    assert_int_equal (msg.type, SQ_MSG_ALERT);
    topic [topic_size] = '\0';
    //  The topic is "STATE URL", so subscribers can filter by prefix.
    char expected [SQ_URL_MAX + 32];
    snprintf (expected, sizeof (expected), "%s %s", sq_state_name ((sq_state_t) msg.alert.state),
              msg.alert.url);
    assert_string_equal (topic, expected);
    *alert = msg.alert;
    return true;
}

//  Poll a collector counter until it reaches want, with a deadline.
static long long
s_wait_counter (const char *name, long long want, int timeout_ms)
{
    return actor_wait_counter (topology_collector (s_fixture.topology), name, want, timeout_ms);
}

typedef struct {
    size_t count;               //  incidents seen
    store_incident_t first;     //  the newest
} incidents_t;

static void
s_on_incident (const store_incident_t *row, void *arg)
{
    incidents_t *incidents = (incidents_t *) arg;
    if (incidents->count++ == 0)
        incidents->first = *row;
}

static void
test_down_then_up_one_alert_each_way (void **state)
{
    size_t posts_before = webhook_count (s_fixture.webhook);
    s_start ("downup");
    //  Up first: a few results in, and no alert for the first UP.
    assert_true (s_wait_counter ("results", 2, 5000) >= 2);
    //  Exactly two failures (the threshold), then 200 again by itself.
    assert_int_equal (testsite_request (s_fixture.site, "/set/downup/503/2"), 200);

    sq_alert_t alert;
    assert_true (s_next_alert (&alert, 10000));
    assert_int_equal (alert.state, SQ_STATE_DOWN);
    assert_int_equal (alert.previous, SQ_STATE_UP);
    assert_int_equal (alert.reason, SQ_REASON_HTTP_STATUS);
    assert_string_equal (alert.detail, "HTTP 503");
    uint64_t down_seq = alert.seq;
    //  Two failures in a row (the threshold) were needed, no more: the two
    //  the site gave were enough, and the first made it SUSPECT, once.
    char *stats = sq_actor_stats (topology_collector (s_fixture.topology));
    assert_int_equal (sq_stats_value (stats, "suspects"), 1);
    free (stats);
    assert_true (webhook_wait (s_fixture.webhook, posts_before + 1, 10000));
    char *body = webhook_body (s_fixture.webhook, posts_before);
    assert_non_null (body);
    assert_non_null (strstr (body, "\"state\":\"down\""));
    assert_non_null (strstr (body, "\"previous\":\"up\""));
    assert_non_null (strstr (body, "\"owner\":\"alice\""));
    assert_non_null (strstr (body, "/switch/downup"));
    free (body);

    //  The switch answers 200 again after its two failures.
    assert_true (s_next_alert (&alert, 10000));
    assert_int_equal (alert.state, SQ_STATE_UP);
    assert_int_equal (alert.previous, SQ_STATE_DOWN);
    assert_int_equal (alert.seq, down_seq + 1);
    assert_true (webhook_wait (s_fixture.webhook, posts_before + 2, 10000));
    body = webhook_body (s_fixture.webhook, posts_before + 1);
    assert_non_null (strstr (body, "\"state\":\"up\""));
    free (body);

    //  Exactly one each way: a dozen more rounds bring nothing new.
    long long results = s_wait_counter ("results", 0, 0);
    assert_true (s_wait_counter ("results", results + 12, 10000) >= results + 12);
    assert_false (s_next_alert (&alert, 0));
    assert_int_equal (webhook_count (s_fixture.webhook), posts_before + 2);

    //  The store holds one closed incident spanning the outage.
    assert_int_equal (topology_flush_store (s_fixture.topology), 0);
    char error [256];
    store_t *store = store_open (s_fixture.data_dir, error, sizeof (error));
    assert_non_null (store);
    incidents_t incidents = { 0 };
    assert_int_equal (store_incidents (store, s_fixture.config->sites [0].id, 10,
                                       s_on_incident, &incidents), 1);
    assert_int_equal (incidents.count, 1);
    assert_true (incidents.first.start_us > 0);
    assert_true (incidents.first.end_us > incidents.first.start_us);
    assert_int_equal (incidents.first.reason, SQ_REASON_HTTP_STATUS);
    store_close (&store);
}

static void
test_suspect_that_recovers_raises_no_alert (void **state)
{
    size_t posts_before = webhook_count (s_fixture.webhook);
    s_start ("flaky");
    assert_true (s_wait_counter ("results", 2, 5000) >= 2);
    //  One failure only: the next request answers 200 again.
    assert_int_equal (testsite_request (s_fixture.site, "/set/flaky/503/1"), 200);
    assert_true (s_wait_counter ("suspects", 1, 10000) >= 1);
    long long results = s_wait_counter ("results", 0, 0);
    assert_true (s_wait_counter ("results", results + 5, 10000) >= results + 5);
    //  Five rounds later: that one suspect, and no alert anywhere.
    sq_alert_t alert;
    assert_false (s_next_alert (&alert, 0));
    char *stats = sq_actor_stats (topology_collector (s_fixture.topology));
    assert_int_equal (sq_stats_value (stats, "suspects"), 1);
    assert_int_equal (sq_stats_value (stats, "alerts"), 0);
    free (stats);
    assert_int_equal (webhook_count (s_fixture.webhook), posts_before);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_teardown (test_down_then_up_one_alert_each_way, s_teardown),
        cmocka_unit_test_teardown (test_suspect_that_recovers_raises_no_alert, s_teardown),
    };
    int rc = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    curl_global_cleanup ();
    zsys_shutdown ();
    return rc;
}
