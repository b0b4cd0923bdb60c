#!/usr/bin/env python3
"""tern-send: tern-lspawn dies; tern-send restarts it and goes on."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, message, ok, wait_for  # noqa


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:4]]
    return None


def lspawn_pids(session):
    """tern-lspawn processes in tern-send's session."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        if name == "tern-lspawn" and int(fields[3]) == session:
            pids.append(int(p))
    return pids


with Instance() as t:
    md = t.add_vuser("u@tern.test")
    p = t.start_send()
    t.queue(message(subject="before"), "a@example.org", ["u@tern.test"])
    # wait for tern-send's record of it, not only the Maildir file: a
    # kill between the two would leave the message for its retry
    ok(wait_for(lambda: len(t.maildir_files(md)) == 1 and
                "delivery to=<u@tern.test> ok" in t.logtext(), 10),
       "delivery works")
    pids = lspawn_pids(p.pid)
    is_(len(pids), 1, "one tern-lspawn runs in tern-send's session")
    if t.root:
        is_(uid_of(p.pid), [t.uid] * 3,
            "as root, tern-send drops to the queue user for good")
        is_(uid_of(pids[0]) if pids else None, [0, 0, 0],
            "and tern-lspawn runs as root")
    else:
        is_(uid_of(p.pid), [os.getuid()] * 3, "not root: no drop")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    ok(wait_for(lambda: "tern-lspawn exited" in t.logtext(), 10),
       "log: tern-send notices that tern-lspawn died")
    ok(wait_for(lambda: lspawn_pids(p.pid) and
                lspawn_pids(p.pid) != pids, 10),
       "a new tern-lspawn is started")
    t.queue(message(subject="after"), "a@example.org", ["u@tern.test"])
    ok(wait_for(lambda: len(t.maildir_files(md)) == 2, 10),
       "delivery works again")
    ok(p.poll() is None, "tern-send kept running")

    # Now with a delivery in flight when tern-lspawn dies.
    t.set("localretrystep", "1")
    t.send.send_signal(signal.SIGHUP)
    ok(wait_for(lambda: "control files reread" in t.logtext(), 10),
       "SIGHUP: retry step 1 s")
    bindir = os.path.join(t.home, "bin")
    os.makedirs(bindir)
    started = os.path.join(bindir, "started")
    slow = os.path.join(bindir, "slow")
    with open(slow, "w") as f:
        f.write("#!/bin/sh\ntouch %s\nsleep 1\ncat >/dev/null\n" % started)
    os.chmod(slow, 0o755)
    if t.root:
        t.chown_tree(bindir)
    t.set("aliases", "slow: |%s\n" % slow)
    t.queue(message(subject="slow"), "a@example.org", ["slow@tern.test"])
    ok(wait_for(lambda: os.path.exists(started), 10),
       "a slow delivery is in flight")
    for pid in lspawn_pids(p.pid):
        os.kill(pid, signal.SIGKILL)
    ok(wait_for(lambda: 'to=<slow@tern.test> deferred status=4.3.0 '
                'text="tern-lspawn died"' in t.logtext(), 10),
       "log: the delivery in flight is a temporary failure")
    ok(wait_for(lambda: "to=<slow@tern.test> ok" in t.logtext(), 20),
       "and is made again by the new tern-lspawn")
    ok(wait_for(t.queue_empty, 10), "the queue is empty")
    is_(t.stop_send(), 0, "exit 0")
    ok(wait_for(lambda: not lspawn_pids(p.pid), 10),
       "tern-lspawn exits when tern-send stops")
done()
