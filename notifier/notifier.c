/*  notifier.c: see notifier.h and docs/ARCHITECTURE.md, "Notifier".

    What to deliver, retry or give up is the delivery book's to decide
    (delivery.h); this file runs the POSTs it asks for and tells it how
    each ended.  One loop: drain the pipe and the feed, let libcurl move the
    attempts on, start what the book says to start, then sleep (until the
    book's next wake-up, a second at most) in curl_multi_poll with the
    ZeroMQ sockets' file descriptors as extra fds.  Those descriptors only
    signal that the socket's state changed (edge-triggered), so the loop
    always drains both sockets completely before it sleeps again.
*/
#include "notifier.h"
#include "delivery.h"
#include "sq_actor.h"
#include "sq_json.h"
#include "sq_wire.h"

#include <curl/curl.h>
#include <string.h>

//  One attempt in flight: the libcurl handle of an ACTIVE delivery.
typedef struct {
    CURL *easy;                 //  the handle, inside self->multi
    uint64_t id;                //  the delivery in the book
    void *handle;               //  its item in self->transfers
    char error [CURL_ERROR_SIZE];   //  libcurl's error text
} transfer_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *feed;              //  SUB to the alert feed
    CURLM *multi;               //  attempts in flight
    struct curl_slist *headers; //  Content-Type: application/json
    notifier_args_t args;       //  settings, defaults applied
    char *notify_url;           //  global webhook, or NULL
    zhashx_t *webhooks;         //  site id -> owner's webhook URL (char *)
    zhashx_t *owners;           //  site id -> owner name (char *)
    delivery_book_t *book;      //  the deliveries, and what to do next with them
    zlistx_t *transfers;        //  transfer_t *, one per ACTIVE delivery
    uint64_t seen_seq;          //  highest ALERT sequence received
    zlistx_t *syncs;            //  SYNC requests not yet answered (seq + 1)
    bool terminated;            //  $TERM received
    uint64_t counters [NOTIFIER_COUNTER_COUNT]; //  reported on STATS
} self_t;

static const char *const s_counter_names [] = { NOTIFIER_COUNTERS (SQ_COUNTER_STRING) };

static void
s_string_destroy (void **item)
{
    free (*item);
    *item = NULL;
}


//  --------------------------------------------------------------------------
//  Attempts: the book says which delivery to try, we run the POST and tell
//  the book how it ended.

static size_t
s_discard (char *data, size_t size, size_t count, void *user)
{
    return size * count;
}

static void
s_transfer_start (self_t *self, uint64_t id)
{
    const delivery_t *delivery = delivery_book_lookup (self->book, id);
    assert (delivery && delivery->state == DELIVERY_ACTIVE);
    if (delivery->attempt > 1)
        self->counters [NOTIFIER_retries]++;
    transfer_t *transfer = (transfer_t *) calloc (1, sizeof (transfer_t));
    assert (transfer);
    transfer->id = id;
    CURL *easy = curl_easy_init ();
    assert (easy);
    transfer->easy = easy;
    curl_easy_setopt (easy, CURLOPT_URL, delivery->url);
    curl_easy_setopt (easy, CURLOPT_PRIVATE, transfer);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, self->headers);
    //  Not copied by libcurl: the book keeps the body until we forget the
    //  delivery, which is after this handle is gone.
    curl_easy_setopt (easy, CURLOPT_POSTFIELDS, delivery->body);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, (long) self->args.timeout_ms);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt (easy, CURLOPT_ERRORBUFFER, transfer->error);
    curl_easy_setopt (easy, CURLOPT_USERAGENT, "UptimeSquirrel/" SQ_VERSION_STRING);
    curl_multi_add_handle (self->multi, easy);
    transfer->handle = zlistx_add_end (self->transfers, transfer);
    assert (transfer->handle);
}

//  Take the handle out of libcurl and free the transfer.
static void
s_transfer_destroy (self_t *self, transfer_t **transfer_p)
{
    transfer_t *transfer = *transfer_p;
    curl_multi_remove_handle (self->multi, transfer->easy);
    curl_easy_cleanup (transfer->easy);
    zlistx_detach (self->transfers, transfer->handle);
    free (transfer);
    *transfer_p = NULL;
}

static void
s_transfer_finished (self_t *self, transfer_t *transfer, CURLcode code)
{
    long status = 0;
    curl_easy_getinfo (transfer->easy, CURLINFO_RESPONSE_CODE, &status);
    char why [CURL_ERROR_SIZE + 32];
    if (code != CURLE_OK)
        snprintf (why, sizeof (why), "%s", transfer->error [0] ? transfer->error
                                                               : curl_easy_strerror (code));
    else
        snprintf (why, sizeof (why), "HTTP %ld", status);
    uint64_t id = transfer->id;
    s_transfer_destroy (self, &transfer);

    int64_t now = zclock_mono ();
    delivery_state_t state = delivery_book_finished (self->book, id, (int) code, status, now);
    const delivery_t *delivery = delivery_book_lookup (self->book, id);
    switch (state) {
        case DELIVERY_DELIVERED:
            self->counters [NOTIFIER_delivered]++;
            zsys_debug ("notifier: alert #%llu for %s delivered to %s",
                        (unsigned long long) delivery->seq, delivery->site_url, delivery->url);
            delivery_book_forget (self->book, id);
            break;
        case DELIVERY_GIVEN_UP:
            self->counters [NOTIFIER_given_up]++;
            zsys_error ("notifier: alert #%llu for %s NOT delivered to %s after %u attempts: %s",
                        (unsigned long long) delivery->seq, delivery->site_url, delivery->url,
                        delivery->attempt, why);
            delivery_book_forget (self->book, id);
            break;
        case DELIVERY_WAITING:
            zsys_warning ("notifier: alert #%llu for %s: %s failed (%s), retry in %lld ms",
                          (unsigned long long) delivery->seq, delivery->site_url, delivery->url,
                          why, (long long) (delivery->due - now));
            break;
        default:
            assert (false);     //  the book returns one of the three above
    }
}

//  Start what the book says to start now: due retries, then new deliveries,
//  while slots are free (a burst of alerts must not open thousands of
//  connections at once).
static void
s_start_deliveries (self_t *self)
{
    int64_t now = zclock_mono ();
    uint64_t id;
    while ((id = delivery_book_next (self->book, now)))
        s_transfer_start (self, id);
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
    self->counters [NOTIFIER_alerts]++;
    if (self->seen_seq && alert->seq > self->seen_seq + 1) {
        self->counters [NOTIFIER_gaps] += alert->seq - self->seen_seq - 1;
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
        delivery_book_add (self->book, alert->seq, alert->url, webhook, body);
    if (self->notify_url && (!webhook || strcmp (webhook, self->notify_url) != 0))
        delivery_book_add (self->book, alert->seq, alert->url, self->notify_url, body);
    free (body);
}


//  --------------------------------------------------------------------------
//  Sockets

static void
s_set_sites (self_t *self, zmsg_t *batch)
{
    zhashx_purge (self->webhooks);
    zhashx_purge (self->owners);
    sq_site_t site;
    int rc;
    while ((rc = sq_sites_next (batch, &site, "notifier",
                                &self->counters [NOTIFIER_malformed])) != 0) {
        if (rc < 0 || !site.owner [0])
            continue;
        void *key = (void *) (uintptr_t) site.site_id;
        zhashx_insert (self->owners, key, strdup (site.owner));
        if (site.webhook [0])
            zhashx_insert (self->webhooks, key, strdup (site.webhook));
    }
}

//  A SYNC is answered once its ALERT has arrived and no delivery for it, or
//  for an earlier one, is pending.
static void
s_answer_syncs (self_t *self)
{
    void *item = zlistx_first (self->syncs);
    while (item) {
        uint64_t seq = (uint64_t) (uintptr_t) item - 1;
        void *cursor = zlistx_cursor (self->syncs);
        item = zlistx_next (self->syncs);
        if (self->seen_seq >= seq && delivery_book_settled (self->book, seq)) {
            zstr_sendf (self->pipe, "OK %llu", (unsigned long long) seq);
            zlistx_delete (self->syncs, cursor);
        }
    }
}

static void
s_send_stats (self_t *self)
{
    self->counters [NOTIFIER_pending] = delivery_book_pending (self->book);
    sq_actor_send_counters (self->pipe, s_counter_names, self->counters, NOTIFIER_COUNTER_COUNT);
}

static void
s_handle_pipe (self_t *self)
{
    zmsg_t *rest;
    char *command = sq_actor_recv_command (self->pipe, &rest);
    size_t sync_size = strlen (SQ_CMD_SYNC);
    if (streq (command, SQ_CMD_TERM))
        self->terminated = true;
    else
    if (streq (command, SQ_CMD_SITES)) {
        s_set_sites (self, rest);
        zsock_signal (self->pipe, 0);
    }
    else
    if (strncmp (command, SQ_CMD_SYNC, sync_size) == 0 && command [sync_size] == ' ') {
        uint64_t value = strtoull (command + sync_size + 1, NULL, 10);
        //  Stored as seq + 1: a list item may not be NULL.
        zlistx_add_end (self->syncs, (void *) (uintptr_t) (value + 1));
    }
    else
    if (streq (command, SQ_CMD_STATS))
        s_send_stats (self);
    else
        zsys_warning ("notifier: unknown pipe command '%s'", command);
    zmsg_destroy (&rest);
    zstr_free (&command);
}

static void
s_handle_feed (self_t *self)
{
    char topic [SQ_URL_MAX + 32];
    size_t topic_size = sizeof (topic) - 1;
    sq_msg_t msg;
    if (sq_wire_recv_expect (self->feed, topic, &topic_size, &msg, SQ_WIRE_TYPE (SQ_MSG_ALERT),
                             "notifier: dropped a frame from the feed",
                             &self->counters [NOTIFIER_malformed])
        == SQ_PROTO_OK)
        s_handle_alert (self, &msg.alert);
}

static void
s_handle_transfers (self_t *self)
{
    int running = 0;
    curl_multi_perform (self->multi, &running);
    CURLMsg *info;
    int left;
    while ((info = curl_multi_info_read (self->multi, &left))) {
        if (info->msg != CURLMSG_DONE)
            continue;
        transfer_t *transfer = NULL;
        curl_easy_getinfo (info->easy_handle, CURLINFO_PRIVATE, (char **) &transfer);
        s_transfer_finished (self, transfer, info->data.result);
    }
}


//  --------------------------------------------------------------------------
//  Life cycle

static void
s_say_undelivered (const delivery_t *delivery, void *arg)
{
    zsys_warning ("notifier: stopping with alert #%llu for %s undelivered (%s, %u attempts made)",
                  (unsigned long long) delivery->seq, delivery->site_url,
                  delivery_state_name (delivery->state), delivery->attempt);
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    //  Deliveries not ended at stop are abandoned, and said so.
    if (self->book)
        delivery_book_each_pending (self->book, s_say_undelivered, NULL);
    if (self->transfers) {
        transfer_t *transfer;
        while ((transfer = (transfer_t *) zlistx_first (self->transfers)))
            s_transfer_destroy (self, &transfer);
        zlistx_destroy (&self->transfers);
    }
    delivery_book_destroy (&self->book);
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
        self->args.timeout_ms = SQ_NOTIFY_TIMEOUT_MS;
    //  The book applies the defaults of the rest.
    delivery_policy_t policy = {
        .attempts = args->attempts, .backoff_ms = args->backoff_ms, .parallel = args->parallel
    };
    self->book = delivery_book_new (&policy);
    self->notify_url = args->notify_url ? strdup (args->notify_url) : NULL;
    self->webhooks = sq_id_table_new (s_string_destroy);
    self->owners = sq_id_table_new (s_string_destroy);
    self->transfers = zlistx_new ();
    self->syncs = zlistx_new ();
    self->multi = curl_multi_init ();
    self->headers = curl_slist_append (NULL, "Content-Type: application/json");
    self->feed = zsock_new (ZMQ_SUB);
    assert (self->transfers && self->syncs && self->multi && self->headers && self->feed);
    zsock_set_subscribe (self->feed, "");
    zsock_set_rcvhwm (self->feed, 0);
    if (zsock_connect (self->feed, "%s", args->feed) < 0) {
        snprintf (error, error_size, "cannot connect %s", args->feed);
        s_self_destroy (&self);
        return NULL;
    }
    return self;
}

//  How long to sleep: until the book has a retry to start, a second at most.
static int
s_poll_timeout (self_t *self)
{
    int64_t now = zclock_mono ();
    int64_t until = now + 1000;
    int64_t wakeup = delivery_book_wakeup (self->book);
    if (wakeup >= 0 && wakeup < until)
        until = wakeup;
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
        s_handle_transfers (self);
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
    if (zstr_sendf (notifier, "%s %llu", SQ_CMD_SYNC, (unsigned long long) seq))
        return -1;
    zsock_set_rcvtimeo (notifier, timeout_ms);
    char *reply = zstr_recv (notifier);
    zsock_set_rcvtimeo (notifier, -1);
    int rc = reply && strncmp (reply, "OK", 2) == 0 ? 0 : -1;
    zstr_free (&reply);
    return rc;
}
