#!/usr/bin/env python3
"""Real POP3 clients against tern: fetchmail (keep with UIDL, then
fetch-and-delete) and mpop (STLS, keep with its UIDL file, then
delete), and curl (LIST, RETR, DELE).  A client that is not installed
is skipped with the reason.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
from ternlib import Instance, ok, is_, done, skip_all, diag  # noqa: E402
import pop3lib  # noqa: E402
from pop3lib import Server, deliver, PASSWORD  # noqa: E402

for prog in ("tern-pop3-login", "tern-pop3d", "tern-checkpass",
             "tern-listen", "tern-tlsd"):
    if not os.access(os.path.join(ternlib.BIN, prog), os.X_OK):
        skip_all(prog + " is not built")


def ncur(t):
    return len(os.listdir(os.path.join(t.md, "cur")))


def count_mbox(path):
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        return sum(1 for ln in f if ln.startswith(b"From "))


def fetchmail(t, srv, keep):
    rc = os.path.join(t.dir, "fetchmailrc")
    out = os.path.join(t.dir, "fetchmail.mbox")
    with open(rc, "w") as f:
        f.write('set no bouncemail\nset no syslog\n'
                'poll 127.0.0.1 service %d protocol pop3 uidl '
                'auth password\n'
                '  user "u@tern.test" there with password "%s"\n'
                '  %s sslproto "" mda "/bin/sh -c \'(echo From x; cat) >> %s\'"\n'
                % (srv.port, PASSWORD, "keep" if keep else "nokeep flush", out))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=t.dir, FETCHMAILHOME=t.dir)
    r = subprocess.run(["fetchmail", "-f", rc, "--idfile",
                        os.path.join(t.dir, "fetchids"), "-N"],
                       capture_output=True, env=env, timeout=60)
    return r, count_mbox(out)


def test_fetchmail(t, srv):
    if shutil.which("fetchmail") is None:
        ok(True, "# SKIP fetchmail not installed")
        return
    before = ncur(t) + len(os.listdir(os.path.join(t.md, "new")))
    r, n = fetchmail(t, srv, keep=True)
    ok(r.returncode == 0 and n == before, "fetchmail (keep) fetched %d "
       "of %d messages" % (n, before))
    if r.returncode != 0:
        diag(r.stdout.decode() + r.stderr.decode())
    is_(ncur(t), before, "fetchmail keep: the messages stay")
    r, n2 = fetchmail(t, srv, keep=True)
    is_(n2, n, "fetchmail again with UIDL: nothing fetched twice "
        "(exit %d)" % r.returncode)
    deliver(t, t.md, body=b"third\n")
    r, n3 = fetchmail(t, srv, keep=False)
    is_(n3, n + 1, "fetchmail (nokeep flush): only the new message is fetched")
    is_(ncur(t), 0, "fetchmail nokeep: every message deleted")


def test_mpop(t, srv):
    if shutil.which("mpop") is None:
        ok(True, "# SKIP mpop not installed")
        return
    for i in range(3):
        deliver(t, t.md, body=b"mpop %d\n" % i)
    conf = os.path.join(t.dir, "mpoprc")
    out = os.path.join(t.dir, "mpop.mbox")
    uidls = os.path.join(t.dir, "mpop.uidls")

    def run(keep):
        with open(conf, "w") as f:
            f.write("account default\nhost 127.0.0.1\nport %d\n"
                    "user u@tern.test\npassword %s\nauth plain\n"
                    "tls on\ntls_starttls on\ntls_certcheck off\n"
                    "delivery mbox %s\nuidls_file %s\nkeep %s\n"
                    % (srv.port, PASSWORD, out, uidls,
                       "on" if keep else "off"))
        os.chmod(conf, 0o600)
        return subprocess.run(["mpop", "-C", conf, "-q"], capture_output=True,
                              timeout=60)
    r = run(True)
    ok(r.returncode == 0 and count_mbox(out) == 3,
       "mpop over STLS with AUTH PLAIN fetched 3 (exit %d, %d)"
       % (r.returncode, count_mbox(out)))
    if r.returncode != 0:
        diag(r.stdout.decode() + r.stderr.decode())
    r = run(True)
    is_(count_mbox(out), 3, "mpop again: its UIDL file says all seen")
    r = run(False)
    is_(ncur(t), 0, "mpop keep off: the messages are deleted "
        "(exit %d)" % r.returncode)


def test_curl(t, srv):
    if shutil.which("curl") is None:
        ok(True, "# SKIP curl not installed")
        return
    deliver(t, t.md, body=b"curl one\n")
    deliver(t, t.md, body=b"curl two\n")
    url = "pop3://127.0.0.1:%d/" % srv.port
    base = ["curl", "-s", "-S", "--max-time", "20", "-u",
            "u@tern.test:" + PASSWORD]
    r = subprocess.run(base + [url], capture_output=True)
    is_(len(r.stdout.splitlines()), 2, "curl LIST: two messages")
    r = subprocess.run(base + [url + "2"], capture_output=True)
    ok(r.stdout.rstrip().endswith(b"curl two"), "curl RETR 2")
    r = subprocess.run(base + ["-X", "DELE", "-I", url + "1"],
                       capture_output=True)
    is_(r.returncode, 0, "curl DELE 1")
    is_(ncur(t), 1, "curl: one message left")


with Instance() as t:
    t.md = pop3lib.setup(t, insecure=True)
    if not t.have_certs:
        skip_all("openssl cannot make a certificate")
    for i in range(2):
        deliver(t, t.md, body=b"message %d\n" % i)
    plain = Server(t, "plain")
    stls = Server(t, "stls")
    test_fetchmail(t, plain)
    test_mpop(t, stls)
    test_curl(t, plain)
done()
