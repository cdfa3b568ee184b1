/*  store_private.h: what the two halves of the store share, and nothing
    else: store.c (the connection, the schema and the synchronous helpers)
    and store_writer.c (the writer actor, which owns one store_t of its
    own).  Not for use outside actors/store*.c.
*/
#ifndef STORE_PRIVATE_H_INCLUDED
#define STORE_PRIVATE_H_INCLUDED

#include "store.h"
#include <sqlite3.h>

#define STORE_HOUR_US           3600000000LL    //  one rollup hour

//  Every statement a connection uses, prepared once at open (by
//  store_open_with_timeout, from this one list).
#define STORE_STATEMENTS(S) \
    S (BEGIN,           "BEGIN IMMEDIATE") \
    S (COMMIT,          "COMMIT") \
    S (ROLLBACK,        "ROLLBACK") \
    S (SAVEPOINT,       "SAVEPOINT write") \
    S (RELEASE,         "RELEASE write") \
    S (ROLLBACK_TO,     "ROLLBACK TO write") \
    S (SITE_CHECK,      "UPDATE site SET" \
                        " last_reason = CASE WHEN ?2 >= last_check_us THEN ?3 ELSE last_reason END," \
                        " last_status = CASE WHEN ?2 >= last_check_us THEN ?4 ELSE last_status END," \
                        " last_check_us = MAX (last_check_us, ?2) WHERE id = ?1") \
    S (RESULT_INSERT,   "INSERT INTO result (site_id, at_us, up, reason, http_status, method," \
                        " pinger_id, region, queue_us, dns_us, connect_us, tls_us, ttfb_us," \
                        " total_us, cert_expiry, error)" \
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)") \
    S (ROLLUP,          "INSERT INTO rollup (site_id, hour, checks, up, total_us) VALUES (?1, ?2, 1, ?3, ?4)" \
                        " ON CONFLICT (site_id, hour) DO UPDATE SET checks = checks + 1," \
                        " up = up + excluded.up, total_us = total_us + excluded.total_us") \
    S (SITE_STATE,      "UPDATE site SET state = ?2, since_us = ?3 WHERE id = ?1") \
    S (INCIDENT_OPEN,   "INSERT INTO incident (site_id, start_us, reason, detail)" \
                        " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS" \
                        " (SELECT 1 FROM incident WHERE site_id = ?1 AND end_us IS NULL)") \
    S (INCIDENT_CLOSE,  "UPDATE incident SET end_us = MAX (?2, start_us)" \
                        " WHERE site_id = ?1 AND end_us IS NULL") \
    S (PRUNE,           "DELETE FROM result WHERE id IN" \
                        " (SELECT id FROM result WHERE at_us < ?1 ORDER BY at_us LIMIT ?2)") \
    S (SITES_RETIRE,    "UPDATE site SET active = 0 WHERE active = 1") \
    S (SITE_UPSERT,     "INSERT INTO site (url, owner) VALUES (?1, ?2) ON CONFLICT (url)" \
                        " DO UPDATE SET owner = excluded.owner, active = 1 RETURNING id") \
    S (SITE_STATE_GET,  "SELECT state, since_us FROM site WHERE id = ?1") \
    S (STATUS,          "SELECT s.id, s.url, s.owner, s.state, s.since_us, s.last_check_us," \
                        " s.last_reason, s.last_status," \
                        " EXISTS (SELECT 1 FROM incident i WHERE i.site_id = s.id AND i.end_us IS NULL)," \
                        " SUM (CASE WHEN r.hour >= ?1 THEN r.checks END)," \
                        " SUM (CASE WHEN r.hour >= ?1 THEN r.up END)," \
                        " SUM (CASE WHEN r.hour >= ?2 THEN r.checks END)," \
                        " SUM (CASE WHEN r.hour >= ?2 THEN r.up END)," \
                        " SUM (r.checks), SUM (r.up)," \
                        " (SELECT x.pinger_id || ' ' || x.region FROM result x" \
                        "  WHERE x.site_id = s.id ORDER BY x.at_us DESC LIMIT 1)" \
                        " FROM site s LEFT JOIN rollup r" \
                        " ON r.site_id = s.id AND r.hour BETWEEN ?3 AND ?4" \
                        " WHERE s.active = 1 GROUP BY s.id ORDER BY s.url") \
    S (ALERT_INSERT,    "INSERT INTO alert (seq, site_id, previous, state, since_us, reason, detail," \
                        " previous_since_us, http_status, dns_us, connect_us, tls_us, ttfb_us," \
                        " total_us, regions) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11," \
                        " ?12, ?13, ?14, ?15)") \
    S (ALERT_LAST,      "SELECT MAX (seq) FROM alert") \
    S (ALERTS_LATEST,   "SELECT a.seq, a.site_id, s.url, a.previous, a.state, a.since_us, a.reason," \
                        " a.detail, a.previous_since_us, a.http_status, a.dns_us, a.connect_us," \
                        " a.tls_us, a.ttfb_us, a.total_us, a.regions FROM alert a JOIN site s ON s.id = a.site_id" \
                        " WHERE a.seq IN (SELECT MAX (seq) FROM alert GROUP BY site_id)" \
                        " ORDER BY a.seq") \
    S (ALERTS,          "SELECT a.seq, a.site_id, s.url, a.previous, a.state, a.since_us, a.reason," \
                        " a.detail, a.previous_since_us, a.http_status, a.dns_us, a.connect_us," \
                        " a.tls_us, a.ttfb_us, a.total_us, a.regions FROM alert a JOIN site s ON s.id = a.site_id" \
                        " WHERE a.seq > ?1 AND a.seq <= ?2 ORDER BY a.seq LIMIT ?3") \
    S (SITE_REGIONS,    "SELECT region, up, reason, MAX (at_us) FROM result WHERE site_id = ?1" \
                        " AND at_us > ?2 GROUP BY region ORDER BY region") \
    S (CERTS,           "SELECT s.id, (SELECT r.cert_expiry FROM result r WHERE r.site_id = s.id" \
                        " ORDER BY r.at_us DESC LIMIT 1) FROM site s WHERE s.active = 1") \
    S (INCIDENTS,       "SELECT start_us, end_us, reason, detail FROM incident" \
                        " WHERE site_id = ?1 ORDER BY start_us DESC, id DESC LIMIT ?2")

#define STORE_STATEMENT_ID(NAME, sql) STMT_##NAME,
typedef enum { STORE_STATEMENTS (STORE_STATEMENT_ID) STMT_COUNT } store_statement_t;

//  A connection: opaque outside the store.
struct _store_t {
    sqlite3 *db;                            //  this connection
    sqlite3_stmt *statement [STMT_COUNT];   //  prepared once, reset after each use
    char error [256];                       //  text of the last failed step
};

//  store_open with the time a statement waits for a lock before it fails
//  with SQLITE_BUSY: readers wait longer than the writer, which retries.
store_t *store_open_with_timeout (const char *data_dir, int busy_ms, char *error, size_t error_size);

//  Step a statement that returns no rows we want; reset it.  SQLITE_OK or
//  the error code, with the text in self->error.
int store_step (store_t *self, store_statement_t which);

//  Leave a transaction that failed, if SQLite has not already.
void store_rollback (store_t *self);

#endif
