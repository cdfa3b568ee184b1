/*  =========================================================================
    fixture_process - run a Python test fixture as a child process

    Forks python3 on a fixture script with a ready file in a private
    mkdtemp directory, polls for that file (every FIXTURE_POLL_MS, at most
    FIXTURE_START_TIMEOUT_MS) and hands its text to the caller. The child
    gets TMPDIR set to the same private directory, so whatever it makes
    there is removed by fixture_process_stop even if it had to be killed.
    =========================================================================
*/

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     //  mkdtemp, nftw, execvpe, close_range
#endif

#include "fixture_process.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

//  Structure of our class

struct _fixture_process_t {
    const char *name;                   //  Message prefix (borrowed)
    pid_t pid;                          //  Fixture process; 0 once reaped
    char *tmpdir;                       //  Private mkdtemp directory
    char *ready_path;                   //  Ready file inside tmpdir
};


//  --------------------------------------------------------------------------
//  Small helpers

int64_t
fixture_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fixture_sleep_ms (int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
        ;
}

char *
fixture_format (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *result = NULL;
    if (vasprintf (&result, format, args) == -1)
        result = NULL;
    va_end (args);
    return result;
}

char *
fixture_read_file (const char *path, size_t max_size, size_t *length_p)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return NULL;
    //  The buffer grows up to max_size + 1 bytes of data, so that a file
    //  one byte too large is seen as such; plus one for the NUL.
    size_t capacity = max_size < 4096? max_size + 2: 4096;
    char *buffer = (char *) malloc (capacity);
    size_t length = 0;
    int error = buffer? 0: ENOMEM;
    while (!error) {
        if (length == capacity - 1) {
            if (length > max_size) {
                error = EFBIG;
                break;
            }
            size_t grown = capacity - 1 > max_size / 2? max_size + 2: capacity * 2;
            char *bigger = (char *) realloc (buffer, grown);
            if (!bigger) {
                error = ENOMEM;
                break;
            }
            buffer = bigger;
            capacity = grown;
        }
        ssize_t rc = read (fd, buffer + length, capacity - 1 - length);
        if (rc == -1) {
            if (errno != EINTR)
                error = errno;
        }
        else
        if (rc == 0)
            break;
        else
            length += (size_t) rc;
    }
    close (fd);
    if (!error && length > max_size)
        error = EFBIG;
    if (error) {
        free (buffer);
        errno = error;
        return NULL;
    }
    buffer [length] = 0;
    if (length_p)
        *length_p = length;
    return buffer;
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
    char *entry = fixture_format ("TMPDIR=%s", tmpdir);
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


//  --------------------------------------------------------------------------
//  Child process

//  Wait up to timeout_ms for the child to exit. Returns true if reaped (or
//  already gone), with its wait status in *status_p when known.
static bool
s_reap (fixture_process_t *self, int timeout_ms, int *status_p)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
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
        if (fixture_now_ms () >= deadline)
            return false;
        fixture_sleep_ms (10);
    }
    return true;
}

static void
s_kill_and_reap (fixture_process_t *self)
{
    if (self->pid <= 0)
        return;
    kill (self->pid, SIGTERM);
    if (!s_reap (self, FIXTURE_STOP_TIMEOUT_MS, NULL)) {
        fprintf (stderr, "%s: pid %d ignored SIGTERM, killing it\n",
                 self->name, (int) self->pid);
        kill (self->pid, SIGKILL);
        while (waitpid (self->pid, NULL, 0) == -1 && errno == EINTR)
            ;
        self->pid = 0;
    }
}

//  Destroy the object without touching the process (already reaped or not
//  started); removes the private directory.
static void
s_destroy (fixture_process_t **self_p)
{
    fixture_process_t *self = *self_p;
    if (!self)
        return;
    s_rmtree (self->tmpdir);
    free (self->tmpdir);
    free (self->ready_path);
    free (self);
    *self_p = NULL;
}

//  Fork and exec python3 with argv and envp. Sets self->pid; returns false
//  with a message if fork failed.
static bool
s_spawn (fixture_process_t *self, char **argv, char **envp)
{
    fflush (stdout);
    fflush (stderr);
    self->pid = fork ();
    if (self->pid == 0) {
        //  Child: only async-signal-safe calls from here to exec. stdin
        //  is /dev/null, stdout and stderr are shared, and no other
        //  descriptor of the test (sockets, pipes) leaks into the fixture.
        int null_fd = open ("/dev/null", O_RDONLY);
        if (null_fd > 0) {
            dup2 (null_fd, STDIN_FILENO);
            close (null_fd);
        }
        close_range (3, ~0U, 0);        //  Best effort (Linux 5.9+)
        execvpe ("python3", argv, envp);
        static const char message [] = ": cannot run python3 (not on PATH?)\n";
        ssize_t rc = write (STDERR_FILENO, self->name, strlen (self->name));
        rc = write (STDERR_FILENO, message, sizeof (message) - 1);
        (void) rc;
        _exit (127);
    }
    if (self->pid == -1) {
        fprintf (stderr, "%s: fork failed: %s\n", self->name, strerror (errno));
        self->pid = 0;
        return false;
    }
    return true;
}

//  Poll for the ready file until started + FIXTURE_START_TIMEOUT_MS; the
//  fixture renames it into place, so once it exists it is complete.
//  Returns its text, or NULL with a message.
static char *
s_wait_ready (fixture_process_t *self, int64_t started, size_t *length_p)
{
    int64_t deadline = started + FIXTURE_START_TIMEOUT_MS;
    while (true) {
        char *text = fixture_read_file (self->ready_path, FIXTURE_READY_MAX,
                                        length_p);
        if (text)
            return text;
        if (errno != ENOENT) {
            fprintf (stderr, "%s: cannot read %s: %s\n", self->name,
                     self->ready_path, strerror (errno));
            return NULL;
        }
        int status = 0;
        if (s_reap (self, 0, &status)) {
            if (WIFEXITED (status))
                fprintf (stderr, "%s: fixture exited with status %d "
                         "before it was ready\n", self->name,
                         WEXITSTATUS (status));
            else
            if (WIFSIGNALED (status))
                fprintf (stderr, "%s: fixture killed by signal %d "
                         "before it was ready\n", self->name,
                         WTERMSIG (status));
            else
                fprintf (stderr, "%s: fixture is gone\n", self->name);
            return NULL;
        }
        if (fixture_now_ms () >= deadline) {
            fprintf (stderr, "%s: fixture not ready after %d ms\n",
                     self->name, FIXTURE_START_TIMEOUT_MS);
            return NULL;
        }
        fixture_sleep_ms (FIXTURE_POLL_MS);
    }
}


//  --------------------------------------------------------------------------
//  Start a fixture and wait until it is ready

fixture_process_t *
fixture_process_start (const char *name, const char *script,
                       const char *const *args,
                       char **ready_p, size_t *length_p)
{
    fixture_process_t *self =
        (fixture_process_t *) calloc (1, sizeof (fixture_process_t));
    if (!self) {
        fprintf (stderr, "%s: out of memory\n", name);
        return NULL;
    }
    self->name = name;
    if (access (script, R_OK) != 0) {
        fprintf (stderr, "%s: cannot read %s: %s\n",
                 name, script, strerror (errno));
        s_destroy (&self);
        return NULL;
    }
    const char *tmp = getenv ("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    self->tmpdir = fixture_format ("%s/sq-%s-XXXXXX", tmp, name);
    if (!self->tmpdir || !mkdtemp (self->tmpdir)) {
        fprintf (stderr, "%s: cannot make a directory in %s: %s\n",
                 name, tmp, strerror (errno));
        free (self->tmpdir);
        self->tmpdir = NULL;            //  Nothing to remove
        s_destroy (&self);
        return NULL;
    }
    self->ready_path = fixture_format ("%s/ready.json", self->tmpdir);

    //  Everything the child needs is built before fork.
    char parent [32];
    snprintf (parent, sizeof (parent), "%d", (int) getpid ());
    size_t extra = 0;
    while (args && args [extra])
        extra++;
    char **argv = (char **) calloc (extra + 7, sizeof (char *));
    char *tmpdir_entry = NULL;
    char **envp = s_child_environ (self->tmpdir, &tmpdir_entry);
    bool spawned = false;
    int64_t started = fixture_now_ms ();
    if (self->ready_path && argv && envp) {
        argv [0] = (char *) "python3";
        argv [1] = (char *) script;
        argv [2] = (char *) "--ready-file";
        argv [3] = self->ready_path;
        argv [4] = (char *) "--parent-pid";
        argv [5] = parent;
        for (size_t index = 0; index < extra; index++)
            argv [6 + index] = (char *) args [index];
        spawned = s_spawn (self, argv, envp);
    }
    else
        fprintf (stderr, "%s: out of memory\n", name);
    free (argv);
    free (envp);
    free (tmpdir_entry);

    char *text = spawned? s_wait_ready (self, started, length_p): NULL;
    if (!text) {
        s_kill_and_reap (self);
        s_destroy (&self);
        return NULL;
    }
    *ready_p = text;
    return self;
}


//  --------------------------------------------------------------------------
//  Stop a fixture and remove its files

void
fixture_process_stop (fixture_process_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_kill_and_reap (*self_p);
    s_destroy (self_p);
}


//  --------------------------------------------------------------------------
//  True while the fixture process runs

bool
fixture_process_running (fixture_process_t *self)
{
    if (!self)
        return false;
    s_reap (self, 0, NULL);
    return self->pid > 0;
}


//  --------------------------------------------------------------------------
//  The message prefix

const char *
fixture_process_name (fixture_process_t *self)
{
    return self? self->name: NULL;
}


//  --------------------------------------------------------------------------
//  Flat JSON object parser. Bounded: the cursor never passes end, and a
//  decoded string is never longer than its JSON text, so buffers of the
//  text's length always suffice (checked anyway).

typedef struct {
    const char *cur;                    //  Next character to read
    const char *end;                    //  One past the last character
} s_cursor_t;

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

//  Four hex digits after "\u"; -1 if invalid or truncated.
static long
s_parse_hex4 (s_cursor_t *cursor)
{
    if (cursor->end - cursor->cur < 4)
        return -1;
    long code = 0;
    for (int digit = 0; digit < 4; digit++) {
        char c = *cursor->cur++;
        int value = c >= '0' && c <= '9'? c - '0'
                  : c >= 'a' && c <= 'f'? c - 'a' + 10
                  : c >= 'A' && c <= 'F'? c - 'A' + 10: -1;
        if (value < 0)
            return -1;
        code = code * 16 + value;
    }
    return code;
}

//  Decode a \u escape (the cursor is past "\u"), with the low half of a
//  surrogate pair if needed, into a code point; -1 if invalid.
static long
s_parse_code_point (s_cursor_t *cursor)
{
    long code = s_parse_hex4 (cursor);
    if (code >= 0xDC00 && code <= 0xDFFF)
        return -1;                      //  Lone low surrogate
    if (code >= 0xD800 && code <= 0xDBFF) {
        if (cursor->end - cursor->cur < 2
        ||  cursor->cur [0] != '\\' || cursor->cur [1] != 'u')
            return -1;                  //  Lone high surrogate
        cursor->cur += 2;
        long low = s_parse_hex4 (cursor);
        if (low < 0xDC00 || low > 0xDFFF)
            return -1;
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    return code;
}

//  Append code point as UTF-8; false if out would overflow.
static bool
s_put_utf8 (char *out, size_t size, size_t *length_p, long code)
{
    unsigned char bytes [4];
    size_t count;
    if (code < 0x80) {
        bytes [0] = (unsigned char) code;
        count = 1;
    }
    else
    if (code < 0x800) {
        bytes [0] = (unsigned char) (0xC0 | (code >> 6));
        bytes [1] = (unsigned char) (0x80 | (code & 0x3F));
        count = 2;
    }
    else
    if (code < 0x10000) {
        bytes [0] = (unsigned char) (0xE0 | (code >> 12));
        bytes [1] = (unsigned char) (0x80 | ((code >> 6) & 0x3F));
        bytes [2] = (unsigned char) (0x80 | (code & 0x3F));
        count = 3;
    }
    else {
        bytes [0] = (unsigned char) (0xF0 | (code >> 18));
        bytes [1] = (unsigned char) (0x80 | ((code >> 12) & 0x3F));
        bytes [2] = (unsigned char) (0x80 | ((code >> 6) & 0x3F));
        bytes [3] = (unsigned char) (0x80 | (code & 0x3F));
        count = 4;
    }
    if (*length_p + count >= size)
        return false;
    memcpy (out + *length_p, bytes, count);
    *length_p += count;
    return true;
}

//  Parse a JSON string into out (size bytes, NUL-terminated, length in
//  *length_p). Returns false if invalid or too long for out.
static bool
s_parse_string (s_cursor_t *cursor, char *out, size_t size, size_t *length_p)
{
    if (!s_expect (cursor, '"') || size == 0)
        return false;
    size_t length = 0;
    while (cursor->cur < cursor->end) {
        unsigned char c = (unsigned char) *cursor->cur++;
        if (c == '"') {
            out [length] = 0;
            *length_p = length;
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
                    long code = s_parse_code_point (cursor);
                    if (code < 0 || !s_put_utf8 (out, size, &length, code))
                        return false;
                    continue;
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

static bool
s_is_digit (s_cursor_t *cursor)
{
    return cursor->cur < cursor->end
        && *cursor->cur >= '0' && *cursor->cur <= '9';
}

//  Copy a JSON number or literal (true, false, null) into out as text.
static bool
s_parse_scalar (s_cursor_t *cursor, char *out, size_t size, size_t *length_p,
                fixture_json_type_t *type_p)
{
    s_skip_space (cursor);
    const char *start = cursor->cur;
    static const char *literals [] = { "true", "false", "null" };
    for (size_t index = 0; index < 3; index++) {
        size_t length = strlen (literals [index]);
        if ((size_t) (cursor->end - cursor->cur) >= length
        &&  memcmp (cursor->cur, literals [index], length) == 0) {
            cursor->cur += length;
            *type_p = FIXTURE_JSON_LITERAL;
            goto copy;
        }
    }
    //  -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    if (cursor->cur < cursor->end && *cursor->cur == '-')
        cursor->cur++;
    if (!s_is_digit (cursor))
        return false;
    if (*cursor->cur++ != '0')
        while (s_is_digit (cursor))
            cursor->cur++;
    if (cursor->cur < cursor->end && *cursor->cur == '.') {
        cursor->cur++;
        if (!s_is_digit (cursor))
            return false;
        while (s_is_digit (cursor))
            cursor->cur++;
    }
    if (cursor->cur < cursor->end
    && (*cursor->cur == 'e' || *cursor->cur == 'E')) {
        cursor->cur++;
        if (cursor->cur < cursor->end
        && (*cursor->cur == '+' || *cursor->cur == '-'))
            cursor->cur++;
        if (!s_is_digit (cursor))
            return false;
        while (s_is_digit (cursor))
            cursor->cur++;
    }
    *type_p = FIXTURE_JSON_NUMBER;
copy:;
    size_t length = (size_t) (cursor->cur - start);
    if (length >= size)
        return false;
    memcpy (out, start, length);
    out [length] = 0;
    *length_p = length;
    return true;
}

bool
fixture_json_object (const char *text, size_t length,
                     fixture_json_member_fn *member, void *arg)
{
    if (!text || !member)
        return false;
    s_cursor_t cursor = { text, text + length };
    char *key = (char *) malloc (length + 1);
    char *value = (char *) malloc (length + 1);
    bool valid = false;
    if (!key || !value)
        goto done;
    if (!s_expect (&cursor, '{'))
        goto done;
    bool more = !s_expect (&cursor, '}');
    while (more) {
        size_t key_length, value_length;
        fixture_json_type_t type = FIXTURE_JSON_STRING;
        if (!s_parse_string (&cursor, key, length + 1, &key_length)
        ||  !s_expect (&cursor, ':'))
            goto done;
        s_skip_space (&cursor);
        if (cursor.cur < cursor.end && *cursor.cur == '"') {
            if (!s_parse_string (&cursor, value, length + 1, &value_length))
                goto done;
        }
        else
        if (!s_parse_scalar (&cursor, value, length + 1, &value_length, &type))
            goto done;
        if (!member (arg, key, type, value, value_length))
            goto done;
        if (s_expect (&cursor, '}'))
            more = false;
        else
        if (!s_expect (&cursor, ','))
            goto done;
    }
    s_skip_space (&cursor);
    valid = cursor.cur == cursor.end;   //  No trailing data
done:
    free (key);
    free (value);
    return valid;
}

bool
fixture_json_int (const char *value, int low, int high, int *value_p)
{
    if (!value)
        return false;
    const char *cur = value;
    bool negative = *cur == '-';
    if (negative)
        cur++;
    long long result = 0;
    int digits = 0;
    while (*cur >= '0' && *cur <= '9') {
        result = result * 10 + (*cur++ - '0');
        if (++digits > 10)
            return false;               //  Way out of int range
    }
    if (digits == 0 || *cur)
        return false;                   //  Fraction, exponent or junk
    if (negative)
        result = -result;
    if (result < low || result > high)
        return false;
    *value_p = (int) result;
    return true;
}
