/*  store_api.c: the API's sites and read queries (store_api.h).

    These statements run seldom (an API call, a scrape), so they are
    prepared per call rather than kept with the connection's list in
    store_private.h.  api_site is made on first use (CREATE TABLE IF NOT
    EXISTS): it needs no change to the schema version, as no older build
    reads it and nothing else refers to it.
*/
#include "store_api.h"
#include "store_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char s_api_table [] =
    "CREATE TABLE IF NOT EXISTS api_site ("
    "  url TEXT PRIMARY KEY,"                   //  normal form
    "  body TEXT NOT NULL,"                     //  the JSON object last accepted
    "  created_us INTEGER NOT NULL"
    ") STRICT";

static void
s_error (char *error, size_t error_size, const char *format, ...)
{
    if (!error || !error_size)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (error, error_size, format, args);
    va_end (args);
}

//  Does the api_site table exist?  Reading must not need a write.
static bool
s_api_table_exists (store_t *self)
{
    sqlite3_stmt *statement = NULL;
    bool exists = false;
    if (sqlite3_prepare_v2 (self->db, "SELECT 1 FROM sqlite_schema WHERE name = 'api_site'",
                            -1, &statement, NULL) == SQLITE_OK)
        exists = sqlite3_step (statement) == SQLITE_ROW;
    sqlite3_finalize (statement);
    return exists;
}

int
store_api_sites (store_t *self, void (*callback) (const char *url, const char *body, void *arg),
                 void *arg)
{
    assert (self);
    if (!s_api_table_exists (self))
        return 0;
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2 (self->db, "SELECT url, body FROM api_site ORDER BY created_us, url",
                            -1, &statement, NULL) != SQLITE_OK) {
        zsys_error ("store: cannot read the API's sites: %s", sqlite3_errmsg (self->db));
        return -1;
    }
    int rows = 0, rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        const char *url = (const char *) sqlite3_column_text (statement, 0);
        const char *body = (const char *) sqlite3_column_text (statement, 1);
        if (url && body) {
            callback (url, body, arg);
            rows++;
        }
    }
    if (rc != SQLITE_DONE)
        zsys_error ("store: cannot read the API's sites: %s", sqlite3_errmsg (self->db));
    sqlite3_finalize (statement);
    return rc == SQLITE_DONE ? rows : -1;
}

int
store_api_site_put (store_t *self, const char *url, const char *body, char *error,
                    size_t error_size)
{
    assert (self && url && body);
    if (sqlite3_exec (self->db, s_api_table, NULL, NULL, NULL) != SQLITE_OK) {
        s_error (error, error_size, "cannot keep the site in the store: %s",
                 sqlite3_errmsg (self->db));
        return -1;
    }
    sqlite3_stmt *statement = NULL;
    int rc = sqlite3_prepare_v2 (self->db,
        "INSERT INTO api_site (url, body, created_us) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (url) DO UPDATE SET body = excluded.body", -1, &statement, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text (statement, 1, url, -1, SQLITE_STATIC);
        sqlite3_bind_text (statement, 2, body, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (statement, 3, zclock_time () * 1000);
        rc = sqlite3_step (statement);
    }
    if (rc != SQLITE_DONE)
        s_error (error, error_size, "cannot keep the site in the store: %s",
                 sqlite3_errmsg (self->db));
    sqlite3_finalize (statement);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
store_api_site_delete (store_t *self, const char *url, char *error, size_t error_size)
{
    assert (self && url);
    if (!s_api_table_exists (self))
        return 0;
    sqlite3_stmt *statement = NULL;
    int rc = sqlite3_prepare_v2 (self->db, "DELETE FROM api_site WHERE url = ?1", -1,
                                 &statement, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text (statement, 1, url, -1, SQLITE_STATIC);
        rc = sqlite3_step (statement);
    }
    int changed = sqlite3_changes (self->db);
    if (rc != SQLITE_DONE)
        s_error (error, error_size, "cannot remove the site from the store: %s",
                 sqlite3_errmsg (self->db));
    sqlite3_finalize (statement);
    return rc == SQLITE_DONE ? (changed > 0) : -1;
}

bool
store_site_active (store_t *self, uint64_t site_id)
{
    assert (self);
    if (site_id > INT64_MAX)
        return false;
    sqlite3_stmt *statement = NULL;
    bool active = false;
    if (sqlite3_prepare_v2 (self->db, "SELECT 1 FROM site WHERE id = ?1 AND active = 1", -1,
                            &statement, NULL) == SQLITE_OK) {
        sqlite3_bind_int64 (statement, 1, (int64_t) site_id);
        active = sqlite3_step (statement) == SQLITE_ROW;
    }
    sqlite3_finalize (statement);
    return active;
}

int
store_results (store_t *self, uint64_t site_id, int64_t since_us, size_t limit,
               void (*callback) (const store_result_t *row, void *arg), void *arg)
{
    assert (self && callback);
    if (site_id > INT64_MAX)
        return 0;
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2 (self->db,
            "SELECT at_us, up, reason, http_status, method, pinger_id, region, queue_us, dns_us,"
            " connect_us, tls_us, ttfb_us, total_us, cert_expiry, error FROM result"
            " WHERE site_id = ?1 AND at_us > ?2 ORDER BY at_us DESC LIMIT ?3",
            -1, &statement, NULL) != SQLITE_OK) {
        zsys_error ("store: cannot read results: %s", sqlite3_errmsg (self->db));
        return -1;
    }
    sqlite3_bind_int64 (statement, 1, (int64_t) site_id);
    sqlite3_bind_int64 (statement, 2, since_us);
    sqlite3_bind_int64 (statement, 3, limit > INT64_MAX ? INT64_MAX : (int64_t) limit);
    int rows = 0, rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        int method = sqlite3_column_int (statement, 4);
        int64_t status = sqlite3_column_int64 (statement, 3);
        store_result_t row = {
            .at_us = sqlite3_column_int64 (statement, 0),
            .up = sqlite3_column_int (statement, 1) != 0,
            .reason = store_column_reason (statement, 2, SQ_REASON_PROTOCOL),
            .http_status = status > 0 && status < 1000 ? (unsigned) status : 0,
            .method = method == SQ_METHOD_GET ? SQ_METHOD_GET : SQ_METHOD_HEAD,
            .pinger = store_column_text (statement, 5),
            .region = store_column_text (statement, 6),
            .queue_us = sqlite3_column_int64 (statement, 7),
            .dns_us = sqlite3_column_int64 (statement, 8),
            .connect_us = sqlite3_column_int64 (statement, 9),
            .tls_us = sqlite3_column_int64 (statement, 10),
            .ttfb_us = sqlite3_column_int64 (statement, 11),
            .total_us = sqlite3_column_int64 (statement, 12),
            .cert_expiry = sqlite3_column_int64 (statement, 13),
            .error = store_column_text (statement, 14),
        };
        callback (&row, arg);
        rows++;
    }
    if (rc != SQLITE_DONE)
        zsys_error ("store: cannot read results of site %llu: %s",
                    (unsigned long long) site_id, sqlite3_errmsg (self->db));
    sqlite3_finalize (statement);
    return rc == SQLITE_DONE ? rows : -1;
}

int
store_all_incidents (store_t *self, int64_t since_us, size_t limit,
                     void (*callback) (const store_any_incident_t *row, void *arg), void *arg)
{
    assert (self && callback);
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2 (self->db,
            "SELECT i.id, i.site_id, s.url, i.start_us, i.end_us, i.reason, i.detail"
            " FROM incident i JOIN site s ON s.id = i.site_id"
            " WHERE i.end_us IS NULL OR i.end_us > ?1"
            " ORDER BY i.start_us DESC, i.id DESC LIMIT ?2", -1, &statement, NULL) != SQLITE_OK) {
        zsys_error ("store: cannot read incidents: %s", sqlite3_errmsg (self->db));
        return -1;
    }
    sqlite3_bind_int64 (statement, 1, since_us);
    sqlite3_bind_int64 (statement, 2, limit > INT64_MAX ? INT64_MAX : (int64_t) limit);
    int rows = 0, rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        store_any_incident_t row = {
            .id = (uint64_t) sqlite3_column_int64 (statement, 0),
            .site_id = (uint64_t) sqlite3_column_int64 (statement, 1),
            .url = store_column_text (statement, 2),
            .start_us = sqlite3_column_int64 (statement, 3),
            .end_us = sqlite3_column_int64 (statement, 4),     //  NULL reads as 0
            .reason = store_column_reason (statement, 5, SQ_REASON_PROTOCOL),
            .detail = store_column_text (statement, 6),
        };
        callback (&row, arg);
        rows++;
    }
    if (rc != SQLITE_DONE)
        zsys_error ("store: cannot read incidents: %s", sqlite3_errmsg (self->db));
    sqlite3_finalize (statement);
    return rc == SQLITE_DONE ? rows : -1;
}

int
store_site_states (store_t *self, store_site_state_t **states, size_t *count)
{
    assert (self && states && count);
    *states = NULL;
    *count = 0;
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2 (self->db, "SELECT id, state, since_us FROM site ORDER BY id",
                            -1, &statement, NULL) != SQLITE_OK) {
        zsys_error ("store: cannot read the sites' states: %s", sqlite3_errmsg (self->db));
        return -1;
    }
    size_t capacity = 0;
    int rc;
    while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
        if (*count == capacity) {
            capacity = capacity ? capacity * 2 : 1024;
            store_site_state_t *grown = (store_site_state_t *) realloc (*states,
                                            capacity * sizeof (store_site_state_t));
            assert (grown);
            *states = grown;
        }
        int state = sqlite3_column_int (statement, 1);
        (*states) [(*count)++] = (store_site_state_t) {
            .site_id = (uint64_t) sqlite3_column_int64 (statement, 0),
            .state = state >= 0 && state < SQ_STATE_COUNT ? (sq_state_t) state : SQ_STATE_UNKNOWN,
            .since_us = sqlite3_column_int64 (statement, 2),
        };
    }
    if (rc != SQLITE_DONE) {
        zsys_error ("store: cannot read the sites' states: %s", sqlite3_errmsg (self->db));
        free (*states);
        *states = NULL;
        *count = 0;
    }
    sqlite3_finalize (statement);
    return rc == SQLITE_DONE ? 0 : -1;
}

const store_site_state_t *
store_site_state_find (const store_site_state_t *states, size_t count, uint64_t site_id)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (states [middle].site_id < site_id)
            low = middle + 1;
        else
            high = middle;
    }
    return low < count && states [low].site_id == site_id ? &states [low] : NULL;
}
