/*  credit.c: the pinger's slots, waiting queue and credit.  See credit.h.

    The free slots are a stack (the slot freed last is used first, so a
    quiet pinger keeps reusing the same few handles); the queue is a ring.
    Both are allocated once, at their full size: nothing grows under load.
*/
#include "credit.h"

#include <assert.h>
#include <stdlib.h>

struct _credit_t {
    unsigned concurrency;       //  slots, live checks at most
    unsigned *free_stack;       //  free slot numbers; the top is used next
    unsigned free_count;        //  entries on that stack
    bool *busy;                 //  per slot: a check holds it (catches a
                                //  double release)
    sq_check_t *queue;          //  FIFO ring of jobs waiting for a slot
    int64_t *arrived_us;        //  arrival time of each queued job
    unsigned queue_head;        //  ring index of the oldest waiting job
    unsigned queue_count;       //  jobs waiting
    unsigned queue_cap;         //  ring size: CREDIT_QUEUE_FACTOR x concurrency
    unsigned owed;              //  credit freed and not yet announced
};

credit_t *
credit_new (unsigned concurrency)
{
    assert (concurrency > 0);
    credit_t *self = (credit_t *) calloc (1, sizeof (credit_t));
    if (!self)
        return NULL;
    self->concurrency = concurrency;
    self->queue_cap = concurrency * CREDIT_QUEUE_FACTOR;
    self->free_stack = (unsigned *) calloc (concurrency, sizeof (unsigned));
    self->busy = (bool *) calloc (concurrency, sizeof (bool));
    self->queue = (sq_check_t *) calloc (self->queue_cap, sizeof (sq_check_t));
    self->arrived_us = (int64_t *) calloc (self->queue_cap, sizeof (int64_t));
    if (!self->free_stack || !self->busy || !self->queue || !self->arrived_us) {
        credit_destroy (&self);
        return NULL;
    }
    //  Slot 0 on top.
    for (unsigned index = 0; index < concurrency; index++)
        self->free_stack [index] = concurrency - 1 - index;
    self->free_count = concurrency;
    //  Nothing announced yet: every slot is owed.
    self->owed = concurrency;
    return self;
}

void
credit_destroy (credit_t **self_p)
{
    assert (self_p);
    credit_t *self = *self_p;
    if (!self)
        return;
    free (self->free_stack);
    free (self->busy);
    free (self->queue);
    free (self->arrived_us);
    free (self);
    *self_p = NULL;
}

//  Take the slot on top of the free stack.
static unsigned
s_take_slot (credit_t *self)
{
    assert (self->free_count > 0);
    unsigned slot = self->free_stack [--self->free_count];
    assert (!self->busy [slot]);
    self->busy [slot] = true;
    return slot;
}

credit_arrival_t
credit_arrive (credit_t *self, const sq_check_t *job, int64_t now_us, unsigned *slot_p)
{
    assert (self);
    assert (job);
    assert (slot_p);
    //  Jobs already waiting go first, even if a slot has just come free.
    if (self->free_count > 0 && self->queue_count == 0) {
        *slot_p = s_take_slot (self);
        return CREDIT_START;
    }
    if (self->queue_count == self->queue_cap)
        return CREDIT_REFUSED;
    unsigned index = (self->queue_head + self->queue_count) % self->queue_cap;
    self->queue [index] = *job;
    self->arrived_us [index] = now_us;
    self->queue_count++;
    return CREDIT_QUEUED;
}

bool
credit_next (credit_t *self, int64_t now_us, sq_check_t *job, int64_t *queue_us_p,
             unsigned *slot_p)
{
    assert (self);
    assert (job);
    assert (queue_us_p);
    assert (slot_p);
    if (self->free_count == 0 || self->queue_count == 0)
        return false;
    unsigned index = self->queue_head;
    self->queue_head = (self->queue_head + 1) % self->queue_cap;
    self->queue_count--;
    assert (now_us >= self->arrived_us [index]);    //  time is monotonic
    *job = self->queue [index];
    *queue_us_p = now_us - self->arrived_us [index];
    *slot_p = s_take_slot (self);
    return true;
}

void
credit_release (credit_t *self, unsigned slot)
{
    assert (self);
    assert (slot < self->concurrency);
    assert (self->busy [slot]);
    self->busy [slot] = false;
    self->free_stack [self->free_count++] = slot;
    self->owed++;
}

unsigned
credit_free_slots (credit_t *self)
{
    assert (self);
    unsigned busy = (self->concurrency - self->free_count) + self->queue_count;
    return busy < self->concurrency ? self->concurrency - busy : 0;
}

unsigned
credit_ready (credit_t *self)
{
    assert (self);
    //  Freed slots that waiting jobs take are not new credit: the
    //  dispatcher already spent it when it sent those jobs.
    unsigned free_now = credit_free_slots (self);
    unsigned credit = self->owed < free_now ? self->owed : free_now;
    self->owed = 0;
    return credit;
}

void
credit_unsent (credit_t *self, unsigned slots)
{
    assert (self);
    self->owed += slots;
}

unsigned
credit_live (credit_t *self)
{
    assert (self);
    return self->concurrency - self->free_count;
}

unsigned
credit_waiting (credit_t *self)
{
    assert (self);
    return self->queue_count;
}

unsigned
credit_concurrency (credit_t *self)
{
    assert (self);
    return self->concurrency;
}
