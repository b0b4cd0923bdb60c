#!/usr/bin/env python3
# tern-remote against scripted SMTP servers on 127.0.0.x, reached through
# control/smtproutes: results per recipient, the exact DATA on the wire,
# broken servers (421, drops, slow, huge replies), STARTTLS, SIZE,
# SMTPUTF8, DSN parameters, AUTH.  No DNS: every route is a literal.
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from smtpserver import SMTPServer, make_cert  # noqa: E402
from ternlib import Instance, diag, done, is_, ok, skip_all  # noqa: E402

MSG = (b"From: a@example.org\nTo: u1@example.net\nSubject: hi\n\n"
       b"line one\n.starts with a dot\n..two dots\n.\nlast line")


def parse(out):
    """Result records -> ([(letter, status, text)...], (M...))."""
    f = out.split(b"\0")
    recs = [(f[i].decode(), f[i + 1].decode(), f[i + 2].decode())
            for i in range(0, len(f) - 1, 3)]
    return recs[:-1], recs[-1] if recs else None


def remote(t, srv, rcpts, msg=MSG, sender="a@example.org", opts=(),
           domain="example.net", route=None):
    """Route domain to srv, run tern-remote; (exit, recs, msgrec, err)."""
    if route is None:
        route = "%s [%s]:%d" % (domain, srv.host, srv.port)
    t.set("smtproutes", route)
    path = os.path.join(t.dir, "msg")
    with open(path, "wb") as f:
        f.write(msg)
    argv = [t.bin("tern-remote")]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    argv += list(opts) + [domain, sender] + list(rcpts)
    with open(path, "rb") as f:
        r = subprocess.run(argv, stdin=f, capture_output=True, env=t.env(),
                           timeout=60)
    recs, m = parse(r.stdout)
    return r.returncode, recs, m, r.stderr.decode("utf-8", "replace")


def wait_closed(srv):
    end = time.monotonic() + 5
    while time.monotonic() < end and not all(s.closed for s in
                                             srv.sessions):
        time.sleep(0.02)


def rcpt_by_prefix(addr):
    if addr.startswith("bad"):
        return "550 5.1.1 <%s>: no such user\x01here" % addr
    if addr.startswith("tmp"):
        return "451 4.2.0 try later"
    return "250 2.1.5 ok"


def test_basic(t):
    srv = SMTPServer("127.0.0.2", rcpt=rcpt_by_prefix)
    try:
        rc, recs, m, err = remote(t, srv, ["u1@example.net", "bad@example.net",
                                           "tmp@example.net",
                                           "u2@example.net"])
        wait_closed(srv)
        is_(rc, 0, "basic: exit 0 with results")
        is_([x[:2] for x in recs], [("K", "2.0.0"), ("D", "5.1.1"),
                                    ("Z", "4.2.0"), ("K", "2.0.0")],
            "basic: one result per recipient, in order")
        ok(recs[1][2] == "127.0.0.2 [127.0.0.2]: 550 5.1.1 "
           "<bad@example.net>: no such userhere",
           "basic: text is host-prefixed and stripped of control bytes")
        is_(m[0], "MK", "basic: message record says delivered")
        is_(len(srv.sessions), 1, "basic: one connection")
        s = srv.sessions[0]
        is_([c.split(b" ")[0] for c in s.cmds],
            [b"EHLO", b"MAIL", b"RCPT", b"RCPT", b"RCPT", b"RCPT", b"DATA",
             b"QUIT"], "basic: one transaction, QUIT at the end")
        ok(s.cmds[1].startswith(b"MAIL FROM:<a@example.org> SIZE=") and
           b"BODY" not in s.cmds[1], "basic: SIZE declared, 7-bit: no BODY")
        is_(s.data, [b"From: a@example.org\r\nTo: u1@example.net\r\n"
                     b"Subject: hi\r\n\r\nline one\r\n..starts with a dot\r\n"
                     b"...two dots\r\n..\r\nlast line\r\n"],
            "basic: DATA exact: CRLF, dot-stuffing, final CRLF added")
        ok("to=<bad@example.net> failed 5.1.1" in err,
           "basic: every result is logged")
    finally:
        srv.stop()


def test_8bit_and_nopipelining(t):
    srv = SMTPServer("127.0.0.2", ehlo=("8BITMIME",))
    try:
        rc, recs, m, _ = remote(t, srv, ["u1@example.net"],
                                msg=b"Subject: x\n\ncaf\xc3\xa9\n")
        wait_closed(srv)
        ok(recs[0][0] == "K" and srv.sessions[0].cmds[1].endswith(
           b" BODY=8BITMIME"), "8-bit body: BODY=8BITMIME")
        ok(b"SIZE" not in srv.sessions[0].cmds[1],
           "no SIZE offered: none declared")
    finally:
        srv.stop()
    srv = SMTPServer("127.0.0.2", ehlo=(), rcpt=lambda a: "550 5.1.1 no")
    try:
        rc, recs, m, _ = remote(t, srv, ["x@example.net", "y@example.net"])
        wait_closed(srv)
        ok(all(r[0] == "D" for r in recs) and m[0] == "MD" and
           b"DATA" not in srv.sessions[0].cmds,
           "no PIPELINING, every RCPT refused: no DATA, all permanent")
    finally:
        srv.stop()


def test_failures(t):
    cases = [
        (dict(greeting="421 4.3.2 busy"), "Z", "421 4.3.2 busy",
         "421 greeting: temporary, reply in the text"),
        (dict(greeting="554 5.7.1 go away"), "Z", "554 5.7.1 go away",
         "554 greeting: temporary for this host"),
        (dict(mail="451 4.3.0 no"), "Z", "451 4.3.0 no",
         "MAIL 4xx: every recipient temporary"),
        (dict(mail="553 5.7.1 sender refused"), "D", "553 5.7.1",
         "MAIL 5xx: every recipient permanent"),
        (dict(end="554 5.6.0 content refused"), "D", "554 5.6.0",
         "5xx after the message: permanent"),
        (dict(end="452 4.3.1 full"), "Z", "452 4.3.1",
         "4xx after the message: temporary"),
        (dict(data="554 5.5.1 no valid recipients"), "D", "554 5.5.1",
         "DATA refused with 5xx: permanent"),
    ]
    for kw, letter, text, name in cases:
        srv = SMTPServer("127.0.0.2", **kw)
        try:
            rc, recs, m, _ = remote(t, srv, ["u1@example.net",
                                             "u2@example.net"])
            ok(rc == 0 and len(recs) == 2 and all(
               r[0] == letter and text in r[2] for r in recs), name)
        finally:
            srv.stop()


def test_drop_after_data(t):
    srv = SMTPServer("127.0.0.2", after_data="drop",
                     rcpt=lambda a: "550 5.1.1 no" if a.startswith("bad")
                     else "250 ok")
    try:
        rc, recs, m, _ = remote(t, srv, ["u1@example.net", "bad@example.net"])
        wait_closed(srv)
        ok(recs[0][0] == "Z" and "duplicate" in recs[0][2],
           "drop after DATA: accepted recipient temporary, duplicate noted")
        is_(recs[1][0], "D", "drop after DATA: refused recipient still "
            "permanent")
        is_(len(srv.sessions[0].data), 1, "drop after DATA: the server "
            "had the whole message")
    finally:
        srv.stop()


def test_slow_greeting(t):
    t.set("remotetimeoutgreeting", "1")
    srv = SMTPServer("127.0.0.2", greeting_delay=3)
    try:
        t0 = time.monotonic()
        rc, recs, m, _ = remote(t, srv, ["u1@example.net"])
        el = time.monotonic() - t0
        ok(recs[0][0] == "Z" and "timed out" in recs[0][2],
           "slow greeting: temporary, timed out")
        ok(el < 2.8, "slow greeting: gave up after %.1fs" % el)
    finally:
        srv.stop()
        os.unlink(os.path.join(t.control, "remotetimeoutgreeting"))


def test_huge_replies(t):
    many = b"250-x\r\n" * 100000 + b"250 end\r\n"
    cases = [(dict(ehlo_reply=many.decode().rstrip("\r\n")),
              "100,000 continuation lines"),
             (dict(raw_greeting=b"220 " + b"x" * 65536 + b"\r\n"),
              "a 64 KiB greeting line")]
    for kw, name in cases:
        srv = SMTPServer("127.0.0.2", **kw)
        try:
            t0 = time.monotonic()
            rc, recs, m, _ = remote(t, srv, ["u1@example.net"])
            el = time.monotonic() - t0
            ok(rc == 0 and recs[0][0] == "Z" and ("too many lines" in
               recs[0][2] or "too long" in recs[0][2]),
               name + ": temporary failure, reply refused")
            ok(el < 10, name + ": refused at once (%.1fs)" % el)
        finally:
            srv.stop()


def test_size_utf8(t):
    srv = SMTPServer("127.0.0.2", ehlo=("PIPELINING", "SIZE 20"))
    try:
        rc, recs, m, _ = remote(t, srv, ["u1@example.net", "u2@example.net"])
        wait_closed(srv)
        ok(all(r[:2] == ("D", "5.3.4") for r in recs) and m[0] == "MD",
           "SIZE smaller than the message: permanent 5.3.4 for all")
        ok(not any(c.startswith(b"MAIL") for c in srv.sessions[0].cmds),
           "SIZE refusal: no MAIL sent")
    finally:
        srv.stop()
    srv = SMTPServer("127.0.0.2")
    try:
        rc, recs, m, _ = remote(t, srv, ["j\u00f6rg@example.net"])
        is_(recs[0][:2], ("D", "5.6.7"), "UTF-8 address, no SMTPUTF8: "
            "permanent 5.6.7")
        rc, recs, m, _ = remote(t, srv, ["u1@example.net"],
                                msg=b"Subject: gr\xc3\xbc\xc3\x9fe\n\nx\n")
        is_(recs[0][:2], ("D", "5.6.7"), "UTF-8 header, no SMTPUTF8: "
            "permanent 5.6.7")
    finally:
        srv.stop()
    srv = SMTPServer("127.0.0.2", ehlo=("SMTPUTF8", "8BITMIME"))
    try:
        rc, recs, m, _ = remote(t, srv, ["j\u00f6rg@example.net"])
        wait_closed(srv)
        ok(recs[0][0] == "K" and srv.sessions[0].cmds[1].endswith(
           b" SMTPUTF8"), "SMTPUTF8 offered: MAIL carries SMTPUTF8")
    finally:
        srv.stop()


def test_dsn_helo(t):
    opts = ["-R", "HDRS", "-E", "id+2B1", "-N", "0:SUCCESS,FAILURE",
            "-O", "0:rfc822;u1@example.net"]
    srv = SMTPServer("127.0.0.2", ehlo=("DSN",))
    try:
        remote(t, srv, ["u1@example.net", "u2@example.net"], opts=opts)
        wait_closed(srv)
        c = srv.sessions[0].cmds
        is_(c[1], b"MAIL FROM:<a@example.org> RET=HDRS ENVID=id+2B1",
            "DSN offered: RET and ENVID")
        is_(c[2], b"RCPT TO:<u1@example.net> NOTIFY=SUCCESS,FAILURE "
            b"ORCPT=rfc822;u1@example.net", "DSN offered: NOTIFY and ORCPT")
        is_(c[3], b"RCPT TO:<u2@example.net>", "no options: bare RCPT")
    finally:
        srv.stop()
    srv = SMTPServer("127.0.0.2", ehlo_reply="502 5.5.1 no EHLO here")
    try:
        rc, recs, m, _ = remote(t, srv, ["u1@example.net"], opts=opts)
        wait_closed(srv)
        c = srv.sessions[0].cmds
        ok(recs[0][0] == "K" and c[1].startswith(b"HELO ") and
           c[2] == b"MAIL FROM:<a@example.org>",
           "EHLO refused: HELO, no ESMTP parameters")
    finally:
        srv.stop()
    srv = SMTPServer("127.0.0.2")
    try:
        r = subprocess.run([t.bin("tern-remote"), "-N", "5:SUCCESS",
                            "example.net", "a@b", "u@example.net"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           env=t.env(), timeout=20)
        is_(r.returncode, 111, "an option for a recipient that is not "
            "there: usage, exit 111")
    finally:
        srv.stop()


def test_tls(t, cert):
    srv = SMTPServer("127.0.0.2", cert=cert)
    try:
        rc, recs, m, err = remote(t, srv, ["u1@example.net"])
        wait_closed(srv)
        s = srv.sessions[0]
        ok(recs[0][0] == "K" and s.tls and len(s.data) == 1,
           "STARTTLS offered: used, message sent over TLS")
        ok("TLSv1." in err and "cipher=" in err and "verify=" in err,
           "TLS version, cipher and verification logged")
        is_([c.split(b" ")[0] for c in s.cmds][:3],
            [b"EHLO", b"STARTTLS", b"EHLO"], "EHLO again after STARTTLS")
    finally:
        srv.stop()
    srv = SMTPServer("127.0.0.2", cert=cert,
                     inject_after_starttls=b"250 ok\r\n")
    try:
        rc, recs, m, err = remote(t, srv, ["u1@example.net"])
        wait_closed(srv)
        ok(recs[0][0] == "K" and srv.sessions[0].tls,
           "250 injected after the STARTTLS 220: delivery still works")
        ok("discarded 8 bytes" in err, "injected bytes discarded, logged")
    finally:
        srv.stop()
    t.set("tlspolicy", "example.net encrypt")
    srv = SMTPServer("127.0.0.2")
    try:
        rc, recs, m, err = remote(t, srv, ["u1@example.net"])
        wait_closed(srv)
        ok(recs[0][:2] == ("Z", "4.7.4") and not any(
           c.startswith(b"MAIL") for c in srv.sessions[0].cmds),
           "tlspolicy encrypt, no STARTTLS: deferred 4.7.4, no MAIL")
    finally:
        srv.stop()
    t.set("tlspolicy", "example.net verify")
    srv = SMTPServer("127.0.0.2", cert=cert)
    try:
        rc, recs, m, err = remote(t, srv, ["u1@example.net"])
        ok(recs[0][0] == "Z" and "verification failed" in recs[0][2],
           "tlspolicy verify, self-signed certificate: deferred")
    finally:
        srv.stop()
    t.set("tlspolicy", "example.net none")
    srv = SMTPServer("127.0.0.2", cert=cert)
    try:
        rc, recs, m, err = remote(t, srv, ["u1@example.net"])
        wait_closed(srv)
        ok(recs[0][0] == "K" and not srv.sessions[0].tls,
           "tlspolicy none: no STARTTLS")
    finally:
        srv.stop()
    os.unlink(os.path.join(t.control, "tlspolicy"))


def test_auth(t, cert):
    srv = SMTPServer("127.0.0.2", ehlo=("AUTH PLAIN LOGIN",), cert=cert)
    auth = os.path.join(t.control, "smtpauth")
    try:
        with open(auth, "w") as f:
            f.write("127.0.0.2 user secret\n")
        if os.geteuid() == 0:
            import pwd
            os.chown(auth, pwd.getpwnam("nobody").pw_uid, -1)
        os.chmod(auth, 0o600)
        rc, recs, m, err = remote(t, srv, ["u1@example.net"])
        wait_closed(srv)
        c = srv.sessions[0].cmds
        ok(recs[0][0] == "K" and b"AUTH PLAIN AHVzZXIAc2VjcmV0" in c and
           srv.sessions[0].tls, "smtpauth: AUTH PLAIN over TLS")
        srv.stop()
        srv = SMTPServer("127.0.0.2", ehlo=("AUTH LOGIN",), cert=cert)
        rc, recs, m, err = remote(t, srv, ["u1@example.net"])
        wait_closed(srv)
        c = srv.sessions[0].cmds
        ok(recs[0][0] == "K" and b"AUTH LOGIN dXNlcg==" in c and
           b"c2VjcmV0" in c, "smtpauth: AUTH LOGIN when PLAIN is not offered")
        srv.stop()
        srv = SMTPServer("127.0.0.2", ehlo=("AUTH PLAIN",))
        rc, recs, m, err = remote(t, srv, ["u1@example.net"])
        wait_closed(srv)
        ok(recs[0][:2] == ("Z", "4.7.0") and not any(
           c.startswith(b"AUTH") for c in srv.sessions[0].cmds),
           "smtpauth: no credentials without TLS")
        rc, recs, m, err = remote(t, srv, ["u1@example.net"], route=(
            "example.net [127.0.0.2]:%d insecure" % srv.port))
        ok(recs[0][0] == "K", "smtpauth: route marked insecure: AUTH in "
           "clear allowed")
        os.chmod(auth, 0o640)
        rc, recs, m, err = remote(t, srv, ["u1@example.net"])
        ok(recs[0][0] == "Z" and "smtpauth" in recs[0][2],
           "smtpauth readable by the group: refused, deferred")
    finally:
        srv.stop()
        os.unlink(auth)


def test_root(t):
    if os.geteuid() != 0:
        return
    r = subprocess.run([t.bin("tern-remote"), "-u", "no-such-user-here",
                        "example.net", "a@b", "u@example.net"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       env=t.env(), timeout=20)
    ok(r.returncode == 111 and r.stdout == b"",
       "as root with an unknown -u user: refuses to run, exit 111")


def main():
    if shutil.which("openssl") is None:
        skip_all("no openssl")
    with Instance() as t:
        certdir = tempfile.mkdtemp(dir=t.dir)
        os.chmod(certdir, 0o755)
        cert = make_cert(certdir)
        test_basic(t)
        test_8bit_and_nopipelining(t)
        test_failures(t)
        test_drop_after_data(t)
        test_slow_greeting(t)
        test_huge_replies(t)
        test_size_utf8(t)
        test_dsn_helo(t)
        test_tls(t, cert)
        test_auth(t, cert)
        test_root(t)
    done()


main()
