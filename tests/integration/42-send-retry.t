#!/usr/bin/env python3
"""tern-send: temporary failures are retried; old ones expire (4.4.7)."""
import email
import email.policy
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, message, ok, wait_for  # noqa


def script(t, name, body):
    """An executable shell script the alias user may run."""
    d = os.path.join(t.home, "bin")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    if t.root:
        t.chown_tree(d)
    return path


def test_retry_to_success():
    with Instance() as t:
        t.set("localretrystep", "1")
        state = os.path.join(t.home, "bin", "tried")
        out = os.path.join(t.home, "bin", "got")
        cmd = script(t, "flaky",
                     'if [ -e %s ]; then cat > %s; exit 0; fi\n'
                     'touch %s; exit 111\n' % (state, out, state))
        t.set("aliases", "flaky: |%s\n" % cmd)
        t.start_send()
        start = time.monotonic()
        code, _ = t.queue(message(subject="flaky"), "a@example.org",
                          ["flaky@tern.test"])
        is_(code, 0, "queued to a command that fails once")
        ok(wait_for(lambda: os.path.exists(out), 15),
           "the second attempt delivers")
        took = time.monotonic() - start
        ok(took < 8, "retried after about one step (%.1f s)" % took)
        log = t.logtext()
        ok(re.search(r" delivery to=<flaky@tern.test> deferred "
                     r"status=4\.\d+\.\d+ text=", log),
           "log: the first attempt is deferred")
        ok(wait_for(lambda: " delivery to=<flaky@tern.test> ok\n"
                    in t.logtext(), 5), "log: the second is ok")
        ok(wait_for(t.queue_empty, 5), "the queue is empty afterwards")
        with open(out, "rb") as f:
            ok(b"Subject: flaky" in f.read(), "the command got the message")


def test_expiry():
    with Instance() as t:
        t.set("localretrystep", "1")
        t.set("queuelifetime", "3")
        sender = t.add_vuser("s@tern.test")
        cmd = script(t, "down", "exit 111\n")
        t.set("aliases", "down: |%s\n" % cmd)
        t.start_send()
        start = time.monotonic()
        code, _ = t.queue(message(subject="never", frm="s@tern.test"),
                          "s@tern.test", ["down@tern.test"])
        is_(code, 0, "queued to a command that always fails temporarily")
        ok(wait_for(lambda: t.maildir_files(sender), 20),
           "a DSN arrives once the lifetime is over")
        took = time.monotonic() - start
        ok(3 <= took < 12, "not before the lifetime, soon after (%.1f s)"
           % took)
        msgs = t.read_new(sender)
        m = email.message_from_bytes(msgs[0] if msgs else b"",
                                     policy=email.policy.compat32)
        is_(m.get_content_type(), "multipart/report", "the DSN is a report")
        text = (msgs[0] if msgs else b"").decode("utf-8", "replace")
        ok(re.search(r"(?m)^Status: 4\.4\.7$", text), "Status: 4.4.7")
        ok(re.search(r"(?m)^Action: failed$", text), "Action: failed")
        ok("message expired" in text, "the diagnostic says it expired")
        ok(len(re.findall(r" delivery to=<down@tern.test> deferred ",
                          t.logtext())) >= 1, "log: deferred before it expired")
        ok(re.search(r" delivery to=<down@tern.test> failed status=4\.4\.7 "
                     r'text="message expired: ', t.logtext()),
           "log: failed status=4.4.7")
        ok(wait_for(t.queue_empty, 5), "the queue is empty afterwards")


def test_remote_expiry():
    with Instance() as t:
        t.set("localretrystep", "1")
        t.set("queuelifetime", "2")
        sender = t.add_vuser("s@tern.test")
        t.start_send()
        t.queue(message(subject="far", frm="s@tern.test"), "s@tern.test",
                ["r@example.net"])
        ok(wait_for(lambda: t.maildir_files(sender), 20),
           "a remote recipient expires like a local one")
        text = b"".join(t.read_new(sender)).decode("utf-8", "replace")
        ok(re.search(r"(?m)^Status: 4\.4\.7$", text) and
           "127.0.0.1 [127.0.0.1]: Connection refused" in text,
           "4.4.7 with the last error")


def test_one_try_per_round():
    with Instance() as t:
        t.set("concurrencylocal", "2")
        runs = os.path.join(t.home, "bin", "runs")
        cmd = script(t, "fails", "echo x >> %s; exit 111\n" % runs)
        t.set("aliases", "fails: |%s\n" % cmd)
        mds = [t.add_vuser("u%d@tern.test" % i) for i in range(8)]
        t.start_send()
        code, _ = t.queue(message(subject="many"), "a@example.org",
                          ["fails@tern.test"] +
                          ["u%d@tern.test" % i for i in range(8)])
        is_(code, 0, "queued for nine recipients, two slots")
        ok(wait_for(lambda: all(t.maildir_files(m) for m in mds), 15),
           "the eight good recipients are delivered")
        time.sleep(0.5)
        with open(runs) as f:
            n = len(f.read().split())
        is_(n, 1, "the failing one is tried once per round, not again "
            "whenever a slot frees")
        ok(not t.queue_empty(), "the message waits for its next round")


test_retry_to_success()
test_one_try_per_round()
test_expiry()
test_remote_expiry()
done()
