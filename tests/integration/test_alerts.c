/*  test_alerts.c: notifications end to end, through real `squirrel run`
    processes, to a real webhook receiver and a real SMTP server.

    - kill -9 with alerts pending (the webhook answers 500, the SMTP server
      is down), then `run` again with a receiver that works: every pending
      DOWN reaches the webhook and the mailbox exactly once, none is made
      again, and `squirrel status` shows nothing pending;
    - email with STARTTLS and AUTH while the SMTP server is down for a
      while and comes back: one DOWN mail, then one UP mail, headers and
      body as they should be;
    - a mass outage, 2000 sites down at once: every alert arrives exactly
      once, and digests keep the number of POSTs within the bound
      docs/ARCHITECTURE.md states.

    Counts are exact and made per notice (the webhook's "id"/"seq", the
    mail's X-Squirrel-Id), since one message may carry several notices.
    Every wait has a deadline; the only fixed waits are the quiet periods
    that show nothing more arrives.  The config loader's floor is a 10 s
    interval and a run's first round is spread over it, so each test takes
    one or two intervals.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_harness.h"
#include "fixture_process.h"
#include "smtp.h"
#include "testsite.h"
#include "webhook.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define START_MS        30000   //  `run` says "monitoring" (ASan, 2000 sites included)
#define STOP_MS         30000   //  a clean stop
#define ROUND_MS        35000   //  a first round, spread over one interval, and margin
#define DELIVER_MS      30000   //  what is owed arrives (retries at most retry_max apart)
#define QUIET_MS        3000    //  nothing more arrives for this long
#define MASS_SITES      2000    //  sites of the mass outage
#define MASS_MS         90000   //  the mass outage's notices all made, all delivered
#define MASS_LATE_S     5       //  a digest's rendering and sending, at most

#define TELLING         "; telling alice"
#define RUN_LOG_TIME    "%*c: %d-%d-%d %d:%d:%d "   //  zsys: "I: 26-11-28 10:23:30 "


//  The servers a test started, stopped by its teardown even when an
//  assertion ended the test early.
static struct {
    webhook_t *webhook [2];     //  receivers
    smtp_t *smtp;               //  the mail server
} s_servers;

static int
s_teardown (void **state)
{
    for (size_t index = 0; index < 2; index++)
        webhook_stop (&s_servers.webhook [index]);
    smtp_stop (&s_servers.smtp);
    return cli_harness_teardown (state);
}

#define ALERTS_TEST(test) \
    cmocka_unit_test_setup_teardown (test, cli_harness_setup, s_teardown)


//  --------------------------------------------------------------------------
//  Helpers: notices as the receivers saw them

//  One notice found in a webhook body.
typedef struct {
    uint64_t id;                //  notice id
    uint64_t seq;               //  the alert's seq
    char kind [16];             //  "alert", "reminder", ...
    char state [16];            //  "down", "up", ...
} seen_t;

//  How many times each key was seen.
typedef struct {
    uint64_t *keys;             //  distinct keys, in order of first sight
    size_t *counts;             //  times each was seen
    size_t size;                //  distinct keys
    size_t total;               //  keys seen, repeats included
} tally_t;

static void
s_tally_add (tally_t *self, uint64_t key)
{
    self->total++;
    for (size_t index = 0; index < self->size; index++)
        if (self->keys [index] == key) {
            self->counts [index]++;
            return;
        }
    self->keys = (uint64_t *) realloc (self->keys, (self->size + 1) * sizeof (uint64_t));
    self->counts = (size_t *) realloc (self->counts, (self->size + 1) * sizeof (size_t));
    assert_non_null (self->keys);
    assert_non_null (self->counts);
    self->keys [self->size] = key;
    self->counts [self->size] = 1;
    self->size++;
}

static size_t
s_tally_count (const tally_t *self, uint64_t key)
{
    for (size_t index = 0; index < self->size; index++)
        if (self->keys [index] == key)
            return self->counts [index];
    return 0;
}

//  True if every key was seen exactly once.
static bool
s_tally_each_once (const tally_t *self)
{
    for (size_t index = 0; index < self->size; index++)
        if (self->counts [index] != 1) {
            fprintf (stderr, "key %llu seen %zu times\n",
                     (unsigned long long) self->keys [index], self->counts [index]);
            return false;
        }
    return true;
}

static void
s_tally_free (tally_t *self)
{
    free (self->keys);
    free (self->counts);
    memset (self, 0, sizeof (*self));
}

//  The string value of "name":"..." at or after at, into out; "" if none.
static void
s_json_word (const char *at, const char *name, char *out, size_t size)
{
    char needle [32];
    snprintf (needle, sizeof (needle), "\"%s\":\"", name);
    const char *value = strstr (at, needle);
    out [0] = '\0';
    if (value) {
        value += strlen (needle);
        size_t length = strcspn (value, "\"");
        snprintf (out, size, "%.*s", (int) (length < size ? length : size - 1), value);
    }
}

//  Every notice of a webhook body (one notice, or a digest's "alerts"),
//  added to seen [*count_p ...], which grows.  Our JSON writes each notice
//  as {"id":N,"kind":"...","seq":N,...,"state":"...",...}.
static void
s_body_notices (const char *body, seen_t **seen_p, size_t *count_p)
{
    for (const char *at = strstr (body, "{\"id\":"); at; at = strstr (at + 1, "{\"id\":")) {
        seen_t notice = { 0 };
        notice.id = strtoull (at + strlen ("{\"id\":"), NULL, 10);
        const char *seq = strstr (at, "\"seq\":");
        assert_non_null (seq);
        notice.seq = strtoull (seq + strlen ("\"seq\":"), NULL, 10);
        s_json_word (at, "kind", notice.kind, sizeof (notice.kind));
        s_json_word (at, "state", notice.state, sizeof (notice.state));
        *seen_p = (seen_t *) realloc (*seen_p, (*count_p + 1) * sizeof (seen_t));
        assert_non_null (*seen_p);
        (*seen_p) [(*count_p)++] = notice;
    }
}

//  The notices of posts [*posts_p, webhook_count) added to seen; *posts_p
//  moves on.  Returns the number of notices seen in all.
static size_t
s_webhook_notices (webhook_t *webhook, size_t *posts_p, seen_t **seen_p, size_t *count_p)
{
    size_t posts = webhook_count (webhook);
    for (; *posts_p < posts; (*posts_p)++) {
        char *body = webhook_body (webhook, *posts_p);
        assert_non_null (body);
        s_body_notices (body, seen_p, count_p);
        free (body);
    }
    return *count_p;
}

//  The header block of a mail, unfolded (a CRLF before a space or tab
//  taken out), with "\r\n" in front so that every field is "\r\nName: ".
//  Caller frees.
static char *
s_mail_headers (const char *message)
{
    const char *end = strstr (message, "\r\n\r\n");
    assert_non_null (end);
    size_t length = (size_t) (end - message);
    char *headers = (char *) malloc (length + 5);
    assert_non_null (headers);
    size_t out = 0;
    headers [out++] = '\r';
    headers [out++] = '\n';
    for (size_t at = 0; at < length; at++) {
        if (message [at] == '\r' && at + 2 < length && message [at + 1] == '\n'
        &&  (message [at + 2] == ' ' || message [at + 2] == '\t')) {
            at++;                   //  the LF too; the space stays
            continue;
        }
        headers [out++] = message [at];
    }
    headers [out++] = '\r';
    headers [out++] = '\n';
    headers [out] = '\0';
    return headers;
}

//  The value of header name (unfolded), or NULL. Caller frees.
static char *
s_mail_header (const char *headers, const char *name)
{
    char needle [64];
    snprintf (needle, sizeof (needle), "\r\n%s: ", name);
    const char *value = strstr (headers, needle);
    if (!value)
        return NULL;
    value += strlen (needle);
    return strndup (value, strcspn (value, "\r\n"));
}

//  How many times header name stands in headers.
static size_t
s_mail_header_count (const char *headers, const char *name)
{
    char needle [64];
    snprintf (needle, sizeof (needle), "\r\n%s: ", name);
    size_t count = 0;
    for (const char *at = headers; (at = strstr (at, needle)); at++)
        count++;
    return count;
}

//  The notice ids of every mail received so far (X-Squirrel-Id: 1, 2, 3)
//  into ids.  Returns the number of mails.
static size_t
s_mail_ids (smtp_t *smtp, tally_t *ids)
{
    size_t count = smtp_count (smtp);
    for (size_t index = 0; index < count; index++) {
        char *message = smtp_message (smtp, index, NULL);
        assert_non_null (message);
        char *headers = s_mail_headers (message);
        assert_int_equal (s_mail_header_count (headers, "X-Squirrel-Id"), 1);
        char *value = s_mail_header (headers, "X-Squirrel-Id");
        assert_non_null (value);
        for (char *at = value; *at; ) {
            at += strspn (at, ", ");
            if (!*at)
                break;
            char *end = NULL;
            uint64_t id = strtoull (at, &end, 10);
            assert_true (end > at);
            s_tally_add (ids, id);
            at = end;
        }
        free (value);
        free (headers);
        free (message);
    }
    return count;
}

//  Lines of a file that start with prefix.
static size_t
s_lines_starting (cli_harness_t *harness, const char *name, const char *prefix)
{
    char *text = cli_harness_read (harness, name);
    size_t count = 0;
    for (const char *line = text; line && *line; ) {
        if (strncmp (line, prefix, strlen (prefix)) == 0)
            count++;
        line = strchr (line, '\n');
        line = line ? line + 1 : NULL;
    }
    free (text);
    return count;
}

//  The file name of the harness on stderr, to tell why a test failed.
static void
s_show (cli_harness_t *harness, const char *name)
{
    char *text = cli_harness_read (harness, name);
    fprintf (stderr, "---- %s:\n%s---- end of %s\n", name, text, name);
    free (text);
}

//  Run `squirrel status` until it lists want sites "down" (the store has
//  them), for at most timeout_ms.  True if it did.
static bool
s_wait_status_down (cli_harness_t *harness, const char *config, size_t want, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    const char *args [] = { "status", config, NULL };
    while (true) {
        int rc = cli_harness_run (harness, args, 15000);
        size_t down = s_lines_starting (harness, "out.txt", "down ");
        if (rc == 0 && down == want)
            return true;
        if (fixture_now_ms () >= deadline) {
            char *text = cli_harness_read (harness, "out.txt");
            fprintf (stderr, "status (exit %d) listed %zu sites down, not %zu:\n%s\n", rc, down,
                     want, text);
            free (text);
            return false;
        }
        fixture_sleep_ms (250);
    }
}

//  `squirrel status` once; true if its output holds text.
static bool
s_status_says (cli_harness_t *harness, const char *config, const char *text)
{
    const char *args [] = { "status", config, NULL };
    assert_int_equal (cli_harness_run (harness, args, 15000), 0);
    if (cli_harness_count (harness, "out.txt", text) == 1)
        return true;
    char *out = cli_harness_read (harness, "out.txt");
    fprintf (stderr, "status did not say '%s':\n%s\n", text, out);
    free (out);
    return false;
}

//  The Unix time of the log line of the first (or last) occurrence of
//  needle in the run log name (zsys stamps whole seconds); -1 if none.
static time_t
s_log_time (cli_harness_t *harness, const char *name, const char *needle, bool last)
{
    char *text = cli_harness_read (harness, name);
    const char *found = NULL;
    for (const char *at = text; (at = strstr (at, needle)); at++) {
        found = at;
        if (!last)
            break;
    }
    time_t when = -1;
    if (found) {
        const char *line = found;
        while (line > text && line [-1] != '\n')
            line--;
        struct tm stamp = { 0 };
        if (sscanf (line, RUN_LOG_TIME, &stamp.tm_year, &stamp.tm_mon, &stamp.tm_mday,
                    &stamp.tm_hour, &stamp.tm_min, &stamp.tm_sec) == 6) {
            stamp.tm_year += 100;           //  two digits: 20YY
            stamp.tm_mon -= 1;
            stamp.tm_isdst = -1;
            when = mktime (&stamp);         //  zsys stamps local time
        }
    }
    free (text);
    return when;
}

//  The text of a config's smtp section and settings before the owners.
static char *
s_config_head (cli_harness_t *harness, smtp_t *smtp, const char *extra)
{
    return fixture_format (
        "data_dir: %s/data\n"
        "feed: %s\n"
        "smtp:\n"
        "  url: %s\n"
        "  from: squirrel@example.org\n"
        "  ca_file: %s\n"
        "%s"
        "retry_max: 2s\n"
        "defaults:\n"
        "  interval: 10s\n"
        "  timeout: 5s\n"
        "  failure_threshold: 1\n"
        "  success_threshold: 1\n",
        cli_harness_dir (harness), cli_harness_feed (harness), smtp_url (smtp),
        smtp_ca_file (smtp), extra);
}


//  --------------------------------------------------------------------------
//  kill -9 with alerts pending, then run again

//  Config of the kill test: alice by webhook (url) and email, five sites
//  down.  Caller frees.
static char *
s_killed_config (cli_harness_t *harness, smtp_t *smtp, const char *url)
{
    char *head = s_config_head (harness, smtp, "");
    char *text = fixture_format ("%s"
                                 "owners:\n"
                                 "  alice:\n"
                                 "    email: alice@example.net\n"
                                 "    webhook: %s\n"
                                 "sites:\n", head, url);
    free (head);
    for (int index = 0; index < 5; index++) {
        char path [64];
        snprintf (path, sizeof (path), "/status/503?alerts-killed=%d", index);
        char *site = testsite_url (cli_harness_site, "http", path);
        char *more = fixture_format ("%s  - url: %s\n    owner: alice\n", text, site);
        free (site);
        free (text);
        text = more;
    }
    assert_int_equal (cli_harness_write (harness, "killed.yaml", text), 0);
    free (text);
    return cli_harness_path (harness, "killed.yaml");
}

static void
test_kill_with_alerts_pending (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    smtp_options_t options = { .tls = true };
    smtp_t *smtp = s_servers.smtp = smtp_start (&options);
    assert_non_null (smtp);
    smtp_halt (smtp);
    webhook_t *failing = s_servers.webhook [0] = webhook_start_answers ("500", NULL);
    assert_non_null (failing);
    char *failing_url = webhook_url (failing, "/alice");
    char *config = s_killed_config (harness, smtp, failing_url);

    //  First run: five DOWNs made, none can be delivered.
    const char *run_args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run1.out", "run1.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run1.err", "monitoring 5 sites", START_MS));
    assert_true (cli_harness_wait_count (harness, "run1.err", TELLING, 5, ROUND_MS));
    assert_true (webhook_wait (failing, 1, DELIVER_MS));
    assert_true (cli_harness_wait_text (harness, "run1.err", "to email:alice failed", DELIVER_MS));
    //  The store has the five DOWNs (the next run starts from them), the
    //  outbox owes all ten deliveries.
    assert_true (s_wait_status_down (harness, config, 5, 10000));
    assert_true (s_status_says (harness, config, "notifications: webhook 0 delivered, 0 failed, "
                                "5 pending; email 0 delivered, 0 failed, 5 pending"));
    assert_int_equal (kill (run, SIGKILL), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 128 + SIGKILL);
    assert_int_equal (cli_harness_count (harness, "run1.err", "collector: ALERT #"), 5);
    assert_int_equal (cli_harness_count (harness, "run1.err", TELLING), 5);
    assert_int_equal (smtp_count (smtp), 0);
    //  What the failing receiver was sent: notices of those five alerts.
    size_t failed_posts = 0, failed_count = 0;
    seen_t *failed = NULL;
    assert_true (s_webhook_notices (failing, &failed_posts, &failed, &failed_count) >= 1);

    //  Second run: alice's webhook now works (pending deliveries go to her
    //  current address), the mail server is back.
    webhook_t *working = s_servers.webhook [1] = webhook_start (0, 200);
    assert_non_null (working);
    char *working_url = webhook_url (working, "/alice");
    free (s_killed_config (harness, smtp, working_url));
    assert_int_equal (smtp_restart (smtp), 0);
    run = cli_harness_spawn (harness, "run2.out", "run2.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run2.err", "monitoring 5 sites", START_MS));

    //  Everything owed arrives: five notices on each channel.
    size_t posts = 0, count = 0;
    seen_t *seen = NULL;
    tally_t mail_ids = { 0 };
    int64_t deadline = fixture_now_ms () + DELIVER_MS;
    while (true) {
        s_webhook_notices (working, &posts, &seen, &count);
        s_tally_free (&mail_ids);
        s_mail_ids (smtp, &mail_ids);
        if ((count >= 5 && mail_ids.total >= 5) || fixture_now_ms () >= deadline)
            break;
        fixture_sleep_ms (100);
    }
    //  And nothing more, though the sites stay down and are checked again.
    fixture_sleep_ms (QUIET_MS);
    s_webhook_notices (working, &posts, &seen, &count);
    s_tally_free (&mail_ids);
    size_t mails = s_mail_ids (smtp, &mail_ids);
    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);
    if (count != 5 || mail_ids.total != 5)
        s_show (harness, "run2.err");

    //  Webhook: five DOWN alerts, each seq once, each id once.
    tally_t seqs = { 0 }, ids = { 0 };
    for (size_t index = 0; index < count; index++) {
        assert_string_equal (seen [index].kind, "alert");
        assert_string_equal (seen [index].state, "down");
        s_tally_add (&seqs, seen [index].seq);
        s_tally_add (&ids, seen [index].id);
    }
    assert_int_equal (count, 5);
    assert_int_equal (seqs.size, 5);
    assert_true (s_tally_each_once (&seqs));
    assert_true (s_tally_each_once (&ids));
    //  Email: the same five notices, each once, all to alice.
    assert_true (mails >= 1);
    assert_int_equal (mail_ids.total, 5);
    assert_true (s_tally_each_once (&mail_ids));
    for (size_t index = 0; index < ids.size; index++)
        assert_int_equal (s_tally_count (&mail_ids, ids.keys [index]), 1);
    for (size_t index = 0; index < mails; index++) {
        char *to = smtp_envelope_to (smtp, index);
        assert_string_equal (to, "alice@example.net");
        free (to);
    }
    //  They are the notices the first run made: the failing receiver saw
    //  only those.
    for (size_t index = 0; index < failed_count; index++) {
        assert_int_equal (s_tally_count (&seqs, failed [index].seq), 1);
        assert_int_equal (s_tally_count (&ids, failed [index].id), 1);
    }
    //  The second run made no alert of its own (DOWN restored from the
    //  store) and picked up the ten deliveries owed.
    assert_int_equal (cli_harness_count (harness, "run2.err", "collector: ALERT #"), 0);
    assert_int_equal (cli_harness_count (harness, "run2.err", TELLING), 0);
    assert_int_equal (cli_harness_count (harness, "run2.err",
                                         "notifier: 10 deliveries pending from before the restart"),
                      1);
    assert_true (s_status_says (harness, config, "notifications: webhook 5 delivered, 0 failed, "
                                "0 pending; email 5 delivered, 0 failed, 0 pending"));

    s_tally_free (&seqs);
    s_tally_free (&ids);
    s_tally_free (&mail_ids);
    free (seen);
    free (failed);
    free (working_url);
    free (config);
    free (failing_url);
}


//  --------------------------------------------------------------------------
//  Email: STARTTLS, AUTH, the server down for a while and back

//  Check a mail's headers: each standard one once, our subject and
//  recipient, the text/plain type.  Returns its body. Caller frees.
static char *
s_check_mail (smtp_t *smtp, size_t index, const char *tag, const char *url)
{
    char *message = smtp_message (smtp, index, NULL);
    assert_non_null (message);
    char *headers = s_mail_headers (message);
    const char *names [] = { "Date", "Message-ID", "From", "To", "Subject", "Content-Type",
                             "X-Squirrel-Id" };
    for (size_t name = 0; name < sizeof (names) / sizeof (names [0]); name++)
        assert_int_equal (s_mail_header_count (headers, names [name]), 1);
    char *subject = s_mail_header (headers, "Subject");
    assert_non_null (subject);
    fprintf (stderr, "mail %zu: Subject: %s\n", index, subject);
    assert_int_equal (strncmp (subject, tag, strlen (tag)), 0);
    assert_non_null (strstr (subject, url));
    char *value = s_mail_header (headers, "From");
    assert_string_equal (value, "squirrel@example.org");
    free (value);
    value = s_mail_header (headers, "To");
    assert_string_equal (value, "alice@example.net");
    free (value);
    value = s_mail_header (headers, "Content-Type");
    assert_string_equal (value, "text/plain; charset=utf-8");
    free (value);
    value = s_mail_header (headers, "Message-ID");
    assert_true (value [0] == '<' && strstr (value, "@example.org>"));
    free (value);
    value = smtp_envelope_to (smtp, index);
    assert_string_equal (value, "alice@example.net");
    free (value);
    value = smtp_envelope_from (smtp, index);
    assert_string_equal (value, "squirrel@example.org");
    free (value);
    value = smtp_auth_user (smtp, index);
    assert_string_equal (value, "squirrel");
    free (value);
    char *body = strdup (strstr (message, "\r\n\r\n") + 4);
    assert_non_null (body);
    free (subject);
    free (headers);
    free (message);
    return body;
}

static void
test_email_while_the_server_is_down (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    smtp_options_t options = { .tls = true, .require_tls = true, .user = "squirrel",
                               .password = "nuts in the oak, 42" };
    smtp_t *smtp = s_servers.smtp = smtp_start (&options);
    assert_non_null (smtp);
    assert_int_equal (cli_harness_write (harness, "smtp.pw", "nuts in the oak, 42\n"), 0);
    char *password = cli_harness_path (harness, "smtp.pw");
    assert_int_equal (chmod (password, 0600), 0);
    char name [64], path [96];
    snprintf (name, sizeof (name), "alerts-mail-%d", (int) getpid ());
    snprintf (path, sizeof (path), "/switch/%s", name);
    char *url = testsite_url (cli_harness_site, "http", path);
    char *auth = fixture_format ("  user: squirrel\n  password_file: %s\n", password);
    char *head = s_config_head (harness, smtp, auth);
    char *text = fixture_format ("%s"
                                 "owners:\n"
                                 "  alice:\n"
                                 "    email: alice@example.net\n"
                                 "sites:\n"
                                 "  - url: %s\n"
                                 "    owner: alice\n", head, url);
    assert_int_equal (cli_harness_write (harness, "mail.yaml", text), 0);
    char *config = cli_harness_path (harness, "mail.yaml");

    //  The server down, the site down: the DOWN is made, its mail fails.
    smtp_halt (smtp);
    snprintf (path, sizeof (path), "/set/%s/503", name);
    assert_int_equal (testsite_request (cli_harness_site, path), 200);
    const char *run_args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run.out", "run.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run.err", "monitoring 1 sites", START_MS));
    assert_true (cli_harness_wait_text (harness, "run.err", TELLING, ROUND_MS));
    //  Two attempts fail (the first, then the retry 1 s later).
    assert_true (cli_harness_wait_count (harness, "run.err", "to email:alice failed", 2,
                                         DELIVER_MS));
    assert_int_equal (smtp_count (smtp), 0);

    //  The server is back: the DOWN arrives, once.
    assert_int_equal (smtp_restart (smtp), 0);
    assert_true (smtp_wait (smtp, 1, DELIVER_MS));
    char *body = s_check_mail (smtp, 0, "[DOWN] ", url);
    fprintf (stderr, "DOWN body:\n%s\n", body);
    assert_non_null (strstr (body, "reason: http_status\r\n"));
    assert_non_null (strstr (body, "http status: 503\r\n"));
    free (body);

    //  The site is back: an UP, once, that says how long it was down.
    snprintf (path, sizeof (path), "/set/%s/200", name);
    assert_int_equal (testsite_request (cli_harness_site, path), 200);
    assert_true (smtp_wait (smtp, 2, ROUND_MS));
    body = s_check_mail (smtp, 1, "[UP] ", url);
    fprintf (stderr, "UP body:\n%s\n", body);
    assert_non_null (strstr (body, "state: up\r\n"));
    assert_non_null (strstr (body, "down for: "));
    free (body);
    fixture_sleep_ms (QUIET_MS);
    assert_int_equal (smtp_count (smtp), 2);

    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);
    assert_int_equal (cli_harness_count (harness, "run.err", TELLING), 2);
    assert_true (s_status_says (harness, config,
                                "notifications: email 2 delivered, 0 failed, 0 pending"));
    free (config);
    free (text);
    free (head);
    free (auth);
    free (url);
    free (password);
}


//  --------------------------------------------------------------------------
//  Mass outage: 2000 sites down at once, digests

static void
test_mass_outage_in_digests (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    webhook_t *webhook = s_servers.webhook [0] = webhook_start (0, 200);
    assert_non_null (webhook);
    char *hook = webhook_url (webhook, "/alice");
    char *text = fixture_format (
        "data_dir: %s/data\n"
        "feed: %s\n"
        "digest_after: 5\n"
        "digest_window: 2s\n"
        "defaults:\n"
        "  interval: 10s\n"
        "  timeout: 5s\n"
        "  failure_threshold: 1\n"
        "owners:\n"
        "  alice:\n"
        "    webhook: %s\n"
        "sites:\n", cli_harness_dir (harness), cli_harness_feed (harness), hook);
    //  One path, a query of its own per site: each a distinct URL.
    for (int index = 0; index < MASS_SITES; index++) {
        char path [64];
        snprintf (path, sizeof (path), "/status/503?alerts-mass=%d", index);
        char *site = testsite_url (cli_harness_site, "http", path);
        char *more = fixture_format ("%s  - url: %s\n    owner: alice\n", text, site);
        free (site);
        free (text);
        text = more;
    }
    assert_int_equal (cli_harness_write (harness, "mass.yaml", text), 0);
    char *config = cli_harness_path (harness, "mass.yaml");

    int64_t started = fixture_now_ms ();
    const char *run_args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run.out", "run.err", run_args);
    assert_true (run > 0);
    assert_true (cli_harness_wait_text (harness, "run.err", "monitoring 2000 sites", START_MS));
    assert_true (cli_harness_wait_count (harness, "run.err", TELLING, MASS_SITES, MASS_MS));
    fprintf (stderr, "mass: %d notices made after %lld ms\n", MASS_SITES,
             (long long) (fixture_now_ms () - started));

    size_t posts = 0, count = 0;
    seen_t *seen = NULL;
    int64_t deadline = started + MASS_MS;
    while (s_webhook_notices (webhook, &posts, &seen, &count) < MASS_SITES
       &&  fixture_now_ms () < deadline)
        fixture_sleep_ms (200);
    fprintf (stderr, "mass: %zu notices in %zu posts after %lld ms\n", count, posts,
             (long long) (fixture_now_ms () - started));
    fixture_sleep_ms (QUIET_MS);        //  more than a digest window: nothing more comes
    s_webhook_notices (webhook, &posts, &seen, &count);
    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (cli_harness_reap (harness, run, STOP_MS), 0);

    //  Every alert once.
    tally_t seqs = { 0 };
    size_t alerts = 0;
    for (size_t index = 0; index < count; index++) {
        if (strcmp (seen [index].kind, "alert") == 0)
            alerts++;
        assert_string_equal (seen [index].state, "down");
        s_tally_add (&seqs, seen [index].seq);
    }
    assert_int_equal (alerts, MASS_SITES);
    assert_int_equal (count, MASS_SITES);
    assert_int_equal (seqs.size, MASS_SITES);
    assert_true (s_tally_each_once (&seqs));

    //  Digests: at most digest_after + ceil (T / digest_window) + 1 POSTs
    //  (docs/ARCHITECTURE.md), T the time over which the alerts arrive.  T
    //  is taken from the collector's ALERT lines (when each alert was
    //  published), not from the notifier's, which a slow notifier would
    //  stretch.  The log stamps whole seconds, so T <= last - first + 1 s;
    //  one more POST of margin for a window boundary.
    time_t first = s_log_time (harness, "run.err", "collector: ALERT #", false);
    time_t last = s_log_time (harness, "run.err", "collector: ALERT #", true);
    assert_true (first > 0 && last >= first);
    long spread_s = (long) (last - first) + 1;
    size_t bound = 5 + (size_t) ((spread_s + 1) / 2) + 2;
    fprintf (stderr, "mass: alerts published over %ld s (log), %zu posts, bound %zu\n",
             spread_s, posts, bound);
    double zero = webhook_received_at (webhook, 0);
    for (size_t index = 0; index < posts; index++) {
        char *body = webhook_body (webhook, index);
        size_t in_post = 0;
        for (const char *at = body; at && (at = strstr (at, "{\"id\":")); at++)
            in_post++;
        fprintf (stderr, "mass: post %zu at +%.3f s: %zu notices\n", index,
                 webhook_received_at (webhook, index) - zero, in_post);
        free (body);
    }
    assert_true (posts <= bound);
    //  And in time: a held notice goes at the end of its window, so the last
    //  POST comes at most a window (2 s) after the last alert (+1 s for the
    //  log's whole seconds), plus MASS_LATE_S for the rendering and the
    //  sending of a digest of hundreds of notices on a busy machine.
    double late = webhook_received_at (webhook, posts - 1) - (double) (last + 1 + 2);
    fprintf (stderr, "mass: last post %.3f s after the end of the last alert's window\n", late);
    assert_true (late <= MASS_LATE_S);

    s_tally_free (&seqs);
    free (seen);
    free (config);
    free (text);
    free (hook);
}

//  test_alerts [PATTERN]: only the tests whose names match PATTERN.
int
main (int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter (argv [1]);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests [] = {
        ALERTS_TEST (test_kill_with_alerts_pending),
        ALERTS_TEST (test_email_while_the_server_is_down),
        ALERTS_TEST (test_mass_outage_in_digests),
    };
    int rc = cmocka_run_group_tests (tests, cli_harness_group_setup, cli_harness_group_teardown);
    curl_global_cleanup ();
    return rc;
}
