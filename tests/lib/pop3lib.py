"""Helpers for the POP3 tests: a tern POP3 server on loopback.

Server(t, mode) starts tern-listen -> [tern-tlsd] -> tern-pop3-login ->
tern-checkpass -> tern-pop3d on 127.0.0.1 with an ephemeral port.
mode: "plain" (no TLS at all), "stls" (tern-tlsd -s), "tls" (implicit).
"""
import os
import socket
import ssl
import subprocess
import time

from ternlib import wait_for

ROOT = os.geteuid() == 0
PASSWORD = "s3cret pass"
TLSD_PROG_USER = os.environ.get("TERN_TEST_TLSD_USER", "nobody")


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def setup(t, insecure=True, faildelay=0):
    """Certificates, a user u@tern.test with PASSWORD; returns Maildir."""
    t.certs = os.path.join(t.dir, "certs")
    os.makedirs(t.certs, exist_ok=True)
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", os.path.join(t.certs, "default.key"),
                        "-out", os.path.join(t.certs, "default.crt"),
                        "-subj", "/CN=tern.test", "-days", "2"],
                       capture_output=True)
    t.have_certs = r.returncode == 0
    h = subprocess.run(["openssl", "passwd", "-6", PASSWORD],
                       capture_output=True, text=True).stdout.strip()
    md = t.add_vuser("u@tern.test", password_hash=h)
    if insecure:
        t.set("pop3insecure", "1")
    t.set("pop3faildelay", str(faildelay))
    # the tests' mailbox owner may be an ordinary user with a low uid
    t.set("pop3minuid", "1")
    return md


class Server:
    n = 0

    def __init__(self, t, mode="plain", login_args=None, pop3d_args=()):
        Server.n += 1
        self.t = t
        self.portfile = os.path.join(t.dir, "pop3port.%d" % Server.n)
        self.logpath = os.path.join(t.dir, "pop3.%d.log" % Server.n)
        argv = [t.bin("tern-listen"), "-P", self.portfile]
        if ROOT:
            argv += ["-R"]
        argv += ["127.0.0.1", "0"]
        if mode != "plain":
            argv += [t.bin("tern-tlsd"), "-c", t.certs]
            if ROOT:
                # tern-tlsd refuses "-u root" for now: the login front
                # then starts as nobody, which owns the test mailboxes
                argv += ["-U", "nobody", "-u", TLSD_PROG_USER]
            if mode == "stls":
                argv += ["-s"]
        argv += [t.bin("tern-pop3-login")]
        argv += login_args or [t.bin("tern-checkpass"), t.bin("tern-pop3d")]
        argv += list(pop3d_args)
        with open(self.logpath, "wb") as logf:
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=logf,
                                      env=t.env(), start_new_session=True)
        t.procs.append(self.p)
        wait_for(lambda: os.path.exists(self.portfile) and
                 os.path.getsize(self.portfile) > 0, timeout=10)
        with open(self.portfile) as f:
            self.port = int(f.read())

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Raw:
    """A line-level POP3 client for the bad-input tests."""

    def __init__(self, port, tls=False, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port),
                                          timeout=timeout)
        if tls:
            self.s = ctx().wrap_socket(self.s, server_hostname="tern.test")
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                r, self.buf = self.buf, b""
                return r or None
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def cmd(self, c):
        self.send(c + b"\r\n")
        return self.line()

    def multi(self):
        out = []
        while True:
            ln = self.line()
            if ln == b"." or ln is None:
                return out
            out.append(ln[1:] if ln.startswith(b"..") else ln)

    def closed(self, wait=5.0):
        """True when the server closes the connection (EOF) in time."""
        self.s.settimeout(wait)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except (socket.timeout, ConnectionResetError):
            return False
        except OSError:
            return True

    def login(self, user="u@tern.test", pw=PASSWORD):
        self.line()
        a = self.cmd(b"USER " + user.encode())
        b = self.cmd(b"PASS " + pw.encode())
        return a, b

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def deliver(t, md, body=b"hello\n", subject="test", sub="new", name=None):
    """Put a message (LF line ends) into md/sub; returns its file name."""
    deliver.n = getattr(deliver, "n", 0) + 1
    if name is None:
        name = "%d.M%dP%dQ%d.tern.test" % (time.time(), deliver.n,
                                           os.getpid(), deliver.n)
        if sub == "cur":
            name += ":2,S"
    data = (b"From: a@example.org\nTo: u@tern.test\nSubject: " +
            subject.encode() + b"\n\n" + body)
    path = os.path.join(md, sub, name)
    with open(path, "wb") as f:
        f.write(data)
    if ROOT:
        os.chown(path, t.uid, t.gid)
    return name
