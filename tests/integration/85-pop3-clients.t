#!/usr/bin/env python3
"""Real POP3 clients against tern, over STLS and implicit TLS (as root
through the chain of INSTALL: tern-tlsd -u root, the parser as
pop3loginuser, tern-pop3d as the mailbox owner):
fetchmail (USER/PASS: keep with UIDL over STLS, nothing fetched twice,
not even after an IMAP-style rename to cur/ with flags, then fetch and
delete over implicit TLS), mpop (AUTH PLAIN: keep over STLS with its
UIDL file, a flag rename, then delete over implicit TLS), curl (AUTH
PLAIN: LIST, RETR, UIDL and DELE over both).  A client that
is not installed is skipped with the reason.
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


def nall(t):
    return ncur(t) + len(os.listdir(os.path.join(t.md, "new")))


def count_mbox(path):
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        return sum(1 for ln in f if ln.startswith(b"From "))


def flag_rename(t, flags="S"):
    """What an IMAP server does when a message is read: new/ to cur/
    and the flags after ':2,' changed.  The number renamed."""
    n = 0
    for sub in ("new", "cur"):
        d = os.path.join(t.md, sub)
        for name in os.listdir(d):
            base = name.split(":", 1)[0]
            os.rename(os.path.join(d, name),
                      os.path.join(t.md, "cur", base + ":2," + flags))
            n += 1
    return n


def fetchmail(t, srv, keep, tls):
    rc = os.path.join(t.dir, "fetchmailrc")
    out = os.path.join(t.dir, "fetchmail.mbox")
    # implicit TLS: "ssl"; STLS: fetchmail's default with a TLS sslproto
    tlsopt = "ssl" if tls == "tls" else 'sslproto "tls1.2+"'
    with open(rc, "w") as f:
        f.write('set no bouncemail\nset no syslog\n'
                'poll 127.0.0.1 service %d protocol pop3 uidl '
                'auth password\n'
                '  user "u@tern.test" there with password "%s"\n'
                '  %s %s no sslcertck\n'
                '  mda "/bin/sh -c \'(echo From x; cat) >> %s\'"\n'
                % (srv.port, PASSWORD, "keep" if keep else "nokeep flush",
                   tlsopt, out))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=t.dir, FETCHMAILHOME=t.dir)
    r = subprocess.run(["fetchmail", "-f", rc, "--idfile",
                        os.path.join(t.dir, "fetchids"), "-N"],
                       capture_output=True, env=env, timeout=60)
    return r, count_mbox(out)


def test_fetchmail(t, stls, tls):
    if shutil.which("fetchmail") is None:
        ok(True, "# SKIP fetchmail not installed")
        return
    before = nall(t)
    r, n = fetchmail(t, stls, keep=True, tls="stls")
    ok(r.returncode == 0 and n == before, "fetchmail over STLS (keep) "
       "fetched %d of %d messages" % (n, before))
    if r.returncode != 0:
        diag(r.stdout.decode() + r.stderr.decode())
    is_(nall(t), before, "fetchmail keep: the messages stay")
    r, n2 = fetchmail(t, stls, keep=True, tls="stls")
    is_(n2, n, "fetchmail again with UIDL: nothing fetched twice "
        "(exit %d)" % r.returncode)
    flag_rename(t, "RS")
    r, n2 = fetchmail(t, tls, keep=True, tls="tls")
    is_(n2, n, "fetchmail over implicit TLS after an IMAP-style flag "
        "rename: nothing fetched twice (exit %d)" % r.returncode)
    deliver(t, t.md, body=b"third\n")
    r, n3 = fetchmail(t, tls, keep=False, tls="tls")
    is_(n3, n + 1, "fetchmail over implicit TLS (nokeep flush): only the "
        "new message is fetched")
    is_(nall(t), 0, "fetchmail nokeep: every message deleted")


def test_mpop(t, stls, tls):
    if shutil.which("mpop") is None:
        ok(True, "# SKIP mpop not installed")
        return
    for i in range(3):
        deliver(t, t.md, body=b"mpop %d\n" % i)
    conf = os.path.join(t.dir, "mpoprc")
    out = os.path.join(t.dir, "mpop.mbox")
    uidls = os.path.join(t.dir, "mpop.uidls")

    def run(srv, keep, starttls):
        with open(conf, "w") as f:
            f.write("account default\nhost 127.0.0.1\nport %d\n"
                    "user u@tern.test\npassword %s\nauth plain\n"
                    "tls on\ntls_starttls %s\ntls_certcheck off\n"
                    "delivery mbox %s\nuidls_file %s\nkeep %s\n"
                    % (srv.port, PASSWORD, "on" if starttls else "off",
                       out, uidls, "on" if keep else "off"))
        os.chmod(conf, 0o600)
        return subprocess.run(["mpop", "-C", conf, "-q"], capture_output=True,
                              timeout=60)
    r = run(stls, True, True)
    ok(r.returncode == 0 and count_mbox(out) == 3,
       "mpop over STLS with AUTH PLAIN fetched 3 (exit %d, %d)"
       % (r.returncode, count_mbox(out)))
    if r.returncode != 0:
        diag(r.stdout.decode() + r.stderr.decode())
    r = run(stls, True, True)
    is_(count_mbox(out), 3, "mpop again: its UIDL file says all seen")
    flag_rename(t, "S")
    r = run(tls, True, False)
    ok(r.returncode == 0 and count_mbox(out) == 3,
       "mpop over implicit TLS after a flag rename: nothing fetched twice "
       "(exit %d, %d)" % (r.returncode, count_mbox(out)))
    r = run(tls, False, False)
    is_(ncur(t), 0, "mpop over implicit TLS, keep off: the messages are "
        "deleted (exit %d)" % r.returncode)


def curl(args):
    return subprocess.run(["curl", "-s", "-S", "--max-time", "20",
                           "--insecure", "-u", "u@tern.test:" + PASSWORD] +
                          args, capture_output=True)


def test_curl(t, stls, tls):
    if shutil.which("curl") is None:
        ok(True, "# SKIP curl not installed")
        return
    deliver(t, t.md, body=b"curl one\n")
    deliver(t, t.md, body=b"curl two\n")
    su = "pop3://127.0.0.1:%d/" % stls.port
    iu = "pop3s://127.0.0.1:%d/" % tls.port
    plain = ["--login-options", "AUTH=PLAIN"]
    r = curl(["--ssl-reqd"] + plain + [su])
    is_(len(r.stdout.splitlines()), 2, "curl STLS, AUTH PLAIN: LIST shows "
        "two messages (%r)" % r.stderr[-200:])
    r = curl(["--ssl-reqd", su + "2"])
    ok(r.stdout.rstrip().endswith(b"curl two"), "curl STLS, the mechanism "
       "curl picks: RETR 2 (%r)" % r.stderr[-200:])
    r = curl(plain + ["-X", "UIDL", iu])
    ids = [ln.split()[1] for ln in r.stdout.splitlines() if ln.strip()]
    is_(sorted(ids), sorted(n.split(":")[0].encode() for n in
                            os.listdir(os.path.join(t.md, "cur"))),
        "curl implicit TLS, AUTH PLAIN: UIDL gives the base names")
    r = curl(plain + ["-X", "DELE", "-I", iu + "1"])
    is_(r.returncode, 0, "curl implicit TLS: DELE 1")
    is_(ncur(t), 1, "curl: one message left")


with Instance() as t:
    t.md = pop3lib.setup(t, insecure=False)
    if not t.have_certs:
        skip_all("openssl cannot make a certificate")
    for i in range(2):
        deliver(t, t.md, body=b"message %d\n" % i)
    stls = Server(t, "stls")
    tls = Server(t, "tls")
    test_fetchmail(t, stls, tls)
    test_mpop(t, stls, tls)
    test_curl(t, stls, tls)
done()
