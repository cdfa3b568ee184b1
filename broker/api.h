/*  api.h: the JSON of /api/v1, read from the store, and the change
    requests sent to the hub.

    Every function returns a JSON document the caller frees, and sets
    *status to the HTTP status that goes with it (200, or 400/404 with
    {"error": "..."}).  URLs are always shown through sq_url_shown:
    userinfo and secret-looking query values elided.

    The change protocol (REQ from an HTTP thread -> REP in the hub's main
    thread), one request, one reply, each a multipart message of strings:
        request  VERB ID BODY     VERB: POST, PATCH or DELETE; ID the site
                                  id ("" for POST); BODY a JSON object or ""
        reply    STATUS BODY      STATUS: "201", "200", "400", "404", "409",
                                  "503"; BODY the JSON answer
*/
#ifndef API_H_INCLUDED
#define API_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define API_LIMIT_DEFAULT       100     //  rows of a list when ?limit= is absent
#define API_LIMIT_MAX           10000   //  and at most

//  {"error": message} (and "where" when where is not NULL).
char *api_error_json (const char *message, const char *where);

//  GET /api/v1/sites[?url=URL]: every active site (or the one with that
//  URL, in any spelling of it).
char *api_sites_json (store_t *store, const char *url, int64_t now_us, int *status);

//  GET /api/v1/sites/ID: one site, with its regions and its last result.
char *api_site_json (store_t *store, uint64_t id, int64_t now_us, int *status);

//  GET /api/v1/sites/ID/results?since=&limit=: raw results, newest first.
char *api_results_json (store_t *store, uint64_t id, int64_t since_us, size_t limit,
                        int *status);

//  GET /api/v1/incidents?since=&limit=: open ones and those ended after since.
char *api_incidents_json (store_t *store, int64_t since_us, size_t limit, int *status);

//  GET /api/v1/alerts?since=SEQ&limit=: the alerts kept after seq, in order.
char *api_alerts_json (store_t *store, uint64_t since, size_t limit, int *status);

//  A change sent to the hub at endpoint; waits at most wait_ms.  The
//  reply's body, *status from its first frame (503 when the hub does not
//  answer).
char *api_change (const char *endpoint, const char *verb, const char *id, const char *body,
                  int wait_ms, int *status);

//  Parse a time given as a query value: unix seconds, or ISO 8601 such as
//  2026-11-28T16:00:00Z.  0 with *unix_us set, or -1.
int api_parse_time (const char *text, int64_t *unix_us);

#ifdef __cplusplus
}
#endif

#endif
