/*  metrics_page.h: the text of GET /metrics.

    The process's registry (sq_metrics.h) and, read from the store, the
    families about each site: whether each region sees it up, its state,
    its certificate's end.  URLs in labels are shown as sq_url_shown shows
    them: never a password or a token.
*/
#ifndef METRICS_PAGE_H_INCLUDED
#define METRICS_PAGE_H_INCLUDED

#include <stdint.h>
#include "store.h"

//  What the page is served as: Prometheus' text exposition format 0.0.4.
#define METRICS_PAGE_CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"

//  The page at now_us (unix µs), with HELP and TYPE lines for every
//  family; store may be NULL (then only the registry's families).  The
//  sites by state (squirrel_sites{state}) are always there; the per-site
//  families only while there are at most max_sites sites (a comment line
//  says when they are left out: at 1,000,000 sites they were 514 MB).  The
//  store is read through store_status, store_site_regions and
//  store_cert_expiries, on the caller's connection, which no other thread
//  may use meanwhile.  Returns the text (the caller's to free), or NULL
//  when the store could not be read (logged) or memory ran out: answer
//  500 rather than a page with sites missing.
char *metrics_page_render (store_t *store, int64_t now_us, size_t max_sites);

#endif
