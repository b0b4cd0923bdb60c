#!/usr/bin/env python3
# tern-remote with several messages in one run (argv parts after "+",
# message k >= 1 on fd 3 + k): one connection and one transaction per
# message, RSET between them, a new connection when the server drops,
# per-message DSN options, one deferral for all when no host works.
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from smtpserver import SMTPServer  # noqa: E402
from ternlib import Instance, done, is_, ok  # noqa: E402


def parse(out):
    """Result records -> [(letter, status, text)...] in order."""
    f = out.split(b"\0")
    return [(f[i].decode(), f[i + 1].decode(), f[i + 2].decode())
            for i in range(0, len(f) - 1, 3)]


def run_batch(t, srv, msgs, domain="example.net", route=None):
    """msgs: [(opts, sender, rcpts, body)]; returns (exit, recs, err)."""
    if route is None:
        route = "%s [%s]:%d" % (domain, srv.host, srv.port)
    t.set("smtproutes", route)
    argv = [t.bin("tern-remote")]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    redir = []
    for k, (opts, sender, rcpts, body) in enumerate(msgs):
        path = os.path.join(t.dir, "msg%d" % k)
        with open(path, "wb") as f:
            f.write(body)
        if k > 0:
            argv.append("+")
        argv += list(opts) + ([domain] if k == 0 else []) + [sender] + \
            list(rcpts)
        redir.append("%d<%s" % (0 if k == 0 else 3 + k, path))
    # the shell puts message k on its fd, then becomes tern-remote
    r = subprocess.run(["sh", "-c", 'exec "$@" ' + " ".join(redir), "sh"] +
                       argv, capture_output=True, env=t.env(), timeout=60)
    return r.returncode, parse(r.stdout), r.stderr.decode("utf-8",
                                                           "replace")


def wait_closed(srv):
    end = time.monotonic() + 5
    while time.monotonic() < end and not all(s.closed for s in
                                             srv.sessions):
        time.sleep(0.02)


def verbs(s):
    return [c.split(b" ")[0] for c in s.cmds]


def body(k):
    return b"Subject: m%d\n\n.dot line %d\nend\n" % (k, k)


def wire(k):
    return b"Subject: m%d\r\n\r\n..dot line %d\r\nend\r\n" % (k, k)


def test_one_connection(t, pipelining):
    ehlo = ("PIPELINING", "SIZE 1000000") if pipelining else ()
    what = "pipelining" if pipelining else "no pipelining"
    srv = SMTPServer("127.0.0.2", ehlo=ehlo)
    try:
        msgs = [((), "s%d@example.org" % k, ["u%d@example.net" % k,
                                              "v%d@example.net" % k],
                 body(k)) for k in range(3)]
        rc, recs, err = run_batch(t, srv, msgs)
        wait_closed(srv)
        is_(rc, 0, "%s: exit 0" % what)
        is_([r[0] for r in recs], ["K", "K", "MK"] * 3,
            "%s: per message its recipients then its M record" % what)
        is_(len(srv.sessions), 1, "%s: one connection for 3 messages" %
            what)
        s = srv.sessions[0]
        want = [b"EHLO"] + [b"MAIL", b"RCPT", b"RCPT", b"DATA"] + \
            2 * [b"RSET", b"MAIL", b"RCPT", b"RCPT", b"DATA"] + [b"QUIT"]
        is_(verbs(s), want, "%s: three transactions, RSET between, one "
            "QUIT" % what)
        is_([c for c in s.cmds if c.startswith(b"MAIL")][2].split(b" ")[1],
            b"FROM:<s2@example.org>", "%s: each message its sender" % what)
        is_(s.data, [wire(0), wire(1), wire(2)],
            "%s: exact DATA of each message, in order" % what)
    finally:
        srv.stop()


def test_drop_reconnect(t):
    srv = SMTPServer("127.0.0.2", drop_after=1)
    try:
        msgs = [((), "a@example.org", ["u%d@example.net" % k], body(k))
                for k in range(3)]
        rc, recs, err = run_batch(t, srv, msgs)
        wait_closed(srv)
        is_([r[0] for r in recs], ["K", "MK"] * 3,
            "drop after message 1: every message delivered")
        is_(len(srv.sessions), 2, "drop after message 1: one new "
            "connection")
        got = [d for s in srv.sessions for d in s.data]
        is_(got, [wire(0), wire(1), wire(2)],
            "drop after message 1: each message exactly once, in order")
        is_(verbs(srv.sessions[1])[:2], [b"EHLO", b"MAIL"],
            "drop after message 1: a fresh session, no RSET first")
    finally:
        srv.stop()


def test_drop_at_rcpt(t):
    """The reused connection dies after the next MAIL was accepted:
    nothing of that message went out, so it is sent over a new
    connection, not deferred."""
    srv = SMTPServer("127.0.0.2", ehlo=(), drop_at_rcpt=1)
    try:
        msgs = [((), "s%d@example.org" % k, ["u%d@example.net" % k],
                 body(k)) for k in range(2)]
        rc, recs, err = run_batch(t, srv, msgs)
        wait_closed(srv)
        is_([r[0] for r in recs], ["K", "MK", "K", "MK"],
            "drop at RCPT: both messages delivered")
        is_(len(srv.sessions), 2, "drop at RCPT: a second connection")
        is_([len(x.data) for x in srv.sessions], [1, 1],
            "drop at RCPT: each message sent once")
    finally:
        srv.stop()


def test_rset_421(t):
    srv = SMTPServer("127.0.0.2", rset="421 4.3.2 going away")
    try:
        msgs = [((), "a@example.org", ["u%d@example.net" % k], body(k))
                for k in range(2)]
        rc, recs, err = run_batch(t, srv, msgs)
        wait_closed(srv)
        is_([r[0] for r in recs], ["K", "MK"] * 2,
            "RSET refused with 421: the next message on a new connection")
        is_([len(s.data) for s in srv.sessions], [1, 1],
            "RSET refused: nothing sent twice, nothing lost")
    finally:
        srv.stop()


def test_dsn(t):
    srv = SMTPServer("127.0.0.2", ehlo=("PIPELINING", "DSN"))
    try:
        msgs = [(("-R", "FULL", "-E", "id0", "-N", "0:NEVER"),
                 "a@example.org", ["u0@example.net"], body(0)),
                (("-R", "HDRS", "-N", "1:SUCCESS,DELAY", "-O",
                  "1:rfc822;x+2By@example.net"), "b@example.org",
                 ["u1@example.net", "w1@example.net"], body(1)),
                ((), "#@[]", ["u2@example.net"], body(2))]
        rc, recs, err = run_batch(t, srv, msgs)
        wait_closed(srv)
        s = srv.sessions[0]
        mails = [c for c in s.cmds if c.startswith(b"MAIL")]
        rcpts = [c for c in s.cmds if c.startswith(b"RCPT")]
        is_(mails, [b"MAIL FROM:<a@example.org> RET=FULL ENVID=id0",
                    b"MAIL FROM:<b@example.org> RET=HDRS",
                    b"MAIL FROM:<>"], "DSN: RET and ENVID per message")
        is_(rcpts, [b"RCPT TO:<u0@example.net> NOTIFY=NEVER",
                    b"RCPT TO:<u1@example.net>",
                    b"RCPT TO:<w1@example.net> NOTIFY=SUCCESS,DELAY "
                    b"ORCPT=rfc822;x+2By@example.net",
                    b"RCPT TO:<u2@example.net>"],
            "DSN: -N/-O indexes count within their message")
        is_(len(recs), 7, "DSN: 4 recipient and 3 message records")
    finally:
        srv.stop()


def test_all_down(t):
    srv = SMTPServer("127.0.0.2")
    port = srv.port
    srv.stop()      # nothing listens there now
    msgs = [((), "a@example.org", ["u%d@example.net" % k], body(k))
            for k in range(3)]
    rc, recs, err = run_batch(t, None, msgs,
                              route="example.net [127.0.0.2]:%d" % port)
    is_([r[0] for r in recs], ["Z", "MZ"] * 3, "no host: every message "
        "deferred")
    ok(len(set((r[1], r[2]) for r in recs)) == 1 and recs[0][1] ==
       "4.4.1", "no host: the same 4.4.1 deferral for each")
    tries = [l for l in err.splitlines() if "Connection refused" in l and
             "to=<" not in l]
    is_(len(tries), 1, "no host: tried once for the whole run")


def test_bad_args(t):
    base = [t.bin("tern-remote")] + (["-u", "nobody"] if os.geteuid() == 0
                                     else [])
    cases = [(["example.net", "a@b", "u@example.net", "+"], "empty part"),
             (["example.net", "a@b", "u@example.net", "+", "a@b"],
              "part without recipient"),
             (["example.net", "a@b", "u@example.net", "+", "-u", "x", "a@b",
               "v@example.net"], "-u in a later part"),
             (["example.net", "a@b", "u@example.net"] +
              ["+", "a@b", "v@example.net"] * 32, "33 messages")]
    for argv, what in cases:
        r = subprocess.run(base + argv, stdin=subprocess.DEVNULL,
                           capture_output=True, env=t.env(), timeout=20)
        ok(r.returncode == 111 and r.stdout == b"", "usage error: " + what)


def test_dash_addresses(t):
    """Addresses may start with '-' (RFC 5322): never options.  tern-send
    ends each part's options with "--"; recipients after the domain are
    operands even without it."""
    srv = SMTPServer("127.0.0.2")
    try:
        msgs = [(("--",), "s0@example.org", ["-Ex@example.net",
                                             "y@example.net"], body(0)),
                (("--",), "-Rz@example.org", ["-Nw@example.net"], body(1))]
        rc, recs, err = run_batch(t, srv, msgs)
        wait_closed(srv)
        is_(rc, 0, "dash addresses: exit 0")
        is_([r[0] for r in recs], ["K", "K", "MK", "K", "MK"],
            "dash addresses: one record per recipient, then each M")
        rcpts = [c for s in srv.sessions for c in s.cmds
                 if c.startswith(b"RCPT")]
        is_([c.split(b" ")[1] for c in rcpts],
            [b"TO:<-Ex@example.net>", b"TO:<y@example.net>",
             b"TO:<-Nw@example.net>"],
            "dash addresses: each sent as a recipient")
        mails = [c for s in srv.sessions for c in s.cmds
                 if c.startswith(b"MAIL")]
        ok(len(mails) == 2 and mails[1].split(b" ")[1] ==
           b"FROM:<-Rz@example.org>", "dash addresses: a sender starting "
           "with -R is the sender")
    finally:
        srv.stop()


def main():
    with Instance() as t:
        test_dash_addresses(t)
        test_one_connection(t, True)
        test_one_connection(t, False)
        test_drop_reconnect(t)
        test_drop_at_rcpt(t)
        test_rset_421(t)
        test_dsn(t)
        test_all_down(t)
        test_bad_args(t)
    done()


main()
