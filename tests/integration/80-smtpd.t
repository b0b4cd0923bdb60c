#!/usr/bin/env python3
"""tern-smtpd in MX and submission mode under tern-listen, without TLS:
acceptance into the spool with the queue id in the reply and in the
Received line, recipient validation, relay rules and the classic relay
tricks, quoted local parts and address literals, DSN parameters, BDAT,
every limit (line lengths, recipients, SIZE, hops, floods), bare LF/CR
and NUL bytes, SMTP smuggling, AUTH with a stand-in checkpassword,
sender restrictions, and swaks as a second client.
"""
import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, ok, is_, diag, done  # noqa
from smtpdlib import SmtpdServer  # noqa: E402

ROOT = os.geteuid() == 0
QID = re.compile(rb"queued as ([0-9a-v]{16})")

CHECKPASS = r"""#!/usr/bin/env python3
import os, sys
data = b""
while True:
    b = os.read(3, 4096)
    if not b:
        break
    data += b
parts = data.split(b"\0")
ok = (len(parts) == 4 and parts[3] == b"" and len(sys.argv) == 2 and
      sys.argv[1] == "/bin/true" and parts[0] == b"u@tern.test" and
      parts[1] == b"s3cret pass")
if parts[0] == b"tempfail":
    sys.exit(111)
sys.exit(0 if ok else 1)
"""


Server = SmtpdServer


def spool_ids(t):
    return sorted(os.listdir(os.path.join(t.spool, "env")))


def clear_spool(t):
    for sub in ("env", "mess"):
        d = os.path.join(t.spool, sub)
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))


def env_records(t, qid):
    with open(os.path.join(t.spool, "env", qid), "rb") as f:
        return f.read().split(b"\0")


def mess(t, qid):
    with open(os.path.join(t.spool, "mess", qid), "rb") as f:
        return f.read()


def codes(out):
    """The reply codes in a transcript, in order (last line of each)."""
    return [int(m) for m in re.findall(rb"^(\d{3}) ", out, re.M)]


def setup(t):
    t.add_vuser("u@tern.test")
    t.set("recipients", "u@tern.test")
    t.set("aliases", "info: u\n")
    t.set("relaydomains", "relay.test\n.sub.relay2.test")
    t.set("localdomains", "tern.test\n[127.0.0.1]")
    t.set("maxjunkcommands", "100")
    t.set("authfaildelay", "0")
    t.set("timeoutcommand", "20")
    path = os.path.join(t.dir, "checkpass")
    with open(path, "w") as f:
        f.write(CHECKPASS)
    os.chmod(path, 0o755)
    t.set("checkpassword", path)


def test_accept(t, srv):
    clear_spool(t)
    s = srv.smtp()
    msg = (b"From: a@example.org\r\nTo: u@tern.test\r\nSubject: hi\r\n\r\n"
           b"line one\r\n..dot line\r\n.\r\nlast\r\n")
    s.mail("a@example.org")
    s.rcpt("u@tern.test")
    code, resp = s.data(msg)
    s.quit()
    m = QID.search(resp)
    ok(code == 250 and m is not None, "a message to a local user: 250 with "
       "the queue id")
    qid = m.group(1).decode() if m else "none"
    ok(spool_ids(t) == [qid], "the spool holds it under the id of the reply")
    recs = env_records(t, qid) if spool_ids(t) == [qid] else []
    is_(recs[:2], [b"V1", b"I" + qid.encode()], "the envelope's I record is "
        "that id")
    ok(b"Fa@example.org" in recs and b"Tu@tern.test" in recs,
       "sender and recipient in the envelope")
    data = mess(t, qid) if recs else b""
    ok(b"\r" not in data, "the spool copy has LF line ends")
    r = re.search(rb"Received: from client\.example \(\[127\.0\.0\.1\]\)\n"
                  rb"\tby tern\.test \(tern\) with ESMTP\n\tid " +
                  qid.encode() + rb"\n\tfor <u@tern\.test>; \w{3}, ", data)
    ok(r is not None, "Received line with helo, ip, protocol, id, recipient")
    ok(data.endswith(b"Subject: hi\n\nline one\n..dot line\n.\nlast\n"),
       "smtplib's dot-stuffed lines come back exactly")
    out = srv.raw(b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
                  b"RCPT TO:<u@tern.test>\r\nDATA\r\nSubject: d\r\n\r\n"
                  b"..\r\n...x\r\n.y\r\n. \r\n.\r\nQUIT\r\n")
    m = QID.search(out)
    ok(m is not None and mess(t, m.group(1).decode()).endswith(
       b"Subject: d\n\n.\n..x\ny\n \n"), "dot-unstuffing removes exactly "
       "one leading dot")
    ok(re.search(r"info: %s accepted from=<a@example.org> size=\d+ rcpts=1 "
                 r"ip=127\.0\.0\.1" % qid, srv.log()) is not None,
       "one accepted line in the log")


def rcpt_reply(srv, addr, mail="a@example.org"):
    s = srv.smtp()
    s.mail(mail)
    r = s.docmd("RCPT TO:" + addr)
    s.quit()
    return r


def test_rcpts(t, srv):
    c, m = rcpt_reply(srv, "<nobody-here@tern.test>")
    ok(c == 550 and m.startswith(b"5.1.1"), "unknown local user: 550 5.1.1")
    for a in ("<info@tern.test>", "<Postmaster>", "<postmaster@tern.test>",
              '<"u"@tern.test>', "<U@TERN.TEST>", "<x@relay.test>",
              "<x@a.sub.relay2.test>", "<postmaster@[127.0.0.1]>"):
        c, m = rcpt_reply(srv, a)
        is_(c, 250, "RCPT TO:%s accepted" % a)
    for a in ("<v@remote.test>", "<v%remote.test@tern.test>",
              "<remote.test!v@tern.test>", "<@tern.test:v@remote.test>",
              '<"v@remote.test"@tern.test>', "<x@sub.relay2.test>",
              "<x@[127.0.0.2]>", "<v@tern.test.remote.test>"):
        c, m = rcpt_reply(srv, a)
        ok(c in (550, 554) and (c == 550 or m.startswith(b"5.7.1")),
           "RCPT TO:%s refused (%d %s)" % (a, c, m[:30].decode()))
    c, m = rcpt_reply(srv, "<x@[999.0.0.1]>")
    is_(c, 501, "a bad address literal is a syntax error")
    c, m = rcpt_reply(srv, "<u@tern.test>", mail="a@[192.0.2.1]")
    is_(c, 250, "a sender at an address literal is fine")
    c, m = rcpt_reply(srv, "<u@tern.test>", mail='"a b"@example.org')
    is_(c, 250, "a quoted sender local part is fine")
    t.set("relayclients", "10.0.0.0/8\n127.0.0.0/30\n::1")
    c, m = rcpt_reply(srv, "<v@remote.test>")
    is_(c, 250, "a client in relayclients may relay")
    t.set("relayclients", "127.0.0.2/32")
    c, m = rcpt_reply(srv, "<v@remote.test>")
    is_(c, 554, "a client outside relayclients may not")
    os.unlink(os.path.join(t.control, "relayclients"))


def test_dsn_bdat(t, srv):
    clear_spool(t)
    out = srv.raw(b"EHLO c\r\nMAIL FROM:<a@example.org> RET=hdrs "
                  b"ENVID=ab+2Bc SIZE=100 BODY=8BITMIME\r\n"
                  b"RCPT TO:<u@tern.test> NOTIFY=success,failure "
                  b"ORCPT=rfc822;u@tern.test\r\nBDAT 12\r\nSubject: x\r\n"
                  b"BDAT 8 LAST\r\n\r\nbody\r\nQUIT\r\n")
    m = QID.search(out)
    ok(m is not None, "BDAT chunks with DSN parameters: queued")
    if not m:
        diag(out)
        return
    qid = m.group(1).decode()
    recs = env_records(t, qid)
    ok(b"RHDRS" in recs and b"Eab+2Bc" in recs and
       b"NSUCCESS,FAILURE" in recs and b"Orfc822;u@tern.test" in recs,
       "RET, ENVID, NOTIFY and ORCPT are in the envelope")
    ok(mess(t, qid).endswith(b"\nSubject: x\n\nbody\n"),
       "BDAT data is stored with LF line ends")
    out = srv.raw(b"EHLO c\r\nMAIL FROM:<a@example.org> RET=FOO\r\n"
                  b"MAIL FROM:<a@example.org> XYZ=1\r\n"
                  b"MAIL FROM:<a@example.org>\r\n"
                  b"RCPT TO:<u@tern.test> NOTIFY=NEVER,SUCCESS\r\nQUIT\r\n")
    is_(codes(out), [220, 250, 555, 555, 250, 555, 221],
        "bad DSN and unknown parameters get 555")
    out = srv.raw(b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
                  b"RCPT TO:<u@tern.test>\r\nBDAT 7 LAST\r\nab\ncd\r\n"
                  b"QUIT\r\n")
    ok(codes(out)[-2] == 554 and len(spool_ids(t)) == 1,
       "a bare LF in BDAT data refuses the message")


def test_lines(t, srv):
    pre = b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
    rcpt = b"RCPT TO:<u@tern.test>"
    exact = rcpt + b" " * (510 - len(rcpt)) + b"\r\n"
    out = srv.raw(pre + exact + b"QUIT\r\n")
    is_(codes(out), [220, 250, 250, 250, 221], "a 512-byte command line "
        "(with CRLF) is fine")
    over = rcpt + b" " * (511 - len(rcpt)) + b"\r\n"
    out = srv.raw(pre + over + b"QUIT\r\n")
    ok(codes(out)[3] == 500 and b"500 5.5.2" in out,
       "a 513-byte command line gets 500 5.5.2")
    for size, name in ((4096, "4 KiB"), (1024 * 1024, "1 MiB")):
        out = srv.raw(b"EHLO c\r\nNOOP " + b"x" * size + b"\r\nNOOP\r\n"
                      b"QUIT\r\n")
        is_(codes(out), [220, 250, 500, 250, 221],
            "a %s command line gets 500, the session goes on" % name)


def test_rcpt_limits(t, srv):
    clear_spool(t)
    for n in (101, 1000):
        cmds = b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
        cmds += b"RCPT TO:<u@tern.test>\r\n" * n
        cmds += b"DATA\r\nSubject: many\r\n\r\nx\r\n.\r\nQUIT\r\n"
        out = srv.raw(cmds)
        c = codes(out)
        ok(c.count(250) == 1 + 1 + 100 + 1 and c.count(452) == n - 100 and
           b"452 4.5.3" in out,
           "%d recipients: 100 accepted, the rest 452 4.5.3" % n)
    ids = spool_ids(t)
    ok(len(ids) == 2 and all(env_records(t, i).count(b"Tu@tern.test") == 100
                             for i in ids), "each message has 100 recipients")


def test_size(t, srv):
    clear_spool(t)
    t.set("databytes", "10000")
    out = srv.raw(b"EHLO c\r\nMAIL FROM:<a@example.org> SIZE=20000\r\n"
                  b"QUIT\r\n")
    ok(b"SIZE 10000" in out and b"552 5.3.4" in out,
       "SIZE advertised; declared too big: 552 5.3.4")
    body = (b"x" * 70 + b"\r\n") * 300
    out = srv.raw(b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
                  b"RCPT TO:<u@tern.test>\r\nDATA\r\n" + body +
                  b".\r\nNOOP\r\nQUIT\r\n")
    is_(codes(out), [220, 250, 250, 250, 354, 552, 250, 221],
        "exceeded without declaring: 552 after the data, session goes on")
    ok(spool_ids(t) == [], "nothing queued")
    os.unlink(os.path.join(t.control, "databytes"))


def test_bare(t, srv):
    clear_spool(t)
    out = srv.raw(b"EHLO c\r\nNOOP\nNO\rOP\r\nQUIT\r\n")
    is_(codes(out), [220, 250, 500, 500, 221],
        "bare LF and bare CR in commands: 500")
    ok(out.count(b"500 5.5.2") == 2, "with 5.5.2")
    out = srv.raw(b"EHLO c\r\nNO\0OP\r\nQUIT\r\n")
    is_(codes(out), [220, 250, 500, 221], "a NUL byte in a command: 500")
    pre = b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<u@tern.test>\r\n"
    for body, name in ((b"a\nb\r\n.\r\n", "bare LF"),
                       (b"a\rb\r\n.\r\n", "bare CR")):
        out = srv.raw(pre + b"DATA\r\n" + body + b"QUIT\r\n")
        ok(codes(out)[-1] == 554 and b"221" not in out,
           "%s in DATA: 554 and the connection is closed" % name)
    out = srv.raw(pre + b"DATA\r\nSubject: n\r\n\r\na\0b\r\n.\r\nQUIT\r\n")
    is_(codes(out)[-2:], [554, 221], "a NUL byte in DATA: 554")
    ok(spool_ids(t) == [], "none of them was queued")


def test_smuggling(t, srv):
    pre = b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<u@tern.test>\r\n"
    smuggled = (b"MAIL FROM:<admin@tern.test>\r\nRCPT TO:<u@tern.test>\r\n"
                b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
    for end in (b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n"):
        clear_spool(t)
        out = srv.raw(pre + b"DATA\r\nSubject: first\r\n\r\nbody" + end +
                      smuggled + b"QUIT\r\n")
        ids = spool_ids(t)
        ok(len(ids) <= 1 and all(b"smuggled" not in mess(t, i) or
                                 b"first" in mess(t, i) for i in ids),
           "smuggling with %r: %d message(s), never the smuggled one alone"
           % (end, len(ids)))


def test_hops(t, srv):
    clear_spool(t)
    for n, want in ((99, 250), (100, 554)):
        hdr = b"Received: from x by y; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
        hdr = hdr * (n // 2) + b"Delivered-To: u@tern.test\r\n" * (n - n // 2)
        out = srv.raw(b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
                      b"RCPT TO:<u@tern.test>\r\nDATA\r\n" + hdr +
                      b"Subject: loop\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        is_(codes(out)[-2], want, "%d Received/Delivered-To lines: %d" %
            (n, want))
    ok(b"554 5.4.6" in out, "with 5.4.6")
    is_(len(spool_ids(t)), 1, "only the first was queued")


def test_floods(t, srv):
    t0 = time.monotonic()
    out = srv.raw(b"EHLO c\r\n" + b"NOOP\r\n" * 10000, timeout=20)
    c = codes(out)
    ok(c[-1] == 421 and c.count(250) <= 101 and b"<timeout>" not in out,
       "10000 NOOPs: 421 after maxjunkcommands, connection closed (%d "
       "replies, %.1fs)" % (len(c), time.monotonic() - t0))
    out = srv.raw(b"EHLO c\r\n" + b"FOO bar\r\n" * 10000, timeout=20)
    c = codes(out)
    ok(c[-1] == 421 and c.count(500) == 21 and b"<timeout>" not in out,
       "10000 unknown commands: 500 until the 21st, then 421 and close")


def b64(s):
    return base64.b64encode(s).decode()


def test_auth_mx(t, srv):
    out = srv.raw(b"EHLO c\r\nAUTH PLAIN " + b64(b"\0u@tern.test\0s3cret "
                  b"pass").encode() + b"\r\nQUIT\r\n")
    ok(b"250-AUTH" not in out and b"538 5.7.11" in out,
       "MX without TLS: AUTH not offered, AUTH gets 538 5.7.11")


def test_submission(t):
    sub = Server(t, ["-m", "submission"])
    out = sub.raw(b"EHLO c\r\nAUTH PLAIN " + b64(b"\0u@tern.test\0s3cret "
                  b"pass").encode() + b"\r\nMAIL FROM:<u@tern.test>\r\n"
                  b"QUIT\r\n")
    ok(b"AUTH " not in out and b"538 5.7.11" in out and b"530 5.7.0" in out,
       "submission without TLS: AUTH not offered, 538, MAIL gets 530")
    t.set("authinsecure", "1")
    s = sub.smtp()
    ok(s.has_extn("auth") and "PLAIN" in s.esmtp_features["auth"],
       "with authinsecure, AUTH PLAIN LOGIN is offered")
    s.user, s.password = "u@tern.test", "s3cret pass"
    code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    is_(code, 235, "AUTH LOGIN with the right password: 235")
    c1 = s.docmd("MAIL FROM:<u@tern.test>")
    s.docmd("RSET")
    c2 = s.docmd("MAIL FROM:<other@tern.test>")
    s.docmd("RSET")
    is_((c1[0], c2[0]), (250, 553), "own address allowed, another 553")
    ok(c2[1].startswith(b"5.7.1"), "with 5.7.1")
    c3 = s.docmd("RCPT TO:<v@remote.test>")
    s.docmd("MAIL FROM:<u@tern.test>")
    c3 = s.docmd("RCPT TO:<v@remote.test>")
    is_(c3[0], 250, "an authenticated user may relay")
    s.quit()
    t.set("senders", "u@tern.test: alias@tern.test, @other.test")
    s = sub.smtp()
    s.user, s.password = "u@tern.test", "s3cret pass"
    code, _ = s.auth("PLAIN", s.auth_plain)
    is_(code, 235, "AUTH PLAIN with initial response: 235")
    res = []
    for a in ("alias@tern.test", "x@other.test", "u@tern.test", "<>"):
        res.append(s.docmd("MAIL FROM:<%s>" % a.strip("<>"))[0])
        s.docmd("RSET")
    is_(res, [250, 250, 553, 553], "the senders file lists what the user "
        "may use")
    s.quit()
    plain = lambda u, p: b64(b"\0" + u + b"\0" + p).encode()
    out = sub.raw(b"EHLO c\r\nAUTH PLAIN " + plain(b"u@tern.test", b"wrong")
                  + b"\r\nAUTH PLAIN !!!!\r\nAUTH PLAIN\r\n*\r\n"
                  b"AUTH LOGIN\r\n*\r\nAUTH PLAIN\r\n=\r\n"
                  b"AUTH PLAIN " + plain(b"tempfail", b"x") + b"\r\n"
                  b"AUTH CRAM-MD5\r\nQUIT\r\n")
    is_(codes(out)[1:], [250, 535, 501, 334, 501, 334, 501, 334, 501, 454,
                         504, 221], "bad password 535, bad base64 501, '*' "
        "cancels with 501, empty response 501, tempfail 454, unknown "
        "mechanism 504")
    ok(b"535 5.7.8" in out and b"501 5.5.2" in out, "with 5.7.8 and 5.5.2")
    out = sub.raw(b"EHLO c\r\n" + (b"AUTH PLAIN " +
                  plain(b"u@tern.test", b"wrong") + b"\r\n") * 3 +
                  b"NOOP\r\n")
    is_(codes(out)[-4:], [535, 535, 535, 421],
        "three failures: 421 and close")
    os.unlink(os.path.join(t.control, "authinsecure"))


def test_swaks(t, srv):
    if shutil.which("swaks") is None:
        ok(True, "# SKIP swaks not installed")
        return
    clear_spool(t)
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(srv.port), "--from", "s@example.org", "--to",
                        "u@tern.test", "--helo", "swaks.example",
                        "--pipeline", "--body", "via swaks"],
                       capture_output=True, timeout=60)
    m = QID.search(r.stdout)
    ok(r.returncode == 0 and m is not None and
       spool_ids(t) == [m.group(1).decode()],
       "swaks with PIPELINING delivers one message")
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(srv.port), "--from", "s@example.org", "--to",
                        "v@remote.test"], capture_output=True, timeout=60)
    ok(r.returncode != 0 and b"554 5.7.1" in r.stdout,
       "swaks relay attempt: 554 5.7.1")


def test_timeout(t, srv):
    t.set("timeoutcommand", "1")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    t0 = time.monotonic()
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    t.set("timeoutcommand", "20")
    ok(data.endswith(b"421 4.4.2 tern.test timeout, closing connection\r\n")
       and time.monotonic() - t0 < 5, "an idle client gets 421 4.4.2 after "
       "timeoutcommand and is disconnected")


def test_queue_failure(t, srv):
    clear_spool(t)
    fake = os.path.join(t.dir, "fakeq")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\ncat >/dev/null; cat <&1 >/dev/null 2>&1\n"
                "printf 'DNo thank you' >&6\nexit 82\n")
    os.chmod(fake, 0o755)
    q = Server(t, env=t.env(TERN_QUEUE=fake))
    out = q.raw(b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
                b"RCPT TO:<u@tern.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n")
    ok(b"554 5.3.0 No thank you" in out, "queue exit 82 with D text: 554 "
       "with the text")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\ncat >/dev/null\nexit 53\n")
    out = q.raw(b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
                b"RCPT TO:<u@tern.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n")
    ok(b"451 4.3.0" in out and b"250 2.0.0 Ok: queued" not in out,
       "queue exit 53: 451 4.3.0")
    ok(spool_ids(t) == [], "nothing in the spool")


def main():
    with Instance() as t:
        setup(t)
        srv = Server(t)
        tests = (test_accept, test_rcpts, test_dsn_bdat, test_lines,
                 test_rcpt_limits, test_size, test_bare, test_smuggling,
                 test_hops, test_floods, test_auth_mx, test_swaks,
                 test_timeout, test_queue_failure)
        for fn in tests:
            fn(t, srv)
        test_submission(t)
        log = srv.log()
        ok(re.search(r"tern-smtpd: info: session start ip=127\.0\.0\.1 "
                     r"mode=mx", log) is not None and
           "session end ip=127.0.0.1" in log, "session start/end logged")
    done()


main()
