/*  status_page.c: see status_page.h.

    Two steps: read the public sites (from store_status) and their
    incidents, then write the HTML into a memory stream, reading each
    site's days and latency just before it is written (so that memory
    grows with the sites by a small row each, not by their history).
    One statement steps at a time on the connection, and every read
    comes from one snapshot of the store (store_snapshot_begin).

    Everything that came from the store or the config goes out through
    s_text (HTML-escaped); URLs through sq_url_shown first.  Numbers and
    our own fixed words are written as they are.
*/
#include "status_page.h"
#include "store_views.h"
#include "sq_url.h"

#include <ctype.h>
#include <sodium.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_TITLE_DEFAULT     "Status"
#define S_WINDOWS           3           //  uptime windows: 24 h, 7 d, 30 d
#define S_SPARK_WIDTH       100         //  sparkline viewBox width
#define S_SPARK_HEIGHT      30          //  ... and height; the line keeps 2 units off each edge

//  One public site, copied out of its store_status row.
typedef struct {
    uint64_t id;                        //  site id
    char *url;                          //  the URL as shown (sq_url_shown); owned
    sq_state_t state;                   //  current state
    int64_t since_us;                   //  since when, unix µs (0 unknown)
    int64_t last_check_us;              //  latest check, unix µs (0 never)
    double uptime [S_WINDOWS];          //  percent over 24 h, 7 d, 30 d; -1 no checks
} s_site_t;

//  A site's history, read just before the site is written.
typedef struct {
    store_day_t days [STORE_VIEW_DAYS]; //  daily uptime, oldest first
    store_latency_t latency [STORE_VIEW_LATENCY_POINTS];   //  latest checks, oldest first
    int latency_count;                  //  how many of latency are filled
} s_history_t;

//  One incident of a public site, copied out of its row.
typedef struct {
    char url [SQ_URL_MAX + 1];          //  its site's URL as shown
    int64_t start_us;                   //  went down
    int64_t end_us;                     //  came back; 0 while open
    sq_reason_t reason;                 //  why
    char *detail;                       //  its detail (owned)
} s_incident_t;

//  What the page shows, read before anything is written.
typedef struct {
    char **public;                      //  public URLs in normal form (or as given when
                                        //  they do not parse), sorted; NULL = every site
    size_t public_count;                //  entries of public
    s_site_t *sites;                    //  public sites shown, by URL
    size_t site_count;                  //  entries of sites
    size_t site_room;                   //  entries allocated
    size_t site_total;                  //  public sites, shown or not
    size_t counts [SQ_STATE_COUNT];     //  public sites by state, shown or not
    s_incident_t incidents [STATUS_PAGE_INCIDENTS_MAX];    //  open ones first
    size_t incident_count;              //  entries of incidents
} s_page_t;


//  ---------------------------------------------------------------------
//  Reading

static int
s_compare_text (const void *one, const void *two)
{
    return strcmp (*(char *const *) one, *(char *const *) two);
}

static bool
s_is_public (const s_page_t *page, const char *url)
{
    return !page->public
        || bsearch (&url, page->public, page->public_count, sizeof (char *), s_compare_text);
}

static void
s_take_site (const store_status_t *row, void *arg)
{
    s_page_t *page = (s_page_t *) arg;
    if (!s_is_public (page, row->url))
        return;
    page->site_total++;
    page->counts [row->state]++;
    if (page->site_count == page->site_room) {
        page->site_room = page->site_room ? page->site_room * 2 : 16;
        page->sites = (s_site_t *) realloc (page->sites, page->site_room * sizeof (s_site_t));
        assert (page->sites);
    }
    s_site_t *site = &page->sites [page->site_count++];
    memset (site, 0, sizeof (*site));
    site->id = row->id;
    char shown [SQ_URL_MAX + 1];
    sq_url_shown (row->url, shown, sizeof (shown));
    site->url = strdup (shown);
    assert (site->url);
    site->state = row->state;
    site->since_us = row->since_us;
    site->last_check_us = row->last_check_us;
    site->uptime [0] = row->uptime_24h;
    site->uptime [1] = row->uptime_7d;
    site->uptime [2] = row->uptime_30d;
}

static void
s_take_incident (const store_incident_row_t *row, void *arg)
{
    s_page_t *page = (s_page_t *) arg;
    if (page->incident_count == STATUS_PAGE_INCIDENTS_MAX || !s_is_public (page, row->url))
        return;
    s_incident_t *incident = &page->incidents [page->incident_count++];
    sq_url_shown (row->url, incident->url, sizeof (incident->url));
    incident->start_us = row->start_us;
    incident->end_us = row->end_us;
    incident->reason = row->reason;
    incident->detail = strdup (row->detail);
    assert (incident->detail);
}

//  Sites not up first, then by URL.
static int
s_compare_worst_first (const void *one, const void *two)
{
    const s_site_t *first = (const s_site_t *) one, *second = (const s_site_t *) two;
    bool first_up = first->state == SQ_STATE_UP, second_up = second->state == SQ_STATE_UP;
    if (first_up != second_up)
        return first_up ? 1 : -1;
    return strcmp (first->url, second->url);
}

static int
s_compare_url (const void *one, const void *two)
{
    return strcmp (((const s_site_t *) one)->url, ((const s_site_t *) two)->url);
}

//  Keep STATUS_PAGE_SITES_MAX sites at most, those not up first, in URL
//  order.  Without a list of public sites every site is public, and a
//  large fleet would make a page of hundreds of megabytes.
static void
s_page_trim (s_page_t *page)
{
    if (page->site_count <= STATUS_PAGE_SITES_MAX)
        return;
    qsort (page->sites, page->site_count, sizeof (s_site_t), s_compare_worst_first);
    for (size_t index = STATUS_PAGE_SITES_MAX; index < page->site_count; index++)
        free (page->sites [index].url);
    page->site_count = STATUS_PAGE_SITES_MAX;
    qsort (page->sites, page->site_count, sizeof (s_site_t), s_compare_url);
}

static void
s_page_free (s_page_t *page)
{
    for (size_t index = 0; index < page->public_count; index++)
        free (page->public [index]);
    free (page->public);
    for (size_t index = 0; index < page->site_count; index++)
        free (page->sites [index].url);
    free (page->sites);
    for (size_t index = 0; index < page->incident_count; index++)
        free (page->incidents [index].detail);
    free (page);
}

//  Read everything the page shows.  NULL when the store cannot be read.
static s_page_t *
s_page_read (store_t *store, const status_page_options_t *options, int64_t now_us)
{
    s_page_t *page = (s_page_t *) calloc (1, sizeof (s_page_t));
    assert (page);
    if (options && options->sites && options->site_count > 0) {
        page->public = (char **) calloc (options->site_count, sizeof (char *));
        assert (page->public);
        for (size_t index = 0; index < options->site_count; index++) {
            const char *given = options->sites [index] ? options->sites [index] : "";
            char normal [SQ_URL_MAX + 1];
            char why [SQ_TEXT_MAX];
            if (sq_url_normalise (given, normal, sizeof (normal), why, sizeof (why)))
                snprintf (normal, sizeof (normal), "%s", given);
            page->public [index] = strdup (normal);
            assert (page->public [index]);
            page->public_count++;
        }
        qsort (page->public, page->public_count, sizeof (char *), s_compare_text);
    }
    if (store_status (store, now_us, s_take_site, page) < 0)
        goto failed;
    uint64_t *ids = (uint64_t *) calloc (page->site_count + 1, sizeof (uint64_t));
    assert (ids);
    for (size_t index = 0; index < page->site_count; index++)
        ids [index] = page->sites [index].id;
    //  Only the public sites' incidents: an empty list asks for none.
    int rc = store_incidents_recent (store, now_us - STORE_VIEW_INCIDENT_WINDOW_US,
                                     page->public ? ids : NULL, page->site_count,
                                     STATUS_PAGE_INCIDENTS_MAX, s_take_incident, page);
    free (ids);
    if (rc < 0)
        goto failed;
    s_page_trim (page);
    return page;

failed:
    zsys_error ("status page: cannot read the store");
    s_page_free (page);
    return NULL;
}


//  ---------------------------------------------------------------------
//  Words and numbers

//  text, HTML-escaped: safe in element content and in quoted attributes.
static void
s_text (FILE *out, const char *text)
{
    for (const char *at = text; *at; at++)
        switch (*at) {
            case '&':  fputs ("&amp;", out); break;
            case '<':  fputs ("&lt;", out); break;
            case '>':  fputs ("&gt;", out); break;
            case '"':  fputs ("&quot;", out); break;
            case '\'': fputs ("&#39;", out); break;
            default:   fputc (*at, out);
        }
}

//  "2026-11-28 15:40 UTC" (with_time) or "2026-11-28"; ISO 8601 into iso
//  (for <time datetime>) when not NULL.
static void
s_format_time (int64_t at_us, bool with_time, char *text, size_t text_size,
               char *iso, size_t iso_size)
{
    time_t seconds = (time_t) (at_us / 1000000);
    struct tm parts;
    if (!gmtime_r (&seconds, &parts))
        memset (&parts, 0, sizeof (parts));
    strftime (text, text_size, with_time ? "%Y-%m-%d %H:%M UTC" : "%Y-%m-%d", &parts);
    if (iso)
        strftime (iso, iso_size, "%Y-%m-%dT%H:%M:%SZ", &parts);
}

//  <time datetime="ISO">TEXT</time>
static void
s_time (FILE *out, int64_t at_us)
{
    char text [64], iso [64];
    s_format_time (at_us, true, text, sizeof (text), iso, sizeof (iso));
    fprintf (out, "<time datetime=\"%s\">%s</time>", iso, text);
}

//  A span of time in its two largest units: "3 d 4 h", "2 h 5 min", "40 s".
static void
s_duration (FILE *out, int64_t span_us)
{
    int64_t seconds = span_us > 0 ? span_us / 1000000 : 0;
    int64_t days = seconds / 86400, hours = seconds / 3600 % 24, minutes = seconds / 60 % 60;
    if (days)
        fprintf (out, "%" PRId64 " d %" PRId64 " h", days, hours);
    else
    if (hours)
        fprintf (out, "%" PRId64 " h %" PRId64 " min", hours, minutes);
    else
    if (minutes)
        fprintf (out, "%" PRId64 " min", minutes);
    else
        fprintf (out, "%" PRId64 " s", seconds);
}

//  A percentage cut (not rounded) to two decimals, so that 99.999 % does
//  not read as 100 %; "no data" for -1.
static void
s_percent (FILE *out, double percent)
{
    if (percent < 0)
        fputs ("no data", out);
    else
    if (percent >= 100)
        fputs ("100 %", out);
    else
        fprintf (out, "%.2f %%", floor (percent * 100) / 100);
}

//  A response time: "850 µs", "8.5 ms", "123 ms", "2.4 s".
static void
s_milliseconds (FILE *out, uint64_t total_us)
{
    double ms = (double) total_us / 1000.0;
    if (ms < 1)
        fprintf (out, "%" PRIu64 " µs", total_us);
    else
    if (ms < 10)
        fprintf (out, "%.1f ms", ms);
    else
    if (ms < 1000)
        fprintf (out, "%.0f ms", ms);
    else
        fprintf (out, "%.1f s", ms / 1000);
}

//  A reason in words for the public, by sq_reason_t.
static const char *s_reason_words [SQ_REASON_COUNT] = {
    "up", "name did not resolve", "connection failed", "TLS failed", "timed out",
    "unexpected HTTP status", "keyword missing", "too slow", "too many redirects",
    "not a valid HTTP answer"
};
_Static_assert (SQ_REASON_COUNT == 10, "a word for every reason");

//  The CSS class of a day by its uptime.
static const char *
s_day_class (double uptime)
{
    if (uptime < 0)
        return "d-none";
    if (uptime >= 99.9)
        return "d-full";
    if (uptime >= 99)
        return "d-high";
    if (uptime >= 95)
        return "d-mid";
    return "d-low";
}


//  ---------------------------------------------------------------------
//  Writing

static const char *s_style =
    ":root{--bg:#f6f8fa;--card:#fff;--text:#1f2328;--muted:#59636e;--line:#d1d9e0;"
    "--up:#1a7f37;--down:#cf222e;--degraded:#bc4c00;--suspect:#9a6700;--unknown:#6e7781;"
    "--unmonitored:#8250df;--none:#d1d9e0}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--text:#e6edf3;"
    "--muted:#9198a1;--line:#3d444d;--none:#3d444d}}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--text);"
    "font:16px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}"
    "header,main,footer{max-width:60rem;margin:0 auto;padding:0 1rem}"
    "header{padding-top:1.25rem}"
    "h1{font-size:1.6rem;margin:0 0 .5rem}"
    "h2{font-size:1.15rem;margin:1.5rem 0 .5rem}"
    ".summary{margin:0;padding:.75rem 1rem;border-radius:.5rem;color:#fff;font-weight:600}"
    ".summary.ok{background:var(--up)}.summary.bad{background:var(--down)}"
    ".summary.warn{background:var(--degraded)}.summary.empty{background:var(--unknown)}"
    "ul{list-style:none;margin:0;padding:0}"
    ".sites{display:grid;grid-template-columns:1fr;gap:.75rem}"
    "@media (min-width:600px){.sites{grid-template-columns:repeat(auto-fill,minmax(26rem,1fr))}}"
    ".site,.incident{background:var(--card);border:1px solid var(--line);border-radius:.5rem;"
    "padding:.75rem 1rem;min-width:0}"
    ".site .head{display:flex;gap:.5rem;align-items:baseline;justify-content:space-between}"
    ".url{font-weight:600;overflow-wrap:anywhere;min-width:0}"
    ".state{flex:none;padding:.05rem .55rem;border-radius:1rem;color:#fff;font-size:.85rem;"
    "font-weight:600}"
    ".state-up{background:var(--up)}.state-down{background:var(--down)}"
    ".state-degraded{background:var(--degraded)}.state-suspect{background:var(--suspect)}"
    ".state-unknown{background:var(--unknown)}.state-unmonitored{background:var(--unmonitored)}"
    ".since,.muted,footer{color:var(--muted);font-size:.875rem}"
    ".since{margin:.25rem 0 .5rem}"
    ".uptime{display:flex;gap:1.25rem;margin:0 0 .5rem}"
    ".uptime div{display:flex;flex-direction:column}"
    ".uptime dt{color:var(--muted);font-size:.8rem}.uptime dd{margin:0;font-weight:600}"
    ".days{display:grid;grid-auto-flow:column;grid-auto-columns:1fr;gap:1px;height:1.75rem;"
    "margin:0;padding:0;list-style:none}"
    ".day{border-radius:1px;min-width:0}"
    ".d-full{background:var(--up)}.d-high{background:#7cb342}.d-mid{background:#d4a72c}"
    ".d-low{background:var(--down)}.d-none{background:var(--none)}"
    ".axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.75rem;"
    "margin:.15rem 0 .5rem}"
    ".latency{display:flex;align-items:center;gap:.75rem}"
    ".sparkline{flex:1;min-width:0;height:2rem;color:var(--up)}"
    ".sparkline .failed{stroke:var(--down)}"
    ".latest{flex:none;font-size:.875rem}"
    ".incident{margin-bottom:.5rem}.incident.open{border-left:.3rem solid var(--down)}"
    ".incident.ended{border-left:.3rem solid var(--unknown)}"
    ".incident p{margin:.2rem 0;overflow-wrap:anywhere}"
    "footer{padding-top:1.5rem;padding-bottom:2rem}";

//  Reload when the feed tells of a change to a site on this page that
//  happened after the page was made (a replayed older alert is already
//  shown, and would otherwise reload the page in a loop).  Without
//  JavaScript or EventSource, nothing: the meta refresh does the work.
static const char *s_script =
    "(function(){"
    "if(!window.EventSource||!window.JSON||!document.querySelectorAll)return;"
    "var made=Number(document.body.getAttribute('data-generated-ms')),shown={},waiting=false;"
    "var sites=document.querySelectorAll('li.site');"
    "for(var i=0;i<sites.length;i++)shown[sites[i].getAttribute('data-url')]=true;"
    "function take(event){var alert;try{alert=JSON.parse(event.data);}catch(e){return;}"
    "if(!alert||!shown[alert.url])return;"
    "var at=Date.parse(alert.at);if(at&&at<=made)return;"
    "if(!waiting){waiting=true;setTimeout(function(){location.reload();},1000);}}"
    "var feed=new EventSource('/api/v1/feed');"
    "feed.onmessage=take;feed.addEventListener('alert',take);"
    "document.body.setAttribute('data-live','on');"
    "})();";

//  'sha256-BASE64' of text, for the page's Content-Security-Policy.
static void
s_csp_hash (const char *text, char *out, size_t out_size)
{
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) text, strlen (text));
    char base64 [sodium_base64_ENCODED_LEN (crypto_hash_sha256_BYTES,
                                            sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64 (base64, sizeof (base64), digest, sizeof (digest),
                       sodium_base64_VARIANT_ORIGINAL);
    snprintf (out, out_size, "'sha256-%s'", base64);
}

//  The page's own policy, first in <head>: nothing from anywhere (default
//  'none'), only our style and our script by their hashes, connections
//  only back to us (the feed).  Should an escaping mistake ever let a
//  <script> in, the browser refuses to run it.
static void
s_write_policy (FILE *out)
{
    char style [64], script [64];
    s_csp_hash (s_style, style, sizeof (style));
    s_csp_hash (s_script, script, sizeof (script));
    fprintf (out, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                  "style-src %s; script-src %s; connect-src 'self'; base-uri 'none'; "
                  "form-action 'none'\">\n", style, script);
}

static void
s_write_summary (FILE *out, const s_page_t *page)
{
    const size_t *counts = page->counts;
    if (page->site_total == 0) {
        fputs ("<p id=\"summary\" class=\"summary empty\">No sites to show.</p>\n", out);
        return;
    }
    if (counts [SQ_STATE_UP] == page->site_total) {
        fprintf (out, "<p id=\"summary\" class=\"summary ok\">All %zu %s up.</p>\n",
                 page->site_total, page->site_total == 1 ? "site" : "sites");
        return;
    }
    fprintf (out, "<p id=\"summary\" class=\"summary %s\">",
             counts [SQ_STATE_DOWN] ? "bad" : "warn");
    //  The worst states first.
    const sq_state_t order [] = { SQ_STATE_DOWN, SQ_STATE_DEGRADED, SQ_STATE_SUSPECT,
                                  SQ_STATE_UNMONITORED, SQ_STATE_UNKNOWN, SQ_STATE_UP };
    const char *separator = "";
    for (size_t index = 0; index < sizeof (order) / sizeof (order [0]); index++)
        if (counts [order [index]]) {
            fprintf (out, "%s%zu %s", separator, counts [order [index]],
                     sq_state_name (order [index]));
            separator = " · ";
        }
    fputs ("</p>\n", out);
}

static void
s_write_incident (FILE *out, const s_incident_t *incident, int64_t now_us)
{
    bool open = incident->end_us == 0;
    fprintf (out, "<li class=\"incident %s\" data-url=\"", open ? "open" : "ended");
    s_text (out, incident->url);
    fputs ("\">\n<p class=\"url\">", out);
    s_text (out, incident->url);
    fprintf (out, "</p>\n<p>Down since ");
    s_time (out, incident->start_us);
    if (open) {
        fputs (" (for ", out);
        s_duration (out, now_us - incident->start_us);
        fputs (")", out);
    }
    else {
        fputs (" until ", out);
        s_time (out, incident->end_us);
        fputs (" (", out);
        s_duration (out, incident->end_us - incident->start_us);
        fputs (")", out);
    }
    fprintf (out, "</p>\n<p class=\"muted\"><span class=\"reason\" data-reason=\"%s\">%s"
                  "</span>", sq_reason_name (incident->reason), s_reason_words [incident->reason]);
    if (*incident->detail) {
        fputs (": <span class=\"detail\">", out);
        s_text (out, incident->detail);
        fputs ("</span>", out);
    }
    fputs ("</p>\n</li>\n", out);
}

static void
s_write_incidents (FILE *out, const s_page_t *page, bool open, int64_t now_us)
{
    if (open)
        fputs ("<section id=\"open-incidents\">\n<h2>Open incidents</h2>\n", out);
    else
        fputs ("<section id=\"recent-incidents\">\n<h2>Recent incidents (7 days)</h2>\n", out);
    size_t written = 0;
    for (size_t index = 0; index < page->incident_count; index++) {
        const s_incident_t *incident = &page->incidents [index];
        if ((incident->end_us == 0) != open)
            continue;
        if (written++ == 0)
            fputs ("<ul>\n", out);
        s_write_incident (out, incident, now_us);
    }
    if (written)
        fputs ("</ul>\n", out);
    else
        fprintf (out, "<p class=\"muted none\">%s</p>\n",
                 open ? "No open incidents." : "No incidents in the last 7 days.");
    fputs ("</section>\n", out);
}

//  The 90 days, oldest first, one block each.
static void
s_write_days (FILE *out, const s_history_t *history)
{
    fprintf (out, "<ol class=\"days\" aria-label=\"Uptime per day, last %d days\">",
             STORE_VIEW_DAYS);
    for (size_t index = 0; index < STORE_VIEW_DAYS; index++) {
        const store_day_t *day = &history->days [index];
        char date [32];
        s_format_time (day->day * 86400 * INT64_C (1000000), false, date, sizeof (date), NULL, 0);
        fprintf (out, "<li class=\"day %s\" title=\"%s: ", s_day_class (day->uptime), date);
        s_percent (out, day->uptime);
        if (day->checks > 0)
            fprintf (out, "\" data-uptime=\"%.2f\"></li>", floor (day->uptime * 100) / 100);
        else
            fputs ("\"></li>", out);
    }
    fprintf (out, "</ol>\n<div class=\"axis\" aria-hidden=\"true\"><span>%d days ago</span>"
                  "<span>today</span></div>\n", STORE_VIEW_DAYS);
}

//  The latest checks as a line of their times (up checks only: a failed
//  check's time is its timeout) with a red tick below each failure, and
//  the latest check's time in words.
static void
s_write_latency (FILE *out, const s_history_t *history)
{
    int count = history->latency_count;
    if (count == 0) {
        fputs ("<div class=\"latency\"><span class=\"latest muted\">No checks yet</span></div>\n",
               out);
        return;
    }
    uint64_t highest = 1;
    int ups = 0;
    for (int index = 0; index < count; index++)
        if (history->latency [index].up) {
            ups++;
            if (history->latency [index].total_us > highest)
                highest = history->latency [index].total_us;
        }
    fprintf (out, "<div class=\"latency\"><svg class=\"sparkline\" viewBox=\"0 0 %d %d\" "
                  "preserveAspectRatio=\"none\" role=\"img\" aria-label=\"Response time of the "
                  "last %d checks, up to ", S_SPARK_WIDTH, S_SPARK_HEIGHT, count);
    s_milliseconds (out, highest);
    fputs ("\">", out);
    //  x by position (one check apart is one step), y scaled to the highest.
    double step = count > 1 ? (double) S_SPARK_WIDTH / (count - 1) : 0;
    double span = S_SPARK_HEIGHT - 4;
    fputs ("<polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" "
           "vector-effect=\"non-scaling-stroke\" stroke-linejoin=\"round\" points=\"", out);
    int drawn = 0;
    for (int index = 0; index < count; index++) {
        const store_latency_t *point = &history->latency [index];
        if (!point->up)
            continue;
        double x = count > 1 ? index * step : S_SPARK_WIDTH;
        double y = 2 + span - span * (double) point->total_us / (double) highest;
        //  A lone up check gets a short flat stroke, so that it shows.
        if (ups == 1)
            fprintf (out, "%.1f,%.1f ", x >= 4 ? x - 4 : x + 4, y);
        fprintf (out, "%s%.1f,%.1f", drawn++ ? " " : "", x, y);
    }
    fputs ("\"/>", out);
    for (int index = 0; index < count; index++)
        if (!history->latency [index].up) {
            double x = count > 1 ? index * step : S_SPARK_WIDTH - 1;
            fprintf (out, "<line class=\"failed\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                          "stroke-width=\"2\" vector-effect=\"non-scaling-stroke\"/>",
                     x, S_SPARK_HEIGHT - 6, x, S_SPARK_HEIGHT);
        }
    const store_latency_t *latest = &history->latency [count - 1];
    fputs ("</svg><span class=\"latest\">", out);
    if (latest->up) {
        fputs ("latest ", out);
        s_milliseconds (out, latest->total_us);
    }
    else
        fputs ("latest check failed", out);
    fputs ("</span></div>\n", out);
}

static void
s_write_site (FILE *out, const s_site_t *site, const s_history_t *history, int64_t now_us)
{
    const char *state = sq_state_name (site->state);
    fprintf (out, "<li class=\"site\" id=\"site-%" PRIu64 "\" data-state=\"%s\" data-url=\"",
             site->id, state);
    s_text (out, site->url);
    fputs ("\">\n<div class=\"head\"><span class=\"url\">", out);
    s_text (out, site->url);
    fprintf (out, "</span><span class=\"state state-%s\">%s</span></div>\n", state, state);
    fputs ("<p class=\"since\">", out);
    if (site->last_check_us == 0 && site->state == SQ_STATE_UNKNOWN)
        fputs ("Not checked yet", out);
    else
    if (site->since_us > 0) {
        fprintf (out, "%c%s since ", toupper ((unsigned char) state [0]), state + 1);
        s_time (out, site->since_us);
        fputs (" (", out);
        s_duration (out, now_us - site->since_us);
        fputs (")", out);
    }
    else
        fprintf (out, "%c%s, since an unknown time", toupper ((unsigned char) state [0]),
                 state + 1);
    fputs ("</p>\n<dl class=\"uptime\">", out);
    const char *windows [S_WINDOWS] = { "24 h", "7 d", "30 d" };
    for (int window = 0; window < S_WINDOWS; window++) {
        fprintf (out, "<div><dt>%s</dt><dd>", windows [window]);
        s_percent (out, site->uptime [window]);
        fputs ("</dd></div>", out);
    }
    fputs ("</dl>\n", out);
    s_write_days (out, history);
    s_write_latency (out, history);
    fputs ("</li>\n", out);
}

//  0, or -1 when a site's history cannot be read.
static int
s_write_page (FILE *out, store_t *store, const s_page_t *page, const char *title,
              int64_t now_us)
{
    fputs ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", out);
    s_write_policy (out);
    fputs ("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", out);
    fprintf (out, "<meta http-equiv=\"refresh\" content=\"%d\">\n<title>", STATUS_PAGE_REFRESH_S);
    s_text (out, title);
    fprintf (out, "</title>\n<style>%s</style>\n</head>\n", s_style);
    fprintf (out, "<body data-generated-ms=\"%" PRId64 "\">\n<header>\n<h1>", now_us / 1000);
    s_text (out, title);
    fputs ("</h1>\n", out);
    s_write_summary (out, page);
    fputs ("</header>\n<main>\n", out);
    s_write_incidents (out, page, true, now_us);
    fputs ("<section id=\"sites\">\n<h2>Sites</h2>\n<ul class=\"sites\">\n", out);
    s_history_t *history = (s_history_t *) malloc (sizeof (s_history_t));
    assert (history);
    for (size_t index = 0; index < page->site_count; index++) {
        const s_site_t *site = &page->sites [index];
        history->latency_count = store_latency (store, site->id, history->latency,
                                                STORE_VIEW_LATENCY_POINTS);
        if (history->latency_count < 0
        ||  store_daily_uptime (store, site->id, now_us, history->days, STORE_VIEW_DAYS) < 0) {
            free (history);
            return -1;
        }
        s_write_site (out, site, history, now_us);
    }
    free (history);
    fputs ("</ul>\n", out);
    if (page->site_total > page->site_count)
        fprintf (out, "<p class=\"muted\" id=\"sites-not-shown\">%zu more sites are not shown: "
                      "this page shows %d at most, those not up first.</p>\n",
                 page->site_total - page->site_count, STATUS_PAGE_SITES_MAX);
    fputs ("</section>\n", out);
    s_write_incidents (out, page, false, now_us);
    fputs ("</main>\n<footer>Updated ", out);
    s_time (out, now_us);
    fprintf (out, "; this page refreshes every minute. Days are UTC days; the line is the "
                  "response time of the latest %d checks.</footer>\n", STORE_VIEW_LATENCY_POINTS);
    fprintf (out, "<script>%s</script>\n</body>\n</html>\n", s_script);
    return 0;
}

char *
status_page_render (store_t *store, const status_page_options_t *options, int64_t now_us)
{
    assert (store);
    if (sodium_init () < 0) {
        zsys_error ("status page: libsodium cannot start");
        return NULL;
    }
    if (store_snapshot_begin (store))
        return NULL;
    s_page_t *page = s_page_read (store, options, now_us);
    if (!page) {
        store_snapshot_end (store);
        return NULL;
    }
    const char *title = options && options->title && *options->title
                      ? options->title : S_TITLE_DEFAULT;
    char *html = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&html, &size);
    assert (out);
    bool failed = s_write_page (out, store, page, title, now_us) != 0 || ferror (out) != 0;
    store_snapshot_end (store);
    fclose (out);
    s_page_free (page);
    if (failed) {
        zsys_error ("status page: cannot read a site's history, or out of memory");
        free (html);
        return NULL;
    }
    return html;
}
