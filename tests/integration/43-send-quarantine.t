#!/usr/bin/env python3
"""tern-send: envelopes that do not parse are quarantined, mail flows on."""
import os
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, message, ok, wait_for  # noqa

BAD = "1lgaaaaaaaaaaaaa"    # a well-formed queue id


def put(t, sub, name, data):
    path = os.path.join(t.spool, sub, name)
    with open(path, "wb") as f:
        f.write(data)
    if t.root:
        os.chown(path, t.uid, t.gid)
    return path


def test_quarantine():
    with Instance() as t:
        md = t.add_vuser("u@tern.test")
        put(t, "env", BAD, b"this is not an envelope\n")
        put(t, "mess", BAD, b"Subject: lost\n\nbody\n")
        put(t, "env", "junk", b"x")
        # Truncated: the final empty record is missing.
        put(t, "env", "1lgbbbbbbbbbbbbb",
            b"V1\0I1lgbbbbbbbbbbbbb\0t1\0F\0Tu@tern.test\0")
        t.start_send()
        code, _ = t.queue(message(subject="good"), "a@example.org",
                          ["u@tern.test"])
        is_(code, 0, "a good message is queued beside the bad ones")
        ok(wait_for(lambda: t.maildir_files(md), 10),
           "the good message is delivered")
        is_(len(t.maildir_files(md)), 1, "and only it")
        q = os.path.join(t.spool, "quarantine")
        ok(wait_for(lambda: {BAD + ".e", BAD + ".m", "junk.e",
                             "1lgbbbbbbbbbbbbb.e"} <=
                    set(os.listdir(q)), 5),
           "envelope and message moved to quarantine/<id>.e and .m")
        with open(os.path.join(q, BAD + ".e"), "rb") as f:
            is_(f.read(), b"this is not an envelope\n",
                "the quarantined file is kept as it was")
        ok(wait_for(t.queue_empty, 5), "env/ is empty")
        ok(not os.path.exists(os.path.join(t.spool, "mess", BAD)),
           "mess/<id> is gone from the queue")
        log = t.logtext()
        ok("warning: %s quarantined: " % BAD in log,
           "log: a warning names the id")
        ok("warning: junk quarantined: not a queue id" in log,
           "log: a stray name is quarantined too")
        ok(t.send.poll() is None, "tern-send keeps running")
        is_(t.stop_send(), 0, "and stops cleanly")


def age(path, hours):
    t = os.stat(path).st_mtime - hours * 3600
    os.utime(path, (t, t))


def test_setup_and_clean():
    with Instance() as t:
        for sub in ("quarantine", "bounce"):
            os.rmdir(os.path.join(t.spool, sub))
        os.unlink(os.path.join(t.spool, "trigger"))
        old_tmp = put(t, "tmp", "1lgccccccccccccc.m", b"half")
        new_tmp = put(t, "tmp", "1lgddddddddddddd.m", b"half")
        orphan = put(t, "mess", "1lgeeeeeeeeeeeee", b"Subject: x\n\n")
        young = put(t, "mess", "1lgfffffffffffff", b"Subject: x\n\n")
        held = put(t, "mess", "1lgggggggggggggg", b"Subject: x\n\n")
        put(t, "hold", "1lgggggggggggggg", b"V1\0")
        for p in (old_tmp, orphan, held):
            age(p, 40)
        age(young, 30)
        t.start_send()
        ok(wait_for(lambda: "started" in t.logtext(), 10), "started")
        trig = os.path.join(t.spool, "trigger")
        ok(wait_for(lambda: os.path.exists(trig), 5) and
           stat.S_ISFIFO(os.stat(trig).st_mode) and
           stat.S_IMODE(os.stat(trig).st_mode) == 0o622,
           "the trigger fifo is created, mode 0622")
        modes = [stat.S_IMODE(os.stat(os.path.join(t.spool, s)).st_mode)
                 if os.path.isdir(os.path.join(t.spool, s)) else None
                 for s in ("quarantine", "bounce")]
        is_(modes, [0o700, 0o700], "missing subdirectories made, mode 0700")
        ok(wait_for(lambda: not os.path.exists(old_tmp), 5),
           "tmp/ files older than 36 h removed")
        ok(wait_for(lambda: not os.path.exists(orphan), 5),
           "mess/ files without an envelope, older than 36 h, removed")
        ok(os.path.exists(new_tmp), "younger tmp/ files kept")
        ok(os.path.exists(young), "younger orphans kept")
        ok(os.path.exists(held), "a held message's file is kept")
        is_(t.stop_send(), 0, "exit 0")


test_quarantine()
test_setup_and_clean()
done()
