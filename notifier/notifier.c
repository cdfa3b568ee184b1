/*  notifier.c: see notifier.h and docs/ARCHITECTURE.md, "Notifier".

    One loop: drain the pipe and the feed, let libcurl move the deliveries
    on, start retries that are due, then sleep in curl_multi_poll with the
    ZeroMQ sockets' file descriptors as extra fds.  Those descriptors only
    signal that the socket's state changed (edge-triggered), so the loop
    always drains both sockets completely before it sleeps again.
*/
#include "notifier.h"
#include "sq_actor.h"
#include "sq_json.h"
#include "sq_wire.h"
#include "config.h"

#include <curl/curl.h>
#include <string.h>

//  One webhook POST for one ALERT, possibly retried.
typedef struct {
    CURL *easy;                 //  libcurl handle while it runs
    char *url;                  //  the receiver
    char *body;                 //  the JSON document
    uint64_t seq;               //  the ALERT it is for
    char site_url [SQ_URL_MAX + 1]; //  for log lines
    unsigned attempt;           //  attempts made so far
    int64_t due;                //  mono ms of the next attempt, while waiting
    char error [CURL_ERROR_SIZE];   //  libcurl's error text
} delivery_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *feed;              //  SUB to the alert feed
    CURLM *multi;               //  deliveries in progress
    struct curl_slist *headers; //  Content-Type: application/json
    notifier_args_t args;       //  settings, defaults applied
    char *notify_url;           //  global webhook, or NULL
    zhashx_t *webhooks;         //  site id -> owner's webhook URL (char *)
    zhashx_t *owners;           //  site id -> owner name (char *)
    zlistx_t *queued;           //  new deliveries waiting for a free slot
    zlistx_t *waiting;          //  deliveries waiting to be retried
    zlistx_t *active;           //  deliveries inside libcurl, at most parallel
    uint64_t seen_seq;          //  highest ALERT sequence received
    zlistx_t *syncs;            //  SYNC requests not yet answered (seq)
    bool terminated;            //  $TERM received
    //  Counters, reported on STATS
    uint64_t alerts;            //  ALERTs received
    uint64_t delivered;         //  webhook POSTs answered 2xx
    uint64_t retries;           //  attempts after the first
    uint64_t given_up;          //  deliveries abandoned after every attempt
    uint64_t malformed;         //  frames refused
    uint64_t gaps;              //  ALERTs missed, seen from sequence gaps
} self_t;

static void
s_string_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_delivery_destroy (delivery_t **delivery_p)
{
    delivery_t *delivery = *delivery_p;
    if (!delivery)
        return;
    if (delivery->easy)
        curl_easy_cleanup (delivery->easy);
    free (delivery->url);
    free (delivery->body);
    free (delivery);
    *delivery_p = NULL;
}


//  --------------------------------------------------------------------------
//  Deliveries

static size_t
s_discard (char *data, size_t size, size_t count, void *user)
{
    return size * count;
}

static void
s_delivery_start (self_t *self, delivery_t *delivery)
{
    delivery->attempt++;
    delivery->error [0] = '\0';
    CURL *easy = curl_easy_init ();
    assert (easy);
    delivery->easy = easy;
    curl_easy_setopt (easy, CURLOPT_URL, delivery->url);
    curl_easy_setopt (easy, CURLOPT_PRIVATE, delivery);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, self->headers);
    curl_easy_setopt (easy, CURLOPT_POSTFIELDS, delivery->body);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, (long) self->args.timeout_ms);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt (easy, CURLOPT_ERRORBUFFER, delivery->error);
    curl_easy_setopt (easy, CURLOPT_USERAGENT, "UptimeSquirrel/" SQ_VERSION_STRING);
    curl_multi_add_handle (self->multi, easy);
    zlistx_add_end (self->active, delivery);
}

static void
s_delivery_finished (self_t *self, delivery_t *delivery, CURLcode code)
{
    long status = 0;
    curl_easy_getinfo (delivery->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle (self->multi, delivery->easy);
    curl_easy_cleanup (delivery->easy);
    delivery->easy = NULL;
    void *cursor = zlistx_find (self->active, delivery);
    if (cursor)
        zlistx_delete (self->active, cursor);
    if (code == CURLE_OK && status >= 200 && status < 300) {
        self->delivered++;
        zsys_debug ("notifier: alert #%llu for %s delivered to %s",
                    (unsigned long long) delivery->seq, delivery->site_url, delivery->url);
        s_delivery_destroy (&delivery);
        return;
    }
    char why [CURL_ERROR_SIZE + 32];
    if (code != CURLE_OK)
        snprintf (why, sizeof (why), "%s", delivery->error [0] ? delivery->error
                                                                : curl_easy_strerror (code));
    else
        snprintf (why, sizeof (why), "HTTP %ld", status);
    if (delivery->attempt >= self->args.attempts) {
        self->given_up++;
        zsys_error ("notifier: alert #%llu for %s NOT delivered to %s after %u attempts: %s",
                    (unsigned long long) delivery->seq, delivery->site_url, delivery->url,
                    delivery->attempt, why);
        s_delivery_destroy (&delivery);
        return;
    }
    int64_t delay = (int64_t) self->args.backoff_ms << (delivery->attempt - 1);
    zsys_warning ("notifier: alert #%llu for %s: %s failed (%s), retry in %lld ms",
                  (unsigned long long) delivery->seq, delivery->site_url, delivery->url, why,
                  (long long) delay);
    delivery->due = zclock_mono () + delay;
    zlistx_add_end (self->waiting, delivery);
}

static void
s_queue_delivery (self_t *self, const char *url, const char *body, const sq_alert_t *alert)
{
    delivery_t *delivery = (delivery_t *) calloc (1, sizeof (delivery_t));
    assert (delivery);
    delivery->url = strdup (url);
    delivery->body = strdup (body);
    assert (delivery->url && delivery->body);
    delivery->seq = alert->seq;
    snprintf (delivery->site_url, sizeof (delivery->site_url), "%s", alert->url);
    zlistx_add_end (self->queued, delivery);
}

//  The webhook document for one alert.  Caller frees.
static char *
s_alert_json (const sq_alert_t *alert, const char *owner)
{
    char since [40];
    sq_time_iso (alert->since, since, sizeof (since));
    char *body = NULL;
    size_t length = 0;
    int rc = sq_json_appendf (&body, &length, "{\"seq\":%llu,\"site_id\":%llu,\"url\":",
                              (unsigned long long) alert->seq, (unsigned long long) alert->site_id);
    rc |= sq_json_append_string (&body, &length, alert->url);
    rc |= sq_json_appendf (&body, &length,
                           ",\"state\":\"%s\",\"previous\":\"%s\",\"reason\":\"%s\",\"detail\":",
                           sq_state_name ((sq_state_t) alert->state),
                           sq_state_name ((sq_state_t) alert->previous),
                           sq_reason_name ((sq_reason_t) alert->reason));
    rc |= sq_json_append_string (&body, &length, alert->detail);
    rc |= sq_json_appendf (&body, &length, ",\"at\":\"%s\",\"owner\":", since);
    if (owner)
        rc |= sq_json_append_string (&body, &length, owner);
    else
        rc |= sq_json_appendf (&body, &length, "null");
    rc |= sq_json_appendf (&body, &length, "}");
    if (rc) {
        free (body);
        return NULL;
    }
    return body;
}

static void
s_handle_alert (self_t *self, const sq_alert_t *alert)
{
    self->alerts++;
    if (self->seen_seq && alert->seq > self->seen_seq + 1) {
        self->gaps += alert->seq - self->seen_seq - 1;
        zsys_warning ("notifier: missed %llu alerts before #%llu",
                      (unsigned long long) (alert->seq - self->seen_seq - 1),
                      (unsigned long long) alert->seq);
    }
    if (alert->seq > self->seen_seq)
        self->seen_seq = alert->seq;
    const char *owner = (const char *) zhashx_lookup (self->owners, (void *) (uintptr_t) alert->site_id);
    const char *webhook = (const char *) zhashx_lookup (self->webhooks, (void *) (uintptr_t) alert->site_id);
    zsys_info ("notifier: %s is %s (was %s): %s %s; telling %s", alert->url,
               sq_state_name ((sq_state_t) alert->state),
               sq_state_name ((sq_state_t) alert->previous),
               sq_reason_name ((sq_reason_t) alert->reason), alert->detail,
               owner ? owner : "nobody in particular");
    if (!webhook && !self->notify_url)
        return;
    char *body = s_alert_json (alert, owner);
    if (!body) {
        zsys_error ("notifier: out of memory for alert #%llu", (unsigned long long) alert->seq);
        return;
    }
    if (webhook)
        s_queue_delivery (self, webhook, body, alert);
    if (self->notify_url && (!webhook || strcmp (webhook, self->notify_url) != 0))
        s_queue_delivery (self, self->notify_url, body, alert);
    free (body);
}


//  --------------------------------------------------------------------------
//  Sockets

static void
s_set_sites (self_t *self, const config_t *config)
{
    zhashx_purge (self->webhooks);
    zhashx_purge (self->owners);
    for (size_t index = 0; index < config->site_count; index++) {
        const config_site_t *site = &config->sites [index];
        if (!site->owner || !site->id)
            continue;
        const config_owner_t *owner = config_owner (config, site->owner);
        zhashx_insert (self->owners, (void *) (uintptr_t) site->id, strdup (site->owner));
        if (owner && owner->webhook)
            zhashx_insert (self->webhooks, (void *) (uintptr_t) site->id, strdup (owner->webhook));
    }
}

static void
s_answer_syncs (self_t *self)
{
    bool idle = zlistx_size (self->active) == 0 && zlistx_size (self->waiting) == 0
             && zlistx_size (self->queued) == 0;
    void *item = zlistx_first (self->syncs);
    while (item) {
        uint64_t seq = (uint64_t) (uintptr_t) item - 1;
        void *cursor = zlistx_cursor (self->syncs);
        item = zlistx_next (self->syncs);
        if (idle && self->seen_seq >= seq) {
            zstr_sendf (self->pipe, "OK %llu", (unsigned long long) seq);
            zlistx_delete (self->syncs, cursor);
        }
    }
}

static void
s_handle_pipe (self_t *self)
{
    void *pointer;
    char *command = sq_actor_recv_command (self->pipe, &pointer);
    if (streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "SITES")) {
        if (pointer)
            s_set_sites (self, (const config_t *) pointer);
        zsock_signal (self->pipe, 0);
    }
    else
    if (strncmp (command, "SYNC ", 5) == 0) {
        uint64_t value = strtoull (command + 5, NULL, 10);
        //  Stored as seq + 1: a list item may not be NULL.
        zlistx_add_end (self->syncs, (void *) (uintptr_t) (value + 1));
    }
    else
    if (streq (command, "STATS"))
        zstr_sendf (self->pipe,
                    "alerts=%llu delivered=%llu retries=%llu given_up=%llu pending=%zu "
                    "malformed=%llu gaps=%llu",
                    (unsigned long long) self->alerts, (unsigned long long) self->delivered,
                    (unsigned long long) self->retries, (unsigned long long) self->given_up,
                    zlistx_size (self->active) + zlistx_size (self->waiting)
                    + zlistx_size (self->queued),
                    (unsigned long long) self->malformed, (unsigned long long) self->gaps);
    else
        zsys_warning ("notifier: unknown pipe command '%s'", command);
    zstr_free (&command);
}

static void
s_handle_feed (self_t *self)
{
    char topic [SQ_URL_MAX + 32];
    size_t topic_size = sizeof (topic) - 1;
    sq_msg_t msg;
    if (sq_wire_recv_expect (self->feed, topic, &topic_size, &msg, SQ_WIRE_TYPE (SQ_MSG_ALERT),
                             "notifier: dropped a frame from the feed", &self->malformed)
        == SQ_PROTO_OK)
        s_handle_alert (self, &msg.alert);
}


//  --------------------------------------------------------------------------
//  Life cycle

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zlistx_t *lists [] = { self->queued, self->waiting };
    for (size_t index = 0; index < 2; index++) {
        for (delivery_t *delivery = lists [index] ? (delivery_t *) zlistx_first (lists [index]) : NULL;
             delivery; delivery = (delivery_t *) zlistx_next (lists [index])) {
            zsys_warning ("notifier: stopping with alert #%llu for %s undelivered (%s)",
                          (unsigned long long) delivery->seq, delivery->site_url,
                          index ? "retry pending" : "not yet sent");
            s_delivery_destroy (&delivery);
        }
    }
    zlistx_destroy (&self->queued);
    zlistx_destroy (&self->waiting);
    if (self->active) {
        //  Deliveries still running at stop are abandoned, and said so.
        for (delivery_t *delivery = (delivery_t *) zlistx_first (self->active); delivery;
             delivery = (delivery_t *) zlistx_next (self->active)) {
            zsys_warning ("notifier: stopping with alert #%llu for %s undelivered",
                          (unsigned long long) delivery->seq, delivery->site_url);
            curl_multi_remove_handle (self->multi, delivery->easy);
            s_delivery_destroy (&delivery);
        }
        zlistx_destroy (&self->active);
    }
    if (self->multi)
        curl_multi_cleanup (self->multi);
    curl_slist_free_all (self->headers);
    zhashx_destroy (&self->webhooks);
    zhashx_destroy (&self->owners);
    zlistx_destroy (&self->syncs);
    zsock_destroy (&self->feed);
    free (self->notify_url);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const notifier_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->args = *args;
    if (!self->args.timeout_ms)
        self->args.timeout_ms = 10000;
    if (!self->args.attempts)
        self->args.attempts = 4;
    if (!self->args.backoff_ms)
        self->args.backoff_ms = 1000;
    if (!self->args.parallel)
        self->args.parallel = 64;
    self->notify_url = args->notify_url ? strdup (args->notify_url) : NULL;
    self->webhooks = sq_id_table_new (s_string_destroy);
    self->owners = sq_id_table_new (s_string_destroy);
    self->queued = zlistx_new ();
    self->waiting = zlistx_new ();
    self->active = zlistx_new ();
    self->syncs = zlistx_new ();
    self->multi = curl_multi_init ();
    self->headers = curl_slist_append (NULL, "Content-Type: application/json");
    self->feed = zsock_new (ZMQ_SUB);
    assert (self->queued && self->waiting && self->active && self->syncs && self->multi && self->headers && self->feed);
    zsock_set_subscribe (self->feed, "");
    zsock_set_rcvhwm (self->feed, 0);
    if (zsock_connect (self->feed, "%s", args->feed) < 0) {
        snprintf (error, error_size, "cannot connect %s", args->feed);
        s_self_destroy (&self);
        return NULL;
    }
    return self;
}

//  Start retries that are due, then new deliveries, while slots are free:
//  a burst of alerts must not open thousands of connections at once.
static void
s_start_deliveries (self_t *self)
{
    int64_t now = zclock_mono ();
    delivery_t *delivery = (delivery_t *) zlistx_first (self->waiting);
    while (delivery && zlistx_size (self->active) < self->args.parallel) {
        void *cursor = zlistx_cursor (self->waiting);
        delivery_t *next = (delivery_t *) zlistx_next (self->waiting);
        if (delivery->due <= now) {
            zlistx_delete (self->waiting, cursor);
            self->retries++;
            s_delivery_start (self, delivery);
        }
        delivery = next;
    }
    while (zlistx_size (self->active) < self->args.parallel && zlistx_size (self->queued))
        s_delivery_start (self, (delivery_t *) zlistx_detach (self->queued, NULL));
}

static int
s_poll_timeout (self_t *self)
{
    int64_t now = zclock_mono ();
    int64_t until = now + 1000;
    for (delivery_t *delivery = (delivery_t *) zlistx_first (self->waiting); delivery;
         delivery = (delivery_t *) zlistx_next (self->waiting))
        if (delivery->due < until)
            until = delivery->due;
    return until > now ? (int) (until - now) : 0;
}

void
notifier_actor (zsock_t *pipe, void *args)
{
    char error [256] = "";
    self_t *self = s_self_new (pipe, (const notifier_args_t *) args, error, sizeof (error));
    sq_actor_report (pipe, self ? NULL : error);
    if (!self)
        return;
    struct curl_waitfd extra [2];
    size_t fd_size = sizeof (int);
    int pipe_fd = -1, feed_fd = -1;
    zmq_getsockopt (zsock_resolve (pipe), ZMQ_FD, &pipe_fd, &fd_size);
    zmq_getsockopt (zsock_resolve (self->feed), ZMQ_FD, &feed_fd, &fd_size);
    extra [0] = (struct curl_waitfd) { .fd = pipe_fd, .events = CURL_WAIT_POLLIN };
    extra [1] = (struct curl_waitfd) { .fd = feed_fd, .events = CURL_WAIT_POLLIN };

    while (!self->terminated) {
        while (!self->terminated && (zsock_events (pipe) & ZMQ_POLLIN))
            s_handle_pipe (self);
        while (zsock_events (self->feed) & ZMQ_POLLIN)
            s_handle_feed (self);
        int running = 0;
        curl_multi_perform (self->multi, &running);
        CURLMsg *info;
        int left;
        while ((info = curl_multi_info_read (self->multi, &left))) {
            if (info->msg != CURLMSG_DONE)
                continue;
            delivery_t *delivery = NULL;
            curl_easy_getinfo (info->easy_handle, CURLINFO_PRIVATE, (char **) &delivery);
            s_delivery_finished (self, delivery, info->data.result);
        }
        s_start_deliveries (self);
        s_answer_syncs (self);
        if (self->terminated)
            break;
        //  Sockets drained above: their fds will signal anything new.
        if ((zsock_events (pipe) & ZMQ_POLLIN) || (zsock_events (self->feed) & ZMQ_POLLIN))
            continue;
        curl_multi_poll (self->multi, extra, 2, s_poll_timeout (self), NULL);
    }
    s_self_destroy (&self);
}


int
notifier_sync (zactor_t *notifier, uint64_t seq, int timeout_ms)
{
    if (zstr_sendf (notifier, "SYNC %llu", (unsigned long long) seq))
        return -1;
    zsock_set_rcvtimeo (notifier, timeout_ms);
    char *reply = zstr_recv (notifier);
    zsock_set_rcvtimeo (notifier, -1);
    int rc = reply && strncmp (reply, "OK", 2) == 0 ? 0 : -1;
    zstr_free (&reply);
    return rc;
}
