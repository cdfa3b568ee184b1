/*  channel.c: the transports under the channels.  See channel.h.

    HTTP and SMTP only set an easy handle up: the caller adds it to its
    multi handle, runs it with its other transfers, and asks
    channel_transfer_ok once it is done.  Every option that limits what a
    transfer may do is set here, in one place, so that no channel forgets
    one: the protocols allowed, no redirects, a timeout, NOSIGNAL (we run
    beside other threads), and for SMTP, TLS required and the peer verified.

    Commands run through posix_spawn, never through a shell: the path is
    run as is, with exactly the environment given, with nothing of ours on
    its standard descriptors, and in a process group of its own so that a
    kill reaches whatever it started too.

    Trade-offs, stated plainly:
    - Addresses for SMTP are refused if they hold control characters or
      angle brackets: they come from a config file and go into the SMTP
      dialogue, where a CR LF would start a command of its own.
    - channel_command_kill waits for the command to die (waitpid without
      WNOHANG).  SIGKILL cannot be caught, so that wait is short.
*/
#include "channel.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SQ_VERSION_STRING
#   define SQ_VERSION_STRING "unknown"
#endif
#define CHANNEL_USER_AGENT  "UptimeSquirrel/" SQ_VERSION_STRING

//  glibc 2.34 can close every other descriptor in the child for us; on
//  older C libraries the caller's descriptors rely on O_CLOEXEC alone.
#if defined (__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#   define CHANNEL_HAVE_CLOSEFROM 1
#endif
//  sigabbrev_np ("KILL" for SIGKILL) came with glibc 2.32.
#if defined (__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#   define CHANNEL_HAVE_SIGABBREV 1
#endif


//  --------------------------------------------------------------------------
//  libcurl callbacks

//  The answer to a POST is not ours to read: swallow it.
static size_t
s_discard (char *data, size_t size, size_t count, void *arg)
{
    (void) data;
    (void) arg;
    return size * count;
}

//  Hand libcurl the next piece of the message being uploaded.
static size_t
s_upload_read (char *buffer, size_t size, size_t count, void *arg)
{
    channel_upload_t *upload = (channel_upload_t *) arg;
    assert (upload->sent <= upload->size);
    size_t room = size * count;
    size_t left = upload->size - upload->sent;
    size_t length = left < room ? left : room;
    if (length > 0)
        memcpy (buffer, upload->data + upload->sent, length);
    upload->sent += length;
    return length;
}


//  --------------------------------------------------------------------------
//  Helpers

//  Write a message into error_buffer (CURL_ERROR_SIZE bytes), as libcurl
//  would have.
static void
s_set_error (char *error_buffer, const char *message, const char *detail)
{
    snprintf (error_buffer, CURL_ERROR_SIZE, "%s%s%s", message,
              detail ? ": " : "", detail ? detail : "");
}

//  Whether address can go into "MAIL FROM:<...>" / "RCPT TO:<...>" as is:
//  not empty, and no control characters, spaces or angle brackets.
static bool
s_address_valid (const char *address)
{
    if (!address || !*address)
        return false;
    for (const unsigned char *cursor = (const unsigned char *) address; *cursor; cursor++)
        if (*cursor <= ' ' || *cursor == 0x7F || *cursor == '<' || *cursor == '>')
            return false;
    return true;
}

//  "<address>", or NULL if out of memory.  Caller frees.
static char *
s_angle (const char *address)
{
    size_t length = strlen (address);
    char *result = (char *) malloc (length + 3);
    if (result) {
        result [0] = '<';
        memcpy (result + 1, address, length);
        result [length + 1] = '>';
        result [length + 2] = 0;
    }
    return result;
}

//  Whether url starts with scheme followed by "://", ignoring case.
static bool
s_has_scheme (const char *url, const char *scheme)
{
    size_t length = strlen (scheme);
    return strncasecmp (url, scheme, length) == 0 && strncmp (url + length, "://", 3) == 0;
}


//  --------------------------------------------------------------------------
//  Set an easy handle up to POST body to url

int
channel_http_setup (CURL *easy, const char *url, const char *body, const char *content_type,
                    long timeout_ms, char *error_buffer, struct curl_slist **headers_out)
{
    assert (easy);
    assert (url);
    assert (body);
    assert (content_type);
    assert (error_buffer);
    assert (headers_out);
    *headers_out = NULL;
    error_buffer [0] = 0;

    //  "Expect:" (empty) stops libcurl from asking for 100-continue on a
    //  larger body and waiting a second for an answer that may not come.
    size_t header_size = strlen ("Content-Type: ") + strlen (content_type) + 1;
    char *content_header = (char *) malloc (header_size);
    if (!content_header) {
        s_set_error (error_buffer, "out of memory", NULL);
        return -1;
    }
    snprintf (content_header, header_size, "Content-Type: %s", content_type);
    struct curl_slist *headers = curl_slist_append (NULL, content_header);
    struct curl_slist *more = headers ? curl_slist_append (headers, "Expect:") : NULL;
    free (content_header);
    if (!more) {
        curl_slist_free_all (headers);
        s_set_error (error_buffer, "out of memory", NULL);
        return -1;
    }

    CURLcode code = CURLE_OK;
    //  S_SET stops at the first option refused (an old libcurl, say).
#define S_SET(option, value) \
    do { if (code == CURLE_OK) code = curl_easy_setopt (easy, option, value); } while (0)
    S_SET (CURLOPT_ERRORBUFFER, error_buffer);
    S_SET (CURLOPT_URL, url);
    S_SET (CURLOPT_PROTOCOLS_STR, "http,https");
    S_SET (CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    S_SET (CURLOPT_FOLLOWLOCATION, 0L);
    S_SET (CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen (body));
    S_SET (CURLOPT_POSTFIELDS, body);
    S_SET (CURLOPT_HTTPHEADER, headers);
    S_SET (CURLOPT_USERAGENT, CHANNEL_USER_AGENT);
    S_SET (CURLOPT_WRITEFUNCTION, s_discard);
    S_SET (CURLOPT_WRITEDATA, NULL);
    S_SET (CURLOPT_TIMEOUT_MS, timeout_ms);
    S_SET (CURLOPT_NOSIGNAL, 1L);
#undef S_SET
    if (code != CURLE_OK) {
        curl_easy_setopt (easy, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all (headers);
        s_set_error (error_buffer, "cannot set the HTTP request up", curl_easy_strerror (code));
        return -1;
    }
    *headers_out = headers;
    return 0;
}


//  --------------------------------------------------------------------------
//  Set an easy handle up to send a message through SMTP

int
channel_smtp_setup (CURL *easy, const channel_smtp_t *smtp, const char *to,
                    channel_upload_t *upload, long timeout_ms, char *error_buffer,
                    struct curl_slist **recipients_out)
{
    assert (easy);
    assert (smtp);
    assert (to);
    assert (upload);
    assert (upload->data || upload->size == 0);
    assert (error_buffer);
    assert (recipients_out);
    *recipients_out = NULL;
    error_buffer [0] = 0;
    upload->sent = 0;

    if (!smtp->url || !(s_has_scheme (smtp->url, "smtp") || s_has_scheme (smtp->url, "smtps"))) {
        s_set_error (error_buffer, "not an smtp:// or smtps:// URL", smtp->url);
        return -1;
    }
    if (!s_address_valid (smtp->from)) {
        s_set_error (error_buffer, "invalid sender address", smtp->from);
        return -1;
    }
    if (!s_address_valid (to)) {
        s_set_error (error_buffer, "invalid recipient address", to);
        return -1;
    }
    char *from = s_angle (smtp->from);
    char *recipient = s_angle (to);
    struct curl_slist *recipients = recipient ? curl_slist_append (NULL, recipient) : NULL;
    free (recipient);
    if (!from || !recipients) {
        free (from);
        curl_slist_free_all (recipients);
        s_set_error (error_buffer, "out of memory", NULL);
        return -1;
    }

    CURLcode code = CURLE_OK;
#define S_SET(option, value) \
    do { if (code == CURLE_OK) code = curl_easy_setopt (easy, option, value); } while (0)
    S_SET (CURLOPT_ERRORBUFFER, error_buffer);
    S_SET (CURLOPT_URL, smtp->url);
    S_SET (CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    //  smtp:// must upgrade with STARTTLS or fail; on smtps:// the session
    //  is TLS from the first byte and this changes nothing.
    S_SET (CURLOPT_USE_SSL, (long) CURLUSESSL_ALL);
    S_SET (CURLOPT_SSL_VERIFYPEER, 1L);
    S_SET (CURLOPT_SSL_VERIFYHOST, 2L);
    if (smtp->ca_file)
        S_SET (CURLOPT_CAINFO, smtp->ca_file);
    if (smtp->user) {
        S_SET (CURLOPT_USERNAME, smtp->user);
        S_SET (CURLOPT_PASSWORD, smtp->password ? smtp->password : "");
    }
    S_SET (CURLOPT_MAIL_FROM, from);    //  libcurl keeps its own copy
    S_SET (CURLOPT_MAIL_RCPT, recipients);
    S_SET (CURLOPT_UPLOAD, 1L);
    S_SET (CURLOPT_READFUNCTION, s_upload_read);
    S_SET (CURLOPT_READDATA, upload);
    S_SET (CURLOPT_INFILESIZE_LARGE, (curl_off_t) upload->size);
    S_SET (CURLOPT_TIMEOUT_MS, timeout_ms);
    S_SET (CURLOPT_NOSIGNAL, 1L);
#undef S_SET
    free (from);
    if (code != CURLE_OK) {
        curl_easy_setopt (easy, CURLOPT_MAIL_RCPT, NULL);
        curl_slist_free_all (recipients);
        s_set_error (error_buffer, "cannot set the SMTP transfer up", curl_easy_strerror (code));
        return -1;
    }
    *recipients_out = recipients;
    return 0;
}


//  --------------------------------------------------------------------------
//  Whether a finished transfer delivered

bool
channel_transfer_ok (CURL *easy, CURLcode code)
{
    assert (easy);
    if (code != CURLE_OK)
        return false;
    const char *scheme = NULL;
    if (curl_easy_getinfo (easy, CURLINFO_SCHEME, &scheme) != CURLE_OK || !scheme)
        return false;                   //  Cannot tell what ran: not delivered
    if (strcasecmp (scheme, "http") == 0 || strcasecmp (scheme, "https") == 0) {
        long status = 0;
        if (curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
            return false;
        return status >= 200 && status <= 299;
    }
    //  SMTP: libcurl fails the transfer on any refusal (MAIL, RCPT, DATA).
    return true;
}


//  --------------------------------------------------------------------------
//  Commands

pid_t
channel_command_start (const char *path, char *const env [], char *why, size_t why_size)
{
    assert (path);
    assert (why);
    if (path [0] != '/') {
        snprintf (why, why_size, "%s: not an absolute path", path);
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int rc = posix_spawn_file_actions_init (&actions);
    if (rc) {
        snprintf (why, why_size, "cannot run %s: %s", path, strerror (rc));
        return -1;
    }
    rc = posix_spawnattr_init (&attributes);
    if (rc) {
        posix_spawn_file_actions_destroy (&actions);
        snprintf (why, why_size, "cannot run %s: %s", path, strerror (rc));
        return -1;
    }
    //  Standard descriptors on /dev/null; nothing else of ours inherited.
    rc = posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_addopen (&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
#ifdef CHANNEL_HAVE_CLOSEFROM
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np (&actions, STDERR_FILENO + 1);
#endif
    //  A process group of its own (so a kill reaches its children), no
    //  blocked signals and default dispositions: whatever we ignore (such
    //  as SIGPIPE) the command must not.
    sigset_t empty, all;
    sigemptyset (&empty);
    sigfillset (&all);
    if (!rc)
        rc = posix_spawnattr_setflags (&attributes, POSIX_SPAWN_SETPGROUP
                                     | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = posix_spawnattr_setpgroup (&attributes, 0);
    if (!rc)
        rc = posix_spawnattr_setsigmask (&attributes, &empty);
    if (!rc)
        rc = posix_spawnattr_setsigdefault (&attributes, &all);

    pid_t pid = -1;
    if (!rc) {
        char *const argv [] = { (char *) path, NULL };
        char *const no_env [] = { NULL };
        //  glibc reports a failed exec (ENOENT, EACCES...) here.
        rc = posix_spawn (&pid, path, &actions, &attributes, argv, env ? env : no_env);
    }
    posix_spawnattr_destroy (&attributes);
    posix_spawn_file_actions_destroy (&actions);
    if (rc) {
        snprintf (why, why_size, "cannot run %s: %s", path, strerror (rc));
        return -1;
    }
    snprintf (why, why_size, "running as pid %d", (int) pid);
    return pid;
}

int
channel_command_poll (pid_t pid, bool *ok, char *why, size_t why_size)
{
    assert (ok);
    assert (why);
    *ok = false;
    if (pid <= 0) {
        snprintf (why, why_size, "no such command (pid %d)", (int) pid);
        return -1;
    }
    int status = 0;
    pid_t rc;
    while ((rc = waitpid (pid, &status, WNOHANG)) == -1 && errno == EINTR)
        ;
    if (rc == 0)
        return 0;
    if (rc == -1) {
        snprintf (why, why_size, "pid %d: %s", (int) pid, strerror (errno));
        return -1;
    }
    if (WIFEXITED (status)) {
        *ok = WEXITSTATUS (status) == 0;
        snprintf (why, why_size, "exited with status %d", WEXITSTATUS (status));
    }
    else
    if (WIFSIGNALED (status)) {
        int signal_number = WTERMSIG (status);
#ifdef CHANNEL_HAVE_SIGABBREV
        const char *name = sigabbrev_np (signal_number);
        snprintf (why, why_size, "killed by signal %d (SIG%s)%s", signal_number,
                  name ? name : "?", WCOREDUMP (status) ? ", core dumped" : "");
#else
        snprintf (why, why_size, "killed by signal %d%s", signal_number,
                  WCOREDUMP (status) ? ", core dumped" : "");
#endif
    }
    else
        snprintf (why, why_size, "ended with wait status 0x%x", (unsigned) status);
    return 1;
}

void
channel_command_kill (pid_t pid)
{
    if (pid <= 0)
        return;
    kill (-pid, SIGKILL);               //  The group: whatever it started
    kill (pid, SIGKILL);                //  And the command, had it left the group
    while (waitpid (pid, NULL, 0) == -1 && errno == EINTR)
        ;
}
