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
workers=${NGINX_WORKERS:-1}
nports=${PORTS:-4}

[ -x "$build/bench_pinger" ] || { echo "run.sh: $build/bench_pinger missing: run 'make' first" >&2; exit 2; }
command -v nginx >/dev/null && command -v wrk >/dev/null \
    || { echo "run.sh: needs nginx and wrk (sh deploy/install-deps.sh)" >&2; exit 2; }

dir=$(mktemp -d /tmp/sq-bench.XXXXXX)
cleanup() {
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# Ports chosen now by the kernel, never fixed.
ports=$(python3 -c "
import socket
socks = [socket.socket() for _ in range($nports)]
for s in socks: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in socks))")
listen=""
urls=""
for port in $ports; do
    listen="$listen        listen 127.0.0.1:$port backlog=4096 reuseport;
"
    urls="$urls http://127.0.0.1:$port/"
done
cat > "$dir/nginx.conf" <<CONF
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_timeout 0;
    server {
$listen        location / { return 200 "ok\n"; }
    }
}
CONF
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
# Wait for every port to answer, with a deadline.
first=$(echo $ports | cut -d' ' -f1)
deadline=$(( $(date +%s) + 10 ))
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $first), 0.2)" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "run.sh: nginx did not start" >&2; cat "$dir/error.log" >&2; exit 1; }
    sleep 0.05
done

echo "== machine: $(nproc) cores, $(uname -r); nginx workers: $workers; ports: $nports"
echo "== ceiling: wrk -t1 -c64 -d5s -H 'Connection: close' (fresh connection per request)"
wrk -t1 -c64 -d5s -H 'Connection: close' "http://127.0.0.1:$first/" > "$dir/wrk.txt"
cat "$dir/wrk.txt"
ceiling=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")

echo "== pinger: $build/bench_pinger -n $checks -c $concurrency -p $pingers"
"$build/bench_pinger" -n "$checks" -c "$concurrency" -p "$pingers" $urls | tee "$dir/bench.txt"
rate=$(awk '/^checks\/s/ {print $2}' "$dir/bench.txt")
echo "== ratio pinger/wrk: $(awk -v r="$rate" -v c="$ceiling" 'BEGIN {printf "%.2f", r / c}')"
