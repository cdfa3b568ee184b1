/*  metrics_page.c: see metrics_page.h and docs/ARCHITECTURE.md, "Metrics".

    The text format wants every series of a family together, so the sites
    are read once (store_status, by URL) and each family is then written
    in turn.  Two sites may show the same URL once secrets are hidden
    (two users of one host: each user and password shows as ***), and a
    repeated label set is a scrape error: such sites get their id
    after the URL, as "URL#site=ID" (a shown URL never has a fragment, so
    this cannot meet a real one).

    Cost: one count by state; then, while the sites number at most
    http.metrics_sites, one status query plus one store_site_regions per
    site (which also works out each region's uptime, which this page does
    not need): good for thousands of sites, which is what the bound is for.
*/
#include "metrics_page.h"
#include "store_views.h"
#include "sq_metrics.h"
#include "sq_actor.h"
#include "sq_json.h"
#include "sq_url.h"

#include <string.h>

//  One site as the page shows it.
typedef struct {
    uint64_t id;                //  site id
    char *url;                  //  its url label value: shown, made unique (malloc'd)
    char *owner;                //  its owner, "" if none (malloc'd)
    sq_state_t state;           //  current state
} s_site_t;

//  What the callbacks write into.
typedef struct {
    s_site_t *sites;            //  every active site, by URL
    size_t count;               //  entries used
    size_t size;                //  entries allocated
    zhashx_t *by_id;            //  site id -> index + 1
    char *text;                 //  the page so far (sq_json_appendf)
    size_t length;              //  its length
    const s_site_t *current;    //  the site whose regions are being read
    int rc;                     //  -1 once memory ran out
} s_page_t;

static void
s_take_site (const store_status_t *row, void *arg)
{
    s_page_t *page = (s_page_t *) arg;
    if (page->count == page->size) {
        page->size = page->size ? page->size * 2 : 64;
        page->sites = (s_site_t *) realloc (page->sites, page->size * sizeof (s_site_t));
        assert (page->sites);
    }
    char shown [SQ_URL_MAX + 1];
    sq_url_shown (row->url, shown, sizeof (shown));
    s_site_t *site = &page->sites [page->count++];
    site->id = row->id;
    site->url = strdup (shown);
    site->owner = strdup (row->owner ? row->owner : "");
    site->state = row->state;
    assert (site->url && site->owner);
}

//  A URL shown alike for several sites gets each one's id after it.
static void
s_unique_urls (s_page_t *page)
{
    zhashx_t *seen = zhashx_new ();     //  shown URL -> how many sites show it
    assert (seen);
    for (size_t index = 0; index < page->count; index++) {
        uintptr_t times = (uintptr_t) zhashx_lookup (seen, page->sites [index].url);
        zhashx_update (seen, page->sites [index].url, (void *) (times + 1));
    }
    for (size_t index = 0; index < page->count; index++) {
        s_site_t *site = &page->sites [index];
        if ((uintptr_t) zhashx_lookup (seen, site->url) < 2)
            continue;
        char *unique = NULL;
        size_t length = 0;
        if (sq_json_appendf (&unique, &length, "%s#site=%llu", site->url,
                             (unsigned long long) site->id)) {
            free (unique);              //  out of memory: the label stays as it was
            continue;
        }
        free (site->url);
        site->url = unique;
    }
    zhashx_destroy (&seen);
}

//  `name{url="URL"` for site.
static int
s_open_series (s_page_t *page, const char *name, const s_site_t *site)
{
    int rc = sq_json_appendf (&page->text, &page->length, "%s{url=\"", name);
    rc = rc || sq_metrics_append_label (&page->text, &page->length, site->url);
    return rc || sq_json_appendf (&page->text, &page->length, "\"");
}

static void
s_take_region (const store_region_t *row, void *arg)
{
    s_page_t *page = (s_page_t *) arg;
    int rc = page->rc || s_open_series (page, "squirrel_site_up", page->current);
    rc = rc || sq_json_appendf (&page->text, &page->length, ",owner=\"");
    rc = rc || sq_metrics_append_label (&page->text, &page->length, page->current->owner);
    rc = rc || sq_json_appendf (&page->text, &page->length, "\",region=\"");
    rc = rc || sq_metrics_append_label (&page->text, &page->length, row->region ? row->region : "");
    rc = rc || sq_json_appendf (&page->text, &page->length, "\"} %d\n", row->up ? 1 : 0);
    if (rc)
        page->rc = -1;
}

static void
s_take_expiry (uint64_t site_id, int64_t expiry, void *arg)
{
    s_page_t *page = (s_page_t *) arg;
    uintptr_t index = (uintptr_t) zhashx_lookup (page->by_id, (void *) (uintptr_t) site_id);
    if (!index || page->rc)
        return;                 //  a site added since the status was read
    int rc = s_open_series (page, "squirrel_cert_expiry_timestamp_seconds",
                            &page->sites [index - 1]);
    rc = rc || sq_json_appendf (&page->text, &page->length, "} %lld\n", (long long) expiry);
    if (rc)
        page->rc = -1;
}

//  The store's families; 0, or -1 (store error or out of memory).
static int
s_append_sites (s_page_t *page, store_t *store, int64_t now_us, size_t max_sites)
{
    //  The counts first, in one statement: past the bound, nothing else
    //  of the store is read (no row, no URL, per site).
    uint64_t by_state [SQ_STATE_COUNT];
    long long total = store_state_counts (store, by_state);
    if (total < 0)
        return -1;
    int rc = sq_metrics_append_family (&page->text, &page->length, "squirrel_sites", "gauge",
                                       "Sites monitored, by their state across regions.");
    for (int state = 0; state < SQ_STATE_COUNT && rc == 0; state++)
        rc = sq_json_appendf (&page->text, &page->length, "squirrel_sites{state=\"%s\"} %llu\n",
                              sq_state_name ((sq_state_t) state),
                              (unsigned long long) by_state [state]);
    if (rc)
        return -1;
    if ((unsigned long long) total > max_sites)
        return sq_json_appendf (&page->text, &page->length, "# squirrel_site_up, "
                                "squirrel_site_state and squirrel_cert_expiry_timestamp_seconds "
                                "left out: %lld sites, more than http.metrics_sites (%zu)\n",
                                total, max_sites) ? -1 : 0;
    if (store_status (store, now_us, s_take_site, page) < 0)
        return -1;
    s_unique_urls (page);
    rc = sq_metrics_append_family (&page->text, &page->length, "squirrel_site_up", "gauge",
                                       "1 when the latest verdict kept from a region saw the "
                                       "site up, 0 when down; per region that checked it in "
                                       "the last 2 days (\"\" for pingers without a region).");
    for (size_t index = 0; index < page->count && rc == 0; index++) {
        page->current = &page->sites [index];
        if (store_site_regions (store, page->sites [index].id, now_us, s_take_region, page) < 0)
            return -1;
        rc = page->rc;
    }
    rc = rc || sq_metrics_append_family (&page->text, &page->length, "squirrel_site_state",
                                         "gauge", "The site's state across its regions: 1 for "
                                         "the state it is in, 0 for the others.");
    for (size_t index = 0; index < page->count && rc == 0; index++)
        for (int state = 0; state < SQ_STATE_COUNT && rc == 0; state++) {
            rc = s_open_series (page, "squirrel_site_state", &page->sites [index]);
            rc = rc || sq_json_appendf (&page->text, &page->length, ",state=\"%s\"} %d\n",
                                        sq_state_name ((sq_state_t) state),
                                        page->sites [index].state == (sq_state_t) state);
        }
    rc = rc || sq_metrics_append_family (&page->text, &page->length,
                                         "squirrel_cert_expiry_timestamp_seconds", "gauge",
                                         "When the certificate the site's latest kept check "
                                         "saw ends, in unix seconds.");
    if (rc)
        return -1;
    for (size_t index = 0; index < page->count; index++)
        zhashx_insert (page->by_id, (void *) (uintptr_t) page->sites [index].id,
                       (void *) (uintptr_t) (index + 1));
    if (store_cert_expiries (store, s_take_expiry, page) < 0)
        return -1;
    return page->rc;
}

char *
metrics_page_render (store_t *store, int64_t now_us, size_t max_sites)
{
    s_page_t page;
    memset (&page, 0, sizeof (page));
    page.by_id = sq_id_table_new (NULL);
    int rc = store ? s_append_sites (&page, store, now_us, max_sites) : 0;
    if (rc == 0) {
        char *registry = sq_metrics_text ();
        rc = registry ? sq_json_appendf (&page.text, &page.length, "%s", registry) : -1;
        free (registry);
    }
    if (rc) {
        zsys_error ("metrics: the page could not be made (%s)",
                    page.rc ? "out of memory" : "store not readable or out of memory");
        free (page.text);
        page.text = NULL;
    }
    for (size_t index = 0; index < page.count; index++) {
        free (page.sites [index].url);
        free (page.sites [index].owner);
    }
    free (page.sites);
    zhashx_destroy (&page.by_id);
    return page.text;
}
