/*  =========================================================================
    testsite - start and stop the local HTTP/HTTPS test site for tests

    Forks python3 on tests/fixtures/testsite.py with a ready file in a
    private mkdtemp directory, polls for that file (every 20 ms, 20 s at
    most) and parses its flat JSON object of ports and the CA path.

    The child gets TMPDIR set to the same private directory, so the
    fixture's certificate directory lives inside it too, and testsite_stop
    can remove everything even when the fixture had to be killed.
    =========================================================================
*/

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     //  mkdtemp, nftw, execvpe
#endif

#include "testsite.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SQ_TESTSITE_SCRIPT
#   error "SQ_TESTSITE_SCRIPT must be defined: absolute path of tests/fixtures/testsite.py"
#endif

extern char **environ;

#define TESTSITE_START_TIMEOUT_MS   20000   //  Wait for the ready file
#define TESTSITE_POLL_MS            20      //  Poll interval while waiting
#define TESTSITE_STOP_TIMEOUT_MS    5000    //  Wait after SIGTERM, then SIGKILL
#define TESTSITE_READY_MAX          4096    //  Largest ready file accepted
#define TESTSITE_KEY_MAX            64      //  Longest JSON key accepted
#define TESTSITE_PATH_MAX           4096    //  Longest JSON string accepted

//  Listener names, in the order of the ports array
static const char *s_listeners [] = {
    "http", "https", "https_expired", "silent", "reset", "garbage", "closed"
};
#define TESTSITE_LISTENERS  (sizeof (s_listeners) / sizeof (s_listeners [0]))

//  Structure of our class

struct _testsite_t {
    pid_t pid;                          //  Fixture process; 0 once reaped
    char *tmpdir;                       //  Private mkdtemp directory
    char *ready_path;                   //  Ready file inside tmpdir
    int ports [TESTSITE_LISTENERS];     //  Port per listener, -1 if unknown
    char *ca;                           //  Absolute path of the CA (PEM)
};

//  Bounded cursor over the ready file's text

typedef struct {
    const char *cur;                    //  Next character to read
    const char *end;                    //  One past the last character
} s_cursor_t;


//  --------------------------------------------------------------------------
//  Small helpers

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
        ;
}

//  Return a newly allocated formatted string, or NULL.
static char *
s_format (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static char *
s_format (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *result = NULL;
    if (vasprintf (&result, format, args) == -1)
        result = NULL;
    va_end (args);
    return result;
}

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

static int
s_rmtree_entry (const char *path, const struct stat *sb, int flag,
                struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    remove (path);                      //  Best effort; keep walking
    return 0;
}

//  Remove a directory we created, with all it holds (no symlink following).
static void
s_rmtree (const char *path)
{
    if (path && *path)
        nftw (path, s_rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

//  Copy of environ with TMPDIR set to tmpdir. Built before fork so the
//  child only has to exec. Returns NULL on allocation failure.
static char **
s_child_environ (const char *tmpdir, char **tmpdir_entry_p)
{
    size_t count = 0;
    while (environ && environ [count])
        count++;
    char **envp = (char **) calloc (count + 2, sizeof (char *));
    char *entry = s_format ("TMPDIR=%s", tmpdir);
    if (!envp || !entry) {
        free (envp);
        free (entry);
        return NULL;
    }
    size_t used = 0;
    for (size_t index = 0; index < count; index++)
        if (strncmp (environ [index], "TMPDIR=", 7) != 0)
            envp [used++] = environ [index];
    envp [used++] = entry;
    envp [used] = NULL;
    *tmpdir_entry_p = entry;
    return envp;
}

//  Wait up to timeout_ms for the child to exit. Returns true if reaped (or
//  already gone), with its wait status in *status_p when known.
static bool
s_reap (testsite_t *self, int timeout_ms, int *status_p)
{
    int64_t deadline = s_now_ms () + timeout_ms;
    while (self->pid > 0) {
        int status = 0;
        pid_t rc = waitpid (self->pid, &status, WNOHANG);
        if (rc == self->pid) {
            self->pid = 0;
            if (status_p)
                *status_p = status;
            return true;
        }
        if (rc == -1 && errno != EINTR) {
            self->pid = 0;              //  ECHILD: not ours any more
            return true;
        }
        if (s_now_ms () >= deadline)
            return false;
        s_sleep_ms (10);
    }
    return true;
}

static void
s_kill_and_reap (testsite_t *self)
{
    if (self->pid <= 0)
        return;
    kill (self->pid, SIGTERM);
    if (!s_reap (self, TESTSITE_STOP_TIMEOUT_MS, NULL)) {
        fprintf (stderr, "testsite: pid %d ignored SIGTERM, killing it\n",
                 (int) self->pid);
        kill (self->pid, SIGKILL);
        while (waitpid (self->pid, NULL, 0) == -1 && errno == EINTR)
            ;
        self->pid = 0;
    }
}

//  Read a whole small file into buffer (NUL-terminated). Returns length, or
//  -1 with errno set (EFBIG if it does not fit).
static ssize_t
s_read_file (const char *path, char *buffer, size_t size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    size_t length = 0;
    while (true) {
        if (length == size - 1) {
            char extra;
            ssize_t rc = read (fd, &extra, 1);
            if (rc == -1 && errno == EINTR)
                continue;
            close (fd);
            if (rc != 0) {
                errno = rc == -1? errno: EFBIG;
                return -1;
            }
            break;
        }
        ssize_t rc = read (fd, buffer + length, size - 1 - length);
        if (rc == -1) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close (fd);
            errno = saved;
            return -1;
        }
        if (rc == 0) {
            close (fd);
            break;
        }
        length += (size_t) rc;
    }
    buffer [length] = 0;
    return (ssize_t) length;
}


//  --------------------------------------------------------------------------
//  Parser for the flat ready object: {"name": int, ..., "ca": "string"}

static void
s_skip_space (s_cursor_t *cursor)
{
    while (cursor->cur < cursor->end
       && (*cursor->cur == ' ' || *cursor->cur == '\t'
       ||  *cursor->cur == '\n' || *cursor->cur == '\r'))
        cursor->cur++;
}

static bool
s_expect (s_cursor_t *cursor, char c)
{
    s_skip_space (cursor);
    if (cursor->cur < cursor->end && *cursor->cur == c) {
        cursor->cur++;
        return true;
    }
    return false;
}

static int
s_hex_value (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

//  Parse a JSON string into out (size bytes, NUL-terminated). Escapes are
//  decoded; \u escapes only for ASCII (1..127). Returns false if invalid
//  or too long.
static bool
s_parse_string (s_cursor_t *cursor, char *out, size_t size)
{
    if (!s_expect (cursor, '"'))
        return false;
    size_t length = 0;
    while (cursor->cur < cursor->end) {
        unsigned char c = (unsigned char) *cursor->cur++;
        if (c == '"') {
            out [length] = 0;
            return true;
        }
        if (c < 0x20)
            return false;               //  Raw control character
        if (c == '\\') {
            if (cursor->cur >= cursor->end)
                return false;
            char escape = *cursor->cur++;
            switch (escape) {
                case '"':  c = '"';  break;
                case '\\': c = '\\'; break;
                case '/':  c = '/';  break;
                case 'b':  c = '\b'; break;
                case 'f':  c = '\f'; break;
                case 'n':  c = '\n'; break;
                case 'r':  c = '\r'; break;
                case 't':  c = '\t'; break;
                case 'u': {
                    if (cursor->end - cursor->cur < 4)
                        return false;
                    int code = 0;
                    for (int digit = 0; digit < 4; digit++) {
                        int value = s_hex_value (*cursor->cur++);
                        if (value < 0)
                            return false;
                        code = code * 16 + value;
                    }
                    if (code < 1 || code > 127)
                        return false;
                    c = (unsigned char) code;
                    break;
                }
                default:
                    return false;
            }
        }
        if (length + 1 >= size)
            return false;               //  Too long for out
        out [length++] = (char) c;
    }
    return false;                       //  Unterminated
}

//  Parse a JSON integer that fits an int. Fractions and exponents are
//  rejected.
static bool
s_parse_int (s_cursor_t *cursor, int *value_p)
{
    s_skip_space (cursor);
    bool negative = false;
    if (cursor->cur < cursor->end && *cursor->cur == '-') {
        negative = true;
        cursor->cur++;
    }
    long long value = 0;
    int digits = 0;
    while (cursor->cur < cursor->end
       && *cursor->cur >= '0' && *cursor->cur <= '9') {
        value = value * 10 + (*cursor->cur++ - '0');
        if (++digits > 10)
            return false;               //  Way out of int range
    }
    if (digits == 0)
        return false;
    if (cursor->cur < cursor->end
    && (*cursor->cur == '.' || *cursor->cur == 'e' || *cursor->cur == 'E'))
        return false;
    if (negative)
        value = -value;
    if (value < INT_MIN || value > INT_MAX)
        return false;
    *value_p = (int) value;
    return true;
}

//  Parse the ready file text into self->ports and self->ca. Unknown keys
//  with int or string values are ignored. Returns false with a message on
//  stderr if the text is invalid or incomplete.
static bool
s_parse_ready (testsite_t *self, const char *text, size_t length)
{
    s_cursor_t cursor = { text, text + length };
    char key [TESTSITE_KEY_MAX];
    char *string = (char *) malloc (TESTSITE_PATH_MAX);
    if (!string)
        return false;
    bool valid = false;

    if (!s_expect (&cursor, '{'))
        goto done;
    bool more = !s_expect (&cursor, '}');   //  Empty object: caught below
    while (more) {
        if (!s_parse_string (&cursor, key, sizeof (key))
        ||  !s_expect (&cursor, ':'))
            goto done;
        s_skip_space (&cursor);
        if (cursor.cur < cursor.end && *cursor.cur == '"') {
            if (!s_parse_string (&cursor, string, TESTSITE_PATH_MAX))
                goto done;
            if (strcmp (key, "ca") == 0) {
                free (self->ca);
                self->ca = strdup (string);
                if (!self->ca)
                    goto done;
            }
        }
        else {
            int value;
            if (!s_parse_int (&cursor, &value))
                goto done;
            int index = s_listener_index (key);
            if (index >= 0) {
                if (value < 1 || value > 65535)
                    goto done;
                self->ports [index] = value;
            }
        }
        if (s_expect (&cursor, '}'))
            more = false;
        else
        if (!s_expect (&cursor, ','))
            goto done;
    }
    s_skip_space (&cursor);
    if (cursor.cur != cursor.end)
        goto done;                      //  Trailing data

    valid = true;
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
    free (string);
    return valid;

done:
    fprintf (stderr, "testsite: ready file is not valid JSON near offset %ld\n",
             (long) (cursor.cur - text));
    free (string);
    return false;
}


//  --------------------------------------------------------------------------
//  Destroy the object without touching the process (already reaped or not
//  started); removes the private directory.

static void
s_destroy (testsite_t **self_p)
{
    testsite_t *self = *self_p;
    if (!self)
        return;
    s_rmtree (self->tmpdir);
    free (self->tmpdir);
    free (self->ready_path);
    free (self->ca);
    free (self);
    *self_p = NULL;
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

    const char *script = SQ_TESTSITE_SCRIPT;
    if (access (script, R_OK) != 0) {
        fprintf (stderr, "testsite: cannot read %s: %s\n",
                 script, strerror (errno));
        s_destroy (&self);
        return NULL;
    }
    const char *tmp = getenv ("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    self->tmpdir = s_format ("%s/sq-testsite-XXXXXX", tmp);
    if (!self->tmpdir || !mkdtemp (self->tmpdir)) {
        fprintf (stderr, "testsite: cannot make a directory in %s: %s\n",
                 tmp, strerror (errno));
        free (self->tmpdir);
        self->tmpdir = NULL;            //  Nothing to remove
        s_destroy (&self);
        return NULL;
    }
    self->ready_path = s_format ("%s/ready.json", self->tmpdir);
    char parent [32];
    snprintf (parent, sizeof (parent), "%d", (int) getpid ());
    char *tmpdir_entry = NULL;
    char **envp = s_child_environ (self->tmpdir, &tmpdir_entry);
    if (!self->ready_path || !envp) {
        fprintf (stderr, "testsite: out of memory\n");
        free (envp);
        free (tmpdir_entry);
        s_destroy (&self);
        return NULL;
    }
    char *argv [] = {
        (char *) "python3", (char *) script,
        (char *) "--ready-file", self->ready_path,
        (char *) "--parent-pid", parent, NULL
    };
    fflush (stdout);
    fflush (stderr);
    int64_t started = s_now_ms ();
    self->pid = fork ();
    if (self->pid == 0) {
        //  Child: only async-signal-safe calls from here to exec
        int null_fd = open ("/dev/null", O_RDONLY);
        if (null_fd > 0) {
            dup2 (null_fd, STDIN_FILENO);
            close (null_fd);
        }
        execvpe ("python3", argv, envp);
        static const char message [] =
            "testsite: cannot run python3 (not on PATH?)\n";
        ssize_t rc = write (STDERR_FILENO, message, sizeof (message) - 1);
        (void) rc;
        _exit (127);
    }
    int fork_errno = errno;
    free (envp);
    free (tmpdir_entry);
    if (self->pid == -1) {
        fprintf (stderr, "testsite: fork failed: %s\n", strerror (fork_errno));
        self->pid = 0;
        s_destroy (&self);
        return NULL;
    }

    //  Poll for the ready file; the fixture renames it into place, so once
    //  it exists it is complete.
    char *text = (char *) malloc (TESTSITE_READY_MAX);
    bool ready = false;
    int64_t deadline = started + TESTSITE_START_TIMEOUT_MS;
    while (text) {
        ssize_t length = s_read_file (self->ready_path, text,
                                      TESTSITE_READY_MAX);
        if (length >= 0) {
            ready = s_parse_ready (self, text, (size_t) length);
            break;
        }
        if (errno != ENOENT) {
            fprintf (stderr, "testsite: cannot read %s: %s\n",
                     self->ready_path, strerror (errno));
            break;
        }
        int status = 0;
        if (s_reap (self, 0, &status)) {
            if (WIFEXITED (status))
                fprintf (stderr, "testsite: fixture exited with status %d "
                         "before it was ready\n", WEXITSTATUS (status));
            else
            if (WIFSIGNALED (status))
                fprintf (stderr, "testsite: fixture killed by signal %d "
                         "before it was ready\n", WTERMSIG (status));
            else
                fprintf (stderr, "testsite: fixture is gone\n");
            break;
        }
        if (s_now_ms () >= deadline) {
            fprintf (stderr, "testsite: fixture not ready after %d ms\n",
                     TESTSITE_START_TIMEOUT_MS);
            break;
        }
        s_sleep_ms (TESTSITE_POLL_MS);
    }
    if (!text)
        fprintf (stderr, "testsite: out of memory\n");
    free (text);
    if (!ready) {
        s_kill_and_reap (self);
        s_destroy (&self);
        return NULL;
    }
    return self;
}


//  --------------------------------------------------------------------------
//  Stop the test site and remove its files

void
testsite_stop (testsite_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_kill_and_reap (*self_p);
    s_destroy (self_p);
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
    return s_format ("%s://127.0.0.1:%d%s%s", tls? "https": "http", port,
                     path [0] == '/'? "": "/", path);
}
