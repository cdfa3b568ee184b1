/*  =========================================================================
    cli_harness - run the `squirrel` binary as child processes in a test

    Children are started with fork and execv; everything the child needs
    (paths, argv) is built before the fork, so that the child calls only
    async-signal-safe functions until exec. Waiting is polling with a
    deadline on the monotonic clock (fixture_now_ms).
    =========================================================================
*/

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     //  mkdtemp, nftw, close_range
#endif

#include "cli_harness.h"
#include "testsite.h"
#include "webhook.h"
#include "fixture_process.h"
#include "store.h"

#include <assert.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLI_HARNESS_FILE_MAX    (64u << 20)     //  largest output file read back

//  Structure of our class

struct _cli_harness_t {
    char *binary;                               //  the squirrel binary
    char dir [32];                              //  private mkdtemp folder
    char *feed;                                 //  "ipc://DIR/feed"
    pid_t children [CLI_HARNESS_CHILDREN_MAX];  //  started, not reaped; 0 = free slot
};


//  --------------------------------------------------------------------------
//  Life cycle

cli_harness_t *
cli_harness_new (const char *binary)
{
    cli_harness_t *self = (cli_harness_t *) calloc (1, sizeof (cli_harness_t));
    if (!self)
        return NULL;
    strcpy (self->dir, "/tmp/sq-cli-XXXXXX");
    self->binary = strdup (binary);
    if (!self->binary || !mkdtemp (self->dir)) {
        fprintf (stderr, "cli_harness: cannot make a folder: %s\n", strerror (errno));
        free (self->binary);
        free (self);
        return NULL;
    }
    self->feed = fixture_format ("ipc://%s/feed", self->dir);
    assert (self->feed);
    return self;
}

static int
s_remove_entry (const char *path, const struct stat *info, int flag, struct FTW *walk)
{
    (void) info;
    (void) flag;
    (void) walk;
    if (remove (path))
        fprintf (stderr, "cli_harness: cannot remove %s: %s\n", path, strerror (errno));
    return 0;
}

int
cli_harness_destroy (cli_harness_t **self_p)
{
    if (!self_p || !*self_p)
        return 0;
    cli_harness_t *self = *self_p;
    int killed = 0;
    for (size_t slot = 0; slot < CLI_HARNESS_CHILDREN_MAX; slot++) {
        pid_t pid = self->children [slot];
        if (pid <= 0)
            continue;
        if (waitpid (pid, NULL, WNOHANG) == 0) {
            fprintf (stderr, "cli_harness: killing leftover child %d\n", (int) pid);
            kill (pid, SIGKILL);
            while (waitpid (pid, NULL, 0) == -1 && errno == EINTR)
                ;
            killed++;
        }
        self->children [slot] = 0;
    }
    //  Depth first, without following links: the folder is ours alone.
    nftw (self->dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free (self->feed);
    free (self->binary);
    free (self);
    *self_p = NULL;
    return killed;
}

#ifndef SQ_SQUIRREL_BINARY
#   error "SQ_SQUIRREL_BINARY must name the squirrel binary"
#endif

int
cli_harness_setup (void **state)
{
    *state = cli_harness_new (SQ_SQUIRREL_BINARY);
    return *state ? 0 : -1;
}

int
cli_harness_teardown (void **state)
{
    cli_harness_t *self = (cli_harness_t *) *state;
    return cli_harness_destroy (&self) ? -1 : 0;
}

const char *
cli_harness_dir (cli_harness_t *self)
{
    assert (self);
    return self->dir;
}

const char *
cli_harness_feed (cli_harness_t *self)
{
    assert (self);
    return self->feed;
}


//  --------------------------------------------------------------------------
//  Files

char *
cli_harness_path (cli_harness_t *self, const char *name)
{
    assert (self);
    char *path = fixture_format ("%s/%s", self->dir, name);
    assert (path);
    return path;
}

int
cli_harness_write (cli_harness_t *self, const char *name, const char *text)
{
    //  Write beside, then rename: a reader never sees half a file.
    char *path = cli_harness_path (self, name);
    char *part = fixture_format ("%s.part", path);
    assert (part);
    FILE *file = fopen (part, "w");
    int rc = file ? 0 : -1;
    if (file && fputs (text, file) < 0)
        rc = -1;
    if (file && fclose (file))
        rc = -1;
    if (rc == 0 && rename (part, path))
        rc = -1;
    if (rc)
        fprintf (stderr, "cli_harness: cannot write %s: %s\n", path, strerror (errno));
    free (part);
    free (path);
    return rc;
}

char *
cli_harness_read (cli_harness_t *self, const char *name)
{
    char *path = cli_harness_path (self, name);
    char *text = fixture_read_file (path, CLI_HARNESS_FILE_MAX, NULL);
    if (!text && errno != ENOENT)
        fprintf (stderr, "cli_harness: cannot read %s: %s\n", path, strerror (errno));
    free (path);
    if (!text)
        text = strdup ("");
    assert (text);
    return text;
}

size_t
cli_harness_count (cli_harness_t *self, const char *name, const char *needle)
{
    assert (needle && *needle);
    char *text = cli_harness_read (self, name);
    size_t count = 0;
    for (const char *at = text; (at = strstr (at, needle)); at += strlen (needle))
        count++;
    free (text);
    return count;
}

bool
cli_harness_wait_count (cli_harness_t *self, const char *name, const char *needle,
                        size_t count, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    while (cli_harness_count (self, name, needle) < count) {
        if (fixture_now_ms () >= deadline) {
            char *text = cli_harness_read (self, name);
            fprintf (stderr, "cli_harness: %s did not hold '%s' %zu times within %d ms; "
                     "it holds:\n%s\n", name, needle, count, timeout_ms, text);
            free (text);
            return false;
        }
        fixture_sleep_ms (CLI_HARNESS_POLL_MS);
    }
    return true;
}

bool
cli_harness_wait_text (cli_harness_t *self, const char *name, const char *needle,
                       int timeout_ms)
{
    return cli_harness_wait_count (self, name, needle, 1, timeout_ms);
}


//  --------------------------------------------------------------------------
//  Children

pid_t
cli_harness_spawn (cli_harness_t *self, const char *out, const char *err,
                   const char *const *args)
{
    assert (self);
    size_t slot = 0;
    while (slot < CLI_HARNESS_CHILDREN_MAX && self->children [slot])
        slot++;
    assert (slot < CLI_HARNESS_CHILDREN_MAX);

    //  Everything the child needs, built before the fork.
    char *argv [CLI_HARNESS_ARGS_MAX + 2];
    size_t count = 0;
    argv [count++] = self->binary;
    for (size_t index = 0; args [index]; index++) {
        assert (count <= CLI_HARNESS_ARGS_MAX);
        argv [count++] = (char *) args [index];
    }
    argv [count] = NULL;
    char *out_path = cli_harness_path (self, out);
    char *err_path = cli_harness_path (self, err);
    pid_t parent = getpid ();
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid == 0) {
        //  Die with the test, whatever ends it.
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        int in_fd = open ("/dev/null", O_RDONLY);
        int out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in_fd < 0 || out_fd < 0 || err_fd < 0
        ||  dup2 (in_fd, STDIN_FILENO) < 0 || dup2 (out_fd, STDOUT_FILENO) < 0
        ||  dup2 (err_fd, STDERR_FILENO) < 0)
            _exit (126);
        close_range (3, ~0U, 0);        //  no test socket leaks into the child
        execv (argv [0], argv);
        _exit (127);
    }
    free (out_path);
    free (err_path);
    if (pid < 0) {
        fprintf (stderr, "cli_harness: fork failed: %s\n", strerror (errno));
        return -1;
    }
    self->children [slot] = pid;
    return pid;
}

static void
s_forget (cli_harness_t *self, pid_t pid)
{
    for (size_t slot = 0; slot < CLI_HARNESS_CHILDREN_MAX; slot++)
        if (self->children [slot] == pid)
            self->children [slot] = 0;
}

int
cli_harness_reap (cli_harness_t *self, pid_t pid, int timeout_ms)
{
    assert (self);
    if (pid <= 0)
        return -1;
    int64_t deadline = fixture_now_ms () + timeout_ms;
    int status = 0;
    while (true) {
        pid_t rc = waitpid (pid, &status, WNOHANG);
        if (rc == pid)
            break;
        if (rc == -1 && errno != EINTR) {
            fprintf (stderr, "cli_harness: cannot wait for %d: %s\n", (int) pid, strerror (errno));
            s_forget (self, pid);
            return -1;
        }
        if (fixture_now_ms () >= deadline) {
            fprintf (stderr, "cli_harness: child %d still running after %d ms, killing it\n",
                     (int) pid, timeout_ms);
            kill (pid, SIGKILL);
            while (waitpid (pid, NULL, 0) == -1 && errno == EINTR)
                ;
            s_forget (self, pid);
            return -1;
        }
        fixture_sleep_ms (10);
    }
    s_forget (self, pid);
    return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

int
cli_harness_run (cli_harness_t *self, const char *const *args, int timeout_ms)
{
    pid_t pid = cli_harness_spawn (self, "out.txt", "err.txt", args);
    return pid < 0 ? -1 : cli_harness_reap (self, pid, timeout_ms);
}


//  --------------------------------------------------------------------------
//  A `squirrel run` config

char *
cli_harness_config (cli_harness_t *self, const char *name, const char *alice_webhook,
                    const char *sites)
{
    char *text = fixture_format (
        "data_dir: %s/data\n"
        "feed: %s\n"
        "defaults:\n"
        "  interval: 10s\n"
        "  timeout: 2s\n"
        "owners:\n"
        "  alice:\n"
        "    webhook: %s\n"
        "sites:\n%s", self->dir, self->feed, alice_webhook, sites);
    assert (text);
    int rc = cli_harness_write (self, name, text);
    free (text);
    return rc ? NULL : cli_harness_path (self, name);
}

testsite_t *cli_harness_site = NULL;
webhook_t *cli_harness_webhook = NULL;

int
cli_harness_group_setup (void **state)
{
    cli_harness_site = testsite_start ();
    cli_harness_webhook = webhook_start (0, 200);
    return cli_harness_site && cli_harness_webhook ? 0 : -1;
}

int
cli_harness_group_teardown (void **state)
{
    testsite_stop (&cli_harness_site);
    webhook_stop (&cli_harness_webhook);
    return 0;
}

//  Can a TCP socket bind port on 127.0.0.1?  Its port into *port_p when 0.
static bool
s_bindable (int *port_p)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) *port_p),
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t size = sizeof (address);
    bool bound = fd >= 0 && bind (fd, (struct sockaddr *) &address, sizeof (address)) == 0
              && getsockname (fd, (struct sockaddr *) &address, &size) == 0;
    if (bound)
        *port_p = ntohs (address.sin_port);
    if (fd >= 0)
        close (fd);
    return bound;
}

int
cli_harness_free_ports (int count)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        int first = 0;
        if (!s_bindable (&first) || first > 65535 - count)
            continue;
        bool all = true;
        for (int offset = 1; offset < count && all; offset++) {
            int port = first + offset;
            all = s_bindable (&port);
        }
        if (all)
            return first;
    }
    return 0;
}

//  sql's first row, first column, through callback; false when there is no
//  store or no row.
static bool
s_store_row (cli_harness_t *self, const char *sql, void (*take) (sqlite3_stmt *, void *),
             void *arg)
{
    char *path = cli_harness_path (self, "data/" STORE_FILE_NAME);
    sqlite3 *db = NULL;
    bool found = false;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout (db, 2000);
        sqlite3_stmt *statement = NULL;
        if (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL) == SQLITE_OK
        &&  sqlite3_step (statement) == SQLITE_ROW) {
            take (statement, arg);
            found = true;
        }
        sqlite3_finalize (statement);
    }
    sqlite3_close (db);
    free (path);
    return found;
}

static void
s_take_number (sqlite3_stmt *statement, void *arg)
{
    *(long long *) arg = sqlite3_column_int64 (statement, 0);
}

static void
s_take_text (sqlite3_stmt *statement, void *arg)
{
    const unsigned char *text = sqlite3_column_text (statement, 0);
    *(char **) arg = text ? strdup ((const char *) text) : NULL;
}

long long
cli_harness_store_number (cli_harness_t *self, const char *sql)
{
    long long value = -1;
    return s_store_row (self, sql, s_take_number, &value) ? value : -1;
}

char *
cli_harness_store_text (cli_harness_t *self, const char *sql)
{
    char *value = NULL;
    s_store_row (self, sql, s_take_text, &value);
    return value;
}

pid_t
cli_harness_last_pid (cli_harness_t *self, const char *name, const char *part)
{
    char *log = cli_harness_read (self, name);
    char needle [64];
    snprintf (needle, sizeof (needle), "started %s (pid ", part);
    pid_t pid = 0;
    for (const char *at = log; at && (at = strstr (at, needle)); at += strlen (needle))
        pid = (pid_t) atoi (at + strlen (needle));
    free (log);
    return pid;
}
