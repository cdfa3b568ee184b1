/*  test_status_page.c: the status page's HTML and the store views under it.

    A real store in a mkdtemp folder, filled through the real writer actor
    (RESULT and ALERT over a PUSH, as the collector sends them), read back
    through store_views.h and rendered by status_page_render at a fixed
    time (2026-11-28 12:30 UTC), so that dates in the page are known.
    Site URLs go into the store in normal form, as the config loader puts
    them there.  The page itself is checked as text: the hooks status_page.h
    promises (li.site with data-state and data-url, li.day, svg.sparkline,
    li.incident), escaping, elided secrets, and no external reference.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "store_views.h"
#include "status_page.h"
#include "sq_actor.h"
#include "sq_url.h"
#include "sq_wire.h"

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MINUTE_US   60000000LL
#define HOUR_US     3600000000LL
#define DAY_US      (24 * HOUR_US)
#define NOW_US      (INT64_C (1795869000) * 1000000)    //  2026-11-28 12:30 UTC

//  The sites, as a config would name them.
#define URL_UP      "HTTPS://Up.Example.COM:443/"       //  public; normal form differs
#define URL_HOSTILE "https://user:s3cretpass@hostile.example.com/a?q=<x>&k=\"y\"&n='z'&token=abc123"
#define URL_NEW     "https://new.example.com/"          //  public, never checked
#define URL_PRIVATE "https://private.example.com/hidden"    //  never public

//  What the incidents say.
#define DETAIL_HOSTILE  "<script>alert(\"pwned\")</script> & 'more'"
#define DETAIL_HOSTILE_ESCAPED \
    "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &#39;more&#39;"
#define DETAIL_RECENT   "recent-ended-marker"           //  ended 2 days ago: shown
#define DETAIL_OLD      "old-ended-marker"              //  ended 10 days ago: not shown
#define DETAIL_PRIVATE  "private-detail-marker"         //  the private site's: never shown

enum { SITE_UP, SITE_HOSTILE, SITE_NEW, SITE_PRIVATE, SITE_COUNT };

typedef struct {
    char folder [64];           //  mkdtemp folder, removed at teardown
    char data_dir [96];         //  folder/data
    char endpoint [64];         //  the writer's PULL, unique per test
    zactor_t *actor;            //  the writer
    zsock_t *push;              //  PUSH standing in for the collector
    store_t *store;             //  the reader the page uses
    uint64_t ids [SITE_COUNT];  //  site ids by SITE_*
    char normal [SITE_COUNT][SQ_URL_MAX + 1];   //  each URL in normal form (as stored)
    char shown [SITE_COUNT][SQ_URL_MAX + 1];    //  each URL as sq_url_shown shows it
    uint64_t seq;               //  last alert seq sent
    char *html;                 //  the page rendered, or NULL
} fixture_t;


//  ---------------------------------------------------------------------
//  Filling the store

static void
s_send_result (fixture_t *self, int site, int64_t at, bool up, uint64_t total_us)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_RESULT;
    msg.result.job_id = 1;
    msg.result.attempt = 1;
    msg.result.site_id = self->ids [site];
    strcpy (msg.result.pinger_id, "test-pinger");
    strcpy (msg.result.region, "loopback");
    msg.result.up = up;
    msg.result.reason = up ? SQ_REASON_OK : SQ_REASON_TIMEOUT;
    msg.result.http_status = up ? 200 : 0;
    msg.result.total_us = total_us;
    msg.result.at = at;
    assert_int_equal (sq_wire_send (self->push, NULL, 0, &msg), 0);
}

//  An ALERT: the site's state from since on (DOWN opens an incident, UP
//  closes it).
static void
s_send_alert_to (fixture_t *self, uint64_t site_id, const char *url, sq_state_t state,
                 int64_t since, const char *detail)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_ALERT;
    msg.alert.seq = ++self->seq;
    msg.alert.site_id = site_id;
    snprintf (msg.alert.url, sizeof (msg.alert.url), "%s", url);
    msg.alert.previous = state == SQ_STATE_DOWN ? SQ_STATE_UP : SQ_STATE_DOWN;
    msg.alert.state = (uint8_t) state;
    msg.alert.since = since;
    msg.alert.reason = state == SQ_STATE_DOWN ? SQ_REASON_TIMEOUT : SQ_REASON_OK;
    snprintf (msg.alert.detail, sizeof (msg.alert.detail), "%s", detail);
    assert_int_equal (sq_wire_send (self->push, NULL, 0, &msg), 0);
}

static void
s_send_alert (fixture_t *self, int site, sq_state_t state, int64_t since, const char *detail)
{
    s_send_alert_to (self, self->ids [site], self->shown [site], state, since, detail);
}

static void
s_flush (fixture_t *self)
{
    assert_int_equal (zstr_send (self->actor, "FLUSH"), 0);
    zsock_set_rcvtimeo (self->actor, 20000);
    char *reply = zstr_recv (self->actor);
    assert_non_null (reply);
    assert_string_equal (reply, "OK");
    zstr_free (&reply);
}

//  The store every test starts from:
//  - UP: up since 3 h ago; 4 checks a day from 1 to 59 days ago (10 days
//    ago: 3 up, 1 down), none 60 to 89 days ago, 10 in the last 10 minutes
//    (the last one 123.4 ms);
//  - HOSTILE: down since 20 minutes ago (the hostile detail); an incident
//    2 days ago (ended) and one 10 days ago (ended); its last 3 checks failed;
//  - NEW: never checked;
//  - PRIVATE: down since 1 h ago (an open incident).
static int
s_setup (void **state)
{
    static unsigned instance = 0;
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    assert_non_null (self);
    snprintf (self->folder, sizeof (self->folder), "/tmp/test-page-XXXXXX");
    assert_non_null (mkdtemp (self->folder));
    snprintf (self->data_dir, sizeof (self->data_dir), "%s/data", self->folder);
    snprintf (self->endpoint, sizeof (self->endpoint), "inproc://test-page-%u", instance++);

    //  The sites in normal form, as the config loader records them.
    const char *given [SITE_COUNT] = { URL_UP, URL_HOSTILE, URL_NEW, URL_PRIVATE };
    const char *urls [SITE_COUNT];
    char why [SQ_TEXT_MAX];
    for (int site = 0; site < SITE_COUNT; site++) {
        assert_int_equal (sq_url_normalise (given [site], self->normal [site],
                                            sizeof (self->normal [site]), why, sizeof (why)), 0);
        urls [site] = self->normal [site];
        sq_url_shown (self->normal [site], self->shown [site], sizeof (self->shown [site]));
    }
    char error [256] = "";
    self->store = store_open (self->data_dir, error, sizeof (error));
    assert_non_null (self->store);
    assert_int_equal (store_sync_sites (self->store, urls, NULL, SITE_COUNT, self->ids,
                                        error, sizeof (error)), 0);
    store_args_t args = { .data_dir = self->data_dir, .endpoint = self->endpoint };
    self->actor = sq_actor_start (store_actor, &args, "store");
    assert_non_null (self->actor);
    self->push = zsock_new (ZMQ_PUSH);
    assert_non_null (self->push);
    zsock_set_linger (self->push, 2000);
    assert_int_equal (zsock_connect (self->push, "%s", self->endpoint), 0);

    int64_t today = NOW_US / DAY_US * DAY_US;
    for (int day = 1; day < 60; day++)
        for (int check = 0; check < 4; check++)
            s_send_result (self, SITE_UP, today - day * DAY_US + (8 + check) * HOUR_US,
                           !(day == 10 && check == 3), 200000);
    for (int check = 0; check < 10; check++)
        s_send_result (self, SITE_UP, NOW_US - (10 - check) * MINUTE_US, true,
                       check == 9 ? 123400 : 100000 + (uint64_t) check * 5000);
    s_send_alert (self, SITE_UP, SQ_STATE_UP, NOW_US - 3 * HOUR_US, "");

    s_send_alert (self, SITE_HOSTILE, SQ_STATE_DOWN, NOW_US - 10 * DAY_US, DETAIL_OLD);
    s_send_alert (self, SITE_HOSTILE, SQ_STATE_UP, NOW_US - 10 * DAY_US + HOUR_US, "");
    s_send_alert (self, SITE_HOSTILE, SQ_STATE_DOWN, NOW_US - 2 * DAY_US, DETAIL_RECENT);
    s_send_alert (self, SITE_HOSTILE, SQ_STATE_UP, NOW_US - 2 * DAY_US + 30 * MINUTE_US, "");
    for (int check = 0; check < 6; check++)
        s_send_result (self, SITE_HOSTILE, NOW_US - (30 - check * 5) * MINUTE_US, check < 3,
                       check < 3 ? 50000 : 2000000);
    s_send_alert (self, SITE_HOSTILE, SQ_STATE_DOWN, NOW_US - 20 * MINUTE_US, DETAIL_HOSTILE);

    s_send_result (self, SITE_PRIVATE, NOW_US - 2 * HOUR_US, true, 70000);
    s_send_result (self, SITE_PRIVATE, NOW_US - HOUR_US, false, 2000000);
    s_send_alert (self, SITE_PRIVATE, SQ_STATE_DOWN, NOW_US - HOUR_US, DETAIL_PRIVATE);
    s_flush (self);
    *state = self;
    return 0;
}

static int
s_remove (const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove (path);
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    zsock_destroy (&self->push);
    zactor_destroy (&self->actor);
    store_close (&self->store);
    nftw (self->folder, s_remove, 8, FTW_DEPTH | FTW_PHYS);
    free (self->html);
    free (self);
    return 0;
}


//  ---------------------------------------------------------------------
//  Reading the page

//  The public page: UP (as the config wrote it), HOSTILE and NEW.
static const char *
s_render_public (fixture_t *self)
{
    const char *sites [] = { URL_UP, URL_HOSTILE, URL_NEW };
    status_page_options_t options = { .title = "Test <status> & co", .sites = sites,
                                      .site_count = 3 };
    free (self->html);
    self->html = status_page_render (self->store, &options, NOW_US);
    assert_non_null (self->html);
    return self->html;
}

//  How many times needle stands in haystack (0 .. end when end is not NULL).
static size_t
s_count (const char *haystack, const char *end, const char *needle)
{
    size_t count = 0;
    for (const char *at = strstr (haystack, needle); at && (!end || at < end);
         at = strstr (at + 1, needle))
        count++;
    return count;
}

//  text, HTML-escaped as the page must escape it.  Caller frees.
static char *
s_escaped (const char *text)
{
    char *out = (char *) calloc (strlen (text) * 6 + 1, 1);
    assert_non_null (out);
    for (const char *at = text; *at; at++)
        switch (*at) {
            case '&':  strcat (out, "&amp;"); break;
            case '<':  strcat (out, "&lt;"); break;
            case '>':  strcat (out, "&gt;"); break;
            case '"':  strcat (out, "&quot;"); break;
            case '\'': strcat (out, "&#39;"); break;
            default:   strncat (out, at, 1);
        }
    return out;
}

//  The <li class="site" ...> of a site, from its start to its end, as a
//  new string (caller frees); fails the test when absent.
static char *
s_site_element (const char *html, const char *shown)
{
    char *escaped = s_escaped (shown);
    char needle [SQ_URL_MAX * 6 + 32];
    snprintf (needle, sizeof (needle), "data-url=\"%s\"", escaped);
    free (escaped);
    //  The site's own <li>, not an incident's, which has a data-url too.
    const char *at = strstr (html, "<li class=\"site\"");
    while (at) {
        const char *close = strchr (at, '>');
        const char *url = strstr (at, needle);
        if (close && url && url < close)
            break;
        at = strstr (at + 1, "<li class=\"site\"");
    }
    if (!at)
        fprintf (stderr, "no site %s in the page:\n%s\n", needle, html);
    assert_non_null (at);
    const char *start = at;
    const char *end = strstr (at, "</div>\n</li>\n");
    assert_non_null (end);
    return strndup (start, (size_t) (end - start) + 12);
}

//  The section with the given id, as a new string (caller frees).
static char *
s_section (const char *html, const char *id)
{
    char needle [64];
    snprintf (needle, sizeof (needle), "<section id=\"%s\">", id);
    const char *start = strstr (html, needle);
    assert_non_null (start);
    const char *end = strstr (start, "</section>");
    assert_non_null (end);
    return strndup (start, (size_t) (end - start));
}


//  ---------------------------------------------------------------------
//  The store views

static void
test_daily_uptime_from_rollups (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    store_day_t days [STORE_VIEW_DAYS];
    assert_int_equal (store_daily_uptime (self->store, self->ids [SITE_UP], NOW_US, days,
                                          STORE_VIEW_DAYS), STORE_VIEW_DAYS);
    int64_t today = NOW_US / DAY_US;
    for (int index = 0; index < STORE_VIEW_DAYS; index++) {
        int ago = STORE_VIEW_DAYS - 1 - index;
        assert_int_equal (days [index].day, today - ago);
        if (ago == 0) {                             //  today: the 10 recent checks
            assert_int_equal (days [index].checks, 10);
            assert_float_equal (days [index].uptime, 100, 0.0001);
        }
        else
        if (ago < 60) {
            assert_int_equal (days [index].checks, 4);
            assert_int_equal (days [index].up, ago == 10 ? 3 : 4);
            assert_float_equal (days [index].uptime, ago == 10 ? 75 : 100, 0.0001);
        }
        else {                                      //  no data is not 100 %
            assert_int_equal (days [index].checks, 0);
            assert_float_equal (days [index].uptime, -1, 0.0001);
        }
    }
    //  A site never checked: every day without data.  A count out of range: -1.
    assert_int_equal (store_daily_uptime (self->store, self->ids [SITE_NEW], NOW_US, days, 7), 7);
    for (int index = 0; index < 7; index++)
        assert_int_equal (days [index].checks, 0);
    assert_int_equal (store_daily_uptime (self->store, self->ids [SITE_NEW], NOW_US, days, 0), -1);
}

static void
test_latency_is_the_latest_checks_oldest_first (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    store_latency_t points [STORE_VIEW_LATENCY_POINTS];
    //  UP has 246 results: the newest 50, oldest first, the 10 recent last.
    assert_int_equal (store_latency (self->store, self->ids [SITE_UP], points,
                                     STORE_VIEW_LATENCY_POINTS), 50);
    for (int index = 1; index < 50; index++)
        assert_true (points [index - 1].at_us < points [index].at_us);
    assert_int_equal (points [49].at_us, NOW_US - MINUTE_US);
    assert_int_equal (points [49].total_us, 123400);
    assert_int_equal (points [40].total_us, 100000);
    //  Fewer than asked: all of them, from the start of the array.
    assert_int_equal (store_latency (self->store, self->ids [SITE_HOSTILE], points, 50), 6);
    assert_true (points [0].up && !points [5].up);
    assert_int_equal (points [5].total_us, 2000000);
    assert_int_equal (store_latency (self->store, self->ids [SITE_NEW], points, 50), 0);
}

typedef struct {
    size_t count;               //  rows seen
    char details [8][SQ_TEXT_MAX + 1];  //  their details, in order
    int64_t ends [8];           //  their ends
    uint64_t sites [8];         //  their site ids
} incidents_t;

static void
s_take_incident (const store_incident_row_t *row, void *arg)
{
    incidents_t *list = (incidents_t *) arg;
    if (list->count < 8) {
        snprintf (list->details [list->count], SQ_TEXT_MAX + 1, "%s", row->detail);
        list->ends [list->count] = row->end_us;
        list->sites [list->count] = row->site_id;
    }
    list->count++;
}

static void
test_incidents_open_first_then_recent (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    incidents_t list = { 0 };
    int64_t since = NOW_US - STORE_VIEW_INCIDENT_WINDOW_US;
    //  Every site: HOSTILE's open one (20 min) before PRIVATE's (1 h),
    //  then HOSTILE's ended one; the one ended 10 days ago not at all.
    assert_int_equal (store_incidents_recent (self->store, since, NULL, 0, 10, s_take_incident,
                                              &list), 3);
    assert_string_equal (list.details [0], DETAIL_HOSTILE);
    assert_int_equal (list.ends [0], 0);
    assert_string_equal (list.details [1], DETAIL_PRIVATE);
    assert_int_equal (list.ends [1], 0);
    assert_string_equal (list.details [2], DETAIL_RECENT);
    assert_int_equal (list.ends [2], NOW_US - 2 * DAY_US + 30 * MINUTE_US);
    //  Only the sites listed; an empty list is none; the limit holds.
    memset (&list, 0, sizeof (list));
    uint64_t only [] = { self->ids [SITE_PRIVATE], self->ids [SITE_NEW] };
    assert_int_equal (store_incidents_recent (self->store, since, only, 2, 10, s_take_incident,
                                              &list), 1);
    assert_int_equal (list.sites [0], self->ids [SITE_PRIVATE]);
    assert_int_equal (store_incidents_recent (self->store, since, only, 0, 10, s_take_incident,
                                              &list), 0);
    assert_int_equal (store_incidents_recent (self->store, since, NULL, 0, 1, s_take_incident,
                                              &list), 1);
    //  A wider window takes the old one too.
    memset (&list, 0, sizeof (list));
    assert_int_equal (store_incidents_recent (self->store, NOW_US - 11 * DAY_US, NULL, 0, 10,
                                              s_take_incident, &list), 4);
    assert_string_equal (list.details [3], DETAIL_OLD);
}


//  Inside a snapshot, a commit of the writer is not seen; after it, it is.
static void
test_snapshot_holds_still (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    store_latency_t points [STORE_VIEW_LATENCY_POINTS];
    assert_int_equal (store_latency (self->store, self->ids [SITE_PRIVATE], points, 50), 2);
    //  The snapshot is the one of store_snapshot_begin, not of the next read.
    assert_int_equal (store_snapshot_begin (self->store), 0);
    s_send_result (self, SITE_PRIVATE, NOW_US - MINUTE_US, true, 60000);
    s_flush (self);
    assert_int_equal (store_latency (self->store, self->ids [SITE_PRIVATE], points, 50), 2);
    store_snapshot_end (self->store);
    assert_int_equal (store_latency (self->store, self->ids [SITE_PRIVATE], points, 50), 3);
    store_snapshot_end (self->store);          //  safe without one
}


//  ---------------------------------------------------------------------
//  The page

//  Each public site with its state as data, text and colour class; the
//  private one nowhere (URL, host, incident).
static void
test_page_holds_public_sites_only (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *html = s_render_public (self);
    assert_int_equal (s_count (html, NULL, "<li class=\"site\""), 3);

    char *up = s_site_element (html, self->shown [SITE_UP]);
    assert_non_null (strstr (up, "data-state=\"up\""));
    assert_non_null (strstr (up, "<span class=\"state state-up\">up</span>"));
    assert_non_null (strstr (up, "Up since <time datetime=\"2026-11-28T09:30:00Z\">"
                                 "2026-11-28 09:30 UTC</time> (3 h 0 min)"));
    //  24 h: the 10 checks of today's hours; 7 d and 30 d cut, not rounded.
    assert_non_null (strstr (up, "<dt>24 h</dt><dd>100 %</dd>"));
    assert_non_null (strstr (up, "<dt>7 d</dt><dd>100 %</dd>"));
    //  30 d: from 13:00 30 days ago, 29 days of 4 checks (one down) and today's 10:
    //  125 of 126 = 99.206 %.
    assert_non_null (strstr (up, "<dt>30 d</dt><dd>99.20 %</dd>"));
    free (up);

    char *hostile = s_site_element (html, self->shown [SITE_HOSTILE]);
    assert_non_null (strstr (hostile, "data-state=\"down\""));
    assert_non_null (strstr (hostile, "<span class=\"state state-down\">down</span>"));
    free (hostile);

    char *fresh = s_site_element (html, self->shown [SITE_NEW]);
    assert_non_null (strstr (fresh, "data-state=\"unknown\""));
    assert_non_null (strstr (fresh, "Not checked yet"));
    assert_non_null (strstr (fresh, "No checks yet"));
    assert_null (strstr (fresh, "<svg"));
    free (fresh);

    assert_null (strstr (html, "private.example.com"));
    assert_null (strstr (html, DETAIL_PRIVATE));
    //  Two of three public sites are not up: the summary says which.
    assert_non_null (strstr (html, "<p id=\"summary\" class=\"summary bad\">"
                                   "1 down · 1 unknown · 1 up</p>"));

    //  Without a list, every active site is public, the private one too.
    status_page_options_t every = { .title = NULL };
    char *all = status_page_render (self->store, &every, NOW_US);
    assert_non_null (all);
    assert_int_equal (s_count (all, NULL, "<li class=\"site\""), 4);
    char *private = s_site_element (all, self->shown [SITE_PRIVATE]);
    assert_non_null (strstr (private, "data-state=\"down\""));
    //  Its one up check (of two) is a short flat stroke, not an empty line.
    assert_non_null (strstr (private, "points=\"4.0,2.0 0.0,2.0\""));
    free (private);
    assert_non_null (strstr (all, DETAIL_PRIVATE));
    assert_non_null (strstr (all, "<title>Status</title>"));
    free (all);
}

//  Every text from the store or the config is escaped; a password and a
//  token never show.
static void
test_page_escapes_and_elides (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *html = s_render_public (self);
    //  The shown URL keeps <, >, &, quotes: escaped in text and attributes.
    assert_string_equal (self->shown [SITE_HOSTILE],
                         "https://***@hostile.example.com/a?q=<x>&k=\"y\"&n='z'&token=***");
    const char *escaped_url = "https://***@hostile.example.com/a?q=&lt;x&gt;&amp;k=&quot;y&quot;"
                              "&amp;n=&#39;z&#39;&amp;token=***";
    //  data-url and text of the site, of its open incident and of its recent one.
    assert_int_equal (s_count (html, NULL, escaped_url), 6);
    assert_null (strstr (html, "q=<x>"));
    assert_null (strstr (html, "k=\"y\""));
    assert_null (strstr (html, "s3cretpass"));
    assert_null (strstr (html, "abc123"));
    assert_null (strstr (html, "user:"));
    //  The detail, escaped; the raw one nowhere.
    assert_non_null (strstr (html, DETAIL_HOSTILE_ESCAPED));
    assert_null (strstr (html, "<script>alert"));
    //  The title too, in <title> and <h1>.
    assert_int_equal (s_count (html, NULL, "Test &lt;status&gt; &amp; co"), 2);
    //  Our own script is the only one.
    assert_int_equal (s_count (html, NULL, "<script"), 1);
}

//  90 blocks per site, coloured by uptime, titled with date and percent.
static void
test_page_has_ninety_days (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *html = s_render_public (self);
    for (int site = SITE_UP; site <= SITE_NEW; site++) {
        char *element = s_site_element (html, self->shown [site]);
        assert_int_equal (s_count (element, NULL, "<li class=\"day "), 90);
        free (element);
    }
    char *up = s_site_element (html, self->shown [SITE_UP]);
    assert_non_null (strstr (up, "<li class=\"day d-full\" title=\"2026-11-28: 100 %\""));
    assert_non_null (strstr (up, "<li class=\"day d-low\" title=\"2026-11-18: 75.00 %\" "
                                 "data-uptime=\"75.00\">"));
    //  59 days ago had checks, 60 days ago none: grey, "no data".
    assert_non_null (strstr (up, "<li class=\"day d-full\" title=\"2026-09-30: 100 %\""));
    assert_non_null (strstr (up, "<li class=\"day d-none\" title=\"2026-09-29: no data\">"));
    assert_int_equal (s_count (up, NULL, "d-none"), 30);
    assert_int_equal (s_count (up, NULL, "d-full"), 59);
    //  The first block is the oldest day (2026-08-31), the last today.
    const char *first = strstr (up, "<li class=\"day ");
    assert_non_null (first);
    assert_non_null (strstr (first, "2026-08-31"));
    assert_true (strstr (first, "2026-08-31") < strstr (first, "2026-11-28"));
    free (up);
}

//  An SVG polyline of the up checks, failures as ticks, the latest in words.
static void
test_page_has_sparklines (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *html = s_render_public (self);
    char *up = s_site_element (html, self->shown [SITE_UP]);
    assert_int_equal (s_count (up, NULL, "<svg class=\"sparkline\""), 1);
    const char *points = strstr (up, "<polyline");
    assert_non_null (points);
    points = strstr (points, "points=\"");
    assert_non_null (points);
    //  The latest 50 checks: days 1 to 10 ago (4 each, one down) and today's
    //  10.  49 up points, 48 spaces between them; the failure is a tick.
    const char *end = strchr (points + 8, '"');
    assert_int_equal (s_count (points + 8, end, " "), 48);
    assert_int_equal (s_count (up, NULL, "<line class=\"failed\""), 1);
    //  The highest (200 ms, the daily checks) at the top, the last point at the right.
    assert_non_null (strstr (points, "100.0,"));
    assert_non_null (strstr (up, "<span class=\"latest\">latest 123 ms</span>"));
    free (up);

    char *hostile = s_site_element (html, self->shown [SITE_HOSTILE]);
    assert_int_equal (s_count (hostile, NULL, "<line class=\"failed\""), 3);
    assert_non_null (strstr (hostile, "latest check failed"));
    free (hostile);
}

//  The open incident above the sites, the recent one below, the old and
//  the private ones nowhere.
static void
test_page_lists_incidents (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *html = s_render_public (self);
    const char *open_at = strstr (html, "<section id=\"open-incidents\">");
    const char *sites_at = strstr (html, "<section id=\"sites\">");
    const char *recent_at = strstr (html, "<section id=\"recent-incidents\">");
    assert_non_null (open_at);
    assert_non_null (sites_at);
    assert_non_null (recent_at);
    assert_true (open_at < sites_at && sites_at < recent_at);

    char *open = s_section (html, "open-incidents");
    assert_int_equal (s_count (open, NULL, "<li class=\"incident open\""), 1);
    assert_non_null (strstr (open, DETAIL_HOSTILE_ESCAPED));
    assert_non_null (strstr (open, "<span class=\"reason\" data-reason=\"timeout\">"
                                   "timed out</span>"));
    assert_non_null (strstr (open, "Down since <time datetime=\"2026-11-28T12:10:00Z\">"
                                   "2026-11-28 12:10 UTC</time> (for 20 min)"));
    free (open);

    char *recent = s_section (html, "recent-incidents");
    assert_int_equal (s_count (recent, NULL, "<li class=\"incident ended\""), 1);
    assert_non_null (strstr (recent, DETAIL_RECENT));
    assert_non_null (strstr (recent, "until <time datetime=\"2026-11-26T13:00:00Z\">"));
    assert_non_null (strstr (recent, "(30 min)"));
    free (recent);
    assert_null (strstr (html, DETAIL_OLD));
    assert_null (strstr (html, DETAIL_PRIVATE));
}

//  'sha256-BASE64' of the text between open and close in html.  Caller frees.
static char *
s_hash_between (const char *html, const char *open, const char *close)
{
    const char *start = strstr (html, open);
    assert_non_null (start);
    start += strlen (open);
    const char *end = strstr (start, close);
    assert_non_null (end);
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) start, (size_t) (end - start));
    char base64 [64];
    sodium_bin2base64 (base64, sizeof (base64), digest, sizeof (digest),
                       sodium_base64_VARIANT_ORIGINAL);
    char *hash = NULL;
    assert_true (asprintf (&hash, "'sha256-%s'", base64) > 0);
    return hash;
}

//  Nothing loaded from anywhere: no src or href to http(s), no link, img,
//  import or external url(); a phone viewport; works without JavaScript;
//  a policy that lets the browser run only our own style and script.
static void
test_page_is_self_contained (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *html = s_render_public (self);
    assert_true (strncmp (html, "<!DOCTYPE html>\n<html lang=\"en\">", 32) == 0);
    assert_non_null (strstr (html, "</html>\n"));
    assert_null (strstr (html, "src=\"http"));
    assert_null (strstr (html, "href=\"http"));
    assert_null (strstr (html, "src="));
    assert_null (strstr (html, "<link"));
    assert_null (strstr (html, "<img"));
    assert_null (strstr (html, "@import"));
    assert_null (strstr (html, "url("));
    assert_null (strstr (html, "//fonts"));
    assert_non_null (strstr (html, "<meta name=\"viewport\" content=\"width=device-width, "
                                   "initial-scale=1\">"));
    assert_non_null (strstr (html, "<meta http-equiv=\"refresh\" content=\"60\">"));
    assert_non_null (strstr (html, "<meta charset=\"utf-8\">"));
    //  One column below 600 px, more above.
    assert_non_null (strstr (html, ".sites{display:grid;grid-template-columns:1fr;"));
    assert_non_null (strstr (html, "@media (min-width:600px)"));
    //  The policy comes before anything it governs, and names the hashes of
    //  exactly the style and the script the page holds.
    const char *policy = strstr (html, "<meta http-equiv=\"Content-Security-Policy\" content=\""
                                       "default-src 'none'; style-src ");
    assert_non_null (policy);
    assert_true (policy < strstr (html, "<style>"));
    const char *policy_end = strchr (policy, '>');
    char *style = s_hash_between (html, "<style>", "</style>");
    char *script = s_hash_between (html, "<script>", "</script>");
    assert_true (strstr (policy, style) && strstr (policy, style) < policy_end);
    assert_true (strstr (policy, script) && strstr (policy, script) < policy_end);
    assert_true (strstr (policy, "connect-src 'self'") < policy_end);
    free (style);
    free (script);
    //  The only script listens to our own feed, and gives up without EventSource.
    assert_non_null (strstr (html, "new EventSource('/api/v1/feed')"));
    assert_non_null (strstr (html, "if(!window.EventSource"));
}

//  Every site public, and more of them than a page shows: those not up
//  are all shown (zz-499, down, too, last by URL), the summary counts
//  every one, the page says how many it left out.
static void
test_page_caps_the_sites (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    enum { EXTRA = STATUS_PAGE_SITES_MAX };
    const char *urls [SITE_COUNT + EXTRA];
    char (*extra) [64] = calloc (EXTRA, 64);
    assert_non_null (extra);
    uint64_t ids [SITE_COUNT + EXTRA];
    for (int site = 0; site < SITE_COUNT; site++)
        urls [site] = self->normal [site];
    for (int index = 0; index < EXTRA; index++) {
        snprintf (extra [index], 64, "https://zz-%03d.example.com/", index);
        urls [SITE_COUNT + index] = extra [index];
    }
    char error [256] = "";
    assert_int_equal (store_sync_sites (self->store, urls, NULL, SITE_COUNT + EXTRA, ids, error,
                                        sizeof (error)), 0);
    for (int index = 0; index < EXTRA; index++)
        s_send_alert_to (self, ids [SITE_COUNT + index], extra [index],
                         index == EXTRA - 1 ? SQ_STATE_DOWN : SQ_STATE_UP, NOW_US - HOUR_US, "");
    s_flush (self);

    status_page_options_t every = { .title = "Many" };
    free (self->html);
    self->html = status_page_render (self->store, &every, NOW_US);
    const char *html = self->html;
    assert_non_null (html);
    assert_int_equal (s_count (html, NULL, "<li class=\"site\""), STATUS_PAGE_SITES_MAX);
    //  The 4 not up are shown, then UP and the first 495 extra ones that are up.
    assert_int_equal (s_count (html, NULL, "data-state=\"down\""), 3);
    assert_int_equal (s_count (html, NULL, "data-state=\"unknown\""), 1);
    free (s_site_element (html, self->shown [SITE_UP]));
    assert_non_null (strstr (html, "data-state=\"up\" data-url=\"https://zz-494.example.com/\""));
    assert_null (strstr (html, "zz-495"));
    assert_null (strstr (html, "zz-498"));
    assert_non_null (strstr (html, "data-state=\"down\" data-url=\"https://zz-499.example.com/\""));
    assert_non_null (strstr (html, "class=\"summary bad\">3 down · 1 unknown · 500 up</p>"));
    assert_non_null (strstr (html, "<p class=\"muted\" id=\"sites-not-shown\">4 more sites "
                                   "are not shown"));
    //  And in URL order: hostile, new, private, up, zz-000, zz-499.
    const char *order [] = { "data-state=\"down\" data-url=\"https://***@hostile",
                             "data-state=\"unknown\" data-url=\"https://new.example.com/\"",
                             "data-state=\"down\" data-url=\"https://private.example.com/",
                             "data-state=\"up\" data-url=\"https://up.example.com/\"",
                             "data-state=\"up\" data-url=\"https://zz-000.example.com/\"",
                             "data-state=\"down\" data-url=\"https://zz-499.example.com/\"" };
    for (int index = 1; index < 6; index++) {
        assert_non_null (strstr (html, order [index]));
        assert_true (strstr (html, order [index - 1]) < strstr (html, order [index]));
    }
    free (extra);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_daily_uptime_from_rollups, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_latency_is_the_latest_checks_oldest_first,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_incidents_open_first_then_recent, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_holds_still, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_page_holds_public_sites_only, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_page_escapes_and_elides, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_page_has_ninety_days, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_page_has_sparklines, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_page_lists_incidents, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_page_is_self_contained, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_page_caps_the_sites, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
