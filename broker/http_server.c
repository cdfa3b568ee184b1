/*  http_server.c: see http_server.h.

    libmicrohttpd calls s_answer several times per request: once with the
    headers (we make the request's record, and refuse at once a body
    announced over the limit), once per piece of body (kept up to
    HTTP_BODY_MAX, then only counted), and once at the end, when s_route
    answers.  Each connection has its own thread, so an answer may block
    (the hub applying a change, a long scrape, the feed waiting for an
    alert) without holding up another client; the connection limit bounds
    the threads.
*/
#include "http_server.h"
#include "api.h"
#include "metrics_page.h"
#include "status_page.h"
#include "sq_actor.h"
#include "sq_json.h"
#include "sq_wire.h"
#include "store.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

#define S_FEED_POLL_MS      500     //  the feed looks at `stopping` this often
#define S_FEED_CATCH_UP     1000    //  alerts replayed to a feed that resumes, at most

struct _http_server_t {
    struct MHD_Daemon *daemon;  //  libmicrohttpd's
    char *token_file;           //  or NULL
    char *data_dir;             //  the store's folder
    char *feed;                 //  the alert feed's endpoint
    char *changes;              //  the hub's REP for changes, or NULL
    pthread_mutex_t page_lock;  //  guards the three below
    char *page_title;           //  the status page's title
    char **page_sites;          //  public URLs, or NULL for all
    size_t page_site_count;     //  entries in page_sites
    atomic_bool stopping;       //  set by destroy: feeds end
    unsigned port;              //  bound
    size_t metrics_sites;       //  per-site families on /metrics up to this many sites
    bool loopback;              //  listening on a loopback address: reads are open
};

//  One request while libmicrohttpd reads it.
typedef struct {
    char *body;                 //  the body so far, NUL-terminated, or NULL
    size_t size;                //  its bytes
    bool too_large;             //  over HTTP_BODY_MAX: refused at the end
    bool answered;              //  a response is queued already
} request_t;

//  An SSE feed being followed: the response's reader state.
typedef struct {
    http_server_t *server;      //  for stopping, data_dir and the feed
    uint64_t last;              //  seq of the last alert sent
    zsock_t *sub;               //  SUB on the feed, made on the first read
    char *pending;              //  bytes owed to the client
    size_t pending_size;        //  their length
    size_t pending_sent;        //  and how many went out
    int64_t next_keepalive;     //  mono ms of the next comment line
} feed_t;


//  --------------------------------------------------------------------------
//  Answers

static char **s_copy_list (const char *const *items, size_t count);
static void s_free_list (char **items, size_t count);

static enum MHD_Result
s_reply (struct MHD_Connection *connection, unsigned status, const char *content_type,
         char *body)
{
    if (!body)
        body = strdup ("");
    struct MHD_Response *response = MHD_create_response_from_buffer (strlen (body), body,
                                                                     MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header (response, "X-Content-Type-Options", "nosniff");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                 "Bearer realm=\"squirrel\"");
    enum MHD_Result rc = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return rc;
}

static enum MHD_Result
s_json (struct MHD_Connection *connection, unsigned status, char *body)
{
    return s_reply (connection, status, "application/json", body);
}

static enum MHD_Result
s_error (struct MHD_Connection *connection, unsigned status, const char *message)
{
    return s_json (connection, status, api_error_json (message, NULL));
}


//  --------------------------------------------------------------------------
//  Who may write

int
http_token_read (const char *path, char *token, size_t token_size)
{
    assert (path && token && token_size);
    token [0] = 0;
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    bool read = fgets (token, (int) token_size, file) != NULL;
    fclose (file);
    if (!read) {
        token [0] = 0;
        errno = ENODATA;
        return -1;
    }
    token [strcspn (token, "\r\n")] = 0;
    return 0;
}

//  0 when the request carries the token; else an answer was queued.
static int
s_authorised (http_server_t *self, struct MHD_Connection *connection, enum MHD_Result *rc)
{
    if (!self->token_file) {
        *rc = s_error (connection, MHD_HTTP_FORBIDDEN,
                       "writes are off: set http.token_file in the config");
        return -1;
    }
    char token [HTTP_TOKEN_MAX];
    http_token_read (self->token_file, token, sizeof (token));
    const char *given = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION);
    size_t length = strlen (token);
    if (length && given && strncasecmp (given, "Bearer ", 7) == 0
    &&  strlen (given + 7) == length && sodium_memcmp (given + 7, token, length) == 0)
        return 0;
    *rc = s_error (connection, MHD_HTTP_UNAUTHORIZED,
                   given ? "the bearer token is wrong"
                         : "writes need 'Authorization: Bearer TOKEN' (the token in http.token_file)");
    return -1;
}


//  On loopback, anyone who can reach the server is on this host: reads
//  are open.  On any other address the status page is what is public (it
//  shows only status_page.sites); the API's reads, the feed and /metrics
//  name every site, so they need the token too (Prometheus sends it with
//  `authorization: { credentials_file: ... }`).  0 when the read may go on.
static int
s_reader_refused (http_server_t *self, struct MHD_Connection *connection, enum MHD_Result *rc)
{
    if (self->loopback)
        return 0;
    return s_authorised (self, connection, rc);
}


//  --------------------------------------------------------------------------
//  The feed, as Server-Sent Events

static void
s_feed_append (feed_t *feed, const char *text)
{
    size_t length = strlen (text);
    char *grown = (char *) realloc (feed->pending, feed->pending_size + length + 1);
    assert (grown);
    feed->pending = grown;
    memcpy (feed->pending + feed->pending_size, text, length + 1);
    feed->pending_size += length;
}

static void
s_feed_event (feed_t *feed, const sq_alert_t *alert)
{
    if (alert->seq <= feed->last)
        return;                 //  replayed and then live: once
    char *json = sq_alert_json (alert);
    if (!json)
        return;
    char head [64];
    snprintf (head, sizeof (head), "id: %llu\nevent: alert\ndata: ",
              (unsigned long long) alert->seq);
    s_feed_append (feed, head);
    s_feed_append (feed, json);
    s_feed_append (feed, "\n\n");
    free (json);
    feed->last = alert->seq;
}

static void
s_feed_stored (const sq_alert_t *alert, void *arg)
{
    s_feed_event ((feed_t *) arg, alert);
}

//  The alerts kept after feed->last, at most S_FEED_CATCH_UP.
static void
s_feed_catch_up (feed_t *feed)
{
    char error [256];
    store_t *store = store_open (feed->server->data_dir, error, sizeof (error));
    if (!store)
        return;
    for (int round = 0; round < S_FEED_CATCH_UP / SQ_FETCH_REPLY_MAX; round++) {
        uint64_t before = feed->last;
        int rows = store_alerts (store, feed->last, 0, SQ_FETCH_REPLY_MAX, s_feed_stored, feed);
        if (rows < SQ_FETCH_REPLY_MAX || feed->last == before)
            break;
    }
    store_close (&store);
}

static ssize_t
s_feed_read (void *cls, uint64_t position, char *buffer, size_t max)
{
    feed_t *feed = (feed_t *) cls;
    while (true) {
        if (feed->pending_sent < feed->pending_size) {
            size_t size = feed->pending_size - feed->pending_sent;
            if (size > max)
                size = max;
            memcpy (buffer, feed->pending + feed->pending_sent, size);
            feed->pending_sent += size;
            if (feed->pending_sent == feed->pending_size)
                feed->pending_size = feed->pending_sent = 0;
            return (ssize_t) size;
        }
        if (atomic_load (&feed->server->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!feed->sub) {
            //  Subscribe first, then replay from the store: an alert
            //  published in between comes twice and is sent once.
            feed->sub = zsock_new (ZMQ_SUB);
            assert (feed->sub);
            zsock_set_subscribe (feed->sub, "");
            if (sq_actor_connect (feed->sub, feed->server->feed, NULL))
                return MHD_CONTENT_READER_END_WITH_ERROR;
            s_feed_append (feed, "retry: 2000\n\n");
            s_feed_catch_up (feed);
            feed->next_keepalive = zclock_mono () + HTTP_FEED_KEEPALIVE_MS;
            continue;
        }
        zpoller_t *poller = zpoller_new (feed->sub, NULL);
        void *ready = zpoller_wait (poller, S_FEED_POLL_MS);
        zpoller_destroy (&poller);
        if (ready) {
            sq_msg_t msg;
            char topic [SQ_URL_MAX + 64];
            size_t topic_size = sizeof (topic);
            uint64_t malformed = 0;
            if (sq_wire_recv_expect (feed->sub, topic, &topic_size, &msg,
                                     SQ_WIRE_TYPE (SQ_MSG_ALERT), "http feed",
                                     &malformed) == SQ_PROTO_OK) {
                //  A gap (the PUB dropped, or we were slow): from the store.
                if (msg.alert.seq > feed->last + 1)
                    s_feed_catch_up (feed);
                s_feed_event (feed, &msg.alert);
            }
        }
        else
        if (zclock_mono () >= feed->next_keepalive) {
            s_feed_append (feed, ": keepalive\n\n");
            feed->next_keepalive = zclock_mono () + HTTP_FEED_KEEPALIVE_MS;
        }
    }
}

static void
s_feed_free (void *cls)
{
    feed_t *feed = (feed_t *) cls;
    zsock_destroy (&feed->sub);
    free (feed->pending);
    free (feed);
}

static enum MHD_Result
s_feed (http_server_t *self, struct MHD_Connection *connection)
{
    feed_t *feed = (feed_t *) calloc (1, sizeof (feed_t));
    assert (feed);
    feed->server = self;
    //  Resume after Last-Event-ID (or ?since=SEQ); else only what comes.
    const char *from = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                    "Last-Event-ID");
    if (!from)
        from = MHD_lookup_connection_value (connection, MHD_GET_ARGUMENT_KIND, "since");
    if (from) {
        char *end = NULL;
        errno = 0;
        unsigned long long seq = strtoull (from, &end, 10);
        if (errno || end == from || *end || *from == '-') {
            free (feed);
            return s_error (connection, MHD_HTTP_BAD_REQUEST,
                            "Last-Event-ID (or since): expected an alert seq, a whole number");
        }
        feed->last = seq;
    }
    else {
        char error [256];
        store_t *store = store_open (self->data_dir, error, sizeof (error));
        if (store)
            store_last_seq (store, &feed->last);
        store_close (&store);
    }
    struct MHD_Response *response = MHD_create_response_from_callback (
        MHD_SIZE_UNKNOWN, 4096, s_feed_read, feed, s_feed_free);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response (connection, MHD_HTTP_OK, response);
    MHD_destroy_response (response);
    return rc;
}


//  --------------------------------------------------------------------------
//  Routes

//  A whole number from a query value, or fallback when absent; -1 if bad.
static int
s_query_number (struct MHD_Connection *connection, const char *name, uint64_t fallback,
                uint64_t max, uint64_t *value)
{
    const char *text = MHD_lookup_connection_value (connection, MHD_GET_ARGUMENT_KIND, name);
    if (!text) {
        *value = fallback;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long number = strtoull (text, &end, 10);
    if (errno || end == text || *end || *text == '-' || number > max)
        return -1;
    *value = number;
    return 0;
}

//  A site id from the path, or 0 when it is not one.
static uint64_t
s_site_id (const char *text, size_t length)
{
    if (length == 0 || length > 19)
        return 0;
    uint64_t id = 0;
    for (size_t index = 0; index < length; index++) {
        if (text [index] < '0' || text [index] > '9')
            return 0;
        id = id * 10 + (uint64_t) (text [index] - '0');
    }
    return id;
}

//  POST and PATCH bodies: JSON objects, checked here for syntax only (the
//  hub checks the keys by the config's rules).
static int
s_body_check (struct MHD_Connection *connection, request_t *request, enum MHD_Result *rc)
{
    if (request->too_large) {
        char message [96];
        snprintf (message, sizeof (message), "the body is larger than %d bytes", HTTP_BODY_MAX);
        *rc = s_error (connection, MHD_HTTP_CONTENT_TOO_LARGE, message);
        return -1;
    }
    json_error_t why;
    json_t *root = request->body ? json_loadb (request->body, request->size,
                                               JSON_REJECT_DUPLICATES, &why) : NULL;
    if (!root || !json_is_object (root)) {
        char message [256], where [64];
        if (!request->body)
            snprintf (message, sizeof (message), "expected a JSON object as the body, got none");
        else
        if (!root)
            snprintf (message, sizeof (message), "the body is not JSON: %s", why.text);
        else
            snprintf (message, sizeof (message), "expected a JSON object such as "
                      "{\"url\": \"https://example.com/\"}");
        //  No body: nothing was parsed, and why is not set.
        if (!request->body)
            snprintf (where, sizeof (where), "body");
        else
            snprintf (where, sizeof (where), "body:%d:%d", root ? 1 : why.line,
                      root ? 1 : why.column);
        json_decref (root);
        *rc = s_json (connection, MHD_HTTP_BAD_REQUEST, api_error_json (message, where));
        return -1;
    }
    json_decref (root);
    return 0;
}

static enum MHD_Result
s_change (http_server_t *self, struct MHD_Connection *connection, request_t *request,
          const char *verb, const char *id)
{
    enum MHD_Result rc;
    if (s_authorised (self, connection, &rc))
        return rc;
    if (strcmp (verb, "DELETE") && s_body_check (connection, request, &rc))
        return rc;
    if (!self->changes)
        return s_error (connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                        "this process does not change sites");
    int status = 0;
    char *body = api_change (self->changes, verb, id, request->body ? request->body : "",
                             HTTP_CHANGE_WAIT_MS, &status);
    return s_json (connection, (unsigned) status, body);
}

static enum MHD_Result
s_method_not_allowed (struct MHD_Connection *connection, const char *allow)
{
    char *body = api_error_json ("method not allowed here", NULL);
    struct MHD_Response *response = MHD_create_response_from_buffer (strlen (body), body,
                                                                     MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result rc = MHD_queue_response (connection, MHD_HTTP_METHOD_NOT_ALLOWED, response);
    MHD_destroy_response (response);
    return rc;
}

//  /api/v1/... (path is what follows "/api/v1/").
static enum MHD_Result
s_api (http_server_t *self, struct MHD_Connection *connection, const char *path,
       const char *method, request_t *request)
{
    bool get = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
    enum MHD_Result refused;
    if (strcmp (path, "feed") == 0 && get && s_reader_refused (self, connection, &refused))
        return refused;
    if (strcmp (path, "feed") == 0)
        return get ? s_feed (self, connection) : s_method_not_allowed (connection, "GET");
    if (strcmp (path, "sites") == 0 && strcmp (method, "POST") == 0)
        return s_change (self, connection, request, "POST", "");

    //  Site paths: sites/ID, sites/ID/results.
    const char *id_text = strncmp (path, "sites/", 6) == 0 ? path + 6 : NULL;
    size_t id_length = id_text ? strcspn (id_text, "/") : 0;
    uint64_t id = id_text ? s_site_id (id_text, id_length) : 0;
    const char *rest = id_text ? id_text + id_length : NULL;
    if (id_text && id && *rest == 0 && !get) {
        char number [24];
        snprintf (number, sizeof (number), "%llu", (unsigned long long) id);
        if (strcmp (method, "PATCH") == 0 || strcmp (method, "DELETE") == 0)
            return s_change (self, connection, request, method, number);
        return s_method_not_allowed (connection, "GET, PATCH, DELETE");
    }

    bool known = strcmp (path, "sites") == 0 || strcmp (path, "incidents") == 0
              || strcmp (path, "alerts") == 0
              || (id && (*rest == 0 || strcmp (rest, "/results") == 0));
    if (!known)
        return s_error (connection, MHD_HTTP_NOT_FOUND, "no such API path");
    if (!get)
        return s_method_not_allowed (connection, strcmp (path, "sites") == 0 ? "GET, POST" : "GET");
    if (s_reader_refused (self, connection, &refused))
        return refused;

    char error [256];
    store_t *store = store_open (self->data_dir, error, sizeof (error));
    if (!store)
        return s_error (connection, MHD_HTTP_SERVICE_UNAVAILABLE, error);
    int64_t now_us = zclock_time () * 1000;
    int status = MHD_HTTP_OK;
    char *body = NULL;
    uint64_t limit, since;
    if (s_query_number (connection, "limit", API_LIMIT_DEFAULT, API_LIMIT_MAX, &limit))
        body = api_error_json ("limit: expected a whole number from 0 to 10000", "limit"),
        status = MHD_HTTP_BAD_REQUEST;
    else
    if (strcmp (path, "sites") == 0)
        body = api_sites_json (store, MHD_lookup_connection_value (connection,
                               MHD_GET_ARGUMENT_KIND, "url"), now_us, &status);
    else
    if (strcmp (path, "alerts") == 0) {
        if (s_query_number (connection, "since", 0, INT64_MAX, &since))
            body = api_error_json ("since: expected an alert seq, a whole number", "since"),
            status = MHD_HTTP_BAD_REQUEST;
        else
            body = api_alerts_json (store, since, (size_t) limit, &status);
    }
    else {
        //  incidents and results take since as a time.
        const char *text = MHD_lookup_connection_value (connection, MHD_GET_ARGUMENT_KIND, "since");
        int64_t since_us = 0;
        if (text && api_parse_time (text, &since_us))
            body = api_error_json ("since: expected a time, unix seconds or ISO 8601 "
                                   "such as 2026-11-28T16:00:00Z", "since"),
            status = MHD_HTTP_BAD_REQUEST;
        else
        if (strcmp (path, "incidents") == 0)
            body = api_incidents_json (store, since_us, (size_t) limit, &status);
        else
        if (*rest == 0)
            body = api_site_json (store, id, now_us, &status);
        else
            body = api_results_json (store, id, since_us, (size_t) limit, &status);
    }
    store_close (&store);
    return s_json (connection, (unsigned) status, body);
}

static enum MHD_Result
s_route (http_server_t *self, struct MHD_Connection *connection, const char *url,
         const char *method, request_t *request)
{
    bool get = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
    if (strncmp (url, "/api/v1/", 8) == 0)
        return s_api (self, connection, url + 8, method, request);
    if (strcmp (url, "/") != 0 && strcmp (url, "/metrics") != 0)
        return s_error (connection, MHD_HTTP_NOT_FOUND, "not found");
    if (!get)
        return s_method_not_allowed (connection, "GET");
    enum MHD_Result rc;
    if (strcmp (url, "/metrics") == 0 && s_reader_refused (self, connection, &rc))
        return rc;
    char error [256];
    store_t *store = store_open (self->data_dir, error, sizeof (error));
    if (!store)
        return s_error (connection, MHD_HTTP_SERVICE_UNAVAILABLE, error);
    int64_t now_us = zclock_time () * 1000;
    if (strcmp (url, "/metrics") == 0) {
        //  An empty page would read as "no sites": say it failed.
        char *page = metrics_page_render (store, now_us, self->metrics_sites);
        rc = page ? s_reply (connection, MHD_HTTP_OK, METRICS_PAGE_CONTENT_TYPE, page)
                  : s_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "metrics: the store could not be read");
    }
    else {
        //  A copy of the page's choice: a long render holds no lock.
        pthread_mutex_lock (&self->page_lock);
        char *title = strdup (self->page_title);
        size_t count = self->page_site_count;
        char **sites = s_copy_list ((const char *const *) self->page_sites, count);
        pthread_mutex_unlock (&self->page_lock);
        status_page_options_t options = {
            .title = title, .sites = (const char *const *) sites, .site_count = count
        };
        char *page = status_page_render (store, &options, now_us);
        free (title);
        s_free_list (sites, count);
        rc = page ? s_reply (connection, MHD_HTTP_OK, "text/html; charset=utf-8", page)
                  : s_error (connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "status page: the store could not be read");
    }
    store_close (&store);
    return rc;
}

static enum MHD_Result
s_answer (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size,
          void **con_cls)
{
    http_server_t *self = (http_server_t *) cls;
    request_t *request = (request_t *) *con_cls;
    if (!request) {
        request = (request_t *) calloc (1, sizeof (request_t));
        assert (request);
        *con_cls = request;
        const char *length = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull (length, NULL, 10) > HTTP_BODY_MAX) {
            //  Refused before a byte of it is read.
            request->answered = true;
            char message [96];
            snprintf (message, sizeof (message), "the body is larger than %d bytes",
                      HTTP_BODY_MAX);
            return s_error (connection, MHD_HTTP_CONTENT_TOO_LARGE, message);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!request->answered && !request->too_large) {
            if (request->size + *upload_data_size > HTTP_BODY_MAX) {
                request->too_large = true;
                free (request->body);
                request->body = NULL;
                request->size = 0;
            }
            else {
                char *grown = (char *) realloc (request->body, request->size + *upload_data_size + 1);
                assert (grown);
                memcpy (grown + request->size, upload_data, *upload_data_size);
                request->size += *upload_data_size;
                grown [request->size] = 0;
                request->body = grown;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (request->answered)
        return MHD_YES;
    request->answered = true;
    return s_route (self, connection, url, method, request);
}

static void
s_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
             enum MHD_RequestTerminationCode code)
{
    request_t *request = (request_t *) *con_cls;
    if (request) {
        free (request->body);
        free (request);
        *con_cls = NULL;
    }
}


//  --------------------------------------------------------------------------
//  The class

static char **
s_copy_list (const char *const *items, size_t count)
{
    if (!items)
        return NULL;
    char **copy = (char **) calloc (count + 1, sizeof (char *));
    assert (copy);
    for (size_t index = 0; index < count; index++) {
        copy [index] = strdup (items [index]);
        assert (copy [index]);
    }
    return copy;
}

static void
s_free_list (char **items, size_t count)
{
    for (size_t index = 0; items && index < count; index++)
        free (items [index]);
    free (items);
}

http_server_t *
http_server_new (const http_server_args_t *args, char *error, size_t error_size)
{
    assert (args && args->listen && args->data_dir && args->feed);
    //  HOST:PORT, the host numeric (the config checked it).
    char host [128];
    const char *colon = strrchr (args->listen, ':');
    size_t host_length = colon ? (size_t) (colon - args->listen) : 0;
    if (!colon || host_length >= sizeof (host)) {
        snprintf (error, error_size, "http.listen %s: expected HOST:PORT", args->listen);
        return NULL;
    }
    memcpy (host, args->listen, host_length);
    host [host_length] = 0;
    if (host [0] == '[' && host_length > 2) {
        memmove (host, host + 1, host_length - 2);
        host [host_length - 2] = 0;
    }
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *address = NULL;
    if (getaddrinfo (host, colon + 1, &hints, &address)) {
        snprintf (error, error_size, "http.listen %s: not a numeric address and port",
                  args->listen);
        return NULL;
    }
    http_server_t *self = (http_server_t *) calloc (1, sizeof (http_server_t));
    assert (self);
    self->token_file = args->token_file ? strdup (args->token_file) : NULL;
    self->data_dir = strdup (args->data_dir);
    self->feed = strdup (args->feed);
    self->changes = args->changes ? strdup (args->changes) : NULL;
    pthread_mutex_init (&self->page_lock, NULL);
    self->page_title = strdup (args->page_title ? args->page_title : "Status");
    self->metrics_sites = args->metrics_sites;
    self->page_sites = s_copy_list (args->page_sites, args->page_site_count);
    self->page_site_count = args->page_sites ? args->page_site_count : 0;
    atomic_init (&self->stopping, false);

    if (address->ai_family == AF_INET) {
        const struct sockaddr_in *inet = (const struct sockaddr_in *) address->ai_addr;
        self->loopback = (ntohl (inet->sin_addr.s_addr) >> 24) == 127;
    }
    else
    if (address->ai_family == AF_INET6) {
        const struct sockaddr_in6 *inet6 = (const struct sockaddr_in6 *) address->ai_addr;
        self->loopback = IN6_IS_ADDR_LOOPBACK (&inet6->sin6_addr);
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
                   | MHD_USE_ERROR_LOG;
    if (address->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->daemon = MHD_start_daemon (flags, 0, NULL, NULL, s_answer, self,
        MHD_OPTION_SOCK_ADDR, address->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) HTTP_CONNECTIONS_MAX,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) HTTP_PER_IP_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 60,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
        MHD_OPTION_END);
    int code = errno;
    freeaddrinfo (address);
    if (!self->daemon) {
        snprintf (error, error_size, "cannot serve HTTP on %s: %s", args->listen,
                  code ? strerror (code) : "libmicrohttpd refused");
        http_server_destroy (&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon,
                                                            MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : 0;
    return self;
}

void
http_server_destroy (http_server_t **self_p)
{
    assert (self_p);
    http_server_t *self = *self_p;
    if (!self)
        return;
    atomic_store (&self->stopping, true);
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    pthread_mutex_destroy (&self->page_lock);
    free (self->token_file);
    free (self->data_dir);
    free (self->feed);
    free (self->changes);
    free (self->page_title);
    s_free_list (self->page_sites, self->page_site_count);
    free (self);
    *self_p = NULL;
}

void
http_server_set_page (http_server_t *self, const char *title, const char *const *sites,
                      size_t site_count)
{
    assert (self);
    char **copy = s_copy_list (sites, site_count);
    char *title_copy = strdup (title ? title : "Status");
    pthread_mutex_lock (&self->page_lock);
    s_free_list (self->page_sites, self->page_site_count);
    free (self->page_title);
    self->page_sites = copy;
    self->page_site_count = sites ? site_count : 0;
    self->page_title = title_copy;
    pthread_mutex_unlock (&self->page_lock);
}

unsigned
http_server_port (http_server_t *self)
{
    assert (self);
    return self->port;
}
