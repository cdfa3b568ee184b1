/*  cmd_actor.c: `squirrel actor PART CONFIG`, one part of `squirrel run`
    as a process of its own (workers.mode processes; the supervisor,
    supervisor.c, starts it).  Not listed in `squirrel --help`.

    PART is collector (with the store and the feed's helpers), notifier,
    dispatcher or pinger.  The parts meet over ipc:// sockets in data_dir,
    the same endpoints a `--transport ipc` run uses.  SIGHUP rereads the
    config (the supervisor sends it after checking the file); SIGTERM stops
    the part in order (the collector drains what is queued, the store
    commits).
*/
#include "commands.h"
#include "hub_api.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

static const char s_usage [] =
    "usage: squirrel actor PART [OPTIONS] CONFIG\n"
    "\n"
    "Internal: one part of `squirrel run` in a process of its own, started by\n"
    "`squirrel run` when the config says workers: { mode: processes }.  PART is\n"
    "collector, notifier, dispatcher or pinger.\n"
    "\n"
    "options:\n"
    "  --concurrency N   live checks (pinger)\n"
    "  --ca-file PATH    also trust the CA certificates in PATH (pinger)\n"
    "  -h, --help        this text\n";

static int
s_actor (int argc, char **argv)
{
    static const struct option options [] = {
        { "concurrency", required_argument, NULL, 'c' },
        { "ca-file",     required_argument, NULL, 'a' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    topology_args_t args = { .transport = "ipc" };
    long value;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 'c':
                if ((value = cli_parse_count ("actor", "concurrency", optarg, 100000)) < 0)
                    return EXIT_USAGE;
                args.concurrency = (unsigned) value;
                break;
            case 'a': args.ca_file = optarg; break;
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_actor);
        }
    }
    if (optind != argc - 2) {
        fprintf (stderr, "squirrel actor: expected PART and CONFIG\n");
        return cli_usage_error (&command_actor);
    }
    const char *part = argv [optind];
    bool pinger = streq (part, "pinger");
    if (!pinger && !streq (part, "collector") && !streq (part, "notifier")
    &&  !streq (part, "dispatcher")) {
        fprintf (stderr, "squirrel actor: PART is collector, notifier, dispatcher or pinger, "
                 "not '%s'\n", part);
        return EXIT_USAGE;
    }
    char error [1024];
    config_t *config = hub_config_load (argv [optind + 1], error, sizeof (error));
    if (!config) {
        fprintf (stderr, "squirrel actor %s: %s\n", part, error);
        return EXIT_USAGE;
    }
    cli_catch_signals (true);
    cli_topology_args (&args, config);
    args.part = pinger ? "pingers" : part;
    args.pingers = 1;
    args.remote_only = false;
    if (!pinger && cli_assign_ids (config)) {
        config_destroy (&config);
        return 1;
    }
    topology_t *topology = topology_new (&args);
    if (!topology || (!pinger && cli_hand_sites (topology, config))) {
        fprintf (stderr, "squirrel actor %s: could not start (see the log above)\n", part);
        topology_destroy (&topology);
        config_destroy (&config);
        return 1;
    }
    zsys_info ("squirrel actor %s: running (pid %d)", part, (int) getpid ());
    while (!cli_stop_requested) {
        zclock_sleep (100);
        if (cli_reload_requested) {
            cli_reload_requested = 0;
            if (!pinger)
                config = cli_reload (config, topology);
        }
    }
    char *stats = topology_stats (topology);
    topology_destroy (&topology);
    char *title = zsys_sprintf ("squirrel actor %s: stopped; counters at stop:", part);
    topology_log_counters (title, stats);
    zstr_free (&title);
    free (stats);
    config_destroy (&config);
    return 0;
}

const command_t command_actor = { "actor", NULL, s_usage, s_actor };
