#!/bin/sh
# The store's size and the writer's rate at the issue's scale (100,000 sites
# checked every minute), through the real store writer (build/bench_store).
#
#   tests/bench/store_size.sh [SITES] [MINUTES] [ROUNDS] [STEADY_SITES] [STEADY_HOURS]
#   (defaults 100000 5 3 2000 30; PACED, the results/s of the paced run,
#   default 1667 = 100,000 a minute, PACED_MINUTES default 1; BUILD default build)
#
# 1. Rate, ROUNDS times, interleaved: bench_store writes SITES sites x
#    MINUTES rounds of results (one a minute each) into a new store as fast
#    as the writer takes them; then store_size.py writes the same rows
#    into a new file with the same schema and statements, straight through
#    SQLite (the reference). The first round also times a prune of every
#    raw result, and one with nothing to delete.
# 2. Paced: SITES results a minute offered at PACED per second, with the
#    largest backlog seen.
# 3. Steady state: STEADY_SITES sites, one check a minute, STEADY_HOURS
#    hours of virtual time with the default retention, pruned every virtual
#    hour; then the bytes of each table with its indexes (dbstat), and the
#    sizes per 100,000 sites a day.
set -eu
sites=${1:-100000}
minutes=${2:-5}
rounds=${3:-3}
steady_sites=${4:-2000}
steady_hours=${5:-30}
paced=${PACED:-1667}
paced_minutes=${PACED_MINUTES:-1}
build=${BUILD:-build}
here=$(dirname "$0")
. "$here/lib.sh"
[ -x "$build/bench_store" ] || { echo "store_size.sh: $build/bench_store missing: run 'make'" >&2; exit 2; }
bench_tmp

echo "== rate: $build/bench_store -s $sites -m $minutes, and the reference, $rounds rounds"
round=1
while [ "$round" -le "$rounds" ]; do
    extra=""
    [ "$round" -eq 1 ] && extra="-x"
    "$build/bench_store" -d "$dir/writer$round" -s "$sites" -m "$minutes" $extra \
        > "$dir/writer.$round.txt" 2> "$dir/writer.$round.log"
    start=$(sed -n 's/^virtual_start_us=//p' "$dir/writer.$round.txt")
    python3 "$here/store_size.py" reference "$dir/writer$round/squirrel.db" "$dir/reference$round.db" \
        "$sites" "$minutes" 60 1 "$start" > "$dir/reference.$round.txt"
    echo "round $round: writer $(sed -n 's/^results_per_s=//p' "$dir/writer.$round.txt")/s," \
         "reference $(sed -n 's/^results_per_s=//p' "$dir/reference.$round.txt")/s"
    rm -rf "$dir/writer$round" "$dir/reference$round.db"*
    round=$((round + 1))
done

echo "== paced: $build/bench_store -s $sites -m $paced_minutes -R $paced"
"$build/bench_store" -d "$dir/paced" -s "$sites" -m "$paced_minutes" -R "$paced" \
    > "$dir/paced.1.txt" 2> "$dir/paced.1.log"
rm -rf "$dir/paced"

echo "== steady state: $build/bench_store -s $steady_sites -m $((steady_hours * 60)) -p"
"$build/bench_store" -d "$dir/steady" -s "$steady_sites" -m "$((steady_hours * 60))" -p \
    > "$dir/steady.txt" 2> "$dir/steady.log"
python3 "$here/store_size.py" sizes "$dir/steady/squirrel.db" > "$dir/steady_sizes.txt"

for file in "$dir"/writer.*.txt "$dir"/paced.1.txt "$dir"/steady.txt; do
    if ! grep -q '^dropped=0$' "$file" || ! grep -q '^failed_writes=0$' "$file"; then
        echo "store_size.sh: the writer dropped or failed writes in $file:" >&2
        cat "$file" >&2
        exit 1
    fi
done
echo
python3 "$here/store_size.py" report "$dir"
