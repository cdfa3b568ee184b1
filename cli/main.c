/*  main.c: the `squirrel` command.

    One binary, one subcommand per job.  Every subcommand parses its own
    options with getopt_long, answers --help, and exits 2 on a usage error
    with a message that names what was wrong.
*/
#include "topology.h"
#include "sq_proto.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2

typedef struct {
    const char *name;           //  subcommand
    const char *summary;        //  one line for `squirrel --help`
    const char *usage;          //  full text for `squirrel NAME --help`
    int (*handler) (int argc, char **argv);
} command_t;

static int s_command_run (int argc, char **argv);

static const command_t s_commands [] = {
    { "run", "monitor the sites of a config until stopped",
      "usage: squirrel run [OPTIONS] CONFIG\n"
      "\n"
      "Start the whole topology (dispatcher, pingers, collector, notifier) and\n"
      "monitor until SIGINT or SIGTERM.\n"
      "\n"
      "options:\n"
      "  --transport T     inproc (default: all actors as threads) or ipc\n"
      "  --pingers N       pinger threads (default 1)\n"
      "  --concurrency N   live checks per pinger (default 256)\n"
      "  -h, --help        this text\n",
      s_command_run },
};
#define COMMAND_COUNT (sizeof (s_commands) / sizeof (s_commands [0]))

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
        fprintf (stream, "  %-10s %s\n", s_commands [index].name, s_commands [index].summary);
    fprintf (stream,
             "\n"
             "`squirrel COMMAND --help` describes a command.  `squirrel --version` prints\n"
             "the version.\n");
}

//  Parse a whole positive number for option name; -1 with a message if not.
static long
s_parse_count (const char *command, const char *name, const char *text, long max)
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

static int
s_command_run (int argc, char **argv)
{
    static const struct option options [] = {
        { "transport",   required_argument, NULL, 't' },
        { "pingers",     required_argument, NULL, 'p' },
        { "concurrency", required_argument, NULL, 'c' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    topology_args_t args = { .transport = "inproc" };
    int option;
    long value;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 't': args.transport = optarg; break;
            case 'p':
                if ((value = s_parse_count ("run", "pingers", optarg, 64)) < 0)
                    return EXIT_USAGE;
                args.pingers = (unsigned) value;
                break;
            case 'c':
                if ((value = s_parse_count ("run", "concurrency", optarg, 100000)) < 0)
                    return EXIT_USAGE;
                args.concurrency = (unsigned) value;
                break;
            case 'h': fputs (s_commands [0].usage, stdout); return 0;
            default:
                fprintf (stderr, "squirrel run: see `squirrel run --help`\n");
                return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel run: expected one CONFIG file\n%s", s_commands [0].usage);
        return EXIT_USAGE;
    }
    const char *config = argv [optind];
    if (access (config, R_OK) != 0) {
        fprintf (stderr, "squirrel run: cannot read config %s: %s\n", config, strerror (errno));
        return EXIT_USAGE;
    }
    topology_t *topology = topology_new (&args);
    if (!topology)
        return 1;
    zsys_info ("squirrel: topology running over %s; feed at %s (Ctrl-C stops)",
               args.transport, topology_endpoints_of (topology)->feed);
    //  The site schedule from CONFIG arrives with the run issue; until then
    //  the actors run, pingers announce their credit, and we wait.
    while (!zsys_interrupted)
        zclock_sleep (200);
    char *stats = topology_stats (topology);
    zsys_info ("squirrel: stopping\n%s", stats);
    free (stats);
    topology_destroy (&topology);
    return 0;
}

int
main (int argc, char **argv)
{
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
        if (streq (name, s_commands [index].name)) {
            //  getopt_long sees the command as argv[0]
            zsys_init ();
            return s_commands [index].handler (argc - 1, argv + 1);
        }
    }
    if (name [0] == '-')
        fprintf (stderr, "squirrel: unknown option '%s'; see `squirrel --help`\n", name);
    else
        fprintf (stderr, "squirrel: unknown command '%s'; see `squirrel --help`\n", name);
    return EXIT_USAGE;
}
