/*  sq_url.h: which URLs UptimeSquirrel will check.
    Only http:// and https:// with a host, at most SQ_URL_MAX bytes.  The
    parsing is libcurl's URL API, so we judge a URL exactly as the pinger's
    libcurl will read it.
*/
#ifndef SQ_URL_H_INCLUDED
#define SQ_URL_H_INCLUDED

#include <stddef.h>

//  0 if url may be monitored; else -1 with a one-line reason in why.
int sq_url_check (const char *url, char *why, size_t why_size);

#endif
