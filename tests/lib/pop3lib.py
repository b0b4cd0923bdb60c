"""Helpers for the POP3 tests: a tern POP3 server on loopback.

Server(t, mode) starts tern-listen -> [tern-tlsd] -> tern-pop3-login ->
tern-checkpass -> tern-pop3d on 127.0.0.1 with an ephemeral port; as
root the chain of INSTALL: tern-listen -R, tern-tlsd -U RELAY_USER -u
root, pop3loginuser LOGIN_USER, the mailbox owned by nobody.
mode: "plain" (no TLS at all), "stls" (tern-tlsd -s), "tls" (implicit).
"""
import os
import pwd
import socket
import ssl
import subprocess
import time

ROOT = os.geteuid() == 0
PASSWORD = "s3cret pass"


def _user(names):
    """The first of names that exists (uid, name), else nobody."""
    for n in names + ("nobody",):
        try:
            return pwd.getpwnam(n).pw_uid, n
        except KeyError:
            pass
    raise KeyError("no user nobody")


# As root the chain is the one INSTALL shows, with system users that
# exist everywhere standing in for terntls and the login user; each
# differs from the mailbox owner (nobody) where the system allows.
RELAY_UID, RELAY_USER = _user(("daemon",))
LOGIN_UID, LOGIN_USER = _user(("bin", "sys"))


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
    if ROOT:
        t.set("pop3loginuser", LOGIN_USER)
    return md


class Server:
    n = 0

    def __init__(self, t, mode="plain", login_args=None, pop3d_args=()):
        Server.n += 1
        self.t = t
        self.logpath = os.path.join(t.dir, "pop3.%d.log" % Server.n)
        argv = []
        if ROOT:
            argv += ["-R"]
        argv += ["127.0.0.1", "0"]
        if mode != "plain":
            argv += [t.bin("tern-tlsd"), "-c", t.certs]
            if ROOT:
                # the program keeps root: tern-pop3-login drops by itself
                argv += ["-U", RELAY_USER, "-u", "root"]
            if mode == "stls":
                argv += ["-s"]
        argv += [t.bin("tern-pop3-login")]
        argv += login_args or [t.bin("tern-checkpass"), t.bin("tern-pop3d")]
        argv += list(pop3d_args)
        self.p, self.port = t.listen(argv, self.logpath)

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


def proc_tree(top):
    """The processes below pid top: [{pid, ppid, name, uids, gids}]."""
    ps = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/status" % pid) as f:
                st = dict(ln.rstrip("\n").split(":\t", 1) for ln in f
                          if ":\t" in ln)
        except OSError:
            continue
        ps[int(pid)] = {"pid": int(pid), "ppid": int(st["PPid"]),
                        "name": st["Name"].strip(),
                        "uids": [int(x) for x in st["Uid"].split()],
                        "gids": [int(x) for x in st["Gid"].split()]}
    out, want = [], {top}
    while want:
        kids = [p for p in ps.values() if p["ppid"] in want]
        out += kids
        want = {p["pid"] for p in kids}
    return out


def chain(top):
    """The POP3 chain below pid top by role: relay (tern-tlsd), front
    (tern-pop3-login that keeps root), parser (its login child), pop3d."""
    ps = proc_tree(top)
    login = {p["pid"] for p in ps if p["name"] == "tern-pop3-login"}
    roles = {"relay": [], "front": [], "parser": [], "pop3d": []}
    for p in ps:
        if p["name"] == "tern-tlsd":
            roles["relay"].append(p)
        elif p["name"] == "tern-pop3-login":
            roles["parser" if p["ppid"] in login else "front"].append(p)
        elif p["name"] == "tern-pop3d" and p["ppid"] in login:
            # (a sanitizer's leak check shows as a child of the same name)
            roles["pop3d"].append(p)
    return roles


def fd_links(pid):
    """{fd: link text} of pid's open descriptors, {} when unreadable."""
    out = {}
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return out
    for n in names:
        try:
            out[int(n)] = os.readlink("/proc/%d/fd/%s" % (pid, n))
        except OSError:
            pass
    return out


def conn_held(roles):
    """The connection's sockets (tern-pop3d's fds 0 and 1: the client's
    TCP socket, or behind tern-tlsd the plaintext socket pair; and
    tern-tlsd's fds 0 and 1, the TCP socket) and the descriptors of the
    pre-auth parsers that are one of them: (sockets, [(pid, fd, link)])."""
    conn = set()
    for p in roles["pop3d"] + roles["relay"]:
        links = fd_links(p["pid"])
        conn |= {links[fd] for fd in (0, 1)
                 if links.get(fd, "").startswith("socket:")}
    held = [(p["pid"], fd, link) for p in roles["parser"]
            for fd, link in sorted(fd_links(p["pid"]).items())
            if link in conn]
    return conn, held


def environ(pid):
    """The environment pid was started with, {} when unreadable."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return {}
    return dict(x.decode("latin-1").split("=", 1)
                for x in data.split(b"\0") if b"=" in x)


def key_secret(keyfile):
    """An EC key's private scalar as stored (big- and little-endian)."""
    import subprocess
    r = subprocess.run(["openssl", "pkey", "-in", keyfile, "-text",
                        "-noout"], capture_output=True, text=True)
    hexs, on = "", False
    for ln in r.stdout.splitlines():
        if ln.startswith("priv:"):
            on = True
        elif on and ln.startswith(" "):
            hexs += ln.strip().replace(":", "")
        elif on:
            break
    if len(hexs) < 32:
        return []
    b = bytes.fromhex(hexs)
    return [b, b[::-1]]


def mem_has(pid, pats, cap=512 << 20):
    """Whether the writable memory of pid holds one of pats: True,
    False, or None when it cannot be read (no CAP_SYS_PTRACE)."""
    try:
        maps = open("/proc/%d/maps" % pid).read().splitlines()
        mem = open("/proc/%d/mem" % pid, "rb", buffering=0)
    except OSError:
        return None
    seen = 0
    with mem:
        for ln in maps:
            f = ln.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if not f[1].startswith("rw") or hi - lo > (64 << 20):
                continue    # sanitizer shadow and reserved space
            seen += hi - lo
            if seen > cap:
                break
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:
                continue
            if any(p in data for p in pats):
                return True
    return False
