/*  job_book.h: the dispatcher's decisions as pure code.

    The book holds every site's schedule, every pinger's credit and every
    job that is out; it sends nothing and reads no clock: the dispatcher
    passes the monotonic time in, asks what to do, does it (a ROUTER send)
    and reports back.  No ZeroMQ, no libcurl.

    Regions and probes.  A site is checked from each of its regions every
    round: the book keeps one probe per (site, region), and a probe is what
    the rules below schedule (its own job id, phase, deadline, resends,
    cadence and rechecks).  A probe's job goes only to a live pinger of
    its region that has credit (round robin among them); while its region
    has none, the probe waits, and goes when one comes.  Pingers without a
    region (the hub's own threads) form the region "".
      explicit regions ("eu,us")  one probe per region named, fixed
      every region ("", default)  one probe per region that has a live
                                  pinger: a region that gains its first
                                  live pinger gives every such site a probe
                                  (first due as a new site would be: at its
                                  first due time if that is still ahead,
                                  else now + its spread offset); a region
                                  whose last live pinger goes loses them (a
                                  late DONE for one is stale).  While no
                                  region has a live pinger the last set is
                                  kept, waiting, so a lone hub whose only
                                  pinger blinks behaves as before regions.
    With one region a site has one probe and behaves as a site always did.

    A probe is in one phase at a time:
      IDLE       its next check is due at `at`
      IN_FLIGHT  a job is out; its deadline (timeout + margin) is `at`
      FINISHED   once mode only: checked to a verdict, never again
    One min-heap per region keyed by `at`, whatever the phase, holds that
    region's probes (so a region without credit never holds up another).

    Jobs: a due IDLE probe gets a new job id, attempt 1.  An IN_FLIGHT
    probe whose deadline passes is sent again with attempt + 1, to another
    pinger of its region when one has credit; after max_attempts sends it
    is abandoned and waits for its next round.  DONE for the current job
    ends it: the next round one interval after this one was due (cadence
    kept, unless that moment has passed), a recheck after the delay DONE
    asks for (by another pinger of the region than DONE's avoid when one
    has credit), or, in once mode, FINISHED.

    Quarantine: DONE says whether the pinger that checked is quarantined
    (the collector's pinger health, pinger_health.h).  A quarantined pinger
    gets a job only when no healthy pinger of its region has credit, or on
    the region's probation turn (one send in JOB_BOOK_PROBATION), so that
    its verdicts can show it sound again; a pinger that starts afresh is
    healthy until DONE says otherwise.

    Pingers and credit: READY adds free slots; each job sent takes one;
    a HEARTBEAT, when no job sent to the pinger still lacks its DONE, sets
    the credit to the free slots it reports.  A pinger is gone when it is
    silent for pinger_silence_ms or a send to it fails: one path for both,
    its credit dropped and each job it held due again at once.  A pinger
    that speaks again starts afresh (a pinger that speaks from another
    region than before is gone from the old one and starts afresh).

    Cost: every event is O(log probes) plus O(pingers + regions), except a
    region gaining its first or losing its last live pinger: O(sites).
*/
#ifndef JOB_BOOK_H_INCLUDED
#define JOB_BOOK_H_INCLUDED

#include "sq_proto.h"
#include "sq_counters.h"

#define JOB_BOOK_PINGERS_MAX    256     //  pingers one book tracks
#define JOB_BOOK_REGIONS_MAX    256     //  region names one book knows at once
#define JOB_BOOK_PROBATION      4       //  one send in this many may go to a
                                        //  quarantined pinger of the region

//  Counters of the book's decisions (see sq_counters.h for the convention).
#define JOB_BOOK_COUNTERS(C) \
    C (JOB_BOOK, jobs,          "CHECKs sent, resends included") \
    C (JOB_BOOK, resends,       "of which resends") \
    C (JOB_BOOK, abandoned,     "jobs given up after max_attempts") \
    C (JOB_BOOK, done,          "DONE messages that matched a job") \
    C (JOB_BOOK, stale,         "DONE for a job no longer current") \
    C (JOB_BOOK, unroutable,    "sends a vanished pinger refused") \
    C (JOB_BOOK, gone,          "times a pinger was declared gone") \
    C (JOB_BOOK, finished,      "once mode: probes checked for good") \
    C (JOB_BOOK, probes,        "gauge: schedule entries, one per site and region") \
    C (JOB_BOOK, unplaced,      "region names refused: region table full") \
    C (JOB_BOOK, quarantined,   "times DONE said a pinger went into quarantine") \
    C (JOB_BOOK, released,      "times DONE said a pinger was let back") \
    C (JOB_BOOK, bytes,         "gauge: bytes the book holds (job_book_bytes)")

typedef enum { JOB_BOOK_COUNTERS (SQ_COUNTER_ENUM) JOB_BOOK_COUNTER_COUNT } job_book_counter_t;

//  Settings; zero takes the default from sq_defaults.h.
typedef struct {
    bool once;                  //  sweep: each site until DONE says no recheck
    uint32_t deadline_margin_ms;//  added to a check's timeout
    uint32_t max_attempts;      //  sends of one job
    uint32_t pinger_silence_ms; //  no message for this long = gone
    uint64_t first_job_id;      //  job ids start above this (the dispatcher
                                //  passes the wall clock in µs, so a restarted
                                //  hub's ids stay above those it gave before)
} job_book_rules_t;

//  What the book keeps of a site: its schedule and what a CHECK needs.
typedef struct {
    uint64_t site_id;           //  the site in the store
    char *url;                  //  what to check (owned)
    char *keyword;              //  expected in the body, or NULL (owned)
    sq_ranges_t accept;         //  accepted statuses
    uint32_t timeout_ms;        //  whole check
    uint32_t max_latency_ms;    //  0 = no limit
    uint8_t method;             //  sq_method_t
    uint8_t max_redirects;      //  redirects followed
    bool tls_verify;            //  false: site opted out
    uint32_t interval_ms;       //  time between rounds
    const char *regions;        //  "eu,us": checked from each; NULL or "" =
                                //  every region with a live pinger.  Read by
                                //  job_book_site_put, not kept (NULL in the
                                //  book's copy)
} job_site_t;

//  A pinger as the book sees it.
#define JOB_BOOK_KEY_MAX        64      //  bytes of a peer's key, with its NUL

typedef struct {
    char id [SQ_NAME_MAX + 1];  //  identity on the ROUTER
    char key [JOB_BOOK_KEY_MAX];//  the CURVE key it first spoke with ("" local)
    int64_t credit;             //  CHECKs it can take now
    int64_t outstanding;        //  jobs sent to it still without a DONE
    int64_t last_seen;          //  mono ms of its last message
    int region;                 //  index of its region in the book's table
    bool alive;                 //  false once gone
    bool quarantined;           //  the collector judged its network broken
                                //  (DONE.quarantined): it gets a job only on
                                //  its region's probation turn, or when no
                                //  healthy pinger of the region has credit
} job_pinger_t;

//  What job_book_next asks the dispatcher to do.
typedef enum {
    JOB_NONE,                   //  nothing can go now
    JOB_SEND,                   //  send this job; then job_book_sent or job_book_unroutable
    JOB_ABANDONED               //  this job was given up (already applied): log it
} job_action_t;

//  A job to send.  Its pointers are borrowed from the book and stay valid
//  only until the next call that changes the book.
typedef struct {
    uint32_t probe;             //  the probe's handle in the book
    const job_site_t *site;     //  what to check (borrowed)
    const char *region;         //  the probe's region (borrowed)
    uint64_t job_id;            //  job number
    uint32_t attempt;           //  1 on the first send
    int pinger;                 //  index of the pinger to send to
    const char *pinger_id;      //  its identity (borrowed)
    bool resend;                //  attempt > 1
    int64_t due;                //  mono ms it was due: the round's time, a recheck's,
                                //  or the deadline (or "gone") that made it a resend
} job_t;

//  What a READY or HEARTBEAT meant.
typedef enum {
    PINGER_SEEN,                //  a known, live pinger
    PINGER_JOINED,              //  first message from this id
    PINGER_BACK,                //  a pinger that had been declared gone
    PINGER_REFUSED              //  no room for another pinger or region
} pinger_event_t;

typedef struct _job_book_t job_book_t;

//  New, empty book.
job_book_t *job_book_new (const job_book_rules_t *rules);

//  Destroy; safe twice, nulls the pointer.
void job_book_destroy (job_book_t **self_p);

//  --- Sites: a list is given as begin, put for each site, end.
//  Marks every site as not (yet) in the new list.
void job_book_sites_begin (job_book_t *self);
//  Add or update a site (strings copied).  A known site keeps the schedule
//  of the probes it keeps (a new interval applies from the current round);
//  a region it no longer names loses its probe.  A new site, or a new
//  region of a known one, is first due at now + first_offset_ms (the caller
//  spreads them over the interval; in once mode every new probe is due at
//  once and the offset is ignored).  Returns the region names that could
//  not be placed (region table full; counted as unplaced): 0 normally.
int job_book_site_put (job_book_t *self, const job_site_t *site, int64_t now,
                       uint32_t first_offset_ms);
//  Forget every site not put since begin (a late DONE for one is stale).
void job_book_sites_end (job_book_t *self);
//  Sites in the book.
size_t job_book_site_count (job_book_t *self);
//  A site by id, or NULL (borrowed: valid until the next site_put or
//  sites_end).
const job_site_t *job_book_site (job_book_t *self, uint64_t site_id);
//  When a site's next event is (mono ms): the earliest of its probes' due
//  times or deadlines; -1 if the site is unknown, finished or has no probe.
int64_t job_book_site_at (job_book_t *self, uint64_t site_id);
//  The same for the site's probe of region (NULL = ""): -1 if it has none.
int64_t job_book_probe_at (job_book_t *self, uint64_t site_id, const char *region);
//  Probes of a site (0 if unknown).
int job_book_site_probes (job_book_t *self, uint64_t site_id);

//  --- Pingers
//  A READY (ready true) or HEARTBEAT from pinger id, without a region,
//  with free slots.
pinger_event_t job_book_pinger_message (job_book_t *self, const char *id, bool ready,
                                        uint32_t slots, int64_t now);
//  The same from region (NULL = ""), recording key for a pinger seen for
//  the first time (after job_book_pinger_key_check said yes).
pinger_event_t job_book_pinger_message_keyed (job_book_t *self, const char *id,
                                              const char *key, const char *region, bool ready,
                                              uint32_t slots, int64_t now);
//  Whether pinger id may speak with key (its CURVE public key, "" over
//  inproc/ipc): the first key an id is seen with is its key for good, so
//  one allowed node cannot take over another's name.  A new id is not
//  recorded here (job_book_pinger_message does that).  True when allowed.
bool job_book_pinger_key_check (job_book_t *self, const char *id, const char *key);

//  Declare the pinger at index gone (silence or an unroutable send).
void job_book_pinger_gone (job_book_t *self, int pinger, int64_t now);
//  The next live pinger silent for longer than the rules allow, declared
//  gone by this call; -1 when there is none.  Call until -1.
int job_book_expire_silent (job_book_t *self, int64_t now);
//  A pinger by index (borrowed), or NULL.
const job_pinger_t *job_book_pinger (job_book_t *self, int pinger);
//  Its region's name (borrowed, "" for none), or NULL for no such index.
const char *job_book_pinger_region (job_book_t *self, int pinger);
//  A pinger's index by id, or -1.
int job_book_pinger_find (job_book_t *self, const char *id);
//  Live pingers.
int job_book_pingers_alive (job_book_t *self);
//  Live pingers of region (NULL = "").
int job_book_region_alive (job_book_t *self, const char *region);

//  --- Jobs
//  The next thing to do at now.  JOB_SEND fills job and changes nothing
//  until the caller says how the send went.
job_action_t job_book_next (job_book_t *self, int64_t now, job_t *job);
//  The job went out.
void job_book_sent (job_book_t *self, const job_t *job, int64_t now);
//  The pinger could not be reached: it is gone; call job_book_next again.
void job_book_unroutable (job_book_t *self, const job_t *job, int64_t now);
//  DONE: for the site's probe whose current job is done->job_id (job ids
//  are unique, so the job id alone finds the probe; done->region is not
//  needed), recheck after delay_ms (by another pinger of the region than
//  done->avoid when one has credit), or the next round.  0, or -1 when
//  stale (not a current job of the site, or an unknown site or probe).
int job_book_done (job_book_t *self, const sq_done_t *done, int64_t now);
//  When job_book_next may next have work (mono ms): the earliest event in
//  the schedule while some pinger has credit; INT64_MAX otherwise.
int64_t job_book_wake_at (job_book_t *self);

//  Bytes the book holds, counted from its structures: every array as
//  allocated (sites, id table, probes, heaps, spare capacity included),
//  the URLs and keywords as malloc_usable_size gives them.  Not counted:
//  malloc's own headers of the arrays (16 bytes each).
size_t job_book_bytes (job_book_t *self);

//  The decision counters, JOB_BOOK_COUNTER_COUNT of them (borrowed).
const uint64_t *job_book_counters (job_book_t *self);
//  Their names, in the same order.
extern const char *const job_book_counter_names [];

#endif
