/*  test_notify.c: the notifier actor against real receivers.

    Each test starts webhook receivers (tests/fixtures/webhook.py, whose
    answers can change from post to post), a notifier actor whose feed is
    an XPUB the test binds on inproc://, and publishes ALERTs on it itself.
    Times are short: first retry 100 ms (then 200, 400 ...), attempt
    timeout 500 ms.  Counts are exact, and counted per notice id found in
    the bodies, since one POST may carry several notices.

    - 500, 500, then 200: the alert arrives on the third POST, once;
    - slower than the timeout, then fast: the second POST, once;
    - a DOWN still failing when the UP comes: one message with both, and
      no DOWN alone after it;
    - given up by age (give_up_ms), counted and logged, SYNC answered;
    - restart with deliveries pending (data folder): each pending notice
      arrives exactly once afterwards, and none that was confirmed;
    - digest: digest_after 2 in a 1.5 s window, ten alerts: two alone, the
      other eight in one message;
    - an owner with webhook, Slack, Discord and a command: each gets its
      format, once;
    - maintenance window: nobody told; flapping: one FLAPPING notice.

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
#include <sys/stat.h>
#include <unistd.h>

#define TEST_TIMEOUT_MS     500     //  the notifier's per-attempt timeout
#define TEST_RETRY_MS       100     //  its first retry delay
#define TEST_WAIT_MS        10000   //  deadline for what must happen
//  Headroom past the moment an attempt that must not come would be due:
//  the notifier's loop and a Python thread on a busy 2-core machine.
#define TEST_MARGIN_MS      700

typedef struct {
    char log_path [64];         //  the log file all tests share
    FILE *log;                  //  zsys's log stream while tests run
    int runs;                   //  notifiers started, for unique endpoints
    webhook_t *webhook;         //  this test's receiver
    webhook_t *second;          //  a second receiver, when a test needs one
    char *url;                  //  the URL the notifier posts to
    char endpoint [64];         //  the feed endpoint, inproc://
    zsock_t *feed;              //  XPUB the test publishes ALERTs on
    zactor_t *notifier;         //  the actor under test
    char data_dir [64];         //  outbox folder, when a test uses one
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

//  Start a notifier posting every alert to url (global webhook), with
//  settings (NULL: the test's short times), its outbox in data_dir (NULL:
//  in memory).
static void
s_start_notifier (const char *url, const notifier_settings_t *settings, const char *data_dir)
{
    fixture_t *self = &s_fixture;
    snprintf (self->endpoint, sizeof (self->endpoint), "inproc://test-notify-%d", ++self->runs);
    self->feed = zsock_new (ZMQ_XPUB);
    assert_non_null (self->feed);
    assert_int_equal (zsock_bind (self->feed, "%s", self->endpoint), 0);
    notifier_args_t args = { .feed = self->endpoint, .notify_url = url, .data_dir = data_dir };
    if (settings)
        args.settings = *settings;
    else {
        args.settings.timeout_ms = TEST_TIMEOUT_MS;
        args.settings.retry_first_ms = TEST_RETRY_MS;
    }
    self->notifier = sq_actor_start (notifier_actor, &args, "notifier");
    assert_non_null (self->notifier);
    //  Publish nothing before the notifier's subscription is in: a PUB
    //  drops what no subscriber has asked for yet.
    //  Deliveries start once the notifier has an owner list (none here).
    zmsg_t *owners = zmsg_new ();
    assert_int_equal (sq_actor_set_batch (self->notifier, SQ_CMD_OWNERS, owners), 0);
    zmsg_destroy (&owners);
    zsock_set_rcvtimeo (self->feed, TEST_WAIT_MS);
    zframe_t *subscription = zframe_recv (self->feed);
    assert_non_null (subscription);
    assert_true (zframe_size (subscription) >= 1 && zframe_data (subscription) [0] == 1);
    zframe_destroy (&subscription);
}

static void
s_stop_notifier (void)
{
    zactor_destroy (&s_fixture.notifier);
    zsock_destroy (&s_fixture.feed);
}

//  A receiver answering statuses after delays_ms (see webhook_start_answers)
//  and a notifier posting every alert to its path.
static void
s_start (const char *statuses, const char *delays_ms, const char *path)
{
    fixture_t *self = &s_fixture;
    self->webhook = webhook_start_answers (statuses, delays_ms);
    assert_non_null (self->webhook);
    self->url = webhook_url (self->webhook, path);
    assert_non_null (self->url);
    s_start_notifier (self->url, NULL, NULL);
}

//  Each test's teardown, also after a failed assertion: stop what started.
static int
s_teardown (void **state)
{
    fixture_t *self = &s_fixture;
    s_stop_notifier ();
    webhook_stop (&self->webhook);
    webhook_stop (&self->second);
    zstr_free (&self->url);
    if (self->data_dir [0]) {
        char command [128];
        snprintf (command, sizeof (command), "rm -rf '%s'", self->data_dir);
        if (system (command) != 0)
            fprintf (stderr, "could not remove %s\n", self->data_dir);
        self->data_dir [0] = '\0';
    }
    return 0;
}

//  Publish ALERT seq: site site_id went from previous to state at since_us
//  (0: now).
static void
s_publish_at (uint64_t seq, uint64_t site_id, sq_state_t previous, sq_state_t state,
              int64_t since_us)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_ALERT;
    msg.alert.seq = seq;
    msg.alert.site_id = site_id;
    snprintf (msg.alert.url, sizeof (msg.alert.url), "https://example.com/site%llu",
              (unsigned long long) site_id);
    msg.alert.previous = (uint8_t) previous;
    msg.alert.state = (uint8_t) state;
    msg.alert.since = since_us ? since_us : zclock_time () * 1000;
    msg.alert.reason = state == SQ_STATE_DOWN ? SQ_REASON_HTTP_STATUS : SQ_REASON_OK;
    msg.alert.http_status = state == SQ_STATE_DOWN ? 503 : 200;
    snprintf (msg.alert.detail, sizeof (msg.alert.detail), "HTTP %u", msg.alert.http_status);
    char topic [SQ_URL_MAX + 32];
    snprintf (topic, sizeof (topic), "%s %s", sq_state_name (state), msg.alert.url);
    assert_int_equal (sq_wire_send (s_fixture.feed, topic, strlen (topic), &msg), 0);
}

static void
s_publish (uint64_t seq, uint64_t site_id, sq_state_t state)
{
    s_publish_at (seq, site_id, state == SQ_STATE_DOWN ? SQ_STATE_UP : SQ_STATE_DOWN, state, 0);
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

//  How many times text occurs in the bodies of posts [from, count).
static size_t
s_occurrences (webhook_t *webhook, size_t from, const char *text)
{
    size_t found = 0;
    for (size_t index = from; index < webhook_count (webhook); index++) {
        char *body = webhook_body (webhook, index);
        assert_non_null (body);
        for (const char *at = strstr (body, text); at; at = strstr (at + 1, text))
            found++;
        free (body);
    }
    return found;
}

//  Notices carried by the posts so far (each JSON notice has one "kind").
static size_t
s_notices (webhook_t *webhook)
{
    return s_occurrences (webhook, 0, "\"kind\":");
}

//  Hand the notifier a batch of messages of one kind.
static void
s_hand (const char *command, sq_msg_t *messages, size_t count)
{
    sq_batch_writer_t *writer = sq_batch_writer_new ();
    for (size_t index = 0; index < count; index++)
        assert_int_equal (sq_batch_add (writer, &messages [index]), 0);
    zmsg_t *batch = sq_batch_writer_end (&writer);
    assert_int_equal (sq_actor_set_batch (s_fixture.notifier, command, batch), 0);
    zmsg_destroy (&batch);
}

//  A SITE message for site_id owned by owner, with its own defaults.
static sq_msg_t
s_site (uint64_t site_id, const char *owner)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_SITE;
    msg.site.site_id = site_id;
    snprintf (msg.site.owner, sizeof (msg.site.owner), "%s", owner);
    snprintf (msg.site.url, sizeof (msg.site.url), "https://example.com/site%llu",
              (unsigned long long) site_id);
    msg.site.interval_ms = 60000;
    msg.site.failure_threshold = msg.site.success_threshold = 1;
    msg.site.timeout_ms = 1000;
    msg.site.tls_verify = true;
    return msg;
}


//  --------------------------------------------------------------------------
//  Tests

//  500, 500, then 200: three POSTs of the same document, delivered once.
static void
test_delivered_after_two_failures (void **state)
{
    s_start ("500,500,200", NULL, "/recovers");
    int64_t published = zclock_mono ();
    s_publish (1, 1, SQ_STATE_DOWN);
    //  SYNC waits for the delivery to end, retries included.
    assert_int_equal (notifier_sync (s_fixture.notifier, 1, TEST_WAIT_MS), 0);
    assert_true (zclock_mono () - published >= TEST_RETRY_MS + 2 * TEST_RETRY_MS);
    assert_int_equal (webhook_count (s_fixture.webhook), 3);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, alerts)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, webhook_delivered)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, retries)), 2);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, given_up)), 0);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, pending)), 0);
    //  The same document each time, with its id.
    char *first = webhook_body (s_fixture.webhook, 0);
    assert_non_null (first);
    assert_non_null (strstr (first, "\"seq\":1"));
    assert_non_null (strstr (first, "\"id\":"));
    assert_non_null (strstr (first, "\"state\":\"down\""));
    for (size_t index = 1; index < 3; index++) {
        char *body = webhook_body (s_fixture.webhook, index);
        assert_non_null (body);
        assert_string_equal (body, first);
        free (body);
    }
    free (first);
    assert_int_equal (s_log_lines ("to webhook: failed: answered 500"), 2);
    //  Had the third attempt counted as a failure, a fourth would come
    //  400 ms after it: wait past that, and no POST comes.
    assert_false (webhook_wait (s_fixture.webhook, 4, 4 * TEST_RETRY_MS + TEST_MARGIN_MS));
    assert_int_equal (webhook_count (s_fixture.webhook), 3);
}

//  The first answer comes after the notifier's timeout, the next at once:
//  two POSTs, delivered once.
static void
test_slow_receiver_delivered_on_retry (void **state)
{
    s_start (NULL, "1500,0", "/slow");
    s_publish (1, 1, SQ_STATE_DOWN);
    assert_int_equal (notifier_sync (s_fixture.notifier, 1, TEST_WAIT_MS), 0);
    assert_int_equal (webhook_count (s_fixture.webhook), 2);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, retries)), 1);
    assert_int_equal (s_log_lines ("failed: Operation timed out after "), 1);
    //  Had the second attempt failed, the third would come 200 ms later.
    assert_false (webhook_wait (s_fixture.webhook, 3, 1500 + TEST_MARGIN_MS));
    assert_int_equal (webhook_count (s_fixture.webhook), 2);
}

//  The receiver fails while a site goes down and comes back: the UP joins
//  the DOWN's retry, one message carries both, and nothing after it says
//  the site is down.
static void
test_down_then_up_in_one_message (void **state)
{
    s_start ("500,500,200", NULL, "/story");
    s_publish (1, 7, SQ_STATE_DOWN);
    //  The first attempt has failed before the UP comes.
    assert_true (webhook_wait (s_fixture.webhook, 1, TEST_WAIT_MS));
    s_publish (2, 7, SQ_STATE_UP);
    assert_int_equal (notifier_sync (s_fixture.notifier, 2, TEST_WAIT_MS), 0);
    size_t posts = webhook_count (s_fixture.webhook);
    assert_int_equal (posts, 3);
    char *last = webhook_body (s_fixture.webhook, posts - 1);
    assert_non_null (last);
    //  Both, in order: the DOWN then the UP.
    char *down = strstr (last, "\"state\":\"down\"");
    char *up = strstr (last, "\"state\":\"up\"");
    assert_non_null (down);
    assert_non_null (up);
    assert_true (down < up);
    free (last);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 2);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, messages)), 3);
}

//  Failing for longer than give_up_ms: given up, counted, logged once.
static void
test_given_up_by_age (void **state)
{
    fixture_t *self = &s_fixture;
    self->webhook = webhook_start_answers ("500", NULL);
    assert_non_null (self->webhook);
    self->url = webhook_url (self->webhook, "/never");
    notifier_settings_t settings = {
        .timeout_ms = TEST_TIMEOUT_MS, .retry_first_ms = TEST_RETRY_MS, .give_up_ms = 1000,
    };
    s_start_notifier (self->url, &settings, NULL);
    int64_t published = zclock_mono ();
    s_publish (1, 1, SQ_STATE_DOWN);
    assert_int_equal (notifier_sync (self->notifier, 1, TEST_WAIT_MS), 0);
    assert_true (zclock_mono () - published >= 1000);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, given_up)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, webhook_failed)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 0);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, pending)), 0);
    //  Retries 100, 200, 400 ms ... up to 1 s of age: 4 or 5 attempts.
    size_t posts = webhook_count (self->webhook);
    assert_true (posts >= 4 && posts <= 5);
    assert_int_equal (s_log_lines ("NOT delivered to webhook:"), 1);
    assert_false (webhook_wait (self->webhook, posts + 1, 1600 + TEST_MARGIN_MS));
}

//  Pending deliveries survive a restart: what was confirmed is not sent
//  again, what was pending arrives exactly once.
static void
test_restart_delivers_pending_once (void **state)
{
    fixture_t *self = &s_fixture;
    strcpy (self->data_dir, "/tmp/sq-notify-data-XXXXXX");
    assert_non_null (mkdtemp (self->data_dir));
    //  First receiver: the first post confirmed, every later one 500.
    self->webhook = webhook_start_answers ("200,500", NULL);
    assert_non_null (self->webhook);
    self->url = webhook_url (self->webhook, "/first");
    s_start_notifier (self->url, NULL, self->data_dir);
    s_publish (1, 1, SQ_STATE_DOWN);
    assert_true (webhook_wait (self->webhook, 1, TEST_WAIT_MS));
    assert_int_equal (notifier_sync (self->notifier, 1, TEST_WAIT_MS), 0);
    s_publish (2, 2, SQ_STATE_DOWN);
    s_publish (3, 3, SQ_STATE_DOWN);
    //  Both failed at least once, so they are pending when we stop.
    assert_true (webhook_wait (self->webhook, 2, TEST_WAIT_MS));
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 1);
    s_stop_notifier ();
    zstr_free (&self->url);

    //  A new receiver, a new notifier on the same outbox.
    self->second = webhook_start (0, 200);
    assert_non_null (self->second);
    self->url = webhook_url (self->second, "/second");
    s_start_notifier (self->url, NULL, self->data_dir);
    //  Nothing new was published: SYNC on the old seq waits for what was
    //  pending to end.
    assert_true (webhook_wait (self->second, 1, TEST_WAIT_MS));
    int64_t deadline = zclock_mono () + TEST_WAIT_MS;
    while (s_counter (SQ_STAT (NOTIFIER, delivered)) < 2 && zclock_mono () < deadline)
        zclock_sleep (20);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 2);
    assert_false (webhook_wait (self->second, webhook_count (self->second) + 1,
                                TEST_MARGIN_MS * 2));
    //  Exactly once each, and the confirmed one never.
    assert_int_equal (s_occurrences (self->second, 0, "\"seq\":2"), 1);
    assert_int_equal (s_occurrences (self->second, 0, "\"seq\":3"), 1);
    assert_int_equal (s_occurrences (self->second, 0, "\"seq\":1,"), 0);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, pending)), 0);
    //  What each owner was told came back from the outbox too: an alert of
    //  site 1 older than the one its owner heard (a replay) is told to
    //  nobody.  Without the outbox's word it would be news.
    size_t before = webhook_count (self->second);
    s_publish_at (4, 1, SQ_STATE_UP, SQ_STATE_DOWN, 1000);
    assert_int_equal (notifier_sync (self->notifier, 4, TEST_WAIT_MS), 0);
    assert_false (webhook_wait (self->second, before + 1, TEST_MARGIN_MS * 2));
    assert_int_equal (s_occurrences (self->second, 0, "\"seq\":4"), 0);
    //  The outbox is a private file.
    char path [128];
    snprintf (path, sizeof (path), "%s/outbox.db", self->data_dir);
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    assert_int_equal (info.st_mode & 077, 0);
}

//  digest_after 2 in a 1.5 s window: of ten alerts at once, two go at
//  once, the eight others in one digest at the window's end.
static void
test_digest_after_a_burst (void **state)
{
    fixture_t *self = &s_fixture;
    self->webhook = webhook_start (0, 200);
    assert_non_null (self->webhook);
    self->url = webhook_url (self->webhook, "/digest");
    notifier_settings_t settings = {
        .timeout_ms = TEST_TIMEOUT_MS, .retry_first_ms = TEST_RETRY_MS,
        .digest_after = 2, .digest_window_ms = 1500,
    };
    s_start_notifier (self->url, &settings, NULL);
    int64_t published = zclock_mono ();
    for (uint64_t seq = 1; seq <= 10; seq++)
        s_publish (seq, seq, SQ_STATE_DOWN);
    assert_int_equal (notifier_sync (self->notifier, 10, TEST_WAIT_MS), 0);
    assert_true (zclock_mono () - published >= 1400);
    //  The first two may go in one message or two (they may arrive
    //  together), the other eight always in one, last.
    size_t posts = webhook_count (self->webhook);
    assert_true (posts == 2 || posts == 3);
    assert_int_equal (s_notices (self->webhook), 10);
    char *digest = webhook_body (self->webhook, posts - 1);
    assert_non_null (digest);
    assert_non_null (strstr (digest, "\"digest\":true"));
    assert_non_null (strstr (digest, "\"count\":8"));
    free (digest);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 10);
}

//  One owner, four channels: each gets the alert once, in its own format.
static void
test_owner_channels (void **state)
{
    fixture_t *self = &s_fixture;
    self->webhook = webhook_start (0, 200);
    assert_non_null (self->webhook);
    s_start_notifier (NULL, NULL, NULL);
    char folder [] = "/tmp/sq-notify-command-XXXXXX";
    assert_non_null (mkdtemp (folder));
    char script [128], output [128];
    snprintf (script, sizeof (script), "%s/page.sh", folder);
    snprintf (output, sizeof (output), "%s/env.txt", folder);
    FILE *file = fopen (script, "w");
    assert_non_null (file);
    fprintf (file, "#!/bin/sh\nenv > '%s'\n", output);
    fclose (file);
    assert_int_equal (chmod (script, 0700), 0);

    sq_msg_t owner;
    memset (&owner, 0, sizeof (owner));
    owner.type = SQ_MSG_OWNER;
    snprintf (owner.owner.name, sizeof (owner.owner.name), "alice");
    char *url = webhook_url (self->webhook, "/generic");
    snprintf (owner.owner.webhook, sizeof (owner.owner.webhook), "%s", url);
    zstr_free (&url);
    url = webhook_url (self->webhook, "/slack");
    snprintf (owner.owner.slack, sizeof (owner.owner.slack), "%s", url);
    zstr_free (&url);
    url = webhook_url (self->webhook, "/discord");
    snprintf (owner.owner.discord, sizeof (owner.owner.discord), "%s", url);
    zstr_free (&url);
    snprintf (owner.owner.command, sizeof (owner.owner.command), "%s", script);
    s_hand (SQ_CMD_OWNERS, &owner, 1);
    sq_msg_t site = s_site (5, "alice");
    s_hand (SQ_CMD_SITES, &site, 1);

    s_publish (1, 5, SQ_STATE_DOWN);
    assert_int_equal (notifier_sync (self->notifier, 1, TEST_WAIT_MS), 0);
    assert_int_equal (webhook_count (self->webhook), 3);
    assert_int_equal (s_occurrences (self->webhook, 0, "\"text\":"), 1);
    assert_int_equal (s_occurrences (self->webhook, 0, "\"content\":"), 1);
    assert_int_equal (s_occurrences (self->webhook, 0, "\"kind\":\"alert\""), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, slack_delivered)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, discord_delivered)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, command_delivered)), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, delivered)), 4);
    size_t length = 0;
    char *env = fixture_read_file (output, 1 << 20, &length);
    assert_non_null (env);
    assert_non_null (strstr (env, "SQUIRREL_URL=https://example.com/site5"));
    assert_non_null (strstr (env, "SQUIRREL_STATE=down"));
    assert_non_null (strstr (env, "SQUIRREL_OWNER=alice"));
    free (env);
    unlink (output);
    unlink (script);
    rmdir (folder);
}

//  Inside a maintenance window nobody is told; a flapping site is told
//  once that it flaps, then nothing per change.
static void
test_maintenance_and_flapping (void **state)
{
    fixture_t *self = &s_fixture;
    self->webhook = webhook_start (0, 200);
    assert_non_null (self->webhook);
    self->url = webhook_url (self->webhook, "/policy");
    s_start_notifier (self->url, NULL, NULL);
    int64_t now_s = zclock_time () / 1000;
    sq_msg_t sites [2] = { s_site (1, ""), s_site (2, "") };
    sites [0].site.maintenance.count = 1;
    sites [0].site.maintenance.window [0] =
        (sq_window_t) { .start_s = now_s - 60, .length_s = 3600, .every_s = 0 };
    sites [1].site.flap_changes = 2;
    sites [1].site.flap_window_ms = 600000;
    s_hand (SQ_CMD_SITES, sites, 2);

    s_publish (1, 1, SQ_STATE_DOWN);
    assert_int_equal (notifier_sync (self->notifier, 1, TEST_WAIT_MS), 0);
    assert_int_equal (webhook_count (self->webhook), 0);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, hushed)), 1);
    //  Site 2 changes six times: two told, the third is FLAPPING, the rest
    //  nothing.
    sq_state_t state_now = SQ_STATE_UP;
    for (uint64_t seq = 2; seq <= 7; seq++) {
        state_now = state_now == SQ_STATE_UP ? SQ_STATE_DOWN : SQ_STATE_UP;
        s_publish (seq, 2, state_now);
    }
    assert_int_equal (notifier_sync (self->notifier, 7, TEST_WAIT_MS), 0);
    assert_int_equal (s_notices (self->webhook), 3);
    assert_int_equal (s_occurrences (self->webhook, 0, "\"kind\":\"flapping\""), 1);
    assert_int_equal (s_counter (SQ_STAT (NOTIFIER, hushed)), 1 + 3);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_teardown (test_delivered_after_two_failures, s_teardown),
        cmocka_unit_test_teardown (test_slow_receiver_delivered_on_retry, s_teardown),
        cmocka_unit_test_teardown (test_down_then_up_in_one_message, s_teardown),
        cmocka_unit_test_teardown (test_given_up_by_age, s_teardown),
        cmocka_unit_test_teardown (test_restart_delivers_pending_once, s_teardown),
        cmocka_unit_test_teardown (test_digest_after_a_burst, s_teardown),
        cmocka_unit_test_teardown (test_owner_channels, s_teardown),
        cmocka_unit_test_teardown (test_maintenance_and_flapping, s_teardown),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
