/*  test_page.c: the status page in a real browser, served by a real hub.

    `squirrel run` checks three sites of the test site and serves its
    page on a loopback port picked at run time; the config makes two of
    them public.  Once both public sites have been seen up (in the page,
    over HTTP), one is switched down through the test site, and once the
    page says so, headless Chromium loads it: the DOM it builds
    (--dump-dom) holds both public sites with their states, up and down,
    and not the private one, and the page's script ran (under the page's
    own Content-Security-Policy) without an error; a
    screenshot at phone width (390 x 844) is left in the test's working
    folder (the build tree's tests/ under ctest) as status-page-phone.png,
    and must be a non-empty PNG.

    Chromium missing is a failure that says how to install it, never a
    pass.  Every wait has a deadline.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_harness.h"
#include "fixture_process.h"
#include "testsite.h"
#include "webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_MS        15000   //  `run` says "monitoring" (ASan start-up included)
#define SERVE_MS        15000   //  the page answers
#define ROUND_MS        40000   //  a check spread over the 10 s interval, rechecks, a flush
#define STOP_MS         30000   //  a clean stop
#define BROWSER_MS      60000   //  one Chromium run
#define SCREENSHOT      "status-page-phone.png"
#define PAGE_MAX        (4 * 1024 * 1024)


//  ---------------------------------------------------------------------
//  The page over HTTP

typedef struct {
    char *data;                 //  what came, NUL-terminated
    size_t size;                //  its length
} body_t;

static size_t
s_take_body (char *data, size_t size, size_t count, void *arg)
{
    body_t *body = (body_t *) arg;
    size_t length = size * count;
    if (body->size + length > PAGE_MAX)
        return 0;
    char *grown = (char *) realloc (body->data, body->size + length + 1);
    if (!grown)
        return 0;
    memcpy (grown + body->size, data, length);
    body->data = grown;
    body->size += length;
    body->data [body->size] = '\0';
    return length;
}

//  GET url: the body when the answer is 200, else NULL (caller frees).
static char *
s_get (const char *url)
{
    CURL *curl = curl_easy_init ();
    assert_non_null (curl);
    body_t body = { NULL, 0 };
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_take_body);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &body);
    long status = 0;
    if (curl_easy_perform (curl) == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup (curl);
    if (status != 200) {
        free (body.data);
        return NULL;
    }
    return body.data ? body.data : strdup ("");
}

//  The opening tag of the site whose data-url is url, as a new string, or
//  NULL.  Works on the served HTML and on Chromium's DOM alike (both keep
//  the attributes of an element in one tag).
static char *
s_site_tag (const char *html, const char *url)
{
    char needle [PATH_MAX];
    snprintf (needle, sizeof (needle), "data-url=\"%s\"", url);
    for (const char *at = strstr (html, "<li class=\"site\""); at;
         at = strstr (at + 1, "<li class=\"site\"")) {
        const char *close = strchr (at, '>');
        const char *found = strstr (at, needle);
        if (close && found && found < close)
            return strndup (at, (size_t) (close - at) + 1);
    }
    return NULL;
}

//  True when the site of url stands in html with the given state.
static bool
s_site_state_is (const char *html, const char *url, const char *state)
{
    char *tag = s_site_tag (html, url);
    char needle [64];
    snprintf (needle, sizeof (needle), "data-state=\"%s\"", state);
    bool found = tag && strstr (tag, needle);
    free (tag);
    return found;
}

//  Poll the page until the site of url is in state; false at the deadline
//  (the last page on stderr).
static bool
s_wait_state (const char *page, const char *url, const char *state, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    char *html = NULL;
    do {
        free (html);
        html = s_get (page);
        if (html && s_site_state_is (html, url, state)) {
            free (html);
            return true;
        }
        fixture_sleep_ms (200);
    } while (fixture_now_ms () < deadline);
    fprintf (stderr, "%s did not show %s %s within %d ms; the last page:\n%s\n", page, url,
             state, timeout_ms, html ? html : "(no answer)");
    free (html);
    return false;
}


//  ---------------------------------------------------------------------
//  Chromium

//  The browser on PATH, as a new string; NULL when there is none.
static char *
s_chromium (void)
{
    const char *names [] = { "chromium", "chromium-browser" };
    const char *path = getenv ("PATH");
    for (size_t index = 0; index < 2; index++) {
        char *folders = strdup (path ? path : "/usr/bin:/bin");
        char *saved = NULL;
        for (char *folder = strtok_r (folders, ":", &saved); folder;
             folder = strtok_r (NULL, ":", &saved)) {
            char *candidate = fixture_format ("%s/%s", folder, names [index]);
            if (candidate && access (candidate, X_OK) == 0) {
                free (folders);
                return candidate;
            }
            free (candidate);
        }
        free (folders);
    }
    return NULL;
}

//  Run the browser with args (NULL-terminated), stdout to out_path and
//  stderr to err_path, in a process group of its own (it starts helper
//  processes); wait up to BROWSER_MS, then kill the group.  Its exit code,
//  or -1.
static int
s_browse (const char *browser, const char *const *args, const char *out_path,
          const char *err_path)
{
    const char *argv [24] = { browser };
    size_t count = 1;
    for (; args [count - 1] && count < 23; count++)
        argv [count] = args [count - 1];
    argv [count] = NULL;
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid (0, 0);
        int out = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open ("/dev/null", O_RDONLY);
        if (out < 0 || err < 0 || in < 0)
            _exit (126);
        dup2 (in, 0);
        dup2 (out, 1);
        dup2 (err, 2);
        execv (browser, (char *const *) argv);
        _exit (127);
    }
    setpgid (pid, pid);
    int64_t deadline = fixture_now_ms () + BROWSER_MS;
    int status = 0;
    while (true) {
        pid_t done = waitpid (pid, &status, WNOHANG);
        if (done == pid)
            break;
        if ((done < 0 && errno != EINTR) || fixture_now_ms () >= deadline) {
            fprintf (stderr, "%s did not finish within %d ms: killed\n", browser, BROWSER_MS);
            kill (-pid, SIGKILL);
            waitpid (pid, &status, 0);
            return -1;
        }
        fixture_sleep_ms (50);
    }
    //  Helpers left behind by the browser go with it.
    kill (-pid, SIGKILL);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}


//  ---------------------------------------------------------------------
//  The test

static void
test_page_in_chromium (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *browser = s_chromium ();
    if (!browser)
        fail_msg ("chromium is not on PATH: the status page cannot be tested without it. "
                  "Install it with `apt-get install chromium` (deploy/install-deps.sh).");

    int port = cli_harness_free_ports (1);
    assert_true (port > 0);
    char *up = testsite_url (cli_harness_site, "http", "/count/page-up");
    char *down = testsite_url (cli_harness_site, "http", "/switch/page-down");
    char *hidden = testsite_url (cli_harness_site, "http", "/count/page-private");
    assert_int_equal (testsite_request (cli_harness_site, "/set/page-down/200"), 200);
    char *alice = webhook_url (cli_harness_webhook, "/alice");
    char *data_dir = cli_harness_path (harness, "data");
    char *text = fixture_format (
        "data_dir: %s\n"
        "feed: %s\n"
        "http:\n"
        "  listen: 127.0.0.1:%d\n"
        "status_page: { title: \"Test status\", sites: [%s, %s] }\n"
        "defaults:\n"
        "  interval: 10s\n"
        "  timeout: 2s\n"
        "  failure_threshold: 1\n"
        "owners:\n"
        "  alice:\n"
        "    webhook: %s\n"
        "sites:\n"
        "  - url: %s\n"
        "  - url: %s\n"
        "  - url: %s\n",
        data_dir, cli_harness_feed (harness), port, up, down, alice, up, down, hidden);
    assert_non_null (text);
    assert_int_equal (cli_harness_write (harness, "page.yaml", text), 0);
    char *config = cli_harness_path (harness, "page.yaml");

    const char *run_args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run.out", "run.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run.err", "monitoring 3 sites", START_MS));
    char *page = fixture_format ("http://127.0.0.1:%d/", port);

    //  Both public sites checked and up; then one down.
    assert_true (s_wait_state (page, up, "up", ROUND_MS));
    assert_true (s_wait_state (page, down, "up", ROUND_MS));
    assert_int_equal (testsite_request (cli_harness_site, "/set/page-down/503"), 200);
    assert_true (s_wait_state (page, down, "down", ROUND_MS));
    //  The private site has been checked too, so it had its chance to show.
    assert_true (testsite_wait_hits (cli_harness_site, "/count/page-private", 1, ROUND_MS) >= 1);

    //  The DOM Chromium builds from the page.
    char *profile = cli_harness_path (harness, "chromium");
    char *profile_arg = fixture_format ("--user-data-dir=%s", profile);
    char *dom_path = cli_harness_path (harness, "dom.html");
    char *err_path = cli_harness_path (harness, "chromium.err");
    const char *dump [] = { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--enable-logging=stderr", "--v=0", profile_arg, "--dump-dom",
                            page, NULL };
    assert_int_equal (s_browse (browser, dump, dom_path, err_path), 0);
    size_t length = 0;
    char *dom = fixture_read_file (dom_path, PAGE_MAX, &length);
    assert_non_null (dom);
    if (!s_site_state_is (dom, up, "up") || !s_site_state_is (dom, down, "down"))
        fprintf (stderr, "the DOM:\n%s\n", dom);
    assert_true (s_site_state_is (dom, up, "up"));
    assert_true (s_site_state_is (dom, down, "down"));
    assert_non_null (strstr (dom, "<title>Test status</title>"));
    assert_non_null (strstr (dom, "<li class=\"incident open\""));
    assert_null (strstr (dom, "page-private"));
    //  Chromium's DOM, not the served text: it ends as the parser built it.
    assert_non_null (strstr (dom, "</html>"));
    //  The page's script ran under the page's own Content-Security-Policy
    //  and opened the feed (it marks the body), without an error or a
    //  policy refusal (the console goes to stderr).
    char *log = fixture_read_file (err_path, PAGE_MAX, &length);
    assert_non_null (log);
    if (strstr (log, "Uncaught") || strstr (log, "Content Security Policy")
    ||  !strstr (dom, "data-live=\"on\""))
        fprintf (stderr, "the browser's log:\n%s\n", log);
    assert_null (strstr (log, "Uncaught"));
    assert_null (strstr (log, "Content Security Policy"));
    assert_non_null (strstr (dom, "data-live=\"on\""));
    free (log);

    //  The phone screenshot, kept in the working folder.
    char folder [PATH_MAX];
    assert_non_null (getcwd (folder, sizeof (folder)));
    char *png = fixture_format ("%s/%s", folder, SCREENSHOT);
    unlink (png);
    char *screenshot_arg = fixture_format ("--screenshot=%s", png);
    const char *shoot [] = { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--hide-scrollbars", profile_arg, screenshot_arg,
                             "--window-size=390,844", page, NULL };
    assert_int_equal (s_browse (browser, shoot, "/dev/null", err_path), 0);
    struct stat info;
    assert_int_equal (stat (png, &info), 0);
    assert_true (info.st_size > 1000);
    char *image = fixture_read_file (png, PAGE_MAX, &length);
    assert_non_null (image);
    assert_memory_equal (image, "\x89PNG\r\n\x1a\n", 8);
    fprintf (stderr, "test_page: the phone screenshot is %s (%lld bytes)\n", png,
             (long long) info.st_size);

    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);
    assert_int_equal (testsite_request (cli_harness_site, "/set/page-down/200"), 200);
    free (image);
    free (screenshot_arg);
    free (png);
    free (dom);
    free (err_path);
    free (dom_path);
    free (profile_arg);
    free (profile);
    free (page);
    free (config);
    free (text);
    free (data_dir);
    free (alice);
    free (hidden);
    free (down);
    free (up);
    free (browser);
}

int
main (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        CLI_HARNESS_TEST (test_page_in_chromium),
    };
    int rc = cmocka_run_group_tests (tests, cli_harness_group_setup, cli_harness_group_teardown);
    curl_global_cleanup ();
    return rc;
}
