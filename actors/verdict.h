/*  verdict.h: the pinger's verdict on one finished request.  Pure code: no
    ZeroMQ, no libcurl calls (only its CURLcode constants), no clock; every
    time is an argument.

    The pinger gathers what libcurl says about the request that just ended
    (verdict_facts_t) and asks verdict_judge what to do.  The answer is one of:

        VERDICT_JUDGED            send a RESULT: up or down, one reason, the
                                  method that decided
        VERDICT_FALL_BACK_TO_GET  HEAD was refused (405 or 501): send the
                                  same check again as GET, with time_left_ms
        VERDICT_LOCAL_FAULT       the pinger's own fault (its CA bundle, its
                                  TLS engine): no verdict, the dispatcher
                                  sends the job again later
        VERDICT_LOCAL_RETRY       the pinger ran out of something that comes
                                  back (descriptors, memory, local ports):
                                  no verdict; wait a moment and try again

    Decisions, in this order:
    1. A body read we stopped on purpose (verdict already known, or the body
       cap reached) is not a failure: CURLE_WRITE_ERROR counts as CURLE_OK.
    2. A HEAD answered 405 or 501 falls back to GET with what is left of the
       job's timeout (timeout_ms - whole milliseconds elapsed); with nothing
       left it is a timeout.  A GET is never sent again.
    3. A local fault gives no verdict.  A connection that could not be
       made for want of our own resources (os_errno EMFILE, ENFILE, ENOMEM,
       ENOBUFS, EADDRNOTAVAIL, or EAGAIN: no local port), or libcurl out of
       memory, is retried; a broken CA bundle or TLS engine is not.
    4. Any other libcurl failure is judged by its code: dns, connect, tls,
       timeout, redirects, or protocol (anything else; also response
       headers past the pinger's cap, which it cuts).
    5. A complete answer is judged by its status (accepted ranges, default
       below 400), then the keyword, then latency: too slow only when the
       request took MORE than max_latency_ms (exactly max is up).
*/
#ifndef VERDICT_H_INCLUDED
#define VERDICT_H_INCLUDED

#include <curl/curl.h>
#include "sq_proto.h"

//  What the pinger must do with a finished request.
typedef enum {
    VERDICT_JUDGED = 0,         //  a verdict: send a RESULT
    VERDICT_FALL_BACK_TO_GET,   //  HEAD refused: repeat as GET with time_left_ms
    VERDICT_LOCAL_FAULT,        //  our own fault: no RESULT, log and count it
    VERDICT_LOCAL_RETRY         //  our resources ran out: no RESULT, retry soon
} verdict_action_t;

//  What is known when a request ends.  Times in microseconds.
typedef struct {
    CURLcode code;              //  libcurl's result for the request
    int os_errno;               //  errno of a socket () or connect () that failed; 0 none
    bool headers_cut;           //  we stopped endless response headers
    bool body_stopped;          //  we ended the body read on purpose
    long http_status;           //  last response status; 0 = none
    sq_method_t method;         //  method of the request that just ended
    const sq_ranges_t *accept;  //  job's accepted statuses; NULL = below 400
    bool keyword_expected;      //  the job asks for a keyword in the body
    bool keyword_found;         //  ... and the body held it
    uint64_t body_bytes;        //  body bytes read (for the keyword text)
    uint32_t max_latency_ms;    //  job's latency limit; 0 = none
    uint32_t timeout_ms;        //  job's whole timeout, both requests
    int64_t request_us;         //  libcurl's total time of this request
    int64_t elapsed_us;         //  since the check started (both requests)
} verdict_facts_t;

//  The answer.
typedef struct {
    verdict_action_t action;    //  what to do
    bool up;                    //  JUDGED: the verdict
    sq_reason_t reason;         //  JUDGED: why (SQ_REASON_OK when up)
    sq_method_t method;         //  JUDGED: the method that decided
    CURLcode code;              //  the libcurl code the answer rests on, after
                                //  rules 1 and 2 (CURLE_OK for an answer)
    uint32_t time_left_ms;      //  FALL_BACK_TO_GET: timeout for the GET
    char error [SQ_TEXT_MAX + 1];   //  short text for status, keyword,
                                //  latency and header failures; "" when the
                                //  caller is to add libcurl's text
} verdict_t;

//  Judge one finished request.
void verdict_judge (const verdict_facts_t *facts, verdict_t *verdict);

//  Method of a check's first request: an expected keyword needs the body,
//  so it forces GET; otherwise the job's method.
sq_method_t verdict_first_method (const sq_check_t *job);

//  Reason class of a libcurl failure (SQ_REASON_OK for CURLE_OK).
sq_reason_t verdict_classify (CURLcode code);

//  True when code means the pinger failed, not the site.
bool verdict_local_fault (CURLcode code);

//  True when code and os_errno mean the pinger ran short of descriptors,
//  memory or local ports: a fault of ours that passes.
bool verdict_local_shortage (CURLcode code, int os_errno);

#endif
