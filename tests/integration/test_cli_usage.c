/*  test_cli_usage.c: every usage error of `squirrel`, and every --help.

    One table: the arguments, the exit code wanted, and what stderr and
    stdout must hold (a stream with no text listed must stay empty).  Each
    row is a real process, and each is checked for both its exit code and
    its messages: CTest's PASS_REGULAR_EXPRESSION would ignore the first.

    Option errors name a config or list that does not exist: options are
    checked before the file is read, so a row passes only if the option
    itself is refused (a missing file would print another message).
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RUN_TIMEOUT_MS  20000           //  a usage error answers at once

#define CONFIG      "/nonexistent/squirrel.yaml"
#define LIST        "/nonexistent/sites.txt"
#define FEED        "ipc:///nonexistent/squirrel.feed"
#define NO_CA       "/nonexistent/ca.pem"
#define KEY         "/nonexistent/pinger.key"

typedef struct {
    const char *args [8];       //  after the binary, NULL-terminated
    int exit_code;              //  wanted
    const char *err [3];        //  each must stand in stderr; none: stderr empty
    const char *out [3];        //  each must stand in stdout; none: stdout empty
} usage_case_t;

#define SEE(command) "squirrel " command ": see `squirrel " command " --help`"
#define COUNT(command, option, range, text) \
    "squirrel " command ": --" option " takes a whole number from " range ", not '" text "'"
#define DURATION(text) \
    "squirrel sweep: --timeout takes a duration such as 500ms, 20s or 1m (at most 10m), not '" \
    text "'"

static const usage_case_t s_cases [] = {
    //  squirrel itself
    { { NULL }, 2, { "usage: squirrel COMMAND [OPTIONS] [ARGS]" }, { NULL } },
    { { "--help" }, 0, { NULL }, { "usage: squirrel COMMAND [OPTIONS] [ARGS]", "commands:" } },
    { { "-h" }, 0, { NULL }, { "usage: squirrel COMMAND [OPTIONS] [ARGS]" } },
    { { "help" }, 0, { NULL }, { "usage: squirrel COMMAND [OPTIONS] [ARGS]" } },
    { { "--version" }, 0, { NULL }, { "squirrel " SQ_VERSION_STRING "\n" } },
    { { "frobnicate" }, 2, { "squirrel: unknown command 'frobnicate'; see `squirrel --help`" },
      { NULL } },
    { { "--frobnicate" }, 2, { "squirrel: unknown option '--frobnicate'; see `squirrel --help`" },
      { NULL } },

    //  run
    { { "run", "--help" }, 0, { NULL }, { "usage: squirrel run [OPTIONS] CONFIG", "--pingers N" } },
    { { "run", "-h" }, 0, { NULL }, { "usage: squirrel run [OPTIONS] CONFIG" } },
    { { "run", "--frobnicate", CONFIG }, 2,
      { "unrecognized option '--frobnicate'", SEE ("run") }, { NULL } },
    { { "run", "--pingers", "0", CONFIG }, 2, { COUNT ("run", "pingers", "1 to 64", "0") },
      { NULL } },
    { { "run", "--pingers", "65", CONFIG }, 2, { COUNT ("run", "pingers", "1 to 64", "65") },
      { NULL } },
    { { "run", "--pingers", "2x", CONFIG }, 2, { COUNT ("run", "pingers", "1 to 64", "2x") },
      { NULL } },
    { { "run", "--concurrency", "0", CONFIG }, 2,
      { COUNT ("run", "concurrency", "1 to 100000", "0") }, { NULL } },
    { { "run", "--transport", "tcp", CONFIG }, 2,
      { "squirrel run: --transport takes inproc or ipc, not 'tcp'" }, { NULL } },
    { { "run", "--ca-file", NO_CA, CONFIG }, 2,
      { "squirrel run: --ca-file " NO_CA ": No such file or directory" }, { NULL } },
    { { "run", "--pingers" }, 2, { "option '--pingers' requires an argument", SEE ("run") },
      { NULL } },
    { { "run" }, 2, { "squirrel run: expected one CONFIG file, got 0 arguments", SEE ("run") },
      { NULL } },
    { { "run", CONFIG, CONFIG }, 2, { "squirrel run: expected one CONFIG file, got 2 arguments" },
      { NULL } },
    { { "run", CONFIG }, 2, { "squirrel run: " CONFIG ": cannot read: No such file or directory" },
      { NULL } },

    //  sweep
    { { "sweep", "--help" }, 0, { NULL },
      { "usage: squirrel sweep [OPTIONS] FILE", "--notify URL" } },
    { { "sweep", "--frobnicate", LIST }, 2,
      { "unrecognized option '--frobnicate'", SEE ("sweep") }, { NULL } },
    { { "sweep", "--timeout", "soon", LIST }, 2, { DURATION ("soon") }, { NULL } },
    { { "sweep", "--timeout", "11m", LIST }, 2, { DURATION ("11m") }, { NULL } },
    { { "sweep", "--timeout", "0s", LIST }, 2, { DURATION ("0s") }, { NULL } },
    { { "sweep", "--failure-threshold", "0", LIST }, 2,
      { COUNT ("sweep", "failure-threshold", "1 to 100", "0") }, { NULL } },
    { { "sweep", "--failure-threshold", "101", LIST }, 2,
      { COUNT ("sweep", "failure-threshold", "1 to 100", "101") }, { NULL } },
    { { "sweep", "--pingers", "0", LIST }, 2, { COUNT ("sweep", "pingers", "1 to 64", "0") },
      { NULL } },
    { { "sweep", "--concurrency", "many", LIST }, 2,
      { COUNT ("sweep", "concurrency", "1 to 100000", "many") }, { NULL } },
    { { "sweep", "--notify", "ftp://example.com/", LIST }, 2,
      { "squirrel sweep: --notify: scheme 'ftp' is not monitored" }, { NULL } },
    { { "sweep", "--ca-file", NO_CA, LIST }, 2,
      { "squirrel sweep: --ca-file " NO_CA ": No such file or directory" }, { NULL } },
    { { "sweep", "--timeout" }, 2, { "option '--timeout' requires an argument", SEE ("sweep") },
      { NULL } },
    { { "sweep" }, 2, { "squirrel sweep: expected one FILE, got 0 arguments", SEE ("sweep") },
      { NULL } },
    { { "sweep", LIST }, 2, { "squirrel sweep: " LIST ": cannot read: No such file or directory" },
      { NULL } },

    //  watch
    { { "watch", "--help" }, 0, { NULL },
      { "usage: squirrel watch [OPTIONS] ENDPOINT", "--site PREFIX" } },
    { { "watch", "--frobnicate", FEED }, 2,
      { "unrecognized option '--frobnicate'", SEE ("watch") }, { NULL } },
    { { "watch", "--site" }, 2, { "option '--site' requires an argument", SEE ("watch") },
      { NULL } },
    { { "watch" }, 2, { "squirrel watch: expected one ENDPOINT, got 0 arguments", SEE ("watch") },
      { NULL } },
    { { "watch", FEED, FEED }, 2, { "squirrel watch: expected one ENDPOINT, got 2 arguments" },
      { NULL } },
    { { "watch", "tcp://127.0.0.1:9" }, 2,
      { "squirrel watch: tcp://127.0.0.1:9: tcp needs CURVE" }, { NULL } },
    { { "watch", "bogus://x" }, 2, { "squirrel watch: cannot connect to 'bogus://x'" }, { NULL } },

    //  status
    { { "status", "--help" }, 0, { NULL },
      { "usage: squirrel status [OPTIONS] CONFIG", "--json" } },
    { { "status", "--frobnicate", CONFIG }, 2,
      { "unrecognized option '--frobnicate'", SEE ("status") }, { NULL } },
    { { "status", "--json" }, 2,
      { "squirrel status: expected one CONFIG file, got 0 arguments", SEE ("status") }, { NULL } },
    { { "status", CONFIG, CONFIG }, 2,
      { "squirrel status: expected one CONFIG file, got 2 arguments" }, { NULL } },
    { { "status", CONFIG }, 2,
      { "squirrel status: " CONFIG ": cannot read: No such file or directory" }, { NULL } },

    //  keygen (a run-time failure exits 1, not 2)
    { { "keygen", "--help" }, 0, { NULL },
      { "usage: squirrel keygen PATH", "keys/allowed/", "--key PATH" } },
    { { "keygen", "-h" }, 0, { NULL }, { "usage: squirrel keygen PATH" } },
    { { "keygen" }, 2, { "squirrel keygen: expected one PATH, got 0 arguments", SEE ("keygen") },
      { NULL } },
    { { "keygen", KEY, KEY }, 2,
      { "squirrel keygen: expected one PATH, got 2 arguments", SEE ("keygen") }, { NULL } },
    { { "keygen", "--frobnicate", KEY }, 2,
      { "unrecognized option '--frobnicate'", SEE ("keygen") }, { NULL } },
    { { "keygen", "/dev/null" }, 1,
      { "squirrel keygen: /dev/null already exists: not overwritten" }, { NULL } },
    { { "keygen", KEY }, 1,
      { "squirrel keygen: " KEY ": cannot create: No such file or directory" }, { NULL } },

    //  pinger (a node on another host)
    { { "pinger", "--help" }, 0, { NULL },
      { "usage: squirrel pinger --connect tcp://HUB:PORT --key PATH --server-key FILE",
        "--region NAME" } },
    { { "pinger" }, 2,
      { "squirrel pinger: --connect, --key and --server-key are required", SEE ("pinger") },
      { NULL } },
    { { "pinger", "--connect", "tcp://hub:7700", "--key", KEY }, 2,
      { "squirrel pinger: --connect, --key and --server-key are required", SEE ("pinger") },
      { NULL } },
    { { "pinger", "--connect", "ipc:///x", "--key", KEY, "--server-key", KEY }, 2,
      { "squirrel pinger: --connect 'ipc:///x' is not tcp://HOST:PORT with a port from 1 to 65534" },
      { NULL } },
    { { "pinger", "--connect", "tcp://hub:7700", "--key", KEY, "--server-key", KEY }, 2,
      { "squirrel pinger: --key: " }, { NULL } },
    { { "pinger", "--region", "two words" }, 2,
      { "squirrel pinger: --region takes a name of 1 to 64 letters, digits, '-' or '_', "
        "not 'two words'" }, { NULL } },
    { { "pinger", "--region", "eu,us" }, 2,
      { "squirrel pinger: --region takes a name of 1 to 64 letters, digits, '-' or '_', "
        "not 'eu,us'" }, { NULL } },
    { { "pinger", "--pingers", "0" }, 2, { COUNT ("pinger", "pingers", "1 to 64", "0") },
      { NULL } },
    { { "pinger", "--heartbeat", "10ms" }, 2,
      { "squirrel pinger: --heartbeat takes a duration from 100ms to 1m, not '10ms'" },
      { NULL } },
    { { "pinger", "--connect", "tcp://hub:7700", "extra" }, 2,
      { "squirrel pinger: unexpected argument 'extra'", SEE ("pinger") }, { NULL } },
};
#define CASE_COUNT (sizeof (s_cases) / sizeof (s_cases [0]))

//  One line naming a case, for messages.
static void
s_print_case (const usage_case_t *item)
{
    fprintf (stderr, "  squirrel");
    for (size_t index = 0; item->args [index]; index++)
        fprintf (stderr, " %s", item->args [index]);
    fprintf (stderr, "\n");
}

//  Whether stream holds every needle (or is empty when there is none).
//  With verbose, prints what is wrong.
static bool
s_stream_holds (const char *name, const char *text, const char *const *needles, bool verbose)
{
    if (!needles [0]) {
        if (*text && verbose)
            fprintf (stderr, "    %s should be empty, holds:\n%s\n", name, text);
        return !*text;
    }
    bool all = true;
    for (size_t index = 0; index < 3 && needles [index]; index++)
        if (!strstr (text, needles [index])) {
            if (verbose)
                fprintf (stderr, "    %s lacks \"%s\"; it holds:\n%s\n", name, needles [index],
                         text);
            all = false;
        }
    return all;
}

//  Every row, each a process; every wrong row is reported, then the test
//  fails if there was one.
static void
test_usage_table (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    size_t wrong = 0;
    for (size_t index = 0; index < CASE_COUNT; index++) {
        const usage_case_t *item = &s_cases [index];
        int code = cli_harness_run (harness, item->args, RUN_TIMEOUT_MS);
        char *out = cli_harness_read (harness, "out.txt");
        char *err = cli_harness_read (harness, "err.txt");
        bool right = code == item->exit_code
                  && s_stream_holds ("stderr", err, item->err, false)
                  && s_stream_holds ("stdout", out, item->out, false);
        if (!right) {
            s_print_case (item);
            if (code != item->exit_code)
                fprintf (stderr, "    exited %d, not %d\n", code, item->exit_code);
            s_stream_holds ("stderr", err, item->err, true);
            s_stream_holds ("stdout", out, item->out, true);
            wrong++;
        }
        free (out);
        free (err);
    }
    fprintf (stderr, "%zu usage cases, %zu wrong\n", CASE_COUNT, wrong);
    assert_int_equal (wrong, 0);
}

//  `squirrel --help` lists every command with its summary.
static void
test_help_lists_every_command (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    const char *args [] = { "--help", NULL };
    assert_int_equal (cli_harness_run (harness, args, RUN_TIMEOUT_MS), 0);
    const char *lines [] = {
        "  run        monitor the sites of a config until stopped\n",
        "  sweep      check every site in a list once, print the verdicts, exit\n",
        "  watch      print the alert feed of a running `squirrel run`\n",
        "  status     every site's state, uptime and last check, from the store\n",
        "  keygen     write a CURVE key pair for a pinger or a watcher\n",
        "  pinger     run a pinger node that takes jobs from a hub on another host\n",
    };
    for (size_t index = 0; index < sizeof (lines) / sizeof (lines [0]); index++)
        assert_int_equal (cli_harness_count (harness, "out.txt", lines [index]), 1);
    assert_int_equal (cli_harness_count (harness, "err.txt", "\n"), 0);
}

//  `squirrel keygen PATH` writes the pair with its modes, says where and
//  the fingerprint, and refuses to write over it a second time.
static void
test_keygen_writes_pair (void **state)
{
    cli_harness_t *harness = (cli_harness_t *) *state;
    char *path = cli_harness_path (harness, "pinger");
    char *secret = cli_harness_path (harness, "pinger_secret");
    const char *args [] = { "keygen", path, NULL };
    assert_int_equal (cli_harness_run (harness, args, RUN_TIMEOUT_MS), 0);
    assert_int_equal (cli_harness_count (harness, "out.txt", path), 4);
    assert_int_equal (cli_harness_count (harness, "out.txt", "fingerprint: "), 1);
    assert_int_equal (cli_harness_count (harness, "err.txt", "\n"), 0);
    struct stat status;
    assert_int_equal (stat (path, &status), 0);
    assert_int_equal (status.st_mode & 0777, 0644);
    assert_int_equal (stat (secret, &status), 0);
    assert_int_equal (status.st_mode & 0777, 0600);
    char *before = cli_harness_read (harness, "pinger_secret");

    assert_int_equal (cli_harness_run (harness, args, RUN_TIMEOUT_MS), 1);
    assert_int_equal (cli_harness_count (harness, "err.txt", "already exists: not overwritten"), 1);
    assert_int_equal (cli_harness_count (harness, "out.txt", "\n"), 0);
    char *after = cli_harness_read (harness, "pinger_secret");
    assert_string_equal (before, after);
    free (after);
    free (before);
    free (secret);
    free (path);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        CLI_HARNESS_TEST (test_usage_table),
        CLI_HARNESS_TEST (test_help_lists_every_command),
        CLI_HARNESS_TEST (test_keygen_writes_pair),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
