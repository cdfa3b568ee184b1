/*  pinger.c: the check engine.  See pinger.h and docs/ARCHITECTURE.md.

    One loop polls, with one zmq_poll call: the actor pipe, the DEALER that
    brings CHECKs, and every socket libcurl asks us to watch.  libcurl's
    socket callback keeps the poll array up to date (each socket knows its
    slot through curl_multi_assign, so adding and removing are O(1)), and
    its timer callback sets one deadline.  No other timers exist: the
    heartbeat is a second deadline compared in the same place.

    Trade-offs, stated plainly:
    - Every check opens a fresh connection and resolves the name afresh
      (FRESH_CONNECT, FORBID_REUSE, DNS cache off): a monitor must meet the
      site as a new visitor would, and time DNS, connect and TLS each time.
    - We cap live transfers ourselves and never let libcurl queue a handle:
      time queued inside libcurl counts against CURLOPT_TIMEOUT and would
      turn a busy pinger's checks into false timeouts.  Jobs that arrive
      beyond our free slots wait in our own queue, and that wait is reported
      as queue_us and does not count against the site's timeout.
    - HEAD is the default method.  A 405 or 501 to HEAD is a server that
      refuses the method, not one that is down: the same handle is sent
      again as GET, with what is left of the timeout, and GET decides.

    Who decides what: this file only moves bytes and drives libcurl.  The
    credit book (credit.h) says whether a CHECK starts, waits or is refused,
    which waiting job takes a freed slot, and how much credit READY and
    HEARTBEAT announce.  The verdict (verdict.h) says, from the facts
    libcurl gives about a finished request, whether to send a RESULT (up or
    down, and why), to send the request again as GET, or to send nothing
    because the fault is ours.
*/
#include "pinger.h"
#include "sq_wire.h"
#include "sq_metrics.h"
#include "credit.h"
#include "verdict.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define FIXED_ITEMS     2       //  pipe and jobs DEALER lead the poll array

//  One check in progress.  Lives in a pool; the easy handle is reused.
typedef struct {
    CURL *easy;                 //  libcurl handle, reused check after check
    unsigned slot;              //  our index in the pool (credit.h's slot)
    sq_check_t job;             //  the CHECK being worked on
    sq_method_t method;         //  method of the request in flight
    int64_t started_us;         //  monotonic, when the first request began
    int64_t queue_us;           //  time spent in our queue before starting
    uint64_t body_bytes;        //  body bytes seen so far
    bool keyword_found;         //  the expected keyword was seen
    bool body_stopped;          //  we ended the body read on purpose
    size_t carry_length;        //  bytes kept from the previous body chunk
    char carry [SQ_KEYWORD_MAX];//  tail of the previous chunk, for keywords
                                //  split across chunks
    char error [CURL_ERROR_SIZE];   //  libcurl's error text
    int64_t retry_at;           //  monotonic ms of its next try after a local
                                //  shortage; 0 = not waiting
    int64_t short_since_us;     //  monotonic, its first shortage; 0 = none
    unsigned retries;           //  tries lost to shortages so far
    int open_errno;             //  errno of a socket () that failed this try
                                //  (libcurl does not report it); 0 = none
    size_t header_bytes;        //  response header bytes of this request
    bool headers_cut;           //  ... passed PINGER_HEADER_CAP: we stopped
} check_t;

typedef struct {
    zsock_t *pipe;              //  actor pipe
    zsock_t *jobs;              //  DEALER to the dispatcher
    zsock_t *results;           //  PUSH to the collector
    CURLM *multi;               //  the multi handle, socket interface
    char pinger_id [SQ_NAME_MAX + 1];   //  our name and DEALER identity
    char region [SQ_NAME_MAX + 1];      //  where we check from
    char refusal [SQ_NAME_MAX + 64];    //  log prefix for refused frames
    char *ca_file;              //  extra CA bundle, or NULL
    unsigned concurrency;       //  live transfers at most
    credit_t *credit;           //  slots, waiting queue and credit owed
    check_t *pool;              //  concurrency check_t, one per slot
    zmq_pollitem_t *items;      //  poll array: pipe, jobs, then curl sockets
    unsigned item_count;        //  items in use
    unsigned item_cap;          //  items allocated
    int64_t curl_deadline;      //  monotonic ms for curl's timer, -1 = none
    unsigned retrying;          //  checks waiting for retry_at
    int64_t retry_next;         //  monotonic ms of the earliest retry_at, or -1
    int64_t shortage_logged;    //  monotonic ms of the last shortage warning
    int64_t heartbeat_at;       //  monotonic ms of the next heartbeat
    unsigned heartbeat_ms;      //  interval between heartbeats
    bool terminated;            //  $TERM received
    uint64_t counters [PINGER_COUNTER_COUNT];   //  see PINGER_COUNTERS
} self_t;

static const char *const s_counter_names [] = { PINGER_COUNTERS (SQ_COUNTER_STRING) };


//  --------------------------------------------------------------------------
//  Poll array, kept up to date by libcurl's socket callback

static int
s_socket_callback (CURL *easy, curl_socket_t fd, int what, void *user, void *socket_data)
{
    self_t *self = (self_t *) user;
    intptr_t slot = (intptr_t) socket_data;     //  index + 1, 0 = not yet known
    if (what == CURL_POLL_REMOVE) {
        if (slot) {
            unsigned index = (unsigned) slot - 1;
            unsigned last = self->item_count - 1;
            if (index != last) {
                self->items [index] = self->items [last];
                curl_multi_assign (self->multi, self->items [index].fd,
                                   (void *) (intptr_t) (index + 1));
            }
            self->item_count--;
            curl_multi_assign (self->multi, fd, NULL);
        }
        return 0;
    }
    if (!slot) {
        if (self->item_count == self->item_cap) {
            unsigned cap = self->item_cap * 2;
            zmq_pollitem_t *items = realloc (self->items, cap * sizeof (zmq_pollitem_t));
            if (!items)
                return -1;
            self->items = items;
            self->item_cap = cap;
        }
        slot = ++self->item_count;
        curl_multi_assign (self->multi, fd, (void *) slot);
    }
    zmq_pollitem_t *item = &self->items [slot - 1];
    item->socket = NULL;
    item->fd = fd;
    item->events = (short) (((what & CURL_POLL_IN) ? ZMQ_POLLIN : 0)
                          | ((what & CURL_POLL_OUT) ? ZMQ_POLLOUT : 0));
    item->revents = 0;
    return 0;
}

static int
s_timer_callback (CURLM *multi, long timeout_ms, void *user)
{
    self_t *self = (self_t *) user;
    self->curl_deadline = timeout_ms < 0 ? -1 : zclock_mono () + timeout_ms;
    return 0;
}


//  --------------------------------------------------------------------------
//  Body handling: count, look for the keyword, stop at the cap

static size_t
s_body_callback (char *data, size_t size, size_t count, void *user)
{
    check_t *check = (check_t *) user;
    size_t length = size * count;
    check->body_bytes += length;
    const char *keyword = check->job.keyword;
    size_t keyword_length = strlen (keyword);
    if (keyword_length && !check->keyword_found) {
        //  Search the tail of the last chunk joined to the head of this one,
        //  then this chunk; keep this chunk's tail for the next call.
        if (check->carry_length) {
            char joined [2 * SQ_KEYWORD_MAX];
            size_t head = length < keyword_length - 1 ? length : keyword_length - 1;
            memcpy (joined, check->carry, check->carry_length);
            memcpy (joined + check->carry_length, data, head);
            if (memmem (joined, check->carry_length + head, keyword, keyword_length))
                check->keyword_found = true;
        }
        if (!check->keyword_found && memmem (data, length, keyword, keyword_length))
            check->keyword_found = true;
        size_t keep = keyword_length - 1;
        if (length >= keep) {
            memcpy (check->carry, data + length - keep, keep);
            check->carry_length = keep;
        }
        else {
            size_t total = check->carry_length + length;
            if (total > keep) {
                memmove (check->carry, check->carry + (total - keep), check->carry_length - (total - keep));
                check->carry_length -= total - keep;
            }
            memcpy (check->carry + check->carry_length, data, length);
            check->carry_length += length;
        }
    }
    //  Stop reading as soon as nothing more can change the verdict.
    if (keyword_length == 0 || check->keyword_found || check->body_bytes >= PINGER_BODY_CAP) {
        check->body_stopped = true;
        return 0;               //  libcurl ends the transfer with CURLE_WRITE_ERROR
    }
    return length;
}


//  --------------------------------------------------------------------------
//  Starting a check

static void
s_configure_request (check_t *check, long timeout_ms)
{
    CURL *easy = check->easy;
    curl_easy_setopt (easy, CURLOPT_NOBODY, check->method == SQ_METHOD_HEAD ? 1L : 0L);
    if (check->method == SQ_METHOD_GET)
        curl_easy_setopt (easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt (easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    check->body_bytes = 0;
    check->keyword_found = false;
    check->body_stopped = false;
    check->carry_length = 0;
    check->error [0] = '\0';
    check->open_errno = 0;
    check->header_bytes = 0;
    check->headers_cut = false;
}

//  libcurl's socket opener, ours only to see why a socket could not be
//  made: EMFILE is our limit, not the site's outage.
static curl_socket_t
s_open_socket (void *user, curlsocktype purpose, struct curl_sockaddr *address)
{
    check_t *check = (check_t *) user;
    (void) purpose;
    curl_socket_t fd = socket (address->family, address->socktype | SOCK_CLOEXEC,
                               address->protocol);
    if (fd == CURL_SOCKET_BAD)
        check->open_errno = errno;
    return fd;
}

//  Response headers, counted: past PINGER_HEADER_CAP bytes the peer is
//  not speaking HTTP as a site should, and we stop reading.
static size_t
s_header_callback (char *data, size_t size, size_t count, void *user)
{
    (void) data;
    check_t *check = (check_t *) user;
    size_t length = size * count;
    check->header_bytes += length;
    if (check->header_bytes > PINGER_HEADER_CAP) {
        check->headers_cut = true;
        return 0;               //  libcurl ends the transfer with CURLE_WRITE_ERROR
    }
    return length;
}

//  A handle for one pool entry, with the options every check shares.
static CURL *
s_easy_new (self_t *self, check_t *check)
{
    CURL *easy = curl_easy_init ();
    if (!easy)
        return NULL;
    curl_easy_setopt (easy, CURLOPT_PRIVATE, check);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt (easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt (easy, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    curl_easy_setopt (easy, CURLOPT_USERAGENT, "UptimeSquirrel/" SQ_VERSION_STRING);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_body_callback);
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, check);
    curl_easy_setopt (easy, CURLOPT_ERRORBUFFER, check->error);
    curl_easy_setopt (easy, CURLOPT_HEADERFUNCTION, s_header_callback);
    curl_easy_setopt (easy, CURLOPT_HEADERDATA, check);
    curl_easy_setopt (easy, CURLOPT_OPENSOCKETFUNCTION, s_open_socket);
    curl_easy_setopt (easy, CURLOPT_OPENSOCKETDATA, check);
    if (self->ca_file)
        curl_easy_setopt (easy, CURLOPT_CAINFO, self->ca_file);
    return easy;
}

//  Start job in slot, which the credit book gave it.  The request gets the
//  job's whole timeout: queue_us, the wait in our queue, is reported but
//  never charged to the site.  If libcurl will not take the handle, the
//  slot goes back to the book (and is owed as credit).
static void
s_check_start (self_t *self, unsigned slot, const sq_check_t *job, int64_t queue_us)
{
    assert (slot < self->concurrency);
    check_t *check = &self->pool [slot];
    CURL *easy = check->easy;
    check->job = *job;
    check->started_us = zclock_usecs ();
    check->retry_at = 0;
    check->short_since_us = 0;
    check->retries = 0;
    check->queue_us = queue_us;
    check->method = verdict_first_method (job);

    //  Options that never change were set once, in s_easy_new; these are
    //  the ones that differ from site to site.
    curl_easy_setopt (easy, CURLOPT_URL, job->url);
    curl_easy_setopt (easy, CURLOPT_FOLLOWLOCATION, job->max_redirects ? 1L : 0L);
    curl_easy_setopt (easy, CURLOPT_MAXREDIRS, (long) job->max_redirects);
    curl_easy_setopt (easy, CURLOPT_SSL_VERIFYPEER, job->tls_verify ? 1L : 0L);
    curl_easy_setopt (easy, CURLOPT_SSL_VERIFYHOST, job->tls_verify ? 2L : 0L);
    curl_easy_setopt (easy, CURLOPT_CERTINFO, strncmp (job->url, "https:", 6) == 0 ? 1L : 0L);
    s_configure_request (check, (long) job->timeout_ms);

    CURLMcode rc = curl_multi_add_handle (self->multi, easy);
    if (rc != CURLM_OK) {
        zsys_error ("pinger %s: site %llu: curl_multi_add_handle: %s", self->pinger_id,
                    (unsigned long long) job->site_id, curl_multi_strerror (rc));
        credit_release (self->credit, slot);
    }
}

//  Give freed slots to waiting jobs, oldest first.
static void
s_start_waiting (self_t *self)
{
    sq_check_t job;
    int64_t queue_us;
    unsigned slot;
    while (credit_next (self->credit, zclock_usecs (), &job, &queue_us, &slot))
        s_check_start (self, slot, &job, queue_us);
}


//  --------------------------------------------------------------------------
//  Finishing a check: gather libcurl's facts, ask the verdict, report

//  Parse the leaf certificate's expiry out of CERTINFO; 0 if unknown.
static int64_t
s_cert_expiry (CURL *easy)
{
    struct curl_certinfo *info = NULL;
    if (curl_easy_getinfo (easy, CURLINFO_CERTINFO, &info) != CURLE_OK
    ||  !info || info->num_of_certs < 1)
        return 0;
    for (struct curl_slist *entry = info->certinfo [0]; entry; entry = entry->next) {
        if (strncasecmp (entry->data, "Expire date:", 12) != 0)
            continue;
        const char *value = entry->data + 12;
        struct tm when;
        memset (&when, 0, sizeof (when));
        //  The OpenSSL backend prints "Nov 26 06:00:00 2027 GMT"; others
        //  print "2027-11-26 06:00:00 GMT".
        if (strptime (value, "%b %d %H:%M:%S %Y", &when)
        ||  strptime (value, "%Y-%m-%d %H:%M:%S", &when))
            return (int64_t) timegm (&when);
        return 0;
    }
    return 0;
}

static uint64_t
s_phase (curl_off_t end, curl_off_t start)
{
    return end > start && start >= 0 ? (uint64_t) (end - start) : 0;
}

//  The handle is done with: out of the multi, its slot back to the book.
static void
s_check_release (self_t *self, check_t *check)
{
    curl_multi_remove_handle (self->multi, check->easy);
    credit_release (self->credit, check->slot);
}

//  The check failed because of this pinger: no verdict, a log line.
static void
s_check_fault (self_t *self, check_t *check, CURLcode code)
{
    self->counters [PINGER_local_faults]++;
    zsys_error ("pinger %s: site %llu: check not judged, the fault is this pinger's: %s",
                self->pinger_id, (unsigned long long) check->job.site_id,
                check->error [0] ? check->error : curl_easy_strerror (code));
    s_check_release (self, check);
}

//  Send the same check again as GET, with timeout_ms.  0, or -1 if
//  libcurl would not take the handle back.
static int
s_check_fall_back (self_t *self, check_t *check, uint32_t timeout_ms)
{
    self->counters [PINGER_head_fallbacks]++;
    curl_multi_remove_handle (self->multi, check->easy);
    check->method = SQ_METHOD_GET;
    s_configure_request (check, (long) timeout_ms);
    return curl_multi_add_handle (self->multi, check->easy) == CURLM_OK ? 0 : -1;
}

//  The check could not run for want of descriptors, memory or local
//  ports: ours to fix, never the site's.  It keeps its slot (so fewer run
//  at once while the shortage lasts) and tries again after a pause that
//  doubles from PINGER_RETRY_MIN_MS to PINGER_RETRY_MAX_MS, for at most
//  PINGER_RETRY_WINDOW_MS; then it gives up without a verdict (the
//  dispatcher sends the job again after its deadline).  Logged at most
//  every PINGER_SHORTAGE_LOG_MS.
static void
s_check_shortage (self_t *self, check_t *check, CURLcode code, int os_errno)
{
    int64_t now_us = zclock_usecs ();
    int64_t now = zclock_mono ();
    self->counters [PINGER_shortages]++;
    if (!check->short_since_us)
        check->short_since_us = now_us;
    if (now - self->shortage_logged >= PINGER_SHORTAGE_LOG_MS || !self->shortage_logged) {
        self->shortage_logged = now;
        zsys_warning ("pinger %s: out of local resources (%s%s%s): checks wait and retry; "
                      "this is the pinger's limit, not the sites' (raise `ulimit -n` or lower "
                      "--concurrency); %llu so far", self->pinger_id, curl_easy_strerror (code),
                      os_errno ? ": " : "", os_errno ? strerror (os_errno) : "",
                      (unsigned long long) self->counters [PINGER_shortages]);
    }
    if (now_us - check->short_since_us >= PINGER_RETRY_WINDOW_MS * 1000) {
        s_check_fault (self, check, code);
        return;
    }
    curl_multi_remove_handle (self->multi, check->easy);
    unsigned shift = check->retries < 8 ? check->retries : 8;
    int64_t pause = (int64_t) PINGER_RETRY_MIN_MS << shift;
    check->retry_at = now + (pause < PINGER_RETRY_MAX_MS ? pause : PINGER_RETRY_MAX_MS);
    check->retries++;
    self->retrying++;
    if (self->retry_next < 0 || check->retry_at < self->retry_next)
        self->retry_next = check->retry_at;
}

//  Checks whose pause after a shortage is over try again, from their
//  first request, with the whole timeout (the failed tries took none of it).
static void
s_retry_due (self_t *self)
{
    if (!self->retrying)
        return;
    int64_t now = zclock_mono ();
    if (now < self->retry_next)
        return;
    self->retry_next = -1;
    for (unsigned slot = 0; slot < self->concurrency; slot++) {
        check_t *check = &self->pool [slot];
        if (!check->retry_at)
            continue;
        if (check->retry_at > now) {
            if (self->retry_next < 0 || check->retry_at < self->retry_next)
                self->retry_next = check->retry_at;
            continue;
        }
        check->retry_at = 0;
        self->retrying--;
        self->counters [PINGER_retries]++;
        check->started_us = zclock_usecs ();
        check->method = verdict_first_method (&check->job);
        s_configure_request (check, (long) check->job.timeout_ms);
        CURLMcode rc = curl_multi_add_handle (self->multi, check->easy);
        if (rc != CURLM_OK) {
            zsys_error ("pinger %s: site %llu: curl_multi_add_handle: %s", self->pinger_id,
                        (unsigned long long) check->job.site_id, curl_multi_strerror (rc));
            credit_release (self->credit, slot);
        }
    }
}

static void
s_check_finish (self_t *self, check_t *check, CURLcode code)
{
    CURL *easy = check->easy;
    long status = 0;
    curl_off_t total = 0;
    curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo (easy, CURLINFO_TOTAL_TIME_T, &total);
    //  libcurl keeps CURLINFO_OS_ERRNO across transfers of a reused
    //  handle, and sets it afresh only when a connect fails: read it then
    //  only (a stale errno must never make a DNS failure "ours").
    long os_errno = check->open_errno;
    if (!os_errno && code == CURLE_COULDNT_CONNECT)
        curl_easy_getinfo (easy, CURLINFO_OS_ERRNO, &os_errno);
    int64_t now_us = zclock_usecs ();

    verdict_facts_t facts = {
        .code = code,
        .body_stopped = check->body_stopped,
        .http_status = status,
        .method = check->method,
        .accept = &check->job.accept,
        .keyword_expected = check->job.keyword [0] != '\0',
        .keyword_found = check->keyword_found,
        .body_bytes = check->body_bytes,
        .max_latency_ms = check->job.max_latency_ms,
        .timeout_ms = check->job.timeout_ms,
        .request_us = (int64_t) total,
        .elapsed_us = now_us - check->started_us,
        .os_errno = (int) os_errno,
        .headers_cut = check->headers_cut,
    };
    verdict_t verdict;
    verdict_judge (&facts, &verdict);
    if (verdict.action == VERDICT_FALL_BACK_TO_GET) {
        if (s_check_fall_back (self, check, verdict.time_left_ms) == 0)
            return;             //  the GET decides; we come back here then
        s_check_fault (self, check, CURLE_FAILED_INIT);
        return;
    }
    if (verdict.action == VERDICT_LOCAL_RETRY) {
        s_check_shortage (self, check, verdict.code, (int) os_errno);
        return;
    }
    if (verdict.action == VERDICT_LOCAL_FAULT) {
        //  Saying "down" would wake an owner for our own fault: send no
        //  verdict; the dispatcher sends the job again after its deadline.
        s_check_fault (self, check, verdict.code);
        return;
    }
    assert (verdict.action == VERDICT_JUDGED);

    //  The phases only for a verdict (not for a HEAD about to become GET).
    curl_off_t lookup = 0, connect = 0, appconnect = 0, pretransfer = 0, first_byte = 0;
    curl_easy_getinfo (easy, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
    curl_easy_getinfo (easy, CURLINFO_CONNECT_TIME_T, &connect);
    curl_easy_getinfo (easy, CURLINFO_APPCONNECT_TIME_T, &appconnect);
    curl_easy_getinfo (easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    curl_easy_getinfo (easy, CURLINFO_STARTTRANSFER_TIME_T, &first_byte);

    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_RESULT;
    sq_result_t *result = &msg.result;
    result->job_id = check->job.job_id;
    result->attempt = check->job.attempt;
    result->site_id = check->job.site_id;
    result->token = check->job.token;
    memcpy (result->pinger_id, self->pinger_id, sizeof (result->pinger_id));
    memcpy (result->region, self->region, sizeof (result->region));
    result->up = verdict.up;
    result->reason = verdict.reason;
    result->method = verdict.method;
    result->http_status = status >= 0 && status <= 999 ? (uint16_t) status : 0;
    result->queue_us = (uint64_t) check->queue_us;
    result->dns_us = lookup > 0 ? (uint64_t) lookup : 0;
    result->connect_us = s_phase (connect, lookup);
    result->tls_us = appconnect > 0 ? s_phase (appconnect, connect) : 0;
    result->ttfb_us = s_phase (first_byte, pretransfer);
    //  total covers a HEAD that was refused, too: the whole check.
    result->total_us = (uint64_t) facts.elapsed_us;
    result->cert_expiry = s_cert_expiry (easy);
    result->at = sq_wallclock_us ();
    if (verdict.code != CURLE_OK && !verdict.error [0])
        snprintf (result->error, sizeof (result->error), "%s",
                  check->error [0] ? check->error : curl_easy_strerror (verdict.code));
    else
        snprintf (result->error, sizeof (result->error), "%s", verdict.error);

    s_check_release (self, check);
    self->counters [PINGER_checks]++;
    if (result->up)
        self->counters [PINGER_up]++;
    if (sq_wire_send (self->results, NULL, 0, &msg))
        self->counters [PINGER_send_failures]++;
}

static void
s_collect_finished (self_t *self)
{
    CURLMsg *info;
    int left;
    while ((info = curl_multi_info_read (self->multi, &left))) {
        if (info->msg != CURLMSG_DONE)
            continue;
        check_t *check = NULL;
        curl_easy_getinfo (info->easy_handle, CURLINFO_PRIVATE, (char **) &check);
        s_check_finish (self, check, info->data.result);
    }
}


//  --------------------------------------------------------------------------
//  Credit to the dispatcher

//  Send READY or HEARTBEAT without blocking: a stalled dispatcher must
//  not stall our checks.  0, or -1 when the message could not go.
static int
s_send_credit (self_t *self, sq_msg_type_t type, unsigned slots)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = type;
    sq_ready_t *ready = type == SQ_MSG_READY ? &msg.ready : (sq_ready_t *) &msg.heartbeat;
    memcpy (ready->pinger_id, self->pinger_id, sizeof (ready->pinger_id));
    memcpy (ready->region, self->region, sizeof (ready->region));
    ready->free_slots = slots;
    return sq_wire_send (self->jobs, NULL, 0, &msg);
}

//  Announce the credit the book says is owed; what cannot go now is owed
//  again, for the next turn of the loop.
static void
s_send_ready (self_t *self)
{
    unsigned credit = credit_ready (self->credit);
    if (credit && s_send_credit (self, SQ_MSG_READY, credit))
        credit_unsent (self->credit, credit);
}


//  --------------------------------------------------------------------------
//  Socket handlers

//  The counters line, for STATS and for the log at stop.  Caller frees.
static char *
s_stats (self_t *self)
{
    self->counters [PINGER_live] = credit_live (self->credit);
    self->counters [PINGER_waiting] = credit_waiting (self->credit);
    return sq_counters_line (s_counter_names, self->counters, PINGER_COUNTER_COUNT);
}

static void
s_handle_pipe (self_t *self)
{
    char *command = sq_actor_recv_command (self->pipe, NULL);
    if (streq (command, SQ_CMD_TERM))
        self->terminated = true;
    else
    if (streq (command, SQ_CMD_STATS)) {
        char *stats = s_stats (self);
        zstr_send (self->pipe, stats);
        free (stats);
    }
    else
        zsys_warning ("pinger %s: unknown pipe command '%s'", self->pinger_id, command);
    zstr_free (&command);
}

static void
s_handle_jobs (self_t *self)
{
    //  Drain what has arrived, but bounded, so curl's sockets get their turn.
    for (unsigned round = 0; round < 1024; round++) {
        if (!(zsock_events (self->jobs) & ZMQ_POLLIN))
            break;
        sq_msg_t msg;
        int rc = sq_wire_recv_expect (self->jobs, NULL, NULL, &msg, SQ_WIRE_TYPE (SQ_MSG_CHECK),
                                      self->refusal, &self->counters [PINGER_malformed]);
        sq_metrics_refusal (rc, SQ_ACTOR_PINGER);
        if (rc == SQ_WIRE_INTERRUPTED)
            break;
        if (rc != SQ_PROTO_OK)
            continue;
        unsigned slot = 0;
        credit_arrival_t arrival = credit_arrive (self->credit, &msg.check, zclock_usecs (), &slot);
        if (arrival == CREDIT_START)
            s_check_start (self, slot, &msg.check, 0);
        else
        if (arrival == CREDIT_REFUSED) {
            //  The dispatcher sent beyond our credit; it resends after the
            //  job's deadline, so refusing loses nothing.
            self->counters [PINGER_over_capacity]++;
            zsys_warning ("pinger %s: site %llu: queue full, CHECK refused",
                          self->pinger_id, (unsigned long long) msg.check.site_id);
        }
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
    if (self->pool) {
        for (unsigned index = 0; index < self->concurrency; index++) {
            if (!self->pool [index].easy)
                continue;
            if (self->multi)
                curl_multi_remove_handle (self->multi, self->pool [index].easy);
            curl_easy_cleanup (self->pool [index].easy);
        }
    }
    if (self->multi)
        curl_multi_cleanup (self->multi);
    free (self->pool);
    credit_destroy (&self->credit);
    free (self->items);
    free (self->ca_file);
    zsock_destroy (&self->jobs);
    zsock_destroy (&self->results);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const pinger_args_t *args, char *error, size_t error_size)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    snprintf (self->pinger_id, sizeof (self->pinger_id), "%s", args->pinger_id);
    snprintf (self->region, sizeof (self->region), "%s", args->region ? args->region : "");
    snprintf (self->refusal, sizeof (self->refusal), "pinger %s: dropped a frame from the dispatcher",
              self->pinger_id);
    self->ca_file = args->ca_file ? strdup (args->ca_file) : NULL;
    self->concurrency = args->concurrency ? args->concurrency : PINGER_DEFAULT_CONCURRENCY;
    self->heartbeat_ms = args->heartbeat_ms ? args->heartbeat_ms : SQ_HEARTBEAT_MS;
    self->curl_deadline = -1;
    self->retry_next = -1;

    self->jobs = zsock_new (ZMQ_DEALER);
    self->results = zsock_new (ZMQ_PUSH);
    assert (self->jobs && self->results);
    zsock_set_identity (self->jobs, self->pinger_id);
    zsock_set_rcvhwm (self->jobs, 0);
    zsock_set_sndtimeo (self->jobs, 0);     //  credit is sent, never waited for
    //  Results must not be lost at a clean stop or while the collector is
    //  busy: no high-water mark drop and a linger to flush on close.
    zsock_set_sndhwm (self->results, 0);
    zsock_set_linger (self->results, SQ_LINGER_RESULTS_MS);
    zsock_set_linger (self->jobs, SQ_LINGER_JOBS_MS);
    if (sq_actor_connect (self->jobs, args->jobs, &args->curve)
    ||  sq_actor_connect (self->results, args->results, &args->curve)) {
        snprintf (error, error_size, "cannot connect to %s or %s", args->jobs, args->results);
        s_self_destroy (&self);
        return NULL;
    }

    self->multi = curl_multi_init ();
    self->credit = credit_new (self->concurrency);
    self->pool = (check_t *) calloc (self->concurrency, sizeof (check_t));
    self->item_cap = self->concurrency * 2 + FIXED_ITEMS + 8;
    self->items = (zmq_pollitem_t *) calloc (self->item_cap, sizeof (zmq_pollitem_t));
    if (!self->multi || !self->credit || !self->pool || !self->items) {
        snprintf (error, error_size, "out of memory for %u slots", self->concurrency);
        s_self_destroy (&self);
        return NULL;
    }
    for (unsigned index = 0; index < self->concurrency; index++) {
        self->pool [index].slot = index;
        self->pool [index].easy = s_easy_new (self, &self->pool [index]);
        if (!self->pool [index].easy) {
            snprintf (error, error_size, "curl_easy_init failed");
            s_self_destroy (&self);
            return NULL;
        }
    }
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, s_socket_callback);
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, s_timer_callback);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERDATA, self);
    //  No limit inside libcurl: we cap live handles ourselves (see top).
    curl_multi_setopt (self->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    curl_multi_setopt (self->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);

    self->items [0].socket = zsock_resolve (self->pipe);
    self->items [0].events = ZMQ_POLLIN;
    self->items [1].socket = zsock_resolve (self->jobs);
    self->items [1].events = ZMQ_POLLIN;
    self->item_count = FIXED_ITEMS;
    return self;
}

//  Milliseconds until the nearest deadline, for zmq_poll.
static long
s_poll_timeout (self_t *self)
{
    int64_t now = zclock_mono ();
    int64_t deadline = self->heartbeat_at;
    if (self->curl_deadline >= 0 && self->curl_deadline < deadline)
        deadline = self->curl_deadline;
    if (self->retrying && self->retry_next >= 0 && self->retry_next < deadline)
        deadline = self->retry_next;
    return deadline > now ? (long) (deadline - now) : 0;
}

void
pinger_actor (zsock_t *pipe, void *args)
{
    char error [256] = "";
    self_t *self = s_self_new (pipe, (const pinger_args_t *) args, error, sizeof (error));
    if (!self) {
        sq_actor_report (pipe, error);
        return;
    }
    sq_actor_report (pipe, NULL);
    //  A new credit book owes every slot.  If the dispatcher cannot take
    //  that READY yet, the loop tries again.
    s_send_ready (self);
    self->heartbeat_at = zclock_mono () + self->heartbeat_ms;

    //  Sockets that became ready, copied out of the poll array before any
    //  curl call, because curl's socket callback reshuffles that array.
    typedef struct { curl_socket_t fd; int flags; } ready_t;
    ready_t *ready = (ready_t *) malloc (sizeof (ready_t) * self->item_cap);
    unsigned ready_cap = self->item_cap;

    while (!self->terminated) {
        int rc = zmq_poll (self->items, (int) self->item_count, s_poll_timeout (self));
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            zsys_error ("pinger %s: zmq_poll: %s", self->pinger_id, zmq_strerror (errno));
            break;
        }
        if (self->items [0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        if (self->terminated)
            break;
        if (self->items [1].revents & ZMQ_POLLIN)
            s_handle_jobs (self);

        if (ready_cap < self->item_cap) {
            ready_cap = self->item_cap;
            ready = (ready_t *) realloc (ready, sizeof (ready_t) * ready_cap);
            assert (ready);
        }
        unsigned ready_count = 0;
        for (unsigned index = FIXED_ITEMS; index < self->item_count; index++) {
            zmq_pollitem_t *item = &self->items [index];
            if (!item->revents)
                continue;
            ready [ready_count].fd = item->fd;
            ready [ready_count].flags = ((item->revents & ZMQ_POLLIN) ? CURL_CSELECT_IN : 0)
                                      | ((item->revents & ZMQ_POLLOUT) ? CURL_CSELECT_OUT : 0)
                                      | ((item->revents & ZMQ_POLLERR) ? CURL_CSELECT_ERR : 0);
            ready_count++;
            item->revents = 0;
        }
        int running = 0;
        for (unsigned index = 0; index < ready_count; index++)
            curl_multi_socket_action (self->multi, ready [index].fd, ready [index].flags, &running);
        if (self->curl_deadline >= 0 && zclock_mono () >= self->curl_deadline) {
            self->curl_deadline = -1;
            curl_multi_socket_action (self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        s_collect_finished (self);
        s_retry_due (self);
        s_start_waiting (self);
        s_send_ready (self);
        if (zclock_mono () >= self->heartbeat_at) {
            s_send_credit (self, SQ_MSG_HEARTBEAT, credit_free_slots (self->credit));
            self->heartbeat_at = zclock_mono () + self->heartbeat_ms;
        }
    }
    free (ready);
    //  Every RESULT counted here was sent before we stop: a clean stop
    //  must find each of them in the store.
    char *stats = s_stats (self);
    zsys_info ("pinger %s: stopped: %s", self->pinger_id, stats);
    free (stats);
    s_self_destroy (&self);
}

unsigned
pinger_fit_concurrency (unsigned pingers, unsigned concurrency, char *why, size_t why_size)
{
    if (why_size)
        why [0] = '\0';
    if (!concurrency)
        concurrency = PINGER_DEFAULT_CONCURRENCY;
    if (!pingers)
        return concurrency;
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit))
        return concurrency;
    if (limit.rlim_cur < limit.rlim_max) {
        rlim_t before = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit (RLIMIT_NOFILE, &limit)) {
            getrlimit (RLIMIT_NOFILE, &limit);
            limit.rlim_cur = before;
        }
    }
    uint64_t need = (uint64_t) pingers * concurrency * PINGER_FDS_PER_CHECK + PINGER_FDS_RESERVED;
    if (limit.rlim_cur == RLIM_INFINITY || need <= (uint64_t) limit.rlim_cur)
        return concurrency;
    uint64_t room = limit.rlim_cur > PINGER_FDS_RESERVED + PINGER_FDS_PER_CHECK
                  ? (uint64_t) limit.rlim_cur - PINGER_FDS_RESERVED : PINGER_FDS_PER_CHECK;
    uint64_t fit = room / PINGER_FDS_PER_CHECK / pingers;
    unsigned fitted = fit < 1 ? 1 : (unsigned) fit;
    snprintf (why, why_size, "%u pinger(s) x %u checks at once may need %llu file descriptors, and this "
                  "process may open %llu (`ulimit -n`; the hard limit is %s%llu): each pinger "
                  "runs at most %u checks at once", pingers, concurrency,
                  (unsigned long long) need, (unsigned long long) limit.rlim_cur,
                  limit.rlim_max == RLIM_INFINITY ? "unlimited, " : "",
                  (unsigned long long) (limit.rlim_max == RLIM_INFINITY ? limit.rlim_cur
                                                                        : limit.rlim_max),
                  fitted);
    return fitted;
}
