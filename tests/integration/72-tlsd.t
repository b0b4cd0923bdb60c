#!/usr/bin/env python3
"""tern-tlsd under tern-listen: implicit TLS (1.3, 1.2 forced, 1.1
refused, SNI exact/wildcard/default, the program's environment, bulk data
both ways, a failed handshake, the idle timeout) the client's
addresses passed on as UCSPI variables (also under inetd, where there
were none: tern-smtpd's Received line and relayclients) and STARTTLS
through the control socket (pipelined plaintext never reaches the program after the
handshake, a second request refused, smtplib and openssl s_client
-starttls smtp, a ClientHello that arrives before the program's 'Y', a
failed handshake answered NO, a half-close before TLS), the program's fds
and that it cannot read the relay's memory, end to end with tern-smtpd
when it is there; as root, the relay runs as -U and the program as -u,
which may be root (the program keeps root), while -U root is refused.
"""
import os
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 on purpose
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, ok, is_, diag, done, wait_for, skip_all  # noqa

ROOT = os.geteuid() == 0
RELAY_USER, PROG_USER = "nobody", "daemon"

# The protocol program: a tiny SMTP-like line server that speaks the
# tern-tlsd control protocol and writes what it receives to a file.
PROG_PY = r'''#!/usr/bin/env python3
import os, socket, sys, time
marks = sys.argv[1]
def mark(s):
    with open(marks, "a") as f:
        f.write(s + "\n")
def out(s):
    os.write(1, s.encode() + b"\r\n")
tls = os.environ.get("TERN_TLS") == "1"
proto = os.environ.get("SSL_PROTOCOL", "-")
cipher = os.environ.get("SSL_CIPHER", "-")
phase = "tls" if tls else "plain"
try:
    with open("/proc/%d/mem" % os.getppid(), "rb") as f:
        peek = "readable"
except OSError:
    peek = "denied"
mark("peek " + peek)
fds = sorted(int(x) for x in os.listdir("/proc/self/fd")
             if os.path.exists("/proc/self/fd/" + x))
mark("fds " + ",".join(map(str, fds)))
try:
    err = "socket" if os.readlink("/proc/self/fd/2").startswith("socket:") \
        else os.readlink("/proc/self/fd/2")
except OSError:
    err = "closed"
mark("stderr %s TERN_LOG=%s" % (err, os.environ.get("TERN_LOG", "-")))
mark("ucspi " + " ".join("%s=%s" % (k, os.environ.get(k, "-")) for k in (
    "PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT",
    "TCPREMOTEHOST")))
mark("start uid=%d ppid=%d proto=%s cipher=%s tls=%s ctl=%s" % (
    os.getuid(), os.getppid(), proto, cipher,
    os.environ.get("TERN_TLS", "-"), os.environ.get("TERN_TLSCTL", "-")))
out("220 ready uid=%d ppid=%d proto=%s cipher=%s" % (
    os.getuid(), os.getppid(), proto, cipher))
buf = b""
while True:
    while b"\n" not in buf:
        d = os.read(0, 65536)
        if not d:
            mark(phase + " eof")
            out("221 eof seen")
            sys.exit(0)
        buf += d
    line, buf = buf.split(b"\n", 1)
    line = line.rstrip(b"\r").decode("latin-1")
    if not line.startswith("DATA "):
        mark(phase + " " + line)
    cmd = line.split(" ")[0].upper()
    if cmd in ("EHLO", "HELO"):
        out("250-hi")
        out("250 STARTTLS")
    elif cmd in ("STARTTLS", "SLOWTLS"):
        ctl = os.environ.get("TERN_TLSCTL")
        if ctl is None:
            out("502 no control socket")
            continue
        if not tls:
            out("220 go ahead")
        if cmd == "SLOWTLS":
            time.sleep(0.5)  # the ClientHello comes before our 'Y'
        s = socket.socket(fileno=int(ctl))
        s.sendall(b"Y")
        msg, fds, _, _ = socket.recv_fds(s, 256, 1)
        s.detach()
        reply = msg.decode("latin-1").rstrip("\n")
        mark("ctl %s fds=%d" % (reply, len(fds)))
        if reply.startswith("OK ") and len(fds) == 1:
            os.dup2(fds[0], 0)
            os.dup2(fds[0], 1)
            os.close(fds[0])
            buf = b""
            tls, phase = True, "tls"
            proto, cipher = reply.split(" ")[1:3]
        else:
            for fd in fds:
                os.close(fd)
            out("454 " + reply)
            if not tls:
                sys.exit(0)
    elif cmd == "NOOP":
        out("250 " + ("tls %s %s" % (proto, cipher) if tls else "plain"))
    elif cmd == "QUIT":
        out("221 bye")
        sys.exit(0)
    else:
        out("250 echo " + line)
'''


def make_cert(t, cn, crt, key):
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-subj", "/CN=" + cn, "-days", "2",
                        "-keyout", key, "-out", crt],
                       capture_output=True, timeout=30)
    if r.returncode != 0:
        diag(r.stderr.decode())
        raise SystemExit("openssl req failed")
    with open(crt, "rb") as f:
        return ssl.PEM_cert_to_DER_cert(f.read().decode())


def make_certs(t):
    """default (CN=localhost, .crt+.key), other.test (.pem), *.wild.test."""
    d = os.path.join(t.dir, "tls")
    os.makedirs(d)
    ders = {}
    ders["default"] = make_cert(t, "localhost", os.path.join(d, "default.crt"),
                                os.path.join(d, "default.key"))
    for name in ("other.test", "*.wild.test"):
        crt, key = os.path.join(t.dir, "c.pem"), os.path.join(t.dir, "k.pem")
        ders[name] = make_cert(t, name, crt, key)
        with open(os.path.join(d, name + ".pem"), "wb") as f:
            for p in (crt, key):
                with open(p, "rb") as g:
                    f.write(g.read())
    for n in os.listdir(d):
        os.chmod(os.path.join(d, n), 0o600)
    return d, ders


class Server:
    """tern-listen -R (port 0) running tern-tlsd [args] prog marks."""
    n = 0

    def __init__(self, t, tlsd_args, env=None, prog=None,
                 prog_user=PROG_USER):
        Server.n += 1
        self.t = t
        self.marks = os.path.join(t.marks, "marks.%d" % Server.n)
        self.portfile = os.path.join(t.dir, "port.%d" % Server.n)
        self.logpath = os.path.join(t.dir, "listen.%d.log" % Server.n)
        argv = [t.bin("tern-listen"), "-R", "-P", self.portfile,
                "127.0.0.1", "0", t.bin("tern-tlsd")] + tlsd_args + \
            ["-U", RELAY_USER, "-u", prog_user] + \
            (prog or [t.prog, self.marks])
        with open(self.logpath, "wb") as logf:
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=logf,
                                      env=env or t.env(),
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

    def markdata(self):
        try:
            with open(self.marks) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return s

    def tls(self, sni="localhost", maxv=None, minv=None, ciphers=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if maxv:
            ctx.maximum_version = maxv
        if minv:
            ctx.minimum_version = minv
        if ciphers:
            ctx.set_ciphers(ciphers)
        return ctx.wrap_socket(self.connect(), server_hostname=sni)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
        self.p.wait(timeout=10)


UCSPI_VARS = ("PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP",
              "TCPLOCALPORT", "TCPREMOTEHOST", "TCPLOCALHOST",
              "TCPREMOTEINFO")


class Inetd:
    """tern-tlsd [args] as inetd (nowait) or systemd Accept=yes run it:
    each connection on fds 0, 1 and 2, no UCSPI variables but a stale
    TCPREMOTEHOST that must not reach the program."""

    def __init__(self, t, argv):
        self.t, self.argv = t, argv
        self.env = t.env()
        for v in UCSPI_VARS:
            self.env.pop(v, None)
        self.env["TCPREMOTEHOST"] = "stale.example"
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            p = subprocess.Popen(self.argv, stdin=c, stdout=c, stderr=c,
                                 env=self.env)
            self.t.procs.append(p)
            c.close()

    def stop(self):
        self.ls.close()


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def ucspi_mark(marks):
    m = re.search(r"^ucspi (.*)$", marks, re.M)
    return m.group(1) if m else None


def readline(s):
    data = b""
    while not data.endswith(b"\n"):
        try:
            b = s.recv(1)
        except (socket.timeout, ConnectionResetError, ssl.SSLError):
            break
        if not b:
            break
        data += b
    return data.decode("latin-1")


def status_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        return re.search(r"^Uid:\s+(.*)$", f.read(), re.M).group(1).split()


def greeting_fields(line):
    return dict(re.findall(r"(\w+)=(\S+)", line))


def check_implicit(t, ders):
    srv = Server(t, [])
    if not ok(srv.port, "implicit: listener up"):
        diag(srv.log())
        return
    s = srv.tls()
    g = readline(s)
    f = greeting_fields(g)
    is_(s.version(), "TLSv1.3", "implicit: TLS 1.3 by default")
    is_(f.get("proto"), "TLSv1.3", "implicit: SSL_PROTOCOL=TLSv1.3")
    is_(f.get("cipher"), s.cipher()[0],
        "implicit: SSL_CIPHER is the negotiated cipher")
    is_(s.getpeercert(binary_form=True), ders["default"],
        "implicit: SNI localhost (no such file) gets default")
    ok(re.search(r"tls=1 ctl=-$", srv.markdata(), re.M),
       "implicit: TERN_TLS=1, no TERN_TLSCTL")
    is_(ucspi_mark(srv.markdata()),
        "PROTO=TCP TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=%d "
        "TCPLOCALIP=127.0.0.1 TCPLOCALPORT=%d TCPREMOTEHOST=-" % (
            s.getsockname()[1], srv.port),
        "implicit: tern-listen's UCSPI variables reach the program")
    if ROOT:
        is_(f.get("uid"), str(pwd.getpwnam(PROG_USER).pw_uid),
            "implicit: the program runs as -u %s" % PROG_USER)
        relay = int(f.get("ppid", "0"))
        is_(set(status_uid(relay)), {str(pwd.getpwnam(RELAY_USER).pw_uid)},
            "implicit: the relay (its parent) runs as -U %s" % RELAY_USER)
    else:
        is_(f.get("uid"), str(os.getuid()), "implicit: not root: no drop")
    ok(re.search(r"^fds 0,1,2$", srv.markdata(), re.M),
       "implicit: the program has fds 0, 1 and 2 and no other")
    ok("peek denied" in srv.markdata(),
       "implicit: the program cannot read the relay's memory")
    s.sendall(b"hello there\r\n")
    is_(readline(s), "250 echo hello there\r\n", "implicit: data relayed")
    s.sendall(b"QUIT\r\n")
    is_(readline(s), "221 bye\r\n", "implicit: QUIT answered")
    is_(s.recv(100), b"", "implicit: closed after the program exits")
    s.close()
    ok(wait_for(lambda: re.search(
        r"tern-tlsd: info: 127\.0\.0\.1: tls TLSv1\.3 \S+ sni=localhost "
        r"cert=default$", srv.log(), re.M), timeout=5),
       "implicit: log: version, cipher, SNI, certificate")

    # TLS 1.2 forced by the client.
    s = srv.tls(maxv=ssl.TLSVersion.TLSv1_2)
    f = greeting_fields(readline(s))
    is_(s.version(), "TLSv1.2", "TLS 1.2 when the client offers at most 1.2")
    is_(f.get("proto"), "TLSv1.2", "TLS 1.2: SSL_PROTOCOL=TLSv1.2")
    ok(re.match(r"ECDHE-(ECDSA|RSA)-(AES\d+-GCM|CHACHA20-POLY1305)",
                s.cipher()[0]), "TLS 1.2: ECDHE with an AEAD cipher (%s)" %
       s.cipher()[0])
    s.close()

    # TLS 1.1: the server must refuse (the client is allowed it).
    try:
        s = srv.tls(maxv=ssl.TLSVersion.TLSv1_1, minv=ssl.TLSVersion.TLSv1,
                    ciphers="DEFAULT:@SECLEVEL=0")
        s.close()
        refused = False
    except (ssl.SSLError, OSError):
        refused = True
    ok(refused, "TLS 1.1 is refused")
    ok(wait_for(lambda: re.search(r"tls handshake failed: "
                                  r"(unsupported protocol|.*version)",
                                  srv.log()), timeout=5),
       "TLS 1.1: the server logged a version failure")

    # SNI: exact, wildcard one label, deeper falls back, no SNI.
    for sni, want, name in (("other.test", "other.test", "exact name"),
                            ("OTHER.test", "other.test", "any case"),
                            ("mx.wild.test", "*.wild.test", "wildcard"),
                            ("a.b.wild.test", "default",
                             "wildcard covers one label only"),
                            (None, "default", "no SNI: default")):
        s = srv.tls(sni=sni)
        is_(s.getpeercert(binary_form=True), ders[want],
            "SNI %s: %s certificate" % (name, want))
        s.close()
    srv.stop()


def echo_bulk(s, data, want_lines):
    """Send data and read replies at the same time on one thread (an
    SSLSocket must not be shared by threads): non-blocking with select."""
    import select
    s.setblocking(False)
    view, got, end = memoryview(data), b"", time.monotonic() + 30
    while got.count(b"\n") < want_lines and time.monotonic() < end:
        try:
            if view:
                view = view[s.send(view[:16384]):]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            pass
        try:
            d = s.recv(65536)
            if not d:
                break
            got += d
            continue
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        select.select([s], [s] if view else [], [], 1)
    s.setblocking(True)
    return got


def check_bulk(t):
    srv = Server(t, [])
    s = srv.tls()
    readline(s)
    n, line = 2000, b"x" * 500
    got = echo_bulk(s, b"".join(b"%d %s\r\n" % (i, line)
                                for i in range(n)), n)
    lines = got.split(b"\r\n")
    is_(len([x for x in lines if x.startswith(b"250 echo ")]), n,
        "bulk: 1 MB each way at once, every line echoed")
    ok(len(lines) > n and lines[n - 1] == b"250 echo %d %s" % (n - 1, line),
       "bulk: in order")
    s.close()
    srv.stop()


def check_bad_handshake(t):
    srv = Server(t, ["-t", "30"])
    s = srv.connect()
    s.sendall(b"EHLO not tls\r\n\r\n" * 10)
    try:
        data = s.recv(100)
    except (ConnectionResetError, socket.timeout):
        data = b""
    ok(not data.startswith(b"220"), "bad handshake: no greeting")
    s.close()
    ok(wait_for(lambda: "tls handshake failed" in srv.log(), timeout=5),
       "bad handshake: logged")
    ok(wait_for(lambda: re.search(r"status 111$", srv.log(), re.M),
                timeout=5), "bad handshake: tern-tlsd exits 111")
    time.sleep(0.2)
    is_(srv.markdata(), "", "bad handshake: the program never ran")
    srv.stop()


def check_idle(t):
    t.set("tlsidletimeout", "1")
    srv = Server(t, [])
    s = srv.tls()
    readline(s)
    t0 = time.monotonic()
    try:
        data = s.recv(100)
    except (ssl.SSLError, OSError):
        data = b""
    ok(data == b"" and 0.5 < time.monotonic() - t0 < 5,
       "idle: control file tlsidletimeout 1 closes an idle session")
    ok(wait_for(lambda: "idle timeout" in srv.log(), timeout=5),
       "idle: logged")
    s.close()
    srv.stop()
    os.unlink(os.path.join(t.control, "tlsidletimeout"))


def check_no_certs(t):
    srv = Server(t, ["-c", os.path.join(t.dir, "no-such-dir")])
    s = srv.connect()
    is_(s.recv(100), b"", "no certificates: connection closed")
    s.close()
    ok(wait_for(lambda: re.search(r"fatal: certificates: .*no-such-dir",
                                  srv.log()), timeout=5),
       "no certificates: logged")
    ok(wait_for(lambda: re.search(r"status 111$", srv.log(), re.M),
                timeout=5), "no certificates: exit 111")
    is_(srv.markdata(), "", "no certificates: the program never ran")
    srv.stop()


def starttls_raw(srv, sni="localhost"):
    s = srv.connect()
    g = readline(s)
    s.sendall(b"STARTTLS\r\nINJECTED\r\n")
    r = readline(s)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return g, r, ctx.wrap_socket(s, server_hostname=sni)


def check_starttls(t):
    srv = Server(t, ["-s"])
    if not ok(srv.port, "starttls: listener up"):
        diag(srv.log())
        return
    g, r, s = starttls_raw(srv)
    f = greeting_fields(g)
    ok(g.startswith("220 ready") and f.get("proto") == "-",
       "starttls: plaintext greeting, no SSL_PROTOCOL")
    m = re.search(r"tls=- ctl=(\d+)$", srv.markdata(), re.M)
    ok(m, "starttls: TERN_TLSCTL names the control fd")
    ok(m and re.search(r"^fds 0,1,2,%s$" % m.group(1), srv.markdata(),
                       re.M), "starttls: fds 0, 1, 2 and the control fd")
    is_(r, "220 go ahead\r\n", "starttls: the program's reply reached us "
        "before the handshake")
    s.sendall(b"NOOP\r\n")
    is_(readline(s), "250 tls %s %s\r\n" % (s.version(), s.cipher()[0]),
        "starttls: OK line carries the protocol and cipher")
    s.sendall(b"AFTER\r\n")
    is_(readline(s), "250 echo AFTER\r\n", "starttls: data over TLS")
    marks = srv.markdata()
    ok("ctl OK %s %s fds=1" % (s.version(), s.cipher()[0]) in marks,
       "starttls: OK <proto> <cipher> with one descriptor")
    ok("tls INJECTED" not in marks,
       "starttls: pipelined plaintext never reaches the program after TLS")
    ok("tls NOOP" in marks and "tls AFTER" in marks,
       "starttls: (the program does see what came over TLS)")
    s.sendall(b"STARTTLS\r\n")
    is_(readline(s), "454 NO already active\r\n",
        "starttls: a second request is refused")
    s.sendall(b"NOOP\r\n")
    ok(readline(s).startswith("250 tls "), "starttls: TLS goes on after it")
    s.sendall(b"QUIT\r\n")
    is_(readline(s), "221 bye\r\n", "starttls: QUIT")
    s.close()
    if ROOT:
        uid = re.search(r"start uid=(\d+)", marks)
        is_(uid and uid.group(1), str(pwd.getpwnam(PROG_USER).pw_uid),
            "starttls: the program runs as -u")

    # smtplib
    c = smtplib.SMTP("127.0.0.1", srv.port, timeout=10)
    c.ehlo("client.test")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    code, _ = c.starttls(context=ctx)
    is_(code, 220, "smtplib: starttls() succeeds")
    code, msg = c.noop()
    ok(code == 250 and msg.startswith(b"tls TLSv1."),
       "smtplib: the program is on TLS (%r)" % msg)
    c.quit()

    # openssl s_client -starttls smtp
    r = subprocess.run(["openssl", "s_client", "-connect",
                        "127.0.0.1:%d" % srv.port, "-starttls", "smtp",
                        "-servername", "other.test", "-quiet"],
                       input=b"NOOP\r\nQUIT\r\n", capture_output=True,
                       timeout=30)
    out = r.stdout.decode("latin-1")
    ok(re.search(r"^250 tls TLSv1\.3 \S+\r$", out, re.M) and
       "221 bye" in out, "openssl s_client -starttls smtp: works")
    ok(re.search(r"sni=other\.test cert=other\.test$", srv.log(), re.M),
       "starttls: SNI works too")
    srv.stop()


def check_starttls_race(t):
    """The ClientHello reaches tern-tlsd before the program's 'Y'."""
    srv = Server(t, ["-s"])
    s = srv.connect()
    readline(s)
    s.sendall(b"SLOWTLS\r\n")
    is_(readline(s), "220 go ahead\r\n", "slow Y: reply")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        s = ctx.wrap_socket(s, server_hostname="localhost")
        s.sendall(b"NOOP\r\n")
        r = readline(s)
    except (ssl.SSLError, OSError) as e:
        r = str(e)
    ok(r.startswith("250 tls TLSv1.3"),
       "slow Y: the early ClientHello is kept for the handshake")
    s.close()
    srv.stop()


def check_starttls_fail(t):
    srv = Server(t, ["-s"])
    s = srv.connect()
    readline(s)
    s.sendall(b"STARTTLS\r\n")
    is_(readline(s), "220 go ahead\r\n", "failed starttls: reply sent")
    # A handshake record that is no ClientHello: tern-tlsd keeps it for
    # the handshake (0x16), which then fails at once.
    s.sendall(b"\x16\x03\x01\x00\x05hello")
    try:
        rest = s.recv(100)
    except (ConnectionResetError, socket.timeout):
        rest = b""
    ok(not rest.startswith(b"250"), "failed starttls: no plaintext reply")
    s.close()
    ok(wait_for(lambda: re.search(r"^ctl NO \S.* fds=0$", srv.markdata(),
                                  re.M), timeout=5),
       "failed starttls: the program gets NO <reason>")
    ok(wait_for(lambda: "tls handshake failed" in srv.log(), timeout=5),
       "failed starttls: logged")
    srv.stop()


def check_half_close(t):
    srv = Server(t, ["-s"])
    s = srv.connect()
    readline(s)
    s.sendall(b"LAST\r\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        d = s.recv(1000)
        if not d:
            break
        data += d
    is_(data, b"250 echo LAST\r\n221 eof seen\r\n",
        "half-close: the program sees EOF and its last words arrive")
    s.close()
    srv.stop()


def check_smtpd(t):
    """End to end: tern-listen -R, tern-tlsd -s, the real tern-smtpd."""
    smtpd = t.bin("tern-smtpd")
    if not (os.access(smtpd, os.X_OK) and os.path.getsize(smtpd) > 0):
        ok(True, "# SKIP no tern-smtpd in $TERN_BIN")
        return
    srv = Server(t, ["-s"], prog=[smtpd])
    c = smtplib.SMTP("127.0.0.1", srv.port, timeout=10)
    code, _ = c.ehlo("client.test")
    ok(code == 250 and c.has_extn("starttls"),
       "tern-smtpd: EHLO offers STARTTLS through tern-tlsd")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    code, _ = c.starttls(context=ctx)
    is_(code, 220, "tern-smtpd: smtplib starttls() succeeds")
    ok(c.sock.version() in ("TLSv1.2", "TLSv1.3"),
       "tern-smtpd: the session is on %s" % c.sock.version())
    code, _ = c.ehlo("client.test")
    ok(code == 250 and not c.has_extn("starttls"),
       "tern-smtpd: after TLS, EHLO no longer offers STARTTLS")
    is_(c.noop()[0], 250, "tern-smtpd: commands work over TLS")
    c.quit()
    ok(wait_for(lambda: re.search(r"tern-tlsd: info: 127\.0\.0\.1: tls "
                                  r"TLSv1\.3 ", srv.log()), timeout=5),
       "tern-smtpd: tern-tlsd logged the handshake")
    srv.stop()


def check_inetd(t):
    """No UCSPI variables, the connection on fds 0-2: tern-tlsd takes
    the addresses from the socket and hands them on, as tcpserver would
    (the program's own getpeername sees only the socket pair)."""
    for args, name in (([], "implicit"), (["-s"], "starttls")):
        marks = os.path.join(t.marks, "marks.inetd.%s" % name)
        srv = Inetd(t, [t.bin("tern-tlsd")] + args +
                    ["-U", RELAY_USER, "-u", PROG_USER, t.prog, marks])
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        cport = s.getsockname()[1]
        if name == "implicit":
            s = client_ctx().wrap_socket(s, server_hostname="localhost")
        g = readline(s)
        with open(marks) as f:
            got = ucspi_mark(f.read())
        is_(got, "PROTO=TCP TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=%d "
            "TCPLOCALIP=127.0.0.1 TCPLOCALPORT=%d TCPREMOTEHOST=-" % (
                cport, srv.port),
            "inetd, %s: the program gets PROTO=TCP, the client's and the "
            "local address and port, no stale TCPREMOTEHOST" % name)
        ok(g.startswith("220 ready"), "inetd, %s: the program answers"
           % name)
        with open(marks) as f:
            is_(re.search(r"^stderr (.*)$", f.read(), re.M).group(1),
                "/dev/null TERN_LOG=syslog",
                "inetd, %s: the program's fd 2 is not the client's socket "
                "and it logs to syslog" % name)
        s.sendall(b"QUIT\r\n")
        is_(readline(s), "221 bye\r\n", "inetd, %s: QUIT" % name)
        s.close()
        srv.stop()


def check_inetd_smtpd(t):
    """tern-smtpd behind tern-tlsd under inetd: the Received line names
    the client's address and relayclients matches it."""
    smtpd = t.bin("tern-smtpd")
    if not (os.access(smtpd, os.X_OK) and os.path.getsize(smtpd) > 0):
        ok(True, "# SKIP no tern-smtpd in $TERN_BIN")
        return
    t.add_vuser("u@tern.test")
    t.set("recipients", "u@tern.test")
    t.set("relayclients", "127.0.0.1")
    # as root the spool is nobody's (ternlib): tern-smtpd runs as nobody
    srv = Inetd(t, [t.bin("tern-tlsd"), "-U", RELAY_USER, "-u", "nobody",
                    smtpd])
    c = smtplib.SMTP_SSL("127.0.0.1", srv.port, timeout=20,
                         context=client_ctx())
    c.ehlo("client.test")
    c.mail("a@example.org")
    code, msg = c.rcpt("v@remote.example")
    is_(code, 250, "inetd + tern-smtpd: relayclients 127.0.0.1 matches "
        "the client (%r)" % msg)
    c.rcpt("u@tern.test")
    code, resp = c.data(b"Subject: inetd\r\n\r\nhi\r\n")
    c.quit()
    m = re.search(rb"queued as ([0-9a-v]{16})", resp)
    data = b""
    if m:
        with open(os.path.join(t.spool, "mess", m.group(1).decode()),
                  "rb") as f:
            data = f.read()
    ok(code == 250 and re.search(rb"^Received: from client\.test "
                                 rb"\(\[127\.0\.0\.1\]\)", data, re.M),
       "inetd + tern-smtpd: the Received line names 127.0.0.1 (%r)" %
       data[:120])
    srv.stop()
    os.unlink(os.path.join(t.control, "relayclients"))


def check_prog_root(t):
    """-u root: the program keeps root (it drops by itself), the relay
    still drops to -U; both modes."""
    if not ROOT:
        ok(True, "# SKIP -u root: not root")
        return
    for args, name in (([], "implicit"), (["-s"], "starttls")):
        srv = Server(t, args, prog_user="root")
        if not ok(srv.port, "-u root, %s: listener up" % name):
            diag(srv.log())
            continue
        s = srv.tls() if name == "implicit" else srv.connect()
        f = greeting_fields(readline(s))
        is_(f.get("uid"), "0", "-u root, %s: the program keeps root" % name)
        relay = int(f.get("ppid", "0"))
        is_(set(status_uid(relay)) if relay else None,
            {str(pwd.getpwnam(RELAY_USER).pw_uid)},
            "-u root, %s: the relay still runs as -U %s" % (name,
                                                          RELAY_USER))
        s.close()
        srv.stop()


def check_bad_args(t):
    r = t.run(["tern-tlsd"])
    is_(r.returncode, 100, "no program: usage error (100)")
    r = t.run(["tern-tlsd", "-t", "0", "/bin/true"])
    is_(r.returncode, 100, "-t 0: usage error (100)")
    if ROOT:
        r = t.run(["tern-tlsd", "-u", PROG_USER, "/bin/true"])
        ok(r.returncode == 100 and b"-U" in r.stderr,
           "root without -U: refused (100)")
        r = t.run(["tern-tlsd", "-U", "root", "-u", PROG_USER, "/bin/true"])
        ok(r.returncode == 100 and b"root" in r.stderr,
           "root with -U root: refused (100)")


if not shutil.which("openssl"):
    skip_all("no openssl command")
with Instance() as t:
    certdir, ders = make_certs(t)
    shutil.move(certdir, os.path.join(t.control, "tls"))
    t.marks = os.path.join(t.dir, "marks")
    os.makedirs(t.marks)
    os.chmod(t.marks, 0o777)
    t.prog = os.path.join(t.dir, "prog.py")
    with open(t.prog, "w") as fh:
        fh.write(PROG_PY)
    os.chmod(t.prog, 0o755)
    check_implicit(t, ders)
    check_bulk(t)
    check_bad_handshake(t)
    check_idle(t)
    check_no_certs(t)
    check_starttls(t)
    check_starttls_race(t)
    check_starttls_fail(t)
    check_half_close(t)
    check_smtpd(t)
    check_inetd(t)
    check_inetd_smtpd(t)
    check_prog_root(t)
    check_bad_args(t)
done()
