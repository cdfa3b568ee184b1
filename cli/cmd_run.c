/*  cmd_run.c: `squirrel run CONFIG`, monitor until stopped.

    Loads the config, gives every site a stable id from the store, starts
    the topology with the store writer, and waits.  SIGHUP rereads the
    config: unchanged sites keep their state and schedule, a broken config
    is reported and the old one kept.  SIGINT or SIGTERM stop in order
    (pingers, then the collector drains, then the store commits), so no
    result already received is lost.
*/
#include "commands.h"
#include "config.h"
#include "store.h"
#include "topology.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

static const char s_usage [] =
    "usage: squirrel run [OPTIONS] CONFIG\n"
    "\n"
    "Monitor the sites of CONFIG until SIGINT or SIGTERM; SIGHUP rereads CONFIG.\n"
    "Alerts are published on the config's feed (see `squirrel watch`); history\n"
    "goes to the store in data_dir (see `squirrel status`).\n"
    "\n"
    "options:\n"
    "  --transport T     inproc (default: every actor a thread) or ipc\n"
    "  --pingers N       pinger threads (default: one per core, at most 8)\n"
    "  --concurrency N   live checks per pinger (default 256)\n"
    "  --ca-file PATH    also trust the CA certificates in PATH\n"
    "  -h, --help        this text\n";

int
cli_assign_ids (config_t *config)
{
    char error [512];
    store_t *store = store_open (config->data_dir, error, sizeof (error));
    if (!store) {
        zsys_error ("squirrel run: %s", error);
        return -1;
    }
    size_t count = config->site_count;
    const char **urls = (const char **) calloc (count + 1, sizeof (char *));
    const char **owners = (const char **) calloc (count + 1, sizeof (char *));
    uint64_t *ids = (uint64_t *) calloc (count + 1, sizeof (uint64_t));
    assert (urls && owners && ids);
    for (size_t index = 0; index < count; index++) {
        urls [index] = config->sites [index].url;
        owners [index] = config->sites [index].owner;
    }
    int rc = store_sync_sites (store, urls, owners, count, ids, error, sizeof (error));
    if (rc)
        zsys_error ("squirrel run: %s", error);
    else
        for (size_t index = 0; index < count; index++)
            config->sites [index].id = ids [index];
    free (urls);
    free (owners);
    free (ids);
    store_close (&store);
    return rc;
}

int
cli_hand_sites (topology_t *topology, const config_t *config)
{
    char error [512];
    int rc = config_hand_sites (config, topology, error, sizeof (error));
    if (rc)
        zsys_error ("squirrel run: %s", error);
    return rc;
}

void
cli_topology_args (topology_args_t *args, const config_t *config)
{
    args->data_dir = config->data_dir;
    args->runtime_dir = config->data_dir;
    args->feed = config->feed;
    cli_topology_workers (args, config);
}

void
cli_topology_workers (topology_args_t *args, const config_t *config)
{
    args->listen = config->listen;
    args->keys_dir = config->keys;
    args->heartbeat_ms = config->heartbeat_ms;
    args->notify = &config->notify;
    //  workers.pingers, unless --pingers said otherwise.
    if (!args->pingers && config->pingers == 0)
        args->remote_only = true;
    else
    if (!args->pingers && config->pingers > 0)
        args->pingers = (unsigned) config->pingers;
}

//  Two texts that may be NULL are the same.
static bool
s_same_text (const char *one, const char *two)
{
    return one == two || (one && two && streq (one, two));
}

config_t *
cli_reload (config_t *current, topology_t *topology)
{
    char error [1024];
    config_t *fresh = config_load (current->path, error, sizeof (error));
    if (!fresh) {
        zsys_error ("squirrel run: reload refused, keeping the running config: %s", error);
        return current;
    }
    //  What the running topology was built from stays as it is.
    if (!s_same_text (fresh->data_dir, current->data_dir)
    ||  !s_same_text (fresh->feed, current->feed)
    ||  !s_same_text (fresh->listen, current->listen)
    ||  !s_same_text (fresh->keys, current->keys) || fresh->heartbeat_ms != current->heartbeat_ms
    ||  fresh->pingers != current->pingers || fresh->processes != current->processes)
        zsys_warning ("squirrel run: changes to data_dir, feed, listen, keys, heartbeat and "
                      "workers take effect at the next start; the sites are reloaded now");
    //  The notifier read its settings at start; owners and sites reload.
    const notifier_settings_t *was = &current->notify, *now = &fresh->notify;
    if (!s_same_text (was->smtp_url, now->smtp_url) || !s_same_text (was->smtp_from, now->smtp_from)
    ||  !s_same_text (was->smtp_user, now->smtp_user)
    ||  !s_same_text (was->smtp_password_file, now->smtp_password_file)
    ||  !s_same_text (was->smtp_ca_file, now->smtp_ca_file)
    ||  was->digest_after != now->digest_after || was->digest_window_ms != now->digest_window_ms
    ||  was->give_up_ms != now->give_up_ms || was->retry_max_ms != now->retry_max_ms)
        zsys_warning ("squirrel run: changes to smtp, digest_after, digest_window, give_up_after "
                      "and retry_max take effect at the next start; owners are reloaded now");
    //  The running store and feed stay where they are.
    free (fresh->data_dir);
    fresh->data_dir = strdup (current->data_dir);
    if (cli_assign_ids (fresh) || cli_hand_sites (topology, fresh)) {
        zsys_error ("squirrel run: reload failed, keeping the running config");
        config_destroy (&fresh);
        return current;
    }
    zsys_info ("squirrel run: reloaded %s: %zu sites", fresh->path, fresh->site_count);
    config_destroy (&current);
    return fresh;
}

static int
s_run (int argc, char **argv)
{
    static const struct option options [] = {
        { "transport",   required_argument, NULL, 't' },
        { "pingers",     required_argument, NULL, 'p' },
        { "concurrency", required_argument, NULL, 'c' },
        { "ca-file",     required_argument, NULL, 'a' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    topology_args_t args = { .transport = "inproc" };
    int option;
    long value;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 't':
                if (!streq (optarg, "inproc") && !streq (optarg, "ipc")) {
                    fprintf (stderr, "squirrel run: --transport takes inproc or ipc, not '%s'\n",
                             optarg);
                    return EXIT_USAGE;
                }
                args.transport = optarg;
                break;
            case 'p':
                if ((value = cli_parse_count ("run", "pingers", optarg, 64)) < 0)
                    return EXIT_USAGE;
                args.pingers = (unsigned) value;
                break;
            case 'c':
                if ((value = cli_parse_count ("run", "concurrency", optarg, 100000)) < 0)
                    return EXIT_USAGE;
                args.concurrency = (unsigned) value;
                break;
            case 'a':
                //  A typo here would turn every HTTPS site "down, tls".
                if (access (optarg, R_OK) != 0) {
                    fprintf (stderr, "squirrel run: --ca-file %s: %s\n", optarg, strerror (errno));
                    return EXIT_USAGE;
                }
                args.ca_file = optarg;
                break;
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_run);
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel run: expected one CONFIG file, got %d arguments\n",
                 argc - optind);
        return cli_usage_error (&command_run);
    }
    char error [1024];
    config_t *config = config_load (argv [optind], error, sizeof (error));
    if (!config) {
        fprintf (stderr, "squirrel run: %s\n", error);
        return EXIT_USAGE;
    }
    cli_catch_signals (true);
    if (cli_assign_ids (config)) {
        config_destroy (&config);
        return 1;
    }
    cli_topology_args (&args, config);
    if (config->processes) {
        //  Every actor a child process; this one only supervises.
        int rc = cli_supervise (config, &args);
        config_destroy (&config);
        return rc;
    }
    topology_t *topology = topology_new (&args);
    if (!topology || cli_hand_sites (topology, config)) {
        fprintf (stderr, "squirrel run: could not start (see the log above)\n");
        topology_destroy (&topology);
        config_destroy (&config);
        return 1;
    }
    zsys_info ("squirrel run: monitoring %zu sites from %s; alerts on %s; store in %s",
               config->site_count, config->path, topology_endpoints_of (topology)->feed,
               config->data_dir);
    if (config->listen)
        zsys_info ("squirrel run: pinger nodes connect to %s (CURVE; keys in %s, allowed "
                   "public keys in %s/allowed)", config->listen, config->keys, config->keys);
    while (!cli_stop_requested) {
        zclock_sleep (100);
        if (cli_reload_requested) {
            cli_reload_requested = 0;
            config = cli_reload (config, topology);
        }
    }
    zsys_info ("squirrel run: stopping");
    char *stats = topology_stats (topology);
    topology_destroy (&topology);
    zsys_info ("squirrel run: stopped; counters at stop:\n%s", stats);
    free (stats);
    config_destroy (&config);
    return 0;
}

const command_t command_run = {
    "run", "monitor the sites of a config until stopped", s_usage, s_run
};
