#!/usr/bin/env python3
"""Bad input to tern-pop3-login and tern-pop3d, each its own test:
RETR 0, RETR 4294967297, TOP 1 -1, DELE 1 then RETR 1, LIST 99999,
lines of 1 KiB and 1 MiB (before and after login), commands before
login, STLS followed by USER x in the same write, STLS after USER,
disconnect without QUIT after DELE, a symlink in cur/ pointing outside
the Maildir, NUL bytes, too many errors.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
from ternlib import Instance, ok, is_, done, skip_all  # noqa: E402
import pop3lib  # noqa: E402
from pop3lib import Server, Raw, deliver  # noqa: E402

for prog in ("tern-pop3-login", "tern-pop3d", "tern-checkpass",
             "tern-listen"):
    if not os.access(os.path.join(ternlib.BIN, prog), os.X_OK):
        skip_all(prog + " is not built")


def session(srv):
    r = Raw(srv.port)
    a, b = r.login()
    assert b.startswith(b"+OK"), b
    return r


def alive(r):
    return r.cmd(b"NOOP") == b"+OK"


with Instance() as t:
    md = pop3lib.setup(t)
    deliver(t, md, body=b"first\n")
    deliver(t, md, body=b"second\n")
    srv = Server(t, "plain")

    r = session(srv)
    is_(r.cmd(b"RETR 0"), b"-ERR no such message", "RETR 0")
    is_(r.cmd(b"RETR 4294967297"), b"-ERR no such message",
        "RETR 4294967297 (past 32 bits)")
    is_(r.cmd(b"RETR 99999999999999999999999"), b"-ERR no such message",
        "RETR with 23 digits")
    is_(r.cmd(b"TOP 1 -1"), b"-ERR syntax error", "TOP 1 -1")
    is_(r.cmd(b"TOP 1"), b"-ERR syntax error", "TOP without a line count")
    is_(r.cmd(b"LIST 99999"), b"-ERR no such message", "LIST 99999")
    is_(r.cmd(b"LIST -1"), b"-ERR no such message", "LIST -1")
    is_(r.cmd(b"LIST +1"), b"-ERR no such message", "LIST +1")
    is_(r.cmd(b"RETR 1x"), b"-ERR no such message", "RETR 1x")
    is_(r.cmd(b"RETR"), b"-ERR syntax error", "RETR without a number")
    is_(r.cmd(b"DELE 1"), b"+OK message 1 deleted", "DELE 1")
    is_(r.cmd(b"RETR 1"), b"-ERR message 1 already deleted",
        "DELE 1 then RETR 1")
    is_(r.cmd(b"DELE 1"), b"-ERR message 1 already deleted",
        "DELE 1 twice")
    is_(r.cmd(b"LIST 1"), b"-ERR message 1 already deleted",
        "LIST of a deleted message")
    is_(r.cmd(b"STLS"), b"-ERR already logged in", "STLS after login")
    is_(r.cmd(b"USER x"), b"-ERR already logged in", "USER after login")
    is_(r.cmd(b"NOOP " + b"a" * 1024), b"-ERR line too long",
        "a 1 KiB line after login: -ERR")
    ok(alive(r), "the session goes on after the 1 KiB line")
    r.send(b"NOOP " + b"b" * (1024 * 1024) + b"\r\n")
    is_(r.line(), b"-ERR line too long", "a 1 MiB line after login: -ERR")
    ok(alive(r), "the session goes on after the 1 MiB line")
    is_(r.cmd(b"XYZZY"), b"-ERR unknown command", "unknown command")
    r.send(b"NO\x00OP\r\n")
    is_(r.line(), b"-ERR NUL byte or bare CR/LF in command", "a NUL byte")
    r.close()

    r = Raw(srv.port)
    r.line()
    for c in (b"STAT", b"LIST", b"RETR 1", b"DELE 1", b"UIDL", b"TOP 1 1",
              b"RSET", b"NOOP"):
        is_(r.cmd(c), b"-ERR not logged in: use USER and PASS or AUTH",
            c.decode() + " before login")
    is_(r.cmd(b"PASS x"), b"-ERR send USER first", "PASS before USER")
    is_(r.cmd(b"USER " + b"u" * 1024), b"-ERR line too long",
        "a 1 KiB USER line before login")
    r.send(b"USER " + b"v" * (1024 * 1024) + b"\r\n")
    is_(r.line(), b"-ERR line too long", "a 1 MiB line before login")
    is_(r.cmd(b"USER u@tern.test"), b"+OK send PASS",
        "the dialogue goes on after the long lines")
    is_(r.cmd(b"STLS"), b"-ERR STLS not available",
        "STLS without tern-tlsd")
    r.close()

    r = Raw(srv.port)
    r.line()
    got = [r.cmd(b"BOGUS") for _ in range(20)]
    ok(got[-1] == b"-ERR unknown command" and
       r.line() == b"-ERR too many errors, closing connection" and r.closed(),
       "20 bad commands before login: the connection is closed")
    r.close()

    r = session(srv)
    first = r.cmd(b"RETR 1")
    body = r.multi()
    ok(first.startswith(b"+OK ") and body[-1:] == [b"first"],
       "disconnect without QUIT after DELE: nothing deleted, message 1 "
       "is back (%r)" % body)
    r.cmd(b"QUIT")
    r.close()

    # a symlink in cur/ pointing outside the Maildir: never served
    secret = os.path.join(t.dir, "secret")
    with open(secret, "wb") as f:
        f.write(b"Subject: secret\n\nTOPSECRET\n")
    os.symlink(secret, os.path.join(md, "cur", "9.Msym.tern.test:2,S"))
    r = session(srv)
    n = int(r.cmd(b"STAT").split()[1])
    got = b""
    for i in range(1, n + 1):
        if r.cmd(b"RETR %d" % i).startswith(b"+OK"):
            got += b"\n".join(r.multi())
    r.cmd(b"UIDL")
    uids = b" ".join(r.multi())
    r.cmd(b"QUIT")
    r.close()
    ok(n == 2 and b"TOPSECRET" not in got and b"Msym" not in uids,
       "a symlink in cur/ pointing outside the Maildir is never served "
       "(%d messages)" % n)
    os.unlink(os.path.join(md, "cur", "9.Msym.tern.test:2,S"))

    if not t.have_certs or not os.access(t.bin("tern-tlsd"), os.X_OK):
        ok(True, "# SKIP STLS tests: no certificate or no tern-tlsd")
        ok(True, "# SKIP")
        ok(True, "# SKIP")
        done()
        sys.exit(0)
    tsrv = Server(t, "stls")
    r = Raw(tsrv.port)
    r.line()
    r.send(b"STLS\r\nUSER x\r\n")
    is_(r.line(), b"+OK begin TLS negotiation", "STLS and USER x in one "
        "write: +OK to STLS, nothing more in plaintext")
    r.s = pop3lib.ctx().wrap_socket(r.s, server_hostname="tern.test")
    is_(r.cmd(b"PASS x"), b"-ERR send USER first",
        "STLS followed by USER x in the same write: the USER was never "
        "executed")
    r.close()
    r = Raw(tsrv.port)
    r.line()
    r.cmd(b"USER u@tern.test")
    is_(r.cmd(b"STLS"), b"-ERR STLS not allowed after USER",
        "STLS after USER: refused")
    r.close()
done()
