/*  bench_pinger.c: drives N checks through real pinger actors and reports
    checks per second, CPU seconds per 1,000 checks and memory per check in
    flight.  It plays the dispatcher (ROUTER, credit from READY) and the
    collector (PULL), so what it measures is the pinger alone.

    usage: bench_pinger [-n CHECKS] [-c CONCURRENCY] [-p PINGERS] URL...
    URLs are used round robin.  tests/bench/run.sh starts nginx and calls it.
*/
#include "pinger.h"
#include "sq_actor.h"
#include "sq_wire.h"

#include <getopt.h>
#include <string.h>
#include <sys/resource.h>

static long
s_rss_kb (void)
{
    //  Current resident set, from /proc (getrusage only has the peak).
    FILE *file = fopen ("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (file) {
        if (fscanf (file, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose (file);
    }
    return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

static double
s_cpu_seconds (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int
main (int argc, char **argv)
{
    long checks = 50000, concurrency = 256, pingers = 1;
    int option;
    while ((option = getopt (argc, argv, "n:c:p:")) != -1) {
        switch (option) {
            case 'n': checks = atol (optarg); break;
            case 'c': concurrency = atol (optarg); break;
            case 'p': pingers = atol (optarg); break;
            default:
                fprintf (stderr, "usage: bench_pinger [-n CHECKS] [-c CONCURRENCY] [-p PINGERS] URL...\n");
                return 2;
        }
    }
    if (optind >= argc || checks < 1 || concurrency < 1 || pingers < 1 || pingers > 64) {
        fprintf (stderr, "usage: bench_pinger [-n CHECKS] [-c CONCURRENCY] [-p PINGERS] URL...\n");
        return 2;
    }
    char **urls = argv + optind;
    int url_count = argc - optind;
    zsys_init ();
    zsys_set_logstream (stderr);

    zsock_t *jobs = zsock_new (ZMQ_ROUTER);
    zsock_t *results = zsock_new (ZMQ_PULL);
    zsock_set_sndhwm (jobs, 0);
    zsock_set_rcvhwm (results, 0);
    zsock_bind (jobs, "inproc://bench-jobs");
    zsock_bind (results, "inproc://bench-results");
    long rss_before = s_rss_kb ();

    zactor_t *actors [64];
    for (long index = 0; index < pingers; index++) {
        char id [32];
        snprintf (id, sizeof (id), "bench-%ld", index);
        pinger_args_t args = { .jobs = "inproc://bench-jobs", .results = "inproc://bench-results",
                               .pinger_id = id, .region = "", .concurrency = (unsigned) concurrency };
        actors [index] = sq_actor_start (pinger_actor, &args, "pinger");
        if (!actors [index])
            return 1;
    }
    long rss_idle = s_rss_kb ();

    //  Credit per pinger, keyed by identity.
    char identities [64][SQ_NAME_MAX + 1];
    long credit [64];
    int known = 0;
    long sent = 0, received = 0, up = 0, peak_live = 0;
    long rss_peak = rss_idle;
    long reasons [SQ_REASON_COUNT] = { 0 };
    double cpu_start = s_cpu_seconds ();
    int64_t start = zclock_usecs ();
    zpoller_t *poller = zpoller_new (jobs, results, NULL);

    sq_msg_t check;
    memset (&check, 0, sizeof (check));
    check.type = SQ_MSG_CHECK;
    check.check.attempt = 1;
    check.check.method = SQ_METHOD_HEAD;
    check.check.timeout_ms = 20000;
    check.check.tls_verify = true;

    while (received < checks) {
        void *which = zpoller_wait (poller, 1000);
        if (!which && zpoller_terminated (poller))
            break;
        //  Take every READY/HEARTBEAT waiting, then every RESULT.
        while (zsock_events (jobs) & ZMQ_POLLIN) {
            char identity [SQ_NAME_MAX + 1];
            size_t size = SQ_NAME_MAX;
            sq_msg_t msg;
            if (sq_wire_recv (jobs, identity, &size, &msg, NULL, 0) != SQ_PROTO_OK)
                continue;
            identity [size] = '\0';
            int slot = 0;
            while (slot < known && strcmp (identities [slot], identity))
                slot++;
            if (slot == known) {
                strcpy (identities [known], identity);
                credit [known++] = 0;
            }
            if (msg.type == SQ_MSG_READY)
                credit [slot] += msg.ready.free_slots;
        }
        while (zsock_events (results) & ZMQ_POLLIN) {
            sq_msg_t msg;
            if (sq_wire_recv (results, NULL, NULL, &msg, NULL, 0) != SQ_PROTO_OK)
                continue;
            received++;
            if (msg.result.up)
                up++;
            reasons [msg.result.reason]++;
        }
        for (int slot = 0; slot < known && sent < checks; slot++) {
            while (credit [slot] > 0 && sent < checks) {
                check.check.job_id = (uint64_t) sent + 1;
                check.check.site_id = (uint64_t) sent + 1;
                snprintf (check.check.url, sizeof (check.check.url), "%s", urls [sent % url_count]);
                sq_wire_send (jobs, identities [slot], strlen (identities [slot]), &check);
                credit [slot]--;
                sent++;
            }
        }
        if (sent - received > peak_live)
            peak_live = sent - received;
        if ((received & 1023) == 0) {
            long rss = s_rss_kb ();
            if (rss > rss_peak)
                rss_peak = rss;
        }
    }
    double seconds = (zclock_usecs () - start) / 1e6;
    double cpu = s_cpu_seconds () - cpu_start;
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    if (usage.ru_maxrss > rss_peak)
        rss_peak = usage.ru_maxrss;

    printf ("checks          %ld (%ld up)\n", received, up);
    for (int reason = 0; reason < SQ_REASON_COUNT; reason++)
        if (reasons [reason] && reason != SQ_REASON_OK)
            printf ("  down: %-12s %ld\n", sq_reason_name ((sq_reason_t) reason), reasons [reason]);
    printf ("pingers         %ld x %ld slots\n", pingers, concurrency);
    printf ("wall            %.3f s\n", seconds);
    printf ("checks/s        %.0f\n", received / seconds);
    printf ("cpu s/1000      %.4f\n", cpu * 1000.0 / (double) received);
    printf ("rss before      %ld KB, pingers idle %ld KB, peak %ld KB\n", rss_before, rss_idle, rss_peak);
    printf ("in flight peak  %ld\n", peak_live);
    printf ("KB/check flight %.1f\n", peak_live ? (double) (rss_peak - rss_before) / (double) peak_live : 0.0);

    zpoller_destroy (&poller);
    for (long index = 0; index < pingers; index++)
        zactor_destroy (&actors [index]);
    zsock_destroy (&jobs);
    zsock_destroy (&results);
    return received == checks ? 0 : 1;
}
