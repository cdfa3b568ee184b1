/*  bench_store.c: writes results through the real store writer actor, as
    the collector does (encoded RESULTs over a PUSH socket), and reports how
    fast the writer takes them and what the file grew by.

    SITES sites (https and http in turn), each checked every INTERVAL
    seconds from each of REGIONS regions, for MINUTES minutes of virtual
    time.  Each site keeps a phase within the interval, scattered as the
    dispatcher's random first offsets scatter them, and results go out in
    time order: consecutive results are for sites far apart in the store,
    as they are in a real run (sending them in site order would let each
    transaction touch a few neighbouring pages only, and flatter the
    writer by a factor of two or more).  The virtual time starts a day ahead of the wall clock, so that
    the writer's own hourly prune, which goes by the wall clock, never
    touches these rows.  With -p the bench plays that prune on the virtual
    clock: at every virtual hour it waits until the writer has taken
    everything sent, FLUSHes and sends "PRUNE <virtual now>", so that the
    file reaches the steady state of the default retention (24 h of raw
    results).  Without -p nothing waits: the writer always has a backlog,
    so results_per_s is the most it sustains.  With -R RATE the results are
    offered at RATE per second instead, and the largest backlog seen (sent
    and not yet committed) says whether the writer kept up.

    Every field of a row is a fixed formula of (site, round, region), so
    tests/bench/store_size.py makes the same rows for its reference.

    usage: bench_store -d DATA_DIR [-s SITES] [-m MINUTES] [-i INTERVAL_S]
                       [-g REGIONS] [-R RATE] [-p] [-x]
    -x: afterwards, time a PRUNE that deletes every raw result (as 25 h
    later), then one that has nothing to delete (the walk of the rollup
    keys alone).  Prints key=value lines.  tests/bench/store_size.sh runs it.
*/
#include "store.h"
#include "sq_actor.h"
#include "sq_wire.h"

#include <getopt.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define S_ENDPOINT      "inproc://bench-store"
#define S_HOUR_US       3600000000LL
#define S_DAY_US        (24 * S_HOUR_US)

static const char *s_regions [] = { "", "us", "asia", "sa", "oc" };

typedef struct {
    zactor_t *actor;            //  the writer
    zsock_t *push;              //  stands in for the collector
    uint64_t *ids;              //  site ids, by site index
    int64_t *phase_us;          //  each site's offset within the interval, by site index
    long *order;                //  site indexes by phase: the order of a round
    long sites;                 //  sites
    long interval_s;            //  seconds between rounds
    long regions;               //  results per site and round
    int64_t start_us;           //  virtual time of round 0
    long long sent;             //  results sent
} bench_t;

static double
s_cpu_seconds (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

//  Bytes this process has written through system calls so far (the WAL,
//  its checkpoints into the file), from /proc/self/io.
static long long
s_written_bytes (void)
{
    FILE *file = fopen ("/proc/self/io", "r");
    char line [128];
    long long bytes = 0;
    while (file && fgets (line, sizeof (line), file))
        if (sscanf (line, "wchar: %lld", &bytes) == 1)
            break;
    if (file)
        fclose (file);
    return bytes;
}

static long long
s_file_bytes (const char *data_dir, const char *suffix)
{
    char path [1024];
    snprintf (path, sizeof (path), "%s/%s%s", data_dir, STORE_FILE_NAME, suffix);
    struct stat info;
    return stat (path, &info) == 0 ? (long long) info.st_size : 0;
}

//  The virtual time of (round, site, region).
static int64_t
s_at (const bench_t *self, long round, long site, long region)
{
    int64_t interval_us = (int64_t) self->interval_s * 1000000;
    return self->start_us + round * interval_us + self->phase_us [site] + region * 1000;
}

static const bench_t *s_sorting;

static int
s_by_phase (const void *one, const void *two)
{
    long a = *(const long *) one, b = *(const long *) two;
    int64_t phase_a = s_sorting->phase_us [a], phase_b = s_sorting->phase_us [b];
    return phase_a < phase_b ? -1 : phase_a > phase_b ? 1 : a < b ? -1 : a > b;
}

//  Phases from a multiplicative hash of the site index (store_size.py's
//  too), and the order of a round.
static void
s_phases (bench_t *self)
{
    int64_t interval_us = (int64_t) self->interval_s * 1000000;
    self->phase_us = (int64_t *) calloc ((size_t) self->sites, sizeof (int64_t));
    self->order = (long *) calloc ((size_t) self->sites, sizeof (long));
    assert (self->phase_us && self->order);
    for (long site = 0; site < self->sites; site++) {
        self->phase_us [site] = (int64_t) (((uint64_t) site * 2654435761u) % (uint64_t) interval_us);
        self->order [site] = site;
    }
    s_sorting = self;
    qsort (self->order, (size_t) self->sites, sizeof (long), s_by_phase);
}

//  One RESULT; the formula is store_size.py's too.
static void
s_send (bench_t *self, long round, long site, long region)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_RESULT;
    sq_result_t *result = &msg.result;
    bool https = site % 2 == 0;
    result->job_id = (uint64_t) self->sent + 1;
    result->attempt = 1;
    result->site_id = self->ids [site];
    result->at = s_at (self, round, site, region);
    result->up = (site * 7 + round) % 500 != 0;
    result->reason = result->up ? SQ_REASON_OK : SQ_REASON_HTTP_STATUS;
    result->http_status = result->up ? 200 : 503;
    result->method = SQ_METHOD_HEAD;
    snprintf (result->pinger_id, sizeof (result->pinger_id), "hub1-123456-%ld", site % 8);
    snprintf (result->region, sizeof (result->region), "%s", s_regions [region]);
    result->queue_us = 100 + (uint64_t) (site * 13 + round * 7) % 5000;
    result->dns_us = 300 + (uint64_t) (site * 31 + round) % 3000;
    result->connect_us = result->dns_us + 200 + (uint64_t) (site * 17) % 2000;
    result->tls_us = https ? result->connect_us + 15000 + (uint64_t) (site * 7) % 40000 : 0;
    result->ttfb_us = (https ? result->tls_us : result->connect_us) + 3000
                    + (uint64_t) (site * 101 + round * 13) % 200000;
    result->total_us = result->ttfb_us + 50 + (uint64_t) site % 1000;
    result->cert_expiry = https ? 1798761600 + site * 3600 : 0;
    snprintf (result->error, sizeof (result->error), "%s", result->up ? "" : "HTTP 503");
    if (sq_wire_send (self->push, NULL, 0, &msg)) {
        fprintf (stderr, "bench_store: cannot send\n");
        exit (1);
    }
    self->sent++;
}

//  A pipe command and its reply (caller frees), or exit.
static char *
s_command (bench_t *self, const char *command)
{
    zstr_send (self->actor, command);
    zsock_set_rcvtimeo (self->actor, 600000);
    char *reply = zstr_recv (self->actor);
    if (!reply || strncmp (reply, "OK", 2)) {
        fprintf (stderr, "bench_store: %s: %s\n", command, reply ? reply : "no answer");
        exit (1);
    }
    return reply;
}

//  Writes sent and not yet committed: sent - (taken - pending).
static long long
s_backlog (bench_t *self)
{
    char *stats = sq_actor_stats (self->actor);
    long long taken = sq_stats_value (stats, "results");
    long long pending = sq_stats_value (stats, "pending");
    free (stats);
    return self->sent - (taken - pending);
}

//  Wait until the writer has taken every result sent, then commit.
static void
s_settle (bench_t *self)
{
    while (true) {
        char *stats = sq_actor_stats (self->actor);
        long long taken = sq_stats_value (stats, "results");
        free (stats);
        if (taken >= self->sent)
            break;
        zclock_sleep (2);
    }
    char *reply = s_command (self, "FLUSH");
    zstr_free (&reply);
}

//  PRUNE as if the time were now_us: rows deleted.
static long long
s_prune (bench_t *self, int64_t now_us)
{
    char command [64];
    snprintf (command, sizeof (command), "PRUNE %lld", (long long) now_us);
    char *reply = s_command (self, command);
    long long rows = atoll (reply + 3);
    zstr_free (&reply);
    return rows;
}

int
main (int argc, char **argv)
{
    const char *data_dir = NULL;
    long sites = 100000, minutes = 10, interval_s = 60, regions = 1, rate = 0;
    bool prune = false, prune_after = false;
    int option;
    const char *usage = "usage: bench_store -d DATA_DIR [-s SITES] [-m MINUTES] [-i INTERVAL_S] "
                        "[-g REGIONS] [-R RATE] [-p] [-x]\n";
    while ((option = getopt (argc, argv, "d:s:m:i:g:R:px")) != -1) {
        switch (option) {
            case 'd': data_dir = optarg; break;
            case 's': sites = atol (optarg); break;
            case 'm': minutes = atol (optarg); break;
            case 'i': interval_s = atol (optarg); break;
            case 'g': regions = atol (optarg); break;
            case 'R': rate = atol (optarg); break;
            case 'p': prune = true; break;
            case 'x': prune_after = true; break;
            default: fprintf (stderr, "%s", usage); return 2;
        }
    }
    if (!data_dir || sites < 1 || minutes < 1 || interval_s < 1 || regions < 1
    ||  regions > (long) (sizeof (s_regions) / sizeof (s_regions [0])) || rate < 0) {
        fprintf (stderr, "%s", usage);
        return 2;
    }
    zsys_init ();
    zsys_set_logstream (stderr);
    bench_t self = { .sites = sites, .interval_s = interval_s, .regions = regions };

    //  The sites, through a connection that is closed (and so checkpoints
    //  the file) before the writer starts: the file's size before any result.
    char error [256] = "";
    store_t *store = store_open (data_dir, error, sizeof (error));
    if (!store) {
        fprintf (stderr, "bench_store: %s\n", error);
        return 1;
    }
    const char **urls = (const char **) calloc ((size_t) sites, sizeof (char *));
    self.ids = (uint64_t *) calloc ((size_t) sites, sizeof (uint64_t));
    assert (urls && self.ids);
    for (long site = 0; site < sites; site++)
        urls [site] = zsys_sprintf ("%s://site-%06ld.example.com/", site % 2 ? "http" : "https",
                                    site);
    if (store_sync_sites (store, urls, NULL, (size_t) sites, self.ids, error, sizeof (error))) {
        fprintf (stderr, "bench_store: %s\n", error);
        return 1;
    }
    store_close (&store);
    for (long site = 0; site < sites; site++)
        free ((char *) urls [site]);
    free (urls);
    long long base_bytes = s_file_bytes (data_dir, "");

    store_args_t args = { .data_dir = data_dir, .endpoint = S_ENDPOINT };
    self.actor = sq_actor_start (store_actor, &args, "store");
    if (!self.actor)
        return 1;
    self.push = zsock_new (ZMQ_PUSH);
    zsock_set_sndhwm (self.push, 0);
    zsock_set_linger (self.push, -1);
    zsock_connect (self.push, S_ENDPOINT);

    //  A day ahead, at a whole hour, so that each virtual hour is a rollup hour.
    self.start_us = (zclock_time () * 1000 + S_DAY_US) / S_HOUR_US * S_HOUR_US;
    s_phases (&self);
    long rounds = minutes * 60 / interval_s;
    long long pruned = 0;
    int64_t prune_us = 0;
    long long backlog_max = 0;
    int64_t next_hour_us = self.start_us + S_HOUR_US;
    double cpu_start = s_cpu_seconds ();
    long long written_start = s_written_bytes ();
    int64_t started = zclock_usecs ();
    int64_t next_sample = started;
    for (long round = 0; round < rounds; round++) {
        if (prune && self.start_us + round * interval_s * 1000000LL >= next_hour_us) {
            s_settle (&self);
            int64_t at = zclock_usecs ();
            pruned += s_prune (&self, next_hour_us);
            prune_us += zclock_usecs () - at;
            //  The file's size each virtual hour, after the prune (the WAL
            //  apart): it stops growing once the window is full.
            printf ("file_bytes_at_hour_%lld=%lld\n",
                    (long long) ((next_hour_us - self.start_us) / S_HOUR_US),
                    s_file_bytes (data_dir, ""));
            next_hour_us += S_HOUR_US;
        }
        for (long index = 0; index < sites; index++)
            for (long region = 0; region < regions; region++) {
                long site = self.order [index];
                if (rate) {
                    //  Paced: never ahead of RATE per second since the start.
                    int64_t due = started + self.sent * 1000000 / rate;
                    int64_t now = zclock_usecs ();
                    if (due > now)
                        zclock_sleep ((int) ((due - now) / 1000) + 1);
                    if (now >= next_sample) {
                        long long backlog = s_backlog (&self);
                        if (backlog > backlog_max)
                            backlog_max = backlog;
                        next_sample = now + 100000;
                    }
                }
                s_send (&self, round, site, region);
            }
    }
    s_settle (&self);
    double seconds = (double) (zclock_usecs () - started) / 1e6;
    double cpu = s_cpu_seconds () - cpu_start;
    long long written = s_written_bytes () - written_start;

    printf ("sites=%ld\nminutes=%ld\ninterval_s=%ld\nregions=%ld\n", sites, minutes, interval_s,
            regions);
    printf ("results=%lld\nseconds=%.3f\nresults_per_s=%.0f\ncpu_seconds=%.3f\n", self.sent,
            seconds, self.sent / seconds, cpu);
    printf ("written_bytes=%lld\nwritten_per_result=%.0f\n", written, (double) written / self.sent);
    if (rate)
        printf ("offered_per_s=%ld\nbacklog_max=%lld\n", rate, backlog_max);
    if (prune)
        printf ("pruned_during=%lld\nprune_seconds_during=%.3f\n", pruned, prune_us / 1e6);
    int64_t end_us = self.start_us + rounds * interval_s * 1000000LL;
    printf ("virtual_start_us=%lld\nvirtual_end_us=%lld\n", (long long) self.start_us,
            (long long) end_us);
    if (prune_after) {
        //  Everything raw is older than 24 h by then; no rollup is.
        int64_t later = end_us + S_DAY_US + S_HOUR_US;
        int64_t at = zclock_usecs ();
        long long rows = s_prune (&self, later);
        printf ("prune_rows=%lld\nprune_seconds=%.3f\n", rows, (double) (zclock_usecs () - at) / 1e6);
        at = zclock_usecs ();
        rows = s_prune (&self, later);
        printf ("prune_again_rows=%lld\nprune_again_seconds=%.3f\n", rows,
                (double) (zclock_usecs () - at) / 1e6);
    }
    char *stats = sq_actor_stats (self.actor);
    printf ("dropped=%lld\nfailed_writes=%lld\n", sq_stats_value (stats, "dropped"),
            sq_stats_value (stats, "failed_writes"));
    free (stats);
    zsock_destroy (&self.push);
    zactor_destroy (&self.actor);
    //  The writer's connection was the last: closing it checkpointed the WAL.
    printf ("base_bytes=%lld\nfile_bytes=%lld\nwal_bytes=%lld\n", base_bytes,
            s_file_bytes (data_dir, ""), s_file_bytes (data_dir, "-wal"));
    free (self.ids);
    free (self.phase_us);
    free (self.order);
    return 0;
}
