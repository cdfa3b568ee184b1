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
//  STATUS, per active site: its row; check uptime from its rollup hours
//  (?1, ?2, ?3 .. ?4: the first hours of 24 h, 7 d and 30 d .. the current
//  hour); for quorum uptime, its first check (the earliest raw result
//  kept when that lies in the earliest rollup hour, else the start of that
//  hour; ?9 = STORE_HOUR_US) and the time it was down by quorum in each
//  window: its incidents clipped to [max (window start, first check), now],
//  an open one ending at now (?5 now; ?6, ?7, ?8: now minus 24 h, 7 d, 30 d).
//  MATERIALIZED looks each site's first check up once, not at every use;
//  CROSS JOIN keeps site the outer loop, so GROUP BY follows its order and
//  the rollup rows are not sorted (measured, 100,000 sites with 120
//  rollup hours each: 3.7 s; 3.0 s without quorum uptime; 13 s in the
//  planner's own order).
//  SITE_REGIONS, per region that checked site ?1 after ?2: its latest
//  verdict (SQLite takes the bare columns from the row that holds the MAX)
//  and its check uptime from its region rollups, hours as in STATUS (?3,
//  ?4, ?5 .. ?6).
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
    S (REGION_ROLLUP,   "INSERT INTO region_rollup (site_id, region, hour, checks, up, total_us)" \
                        " VALUES (?1, ?2, ?3, 1, ?4, ?5) ON CONFLICT (site_id, region, hour)" \
                        " DO UPDATE SET checks = checks + 1, up = up + excluded.up," \
                        " total_us = total_us + excluded.total_us") \
    S (SITE_STATE,      "UPDATE site SET state = ?2, since_us = ?3 WHERE id = ?1") \
    S (INCIDENT_OPEN,   "INSERT INTO incident (site_id, start_us, reason, detail)" \
                        " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS" \
                        " (SELECT 1 FROM incident WHERE site_id = ?1 AND end_us IS NULL)") \
    S (INCIDENT_CLOSE,  "UPDATE incident SET end_us = MAX (?2, start_us)" \
                        " WHERE site_id = ?1 AND end_us IS NULL") \
    S (PRUNE,           "DELETE FROM result WHERE id IN" \
                        " (SELECT id FROM result WHERE at_us < ?1 ORDER BY at_us LIMIT ?2)") \
    S (SITE_UPSERT,     "INSERT INTO site (url, owner, id) VALUES (?1, ?2, ?3) ON CONFLICT (url)" \
                        " DO UPDATE SET owner = excluded.owner, active = 1 RETURNING id") \
    S (SITE_INSERT,     "INSERT INTO site (url, owner, id) VALUES (?1, ?2, ?3)" \
                        " ON CONFLICT (url) DO NOTHING") \
    S (SITE_ID,         "SELECT id FROM site WHERE url = ?1") \
    S (SITE_ID_MAX,     "SELECT MAX (COALESCE ((SELECT MAX (id) FROM site), 0)," \
                        " COALESCE ((SELECT seq FROM sqlite_sequence WHERE name = 'site'), 0))") \
    S (SITE_PROVISIONAL, "INSERT INTO site (id, url, owner, active) SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS" \
                        " (SELECT 1 FROM site WHERE id = ?1 OR url = ?2)") \
    S (SITE_STATE_GET,  "SELECT state, since_us FROM site WHERE id = ?1") \
    S (STATUS,          "WITH first AS MATERIALIZED (SELECT s.id AS site_id," \
                        "  (SELECT MIN (hour) FROM rollup WHERE site_id = s.id) AS hour," \
                        "  (SELECT MIN (at_us) FROM result WHERE site_id = s.id) AS at_us" \
                        "  FROM site s WHERE s.active = 1 AND (?10 IS NULL OR s.id = ?10))," \
                        " since AS MATERIALIZED (SELECT site_id, CASE WHEN hour IS NULL OR at_us < (hour + 1) * ?9" \
                        "  THEN at_us ELSE hour * ?9 END AS first_us FROM first)," \
                        " quorum AS (SELECT f.site_id AS site_id, f.first_us AS first_us," \
                        "  TOTAL (MAX (0, MIN (COALESCE (i.end_us, ?5), ?5)" \
                        "   - MAX (i.start_us, ?6, f.first_us))) AS down_24h," \
                        "  TOTAL (MAX (0, MIN (COALESCE (i.end_us, ?5), ?5)" \
                        "   - MAX (i.start_us, ?7, f.first_us))) AS down_7d," \
                        "  TOTAL (MAX (0, MIN (COALESCE (i.end_us, ?5), ?5)" \
                        "   - MAX (i.start_us, ?8, f.first_us))) AS down_30d" \
                        "  FROM since f LEFT JOIN incident i ON i.site_id = f.site_id" \
                        "  AND i.start_us < ?5 AND (i.end_us IS NULL OR i.end_us > ?8)" \
                        "  GROUP BY f.site_id)" \
                        " SELECT s.id, s.url, s.owner, s.state, s.since_us, s.last_check_us," \
                        " s.last_reason, s.last_status," \
                        " EXISTS (SELECT 1 FROM incident i WHERE i.site_id = s.id AND i.end_us IS NULL)," \
                        " SUM (CASE WHEN r.hour >= ?1 THEN r.checks END)," \
                        " SUM (CASE WHEN r.hour >= ?1 THEN r.up END)," \
                        " SUM (CASE WHEN r.hour >= ?2 THEN r.checks END)," \
                        " SUM (CASE WHEN r.hour >= ?2 THEN r.up END)," \
                        " SUM (r.checks), SUM (r.up)," \
                        " (SELECT x.pinger_id || ' ' || x.region FROM result x" \
                        "  WHERE x.site_id = s.id ORDER BY x.at_us DESC LIMIT 1)," \
                        " q.first_us, q.down_24h, q.down_7d, q.down_30d" \
                        " FROM site s CROSS JOIN quorum q ON q.site_id = s.id LEFT JOIN rollup r" \
                        " ON r.site_id = s.id AND r.hour BETWEEN ?3 AND ?4" \
                        " WHERE s.active = 1 AND (?10 IS NULL OR s.id = ?10)" \
                        " GROUP BY s.id ORDER BY s.url") \
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
    S (SITE_REGIONS,    "WITH latest AS (SELECT region, up, reason, MAX (at_us) AS at_us" \
                        "  FROM result WHERE site_id = ?1 AND at_us > ?2 GROUP BY region)" \
                        " SELECT l.region, l.up, l.reason, l.at_us," \
                        " SUM (CASE WHEN g.hour >= ?3 THEN g.checks END)," \
                        " SUM (CASE WHEN g.hour >= ?3 THEN g.up END)," \
                        " SUM (CASE WHEN g.hour >= ?4 THEN g.checks END)," \
                        " SUM (CASE WHEN g.hour >= ?4 THEN g.up END)," \
                        " SUM (g.checks), SUM (g.up)" \
                        " FROM latest l LEFT JOIN region_rollup g ON g.site_id = ?1" \
                        " AND g.region = l.region AND g.hour BETWEEN ?5 AND ?6" \
                        " GROUP BY l.region ORDER BY l.region") \
    S (CERTS,           "SELECT s.id, (SELECT r.cert_expiry FROM result r WHERE r.site_id = s.id" \
                        " ORDER BY r.at_us DESC LIMIT 1) FROM site s WHERE s.active = 1") \
    S (INCIDENTS,       "SELECT start_us, end_us, reason, detail FROM incident" \
                        " WHERE site_id = ?1 ORDER BY start_us DESC, id DESC LIMIT ?2") \
    S (ROLLUP_NEXT,     "SELECT site_id FROM rollup WHERE site_id > ?1 ORDER BY site_id LIMIT 1") \
    S (ROLLUP_PRUNE,    "DELETE FROM rollup WHERE site_id = ?1 AND hour < COALESCE ((SELECT hour FROM rollup WHERE site_id = ?1 AND hour < ?2 ORDER BY hour LIMIT 1 OFFSET ?3), ?2)") \
    S (REGION_ROLLUP_NEXT, "SELECT site_id, region FROM region_rollup WHERE (site_id, region) > (?1, ?2) ORDER BY site_id, region LIMIT 1") \
    S (REGION_ROLLUP_PRUNE, "DELETE FROM region_rollup WHERE site_id = ?1 AND region = ?2 AND hour < COALESCE ((SELECT hour FROM region_rollup WHERE site_id = ?1 AND region = ?2 AND hour < ?3 ORDER BY hour LIMIT 1 OFFSET ?4), ?3)")

#define STORE_STATEMENT_ID(NAME, sql) STMT_##NAME,
typedef enum { STORE_STATEMENTS (STORE_STATEMENT_ID) STMT_COUNT } store_statement_t;

//  A connection: opaque outside the store.
struct _store_t {
    sqlite3 *db;                            //  this connection
    sqlite3_stmt *statement [STMT_COUNT];   //  prepared once, reset after each use
    char error [256];                       //  text of the last failed step
    int system_errno;                       //  errno under the last failed step (0 none)
    char *data_dir;                         //  the folder it was opened in, malloc'd
};

//  What a failed write says about the disk, for the full-disk handling
//  (docs/ARCHITECTURE.md, "Store", "A full disk").
typedef enum {
    STORE_FAULT_NONE,           //  no failure
    STORE_FAULT_SPACE,          //  SQLITE_FULL, or ENOSPC / EDQUOT under an I/O error
    STORE_FAULT_IO,             //  another I/O error, a read-only or unopenable file:
                                //  the disk refuses writes, and may take them again later
    STORE_FAULT_OTHER           //  anything else (busy, corrupt, a bug): not the disk
} store_fault_t;

//  Classify rc, the code of the last failed step of self (with its errno).
store_fault_t store_fault (store_t *self, int rc);

//  Record, in the writer's transaction, the sites store_sync_sites gave
//  ids in memory (it could not write) that are not in the store yet.
//  *applied is the table's version the caller last recorded; on SQLITE_OK
//  *version is the one now recorded (keep it once the transaction
//  commits).  SQLITE_OK or the error.
int store_provisional_write (store_t *self, uint64_t applied, uint64_t *version);

//  Make <data_dir>/store.reserve (STORE_RESERVE_BYTES) if it is missing
//  and the disk has room: the space store_open frees to open the store on
//  a full disk.  0 made or already there, -1 not (errno).
int store_reserve_make (const char *data_dir);


//  store_open with the time a statement waits for a lock before it fails
//  with SQLITE_BUSY: readers wait longer than the writer, which retries.
store_t *store_open_with_timeout (const char *data_dir, int busy_ms, char *error, size_t error_size);

//  A text column of the row statement is on, "" for NULL: borrowed until
//  the statement steps or resets.
static inline const char *
store_column_text (sqlite3_stmt *statement, int column)
{
    const char *text = (const char *) sqlite3_column_text (statement, column);
    return text ? text : "";
}

//  A reason column of the row statement is on; fallback when the file
//  holds a number out of range.
static inline sq_reason_t
store_column_reason (sqlite3_stmt *statement, int column, sq_reason_t fallback)
{
    int reason = sqlite3_column_int (statement, column);
    return reason >= 0 && reason < SQ_REASON_COUNT ? (sq_reason_t) reason : fallback;
}

//  Step a statement that returns no rows we want; reset it.  SQLITE_OK or
//  the error code, with the text in self->error.
int store_step (store_t *self, store_statement_t which);

//  Leave a transaction that failed, if SQLite has not already.
void store_rollback (store_t *self);

#endif
