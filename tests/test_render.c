/*  test_render.c: the words and formats of notifications (notifier/render.h).

    Exact subjects for each kind, table-driven; one site's DOWN then UP as
    one story; digests of 3 and of 200 sites (Slack's line cap, Discord's
    byte cap with multi-byte URLs); mail in CRLF with each header once, a
    non-ASCII subject that python3's email parser decodes back, and no
    header injected from a server's error text; the generic JSON, the
    Slack and Discord JSON and template_expand checked by python3's json;
    a URL's password and token in no output at all.

    python3 is the independent reader: a test that needs it and cannot run
    it fails (a skipped check would pass whatever render does).
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "render.h"
#include "template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

//  2026-11-26T06:40:00Z, a Thursday.
#define T0          (1795675200LL * 1000000)
#define T0_ISO      "2026-11-26T06:40:00.000Z"
#define SECOND      1000000LL

//  A notice with the fields the tests vary; the rest zero.
static notice_t
s_notice (uint64_t id, notice_kind_t kind, uint64_t site_id, const char *url, sq_state_t previous,
          sq_state_t state, int64_t since, sq_reason_t reason, const char *detail)
{
    notice_t notice;
    memset (&notice, 0, sizeof (notice));
    notice.id = id;
    notice.kind = kind;
    notice.at_us = since;
    notice.alert.seq = id;
    notice.alert.site_id = site_id;
    snprintf (notice.alert.url, sizeof (notice.alert.url), "%s", url);
    notice.alert.previous = (uint8_t) previous;
    notice.alert.state = (uint8_t) state;
    notice.alert.since = since;
    notice.alert.reason = (uint8_t) reason;
    snprintf (notice.alert.detail, sizeof (notice.alert.detail), "%s", detail);
    return notice;
}

//  Runs python3 with script, input on its stdin; its stdout, or NULL (and
//  what it printed) if it failed.  Caller frees.
static char *
s_python (const char *script, const char *input)
{
    char script_path [] = "/tmp/test_render_script_XXXXXX";
    char input_path [] = "/tmp/test_render_input_XXXXXX";
    int script_fd = mkstemp (script_path);
    int input_fd = mkstemp (input_path);
    assert_true (script_fd >= 0 && input_fd >= 0);
    assert_int_equal (write (script_fd, script, strlen (script)), (ssize_t) strlen (script));
    assert_int_equal (write (input_fd, input, strlen (input)), (ssize_t) strlen (input));
    close (script_fd);
    close (input_fd);
    char command [256];
    snprintf (command, sizeof (command), "python3 %s < %s", script_path, input_path);
    FILE *pipe = popen (command, "r");
    assert_non_null (pipe);
    char *output = NULL;
    size_t length = 0;
    char chunk [4096];
    size_t got;
    while ((got = fread (chunk, 1, sizeof (chunk), pipe)) > 0) {
        output = realloc (output, length + got + 1);
        assert_non_null (output);
        memcpy (output + length, chunk, got);
        length += got;
        output [length] = '\0';
    }
    int status = pclose (pipe);
    unlink (script_path);
    unlink (input_path);
    if (!output)
        output = strdup ("");
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        print_error ("python3 failed (status %d) on:\n%s\noutput: %s\n", status, input, output);
        free (output);
        return NULL;
    }
    return output;
}

//  How many times needle occurs in haystack.
static size_t
s_occurrences (const char *haystack, const char *needle)
{
    size_t count = 0;
    for (const char *at = haystack; (at = strstr (at, needle)); at += strlen (needle))
        count++;
    return count;
}


//  --------------------------------------------------------------------------
//  Subjects

typedef struct {
    const char *name;           //  what the row shows
    notice_kind_t kind;
    const char *url;
    sq_state_t previous, state;
    sq_reason_t reason;
    const char *detail;
    uint16_t http_status;
    int64_t down_for_us;        //  UP: previous_since = since - this (0: unknown)
    uint32_t changes, window_ms;//  FLAPPING
    int32_t days_left;          //  CERT
    const char *subject;        //  exactly
} subject_row_t;

#define URL "https://example.com/"

static const subject_row_t s_subject_rows [] = {
    { "down, no detail", NOTICE_ALERT, URL, SQ_STATE_UP, SQ_STATE_DOWN, SQ_REASON_TIMEOUT, "",
      0, 0, 0, 0, 0, "[DOWN] " URL " (timeout)" },
    { "down with a status and detail", NOTICE_ALERT, URL, SQ_STATE_UP, SQ_STATE_DOWN,
      SQ_REASON_HTTP_STATUS, "Service Unavailable", 503, 0, 0, 0, 0,
      "[DOWN] " URL " (http_status 503: Service Unavailable)" },
    { "up after 3m12s down", NOTICE_ALERT, URL, SQ_STATE_DOWN, SQ_STATE_UP, SQ_REASON_OK, "",
      200, 192 * SECOND, 0, 0, 0, "[UP] " URL " (was down 3m12s)" },
    { "up, down since unknown", NOTICE_ALERT, URL, SQ_STATE_DOWN, SQ_STATE_UP, SQ_REASON_OK, "",
      200, 0, 0, 0, 0, "[UP] " URL },
    { "first up", NOTICE_ALERT, URL, SQ_STATE_UNKNOWN, SQ_STATE_UP, SQ_REASON_OK, "", 200, 0,
      0, 0, 0, "[UP] " URL },
    { "reminder", NOTICE_REMINDER, URL, SQ_STATE_UP, SQ_STATE_DOWN, SQ_REASON_DNS, "", 0, 0, 0,
      0, 0, "[REMINDER] " URL " still down since " T0_ISO " (dns)" },
    { "flapping", NOTICE_FLAPPING, URL, SQ_STATE_DOWN, SQ_STATE_UP, SQ_REASON_OK, "", 0, 0, 6,
      600000, 0, "[FLAPPING] " URL " changed state 6 times in 10m" },
    { "settled", NOTICE_SETTLED, URL, SQ_STATE_DOWN, SQ_STATE_UP, SQ_REASON_OK, "", 0, 0, 0, 0,
      0, "[SETTLED] " URL " stopped flapping, now up" },
    { "maintenance over", NOTICE_MAINTENANCE_OVER, URL, SQ_STATE_UP, SQ_STATE_DOWN,
      SQ_REASON_CONNECT, "", 0, 0, 0, 0, 0, "[MAINTENANCE OVER] " URL " is down" },
    { "certificate, days", NOTICE_CERT, URL, SQ_STATE_UP, SQ_STATE_UP, SQ_REASON_OK, "", 0, 0,
      0, 0, 12, "[CERT] " URL " certificate expires in 12 days" },
    { "certificate, one day", NOTICE_CERT, URL, SQ_STATE_UP, SQ_STATE_UP, SQ_REASON_OK, "", 0, 0,
      0, 0, 1, "[CERT] " URL " certificate expires in 1 day" },
    { "header injection through the detail", NOTICE_ALERT, URL, SQ_STATE_UP, SQ_STATE_DOWN,
      SQ_REASON_CONNECT, "refused\r\nBcc: evil@x", 0, 0, 0, 0, 0,
      "[DOWN] " URL " (connect: refused  Bcc: evil@x)" },
    { "tab, DEL, C1 NEL, U+2028 and invalid UTF-8 in the detail", NOTICE_ALERT, URL, SQ_STATE_UP,
      SQ_STATE_DOWN, SQ_REASON_TLS, "a\tb\x7f" "c\xc2\x85" "d\xe2\x80\xa8" "e\xff\xc3", 0, 0, 0,
      0, 0, "[DOWN] " URL " (tls: a b c d e?" "?)" },
    { "password and token elided", NOTICE_ALERT, "https://bob:hunter2@example.com/a?token=abc",
      SQ_STATE_UP, SQ_STATE_DOWN, SQ_REASON_DNS, "", 0, 0, 0, 0, 0,
      "[DOWN] https://***@example.com/a?token=*** (dns)" },
};

static void
test_subjects (void **state)
{
    for (size_t row = 0; row < sizeof (s_subject_rows) / sizeof (s_subject_rows [0]); row++) {
        const subject_row_t *case_ = &s_subject_rows [row];
        notice_t notice = s_notice (7, case_->kind, 1, case_->url, case_->previous, case_->state,
                                    T0, case_->reason, case_->detail);
        notice.alert.http_status = case_->http_status;
        if (case_->down_for_us)
            notice.alert.previous_since = T0 - case_->down_for_us;
        notice.changes = case_->changes;
        notice.window_ms = case_->window_ms;
        notice.days_left = case_->days_left;
        const notice_t *notices [] = { &notice };
        char *subject = render_subject (notices, 1);
        assert_non_null (subject);
        if (strcmp (subject, case_->subject) != 0)
            fail_msg ("row '%s': subject\n  '%s', want\n  '%s'", case_->name, subject,
                      case_->subject);
        free (subject);
    }
}

static void
test_duration (void **state)
{
    static const struct {
        int64_t us;
        const char *text;
    } rows [] = {
        { -5 * SECOND, "0s" }, { 0, "0s" }, { 999999, "0s" }, { 45 * SECOND, "45s" },
        { 60 * SECOND, "1m" }, { 192 * SECOND, "3m12s" }, { 3601 * SECOND, "1h" },
        { (2 * 3600 + 5 * 60 + 9) * SECOND, "2h5m" }, { 7200 * SECOND, "2h" },
        { (86400 + 2 * 3600 + 59) * SECOND, "1d2h" }, { 86400 * SECOND, "1d" },
        { 400 * 86400 * SECOND, "400d" },
    };
    for (size_t row = 0; row < sizeof (rows) / sizeof (rows [0]); row++) {
        char text [32];
        render_duration (rows [row].us, text, sizeof (text));
        if (strcmp (text, rows [row].text) != 0)
            fail_msg ("%lld us: '%s', want '%s'", (long long) rows [row].us, text,
                      rows [row].text);
    }
}


//  --------------------------------------------------------------------------
//  Text

//  One DOWN notice, in full.
static void
test_text_one (void **state)
{
    notice_t down = s_notice (12, NOTICE_ALERT, 1, URL, SQ_STATE_UP, SQ_STATE_DOWN, T0,
                              SQ_REASON_CONNECT, "Connection refused");
    down.alert.dns_us = 1234;
    down.alert.total_us = 2500;
    const notice_t *notices [] = { &down };
    char *text = render_text (notices, 1);
    assert_non_null (text);
    assert_string_equal (text,
        "url: " URL "\n"
        "state: down\n"
        "previous: up\n"
        "reason: connect\n"
        "detail: Connection refused\n"
        "since: " T0_ISO "\n"
        "http status: none\n"
        "timings (ms): dns 1.234, connect -, tls -, ttfb -, total 2.500\n"
        "id: 12\n");
    free (text);
}

//  DOWN then UP of one site in one message: one story, the UP's subject.
static void
test_story (void **state)
{
    notice_t down = s_notice (12, NOTICE_ALERT, 1, URL, SQ_STATE_UP, SQ_STATE_DOWN, T0,
                              SQ_REASON_TIMEOUT, "Connection timed out");
    notice_t up = s_notice (13, NOTICE_ALERT, 1, URL, SQ_STATE_DOWN, SQ_STATE_UP,
                            T0 + 192 * SECOND, SQ_REASON_OK, "");
    up.alert.previous_since = T0;
    up.alert.http_status = 200;
    up.alert.dns_us = 1000;
    up.alert.connect_us = 2000;
    up.alert.tls_us = 3000;
    up.alert.ttfb_us = 4000;
    up.alert.total_us = 5000;
    const notice_t *notices [] = { &down, &up };

    char *subject = render_subject (notices, 2);
    assert_string_equal (subject, "[UP] " URL " (was down 3m12s)");
    free (subject);

    char *text = render_text (notices, 2);
    assert_non_null (text);
    assert_string_equal (text,
        "down from " T0_ISO " to 2026-11-26T06:43:12.000Z (3m12s): timeout: Connection timed out\n"
        "\n"
        "url: " URL "\n"
        "state: up\n"
        "previous: down\n"
        "reason: ok\n"
        "detail: -\n"
        "since: 2026-11-26T06:43:12.000Z\n"
        "http status: 200\n"
        "timings (ms): dns 1.000, connect 2.000, tls 3.000, ttfb 4.000, total 5.000\n"
        "down for: 3m12s (from " T0_ISO ")\n"
        "ids: 12, 13\n");
    free (text);
}

//  Three sites, one of them DOWN then UP: a digest by newest state.
static void
test_digest_three (void **state)
{
    notice_t notices_ [] = {
        s_notice (1, NOTICE_ALERT, 10, "https://a.example/", SQ_STATE_UP, SQ_STATE_DOWN, T0,
                  SQ_REASON_TIMEOUT, ""),
        s_notice (2, NOTICE_ALERT, 30, "https://c.example/", SQ_STATE_UP, SQ_STATE_DOWN, T0,
                  SQ_REASON_DNS, "no such host"),
        s_notice (3, NOTICE_ALERT, 20, "https://b.example/", SQ_STATE_UP, SQ_STATE_DOWN,
                  T0 + SECOND, SQ_REASON_HTTP_STATUS, ""),
        s_notice (4, NOTICE_ALERT, 30, "https://c.example/", SQ_STATE_DOWN, SQ_STATE_UP,
                  T0 + 192 * SECOND, SQ_REASON_OK, ""),
    };
    notices_ [2].alert.http_status = 502;
    notices_ [3].alert.previous_since = T0;
    const notice_t *notices [] = { &notices_ [0], &notices_ [1], &notices_ [2], &notices_ [3] };

    char *subject = render_subject (notices, 4);
    assert_string_equal (subject, "[squirrel] 3 changes: 2 down, 1 up");
    free (subject);
    char *text = render_text (notices, 4);
    assert_non_null (text);
    assert_string_equal (text,
        "3 changes: 2 down, 1 up\n"
        "[DOWN] https://a.example/ (timeout) since " T0_ISO "\n"
        "[UP] https://c.example/ (was down 3m12s: dns: no such host) since 2026-11-26T06:43:12.000Z\n"
        "[DOWN] https://b.example/ (http_status 502) since 2026-11-26T06:40:01.000Z\n"
        "ids: 1, 2, 3, 4\n");
    free (text);

    //  Other kinds count by themselves.
    notice_t more [] = {
        s_notice (5, NOTICE_FLAPPING, 40, "https://d.example/", SQ_STATE_DOWN, SQ_STATE_UP, T0,
                  SQ_REASON_OK, ""),
        s_notice (6, NOTICE_CERT, 50, "https://e.example/", SQ_STATE_UP, SQ_STATE_UP, T0,
                  SQ_REASON_OK, ""),
        s_notice (7, NOTICE_REMINDER, 60, "https://f.example/", SQ_STATE_UP, SQ_STATE_DOWN, T0,
                  SQ_REASON_OK, ""),
    };
    const notice_t *mixed [] = { &notices_ [3], &more [0], &more [1], &more [2] };
    subject = render_subject (mixed, 4);
    assert_string_equal (subject, "[squirrel] 4 changes: 1 down, 1 up, 1 flapping, 1 cert");
    free (subject);
}


//  --------------------------------------------------------------------------
//  Chat

//  notices [0..count): count sites, DOWN, URLs before + number + after.
static notice_t *
s_many (size_t count, const char *before, const char *after)
{
    notice_t *notices = calloc (count, sizeof (notice_t));
    assert_non_null (notices);
    for (size_t index = 0; index < count; index++) {
        char url [SQ_URL_MAX + 1];
        snprintf (url, sizeof (url), "%s%zu%s", before, index, after);
        notices [index] = s_notice (index + 1, NOTICE_ALERT, index + 1, url, SQ_STATE_UP,
                                    SQ_STATE_DOWN, T0, SQ_REASON_TIMEOUT, "timed out");
    }
    return notices;
}

static const notice_t **
s_pointers (notice_t *notices, size_t count)
{
    const notice_t **pointers = calloc (count, sizeof (notice_t *));
    assert_non_null (pointers);
    for (size_t index = 0; index < count; index++)
        pointers [index] = &notices [index];
    return pointers;
}

//  Slack: 200 sites show exactly RENDER_CHAT_LINES_MAX lines, then the rest counted.
static void
test_slack_digest (void **state)
{
    notice_t *notices = s_many (200, "https://site", ".example/?a=1&b=2");
    const notice_t **pointers = s_pointers (notices, 200);
    char *json = render_slack_json (pointers, 200);
    assert_non_null (json);
    char *text = s_python ("import json, sys\n"
                           "d = json.loads (sys.stdin.buffer.read ().decode ('utf-8'))\n"
                           "assert list (d) == ['text']\n"
                           "sys.stdout.write (d ['text'])\n", json);
    assert_non_null (text);
    size_t site_lines = 0;
    for (const char *line = text; line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
        site_lines += strncmp (line, "[DOWN] ", 7) == 0;
    assert_int_equal (site_lines, RENDER_CHAT_LINES_MAX);
    assert_non_null (strstr (text, "\n... and 150 more\n"));
    assert_true (strncmp (text, "[squirrel] 200 changes: 200 down, 0 up\n", 39) == 0);
    //  Slack's markup characters are escaped.
    assert_non_null (strstr (text, "?a=1&amp;b=2"));
    assert_null (strstr (text, "&b"));
    free (text);
    free (json);
    free (pointers);
    free (notices);
}

static const char *s_discord_check =
    "import json, sys\n"
    "raw = sys.stdin.buffer.read ()\n"
    "d = json.loads (raw.decode ('utf-8'))\n"
    "assert d ['allowed_mentions'] == {'parse': []}\n"
    "content = d ['content'].encode ('utf-8')\n"
    "assert len (content) <= 2000, len (content)\n"
    "sys.stdout.write (d ['content'])\n";

//  Discord: at most 2000 bytes, cut at a line, UTF-8 whole.
static void
test_discord (void **state)
{
    //  Multi-byte URLs, 200 sites: whole lines, "... and N more" adds up.
    notice_t *notices = s_many (200, "https://bücher", ".example/straße/ü/ö/ä");
    const notice_t **pointers = s_pointers (notices, 200);
    char *json = render_discord_json (pointers, 200);
    assert_non_null (json);
    char *content = s_python (s_discord_check, json);
    assert_non_null (content);
    size_t site_lines = 0;
    const char *line = content;
    for (; line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
        if (strncmp (line, "[DOWN] https://bücher", 22) == 0) {
            site_lines++;
            assert_non_null (strstr (line, "straße/ü/ö/ä (timeout: timed out) since"));
        }
    const char *more = strstr (content, "\n... and ");
    assert_non_null (more);
    assert_true (site_lines > 5 && site_lines < RENDER_CHAT_LINES_MAX);
    assert_int_equal (strtoul (more + 9, NULL, 10), 200 - site_lines);
    free (content);
    free (json);

    //  One site whose URL alone passes 2000 bytes: cut inside, at a character.
    char url [SQ_URL_MAX + 1] = "https://example.com/";
    while (strlen (url) + 2 <= SQ_URL_MAX)
        strcat (url, "é");
    notice_t huge = s_notice (1, NOTICE_ALERT, 1, url, SQ_STATE_UP, SQ_STATE_DOWN, T0,
                              SQ_REASON_TIMEOUT, "");
    const notice_t *one [] = { &huge };
    json = render_discord_json (one, 1);
    assert_non_null (json);
    content = s_python (s_discord_check, json);
    assert_non_null (content);
    assert_non_null (strstr (content, "\n... and "));
    free (content);
    free (json);
    free (pointers);
    free (notices);
}


//  --------------------------------------------------------------------------
//  Email

//  Every line ends CRLF; no line longer than max_line (headers: 78).
static void
s_assert_crlf (const char *mail)
{
    size_t length = strlen (mail);
    assert_true (length >= 2 && strcmp (mail + length - 2, "\r\n") == 0);
    bool in_headers = true;
    const char *line = mail;
    while (*line) {
        const char *end = strchr (line, '\n');
        assert_non_null (end);
        if (end == line || end [-1] != '\r')
            fail_msg ("a line without CR before LF: '%.*s'", (int) (end - line), line);
        size_t size = (size_t) (end - line) - 1;
        assert_null (memchr (line, '\r', size));
        if (size == 0)
            in_headers = false;
        if (size > (in_headers ? 78u : 998u))
            fail_msg ("a %s line of %zu bytes", in_headers ? "header" : "body", size);
        line = end + 1;
    }
}

//  Parses the mail; each encoded-word alone must hold whole UTF-8
//  characters (RFC 2047 5), which python's decoder does not check.
static const char *s_mail_check =
    "import base64, email, email.policy, re, sys\n"
    "raw = sys.stdin.buffer.read ()\n"
    "for word in re.findall (rb'=\\?UTF-8\\?B\\?([^?]*)\\?=', raw):\n"
    "    base64.b64decode (word, validate = True).decode ('utf-8')\n"
    "m = email.message_from_bytes (raw, policy = email.policy.default)\n"
    "assert not m.defects, m.defects\n"
    "print ('|'.join (m.keys ()))\n"
    "print (m ['subject'])\n";

static void
test_email (void **state)
{
    notice_t down = s_notice (12, NOTICE_ALERT, 1, URL, SQ_STATE_UP, SQ_STATE_DOWN, T0,
                              SQ_REASON_CONNECT, "refused\r\nBcc: evil@x");
    const notice_t *notices [] = { &down };
    char *mail = render_email (notices, 1, "Squirrel <alerts@squirrel.example>",
                               "ops@example.com", T0 + 123456);
    assert_non_null (mail);
    s_assert_crlf (mail);
    char *headers = strndup (mail, (size_t) (strstr (mail, "\r\n\r\n") - mail) + 2);
    static const char *const wanted [] = {
        "Date: Thu, 26 Nov 2026 06:40:00 +0000\r\n",
        "Message-ID: <squirrel.12.1795675200123456@squirrel.example>\r\n",
        "From: Squirrel <alerts@squirrel.example>\r\n", "To: ops@example.com\r\n",
        "Subject: [DOWN] " URL " (connect: refused  Bcc: evil@x)\r\n", "MIME-Version: 1.0\r\n",
        "Content-Type: text/plain; charset=utf-8\r\n", "Content-Transfer-Encoding: 8bit\r\n",
        "X-Squirrel-Id: 12\r\n",
    };
    size_t header_lines = s_occurrences (headers, "\r\n");
    assert_int_equal (header_lines, sizeof (wanted) / sizeof (wanted [0]));
    for (size_t index = 0; index < sizeof (wanted) / sizeof (wanted [0]); index++)
        if (s_occurrences (headers, wanted [index]) != 1)
            fail_msg ("header '%s' not there once in:\n%s", wanted [index], headers);
    //  The body: render_text, in CRLF; the injection is a line's tail only.
    assert_non_null (strstr (mail, "\r\n\r\nurl: " URL "\r\nstate: down\r\n"));
    assert_non_null (strstr (mail, "\r\ndetail: refused  Bcc: evil@x\r\n"));
    assert_null (strstr (mail, "\r\nBcc"));
    char *parsed = s_python (s_mail_check, mail);
    assert_non_null (parsed);
    assert_string_equal (parsed, "Date|Message-ID|From|To|Subject|MIME-Version|Content-Type|"
                         "Content-Transfer-Encoding|X-Squirrel-Id\n"
                         "[DOWN] " URL " (connect: refused  Bcc: evil@x)\n");
    free (parsed);
    free (headers);
    free (mail);
}

//  Non-ASCII, and too long for one line: encoded-words python3 decodes back.
static void
test_email_encoded (void **state)
{
    char plain_long [SQ_URL_MAX + 1] = "https://example.com/";
    while (strlen (plain_long) < 1500)
        strcat (plain_long, "abcdefghij");
    char spaced [600];
    snprintf (spaced, sizeof (spaced), "%s", "");
    for (int index = 0; index < 40; index++)
        strcat (spaced, "words and ");
    const char *const details [] = { "", "", "", spaced };
    //  Short non-ASCII; long non-ASCII; ASCII with a word too long to
    //  fold; ASCII with many spaces, folded.
    const char *const urls [] = {
        "https://bücher.example/straße",
        "https://bücher.example/ααααααααααααααααααααααααααααααααααααααααααααααααααααααααααααα"
        "ββββββββββββββββββββββββββββββββββββββββ/日本語のパス/日本語のパス/日本語のパス/€€€€€",
        plain_long, URL
    };
    for (size_t row = 0; row < 4; row++) {
        notice_t notices_ [2] = {
            s_notice (41, NOTICE_ALERT, 1, urls [row], SQ_STATE_UP, SQ_STATE_DOWN, T0,
                      SQ_REASON_TLS, details [row]),
            s_notice (42, NOTICE_ALERT, 1, urls [row], SQ_STATE_DOWN, SQ_STATE_DOWN, T0,
                      SQ_REASON_TLS, details [row]),
        };
        const notice_t *notices [] = { &notices_ [0], &notices_ [1] };
        char *subject = render_subject (notices, 2);
        char *mail = render_email (notices, 2, "alerts@squirrel.example", "ops@example.com", T0);
        assert_non_null (mail);
        s_assert_crlf (mail);
        assert_non_null (strstr (mail, "\r\nMessage-ID: <squirrel.41-42."));
        assert_non_null (strstr (mail, "\r\nX-Squirrel-Id: 41, 42\r\n"));
        bool encoded = row < 3;
        assert_true ((strstr (mail, "Subject: =?UTF-8?B?") != NULL) == encoded);
        //  Each encoded-word at most 75 characters.
        for (const char *word = mail; (word = strstr (word, "=?UTF-8?B?")); ) {
            const char *end = strstr (word + 10, "?=");
            assert_non_null (end);
            assert_true (end + 2 - word <= 75);
            word = end + 2;
        }
        char *parsed = s_python (s_mail_check, mail);
        assert_non_null (parsed);
        char *decoded = strdup (strchr (parsed, '\n') + 1);
        decoded [strcspn (decoded, "\n")] = '\0';
        assert_string_equal (decoded, subject);
        free (decoded);
        free (parsed);
        free (mail);
        free (subject);
    }
}

//  200 ids: X-Squirrel-Id folds, the body's ids line wraps, all under limits.
static void
test_email_many (void **state)
{
    notice_t *notices = s_many (200, "https://site", ".example/");
    for (size_t index = 0; index < 200; index++)
        notices [index].id = 1000000 + index;
    const notice_t **pointers = s_pointers (notices, 200);
    char *mail = render_email (pointers, 200, "a@b.example", "c@d.example", T0);
    assert_non_null (mail);
    s_assert_crlf (mail);
    assert_non_null (strstr (mail, "Message-ID: <squirrel.1000000-1000199."));
    assert_int_equal (s_occurrences (mail, "\r\n[DOWN] https://site"), 200);
    char *parsed = s_python ("import email, email.policy, sys\n"
                             "m = email.message_from_bytes (sys.stdin.buffer.read (), "
                             "policy = email.policy.default)\n"
                             "ids = [int (x) for x in str (m ['X-Squirrel-Id']).split (', ')]\n"
                             "assert ids == list (range (1000000, 1000200)), ids\n"
                             "body = m.get_content ()\n"
                             "tail = body [body.index ('ids: '):].replace ('\\n', ' ')\n"
                             "ids = [int (x) for x in tail [5:].replace (',', ' ').split ()]\n"
                             "assert ids == list (range (1000000, 1000200)), ids\n", mail);
    assert_non_null (parsed);
    free (parsed);
    free (mail);
    free (pointers);
    free (notices);
}


//  --------------------------------------------------------------------------
//  JSON, templates, environment

static void
test_webhook_json (void **state)
{
    notice_t down = s_notice (12, NOTICE_ALERT, 3, "https://example.com/a?token=abc",
                              SQ_STATE_UP, SQ_STATE_DOWN, T0, SQ_REASON_HTTP_STATUS,
                              "say \"hi\"\n\\ \xff");
    down.alert.http_status = 503;
    down.alert.dns_us = 1234;
    down.alert.total_us = 10000001;
    const notice_t *one [] = { &down };
    char *json = render_webhook_json (one, 1);
    assert_non_null (json);
    char *parsed = s_python (
        "import json, sys\n"
        "d = json.loads (sys.stdin.buffer.read ().decode ('utf-8'))\n"
        "assert list (d) == ['id', 'kind', 'seq', 'site_id', 'url', 'state', 'previous', "
        "'reason', 'detail', 'at', 'since', 'previous_since', 'http_status', 'timings_ms', "
        "'regions', 'owner'], list (d)\n"
        "t = d ['timings_ms']\n"
        "print (d ['id'], d ['kind'], d ['seq'], d ['site_id'], d ['url'], d ['state'], "
        "d ['previous'], d ['reason'], repr (d ['detail']), d ['at'], d ['since'], "
        "d ['previous_since'], d ['http_status'], t ['dns'], t ['connect'], t ['tls'], "
        "t ['ttfb'], t ['total'], d ['owner'], sep = '|')\n", json);
    assert_non_null (parsed);
    assert_string_equal (parsed, "12|alert|12|3|https://example.com/a?token=***|down|up|"
                         "http_status|'say \"hi\"\\n\\\\ ?'|" T0_ISO "|" T0_ISO "|None|503|"
                         "1.234|0.0|0.0|0.0|10000.001|None\n");
    free (parsed);
    free (json);

    //  Kind fields, and the digest around them.
    notice_t flapping = s_notice (13, NOTICE_FLAPPING, 3, URL, SQ_STATE_DOWN, SQ_STATE_UP,
                                  T0, SQ_REASON_OK, "");
    flapping.changes = 6;
    flapping.window_ms = 600000;
    flapping.alert.previous_since = T0 - SECOND;
    snprintf (flapping.owner, sizeof (flapping.owner), "alice");
    notice_t cert = s_notice (14, NOTICE_CERT, 4, URL, SQ_STATE_UP, SQ_STATE_UP, T0,
                              SQ_REASON_OK, "");
    cert.cert_expiry = 1795675200 + 12 * 86400;
    cert.days_left = 12;
    snprintf (cert.owner, sizeof (cert.owner), "alice");
    const notice_t *three [] = { &down, &flapping, &cert };
    json = render_webhook_json (three, 3);
    assert_non_null (json);
    parsed = s_python (
        "import json, sys\n"
        "d = json.loads (sys.stdin.buffer.read ().decode ('utf-8'))\n"
        "assert list (d) == ['digest', 'owner', 'count', 'alerts']\n"
        "f, c = d ['alerts'][1], d ['alerts'][2]\n"
        "print (d ['digest'], d ['owner'], d ['count'], [a ['id'] for a in d ['alerts']], "
        "f ['changes'], f ['window_ms'], f ['previous_since'], f ['owner'], "
        "c ['cert_expiry'], c ['days_left'], 'changes' in c, sep = '|')\n", json);
    assert_non_null (parsed);
    assert_string_equal (parsed, "True|alice|3|[12, 13, 14]|6|600000|2026-11-26T06:39:59.000Z|"
                         "alice|2026-12-08T06:40:00.000Z|12|False\n");
    free (parsed);
    free (json);
}

static void
test_template (void **state)
{
    notice_t first = s_notice (12, NOTICE_ALERT, 3, URL, SQ_STATE_UP, SQ_STATE_DOWN, T0,
                               SQ_REASON_TIMEOUT, "");
    notice_t down = s_notice (13, NOTICE_ALERT, 3, "https://bob:hunter2@example.com/?token=abc",
                              SQ_STATE_UP, SQ_STATE_DOWN, T0, SQ_REASON_KEYWORD,
                              "missing \"ok\"\r\n");
    const notice_t *notices [] = { &first, &down };
    char *body = template_expand ("{\"u\": \"{{url}}\", \"s\": \"{{ state }}\", \"i\": \"{{id}}\", "
                                  "\"d\": \"{{detail}}\", \"subject\": \"{{subject}}\", "
                                  "\"summary\": \"{{summary}}\"}", notices, 2);
    assert_non_null (body);
    char *parsed = s_python (
        "import json, sys\n"
        "d = json.loads (sys.stdin.buffer.read ().decode ('utf-8'))\n"
        "assert d ['summary'].endswith ('ids: 12, 13\\n')\n"
        "print (d ['u'], d ['s'], d ['i'], repr (d ['d']), d ['subject'], sep = '|')\n", body);
    assert_non_null (parsed);
    assert_string_equal (parsed, "https://***@example.com/?token=***|down|12,13|"
                         "'missing \"ok\"\\r\\n'|[DOWN] https://***@example.com/?token=*** "
                         "(keyword: missing \"ok\"  )\n");
    free (parsed);
    free (body);
}

static void
test_command_env (void **state)
{
    notice_t down = s_notice (12, NOTICE_ALERT, 3, URL, SQ_STATE_UP, SQ_STATE_DOWN, T0,
                              SQ_REASON_TIMEOUT, "line one\nline two");
    notice_t up = s_notice (13, NOTICE_ALERT, 3, URL, SQ_STATE_DOWN, SQ_STATE_UP,
                            T0 + 192 * SECOND, SQ_REASON_OK, "");
    up.alert.previous_since = T0;
    up.alert.http_status = 204;
    snprintf (up.owner, sizeof (up.owner), "alice");
    const notice_t *notices [] = { &down, &up };
    char **env = render_command_env (notices, 2);
    assert_non_null (env);
    static const char *const wanted [] = {
        "SQUIRREL_ID=12,13", "SQUIRREL_KIND=alert", "SQUIRREL_URL=" URL, "SQUIRREL_STATE=up",
        "SQUIRREL_PREVIOUS=down", "SQUIRREL_REASON=ok", "SQUIRREL_DETAIL=",
        "SQUIRREL_SINCE=2026-11-26T06:43:12.000Z", "SQUIRREL_HTTP_STATUS=204",
        "SQUIRREL_OWNER=alice", "SQUIRREL_COUNT=2",
        "SQUIRREL_SUBJECT=[UP] " URL " (was down 3m12s)", NULL,
        "PATH=/usr/local/bin:/usr/bin:/bin",
    };
    size_t count = 0;
    while (env [count])
        count++;
    assert_int_equal (count, sizeof (wanted) / sizeof (wanted [0]));
    for (size_t index = 0; index < count; index++)
        if (wanted [index])
            assert_string_equal (env [index], wanted [index]);
    assert_true (strncmp (env [12], "SQUIRREL_TEXT=down from ", 24) == 0);
    assert_non_null (strstr (env [12], "timeout: line one line two\n"));
    render_env_free (&env);
    assert_null (env);
    render_env_free (&env);
}

//  A URL's password and token value reach no output.
static void
test_secrets (void **state)
{
    const char *url = "https://bob:hunter2@example.com/path?token=abc&plain";
    notice_t notices_ [] = {
        s_notice (1, NOTICE_ALERT, 1, url, SQ_STATE_UP, SQ_STATE_DOWN, T0, SQ_REASON_DNS, ""),
        s_notice (2, NOTICE_ALERT, 1, url, SQ_STATE_DOWN, SQ_STATE_UP, T0 + SECOND, SQ_REASON_OK,
                  ""),
        s_notice (3, NOTICE_REMINDER, 2, url, SQ_STATE_UP, SQ_STATE_DOWN, T0, SQ_REASON_DNS, ""),
    };
    const notice_t *notices [] = { &notices_ [0], &notices_ [1], &notices_ [2] };
    for (size_t count = 1; count <= 3; count++) {
        char *outputs [] = {
            render_subject (notices, count), render_text (notices, count),
            render_webhook_json (notices, count), render_slack_json (notices, count),
            render_discord_json (notices, count),
            render_email (notices, count, "a@b.example", "c@d.example", T0),
            template_expand ("{{url}} {{subject}} {{summary}}", notices, count),
        };
        char **env = render_command_env (notices, count);
        assert_non_null (env);
        for (size_t index = 0; index < sizeof (outputs) / sizeof (outputs [0]); index++) {
            assert_non_null (outputs [index]);
            //  Shown elided (a digest's subject names no site).
            if (index > 0 || count < 3)
                assert_non_null (strstr (outputs [index], "//***@example.com/path?token=***"));
            if (strstr (outputs [index], "hunter2") || strstr (outputs [index], "bob")
            ||  strstr (outputs [index], "token=abc"))
                fail_msg ("output %zu of %zu notices shows a secret:\n%s", index, count,
                          outputs [index]);
            free (outputs [index]);
        }
        for (char **entry = env; *entry; entry++)
            assert_true (!strstr (*entry, "hunter2") && !strstr (*entry, "bob")
                         && !strstr (*entry, "token=abc"));
        render_env_free (&env);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_subjects),
        cmocka_unit_test (test_duration),
        cmocka_unit_test (test_text_one),
        cmocka_unit_test (test_story),
        cmocka_unit_test (test_digest_three),
        cmocka_unit_test (test_slack_digest),
        cmocka_unit_test (test_discord),
        cmocka_unit_test (test_email),
        cmocka_unit_test (test_email_encoded),
        cmocka_unit_test (test_email_many),
        cmocka_unit_test (test_webhook_json),
        cmocka_unit_test (test_template),
        cmocka_unit_test (test_command_env),
        cmocka_unit_test (test_secrets),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
