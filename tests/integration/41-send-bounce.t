#!/usr/bin/env python3
"""tern-send: permanent failures become DSNs (RFC 3464) or are dropped."""
import email
import email.policy
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, message, ok, wait_for  # noqa


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def status_fields(msg):
    """The per-recipient fields of the message/delivery-status part."""
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            fields = {}
            for b in blocks:
                for k, v in b.items():
                    fields.setdefault(k.lower(), v.strip())
            return fields
    return {}


def headers_part(msg):
    for part in msg.walk():
        if part.get_content_type() in ("text/rfc822-headers",
                                       "message/rfc822"):
            p = part.get_payload(decode=False)
            return p if isinstance(p, str) else str(p[0]) if p else ""
    return ""


def test_unknown_user():
    with Instance() as t:
        sender = t.add_vuser("s@tern.test")
        t.start_send()
        code, _ = t.queue(message(subject="to nobody", frm="s@tern.test"),
                          "s@tern.test", ["nosuch@tern.test"])
        is_(code, 0, "queued to an unknown user")
        ok(wait_for(lambda: t.maildir_files(sender), 10),
           "a DSN reaches the sender's Maildir")
        ok(wait_for(t.queue_empty, 5), "the queue is empty afterwards")
        msgs = t.read_new(sender)
        is_(len(msgs), 1, "exactly one DSN")
        raw = msgs[0] if msgs else b""
        ok(raw.startswith(b"Return-Path: <>\n"), "the DSN has sender <>")
        m = parse(raw)
        is_(m.get_content_type(), "multipart/report",
            "Content-Type multipart/report")
        is_(m.get_param("report-type"), "delivery-status",
            "report-type=delivery-status")
        f = status_fields(m)
        ok(f.get("final-recipient", "").lower() ==
           "rfc822; nosuch@tern.test", "Final-Recipient names the recipient")
        is_(f.get("action"), "failed", "Action: failed")
        is_(f.get("status"), "5.1.1", "Status: 5.1.1")
        ok("Subject: to nobody" in headers_part(m),
           "the original header section is returned")
        log = t.logtext()
        ok(re.search(r' delivery to=<nosuch@tern.test> failed status=5\.1\.1 '
                     r'text="[^"]+"\n', log), "log: failed status=5.1.1")
        ok(re.search(r"info: \S+ bounce [0-9a-v]{16} to=<s@tern.test>\n", log),
           "log: bounce <new id>")
        is_(os.listdir(os.path.join(t.spool, "bounce")), [],
            "bounce/ is cleaned up")


def test_null_sender_to_postmaster():
    with Instance() as t:
        pm = t.add_vuser("pm@tern.test")
        t.set("postmaster", "pm@tern.test")
        t.start_send()
        code, _ = t.queue(message(subject="from null"), "",
                          ["nosuch@tern.test"])
        is_(code, 0, "queued with the null sender")
        ok(wait_for(lambda: t.maildir_files(pm), 10),
           "the failure goes to the postmaster")
        msgs = t.read_new(pm)
        raw = msgs[0] if msgs else b""
        ok(raw.startswith(b"Return-Path: <#@[]>\n"),
           "with the double-bounce sender #@[]")
        m = parse(raw)
        is_(m.get_content_type(), "multipart/report", "it is a DSN")
        ok(wait_for(t.queue_empty, 5), "the queue is empty afterwards")


def test_double_bounce_dropped():
    with Instance() as t:
        pm = t.add_vuser("pm@tern.test")
        t.set("postmaster", "pm@tern.test")
        t.start_send()
        code, _ = t.queue(message(subject="double"), "#@[]",
                          ["nosuch@tern.test"])
        is_(code, 0, "queued with the double-bounce sender")
        ok(wait_for(lambda: "bounce dropped" in t.logtext(), 10),
           "log: bounce dropped")
        ok(wait_for(t.queue_empty, 5), "the queue is empty afterwards")
        time.sleep(0.3)
        is_(t.maildir_files(pm), [], "nothing reaches the postmaster")
        ok(" failed status=5.1.1" in t.logtext(),
           "the failure itself is logged")


def test_injection_retried():
    with Instance() as t:
        t.set("localretrystep", "1")
        sender = t.add_vuser("s@tern.test")
        # A tern-queue that fails the first time, then is the real one.
        d = os.path.join(t.dir, "bin")
        os.makedirs(d)
        flag = os.path.join(d, "failed-once")
        wrapper = os.path.join(d, "queue")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nif [ ! -e %s ]; then touch %s; exit 111; fi\n"
                    "exec %s\n" % (flag, flag, t.bin("tern-queue")))
        os.chmod(wrapper, 0o755)
        if t.root:
            os.chmod(t.dir, 0o755)
            t.chown_tree(d)
        t.start_send(extra_env={"TERN_QUEUE": wrapper})
        t.queue(message(subject="retry bounce", frm="s@tern.test"),
                "s@tern.test", ["nosuch@tern.test"])
        ok(wait_for(lambda: os.path.exists(flag), 10),
           "the first injection of the DSN fails")
        ok(wait_for(lambda: t.maildir_files(sender), 15),
           "the DSN is injected again later and arrives")
        is_(len(t.maildir_files(sender)), 1, "once")
        ok("failed with exit code 111" in t.logtext(),
           "log: the failed injection")
        ok(wait_for(t.queue_empty, 5), "the queue is empty afterwards")


test_unknown_user()
test_injection_retried()
test_null_sender_to_postmaster()
test_double_bounce_dropped()
done()
