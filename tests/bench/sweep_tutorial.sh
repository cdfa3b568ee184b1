#!/bin/sh
# The tutorial's case, on loopback: 33 sites, as the original UptimeSquirrel
# checked them.  29 answer after 0.1 to 0.8 s, one answers 503, one refuses
# HEAD (405, up by GET), two names are unresolvable (.invalid); the owners'
# webhook takes 0.5 s to answer.  `squirrel sweep --failure-threshold 1`
# must finish within 10 % of the physical limit: the slowest site (0.8 s),
# or the slowest failing site plus its notification (about 0.5 s), process
# start included.
#
#   tests/bench/sweep_tutorial.sh [RUNS]
set -eu
runs=${1:-5}
build=${BUILD:-build}
here=$(dirname "$0")
. "$here/lib.sh"
[ -x "$build/squirrel" ] || { echo "sweep_tutorial.sh: $build/squirrel missing: run 'make'" >&2; exit 2; }
bench_tmp

python3 "$here/../fixtures/testsite.py" --ready-file "$dir/site.json" --parent-pid $$ &
bench_children="$!"
python3 "$here/../fixtures/webhook.py" --ready-file "$dir/hook.json" --delay-ms 500 --parent-pid $$ &
bench_children="$bench_children $!"
deadline=$(( $(date +%s) + 20 ))
until [ -s "$dir/site.json" ] && [ -s "$dir/hook.json" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "sweep_tutorial.sh: fixtures did not start" >&2; exit 1; }
    sleep 0.05
done
site=$(python3 -c "import json; print(json.load(open('$dir/site.json'))['http'])")
hook=$(python3 -c "import json; print(json.load(open('$dir/hook.json'))['port'])")

{
    echo "# the tutorial's 33 sites, on loopback"
    for i in $(seq 0 28); do
        echo "http://127.0.0.1:$site/slow/$(( 100 + i * 700 / 28 ))?site=$i"
    done
    echo "http://127.0.0.1:$site/status/503"
    echo "http://127.0.0.1:$site/head405"
    echo "http://unresolvable-one.invalid/"
    echo "http://unresolvable-two.invalid/"
} > "$dir/sites.txt"

limit_ms=800
echo "== 33 sites; slowest answers in ${limit_ms} ms; webhook answers in 500 ms"
echo "== $build/squirrel sweep --failure-threshold 1 --notify http://127.0.0.1:$hook/owner sites.txt"
best=""
all=""
for run in $(seq 1 "$runs"); do
    start=$(bench_now_ms)
    set +e
    "$build/squirrel" sweep --failure-threshold 1 --notify "http://127.0.0.1:$hook/owner" \
        "$dir/sites.txt" > "$dir/out.txt"
    rc=$?
    set -e
    took=$(( $(bench_now_ms) - start ))
    down=$(grep -c '^DOWN' "$dir/out.txt" || true)
    echo "run $run: ${took} ms, exit $rc, $down down"
    all="$all $took"
    if [ -z "$best" ] || [ "$took" -lt "$best" ]; then best=$took; fi
done
posts=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$hook/count').read().decode().strip())")
echo "webhook posts received: $posts (3 down sites x $runs runs expected)"
median=$(echo $all | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "== best ${best} ms, median ${median} ms; limit ${limit_ms} ms; median / limit = $(awk -v m="$median" -v l="$limit_ms" 'BEGIN {printf "%.3f", m / l}') (target <= 1.10)"
cat "$dir/out.txt"
