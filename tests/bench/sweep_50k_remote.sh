#!/bin/sh
# sweep_50k.sh's sweep of N URLs (default 50,000) against nginx, through
# local pinger threads and through remote pinger nodes, interleaved round by
# round because this machine's speed drifts:
#   threads   `squirrel sweep` with `workers: { pingers: P }`, as sweep_50k.sh
#   nodes     `squirrel sweep` as a hub (`listen:` on loopback tcp,
#             `workers: { pingers: 0 }`, --min-pingers P) and P `squirrel
#             pinger` processes on this host, over loopback tcp with CURVE
#   lab       (LAB=1, root) the hub in the lab's `hub`, P nodes in p1, p2,
#             p3 (in turn), nginx in `web` on the web address
# each with CONCURRENCY checks at once per pinger, and a reference: wrk's
# fresh-connection ceiling against the same nginx (as run.sh), each round.
#
#   tests/bench/sweep_50k_remote.sh [URLS] [PINGERS] [CONCURRENCY] [ROUNDS]
#
# Defaults: 50000 2 256 3.  Environment: BUILD, PORTS (4), NGINX_WORKERS
# (1), LAB (0; 1 adds the lab row, needs root), SQ_LAB_PREFIX (default sqr
# and this PID).
#
# Every time is the sweep process's, from its start to its exit, as
# sweep_50k.sh measures it (config load included).  For the node rows it
# also includes starting the nodes (once the hub listens) and their join,
# and, at the end, the collector's wait for its tcp results socket to stay
# quiet for 200 ms (SQ_DRAIN_QUIET_MS): together about 0.4 s (compare.sh
# shows the join alone).  Traffic stays on loopback and in the lab.
set -eu
count=${1:-50000}
pingers=${2:-2}
concurrency=${3:-256}
rounds=${4:-3}
want_lab=${LAB:-0}
build=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ -x "$build/squirrel" ] || { echo "sweep_50k_remote.sh: $build/squirrel missing: run 'make'" >&2; exit 2; }
squirrel=$(cd "$(dirname "$build/squirrel")" && pwd)/squirrel
command -v ss >/dev/null || { echo "sweep_50k_remote.sh: needs ss (iproute2)" >&2; exit 2; }
case $want_lab in
    0) ;;
    1) [ "$(id -u)" -eq 0 ] || { echo "sweep_50k_remote.sh: LAB=1 needs root" >&2; exit 2; } ;;
    *) echo "sweep_50k_remote.sh: LAB is 0 or 1, not '$want_lab'" >&2; exit 2 ;;
esac
[ "$want_lab" = 0 ] || [ "$pingers" -le 3 ] || {
    echo "sweep_50k_remote.sh: the lab has 3 pinger hosts: PINGERS at most 3 with LAB=1" >&2; exit 2; }

bench_tmp
chmod 755 "$dir"
. "$here/nodes.sh"
trap 'set +e; nodes_cleanup; [ -f "$dir/web/nginx.pid" ] && kill "$(cat "$dir/web/nginx.pid")" 2>/dev/null; bench_cleanup' EXIT
trap 'exit 1' INT TERM HUP

bench_nginx "${PORTS:-4}" "${NGINX_WORKERS:-1}"
# shellcheck disable=SC2086  # lib.sh's $ports: one port a word
first=$(echo $ports | cut -d' ' -f1)

# The sites of a config: N URLs over the ports $2... of host $1.
s_sites_yaml() {
    python3 -c "
import sys
host, ports = sys.argv[1], sys.argv[2:]
print('sites:')
for i in range($count):
    print('  - url: http://%s:%s/site/%d' % (host, ports[i % len(ports)], i))" "$@"
}

port=$(nodes_port_pair)
# shellcheck disable=SC2086
s_sites_yaml 127.0.0.1 $ports > "$dir/sites.yaml"
{ echo "workers:"; echo "  pingers: $pingers"; cat "$dir/sites.yaml"; } > "$dir/threads.yaml"
{ echo "listen: tcp://127.0.0.1:$port"; echo "keys: $dir/keys"; echo "workers:";
  echo "  pingers: 0"; cat "$dir/sites.yaml"; } > "$dir/hub.yaml"
ids=""
for n in $(seq 1 "$pingers"); do ids="$ids node$n lab$n"; done
# shellcheck disable=SC2086  # one ID a word
nodes_keys $ids

rows="threads nodes"
if [ "$want_lab" = 1 ]; then
    nodes_lab_up sqr
    rows="$rows lab"
    lab_port=7700
    # nginx in `web`, on the web address, the same configuration as lib.sh's.
    mkdir -p "$dir/web"
    lab_ports="" listen=""
    for n in $(seq 1 "${PORTS:-4}"); do
        lab_ports="$lab_ports $((8080 + n))"
        listen="$listen        listen $SQ_LAB_WEB:$((8080 + n)) backlog=4096 reuseport;
"
    done
    cat > "$dir/web/nginx.conf" <<CONF
worker_processes ${NGINX_WORKERS:-1};
pid $dir/web/nginx.pid;
error_log $dir/web/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_timeout 0;
    server {
$listen        location / { return 200 "ok\n"; }
    }
}
CONF
    sh "$lab" exec web nginx -p "$dir/web" -c "$dir/web/nginx.conf" -e "$dir/web/error.log"
    end=$(( $(date +%s) + 10 ))
    until [ "$(sh "$lab" exec web ss -Hltn | wc -l)" -ge "${PORTS:-4}" ]; do
        [ "$(date +%s)" -lt "$end" ] || { echo "sweep_50k_remote.sh: nginx in web never listened" >&2; exit 1; }
        sleep 0.05
    done
    # shellcheck disable=SC2086
    s_sites_yaml "$SQ_LAB_WEB" $lab_ports > "$dir/labsites.yaml"
    { echo "listen: tcp://$SQ_LAB_HUB:$lab_port"; echo "keys: $dir/keys"; echo "workers:";
      echo "  pingers: 0"; cat "$dir/labsites.yaml"; } > "$dir/lab.yaml"
fi

# s_run ROW WHERE CONFIG [NODE...]: one sweep, timed; NODE is HOST:ID.
s_run() {
    row=$1 where=$2 config=$3
    shift 3
    rm -f "$dir/result"
    min=""
    [ $# -eq 0 ] || min="--min-pingers $#"
    # Started directly (not through a function) so that $! is the process.
    # shellcheck disable=SC2086  # $min: nothing or two words
    if [ "$where" = - ]; then
        python3 "$here/timed.py" "$dir/out.txt" "$dir/err.txt" 0 "$dir/result" -- "$squirrel" sweep \
            --failure-threshold 1 --concurrency "$concurrency" $min "$config" &
    else
        sh "$lab" exec "$where" python3 "$here/timed.py" "$dir/out.txt" "$dir/err.txt" 0 "$dir/result" \
            -- "$squirrel" sweep --failure-threshold 1 --concurrency "$concurrency" $min "$config" &
    fi
    timer=$!
    if [ $# -gt 0 ]; then
        if [ "$where" = - ]; then hub_at=127.0.0.1 hub_port=$port; else hub_at=$SQ_LAB_HUB hub_port=$lab_port; fi
        nodes_wait_listen "$where" "$hub_port"
        nodes_start "$hub_at" "$hub_port" "$concurrency" "$@"
    fi
    wait "$timer" || true
    nodes_stop
    [ -s "$dir/result" ] || { echo "sweep_50k_remote.sh: $row: no timing" >&2; cat "$dir/err.txt" >&2; exit 1; }
    read -r took _ rc rss < "$dir/result"
    up=$(grep -c '^up' "$dir/out.txt" || true)
    rate=$(awk -v n="$count" -v t="$took" 'BEGIN {printf "%.0f", n * 1000 / t}')
    echo "$rate" >> "$dir/rate.$row"
    echo "$rss" >> "$dir/rss.$row"
    printf '  %-8s %6d ms, %6d checks/s, exit %d, %d up, peak RSS %d MB\n' \
        "$row" "$took" "$rate" "$rc" "$up" $(( rss / 1024 ))
    if [ "$up" -ne "$count" ]; then
        echo "sweep_50k_remote.sh: $row: $((count - up)) sites not up:" >&2
        grep -v '^up' "$dir/out.txt" | awk '{print $5, $6}' | sort | uniq -c | sort -rn | head -5 >&2
    fi
}

echo "== machine: $(nproc) cores, $(uname -r); nginx workers: ${NGINX_WORKERS:-1}; ports: ${PORTS:-4}"
echo "== $count URLs; $rounds rounds, each: wrk -t1 -c64 -d5s -H 'Connection: close' (the ceiling), then"
echo "   squirrel sweep --failure-threshold 1 --concurrency $concurrency through: $rows"
echo "   ($pingers pingers each: threads, or \`squirrel pinger\` processes over tcp + CURVE)"
have_wrk=no
command -v wrk >/dev/null && have_wrk=yes
for round in $(seq 1 "$rounds"); do
    echo "round $round:"
    if [ "$have_wrk" = yes ]; then
        wrk -t1 -c64 -d5s -H 'Connection: close' "http://127.0.0.1:$first/" > "$dir/wrk.txt"
        ceiling=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$dir/wrk.txt")
        echo "$ceiling" >> "$dir/ceilings"
        echo "  wrk      $ceiling req/s"
    fi
    for row in $rows; do
        case $row in
            threads) s_run threads - "$dir/threads.yaml" ;;
            nodes) nodes_list=""
                   for n in $(seq 1 "$pingers"); do nodes_list="$nodes_list -:node$n"; done
                   # shellcheck disable=SC2086
                   s_run nodes - "$dir/hub.yaml" $nodes_list ;;
            lab) nodes_list=""
                 for n in $(seq 1 "$pingers"); do nodes_list="$nodes_list p$n:lab$n"; done
                 # shellcheck disable=SC2086
                 s_run lab hub "$dir/lab.yaml" $nodes_list ;;
        esac
    done
done

target=10000
echo
echo "== medians of $rounds rounds; the ratios are medians of each round's own ratio (the"
echo "   rows of a round ran within a minute of each other); target $target checks/s (sweep_50k.sh's)"
[ "$have_wrk" = yes ] && echo "== wrk ceiling (fresh connections, one client thread), median: $(nodes_median < "$dir/ceilings") req/s"
echo
echo "| pingers | checks/s (median) | rounds | / threads | / target | / wrk ceiling | peak RSS (hub) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
s_ratios() { paste "$1" "$2" | awk '{printf "%.4f\n", $2 / $1}' | nodes_median; }
for row in $rows; do
    case $row in
        threads) name="$pingers pinger threads" ;;
        nodes) name="$pingers \`squirrel pinger\` nodes, loopback tcp + CURVE" ;;
        lab) name="$pingers nodes in the lab (p1..p$pingers), nginx in web" ;;
    esac
    rate=$(nodes_median < "$dir/rate.$row")
    rss=$(nodes_median < "$dir/rss.$row")
    vs_wrk="-"
    [ "$have_wrk" = yes ] && vs_wrk=$(s_ratios "$dir/ceilings" "$dir/rate.$row" | awk '{printf "%.2f", $1}')
    echo "| $name | $rate | $(tr '\n' ' ' < "$dir/rate.$row" | sed 's/ $//; s/ /, /g') |" \
         "$(s_ratios "$dir/rate.threads" "$dir/rate.$row" | awk '{printf "%.2f", $1}') |" \
         "$(awk -v r="$rate" -v t="$target" 'BEGIN {printf "%.2f", r / t}') | $vs_wrk | $(( rss / 1024 )) MB |"
done
