/*  test_metrics.c: the metrics registry (actors/sq_metrics.c) and the
    /metrics page (broker/metrics_page.c).

    Known values go in, the text comes out, and exact series are read back:
    bucket counts on and beside their bounds, sums, every label present
    from the start, a hostile label value escaped.  The page is built from
    a real SQLite store filled through the real writer actor, with secrets
    in the sites' URLs that must never show, and `promtool check metrics`
    (Debian's prometheus package) judges every text.  Last, the whole
    topology runs against the real test site and a real webhook receiver,
    so each hook (collector, dispatcher, store writer, notifier; refused
    frames at the collector, dispatcher, store and snapshot service) is
    seen counting what really happened.
    The registry is one per process: each test starts with
    sq_metrics_reset.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sq_metrics.h"
#include "metrics_page.h"
#include "store.h"
#include "topology.h"
#include "config.h"
#include "sq_actor.h"
#include "sq_url.h"
#include "sq_wire.h"
#include "testsite.h"
#include "webhook.h"

#include <curl/curl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  Helpers

//  The line after line, or NULL.
static const char *
s_next_line (const char *line)
{
    const char *end = strchr (line, '\n');
    return end ? end + 1 : NULL;
}

//  The value of the series written exactly as `series` (name and labels),
//  or -1 when the text has no such line.
static double
s_value (const char *text, const char *series)
{
    size_t length = strlen (series);
    for (const char *line = text; line && *line; line = s_next_line (line))
        if (strncmp (line, series, length) == 0 && line [length] == ' ')
            return strtod (line + length + 1, NULL);
    return -1;
}

//  How many lines start with prefix.
static size_t
s_lines (const char *text, const char *prefix)
{
    size_t count = 0;
    size_t length = strlen (prefix);
    for (const char *line = text; line && *line; line = s_next_line (line))
        count += strncmp (line, prefix, length) == 0;
    return count;
}

//  Run `promtool check metrics` on text: its exit status, and what it
//  printed (stdout and stderr) in output.  Fails the test when promtool
//  is not installed: that is a missing dependency, never a pass.
static int
s_promtool (const char *text, char *output, size_t output_size)
{
    if (system ("command -v promtool > /dev/null 2>&1") != 0)
        fail_msg ("promtool not found: apt-get install prometheus (deploy/install-deps.sh)");
    char folder [] = "/tmp/test-metrics-promtool-XXXXXX";
    assert_non_null (mkdtemp (folder));
    char input [128], printed [128];
    snprintf (input, sizeof (input), "%s/metrics.txt", folder);
    snprintf (printed, sizeof (printed), "%s/promtool.out", folder);
    FILE *file = fopen (input, "w");
    assert_non_null (file);
    assert_int_equal (fwrite (text, 1, strlen (text), file), strlen (text));
    assert_int_equal (fclose (file), 0);
    char command [512];
    snprintf (command, sizeof (command), "promtool check metrics < '%s' > '%s' 2>&1", input, printed);
    int status = system (command);
    assert_true (WIFEXITED (status));
    file = fopen (printed, "r");
    assert_non_null (file);
    size_t size = fread (output, 1, output_size - 1, file);
    output [size] = '\0';
    fclose (file);
    unlink (input);
    unlink (printed);
    rmdir (folder);
    return WEXITSTATUS (status);
}

//  Remove folder and all in it ("" for none yet): 0, or -1.
static int
s_remove_folder (const char *folder)
{
    if (!folder [0])
        return 0;
    char command [256];
    snprintf (command, sizeof (command), "rm -rf '%s'", folder);
    return system (command) == 0 ? 0 : -1;
}

//  promtool takes text without a word of complaint.
static void
s_assert_promtool_clean (const char *text)
{
    char output [8192];
    int status = s_promtool (text, output, sizeof (output));
    if (status != 0 || output [0])
        fail_msg ("promtool exit %d, said:\n%s\non:\n%s", status, output, text);
}


//  --------------------------------------------------------------------------
//  The registry

//  Phases land in the bucket whose bound is the first at or above them;
//  a phase of 0 is not observed; total always is.
static void
test_check_phases (void **state)
{
    sq_metrics_reset ();
    //  dns exactly on the first bound, connect just above it, no tls,
    //  ttfb exactly on 30 s, total past the last bound.
    sq_metrics_check (SQ_REASON_OK, 1000, 1001, 0, 30000000, 30000001);
    //  A refused connect: only dns and total reached.
    sq_metrics_check (SQ_REASON_CONNECT, 2500, 0, 0, 0, 2500);
    //  A check whose total is 0 (no time measured) still counts in total.
    sq_metrics_check (SQ_REASON_CONNECT, 0, 0, 0, 0, 0);
    char *text = sq_metrics_text ();
    assert_non_null (text);

    const char *name = "squirrel_check_duration_seconds";
    char series [160];
    //  dns: 1000 µs on le 0.001, 2500 on le 0.0025.
    snprintf (series, sizeof (series), "%s_bucket{phase=\"dns\",le=\"0.001\"}", name);
    assert_true (s_value (text, series) == 1);
    snprintf (series, sizeof (series), "%s_bucket{phase=\"dns\",le=\"0.0025\"}", name);
    assert_true (s_value (text, series) == 2);
    snprintf (series, sizeof (series), "%s_bucket{phase=\"dns\",le=\"+Inf\"}", name);
    assert_true (s_value (text, series) == 2);
    snprintf (series, sizeof (series), "%s_count{phase=\"dns\"}", name);
    assert_true (s_value (text, series) == 2);
    snprintf (series, sizeof (series), "%s_sum{phase=\"dns\"}", name);
    assert_true (s_value (text, series) == 0.0035);
    assert_non_null (strstr (text, "\nsquirrel_check_duration_seconds_sum{phase=\"dns\"} 0.003500\n"));
    //  connect: 1001 µs is above 0.001.
    snprintf (series, sizeof (series), "%s_bucket{phase=\"connect\",le=\"0.001\"}", name);
    assert_true (s_value (text, series) == 0);
    snprintf (series, sizeof (series), "%s_bucket{phase=\"connect\",le=\"0.0025\"}", name);
    assert_true (s_value (text, series) == 1);
    snprintf (series, sizeof (series), "%s_count{phase=\"connect\"}", name);
    assert_true (s_value (text, series) == 1);
    //  tls never reached: every bucket 0, sum 0, count 0, but present.
    snprintf (series, sizeof (series), "%s_bucket{phase=\"tls\",le=\"+Inf\"}", name);
    assert_true (s_value (text, series) == 0);
    snprintf (series, sizeof (series), "%s_sum{phase=\"tls\"}", name);
    assert_true (s_value (text, series) == 0);
    snprintf (series, sizeof (series), "%s_count{phase=\"tls\"}", name);
    assert_true (s_value (text, series) == 0);
    //  ttfb: 30 s exactly is in le 30, not in le 10.
    snprintf (series, sizeof (series), "%s_bucket{phase=\"ttfb\",le=\"10\"}", name);
    assert_true (s_value (text, series) == 0);
    snprintf (series, sizeof (series), "%s_bucket{phase=\"ttfb\",le=\"30\"}", name);
    assert_true (s_value (text, series) == 1);
    //  total: 0 and 2500 µs low, 30.000001 s only in +Inf; count 3.
    snprintf (series, sizeof (series), "%s_bucket{phase=\"total\",le=\"0.001\"}", name);
    assert_true (s_value (text, series) == 1);
    snprintf (series, sizeof (series), "%s_bucket{phase=\"total\",le=\"0.0025\"}", name);
    assert_true (s_value (text, series) == 2);
    snprintf (series, sizeof (series), "%s_bucket{phase=\"total\",le=\"30\"}", name);
    assert_true (s_value (text, series) == 2);
    snprintf (series, sizeof (series), "%s_bucket{phase=\"total\",le=\"+Inf\"}", name);
    assert_true (s_value (text, series) == 3);
    snprintf (series, sizeof (series), "%s_count{phase=\"total\"}", name);
    assert_true (s_value (text, series) == 3);
    assert_non_null (strstr (text, "\nsquirrel_check_duration_seconds_sum{phase=\"total\"} 30.002501\n"));
    //  15 series per phase: 14 bounds and +Inf.
    assert_int_equal (s_lines (text, "squirrel_check_duration_seconds_bucket{phase=\"dns\""), 15);
    assert_int_equal (s_lines (text, "squirrel_check_duration_seconds_bucket{"), 5 * 15);

    //  Every reason from the start, 0 unless seen.
    assert_int_equal (s_lines (text, "squirrel_checks_total{"), SQ_REASON_COUNT);
    assert_true (s_value (text, "squirrel_checks_total{reason=\"ok\"}") == 1);
    assert_true (s_value (text, "squirrel_checks_total{reason=\"connect\"}") == 2);
    for (int reason = 0; reason < SQ_REASON_COUNT; reason++) {
        if (reason == SQ_REASON_OK || reason == SQ_REASON_CONNECT)
            continue;
        snprintf (series, sizeof (series), "squirrel_checks_total{reason=\"%s\"}",
                  sq_reason_name ((sq_reason_t) reason));
        assert_true (s_value (text, series) == 0);
    }
    assert_non_null (strstr (text, "# TYPE squirrel_check_duration_seconds histogram\n"));
    assert_non_null (strstr (text, "# TYPE squirrel_checks_total counter\n"));
    s_assert_promtool_clean (text);
    free (text);
}

//  The lag histogram and the quantiles the dispatcher's STATS reads.
static void
test_schedule_lag (void **state)
{
    sq_metrics_reset ();
    assert_true (sq_metrics_lag_quantile (0.5) == -1);
    char *text = sq_metrics_text ();
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_count") == 0);
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_bucket{le=\"+Inf\"}") == 0);
    free (text);

    int64_t lags [] = { -5, 0, 1, 2, 3, 100, 70000 };
    for (size_t index = 0; index < sizeof (lags) / sizeof (lags [0]); index++)
        sq_metrics_lag (lags [index]);
    text = sq_metrics_text ();
    //  -5 counts as 0; 0 and 1 ms in le 0.001; 2 ms in le 0.0025; 3 ms in
    //  le 0.005; 100 ms exactly in le 0.1; 70 s only in +Inf.
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_bucket{le=\"0.001\"}") == 3);
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_bucket{le=\"0.0025\"}") == 4);
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_bucket{le=\"0.005\"}") == 5);
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_bucket{le=\"0.05\"}") == 5);
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_bucket{le=\"0.1\"}") == 6);
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_bucket{le=\"60\"}") == 6);
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_bucket{le=\"+Inf\"}") == 7);
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_count") == 7);
    assert_non_null (strstr (text, "\nsquirrel_schedule_lag_seconds_sum 70.106000\n"));
    assert_int_equal (s_lines (text, "squirrel_schedule_lag_seconds_bucket{"), 16);
    assert_non_null (strstr (text, "# TYPE squirrel_schedule_lag_seconds histogram\n"));
    s_assert_promtool_clean (text);
    free (text);
    //  7 observations: the median (4th) is in le 0.0025, the 99th
    //  percentile beyond 60 s reads as 60 s, the least in le 0.001.
    assert_true (sq_metrics_lag_quantile (0.5) == 2.5);
    assert_true (sq_metrics_lag_quantile (0.99) == 60000);
    assert_true (sq_metrics_lag_quantile (0) == 1);
    assert_true (sq_metrics_lag_quantile (6.0 / 7) == 100);
}

//  Counters and gauges with every label from the start; the pinger table
//  summed per region; a hostile region name escaped.
static void
test_counters_and_labels (void **state)
{
    sq_metrics_reset ();
    char *text = sq_metrics_text ();
    //  Nothing observed: every counter series there, at 0; no pinger series.
    assert_int_equal (s_lines (text, "squirrel_frames_refused_total{"), SQ_ACTOR_COUNT);
    assert_int_equal (s_lines (text, "squirrel_notifications_total{"),
                      SQ_CHANNEL_COUNT * SQ_DELIVERY_RESULT_COUNT);
    assert_true (s_value (text, "squirrel_notifications_total{channel=\"command\",result=\"given_up\"}") == 0);
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"auth\"}") == 0);
    assert_true (s_value (text, "squirrel_store_pending_writes") == 0);
    assert_int_equal (s_lines (text, "squirrel_pingers{"), 0);
    assert_non_null (strstr (text, "# TYPE squirrel_pingers gauge\n"));
    assert_non_null (strstr (text, "# TYPE squirrel_pinger_free_slots gauge\n"));
    s_assert_promtool_clean (text);
    free (text);

    sq_metrics_refused (SQ_ACTOR_COLLECTOR);
    sq_metrics_refused (SQ_ACTOR_COLLECTOR);
    sq_metrics_refused (SQ_ACTOR_AUTH);
    assert_int_equal (sq_metrics_refusal (SQ_PROTO_MALFORMED, SQ_ACTOR_STORE), SQ_PROTO_MALFORMED);
    assert_int_equal (sq_metrics_refusal (SQ_PROTO_OK, SQ_ACTOR_STORE), SQ_PROTO_OK);
    assert_int_equal (sq_metrics_refusal (SQ_WIRE_INTERRUPTED, SQ_ACTOR_STORE), SQ_WIRE_INTERRUPTED);
    sq_metrics_notification (SQ_CHANNEL_SLACK, SQ_DELIVERY_FAILED);
    sq_metrics_notification (SQ_CHANNEL_SLACK, SQ_DELIVERY_FAILED);
    sq_metrics_notification (SQ_CHANNEL_SLACK, SQ_DELIVERY_DELIVERED);
    sq_metrics_notification (SQ_CHANNEL_EMAIL, SQ_DELIVERY_GIVEN_UP);
    sq_metrics_store_pending (1234);
    sq_metrics_store_pending (17);
    //  Regions: "" (two pingers), "eu" (one quarantined), and a hostile
    //  one: a quote, a brace, a line feed, a backslash and a byte that is
    //  not UTF-8, trying to end its label and add a series of its own.
    sq_metrics_pinger_t pingers [5] = {
        { .region = "", .free_slots = 3 },
        { .region = "", .free_slots = 4 },
        { .region = "eu", .quarantined = true, .free_slots = 10 },
        { .region = "eu", .free_slots = 0 },
        { .region = "x\"} 1\nsquirrel_evil 1\\\xff\xc3\xa9", .free_slots = 2 },
    };
    sq_metrics_pingers (pingers, 5);
    text = sq_metrics_text ();
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"collector\"}") == 2);
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"auth\"}") == 1);
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"store\"}") == 1);
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"dispatcher\"}") == 0);
    assert_true (s_value (text, "squirrel_notifications_total{channel=\"slack\",result=\"failed\"}") == 2);
    assert_true (s_value (text, "squirrel_notifications_total{channel=\"slack\",result=\"delivered\"}") == 1);
    assert_true (s_value (text, "squirrel_notifications_total{channel=\"email\",result=\"given_up\"}") == 1);
    assert_true (s_value (text, "squirrel_notifications_total{channel=\"webhook\",result=\"delivered\"}") == 0);
    assert_true (s_value (text, "squirrel_store_pending_writes") == 17);
    assert_true (s_value (text, "squirrel_pingers{region=\"\",state=\"live\"}") == 2);
    assert_true (s_value (text, "squirrel_pingers{region=\"\",state=\"quarantined\"}") == 0);
    assert_true (s_value (text, "squirrel_pingers{region=\"eu\",state=\"live\"}") == 1);
    assert_true (s_value (text, "squirrel_pingers{region=\"eu\",state=\"quarantined\"}") == 1);
    assert_true (s_value (text, "squirrel_pinger_free_slots{region=\"\"}") == 7);
    assert_true (s_value (text, "squirrel_pinger_free_slots{region=\"eu\"}") == 10);
    //  The hostile name stays inside its label: escaped, '?' for the bad
    //  byte, the é kept; no line of its own.
    assert_non_null (strstr (text, "\nsquirrel_pingers{region=\"x\\\"} 1\\nsquirrel_evil 1\\\\?\xc3\xa9\","
                                   "state=\"live\"} 1\n"));
    assert_true (s_value (text, "squirrel_pinger_free_slots{region=\"x\\\"} 1\\nsquirrel_evil 1\\\\?\xc3\xa9\"}") == 2);
    assert_int_equal (s_lines (text, "squirrel_evil"), 0);
    //  Regions in name order, whatever the table's order.
    assert_true (strstr (text, "squirrel_pingers{region=\"\",") < strstr (text, "squirrel_pingers{region=\"eu\","));
    assert_int_equal (s_lines (text, "squirrel_pingers{"), 6);
    s_assert_promtool_clean (text);
    free (text);

    //  A new table replaces the old one whole.
    sq_metrics_pingers (pingers, 1);
    text = sq_metrics_text ();
    assert_int_equal (s_lines (text, "squirrel_pingers{"), 2);
    assert_true (s_value (text, "squirrel_pingers{region=\"\",state=\"live\"}") == 1);
    assert_true (s_value (text, "squirrel_pinger_free_slots{region=\"\"}") == 3);
    free (text);

    //  Bytes that are not UTF-8: a lead byte that never starts one, a cut
    //  sequence, an overlong form and a surrogate each give '?' per byte;
    //  a whole sequence (the euro sign) is kept.
    sq_metrics_pinger_t odd = { .region = "u\xf8\xe2\x82" "a\xc0\xaf\xed\xa0\x80\xe2\x82\xac" };
    sq_metrics_pingers (&odd, 1);
    text = sq_metrics_text ();
    assert_true (s_value (text, "squirrel_pingers{region=\"u???a?????\xe2\x82\xac\",state=\"live\"}") == 1);
    s_assert_promtool_clean (text);
    free (text);
    sq_metrics_reset ();
}


//  --------------------------------------------------------------------------
//  The page, from a real store

typedef struct {
    char folder [64];           //  mkdtemp folder, removed at the end
    char data_dir [96];         //  folder/data
    zactor_t *writer;           //  the store writer
    zsock_t *push;              //  stands in for the collector
    store_t *store;             //  the page's reader connection
} store_fixture_t;

static void
s_store_start (store_fixture_t *self, const char *name)
{
    snprintf (self->folder, sizeof (self->folder), "/tmp/test-metrics-XXXXXX");
    assert_non_null (mkdtemp (self->folder));
    snprintf (self->data_dir, sizeof (self->data_dir), "%s/data", self->folder);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "inproc://test-metrics-%s", name);
    store_args_t args = { .data_dir = self->data_dir, .endpoint = endpoint };
    self->writer = sq_actor_start (store_actor, &args, "store");
    assert_non_null (self->writer);
    self->push = zsock_new (ZMQ_PUSH);
    assert_non_null (self->push);
    zsock_set_linger (self->push, 2000);
    assert_int_equal (zsock_connect (self->push, "%s", endpoint), 0);
    char error [256];
    self->store = store_open (self->data_dir, error, sizeof (error));
    assert_non_null (self->store);
}

static store_fixture_t s_store;

//  Whatever the test built, taken down, also after a failed assertion.
static int
s_store_teardown (void **state)
{
    store_fixture_t *self = &s_store;
    zsock_destroy (&self->push);
    zactor_destroy (&self->writer);
    store_close (&self->store);
    int rc = s_remove_folder (self->folder);
    memset (self, 0, sizeof (*self));
    return rc;
}

static void
s_store_result (store_fixture_t *self, uint64_t site_id, const char *region, bool up,
                int64_t at, int64_t cert_expiry)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_RESULT;
    msg.result.job_id = 1;
    msg.result.attempt = 1;
    msg.result.site_id = site_id;
    snprintf (msg.result.pinger_id, sizeof (msg.result.pinger_id), "p-%s", region);
    snprintf (msg.result.region, sizeof (msg.result.region), "%s", region);
    msg.result.up = up;
    msg.result.reason = up ? SQ_REASON_OK : SQ_REASON_TIMEOUT;
    msg.result.http_status = up ? 200 : 0;
    msg.result.total_us = 5000;
    msg.result.cert_expiry = cert_expiry;
    msg.result.at = at;
    assert_int_equal (sq_wire_send (self->push, NULL, 0, &msg), 0);
}

static void
s_store_flush (store_fixture_t *self)
{
    assert_int_equal (zstr_send (self->writer, SQ_CMD_FLUSH), 0);
    char *answer = zstr_recv (self->writer);
    assert_non_null (answer);
    assert_string_equal (answer, "OK");
    zstr_free (&answer);
}

//  The sites' families: up per region, the state as an enum, the
//  certificate's end; URLs shown without their secrets and kept apart when
//  they show alike; the registry's families after them; promtool content.
static void
test_page_from_store (void **state)
{
    sq_metrics_reset ();
    store_fixture_t *self = &s_store;
    s_store_start (self, "page");
    const char *urls [] = {
        "https://alice:hunter2secret@secure.example/private",
        "http://example.org/health?token=s3cr3tt0kenvalue",
        "https://bob:pw-one-secret@dup.example/",
        "https://carol:pw-two-secret@dup.example/",
    };
    const char *owners [] = { "alice", NULL, "ops", "ops" };
    uint64_t ids [4];
    char error [256];
    assert_int_equal (store_sync_sites (self->store, urls, owners, 4, ids, error, sizeof (error)), 0);
    int64_t now = sq_wallclock_us ();
    //  Site 0: us down, then eu up (and its certificate: the store gives
    //  the one its latest result saw); site 1: regionless up.
    s_store_result (self, ids [0], "us", false, now - 70000000, 0);
    s_store_result (self, ids [0], "eu", true, now - 60000000, 1900000000);
    s_store_result (self, ids [1], "", true, now - 40000000, 0);
    //  Site 0 degraded (a published change).
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_ALERT;
    msg.alert.seq = 1;
    msg.alert.site_id = ids [0];
    snprintf (msg.alert.url, sizeof (msg.alert.url), "%s", urls [0]);
    msg.alert.previous = SQ_STATE_UP;
    msg.alert.state = SQ_STATE_DEGRADED;
    msg.alert.since = now - 50000000;
    msg.alert.reason = SQ_REASON_TIMEOUT;
    assert_int_equal (sq_wire_send (self->push, NULL, 0, &msg), 0);
    s_store_flush (self);
    sq_metrics_check (SQ_REASON_OK, 100, 200, 300, 400, 1000);

    char *page = metrics_page_render (self->store, now, 4);
    assert_non_null (page);
    //  No secret anywhere.
    assert_null (strstr (page, "hunter2secret"));
    assert_null (strstr (page, "s3cr3tt0kenvalue"));
    assert_null (strstr (page, "pw-one-secret"));
    assert_null (strstr (page, "pw-two-secret"));
    assert_null (strstr (page, "alice:"));
    char shown [4][SQ_URL_MAX + 1];
    for (int index = 0; index < 4; index++) {
        sq_url_shown (urls [index], shown [index], sizeof (shown [index]));
        assert_non_null (strstr (shown [index], "***"));
    }
    //  bob and carol show alike: each gets its id.
    assert_string_equal (shown [2], shown [3]);
    char url2 [SQ_URL_MAX + 32], url3 [SQ_URL_MAX + 32], series [SQ_URL_MAX * 2];
    snprintf (url2, sizeof (url2), "%s#site=%llu", shown [2], (unsigned long long) ids [2]);
    snprintf (url3, sizeof (url3), "%s#site=%llu", shown [3], (unsigned long long) ids [3]);

    snprintf (series, sizeof (series), "squirrel_site_up{url=\"%s\",owner=\"alice\",region=\"eu\"}", shown [0]);
    assert_true (s_value (page, series) == 1);
    snprintf (series, sizeof (series), "squirrel_site_up{url=\"%s\",owner=\"alice\",region=\"us\"}", shown [0]);
    assert_true (s_value (page, series) == 0);
    snprintf (series, sizeof (series), "squirrel_site_up{url=\"%s\",owner=\"\",region=\"\"}", shown [1]);
    assert_true (s_value (page, series) == 1);
    //  Never checked: no up series.
    assert_int_equal (s_lines (page, "squirrel_site_up{"), 3);

    //  The state as an enum: one series per state, 1 for the current one.
    assert_int_equal (s_lines (page, "squirrel_site_state{"), 4 * SQ_STATE_COUNT);
    for (int each = 0; each < SQ_STATE_COUNT; each++) {
        snprintf (series, sizeof (series), "squirrel_site_state{url=\"%s\",state=\"%s\"}", shown [0],
                  sq_state_name ((sq_state_t) each));
        assert_true (s_value (page, series) == (each == SQ_STATE_DEGRADED));
        snprintf (series, sizeof (series), "squirrel_site_state{url=\"%s\",state=\"%s\"}", url2,
                  sq_state_name ((sq_state_t) each));
        assert_true (s_value (page, series) == (each == SQ_STATE_UNKNOWN));
        snprintf (series, sizeof (series), "squirrel_site_state{url=\"%s\",state=\"%s\"}", url3,
                  sq_state_name ((sq_state_t) each));
        assert_true (s_value (page, series) == (each == SQ_STATE_UNKNOWN));
    }
    //  Sites 1 to 3 have never been down or degraded: state from the store.
    snprintf (series, sizeof (series), "squirrel_site_state{url=\"%s\",state=\"unknown\"}", shown [1]);
    assert_true (s_value (page, series) == 1);

    snprintf (series, sizeof (series), "squirrel_cert_expiry_timestamp_seconds{url=\"%s\"}", shown [0]);
    assert_true (s_value (page, series) == 1900000000);
    assert_int_equal (s_lines (page, "squirrel_cert_expiry_timestamp_seconds{"), 1);

    //  The registry follows.
    assert_true (s_value (page, "squirrel_checks_total{reason=\"ok\"}") == 1);
    assert_true (s_value (page, "squirrel_check_duration_seconds_count{phase=\"tls\"}") == 1);
    s_assert_promtool_clean (page);

    //  The counts by state, every state listed: one degraded, three unknown.
    assert_int_equal (s_lines (page, "squirrel_sites{"), SQ_STATE_COUNT);
    assert_true (s_value (page, "squirrel_sites{state=\"degraded\"}") == 1);
    assert_true (s_value (page, "squirrel_sites{state=\"unknown\"}") == 3);
    assert_true (s_value (page, "squirrel_sites{state=\"down\"}") == 0);
    assert_null (strstr (page, "left out"));
    free (page);

    //  One site more than http.metrics_sites: the counts only, and a
    //  comment that says why.
    page = metrics_page_render (self->store, now, 3);
    assert_non_null (page);
    assert_int_equal (s_lines (page, "squirrel_site_up{"), 0);
    assert_int_equal (s_lines (page, "squirrel_site_state{"), 0);
    assert_int_equal (s_lines (page, "squirrel_cert_expiry_timestamp_seconds{"), 0);
    assert_true (s_value (page, "squirrel_sites{state=\"degraded\"}") == 1);
    assert_true (s_value (page, "squirrel_sites{state=\"unknown\"}") == 3);
    assert_non_null (strstr (page, "\n# squirrel_site_up, squirrel_site_state and "
                                   "squirrel_cert_expiry_timestamp_seconds left out: 4 sites, "
                                   "more than http.metrics_sites (3)\n"));
    assert_null (strstr (page, "hunter2secret"));
    s_assert_promtool_clean (page);

    //  Without a store, the registry alone.
    free (page);
    page = metrics_page_render (NULL, now, 4);
    assert_non_null (page);
    assert_int_equal (s_lines (page, "squirrel_site_"), 0);
    assert_true (s_value (page, "squirrel_checks_total{reason=\"ok\"}") == 1);
    s_assert_promtool_clean (page);
    free (page);
}


//  --------------------------------------------------------------------------
//  The hooks, in the whole topology

typedef struct {
    testsite_t *site;           //  the monitored sites
    webhook_t *webhook;         //  the global webhook: 500 first, then 200
    char data_dir [64];         //  the store's folder
    config_t *config;           //  three sites
    topology_t *topology;       //  the actors
    store_t *store;             //  the page's reader connection
    char *hook;                 //  the webhook's URL
} path_fixture_t;

static path_fixture_t s_path;

static int
s_path_teardown (void **state)
{
    path_fixture_t *self = &s_path;
    topology_destroy (&self->topology);
    store_close (&self->store);
    free (self->hook);
    config_destroy (&self->config);
    webhook_stop (&self->webhook);
    testsite_stop (&self->site);
    int rc = s_remove_folder (self->data_dir);
    memset (self, 0, sizeof (*self));
    return rc;
}

//  Wait until test holds on the registry's text, 20 s at most.
static bool
s_wait_text (bool (*test) (const char *text))
{
    int64_t deadline = zclock_mono () + 20000;
    while (true) {
        char *text = sq_metrics_text ();
        bool held = test (text);
        free (text);
        if (held)
            return true;
        if (zclock_mono () > deadline)
            return false;
        zclock_sleep (50);
    }
}

static bool
s_checked (const char *text)
{
    return s_value (text, "squirrel_checks_total{reason=\"ok\"}") >= 4
        && s_value (text, "squirrel_checks_total{reason=\"http_status\"}") >= 1
        && s_value (text, "squirrel_check_duration_seconds_count{phase=\"tls\"}") >= 1
        && s_value (text, "squirrel_pingers{region=\"\",state=\"live\"}") == 1
        //  Results wait up to 500 ms for their batch: seen pending at times.
        && s_value (text, "squirrel_store_pending_writes") >= 1;
}

static bool
s_notified (const char *text)
{
    return s_value (text, "squirrel_notifications_total{channel=\"webhook\",result=\"delivered\"}") >= 1;
}

static bool
s_refused (const char *text)
{
    return s_value (text, "squirrel_frames_refused_total{actor=\"collector\"}") >= 1
        && s_value (text, "squirrel_frames_refused_total{actor=\"dispatcher\"}") >= 1
        && s_value (text, "squirrel_frames_refused_total{actor=\"store\"}") >= 1
        && s_value (text, "squirrel_frames_refused_total{actor=\"snapshot\"}") >= 1;
}

//  A frame that is no message at all, pushed at an actor's endpoint.
static void
s_hostile_frame (const char *endpoint, int type)
{
    zsock_t *socket = zsock_new (type);
    assert_non_null (socket);
    zsock_set_linger (socket, 1000);
    if (type == ZMQ_PUB)
        assert_true (zsock_bind (socket, "%s", endpoint) >= 0);
    else
        assert_int_equal (zsock_connect (socket, "%s", endpoint), 0);
    assert_int_equal (zstr_send (socket, "\xc1 not msgpack"), 0);
    zsock_destroy (&socket);
}

static void
test_hooks_in_topology (void **state)
{
    sq_metrics_reset ();
    path_fixture_t *self = &s_path;
    self->site = testsite_start ();
    assert_non_null (self->site);
    self->webhook = webhook_start_answers ("500,200", NULL);
    assert_non_null (self->webhook);
    strcpy (self->data_dir, "/tmp/test-metrics-path-XXXXXX");
    assert_non_null (mkdtemp (self->data_dir));

    //  Up over http, up over https (tls reached), down for good (503).
    self->config = config_new_empty ();
    assert_non_null (self->config);
    char *urls [3] = { testsite_url (self->site, "http", "/count/metrics-ok"),
                       testsite_url (self->site, "https", "/count/metrics-tls"),
                       testsite_url (self->site, "http", "/status/503") };
    char error [256];
    for (int index = 0; index < 3; index++) {
        assert_int_equal (config_add_site (self->config, urls [index], error, sizeof (error)), 0);
        free (urls [index]);
        config_site_t *site = &self->config->sites [index];
        site->interval_ms = 300;
        site->timeout_ms = 2000;
        site->failure_threshold = 1;
    }
    self->store = store_open (self->data_dir, error, sizeof (error));
    assert_non_null (self->store);
    const char *site_urls [3];
    uint64_t ids [3];
    for (int index = 0; index < 3; index++)
        site_urls [index] = self->config->sites [index].url;
    assert_int_equal (store_sync_sites (self->store, site_urls, NULL, 3, ids, error, sizeof (error)), 0);
    for (int index = 0; index < 3; index++)
        self->config->sites [index].id = ids [index];
    self->hook = webhook_url (self->webhook, "/hook");
    topology_args_t args = { .transport = "inproc", .data_dir = self->data_dir, .pingers = 1,
                             .concurrency = 8, .ca_file = testsite_ca (self->site),
                             .notify_url = self->hook };
    self->topology = topology_new (&args);
    assert_non_null (self->topology);
    assert_int_equal (config_hand_sites (self->config, self->topology, error, sizeof (error)), 0);

    //  Checks flow: the collector counts them, the dispatcher its pinger.
    assert_true (s_wait_text (s_checked));
    //  The DOWN's notice: the first attempt answered 500, the retry 200.
    assert_true (s_wait_text (s_notified));
    //  A hostile frame at each actor that takes frames on a local socket.
    const topology_endpoints_t *endpoints = topology_endpoints_of (self->topology);
    s_hostile_frame (endpoints->results, ZMQ_PUSH);
    s_hostile_frame (endpoints->done, ZMQ_PUSH);
    s_hostile_frame (endpoints->store, ZMQ_PUSH);
    s_hostile_frame (endpoints->snapshot, ZMQ_DEALER);
    assert_true (s_wait_text (s_refused));
    char *stats = topology_stats (self->topology);
    assert_non_null (stats);
    assert_non_null (strstr (stats, "lag_p50_ms="));
    assert_non_null (strstr (stats, "lag_p99_ms="));
    free (stats);
    topology_destroy (&self->topology);

    //  Everything stopped: the text holds still.
    char *text = sq_metrics_text ();
    assert_non_null (text);
    double checks = 0;
    for (int reason = 0; reason < SQ_REASON_COUNT; reason++) {
        char series [96];
        snprintf (series, sizeof (series), "squirrel_checks_total{reason=\"%s\"}",
                  sq_reason_name ((sq_reason_t) reason));
        checks += s_value (text, series);
    }
    assert_true (checks >= 5);
    //  Every accepted result's total observed, and nothing else.
    assert_true (s_value (text, "squirrel_check_duration_seconds_count{phase=\"total\"}") == checks);
    //  tls only for the https site: some, not all.
    double tls = s_value (text, "squirrel_check_duration_seconds_count{phase=\"tls\"}");
    assert_true (tls >= 1 && tls < checks);
    //  A job sent for each check at least (resends and rechecks too).
    assert_true (s_value (text, "squirrel_schedule_lag_seconds_count") >= checks);
    assert_true (s_value (text, "squirrel_store_pending_writes") >= 0);
    assert_true (s_value (text, "squirrel_pinger_free_slots{region=\"\"}") >= 0);
    //  The notice: one attempt failed, then it was delivered; nothing given up.
    assert_true (s_value (text, "squirrel_notifications_total{channel=\"webhook\",result=\"failed\"}") == 1);
    assert_true (s_value (text, "squirrel_notifications_total{channel=\"webhook\",result=\"delivered\"}") == 1);
    assert_true (s_value (text, "squirrel_notifications_total{channel=\"webhook\",result=\"given_up\"}") == 0);
    //  One refused frame each, counted by the actor that refused it.
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"collector\"}") == 1);
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"dispatcher\"}") == 1);
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"store\"}") == 1);
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"snapshot\"}") == 1);
    assert_true (s_value (text, "squirrel_frames_refused_total{actor=\"pinger\"}") == 0);
    free (text);

    //  The page over what the run stored.
    char *page = metrics_page_render (self->store, sq_wallclock_us (), 10000);
    assert_non_null (page);
    assert_int_equal (s_lines (page, "squirrel_site_state{"), 3 * SQ_STATE_COUNT);
    assert_int_equal (s_lines (page, "squirrel_site_up{"), 3);
    char shown [SQ_URL_MAX + 1], series [SQ_URL_MAX + 96];
    sq_url_shown (self->config->sites [2].url, shown, sizeof (shown));
    snprintf (series, sizeof (series), "squirrel_site_state{url=\"%s\",state=\"down\"}", shown);
    assert_true (s_value (page, series) == 1);
    snprintf (series, sizeof (series), "squirrel_site_up{url=\"%s\",owner=\"\",region=\"\"}", shown);
    assert_true (s_value (page, series) == 0);
    //  The https site's certificate (the test CA's, for 127.0.0.1).
    assert_int_equal (s_lines (page, "squirrel_cert_expiry_timestamp_seconds{"), 1);
    s_assert_promtool_clean (page);
    free (page);
}

int
main (void)
{
    setlocale (LC_CTYPE, "");
    curl_global_init (CURL_GLOBAL_DEFAULT);
    zsys_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_check_phases),
        cmocka_unit_test (test_schedule_lag),
        cmocka_unit_test (test_counters_and_labels),
        cmocka_unit_test_teardown (test_page_from_store, s_store_teardown),
        cmocka_unit_test_teardown (test_hooks_in_topology, s_path_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    curl_global_cleanup ();
    return failed;
}
