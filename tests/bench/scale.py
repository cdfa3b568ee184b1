"""Helpers of tests/bench/scale.sh: configs, the SQLite reference, the
checks/s asked and the CPU share.  Each subcommand prints key=value lines.

  scale.py config SITES PORTS DATA_DIR HTTP_PORT   the YAML, on stdout
  scale.py reference SITES PORTS FILE               python3 + sqlite3 upserts
  scale.py rate SITES                               checks/s the intervals ask
  scale.py cpu BEFORE AFTER                         CPU shares between two samples
"""
import os
import os
import sqlite3
import sys
import time


INTERVAL_MIN = int(os.environ.get("INTERVAL_MIN", "60"))
INTERVAL_MAX = int(os.environ.get("INTERVAL_MAX", "300"))


def interval_s(index):
    """Site index's interval: INTERVAL_MIN to INTERVAL_MAX s (default 60 to
    300), evenly spread."""
    return INTERVAL_MIN + (index * 7919) % (INTERVAL_MAX - INTERVAL_MIN + 1)


def url(index, ports):
    return "http://127.0.0.1:%s/s/%d" % (ports[index % len(ports)], index)


def config(sites, ports, data_dir, http_port):
    out = sys.stdout
    out.write("data_dir: %s\n" % data_dir)
    if http_port != "0":
        out.write("http: { listen: 127.0.0.1:%s }\n" % http_port)
    out.write("workers: { pingers: 2 }\n")
    out.write("defaults: { timeout: 10s }\n")
    if sites == 0:
        out.write("sites: []\n")
        return
    out.write("sites:\n")
    write = out.write
    for index in range(sites):
        write("  - { url: %s, interval: %ds }\n" % (url(index, ports), interval_s(index)))


def reference(sites, ports, path):
    """What SQLite alone takes to record the sites: the store's site table,
    its pragmas, one transaction of upserts (the URLs made before the clock
    starts)."""
    urls = [(url(index, ports),) for index in range(sites)]
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE site (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL UNIQUE,"
               " owner TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1) STRICT")
    start = time.monotonic()
    db.execute("BEGIN")
    db.executemany("INSERT INTO site (url) VALUES (?1) ON CONFLICT (url) DO UPDATE SET active = 1",
                   urls)
    db.execute("COMMIT")
    took = time.monotonic() - start
    db.close()
    print("reference_s=%.3f" % took)


def rate(sites):
    print("checks_per_s=%.1f" % sum(1.0 / interval_s(index) for index in range(sites)))


def cpu(before_path, after_path):
    """Each sample: 'wall_s', 'machine busy idle' (jiffies), then
    'NAME ticks' lines; prints cores used by each name and the machine."""
    def read(path):
        values = {}
        for line in open(path):
            parts = line.split()
            values[parts[0]] = [float(part) for part in parts[1:]]
        return values
    before, after = read(before_path), read(after_path)
    ticks = os.sysconf("SC_CLK_TCK")
    wall = after["wall_s"][0] - before["wall_s"][0]
    busy = after["machine"][0] - before["machine"][0]
    idle = after["machine"][1] - before["machine"][1]
    print("window_s=%.1f" % wall)
    print("machine_busy=%.2f" % (busy / (busy + idle)))
    for name in after:
        if name not in ("wall_s", "machine"):
            print("%s_cores=%.2f" % (name, (after[name][0] - before.get(name, [0])[0]) / ticks / wall))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "config":
        config(int(sys.argv[2]), sys.argv[3].split(), sys.argv[4], sys.argv[5])
    elif command == "reference":
        reference(int(sys.argv[2]), sys.argv[3].split(), sys.argv[4])
    elif command == "rate":
        rate(int(sys.argv[2]))
    elif command == "cpu":
        cpu(sys.argv[2], sys.argv[3])
    else:
        sys.exit("scale.py: unknown command " + command)
