# Shared by the benchmark scripts (sourced, POSIX sh).
# Sets $dir (a temporary folder, removed at exit), $ports and $urls.

[ -n "${build:-}" ] || build=${BUILD:-build}

bench_tmp() {
    dir=$(mktemp -d /tmp/sq-bench.XXXXXX)
    trap 'bench_cleanup' EXIT INT TERM
}

bench_cleanup() {
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
    for pid in ${bench_children:-}; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$dir"
}

# Free loopback ports, chosen by the kernel now, never fixed.
bench_ports() {
    python3 -c "
import socket
socks = [socket.socket() for _ in range($1)]
for s in socks: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in socks))"
}

# Wait until 127.0.0.1:$1 accepts connections (deadline 10 s).
bench_wait_port() {
    deadline=$(( $(date +%s) + 10 ))
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "bench: nothing listens on port $1" >&2; return 1; }
        sleep 0.05
    done
}

# nginx (Debian's) answering 200 on N loopback ports: bench_nginx N WORKERS
bench_nginx() {
    command -v nginx >/dev/null || { echo "bench: needs nginx (sh deploy/install-deps.sh)" >&2; exit 2; }
    ports=$(bench_ports "$1")
    listen=""
    urls=""
    for port in $ports; do
        listen="$listen        listen 127.0.0.1:$port backlog=4096 reuseport;
"
        urls="$urls http://127.0.0.1:$port/"
    done
    cat > "$dir/nginx.conf" <<CONF
worker_processes $2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_timeout 0;
    server {
$listen        location / { return 200 "ok\n"; }
    }
}
CONF
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    bench_wait_port "$(echo $ports | cut -d' ' -f1)"
}

# Milliseconds since the epoch.
bench_now_ms() {
    date +%s%3N
}
