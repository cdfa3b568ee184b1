#!/bin/sh
# Scale (issue 11, item 10): how long `squirrel run` takes to start and to
# reload big configs, how much memory it takes, and how late checks leave
# against their schedule with a million sites.
#
#   tests/bench/scale.sh [SIZES] [RUNS] [LATE_SITES] [LATE_MINUTES]
#   (defaults "100000 200000 1000000" 3 1000000 10; SIZES "" for none;
#   BUILD default build, PORTS default 4, NGINX_WORKERS default 1;
#   INTERVAL_MIN and INTERVAL_MAX, seconds, default 60 and 300; BIG_RUNS,
#   the runs at 1,000,000 sites or more, default 1)
#
# Debian's nginx answers 200 on PORTS loopback ports chosen now, keep-alive
# off (lib.sh). Each site is http://127.0.0.1:PORT/s/N (a path of its own),
# interval 60 to 300 s evenly spread (mean 180 s), timeout 10 s, two local
# pingers, the HTTP server on a free port (for /metrics).
#
# 1. Per size, RUNS runs (a size of 1,000,000 or more: one): start
#    (`monitoring N sites` in the log, timed from the launch; the first run
#    on a new store, the others on the store the first left: a restart),
#    then a SIGHUP reload of the same file (`reloaded` in the log), then
#    SIGINT; peak RSS (VmHWM) after the start and after the reload, and the
#    CPU seconds of the process up to each. The dispatcher's own bytes come
#    exact from its `bytes` gauge in the counters at stop. References made
#    in the same run: python3's sqlite3 upserting the same URLs into the
#    store's site table in one transaction, and the process with no site.
# 2. Lateness: LATE_SITES sites on a new store, no HTTP server, run for
#    LATE_MINUTES minutes from `monitoring`, then stopped: the dispatcher's
#    counters at stop give lag_p50_ms and lag_p99_ms over the whole run
#    (bucket upper bounds, sq_metrics.h) and jobs against done; the
#    pingers' give over_capacity and waiting. The CPU shares of squirrel,
#    nginx and the machine are taken from minute 6 (every site had its
#    first check: longest interval 300 s, plus 60 s) to the end.
#    LATE_SITES=0 skips it.
set -eu
sizes=${1-"100000 200000 1000000"}
runs=${2:-3}
late_sites=${3:-1000000}
late_minutes=${4:-10}
build=${BUILD:-build}
here=$(dirname "$0")
. "$here/lib.sh"
[ -x "$build/squirrel" ] || { echo "scale.sh: $build/squirrel missing: run 'make'" >&2; exit 2; }
[ "$late_minutes" -ge 8 ] || { echo "scale.sh: LATE_MINUTES must be at least 8" >&2; exit 2; }
bench_tmp
bench_nginx "${PORTS:-4}" "${NGINX_WORKERS:-1}"
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); nginx on ports $ports"

# The CPU seconds (user + system) of process $1.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
rss_mb() { awk -v key="$2:" '$1 == key {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# Wait until file $2 has text $3 after byte $4, while process $1 lives
# (deadline $5 s). Sets $found_ms.
wait_log() {
    deadline=$(( $(date +%s) + $5 ))
    until tail -c "+$(( $4 + 1 ))" "$2" 2>/dev/null | grep -q "$3"; do
        kill -0 "$1" 2>/dev/null || { echo "scale.sh: squirrel ended before '$3':" >&2; tail -5 "$2" >&2; exit 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { echo "scale.sh: no '$3' within $5 s" >&2; exit 1; }
        sleep 0.05
    done
    found_ms=$(bench_now_ms)
}

# Start `squirrel run $1`, logging to $2; sets $pid, $start_ms (launch to
# `monitoring`), $start_cpu and $start_hwm.
start_run() {
    : > "$2"
    launched=$(bench_now_ms)
    "$build/squirrel" run "$1" > /dev/null 2> "$2" &
    pid=$!
    bench_children="${bench_children:-} $pid"
    wait_log "$pid" "$2" "squirrel run: monitoring" 0 900
    start_ms=$(( found_ms - launched ))
    start_cpu=$(cpu_s "$pid")
    start_hwm=$(rss_mb "$pid" VmHWM)
    start_rss=$(rss_mb "$pid" VmRSS)
}

# SIGHUP, timed to `reloaded`; sets $reload_ms, $reload_cpu (CPU s it
# took) and $reload_hwm.
reload_run() {
    offset=$(wc -c < "$2")
    cpu_before=$(cpu_s "$pid")
    sent=$(bench_now_ms)
    kill -HUP "$pid"
    wait_log "$pid" "$2" "squirrel run: reloaded" "$offset" 900
    reload_ms=$(( found_ms - sent ))
    reload_cpu=$(awk -v a="$cpu_before" -v b="$(cpu_s "$pid")" 'BEGIN {printf "%.2f", b - a}')
    reload_hwm=$(rss_mb "$pid" VmHWM)
}

# SIGINT and wait; sets $book_bytes (the dispatcher's bytes gauge at stop).
stop_run() {
    kill -INT "$pid"
    wait "$pid" || true
    book_bytes=$(sed -n 's/.* dispatcher: sites=.* bytes=\([0-9]*\).*/\1/p' "$1" | tail -1)
}

http_port=$(bench_ports 1)

echo "== no site: $build/squirrel run (sites: [])"
python3 "$here/scale.py" config 0 "$ports" "$dir/data0" "$http_port" > "$dir/sites0.yaml"
start_run "$dir/sites0.yaml" "$dir/run0.log"
empty_rss=$start_rss
stop_run "$dir/run0.log"
echo "start ${start_ms} ms, RSS ${empty_rss} MB, peak ${start_hwm} MB, dispatcher bytes ${book_bytes}"

for size in $sizes; do
    python3 "$here/scale.py" config "$size" "$ports" "$dir/data$size" "$http_port" > "$dir/sites$size.yaml"
    reference=$(python3 "$here/scale.py" reference "$size" "$ports" "$dir/reference.db" | sed 's/reference_s=//')
    rm -f "$dir"/reference.db*
    echo "== $size sites ($(wc -c < "$dir/sites$size.yaml") bytes of YAML); reference: sqlite3 upserts in ${reference} s"
    each=$runs
    [ "$size" -lt 1000000 ] || each=${BIG_RUNS:-1}
    run=1
    while [ "$run" -le "$each" ]; do
        kind=restart
        [ "$run" -eq 1 ] && kind="new store"
        start_run "$dir/sites$size.yaml" "$dir/run$size.$run.log"
        reload_run "$dir/run$size.$run.log" "$dir/run$size.$run.log"
        stop_run "$dir/run$size.$run.log"
        awk -v size="$size" -v run="$run" -v kind="$kind" -v s="$start_ms" -v sc="$start_cpu" \
            -v sh="$start_hwm" -v sr="$start_rss" -v r="$reload_ms" -v rc="$reload_cpu" \
            -v rh="$reload_hwm" -v ref="$reference" -v empty="$empty_rss" -v book="$book_bytes" 'BEGIN {
            per = 100000 / size
            printf "run %d (%s): start %.2f s (%.2f s per 100k sites, %.1f x reference; %s CPU s), RSS %d MB, peak %d MB;", run, kind, s / 1000, s / 1000 * per, s / 1000 / ref, sc, sr, sh
            printf " reload %.2f s (%.2f s per 100k; %s CPU s), peak after %d MB;", r / 1000, r / 1000 * per, rc, rh
            printf " process %.0f B/site over the empty one; dispatcher %d B/site (exact)\n", (sr - empty) * 1048576 / size, book / size }'
        run=$((run + 1))
    done
done

[ "$late_sites" -gt 0 ] || exit 0
# No HTTP server here: at a million sites /metrics is 514 MB of per-site
# families and takes minutes of CPU, which would be measured as lag.
python3 "$here/scale.py" config "$late_sites" "$ports" "$dir/data$late_sites" 0 > "$dir/late.yaml"
asked=$(python3 "$here/scale.py" rate "$late_sites" | sed 's/checks_per_s=//')
echo "== lateness: $late_sites sites, $late_minutes min from 'monitoring'; the intervals ask $asked checks/s"
start_run "$dir/late.yaml" "$dir/late.log"
began=$(( $(bench_now_ms) / 1000 ))
echo "started in $start_ms ms"
nginx_master=$(cat "$dir/nginx.pid")
sample() {
    {
        echo "wall_s $(awk '{print $1}' /proc/uptime)"
        awk '$1 == "cpu" {print "machine", $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat
        echo "squirrel $(awk '{print $14 + $15}' "/proc/$pid/stat")"
        echo "nginx $(for p in $nginx_master $(pgrep -P "$nginx_master"); do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s}')"
    } > "$1"
}
until [ $(( $(date +%s) - began )) -ge 360 ]; do sleep 1; done
sample "$dir/cpu.a"
until [ $(( $(date +%s) - began )) -ge $(( late_minutes * 60 )) ]; do sleep 1; done
sample "$dir/cpu.b"
load=$(cut -d' ' -f1-3 /proc/loadavg)
stop_run "$dir/late.log"
python3 "$here/scale.py" cpu "$dir/cpu.a" "$dir/cpu.b" > "$dir/cpu.txt"
echo "CPU from minute 6 to $late_minutes (load at its end $load): $(tr '\n' ' ' < "$dir/cpu.txt")"
echo "counters at stop (the whole run; lag_p50_ms and lag_p99_ms are bucket upper bounds):"
grep -E " (dispatcher|collector|store): [a-z_]+=| pinger [^ ]*: stopped" "$dir/late.log" | cut -d' ' -f4- | cut -c1-420
