/*  store_views.c: see store_views.h.

    Read-only statements over a store_t, prepared per call (see the
    header); the schema is store.c's.
*/
#include "store_views.h"
#include "store_private.h"

#include <inttypes.h>
#include <string.h>

#define S_HOURS_PER_DAY     24

//  UTC days of the rollup hours from ?2 to ?3, inclusive.
static const char *s_daily_sql =
    "SELECT hour / 24, SUM (checks), SUM (up) FROM rollup"
    " WHERE site_id = ?1 AND hour BETWEEN ?2 AND ?3 GROUP BY hour / 24";

static const char *s_latency_sql =
    "SELECT at_us, total_us, up FROM result WHERE site_id = ?1"
    " ORDER BY at_us DESC LIMIT ?2";

//  ?2: a JSON array of site ids, or NULL for every site.  Open incidents
//  sort first (end_us IS NOT NULL is 0 for them).
static const char *s_incidents_sql =
    "SELECT i.site_id, s.url, i.start_us, i.end_us, i.reason, i.detail"
    " FROM incident i JOIN site s ON s.id = i.site_id"
    " WHERE s.active = 1 AND (i.end_us IS NULL OR i.end_us >= ?1)"
    " AND (?2 IS NULL OR i.site_id IN (SELECT value FROM json_each (?2)))"
    " ORDER BY i.end_us IS NOT NULL, i.start_us DESC, i.id DESC LIMIT ?3";

//  Prepare sql on self's connection; NULL (logged, naming what) on failure.
static sqlite3_stmt *
s_prepare (store_t *self, const char *sql, const char *what)
{
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2 (self->db, sql, -1, &statement, NULL) != SQLITE_OK) {
        zsys_error ("store: cannot read %s: %s", what, sqlite3_errmsg (self->db));
        sqlite3_finalize (statement);
        return NULL;
    }
    return statement;
}

int
store_snapshot_begin (store_t *self)
{
    assert (self);
    //  A deferred transaction takes its snapshot at its first read: read
    //  once here, so that the snapshot is the one of this moment.
    if (sqlite3_exec (self->db, "BEGIN DEFERRED; SELECT COUNT (*) FROM site WHERE id = 0",
                      NULL, NULL, NULL) != SQLITE_OK) {
        zsys_error ("store: cannot begin a read snapshot: %s", sqlite3_errmsg (self->db));
        store_rollback (self);
        return -1;
    }
    return 0;
}

void
store_snapshot_end (store_t *self)
{
    assert (self);
    if (!sqlite3_get_autocommit (self->db))
        sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
}

//  UTC day of a unix µs time, rounded down (also before 1970).
static int64_t
s_day_of (int64_t at_us)
{
    int64_t day_us = S_HOURS_PER_DAY * STORE_HOUR_US;
    return at_us >= 0 ? at_us / day_us : -((-at_us + day_us - 1) / day_us);
}

int
store_daily_uptime (store_t *self, uint64_t site_id, int64_t now_us,
                    store_day_t *days, size_t count)
{
    assert (self);
    assert (days || count == 0);
    if (count == 0 || count > STORE_VIEW_DAYS_MAX) {
        zsys_error ("store: %zu days of uptime asked, 1 to %d allowed", count, STORE_VIEW_DAYS_MAX);
        return -1;
    }
    int64_t today = s_day_of (now_us);
    int64_t first = today - (int64_t) count + 1;
    store_day_t filled [STORE_VIEW_DAYS_MAX];
    for (size_t index = 0; index < count; index++)
        filled [index] = (store_day_t) { .day = first + (int64_t) index, .uptime = -1 };
    if (site_id <= INT64_MAX) {     //  else no such site: every day without data
        sqlite3_stmt *statement = s_prepare (self, s_daily_sql, "daily uptime");
        if (!statement)
            return -1;
        sqlite3_bind_int64 (statement, 1, (int64_t) site_id);
        sqlite3_bind_int64 (statement, 2, first * S_HOURS_PER_DAY);
        sqlite3_bind_int64 (statement, 3, today * S_HOURS_PER_DAY + S_HOURS_PER_DAY - 1);
        int rc;
        while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
            int64_t day = sqlite3_column_int64 (statement, 0);
            if (day < first || day > today)
                continue;           //  cannot happen with whole hours >= 0
            store_day_t *slot = &filled [day - first];
            slot->checks = sqlite3_column_int64 (statement, 1);
            slot->up = sqlite3_column_int64 (statement, 2);
            if (slot->checks > 0)
                slot->uptime = 100.0 * (double) slot->up / (double) slot->checks;
        }
        if (rc != SQLITE_DONE)
            zsys_error ("store: cannot read the daily uptime of site %" PRIu64 ": %s",
                        site_id, sqlite3_errmsg (self->db));
        sqlite3_finalize (statement);
        if (rc != SQLITE_DONE)
            return -1;
    }
    memcpy (days, filled, count * sizeof (store_day_t));
    return (int) count;
}

int
store_latency (store_t *self, uint64_t site_id, store_latency_t *points, size_t count)
{
    assert (self);
    assert (points || count == 0);
    if (count == 0 || site_id > INT64_MAX)
        return 0;
    sqlite3_stmt *statement = s_prepare (self, s_latency_sql, "a latency series");
    if (!statement)
        return -1;
    sqlite3_bind_int64 (statement, 1, (int64_t) site_id);
    sqlite3_bind_int64 (statement, 2, count > INT64_MAX ? INT64_MAX : (int64_t) count);
    //  Newest first from the index; stored from the end, then moved down.
    size_t filled = 0;
    int rc = SQLITE_DONE;
    while (filled < count && (rc = sqlite3_step (statement)) == SQLITE_ROW) {
        int64_t total = sqlite3_column_int64 (statement, 1);
        points [count - 1 - filled] = (store_latency_t) {
            .at_us = sqlite3_column_int64 (statement, 0),
            .total_us = total > 0 ? (uint64_t) total : 0,
            .up = sqlite3_column_int (statement, 2) != 0,
        };
        filled++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        zsys_error ("store: cannot read the latency of site %" PRIu64 ": %s",
                    site_id, sqlite3_errmsg (self->db));
    sqlite3_finalize (statement);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return -1;
    if (filled < count)
        memmove (points, points + (count - filled), filled * sizeof (store_latency_t));
    return (int) filled;
}

int
store_incidents_recent (store_t *self, int64_t ended_since_us,
                        const uint64_t *site_ids, size_t site_count, size_t limit,
                        void (*callback) (const store_incident_row_t *row, void *arg),
                        void *arg)
{
    assert (self);
    assert (callback);
    if (limit == 0 || (site_ids && site_count == 0))
        return 0;
    //  The ids as a JSON array for json_each: 20 digits and a comma each.
    char *list = NULL;
    if (site_ids) {
        size_t size = site_count * 21 + 3;
        list = (char *) malloc (size);
        assert (list);
        size_t used = 0;
        list [used++] = '[';
        for (size_t index = 0; index < site_count; index++)
            used += (size_t) snprintf (list + used, size - used, "%s%" PRIu64,
                                       index ? "," : "", site_ids [index]);
        snprintf (list + used, size - used, "]");
    }
    sqlite3_stmt *statement = s_prepare (self, s_incidents_sql, "recent incidents");
    if (!statement) {
        free (list);
        return -1;
    }
    sqlite3_bind_int64 (statement, 1, ended_since_us);
    if (list)
        sqlite3_bind_text (statement, 2, list, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (statement, 2);
    sqlite3_bind_int64 (statement, 3, limit > INT64_MAX ? INT64_MAX : (int64_t) limit);
    int rows = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        store_incident_row_t row = {
            .site_id = (uint64_t) sqlite3_column_int64 (statement, 0),
            .url = store_column_text (statement, 1),
            .start_us = sqlite3_column_int64 (statement, 2),
            .end_us = sqlite3_column_int64 (statement, 3),     //  NULL reads as 0
            .reason = store_column_reason (statement, 4, SQ_REASON_OK),
            .detail = store_column_text (statement, 5),
        };
        callback (&row, arg);
        rows++;
    }
    if (rc != SQLITE_DONE)
        zsys_error ("store: cannot read recent incidents: %s", sqlite3_errmsg (self->db));
    sqlite3_finalize (statement);
    free (list);
    return rc == SQLITE_DONE ? rows : -1;
}

long long
store_state_counts (store_t *self, uint64_t counts [SQ_STATE_COUNT])
{
    assert (self && counts);
    memset (counts, 0, SQ_STATE_COUNT * sizeof (uint64_t));
    sqlite3_stmt *statement = NULL;
    int rc = sqlite3_prepare_v2 (self->db, "SELECT state, count (*) FROM site WHERE active = 1"
                                 " GROUP BY state", -1, &statement, NULL);
    long long total = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step (statement)) == SQLITE_ROW) {
        int64_t state = sqlite3_column_int64 (statement, 0);
        if (state >= 0 && state < SQ_STATE_COUNT) {
            counts [state] = (uint64_t) sqlite3_column_int64 (statement, 1);
            total += sqlite3_column_int64 (statement, 1);
        }
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        zsys_error ("store: cannot count the sites by state: %s", sqlite3_errmsg (self->db));
        total = -1;
    }
    sqlite3_finalize (statement);
    return total;
}
