/*  cmd_sweep.c: `squirrel sweep FILE`, the original program.

    Checks every site in FILE once, through the whole topology in this
    process (dispatcher, pingers, collector, notifier over inproc://), waits
    until each site has a verdict (UP, or DOWN after failure_threshold
    failures in a row) and every owner has been told, prints one line per
    site in the file's order, and exits 0 when all are up, 1 when any is
    down, 2 for usage or config errors.
*/
#include "commands.h"
#include "pinger.h"
#include "sq_actor.h"
#include "config.h"
#include "sq_json.h"
#include "sq_url.h"
#include "topology.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#define SWEEP_PINGERS_WAIT_MS   60000   //  --min-pingers: how long to wait for them

static const char s_usage [] =
    "usage: squirrel sweep [OPTIONS] FILE\n"
    "\n"
    "Check every site in FILE once and exit: 0 if all are up, 1 if any is down,\n"
    "2 for a usage or config error.  FILE is a plain list (one URL per line,\n"
    "'#' comments) or a YAML config (see deploy/squirrel.yaml); its workers:,\n"
    "listen:, keys: and heartbeat: keys apply, so a sweep can run on pinger\n"
    "nodes of other hosts.\n"
    "\n"
    "options:\n"
    "  --concurrency N        live checks per pinger (default 256)\n"
    "  --pingers N            pinger threads (default: one per core, at most 8)\n"
    "  --timeout DURATION     per check, e.g. 5s (default: the file's, else 20s)\n"
    "  --failure-threshold N  failures in a row before a site is down (default:\n"
    "                         the file's, else 2; 1 reports the first failure)\n"
    "  --notify URL           webhook told of every down site (JSON POST)\n"
    "  --ca-file PATH         also trust the CA certificates in PATH\n"
    "  --min-pingers N        wait until N pingers (local threads or nodes on other\n"
    "                         hosts, see `listen:` in the YAML) have joined before the\n"
    "                         first check; give up after 60 s\n"
    "  --json                 one JSON object per line instead of a table\n"
    "  --verbose              log what the actors do, on stderr\n"
    "  -h, --help             this text\n";

//  What we know of one site by the end.
typedef struct {
    bool have;                  //  a verdict arrived
    bool down;                  //  the verdict
    sq_result_t result;         //  the deciding check
} outcome_t;

static void
s_print_json (const config_site_t *site, const outcome_t *outcome)
{
    const sq_result_t *result = &outcome->result;
    char *line = NULL;
    size_t length = 0;
    char shown [SQ_URL_MAX + 1];
    sq_url_shown (site->url, shown, sizeof (shown));
    sq_json_appendf (&line, &length, "{\"url\":");
    sq_json_append_string (&line, &length, shown);
    if (!outcome->have) {
        sq_json_appendf (&line, &length, ",\"state\":\"down\",\"reason\":\"timeout\",\"status\":null,"
                         "\"method\":null,\"error\":\"no result within the sweep's deadline\"}");
        puts (line);
        free (line);
        return;
    }
    sq_json_appendf (&line, &length,
                     ",\"state\":\"%s\",\"reason\":\"%s\",\"status\":%u,\"method\":\"%s\","
                     "\"timings\":{\"queue_us\":%llu,\"dns_us\":%llu,\"connect_us\":%llu,"
                     "\"tls_us\":%llu,\"ttfb_us\":%llu,\"total_us\":%llu},\"error\":",
                     outcome->down ? "down" : "up", sq_reason_name ((sq_reason_t) result->reason),
                     result->http_status, sq_method_name ((sq_method_t) result->method),
                     (unsigned long long) result->queue_us, (unsigned long long) result->dns_us,
                     (unsigned long long) result->connect_us, (unsigned long long) result->tls_us,
                     (unsigned long long) result->ttfb_us, (unsigned long long) result->total_us);
    sq_json_append_string (&line, &length, result->error);
    if (result->cert_expiry) {
        char expiry [40];
        sq_time_iso ((int64_t) result->cert_expiry * 1000000, expiry, sizeof (expiry));
        sq_json_appendf (&line, &length, ",\"cert_expiry\":\"%s\"", expiry);
    }
    sq_json_appendf (&line, &length, ",\"attempt\":%u,\"pinger\":", result->attempt);
    sq_json_append_string (&line, &length, result->pinger_id);
    sq_json_appendf (&line, &length, "}");
    puts (line);
    free (line);
}

static void
s_print_text (const config_site_t *site, const outcome_t *outcome)
{
    const sq_result_t *result = &outcome->result;
    char shown [SQ_URL_MAX + 1];
    sq_url_shown (site->url, shown, sizeof (shown));
    if (!outcome->have) {
        printf ("DOWN  ---  ----  %7s  %s  timeout: no result within the sweep's deadline\n",
                "-", shown);
        return;
    }
    char status [8] = "---";
    if (result->http_status)
        snprintf (status, sizeof (status), "%u", result->http_status);
    printf ("%s  %3s  %-4s  %4llu ms  %s", outcome->down ? "DOWN" : "up  ", status,
            sq_method_name ((sq_method_t) result->method),
            (unsigned long long) (result->total_us / 1000), shown);
    if (outcome->down)
        printf ("  %s: %s", sq_reason_name ((sq_reason_t) result->reason), result->error);
    printf ("\n");
}

static int
s_sweep (config_t *config, topology_args_t *args, bool json, unsigned min_pingers, bool verbose)
{
    //  Said here, on stderr, even with the log off: fewer checks at once
    //  than asked for is worth knowing.
    char why [256];
    args->concurrency = pinger_fit_concurrency (topology_pinger_count (args), args->concurrency,
                                                why, sizeof (why));
    if (*why)
        fprintf (stderr, "squirrel sweep: %s\n", why);
    topology_t *topology = topology_new (args);
    if (!topology) {
        //  Without --verbose the log is off, so there is nothing above.
        fprintf (stderr, "squirrel sweep: could not start the topology (%s)\n",
                 verbose ? "see the log above" : "run again with --verbose to see why");
        return 1;
    }
    if (min_pingers) {
        int joined = topology_wait_pingers (topology, min_pingers, SWEEP_PINGERS_WAIT_MS,
                                           &cli_stop_requested);
        if (joined < (int) min_pingers) {
            fprintf (stderr, "squirrel sweep: %d of %u pingers joined in %d s; giving up\n",
                     joined < 0 ? 0 : joined, min_pingers, SWEEP_PINGERS_WAIT_MS / 1000);
            topology_destroy (&topology);
            return 1;
        }
    }
    size_t count = config->site_count;
    outcome_t *outcomes = (outcome_t *) calloc (count ? count : 1, sizeof (outcome_t));
    assert (outcomes);
    //  Site ids are the file's order, 1-based.
    uint32_t slowest_ms = 0, most_failures = 1;
    for (size_t index = 0; index < count; index++) {
        config->sites [index].id = index + 1;
        if (config->sites [index].timeout_ms > slowest_ms)
            slowest_ms = config->sites [index].timeout_ms;
        if (config->sites [index].failure_threshold > most_failures)
            most_failures = config->sites [index].failure_threshold;
    }
    char error [512];
    if (config_hand_sites (config, topology, error, sizeof (error))) {
        fprintf (stderr, "squirrel sweep: %s\n", error);
        topology_destroy (&topology);
        free (outcomes);
        return 1;
    }

    //  A site whose jobs are lost SQ_MAX_ATTEMPTS times has no verdict: the
    //  deadline covers every attempt of every check a verdict may need, and
    //  then some.
    int64_t deadline = zclock_mono ()
                     + (int64_t) (slowest_ms + SQ_DEADLINE_MARGIN_MS) * SQ_MAX_ATTEMPTS * most_failures
                     + 30000 + (int64_t) count / 5;
    bool progress = !json && isatty (STDERR_FILENO);
    size_t received = 0, down = 0;
    zactor_t *collector = topology_collector (topology);
    zpoller_t *poller = zpoller_new (collector, NULL);
    while (received < count && !cli_stop_requested && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, 200))
            continue;
        zmsg_t *report = zmsg_recv (collector);
        char *kind = report ? zmsg_popstr (report) : NULL;
        zframe_t *frame = report ? zmsg_pop (report) : NULL;
        char *state = report ? zmsg_popstr (report) : NULL;
        sq_msg_t verdict;
        if (kind && streq (kind, SQ_CMD_VERDICT) && frame && state
        &&  sq_msg_decode (zframe_data (frame), zframe_size (frame), &verdict, NULL, 0) == SQ_PROTO_OK
        &&  verdict.type == SQ_MSG_RESULT) {
            sq_result_t result = verdict.result;
            if (result.site_id >= 1 && result.site_id <= count
            &&  !outcomes [result.site_id - 1].have) {
                outcome_t *outcome = &outcomes [result.site_id - 1];
                outcome->have = true;
                outcome->down = streq (state, "down");
                outcome->result = result;
                received++;
                down += outcome->down;
                if (progress)
                    fprintf (stderr, "\r%zu/%zu checked, %zu down ", received, count, down);
            }
        }
        zstr_free (&kind);
        zstr_free (&state);
        zframe_destroy (&frame);
        zmsg_destroy (&report);
    }
    zpoller_destroy (&poller);
    if (progress)
        fprintf (stderr, "\r%*s\r", 40, "");
    if (received < count && !cli_stop_requested)
        fprintf (stderr, "squirrel sweep: %zu of %zu sites gave no result before the deadline\n",
                 count - received, count);
    //  Owners are told before we say we are done.
    if (!cli_stop_requested && topology_drain_notifications (topology, 120000))
        fprintf (stderr, "squirrel sweep: notifications still pending at exit\n");
    int rc = 0;
    for (size_t index = 0; index < count; index++) {
        const outcome_t *outcome = &outcomes [index];
        if (!outcome->have || outcome->down)
            rc = 1;
        if (json)
            s_print_json (&config->sites [index], outcome);
        else
            s_print_text (&config->sites [index], outcome);
    }
    fflush (stdout);
    free (outcomes);
    topology_destroy (&topology);
    return cli_stop_requested ? 1 : rc;
}

static int
s_run (int argc, char **argv)
{
    static const struct option options [] = {
        { "concurrency",       required_argument, NULL, 'c' },
        { "pingers",           required_argument, NULL, 'p' },
        { "timeout",           required_argument, NULL, 't' },
        { "failure-threshold", required_argument, NULL, 'f' },
        { "notify",            required_argument, NULL, 'n' },
        { "ca-file",           required_argument, NULL, 'a' },
        { "min-pingers",       required_argument, NULL, 'm' },
        { "json",              no_argument,       NULL, 'j' },
        { "verbose",           no_argument,       NULL, 'v' },
        { "help",              no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    topology_args_t args = { .transport = "inproc", .once = true };
    long long timeout_ms = 0;
    long failure_threshold = 0, value;
    unsigned min_pingers = 0;
    bool json = false, verbose = false;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 'c':
                if ((value = cli_parse_count ("sweep", "concurrency", optarg, 100000)) < 0)
                    return EXIT_USAGE;
                args.concurrency = (unsigned) value;
                break;
            case 'p':
                if ((value = cli_parse_count ("sweep", "pingers", optarg, 64)) < 0)
                    return EXIT_USAGE;
                args.pingers = (unsigned) value;
                break;
            case 't':
                if ((timeout_ms = cli_parse_duration ("sweep", "timeout", optarg)) < 0)
                    return EXIT_USAGE;
                break;
            case 'f':
                if ((failure_threshold = cli_parse_count ("sweep", "failure-threshold", optarg,
                                                          CONFIG_THRESHOLD_MAX)) < 0)
                    return EXIT_USAGE;
                break;
            case 'n': {
                char why [256];
                if (sq_url_check (optarg, why, sizeof (why))) {
                    fprintf (stderr, "squirrel sweep: --notify: %s\n", why);
                    return EXIT_USAGE;
                }
                args.notify_url = optarg;
                break;
            }
            case 'a':
                //  A typo here would turn every HTTPS site "down, tls".
                if (access (optarg, R_OK) != 0) {
                    fprintf (stderr, "squirrel sweep: --ca-file %s: %s\n", optarg, strerror (errno));
                    return EXIT_USAGE;
                }
                args.ca_file = optarg;
                break;
            case 'm':
                if ((value = cli_parse_count ("sweep", "min-pingers", optarg, 10000)) < 0)
                    return EXIT_USAGE;
                min_pingers = (unsigned) value;
                break;
            case 'j': json = true; break;
            case 'v': verbose = true; break;
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_sweep);
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel sweep: expected one FILE, got %d arguments\n", argc - optind);
        return cli_usage_error (&command_sweep);
    }
    char error [1024];
    config_t *config = config_load (argv [optind], error, sizeof (error));
    if (!config) {
        fprintf (stderr, "squirrel sweep: %s\n", error);
        return EXIT_USAGE;
    }
    for (size_t index = 0; index < config->site_count; index++) {
        if (timeout_ms)
            config->sites [index].timeout_ms = (uint32_t) timeout_ms;
        if (failure_threshold)
            config->sites [index].failure_threshold = (uint32_t) failure_threshold;
        //  A sweep checks from here, once: the regions and quorum of a
        //  `run` config name pinger nodes that are not part of it.
        free (config->sites [index].regions);
        config->sites [index].regions = NULL;
        config->sites [index].quorum = 0;
    }
    config_canaries_free (config);      //  nor does it judge pingers
    if (!verbose)
        zsys_set_logstream (NULL);
    //  The topology keys of a YAML file: where pingers come from.
    cli_topology_workers (&args, config);
    if (args.remote_only && !min_pingers)
        min_pingers = 1;            //  no check can run before a node joins
    cli_catch_signals (false);
    int rc = s_sweep (config, &args, json, min_pingers, verbose);
    config_destroy (&config);
    return rc;
}

const command_t command_sweep = {
    "sweep", "check every site in a list once, print the verdicts, exit", s_usage, s_run
};
