/*  job_book.c: see job_book.h.  Pure book-keeping: CZMQ only for its hash
    table, no sockets, no clock (every time is an argument, monotonic ms).
*/
#include "job_book.h"
#include "sq_heap.h"
#include "sq_actor.h"
#include "sq_defaults.h"

#include <czmq.h>
#include <string.h>

typedef enum {
    PHASE_IDLE,                 //  waiting for its due time
    PHASE_IN_FLIGHT,            //  a job is out, waiting for DONE
    PHASE_FINISHED              //  once mode: checked, no more
} phase_t;

//  One site.  Kept small (no fixed URL buffer): a book may hold hundreds
//  of thousands; the CHECK is built from it at each send.
typedef struct {
    job_site_t check;           //  what to check, and the interval
    uint64_t job_id;            //  current or last job
    uint32_t attempt;           //  sends of the current job
    phase_t phase;              //  see job_book.h
    int64_t at;                 //  heap key: due time or deadline (mono ms)
    int64_t round;              //  nominal due time of this round, for cadence
    int pinger;                 //  pinger of the current job, -1 if none
    int avoid;                  //  pinger declared gone with this job, -1 if none:
                                //  its resend goes elsewhere when it can
    bool active;                //  slot in use (sites removed leave holes)
    bool listed;                //  put since the last sites_begin
} slot_t;

struct _job_book_t {
    job_book_rules_t rules;     //  settings, defaults applied
    slot_t *slots;              //  site slots
    uint32_t slot_count;        //  slots in use or holes
    uint32_t slot_cap;          //  slots allocated
    zhashx_t *by_id;            //  site id -> slot + 1
    sq_heap_t *schedule;        //  slot -> next event time
    job_pinger_t pingers [JOB_BOOK_PINGERS_MAX];   //  known pingers
    int pinger_count;           //  entries in pingers
    int next_pinger;            //  round-robin start for the next job
    uint64_t last_job;          //  last job id handed out
    uint64_t counters [JOB_BOOK_COUNTER_COUNT];    //  decisions, for STATS
};

const char *const job_book_counter_names [] = { JOB_BOOK_COUNTERS (SQ_COUNTER_STRING) };


//  --------------------------------------------------------------------------
//  Life cycle

job_book_t *
job_book_new (const job_book_rules_t *rules)
{
    job_book_t *self = (job_book_t *) calloc (1, sizeof (job_book_t));
    assert (self);
    self->rules = *rules;
    if (!self->rules.deadline_margin_ms)
        self->rules.deadline_margin_ms = SQ_DEADLINE_MARGIN_MS;
    if (!self->rules.max_attempts)
        self->rules.max_attempts = SQ_MAX_ATTEMPTS;
    if (!self->rules.pinger_silence_ms)
        self->rules.pinger_silence_ms = SQ_PINGER_SILENCE_MS;
    self->last_job = rules->first_job_id;
    self->by_id = sq_id_table_new (NULL);
    self->schedule = sq_heap_new ();
    assert (self->by_id && self->schedule);
    return self;
}

static void
s_slot_forget (slot_t *slot)
{
    free (slot->check.url);
    free (slot->check.keyword);
    slot->check.url = slot->check.keyword = NULL;
    slot->active = false;
}

void
job_book_destroy (job_book_t **self_p)
{
    job_book_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t index = 0; index < self->slot_count; index++)
        s_slot_forget (&self->slots [index]);
    free (self->slots);
    zhashx_destroy (&self->by_id);
    sq_heap_destroy (&self->schedule);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Sites

static uint32_t
s_slot_of (job_book_t *self, uint64_t site_id)
{
    uintptr_t slot = (uintptr_t) zhashx_lookup (self->by_id, (void *) (uintptr_t) site_id);
    return slot ? (uint32_t) (slot - 1) : UINT32_MAX;
}

static void
s_schedule (job_book_t *self, uint32_t index, int64_t at)
{
    self->slots [index].at = at;
    int rc = sq_heap_set (self->schedule, index, at);
    assert (rc == 0);
    (void) rc;
}

static void
s_slot_configure (slot_t *slot, const job_site_t *site)
{
    free (slot->check.url);
    free (slot->check.keyword);
    slot->check = *site;
    slot->check.url = strdup (site->url);
    slot->check.keyword = site->keyword && *site->keyword ? strdup (site->keyword) : NULL;
    assert (slot->check.url);
}

void
job_book_sites_begin (job_book_t *self)
{
    for (uint32_t index = 0; index < self->slot_count; index++)
        self->slots [index].listed = false;
}

void
job_book_site_put (job_book_t *self, const job_site_t *site, int64_t now,
                   uint32_t first_offset_ms)
{
    assert (site->site_id && site->url);
    uint32_t index = s_slot_of (self, site->site_id);
    if (index != UINT32_MAX) {
        slot_t *slot = &self->slots [index];
        uint32_t old_interval = slot->check.interval_ms;
        s_slot_configure (slot, site);
        slot->listed = true;
        //  A new interval takes effect from the current round.
        if (slot->phase == PHASE_IDLE && old_interval != site->interval_ms) {
            int64_t at = slot->round - old_interval + site->interval_ms;
            slot->round = at > now ? at : now;
            s_schedule (self, index, slot->round);
        }
        return;
    }
    if (self->slot_count == self->slot_cap) {
        uint32_t cap = self->slot_cap ? self->slot_cap * 2 : 1024;
        slot_t *slots = (slot_t *) realloc (self->slots, cap * sizeof (slot_t));
        assert (slots);
        self->slots = slots;
        self->slot_cap = cap;
    }
    index = self->slot_count++;
    slot_t *slot = &self->slots [index];
    memset (slot, 0, sizeof (*slot));
    s_slot_configure (slot, site);
    slot->active = true;
    slot->listed = true;
    slot->pinger = -1;
    slot->avoid = -1;
    slot->phase = PHASE_IDLE;
    slot->round = self->rules.once ? now : now + first_offset_ms;
    zhashx_insert (self->by_id, (void *) (uintptr_t) site->site_id, (void *) (uintptr_t) (index + 1));
    s_schedule (self, index, slot->round);
}

//  The site's current job is no longer expected from its pinger.
static void
s_release_job (job_book_t *self, slot_t *slot)
{
    if (slot->pinger >= 0 && self->pingers [slot->pinger].outstanding > 0)
        self->pingers [slot->pinger].outstanding--;
    slot->pinger = -1;
}

void
job_book_sites_end (job_book_t *self)
{
    for (uint32_t index = 0; index < self->slot_count; index++) {
        slot_t *slot = &self->slots [index];
        if (!slot->active || slot->listed)
            continue;
        //  Dropped from the list: forget it; a late DONE finds no site.
        s_release_job (self, slot);
        zhashx_delete (self->by_id, (void *) (uintptr_t) slot->check.site_id);
        sq_heap_remove (self->schedule, index);
        s_slot_forget (slot);
    }
}

size_t
job_book_site_count (job_book_t *self)
{
    return zhashx_size (self->by_id);
}

const job_site_t *
job_book_site (job_book_t *self, uint64_t site_id)
{
    uint32_t index = s_slot_of (self, site_id);
    return index == UINT32_MAX ? NULL : &self->slots [index].check;
}

int64_t
job_book_site_at (job_book_t *self, uint64_t site_id)
{
    uint32_t index = s_slot_of (self, site_id);
    if (index == UINT32_MAX || self->slots [index].phase == PHASE_FINISHED)
        return -1;
    return self->slots [index].at;
}


//  --------------------------------------------------------------------------
//  Pingers and credit

int
job_book_pinger_find (job_book_t *self, const char *id)
{
    for (int index = 0; index < self->pinger_count; index++)
        if (streq (self->pingers [index].id, id))
            return index;
    return -1;
}

bool
job_book_pinger_key_check (job_book_t *self, const char *id, const char *key)
{
    int index = job_book_pinger_find (self, id);
    return index < 0 || strncmp (self->pingers [index].key, key ? key : "",
                                 JOB_BOOK_KEY_MAX) == 0;
}

pinger_event_t
job_book_pinger_message (job_book_t *self, const char *id, bool ready, uint32_t slots,
                         int64_t now)
{
    return job_book_pinger_message_keyed (self, id, "", ready, slots, now);
}

pinger_event_t
job_book_pinger_message_keyed (job_book_t *self, const char *id, const char *key, bool ready,
                               uint32_t slots, int64_t now)
{
    pinger_event_t event = PINGER_SEEN;
    int index = job_book_pinger_find (self, id);
    if (index < 0) {
        if (self->pinger_count == JOB_BOOK_PINGERS_MAX)
            return PINGER_REFUSED;
        index = self->pinger_count++;
        memset (&self->pingers [index], 0, sizeof (job_pinger_t));
        snprintf (self->pingers [index].id, sizeof (self->pingers [index].id), "%s", id);
        snprintf (self->pingers [index].key, sizeof (self->pingers [index].key), "%s",
                  key ? key : "");
        event = PINGER_JOINED;
    }
    job_pinger_t *pinger = &self->pingers [index];
    if (!pinger->alive) {
        //  New, or back from the dead: start afresh.
        if (event == PINGER_SEEN)
            event = PINGER_BACK;
        pinger->credit = 0;
        pinger->outstanding = 0;
    }
    pinger->alive = true;
    pinger->last_seen = now;
    if (ready)
        pinger->credit += slots;
    else
    if (pinger->outstanding == 0)
        pinger->credit = slots;     //  nothing can be on its way: resync
    return event;
}

void
job_book_pinger_gone (job_book_t *self, int index, int64_t now)
{
    assert (index >= 0 && index < self->pinger_count);
    job_pinger_t *pinger = &self->pingers [index];
    if (!pinger->alive)
        return;
    pinger->alive = false;
    pinger->credit = 0;
    pinger->outstanding = 0;
    self->counters [JOB_BOOK_gone]++;
    //  Its jobs will not come back: each is due again now (attempt + 1).
    for (uint32_t at = 0; at < self->slot_count; at++) {
        slot_t *slot = &self->slots [at];
        if (slot->active && slot->phase == PHASE_IN_FLIGHT && slot->pinger == index) {
            //  Its outstanding count is already gone with it: nothing to
            //  release later, but its resend should go elsewhere.
            slot->pinger = -1;
            slot->avoid = index;
            s_schedule (self, at, now);
        }
    }
}

int
job_book_expire_silent (job_book_t *self, int64_t now)
{
    for (int index = 0; index < self->pinger_count; index++) {
        job_pinger_t *pinger = &self->pingers [index];
        if (pinger->alive && now - pinger->last_seen > self->rules.pinger_silence_ms) {
            job_book_pinger_gone (self, index, now);
            return index;
        }
    }
    return -1;
}

const job_pinger_t *
job_book_pinger (job_book_t *self, int index)
{
    return index >= 0 && index < self->pinger_count ? &self->pingers [index] : NULL;
}

int
job_book_pingers_alive (job_book_t *self)
{
    int alive = 0;
    for (int index = 0; index < self->pinger_count; index++)
        alive += self->pingers [index].alive;
    return alive;
}

//  A pinger with credit, preferring one other than avoid; -1 if none.
//  Does not move the round-robin cursor: only a send does.
static int
s_pinger_choose (job_book_t *self, int avoid)
{
    int fallback = -1;
    for (int step = 0; step < self->pinger_count; step++) {
        int index = (self->next_pinger + step) % self->pinger_count;
        job_pinger_t *pinger = &self->pingers [index];
        if (!pinger->alive || pinger->credit <= 0)
            continue;
        if (index != avoid)
            return index;
        fallback = index;
    }
    return fallback;
}

static bool
s_has_credit (job_book_t *self)
{
    for (int index = 0; index < self->pinger_count; index++)
        if (self->pingers [index].alive && self->pingers [index].credit > 0)
            return true;
    return false;
}


//  --------------------------------------------------------------------------
//  Jobs

//  IDLE again, due at the next round: one interval after this round was
//  due, unless that moment has passed already.
static void
s_next_round (job_book_t *self, uint32_t index, int64_t now)
{
    slot_t *slot = &self->slots [index];
    slot->phase = PHASE_IDLE;
    slot->round += slot->check.interval_ms;
    if (slot->round < now)
        slot->round = now;
    s_schedule (self, index, slot->round);
}

job_action_t
job_book_next (job_book_t *self, int64_t now, job_t *job)
{
    uint32_t index;
    int64_t at;
    if (!sq_heap_peek (self->schedule, &index, &at) || at > now)
        return JOB_NONE;
    slot_t *slot = &self->slots [index];
    bool resend = slot->phase == PHASE_IN_FLIGHT;
    memset (job, 0, sizeof (*job));
    job->slot = index;
    job->site = &slot->check;
    if (resend && slot->attempt >= self->rules.max_attempts) {
        //  The deadline passed again and again with no DONE.
        job->job_id = slot->job_id;
        job->attempt = slot->attempt;
        job->pinger = -1;
        self->counters [JOB_BOOK_abandoned]++;
        s_release_job (self, slot);
        s_next_round (self, index, now);
        return JOB_ABANDONED;
    }
    //  A resend goes to another pinger when one has credit.
    int avoid = !resend ? -1 : slot->pinger >= 0 ? slot->pinger : slot->avoid;
    int pinger = s_pinger_choose (self, avoid);
    if (pinger < 0)
        return JOB_NONE;        //  nobody has credit: it stays due
    job->job_id = resend ? slot->job_id : self->last_job + 1;
    job->attempt = resend ? slot->attempt + 1 : 1;
    job->pinger = pinger;
    job->pinger_id = self->pingers [pinger].id;
    job->resend = resend;
    return JOB_SEND;
}

void
job_book_sent (job_book_t *self, const job_t *job, int64_t now)
{
    slot_t *slot = &self->slots [job->slot];
    job_pinger_t *pinger = &self->pingers [job->pinger];
    pinger->credit--;
    pinger->outstanding++;
    s_release_job (self, slot);         //  a resend: the old pinger is let off
    slot->pinger = job->pinger;
    slot->avoid = -1;
    slot->job_id = job->job_id;
    slot->attempt = job->attempt;
    slot->phase = PHASE_IN_FLIGHT;
    if (job->job_id > self->last_job)
        self->last_job = job->job_id;
    self->next_pinger = (job->pinger + 1) % self->pinger_count;
    s_schedule (self, job->slot, now + slot->check.timeout_ms + self->rules.deadline_margin_ms);
    self->counters [JOB_BOOK_jobs]++;
    if (job->resend)
        self->counters [JOB_BOOK_resends]++;
}

void
job_book_unroutable (job_book_t *self, const job_t *job, int64_t now)
{
    self->counters [JOB_BOOK_unroutable]++;
    job_book_pinger_gone (self, job->pinger, now);
}

int
job_book_done (job_book_t *self, uint64_t site_id, uint64_t job_id, bool recheck,
               uint32_t delay_ms, int64_t now)
{
    uint32_t index = s_slot_of (self, site_id);
    slot_t *slot = index == UINT32_MAX ? NULL : &self->slots [index];
    if (!slot || slot->phase != PHASE_IN_FLIGHT || slot->job_id != job_id) {
        self->counters [JOB_BOOK_stale]++;
        return -1;
    }
    self->counters [JOB_BOOK_done]++;
    s_release_job (self, slot);
    if (recheck) {
        slot->phase = PHASE_IDLE;
        slot->round = now + delay_ms;
        s_schedule (self, index, slot->round);
    }
    else
    if (self->rules.once) {
        slot->phase = PHASE_FINISHED;
        sq_heap_remove (self->schedule, index);
        self->counters [JOB_BOOK_finished]++;
    }
    else
        s_next_round (self, index, now);
    return 0;
}

int64_t
job_book_wake_at (job_book_t *self)
{
    uint32_t index;
    int64_t at;
    if (s_has_credit (self) && sq_heap_peek (self->schedule, &index, &at))
        return at;
    return INT64_MAX;
}

const uint64_t *
job_book_counters (job_book_t *self)
{
    return self->counters;
}
