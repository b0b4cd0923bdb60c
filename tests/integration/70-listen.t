#!/usr/bin/env python3
"""tern-listen: the UCSPI environment on IPv4 and IPv6, fds and signals of
the child, global and per-address limits with and without -x, reaping,
SIGTERM/SIGINT, refusal of bad arguments, running out of fds, -R, and (as
root) the drop to -U's user.
"""
import os
import pwd
import re
import resource
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, ok, is_, diag, done, wait_for  # noqa

ROOT = os.geteuid() == 0

ENV_SH = r"""#!/bin/sh
for v in PROTO TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT; do
	eval "printf '%s=%s\n' $v \"\$$v\""
done
printf 'TCPREMOTEHOST=%s\n' "${TCPREMOTEHOST-unset}"
printf 'UID=%s\n' "$(id -u)"
grep -E '^Sig(Blk|Ign):' /proc/$$/status
for f in /proc/$$/fd/*; do
	l=$(readlink "$f")
	case "$l" in *env.sh) ;; *) printf 'FD %s %s\n' "${f##*/}" "$l" ;; esac
done
echo child-stderr-marker >&2
"""
HOLD_SH = "#!/bin/sh\necho ready\nexec cat\n"
OVER_SH = "#!/bin/sh\nprintf '421 %s too many\\r\\n' \"$TCPREMOTEIP\"\n"


def script(t, name, text):
    path = os.path.join(t.dir, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


def user_args():
    return ["-U", "nobody"] if ROOT else []


class Listener:
    n = 0

    def __init__(self, t, host, args, prog, env=None, preexec=None):
        Listener.n += 1
        self.host = host
        self.portfile = os.path.join(t.dir, "port.%d" % Listener.n)
        self.logpath = os.path.join(t.dir, "listen.%d.log" % Listener.n)
        argv = [t.bin("tern-listen"), "-P", self.portfile] + args + \
            [host, "0"] + prog
        with open(self.logpath, "wb") as logf:
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=logf,
                                      env=env or t.env(),
                                      preexec_fn=preexec,
                                      start_new_session=True)
        t.procs.append(self.p)
        self.port = None
        if wait_for(lambda: os.path.exists(self.portfile) or
                    self.p.poll() is not None, timeout=10):
            if os.path.exists(self.portfile):
                with open(self.portfile) as f:
                    self.port = int(f.read())

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def connect(self, src=None):
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        if src:
            s.bind((src, 0))
        s.connect((self.host, self.port))
        return s

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()


def read_all(s):
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except socket.timeout:
        data += b"<timeout>"
    except ConnectionResetError:
        data += b"<reset>"
    return data


def read_line(s):
    data = b""
    try:
        while not data.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def children(pid):
    """(pid, state) of every process whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(d), fields[0]))
    return out


def listener_fds(pid):
    """What the listener's fds above 2 point to (socket:[n], pipe:[n])."""
    out = []
    d = "/proc/%d/fd" % pid
    for n in os.listdir(d):
        if int(n) > 2:
            try:
                out.append(os.readlink(os.path.join(d, n)))
            except OSError:
                pass
    return out


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def check_env(t, host, want_uid):
    env_sh = script(t, "env.sh", ENV_SH)
    lst = Listener(t, host, user_args(), [env_sh],
                   env=t.env(TCPREMOTEHOST="stale.example"))
    if not ok(lst.port is not None and lst.port > 0,
              "%s: listener bound a port and wrote it to -P" % host):
        diag(lst.log())
        return
    s = lst.connect()
    cport = s.getsockname()[1]
    out = read_all(s).decode()
    s.close()
    vals = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    is_(vals.get("PROTO"), "TCP", "%s: PROTO=TCP" % host)
    is_(vals.get("TCPREMOTEIP"), host, "%s: TCPREMOTEIP" % host)
    is_(vals.get("TCPREMOTEPORT"), str(cport),
        "%s: TCPREMOTEPORT is the client's port" % host)
    is_(vals.get("TCPLOCALIP"), host, "%s: TCPLOCALIP" % host)
    is_(vals.get("TCPLOCALPORT"), str(lst.port),
        "%s: TCPLOCALPORT is the listening port" % host)
    is_(vals.get("TCPREMOTEHOST"), "unset",
        "%s: a stale TCPREMOTEHOST is removed" % host)
    is_(vals.get("UID"), str(want_uid), "%s: child runs as uid %d" %
        (host, want_uid))
    sig = dict(re.findall(r"^(Sig\w+):\s+(\w+)$", out, re.M))
    is_(int(sig.get("SigBlk", "1"), 16), 0,
        "%s: child's signal mask is empty" % host)
    is_(int(sig.get("SigIgn", "1"), 16) & (1 << (signal.SIGPIPE - 1)), 0,
        "%s: child's SIGPIPE is back to default" % host)
    fdmap = dict(re.findall(r"^FD (\d+) (.*)$", out, re.M))
    # The shell holds fds of its own; what must not be there is any of
    # the listener's (its listening socket, its self-pipe).
    mine = set(fdmap.values())
    leaked = [v for v in listener_fds(lst.p.pid) if v in mine]
    is_(leaked, [], "%s: none of the listener's fds leak into the child" %
        host)
    ok(len(listener_fds(lst.p.pid)) >= 2, "%s: (the listener has fds to "
       "leak: its socket and self-pipe)" % host)
    ok(fdmap.get("0", "").startswith("socket:") and
       fdmap.get("0") == fdmap.get("1"),
       "%s: fds 0 and 1 are the connection" % host)
    ok(fdmap.get("2", "").endswith(os.path.basename(lst.logpath)),
       "%s: fd 2 is the listener's stderr" % host)
    log_ok = wait_for(lambda: re.search(r"status 0$", lst.log(), re.M),
                      timeout=5)
    log = lst.log()
    ok(re.search(r"^tern-listen: info: listening on %s port %d$" %
                 (re.escape(host), lst.port), log, re.M),
       "%s: log: listening on <ip> port <n>" % host)
    m = re.search(r"^tern-listen: info: pid (\d+) from %s port %d$" %
                  (re.escape(host), cport), log, re.M)
    ok(m, "%s: log: pid N from <ip> port <p>" % host)
    ok(log_ok and m and re.search(r"^tern-listen: info: pid %s status 0$" %
                                  m.group(1), log, re.M),
       "%s: log: pid N status 0 when the child is reaped" % host)
    ok("child-stderr-marker" in log, "%s: child's stderr is the log" % host)
    if ROOT:
        with open("/proc/%d/status" % lst.p.pid) as f:
            st = f.read()
        uids = re.search(r"^Uid:\s+(.*)$", st, re.M).group(1).split()
        is_(set(uids), {str(want_uid)},
            "%s: the listener itself dropped to -U's user" % host)
    is_(lst.stop(), 0, "%s: SIGTERM: exit 0" % host)


def check_limits(t):
    hold = script(t, "hold.sh", HOLD_SH)
    lst = Listener(t, "127.0.0.1", user_args() + ["-c", "3", "-i", "2"],
                   [hold])
    held = []

    def hold_one(src):
        s = lst.connect(src)
        held.append(s)
        is_(read_line(s), b"ready\n", "limits: connection from %s runs" %
            src)
    hold_one("127.0.0.1")
    hold_one("127.0.0.1")
    s = lst.connect("127.0.0.1")
    t0 = time.monotonic()
    is_(read_all(s), b"", "limits: third from one address (-i 2) closed")
    ok(time.monotonic() - t0 < 3, "limits: ... at once")
    s.close()
    hold_one("127.0.0.2")
    s = lst.connect("127.0.0.3")
    is_(read_all(s), b"", "limits: fourth connection (-c 3) closed")
    s.close()
    log = lst.log()
    ok(re.search(r"^tern-listen: info: refused from 127\.0\.0\.1 port \d+ "
                 r"limit=ip$", log, re.M), "limits: log: limit=ip")
    ok(re.search(r"^tern-listen: info: refused from 127\.0\.0\.3 port \d+ "
                 r"limit=global$", log, re.M), "limits: log: limit=global")
    held.pop(0).close()
    ok(wait_for(lambda: lst.log().count(" status ") == 1, timeout=5),
       "limits: a closed connection's child is reaped")
    s = lst.connect("127.0.0.1")
    is_(read_line(s), b"ready\n", "limits: its place is free again")
    held.append(s)
    for s in held:
        s.close()
    ok(wait_for(lambda: lst.log().count(" status ") == 4, timeout=5),
       "limits: every child reaped and logged")
    ok(wait_for(lambda: children(lst.p.pid) == [], timeout=5),
       "limits: no zombies or children left")
    is_(lst.stop(), 0, "limits: SIGTERM: exit 0")


def check_over(t):
    hold = script(t, "hold.sh", HOLD_SH)
    over = script(t, "over.sh", OVER_SH)
    lst = Listener(t, "127.0.0.1", user_args() +
                   ["-c", "5", "-i", "1", "-x", over], [hold])
    a = lst.connect()
    is_(read_line(a), b"ready\n", "-x: first connection runs the program")
    b = lst.connect()
    is_(read_all(b), b"421 127.0.0.1 too many\r\n",
        "-x: over -i the -x program answers, with the UCSPI environment")
    b.close()
    m = re.search(r"^tern-listen: info: pid (\d+) from 127\.0\.0\.1 "
                  r"port \d+ limit=ip$", lst.log(), re.M)
    ok(m, "-x: log: limit=ip")
    ok(m and wait_for(lambda: "pid %s status 0" % m.group(1) in lst.log(),
                      timeout=5), "-x: the -x child is reaped")
    # SIGTERM: no more accepting, the running child goes on.
    is_(lst.stop(), 0, "SIGTERM: exit 0 with a connection running")
    a.sendall(b"still there\n")
    is_(read_line(a), b"still there\n",
        "SIGTERM: the running child keeps serving")
    a.close()
    try:
        c = lst.connect()
        refused = read_all(c) == b""
        c.close()
    except ConnectionRefusedError:
        refused = True
    ok(refused, "SIGTERM: new connections are refused")
    ok(re.search(r"^tern-listen: info: stopped accepting; 1 connections "
                 r"still running$", lst.log(), re.M),
       "SIGTERM: log: stopped accepting, 1 still running")


def check_sigint(t):
    lst = Listener(t, "127.0.0.1", user_args(), ["/bin/true"])
    is_(lst.stop(signal.SIGINT), 0, "SIGINT: exit 0")


def check_missing_program(t):
    lst = Listener(t, "127.0.0.1", user_args(),
                   [os.path.join(t.dir, "no-such-program")])
    s = lst.connect()
    is_(read_all(s), b"", "missing program: connection closed")
    s.close()
    ok(wait_for(lambda: re.search(r"unable to run .*no-such-program",
                                  lst.log()), timeout=5) and
       wait_for(lambda: " status 100" in lst.log(), timeout=5),
       "missing program: logged, child exits 100")
    is_(lst.stop(), 0, "missing program: listener still stops cleanly")


def check_path_lookup(t):
    """A program named without '/' is found in PATH (looked up once at
    start: the child only calls execve)."""
    lst = Listener(t, "127.0.0.1", user_args(),
                   ["sh", "-c", "echo via-path $TCPREMOTEIP"])
    s = lst.connect()
    is_(read_all(s), b"via-path 127.0.0.1\n",
        "a program named without '/' is found in PATH")
    s.close()
    lst2 = Listener(t, "127.0.0.1", user_args(), ["no-such-program-tern"])
    s = lst2.connect()
    is_(read_all(s), b"", "a name in no PATH directory: connection closed")
    s.close()
    ok(wait_for(lambda: " status 100" in lst2.log(), timeout=5),
       "... and the child exits 100")
    is_(lst.stop(), 0, "PATH lookup: exit 0")
    is_(lst2.stop(), 0, "missing in PATH: exit 0")


def check_emfile(t):
    # fds 0-2, the listening socket and the self-pipe: accept gets EMFILE.
    def lim():
        resource.setrlimit(resource.RLIMIT_NOFILE, (6, 6))
    lst = Listener(t, "127.0.0.1", user_args(), ["/bin/true"], preexec=lim)
    if lst.port is None:
        ok(False, "EMFILE: listener starts with 6 fds")
        diag(lst.log())
        return
    socks = [lst.connect() for _ in range(3)]
    time.sleep(0.7)    # three or more 200 ms pauses
    log = lst.log()
    is_(len(re.findall(r"accept \(pausing\): Too many open files", log)), 1,
        "EMFILE: logged once, not once per try")
    ok(lst.p.poll() is None, "EMFILE: the listener keeps running")
    for s in socks:
        s.close()
    is_(lst.stop(), 0, "EMFILE: SIGTERM still stops it")


def check_keepalive(t):
    py = "/usr/bin/python3"
    if not os.access(py, os.X_OK):
        ok(True, "# SKIP no %s for the -k check" % py)
        return
    ka = script(t, "ka.py", "#!%s\nimport socket\n"
                "s = socket.socket(fileno=0)\n"
                "print(s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))\n"
                "s.detach()\n" % py)
    for args, want in (([], b"0\n"), (["-k"], b"1\n")):
        lst = Listener(t, "127.0.0.1", user_args() + args, [ka])
        s = lst.connect()
        is_(read_all(s), want, "%s: SO_KEEPALIVE is %s" %
            (" ".join(args) or "no -k", want.decode().strip()))
        s.close()
        lst.stop()


def check_keep_root(t):
    """-R: as root the program runs as root and the listener stays root;
    as anybody else nothing changes.  -R with -U is a usage error."""
    uid_sh = script(t, "uid.sh", "#!/bin/sh\nid -u\n")
    lst = Listener(t, "127.0.0.1", ["-R"], [uid_sh])
    if not ok(lst.port is not None, "-R: listener starts without -U"):
        diag(lst.log())
        return
    s = lst.connect()
    is_(read_all(s), b"%d\n" % os.geteuid(),
        "-R: the program runs as %s" % ("root" if ROOT else "our own uid"))
    s.close()
    if ROOT:
        with open("/proc/%d/status" % lst.p.pid) as f:
            st = f.read()
        uids = re.search(r"^Uid:\s+(.*)$", st, re.M).group(1).split()
        is_(set(uids), {"0"}, "-R: the listener keeps root to start them")
        ok("must drop privileges by itself" in lst.log(),
           "-R: log says the program runs as root")
    is_(lst.stop(), 0, "-R: SIGTERM: exit 0")
    r = t.run(["tern-listen", "-R", "-U", "nobody", "127.0.0.1", "0",
               "/bin/true"])
    ok(r.returncode == 100 and b"-R excludes" in r.stderr,
       "-R with -U is a usage error (100)")
    if ROOT:
        r = t.run(["tern-listen", "-R", "-x", "/bin/true", "127.0.0.1",
                   "0", "/bin/true"])
        ok(r.returncode == 100 and b"-x cannot be used with -R" in r.stderr,
           "-R with -x as root is refused (100): the over-program would "
           "run as root")


def check_bad_args(t):
    def run(args):
        r = t.run(["tern-listen"] + args)
        return r.returncode, r.stderr.decode()

    rc, err = run(user_args() + ["localhost", "25", "/bin/true"])
    ok(rc == 100 and "address literal" in err, "a host name is refused (100)")
    rc, err = run(user_args() + ["127.0.0.1", "70000", "/bin/true"])
    is_(rc, 100, "port 70000 is refused (100)")
    rc, err = run(["-U", "no-such-user-tern", "127.0.0.1", "0", "/bin/true"])
    ok(rc == 100 and "no such user" in err, "an unknown -U user (100)")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    rc, err = run(user_args() + ["127.0.0.1", str(busy.getsockname()[1]),
                                 "/bin/true"])
    ok(rc == 111 and "bind" in err, "a port in use is temporary (111)")
    busy.close()
    if ROOT:
        rc, err = run(["127.0.0.1", "0", "/bin/true"])
        ok(rc == 100 and "-U user" in err,
           "as root without -U/-u/-g: refuses to run (100)")
        rc, err = run(["-u", "0", "-g", "0", "127.0.0.1", "0", "/bin/true"])
        ok(rc == 100 and "as root" in err, "as root, -u 0 is refused (100)")


with Instance() as t:
    want = pwd.getpwnam("nobody").pw_uid if ROOT else os.getuid()
    check_env(t, "127.0.0.1", want)
    if ipv6_loopback():
        check_env(t, "::1", want)
    else:
        ok(True, "# SKIP ::1 is not available")
    check_limits(t)
    check_over(t)
    check_sigint(t)
    check_missing_program(t)
    check_path_lookup(t)
    check_emfile(t)
    check_keepalive(t)
    check_keep_root(t)
    check_bad_args(t)
done()
