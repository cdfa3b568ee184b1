# Shared by the benchmarks that run pinger nodes (compare.sh,
# sweep_50k_remote.sh): keys, the hub's ports, nodes started and stopped,
# and the lab of network namespaces (deploy/lab/netns.sh).  Sourced after
# lib.sh and bench_tmp, with $here (tests/bench, absolute) and $squirrel
# (absolute) set.  POSIX sh.  Sets $lab; nodes_cleanup stops the nodes and
# takes the lab down: the scripts call it from their EXIT trap.

# shellcheck disable=SC2154  # $here, $dir, $squirrel: set by the script
lab="$here/../../deploy/lab/netns.sh"
nodes=""                    # pids of the running pinger nodes
lab_up=no

nodes_cleanup() {
    for pid in $nodes; do kill -TERM "$pid" 2>/dev/null; done
    if [ "$lab_up" = yes ]; then
        sh "$lab" down >/dev/null 2>&1 || echo "bench: netns.sh down failed (lab $SQ_LAB_PREFIX)" >&2
    fi
}

# Wait (10 s at most) until file $1 is not empty.
nodes_wait_file() {
    end=$(( $(date +%s) + 10 ))
    until [ -s "$1" ]; do
        [ "$(date +%s)" -lt "$end" ] || { echo "bench: $1 never came" >&2; return 1; }
        sleep 0.02
    done
}

# Field $2 of the JSON object in file $1.
nodes_json() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# The median of the numbers on stdin.
nodes_median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The hub's key pair and one per node ID ($dir/ID.key), let in: $dir/keys.
nodes_keys() {
    mkdir -m 700 "$dir/keys" "$dir/keys/allowed"
    "$squirrel" keygen "$dir/keys/hub" > /dev/null
    for id in "$@"; do
        "$squirrel" keygen "$dir/$id.key" > /dev/null
        cp "$dir/$id.key" "$dir/keys/allowed/$id"
    done
}

# A free loopback port whose next one is free too (jobs and results).
nodes_port_pair() {
    python3 -c "
import socket
for _ in range(100):
    a = socket.socket(); a.bind(('127.0.0.1', 0)); port = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(('127.0.0.1', port + 1)); print(port); break
    except OSError:
        pass
    finally:
        a.close(); b.close()"
}

# Run a command in lab host $1, or here when $1 is "-".
nodes_in() {
    where=$1
    shift
    if [ "$where" = - ]; then "$@"; else sh "$lab" exec "$where" "$@"; fi
}

# Wait (10 s) until ports $2 and $2 + 1 listen in lab host $1 (or here: -).
nodes_wait_listen() {
    end=$(( $(date +%s) + 10 ))
    until [ "$(nodes_in "$1" ss -Hltn "( sport = :$2 or sport = :$(( $2 + 1 )) )" | wc -l)" -ge 2 ]; do
        [ "$(date +%s)" -lt "$end" ] || { echo "bench: the hub never listened on $2" >&2; return 1; }
        sleep 0.01
    done
}

# nodes_start HUB_ADDRESS PORT CONCURRENCY HOST:ID...: a `squirrel pinger`
# per HOST:ID (HOST a lab host, or - for here), logs in $dir/node-ID.log.
nodes_start() {
    hub_at=$1 hub_port=$2 node_concurrency=$3
    shift 3
    for node in "$@"; do
        host=${node%%:*} id=${node#*:}
        # Started directly, not through a function, so that $! is the node
        # (netns.sh execs `ip netns exec`, which execs the command).
        if [ "$host" = - ]; then
            "$squirrel" pinger --connect "tcp://$hub_at:$hub_port" --key "$dir/$id.key" \
                --server-key "$dir/keys/hub" --id "$id" --concurrency "$node_concurrency" \
                > "$dir/node-$id.log" 2>&1 &
        else
            sh "$lab" exec "$host" "$squirrel" pinger --connect "tcp://$hub_at:$hub_port" \
                --key "$dir/$id.key" --server-key "$dir/keys/hub" --id "$id" \
                --concurrency "$node_concurrency" > "$dir/node-$id.log" 2>&1 &
        fi
        nodes="$nodes $!"
    done
}

# Stop the nodes (SIGTERM) and wait for them.
nodes_stop() {
    for pid in $nodes; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $nodes; do wait "$pid" 2>/dev/null || true; done
    nodes=""
}

# The lab up, under SQ_LAB_PREFIX (default PREFIX and this PID: $1 is the
# script's prefix letters), after removing the lab of a killed run of the
# same script.  Sets SQ_LAB_HUB, SQ_LAB_WEB ... (netns.sh env).
nodes_lab_up() {
    for stale in $(ip netns list 2>/dev/null | awk '{ print $1 }' |
                   sed -n "s/^\($1[0-9][0-9]*\)-.*/\1/p" | sort -u); do
        kill -0 "${stale#"$1"}" 2>/dev/null && continue
        echo "bench: removing the lab of a killed run: $stale"
        SQ_LAB_PREFIX=$stale sh "$lab" down >/dev/null || true
    done
    SQ_LAB_PREFIX=${SQ_LAB_PREFIX:-$1$$}
    export SQ_LAB_PREFIX
    eval "$(sh "$lab" env)"
    lab_up=yes
    sh "$lab" up > /dev/null
}
