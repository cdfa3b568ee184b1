/*  =========================================================================
    testsite - start and stop the local HTTP/HTTPS test site for tests

    Runs python3 on tests/fixtures/testsite.py through fixture_process
    (private mkdtemp directory, ready file polled every 20 ms for 20 s at
    most) and parses its flat JSON object of ports and the CA path.

    The child gets TMPDIR set to the same private directory, so the
    fixture's certificate directory lives inside it too, and testsite_stop
    can remove everything even when the fixture had to be killed.

    testsite_request talks to the site with libcurl's easy interface.
    =========================================================================
*/

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "testsite.h"
#include "fixture_process.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SQ_TESTSITE_SCRIPT
#   error "SQ_TESTSITE_SCRIPT must be defined: absolute path of tests/fixtures/testsite.py"
#endif

//  Listener names, in the order of the ports array
static const char *s_listeners [] = {
    "http", "https", "https_expired", "silent", "reset", "garbage", "endless", "closed"
};
#define TESTSITE_LISTENERS  (sizeof (s_listeners) / sizeof (s_listeners [0]))

#define TESTSITE_REQUEST_TIMEOUT_MS 10000L  //  testsite_request limit

//  Structure of our class

struct _testsite_t {
    fixture_process_t *process;         //  The fixture child process
    int ports [TESTSITE_LISTENERS];     //  Port per listener, -1 if unknown
    char *ca;                           //  Absolute path of the CA (PEM)
};


//  --------------------------------------------------------------------------
//  Helpers

static int
s_listener_index (const char *name)
{
    if (!name)
        return -1;
    for (size_t index = 0; index < TESTSITE_LISTENERS; index++)
        if (strcmp (s_listeners [index], name) == 0)
            return (int) index;
    return -1;
}

//  One member of the ready object: a port per listener, "ca" the CA path.
//  Unknown keys are ignored.
static bool
s_ready_member (void *arg, const char *key, fixture_json_type_t type,
                const char *value, size_t length)
{
    testsite_t *self = (testsite_t *) arg;
    if (strcmp (key, "ca") == 0) {
        if (type != FIXTURE_JSON_STRING || strlen (value) != length)
            return false;
        free (self->ca);
        self->ca = strdup (value);
        return self->ca != NULL;
    }
    int index = s_listener_index (key);
    if (index >= 0)
        return type == FIXTURE_JSON_NUMBER
            && fixture_json_int (value, 1, 65535, &self->ports [index]);
    return true;
}

//  Parse the ready file text into self->ports and self->ca. Returns false
//  with a message on stderr if the text is invalid or incomplete.
static bool
s_parse_ready (testsite_t *self, const char *text, size_t length)
{
    if (!fixture_json_object (text, length, s_ready_member, self)) {
        fprintf (stderr, "testsite: ready file is not the expected JSON: %s\n",
                 text);
        return false;
    }
    bool valid = true;
    for (size_t index = 0; index < TESTSITE_LISTENERS; index++)
        if (self->ports [index] < 0) {
            fprintf (stderr, "testsite: ready file has no port for \"%s\"\n",
                     s_listeners [index]);
            valid = false;
        }
    if (!self->ca || self->ca [0] != '/') {
        fprintf (stderr, "testsite: ready file has no absolute \"ca\" path\n");
        valid = false;
    }
    return valid;
}


//  --------------------------------------------------------------------------
//  Start the test site and wait until it is ready

testsite_t *
testsite_start (void)
{
    testsite_t *self = (testsite_t *) calloc (1, sizeof (testsite_t));
    if (!self) {
        fprintf (stderr, "testsite: out of memory\n");
        return NULL;
    }
    for (size_t index = 0; index < TESTSITE_LISTENERS; index++)
        self->ports [index] = -1;

    char *text = NULL;
    size_t length = 0;
    self->process = fixture_process_start ("testsite", SQ_TESTSITE_SCRIPT,
                                           NULL, &text, &length);
    if (!self->process || !s_parse_ready (self, text, length))
        testsite_stop (&self);
    free (text);
    return self;
}


//  --------------------------------------------------------------------------
//  Stop the test site and remove its files

void
testsite_stop (testsite_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    testsite_t *self = *self_p;
    fixture_process_stop (&self->process);
    free (self->ca);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Port of a listener, -1 if unknown

int
testsite_port (testsite_t *self, const char *name)
{
    int index = s_listener_index (name);
    if (!self || index < 0)
        return -1;
    return self->ports [index];
}


//  --------------------------------------------------------------------------
//  Path of the test CA certificate

const char *
testsite_ca (testsite_t *self)
{
    return self? self->ca: NULL;
}


//  --------------------------------------------------------------------------
//  URL of a path on a listener; caller frees

char *
testsite_url (testsite_t *self, const char *listener, const char *path)
{
    int port = testsite_port (self, listener);
    if (port < 0)
        return NULL;
    bool tls = strcmp (listener, "https") == 0
            || strcmp (listener, "https_expired") == 0;
    if (!path)
        path = "/";
    return fixture_format ("%s://127.0.0.1:%d%s%s", tls? "https": "http",
                           port, path [0] == '/'? "": "/", path);
}


//  --------------------------------------------------------------------------
//  Requests on the "http" listener

//  What a GET's body may hold: a count is a few digits.
#define TESTSITE_BODY_MAX   64

typedef struct {
    char text [TESTSITE_BODY_MAX + 1];  //  body so far, NUL-terminated
    size_t length;                      //  bytes in text
} body_t;

static size_t
s_on_body (char *data, size_t size, size_t count, void *arg)
{
    body_t *body = (body_t *) arg;
    size_t bytes = size * count;
    if (bytes > TESTSITE_BODY_MAX - body->length)
        return 0;                       //  too long: curl fails the transfer
    memcpy (body->text + body->length, data, bytes);
    body->length += bytes;
    body->text [body->length] = '\0';
    return bytes;
}

//  HEAD (body NULL) or GET (body filled) of path; the HTTP status or -1.
static int
s_request (testsite_t *self, const char *path, body_t *body)
{
    char *url = testsite_url (self, "http", path);
    CURL *easy = url? curl_easy_init (): NULL;
    if (!easy) {
        fprintf (stderr, "testsite: cannot make a request for %s\n",
                 path? path: "/");
        free (url);
        return -1;
    }
    curl_easy_setopt (easy, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_on_body);
        curl_easy_setopt (easy, CURLOPT_WRITEDATA, body);
    }
    else
        curl_easy_setopt (easy, CURLOPT_NOBODY, 1L);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, TESTSITE_REQUEST_TIMEOUT_MS);
    long status = -1;
    CURLcode rc = curl_easy_perform (easy);
    if (rc == CURLE_OK)
        rc = curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        fprintf (stderr, "testsite: %s %s failed: %s\n", body? "GET": "HEAD",
                 url, curl_easy_strerror (rc));
        status = -1;
    }
    curl_easy_cleanup (easy);
    free (url);
    return (int) status;
}

int
testsite_request (testsite_t *self, const char *path)
{
    return s_request (self, path, NULL);
}


//  --------------------------------------------------------------------------
//  Hit counts

long
testsite_hits (testsite_t *self, const char *path)
{
    if (!path || path [0] != '/') {
        fprintf (stderr, "testsite: a hit count needs a path from '/', not '%s'\n",
                 path? path: "(null)");
        return -1;
    }
    char *hits_path = fixture_format ("/hits%s", path);
    body_t body = { .length = 0 };
    int status = hits_path? s_request (self, hits_path, &body): -1;
    free (hits_path);
    char *end = NULL;
    long count = strtol (body.text, &end, 10);
    if (status != 200 || end == body.text || strcmp (end, "\n") != 0 || count < 0) {
        fprintf (stderr, "testsite: no hit count for %s (HTTP %d, '%s')\n",
                 path, status, body.text);
        return -1;
    }
    return count;
}

long
testsite_wait_hits (testsite_t *self, const char *path, long want, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    long count = testsite_hits (self, path);
    while (count < want && fixture_now_ms () < deadline) {
        fixture_sleep_ms (50);
        count = testsite_hits (self, path);
    }
    if (count < want)
        fprintf (stderr, "testsite: %s had %ld hits, not %ld, within %d ms\n",
                 path, count, want, timeout_ms);
    return count;
}
