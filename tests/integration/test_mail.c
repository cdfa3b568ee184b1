/*  test_mail.c: the transports under the channels (notifier/channel.h)
    against real servers on loopback.

    SMTP against tests/fixtures/smtp_server.py (aiosmtpd with a throwaway
    test CA): STARTTLS is required, the certificate is verified, AUTH and
    its refusal, smtps://, a server down and back.  HTTP against the
    webhook receiver: 2xx or not, the timeout, the protocols allowed.
    Commands: the environment passed as is, exit status, kill and reap.
    Each transfer runs with curl_easy_perform: the setup functions do not
    care which interface drives the handle.
*/
#include "channel.h"
#include "fixture_process.h"
#include "smtp.h"
#include "webhook.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define MAIL_TIMEOUT_MS     10000       //  Each SMTP transfer
#define WAIT_MS             10000       //  Waits for something that should happen
#define USER                "squirrel"
#define PASSWORD            "hazel nut"
#define FROM                "monitor@squirrel.example"
#define TO                  "ops@squirrel.example"

//  A message with what SMTP must carry exactly: CRLF line ends, a line
//  that starts with a dot (dot-stuffed on the wire), a non-ASCII line.
static const char s_message [] =
    "From: UptimeSquirrel <" FROM ">\r\n"
    "To: <" TO ">\r\n"
    "Subject: [DOWN] shop.example\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "shop.example is down: HTTP 503.\r\n"
    ".a line that starts with a dot\r\n"
    "..and one with two\r\n"
    "Eichh\xc3\xb6rnchen\r\n";


//  --------------------------------------------------------------------------
//  Helpers

//  Send s_message to TO through server as smtp says; the transfer's
//  result, and whether channel_transfer_ok calls it delivered.
static CURLcode
s_send (const channel_smtp_t *smtp, long timeout_ms, bool *ok)
{
    CURL *easy = curl_easy_init ();
    assert_non_null (easy);
    char error [CURL_ERROR_SIZE];
    struct curl_slist *recipients = NULL;
    channel_upload_t upload = { s_message, sizeof (s_message) - 1, 0 };
    assert_int_equal (channel_smtp_setup (easy, smtp, TO, &upload, timeout_ms, error,
                                          &recipients), 0);
    assert_non_null (recipients);
    CURLcode code = curl_easy_perform (easy);
    *ok = channel_transfer_ok (easy, code);
    if (code != CURLE_OK)
        printf ("# %s: %s (%s)\n", smtp->url, curl_easy_strerror (code), error);
    curl_easy_cleanup (easy);
    curl_slist_free_all (recipients);
    return code;
}

//  POST body to url within timeout_ms; the transfer's result, and ok.
static CURLcode
s_post (const char *url, const char *body, long timeout_ms, bool *ok)
{
    CURL *easy = curl_easy_init ();
    assert_non_null (easy);
    char error [CURL_ERROR_SIZE];
    struct curl_slist *headers = NULL;
    assert_int_equal (channel_http_setup (easy, url, body, "application/json", timeout_ms,
                                          error, &headers), 0);
    assert_non_null (headers);
    CURLcode code = curl_easy_perform (easy);
    *ok = channel_transfer_ok (easy, code);
    curl_easy_cleanup (easy);
    curl_slist_free_all (headers);
    return code;
}

//  The one message on server is s_message from FROM to TO, as user.
static void
s_assert_delivered (smtp_t *server, const char *user)
{
    assert_true (smtp_wait (server, 1, WAIT_MS));
    assert_int_equal (smtp_count (server), 1);
    size_t length = 0;
    char *message = smtp_message (server, 0, &length);
    assert_non_null (message);
    assert_int_equal (length, sizeof (s_message) - 1);
    assert_memory_equal (message, s_message, length);
    free (message);
    char *to = smtp_envelope_to (server, 0);
    assert_string_equal (to, TO);
    free (to);
    char *from = smtp_envelope_from (server, 0);
    assert_string_equal (from, FROM);
    free (from);
    char *auth = smtp_auth_user (server, 0);
    if (user)
        assert_string_equal (auth, user);
    else
        assert_null (auth);
    free (auth);
}

//  A private directory for the command tests; caller removes it.
static char *
s_directory (void)
{
    const char *tmp = getenv ("TMPDIR");
    char *directory = fixture_format ("%s/sq-test-mail-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null (directory);
    assert_non_null (mkdtemp (directory));
    return directory;
}

//  Write an executable shell script; its path, caller frees.
static char *
s_script (const char *directory, const char *name, const char *text)
{
    char *path = fixture_format ("%s/%s", directory, name);
    assert_non_null (path);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    assert_int_equal (fclose (file), 0);
    assert_int_equal (chmod (path, 0700), 0);
    return path;
}

//  Poll the command until it ends (WAIT_MS at most); its ok and why.
static void
s_wait_command (pid_t pid, bool *ok, char *why, size_t why_size)
{
    int64_t deadline = fixture_now_ms () + WAIT_MS;
    int rc;
    while ((rc = channel_command_poll (pid, ok, why, why_size)) == 0) {
        assert_true (fixture_now_ms () < deadline);
        fixture_sleep_ms (10);
    }
    assert_int_equal (rc, 1);
}


//  --------------------------------------------------------------------------
//  SMTP

//  A server that offers no STARTTLS: we never send in clear.
static void
t_smtp_plain_refused (void **state)
{
    (void) state;
    smtp_t *server = smtp_start (NULL);
    assert_non_null (server);
    channel_smtp_t smtp = { smtp_url (server), FROM, NULL, NULL, NULL };
    bool ok = true;
    CURLcode code = s_send (&smtp, MAIL_TIMEOUT_MS, &ok);
    assert_false (ok);
    assert_int_equal (code, CURLE_USE_SSL_FAILED);
    assert_int_equal (smtp_count (server), 0);
    smtp_stop (&server);
    assert_null (server);
}

//  STARTTLS with the test CA, then AUTH: delivered, byte for byte.
static void
t_smtp_starttls_delivered (void **state)
{
    (void) state;
    smtp_options_t options = { .tls = true, .require_tls = true,
                               .user = USER, .password = PASSWORD };
    smtp_t *server = smtp_start (&options);
    assert_non_null (server);
    assert_non_null (smtp_ca_file (server));
    assert_int_equal (strncmp (smtp_url (server), "smtp://127.0.0.1:", 17), 0);
    channel_smtp_t smtp = { smtp_url (server), FROM, USER, PASSWORD, smtp_ca_file (server) };
    bool ok = false;
    assert_int_equal (s_send (&smtp, MAIL_TIMEOUT_MS, &ok), CURLE_OK);
    assert_true (ok);
    s_assert_delivered (server, USER);
    smtp_stop (&server);
}

static void
t_smtp_wrong_password (void **state)
{
    (void) state;
    smtp_options_t options = { .tls = true, .require_tls = true,
                               .user = USER, .password = PASSWORD };
    smtp_t *server = smtp_start (&options);
    assert_non_null (server);
    channel_smtp_t smtp = { smtp_url (server), FROM, USER, "hazel", smtp_ca_file (server) };
    bool ok = true;
    assert_int_equal (s_send (&smtp, MAIL_TIMEOUT_MS, &ok), CURLE_LOGIN_DENIED);
    assert_false (ok);
    //  No AUTH at all: the server refuses MAIL.
    smtp.user = NULL;
    smtp.password = NULL;
    ok = true;
    assert_int_not_equal (s_send (&smtp, MAIL_TIMEOUT_MS, &ok), CURLE_OK);
    assert_false (ok);
    assert_int_equal (smtp_count (server), 0);
    smtp_stop (&server);
}

//  TLS from the first byte.
static void
t_smtp_smtps (void **state)
{
    (void) state;
    smtp_options_t options = { .smtps = true, .user = USER, .password = PASSWORD };
    smtp_t *server = smtp_start (&options);
    assert_non_null (server);
    assert_int_equal (strncmp (smtp_url (server), "smtps://127.0.0.1:", 18), 0);
    channel_smtp_t smtp = { smtp_url (server), FROM, USER, PASSWORD, smtp_ca_file (server) };
    bool ok = false;
    assert_int_equal (s_send (&smtp, MAIL_TIMEOUT_MS, &ok), CURLE_OK);
    assert_true (ok);
    s_assert_delivered (server, USER);
    smtp_stop (&server);
}

//  Without the test CA the system's bundle is used, and it does not know
//  the server's certificate (ca-certificates, from deploy/install-deps.sh).
static void
t_smtp_unknown_certificate (void **state)
{
    (void) state;
    smtp_options_t options = { .tls = true, .require_tls = true };
    smtp_t *server = smtp_start (&options);
    assert_non_null (server);
    channel_smtp_t smtp = { smtp_url (server), FROM, NULL, NULL, NULL };
    bool ok = true;
    assert_int_equal (s_send (&smtp, MAIL_TIMEOUT_MS, &ok), CURLE_PEER_FAILED_VERIFICATION);
    assert_false (ok);
    //  A CA file given replaces the system's bundle, and is used: the
    //  system's bundle given as the file fails the same way.
    smtp.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    assert_int_equal (access (smtp.ca_file, R_OK), 0);
    assert_int_equal (s_send (&smtp, MAIL_TIMEOUT_MS, &ok), CURLE_PEER_FAILED_VERIFICATION);
    assert_false (ok);
    //  The same with the test CA: delivered (so the failures were the CA).
    smtp.ca_file = smtp_ca_file (server);
    assert_int_equal (s_send (&smtp, MAIL_TIMEOUT_MS, &ok), CURLE_OK);
    assert_true (ok);
    s_assert_delivered (server, NULL);
    smtp_stop (&server);
}

//  Server down: the connection is refused; back on the same port: sent.
static void
t_smtp_down_and_back (void **state)
{
    (void) state;
    smtp_options_t options = { .tls = true, .require_tls = true };
    smtp_t *server = smtp_start (&options);
    assert_non_null (server);
    int port = smtp_port (server);
    smtp_halt (server);
    channel_smtp_t smtp = { smtp_url (server), FROM, NULL, NULL, smtp_ca_file (server) };
    bool ok = true;
    assert_int_equal (s_send (&smtp, MAIL_TIMEOUT_MS, &ok), CURLE_COULDNT_CONNECT);
    assert_false (ok);
    assert_int_equal (smtp_restart (server), 0);
    assert_int_equal (smtp_port (server), port);
    assert_int_equal (s_send (&smtp, MAIL_TIMEOUT_MS, &ok), CURLE_OK);
    assert_true (ok);
    s_assert_delivered (server, NULL);
    smtp_stop (&server);
}

//  The fixture itself: with require_tls it refuses MAIL in clear (a
//  client that skips STARTTLS, which channel_smtp_setup never does).
static void
t_smtp_fixture_requires_tls (void **state)
{
    (void) state;
    smtp_options_t options = { .tls = true, .require_tls = true };
    smtp_t *server = smtp_start (&options);
    assert_non_null (server);
    CURL *easy = curl_easy_init ();
    assert_non_null (easy);
    struct curl_slist *recipients = curl_slist_append (NULL, "<" TO ">");
    FILE *message = fmemopen ((void *) s_message, sizeof (s_message) - 1, "r");
    assert_non_null (message);
    curl_easy_setopt (easy, CURLOPT_URL, smtp_url (server));
    curl_easy_setopt (easy, CURLOPT_USE_SSL, (long) CURLUSESSL_NONE);
    curl_easy_setopt (easy, CURLOPT_MAIL_FROM, "<" FROM ">");
    curl_easy_setopt (easy, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt (easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (easy, CURLOPT_READDATA, message);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, (long) MAIL_TIMEOUT_MS);
    CURLcode code = curl_easy_perform (easy);
    long reply = 0;
    curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &reply);
    assert_int_not_equal (code, CURLE_OK);
    assert_int_equal (reply, 530);
    curl_easy_cleanup (easy);
    curl_slist_free_all (recipients);
    fclose (message);
    assert_int_equal (smtp_count (server), 0);
    smtp_stop (&server);
}

//  Addresses that would break the SMTP dialogue, and URLs of other
//  protocols, are refused before anything is sent.
static void
t_smtp_setup_refuses (void **state)
{
    (void) state;
    CURL *easy = curl_easy_init ();
    assert_non_null (easy);
    char error [CURL_ERROR_SIZE];
    struct curl_slist *recipients = NULL;
    channel_upload_t upload = { s_message, sizeof (s_message) - 1, 0 };
    channel_smtp_t smtp = { "smtp://127.0.0.1:1", FROM, NULL, NULL, NULL };
    assert_int_equal (channel_smtp_setup (easy, &smtp, "ops@x\r\nRCPT TO:<evil@x>", &upload,
                                          1000, error, &recipients), -1);
    assert_null (recipients);
    assert_non_null (strstr (error, "recipient"));
    smtp.from = "a@b>";
    assert_int_equal (channel_smtp_setup (easy, &smtp, TO, &upload, 1000, error, &recipients), -1);
    smtp.from = FROM;
    smtp.url = "http://127.0.0.1:1";
    assert_int_equal (channel_smtp_setup (easy, &smtp, TO, &upload, 1000, error, &recipients), -1);
    assert_null (recipients);
    curl_easy_cleanup (easy);
}


//  --------------------------------------------------------------------------
//  HTTP

static void
t_http_ok (void **state)
{
    (void) state;
    webhook_t *hook = webhook_start (0, 200);
    assert_non_null (hook);
    char *url = webhook_url (hook, "/hook");
    const char *body = "{\"site\":\"shop.example\",\"state\":\"down\"}";
    bool ok = false;
    assert_int_equal (s_post (url, body, 5000, &ok), CURLE_OK);
    assert_true (ok);
    assert_true (webhook_wait (hook, 1, WAIT_MS));
    char *received = webhook_body (hook, 0);
    assert_string_equal (received, body);
    free (received);
    free (url);
    webhook_stop (&hook);
}

//  A 500 is a transfer that worked and a delivery that did not.
static void
t_http_error_status (void **state)
{
    (void) state;
    webhook_t *hook = webhook_start (0, 500);
    assert_non_null (hook);
    char *url = webhook_url (hook, "/hook");
    bool ok = true;
    assert_int_equal (s_post (url, "{}", 5000, &ok), CURLE_OK);
    assert_false (ok);
    free (url);
    webhook_stop (&hook);
}

//  A receiver that answers after 3 s, a timeout of 500 ms: the transfer
//  gives up well before the answer.  The bound is loose on purpose: this
//  checks the timeout is set, not how fast anything is.
static void
t_http_timeout (void **state)
{
    (void) state;
    webhook_t *hook = webhook_start (3000, 200);
    assert_non_null (hook);
    char *url = webhook_url (hook, "/slow");
    bool ok = true;
    int64_t started = fixture_now_ms ();
    assert_int_equal (s_post (url, "{}", 500, &ok), CURLE_OPERATION_TIMEDOUT);
    int64_t elapsed = fixture_now_ms () - started;
    assert_false (ok);
    assert_true (elapsed < 2500);
    free (url);
    webhook_stop (&hook);
}

//  Only http and https.
static void
t_http_other_protocols (void **state)
{
    (void) state;
    bool ok = true;
    assert_int_equal (s_post ("file:///etc/hostname", "{}", 1000, &ok),
                      CURLE_UNSUPPORTED_PROTOCOL);
    assert_false (ok);
}


//  --------------------------------------------------------------------------
//  Commands

//  The command sees exactly the environment given, /dev/null for input,
//  and runs in a process group of its own.
static void
t_command_environment (void **state)
{
    (void) state;
    char *directory = s_directory ();
    char *output = fixture_format ("%s/env.txt", directory);
    char *script = s_script (directory, "record.sh",
        "#!/bin/sh\n"
        "/usr/bin/env > \"$SQ_OUTPUT.tmp\"\n"
        "echo \"stdin=$(/usr/bin/readlink /proc/$$/fd/0)\" >> \"$SQ_OUTPUT.tmp\"\n"
        "/bin/mv \"$SQ_OUTPUT.tmp\" \"$SQ_OUTPUT\"\n");
    char *output_entry = fixture_format ("SQ_OUTPUT=%s", output);
    char *env [] = { output_entry, "SQ_SITE=shop.example", NULL };
    //  Our own environment has HOME (set it, to be sure it is not passed).
    setenv ("HOME", "/root-of-the-test", 0);

    char why [256];
    pid_t pid = channel_command_start (script, env, why, sizeof (why));
    assert_true (pid > 0);
    assert_int_equal (getpgid (pid), pid);
    bool ok = false;
    s_wait_command (pid, &ok, why, sizeof (why));
    assert_true (ok);

    char *text = fixture_read_file (output, 65536, NULL);
    assert_non_null (text);
    assert_non_null (strstr (text, "SQ_SITE=shop.example\n"));
    assert_non_null (strstr (text, output_entry));
    assert_null (strstr (text, "HOME="));
    assert_null (strstr (text, "PATH="));
    assert_non_null (strstr (text, "stdin=/dev/null\n"));
    free (text);

    unlink (output);
    unlink (script);
    rmdir (directory);
    free (output_entry);
    free (script);
    free (output);
    free (directory);
}

static void
t_command_exit_status (void **state)
{
    (void) state;
    char *directory = s_directory ();
    char *script = s_script (directory, "fail.sh", "#!/bin/sh\nexit 3\n");
    char *env [] = { NULL };
    char why [256];
    pid_t pid = channel_command_start (script, env, why, sizeof (why));
    assert_true (pid > 0);
    bool ok = true;
    s_wait_command (pid, &ok, why, sizeof (why));
    assert_false (ok);
    assert_non_null (strstr (why, "3"));
    //  Reaped: no such child any more.
    assert_int_equal (channel_command_poll (pid, &ok, why, sizeof (why)), -1);

    //  Not there, or not absolute: refused at start, saying so.
    assert_int_equal (channel_command_start ("/nonexistent/notify.sh", env, why, sizeof (why)), -1);
    assert_non_null (strstr (why, "/nonexistent/notify.sh"));
    assert_int_equal (channel_command_start ("fail.sh", env, why, sizeof (why)), -1);

    unlink (script);
    rmdir (directory);
    free (script);
    free (directory);
}

//  State of process pid from /proc: 'R', 'S', 'Z'..., or 0 if it is gone.
static char
s_process_state (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
    char *text = fixture_read_file (path, 4096, NULL);
    if (!text)
        return 0;
    const char *close = strrchr (text, ')');
    char state = close && close [1] == ' ' ? close [2] : '?';
    free (text);
    return state;
}

//  A command that would run 30 s, and a child it started: the kill takes
//  both, and reaps the command.
static void
t_command_kill (void **state)
{
    (void) state;
    char *directory = s_directory ();
    char *child_file = fixture_format ("%s/child.pid", directory);
    char *script = s_script (directory, "hang.sh",
        "#!/bin/sh\n"
        "/bin/sleep 30 &\n"
        "echo $! > \"$SQ_CHILD.tmp\"\n"
        "/bin/mv \"$SQ_CHILD.tmp\" \"$SQ_CHILD\"\n"
        "wait\n");
    char *child_entry = fixture_format ("SQ_CHILD=%s", child_file);
    char *env [] = { child_entry, NULL };
    char why [256];
    int64_t started = fixture_now_ms ();
    pid_t pid = channel_command_start (script, env, why, sizeof (why));
    assert_true (pid > 0);

    //  Wait for the child to be started.
    char *text = NULL;
    while (!(text = fixture_read_file (child_file, 64, NULL))) {
        assert_true (fixture_now_ms () - started < WAIT_MS);
        fixture_sleep_ms (10);
    }
    pid_t child = (pid_t) atoi (text);
    free (text);
    assert_true (child > 0);
    bool ok = true;
    assert_int_equal (channel_command_poll (pid, &ok, why, sizeof (why)), 0);

    channel_command_kill (pid);
    assert_true (fixture_now_ms () - started < WAIT_MS);
    //  Reaped by the kill: waitpid knows no such child.
    assert_int_equal (waitpid (pid, NULL, WNOHANG), -1);
    assert_int_equal (errno, ECHILD);
    //  The sleep, in the same group, is gone too (or a zombie for whoever
    //  inherited it).
    char child_state;
    while ((child_state = s_process_state (child)) != 0 && child_state != 'Z') {
        assert_true (fixture_now_ms () - started < WAIT_MS);
        fixture_sleep_ms (10);
    }

    unlink (child_file);
    unlink (script);
    rmdir (directory);
    free (child_entry);
    free (script);
    free (child_file);
    free (directory);
}


int
main (void)
{
    if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf (stderr, "test_mail: curl_global_init failed\n");
        return 1;
    }
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (t_smtp_plain_refused),
        cmocka_unit_test (t_smtp_starttls_delivered),
        cmocka_unit_test (t_smtp_wrong_password),
        cmocka_unit_test (t_smtp_smtps),
        cmocka_unit_test (t_smtp_unknown_certificate),
        cmocka_unit_test (t_smtp_down_and_back),
        cmocka_unit_test (t_smtp_fixture_requires_tls),
        cmocka_unit_test (t_smtp_setup_refuses),
        cmocka_unit_test (t_http_ok),
        cmocka_unit_test (t_http_error_status),
        cmocka_unit_test (t_http_timeout),
        cmocka_unit_test (t_http_other_protocols),
        cmocka_unit_test (t_command_environment),
        cmocka_unit_test (t_command_exit_status),
        cmocka_unit_test (t_command_kill),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    curl_global_cleanup ();
    return failed;
}
