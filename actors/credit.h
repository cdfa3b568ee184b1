/*  credit.h: the pinger's slots, waiting queue and credit, as pure code.
    No ZeroMQ, no libcurl, no clock: time is an argument (monotonic µs).

    A pinger runs at most `concurrency` checks at once, one per slot (slot
    numbers 0 .. concurrency - 1 index the caller's pool of handles).  A
    job that arrives while every slot is busy waits in a bounded FIFO queue
    (CREDIT_QUEUE_FACTOR x concurrency); beyond that it is refused.

    Events and what they decide:
        arrive      START (a slot is free and no job waits), QUEUED, or
                    REFUSED (queue full: the dispatcher sent beyond our
                    credit and resends after the job's deadline)
        next        the oldest waiting job gets a freed slot; its queue_us
                    is start - arrival.  Its timeout is untouched: the wait
                    in our own queue is never charged to the site, the
                    timeout counts from when the check really starts.
        release     a check ended (verdict or local fault), or could not
                    start: its slot is free and one credit is owed
        ready       READY credit to send now: owed slots that waiting jobs
                    have not taken (at most the free slots); the debt is
                    cleared, and unsent () puts back what could not go
        free_slots  the HEARTBEAT's figure: slots neither live nor promised
                    to waiting jobs

    A new book owes `concurrency` credit: the first READY announces every
    slot.
*/
#ifndef CREDIT_H_INCLUDED
#define CREDIT_H_INCLUDED

#include "sq_proto.h"

#define CREDIT_QUEUE_FACTOR     4   //  waiting jobs at most, x concurrency

typedef struct _credit_t credit_t;

//  What became of a job that arrived.
typedef enum {
    CREDIT_START = 0,           //  start it now, in the slot given
    CREDIT_QUEUED,              //  it waits in the queue (copied)
    CREDIT_REFUSED              //  the queue is full: it is dropped
} credit_arrival_t;

//  A new book for concurrency slots (at least 1).  NULL if out of memory.
credit_t *credit_new (unsigned concurrency);

//  Destroy the book and set *self_p to NULL.  Safe on NULL, and twice.
void credit_destroy (credit_t **self_p);

//  A job arrived at now_us.  On CREDIT_START, *slot_p is the slot it runs
//  in and its queue time is 0; the job is not copied.  On CREDIT_QUEUED
//  the job is copied into the queue.
credit_arrival_t credit_arrive (credit_t *self, const sq_check_t *job, int64_t now_us,
                                unsigned *slot_p);

//  Take the oldest waiting job if a slot is free: copies it (its timeout
//  as it came) into *job, sets *queue_us_p = now_us - its arrival and
//  *slot_p.  True if one was taken, false if none waits or no slot is free.
bool credit_next (credit_t *self, int64_t now_us, sq_check_t *job, int64_t *queue_us_p,
                  unsigned *slot_p);

//  The check in slot ended, or could not start: the slot is free, and one
//  credit is owed.  Releasing a free slot is a programming error.
void credit_release (credit_t *self, unsigned slot);

//  Credit to announce in a READY now (0 = send nothing).  Clears the debt.
unsigned credit_ready (credit_t *self);

//  A READY for slots could not be sent: owe them again, for next time.
void credit_unsent (credit_t *self, unsigned slots);

//  Free slots now, for the HEARTBEAT: concurrency - live - waiting, or 0.
unsigned credit_free_slots (credit_t *self);

//  Checks running (slots in use).
unsigned credit_live (credit_t *self);

//  Jobs waiting in the queue.
unsigned credit_waiting (credit_t *self);

//  Slots at most, as given to credit_new.
unsigned credit_concurrency (credit_t *self);

#endif
