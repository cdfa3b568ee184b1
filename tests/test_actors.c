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

#include <string.h>

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

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_topology_starts_and_stops),
        cmocka_unit_test (test_hostile_frames_are_counted),
        cmocka_unit_test (test_failed_setup_is_reported),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
