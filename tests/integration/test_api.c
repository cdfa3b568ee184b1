/*  test_api.c: the hub's HTTP API, /metrics and `squirrel add / remove /
    status --api`, through real `squirrel run` processes and a real HTTP
    client (libcurl), answers parsed with jansson.

    One hub (the "shared" one, started by the group set-up) serves the
    tests that only read or add sites of their own: the shape of every
    endpoint, the SSE feed, /metrics under promtool with a password in a
    site's URL, PATCH and DELETE, and the commands.  The tests that need a
    hub of their own get one: every refusal (and a second hub without a
    token file, for 403), and the life of an API site across a restart
    and a SIGHUP.

    Checks are seen where they land: in the API's results and in the test
    site's hit counts.  Every wait has a deadline; the config loader's
    floor is a 10 s interval, so the longest waits are one interval and a
    margin (ASan start-up and two shared cores included).
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_harness.h"
#include "fixture_process.h"
#include "store.h"
#include "testsite.h"
#include "webhook.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_MS        15000   //  `run` says "monitoring" (ASan start-up included)
#define STOP_MS         30000   //  a clean stop
#define RUN_MS          30000   //  a command that runs to its end
#define CHECK_MS        20000   //  a 10 s site is checked: one interval and a margin
#define ROUND_MS        30000   //  a file site's first check (spread) and its recheck
#define INTERVAL_MS     10000   //  every site's interval (the loader's floor)
#define SETTLE_MS       2000    //  a check under way when a site went, and its store write
#define HTTP_TIMEOUT_MS 10000   //  one API call
#define ANSWER_MAX      (8u << 20)  //  bytes of an answer kept
#define BODY_MAX        65536   //  the server's body limit (HTTP_BODY_MAX)

#define TOKEN           "api-test-token-6f1c2b9e0d7a"
#define SECRET          "pw-Zq7Kx3Vt9Lr"    //  the password in one site's URL


//  --------------------------------------------------------------------------
//  HTTP, through libcurl

typedef struct {
    long status;                //  HTTP status, 0 when no answer came
    char *body;                 //  the body, NUL-terminated ("" when none)
    size_t size;                //  its length
    char *headers;              //  the header lines, NUL-terminated
    size_t headers_size;        //  their length
    json_t *json;               //  the body parsed, or NULL
} answer_t;

//  A body sent in pieces (chunked), as a read callback takes it.
typedef struct {
    const char *data;           //  what is sent
    size_t size;                //  its length
    size_t sent;                //  how much went
} upload_t;

static size_t
s_grow (char **text, size_t *size, const char *data, size_t length)
{
    if (*size + length > ANSWER_MAX)
        return 0;
    char *grown = (char *) realloc (*text, *size + length + 1);
    if (!grown)
        return 0;
    memcpy (grown + *size, data, length);
    *size += length;
    grown [*size] = 0;
    *text = grown;
    return length;
}

static size_t
s_take_body (char *data, size_t size, size_t count, void *arg)
{
    answer_t *answer = (answer_t *) arg;
    return s_grow (&answer->body, &answer->size, data, size * count);
}

static size_t
s_take_header (char *data, size_t size, size_t count, void *arg)
{
    answer_t *answer = (answer_t *) arg;
    return s_grow (&answer->headers, &answer->headers_size, data, size * count);
}

static size_t
s_give_piece (char *buffer, size_t size, size_t count, void *arg)
{
    upload_t *upload = (upload_t *) arg;
    //  Small pieces: many chunks, as a client streaming a body sends them.
    size_t length = size * count < 4096 ? size * count : 4096;
    if (length > upload->size - upload->sent)
        length = upload->size - upload->sent;
    memcpy (buffer, upload->data + upload->sent, length);
    upload->sent += length;
    return length;
}

static void
s_answer_free (answer_t *answer)
{
    free (answer->body);
    free (answer->headers);
    json_decref (answer->json);
    memset (answer, 0, sizeof (*answer));
}

static void s_show_hub_log (void);

//  method url, with "Authorization: Bearer token" when token is not NULL
//  and body (size bytes) when body is not NULL, sent with Content-Length,
//  or chunked when chunked is true.  The answer (status 0 when none came).
static answer_t
s_call_sized (const char *method, const char *url, const char *token, const char *body,
              size_t size, bool chunked)
{
    answer_t answer = { 0 };
    CURL *curl = curl_easy_init ();
    assert_non_null (curl);
    struct curl_slist *headers = NULL;
    char *authorization = NULL;
    if (token) {
        authorization = fixture_format ("Authorization: Bearer %s", token);
        headers = curl_slist_append (headers, authorization);
    }
    upload_t upload = { body, size, 0 };
    if (body) {
        headers = curl_slist_append (headers, "Content-Type: application/json");
        curl_easy_setopt (curl, CURLOPT_POST, 1L);
        if (chunked) {
            headers = curl_slist_append (headers, "Transfer-Encoding: chunked");
            curl_easy_setopt (curl, CURLOPT_READFUNCTION, s_give_piece);
            curl_easy_setopt (curl, CURLOPT_READDATA, &upload);
        }
        else {
            curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) size);
        }
    }
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) HTTP_TIMEOUT_MS);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_take_body);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, s_take_header);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, &answer);
    CURLcode code = curl_easy_perform (curl);
    if (code == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &answer.status);
    else {
        fprintf (stderr, "%s %s: %s\n", method, url, curl_easy_strerror (code));
        s_show_hub_log ();
    }
    curl_easy_cleanup (curl);
    curl_slist_free_all (headers);
    free (authorization);
    if (!answer.body)
        answer.body = strdup ("");
    if (!answer.headers)
        answer.headers = strdup ("");
    assert_non_null (answer.body);
    assert_non_null (answer.headers);
    answer.json = json_loadb (answer.body, answer.size, 0, NULL);
    return answer;
}

static answer_t
s_call (const char *method, const char *url, const char *token, const char *body)
{
    return s_call_sized (method, url, token, body, body ? strlen (body) : 0, false);
}

//  GET api + path, which must answer 200 with JSON; the answer.
static answer_t
s_get_ok (const char *api, const char *path)
{
    char *url = fixture_format ("%s%s", api, path);
    answer_t answer = s_call ("GET", url, NULL, NULL);
    if (answer.status != 200 || !answer.json)
        fprintf (stderr, "GET %s answered %ld: %s\n", url, answer.status, answer.body);
    assert_int_equal (answer.status, 200);
    assert_non_null (answer.json);
    free (url);
    return answer;
}

//  The value of the header name (case-insensitive) in answer, as a new
//  string, or NULL.
static char *
s_header (const answer_t *answer, const char *name)
{
    size_t length = strlen (name);
    for (const char *line = answer->headers; line && *line; ) {
        const char *end = strstr (line, "\r\n");
        if (!end)
            end = line + strlen (line);
        if ((size_t) (end - line) > length && strncasecmp (line, name, length) == 0
        &&  line [length] == ':') {
            const char *value = line + length + 1;
            while (*value == ' ')
                value++;
            return strndup (value, (size_t) (end - value));
        }
        line = *end ? end + 2 : end;
    }
    return NULL;
}

//  The answer is status with a JSON {"error": "..."} whose text holds
//  needle (when not NULL); where, when not NULL, is its "where" exactly.
static void
s_assert_refusal (const answer_t *answer, long status, const char *needle, const char *where)
{
    if (answer->status != status)
        fprintf (stderr, "expected %ld, got %ld: %s\n", status, answer->status, answer->body);
    assert_int_equal (answer->status, status);
    assert_non_null (answer->json);
    const char *error = json_string_value (json_object_get (answer->json, "error"));
    assert_non_null (error);
    assert_true (strlen (error) > 0);
    if (needle && !strstr (error, needle))
        fprintf (stderr, "expected '%s' in the error, got: %s\n", needle, error);
    if (needle)
        assert_non_null (strstr (error, needle));
    if (where) {
        const char *given = json_string_value (json_object_get (answer->json, "where"));
        assert_non_null (given);
        assert_string_equal (given, where);
    }
    char *type = s_header (answer, "Content-Type");
    assert_non_null (type);
    assert_string_equal (type, "application/json");
    free (type);
}


//  --------------------------------------------------------------------------
//  A hub: `squirrel run` with an http section

typedef struct {
    cli_harness_t *harness;     //  its folder and children
    bool own_harness;           //  made (and destroyed) here
    pid_t run;                  //  the running `squirrel run`, or 0
    int runs;                   //  starts so far (logs run1.err, run2.err, ...)
    char *config;               //  its config's path
    char *api;                  //  "http://127.0.0.1:PORT"
    char *token_file;           //  the token's file, or NULL (writes off)
    char *file_url;             //  a file site that stays up (normal form)
    char *feed_url;             //  a file site the feed test switches down
    char *secret_url;           //  a file site whose URL holds SECRET
    char *log;                  //  the running one's stderr file name
} hub_t;

//  The hub whose log is shown when an answer does not come: the last
//  started.
static hub_t *s_watched = NULL;

//  The hub the group set-up starts, for the tests that share it.
static hub_t *s_shared = NULL;

//  The end of the watched hub's log on stderr (a crash report, say).
static void
s_show_hub_log (void)
{
    if (!s_watched || !s_watched->harness || !s_watched->log)
        return;
    char *text = cli_harness_read (s_watched->harness, s_watched->log);
    size_t length = strlen (text);
    const char *from = length > 6000 ? text + length - 6000 : text;
    fprintf (stderr, "--- the end of %s:\n%s\n---\n", s_watched->log, from);
    free (text);
}

//  A site id from a JSON value, or 0.
static uint64_t
s_id_of (json_t *value)
{
    return json_is_integer (value) ? (uint64_t) json_integer_value (value) : 0;
}

//  Write the hub's config: the three file sites (none with an owner), the
//  owner alice, http on a free port, the token file when with_token.
static void
s_hub_config (hub_t *hub, bool with_token)
{
    cli_harness_t *harness = hub->harness;
    int port = cli_harness_free_ports (1);
    assert_true (port > 0);
    hub->api = fixture_format ("http://127.0.0.1:%d", port);
    int site_port = testsite_port (cli_harness_site, "http");
    hub->file_url = fixture_format ("http://localhost:%d/count/api-file", site_port);
    hub->feed_url = fixture_format ("http://127.0.0.1:%d/switch/api-feed", site_port);
    hub->secret_url = fixture_format ("http://user:%s@127.0.0.1:%d/count/api-secret",
                                      SECRET, site_port);
    char *token_line = NULL;
    if (with_token) {
        assert_int_equal (cli_harness_write (harness, "token", TOKEN "\n"), 0);
        hub->token_file = cli_harness_path (harness, "token");
        assert_int_equal (chmod (hub->token_file, 0600), 0);
        token_line = fixture_format (", token_file: %s", hub->token_file);
    }
    char *alice = webhook_url (cli_harness_webhook, "/alice");
    char *text = fixture_format (
        "data_dir: %s/data\n"
        "feed: %s\n"
        "http: { listen: 127.0.0.1:%d%s }\n"
        "status_page: { title: \"Squirrel API test\", sites: [%s, \"%s\"] }\n"
        "defaults:\n"
        "  interval: 10s\n"
        "  timeout: 2s\n"
        "owners:\n"
        "  alice:\n"
        "    webhook: %s\n"
        "sites:\n"
        "  - url: %s\n"
        "  - url: %s\n"
        "    failure_threshold: 1\n"
        "  - url: \"%s\"\n",
        cli_harness_dir (harness), cli_harness_feed (harness), port,
        token_line ? token_line : "", hub->file_url, hub->secret_url, alice,
        hub->file_url, hub->feed_url, hub->secret_url);
    assert_int_equal (cli_harness_write (harness, "run.yaml", text), 0);
    hub->config = cli_harness_path (harness, "run.yaml");
    free (text);
    free (alice);
    free (token_line);
}

//  Start `squirrel run` on the hub's config; wait until it serves.
static void
s_hub_start (hub_t *hub)
{
    hub->runs++;
    free (hub->log);
    hub->log = fixture_format ("run%d.err", hub->runs);
    char *out = fixture_format ("run%d.out", hub->runs);
    const char *args [] = { "run", hub->config, NULL };
    hub->run = cli_harness_spawn (hub->harness, out, hub->log, args);
    free (out);
    s_watched = hub;
    assert_true (hub->run > 0);
    //  The address first, then the sites: the server is up by then.
    char *serving = fixture_format ("squirrel run: status page at %s/", hub->api);
    assert_true (cli_harness_wait_text (hub->harness, hub->log, serving, START_MS));
    assert_true (cli_harness_wait_text (hub->harness, hub->log, "monitoring ", START_MS));
    char *log = cli_harness_read (hub->harness, hub->log);
    assert_true (strstr (log, serving) < strstr (log, "squirrel run: monitoring "));
    free (log);
    free (serving);
}

//  SIGTERM, and it must stop cleanly.
static void
s_hub_stop (hub_t *hub)
{
    assert_true (hub->run > 0);
    assert_int_equal (kill (hub->run, SIGTERM), 0);
    int code = cli_harness_reap (hub->harness, hub->run, STOP_MS);
    hub->run = 0;
    if (code != 0) {
        s_watched = hub;
        s_show_hub_log ();
    }
    assert_int_equal (code, 0);
}

static hub_t *
s_hub_new (cli_harness_t *harness, bool with_token)
{
    hub_t *hub = (hub_t *) calloc (1, sizeof (hub_t));
    assert_non_null (hub);
    hub->harness = harness;
    s_hub_config (hub, with_token);
    s_hub_start (hub);
    return hub;
}

static void
s_hub_destroy (hub_t **hub_p)
{
    hub_t *hub = *hub_p;
    if (!hub)
        return;
    if (s_watched == hub)
        s_watched = hub == s_shared ? NULL : s_shared;
    if (hub->own_harness)
        cli_harness_destroy (&hub->harness);
    free (hub->config);
    free (hub->api);
    free (hub->token_file);
    free (hub->file_url);
    free (hub->feed_url);
    free (hub->secret_url);
    free (hub->log);
    free (hub);
    *hub_p = NULL;
}

//  api + path with url escaped after it ("...?url=" + url).  Caller frees.
static char *
s_with_url (const char *api, const char *path, const char *url)
{
    char *escaped = curl_easy_escape (NULL, url, 0);
    assert_non_null (escaped);
    char *full = fixture_format ("%s%s%s", api, path, escaped);
    curl_free (escaped);
    return full;
}

//  The site GET /api/v1/sites?url=URL lists (a new reference), or NULL
//  when it lists none.
static json_t *
s_site_by_url (const char *api, const char *url)
{
    char *full = s_with_url (api, "/api/v1/sites?url=", url);
    answer_t answer = s_call ("GET", full, NULL, NULL);
    free (full);
    assert_int_equal (answer.status, 200);
    json_t *sites = json_object_get (answer.json, "sites");
    assert_true (json_is_array (sites));
    assert_true (json_array_size (sites) <= 1);
    json_t *site = json_incref (json_array_get (sites, 0));
    s_answer_free (&answer);
    return site;
}

//  Wait until GET ?url= lists the site, in state when state is not NULL;
//  the site (a new reference), or NULL at the deadline.
static json_t *
s_wait_site (const char *api, const char *url, const char *state, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    while (true) {
        json_t *site = s_site_by_url (api, url);
        const char *now = json_string_value (json_object_get (site, "state"));
        if (site && (!state || (now && strcmp (now, state) == 0)))
            return site;
        if (fixture_now_ms () >= deadline) {
            fprintf (stderr, "%s was not listed%s%s within %d ms (state: %s)\n", url,
                     state ? " as " : "", state ? state : "", timeout_ms, now ? now : "none");
            json_decref (site);
            return NULL;
        }
        json_decref (site);
        fixture_sleep_ms (200);
    }
}

//  Results of site id at api with at after since (unix seconds).
static size_t
s_results_since (const char *api, uint64_t id, time_t since)
{
    char *path = fixture_format ("/api/v1/sites/%llu/results?since=%lld&limit=100",
                                 (unsigned long long) id, (long long) since);
    answer_t answer = s_get_ok (api, path);
    json_t *results = json_object_get (answer.json, "results");
    assert_true (json_is_array (results));
    size_t count = json_array_size (results);
    s_answer_free (&answer);
    free (path);
    return count;
}

//  Wait until the site has a result after since; false at the deadline.
static bool
s_wait_result_since (const char *api, uint64_t id, time_t since, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    while (s_results_since (api, id, since) == 0) {
        if (fixture_now_ms () >= deadline) {
            fprintf (stderr, "site %llu had no result after %lld within %d ms\n",
                     (unsigned long long) id, (long long) since, timeout_ms);
            return false;
        }
        fixture_sleep_ms (200);
    }
    return true;
}

//  POST a site (body) with the token; must answer 201.  Its id.
static uint64_t
s_add (hub_t *hub, const char *body)
{
    char *url = fixture_format ("%s/api/v1/sites", hub->api);
    answer_t answer = s_call ("POST", url, TOKEN, body);
    if (answer.status != 201)
        fprintf (stderr, "POST %s answered %ld: %s\n", body, answer.status, answer.body);
    assert_int_equal (answer.status, 201);
    uint64_t id = s_id_of (json_object_get (answer.json, "id"));
    assert_true (id > 0);
    s_answer_free (&answer);
    free (url);
    return id;
}

//  What a write could change, as lines: "ID URL OWNER SOURCE" from GET
//  /api/v1/sites (sorted), then the store's api_site rows (url and body),
//  read straight from SQLite.  Caller frees.
static int
s_compare_lines (const void *one, const void *two)
{
    return strcmp (*(char *const *) one, *(char *const *) two);
}

static char *
s_snapshot (hub_t *hub)
{
    answer_t answer = s_get_ok (hub->api, "/api/v1/sites");
    json_t *sites = json_object_get (answer.json, "sites");
    assert_true (json_is_array (sites));
    size_t count = json_array_size (sites);
    char **lines = (char **) calloc (count + 1, sizeof (char *));
    assert_non_null (lines);
    size_t index;
    json_t *site;
    json_array_foreach (sites, index, site) {
        const char *owner = json_string_value (json_object_get (site, "owner"));
        lines [index] = fixture_format ("%llu %s %s %s\n",
            (unsigned long long) s_id_of (json_object_get (site, "id")),
            json_string_value (json_object_get (site, "url")), owner ? owner : "-",
            json_string_value (json_object_get (site, "source")));
    }
    qsort (lines, count, sizeof (char *), s_compare_lines);
    char *text = strdup ("");
    size_t size = 0;
    for (index = 0; index < count; index++) {
        assert_true (s_grow (&text, &size, lines [index], strlen (lines [index])) > 0);
        free (lines [index]);
    }
    free (lines);
    s_answer_free (&answer);

    char *path = cli_harness_path (hub->harness, "data/" STORE_FILE_NAME);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout (db, 5000);
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2 (db, "SELECT url, body FROM api_site ORDER BY url", -1, &statement,
                            NULL) == SQLITE_OK) {
        while (sqlite3_step (statement) == SQLITE_ROW) {
            char *row = fixture_format ("api_site %s %s\n", sqlite3_column_text (statement, 0),
                                        sqlite3_column_text (statement, 1));
            assert_true (s_grow (&text, &size, row, strlen (row)) > 0);
            free (row);
        }
    }
    //  (No api_site table yet: nothing was ever added, which is a state too.)
    sqlite3_finalize (statement);
    sqlite3_close (db);
    free (path);
    return text;
}

//  After a refused write: the same as before.
static void
s_assert_unchanged (hub_t *hub, const char *before, const char *what)
{
    char *now = s_snapshot (hub);
    if (strcmp (now, before))
        fprintf (stderr, "%s changed what the hub holds:\n--- before\n%s--- after\n%s",
                 what, before, now);
    assert_string_equal (now, before);
    free (now);
}

//  The body of api + path as text (any status); caller frees.
static char *
s_fetch_text (const char *api, const char *path)
{
    char *url = fixture_format ("%s%s", api, path);
    answer_t answer = s_call ("GET", url, NULL, NULL);
    char *text = strdup (answer.body);
    s_answer_free (&answer);
    free (url);
    return text;
}


//  --------------------------------------------------------------------------
//  The SSE feed, read in a thread into a file of the harness's folder

typedef struct {
    char *url;                  //  what is read
    char *last_event_id;        //  sent as Last-Event-ID, or NULL
    FILE *out;                  //  where the stream goes
    atomic_bool stop;           //  set to end the transfer
    long status;                //  the answer's status, once ended
    char *headers;              //  the answer's headers
    size_t headers_size;        //  their length
    pthread_t thread;           //  the reader
} feed_reader_t;

static size_t
s_feed_write (char *data, size_t size, size_t count, void *arg)
{
    feed_reader_t *reader = (feed_reader_t *) arg;
    size_t written = fwrite (data, size, count, reader->out);
    fflush (reader->out);
    return written * size;
}

static size_t
s_feed_header (char *data, size_t size, size_t count, void *arg)
{
    feed_reader_t *reader = (feed_reader_t *) arg;
    return s_grow (&reader->headers, &reader->headers_size, data, size * count);
}

static int
s_feed_progress (void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    return atomic_load (&((feed_reader_t *) arg)->stop) ? 1 : 0;
}

static void *
s_feed_thread (void *arg)
{
    feed_reader_t *reader = (feed_reader_t *) arg;
    CURL *curl = curl_easy_init ();
    struct curl_slist *headers = NULL;
    char *resume = NULL;
    if (reader->last_event_id) {
        resume = fixture_format ("Last-Event-ID: %s", reader->last_event_id);
        headers = curl_slist_append (headers, resume);
    }
    curl_easy_setopt (curl, CURLOPT_URL, reader->url);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_feed_write);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, reader);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, s_feed_header);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, reader);
    curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, s_feed_progress);
    curl_easy_setopt (curl, CURLOPT_XFERINFODATA, reader);
    curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_perform (curl);
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &reader->status);
    curl_easy_cleanup (curl);
    curl_slist_free_all (headers);
    free (resume);
    return NULL;
}

//  Follow the feed at url into the file name of the harness's folder.
static feed_reader_t *
s_feed_open (cli_harness_t *harness, const char *url, const char *name,
             const char *last_event_id)
{
    feed_reader_t *reader = (feed_reader_t *) calloc (1, sizeof (feed_reader_t));
    assert_non_null (reader);
    reader->url = strdup (url);
    reader->last_event_id = last_event_id ? strdup (last_event_id) : NULL;
    char *path = cli_harness_path (harness, name);
    reader->out = fopen (path, "w");
    free (path);
    assert_non_null (reader->out);
    atomic_init (&reader->stop, false);
    assert_int_equal (pthread_create (&reader->thread, NULL, s_feed_thread, reader), 0);
    return reader;
}

//  Stop reading and join; the status the feed answered (-1 when it was
//  200 without the type of an event stream).
static long
s_feed_close (feed_reader_t **reader_p)
{
    feed_reader_t *reader = *reader_p;
    atomic_store (&reader->stop, true);
    pthread_join (reader->thread, NULL);
    fclose (reader->out);
    long status = reader->status;
    if (status == 200
    &&  !(reader->headers && strstr (reader->headers, "Content-Type: text/event-stream")))
        status = -1;
    free (reader->url);
    free (reader->last_event_id);
    free (reader->headers);
    free (reader);
    *reader_p = NULL;
    return status;
}


//  --------------------------------------------------------------------------
//  The shared hub

static int
s_group_setup (void **state)
{
    if (cli_harness_group_setup (state))
        return -1;
    cli_harness_t *harness = cli_harness_new (SQ_BINARY);
    if (!harness)
        return -1;
    //  s_hub_new asserts; a failure here fails the group, as it should.
    s_shared = s_hub_new (harness, true);
    s_shared->own_harness = true;
    return 0;
}

static int
s_group_teardown (void **state)
{
    int rc = 0;
    if (s_shared && s_shared->run > 0) {
        kill (s_shared->run, SIGTERM);
        int code = cli_harness_reap (s_shared->harness, s_shared->run, STOP_MS);
        if (code != 0) {
            fprintf (stderr, "the shared hub ended with %d, not 0\n", code);
            s_watched = s_shared;
            s_show_hub_log ();
            rc = -1;
        }
    }
    s_hub_destroy (&s_shared);
    cli_harness_group_teardown (state);
    return rc;
}


//  The teardown of a test with a hub of its own (on cli_harness_setup's
//  harness): a failed test leaves its hub to the harness, which kills it.
static int
s_own_teardown (void **state)
{
    s_watched = s_shared;
    return cli_harness_teardown (state);
}


//  --------------------------------------------------------------------------
//  1. Every endpoint answers with its documented shape

//  An uptime object: 24h, 7d and 30d, each a percent 0..100 or null.
static void
s_assert_uptime (json_t *uptime)
{
    assert_true (json_is_object (uptime));
    const char *keys [] = { "24h", "7d", "30d" };
    for (size_t index = 0; index < 3; index++) {
        json_t *value = json_object_get (uptime, keys [index]);
        assert_true (json_is_null (value) || json_is_number (value));
        if (json_is_number (value))
            assert_true (json_number_value (value) >= 0 && json_number_value (value) <= 100);
    }
}

//  A site of the list, checked up and owned by the file.
static void
s_assert_site_shape (json_t *site, uint64_t id, const char *url, const char *source)
{
    assert_true (json_is_object (site));
    assert_int_equal (s_id_of (json_object_get (site, "id")), id);
    assert_string_equal (json_string_value (json_object_get (site, "url")), url);
    assert_true (json_is_null (json_object_get (site, "owner"))
              || json_is_string (json_object_get (site, "owner")));
    assert_string_equal (json_string_value (json_object_get (site, "source")), source);
    assert_string_equal (json_string_value (json_object_get (site, "state")), "up");
    assert_non_null (json_string_value (json_object_get (site, "since")));
    assert_non_null (json_string_value (json_object_get (site, "last_check")));
    assert_string_equal (json_string_value (json_object_get (site, "last_reason")), "ok");
    assert_int_equal (json_integer_value (json_object_get (site, "last_status")), 200);
    s_assert_uptime (json_object_get (site, "uptime"));
    s_assert_uptime (json_object_get (site, "quorum_uptime"));
    //  Up since its first check: 100 % over the day.
    assert_true (json_number_value (json_object_get (json_object_get (site, "uptime"), "24h"))
                 == 100.0);
    assert_true (json_is_false (json_object_get (site, "open_incident")));
}

//  A result: every documented field, for an up check of the test site.
static void
s_assert_result_up (json_t *result)
{
    assert_true (json_is_object (result));
    assert_non_null (json_string_value (json_object_get (result, "at")));
    assert_true (json_is_true (json_object_get (result, "up")));
    assert_string_equal (json_string_value (json_object_get (result, "reason")), "ok");
    assert_int_equal (json_integer_value (json_object_get (result, "http_status")), 200);
    const char *method = json_string_value (json_object_get (result, "method"));
    assert_non_null (method);
    assert_true (strcmp (method, "HEAD") == 0 || strcmp (method, "GET") == 0);
    assert_true (strlen (json_string_value (json_object_get (result, "pinger"))) > 0);
    assert_true (json_is_string (json_object_get (result, "region")));
    json_t *timings = json_object_get (result, "timings_ms");
    const char *phases [] = { "queue", "dns", "connect", "tls", "ttfb", "total" };
    for (size_t index = 0; index < 6; index++) {
        json_t *value = json_object_get (timings, phases [index]);
        assert_true (json_is_number (value));
        assert_true (json_number_value (value) >= 0);
    }
    assert_true (json_number_value (json_object_get (timings, "total")) > 0);
    assert_true (json_number_value (json_object_get (timings, "ttfb"))
                 <= json_number_value (json_object_get (timings, "total")));
    assert_true (json_is_null (json_object_get (result, "cert_expiry")));     //  http
    assert_true (json_is_string (json_object_get (result, "error")));
}

static void
test_endpoints_answer_their_shape (void **state)
{
    hub_t *hub = s_shared;
    const char *api = hub->api;

    //  The file site, asked for in another spelling of its URL, is listed
    //  once it is up (its first check is spread over the 10 s interval).
    char *spelling = strdup (hub->file_url);
    memcpy (spelling + 7, "LOCALHOST", 9);
    json_t *site = s_wait_site (api, spelling, "up", ROUND_MS);
    assert_non_null (site);
    uint64_t id = s_id_of (json_object_get (site, "id"));
    assert_true (id > 0);
    s_assert_site_shape (site, id, hub->file_url, "file");
    json_decref (site);

    //  The list: every file site, each with the fields of one.
    answer_t answer = s_get_ok (api, "/api/v1/sites");
    json_t *sites = json_object_get (answer.json, "sites");
    assert_true (json_is_array (sites));
    assert_true (json_array_size (sites) >= 3);
    size_t index, seen = 0;
    json_array_foreach (sites, index, site) {
        const char *url = json_string_value (json_object_get (site, "url"));
        assert_non_null (url);
        if (strcmp (url, hub->file_url) == 0) {
            s_assert_site_shape (site, id, hub->file_url, "file");
            seen++;
        }
        assert_non_null (json_string_value (json_object_get (site, "state")));
        assert_true (json_is_boolean (json_object_get (site, "open_incident")));
    }
    assert_int_equal (seen, 1);
    s_answer_free (&answer);

    //  One site: the same, with its regions and its last result.
    char *path = fixture_format ("/api/v1/sites/%llu", (unsigned long long) id);
    answer = s_get_ok (api, path);
    s_assert_site_shape (answer.json, id, hub->file_url, "file");
    json_t *regions = json_object_get (answer.json, "regions");
    assert_true (json_is_array (regions));
    assert_true (json_array_size (regions) >= 1);
    json_t *region = json_array_get (regions, 0);
    assert_true (json_is_string (json_object_get (region, "region")));
    assert_string_equal (json_string_value (json_object_get (region, "verdict")), "up");
    assert_string_equal (json_string_value (json_object_get (region, "reason")), "ok");
    assert_non_null (json_string_value (json_object_get (region, "at")));
    s_assert_uptime (json_object_get (region, "uptime"));
    s_assert_result_up (json_object_get (answer.json, "last_result"));
    char *last_at = strdup (json_string_value (json_object_get (json_object_get (answer.json,
                                                "last_result"), "at")));
    s_answer_free (&answer);
    free (path);

    //  Its results, newest first, and limit and since taken.
    path = fixture_format ("/api/v1/sites/%llu/results", (unsigned long long) id);
    answer = s_get_ok (api, path);
    assert_int_equal (s_id_of (json_object_get (answer.json, "site_id")), id);
    json_t *results = json_object_get (answer.json, "results");
    assert_true (json_array_size (results) >= 1);
    s_assert_result_up (json_array_get (results, 0));
    assert_string_equal (json_string_value (json_object_get (json_array_get (results, 0), "at")),
                         last_at);
    s_answer_free (&answer);
    free (path);
    path = fixture_format ("/api/v1/sites/%llu/results?limit=1", (unsigned long long) id);
    answer = s_get_ok (api, path);
    assert_int_equal (json_array_size (json_object_get (answer.json, "results")), 1);
    s_answer_free (&answer);
    free (path);
    //  A since in the future, as unix seconds and as ISO 8601: nothing.
    path = fixture_format ("/api/v1/sites/%llu/results?since=%lld", (unsigned long long) id,
                           (long long) time (NULL) + 3600);
    answer = s_get_ok (api, path);
    assert_int_equal (json_array_size (json_object_get (answer.json, "results")), 0);
    s_answer_free (&answer);
    free (path);
    path = fixture_format ("/api/v1/sites/%llu/results?since=2099-01-01T00:00:00Z",
                           (unsigned long long) id);
    answer = s_get_ok (api, path);
    assert_int_equal (json_array_size (json_object_get (answer.json, "results")), 0);
    s_answer_free (&answer);
    free (path);
    path = fixture_format ("/api/v1/sites/%llu/results?since=2000-01-01T00:00:00Z",
                           (unsigned long long) id);
    answer = s_get_ok (api, path);
    assert_true (json_array_size (json_object_get (answer.json, "results")) >= 1);
    s_answer_free (&answer);
    free (path);
    //  A since that is no time, a limit that is no number: 400, saying which.
    path = fixture_format ("%s/api/v1/sites/%llu/results?since=yesterday", api,
                           (unsigned long long) id);
    answer = s_call ("GET", path, NULL, NULL);
    s_assert_refusal (&answer, 400, "since", "since");
    s_answer_free (&answer);
    free (path);
    path = fixture_format ("%s/api/v1/incidents?limit=many", api);
    answer = s_call ("GET", path, NULL, NULL);
    s_assert_refusal (&answer, 400, "limit", "limit");
    s_answer_free (&answer);
    free (path);

    //  Incidents and alerts: lists of objects with their fields.
    answer = s_get_ok (api, "/api/v1/incidents?since=0&limit=50");
    json_t *incidents = json_object_get (answer.json, "incidents");
    assert_true (json_is_array (incidents));
    json_t *incident;
    json_array_foreach (incidents, index, incident) {
        assert_true (s_id_of (json_object_get (incident, "id")) > 0);
        assert_true (s_id_of (json_object_get (incident, "site_id")) > 0);
        assert_non_null (json_string_value (json_object_get (incident, "url")));
        assert_non_null (json_string_value (json_object_get (incident, "start")));
        assert_true (json_is_boolean (json_object_get (incident, "open")));
        assert_non_null (json_string_value (json_object_get (incident, "reason")));
    }
    s_answer_free (&answer);
    answer = s_get_ok (api, "/api/v1/alerts?since=0&limit=50");
    assert_true (json_is_array (json_object_get (answer.json, "alerts")));
    s_answer_free (&answer);

    //  A site added through the API: 201 with its id, url, owner, source
    //  and interval, then listed as the API's.
    char *added_url = testsite_url (cli_harness_site, "http", "/count/api-shape");
    char *body = fixture_format ("{\"url\": \"%s\", \"interval\": \"10s\"}", added_url);
    char *post = fixture_format ("%s/api/v1/sites", api);
    answer = s_call ("POST", post, TOKEN, body);
    assert_int_equal (answer.status, 201);
    uint64_t added = s_id_of (json_object_get (answer.json, "id"));
    assert_true (added > 0 && added != id);
    assert_string_equal (json_string_value (json_object_get (answer.json, "url")), added_url);
    assert_true (json_is_null (json_object_get (answer.json, "owner")));
    assert_string_equal (json_string_value (json_object_get (answer.json, "source")), "api");
    assert_int_equal (json_integer_value (json_object_get (answer.json, "interval_ms")),
                      INTERVAL_MS);
    s_answer_free (&answer);
    site = s_wait_site (api, added_url, "up", CHECK_MS);
    assert_non_null (site);
    s_assert_site_shape (site, added, added_url, "api");
    json_decref (site);

    //  The status page and /metrics answer with their types.
    answer = s_call ("GET", hub->api, NULL, NULL);
    assert_int_equal (answer.status, 200);
    char *type = s_header (&answer, "Content-Type");
    assert_non_null (type);
    assert_non_null (strstr (type, "text/html"));
    assert_non_null (strstr (answer.body, "Squirrel API test"));
    free (type);
    s_answer_free (&answer);
    char *metrics = fixture_format ("%s/metrics", api);
    answer = s_call ("GET", metrics, NULL, NULL);
    assert_int_equal (answer.status, 200);
    type = s_header (&answer, "Content-Type");
    assert_non_null (type);
    assert_non_null (strstr (type, "text/plain; version=0.0.4"));
    free (type);
    s_answer_free (&answer);

    free (metrics);
    free (post);
    free (body);
    free (added_url);
    free (last_at);
    free (spelling);
}


//  --------------------------------------------------------------------------
//  2. Every error class, and nothing changed by a refused write

//  A JSON body of exactly size bytes that breaks a rule (a 2 s interval):
//  {"url": URL, "interval": "2s"} padded with spaces.  Caller frees.
static char *
s_padded_body (const char *url, size_t size)
{
    char *head = fixture_format ("{\"url\": \"%s\", \"interval\": \"2s\"", url);
    size_t length = strlen (head);
    assert_true (length + 1 < size);
    char *body = (char *) malloc (size + 1);
    assert_non_null (body);
    memcpy (body, head, length);
    memset (body + length, ' ', size - length - 1);
    body [size - 1] = '}';
    body [size] = 0;
    free (head);
    return body;
}

static void
test_every_refusal_changes_nothing (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    hub_t *hub = s_hub_new (harness, true);
    const char *api = hub->api;
    char *sites = fixture_format ("%s/api/v1/sites", api);
    char *new_url = testsite_url (cli_harness_site, "http", "/count/api-refused");

    //  An API site (for the duplicate), and the file site's id.
    char *dup_url = testsite_url (cli_harness_site, "http", "/count/api-dup");
    char *body = fixture_format ("{\"url\": \"%s\"}", dup_url);
    uint64_t dup = s_add (hub, body);
    free (body);
    json_t *site = s_wait_site (api, dup_url, NULL, CHECK_MS);
    assert_non_null (site);
    json_decref (site);
    site = s_wait_site (api, hub->file_url, NULL, CHECK_MS);
    assert_non_null (site);
    uint64_t file_id = s_id_of (json_object_get (site, "id"));
    json_decref (site);
    char *before = s_snapshot (hub);
    assert_non_null (strstr (before, dup_url));
    char *file_path = fixture_format ("%s/api/v1/sites/%llu", api, (unsigned long long) file_id);
    char *dup_path = fixture_format ("%s/api/v1/sites/%llu", api, (unsigned long long) dup);

    //  400, a rule broken: where says the body, the error the place in it
    //  and the rule.  An owner not declared under owners (the file's sites
    //  have none), a 2 s interval, a key no site has, a URL we do not check.
    body = fixture_format ("{\"url\": \"%s\", \"owner\": \"bob\"}", new_url);
    answer_t answer = s_call ("POST", sites, TOKEN, body);
    s_assert_refusal (&answer, 400, "owner", "body");
    assert_non_null (strstr (json_string_value (json_object_get (answer.json, "error")), "'bob'"));
    assert_true (strncmp (json_string_value (json_object_get (answer.json, "error")),
                          "body:1:", 7) == 0);
    s_answer_free (&answer);
    free (body);
    s_assert_unchanged (hub, before, "an undeclared owner");
    body = fixture_format ("{\"url\": \"%s\", \"interval\": \"2s\"}", new_url);
    answer = s_call ("POST", sites, TOKEN, body);
    s_assert_refusal (&answer, 400, "interval", "body");
    s_answer_free (&answer);
    free (body);
    body = fixture_format ("{\"url\": \"%s\", \"colour\": \"red\"}", new_url);
    answer = s_call ("POST", sites, TOKEN, body);
    s_assert_refusal (&answer, 400, "colour", "body");
    s_answer_free (&answer);
    free (body);
    answer = s_call ("POST", sites, TOKEN, "{\"url\": \"ftp://127.0.0.1/file\"}");
    s_assert_refusal (&answer, 400, NULL, "url");
    s_answer_free (&answer);
    answer = s_call ("POST", sites, TOKEN, "{\"owner\": \"alice\"}");
    s_assert_refusal (&answer, 400, "url", "url");
    s_answer_free (&answer);
    s_assert_unchanged (hub, before, "a rule broken");

    //  400, not JSON (where: body:LINE:COLUMN), or JSON but not an object.
    body = fixture_format ("{\"url\": \"%s\",\n  \"interval\": ", new_url);
    answer = s_call ("POST", sites, TOKEN, body);
    s_assert_refusal (&answer, 400, "not JSON", NULL);
    const char *where = json_string_value (json_object_get (answer.json, "where"));
    assert_non_null (where);
    assert_true (strncmp (where, "body:2:", 7) == 0 && atoi (where + 7) > 0);
    s_answer_free (&answer);
    free (body);
    answer = s_call ("POST", sites, TOKEN, "{\"url\": ");
    s_assert_refusal (&answer, 400, "not JSON", NULL);
    where = json_string_value (json_object_get (answer.json, "where"));
    assert_true (where && strncmp (where, "body:1:", 7) == 0 && atoi (where + 7) > 0);
    s_answer_free (&answer);
    answer = s_call ("POST", sites, TOKEN, "[1, 2]");
    s_assert_refusal (&answer, 400, "JSON object", "body:1:1");
    s_answer_free (&answer);
    answer = s_call ("PATCH", dup_path, TOKEN, "{\"interval\": \"20s\"");
    s_assert_refusal (&answer, 400, "not JSON", NULL);
    s_answer_free (&answer);
    answer = s_call ("POST", sites, TOKEN, NULL);
    s_assert_refusal (&answer, 400, "got none", "body");
    s_answer_free (&answer);
    s_assert_unchanged (hub, before, "a malformed body");

    //  401: no token, a wrong one, a scheme other than Bearer; each with
    //  WWW-Authenticate.  Even a write the hub would refuse anyway.
    body = fixture_format ("{\"url\": \"%s\"}", new_url);
    const char *wrong [] = { NULL, "not-the-token-at-all", TOKEN "x", "" };
    for (size_t index = 0; index < sizeof (wrong) / sizeof (wrong [0]); index++) {
        answer = s_call ("POST", sites, wrong [index], body);
        s_assert_refusal (&answer, 401, index ? "wrong" : "Authorization: Bearer", NULL);
        char *challenge = s_header (&answer, "WWW-Authenticate");
        assert_non_null (challenge);
        assert_true (strncmp (challenge, "Bearer", 6) == 0);
        free (challenge);
        s_answer_free (&answer);
    }
    answer = s_call ("DELETE", dup_path, NULL, NULL);
    s_assert_refusal (&answer, 401, NULL, NULL);
    s_answer_free (&answer);
    answer = s_call ("PATCH", dup_path, "x", "{\"interval\": \"20s\"}");
    s_assert_refusal (&answer, 401, NULL, NULL);
    s_answer_free (&answer);
    s_assert_unchanged (hub, before, "a write without the token");

    //  404: an unknown site (read, change, remove), an unknown path.
    char *unknown = fixture_format ("%s/api/v1/sites/987654", api);
    answer = s_call ("GET", unknown, NULL, NULL);
    s_assert_refusal (&answer, 404, NULL, NULL);
    s_answer_free (&answer);
    answer = s_call ("PATCH", unknown, TOKEN, "{\"interval\": \"20s\"}");
    s_assert_refusal (&answer, 404, NULL, NULL);
    s_answer_free (&answer);
    answer = s_call ("DELETE", unknown, TOKEN, NULL);
    s_assert_refusal (&answer, 404, NULL, NULL);
    s_answer_free (&answer);
    free (unknown);
    const char *nowhere [] = { "/api/v1/sites/987654/results", "/api/v1/nothing",
                               "/api/v1/sites/abc", "/api/v1/sites/1/more", "/nothing",
                               "/api/v2/sites" };
    for (size_t index = 0; index < sizeof (nowhere) / sizeof (nowhere [0]); index++) {
        char *url = fixture_format ("%s%s", api, nowhere [index]);
        answer = s_call ("GET", url, NULL, NULL);
        s_assert_refusal (&answer, 404, NULL, NULL);
        s_answer_free (&answer);
        free (url);
    }
    s_assert_unchanged (hub, before, "a write to an unknown site");

    //  405 with Allow.
    struct { const char *method, *path, *allow; } wrong_method [] = {
        { "PUT", "/api/v1/sites", "GET, POST" },
        { "DELETE", "/api/v1/sites", "GET, POST" },
        { "POST", "/api/v1/sites/ID", "GET, PATCH, DELETE" },
        { "PUT", "/api/v1/sites/ID", "GET, PATCH, DELETE" },
        { "POST", "/api/v1/sites/ID/results", "GET" },
        { "POST", "/api/v1/incidents", "GET" },
        { "DELETE", "/api/v1/alerts", "GET" },
        { "POST", "/api/v1/feed", "GET" },
        { "POST", "/metrics", "GET" },
        { "DELETE", "/", "GET" },
    };
    for (size_t index = 0; index < sizeof (wrong_method) / sizeof (wrong_method [0]); index++) {
        //  ID stands for the API site's id.
        const char *path = wrong_method [index].path;
        const char *id_at = strstr (path, "/ID");
        char *url = id_at ? fixture_format ("%s%.*s/%llu%s", api, (int) (id_at - path), path,
                                            (unsigned long long) dup, id_at + 3)
                          : fixture_format ("%s%s", api, path);
        answer = s_call (wrong_method [index].method, url, TOKEN, "{}");
        if (answer.status != 405)
            fprintf (stderr, "%s %s\n", wrong_method [index].method, path);
        s_assert_refusal (&answer, 405, NULL, NULL);
        char *allow = s_header (&answer, "Allow");
        assert_non_null (allow);
        assert_string_equal (allow, wrong_method [index].allow);
        free (allow);
        s_answer_free (&answer);
        free (url);
    }
    s_assert_unchanged (hub, before, "a wrong method");

    //  409: the file's site, in another spelling (scheme and host in
    //  capitals), changed or removed; and a site added twice.
    char *spelling = fixture_format ("HTTP://LOCALHOST:%d/count/api-file",
                                     testsite_port (cli_harness_site, "http"));
    free (body);
    body = fixture_format ("{\"url\": \"%s\", \"interval\": \"20s\"}", spelling);
    char *owned = fixture_format ("%s is defined in the config file %s (line ", hub->file_url,
                                  hub->config);
    answer = s_call ("POST", sites, TOKEN, body);
    s_assert_refusal (&answer, 409, owned, NULL);
    assert_non_null (strstr (json_string_value (json_object_get (answer.json, "error")),
                             "edit the file"));
    s_answer_free (&answer);
    answer = s_call ("PATCH", file_path, TOKEN, "{\"interval\": \"20s\"}");
    s_assert_refusal (&answer, 409, owned, NULL);
    s_answer_free (&answer);
    answer = s_call ("DELETE", file_path, TOKEN, NULL);
    s_assert_refusal (&answer, 409, owned, NULL);
    s_answer_free (&answer);
    s_assert_unchanged (hub, before, "a change to the file's site");
    free (body);
    char *dup_spelling = strdup (dup_url);
    for (char *at = dup_spelling; *at && at < dup_spelling + 4; at++)
        *at = (char) (*at - 'a' + 'A');     //  "HTTP://..."
    body = fixture_format ("{\"url\": \"%s\", \"interval\": \"30s\"}", dup_spelling);
    answer = s_call ("POST", sites, TOKEN, body);
    char *already = fixture_format ("already added: /api/v1/sites/%llu", (unsigned long long) dup);
    s_assert_refusal (&answer, 409, already, NULL);
    s_answer_free (&answer);
    s_assert_unchanged (hub, before, "a site added twice");

    //  413: a body over the limit, announced (Content-Length) or streamed
    //  (chunked); and the limit itself is allowed (the hub then judges it:
    //  400 for its 2 s interval).
    char *large = s_padded_body (new_url, BODY_MAX + 1);
    answer = s_call_sized ("POST", sites, TOKEN, large, BODY_MAX + 1, false);
    s_assert_refusal (&answer, 413, "larger than 65536 bytes", NULL);
    s_answer_free (&answer);
    answer = s_call_sized ("POST", sites, TOKEN, large, BODY_MAX + 1, true);
    s_assert_refusal (&answer, 413, "larger than 65536 bytes", NULL);
    s_answer_free (&answer);
    answer = s_call_sized ("PATCH", dup_path, TOKEN, large, BODY_MAX + 1, true);
    s_assert_refusal (&answer, 413, "larger than 65536 bytes", NULL);
    s_answer_free (&answer);
    free (large);
    char *huge = s_padded_body (new_url, 4 * BODY_MAX);
    answer = s_call_sized ("POST", sites, TOKEN, huge, 4 * BODY_MAX, false);
    s_assert_refusal (&answer, 413, NULL, NULL);
    s_answer_free (&answer);
    answer = s_call_sized ("POST", sites, TOKEN, huge, 4 * BODY_MAX, true);
    s_assert_refusal (&answer, 413, NULL, NULL);
    s_answer_free (&answer);
    free (huge);
    char *limit = s_padded_body (new_url, BODY_MAX);
    answer = s_call_sized ("POST", sites, TOKEN, limit, BODY_MAX, true);
    s_assert_refusal (&answer, 400, "interval", "body");
    s_answer_free (&answer);
    answer = s_call_sized ("POST", sites, TOKEN, limit, BODY_MAX, false);
    s_assert_refusal (&answer, 400, "interval", "body");
    s_answer_free (&answer);
    free (limit);
    s_assert_unchanged (hub, before, "an oversized body");

    //  403: a hub without a token file refuses every write, token or not,
    //  and still answers reads.
    cli_harness_t *other_harness = cli_harness_new (SQ_BINARY);
    assert_non_null (other_harness);
    hub_t *other = s_hub_new (other_harness, false);
    other->own_harness = true;
    assert_true (cli_harness_count (other_harness, other->log, "writes off: no http.token_file")
                 == 1);
    char *other_sites = fixture_format ("%s/api/v1/sites", other->api);
    free (body);
    body = fixture_format ("{\"url\": \"%s\"}", new_url);
    char *other_before = s_snapshot (other);
    answer = s_call ("POST", other_sites, TOKEN, body);
    s_assert_refusal (&answer, 403, "token_file", NULL);
    s_answer_free (&answer);
    answer = s_call ("POST", other_sites, NULL, body);
    s_assert_refusal (&answer, 403, "token_file", NULL);
    s_answer_free (&answer);
    char *other_site = fixture_format ("%s/api/v1/sites/1", other->api);
    answer = s_call ("DELETE", other_site, TOKEN, NULL);
    s_assert_refusal (&answer, 403, NULL, NULL);
    s_answer_free (&answer);
    s_assert_unchanged (other, other_before, "a write to a hub without a token file");
    answer = s_get_ok (other->api, "/api/v1/sites");
    s_answer_free (&answer);
    s_hub_stop (other);
    s_hub_destroy (&other);

    //  The hub's log tells of no site added or removed but the first.
    assert_int_equal (cli_harness_count (harness, hub->log, "added through the API"), 1);
    assert_int_equal (cli_harness_count (harness, hub->log, "removed through the API"), 0);

    //  A write that is taken shows up: had any refused one been applied,
    //  it would show by then too.
    uint64_t marker = s_add (hub, body);
    site = s_wait_site (api, new_url, NULL, CHECK_MS);
    assert_non_null (site);
    json_decref (site);
    char *after = s_snapshot (hub);
    char *marker_line = fixture_format ("%llu %s - api\n", (unsigned long long) marker, new_url);
    assert_non_null (strstr (after, marker_line));
    assert_int_equal (strlen (after), strlen (before) + strlen (marker_line)
                      + strlen ("api_site ") + strlen (new_url) + 1 + strlen (body) + 1);
    s_hub_stop (hub);

    free (marker_line);
    free (after);
    free (other_site);
    free (other_before);
    free (other_sites);
    free (already);
    free (dup_spelling);
    free (owned);
    free (spelling);
    free (dup_path);
    free (file_path);
    free (before);
    free (body);
    free (dup_url);
    free (new_url);
    free (sites);
    s_hub_destroy (&hub);
}


//  --------------------------------------------------------------------------
//  3. An API site is checked, survives a restart, and a SIGHUP

static void
test_api_site_outlives_restart_and_reload (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    hub_t *hub = s_hub_new (harness, true);
    char *url = testsite_url (cli_harness_site, "http", "/count/api-lives");
    char *body = fixture_format ("{\"url\": \"%s\", \"owner\": \"alice\", \"interval\": \"10s\"}",
                                 url);

    //  Checked within its interval: a result, and a hit on the test site.
    time_t added_at = time (NULL) - 1;
    long hits = testsite_hits (cli_harness_site, "/count/api-lives");
    assert_true (hits >= 0);
    uint64_t id = s_add (hub, body);
    assert_true (s_wait_result_since (hub->api, id, added_at, CHECK_MS));
    assert_true (testsite_hits (cli_harness_site, "/count/api-lives") > hits);
    json_t *site = s_site_by_url (hub->api, url);
    assert_non_null (site);
    assert_string_equal (json_string_value (json_object_get (site, "owner")), "alice");
    json_decref (site);

    //  Stopped and started again on the same config: the same site, the
    //  same id, still the API's, and checked by the new run.
    s_hub_stop (hub);
    time_t stopped_at = time (NULL) + 1;   //  past any result of the first run
    hits = testsite_hits (cli_harness_site, "/count/api-lives");
    s_hub_start (hub);
    assert_true (cli_harness_wait_text (harness, hub->log, "monitoring 4 sites", START_MS));
    site = s_site_by_url (hub->api, url);
    assert_non_null (site);
    assert_int_equal (s_id_of (json_object_get (site, "id")), id);
    assert_string_equal (json_string_value (json_object_get (site, "source")), "api");
    assert_string_equal (json_string_value (json_object_get (site, "owner")), "alice");
    json_decref (site);
    assert_true (s_wait_result_since (hub->api, id, stopped_at, CHECK_MS));
    assert_true (testsite_hits (cli_harness_site, "/count/api-lives") > hits);

    //  SIGHUP: the file is read again, the API's site stays, and is checked
    //  after the reload.
    assert_int_equal (kill (hub->run, SIGHUP), 0);
    char *reloaded = fixture_format ("squirrel run: reloaded %s: 4 sites", hub->config);
    assert_true (cli_harness_wait_text (harness, hub->log, reloaded, 10000));
    time_t reloaded_at = time (NULL) + 1;
    hits = testsite_hits (cli_harness_site, "/count/api-lives");
    site = s_site_by_url (hub->api, url);
    assert_non_null (site);
    assert_int_equal (s_id_of (json_object_get (site, "id")), id);
    assert_string_equal (json_string_value (json_object_get (site, "source")), "api");
    json_decref (site);
    assert_true (s_wait_result_since (hub->api, id, reloaded_at, CHECK_MS));
    assert_true (testsite_hits (cli_harness_site, "/count/api-lives") > hits);
    //  Nothing in either log said the site was left out.
    assert_int_equal (cli_harness_count (harness, "run1.err", "left out"), 0);
    assert_int_equal (cli_harness_count (harness, "run2.err", "left out"), 0);
    s_hub_stop (hub);

    free (reloaded);
    free (body);
    free (url);
    s_hub_destroy (&hub);
}


//  --------------------------------------------------------------------------
//  4. PATCH and DELETE

//  The body the store keeps for url, read from SQLite.  Caller frees; NULL
//  when there is none.
static char *
s_stored_body (hub_t *hub, const char *url)
{
    char *path = cli_harness_path (hub->harness, "data/" STORE_FILE_NAME);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout (db, 5000);
    sqlite3_stmt *statement = NULL;
    char *body = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, "SELECT body FROM api_site WHERE url = ?1", -1,
                                          &statement, NULL), SQLITE_OK);
    sqlite3_bind_text (statement, 1, url, -1, SQLITE_STATIC);
    if (sqlite3_step (statement) == SQLITE_ROW)
        body = strdup ((const char *) sqlite3_column_text (statement, 0));
    sqlite3_finalize (statement);
    sqlite3_close (db);
    free (path);
    return body;
}

//  Results the store holds for site id after at_us, read from SQLite.
static long long
s_stored_results_after (hub_t *hub, uint64_t id, int64_t at_us)
{
    char *path = cli_harness_path (hub->harness, "data/" STORE_FILE_NAME);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout (db, 5000);
    sqlite3_stmt *statement = NULL;
    long long count = -1;
    if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM result WHERE site_id = ?1 AND at_us > ?2",
                            -1, &statement, NULL) == SQLITE_OK) {
        sqlite3_bind_int64 (statement, 1, (sqlite3_int64) id);
        sqlite3_bind_int64 (statement, 2, at_us);
        if (sqlite3_step (statement) == SQLITE_ROW)
            count = sqlite3_column_int64 (statement, 0);
    }
    sqlite3_finalize (statement);
    sqlite3_close (db);
    free (path);
    return count;
}

static void
test_patch_and_delete (void **state)
{
    hub_t *hub = s_shared;
    char *url = testsite_url (cli_harness_site, "http", "/count/api-patch");
    char *body = fixture_format ("{\"url\": \"%s\", \"interval\": \"10s\"}", url);
    time_t added_at = time (NULL) - 1;
    uint64_t id = s_add (hub, body);
    assert_true (s_wait_result_since (hub->api, id, added_at, CHECK_MS));
    char *path = fixture_format ("%s/api/v1/sites/%llu", hub->api, (unsigned long long) id);
    //  A control, added before any change: the clock for the delete below
    //  (every change hands the whole list over, so one added after the
    //  delete would hide a delete that never reached the actors).
    char *control = testsite_url (cli_harness_site, "http", "/count/api-control");
    char *control_body = fixture_format ("{\"url\": \"%s\"}", control);
    s_add (hub, control_body);

    //  A new interval: answered, and kept.
    answer_t answer = s_call ("PATCH", path, TOKEN, "{\"interval\": \"12s\"}");
    assert_int_equal (answer.status, 200);
    assert_int_equal (s_id_of (json_object_get (answer.json, "id")), id);
    assert_string_equal (json_string_value (json_object_get (answer.json, "url")), url);
    assert_string_equal (json_string_value (json_object_get (answer.json, "source")), "api");
    assert_int_equal (json_integer_value (json_object_get (answer.json, "interval_ms")), 12000);
    s_answer_free (&answer);
    char *stored = s_stored_body (hub, url);
    assert_non_null (stored);
    assert_non_null (strstr (stored, "\"interval\":\"12s\""));
    free (stored);

    //  A bad interval: 400 naming it, and the 12 s stays (in the store, and
    //  in what the next change answers).
    char *before = s_snapshot (hub);
    answer = s_call ("PATCH", path, TOKEN, "{\"interval\": \"2s\"}");
    s_assert_refusal (&answer, 400, "interval", NULL);
    assert_non_null (strstr (json_string_value (json_object_get (answer.json, "error")), "'2s'"));
    s_answer_free (&answer);
    s_assert_unchanged (hub, before, "a bad PATCH");
    //  The URL cannot change.
    char *other = testsite_url (cli_harness_site, "http", "/count/api-elsewhere");
    char *move = fixture_format ("{\"url\": \"%s\"}", other);
    answer = s_call ("PATCH", path, TOKEN, move);
    s_assert_refusal (&answer, 400, "cannot change", "url");
    s_answer_free (&answer);
    s_assert_unchanged (hub, before, "a PATCH of the URL");
    //  null removes a key: the owner set, then taken away again.
    answer = s_call ("PATCH", path, TOKEN, "{\"owner\": \"alice\"}");
    assert_int_equal (answer.status, 200);
    assert_string_equal (json_string_value (json_object_get (answer.json, "owner")), "alice");
    assert_int_equal (json_integer_value (json_object_get (answer.json, "interval_ms")), 12000);
    s_answer_free (&answer);
    answer = s_call ("PATCH", path, TOKEN, "{\"owner\": null}");
    assert_int_equal (answer.status, 200);
    assert_true (json_is_null (json_object_get (answer.json, "owner")));
    assert_int_equal (json_integer_value (json_object_get (answer.json, "interval_ms")), 12000);
    s_answer_free (&answer);
    stored = s_stored_body (hub, url);
    assert_non_null (stored);
    assert_non_null (strstr (stored, "\"interval\":\"12s\""));
    assert_null (strstr (stored, "owner"));
    free (stored);

    //  Back to 10 s, the interval of every other site.
    answer = s_call ("PATCH", path, TOKEN, "{\"interval\": \"10s\"}");
    assert_int_equal (answer.status, 200);
    assert_int_equal (json_integer_value (json_object_get (answer.json, "interval_ms")),
                      INTERVAL_MS);
    s_answer_free (&answer);

    //  DELETE: answered with the id, gone from the API and the store, and
    //  checked no more: nothing lands for it (API, store, test site) while
    //  the control is checked twice, which is over an interval.
    answer = s_call ("DELETE", path, TOKEN, NULL);
    assert_int_equal (answer.status, 200);
    assert_int_equal (s_id_of (json_object_get (answer.json, "deleted")), id);
    s_answer_free (&answer);
    answer = s_call ("GET", path, NULL, NULL);
    s_assert_refusal (&answer, 404, NULL, NULL);
    s_answer_free (&answer);
    json_t *site = s_site_by_url (hub->api, url);
    assert_null (site);
    stored = s_stored_body (hub, url);
    assert_null (stored);
    //  A check sent just before the delete may still land, within the 2 s
    //  timeout: let it.  (A wait for an absence has to last its time.)
    fixture_sleep_ms (SETTLE_MS);
    int64_t deleted_us = (int64_t) time (NULL) * 1000000;
    long hits = testsite_hits (cli_harness_site, "/count/api-patch");
    long control_hits = testsite_hits (cli_harness_site, "/count/api-control");
    assert_true (testsite_wait_hits (cli_harness_site, "/count/api-control",
                                     control_hits + 2, INTERVAL_MS + CHECK_MS)
                 >= control_hits + 2);
    assert_int_equal (testsite_hits (cli_harness_site, "/count/api-patch"), hits);
    assert_int_equal (s_stored_results_after (hub, id, deleted_us), 0);
    char *results = fixture_format ("%s/results?since=%lld", path,
                                    (long long) (deleted_us / 1000000));
    //  Its results are the API's no more either (the store keeps them, as
    //  it keeps every removed site's history, but no new one).
    answer = s_call ("GET", results, NULL, NULL);
    s_assert_refusal (&answer, 404, NULL, NULL);
    s_answer_free (&answer);
    //  Deleting it again: 404.
    answer = s_call ("DELETE", path, TOKEN, NULL);
    s_assert_refusal (&answer, 404, NULL, NULL);
    s_answer_free (&answer);

    free (results);
    free (control_body);
    free (control);
    free (move);
    free (other);
    free (before);
    free (path);
    free (body);
    free (url);
}


//  --------------------------------------------------------------------------
//  5. The feed

//  The seq of the last "id: N" line before the event that holds needle in
//  the feed file; 0 if there is none.
static unsigned long long
s_event_id (const char *text, const char *needle)
{
    const char *found = strstr (text, needle);
    unsigned long long seq = 0;
    for (const char *at = text; found && (at = strstr (at, "id: ")) && at < found; at += 4)
        if (at == text || at [-1] == '\n')
            seq = strtoull (at + 4, NULL, 10);
    return seq;
}

static void
test_feed_streams_and_resumes (void **state)
{
    hub_t *hub = s_shared;
    cli_harness_t *harness = hub->harness;
    //  Up first, so that the alert to come is the switch's.
    json_t *site = s_wait_site (hub->api, hub->feed_url, "up", ROUND_MS);
    assert_non_null (site);
    json_decref (site);

    //  Subscribed (the retry line comes once it is), then the site fails.
    char *feed = fixture_format ("%s/api/v1/feed", hub->api);
    feed_reader_t *reader = s_feed_open (harness, feed, "feed1.txt", NULL);
    assert_true (cli_harness_wait_text (harness, "feed1.txt", "retry: ", 10000));
    assert_int_equal (testsite_request (cli_harness_site, "/set/api-feed/500"), 200);
    char *data = fixture_format ("\"url\":\"%s\",\"state\":\"down\"", hub->feed_url);
    assert_true (cli_harness_wait_text (harness, "feed1.txt", data, CHECK_MS + 5000));
    assert_int_equal (s_feed_close (&reader), 200);
    char *text = cli_harness_read (harness, "feed1.txt");
    unsigned long long seq = s_event_id (text, data);
    assert_true (seq >= 1);

    //  The same alert through /api/v1/alerts, and its incident, open, in
    //  /api/v1/incidents (the store keeps both a moment later).
    char *alerts = fixture_format ("/api/v1/alerts?since=%llu&limit=1", seq - 1);
    answer_t answer = s_get_ok (hub->api, alerts);
    json_t *listed = json_array_get (json_object_get (answer.json, "alerts"), 0);
    assert_non_null (listed);
    assert_int_equal (json_integer_value (json_object_get (listed, "seq")), seq);
    assert_string_equal (json_string_value (json_object_get (listed, "url")), hub->feed_url);
    assert_string_equal (json_string_value (json_object_get (listed, "state")), "down");
    assert_int_equal (json_array_size (json_object_get (answer.json, "alerts")), 1);
    s_answer_free (&answer);
    int64_t deadline = fixture_now_ms () + 10000;
    bool open = false;
    while (!open && fixture_now_ms () < deadline) {
        answer = s_get_ok (hub->api, "/api/v1/incidents?limit=100");
        size_t index;
        json_t *incident;
        json_array_foreach (json_object_get (answer.json, "incidents"), index, incident)
            if (strcmp (json_string_value (json_object_get (incident, "url")), hub->feed_url) == 0
            &&  json_is_true (json_object_get (incident, "open"))
            &&  json_is_null (json_object_get (incident, "end")))
                open = true;
        s_answer_free (&answer);
        if (!open)
            fixture_sleep_ms (200);
    }
    assert_true (open);
    assert_int_equal (testsite_request (cli_harness_site, "/set/api-feed/200"), 200);
    //  The event's lines, in the order SSE takes them.
    char *event = fixture_format ("id: %llu\nevent: alert\ndata: {", seq);
    assert_non_null (strstr (text, event));
    const char *line = strstr (text, event) + strlen (event) - 1;
    const char *end = strstr (line, "\n\n");
    assert_non_null (end);
    json_t *alert = json_loadb (line, (size_t) (end - line), 0, NULL);
    assert_non_null (alert);
    assert_int_equal (json_integer_value (json_object_get (alert, "seq")), seq);
    assert_string_equal (json_string_value (json_object_get (alert, "url")), hub->feed_url);
    assert_string_equal (json_string_value (json_object_get (alert, "state")), "down");
    json_decref (alert);
    free (text);

    //  Resumed after seq - 1 (Last-Event-ID, then ?since=): alert seq again,
    //  from the store.
    char *previous = fixture_format ("%llu", seq - 1);
    reader = s_feed_open (harness, feed, "feed2.txt", previous);
    assert_true (cli_harness_wait_text (harness, "feed2.txt", event, 10000));
    assert_int_equal (s_feed_close (&reader), 200);
    text = cli_harness_read (harness, "feed2.txt");
    assert_non_null (strstr (text, data));
    //  Nothing at or before seq - 1 is replayed.
    char *old = fixture_format ("id: %llu\n", seq - 1);
    assert_null (strstr (text, old));
    free (text);
    char *since = fixture_format ("%s?since=%llu", feed, seq - 1);
    reader = s_feed_open (harness, since, "feed3.txt", NULL);
    assert_true (cli_harness_wait_text (harness, "feed3.txt", event, 10000));
    assert_int_equal (s_feed_close (&reader), 200);
    //  A Last-Event-ID that is no seq: 400.
    char *bad = fixture_format ("%s?since=minus-one", feed);
    answer = s_call ("GET", bad, NULL, NULL);
    s_assert_refusal (&answer, 400, "seq", NULL);
    s_answer_free (&answer);

    free (bad);
    free (since);
    free (feed);
    free (alerts);
    free (old);
    free (previous);
    free (event);
    free (data);
}


//  --------------------------------------------------------------------------
//  6. /metrics passes promtool, and no secret shows anywhere

//  promtool on PATH, or NULL.
static char *
s_promtool (void)
{
    const char *path = getenv ("PATH");
    char *copy = strdup (path ? path : "/usr/bin:/bin");
    char *found = NULL;
    for (char *dir = strtok (copy, ":"); dir && !found; dir = strtok (NULL, ":")) {
        char *candidate = fixture_format ("%s/promtool", dir);
        if (access (candidate, X_OK) == 0)
            found = candidate;
        else
            free (candidate);
    }
    free (copy);
    return found;
}

//  Run promtool check metrics on the file in, its output to out; the exit
//  code (-1 when it did not end within 30 s).
static int
s_promtool_check (const char *promtool, const char *in, const char *out)
{
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        int input = open (in, O_RDONLY);
        int output = open (out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (input < 0 || output < 0)
            _exit (126);
        dup2 (input, 0);
        dup2 (output, 1);
        dup2 (output, 2);
        execl (promtool, promtool, "check", "metrics", (char *) NULL);
        _exit (127);
    }
    int64_t deadline = fixture_now_ms () + 30000;
    int status = 0;
    while (waitpid (pid, &status, WNOHANG) == 0) {
        if (fixture_now_ms () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, &status, 0);
            return -1;
        }
        fixture_sleep_ms (20);
    }
    return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static void
test_metrics_pass_promtool_and_hide_secrets (void **state)
{
    hub_t *hub = s_shared;
    cli_harness_t *harness = hub->harness;
    char *promtool = s_promtool ();
    if (!promtool)
        fail_msg ("promtool is not on PATH: apt-get install prometheus "
                  "(deploy/install-deps.sh installs it)");

    //  The site with a password in its URL is up, and /metrics says so
    //  with the password shown as ***.
    char *shown = fixture_format ("http://***@127.0.0.1:%d/count/api-secret",
                                  testsite_port (cli_harness_site, "http"));
    json_t *site = s_wait_site (hub->api, hub->secret_url, "up", ROUND_MS);
    assert_non_null (site);
    assert_string_equal (json_string_value (json_object_get (site, "url")), shown);
    uint64_t id = s_id_of (json_object_get (site, "id"));
    json_decref (site);
    char *series = fixture_format ("squirrel_site_up{url=\"%s\",", shown);
    char *metrics = s_fetch_text (hub->api, "/metrics");
    assert_non_null (strstr (metrics, series));
    const char *sample = strstr (metrics, series);
    const char *end = strchr (sample, '\n');
    assert_non_null (end);
    assert_true (end - sample > 3 && strncmp (end - 2, " 1", 2) == 0);
    char *state_series = fixture_format ("squirrel_site_state{url=\"%s\",state=\"up\"} 1",
                                         shown);
    assert_non_null (strstr (metrics, state_series));
    //  The families the issue names.
    const char *families [] = {
        "# TYPE squirrel_site_up gauge", "# TYPE squirrel_site_state gauge",
        "# TYPE squirrel_check_duration_seconds histogram", "squirrel_checks_total{",
        "squirrel_pingers{", "squirrel_pinger_free_slots", "# TYPE squirrel_schedule_lag_seconds histogram",
        "squirrel_store_pending_writes", "squirrel_frames_refused_total",
        "squirrel_notifications_total", "squirrel_cert_expiry_timestamp_seconds",
        "phase=\"dns\"", "phase=\"connect\"", "phase=\"tls\"", "phase=\"ttfb\"",
        "phase=\"total\""
    };
    for (size_t index = 0; index < sizeof (families) / sizeof (families [0]); index++) {
        if (!strstr (metrics, families [index]))
            fprintf (stderr, "/metrics has no %s\n", families [index]);
        assert_non_null (strstr (metrics, families [index]));
    }

    //  promtool takes it, with no complaint (exit 0).
    assert_int_equal (cli_harness_write (harness, "metrics.txt", metrics), 0);
    char *in = cli_harness_path (harness, "metrics.txt");
    char *out = cli_harness_path (harness, "promtool.txt");
    int code = s_promtool_check (promtool, in, out);
    char *said = cli_harness_read (harness, "promtool.txt");
    if (code != 0)
        fprintf (stderr, "promtool check metrics exited %d:\n%s\n", code, said);
    assert_int_equal (code, 0);

    //  No answer holds the password: the page, /metrics, every API read
    //  that names URLs, the feed replayed from the start.
    char *paths [] = {
        strdup ("/"), strdup ("/metrics"), strdup ("/api/v1/sites"),
        fixture_format ("/api/v1/sites/%llu", (unsigned long long) id),
        fixture_format ("/api/v1/sites/%llu/results?since=0", (unsigned long long) id),
        s_with_url ("", "/api/v1/sites?url=", hub->secret_url),
        strdup ("/api/v1/incidents?since=0"), strdup ("/api/v1/alerts?since=0"),
    };
    for (size_t index = 0; index < sizeof (paths) / sizeof (paths [0]); index++) {
        char *text = s_fetch_text (hub->api, paths [index]);
        assert_true (strlen (text) > 0);
        if (strstr (text, SECRET))
            fprintf (stderr, "GET %s shows the password\n", paths [index]);
        assert_null (strstr (text, SECRET));
        free (text);
        free (paths [index]);
    }
    //  Its own site in the page, shown without the password.
    char *page = s_fetch_text (hub->api, "/");
    assert_non_null (strstr (page, shown));
    free (page);
    char *feed = fixture_format ("%s/api/v1/feed", hub->api);
    feed_reader_t *reader = s_feed_open (harness, feed, "feed-all.txt", "0");
    assert_true (cli_harness_wait_text (harness, "feed-all.txt", "retry: ", 10000));
    assert_int_equal (s_feed_close (&reader), 200);
    free (feed);
    assert_int_equal (cli_harness_count (harness, "feed-all.txt", SECRET), 0);
    //  Nor does the hub's log.
    assert_int_equal (cli_harness_count (harness, hub->log, SECRET), 0);

    free (said);
    free (out);
    free (in);
    free (state_series);
    free (metrics);
    free (series);
    free (shown);
    free (promtool);
}


//  --------------------------------------------------------------------------
//  7. The commands

static void
test_commands_against_a_hub (void **state)
{
    hub_t *hub = s_shared;
    cli_harness_t *harness = hub->harness;
    char *url = testsite_url (cli_harness_site, "http", "/count/api-command");

    //  Without the token: 401, and a hint.
    const char *no_token [] = { "add", url, "--interval", "10s", "--api", hub->api, NULL };
    assert_int_equal (cli_harness_run (harness, no_token, RUN_MS), 1);
    assert_true (cli_harness_count (harness, "err.txt", "the hub answered 401") == 1);
    assert_true (cli_harness_count (harness, "err.txt", "--token-file") >= 1);
    assert_null (s_site_by_url (hub->api, url));

    //  With it: added, its id printed.
    const char *add [] = { "add", url, "--interval", "10s", "--api", hub->api,
                           "--token-file", hub->token_file, NULL };
    assert_int_equal (cli_harness_run (harness, add, RUN_MS), 0);
    json_t *site = s_wait_site (hub->api, url, NULL, CHECK_MS);
    assert_non_null (site);
    uint64_t id = s_id_of (json_object_get (site, "id"));
    assert_string_equal (json_string_value (json_object_get (site, "source")), "api");
    json_decref (site);
    char *added = fixture_format ("added site %llu: %s\n", (unsigned long long) id, url);
    char *out = cli_harness_read (harness, "out.txt");
    assert_string_equal (out, added);
    free (out);

    //  status --api lists it as the API's, and the file's as the file's.
    const char *status [] = { "status", "--api", hub->api, NULL };
    assert_int_equal (cli_harness_run (harness, status, RUN_MS), 0);
    out = cli_harness_read (harness, "out.txt");
    char *row = NULL;
    for (char *line = strtok (out, "\n"); line; line = strtok (NULL, "\n"))
        if (strstr (line, url))
            row = line;
    assert_non_null (row);
    assert_non_null (strstr (row, "  api "));
    free (out);
    const char *status_json [] = { "status", "--api", hub->api, "--json", NULL };
    assert_int_equal (cli_harness_run (harness, status_json, RUN_MS), 0);
    out = cli_harness_read (harness, "out.txt");
    size_t seen = 0;
    for (char *line = strtok (out, "\n"); line; line = strtok (NULL, "\n")) {
        json_t *entry = json_loads (line, 0, NULL);
        assert_non_null (entry);
        const char *listed = json_string_value (json_object_get (entry, "url"));
        const char *source = json_string_value (json_object_get (entry, "source"));
        if (strcmp (listed, url) == 0) {
            assert_string_equal (source, "api");
            assert_int_equal (s_id_of (json_object_get (entry, "id")), id);
            seen++;
        }
        if (strcmp (listed, hub->file_url) == 0) {
            assert_string_equal (source, "file");
            seen++;
        }
        json_decref (entry);
    }
    assert_int_equal (seen, 2);
    free (out);

    //  Added twice: refused with the hub's reason.
    assert_int_equal (cli_harness_run (harness, add, RUN_MS), 1);
    assert_true (cli_harness_count (harness, "err.txt", "the hub answered 409") == 1);

    //  Removed by URL (in another spelling), added again, removed by id.
    char *spelling = strdup (url);
    memcpy (spelling, "HTTP", 4);
    const char *remove_url [] = { "remove", spelling, "--api", hub->api,
                                  "--token-file", hub->token_file, NULL };
    assert_int_equal (cli_harness_run (harness, remove_url, RUN_MS), 0);
    assert_null (s_site_by_url (hub->api, url));
    assert_int_equal (cli_harness_run (harness, add, RUN_MS), 0);
    site = s_wait_site (hub->api, url, NULL, CHECK_MS);
    assert_non_null (site);
    uint64_t again = s_id_of (json_object_get (site, "id"));
    json_decref (site);
    char *again_text = fixture_format ("%llu", (unsigned long long) again);
    const char *remove_id [] = { "remove", again_text, "--api", hub->api,
                                 "--token-file", hub->token_file, NULL };
    assert_int_equal (cli_harness_run (harness, remove_id, RUN_MS), 0);
    out = cli_harness_read (harness, "out.txt");
    char *removed = fixture_format ("removed site %llu\n", (unsigned long long) again);
    assert_string_equal (out, removed);
    free (out);
    assert_null (s_site_by_url (hub->api, url));
    //  Gone: removing it again is refused.
    assert_int_equal (cli_harness_run (harness, remove_id, RUN_MS), 1);
    assert_true (cli_harness_count (harness, "err.txt", "the hub answered 404") == 1);
    assert_int_equal (cli_harness_run (harness, remove_url, RUN_MS), 1);
    assert_true (cli_harness_count (harness, "err.txt", "has no site") == 1);

    //  The file's site: 409 with the hub's reason, and it stays.
    const char *remove_file [] = { "remove", hub->file_url, "--api", hub->api,
                                   "--token-file", hub->token_file, NULL };
    assert_int_equal (cli_harness_run (harness, remove_file, RUN_MS), 1);
    assert_true (cli_harness_count (harness, "err.txt", "the hub answered 409") == 1);
    assert_true (cli_harness_count (harness, "err.txt", "is defined in the config file") == 1);
    site = s_site_by_url (hub->api, hub->file_url);
    assert_non_null (site);
    json_decref (site);

    //  Nothing listens there: it says it cannot reach the hub.
    const char *nowhere [] = { "add", url, "--api", "http://127.0.0.1:1",
                               "--token-file", hub->token_file, NULL };
    assert_int_equal (cli_harness_run (harness, nowhere, RUN_MS), 1);
    assert_true (cli_harness_count (harness, "err.txt", "cannot reach the hub") == 1);
    const char *status_nowhere [] = { "status", "--api", "http://127.0.0.1:1", NULL };
    assert_int_equal (cli_harness_run (harness, status_nowhere, RUN_MS), 1);
    assert_true (cli_harness_count (harness, "err.txt", "cannot reach the hub") == 1);

    free (removed);
    free (again_text);
    free (spelling);
    free (added);
    free (url);
}

//  test_api [PATTERN]: only the tests whose names match PATTERN (cmocka's
//  filter, '*' and '?'), e.g. test_api 'test_feed*'.
int
main (int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter (argv [1]);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_endpoints_answer_their_shape),
        cmocka_unit_test (test_feed_streams_and_resumes),
        cmocka_unit_test (test_metrics_pass_promtool_and_hide_secrets),
        cmocka_unit_test (test_commands_against_a_hub),
        cmocka_unit_test (test_patch_and_delete),
        cmocka_unit_test_setup_teardown (test_every_refusal_changes_nothing,
                                         cli_harness_setup, s_own_teardown),
        cmocka_unit_test_setup_teardown (test_api_site_outlives_restart_and_reload,
                                         cli_harness_setup, s_own_teardown),
    };
    int rc = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    curl_global_cleanup ();
    return rc;
}
