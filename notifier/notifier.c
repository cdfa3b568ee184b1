/*  notifier.c: see notifier.h and docs/ARCHITECTURE.md, "Notifier".

    The decisions are elsewhere: the policy (policy.h) says whether an
    alert is told and what else is due, the delivery book (delivery.h)
    what to send now and what to retry, render.h the words, channel.h the
    transports, outbox.h the record.  This file wires them:

        ALERT (feed, or the store's table on catch-up)
          -> taken once (by seq) -> policy -> notice -> outbox (with one
             delivery per receiver) -> book
        book_next -> render -> transfer (libcurl easy in our multi, or a
             command) -> ended -> book_finished -> outbox marks

    One loop: drain the pipe and the feed, move the transfers on, poll the
    commands, start what the book says, then sleep (until the book's next
    wake-up, a second at most, 50 ms while a command runs) in
    curl_multi_poll with the ZeroMQ sockets' file descriptors as extra
    fds.  Those only signal that the socket's state changed (edge
    triggered), so both sockets are drained completely before each sleep.
*/
#include "notifier.h"
#include "channel.h"
#include "delivery.h"
#include "notice.h"
#include "outbox.h"
#include "policy.h"
#include "render.h"
#include "sq_actor.h"
#include "sq_url.h"
#include "sq_wire.h"
#include "sq_metrics.h"
#include "store.h"
#include "template.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert ((int) SQ_CHANNEL_COUNT == (int) CHANNEL_COUNT, "sq_metrics.h's channels are notice.h's");

#define S_CATCH_UP_MS       2000    //  read the store's alerts this often
#define S_CATCH_UP_BATCH    100     //  alerts per read
#define S_HOLE_SKIP_MS      30000   //  a seq missing from feed and store this long is skipped
#define S_COMMAND_POLL_MS   50      //  how often a running command is looked at
#define S_PASSWORD_MAX      1024    //  bytes in the SMTP password file
#define S_MEMORY_IDS        (UINT64_C (1) << 62)    //  ids of notices the outbox could not take
#define S_PRUNE_EVERY_MS    3600000 //  the outbox is pruned this often ...
#define S_OUTBOX_KEEP_US    (INT64_C (30) * 86400 * 1000000)    //  ... of what ended 30 days ago
#define S_CERT_FIRST_MS     10000   //  certificates first looked at this long after start ...
#define S_CERT_EVERY_MS     3600000 //  ... then every hour

//  One attempt in flight: the transfer (or command) of a receiver's batch.
typedef struct {
    char receiver [SQ_NAME_MAX + 16];   //  the book's key
    channel_kind_t kind;        //  which channel
    size_t count;               //  notices carried
    uint64_t first;             //  first notice id, for log lines
    CURL *easy;                 //  HTTP or SMTP transfer, inside self->multi, or NULL
    char *body;                 //  what is sent (kept until the transfer ends)
    struct curl_slist *list;    //  headers or recipients
    channel_upload_t upload;    //  SMTP: the message being read
    pid_t pid;                  //  command: its pid, or 0
    int64_t deadline;           //  command: monotonic ms to kill it at
    char error [CURL_ERROR_SIZE];   //  libcurl's error text
    void *handle;               //  its item in self->attempts
} attempt_t;

//  A site as the notifier needs it.
typedef struct {
    char owner [SQ_NAME_MAX + 1];   //  "" = none
    sq_days_t cert_warn_days;       //  certificate warning thresholds
    uint32_t flap_changes;          //  for FLAPPING notices: more changes than this ...
    uint32_t flap_window_ms;        //  ... within this
    char url [];                    //  for certificate notices, as long as it is: a
                                    //  notifier may hold a million sites (SQ_URL_MAX
                                    //  inline was 2 KB each)
} site_t;

//  A notice with deliveries pending, shared by its items.
typedef struct {
    notice_t notice;            //  as recorded
    size_t pending;             //  items not ended; freed at 0
} held_notice_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *feed;              //  SUB to the alert feed
    CURLM *multi;               //  transfers in flight
    notifier_args_t args;       //  settings, defaults applied (strings below)
    char *notify_url;           //  global webhook, or NULL
    char *data_dir;             //  or NULL: no store, outbox in memory
    char *smtp_url;             //  or NULL: no email
    char *smtp_from;
    char *smtp_user;
    char *smtp_ca_file;
    char *smtp_password;        //  read from the file at start, never logged
    outbox_t *outbox;           //  the durable record
    store_t *store;             //  reader of the store's alerts (catch-up), or NULL
    policy_t *policy;           //  who is told when
    delivery_book_t *book;      //  what to send when
    zhashx_t *owners;           //  owner name -> sq_owner_t *
    zhashx_t *sites;            //  site id -> site_t *
    zhashx_t *notices;          //  notice id -> held_notice_t *
    zlistx_t *attempts;         //  attempt_t *
    uint64_t received;          //  every ALERT up to this seq was taken
    zhashx_t *taken;            //  seqs above received already taken (id table)
    uint64_t seen_seq;          //  highest ALERT seq taken
    uint64_t last_notice;       //  highest notice id made
    uint64_t memory_notices;    //  notices sent without an outbox row (its writes failed)
    int64_t next_prune;         //  monotonic ms of the next outbox prune
    int64_t hole_since;         //  monotonic ms since received + 1 is missing, or 0
    uint64_t catch_up_last;     //  seq of the last alert a catch-up read
    int64_t next_catch_up;      //  monotonic ms of the next read of the store
    int64_t next_tick;          //  monotonic ms of the next policy tick
    int64_t next_cert_check;    //  monotonic ms of the next look at certificates
    zlistx_t *syncs;            //  sync_t *, SYNC requests not yet answered
    const char *ending_why;     //  set while ending items that were not sent
    zlistx_t *ended_ok;         //  notice ids delivered in this book_finished call
    zlistx_t *ended_failed;     //  notice ids given up in it
    bool owners_known;          //  the first OWNERS list came: deliveries may start
    bool terminated;            //  $TERM received
    uint64_t counters [NOTIFIER_COUNTER_COUNT]; //  reported on STATS
} self_t;

typedef struct {
    uint64_t seq;               //  the ALERT seq asked for
    uint64_t notice;            //  notices up to this must be settled; 0 until seq is seen
    bool seen;                  //  seq was taken
} sync_t;

static const char *const s_counter_names [] = { NOTIFIER_COUNTERS (SQ_COUNTER_STRING) };

//  The per-channel counters, by channel: delivered, failed, pending.
static const notifier_counter_t s_channel_counters [CHANNEL_COUNT][3] = {
    [CHANNEL_WEBHOOK] = { NOTIFIER_webhook_delivered, NOTIFIER_webhook_failed, NOTIFIER_webhook_pending },
    [CHANNEL_SLACK]   = { NOTIFIER_slack_delivered, NOTIFIER_slack_failed, NOTIFIER_slack_pending },
    [CHANNEL_DISCORD] = { NOTIFIER_discord_delivered, NOTIFIER_discord_failed, NOTIFIER_discord_pending },
    [CHANNEL_EMAIL]   = { NOTIFIER_email_delivered, NOTIFIER_email_failed, NOTIFIER_email_pending },
    [CHANNEL_COMMAND] = { NOTIFIER_command_delivered, NOTIFIER_command_failed, NOTIFIER_command_pending },
};

static int64_t
s_wall_ms (void)
{
    return zclock_time ();
}


//  --------------------------------------------------------------------------
//  Notices held in memory while they have deliveries pending

static const notice_t *
s_notice (self_t *self, uint64_t id)
{
    held_notice_t *held = (held_notice_t *) zhashx_lookup (self->notices, (void *) (uintptr_t) id);
    return held ? &held->notice : NULL;
}

//  Hold notice for one more pending item (copying it the first time).
static void
s_notice_hold (self_t *self, const notice_t *notice)
{
    void *key = (void *) (uintptr_t) notice->id;
    held_notice_t *held = (held_notice_t *) zhashx_lookup (self->notices, key);
    if (!held) {
        held = (held_notice_t *) calloc (1, sizeof (held_notice_t));
        assert (held);
        held->notice = *notice;
        zhashx_insert (self->notices, key, held);
    }
    held->pending++;
}

static void
s_notice_release (self_t *self, uint64_t id)
{
    void *key = (void *) (uintptr_t) id;
    held_notice_t *held = (held_notice_t *) zhashx_lookup (self->notices, key);
    if (held && --held->pending == 0)
        zhashx_delete (self->notices, key);
}


//  --------------------------------------------------------------------------
//  Items that end: the book tells us, we record

static void
s_item_ended (const char *receiver, uint64_t notice, delivery_state_t state, void *arg)
{
    self_t *self = (self_t *) arg;
    channel_kind_t kind = CHANNEL_WEBHOOK;
    char owner [SQ_NAME_MAX + 1];
    if (outbox_receiver_parse (receiver, &kind, owner, sizeof (owner)))
        kind = CHANNEL_WEBHOOK;
    bool delivered = state == DELIVERY_DELIVERED && !self->ending_why;
    //  Written to the outbox together once the book is done (s_finish).
    zlistx_add_end (delivered ? self->ended_ok : self->ended_failed, (void *) (uintptr_t) notice);
    sq_metrics_notification ((sq_channel_kind_t) kind,
                             delivered ? SQ_DELIVERY_DELIVERED : SQ_DELIVERY_GIVEN_UP);
    if (delivered) {
        self->counters [NOTIFIER_delivered]++;
        self->counters [s_channel_counters [kind][0]]++;
    }
    else {
        self->counters [NOTIFIER_given_up]++;
        self->counters [s_channel_counters [kind][1]]++;
        const notice_t *held = s_notice (self, notice);
        char shown [SQ_URL_MAX + 1] = "";
        if (held)
            sq_url_shown (held->alert.url, shown, sizeof (shown));
        zsys_error ("notifier: notice %llu (%s %s) NOT delivered to %s: %s",
                    (unsigned long long) notice, held ? notice_kind_name (held->kind) : "?",
                    shown, receiver, self->ending_why ? self->ending_why : "failing for longer "
                    "than give_up_after");
    }
    s_notice_release (self, notice);
}


//  --------------------------------------------------------------------------
//  Attempts: the book says which receiver's batch to send, we send it

static void
s_attempt_destroy (self_t *self, attempt_t **attempt_p)
{
    attempt_t *attempt = *attempt_p;
    if (attempt->easy) {
        curl_multi_remove_handle (self->multi, attempt->easy);
        curl_easy_cleanup (attempt->easy);
    }
    if (attempt->pid > 0)
        channel_command_kill (attempt->pid);
    curl_slist_free_all (attempt->list);
    free (attempt->body);
    if (attempt->handle)
        zlistx_detach (self->attempts, attempt->handle);
    free (attempt);
    *attempt_p = NULL;
}

//  Tell the book that receiver's attempt ended; record in one transaction
//  per outcome every item that ended (s_item_ended collected them).
static size_t
s_finish (self_t *self, const char *receiver, bool ok)
{
    size_t left = delivery_book_finished (self->book, receiver, ok, s_wall_ms ());
    zlistx_t *lists [2] = { self->ended_ok, self->ended_failed };
    for (int which = 0; which < 2; which++) {
        size_t count = zlistx_size (lists [which]);
        if (!count)
            continue;
        uint64_t *ids = (uint64_t *) malloc (count * sizeof (uint64_t));
        assert (ids);
        size_t index = 0;
        for (void *item = zlistx_first (lists [which]); item; item = zlistx_next (lists [which]))
            ids [index++] = (uint64_t) (uintptr_t) item;
        if (outbox_mark_many (self->outbox, ids, count, receiver,
                              which == 0 ? OUTBOX_DELIVERED : OUTBOX_FAILED,
                              which == 0 ? NULL : self->ending_why ? self->ending_why
                                                                   : "given up"))
            self->counters [NOTIFIER_outbox_errors]++;
        free (ids);
        zlistx_purge (lists [which]);
    }
    return left;
}

//  The attempt ended (ok or not, why says how): tell the book, which
//  reports every item that ended through s_item_ended.
static void
s_attempt_ended (self_t *self, attempt_t *attempt, bool ok, const char *why)
{
    char receiver [sizeof (attempt->receiver)];
    snprintf (receiver, sizeof (receiver), "%s", attempt->receiver);
    size_t count = attempt->count;
    uint64_t first = attempt->first;
    if (!ok)
        sq_metrics_notification ((sq_channel_kind_t) attempt->kind, SQ_DELIVERY_FAILED);
    s_attempt_destroy (self, &attempt);
    size_t left = s_finish (self, receiver, ok);
    if (ok)
        zsys_debug ("notifier: %zu notice(s) from %llu delivered to %s", count,
                    (unsigned long long) first, receiver);
    else
        zsys_warning ("notifier: %zu notice(s) from %llu to %s failed: %s; %zu waiting for "
                      "the retry", count, (unsigned long long) first, receiver, why, left);
}

//  End the items of a batch that cannot be sent at all (the owner or the
//  channel is gone from the config): failed, not retried for a day.
static void
s_attempt_drop (self_t *self, attempt_t *attempt, const char *why)
{
    self->ending_why = why;
    char receiver [sizeof (attempt->receiver)];
    snprintf (receiver, sizeof (receiver), "%s", attempt->receiver);
    s_attempt_destroy (self, &attempt);
    s_finish (self, receiver, true);
    self->ending_why = NULL;
}

//  Where a receiver's messages go now, from the config: the URL, address
//  or path (borrowed), and for the webhook its template; NULL if gone.
static const char *
s_destination (self_t *self, channel_kind_t kind, const char *owner_name, const char **template)
{
    *template = NULL;
    if (!*owner_name)
        return kind == CHANNEL_WEBHOOK ? self->notify_url : NULL;
    const sq_owner_t *owner = (const sq_owner_t *) zhashx_lookup (self->owners, owner_name);
    if (!owner)
        return NULL;
    const char *value = NULL;
    switch (kind) {
        case CHANNEL_WEBHOOK:
            value = owner->webhook;
            *template = owner->webhook_template [0] ? owner->webhook_template : NULL;
            break;
        case CHANNEL_SLACK:   value = owner->slack; break;
        case CHANNEL_DISCORD: value = owner->discord; break;
        case CHANNEL_EMAIL:   value = self->smtp_url ? owner->email : NULL; break;
        case CHANNEL_COMMAND: value = owner->command; break;
        default: break;
    }
    return value && *value ? value : NULL;
}

//  A template's body is JSON when it looks like JSON.
static const char *
s_template_type (const char *template)
{
    while (*template == ' ' || *template == '\n' || *template == '\t' || *template == '\r')
        template++;
    return *template == '{' || *template == '['
         ? "application/json" : "text/plain; charset=utf-8";
}

static void
s_attempt_start (self_t *self, const delivery_attempt_t *batch)
{
    attempt_t *attempt = (attempt_t *) calloc (1, sizeof (attempt_t));
    assert (attempt);
    snprintf (attempt->receiver, sizeof (attempt->receiver), "%s", batch->receiver);
    attempt->count = batch->count;
    attempt->first = batch->notices [0];
    attempt->handle = zlistx_add_end (self->attempts, attempt);
    self->counters [NOTIFIER_messages]++;
    if (batch->attempt > 1)
        self->counters [NOTIFIER_retries]++;

    char owner [SQ_NAME_MAX + 1];
    if (outbox_receiver_parse (batch->receiver, &attempt->kind, owner, sizeof (owner))) {
        s_attempt_drop (self, attempt, "receiver key not understood");
        return;
    }
    const notice_t **notices = (const notice_t **) calloc (batch->count, sizeof (notice_t *));
    assert (notices);
    size_t count = 0;
    for (size_t index = 0; index < batch->count; index++) {
        const notice_t *notice = s_notice (self, batch->notices [index]);
        if (notice)
            notices [count++] = notice;
    }
    const char *template;
    const char *to = s_destination (self, attempt->kind, owner, &template);
    if (!to || count == 0) {
        free (notices);
        s_attempt_drop (self, attempt, count ? "the channel is no longer in the config"
                                             : "notice lost from memory");
        return;
    }
    int rc = -1;
    char why [256] = "";
    long timeout = (long) self->args.settings.timeout_ms;
    if (attempt->kind == CHANNEL_COMMAND) {
        char **env = render_command_env (notices, count);
        attempt->pid = env ? channel_command_start (to, env, why, sizeof (why)) : -1;
        render_env_free (&env);
        attempt->deadline = zclock_mono () + timeout;
        rc = attempt->pid > 0 ? 0 : -1;
        if (attempt->pid < 0)
            attempt->pid = 0;
    }
    else {
        attempt->easy = curl_easy_init ();
        assert (attempt->easy);
        curl_easy_setopt (attempt->easy, CURLOPT_PRIVATE, attempt);
        const char *type = "application/json";
        switch (attempt->kind) {
            case CHANNEL_WEBHOOK:
                attempt->body = template ? template_expand (template, notices, count)
                                         : render_webhook_json (notices, count);
                if (template)
                    type = s_template_type (template);
                break;
            case CHANNEL_SLACK:
                attempt->body = render_slack_json (notices, count);
                break;
            case CHANNEL_DISCORD:
                attempt->body = render_discord_json (notices, count);
                break;
            case CHANNEL_EMAIL:
                attempt->body = render_email (notices, count, self->smtp_from, to,
                                              sq_wallclock_us ());
                break;
            default:
                break;
        }
        if (attempt->body && attempt->kind == CHANNEL_EMAIL) {
            channel_smtp_t smtp = {
                .url = self->smtp_url, .from = self->smtp_from, .user = self->smtp_user,
                .password = self->smtp_password, .ca_file = self->smtp_ca_file,
            };
            attempt->upload.data = attempt->body;
            attempt->upload.size = strlen (attempt->body);
            rc = channel_smtp_setup (attempt->easy, &smtp, to, &attempt->upload, timeout,
                                     attempt->error, &attempt->list);
        }
        else
        if (attempt->body)
            rc = channel_http_setup (attempt->easy, to, attempt->body, type, timeout,
                                     attempt->error, &attempt->list);
        if (rc == 0)
            curl_multi_add_handle (self->multi, attempt->easy);
        else
            snprintf (why, sizeof (why), "%s", !attempt->body ? "out of memory rendering the message"
                                               : attempt->error [0] ? attempt->error
                                               : "could not set up the transfer");
    }
    free (notices);
    if (rc)
        s_attempt_ended (self, attempt, false, why);
}

//  Start what the book says to start now; nothing before the first owner
//  list, which says where an owner's notices go (after a restart the
//  outbox's pending deliveries are loaded before the list arrives).
static void
s_start_attempts (self_t *self)
{
    if (!self->owners_known)
        return;
    delivery_attempt_t batch;
    while (delivery_book_next (self->book, s_wall_ms (), &batch))
        s_attempt_start (self, &batch);
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
        attempt_t *attempt = NULL;
        curl_easy_getinfo (info->easy_handle, CURLINFO_PRIVATE, (char **) &attempt);
        CURLcode code = info->data.result;
        bool ok = channel_transfer_ok (attempt->easy, code);
        char why [CURL_ERROR_SIZE + 32];
        long status = 0;
        curl_easy_getinfo (attempt->easy, CURLINFO_RESPONSE_CODE, &status);
        if (code != CURLE_OK)
            snprintf (why, sizeof (why), "%s", attempt->error [0] ? attempt->error
                                                                  : curl_easy_strerror (code));
        else
            snprintf (why, sizeof (why), "answered %ld", status);
        s_attempt_ended (self, attempt, ok, why);
    }
}

static bool
s_commands_running (self_t *self)
{
    for (attempt_t *attempt = (attempt_t *) zlistx_first (self->attempts); attempt;
         attempt = (attempt_t *) zlistx_next (self->attempts))
        if (attempt->pid > 0)
            return true;
    return false;
}

static void
s_handle_commands (self_t *self)
{
    int64_t now = zclock_mono ();
    attempt_t *attempt = (attempt_t *) zlistx_first (self->attempts);
    while (attempt) {
        attempt_t *next = (attempt_t *) zlistx_next (self->attempts);
        if (attempt->pid > 0) {
            bool ok = false;
            char why [256] = "";
            int rc = channel_command_poll (attempt->pid, &ok, why, sizeof (why));
            if (rc != 0) {
                attempt->pid = 0;      //  reaped (or gone)
                s_attempt_ended (self, attempt, rc == 1 && ok, rc == 1 ? why : "lost the child");
            }
            else
            if (now >= attempt->deadline) {
                s_attempt_ended (self, attempt, false, "command timed out, killed");
            }
        }
        attempt = next;
    }
}


//  --------------------------------------------------------------------------
//  Notices: from an alert the policy lets through, or from the policy's tick

//  The receivers of owner's notices (plus the global webhook), as keys.
static size_t
s_receivers (self_t *self, const char *owner_name, char keys [][SQ_NAME_MAX + 16], size_t max)
{
    size_t count = 0;
    const sq_owner_t *owner = *owner_name
        ? (const sq_owner_t *) zhashx_lookup (self->owners, owner_name) : NULL;
    if (owner) {
        for (int kind = 0; kind < CHANNEL_COUNT && count < max; kind++) {
            const char *template;
            if (s_destination (self, (channel_kind_t) kind, owner_name, &template))
                outbox_receiver_key ((channel_kind_t) kind, owner_name, keys [count++],
                                     SQ_NAME_MAX + 16);
        }
    }
    if (self->notify_url && count < max
    &&  !(owner && streq (owner->webhook, self->notify_url)))
        outbox_receiver_key (CHANNEL_WEBHOOK, "", keys [count++], SQ_NAME_MAX + 16);
    return count;
}

//  Record and queue one notice about the site of alert; extra holds the
//  kind's own fields (changes, cert_expiry, days_left), or NULL.
static void
s_make_notice_with (self_t *self, notice_kind_t kind, const sq_alert_t *alert,
                    const notice_t *extra)
{
    notice_t notice;
    memset (&notice, 0, sizeof (notice));
    if (extra)
        notice = *extra;
    notice.id = 0;
    notice.kind = kind;
    notice.alert = *alert;
    if (kind != NOTICE_ALERT)
        notice.alert.seq = 0;       //  not the alert itself: not de-duplicated by seq
    notice.at_us = sq_wallclock_us ();
    const site_t *site = (const site_t *) zhashx_lookup (self->sites,
                                                         (void *) (uintptr_t) alert->site_id);
    snprintf (notice.owner, sizeof (notice.owner), "%s", site ? site->owner : "");
    char keys [CHANNEL_COUNT + 1][SQ_NAME_MAX + 16];
    size_t count = s_receivers (self, notice.owner, keys, CHANNEL_COUNT + 1);
    const char *receivers [CHANNEL_COUNT + 1];
    for (size_t index = 0; index < count; index++)
        receivers [index] = keys [index];
    char shown [SQ_URL_MAX + 1];
    sq_url_shown (alert->url, shown, sizeof (shown));
    int rc = outbox_add (self->outbox, &notice, receivers, count);
    if (rc < 0) {
        //  Not recorded (the disk, a lock): sent all the same, only not
        //  durable, under an id of its own that no outbox row will ever
        //  take (a rolled-back insert gives its id to the next one).
        self->counters [NOTIFIER_outbox_errors]++;
        notice.id = S_MEMORY_IDS + ++self->memory_notices;
        zsys_error ("notifier: notice for %s not recorded in the outbox; sending it anyway, "
                    "but a restart before it is delivered loses it", shown);
    }
    if (rc == 1)
        return;                     //  recorded before: its deliveries are loaded already
    self->counters [NOTIFIER_notices]++;
    if (notice.id > self->last_notice && notice.id < S_MEMORY_IDS)
        self->last_notice = notice.id;
    zsys_info ("notifier: %s %s is %s (was %s): %s %s; telling %s%s", notice_kind_name (kind),
               shown, sq_state_name ((sq_state_t) alert->state),
               sq_state_name ((sq_state_t) alert->previous),
               sq_reason_name ((sq_reason_t) alert->reason), alert->detail,
               notice.owner [0] ? notice.owner : "nobody in particular",
               count ? "" : " (no channel: this log line is all)");
    int64_t now = s_wall_ms ();
    for (size_t index = 0; index < count; index++) {
        s_notice_hold (self, &notice);
        delivery_book_add (self->book, receivers [index], notice.id, now, now);
    }
}

static void
s_make_notice (self_t *self, notice_kind_t kind, const sq_alert_t *alert, uint32_t changes)
{
    notice_t extra = { .changes = changes };
    s_make_notice_with (self, kind, alert, &extra);
}

static void
s_policy_notice (notice_kind_t kind, const sq_alert_t *latest, uint32_t changes, void *arg)
{
    s_make_notice ((self_t *) arg, kind, latest, changes);
}

//  Take one ALERT, once, whichever way it came.
static void
s_take_alert (self_t *self, const sq_alert_t *alert, bool from_store)
{
    void *key = (void *) (uintptr_t) alert->seq;
    if (zhashx_lookup (self->taken, key))
        return;
    if (alert->seq <= self->received) {
        //  The feed never repeats itself and catch-up reads above the mark,
        //  so this is a seq used twice: the collector counted it, stopped
        //  before the store kept it, and counted it again.  A different
        //  change under an old number is still news.
        if (from_store || outbox_has_alert (self->outbox, alert->seq, alert->site_id, alert->since))
            return;
        zsys_warning ("notifier: alert #%llu reuses a seq already taken; taking it all the same",
                      (unsigned long long) alert->seq);
    }
    else
        zhashx_insert (self->taken, key, (void *) 1);
    self->counters [NOTIFIER_alerts]++;
    if (from_store) {
        self->counters [NOTIFIER_caught_up]++;
        zsys_info ("notifier: alert #%llu was missed on the feed; read from the store",
                   (unsigned long long) alert->seq);
    }
    if (alert->seq > self->seen_seq)
        self->seen_seq = alert->seq;

    policy_verdict_t verdict = policy_alert (self->policy, alert, sq_wallclock_us ());
    if (verdict == POLICY_SEND)
        s_make_notice (self, NOTICE_ALERT, alert, 0);
    else
    if (verdict == POLICY_FLAPPING) {
        const site_t *site = (const site_t *) zhashx_lookup (self->sites,
                                                             (void *) (uintptr_t) alert->site_id);
        notice_t extra = {
            .changes = site ? site->flap_changes + 1 : 0,
            .window_ms = site ? site->flap_window_ms : 0,
        };
        s_make_notice_with (self, NOTICE_FLAPPING, alert, &extra);
    }
    else {
        self->counters [NOTIFIER_hushed]++;
        char shown [SQ_URL_MAX + 1];
        sq_url_shown (alert->url, shown, sizeof (shown));
        zsys_info ("notifier: %s is %s: told to nobody (%s)", shown,
                   sq_state_name ((sq_state_t) alert->state), policy_verdict_name (verdict));
    }
    if (alert->seq <= self->received)
        return;
    //  Move the received mark over every seq taken in a row.
    uint64_t before = self->received;
    while (zhashx_lookup (self->taken, (void *) (uintptr_t) (self->received + 1))) {
        self->received++;
        zhashx_delete (self->taken, (void *) (uintptr_t) self->received);
    }
    if (self->received != before && outbox_set_received (self->outbox, self->received))
        self->counters [NOTIFIER_outbox_errors]++;
    //  Seqs taken above the mark mean one below them is missing.
    if (zhashx_size (self->taken) == 0)
        self->hole_since = 0;
    else
    if (self->received != before || !self->hole_since)
        self->hole_since = zclock_mono ();
}

//  Alerts the store has above the received mark: those missed on the
//  feed (published while we were down or not yet connected).
static void
s_caught_up (const sq_alert_t *alert, void *arg)
{
    self_t *self = (self_t *) arg;
    self->catch_up_last = alert->seq;
    s_take_alert (self, alert, true);
}

static void
s_catch_up (self_t *self)
{
    self->next_catch_up = zclock_mono () + S_CATCH_UP_MS;
    if (!self->store)
        return;
    uint64_t since = self->received;
    self->catch_up_last = since;
    int rows;
    do {
        uint64_t before = self->received;
        rows = store_alerts (self->store, since, 0, S_CATCH_UP_BATCH, s_caught_up, self);
        //  A seq that neither the feed nor the store has, long after later
        //  ones arrived, was never stored (the collector stopped between
        //  counting it and writing it): go past it, or the mark would
        //  stay there for good.
        if (rows >= 0 && self->received == before && self->hole_since
        &&  self->catch_up_last > self->received + 1
        &&  zclock_mono () - self->hole_since > S_HOLE_SKIP_MS) {
            zsys_warning ("notifier: alert #%llu is neither on the feed nor in the store; "
                          "going on without it", (unsigned long long) (self->received + 1));
            self->received++;
            while (zhashx_lookup (self->taken, (void *) (uintptr_t) (self->received + 1))) {
                self->received++;
                zhashx_delete (self->taken, (void *) (uintptr_t) self->received);
            }
            outbox_set_received (self->outbox, self->received);
            self->hole_since = zhashx_size (self->taken) ? zclock_mono () : 0;
        }
        since = self->received > self->catch_up_last ? self->received : self->catch_up_last;
    } while (rows == S_CATCH_UP_BATCH);
}


//  Certificates: the store keeps each check's certificate end; a site
//  whose certificate has passed one of its cert_warn_days thresholds gets
//  one CERT notice per threshold and certificate (the outbox remembers).
static void
s_cert_seen (uint64_t site_id, int64_t expiry, void *arg)
{
    self_t *self = (self_t *) arg;
    const site_t *site = (const site_t *) zhashx_lookup (self->sites, (void *) (uintptr_t) site_id);
    if (!site)
        return;
    int32_t days_left = notice_days_left (expiry, sq_wallclock_us () / 1000000);
    int32_t threshold = notice_cert_threshold (&site->cert_warn_days, days_left);
    if (threshold < 0 || outbox_cert_warned (self->outbox, site_id, expiry, threshold))
        return;
    sq_alert_t alert;
    memset (&alert, 0, sizeof (alert));
    alert.site_id = site_id;
    snprintf (alert.url, sizeof (alert.url), "%s", site->url);
    alert.since = sq_wallclock_us ();
    snprintf (alert.detail, sizeof (alert.detail), "certificate ends in %d days", days_left);
    notice_t extra = { .cert_expiry = expiry, .days_left = days_left };
    s_make_notice_with (self, NOTICE_CERT, &alert, &extra);
}

static void
s_prune (self_t *self)
{
    self->next_prune = zclock_mono () + S_PRUNE_EVERY_MS;
    int64_t now_us = sq_wallclock_us ();
    int deleted = outbox_prune (self->outbox, now_us - S_OUTBOX_KEEP_US, now_us / 1000000);
    if (deleted < 0)
        self->counters [NOTIFIER_outbox_errors]++;
    else
    if (deleted > 0)
        zsys_info ("notifier: pruned %d outbox rows older than 30 days", deleted);
}

static void
s_check_certs (self_t *self)
{
    self->next_cert_check = zclock_mono () + S_CERT_EVERY_MS;
    if (self->store)
        store_cert_expiries (self->store, s_cert_seen, self);
}


//  --------------------------------------------------------------------------
//  Sites and owners, from the pipe

static void
s_set_owners (self_t *self, zmsg_t *batch)
{
    zhashx_purge (self->owners);
    sq_msg_t msg;
    int rc;
    sq_batch_reader_t reader = { .batch = batch };
    while ((rc = sq_batch_next (&reader, SQ_MSG_OWNER, &msg, "notifier",
                                &self->counters [NOTIFIER_malformed])) != 0) {
        if (rc < 0)
            continue;
        sq_owner_t *owner = (sq_owner_t *) malloc (sizeof (sq_owner_t));
        assert (owner);
        *owner = msg.owner;
        zhashx_update (self->owners, owner->name, owner);
    }
}

static void
s_set_sites (self_t *self, zmsg_t *batch)
{
    zhashx_t *fresh = sq_id_table_new (sq_free_item);
    sq_site_t site;
    int rc;
    sq_batch_reader_t reader = { .batch = batch };
    while ((rc = sq_sites_next (&reader, &site, "notifier",
                                &self->counters [NOTIFIER_malformed])) != 0) {
        if (rc < 0 || site.canary)
            continue;           //  a canary has no owner to tell
        size_t url_size = strlen (site.url) + 1;
        site_t *entry = (site_t *) calloc (1, sizeof (site_t) + url_size);
        assert (entry);
        snprintf (entry->owner, sizeof (entry->owner), "%s", site.owner);
        memcpy (entry->url, site.url, url_size);
        entry->cert_warn_days = site.cert_warn_days;
        entry->flap_changes = site.flap_changes;
        entry->flap_window_ms = site.flap_window_ms;
        zhashx_update (fresh, (void *) (uintptr_t) site.site_id, entry);
        const sq_owner_t *owner = site.owner [0]
            ? (const sq_owner_t *) zhashx_lookup (self->owners, site.owner) : NULL;
        policy_site_t settings = {
            .remind_every_ms = owner && owner->quiet ? 0 : site.remind_every_ms,
            .flap_changes = site.flap_changes,
            .flap_window_ms = site.flap_window_ms,
            .site_windows = site.maintenance,
        };
        if (owner) {
            settings.owner_windows = owner->maintenance;
            settings.notify_degraded = owner->notify_degraded;
        }
        policy_set_site (self->policy, site.site_id, &settings);
    }
    //  Sites gone from the list are forgotten by the policy too.
    for (site_t *entry = (site_t *) zhashx_first (self->sites); entry;
         entry = (site_t *) zhashx_next (self->sites)) {
        const void *key = zhashx_cursor (self->sites);
        if (!zhashx_lookup (fresh, key))
            policy_remove_site (self->policy, (uint64_t) (uintptr_t) key);
    }
    zhashx_destroy (&self->sites);
    self->sites = fresh;
}


//  --------------------------------------------------------------------------
//  Pipe and feed

//  A SYNC is answered once its ALERT was taken and every notice made up
//  to then has ended its deliveries.
static void
s_answer_syncs (self_t *self)
{
    sync_t *sync = (sync_t *) zlistx_first (self->syncs);
    while (sync) {
        void *cursor = zlistx_cursor (self->syncs);
        sync_t *next = (sync_t *) zlistx_next (self->syncs);
        if (!sync->seen && self->seen_seq >= sync->seq) {
            sync->seen = true;
            sync->notice = self->last_notice;
        }
        if (sync->seen && (sync->notice == 0 || delivery_book_settled (self->book, sync->notice))) {
            zstr_sendf (self->pipe, "OK %llu", (unsigned long long) sync->seq);
            zlistx_delete (self->syncs, cursor);
        }
        sync = next;
    }
}

static void
s_send_stats (self_t *self)
{
    self->counters [NOTIFIER_pending] = delivery_book_pending (self->book);
    uint64_t pending [CHANNEL_COUNT];
    if (outbox_pending_counts (self->outbox, pending) == 0)
        for (int kind = 0; kind < CHANNEL_COUNT; kind++)
            self->counters [s_channel_counters [kind][2]] = pending [kind];
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
    if (streq (command, SQ_CMD_OWNERS)) {
        s_set_owners (self, rest);
        self->owners_known = true;
        zsock_signal (self->pipe, 0);
    }
    else
    if (strncmp (command, SQ_CMD_SYNC, sync_size) == 0 && command [sync_size] == ' ') {
        sync_t *sync = (sync_t *) calloc (1, sizeof (sync_t));
        assert (sync);
        sync->seq = strtoull (command + sync_size + 1, NULL, 10);
        zlistx_add_end (self->syncs, sync);
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
    if (sq_metrics_refusal (sq_wire_recv_expect (self->feed, topic, &topic_size, &msg,
                             SQ_WIRE_TYPE (SQ_MSG_ALERT), "notifier: dropped a frame from the feed",
                             &self->counters [NOTIFIER_malformed]), SQ_ACTOR_NOTIFIER)
        != SQ_PROTO_OK)
        return;
    const sq_alert_t *alert = &msg.alert;
    //  A gap: the store has what we missed (once it committed it).
    uint64_t highest = self->seen_seq > self->received ? self->seen_seq : self->received;
    if (alert->seq > highest + 1 && highest) {
        self->counters [NOTIFIER_gaps] += alert->seq - highest - 1;
        zsys_warning ("notifier: missed %llu alerts before #%llu on the feed; reading them "
                      "from the store", (unsigned long long) (alert->seq - highest - 1),
                      (unsigned long long) alert->seq);
        self->next_catch_up = zclock_mono ();
    }
    s_take_alert (self, alert, false);
}


//  --------------------------------------------------------------------------
//  Life cycle

static void
s_restore_pending (const notice_t *notice, const char *receiver, void *arg)
{
    self_t *self = (self_t *) arg;
    s_notice_hold (self, notice);
    if (notice->id > self->last_notice)
        self->last_notice = notice->id;
    delivery_book_add (self->book, receiver, notice->id, notice->at_us / 1000, s_wall_ms ());
}

//  What each site's owner was last told, from the outbox, until the
//  store says what the site did last.  The notice's alert itself (2.4 KB)
//  is not kept: only a site the store lacks needs it, and a second pass
//  over the outbox finds those (at 100,000 alerted sites, keeping every
//  alert was 240 MB and most of a restart's time).
typedef struct {
    sq_state_t state;           //  told this
    int64_t at_us;              //  then
} told_t;

static void
s_restore_told (const sq_alert_t *latest, int64_t told_us, void *arg)
{
    told_t *told = (told_t *) malloc (sizeof (told_t));
    assert (told);
    told->state = (sq_state_t) latest->state;
    told->at_us = told_us;
    zhashx_update ((zhashx_t *) arg, (void *) (uintptr_t) latest->site_id, told);
}

typedef struct {
    self_t *self;
    zhashx_t *told;             //  site id -> told_t *
} restore_t;

static void
s_restore_latest (const sq_alert_t *latest, void *arg)
{
    restore_t *restore = (restore_t *) arg;
    void *key = (void *) (uintptr_t) latest->site_id;
    told_t *told = (told_t *) zhashx_lookup (restore->told, key);
    policy_restore (restore->self->policy, latest, told ? told->state : (sq_state_t) latest->state,
                    told ? told->at_us : 0);
    if (told)
        zhashx_delete (restore->told, key);
}

//  Second pass: a site the store did not know (no store, or pruned) is
//  restored from its notice.
static void
s_restore_unstored (const sq_alert_t *latest, int64_t told_us, void *arg)
{
    restore_t *restore = (restore_t *) arg;
    void *key = (void *) (uintptr_t) latest->site_id;
    if (zhashx_lookup (restore->told, key)) {
        policy_restore (restore->self->policy, latest, (sq_state_t) latest->state, told_us);
        zhashx_delete (restore->told, key);
    }
}

//  The policy after a restart: each site's latest alert from the store,
//  what its owner was last told from the outbox.  A site whose newest
//  change was hushed (maintenance, flapping) is thus known to differ from
//  what its owner heard.
static void
s_restore_policy (self_t *self)
{
    restore_t restore = { self, sq_id_table_new (sq_free_item) };
    outbox_each_latest (self->outbox, s_restore_told, restore.told);
    if (self->store)
        store_latest_alerts (self->store, s_restore_latest, &restore);
    if (zhashx_size (restore.told))
        outbox_each_latest (self->outbox, s_restore_unstored, &restore);
    zhashx_destroy (&restore.told);
}

//  Read the SMTP password file: first line, without its line end.
static char *
s_read_password (const char *path, char *error, size_t error_size)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (error, error_size, "cannot read the smtp password_file %s: %s", path,
                  strerror (errno));
        return NULL;
    }
    char buffer [S_PASSWORD_MAX + 2] = "";
    if (!fgets (buffer, sizeof (buffer), file))
        buffer [0] = '\0';
    fclose (file);
    buffer [strcspn (buffer, "\r\n")] = '\0';
    return strdup (buffer);
}

static void
s_say_undelivered (self_t *self)
{
    size_t pending = delivery_book_pending (self->book);
    if (pending)
        zsys_warning ("notifier: stopping with %zu deliveries pending%s", pending,
                      self->data_dir ? "; they are in the outbox and go out at the next start"
                                     : " (no data folder: they are lost)");
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    if (self->book)
        s_say_undelivered (self);
    if (self->attempts) {
        attempt_t *attempt;
        while ((attempt = (attempt_t *) zlistx_first (self->attempts)))
            s_attempt_destroy (self, &attempt);
        zlistx_destroy (&self->attempts);
    }
    delivery_book_destroy (&self->book);
    policy_destroy (&self->policy);
    outbox_close (&self->outbox);
    store_close (&self->store);
    if (self->multi)
        curl_multi_cleanup (self->multi);
    zhashx_destroy (&self->owners);
    zhashx_destroy (&self->sites);
    zhashx_destroy (&self->notices);
    zhashx_destroy (&self->taken);
    zlistx_destroy (&self->syncs);
    zlistx_destroy (&self->ended_ok);
    zlistx_destroy (&self->ended_failed);
    zsock_destroy (&self->feed);
    free (self->notify_url);
    free (self->data_dir);
    free (self->smtp_url);
    free (self->smtp_from);
    free (self->smtp_user);
    free (self->smtp_ca_file);
    if (self->smtp_password) {
        //  Not left behind in freed memory.
        memset (self->smtp_password, 0, strlen (self->smtp_password));
        free (self->smtp_password);
    }
    free (self);
    *self_p = NULL;
}

static char *
s_strdup_or_null (const char *text)
{
    return text && *text ? strdup (text) : NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const notifier_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->args = *args;
    notifier_settings_t *settings = &self->args.settings;
    if (!settings->timeout_ms)
        settings->timeout_ms = SQ_NOTIFY_TIMEOUT_MS;
    self->notify_url = s_strdup_or_null (args->notify_url);
    self->data_dir = s_strdup_or_null (args->data_dir);
    self->smtp_url = s_strdup_or_null (settings->smtp_url);
    self->smtp_from = s_strdup_or_null (settings->smtp_from);
    self->smtp_user = s_strdup_or_null (settings->smtp_user);
    self->smtp_ca_file = s_strdup_or_null (settings->smtp_ca_file);
    //  The settings' strings are the caller's: ours from here on.
    settings->smtp_url = settings->smtp_from = settings->smtp_user = NULL;
    settings->smtp_password_file = settings->smtp_ca_file = NULL;
    if (args->settings.smtp_password_file
    &&  !(self->smtp_password = s_read_password (args->settings.smtp_password_file, error,
                                                 error_size))) {
        s_self_destroy (&self);
        return NULL;
    }
    //  The book applies the defaults of the rest.
    delivery_policy_t policy = {
        .retry_first_ms = settings->retry_first_ms, .retry_max_ms = settings->retry_max_ms,
        .give_up_ms = settings->give_up_ms, .digest_after = settings->digest_after,
        .digest_window_ms = settings->digest_window_ms,
    };
    self->book = delivery_book_new (&policy, s_item_ended, self);
    self->policy = policy_new ();
    self->owners = zhashx_new ();
    assert (self->owners);
    zhashx_set_destructor (self->owners, sq_free_item);
    self->sites = sq_id_table_new (sq_free_item);
    self->notices = sq_id_table_new (sq_free_item);
    self->taken = sq_id_table_new (NULL);
    self->attempts = zlistx_new ();
    self->syncs = zlistx_new ();
    self->ended_ok = zlistx_new ();
    self->ended_failed = zlistx_new ();
    zlistx_set_destructor (self->syncs, sq_free_item);
    self->multi = curl_multi_init ();
    self->feed = zsock_new (ZMQ_SUB);
    assert (self->book && self->policy && self->attempts && self->syncs && self->multi
            && self->feed);
    self->outbox = outbox_open (self->data_dir, error, error_size);
    if (!self->outbox) {
        s_self_destroy (&self);
        return NULL;
    }
    if (self->data_dir) {
        char store_error [256];
        self->store = store_open (self->data_dir, store_error, sizeof (store_error));
        if (!self->store)
            zsys_error ("notifier: cannot read the store, so alerts missed on the feed are "
                        "not caught up: %s", store_error);
    }
    //  A new outbox starts at the store's newest alert: the history
    //  before it was someone else's to deliver.
    if (outbox_is_new (self->outbox)) {
        uint64_t last = 0;
        if (self->store)
            store_last_seq (self->store, &last);
        outbox_set_received (self->outbox, last);
    }
    self->received = outbox_received (self->outbox);
    self->seen_seq = self->received;
    s_restore_policy (self);
    int pending = outbox_each_pending (self->outbox, s_restore_pending, self);
    if (pending > 0)
        zsys_info ("notifier: %d deliveries pending from before the restart", pending);

    zsock_set_subscribe (self->feed, "");
    zsock_set_rcvhwm (self->feed, 0);
    if (zsock_connect (self->feed, "%s", args->feed) < 0) {
        snprintf (error, error_size, "cannot connect %s", args->feed);
        s_self_destroy (&self);
        return NULL;
    }
    self->next_catch_up = zclock_mono ();
    self->next_tick = zclock_mono () + SQ_NOTIFY_TICK_MS;
    self->next_cert_check = zclock_mono () + S_CERT_FIRST_MS;
    self->next_prune = zclock_mono () + S_CERT_FIRST_MS;
    return self;
}

//  How long to sleep: until the book, the catch-up or the tick has work,
//  a second at most, S_COMMAND_POLL_MS while a command runs.
static int
s_poll_timeout (self_t *self)
{
    int64_t now = zclock_mono ();
    int64_t until = now + 1000;
    if (self->next_catch_up < until)
        until = self->next_catch_up;
    if (self->next_tick < until)
        until = self->next_tick;
    if (self->next_cert_check < until)
        until = self->next_cert_check;
    int64_t wakeup = delivery_book_wakeup (self->book);
    if (wakeup >= 0) {
        int64_t in = wakeup - s_wall_ms ();
        if (now + in < until)
            until = now + (in > 0 ? in : 0);
    }
    if (s_commands_running (self) && now + S_COMMAND_POLL_MS < until)
        until = now + S_COMMAND_POLL_MS;
    return until > now ? (int) (until - now) : 0;
}

void
notifier_actor (zsock_t *pipe, void *args)
{
    char error [512] = "";
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
        if (zclock_mono () >= self->next_catch_up)
            s_catch_up (self);
        if (zclock_mono () >= self->next_tick) {
            self->next_tick = zclock_mono () + SQ_NOTIFY_TICK_MS;
            policy_tick (self->policy, sq_wallclock_us (), s_policy_notice, self);
        }
        if (zclock_mono () >= self->next_cert_check)
            s_check_certs (self);
        if (zclock_mono () >= self->next_prune)
            s_prune (self);
        s_handle_transfers (self);
        s_handle_commands (self);
        s_start_attempts (self);
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
