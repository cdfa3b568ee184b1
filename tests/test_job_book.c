/*  test_job_book.c: the dispatcher's decisions (actors/job_book.h) on a
    clock the test moves by hand.  Cadence across rounds, deadlines and
    resends, the attempt limit, credit per pinger, heartbeats that resync
    credit, one "pinger gone" path for silence and for an unroutable send,
    stale DONEs, once mode, reloads; regions: one probe per site and
    region, each sent only to its region's pingers.  Counts are exact.
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

//  DONE for job_id of site_id (avoiding no pinger): 0, or -1 if stale.
static int
s_done (job_book_t *book, uint64_t site_id, uint64_t job_id, bool recheck, uint32_t delay_ms,
        int64_t now)
{
    sq_done_t done = { .job_id = job_id, .site_id = site_id, .recheck = recheck,
                       .delay_ms = delay_ms };
    return job_book_done (book, &done, now);
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
    assert_int_equal (s_done (book, 1, job.job_id, false, 0, 350), 0);
    assert_int_equal (job_book_site_at (book, 1), 100 + INTERVAL);
    s_expect_none (book, 100 + INTERVAL - 1);
    job = s_expect_send (book, 100 + INTERVAL, 1, 1, "p1");
    assert_int_equal (job.job_id, 2);
    assert_int_equal (s_done (book, 1, job.job_id, false, 0, 100 + INTERVAL + 900), 0);
    assert_int_equal (job_book_site_at (book, 1), 100 + 2 * INTERVAL);
    //  A round that ends after the next was due: the next starts now.
    job = s_expect_send (book, 100 + 2 * INTERVAL, 1, 1, "p1");
    int64_t late = 100 + 3 * INTERVAL + 500;
    assert_int_equal (s_done (book, 1, job.job_id, false, 0, late), 0);
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
    assert_int_equal (s_done (book, 1, job.job_id, true, 0, 300), 0);
    assert_int_equal (job_book_site_at (book, 1), 300);
    job = s_expect_send (book, 300, 1, 1, NULL);
    assert_int_equal (s_done (book, 1, job.job_id, true, 4000, 700), 0);
    assert_int_equal (job_book_site_at (book, 1), 4700);
    //  The round after a recheck counts from the recheck.
    job = s_expect_send (book, 4700, 1, 1, NULL);
    assert_int_equal (s_done (book, 1, job.job_id, false, 0, 4800), 0);
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
    assert_int_equal (s_done (book, 8, other.job_id, false, 0, 2), 0);
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
    assert_int_equal (s_done (book, 7, first.job_id, false, 0, 3 * deadline + 1), -1);
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
    assert_int_equal (s_done (book, 1, one.job_id, false, 0, 10), 0);
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
    assert_int_equal (s_done (book, 1, job.job_id, false, 0, 20), 0);
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
    assert_int_equal (s_done (book, 1, old.job_id, false, 0, 4100), 0);
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
    assert_int_equal (s_done (book, 1, job.job_id + 1, false, 0, 10), -1);
    assert_int_equal (s_done (book, 99, job.job_id, false, 0, 10), -1);
    assert_int_equal (job_book_site_at (book, 1), TIMEOUT + MARGIN);
    assert_int_equal (s_done (book, 1, job.job_id, false, 0, 10), 0);
    assert_int_equal (s_done (book, 1, job.job_id, false, 0, 11), -1);   //  twice
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
    assert_int_equal (s_done (book, 1, one.job_id, true, 0, 5), 0);
    assert_int_equal (s_done (book, 2, two.job_id, false, 0, 5), 0);
    assert_int_equal (job_book_site_at (book, 2), -1);
    assert_int_equal (s_counter (book, JOB_BOOK_finished), 1);
    one = s_expect_send (book, 5, 1, 1, NULL);
    s_expect_none (book, 5);
    assert_int_equal (s_done (book, 1, one.job_id, false, 0, 9), 0);
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
    assert_int_equal (job_book_pinger_message_keyed (book, "p1", "KEY-ONE", "", true, 5, 0),
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
    assert_int_equal (s_done (book, 1, a.job_id, true, 0, 1), 0);
    job_t c = s_expect_send (book, 1, 1, 1, NULL);
    assert_true (c.job_id > b.job_id);
    job_book_destroy (&book);
}


//  --- Regions

//  A site checked from regions ("eu,us"; NULL = every live region).
static void
s_put_in (job_book_t *book, uint64_t site_id, const char *regions, int64_t now, uint32_t offset)
{
    char url [64];
    snprintf (url, sizeof (url), "http://site-%llu.test/", (unsigned long long) site_id);
    job_site_t site = { .site_id = site_id, .url = url, .timeout_ms = TIMEOUT,
                        .interval_ms = INTERVAL, .regions = regions };
    assert_int_equal (job_book_site_put (book, &site, now, offset), 0);
}

//  A READY for slots from pinger id of region.
static pinger_event_t
s_hello (job_book_t *book, const char *id, const char *region, uint32_t slots, int64_t now)
{
    return job_book_pinger_message_keyed (book, id, "", region, true, slots, now);
}

//  The next action must be a SEND of site_id from region to pinger; sent.
static job_t
s_expect_region (job_book_t *book, int64_t now, uint64_t site_id, const char *region,
                 const char *pinger)
{
    job_t job;
    assert_int_equal (job_book_next (book, now, &job), JOB_SEND);
    assert_int_equal (job.site->site_id, site_id);
    assert_string_equal (job.region, region);
    if (pinger)
        assert_string_equal (job.pinger_id, pinger);
    job_book_sent (book, &job, now);
    return job;
}

//  DONE as the collector sends it, with the region and the pinger to avoid.
static int
s_done_avoid (job_book_t *book, const job_t *job, bool recheck, uint32_t delay_ms,
              const char *avoid, int64_t now)
{
    sq_done_t done = { .job_id = job->job_id, .site_id = job->site->site_id,
                       .recheck = recheck, .delay_ms = delay_ms };
    snprintf (done.region, sizeof (done.region), "%s", job->region);
    snprintf (done.avoid, sizeof (done.avoid), "%s", avoid);
    return job_book_done (book, &done, now);
}

//  Two regions with one pinger each: every round exactly one job per
//  region, each to its own region's pinger, whatever the round robin.
static void
test_regions_one_job_per_region_per_round (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put_in (book, 1, "eu, us", 0, 100);
    assert_int_equal (s_hello (book, "e1", "eu", 100, 0), PINGER_JOINED);
    assert_int_equal (s_hello (book, "u1", "us", 100, 0), PINGER_JOINED);
    assert_int_equal (job_book_site_probes (book, 1), 2);
    assert_int_equal (s_counter (book, JOB_BOOK_probes), 2);
    for (int64_t round = 0; round < 4; round++) {
        int64_t due = 100 + round * INTERVAL;
        s_expect_none (book, due - 1);
        job_t jobs [2];
        for (int sent = 0; sent < 2; sent++) {
            assert_int_equal (job_book_next (book, due, &jobs [sent]), JOB_SEND);
            assert_int_equal (jobs [sent].site->site_id, 1);
            assert_int_equal (jobs [sent].attempt, 1);
            job_book_sent (book, &jobs [sent], due);
        }
        s_expect_none (book, due);
        assert_string_not_equal (jobs [0].region, jobs [1].region);
        for (int sent = 0; sent < 2; sent++) {
            assert_string_equal (jobs [sent].pinger_id,
                                 strcmp (jobs [sent].region, "eu") == 0 ? "e1" : "u1");
            assert_int_equal (s_done_avoid (book, &jobs [sent], false, 0, "", due + 10), 0);
        }
        job_book_pinger_message_keyed (book, "e1", "", "eu", false, 100, due + 10);
        job_book_pinger_message_keyed (book, "u1", "", "us", false, 100, due + 10);
    }
    assert_int_equal (s_counter (book, JOB_BOOK_jobs), 8);
    assert_int_equal (s_counter (book, JOB_BOOK_done), 8);
    job_book_destroy (&book);
}

//  A region without a live pinger: its probe waits (sent nowhere else,
//  never abandoned) while the other region goes on; a pinger of that
//  region joins and takes the waiting job.
static void
test_region_without_pinger_waits (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put_in (book, 1, "eu,us", 0, 0);
    s_hello (book, "e1", "eu", 100, 0);
    s_hello (book, "r1", "", 100, 0);          //  a regionless pinger takes nothing of it
    int64_t now = 0;
    for (int round = 0; round < 5; round++, now += INTERVAL) {
        job_t job = s_expect_region (book, now, 1, "eu", "e1");
        s_expect_none (book, now);
        assert_int_equal (s_done_avoid (book, &job, false, 0, "", now + 5), 0);
        job_book_pinger_message_keyed (book, "e1", "", "eu", false, 100, now + 5);
        job_book_pinger_message_keyed (book, "r1", "", "", false, 100, now + 5);
    }
    //  The us probe is still due since 0: no job, no abandon.
    assert_int_equal (job_book_probe_at (book, 1, "us"), 0);
    assert_int_equal (job_book_probe_at (book, 1, "eu"), now);
    assert_int_equal (s_counter (book, JOB_BOOK_jobs), 5);
    assert_int_equal (s_counter (book, JOB_BOOK_abandoned), 0);
    //  A us pinger joins: the waiting job goes to it at once, attempt 1.
    int64_t later = now - INTERVAL + 1000;
    assert_int_equal (s_hello (book, "u1", "us", 10, later), PINGER_JOINED);
    job_t job = s_expect_region (book, later, 1, "us", "u1");
    assert_int_equal (job.attempt, 1);
    s_expect_none (book, later);
    assert_int_equal (job_book_site_probes (book, 1), 2);       //  explicit: fixed
    job_book_destroy (&book);
}

//  Default regions follow the live pingers: one probe per region that has
//  one; a region's first pinger adds probes (due at the site's first due
//  time if still ahead, else now + its offset), its last one gone removes
//  them, and a late DONE for a removed probe is stale.
static void
test_default_regions_follow_pingers (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put_in (book, 1, NULL, 0, 100);
    s_put_in (book, 2, "", 0, 200);
    assert_int_equal (job_book_site_probes (book, 1), 0);      //  no pinger, no region
    s_hello (book, "e1", "eu", 10, 0);
    assert_int_equal (job_book_site_probes (book, 1), 1);
    assert_int_equal (job_book_probe_at (book, 1, "eu"), 100);
    s_hello (book, "e2", "eu", 10, 50);                         //  same region: no change
    assert_int_equal (s_counter (book, JOB_BOOK_probes), 2);
    s_hello (book, "u1", "us", 10, 150);
    assert_int_equal (job_book_site_probes (book, 1), 2);
    assert_int_equal (job_book_site_probes (book, 2), 2);
    assert_int_equal (s_counter (book, JOB_BOOK_probes), 4);
    assert_int_equal (job_book_probe_at (book, 1, "us"), 150 + 100);  //  first due passed
    assert_int_equal (job_book_probe_at (book, 2, "us"), 200);        //  still ahead
    //  Both of site 2's probes go out at 200 (on a tie, regions in the
    //  order the book first heard of them).
    s_expect_region (book, 100, 1, "eu", "e1");
    job_t eu = s_expect_region (book, 200, 2, "eu", "e2");
    job_t us = s_expect_region (book, 200, 2, "us", "u1");
    s_expect_none (book, 249);
    //  The last us pinger is gone: back to one probe per site.
    job_book_pinger_message_keyed (book, "e1", "", "eu", false, 9, 3000);
    job_book_pinger_message_keyed (book, "e2", "", "eu", false, 9, 3000);
    assert_int_equal (job_book_expire_silent (book, 3651), 2);
    assert_int_equal (job_book_expire_silent (book, 3651), -1);
    assert_int_equal (job_book_region_alive (book, "us"), 0);
    assert_int_equal (job_book_site_probes (book, 1), 1);
    assert_int_equal (job_book_site_probes (book, 2), 1);
    assert_int_equal (s_counter (book, JOB_BOOK_probes), 2);
    assert_int_equal (job_book_probe_at (book, 2, "us"), -1);
    //  Its job's DONE comes late: stale.  The eu one still counts.
    assert_int_equal (s_done_avoid (book, &us, false, 0, "", 3700), -1);
    assert_int_equal (s_counter (book, JOB_BOOK_stale), 1);
    assert_int_equal (s_done_avoid (book, &eu, false, 0, "", 3700), 0);
    assert_int_equal (job_book_probe_at (book, 2, "eu"), 200 + INTERVAL);
    job_book_destroy (&book);
}

//  The last pinger of the only region gone: its probes stay and wait (a
//  lone hub behaves as before regions); a pinger of another region then
//  takes over the default set.
static void
test_default_regions_kept_while_none_is_live (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put_in (book, 1, NULL, 0, 0);
    s_hello (book, "e1", "eu", 10, 0);
    s_expect_region (book, 0, 1, "eu", "e1");
    assert_int_equal (job_book_expire_silent (book, 4000), 0);
    assert_int_equal (job_book_site_probes (book, 1), 1);
    assert_int_equal (job_book_probe_at (book, 1, "eu"), 4000);    //  its job due again
    s_hello (book, "u1", "us", 10, 5000);
    assert_int_equal (job_book_site_probes (book, 1), 1);
    assert_int_equal (job_book_probe_at (book, 1, "eu"), -1);
    job_t job = s_expect_region (book, 5000, 1, "us", "u1");
    assert_int_equal (job.attempt, 1);
    job_book_destroy (&book);
}

//  A recheck DONE asks to keep from a pinger goes to another live pinger
//  of the region with credit when there is one, else to that same one.
//  Site 1 went to p1, site 2 to p2: the round robin points at p1 again.
static void
test_recheck_avoids_a_pinger (void **state)
{
    struct {
        const char *pingers;    //  live eu pingers with credit, "p1" or "p1,p2"
        const char *avoid;      //  DONE's avoid
        const char *expect;     //  who gets the recheck
    } rows [] = {
        { "p1,p2", "p1", "p2" },
        { "p1,p2", "",   "p1" },        //  no avoid: round robin
        { "p1,p2", "p2", "p1" },
        { "p1",    "p1", "p1" },        //  nobody else: p1 after all
        { "p1,p2", "u1", "p1" },        //  a pinger of another region: no effect
    };
    for (size_t row = 0; row < sizeof (rows) / sizeof (rows [0]); row++) {
        job_book_t *book = s_book (false, 3);
        s_put_in (book, 1, "eu", 0, 0);
        s_put_in (book, 2, "eu", 0, 1);
        s_hello (book, "u1", "us", 10, 0);
        s_hello (book, "p1", "eu", 10, 0);
        bool two = strcmp (rows [row].pingers, "p1,p2") == 0;
        if (two)
            s_hello (book, "p2", "eu", 10, 0);
        job_t one = s_expect_region (book, 0, 1, "eu", "p1");
        s_expect_region (book, 1, 2, "eu", two ? "p2" : "p1");
        assert_int_equal (s_done_avoid (book, &one, true, 300, rows [row].avoid, 10), 0);
        s_expect_none (book, 309);
        job_t again = s_expect_region (book, 310, 1, "eu", rows [row].expect);
        assert_int_equal (again.attempt, 1);
        assert_true (again.job_id > one.job_id);
        //  The avoid lasts one send: the next round is plain round robin.
        assert_int_equal (s_done_avoid (book, &again, false, 0, "", 320), 0);
        assert_int_equal (job_book_probe_at (book, 1, "eu"), 310 + INTERVAL);
        job_book_destroy (&book);
    }
}

//  A recheck's avoid when the other pinger has no credit: p1 after all.
static void
test_recheck_avoid_without_credit_elsewhere (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put_in (book, 1, "eu", 0, 0);
    s_hello (book, "p1", "eu", 10, 0);
    s_hello (book, "p2", "eu", 1, 0);
    job_t job = s_expect_region (book, 0, 1, "eu", "p1");
    s_put_in (book, 2, "eu", 0, 0);
    s_expect_region (book, 0, 2, "eu", "p2");                    //  p2's last credit
    assert_int_equal (s_done_avoid (book, &job, true, 0, "p1", 10), 0);
    s_expect_region (book, 10, 1, "eu", "p1");
    job_book_destroy (&book);
}

//  DONE for the eu probe leaves the us probe as it was.
static void
test_done_touches_its_region_only (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put_in (book, 1, "eu,us", 0, 0);
    s_hello (book, "e1", "eu", 10, 0);
    s_hello (book, "u1", "us", 10, 0);
    job_t first = s_expect_region (book, 0, 1, "eu", "e1");
    job_t second = s_expect_region (book, 0, 1, "us", "u1");
    (void) second;
    assert_int_equal (s_done_avoid (book, &first, true, 2000, "e1", 100), 0);
    assert_int_equal (job_book_probe_at (book, 1, "eu"), 2100);
    assert_int_equal (job_book_probe_at (book, 1, "us"), TIMEOUT + MARGIN);
    assert_int_equal (job_book_site_at (book, 1), 2100);
    assert_int_equal (job_book_pinger (book, 0)->outstanding, 0);
    assert_int_equal (job_book_pinger (book, 1)->outstanding, 1);
    //  The same DONE again is stale and moves nothing.
    assert_int_equal (s_done_avoid (book, &first, false, 0, "", 200), -1);
    assert_int_equal (job_book_probe_at (book, 1, "eu"), 2100);
    assert_int_equal (s_counter (book, JOB_BOOK_stale), 1);
    job_book_destroy (&book);
}

//  A reload changes a site's regions: kept regions keep their schedule,
//  a dropped one's probe goes (its DONE stale), a new one is spread.
static void
test_reload_changes_regions (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put_in (book, 1, "eu,us", 0, 0);
    s_hello (book, "e1", "eu", 10, 0);
    s_hello (book, "u1", "us", 10, 0);
    job_t eu = s_expect_region (book, 0, 1, "eu", "e1");
    job_t us = s_expect_region (book, 0, 1, "us", "u1");
    job_book_sites_begin (book);
    s_put_in (book, 1, "eu,asia", 500, 700);
    job_book_sites_end (book);
    assert_int_equal (job_book_site_probes (book, 1), 2);
    assert_int_equal (job_book_probe_at (book, 1, "eu"), TIMEOUT + MARGIN);
    assert_int_equal (job_book_probe_at (book, 1, "asia"), 1200);
    assert_int_equal (job_book_probe_at (book, 1, "us"), -1);
    assert_int_equal (job_book_pinger (book, 1)->outstanding, 0);
    assert_int_equal (s_done_avoid (book, &us, false, 0, "", 600), -1);
    assert_int_equal (s_done_avoid (book, &eu, false, 0, "", 600), 0);
    job_book_destroy (&book);
}

//  A pinger that speaks from another region leaves the old one (its jobs
//  due again there) and serves the new one.
static void
test_pinger_moves_region (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put_in (book, 1, "eu,us", 0, 0);
    s_hello (book, "p1", "eu", 10, 0);
    s_expect_region (book, 0, 1, "eu", "p1");
    assert_int_equal (s_hello (book, "p1", "us", 10, 100), PINGER_BACK);
    assert_int_equal (job_book_region_alive (book, "eu"), 0);
    assert_int_equal (job_book_region_alive (book, "us"), 1);
    assert_int_equal (s_counter (book, JOB_BOOK_gone), 1);
    job_t job = s_expect_region (book, 100, 1, "us", "p1");
    assert_int_equal (job.attempt, 1);
    s_expect_none (book, 100);                      //  eu's resend waits for an eu pinger
    assert_int_equal (job_book_probe_at (book, 1, "eu"), 100);
    job_book_destroy (&book);
}

//  DONE says p1 is quarantined: of the next 16 rounds of a site checked
//  from eu (p1 and p2), p1 gets exactly the 4 probation turns (one send in
//  JOB_BOOK_PROBATION); with p2 out of credit p1 gets the job; released,
//  the two alternate again.
static void
test_quarantined_pinger_gets_probation_only (void **state)
{
    job_book_t *book = s_book (false, 3);
    s_put_in (book, 1, "eu", 0, 100);
    s_hello (book, "p1", "eu", 100, 0);
    s_hello (book, "p2", "eu", 100, 0);
    bool quarantined = true;
    int to_p1 = 0;
    int64_t due = 100;
    for (int round = 0; round < 16; round++, due += INTERVAL) {
        job_t job;
        assert_int_equal (job_book_next (book, due, &job), JOB_SEND);
        job_book_sent (book, &job, due);
        bool p1 = strcmp (job.pinger_id, "p1") == 0;
        to_p1 += p1;
        sq_done_t done = { .job_id = job.job_id, .site_id = 1 };
        snprintf (done.region, sizeof (done.region), "eu");
        snprintf (done.pinger, sizeof (done.pinger), "%s", job.pinger_id);
        done.quarantined = p1 && quarantined;
        assert_int_equal (job_book_done (book, &done, due + 10), 0);
        if (round == 0) {
            assert_true (p1);   //  first in turn; its DONE quarantines it
            to_p1 = 0;          //  counted from the quarantine on
        }
    }
    assert_int_equal (s_counter (book, JOB_BOOK_quarantined), 1);
    assert_int_equal (to_p1, 3);        //  rounds 1..15: sends 4, 8, 12 are probation turns
    //  A stale DONE still carries the word: p1 quarantined stays so.
    sq_done_t stale = { .job_id = 1, .site_id = 1, .quarantined = true };
    snprintf (stale.pinger, sizeof (stale.pinger), "p1");
    assert_int_equal (job_book_done (book, &stale, due), -1);
    assert_int_equal (s_counter (book, JOB_BOOK_quarantined), 1);
    //  p2 has no credit left: p1 takes the job.
    job_book_pinger_message_keyed (book, "p2", "", "eu", false, 0, due);
    job_t job = s_expect_region (book, due, 1, "eu", "p1");
    //  Released: the round robin takes both again.
    sq_done_t done = { .job_id = job.job_id, .site_id = 1, .quarantined = false };
    snprintf (done.pinger, sizeof (done.pinger), "p1");
    assert_int_equal (job_book_done (book, &done, due + 10), 0);
    assert_int_equal (s_counter (book, JOB_BOOK_released), 1);
    job_book_pinger_message_keyed (book, "p2", "", "eu", false, 100, due + 10);
    job_book_pinger_message_keyed (book, "p1", "", "eu", false, 100, due + 10);
    int to_each [2] = { 0, 0 };
    for (int round = 0; round < 8; round++) {
        due += INTERVAL;
        job = s_expect_region (book, due, 1, "eu", NULL);
        to_each [strcmp (job.pinger_id, "p1") == 0 ? 0 : 1]++;
        sq_done_t next = { .job_id = job.job_id, .site_id = 1 };
        snprintf (next.pinger, sizeof (next.pinger), "%s", job.pinger_id);
        assert_int_equal (job_book_done (book, &next, due + 10), 0);
    }
    assert_int_equal (to_each [0], 4);
    assert_int_equal (to_each [1], 4);
    job_book_destroy (&book);
}


//  Thousands of sites come and go: the site id table grows, and a site
//  dropped from the middle of a run of collisions leaves every other one
//  findable (ids a multiple of 4,096 apart share their low bits).
static void
test_many_sites_come_and_go (void **state)
{
    job_book_t *book = s_book (false, 3);
    const uint64_t count = 5000, step = 4096;
    job_book_sites_begin (book);
    for (uint64_t index = 1; index <= count; index++)
        s_put (book, index * step, INTERVAL, 0, 0);
    job_book_sites_end (book);
    assert_int_equal (job_book_site_count (book), count);
    //  Every other one dropped.
    job_book_sites_begin (book);
    for (uint64_t index = 2; index <= count; index += 2)
        s_put (book, index * step, INTERVAL, 0, 0);
    job_book_sites_end (book);
    assert_int_equal (job_book_site_count (book), count / 2);
    for (uint64_t index = 1; index <= count; index++) {
        const job_site_t *site = job_book_site (book, index * step);
        if (index % 2) {
            assert_null (site);
        }
        else {
            assert_non_null (site);
            assert_int_equal (site->site_id, index * step);
        }
    }
    //  And back: all of them found again.
    job_book_sites_begin (book);
    for (uint64_t index = 1; index <= count; index++)
        s_put (book, index * step, INTERVAL, 0, 0);
    job_book_sites_end (book);
    assert_int_equal (job_book_site_count (book), count);
    for (uint64_t index = 1; index <= count; index++)
        assert_non_null (job_book_site (book, index * step));
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
        cmocka_unit_test (test_regions_one_job_per_region_per_round),
        cmocka_unit_test (test_region_without_pinger_waits),
        cmocka_unit_test (test_default_regions_follow_pingers),
        cmocka_unit_test (test_default_regions_kept_while_none_is_live),
        cmocka_unit_test (test_recheck_avoids_a_pinger),
        cmocka_unit_test (test_recheck_avoid_without_credit_elsewhere),
        cmocka_unit_test (test_done_touches_its_region_only),
        cmocka_unit_test (test_reload_changes_regions),
        cmocka_unit_test (test_pinger_moves_region),
        cmocka_unit_test (test_quarantined_pinger_gets_probation_only),
        cmocka_unit_test (test_many_sites_come_and_go),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
