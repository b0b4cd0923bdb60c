#!/usr/bin/env python3
"""tern-pop3-login + tern-checkpass + tern-pop3d under tern-listen, with
Python's poplib and a raw client: download, keep, delete, exact CRLF
sizes and dot-stuffing, TOP, UIDL stable across sessions and renames,
new/ moved to cur/, AUTH PLAIN, failed logins, IN-USE, no deletion
without QUIT, symlinks never served, the unprivileged pre-auth child,
which holds no descriptor of the connection while tern-pop3d runs (and
gets it back after a failed login).
"""
import base64
import os
import poplib
import pwd
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
from ternlib import Instance, ok, is_, diag, done, skip_all, wait_for  # noqa
import pop3lib  # noqa: E402
from pop3lib import Server, Raw, deliver, PASSWORD, ROOT  # noqa: E402

for prog in ("tern-pop3-login", "tern-pop3d", "tern-checkpass",
             "tern-listen"):
    if not os.access(os.path.join(ternlib.BIN, prog), os.X_OK):
        skip_all(prog + " is not built")


def crlf(data):
    """What POP3 sends for a file, before dot-stuffing."""
    out = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") \
        if b"\r" not in data else b"".join(
            (ln + b"\n" if ln.endswith(b"\r") else ln + b"\r\n")
            for ln in data.split(b"\n")[:-1]) + data.split(b"\n")[-1]
    if data and not data.endswith(b"\n"):
        out += b"\r\n"
    return out


def connect(srv):
    p = poplib.POP3("127.0.0.1", srv.port, timeout=15)
    p.user("u@tern.test")
    p.pass_(PASSWORD)
    return p


def files(md, sub="cur"):
    return sorted(os.listdir(os.path.join(md, sub)))


def test_download_keep(t, md, srv):
    bodies = [b"one\n", b"line\n.starts with a dot\n..two dots\nno newline",
              b"crlf already\r\nsecond\r\n", b"x" * 1500 + b"\n" * 3]
    names = [deliver(t, md, body=b, subject="m%d" % i)
             for i, b in enumerate(bodies)]
    datas = []
    for n in names:
        with open(os.path.join(md, "new", n), "rb") as f:
            datas.append(f.read())
    p = connect(srv)
    is_(files(md, "new"), [], "new/ is empty after login")
    is_(files(md), sorted(n + ":2," for n in names),
        "messages moved to cur/ with :2,")
    count, size = p.stat()
    is_(count, len(names), "STAT counts the messages")
    want = [len(crlf(d)) for d in datas]
    is_(size, sum(want), "STAT size is the exact CRLF octet count")
    resp, lst, _ = p.list()
    is_([int(x.split()[1]) for x in lst], want, "LIST sizes, per message")
    is_(p.list(2).split()[2], str(want[1]).encode(), "LIST 2")
    for i, d in enumerate(datas):
        resp, lines, octets = p.retr(i + 1)
        body = b"".join(ln + b"\r\n" for ln in lines)
        is_(body, crlf(d), "RETR %d: content, CRLF, dot-unstuffed" % (i + 1))
        ok(resp.startswith(b"+OK %d " % want[i]), "RETR %d: +OK <size>"
           % (i + 1))
    resp, lines, _ = p.top(2, 1)
    is_(lines, [b"From: a@example.org", b"To: u@tern.test", b"Subject: m1",
                b"", b"line"], "TOP 2 1: header, blank line, one line")
    resp, lines, _ = p.top(3, 0)
    is_(lines[-1], b"", "TOP 3 0 on a CRLF file: header and blank line")
    resp, uids, _ = p.uidl()
    is_([u.split()[1].decode() for u in uids], names,
        "UIDL is the Maildir base name")
    is_(p.quit(), b"+OK bye, 0 messages deleted", "QUIT")
    is_(len(files(md)), len(names), "nothing deleted: messages kept")
    return names


def test_uidl_stable(t, md, srv, names):
    p = connect(srv)
    first = [u.split()[1] for u in p.uidl()[1]]
    p.quit()
    # an IMAP client set flags: the info part of the name changes
    cur = os.path.join(md, "cur")
    for n in files(md):
        os.rename(os.path.join(cur, n), os.path.join(cur, n + "RS"))
    p = connect(srv)
    second = [u.split()[1] for u in p.uidl()[1]]
    is_(second, first, "UIDL unchanged after a rename to :2,RS (flags)")
    is_(p.uidl(1).split()[2], first[0], "UIDL 1")
    p.quit()
    is_(first, [n.encode() for n in names], "the same ids in every session")


def test_delete(t, md, srv):
    p = connect(srv)
    count, _ = p.stat()
    p.dele(1)
    p.dele(2)
    count2, _ = p.stat()
    is_(count2, count - 2, "STAT leaves out deleted messages")
    p.rset()
    is_(p.stat()[0], count, "RSET undeletes")
    p.dele(1)
    # another reader renames message 1 before QUIT: it still goes
    cur = os.path.join(md, "cur")
    first = files(md)[0]
    os.rename(os.path.join(cur, first), os.path.join(cur, first + "T"))
    resp = p.quit()
    ok(resp.startswith(b"+OK"), "QUIT after DELE: +OK")
    is_(len(files(md)), count - 1, "the deleted message is gone, even "
        "after its flags changed")


def test_no_quit_keeps(t, md, srv):
    before = files(md)
    r = Raw(srv.port)
    r.login()
    is_(r.cmd(b"DELE 1")[:3], b"+OK", "DELE 1")
    r.close()
    time.sleep(0.5)
    is_(files(md), before, "disconnect without QUIT after DELE: nothing "
        "deleted")


def test_auth_plain(t, md, srv):
    cred = base64.b64encode(b"\0u@tern.test\0" + PASSWORD.encode())
    r = Raw(srv.port)
    r.line()
    ok(r.cmd(b"AUTH PLAIN " + cred).startswith(b"+OK"),
       "AUTH PLAIN with an initial response")
    ok(r.cmd(b"STAT").startswith(b"+OK "), "STAT after AUTH PLAIN")
    r.cmd(b"QUIT")
    r.close()
    r = Raw(srv.port)
    r.line()
    is_(r.cmd(b"AUTH PLAIN"), b"+ ", "AUTH PLAIN without: a + prompt")
    ok(r.cmd(cred).startswith(b"+OK"), "the response after the prompt")
    r.cmd(b"QUIT")
    r.close()
    r = Raw(srv.port)
    r.line()
    r.cmd(b"AUTH PLAIN")
    is_(r.cmd(b"*"), b"-ERR authentication cancelled", "AUTH cancelled by *")
    bad = base64.b64encode(b"\0u@tern.test\0wrong")
    is_(r.cmd(b"AUTH PLAIN " + bad), b"-ERR [AUTH] authentication failed",
        "AUTH PLAIN with a wrong password: -ERR [AUTH]")
    is_(r.cmd(b"AUTH PLAIN !!!!"), b"-ERR malformed authentication response",
        "bad base64")
    is_(r.cmd(b"AUTH CRAM-MD5"), b"-ERR unrecognized authentication "
        b"mechanism", "unknown mechanism")
    r.close()


def test_failures(t, md, srv):
    t.set("pop3faildelay", "1")
    r = Raw(srv.port)
    r.line()
    r.cmd(b"USER u@tern.test")
    t0 = time.monotonic()
    a = r.cmd(b"PASS nope")
    dt = time.monotonic() - t0
    is_(a, b"-ERR [AUTH] authentication failed", "a wrong password: "
        "-ERR [AUTH]")
    ok(dt >= 0.9, "the failure is answered after the delay (%.2f s)" % dt)
    r.close()
    t.set("pop3faildelay", "0")
    r = Raw(srv.port)
    r.line()
    for i in range(2):
        r.cmd(b"USER nobody@tern.test")
        is_(r.cmd(b"PASS x")[:11], b"-ERR [AUTH]", "failure %d" % (i + 1))
    r.cmd(b"USER u@tern.test")
    last = r.cmd(b"PASS x")
    ok(last.startswith(b"-ERR [AUTH]"), "third failure: -ERR [AUTH]")
    ok(r.closed(), "the third failure disconnects")
    r.close()


def test_in_use(t, md, srv):
    p = connect(srv)
    r = Raw(srv.port)
    a, b = r.login()
    ok(b.startswith(b"-ERR [IN-USE]"), "a second session: -ERR [IN-USE] "
       "(%r)" % b)
    ok(r.closed(), "and the connection closes")
    r.close()
    p.quit()
    p = connect(srv)
    ok(p.stat()[0] >= 0, "after QUIT the mailbox can be opened again")
    p.quit()
    ok(not os.path.exists(os.path.join(md, "tern-pop3.lock")),
       "the lock is removed at the end")


def test_stale_lock(t, md, srv):
    lock = os.path.join(md, "tern-pop3.lock")
    with open(lock, "w") as f:
        f.write("%d %s\n" % (4999999, socket.gethostname()))
    p = connect(srv)
    ok(p.stat()[0] >= 0, "a lock of a dead process on this host is stale")
    p.quit()
    with open(lock, "w") as f:
        f.write("%d otherhost.example\n" % os.getpid())
    old = time.time() - 3600
    os.utime(lock, (old, old))
    p = connect(srv)
    ok(p.stat()[0] >= 0, "a lock not renewed for an hour is stale")
    p.quit()


def test_symlink(t, md, srv):
    secret = os.path.join(t.dir, "secret")
    with open(secret, "wb") as f:
        f.write(b"Subject: secret\n\nTOPSECRET\n")
    os.symlink(secret, os.path.join(md, "cur", "1.Msym.tern.test:2,S"))
    os.symlink(secret, os.path.join(md, "new", "2.Msym.tern.test"))
    p = connect(srv)
    count = p.stat()[0]
    got = b""
    for i in range(count):
        got += b"\n".join(p.retr(i + 1)[1])
    uids = b" ".join(p.uidl()[1])
    p.quit()
    ok(b"TOPSECRET" not in got and b"Msym" not in uids,
       "a symlink in cur/ or new/ pointing outside is never served")
    ok(os.path.islink(os.path.join(md, "new", "2.Msym.tern.test")),
       "a symlink in new/ is not moved")
    os.unlink(os.path.join(md, "cur", "1.Msym.tern.test:2,S"))
    os.unlink(os.path.join(md, "new", "2.Msym.tern.test"))


def test_pipelined_login(t, md, srv):
    r = Raw(srv.port)
    r.line()
    r.send(b"USER u@tern.test\r\nPASS " + PASSWORD.encode() +
           b"\r\nSTAT\r\nNOOP\r\nQUIT\r\n")
    got = [r.line() for _ in range(5)]
    ok(got[0].startswith(b"+OK") and got[1].startswith(b"+OK logged in") and
       got[2].startswith(b"+OK ") and got[3] == b"+OK" and
       got[4].startswith(b"+OK bye"), "commands pipelined with the login "
       "reach tern-pop3d (%r)" % got)
    r.close()


def test_capa(t, md, srv):
    r = Raw(srv.port)
    r.line()
    r.cmd(b"CAPA")
    capa = r.multi()
    for c in (b"TOP", b"UIDL", b"USER", b"SASL PLAIN", b"RESP-CODES",
              b"AUTH-RESP-CODE", b"PIPELINING", b"IMPLEMENTATION tern"):
        ok(c in capa, "CAPA before login lists " + c.decode())
    ok(b"STLS" not in capa, "no STLS without tern-tlsd")
    r.cmd(b"USER u@tern.test")
    r.cmd(b"PASS " + PASSWORD.encode())
    r.cmd(b"CAPA")
    capa = r.multi()
    ok(b"TOP" in capa and b"USER" not in capa and b"STLS" not in capa,
       "CAPA after login: TOP, no USER, no STLS")
    r.cmd(b"QUIT")
    r.close()


def test_preauth_user(t, srv):
    if not ROOT:
        ok(True, "# SKIP not root: nothing to drop")
        return
    r = Raw(srv.port)
    r.line()
    c = wait_for(lambda: (lambda c: c["parser"] and c)(
        pop3lib.chain(srv.p.pid)), timeout=5) or {}
    # (a session of an earlier test may still be ending: check them all)
    fr, pa = c.get("front", []), c.get("parser", [])
    lgid = pwd.getpwnam(pop3lib.LOGIN_USER).pw_gid
    ok(fr and pa and all(set(p["uids"]) == {0} for p in fr) and
       all(set(p["uids"]) == {pop3lib.LOGIN_UID} and
           set(p["gids"]) == {lgid} for p in pa),
       "the pre-auth parser runs as pop3loginuser %s, its parent as root "
       "(%r)" % (pop3lib.LOGIN_USER, c))
    r.cmd(b"USER u@tern.test")
    r.cmd(b"PASS " + PASSWORD.encode())
    c = wait_for(lambda: (lambda c: c["pop3d"] and c)(
        pop3lib.chain(srv.p.pid)), timeout=5) or {}
    pd = c.get("pop3d", [])
    ok(pd and all(set(p["uids"]) == {t.uid} and set(p["gids"]) == {t.gid}
                  for p in pd),
       "tern-pop3d runs as the mailbox owner (%r)" % pd)
    r.cmd(b"QUIT")
    r.close()


def test_parser_lets_go(t, md, srv):
    """The parser hands the connection over with the credentials and
    keeps no copy: a session cannot be read or written by it."""
    r = Raw(srv.port)
    r.line()
    r.cmd(b"USER u@tern.test")
    bad = r.cmd(b"PASS wrong")
    r.cmd(b"USER u@tern.test")
    good = r.cmd(b"PASS " + PASSWORD.encode())
    ok(bad.startswith(b"-ERR [AUTH]") and good.startswith(b"+OK logged in"),
       "after a failed login the parser has the connection back and the "
       "next login works (%r, %r)" % (bad, good))
    c = wait_for(lambda: (lambda c: c["pop3d"] and c)(
        pop3lib.chain(srv.p.pid)), timeout=5) or pop3lib.chain(srv.p.pid)
    conn, held = pop3lib.conn_held(c)
    ok(c["parser"] and conn and not held,
       "while tern-pop3d runs, no pre-auth parser holds the connection "
       "(%r)" % held)
    ok(r.cmd(b"STAT").startswith(b"+OK"), "and the session goes on")
    r.cmd(b"QUIT")
    r.close()


def test_plain_refused(t, md):
    t.set("pop3insecure", "0")
    srv = Server(t, "plain")
    r = Raw(srv.port)
    r.line()
    r.cmd(b"CAPA")
    capa = r.multi()
    ok(b"USER" not in capa and b"SASL PLAIN" not in capa,
       "without TLS and pop3insecure: no USER, no SASL in CAPA")
    ok(r.cmd(b"USER u@tern.test").startswith(b"-ERR [AUTH]"),
       "USER refused without TLS")
    ok(r.cmd(b"AUTH PLAIN AHVAdGVybi50ZXN0AHg=").startswith(b"-ERR [AUTH]"),
       "AUTH PLAIN refused without TLS")
    r.close()
    t.set("pop3insecure", "1")


def test_minuid(t, md, srv):
    t.set("pop3minuid", "4294967294")
    r = Raw(srv.port)
    a, b = r.login()
    ok(b.startswith(b"-ERR [SYS/PERM]"), "a uid below pop3minuid is "
       "refused (%r)" % b)
    r.close()
    t.set("pop3minuid", "1")


def test_root_refused(t, md, srv):
    """uid 0 is never a mailbox owner: tern-checkpass refuses such an
    entry, and tern-pop3d refuses to run as root at all."""
    h = open(os.path.join(t.control, "passwd")).read().split(":")[1]
    with open(os.path.join(t.control, "passwd"), "a") as f:
        f.write("zero@tern.test:%s:0:0:%s\n" % (h, md))
    r = Raw(srv.port)
    a, b = r.login(user="zero@tern.test")
    ok(b.startswith(b"-ERR [AUTH]"), "a passwd entry with uid 0 cannot "
       "log in (%r)" % b)
    r.close()
    if not ROOT:
        ok(True, "# SKIP not root: tern-pop3d cannot be started as root")
        return
    import subprocess
    env = t.env(MAILDIR=md, USER="root")
    p = subprocess.run([t.bin("tern-pop3d")], stdin=subprocess.DEVNULL,
                       capture_output=True, env=env, timeout=20)
    ok(p.returncode == 100 and p.stdout.startswith(
        b"-ERR [SYS/PERM] refusing to serve a mailbox as root"),
       "tern-pop3d started as root refuses (exit %d, %r)" % (
           p.returncode, p.stdout))


def test_idle(t, md, srv):
    """Autologout (RFC 1939 3): 600 s by default, control pop3timeout
    here, before and after login; nothing is deleted."""
    t.set("pop3timeout", "1")
    r = Raw(srv.port)
    r.line()
    t0 = time.time()
    is_(r.line(), b"-ERR autologout: idle for too long",
        "idle before login: -ERR autologout")
    ok(r.closed() and time.time() - t0 < 5,
       "and the connection is closed (%.1f s)" % (time.time() - t0))
    r.close()
    r = Raw(srv.port)
    a, b = r.login()
    r.cmd(b"DELE 1")
    t0 = time.time()
    is_(r.line(), b"-ERR autologout: idle for too long",
        "idle after login: -ERR autologout")
    ok(r.closed() and time.time() - t0 < 5,
       "and the connection is closed (%.1f s)" % (time.time() - t0))
    r.close()
    t.set("pop3timeout", "600")
    p = connect(srv)
    n = p.stat()[0]
    p.quit()
    ok(n >= 1 and b.startswith(b"+OK logged in, %d " % n),
       "the DELE before the autologout deleted nothing (%d, %r)" % (n, b))


def test_inetd(t, md):
    """inetd: the socket on fds 0, 1 and 2, no UCSPI variables."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    c = socket.create_connection(ls.getsockname(), timeout=10)
    conn, _ = ls.accept()
    env = t.env()
    for v in ("PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP",
              "TCPLOCALPORT"):
        env.pop(v, None)
    import subprocess
    p = subprocess.Popen([t.bin("tern-pop3-login"), t.bin("tern-checkpass"),
                          t.bin("tern-pop3d")], stdin=conn, stdout=conn,
                         stderr=conn, env=env)
    conn.close()
    r = Raw.__new__(Raw)
    r.s, r.buf = c, b""
    got = [r.line()]
    r.cmd(b"USER u@tern.test")
    got.append(r.cmd(b"PASS " + PASSWORD.encode()))
    got.append(r.cmd(b"STAT")[:3])
    c = pop3lib.chain(os.getpid())
    conn, held = pop3lib.conn_held(c)
    ok(c["parser"] and conn and not held,
       "under inetd the parser holds neither fds 0/1 nor the socket on fd 2 "
       "while tern-pop3d runs (%r)" % held)
    got.append(r.cmd(b"QUIT")[:7])
    r.send(b"")
    ok(got[0] == b"+OK tern POP3 server ready" and
       got[1].startswith(b"+OK logged in") and got[2] == b"+OK" and
       got[3] == b"+OK bye", "under inetd (stderr is the socket): no log "
       "line reaches the client (%r)" % got)
    is_(p.wait(timeout=10), 0, "tern-pop3-login exits 0 after the session")
    r.close()
    ls.close()


with Instance() as t:
    md = pop3lib.setup(t)
    srv = Server(t, "plain")
    names = test_download_keep(t, md, srv)
    test_uidl_stable(t, md, srv, names)
    test_delete(t, md, srv)
    test_no_quit_keeps(t, md, srv)
    test_auth_plain(t, md, srv)
    test_failures(t, md, srv)
    test_in_use(t, md, srv)
    test_stale_lock(t, md, srv)
    test_symlink(t, md, srv)
    test_pipelined_login(t, md, srv)
    test_capa(t, md, srv)
    test_preauth_user(t, srv)
    test_parser_lets_go(t, md, srv)
    test_minuid(t, md, srv)
    test_idle(t, md, srv)
    test_root_refused(t, md, srv)
    test_plain_refused(t, md)
    test_inetd(t, md)
    ok("login failed" in srv.log() and "session end" in srv.log(),
       "failed logins and sessions are logged")
done()
