/*  test_delivery.c: the notifier's delivery policy (notifier/delivery.h),
    with exact numbers and no clock: every time below is an argument.

    The schedule (4 attempts, retries 1 s, 2 s, 4 s after each failure, then
    given up), what counts as delivered (CURLE_OK and 200..299), the
    parallel cap, retries before new deliveries, pending counts, SYNC
    readiness, and that nothing starts before its time.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "delivery.h"
#include "sq_defaults.h"

#include <curl/curl.h>
#include <czmq.h>

#define URL     "http://127.0.0.1:1/hook"
#define SITE    "https://example.com/"
#define BODY    "{\"seq\":1}"

//  A new book with the default policy, or with one field set.
static delivery_book_t *
s_book (unsigned attempts, unsigned backoff_ms, unsigned parallel)
{
    delivery_policy_t policy = { .attempts = attempts, .backoff_ms = backoff_ms, .parallel = parallel };
    delivery_book_t *book = delivery_book_new (&policy);
    assert_non_null (book);
    return book;
}

//  Start the one delivery the book should start at now, and check it is id.
static void
s_expect_start (delivery_book_t *book, int64_t now, uint64_t id, unsigned attempt)
{
    assert_int_equal (delivery_book_next (book, now), id);
    const delivery_t *delivery = delivery_book_lookup (book, id);
    assert_non_null (delivery);
    assert_int_equal (delivery->state, DELIVERY_ACTIVE);
    assert_int_equal (delivery->attempt, attempt);
}


//  --------------------------------------------------------------------------
//  What counts as delivered

typedef struct {
    int curl_code;              //  the attempt's CURLcode
    long http_status;           //  its HTTP status, 0 if none
    bool delivered;             //  expected verdict
} outcome_case_t;

static const outcome_case_t s_outcomes [] = {
    { CURLE_OK,                  199, false },
    { CURLE_OK,                  200, true  },
    { CURLE_OK,                  201, true  },
    { CURLE_OK,                  204, true  },
    { CURLE_OK,                  299, true  },
    { CURLE_OK,                  300, false },
    { CURLE_OK,                  301, false },
    { CURLE_OK,                  404, false },
    { CURLE_OK,                  500, false },
    { CURLE_OK,                  503, false },
    { CURLE_OK,                    0, false },     //  no status at all
    { CURLE_OPERATION_TIMEDOUT,    0, false },     //  slow receiver
    { CURLE_COULDNT_CONNECT,       0, false },     //  nobody listening
    { CURLE_OPERATION_TIMEDOUT,  200, false },     //  a 2xx header, then a timeout
    { CURLE_RECV_ERROR,          200, false },
};

static void
test_outcome_classification (void **state)
{
    for (size_t index = 0; index < sizeof (s_outcomes) / sizeof (s_outcomes [0]); index++) {
        const outcome_case_t *row = &s_outcomes [index];
        assert_int_equal (delivery_succeeded (row->curl_code, row->http_status), row->delivered);
        //  And what the book does with it after a first attempt: delivered,
        //  or a retry (a failure is never final on the first of 4 attempts).
        delivery_book_t *book = s_book (0, 0, 0);
        uint64_t id = delivery_book_add (book, 1, SITE, URL, BODY);
        s_expect_start (book, 0, id, 1);
        delivery_state_t expected = row->delivered ? DELIVERY_DELIVERED : DELIVERY_WAITING;
        assert_int_equal (delivery_book_finished (book, id, row->curl_code, row->http_status, 5),
                          expected);
        const delivery_t *delivery = delivery_book_lookup (book, id);
        assert_int_equal (delivery->state, expected);
        assert_int_equal (delivery->curl_code, row->curl_code);
        assert_int_equal (delivery->http_status, row->http_status);
        assert_int_equal (delivery_book_pending (book), row->delivered ? 0 : 1);
        delivery_book_destroy (&book);
    }
}


//  --------------------------------------------------------------------------
//  The schedule

typedef struct {
    unsigned backoff_ms;        //  policy (0 = default)
    unsigned attempt;           //  the attempt that failed
    int64_t delay;              //  expected wait before the next one
} delay_case_t;

static const delay_case_t s_delays [] = {
    {    0, 1, 1000 },          //  today's defaults: 1 s, 2 s, 4 s
    {    0, 2, 2000 },
    {    0, 3, 4000 },
    { 1000, 1, 1000 },
    {  100, 1,  100 },
    {  100, 2,  200 },
    {  100, 3,  400 },
    {  100, 4,  800 },
    {  250, 5, 4000 },
    {    1, 100, 1 << 20 },     //  doubling stops at 20: no overflow
};

static void
test_retry_delays (void **state)
{
    assert_int_equal (SQ_NOTIFY_ATTEMPTS, 4);
    assert_int_equal (SQ_NOTIFY_BACKOFF_MS, 1000);
    for (size_t index = 0; index < sizeof (s_delays) / sizeof (s_delays [0]); index++) {
        const delay_case_t *row = &s_delays [index];
        delivery_policy_t policy = { .backoff_ms = row->backoff_ms };
        assert_int_equal (delivery_retry_delay (&policy, row->attempt), row->delay);
    }
}

//  One attempt of a delivery's life: when it fails and how, and what the
//  book must say.
typedef struct {
    int64_t start;              //  when the attempt is due (and started)
    int64_t end;                //  when it fails
    int curl_code;              //  how: a libcurl error ...
    long http_status;           //  ... or an HTTP status
    delivery_state_t after;     //  expected state
    int64_t due;                //  expected next attempt, if WAITING
} attempt_case_t;

//  Default policy; the alert is added at t = 10000.
static const attempt_case_t s_schedule [] = {
    { 10000, 10050, CURLE_OK,                500, DELIVERY_WAITING, 11050 },
    { 11050, 11100, CURLE_OPERATION_TIMEDOUT,  0, DELIVERY_WAITING, 13100 },
    { 13100, 13200, CURLE_COULDNT_CONNECT,     0, DELIVERY_WAITING, 17200 },
    { 17200, 17300, CURLE_OK,                503, DELIVERY_GIVEN_UP,    0 },
};

static void
test_schedule_then_give_up (void **state)
{
    delivery_book_t *book = s_book (0, 0, 0);
    assert_int_equal (delivery_book_wakeup (book), -1);
    uint64_t id = delivery_book_add (book, 7, SITE, URL, BODY);
    assert_int_equal (id, 1);
    const size_t count = sizeof (s_schedule) / sizeof (s_schedule [0]);
    assert_int_equal (count, SQ_NOTIFY_ATTEMPTS);
    for (size_t index = 0; index < count; index++) {
        const attempt_case_t *row = &s_schedule [index];
        //  Not a millisecond early.
        if (index > 0) {
            assert_int_equal (delivery_book_wakeup (book), row->start);
            assert_int_equal (delivery_book_next (book, row->start - 1), 0);
            assert_int_equal (delivery_book_count (book, DELIVERY_WAITING), 1);
        }
        s_expect_start (book, row->start, id, (unsigned) index + 1);
        assert_int_equal (delivery_book_next (book, row->start), 0);
        assert_int_equal (delivery_book_finished (book, id, row->curl_code, row->http_status, row->end),
                          row->after);
        const delivery_t *delivery = delivery_book_lookup (book, id);
        assert_int_equal (delivery->state, row->after);
        assert_int_equal (delivery->attempt, index + 1);
        if (row->after == DELIVERY_WAITING)
            assert_int_equal (delivery->due, row->due);
    }
    //  Given up: never a fifth attempt, however long we wait.
    assert_int_equal (delivery_book_next (book, INT64_MAX / 2), 0);
    assert_int_equal (delivery_book_wakeup (book), -1);
    assert_int_equal (delivery_book_pending (book), 0);
    assert_int_equal (delivery_book_count (book, DELIVERY_GIVEN_UP), 1);
    assert_true (delivery_book_settled (book, 7));
    const delivery_t *delivery = delivery_book_lookup (book, id);
    assert_int_equal (delivery->attempt, SQ_NOTIFY_ATTEMPTS);
    assert_int_equal (delivery->seq, 7);
    assert_string_equal (delivery->url, URL);
    assert_string_equal (delivery->site_url, SITE);
    assert_string_equal (delivery->body, BODY);
    delivery_book_forget (book, id);
    assert_null (delivery_book_lookup (book, id));
    assert_int_equal (delivery_book_count (book, DELIVERY_GIVEN_UP), 0);
    delivery_book_destroy (&book);
    delivery_book_destroy (&book);
    assert_null (book);
}

//  Fails twice, then a 200: delivered on the third attempt, no more.
static void
test_delivered_after_retries (void **state)
{
    delivery_book_t *book = s_book (4, 100, 0);
    uint64_t id = delivery_book_add (book, 1, SITE, URL, BODY);
    s_expect_start (book, 0, id, 1);
    assert_int_equal (delivery_book_finished (book, id, CURLE_OK, 500, 0), DELIVERY_WAITING);
    assert_int_equal (delivery_book_next (book, 99), 0);
    s_expect_start (book, 100, id, 2);
    assert_int_equal (delivery_book_finished (book, id, CURLE_OK, 500, 100), DELIVERY_WAITING);
    assert_int_equal (delivery_book_next (book, 299), 0);
    s_expect_start (book, 300, id, 3);
    assert_int_equal (delivery_book_finished (book, id, CURLE_OK, 200, 310), DELIVERY_DELIVERED);
    assert_int_equal (delivery_book_next (book, 100000), 0);
    assert_int_equal (delivery_book_pending (book), 0);
    assert_int_equal (delivery_book_count (book, DELIVERY_DELIVERED), 1);
    delivery_book_forget (book, id);
    delivery_book_destroy (&book);
}

//  attempts = 1: the first failure is final.
static void
test_single_attempt (void **state)
{
    delivery_book_t *book = s_book (1, 0, 0);
    uint64_t id = delivery_book_add (book, 1, SITE, URL, BODY);
    s_expect_start (book, 0, id, 1);
    assert_int_equal (delivery_book_finished (book, id, CURLE_OK, 500, 1), DELIVERY_GIVEN_UP);
    assert_int_equal (delivery_book_next (book, 1000000), 0);
    delivery_book_destroy (&book);
}


//  --------------------------------------------------------------------------
//  Slots and order

static void
test_parallel_cap (void **state)
{
    const unsigned caps [] = { 1, 2, 5, SQ_NOTIFY_PARALLEL };
    for (size_t index = 0; index < sizeof (caps) / sizeof (caps [0]); index++) {
        unsigned cap = caps [index];
        delivery_book_t *book = s_book (0, 0, index == 3 ? 0 : cap);
        assert_int_equal (delivery_book_policy (book).parallel, cap);
        for (unsigned count = 0; count < cap + 3; count++)
            delivery_book_add (book, count + 1, SITE, URL, BODY);
        assert_int_equal (delivery_book_wakeup (book), 0);   //  work, and a free slot
        //  Exactly cap start, oldest first.
        for (unsigned count = 0; count < cap; count++)
            assert_int_equal (delivery_book_next (book, 0), count + 1);
        assert_int_equal (delivery_book_next (book, 0), 0);
        assert_int_equal (delivery_book_wakeup (book), -1);  //  full: only an end helps
        assert_int_equal (delivery_book_count (book, DELIVERY_ACTIVE), cap);
        assert_int_equal (delivery_book_count (book, DELIVERY_QUEUED), 3);
        assert_int_equal (delivery_book_pending (book), cap + 3);
        //  One ends: exactly one more starts, the next in line.
        delivery_book_finished (book, 1, CURLE_OK, 200, 1);
        assert_int_equal (delivery_book_next (book, 1), cap + 1);
        assert_int_equal (delivery_book_next (book, 1), 0);
        //  A failure frees its slot too; its retry waits for its time.
        delivery_book_finished (book, cap + 1, CURLE_OK, 500, 2);
        assert_int_equal (delivery_book_next (book, 2), cap + 2);
        assert_int_equal (delivery_book_next (book, 2), 0);
        assert_int_equal (delivery_book_count (book, DELIVERY_ACTIVE), cap);
        assert_int_equal (delivery_book_count (book, DELIVERY_WAITING), 1);
        assert_int_equal (delivery_book_pending (book), cap + 2);
        delivery_book_destroy (&book);         //  with deliveries in every state
    }
}

static void
test_retries_before_new (void **state)
{
    delivery_book_t *book = s_book (4, 1000, 1);
    uint64_t first = delivery_book_add (book, 1, SITE, URL, BODY);
    s_expect_start (book, 0, first, 1);
    delivery_book_finished (book, first, CURLE_OK, 500, 0);      //  due 1000
    uint64_t second = delivery_book_add (book, 2, SITE, URL, BODY);
    //  The retry is not due yet: the new one may use the free slot.
    s_expect_start (book, 500, second, 1);
    delivery_book_finished (book, second, CURLE_OK, 502, 600);   //  due 1600
    uint64_t third = delivery_book_add (book, 3, SITE, URL, BODY);
    //  At 1000 the first's retry is due: it goes before the new third.
    s_expect_start (book, 1000, first, 2);
    delivery_book_finished (book, first, CURLE_OK, 500, 1100);   //  due 3100
    //  At 2000 the second's retry (due 1600) still goes before the third.
    s_expect_start (book, 2000, second, 2);
    delivery_book_finished (book, second, CURLE_OK, 200, 2010);
    //  At 2010 no retry is due (3100): the third, at last.
    s_expect_start (book, 2010, third, 1);
    delivery_book_finished (book, third, CURLE_OK, 200, 2020);
    assert_int_equal (delivery_book_wakeup (book), 3100);
    assert_int_equal (delivery_book_next (book, 3099), 0);
    s_expect_start (book, 3100, first, 3);
    delivery_book_destroy (&book);
}

//  Among due retries the one due earliest goes first, not the one that
//  failed first.
static void
test_earliest_due_first (void **state)
{
    delivery_book_t *book = s_book (4, 1000, 1);
    uint64_t early = delivery_book_add (book, 1, SITE, URL, BODY);
    uint64_t late = delivery_book_add (book, 2, SITE, URL, BODY);
    s_expect_start (book, 0, early, 1);
    delivery_book_finished (book, early, CURLE_OK, 500, 0);      //  due 1000
    s_expect_start (book, 1000, early, 2);                       //  the retry, before "late"
    delivery_book_finished (book, early, CURLE_OK, 500, 1000);   //  due 3000, waiting first
    s_expect_start (book, 1000, late, 1);
    delivery_book_finished (book, late, CURLE_OK, 500, 1500);    //  due 2500, waiting second
    assert_int_equal (delivery_book_wakeup (book), 2500);
    s_expect_start (book, 4000, late, 2);                        //  2500 < 3000
    assert_int_equal (delivery_book_next (book, 4000), 0);       //  one slot
    delivery_book_destroy (&book);
}


//  --------------------------------------------------------------------------
//  Pending and SYNC readiness

static void
test_pending_and_settled (void **state)
{
    delivery_book_t *book = s_book (2, 100, 0);
    assert_true (delivery_book_settled (book, 0));
    assert_true (delivery_book_settled (book, 1000));
    uint64_t one_a = delivery_book_add (book, 1, SITE, URL, BODY);
    uint64_t one_b = delivery_book_add (book, 1, SITE, URL "/b", BODY);
    uint64_t two = delivery_book_add (book, 2, SITE, URL, BODY);
    uint64_t four = delivery_book_add (book, 4, SITE, URL, BODY);
    assert_int_equal (delivery_book_pending (book), 4);
    //  Queued counts as pending.
    assert_true (delivery_book_settled (book, 0));
    assert_false (delivery_book_settled (book, 1));
    assert_false (delivery_book_settled (book, 3));
    //  Active counts as pending.
    s_expect_start (book, 0, one_a, 1);
    s_expect_start (book, 0, one_b, 1);
    s_expect_start (book, 0, two, 1);
    s_expect_start (book, 0, four, 1);
    assert_int_equal (delivery_book_pending (book), 4);
    assert_false (delivery_book_settled (book, 1));
    //  One of seq 1's two ends: seq 1 is still not settled.
    delivery_book_finished (book, one_a, CURLE_OK, 200, 10);
    assert_int_equal (delivery_book_pending (book), 3);
    assert_false (delivery_book_settled (book, 1));
    //  Waiting for a retry counts as pending.
    delivery_book_finished (book, one_b, CURLE_OK, 500, 10);
    assert_int_equal (delivery_book_pending (book), 3);
    assert_false (delivery_book_settled (book, 1));
    s_expect_start (book, 110, one_b, 2);
    delivery_book_finished (book, one_b, CURLE_OK, 500, 120);    //  given up (2 attempts)
    assert_int_equal (delivery_book_pending (book), 2);
    assert_true (delivery_book_settled (book, 1));
    assert_false (delivery_book_settled (book, 2));
    //  A later alert pending does not hold an earlier SYNC.
    delivery_book_finished (book, two, CURLE_OK, 204, 130);
    assert_true (delivery_book_settled (book, 2));
    assert_true (delivery_book_settled (book, 3));
    assert_false (delivery_book_settled (book, 4));
    assert_int_equal (delivery_book_pending (book), 1);
    delivery_book_finished (book, four, CURLE_OK, 200, 140);
    assert_true (delivery_book_settled (book, UINT64_MAX));
    assert_int_equal (delivery_book_pending (book), 0);
    assert_int_equal (delivery_book_count (book, DELIVERY_DELIVERED), 3);
    assert_int_equal (delivery_book_count (book, DELIVERY_GIVEN_UP), 1);
    delivery_book_forget (book, one_a);
    delivery_book_forget (book, one_b);
    assert_int_equal (delivery_book_count (book, DELIVERY_DELIVERED), 2);
    assert_int_equal (delivery_book_count (book, DELIVERY_GIVEN_UP), 0);
    delivery_book_destroy (&book);
}

static void
s_count_pending (const delivery_t *delivery, void *arg)
{
    size_t *counts = (size_t *) arg;
    counts [delivery->state]++;
}

static void
test_each_pending (void **state)
{
    delivery_book_t *book = s_book (4, 100, 2);
    for (uint64_t seq = 1; seq <= 5; seq++)
        delivery_book_add (book, seq, SITE, URL, BODY);
    delivery_book_next (book, 0);
    delivery_book_next (book, 0);
    delivery_book_finished (book, 1, CURLE_OK, 500, 0);
    delivery_book_finished (book, 2, CURLE_OK, 200, 0);
    delivery_book_next (book, 0);
    size_t counts [DELIVERY_STATE_COUNT] = { 0 };
    delivery_book_each_pending (book, s_count_pending, counts);
    assert_int_equal (counts [DELIVERY_QUEUED], 2);
    assert_int_equal (counts [DELIVERY_ACTIVE], 1);
    assert_int_equal (counts [DELIVERY_WAITING], 1);
    assert_int_equal (counts [DELIVERY_DELIVERED], 0);
    assert_string_equal (delivery_state_name (DELIVERY_GIVEN_UP), "given up");
    delivery_book_destroy (&book);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_outcome_classification),
        cmocka_unit_test (test_retry_delays),
        cmocka_unit_test (test_schedule_then_give_up),
        cmocka_unit_test (test_delivered_after_retries),
        cmocka_unit_test (test_single_attempt),
        cmocka_unit_test (test_parallel_cap),
        cmocka_unit_test (test_retries_before_new),
        cmocka_unit_test (test_earliest_due_first),
        cmocka_unit_test (test_pending_and_settled),
        cmocka_unit_test (test_each_pending),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
