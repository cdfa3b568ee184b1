#!/bin/sh
# The tutorial's comparison, on our pingers: the same 33 sites as
# sweep_tutorial.sh (29 answer after 0.1 to 0.8 s, a 503, a HEAD refuser, two
# .invalid names, an owners' webhook that takes 0.5 s), swept by
#   serial          one pinger thread, one check at a time
#   4 threads       --pingers 4, EACH checks at once in each (default 1)
#   4 processes     4 `squirrel pinger` processes on this host, over loopback
#                   tcp with CURVE, to a sweep that runs no pinger itself
#                   (this row is what a node costs, on the same machine;
#                   `workers: mode: processes` is the hub's own parts)
#   4 nodes (lab)   the same 4 processes in the lab of network namespaces
#                   (deploy/lab/netns.sh): the sweep in `hub`, nodes in p1,
#                   p2, p3 and a second in p1, the test site in `web`
#   1 x WIDE        one pinger thread, WIDE checks at once (default 64)
# and prints one table: per row the median of RUNS runs (default 3), the
# rows interleaved run by run because this machine's speed drifts.
#
#   tests/bench/compare.sh [RUNS]
#
# Environment: BUILD (default build), EACH, WIDE, LAB (auto: the lab row
# when root, 0: never, 1: fail without root), SQ_LAB_PREFIX (default sqb
# and this PID), SQ_LAB_NET (the lab's A.B, default 10.200).
#
# Timing.  Every sweep runs under --verbose in tests/bench/timed.py, which
# notes when the dispatcher logs the N-th "pinger ... joined" (N: the row's
# pingers) and when the process exits.  "wall" is from that join to the exit:
# the checks, the verdicts and the owners told, what a running hub does.
# "whole" is from the process start to the exit, as sweep_tutorial.sh times
# it; for the node rows it includes starting the nodes, which are started
# afresh for each run once the hub listens (`ss`), and their CURVE handshake.
# A sweep that waits for nodes (--min-pingers) looks every 50 ms, so up to
# 50 ms of that wait fall after the join, in "wall".
#
# The limit is sweep_tutorial.sh's: the slowest site, 800 ms.  The floor of
# a row is what its N checks at once allow whatever the order:
# max(slowest, sum of the delays / N): 13,050 ms for one, 3,262 ms for four.
# Traffic stays on loopback and in the lab, except what sweep_tutorial.sh
# also sends: the loopback rows resolve the two .invalid names through this
# machine's resolver (in the lab the pingers have no route to it and fail at
# once).
set -eu
runs=${1:-${RUNS:-3}}
each=${EACH:-1}
wide=${WIDE:-64}
want_lab=${LAB:-auto}
build=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ -x "$build/squirrel" ] || { echo "compare.sh: $build/squirrel missing: run 'make'" >&2; exit 2; }
squirrel=$(cd "$(dirname "$build/squirrel")" && pwd)/squirrel
command -v ss >/dev/null || { echo "compare.sh: needs ss (iproute2)" >&2; exit 2; }

case $want_lab in
    0) lab_row=no ;;
    1) [ "$(id -u)" -eq 0 ] || { echo "compare.sh: LAB=1 needs root" >&2; exit 2; }; lab_row=yes ;;
    auto) if [ "$(id -u)" -eq 0 ]; then lab_row=yes; else lab_row=no; fi ;;
    *) echo "compare.sh: LAB is auto, 0 or 1, not '$want_lab'" >&2; exit 2 ;;
esac

bench_tmp
chmod 755 "$dir"
. "$here/nodes.sh"
trap 'set +e; nodes_cleanup; bench_cleanup' EXIT
trap 'exit 1' INT TERM HUP

# The 33 sites on http://$1:$2, one URL a line.
s_sites() {
    for i in $(seq 0 28); do
        echo "http://$1:$2/slow/$(( 100 + i * 700 / 28 ))?site=$i"
    done
    echo "http://$1:$2/status/503"
    echo "http://$1:$2/head405"
    echo "http://unresolvable-one.invalid/"
    echo "http://unresolvable-two.invalid/"
}

# A hub config: listen on tcp://$1:$2, no pinger of its own, sites from file $3.
s_hub_yaml() {
    echo "listen: tcp://$1:$2"
    echo "keys: $dir/keys"
    echo "workers:"
    echo "  pingers: 0"
    echo "sites:"
    sed 's/^/  - url: /' "$3"
}

# ---------------------------------------------------------------------------
# Fixtures, keys, site lists

python3 "$here/../fixtures/testsite.py" --ready-file "$dir/site.json" --parent-pid $$ &
bench_children="$!"
python3 "$here/../fixtures/webhook.py" --ready-file "$dir/hook.json" --delay-ms 500 --parent-pid $$ &
bench_children="$bench_children $!"
nodes_wait_file "$dir/site.json"
nodes_wait_file "$dir/hook.json"
site=$(nodes_json "$dir/site.json" http)
hook=$(nodes_json "$dir/hook.json" port)
s_sites 127.0.0.1 "$site" > "$dir/sites.txt"
port=$(nodes_port_pair)
s_hub_yaml 127.0.0.1 "$port" "$dir/sites.txt" > "$dir/hub.yaml"
nodes_keys proc1 proc2 proc3 proc4 p1 p2 p3 p1b

if [ "$lab_row" = yes ]; then
    nodes_lab_up sqb
    lab_port=7700
    # The test site serves in `web` on the web address, the owners'
    # webhook on the hub's host (its loopback).
    sh "$lab" exec web python3 "$here/../fixtures/testsite.py" --ready-file "$dir/labsite.json" \
        --bind "$SQ_LAB_WEB" --parent-pid $$ > "$dir/labsite.log" 2>&1 &
    bench_children="$bench_children $!"
    sh "$lab" exec hub python3 "$here/../fixtures/webhook.py" --ready-file "$dir/labhook.json" \
        --delay-ms 500 --parent-pid $$ > "$dir/labhook.log" 2>&1 &
    bench_children="$bench_children $!"
    nodes_wait_file "$dir/labsite.json"
    nodes_wait_file "$dir/labhook.json"
    s_sites "$SQ_LAB_WEB" "$(nodes_json "$dir/labsite.json" http)" > "$dir/labsites.txt"
    s_hub_yaml "$SQ_LAB_HUB" "$lab_port" "$dir/labsites.txt" > "$dir/lab.yaml"
    labhook=$(nodes_json "$dir/labhook.json" port)
fi

# ---------------------------------------------------------------------------
# One run of one row

# s_run ROW WHERE JOINS NODES -- SWEEP_ARGS...
#   WHERE: the lab host of the sweep, or - (here); JOINS: its pingers;
#   NODES: "" or "HOST:ID ..." pinger nodes to start once the hub listens
#   (HOST a lab host or -), each with EACH checks at once.
s_run() {
    row=$1 where=$2 joins=$3 node_list=$4
    shift 5
    rm -f "$dir/result"
    # Started directly (not through a function) so that $! is the process.
    if [ "$where" = - ]; then
        python3 "$here/timed.py" "$dir/out.txt" "$dir/err.txt" "$joins" "$dir/result" \
            -- "$squirrel" sweep --verbose --failure-threshold 1 "$@" &
    else
        sh "$lab" exec "$where" python3 "$here/timed.py" "$dir/out.txt" "$dir/err.txt" "$joins" \
            "$dir/result" -- "$squirrel" sweep --verbose --failure-threshold 1 "$@" &
    fi
    timer=$!
    if [ -n "$node_list" ]; then
        if [ "$where" = - ]; then hub_at=127.0.0.1 hub_port=$port; else hub_at=$SQ_LAB_HUB hub_port=$lab_port; fi
        nodes_wait_listen "$where" "$hub_port"
        # shellcheck disable=SC2086  # one HOST:ID a word
        nodes_start "$hub_at" "$hub_port" "$each" $node_list
    fi
    wait "$timer" || true
    nodes_stop
    # Checks per pinger, from each one's last log line ("stopped: checks=N").
    logs="$dir/err.txt"
    for node in $node_list; do logs="$logs $dir/node-${node#*:}.log"; done
    # shellcheck disable=SC2086  # one file a word
    split=$(cat $logs |
            sed -n 's/.*stopped: checks=\([0-9]*\).*/\1/p' | sort -rn | tr '\n' '+' | sed 's/+$//')
    [ -s "$dir/result" ] || { echo "compare.sh: $row: no timing (see $dir/err.txt)" >&2; cat "$dir/err.txt" >&2; exit 1; }
    read -r whole join rc _ < "$dir/result"
    down=$(grep -c '^DOWN' "$dir/out.txt" || true)
    up=$(grep -c '^up' "$dir/out.txt" || true)
    if [ "$join" -eq 0 ]; then
        echo "compare.sh: $row: fewer than $joins pingers joined" >&2
        tail -20 "$dir/err.txt" >&2
        exit 1
    fi
    wall=$(( whole - join ))
    echo "$wall" >> "$dir/wall.$row"
    echo "$whole" >> "$dir/whole.$row"
    echo "$join" >> "$dir/join.$row"
    printf '  %-10s wall %5d ms (whole %5d, last join at %4d); exit %d, %d up, %d down; checks per pinger %s\n' \
        "$row" "$wall" "$whole" "$join" "$rc" "$up" "$down" "$split"
    if [ "$up" -ne 30 ] || [ "$down" -ne 3 ]; then
        echo "compare.sh: $row: expected 30 up and 3 down" >&2
        grep '^DOWN' "$dir/out.txt" >&2
        exit 1
    fi
}

rows="serial threads processes"
[ "$lab_row" = yes ] && rows="$rows lab"
rows="$rows wide"

echo "== machine: $(nproc) cores, $(uname -r); $runs runs, rows interleaved"
echo "== 33 sites; the slowest answers in 800 ms; webhook answers in 500 ms"
echo "== $squirrel sweep --verbose --failure-threshold 1 --notify WEBHOOK ..."
for run in $(seq 1 "$runs"); do
    echo "run $run:"
    for row in $rows; do
        case $row in
            serial) s_run serial - 1 "" -- --notify "http://127.0.0.1:$hook/owner" \
                        --pingers 1 --concurrency 1 "$dir/sites.txt" ;;
            threads) s_run threads - 4 "" -- --notify "http://127.0.0.1:$hook/owner" \
                        --pingers 4 --concurrency "$each" "$dir/sites.txt" ;;
            processes) s_run processes - 4 "-:proc1 -:proc2 -:proc3 -:proc4" -- \
                        --notify "http://127.0.0.1:$hook/owner" --min-pingers 4 "$dir/hub.yaml" ;;
            lab) s_run lab hub 4 "p1:p1 p2:p2 p3:p3 p1:p1b" -- \
                        --notify "http://127.0.0.1:$labhook/owner" --min-pingers 4 "$dir/lab.yaml" ;;
            wide) s_run wide - 1 "" -- --notify "http://127.0.0.1:$hook/owner" \
                        --pingers 1 --concurrency "$wide" "$dir/sites.txt" ;;
        esac
    done
done

# Every down site's owner told, every run: 3 posts a run.
posts=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$hook/count').read().decode().strip())")
local_rows=4
echo "webhook posts: $posts (expected $(( 3 * runs * local_rows )))"
if [ "$lab_row" = yes ]; then
    labposts=$(sh "$lab" exec hub python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$labhook/count').read().decode().strip())")
    echo "webhook posts in the lab: $labposts (expected $(( 3 * runs )))"
fi

# ---------------------------------------------------------------------------
# The table

limit=800
total=$(s_sites 127.0.0.1 0 | sed -n 's,.*/slow/\([0-9]*\)?.*,\1,p' | awk '{s += $1} END {print s}')
s_floor() { awk -v t="$total" -v n="$1" -v l="$limit" 'BEGIN {f = t / n; if (f < l) f = l; printf "%.0f", f}'; }
s_ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo
echo "== median of $runs runs; limit ${limit} ms (the slowest site); wall = last pinger joined to exit"
echo
echo "| approach | wall time | wall / limit | floor for its checks at once | wall / floor | whole process | runs: wall (ms) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for row in $rows; do
    case $row in
        serial) name="serial: one pinger thread, 1 check at a time"; slots=1 ;;
        threads) name="4 pinger threads, $each check(s) at a time each"; slots=$(( 4 * each )) ;;
        processes) name="4 pinger processes (\`squirrel pinger\` on this host, loopback tcp + CURVE), $each each"; slots=$(( 4 * each )) ;;
        lab) name="4 pinger nodes in the lab (p1, p2, p3, and a second in p1), $each each"; slots=$(( 4 * each )) ;;
        wide) name="one pinger thread, $wide checks at a time"; slots=$wide ;;
    esac
    wall=$(nodes_median < "$dir/wall.$row")
    whole=$(nodes_median < "$dir/whole.$row")
    join=$(nodes_median < "$dir/join.$row")
    floor=$(s_floor "$slots")
    echo "| $name | $wall ms | $(s_ratio "$wall" "$limit") | $floor ms | $(s_ratio "$wall" "$floor") | $whole ms (last join at $join ms) | $(tr '\n' ' ' < "$dir/wall.$row" | sed 's/ $//; s/ /, /g') |"
done
