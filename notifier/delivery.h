/*  delivery.h: the notifier's delivery policy, as pure code.

    The book holds what is still to be delivered: items, one per notice
    and receiver (a receiver is one channel of one owner, named by a
    string key such as "email:alice").  It decides, and only decides:

    - order: each receiver's items go in the order they were added, and a
      receiver has at most one attempt in flight.  A later item is never
      delivered before an earlier one: a failed attempt's items are retried
      first, and new items join that retry (so a DOWN still undelivered and
      the UP after it reach the owner in one message).
    - batching: one attempt carries every item of the receiver that is due
      (at most batch_max); the caller renders one message for them.
    - digests: per receiver, a window opens at the first item added while
      none is open and lasts digest_window_ms.  The first digest_after
      items added in a window are due at once; any more are held to the
      window's end and go as one attempt.  A window that held items is
      followed at once by another that holds every item to its end; a
      holding window that ends with nothing held, or a window that never
      exceeded digest_after, returns the receiver to normal.  So an outage
      of N sites whose alerts arrive over T ms reaches a receiver as at
      most digest_after + ceil(T / digest_window_ms) + 1 messages (plus one
      per failed attempt).
    - parallelism: at most `parallel` receivers have an attempt in flight.
    - retries: a failed attempt is retried after retry_first_ms, doubled
      after each further failure, capped at retry_max_ms.  An item is given
      up once a failed attempt ends give_up_ms or more after the item
      was added; the others of that attempt wait for the retry.

    It makes no libcurl call, touches no socket or file and reads no clock:
    time is always an argument, milliseconds on one clock chosen by the
    caller (the notifier passes wall-clock ms, because an item's age must
    survive a restart).  The notifier (notifier.c) runs the attempts and
    tells the book how each ended.

    Life of an item, one way into each state:

        add --> HELD (digest window) --window end--> DUE
        add --> DUE --next--> ACTIVE --finished, ok----------------> DELIVERED (forgotten)
                 ^               |-----finished, failed, young-----> WAITING
                 |               '-----finished, failed, too old---> GIVEN_UP (forgotten)
                 '--due time-- WAITING

    Ended items are reported through the callback and forgotten.
*/
#ifndef DELIVERY_H_INCLUDED
#define DELIVERY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Where an item is.
typedef enum {
    DELIVERY_HELD,              //  in a digest window, due when it ends
    DELIVERY_DUE,               //  ready to go with the receiver's next attempt
    DELIVERY_ACTIVE,            //  part of the attempt in flight
    DELIVERY_WAITING,           //  its attempt failed; retried at the receiver's due time
    DELIVERY_DELIVERED,         //  ended: an attempt carrying it worked
    DELIVERY_GIVEN_UP,          //  ended: failed for longer than give_up_ms
    DELIVERY_STATE_COUNT
} delivery_state_t;

//  The policy.  A zero field takes its default from sq_defaults.h.
typedef struct {
    unsigned parallel;          //  receivers with an attempt in flight; 0 = SQ_NOTIFY_PARALLEL
    uint32_t retry_first_ms;    //  first retry delay; 0 = SQ_NOTIFY_BACKOFF_MS
    uint32_t retry_max_ms;      //  longest retry delay; 0 = SQ_NOTIFY_RETRY_MAX_MS
    uint64_t give_up_ms;        //  give an item up this long after it was added; 0 = SQ_NOTIFY_GIVE_UP_MS
    unsigned digest_after;      //  items per window sent at once; 0 = SQ_NOTIFY_DIGEST_AFTER
    uint32_t digest_window_ms;  //  0 = SQ_NOTIFY_DIGEST_WINDOW_MS
    unsigned batch_max;         //  items in one attempt at most; 0 = SQ_NOTIFY_BATCH_MAX
} delivery_policy_t;

//  One attempt, as delivery_book_next hands it out.  Borrowed from the
//  book: valid until delivery_book_finished for its receiver.
typedef struct {
    const char *receiver;       //  the receiver's key
    const uint64_t *notices;    //  notice ids, in the order added
    size_t count;               //  1..batch_max
    unsigned attempt;           //  1 for a first try, +1 per failed attempt before
                                //  (the receiver's run of failures)
} delivery_attempt_t;

typedef struct _delivery_book_t delivery_book_t;

//  Told of every item that ends: state is DELIVERED or GIVEN_UP.
typedef void (delivery_ended_fn) (const char *receiver, uint64_t notice, delivery_state_t state,
                                  void *arg);

//  A new, empty book with policy (NULL: every default).  ended is called
//  for every item that ends (may be NULL).
delivery_book_t *delivery_book_new (const delivery_policy_t *policy, delivery_ended_fn *ended,
                                    void *arg);

//  Destroy the book and every item in it; safe twice, nulls *self_p.
void delivery_book_destroy (delivery_book_t **self_p);

//  The policy in force, defaults applied.
delivery_policy_t delivery_book_policy (delivery_book_t *self);

//  Add an item: notice for receiver (copied), added at `added` (a
//  restart passes the notice's original time, so give_up_ms counts from
//  then; else now).  DUE or HELD by the digest rule, applied at now.
//  Returns its state.  A notice already in the receiver's queue is not
//  added twice (returns its current state).
delivery_state_t delivery_book_add (delivery_book_t *self, const char *receiver, uint64_t notice,
                                    int64_t added, int64_t now);

//  The next attempt to start at now, its items made ACTIVE: a receiver
//  with no attempt in flight, whose items are due (DUE, or WAITING with
//  its due time passed, or HELD whose window ended), while fewer than
//  parallel attempts are in flight; receivers whose turn came longest ago
//  first.  true with *attempt filled, or false for none.  Call until false.
bool delivery_book_next (delivery_book_t *self, int64_t now, delivery_attempt_t *attempt);

//  The attempt in flight for receiver ended at now: ok or not.  Every item
//  of it ends DELIVERED (ok), or GIVEN_UP (too old), or waits (WAITING,
//  with the items added since, until now + the retry delay); ended ones
//  are reported and forgotten.  Returns the number of items still pending
//  for the receiver.
size_t delivery_book_finished (delivery_book_t *self, const char *receiver, bool ok, int64_t now);

//  The ms time at which delivery_book_next will have something to start
//  without anything else happening (a retry or a digest window due), or
//  -1 when only an event can give it work.  May be in the past.
int64_t delivery_book_wakeup (delivery_book_t *self);

//  Items in state (HELD, DUE, ACTIVE, WAITING), over every receiver.
size_t delivery_book_count (delivery_book_t *self, delivery_state_t state);

//  Items not ended, over every receiver.
size_t delivery_book_pending (delivery_book_t *self);

//  Items not ended for one receiver.
size_t delivery_book_pending_for (delivery_book_t *self, const char *receiver);

//  True when no item with a notice id <= notice is pending.
bool delivery_book_settled (delivery_book_t *self, uint64_t notice);

//  Delay before retry number failures (1 = after the first failed
//  attempt): retry_first_ms << (failures - 1), at most retry_max_ms.
int64_t delivery_retry_delay (const delivery_policy_t *policy, unsigned failures);

//  The state's name, for log lines ("held", "due", ...).
const char *delivery_state_name (delivery_state_t state);

#endif
