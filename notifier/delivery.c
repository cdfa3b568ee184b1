/*  delivery.c: see delivery.h.

    One list per state, each in the order its deliveries entered it, and a
    table from id to delivery that owns them.  A delivery changes state only
    through s_enter, and s_enter is called only by the five transition
    functions below, one per target state; each says which states it leaves.
    The book does not log: it returns what changed and the notifier, which
    knows the receiver's error text, writes the line.

    Trade-off: picking the earliest due retry and answering "settled" scan
    their lists (linear in the number of pending deliveries).  A notifier
    holds a few hundred at most (64 in flight, the rest waiting a few
    seconds), so a heap would buy nothing yet; the durable outbox will
    index by due time instead.

    The containers are CZMQ's (zlistx, zhashx): plain data structures, no
    sockets.
*/
#include "delivery.h"
#include "sq_actor.h"           //  sq_id_table_new
#include "sq_defaults.h"

#include <curl/curl.h>          //  CURLE_OK only: no libcurl calls here
#include <string.h>

//  Doubling stops here, so a large attempts setting cannot overflow the
//  shift: backoff_ms << 20 is already days for any sane backoff.
#define DELIVERY_DOUBLINGS_MAX  20

struct _delivery_book_t {
    delivery_policy_t policy;   //  the policy, defaults applied
    zlistx_t *lists [DELIVERY_STATE_COUNT]; //  deliveries per state, oldest entry first
    zhashx_t *deliveries;       //  id -> delivery_t *, owns them
    uint64_t last_id;           //  id given to the newest delivery
};

static const char *s_state_names [DELIVERY_STATE_COUNT] = {
    "queued", "active", "waiting", "delivered", "given up"
};

static delivery_policy_t
s_policy_with_defaults (const delivery_policy_t *policy)
{
    delivery_policy_t result = policy ? *policy : (delivery_policy_t) { 0 };
    if (!result.attempts)
        result.attempts = SQ_NOTIFY_ATTEMPTS;
    if (!result.backoff_ms)
        result.backoff_ms = SQ_NOTIFY_BACKOFF_MS;
    if (!result.parallel)
        result.parallel = SQ_NOTIFY_PARALLEL;
    return result;
}

static void
s_delivery_destroy (void **item)
{
    delivery_t *delivery = (delivery_t *) *item;
    if (delivery) {
        free (delivery->site_url);
        free (delivery->url);
        free (delivery->body);
        free (delivery);
    }
    *item = NULL;
}


//  --------------------------------------------------------------------------
//  State transitions: s_enter moves a delivery; only the functions after
//  it call it, each the one way into its state.

static void
s_enter (delivery_book_t *self, delivery_t *delivery, delivery_state_t state)
{
    if (delivery->handle)
        zlistx_detach (self->lists [delivery->state], delivery->handle);
    delivery->state = state;
    delivery->handle = zlistx_add_end (self->lists [state], delivery);
    assert (delivery->handle);
}

//  (new) -> QUEUED
static void
s_queue (delivery_book_t *self, delivery_t *delivery)
{
    assert (!delivery->handle && delivery->attempt == 0);
    s_enter (self, delivery, DELIVERY_QUEUED);
}

//  QUEUED or WAITING -> ACTIVE: one more attempt starts.
static void
s_activate (delivery_book_t *self, delivery_t *delivery)
{
    assert (delivery->state == DELIVERY_QUEUED || delivery->state == DELIVERY_WAITING);
    assert (delivery->attempt < self->policy.attempts);
    delivery->attempt++;
    delivery->due = 0;
    s_enter (self, delivery, DELIVERY_ACTIVE);
}

//  ACTIVE -> WAITING: the attempt failed and another is allowed.
static void
s_wait (delivery_book_t *self, delivery_t *delivery, int64_t now)
{
    assert (delivery->state == DELIVERY_ACTIVE);
    assert (delivery->attempt < self->policy.attempts);
    delivery->due = now + delivery_retry_delay (&self->policy, delivery->attempt);
    s_enter (self, delivery, DELIVERY_WAITING);
}

//  ACTIVE -> DELIVERED: the attempt worked.
static void
s_deliver (delivery_book_t *self, delivery_t *delivery)
{
    assert (delivery->state == DELIVERY_ACTIVE);
    s_enter (self, delivery, DELIVERY_DELIVERED);
}

//  ACTIVE -> GIVEN_UP: the last allowed attempt failed.
static void
s_give_up (delivery_book_t *self, delivery_t *delivery)
{
    assert (delivery->state == DELIVERY_ACTIVE);
    assert (delivery->attempt >= self->policy.attempts);
    s_enter (self, delivery, DELIVERY_GIVEN_UP);
}


//  --------------------------------------------------------------------------
//  Life cycle

delivery_book_t *
delivery_book_new (const delivery_policy_t *policy)
{
    delivery_book_t *self = (delivery_book_t *) calloc (1, sizeof (delivery_book_t));
    assert (self);
    self->policy = s_policy_with_defaults (policy);
    for (size_t state = 0; state < DELIVERY_STATE_COUNT; state++) {
        self->lists [state] = zlistx_new ();
        assert (self->lists [state]);
    }
    self->deliveries = sq_id_table_new (s_delivery_destroy);
    return self;
}

void
delivery_book_destroy (delivery_book_t **self_p)
{
    assert (self_p);
    delivery_book_t *self = *self_p;
    if (!self)
        return;
    for (size_t state = 0; state < DELIVERY_STATE_COUNT; state++)
        zlistx_destroy (&self->lists [state]);
    zhashx_destroy (&self->deliveries);
    free (self);
    *self_p = NULL;
}

delivery_policy_t
delivery_book_policy (delivery_book_t *self)
{
    assert (self);
    return self->policy;
}


//  --------------------------------------------------------------------------
//  Decisions

uint64_t
delivery_book_add (delivery_book_t *self, uint64_t seq, const char *site_url,
                   const char *url, const char *body)
{
    assert (self && site_url && url && body);
    delivery_t *delivery = (delivery_t *) calloc (1, sizeof (delivery_t));
    assert (delivery);
    delivery->id = ++self->last_id;
    delivery->seq = seq;
    delivery->site_url = strdup (site_url);
    delivery->url = strdup (url);
    delivery->body = strdup (body);
    assert (delivery->site_url && delivery->url && delivery->body);
    int rc = zhashx_insert (self->deliveries, (void *) (uintptr_t) delivery->id, delivery);
    assert (rc == 0);           //  ids are never reused
    (void) rc;                  //  read by the assert only
    s_queue (self, delivery);
    return delivery->id;
}

//  The WAITING delivery due first (the longest waiting among equals), or NULL.
static delivery_t *
s_earliest_retry (delivery_book_t *self)
{
    zlistx_t *waiting = self->lists [DELIVERY_WAITING];
    delivery_t *earliest = NULL;
    for (delivery_t *delivery = (delivery_t *) zlistx_first (waiting); delivery;
         delivery = (delivery_t *) zlistx_next (waiting))
        if (!earliest || delivery->due < earliest->due)
            earliest = delivery;
    return earliest;
}

static bool
s_slot_free (delivery_book_t *self)
{
    return zlistx_size (self->lists [DELIVERY_ACTIVE]) < self->policy.parallel;
}

uint64_t
delivery_book_next (delivery_book_t *self, int64_t now)
{
    assert (self);
    if (!s_slot_free (self))
        return 0;
    //  A retry that is due goes before anything new: it has waited longer.
    delivery_t *delivery = s_earliest_retry (self);
    if (!delivery || delivery->due > now)
        delivery = (delivery_t *) zlistx_first (self->lists [DELIVERY_QUEUED]);
    if (!delivery)
        return 0;
    s_activate (self, delivery);
    return delivery->id;
}

delivery_state_t
delivery_book_finished (delivery_book_t *self, uint64_t id, int curl_code, long http_status,
                        int64_t now)
{
    assert (self);
    delivery_t *delivery = (delivery_t *) zhashx_lookup (self->deliveries, (void *) (uintptr_t) id);
    assert (delivery && delivery->state == DELIVERY_ACTIVE);
    delivery->curl_code = curl_code;
    delivery->http_status = http_status;
    if (delivery_succeeded (curl_code, http_status))
        s_deliver (self, delivery);
    else
    if (delivery->attempt >= self->policy.attempts)
        s_give_up (self, delivery);
    else
        s_wait (self, delivery, now);
    return delivery->state;
}

void
delivery_book_forget (delivery_book_t *self, uint64_t id)
{
    assert (self);
    delivery_t *delivery = (delivery_t *) zhashx_lookup (self->deliveries, (void *) (uintptr_t) id);
    assert (delivery);
    assert (delivery->state == DELIVERY_DELIVERED || delivery->state == DELIVERY_GIVEN_UP);
    zlistx_detach (self->lists [delivery->state], delivery->handle);
    zhashx_delete (self->deliveries, (void *) (uintptr_t) id);
}

const delivery_t *
delivery_book_lookup (delivery_book_t *self, uint64_t id)
{
    assert (self);
    return (const delivery_t *) zhashx_lookup (self->deliveries, (void *) (uintptr_t) id);
}

int64_t
delivery_book_wakeup (delivery_book_t *self)
{
    assert (self);
    //  Every slot taken: only a finished attempt frees one.
    if (!s_slot_free (self))
        return -1;
    //  New work and a free slot: now (the caller did not take all it could).
    if (zlistx_size (self->lists [DELIVERY_QUEUED]))
        return 0;
    delivery_t *earliest = s_earliest_retry (self);
    return earliest ? earliest->due : -1;
}

size_t
delivery_book_count (delivery_book_t *self, delivery_state_t state)
{
    assert (self && state < DELIVERY_STATE_COUNT);
    return zlistx_size (self->lists [state]);
}

size_t
delivery_book_pending (delivery_book_t *self)
{
    assert (self);
    return zlistx_size (self->lists [DELIVERY_QUEUED])
         + zlistx_size (self->lists [DELIVERY_ACTIVE])
         + zlistx_size (self->lists [DELIVERY_WAITING]);
}

static const delivery_state_t s_pending_states [] = {
    DELIVERY_QUEUED, DELIVERY_ACTIVE, DELIVERY_WAITING
};

bool
delivery_book_settled (delivery_book_t *self, uint64_t seq)
{
    assert (self);
    for (size_t index = 0; index < sizeof (s_pending_states) / sizeof (s_pending_states [0]); index++) {
        zlistx_t *list = self->lists [s_pending_states [index]];
        for (delivery_t *delivery = (delivery_t *) zlistx_first (list); delivery;
             delivery = (delivery_t *) zlistx_next (list))
            if (delivery->seq <= seq)
                return false;
    }
    return true;
}

void
delivery_book_each_pending (delivery_book_t *self, delivery_fn *fn, void *arg)
{
    assert (self && fn);
    for (size_t index = 0; index < sizeof (s_pending_states) / sizeof (s_pending_states [0]); index++) {
        zlistx_t *list = self->lists [s_pending_states [index]];
        for (delivery_t *delivery = (delivery_t *) zlistx_first (list); delivery;
             delivery = (delivery_t *) zlistx_next (list))
            fn (delivery, arg);
    }
}


//  --------------------------------------------------------------------------
//  The rules themselves

bool
delivery_succeeded (int curl_code, long http_status)
{
    return curl_code == CURLE_OK && http_status >= 200 && http_status < 300;
}

int64_t
delivery_retry_delay (const delivery_policy_t *policy, unsigned attempt)
{
    assert (attempt >= 1);
    delivery_policy_t applied = s_policy_with_defaults (policy);
    unsigned doublings = attempt - 1 < DELIVERY_DOUBLINGS_MAX ? attempt - 1 : DELIVERY_DOUBLINGS_MAX;
    return (int64_t) applied.backoff_ms << doublings;
}

const char *
delivery_state_name (delivery_state_t state)
{
    return state < DELIVERY_STATE_COUNT ? s_state_names [state] : "unknown";
}
