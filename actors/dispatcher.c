/*  dispatcher.c: see dispatcher.h and docs/ARCHITECTURE.md, "Dispatcher".

    Each site is in one phase at a time:
      IDLE       its next check is due at `at`;
      IN_FLIGHT  a job is out, its deadline is `at`;
      FINISHED   once mode only: no more checks (not in the heap).
    The heap is keyed by `at` whatever the phase, so one structure holds the
    whole schedule and one peek tells how long the loop may sleep.

    Credit: a pinger's READY adds free slots; each CHECK sent uses one.
    A HEARTBEAT proves a pinger alive and, when no job sent to it is still
    waiting for its DONE (so none can be on the way to it), resets its
    credit to the free slots it reports: credit heals itself from any drift.
    A pinger silent for longer than pinger_silence_ms is gone: its credit is
    dropped and its jobs are sent again at once; when it speaks again its
    next HEARTBEAT gives it credit back.  Jobs due while no pinger has
    credit wait in the heap.
*/
#include "dispatcher.h"
#include "sq_actor.h"
#include "sq_heap.h"
#include "sq_wire.h"
#include "config.h"

#include <string.h>

#define PINGERS_MAX     256     //  pingers one dispatcher tracks

typedef enum {
    PHASE_IDLE,                 //  waiting for its due time
    PHASE_IN_FLIGHT,            //  a job is out, waiting for DONE
    PHASE_FINISHED              //  once mode: checked, no more
} phase_t;

//  One site.  Kept small (no fixed URL buffer): a dispatcher may hold
//  hundreds of thousands; the CHECK is built from it at each send.
typedef struct {
    uint64_t site_id;           //  the site in the store
    char *url;                  //  what to check
    char *keyword;              //  expected in the body, or NULL
    sq_ranges_t accept;         //  accepted statuses
    uint32_t timeout_ms;        //  whole check
    uint32_t max_latency_ms;    //  0 = no limit
    uint8_t method;             //  sq_method_t
    uint8_t max_redirects;      //  redirects followed
    bool tls_verify;            //  false: site opted out
    uint64_t job_id;            //  current or last job
    uint32_t attempt;           //  sends of the current job
    uint32_t interval_ms;       //  time between rounds
    phase_t phase;              //  see above
    int64_t at;                 //  heap key: due time or deadline (mono ms)
    int64_t round;              //  nominal due time of this round, for cadence
    int pinger;                 //  pinger of the current job, -1 if none
    bool active;                //  slot in use (sites removed leave holes)
} site_t;

typedef struct {
    char id [SQ_NAME_MAX + 1];  //  identity on the ROUTER
    int64_t credit;             //  CHECKs it can take now
    int64_t outstanding;        //  jobs sent to it still without a DONE
    int64_t last_seen;          //  mono ms of its last message
    bool alive;                 //  false once silent too long
} pinger_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *jobs;              //  ROUTER to the pingers
    zsock_t *done;              //  PULL from the collector
    zpoller_t *poller;          //  pipe, jobs, done
    dispatcher_args_t args;     //  settings, defaults applied
    site_t *sites;              //  site slots
    uint32_t site_count;        //  slots in use or holes
    uint32_t site_cap;          //  slots allocated
    zhashx_t *by_id;            //  site id -> slot + 1
    sq_heap_t *schedule;        //  slot -> next event time
    pinger_t pingers [PINGERS_MAX]; //  known pingers
    int pinger_count;           //  entries in pingers
    int next_pinger;            //  round-robin start for the next job
    uint64_t next_job;          //  last job id handed out
    int64_t next_liveness;      //  mono ms of the next silence check
    bool terminated;            //  $TERM received
    //  Counters, reported on STATS
    uint64_t jobs_sent;         //  CHECKs sent, resends included
    uint64_t resends;           //  of which resends
    uint64_t abandoned;         //  jobs given up after max_attempts
    uint64_t done_taken;        //  DONE messages that matched a job
    uint64_t done_stale;        //  DONE for a job no longer current
    uint64_t malformed;         //  frames refused
    uint64_t unroutable;        //  sends a vanished pinger refused
    uint64_t finished;          //  once mode: sites checked for good
} self_t;


//  --------------------------------------------------------------------------
//  Site table

static uint32_t
s_slot_of (self_t *self, uint64_t site_id)
{
    uintptr_t slot = (uintptr_t) zhashx_lookup (self->by_id, (void *) (uintptr_t) site_id);
    return slot ? (uint32_t) (slot - 1) : UINT32_MAX;
}

//  Copy what a CHECK needs from a site's config.
static void
s_site_configure (site_t *site, const config_site_t *config)
{
    site->site_id = config->id;
    free (site->url);
    site->url = strdup (config->url);
    free (site->keyword);
    site->keyword = config->keyword && *config->keyword ? strdup (config->keyword) : NULL;
    assert (site->url);
    site->accept = config->accept;
    site->timeout_ms = config->timeout_ms;
    site->max_latency_ms = config->max_latency_ms;
    site->method = (uint8_t) config->method;
    site->max_redirects = (uint8_t) config->max_redirects;
    site->tls_verify = config->tls_verify;
    site->interval_ms = config->interval_ms;
}

static void
s_site_forget (site_t *site)
{
    free (site->url);
    free (site->keyword);
    site->url = site->keyword = NULL;
    site->active = false;
}

static void
s_set_sites (self_t *self, const config_t *config)
{
    int64_t now = zclock_mono ();
    //  Sites that existed before this list: those it does not name go.
    uint32_t old_count = self->site_count;
    bool *kept = (bool *) calloc (old_count + 1, sizeof (bool));
    assert (kept);
    for (size_t index = 0; index < config->site_count; index++) {
        const config_site_t *entry = &config->sites [index];
        if (entry->id == 0)
            continue;
        uint32_t slot = s_slot_of (self, entry->id);
        if (slot != UINT32_MAX) {
            site_t *site = &self->sites [slot];
            uint32_t old_interval = site->interval_ms;
            s_site_configure (site, entry);
            kept [slot] = true;
            //  A new interval takes effect from the current round.
            if (site->phase == PHASE_IDLE && old_interval != site->interval_ms) {
                site->at = site->round - old_interval + site->interval_ms;
                if (site->at < now)
                    site->at = now;
                site->round = site->at;
                sq_heap_set (self->schedule, slot, site->at);
            }
            continue;
        }
        if (self->site_count == self->site_cap) {
            uint32_t cap = self->site_cap ? self->site_cap * 2 : 1024;
            site_t *sites = (site_t *) realloc (self->sites, cap * sizeof (site_t));
            assert (sites);
            self->sites = sites;
            self->site_cap = cap;
        }
        slot = self->site_count++;
        site_t *site = &self->sites [slot];
        memset (site, 0, sizeof (*site));
        s_site_configure (site, entry);
        site->active = true;
        site->pinger = -1;
        site->phase = PHASE_IDLE;
        //  First checks are spread over the interval, so that a big list
        //  does not fire at once; a sweep wants them all now.
        site->at = self->args.once ? now : now + (int64_t) (randof (site->interval_ms));
        site->round = site->at;
        zhashx_insert (self->by_id, (void *) (uintptr_t) entry->id, (void *) (uintptr_t) (slot + 1));
        sq_heap_set (self->schedule, slot, site->at);
    }
    for (uint32_t slot = 0; slot < old_count; slot++) {
        site_t *site = &self->sites [slot];
        if (!site->active || kept [slot])
            continue;
        //  Dropped from the config: forget it; a late DONE finds no site.
        zhashx_delete (self->by_id, (void *) (uintptr_t) site->site_id);
        sq_heap_remove (self->schedule, slot);
        s_site_forget (site);
    }
    free (kept);
}


//  --------------------------------------------------------------------------
//  Pingers and credit

static int
s_pinger_find (self_t *self, const char *id, bool create)
{
    for (int index = 0; index < self->pinger_count; index++)
        if (streq (self->pingers [index].id, id))
            return index;
    if (!create || self->pinger_count == PINGERS_MAX)
        return -1;
    pinger_t *pinger = &self->pingers [self->pinger_count];
    memset (pinger, 0, sizeof (*pinger));
    snprintf (pinger->id, sizeof (pinger->id), "%s", id);
    zsys_info ("dispatcher: pinger %s joined", id);
    return self->pinger_count++;
}

//  A pinger with credit, preferring one other than avoid; -1 if none.
static int
s_pinger_choose (self_t *self, int avoid)
{
    int fallback = -1;
    for (int step = 0; step < self->pinger_count; step++) {
        int index = (self->next_pinger + step) % self->pinger_count;
        pinger_t *pinger = &self->pingers [index];
        if (!pinger->alive || pinger->credit <= 0)
            continue;
        if (index == avoid) {
            fallback = index;
            continue;
        }
        self->next_pinger = (index + 1) % self->pinger_count;
        return index;
    }
    return fallback;
}

static bool
s_has_credit (self_t *self)
{
    for (int index = 0; index < self->pinger_count; index++)
        if (self->pingers [index].alive && self->pingers [index].credit > 0)
            return true;
    return false;
}

//  The site's current job is no longer expected from its pinger.
static void
s_release_job (self_t *self, site_t *site)
{
    if (site->pinger >= 0 && self->pingers [site->pinger].outstanding > 0)
        self->pingers [site->pinger].outstanding--;
    site->pinger = -1;
}

//  Send the site's current job to a pinger.  0, or -1 if none could take it.
static int
s_send_job (self_t *self, uint32_t slot, int64_t now)
{
    site_t *site = &self->sites [slot];
    while (true) {
        int index = s_pinger_choose (self, site->pinger);
        if (index < 0)
            return -1;
        pinger_t *pinger = &self->pingers [index];
        sq_msg_t msg;
        memset (&msg, 0, sizeof (msg));
        msg.type = SQ_MSG_CHECK;
        sq_check_t *check = &msg.check;
        check->job_id = site->job_id;
        check->attempt = site->attempt;
        check->site_id = site->site_id;
        snprintf (check->url, sizeof (check->url), "%s", site->url);
        check->method = site->method;
        check->timeout_ms = site->timeout_ms;
        check->accept = site->accept;
        if (site->keyword)
            snprintf (check->keyword, sizeof (check->keyword), "%s", site->keyword);
        check->max_latency_ms = site->max_latency_ms;
        check->max_redirects = site->max_redirects;
        check->tls_verify = site->tls_verify;
        if (sq_wire_send (self->jobs, pinger->id, strlen (pinger->id), &msg) == 0) {
            pinger->credit--;
            pinger->outstanding++;
            s_release_job (self, site);     //  a resend: the old pinger is let off
            site->pinger = index;
            site->phase = PHASE_IN_FLIGHT;
            site->at = now + site->timeout_ms + self->args.deadline_margin_ms;
            sq_heap_set (self->schedule, slot, site->at);
            self->jobs_sent++;
            return 0;
        }
        //  ROUTER_MANDATORY: the pinger is not connected any more.
        self->unroutable++;
        zsys_warning ("dispatcher: pinger %s unreachable, dropping its credit", pinger->id);
        pinger->alive = false;
        pinger->credit = 0;
        pinger->outstanding = 0;
    }
}

//  Whatever is due: new jobs, and resends of jobs past their deadline.
static void
s_dispatch_due (self_t *self)
{
    int64_t now = zclock_mono ();
    uint32_t slot;
    int64_t at;
    while (sq_heap_peek (self->schedule, &slot, &at) && at <= now) {
        site_t *site = &self->sites [slot];
        bool resend = site->phase == PHASE_IN_FLIGHT;
        if (resend && site->attempt >= self->args.max_attempts) {
            //  Deadline passed again and again with no DONE.
            self->abandoned++;
            zsys_warning ("dispatcher: site %llu (%s): job %llu gave no result in %u "
                          "attempts; next round as usual",
                          (unsigned long long) site->site_id, site->url,
                          (unsigned long long) site->job_id, site->attempt);
            s_release_job (self, site);
            site->phase = PHASE_IDLE;
            site->round += site->interval_ms;
            site->at = site->round > now ? site->round : now;
            site->round = site->at;
            sq_heap_set (self->schedule, slot, site->at);
            continue;
        }
        uint64_t previous_job = site->job_id;
        uint32_t previous_attempt = site->attempt;
        if (resend)
            site->attempt++;
        else {
            site->job_id = self->next_job + 1;
            site->attempt = 1;
        }
        if (s_send_job (self, slot, now)) {
            //  Nobody has credit: the site stays due; READY wakes us.
            site->job_id = previous_job;
            site->attempt = previous_attempt;
            break;
        }
        if (resend)
            self->resends++;
        else
            self->next_job++;
    }
}

//  Silent pingers are gone: their jobs go out again now.
static void
s_handle_jobs (self_t *self);

static void
s_check_liveness (self_t *self)
{
    //  Judge only after reading what the pingers have already sent.
    s_handle_jobs (self);
    int64_t now = zclock_mono ();
    for (int index = 0; index < self->pinger_count; index++) {
        pinger_t *pinger = &self->pingers [index];
        if (!pinger->alive || now - pinger->last_seen <= self->args.pinger_silence_ms)
            continue;
        pinger->alive = false;
        pinger->credit = 0;
        pinger->outstanding = 0;
        zsys_warning ("dispatcher: pinger %s silent for %lld ms: gone; resending its jobs",
                      pinger->id, (long long) (now - pinger->last_seen));
        for (uint32_t slot = 0; slot < self->site_count; slot++) {
            site_t *site = &self->sites [slot];
            if (site->active && site->phase == PHASE_IN_FLIGHT && site->pinger == index) {
                site->at = now;
                sq_heap_set (self->schedule, slot, now);
            }
        }
    }
    self->next_liveness = now + 500;
}


//  --------------------------------------------------------------------------
//  Socket handlers

static void
s_handle_pipe (self_t *self)
{
    void *pointer;
    char *command = sq_actor_recv_command (self->pipe, &pointer);
    if (streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "SITES")) {
        if (pointer)
            s_set_sites (self, (const config_t *) pointer);
        zsock_signal (self->pipe, 0);
    }
    else
    if (streq (command, "STATS")) {
        int alive = 0;
        for (int index = 0; index < self->pinger_count; index++)
            alive += self->pingers [index].alive;
        zstr_sendf (self->pipe,
                    "sites=%zu pingers=%d jobs=%llu resends=%llu abandoned=%llu done=%llu "
                    "stale=%llu malformed=%llu unroutable=%llu finished=%llu",
                    zhashx_size (self->by_id), alive,
                    (unsigned long long) self->jobs_sent, (unsigned long long) self->resends,
                    (unsigned long long) self->abandoned, (unsigned long long) self->done_taken,
                    (unsigned long long) self->done_stale, (unsigned long long) self->malformed,
                    (unsigned long long) self->unroutable, (unsigned long long) self->finished);
    }
    else
        zsys_warning ("dispatcher: unknown pipe command '%s'", command);
    zstr_free (&command);
}

static void
s_handle_jobs (self_t *self)
{
    while (zsock_events (self->jobs) & ZMQ_POLLIN) {
        char identity [SQ_NAME_MAX + 1];
        size_t identity_size = SQ_NAME_MAX;
        sq_msg_t msg;
        int rc = sq_wire_recv_expect (self->jobs, identity, &identity_size, &msg,
                                      SQ_WIRE_TYPE (SQ_MSG_READY) | SQ_WIRE_TYPE (SQ_MSG_HEARTBEAT),
                                      "dispatcher: dropped a frame from a pinger", &self->malformed);
        if (rc == SQ_WIRE_INTERRUPTED)
            return;
        if (rc != SQ_PROTO_OK)
            continue;
        //  Pingers name themselves in printable text; anything else (an
        //  anonymous peer, a NUL inside) would alias another pinger.
        bool printable = identity_size > 0;
        for (size_t at = 0; at < identity_size && printable; at++)
            printable = identity [at] > 0x20 && identity [at] < 0x7f;
        if (!printable) {
            self->malformed++;
            zsys_warning ("dispatcher: dropped a message from a peer without a printable name");
            continue;
        }
        identity [identity_size] = '\0';
        int index = s_pinger_find (self, identity, true);
        if (index < 0)
            continue;
        pinger_t *pinger = &self->pingers [index];
        if (!pinger->alive) {
            pinger->credit = 0;         //  back from the dead: start afresh
            pinger->outstanding = 0;
            if (pinger->last_seen)
                zsys_info ("dispatcher: pinger %s is back", pinger->id);
        }
        pinger->alive = true;
        pinger->last_seen = zclock_mono ();
        if (msg.type == SQ_MSG_READY)
            pinger->credit += msg.ready.free_slots;
        else
        if (pinger->outstanding == 0)
            pinger->credit = msg.heartbeat.free_slots;
    }
}

static void
s_handle_done (self_t *self)
{
    while (zsock_events (self->done) & ZMQ_POLLIN) {
        sq_msg_t msg;
        int rc = sq_wire_recv_expect (self->done, NULL, NULL, &msg, SQ_WIRE_TYPE (SQ_MSG_DONE),
                                      "dispatcher: dropped a frame from the collector",
                                      &self->malformed);
        if (rc == SQ_WIRE_INTERRUPTED)
            return;
        if (rc != SQ_PROTO_OK)
            continue;
        uint32_t slot = s_slot_of (self, msg.done.site_id);
        site_t *site = slot == UINT32_MAX ? NULL : &self->sites [slot];
        if (!site || site->phase != PHASE_IN_FLIGHT || site->job_id != msg.done.job_id) {
            self->done_stale++;
            continue;
        }
        self->done_taken++;
        s_release_job (self, site);
        int64_t now = zclock_mono ();
        site->phase = PHASE_IDLE;
        if (msg.done.recheck) {
            site->at = now + msg.done.delay_ms;
            site->round = site->at;
        }
        else
        if (self->args.once) {
            site->phase = PHASE_FINISHED;
            sq_heap_remove (self->schedule, slot);
            self->finished++;
            continue;
        }
        else {
            //  Keep the cadence: next round one interval after this one
            //  was due, unless that moment has passed already.
            site->round += site->interval_ms;
            site->at = site->round > now ? site->round : now;
            site->round = site->at;
        }
        sq_heap_set (self->schedule, slot, site->at);
    }
}


//  --------------------------------------------------------------------------
//  Life cycle

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy (&self->poller);
    zhashx_destroy (&self->by_id);
    sq_heap_destroy (&self->schedule);
    for (uint32_t slot = 0; slot < self->site_count; slot++)
        s_site_forget (&self->sites [slot]);
    zsock_destroy (&self->jobs);
    zsock_destroy (&self->done);
    free (self->sites);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const dispatcher_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->args = *args;
    if (!self->args.deadline_margin_ms)
        self->args.deadline_margin_ms = 5000;
    if (!self->args.pinger_silence_ms)
        self->args.pinger_silence_ms = 3500;
    if (!self->args.max_attempts)
        self->args.max_attempts = 3;
    self->jobs = zsock_new (ZMQ_ROUTER);
    self->done = zsock_new (ZMQ_PULL);
    self->by_id = sq_id_table_new (NULL);
    self->schedule = sq_heap_new ();
    assert (self->jobs && self->done && self->by_id && self->schedule);
    //  An unroutable CHECK must fail loudly, not vanish; a pinger that
    //  reconnects under the same id takes over its old route.
    zsock_set_router_mandatory (self->jobs, 1);
    zsock_set_router_handover (self->jobs, 1);
    zsock_set_sndhwm (self->jobs, 0);
    zsock_set_rcvhwm (self->done, 0);
    if (zsock_bind (self->jobs, "%s", args->jobs) < 0
    ||  zsock_bind (self->done, "%s", args->done) < 0) {
        snprintf (error, error_size, "cannot bind %s or %s: %s", args->jobs, args->done,
                  zmq_strerror (zmq_errno ()));
        s_self_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->jobs, self->done, NULL);
    zpoller_set_nonstop (self->poller, true);    //  the supervisor handles signals
    return self;
}

//  How long the loop may sleep: until the next event, or the next liveness
//  check; while nobody has credit, due jobs cannot go anyway.
static int
s_wait_ms (self_t *self)
{
    int64_t now = zclock_mono ();
    int64_t until = self->next_liveness;
    uint32_t slot;
    int64_t at;
    if (s_has_credit (self) && sq_heap_peek (self->schedule, &slot, &at) && at < until)
        until = at;
    return until > now ? (int) (until - now) : 0;
}

void
dispatcher_actor (zsock_t *pipe, void *args)
{
    char error [256] = "";
    self_t *self = s_self_new (pipe, (const dispatcher_args_t *) args, error, sizeof (error));
    sq_actor_report (pipe, self ? NULL : error);
    while (self && !self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, s_wait_ms (self));
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->jobs)
            s_handle_jobs (self);
        else
        if (which == self->done)
            s_handle_done (self);
        if (zclock_mono () >= self->next_liveness)
            s_check_liveness (self);
        s_dispatch_due (self);
    }
    s_self_destroy (&self);
}
