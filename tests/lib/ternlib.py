"""Helpers for tern's integration tests: a private instance in a temp dir.

Every test makes its own instance (Instance()), talks to the real programs
found in $TERN_BIN, and prints TAP through the small functions below.
Nothing here listens on a network address other than loopback.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("TERN_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "bin")
SRC = os.environ.get("TERN_SRC") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")

_count = 0
_failed = 0


def ok(cond, name):
    """One TAP result; returns cond."""
    global _count, _failed
    _count += 1
    if not cond:
        _failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", _count, name), flush=True)
    return cond


def diag(msg):
    for line in str(msg).splitlines() or [""]:
        print("# " + line, flush=True)


def is_(got, want, name):
    r = ok(got == want, name)
    if not r:
        diag("got:  %r" % (got,))
        diag("want: %r" % (want,))
    return r


def skip_all(reason):
    print("1..0 # SKIP " + reason, flush=True)
    sys.exit(0)


def done():
    print("1..%d" % _count, flush=True)
    sys.exit(1 if _failed else 0)


def wait_for(pred, timeout=20.0, step=0.05):
    """Poll pred() until it is true or timeout seconds pass; return it."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


# Defaults of every Instance that keep remote delivery on loopback.
DEFAULT_ROUTE = ":[127.0.0.1]:1"
DEFAULT_RESOLVER = "127.0.0.1@1"


class Instance:
    """A private tern: control dir, spool, homes, under one temp dir."""

    def __init__(self, me="tern.test", keep=False):
        self.dir = tempfile.mkdtemp(prefix="tern-test-")
        self.keep = keep or os.environ.get("TERN_KEEP") == "1"
        self.control = os.path.join(self.dir, "control")
        self.spool = os.path.join(self.dir, "spool")
        self.home = os.path.join(self.dir, "home")
        self.log = os.path.join(self.dir, "send.log")
        os.makedirs(self.control)
        os.makedirs(self.home)
        # As root, the programs drop to real users: the queue and the
        # test mailboxes belong to "nobody" (uid 0 is never a mailbox).
        self.root = os.geteuid() == 0
        if self.root:
            import pwd
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            os.chmod(self.dir, 0o755)
            os.chmod(self.home, 0o755)
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.make_spool()
        self.set("me", me)
        self.set("localdomains", me)
        # No packet may leave the machine: remote mail goes to a dead
        # loopback port and DNS to a dead loopback resolver unless a
        # test routes it (smtproutes) or points tern-resolve at the
        # private nsd (testdns.TestDNS.configure drops both defaults).
        self.set("smtproutes", DEFAULT_ROUTE)
        self.set("dnsresolvers", DEFAULT_RESOLVER)
        self.procs = []

    # -- configuration -------------------------------------------------
    def set(self, name, text):
        with open(os.path.join(self.control, name), "w") as f:
            f.write(text if text.endswith("\n") else text + "\n")

    def make_spool(self):
        for d in ("tmp", "mess", "env", "hold", "bounce", "quarantine"):
            os.makedirs(os.path.join(self.spool, d), exist_ok=True)
        trig = os.path.join(self.spool, "trigger")
        if not os.path.exists(trig):
            os.mkfifo(trig, 0o622)
        if self.root:
            self.chown_tree(self.spool)

    def chown_tree(self, top):
        """As root: give top and everything below it to the test user."""
        for dirpath, dirs, files in os.walk(top):
            os.chown(dirpath, self.uid, self.gid)
            for n in files:
                os.chown(os.path.join(dirpath, n), self.uid, self.gid,
                         follow_symlinks=False)

    def env(self, **extra):
        e = dict(os.environ)
        e["TERN_CONTROL"] = self.control
        e["TERN_SPOOL"] = self.spool
        e["TERN_LIBEXEC"] = BIN
        if self.root:
            e["TERN_QUEUEUSER"] = "nobody"
            e["TERN_REMOTEUSER"] = "nobody"
        e.update(extra)
        return e

    def add_vuser(self, address, maildir=None, password_hash="*"):
        """A virtual user owned by the test uid; returns its Maildir."""
        local = address.split("@")[0]
        if maildir is None:
            maildir = os.path.join(self.home, local, "Maildir")
        for d in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, d), exist_ok=True)
        if self.root:
            self.chown_tree(os.path.dirname(maildir))
        line = "%s:%s:%d:%d:%s\n" % (address, password_hash, self.uid,
                                     self.gid, maildir)
        with open(os.path.join(self.control, "passwd"), "a") as f:
            f.write(line)
        return maildir

    # -- programs ------------------------------------------------------
    def bin(self, name):
        return os.path.join(BIN, name)

    def run(self, argv, input=b"", env=None, pass_fds=(), **kw):
        """Run a tern program to completion; returns CompletedProcess."""
        argv = list(argv)
        if not argv[0].startswith("/"):
            argv[0] = self.bin(argv[0])
        return subprocess.run(argv, input=input, capture_output=True,
                              env=env or self.env(), timeout=60,
                              pass_fds=pass_fds, **kw)

    def listen(self, args, log, env=None):
        """Start `tern-listen -P <log>.port args...` in the background,
        its stderr in the file log; returns (Popen, the bound port)."""
        portfile = log + ".port"
        argv = [self.bin("tern-listen"), "-P", portfile] + list(args)
        with open(log, "wb") as logf:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=logf,
                                 env=env or self.env(),
                                 start_new_session=True)
        self.procs.append(p)
        if not wait_for(lambda: os.path.exists(portfile) and
                        os.path.getsize(portfile) > 0, timeout=10):
            with open(log, "rb") as f:
                raise RuntimeError("tern-listen reported no port: %r"
                                   % f.read())
        with open(portfile) as f:
            return p, int(f.read())

    def queue(self, message, sender, rcpts, extra=b""):
        """Feed tern-queue the qmail-queue way; returns (exit, stderr)."""
        env = b"F" + sender.encode() + b"\0" + extra
        for r in rcpts:
            env += b"T" + r.encode() + b"\0"
        env += b"\0"
        return self.queue_raw(message, env)

    def queue_raw(self, message, envelope):
        mr, mw = os.pipe()
        er, ew = os.pipe()
        p = subprocess.Popen([self.bin("tern-queue")], stdin=mr, stdout=er,
                             stderr=subprocess.PIPE, env=self.env())
        os.close(mr)
        os.close(er)
        try:
            os.write(mw, message) if len(message) < 60000 else \
                _write_all(mw, message)
        except BrokenPipeError:
            pass
        os.close(mw)
        try:
            _write_all(ew, envelope)
        except BrokenPipeError:
            pass
        os.close(ew)
        err = p.stderr.read()
        return p.wait(timeout=60), err

    def start_send(self, extra_env=None):
        """Start tern-send in the background, logging to self.log."""
        logf = open(self.log, "ab")
        p = subprocess.Popen([self.bin("tern-send")], stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=logf,
                             env=self.env(**(extra_env or {})),
                             start_new_session=True)
        logf.close()
        self.procs.append(p)
        self.send = p
        return p

    def stop_send(self, sig=signal.SIGTERM):
        p = getattr(self, "send", None)
        if p is None or p.poll() is not None:
            return p.returncode if p else None
        try:
            os.killpg(p.pid, sig) if sig == signal.SIGKILL else p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            return p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            return p.wait()

    def logtext(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def maildir_files(self, maildir, sub="new"):
        try:
            return sorted(os.listdir(os.path.join(maildir, sub)))
        except FileNotFoundError:
            return []

    def read_new(self, maildir):
        """Contents of every message in maildir/new, sorted by name."""
        out = []
        for n in self.maildir_files(maildir):
            with open(os.path.join(maildir, "new", n), "rb") as f:
                out.append(f.read())
        return out

    def queue_empty(self):
        return not os.listdir(os.path.join(self.spool, "env"))

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        if self.keep:
            diag("kept " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        if a[0] is not None:
            diag("log of tern-send:\n" + self.logtext())
        self.cleanup()


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def message(subject="test", body="hello\n", frm="a@example.org",
            to="u@tern.test", extra=""):
    """A small RFC 5322 message with LF line ends (tern's spool form)."""
    text = ("From: %s\nTo: %s\nSubject: %s\nDate: Thu, 26 Nov 2026 07:00:00 +0000\n"
            "Message-ID: <%s@example.org>\n%s\n%s" %
            (frm, to, subject, "%d.%f" % (os.getpid(), time.time()),
             extra, body))
    return text.replace("\r\n", "\n").encode()
