#!/bin/sh
# A lab of hosts on one machine: Linux network namespaces joined by veth
# pairs (iproute2, as root).  POSIX sh.
#
#   netns.sh up | down | status | env
#   netns.sh exec HOST CMD [ARG...]      HOST: hub p1 p2 p3 web
#   netns.sh cut HOST hub|web            HOST: p1 p2 p3, or a region: eu us
#   netns.sh restore HOST hub|web
#
# Hosts are namespaces named PREFIX-HOST (SQ_LAB_PREFIX, default "sq"):
# the hub, three pingers (p1 and p2 in region eu, p3 in us) and a web host.
# Each pinger has its own veth link to the hub (its "hub link") and its own
# to the web host (its "web link"); hub and web are not linked.  The hub has
# one stable address on its loopback, A.B.0.1, and the web host A.B.0.2
# (SQ_LAB_NET="A.B", default 10.200): every pinger routes to each through
# its own link, so the hub endpoint and a site's URL are the same on every
# pinger.  Link N of pinger pN uses A.B.1N.0/30 (hub link) and A.B.2N.0/30
# (web link), the far end .1 and the pinger .2.  In each namespace the link
# is named after the host at its other end: to-hub, to-web, to-p1, ...
#
# Nothing is created in the host's own namespace: both ends of every veth
# are made directly inside the lab's namespaces, so these addresses are
# never routed to a real network, and two labs with other prefixes (even
# with the same addresses) coexist.
#
# `cut` sets the far end of a link (the hub's or web host's) down: the
# pinger keeps its address and route, and its packets vanish, as in a
# partition (connections time out, nothing is refused).  `restore` brings
# both ends up and puts the addresses and route back.  `up` twice is fine
# (it also restores every cut); `down` ends every process left in the
# lab's namespaces and removes them, whatever state `up` left them in.
set -eu

me="netns.sh"
prefix=${SQ_LAB_PREFIX:-sq}
net=${SQ_LAB_NET:-10.200}

hosts="hub p1 p2 p3 web"
pingers="p1 p2 p3"
kill_deadline=5             # seconds a process in the lab gets after SIGTERM

die() {
    echo "$me: $*" >&2
    exit 1
}

# The usage on stderr, exit 2; with "help": on stdout, exit 0.
usage() {
    if [ "${1:-}" = help ]; then s_usage_text; exit 0; fi
    s_usage_text >&2
    exit 2
}

s_usage_text() {
    cat <<EOF
usage: $me up | down | status | env
       $me exec HOST CMD [ARG...]     HOST: $hosts
       $me cut HOST hub|web           HOST: $pingers, or a region: eu us
       $me restore HOST hub|web
environment: SQ_LAB_PREFIX (namespace prefix, now "$prefix"),
             SQ_LAB_NET (first two octets of the lab's /16, now "$net")
EOF
}

# Check the settings once, before any of them reaches a command line.
case $prefix in
    '' | *[!A-Za-z0-9]*) die "SQ_LAB_PREFIX must be letters and digits, not '$prefix'" ;;
esac
[ ${#prefix} -le 16 ] || die "SQ_LAB_PREFIX is longer than 16 characters: '$prefix'"
s_octet_ok() {
    case $1 in '' | *[!0-9]*) return 1 ;; esac
    [ ${#1} -le 3 ] && [ "$1" -le 255 ]
}
case $net in
    *.*.*) die "SQ_LAB_NET is two octets (A.B, the lab's A.B.0.0/16), not '$net'" ;;
    *.*) if ! s_octet_ok "${net%.*}" || ! s_octet_ok "${net#*.}"; then
             die "SQ_LAB_NET is two octets (A.B), not '$net'"
         fi ;;
    *) die "SQ_LAB_NET is two octets (A.B, the lab's A.B.0.0/16), not '$net'" ;;
esac

hub_addr="$net.0.1"
web_addr="$net.0.2"

# ---------------------------------------------------------------------------
# Names and addresses

ns() { echo "$prefix-$1"; }                 # the namespace of host $1

region() {                                  # the region of pinger $1
    case $1 in p1 | p2) echo eu ;; p3) echo us ;; esac
}

# The stable address behind far end $1 (hub or web).
far_addr() { if [ "$1" = hub ]; then echo "$hub_addr"; else echo "$web_addr"; fi; }

# The /30 of pinger $1's link to $2: A.B.1N or A.B.2N.
link_net() {
    n=${1#p}
    if [ "$2" = hub ]; then echo "$net.1$n"; else echo "$net.2$n"; fi
}

is_host() { case " $hosts " in *" $1 "*) return 0 ;; esac; return 1; }

# The pingers that HOST names: one pinger, or every pinger of a region.
pingers_of() {
    case $1 in
        p1 | p2 | p3) echo "$1" ;;
        eu) echo "p1 p2" ;;
        us) echo "p3" ;;
        *) die "no pinger or region '$1' (pingers: $pingers; regions: eu us)" ;;
    esac
}

ns_exists() { ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qxF "$1"; }

# Run a command; on failure say which one and stop.
run() { "$@" || die "failed: $*"; }

need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root (network namespaces)"; }

# ---------------------------------------------------------------------------
# up

# Make (if missing) and configure pinger $1's link to $2 (hub or web).
s_link_up() {
    p=$1 far=$2
    pns=$(ns "$p") fns=$(ns "$far")
    pdev="to-$far" fdev="to-$p"
    lnet=$(link_net "$p" "$far")
    if ! ip -n "$pns" link show dev "$pdev" >/dev/null 2>&1 ||
       ! ip -n "$fns" link show dev "$fdev" >/dev/null 2>&1; then
        # One end without the other can only be a leftover: start afresh.
        ip -n "$pns" link del dev "$pdev" >/dev/null 2>&1 || true
        ip -n "$fns" link del dev "$fdev" >/dev/null 2>&1 || true
        run ip -n "$pns" link add "$pdev" type veth peer name "$fdev" netns "$fns"
    fi
    run ip -n "$fns" addr replace "$lnet.1/30" dev "$fdev"
    run ip -n "$pns" addr replace "$lnet.2/30" dev "$pdev"
    run ip -n "$fns" link set dev "$fdev" up
    run ip -n "$pns" link set dev "$pdev" up
    # Forget what ARP learnt (or failed to learn) while the link was cut: a
    # neighbour entry still probing from then fails the first packets after
    # a restore with "no route to host".
    run ip -n "$fns" neigh flush dev "$fdev"
    run ip -n "$pns" neigh flush dev "$pdev"
    run ip -n "$pns" route replace "$(far_addr "$far")/32" via "$lnet.1" dev "$pdev"
}

cmd_up() {
    need_root up
    for h in $hosts; do
        n=$(ns "$h")
        # A name left without its namespace (an `ip netns add` cut short)
        # is removed and made again.
        if ns_exists "$n" && ! ip -n "$n" link show dev lo >/dev/null 2>&1; then
            run ip netns del "$n"
        fi
        ns_exists "$n" || run ip netns add "$n"
        run ip -n "$n" link set dev lo up
    done
    run ip -n "$(ns hub)" addr replace "$hub_addr/32" dev lo
    run ip -n "$(ns web)" addr replace "$web_addr/32" dev lo
    for p in $pingers; do
        s_link_up "$p" hub
        s_link_up "$p" web
    done
    echo "$me: lab '$prefix' up: hub $hub_addr, web $web_addr," \
         "namespaces $(for h in $hosts; do printf '%s ' "$(ns "$h")"; done)"
}

# ---------------------------------------------------------------------------
# down

# The pids of the processes in namespace $1 (none if it is gone).
s_pids() { ip netns pids "$1" 2>/dev/null || true; }

# End every process in namespace $1: SIGTERM, then SIGKILL after the
# deadline.  A process left in a namespace would keep it (and its links)
# alive after `ip netns del`.
s_end_processes() {
    pids=$(s_pids "$1")
    [ -n "$pids" ] || return 0
    echo "$me: ending processes in $1: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086  # one pid a word
    kill -TERM $pids 2>/dev/null || true
    end=$(($(date +%s) + kill_deadline))
    while [ -n "$(s_pids "$1")" ] && [ "$(date +%s)" -lt "$end" ]; do
        sleep 0.1
    done
    pids=$(s_pids "$1")
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    end=$(($(date +%s) + kill_deadline))
    while [ -n "$(s_pids "$1")" ] && [ "$(date +%s)" -lt "$end" ]; do
        sleep 0.1
    done
}

cmd_down() {
    need_root down
    failed=""
    for h in $hosts; do
        n=$(ns "$h")
        ns_exists "$n" || continue
        s_end_processes "$n"
        [ -z "$(s_pids "$n")" ] || echo "$me: processes still in $n: $(s_pids "$n" | tr '\n' ' ')" >&2
        # Deleting a namespace deletes its veth ends, and so their peers.
        ip netns del "$n" || failed="$failed $n"
    done
    [ -z "$failed" ] || die "could not remove:$failed"
    echo "$me: lab '$prefix' down"
}

# ---------------------------------------------------------------------------
# status, env

# The operational state of $2 in namespace $1 (UP, DOWN, ...), or "absent".
s_state() {
    ip -n "$1" -br link show dev "$2" 2>/dev/null | awk '{ print $2 }' | grep . ||
        echo absent
}

cmd_status() {
    need_root status
    echo "lab '$prefix': hub $hub_addr (tcp://$hub_addr:PORT), web $web_addr (http://$web_addr:PORT/)"
    missing=0
    for h in $hosts; do
        if ns_exists "$(ns "$h")"; then state=present; else state=absent; missing=1; fi
        case $h in
            p*) echo "  $h ($(region "$h")) namespace $(ns "$h"): $state" ;;
            *) echo "  $h namespace $(ns "$h"): $state" ;;
        esac
        case $h in p*) ;; *) continue ;; esac
        [ "$state" = present ] || continue
        for far in hub web; do
            fstate=$(s_state "$(ns "$far")" "to-$h")
            pstate=$(s_state "$(ns "$h")" "to-$far")
            if [ "$fstate" = UP ] && [ "$pstate" = UP ]; then verdict="up"; else verdict="cut"; fi
            lnet=$(link_net "$h" "$far")
            echo "    $far link ($h to-$far $lnet.2, $far to-$h $lnet.1): $verdict" \
                 "($h end $pstate, $far end $fstate)"
        done
    done
    return $missing
}

cmd_env() {
    echo "export SQ_LAB_PREFIX=$prefix"
    echo "export SQ_LAB_NET=$net"
    echo "export SQ_LAB_HUB=$hub_addr"
    echo "export SQ_LAB_WEB=$web_addr"
    echo "export SQ_LAB_PINGERS='$pingers'"
}

# ---------------------------------------------------------------------------
# exec, cut, restore

cmd_exec() {
    [ $# -ge 2 ] || usage
    is_host "$1" || die "no host '$1' (hosts: $hosts)"
    n=$(ns "$1")
    shift
    ns_exists "$n" || die "no namespace $n: run '$me up' first"
    exec ip netns exec "$n" "$@"
}

s_check_link_args() {
    [ $# -eq 2 ] || usage
    case $2 in hub | web) ;; *) die "a link is hub or web, not '$2'" ;; esac
}

cmd_cut() {
    s_check_link_args "$@"
    need_root cut
    for p in $(pingers_of "$1"); do
        fns=$(ns "$2")
        ip -n "$fns" link show dev "to-$p" >/dev/null 2>&1 ||
            die "no link from $p to $2 in lab '$prefix': run '$me up' first"
        run ip -n "$fns" link set dev "to-$p" down
        echo "$me: cut $p's $2 link"
    done
}

cmd_restore() {
    s_check_link_args "$@"
    need_root restore
    for p in $(pingers_of "$1"); do
        if ! ns_exists "$(ns "$p")" || ! ns_exists "$(ns "$2")"; then
            die "lab '$prefix' is not up: run '$me up' first"
        fi
        s_link_up "$p" "$2"
        echo "$me: restored $p's $2 link"
    done
}

# ---------------------------------------------------------------------------

[ $# -ge 1 ] || usage
command -v ip >/dev/null 2>&1 || die "ip (iproute2) not found: deploy/install-deps.sh installs it"
cmd=$1
shift
case $cmd in
    up) [ $# -eq 0 ] || usage; cmd_up ;;
    down) [ $# -eq 0 ] || usage; cmd_down ;;
    status) [ $# -eq 0 ] || usage; cmd_status ;;
    env) [ $# -eq 0 ] || usage; cmd_env ;;
    exec) cmd_exec "$@" ;;
    cut) cmd_cut "$@" ;;
    restore) cmd_restore "$@" ;;
    -h | --help | help) usage help ;;
    *) echo "$me: no subcommand '$cmd'" >&2; usage ;;
esac
