#!/usr/bin/env python3
"""tern-send: stopped (SIGTERM) or killed (SIGKILL) mid-queue, restarted:
every message arrives; SIGTERM loses and duplicates nothing."""
import collections
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, ok, wait_for  # noqa

N = 50


def msg(tag, i):
    return ("From: a@example.org\nTo: u@tern.test\nSubject: %s %d\n"
            "Message-ID: <%s.%d@example.org>\n\nbody %d\n"
            % (tag, i, tag, i, i)).encode()


def ids_in(t, md):
    c = collections.Counter()
    for raw in t.read_new(md):
        m = re.search(rb"\nMessage-ID: <([^>]+)>\n", raw)
        c[m.group(1).decode() if m else "?"] += 1
    return c


def fill(t, tag):
    bad = 0
    for i in range(N):
        code, _ = t.queue(msg(tag, i), "a@example.org", ["u@tern.test"])
        bad += code != 0
    return bad


def count(t, md, tag):
    return sum(n for k, n in ids_in(t, md).items() if k.startswith(tag))


def test_sigterm(t, md):
    is_(fill(t, "term"), 0, "%d messages queued with tern-send down" % N)
    t.start_send()
    ok(wait_for(lambda: count(t, md, "term") >= 5, 20, 0.005),
       "delivery starts")
    is_(t.stop_send(signal.SIGTERM), 0, "SIGTERM mid-queue: exit 0")
    left = len(os.listdir(os.path.join(t.spool, "env")))
    diag("after SIGTERM: %d delivered, %d still queued"
         % (count(t, md, "term"), left))
    ok("stopping:" in t.logtext() and "exiting" in t.logtext(),
       "log: stopping, then exiting")
    t.start_send()
    ok(wait_for(lambda: count(t, md, "term") >= N and t.queue_empty(), 30),
       "after a restart every message is delivered")
    c = ids_in(t, md)
    want = {"term.%d@example.org" % i: 1 for i in range(N)}
    is_({k: v for k, v in c.items() if k.startswith("term")}, want,
        "each exactly once")
    t.stop_send()


def test_sigkill(t, md):
    is_(fill(t, "kill"), 0, "%d more messages queued" % N)
    t.start_send()
    ok(wait_for(lambda: count(t, md, "kill") >= 5, 20, 0.005),
       "delivery starts")
    t.stop_send(signal.SIGKILL)     # the whole process group
    diag("after SIGKILL: %d delivered" % count(t, md, "kill"))
    t.start_send()
    ok(wait_for(lambda: count(t, md, "kill") >= N and t.queue_empty(), 30),
       "after a restart every message is delivered")
    c = {k: v for k, v in ids_in(t, md).items() if k.startswith("kill")}
    is_(sorted(c), sorted("kill.%d@example.org" % i for i in range(N)),
        "no message is lost")
    dups = sum(v - 1 for v in c.values())
    # A delivery that was in flight when the kill came may be made again
    # (tern-spool(5): at most one duplicate after a crash); at most
    # concurrencylocal of them were in flight.
    ok(max(c.values() or [0]) <= 2 and dups <= 2,
       "at most one duplicate per in-flight delivery (%d)" % dups)
    t.stop_send()


with Instance() as t:
    t.set("concurrencylocal", "2")
    md = t.add_vuser("u@tern.test")
    test_sigterm(t, md)
    test_sigkill(t, md)
done()
