#!/bin/sh
# The whole path must not slow the pinger down: sweep N URLs (default
# 50,000) against nginx on loopback, through the full topology (dispatcher,
# pingers, collector, notifier), and report checks per second.
#
#   tests/bench/sweep_50k.sh [URLS] [PINGERS] [CONCURRENCY]
set -eu
count=${1:-50000}
pingers=${2:-1}
concurrency=${3:-256}
build=${BUILD:-build}
. "$(dirname "$0")/lib.sh"
[ -x "$build/squirrel" ] || { echo "sweep_50k.sh: $build/squirrel missing: run 'make'" >&2; exit 2; }
bench_tmp
bench_nginx "${PORTS:-4}" "${NGINX_WORKERS:-1}"
python3 -c "
ports = '$ports'.split()
for i in range($count):
    print('http://127.0.0.1:%s/site/%d' % (ports[i % len(ports)], i))" > "$dir/sites.txt"

echo "== $count URLs over ${PORTS:-4} nginx ports; $build/squirrel sweep --failure-threshold 1 --pingers $pingers --concurrency $concurrency"
start=$(bench_now_ms)
set +e
/usr/bin/time -f "%e s wall, %U s user, %S s system, %M KB peak RSS" \
    "$build/squirrel" sweep --failure-threshold 1 --pingers "$pingers" --concurrency "$concurrency" \
    "$dir/sites.txt" > "$dir/out.txt" 2> "$dir/time.txt"
rc=$?
set -e
took=$(( $(bench_now_ms) - start ))
cat "$dir/time.txt"
echo "exit $rc; $(grep -c '^up' "$dir/out.txt") up, $(grep -c '^DOWN' "$dir/out.txt") down"
grep '^DOWN' "$dir/out.txt" | awk '{print $5, $6}' | sort | uniq -c | sort -rn | head -5
echo "== $count checks in $took ms: $(awk -v n="$count" -v t="$took" 'BEGIN {printf "%.0f", n * 1000 / t}') checks/s, process start and config load included"
