#!/usr/bin/env python3
"""UptimeSquirrel lab probe: the small network tools test_lab.sh runs inside
the lab's hosts (network namespaces, deploy/lab/netns.sh).

Usage:
    labprobe.py get URL [--timeout S] [--ca FILE]
        One GET, no proxy, no redirect followed. Prints the HTTP status and
        exits 0 on any HTTP answer; prints "error: WHY" and exits 1 on none.
    labprobe.py listen --bind ADDRESS --ready-file PATH [--parent-pid PID]
        A TCP listener on ADDRESS, kernel-chosen port, that writes BANNER to
        every connection and closes it. The ready file (written atomically)
        is {"port": P}. Exits on SIGTERM/SIGINT or when its parent dies, as
        the test fixtures do (tests/fixtures/fixturelib.py).
    labprobe.py connect ADDRESS PORT [--timeout S]
        Connects and reads one line: exits 0 if it is BANNER, else prints
        "error: WHY" and exits 1.

Python 3.11 standard library only.
"""

import argparse
import os
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "fixtures"))
import fixturelib                   # noqa: E402 (after the lines above)

BANNER = b"squirrel-lab-hub\n"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Answer a redirect as it is: the probe reports statuses, not pages."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def cmd_get(args):
    handlers = [urllib.request.ProxyHandler({}), NoRedirect()]
    if args.ca:
        handlers.append(urllib.request.HTTPSHandler(
            context=ssl.create_default_context(cafile=args.ca)))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(args.url, timeout=args.timeout) as reply:
            reply.read()
            print(reply.status)
    except urllib.error.HTTPError as exc:   # an answer all the same
        print(exc.code)
    except (OSError, ValueError) as exc:    # URLError, timeout, reset, ...
        print("error: %s" % getattr(exc, "reason", exc))
        return 1
    return 0


def cmd_listen(args):
    fixturelib.NAME = "labprobe"

    def start(tmpdir):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((args.bind, 0))
        sock.listen(fixturelib.BACKLOG)

        def loop():
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    time.sleep(0.01)
                    continue
                try:
                    conn.settimeout(5.0)
                    conn.sendall(BANNER)
                except OSError:
                    pass
                conn.close()
        threading.Thread(target=loop, daemon=True, name="listen").start()
        fixturelib.write_ready(args.ready_file,
                               {"port": sock.getsockname()[1]})

    fixturelib.run(args, "sq-labprobe-", start)     # never returns


def cmd_connect(args):
    try:
        with socket.create_connection((args.address, args.port),
                                      timeout=args.timeout) as sock:
            line = sock.makefile("rb").readline()
    except OSError as exc:
        print("error: %s" % ("timed out" if isinstance(exc, TimeoutError)
                             else exc.strerror or exc))
        return 1
    if line != BANNER:
        print("error: answer %r, not the banner" % line)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("get", help="GET a URL, print its status")
    get.add_argument("url")
    get.add_argument("--timeout", type=float, default=3.0)
    get.add_argument("--ca", help="CA file to trust for https")
    listen = sub.add_parser("listen", help="serve a banner on a TCP port")
    listen.add_argument("--bind", required=True)
    listen.add_argument("--ready-file", required=True)
    listen.add_argument("--parent-pid", type=int, default=0)
    connect = sub.add_parser("connect", help="expect the banner")
    connect.add_argument("address")
    connect.add_argument("port", type=int)
    connect.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    return {"get": cmd_get, "listen": cmd_listen,
            "connect": cmd_connect}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
