/*  cmd_watch.c: `squirrel watch ENDPOINT`, print the alert feed.

    Subscribes to a running `squirrel run`'s feed and prints each ALERT as
    it comes, until SIGINT.  Topics are "STATE URL", so --site PREFIX
    subscribes to "down PREFIX" and "up PREFIX".  Every frame is decoded as
    hostile input; a gap in sequence numbers is reported on stderr.

    ENDPOINT is the local feed (ipc://), or the hub's one address
    tcp://HUB:PORT (its `listen:`), where the forwarder serves the feed on
    PORT + 2 and the snapshot service on PORT + 3, both CURVE only
    (topology_remote_feed_endpoints).

    --since SEQ: the late joiner's catch-up, as in the ZeroMQ guide's Clone
    pattern.  Subscribe first; then ask the snapshot service (the feed's
    endpoint + ".snapshot", or PORT + 3) for the stored alerts after SEQ
    and print them; then print live alerts, only those above the last one
    printed (no duplicate).  A live alert beyond the next seq means some
    were lost on the way: the missing range is asked for, printed, and
    only then the live one (no gap).
*/
#include "commands.h"
#include "sq_json.h"
#include "sq_keys.h"
#include "sq_wire.h"
#include "topology.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#define S_ANSWER_MS     5000    //  wait this long for an answer of the snapshot service
#define S_GAP_WAIT_MS   3000    //  a gap the store does not fill by then is reported missed
#define S_GAP_RETRY_MS  100     //  ... asking again this often (its writer may lag)
#define S_IDLE_FETCH_MS 2000    //  --since: no live alert for this long, ask what is new

static const char s_usage [] =
    "usage: squirrel watch [OPTIONS] ENDPOINT\n"
    "\n"
    "Print the alerts of a running `squirrel run` as they come.  ENDPOINT is\n"
    "its feed (by default ipc://DATA_DIR/feed, e.g. ipc://squirrel-data/feed,\n"
    "which only the user who runs `squirrel run` may reach), or, from another\n"
    "host, the hub's `listen:` address tcp://HUB:PORT (the feed is served on\n"
    "PORT + 2, the snapshot of stored alerts on PORT + 3), with CURVE keys.\n"
    "\n"
    "options:\n"
    "  --site PREFIX      only sites whose URL starts with PREFIX\n"
    "  --json             one JSON object per alert (seq, url, state, previous,\n"
    "                     reason, detail, regions, at, site_id)\n"
    "  --since SEQ        first the stored alerts after SEQ (0: all), then the live\n"
    "                     ones, each once and in order; gaps are fetched\n"
    "  --key PATH         tcp: this watcher's key pair, PATH and PATH_secret (from\n"
    "                     `squirrel keygen`; PATH goes into the hub's keys/allowed/)\n"
    "  --server-key FILE  tcp: the hub's public key (its keys/hub)\n"
    "  -h, --help         this text\n";

typedef struct {
    const char *prefix;         //  --site, or NULL
    bool json;                  //  --json
    zsock_t *feed;              //  SUB on the feed
    const char *snapshot_endpoint;  //  where FETCH goes (--since only)
    const sq_curve_t *curve;    //  CURVE keys for tcp, or NULL
    zsock_t *snapshot;          //  DEALER to the snapshot service, or NULL
    bool positioned;            //  last is a real position (--since given or an alert seen)
    uint64_t last;              //  seq of the last alert printed or skipped by --site
    uint64_t malformed;         //  frames refused
} watch_t;

static void
s_print (const sq_alert_t *alert, bool json)
{
    char at [40];
    sq_time_iso (alert->since, at, sizeof (at));
    if (!json) {
        printf ("%s  #%llu  %-4s  %s  (was %s)  %s  %s%s%s\n", at, (unsigned long long) alert->seq,
                alert->state == SQ_STATE_DOWN ? "DOWN" : sq_state_name ((sq_state_t) alert->state),
                alert->url, sq_state_name ((sq_state_t) alert->previous),
                sq_reason_name ((sq_reason_t) alert->reason), alert->detail,
                alert->regions [0] ? "  down in " : "", alert->regions);
        fflush (stdout);
        return;
    }
    char *line = sq_alert_json (alert);
    assert (line);
    puts (line);
    fflush (stdout);
    free (line);
}

//  Print an alert.  With --since, not one at or below the last one (a
//  duplicate); without, every alert as it comes, as the feed has it.
//  Alerts of other sites (--site) move the position without a line.
static void
s_accept (watch_t *self, const sq_alert_t *alert)
{
    if (self->snapshot_endpoint && alert->seq <= self->last)
        return;
    if (!self->prefix && self->positioned && alert->seq > self->last + 1)
        fprintf (stderr, "squirrel watch: missed %llu alerts before #%llu\n",
                 (unsigned long long) (alert->seq - self->last - 1),
                 (unsigned long long) alert->seq);
    self->positioned = true;
    self->last = alert->seq;
    if (!self->prefix || strncmp (alert->url, self->prefix, strlen (self->prefix)) == 0)
        s_print (alert, self->json);
}

static int
s_connect (zsock_t *socket, const char *endpoint, const sq_curve_t *curve)
{
    if (sq_actor_connect (socket, endpoint, curve) == 0)
        return 0;
    fprintf (stderr, "squirrel watch: cannot connect to '%s': %s\n", endpoint,
             zmq_strerror (zmq_errno ()));
    return -1;
}

//  An ipc:// socket we may not connect to would only be retried for ever
//  by ZeroMQ, so look first: a socket (or its folder, data_dir being
//  private) we are not allowed is an error.  One that is not there yet is
//  fine: `run` may start later, and ZeroMQ connects when it binds.
static int
s_may_connect (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) || endpoint [6] == '@')
        return 0;
    if (access (endpoint + 6, W_OK) == 0 || errno == ENOENT)
        return 0;
    if (errno == EACCES || errno == EPERM)
        fprintf (stderr, "squirrel watch: permission denied: %s: only the user who runs "
                 "`squirrel run` may connect to its feed\n", endpoint + 6);
    else
        fprintf (stderr, "squirrel watch: cannot connect to '%s': %s\n", endpoint,
                 strerror (errno));
    return -1;
}

//  Ask for the stored alerts after the last one up to until (0: all), and
//  print them: one answer of at most SQ_FETCH_REPLY_MAX, again while the
//  service says there are more.  1 when the range is done, 0 when the
//  service did not answer in time (the DEALER is then made anew, so a late
//  answer cannot be taken for the next one), -1 when stopped.
static int
s_fetch (watch_t *self, uint64_t until)
{
    while (!cli_stop_requested) {
        if (!self->snapshot) {
            self->snapshot = zsock_new (ZMQ_DEALER);
            assert (self->snapshot);
            if (s_connect (self->snapshot, self->snapshot_endpoint, self->curve))
                return -1;
        }
        uint64_t since = self->last;
        sq_msg_t ask = { .type = SQ_MSG_FETCH };
        ask.fetch.since = since;
        ask.fetch.until = until;
        if (sq_wire_send (self->snapshot, NULL, 0, &ask))
            return -1;
        int64_t deadline = zclock_mono () + S_ANSWER_MS;
        bool answered = false, more = false;
        while (!answered && !cli_stop_requested) {
            int64_t left = deadline - zclock_mono ();
            if (left <= 0)
                break;
            zmq_pollitem_t item = { zsock_resolve (self->snapshot), 0, ZMQ_POLLIN, 0 };
            if (zmq_poll (&item, 1, left < 200 ? left : 200) <= 0)
                continue;
            sq_msg_t msg;
            if (sq_wire_recv_expect (self->snapshot, NULL, NULL, &msg,
                                     SQ_WIRE_TYPE (SQ_MSG_ALERT) | SQ_WIRE_TYPE (SQ_MSG_FETCHED),
                                     "squirrel watch: dropped a frame from the snapshot service",
                                     &self->malformed) != SQ_PROTO_OK)
                continue;
            if (msg.type == SQ_MSG_FETCHED) {
                answered = true;
                more = msg.fetched.more;
            }
            else
            //  Only what was asked for, in order: anything else is refused.
            if (msg.alert.seq <= self->last || (until && msg.alert.seq > until)) {
                self->malformed++;
                fprintf (stderr, "squirrel watch: dropped alert #%llu from the snapshot "
                         "service: not in the range asked for\n",
                         (unsigned long long) msg.alert.seq);
            }
            else
                s_accept (self, &msg.alert);
        }
        if (cli_stop_requested)
            return -1;
        if (!answered) {
            fprintf (stderr, "squirrel watch: no answer from %s within %d ms; asking again\n",
                     self->snapshot_endpoint, S_ANSWER_MS);
            zsock_destroy (&self->snapshot);
            return 0;
        }
        //  "more", but nothing new: do not ask the same again at once.
        if (!more || self->last == since)
            return 1;
    }
    return -1;
}

//  The stored alerts after --since, asked for until the service answers.
static void
s_catch_up (watch_t *self)
{
    while (s_fetch (self, 0) == 0)
        ;
    if (!cli_stop_requested)
        fprintf (stderr, "squirrel watch: caught up to #%llu; following live alerts\n",
                 (unsigned long long) self->last);
}

//  A live alert beyond the next seq: fetch the ones before it, waiting a
//  little for the store (it commits an alert at once, but after the feed
//  has it); what is still missing then is reported by s_accept.
static void
s_fill_gap (watch_t *self, uint64_t seq)
{
    int64_t deadline = zclock_mono () + S_GAP_WAIT_MS;
    while (self->last + 1 < seq && zclock_mono () < deadline && !cli_stop_requested) {
        uint64_t before = self->last;
        if (s_fetch (self, seq - 1) < 0)
            return;
        if (self->last == before)
            zclock_sleep (S_GAP_RETRY_MS);
    }
}

static void
s_follow (watch_t *self)
{
    zpoller_t *poller = zpoller_new (self->feed, NULL);
    int64_t idle_fetch_at = zclock_mono () + S_IDLE_FETCH_MS;
    while (!cli_stop_requested) {
        //  With --since, quiet for a while: ask what is new.  An alert lost
        //  on the live path with none after it (the subscription still on
        //  its way, a watcher over its high-water mark) shows up this way.
        if (self->snapshot_endpoint && zclock_mono () >= idle_fetch_at) {
            s_fetch (self, 0);
            idle_fetch_at = zclock_mono () + S_IDLE_FETCH_MS;
        }
        if (!zpoller_wait (poller, 200))
            continue;
        idle_fetch_at = zclock_mono () + S_IDLE_FETCH_MS;
        char topic [SQ_URL_MAX + 32];
        size_t topic_size = sizeof (topic) - 1;
        sq_msg_t msg;
        int rc = sq_wire_recv_expect (self->feed, topic, &topic_size, &msg,
                                      SQ_WIRE_TYPE (SQ_MSG_ALERT),
                                      "squirrel watch: dropped a frame from the feed",
                                      &self->malformed);
        if (rc != SQ_PROTO_OK)
            continue;
        if (self->snapshot_endpoint && self->positioned && msg.alert.seq > self->last + 1)
            s_fill_gap (self, msg.alert.seq);
        s_accept (self, &msg.alert);
    }
    zpoller_destroy (&poller);
}

static int
s_run (int argc, char **argv)
{
    static const struct option options [] = {
        { "site",       required_argument, NULL, 's' },
        { "json",       no_argument,       NULL, 'j' },
        { "since",      required_argument, NULL, 'S' },
        { "key",        required_argument, NULL, 'k' },
        { "server-key", required_argument, NULL, 'K' },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    watch_t self = { NULL };
    const char *key = NULL, *server_key = NULL;
    bool replay = false;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 's': self.prefix = optarg; break;
            case 'j': self.json = true; break;
            case 'S': {
                char *end = NULL;
                errno = 0;
                unsigned long long since = strtoull (optarg, &end, 10);
                if (!*optarg || *end || errno || optarg [0] == '-') {
                    fprintf (stderr, "squirrel watch: --since takes a sequence number "
                             "(0 or more), not '%s'\n", optarg);
                    return EXIT_USAGE;
                }
                self.last = since;
                replay = true;
                break;
            }
            case 'k': key = optarg; break;
            case 'K': server_key = optarg; break;
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_watch);
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel watch: expected one ENDPOINT, got %d arguments\n", argc - optind);
        return cli_usage_error (&command_watch);
    }
    const char *endpoint = argv [optind];
    bool tcp = strncmp (endpoint, "tcp://", 6) == 0;
    char feed [TOPOLOGY_ENDPOINT_MAX], snapshot [TOPOLOGY_ENDPOINT_MAX], error [512];
    if (tcp && (!key || !server_key)) {
        fprintf (stderr, "squirrel watch: %s: tcp needs CURVE: give --key PATH and "
                 "--server-key FILE\n", endpoint);
        return EXIT_USAGE;
    }
    if (!tcp && (key || server_key)) {
        fprintf (stderr, "squirrel watch: --key and --server-key are for a tcp:// hub, "
                 "not %s\n", endpoint);
        return EXIT_USAGE;
    }
    if (tcp ? topology_remote_feed_endpoints (endpoint, feed, snapshot, error, sizeof (error))
            : (snprintf (feed, sizeof (feed), "%s", endpoint) >= (int) sizeof (feed)
               || topology_snapshot_endpoint (feed, snapshot, error, sizeof (error)))) {
        fprintf (stderr, "squirrel watch: %s\n", tcp ? error : "ENDPOINT too long");
        return EXIT_USAGE;
    }
    if (s_may_connect (feed) || (replay && s_may_connect (snapshot)))
        return 1;
    zcert_t *mine = NULL, *hub = NULL;
    sq_curve_t curve = { NULL, NULL, NULL };
    if (tcp) {
        mine = sq_keys_load_pair (key, error, sizeof (error));
        if (!mine) {
            fprintf (stderr, "squirrel watch: --key: %s\n", error);
            return EXIT_USAGE;
        }
        hub = sq_keys_load_public (server_key, error, sizeof (error));
        if (!hub) {
            fprintf (stderr, "squirrel watch: --server-key: %s\n", error);
            zcert_destroy (&mine);
            return EXIT_USAGE;
        }
        curve = (sq_curve_t) { zcert_public_txt (mine), zcert_secret_txt (mine),
                               zcert_public_txt (hub) };
        self.curve = &curve;
    }
    self.feed = zsock_new (ZMQ_SUB);
    assert (self.feed);
    //  Subscribe first, so that nothing published after the snapshot is
    //  read can be missed (Clone pattern); a subscription set before the
    //  connect goes out with it.
    if (self.prefix) {
        const char *states [] = { "down ", "up " };
        for (size_t index = 0; index < 2; index++) {
            char *topic = zsys_sprintf ("%s%s", states [index], self.prefix);
            zsock_set_subscribe (self.feed, topic);
            zstr_free (&topic);
        }
    }
    else
        zsock_set_subscribe (self.feed, "");
    int rc = 0;
    if (s_connect (self.feed, feed, self.curve))
        rc = EXIT_USAGE;
    cli_catch_signals (false);
    if (!rc && replay) {
        self.positioned = true;
        self.snapshot_endpoint = snapshot;
        s_catch_up (&self);
    }
    if (!rc)
        s_follow (&self);
    zsock_destroy (&self.snapshot);
    zsock_destroy (&self.feed);
    zcert_destroy (&hub);
    zcert_destroy (&mine);
    return rc;
}

const command_t command_watch = {
    "watch", "print the alert feed of a running `squirrel run`", s_usage, s_run
};
