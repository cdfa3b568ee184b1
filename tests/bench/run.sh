#!/bin/sh
# Pinger benchmark: nginx (Debian) answers 200 on several loopback ports;
# wrk measures the machine's ceiling for fresh connections against it, then
# bench_pinger drives N checks through real pinger actors.
#
#   tests/bench/run.sh [CHECKS] [CONCURRENCY] [PINGERS]
#
# Environment: BUILD (default build), NGINX_WORKERS (default 1), PORTS (4).
# Prints both figures and their ratio; docs/BENCHMARKS.md has past runs.
set -eu
checks=${1:-50000}
concurrency=${2:-256}
pingers=${3:-1}
build=${BUILD:-build}
. "$(dirname "$0")/lib.sh"

[ -x "$build/bench_pinger" ] || { echo "run.sh: $build/bench_pinger missing: run 'make' first" >&2; exit 2; }
command -v wrk >/dev/null || { echo "run.sh: needs wrk (sh deploy/install-deps.sh)" >&2; exit 2; }
bench_tmp
bench_nginx "${PORTS:-4}" "${NGINX_WORKERS:-1}"
first=$(echo $ports | cut -d' ' -f1)

rounds=${ROUNDS:-3}
echo "== machine: $(nproc) cores, $(uname -r); nginx workers: ${NGINX_WORKERS:-1}; ports: ${PORTS:-4}"
echo "== $rounds rounds, each: wrk -t1 -c64 -d5s -H 'Connection: close' (the fresh-connection"
echo "   ceiling), then $build/bench_pinger -n $checks -c $concurrency -p $pingers"
echo "   (interleaved, and medians taken, because this machine's speed drifts)"
: > "$dir/rates"
: > "$dir/ceilings"
for round in $(seq 1 "$rounds"); do
    wrk -t1 -c64 -d5s -H 'Connection: close' "http://127.0.0.1:$first/" > "$dir/wrk.txt"
    ceiling=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")
    "$build/bench_pinger" -n "$checks" -c "$concurrency" -p "$pingers" $urls > "$dir/bench.txt"
    rate=$(awk '/^checks\/s/ {print $2}' "$dir/bench.txt")
    echo "round $round: wrk $ceiling req/s; pinger $rate checks/s, $(awk '/^cpu s/ {print $3}' "$dir/bench.txt") cpu s/1000, $(awk '/^KB\/check/ {print $3}' "$dir/bench.txt") KB/check in flight; ratio $(awk -v r="$rate" -v c="$ceiling" 'BEGIN {printf "%.2f", r / c}')"
    echo "$ceiling" >> "$dir/ceilings"
    echo "$rate" >> "$dir/rates"
done
echo "== last pinger run in full:"
cat "$dir/bench.txt"
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ceiling=$(median "$dir/ceilings")
rate=$(median "$dir/rates")
echo "== median wrk $ceiling req/s; median pinger $rate checks/s; ratio $(awk -v r="$rate" -v c="$ceiling" 'BEGIN {printf "%.2f", r / c}') (target >= 0.70, and >= 10000 checks/s)"
