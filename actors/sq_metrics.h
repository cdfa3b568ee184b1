/*  sq_metrics.h: the process's measurements for /metrics.

    One registry per process, written by the actors as things happen and
    read by the HTTP server's threads when Prometheus scrapes.  Counters
    and histogram buckets are C11 atomics (relaxed: a scrape may see one
    check's phases half counted, never a torn number); the pinger table is
    a small copy under a mutex, replaced whole by the dispatcher.  Nothing
    here allocates on the hot path or blocks an actor.

    In workers.mode processes each process has its own registry; /metrics
    shows the one of the process that serves HTTP (docs/ARCHITECTURE.md).
*/
#ifndef SQ_METRICS_H_INCLUDED
#define SQ_METRICS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Phases of a check, as squirrel_check_duration_seconds{phase} names them.
typedef enum {
    SQ_PHASE_DNS,
    SQ_PHASE_CONNECT,
    SQ_PHASE_TLS,
    SQ_PHASE_TTFB,
    SQ_PHASE_TOTAL,
    SQ_PHASE_COUNT
} sq_phase_t;

//  Who refused a frame, as squirrel_frames_refused_total{actor} names it.
typedef enum {
    SQ_ACTOR_DISPATCHER,
    SQ_ACTOR_PINGER,
    SQ_ACTOR_COLLECTOR,
    SQ_ACTOR_NOTIFIER,
    SQ_ACTOR_STORE,
    SQ_ACTOR_FORWARDER,
    SQ_ACTOR_SNAPSHOT,
    SQ_ACTOR_AUTH,
    SQ_ACTOR_COUNT
} sq_actor_kind_t;

//  Notification channels and endings, for squirrel_notifications_total.
//  The channel values are notifier/notice.h's channel_kind_t (notifier.c
//  checks that the two agree).
typedef enum {
    SQ_CHANNEL_WEBHOOK,
    SQ_CHANNEL_SLACK,
    SQ_CHANNEL_DISCORD,
    SQ_CHANNEL_EMAIL,
    SQ_CHANNEL_COMMAND,
    SQ_CHANNEL_COUNT
} sq_channel_kind_t;

typedef enum {
    SQ_DELIVERY_DELIVERED,      //  a notice the receiver took (one per notice and receiver)
    SQ_DELIVERY_FAILED,         //  an attempt failed; its notices wait for a retry
                                //  (one per attempt, whatever it carried)
    SQ_DELIVERY_GIVEN_UP,       //  a notice that will never reach the receiver
                                //  (one per notice and receiver)
    SQ_DELIVERY_RESULT_COUNT
} sq_delivery_result_t;

//  One live pinger as the dispatcher knows it (gone ones are left out).
#define SQ_METRICS_PINGERS_MAX  4096
typedef struct {
    char region [SQ_NAME_MAX + 1];      //  "" for regionless pingers
    bool quarantined;                   //  the collector judged its network broken
    uint32_t free_slots;                //  the credit the dispatcher holds for it
} sq_metrics_pinger_t;

//  Writers (any thread).
//  One accepted result: its reason, and its phases in µs, as RESULT has
//  them.  A phase of 0 was not reached (tls on http, ttfb after a refused
//  connect) and is not observed; total is always observed, so the total
//  histogram's count equals the sum of squirrel_checks_total.
void sq_metrics_check (sq_reason_t reason, uint64_t dns_us, uint64_t connect_us, uint64_t tls_us,
                       uint64_t ttfb_us, uint64_t total_us);
//  A job left later than it was due, by lag_ms (0 when on time; less is
//  taken as 0).
void sq_metrics_lag (int64_t lag_ms);
//  A frame from a socket refused as malformed (or of a type the actor does
//  not take).  Entries of a config list (SITE, OWNER batches on the pipe)
//  are not frames from a peer and are not counted here.
void sq_metrics_refused (sq_actor_kind_t actor);
//  rc, after counting a refusal by actor when rc is SQ_PROTO_MALFORMED:
//  wrapped round an sq_wire_recv_* call, whose refusals all come back as
//  SQ_PROTO_MALFORMED (already logged and counted in the actor's STATS).
static inline int
sq_metrics_refusal (int rc, sq_actor_kind_t actor)
{
    if (rc == SQ_PROTO_MALFORMED)
        sq_metrics_refused (actor);
    return rc;
}
//  A notice delivered or given up, or an attempt failed, on channel (what
//  each result counts: sq_delivery_result_t).
void sq_metrics_notification (sq_channel_kind_t channel, sq_delivery_result_t result);
//  Writes the store writer holds that are not committed yet.
void sq_metrics_store_pending (uint64_t pending);
//  The dispatcher's live pingers, the table replaced whole (count at most
//  SQ_METRICS_PINGERS_MAX; more are cut).  With several dispatchers in one
//  process (tests), the last call wins.
void sq_metrics_pingers (const sq_metrics_pinger_t *pingers, size_t count);

//  Readers.
//  The registry's families in Prometheus text exposition format (those
//  that do not need the store), with HELP and TYPE lines: the caller's to
//  free; NULL out of memory.  broker/metrics_page.c adds the per-site
//  families from the store.
char *sq_metrics_text (void);
//  Quantile q (0..1) of the schedule lag since start, in ms, read from the
//  histogram's buckets: the upper bound of the bucket holding it (no
//  interpolation, so an upper estimate); when it lies beyond the last
//  finite bound (60 s), that bound, as PromQL's histogram_quantile does;
//  -1 when nothing was observed.  For the dispatcher's STATS and the
//  benchmarks.
double sq_metrics_lag_quantile (double q);
//  Forget everything (tests).
void sq_metrics_reset (void);

//  For other pages of metrics (broker/metrics_page.c), on a buffer grown by
//  sq_json_appendf (sq_json.h).  Each returns 0, or -1 out of memory.
//  value as a label value, without its quotes: backslash, double quote
//  and line feed escaped as the text format asks; a byte that is not part
//  of valid UTF-8 written as '?'.
int sq_metrics_append_label (char **text, size_t *length, const char *value);
//  A family's "# HELP" and "# TYPE" lines (help must hold no backslash or
//  line feed).
int sq_metrics_append_family (char **text, size_t *length, const char *name, const char *type,
                              const char *help);

#ifdef __cplusplus
}
#endif

#endif
