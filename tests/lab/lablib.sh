# lablib.sh: what the lab tests share (sourced, POSIX sh).  Before
# sourcing, set: me (the test's name), src (the source folder) and
# SQ_LAB_PREFIX (the lab's namespace prefix, e.g. sqmPID).  It sets lab
# (netns.sh), hub and web (their addresses), tmp (a private folder), and
# gives: ok, fail, fatal, s_alive, s_wait_ready, s_wait_text, s_count_text,
# s_json, s_start (a tracked child), and the clean-up on exit, which stops
# every child, takes the lab down, prints "N passed, M failed" and exits 0
# only if every check passed and the test set completed=yes.

if [ "$(id -u)" -ne 0 ]; then
    echo "$me: skipped: needs root (network namespaces)"
    exit 77
fi
for tool in ip python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$me: FAIL: $tool not found (deploy/install-deps.sh installs it)"
        exit 1
    fi
done

lab="$src/deploy/lab/netns.sh"
export SQ_LAB_PREFIX
lab_env=$(sh "$lab" env) || { echo "$me: FAIL: netns.sh env failed"; exit 1; }
eval "$lab_env"
hub=$SQ_LAB_HUB
web=$SQ_LAB_WEB

ready_deadline=30           # seconds a fixture may take to be ready
passed=0
failed=0
completed=no
children=""                 # pids of what we started
tmp=""

ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
# Stop here: something the rest depends on did not happen.
fatal() { fail "$*"; exit 1; }

s_alive() { kill -0 "$1" 2>/dev/null; }

s_stop_children() {
    for pid in $children; do kill -TERM "$pid" 2>/dev/null; done
    end=$(($(date +%s) + 10))
    for pid in $children; do
        while s_alive "$pid" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.05; done
        s_alive "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
}

s_lab_namespaces() { ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$1-"; }

s_finish() {
    trap - EXIT
    s_stop_children
    left=""
    for pid in $children; do s_alive "$pid" && left="$left $pid"; done
    if [ -z "$left" ]; then ok "every process started is gone"
    else fail "processes still running:$left"; fi
    sh "$lab" down >/dev/null || fail "netns.sh down failed"
    left=$(s_lab_namespaces "$SQ_LAB_PREFIX" | tr '\n' ' ')
    if [ -z "$left" ]; then ok "down: no namespace named $SQ_LAB_PREFIX-* is left"
    else fail "down left namespaces: $left"; fi
    if [ "$failed" -ne 0 ] && [ -n "$tmp" ] && [ -n "${keep_logs:-}" ]; then
        for log in $keep_logs; do
            [ -f "$tmp/$log" ] && { echo "---- $log"; tail -40 "$tmp/$log"; }
        done
    fi
    [ -n "$tmp" ] && rm -rf "$tmp"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$completed" = yes ] || exit 1
    exit 0
}
trap s_finish EXIT
trap 'fail "interrupted"; exit 1' HUP INT TERM

# Wait until file $1 is not empty, while process $2 lives, for $ready_deadline s.
s_wait_ready() {
    end=$(($(date +%s) + ready_deadline))
    while [ ! -s "$1" ]; do
        s_alive "$2" || return 1
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# How many lines of file $1 hold the fixed text $2 (s_count_regex: the
# extended regular expression $2).
s_count_text() { grep -cF -- "$2" "$1" 2>/dev/null || true; }
s_count_regex() { grep -cE -- "$2" "$1" 2>/dev/null || true; }

# Wait until file $1 has a line matching the extended regular expression
# $2, for at most $3 seconds (default 30).
s_wait_regex() {
    end=$(($(date +%s) + ${3:-30}))
    while [ "$(s_count_regex "$1" "$2")" -lt 1 ]; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# Wait until file $1 holds the fixed text $2 at least $3 times (default 1),
# for at most $4 seconds (default 30).
s_wait_text() {
    want=${3:-1}
    end=$(($(date +%s) + ${4:-30}))
    while [ "$(s_count_text "$1" "$2")" -lt "$want" ]; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# Field $2 of the JSON object in file $1.
s_json() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# Run CMD... in lab host $1, output to $tmp/$2, tracked; sets $started.
s_start() {
    where=$1 log=$2
    shift 2
    sh "$lab" exec "$where" "$@" >"$tmp/$log" 2>&1 &
    started=$!
    children="$children $started"
}

# A lab left by a killed run of a test with this prefix letter ($1, e.g.
# sqm): its prefix names a PID that is gone.
s_remove_stale_labs() {
    for stale in $(ip netns list 2>/dev/null | awk '{ print $1 }' |
                   sed -n "s/^\($1[0-9][0-9]*\)-.*/\1/p" | sort -u); do
        s_alive "${stale#"$1"}" && continue
        echo "$me: removing the lab of a killed run: $stale"
        SQ_LAB_PREFIX=$stale sh "$lab" down >/dev/null || echo "$me: could not remove $stale"
    done
}
