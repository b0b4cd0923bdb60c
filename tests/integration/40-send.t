#!/usr/bin/env python3
"""tern-send: local delivery, several recipients, remote deferral, trigger."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, message, ok, wait_for  # noqa


def spool_files(t, sub):
    return sorted(os.listdir(os.path.join(t.spool, sub)))


def headers_of(raw):
    return raw.split(b"\n\n", 1)[0].decode("utf-8", "replace")


def test_one_delivery():
    with Instance() as t:
        # A long rescan interval: only the trigger can make this fast.
        t.set("rescaninterval", "3600")
        md = t.add_vuser("u@tern.test")
        t.start_send()
        ok(wait_for(lambda: "started" in t.logtext(), 10),
           "tern-send starts and logs it")
        time.sleep(0.3)     # past its first scan of env/
        start = time.monotonic()
        code, err = t.queue(message(subject="one"), "a@example.org",
                            ["u@tern.test"])
        is_(code, 0, "tern-queue accepts the message")
        got = wait_for(lambda: t.maildir_files(md), 10, 0.01)
        took = time.monotonic() - start
        ok(got and took < 3.0,
           "the trigger makes delivery immediate (%.2f s, rescan 3600 s)"
           % took)
        msgs = t.read_new(md)
        is_(len(msgs), 1, "one copy in the Maildir")
        hdr = headers_of(msgs[0]) if msgs else ""
        ok(hdr.startswith("Return-Path: <a@example.org>\n"),
           "Return-Path comes first")
        ok("\nDelivered-To: u@tern.test\n" in hdr, "Delivered-To is there")
        ok(wait_for(lambda: t.queue_empty() and not spool_files(t, "mess"),
                    5), "env/ and mess/ are empty afterwards")
        is_(spool_files(t, "bounce"), [], "no bounce record")
        log = t.logtext()
        qid = re.search(r"info: (\S+) new from=<a@example.org> size=\d+ "
                        r"rcpts=1\n", log)
        ok(qid, "log: new from=<..> size=N rcpts=1")
        q = qid.group(1) if qid else "?"
        ok(re.search(r"info: %s delivery to=<u@tern.test> ok\n" % q, log),
           "log: delivery to=<u@tern.test> ok")
        ok(wait_for(lambda: ("info: %s done\n" % q) in t.logtext(), 5),
           "log: done")
        is_(t.stop_send(), 0, "SIGTERM: tern-send exits 0")


def test_two_recipients():
    with Instance() as t:
        m1 = t.add_vuser("u1@tern.test")
        m2 = t.add_vuser("u2@tern.test")
        t.start_send()
        code, _ = t.queue(message(subject="two"), "a@example.org",
                          ["u1@tern.test", "u2@tern.test"])
        is_(code, 0, "queued for two recipients")
        ok(wait_for(lambda: t.maildir_files(m1) and t.maildir_files(m2), 10),
           "both recipients get the message")
        a, b = t.read_new(m1), t.read_new(m2)
        ok(len(a) == 1 and len(b) == 1, "exactly one copy each")
        ok(a and b"Delivered-To: u1@tern.test\n" in a[0] and
           b and b"Delivered-To: u2@tern.test\n" in b[0],
           "each copy names its own recipient")
        ok(wait_for(t.queue_empty, 5), "the message leaves the queue")
        log = t.logtext()
        is_(len(re.findall(r" new from=<a@example.org> size=\d+ rcpts=2\n",
                           log)), 1, "one new line with rcpts=2")
        is_(len(re.findall(r" delivery to=<u[12]@tern.test> ok\n", log)), 2,
            "two ok lines")


def test_remote_deferred():
    with Instance() as t:
        md = t.add_vuser("u@tern.test")
        t.start_send()
        code, _ = t.queue(message(subject="remote"), "a@example.org",
                          ["r@example.net", "u@tern.test"])
        is_(code, 0, "queued for a remote and a local recipient")
        ok(wait_for(lambda: t.maildir_files(md), 10),
           "the local recipient is delivered")
        # ternlib routes remote mail to a dead loopback port.
        pat = ('delivery to=<r@example.net> deferred status=4.4.1 '
               'text="127.0.0.1 [127.0.0.1]: Connection refused"')
        ok(wait_for(lambda: pat in t.logtext(), 5),
           "log: the remote recipient is deferred")
        time.sleep(0.3)
        env = spool_files(t, "env")
        is_(len(env), 1, "the message stays queued")
        if env:
            with open(os.path.join(t.spool, "env", env[0]), "rb") as f:
                data = f.read()
            ok(b"\0Tr@example.net\0" in data and b"\0Du@tern.test\0" in data,
               "remote still T, local marked D in the envelope")
            ok(os.path.exists(os.path.join(t.spool, "mess", env[0])),
               "the message file stays too")
            ok(os.stat(os.path.join(t.spool, "env", env[0])).st_mtime >
               time.time() + 30, "env mtime holds the next try (a minute on)")
        is_(t.stop_send(), 0, "SIGTERM with nothing in flight: exit 0")


def test_stray_names():
    with Instance() as t:
        md = t.add_vuser("u@tern.test")
        hidden = os.path.join(t.spool, "env", ".hidden")
        with open(hidden, "w") as f:
            f.write("x")
        t.start_send()
        t.queue(message(), "a@example.org", ["u@tern.test"])
        ok(wait_for(lambda: t.maildir_files(md), 10),
           "mail flows with a dot file in env/")
        ok(os.path.exists(hidden), "names starting with '.' are left alone")
        t.stop_send()


test_one_delivery()
test_two_recipients()
test_remote_deferred()
test_stray_names()
done()
