/*  cmd_watch.c: `squirrel watch ENDPOINT`, print the alert feed.

    Subscribes to a running `squirrel run`'s feed and prints each ALERT as
    it comes, until SIGINT.  Topics are "STATE URL", so --site PREFIX
    subscribes to "down PREFIX" and "up PREFIX".  Every frame is decoded as
    hostile input; a gap in sequence numbers is reported on stderr.
*/
#include "commands.h"
#include "sq_json.h"
#include "sq_wire.h"

#include <getopt.h>
#include <string.h>

static const char s_usage [] =
    "usage: squirrel watch [OPTIONS] ENDPOINT\n"
    "\n"
    "Print the alerts of a running `squirrel run` as they come.  ENDPOINT is\n"
    "its feed, e.g. ipc:///tmp/squirrel.feed.\n"
    "\n"
    "options:\n"
    "  --site PREFIX   only sites whose URL starts with PREFIX\n"
    "  --json          one JSON object per alert (seq, url, state, previous,\n"
    "                  reason, detail, at, site_id)\n"
    "  -h, --help      this text\n";

static void
s_print (const sq_alert_t *alert, bool json)
{
    char at [40];
    sq_time_iso (alert->since, at, sizeof (at));
    if (!json) {
        printf ("%s  #%llu  %-4s  %s  (was %s)  %s  %s\n", at, (unsigned long long) alert->seq,
                alert->state == SQ_STATE_DOWN ? "DOWN" : sq_state_name ((sq_state_t) alert->state),
                alert->url, sq_state_name ((sq_state_t) alert->previous),
                sq_reason_name ((sq_reason_t) alert->reason), alert->detail);
        fflush (stdout);
        return;
    }
    char *line = NULL;
    size_t length = 0;
    sq_json_appendf (&line, &length, "{\"seq\":%llu,\"url\":", (unsigned long long) alert->seq);
    sq_json_append_string (&line, &length, alert->url);
    sq_json_appendf (&line, &length, ",\"state\":\"%s\",\"previous\":\"%s\",\"reason\":\"%s\",\"detail\":",
                     sq_state_name ((sq_state_t) alert->state),
                     sq_state_name ((sq_state_t) alert->previous),
                     sq_reason_name ((sq_reason_t) alert->reason));
    sq_json_append_string (&line, &length, alert->detail);
    sq_json_appendf (&line, &length, ",\"at\":\"%s\",\"site_id\":%llu}", at,
                     (unsigned long long) alert->site_id);
    puts (line);
    fflush (stdout);
    free (line);
}

static int
s_run (int argc, char **argv)
{
    static const struct option options [] = {
        { "site", required_argument, NULL, 's' },
        { "json", no_argument,       NULL, 'j' },
        { "help", no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *prefix = NULL;
    bool json = false;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 's': prefix = optarg; break;
            case 'j': json = true; break;
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_watch);
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel watch: expected one ENDPOINT, got %d arguments\n", argc - optind);
        return cli_usage_error (&command_watch);
    }
    const char *endpoint = argv [optind];
    if (strncmp (endpoint, "tcp://", 6) == 0) {
        fprintf (stderr, "squirrel watch: %s: tcp needs CURVE, which arrives with multi-host "
                 "support; use the ipc:// feed on the same host\n", endpoint);
        return EXIT_USAGE;
    }
    zsock_t *feed = zsock_new (ZMQ_SUB);
    assert (feed);
    if (zsock_connect (feed, "%s", endpoint) < 0) {
        fprintf (stderr, "squirrel watch: cannot connect to '%s': %s\n", endpoint,
                 zmq_strerror (zmq_errno ()));
        zsock_destroy (&feed);
        return EXIT_USAGE;
    }
    if (prefix) {
        const char *states [] = { "down ", "up " };
        for (size_t index = 0; index < 2; index++) {
            char *topic = zsys_sprintf ("%s%s", states [index], prefix);
            zsock_set_subscribe (feed, topic);
            zstr_free (&topic);
        }
    }
    else
        zsock_set_subscribe (feed, "");
    cli_catch_signals (false);
    zpoller_t *poller = zpoller_new (feed, NULL);
    uint64_t last_seq = 0;
    while (!cli_stop_requested) {
        if (!zpoller_wait (poller, 200))
            continue;
        char topic [SQ_URL_MAX + 32];
        size_t topic_size = sizeof (topic) - 1;
        sq_msg_t msg;
        char why [128] = "";
        int rc = sq_wire_recv (feed, topic, &topic_size, &msg, why, sizeof (why));
        if (rc == SQ_WIRE_INTERRUPTED)
            continue;
        if (rc != SQ_PROTO_OK || msg.type != SQ_MSG_ALERT) {
            fprintf (stderr, "squirrel watch: ignored a malformed frame: %s\n",
                     rc == SQ_PROTO_OK ? "not an ALERT" : why);
            continue;
        }
        //  With a site filter, gaps are other sites' alerts: say nothing.
        if (!prefix && last_seq && msg.alert.seq > last_seq + 1)
            fprintf (stderr, "squirrel watch: missed %llu alerts before #%llu\n",
                     (unsigned long long) (msg.alert.seq - last_seq - 1),
                     (unsigned long long) msg.alert.seq);
        last_seq = msg.alert.seq;
        s_print (&msg.alert, json);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&feed);
    return 0;
}

const command_t command_watch = {
    "watch", "print the alert feed of a running `squirrel run`", s_usage, s_run
};
