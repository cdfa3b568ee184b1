/*  status_page.h: the public status page, served at `/` by the HTTP
    server.  One HTML5 document with its CSS inline and nothing loaded
    from anywhere else (no fonts, images or scripts; the charts are inline
    SVG and CSS), one column on a phone, whole without JavaScript.  A small
    inline script reloads the page when the alert feed (/api/v1/feed,
    Server-Sent Events) tells of a change to a site it shows; without
    JavaScript a meta refresh does the same every minute.

    What it shows, from the store: the open incidents; then each public
    site, STATUS_PAGE_SITES_MAX at most (those not up first; a line says
    how many were left out) (URL, state as text and colour, since when, uptime 24 h / 7 d /
    30 d, a 90-day bar of daily uptime, a sparkline of its latest response
    times); then the incidents that ended within 7 days.  Site URLs are
    shown through sq_url_shown (no user, password or token), and every
    text from the store is HTML-escaped.

    Stable hooks for tests and scripts: each site is
    <li class="site" id="site-ID" data-state="STATE" data-url="SHOWN URL">,
    with .state, .since, .uptime, ol.days > li.day (title "DATE: PERCENT"),
    svg.sparkline and .latest inside; incidents are li.incident (with
    .open or .ended) under #open-incidents and #recent-incidents.
*/
#ifndef STATUS_PAGE_H_INCLUDED
#define STATUS_PAGE_H_INCLUDED

#include "store.h"

#define STATUS_PAGE_REFRESH_S       60      //  meta refresh, seconds
#define STATUS_PAGE_INCIDENTS_MAX   50      //  incidents listed at most, open ones first
#define STATUS_PAGE_SITES_MAX       500     //  sites shown at most, those not up first
                                            //  (the summary counts every public site)

typedef struct {
    const char *title;          //  page title and heading; NULL or "" = "Status"
    const char *const *sites;   //  URLs of the public sites (as configured, any form
                                //  sq_url_normalise takes); ignored when site_count is 0
    size_t site_count;          //  0 = every active site is public
} status_page_options_t;

//  The page as of now_us (unix µs), read from store.  Only public sites
//  appear, and only their incidents: a site not listed is not named
//  anywhere on the page.  Returns the NUL-terminated HTML (caller frees
//  with free), or NULL when the store cannot be read (logged).
char *status_page_render (store_t *store, const status_page_options_t *options, int64_t now_us);

#endif
