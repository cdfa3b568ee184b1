/*  test_job_book.c: the dispatcher's decisions (actors/job_book.h) on a
    clock the test moves by hand.  Cadence across rounds, deadlines and
    resends, the attempt limit, credit per pinger, heartbeats that resync
    credit, one "pinger gone" path for silence and for an unroutable send,
    stale DONEs, once mode, reloads.  Counts are exact.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "job_book.h"
#include "sq_defaults.h"

#include <stdio.h>
#include <string.h>

#define TIMEOUT     1000        //  every site's check timeout, ms
#define MARGIN      5000        //  deadline margin, ms
#define INTERVAL    60000       //  every site's interval, ms

static job_book_t *
s_book (bool once, uint32_t max_attempts)
{
    job_book_rules_t rules = { .once = once, .deadline_margin_ms = MARGIN,
                               .max_attempts = max_attempts, .pinger_silence_ms = 3500 };
    return job_book_new (&rules);
}

static void
s_put (job_book_t *book, uint64_t site_id, uint32_t interval_ms, int64_t now, uint32_t offset)
{
    char url [64];
    snprintf (url, sizeof (url), "http://site-%llu.test/", (unsigned long long) site_id);
    job_site_t site = { .site_id = site_id, .url = url, .timeout_ms = TIMEOUT,
                        .interval_ms = interval_ms };
    job_book_site_put (book, &site, now, offset);
}

//  The next action must be a SEND of site_id (attempt) to pinger; sent.
static job_t
s_expect_send (job_book_t *book, int64_t now, uint64_t site_id, uint32_t attempt,
               const char *pinger)
{
    job_t job;
    assert_int_equal (job_book_next (book, now, &job), JOB_SEND);
    assert_int_equal (job.site->site_id, site_id);
    assert_int_equal (job.attempt, attempt);
    if (pinger)
        assert_string_equal (job.pinger_id, pinger);
    job_book_sent (book, &job, now);
    return job;
}

static void
s_expect_none (job_book_t *book, int64_t now)
{
    job_t job;
    assert_int_equal (job_book_next (book, now, &job), JOB_NONE);
}

static uint64_t
s_counter (job_book_t *book, job_book_counter_t counter)
{
    return job_book_counters (book) [counter];
}

//  The next round is one interval after the last was due, whenever the
//  check finished; a round that is already late starts now.
static void
test_cadence_is_kept (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put (book, 1, INTERVAL, 0, 100);
    assert_int_equal (job_book_pinger_message (book, "p1", true, 10, 0), PINGER_JOINED);
    s_expect_none (book, 99);
    job_t job = s_expect_send (book, 100, 1, 1, "p1");
    assert_int_equal (job.job_id, 1);
    //  Finished 250 ms later: due one interval after 100, not after 350.
    assert_int_equal (job_book_done (book, 1, job.job_id, false, 0, 350), 0);
    assert_int_equal (job_book_site_at (book, 1), 100 + INTERVAL);
    s_expect_none (book, 100 + INTERVAL - 1);
    job = s_expect_send (book, 100 + INTERVAL, 1, 1, "p1");
    assert_int_equal (job.job_id, 2);
    assert_int_equal (job_book_done (book, 1, job.job_id, false, 0, 100 + INTERVAL + 900), 0);
    assert_int_equal (job_book_site_at (book, 1), 100 + 2 * INTERVAL);
    //  A round that ends after the next was due: the next starts now.
    job = s_expect_send (book, 100 + 2 * INTERVAL, 1, 1, "p1");
    int64_t late = 100 + 3 * INTERVAL + 500;
    assert_int_equal (job_book_done (book, 1, job.job_id, false, 0, late), 0);
    assert_int_equal (job_book_site_at (book, 1), late);
    job_book_destroy (&book);
    assert_null (book);
    job_book_destroy (&book);
}

//  DONE with a recheck: due after exactly the delay asked for.
static void
test_recheck_delay (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put (book, 1, INTERVAL, 0, 0);
    job_book_pinger_message (book, "p1", true, 10, 0);
    job_t job = s_expect_send (book, 0, 1, 1, NULL);
    assert_int_equal (job_book_done (book, 1, job.job_id, true, 0, 300), 0);
    assert_int_equal (job_book_site_at (book, 1), 300);
    job = s_expect_send (book, 300, 1, 1, NULL);
    assert_int_equal (job_book_done (book, 1, job.job_id, true, 4000, 700), 0);
    assert_int_equal (job_book_site_at (book, 1), 4700);
    //  The round after a recheck counts from the recheck.
    job = s_expect_send (book, 4700, 1, 1, NULL);
    assert_int_equal (job_book_done (book, 1, job.job_id, false, 0, 4800), 0);
    assert_int_equal (job_book_site_at (book, 1), 4700 + INTERVAL);
    job_book_destroy (&book);
}

//  A job without DONE is resent at its deadline (timeout + margin), to
//  another pinger when one has credit, and given up after max_attempts
//  sends: exactly max_attempts CHECKs, then one ABANDONED.
static void
test_deadline_resend_and_attempt_limit (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put (book, 7, INTERVAL, 0, 0);
    s_put (book, 8, INTERVAL, 0, 1);
    job_book_pinger_message (book, "p1", true, 10, 0);
    job_book_pinger_message (book, "p2", true, 10, 0);
    job_t first = s_expect_send (book, 0, 7, 1, "p1");
    //  Site 8 goes to p2, so round robin would pick p1 next: the resend
    //  below must go to p2 because it avoids p1, not by turn.
    job_t other = s_expect_send (book, 1, 8, 1, "p2");
    assert_int_equal (job_book_done (book, 8, other.job_id, false, 0, 2), 0);
    int64_t deadline = TIMEOUT + MARGIN;
    assert_int_equal (job_book_site_at (book, 7), deadline);
    //  Keep both pingers alive across the wait.
    job_book_pinger_message (book, "p1", false, 9, deadline - 1);
    job_book_pinger_message (book, "p2", false, 10, deadline - 1);
    s_expect_none (book, deadline - 1);
    job_t second = s_expect_send (book, deadline, 7, 2, "p2");
    assert_int_equal (second.job_id, first.job_id);
    assert_true (second.resend);
    job_book_pinger_message (book, "p1", false, 10, 2 * deadline - 1);
    job_book_pinger_message (book, "p2", false, 9, 2 * deadline - 1);
    s_expect_send (book, 2 * deadline, 7, 3, "p1");
    job_book_pinger_message (book, "p1", false, 9, 3 * deadline - 1);
    job_book_pinger_message (book, "p2", false, 10, 3 * deadline - 1);
    job_t job;
    assert_int_equal (job_book_next (book, 3 * deadline, &job), JOB_ABANDONED);
    assert_int_equal (job.attempt, 3);
    assert_int_equal (s_counter (book, JOB_BOOK_jobs), 4);
    assert_int_equal (s_counter (book, JOB_BOOK_resends), 2);
    assert_int_equal (s_counter (book, JOB_BOOK_abandoned), 1);
    //  Then the site waits for its next round, which comes as usual.
    assert_int_equal (job_book_site_at (book, 7), INTERVAL);
    s_expect_none (book, 3 * deadline);
    //  A late DONE for the abandoned job is stale.
    assert_int_equal (job_book_done (book, 7, first.job_id, false, 0, 3 * deadline + 1), -1);
    assert_int_equal (s_counter (book, JOB_BOOK_stale), 1);
    job_book_destroy (&book);
}

//  READY gives credit, each send takes one; with none left, due jobs wait
//  and the book says there is nothing to wake for.
static void
test_credit (void **state)
{
    job_book_t *book = s_book (false, 3);
    for (uint64_t id = 1; id <= 3; id++)
        s_put (book, id, INTERVAL, 0, 0);
    assert_int_equal (job_book_wake_at (book), INT64_MAX);     //  no pinger yet
    job_book_pinger_message (book, "p1", true, 2, 0);
    assert_int_equal (job_book_wake_at (book), 0);
    job_t one = s_expect_send (book, 0, 1, 1, "p1");
    s_expect_send (book, 0, 2, 1, "p1");
    s_expect_none (book, 0);
    assert_int_equal (job_book_wake_at (book), INT64_MAX);
    assert_int_equal (job_book_pinger (book, 0)->credit, 0);
    assert_int_equal (job_book_pinger (book, 0)->outstanding, 2);
    //  DONE gives no credit (the pinger's READY does) ...
    assert_int_equal (job_book_done (book, 1, one.job_id, false, 0, 10), 0);
    assert_int_equal (job_book_pinger (book, 0)->outstanding, 1);
    s_expect_none (book, 10);
    //  ... and a READY for one slot lets exactly one more job go.
    job_book_pinger_message (book, "p1", true, 1, 20);
    s_expect_send (book, 20, 3, 1, "p1");
    s_expect_none (book, 20);
    job_book_destroy (&book);
}

//  A HEARTBEAT sets credit to the free slots it reports only when no job
//  sent to the pinger still lacks its DONE (one could be on its way).
static void
test_heartbeat_resyncs_credit (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put (book, 1, INTERVAL, 0, 0);
    job_book_pinger_message (book, "p1", true, 5, 0);
    job_t job = s_expect_send (book, 0, 1, 1, "p1");
    assert_int_equal (job_book_pinger (book, 0)->credit, 4);
    job_book_pinger_message (book, "p1", false, 5, 10);        //  outstanding 1: ignored
    assert_int_equal (job_book_pinger (book, 0)->credit, 4);
    assert_int_equal (job_book_done (book, 1, job.job_id, false, 0, 20), 0);
    job_book_pinger_message (book, "p1", false, 7, 30);        //  outstanding 0: taken
    assert_int_equal (job_book_pinger (book, 0)->credit, 7);
    job_book_destroy (&book);
}

//  Silence for longer than the limit: gone, its credit dropped, its jobs
//  due at once (to another pinger); when it speaks again it starts afresh.
static void
test_silent_pinger_is_gone (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put (book, 1, INTERVAL, 0, 0);
    s_put (book, 2, INTERVAL, 0, 0);
    job_book_pinger_message (book, "p1", true, 2, 0);
    s_expect_send (book, 0, 1, 1, "p1");
    s_expect_send (book, 0, 2, 1, "p1");
    job_book_pinger_message (book, "p2", true, 5, 3000);
    assert_int_equal (job_book_expire_silent (book, 3500), -1);     //  exactly the limit
    assert_int_equal (job_book_expire_silent (book, 3501), 0);
    assert_int_equal (job_book_expire_silent (book, 3501), -1);     //  once
    assert_int_equal (job_book_pingers_alive (book), 1);
    assert_int_equal (s_counter (book, JOB_BOOK_gone), 1);
    //  Both of its jobs go again now, well before their deadline.
    s_expect_send (book, 3501, 1, 2, "p2");
    s_expect_send (book, 3501, 2, 2, "p2");
    s_expect_none (book, 3501);
    //  Back: afresh, with the credit its heartbeat reports.
    assert_int_equal (job_book_pinger_message (book, "p1", false, 2, 4000), PINGER_BACK);
    assert_int_equal (job_book_pinger (book, 0)->credit, 2);
    assert_int_equal (job_book_pinger (book, 0)->outstanding, 0);
    job_book_destroy (&book);
}

//  A send that fails (the pinger vanished) takes the same path as
//  silence: the pinger is gone and every job it held goes out again, not
//  only the one that could not be sent.
static void
test_unroutable_pinger_is_gone (void **state)
{
    job_book_t *book = s_book (false, 3);
    for (uint64_t id = 1; id <= 3; id++)
        s_put (book, id, INTERVAL, 0, id == 3 ? 100 : 0);
    job_book_pinger_message (book, "p1", true, 2, 0);
    s_expect_send (book, 0, 1, 1, "p1");
    s_expect_send (book, 0, 2, 1, "p1");
    job_book_pinger_message (book, "p2", true, 10, 50);
    //  Site 3 is due; p1 has no credit left, so it goes to p2.
    job_t job;
    assert_int_equal (job_book_next (book, 100, &job), JOB_SEND);
    assert_string_equal (job.pinger_id, "p2");
    job_book_sent (book, &job, 100);
    job_book_pinger_message (book, "p1", true, 1, TIMEOUT + MARGIN - 1);
    job_book_pinger_message (book, "p2", false, 9, TIMEOUT + MARGIN - 1);
    assert_int_equal (job_book_next (book, TIMEOUT + MARGIN, &job), JOB_SEND);
    assert_int_equal (job.site->site_id, 1);
    assert_string_equal (job.pinger_id, "p2");      //  resends avoid p1
    job_book_unroutable (book, &job, TIMEOUT + MARGIN);
    assert_int_equal (s_counter (book, JOB_BOOK_unroutable), 1);
    assert_int_equal (s_counter (book, JOB_BOOK_gone), 1);
    assert_false (job_book_pinger (book, 1)->alive);
    //  Site 3's job was p2's: it is due now too, long before its deadline.
    assert_int_equal (job_book_site_at (book, 3), TIMEOUT + MARGIN);
    int64_t now = TIMEOUT + MARGIN;
    job_book_pinger_message (book, "p1", true, 8, now);
    int sent = 0;
    while (job_book_next (book, now, &job) == JOB_SEND) {
        assert_string_equal (job.pinger_id, "p1");
        job_book_sent (book, &job, now);
        sent++;
    }
    assert_int_equal (sent, 3);     //  sites 1 and 2 (deadline) and 3 (p2's)
    job_book_destroy (&book);
}

//  Site 1's job went to p1 at 0, site 2 is due at 3999, and p1 was
//  declared gone at 4000 with site 1's job (old) still out.
static job_book_t *
s_book_with_p1_gone (job_t *old)
{
    job_book_t *book = s_book (false, 3);
    s_put (book, 1, INTERVAL, 0, 0);
    s_put (book, 2, INTERVAL, 0, 3999);
    job_book_pinger_message (book, "p1", true, 1, 0);
    *old = s_expect_send (book, 0, 1, 1, "p1");
    assert_int_equal (job_book_expire_silent (book, 4000), 0);
    return book;
}

//  A pinger declared gone and back before its jobs were resent: they go to
//  another pinger that has credit, and its own count of jobs out stays
//  right (a later DONE of a job it no longer holds must not lower it).
static void
test_gone_pinger_back_before_resend (void **state)
{
    job_t old;
    job_book_t *book = s_book_with_p1_gone (&old);
    //  Nobody has credit now; then p1 is back, and p2 joins.
    s_expect_none (book, 4000);
    assert_int_equal (job_book_pinger_message (book, "p1", true, 2, 4001), PINGER_BACK);
    job_book_pinger_message (book, "p2", true, 1, 4001);
    //  Site 2 (due first) goes to p1: one job out there.
    s_expect_send (book, 4001, 2, 1, "p1");
    assert_int_equal (job_book_pinger (book, 0)->outstanding, 1);
    //  Site 1's resend avoids p1, though p1 has credit and is first in turn.
    job_t resend = s_expect_send (book, 4001, 1, 2, "p2");
    assert_int_equal (resend.job_id, old.job_id);
    //  Sending it elsewhere let nobody off but its new pinger's count.
    assert_int_equal (job_book_pinger (book, 0)->outstanding, 1);
    assert_int_equal (job_book_pinger (book, 1)->outstanding, 1);
    //  Site 1's DONE releases p2, not p1.
    assert_int_equal (job_book_done (book, 1, old.job_id, false, 0, 4100), 0);
    assert_int_equal (job_book_pinger (book, 0)->outstanding, 1);
    assert_int_equal (job_book_pinger (book, 1)->outstanding, 0);
    job_book_destroy (&book);
}

//  The resend of a gone pinger's job avoids it even when it is back, has
//  credit and is next in turn.
static void
test_resend_avoids_the_gone_pinger (void **state)
{
    job_t old;
    job_book_t *book = s_book_with_p1_gone (&old);
    //  p1 back with no free slot; p2 joins and takes site 2, so p1 is next.
    assert_int_equal (job_book_pinger_message (book, "p1", false, 0, 4001), PINGER_BACK);
    job_book_pinger_message (book, "p2", true, 2, 4001);
    s_expect_send (book, 4001, 2, 1, "p2");
    job_book_pinger_message (book, "p1", true, 1, 4001);
    job_t resend = s_expect_send (book, 4001, 1, 2, "p2");
    assert_int_equal (resend.job_id, old.job_id);
    job_book_destroy (&book);
}

//  DONE for a job that is not the current one is stale and changes nothing.
static void
test_stale_done (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put (book, 1, INTERVAL, 0, 0);
    job_book_pinger_message (book, "p1", true, 10, 0);
    job_t job = s_expect_send (book, 0, 1, 1, NULL);
    assert_int_equal (job_book_done (book, 1, job.job_id + 1, false, 0, 10), -1);
    assert_int_equal (job_book_done (book, 99, job.job_id, false, 0, 10), -1);
    assert_int_equal (job_book_site_at (book, 1), TIMEOUT + MARGIN);
    assert_int_equal (job_book_done (book, 1, job.job_id, false, 0, 10), 0);
    assert_int_equal (job_book_done (book, 1, job.job_id, false, 0, 11), -1);   //  twice
    assert_int_equal (s_counter (book, JOB_BOOK_stale), 3);
    assert_int_equal (s_counter (book, JOB_BOOK_done), 1);
    job_book_destroy (&book);
}

//  Once mode: every site due at once; DONE without recheck finishes it.
static void
test_once_mode (void **state)
{
    job_book_t *book = s_book (true, 3);
    s_put (book, 1, INTERVAL, 0, 30000);        //  the offset is ignored
    s_put (book, 2, INTERVAL, 0, 30000);
    job_book_pinger_message (book, "p1", true, 10, 0);
    job_t one = s_expect_send (book, 0, 1, 1, NULL);
    job_t two = s_expect_send (book, 0, 2, 1, NULL);
    assert_int_equal (job_book_done (book, 1, one.job_id, true, 0, 5), 0);
    assert_int_equal (job_book_done (book, 2, two.job_id, false, 0, 5), 0);
    assert_int_equal (job_book_site_at (book, 2), -1);
    assert_int_equal (s_counter (book, JOB_BOOK_finished), 1);
    one = s_expect_send (book, 5, 1, 1, NULL);
    s_expect_none (book, 5);
    assert_int_equal (job_book_done (book, 1, one.job_id, false, 0, 9), 0);
    assert_int_equal (s_counter (book, JOB_BOOK_finished), 2);
    assert_int_equal (job_book_wake_at (book), INT64_MAX);
    job_book_destroy (&book);
}

//  A reload keeps the schedule of known sites (a new interval counts from
//  the current round), spreads new ones, forgets dropped ones.
static void
test_reload (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put (book, 1, INTERVAL, 0, 5000);
    s_put (book, 2, INTERVAL, 0, 2000);
    job_book_pinger_message (book, "p1", true, 10, 0);
    s_expect_send (book, 2000, 2, 1, NULL);
    job_book_sites_begin (book);
    s_put (book, 1, 2 * INTERVAL, 2500, 0);     //  round due at 5000, interval doubled
    s_put (book, 3, INTERVAL, 2500, 700);
    job_book_sites_end (book);
    assert_int_equal (job_book_site_count (book), 2);
    assert_int_equal (job_book_site_at (book, 1), 5000 - INTERVAL + 2 * INTERVAL);
    assert_int_equal (job_book_site_at (book, 3), 3200);
    assert_int_equal (job_book_site_at (book, 2), -1);
    assert_null (job_book_site (book, 2));
    //  The dropped site's job gave its pinger's slot back.
    assert_int_equal (job_book_pinger (book, 0)->outstanding, 0);
    job_book_destroy (&book);
}

//  Job ids start above first_job_id (a restarted hub passes a larger one).
static void
test_first_job_id (void **state)
{
    job_book_rules_t rules = { .first_job_id = 1700000000000000ULL };
    job_book_t *book = job_book_new (&rules);
    s_put (book, 1, INTERVAL, 0, 0);
    job_book_pinger_message (book, "p1", true, 10, 0);
    job_t job = s_expect_send (book, 0, 1, 1, "p1");
    assert_int_equal (job.job_id, 1700000000000001ULL);
    job_book_destroy (&book);
}

//  A pinger name belongs to the key it joined with.
static void
test_pinger_name_bound_to_key (void **state)
{
    job_book_t *book = s_book (false, 3);
    assert_true (job_book_pinger_key_check (book, "p1", "KEY-ONE"));      //  unknown: yes
    assert_int_equal (job_book_pinger_message_keyed (book, "p1", "KEY-ONE", true, 5, 0),
                      PINGER_JOINED);
    assert_true (job_book_pinger_key_check (book, "p1", "KEY-ONE"));
    assert_false (job_book_pinger_key_check (book, "p1", "KEY-TWO"));
    assert_false (job_book_pinger_key_check (book, "p1", ""));
    //  Still bound after it is gone and back.
    assert_int_equal (job_book_expire_silent (book, 10000), 0);
    assert_false (job_book_pinger_key_check (book, "p1", "KEY-TWO"));
    //  A local pinger has the empty key.
    job_book_pinger_message (book, "local", true, 5, 0);
    assert_true (job_book_pinger_key_check (book, "local", ""));
    assert_false (job_book_pinger_key_check (book, "local", "KEY-ONE"));
    job_book_destroy (&book);
}

//  Job ids only grow, across sites and rounds; a resend keeps its id.
static void
test_job_ids_grow (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put (book, 1, INTERVAL, 0, 0);
    s_put (book, 2, INTERVAL, 0, 0);
    job_book_pinger_message (book, "p1", true, 10, 0);
    job_t a = s_expect_send (book, 0, 1, 1, NULL);
    job_t b = s_expect_send (book, 0, 2, 1, NULL);
    assert_true (b.job_id > a.job_id);
    assert_int_equal (job_book_done (book, 1, a.job_id, true, 0, 1), 0);
    job_t c = s_expect_send (book, 1, 1, 1, NULL);
    assert_true (c.job_id > b.job_id);
    job_book_destroy (&book);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_cadence_is_kept),
        cmocka_unit_test (test_recheck_delay),
        cmocka_unit_test (test_deadline_resend_and_attempt_limit),
        cmocka_unit_test (test_credit),
        cmocka_unit_test (test_heartbeat_resyncs_credit),
        cmocka_unit_test (test_silent_pinger_is_gone),
        cmocka_unit_test (test_unroutable_pinger_is_gone),
        cmocka_unit_test (test_gone_pinger_back_before_resend),
        cmocka_unit_test (test_resend_avoids_the_gone_pinger),
        cmocka_unit_test (test_stale_done),
        cmocka_unit_test (test_once_mode),
        cmocka_unit_test (test_reload),
        cmocka_unit_test (test_job_ids_grow),
        cmocka_unit_test (test_first_job_id),
        cmocka_unit_test (test_pinger_name_bound_to_key),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
