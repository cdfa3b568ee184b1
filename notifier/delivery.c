/*  delivery.c: see delivery.h.

    Receivers, not items, are scheduled.  Each receiver keeps its items in
    one list, in the order they were added, and the rules keep that list in
    one shape, read from its head:

        ACTIVE... (the attempt in flight)  or  WAITING... (a failed attempt's)
        then DUE...
        then HELD... (held by the digest window now open)

    So an attempt is always a prefix of the list (it takes DUE items from
    the head and stops at the first HELD), the held items are always a
    suffix, and nothing is ever sorted or searched.

    A receiver with no attempt in flight is in one of three places: the
    ready queue (its head is DUE and its backoff has passed), the timer heap
    (something changes for it at a known time: its retry, or the end of a
    window that holds items) or nowhere (only an add can give it work).
    next first moves the receivers whose time has come from the heap to the
    back of the ready queue, then starts the queue's head.  A receiver whose
    attempt ends queues again behind every receiver already ready: first
    ready, first served, which is "the longest since its turn first".

    Costs, for n pending items and r receivers: add and every transition
    of an item O(log n) (the notice heap, for settled); next O(k log r) for
    the k receivers whose time came; finished O(items of the attempt);
    wakeup, settled, count and pending O(1).

    A receiver's windows and retries are brought up to date whenever the
    book sees it with a time: add, next (from the heap or before an
    attempt) and finished.  A receiver in flight is in no heap, so the
    items its window held read HELD, although the window has ended, until
    its attempt ends.  Trade-off: exact counts for in-flight receivers
    would need a second heap; the decisions do not depend on them, because
    windows are chained from their recorded end, not from when they were
    looked at.

    Trade-off: receivers are never forgotten.  A receiver keeps its digest
    window and its run of failures after its last item ends, and both must
    outlive that item; what it costs is a key and a few counters, for a
    number of receivers bounded by the owners and channels configured.

    Backoff is the receiver's: after a failure nothing goes to it before the
    retry time, not even items that never failed (they join the retry).

    The book does not log: it reports ended items through the callback, and
    the notifier, which knows the receiver's error text, writes the lines.
    The callback must not call into the book (it runs mid-transition).

    The containers are CZMQ's zhashx (plain data structures, no sockets)
    and a small binary heap of our own, which keeps each entry's index so
    that an entry can move or leave.
*/
#include "delivery.h"
#include "sq_defaults.h"

#include <czmq.h>
#include <limits.h>
#include <string.h>

//  A binary min-heap of pointers.  Each entry is told its index whenever
//  it moves, so that it can be updated or removed in O(log n).
typedef bool (heap_before_fn) (const void *one, const void *other);
typedef void (heap_moved_fn) (void *entry, size_t index);

typedef struct {
    void **entries;             //  entries [0] first; each before its children 2i+1, 2i+2
    size_t size;                //  entries in the heap
    size_t limit;               //  entries allocated
    heap_before_fn *before;     //  the order
    heap_moved_fn *moved;       //  tells an entry its new index
} heap_t;

typedef struct _item_t item_t;
struct _item_t {
    uint64_t notice;            //  the notice id (also this item's key in its receiver's table)
    int64_t added;              //  when it was added: give_up_ms counts from here
    delivery_state_t state;     //  DELIVERY_STATE_COUNT until it first enters a state
    item_t *next;               //  the receiver's next item, added after this one
    size_t heap_index;          //  where it is in the book's notice heap
};

//  Where the scheduler has a receiver.
typedef enum {
    RECEIVER_IDLE,              //  nothing to start, no time to wait for: only an add helps
    RECEIVER_READY,             //  in the ready queue: head DUE, backoff passed
    RECEIVER_TIMED,             //  in the timer heap, until its retry or its window's end
    RECEIVER_FLYING             //  its attempt is in flight
} receiver_place_t;

typedef struct _receiver_t receiver_t;
struct _receiver_t {
    char *key;                  //  the receiver's key (its own copy)
    item_t *head;               //  its oldest pending item
    item_t *tail;               //  its newest
    size_t pending;             //  items in the list
    zhashx_t *notices;          //  notice id -> item_t *, to refuse duplicates
    receiver_place_t place;     //  where the scheduler has it
    receiver_t *ready_next;     //  behind it in the ready queue, if READY
    int64_t ready_since;        //  when it became READY
    int64_t timer;              //  its time in the timer heap, if TIMED
    size_t heap_index;          //  its index there
    uint64_t last_turn;         //  the book's turn count at its last attempt; breaks ties
    unsigned failures;          //  failed attempts in a row; 0 after a success
    int64_t retry_at;           //  no attempt before this (INT64_MIN: not failing)
    uint64_t *attempt;          //  notice ids of the attempt in flight, lent to the caller
    size_t attempt_count;       //  its items: the first attempt_count of the list
    bool window_open;           //  a digest window is open
    bool window_holding;        //  it holds every item (it follows one that held)
    int64_t window_end;         //  when it ends
    size_t window_added;        //  items added in it
    item_t *first_held;         //  first HELD item; the HELD ones run from it to tail
    size_t held;                //  HELD items
};

struct _delivery_book_t {
    delivery_policy_t policy;   //  the policy, defaults applied
    delivery_ended_fn *ended;   //  told of every item that ends, or NULL
    void *ended_arg;            //  its argument
    zhashx_t *receivers;        //  key -> receiver_t *, owns them
    receiver_t *ready_head;     //  the ready queue: next to start
    receiver_t *ready_tail;     //  last to have become ready
    heap_t timers;              //  receivers TIMED, earliest time first
    heap_t notices;             //  pending items, lowest notice id first
    size_t counts [DELIVERY_STATE_COUNT];   //  items per state
    size_t flying;              //  receivers with an attempt in flight
    uint64_t turns;             //  attempts started (and receivers made), for last_turn
};

static const char *s_state_names [DELIVERY_STATE_COUNT] = {
    "held", "due", "active", "waiting", "delivered", "given up"
};

static delivery_policy_t
s_policy_with_defaults (const delivery_policy_t *policy)
{
    delivery_policy_t result = policy ? *policy : (delivery_policy_t) { 0 };
    if (!result.parallel)
        result.parallel = SQ_NOTIFY_PARALLEL;
    if (!result.retry_first_ms)
        result.retry_first_ms = SQ_NOTIFY_BACKOFF_MS;
    if (!result.retry_max_ms)
        result.retry_max_ms = SQ_NOTIFY_RETRY_MAX_MS;
    if (!result.give_up_ms)
        result.give_up_ms = SQ_NOTIFY_GIVE_UP_MS;
    if (!result.digest_after)
        result.digest_after = SQ_NOTIFY_DIGEST_AFTER;
    if (!result.digest_window_ms)
        result.digest_window_ms = SQ_NOTIFY_DIGEST_WINDOW_MS;
    if (!result.batch_max)
        result.batch_max = SQ_NOTIFY_BATCH_MAX;
    return result;
}


//  --------------------------------------------------------------------------
//  The heap

static void
s_heap_init (heap_t *heap, heap_before_fn *before, heap_moved_fn *moved)
{
    *heap = (heap_t) { .before = before, .moved = moved };
}

static void
s_heap_put (heap_t *heap, size_t index, void *entry)
{
    heap->entries [index] = entry;
    heap->moved (entry, index);
}

//  Moves the entry at index up or down to where the order wants it.
static void
s_heap_fix (heap_t *heap, size_t index)
{
    void *entry = heap->entries [index];
    while (index > 0 && heap->before (entry, heap->entries [(index - 1) / 2])) {
        s_heap_put (heap, index, heap->entries [(index - 1) / 2]);
        index = (index - 1) / 2;
    }
    while (true) {
        size_t child = 2 * index + 1;
        if (child >= heap->size)
            break;
        if (child + 1 < heap->size && heap->before (heap->entries [child + 1], heap->entries [child]))
            child++;
        if (!heap->before (heap->entries [child], entry))
            break;
        s_heap_put (heap, index, heap->entries [child]);
        index = child;
    }
    s_heap_put (heap, index, entry);
}

static void
s_heap_push (heap_t *heap, void *entry)
{
    if (heap->size == heap->limit) {
        heap->limit = heap->limit ? heap->limit * 2 : 64;
        heap->entries = (void **) realloc (heap->entries, heap->limit * sizeof (void *));
        assert (heap->entries);
    }
    heap->entries [heap->size++] = entry;
    s_heap_fix (heap, heap->size - 1);
}

static void
s_heap_remove (heap_t *heap, size_t index)
{
    assert (index < heap->size);
    heap->size--;
    if (index < heap->size) {
        heap->entries [index] = heap->entries [heap->size];
        s_heap_fix (heap, index);
    }
}

static void *
s_heap_first (heap_t *heap)
{
    return heap->size ? heap->entries [0] : NULL;
}

//  Timers: earliest first; among equal times, the longest since its turn.
static bool
s_timer_before (const void *one, const void *other)
{
    const receiver_t *first = (const receiver_t *) one, *second = (const receiver_t *) other;
    if (first->timer != second->timer)
        return first->timer < second->timer;
    return first->last_turn < second->last_turn;
}

static void
s_timer_moved (void *entry, size_t index)
{
    ((receiver_t *) entry)->heap_index = index;
}

static bool
s_notice_before (const void *one, const void *other)
{
    return ((const item_t *) one)->notice < ((const item_t *) other)->notice;
}

static void
s_notice_moved (void *entry, size_t index)
{
    ((item_t *) entry)->heap_index = index;
}


//  --------------------------------------------------------------------------
//  Receivers and their tables of notice ids

static size_t
s_notice_hash (const void *key)
{
    uint64_t notice = *(const uint64_t *) key;
    notice ^= notice >> 33;
    notice *= 0xff51afd7ed558ccdULL;    //  a 64-bit mixer: ids are sequential
    notice ^= notice >> 33;
    return (size_t) notice;
}

static int
s_notice_compare (const void *one, const void *other)
{
    uint64_t first = *(const uint64_t *) one, second = *(const uint64_t *) other;
    return first < second ? -1 : first > second;
}

static void
s_receiver_destroy (void **self_p)
{
    receiver_t *self = (receiver_t *) *self_p;
    if (self) {
        zhashx_destroy (&self->notices);
        while (self->head) {
            item_t *item = self->head;
            self->head = item->next;
            free (item);
        }
        free (self->attempt);
        free (self->key);
        free (self);
    }
    *self_p = NULL;
}

static receiver_t *
s_receiver_require (delivery_book_t *self, const char *key)
{
    receiver_t *receiver = (receiver_t *) zhashx_lookup (self->receivers, key);
    if (receiver)
        return receiver;
    receiver = (receiver_t *) calloc (1, sizeof (receiver_t));
    assert (receiver);
    receiver->key = strdup (key);
    receiver->notices = zhashx_new ();
    assert (receiver->key && receiver->notices);
    //  Keys are pointers to the items' own notice fields: nothing to copy or free.
    zhashx_set_key_hasher (receiver->notices, s_notice_hash);
    zhashx_set_key_comparator (receiver->notices, s_notice_compare);
    zhashx_set_key_duplicator (receiver->notices, NULL);
    zhashx_set_key_destructor (receiver->notices, NULL);
    receiver->place = RECEIVER_IDLE;
    receiver->retry_at = INT64_MIN;
    receiver->last_turn = ++self->turns;
    int rc = zhashx_insert (self->receivers, key, receiver);
    assert (rc == 0);
    (void) rc;                  //  read by the assert only
    return receiver;
}


//  --------------------------------------------------------------------------
//  Item states: s_enter moves an item and keeps the counts; only the
//  transitions after it call it, one per state entered.

static void
s_enter (delivery_book_t *self, item_t *item, delivery_state_t state)
{
    if (item->state < DELIVERY_STATE_COUNT)
        self->counts [item->state]--;
    item->state = state;
    self->counts [state]++;
}

//  (new) -> HELD: its window has let digest_after through already, or
//  follows one that had to hold.
static void
s_hold (delivery_book_t *self, receiver_t *receiver, item_t *item)
{
    assert (item->state == DELIVERY_STATE_COUNT);
    if (!receiver->first_held)
        receiver->first_held = item;
    receiver->held++;
    s_enter (self, item, DELIVERY_HELD);
}

//  (new) -> DUE: let through by its window; HELD -> DUE: its window ended;
//  WAITING -> DUE: its receiver's retry time came.
static void
s_make_due (delivery_book_t *self, item_t *item)
{
    assert (item->state == DELIVERY_STATE_COUNT || item->state == DELIVERY_HELD
         || item->state == DELIVERY_WAITING);
    s_enter (self, item, DELIVERY_DUE);
}

//  DUE -> ACTIVE: it goes with the attempt starting.
static void
s_activate (delivery_book_t *self, item_t *item)
{
    assert (item->state == DELIVERY_DUE);
    s_enter (self, item, DELIVERY_ACTIVE);
}

//  ACTIVE -> WAITING: its attempt failed and it is young enough to retry.
static void
s_wait (delivery_book_t *self, item_t *item)
{
    assert (item->state == DELIVERY_ACTIVE);
    s_enter (self, item, DELIVERY_WAITING);
}

//  ACTIVE -> DELIVERED: its attempt worked.
static void
s_deliver (delivery_book_t *self, item_t *item)
{
    assert (item->state == DELIVERY_ACTIVE);
    s_enter (self, item, DELIVERY_DELIVERED);
}

//  ACTIVE -> GIVEN_UP: its attempt failed give_up_ms or more after it was added.
static void
s_give_up (delivery_book_t *self, item_t *item)
{
    assert (item->state == DELIVERY_ACTIVE);
    s_enter (self, item, DELIVERY_GIVEN_UP);
}

//  An ended item, already out of its receiver's list: reported, forgotten.
static void
s_item_end (delivery_book_t *self, receiver_t *receiver, item_t *item)
{
    assert (item->state == DELIVERY_DELIVERED || item->state == DELIVERY_GIVEN_UP);
    zhashx_delete (receiver->notices, &item->notice);
    s_heap_remove (&self->notices, item->heap_index);
    receiver->pending--;
    self->counts [item->state]--;
    if (self->ended)
        self->ended (receiver->key, item->notice, item->state, self->ended_arg);
    free (item);
}

static bool
s_too_old (delivery_book_t *self, item_t *item, int64_t now)
{
    //  An item added "in the future" (clocks) is young, and never overflows.
    return now >= item->added && (uint64_t) now - (uint64_t) item->added >= self->policy.give_up_ms;
}


//  --------------------------------------------------------------------------
//  Receiver places: one function per place entered.

//  -> IDLE: nothing to start and nothing timed.
static void
s_park (delivery_book_t *self, receiver_t *receiver)
{
    assert (receiver->place == RECEIVER_IDLE || receiver->place == RECEIVER_TIMED);
    if (receiver->place == RECEIVER_TIMED)
        s_heap_remove (&self->timers, receiver->heap_index);
    receiver->place = RECEIVER_IDLE;
}

//  IDLE or TIMED -> READY: to the back of the ready queue.
static void
s_make_ready (delivery_book_t *self, receiver_t *receiver, int64_t now)
{
    assert (receiver->place == RECEIVER_IDLE || receiver->place == RECEIVER_TIMED);
    if (receiver->place == RECEIVER_TIMED)
        s_heap_remove (&self->timers, receiver->heap_index);
    receiver->place = RECEIVER_READY;
    receiver->ready_since = now;
    receiver->ready_next = NULL;
    if (self->ready_tail)
        self->ready_tail->ready_next = receiver;
    else
        self->ready_head = receiver;
    self->ready_tail = receiver;
}

//  IDLE or TIMED -> TIMED at time: into the heap, or moved in it.
static void
s_time (delivery_book_t *self, receiver_t *receiver, int64_t time)
{
    assert (receiver->place == RECEIVER_IDLE || receiver->place == RECEIVER_TIMED);
    receiver->timer = time;
    if (receiver->place == RECEIVER_TIMED)
        s_heap_fix (&self->timers, receiver->heap_index);
    else
        s_heap_push (&self->timers, receiver);
    receiver->place = RECEIVER_TIMED;
}

//  READY -> FLYING: its due items, from the head, up to batch_max, go.
static void
s_fly (delivery_book_t *self, receiver_t *receiver)
{
    assert (receiver->place == RECEIVER_READY && receiver == self->ready_head);
    self->ready_head = receiver->ready_next;
    if (!self->ready_head)
        self->ready_tail = NULL;
    receiver->ready_next = NULL;

    size_t limit = receiver->pending < self->policy.batch_max ? receiver->pending
                                                              : self->policy.batch_max;
    receiver->attempt = (uint64_t *) malloc (limit * sizeof (uint64_t));
    assert (receiver->attempt);
    receiver->attempt_count = 0;
    for (item_t *item = receiver->head; item && item->state == DELIVERY_DUE
                                     && receiver->attempt_count < limit; item = item->next) {
        s_activate (self, item);
        receiver->attempt [receiver->attempt_count++] = item->notice;
    }
    assert (receiver->attempt_count > 0);
    receiver->place = RECEIVER_FLYING;
    receiver->last_turn = ++self->turns;
    self->flying++;
}

//  FLYING -> IDLE: its attempt ended; s_schedule places it next.
static void
s_land (delivery_book_t *self, receiver_t *receiver)
{
    assert (receiver->place == RECEIVER_FLYING && self->flying > 0);
    free (receiver->attempt);
    receiver->attempt = NULL;
    receiver->attempt_count = 0;
    receiver->place = RECEIVER_IDLE;
    self->flying--;
}


//  --------------------------------------------------------------------------
//  Windows and retries, brought up to date at now

//  Opens a window at start; a holding one holds every item to its end.
static void
s_window_open (delivery_book_t *self, receiver_t *receiver, int64_t start, bool holding)
{
    receiver->window_open = true;
    receiver->window_holding = holding;
    receiver->window_end = start + self->policy.digest_window_ms;
    receiver->window_added = 0;
}

static void
s_catch_up (delivery_book_t *self, receiver_t *receiver, int64_t now)
{
    //  Each window that ended: one that held items frees them and is
    //  followed, from its end, by a holding window; one that held nothing
    //  returns the receiver to normal.  Two turns at most.
    while (receiver->window_open && now >= receiver->window_end) {
        if (receiver->held) {
            for (item_t *item = receiver->first_held; item; item = item->next)
                s_make_due (self, item);
            receiver->first_held = NULL;
            receiver->held = 0;
            s_window_open (self, receiver, receiver->window_end, true);
        }
        else
            receiver->window_open = false;
    }
    //  The retry time came: the failed attempt's items (a prefix) are due again.
    if (receiver->place != RECEIVER_FLYING && now >= receiver->retry_at)
        for (item_t *item = receiver->head; item && item->state == DELIVERY_WAITING;
             item = item->next)
            s_make_due (self, item);
}

//  Puts a receiver not in flight, caught up at now, where it belongs.
static void
s_schedule (delivery_book_t *self, receiver_t *receiver, int64_t now)
{
    if (receiver->place == RECEIVER_FLYING || receiver->place == RECEIVER_READY)
        return;                 //  neither adds nor time can take it from there
    item_t *head = receiver->head;
    if (head && head->state == DELIVERY_DUE && now >= receiver->retry_at)
        s_make_ready (self, receiver, now);
    else {
        int64_t time = INT64_MAX;
        if (head && now < receiver->retry_at)
            time = receiver->retry_at;
        if (receiver->held && receiver->window_end < time)
            time = receiver->window_end;
        assert (!head || time < INT64_MAX);     //  the list's shape allows nothing else
        if (time < INT64_MAX)
            s_time (self, receiver, time);
        else
            s_park (self, receiver);
    }
}


//  --------------------------------------------------------------------------
//  Life cycle

delivery_book_t *
delivery_book_new (const delivery_policy_t *policy, delivery_ended_fn *ended, void *arg)
{
    delivery_book_t *self = (delivery_book_t *) calloc (1, sizeof (delivery_book_t));
    assert (self);
    self->policy = s_policy_with_defaults (policy);
    self->ended = ended;
    self->ended_arg = arg;
    self->receivers = zhashx_new ();
    assert (self->receivers);
    zhashx_set_destructor (self->receivers, s_receiver_destroy);
    s_heap_init (&self->timers, s_timer_before, s_timer_moved);
    s_heap_init (&self->notices, s_notice_before, s_notice_moved);
    return self;
}

void
delivery_book_destroy (delivery_book_t **self_p)
{
    assert (self_p);
    delivery_book_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->receivers);
    free (self->timers.entries);
    free (self->notices.entries);
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

delivery_state_t
delivery_book_add (delivery_book_t *self, const char *receiver_key, uint64_t notice,
                   int64_t added, int64_t now)
{
    assert (self && receiver_key);
    receiver_t *receiver = s_receiver_require (self, receiver_key);
    s_catch_up (self, receiver, now);
    item_t *item = (item_t *) zhashx_lookup (receiver->notices, &notice);
    if (item)
        return item->state;     //  a duplicate: neither added nor counted in the window

    item = (item_t *) calloc (1, sizeof (item_t));
    assert (item);
    item->notice = notice;
    item->added = added;
    item->state = DELIVERY_STATE_COUNT;     //  not in any state yet
    if (receiver->tail)
        receiver->tail->next = item;
    else
        receiver->head = item;
    receiver->tail = item;
    receiver->pending++;
    int rc = zhashx_insert (receiver->notices, &item->notice, item);
    assert (rc == 0);
    (void) rc;                  //  read by the assert only
    s_heap_push (&self->notices, item);

    if (!receiver->window_open)
        s_window_open (self, receiver, now, false);
    receiver->window_added++;
    if (receiver->window_holding || receiver->window_added > self->policy.digest_after)
        s_hold (self, receiver, item);
    else
        s_make_due (self, item);
    s_schedule (self, receiver, now);
    return item->state;
}

bool
delivery_book_next (delivery_book_t *self, int64_t now, delivery_attempt_t *attempt)
{
    assert (self && attempt);
    //  Receivers whose time came, earliest first, even when every slot is
    //  taken, so that windows end (and counts change) on time.
    receiver_t *receiver;
    while ((receiver = (receiver_t *) s_heap_first (&self->timers)) && receiver->timer <= now) {
        s_park (self, receiver);
        s_catch_up (self, receiver, now);
        s_schedule (self, receiver, now);
        assert (receiver->place != RECEIVER_TIMED || receiver->timer > now);
    }
    if (self->flying >= self->policy.parallel || !self->ready_head)
        return false;

    receiver = self->ready_head;
    s_catch_up (self, receiver, now);   //  windows ended since it became ready join in
    s_fly (self, receiver);
    *attempt = (delivery_attempt_t) {
        .receiver = receiver->key,
        .notices = receiver->attempt,
        .count = receiver->attempt_count,
        .attempt = receiver->failures + 1
    };
    return true;
}

size_t
delivery_book_finished (delivery_book_t *self, const char *receiver_key, bool ok, int64_t now)
{
    assert (self && receiver_key);
    receiver_t *receiver = (receiver_t *) zhashx_lookup (self->receivers, receiver_key);
    assert (receiver && receiver->place == RECEIVER_FLYING);
    if (ok) {
        receiver->failures = 0;
        receiver->retry_at = INT64_MIN;
    }
    else {
        receiver->failures++;
        receiver->retry_at = now + delivery_retry_delay (&self->policy, receiver->failures);
    }
    //  The attempt is the list's first attempt_count items; those that end
    //  leave it, those that wait stay where they were.
    item_t *previous = NULL;
    item_t *item = receiver->head;
    for (size_t index = 0; index < receiver->attempt_count; index++) {
        assert (item && item->state == DELIVERY_ACTIVE);
        item_t *next = item->next;
        if (ok)
            s_deliver (self, item);
        else
        if (s_too_old (self, item, now))
            s_give_up (self, item);
        else {
            s_wait (self, item);
            previous = item;
            item = next;
            continue;
        }
        if (previous)
            previous->next = next;
        else
            receiver->head = next;
        if (receiver->tail == item)
            receiver->tail = previous;
        s_item_end (self, receiver, item);
        item = next;
    }
    s_land (self, receiver);
    s_catch_up (self, receiver, now);
    s_schedule (self, receiver, now);
    return receiver->pending;
}

int64_t
delivery_book_wakeup (delivery_book_t *self)
{
    assert (self);
    //  Every slot taken: only an attempt ending can give next work, and a
    //  time in the past here would have the caller spin until then.
    if (self->flying >= self->policy.parallel)
        return -1;
    //  The caller did not take all it could: the time it could have.
    if (self->ready_head)
        return self->ready_head->ready_since;
    receiver_t *first = (receiver_t *) s_heap_first (&self->timers);
    return first ? first->timer : -1;
}

size_t
delivery_book_count (delivery_book_t *self, delivery_state_t state)
{
    assert (self && state < DELIVERY_STATE_COUNT);
    return self->counts [state];    //  0 for the ended states: they are forgotten
}

size_t
delivery_book_pending (delivery_book_t *self)
{
    assert (self);
    return self->notices.size;
}

size_t
delivery_book_pending_for (delivery_book_t *self, const char *receiver_key)
{
    assert (self && receiver_key);
    receiver_t *receiver = (receiver_t *) zhashx_lookup (self->receivers, receiver_key);
    return receiver ? receiver->pending : 0;
}

bool
delivery_book_settled (delivery_book_t *self, uint64_t notice)
{
    assert (self);
    item_t *lowest = (item_t *) s_heap_first (&self->notices);
    return !lowest || lowest->notice > notice;
}


//  --------------------------------------------------------------------------
//  The rules themselves

int64_t
delivery_retry_delay (const delivery_policy_t *policy, unsigned failures)
{
    assert (failures >= 1);
    delivery_policy_t applied = s_policy_with_defaults (policy);
    //  retry_first_ms is 32 bits: shifted 32 or more it passes any 32-bit
    //  cap, and stopping there keeps the shift defined.
    unsigned shift = failures - 1;
    uint64_t delay = shift < 32 ? (uint64_t) applied.retry_first_ms << shift : UINT64_MAX;
    return (int64_t) (delay < applied.retry_max_ms ? delay : applied.retry_max_ms);
}

const char *
delivery_state_name (delivery_state_t state)
{
    return state < DELIVERY_STATE_COUNT ? s_state_names [state] : "unknown";
}
