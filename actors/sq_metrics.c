/*  sq_metrics.c: see sq_metrics.h and docs/ARCHITECTURE.md, "Metrics".

    Histograms keep one plain (not cumulative) count per bucket and their
    sum in integer µs, all relaxed atomics: an observation is two or three
    atomic adds and no lock.  The text makes the buckets cumulative as it
    reads them and gives `_count` as the +Inf bucket it printed, so the two
    always agree even while actors write (the sum may then be one
    observation ahead or behind: a scrape is a moment, not a transaction).
    Bounds are integers in µs, so a value on a bound lands in it exactly
    (Prometheus' `le`: less than or equal).
*/
#include "sq_metrics.h"
#include "sq_json.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Bucket bounds, as printed in `le` and in µs.  Check phases run from a
//  cached name lookup (well under 1 ms) to a check's whole timeout; the
//  schedule lag from on time to a minute behind.
#define S_PHASE_BOUNDS(B) \
    B ("0.001", 1000) B ("0.0025", 2500) B ("0.005", 5000) B ("0.01", 10000) \
    B ("0.025", 25000) B ("0.05", 50000) B ("0.1", 100000) B ("0.25", 250000) \
    B ("0.5", 500000) B ("1", 1000000) B ("2.5", 2500000) B ("5", 5000000) \
    B ("10", 10000000) B ("30", 30000000)
#define S_LAG_BOUNDS(B) \
    B ("0.001", 1000) B ("0.0025", 2500) B ("0.005", 5000) B ("0.01", 10000) \
    B ("0.025", 25000) B ("0.05", 50000) B ("0.1", 100000) B ("0.25", 250000) \
    B ("0.5", 500000) B ("1", 1000000) B ("2.5", 2500000) B ("5", 5000000) \
    B ("10", 10000000) B ("30", 30000000) B ("60", 60000000)

#define S_BOUND_TEXT(text, us)  text,
#define S_BOUND_US(text, us)    us,

static const char *const s_phase_le [] = { S_PHASE_BOUNDS (S_BOUND_TEXT) };
static const int64_t s_phase_us [] = { S_PHASE_BOUNDS (S_BOUND_US) };
static const char *const s_lag_le [] = { S_LAG_BOUNDS (S_BOUND_TEXT) };
static const int64_t s_lag_us [] = { S_LAG_BOUNDS (S_BOUND_US) };

#define S_PHASE_BUCKETS     (sizeof (s_phase_us) / sizeof (s_phase_us [0]))
#define S_LAG_BUCKETS       (sizeof (s_lag_us) / sizeof (s_lag_us [0]))
#define S_BUCKETS_MAX       16      //  finite buckets of any histogram here, at most
#define S_VALUE_MAX_US      (INT64_C (1000000) * 86400 * 7)
                                    //  an observation counts as this at most (a week:
                                    //  +Inf anyway), so that a hostile pinger's huge
                                    //  figures cannot wrap a sum

//  One histogram: counts per bucket (the last one is +Inf) and the sum.
typedef struct {
    atomic_uint_fast64_t buckets [S_BUCKETS_MAX + 1];   //  plain counts, not cumulative
    atomic_uint_fast64_t sum_us;                        //  sum of what was observed, µs
} s_histogram_t;

//  Names as the labels show them, in the order of the enums.
static const char *const s_phase_names [SQ_PHASE_COUNT] = {
    "dns", "connect", "tls", "ttfb", "total"
};
static const char *const s_actor_names [SQ_ACTOR_COUNT] = {
    "dispatcher", "pinger", "collector", "notifier", "store", "forwarder", "snapshot", "auth"
};
static const char *const s_channel_names [SQ_CHANNEL_COUNT] = {
    "webhook", "slack", "discord", "email", "command"
};
static const char *const s_result_names [SQ_DELIVERY_RESULT_COUNT] = {
    "delivered", "failed", "given_up"
};

//  The process's registry.  Zero is a valid empty registry, so it needs no
//  set-up and works before any actor starts.
static struct {
    s_histogram_t phases [SQ_PHASE_COUNT];      //  check durations by phase
    atomic_uint_fast64_t checks [SQ_REASON_COUNT];  //  accepted results by reason
    s_histogram_t lag;                          //  schedule lag
    atomic_uint_fast64_t refused [SQ_ACTOR_COUNT];  //  frames refused by actor
    atomic_uint_fast64_t notifications [SQ_CHANNEL_COUNT][SQ_DELIVERY_RESULT_COUNT];
                                                //  notification endings
    atomic_uint_fast64_t store_pending;         //  gauge: the store writer's pending writes
    pthread_mutex_t pingers_lock;               //  guards the two fields below
    sq_metrics_pinger_t *pingers;               //  the dispatcher's last table (malloc'd)
    size_t pinger_count;                        //  entries in it
} s_registry = { .pingers_lock = PTHREAD_MUTEX_INITIALIZER };

#define S_ADD(counter, value)   \
    atomic_fetch_add_explicit (&(counter), (value), memory_order_relaxed)
#define S_LOAD(counter)         atomic_load_explicit (&(counter), memory_order_relaxed)
#define S_STORE(counter, value) atomic_store_explicit (&(counter), (value), memory_order_relaxed)


//  --------------------------------------------------------------------------
//  Writers

static void
s_observe (s_histogram_t *histogram, const int64_t *bounds, size_t bound_count, int64_t value_us)
{
    if (value_us < 0)
        value_us = 0;
    size_t bucket = 0;
    while (bucket < bound_count && value_us > bounds [bucket])
        bucket++;
    S_ADD (histogram->buckets [bucket], 1);
    S_ADD (histogram->sum_us, (uint_fast64_t) value_us);
}

void
sq_metrics_check (sq_reason_t reason, uint64_t dns_us, uint64_t connect_us, uint64_t tls_us,
                  uint64_t ttfb_us, uint64_t total_us)
{
    if ((unsigned) reason < SQ_REASON_COUNT)
        S_ADD (s_registry.checks [reason], 1);
    uint64_t phases [SQ_PHASE_COUNT] = { dns_us, connect_us, tls_us, ttfb_us, total_us };
    for (int phase = 0; phase < SQ_PHASE_COUNT; phase++)
        if (phases [phase] > 0 || phase == SQ_PHASE_TOTAL)
            s_observe (&s_registry.phases [phase], s_phase_us, S_PHASE_BUCKETS,
                       phases [phase] > S_VALUE_MAX_US ? S_VALUE_MAX_US : (int64_t) phases [phase]);
}

void
sq_metrics_lag (int64_t lag_ms)
{
    if (lag_ms > S_VALUE_MAX_US / 1000)
        lag_ms = S_VALUE_MAX_US / 1000;
    s_observe (&s_registry.lag, s_lag_us, S_LAG_BUCKETS, lag_ms * 1000);
}

void
sq_metrics_refused (sq_actor_kind_t actor)
{
    if ((unsigned) actor < SQ_ACTOR_COUNT)
        S_ADD (s_registry.refused [actor], 1);
}

void
sq_metrics_notification (sq_channel_kind_t channel, sq_delivery_result_t result)
{
    if ((unsigned) channel < SQ_CHANNEL_COUNT && (unsigned) result < SQ_DELIVERY_RESULT_COUNT)
        S_ADD (s_registry.notifications [channel][result], 1);
}

void
sq_metrics_store_pending (uint64_t pending)
{
    S_STORE (s_registry.store_pending, pending);
}

void
sq_metrics_pingers (const sq_metrics_pinger_t *pingers, size_t count)
{
    if (count > SQ_METRICS_PINGERS_MAX)
        count = SQ_METRICS_PINGERS_MAX;
    //  Copied outside the lock; the lock only swaps the pointer.
    sq_metrics_pinger_t *copy = NULL;
    if (count) {
        copy = (sq_metrics_pinger_t *) malloc (count * sizeof (sq_metrics_pinger_t));
        assert (copy);
        memcpy (copy, pingers, count * sizeof (sq_metrics_pinger_t));
        for (size_t index = 0; index < count; index++)
            copy [index].region [SQ_NAME_MAX] = '\0';
    }
    pthread_mutex_lock (&s_registry.pingers_lock);
    sq_metrics_pinger_t *old = s_registry.pingers;
    s_registry.pingers = copy;
    s_registry.pinger_count = count;
    pthread_mutex_unlock (&s_registry.pingers_lock);
    free (old);
}

void
sq_metrics_reset (void)
{
    for (int phase = 0; phase < SQ_PHASE_COUNT; phase++) {
        for (size_t bucket = 0; bucket <= S_BUCKETS_MAX; bucket++)
            S_STORE (s_registry.phases [phase].buckets [bucket], 0);
        S_STORE (s_registry.phases [phase].sum_us, 0);
    }
    for (size_t bucket = 0; bucket <= S_BUCKETS_MAX; bucket++)
        S_STORE (s_registry.lag.buckets [bucket], 0);
    S_STORE (s_registry.lag.sum_us, 0);
    for (int reason = 0; reason < SQ_REASON_COUNT; reason++)
        S_STORE (s_registry.checks [reason], 0);
    for (int actor = 0; actor < SQ_ACTOR_COUNT; actor++)
        S_STORE (s_registry.refused [actor], 0);
    for (int channel = 0; channel < SQ_CHANNEL_COUNT; channel++)
        for (int result = 0; result < SQ_DELIVERY_RESULT_COUNT; result++)
            S_STORE (s_registry.notifications [channel][result], 0);
    S_STORE (s_registry.store_pending, 0);
    sq_metrics_pingers (NULL, 0);
}


//  --------------------------------------------------------------------------
//  Readers

//  Append value as a label value: backslash, double quote and line feed
//  escaped as the text format asks; a byte that is not part of valid UTF-8
//  (the format is UTF-8) becomes '?'.  0, or -1 out of memory.
int
sq_metrics_append_label (char **text, size_t *length, const char *value)
{
    const unsigned char *at = (const unsigned char *) value;
    int rc = 0;
    while (*at && rc == 0) {
        if (*at == '\\')
            rc = sq_json_appendf (text, length, "\\\\");
        else
        if (*at == '"')
            rc = sq_json_appendf (text, length, "\\\"");
        else
        if (*at == '\n')
            rc = sq_json_appendf (text, length, "\\n");
        else
        if (*at < 0x80)
            rc = sq_json_appendf (text, length, "%c", *at);
        else {
            //  A whole UTF-8 sequence, or '?' for its first byte.
            size_t size = *at >= 0xC2 && *at <= 0xDF ? 2
                        : *at >= 0xE0 && *at <= 0xEF ? 3
                        : *at >= 0xF0 && *at <= 0xF4 ? 4 : 0;
            bool whole = size > 0;
            for (size_t next = 1; whole && next < size; next++)
                whole = (at [next] & 0xC0) == 0x80;
            if (whole && size == 3)     //  no overlong forms, no surrogates
                whole = !(at [0] == 0xE0 && at [1] < 0xA0) && !(at [0] == 0xED && at [1] >= 0xA0);
            if (whole && size == 4)     //  no overlong forms, nothing above U+10FFFF
                whole = !(at [0] == 0xF0 && at [1] < 0x90) && !(at [0] == 0xF4 && at [1] >= 0x90);
            if (whole) {
                rc = sq_json_appendf (text, length, "%.*s", (int) size, (const char *) at);
                at += size;
                continue;
            }
            rc = sq_json_appendf (text, length, "?");
        }
        at++;
    }
    return rc;
}

//  "# HELP name help\n# TYPE name type\n".  0, or -1.
int
sq_metrics_append_family (char **text, size_t *length, const char *name, const char *type,
                          const char *help)
{
    return sq_json_appendf (text, length, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

//  µs as seconds, exactly: "12.000345".
static int
s_append_seconds (char **text, size_t *length, uint64_t us)
{
    return sq_json_appendf (text, length, "%llu.%06llu", (unsigned long long) (us / 1000000),
                            (unsigned long long) (us % 1000000));
}

//  A histogram's series; label (e.g. `phase="dns"`, or "" for none) goes
//  before `le`.  0, or -1.
static int
s_append_histogram (char **text, size_t *length, const char *name, const char *label,
                    const s_histogram_t *histogram, const char *const *le, size_t bound_count)
{
    uint64_t cumulative = 0;
    int rc = 0;
    for (size_t bucket = 0; bucket <= bound_count && rc == 0; bucket++) {
        cumulative += S_LOAD (histogram->buckets [bucket]);
        rc = sq_json_appendf (text, length, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, label,
                              *label ? "," : "", bucket < bound_count ? le [bucket] : "+Inf",
                              (unsigned long long) cumulative);
    }
    const char *open = *label ? "{" : "", *close = *label ? "}" : "";
    rc = rc || sq_json_appendf (text, length, "%s_sum%s%s%s ", name, open, label, close);
    rc = rc || s_append_seconds (text, length, S_LOAD (histogram->sum_us));
    rc = rc || sq_json_appendf (text, length, "\n%s_count%s%s%s %llu\n", name, open, label,
                                close, (unsigned long long) cumulative);
    return rc;
}

//  Per region: pingers by standing and free slots.
typedef struct {
    const char *region;         //  borrowed from the copy of the table
    uint64_t live;              //  healthy pingers
    uint64_t quarantined;       //  pingers in quarantine
    uint64_t free_slots;        //  their credit, summed
} s_region_t;

static int
s_region_compare (const void *left, const void *right)
{
    return strcmp (((const s_region_t *) left)->region, ((const s_region_t *) right)->region);
}

static int
s_append_pingers (char **text, size_t *length)
{
    //  Copy under the lock, then sum and print without it.
    pthread_mutex_lock (&s_registry.pingers_lock);
    size_t count = s_registry.pinger_count;
    sq_metrics_pinger_t *pingers = NULL;
    if (count) {
        pingers = (sq_metrics_pinger_t *) malloc (count * sizeof (sq_metrics_pinger_t));
        assert (pingers);
        memcpy (pingers, s_registry.pingers, count * sizeof (sq_metrics_pinger_t));
    }
    pthread_mutex_unlock (&s_registry.pingers_lock);

    s_region_t *regions = (s_region_t *) calloc (count ? count : 1, sizeof (s_region_t));
    assert (regions);
    size_t region_count = 0;
    for (size_t index = 0; index < count; index++) {
        size_t region = 0;
        while (region < region_count && strcmp (regions [region].region, pingers [index].region))
            region++;
        if (region == region_count)
            regions [region_count++].region = pingers [index].region;
        if (pingers [index].quarantined)
            regions [region].quarantined++;
        else
            regions [region].live++;
        regions [region].free_slots += pingers [index].free_slots;
    }
    qsort (regions, region_count, sizeof (s_region_t), s_region_compare);

    int rc = sq_metrics_append_family (text, length, "squirrel_pingers", "gauge",
                                       "Live pingers the dispatcher knows, per region "
                                       "(\"\" for pingers without one) and standing: live "
                                       "(healthy) or quarantined (its own network judged broken).");
    for (size_t region = 0; region < region_count && rc == 0; region++)
        for (int quarantined = 0; quarantined < 2 && rc == 0; quarantined++) {
            rc = sq_json_appendf (text, length, "squirrel_pingers{region=\"");
            rc = rc || sq_metrics_append_label (text, length, regions [region].region);
            rc = rc || sq_json_appendf (text, length, "\",state=\"%s\"} %llu\n",
                                        quarantined ? "quarantined" : "live",
                                        (unsigned long long) (quarantined
                                        ? regions [region].quarantined : regions [region].live));
        }
    rc = rc || sq_metrics_append_family (text, length, "squirrel_pinger_free_slots", "gauge",
                                         "Checks the live pingers of a region can take now: "
                                         "the credit the dispatcher holds for them, summed.");
    for (size_t region = 0; region < region_count && rc == 0; region++) {
        rc = sq_json_appendf (text, length, "squirrel_pinger_free_slots{region=\"");
        rc = rc || sq_metrics_append_label (text, length, regions [region].region);
        rc = rc || sq_json_appendf (text, length, "\"} %llu\n",
                                    (unsigned long long) regions [region].free_slots);
    }
    free (regions);
    free (pingers);
    return rc;
}

char *
sq_metrics_text (void)
{
    char *text = NULL;
    size_t length = 0;
    int rc = sq_metrics_append_family (&text, &length, "squirrel_check_duration_seconds",
                                       "histogram", "Time each phase of a check took, for every "
                                       "result the collector accepted; a phase the check did "
                                       "not reach (tls on http, ttfb after a refused connect) "
                                       "is not observed.");
    for (int phase = 0; phase < SQ_PHASE_COUNT && rc == 0; phase++) {
        char label [32];
        snprintf (label, sizeof (label), "phase=\"%s\"", s_phase_names [phase]);
        rc = s_append_histogram (&text, &length, "squirrel_check_duration_seconds", label,
                                 &s_registry.phases [phase], s_phase_le, S_PHASE_BUCKETS);
    }
    rc = rc || sq_metrics_append_family (&text, &length, "squirrel_checks_total", "counter",
                                         "Results the collector accepted, by reason (ok for an "
                                         "up verdict).");
    for (int reason = 0; reason < SQ_REASON_COUNT && rc == 0; reason++)
        rc = sq_json_appendf (&text, &length, "squirrel_checks_total{reason=\"%s\"} %llu\n",
                              sq_reason_name ((sq_reason_t) reason),
                              (unsigned long long) S_LOAD (s_registry.checks [reason]));
    rc = rc || sq_metrics_append_family (&text, &length, "squirrel_schedule_lag_seconds",
                                         "histogram", "How late the dispatcher sent each job "
                                         "after it was due (waiting for a pinger with free "
                                         "slots included).");
    rc = rc || s_append_histogram (&text, &length, "squirrel_schedule_lag_seconds", "",
                                   &s_registry.lag, s_lag_le, S_LAG_BUCKETS);
    rc = rc || sq_metrics_append_family (&text, &length, "squirrel_store_pending_writes", "gauge",
                                         "Writes the store writer holds that are not committed "
                                         "yet.");
    rc = rc || sq_json_appendf (&text, &length, "squirrel_store_pending_writes %llu\n",
                                (unsigned long long) S_LOAD (s_registry.store_pending));
    rc = rc || sq_metrics_append_family (&text, &length, "squirrel_frames_refused_total",
                                         "counter", "Frames an actor refused from a socket: "
                                         "malformed, or of a type it does not take.");
    for (int actor = 0; actor < SQ_ACTOR_COUNT && rc == 0; actor++)
        rc = sq_json_appendf (&text, &length, "squirrel_frames_refused_total{actor=\"%s\"} %llu\n",
                              s_actor_names [actor],
                              (unsigned long long) S_LOAD (s_registry.refused [actor]));
    rc = rc || sq_metrics_append_family (&text, &length, "squirrel_notifications_total",
                                         "counter", "Notifications by channel and how they "
                                         "ended: delivered and given_up count notices per "
                                         "receiver, failed counts attempts that failed (their "
                                         "notices wait for a retry).");
    for (int channel = 0; channel < SQ_CHANNEL_COUNT && rc == 0; channel++)
        for (int result = 0; result < SQ_DELIVERY_RESULT_COUNT && rc == 0; result++)
            rc = sq_json_appendf (&text, &length,
                                  "squirrel_notifications_total{channel=\"%s\",result=\"%s\"} "
                                  "%llu\n", s_channel_names [channel], s_result_names [result],
                                  (unsigned long long) S_LOAD (
                                      s_registry.notifications [channel][result]));
    rc = rc || s_append_pingers (&text, &length);
    if (rc) {
        free (text);
        return NULL;
    }
    return text;
}

double
sq_metrics_lag_quantile (double q)
{
    uint64_t counts [S_LAG_BUCKETS + 1];
    uint64_t total = 0;
    for (size_t bucket = 0; bucket <= S_LAG_BUCKETS; bucket++) {
        counts [bucket] = S_LOAD (s_registry.lag.buckets [bucket]);
        total += counts [bucket];
    }
    if (total == 0)
        return -1;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    //  The rank of the observation wanted (1-based), at least the first.
    double rank = q * (double) total;
    uint64_t cumulative = 0;
    for (size_t bucket = 0; bucket < S_LAG_BUCKETS; bucket++) {
        cumulative += counts [bucket];
        if ((double) cumulative >= rank && cumulative > 0)
            return (double) s_lag_us [bucket] / 1000.0;
    }
    return (double) s_lag_us [S_LAG_BUCKETS - 1] / 1000.0;
}
