/*  collector.c: see collector.h and docs/ARCHITECTURE.md, "Collector". */
#include "collector.h"
#include "sq_actor.h"
#include "sq_wire.h"
#include "store.h"
#include "store_api.h"
#include "site_state.h"
#include "quorum.h"
#include "pinger_health.h"
#include "sq_json.h"
#include "sq_url.h"
#include "sq_metrics.h"
#include "alert_seq.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define S_REJUDGE_MS        5000    //  sites judged again this often (regions go quiet)
#define S_SEEN_MAX          8       //  pingers' latest verdicts kept per site
#define S_PINGERS_FILE      "pingers.json"  //  in data_dir: the pingers' health, for status

//  One region's view of a site: its own state machine on its own verdicts.
typedef struct {
    char name [SQ_NAME_MAX + 1];    //  the region ("" for pingers without one)
    site_state_t judged;        //  the state machine (site_state.h)
    int64_t last_us;            //  wall clock (ours) of its latest verdict
    uint8_t reason;             //  that verdict's reason
} region_t;

//  One pinger's latest verdict on a site, for the health comparisons.
typedef struct {
    uint16_t pinger;            //  index in self->pingers
    bool up;
    int64_t at_us;              //  wall clock (ours)
} seen_t;

//  A pinger as the collector knows it: where it checks from and whether
//  its own network looks sound (pinger_health.h).
typedef struct {
    char id [SQ_NAME_MAX + 1];
    char region [SQ_NAME_MAX + 1];
    pinger_health_t health;
    int64_t last_us;            //  wall clock of its latest result
    int64_t since_us;           //  quarantined since (0: healthy)
    uint64_t results;           //  results from it
} pinger_t;

typedef struct {
    uint64_t id;                //  site id
    char *url;                  //  for ALERTs and topics
    site_rules_t rules;         //  thresholds and interval
    uint32_t timeout_ms;        //  its checks' timeout, for the freshness window
    uint32_t quorum;            //  regions that must see it down; 0 = majority
    region_t *regions;          //  the regions that checked it, grown one by one up to
                                //  SQ_REGIONS_MAX (most sites have one or two)
    size_t region_count;        //  entries in regions
    sq_state_t restored;        //  UP or DOWN from the store at start: regions heard
                                //  within the first freshness window start there
    int64_t added_us;           //  wall clock when the collector took the site
    size_t expected;            //  regions listed in its SITE (0: every live region)
    sq_state_t state;           //  the state across regions (quorum.h)
    sq_state_t settled;         //  the last published state (quorum_step)
    int64_t since_us;           //  wall clock when the state began
    seen_t *seen;               //  pingers' latest verdicts (health comparisons)
    uint8_t seen_count;         //  entries in seen, <= S_SEEN_MAX
    bool canary;                //  a canary: judges pingers, has no state
    bool reported;              //  report mode: verdict sent
    bool active;                //  in the current config
} site_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *results;           //  PULL from the pingers
    zsock_t *feed;              //  PUB, the alert feed
    zsock_t *done;              //  PUSH to the dispatcher
    zsock_t *store;             //  PUSH to the store writer, or NULL
    store_t *reader;            //  the store, read to restore states; or NULL
    bool report;                //  report mode (sweep)
    bool inproc;                //  results arrive over inproc://
    zpoller_t *poller;          //  pipe, results
    zhashx_t *sites;            //  site id -> site_t *
    zhashx_t *pinger_keys;      //  pinger id -> the key its first result came with
    uint64_t seq;               //  last feed sequence number (from the store at start)
    int seq_fd;                 //  alert_seq's file, or -1
    zhashx_t *last_published;   //  site id -> its last ALERT's state + 1 (from the store at start)
    zhashx_t *live_regions;     //  region name -> wall clock of its latest result (int64_t *)
    pinger_t *pingers;          //  pingers heard from, grown, <= COLLECTOR_PINGERS_MAX
    size_t pinger_count;
    zhashx_t *pinger_index;     //  pinger id -> its index + 1
    sq_job_key_t job_key;       //  the dispatcher's: a result must bear its mark
    char *pingers_file;         //  data_dir/pingers.json, or NULL
    bool pingers_dirty;         //  the file is behind
    bool terminated;            //  $TERM received
    uint64_t counters [COLLECTOR_COUNTER_COUNT];    //  reported on STATS
} self_t;

static const char *const s_counter_names [] = { COLLECTOR_COUNTERS (SQ_COUNTER_STRING) };

static void s_write_pingers (self_t *self);

static void
s_remember_published (const sq_alert_t *alert, void *arg)
{
    self_t *self = (self_t *) arg;
    zhashx_update (self->last_published, (void *) (uintptr_t) alert->site_id,
                   (void *) (uintptr_t) (alert->state + 1));
}

static void
s_site_destroy (void **item)
{
    site_t *site = (site_t *) *item;
    if (site) {
        free (site->url);
        free (site->regions);
        free (site->seen);
        free (site);
        *item = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Site list

static void
s_set_sites (self_t *self, zmsg_t *batch)
{
    store_t *store = self->reader;
    //  The first list (a start): every stored state in one statement, not
    //  one look-up per site (100,000 of them were 7 % of a start).  Later
    //  lists bring few new sites: one look-up each.
    store_site_state_t *states = NULL;
    size_t state_count = 0;
    bool bulk = store && zhashx_size (self->sites) == 0
             && store_site_states (store, &states, &state_count) == 0;
    for (site_t *site = (site_t *) zhashx_first (self->sites); site;
         site = (site_t *) zhashx_next (self->sites))
        site->active = false;
    sq_site_t entry;
    int rc;
    sq_batch_reader_t reader = { .batch = batch };
    while ((rc = sq_sites_next (&reader, &entry, "collector",
                                &self->counters [COLLECTOR_malformed])) != 0) {
        if (rc < 0)
            continue;
        site_t *site = (site_t *) zhashx_lookup (self->sites, (void *) (uintptr_t) entry.site_id);
        if (!site) {
            site = (site_t *) calloc (1, sizeof (site_t));
            assert (site);
            site->id = entry.site_id;
            //  A restart must not alert again about what was known.
            //  (site_state_init keeps only UP and DOWN.)
            sq_state_t state = SQ_STATE_UNKNOWN;
            int64_t since = 0;
            if (bulk) {
                const store_site_state_t *stored = store_site_state_find (states, state_count,
                                                                          entry.site_id);
                if (stored) {
                    state = stored->state;
                    since = stored->since_us;
                }
            }
            else
            if (store && store_site_state (store, entry.site_id, &state, &since) != 0)
                state = SQ_STATE_UNKNOWN;
            //  The site's state as stored (DEGRADED too); the state its
            //  last ALERT published (what owners last heard), else UP for
            //  a site only ever seen up; each region's machine starts
            //  from UP or DOWN.
            site_state_t probe;
            site_state_init (&probe, state);
            site->restored = probe.state;
            site->state = state == SQ_STATE_SUSPECT ? SQ_STATE_UNKNOWN : state;
            uintptr_t published = (uintptr_t) zhashx_lookup (self->last_published,
                                                             (void *) (uintptr_t) entry.site_id);
            site->settled = published ? (sq_state_t) (published - 1)
                          : state == SQ_STATE_UP ? SQ_STATE_UP : SQ_STATE_UNKNOWN;
            if (site->state != SQ_STATE_UNKNOWN)
                site->since_us = since;
            site->added_us = sq_wallclock_us ();
            zhashx_insert (self->sites, (void *) (uintptr_t) entry.site_id, site);
        }
        //  The URL as shown (no user, password or token): ALERTs, topics
        //  and logs carry nothing else.  Only the dispatcher and the store
        //  keep the URL a site is checked as.
        char shown [SQ_URL_MAX + 1];
        sq_url_shown (entry.url, shown, sizeof (shown));
        free (site->url);
        site->url = strdup (shown);
        assert (site->url);
        site->rules = (site_rules_t) { .failure_threshold = entry.failure_threshold,
                                       .success_threshold = entry.success_threshold,
                                       .interval_ms = entry.interval_ms };
        site->timeout_ms = entry.timeout_ms;
        site->quorum = entry.quorum;
        site->canary = entry.canary;
        site->expected = 0;
        if (entry.regions [0]) {
            site->expected = 1;
            for (const char *comma = strchr (entry.regions, ','); comma;
                 comma = strchr (comma + 1, ','))
                site->expected++;
        }
        site->active = true;
    }
    //  Sites no longer listed: forget their state.
    zlistx_t *gone = zlistx_new ();
    for (site_t *site = (site_t *) zhashx_first (self->sites); site;
         site = (site_t *) zhashx_next (self->sites))
        if (!site->active)
            zlistx_add_end (gone, (void *) (uintptr_t) site->id);
    for (void *id = zlistx_first (gone); id; id = zlistx_next (gone))
        zhashx_delete (self->sites, id);
    zlistx_destroy (&gone);
    free (states);
}


//  --------------------------------------------------------------------------
//  State machine

//  How long a region's verdict counts: two intervals and a check's time.
static int64_t
s_fresh_us (const site_t *site)
{
    return ((int64_t) site->rules.interval_ms * 2 + site->timeout_ms + SQ_DEADLINE_MARGIN_MS) * 1000;
}

//  "eu:timeout,us:connect": the regions that count and see the site down.
static void
s_down_regions (const site_t *site, int64_t now_us, char *out, size_t out_size)
{
    size_t used = 0;
    out [0] = '\0';
    int64_t fresh = s_fresh_us (site);
    for (size_t index = 0; index < site->region_count; index++) {
        const region_t *region = &site->regions [index];
        if (region->judged.state != SQ_STATE_DOWN || now_us - region->last_us > fresh)
            continue;
        int written = snprintf (out + used, out_size - used, "%s%s:%s", used ? "," : "",
                                region->name [0] ? region->name : "-",
                                sq_reason_name ((sq_reason_t) region->reason));
        if (written < 0 || (size_t) written >= out_size - used) {
            out [used] = '\0';
            break;
        }
        used += (size_t) written;
    }
}

//  Record a change of state: to the store always (as an ALERT when it is
//  published, with the next seq, else as a CHANGE), to the feed when the
//  step says so.  result is the deciding check, or NULL when the change
//  came from a region going quiet.
static void
s_record_change (self_t *self, site_t *site, const quorum_step_t *step,
                 const sq_result_t *result, int64_t now_us)
{
    zsys_debug ("collector: %s: %s -> %s (%s)", site->url, sq_state_name (step->from),
                sq_state_name (step->to),
                result ? sq_reason_name ((sq_reason_t) result->reason) : "a region went quiet");
    int64_t previous_since = site->since_us;
    site->since_us = now_us;
    if (step->to == SQ_STATE_SUSPECT)
        self->counters [COLLECTOR_suspects]++;
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_ALERT;
    sq_alert_t *alert = &msg.alert;
    alert->seq = step->publish ? ++self->seq : 0;      //  0: a CHANGE, set below
    if (step->publish)
        alert_seq_keep (self->seq_fd, self->seq);
    alert->site_id = site->id;
    snprintf (alert->url, sizeof (alert->url), "%s", site->url);
    alert->previous = (uint8_t) step->previous;
    alert->state = (uint8_t) step->to;
    alert->since = now_us;
    alert->previous_since = previous_since;
    if (result) {
        alert->reason = result->reason;
        alert->http_status = result->http_status;
        alert->dns_us = result->dns_us;
        alert->connect_us = result->connect_us;
        alert->tls_us = result->tls_us;
        alert->ttfb_us = result->ttfb_us;
        alert->total_us = result->total_us;
        if (result->up)
            snprintf (alert->detail, sizeof (alert->detail), "HTTP %u by %s", result->http_status,
                      sq_method_name ((sq_method_t) result->method));
        else
            snprintf (alert->detail, sizeof (alert->detail), "%s", result->error);
    }
    else
        snprintf (alert->detail, sizeof (alert->detail), "judged again: a region's verdicts are "
                  "too old to count");
    s_down_regions (site, now_us, alert->regions, sizeof (alert->regions));
    if (step->publish) {
        char topic [SQ_URL_MAX + 16];
        int length = snprintf (topic, sizeof (topic), "%s %s", sq_state_name (step->to), site->url);
        if (sq_wire_send (self->feed, topic, (size_t) length, &msg))
            zsys_error ("collector: %s: ALERT could not be published", site->url);
        self->counters [COLLECTOR_alerts]++;
        zsys_info ("collector: ALERT #%llu %s is %s (was %s): %s %s%s%s",
                   (unsigned long long) alert->seq, site->url, sq_state_name (step->to),
                   sq_state_name (step->previous), sq_reason_name ((sq_reason_t) alert->reason),
                   alert->detail, alert->regions [0] ? "; down in " : "", alert->regions);
    }
    if (!step->publish) {
        //  Not published: no seq.  CHANGE has ALERT's fields but seq.
        sq_alert_t change = msg.alert;
        msg.type = SQ_MSG_CHANGE;
        sq_change_from_alert (&msg.change, &change);
    }
    if (self->store && sq_wire_send (self->store, NULL, 0, &msg))
        zsys_error ("collector: %s: state change not sent to the store", site->url);
}

//  The region of a site a result came from, made on its first result.
//  Within the first freshness window after the site was taken it starts
//  from the site's restored state (so a restart does not alert again),
//  later from UNKNOWN (a region added days later knows nothing).  When the
//  table is full, a region gone quiet makes room; NULL when none has.
static region_t *
s_region (site_t *site, const char *name, int64_t now_us)
{
    for (size_t index = 0; index < site->region_count; index++)
        if (streq (site->regions [index].name, name))
            return &site->regions [index];
    region_t *region = NULL;
    if (site->region_count < SQ_REGIONS_MAX) {
        region_t *grown = (region_t *) realloc (site->regions,
                                                (site->region_count + 1) * sizeof (region_t));
        assert (grown);
        site->regions = grown;
        region = &site->regions [site->region_count++];
    }
    else
        for (size_t index = 0; index < site->region_count && !region; index++)
            if (now_us - site->regions [index].last_us > s_fresh_us (site))
                region = &site->regions [index];
    if (!region)
        return NULL;
    memset (region, 0, sizeof (*region));
    snprintf (region->name, sizeof (region->name), "%s", name);
    bool starting = now_us - site->added_us <= s_fresh_us (site);
    site_state_init (&region->judged, starting ? site->restored : SQ_STATE_UNKNOWN);
    return region;
}

//  Regions that checked anything lately (any site): those a site without
//  a regions list is expected to hear from.
static size_t
s_live_regions (self_t *self, int64_t now_us, int64_t fresh_us)
{
    size_t live = 0;
    for (int64_t *last = (int64_t *) zhashx_first (self->live_regions); last;
         last = (int64_t *) zhashx_next (self->live_regions))
        if (now_us - *last <= fresh_us)
            live++;
    return live;
}

//  The site judged across its regions at now_us.  During the first
//  freshness window after the site was taken, while fewer regions have
//  reported than are expected (those listed, or every region live), the
//  judgement holds: the first region to report does not decide alone, and
//  a quorum not yet reachable is not "unmonitored".
static sq_state_t
s_judge (self_t *self, const site_t *site, int64_t now_us)
{
    int64_t fresh = s_fresh_us (site);
    quorum_region_t views [SQ_REGIONS_MAX];
    size_t heard = 0;
    for (size_t index = 0; index < site->region_count; index++) {
        views [index] = (quorum_region_t) { .state = site->regions [index].judged.state,
                                            .last_us = site->regions [index].last_us };
        heard += site->regions [index].last_us != 0;
    }
    //  Past the grace (nearly always), no count of live regions is needed.
    if (now_us - site->added_us <= fresh) {
        size_t expected = site->expected ? site->expected : s_live_regions (self, now_us, fresh);
        if (heard < expected)
            return site->state;
    }
    return quorum_judge (views, site->region_count, site->quorum, now_us, fresh).state;
}

//  Regions go quiet without a result to say so: judge every site again.
//  (Not in report mode: a sweep checks each site to one verdict and goes.)
static void
s_rejudge (self_t *self)
{
    if (self->report)
        return;
    //  Each pinger's standing and latest result, for `squirrel status`.
    s_write_pingers (self);
    int64_t now = sq_wallclock_us ();
    for (site_t *site = (site_t *) zhashx_first (self->sites); site;
         site = (site_t *) zhashx_next (self->sites)) {
        if (site->region_count == 0 || site->canary)
            continue;
        sq_state_t judged = s_judge (self, site, now);
        if (judged == site->state)
            continue;
        quorum_step_t step = quorum_step (&site->state, &site->settled, judged);
        s_record_change (self, site, &step, NULL, now);
    }
}

//  --------------------------------------------------------------------------
//  Pinger health (pinger_health.h)

//  The pinger named id, checking from region, made on its first result;
//  -1 when the table is full (its results still count, unjudged).
static int
s_pinger (self_t *self, const char *id, const char *region, int64_t now_us)
{
    uintptr_t known = (uintptr_t) zhashx_lookup (self->pinger_index, id);
    int index;
    if (known)
        index = (int) (known - 1);
    else {
        if (self->pinger_count >= COLLECTOR_PINGERS_MAX)
            return -1;
        pinger_t *grown = (pinger_t *) realloc (self->pingers,
                                                (self->pinger_count + 1) * sizeof (pinger_t));
        assert (grown);
        self->pingers = grown;
        index = (int) self->pinger_count++;
        memset (&self->pingers [index], 0, sizeof (pinger_t));
        snprintf (self->pingers [index].id, sizeof (self->pingers [index].id), "%s", id);
        zhashx_insert (self->pinger_index, id, (void *) (uintptr_t) (index + 1));
        self->pingers_dirty = true;
    }
    pinger_t *pinger = &self->pingers [index];
    if (strcmp (pinger->region, region)) {
        snprintf (pinger->region, sizeof (pinger->region), "%s", region);
        self->pingers_dirty = true;
    }
    pinger->last_us = now_us;
    pinger->results++;
    return index;
}

//  Compare a pinger's verdict on a site with the other pingers' fresh
//  ones (of its region; of any region for a canary; never a quarantined
//  pinger's), keep it as the pinger's latest, and update its standing.
static void
s_judge_pinger (self_t *self, site_t *site, int index, bool up, int64_t now_us)
{
    pinger_t *pinger = &self->pingers [index];
    int64_t fresh = s_fresh_us (site);
    uint32_t others_up = 0, others_down = 0;
    seen_t *mine = NULL, *oldest = NULL;
    for (size_t entry = 0; entry < site->seen_count; entry++) {
        seen_t *seen = &site->seen [entry];
        if (seen->pinger == index) {
            mine = seen;
            continue;
        }
        if (!oldest || seen->at_us < oldest->at_us)
            oldest = seen;
        const pinger_t *other = &self->pingers [seen->pinger];
        if (now_us - seen->at_us > fresh || other->health.quarantined
        ||  (!site->canary && strcmp (other->region, pinger->region)))
            continue;
        if (seen->up)
            others_up++;
        else
            others_down++;
    }
    if (!mine && site->seen_count < S_SEEN_MAX) {
        seen_t *grown = (seen_t *) realloc (site->seen, (site->seen_count + 1) * sizeof (seen_t));
        assert (grown);
        site->seen = grown;
        mine = &site->seen [site->seen_count++];
    }
    if (!mine)
        mine = oldest;          //  full: the oldest other verdict makes room
    *mine = (seen_t) { .pinger = (uint16_t) index, .up = up, .at_us = now_us };

    pinger_health_t before = pinger->health;
    health_event_t event = pinger_health_observe (&pinger->health,
                                                  pinger_health_compare (up, others_up, others_down));
    if (event == HEALTH_QUARANTINED) {
        pinger->since_us = now_us;
        self->counters [COLLECTOR_quarantines]++;
        self->pingers_dirty = true;
        zsys_warning ("collector: pinger %s (region %s) quarantined: %u of its last %u compared "
                      "checks failed where other pingers saw the target up; its results raise no "
                      "alert and its jobs go to others until it agrees again", pinger->id,
                      pinger->region [0] ? pinger->region : "-",
                      (unsigned) pinger->health.disagreements, (unsigned) pinger->health.kept);
    }
    else
    if (event == HEALTH_RELEASED) {
        pinger->since_us = 0;
        self->counters [COLLECTOR_releases]++;
        self->pingers_dirty = true;
        zsys_info ("collector: pinger %s (region %s) let back: its last %u compared checks "
                   "agreed with the other pingers", pinger->id,
                   pinger->region [0] ? pinger->region : "-", (unsigned) before.agree_run + 1);
    }
}

//  Whether a pinger of region other than index, not quarantined, sent a
//  result within fresh_us: one that can recheck in its place.
static bool
s_other_healthy (self_t *self, int index, const char *region, int64_t now_us, int64_t fresh_us)
{
    for (size_t other = 0; other < self->pinger_count; other++) {
        const pinger_t *pinger = &self->pingers [other];
        if ((int) other != index && !pinger->health.quarantined
        &&  now_us - pinger->last_us <= fresh_us && streq (pinger->region, region))
            return true;
    }
    return false;
}

//  The pingers and their standing as JSON in data_dir, for `squirrel
//  status` (written whole to a temporary file, then renamed; mode 0600).
static void
s_write_pingers (self_t *self)
{
    if (!self->pingers_file)
        return;
    self->pingers_dirty = false;
    char *json = NULL;
    size_t length = 0;
    int rc = sq_json_appendf (&json, &length, "{\"at\":%lld,\"pingers\":[",
                              (long long) sq_wallclock_us ());
    for (size_t index = 0; index < self->pinger_count && !rc; index++) {
        const pinger_t *pinger = &self->pingers [index];
        rc = sq_json_appendf (&json, &length, "%s{\"id\":", index ? "," : "")
          || sq_json_append_string (&json, &length, pinger->id)
          || sq_json_appendf (&json, &length, ",\"region\":")
          || sq_json_append_string (&json, &length, pinger->region)
          || sq_json_appendf (&json, &length, ",\"state\":\"%s\",\"since\":%lld,"
                              "\"last_result\":%lld,\"results\":%llu,\"compared\":%u,"
                              "\"disagreed\":%u}",
                              pinger->health.quarantined ? "quarantined" : "healthy",
                              (long long) pinger->since_us, (long long) pinger->last_us,
                              (unsigned long long) pinger->results,
                              (unsigned) pinger->health.kept,
                              (unsigned) pinger->health.disagreements);
    }
    rc = rc || sq_json_appendf (&json, &length, "]}\n");
    char temporary [PATH_MAX];
    snprintf (temporary, sizeof (temporary), "%s.tmp", self->pingers_file);
    int fd = rc ? -1 : open (temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool written = fd >= 0 && write (fd, json, length) == (ssize_t) length;
    if (fd >= 0 && (close (fd) || !written || rename (temporary, self->pingers_file))) {
        written = false;
        unlink (temporary);
    }
    if (!written && self->counters [COLLECTOR_pingers_file_errors]++ == 0)
        zsys_warning ("collector: cannot write %s: %s", self->pingers_file,
                      rc ? "out of memory" : strerror (errno));
    free (json);
}

//  DONE for a result: next round (recheck_ms SITE_NO_RECHECK) or a recheck
//  after recheck_ms by another pinger of the region than avoid ("" any),
//  with the checking pinger's standing.
static void
s_send_done (self_t *self, const sq_result_t *result, int64_t recheck_ms, const char *avoid,
             int checker)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_DONE;
    msg.done.job_id = result->job_id;
    msg.done.site_id = result->site_id;
    msg.done.recheck = recheck_ms >= 0;
    msg.done.delay_ms = recheck_ms > 0 ? (uint32_t) recheck_ms : 0;
    snprintf (msg.done.region, sizeof (msg.done.region), "%s", result->region);
    snprintf (msg.done.avoid, sizeof (msg.done.avoid), "%s", avoid);
    snprintf (msg.done.pinger, sizeof (msg.done.pinger), "%s", result->pinger_id);
    msg.done.quarantined = checker >= 0 && self->pingers [checker].health.quarantined;
    if (sq_wire_send (self->done, NULL, 0, &msg))
        zsys_error ("collector: site %llu: DONE not sent to the dispatcher",
                    (unsigned long long) result->site_id);
}

static void
s_handle_result (self_t *self, const sq_result_t *result)
{
    //  Only results of jobs the dispatcher issued: a stray or forged job id
    //  (one far above the others would make every real result after it
    //  look old) changes nothing.
    if (result->token != sq_job_token (&self->job_key, result->job_id, result->site_id)) {
        if (self->counters [COLLECTOR_unmarked]++ == 0)
            zsys_warning ("collector: refused a result from pinger %s for site %llu: not the "
                          "mark of a job the dispatcher issued (logged once, counted in "
                          "unmarked)", result->pinger_id, (unsigned long long) result->site_id);
        return;
    }
    site_t *site = (site_t *) zhashx_lookup (self->sites, (void *) (uintptr_t) result->site_id);
    if (!site) {
        self->counters [COLLECTOR_unknown_site]++;
        return;
    }
    int64_t now = sq_wallclock_us ();
    int checker = s_pinger (self, result->pinger_id, result->region, now);
    if (site->canary) {
        //  A canary judges the pinger and nothing else.
        self->counters [COLLECTOR_canary_results]++;
        if (checker >= 0)
            s_judge_pinger (self, site, checker, result->up, now);
        s_send_done (self, result, SITE_NO_RECHECK, "", checker);
        return;
    }
    region_t *region = s_region (site, result->region, now);
    if (!region) {
        //  Still a DONE, or the dispatcher would resend the job for ever.
        self->counters [COLLECTOR_regions_refused]++;
        s_send_done (self, result, SITE_NO_RECHECK, "", checker);
        return;
    }
    if (!site_state_accept_job (&region->judged, result->job_id)) {
        self->counters [COLLECTOR_duplicates]++;
        return;
    }
    if (checker >= 0 && !self->report)
        s_judge_pinger (self, site, checker, result->up, now);
    if (checker >= 0 && self->pingers [checker].health.quarantined) {
        //  Its verdict is not the site's: not stepped, not stored.  Another
        //  pinger of the region checks at once if one can; else the region
        //  waits for the next round (and goes unavailable if none comes).
        self->counters [COLLECTOR_quarantined_results]++;
        bool other = s_other_healthy (self, checker, result->region, now, s_fresh_us (site));
        s_send_done (self, result, other ? 0 : SITE_NO_RECHECK,
                     other ? result->pinger_id : "", checker);
        return;
    }
    self->counters [COLLECTOR_results]++;
    sq_metrics_check ((sq_reason_t) result->reason, result->dns_us, result->connect_us,
                      result->tls_us, result->ttfb_us, result->total_us);
    if (self->store) {
        sq_msg_t msg;
        msg.type = SQ_MSG_RESULT;
        msg.result = *result;
        if (sq_wire_send (self->store, NULL, 0, &msg))
            zsys_error ("collector: %s: result not sent to the store", site->url);
    }
    //  The region's own machine decides its state and its recheck; the
    //  quorum across regions decides the site's.  Times are ours, not the
    //  pingers' (their clocks may differ).
    int64_t *live = (int64_t *) zhashx_lookup (self->live_regions, result->region);
    if (!live && zhashx_size (self->live_regions) < COLLECTOR_PINGERS_MAX) {
        live = (int64_t *) malloc (sizeof (int64_t));
        assert (live);
        zhashx_insert (self->live_regions, result->region, live);
    }
    if (live)
        *live = now;
    site_step_t region_step = site_state_step (&region->judged, &site->rules, result->up);
    region->last_us = now;
    region->reason = result->reason;
    quorum_step_t step = quorum_step (&site->state, &site->settled, s_judge (self, site, now));
    if (step.changed)
        s_record_change (self, site, &step, result, now);
    int64_t recheck = region_step.recheck_ms;
    if (self->report && !site->reported
    &&  (step.to == SQ_STATE_UP || step.to == SQ_STATE_DOWN || step.to == SQ_STATE_DEGRADED)) {
        site->reported = true;
        recheck = SITE_NO_RECHECK;  //  a sweep is done with this site
        //  Encoded like any message, never raw struct bytes.
        sq_msg_t verdict = { .type = SQ_MSG_RESULT, .result = *result };
        uint8_t frame [SQ_FRAME_MAX];
        int size = sq_msg_encode (&verdict, frame, sizeof (frame));
        if (size > 0)
            zsock_send (self->pipe, "sbs", SQ_CMD_VERDICT, frame, (size_t) size,
                        sq_state_name (step.to));
    }
    //  A failure is rechecked by another pinger of the region if one can:
    //  the fault may be this pinger's own.
    s_send_done (self, result, recheck, recheck >= 0 && !result->up ? result->pinger_id : "",
                 checker);
}


//  --------------------------------------------------------------------------
//  Socket handlers

//  A pinger name belongs to the key of its first result ("" over inproc
//  and ipc): another allowed node cannot post results under it.  The table
//  is bounded; past COLLECTOR_PINGERS_MAX names, new ones are refused.
static bool
s_pinger_key_ok (self_t *self, const char *pinger_id, const char *key)
{
    const char *known = (const char *) zhashx_lookup (self->pinger_keys, pinger_id);
    if (!known && zhashx_size (self->pinger_keys) < COLLECTOR_PINGERS_MAX) {
        zhashx_insert (self->pinger_keys, pinger_id, (void *) key);
        return true;
    }
    if (known && streq (known, key))
        return true;
    if (self->counters [COLLECTOR_impostors]++ == 0)
        zsys_warning ("collector: refused a result as pinger %s: %s", pinger_id,
                      known ? "from another key than its first" : "too many pinger names");
    return false;
}

static void
s_handle_results (self_t *self)
{
    //  Drain, bounded, so the pipe is never starved.
    for (int round = 0; round < 4096 && (zsock_events (self->results) & ZMQ_POLLIN); round++) {
        sq_msg_t msg;
        char key [SQ_WIRE_PEER_MAX];
        int rc = sq_wire_recv_from (self->results, NULL, NULL, &msg,
                                    SQ_WIRE_TYPE (SQ_MSG_RESULT),
                                    "collector: dropped a frame from a pinger",
                                    &self->counters [COLLECTOR_malformed], key, sizeof (key));
        sq_metrics_refusal (rc, SQ_ACTOR_COLLECTOR);
        if (rc == SQ_WIRE_INTERRUPTED)
            return;
        if (rc == SQ_PROTO_OK && s_pinger_key_ok (self, msg.result.pinger_id, key))
            s_handle_result (self, &msg.result);
    }
}


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
    if (streq (command, SQ_CMD_DRAIN)) {
        //  Account for every result already queued, then answer: used at
        //  a clean stop, after the pingers are gone, so none is lost.  Over
        //  inproc a result sent is a result queued; over ipc or tcp it may
        //  still be on its way, so wait for the socket to stay quiet for
        //  SQ_DRAIN_QUIET_MS (SQ_DRAIN_MAX_MS at most) before answering.
        int64_t deadline = zclock_mono () + SQ_DRAIN_MAX_MS;
        while (true) {
            while (zsock_events (self->results) & ZMQ_POLLIN)
                s_handle_results (self);
            if (self->inproc || zclock_mono () >= deadline)
                break;
            zmq_pollitem_t item = { zsock_resolve (self->results), 0, ZMQ_POLLIN, 0 };
            if (zmq_poll (&item, 1, SQ_DRAIN_QUIET_MS) <= 0)
                break;
        }
        zsock_signal (self->pipe, 0);
    }
    else
    if (streq (command, SQ_CMD_STATS)) {
        self->counters [COLLECTOR_sites] = zhashx_size (self->sites);
        self->counters [COLLECTOR_seq] = self->seq;
        self->counters [COLLECTOR_quarantined] = 0;
        for (size_t index = 0; index < self->pinger_count; index++)
            self->counters [COLLECTOR_quarantined] += self->pingers [index].health.quarantined;
        sq_actor_send_counters (self->pipe, s_counter_names, self->counters, COLLECTOR_COUNTER_COUNT);
    }
    else
        zsys_warning ("collector: unknown pipe command '%s'", command);
    zmsg_destroy (&rest);
    zstr_free (&command);
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
    zhashx_destroy (&self->sites);
    zhashx_destroy (&self->pinger_keys);
    zhashx_destroy (&self->last_published);
    zhashx_destroy (&self->live_regions);
    zhashx_destroy (&self->pinger_index);
    free (self->pingers);
    free (self->pingers_file);
    zsock_destroy (&self->results);
    zsock_destroy (&self->feed);
    zsock_destroy (&self->done);
    zsock_destroy (&self->store);
    store_close (&self->reader);
    if (self->seq_fd >= 0)
        close (self->seq_fd);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const collector_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->seq_fd = -1;
    self->report = args->report;
    self->job_key = args->job_key;
    self->inproc = strncmp (args->results, "inproc://", 9) == 0 && !args->results_remote;
    self->sites = sq_id_table_new (s_site_destroy);
    self->pinger_keys = zhashx_new ();     //  string keys and values, copied
    assert (self->pinger_keys);
    zhashx_set_duplicator (self->pinger_keys, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (self->pinger_keys, (zhashx_destructor_fn *) zstr_free);
    self->last_published = sq_id_table_new (NULL);
    self->live_regions = zhashx_new ();     //  string keys, copied; values freed
    assert (self->last_published && self->live_regions);
    zhashx_set_destructor (self->live_regions, sq_free_item);
    self->pinger_index = zhashx_new ();     //  string keys, copied; index + 1 values
    assert (self->pinger_index);
    self->results = zsock_new (ZMQ_PULL);
    self->feed = zsock_new (ZMQ_PUB);
    self->done = zsock_new (ZMQ_PUSH);
    assert (self->results && self->feed && self->done);
    zsock_set_rcvhwm (self->results, 0);
    zsock_set_sndhwm (self->done, 0);
    zsock_set_linger (self->feed, SQ_LINGER_FEED_MS);
    //  The notifier must not miss an alert in a burst (ZeroMQ's default
    //  PUB high-water mark is 1,000 per subscriber); the limit stays to
    //  bound the memory a stalled remote watcher can make us hold.
    zsock_set_sndhwm (self->feed, 1000000);
    zsock_set_linger (self->done, SQ_LINGER_DONE_MS);
    int rc = sq_actor_bind (self->results, args->results) < 0
          || sq_actor_bind (self->feed, args->feed) < 0
          || zsock_connect (self->done, "%s", args->done) < 0
          || (args->results_remote
              && sq_actor_bind_remote (self->results, args->results_remote, &args->curve) < 0);
    if (!rc && args->data_dir) {
        //  Sequence numbers go on across restarts: a seq names one alert
        //  for good.  The store writer, started before us, has committed
        //  every alert of the last run by now.
        //  The same connection restores each site's state (s_set_sites).
        self->reader = store_open (args->data_dir, error, error_size);
        rc = !self->reader;
        if (self->reader && store_last_seq (self->reader, &self->seq)) {
            snprintf (error, error_size, "cannot read the last alert's seq from the store");
            rc = 1;
        }
        if (rc) {
            s_self_destroy (&self);
            return NULL;
        }
        self->seq_fd = alert_seq_open (args->data_dir, &self->seq);
        if (self->seq)
            zsys_info ("collector: alerts go on from #%llu", (unsigned long long) self->seq + 1);
        self->pingers_file = zsys_sprintf ("%s/%s", args->data_dir, S_PINGERS_FILE);
        //  What each site's last ALERT said: what its owner last heard.
        store_latest_alerts (self->reader, s_remember_published, self);
    }
    if (!rc && args->store) {
        self->store = zsock_new (ZMQ_PUSH);
        assert (self->store);
        //  Nothing for the store may be dropped: no high-water mark, and a
        //  long linger so that a clean stop hands everything over.
        zsock_set_sndhwm (self->store, 0);
        zsock_set_linger (self->store, SQ_LINGER_STORE_MS);
        rc = zsock_connect (self->store, "%s", args->store) < 0;
    }
    if (rc) {
        snprintf (error, error_size, "cannot bind %s or %s, or connect %s: %s", args->results,
                  args->feed, args->done, zmq_strerror (zmq_errno ()));
        s_self_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->results, NULL);
    zpoller_set_nonstop (self->poller, true);
    return self;
}

void
collector_actor (zsock_t *pipe, void *args)
{
    char error [256] = "";
    self_t *self = s_self_new (pipe, (const collector_args_t *) args, error, sizeof (error));
    sq_actor_report (pipe, self ? NULL : error);
    int64_t rejudge_at = zclock_mono () + S_REJUDGE_MS;
    while (self && !self->terminated) {
        int64_t wait = rejudge_at - zclock_mono ();
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, wait > 0 ? (int) wait : 0);
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->results)
            s_handle_results (self);
        if (zclock_mono () >= rejudge_at) {
            s_rejudge (self);
            rejudge_at = zclock_mono () + S_REJUDGE_MS;
        }
    }
    s_self_destroy (&self);
}
