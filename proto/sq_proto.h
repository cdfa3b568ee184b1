/*  sq_proto.h: the UptimeSquirrel wire contract.

    Every message that crosses a ZeroMQ socket is declared once, below, as a
    list of fields with their type and limits.  The C structs and the codec
    (sq_proto.c) are both derived from these lists, so adding a field means
    editing one line here.  docs/ARCHITECTURE.md describes who sends what.

    On the wire a message is one ZeroMQ frame holding one msgpack array:
        [ version, type, field1, field2, ... ]
    in the order declared.  A decoder refuses an unknown version, an unknown
    type, a wrong field count, a field of the wrong msgpack type or out of
    its range, a string that is too long or holds a NUL byte, trailing bytes,
    and any frame longer than SQ_FRAME_MAX.  Strings are copied out into the
    fixed buffers of the structs, so a decoded message never points into the
    frame it came from.
*/
#ifndef SQ_PROTO_H_INCLUDED
#define SQ_PROTO_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Version of the wire contract; bump it when a field list changes.
#define SQ_PROTO_VERSION    3

//  Limits.  Anything larger is malformed.
#define SQ_FRAME_MAX        8192    //  bytes in one encoded message
#define SQ_URL_MAX          2048    //  bytes in a URL
#define SQ_KEYWORD_MAX      256     //  bytes in an expected keyword
#define SQ_NAME_MAX         64      //  bytes in a pinger id or region name
#define SQ_TEXT_MAX         256     //  bytes in a short error or reason text
#define SQ_RANGES_MAX       8       //  accepted HTTP status ranges per check
#define SQ_ATTEMPT_MAX      100     //  attempts of one job
#define SQ_TIMEOUT_MAX_MS   600000  //  longest check timeout: 10 minutes
#define SQ_SLOTS_MAX        1000000 //  free slots one pinger may announce
#define SQ_INTERVAL_MAX_MS  86400000 // longest interval between checks: a day
#define SQ_THRESHOLD_MAX    100     //  failure_threshold, success_threshold
#define SQ_FETCH_REPLY_MAX  100     //  ALERTs in one answer to a FETCH
#define SQ_CHANNEL_URL_MAX  1024    //  bytes in a Slack or Discord webhook URL
#define SQ_EMAIL_MAX        254     //  bytes in an email address
#define SQ_COMMAND_MAX      512     //  bytes in a command channel's path
#define SQ_TEMPLATE_MAX     1024    //  bytes in a webhook body template
#define SQ_WINDOWS_MAX      4       //  maintenance windows per site or owner
#define SQ_WINDOW_LENGTH_MAX (31 * 86400)   //  longest maintenance window, seconds
#define SQ_WINDOW_EVERY_MAX (366 * 86400)   //  longest repeat period, seconds
#define SQ_DAYS_MAX         4       //  certificate warning thresholds per site
#define SQ_DAYS_VALUE_MAX   3650    //  largest of them, in days
#define SQ_REMIND_MAX_MS    (7 * 86400000U) //  longest reminder interval: a week
#define SQ_FLAP_CHANGES_MAX 100     //  flap_changes
#define SQ_REGIONS_MAX      16      //  regions one site is checked from
#define SQ_REGION_LIST_MAX  (SQ_REGIONS_MAX * (SQ_NAME_MAX + 1))    //  "eu,us,asia"

//  HTTP method a check uses.
typedef enum {
    SQ_METHOD_HEAD = 0,         //  headers only; the default, spares bandwidth
    SQ_METHOD_GET = 1,          //  body read, capped, and discarded
    SQ_METHOD_COUNT
} sq_method_t;

//  Why a check came out as it did.  Every RESULT has exactly one.
typedef enum {
    SQ_REASON_OK = 0,           //  up: every expectation met
    SQ_REASON_DNS,              //  name did not resolve
    SQ_REASON_CONNECT,          //  TCP connect refused, reset or unreachable
    SQ_REASON_TLS,              //  handshake or certificate failure
    SQ_REASON_TIMEOUT,          //  no complete answer within the timeout
    SQ_REASON_HTTP_STATUS,      //  status outside the accepted set
    SQ_REASON_KEYWORD,          //  expected keyword missing from the body
    SQ_REASON_TOO_SLOW,         //  answered, but slower than max latency
    SQ_REASON_REDIRECTS,        //  too many redirects
    SQ_REASON_PROTOCOL,         //  the server did not speak HTTP properly
    SQ_REASON_COUNT
} sq_reason_t;

//  State of a site as the collector sees it.
typedef enum {
    SQ_STATE_UNKNOWN = 0,       //  not yet checked
    SQ_STATE_UP,                //  last verdict up
    SQ_STATE_SUSPECT,           //  failed, being rechecked before alerting
    SQ_STATE_DOWN,              //  failed failure_threshold times in a row (in at
                                //  least the quorum of its regions)
    SQ_STATE_DEGRADED,          //  down in some regions, fewer than the quorum
    SQ_STATE_UNMONITORED,       //  fewer regions can check it than its quorum needs
    SQ_STATE_COUNT
} sq_state_t;

//  A set of accepted HTTP status ranges, e.g. 200-399 and 401.
typedef struct {
    uint8_t count;                  //  ranges in use, 0..SQ_RANGES_MAX
    uint16_t low [SQ_RANGES_MAX];   //  first accepted status of each range
    uint16_t high [SQ_RANGES_MAX];  //  last accepted status of each range
} sq_ranges_t;

//  A maintenance window: from start_s for length_s seconds, and again every
//  every_s seconds after that when every_s is not 0.
typedef struct {
    int64_t start_s;                //  unix seconds of the first start
    uint32_t length_s;              //  1..SQ_WINDOW_LENGTH_MAX
    uint32_t every_s;               //  0 = once; else >= length_s, <= SQ_WINDOW_EVERY_MAX
} sq_window_t;

typedef struct {
    uint8_t count;                  //  windows in use, 0..SQ_WINDOWS_MAX
    sq_window_t window [SQ_WINDOWS_MAX];
} sq_windows_t;

//  Day counts, e.g. the certificate warnings [14, 3].
typedef struct {
    uint8_t count;                  //  values in use, 0..SQ_DAYS_MAX
    uint16_t day [SQ_DAYS_MAX];     //  1..SQ_DAYS_VALUE_MAX each
} sq_days_t;

//  Field lists.  F (S, TYPE, name, min, max): S is the struct, TYPE one of
//  U64 U32 U16 ENUM BOOL I64 STR RANGES WINDOWS DAYS.  For numbers min..max
//  is the accepted range; for STR it is the length range in bytes; for
//  RANGES, WINDOWS and DAYS the number of entries.

//  What one check of a site asks: the check options, declared once and
//  shared by CHECK (one job) and SITE (the site model).  A new check
//  option is one line here plus its use (config key, pinger).
#define SQ_CHECK_SPEC_FIELDS(F, S) \
    F (S, STR,    url,          1, SQ_URL_MAX)          /* http:// or https:// */ \
    F (S, ENUM,   method,       0, SQ_METHOD_COUNT - 1) /* sq_method_t */ \
    F (S, U32,    timeout_ms,   1, SQ_TIMEOUT_MAX_MS)   /* whole check, all phases */ \
    F (S, RANGES, accept,       0, SQ_RANGES_MAX)       /* accepted statuses; none = below 400 */ \
    F (S, STR,    keyword,      0, SQ_KEYWORD_MAX)      /* required in body; "" = none */ \
    F (S, U32,    max_latency_ms, 0, SQ_TIMEOUT_MAX_MS) /* 0 = no latency limit */ \
    F (S, U32,    max_redirects, 0, 50)                 /* redirects followed */ \
    F (S, BOOL,   tls_verify,   0, 1)                   /* false: site opted out */

//  CHECK: dispatcher -> pinger.  Check one site once.
#define SQ_CHECK_FIELDS(F, S) \
    F (S, U64,    job_id,       1, UINT64_MAX)          /* dispatcher's job number */ \
    F (S, U32,    attempt,      1, SQ_ATTEMPT_MAX)      /* 1 on first send, +1 per resend */ \
    F (S, U64,    site_id,      1, UINT64_MAX)          /* the site in the store */ \
    F (S, U64,    token,        0, UINT64_MAX)          /* the dispatcher's mark of a job it issued */ \
    SQ_CHECK_SPEC_FIELDS (F, S)

//  SITE: supervisor (config, reload, later the API) -> dispatcher,
//  collector, notifier.  The site model: one site, whole, with when its
//  owner is told (the owner's channels are in OWNER).  A list is a batch
//  of these (see sq_actor.h).
#define SQ_SITE_FIELDS(F, S) \
    F (S, U64,    site_id,      1, UINT64_MAX)          /* the site in the store */ \
    F (S, STR,    owner,        0, SQ_NAME_MAX)         /* owner name; "" = none */ \
    F (S, U32,    interval_ms,  1, SQ_INTERVAL_MAX_MS)  /* time between rounds */ \
    F (S, U32,    failure_threshold, 1, SQ_THRESHOLD_MAX) /* failures in a row before DOWN */ \
    F (S, U32,    success_threshold, 1, SQ_THRESHOLD_MAX) /* successes in a row before UP */ \
    SQ_CHECK_SPEC_FIELDS (F, S) \
    F (S, U32,    remind_every_ms, 0, SQ_REMIND_MAX_MS) /* reminders while down; 0 = never */ \
    F (S, U32,    flap_changes, 0, SQ_FLAP_CHANGES_MAX) /* more changes than this in ... */ \
    F (S, U32,    flap_window_ms, 0, SQ_INTERVAL_MAX_MS) /* ... this window is flapping; 0 = off */ \
    F (S, DAYS,   cert_warn_days, 0, SQ_DAYS_MAX)       /* warn this many days before expiry */ \
    F (S, WINDOWS, maintenance, 0, SQ_WINDOWS_MAX)      /* no notification inside these */ \
    F (S, STR,    regions,      0, SQ_REGION_LIST_MAX)  /* "eu,us": checked from each; "" = every live region */ \
    F (S, U32,    quorum,       0, SQ_REGIONS_MAX)      /* regions that must see it down; 0 = majority */ \
    F (S, BOOL,   canary,       0, 1)                   /* a canary: judges pingers, never a site */

//  Canaries are SITEs with canary set and ids from here up (the store's
//  site ids count from 1 and never get near): checked like sites, never
//  stored, never alerted.
#define SQ_CANARY_ID_BASE   (UINT64_C (1) << 62)

//  OWNER: supervisor -> notifier.  Someone told of their sites' changes,
//  and through what.  Empty strings are channels the owner does not use.
#define SQ_OWNER_FIELDS(F, S) \
    F (S, STR,    name,         1, SQ_NAME_MAX)         /* what SITE.owner names */ \
    F (S, STR,    email,        0, SQ_EMAIL_MAX)        /* address, sent through smtp */ \
    F (S, STR,    webhook,      0, SQ_URL_MAX)          /* generic JSON (or template) POST */ \
    F (S, STR,    webhook_template, 0, SQ_TEMPLATE_MAX) /* body template; "" = our JSON */ \
    F (S, STR,    slack,        0, SQ_CHANNEL_URL_MAX)  /* Slack incoming webhook */ \
    F (S, STR,    discord,      0, SQ_CHANNEL_URL_MAX)  /* Discord webhook */ \
    F (S, STR,    command,      0, SQ_COMMAND_MAX)      /* program run with the alert in its env */ \
    F (S, BOOL,   quiet,        0, 1)                   /* no reminders */ \
    F (S, WINDOWS, maintenance, 0, SQ_WINDOWS_MAX)      /* no notification inside these */ \
    F (S, BOOL,   notify_degraded, 0, 1)                /* told of DEGRADED too */

//  RESULT: pinger -> collector.  The verdict of one check.
#define SQ_RESULT_FIELDS(F, S) \
    F (S, U64,    job_id,       1, UINT64_MAX)          /* copied from the CHECK */ \
    F (S, U32,    attempt,      1, SQ_ATTEMPT_MAX)      /* copied from the CHECK */ \
    F (S, U64,    site_id,      1, UINT64_MAX)          /* copied from the CHECK */ \
    F (S, U64,    token,        0, UINT64_MAX)          /* copied from the CHECK */ \
    F (S, STR,    pinger_id,    1, SQ_NAME_MAX)         /* which pinger checked */ \
    F (S, STR,    region,       0, SQ_NAME_MAX)         /* where it checked from */ \
    F (S, BOOL,   up,           0, 1)                   /* the verdict */ \
    F (S, ENUM,   reason,       0, SQ_REASON_COUNT - 1) /* sq_reason_t */ \
    F (S, U16,    http_status,  0, 999)                 /* final status; 0 = none */ \
    F (S, ENUM,   method,       0, SQ_METHOD_COUNT - 1) /* method that decided */ \
    F (S, U64,    queue_us,     0, UINT64_MAX)          /* waiting inside the pinger */ \
    F (S, U64,    dns_us,       0, UINT64_MAX)          /* name lookup */ \
    F (S, U64,    connect_us,   0, UINT64_MAX)          /* TCP connect */ \
    F (S, U64,    tls_us,       0, UINT64_MAX)          /* TLS handshake */ \
    F (S, U64,    ttfb_us,      0, UINT64_MAX)          /* request sent to first byte */ \
    F (S, U64,    total_us,     0, UINT64_MAX)          /* whole check */ \
    F (S, I64,    cert_expiry,  0, INT64_MAX)           /* unix seconds; 0 = none */ \
    F (S, I64,    at,           0, INT64_MAX)           /* wall clock, unix µs */ \
    F (S, STR,    error,        0, SQ_TEXT_MAX)         /* short error text */

//  A change of a site's state, declared once and shared by ALERT (a
//  published change, with its sequence number) and CHANGE (one only stored).
#define SQ_STATE_CHANGE_FIELDS(F, S) \
    F (S, U64,    site_id,      1, UINT64_MAX)          /* the site in the store */ \
    F (S, STR,    url,          1, SQ_URL_MAX)          /* the site's URL */ \
    F (S, ENUM,   previous,     0, SQ_STATE_COUNT - 1)  /* sq_state_t before */ \
    F (S, ENUM,   state,        0, SQ_STATE_COUNT - 1)  /* sq_state_t now */ \
    F (S, I64,    since,        0, INT64_MAX)           /* unix µs the new state began */ \
    F (S, ENUM,   reason,       0, SQ_REASON_COUNT - 1) /* reason of the deciding check */ \
    F (S, STR,    detail,       0, SQ_TEXT_MAX)         /* short human text */ \
    F (S, I64,    previous_since, 0, INT64_MAX)         /* unix µs the previous state began; 0 unknown */ \
    F (S, U16,    http_status,  0, 999)                 /* the deciding check's status; 0 = none */ \
    F (S, U64,    dns_us,       0, UINT64_MAX)          /* its phases, as in RESULT */ \
    F (S, U64,    connect_us,   0, UINT64_MAX) \
    F (S, U64,    tls_us,       0, UINT64_MAX) \
    F (S, U64,    ttfb_us,      0, UINT64_MAX) \
    F (S, U64,    total_us,     0, UINT64_MAX) \
    F (S, STR,    regions,      0, SQ_REGION_LIST_MAX)  /* "eu:timeout,us:connect": where it is down, why */

//  ALERT: collector -> feed (PUB), and -> store, which keeps it by seq.  A
//  published change of state: DOWN, or back UP.
#define SQ_ALERT_FIELDS(F, S) \
    F (S, U64,    seq,          1, UINT64_MAX)          /* feed sequence, +1 per alert, never reused */ \
    SQ_STATE_CHANGE_FIELDS (F, S)

//  CHANGE: collector -> store.  A change of state that is not published
//  (to or from SUSPECT, UNKNOWN -> UP): kept as the site's state, no seq.
#define SQ_CHANGE_FIELDS(F, S) SQ_STATE_CHANGE_FIELDS (F, S)

//  FETCH: watcher -> snapshot service.  The stored alerts with since < seq,
//  and seq <= until when until is not 0, in order; at most
//  SQ_FETCH_REPLY_MAX per answer.
#define SQ_FETCH_FIELDS(F, S) \
    F (S, U64,    since,        0, UINT64_MAX)          /* last seq the asker has */ \
    F (S, U64,    until,        0, UINT64_MAX)          /* last seq wanted; 0 = the newest */

//  FETCHED: snapshot service -> watcher, after the ALERTs of one answer.
#define SQ_FETCHED_FIELDS(F, S) \
    F (S, U64,    last,         0, UINT64_MAX)          /* seq of the last ALERT sent; since if none */ \
    F (S, BOOL,   more,         0, 1)                   /* more in the range: ask again since last */

//  READY: pinger -> dispatcher.  Credit: I can take this many more jobs.
#define SQ_READY_FIELDS(F, S) \
    F (S, STR,    pinger_id,    1, SQ_NAME_MAX)         /* unique per pinger */ \
    F (S, STR,    region,       0, SQ_NAME_MAX)         /* where it checks from */ \
    F (S, U32,    free_slots,   0, SQ_SLOTS_MAX)        /* new credit */

//  HEARTBEAT: pinger -> dispatcher.  Still alive; total free slots now.
#define SQ_HEARTBEAT_FIELDS(F, S) SQ_READY_FIELDS (F, S)

//  DONE: collector -> dispatcher.  A job's result is in: schedule the site
//  again from that region, at its interval or, when it is suspect there,
//  after delay_ms, by another pinger of the region than avoid if one can.
//  It also says whether the pinger that checked is in quarantine (its own
//  network judged broken), so the dispatcher sends it fewer jobs.
#define SQ_DONE_FIELDS(F, S) \
    F (S, U64,    job_id,       1, UINT64_MAX)          /* the job that finished */ \
    F (S, U64,    site_id,      1, UINT64_MAX)          /* its site */ \
    F (S, BOOL,   recheck,      0, 1)                   /* check again soon */ \
    F (S, U32,    delay_ms,     0, SQ_TIMEOUT_MAX_MS)   /* how soon, if recheck */ \
    F (S, STR,    region,       0, SQ_NAME_MAX)         /* the region that checked */ \
    F (S, STR,    avoid,        0, SQ_NAME_MAX)         /* recheck: not this pinger if another can; "" */ \
    F (S, STR,    pinger,       0, SQ_NAME_MAX)         /* the pinger that checked; "" unknown */ \
    F (S, BOOL,   quarantined,  0, 1)                   /* that pinger is in quarantine now */

//  Message list.  M (NAME, name, id): the type id is on the wire, never reuse one.
#define SQ_MESSAGES(M) \
    M (CHECK,     check,     1) \
    M (RESULT,    result,    2) \
    M (ALERT,     alert,     3) \
    M (READY,     ready,     4) \
    M (HEARTBEAT, heartbeat, 5) \
    M (DONE,      done,      6) \
    M (SITE,      site,      7) \
    M (CHANGE,    change,    8) \
    M (FETCH,     fetch,     9) \
    M (FETCHED,   fetched,   10) \
    M (OWNER,     owner,     11)

//  C types of the field kinds.
#define SQ_CTYPE_U64(name, max)     uint64_t name;
#define SQ_CTYPE_U32(name, max)     uint32_t name;
#define SQ_CTYPE_U16(name, max)     uint16_t name;
#define SQ_CTYPE_ENUM(name, max)    uint8_t name;
#define SQ_CTYPE_BOOL(name, max)    bool name;
#define SQ_CTYPE_I64(name, max)     int64_t name;
#define SQ_CTYPE_STR(name, max)     char name [(max) + 1];
#define SQ_CTYPE_RANGES(name, max)  sq_ranges_t name;
#define SQ_CTYPE_WINDOWS(name, max) sq_windows_t name;
#define SQ_CTYPE_DAYS(name, max)    sq_days_t name;
#define SQ_FIELD_CTYPE(S, type, name, min, max) SQ_CTYPE_##type (name, max)

#define SQ_MESSAGE_STRUCT(NAME, name, id) \
    typedef struct { SQ_##NAME##_FIELDS (SQ_FIELD_CTYPE, _) } sq_##name##_t;
SQ_MESSAGES (SQ_MESSAGE_STRUCT)

#define SQ_MESSAGE_ID(NAME, name, id) SQ_MSG_##NAME = id,
typedef enum {
    SQ_MSG_NONE = 0,
    SQ_MESSAGES (SQ_MESSAGE_ID)
} sq_msg_type_t;

//  One decoded message of any type.
typedef struct {
    sq_msg_type_t type;             //  which member of the union is valid
    union {
#define SQ_MESSAGE_MEMBER(NAME, name, id) sq_##name##_t name;
        SQ_MESSAGES (SQ_MESSAGE_MEMBER)
#undef SQ_MESSAGE_MEMBER
    };
} sq_msg_t;

//  Decoder results.
#define SQ_PROTO_OK             0   //  decoded, every field checked
#define SQ_PROTO_MALFORMED     -1   //  not a valid message: drop and count it
#define SQ_PROTO_BAD_VERSION   -2   //  well formed, but a version we don't speak

//  Encode msg into buf (at least SQ_FRAME_MAX bytes).  Returns the encoded
//  size, or -1 if a field breaks its declared limits (a programming error
//  or unchecked input upstream; nothing is sent).
int sq_msg_encode (const sq_msg_t *msg, uint8_t *buf, size_t buf_size);

//  Decode one frame into msg.  Returns SQ_PROTO_OK, SQ_PROTO_MALFORMED or
//  SQ_PROTO_BAD_VERSION; on failure writes a short reason into why (if not
//  NULL) and leaves msg->type at SQ_MSG_NONE.
int sq_msg_decode (const void *data, size_t size, sq_msg_t *msg,
                   char *why, size_t why_size);

//  Names, for logs and JSON.  Never NULL; "?" for an out-of-range value.
const char *sq_msg_type_name (sq_msg_type_t type);
const char *sq_method_name (sq_method_t method);
const char *sq_reason_name (sq_reason_t reason);
const char *sq_state_name (sq_state_t state);

//  Parse names back; -1 if unknown.  Case-insensitive for methods.
int sq_method_from_name (const char *name);
int sq_reason_from_name (const char *name);

//  Parse "200-399,401" into ranges.  Returns 0, or -1 with *error_at set to
//  the offset of the first bad character.
int sq_ranges_parse (const char *text, sq_ranges_t *ranges, size_t *error_at);

//  True when status is accepted: in a range, or below 400 when there are
//  no ranges.
bool sq_ranges_accept (const sq_ranges_t *ranges, unsigned status);

//  The state change an ALERT carries, as a CHANGE (every field but seq).
void sq_change_from_alert (sq_change_t *change, const sq_alert_t *alert);

//  And back: the ALERT for a CHANGE with seq.
void sq_alert_from_change (sq_alert_t *alert, uint64_t seq, const sq_change_t *change);

//  True when window holds to the declared limits (see sq_window_t).
bool sq_window_valid (const sq_window_t *window);

//  True when unix_s falls inside one of the windows.
bool sq_windows_contain (const sq_windows_t *windows, int64_t unix_s);

//  Wall clock now in unix microseconds.
int64_t sq_wallclock_us (void);

#ifdef __cplusplus
}
#endif

#endif
