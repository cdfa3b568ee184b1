/*  =========================================================================
    testsite - start and stop the local HTTP/HTTPS test site for tests

    Runs tests/fixtures/testsite.py (python3 on PATH) as a child process,
    waits for its ready file and tells the ports of its listeners:

        "http"           plain HTTP/1.1 (/ok, /status/NNN, /redirect/N, ...)
        "https"          same over TLS, cert for 127.0.0.1 and localhost,
                         signed by the CA at testsite_ca ()
        "https_expired"  same over TLS with an expired cert (same CA)
        "silent"         accepts TCP, never answers
        "reset"          reads the request, then resets the connection
        "garbage"        reads the request, answers bytes that are not HTTP
        "endless"        answers a status line, then headers without end
        "closed"         nothing listens there (connection refused)

    Every request is counted by its path (without the query), on all
    listeners together: testsite_hits tells how many a path has had, so a
    test can see that a site was checked. /count/NAME answers 200 and is
    there to give each monitored site a path of its own.

    The script path comes from the compile definition SQ_TESTSITE_SCRIPT.
    testsite_request uses libcurl, which test programs link through sq_core.
    =========================================================================
*/

#ifndef SQ_TESTSITE_H_INCLUDED
#define SQ_TESTSITE_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _testsite_t testsite_t;

//  Start the test site and wait (up to 20 s) until it is ready. Returns
//  NULL on failure, with a message on stderr.
testsite_t *
    testsite_start (void);

//  Stop the test site (SIGTERM, then SIGKILL after a deadline), remove its
//  temporary files and set *self_p to NULL. Safe on NULL.
void
    testsite_stop (testsite_t **self_p);

//  Port of the named listener ("http", "https", "https_expired", "silent",
//  "reset", "garbage", "endless", "closed"); -1 if the name is unknown.
int
    testsite_port (testsite_t *self, const char *name);

//  Absolute path of the test CA certificate (PEM). Borrowed: valid until
//  testsite_stop.
const char *
    testsite_ca (testsite_t *self);

//  URL of a path on a listener: "https://127.0.0.1:PORT/path" for "https"
//  and "https_expired", "http://127.0.0.1:PORT/path" for the others. A
//  missing leading '/' is added; NULL path means "/". Returns NULL if the
//  listener is unknown. Caller frees.
char *
    testsite_url (testsite_t *self, const char *listener, const char *path);

//  Send a HEAD request for path on the "http" listener (libcurl easy, 10 s
//  at most), e.g. "/set/NAME/503" to flip what /switch/NAME answers.
//  Returns the HTTP status, or -1 (with a message on stderr) if there was
//  no answer. Tests that run threads call curl_global_init first.
int
    testsite_request (testsite_t *self, const char *path);

//  How many requests path (e.g. "/count/new", "/switch/run"; no query) has
//  had so far, on every listener together, asked with a GET of /hits/PATH
//  on the "http" listener (10 s at most). -1 (with a message on stderr) if
//  there was no answer.
long
    testsite_hits (testsite_t *self, const char *path);

//  Poll testsite_hits every 50 ms until it reaches want or timeout_ms has
//  passed; it is asked at least once. Returns the last count (-1 if the
//  site never answered); on timeout a message on stderr says so.
long
    testsite_wait_hits (testsite_t *self, const char *path, long want, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
