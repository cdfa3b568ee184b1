/*  test_credit.c: the pinger's slots, queue and credit (actors/credit.c).

    Most tests are scripts: a table of events (a job arrives, a slot is
    released, READY is asked for ...) each with the exact answer expected,
    played against one credit book.  Time is an argument, so queue times
    are checked to the microsecond.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "credit.h"

#include <stdio.h>
#include <string.h>

//  One step of a script.
typedef enum {
    ARRIVE,         //  job `job` arrives at `now`: expect `arrival` (and `slot` on START)
    NEXT,           //  at `now`, the next waiting job: expect `job`, `queue_us`, `slot`;
                    //  job 0 = expect none
    RELEASE,        //  slot `slot` is released
    READY,          //  expect credit_ready () == `count`
    UNSENT,         //  credit_unsent (`count`)
    FREE,           //  expect credit_free_slots () == `count`
    LIVE,           //  expect credit_live () == `count`
    WAITING         //  expect credit_waiting () == `count`
} op_t;

typedef struct {
    op_t op;                    //  what happens
    uint64_t job;               //  job id (ARRIVE, NEXT)
    int64_t now;                //  time, µs (ARRIVE, NEXT)
    credit_arrival_t arrival;   //  expected answer (ARRIVE)
    unsigned slot;              //  slot expected (ARRIVE START, NEXT) or released
    int64_t queue_us;           //  expected queue time (NEXT)
    unsigned count;             //  READY, UNSENT, FREE, LIVE, WAITING
} step_t;

#define TIMEOUT_MS  1000        //  every scripted job's timeout

//  A job as the dispatcher sends it.
static sq_check_t
s_job (uint64_t job_id)
{
    sq_check_t job;
    memset (&job, 0, sizeof (job));
    job.job_id = job_id;
    job.attempt = 1;
    job.site_id = 100 + job_id;
    snprintf (job.url, sizeof (job.url), "http://site-%llu.example/", (unsigned long long) job_id);
    job.timeout_ms = TIMEOUT_MS;
    return job;
}

static void
s_play (unsigned concurrency, const step_t *steps, size_t count)
{
    credit_t *credit = credit_new (concurrency);
    assert_non_null (credit);
    for (size_t index = 0; index < count; index++) {
        const step_t *step = &steps [index];
        switch (step->op) {
            case ARRIVE: {
                sq_check_t job = s_job (step->job);
                unsigned slot = 9999;
                credit_arrival_t arrival = credit_arrive (credit, &job, step->now, &slot);
                if (arrival != step->arrival)
                    fail_msg ("step %zu: job %llu: arrival %d, expected %d", index,
                              (unsigned long long) step->job, arrival, step->arrival);
                if (arrival == CREDIT_START && slot != step->slot)
                    fail_msg ("step %zu: job %llu: slot %u, expected %u", index,
                              (unsigned long long) step->job, slot, step->slot);
                break;
            }
            case NEXT: {
                sq_check_t job;
                int64_t queue_us = -1;
                unsigned slot = 9999;
                bool taken = credit_next (credit, step->now, &job, &queue_us, &slot);
                if (!step->job) {
                    if (taken)
                        fail_msg ("step %zu: job %llu started, expected none", index,
                                  (unsigned long long) job.job_id);
                    break;
                }
                if (!taken)
                    fail_msg ("step %zu: no job started, expected %llu", index,
                              (unsigned long long) step->job);
                if (job.job_id != step->job)
                    fail_msg ("step %zu: job %llu started, expected %llu", index,
                              (unsigned long long) job.job_id, (unsigned long long) step->job);
                if (queue_us != step->queue_us)
                    fail_msg ("step %zu: queue_us %lld, expected %lld", index,
                              (long long) queue_us, (long long) step->queue_us);
                if (slot != step->slot)
                    fail_msg ("step %zu: slot %u, expected %u", index, slot, step->slot);
                //  The job comes out as it went in: above all, its timeout
                //  is whole, not shrunk by the wait.
                sq_check_t sent = s_job (step->job);
                assert_int_equal (job.timeout_ms, TIMEOUT_MS);
                assert_memory_equal (&job, &sent, sizeof (job));
                break;
            }
            case RELEASE:
                credit_release (credit, step->slot);
                break;
            case READY: {
                unsigned ready = credit_ready (credit);
                if (ready != step->count)
                    fail_msg ("step %zu: READY %u, expected %u", index, ready, step->count);
                break;
            }
            case UNSENT:
                credit_unsent (credit, step->count);
                break;
            case FREE:
                if (credit_free_slots (credit) != step->count)
                    fail_msg ("step %zu: free slots %u, expected %u", index,
                              credit_free_slots (credit), step->count);
                break;
            case LIVE:
                if (credit_live (credit) != step->count)
                    fail_msg ("step %zu: live %u, expected %u", index,
                              credit_live (credit), step->count);
                break;
            case WAITING:
                if (credit_waiting (credit) != step->count)
                    fail_msg ("step %zu: waiting %u, expected %u", index,
                              credit_waiting (credit), step->count);
                break;
        }
    }
    credit_destroy (&credit);
    assert_null (credit);
}

#define PLAY(concurrency, steps) s_play (concurrency, steps, sizeof (steps) / sizeof (steps [0]))

#define S_ARRIVE(id, at, what, in)  { .op = ARRIVE, .job = id, .now = at, .arrival = what, .slot = in }
#define S_NEXT(id, at, waited, in)  { .op = NEXT, .job = id, .now = at, .queue_us = waited, .slot = in }
#define S_NONE(at)                  { .op = NEXT, .job = 0, .now = at }
#define S_RELEASE(in)               { .op = RELEASE, .slot = in }
#define S_READY(n)                  { .op = READY, .count = n }
#define S_UNSENT(n)                 { .op = UNSENT, .count = n }
#define S_FREE(n)                   { .op = FREE, .count = n }
#define S_LIVE(n)                   { .op = LIVE, .count = n }
#define S_WAITING(n)                { .op = WAITING, .count = n }

static void
test_new_and_destroy (void **state)
{
    credit_t *credit = credit_new (3);
    assert_non_null (credit);
    assert_int_equal (credit_concurrency (credit), 3);
    assert_int_equal (credit_live (credit), 0);
    assert_int_equal (credit_waiting (credit), 0);
    credit_destroy (&credit);
    assert_null (credit);
    credit_destroy (&credit);       //  safe twice
    assert_null (credit);
}

//  The first READY announces every slot; after that, exactly one credit
//  per check that ended, once, and none while nothing ended.
static void
test_credit_after_every_result (void **state)
{
    const step_t steps [] = {
        S_READY (3), S_READY (0),
        S_ARRIVE (1, 0, CREDIT_START, 0),
        S_ARRIVE (2, 0, CREDIT_START, 1),
        S_READY (0),
        S_RELEASE (0), S_READY (1), S_READY (0),
        S_RELEASE (1), S_READY (1), S_READY (0),
        //  Two end before READY is asked for: one READY of 2.
        S_ARRIVE (3, 10, CREDIT_START, 1),
        S_ARRIVE (4, 10, CREDIT_START, 0),
        S_ARRIVE (5, 10, CREDIT_START, 2),
        S_FREE (0), S_READY (0),
        S_RELEASE (2), S_RELEASE (0), S_READY (2), S_READY (0),
        S_RELEASE (1), S_READY (1), S_READY (0),
        S_FREE (3), S_LIVE (0),
    };
    PLAY (3, steps);
}

//  A check that could not start gives its slot back, and the credit.
static void
test_check_that_could_not_start (void **state)
{
    const step_t steps [] = {
        S_READY (1),
        S_ARRIVE (1, 0, CREDIT_START, 0), S_LIVE (1), S_FREE (0),
        S_RELEASE (0), S_LIVE (0), S_FREE (1), S_READY (1),
        //  Same for a waiting job that got a slot and failed to start.
        S_ARRIVE (2, 0, CREDIT_START, 0),
        S_ARRIVE (3, 5, CREDIT_QUEUED, 0),
        S_RELEASE (0),
        S_NEXT (3, 8, 3, 0),
        S_READY (0),                        //  the freed slot went to job 3
        S_RELEASE (0), S_READY (1),         //  which could not start
    };
    PLAY (1, steps);
}

//  Slots freed while jobs wait go to those jobs, oldest first, and are no
//  new credit: the dispatcher spent that credit when it sent them.
static void
test_queue_is_fifo_and_takes_freed_credit (void **state)
{
    const step_t steps [] = {
        S_READY (2),
        S_ARRIVE (1, 1000, CREDIT_START, 0),
        S_ARRIVE (2, 1000, CREDIT_START, 1),
        S_ARRIVE (3, 2000, CREDIT_QUEUED, 0),
        S_ARRIVE (4, 3000, CREDIT_QUEUED, 0),
        S_ARRIVE (5, 4000, CREDIT_QUEUED, 0),
        S_WAITING (3), S_LIVE (2), S_FREE (0),
        S_NONE (5000),                      //  no slot free yet
        S_RELEASE (1),
        //  A job arriving now queues behind the others, though a slot is free.
        S_ARRIVE (6, 5500, CREDIT_QUEUED, 0),
        S_READY (0),
        S_NEXT (3, 6000, 4000, 1),
        S_NONE (6000),
        S_RELEASE (0), S_RELEASE (1),
        S_NEXT (4, 7000, 4000, 1),
        S_NEXT (5, 7000, 3000, 0),
        S_NONE (7000),
        S_READY (0),
        S_RELEASE (0),
        S_NEXT (6, 8000, 2500, 0),
        S_WAITING (0), S_LIVE (2),
        S_READY (0),
        S_RELEASE (0), S_RELEASE (1),
        S_READY (2), S_FREE (2),
        S_NONE (9000),
    };
    PLAY (2, steps);
}

//  The queue holds CREDIT_QUEUE_FACTOR x concurrency jobs; more are
//  refused, and a place freed is taken again.  The ring wraps.
static void
test_queue_full_refuses (void **state)
{
    assert_int_equal (CREDIT_QUEUE_FACTOR, 4);
    const step_t steps [] = {
        S_ARRIVE (1, 0, CREDIT_START, 0),
        S_ARRIVE (2, 0, CREDIT_QUEUED, 0),
        S_ARRIVE (3, 0, CREDIT_QUEUED, 0),
        S_ARRIVE (4, 0, CREDIT_QUEUED, 0),
        S_ARRIVE (5, 0, CREDIT_QUEUED, 0),
        S_ARRIVE (6, 0, CREDIT_REFUSED, 0),
        S_ARRIVE (7, 0, CREDIT_REFUSED, 0),
        S_WAITING (4), S_LIVE (1), S_FREE (0),
        S_RELEASE (0),
        S_NEXT (2, 100, 100, 0),
        S_ARRIVE (8, 100, CREDIT_QUEUED, 0),
        S_ARRIVE (9, 100, CREDIT_REFUSED, 0),
        S_RELEASE (0), S_NEXT (3, 200, 200, 0),
        S_RELEASE (0), S_NEXT (4, 300, 300, 0),
        S_ARRIVE (10, 300, CREDIT_QUEUED, 0),
        S_RELEASE (0), S_NEXT (5, 400, 400, 0),
        S_RELEASE (0), S_NEXT (8, 500, 400, 0),
        S_RELEASE (0), S_NEXT (10, 600, 300, 0),
        S_NONE (700),
        S_WAITING (0),
        //  Every slot freed went to a waiting job: no credit to announce;
        //  refused jobs cost none either.
        S_READY (0),
        S_RELEASE (0), S_READY (1), S_READY (0),
    };
    PLAY (1, steps);
}

//  A job that waited in our queue keeps its whole timeout (checked in
//  s_play for every NEXT), and its queue time is start - arrival, exactly.
static void
test_queue_wait_is_not_charged (void **state)
{
    const step_t steps [] = {
        S_ARRIVE (1, 1000000, CREDIT_START, 0),
        S_ARRIVE (2, 1000250, CREDIT_QUEUED, 0),
        S_RELEASE (0),
        S_NEXT (2, 1600251, 600001, 0),     //  600 ms of 1000 waited: still 1000
        S_ARRIVE (3, 1700000, CREDIT_QUEUED, 0),
        S_RELEASE (0),
        S_NEXT (3, 4200000, 2500000, 0),    //  waited 2.5 x its timeout: still whole
        S_RELEASE (0),
        S_ARRIVE (4, 5000000, CREDIT_START, 0),
    };
    PLAY (1, steps);
}

//  A READY that could not be sent is offered again, added to what is owed
//  since, and never beyond the free slots.
static void
test_unsent_ready_is_offered_again (void **state)
{
    const step_t steps [] = {
        S_READY (2), S_UNSENT (2),          //  the very first READY failed
        S_READY (2), S_READY (0),
        S_ARRIVE (1, 0, CREDIT_START, 0),
        S_ARRIVE (2, 0, CREDIT_START, 1),
        S_RELEASE (0),
        S_READY (1), S_UNSENT (1),
        S_RELEASE (1),
        S_READY (2), S_UNSENT (2),
        S_READY (2), S_READY (0),
        //  Unsent credit whose slots jobs took meanwhile is no longer free.
        S_ARRIVE (3, 0, CREDIT_START, 1),
        S_RELEASE (1), S_READY (1), S_UNSENT (1),
        S_ARRIVE (4, 0, CREDIT_START, 1),
        S_ARRIVE (5, 0, CREDIT_START, 0),
        S_READY (0),
    };
    PLAY (2, steps);
}

//  The HEARTBEAT's figure: concurrency - live - waiting, never below 0.
static void
test_heartbeat_free_slots (void **state)
{
    const step_t steps [] = {
        S_FREE (4),
        S_ARRIVE (1, 0, CREDIT_START, 0), S_FREE (3),
        S_ARRIVE (2, 0, CREDIT_START, 1), S_FREE (2),
        S_ARRIVE (3, 0, CREDIT_START, 2), S_FREE (1),
        S_ARRIVE (4, 0, CREDIT_START, 3), S_FREE (0),
        S_ARRIVE (5, 0, CREDIT_QUEUED, 0), S_FREE (0),
        S_ARRIVE (6, 0, CREDIT_QUEUED, 0), S_FREE (0),
        S_RELEASE (2), S_FREE (0),          //  4 - 3 live - 2 waiting
        S_RELEASE (0), S_FREE (0),          //  4 - 2 - 2
        S_RELEASE (1), S_FREE (1),          //  4 - 1 - 2
        S_NEXT (5, 10, 10, 1), S_FREE (1),  //  moving a job from queue to slot
        S_NEXT (6, 10, 10, 0), S_FREE (1),  //  changes nothing
        S_LIVE (3), S_WAITING (0),
        S_RELEASE (3), S_FREE (2),
        //  Asking for the heartbeat figure does not touch what READY owes,
        //  and READY never announces more than the free slots.
        S_READY (2), S_READY (0),
    };
    PLAY (4, steps);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_new_and_destroy),
        cmocka_unit_test (test_credit_after_every_result),
        cmocka_unit_test (test_check_that_could_not_start),
        cmocka_unit_test (test_queue_is_fifo_and_takes_freed_credit),
        cmocka_unit_test (test_queue_full_refuses),
        cmocka_unit_test (test_queue_wait_is_not_charged),
        cmocka_unit_test (test_unsent_ready_is_offered_again),
        cmocka_unit_test (test_heartbeat_free_slots),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
