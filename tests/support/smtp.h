/*  =========================================================================
    smtp - start and stop a local SMTP server for tests

    Runs tests/fixtures/smtp_server.py (aiosmtpd, Debian's python3-aiosmtpd)
    through fixture_process, on 127.0.0.1 with a port picked at run time,
    and reads back what it received. Each server has a private directory
    (under $TMPDIR, else /tmp) with its maildir and, when it speaks TLS, a
    throwaway test CA made with the openssl command at start: a CA
    certificate (smtp_ca_file) and a server certificate it signed, valid
    for 127.0.0.1 and localhost. Messages are numbered from 0 in the order
    they were accepted.

    smtp_halt stops the server but keeps its directory and port;
    smtp_restart starts it again on that port, for tests of a server that
    is down for a while and comes back. smtp_stop ends it for good.

    The script path comes from the compile definition SQ_SMTP_SCRIPT.
    =========================================================================
*/

#ifndef SQ_SMTP_H_INCLUDED
#define SQ_SMTP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  What the server asks of its clients. All false and NULL: plain SMTP,
//  no STARTTLS offered, no AUTH.
typedef struct {
    bool tls;                   //  Offer STARTTLS (test CA certificate)
    bool require_tls;           //  Refuse MAIL before STARTTLS (implies tls)
    bool smtps;                 //  TLS from the first byte instead (smtps://)
    const char *user;           //  Require AUTH with this user, or NULL
    const char *password;       //  and this password (NULL: "")
} smtp_options_t;

typedef struct _smtp_t smtp_t;

//  Start a server as options say (NULL: plain) and wait (up to 20 s)
//  until it serves. Returns NULL on failure, with a message on stderr.
smtp_t *
    smtp_start (const smtp_options_t *options);

//  Stop the server, remove its directory and set *self_p to NULL. Safe on
//  NULL.
void
    smtp_stop (smtp_t **self_p);

//  Stop the server process only: its port, maildir and certificates stay,
//  and connections to the port are refused until smtp_restart. Safe when
//  already halted.
void
    smtp_halt (smtp_t *self);

//  Start the server again (halting it first if it runs) on the same port,
//  with the same options, certificates and maildir. 0, or -1 with a
//  message on stderr.
int
    smtp_restart (smtp_t *self);

//  The server's TCP port.
int
    smtp_port (smtp_t *self);

//  Its URL: "smtp://127.0.0.1:PORT", or "smtps://..." for an smtps
//  server. Borrowed; valid until smtp_stop.
const char *
    smtp_url (smtp_t *self);

//  Path of the test CA certificate (PEM) to trust, or NULL for a server
//  without TLS. Borrowed; valid until smtp_stop.
const char *
    smtp_ca_file (smtp_t *self);

//  Number of messages received so far.
size_t
    smtp_count (smtp_t *self);

//  Wait until at least count messages were received, polling, for at most
//  timeout_ms. True if they were; false on timeout (or if the server is
//  gone and they were not).
bool
    smtp_wait (smtp_t *self, size_t count, unsigned timeout_ms);

//  The bytes of message number index as received after DATA (CRLF line
//  ends, dot-stuffing undone, without the final "."), NUL-terminated, and
//  its length in *length_p if not NULL. NULL if there is no such message.
//  Caller frees.
char *
    smtp_message (smtp_t *self, size_t index, size_t *length_p);

//  The envelope sender (MAIL FROM, without <>) of message number index, or
//  NULL. Caller frees.
char *
    smtp_envelope_from (smtp_t *self, size_t index);

//  The envelope recipients (RCPT TO, without <>) of message number index,
//  joined with ',' (usually one), or NULL. Caller frees.
char *
    smtp_envelope_to (smtp_t *self, size_t index);

//  The user the session of message number index authenticated as, or NULL
//  (none, or no such message). Caller frees.
char *
    smtp_auth_user (smtp_t *self, size_t index);

#ifdef __cplusplus
}
#endif

#endif
