/*  =========================================================================
    cli_harness - run the `squirrel` binary as child processes in a test

    One harness is one private folder (mkdtemp under /tmp) and the children
    started in it. Each child's stdout and stderr go to files in the
    folder, which the test reads back, waits on (with a deadline) and
    counts in. Every child is tracked until it is reaped, so that
    cli_harness_destroy, called from a cmocka teardown, kills whatever a
    failed test left running before the next test starts. A child also
    gets SIGKILL if the test process dies (PR_SET_PDEATHSIG), so a crash
    or a ctest timeout leaves no `squirrel run` behind.
    =========================================================================
*/

#ifndef SQ_CLI_HARNESS_H_INCLUDED
#define SQ_CLI_HARNESS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLI_HARNESS_CHILDREN_MAX    16      //  children tracked at once
#define CLI_HARNESS_ARGS_MAX        30      //  arguments after the binary
#define CLI_HARNESS_POLL_MS         50      //  poll interval while waiting

typedef struct _cli_harness_t cli_harness_t;

//  A harness for binary (an absolute path), with a new private folder.
//  NULL on failure, with a message on stderr.
cli_harness_t *
    cli_harness_new (const char *binary);

//  cmocka-shaped set-up and teardown (int f (void **state)) for a test that
//  wants a harness of its own: cli_harness_setup sets *state to a new
//  harness for the squirrel binary of this build (SQ_SQUIRREL_BINARY);
//  cli_harness_teardown destroys it, and fails if a child was left running.
int
    cli_harness_setup (void **state);
int
    cli_harness_teardown (void **state);

//  The servers the `squirrel` tests share, started once per group: the
//  test site and a webhook receiver that answers 200 at once.  Use as the
//  group set-up and tear-down of cmocka_run_group_tests.
typedef struct _testsite_t testsite_t;
typedef struct _webhook_t webhook_t;
extern testsite_t *cli_harness_site;
extern webhook_t *cli_harness_webhook;
int
    cli_harness_group_setup (void **state);
int
    cli_harness_group_teardown (void **state);

//  A loopback port P with P .. P + count - 1 all free, chosen at run time
//  (the kernel picks P, the others are tried).  0 if none was found.
int
    cli_harness_free_ports (int count);

//  A cmocka test with a harness of its own (include cmocka.h first).
#define CLI_HARNESS_TEST(test) \
    cmocka_unit_test_setup_teardown (test, cli_harness_setup, cli_harness_teardown)

//  Kill (SIGKILL) and reap every child still tracked, remove the folder
//  and everything in it, set *self_p to NULL. Safe on NULL. Returns the
//  number of children that had to be killed.
int
    cli_harness_destroy (cli_harness_t **self_p);

//  The private folder. Borrowed.
const char *
    cli_harness_dir (cli_harness_t *self);

//  Absolute path of name in the folder. Caller frees.
char *
    cli_harness_path (cli_harness_t *self, const char *name);

//  Write text to name in the folder (replacing it). 0, or -1 (logged).
int
    cli_harness_write (cli_harness_t *self, const char *name, const char *text);

//  Text of name in the folder; "" if it does not exist. Caller frees.
char *
    cli_harness_read (cli_harness_t *self, const char *name);

//  Start the binary with the NULL-terminated args, stdin from /dev/null,
//  stdout to out and stderr to err (names in the folder, truncated). The
//  child is tracked until reaped. Returns its pid, or -1 (logged).
pid_t
    cli_harness_spawn (cli_harness_t *self, const char *out, const char *err,
                       const char *const *args);

//  Wait up to timeout_ms for a tracked child to end. Returns its exit
//  code, 128 + the signal if a signal ended it, or -1 if the deadline
//  passed (it is then killed with SIGKILL, reaped and logged).
int
    cli_harness_reap (cli_harness_t *self, pid_t pid, int timeout_ms);

//  Spawn with stdout to "out.txt" and stderr to "err.txt", then reap
//  within timeout_ms. Its exit code, as cli_harness_reap.
int
    cli_harness_run (cli_harness_t *self, const char *const *args, int timeout_ms);

//  How many times needle stands in the file name (0 if it does not exist).
size_t
    cli_harness_count (cli_harness_t *self, const char *name, const char *needle);

//  Wait until needle stands at least count times in the file name, for at
//  most timeout_ms. True if it did; false on timeout, with the file's text
//  on stderr.
bool
    cli_harness_wait_count (cli_harness_t *self, const char *name, const char *needle,
                            size_t count, int timeout_ms);

//  Wait until needle stands in the file name at all: cli_harness_wait_count
//  with a count of 1.
bool
    cli_harness_wait_text (cli_harness_t *self, const char *name, const char *needle,
                           int timeout_ms);

//  Write a `squirrel run` config to name: data_dir and feed in the folder
//  (see cli_harness_feed), a 10 s interval (the loader's floor) and a 2 s
//  timeout by default, one owner "alice" whose webhook is alice_webhook,
//  and then the text of sites, which are YAML list items ("  - url: ...").
//  Returns the config's path (caller frees), or NULL (logged).
char *
    cli_harness_config (cli_harness_t *self, const char *name, const char *alice_webhook,
                        const char *sites);

//  The feed endpoint every cli_harness_config names. Borrowed.
const char *
    cli_harness_feed (cli_harness_t *self);

//  The first column of sql's first row, read from the store of a
//  cli_harness_config (data/ in the folder), read-only: as a number, or -1
//  when there is no store or no row; as text (caller frees), or NULL.
long long
    cli_harness_store_number (cli_harness_t *self, const char *sql);
char *
    cli_harness_store_text (cli_harness_t *self, const char *sql);

//  The pid in the last "started PART (pid N)" line of the log file name
//  (`run` in processes mode: "collector", "pinger1", ...); 0 if none.
pid_t
    cli_harness_last_pid (cli_harness_t *self, const char *name, const char *part);

#ifdef __cplusplus
}
#endif

#endif
