#!/usr/bin/env python3
"""store_size.py: the sizes and the reference of tests/bench/store_size.sh.

    store_size.py sizes DB
        Bytes of every table and index of a store file (SQLite's dbstat,
        pages included whole, so the slack of each page counts), rows per
        table, bytes per row with its indexes; key=value lines.
    store_size.py reference SOURCE_DB NEW_DB SITES MINUTES INTERVAL_S REGIONS START_US
        The reference for the writer's rate: the same rows bench_store
        sends (the same formula), written straight into a new file with
        the store's schema and sites (copied from SOURCE_DB) and the
        writer's own four statements per result (site's last check, raw
        row, rollup, region rollup), 2,000 results per transaction, from
        Python's sqlite3 (executemany).  The rows are made before the
        clock starts: only SQLite is timed.
    store_size.py report DIR
        The figures of a run of store_size.sh, from the key=value files it
        left in DIR, as the tables of docs/BENCHMARKS.md.
"""
import glob
import os
import sqlite3
import statistics
import sys
import time

BATCH = 2000                    # the writer's STORE_FLUSH_WRITES
REGIONS = ["", "us", "asia", "sa", "oc"]
REASON_OK, REASON_HTTP_STATUS = 0, 5
SITES_PER_DAY = 100000          # the scale: 100,000 sites, one check a minute


def read_keys(path):
    values = {}
    with open(path) as file:
        for line in file:
            if "=" in line:
                key, value = line.strip().split("=", 1)
                try:
                    values[key] = float(value)
                except ValueError:
                    values[key] = value
    return values


def sizes(db):
    connection = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    objects = dict(connection.execute("SELECT name, SUM (pgsize) FROM dbstat GROUP BY name"))
    rows = {}
    for table in ("site", "result", "rollup", "region_rollup", "incident", "alert"):
        rows[table] = connection.execute("SELECT COUNT (*) FROM %s" % table).fetchone()[0]
    owner = dict(connection.execute("SELECT name, tbl_name FROM sqlite_master"
                                    " WHERE type IN ('table', 'index')"))
    print("page_size=%d" % page_size)
    print("file_pages=%d" % pages)
    print("free_pages=%d" % free)
    for table, count in rows.items():
        total = sum(size for name, size in objects.items()
                    if owner.get(name) == table or name.startswith("sqlite_autoindex_%s_" % table))
        print("%s_rows=%d" % (table, count))
        print("%s_bytes=%d" % (table, total))
        if count:
            print("%s_bytes_per_row=%.1f" % (table, total / count))
    for name in sorted(objects):
        print("object_%s_bytes=%d" % (name, objects[name]))


def rows_of(ids, sites, minutes, interval_s, regions, start_us):
    """The rows of bench_store.c's s_send, in its order."""
    interval_us = interval_s * 1000000
    phase = [site * 2654435761 % interval_us for site in range(sites)]
    order = sorted(range(sites), key=lambda site: (phase[site], site))
    for round_ in range(minutes * 60 // interval_s):
        for site in order:
            https = site % 2 == 0
            for region in range(regions):
                at = start_us + round_ * interval_us + phase[site] + region * 1000
                up = (site * 7 + round_) % 500 != 0
                queue = 100 + (site * 13 + round_ * 7) % 5000
                dns = 300 + (site * 31 + round_) % 3000
                connect = dns + 200 + (site * 17) % 2000
                tls = connect + 15000 + (site * 7) % 40000 if https else 0
                ttfb = (tls if https else connect) + 3000 + (site * 101 + round_ * 13) % 200000
                total = ttfb + 50 + site % 1000
                yield (ids[site], at, int(up), REASON_OK if up else REASON_HTTP_STATUS,
                       200 if up else 503, 0, "hub1-123456-%d" % (site % 8), REGIONS[region],
                       queue, dns, connect, tls, ttfb, total,
                       1798761600 + site * 3600 if https else 0, "" if up else "HTTP 503")


def reference(source, new, sites, minutes, interval_s, regions, start_us):
    if os.path.exists(new):
        sys.exit("store_size.py: %s exists" % new)
    old = sqlite3.connect("file:%s?mode=ro" % source, uri=True)
    schema = [sql for (sql,) in old.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
        " ORDER BY rowid")]
    site_rows = old.execute("SELECT id, url FROM site ORDER BY id").fetchall()
    old.close()
    db = sqlite3.connect(new, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    for sql in schema:
        db.execute(sql)
    db.execute("BEGIN")
    db.executemany("INSERT INTO site (id, url) VALUES (?, ?)", site_rows)
    db.execute("COMMIT")
    # Ids by URL, as bench_store synced them: site index i has URL number i.
    ids = [0] * sites
    for site_id, url in site_rows:
        ids[int(url.split("site-")[1][:6])] = site_id
    rows = list(rows_of(ids, sites, minutes, interval_s, regions, start_us))
    site_check = [(row[0], row[1], row[3], row[4]) for row in rows]
    rollup = [(row[0], row[1] // 3600000000, row[2], min(row[13], 3600000000)) for row in rows]
    region = [(row[0], row[7], row[1] // 3600000000, row[2], min(row[13], 3600000000))
              for row in rows]
    started = time.perf_counter()
    for first in range(0, len(rows), BATCH):
        last = first + BATCH
        db.execute("BEGIN IMMEDIATE")
        db.executemany("UPDATE site SET"
                       " last_reason = CASE WHEN ?2 >= last_check_us THEN ?3 ELSE last_reason END,"
                       " last_status = CASE WHEN ?2 >= last_check_us THEN ?4 ELSE last_status END,"
                       " last_check_us = MAX (last_check_us, ?2) WHERE id = ?1",
                       site_check[first:last])
        db.executemany("INSERT INTO result (site_id, at_us, up, reason, http_status, method,"
                       " pinger_id, region, queue_us, dns_us, connect_us, tls_us, ttfb_us,"
                       " total_us, cert_expiry, error)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       rows[first:last])
        db.executemany("INSERT INTO rollup (site_id, hour, checks, up, total_us)"
                       " VALUES (?1, ?2, 1, ?3, ?4) ON CONFLICT (site_id, hour) DO UPDATE SET"
                       " checks = checks + 1, up = up + excluded.up,"
                       " total_us = total_us + excluded.total_us", rollup[first:last])
        db.executemany("INSERT INTO region_rollup (site_id, region, hour, checks, up, total_us)"
                       " VALUES (?1, ?2, ?3, 1, ?4, ?5) ON CONFLICT (site_id, region, hour)"
                       " DO UPDATE SET checks = checks + 1, up = up + excluded.up,"
                       " total_us = total_us + excluded.total_us", region[first:last])
        db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    print("results=%d" % len(rows))
    print("seconds=%.3f" % seconds)
    print("results_per_s=%.0f" % (len(rows) / seconds))


def mb(value):
    return "%.1f MB" % (value / 1e6)


def gb(value):
    return "%.2f GB" % (value / 1e9)


def report(folder):
    writer = [read_keys(path) for path in sorted(glob.glob(os.path.join(folder, "writer.*.txt")))]
    refs = [read_keys(path) for path in sorted(glob.glob(os.path.join(folder, "reference.*.txt")))]
    if writer and refs:
        print("### Rate (%d sites, %d s interval, %d min virtual: %d results a run)\n" % (
            writer[0]["sites"], writer[0]["interval_s"], writer[0]["minutes"],
            writer[0]["results"]))
        print("| round | writer results/s | reference results/s | writer / reference |"
              " writer CPU s / 100,000 results | bytes written / result |")
        print("| --- | --- | --- | --- | --- | --- |")
        ratios = []
        for index, (one, ref) in enumerate(zip(writer, refs)):
            ratio = one["results_per_s"] / ref["results_per_s"]
            ratios.append(ratio)
            print("| %d | %s | %s | %.2f | %.2f | %s |" % (
                index + 1, "{:,.0f}".format(one["results_per_s"]),
                "{:,.0f}".format(ref["results_per_s"]), ratio,
                one["cpu_seconds"] / one["results"] * 100000,
                "{:,.0f}".format(one["written_per_result"])))
        print("| median | %s | %s | %.2f | | |\n" % (
            "{:,.0f}".format(statistics.median(one["results_per_s"] for one in writer)),
            "{:,.0f}".format(statistics.median(ref["results_per_s"] for ref in refs)),
            statistics.median(ratios)))
        growth = [(one["file_bytes"] - one["base_bytes"]) / one["results"] for one in writer]
        print("file growth / results (after the checkpoint; raw rows, indexes and the run's"
              " rollup hours): %s bytes\n" % ", ".join("%.1f" % value for value in growth))
    pruned = [one for one in writer if "prune_rows" in one]
    for one in pruned:
        print("prune of every raw result: %d rows in %.2f s (%s rows/s); again with nothing to"
              " delete (the walk over %d rollup and region rollup keys): %.2f s" % (
                  one["prune_rows"], one["prune_seconds"],
                  "{:,.0f}".format(one["prune_rows"] / one["prune_seconds"]),
                  2 * one["sites"] * one["regions"] if one["regions"] > 1 else 2 * one["sites"],
                  one["prune_again_seconds"]))
    paced = [read_keys(path) for path in sorted(glob.glob(os.path.join(folder, "paced.*.txt")))]
    for one in paced:
        print("paced at %s results/s for %d s: backlog at most %d results (sent, not yet"
              " committed); %s bytes written per result" % (
                  "{:,.0f}".format(one["offered_per_s"]), one["seconds"], one["backlog_max"],
                  "{:,.0f}".format(one["written_per_result"])))
    steady_path = os.path.join(folder, "steady.txt")
    sizes_path = os.path.join(folder, "steady_sizes.txt")
    if os.path.exists(steady_path) and os.path.exists(sizes_path):
        run, size = read_keys(steady_path), read_keys(sizes_path)
        sites, regions = run["sites"], run["regions"]
        scale = SITES_PER_DAY / sites
        result_row = size["result_bytes_per_row"]
        rollup_row = size["rollup_bytes_per_row"]
        region_row = size["region_rollup_bytes_per_row"]
        print("\n### Steady state (%d sites, one check a minute, %d h virtual, pruned every"
              " virtual hour: %d results, %.0f results/s with the prunes; the prunes deleted %d"
              " rows in %.1f s)\n" % (
                  sites, run["minutes"] / 60, run["results"], run["results_per_s"],
                  run["pruned_during"], run["prune_seconds_during"]))
        print("| table (with its indexes) | rows at the end | bytes | bytes per row |")
        print("| --- | --- | --- | --- |")
        for table in ("result", "rollup", "region_rollup", "site"):
            print("| %s | %s | %s | %.1f |" % (
                table, "{:,.0f}".format(size[table + "_rows"]),
                "{:,.0f}".format(size[table + "_bytes"]), size[table + "_bytes_per_row"]))
        file_bytes = size["file_pages"] * size["page_size"]
        print("| the file (%d free pages) | | %s | |\n" % (size["free_pages"],
                                                           "{:,.0f}".format(file_bytes)))
        hours = sorted((int(key.rsplit("_", 1)[1]), value) for key, value in run.items()
                       if key.startswith("file_bytes_at_hour_"))
        if hours:
            print("The file after each virtual hour's prune (MB): %s\n" % ", ".join(
                "%d h %.0f" % (hour, value / 1e6) for hour, value in hours[::2]))
        per_day_raw = SITES_PER_DAY * 1440 * regions
        raw = per_day_raw * result_row
        raw_peak = SITES_PER_DAY * 1500 * regions * result_row
        rollups_day = SITES_PER_DAY * 24 * (rollup_row + regions * region_row)
        print("Per 100,000 sites, one check a minute, default retention (%d region%s):" % (
            regions, "" if regions == 1 else "s"))
        print("- raw results: %s rows a day, %s for the 24 h kept (%s just before the hourly"
              " prune, 25 h)" % ("{:,.0f}".format(per_day_raw), gb(raw), gb(raw_peak)))
        print("- rollups and region rollups: %s rows a day, %s a day; %s after 90 days, %s at"
              " the 400 days kept" % ("{:,.0f}".format(SITES_PER_DAY * 24 * (1 + regions)),
                                      mb(rollups_day), gb(90 * rollups_day),
                                      gb(400 * rollups_day)))
        print("- the whole file, scaled from this run's (x %.0f): %s" % (scale,
                                                                         gb(file_bytes * scale)))
        print("- in steady state after 400 days: about %s" % gb(raw_peak + 400 * rollups_day))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "sizes":
        sizes(sys.argv[2])
    elif len(sys.argv) == 9 and sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3], *(int(value) for value in sys.argv[4:]))
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
