#!/usr/bin/env python3
"""Time one command for the benchmark scripts (compare.sh, sweep_50k_remote.sh).

    python3 tests/bench/timed.py OUT ERR JOINS RESULT -- CMD [ARG...]

Runs CMD with its stdout in the file OUT and its stderr copied line by line
into the file ERR, each line after "+MS " (when it arrived, in ms from the
start), and writes to RESULT (atomically, RESULT.tmp then rename)
one line:

    WALL_MS JOIN_MS EXIT_CODE PEAK_RSS_KB

WALL_MS is from just before CMD is started to its exit.  JOIN_MS is when
the JOINS-th line "dispatcher: pinger NAME joined" (or "is back") arrived on
CMD's stderr, counted from the same start (so it needs `squirrel sweep
--verbose`); with JOINS 0, or if fewer pingers joined, it is 0.  The time a
line arrives is when this script reads it: the pipe adds microseconds.
PEAK_RSS_KB is CMD's peak resident set (from wait4).  Python 3 standard
library only.
"""

import os
import re
import subprocess
import sys
import time

JOINED = re.compile(rb"dispatcher: pinger \S+ (joined|is back)")


def main(argv):
    if len(argv) < 7 or argv[5] != "--":
        sys.stderr.write(__doc__)
        return 2
    out_path, err_path, joins, result_path = argv[1], argv[2], int(argv[3]), argv[4]
    command = argv[6:]
    seen = 0
    join_ms = 0
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.monotonic()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
        for line in child.stderr:
            now = time.monotonic()
            err.write(b"+%d " % round((now - start) * 1000) + line)
            if joins and seen < joins and JOINED.search(line):
                seen += 1
                if seen == joins:
                    join_ms = round((now - start) * 1000)
        child.stderr.close()
        _, status, usage = os.wait4(child.pid, 0)
        wall_ms = round((time.monotonic() - start) * 1000)
    code = os.waitstatus_to_exitcode(status)
    with open(result_path + ".tmp", "w") as result:
        result.write("%d %d %d %d\n" % (wall_ms, join_ms, code, usage.ru_maxrss))
    os.rename(result_path + ".tmp", result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
