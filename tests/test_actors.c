/*  test_actors.c: the actor skeleton and the in-process topology.
    Every actor starts, reports, answers STATS, refuses hostile frames with
    a count (never a crash), and stops on $TERM.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "topology.h"
#include "sq_actor.h"
#include "sq_wire.h"
#include "dispatcher.h"
#include "pinger.h"
#include "config.h"
#include "actor_wait.h"

#include <dirent.h>
#include <string.h>
#include <unistd.h>

//  Hand a config's sites to one actor, as the SITE batch every actor takes.
static int
s_set_sites (zactor_t *actor, const config_t *config)
{
    char error [256];
    zmsg_t *batch = config_sites_batch (config, error, sizeof (error));
    assert_non_null (batch);
    int rc = sq_actor_set_sites (actor, batch);
    zmsg_destroy (&batch);
    return rc;
}

//  Poll an actor's counter until it reaches want, with a deadline.
static long long
s_wait_counter (topology_t *topology, const char *actor, const char *name, long long want)
{
    int64_t deadline = zclock_mono () + 5000;
    long long value = -1;
    while (zclock_mono () < deadline) {
        char *stats = topology_stats (topology);
        const char *line = strstr (stats, actor);
        value = line ? sq_stats_value (strchr (line, ' ') + 1, name) : -1;
        free (stats);
        if (value >= want)
            break;
        zclock_sleep (10);
    }
    return value;
}

static void
test_topology_starts_and_stops (void **state)
{
    topology_args_t args = { .transport = "inproc", .pingers = 2, .concurrency = 8 };
    topology_t *topology = topology_new (&args);
    assert_non_null (topology);
    //  Both pingers announced their credit to the dispatcher.
    assert_int_equal (s_wait_counter (topology, "dispatcher", "pingers", 2), 2);
    topology_destroy (&topology);
    assert_null (topology);
    topology_destroy (&topology);   //  safe twice
}

static void
test_hostile_frames_are_counted (void **state)
{
    topology_args_t args = { .transport = "inproc" };
    topology_t *topology = topology_new (&args);
    assert_non_null (topology);
    const topology_endpoints_t *endpoints = topology_endpoints_of (topology);

    //  Garbage and a wrong message type into the collector's results.
    zsock_t *push = zsock_new_push (endpoints->results);
    assert_non_null (push);
    zstr_send (push, "\xdd\xff\xff\xff\xff");
    zstr_sendm (push, "two");
    zstr_send (push, "frames");
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_READY;
    strcpy (msg.ready.pinger_id, "impostor");
    assert_int_equal (sq_wire_send (push, NULL, 0, &msg), 0);
    assert_int_equal (s_wait_counter (topology, "collector", "malformed", 3), 3);

    //  Garbage into the dispatcher's ROUTER, as a pinger would connect.
    zsock_t *dealer = zsock_new_dealer (endpoints->jobs);
    assert_non_null (dealer);
    zstr_send (dealer, "not msgpack at all");
    assert_int_equal (s_wait_counter (topology, "dispatcher", "malformed", 1), 1);

    zsock_destroy (&push);
    zsock_destroy (&dealer);
    topology_destroy (&topology);
}

static void
test_failed_setup_is_reported (void **state)
{
    //  An endpoint that cannot be bound: the actor reports, start gives NULL.
    dispatcher_args_t args = { .jobs = "bogus://nowhere", .done = "inproc://test-done" };
    zactor_t *actor = sq_actor_start (dispatcher_actor, &args, "dispatcher");
    assert_null (actor);
    //  And tcp is refused until CURVE arrives.
    topology_args_t tcp = { .transport = "tcp" };
    assert_null (topology_new (&tcp));
}

//  A stand-in pinger that takes one job and never answers.
static zsock_t *
s_ghost_pinger (const char *jobs)
{
    zsock_t *ghost = zsock_new (ZMQ_DEALER);
    assert_non_null (ghost);
    zsock_set_identity (ghost, "ghost");
    assert_int_equal (zsock_connect (ghost, "%s", jobs), 0);
    sq_msg_t ready;
    memset (&ready, 0, sizeof (ready));
    ready.type = SQ_MSG_READY;
    strcpy (ready.ready.pinger_id, "ghost");
    ready.ready.free_slots = 1;
    assert_int_equal (sq_wire_send (ghost, NULL, 0, &ready), 0);
    return ghost;
}

//  The ghost takes the job; a real pinger joins; the job must reach it as
//  attempt 2, either at the deadline or as soon as the ghost is declared
//  gone, whichever the settings make first.
static void
s_resend_case (const char *name, unsigned margin_ms, unsigned silence_ms, uint32_t timeout_ms)
{
    char jobs [64], done [64], results [64];
    snprintf (jobs, sizeof (jobs), "inproc://%s-jobs", name);
    snprintf (done, sizeof (done), "inproc://%s-done", name);
    snprintf (results, sizeof (results), "inproc://%s-results", name);
    dispatcher_args_t args = { .jobs = jobs, .done = done, .once = true,
                               .deadline_margin_ms = margin_ms, .pinger_silence_ms = silence_ms };
    zactor_t *dispatcher = sq_actor_start (dispatcher_actor, &args, "dispatcher");
    assert_non_null (dispatcher);
    zsock_t *ghost = s_ghost_pinger (jobs);
    assert_int_equal (actor_wait_counter (dispatcher, "pingers", 1, 5000), 1);

    config_t *config = config_new_empty ();
    char error [256];
    //  Nothing listens on port 1: the real pinger's verdict comes at once.
    assert_int_equal (config_add_site (config, "http://127.0.0.1:1/", error, sizeof (error)), 0);
    config->sites [0].id = 7;
    config->sites [0].timeout_ms = timeout_ms;
    assert_int_equal (s_set_sites (dispatcher, config), 0);

    sq_msg_t msg;
    zsock_set_rcvtimeo (ghost, 5000);
    assert_int_equal (sq_wire_recv (ghost, NULL, NULL, &msg, NULL, 0), SQ_PROTO_OK);
    assert_int_equal (msg.type, SQ_MSG_CHECK);
    assert_int_equal (msg.check.attempt, 1);
    assert_int_equal (msg.check.site_id, 7);
    uint64_t job_id = msg.check.job_id;

    zsock_t *sink = zsock_new (ZMQ_PULL);
    assert_int_equal (zsock_bind (sink, "%s", results), 0);
    pinger_args_t pinger_args = { .jobs = jobs, .results = results, .pinger_id = "real",
                                  .concurrency = 4, .heartbeat_ms = 100 };
    zactor_t *pinger = sq_actor_start (pinger_actor, &pinger_args, "pinger");
    assert_non_null (pinger);
    zsock_set_rcvtimeo (sink, 5000);
    assert_int_equal (sq_wire_recv (sink, NULL, NULL, &msg, NULL, 0), SQ_PROTO_OK);
    assert_int_equal (msg.type, SQ_MSG_RESULT);
    assert_int_equal (msg.result.job_id, job_id);
    assert_int_equal (msg.result.attempt, 2);
    assert_string_equal (msg.result.pinger_id, "real");
    assert_int_equal (msg.result.reason, SQ_REASON_CONNECT);
    assert_int_equal (actor_wait_counter (dispatcher, "resends", 1, 5000), 1);

    zactor_destroy (&pinger);
    zsock_destroy (&sink);
    zsock_destroy (&ghost);
    zactor_destroy (&dispatcher);
    config_destroy (&config);
}

static void
test_lost_job_is_resent_after_its_deadline (void **state)
{
    //  The ghost stays "alive" (long silence limit): only the deadline,
    //  300 ms + 200 ms, can bring the job back.
    s_resend_case ("deadline", 200, 60000, 300);
}

static void
test_jobs_of_a_silent_pinger_are_resent_at_once (void **state)
{
    //  A deadline far away (20 s + 60 s); the ghost, silent for 300 ms, is
    //  declared gone and its job goes out again well within the 5 s wait.
    s_resend_case ("silent", 60000, 300, 20000);
}

//  Checks that wait for a free slot past late_ms are late: counted each,
//  and said (our backlog, not the sites').  Three sites due within their
//  first second (1 s rounds), a pinger with one slot that answers nothing;
//  1.6 s later it offers two more slots: the two jobs that waited leave
//  late, the first did not.  A sweep (once) is never late.
//  Whether a thread of this process is named name (/proc/self/task).
static bool
s_thread_named (const char *name)
{
    bool found = false;
    DIR *tasks = opendir ("/proc/self/task");
    assert_non_null (tasks);
    struct dirent *entry;
    while (!found && (entry = readdir (tasks))) {
        char path [300], comm [32] = "";
        snprintf (path, sizeof (path), "/proc/self/task/%s/comm", entry->d_name);
        FILE *file = fopen (path, "r");
        if (file && fgets (comm, sizeof (comm), file))
            found = strncmp (comm, name, strlen (name)) == 0 && comm [strlen (name)] == '\n';
        if (file)
            fclose (file);
    }
    closedir (tasks);
    return found;
}

//  An actor's thread bears its name, for top -H, ps -L, perf and gdb.
static void
test_actor_threads_are_named (void **state)
{
    //  A name no other test's thread (some may still be ending) bears.
    assert_false (s_thread_named ("sq-named-test"));
    dispatcher_args_t args = { .jobs = "inproc://named-jobs", .done = "inproc://named-done" };
    zactor_t *dispatcher = sq_actor_start (dispatcher_actor, &args, "named-test");
    assert_non_null (dispatcher);
    assert_true (s_thread_named ("sq-named-test"));
    zactor_destroy (&dispatcher);
}

static long long
s_late_case (const char *name, bool once)
{
    char jobs [64], done [64];
    snprintf (jobs, sizeof (jobs), "inproc://%s-jobs", name);
    snprintf (done, sizeof (done), "inproc://%s-done", name);
    dispatcher_args_t args = { .jobs = jobs, .done = done, .once = once,
                               .pinger_silence_ms = 60000, .late_ms = 200 };
    zactor_t *dispatcher = sq_actor_start (dispatcher_actor, &args, "dispatcher");
    assert_non_null (dispatcher);
    zsock_t *ghost = s_ghost_pinger (args.jobs);
    assert_int_equal (actor_wait_counter (dispatcher, "pingers", 1, 5000), 1);
    config_t *config = config_new_empty ();
    char error [256];
    const char *urls [] = { "http://127.0.0.1:1/a", "http://127.0.0.1:1/b", "http://127.0.0.1:1/c" };
    for (size_t index = 0; index < 3; index++) {
        assert_int_equal (config_add_site (config, urls [index], error, sizeof (error)), 0);
        config->sites [index].id = 21 + index;
        config->sites [index].timeout_ms = 20000;
        config->sites [index].interval_ms = 1000;
    }
    assert_int_equal (s_set_sites (dispatcher, config), 0);
    zsock_set_rcvtimeo (ghost, 5000);
    sq_msg_t msg;
    assert_int_equal (sq_wire_recv (ghost, NULL, NULL, &msg, NULL, 0), SQ_PROTO_OK);
    assert_int_equal (msg.type, SQ_MSG_CHECK);
    zclock_sleep (1600);
    char *stats = sq_actor_stats (dispatcher);
    assert_int_equal (sq_stats_value (stats, "late"), 0);       //  waiting is not late yet
    free (stats);
    sq_msg_t ready;
    memset (&ready, 0, sizeof (ready));
    ready.type = SQ_MSG_READY;
    strcpy (ready.ready.pinger_id, "ghost");
    ready.ready.free_slots = 2;
    assert_int_equal (sq_wire_send (ghost, NULL, 0, &ready), 0);
    for (int index = 0; index < 2; index++) {
        assert_int_equal (sq_wire_recv (ghost, NULL, NULL, &msg, NULL, 0), SQ_PROTO_OK);
        assert_int_equal (msg.type, SQ_MSG_CHECK);
    }
    if (!once)
        actor_wait_counter (dispatcher, "late", 2, 5000);
    stats = sq_actor_stats (dispatcher);
    long long late = sq_stats_value (stats, "late");
    free (stats);
    zsock_destroy (&ghost);
    zactor_destroy (&dispatcher);
    config_destroy (&config);
    return late;
}

static void
test_late_checks_are_counted (void **state)
{
    assert_int_equal (s_late_case ("late", false), 2);
    assert_int_equal (s_late_case ("late-sweep", true), 0);
}

//  A pinger declared gone (a pause: SIGSTOP, a frozen VM) that speaks
//  again gets credit back from its next HEARTBEAT, and work with it.
static void
test_pinger_that_comes_back_gets_credit (void **state)
{
    dispatcher_args_t args = { .jobs = "inproc://back-jobs", .done = "inproc://back-done",
                               .once = true, .pinger_silence_ms = 300 };
    zactor_t *dispatcher = sq_actor_start (dispatcher_actor, &args, "dispatcher");
    assert_non_null (dispatcher);
    zsock_t *ghost = s_ghost_pinger (args.jobs);
    assert_int_equal (actor_wait_counter (dispatcher, "pingers", 1, 5000), 1);
    //  Silent for longer than 300 ms: gone.
    int64_t deadline = zclock_mono () + 5000;
    long long alive = 1;
    while (alive != 0 && zclock_mono () < deadline) {
        char *stats = sq_actor_stats (dispatcher);
        alive = sq_stats_value (stats, "pingers");
        free (stats);
        zclock_sleep (20);
    }
    assert_int_equal (alive, 0);

    //  Back, with two free slots, and no job outstanding.
    sq_msg_t heartbeat;
    memset (&heartbeat, 0, sizeof (heartbeat));
    heartbeat.type = SQ_MSG_HEARTBEAT;
    strcpy (heartbeat.heartbeat.pinger_id, "ghost");
    heartbeat.heartbeat.free_slots = 2;
    assert_int_equal (sq_wire_send (ghost, NULL, 0, &heartbeat), 0);
    assert_int_equal (actor_wait_counter (dispatcher, "pingers", 1, 5000), 1);

    config_t *config = config_new_empty ();
    char error [256];
    assert_int_equal (config_add_site (config, "http://127.0.0.1:1/a", error, sizeof (error)), 0);
    assert_int_equal (config_add_site (config, "http://127.0.0.1:1/b", error, sizeof (error)), 0);
    config->sites [0].id = 11;
    config->sites [1].id = 12;
    assert_int_equal (s_set_sites (dispatcher, config), 0);
    zsock_set_rcvtimeo (ghost, 5000);
    for (int index = 0; index < 2; index++) {
        sq_msg_t msg;
        assert_int_equal (sq_wire_recv (ghost, NULL, NULL, &msg, NULL, 0), SQ_PROTO_OK);
        assert_int_equal (msg.type, SQ_MSG_CHECK);
        assert_int_equal (msg.check.attempt, 1);
    }
    zsock_destroy (&ghost);
    zactor_destroy (&dispatcher);
    config_destroy (&config);
}

static void
test_collector_drops_duplicates_and_stale_results (void **state)
{
    topology_args_t args = { .transport = "inproc", .pingers = 1 };
    topology_t *topology = topology_new (&args);
    assert_non_null (topology);
    config_t *config = config_new_empty ();
    char error [256];
    assert_int_equal (config_add_site (config, "http://127.0.0.1:1/", error, sizeof (error)), 0);
    config->sites [0].id = 1;
    //  A day between checks: no real result of the site may interfere.
    config->sites [0].interval_ms = 86400000;
    assert_int_equal (config_hand_sites (config, topology, error, sizeof (error)), 0);

    zsock_t *push = zsock_new (ZMQ_PUSH);
    assert_int_equal (zsock_connect (push, "%s", topology_endpoints_of (topology)->results), 0);
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_RESULT;
    msg.result.site_id = 1;
    msg.result.attempt = 1;
    msg.result.up = true;
    strcpy (msg.result.pinger_id, "someone");
    //  A forged result first: a huge job id without the dispatcher's mark.
    //  Taken, it would make every real result after it look old.
    msg.result.job_id = UINT64_MAX - 1;
    msg.result.token = 12345;
    assert_int_equal (sq_wire_send (push, NULL, 0, &msg), 0);
    uint64_t jobs [] = { 1000, 1000, 999 };     //  new, its twin, an older one
    for (size_t index = 0; index < 3; index++) {
        msg.result.job_id = jobs [index];
        msg.result.token = topology_job_token (topology, jobs [index], 1);
        assert_int_equal (sq_wire_send (push, NULL, 0, &msg), 0);
    }
    msg.result.site_id = 99;                    //  no such site
    msg.result.job_id = 2000;
    msg.result.token = topology_job_token (topology, 2000, 99);
    assert_int_equal (sq_wire_send (push, NULL, 0, &msg), 0);
    assert_int_equal (s_wait_counter (topology, "collector", "unknown_site", 1), 1);
    assert_int_equal (s_wait_counter (topology, "collector", "duplicates", 2), 2);
    assert_int_equal (s_wait_counter (topology, "collector", "results", 1), 1);
    assert_int_equal (s_wait_counter (topology, "collector", "unmarked", 1), 1);
    //  The mark binds the site too: job 1001's mark for another site is refused.
    msg.result.site_id = 1;
    msg.result.job_id = 1001;
    msg.result.token = topology_job_token (topology, 1001, 2);
    assert_int_equal (sq_wire_send (push, NULL, 0, &msg), 0);
    assert_int_equal (s_wait_counter (topology, "collector", "unmarked", 2), 2);
    assert_int_equal (s_wait_counter (topology, "collector", "results", 1), 1);
    zsock_destroy (&push);
    topology_destroy (&topology);
    config_destroy (&config);
}

//  A batch packs many entries a frame: 3,000 sites with long URLs fill
//  several frames and come out in order, whole; an entry that does not
//  decode, and a frame whose sizes run past its end, are each counted once
//  and the entries around them still arrive.
static void
test_batch_packs_entries_into_frames (void **state)
{
    (void) state;
    enum { COUNT = 3000 };
    sq_batch_writer_t *writer = sq_batch_writer_new ();
    sq_msg_t msg = { .type = SQ_MSG_SITE };
    for (int index = 0; index < COUNT; index++) {
        msg.site.site_id = (uint64_t) index + 1;
        snprintf (msg.site.url, sizeof (msg.site.url), "https://site-%d.example/%0*d", index,
                  index % 200, 0);
        msg.site.interval_ms = 60000;
        msg.site.timeout_ms = 10000;
        msg.site.failure_threshold = 2;
        msg.site.success_threshold = 1;
        assert_int_equal (sq_batch_add (writer, &msg), 0);
        if (index == 1000)
            sq_batch_add_raw (writer, "\xc1", 1);     //  never valid msgpack
    }
    zmsg_t *batch = sq_batch_writer_end (&writer);
    assert_null (writer);
    size_t frames = zmsg_size (batch);
    assert_true (frames > 3);
    for (zframe_t *frame = zmsg_first (batch); frame; frame = zmsg_next (batch))
        assert_true (zframe_size (frame) <= SQ_BATCH_FRAME_MAX);
    //  Break the second frame's packing: its first size claims more than
    //  the frame holds.
    zframe_t *second = zmsg_first (batch);
    second = zmsg_next (batch);
    uint8_t *bytes = zframe_data (second);
    bytes [0] = 0xff;
    bytes [1] = 0xff;
    size_t in_second = 0;           //  the entries lost with it
    sq_batch_reader_t reader = { .batch = batch };
    sq_site_t site;
    uint64_t malformed = 0;
    uint64_t next = 1;
    size_t read = 0;
    int rc;
    while ((rc = sq_sites_next (&reader, &site, "test", &malformed)) != 0) {
        if (rc < 0)
            continue;
        assert_true (site.site_id >= next);
        if (site.site_id > next) {
            assert_int_equal (in_second, 0);        //  one gap: the broken frame
            in_second = site.site_id - next;
        }
        char want [SQ_URL_MAX + 1];
        snprintf (want, sizeof (want), "https://site-%d.example/%0*d", (int) site.site_id - 1,
                  (int) (site.site_id - 1) % 200, 0);
        assert_string_equal (site.url, want);
        next = site.site_id + 1;
        read++;
    }
    assert_int_equal (next, COUNT + 1);
    assert_true (in_second > 0);
    assert_int_equal (read + in_second, COUNT);
    assert_int_equal (malformed, 2);
    assert_int_equal (zmsg_size (batch), 0);
    zmsg_destroy (&batch);

    //  An empty batch has no frame and reads as the end at once.
    writer = sq_batch_writer_new ();
    batch = sq_batch_writer_end (&writer);
    assert_int_equal (zmsg_size (batch), 0);
    reader = (sq_batch_reader_t) { .batch = batch };
    assert_int_equal (sq_sites_next (&reader, &site, "test", &malformed), 0);
    zmsg_destroy (&batch);
}

//  A socket bound for other processes refuses a frame over
//  SQ_REMOTE_FRAME_MAX before buffering it (the peer is dropped); others
//  go on.
static void
test_bound_socket_refuses_huge_frames (void **state)
{
    char *dir = zsys_sprintf ("/tmp/sq-test-actors-%d", (int) getpid ());
    assert_int_equal (zsys_dir_create ("%s", dir), 0);
    char *endpoint = zsys_sprintf ("ipc://%s/pull", dir);
    zsock_t *pull = zsock_new (ZMQ_PULL);
    assert_int_equal (sq_actor_bind (pull, endpoint), 0);
    zsock_t *hostile = zsock_new (ZMQ_PUSH);
    zsock_t *friendly = zsock_new (ZMQ_PUSH);
    assert_int_equal (zsock_connect (hostile, "%s", endpoint), 0);
    assert_int_equal (zsock_connect (friendly, "%s", endpoint), 0);
    size_t huge = 1024 * 1024;
    char *bytes = (char *) calloc (1, huge);
    assert_non_null (bytes);
    zframe_t *frame = zframe_new (bytes, huge);
    assert_int_equal (zframe_send (&frame, hostile, 0), 0);
    free (bytes);
    assert_int_equal (zstr_send (friendly, "small"), 0);
    zsock_set_rcvtimeo (pull, 3000);
    char *got = zstr_recv (pull);
    assert_non_null (got);
    assert_string_equal (got, "small");
    zstr_free (&got);
    zsock_set_rcvtimeo (pull, 300);
    zframe_t *more = zframe_recv (pull);
    assert_null (more);
    zsock_destroy (&hostile);
    zsock_destroy (&friendly);
    zsock_destroy (&pull);
    char *path = zsys_sprintf ("%s/pull", dir);
    unlink (path);
    zstr_free (&path);
    zsys_dir_delete ("%s", dir);
    zstr_free (&endpoint);
    zstr_free (&dir);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_topology_starts_and_stops),
        cmocka_unit_test (test_hostile_frames_are_counted),
        cmocka_unit_test (test_failed_setup_is_reported),
        cmocka_unit_test (test_lost_job_is_resent_after_its_deadline),
        cmocka_unit_test (test_jobs_of_a_silent_pinger_are_resent_at_once),
        cmocka_unit_test (test_pinger_that_comes_back_gets_credit),
        cmocka_unit_test (test_late_checks_are_counted),
        cmocka_unit_test (test_actor_threads_are_named),
        cmocka_unit_test (test_collector_drops_duplicates_and_stale_results),
        cmocka_unit_test (test_bound_socket_refuses_huge_frames),
        cmocka_unit_test (test_batch_packs_entries_into_frames),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
