#!/usr/bin/env python3
"""tern-qctl: list, show, hold, release, delete, flush; mailq, newaliases."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib as t  # noqa: E402

for prog in ("tern-queue", "tern-qctl"):
    if not os.access(os.path.join(t.BIN, prog), os.X_OK):
        t.skip_all(prog + " is not built")


def qctl(inst, *args):
    r = inst.run(["tern-qctl"] + list(args))
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def spool(inst, *parts):
    return os.path.join(inst.spool, *parts)


def ids(inst, sub):
    return sorted(os.listdir(spool(inst, sub)))


def set_state(inst, qid, rcpt, state):
    """Change a recipient's state byte in place, as tern-send does."""
    path = spool(inst, "env", qid)
    with open(path, "r+b") as f:
        data = f.read()
        off = data.index(b"\0T" + rcpt.encode() + b"\0") + 1
        f.seek(off)
        f.write(state)


with t.Instance() as inst:
    rc, err = inst.queue(t.message(subject="first"), "a@example.org",
                         ["u@tern.test", "v@example.com"])
    t.is_(rc, 0, "queued message A")
    time.sleep(0.01)
    rc, err = inst.queue(t.message(subject="second", body="BODY-B\n"), "",
                         ["w@tern.test"],
                         extra=b"EENV-42\0RFULL\0")
    t.is_(rc, 0, "queued message B (null sender, ENVID, RET)")
    time.sleep(0.01)
    rc, err = inst.queue_raw(
        t.message(subject="third"),
        b"Fc@example.org\0NSUCCESS,FAILURE\0Orfc822;x+2By@tern.test\0"
        b"Tx@tern.test\0\0")
    t.is_(rc, 0, "queued message C (NOTIFY, ORCPT)")
    queued = ids(inst, "env")
    t.is_(len(queued), 3, "three envelopes in env/")
    if len(queued) != 3:
        t.done()
    a, b, c = queued

    # list
    rc, out, err = qctl(inst, "list")
    t.is_(rc, 0, "list exits 0")
    lines = out.splitlines()
    t.ok(lines and lines[0].startswith("QUEUE ID"), "list has a header")
    t.ok(out.index(a) < out.index(b) < out.index(c), "oldest first")
    t.ok(any(ln.startswith(a) and "<a@example.org>" in ln for ln in lines),
         "message line: id and sender")
    t.ok(any(ln.startswith(b) and "<>" in ln for ln in lines),
         "null sender shown as <>")
    size_a = os.stat(spool(inst, "mess", a)).st_size
    t.ok(any(ln.startswith(a) and (" %d " % size_a) in ln for ln in lines),
         "message line shows the size of mess/<id>")
    t.ok("    pending   <u@tern.test>" in lines and
         "    pending   <v@example.com>" in lines,
         "every recipient listed as pending")
    t.ok(lines[-1].startswith("-- 3 messages (0 held)"), "summary line")

    # recipient states, failures with their bounce record
    set_state(inst, a, "u@tern.test", b"D")
    set_state(inst, a, "v@example.com", b"B")
    with open(spool(inst, "bounce", a), "wb") as f:
        f.write(b"1\x005.1.1\x00no such user\x00")
    rc, out, err = qctl(inst, "list")
    t.ok("    delivered <u@tern.test>" in out.splitlines(),
         "a done recipient is listed as delivered")
    t.ok("    failed    <v@example.com> 5.1.1 no such user"
         in out.splitlines(), "a failed recipient shows its status")

    # show
    rc, out, err = qctl(inst, "show", b)
    t.is_(rc, 0, "show exits 0")
    head, _, body = out.partition("\n\n")
    t.ok(("id: " + b) in head and "sender: <>" in head,
         "show: id and sender")
    t.ok("envid: ENV-42" in head and "ret: FULL" in head,
         "show: ENVID and RET")
    t.ok("  pending   <w@tern.test>" in head, "show: recipient and state")
    with open(spool(inst, "mess", b)) as f:
        t.is_(body, f.read(), "show: the message follows a blank line")
    rc, out, err = qctl(inst, "show", c)
    t.ok("notify=SUCCESS,FAILURE" in out and "orcpt=rfc822;x+2By@tern.test"
         in out, "show: NOTIFY and ORCPT")
    rc, out, err = qctl(inst, "show", "0000000000000000")
    t.is_(rc, 100, "show of an unknown id exits 100")
    t.ok("no such message" in err, "... saying no such message")
    rc, out, err = qctl(inst, "show", "../env")
    t.is_(rc, 100, "show of a malformed id exits 100")
    t.is_(qctl(inst, "show")[0], 100, "show without an id exits 100")

    # hold and release
    rc, out, err = qctl(inst, "hold", b)
    t.is_(rc, 0, "hold exits 0")
    t.ok(b not in ids(inst, "env") and b in ids(inst, "hold"),
         "hold moves env/<id> to hold/<id>")
    t.ok(os.path.exists(spool(inst, "mess", b)), "hold keeps the message")
    rc, out, err = qctl(inst, "list")
    t.ok(any(ln.startswith(b) and ln.endswith("(held)")
             for ln in out.splitlines()), "list marks the held message")
    t.ok("(1 held)" in out, "summary counts held messages")
    t.is_(qctl(inst, "hold", b)[0], 0, "holding a held message is fine")
    t.is_(qctl(inst, "hold", "0000000000000000")[0], 100,
          "hold of an unknown id exits 100")
    old = time.time() - 86400
    os.utime(spool(inst, "hold", b), (old, old))
    rd = os.open(spool(inst, "trigger"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        rc, out, err = qctl(inst, "release", b)
        t.is_(rc, 0, "release exits 0")
        t.ok(b in ids(inst, "env") and b not in ids(inst, "hold"),
             "release moves hold/<id> back to env/<id>")
        mtime = os.stat(spool(inst, "env", b)).st_mtime
        t.ok(abs(mtime - time.time()) < 60,
             "release makes the message due now (mtime)")
        try:
            poked = os.read(rd, 16)
        except BlockingIOError:
            poked = b""
        t.ok(len(poked) == 1, "release pokes the trigger")
    finally:
        os.close(rd)
    t.is_(qctl(inst, "release", b)[0], 0, "releasing a queued one is fine")
    t.is_(qctl(inst, "release", "0000000000000000")[0], 100,
          "release of an unknown id exits 100")

    # delete
    rc, out, err = qctl(inst, "delete", a)
    t.is_(rc, 0, "delete exits 0")
    t.ok(not os.path.exists(spool(inst, "env", a)) and
         not os.path.exists(spool(inst, "mess", a)) and
         not os.path.exists(spool(inst, "bounce", a)),
         "delete removes env/, mess/ and bounce/ files")
    t.ok(b in ids(inst, "env") and c in ids(inst, "env"),
         "delete leaves the other messages alone")
    qctl(inst, "hold", c)
    rc, out, err = qctl(inst, "delete", "0000000000000000", c)
    t.is_(rc, 100, "delete with an unknown id exits 100")
    t.ok(not os.path.exists(spool(inst, "hold", c)) and
         not os.path.exists(spool(inst, "mess", c)),
         "... and still deletes the held message named with it")
    t.is_(qctl(inst, "delete", a)[0], 100, "deleting twice exits 100")

    # an envelope that does not parse
    bad = b[:-1] + ("0" if b[-1] != "0" else "1")
    with open(spool(inst, "env", bad), "wb") as f:
        f.write(b"garbage\0")
    rc, out, err = qctl(inst, "list")
    t.is_(rc, 111, "list with an unreadable envelope exits 111")
    t.ok(any(ln.startswith(bad) and "unreadable" in ln
             for ln in out.splitlines()), "... and shows it as unreadable")
    t.ok(b in out, "... and still lists the others")
    os.unlink(spool(inst, "env", bad))

    # flush
    rc, out, err = qctl(inst, "flush")
    t.is_(rc, 111, "flush without tern-send exits 111")
    t.ok("tern-qctl: fatal: " in err and "tern-send is not running" in err,
         "... saying tern-send is not running")
    rd = os.open(spool(inst, "trigger"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        rc, out, err = qctl(inst, "flush")
        t.is_(rc, 0, "flush with a reader exits 0")
        try:
            got = os.read(rd, 16)
        except BlockingIOError:
            got = b""
        t.is_(got, b"F", "flush writes F to the trigger")
    finally:
        os.close(rd)
    t.is_(qctl(inst, "flush", "x")[0], 100, "flush takes no argument")

    # usage
    t.is_(qctl(inst)[0], 100, "no command exits 100")
    rc, out, err = qctl(inst, "frobnicate")
    t.is_(rc, 100, "an unknown command exits 100")

    # mailq and newaliases through argv[0]
    links = os.path.join(inst.dir, "links")
    os.mkdir(links)
    for name in ("mailq", "newaliases"):
        os.symlink(os.path.join(os.path.abspath(t.BIN), "tern-qctl"),
                   os.path.join(links, name))
    r1 = inst.run([os.path.join(links, "mailq")])
    r2 = inst.run(["tern-qctl", "list"])
    t.is_(r1.returncode, 0, "mailq exits 0")
    def no_age(out):
        return re.sub(rb"^(\S+) +\S+ ", rb"\1 AGE ", out, flags=re.M)
    t.is_(no_age(r1.stdout), no_age(r2.stdout),
          "mailq prints what tern-qctl list does")
    # newaliases compiles control/recipients from control/passwd
    inst.add_vuser("Zed@tern.test", password_hash="$6$salt$secrethash")
    inst.add_vuser("amy@tern.test", password_hash="!")
    inst.set("aliases", "root: amy@tern.test\nlist: a, b\n")
    recipients = os.path.join(inst.control, "recipients")
    r = inst.run([os.path.join(links, "newaliases"), "-v"])
    t.is_(r.returncode, 0, "newaliases exits 0")
    out = r.stdout.decode()
    t.ok("recipients: 2 addresses from" in out,
         "newaliases says how many addresses it compiled")
    t.ok("aliases: 2 aliases" in out, "newaliases checks the aliases")
    with open(recipients) as f:
        text = f.read()
    t.is_([ln for ln in text.splitlines() if not ln.startswith("#")],
          ["amy@tern.test", "zed@tern.test"],
          "recipients: the addresses, lowercased and sorted")
    t.ok("secrethash" not in text and "$6$" not in text,
         "recipients holds no hash")
    t.is_(os.stat(recipients).st_mode & 0o7777, 0o644,
          "recipients is mode 0644")
    t.ok(not [n for n in os.listdir(inst.control) if "tmp" in n],
         "no temporary file is left behind")
    with open(os.path.join(inst.control, "passwd"), "a") as f:
        f.write("broken line\n")
    r = inst.run(["tern-qctl", "newaliases"])
    t.is_(r.returncode, 100, "a bad passwd line: exit 100")
    t.ok(b"passwd line 3" in r.stderr, "the bad line is named")
    with open(recipients) as f:
        t.is_(f.read(), text, "recipients is unchanged after an error")
    os.unlink(os.path.join(inst.control, "passwd"))
    inst.set("aliases", "list: a, b\nlist: c\n")
    r = inst.run(["tern-qctl", "newaliases"])
    t.is_(r.returncode, 100, "a duplicate alias: exit 100")
    with open(recipients) as f:
        t.is_([ln for ln in f.read().splitlines() if not ln.startswith("#")],
              [], "without passwd, recipients is empty")
    r = inst.run(["tern-qctl", "newaliases", "x"])
    t.is_(r.returncode, 100, "tern-qctl newaliases takes no argument")
    os.chmod(inst.control, 0o555)
    r = inst.run(["tern-qctl", "newaliases"])
    if os.geteuid() != 0:
        t.is_(r.returncode, 111, "an unwritable control dir: exit 111")
    os.chmod(inst.control, 0o755)

    # an empty queue
    qctl(inst, "delete", b)
    rc, out, err = qctl(inst, "list")
    t.is_((rc, out), (0, "queue is empty\n"), "an empty queue says so")

t.done()
