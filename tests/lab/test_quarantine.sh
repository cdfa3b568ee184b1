#!/bin/sh
# test_quarantine: a pinger whose own uplink is broken is quarantined, in
# the lab of hosts (deploy/lab/netns.sh): its failures are not a site
# outage, and it is let back when its checks agree again.  POSIX sh.
#
#   sh tests/lab/test_quarantine.sh SOURCE_DIR SQUIRREL
#
# The hub (`squirrel run`, no local pinger) runs in `hub`, with a webhook
# receiver for the one owner (alice) and `squirrel watch` on its feed;
# pinger nodes in p1, p2 (region eu) and p3 (us); four sites on the web
# host (every live region, default quorum, owner alice) and one canary
# (config `canaries`, another path of the same test site), checked from
# every region and judging the pingers only.  Shown, each with a deadline
# and exact counts, from the feed (`watch --json`), the receiver's posts,
# `status --json`, the hub's log, <data_dir>/pingers.json and the store:
#   0. every site up from eu and us; no alert, alice told nothing.
#   1. p1's own link to the web host cut (every check it runs times out):
#      the hub says p1 is quarantined, pingers.json shows p1 quarantined
#      and p2, p3 healthy; no alert at all for any site (not down, not
#      degraded), alice told nothing, every site still up; p1's jobs go to
#      p2 (p1's share of eu's results at most its probation share, p2's
#      keep growing), and the store holds no result of p1's from after the
#      quarantine while it holds p2's.
#   2. the link restored: p1 is let back, pingers.json shows it healthy,
#      its share of eu's results comes back up and its results are stored
#      again; still no alert, alice still told nothing.
# Needs root: exits 77 (skipped) otherwise.
set -u

me="test_quarantine"
if [ $# -lt 2 ] || [ ! -d "$1" ] || [ ! -x "$2" ]; then
    echo "usage: sh tests/lab/test_quarantine.sh SOURCE_DIR SQUIRREL" >&2
    exit 2
fi
src=$1
squirrel=$2
SQ_LAB_PREFIX="sqq$$"
# shellcheck source=tests/lab/lablib.sh
. "$src/tests/lab/lablib.sh"
keep_logs="hub.log p1.log p2.log p3.log watch.log hook.log site.log"

interval=10                 # seconds between rounds (the config's floor)
timeout=2                   # seconds a check may take
port=7700
sites=4                     # sites on the web host, all alice's
# The pingers.json file is written every 5 s (the collector's rejudge).
pingers_every=5
# Each site is up from both regions after its first round or two.
settle=$((2 * interval + 15))

# How long p1 may take to be quarantined once its web link is cut.
# pinger_health.h: a pinger is quarantined when at least 6 comparisons are
# kept (of its last 20) and at least 75 % of them are disagreements.  The
# agreements p1 piled up in scenario 0 stay in the window, so up to 15
# disagreements (15 of 20) are needed, not only 6.  Each of p1's failures
# is one: on a site, p2's verdict on it is fresh (p2 rechecks every p1
# failure at once, and p1 and p2 share the sites round robin); on the
# canary, p2's and p3's.  eu has 5 probes a round (4 sites + 1 canary),
# and p1 takes at least 2 of them (round robin between p1 and p2; a recheck
# sent to p2 gives p1 the next turn, so in practice nearly all 5): at
# worst 15 / 2 = 8 rounds, 80 s, and a check's timeout.  Typically 3
# rounds.
quarantine_deadline=$((8 * interval + timeout + 8))
# How long p1 may take to be let back once its link is restored: 5
# agreements in a row.  A quarantined pinger gets only eu's probation
# turns, one send in 4 (job_book.h): eu sends its 5 probes a round (no
# rechecks now that p1's checks succeed), so p1 gets 1 or 2 of them a
# round (5 sends hold at least one 4th), ~1.25 on average: 5 agreements
# take at most 5 rounds, plus one for a check of p1's still failing when
# the link came back, and a margin: 60 + 20 s.
release_deadline=$((6 * interval + 20))
# The span over which p1's and p2's shares of eu's results are compared.
span_rounds=3
span=$((span_rounds * interval))

s_remove_stale_labs sqq
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sq-test-quarantine-$SQ_LAB_PREFIX.XXXXXX") || fatal "mktemp failed"
chmod 755 "$tmp"
out=$(sh "$lab" up 2>&1) || fatal "netns.sh up failed (can this machine make network namespaces?): $out"
ok "lab $SQ_LAB_PREFIX up: hub $hub, web $web"

s_start web site.log python3 "$src/tests/fixtures/testsite.py" --ready-file "$tmp/site.json" --bind "$web"
s_wait_ready "$tmp/site.json" "$started" || fatal "test site ready in web ($(cat "$tmp/site.log"))"
http=$(s_json "$tmp/site.json" http) || fatal "read the test site's ready file"

# The owner's webhook receiver, on the hub's loopback.
s_start hub hook.log python3 "$src/tests/fixtures/webhook.py" --ready-file "$tmp/hook.json"
s_wait_ready "$tmp/hook.json" "$started" || fatal "webhook receiver ready in hub ($(cat "$tmp/hook.log"))"
hook_port=$(s_json "$tmp/hook.json" port) || fatal "read the webhook receiver's ready file"
posts=$(s_json "$tmp/hook.json" log) || fatal "read the webhook receiver's ready file"

site_list=""
for name in a b c d; do site_list="$site_list http://$web:$http/count/$name"; done
canary="http://$web:$http/ok"
pingers_file="$tmp/data/pingers.json"
store_db="$tmp/data/squirrel.db"

# ---------------------------------------------------------------------------
# Reading what happened: the feed, the owner's posts, status, pingers.json,
# the store.

cat >"$tmp/look.py" <<'PY'
import json, sqlite3, sys

def lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []

def alerts(path):
    return [json.loads(l) for l in lines(path) if l.startswith('{"seq":')]

def feedlist(path):
    """Every alert on the feed: 'url:state ...', for a message."""
    return " ".join("%s:%s" % (a["url"], a["state"]) for a in alerts(path)) or "none"

def notices(path, owner):
    """Every notice posted to /owner, digests unpacked."""
    out = []
    for line in lines(path):
        post = json.loads(line)
        if post["path"] != "/" + owner:
            continue
        body = json.loads(post["body"])
        out.extend(body["alerts"] if body.get("digest") else [body])
    return out

def shown(path, owner):
    return ", ".join("%s:%s" % (n.get("kind"), n.get("state"))
                     for n in notices(path, owner)) or "none"

def status(path, url):
    """'STATE eu:up us:down' of url in `status --json`, or 'absent'."""
    for line in lines(path):
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("url") != url:
            continue
        out = [row["state"]]
        for name, verdict in sorted((row.get("regions") or {}).items()):
            out.append("%s:%s" % (name, "up" if verdict["up"] else "down"))
        return " ".join(out)
    return "absent"

def pinger(path, ident, field):
    """Field of pinger ident in pingers.json ('at' for the file's time)."""
    with open(path) as f:
        doc = json.load(f)
    if field == "at":
        return doc["at"]
    for entry in doc["pingers"]:
        if entry["id"] == ident:
            return entry[field]
    return "absent"

def stored(path, ident, since):
    """Results of pinger ident in the store with at_us > since."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        return db.execute("SELECT count(*) FROM result WHERE pinger_id = ? AND at_us > ?",
                          (ident, int(since))).fetchone()[0]
    finally:
        db.close()

what, args = sys.argv[1], sys.argv[2:]
if what == "feedcount":
    print(len(alerts(args[0])))
elif what == "feedlist":
    print(feedlist(args[0]))
elif what == "told":
    print(len(notices(*args)))
elif what == "shown":
    print(shown(*args))
elif what == "status":
    print(status(*args))
elif what == "pinger":
    print(pinger(*args))
elif what == "stored":
    print(stored(*args))
PY

# Alerts on the feed since the start, any site, any state (the test
# expects none at all); and their list, for a message.
s_feed() { python3 "$tmp/look.py" feedcount "$tmp/watch.log" 2>/dev/null || echo 0; }
s_feed_list() { python3 "$tmp/look.py" feedlist "$tmp/watch.log" 2>/dev/null || echo unreadable; }
# Notices to alice since the start, and their list.
s_told() { python3 "$tmp/look.py" told "$posts" alice 2>/dev/null || echo 0; }
s_shown() { python3 "$tmp/look.py" shown "$posts" alice 2>/dev/null || echo unreadable; }
# Site $1 in `squirrel status --json`: "STATE eu:up us:down".
s_status() {
    "$squirrel" status --json "$tmp/hub.yaml" >"$tmp/status.json" 2>&1
    python3 "$tmp/look.py" status "$tmp/status.json" "$1" 2>/dev/null || echo "unreadable"
}
# Field $2 of pinger $1 in pingers.json (pinger "-", field "at": the
# file's time), or "unreadable" before the file exists.
s_pinger() { python3 "$tmp/look.py" pinger "$pingers_file" "$1" "$2" 2>/dev/null || echo unreadable; }
# Results of pinger $1 in the store with at_us > $2 (unix µs); -1 if unreadable.
s_stored() { python3 "$tmp/look.py" stored "$store_db" "$1" "$2" 2>/dev/null || echo -1; }

# Wait until the command "$@" (after the first two arguments) prints at
# least $2 (a number), or, with $2 a word, exactly it; for $1 seconds.
s_wait_until() {
    end=$(($(date +%s) + $1))
    want=$2
    shift 2
    while :; do
        got=$("$@")
        case $want in
            *[!0-9]*) [ "$got" = "$want" ] && return 0 ;;
            *) case $got in
                   '' | *[!0-9]*) ;;
                   *) [ "$got" -ge "$want" ] && return 0 ;;
               esac ;;
        esac
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# Check that the count $2 is $3: "ok - $1" or "FAIL - $1 (got $2)".
s_expect() {
    if [ "$2" -eq "$3" ]; then ok "$1"; else fail "$1 (got $2)"; fi
}

s_lab() { out=$(sh "$lab" "$@" 2>&1) || fatal "netns.sh $*: $out"; }

# Every site "up eu:up us:up" in status now ($1: the scenario).
s_all_up() {
    for site in $site_list; do
        state=$(s_status "$site")
        if [ "$state" = "up eu:up us:up" ]; then ok "$1: status: $site up eu:up us:up"
        else fail "$1: status: $site up eu:up us:up (is '$state')"; fi
    done
}

# Nothing on the feed and nothing told to alice since the start ($1: the
# scenario, $2: what it is about).
s_quiet() {
    s_expect "$1: no alert on the feed for any site, $2 ($(s_feed_list))" "$(s_feed)" 0
    s_expect "$1: alice told nothing, $2 ($(s_shown))" "$(s_told)" 0
    s_expect "$1: no ALERT line in the hub's log" "$(s_count_text "$tmp/hub.log" "collector: ALERT")" 0
}

# The sites' changes of state in the hub's log (the collector's debug
# lines "collector: URL: up -> suspect (timeout)") after p1's quarantine.
# A quarantined pinger's results are not stepped: with p2 and p3 seeing
# every site up, no site changes state at all (before the quarantine each
# of p1's failures makes its site suspect until p2's recheck, unpublished).
s_changes_after_quarantine() {
    awk '/collector: pinger p1 \(region eu\) quarantined/ { q = 1 }
         q && /collector: [^ ]+: [a-z_]+ -> [a-z_]+ \(/ { n++ }
         END { print n + 0 }' "$tmp/hub.log"
}
s_no_changes() {
    if [ "$(s_count_regex "$tmp/hub.log" "collector: [^ ]+: unknown -> up \\(")" -lt "$sites" ]; then
        echo "# $1: the hub logs no changes of state (debug lines): not counted"
    else
        s_expect "$1: no site changed state after p1's quarantine (not even suspect)" \
            "$(s_changes_after_quarantine)" 0
    fi
}

# Snapshot of pingers.json: sets snap_at (µs), snap_p1, snap_p2 (results).
s_snapshot() {
    snap_at=$(s_pinger - at)
    snap_p1=$(s_pinger p1 results)
    snap_p2=$(s_pinger p2 results)
}

# Wait until pingers.json was written at least $1 s after snap_at (for
# $2 s), then compare p1's and p2's results since the snapshot: sets
# d_p1, d_p2, d_total, span_s (the span in whole seconds).
s_growth() {
    from_at=$snap_at from_p1=$snap_p1 from_p2=$snap_p2
    case "$from_at$from_p1$from_p2" in '' | *[!0-9]*) return 1 ;; esac
    want_at=$((from_at + $1 * 1000000))
    s_wait_until "$2" "$want_at" s_pinger - at || return 1
    s_snapshot
    case "$snap_at$snap_p1$snap_p2" in '' | *[!0-9]*) return 1 ;; esac
    d_p1=$((snap_p1 - from_p1))
    d_p2=$((snap_p2 - from_p2))
    d_total=$((d_p1 + d_p2))
    span_s=$(((snap_at - from_at) / 1000000))
}

# ---------------------------------------------------------------------------
# The hub, its pingers, the feed

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
    echo "  timeout: ${timeout}s"
    echo "  failure_threshold: 2"
    # Notices go out as they are made (there should be none at all).
    echo "digest_after: 100"
    # Checked from every region, judging the pingers only.
    echo "canaries: [$canary]"
    echo "owners:"
    echo "  alice:"
    echo "    webhook: http://127.0.0.1:$hook_port/alice"
    # alice would be told of a degraded site too: a "down in eu" made of
    # p1's failures would reach her.
    echo "    notify_degraded: true"
    echo "sites:"
    for site in $site_list; do
        echo "  - url: $site"
        echo "    owner: alice"
    done
} >"$tmp/hub.yaml"

s_start hub hub.log "$squirrel" run "$tmp/hub.yaml"
hub_pid=$started
s_wait_text "$tmp/hub.log" "monitoring $sites sites" 1 30 || fatal "hub started ($(tail -5 "$tmp/hub.log"))"

for node in p1 p2 p3; do
    "$squirrel" keygen "$tmp/$node.key" >"$tmp/keygen-$node.txt" 2>&1 || fatal "keygen $node"
    cp "$tmp/$node.key" "$tmp/keys/allowed/$node"
done
for node in p1 p2 p3; do
    region=eu
    [ "$node" = p3 ] && region=us
    s_start "$node" "$node.log" "$squirrel" pinger --connect "tcp://$hub:$port" \
        --key "$tmp/$node.key" --server-key "$tmp/keys/hub" --region "$region" --id "$node"
done
for node in p1 p2 p3; do
    s_wait_text "$tmp/hub.log" "pinger $node joined" 1 20 || fatal "$node joined the hub"
done
ok "p1, p2 (eu) and p3 (us) joined the hub"

s_start hub watch.log "$squirrel" watch "ipc://$tmp/feed" --json --since 0
s_wait_text "$tmp/watch.log" "caught up to #" 1 20 || fatal "squirrel watch followed the feed"

# ---------------------------------------------------------------------------
# 0. Every site up, checked from both regions; nothing on the feed.

begin=$(date +%s)
for site in $site_list; do
    s_wait_until "$settle" "up eu:up us:up" s_status "$site" ||
        fatal "0: $site up, checked from eu and us (status: $(s_status "$site"))"
done
ok "0: every site up, checked from eu and us, after $(($(date +%s) - begin)) s"
for node in p1 p2 p3; do
    if s_wait_until $((pingers_every + 5)) healthy s_pinger "$node" state; then
        ok "0: pingers.json: $node healthy"
    else
        fail "0: pingers.json: $node healthy (is '$(s_pinger "$node" state)')"
    fi
done
s_wait_until 10 1 s_stored p1 0 || fail "0: the store holds results of p1's"
# A quiet moment, then count: nothing may come late (absence cannot be
# polled for).  The same before each count of "nothing" below.
sleep 2
s_quiet 0 "all up"

# ---------------------------------------------------------------------------
# 1. p1's own link to the web host cut: quarantined, no alert, its jobs
#    go to p2.

s_lab cut p1 web
cut_at=$(date +%s)
quarantined=no
if s_wait_regex "$tmp/hub.log" "collector: pinger p1 \(region eu\) quarantined" "$quarantine_deadline"; then
    ok "1: p1 cut from the web host: the hub says p1 is quarantined after $(($(date +%s) - cut_at)) s"
    quarantined=yes
    echo "# 1: $(grep -m1 "collector: pinger p1 (region eu) quarantined" "$tmp/hub.log")"
else
    fail "1: p1 cut from the web host: the hub says p1 is quarantined within $quarantine_deadline s" \
         "(pingers.json: p1 $(s_pinger p1 state), compared $(s_pinger p1 compared)," \
         "disagreed $(s_pinger p1 disagreed))"
fi
if s_wait_until $((pingers_every + 5)) quarantined s_pinger p1 state; then
    ok "1: pingers.json: p1 quarantined"
else
    fail "1: pingers.json: p1 quarantined (is '$(s_pinger p1 state)')"
fi
for node in p2 p3; do
    state=$(s_pinger "$node" state)
    if [ "$state" = healthy ]; then ok "1: pingers.json: $node healthy"
    else fail "1: pingers.json: $node healthy (is '$state')"; fi
done
# `squirrel status` tells the operator: the text names p1, --json lists it.
"$squirrel" status "$tmp/hub.yaml" >"$tmp/status.txt" 2>&1
line=$(grep '^pingers:' "$tmp/status.txt")
case $line in
    *"p1 (eu) QUARANTINED since "*"3 known, 1 in quarantine"*) ok "1: status names p1 in quarantine" ;;
    *) fail "1: status names p1 in quarantine (pingers line: '$line')" ;;
esac
"$squirrel" status --json "$tmp/hub.yaml" >"$tmp/status.json" 2>&1
got=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{\"pingers\""):
        row = json.loads(line)
        print(" ".join("%s:%s" % (p["id"], p["state"]) for p in sorted(row["pingers"], key=lambda p: p["id"])), row["stale"])
' "$tmp/status.json" 2>&1)
if [ "$got" = "p1:quarantined p2:healthy p3:healthy False" ]; then
    ok "1: status --json: p1 quarantined, p2 and p3 healthy"
else
    fail "1: status --json: p1 quarantined, p2 and p3 healthy (got '$got')"
fi
[ "$quarantined" = yes ] || {
    s_quiet 1 "p1 cut"
    fatal "1: p1 was never quarantined: the rest cannot be shown"
}
q_since=$(s_pinger p1 since)
case $q_since in
    '' | *[!0-9]* | 0) fatal "1: pingers.json: p1's quarantine time (since is '$q_since')" ;;
esac

# p1's jobs go to p2.  A quarantined pinger gets a job only on eu's
# probation turn, one send in 4 (JOB_BOOK_PROBATION; p2 always has
# credit), and each of p1's failures on a site is rechecked at once by
# p2, a send of eu's as well: of all eu's results in the span, p1's are at
# most a quarter, plus 2 for the edges of the span (a job of p1's sent
# just before it, a probation turn just at its end): p1 <= total / 4 + 2.
# (Were p1 not kept to its probation turns, it would get every other eu
# send, and more: half or more.)  p2 has a result for each eu send that is
# not p1's: with 5 probes a round, at least 5 * rounds - 1 first tries in
# the span (one at its edge), of which p1 takes at most a quarter + 2.
s_snapshot
if s_growth "$span" $((span + pingers_every + 10)); then
    echo "# 1: over $span_s s after the quarantine: p1 $d_p1, p2 $d_p2 of eu's results"
    if [ $((4 * d_p1)) -le $((d_total + 8)) ]; then
        ok "1: p1's jobs went to p2: p1 has $d_p1 of eu's $d_total results in $span_s s (at most a quarter + 2)"
    else
        fail "1: p1's jobs went to p2: p1 has $d_p1 of eu's $d_total results in $span_s s, more than a quarter + 2"
    fi
    p2_least=$(((5 * span_rounds - 1) - (5 * span_rounds - 1 + 8) / 4))
    if [ "$d_p2" -ge "$p2_least" ]; then
        ok "1: p2's results keep growing: $d_p2 in $span_s s (at least $p2_least)"
    else
        fail "1: p2's results keep growing: $d_p2 in $span_s s (at least $p2_least)"
    fi
else
    fail "1: pingers.json written again $span s later (at is '$(s_pinger - at)', was $snap_at)"
fi
# The store: nothing of p1's from after the quarantine (its results are
# not stored), p2's still are.  The store writer may be a moment behind.
if s_wait_until 10 1 s_stored p2 "$q_since"; then
    ok "1: the store holds $(s_stored p2 "$q_since") results of p2's from after the quarantine"
else
    fail "1: the store holds results of p2's from after the quarantine (got $(s_stored p2 "$q_since"))"
fi
s_expect "1: the store holds no result of p1's from after the quarantine" "$(s_stored p1 "$q_since")" 0
echo "# 1: pingers.json: p1 compared $(s_pinger p1 compared), disagreed $(s_pinger p1 disagreed)"
s_quiet 1 "p1 cut for $(($(date +%s) - cut_at)) s"
# p1's failures are not stored, so eu's latest verdict is p2's: up.
s_all_up 1
s_no_changes 1
s_expect "1: exactly one quarantine of p1 in the hub's log" \
    "$(s_count_text "$tmp/hub.log" "collector: pinger p1 (region eu) quarantined")" 1
s_expect "1: p1 not let back while cut" "$(s_count_text "$tmp/hub.log" "collector: pinger p1 (region eu) let back")" 0
s_expect "1: no other pinger quarantined" "$(s_count_regex "$tmp/hub.log" "collector: pinger p[23] .* quarantined")" 0

# ---------------------------------------------------------------------------
# 2. p1's link restored: let back when its checks agree again.

s_lab restore p1 web
restore_at=$(date +%s)
if s_wait_regex "$tmp/hub.log" "collector: pinger p1 \(region eu\) let back" "$release_deadline"; then
    ok "2: p1's link restored: the hub says p1 is let back after $(($(date +%s) - restore_at)) s"
    echo "# 2: $(grep -m1 "collector: pinger p1 (region eu) let back" "$tmp/hub.log")"
else
    fail "2: p1's link restored: the hub says p1 is let back within $release_deadline s" \
         "(pingers.json: p1 $(s_pinger p1 state), compared $(s_pinger p1 compared)," \
         "disagreed $(s_pinger p1 disagreed))"
fi
if s_wait_until $((pingers_every + 5)) healthy s_pinger p1 state; then
    ok "2: pingers.json: p1 healthy"
else
    fail "2: pingers.json: p1 healthy (is '$(s_pinger p1 state)')"
fi
for node in p2 p3; do
    state=$(s_pinger "$node" state)
    if [ "$state" = healthy ]; then ok "2: pingers.json: $node healthy"
    else fail "2: pingers.json: $node healthy (is '$state')"; fi
done
# Stored again: any result of p1's after its quarantine began was stored
# after it was let back.
if s_wait_until $((interval + 5)) 1 s_stored p1 "$q_since"; then
    ok "2: the store holds results of p1's again ($(s_stored p1 "$q_since"))"
else
    fail "2: the store holds results of p1's again within $((interval + 5)) s"
fi
# Healthy again, p1 shares eu's sends round robin with p2: half of them
# (a little more: p2 rechecks nothing now).  At least a third, over two
# rounds, is well above its probation quarter.
s_snapshot
if s_growth $((2 * interval)) $((2 * interval + pingers_every + 10)); then
    echo "# 2: over $span_s s after the release: p1 $d_p1, p2 $d_p2 of eu's results"
    if [ $((3 * d_p1)) -ge "$d_total" ] && [ "$d_total" -gt 0 ]; then
        ok "2: p1's share of eu's results back up: $d_p1 of $d_total in $span_s s (at least a third)"
    else
        fail "2: p1's share of eu's results back up: $d_p1 of $d_total in $span_s s (at least a third)"
    fi
else
    fail "2: pingers.json written again $((2 * interval)) s later (at is '$(s_pinger - at)', was $snap_at)"
fi
sleep 1
s_quiet 2 "p1 restored"
s_all_up 2
s_no_changes 2
s_expect "2: p1 let back exactly once" "$(s_count_text "$tmp/hub.log" "collector: pinger p1 (region eu) let back")" 1
s_expect "2: still one quarantine of p1 in all" \
    "$(s_count_text "$tmp/hub.log" "collector: pinger p1 (region eu) quarantined")" 1
s_expect "2: no other pinger quarantined" "$(s_count_regex "$tmp/hub.log" "collector: pinger p[23] .* quarantined")" 0

kill -TERM "$hub_pid"
end=$(($(date +%s) + 30))
while s_alive "$hub_pid" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
s_alive "$hub_pid" && fail "the hub stopped on SIGTERM within 30 s"
echo "# $(($(date +%s) - begin)) s from the pingers joining to the end"

completed=yes
