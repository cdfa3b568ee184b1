/*  channel.h: the transports under the channels: HTTP POST and SMTP
    through libcurl's easy handles (run by the caller's multi handle), and
    commands run as child processes.  No decisions here (delivery.h) and
    no words (render.h): this file moves bytes and says how it went.
*/
#ifndef CHANNEL_H_INCLUDED
#define CHANNEL_H_INCLUDED

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

//  The mail server, from the config's smtp section.
typedef struct {
    const char *url;            //  smtp://HOST[:PORT] (STARTTLS required) or smtps://HOST[:PORT]
    const char *from;           //  envelope and header sender
    const char *user;           //  AUTH user, or NULL for none
    const char *password;       //  AUTH password, or NULL (read from password_file by the caller)
    const char *ca_file;        //  CA bundle for the server's certificate, or NULL for the
                                //  system's: it replaces that bundle (CURLOPT_CAINFO), it
                                //  does not add to it
} channel_smtp_t;

//  A message being uploaded to the SMTP server: the caller keeps it, zeroed
//  but for data and size, until the transfer ends.
typedef struct {
    const char *data;           //  the whole message (CRLF line ends), borrowed
    size_t size;                //  its length
    size_t sent;                //  bytes handed to libcurl so far
} channel_upload_t;

//  Set easy up to POST body (borrowed: it must outlive the transfer) to url
//  as content_type, within timeout_ms, http and https only, no redirects
//  followed, the response discarded.  *headers_out: the header list, the
//  caller frees it after the transfer.  error_buffer: CURL_ERROR_SIZE bytes
//  the caller keeps.  0, or -1.
int channel_http_setup (CURL *easy, const char *url, const char *body, const char *content_type,
                        long timeout_ms, char *error_buffer, struct curl_slist **headers_out);

//  Set easy up to send upload's message to `to` through smtp within
//  timeout_ms: smtp:// requires STARTTLS (CURLUSESSL_ALL), smtps:// is TLS
//  from the start; the peer's certificate is always verified; AUTH when
//  user is set.  *recipients_out: the caller frees it after the transfer.
//  0, or -1.
int channel_smtp_setup (CURL *easy, const channel_smtp_t *smtp, const char *to,
                        channel_upload_t *upload, long timeout_ms, char *error_buffer,
                        struct curl_slist **recipients_out);

//  Whether a finished transfer delivered: CURLE_OK and, for HTTP, a 2xx
//  status (for SMTP libcurl already fails on any refusal).
bool channel_transfer_ok (CURL *easy, CURLcode code);

//  Start path (absolute, run as is: no shell) with env as its whole
//  environment, stdin, stdout and stderr on /dev/null, in its own process
//  group.  Its pid, or -1 with the reason in why.
pid_t channel_command_start (const char *path, char *const env [], char *why, size_t why_size);

//  Has the command ended?  1: yes, reaped, *ok = it exited 0 (else why
//  says how it ended); 0: still running; -1: no such child.
int channel_command_poll (pid_t pid, bool *ok, char *why, size_t why_size);

//  Kill a command's process group (SIGKILL) and reap it.
void channel_command_kill (pid_t pid);

#endif
