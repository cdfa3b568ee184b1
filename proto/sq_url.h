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

//  url in its normal form, the one a site is checked as and stored as (its
//  identity): libcurl's reading of it, with the scheme and host in lower
//  case, an international host in its ASCII (punycode) form, no default
//  port (80 for http, 443 for https) and no fragment; user, path and query
//  as given, but for what libcurl itself changes before it sends a request
//  ("/a/../b" is "/b", an empty query is dropped).  Whatever the process's
//  locale.  0 with the normal form in out (at least SQ_URL_MAX + 1 bytes),
//  or -1 with a one-line reason in why: sq_url_check's, or a host that is
//  not a valid international domain name, or a normal form longer than
//  SQ_URL_MAX bytes.
int sq_url_normalise (const char *url, char *out, size_t out_size, char *why, size_t why_size);

//  url as it may be shown (logs, feed, JSON, mail, status): a user name or
//  password replaced by "***", the value of a query parameter whose name
//  marks a secret (token, key, secret, pass, pwd, auth, sig, session,
//  credential, jwt, in any case) by "***", as is a bare query part of 16
//  bytes or more; other values kept, so that sites told apart by their
//  query ("?site=3") stay apart when shown.  The fragment dropped.  A URL libcurl cannot parse is shown as
//  "(unparseable URL)".  out: at least SQ_URL_MAX + 1 bytes to be whole.
void sq_url_shown (const char *url, char *out, size_t out_size);

//  url as an error message may quote it: as written when it holds neither
//  '@' nor '?' (nothing secret can hide), else sq_url_shown's form when
//  libcurl parses it, else the text with its user name, password and query
//  replaced by "***".  Returns out (at least SQ_URL_MAX + 1 bytes).
const char *sq_url_quoted (const char *url, char *out, size_t out_size);

//  A channel's URL (webhook, Slack, Discord) as it may be shown: scheme,
//  host and port only, "/***" for a path or query (their tokens are the
//  secret).  "(unparseable URL)" likewise.
void sq_url_shown_secret (const char *url, char *out, size_t out_size);

#endif
