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

echo "== machine: $(nproc) cores, $(uname -r); nginx workers: ${NGINX_WORKERS:-1}; ports: ${PORTS:-4}"
echo "== ceiling: wrk -t1 -c64 -d5s -H 'Connection: close' (fresh connection per request)"
wrk -t1 -c64 -d5s -H 'Connection: close' "http://127.0.0.1:$first/" > "$dir/wrk.txt"
cat "$dir/wrk.txt"
ceiling=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")

echo "== pinger: $build/bench_pinger -n $checks -c $concurrency -p $pingers"
"$build/bench_pinger" -n "$checks" -c "$concurrency" -p "$pingers" $urls | tee "$dir/bench.txt"
rate=$(awk '/^checks\/s/ {print $2}' "$dir/bench.txt")
echo "== ratio pinger/wrk: $(awk -v r="$rate" -v c="$ceiling" 'BEGIN {printf "%.2f", r / c}')"
