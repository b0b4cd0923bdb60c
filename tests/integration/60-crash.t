#!/usr/bin/env python3
"""Crash test: tern-send and its deliverers are killed with SIGKILL at
random moments while messages are injected.  Afterwards every message
tern-queue accepted is delivered, at most twice, and no message file is
left in mess/.

Maildir deliveries are exactly once across process crashes (tern-spool(5)
"Crashes": the P state, keyed Maildir names and tern-local -c), so the
duplicates printed should be 0; the test still allows one duplicate per
message, the window that a power loss (not simulated here) may open.
Most kills take the whole process group; some take only tern-send, so
that the deliveries in flight finish on their own while a new tern-send
starts.

TERN_CRASH_N sets the number of messages (default 200; the closing note's
figures come from 5000), TERN_CRASH_SEED the random seed,
TERN_CRASH_ALONE the share of kills of tern-send alone (default 0.25).
"""
import os
import random
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, ok, is_, diag, done, message, wait_for  # noqa

N = int(os.environ.get("TERN_CRASH_N", "200"))
# Share of kills that take tern-send alone (the rest: its process group).
ALONE = float(os.environ.get("TERN_CRASH_ALONE", "0.25"))
CONC = 10

with Instance() as t:
    md1 = t.add_vuser("one@tern.test")
    md2 = t.add_vuser("two@tern.test")
    t.set("concurrencylocal", str(CONC))
    t.start_send()
    accepted, refused = [], []
    stop = threading.Event()

    def inject():
        for i in range(N):
            m = message(subject="crash-%d" % i, to="one@tern.test",
                        extra="X-Crash: %d\n" % i)
            rc, err = t.queue(m, "s@example.org",
                              ["one@tern.test", "two@tern.test"])
            (accepted if rc == 0 else refused).append(i)
        stop.set()

    kills = group_kills = 0
    seed = int(os.environ.get("TERN_CRASH_SEED", "0")) or \
        random.randrange(1, 1 << 30)
    diag("seed=%d" % seed)
    rng = random.Random(seed)
    th = threading.Thread(target=inject)
    t0 = time.monotonic()
    th.start()
    while not stop.is_set():
        time.sleep(rng.uniform(0.02, 0.3))
        if rng.random() >= ALONE:
            # tern-send, its keeper, tern-lspawn and every tern-local.
            t.stop_send(signal.SIGKILL)
            group_kills += 1
        else:
            # tern-send alone: tern-lspawn sees EOF and lets its
            # deliveries finish while the next tern-send starts.
            p = t.send
            try:
                p.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        kills += 1
        t.start_send()
    th.join()
    is_(refused, [], "tern-queue accepted every message (no refusals)")

    t1 = time.monotonic()
    ok(wait_for(t.queue_empty, timeout=90 + N * 0.1),
       "queue drains after the crashes")
    diag("injection with kills: %.1f s, drain: %.1f s"
         % (t1 - t0, time.monotonic() - t1))
    t.stop_send()

    def counts(md):
        seen = {}
        for sub in ("new", "cur"):
            for n in t.maildir_files(md, sub):
                with open(os.path.join(md, sub, n), "rb") as f:
                    data = f.read()
                mm = re.search(rb"^X-Crash: (\d+)$", data, re.M)
                if mm:
                    k = int(mm.group(1))
                    seen[k] = seen.get(k, 0) + 1
        return seen

    total_dups = 0
    for name, md in (("one", md1), ("two", md2)):
        seen = counts(md)
        missing = [i for i in accepted if i not in seen]
        dups = sum(1 for v in seen.values() if v == 2)
        more = sorted(k for k, v in seen.items() if v > 2)
        total_dups += dups
        is_(missing, [], "%s: every accepted message delivered" % name)
        is_(more, [], "%s: no message delivered more than twice" % name)
        diag("%s: messages=%d kills=%d (group %d) delivered=%d "
             "duplicates=%d" % (name, len(accepted), kills, group_kills,
                                len(seen), dups))
    log = t.logtext()
    diag("deliveries found by the check after a crash: %d"
         % log.count("already delivered"))
    diag("total duplicates: %d" % total_dups)
    left = os.listdir(os.path.join(t.spool, "mess"))
    is_(left, [], "no message file left in mess/")
    is_(os.listdir(os.path.join(t.spool, "bounce")), [],
        "no file left in bounce/")
done()
