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

//  url as it may be shown (logs, feed, JSON, mail, status): a user name or
//  password replaced by "***", every query value by "***" (names kept; a
//  part without '=' is all value), the
//  fragment dropped.  A URL libcurl cannot parse is shown as
//  "(unparseable URL)".  out: at least SQ_URL_MAX + 1 bytes to be whole.
void sq_url_shown (const char *url, char *out, size_t out_size);

//  A channel's URL (webhook, Slack, Discord) as it may be shown: scheme,
//  host and port only, "/***" for a path or query (their tokens are the
//  secret).  "(unparseable URL)" likewise.
void sq_url_shown_secret (const char *url, char *out, size_t out_size);

#endif
