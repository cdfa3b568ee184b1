#!/bin/sh
# test_units.sh SQUIRREL: the systemd units in deploy/systemd/, and the
# binary's side of Type=notify, without systemd as PID 1.
#
# 1. `systemd-analyze verify` on copies of both units whose ExecStart names
#    SQUIRREL (verify wants the binary to exist): no output at all is a
#    pass, since an unknown or misspelt key is only a warning there.
# 2. squirrel.sysusers makes the user `squirrel` in a scratch root.
# 3. `systemd-analyze security`'s exposure score is printed (not asserted).
# 4. The notify protocol for real: `squirrel run` and `squirrel pinger`, each
#    started with NOTIFY_SOCKET on a datagram socket this test reads, under
#    what of their unit's sandbox a plain process can apply to itself
#    (NoNewPrivileges, RestrictAddressFamilies as a seccomp filter on
#    socket(2), MemoryDenyWriteExecute as the kernel's PR_SET_MDWE, UMask).
#    The hub (threads, then processes mode) must send READY=1; on SIGHUP
#    RELOADING=1 then READY=1 with the new site count, and the same with
#    "reload refused" for a broken config; on SIGTERM STOPPING=1, then exit
#    0.  The pinger node's command line is built from the unit's own
#    ExecStart, Environment= and an env file; it must send READY=1, join
#    the hub (the hub logs it), then STOPPING=1 and exit 0 on SIGTERM.
#
# Exit 0 pass, 1 fail.  A missing systemd-analyze is a failure.
set -u
squirrel=${1:?usage: test_units.sh SQUIRREL}
here=$(cd "$(dirname "$0")" && pwd)
units=$here/../../deploy/systemd

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "FAIL: systemd-analyze is missing: install systemd (apt-get install systemd)" >&2
    exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "FAIL: python3 is missing: install python3" >&2
    exit 1
fi
[ -x "$squirrel" ] || { echo "FAIL: $squirrel is not an executable" >&2; exit 1; }
squirrel=$(cd "$(dirname "$squirrel")" && pwd)/$(basename "$squirrel")

work=$(mktemp -d "${TMPDIR:-/tmp}/test_units.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failures=0
fail () { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# 1. verify: copies with the built binary in ExecStart.
mkdir "$work/units"
for unit in squirrel.service squirrel-pinger@.service; do
    [ -f "$units/$unit" ] || { fail "$units/$unit is missing"; continue; }
    sed "s#/usr/local/bin/squirrel#$squirrel#g" "$units/$unit" > "$work/units/$unit"
done
for unit in squirrel.service squirrel-pinger@eu.service; do
    if (cd "$work/units" && systemd-analyze verify --man=no "./$unit") > "$work/verify.txt" 2>&1 \
    && [ ! -s "$work/verify.txt" ]; then
        echo "ok: systemd-analyze verify $unit"
    else
        fail "systemd-analyze verify $unit:"
        cat "$work/verify.txt" >&2
    fi
done

# 2. sysusers, in a scratch root.
mkdir -p "$work/root/etc"
if systemd-sysusers --root="$work/root" "$units/squirrel.sysusers" > "$work/sysusers.txt" 2>&1 \
&& grep -q '^squirrel:x:[0-9]*:[0-9]*:[^:]*:/var/lib/squirrel:' "$work/root/etc/passwd"; then
    echo "ok: squirrel.sysusers makes the user squirrel, home /var/lib/squirrel"
else
    fail "systemd-sysusers $units/squirrel.sysusers:"
    cat "$work/sysusers.txt" >&2
fi

# 3. The exposure score, for the record.
for unit in squirrel.service squirrel-pinger@eu.service; do
    (cd "$work/units" && systemd-analyze security --offline=yes --no-pager "./$unit" 2>/dev/null) \
        | grep 'Overall exposure level' | sed 's/^/note: /'
done

# 4. Type=notify, for real.
python3 - "$squirrel" "$work" "$units" <<'EOF' || failures=$((failures + 1))
import atexit, ctypes, os, re, signal, socket, struct, subprocess, sys, time

squirrel, work, units = sys.argv [1:4]
DEADLINE = 40           # seconds for any one notice (ASan start-up included)

started = []            # every process this test started

@atexit.register
def kill_started ():
    """None outlives the test, whatever ended it."""
    for process in started:
        if process.poll () is None:
            process.kill ()
            process.wait ()

def die (text):
    print ("FAIL: " + text, file=sys.stderr)
    sys.exit (1)

def unit_service (path):
    """The [Service] section of a unit file: key -> list of values."""
    section, keys = None, {}
    for line in open (path):
        line = line.strip ()
        if not line or line [0] in "#;":
            continue
        if line.startswith ("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition ("=")
            keys.setdefault (key.strip (), []).append (value.strip ())
    return keys

# --- The sandbox a process can give itself ------------------------------
libc = ctypes.CDLL (None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
ARCHES = { "x86_64": (0xc000003e, 41), "aarch64": (0xc00000b7, 198) }   # audit arch, socket nr

def families_filter (names):
    """Classic BPF: socket(2) with a family not in names fails EAFNOSUPPORT,
    as RestrictAddressFamilies does it."""
    arch, number = ARCHES [os.uname ().machine]
    families = [getattr (socket, name) for name in names]
    count = len (families)
    allow = 6 + count
    program = [
        (0x20, 0, 0, 4),                        # A = arch
        (0x15, 0, allow - 2, arch),             # other arch: allow
        (0x20, 0, 0, 0),                        # A = syscall number
        (0x15, 0, allow - 4, number),           # not socket(2): allow
        (0x20, 0, 0, 16),                       # A = low half of the family
    ]
    for index, family in enumerate (families):
        program.append ((0x15, count - index, 0, family))
    program.append ((0x06, 0, 0, 0x00050000 | 97))     # ERRNO (EAFNOSUPPORT)
    program.append ((0x06, 0, 0, 0x7fff0000))           # ALLOW
    return b"".join (struct.pack ("HBBI", *entry) for entry in program), len (program)

def sandbox (unit_path):
    keys = unit_service (unit_path)
    families = " ".join (keys.get ("RestrictAddressFamilies", [])).split ()
    mdwe = keys.get ("MemoryDenyWriteExecute", ["no"]) [-1] == "yes"
    umask = int (keys.get ("UMask", ["0022"]) [-1], 8)
    notes = ["NoNewPrivileges", "UMask=%04o" % umask]
    if families and os.uname ().machine in ARCHES:
        program, length = families_filter (families)
        notes.append ("RestrictAddressFamilies=" + " ".join (families))
    else:
        program = None
        print ("note: RestrictAddressFamilies not applied (none, or no filter for %s)"
               % os.uname ().machine)
    if mdwe:
        if libc.prctl (66, 0, 0, 0, 0) < 0:         # PR_GET_MDWE: this kernel has it?
            print ("note: MemoryDenyWriteExecute not applied: the kernel has no PR_SET_MDWE")
            mdwe = False
        else:
            notes.append ("MemoryDenyWriteExecute")
    print ("note: %s runs with %s" % (os.path.basename (unit_path), ", ".join (notes)))
    buffer = ctypes.create_string_buffer (program) if program else None

    def apply ():
        os.umask (umask)
        if libc.prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            os._exit (120)
        if mdwe and libc.prctl (PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0):
            os._exit (121)
        if buffer is not None:
            fprog = struct.pack ("HxxxxxxQ", length, ctypes.addressof (buffer))
            if libc.prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.c_char_p (fprog), 0, 0):
                os._exit (122)
    return apply

# The imitation itself must bite, or the runs below prove nothing: under the
# node's sandbox a netlink socket is refused and an inet one is not, and a
# writable executable mapping is refused.
probe = subprocess.run ([sys.executable, "-c", """if True:
    import errno, mmap, socket
    def attempt (make):
        try:
            make ()
            return "made"
        except OSError as error:
            return errno.errorcode.get (error.errno, str (error.errno))
    print (attempt (lambda: socket.socket (socket.AF_NETLINK, socket.SOCK_RAW, 0)),
           attempt (lambda: socket.socket (socket.AF_INET, socket.SOCK_DGRAM)),
           attempt (lambda: mmap.mmap (-1, 4096, prot=7)))
    """], capture_output=True, text=True,
    preexec_fn=sandbox (os.path.join (work, "units", "squirrel-pinger@.service")))
wanted = ("EAFNOSUPPORT" if os.uname ().machine in ARCHES else "made") + " made " \
       + ("EACCES" if libc.prctl (66, 0, 0, 0, 0) >= 0 else "made")
if probe.stdout.strip () != wanted:
    die ("the sandbox imitation gives %r (%s), not %r" % (probe.stdout.strip (),
         probe.stderr.strip (), wanted))
print ("ok: under the imitation, netlink, inet and W+X memory give: " + wanted)

# --- Notices --------------------------------------------------------------
class Listener:
    """A datagram socket in the role of the service manager."""
    def __init__ (self, name):
        self.path = os.path.join (work, name)
        self.socket = socket.socket (socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind (self.path)

    def next (self, process, log):
        """The next notice as a dict; fails past the deadline or if process ends."""
        end = time.monotonic () + DEADLINE
        while time.monotonic () < end:
            self.socket.settimeout (0.2)
            try:
                data = self.socket.recv (4096).decode ()
            except socket.timeout:
                if process.poll () is not None:
                    die ("the process ended (status %s) while a notice was awaited:\n%s"
                         % (process.returncode, tail (log)))
                continue
            return dict (line.split ("=", 1) for line in data.split ("\n") if "=" in line)
        die ("no notice within %d s:\n%s" % (DEADLINE, tail (log)))

    def expect (self, process, log, key, status=None):
        notice = self.next (process, log)
        if notice.get (key) != "1":
            die ("expected %s=1, got %r" % (key, notice))
        if status is not None and not re.search (status, notice.get ("STATUS", "")):
            die ("%s=1 came with STATUS=%r, not matching %r" % (key, notice.get ("STATUS"), status))
        print ("ok: %s=1%s" % (key, " (STATUS=%s)" % notice ["STATUS"] if "STATUS" in notice else ""))
        return notice

    def quiet (self, seconds):
        """No notice in the next seconds."""
        self.socket.settimeout (seconds)
        try:
            data = self.socket.recv (4096)
        except socket.timeout:
            return
        die ("unexpected notice: %r" % data)

def tail (path):
    try:
        return "".join (open (path, errors="replace").readlines () [-30:])
    except OSError:
        return "(no log)"

def start (argv, listener, log, unit):
    environment = dict (os.environ, NOTIFY_SOCKET=listener.path)
    process = subprocess.Popen (argv, env=environment, stdin=subprocess.DEVNULL,
                                stdout=open (log, "ab"), stderr=subprocess.STDOUT,
                                preexec_fn=sandbox (os.path.join (work, "units", unit)))
    started.append (process)
    return process

def stop (process, listener, log, what):
    process.send_signal (signal.SIGTERM)
    listener.expect (process, log, "STOPPING")
    try:
        status = process.wait (DEADLINE)
    except subprocess.TimeoutExpired:
        process.kill ()
        die ("%s did not exit within %d s of SIGTERM" % (what, DEADLINE))
    if status != 0:
        die ("%s exited with status %d after SIGTERM:\n%s" % (what, status, tail (log)))
    print ("ok: %s exited 0" % what)

def wait_log (path, pattern, process):
    end = time.monotonic () + DEADLINE
    while time.monotonic () < end:
        if re.search (pattern, open (path, errors="replace").read ()):
            return
        if process.poll () is not None:
            break
        time.sleep (0.1)
    die ("no line matching %r in %s:\n%s" % (pattern, path, tail (path)))

# --- Ports ----------------------------------------------------------------
def free_port ():
    probe = socket.socket ()
    probe.bind (("127.0.0.1", 0))
    port = probe.getsockname () [1]
    probe.close ()
    return port

def free_ports (count):
    """count consecutive free ports (listen: uses PORT to PORT + 3)."""
    for attempt in range (200):
        base = free_port ()
        if base + count > 65535:
            continue
        probes = []
        try:
            for port in range (base, base + count):
                probe = socket.socket ()
                probes.append (probe)
                probe.bind (("127.0.0.1", port))
            return base
        except OSError:
            pass
        finally:
            for probe in probes:
                probe.close ()
    die ("no %d consecutive free ports" % count)

# --- The hub --------------------------------------------------------------
node_key = os.path.join (work, "node.key")
if subprocess.run ([squirrel, "keygen", node_key], stdout=subprocess.DEVNULL).returncode:
    die ("squirrel keygen failed")
data = os.path.join (work, "data")
allowed = os.path.join (data, "keys", "allowed")
os.makedirs (allowed, mode=0o700)
os.chmod (data, 0o700)
os.chmod (os.path.dirname (allowed), 0o700)
with open (node_key) as source, open (os.path.join (allowed, "node.key"), "w") as copy:
    copy.write (source.read ())

port = free_ports (4)
nowhere = "http://127.0.0.1:%d/" % free_port ()      # nothing listens there
config = os.path.join (work, "squirrel.yaml")

def write_config (sites, mode="threads", broken=False):
    with open (config, "w") as out:
        out.write ("data_dir: %s\nlisten: tcp://127.0.0.1:%d\nkeys: %s/keys\n"
                   "workers:\n  mode: %s\n  pingers: 0\nsites:\n" % (data, port, data, mode))
        for index in range (sites):
            out.write ("  - url: %s%d\n" % (nowhere, index))
        if broken:
            out.write ("  - url: [this is not a url\n")

def hub (mode):
    print ("-- squirrel run, workers: %s" % mode)
    write_config (1, mode)
    listener = Listener ("notify-%s.sock" % mode)
    log = os.path.join (work, "hub-%s.log" % mode)
    process = start ([squirrel, "run", config], listener, log, "squirrel.service")
    listener.expect (process, log, "READY", r"^monitoring 1 sites")
    listener.quiet (0.5)
    write_config (2, mode)
    process.send_signal (signal.SIGHUP)
    notice = listener.expect (process, log, "RELOADING")
    if not re.fullmatch (r"[0-9]+", notice.get ("MONOTONIC_USEC", "")):
        die ("RELOADING=1 without MONOTONIC_USEC: %r" % notice)
    listener.expect (process, log, "READY", r"^monitoring 2 sites")
    write_config (2, mode, broken=True)
    process.send_signal (signal.SIGHUP)
    listener.expect (process, log, "RELOADING")
    listener.expect (process, log, "READY", r"reload refused")
    write_config (2, mode)
    return process, listener, log

process, listener, log = hub ("threads")

# --- A pinger node, from the unit's own command line ----------------------
print ("-- squirrel pinger, from squirrel-pinger@eu.service")
region = "eu"
with open (os.path.join (work, "pinger-eu.env"), "w") as out:
    out.write ("# as /etc/squirrel/pinger-eu.env\nSQUIRREL_HUB=tcp://127.0.0.1:%d\n"
               "SQUIRREL_KEY=%s\nSQUIRREL_SERVER_KEY=%s/keys/hub\n" % (port, node_key, data))
keys = unit_service (os.path.join (work, "units", "squirrel-pinger@.service"))
short_host = socket.gethostname ().split (".") [0]

def specifiers (text):
    return text.replace ("%i", region).replace ("%l", short_host).replace ("%%", "%")

environment = {}
for line in keys.get ("Environment", []):
    for assignment in line.split ():
        name, _, value = assignment.partition ("=")
        environment [name] = specifiers (value)
for path in keys.get ("EnvironmentFile", []):
    wanted = specifiers (path.lstrip ("-"))
    if wanted != "/etc/squirrel/pinger-%s.env" % region:
        die ("EnvironmentFile=%s, not /etc/squirrel/pinger-REGION.env" % path)
    for line in open (os.path.join (work, "pinger-eu.env")):
        if line.strip () and not line.startswith ("#"):
            name, _, value = line.strip ().partition ("=")
            environment [name] = value
argv = []
for word in specifiers (keys ["ExecStart"] [-1]).split ():
    braced = re.fullmatch (r"\$\{(\w+)\}", word)
    bare = re.fullmatch (r"\$(\w+)", word)
    if braced:
        argv.append (environment.get (braced.group (1), ""))
    elif bare:
        argv.extend (environment.get (bare.group (1), "").split ())
    else:
        argv.append (word)
if argv [0] != squirrel:
    die ("ExecStart runs %s, not %s" % (argv [0], squirrel))
print ("note: " + " ".join (argv))
node_listener = Listener ("notify-node.sock")
node_log = os.path.join (work, "node.log")
node = start (argv, node_listener, node_log, "squirrel-pinger@.service")
node_listener.expect (node, node_log, "READY", r"region 'eu'")
wait_log (log, r"pinger %s joined \(region 'eu'\)" % re.escape ("%s-%s" % (short_host, region)),
          process)
print ("ok: the hub logs pinger %s-%s joined (region 'eu')" % (short_host, region))
stop (node, node_listener, node_log, "squirrel pinger")

stop (process, listener, log, "squirrel run (threads)")
process, listener, log = hub ("processes")
stop (process, listener, log, "squirrel run (processes)")
EOF

if [ "$failures" -ne 0 ]; then
    echo "test_units: $failures failure(s)" >&2
    exit 1
fi
echo "test_units: passed"
