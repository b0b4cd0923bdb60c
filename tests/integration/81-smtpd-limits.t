#!/usr/bin/env python3
"""tern-smtpd's abuse limits and AUTH edges under tern-listen: rejected
recipients, relay probes and AUTH errors count toward maxbadcommands
(directory harvest, relay probing, AUTH floods end with 421 4.7.0),
repeated EHLO counts as junk, honest sessions with a few unknown
recipients go on; routing tricks (%, !, quoted @) through a relay domain
are refused unless the client may relay; AUTH lines with a long initial
response (RFC 4954 4) are read; credentials too long for the 512 bytes of
the checkpassword interface are a 535 login failure.
"""
import base64
import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, ok, is_, diag, done  # noqa
from smtpdlib import SmtpdServer  # noqa: E402

ROOT = os.geteuid() == 0
QID = re.compile(rb"queued as ([0-9a-v]{16})")
LONGPW = "p" * 400

# A stand-in with tern-checkpass's fd 3 limit: more than 512 bytes is
# misuse (exit 2).  Each run leaves a line in RUNLOG.
CHECKPASS = r"""#!/usr/bin/env python3
import os, sys
data = b""
while len(data) <= 512:
    b = os.read(3, 4096)
    if not b:
        break
    data += b
with open(RUNLOG, "a") as f:
    f.write("run %d\n" % len(data))
if len(data) > 512:
    sys.exit(2)
parts = data.split(b"\0")
good = (len(parts) == 4 and parts[0] == b"u@tern.test" and
        parts[1] in (b"s3cret pass", b"p" * 400))
sys.exit(0 if good else 1)
"""


class Server(SmtpdServer):
    RAW_TIMEOUT = 20


def codes(out):
    """The reply codes in a transcript, in order (last line of each)."""
    return [int(m) for m in re.findall(rb"^(\d{3}) ", out, re.M)]


def plain(user, pw):
    return base64.b64encode(b"\0" + user + b"\0" + pw)


def spool_ids(t):
    return sorted(os.listdir(os.path.join(t.spool, "env")))


def setup(t):
    t.add_vuser("u@tern.test")
    t.set("recipients", "u@tern.test")
    t.set("relaydomains", "relay.test\n.sub.relay2.test")
    t.set("authfaildelay", "0")
    t.set("timeoutcommand", "20")
    t.runlog = os.path.join(t.dir, "checkpass.runs")
    with open(t.runlog, "w"):
        pass
    os.chmod(t.runlog, 0o666)
    path = os.path.join(t.dir, "checkpass")
    with open(path, "w") as f:
        f.write(CHECKPASS.replace("RUNLOG", repr(t.runlog)))
    os.chmod(path, 0o755)
    t.set("checkpassword", path)


def closed_with_421(out, c):
    return c[-1] == 421 and b"421 4.7.0" in out and b"<timeout>" not in out


def test_harvest(t, srv):
    cmds = b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
    cmds += b"".join(b"RCPT TO:<nx%d@tern.test>\r\n" % i for i in range(300))
    out = srv.raw(cmds)
    c = codes(out)
    ok(closed_with_421(out, c) and c.count(550) == 21,
       "300 unknown recipients: 550 until the 21st, then 421 4.7.0 and "
       "close (%d x 550)" % c.count(550))
    cmds = b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n"
    cmds += b"".join(b"RCPT TO:<v%d@remote.test>\r\n" % i for i in range(100))
    out = srv.raw(cmds)
    c = codes(out)
    ok(closed_with_421(out, c) and c.count(554) == 21,
       "100 relay attempts: 554 until the 21st, then 421 4.7.0 and close")


def test_honest(t, srv):
    """A few unknown recipients per message never end the session."""
    before = len(spool_ids(t))
    cmds = b"EHLO c\r\n"
    for m in range(3):
        cmds += b"MAIL FROM:<a@example.org>\r\n"
        cmds += b"".join(b"RCPT TO:<gone%d@tern.test>\r\n" % i
                         for i in range(15))
        cmds += b"RCPT TO:<u@tern.test>\r\nDATA\r\nSubject: %d\r\n\r\n" \
                b"x\r\n.\r\n" % m
    out = srv.raw(cmds + b"QUIT\r\n")
    c = codes(out)
    ok(c[-1] == 221 and 421 not in c and len(QID.findall(out)) == 3 and
       len(spool_ids(t)) == before + 3,
       "3 messages with 15 unknown recipients each: all queued, no 421 "
       "(the count starts over after each message)")
    s = srv.smtp()
    s.mail("a@example.org")
    res = [s.rcpt("<old%d@tern.test>" % i)[0] for i in range(5)]
    res.append(s.rcpt("<u@tern.test>")[0])
    code, _ = s.data(b"Subject: ok\r\n\r\nbody\r\n")
    s.quit()
    is_((res, code), ([550] * 5 + [250], 250),
        "smtplib: 5 unknown recipients and one good one, message queued")


def test_ehlo_flood(t, srv):
    out = srv.raw(b"EHLO c\r\n" * 3000)
    c = codes(out)
    ok(c[-1] == 421 and c.count(250) == 105 and b"<timeout>" not in out,
       "3000 EHLO: 5 free, then 100 junk, then 421 (%d x 250)" %
       c.count(250))
    out = srv.raw(b"EHLO c\r\nEHLO c\r\nHELO c\r\nEHLO c\r\nEHLO c\r\n" +
                  b"NOOP\r\n" * 100 + b"QUIT\r\n")
    c = codes(out)
    ok(c[-1] == 221 and 421 not in c, "5 EHLO/HELO and 100 NOOPs: no 421")


def test_auth_flood(t, srv):
    t.set("authinsecure", "1")
    for name, cmd, want in (
            ("AUTH PLAIN !!!!", b"AUTH PLAIN !!!!\r\n", [501]),
            ("AUTH PLAIN then *", b"AUTH PLAIN\r\n*\r\n", [334, 501]),
            ("AUTH LOGIN with bad base64", b"AUTH LOGIN\r\n%%%\r\n",
             [334, 501])):
        out = srv.raw(b"EHLO c\r\n" + cmd * 600)
        c = codes(out)
        ok(closed_with_421(out, c) and c.count(501) == 21 and
           c[2:2 + 2 * len(want)] == want * 2,
           "600 x %s: 501 until the 21st, then 421 and close" % name)
    os.unlink(os.path.join(t.control, "authinsecure"))


TRICKS = ("<v%evil.example@relay.test>", "<evil.example!v@relay.test>",
          '<"v@evil.example"@relay.test>', "<v%evil.example@a.sub.relay2.test>",
          '<"evil.example!v"@relay.test>')


def rcpts(srv, addrs, auth=b""):
    """The RCPT replies (code, text) of one pipelined transaction."""
    cmds = b"EHLO c\r\n" + auth + b"MAIL FROM:<a@example.org>\r\n"
    cmds += b"".join(b"RCPT TO:" + a.encode() + b"\r\n" for a in addrs)
    out = srv.raw(cmds + b"QUIT\r\n")
    r = re.findall(rb"^(\d{3}) (\S+)", out, re.M)
    return [(int(c), m) for c, m in r[-1 - len(addrs):-1]]


def test_routing(t, srv):
    res = rcpts(srv, TRICKS)
    for a, (c, m) in zip(TRICKS, res):
        ok(c == 554 and m == b"5.7.1",
           "RCPT TO:%s through a relay domain: 554 5.7.1" % a)
    good = ("<v@relay.test>", '<"v w"@relay.test>', "<v@a.sub.relay2.test>")
    is_([c for c, m in rcpts(srv, good)], [250] * 3,
        "plain addresses in relay domains are still relayed")
    t.set("relayclients", "127.0.0.0/8")
    is_([c for c, m in rcpts(srv, TRICKS)], [250] * len(TRICKS),
        "a relay client may route through a relay domain")
    os.unlink(os.path.join(t.control, "relayclients"))
    t.set("authinsecure", "1")
    auth = b"AUTH PLAIN " + plain(b"u@tern.test", b"s3cret pass") + b"\r\n"
    is_([c for c, m in rcpts(srv, TRICKS, auth)], [250] * len(TRICKS),
        "so may an authenticated client")
    os.unlink(os.path.join(t.control, "authinsecure"))


def runs(t):
    with open(t.runlog) as f:
        return f.read().split("\n")[:-1]


def test_auth_long(t, srv):
    t.set("authinsecure", "1")
    ir = plain(b"u@tern.test", LONGPW.encode())
    ok(len(ir) >= 552, "the initial response is %d base64 bytes" % len(ir))
    s = srv.smtp()
    try:
        code = s.login("u@tern.test", LONGPW)[0]
    except smtplib.SMTPException as e:
        code = e
    s.quit()
    is_(code, 235, "smtplib logs in with a %d-byte password" % len(LONGPW))
    out = srv.raw(b"EHLO c\r\nAUTH PLAIN " + ir + b"\r\nQUIT\r\n")
    is_(codes(out), [220, 250, 235, 221],
        "AUTH PLAIN with the initial response on a %d-byte line: 235" %
        (len(ir) + 13))
    out = srv.raw(b"EHLO c\r\nNOOP " + b"x" * 600 + b"\r\n"
                  b"MAIL FROM:<" + b"a" * 600 + b"@example.org>\r\n"
                  b"AUTH PLAIN " + b"A" * 12300 + b"\r\nQUIT\r\n")
    is_(codes(out), [220, 250, 500, 500, 500, 221],
        "other commands keep the 512-byte limit; AUTH lines over 12288: 500")
    ok(out.count(b"500 5.5.2 Line too long") == 3, "each with 5.5.2")
    os.unlink(os.path.join(t.control, "authinsecure"))


def test_auth_fit(t, srv):
    t.set("authinsecure", "1")
    n = len(runs(t))
    s = srv.smtp()
    try:
        s.login("u@tern.test", "x" * 600)
        r = None
    except smtplib.SMTPAuthenticationError as e:
        r = (e.smtp_code, e.smtp_error[:5])
    except smtplib.SMTPException as e:
        r = e
    s.quit()
    is_(r, (535, b"5.7.8"), "a 600-byte password: 535 5.7.8, not 454")
    is_(len(runs(t)), n, "the checkpassword program was not run for it")
    out = srv.raw(b"EHLO c\r\n" + (b"AUTH PLAIN " +
                  plain(b"u@tern.test", b"y" * 600) + b"\r\n") * 3 +
                  b"NOOP\r\n")
    is_(codes(out)[-4:], [535, 535, 535, 421],
        "it counts as an AUTH failure: the third ends the session")
    s = srv.smtp()
    code = s.login("u@tern.test", "s3cret pass")[0]
    s.quit()
    ok(code == 235 and len(runs(t)) == n + 1 and
       all(int(x.split()[1]) <= 512 for x in runs(t)),
       "a normal login still runs it, with at most 512 bytes on fd 3")
    os.unlink(os.path.join(t.control, "authinsecure"))


def main():
    with Instance() as t:
        setup(t)
        srv = Server(t)
        for fn in (test_harvest, test_honest, test_ehlo_flood,
                   test_auth_flood, test_routing, test_auth_long,
                   test_auth_fit):
            fn(t, srv)
        with open(srv.logpath, "rb") as f:
            log = f.read()
        ok(b"AddressSanitizer" not in log and b"runtime error" not in log,
           "no sanitizer report in the log")
        if b"AddressSanitizer" in log or b"runtime error" in log:
            diag(log.decode("utf-8", "replace"))
    done()


main()
