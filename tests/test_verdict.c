/*  test_verdict.c: the pinger's verdict (actors/verdict.c), table-driven.
    Each row is the facts of one finished request and the exact answer
    expected: action, up, reason, deciding method, libcurl code, time left
    for a GET, and the short error text.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "verdict.h"

#include <stdio.h>
#include <errno.h>
#include <string.h>

#define HEAD    SQ_METHOD_HEAD
#define GET     SQ_METHOD_GET

//  One row: facts in, answer out.  Fields left out are 0 (CURLE_OK, HEAD,
//  no accept ranges = below 400, no keyword, no latency limit).
typedef struct {
    const char *name;           //  printed when the row fails
    //  Facts
    CURLcode code;              //  libcurl's result
    int os_errno;               //  CURLINFO_OS_ERRNO; 0 = none
    bool headers_cut;           //  the pinger cut endless headers
    bool stopped;               //  body read stopped on purpose
    long status;                //  HTTP status; 0 = none
    sq_method_t method;         //  method of the request that ended
    const char *accept;         //  accepted ranges, NULL = default
    bool keyword;               //  a keyword is expected
    bool found;                 //  ... and was found
    uint64_t body_bytes;        //  body bytes read
    uint32_t max_latency_ms;    //  latency limit, 0 = none
    uint32_t timeout_ms;        //  job's whole timeout
    int64_t request_us;         //  libcurl's total time of the request
    int64_t elapsed_us;         //  since the check started
    //  Answer
    verdict_action_t action;    //  expected action
    bool up;                    //  expected verdict (JUDGED)
    sq_reason_t reason;         //  expected reason (JUDGED)
    CURLcode expect_code;       //  expected code the answer rests on
    uint32_t time_left_ms;      //  expected GET timeout (FALL_BACK_TO_GET)
    const char *error;          //  expected text, NULL = ""
} row_t;

static void
s_check_rows (const row_t *rows, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        const row_t *row = &rows [index];
        sq_ranges_t accept;
        memset (&accept, 0, sizeof (accept));
        if (row->accept)
            assert_int_equal (sq_ranges_parse (row->accept, &accept, NULL), 0);
        verdict_facts_t facts = {
            .code = row->code, .body_stopped = row->stopped, .http_status = row->status,
            .method = row->method, .accept = row->accept ? &accept : NULL,
            .keyword_expected = row->keyword, .keyword_found = row->found,
            .body_bytes = row->body_bytes, .max_latency_ms = row->max_latency_ms,
            .timeout_ms = row->timeout_ms, .request_us = row->request_us,
            .elapsed_us = row->elapsed_us, .os_errno = row->os_errno,
            .headers_cut = row->headers_cut,
        };
        verdict_t verdict;
        memset (&verdict, 0xA5, sizeof (verdict));     //  no stale field passes
        verdict_judge (&facts, &verdict);
        const char *error = row->error ? row->error : "";
        if (verdict.action != row->action)
            fail_msg ("%s: action %d, expected %d", row->name, verdict.action, row->action);
        if (verdict.code != row->expect_code)
            fail_msg ("%s: code %d, expected %d", row->name, verdict.code, row->expect_code);
        if (row->action == VERDICT_FALL_BACK_TO_GET
        &&  verdict.time_left_ms != row->time_left_ms)
            fail_msg ("%s: time left %u ms, expected %u ms", row->name,
                      verdict.time_left_ms, row->time_left_ms);
        if (row->action != VERDICT_JUDGED)
            continue;
        if (verdict.up != row->up || verdict.reason != row->reason)
            fail_msg ("%s: %s/%s, expected %s/%s", row->name, verdict.up ? "up" : "down",
                      sq_reason_name (verdict.reason), row->up ? "up" : "down",
                      sq_reason_name (row->reason));
        if (verdict.method != row->method)
            fail_msg ("%s: decided by %s, expected %s", row->name,
                      sq_method_name (verdict.method), sq_method_name (row->method));
        if (strcmp (verdict.error, error) != 0)
            fail_msg ("%s: error '%s', expected '%s'", row->name, verdict.error, error);
    }
}

#define ROWS(rows) s_check_rows (rows, sizeof (rows) / sizeof (rows [0]))

//  Every family of libcurl codes, each to its reason class.  The error
//  text is libcurl's, added by the pinger: the verdict leaves it empty.
#define FAILED(c, r) { .name = #c, .code = c, .method = GET, .action = VERDICT_JUDGED, \
                       .reason = r, .expect_code = c }
#define FAULT(c)     { .name = #c, .code = c, .method = GET, .action = VERDICT_LOCAL_FAULT, \
                       .expect_code = c }
#define SHORT(c, e)  { .name = #c " " #e, .code = c, .os_errno = e, .method = GET, \
                       .action = VERDICT_LOCAL_RETRY, .expect_code = c }

static void
test_curl_codes (void **state)
{
    const row_t rows [] = {
        FAILED (CURLE_COULDNT_RESOLVE_HOST,     SQ_REASON_DNS),
        FAILED (CURLE_COULDNT_RESOLVE_PROXY,    SQ_REASON_DNS),
        FAILED (CURLE_COULDNT_CONNECT,          SQ_REASON_CONNECT),
        FAILED (CURLE_SEND_ERROR,               SQ_REASON_CONNECT),
        FAILED (CURLE_RECV_ERROR,               SQ_REASON_CONNECT),
        FAILED (CURLE_INTERFACE_FAILED,         SQ_REASON_CONNECT),
        FAILED (CURLE_OPERATION_TIMEDOUT,       SQ_REASON_TIMEOUT),
        FAILED (CURLE_SSL_CONNECT_ERROR,        SQ_REASON_TLS),
        FAILED (CURLE_PEER_FAILED_VERIFICATION, SQ_REASON_TLS),
        FAILED (CURLE_SSL_CIPHER,               SQ_REASON_TLS),
        FAILED (CURLE_SSL_ISSUER_ERROR,         SQ_REASON_TLS),
        FAILED (CURLE_SSL_PINNEDPUBKEYNOTMATCH, SQ_REASON_TLS),
        FAILED (CURLE_SSL_INVALIDCERTSTATUS,    SQ_REASON_TLS),
        FAILED (CURLE_SSL_SHUTDOWN_FAILED,      SQ_REASON_TLS),
        FAILED (CURLE_USE_SSL_FAILED,           SQ_REASON_TLS),
        FAILED (CURLE_TOO_MANY_REDIRECTS,       SQ_REASON_REDIRECTS),
        FAILED (CURLE_GOT_NOTHING,              SQ_REASON_PROTOCOL),
        FAILED (CURLE_WEIRD_SERVER_REPLY,       SQ_REASON_PROTOCOL),
        FAILED (CURLE_PARTIAL_FILE,             SQ_REASON_PROTOCOL),
        FAILED (CURLE_UNSUPPORTED_PROTOCOL,     SQ_REASON_PROTOCOL),
        FAILED (CURLE_HTTP2,                    SQ_REASON_PROTOCOL),
        //  A write error we did not cause is the peer's doing.
        FAILED (CURLE_WRITE_ERROR,              SQ_REASON_PROTOCOL),
        FAULT (CURLE_SSL_CACERT_BADFILE),
        FAULT (CURLE_SSL_CRL_BADFILE),
        FAULT (CURLE_SSL_CERTPROBLEM),
        FAULT (CURLE_SSL_ENGINE_NOTFOUND),
        FAULT (CURLE_SSL_ENGINE_SETFAILED),
        FAULT (CURLE_SSL_ENGINE_INITFAILED),
        FAULT (CURLE_FAILED_INIT),
        FAULT (CURLE_BAD_FUNCTION_ARGUMENT),
        FAULT (CURLE_UNKNOWN_OPTION),
        FAULT (CURLE_NOT_BUILT_IN),
        //  A failure is judged by its code even when a status came first.
        { .name = "redirect loop with a 302", .code = CURLE_TOO_MANY_REDIRECTS, .status = 302,
          .method = HEAD, .action = VERDICT_JUDGED, .reason = SQ_REASON_REDIRECTS,
          .expect_code = CURLE_TOO_MANY_REDIRECTS },
        //  A HEAD cut off after a 405 is not a refusal of the method.
        { .name = "HEAD 405 then reset", .code = CURLE_RECV_ERROR, .status = 405, .method = HEAD,
          .os_errno = ECONNRESET, .timeout_ms = 5000, .action = VERDICT_JUDGED,
          .reason = SQ_REASON_CONNECT, .expect_code = CURLE_RECV_ERROR },
        //  Endless headers, cut by the pinger (a write error follows).
        { .name = "endless headers", .code = CURLE_WRITE_ERROR, .headers_cut = true,
          .status = 200, .method = HEAD, .timeout_ms = 5000, .action = VERDICT_JUDGED,
          .reason = SQ_REASON_PROTOCOL, .expect_code = CURLE_WRITE_ERROR,
          .error = "response headers longer than we read" },
        //  Our own shortages pass: retried, never a verdict.
        SHORT (CURLE_COULDNT_CONNECT, EMFILE),
        SHORT (CURLE_COULDNT_CONNECT, ENFILE),
        SHORT (CURLE_COULDNT_CONNECT, EADDRNOTAVAIL),
        SHORT (CURLE_COULDNT_CONNECT, EAGAIN),
        SHORT (CURLE_COULDNT_CONNECT, ENOBUFS),
        SHORT (CURLE_COULDNT_RESOLVE_HOST, EMFILE),
        SHORT (CURLE_SEND_ERROR, ENOMEM),
        SHORT (CURLE_OUT_OF_MEMORY, 0),
        //  ... but the site's refusal is the site's.
        { .name = "connect refused", .code = CURLE_COULDNT_CONNECT, .os_errno = ECONNREFUSED,
          .method = GET, .action = VERDICT_JUDGED, .reason = SQ_REASON_CONNECT,
          .expect_code = CURLE_COULDNT_CONNECT },
        { .name = "a TLS failure is never a shortage", .code = CURLE_SSL_CONNECT_ERROR,
          .os_errno = EMFILE, .method = GET, .action = VERDICT_JUDGED, .reason = SQ_REASON_TLS,
          .expect_code = CURLE_SSL_CONNECT_ERROR },
    };
    ROWS (rows);
    //  The same classes straight from the helpers.
    assert_int_equal (verdict_classify (CURLE_OK), SQ_REASON_OK);
    assert_int_equal (verdict_classify (CURLE_COULDNT_RESOLVE_HOST), SQ_REASON_DNS);
    assert_true (verdict_local_fault (CURLE_SSL_CACERT_BADFILE));
    assert_false (verdict_local_fault (CURLE_OK));
    assert_false (verdict_local_fault (CURLE_PEER_FAILED_VERIFICATION));
}

//  A complete answer judged by its status.
#define STATUS(s, ranges, ok) { .name = #s " in " #ranges, .status = s, .method = GET, \
    .accept = ranges, .action = VERDICT_JUDGED, .up = ok, \
    .reason = ok ? SQ_REASON_OK : SQ_REASON_HTTP_STATUS, .error = ok ? NULL : "HTTP " #s }

static void
test_status_against_accepted_ranges (void **state)
{
    const row_t rows [] = {
        //  Default: below 400.
        STATUS (200, NULL, true),
        STATUS (204, NULL, true),
        STATUS (302, NULL, true),
        STATUS (399, NULL, true),
        STATUS (400, NULL, false),
        STATUS (404, NULL, false),
        STATUS (500, NULL, false),
        STATUS (503, NULL, false),
        //  An explicit set replaces the default.
        STATUS (200, "200-299,404", true),
        STATUS (299, "200-299,404", true),
        STATUS (300, "200-299,404", false),
        STATUS (302, "200-299,404", false),
        STATUS (403, "200-299,404", false),
        STATUS (404, "200-299,404", true),
        STATUS (405, "200-299,404", false),
        STATUS (500, "500", true),
        STATUS (200, "500", false),
        //  HEAD is judged the same way when it is not refused.
        { .name = "HEAD 200", .status = 200, .method = HEAD, .timeout_ms = 5000,
          .action = VERDICT_JUDGED, .up = true, .reason = SQ_REASON_OK },
        { .name = "HEAD 404", .status = 404, .method = HEAD, .timeout_ms = 5000,
          .action = VERDICT_JUDGED, .reason = SQ_REASON_HTTP_STATUS, .error = "HTTP 404" },
        { .name = "HEAD 500", .status = 500, .method = HEAD, .timeout_ms = 5000,
          .action = VERDICT_JUDGED, .reason = SQ_REASON_HTTP_STATUS, .error = "HTTP 500" },
    };
    ROWS (rows);
}

static void
test_keyword_and_stopped_body (void **state)
{
    const row_t rows [] = {
        { .name = "keyword found", .status = 200, .method = GET, .keyword = true, .found = true,
          .action = VERDICT_JUDGED, .up = true, .reason = SQ_REASON_OK },
        { .name = "keyword missing", .status = 200, .method = GET, .keyword = true,
          .body_bytes = 1048576, .action = VERDICT_JUDGED, .reason = SQ_REASON_KEYWORD,
          .error = "keyword not in first 1048576 bytes" },
        { .name = "no keyword asked", .status = 200, .method = GET,
          .action = VERDICT_JUDGED, .up = true, .reason = SQ_REASON_OK },
        //  We stopped the read (keyword found, or no keyword, or the cap):
        //  libcurl says WRITE_ERROR, and that is no failure.
        { .name = "stopped, keyword found", .code = CURLE_WRITE_ERROR, .stopped = true,
          .status = 200, .method = GET, .keyword = true, .found = true,
          .action = VERDICT_JUDGED, .up = true, .reason = SQ_REASON_OK },
        { .name = "stopped, no keyword", .code = CURLE_WRITE_ERROR, .stopped = true,
          .status = 200, .method = GET, .action = VERDICT_JUDGED, .up = true,
          .reason = SQ_REASON_OK },
        { .name = "stopped at the cap, keyword missing", .code = CURLE_WRITE_ERROR,
          .stopped = true, .status = 200, .method = GET, .keyword = true, .body_bytes = 1048576,
          .action = VERDICT_JUDGED, .reason = SQ_REASON_KEYWORD,
          .error = "keyword not in first 1048576 bytes" },
        //  The stop does not excuse a bad status.
        { .name = "stopped, status 500", .code = CURLE_WRITE_ERROR, .stopped = true,
          .status = 500, .method = GET, .action = VERDICT_JUDGED, .reason = SQ_REASON_HTTP_STATUS,
          .error = "HTTP 500" },
        //  "stopped" covers only our WRITE_ERROR, not another failure.
        { .name = "stopped, then timeout", .code = CURLE_OPERATION_TIMEDOUT, .stopped = true,
          .status = 200, .method = GET, .action = VERDICT_JUDGED, .reason = SQ_REASON_TIMEOUT,
          .expect_code = CURLE_OPERATION_TIMEDOUT },
    };
    ROWS (rows);
}

//  Too slow means MORE than max latency, measured by libcurl's total time
//  of the request that ended: exactly max is up, one µs above is down.
static void
test_latency_boundary (void **state)
{
    const row_t rows [] = {
        { .name = "one µs under", .status = 200, .method = GET, .max_latency_ms = 100,
          .request_us = 99999, .action = VERDICT_JUDGED, .up = true, .reason = SQ_REASON_OK },
        { .name = "exactly max", .status = 200, .method = GET, .max_latency_ms = 100,
          .request_us = 100000, .action = VERDICT_JUDGED, .up = true, .reason = SQ_REASON_OK },
        { .name = "one µs over", .status = 200, .method = GET, .max_latency_ms = 100,
          .request_us = 100001, .action = VERDICT_JUDGED, .reason = SQ_REASON_TOO_SLOW,
          .error = "100 ms > 100 ms" },
        { .name = "far over", .status = 200, .method = HEAD, .max_latency_ms = 250,
          .timeout_ms = 5000, .request_us = 1234567, .action = VERDICT_JUDGED,
          .reason = SQ_REASON_TOO_SLOW, .error = "1234 ms > 250 ms" },
        { .name = "no limit", .status = 200, .method = GET, .request_us = 9000000,
          .action = VERDICT_JUDGED, .up = true, .reason = SQ_REASON_OK },
        //  The request's own time decides, not the whole check's (after a
        //  refused HEAD the GET alone is measured).
        { .name = "GET fast after a slow HEAD", .status = 200, .method = GET,
          .max_latency_ms = 100, .request_us = 50000, .elapsed_us = 900000,
          .action = VERDICT_JUDGED, .up = true, .reason = SQ_REASON_OK },
    };
    ROWS (rows);
}

//  Status beats keyword beats latency: the first unmet expectation names
//  the reason.
static void
test_order_of_expectations (void **state)
{
    const row_t rows [] = {
        { .name = "all three fail", .status = 500, .method = GET, .keyword = true,
          .max_latency_ms = 100, .request_us = 200000, .action = VERDICT_JUDGED,
          .reason = SQ_REASON_HTTP_STATUS, .error = "HTTP 500" },
        { .name = "keyword and latency fail", .status = 200, .method = GET, .keyword = true,
          .body_bytes = 12, .max_latency_ms = 100, .request_us = 200000,
          .action = VERDICT_JUDGED, .reason = SQ_REASON_KEYWORD,
          .error = "keyword not in first 12 bytes" },
        { .name = "latency fails", .status = 200, .method = GET, .keyword = true, .found = true,
          .max_latency_ms = 100, .request_us = 200000, .action = VERDICT_JUDGED,
          .reason = SQ_REASON_TOO_SLOW, .error = "200 ms > 100 ms" },
        //  A libcurl failure beats them all.
        { .name = "timeout with a 500", .code = CURLE_OPERATION_TIMEDOUT, .status = 500,
          .method = GET, .keyword = true, .max_latency_ms = 100, .request_us = 200000,
          .action = VERDICT_JUDGED, .reason = SQ_REASON_TIMEOUT,
          .expect_code = CURLE_OPERATION_TIMEDOUT },
    };
    ROWS (rows);
}

//  HEAD refused (405, 501): GET with what is left of the timeout, in whole
//  milliseconds (timeout_ms - elapsed_us / 1000); nothing left: timeout.
static void
test_head_refused_falls_back (void **state)
{
    const row_t rows [] = {
        { .name = "HEAD 405 at once", .status = 405, .method = HEAD, .timeout_ms = 5000,
          .action = VERDICT_FALL_BACK_TO_GET, .time_left_ms = 5000 },
        { .name = "HEAD 501 at once", .status = 501, .method = HEAD, .timeout_ms = 5000,
          .action = VERDICT_FALL_BACK_TO_GET, .time_left_ms = 5000 },
        { .name = "HEAD 405 after 1234.567 ms", .status = 405, .method = HEAD,
          .timeout_ms = 5000, .elapsed_us = 1234567,
          .action = VERDICT_FALL_BACK_TO_GET, .time_left_ms = 3766 },
        { .name = "HEAD 501 after 999 µs", .status = 501, .method = HEAD,
          .timeout_ms = 1000, .elapsed_us = 999,
          .action = VERDICT_FALL_BACK_TO_GET, .time_left_ms = 1000 },
        { .name = "HEAD 405, 1 ms left", .status = 405, .method = HEAD,
          .timeout_ms = 5000, .elapsed_us = 4999999,
          .action = VERDICT_FALL_BACK_TO_GET, .time_left_ms = 1 },
        //  The fallback comes before the accepted set is consulted.
        { .name = "HEAD 405 that is accepted", .status = 405, .method = HEAD, .accept = "405",
          .timeout_ms = 5000, .elapsed_us = 1000,
          .action = VERDICT_FALL_BACK_TO_GET, .time_left_ms = 4999 },
        //  No time left: a timeout, decided by HEAD.
        { .name = "HEAD 405, no time left", .status = 405, .method = HEAD,
          .timeout_ms = 5000, .elapsed_us = 5000000, .action = VERDICT_JUDGED,
          .reason = SQ_REASON_TIMEOUT, .expect_code = CURLE_OPERATION_TIMEDOUT },
        { .name = "HEAD 501, past the timeout", .status = 501, .method = HEAD,
          .timeout_ms = 500, .elapsed_us = 700000, .action = VERDICT_JUDGED,
          .reason = SQ_REASON_TIMEOUT, .expect_code = CURLE_OPERATION_TIMEDOUT },
        //  GET is never sent again: a 405 or 501 to GET is a bad status.
        { .name = "GET 405", .status = 405, .method = GET, .timeout_ms = 5000,
          .action = VERDICT_JUDGED, .reason = SQ_REASON_HTTP_STATUS, .error = "HTTP 405" },
        { .name = "GET 501", .status = 501, .method = GET, .timeout_ms = 5000,
          .action = VERDICT_JUDGED, .reason = SQ_REASON_HTTP_STATUS, .error = "HTTP 501" },
        //  Other refusals do not fall back.
        { .name = "HEAD 403", .status = 403, .method = HEAD, .timeout_ms = 5000,
          .action = VERDICT_JUDGED, .reason = SQ_REASON_HTTP_STATUS, .error = "HTTP 403" },
        { .name = "HEAD 502", .status = 502, .method = HEAD, .timeout_ms = 5000,
          .action = VERDICT_JUDGED, .reason = SQ_REASON_HTTP_STATUS, .error = "HTTP 502" },
    };
    ROWS (rows);
}

static void
test_first_method (void **state)
{
    static sq_check_t job;
    memset (&job, 0, sizeof (job));
    job.method = SQ_METHOD_HEAD;
    assert_int_equal (verdict_first_method (&job), SQ_METHOD_HEAD);
    job.method = SQ_METHOD_GET;
    assert_int_equal (verdict_first_method (&job), SQ_METHOD_GET);
    //  An expected keyword needs the body: GET, whatever the site said.
    strcpy (job.keyword, "welcome");
    assert_int_equal (verdict_first_method (&job), SQ_METHOD_GET);
    job.method = SQ_METHOD_HEAD;
    assert_int_equal (verdict_first_method (&job), SQ_METHOD_GET);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_curl_codes),
        cmocka_unit_test (test_status_against_accepted_ranges),
        cmocka_unit_test (test_keyword_and_stopped_body),
        cmocka_unit_test (test_latency_boundary),
        cmocka_unit_test (test_order_of_expectations),
        cmocka_unit_test (test_head_refused_falls_back),
        cmocka_unit_test (test_first_method),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
