#!/usr/bin/env python3
"""The outages of tests/bench/alert_latency.sh, and their figures.

Run by alert_latency.sh once `squirrel run` monitors the sites
http://127.0.0.1:SITE/switch/sN (N from 0), site sN owned by owner sN whose
webhook is http://127.0.0.1:HOOK/sN and whose email is sN@example.com.
Each site has one outage, at a moment drawn at random within SPAN seconds,
so that outages fall at random points of the check interval:

    T0   /set/sN/503 is sent (the site answers 503 from then on)
    C1   the first failing check of sN ends (store: result.at_us)
    C2   the second, the recheck that makes it DOWN
    F    `squirrel watch --json` prints its DOWN (the feed, stamped on arrival)
    T1   the webhook receiver logs the DOWN post (its received_at)
    T2   the DOWN mail's NNNN.eml appears in the maildir (polled every 5 ms)

then the site is set back to 200. Every clock is this host's wall clock.
Prints one line per outage with --verbose, then the table of figures.
"""

import argparse
import json
import math
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

POLL = 0.005                # maildir and webhook log polled this often, s
DEADLINE = 90.0             # an outage not told by then is counted as missed


def now_ms():
    return time.time() * 1000.0


class Feed(threading.Thread):
    """`squirrel watch --json FEED`, each line stamped as it arrives."""

    def __init__(self, squirrel, endpoint):
        super().__init__(daemon=True)
        self.proc = subprocess.Popen([squirrel, "watch", "--json", endpoint],
                                     stdout=subprocess.PIPE, text=True)
        self.seen = {}          # (url, state) -> [(ms, seq, site_id)]
        self.lock = threading.Lock()

    def run(self):
        for line in self.proc.stdout:
            at = now_ms()
            alert = json.loads(line)
            with self.lock:
                self.seen.setdefault((alert["url"], alert["state"]), []).append(
                    (at, alert["seq"], alert["site_id"]))

    def first(self, url, state, after):
        with self.lock:
            for at, seq, site_id in self.seen.get((url, state), []):
                if at >= after:
                    return at, seq, site_id
        return None


class Arrivals(threading.Thread):
    """The webhook's log and the maildir, read as they grow."""

    def __init__(self, hook_log, maildir):
        super().__init__(daemon=True)
        self.hook_log = hook_log
        self.maildir = maildir
        self.posts = {}         # (path, state) -> [received_at ms]
        self.mails = {}         # recipient -> [(appeared ms, subject)]
        self.lock = threading.Lock()
        self.offset = 0
        self.known = set()

    def _posts(self):
        try:
            with open(self.hook_log, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            post = json.loads(line)
            body = json.loads(post["body"])
            notices = body["alerts"] if body.get("digest") else [body]
            with self.lock:
                for notice in notices:
                    self.posts.setdefault((post["path"], notice["state"]), []).append(
                        post["received_at"] * 1000.0)

    def _mails(self):
        for entry in os.scandir(self.maildir):
            if not entry.name.endswith(".eml") or entry.name in self.known:
                continue
            at = now_ms()
            self.known.add(entry.name)
            envelope = entry.path[:-4] + ".env"
            with open(envelope) as f:
                to = [line[3:].strip() for line in f if line.startswith("to ")]
            with open(entry.path, "rb") as f:
                head = f.read(4096).decode("utf-8", "replace")
            subject = next((line[9:] for line in head.split("\r\n")
                            if line.startswith("Subject: ")), "")
            with self.lock:
                for address in to:
                    self.mails.setdefault(address, []).append((at, subject))

    def run(self):
        while True:
            self._posts()
            self._mails()
            time.sleep(POLL)

    def post(self, path, state, after):
        with self.lock:
            return next((at for at in self.posts.get((path, state), []) if at >= after), None)

    def mail(self, address, after):
        with self.lock:
            return next((at for at, _ in self.mails.get(address, []) if at >= after), None)


def switch(site_port, name, code):
    urllib.request.urlopen("http://127.0.0.1:%d/set/%s/%d" % (site_port, name, code),
                           timeout=5).read()


def percentile(values, p):
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


def checks(db, site_id, after_ms):
    """(end ms, total ms) of the first two failing checks after after_ms."""
    rows = db.execute("SELECT at_us, total_us FROM result WHERE site_id = ? AND up = 0 "
                      "AND at_us >= ? ORDER BY at_us LIMIT 2",
                      (site_id, int(after_ms * 1000))).fetchall()
    return [(at / 1000.0, total / 1000.0) for at, total in rows]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--squirrel", required=True)
    parser.add_argument("--feed", required=True)
    parser.add_argument("--site-port", type=int, required=True)
    parser.add_argument("--hook-log", required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--outages", type=int, required=True)
    parser.add_argument("--span", type=float, required=True)
    parser.add_argument("--warmup", type=float, required=True)
    parser.add_argument("--interval", type=float, required=True)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    feed = Feed(args.squirrel, args.feed)
    feed.start()
    try:
        return measure(args, feed)
    finally:
        feed.proc.terminate()
        feed.proc.wait()


def measure(args, feed):
    """The outages, then the figures; the exit status."""
    arrivals = Arrivals(args.hook_log, args.maildir)
    arrivals.start()
    # Every site has had its first check (spread over one interval) and is UP.
    time.sleep(args.warmup)

    rng = random.Random(args.seed)
    start = now_ms()
    plan = sorted((start + rng.uniform(0, args.span * 1000.0), index)
                  for index in range(args.outages))
    outages = []            # dicts, in the order they began
    open_ = []

    def follow():
        """Once both channels told an outage (or it is too old), set its site
        back up after a random part of an interval, so that the recovery
        too falls at a random point of it."""
        for outage in list(open_):
            name = outage["name"]
            if outage["t1"] is None:
                outage["t1"] = arrivals.post("/" + name, "down", outage["t0"])
            if outage["t2"] is None:
                outage["t2"] = arrivals.mail(name + "@example.com", outage["t0"])
            told = outage["t1"] is not None and outage["t2"] is not None
            if "back" not in outage and (told or now_ms() - outage["t0"] > DEADLINE * 1000.0):
                outage["back"] = now_ms() + rng.uniform(0, args.interval * 1000.0)
            if "back" in outage and now_ms() >= outage["back"]:
                switch(args.site_port, name, 200)
                outage["up0"] = now_ms()
                open_.remove(outage)

    for due, index in plan:
        while now_ms() < due:
            follow()
            time.sleep(min(0.01, max(0.0, (due - now_ms()) / 1000.0)))
        name = "s%d" % index
        t0 = now_ms()
        switch(args.site_port, name, 503)
        outage = {"name": name, "url": "http://127.0.0.1:%d/switch/%s" % (args.site_port, name),
                  "t0": t0, "t1": None, "t2": None}
        outages.append(outage)
        open_.append(outage)
    while open_:
        follow()
        time.sleep(0.01)
    # The last UP alerts and the store's last batch (committed after 500 ms).
    deadline = time.time() + 3 * args.interval + 10
    while time.time() < deadline and not all(
            arrivals.post("/" + o["name"], "up", o["up0"]) for o in outages):
        time.sleep(0.1)
    time.sleep(1.5)

    db = sqlite3.connect("file:%s?mode=ro" % args.db, uri=True)
    rows = []
    missed = []
    for outage in outages:
        down = feed.first(outage["url"], "down", outage["t0"])
        found = checks(db, down[2], outage["t0"]) if down else []
        if not down or outage["t1"] is None or outage["t2"] is None or len(found) < 2:
            missed.append(outage["name"])
            continue
        (c1, c1_total), (c2, c2_total) = found
        up1 = arrivals.post("/" + outage["name"], "up", outage["up0"])
        row = {
            "webhook": outage["t1"] - outage["t0"],
            "mail": outage["t2"] - outage["t0"],
            "wait": c1 - outage["t0"],             # until the next scheduled check ends
            "check": c1_total,                     # that check's own time
            "recheck": c2 - c1,                    # the immediate recheck, round trip
            "publish": down[0] - c2,               # collector -> feed -> watch
            "hook_part": outage["t1"] - down[0],   # notifier + webhook delivery
            "mail_part": outage["t2"] - down[0],   # notifier + SMTP delivery
            "floor": c1 - outage["t0"] + c2_total, # no monitor on this schedule is faster
            "up": up1 - outage["up0"] if up1 else None,
        }
        row["over"] = row["webhook"] - row["floor"]
        rows.append(row)
        if args.verbose:
            print("%-5s " % outage["name"] + " ".join(
                "%s=%.0f" % (key, value) for key, value in row.items() if value is not None))

    print("outages: %d measured, %d missed%s" % (len(rows), len(missed),
          (" (" + ", ".join(missed) + ")") if missed else ""))
    if not rows:
        return 1
    ups = [r["up"] for r in rows if r["up"] is not None]

    def line(label, values):
        print("| %s | %s | %s | %s | %s | %s |" % (
            label, *("%.0f" % percentile(values, p) for p in (50, 90, 99, 100)),
            "%.0f" % (sum(values) / len(values))))

    print("| ms | p50 | p90 | p99 | max | mean |")
    print("| --- | --- | --- | --- | --- | --- |")
    line("site down -> webhook has DOWN (T1 - T0)", [r["webhook"] for r in rows])
    line("site down -> mail in the maildir (T2 - T0)", [r["mail"] for r in rows])
    line("  wait for the next scheduled check (C1 - T0)", [r["wait"] for r in rows])
    line("  the recheck (C2 - C1)", [r["recheck"] for r in rows])
    line("  collector to feed to watch (F - C2)", [r["publish"] for r in rows])
    line("  notifier + webhook (T1 - F)", [r["hook_part"] for r in rows])
    line("  notifier + mail (T2 - F)", [r["mail_part"] for r in rows])
    line("floor: C1 - T0 + the recheck's own time", [r["floor"] for r in rows])
    line("webhook above the floor (T1 - T0 - floor)", [r["over"] for r in rows])
    if ups:
        line("site up again -> webhook has UP", ups)
    webhook = [r["webhook"] for r in rows]
    mail = [r["mail"] for r in rows]
    floor = [r["floor"] for r in rows]
    # What the config allows: a whole interval until the next check, then
    # the failing check and its immediate recheck (failure_threshold 2) and
    # the notifier; those last three taken at their slowest in this run.
    rest = (max(r["check"] for r in rows)
            + max(max(r["webhook"], r["mail"]) - r["wait"] for r in rows))
    bound = args.interval * 1000.0 + rest
    print("bound: interval %.0f ms + the slowest check, recheck, publication and delivery "
          "seen (%.0f ms) = %.0f ms" % (args.interval * 1000.0, rest, bound))
    for name, values in (("webhook", webhook), ("mail", mail)):
        print("%-8s p50 / bound %.3f, p99 / bound %.3f, max / bound %.3f; "
              "mean / mean floor %.4f" % (
                  name + ":", percentile(values, 50) / bound, percentile(values, 99) / bound,
                  max(values) / bound, sum(values) / sum(floor)))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
