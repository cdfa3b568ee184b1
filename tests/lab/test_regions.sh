#!/bin/sh
# test_regions: regions and quorum in the lab of hosts (deploy/lab/netns.sh):
# a site checked from two regions is down only when enough of them see it
# down.  POSIX sh.
#
#   sh tests/lab/test_regions.sh SOURCE_DIR SQUIRREL
#
# The hub (`squirrel run`, no local pinger) runs in `hub`, with a webhook
# receiver for the owners and `squirrel watch` on its feed; pinger nodes in
# p1, p2 (region eu) and p3 (us); three sites on the web host:
#   A  every live region, default quorum (a majority), owner alice;
#   B  regions [eu, us], quorum 2, owner bob;
#   C  every live region, default quorum, owner carol (notify_degraded: true).
# alice and bob keep notify_degraded at its default, false.  Shown, each
# with a deadline and exact counts (each scenario counts only what came
# after it began: the feed from `watch --json`, the notices the receiver
# got, `status --json`, and the hub's "ALERT" lines for the regions):
#   0. all up from both regions: no alert on the feed, nobody told.
#   1. eu's path to the web host cut (p1 and p2): A is degraded (status
#      says eu:down us:up), one `degraded` alert on the feed, no `down`;
#      alice is told nothing, carol once.  Restored: A is up again, and
#      alice is still told nothing (no UP for a degraded she never heard of).
#   2. both regions cut (p1, p2, p3): A is down, one `down` alert naming eu
#      and us; alice is told once, with both regions.  Restored: one UP.
#   3. us's only pinger killed: after the freshness window (two intervals
#      plus the timeout) us stops counting.  A (majority of the regions that
#      count) stays up, no alert at all; B (quorum 2) becomes `unmonitored`,
#      one alert, never down, and bob is told nothing.
# Needs root: exits 77 (skipped) otherwise.
set -u

me="test_regions"
if [ $# -lt 2 ] || [ ! -d "$1" ] || [ ! -x "$2" ]; then
    echo "usage: sh tests/lab/test_regions.sh SOURCE_DIR SQUIRREL" >&2
    exit 2
fi
src=$1
squirrel=$2
SQ_LAB_PREFIX="sqr$$"
# shellcheck source=tests/lab/lablib.sh
. "$src/tests/lab/lablib.sh"
keep_logs="hub.log p1.log p2.log p3.log watch.log hook.log site.log"

interval=10                 # seconds between rounds (the config's floor)
timeout=2                   # seconds a check may take
port=7700
# A failure shows within a round, a check that times out and its recheck
# (at once): 10 + 2 + 2 s, and a margin for the collector and the store.
settle=$((interval + 2 * timeout + 12))
# A region stops counting two intervals plus the timeout (plus the job's
# 5 s deadline margin) after its last verdict; the collector looks every 5 s.
fresh=$((2 * interval + timeout + 5))

s_remove_stale_labs sqr
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sq-test-regions-$SQ_LAB_PREFIX.XXXXXX") || fatal "mktemp failed"
chmod 755 "$tmp"
out=$(sh "$lab" up 2>&1) || fatal "netns.sh up failed (can this machine make network namespaces?): $out"
ok "lab $SQ_LAB_PREFIX up: hub $hub, web $web"

s_start web site.log python3 "$src/tests/fixtures/testsite.py" --ready-file "$tmp/site.json" --bind "$web"
s_wait_ready "$tmp/site.json" "$started" || fatal "test site ready in web ($(cat "$tmp/site.log"))"
http=$(s_json "$tmp/site.json" http) || fatal "read the test site's ready file"

# The owners' webhook receiver, on the hub's loopback.
s_start hub hook.log python3 "$src/tests/fixtures/webhook.py" --ready-file "$tmp/hook.json"
s_wait_ready "$tmp/hook.json" "$started" || fatal "webhook receiver ready in hub ($(cat "$tmp/hook.log"))"
hook_port=$(s_json "$tmp/hook.json" port) || fatal "read the webhook receiver's ready file"
posts=$(s_json "$tmp/hook.json" log) || fatal "read the webhook receiver's ready file"

site_a="http://$web:$http/count/a"
site_b="http://$web:$http/count/b"
site_c="http://$web:$http/count/c"

# ---------------------------------------------------------------------------
# Reading what happened: the feed (watch --json), the owners' posts, status.

cat >"$tmp/look.py" <<'PY'
import json, os, sys

# Only what came after the marks counts: FEED_SKIP alerts, POSTS_SKIP posts.
FEED_SKIP = int(os.environ.get("FEED_SKIP", "0"))
POSTS_SKIP = int(os.environ.get("POSTS_SKIP", "0"))

def lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []

def alerts(path):
    return [json.loads(l) for l in lines(path) if l.startswith('{"seq":')]

def feed(path, url, state=None):
    """Alerts on the feed for url (in state) after the mark."""
    return sum(1 for a in alerts(path)[FEED_SKIP:]
               if a["url"] == url and (state is None or a["state"] == state))

def notices(path, owner):
    """Every notice posted to /owner after the mark, digests unpacked."""
    out = []
    for line in lines(path)[POSTS_SKIP:]:
        post = json.loads(line)
        if post["path"] != "/" + owner:
            continue
        body = json.loads(post["body"])
        out.extend(body["alerts"] if body.get("digest") else [body])
    return out

def told(path, owner, state=None, kind=None):
    return sum(1 for n in notices(path, owner)
               if (state is None or n.get("state") == state)
               and (kind is None or n.get("kind") == kind))

def shown(path, owner):
    """owner's notices after the mark: 'kind:state[regions]', ..."""
    return ", ".join("%s:%s[%s]" % (n.get("kind"), n.get("state"), n.get("regions", ""))
                     for n in notices(path, owner)) or "none"

def regions(path, owner, state):
    """The regions of the last notice to owner in state."""
    found = [n.get("regions", "") for n in notices(path, owner) if n.get("state") == state]
    return found[-1] if found else ""

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
            out.append("%s:%s" % (name, verdict.get("state")
                                      or ("up" if verdict["up"] else "down")))
        return " ".join(out)
    return "absent"

what, args = sys.argv[1], sys.argv[2:]
if what == "feed":
    print(feed(*args))
elif what == "feedmark":
    print(len(alerts(args[0])))
elif what == "postmark":
    print(len(lines(args[0])))
elif what == "told":
    print(told(*args))
elif what == "shown":
    print(shown(*args))
elif what == "regions":
    print(regions(*args))
elif what == "status":
    print(status(*args))
PY

feed_mark=0
post_mark=0
# From now on count only what comes after this.
s_mark() {
    feed_mark=$(python3 "$tmp/look.py" feedmark "$tmp/watch.log")
    post_mark=$(python3 "$tmp/look.py" postmark "$posts")
}
s_look() { FEED_SKIP=$feed_mark POSTS_SKIP=$post_mark python3 "$tmp/look.py" "$@"; }
# Alerts on the feed for site $1 (in state $2) since the mark.
s_feed() { s_look feed "$tmp/watch.log" "$@" 2>/dev/null || echo 0; }
# Notices to owner $1 (in state $2, of kind $3) since the mark.
s_told() { s_look told "$posts" "$@" 2>/dev/null || echo 0; }
# Owner $1's notices since the mark, for a message.
s_shown() { s_look shown "$posts" "$1" 2>/dev/null || echo "unreadable"; }
# The regions of owner $1's last notice in state $2 since the mark.
s_told_regions() { s_look regions "$posts" "$1" "$2" 2>/dev/null; }
# Site $1 in `squirrel status --json`: "STATE eu:up us:down".
s_status() {
    "$squirrel" status --json "$tmp/hub.yaml" >"$tmp/status.json" 2>&1
    python3 "$tmp/look.py" status "$tmp/status.json" "$1" 2>/dev/null || echo "unreadable"
}

# Wait until status of site $1 is exactly $2, for $3 seconds.
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
            *) [ "$got" -ge "$want" ] && return 0 ;;
        esac
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# Wait until site $1's status is $2, for $3 seconds.
s_wait_status() { s_wait_until "$3" "$2" s_status "$1"; }

# Wait until the feed has $3 alerts of site $1 in state $2, for $4 seconds.
s_wait_feed() { s_wait_until "$4" "$3" s_feed "$1" "$2"; }

# Wait until owner $1 has $3 notices in state $2, for $4 seconds.
s_wait_told() { s_wait_until "$4" "$3" s_told "$1" "$2"; }

# Check that the count $2 is $3: "ok - $1" or "FAIL - $1 (got $2)".
s_expect() {
    if [ "$2" -eq "$3" ]; then ok "$1"; else fail "$1 (got $2)"; fi
}

s_lab() { out=$(sh "$lab" "$@" 2>&1) || fatal "netns.sh $*: $out"; }

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
    # Notices go out as they are made: a digest held to the end of its
    # window would land in the next scenario.  (Digests: test_alerts.)
    echo "digest_after: 100"
    echo "owners:"
    echo "  alice:"
    echo "    webhook: http://127.0.0.1:$hook_port/alice"
    echo "  bob:"
    echo "    webhook: http://127.0.0.1:$hook_port/bob"
    echo "    notify_degraded: false"
    echo "  carol:"
    echo "    webhook: http://127.0.0.1:$hook_port/carol"
    echo "    notify_degraded: true"
    echo "sites:"
    echo "  - url: $site_a"
    echo "    owner: alice"
    echo "  - url: $site_b"
    echo "    owner: bob"
    echo "    regions: [eu, us]"
    echo "    quorum: 2"
    echo "  - url: $site_c"
    echo "    owner: carol"
    # Carol hears of every change of C, degraded ones included: more in a
    # few minutes than the default flap rule (5 in 30 min) lets through.
    # Flapping has tests of its own (test_policy, test_notify).
    echo "    flap_changes: 20"
} >"$tmp/hub.yaml"

s_start hub hub.log "$squirrel" run "$tmp/hub.yaml"
hub_pid=$started
s_wait_text "$tmp/hub.log" "monitoring 3 sites" 1 30 || fatal "hub started ($(tail -5 "$tmp/hub.log"))"

for node in p1 p2 p3; do
    "$squirrel" keygen "$tmp/$node.key" >"$tmp/keygen-$node.txt" 2>&1 || fatal "keygen $node"
    cp "$tmp/$node.key" "$tmp/keys/allowed/$node"
done
for node in p1 p2 p3; do
    region=eu
    [ "$node" = p3 ] && region=us
    s_start "$node" "$node.log" "$squirrel" pinger --connect "tcp://$hub:$port" \
        --key "$tmp/$node.key" --server-key "$tmp/keys/hub" --region "$region" --id "$node"
    eval "${node}_pid=\$started"
done
for node in p1 p2 p3; do
    s_wait_text "$tmp/hub.log" "pinger $node joined" 1 20 || fatal "$node joined the hub"
done
ok "p1, p2 (eu) and p3 (us) joined the hub"

s_start hub watch.log "$squirrel" watch "ipc://$tmp/feed" --json --since 0
s_wait_text "$tmp/watch.log" "caught up to #" 1 20 || fatal "squirrel watch followed the feed"

# Wait until file $1 has more than $3 lines matching the extended regular
# expression $2, for $4 seconds.
s_wait_more() {
    end=$(($(date +%s) + $4))
    while [ "$(s_count_regex "$1" "$2")" -le "$3" ]; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# The last ALERT line of the hub's log for site $1 in state $2.
s_alert_line() { grep "collector: ALERT #[0-9]* $1 is $2 " "$tmp/hub.log" | tail -1; }

# Every site up, checked from both regions; nothing was ever down, so
# nothing is on the feed and nobody is told anything.
begin=$(date +%s)
for site in "$site_a" "$site_b" "$site_c"; do
    s_wait_status "$site" "up eu:up us:up" $((2 * interval + 15)) ||
        fatal "$site up, checked from eu and us (status: $(s_status "$site"))"
done
ok "every site up, checked from eu and us, after $(($(date +%s) - begin)) s"
# A quiet moment, then count: nothing may come late (absence cannot be
# polled for).  The same before each count of "nothing more" below.
sleep 2
alerts=$(python3 "$tmp/look.py" feedmark "$tmp/watch.log")
if [ "$alerts" -eq 0 ]; then ok "start: no alert on the feed"
else fail "start: no alert on the feed (got $alerts: $(grep -o '"url":"[^"]*","state":"[a-z]*"' "$tmp/watch.log" | tr '\n' ' '))"; fi
for owner in alice bob carol; do
    s_expect "start: $owner told nothing ($(s_shown "$owner"))" "$(s_told "$owner")" 0
done

# ---------------------------------------------------------------------------
# 1. eu cannot reach the web host: degraded, not down; alice is not told.

s_mark
s_lab cut p1 web
s_lab cut p2 web
cut_at=$(date +%s)
if s_wait_feed "$site_a" degraded 1 "$settle"; then
    ok "1: eu cut: A degraded on the feed after $(($(date +%s) - cut_at)) s"
else
    fail "1: eu cut: A degraded on the feed within $settle s (feed: $(s_feed "$site_a") alerts)"
fi
if s_wait_status "$site_a" "degraded eu:down us:up" 10; then
    ok "1: status: A degraded eu:down us:up"
else
    fail "1: status: A degraded eu:down us:up (is '$(s_status "$site_a")')"
fi
line=$(s_alert_line "$site_a" degraded)
if echo "$line" | grep -Eq "; down in eu:[a-z_]+$"; then
    ok "1: the degraded alert names eu (only) with its reason"
else
    fail "1: the degraded alert names eu (only) with its reason ($line)"
fi
s_wait_feed "$site_b" degraded 1 10 || fail "1: B (quorum 2) degraded on the feed"
s_wait_feed "$site_c" degraded 1 10 || fail "1: C degraded on the feed"
s_wait_told carol degraded 1 10 || fail "1: carol (notify_degraded: true) told of C's degraded"
# One more round with eu cut: still degraded, never down.
sleep $((interval + 2))
s_expect "1: exactly one degraded alert for A on the feed" "$(s_feed "$site_a" degraded)" 1
s_expect "1: no down alert for A" "$(s_feed "$site_a" down)" 0
s_expect "1: no down alert for B (quorum 2)" "$(s_feed "$site_b" down)" 0
s_expect "1: alice (notify_degraded default) told nothing ($(s_shown alice))" "$(s_told alice)" 0
s_expect "1: bob (notify_degraded: false) told nothing ($(s_shown bob))" "$(s_told bob)" 0
s_expect "1: carol (notify_degraded: true) told once, degraded ($(s_shown carol))" \
    "$(s_told carol degraded alert)" 1
state=$(s_status "$site_a")
if [ "$state" = "degraded eu:down us:up" ]; then ok "1: A still degraded a round later"
else fail "1: A still degraded a round later (is '$state')"; fi

a_up_lines=$(s_count_regex "$tmp/hub.log" "notifier: .*$site_a is up")
s_lab restore p1 web
s_lab restore p2 web
restore_at=$(date +%s)
if s_wait_feed "$site_a" up 1 "$settle"; then
    ok "1: eu restored: A up on the feed after $(($(date +%s) - restore_at)) s"
else
    fail "1: eu restored: A up on the feed within $settle s"
fi
s_wait_status "$site_a" "up eu:up us:up" 10 || fail "1: status: A up eu:up us:up (is '$(s_status "$site_a")')"
# The notifier has judged A's UP once it logged it, told or not.
s_wait_more "$tmp/hub.log" "notifier: .*$site_a is up" "$a_up_lines" 10 ||
    fail "1: the notifier took A's UP within 10 s"
s_wait_told carol up 1 10 || fail "1: carol told C is up again"
for site in "$site_b" "$site_c"; do
    s_wait_status "$site" "up eu:up us:up" 15 || fail "1: status: $site up again (is '$(s_status "$site")')"
done
sleep 1
s_expect "1: alice told nothing, not even an UP ($(s_shown alice))" "$(s_told alice)" 0
s_expect "1: bob told nothing, not even an UP ($(s_shown bob))" "$(s_told bob)" 0
s_expect "1: carol told twice: degraded, then up ($(s_shown carol))" "$(s_told carol)" 2

# ---------------------------------------------------------------------------
# 2. Neither region reaches the web host: down, one alert naming both.

s_mark
s_lab cut eu web
s_lab cut p3 web
cut_at=$(date +%s)
if s_wait_feed "$site_a" down 1 "$settle"; then
    ok "2: both cut: A down on the feed after $(($(date +%s) - cut_at)) s"
else
    fail "2: both cut: A down on the feed within $settle s (feed: $(s_feed "$site_a") alerts)"
fi
if s_wait_status "$site_a" "down eu:down us:down" 10; then
    ok "2: status: A down eu:down us:down"
else
    fail "2: status: A down eu:down us:down (is '$(s_status "$site_a")')"
fi
line=$(s_alert_line "$site_a" down)
case $line in
    *"; down in eu:"*",us:"* | *"; down in us:"*",eu:"*) ok "2: the down alert names eu and us with reasons" ;;
    *) fail "2: the down alert names eu and us with reasons ($line)" ;;
esac
if s_wait_told alice down 1 10; then ok "2: alice told A is down"
else fail "2: alice told A is down within 10 s ($(s_shown alice))"; fi
regions=$(s_told_regions alice down)
case $regions in
    *eu:*us:* | *us:*eu:*) ok "2: alice's notice names eu and us ($regions)" ;;
    *) fail "2: alice's notice names eu and us (regions '$regions')" ;;
esac
s_wait_feed "$site_b" down 1 10 || fail "2: B down on the feed"
sleep 3
s_expect "2: exactly one down alert for A on the feed" "$(s_feed "$site_a" down)" 1
s_expect "2: alice told exactly once, an alert: down ($(s_shown alice))" "$(s_told alice down alert)" 1
s_expect "2: alice told nothing else" "$(s_told alice)" 1
echo "# 2: on the way down A was degraded $(s_feed "$site_a" degraded) time(s) (the regions' rounds differ)"

s_lab restore eu web
s_lab restore p3 web
restore_at=$(date +%s)
if s_wait_feed "$site_a" up 1 "$settle"; then
    ok "2: restored: A up on the feed after $(($(date +%s) - restore_at)) s"
else
    fail "2: restored: A up on the feed within $settle s"
fi
s_wait_status "$site_a" "up eu:up us:up" 10 || fail "2: status: A up eu:up us:up (is '$(s_status "$site_a")')"
if s_wait_told alice up 1 10; then ok "2: alice told A is up"
else fail "2: alice told A is up within 10 s ($(s_shown alice))"; fi
for site in "$site_b" "$site_c"; do
    s_wait_status "$site" "up eu:up us:up" 15 || fail "2: status: $site up again (is '$(s_status "$site")')"
done
sleep 2
s_expect "2: alice told one UP, as an alert ($(s_shown alice))" "$(s_told alice up alert)" 1
s_expect "2: alice told twice in all: down, up" "$(s_told alice)" 2
s_expect "2: still one down alert for A on the feed" "$(s_feed "$site_a" down)" 1

# ---------------------------------------------------------------------------
# 3. us's only pinger dies: us stops counting after the freshness window.

s_mark
# shellcheck disable=SC2154  # set by eval above
kill -KILL "$p3_pid"
kill_at=$(date +%s)
if s_wait_regex "$tmp/hub.log" "pinger p3 (silent|unreachable)" 10; then ok "3: p3 killed: declared gone"
else fail "3: p3 killed: declared gone within 10 s"; fi
deadline=$((fresh + 15))
if s_wait_feed "$site_b" unmonitored 1 "$deadline"; then
    took=$(($(date +%s) - kill_at))
    # The window runs from us's last verdict, up to a round before the kill.
    if [ "$took" -ge $((fresh - interval - 2)) ]; then
        ok "3: B (quorum 2) unmonitored after $took s (window $fresh s from us's last check)"
    else
        fail "3: B unmonitored only after the freshness window (after $took s, window $fresh s)"
    fi
else
    fail "3: B (quorum 2) unmonitored on the feed within $deadline s"
fi
echo "# 3: $(s_alert_line "$site_b" unmonitored)"
state=$(s_status "$site_b")
case $state in
    "unmonitored eu:up us:unavailable") ok "3: status: B unmonitored, us unavailable ($state)" ;;
    *) fail "3: status: B unmonitored eu:up us:unavailable (is '$state')" ;;
esac
# Past the window for every site, and another round of eu's.
left=$((kill_at + fresh + 5 + interval - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
s_expect "3: A (majority of the regions that count) raised no alert" "$(s_feed "$site_a")" 0
s_expect "3: C (majority of the regions that count) raised no alert" "$(s_feed "$site_c")" 0
state=$(s_status "$site_a")
case $state in
    "up eu:up us:unavailable") ok "3: status: A still up, us unavailable ($state)" ;;
    *) fail "3: status: A still up eu:up us:unavailable (is '$state')" ;;
esac
s_expect "3: exactly one alert for B: unmonitored" "$(s_feed "$site_b")" 1
s_expect "3: B never down" "$(s_feed "$site_b" down)" 0
for owner in alice bob carol; do
    s_expect "3: $owner told nothing ($(s_shown "$owner"))" "$(s_told "$owner")" 0
done

kill -TERM "$hub_pid"
end=$(($(date +%s) + 30))
while s_alive "$hub_pid" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
s_alive "$hub_pid" && fail "the hub stopped on SIGTERM within 30 s"
echo "# $(($(date +%s) - begin)) s from the pingers joining to the end"

completed=yes
