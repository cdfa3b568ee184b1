/*  api.c: see api.h.  JSON is built with jansson; every URL goes out
    through sq_url_shown.
*/
#include "api.h"
#include "sq_json.h"
#include "sq_url.h"
#include "store_api.h"

#include <czmq.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

//  The document as text, the caller's; the tree is released.
static char *
s_dump (json_t *root)
{
    char *text = json_dumps (root, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION (9));
    json_decref (root);
    assert (text);
    return text;
}

char *
api_error_json (const char *message, const char *where)
{
    json_t *root = json_pack ("{s:s}", "error", message ? message : "error");
    if (where)
        json_object_set_new (root, "where", json_string (where));
    return s_dump (root);
}

static json_t *
s_time (int64_t unix_us)
{
    if (unix_us <= 0)
        return json_null ();
    char text [40];
    sq_time_iso (unix_us, text, sizeof (text));
    return json_string (text);
}

static json_t *
s_shown_url (const char *url)
{
    char shown [SQ_URL_MAX + 1];
    sq_url_shown (url, shown, sizeof (shown));
    return json_string (shown);
}

static json_t *
s_percent (double value)
{
    return value < 0 ? json_null () : json_real (value);
}


//  --------------------------------------------------------------------------
//  Sites

typedef struct {
    json_t *list;               //  the sites gathered
    zhashx_t *api_urls;         //  URLs added through the API
} sites_t;

static void
s_api_url (const char *url, const char *body, void *arg)
{
    zhashx_insert ((zhashx_t *) arg, url, (void *) "api");
}

static void
s_site_row (const store_status_t *row, void *arg)
{
    sites_t *sites = (sites_t *) arg;
    json_t *site = json_object ();
    json_object_set_new (site, "id", json_integer ((json_int_t) row->id));
    json_object_set_new (site, "url", s_shown_url (row->url));
    json_object_set_new (site, "owner", row->owner [0] ? json_string (row->owner) : json_null ());
    json_object_set_new (site, "source", json_string (zhashx_lookup (sites->api_urls, row->url)
                                                      ? "api" : "file"));
    json_object_set_new (site, "state", json_string (sq_state_name (row->state)));
    json_object_set_new (site, "since", s_time (row->since_us));
    json_object_set_new (site, "last_check", s_time (row->last_check_us));
    json_object_set_new (site, "last_reason", row->last_check_us
                         ? json_string (sq_reason_name (row->last_reason)) : json_null ());
    json_object_set_new (site, "last_status", row->last_status
                         ? json_integer (row->last_status) : json_null ());
    json_object_set_new (site, "uptime", json_pack ("{s:o,s:o,s:o}",
                         "24h", s_percent (row->uptime_24h), "7d", s_percent (row->uptime_7d),
                         "30d", s_percent (row->uptime_30d)));
    json_object_set_new (site, "quorum_uptime", json_pack ("{s:o,s:o,s:o}",
                         "24h", s_percent (row->quorum_uptime_24h),
                         "7d", s_percent (row->quorum_uptime_7d),
                         "30d", s_percent (row->quorum_uptime_30d)));
    json_object_set_new (site, "open_incident", json_boolean (row->open_incident));
    json_array_append_new (sites->list, site);
}

//  The sites (all, or the one with url or id) as a JSON array, or NULL
//  when the store cannot be read.
static json_t *
s_sites (store_t *store, const char *url, uint64_t id, int64_t now_us)
{
    sites_t sites = { json_array (), zhashx_new () };
    assert (sites.api_urls);
    int rc = store_api_sites (store, s_api_url, sites.api_urls);
    //  One site: its row alone (reading every site's was 3.7 s at 100,000).
    uint64_t only = id ? id : url ? store_site_id (store, url) : 0;
    if (rc >= 0 && (id || url) && only == 0)
        rc = 0;                 //  no such site: an empty list
    else
    if (rc >= 0)
        rc = store_status_of (store, now_us, only, s_site_row, &sites);
    zhashx_destroy (&sites.api_urls);
    if (rc < 0) {
        json_decref (sites.list);
        return NULL;
    }
    return sites.list;
}

char *
api_sites_json (store_t *store, const char *url, int64_t now_us, int *status)
{
    char normal [SQ_URL_MAX + 1];
    if (url) {
        char why [SQ_TEXT_MAX];
        if (sq_url_normalise (url, normal, sizeof (normal), why, sizeof (why))) {
            *status = 400;
            return api_error_json (why, "url");
        }
    }
    json_t *list = s_sites (store, url ? normal : NULL, 0, now_us);
    if (!list) {
        *status = 503;
        return api_error_json ("cannot read the store", NULL);
    }
    *status = 200;
    return s_dump (json_pack ("{s:o}", "sites", list));
}

static void
s_region_row (const store_region_t *row, void *arg)
{
    json_array_append_new ((json_t *) arg, json_pack ("{s:s,s:s,s:s,s:o,s:{s:o,s:o,s:o}}",
        "region", row->region, "verdict", row->up ? "up" : "down",
        "reason", sq_reason_name (row->reason), "at", s_time (row->at_us),
        "uptime", "24h", s_percent (row->uptime_24h), "7d", s_percent (row->uptime_7d),
        "30d", s_percent (row->uptime_30d)));
}

static json_t *
s_result (const store_result_t *row)
{
    json_t *result = json_object ();
    json_object_set_new (result, "at", s_time (row->at_us));
    json_object_set_new (result, "up", json_boolean (row->up));
    json_object_set_new (result, "reason", json_string (sq_reason_name (row->reason)));
    json_object_set_new (result, "http_status", row->http_status
                         ? json_integer (row->http_status) : json_null ());
    json_object_set_new (result, "method", json_string (row->method == SQ_METHOD_GET ? "GET"
                                                                                    : "HEAD"));
    json_object_set_new (result, "pinger", json_string (row->pinger));
    json_object_set_new (result, "region", json_string (row->region));
    json_object_set_new (result, "timings_ms", json_pack ("{s:f,s:f,s:f,s:f,s:f,s:f}",
        "queue", row->queue_us / 1000.0, "dns", row->dns_us / 1000.0,
        "connect", row->connect_us / 1000.0, "tls", row->tls_us / 1000.0,
        "ttfb", row->ttfb_us / 1000.0, "total", row->total_us / 1000.0));
    json_object_set_new (result, "cert_expiry", row->cert_expiry > 0
                         ? s_time (row->cert_expiry * 1000000) : json_null ());
    json_object_set_new (result, "error", json_string (row->error));
    return result;
}

static void
s_result_row (const store_result_t *row, void *arg)
{
    json_array_append_new ((json_t *) arg, s_result (row));
}

char *
api_site_json (store_t *store, uint64_t id, int64_t now_us, int *status)
{
    json_t *list = s_sites (store, NULL, id, now_us);
    if (!list) {
        *status = 503;
        return api_error_json ("cannot read the store", NULL);
    }
    if (json_array_size (list) == 0) {
        json_decref (list);
        *status = 404;
        return api_error_json ("no such site", NULL);
    }
    json_t *site = json_incref (json_array_get (list, 0));
    json_decref (list);
    json_t *regions = json_array ();
    store_site_regions (store, id, now_us, s_region_row, regions);
    json_object_set_new (site, "regions", regions);
    json_t *last = json_array ();
    store_results (store, id, 0, 1, s_result_row, last);
    json_object_set (site, "last_result", json_array_size (last) ? json_array_get (last, 0)
                                                                 : json_null ());
    json_decref (last);
    *status = 200;
    return s_dump (site);
}

char *
api_results_json (store_t *store, uint64_t id, int64_t since_us, size_t limit, int *status)
{
    //  An active site is all this needs: not a status row, which costs
    //  every site's uptime.
    if (!store_site_active (store, id)) {
        *status = 404;
        return api_error_json ("no such site", NULL);
    }
    json_t *results = json_array ();
    store_results (store, id, since_us, limit, s_result_row, results);
    *status = 200;
    return s_dump (json_pack ("{s:I,s:o}", "site_id", (json_int_t) id, "results", results));
}


//  --------------------------------------------------------------------------
//  Incidents and alerts

static void
s_incident_row (const store_any_incident_t *row, void *arg)
{
    json_array_append_new ((json_t *) arg, json_pack ("{s:I,s:I,s:o,s:o,s:o,s:b,s:s,s:s}",
        "id", (json_int_t) row->id, "site_id", (json_int_t) row->site_id,
        "url", s_shown_url (row->url), "start", s_time (row->start_us),
        "end", row->end_us ? s_time (row->end_us) : json_null (), "open", row->end_us == 0,
        "reason", sq_reason_name (row->reason), "detail", row->detail));
}

char *
api_incidents_json (store_t *store, int64_t since_us, size_t limit, int *status)
{
    json_t *list = json_array ();
    if (store_all_incidents (store, since_us, limit, s_incident_row, list) < 0) {
        json_decref (list);
        *status = 503;
        return api_error_json ("cannot read the store", NULL);
    }
    *status = 200;
    return s_dump (json_pack ("{s:o}", "incidents", list));
}

static void
s_alert_row (const sq_alert_t *alert, void *arg)
{
    char *text = sq_alert_json (alert);
    json_t *object = text ? json_loads (text, 0, NULL) : NULL;
    free (text);
    if (object)
        json_array_append_new ((json_t *) arg, object);
}

char *
api_alerts_json (store_t *store, uint64_t since, size_t limit, int *status)
{
    json_t *list = json_array ();
    if (store_alerts (store, since, 0, limit, s_alert_row, list) < 0) {
        json_decref (list);
        *status = 503;
        return api_error_json ("cannot read the store", NULL);
    }
    *status = 200;
    return s_dump (json_pack ("{s:o}", "alerts", list));
}


//  --------------------------------------------------------------------------
//  Changes, and query values

char *
api_change (const char *endpoint, const char *verb, const char *id, const char *body,
            int wait_ms, int *status)
{
    zsock_t *request = zsock_new (ZMQ_REQ);
    assert (request);
    zsock_set_rcvtimeo (request, wait_ms);
    zsock_set_sndtimeo (request, wait_ms);
    char *reply_status = NULL, *reply_body = NULL;
    if (zsock_connect (request, "%s", endpoint) == 0
    &&  zstr_sendx (request, verb, id, body, NULL) == 0)
        zstr_recvx (request, &reply_status, &reply_body, NULL);
    zsock_destroy (&request);
    if (!reply_status || !reply_body) {
        zstr_free (&reply_status);
        zstr_free (&reply_body);
        *status = 503;
        return api_error_json ("the hub did not answer in time; the change may not be applied",
                               NULL);
    }
    *status = atoi (reply_status);
    if (*status < 200 || *status > 599)
        *status = 500;
    char *answer = strdup (reply_body);
    zstr_free (&reply_status);
    zstr_free (&reply_body);
    return answer;
}

int
api_parse_time (const char *text, int64_t *unix_us)
{
    char *end = NULL;
    errno = 0;
    long long seconds = strtoll (text, &end, 10);
    if (!errno && end != text && *end == 0 && seconds >= 0 && seconds < INT64_MAX / 1000000) {
        *unix_us = seconds * 1000000;
        return 0;
    }
    struct tm when = { 0 };
    const char *rest = strptime (text, "%Y-%m-%dT%H:%M:%S", &when);
    if (!rest) {
        memset (&when, 0, sizeof (when));
        rest = strptime (text, "%Y-%m-%dT%H:%M", &when);
    }
    if (!rest || strcmp (rest, "Z") != 0)
        return -1;
    time_t at = timegm (&when);
    if (at < 0)
        return -1;
    *unix_us = (int64_t) at * 1000000;
    return 0;
}
