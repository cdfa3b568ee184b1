/*  dispatcher.c: see dispatcher.h and docs/ARCHITECTURE.md, "Dispatcher".

    A thin actor over the job book (job_book.h), which makes every decision:
    what is due, which pinger takes it, when a job is resent or abandoned,
    when a pinger is gone, when the next round is.  This file reads the
    sockets, passes the time in, and sends what the book says.
*/
#include "dispatcher.h"
#include "sq_url.h"
#include "sq_actor.h"
#include "sq_wire.h"
#include "job_book.h"
#include "sq_metrics.h"

#include <string.h>

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *jobs;              //  ROUTER to the pingers
    zsock_t *done;              //  PULL from the collector
    zpoller_t *poller;          //  pipe, jobs, done
    job_book_t *book;           //  the schedule, credit and jobs
    sq_job_key_t job_key;       //  marks the jobs (CHECK.token)
    int64_t next_liveness;      //  mono ms of the next silence check
    int64_t next_impostor_log;  //  mono ms before which impostors are not logged again
    uint64_t pingers_shown [5]; //  the pinger table /metrics has: its gone, quarantined,
                                //  released, alive and known counts (s_show_pingers)
    int64_t pingers_shown_at;   //  mono ms it was given to sq_metrics_pingers
    bool once;                  //  a sweep (late checks are not said)
    int64_t late_ms;            //  a check sent this long after it was due is late
    int64_t next_late_log;      //  mono ms before which late checks are not said again
    int64_t last_late;          //  mono ms of the latest late check; 0 = none since said
    uint64_t late_unsaid;       //  late checks since the last line about them
    int64_t late_worst;         //  ... and the latest of them, ms
    bool late_said;             //  checks were said to be late, not yet on time again
    bool terminated;            //  $TERM received
    uint64_t counters [DISPATCHER_COUNTER_COUNT];   //  reported on STATS
} self_t;

static const char *const s_counter_names [] = { DISPATCHER_COUNTERS (SQ_COUNTER_STRING) };


//  --------------------------------------------------------------------------
//  Site list

//  Sites taken between two looks at the pingers and at what is due, while
//  a list is taken: a list of a million sites takes seconds to a minute,
//  and checks already due should not wait for its end (the book allows
//  jobs between puts), nor for the credit the READYs bring back.
#define S_SITES_PER_DISPATCH    4096

static void
s_dispatch_due (self_t *self);
static void
s_handle_jobs (self_t *self);
static void
s_handle_done (self_t *self);

static void
s_set_sites (self_t *self, zmsg_t *batch)
{
    job_book_sites_begin (self->book);
    sq_site_t entry;
    int rc;
    size_t taken = 0;
    sq_batch_reader_t reader = { .batch = batch };
    while ((rc = sq_sites_next (&reader, &entry, "dispatcher",
                                &self->counters [DISPATCHER_malformed])) != 0) {
        if (rc < 0)
            continue;
        if (++taken % S_SITES_PER_DISPATCH == 0) {
            //  Credit comes back in READYs: read them, and DONEs, first.
            s_handle_jobs (self);
            s_handle_done (self);
            s_dispatch_due (self);
        }
        //  The time of this site's put, not of the list's start: a new
        //  site's first check is spread from the moment it is known.
        int64_t now = zclock_mono ();
        job_site_t site = {
            .site_id = entry.site_id, .url = entry.url, .keyword = entry.keyword,
            .accept = entry.accept, .timeout_ms = entry.timeout_ms,
            .max_latency_ms = entry.max_latency_ms, .method = entry.method,
            .max_redirects = (uint8_t) entry.max_redirects, .tls_verify = entry.tls_verify,
            .interval_ms = entry.interval_ms, .regions = entry.regions,
        };
        //  First checks are spread over the interval, so that a big list
        //  does not fire at once (in once mode the book ignores it: a sweep
        //  wants them all now).
        uint32_t offset = (uint32_t) randof (entry.interval_ms);
        int unplaced = job_book_site_put (self->book, &site, now, offset);
        if (unplaced)
            zsys_warning ("dispatcher: site %llu (%s): %d of its regions '%s' left out: "
                          "more than %d regions known", (unsigned long long) entry.site_id,
                          entry.url, unplaced, entry.regions, JOB_BOOK_REGIONS_MAX);
    }
    job_book_sites_end (self->book);
}


//  --------------------------------------------------------------------------
//  Sending jobs

//  0, or -1 when the pinger could not be reached.
static int
s_send_check (self_t *self, const job_t *job)
{
    const job_site_t *site = job->site;
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_CHECK;
    sq_check_t *check = &msg.check;
    check->job_id = job->job_id;
    check->attempt = job->attempt;
    check->site_id = site->site_id;
    check->token = sq_job_token (&self->job_key, job->job_id, site->site_id);
    snprintf (check->url, sizeof (check->url), "%s", site->url);
    check->method = site->method;
    check->timeout_ms = site->timeout_ms;
    check->accept = site->accept;
    if (site->keyword)
        snprintf (check->keyword, sizeof (check->keyword), "%s", site->keyword);
    check->max_latency_ms = site->max_latency_ms;
    check->max_redirects = site->max_redirects;
    check->tls_verify = site->tls_verify;
    return sq_wire_send (self->jobs, job->pinger_id, strlen (job->pinger_id), &msg);
}

//  A check left lag ms after it was due: every slot of every pinger was
//  busy (or this machine could not run us in time).  Our own backlog, not
//  the site's: counted, and said at once, then at most once a minute, so
//  that an operator sees why sites may turn unmonitored (their verdicts
//  grow too old) before any owner does.
static void
s_late (self_t *self, int64_t now, int64_t lag)
{
    self->counters [DISPATCHER_late]++;
    self->late_unsaid++;
    if (lag > self->late_worst)
        self->late_worst = lag;
    self->last_late = now;
    if (now < self->next_late_log)
        return;
    zsys_warning ("dispatcher: %llu check%s left late (up to %.1f s after due): the pingers "
                  "cannot keep up (%zu sites, every free slot taken); sites whose verdicts "
                  "grow too old turn unmonitored: add pingers or concurrency, or lengthen "
                  "intervals", (unsigned long long) self->late_unsaid,
                  self->late_unsaid == 1 ? "" : "s", self->late_worst / 1000.0,
                  job_book_site_count (self->book));
    self->late_said = true;
    self->late_unsaid = 0;
    self->late_worst = 0;
    self->next_late_log = now + SQ_LATE_LOG_MS;
}

//  A minute without a late check after some were said: say it is over.
static void
s_late_over (self_t *self, int64_t now)
{
    if (self->late_said && now - self->last_late >= SQ_LATE_LOG_MS) {
        zsys_info ("dispatcher: checks leave on time again%s", self->late_unsaid
                   ? " (some more were late since the last warning)" : "");
        self->late_said = false;
        self->late_unsaid = 0;
        self->late_worst = 0;
        self->next_late_log = 0;
    }
}

//  Whatever is due: new jobs, resends of jobs past their deadline, and
//  jobs given up.
static void
s_dispatch_due (self_t *self)
{
    int64_t now = zclock_mono ();
    job_t job;
    job_action_t action;
    while ((action = job_book_next (self->book, now, &job)) != JOB_NONE) {
        if (action == JOB_ABANDONED) {
            char shown [SQ_URL_MAX + 1];
            sq_url_shown (job.site->url, shown, sizeof (shown));
            zsys_warning ("dispatcher: site %llu (%s), region '%s': job %llu gave no "
                          "result in %u attempts; next round as usual",
                          (unsigned long long) job.site->site_id, shown, job.region,
                          (unsigned long long) job.job_id, job.attempt);
            continue;
        }
        if (s_send_check (self, &job) == 0) {
            job_book_sent (self->book, &job, now);
            sq_metrics_lag (now - job.due);
            //  A sweep puts every site due at once and caps the checks
            //  in flight on purpose: waiting is its way, not a backlog.
            if (!self->once && now - job.due >= self->late_ms)
                s_late (self, now, now - job.due);
        }
        else {
            //  ROUTER_MANDATORY: the pinger is not connected any more.
            zsys_warning ("dispatcher: pinger %s unreachable: gone; resending its jobs",
                          job.pinger_id);
            job_book_unroutable (self->book, &job, now);
        }
    }
}

static void
s_handle_jobs (self_t *self);

//  Silent pingers are gone: their jobs go out again now.
static void
s_check_liveness (self_t *self)
{
    //  Judge only after reading what the pingers have already sent.
    s_handle_jobs (self);
    int64_t now = zclock_mono ();
    int index;
    while ((index = job_book_expire_silent (self->book, now)) >= 0) {
        const job_pinger_t *pinger = job_book_pinger (self->book, index);
        zsys_warning ("dispatcher: pinger %s silent for %lld ms: gone; resending its jobs",
                      pinger->id, (long long) (now - pinger->last_seen));
    }
    s_late_over (self, now);
    self->next_liveness = now + SQ_LIVENESS_CHECK_MS;
}


//  --------------------------------------------------------------------------
//  Metrics (sq_metrics.h)

//  A lag quantile in whole ms, rounded up; 0 when none was observed.
static uint64_t
s_lag_ms (double quantile)
{
    if (quantile <= 0)
        return 0;
    uint64_t whole = (uint64_t) quantile;
    return whole + ((double) whole < quantile);
}

//  Give /metrics the live pingers when one joined, went or changed its
//  standing, and else once a second (credit moves with every job: not
//  copied per job).
static void
s_show_pingers (self_t *self)
{
    const uint64_t *book = job_book_counters (self->book);
    uint64_t shown [5] = { book [JOB_BOOK_gone], book [JOB_BOOK_quarantined],
                           book [JOB_BOOK_released],
                           (uint64_t) job_book_pingers_alive (self->book), 0 };
    while (job_book_pinger (self->book, (int) shown [4]))
        shown [4]++;
    int64_t now = zclock_mono ();
    if (memcmp (shown, self->pingers_shown, sizeof (shown)) == 0
    &&  now < self->pingers_shown_at + 1000)
        return;
    sq_metrics_pinger_t table [JOB_BOOK_PINGERS_MAX];
    size_t count = 0;
    for (int index = 0; index < (int) shown [4]; index++) {
        const job_pinger_t *pinger = job_book_pinger (self->book, index);
        if (!pinger->alive)
            continue;
        sq_metrics_pinger_t *entry = &table [count++];
        snprintf (entry->region, sizeof (entry->region), "%s",
                  job_book_pinger_region (self->book, index));
        entry->quarantined = pinger->quarantined;
        entry->free_slots = pinger->credit > 0 ? (uint32_t) pinger->credit : 0;
    }
    sq_metrics_pingers (table, count);
    memcpy (self->pingers_shown, shown, sizeof (shown));
    self->pingers_shown_at = now;
}


//  --------------------------------------------------------------------------
//  Socket handlers

static void
s_handle_pipe (self_t *self)
{
    zmsg_t *rest;
    char *command = sq_actor_recv_command (self->pipe, &rest);
    if (streq (command, SQ_CMD_TERM))
        self->terminated = true;
    else
    if (streq (command, SQ_CMD_SITES)) {
        s_set_sites (self, rest);
        zsock_signal (self->pipe, 0);
    }
    else
    if (streq (command, SQ_CMD_STATS)) {
        self->counters [DISPATCHER_sites] = job_book_site_count (self->book);
        self->counters [DISPATCHER_pingers] = (uint64_t) job_book_pingers_alive (self->book);
        self->counters [DISPATCHER_lag_p50_ms] = s_lag_ms (sq_metrics_lag_quantile (0.5));
        self->counters [DISPATCHER_lag_p99_ms] = s_lag_ms (sq_metrics_lag_quantile (0.99));
        char *own = sq_counters_line (s_counter_names, self->counters, DISPATCHER_COUNTER_COUNT);
        char *book = sq_counters_line (job_book_counter_names, job_book_counters (self->book),
                                       JOB_BOOK_COUNTER_COUNT);
        zstr_sendf (self->pipe, "%s %s", own, book);
        free (own);
        free (book);
    }
    else
        zsys_warning ("dispatcher: unknown pipe command '%s'", command);
    zmsg_destroy (&rest);
    zstr_free (&command);
}

static void
s_handle_jobs (self_t *self)
{
    while (zsock_events (self->jobs) & ZMQ_POLLIN) {
        char identity [SQ_NAME_MAX + 1];
        size_t identity_size = SQ_NAME_MAX;
        sq_msg_t msg;
        char key [SQ_WIRE_PEER_MAX];
        int rc = sq_wire_recv_from (self->jobs, identity, &identity_size, &msg,
                                    SQ_WIRE_TYPE (SQ_MSG_READY) | SQ_WIRE_TYPE (SQ_MSG_HEARTBEAT),
                                    "dispatcher: dropped a frame from a pinger",
                                    &self->counters [DISPATCHER_malformed], key, sizeof (key));
        sq_metrics_refusal (rc, SQ_ACTOR_DISPATCHER);
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
            self->counters [DISPATCHER_malformed]++;
            sq_metrics_refused (SQ_ACTOR_DISPATCHER);
            zsys_warning ("dispatcher: dropped a message from a peer without a printable name");
            continue;
        }
        identity [identity_size] = '\0';
        //  A name belongs to the key it first came with: another allowed
        //  node cannot take it over (and steal its jobs).
        if (!job_book_pinger_key_check (self->book, identity, key)) {
            self->counters [DISPATCHER_impostors]++;
            int64_t now = zclock_mono ();
            if (now >= self->next_impostor_log) {
                zsys_warning ("dispatcher: refused a message as pinger %s from another key "
                              "than the one it joined with", identity);
                self->next_impostor_log = now + SQ_IMPOSTOR_LOG_MS;
            }
            continue;
        }
        bool ready = msg.type == SQ_MSG_READY;
        uint32_t slots = ready ? msg.ready.free_slots : msg.heartbeat.free_slots;
        const char *region = ready ? msg.ready.region : msg.heartbeat.region;
        switch (job_book_pinger_message_keyed (self->book, identity, key, region, ready, slots,
                                               zclock_mono ())) {
            case PINGER_JOINED:
                zsys_info ("dispatcher: pinger %s joined (region '%s')", identity, region);
                break;
            case PINGER_BACK:
                zsys_info ("dispatcher: pinger %s is back (region '%s')", identity, region);
                break;
            case PINGER_REFUSED:
                self->counters [DISPATCHER_refused]++;
                zsys_warning ("dispatcher: pinger %s refused: %d pingers or %d regions "
                              "already", identity, JOB_BOOK_PINGERS_MAX, JOB_BOOK_REGIONS_MAX);
                break;
            case PINGER_SEEN:
                break;
        }
    }
}

static void
s_handle_done (self_t *self)
{
    while (zsock_events (self->done) & ZMQ_POLLIN) {
        sq_msg_t msg;
        int rc = sq_wire_recv_expect (self->done, NULL, NULL, &msg, SQ_WIRE_TYPE (SQ_MSG_DONE),
                                      "dispatcher: dropped a frame from the collector",
                                      &self->counters [DISPATCHER_malformed]);
        sq_metrics_refusal (rc, SQ_ACTOR_DISPATCHER);
        if (rc == SQ_WIRE_INTERRUPTED)
            return;
        if (rc == SQ_PROTO_OK)
            job_book_done (self->book, &msg.done, zclock_mono ());
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
    job_book_destroy (&self->book);
    zsock_destroy (&self->jobs);
    zsock_destroy (&self->done);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const dispatcher_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->job_key = args->job_key;
    self->late_ms = args->late_ms ? args->late_ms : SQ_LATE_MS;
    self->once = args->once;
    job_book_rules_t rules = {
        .once = args->once, .deadline_margin_ms = args->deadline_margin_ms,
        .max_attempts = args->max_attempts, .pinger_silence_ms = args->pinger_silence_ms,
        //  The collector drops a result whose job id is not above the
        //  last one it took for the site: after a restart of the hub, ids
        //  starting again at 1 would make every new result look older than
        //  a late one from before.  Wall-clock µs keep them growing.
        .first_job_id = (uint64_t) sq_wallclock_us (),
    };
    self->book = job_book_new (&rules);
    self->jobs = zsock_new (ZMQ_ROUTER);
    self->done = zsock_new (ZMQ_PULL);
    assert (self->jobs && self->done);
    //  An unroutable CHECK must fail loudly, not vanish; a pinger that
    //  reconnects under the same id takes over its old route.
    zsock_set_router_mandatory (self->jobs, 1);
    zsock_set_router_handover (self->jobs, 1);
    zsock_set_sndhwm (self->jobs, 0);
    zsock_set_rcvhwm (self->done, 0);
    if (sq_actor_bind (self->jobs, args->jobs) < 0
    ||  sq_actor_bind (self->done, args->done) < 0
    ||  (args->jobs_remote
        && sq_actor_bind_remote (self->jobs, args->jobs_remote, &args->curve) < 0)) {
        snprintf (error, error_size, "cannot bind %s, %s or %s: %s", args->jobs, args->done,
                  args->jobs_remote ? args->jobs_remote : "-", zmq_strerror (zmq_errno ()));
        s_self_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->jobs, self->done, NULL);
    zpoller_set_nonstop (self->poller, true);    //  the supervisor handles signals
    return self;
}

//  How long the loop may sleep: until the next event the book has work
//  for, or the next liveness check.
static int
s_wait_ms (self_t *self)
{
    int64_t now = zclock_mono ();
    int64_t until = job_book_wake_at (self->book);
    if (until > self->next_liveness)
        until = self->next_liveness;
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
        s_show_pingers (self);
    }
    s_self_destroy (&self);
}
