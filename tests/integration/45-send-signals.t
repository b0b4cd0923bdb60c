#!/usr/bin/env python3
"""tern-send: SIGHUP rereads localdomains; SIGALRM and 'F' flush."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, message, ok, wait_for  # noqa

DEFER = "delivery to=<u@other.test> deferred status=4.4.1"


def count(t, text):
    return t.logtext().count(text)


def test_hup_localdomains():
    with Instance() as t:
        md = t.add_vuser("u@other.test")
        t.start_send()
        t.queue(message(subject="early"), "a@example.org", ["u@other.test"])
        ok(wait_for(lambda: count(t, DEFER) == 1, 10),
           "other.test is not local yet: deferred")
        t.set("localdomains", "tern.test\nother.test\n")
        t.send.send_signal(signal.SIGHUP)
        ok(wait_for(lambda: "control files reread" in t.logtext(), 10),
           "SIGHUP: the control files are reread")
        t.queue(message(subject="late"), "a@example.org", ["u@other.test"])
        ok(wait_for(lambda: len(t.maildir_files(md)) == 1, 10),
           "new mail for other.test is now delivered locally")
        time.sleep(0.3)
        is_(len(t.maildir_files(md)), 1,
            "the deferred message waits for its retry time")
        t.send.send_signal(signal.SIGALRM)
        ok(wait_for(lambda: len(t.maildir_files(md)) == 2, 10),
           "SIGALRM: the deferred message is tried now")
        ok(wait_for(t.queue_empty, 5), "the queue is empty")
        is_(t.stop_send(), 0, "exit 0")


def test_trigger_flush():
    with Instance() as t:
        t.set("localdomains", "tern.test")
        t.start_send()
        t.queue(message(), "a@example.org", ["r@example.net"])
        ok(wait_for(lambda: count(t, "delivery to=<r@example.net> deferred") == 1, 10),
           "a remote recipient is deferred")
        time.sleep(0.5)
        is_(count(t, "delivery to=<r@example.net> deferred"), 1,
            "and not tried again before its retry time")
        fd = os.open(os.path.join(t.spool, "trigger"),
                     os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, b"x")
        time.sleep(0.5)
        is_(count(t, "delivery to=<r@example.net> deferred"), 1,
            "an ordinary trigger byte does not retry it")
        os.write(fd, b"F")
        os.close(fd)
        ok(wait_for(lambda: count(t, "delivery to=<r@example.net> deferred") == 2, 5),
           "'F' on the trigger: every message is tried now")
        is_(t.stop_send(), 0, "exit 0")


def test_held_vanishes():
    with Instance() as t:
        t.start_send()
        t.queue(message(), "a@example.org", ["r@example.net"])
        pat = "delivery to=<r@example.net> deferred"
        ok(wait_for(lambda: count(t, pat) == 1, 10), "deferred once")
        env = os.listdir(os.path.join(t.spool, "env"))
        is_(len(env), 1, "one message queued")
        qid = env[0] if env else "x"
        os.rename(os.path.join(t.spool, "env", qid),
                  os.path.join(t.spool, "hold", qid))
        t.send.send_signal(signal.SIGALRM)
        time.sleep(0.5)
        is_(count(t, pat), 1, "a held message is not tried")
        ok(os.path.exists(os.path.join(t.spool, "mess", qid)),
           "and its message file stays")
        os.rename(os.path.join(t.spool, "hold", qid),
                  os.path.join(t.spool, "env", qid))
        fd = os.open(os.path.join(t.spool, "trigger"),
                     os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, b"x")
        os.close(fd)
        ok(wait_for(lambda: count(t, pat) == 2, 5),
           "released and triggered: it is tried at once")
        ok(t.send.poll() is None, "tern-send still runs")


test_hup_localdomains()
test_trigger_flush()
test_held_vanishes()
done()
