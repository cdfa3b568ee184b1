/*  cmd_pinger.c: `squirrel pinger --connect tcp://HUB:7700 ...`, a pinger
    node on another host.

    The same pinger actor `squirrel run` starts as threads, here connected
    to a hub over tcp:// with CURVE: jobs on the hub's PORT, results on
    PORT + 1 (topology_remote_endpoints).  It joins without restarting
    anything (its READY and HEARTBEAT make the dispatcher add it), takes
    jobs by credit, and when the hub goes away ZeroMQ reconnects by itself,
    backing off; the hub takes it back under its name.  Its name is stable
    (the host name by default), so a restarted node is the same pinger.
*/
#include "commands.h"
#include "pinger.h"
#include "service.h"
#include "sq_keys.h"
#include "topology.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

static const char s_usage [] =
    "usage: squirrel pinger --connect tcp://HUB:PORT --key PATH --server-key FILE [OPTIONS]\n"
    "\n"
    "Run a pinger node: take check jobs from the hub at HUB:PORT (its `listen:`)\n"
    "and send the results back (to PORT + 1), until SIGINT or SIGTERM.  Every link\n"
    "is encrypted and authenticated with CURVE: PATH is this node's key pair (from\n"
    "`squirrel keygen PATH`; copy PATH, the public half, into the hub's\n"
    "keys/allowed/), FILE the hub's public key (its keys/hub).\n"
    "\n"
    "options:\n"
    "  --connect ENDPOINT  the hub, tcp://HOST:PORT (required)\n"
    "  --key PATH          this node's key pair: PATH and PATH_secret (required)\n"
    "  --server-key FILE   the hub's public key file (required)\n"
    "  --region NAME       where this node checks from (default: none)\n"
    "  --id NAME           this node's name (default: the host name)\n"
    "  --pingers N         pinger threads (default 1); names get -1, -2 ...\n"
    "  --concurrency N     live checks per pinger (default 256)\n"
    "  --heartbeat D       heartbeat interval (default 1s; the hub's `heartbeat:`)\n"
    "  --ca-file PATH      also trust the CA certificates in PATH\n"
    "  -h, --help          this text\n";

//  A name the dispatcher accepts: printable, no spaces, not too long.
static bool
s_name_valid (const char *name, size_t max)
{
    size_t length = strlen (name);
    for (size_t at = 0; at < length; at++)
        if (name [at] <= 0x20 || name [at] >= 0x7f)
            return false;
    return length > 0 && length <= max;
}

static int
s_pinger (int argc, char **argv)
{
    static const struct option options [] = {
        { "connect",     required_argument, NULL, 'C' },
        { "key",         required_argument, NULL, 'k' },
        { "server-key",  required_argument, NULL, 's' },
        { "region",      required_argument, NULL, 'r' },
        { "id",          required_argument, NULL, 'i' },
        { "pingers",     required_argument, NULL, 'p' },
        { "concurrency", required_argument, NULL, 'c' },
        { "heartbeat",   required_argument, NULL, 'b' },
        { "ca-file",     required_argument, NULL, 'a' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *connect = NULL, *key = NULL, *server_key = NULL, *region = "", *ca_file = NULL;
    char id [SQ_NAME_MAX - 3] = "";
    long pingers = 1, concurrency = 0;
    long long heartbeat_ms = 0;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 'C': connect = optarg; break;
            case 'k': key = optarg; break;
            case 's': server_key = optarg; break;
            case 'r':
                //  As the config's `regions` names them (a site lists
                //  "eu,us"), so that any region can be named there.
                if (!s_name_valid (optarg, SQ_NAME_MAX)
                ||  strspn (optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789-_") != strlen (optarg)) {
                    fprintf (stderr, "squirrel pinger: --region takes a name of 1 to %d letters, "
                             "digits, '-' or '_', not '%s'\n", SQ_NAME_MAX, optarg);
                    return EXIT_USAGE;
                }
                region = optarg;
                break;
            case 'i':
                if (!s_name_valid (optarg, SQ_NAME_MAX - 4)) {
                    fprintf (stderr, "squirrel pinger: --id takes a name of 1 to %d printable "
                             "characters without spaces, not '%s'\n", SQ_NAME_MAX - 4, optarg);
                    return EXIT_USAGE;
                }
                snprintf (id, sizeof (id), "%s", optarg);
                break;
            case 'p':
                if ((pingers = cli_parse_count ("pinger", "pingers", optarg, 64)) < 0)
                    return EXIT_USAGE;
                break;
            case 'c':
                if ((concurrency = cli_parse_count ("pinger", "concurrency", optarg, 100000)) < 0)
                    return EXIT_USAGE;
                break;
            case 'b':
                if ((heartbeat_ms = cli_parse_duration ("pinger", "heartbeat", optarg)) < 0)
                    return EXIT_USAGE;
                if (heartbeat_ms < SQ_HEARTBEAT_MIN_MS || heartbeat_ms > SQ_HEARTBEAT_MAX_MS) {
                    fprintf (stderr, "squirrel pinger: --heartbeat takes a duration from 100ms "
                             "to 1m, not '%s'\n", optarg);
                    return EXIT_USAGE;
                }
                break;
            case 'a':
                if (access (optarg, R_OK) != 0) {
                    fprintf (stderr, "squirrel pinger: --ca-file %s: %s\n", optarg, strerror (errno));
                    return EXIT_USAGE;
                }
                ca_file = optarg;
                break;
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_pinger);
        }
    }
    if (optind != argc) {
        fprintf (stderr, "squirrel pinger: unexpected argument '%s'\n", argv [optind]);
        return cli_usage_error (&command_pinger);
    }
    if (!connect || !key || !server_key) {
        fprintf (stderr, "squirrel pinger: --connect, --key and --server-key are required\n");
        return cli_usage_error (&command_pinger);
    }
    char jobs [TOPOLOGY_ENDPOINT_MAX], results [TOPOLOGY_ENDPOINT_MAX], error [512];
    if (topology_remote_endpoints (connect, jobs, results, error, sizeof (error))) {
        fprintf (stderr, "squirrel pinger: --connect %s\n", error);
        return EXIT_USAGE;
    }
    zcert_t *mine = sq_keys_load_pair (key, error, sizeof (error));
    if (!mine) {
        fprintf (stderr, "squirrel pinger: --key: %s\n", error);
        return EXIT_USAGE;
    }
    zcert_t *hub = sq_keys_load_public (server_key, error, sizeof (error));
    if (!hub) {
        fprintf (stderr, "squirrel pinger: --server-key: %s\n", error);
        zcert_destroy (&mine);
        return EXIT_USAGE;
    }
    if (!*id) {
        char host [SQ_NAME_MAX - 3] = "";
        gethostname (host, sizeof (host) - 1);
        snprintf (id, sizeof (id), "%s", s_name_valid (host, SQ_NAME_MAX - 4) ? host : "pinger");
    }
    cli_catch_signals (false);
    char fingerprint [SQ_KEYS_FINGERPRINT_LENGTH + 1] = "";
    sq_keys_fingerprint (zcert_public_txt (mine), fingerprint, sizeof (fingerprint));
    char why [256];
    concurrency = pinger_fit_concurrency ((unsigned) pingers, (unsigned) concurrency, why,
                                          sizeof (why));
    if (*why)
        zsys_warning ("squirrel pinger: %s", why);
    zactor_t **actors = (zactor_t **) calloc ((size_t) pingers, sizeof (zactor_t *));
    assert (actors);
    bool ok = true;
    for (long index = 0; ok && index < pingers; index++) {
        //  id is at most SQ_NAME_MAX - 4 bytes and index below 64.
        char name [SQ_NAME_MAX + 24];
        if (pingers == 1)
            snprintf (name, sizeof (name), "%s", id);
        else
            snprintf (name, sizeof (name), "%s-%d", id, (int) index + 1);
        pinger_args_t args = {
            .jobs = jobs, .results = results, .pinger_id = name, .region = region,
            .concurrency = (unsigned) concurrency, .ca_file = ca_file,
            .heartbeat_ms = (unsigned) heartbeat_ms,
            .curve = { zcert_public_txt (mine), zcert_secret_txt (mine), zcert_public_txt (hub) },
        };
        ok = (actors [index] = sq_actor_start (pinger_actor, &args, "pinger")) != NULL;
    }
    if (ok)
        zsys_info ("squirrel pinger: %ld pinger(s) named %s%s, region '%s', key %s, "
                   "connecting to %s and %s", pingers, id, pingers > 1 ? "-N" : "", region,
                   fingerprint, jobs, results);
    if (ok) {
        //  Ready once started, not once the hub answers: a node waits for
        //  its hub as long as it takes, reconnecting by itself.
        char status [128];
        snprintf (status, sizeof (status), "%ld pinger(s), region '%s', hub %s", pingers, region,
                  connect);
        service_ready (status);
    }
    while (ok && !cli_stop_requested)
        zclock_sleep (100);
    zsys_info ("squirrel pinger: stopping");
    service_stopping ();
    for (long index = 0; index < pingers; index++)
        zactor_destroy (&actors [index]);
    free (actors);
    zcert_destroy (&hub);
    zcert_destroy (&mine);
    return ok ? 0 : 1;
}

const command_t command_pinger = {
    "pinger", "run a pinger node that takes jobs from a hub on another host", s_usage, s_pinger
};
