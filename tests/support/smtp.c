/*  =========================================================================
    smtp - start and stop a local SMTP server for tests

    Makes a private directory, the test CA in it when the server speaks TLS
    (three runs of the openssl command: a CA, a key and request, the server
    certificate signed by the CA), and runs python3 on
    tests/fixtures/smtp_server.py through fixture_process with
    "--maildir DIR/maildir". The ready file says {"port": P, "maildir": D}.
    Each message is DIR/maildir/NNNN.eml with its envelope in NNNN.env
    ("from A", "to A"..., "auth USER" lines), numbered from 0000 and
    written .env first, each by rename: message N exists once NNNN.eml
    does, so the count is the first number without one.
    =========================================================================
*/

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     //  mkdtemp, nftw
#endif

#include "smtp.h"
#include "fixture_process.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SQ_SMTP_SCRIPT
#   error "SQ_SMTP_SCRIPT must be defined: absolute path of tests/fixtures/smtp_server.py"
#endif

#define SMTP_POLL_MS        10          //  smtp_wait poll interval
#define SMTP_FILE_MAX       (64 * 1024 * 1024)  //  Largest message read back
#define SMTP_CERT_DAYS      "7"         //  Test certificates' lifetime

extern char **environ;

//  Structure of our class

struct _smtp_t {
    fixture_process_t *process;         //  The server; NULL while halted
    smtp_options_t options;             //  As given (user, password: ours)
    char *directory;                    //  Private mkdtemp directory
    char *maildir;                      //  directory/maildir
    char *ca_file;                      //  directory/ca.pem, or NULL (no TLS)
    char *cert_file;                    //  directory/server.pem, or NULL
    char *key_file;                     //  directory/server.key, or NULL
    int port;                           //  TCP port, 0 until first started
    char *url;                          //  smtp[s]://127.0.0.1:PORT
};


//  --------------------------------------------------------------------------
//  Helpers

static int
s_rmtree_entry (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    remove (path);                      //  Best effort; keep walking
    return 0;
}

//  Write text to path; false with a message on failure.
static bool
s_write_file (const char *path, const char *text)
{
    FILE *file = fopen (path, "we");
    if (!file) {
        fprintf (stderr, "smtp: cannot write %s: %s\n", path, strerror (errno));
        return false;
    }
    bool written = fputs (text, file) >= 0;
    if (fclose (file) != 0)
        written = false;
    if (!written)
        fprintf (stderr, "smtp: cannot write %s\n", path);
    return written;
}

//  Run openssl with argv (argv [0] = "openssl") in the private directory,
//  its output appended to openssl.log there; true if it exited 0. On
//  failure prints the log.
static bool
s_openssl (smtp_t *self, char *const argv [])
{
    char *log = fixture_format ("%s/openssl.log", self->directory);
    if (!log)
        return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, log,
                                      O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2 (&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addchdir_np (&actions, self->directory);
    pid_t pid;
    int rc = posix_spawnp (&pid, "openssl", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    bool success = false;
    if (rc)
        fprintf (stderr, "smtp: cannot run openssl (install it: sh deploy/install-deps.sh): "
                 "%s\n", strerror (rc));
    else {
        int status = 0;
        while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
            ;
        success = WIFEXITED (status) && WEXITSTATUS (status) == 0;
        if (!success) {
            fprintf (stderr, "smtp: openssl %s failed (wait status 0x%x):\n",
                     argv [1], (unsigned) status);
            char *text = fixture_read_file (log, 65536, NULL);
            fprintf (stderr, "%s\n", text ? text : "(no output)");
            free (text);
        }
    }
    free (log);
    return success;
}

//  Make the test CA and the server certificate it signs, in the private
//  directory. Elliptic-curve keys: quick to make.
static bool
s_make_certificates (smtp_t *self)
{
    char *ca_config = fixture_format ("%s/ca.cnf", self->directory);
    char *server_extensions = fixture_format ("%s/server.ext", self->directory);
    self->ca_file = fixture_format ("%s/ca.pem", self->directory);
    self->cert_file = fixture_format ("%s/server.pem", self->directory);
    self->key_file = fixture_format ("%s/server.key", self->directory);
    bool success = ca_config && server_extensions
        && self->ca_file && self->cert_file && self->key_file
        && s_write_file (ca_config,
            "[req]\n"
            "distinguished_name = subject\n"
            "x509_extensions = ca\n"
            "prompt = no\n"
            "[subject]\n"
            "CN = UptimeSquirrel test CA\n"
            "[ca]\n"
            "basicConstraints = critical, CA:TRUE\n"
            "keyUsage = critical, keyCertSign, cRLSign\n"
            "subjectKeyIdentifier = hash\n")
        && s_write_file (server_extensions,
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            "extendedKeyUsage = serverAuth\n"
            "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n");
    if (success) {
        char *const ca [] = {
            "openssl", "req", "-x509", "-new", "-config", "ca.cnf",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", SMTP_CERT_DAYS, NULL
        };
        char *const request [] = {
            "openssl", "req", "-new", "-config", "ca.cnf", "-subj", "/CN=localhost",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", NULL
        };
        char *const sign [] = {
            "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
            "-CAkey", "ca.key", "-set_serial", "2", "-days", SMTP_CERT_DAYS,
            "-extfile", "server.ext", "-out", "server.pem", NULL
        };
        success = s_openssl (self, ca) && s_openssl (self, request) && s_openssl (self, sign);
    }
    free (ca_config);
    free (server_extensions);
    return success;
}

static bool
s_ready_member (void *arg, const char *key, fixture_json_type_t type,
                const char *value, size_t length)
{
    int *port_p = (int *) arg;
    (void) length;
    if (strcmp (key, "port") == 0)
        return type == FIXTURE_JSON_NUMBER && fixture_json_int (value, 1, 65535, port_p);
    return true;                        //  maildir: we gave it
}

//  Run the server on self->port (0: any) and learn its port. 0, or -1.
static int
s_launch (smtp_t *self)
{
    char port [16];
    snprintf (port, sizeof (port), "%d", self->port);
    const char *args [20];
    size_t count = 0;
    args [count++] = "--maildir";
    args [count++] = self->maildir;
    args [count++] = "--port";
    args [count++] = port;
    if (self->cert_file) {
        args [count++] = "--tls-cert";
        args [count++] = self->cert_file;
        args [count++] = "--tls-key";
        args [count++] = self->key_file;
    }
    if (self->options.smtps)
        args [count++] = "--smtps";
    else
    if (self->options.require_tls)
        args [count++] = "--require-tls";
    if (self->options.user) {
        args [count++] = "--auth-user";
        args [count++] = self->options.user;
        args [count++] = "--auth-password";
        args [count++] = self->options.password;
    }
    args [count] = NULL;

    char *text = NULL;
    size_t length = 0;
    self->process = fixture_process_start ("smtp", SQ_SMTP_SCRIPT, args, &text, &length);
    if (!self->process)
        return -1;
    int served = 0;
    if (!fixture_json_object (text, length, s_ready_member, &served) || served <= 0
    ||  (self->port && served != self->port)) {
        fprintf (stderr, "smtp: ready file is not the expected JSON: %s\n", text);
        fixture_process_stop (&self->process);
        free (text);
        return -1;
    }
    free (text);
    self->port = served;
    return 0;
}

//  Path of message index's file with extension; caller frees.
static char *
s_message_path (smtp_t *self, size_t index, const char *extension)
{
    return fixture_format ("%s/%04zu.%s", self->maildir, index, extension);
}

//  The values of the envelope lines "key VALUE" of message index, joined
//  with ','; NULL if none or no such message. Caller frees.
static char *
s_envelope (smtp_t *self, size_t index, const char *key)
{
    if (!self || index >= smtp_count (self))
        return NULL;
    char *path = s_message_path (self, index, "env");
    char *text = path ? fixture_read_file (path, SMTP_FILE_MAX, NULL) : NULL;
    free (path);
    if (!text)
        return NULL;
    size_t key_length = strlen (key);
    char *result = NULL;
    size_t result_length = 0;
    char *saved = NULL;
    for (char *line = strtok_r (text, "\n", &saved); line; line = strtok_r (NULL, "\n", &saved)) {
        if (strncmp (line, key, key_length) != 0 || line [key_length] != ' ')
            continue;
        const char *value = line + key_length + 1;
        size_t value_length = strlen (value);
        char *grown = (char *) realloc (result, result_length + value_length + 2);
        if (!grown) {
            free (result);
            result = NULL;
            break;
        }
        result = grown;
        if (result_length)
            result [result_length++] = ',';
        memcpy (result + result_length, value, value_length + 1);
        result_length += value_length;
    }
    free (text);
    return result;
}


//  --------------------------------------------------------------------------
//  Start a server

smtp_t *
smtp_start (const smtp_options_t *options)
{
    smtp_t *self = (smtp_t *) calloc (1, sizeof (smtp_t));
    if (!self) {
        fprintf (stderr, "smtp: out of memory\n");
        return NULL;
    }
    if (options)
        self->options = *options;
    if (self->options.require_tls)
        self->options.tls = true;
    self->options.user = NULL;
    self->options.password = NULL;
    if (options && options->user) {
        self->options.user = strdup (options->user);
        self->options.password = strdup (options->password ? options->password : "");
    }
    const char *tmp = getenv ("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    self->directory = fixture_format ("%s/sq-smtp-files-XXXXXX", tmp);
    if (!self->directory || !mkdtemp (self->directory)) {
        fprintf (stderr, "smtp: cannot make a directory in %s: %s\n", tmp, strerror (errno));
        free (self->directory);
        self->directory = NULL;
        smtp_stop (&self);
        return NULL;
    }
    self->maildir = fixture_format ("%s/maildir", self->directory);
    bool tls = self->options.tls || self->options.smtps;
    if (!self->maildir || mkdir (self->maildir, 0700) != 0
    ||  (options && options->user && (!self->options.user || !self->options.password))
    ||  (tls && !s_make_certificates (self))
    ||  s_launch (self) != 0) {
        smtp_stop (&self);
        return NULL;
    }
    self->url = fixture_format ("%s://127.0.0.1:%d", self->options.smtps ? "smtps" : "smtp",
                                self->port);
    if (!self->url)
        smtp_stop (&self);
    return self;
}


//  --------------------------------------------------------------------------
//  Stop, halt, restart

void
smtp_stop (smtp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    smtp_t *self = *self_p;
    fixture_process_stop (&self->process);
    if (self->directory)
        nftw (self->directory, s_rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
    free ((char *) self->options.user);
    free ((char *) self->options.password);
    free (self->directory);
    free (self->maildir);
    free (self->ca_file);
    free (self->cert_file);
    free (self->key_file);
    free (self->url);
    free (self);
    *self_p = NULL;
}

void
smtp_halt (smtp_t *self)
{
    if (self)
        fixture_process_stop (&self->process);
}

int
smtp_restart (smtp_t *self)
{
    if (!self)
        return -1;
    smtp_halt (self);
    return s_launch (self);
}


//  --------------------------------------------------------------------------
//  Accessors

int
smtp_port (smtp_t *self)
{
    return self ? self->port : -1;
}

const char *
smtp_url (smtp_t *self)
{
    return self ? self->url : NULL;
}

const char *
smtp_ca_file (smtp_t *self)
{
    return self ? self->ca_file : NULL;
}


//  --------------------------------------------------------------------------
//  Messages received

size_t
smtp_count (smtp_t *self)
{
    if (!self)
        return 0;
    size_t count = 0;
    while (true) {
        char *path = s_message_path (self, count, "eml");
        bool exists = path && access (path, F_OK) == 0;
        free (path);
        if (!exists)
            return count;
        count++;
    }
}

bool
smtp_wait (smtp_t *self, size_t count, unsigned timeout_ms)
{
    if (!self)
        return false;
    int64_t deadline = fixture_now_ms () + (int64_t) timeout_ms;
    while (true) {
        if (smtp_count (self) >= count)
            return true;
        if (!fixture_process_running (self->process)) {
            fprintf (stderr, "smtp: server is not running\n");
            return smtp_count (self) >= count;
        }
        int64_t left = deadline - fixture_now_ms ();
        if (left <= 0)
            return false;
        fixture_sleep_ms (left < SMTP_POLL_MS ? (int) left : SMTP_POLL_MS);
    }
}

char *
smtp_message (smtp_t *self, size_t index, size_t *length_p)
{
    if (!self || index >= smtp_count (self))
        return NULL;
    char *path = s_message_path (self, index, "eml");
    char *text = path ? fixture_read_file (path, SMTP_FILE_MAX, length_p) : NULL;
    if (path && !text)
        fprintf (stderr, "smtp: cannot read %s: %s\n", path, strerror (errno));
    free (path);
    return text;
}

char *
smtp_envelope_from (smtp_t *self, size_t index)
{
    return s_envelope (self, index, "from");
}

char *
smtp_envelope_to (smtp_t *self, size_t index)
{
    return s_envelope (self, index, "to");
}

char *
smtp_auth_user (smtp_t *self, size_t index)
{
    return s_envelope (self, index, "auth");
}
