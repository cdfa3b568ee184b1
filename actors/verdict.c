/*  verdict.c: the pinger's verdict on one finished request.  See verdict.h
    for the decisions and their order.
*/
#include "verdict.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

sq_reason_t
verdict_classify (CURLcode code)
{
    switch (code) {
        case CURLE_OK:
            return SQ_REASON_OK;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            return SQ_REASON_DNS;
        case CURLE_COULDNT_CONNECT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_INTERFACE_FAILED:
            return SQ_REASON_CONNECT;
        case CURLE_OPERATION_TIMEDOUT:
            return SQ_REASON_TIMEOUT;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_USE_SSL_FAILED:
            return SQ_REASON_TLS;
        case CURLE_TOO_MANY_REDIRECTS:
            return SQ_REASON_REDIRECTS;
        default:
            //  Weird reply, empty reply, partial body, a redirect to
            //  another scheme: the peer did not speak HTTP as it should.
            return SQ_REASON_PROTOCOL;
    }
}

bool
verdict_local_fault (CURLcode code)
{
    switch (code) {
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_FAILED_INIT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_UNKNOWN_OPTION:
        case CURLE_NOT_BUILT_IN:
            return true;
        default:
            return false;
    }
}

bool
verdict_local_shortage (CURLcode code, int os_errno)
{
    if (code == CURLE_OUT_OF_MEMORY)
        return true;
    if (code != CURLE_COULDNT_CONNECT && code != CURLE_COULDNT_RESOLVE_HOST
    &&  code != CURLE_SEND_ERROR && code != CURLE_RECV_ERROR)
        return false;
    switch (os_errno) {
        case EMFILE:            //  our descriptors
        case ENFILE:            //  the system's descriptors
        case ENOMEM:
        case ENOBUFS:
        case EADDRNOTAVAIL:     //  no local port left for connect
        case EAGAIN:            //  connect: no local port, or routing cache full
            return true;
        default:
            return false;
    }
}

sq_method_t
verdict_first_method (const sq_check_t *job)
{
    assert (job);
    return job->keyword [0] ? SQ_METHOD_GET : (sq_method_t) job->method;
}

//  Rule 5: a complete answer against the job's expectations, in order.
static sq_reason_t
s_judge_answer (const verdict_facts_t *facts, char *error, size_t error_size)
{
    static const sq_ranges_t below_400 = { .count = 0 };
    const sq_ranges_t *accept = facts->accept ? facts->accept : &below_400;
    if (facts->http_status < 0 || !sq_ranges_accept (accept, (unsigned) facts->http_status)) {
        snprintf (error, error_size, "HTTP %ld", facts->http_status);
        return SQ_REASON_HTTP_STATUS;
    }
    if (facts->keyword_expected && !facts->keyword_found) {
        snprintf (error, error_size, "keyword not in first %llu bytes",
                  (unsigned long long) facts->body_bytes);
        return SQ_REASON_KEYWORD;
    }
    if (facts->max_latency_ms
    &&  facts->request_us > (int64_t) facts->max_latency_ms * 1000) {
        snprintf (error, error_size, "%lld ms > %u ms",
                  (long long) (facts->request_us / 1000), facts->max_latency_ms);
        return SQ_REASON_TOO_SLOW;
    }
    return SQ_REASON_OK;
}

void
verdict_judge (const verdict_facts_t *facts, verdict_t *verdict)
{
    assert (facts);
    assert (verdict);
    assert (facts->method == SQ_METHOD_HEAD || facts->method == SQ_METHOD_GET);
    assert (facts->elapsed_us >= 0);
    memset (verdict, 0, sizeof (*verdict));
    verdict->method = facts->method;

    //  1. Our own stop of the body read is not a failure.
    CURLcode code = facts->code;
    if (code == CURLE_WRITE_ERROR && facts->body_stopped)
        code = CURLE_OK;

    //  2. HEAD refused by the server: GET with the time left, if any.
    if (code == CURLE_OK && facts->method == SQ_METHOD_HEAD
    && (facts->http_status == 405 || facts->http_status == 501)) {
        int64_t left_ms = (int64_t) facts->timeout_ms - facts->elapsed_us / 1000;
        if (left_ms > 0) {
            verdict->action = VERDICT_FALL_BACK_TO_GET;
            verdict->code = code;
            verdict->time_left_ms = (uint32_t) left_ms;
            return;
        }
        code = CURLE_OPERATION_TIMEDOUT;
    }
    verdict->code = code;

    //  3. Saying "down" would wake an owner for our own fault.
    if (verdict_local_shortage (code, facts->os_errno)) {
        verdict->action = VERDICT_LOCAL_RETRY;
        return;
    }
    if (verdict_local_fault (code)) {
        verdict->action = VERDICT_LOCAL_FAULT;
        return;
    }
    //  Endless headers, which we cut: the peer's HTTP, not the connection.
    if (facts->headers_cut) {
        verdict->action = VERDICT_JUDGED;
        verdict->reason = SQ_REASON_PROTOCOL;
        snprintf (verdict->error, sizeof (verdict->error), "response headers longer than we read");
        return;
    }

    //  4 and 5.
    verdict->action = VERDICT_JUDGED;
    verdict->reason = code == CURLE_OK
                    ? s_judge_answer (facts, verdict->error, sizeof (verdict->error))
                    : verdict_classify (code);
    verdict->up = verdict->reason == SQ_REASON_OK;
}
