/*  test_delivery.c: the notifier's delivery policy (notifier/delivery.h),
    with exact numbers and no clock: every time below is an argument.

    Order per receiver across failures, one attempt in flight per receiver,
    receivers independent of each other, the retry schedule, giving up by
    age (to the millisecond), digest windows (the burst of 2000, holding
    windows, the return to normal), batch_max, the parallel cap and its
    fairness, settled, wakeup, duplicates, and counts that add up after
    every step of a long random run.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "delivery.h"
#include "sq_defaults.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  No digests: every item due at once.
#define NO_DIGEST   UINT_MAX


//  --------------------------------------------------------------------------
//  Helpers

#define LOG_LIMIT   64

//  What the book reported as ended: a count per state, and the first
//  LOG_LIMIT items in order.
typedef struct {
    size_t ended [DELIVERY_STATE_COUNT];
    size_t size;
    struct {
        char receiver [32];
        uint64_t notice;
        delivery_state_t state;
    } entries [LOG_LIMIT];
} ended_log_t;

static void
s_record (const char *receiver, uint64_t notice, delivery_state_t state, void *arg)
{
    ended_log_t *log = (ended_log_t *) arg;
    assert_true (state == DELIVERY_DELIVERED || state == DELIVERY_GIVEN_UP);
    log->ended [state]++;
    if (log->size < LOG_LIMIT) {
        snprintf (log->entries [log->size].receiver, sizeof (log->entries [0].receiver), "%s",
                  receiver);
        log->entries [log->size].notice = notice;
        log->entries [log->size].state = state;
        log->size++;
    }
}

static void
s_expect_ended (ended_log_t *log, size_t index, const char *receiver, uint64_t notice,
                delivery_state_t state)
{
    assert_true (index < log->size);
    assert_string_equal (log->entries [index].receiver, receiver);
    assert_int_equal (log->entries [index].notice, notice);
    assert_int_equal (log->entries [index].state, state);
}

//  The counts per state add up to what is pending, and ended items are gone.
static void
s_check_counts (delivery_book_t *book)
{
    size_t sum = 0;
    for (delivery_state_t state = DELIVERY_HELD; state <= DELIVERY_WAITING; state++)
        sum += delivery_book_count (book, state);
    assert_int_equal (sum, delivery_book_pending (book));
    assert_int_equal (delivery_book_count (book, DELIVERY_DELIVERED), 0);
    assert_int_equal (delivery_book_count (book, DELIVERY_GIVEN_UP), 0);
}

static void
s_expect_counts (delivery_book_t *book, size_t held, size_t due, size_t active, size_t waiting)
{
    s_check_counts (book);
    assert_int_equal (delivery_book_count (book, DELIVERY_HELD), held);
    assert_int_equal (delivery_book_count (book, DELIVERY_DUE), due);
    assert_int_equal (delivery_book_count (book, DELIVERY_ACTIVE), active);
    assert_int_equal (delivery_book_count (book, DELIVERY_WAITING), waiting);
}

static void
s_add (delivery_book_t *book, const char *receiver, uint64_t notice, int64_t now,
       delivery_state_t expected)
{
    assert_int_equal (delivery_book_add (book, receiver, notice, now, now), expected);
    s_check_counts (book);
}

//  The next attempt at now must be exactly this one.
static void
s_expect_attempt (delivery_book_t *book, int64_t now, const char *receiver, unsigned attempt,
                  const uint64_t *notices, size_t count)
{
    delivery_attempt_t started;
    assert_true (delivery_book_next (book, now, &started));
    assert_string_equal (started.receiver, receiver);
    assert_int_equal (started.attempt, attempt);
    assert_int_equal (started.count, count);
    for (size_t index = 0; index < count; index++)
        assert_int_equal (started.notices [index], notices [index]);
    s_check_counts (book);
}

#define EXPECT_ATTEMPT(book, now, receiver, attempt, ...) \
    s_expect_attempt (book, now, receiver, attempt, (const uint64_t []) { __VA_ARGS__ }, \
                      sizeof ((const uint64_t []) { __VA_ARGS__ }) / sizeof (uint64_t))

static void
s_expect_none (delivery_book_t *book, int64_t now)
{
    delivery_attempt_t started;
    assert_false (delivery_book_next (book, now, &started));
    s_check_counts (book);
}


//  --------------------------------------------------------------------------
//  Retry delays

typedef struct {
    uint32_t first;             //  retry_first_ms (0 = default)
    uint32_t max;               //  retry_max_ms (0 = default)
    unsigned failures;
    int64_t delay;              //  expected
} delay_case_t;

static const delay_case_t s_delays [] = {
    {    0,    0,    1,   1000 },           //  defaults: 1 s, 2 s, 4 s ... 5 min
    {    0,    0,    2,   2000 },
    {    0,    0,    3,   4000 },
    {    0,    0,    9, 256000 },
    {    0,    0,   10, 300000 },           //  512 s, capped
    {    0,    0, 1000, 300000 },           //  no overflow, however many
    {  100, 1000,    1,    100 },
    {  100, 1000,    4,    800 },
    {  100, 1000,    5,   1000 },           //  1600, capped
    {  100, 1000,    6,   1000 },
    { 5000, 1000,    1,   1000 },           //  a first delay past the cap: the cap
    {    1, UINT32_MAX, 32, (int64_t) 1 << 31 },
    {    1, UINT32_MAX, 33, UINT32_MAX },   //  the shift stops at 32 bits
    { UINT32_MAX, UINT32_MAX, 40, UINT32_MAX },
};

static void
test_retry_delays (void **state)
{
    assert_int_equal (SQ_NOTIFY_BACKOFF_MS, 1000);
    assert_int_equal (SQ_NOTIFY_RETRY_MAX_MS, 300000);
    assert_int_equal (delivery_retry_delay (NULL, 1), SQ_NOTIFY_BACKOFF_MS);
    for (size_t index = 0; index < sizeof (s_delays) / sizeof (s_delays [0]); index++) {
        const delay_case_t *row = &s_delays [index];
        delivery_policy_t policy = { .retry_first_ms = row->first, .retry_max_ms = row->max };
        assert_int_equal (delivery_retry_delay (&policy, row->failures), row->delay);
    }
}

//  A receiver that keeps failing is retried 1, 2, 4, 5, 5 s after each
//  failure (cap 5 s), never a millisecond early, its attempt counting up.
static void
test_retry_schedule (void **state)
{
    static const int64_t delays [] = { 1000, 2000, 4000, 5000, 5000, 5000 };
    delivery_policy_t policy = { .retry_max_ms = 5000, .digest_after = NO_DIGEST };
    delivery_book_t *book = delivery_book_new (&policy, NULL, NULL);
    assert_int_equal (delivery_book_policy (book).retry_first_ms, 1000);
    s_add (book, "hook:a", 1, 0, DELIVERY_DUE);
    int64_t now = 0;
    for (unsigned index = 0; index < sizeof (delays) / sizeof (delays [0]); index++) {
        EXPECT_ATTEMPT (book, now, "hook:a", index + 1, 1);
        now += 10;              //  the attempt takes 10 ms
        assert_int_equal (delivery_book_finished (book, "hook:a", false, now), 1);
        s_expect_counts (book, 0, 0, 0, 1);
        assert_int_equal (delivery_book_wakeup (book), now + delays [index]);
        s_expect_none (book, now + delays [index] - 1);
        now += delays [index];
    }
    EXPECT_ATTEMPT (book, now, "hook:a", 7, 1);
    assert_int_equal (delivery_book_finished (book, "hook:a", true, now + 1), 0);
    //  A success ends the run: the next failure waits 1 s again.
    s_add (book, "hook:a", 2, now + 2, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, now + 2, "hook:a", 1, 2);
    delivery_book_finished (book, "hook:a", false, now + 3);
    assert_int_equal (delivery_book_wakeup (book), now + 1003);
    delivery_book_destroy (&book);
    delivery_book_destroy (&book);
    assert_null (book);
}


//  --------------------------------------------------------------------------
//  Order and one attempt per receiver

//  A failed attempt's items go first in its retry, with the items added
//  in flight and during the wait behind them, in order.
static void
test_order_across_failure (void **state)
{
    ended_log_t log = { .size = 0 };
    delivery_policy_t policy = { .digest_after = NO_DIGEST };
    delivery_book_t *book = delivery_book_new (&policy, s_record, &log);
    s_add (book, "email:alice", 1, 0, DELIVERY_DUE);
    s_add (book, "email:alice", 2, 0, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, 0, "email:alice", 1, 1, 2);
    s_add (book, "email:alice", 3, 50, DELIVERY_DUE);           //  in flight
    s_expect_counts (book, 0, 1, 2, 0);
    assert_int_equal (delivery_book_finished (book, "email:alice", false, 100), 3);
    s_expect_counts (book, 0, 1, 0, 2);
    //  3 is due but must not overtake 1 and 2.
    s_expect_none (book, 100);
    s_add (book, "email:alice", 4, 500, DELIVERY_DUE);          //  during the wait
    s_expect_none (book, 1099);
    assert_int_equal (delivery_book_wakeup (book), 1100);
    EXPECT_ATTEMPT (book, 1100, "email:alice", 2, 1, 2, 3, 4);
    delivery_book_finished (book, "email:alice", false, 1200);
    s_expect_counts (book, 0, 0, 0, 4);
    s_add (book, "email:alice", 5, 2000, DELIVERY_DUE);
    assert_int_equal (delivery_book_wakeup (book), 3200);
    EXPECT_ATTEMPT (book, 3200, "email:alice", 3, 1, 2, 3, 4, 5);
    assert_int_equal (log.size, 0);
    assert_int_equal (delivery_book_finished (book, "email:alice", true, 3300), 0);
    assert_int_equal (log.size, 5);
    for (size_t index = 0; index < 5; index++)
        s_expect_ended (&log, index, "email:alice", index + 1, DELIVERY_DELIVERED);
    s_expect_counts (book, 0, 0, 0, 0);
    delivery_book_destroy (&book);
}

static void
test_one_in_flight (void **state)
{
    delivery_policy_t policy = { .digest_after = NO_DIGEST };
    delivery_book_t *book = delivery_book_new (&policy, NULL, NULL);
    s_add (book, "hook:a", 1, 0, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, 0, "hook:a", 1, 1);
    //  Due items, free slots, hours later: still nothing while 1 flies.
    for (uint64_t notice = 2; notice <= 4; notice++)
        s_add (book, "hook:a", notice, 10, DELIVERY_DUE);
    s_expect_none (book, 10);
    s_expect_none (book, 10 * 3600 * 1000);
    assert_int_equal (delivery_book_wakeup (book), -1);
    assert_int_equal (delivery_book_pending_for (book, "hook:a"), 4);
    assert_int_equal (delivery_book_finished (book, "hook:a", true, 20), 3);
    EXPECT_ATTEMPT (book, 20, "hook:a", 1, 2, 3, 4);
    s_expect_none (book, 20);
    delivery_book_destroy (&book);
}

//  A failing receiver, in flight or waiting, never holds up another.
static void
test_receivers_independent (void **state)
{
    ended_log_t log = { .size = 0 };
    delivery_policy_t policy = { .digest_after = NO_DIGEST, .parallel = 2 };
    delivery_book_t *book = delivery_book_new (&policy, s_record, &log);
    s_add (book, "bad", 1, 0, DELIVERY_DUE);
    s_add (book, "good", 1, 0, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, 0, "bad", 1, 1);
    EXPECT_ATTEMPT (book, 0, "good", 1, 1);
    //  "bad" hangs in flight; "good" keeps delivering.
    for (uint64_t notice = 2; notice <= 4; notice++) {
        delivery_book_finished (book, "good", true, (int64_t) notice * 10);
        s_add (book, "good", notice, (int64_t) notice * 10, DELIVERY_DUE);
        s_add (book, "bad", notice, (int64_t) notice * 10, DELIVERY_DUE);
        EXPECT_ATTEMPT (book, (int64_t) notice * 10, "good", 1, notice);
    }
    delivery_book_finished (book, "good", true, 50);
    //  "bad" fails and waits 1 s; "good" goes meanwhile.
    delivery_book_finished (book, "bad", false, 60);
    s_add (book, "good", 5, 70, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, 70, "good", 1, 5);
    delivery_book_finished (book, "good", true, 80);
    s_expect_none (book, 80);
    assert_int_equal (delivery_book_pending_for (book, "good"), 0);
    assert_int_equal (delivery_book_pending_for (book, "bad"), 4);
    assert_int_equal (delivery_book_pending_for (book, "nobody"), 0);
    assert_int_equal (log.ended [DELIVERY_DELIVERED], 5);
    EXPECT_ATTEMPT (book, 1060, "bad", 2, 1, 2, 3, 4);
    delivery_book_destroy (&book);
}


//  --------------------------------------------------------------------------
//  Giving up

typedef struct {
    int64_t added;              //  when the item was added (a restart passes an old time)
    int64_t failed;             //  when its first attempt failed
    delivery_state_t after;     //  WAITING, or GIVEN_UP
} give_up_case_t;

//  give_up_ms = 10000.
static const give_up_case_t s_give_ups [] = {
    {     0,  9999, DELIVERY_WAITING  },
    {     0, 10000, DELIVERY_GIVEN_UP },    //  exactly give_up_ms: given up
    {     0, 10001, DELIVERY_GIVEN_UP },
    {  5000, 14999, DELIVERY_WAITING  },
    {  5000, 15000, DELIVERY_GIVEN_UP },
    { -20000,    0, DELIVERY_GIVEN_UP },    //  re-added after a restart, long overdue
    {  9000,   100, DELIVERY_WAITING  },    //  added "after" now: young
};

static void
test_give_up_boundary (void **state)
{
    for (size_t index = 0; index < sizeof (s_give_ups) / sizeof (s_give_ups [0]); index++) {
        const give_up_case_t *row = &s_give_ups [index];
        ended_log_t log = { .size = 0 };
        delivery_policy_t policy = { .give_up_ms = 10000 };
        delivery_book_t *book = delivery_book_new (&policy, s_record, &log);
        int64_t now = row->failed - 10 < row->added ? row->failed - 10 : row->added;
        assert_int_equal (delivery_book_add (book, "hook:a", 7, row->added, now), DELIVERY_DUE);
        EXPECT_ATTEMPT (book, now, "hook:a", 1, 7);
        bool gone = row->after == DELIVERY_GIVEN_UP;
        assert_int_equal (delivery_book_finished (book, "hook:a", false, row->failed), gone ? 0 : 1);
        assert_int_equal (delivery_book_count (book, DELIVERY_WAITING), gone ? 0 : 1);
        assert_int_equal (delivery_book_pending (book), gone ? 0 : 1);
        assert_int_equal (delivery_book_settled (book, 7), gone);
        assert_int_equal (log.size, gone ? 1 : 0);
        if (gone)
            s_expect_ended (&log, 0, "hook:a", 7, DELIVERY_GIVEN_UP);
        s_check_counts (book);
        delivery_book_destroy (&book);
    }
}

//  One attempt, old and young items: the old end, the young wait, and the
//  receiver's backoff holds a newcomer too.
static void
test_give_up_mixed (void **state)
{
    ended_log_t log = { .size = 0 };
    delivery_policy_t policy = { .give_up_ms = 10000, .digest_after = NO_DIGEST };
    delivery_book_t *book = delivery_book_new (&policy, s_record, &log);
    delivery_book_add (book, "hook:a", 1, 0, 5000);
    delivery_book_add (book, "hook:a", 2, 5000, 5000);
    delivery_book_add (book, "hook:a", 3, 1000, 5000);      //  re-added, older than 2
    EXPECT_ATTEMPT (book, 5000, "hook:a", 1, 1, 2, 3);
    assert_int_equal (delivery_book_finished (book, "hook:a", false, 11000), 1);
    assert_int_equal (log.size, 2);
    s_expect_ended (&log, 0, "hook:a", 1, DELIVERY_GIVEN_UP);
    s_expect_ended (&log, 1, "hook:a", 3, DELIVERY_GIVEN_UP);
    s_expect_counts (book, 0, 0, 0, 1);
    assert_true (delivery_book_settled (book, 1));
    assert_false (delivery_book_settled (book, 2));
    EXPECT_ATTEMPT (book, 12000, "hook:a", 2, 2);
    //  Everything given up; a newcomer still waits for the retry time.
    assert_int_equal (delivery_book_finished (book, "hook:a", false, 15000), 0);
    assert_int_equal (log.ended [DELIVERY_GIVEN_UP], 3);
    s_add (book, "hook:a", 4, 15500, DELIVERY_DUE);
    assert_int_equal (delivery_book_wakeup (book), 17000);
    s_expect_none (book, 16999);
    EXPECT_ATTEMPT (book, 17000, "hook:a", 3, 4);
    delivery_book_destroy (&book);
}


//  --------------------------------------------------------------------------
//  Digests

//  The outage: 2000 alerts over 10 s to one receiver, each attempt
//  finished at once.  Exactly digest_after single messages, then one
//  digest at the window's end (split only by batch_max).
typedef struct {
    unsigned batch_max;         //  policy (0 = default 5000)
    size_t sizes [3];           //  the attempts at the window's end
} burst_case_t;

static const burst_case_t s_bursts [] = {
    {    0, { 1995 } },
    { 1995, { 1995 } },
    { 1994, { 1994, 1 } },
    { 1000, { 1000, 995 } },
};

static void
test_digest_burst (void **state)
{
    for (size_t index = 0; index < sizeof (s_bursts) / sizeof (s_bursts [0]); index++) {
        const burst_case_t *row = &s_bursts [index];
        ended_log_t log = { .size = 0 };
        delivery_policy_t policy = { .digest_after = 5, .digest_window_ms = 60000,
                                     .batch_max = row->batch_max };
        delivery_book_t *book = delivery_book_new (&policy, s_record, &log);
        size_t attempts = 0;
        for (uint64_t notice = 1; notice <= 2000; notice++) {
            int64_t now = (int64_t) (notice - 1) * 5;       //  0 .. 9995 ms
            assert_int_equal (delivery_book_add (book, "email:ops", notice, now, now),
                              notice <= 5 ? DELIVERY_DUE : DELIVERY_HELD);
            delivery_attempt_t attempt;
            while (delivery_book_next (book, now, &attempt)) {
                assert_int_equal (attempt.count, 1);
                assert_int_equal (attempt.notices [0], ++attempts);
                delivery_book_finished (book, "email:ops", true, now);
            }
        }
        assert_int_equal (attempts, 5);
        s_expect_counts (book, 1995, 0, 0, 0);
        assert_int_equal (delivery_book_wakeup (book), 60000);
        s_expect_none (book, 59999);
        uint64_t expected = 6;
        for (size_t part = 0; part < 3 && row->sizes [part]; part++) {
            delivery_attempt_t attempt;
            assert_true (delivery_book_next (book, 60000, &attempt));
            attempts++;
            assert_int_equal (attempt.count, row->sizes [part]);
            for (size_t item = 0; item < attempt.count; item++)
                assert_int_equal (attempt.notices [item], expected++);
            delivery_book_finished (book, "email:ops", true, 60000);
        }
        s_expect_none (book, 60000);
        assert_int_equal (expected, 2001);
        assert_int_equal (attempts, row->sizes [1] ? (row->sizes [2] ? 8 : 7) : 6);
        assert_int_equal (log.ended [DELIVERY_DELIVERED], 2000);
        assert_int_equal (delivery_book_pending (book), 0);
        delivery_book_destroy (&book);
    }
}

//  One receiver's life through windows, step by step: digest_after 2,
//  windows of 1000 ms, every attempt finished ok at once.
typedef enum {
    STEP_ADD,                   //  add notice at time: expect state
    STEP_SEND,                  //  next at time: expect one attempt of `count` from notice
    STEP_NONE,                  //  next at time: expect nothing
    STEP_WAKEUP                 //  expect wakeup == time
} step_kind_t;

typedef struct {
    step_kind_t kind;
    int64_t time;
    uint64_t notice;
    delivery_state_t state;     //  STEP_ADD
    size_t count;               //  STEP_SEND
} step_t;

static const step_t s_windows [] = {
    //  A window that never exceeds digest_after ends; the next opens anew.
    { STEP_ADD,       0,  1, DELIVERY_DUE,  0 },
    { STEP_ADD,      10,  2, DELIVERY_DUE,  0 },
    { STEP_SEND,     10,  1, 0,             2 },
    { STEP_WAKEUP,   -1,  0, 0,             0 },
    { STEP_ADD,    1000,  3, DELIVERY_DUE,  0 },    //  window [1000, 2000)
    { STEP_ADD,    1001,  4, DELIVERY_DUE,  0 },
    { STEP_ADD,    1002,  5, DELIVERY_HELD, 0 },    //  the third: held
    { STEP_SEND,   1002,  3, 0,             2 },
    { STEP_ADD,    1500,  6, DELIVERY_HELD, 0 },
    { STEP_WAKEUP, 2000,  0, 0,             0 },
    { STEP_NONE,   1999,  0, 0,             0 },
    { STEP_SEND,   2000,  5, 0,             2 },    //  the digest; [2000, 3000) holds
    { STEP_ADD,    2000,  7, DELIVERY_HELD, 0 },
    { STEP_WAKEUP, 3000,  0, 0,             0 },
    { STEP_SEND,   3000,  7, 0,             1 },    //  held one: [3000, 4000) holds
    { STEP_WAKEUP,   -1,  0, 0,             0 },
    { STEP_ADD,    3999,  8, DELIVERY_HELD, 0 },
    { STEP_NONE,   3999,  0, 0,             0 },
    { STEP_SEND,   4000,  8, 0,             1 },    //  [4000, 5000) holds, stays quiet
    { STEP_ADD,    5000,  9, DELIVERY_DUE,  0 },    //  back to normal: [5000, 6000)
    { STEP_SEND,   5000,  9, 0,             1 },
    { STEP_ADD,    5001, 10, DELIVERY_DUE,  0 },
    { STEP_ADD,    5002, 11, DELIVERY_HELD, 0 },
    { STEP_SEND,   5002, 10, 0,             1 },
    //  Nobody looks until long after: the window ended at 6000, the
    //  holding one after it at 7000 with nothing held: normal again.
    { STEP_SEND,  20000, 11, 0,             1 },
    { STEP_ADD,   20000, 12, DELIVERY_DUE,  0 },
    { STEP_SEND,  20000, 12, 0,             1 },
};

static void
test_digest_windows (void **state)
{
    delivery_policy_t policy = { .digest_after = 2, .digest_window_ms = 1000 };
    delivery_book_t *book = delivery_book_new (&policy, NULL, NULL);
    for (size_t index = 0; index < sizeof (s_windows) / sizeof (s_windows [0]); index++) {
        const step_t *step = &s_windows [index];
        switch (step->kind) {
            case STEP_ADD:
                s_add (book, "sms:bob", step->notice, step->time, step->state);
                break;
            case STEP_SEND: {
                uint64_t notices [8];
                assert_true (step->count <= 8);
                for (size_t item = 0; item < step->count; item++)
                    notices [item] = step->notice + item;
                s_expect_attempt (book, step->time, "sms:bob", 1, notices, step->count);
                delivery_book_finished (book, "sms:bob", true, step->time);
                break;
            }
            case STEP_NONE:
                s_expect_none (book, step->time);
                break;
            case STEP_WAKEUP:
                assert_int_equal (delivery_book_wakeup (book), step->time);
                break;
        }
    }
    assert_int_equal (delivery_book_pending (book), 0);
    delivery_book_destroy (&book);
}

//  A window ends while the receiver is in flight, or waiting for a retry:
//  its held items join the next attempt after the earlier ones.
static void
test_digest_with_retry (void **state)
{
    delivery_policy_t policy = { .digest_after = 1, .digest_window_ms = 1000,
                                 .retry_first_ms = 5000 };
    delivery_book_t *book = delivery_book_new (&policy, NULL, NULL);
    s_add (book, "hook:a", 1, 0, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, 0, "hook:a", 1, 1);
    s_add (book, "hook:a", 2, 10, DELIVERY_HELD);       //  window [0, 1000)
    s_add (book, "hook:a", 3, 1500, DELIVERY_HELD);     //  held follow-up [1000, 2000)
    s_expect_counts (book, 1, 1, 1, 0);                 //  2 freed at 1000
    s_expect_none (book, 1500);                         //  in flight: they wait behind 1
    delivery_book_finished (book, "hook:a", false, 2000);       //  retry at 7000
    s_expect_counts (book, 0, 2, 0, 1);                 //  3 freed at 2000
    s_add (book, "hook:a", 4, 2100, DELIVERY_HELD);     //  held follow-up [2000, 3000)
    assert_int_equal (delivery_book_wakeup (book), 3000);
    s_expect_none (book, 3000);                         //  4 due, but the retry is at 7000
    s_expect_counts (book, 0, 3, 0, 1);
    assert_int_equal (delivery_book_wakeup (book), 7000);
    s_add (book, "hook:a", 5, 6000, DELIVERY_DUE);      //  [3000, 4000) held nothing: normal
    EXPECT_ATTEMPT (book, 7000, "hook:a", 2, 1, 2, 3, 4, 5);
    delivery_book_destroy (&book);
}


//  --------------------------------------------------------------------------
//  batch_max, parallel cap, fairness

static void
test_batch_max (void **state)
{
    delivery_policy_t policy = { .digest_after = NO_DIGEST, .batch_max = 3 };
    delivery_book_t *book = delivery_book_new (&policy, NULL, NULL);
    for (uint64_t notice = 1; notice <= 8; notice++)
        s_add (book, "hook:a", notice, 0, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, 0, "hook:a", 1, 1, 2, 3);
    s_expect_counts (book, 0, 5, 3, 0);
    delivery_book_finished (book, "hook:a", false, 0);
    //  The retry too takes 3 at most: the failed ones first.
    EXPECT_ATTEMPT (book, 1000, "hook:a", 2, 1, 2, 3);
    delivery_book_finished (book, "hook:a", true, 1000);
    EXPECT_ATTEMPT (book, 1000, "hook:a", 1, 4, 5, 6);
    delivery_book_finished (book, "hook:a", true, 1000);
    EXPECT_ATTEMPT (book, 1000, "hook:a", 1, 7, 8);
    delivery_book_finished (book, "hook:a", true, 1000);
    s_expect_none (book, 1000);
    assert_int_equal (delivery_book_pending (book), 0);
    delivery_book_destroy (&book);
}

static void
test_parallel_cap (void **state)
{
    const unsigned caps [] = { 1, 2, 5, SQ_NOTIFY_PARALLEL };
    for (size_t index = 0; index < sizeof (caps) / sizeof (caps [0]); index++) {
        unsigned cap = caps [index];
        delivery_policy_t policy = { .parallel = cap == SQ_NOTIFY_PARALLEL ? 0 : cap };
        delivery_book_t *book = delivery_book_new (&policy, NULL, NULL);
        assert_int_equal (delivery_book_policy (book).parallel, cap);
        char key [32];
        for (unsigned receiver = 0; receiver < cap + 3; receiver++) {
            snprintf (key, sizeof (key), "r%u", receiver);
            s_add (book, key, 1, 0, DELIVERY_DUE);
        }
        //  Exactly cap start, in the order they became ready.
        for (unsigned receiver = 0; receiver < cap; receiver++) {
            snprintf (key, sizeof (key), "r%u", receiver);
            EXPECT_ATTEMPT (book, 0, key, 1, 1);
        }
        s_expect_none (book, 0);
        assert_int_equal (delivery_book_wakeup (book), -1);     //  full: only an end helps
        s_expect_counts (book, 0, 3, cap, 0);
        //  One ends, failed: exactly one more starts.
        delivery_book_finished (book, "r0", false, 1);
        snprintf (key, sizeof (key), "r%u", cap);
        EXPECT_ATTEMPT (book, 1, key, 1, 1);
        s_expect_none (book, 1);
        s_expect_counts (book, 0, 2, cap, 1);
        //  Full even when r0's retry is due: -1, and nothing starts (but
        //  r0's items are due again).
        assert_int_equal (delivery_book_wakeup (book), -1);
        s_expect_none (book, 5000);
        s_expect_counts (book, 0, 3, cap, 0);
        assert_int_equal (delivery_book_wakeup (book), -1);
        delivery_book_destroy (&book);
    }
}

//  batch_max 1 and two slots for three receivers of two items each: turns
//  go round, the longest waiting first.
static void
test_fairness (void **state)
{
    delivery_policy_t policy = { .digest_after = NO_DIGEST, .batch_max = 1, .parallel = 2 };
    delivery_book_t *book = delivery_book_new (&policy, NULL, NULL);
    static const char *keys [] = { "a", "b", "c" };
    for (uint64_t notice = 1; notice <= 2; notice++)
        for (size_t index = 0; index < 3; index++)
            s_add (book, keys [index], notice, 0, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, 0, "a", 1, 1);
    EXPECT_ATTEMPT (book, 0, "b", 1, 1);
    delivery_book_finished (book, "a", true, 1);
    EXPECT_ATTEMPT (book, 1, "c", 1, 1);        //  c waited longer than a
    s_expect_none (book, 1);
    delivery_book_finished (book, "b", true, 2);
    EXPECT_ATTEMPT (book, 2, "a", 1, 2);
    delivery_book_finished (book, "c", true, 3);
    EXPECT_ATTEMPT (book, 3, "b", 1, 2);
    delivery_book_finished (book, "a", true, 4);
    EXPECT_ATTEMPT (book, 4, "c", 1, 2);
    delivery_book_finished (book, "b", true, 5);
    delivery_book_finished (book, "c", true, 5);
    s_expect_none (book, 5);
    //  Retries due at the same time: the one whose turn came first goes first.
    s_add (book, "c", 3, 10, DELIVERY_DUE);
    s_add (book, "a", 3, 10, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, 10, "c", 1, 3);
    EXPECT_ATTEMPT (book, 10, "a", 1, 3);
    delivery_book_finished (book, "a", false, 20);
    delivery_book_finished (book, "c", false, 20);
    assert_int_equal (delivery_book_wakeup (book), 1020);
    EXPECT_ATTEMPT (book, 1020, "c", 2, 3);
    EXPECT_ATTEMPT (book, 1020, "a", 2, 3);
    delivery_book_destroy (&book);
}


//  --------------------------------------------------------------------------
//  Settled, wakeup, duplicates

static void
test_settled (void **state)
{
    delivery_policy_t policy = { .digest_after = 1, .digest_window_ms = 5000 };
    delivery_book_t *book = delivery_book_new (&policy, NULL, NULL);
    assert_true (delivery_book_settled (book, 0));
    assert_true (delivery_book_settled (book, UINT64_MAX));
    s_add (book, "a", 3, 0, DELIVERY_DUE);
    s_add (book, "a", 5, 0, DELIVERY_HELD);     //  held counts as pending
    s_add (book, "b", 3, 0, DELIVERY_DUE);
    assert_true (delivery_book_settled (book, 2));
    assert_false (delivery_book_settled (book, 3));
    EXPECT_ATTEMPT (book, 0, "a", 1, 3);
    delivery_book_finished (book, "a", true, 1);
    assert_false (delivery_book_settled (book, 3));     //  b's 3 is still pending
    EXPECT_ATTEMPT (book, 1, "b", 1, 3);
    delivery_book_finished (book, "b", false, 2);       //  waiting counts as pending
    assert_false (delivery_book_settled (book, 3));
    EXPECT_ATTEMPT (book, 1002, "b", 2, 3);             //  active counts as pending
    assert_false (delivery_book_settled (book, 3));
    delivery_book_finished (book, "b", true, 1003);
    assert_true (delivery_book_settled (book, 4));
    assert_false (delivery_book_settled (book, 5));
    EXPECT_ATTEMPT (book, 5000, "a", 1, 5);
    delivery_book_finished (book, "a", true, 5001);
    assert_true (delivery_book_settled (book, UINT64_MAX));
    delivery_book_destroy (&book);
}

static void
test_wakeup (void **state)
{
    delivery_policy_t policy = { .digest_after = 1, .digest_window_ms = 60000 };
    delivery_book_t *book = delivery_book_new (&policy, NULL, NULL);
    assert_int_equal (delivery_book_wakeup (book), -1);
    s_add (book, "a", 1, 100, DELIVERY_DUE);
    assert_int_equal (delivery_book_wakeup (book), 100);        //  not taken yet: in the past
    EXPECT_ATTEMPT (book, 150, "a", 1, 1);
    assert_int_equal (delivery_book_wakeup (book), -1);         //  in flight: an end will say
    s_add (book, "a", 2, 200, DELIVERY_HELD);
    assert_int_equal (delivery_book_wakeup (book), -1);         //  its window, but in flight
    delivery_book_finished (book, "a", false, 300);             //  retry 1300, window 60100
    assert_int_equal (delivery_book_wakeup (book), 1300);
    s_add (book, "b", 1, 400, DELIVERY_DUE);
    EXPECT_ATTEMPT (book, 400, "b", 1, 1);
    s_add (book, "b", 2, 500, DELIVERY_HELD);
    delivery_book_finished (book, "b", true, 600);              //  window 60400
    assert_int_equal (delivery_book_wakeup (book), 1300);
    EXPECT_ATTEMPT (book, 1300, "a", 2, 1);
    assert_int_equal (delivery_book_wakeup (book), 60400);      //  b's window; a flies
    delivery_book_finished (book, "a", false, 1400);            //  retry 3400
    assert_int_equal (delivery_book_wakeup (book), 3400);
    EXPECT_ATTEMPT (book, 3400, "a", 3, 1);
    delivery_book_finished (book, "a", true, 3500);
    assert_int_equal (delivery_book_wakeup (book), 60100);      //  a's window now
    s_expect_none (book, 60099);
    EXPECT_ATTEMPT (book, 60100, "a", 1, 2);
    assert_int_equal (delivery_book_wakeup (book), 60400);
    EXPECT_ATTEMPT (book, 60400, "b", 1, 2);
    assert_int_equal (delivery_book_wakeup (book), -1);
    delivery_book_destroy (&book);
}

static void
test_duplicate_add (void **state)
{
    ended_log_t log = { .size = 0 };
    delivery_policy_t policy = { .digest_after = 2, .digest_window_ms = 1000 };
    delivery_book_t *book = delivery_book_new (&policy, s_record, &log);
    s_add (book, "a", 1, 0, DELIVERY_DUE);
    s_add (book, "a", 1, 0, DELIVERY_DUE);      //  ignored, and not counted in the window
    s_add (book, "b", 1, 0, DELIVERY_DUE);      //  another receiver: its own item
    s_add (book, "a", 2, 0, DELIVERY_DUE);      //  still the second of the window
    assert_int_equal (delivery_book_pending (book), 3);
    assert_int_equal (delivery_book_pending_for (book, "a"), 2);
    EXPECT_ATTEMPT (book, 0, "a", 1, 1, 2);
    EXPECT_ATTEMPT (book, 0, "b", 1, 1);
    delivery_book_finished (book, "b", true, 1);
    s_add (book, "a", 1, 5, DELIVERY_ACTIVE);   //  in flight: its state
    s_add (book, "a", 3, 5, DELIVERY_HELD);
    s_add (book, "a", 3, 6, DELIVERY_HELD);
    assert_int_equal (delivery_book_pending_for (book, "a"), 3);
    delivery_book_finished (book, "a", false, 10);
    s_add (book, "a", 2, 11, DELIVERY_WAITING);
    EXPECT_ATTEMPT (book, 1010, "a", 2, 1, 2, 3);
    delivery_book_finished (book, "a", true, 1010);
    assert_int_equal (log.ended [DELIVERY_DELIVERED], 4);
    //  Ended and forgotten: the same notice may come again, here held by
    //  the window [1000, 2000) that follows the one that held 3.
    s_add (book, "a", 1, 1020, DELIVERY_HELD);
    assert_int_equal (delivery_book_pending_for (book, "a"), 1);
    delivery_book_destroy (&book);
}


//  --------------------------------------------------------------------------
//  A long random run: counts add up after every step, every receiver's
//  items end in order and once, at most one attempt per receiver flies.

#define RANDOM_RECEIVERS    20

typedef struct {
    uint64_t last [RANDOM_RECEIVERS];   //  last notice ended, per receiver
    size_t ended;
} order_check_t;

static void
s_check_order (const char *receiver, uint64_t notice, delivery_state_t state, void *arg)
{
    order_check_t *check = (order_check_t *) arg;
    unsigned index = (unsigned) atoi (receiver + 1);
    assert_true (index < RANDOM_RECEIVERS);
    assert_true (notice > check->last [index]);     //  notices per receiver rise
    check->last [index] = notice;
    check->ended++;
}

static uint32_t
s_random (uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t) (*seed >> 33);
}

static void
test_random_run (void **state)
{
    order_check_t check = { .ended = 0 };
    delivery_policy_t policy = { .parallel = 4, .retry_first_ms = 50, .retry_max_ms = 400,
                                 .give_up_ms = 3000, .digest_after = 3, .digest_window_ms = 500,
                                 .batch_max = 4 };
    delivery_book_t *book = delivery_book_new (&policy, s_check_order, &check);
    bool flying [RANDOM_RECEIVERS] = { false };
    uint64_t added = 0;
    uint64_t seed = 42;
    int64_t now = 0;
    char key [16];
    for (int step = 0; step < 20000; step++) {
        now += s_random (&seed) % 20;
        uint32_t dice = s_random (&seed) % 10;
        unsigned index = s_random (&seed) % RANDOM_RECEIVERS;
        snprintf (key, sizeof (key), "r%u", index);
        if (dice < 4)
            delivery_book_add (book, key, ++added, now, now);
        else
        if (dice < 7) {
            delivery_attempt_t attempt;
            size_t flying_count = 0;
            for (unsigned other = 0; other < RANDOM_RECEIVERS; other++)
                flying_count += flying [other];
            if (delivery_book_next (book, now, &attempt)) {
                unsigned started = (unsigned) atoi (attempt.receiver + 1);
                assert_false (flying [started]);
                assert_true (flying_count < 4);
                assert_true (attempt.count >= 1 && attempt.count <= 4);
                for (size_t item = 1; item < attempt.count; item++)
                    assert_true (attempt.notices [item] > attempt.notices [item - 1]);
                assert_true (attempt.notices [0] > check.last [started]);
                flying [started] = true;
            }
        }
        else
        if (flying [index]) {
            delivery_book_finished (book, key, dice < 9, now);
            flying [index] = false;
        }
        s_check_counts (book);
        size_t sum = 0;
        for (unsigned other = 0; other < RANDOM_RECEIVERS; other++) {
            snprintf (key, sizeof (key), "r%u", other);
            sum += delivery_book_pending_for (book, key);
        }
        assert_int_equal (sum, delivery_book_pending (book));
        assert_int_equal (check.ended + delivery_book_pending (book), added);
    }
    //  Drain: land what flies, then deliver everything.
    for (unsigned index = 0; index < RANDOM_RECEIVERS; index++)
        if (flying [index]) {
            snprintf (key, sizeof (key), "r%u", index);
            delivery_book_finished (book, key, true, now);
        }
    while (delivery_book_pending (book)) {
        delivery_attempt_t attempt;
        if (delivery_book_next (book, now, &attempt)) {
            char receiver [16];
            snprintf (receiver, sizeof (receiver), "%s", attempt.receiver);
            delivery_book_finished (book, receiver, true, now);
        }
        else {
            int64_t wakeup = delivery_book_wakeup (book);
            assert_true (wakeup > now);
            now = wakeup;
        }
    }
    assert_int_equal (check.ended, added);
    assert_true (delivery_book_settled (book, UINT64_MAX));
    delivery_book_destroy (&book);
}


//  --------------------------------------------------------------------------
//  Scale: 10,000 items for one receiver beside 2,000 receivers.

static void
test_scale (void **state)
{
    ended_log_t log = { .size = 0 };
    delivery_book_t *book = delivery_book_new (NULL, s_record, &log);
    char key [32];
    for (unsigned receiver = 0; receiver < 2000; receiver++) {
        snprintf (key, sizeof (key), "hook:%u", receiver);
        for (uint64_t notice = 1; notice <= 5; notice++)
            s_add (book, key, notice, 0, DELIVERY_DUE);
    }
    for (uint64_t notice = 1; notice <= 10000; notice++)
        s_add (book, "email:big", notice, 0, notice <= 5 ? DELIVERY_DUE : DELIVERY_HELD);
    s_expect_counts (book, 9995, 10005, 0, 0);
    //  Everyone once at 0 (64 at a time), the big one failing twice on the way.
    size_t attempts = 0, failures = 0;
    delivery_attempt_t attempt;
    int64_t now = 0;
    while (delivery_book_pending (book)) {
        delivery_attempt_t started [SQ_NOTIFY_PARALLEL + 1];     //  room to see one too many
        size_t flying = 0;
        while (flying <= SQ_NOTIFY_PARALLEL && delivery_book_next (book, now, &started [flying]))
            flying++;
        assert_true (flying <= SQ_NOTIFY_PARALLEL);
        if (!flying) {
            now = delivery_book_wakeup (book);
            assert_true (now > 0);
            continue;
        }
        for (size_t index = 0; index < flying; index++) {
            bool big = strcmp (started [index].receiver, "email:big") == 0;
            bool ok = !(big && started [index].count == 5000 && failures < 2);
            failures += !ok;
            snprintf (key, sizeof (key), "%s", started [index].receiver);
            delivery_book_finished (book, key, ok, now);
            attempts++;
        }
    }
    //  2000 + the big one's 5 at once, then 5000 (failing twice) and 4995.
    assert_int_equal (attempts, 2000 + 1 + 3 + 1);
    assert_int_equal (failures, 2);
    assert_int_equal (log.ended [DELIVERY_DELIVERED], 20000);
    assert_false (delivery_book_next (book, now, &attempt));
    delivery_book_destroy (&book);
}

static void
test_state_names (void **state)
{
    assert_string_equal (delivery_state_name (DELIVERY_HELD), "held");
    assert_string_equal (delivery_state_name (DELIVERY_WAITING), "waiting");
    assert_string_equal (delivery_state_name (DELIVERY_GIVEN_UP), "given up");
    assert_string_equal (delivery_state_name (DELIVERY_STATE_COUNT), "unknown");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_retry_delays),
        cmocka_unit_test (test_retry_schedule),
        cmocka_unit_test (test_order_across_failure),
        cmocka_unit_test (test_one_in_flight),
        cmocka_unit_test (test_receivers_independent),
        cmocka_unit_test (test_give_up_boundary),
        cmocka_unit_test (test_give_up_mixed),
        cmocka_unit_test (test_digest_burst),
        cmocka_unit_test (test_digest_windows),
        cmocka_unit_test (test_digest_with_retry),
        cmocka_unit_test (test_batch_max),
        cmocka_unit_test (test_parallel_cap),
        cmocka_unit_test (test_fairness),
        cmocka_unit_test (test_settled),
        cmocka_unit_test (test_wakeup),
        cmocka_unit_test (test_duplicate_add),
        cmocka_unit_test (test_random_run),
        cmocka_unit_test (test_scale),
        cmocka_unit_test (test_state_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
