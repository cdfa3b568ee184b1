/*  delivery.h: the notifier's delivery policy, as pure code.

    A delivery book holds the webhook deliveries of the notifier: one per
    alert and receiver.  It decides, and only decides: which deliveries to
    start now (due retries first, then new ones, while fewer than the
    parallel cap are in flight), whether an attempt worked (libcurl OK and
    HTTP 2xx), when a failed one is tried again (backoff_ms after the first
    failure, doubled after each further one) and when it is given up (after
    attempts attempts), when the caller should wake up next, what is still
    pending, and whether every delivery up to an alert sequence has ended.

    It makes no libcurl calls, touches no socket and reads no clock: time is
    always an argument (monotonic milliseconds), so every decision can be
    tested on its own, with exact numbers.  The caller (notifier.c) runs the
    HTTP POSTs and tells the book how each attempt ended.

    Life of a delivery, one function per transition, one way into each state:

        add ----> QUEUED --next--> ACTIVE --finished, 2xx----------> DELIVERED
                              ^       |----finished, failed, more--> WAITING
                              |       '----finished, failed, last--> GIVEN_UP
               WAITING --next (once due)

    Ended deliveries (DELIVERED, GIVEN_UP) stay readable until the caller
    forgets them, so it can log what happened.

    Not done yet (the notifications issue): nothing survives a restart (the
    book lives in memory; a durable outbox in SQLite comes later), no
    ordering per site and channel (two alerts for one site may reach a
    receiver out of order when the first is retried), no digests (every
    alert is one POST), no backoff cap or jitter beyond the attempt limit.
*/
#ifndef DELIVERY_H_INCLUDED
#define DELIVERY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Where a delivery is.  Values index arrays: keep DELIVERY_STATE_COUNT last.
typedef enum {
    DELIVERY_QUEUED,            //  new, waiting for a free slot (never tried)
    DELIVERY_ACTIVE,            //  an attempt is in flight
    DELIVERY_WAITING,           //  an attempt failed; waiting for its retry time
    DELIVERY_DELIVERED,         //  ended: an attempt was answered 2xx
    DELIVERY_GIVEN_UP,          //  ended: every attempt failed
    DELIVERY_STATE_COUNT
} delivery_state_t;

//  The policy.  A zero field takes its default from sq_defaults.h.
typedef struct {
    unsigned attempts;          //  attempts per delivery; 0 = SQ_NOTIFY_ATTEMPTS
    unsigned backoff_ms;        //  first retry delay, doubled each time; 0 = SQ_NOTIFY_BACKOFF_MS
    unsigned parallel;          //  ACTIVE deliveries at most; 0 = SQ_NOTIFY_PARALLEL
} delivery_policy_t;

//  One delivery.  Owned by the book; read-only to callers.
typedef struct {
    uint64_t id;                //  unique in its book, from 1
    uint64_t seq;               //  the ALERT it is for
    char *site_url;             //  the site the alert is about (for log lines)
    char *url;                  //  the receiver to POST to
    char *body;                 //  the document to POST
    delivery_state_t state;     //  where it is
    unsigned attempt;           //  attempts started so far
    int64_t due;                //  WAITING: monotonic ms of the next attempt
    int curl_code;              //  last attempt's CURLcode (0 = CURLE_OK)
    long http_status;           //  last attempt's HTTP status, 0 if none
    void *handle;               //  the book's own: its item in the list of its state
} delivery_t;

typedef struct _delivery_book_t delivery_book_t;

//  Called for each pending delivery by delivery_book_each_pending.
typedef void (delivery_fn) (const delivery_t *delivery, void *arg);

//  A new, empty book with policy (NULL: every default).
delivery_book_t *delivery_book_new (const delivery_policy_t *policy);

//  Destroy the book and every delivery in it; safe twice, nulls *self_p.
void delivery_book_destroy (delivery_book_t **self_p);

//  The policy in force, defaults applied.
delivery_policy_t delivery_book_policy (delivery_book_t *self);

//  Add a QUEUED delivery of body to url for alert seq about site_url (all
//  copied).  Returns its id.
uint64_t delivery_book_add (delivery_book_t *self, uint64_t seq, const char *site_url,
                            const char *url, const char *body);

//  The delivery to start at now, made ACTIVE (attempt + 1): the WAITING one
//  due earliest (if due by now), else the oldest QUEUED one; none while
//  parallel deliveries are ACTIVE.  Returns its id, or 0 for none.  Call it
//  until it returns 0.
uint64_t delivery_book_next (delivery_book_t *self, int64_t now);

//  An ACTIVE delivery's attempt ended with libcurl result curl_code (a
//  CURLcode) and HTTP status http_status (0 if none) at now.  Returns the
//  new state: DELIVERED, WAITING (due = now + the backoff for this attempt),
//  or GIVEN_UP after the last attempt.
delivery_state_t delivery_book_finished (delivery_book_t *self, uint64_t id, int curl_code,
                                         long http_status, int64_t now);

//  Remove an ended (DELIVERED or GIVEN_UP) delivery.
void delivery_book_forget (delivery_book_t *self, uint64_t id);

//  The delivery with this id, or NULL.  Borrowed: valid until it is
//  forgotten or the book destroyed.
const delivery_t *delivery_book_lookup (delivery_book_t *self, uint64_t id);

//  Monotonic ms at which delivery_book_next will have a retry to start
//  without anything else happening, or -1 when only an event (an add, a
//  finished attempt) can give it work.  May be in the past.
int64_t delivery_book_wakeup (delivery_book_t *self);

//  Deliveries in state.
size_t delivery_book_count (delivery_book_t *self, delivery_state_t state);

//  Deliveries not ended yet: QUEUED + ACTIVE + WAITING.
size_t delivery_book_pending (delivery_book_t *self);

//  True when no delivery for an alert up to seq is pending.
bool delivery_book_settled (delivery_book_t *self, uint64_t seq);

//  Call fn for each pending delivery: QUEUED, then ACTIVE, then WAITING.
//  fn must not change the book.
void delivery_book_each_pending (delivery_book_t *self, delivery_fn *fn, void *arg);

//  Whether one attempt worked: libcurl said CURLE_OK and the status is 2xx.
bool delivery_succeeded (int curl_code, long http_status);

//  Delay before the attempt after attempt number attempt (1 = after the
//  first failure) under policy: backoff_ms << (attempt - 1).
int64_t delivery_retry_delay (const delivery_policy_t *policy, unsigned attempt);

//  The state's name, for log lines ("queued", "active", ...).
const char *delivery_state_name (delivery_state_t state);

#endif
