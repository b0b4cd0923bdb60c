#!/usr/bin/env python3
"""Delay warnings (RFC 3464 Action: delayed) from tern-send: a remote
server that keeps answering 451 makes one warning per message after
control delaywarning seconds, never a second one across retries, none
for NOTIFY=NEVER or a NOTIFY without DELAY, none for the null sender."""
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

for prog in ("tern-queue", "tern-send", "tern-lspawn", "tern-local",
             "tern-remote"):
    if not os.access(os.path.join(t.BIN, prog), os.X_OK):
        t.skip_all(prog + " is not built")

ROOT = os.geteuid() == 0
ENV = {"TERN_REMOTEUSER": "nobody"} if ROOT else {}
LIFETIME = 3600
REPLY = "451 4.2.0 greylisted, try later"


def queue(inst, envelope, subject):
    rc, err = inst.queue_raw(t.message(subject=subject, frm="s@tern.test"),
                             envelope)
    m = re.search(rb"info: (\w+) queued", err)
    t.is_(rc, 0, "tern-queue accepts %s" % subject)
    return m.group(1).decode() if m else "?"


def flush(inst):
    """Make everything due now (the trigger's 'F')."""
    fd = os.open(os.path.join(inst.spool, "trigger"),
                 os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, b"F")
    finally:
        os.close(fd)


def deferrals(log, qid):
    return len(re.findall(r"info: %s delivery to=<[^>]*> deferred " % qid,
                          log))


def status_blocks(m):
    for part in m.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()
            return [dict((k.lower(), str(v)) for k, v in b.items())
                    for b in blocks]
    return []


def warnings(inst, md):
    """The delay warnings in md, by the queue id they are about."""
    out = {}
    for raw in inst.read_new(md):
        m = email.message_from_bytes(raw, policy=email.policy.default)
        mid = str(m["Message-ID"] or "")
        found = re.match(r"<(\w+)\.delay@tern\.test>$", mid)
        key = found.group(1) if found else "other:" + mid
        out.setdefault(key, []).append((raw, m))
    return out


def check_warning(raw, m, qid, arrival):
    t.ok(raw.startswith(b"Return-Path: <>\n"), "the warning's sender is <>")
    t.is_(str(m["Subject"]), "Delayed Mail (still being retried)",
          "Subject: Delayed Mail (still being retried)")
    t.is_(m.get_param("report-type"), "delivery-status",
          "multipart/report; report-type=delivery-status")
    blocks = status_blocks(m)
    t.is_(blocks[0].get("x-tern-queue-id") if blocks else None, qid,
          "the report is about the message")
    r = blocks[1] if len(blocks) == 2 else {}
    t.is_(len(blocks), 2, "one recipient block")
    t.is_(r.get("final-recipient"), "rfc822; u@example.net",
          "Final-Recipient")
    t.is_(r.get("action"), "delayed", "Action: delayed")
    t.is_(r.get("status"), "4.2.0", "Status: the server's 4.2.0")
    t.is_(r.get("remote-mta"), "dns; [127.0.0.2]",
          "Remote-MTA: the server that answered")
    t.is_(r.get("diagnostic-code"), "smtp; " + REPLY,
          "Diagnostic-Code: smtp; the 451 reply")
    until = r.get("will-retry-until", "")
    try:
        until_t = email.utils.parsedate_to_datetime(until).timestamp()
    except (TypeError, ValueError):
        until_t = 0
    t.ok(abs(until_t - (arrival + LIFETIME)) <= 2,
         "Will-Retry-Until is arrival + queuelifetime (%r)" % until)
    human = m.get_payload()[0].get_content() if m.is_multipart() else ""
    t.ok("WARNING ONLY" in human and
         "127.0.0.2 [127.0.0.2]: " + REPLY in human,
         "the human part says it is a warning and shows the reply")


def main():
    with t.Instance() as inst:
        srv = SMTPServer("127.0.0.2", rcpt=lambda a: REPLY)
        try:
            md = inst.add_vuser("s@tern.test")
            pm = inst.add_vuser("pm@tern.test")
            inst.set("postmaster", "pm@tern.test")
            inst.set("smtproutes", "example.net [127.0.0.2]:%d" % srv.port)
            inst.set("remoteretrystep", "1")
            inst.set("remotetimeoutconnect", "2")
            inst.set("rescaninterval", "3600")
            inst.set("queuelifetime", str(LIFETIME))
            inst.set("delaywarning", "1")
            arrival = int(time.time())
            plain = queue(inst, b"Fs@tern.test\0Tu@example.net\0\0",
                          "plain")
            delay = queue(inst, b"Fs@tern.test\0NSUCCESS,DELAY\0"
                          b"Tu@example.net\0\0", "notify-delay")
            never = queue(inst, b"Fs@tern.test\0NNEVER\0Tu@example.net\0"
                          b"NFAILURE\0Tv@example.net\0\0", "notify-never")
            null = queue(inst, b"F\0Tu@example.net\0\0", "null-sender")
            # Older than delaywarning at the first attempt already.
            time.sleep(1.2)
            inst.start_send(ENV)
            ids = (plain, delay, never, null)
            t.ok(t.wait_for(lambda: all(deferrals(inst.logtext(), q) >= 1
                                        for q in ids), 20),
                 "every message was tried and deferred")
            t.ok(len(srv.sessions) >= 1, "the server was asked")
            for _ in range(3):
                before = {q: deferrals(inst.logtext(), q) for q in ids}
                flush(inst)
                t.wait_for(lambda: all(deferrals(inst.logtext(), q) >
                                       before[q] for q in ids), 10)
            log = inst.logtext()
            t.ok(all(deferrals(log, q) >= 4 for q in ids),
                 "several retries of each message (%s)" %
                 [deferrals(log, q) for q in ids])
            t.wait_for(lambda: len(inst.maildir_files(md)) >= 2, 10)
            time.sleep(0.5)
            w = warnings(inst, md)
            t.is_(sorted(w), sorted([plain, delay]),
                  "warnings only for the messages without NOTIFY and "
                  "with NOTIFY=DELAY")
            t.is_(len(w.get(plain, [])), 1,
                  "exactly one warning for the plain message")
            t.is_(len(w.get(delay, [])), 1,
                  "exactly one warning for NOTIFY=SUCCESS,DELAY")
            for raw, m in w.get(plain, [])[:1]:
                check_warning(raw, m, plain, arrival)
            t.is_(len(re.findall(r"info: %s delay \w+ to=<s@tern.test>\n"
                                 % plain, log)), 1,
                  "log: one '<id> delay <newid> to=<sender>' line")
            t.ok(("%s delay " % never) not in log,
                 "NOTIFY=NEVER / NOTIFY=FAILURE: no warning")
            t.is_(inst.maildir_files(pm), [],
                  "the null sender's message: no warning to anyone")
            t.ok(all(("%s done" % q) not in log for q in ids),
                 "the messages are still queued")
            t.ok(inst.send.poll() is None, "tern-send is still running")
            t.is_(inst.stop_send(), 0, "SIGTERM: exit 0")
        finally:
            srv.stop()


main()
t.done()
