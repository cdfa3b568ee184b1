/*  test_store.c: the store, through the real writer actor and real SQLite
    files.  RESULT and ALERT go in over a real PUSH socket; what was written
    is read back through store_status, store_site_regions and
    store_incidents (and, for pruning, lock contention and schema upgrades,
    through a plain SQLite connection of our own).
    Every test has its own mkdtemp folder, so ctest can run them in parallel.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "store_api.h"
#include "sq_actor.h"
#include "sq_wire.h"
#include "alert_seq.h"

#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define HOUR_US     3600000000LL
#define DAY_US      (24 * HOUR_US)

typedef struct {
    char folder [64];           //  mkdtemp folder, removed at teardown
    char data_dir [96];         //  folder/data: the store must create it
    char endpoint [64];         //  the actor's PULL, unique per test
    zactor_t *actor;            //  the writer under test, or NULL
    zsock_t *push;              //  PUSH standing in for the collector
    store_t *store;             //  a reader connection, or NULL
} fixture_t;

static int
s_setup (void **state)
{
    static unsigned instance = 0;
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    assert_non_null (self);
    snprintf (self->folder, sizeof (self->folder), "/tmp/test-store-XXXXXX");
    assert_non_null (mkdtemp (self->folder));
    snprintf (self->data_dir, sizeof (self->data_dir), "%s/data", self->folder);
    snprintf (self->endpoint, sizeof (self->endpoint), "inproc://test-store-%u", instance++);
    *state = self;
    return 0;
}

static int
s_remove (const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove (path);
}

//  The file size limit before s_disk_full (test_store.c's full-disk
//  cases), restored at teardown should a case fail while it holds.
static struct rlimit s_fsize_limit;
static bool s_fsize_limited;

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    if (s_fsize_limited && setrlimit (RLIMIT_FSIZE, &s_fsize_limit) == 0)
        s_fsize_limited = false;
    zsock_destroy (&self->push);
    zactor_destroy (&self->actor);
    store_close (&self->store);
    nftw (self->folder, s_remove, 8, FTW_DEPTH | FTW_PHYS);
    free (self);
    return 0;
}

//  Start the writer and connect the PUSH.
static void
s_start (fixture_t *self, uint32_t retention_days)
{
    store_args_t args = {
        .data_dir = self->data_dir, .endpoint = self->endpoint,
        .retention_results_ms = (uint64_t) retention_days * 86400000
    };
    self->actor = sq_actor_start (store_actor, &args, "store");
    assert_non_null (self->actor);
    self->push = zsock_new (ZMQ_PUSH);
    assert_non_null (self->push);
    zsock_set_linger (self->push, 2000);
    assert_int_equal (zsock_connect (self->push, "%s", self->endpoint), 0);
}

//  Open the reader and give it the sites.
static void
s_open_sites (fixture_t *self, const char **urls, const char **owners, size_t count, uint64_t *ids)
{
    char error [256] = "";
    if (!self->store)
        self->store = store_open (self->data_dir, error, sizeof (error));
    assert_non_null (self->store);
    assert_int_equal (store_sync_sites (self->store, urls, owners, count, ids, error, sizeof (error)), 0);
}

//  A RESULT from a pinger of region.
static void
s_send_region_result (fixture_t *self, uint64_t site_id, const char *region, int64_t at,
                      bool up, sq_reason_t reason, unsigned status, uint64_t total_us)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_RESULT;
    msg.result.job_id = 1;
    msg.result.attempt = 1;
    msg.result.site_id = site_id;
    strcpy (msg.result.pinger_id, "test-pinger");
    snprintf (msg.result.region, sizeof (msg.result.region), "%s", region);
    msg.result.up = up;
    msg.result.reason = (uint8_t) reason;
    msg.result.http_status = (uint16_t) status;
    msg.result.total_us = total_us;
    msg.result.at = at;
    assert_int_equal (sq_wire_send (self->push, NULL, 0, &msg), 0);
}

static void
s_send_result (fixture_t *self, uint64_t site_id, int64_t at, bool up, sq_reason_t reason,
               unsigned status, uint64_t total_us)
{
    s_send_region_result (self, site_id, "loopback", at, up, reason, status, total_us);
}

static void
s_send_alert (fixture_t *self, uint64_t site_id, sq_state_t state, int64_t since,
              sq_reason_t reason, const char *detail)
{
    static uint64_t seq = 0;
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_ALERT;
    msg.alert.seq = ++seq;
    msg.alert.site_id = site_id;
    strcpy (msg.alert.url, "https://example.com/");
    msg.alert.previous = SQ_STATE_UNKNOWN;
    msg.alert.state = (uint8_t) state;
    msg.alert.since = since;
    msg.alert.reason = (uint8_t) reason;
    snprintf (msg.alert.detail, sizeof (msg.alert.detail), "%s", detail);
    assert_int_equal (sq_wire_send (self->push, NULL, 0, &msg), 0);
}

//  Send a pipe command, return the reply (caller frees); NULL on timeout.
static char *
s_command (fixture_t *self, const char *command)
{
    assert_int_equal (zstr_send (self->actor, command), 0);
    zsock_set_rcvtimeo (self->actor, 20000);
    char *reply = zstr_recv (self->actor);
    zsock_set_rcvtimeo (self->actor, -1);
    return reply;
}

static void
s_flush (fixture_t *self)
{
    char *reply = s_command (self, "FLUSH");
    assert_non_null (reply);
    assert_string_equal (reply, "OK");
    zstr_free (&reply);
}

static long long
s_stat (fixture_t *self, const char *name)
{
    char *stats = sq_actor_stats (self->actor);
    assert_non_null (stats);
    long long value = sq_stats_value (stats, name);
    free (stats);
    return value;
}

//  Poll a counter until it reaches want, with a deadline.
static long long
s_wait_stat (fixture_t *self, const char *name, long long want, int64_t timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    long long value;
    while ((value = s_stat (self, name)) < want && zclock_mono () < deadline)
        zclock_sleep (5);
    return value;
}

//  Collected store_status rows.
typedef struct {
    size_t count;                   //  rows seen
    store_status_t rows [8];        //  the first 8, pointers redirected below
    char urls [8][128];             //  copies of url
    char owners [8][64];            //  copies of owner
} status_list_t;

static void
s_collect_status (const store_status_t *row, void *arg)
{
    status_list_t *list = (status_list_t *) arg;
    if (list->count < 8) {
        size_t index = list->count;
        list->rows [index] = *row;
        snprintf (list->urls [index], sizeof (list->urls [index]), "%s", row->url);
        snprintf (list->owners [index], sizeof (list->owners [index]), "%s", row->owner);
        list->rows [index].url = list->urls [index];
        list->rows [index].owner = list->owners [index];
    }
    list->count++;
}

static void
s_status (store_t *store, int64_t now, status_list_t *list)
{
    memset (list, 0, sizeof (*list));
    int rows = store_status (store, now, s_collect_status, list);
    assert_int_equal (rows, list->count);
}

//  Collected store_incidents rows.
typedef struct {
    size_t count;                   //  rows seen
    store_incident_t rows [8];      //  the first 8
    char details [8][SQ_TEXT_MAX + 1];  //  copies of detail
} incident_list_t;

static void
s_collect_incident (const store_incident_t *row, void *arg)
{
    incident_list_t *list = (incident_list_t *) arg;
    if (list->count < 8) {
        size_t index = list->count;
        list->rows [index] = *row;
        snprintf (list->details [index], sizeof (list->details [index]), "%s", row->detail);
        list->rows [index].detail = list->details [index];
    }
    list->count++;
}

static void
s_incidents (store_t *store, uint64_t site_id, size_t limit, incident_list_t *list)
{
    memset (list, 0, sizeof (*list));
    int rows = store_incidents (store, site_id, limit, s_collect_incident, list);
    assert_int_equal (rows, list->count);
}

//  Raw result rows, through a connection of our own.
static long long
s_count_results (fixture_t *self)
{
    char path [160];
    snprintf (path, sizeof (path), "%s/%s", self->data_dir, STORE_FILE_NAME);
    sqlite3 *db;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *statement;
    assert_int_equal (sqlite3_prepare_v2 (db, "SELECT COUNT (*) FROM result", -1, &statement, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_step (statement), SQLITE_ROW);
    long long count = sqlite3_column_int64 (statement, 0);
    sqlite3_finalize (statement);
    sqlite3_close (db);
    return count;
}


//  A writer slower than the results holds its backlog, bounded: 60,000
//  results queued before it starts (a PUSH connected before the bind),
//  then an ALERT.  It reads ahead of each flush and holds at most
//  STORE_BEHIND_MAX: the oldest raw results beyond are dropped (counted),
//  the newest kept, the alert kept; nothing is left in the socket's queue.
static void
test_writer_behind_holds_a_bounded_backlog (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    enum { SENT = STORE_PENDING_MAX + 10000 };
    const char *urls [] = { "https://behind.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    self->push = zsock_new (ZMQ_PUSH);
    assert_non_null (self->push);
    zsock_set_sndhwm (self->push, 0);
    zsock_set_linger (self->push, 2000);
    assert_int_equal (zsock_connect (self->push, "%s", self->endpoint), 0);
    int64_t first = sq_wallclock_us () - SENT;
    for (int index = 0; index < SENT; index++)
        s_send_result (self, id, first + index, true, SQ_REASON_OK, 200, 1000);
    s_send_alert (self, id, SQ_STATE_UP, first + SENT, SQ_REASON_OK, "HTTP 200");
    store_args_t args = { .data_dir = self->data_dir, .endpoint = self->endpoint };
    self->actor = sq_actor_start (store_actor, &args, "store");
    assert_non_null (self->actor);
    assert_int_equal (s_wait_stat (self, "alerts", 1, 60000), 1);
    //  Everything taken and written or dropped: FLUSH answers when done.
    assert_int_equal (s_wait_stat (self, "results", SENT, 60000), SENT);
    s_flush (self);
    long long dropped = s_stat (self, "dropped");
    long long stored = s_count_results (self);
    printf ("test_store: %lld results stored, %lld dropped\n", stored, dropped);
    assert_true (dropped > 0 && dropped <= SENT - STORE_BEHIND_MAX);
    assert_int_equal (stored + dropped, SENT);
    //  The oldest went: the newest result is kept, and the alert.
    char path [160];
    snprintf (path, sizeof (path), "%s/%s", self->data_dir, STORE_FILE_NAME);
    sqlite3 *db;
    assert_int_equal (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *statement;
    assert_int_equal (sqlite3_prepare_v2 (db, "SELECT MIN (at_us), MAX (at_us), (SELECT COUNT (*)"
                                          " FROM alert) FROM result", -1, &statement, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_step (statement), SQLITE_ROW);
    assert_true (sqlite3_column_int64 (statement, 0) >= first + dropped);
    assert_int_equal (sqlite3_column_int64 (statement, 1), first + SENT - 1);
    assert_int_equal (sqlite3_column_int64 (statement, 2), 1);
    sqlite3_finalize (statement);
    sqlite3_close (db);
}

static void
test_results_make_rollups_and_uptime (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://b.example/", "https://a.example/" };
    const char *owners [] = { "bob@example.com", NULL };
    uint64_t ids [2];
    s_open_sites (self, urls, owners, 2, ids);
    s_start (self, 0);
    //  The data folder was made private.
    struct stat info;
    assert_int_equal (stat (self->data_dir, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0700);

    int64_t now = sq_wallclock_us ();
    //  Site b: the newest check is sent first; it must stay the last check.
    s_send_result (self, ids [0], now - HOUR_US / 2, true, SQ_REASON_OK, 200, 1000);
    s_send_result (self, ids [0], now - 1 * HOUR_US, true, SQ_REASON_OK, 200, 2000);
    s_send_result (self, ids [0], now - 2 * HOUR_US, true, SQ_REASON_OK, 204, 3000);
    s_send_result (self, ids [0], now - 3 * HOUR_US, false, SQ_REASON_TIMEOUT, 0, 4000);
    s_send_result (self, ids [0], now - 3 * DAY_US, true, SQ_REASON_OK, 200, 5000);
    s_send_result (self, ids [0], now - 3 * DAY_US, true, SQ_REASON_OK, 200, 6000);
    s_send_result (self, ids [0], now - 10 * DAY_US, false, SQ_REASON_DNS, 0, 7000);
    s_send_result (self, ids [0], now - 10 * DAY_US, false, SQ_REASON_DNS, 0, 8000);
    s_flush (self);
    assert_int_equal (s_stat (self, "results"), 8);
    assert_int_equal (s_stat (self, "pending"), 0);
    assert_int_equal (s_stat (self, "dropped"), 0);
    assert_true (s_stat (self, "flushes") >= 1);
    assert_int_equal (s_count_results (self), 8);

    status_list_t list;
    s_status (self->store, now, &list);
    assert_int_equal (list.count, 2);
    //  Ordered by URL: a first.  It has never been checked.
    assert_string_equal (list.rows [0].url, "https://a.example/");
    assert_string_equal (list.rows [0].owner, "");
    assert_int_equal (list.rows [0].id, ids [1]);
    assert_int_equal (list.rows [0].last_check_us, 0);
    assert_int_equal (list.rows [0].state, SQ_STATE_UNKNOWN);
    assert_float_equal (list.rows [0].uptime_24h, -1, 0.0001);
    assert_float_equal (list.rows [0].uptime_7d, -1, 0.0001);
    assert_float_equal (list.rows [0].uptime_30d, -1, 0.0001);

    const store_status_t *b = &list.rows [1];
    assert_string_equal (b->url, "https://b.example/");
    assert_string_equal (b->owner, "bob@example.com");
    assert_int_equal (b->last_check_us, now - HOUR_US / 2);
    assert_int_equal (b->last_reason, SQ_REASON_OK);
    assert_int_equal (b->last_status, 200);
    assert_float_equal (b->uptime_24h, 75.0, 0.0001);           //  3 of 4
    assert_float_equal (b->uptime_7d, 100.0 * 5 / 6, 0.0001);   //  5 of 6
    assert_float_equal (b->uptime_30d, 100.0 * 5 / 8, 0.0001);  //  5 of 8
    assert_int_equal (b->open_incident, 0);
}

static void
test_uptime_is_minus_one_without_checks (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://old.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    int64_t now = sq_wallclock_us ();
    s_send_result (self, id, now - 10 * DAY_US, true, SQ_REASON_OK, 200, 1000);
    s_send_result (self, id, now - 40 * DAY_US, false, SQ_REASON_CONNECT, 0, 1000);
    s_flush (self);
    status_list_t list;
    s_status (self->store, now, &list);
    assert_int_equal (list.count, 1);
    assert_float_equal (list.rows [0].uptime_24h, -1, 0.0001);
    assert_float_equal (list.rows [0].uptime_7d, -1, 0.0001);
    //  The 40-day-old failure is outside the 30-day window.
    assert_float_equal (list.rows [0].uptime_30d, 100, 0.0001);
    //  Seen from 60 days on, no window has a check at all.
    s_status (self->store, now + 60 * DAY_US, &list);
    assert_float_equal (list.rows [0].uptime_30d, -1, 0.0001);
}

static void
test_uptime_windows_have_sharp_edges (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://edge.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    //  Half an hour into an hour: a window of 24 holds this hour and the 23
    //  before it, so 23.5 h ago is in and 24 h ago is out.
    int64_t now = sq_wallclock_us () / HOUR_US * HOUR_US + HOUR_US / 2;
    s_send_result (self, id, now - 23 * HOUR_US - HOUR_US / 2, true, SQ_REASON_OK, 200, 1000);
    s_send_result (self, id, now - 24 * HOUR_US, false, SQ_REASON_CONNECT, 0, 1000);
    s_send_result (self, id, now - 7 * DAY_US + HOUR_US / 2, true, SQ_REASON_OK, 200, 1000);
    s_send_result (self, id, now - 7 * DAY_US, false, SQ_REASON_CONNECT, 0, 1000);
    s_send_result (self, id, now - 30 * DAY_US + HOUR_US / 2, true, SQ_REASON_OK, 200, 1000);
    s_send_result (self, id, now - 30 * DAY_US, false, SQ_REASON_CONNECT, 0, 1000);
    s_flush (self);
    status_list_t list;
    s_status (self->store, now, &list);
    assert_float_equal (list.rows [0].uptime_24h, 100, 0.0001);             //  1 of 1
    assert_float_equal (list.rows [0].uptime_7d, 100.0 * 2 / 3, 0.0001);    //  2 of 3
    assert_float_equal (list.rows [0].uptime_30d, 100.0 * 3 / 5, 0.0001);   //  3 of 5
}

static void
test_down_then_up_makes_one_closed_incident (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://flaky.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    int64_t down_at = sq_wallclock_us () - HOUR_US;
    int64_t up_at = down_at + 600000000LL;

    s_send_alert (self, id, SQ_STATE_DOWN, down_at, SQ_REASON_TIMEOUT, "no answer in 10 s");
    s_flush (self);
    incident_list_t incidents;
    s_incidents (self->store, id, 10, &incidents);
    assert_int_equal (incidents.count, 1);
    assert_int_equal (incidents.rows [0].start_us, down_at);
    assert_int_equal (incidents.rows [0].end_us, 0);
    status_list_t list;
    s_status (self->store, sq_wallclock_us (), &list);
    assert_int_equal (list.rows [0].open_incident, 1);
    assert_int_equal (list.rows [0].state, SQ_STATE_DOWN);

    s_send_alert (self, id, SQ_STATE_UP, up_at, SQ_REASON_OK, "back");
    s_flush (self);
    s_incidents (self->store, id, 10, &incidents);
    assert_int_equal (incidents.count, 1);
    assert_int_equal (incidents.rows [0].start_us, down_at);
    assert_int_equal (incidents.rows [0].end_us, up_at);
    assert_int_equal (incidents.rows [0].reason, SQ_REASON_TIMEOUT);
    assert_string_equal (incidents.rows [0].detail, "no answer in 10 s");
    sq_state_t site_state;
    int64_t since = 0;
    assert_int_equal (store_site_state (self->store, id, &site_state, &since), 0);
    assert_int_equal (site_state, SQ_STATE_UP);
    assert_int_equal (since, up_at);
    s_status (self->store, sq_wallclock_us (), &list);
    assert_int_equal (list.rows [0].open_incident, 0);
    assert_int_equal (s_stat (self, "alerts"), 2);
    //  An unknown site has no state.
    assert_int_equal (store_site_state (self->store, id + 100, &site_state, &since), -1);
}

//  Every site's state in one statement (the collector's start): the same
//  as one look-up per site, sorted by id, found by id.
static void
test_site_states_in_one_read (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/", "https://b.example/", "https://c.example/" };
    uint64_t ids [3];
    s_open_sites (self, urls, NULL, 3, ids);
    s_start (self, 0);
    int64_t down_at = sq_wallclock_us () - HOUR_US;
    s_send_alert (self, ids [1], SQ_STATE_DOWN, down_at, SQ_REASON_TIMEOUT, "no answer");
    s_flush (self);
    store_site_state_t *states = NULL;
    size_t count = 0;
    assert_int_equal (store_site_states (self->store, &states, &count), 0);
    assert_int_equal (count, 3);
    for (size_t index = 1; index < count; index++)
        assert_true (states [index - 1].site_id < states [index].site_id);
    for (size_t index = 0; index < 3; index++) {
        const store_site_state_t *found = store_site_state_find (states, count, ids [index]);
        assert_non_null (found);
        sq_state_t one;
        int64_t since = 0;
        assert_int_equal (store_site_state (self->store, ids [index], &one, &since), 0);
        assert_int_equal (found->state, one);
        assert_int_equal (found->since_us, since);
    }
    assert_int_equal (store_site_state_find (states, count, ids [1])->state, SQ_STATE_DOWN);
    assert_int_equal (store_site_state_find (states, count, ids [1])->since_us, down_at);
    assert_null (store_site_state_find (states, count, ids [2] + 100));
    assert_null (store_site_state_find (states, count, 0));
    assert_null (store_site_state_find (NULL, 0, ids [0]));
    free (states);
}

static void
test_site_that_stays_down_keeps_one_open_incident (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://dead.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    int64_t t1 = sq_wallclock_us () - 5 * HOUR_US;
    //  DOWN again in the same batch and in a later one (a collector restart
    //  says so again): still the one incident that began at t1.
    s_send_alert (self, id, SQ_STATE_DOWN, t1, SQ_REASON_DNS, "no such name");
    s_send_alert (self, id, SQ_STATE_DOWN, t1 + 1000, SQ_REASON_DNS, "no such name");
    s_flush (self);
    s_send_alert (self, id, SQ_STATE_DOWN, t1 + 2000, SQ_REASON_CONNECT, "refused");
    s_flush (self);
    incident_list_t incidents;
    s_incidents (self->store, id, 10, &incidents);
    assert_int_equal (incidents.count, 1);
    assert_int_equal (incidents.rows [0].start_us, t1);
    assert_int_equal (incidents.rows [0].end_us, 0);
    assert_int_equal (incidents.rows [0].reason, SQ_REASON_DNS);
    status_list_t list;
    s_status (self->store, sq_wallclock_us (), &list);
    assert_int_equal (list.rows [0].open_incident, 1);

    //  Up, then down again: a second incident, newest first.
    s_send_alert (self, id, SQ_STATE_UP, t1 + HOUR_US, SQ_REASON_OK, "");
    s_send_alert (self, id, SQ_STATE_DOWN, t1 + 2 * HOUR_US, SQ_REASON_KEYWORD, "keyword missing");
    s_flush (self);
    s_incidents (self->store, id, 10, &incidents);
    assert_int_equal (incidents.count, 2);
    assert_int_equal (incidents.rows [0].start_us, t1 + 2 * HOUR_US);
    assert_int_equal (incidents.rows [0].end_us, 0);
    assert_int_equal (incidents.rows [1].start_us, t1);
    assert_int_equal (incidents.rows [1].end_us, t1 + HOUR_US);
    s_incidents (self->store, id, 1, &incidents);
    assert_int_equal (incidents.count, 1);
    assert_int_equal (incidents.rows [0].reason, SQ_REASON_KEYWORD);
    assert_int_equal (s_stat (self, "dropped"), 0);
    assert_int_equal (s_stat (self, "failed_writes"), 0);
}

static void
test_sync_sites_gives_stable_ids (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    //  A new store (its sites are not read first): a URL listed twice
    //  gets one id, as in a store that has sites.
    const char *first [] = { "https://a.example/", "https://b.example/", "https://c.example/",
                             "https://a.example/" };
    const char *owners [] = { "ann", "ben", "cat", "ann" };
    uint64_t ids [4];
    s_open_sites (self, first, owners, 4, ids);
    assert_true (ids [0] != ids [1] && ids [1] != ids [2] && ids [0] != ids [2]);
    assert_int_equal (ids [3], ids [0]);
    assert_int_equal (ids [0], 1);
    assert_int_equal (ids [1], 2);
    assert_int_equal (ids [2], 3);

    //  b dropped, a gets a new owner: same ids, b inactive but kept.
    const char *second [] = { "https://c.example/", "https://a.example/" };
    const char *owners2 [] = { "cat", "amy" };
    uint64_t ids2 [2];
    s_open_sites (self, second, owners2, 2, ids2);
    assert_int_equal (ids2 [0], ids [2]);
    assert_int_equal (ids2 [1], ids [0]);
    status_list_t list;
    s_status (self->store, sq_wallclock_us (), &list);
    assert_int_equal (list.count, 2);
    assert_string_equal (list.rows [0].url, "https://a.example/");
    assert_string_equal (list.rows [0].owner, "amy");
    assert_string_equal (list.rows [1].url, "https://c.example/");
    sq_state_t site_state;
    assert_int_equal (store_site_state (self->store, ids [1], &site_state, NULL), 0);

    //  Across a reopen, b comes back with its id and d is new.
    store_close (&self->store);
    assert_null (self->store);
    store_close (&self->store);     //  safe twice
    const char *third [] = { "https://d.example/", "https://b.example/", "https://a.example/" };
    uint64_t ids3 [3];
    s_open_sites (self, third, NULL, 3, ids3);
    assert_int_equal (ids3 [1], ids [1]);
    assert_int_equal (ids3 [2], ids [0]);
    assert_true (ids3 [0] != ids [0] && ids3 [0] != ids [1] && ids3 [0] != ids [2]);
    s_status (self->store, sq_wallclock_us (), &list);
    assert_int_equal (list.count, 3);
    //  One site's row alone, found by its URL; an unknown or retired
    //  site has none.
    assert_int_equal (store_site_id (self->store, "https://b.example/"), ids [1]);
    assert_int_equal (store_site_id (self->store, "https://nowhere.example/"), 0);
    memset (&list, 0, sizeof (list));
    assert_int_equal (store_status_of (self->store, sq_wallclock_us (), ids [1], s_collect_status,
                                       &list), 1);
    assert_int_equal (list.count, 1);
    assert_string_equal (list.rows [0].url, "https://b.example/");
    assert_int_equal (list.rows [0].id, ids [1]);
    memset (&list, 0, sizeof (list));
    assert_int_equal (store_status_of (self->store, sq_wallclock_us (), ids [2], s_collect_status,
                                       &list), 0);          //  c: retired
    assert_int_equal (store_status_of (self->store, sq_wallclock_us (), 999, s_collect_status,
                                       &list), 0);
    //  And every site again after one.
    s_status (self->store, sq_wallclock_us (), &list);
    assert_int_equal (list.count, 3);

    //  A missing URL is refused and changes nothing.
    const char *bad [] = { "https://a.example/", "" };
    char error [256] = "";
    assert_int_equal (store_sync_sites (self->store, bad, NULL, 2, NULL, error, sizeof (error)), -1);
    assert_non_null (strstr (error, "site 2"));
    s_status (self->store, sq_wallclock_us (), &list);
    assert_int_equal (list.count, 3);
}

static void
test_malformed_frames_are_counted (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    //  Garbage, two frames, a message of the wrong type.
    zstr_send (self->push, "\xdd\xff\xff\xff\xff");
    zstr_sendm (self->push, "two");
    zstr_send (self->push, "frames");
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    msg.type = SQ_MSG_READY;
    strcpy (msg.ready.pinger_id, "impostor");
    assert_int_equal (sq_wire_send (self->push, NULL, 0, &msg), 0);
    //  A site id that cannot be a store id, and one the store does not know.
    int64_t now = sq_wallclock_us ();
    s_send_result (self, UINT64_MAX, now, true, SQ_REASON_OK, 200, 1000);
    s_send_result (self, id + 1000, now, true, SQ_REASON_OK, 200, 1000);
    assert_int_equal (s_wait_stat (self, "malformed", 4, 5000), 4);
    //  The good one still goes through.
    s_send_result (self, id, now, true, SQ_REASON_OK, 200, 1000);
    s_flush (self);
    assert_int_equal (s_stat (self, "malformed"), 4);
    assert_int_equal (s_stat (self, "results"), 2);
    assert_int_equal (s_stat (self, "dropped"), 1);     //  the unknown site
    assert_int_equal (s_stat (self, "failed_writes"), 0);
    assert_int_equal (s_count_results (self), 1);
    status_list_t list;
    s_status (self->store, now, &list);
    assert_float_equal (list.rows [0].uptime_24h, 100, 0.0001);
    //  An unknown command is ignored; the actor still answers.
    assert_int_equal (zstr_send (self->actor, "FROBNICATE"), 0);
    assert_int_equal (s_stat (self, "results"), 2);
}

static void
test_term_flushes_pending_writes (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    store_close (&self->store);
    s_start (self, 0);
    int64_t now = sq_wallclock_us ();
    for (int index = 0; index < 100; index++)
        s_send_result (self, id, now - index * 1000000LL, index % 4 != 0, SQ_REASON_OK, 200, 1000);
    s_send_alert (self, id, SQ_STATE_DOWN, now, SQ_REASON_TLS, "certificate expired");
    zactor_destroy (&self->actor);      //  at once: nothing was flushed yet

    char error [256] = "";
    self->store = store_open (self->data_dir, error, sizeof (error));
    assert_non_null (self->store);
    status_list_t list;
    s_status (self->store, now, &list);
    assert_int_equal (list.count, 1);
    assert_int_equal (list.rows [0].last_check_us, now);
    assert_float_equal (list.rows [0].uptime_24h, 75, 0.0001);
    assert_int_equal (list.rows [0].state, SQ_STATE_DOWN);
    assert_int_equal (list.rows [0].open_incident, 1);
    assert_int_equal (s_count_results (self), 100);
}

static void
test_prune_removes_old_results_keeps_rollups (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    int64_t now = sq_wallclock_us ();
    //  More than one prune slice of old results (and more than one batch).
    const int old = STORE_PRUNE_SLICE + 1000;
    for (int index = 0; index < old; index++)
        s_send_result (self, id, now - 10 * DAY_US - index * 1000000LL, false,
                       SQ_REASON_HTTP_STATUS, 500, 1000);
    for (int index = 0; index < 5; index++)
        s_send_result (self, id, now - index * 1000000LL, true, SQ_REASON_OK, 200, 1000);
    s_flush (self);
    assert_true (s_stat (self, "flushes") >= 1);    //  more than 2,000 when queued
    assert_int_equal (s_stat (self, "results"), old + 5);
    assert_int_equal (s_count_results (self), old + 5);

    char *reply = s_command (self, "PRUNE");
    assert_non_null (reply);
    char expected [32];
    snprintf (expected, sizeof (expected), "OK %d", old);
    assert_string_equal (reply, expected);
    zstr_free (&reply);
    assert_int_equal (s_count_results (self), 5);
    //  The rollups still know the old checks.
    status_list_t list;
    s_status (self->store, now, &list);
    assert_float_equal (list.rows [0].uptime_24h, 100, 0.0001);
    assert_float_equal (list.rows [0].uptime_30d, 100.0 * 5 / (old + 5), 0.0001);
    //  Nothing left to prune.
    reply = s_command (self, "PRUNE");
    assert_non_null (reply);
    assert_string_equal (reply, "OK 0");
    zstr_free (&reply);
}

static void
test_batches_flush_by_time (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    int64_t sent_at = zclock_mono ();
    s_send_result (self, id, sq_wallclock_us (), true, SQ_REASON_OK, 200, 1000);
    assert_int_equal (s_wait_stat (self, "flushes", 1, 5000), 1);
    int64_t elapsed = zclock_mono () - sent_at;
    assert_true (elapsed >= STORE_FLUSH_MS - 50);   //  not before its time
    assert_int_equal (s_stat (self, "pending"), 0);
    assert_int_equal (s_count_results (self), 1);
}

static void
test_reader_works_beside_the_writer (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/", "https://b.example/" };
    uint64_t ids [2];
    s_open_sites (self, urls, NULL, 2, ids);
    s_start (self, 0);
    int64_t now = sq_wallclock_us ();
    //  Keep the writer busy with batches (no FLUSH: size and time decide)
    //  while the reader reads and even syncs sites.
    const int total = 5000;
    int64_t deadline = zclock_mono () + 20000;
    status_list_t list;
    double checks_seen = 0;
    for (int sent = 0; zclock_mono () < deadline; ) {
        for (int index = 0; index < 500 && sent < total; index++, sent++)
            s_send_result (self, ids [sent % 2], now - total + sent, true, SQ_REASON_OK, 200, 1000);
        s_status (self->store, now, &list);
        assert_int_equal (list.count, 2);
        char error [256] = "";
        assert_int_equal (store_sync_sites (self->store, urls, NULL, 2, NULL, error, sizeof (error)), 0);
        if (list.rows [0].last_check_us == now - 2 && list.rows [1].last_check_us == now - 1) {
            checks_seen = list.rows [0].uptime_24h;
            break;
        }
        zclock_sleep (5);
    }
    assert_float_equal (checks_seen, 100, 0.0001);
    assert_int_equal (s_count_results (self), total);
    assert_int_equal (s_stat (self, "failed_writes"), 0);
}

//  Hold the write lock from a connection of our own.
static sqlite3 *
s_lock (fixture_t *self)
{
    char path [160];
    snprintf (path, sizeof (path), "%s/%s", self->data_dir, STORE_FILE_NAME);
    sqlite3 *db;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void
s_unlock (sqlite3 *db)
{
    assert_int_equal (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
}

static void
test_busy_database_is_retried (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    //  Someone else holds the write lock.
    sqlite3 *db = s_lock (self);
    int64_t now = sq_wallclock_us ();
    for (int index = 0; index < 3; index++)
        s_send_result (self, id, now - index, true, SQ_REASON_OK, 200, 1000);
    char *reply = s_command (self, "FLUSH");
    assert_non_null (reply);
    assert_true (strncmp (reply, "ERROR ", 6) == 0);
    zstr_free (&reply);
    assert_true (s_stat (self, "failed_writes") >= 1);
    assert_int_equal (s_stat (self, "pending"), 3);     //  kept for a retry
    assert_int_equal (s_stat (self, "dropped"), 0);
    //  The lock goes away: the batch is written, nothing lost.
    s_unlock (db);
    assert_int_equal (s_wait_stat (self, "flushes", 1, 10000), 1);
    assert_int_equal (s_stat (self, "pending"), 0);
    assert_int_equal (s_stat (self, "dropped"), 0);
    assert_int_equal (s_count_results (self), 3);
}

static void
test_full_queue_drops_new_writes_and_recovers (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    sqlite3 *db = s_lock (self);
    int64_t now = sq_wallclock_us ();
    const int extra = 10;
    //  A first batch, until a flush has failed; then the rest: a burst
    //  queued before the first flush would be a writer behind, not one
    //  failing (test_writer_behind_holds_a_bounded_backlog).
    const int first = STORE_FLUSH_WRITES + 10;
    for (int index = 0; index < first; index++)
        s_send_result (self, id, now - index, true, SQ_REASON_OK, 200, 1000);
    assert_true (s_wait_stat (self, "failed_writes", 1, 20000) >= 1);
    for (int index = first; index < STORE_PENDING_MAX + extra; index++)
        s_send_result (self, id, now - index, true, SQ_REASON_OK, 200, 1000);
    assert_int_equal (s_wait_stat (self, "results", STORE_PENDING_MAX + extra, 20000),
                      STORE_PENDING_MAX + extra);
    assert_int_equal (s_stat (self, "pending"), STORE_PENDING_MAX);
    assert_int_equal (s_stat (self, "dropped"), extra);
    assert_true (s_stat (self, "failed_writes") >= 1);
    s_unlock (db);
    s_flush (self);
    assert_int_equal (s_stat (self, "pending"), 0);
    assert_int_equal (s_stat (self, "dropped"), extra);
    assert_int_equal (s_count_results (self), STORE_PENDING_MAX);
}

static void
test_term_gives_up_loudly_on_a_locked_database (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    sqlite3 *db = s_lock (self);
    for (int index = 0; index < 5; index++)
        s_send_result (self, id, sq_wallclock_us (), true, SQ_REASON_OK, 200, 1000);
    //  The stop must not hang on a lock it cannot get.
    int64_t started = zclock_mono ();
    zactor_destroy (&self->actor);
    assert_true (zclock_mono () - started < 15000);
    s_unlock (db);
    assert_int_equal (s_count_results (self), 0);
}

//  An ALERT with a given seq, or (seq 0) a CHANGE: a change not published.
static void
s_send_change (fixture_t *self, uint64_t seq, uint64_t site_id, sq_state_t previous,
               sq_state_t state, int64_t since, const char *detail)
{
    sq_msg_t msg;
    memset (&msg, 0, sizeof (msg));
    if (seq) {
        msg.type = SQ_MSG_ALERT;
        msg.alert.seq = seq;
        msg.alert.site_id = site_id;
        strcpy (msg.alert.url, "https://ignored.example/");    //  the store keeps the site's
        msg.alert.previous = (uint8_t) previous;
        msg.alert.state = (uint8_t) state;
        msg.alert.since = since;
        msg.alert.reason = state == SQ_STATE_UP ? SQ_REASON_OK : SQ_REASON_HTTP_STATUS;
        snprintf (msg.alert.detail, sizeof (msg.alert.detail), "%s", detail);
    }
    else {
        msg.type = SQ_MSG_CHANGE;
        msg.change.site_id = site_id;
        strcpy (msg.change.url, "https://ignored.example/");
        msg.change.previous = (uint8_t) previous;
        msg.change.state = (uint8_t) state;
        msg.change.since = since;
        msg.change.reason = SQ_REASON_TIMEOUT;
        snprintf (msg.change.detail, sizeof (msg.change.detail), "%s", detail);
    }
    assert_int_equal (sq_wire_send (self->push, NULL, 0, &msg), 0);
}

//  Collected store_alerts rows.
typedef struct {
    size_t count;                   //  alerts seen
    sq_alert_t alerts [128];        //  the first 128
} alert_list_t;

static void
s_collect_alert (const sq_alert_t *alert, void *arg)
{
    alert_list_t *list = (alert_list_t *) arg;
    if (list->count < 128)
        list->alerts [list->count] = *alert;
    list->count++;
}

static void
s_alerts (store_t *store, uint64_t since, uint64_t until, size_t limit, alert_list_t *list)
{
    memset (list, 0, sizeof (*list));
    int rows = store_alerts (store, since, until, limit, s_collect_alert, list);
    assert_int_equal (rows, list->count);
}

//  Published alerts are kept by seq and read back in order, at most the
//  limit at a time; a CHANGE moves the state but is not an alert.
static void
test_alerts_are_kept_by_seq_and_read_in_order (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://one.example/", "https://two.example/" };
    uint64_t ids [2];
    s_open_sites (self, urls, NULL, 2, ids);
    s_start (self, 0);
    uint64_t last = 0;
    assert_int_equal (store_last_seq (self->store, &last), 0);
    assert_int_equal (last, 0);

    //  250 alerts, each between two CHANGEs (to and from SUSPECT, say).
    int64_t at = sq_wallclock_us () - DAY_US;
    for (uint64_t seq = 1; seq <= 250; seq++) {
        uint64_t site = ids [seq % 2];
        s_send_change (self, 0, site, SQ_STATE_UP, SQ_STATE_SUSPECT, at + (int64_t) seq * 10, "suspect");
        char detail [32];
        snprintf (detail, sizeof (detail), "alert %llu", (unsigned long long) seq);
        s_send_change (self, seq, site, SQ_STATE_UP, seq % 4 < 2 ? SQ_STATE_DOWN : SQ_STATE_UP,
                       at + (int64_t) seq * 10 + 1, detail);
    }
    s_send_change (self, 0, ids [0], SQ_STATE_DOWN, SQ_STATE_SUSPECT, at + 5000, "change only");
    s_flush (self);
    assert_int_equal (s_stat (self, "alerts"), 250);
    assert_int_equal (s_stat (self, "changes"), 251);
    assert_int_equal (s_stat (self, "dropped"), 0);
    assert_int_equal (store_last_seq (self->store, &last), 0);
    assert_int_equal (last, 250);
    //  The CHANGE set the state all the same.
    sq_state_t site_state;
    int64_t since = 0;
    assert_int_equal (store_site_state (self->store, ids [0], &site_state, &since), 0);
    assert_int_equal (site_state, SQ_STATE_SUSPECT);
    assert_int_equal (since, at + 5000);

    //  In order, bounded, page after page.
    alert_list_t list;
    for (uint64_t from = 0; from < 200; from += 100) {
        s_alerts (self->store, from, 0, 100, &list);
        assert_int_equal (list.count, 100);
        for (size_t index = 0; index < 100; index++) {
            const sq_alert_t *alert = &list.alerts [index];
            uint64_t seq = from + index + 1;
            assert_int_equal (alert->seq, seq);
            assert_int_equal (alert->site_id, ids [seq % 2]);
            assert_string_equal (alert->url, urls [seq % 2]);
            assert_int_equal (alert->state, seq % 4 < 2 ? SQ_STATE_DOWN : SQ_STATE_UP);
            assert_int_equal (alert->previous, SQ_STATE_UP);
            assert_int_equal (alert->since, at + (int64_t) seq * 10 + 1);
            char detail [32];
            snprintf (detail, sizeof (detail), "alert %llu", (unsigned long long) seq);
            assert_string_equal (alert->detail, detail);
        }
    }
    s_alerts (self->store, 200, 0, 100, &list);
    assert_int_equal (list.count, 50);
    assert_int_equal (list.alerts [49].seq, 250);
    s_alerts (self->store, 200, 220, 100, &list);       //  a range: 201 .. 220
    assert_int_equal (list.count, 20);
    assert_int_equal (list.alerts [0].seq, 201);
    assert_int_equal (list.alerts [19].seq, 220);
    s_alerts (self->store, 250, 0, 100, &list);
    assert_int_equal (list.count, 0);
    s_alerts (self->store, 0, 0, 0, &list);
    assert_int_equal (list.count, 0);
    s_alerts (self->store, UINT64_MAX, 0, 10, &list);
    assert_int_equal (list.count, 0);
}

static long long
s_query (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *statement;
    assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (statement), SQLITE_ROW);
    long long value = sqlite3_column_int64 (statement, 0);
    sqlite3_finalize (statement);
    return value;
}

//  A version 1 file (this build's schema without tables alert and
//  region_rollup) is upgraded in place, and keeps every row of every table.
static void
test_version_1_file_is_upgraded_and_keeps_everything (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://old.example/", "https://older.example/" };
    const char *owners [] = { "alice", NULL };
    uint64_t ids [2];
    s_open_sites (self, urls, owners, 2, ids);
    s_start (self, 0);
    int64_t now = sq_wallclock_us ();
    for (int index = 0; index < 30; index++)
        s_send_result (self, ids [index % 2], now - index * HOUR_US / 4, index % 3 != 0,
                       SQ_REASON_OK, 200, 1000);
    s_send_change (self, 0, ids [0], SQ_STATE_UP, SQ_STATE_DOWN, now - 2 * HOUR_US, "old down");
    s_send_change (self, 0, ids [0], SQ_STATE_DOWN, SQ_STATE_UP, now - HOUR_US, "old up");
    s_send_change (self, 0, ids [1], SQ_STATE_UP, SQ_STATE_DOWN, now, "still down");
    s_flush (self);
    zactor_destroy (&self->actor);
    store_close (&self->store);

    //  Make it a version 1 file, as an older squirrel left it.
    char path [160];
    snprintf (path, sizeof (path), "%s/%s", self->data_dir, STORE_FILE_NAME);
    sqlite3 *db;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db, "DROP TABLE alert; DROP TABLE region_rollup;"
                                    " PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    const char *counts [] = {
        "SELECT COUNT (*) FROM site", "SELECT COUNT (*) FROM result",
        "SELECT COUNT (*) FROM incident", "SELECT COUNT (*) FROM rollup",
        "SELECT SUM (checks) FROM rollup", "SELECT SUM (up) FROM rollup",
        "SELECT COUNT (*) FROM incident WHERE end_us IS NULL",
    };
    long long before [7];
    for (size_t index = 0; index < 7; index++)
        before [index] = s_query (db, counts [index]);
    assert_int_equal (before [0], 2);
    assert_int_equal (before [1], 30);
    assert_int_equal (before [2], 2);
    sqlite3_close (db);

    char error [256] = "";
    self->store = store_open (self->data_dir, error, sizeof (error));
    assert_non_null (self->store);
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    assert_int_equal (s_query (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    for (size_t index = 0; index < 7; index++)
        assert_int_equal (s_query (db, counts [index]), before [index]);
    assert_int_equal (s_query (db, "SELECT COUNT (*) FROM alert"), 0);
    //  Version 4 filled the region rollups from the raw results.
    assert_int_equal (s_query (db, "SELECT SUM (checks) FROM region_rollup"), 30);
    sqlite3_close (db);
    uint64_t last = 99;
    assert_int_equal (store_last_seq (self->store, &last), 0);
    assert_int_equal (last, 0);
    status_list_t list;
    s_status (self->store, now, &list);
    assert_int_equal (list.count, 2);
    assert_string_equal (list.rows [0].url, "https://old.example/");
    assert_string_equal (list.rows [0].owner, "alice");
    assert_int_equal (list.rows [0].state, SQ_STATE_UP);
    assert_int_equal (list.rows [1].state, SQ_STATE_DOWN);
    assert_int_equal (list.rows [1].open_incident, 1);

    //  And the upgraded file takes alerts.
    zsock_destroy (&self->push);
    s_start (self, 0);
    s_send_change (self, 1, ids [0], SQ_STATE_UP, SQ_STATE_DOWN, now, "new down");
    s_flush (self);
    alert_list_t alerts;
    s_alerts (self->store, 0, 0, 10, &alerts);
    assert_int_equal (alerts.count, 1);
    assert_string_equal (alerts.alerts [0].detail, "new down");
}

//  Collected store_site_regions rows.
typedef struct {
    size_t count;                   //  rows seen
    store_region_t rows [8];        //  the first 8, region redirected below
    char names [8][SQ_NAME_MAX + 1];    //  copies of region
} region_list_t;

static void
s_collect_region (const store_region_t *row, void *arg)
{
    region_list_t *list = (region_list_t *) arg;
    if (list->count < 8) {
        size_t index = list->count;
        list->rows [index] = *row;
        snprintf (list->names [index], sizeof (list->names [index]), "%s", row->region);
        list->rows [index].region = list->names [index];
    }
    list->count++;
}

static void
s_regions (store_t *store, uint64_t site_id, int64_t now, region_list_t *list)
{
    memset (list, 0, sizeof (*list));
    int rows = store_site_regions (store, site_id, now, s_collect_region, list);
    assert_int_equal (rows, list->count);
}

//  A connection of our own to the store's file.
static sqlite3 *
s_open_db (fixture_t *self)
{
    char path [160];
    snprintf (path, sizeof (path), "%s/%s", self->data_dir, STORE_FILE_NAME);
    sqlite3 *db;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    return db;
}

//  Every row of a query as one text, "a|b|c;" per row, for comparing
//  tables.  Caller frees.
static char *
s_rows_text (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *statement;
    assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL), SQLITE_OK);
    char *text = strdup ("");
    assert_non_null (text);
    while (sqlite3_step (statement) == SQLITE_ROW) {
        for (int column = 0; column < sqlite3_column_count (statement); column++) {
            const char *value = (const char *) sqlite3_column_text (statement, column);
            char *more = zsys_sprintf ("%s%s%s", text, column ? "|" : "", value ? value : "NULL");
            assert_non_null (more);
            free (text);
            text = more;
        }
        char *more = zsys_sprintf ("%s;", text);
        assert_non_null (more);
        free (text);
        text = more;
    }
    sqlite3_finalize (statement);
    return text;
}

//  Each RESULT counts in its region's rollup hour too, beside the site's;
//  store_site_regions gives each region's latest verdict and uptime.
static void
test_region_rollups_are_counted_per_region (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://regions.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    //  Half an hour into an hour, so that the offsets below stay in the
    //  hours they name.
    int64_t now = sq_wallclock_us () / HOUR_US * HOUR_US + HOUR_US / 2;
    //  eu: an up and (latest) a down in the same hour, one with a hostile
    //  total; one up 3 days ago, one down 10 days ago.
    s_send_region_result (self, id, "eu", now - HOUR_US - 60000000, true, SQ_REASON_OK, 200,
                          UINT64_MAX);
    s_send_region_result (self, id, "eu", now - HOUR_US, false, SQ_REASON_TIMEOUT, 0, 1000);
    s_send_region_result (self, id, "eu", now - 3 * DAY_US, true, SQ_REASON_OK, 200, 2000);
    s_send_region_result (self, id, "eu", now - 10 * DAY_US, false, SQ_REASON_CONNECT, 0, 3000);
    //  us: up 10 minutes ago; a failure 40 days ago is outside every window.
    s_send_region_result (self, id, "us", now - 40 * DAY_US, false, SQ_REASON_DNS, 0, 4000);
    s_send_region_result (self, id, "us", now - 600000000, true, SQ_REASON_OK, 200, 5000);
    //  A pinger without a region, and asia, last heard 3 days ago: past
    //  the look back of store_site_regions, still in the rollups.
    s_send_region_result (self, id, "", now - 2 * HOUR_US, true, SQ_REASON_OK, 200, 6000);
    s_send_region_result (self, id, "asia", now - 3 * DAY_US, false, SQ_REASON_TLS, 0, 7000);
    s_flush (self);
    assert_int_equal (s_stat (self, "dropped"), 0);

    sqlite3 *db = s_open_db (self);
    char *rows = s_rows_text (db, "SELECT region, checks, up, total_us FROM region_rollup"
                                  " ORDER BY region, hour");
    assert_string_equal (rows, "|1|1|6000;asia|1|0|7000;eu|1|0|3000;eu|1|1|2000;eu|2|1|3600001000;"
                               "us|1|0|4000;us|1|1|5000;");
    free (rows);
    //  The site's own rollup is unchanged in meaning: every check, any region.
    assert_int_equal (s_query (db, "SELECT SUM (checks) FROM rollup"), 8);
    assert_int_equal (s_query (db, "SELECT SUM (up) FROM rollup"), 4);
    sqlite3_close (db);

    region_list_t list;
    s_regions (self->store, id, now, &list);
    assert_int_equal (list.count, 3);
    const store_region_t *none = &list.rows [0], *eu = &list.rows [1], *us = &list.rows [2];
    assert_string_equal (none->region, "");
    assert_true (none->up);
    assert_int_equal (none->at_us, now - 2 * HOUR_US);
    assert_float_equal (none->uptime_24h, 100, 0.0001);
    assert_string_equal (eu->region, "eu");
    assert_false (eu->up);
    assert_int_equal (eu->reason, SQ_REASON_TIMEOUT);
    assert_int_equal (eu->at_us, now - HOUR_US);
    assert_float_equal (eu->uptime_24h, 50, 0.0001);                //  1 of 2
    assert_float_equal (eu->uptime_7d, 100.0 * 2 / 3, 0.0001);      //  2 of 3
    assert_float_equal (eu->uptime_30d, 50, 0.0001);                //  2 of 4
    assert_string_equal (us->region, "us");
    assert_true (us->up);
    assert_int_equal (us->reason, SQ_REASON_OK);
    assert_int_equal (us->at_us, now - 600000000);
    assert_float_equal (us->uptime_24h, 100, 0.0001);
    assert_float_equal (us->uptime_7d, 100, 0.0001);
    assert_float_equal (us->uptime_30d, 100, 0.0001);               //  the 40-day failure is out
    //  A day on, eu's checks have left the 24 h window (-1: none), not 7 d.
    s_regions (self->store, id, now + 23 * HOUR_US, &list);
    assert_int_equal (list.count, 3);
    assert_float_equal (list.rows [1].uptime_24h, -1, 0.0001);
    assert_float_equal (list.rows [1].uptime_7d, 100.0 * 2 / 3, 0.0001);
    //  Seen from 2 days on, every region has fallen out of the look back.
    s_regions (self->store, id, now + 2 * DAY_US, &list);
    assert_int_equal (list.count, 0);
    s_regions (self->store, id + 100, now, &list);
    assert_int_equal (list.count, 0);
}

//  Quorum uptime: the share of a window a site was not down (no incident
//  open), each window starting no earlier than the site's first check.
static void
test_quorum_uptime_counts_incidents (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = {
        "https://a.example/", "https://b.example/", "https://c.example/", "https://d.example/",
        "https://e.example/", "https://f.example/"
    };
    uint64_t ids [6];
    s_open_sites (self, urls, NULL, 6, ids);
    s_start (self, 0);
    //  Half an hour into an hour: a window start at an hour's start would
    //  show in every figure below.
    int64_t now = sq_wallclock_us () / HOUR_US * HOUR_US + HOUR_US / 2;
    for (int site = 0; site < 6; site++)
        if (site != 3)                  //  d is never checked
            s_send_result (self, ids [site], now - 60000000, true, SQ_REASON_OK, 200, 1000);

    //  a, checked for 48 h: down 6 h within the last 24 h.
    s_send_result (self, ids [0], now - 48 * HOUR_US, true, SQ_REASON_OK, 200, 1000);
    s_send_alert (self, ids [0], SQ_STATE_DOWN, now - 10 * HOUR_US, SQ_REASON_TIMEOUT, "");
    s_send_alert (self, ids [0], SQ_STATE_UP, now - 4 * HOUR_US, SQ_REASON_OK, "");
    //  b, checked for 48 h: down from 28 h to 22 h ago (2 h of it within
    //  24 h), and again for the last 3 h, still open.
    s_send_result (self, ids [1], now - 48 * HOUR_US, true, SQ_REASON_OK, 200, 1000);
    s_send_alert (self, ids [1], SQ_STATE_DOWN, now - 28 * HOUR_US, SQ_REASON_TIMEOUT, "");
    s_send_alert (self, ids [1], SQ_STATE_UP, now - 22 * HOUR_US, SQ_REASON_OK, "");
    s_send_alert (self, ids [1], SQ_STATE_DOWN, now - 3 * HOUR_US, SQ_REASON_TIMEOUT, "");
    //  c, first checked 12 h ago: down 3 h.
    s_send_result (self, ids [2], now - 12 * HOUR_US, true, SQ_REASON_OK, 200, 1000);
    s_send_alert (self, ids [2], SQ_STATE_DOWN, now - 6 * HOUR_US, SQ_REASON_TIMEOUT, "");
    s_send_alert (self, ids [2], SQ_STATE_UP, now - 3 * HOUR_US, SQ_REASON_OK, "");
    //  d, never checked, yet with an incident: no figure at all.
    s_send_alert (self, ids [3], SQ_STATE_DOWN, now - 6 * HOUR_US, SQ_REASON_DNS, "");
    //  e, checked for 40 days: down 12 h eight days ago.
    s_send_result (self, ids [4], now - 40 * DAY_US, true, SQ_REASON_OK, 200, 1000);
    s_send_alert (self, ids [4], SQ_STATE_DOWN, now - 8 * DAY_US, SQ_REASON_TIMEOUT, "");
    s_send_alert (self, ids [4], SQ_STATE_UP, now - 8 * DAY_US + 12 * HOUR_US, SQ_REASON_OK, "");
    //  f, first checked 12 h ago, down from 14 h to 10 h ago: only the 2 h
    //  after its first check count.
    s_send_result (self, ids [5], now - 12 * HOUR_US, true, SQ_REASON_OK, 200, 1000);
    s_send_alert (self, ids [5], SQ_STATE_DOWN, now - 14 * HOUR_US, SQ_REASON_TIMEOUT, "");
    s_send_alert (self, ids [5], SQ_STATE_UP, now - 10 * HOUR_US, SQ_REASON_OK, "");
    s_flush (self);
    assert_int_equal (s_stat (self, "dropped"), 0);

    status_list_t list;
    s_status (self->store, now, &list);
    assert_int_equal (list.count, 6);
    const store_status_t *a = &list.rows [0], *b = &list.rows [1], *c = &list.rows [2];
    const store_status_t *d = &list.rows [3], *e = &list.rows [4], *f = &list.rows [5];
    assert_float_equal (a->quorum_uptime_24h, 75.0, 1e-9);              //  18 of 24 h
    assert_float_equal (a->quorum_uptime_7d, 87.5, 1e-9);               //  42 of 48 h
    assert_float_equal (a->quorum_uptime_30d, 87.5, 1e-9);
    assert_float_equal (b->quorum_uptime_24h, 100.0 * 19 / 24, 1e-9);   //  2 + 3 h down
    assert_float_equal (b->quorum_uptime_7d, 100.0 * 39 / 48, 1e-9);    //  6 + 3 h down
    assert_float_equal (b->quorum_uptime_30d, 100.0 * 39 / 48, 1e-9);
    assert_int_equal (b->open_incident, 1);
    assert_float_equal (c->quorum_uptime_24h, 75.0, 1e-9);              //  9 of 12 h
    assert_float_equal (c->quorum_uptime_7d, 75.0, 1e-9);
    assert_float_equal (c->quorum_uptime_30d, 75.0, 1e-9);
    assert_float_equal (d->quorum_uptime_24h, -1, 1e-9);
    assert_float_equal (d->quorum_uptime_7d, -1, 1e-9);
    assert_float_equal (d->quorum_uptime_30d, -1, 1e-9);
    assert_float_equal (e->quorum_uptime_24h, 100, 1e-9);
    assert_float_equal (e->quorum_uptime_7d, 100, 1e-9);                //  8 days ago is out
    assert_float_equal (e->quorum_uptime_30d, 100.0 * (720 - 12) / 720, 1e-9);
    assert_float_equal (f->quorum_uptime_24h, 100.0 * 10 / 12, 1e-9);
    //  Check uptime is its own figure: every check of a was up.
    assert_float_equal (a->uptime_24h, 100, 1e-9);

    //  The open incident counts to the moment asked: 3 h later b has been
    //  down 6 h of the last 24 (the old one is out of the window now: it
    //  ended 25 h before).
    s_status (self->store, now + 3 * HOUR_US, &list);
    assert_float_equal (list.rows [1].quorum_uptime_24h, 75.0, 1e-9);
    assert_float_equal (list.rows [1].quorum_uptime_7d, 100.0 * 39 / 51, 1e-9);   //  down 12 of 51 h
}

//  When the raw results of a site's first days are pruned, its first check
//  is the start of its earliest rollup hour.
static void
test_quorum_uptime_after_prune_starts_at_the_first_rollup_hour (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://pruned.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 7);
    int64_t now = sq_wallclock_us ();
    int64_t first = now - 20 * DAY_US;
    s_send_result (self, id, first, true, SQ_REASON_OK, 200, 1000);
    s_send_result (self, id, now - HOUR_US, true, SQ_REASON_OK, 200, 1000);
    s_send_alert (self, id, SQ_STATE_DOWN, now - 5 * DAY_US, SQ_REASON_TIMEOUT, "");
    s_send_alert (self, id, SQ_STATE_UP, now - 5 * DAY_US + 10 * HOUR_US, SQ_REASON_OK, "");
    s_flush (self);
    status_list_t list;
    //  Raw: the window begins at the first check itself.
    s_status (self->store, now, &list);
    double span = (double) (now - first);
    assert_float_equal (list.rows [0].quorum_uptime_30d, 100.0 * (span - 10 * HOUR_US) / span, 1e-9);
    char *reply = s_command (self, "PRUNE");
    assert_non_null (reply);
    assert_string_equal (reply, "OK 1");
    zstr_free (&reply);
    //  Pruned: at the start of its hour.
    s_status (self->store, now, &list);
    span = (double) (now - first / HOUR_US * HOUR_US);
    assert_float_equal (list.rows [0].quorum_uptime_30d, 100.0 * (span - 10 * HOUR_US) / span, 1e-9);
    assert_float_equal (list.rows [0].quorum_uptime_7d, 100.0 * (168 - 10) / 168, 1e-9);
}

//  A version 3 file gets table region_rollup, filled from the raw results
//  it still holds: the same rows the writer would have made.
static void
test_version_3_file_gets_region_rollups_from_raw_results (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://one.example/", "https://two.example/" };
    uint64_t ids [2];
    s_open_sites (self, urls, NULL, 2, ids);
    s_start (self, 0);
    int64_t now = sq_wallclock_us () / HOUR_US * HOUR_US + HOUR_US / 2;
    const char *regions [] = { "eu", "us", "" };
    for (int index = 0; index < 60; index++)
        s_send_region_result (self, ids [index % 2], regions [index % 3],
                              now - index * HOUR_US / 20, index % 4 != 0,
                              SQ_REASON_OK, 200, index == 7 ? UINT64_MAX : (uint64_t) index * 1000);
    //  An old hour whose raw results are gone (pruned) by the time of the
    //  upgrade: the site's rollup keeps it, the regions cannot know it.
    s_send_region_result (self, ids [0], "eu", now - 20 * DAY_US, false, SQ_REASON_DNS, 0, 1000);
    s_flush (self);
    zactor_destroy (&self->actor);
    store_close (&self->store);

    const char *all = "SELECT site_id, region, hour, checks, up, total_us FROM region_rollup"
                      " ORDER BY site_id, region, hour";
    sqlite3 *db = s_open_db (self);
    char *sql = zsys_sprintf ("SELECT site_id, region, hour, checks, up, total_us FROM region_rollup"
                              " WHERE hour > %lld ORDER BY site_id, region, hour",
                              (long long) ((now - 10 * DAY_US) / HOUR_US));
    char *written = s_rows_text (db, sql);
    free (sql);
    assert_int_equal (s_query (db, "SELECT COUNT (*) FROM region_rollup"), 25);
    //  Make it a version 3 file, as an older squirrel left it, pruned.
    char *prune = zsys_sprintf ("DELETE FROM result WHERE at_us < %lld",
                                (long long) (now - 10 * DAY_US));
    assert_int_equal (sqlite3_exec (db, prune, NULL, NULL, NULL), SQLITE_OK);
    free (prune);
    assert_int_equal (sqlite3_exec (db, "DROP TABLE region_rollup; PRAGMA user_version = 3",
                                    NULL, NULL, NULL), SQLITE_OK);
    long long rollup_checks = s_query (db, "SELECT SUM (checks) FROM rollup");
    assert_int_equal (rollup_checks, 61);
    sqlite3_close (db);

    char error [256] = "";
    self->store = store_open (self->data_dir, error, sizeof (error));
    assert_non_null (self->store);
    db = s_open_db (self);
    assert_int_equal (s_query (db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    char *filled = s_rows_text (db, all);
    assert_string_equal (filled, written);
    assert_int_equal (s_query (db, "SELECT COUNT (*) FROM region_rollup"), 24);
    assert_int_equal (s_query (db, "SELECT SUM (checks) FROM region_rollup"), 60);
    //  The hostile total counts one hour, beside a check of 1 ms.
    assert_int_equal (s_query (db, "SELECT MAX (total_us) FROM region_rollup"), HOUR_US + 1000);
    assert_int_equal (s_query (db, "SELECT SUM (checks) FROM rollup"), rollup_checks);
    free (filled);
    free (written);

    //  Each region's uptime reads from the filled table: one's eu checks
    //  are index 0, 6, 12 .. 54 (every 6th), up unless a multiple of 4.
    region_list_t list;
    s_regions (self->store, ids [0], now, &list);
    assert_int_equal (list.count, 3);
    assert_string_equal (list.rows [1].region, "eu");
    assert_float_equal (list.rows [1].uptime_24h, 100.0 * 5 / 10, 0.0001);
    //  And the writer goes on counting in it.
    zsock_destroy (&self->push);
    s_start (self, 0);
    s_send_region_result (self, ids [0], "eu", now, true, SQ_REASON_OK, 200, 1000);
    s_flush (self);
    char *hour = zsys_sprintf ("SELECT checks FROM region_rollup WHERE site_id = %llu AND"
                               " region = 'eu' AND hour = %lld", (unsigned long long) ids [0],
                               (long long) (now / HOUR_US));
    assert_int_equal (s_query (db, hour), 3);
    free (hour);
    sqlite3_close (db);
}

static void
test_newer_schema_is_refused (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    char error [256] = "";
    store_t *store = store_open (self->data_dir, error, sizeof (error));
    assert_non_null (store);
    store_close (&store);
    char path [160];
    snprintf (path, sizeof (path), "%s/%s", self->data_dir, STORE_FILE_NAME);
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    assert_int_equal (info.st_mode & 0007, 0);      //  not world-readable
    sqlite3 *db;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);

    store = store_open (self->data_dir, error, sizeof (error));
    assert_null (store);
    assert_non_null (strstr (error, "newer"));
    store_args_t args = { .data_dir = self->data_dir, .endpoint = self->endpoint };
    assert_null (sq_actor_start (store_actor, &args, "store"));

    //  Not a database at all.
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs ("this is not a database, just a long enough line of text to look like a header", file);
    fclose (file);
    assert_null (store_open (self->data_dir, error, sizeof (error)));
}

static void
test_failed_setup_is_reported (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    store_args_t args = { .data_dir = self->data_dir, .endpoint = "bogus://nowhere" };
    assert_null (sq_actor_start (store_actor, &args, "store"));
    //  A data folder that is a file.
    char path [160];
    snprintf (path, sizeof (path), "%s/file", self->folder);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fclose (file);
    char error [256] = "";
    assert_null (store_open (path, error, sizeof (error)));
    assert_true (strlen (error) > 0);
}

//  Start the writer with windows of its own: raw results and rollups kept
//  (ms).
static void
s_start_windows (fixture_t *self, uint64_t results_ms, uint64_t rollups_ms)
{
    store_args_t args = {
        .data_dir = self->data_dir, .endpoint = self->endpoint,
        .retention_results_ms = results_ms, .retention_rollups_ms = rollups_ms
    };
    self->actor = sq_actor_start (store_actor, &args, "store");
    assert_non_null (self->actor);
    self->push = zsock_new (ZMQ_PUSH);
    assert_non_null (self->push);
    zsock_set_linger (self->push, 2000);
    assert_int_equal (zsock_connect (self->push, "%s", self->endpoint), 0);
}

//  Rows of a table, by a query of our own.
static long long
s_table_rows (fixture_t *self, const char *table)
{
    sqlite3 *db = s_open_db (self);
    char *sql = zsys_sprintf ("SELECT COUNT (*) FROM %s", table);
    long long rows = s_query (db, sql);
    free (sql);
    sqlite3_close (db);
    return rows;
}

//  PRUNE as if the time were now; the reply's row count.
static long long
s_prune_at (fixture_t *self, int64_t now)
{
    char command [64];
    snprintf (command, sizeof (command), "PRUNE %lld", (long long) now);
    char *reply = s_command (self, command);
    assert_non_null (reply);
    assert_memory_equal (reply, "OK ", 3);
    long long rows = atoll (reply + 3);
    zstr_free (&reply);
    return rows;
}

//  With raw results kept 2 h and rollups 3 days, a prune deletes exactly
//  the raw results older than 2 h and the rollup and region rollup hours
//  that ended more than 3 days ago, and nothing else: not the hour that
//  holds that moment, not a site, an incident or an alert.  More old hours
//  in one key than a slice deletes, and more keys than a slice visits, so
//  that the walk has to go on where a slice stopped.
static void
test_prune_keeps_each_window_exactly (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    enum { EXTRA = 2100, OLD_HOURS = 6000 };
    const char **urls = (const char **) calloc (3 + EXTRA, sizeof (char *));
    uint64_t *ids = (uint64_t *) calloc (3 + EXTRA, sizeof (uint64_t));
    assert_true (urls && ids);
    for (size_t index = 0; index < 3 + EXTRA; index++)
        urls [index] = zsys_sprintf ("https://s%zu.example/", index);
    s_open_sites (self, urls, NULL, 3 + EXTRA, ids);
    s_start_windows (self, 2 * 3600000ULL, 3 * 86400000ULL);

    //  Half past an hour, so that 3 days ago falls inside an hour.
    const int64_t now = 493000 * HOUR_US + HOUR_US / 2;
    const int64_t results_edge = now - 2 * HOUR_US;     //  raw results from here on stay
    const int64_t rollups_edge = (now - 3 * DAY_US) / HOUR_US * HOUR_US;    //  the hour that
                                                        //  holds 3 days ago, which stays
    //  Each in an hour and region of its own.
    struct { int site; const char *region; int64_t at; } rows [] = {
        { 0, "eu", now },                       //  raw kept, hour kept
        { 0, "us", now - HOUR_US },             //  raw kept, hour kept
        { 0, "eu", results_edge },              //  raw kept (the edge), hour kept
        { 1, "us", results_edge - 1 },          //  raw gone, hour kept
        { 1, "eu", now - 3 * HOUR_US },         //  raw gone, hour kept
        { 1, "eu", rollups_edge },              //  raw gone, hour kept (the edge)
        { 1, "us", rollups_edge - 1 },          //  raw gone, hour gone
        { 2, "eu", now - 3 * DAY_US },          //  raw gone, hour kept (inside the edge hour)
        { 2, "us", now - 5 * DAY_US },          //  raw gone, hour gone
        { 2, "eu", now - 400 * DAY_US },        //  raw gone, hour gone
    };
    const size_t row_count = sizeof (rows) / sizeof (rows [0]);
    for (size_t index = 0; index < row_count; index++)
        s_send_region_result (self, ids [rows [index].site], rows [index].region, rows [index].at,
                              true, SQ_REASON_OK, 200, 1000);
    //  Site 2, region eu: more old hours than one slice deletes.
    for (int hour = 0; hour < OLD_HOURS; hour++)
        s_send_region_result (self, ids [2], "eu", now - 10 * DAY_US - hour * HOUR_US,
                              false, SQ_REASON_TIMEOUT, 0, 1000);
    //  More sites than one slice visits, each with one old hour.
    for (size_t index = 3; index < 3 + EXTRA; index++)
        s_send_region_result (self, ids [index], "eu", now - 10 * DAY_US, true, SQ_REASON_OK,
                              200, 1000);
    //  Kept for good, however old: alerts, a change, an incident.
    s_send_change (self, 1, ids [0], SQ_STATE_UNKNOWN, SQ_STATE_DOWN, now - 30 * DAY_US, "down");
    s_send_change (self, 2, ids [0], SQ_STATE_DOWN, SQ_STATE_UP, now - 29 * DAY_US, "up");
    s_send_change (self, 0, ids [1], SQ_STATE_UNKNOWN, SQ_STATE_DOWN, now - 20 * DAY_US, "down");
    s_flush (self);

    const long long results = (long long) row_count + OLD_HOURS + EXTRA;
    assert_int_equal (s_table_rows (self, "result"), results);
    assert_int_equal (s_table_rows (self, "rollup"), results);
    assert_int_equal (s_table_rows (self, "region_rollup"), results);
    assert_int_equal (s_table_rows (self, "alert"), 2);
    assert_int_equal (s_table_rows (self, "incident"), 2);
    assert_int_equal (s_table_rows (self, "site"), 3 + EXTRA);

    //  3 raw results stay; 7 hours of each rollup table.
    assert_int_equal (s_prune_at (self, now), (results - 3) + 2 * (results - 7));
    sqlite3 *db = s_open_db (self);
    char *expected = zsys_sprintf ("%llu|%lld;%llu|%lld;%llu|%lld;",
                                   (unsigned long long) ids [0], (long long) results_edge,
                                   (unsigned long long) ids [0], (long long) (now - HOUR_US),
                                   (unsigned long long) ids [0], (long long) now);
    char *text = s_rows_text (db, "SELECT site_id, at_us FROM result ORDER BY at_us");
    assert_string_equal (text, expected);
    free (text);
    free (expected);
    const int64_t hour = now / HOUR_US, edge = rollups_edge / HOUR_US;
    expected = zsys_sprintf ("%llu|%lld;%llu|%lld;%llu|%lld;%llu|%lld;%llu|%lld;%llu|%lld;"
                             "%llu|%lld;",
                             (unsigned long long) ids [0], (long long) hour - 2,
                             (unsigned long long) ids [0], (long long) hour - 1,
                             (unsigned long long) ids [0], (long long) hour,
                             (unsigned long long) ids [1], (long long) edge,
                             (unsigned long long) ids [1], (long long) hour - 3,
                             (unsigned long long) ids [1], (long long) hour - 2,
                             (unsigned long long) ids [2], (long long) edge);
    text = s_rows_text (db, "SELECT site_id, hour FROM rollup ORDER BY site_id, hour");
    assert_string_equal (text, expected);
    free (text);
    free (expected);
    expected = zsys_sprintf ("%llu|eu|%lld;%llu|eu|%lld;%llu|us|%lld;%llu|eu|%lld;%llu|eu|%lld;"
                             "%llu|us|%lld;%llu|eu|%lld;",
                             (unsigned long long) ids [0], (long long) hour - 2,
                             (unsigned long long) ids [0], (long long) hour,
                             (unsigned long long) ids [0], (long long) hour - 1,
                             (unsigned long long) ids [1], (long long) edge,
                             (unsigned long long) ids [1], (long long) hour - 3,
                             (unsigned long long) ids [1], (long long) hour - 2,
                             (unsigned long long) ids [2], (long long) edge);
    text = s_rows_text (db, "SELECT site_id, region, hour FROM region_rollup"
                            " ORDER BY site_id, region, hour");
    assert_string_equal (text, expected);
    free (text);
    free (expected);
    sqlite3_close (db);
    assert_int_equal (s_table_rows (self, "alert"), 2);
    assert_int_equal (s_table_rows (self, "incident"), 2);
    assert_int_equal (s_table_rows (self, "site"), 3 + EXTRA);

    //  Nothing more to do at the same time; an hour later, the next hour.
    assert_int_equal (s_prune_at (self, now), 0);
    assert_int_equal (s_prune_at (self, now + HOUR_US), 1 + 2 + 2);
    assert_int_equal (s_table_rows (self, "result"), 2);
    assert_int_equal (s_table_rows (self, "rollup"), 5);
    assert_int_equal (s_table_rows (self, "region_rollup"), 5);
    for (size_t index = 0; index < 3 + EXTRA; index++)
        free ((char *) urls [index]);
    free (urls);
    free (ids);
}

//  The default windows: 24 h of raw results, 400 days of rollups.
static void
test_prune_default_windows (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start_windows (self, 0, 0);
    const int64_t now = 493000 * HOUR_US;
    s_send_result (self, id, now - 24 * HOUR_US, true, SQ_REASON_OK, 200, 1000);        //  kept
    s_send_result (self, id, now - 24 * HOUR_US - 1, true, SQ_REASON_OK, 200, 1000);    //  raw gone
    s_send_result (self, id, now - 400 * DAY_US, true, SQ_REASON_OK, 200, 1000);        //  hour kept
    s_send_result (self, id, now - 400 * DAY_US - 1, true, SQ_REASON_OK, 200, 1000);    //  hour gone
    s_flush (self);
    assert_int_equal (s_prune_at (self, now), 3 + 1 + 1);
    assert_int_equal (s_table_rows (self, "result"), 1);
    assert_int_equal (s_table_rows (self, "rollup"), 3);
    assert_int_equal (s_table_rows (self, "region_rollup"), 3);
}

//  ---------------------------------------------------------------------
//  A full disk (issue 11, item 7)

//  The disk refuses writes, as a full one does: no file of this process
//  may grow past the WAL's size now (RLIMIT_FSIZE; SQLite sees EFBIG, an
//  I/O error, as it sees ENOSPC on a full disk).  The old limit, for
//  s_disk_room.
static struct rlimit
s_disk_full (fixture_t *self)
{
    signal (SIGXFSZ, SIG_IGN);          //  EFBIG rather than the signal
    struct rlimit old;
    assert_int_equal (getrlimit (RLIMIT_FSIZE, &old), 0);
    s_fsize_limit = old;
    s_fsize_limited = true;
    char path [160];
    snprintf (path, sizeof (path), "%s/%s-wal", self->data_dir, STORE_FILE_NAME);
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    struct rlimit full = { (rlim_t) info.st_size, old.rlim_max };
    assert_int_equal (setrlimit (RLIMIT_FSIZE, &full), 0);
    return old;
}

static void
s_disk_room (struct rlimit old)
{
    assert_int_equal (setrlimit (RLIMIT_FSIZE, &old), 0);
    s_fsize_limited = false;
}

//  A site's id and active flag, through a connection of our own: id * 10
//  + active, or -1 when the store does not have it.
static long long
s_site_row (fixture_t *self, const char *url)
{
    sqlite3 *db = s_open_db (self);
    sqlite3_stmt *statement;
    assert_int_equal (sqlite3_prepare_v2 (db, "SELECT id * 10 + active FROM site WHERE url = ?1",
                                          -1, &statement, NULL), SQLITE_OK);
    sqlite3_bind_text (statement, 1, url, -1, SQLITE_STATIC);
    long long value = sqlite3_step (statement) == SQLITE_ROW ? sqlite3_column_int64 (statement, 0)
                                                             : -1;
    sqlite3_finalize (statement);
    sqlite3_close (db);
    return value;
}

//  store_sync_sites on a disk that refuses writes: 1, known sites keep
//  their ids, a new one gets one above them, the same at the next call;
//  once the disk takes writes, the ids given in memory are the store's,
//  the one dropped meanwhile is kept inactive, and a new site comes after.
static void
test_sync_sites_on_a_full_disk_reads_ids (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *known [] = { "https://a.example/", "https://b.example/" };
    uint64_t ids [3];
    s_open_sites (self, known, NULL, 2, ids);
    assert_int_equal (ids [0], 1);
    assert_int_equal (ids [1], 2);

    struct rlimit old = s_disk_full (self);
    char error [512] = "";
    const char *first [] = { "https://a.example/", "https://new.example/", "https://b.example/" };
    assert_int_equal (store_sync_sites (self->store, first, NULL, 3, ids, error, sizeof (error)), 1);
    assert_non_null (strstr (error, "cannot record the sites: "));
    assert_non_null (strstr (error, "1 site new to it given ids in memory"));
    assert_int_equal (ids [0], 1);
    assert_int_equal (ids [1], 3);
    assert_int_equal (ids [2], 2);
    //  A reload, the disk still full: the same id again, and the next.
    const char *second [] = { "https://later.example/", "https://new.example/" };
    assert_int_equal (store_sync_sites (self->store, second, NULL, 2, ids, error, sizeof (error)), 1);
    assert_int_equal (ids [0], 4);
    assert_int_equal (ids [1], 3);
    s_disk_room (old);
    assert_int_equal (s_site_row (self, "https://new.example/"), -1);

    //  Room again: new keeps 3, later (no longer listed) is kept inactive
    //  with 4, and a site never seen before gets 5.
    const char *third [] = { "https://a.example/", "https://new.example/", "https://c.example/" };
    assert_int_equal (store_sync_sites (self->store, third, NULL, 3, ids, error, sizeof (error)), 0);
    assert_int_equal (ids [0], 1);
    assert_int_equal (ids [1], 3);
    assert_int_equal (ids [2], 5);
    assert_int_equal (s_site_row (self, "https://new.example/"), 31);
    assert_int_equal (s_site_row (self, "https://later.example/"), 40);
    assert_int_equal (s_site_row (self, "https://b.example/"), 20);
}

//  The writer on a disk that refuses writes: it keeps the batch through
//  more failed flushes than it gives any other error, says so in its
//  counters and in store.health, and when the disk takes writes again
//  stores everything, a site given its id in memory included.
static void
test_writer_keeps_history_through_a_full_disk (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/", "https://new.example/" };
    uint64_t ids [2];
    s_open_sites (self, urls, NULL, 1, ids);
    s_start (self, 0);
    bool stale = true;
    int64_t since = -1;
    char why [256];
    assert_int_equal (store_health (self->data_dir, &stale, &since, why, sizeof (why)), 0);
    assert_false (stale);

    struct rlimit old = s_disk_full (self);
    int64_t before = sq_wallclock_us ();
    char error [512] = "";
    assert_int_equal (store_sync_sites (self->store, urls, NULL, 2, ids, error, sizeof (error)), 1);
    assert_int_equal (ids [0], 1);
    assert_int_equal (ids [1], 2);
    int64_t now = sq_wallclock_us ();
    s_send_result (self, ids [0], now, true, SQ_REASON_OK, 200, 1000);
    s_send_result (self, ids [1], now, false, SQ_REASON_HTTP_STATUS, 503, 1000);
    s_send_change (self, 1, ids [1], SQ_STATE_UP, SQ_STATE_DOWN, now, "HTTP 503");
    for (int attempt = 0; attempt < 12; attempt++) {
        char *reply = s_command (self, "FLUSH");
        assert_non_null (reply);
        assert_true (strncmp (reply, "ERROR ", 6) == 0);
        zstr_free (&reply);
    }
    assert_int_equal (s_stat (self, "pending"), 3);
    assert_int_equal (s_stat (self, "dropped"), 0);
    assert_int_equal (s_stat (self, "disk_full"), 1);
    assert_true (s_stat (self, "failed_writes") >= 12);
    long long stale_since = s_stat (self, "stale_since");
    assert_true (stale_since >= before / 1000000 && stale_since <= sq_wallclock_us () / 1000000);
    assert_int_equal (store_health (self->data_dir, &stale, &since, why, sizeof (why)), 0);
    assert_true (stale);
    assert_int_equal (since / 1000000, stale_since);
    assert_true (strlen (why) > 0);

    s_disk_room (old);
    s_flush (self);
    assert_int_equal (s_stat (self, "pending"), 0);
    assert_int_equal (s_stat (self, "dropped"), 0);
    assert_int_equal (s_stat (self, "disk_full"), 0);
    assert_int_equal (s_stat (self, "stale_since"), 0);
    assert_int_equal (store_health (self->data_dir, &stale, &since, why, sizeof (why)), 0);
    assert_false (stale);
    assert_int_equal (s_count_results (self), 2);
    assert_int_equal (s_site_row (self, "https://new.example/"), 21);
    alert_list_t list;
    s_alerts (self->store, 0, 0, 10, &list);
    assert_int_equal (list.count, 1);
    assert_int_equal (list.alerts [0].site_id, 2);
    assert_string_equal (list.alerts [0].url, "https://new.example/");
    //  The next sync that can write finds the table recorded already.
    assert_int_equal (store_sync_sites (self->store, urls, NULL, 2, ids, error, sizeof (error)), 0);
    assert_int_equal (ids [1], 2);
}

//  A full buffer on a full disk drops the oldest raw results, one for
//  each write past STORE_PENDING_MAX, and keeps the alert.
static void
test_full_buffer_drops_the_oldest_results (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *urls [] = { "https://a.example/" };
    uint64_t id;
    s_open_sites (self, urls, NULL, 1, &id);
    s_start (self, 0);
    struct rlimit old = s_disk_full (self);
    int64_t base = sq_wallclock_us () - 3600 * 1000000LL;
    s_send_change (self, 1, id, SQ_STATE_UP, SQ_STATE_DOWN, base, "HTTP 503");
    const int extra = 10;
    for (int index = 0; index < STORE_PENDING_MAX + extra; index++)
        s_send_result (self, id, base + index, true, SQ_REASON_OK, 200, 1000);
    assert_int_equal (s_wait_stat (self, "results", STORE_PENDING_MAX + extra, 20000),
                      STORE_PENDING_MAX + extra);
    assert_int_equal (s_stat (self, "pending"), STORE_PENDING_MAX);
    assert_int_equal (s_stat (self, "dropped"), extra + 1);
    assert_int_equal (s_stat (self, "disk_full"), 1);
    s_disk_room (old);
    s_flush (self);
    assert_int_equal (s_stat (self, "pending"), 0);
    assert_int_equal (s_count_results (self), STORE_PENDING_MAX - 1);
    sqlite3 *db = s_open_db (self);
    assert_int_equal (s_query (db, "SELECT MIN (at_us) FROM result"), base + extra + 1);
    assert_int_equal (s_query (db, "SELECT MAX (at_us) FROM result"),
                      base + STORE_PENDING_MAX + extra - 1);
    assert_int_equal (s_query (db, "SELECT COUNT (*) FROM alert"), 1);
    sqlite3_close (db);
}

//  alert.seq: a start goes on from the higher of the store's last seq and
//  the file's; the file keeps the last seq written, at a fixed size; a
//  file that says nothing readable is ignored (and rewritten).
static void
test_alert_seq_file_keeps_the_highest (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    char path [160];
    snprintf (path, sizeof (path), "%s/%s", self->folder, ALERT_SEQ_FILE);
    uint64_t seq = 5;
    int fd = alert_seq_open (self->folder, &seq);
    assert_true (fd >= 0);
    assert_int_equal (seq, 5);                  //  no file yet: the store's
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    assert_int_equal (info.st_size, ALERT_SEQ_BYTES);
    assert_int_equal (info.st_mode & 0777, 0600);
    assert_int_equal (alert_seq_keep (fd, 9), 0);
    assert_int_equal (alert_seq_keep (fd, 10), 0);
    close (fd);
    assert_int_equal (stat (path, &info), 0);
    assert_int_equal (info.st_size, ALERT_SEQ_BYTES);
    uint64_t kept = 0;
    assert_int_equal (alert_seq_read (path, &kept), 0);
    assert_int_equal (kept, 10);
    //  The store behind the file (writes lost): the file's.
    seq = 3;
    fd = alert_seq_open (self->folder, &seq);
    assert_true (fd >= 0);
    assert_int_equal (seq, 10);
    close (fd);
    //  The store ahead (a file from an older run): the store's.
    seq = 12;
    fd = alert_seq_open (self->folder, &seq);
    assert_int_equal (seq, 12);
    close (fd);
    //  Garbage: ignored.
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs ("seq 99x\n", file);
    fclose (file);
    seq = 4;
    fd = alert_seq_open (self->folder, &seq);
    assert_true (fd >= 0);
    assert_int_equal (seq, 4);
    assert_int_equal (alert_seq_keep (fd, 5), 0);
    close (fd);
    assert_int_equal (alert_seq_read (path, &kept), 0);
    assert_int_equal (kept, 5);
    //  No descriptor: a failure, not a crash.
    assert_int_equal (alert_seq_keep (-1, 6), -1);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_results_make_rollups_and_uptime, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_site_states_in_one_read, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_writer_behind_holds_a_bounded_backlog, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_alert_seq_file_keeps_the_highest, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_uptime_is_minus_one_without_checks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_uptime_windows_have_sharp_edges, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_down_then_up_makes_one_closed_incident, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_site_that_stays_down_keeps_one_open_incident, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_sync_sites_gives_stable_ids, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_malformed_frames_are_counted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_term_flushes_pending_writes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_prune_removes_old_results_keeps_rollups, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batches_flush_by_time, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reader_works_beside_the_writer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_busy_database_is_retried, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_full_queue_drops_new_writes_and_recovers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_term_gives_up_loudly_on_a_locked_database, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_newer_schema_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_alerts_are_kept_by_seq_and_read_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_version_1_file_is_upgraded_and_keeps_everything, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failed_setup_is_reported, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_region_rollups_are_counted_per_region, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_quorum_uptime_counts_incidents, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_quorum_uptime_after_prune_starts_at_the_first_rollup_hour,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_version_3_file_gets_region_rollups_from_raw_results,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_prune_keeps_each_window_exactly, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_prune_default_windows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_sync_sites_on_a_full_disk_reads_ids, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_writer_keeps_history_through_a_full_disk,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_full_buffer_drops_the_oldest_results,
                                         s_setup, s_teardown),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
