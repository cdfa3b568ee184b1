#!/bin/sh
# Install the Debian packages UptimeSquirrel builds, runs and tests with.
# Idempotent: asks apt only for what dpkg says is missing, so a second
# `make test` on the same machine starts at once.  Needs root (or sudo).
set -eu

# clang and libclang-rt-dev are for the decoder fuzzer that `make test` runs:
# on Debian 12 libclang-rt-dev depends on libclang-rt-14-dev, the package
# that holds libFuzzer (libclang_rt.fuzzer-x86_64.a) and clang's ASan and
# UBSan runtimes.  Without them the fuzz_decode_smoke test fails and says so.
# python3-aiosmtpd is the SMTP server of tests/fixtures/smtp_server.py, and
# openssl makes its throwaway test CA (tests/support/smtp.c).
# libmicrohttpd-dev serves the HTTP API, metrics and status page;
# libsystemd-dev gives sd_notify for Type=notify units.  For tests only:
# prometheus brings promtool (`promtool check metrics`), chromium loads the
# status page headless, curl drives the API from shell tests, systemd gives
# systemd-analyze for the unit files.
packages="build-essential cmake pkg-config
libzmq3-dev libczmq-dev libcurl4-openssl-dev libmsgpack-dev libcmocka-dev
libsqlite3-dev libyaml-dev libjansson-dev libsodium-dev
libmicrohttpd-dev libsystemd-dev
clang libclang-rt-dev
python3 python3-aiosmtpd openssl nginx wrk time iproute2 ca-certificates
prometheus chromium curl systemd"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
