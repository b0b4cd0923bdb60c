#!/usr/bin/env python3
"""Disk full: the spool, then a Maildir, on a small full tmpfs.

tern-queue must exit 53 and leave nothing behind; delivery to a full
Maildir must fail temporarily and the message stay queued; once space
comes back everything is delivered exactly once.  Needs root for mount(8).
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import (Instance, ok, is_, diag, done, message, wait_for,  # noqa
                     skip_all)

if os.geteuid() != 0:
    skip_all("mounting a small tmpfs needs root")


def mount_tmpfs(path, size="512k"):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=%s,mode=0755" % size, "tern-test", path],
                       capture_output=True)
    return r.returncode == 0


def fill(path):
    """Fill the filesystem at path; returns the filler's name."""
    f = os.path.join(path, "filler")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for chunk in (65536, 4096, 512, 1):
        try:
            while True:
                os.write(fd, b"\0" * chunk)
        except OSError:
            pass
    os.close(fd)
    return f


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def listing(t, d):
    return sorted(os.listdir(os.path.join(t.spool, d)))


with Instance() as t:
    # 1. The spool on a full filesystem.
    spool = t.spool
    if not mount_tmpfs(spool):
        skip_all("mount -t tmpfs failed (no permission in this container?)")
    try:
        t.make_spool()
        md = t.add_vuser("u@tern.test")
        filler = fill(spool)
        rc, err = t.queue(message(body="y" * 100000 + "\n"), "s@example.org",
                          ["u@tern.test"])
        is_(rc, 53, "tern-queue exits 53 when the spool is full")
        diag(err.decode(errors="replace").strip())
        for d in ("tmp", "mess", "env"):
            is_(listing(t, d), [], "nothing left in %s/ after the failure" % d)
        os.unlink(filler)
        rc, err = t.queue(message(subject="after"), "s@example.org",
                          ["u@tern.test"])
        is_(rc, 0, "tern-queue accepts again once space is back")

        # 2. The Maildir on a full filesystem.
        mdfs = os.path.join(t.home, "full")
        ok(mount_tmpfs(mdfs), "tmpfs mounted for a Maildir")
        md2 = t.add_vuser("f@tern.test", maildir=os.path.join(mdfs, "Maildir"))
        filler2 = fill(mdfs)
        t.set("localretrystep", "1")
        t.start_send()
        ok(wait_for(lambda: len(t.maildir_files(md)) == 1),
           "mail for a Maildir with space is delivered meanwhile")
        rc, _ = t.queue(message(subject="full", body="z" * 20000 + "\n",
                                to="f@tern.test"),
                        "s@example.org", ["f@tern.test"])
        is_(rc, 0, "message for the full Maildir is queued")
        ok(wait_for(lambda: "deferred" in t.logtext() and "f@tern.test"
                    in t.logtext(), timeout=20),
           "delivery to the full Maildir is deferred (temporary failure)")
        is_(t.maildir_files(md2), [], "nothing half-written in the full Maildir's new/")
        ok(not t.queue_empty(), "the message stays queued")
        os.unlink(filler2)
        t.send.send_signal(signal.SIGALRM)
        ok(wait_for(lambda: len(t.maildir_files(md2)) == 1, timeout=30),
           "delivered once space is back")
        ok(wait_for(t.queue_empty), "queue empty afterwards")
        is_(len(t.maildir_files(md2)), 1, "delivered exactly once")
        t.stop_send()
    finally:
        t.stop_send(signal.SIGKILL)
        umount(os.path.join(t.home, "full"))
        umount(spool)
done()
