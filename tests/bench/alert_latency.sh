#!/bin/sh
# Alert latency (issue 10): from the moment a site starts answering 503 to
# its owner's webhook receiving the DOWN, and to the DOWN mail arriving,
# with the default thresholds (failure_threshold 2, success_threshold 2,
# timeout 20s) and every other default but the interval: 10s, the
# loader's minimum (the default 5m would make each outage wait minutes).
#
# `squirrel run` monitors OUTAGES sites on the test site's switches, each
# with an owner of its own (webhook and email), so that no digest and no
# flap detection mixes outages; one outage per site, each at a random
# moment within SPAN seconds, so that they fall at random points of the
# check interval. Mail goes through tests/fixtures/smtp_server.py with
# STARTTLS required, under a throwaway CA made here. alert_latency.py flips
# the switches and prints the figures.
#
#   tests/bench/alert_latency.sh [OUTAGES] [SPAN_S]     (defaults 120 540)
#   INTERVAL=10 SEED=N VERBOSE=1 BUILD=build in the environment
set -eu
outages=${1:-120}
span=${2:-540}
interval=${INTERVAL:-10}
build=${BUILD:-build}
here=$(dirname "$0")
. "$here/lib.sh"
[ -x "$build/squirrel" ] || { echo "alert_latency.sh: $build/squirrel missing: run 'make'" >&2; exit 2; }
command -v openssl >/dev/null || { echo "alert_latency.sh: needs openssl" >&2; exit 2; }
bench_tmp
# squirrel is stopped here, not by bench_cleanup: under set -e its kill of a
# child already gone ends the clean-up before the folder is removed.
squirrel_pid=""
trap '[ -z "$squirrel_pid" ] || kill "$squirrel_pid" 2>/dev/null || true; bench_cleanup' EXIT INT TERM

# The mail server's CA and certificate (as tests/support/smtp.c makes them).
cat > "$dir/ca.cnf" <<'EOF'
[req]
distinguished_name = subject
x509_extensions = ca
prompt = no
[subject]
CN = UptimeSquirrel bench CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
cat > "$dir/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
{
    openssl req -x509 -new -config "$dir/ca.cnf" $ec -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2
    openssl req -new -config "$dir/ca.cnf" -subj /CN=localhost $ec -keyout "$dir/server.key" -out "$dir/server.csr"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial 2 \
        -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem"
} > "$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; exit 1; }

python3 "$here/../fixtures/testsite.py" --ready-file "$dir/site.json" --parent-pid $$ &
bench_children="$!"
python3 "$here/../fixtures/webhook.py" --ready-file "$dir/hook.json" --parent-pid $$ &
bench_children="$bench_children $!"
python3 "$here/../fixtures/smtp_server.py" --ready-file "$dir/smtp.json" --maildir "$dir/maildir" \
    --tls-cert "$dir/server.pem" --tls-key "$dir/server.key" --require-tls --parent-pid $$ &
bench_children="$bench_children $!"
deadline=$(( $(date +%s) + 20 ))
until [ -s "$dir/site.json" ] && [ -s "$dir/hook.json" ] && [ -s "$dir/smtp.json" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "alert_latency.sh: fixtures did not start" >&2; exit 1; }
    sleep 0.05
done
json() { python3 -c "import json; print(json.load(open('$1'))['$2'])"; }
site=$(json "$dir/site.json" http)
hook=$(json "$dir/hook.json" port)
hook_log=$(json "$dir/hook.json" log)
smtp=$(json "$dir/smtp.json" port)

{
    echo "data_dir: $dir/data"
    echo "feed: ipc://$dir/feed"
    echo "smtp: { url: \"smtp://127.0.0.1:$smtp\", from: squirrel@example.com, ca_file: \"$dir/ca.pem\" }"
    echo "defaults: { interval: ${interval}s }"
    echo "owners:"
    for i in $(seq 0 $(( outages - 1 ))); do
        echo "  s$i: { webhook: \"http://127.0.0.1:$hook/s$i\", email: s$i@example.com }"
    done
    echo "sites:"
    for i in $(seq 0 $(( outages - 1 ))); do
        echo "  - { url: \"http://127.0.0.1:$site/switch/s$i\", owner: s$i }"
    done
} > "$dir/squirrel.yaml"

"$build/squirrel" run "$dir/squirrel.yaml" > "$dir/run.log" 2>&1 &
squirrel_pid=$!
deadline=$(( $(date +%s) + 10 ))
until [ -S "$dir/feed" ]; do
    kill -0 "$squirrel_pid" 2>/dev/null || { cat "$dir/run.log" >&2; exit 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "alert_latency.sh: no feed" >&2; exit 1; }
    sleep 0.05
done

echo "== $outages sites, one outage each at a random moment within ${span} s; interval ${interval}s,"
echo "== failure_threshold 2, success_threshold 2 (the defaults); webhook answers at once; mail by STARTTLS"
echo "== $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), $build/squirrel run"
set +e
python3 "$here/alert_latency.py" --squirrel "$build/squirrel" --feed "ipc://$dir/feed" \
    --site-port "$site" --hook-log "$hook_log" --maildir "$dir/maildir" --db "$dir/data/squirrel.db" \
    --outages "$outages" --span "$span" --warmup $(( interval + 3 )) --interval "$interval" \
    ${SEED:+--seed "$SEED"} ${VERBOSE:+--verbose}
rc=$?
set -e
kill "$squirrel_pid"
wait "$squirrel_pid" 2>/dev/null || true
squirrel_pid=""
echo "run log: $(grep -c '^E: ' "$dir/run.log" || true) error lines, $(grep -c '^W: ' "$dir/run.log" || true) warnings"
grep -E '^(E|W): ' "$dir/run.log" | head -5
exit $rc
