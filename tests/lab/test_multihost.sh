#!/bin/sh
# test_multihost: a hub and pinger nodes on hosts of their own (the lab of
# network namespaces, deploy/lab/netns.sh), over real TCP with CURVE.
# POSIX sh.
#
#   sh tests/lab/test_multihost.sh SOURCE_DIR SQUIRREL
#
# The hub (`squirrel run`, no local pinger) runs in `hub`, three nodes
# (`squirrel pinger --connect`) in p1, p2 (region eu) and p3 (us), the test
# site in `web`.  Shown, each with a deadline:
#   - checks flow through the remote pingers, and `status` names the region;
#   - a node with a key that is not allowed is refused (logged once, with
#     its fingerprint) and never takes a job;
#   - kill -9 of a node: it is declared gone, every site still gets a
#     result, nobody is told a site is down;
#   - a node's link to the hub cut: gone within 3 heartbeats and a half (a
#     margin for the loop), its checks go on elsewhere; restored, it is back;
#   - the hub killed (-9) and started again: the nodes come back by
#     themselves, and the restart raises no alert;
#   - a watcher in p3 follows the hub's feed over tcp with CURVE
#     (`squirrel watch tcp://HUB:PORT --since 0`): with an allowed key it
#     gets the alert of a site made to go down (a third start of the hub,
#     with that site added, so the "no false DOWN" checks above stay
#     about sites that should be up); with an unknown key, nothing.
# Needs root: exits 77 (skipped) otherwise.
set -u

me="test_multihost"
if [ $# -lt 2 ] || [ ! -d "$1" ] || [ ! -x "$2" ]; then
    echo "usage: sh tests/lab/test_multihost.sh SOURCE_DIR SQUIRREL" >&2
    exit 2
fi
src=$1
squirrel=$2
SQ_LAB_PREFIX="sqm$$"
# shellcheck source=tests/lab/lablib.sh
. "$src/tests/lab/lablib.sh"
keep_logs="hub.log hub2.log hub3.log p1.log p2.log p3.log stranger.log thief.log watch.log watch-stranger.log"

sites=6                     # sites on the web host
interval=10                 # seconds between rounds (the config's floor)
port=7700

s_remove_stale_labs sqm
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sq-test-multihost-$SQ_LAB_PREFIX.XXXXXX") || fatal "mktemp failed"
chmod 755 "$tmp"
out=$(sh "$lab" up 2>&1) || fatal "netns.sh up failed (can this machine make network namespaces?): $out"
ok "lab $SQ_LAB_PREFIX up: hub $hub, web $web"

s_start web site.log python3 "$src/tests/fixtures/testsite.py" --ready-file "$tmp/site.json" --bind "$web"
s_wait_ready "$tmp/site.json" "$started" || fatal "test site ready in web ($(cat "$tmp/site.log"))"
http=$(s_json "$tmp/site.json" http) || fatal "read the test site's ready file"

# Results in the store with at_us after $1 (unix µs): how many distinct sites.
s_sites_checked_since() {
    python3 - "$tmp/data/squirrel.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
print(db.execute("SELECT count(DISTINCT site_id) FROM result WHERE at_us > ?",
                 (int(sys.argv[2]),)).fetchone()[0])
PY
}

s_now_us() { python3 -c 'import time; print(int(time.time() * 1e6))'; }

# Wait until every site has a result after $1 (unix µs), for $2 seconds.
s_wait_all_checked_since() {
    end=$(($(date +%s) + $2))
    while [ "$(s_sites_checked_since "$1" 2>/dev/null || echo 0)" -lt "$sites" ]; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.5
    done
}

# ---------------------------------------------------------------------------
# The hub

{
    echo "data_dir: $tmp/data"
    echo "feed: ipc://$tmp/feed"
    echo "listen: tcp://$hub:$port"
    echo "keys: $tmp/keys"
    echo "heartbeat: 1s"
    echo "workers:"
    echo "  pingers: 0"
    echo "defaults:"
    echo "  interval: ${interval}s"
    echo "  timeout: 2s"
    echo "sites:"
    n=1
    while [ "$n" -le "$sites" ]; do
        echo "  - url: http://$web:$http/ok?site=$n"
        n=$((n + 1))
    done
} >"$tmp/hub.yaml"

s_start hub hub.log "$squirrel" run "$tmp/hub.yaml"
hub_pid=$started
s_wait_text "$tmp/hub.log" "monitoring $sites sites" 1 30 || fatal "hub started"
[ -s "$tmp/keys/hub" ] || fatal "the hub made its key pair in keys/"
mode=$(stat -c %a "$tmp/keys/hub_secret")
if [ "$mode" = 600 ]; then ok "hub_secret is mode 600"; else fail "hub_secret is mode 600 (is $mode)"; fi

for node in p1 p2 p3 stranger; do
    "$squirrel" keygen "$tmp/$node.key" >"$tmp/keygen-$node.txt" 2>&1 || fatal "keygen $node"
done
for node in p1 p2 p3; do cp "$tmp/$node.key" "$tmp/keys/allowed/$node"; done

s_start p1 p1.log "$squirrel" pinger --connect "tcp://$hub:$port" --key "$tmp/p1.key" \
    --server-key "$tmp/keys/hub" --region eu --id p1
p1_pid=$started
s_start p2 p2.log "$squirrel" pinger --connect "tcp://$hub:$port" --key "$tmp/p2.key" \
    --server-key "$tmp/keys/hub" --region eu --id p2
s_start p3 p3.log "$squirrel" pinger --connect "tcp://$hub:$port" --key "$tmp/p3.key" \
    --server-key "$tmp/keys/hub" --region us --id p3
for node in p1 p2 p3; do
    if s_wait_text "$tmp/hub.log" "pinger $node joined" 1 20; then ok "$node joined the hub"
    else fatal "$node joined the hub"; fi
done

# ---------------------------------------------------------------------------
# Checks flow through the nodes; status names the region that checked.

start_us=$(s_now_us)
if s_wait_all_checked_since 0 $((interval + 15)); then ok "all $sites sites checked by the nodes"
else fatal "all $sites sites checked by the nodes (got $(s_sites_checked_since 0))"; fi
"$squirrel" status --json "$tmp/hub.yaml" >"$tmp/status.json" 2>&1
up=$(s_count_text "$tmp/status.json" '"state":"up"')
# Site lines only (status --json ends with the pingers and the notifications).
regions=$(grep '^{"url":' "$tmp/status.json" | grep -cE '"region":"(eu|us)"')
if [ "$up" -eq "$sites" ] && [ "$regions" -eq "$sites" ]; then
    ok "status: $sites sites up, each with the region of its last check"
else
    fail "status: $sites sites up with a region (up $up, with region $regions: $(cat "$tmp/status.json"))"
fi

# ---------------------------------------------------------------------------
# A node whose key is not in allowed/: refused, logged once, no job.

fingerprint=$(sed -n 's/^fingerprint: *//p' "$tmp/keygen-stranger.txt")
[ -n "$fingerprint" ] || fatal "keygen printed the stranger's fingerprint"
s_start p3 stranger.log "$squirrel" pinger --connect "tcp://$hub:$port" --key "$tmp/stranger.key" \
    --server-key "$tmp/keys/hub" --region us --id stranger
stranger_pid=$started
if s_wait_text "$tmp/hub.log" "$fingerprint" 1 15; then ok "the hub logged the unknown key's fingerprint"
else fail "the hub logged the unknown key's fingerprint $fingerprint"; fi
# Past two heartbeats of the stranger's: it would have said READY by now.
sleep 3
count=$(s_count_text "$tmp/hub.log" "$fingerprint")
joined=$(s_count_text "$tmp/hub.log" "pinger stranger")
if [ "$count" -eq 1 ] && [ "$joined" -eq 0 ]; then
    ok "the stranger was refused: logged once, never joined"
else
    fail "the stranger was refused: logged once ($count), never joined ($joined)"
fi
kill -KILL "$stranger_pid" 2>/dev/null


# ---------------------------------------------------------------------------
# kill -9 of a node: gone, and every site still gets a result.

kill_us=$(s_now_us)
kill -KILL "$p1_pid"
#  Gone either way: silence, or a send its closed connection refused.
if s_wait_regex "$tmp/hub.log" "pinger p1 (silent|unreachable)" 10; then ok "p1 killed: declared gone"
else fail "p1 killed: declared gone within 10 s"; fi
if s_wait_all_checked_since "$kill_us" $((2 * interval + 10)); then
    ok "after p1 died every site got a result"
else
    fail "after p1 died every site got a result ($(s_sites_checked_since "$kill_us") of $sites)"
fi

# ---------------------------------------------------------------------------
# p2's link to the hub cut: gone within 3.5 heartbeats (+ 1 s for the
# loop's half-second look and the log); restored: back by itself.

out=$(sh "$lab" cut p2 hub 2>&1) || fatal "cut p2 hub: $out"
cut_at=$(date +%s)
#  Either way again: silence, or libzmq's own heartbeat dropping the
#  connection first so that a send to p2 is refused as unreachable.
if s_wait_regex "$tmp/hub.log" "pinger p2 (silent|unreachable)" 8; then
    ok "p2 cut off: declared gone after $(($(date +%s) - cut_at)) s"
else
    fail "p2 cut off: declared gone within 8 s"
fi
cut_us=$(s_now_us)
if s_wait_all_checked_since "$cut_us" $((2 * interval + 10)); then
    ok "with p2 cut off every site got a result"
else
    fail "with p2 cut off every site got a result ($(s_sites_checked_since "$cut_us") of $sites)"
fi
out=$(sh "$lab" restore p2 hub 2>&1) || fatal "restore p2 hub: $out"
if s_wait_text "$tmp/hub.log" "pinger p2 is back" 1 20; then ok "p2 restored: back"
else fail "p2 restored: back within 20 s"; fi

# ---------------------------------------------------------------------------
# The hub killed and started again: the nodes reconnect by themselves.

kill -KILL "$hub_pid"
wait "$hub_pid" 2>/dev/null
s_start hub hub2.log "$squirrel" run "$tmp/hub.yaml"
hub_pid=$started
for node in p2 p3; do
    if s_wait_text "$tmp/hub2.log" "pinger $node joined" 1 20; then ok "$node back at the restarted hub"
    else fail "$node back at the restarted hub within 20 s"; fi
done
restart_us=$(s_now_us)
if s_wait_all_checked_since "$restart_us" $((interval + 15)); then
    ok "after the hub's restart every site got a result"
else
    fail "after the hub's restart every site got a result ($(s_sites_checked_since "$restart_us") of $sites)"
fi

# An allowed key under another node's name: refused, the name stays p2's
# (its results and credit are refused; ROUTER_HANDOVER still lets it take
# the route for a moment, which is why this comes last: see the note).
s_start p3 thief.log "$squirrel" pinger --connect "tcp://$hub:$port" --key "$tmp/p3.key" \
    --server-key "$tmp/keys/hub" --region us --id p2
thief_pid=$started
if s_wait_text "$tmp/hub2.log" "refused a message as pinger p2 from another key" 1 15; then
    ok "a node claiming p2's name with p3's key is refused"
else
    fail "a node claiming p2's name with p3's key is refused"
fi
kill -KILL "$thief_pid" 2>/dev/null

# A clean stop, and no alert ever: no site was down, whatever the pingers did.
kill -TERM "$hub_pid"
end=$(($(date +%s) + 30))
while s_alive "$hub_pid" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
s_alive "$hub_pid" && fail "the hub stopped on SIGTERM within 30 s"
alerts=$(cat "$tmp/hub.log" "$tmp/hub2.log" | grep -c "ALERT #" || true)
if [ "$alerts" -eq 0 ] && grep -q "collector: .* alerts=0 " "$tmp/hub2.log"; then
    ok "no alert at all: no false DOWN"
else
    fail "no alert at all ($alerts ALERT lines)"
fi

# ---------------------------------------------------------------------------
# Watchers in p3, over tcp with CURVE: the hub again, with a site that goes
# down (only here: the checks above count sites that should stay up).

{
    cat "$tmp/hub.yaml"
    echo "  - url: http://$web:$http/switch/mh"
    echo "    failure_threshold: 1"
}  >"$tmp/hub3.yaml"
s_set_site() {
    sh "$lab" exec web python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()' \
        "http://$web:$http/set/mh/$1" >/dev/null 2>&1
}
s_set_site 200 || fatal "the test site's /set/mh/200"
s_start hub hub3.log "$squirrel" run "$tmp/hub3.yaml"
hub_pid=$started
s_wait_text "$tmp/hub3.log" "monitoring $((sites + 1)) sites" 1 30 || fatal "hub started a third time"
s_start p3 watch.log "$squirrel" watch "tcp://$hub:$port" --key "$tmp/p3.key" \
    --server-key "$tmp/keys/hub" --json --since 0
s_start p3 watch-stranger.log "$squirrel" watch "tcp://$hub:$port" --key "$tmp/stranger.key" \
    --server-key "$tmp/keys/hub" --json --since 0
if s_wait_text "$tmp/watch.log" "caught up to #" 1 20; then ok "the watcher in p3 got the snapshot"
else fail "the watcher in p3 got the snapshot within 20 s"; fi
s_set_site 503 || fail "the test site's /set/mh/503"
if s_wait_text "$tmp/watch.log" '"state":"down"' 1 $((interval + 20)); then
    ok "the watcher in p3 (allowed key) got the DOWN alert over tcp"
else
    fail "the watcher in p3 (allowed key) got the DOWN alert over tcp"
fi
# Checked from two regions (eu, us) with the default quorum (a majority:
# both), the first region to see it fail makes it degraded, the second
# down: exactly one DOWN, at most one DEGRADED before it.
alerts=$(s_count_text "$tmp/watch.log" '"state":"down"')
if [ "$alerts" -eq 1 ]; then ok "exactly one down alert line"; else fail "exactly one down alert line (got $alerts)"; fi
degraded=$(s_count_text "$tmp/watch.log" '"state":"degraded"')
if [ "$degraded" -le 1 ]; then ok "at most one degraded line before it"; else fail "at most one degraded line (got $degraded)"; fi
strange=$(s_count_text "$tmp/watch-stranger.log" '{"seq":')
caught=$(s_count_text "$tmp/watch-stranger.log" "caught up")
if [ "$strange" -eq 0 ] && [ "$caught" -eq 0 ]; then ok "the watcher with an unknown key got nothing"
else fail "the watcher with an unknown key got nothing ($strange alert lines, $caught snapshots)"; fi
s_set_site 200
kill -TERM "$hub_pid"
end=$(($(date +%s) + 30))
while s_alive "$hub_pid" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
s_alive "$hub_pid" && fail "the third hub stopped on SIGTERM within 30 s"

completed=yes
