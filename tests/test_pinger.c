/*  test_pinger.c: the check engine through the real actor, against the
    real test site (tests/fixtures/testsite.py) on loopback.  CHECK goes in
    over the DEALER socket, RESULT comes out of the PUSH: every reason class
    is produced here by a real server, on ports picked at run time.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pinger.h"
#include "sq_actor.h"
#include "sq_wire.h"
#include "testsite.h"
#include "actor_wait.h"
#include "sq_url.h"

#include <dirent.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    testsite_t *site;           //  the test site child process
    zsock_t *jobs;              //  ROUTER standing in for the dispatcher
    zsock_t *results;           //  PULL standing in for the collector
    zactor_t *pinger;           //  the actor under test
    char pinger_id [SQ_NAME_MAX + 1];   //  its identity on jobs
    uint64_t next_job;          //  job ids handed out
    unsigned credit;            //  free slots announced by READY
} fixture_t;

static fixture_t s_fixture;

//  Start a pinger with concurrency slots and a heartbeat every
//  heartbeat_ms, and take its first READY.
static int
s_setup_pinger (unsigned concurrency, unsigned heartbeat_ms)
{
    fixture_t *self = &s_fixture;
    static unsigned instance = 0;
    char jobs [64], results [64];
    snprintf (jobs, sizeof (jobs), "inproc://test-pinger-jobs-%u", instance);
    snprintf (results, sizeof (results), "inproc://test-pinger-results-%u", instance++);
    self->jobs = zsock_new (ZMQ_ROUTER);
    self->results = zsock_new (ZMQ_PULL);
    assert_non_null (self->jobs);
    assert_non_null (self->results);
    assert_int_equal (zsock_bind (self->jobs, "%s", jobs), 0);
    assert_int_equal (zsock_bind (self->results, "%s", results), 0);
    snprintf (self->pinger_id, sizeof (self->pinger_id), "test-pinger");
    pinger_args_t args = {
        .jobs = jobs, .results = results, .pinger_id = self->pinger_id, .region = "loopback",
        .concurrency = concurrency, .ca_file = testsite_ca (self->site), .heartbeat_ms = heartbeat_ms,
    };
    self->pinger = sq_actor_start (pinger_actor, &args, "pinger");
    assert_non_null (self->pinger);
    //  The pinger announces its credit first.
    zsock_set_rcvtimeo (self->jobs, 5000);
    char identity [64];
    size_t identity_size = sizeof (identity);
    sq_msg_t msg;
    assert_int_equal (sq_wire_recv (self->jobs, identity, &identity_size, &msg, NULL, 0),
                      SQ_PROTO_OK);
    assert_int_equal (msg.type, SQ_MSG_READY);
    assert_memory_equal (identity, self->pinger_id, strlen (self->pinger_id));
    assert_string_equal (msg.ready.region, "loopback");
    self->credit = msg.ready.free_slots;
    assert_int_equal (self->credit, concurrency);
    return 0;
}

static int
s_group_setup (void **state)
{
    s_fixture.site = testsite_start ();
    return s_fixture.site ? 0 : -1;
}

static int
s_group_teardown (void **state)
{
    testsite_stop (&s_fixture.site);
    return 0;
}

static int
s_setup (void **state)
{
    return s_setup_pinger (16, 200);
}

static int
s_teardown (void **state)
{
    zactor_destroy (&s_fixture.pinger);
    zsock_destroy (&s_fixture.jobs);
    zsock_destroy (&s_fixture.results);
    return 0;
}

//  A CHECK with the defaults a site gets: HEAD, 5 s, redirects followed.
static sq_msg_t
s_check (const char *listener, const char *path)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_CHECK;
    msg.check.job_id = ++s_fixture.next_job;
    msg.check.attempt = 1;
    msg.check.site_id = 1000 + s_fixture.next_job;
    if (listener) {
        char *url = testsite_url (s_fixture.site, listener, path);
        assert_non_null (url);
        snprintf (msg.check.url, sizeof (msg.check.url), "%s", url);
        free (url);
    }
    else
        snprintf (msg.check.url, sizeof (msg.check.url), "%s", path);
    msg.check.method = SQ_METHOD_HEAD;
    msg.check.timeout_ms = 5000;
    msg.check.max_redirects = 5;
    msg.check.tls_verify = true;
    return msg;
}

static void
s_send (const sq_msg_t *msg)
{
    assert_int_equal (sq_wire_send (s_fixture.jobs, s_fixture.pinger_id,
                                    strlen (s_fixture.pinger_id), msg), 0);
}

//  Receive the next RESULT (deadline 30 s: the slowest case is a timeout).
static sq_result_t
s_next_result (void)
{
    zsock_set_rcvtimeo (s_fixture.results, 30000);
    sq_msg_t msg;
    char why [128] = "";
    int rc = sq_wire_recv (s_fixture.results, NULL, NULL, &msg, why, sizeof (why));
    if (rc != SQ_PROTO_OK)
        fail_msg ("no RESULT: %d %s", rc, why);
    assert_int_equal (msg.type, SQ_MSG_RESULT);
    return msg.result;
}

//  Send one CHECK and return its RESULT.
static sq_result_t
s_run (const sq_msg_t *check)
{
    s_send (check);
    sq_result_t result = s_next_result ();
    assert_int_equal (result.job_id, check->check.job_id);
    assert_int_equal (result.site_id, check->check.site_id);
    assert_int_equal (result.attempt, check->check.attempt);
    assert_string_equal (result.pinger_id, s_fixture.pinger_id);
    assert_string_equal (result.region, "loopback");
    assert_true (result.at > 0);
    return result;
}

static void
s_expect (const sq_result_t *result, bool up, sq_reason_t reason, unsigned status)
{
    if (result->up != up || result->reason != reason || result->http_status != status)
        fail_msg ("expected %s/%s/%u, got %s/%s/%u (%s)", up ? "up" : "down",
                  sq_reason_name (reason), status, result->up ? "up" : "down",
                  sq_reason_name ((sq_reason_t) result->reason), result->http_status,
                  result->error);
}

static void
test_ok_over_http (void **state)
{
    sq_msg_t check = s_check ("http", "/ok");
    sq_result_t result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);
    assert_int_equal (result.method, SQ_METHOD_HEAD);
    assert_true (result.connect_us > 0);
    assert_true (result.total_us >= result.connect_us);
    assert_int_equal (result.tls_us, 0);
    assert_int_equal (result.cert_expiry, 0);
    assert_string_equal (result.error, "");
}

static void
test_ok_over_https_with_expiry (void **state)
{
    sq_msg_t check = s_check ("https", "/ok");
    sq_result_t result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);
    assert_true (result.tls_us > 0);
    //  The fixture's certificate is valid now and expires in the future.
    assert_true (result.cert_expiry > (int64_t) time (NULL));
}

static void
test_head_refused_falls_back_to_get (void **state)
{
    const char *paths [] = { "/head405", "/head501" };
    for (size_t index = 0; index < 2; index++) {
        sq_msg_t check = s_check ("http", paths [index]);
        sq_result_t result = s_run (&check);
        s_expect (&result, true, SQ_REASON_OK, 200);
        assert_int_equal (result.method, SQ_METHOD_GET);
    }
    //  A site configured for GET goes straight to GET.
    sq_msg_t check = s_check ("http", "/ok");
    check.check.method = SQ_METHOD_GET;
    sq_result_t result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);
    assert_int_equal (result.method, SQ_METHOD_GET);
    //  GET is never sent again: a 405 to the GET itself is the verdict.
    check = s_check ("http", "/status/405");
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_HTTP_STATUS, 405);
    assert_int_equal (result.method, SQ_METHOD_GET);
    char *stats = sq_actor_stats (s_fixture.pinger);
    assert_int_equal (sq_stats_value (stats, "head_fallbacks"), 3);
    free (stats);
}

//  The GET after a refused HEAD has only what is left of the timeout: a
//  server that takes 700 ms for each answer fails a 1 s check (a GET given
//  the whole second again would pass), and passes a 2 s one.
static void
test_fallback_get_has_only_the_time_left (void **state)
{
    sq_msg_t check = s_check ("http", "/head405slow/700");
    check.check.timeout_ms = 1000;
    sq_result_t result = s_run (&check);
    s_expect (&result, false, SQ_REASON_TIMEOUT, 0);
    assert_int_equal (result.method, SQ_METHOD_GET);
    assert_true (result.total_us < 1500000);
    check = s_check ("http", "/head405slow/700");
    check.check.timeout_ms = 2000;
    result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);
    assert_int_equal (result.method, SQ_METHOD_GET);
}

static void
test_http_status (void **state)
{
    unsigned statuses [] = { 404, 500, 503 };
    for (size_t index = 0; index < 3; index++) {
        char path [32];
        snprintf (path, sizeof (path), "/status/%u", statuses [index]);
        sq_msg_t check = s_check ("http", path);
        sq_result_t result = s_run (&check);
        s_expect (&result, false, SQ_REASON_HTTP_STATUS, statuses [index]);
        char expected [32];
        snprintf (expected, sizeof (expected), "HTTP %u", statuses [index]);
        assert_string_equal (result.error, expected);
    }
    //  An accepted set can make a 404 fine and a 302 not.
    sq_msg_t check = s_check ("http", "/status/404");
    assert_int_equal (sq_ranges_parse ("200-299,404", &check.check.accept, NULL), 0);
    sq_result_t result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 404);
}

static void
test_redirects (void **state)
{
    sq_msg_t check = s_check ("http", "/redirect/3");
    sq_result_t result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);
    check = s_check ("http", "/redirect-loop");
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_REDIRECTS, 302);
    //  Redirects not followed: the 302 itself is judged (below 400: up).
    check = s_check ("http", "/redirect/1");
    check.check.max_redirects = 0;
    result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 302);
}

static void
test_keyword (void **state)
{
    sq_msg_t check = s_check ("http", "/keyword");
    strcpy (check.check.keyword, "squirrel-keyword-present");
    sq_result_t result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);
    assert_int_equal (result.method, SQ_METHOD_GET);

    check = s_check ("http", "/ok");
    strcpy (check.check.keyword, "not-on-this-page");
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_KEYWORD, 200);

    //  The keyword split across two reads of the body is still found.
    check = s_check ("http", "/keyword-split");
    strcpy (check.check.keyword, "squirrel-keyword-present");
    result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);

    //  A body far beyond the cap: read up to the cap, then judged missing.
    check = s_check ("http", "/large/20000000");
    strcpy (check.check.keyword, "not-on-this-page");
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_KEYWORD, 200);
    //  And with no keyword, GET of a large body stops early and is up.
    check = s_check ("http", "/large/20000000");
    check.check.method = SQ_METHOD_GET;
    result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);
}

static void
test_too_slow_and_timeout (void **state)
{
    sq_msg_t check = s_check ("http", "/slow/300");
    check.check.max_latency_ms = 100;
    sq_result_t result = s_run (&check);
    s_expect (&result, false, SQ_REASON_TOO_SLOW, 200);
    assert_true (result.total_us >= 300000);
    assert_true (result.ttfb_us >= 250000);

    check = s_check ("http", "/slow/3000");
    check.check.timeout_ms = 500;
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_TIMEOUT, 0);
    assert_true (result.total_us >= 500000);
    assert_true (result.total_us < 3000000);

    check = s_check ("silent", "/");
    check.check.timeout_ms = 500;
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_TIMEOUT, 0);
}

static void
test_network_failures (void **state)
{
    sq_msg_t check = s_check (NULL, "http://no-such-site.invalid/");
    sq_result_t result = s_run (&check);
    s_expect (&result, false, SQ_REASON_DNS, 0);

    check = s_check ("closed", "/");
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_CONNECT, 0);

    check = s_check ("reset", "/");
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_CONNECT, 0);

    check = s_check ("garbage", "/");
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_PROTOCOL, 0);

    //  Headers without end: libcurl cuts them (a receive error after the
    //  status line); the peer's HTTP is at fault, not the connection.
    check = s_check ("endless", "/");
    result = s_run (&check);
    if (result.up || result.reason != SQ_REASON_PROTOCOL)
        fail_msg ("endless headers: expected down/protocol, got %s/%s (%s)",
                  result.up ? "up" : "down", sq_reason_name ((sq_reason_t) result.reason),
                  result.error);
    assert_string_equal (result.error, "response headers longer than we read");
}

static void
test_tls_failures (void **state)
{
    sq_msg_t check = s_check ("https_expired", "/ok");
    sq_result_t result = s_run (&check);
    s_expect (&result, false, SQ_REASON_TLS, 0);
    assert_true (strlen (result.error) > 0);
    //  A site that opted out of verification is judged by its answer.
    check = s_check ("https_expired", "/ok");
    check.check.tls_verify = false;
    result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);
    //  TLS spoken to a plain HTTP port: a protocol-level failure of TLS.
    check = s_check ("http", "/ok");
    snprintf (check.check.url, sizeof (check.check.url), "https://127.0.0.1:%d/ok",
              testsite_port (s_fixture.site, "http"));
    result = s_run (&check);
    s_expect (&result, false, SQ_REASON_TLS, 0);
}

static void
test_hostile_frames_are_dropped (void **state)
{
    const char *id = s_fixture.pinger_id;
    zsock_t *jobs = s_fixture.jobs;
    zsock_send (jobs, "sb", id, "\xdd\xff\xff\xff\xff", (size_t) 5);
    zsock_send (jobs, "ss", id, "plain text");
    //  A well-formed message of the wrong type.
    sq_msg_t ready;
    memset (&ready, 0, sizeof (ready));
    ready.type = SQ_MSG_READY;
    strcpy (ready.ready.pinger_id, "x");
    assert_int_equal (sq_wire_send (jobs, id, strlen (id), &ready), 0);
    //  The pinger still works, and counted all three.
    sq_msg_t check = s_check ("http", "/ok");
    sq_result_t result = s_run (&check);
    s_expect (&result, true, SQ_REASON_OK, 200);
    char *stats = sq_actor_stats (s_fixture.pinger);
    assert_int_equal (sq_stats_value (stats, "malformed"), 3);
    free (stats);
}

//  More jobs than slots: the extra ones wait in the pinger, not in libcurl,
//  and their wait is reported as queue_us, not charged to the timeout.
static void
test_queueing_beyond_slots (void **state)
{
    s_teardown (state);
    s_setup_pinger (2, 200);
    uint64_t first = s_fixture.next_job + 1;
    for (int index = 0; index < 6; index++) {
        sq_msg_t check = s_check ("http", "/slow/300");
        //  Each alone fits easily; the last two wait ~600 ms, so a wait
        //  charged to the timeout would leave them ~200 ms: a timeout.
        check.check.timeout_ms = 800;
        s_send (&check);
    }
    unsigned started_at_once = 0, queued = 0;
    for (int index = 0; index < 6; index++) {
        sq_result_t result = s_next_result ();
        assert_true (result.job_id >= first && result.job_id < first + 6);
        s_expect (&result, true, SQ_REASON_OK, 200);
        if (result.queue_us == 0)
            started_at_once++;
        else
        if (result.queue_us >= 250000)
            queued++;
    }
    //  Two started on arrival; exactly four waited, each at least one
    //  round (~300 ms).
    assert_int_equal (started_at_once, 2);
    assert_int_equal (queued, 4);
}

//  Next credit message from the pinger (READY or HEARTBEAT) within
//  timeout_ms: SQ_PROTO_OK, or SQ_WIRE_INTERRUPTED when none came.
static int
s_next_credit (zsock_t *jobs, sq_msg_t *msg, int timeout_ms)
{
    zsock_set_rcvtimeo (jobs, timeout_ms);
    char identity [64];
    size_t identity_size = sizeof (identity);
    return sq_wire_recv (jobs, identity, &identity_size, msg, NULL, 0);
}

//  Each check that ends gives its slot back at once: a READY for exactly
//  one slot, and exactly one READY.  The heartbeat comes every 60 s here,
//  so it cannot hide a slot that was never given back.
static void
s_ready_after_each_result (unsigned concurrency)
{
    s_teardown (NULL);
    s_setup_pinger (concurrency, 60000);
    for (int round = 0; round < 3; round++) {
        sq_msg_t check = s_check ("http", "/ok");
        sq_result_t result = s_run (&check);
        s_expect (&result, true, SQ_REASON_OK, 200);
        sq_msg_t msg;
        assert_int_equal (s_next_credit (s_fixture.jobs, &msg, 5000), SQ_PROTO_OK);
        assert_int_equal (msg.type, SQ_MSG_READY);
        assert_int_equal (msg.ready.free_slots, 1);
        //  The pinger answers STATS in a later turn of its loop than the
        //  one that sent this READY: once it has answered, a second READY
        //  for the same check would be here already.
        char *stats = sq_actor_stats (s_fixture.pinger);
        assert_int_equal (sq_stats_value (stats, "live"), 0);
        free (stats);
        assert_int_equal (s_next_credit (s_fixture.jobs, &msg, 100), SQ_WIRE_INTERRUPTED);
    }
}

static void
test_ready_after_each_result (void **state)
{
    s_ready_after_each_result (1);
    //  With a spare slot, one READY of 2 (a slot counted twice) would show.
    s_ready_after_each_result (2);
}

//  One slot, two jobs sent together: the second waits in the pinger's
//  queue for the whole first check (~800 ms), then takes ~800 ms itself.
//  Its 1300 ms timeout counts from its own start, so it is up; were the
//  wait charged to it, 1600 > 1300 would make it a timeout.
static void
test_queue_wait_is_not_charged_to_the_site (void **state)
{
    s_teardown (state);
    s_setup_pinger (1, 200);
    sq_msg_t first = s_check ("http", "/slow/800");
    first.check.timeout_ms = 1300;
    sq_msg_t second = s_check ("http", "/slow/800");
    second.check.timeout_ms = 1300;
    s_send (&first);
    s_send (&second);
    sq_result_t result = s_next_result ();
    assert_int_equal (result.job_id, first.check.job_id);
    s_expect (&result, true, SQ_REASON_OK, 200);
    assert_int_equal (result.queue_us, 0);
    result = s_next_result ();
    assert_int_equal (result.job_id, second.check.job_id);
    s_expect (&result, true, SQ_REASON_OK, 200);
    if (result.queue_us < 700000)
        fail_msg ("queue_us %llu, expected >= 700000", (unsigned long long) result.queue_us);
    assert_true (result.total_us >= 800000);
}

//  Only http and https are monitored, and a bad URL says what is wrong.
static void
test_url_check (void **state)
{
    char why [256] = "";
    assert_int_equal (sq_url_check ("http://example.com/", why, sizeof (why)), 0);
    assert_int_equal (sq_url_check ("HTTPS://example.com:8443/a?b=c", why, sizeof (why)), 0);
    assert_int_equal (sq_url_check ("http://[::1]:80/", why, sizeof (why)), 0);
    assert_int_equal (sq_url_check ("ftp://example.com/", why, sizeof (why)), -1);
    assert_non_null (strstr (why, "scheme 'ftp'"));
    assert_int_equal (sq_url_check ("file:///etc/passwd", why, sizeof (why)), -1);
    assert_int_equal (sq_url_check ("example.com", why, sizeof (why)), -1);
    assert_non_null (strstr (why, "no scheme"));
    assert_int_equal (sq_url_check ("http://", why, sizeof (why)), -1);
    assert_int_equal (sq_url_check ("http://exa mple.com/", why, sizeof (why)), -1);
    assert_int_equal (sq_url_check ("", why, sizeof (why)), -1);
    char *long_url = malloc (SQ_URL_MAX + 32);
    assert_non_null (long_url);
    strcpy (long_url, "http://example.com/");
    memset (long_url + strlen (long_url), 'a', SQ_URL_MAX);
    long_url [SQ_URL_MAX + 10] = '\0';
    assert_int_equal (sq_url_check (long_url, why, sizeof (why)), -1);
    free (long_url);
}

//  A redirect to another scheme is refused by the pinger's libcurl.
static void
test_redirect_to_other_scheme (void **state)
{
    sq_msg_t check = s_check ("http", "/redirect-ftp");
    sq_result_t result = s_run (&check);
    s_expect (&result, false, SQ_REASON_PROTOCOL, 302);
}

//  A pinger whose own CA bundle is unreadable must not call sites down:
//  it sends no verdict and counts its fault.
static void
test_local_fault_is_not_a_verdict (void **state)
{
    //  Kept in the fixture, so that s_teardown cleans up after a failure.
    fixture_t *self = &s_fixture;
    self->jobs = zsock_new (ZMQ_ROUTER);
    self->results = zsock_new (ZMQ_PULL);
    assert_int_equal (zsock_bind (self->jobs, "inproc://fault-jobs"), 0);
    assert_int_equal (zsock_bind (self->results, "inproc://fault-results"), 0);
    pinger_args_t args = { .jobs = "inproc://fault-jobs", .results = "inproc://fault-results",
                           .pinger_id = "faulty", .concurrency = 2,
                           .ca_file = "/nonexistent/ca.pem", .heartbeat_ms = 60000 };
    self->pinger = sq_actor_start (pinger_actor, &args, "pinger");
    assert_non_null (self->pinger);
    sq_msg_t credit;
    assert_int_equal (s_next_credit (self->jobs, &credit, 5000), SQ_PROTO_OK);
    assert_int_equal (credit.type, SQ_MSG_READY);
    assert_int_equal (credit.ready.free_slots, 2);
    sq_msg_t msg = s_check ("https", "/ok");
    assert_int_equal (sq_wire_send (self->jobs, "faulty", 6, &msg), 0);
    assert_int_equal (actor_wait_counter (self->pinger, "local_faults", 1, 5000), 1);
    //  The slot comes back all the same, as exactly one READY of 1 (no
    //  heartbeat within the test).
    assert_int_equal (s_next_credit (self->jobs, &credit, 5000), SQ_PROTO_OK);
    assert_int_equal (credit.type, SQ_MSG_READY);
    assert_int_equal (credit.ready.free_slots, 1);
    assert_int_equal (s_next_credit (self->jobs, &credit, 100), SQ_WIRE_INTERRUPTED);
    //  And no verdict.
    zsock_set_rcvtimeo (self->results, 0);
    sq_msg_t result;
    assert_int_equal (sq_wire_recv (self->results, NULL, NULL, &result, NULL, 0),
                      SQ_WIRE_INTERRUPTED);
}

//  Descriptors of our own are short (the soft RLIMIT_NOFILE lowered to
//  what is open now plus 24): 200 checks of a healthy site at concurrency
//  200 cannot all open a socket at once.  Each that cannot waits and
//  retries: all 200 are up, none down, and the pinger counted shortages.
static void
test_descriptor_shortage_is_not_a_verdict (void **state)
{
    assert_int_equal (s_setup_pinger (200, 60000), 0);
    long open_now = 0;
    DIR *fds = opendir ("/proc/self/fd");
    assert_non_null (fds);
    while (readdir (fds))
        open_now++;
    closedir (fds);
    struct rlimit before, lowered;
    assert_int_equal (getrlimit (RLIMIT_NOFILE, &before), 0);
    lowered = before;
    lowered.rlim_cur = (rlim_t) open_now + 24;
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &lowered), 0);
    enum { CHECKS = 200 };
    for (int index = 0; index < CHECKS; index++) {
        sq_msg_t check = s_check ("http", "/ok");
        s_send (&check);
    }
    int up = 0;
    for (int index = 0; index < CHECKS; index++) {
        sq_result_t result = s_next_result ();
        if (result.up)
            up++;
        else
            fprintf (stderr, "# down: %s: %s\n", sq_reason_name ((sq_reason_t) result.reason),
                     result.error);
    }
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &before), 0);
    assert_int_equal (up, CHECKS);
    char *stats = sq_actor_stats (s_fixture.pinger);
    assert_non_null (stats);
    long long shortages = sq_stats_value (stats, "shortages");
    long long faults = sq_stats_value (stats, "local_faults");
    free (stats);
    if (shortages <= 0)
        fail_msg ("no shortage was met: the limit did not bite, the test proves nothing");
    assert_int_equal (faults, 0);
}

//  pinger_fit_concurrency lowers what cannot fit in the descriptors (in a
//  child: the hard limit, once lowered, cannot be raised again).
static void
test_concurrency_fits_the_descriptors (void **state)
{
    pid_t child = fork ();
    assert_true (child >= 0);
    if (child == 0) {
        struct rlimit limit = { 256, 256 };
        char why [256];
        int rc = setrlimit (RLIMIT_NOFILE, &limit) ? 10
               : pinger_fit_concurrency (1, 1000, why, sizeof (why)) != (256 - PINGER_FDS_RESERVED) / PINGER_FDS_PER_CHECK ? 11
               : strstr (why, "ulimit -n") == NULL ? 12
               : pinger_fit_concurrency (2, 10, why, sizeof (why)) != 10 ? 13
               : *why != '\0' ? 14
               : pinger_fit_concurrency (2, 1000, why, sizeof (why)) != (256 - PINGER_FDS_RESERVED) / PINGER_FDS_PER_CHECK / 2 ? 15
               : 0;
        _exit (rc);
    }
    int status = 0;
    assert_int_equal (waitpid (child, &status, 0), child);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    //  The soft limit is raised to the hard one when they differ.
    child = fork ();
    assert_true (child >= 0);
    if (child == 0) {
        struct rlimit limit = { 300, 4096 };
        char why [256];
        struct rlimit after;
        int rc = setrlimit (RLIMIT_NOFILE, &limit) ? 10
               : pinger_fit_concurrency (1, 1000, why, sizeof (why)) != 1000 ? 11
               : getrlimit (RLIMIT_NOFILE, &after) || after.rlim_cur != 4096 ? 12
               : 0;
        _exit (rc);
    }
    assert_int_equal (waitpid (child, &status, 0), child);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_ok_over_http, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ok_over_https_with_expiry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_head_refused_falls_back_to_get, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_fallback_get_has_only_the_time_left, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_http_status, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_redirects, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_keyword, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_too_slow_and_timeout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_network_failures, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_tls_failures, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_hostile_frames_are_dropped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_queueing_beyond_slots, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ready_after_each_result, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_queue_wait_is_not_charged_to_the_site,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_redirect_to_other_scheme, s_setup, s_teardown),
        cmocka_unit_test (test_url_check),
        cmocka_unit_test_teardown (test_local_fault_is_not_a_verdict, s_teardown),
        cmocka_unit_test_teardown (test_descriptor_shortage_is_not_a_verdict, s_teardown),
        cmocka_unit_test (test_concurrency_fits_the_descriptors),
    };
    int rc = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    zsys_shutdown ();
    return rc;
}
