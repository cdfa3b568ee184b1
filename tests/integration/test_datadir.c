/*  test_datadir.c: who may reach a data folder, and who owns it.

    Real `squirrel run`, `status` and `watch` processes (tests/support/
    cli_harness.h) on a folder made at run time; every wait has a deadline.

    - Under umask 000, `run` makes data_dir 0700, the store, the outbox and
      the lock 0600, and binds the default feed inside data_dir (0600).  A
      data_dir that exists with group or other bits is refused, naming its
      mode.
    - A second `run` on the same config exits 2 naming the first one's
      PID; once the first stops (SIGTERM), or dies (SIGKILL), a new `run`
      takes the folder.  In processes mode the supervisor holds the lock
      and no child has it open.
    - `status` and `watch` by a user who may not enter data_dir say
      "permission denied" at once.  Only root can be another user: the
      case drops to nobody (65534) in a forked child, and is skipped,
      counted and explained, when the test does not run as root.

    The site is a closed port on loopback: `run` only has to start, and a
    refused connection is the quickest verdict there is.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     //  setgroups
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_harness.h"
#include "fixture_process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_MS        15000   //  `run` says "monitoring" (ASan start-up included)
#define STOP_MS         30000   //  a clean stop
#define REFUSED_MS      10000   //  a refused `run` has exited (it waits 1 s at most for a PID)
#define DENIED_MS       5000    //  `status` or `watch` without permission has exited: no hang
#define NOBODY          65534   //  the unprivileged user and group

#define SITE            "http://127.0.0.1:9/"   //  the discard port: refused at once


//  A config of one site with only data_dir set (data/ in the folder): the
//  feed is the default one.  Caller frees.
static char *
s_config (cli_harness_t *harness, const char *name, const char *extra)
{
    char *text = fixture_format ("data_dir: %s/data\n%s"
                                 "defaults:\n  interval: 10s\n  timeout: 2s\n"
                                 "sites:\n  - url: " SITE "\n", cli_harness_dir (harness), extra);
    assert_non_null (text);
    assert_int_equal (cli_harness_write (harness, name, text), 0);
    free (text);
    return cli_harness_path (harness, name);
}

//  The permission bits of name in the folder; -1 if it is not there.
static int
s_mode (cli_harness_t *harness, const char *name, mode_t *type)
{
    char *path = cli_harness_path (harness, name);
    struct stat info;
    int rc = lstat (path, &info);
    free (path);
    if (rc)
        return -1;
    if (type)
        *type = info.st_mode & S_IFMT;
    return (int) (info.st_mode & 07777);
}

//  Wait until name exists in the folder.
static bool
s_wait_file (cli_harness_t *harness, const char *name, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    while (s_mode (harness, name, NULL) < 0) {
        if (fixture_now_ms () >= deadline) {
            fprintf (stderr, "%s did not appear within %d ms\n", name, timeout_ms);
            return false;
        }
        fixture_sleep_ms (CLI_HARNESS_POLL_MS);
    }
    return true;
}

//  Every `run` a test started, so that the teardown can stop one a failed
//  test left running with SIGTERM: the harness's SIGKILL would orphan the
//  children of a processes-mode supervisor, which do not die with it.
#define RUNS_MAX        8
static pid_t s_runs [RUNS_MAX];

static void
s_track (pid_t pid)
{
    for (size_t slot = 0; slot < RUNS_MAX; slot++)
        if (s_runs [slot] <= 0) {
            s_runs [slot] = pid;
            return;
        }
    fail_msg ("more than %d runs in one test", RUNS_MAX);
}

//  Has pid ended?  (Without reaping it: the harness does that.)
static bool
s_ended (pid_t pid)
{
    siginfo_t info = { .si_pid = 0 };
    return waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0
        || info.si_pid == pid;
}

//  Reap a `run` within timeout_ms.  Its exit code; or, when it is still
//  running then, -1 after a SIGTERM and a clean stop (never SIGKILL
//  first, for the reason above).
static int
s_reap_run (cli_harness_t *harness, pid_t pid, int timeout_ms)
{
    int64_t deadline = fixture_now_ms () + timeout_ms;
    while (!s_ended (pid) && fixture_now_ms () < deadline)
        fixture_sleep_ms (10);
    if (s_ended (pid))
        return cli_harness_reap (harness, pid, STOP_MS);
    fprintf (stderr, "squirrel run %d still running after %d ms: stopped\n", (int) pid,
             timeout_ms);
    //  What each run said, to see where the stop hung.
    char *dump = fixture_format ("for f in %s/*.err; do echo \"---- $f\"; tail -n 60 \"$f\"; "
                                 "done >&2; ps -ef --forest >&2", cli_harness_dir (harness));
    if (dump && system (dump) == -1)
        fprintf (stderr, "cannot show the logs\n");
    free (dump);
    kill (pid, SIGTERM);
    cli_harness_reap (harness, pid, STOP_MS);
    return -1;
}

static int
s_setup (void **state)
{
    memset (s_runs, 0, sizeof (s_runs));
    return cli_harness_setup (state);
}

static int
s_teardown (void **state)
{
    for (size_t slot = 0; slot < RUNS_MAX; slot++)
        if (s_runs [slot] > 0 && !s_ended (s_runs [slot])) {
            kill (s_runs [slot], SIGTERM);
            int64_t deadline = fixture_now_ms () + STOP_MS;
            while (!s_ended (s_runs [slot]) && fixture_now_ms () < deadline)
                fixture_sleep_ms (10);
        }
    return cli_harness_teardown (state);
}

#define DATADIR_TEST(test) cmocka_unit_test_setup_teardown (test, s_setup, s_teardown)

//  Start `run config`, output to log, and wait until it monitors.
static pid_t
s_start_run (cli_harness_t *harness, const char *config, const char *log)
{
    const char *args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run.out", log, args);
    assert_true (run > 0);
    s_track (run);
    assert_true (cli_harness_wait_text (harness, log, "squirrel run: monitoring 1 sites",
                                        START_MS));
    return run;
}

//  A `run` that must be refused because pid holds the folder: it exits 2
//  in time and names pid.
static void
s_expect_refused (cli_harness_t *harness, const char *config, pid_t holder)
{
    const char *args [] = { "run", config, NULL };
    pid_t second = cli_harness_spawn (harness, "second.out", "second.err", args);
    assert_true (second > 0);
    s_track (second);
    int64_t started = fixture_now_ms ();
    assert_int_equal (s_reap_run (harness, second, REFUSED_MS), 2);
    char *named = fixture_format ("(pid %d)", (int) holder);
    assert_non_null (named);
    if (cli_harness_count (harness, "second.err", named) != 1) {
        char *text = cli_harness_read (harness, "second.err");
        fprintf (stderr, "the second run did not name %s; it said:\n%s\n", named, text);
        free (text);
        fail ();
    }
    assert_int_equal (cli_harness_count (harness, "second.err",
                                         "is in use by another squirrel run"), 1);
    fprintf (stderr, "a second run was refused in %lld ms\n",
             (long long) (fixture_now_ms () - started));
    free (named);
}


//  --------------------------------------------------------------------------
//  (a) Modes, under the most open umask there is

static void
test_private_under_open_umask (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *config = s_config (harness, "run.yaml", "");
    //  The child inherits the umask: 000 would leave every file as open
    //  as its creator asked.
    mode_t was = umask (0);
    const char *args [] = { "run", config, NULL };
    pid_t run = cli_harness_spawn (harness, "run.out", "run.err", args);
    umask (was);
    assert_true (run > 0);
    s_track (run);
    assert_true (cli_harness_wait_text (harness, "run.err", "squirrel run: monitoring 1 sites",
                                        START_MS));
    //  The feed is the default: a socket in data_dir, private.
    char *feed = fixture_format ("alerts on ipc://%s/data/feed;", cli_harness_dir (harness));
    assert_non_null (feed);
    assert_int_equal (cli_harness_count (harness, "run.err", feed), 1);
    free (feed);
    const char *files [] = { "data/squirrel.db", "data/outbox.db", "data/lock", "data/feed" };
    for (size_t index = 0; index < 4; index++)
        assert_true (s_wait_file (harness, files [index], START_MS));
    mode_t type = 0;
    assert_int_equal (s_mode (harness, "data", &type), 0700);
    assert_true (type == S_IFDIR);
    assert_int_equal (s_mode (harness, "data/squirrel.db", NULL), 0600);
    assert_int_equal (s_mode (harness, "data/outbox.db", NULL), 0600);
    assert_int_equal (s_mode (harness, "data/lock", NULL), 0600);
    assert_int_equal (s_mode (harness, "data/feed", &type), 0600);
    assert_true (type == S_IFSOCK);
    //  SQLite gives its side files the database's mode.
    if (s_mode (harness, "data/squirrel.db-wal", NULL) >= 0)
        assert_int_equal (s_mode (harness, "data/squirrel.db-wal", NULL), 0600);

    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (s_reap_run (harness, run, STOP_MS), 0);
    free (config);
}

//  A data_dir others may enter is refused, not quietly tightened, and the
//  message names its mode and what to run.
static void
test_open_folder_refused (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *config = s_config (harness, "run.yaml", "");
    char *data = cli_harness_path (harness, "data");
    assert_int_equal (mkdir (data, 0700), 0);
    assert_int_equal (chmod (data, 0750), 0);
    const char *args [] = { "run", config, NULL };
    assert_int_equal (cli_harness_run (harness, args, REFUSED_MS), 2);
    char *said = fixture_format ("squirrel run: data_dir %s has mode 0750", data);
    assert_non_null (said);
    assert_int_equal (cli_harness_count (harness, "err.txt", said), 1);
    assert_int_equal (cli_harness_count (harness, "err.txt", "chmod 700"), 1);
    assert_int_equal (s_mode (harness, "data", NULL), 0750);
    assert_int_equal (s_mode (harness, "data/squirrel.db", NULL), -1);
    free (said);
    free (data);
    free (config);
}


//  --------------------------------------------------------------------------
//  (b) One `run` per folder

static void
test_second_run_refused (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *config = s_config (harness, "run.yaml", "");
    pid_t first = s_start_run (harness, config, "run1.err");
    char *lock = cli_harness_read (harness, "data/lock");
    assert_int_equal (atoi (lock), (int) first);
    free (lock);
    s_expect_refused (harness, config, first);
    //  The first went on as if nothing happened.
    assert_int_equal (waitpid (first, NULL, WNOHANG), 0);

    //  A clean stop lets go: the next one starts.
    assert_int_equal (kill (first, SIGTERM), 0);
    assert_int_equal (s_reap_run (harness, first, STOP_MS), 0);
    pid_t next = s_start_run (harness, config, "run2.err");
    s_expect_refused (harness, config, next);

    //  So does a death: the kernel drops the lock with the process, and
    //  the PID it left in the file names no one.
    assert_int_equal (kill (next, SIGKILL), 0);
    assert_int_equal (cli_harness_reap (harness, next, STOP_MS), 128 + SIGKILL);
    pid_t last = s_start_run (harness, config, "run3.err");
    assert_int_equal (kill (last, SIGTERM), 0);
    assert_int_equal (s_reap_run (harness, last, STOP_MS), 0);
    free (config);
}

//  The pids whose parent is parent, into pids (at most max); how many.
static size_t
s_children_of (pid_t parent, pid_t *pids, size_t max)
{
    size_t count = 0;
    DIR *proc = opendir ("/proc");
    assert_non_null (proc);
    struct dirent *entry;
    while ((entry = readdir (proc)) && count < max) {
        int pid = atoi (entry->d_name);
        if (pid <= 0)
            continue;
        char path [64], text [512];
        snprintf (path, sizeof (path), "/proc/%d/stat", pid);
        FILE *file = fopen (path, "r");
        if (!file)
            continue;
        size_t size = fread (text, 1, sizeof (text) - 1, file);
        fclose (file);
        text [size] = 0;
        //  pid (comm) state ppid: comm may hold anything, so from the last ')'.
        const char *paren = strrchr (text, ')');
        int ppid = 0;
        char state;
        if (paren && sscanf (paren + 1, " %c %d", &state, &ppid) == 2 && ppid == parent)
            pids [count++] = pid;
    }
    closedir (proc);
    return count;
}

//  True when pid has exec'd `squirrel actor` (a child between fork and exec
//  still shares its parent's descriptors, as it must).
static bool
s_is_actor (pid_t pid)
{
    char path [64], text [256];
    snprintf (path, sizeof (path), "/proc/%d/cmdline", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    size_t size = fread (text, 1, sizeof (text) - 1, file);
    fclose (file);
    text [size] = 0;
    //  NUL-separated: the second argument is the command.
    size_t first = strlen (text);
    return first + 1 < size && strcmp (text + first + 1, "actor") == 0;
}

//  Does pid have path open?
static bool
s_has_open (pid_t pid, const char *path)
{
    char folder [64];
    snprintf (folder, sizeof (folder), "/proc/%d/fd", (int) pid);
    DIR *fds = opendir (folder);
    if (!fds)
        return false;
    bool found = false;
    struct dirent *entry;
    while (!found && (entry = readdir (fds))) {
        char link [PATH_MAX + 64], target [PATH_MAX];
        snprintf (link, sizeof (link), "%s/%s", folder, entry->d_name);
        ssize_t size = readlink (link, target, sizeof (target) - 1);
        if (size > 0) {
            target [size] = 0;
            found = strcmp (target, path) == 0;
        }
    }
    closedir (fds);
    return found;
}

//  workers: processes.  The supervisor holds the lock for its children,
//  which neither take it nor carry it (O_CLOEXEC): were one to keep it, a
//  supervisor killed with -9 would leave the folder locked by an orphan.
static void
test_processes_mode_lock (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *config = s_config (harness, "run.yaml", "workers:\n  mode: processes\n  pingers: 1\n");
    pid_t supervisor = s_start_run (harness, config, "run1.err");
    s_expect_refused (harness, config, supervisor);

    //  collector, notifier, dispatcher, one pinger: each exec'd, none
    //  holding the lock file, which the supervisor has open.
    char *lock = cli_harness_path (harness, "data/lock");
    assert_true (s_has_open (supervisor, lock));
    pid_t children [16];
    size_t count = 0, actors = 0;
    int64_t deadline = fixture_now_ms () + START_MS;
    while (fixture_now_ms () < deadline) {
        count = s_children_of (supervisor, children, 16);
        actors = 0;
        for (size_t index = 0; index < count; index++)
            actors += s_is_actor (children [index]);
        if (actors == 4 && count == 4)
            break;
        fixture_sleep_ms (CLI_HARNESS_POLL_MS);
    }
    assert_int_equal (actors, 4);
    for (size_t index = 0; index < count; index++)
        if (s_has_open (children [index], lock)) {
            fprintf (stderr, "child %d of the supervisor has %s open\n", (int) children [index],
                     lock);
            fail ();
        }

    assert_int_equal (kill (supervisor, SIGTERM), 0);
    assert_int_equal (s_reap_run (harness, supervisor, STOP_MS), 0);
    pid_t next = s_start_run (harness, config, "run2.err");

    //  The supervisor killed with SIGKILL: its children go too (they would
    //  otherwise run on beside the next `run`, and every alert go twice).
    deadline = fixture_now_ms () + START_MS;
    while (fixture_now_ms () < deadline
       &&  (count = s_children_of (next, children, 16)) < 4)
        fixture_sleep_ms (CLI_HARNESS_POLL_MS);
    assert_int_equal (count, 4);
    assert_int_equal (kill (next, SIGKILL), 0);
    s_reap_run (harness, next, STOP_MS);
    size_t alive = count;
    deadline = fixture_now_ms () + STOP_MS;
    while (alive && fixture_now_ms () < deadline) {
        alive = 0;
        for (size_t index = 0; index < count; index++)
            alive += kill (children [index], 0) == 0;
        fixture_sleep_ms (CLI_HARNESS_POLL_MS);
    }
    assert_int_equal (alive, 0);
    pid_t last = s_start_run (harness, config, "run3.err");
    assert_int_equal (kill (last, SIGTERM), 0);
    assert_int_equal (s_reap_run (harness, last, STOP_MS), 0);
    free (lock);
    free (config);
}


//  --------------------------------------------------------------------------
//  (c) Another user

//  Run the squirrel binary as nobody with args, stdout and stderr to out
//  and err in the folder; its exit code, 128 + a signal, or -1 if it did
//  not end within timeout_ms (then it is killed).
static int
s_run_as_nobody (cli_harness_t *harness, const char *const *args, const char *out,
                 const char *err, int timeout_ms)
{
    const char *argv [16];
    size_t count = 0;
    argv [count++] = SQ_BINARY;
    for (size_t index = 0; args [index] && count < 15; index++)
        argv [count++] = args [index];
    argv [count] = NULL;
    char *out_path = cli_harness_path (harness, out);
    char *err_path = cli_harness_path (harness, err);
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        int in_fd = open ("/dev/null", O_RDONLY);
        int out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in_fd < 0 || out_fd < 0 || err_fd < 0
        ||  dup2 (in_fd, STDIN_FILENO) < 0 || dup2 (out_fd, STDOUT_FILENO) < 0
        ||  dup2 (err_fd, STDERR_FILENO) < 0)
            _exit (126);
        //  Groups first: a process without CAP_SETGID cannot drop them.
        if (setgroups (0, NULL) || setgid (NOBODY) || setuid (NOBODY) || getuid () != NOBODY)
            _exit (125);
        execv (argv [0], (char **) argv);
        _exit (127);
    }
    free (out_path);
    free (err_path);
    assert_true (pid > 0);
    int64_t deadline = fixture_now_ms () + timeout_ms;
    int status = 0;
    while (waitpid (pid, &status, WNOHANG) == 0) {
        if (fixture_now_ms () >= deadline) {
            fprintf (stderr, "squirrel %s as nobody still running after %d ms: killed\n",
                     args [0], timeout_ms);
            kill (pid, SIGKILL);
            waitpid (pid, &status, 0);
            return -1;
        }
        fixture_sleep_ms (10);
    }
    return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

//  The text of name holds needle, or the test fails showing it.
static void
s_expect_text (cli_harness_t *harness, const char *name, const char *needle)
{
    if (cli_harness_count (harness, name, needle) >= 1)
        return;
    char *text = cli_harness_read (harness, name);
    fprintf (stderr, "%s does not hold '%s'; it holds:\n%s\n", name, needle, text);
    free (text);
    fail ();
}

static void
test_other_user_denied (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    if (geteuid () != 0) {
        fprintf (stderr, "test_other_user_denied: skipped: only root can run `status` and "
                 "`watch` as another user (nobody, %d) to see them refused; run the test as "
                 "root to cover it\n", NOBODY);
        skip ();
    }
    char *config = s_config (harness, "run.yaml", "");
    pid_t run = s_start_run (harness, config, "run.err");
    assert_true (s_wait_file (harness, "data/feed", START_MS));
    //  nobody may pass through the test's folder and read the config:
    //  only data_dir itself keeps them out.
    assert_int_equal (chmod (cli_harness_dir (harness), 0711), 0);
    assert_int_equal (chmod (config, 0644), 0);

    //  The owner reads it (so it is there, and the refusal is about who
    //  asks, not about a store that is missing).
    const char *status_args [] = { "status", config, NULL };
    assert_int_equal (cli_harness_run (harness, status_args, DENIED_MS), 0);

    char *database = fixture_format ("permission denied: %s/data/squirrel.db",
                                     cli_harness_dir (harness));
    char *socket = fixture_format ("permission denied: %s/data/feed", cli_harness_dir (harness));
    char *feed = fixture_format ("ipc://%s/data/feed", cli_harness_dir (harness));
    assert_true (database && socket && feed);
    assert_int_equal (s_run_as_nobody (harness, status_args, "status.out", "status.err",
                                       DENIED_MS), 1);
    s_expect_text (harness, "status.err", database);
    assert_int_equal (cli_harness_count (harness, "status.err", "no store"), 0);

    const char *watch_args [] = { "watch", feed, NULL };
    assert_int_equal (s_run_as_nobody (harness, watch_args, "watch.out", "watch.err",
                                       DENIED_MS), 1);
    s_expect_text (harness, "watch.err", socket);
    const char *since_args [] = { "watch", "--since", "0", feed, NULL };
    assert_int_equal (s_run_as_nobody (harness, since_args, "since.out", "since.err",
                                       DENIED_MS), 1);
    s_expect_text (harness, "since.err", socket);

    assert_int_equal (chmod (cli_harness_dir (harness), 0700), 0);
    assert_int_equal (kill (run, SIGTERM), 0);
    assert_int_equal (s_reap_run (harness, run, STOP_MS), 0);
    free (feed);
    free (socket);
    free (database);
    free (config);
}

//  test_datadir [PATTERN]: only the tests whose names match PATTERN
//  (cmocka's filter, '*' and '?').
int
main (int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter (argv [1]);
    const struct CMUnitTest tests [] = {
        DATADIR_TEST (test_private_under_open_umask),
        DATADIR_TEST (test_open_folder_refused),
        DATADIR_TEST (test_second_run_refused),
        DATADIR_TEST (test_processes_mode_lock),
        DATADIR_TEST (test_other_user_denied),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
