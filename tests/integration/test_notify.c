/*  test_notify.c: the notifier's retries, against real webhook receivers.

    Each test starts a receiver that changes its answers from post to post
    (tests/fixtures/webhook.py --statuses / --delays-ms), a notifier actor
    whose feed is an XPUB the test binds on inproc://, and publishes ALERTs
    on it itself.  The notifier runs with short times (backoff 100 ms,
    timeout 500 ms, 4 attempts), so a retry schedule is 100, 200, 400 ms.

    - 500, 500, then 200: the alert arrives on the third POST, once;
    - slower than the timeout, then fast: it arrives on the second POST;
    - 500 for ever: given up after exactly 4 POSTs, counted and logged,
      and SYNC answers only after the give-up.

    The notifier's log goes to a file (zsys_set_logstream) that the tests
    read; it is copied to stderr at the end, for failures.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "notifier.h"
#include "sq_actor.h"
#include "sq_wire.h"
#include "webhook.h"
#include "fixture_process.h"

#include <string.h>
#include <unistd.h>

#define TEST_TIMEOUT_MS     500     //  the notifier's per-attempt timeout
#define TEST_BACKOFF_MS     100     //  its first retry delay
#define TEST_ATTEMPTS       4       //  its attempts per delivery
#define TEST_SITE_URL       "https://example.com/shop"
#define TEST_WAIT_MS        10000   //  deadline for what must happen
//  Headroom past the moment an attempt that must not come would be due:
//  the notifier's loop and a Python thread on a busy 2-core machine.
#define TEST_MARGIN_MS      700
//  A retry may come this much later than it is due, at most (the same
//  headroom; the notifier wakes for it, it does not wait for its 1 s tick).
#define TEST_LATE_S         0.6

typedef struct {
    char log_path [64];         //  the log file all tests share
    FILE *log;                  //  zsys's log stream while tests run
    int runs;                   //  tests started, for unique endpoints
    webhook_t *webhook;         //  this test's receiver
    char *url;                  //  the URL the notifier posts to
    char endpoint [64];         //  the feed endpoint, inproc://
    zsock_t *feed;              //  XPUB the test publishes ALERTs on
    zactor_t *notifier;         //  the actor under test
} fixture_t;

static fixture_t s_fixture;


//  --------------------------------------------------------------------------
//  Helpers

static int
s_group_setup (void **state)
{
    fixture_t *self = &s_fixture;
    strcpy (self->log_path, "/tmp/sq-notify-log-XXXXXX");
    int fd = mkstemp (self->log_path);
    if (fd < 0)
        return -1;
    self->log = fdopen (fd, "w");
    if (!self->log)
        return -1;
    //  Before any actor thread exists: the stream is a plain global.
    zsys_set_logstream (self->log);
    return 0;
}

static int
s_group_teardown (void **state)
{
    fixture_t *self = &s_fixture;
    zsys_set_logstream (stderr);
    fclose (self->log);
    size_t length = 0;
    char *text = fixture_read_file (self->log_path, 16 * 1024 * 1024, &length);
    if (text) {
        fprintf (stderr, "---- notifier log ----\n%s---- end of log ----\n", text);
        free (text);
    }
    unlink (self->log_path);
    return 0;
}

//  Start a receiver answering statuses after delays_ms (lists, see
//  webhook_start_answers) and a notifier posting every alert to it.
static void
s_start (const char *statuses, const char *delays_ms, const char *path)
{
    fixture_t *self = &s_fixture;
    self->webhook = webhook_start_answers (statuses, delays_ms);
    assert_non_null (self->webhook);
    self->url = webhook_url (self->webhook, path);
    assert_non_null (self->url);
    snprintf (self->endpoint, sizeof (self->endpoint), "inproc://test-notify-%d", ++self->runs);
    self->feed = zsock_new (ZMQ_XPUB);
    assert_non_null (self->feed);
    assert_int_equal (zsock_bind (self->feed, "%s", self->endpoint), 0);
    notifier_args_t args = {
        .feed = self->endpoint, .notify_url = self->url, .timeout_ms = TEST_TIMEOUT_MS,
        .attempts = TEST_ATTEMPTS, .backoff_ms = TEST_BACKOFF_MS
    };
    self->notifier = sq_actor_start (notifier_actor, &args, "notifier");
    assert_non_null (self->notifier);
    //  Publish nothing before the notifier's subscription is in: a PUB
    //  drops what no subscriber has asked for yet.
    zsock_set_rcvtimeo (self->feed, TEST_WAIT_MS);
    zframe_t *subscription = zframe_recv (self->feed);
    assert_non_null (subscription);
    assert_true (zframe_size (subscription) >= 1 && zframe_data (subscription) [0] == 1);
    zframe_destroy (&subscription);
}

//  Each test's teardown, also after a failed assertion: stop what started.
static int
s_teardown (void **state)
{
    fixture_t *self = &s_fixture;
    zactor_destroy (&self->notifier);
    zsock_destroy (&self->feed);
    webhook_stop (&self->webhook);
    zstr_free (&self->url);
    return 0;
}

//  Publish ALERT seq (site down) on the feed.
static void
s_publish (uint64_t seq)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_ALERT;
    msg.alert.seq = seq;
    msg.alert.site_id = 1;
    snprintf (msg.alert.url, sizeof (msg.alert.url), "%s", TEST_SITE_URL);
    msg.alert.previous = SQ_STATE_UP;
    msg.alert.state = SQ_STATE_DOWN;
    msg.alert.since = zclock_time () * 1000;
    msg.alert.reason = SQ_REASON_HTTP_STATUS;
    snprintf (msg.alert.detail, sizeof (msg.alert.detail), "HTTP 503");
    char topic [SQ_URL_MAX + 32];
    snprintf (topic, sizeof (topic), "%s %s", sq_state_name (SQ_STATE_DOWN), TEST_SITE_URL);
    assert_int_equal (sq_wire_send (s_fixture.feed, topic, strlen (topic), &msg), 0);
}

//  One of the notifier's counters, now.
static long long
s_counter (const char *name)
{
    char *stats = sq_actor_stats (s_fixture.notifier);
    assert_non_null (stats);
    long long value = sq_stats_value (stats, name);
    zstr_free (&stats);
    assert_true (value >= 0);
    return value;
}

//  How many lines of the log so far contain text.
static size_t
s_log_lines (const char *text)
{
    size_t length = 0;
    char *log = fixture_read_file (s_fixture.log_path, 16 * 1024 * 1024, &length);
    assert_non_null (log);
    size_t count = 0;
    for (char *line = log; line && *line; ) {
        char *end = strchr (line, '\n');
        if (end)
            *end = '\0';
        if (strstr (line, text))
            count++;
        line = end ? end + 1 : NULL;
    }
    free (log);
    return count;
}

//  Seconds between post index - 1 and post index, as the receiver saw them.
static double
s_gap (size_t index)
{
    double before = webhook_received_at (s_fixture.webhook, index - 1);
    double after = webhook_received_at (s_fixture.webhook, index);
    assert_true (before > 0 && after > 0);
    return after - before;
}


//  --------------------------------------------------------------------------
//  Tests

//  500, 500, then 200: three POSTs of the same document, delivered once.
static void
test_delivered_after_two_failures (void **state)
{
    s_start ("500,500,200", NULL, "/recovers");
    int64_t published = zclock_mono ();
    s_publish (1);
    //  SYNC waits for the delivery to end, retries included.
    assert_int_equal (notifier_sync (s_fixture.notifier, 1, TEST_WAIT_MS), 0);
    assert_true (zclock_mono () - published >= TEST_BACKOFF_MS + 2 * TEST_BACKOFF_MS);
    assert_int_equal (webhook_count (s_fixture.webhook), 3);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, alerts)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, retries)), 2);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, given_up)), 0);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, pending)), 0);
    //  The same document each time.
    char *first = webhook_body (s_fixture.webhook, 0);
    assert_non_null (first);
    assert_non_null (strstr (first, "\"seq\":1"));
    assert_non_null (strstr (first, "\"state\":\"down\""));
    for (size_t index = 1; index < 3; index++) {
        char *body = webhook_body (s_fixture.webhook, index);
        assert_non_null (body);
        assert_string_equal (body, first);
        free (body);
    }
    free (first);
    //  Retries 100 ms, then 200 ms after a failure (doubled), as logged.
    assert_true (s_gap (1) >= 0.095 && s_gap (1) < 0.1 + TEST_LATE_S);
    assert_true (s_gap (2) >= 0.195 && s_gap (2) < 0.2 + TEST_LATE_S);
    char line [512];
    snprintf (line, sizeof (line), "%s failed (HTTP 500), retry in 100 ms", s_fixture.url);
    assert_int_equal (s_log_lines (line), 1);
    snprintf (line, sizeof (line), "%s failed (HTTP 500), retry in 200 ms", s_fixture.url);
    assert_int_equal (s_log_lines (line), 1);
    //  Had the third attempt counted as a failure, a fourth would come
    //  4 x backoff (400 ms) after it: wait past that, and no POST comes.
    assert_false (webhook_wait (s_fixture.webhook, 4, 4 * TEST_BACKOFF_MS + TEST_MARGIN_MS));
    assert_int_equal (webhook_count (s_fixture.webhook), 3);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 1);
}

//  The first answer comes after the notifier's timeout, the next at once:
//  two POSTs, delivered once.
static void
test_slow_receiver_delivered_on_retry (void **state)
{
    //  1500 ms > TEST_TIMEOUT_MS: the first attempt times out; the second
    //  is answered 200 at once.
    s_start (NULL, "1500,0", "/slow");
    s_publish (1);
    assert_int_equal (notifier_sync (s_fixture.notifier, 1, TEST_WAIT_MS), 0);
    assert_int_equal (webhook_count (s_fixture.webhook), 2);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, retries)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, given_up)), 0);
    //  The retry came after the backoff, not at once.  (Only the backoff is
    //  certain between the two arrivals: the timeout runs from when the
    //  notifier started the first attempt, and on a busy machine the
    //  receiver may log that attempt's arrival well after it started.)
    assert_true (s_gap (1) >= (TEST_BACKOFF_MS - 5) / 1000.0);
    char line [512];
    snprintf (line, sizeof (line), "%s failed (", s_fixture.url);
    assert_int_equal (s_log_lines (line), 1);
    //  libcurl says how long it really waited ("after 502 milliseconds").
    snprintf (line, sizeof (line), "%s failed (Operation timed out after ", s_fixture.url);
    assert_int_equal (s_log_lines (line), 1);
    //  Had the second attempt failed, the third would come 200 ms later:
    //  wait past that (and past the slow first answer), and none comes.
    assert_false (webhook_wait (s_fixture.webhook, 3, 2 * TEST_BACKOFF_MS + TEST_MARGIN_MS));
    assert_int_equal (webhook_count (s_fixture.webhook), 2);
}

//  500 for ever: exactly TEST_ATTEMPTS POSTs, then given up, counted and
//  logged; SYNC answers only after that.
static void
test_given_up_after_every_attempt (void **state)
{
    s_start ("500", NULL, "/never");
    int64_t published = zclock_mono ();
    s_publish (1);
    //  Asked at once, answered only when the delivery has ended.
    assert_int_equal (notifier_sync (s_fixture.notifier, 1, TEST_WAIT_MS), 0);
    assert_true (zclock_mono () - published >= TEST_BACKOFF_MS * (1 + 2 + 4));
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, given_up)), 1);
    assert_int_equal (webhook_count (s_fixture.webhook), TEST_ATTEMPTS);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 0);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, retries)), TEST_ATTEMPTS - 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, pending)), 0);
    assert_true (s_gap (1) >= 0.095 && s_gap (1) < 0.1 + TEST_LATE_S);
    assert_true (s_gap (2) >= 0.195 && s_gap (2) < 0.2 + TEST_LATE_S);
    assert_true (s_gap (3) >= 0.395 && s_gap (3) < 0.4 + TEST_LATE_S);
    char line [512];
    snprintf (line, sizeof (line), "alert #1 for %s NOT delivered to %s after %d attempts: HTTP 500",
              TEST_SITE_URL, s_fixture.url, TEST_ATTEMPTS);
    assert_int_equal (s_log_lines (line), 1);
    snprintf (line, sizeof (line), "%s failed (HTTP 500), retry in", s_fixture.url);
    assert_int_equal (s_log_lines (line), TEST_ATTEMPTS - 1);
    //  A fifth attempt, were there one, would come 8 x backoff (800 ms)
    //  after the fourth failed: wait past that, and none comes.
    assert_false (webhook_wait (s_fixture.webhook, TEST_ATTEMPTS + 1,
                                8 * TEST_BACKOFF_MS + TEST_MARGIN_MS));
    assert_int_equal (webhook_count (s_fixture.webhook), TEST_ATTEMPTS);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, given_up)), 1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_teardown (test_delivered_after_two_failures, s_teardown),
        cmocka_unit_test_teardown (test_slow_receiver_delivered_on_retry, s_teardown),
        cmocka_unit_test_teardown (test_given_up_after_every_attempt, s_teardown),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
