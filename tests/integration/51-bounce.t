#!/usr/bin/env python3
"""DSNs end to end: RFC 3464 / RFC 6522 structure, field by field."""
import email
import email.policy
import email.utils
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from smtpserver import SMTPServer  # noqa: E402
import ternlib as t  # noqa: E402

for prog in ("tern-queue", "tern-send", "tern-lspawn", "tern-local"):
    if not os.access(os.path.join(t.BIN, prog), os.X_OK):
        t.skip_all(prog + " is not built")


def queue(inst, msg, envelope):
    """Queue through tern-queue; returns the new queue id or None."""
    rc, err = inst.queue_raw(msg, envelope)
    m = re.search(rb"info: (\w+) queued", err)
    t.is_(rc, 0, "tern-queue accepts the message")
    return m.group(1).decode() if m else None


def wait_new(inst, maildir, count):
    return t.wait_for(lambda: len(inst.maildir_files(maildir)) >= count, 15)


def newest(inst, maildir, qid=None):
    """The last message by name, or the DSN of queue id qid: two DSNs
    may arrive within one clock tick, so names need not sort by time."""
    msgs = inst.read_new(maildir)
    if qid is not None:
        mid = ("<%s.bounce@" % qid).encode()
        msgs = [x for x in msgs if mid in x]
    return msgs[-1] if msgs else b""


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def parts(m):
    return list(m.iter_parts()) if m.is_multipart() else []


def status_blocks(part):
    """The per-message block and the per-recipient blocks, as dicts."""
    blocks = part.get_payload() if part is not None else []
    out = [dict((k.lower(), str(v)) for k, v in b.items()) for b in blocks]
    return (out[0], out[1:]) if out else ({}, [])


def is_date(value):
    try:
        d = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return d is not None and abs(d.timestamp() - time.time()) < 3600


def check_envelope(raw, m, to, qid):
    t.ok(raw.startswith(b"Return-Path: <>\n"), "the DSN's sender is <>")
    t.is_(str(m["From"]), "Mail Delivery System <MAILER-DAEMON@tern.test>",
          "From: Mail Delivery System <MAILER-DAEMON@me>")
    t.ok(("\nTo: <%s>\n" % to).encode() in raw, "To: <the original sender>")
    t.is_(str(m["Subject"]), "Undelivered Mail Returned to Sender",
          "Subject")
    t.is_(str(m["Auto-Submitted"]), "auto-replied",
          "Auto-Submitted: auto-replied (RFC 3834)")
    t.is_(str(m["MIME-Version"]), "1.0", "MIME-Version: 1.0")
    t.is_(str(m["Message-ID"]), "<%s.bounce@tern.test>" % qid,
          "Message-ID <id.bounce@me>")
    t.ok(is_date(str(m["Date"])), "Date is an RFC 5322 date of now")
    t.is_(m.get_content_type(), "multipart/report", "multipart/report")
    t.is_(m.get_param("report-type"), "delivery-status",
          "report-type=delivery-status")
    t.is_(m.defects, [], "no MIME defects")


def test_headers_envid_orcpt(inst, s, b):
    msg = t.message(subject="case A", frm="s@tern.test", body="BODY-A\n")
    qid = queue(inst, msg, b"Fs@tern.test\0EQQ-ENV-1\0"
                b"Orfc822;No+2Bsuch@tern.test\0Tnosuch@tern.test\0"
                b"Tb@tern.test\0\0")
    t.ok(wait_new(inst, s, 1), "a DSN reaches the sender")
    t.ok(wait_new(inst, b, 1), "the good recipient gets the message")
    raw = newest(inst, s)
    m = parse(raw)
    check_envelope(raw, m, "s@tern.test", qid)
    p = parts(m)
    t.is_([x.get_content_type() for x in p],
          ["text/plain", "message/delivery-status", "text/rfc822-headers"],
          "parts: text/plain, delivery-status, text/rfc822-headers")
    if len(p) != 3:
        return
    human = p[0].get_content()
    t.ok("This is the mail system at host tern.test." in human,
         "human part: the mail system at host me")
    t.ok("<nosuch@tern.test>" in human and "5.1.1" in human,
         "human part: the failed recipient and its status")
    t.ok("b@tern.test" not in human, "human part: not the delivered one")
    per_msg, rcpts = status_blocks(p[1])
    t.is_(per_msg.get("reporting-mta"), "dns; tern.test",
          "Reporting-MTA: dns; me")
    t.is_(per_msg.get("original-envelope-id"), "QQ-ENV-1",
          "Original-Envelope-Id is the ENVID")
    t.ok(is_date(per_msg.get("arrival-date", "")), "Arrival-Date")
    t.is_(len(rcpts), 1, "one per-recipient block")
    r = rcpts[0] if rcpts else {}
    t.is_(r.get("original-recipient"), "rfc822;No+such@tern.test",
          "Original-Recipient: the xtext-decoded ORCPT")
    t.is_(r.get("final-recipient"), "rfc822; nosuch@tern.test",
          "Final-Recipient: rfc822; addr")
    t.is_(r.get("action"), "failed", "Action: failed")
    t.is_(r.get("status"), "5.1.1", "Status: 5.1.1")
    t.ok(r.get("diagnostic-code", "").startswith("X-tern; "),
         "Diagnostic-Code: X-tern; text (local text is no SMTP reply, "
         "RFC 3464 2.3.6) (%r)" % r.get("diagnostic-code"))
    t.ok(is_date(r.get("last-attempt-date", "")), "Last-Attempt-Date")
    hdrs = p[2].get_content()
    t.ok("Subject: case A" in hdrs and "From: s@tern.test" in hdrs,
         "the original header section is returned")
    t.ok("BODY-A" not in hdrs, "... without the body")


def test_ret_full(inst, s):
    before = len(inst.maildir_files(s))
    msg = t.message(subject="case B", frm="s@tern.test", body="BODY-B\n")
    qid = queue(inst, msg, b"Fs@tern.test\0RFULL\0Tnosuch@tern.test\0\0")
    t.ok(wait_new(inst, s, before + 1), "RET=FULL: a DSN arrives")
    m = parse(newest(inst, s, qid))
    p = parts(m)
    t.is_(p[2].get_content_type() if len(p) == 3 else None,
          "message/rfc822", "RET=FULL: message/rfc822 part")
    if len(p) == 3:
        inner = p[2].get_payload()[0]
        t.is_(str(inner["Subject"]), "case B", "... the original message")
        t.ok("BODY-B" in inner.get_content(), "... with its body")
    t.is_(str(m["Message-ID"]), "<%s.bounce@tern.test>" % qid,
          "RET=FULL: DSN for the right message")


def test_notify_never(inst, s):
    before = len(inst.maildir_files(s))
    qid = queue(inst, t.message(subject="case C", frm="s@tern.test"),
                b"Fs@tern.test\0NNEVER\0Tnosuch@tern.test\0\0")
    t.ok(t.wait_for(lambda: ("%s done" % qid) in inst.logtext(), 15),
         "NOTIFY=NEVER: the message is done")
    time.sleep(0.3)
    t.is_(len(inst.maildir_files(s)), before, "NOTIFY=NEVER: no DSN")


def test_null_sender(inst, s, pm):
    before = len(inst.maildir_files(s))
    qid = queue(inst, t.message(subject="case D", frm="s@tern.test"),
                b"F\0Tnosuch@tern.test\0\0")
    t.ok(wait_new(inst, pm, 1), "null sender: the DSN goes to postmaster")
    raw = newest(inst, pm)
    t.ok(raw.startswith(b"Return-Path: <#@[]>\n"),
         "null sender: the double bounce has sender #@[]")
    m = parse(raw)
    t.is_(str(m["Message-ID"]), "<%s.bounce@tern.test>" % qid,
          "null sender: the DSN is about that message")
    t.ok(b"\nTo: <pm@tern.test>\n" in raw, "null sender: To the postmaster")
    t.is_(len(inst.maildir_files(s)), before,
          "null sender: nothing goes back to <>")


def test_eight_bit(inst, s):
    before = len(inst.maildir_files(s))
    msg = t.message(subject="caf\u00e9", frm="s@tern.test")
    qid = queue(inst, msg, b"Fs@tern.test\0Tnosuch@tern.test\0\0")
    t.ok(wait_new(inst, s, before + 1), "8-bit headers: a DSN arrives")
    raw = newest(inst, s, qid)
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    p = m.get_payload() if m.is_multipart() else []
    t.is_(p[2]["Content-Transfer-Encoding"] if len(p) == 3 else None,
          "8bit", "8-bit headers: the part says 8bit")
    t.is_(m["Content-Transfer-Encoding"], "8bit",
          "8-bit headers: the top level says 8bit")


def test_remote(s_env):
    """A remote 550: Remote-MTA and Diagnostic-Code: smtp (RFC 3464
    2.3.5-2.3.6) from tern-remote's "host [ip]: reply" text."""
    reply = "550 5.1.1 <gone@example.net>: no such user"
    srv = SMTPServer("127.0.0.2", rcpt=lambda a: reply if
                     a.startswith("gone") else "250 2.1.5 ok")
    try:
        with t.Instance() as inst:
            s = inst.add_vuser("s@tern.test")
            inst.set("smtproutes", "example.net [127.0.0.2]:%d" % srv.port)
            inst.set("remotetimeoutconnect", "2")
            inst.start_send(s_env)
            qid = queue(inst, t.message(subject="case R", frm="s@tern.test"),
                        b"Fs@tern.test\0Tgone@example.net\0"
                        b"Tfine@example.net\0\0")
            t.ok(wait_new(inst, s, 1), "remote 550: a DSN reaches the sender")
            t.ok(t.wait_for(inst.queue_empty, 10), "remote 550: queue empty")
            raw = newest(inst, s)
            m = parse(raw)
            t.is_(str(m["Message-ID"]), "<%s.bounce@tern.test>" % qid,
                  "remote 550: the DSN is about that message")
            p = parts(m)
            per_msg, rcpts = status_blocks(p[1] if len(p) == 3 else None)
            t.is_(len(rcpts), 1, "remote 550: one recipient block")
            r = rcpts[0] if rcpts else {}
            t.is_(r.get("final-recipient"), "rfc822; gone@example.net",
                  "remote 550: Final-Recipient")
            t.is_(r.get("status"), "5.1.1", "remote 550: Status 5.1.1")
            t.is_(r.get("remote-mta"), "dns; [127.0.0.2]",
                  "remote 550: Remote-MTA names the server (a literal)")
            t.is_(r.get("diagnostic-code"), "smtp; " + reply,
                  "remote 550: Diagnostic-Code: smtp; the reply")
            keys = list(r)
            t.ok("remote-mta" in keys and keys.index("status") <
                 keys.index("remote-mta") < keys.index("diagnostic-code"),
                 "remote 550: fields in RFC 3464 order")
            human = p[0].get_content() if p else ""
            t.ok("<gone@example.net>: 127.0.0.2 [127.0.0.2]: " + reply
                 in human, "remote 550: the human part shows the whole text")
            t.ok("fine@example.net" not in raw.decode("utf-8", "replace")
                 .split("Content-Type: message/delivery-status", 1)[-1]
                 .split("Content-Type: text/rfc822-headers", 1)[0],
                 "remote 550: the delivered recipient is not reported")
    finally:
        srv.stop()


with t.Instance() as inst:
    s = inst.add_vuser("s@tern.test")
    b = inst.add_vuser("b@tern.test")
    pm = inst.add_vuser("pm@tern.test")
    inst.set("postmaster", "pm@tern.test")
    inst.start_send()
    test_headers_envid_orcpt(inst, s, b)
    test_ret_full(inst, s)
    test_notify_never(inst, s)
    test_null_sender(inst, s, pm)
    test_eight_bit(inst, s)
    if not t.ok(inst.send.poll() is None, "tern-send is still running"):
        t.diag(inst.logtext())

if os.access(os.path.join(t.BIN, "tern-remote"), os.X_OK):
    test_remote({"TERN_REMOTEUSER": "nobody"} if os.geteuid() == 0 else {})

t.done()
