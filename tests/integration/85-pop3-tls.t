#!/usr/bin/env python3
"""tern-pop3-login behind tern-tlsd: STLS (poplib, curl), implicit TLS
(poplib, curl pop3s://), plaintext pipelined after STLS never executed,
STLS after USER refused, login only under TLS without pop3insecure;
as root, the privileges of each process of both chains during a session
and the key only in the relay's memory; tern-tlsd gone after STLS's 'Y'
(logged with the system's reason).
"""
import base64
import os
import poplib
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
from ternlib import Instance, ok, is_, done, skip_all, wait_for  # noqa: E402
import pop3lib  # noqa: E402
from pop3lib import Server, Raw, deliver, PASSWORD, ctx  # noqa: E402

for prog in ("tern-pop3-login", "tern-pop3d", "tern-checkpass",
             "tern-listen", "tern-tlsd"):
    if not os.access(os.path.join(ternlib.BIN, prog), os.X_OK):
        skip_all(prog + " is not built")


def test_stls_poplib(t, srv):
    p = poplib.POP3("127.0.0.1", srv.port, timeout=15)
    capa = p.capa()
    ok("STLS" in capa and "USER" not in capa and "SASL" not in capa,
       "before TLS: STLS offered, USER and SASL not (%r)" % sorted(capa))
    try:
        p.user("u@tern.test")
        ok(False, "USER before STLS refused")
    except poplib.error_proto as e:
        ok(str(e).startswith("b'-ERR [AUTH]"), "USER before STLS refused")
    p.stls(context=ctx())
    capa = p.capa()
    ok("STLS" not in capa and "USER" in capa and "SASL" in capa,
       "after STLS: USER and SASL PLAIN, no STLS")
    p.user("u@tern.test")
    p.pass_(PASSWORD)
    count, size = p.stat()
    is_(count, 2, "STAT over STLS")
    resp, lines, _ = p.retr(1)
    is_(lines[-1], b"first", "RETR over STLS")
    p.quit()


def test_implicit(t, srv):
    p = poplib.POP3_SSL("127.0.0.1", srv.port, timeout=15, context=ctx())
    capa = p.capa()
    ok("STLS" not in capa and "USER" in capa, "implicit TLS: USER, no STLS")
    p.user("u@tern.test")
    p.pass_(PASSWORD)
    is_(p.stat()[0], 2, "STAT over implicit TLS")
    is_(p.uidl()[1][0].split()[1], t.names[0].encode(),
        "UIDL over implicit TLS")
    p.quit()
    r = Raw(srv.port, tls=True)
    r.line()
    cred = base64.b64encode(b"\0u@tern.test\0" + PASSWORD.encode())
    ok(r.cmd(b"AUTH PLAIN " + cred).startswith(b"+OK"),
       "AUTH PLAIN over implicit TLS")
    r.cmd(b"QUIT")
    r.close()


def test_pipelined_stls(t, srv):
    r = Raw(srv.port)
    r.line()
    r.send(b"STLS\r\nUSER u@tern.test\r\nPASS " + PASSWORD.encode() +
           b"\r\nDELE 1\r\nQUIT\r\n")
    is_(r.line(), b"+OK begin TLS negotiation", "STLS: +OK in plaintext")
    is_(r.buf, b"", "nothing else came in plaintext")
    r.s = ctx().wrap_socket(r.s, server_hostname="tern.test")
    is_(r.cmd(b"PASS " + PASSWORD.encode()), b"-ERR send USER first",
        "the USER sent with STLS was never executed")
    r.cmd(b"QUIT")
    r.close()
    is_(len(os.listdir(os.path.join(t.md, "cur"))), 2,
        "and the pipelined DELE never ran")


def test_stls_after_user(t, srv):
    t.set("pop3insecure", "1")
    r = Raw(srv.port)
    r.line()
    r.cmd(b"USER u@tern.test")
    is_(r.cmd(b"STLS"), b"-ERR STLS not allowed after USER",
        "STLS after USER")
    r.close()
    t.set("pop3insecure", "0")


def test_poplib_delete(t, srv):
    """poplib over implicit TLS with AUTH PLAIN: keep, then delete."""
    name = deliver(t, t.md, body=b"to delete\n")
    cred = base64.b64encode(b"\0u@tern.test\0" + PASSWORD.encode())
    p = poplib.POP3_SSL("127.0.0.1", srv.port, timeout=15, context=ctx())
    ok(p._shortcmd("AUTH PLAIN " + cred.decode()).startswith(b"+OK"),
       "poplib: AUTH PLAIN over implicit TLS")
    ids = dict(x.split() for x in p.uidl()[1])
    num = [n for n, u in ids.items() if u == name.encode()]
    is_(len(num), 1, "poplib: the new message is listed by its base name")
    p.dele(int(num[0]))
    p.quit()
    left = os.listdir(os.path.join(t.md, "cur"))
    ok(not [n for n in left if n.startswith(name)] and len(left) == 2,
       "poplib: DELE and QUIT removed it, the others stay (%r)" % left)


def uids_are(procs, uid):
    # (a session of an earlier test may still be ending: check them all)
    return procs and all(set(p["uids"]) == {uid} for p in procs)


def test_privileges(t, srv, mode):
    """As root, during a session: the relay holds the key as -U, the
    front keeps root, the parser and tern-pop3d are unprivileged."""
    if not pop3lib.ROOT:
        ok(True, "# SKIP %s: not root, nothing to drop" % mode)
        return
    r = Raw(srv.port, tls=mode == "tls")
    r.line()
    if mode == "stls":
        r.cmd(b"STLS")
        r.s = ctx().wrap_socket(r.s, server_hostname="tern.test")
    pre = wait_for(lambda: (lambda c: c["parser"] and c["relay"] and c)(
        pop3lib.chain(srv.p.pid)), timeout=5) or {}
    ok(uids_are(pre.get("relay", []), pop3lib.RELAY_UID),
       "%s: the relay runs as -U %s (%r)" % (mode, pop3lib.RELAY_USER,
                                            pre.get("relay")))
    relay = pre["relay"][0]["pid"] if pre.get("relay") else None
    ok(relay and os.stat("/proc/%d/status" % relay).st_uid == 0,
       "%s: the relay is not dumpable (its /proc files are root's)" % mode)
    ok(uids_are(pre.get("front", []), 0),
       "%s: tern-pop3-login's front keeps root (-u root)" % mode)
    ok(uids_are(pre.get("parser", []), pop3lib.LOGIN_UID),
       "%s: the pre-auth parser runs as %s (%r)" % (
           mode, pop3lib.LOGIN_USER, pre.get("parser")))
    r.cmd(b"USER u@tern.test")
    ok(r.cmd(b"PASS " + PASSWORD.encode()).startswith(b"+OK"),
       "%s: logged in" % mode)
    post = wait_for(lambda: (lambda c: c["pop3d"] and c)(
        pop3lib.chain(srv.p.pid)), timeout=5) or {}
    pd = post.get("pop3d", [])
    ok(uids_are(pd, t.uid) and all(set(p["gids"]) == {t.gid} for p in pd),
       "%s: tern-pop3d runs as the mailbox owner (%r)" % (mode, pd))
    pats = pop3lib.key_secret(os.path.join(t.certs, "default.key"))
    found = pop3lib.mem_has(relay, pats) if pats and relay else None
    if not found:
        ok(True, "# SKIP %s: cannot find the key in the relay's memory "
           "(%r), so cannot look for it elsewhere" % (mode, found))
    else:
        others = pre.get("front", []) + pre.get("parser", []) + pd
        got = [(p["name"], pop3lib.mem_has(p["pid"], pats)) for p in others]
        ok(len(got) >= 3 and all(g is False for _, g in got),
           "%s: the key is in the relay's memory and in no other "
           "process of the chain (%r)" % (mode, got))
    r.cmd(b"QUIT")
    r.close()


def curl(args):
    return subprocess.run(["curl", "-s", "-S", "--max-time", "20",
                           "--insecure"] + args, capture_output=True)


def test_curl(t, stls, tls):
    if shutil.which("curl") is None:
        ok(True, "# SKIP curl not installed")
        return
    user = ["-u", "u@tern.test:" + PASSWORD]
    r = curl(user + ["--ssl-reqd",
                     "pop3://127.0.0.1:%d/1" % stls.port])
    ok(r.returncode == 0 and r.stdout.rstrip().endswith(b"first"),
       "curl pop3:// with STLS (--ssl-reqd): RETR (%r)" % r.stderr[-200:])
    r = curl(user + ["pop3s://127.0.0.1:%d/" % tls.port])
    is_(r.stdout.split(b"\r\n")[:2], [b"1 %d" % t.sizes[0],
                                      b"2 %d" % t.sizes[1]],
        "curl pop3s:// LIST")
    r = curl(user + ["-X", "UIDL", "pop3s://127.0.0.1:%d/" % tls.port])
    ok(t.names[1].encode() in r.stdout, "curl pop3s:// UIDL")


def test_stls_ctl_gone(t):
    """The control socket closes after 'Y' without any reply: STLS
    fails, the log says why (no uninitialised reply is printed), and
    the connection ends."""
    import socket
    cli, srv_end = socket.socketpair()
    ctl, ctl_end = socket.socketpair()
    env = t.env(TERN_TLSCTL=str(ctl_end.fileno()))
    env.pop("TERN_TLS", None)
    logpath = os.path.join(t.dir, "ctl-gone.log")
    with open(logpath, "wb") as logf:
        p = subprocess.Popen([t.bin("tern-pop3-login"),
                              t.bin("tern-checkpass"), t.bin("tern-pop3d")],
                             stdin=srv_end, stdout=srv_end, stderr=logf,
                             env=env, pass_fds=(ctl_end.fileno(),))
    srv_end.close()
    ctl_end.close()
    r = Raw.__new__(Raw)
    r.s, r.buf = cli, b""
    cli.settimeout(10)
    r.line()
    go = r.cmd(b"STLS")
    ctl.settimeout(10)
    y = ctl.recv(1)
    ctl.close()
    ok(go.startswith(b"+OK") and y == b"Y", "STLS: +OK, then 'Y' on the "
       "control socket (%r, %r)" % (go, y))
    ok(r.closed(), "tern-tlsd gone: the connection ends")
    r.close()
    is_(p.wait(timeout=10), 0, "tern-pop3-login exits")
    with open(logpath, "rb") as f:
        log = f.read().decode("latin-1")
    ok("warning: STLS failed: Connection reset by peer\n" in log,
       "logged with the reason (%r)" % log)


with Instance() as t:
    t.md = pop3lib.setup(t, insecure=False)
    if not t.have_certs:
        skip_all("openssl cannot make a certificate")
    t.names = [deliver(t, t.md, body=b"first\n"),
               deliver(t, t.md, body=b"second\n.dot\n")]
    t.sizes = []
    for n in t.names:
        with open(os.path.join(t.md, "new", n), "rb") as f:
            d = f.read()
        t.sizes.append(len(d) + d.count(b"\n"))
    stls = Server(t, "stls")
    tls = Server(t, "tls")
    test_stls_poplib(t, stls)
    test_implicit(t, tls)
    test_pipelined_stls(t, stls)
    test_stls_after_user(t, stls)
    test_curl(t, stls, tls)
    test_poplib_delete(t, tls)
    test_privileges(t, stls, "stls")
    test_privileges(t, tls, "tls")
    test_stls_ctl_gone(t)
done()
