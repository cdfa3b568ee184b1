/*  main.c: the `squirrel` command.

    One binary, one subcommand per job (cli/cmd_*.c).  Every subcommand
    parses its own options with getopt_long, answers --help, and exits 2 on
    a usage error with a message that names what was wrong.
*/
#include "commands.h"
#include "config.h"

#include <czmq.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const command_t *s_commands [] = {
    &command_run, &command_sweep, &command_watch, &command_status, &command_keygen,
    &command_pinger, &command_actor, &command_add, &command_remove,
};
#define COMMAND_COUNT (sizeof (s_commands) / sizeof (s_commands [0]))

volatile int cli_stop_requested = 0;
volatile int cli_reload_requested = 0;

static void
s_on_signal (int signal_number)
{
    if (signal_number == SIGHUP)
        cli_reload_requested = 1;
    else
        cli_stop_requested = 1;
}

void
cli_catch_signals (bool reload)
{
    //  Our own handlers, not CZMQ's: actors keep running until we stop
    //  them in order, so that nothing in flight is lost.
    struct sigaction action;
    memset (&action, 0, sizeof (action));
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    if (reload)
        sigaction (SIGHUP, &action, NULL);
}

long
cli_parse_count (const char *command, const char *name, const char *text, long max)
{
    char *end = NULL;
    long value = strtol (text, &end, 10);
    if (!*text || *end || value < 1 || value > max) {
        fprintf (stderr, "squirrel %s: --%s takes a whole number from 1 to %ld, not '%s'\n",
                 command, name, max, text);
        return -1;
    }
    return value;
}

long long
cli_parse_duration (const char *command, const char *name, const char *text)
{
    uint64_t ms = 0;
    if (config_duration_parse (text, &ms) || ms == 0 || ms > SQ_TIMEOUT_MAX_MS) {
        fprintf (stderr, "squirrel %s: --%s takes a duration such as 500ms, 20s or 1m "
                 "(at most 10m), not '%s'\n", command, name, text);
        return -1;
    }
    return (long long) ms;
}

int
cli_usage_error (const command_t *command)
{
    fprintf (stderr, "squirrel %s: see `squirrel %s --help`\n", command->name, command->name);
    return EXIT_USAGE;
}

static void
s_print_help (FILE *stream)
{
    fprintf (stream,
             "usage: squirrel COMMAND [OPTIONS] [ARGS]\n"
             "\n"
             "UptimeSquirrel %s: checks websites and tells their owners when one is down.\n"
             "\n"
             "commands:\n", SQ_VERSION_STRING);
    for (size_t index = 0; index < COMMAND_COUNT; index++)
        if (s_commands [index]->summary)     //  internal commands have none
            fprintf (stream, "  %-10s %s\n", s_commands [index]->name,
                     s_commands [index]->summary);
    fprintf (stream,
             "\n"
             "`squirrel COMMAND --help` describes a command.  `squirrel --version` prints\n"
             "the version.\n");
}

int
main (int argc, char **argv)
{
    //  libcurl converts an international host name (IDN) with libidn2, which
    //  reads it in the codeset of LC_CTYPE: under the C locale every such
    //  name fails ("protocol").  Config URLs are in ASCII (punycode) form
    //  from the load on (sq_url_normalise, which does not need this); this
    //  is for the URLs handed to libcurl as typed: `sweep --notify` and the
    //  smtp url.  C.UTF-8, not the user's locale, as our text is UTF-8
    //  whatever the terminal's; LC_CTYPE only, as LC_NUMERIC would turn the
    //  decimal points of our JSON into commas in some locales.  Without it
    //  (no C.UTF-8 on the system) only those names fail, as before.
    setlocale (LC_CTYPE, "C.UTF-8");
    if (argc < 2) {
        s_print_help (stderr);
        return EXIT_USAGE;
    }
    const char *name = argv [1];
    if (streq (name, "--help") || streq (name, "-h") || streq (name, "help")) {
        s_print_help (stdout);
        return 0;
    }
    if (streq (name, "--version")) {
        printf ("squirrel %s\n", SQ_VERSION_STRING);
        return 0;
    }
    for (size_t index = 0; index < COMMAND_COUNT; index++) {
        if (streq (name, s_commands [index]->name)) {
            //  CZMQ logs to stdout by default: ours is for results.
            zsys_set_logstream (stderr);
            zsys_handler_set (NULL);
            zsys_init ();
            //  getopt_long sees the command as argv[0]
            int rc = s_commands [index]->handler (argc - 1, argv + 1);
            zsys_shutdown ();
            return rc;
        }
    }
    if (name [0] == '-')
        fprintf (stderr, "squirrel: unknown option '%s'; see `squirrel --help`\n", name);
    else
        fprintf (stderr, "squirrel: unknown command '%s'; see `squirrel --help`\n", name);
    return EXIT_USAGE;
}
