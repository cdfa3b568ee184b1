#!/bin/sh
# test_lab: the lab of hosts (deploy/lab/netns.sh) does what tests need of
# it.  POSIX sh.
#
#   sh tests/lab/test_lab.sh SOURCE_DIR [SQUIRREL]
#
# Builds a lab with a prefix of its own (sqtPID), serves the test site in
# `web` and a TCP listener in `hub`, and checks from the pingers that each
# reaches both, that cutting one pinger's link (or one region's) stops that
# pinger only, and that restoring it brings it back.  Prints a line per
# check and "N passed, M failed"; exits 0 only if every check passed.
# Needs root: exits 77 (skipped) otherwise.  Everything it starts, and the
# lab, is removed on any exit; a lab left by a killed run (its PID gone) is
# removed at the start of the next.
#
# SQUIRREL (the binary) is not used here: test_multihost.sh runs it in the lab.
set -u

me="test_lab"
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: sh tests/lab/test_lab.sh SOURCE_DIR [SQUIRREL]" >&2
    exit 2
fi
src=$1

SQ_LAB_PREFIX="sqt$$"
# shellcheck source=tests/lab/lablib.sh
. "$src/tests/lab/lablib.sh"
probe="$src/tests/lab/labprobe.py"
site_script="$src/tests/fixtures/testsite.py"
short=2                     # seconds a probe that must fail may take

# ---------------------------------------------------------------------------
# Probes

# GET URL $2 from host $1: sets $answer (an HTTP status, or "error: WHY")
# and returns the probe's status.  Extra arguments go to the probe.
s_get() {
    h=$1 url=$2
    shift 2
    answer=$(sh "$lab" exec "$h" python3 "$probe" get "$url" --timeout "$short" "$@" 2>&1)
}

expect_status() {           # HOST URL CODE [PROBE ARGS]
    h=$1 url=$2 code=$3
    shift 3
    s_get "$h" "$url" "$@"
    if [ "$answer" = "$code" ]; then ok "$h gets $code from $url"
    else fail "$h gets $code from $url (got: $answer)"; fi
}

expect_no_answer() {        # HOST URL
    started=$(date +%s)
    if s_get "$1" "$2"; then fail "$1 gets no answer from $2 (got: $answer)"
    else ok "$1 gets no answer from $2 ($answer, $(($(date +%s) - started)) s)"; fi
}

expect_hub() {              # HOST: reaches the hub's listener
    if answer=$(sh "$lab" exec "$1" python3 "$probe" connect "$hub" "$hub_port" --timeout "$short" 2>&1)
    then ok "$1 reaches the hub at $hub:$hub_port"
    else fail "$1 reaches the hub at $hub:$hub_port (got: $answer)"; fi
}

expect_no_hub() {           # HOST: cannot reach the hub's listener
    if answer=$(sh "$lab" exec "$1" python3 "$probe" connect "$hub" "$hub_port" --timeout "$short" 2>&1)
    then fail "$1 cannot reach the hub at $hub:$hub_port (it can)"
    else ok "$1 cannot reach the hub at $hub:$hub_port ($answer)"; fi
}

lab_do() {                  # netns.sh SUBCOMMAND...: quiet, FAIL if it fails
    out=$(sh "$lab" "$@" 2>&1) || fatal "netns.sh $* failed: $out"
}

s_remove_stale_labs sqt

# ---------------------------------------------------------------------------
# The lab

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sq-test-lab-$SQ_LAB_PREFIX.XXXXXX") || fatal "mktemp failed"
host_links_before=$(ip -o link show | awk -F': ' '{ print $2 }' | sort)

# Also the check that this machine can make network namespaces at all: if
# `ip netns add` fails as root, the test fails and says so (never skips).
out=$(sh "$lab" up 2>&1) ||
    fatal "netns.sh up failed (can this machine make network namespaces?): $out"
ok "up: lab $SQ_LAB_PREFIX, hub $hub, web $web"
out=$(sh "$lab" up 2>&1) || fatal "netns.sh up a second time failed: $out"
ok "up again on a lab that is up"
if sh "$lab" status >"$tmp/status" 2>&1; then ok "status: every host present"
else fail "status: every host present ($(cat "$tmp/status"))"; fi

host_links_after=$(ip -o link show | awk -F': ' '{ print $2 }' | sort)
if [ "$host_links_before" = "$host_links_after" ]; then
    ok "the host's own namespace has no new interface"
else
    fail "the host's own namespace has new interfaces: $(echo "$host_links_after" |
        grep -vxF "$host_links_before" | tr '\n' ' ')"
fi

# The test site in `web`, and a listener in `hub`.
sh "$lab" exec web python3 "$site_script" --ready-file "$tmp/site.json" \
    --bind "$web" >"$tmp/site.log" 2>&1 &
children="$children $!"
s_wait_ready "$tmp/site.json" "$!" ||
    fatal "test site ready in web within $ready_deadline s ($(cat "$tmp/site.log"))"
if ! http=$(s_json "$tmp/site.json" http) || ! https=$(s_json "$tmp/site.json" https) ||
   ! ca=$(s_json "$tmp/site.json" ca); then
    fatal "read the test site's ready file"
fi
ok "test site ready in web at $web (http $http, https $https)"

sh "$lab" exec hub python3 "$probe" listen --bind "$hub" \
    --ready-file "$tmp/hub.json" >"$tmp/hub.log" 2>&1 &
children="$children $!"
s_wait_ready "$tmp/hub.json" "$!" ||
    fatal "listener ready in hub within $ready_deadline s ($(cat "$tmp/hub.log"))"
hub_port=$(s_json "$tmp/hub.json" port) || fatal "read the listener's ready file"
ok "listener ready in hub at $hub:$hub_port"

site="http://$web:$http/ok"

# ---------------------------------------------------------------------------
# Every pinger reaches both, by the same addresses; hub and web are apart.

for p in p1 p2 p3; do expect_status "$p" "$site" 200; done
expect_status p3 "https://$web:$https/ok" 200 --ca "$ca"
for p in p1 p2 p3; do expect_hub "$p"; done
s_get hub "$site"
case $answer in
    error:*) ok "hub gets no answer from web: they are not linked ($answer)" ;;
    *) fail "hub gets no answer from web: they are not linked (got: $answer)" ;;
esac

# ---------------------------------------------------------------------------
# Cut one pinger's web link: that pinger only loses the site.

lab_do cut p1 web
expect_no_answer p1 "$site"
expect_status p2 "$site" 200
expect_status p3 "$site" 200
expect_hub p1
if sh "$lab" status | grep -q "web link.*: cut (p1 end"; then ok "status shows p1's web link cut"
else fail "status shows p1's web link cut ($(sh "$lab" status | grep -A2 'p1 ('))"; fi
lab_do restore p1 web
expect_status p1 "$site" 200

# Cut one pinger's hub link: that pinger only loses the hub.

lab_do cut p1 hub
expect_no_hub p1
expect_hub p2
expect_status p1 "$site" 200
lab_do restore p1 hub
expect_hub p1

# Cut a region's web link: its pingers only lose the site.

lab_do cut us web
expect_no_answer p3 "$site"
expect_status p1 "$site" 200
lab_do restore us web
expect_status p3 "$site" 200

completed=yes
