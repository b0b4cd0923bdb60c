#!/usr/bin/env python3
"""tern-queue: the qmail-queue interface, its exit codes and the spool it
writes (tern-queue(8), tern-spool(5))."""
import fcntl
import hashlib
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib
from ternlib import Instance, ok, is_, diag, done

QID = re.compile(rb"^[0-9a-v]{16}$")
RCVD = re.compile(
    rb"^Received: \(tern-queue ([0-9a-v]{16}) invoked by uid (\d+)\); "
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    rb"\d\d:\d\d:\d\d \+0000\n")


def ls(inst, sub):
    return sorted(os.listdir(os.path.join(inst.spool, sub)))


def read(inst, sub, name):
    with open(os.path.join(inst.spool, sub, name), "rb") as f:
        return f.read()


def spool_clean(inst):
    """Nothing half-written anywhere, nothing committed."""
    return not ls(inst, "tmp") and not ls(inst, "mess") and \
        not ls(inst, "env")


def run_fds(inst, stdin, stdout, timeout=30):
    """tern-queue with the given fds as message and envelope."""
    p = subprocess.Popen([inst.bin("tern-queue")], stdin=stdin,
                         stdout=stdout, stderr=subprocess.PIPE,
                         env=inst.env())
    err = p.communicate(timeout=timeout)[1]
    return p.returncode, err


def test_queued(inst):
    msg = ternlib.message(subject="queued", body="line 1\nline 2\n")
    t0 = int(time.time())
    code, err = inst.queue(msg, "a@example.org", ["u@tern.test",
                                                  "v@tern.test"])
    t1 = int(time.time())
    if not is_(code, 0, "a good message is queued (exit 0)"):
        diag(err.decode())
        return
    envs, mess = ls(inst, "env"), ls(inst, "mess")
    ok(len(envs) == 1 and envs == mess, "one env/<id> and one mess/<id>")
    is_(ls(inst, "tmp"), [], "nothing is left in tmp/")
    qid = envs[0].encode()
    ok(QID.match(qid), "the queue id is 16 base32 characters")
    recs = read(inst, "env", envs[0]).split(b"\0")
    is_(recs[-2:], [b"", b""], "envelope ends with the empty record")
    recs = recs[:-2]
    is_(recs[0:2], [b"V1", b"I" + qid], "envelope starts V1, I<id>")
    ok(recs[2][:1] == b"t" and t0 <= int(recs[2][1:]) <= t1,
       "t record holds the arrival time")
    is_(recs[3], b"u%d" % os.getuid(), "u record holds the caller's uid")
    is_(recs[4:], [b"Fa@example.org", b"Tu@tern.test", b"Tv@tern.test"],
        "sender and recipients are stored as given")
    data = read(inst, "mess", envs[0])
    m = RCVD.match(data)
    ok(m is not None and m.group(1) == qid and
       m.group(2) == b"%d" % os.getuid(),
       "mess/<id> starts with the Received line naming id and uid")
    ok(m is not None and data[m.end():] == msg,
       "the message follows the Received line byte for byte")
    logline = ("tern-queue: info: %s queued from=<a@example.org> size=%d "
               "rcpts=2 uid=%d\n" % (envs[0], len(data), os.getuid()))
    is_(err.decode(), logline, "one info line on stderr")
    for sub in ("env", "mess"):
        st = os.stat(os.path.join(inst.spool, sub, envs[0]))
        ok(st.st_mode & 0o777 == 0o600 and st.st_uid == inst.uid,
           "%s/<id> is mode 0600 and owned by the queue user" % sub)


def test_dsn_records(inst):
    env = (b"F\0Eenv+2B1\0Rhdrs\0Nsuccess,Delay\0Orfc822;x@y\0"
           b"Tx@tern.test\0Ty@tern.test\0\0")
    code, err = inst.queue_raw(b"Subject: dsn\n\nx\n", env)
    if not is_(code, 0, "E, R, N and O records are accepted"):
        diag(err.decode())
        return
    name = ls(inst, "env")[-1]
    recs = read(inst, "env", name).split(b"\0")
    is_(recs[4:-2], [b"F", b"Eenv+2B1", b"RHDRS", b"NSUCCESS,DELAY",
                     b"Orfc822;x@y", b"Tx@tern.test", b"Ty@tern.test"],
        "null sender kept, RET and NOTIFY stored in upper case")


BAD_ENVELOPES = [
    (b"Ta@b\0\0", "no F record first"),
    (b"\0", "an empty record first"),
    (b"Fa@b\0\0", "zero recipients"),
    (b"Fa@b\0Xa@b\0Tc@d\0\0", "an unknown record"),
    (b"Fa@b\0Fa@b\0Tc@d\0\0", "a second F record"),
    (b"Fa@b\0Tc\r@d\0\0", "CR in a recipient"),
    (b"Fa\n@b\0Tc@d\0\0", "LF in the sender"),
    (b"Fa@b\0T\0\0", "an empty recipient"),
    (b"Fa@b\0Tc@d\0NNEVER\0\0", "NOTIFY without a recipient"),
    (b"Fa@b\0Orfc822;c@d\0NNEVER\0Tc@d\0\0", "ORCPT before NOTIFY"),
    (b"Fa@b\0Tc@d\0Eenv\0\0", "ENVID after a recipient"),
    (b"Fa@b\0RALL\0Tc@d\0\0", "a bad RET"),
    (b"Fa@b\0NSOMETIMES\0Tc@d\0\0", "a bad NOTIFY"),
    (b"Fa@b\0Ox@y\0Tc@d\0\0", "an ORCPT without a type"),
    # review defect 7: no control byte in any record
    (b"Fa@b\0T\x1b[31m\x01x@y\0\0", "ESC and 0x01 in a recipient"),
    (b"Fa\t@b\0Tc@d\0\0", "a tab in the sender"),
    (b"Fa@b\0Tc@d\x7f\0\0", "DEL in a recipient"),
    (b"Fa@b\0Ee\x1b\0Tc@d\0\0", "ESC in an ENVID"),
    (b"Fa@b\0Orfc822;c\x08@d\0Tc@d\0\0", "a backspace in an ORCPT"),
]


def test_bad_envelopes(inst):
    for env, what in BAD_ENVELOPES:
        code, err = inst.queue_raw(b"Subject: x\n\nx\n", env)
        ok(code == 91 and b"bad envelope" in err and spool_clean(inst),
           "exit 91 for %s, nothing left behind" % what)
        if code != 91:
            diag(err.decode())


def test_long_addresses(inst):
    a256 = ("x" * (256 - len("@tern.test"))) + "@tern.test"
    a257 = "x" + a256
    is_(len(a256), 256, "test address has 256 bytes")
    code, err = inst.queue(b"x\n", a257, ["u@tern.test"])
    ok(code == 11 and spool_clean(inst), "exit 11 for a 257-byte sender")
    code, err = inst.queue(b"x\n", "a@b", ["u@tern.test", a257])
    ok(code == 11 and spool_clean(inst), "exit 11 for a 257-byte recipient")
    code, err = inst.queue_raw(b"x\n", b"Fa@b\0E" + b"e" * 1024 +
                               b"\0Tc@d\0\0")
    ok(code == 11 and spool_clean(inst), "exit 11 for an over-long record")
    code, err = inst.queue(b"x\n", a256, [a256])
    is_(code, 0, "256-byte addresses are accepted")


def test_read_errors(inst):
    for env, what in ((b"", "an empty envelope"),
                      (b"Fa@b\0Tc@d\0", "no final empty record"),
                      (b"Fa@b\0Tc@", "a cut recipient")):
        code, err = inst.queue_raw(b"Subject: x\n\nx\n", env)
        ok(code == 54 and spool_clean(inst),
           "exit 54 when the envelope pipe closes early: %s" % what)
    dfd = os.open(inst.spool, os.O_RDONLY | os.O_DIRECTORY)
    er, ew = os.pipe()
    os.write(ew, b"Fa@b\0Tc@d\0\0")
    os.close(ew)
    code, err = run_fds(inst, dfd, er)
    os.close(dfd)
    os.close(er)
    ok(code == 54 and spool_clean(inst),
       "exit 54 when the message cannot be read")


def test_timeout():
    with Instance() as inst:
        inst.set("queuetimeout", "1")
        mr, mw = os.pipe()
        er, ew = os.pipe()
        t0 = time.monotonic()
        code, err = run_fds(inst, mr, er)
        el = time.monotonic() - t0
        for fd in (mr, mw, er, ew):
            os.close(fd)
        ok(code == 52 and el < 10 and spool_clean(inst),
           "exit 52 when the input stalls past queuetimeout (%.1fs)" % el)


def test_databytes():
    with Instance() as inst:
        inst.set("databytes", "100")
        code, err = inst.queue(b"x" * 101, "a@b", ["c@d"])
        ok(code == 31 and b"databytes" in err and spool_clean(inst),
           "exit 31 for a message over databytes")
        code, err = inst.queue(b"x" * 100, "a@b", ["c@d"])
        is_(code, 0, "a message of exactly databytes is queued")
        inst.set("databytes", "lots")
        code, err = inst.queue(b"x\n", "a@b", ["c@d"])
        is_(code, 55, "exit 55 for an unreadable databytes")


def test_spool_missing():
    with Instance() as inst:
        os.rmdir(os.path.join(inst.spool, "tmp"))
        code, err = inst.queue(b"x\n", "a@b", ["c@d"])
        is_(code, 61, "exit 61 when tmp/ is missing")
        import shutil
        shutil.rmtree(inst.spool)
        code, err = inst.queue(b"x\n", "a@b", ["c@d"])
        is_(code, 61, "exit 61 when the spool is missing")


def spool_default(path):
    """The compiled-in spool of the tern-queue at path, or None."""
    with open(path, "rb") as f:
        data = f.read()
    return "/var/spool/tern" if b"/var/spool/tern\0" in data else None


def ns_queue(inst, setpriv, envelope):
    """As root: tern-queue in a private mount namespace whose compiled-in
    spool is inst's (a set-id caller's TERN_SPOOL is ignored), started
    through setpriv with the given id options.  (exit, stderr) or None."""
    spool = spool_default(inst.bin("tern-queue"))
    parent = os.path.dirname(spool or "/nonexistent/x")
    if spool is None or not os.path.isdir(parent):
        return None
    top = os.path.join(inst.dir, "ns")
    os.makedirs(top, exist_ok=True)
    link = os.path.join(top, os.path.basename(spool))
    if not os.path.lexists(link):
        os.symlink(inst.spool, link)
    script = ('mount --make-rprivate / && mount --bind "$1" "$2" && '
              'shift 2 && exec "$@"')
    argv = ["unshare", "-m", "sh", "-c", script, "sh", top, parent,
            "setpriv"] + setpriv + ["--", inst.bin("tern-queue")]
    mr, mw = os.pipe()
    er, ew = os.pipe()
    os.write(mw, ternlib.message(subject="ns"))
    os.write(ew, envelope)
    os.close(mw)
    os.close(ew)
    try:
        p = subprocess.run(argv, stdin=mr, stdout=er, capture_output=False,
                           stderr=subprocess.PIPE, timeout=30,
                           env=inst.env())
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        os.close(mr)
        os.close(er)
    if b"unshare:" in p.stderr or b"mount:" in p.stderr:
        return None
    return p.returncode, p.stderr


def test_untrusted_id():
    """Review defect 8: only root, the queue user and the SMTP user may
    choose the queue id; another local user's I record is ignored."""
    if os.geteuid() != 0:
        ok(True, "# SKIP the untrusted-caller test needs root")
        return
    with Instance() as inst:
        qid = b"1lgfpi29hct550t7"
        env = b"Fa@example.org\0I" + qid + b"\0Tu@tern.test\0\0"
        other = "--ruid=54321"    # a uid that is no user: not trusted
        r = ns_queue(inst, [other, "--euid=%d" % inst.uid,
                            "--rgid=%d" % inst.gid, "--egid=%d" % inst.gid,
                            "--clear-groups"], env)
        if r is None:
            ok(True, "# SKIP no mount namespace or compiled-in spool")
            return
        ids = ls(inst, "env")
        # A set-id process cannot read /proc/self/environ, so an ASan
        # build misses ASAN_OPTIONS there and LSan fails at exit, after
        # the commit: the spool is the judge then.
        lsan = b"LeakSanitizer has encountered a fatal error" in r[1]
        ok((r[0] == 0 or lsan) and len(ids) == 1 and ids[0] != qid.decode(),
           "an untrusted uid's I record is ignored, a fresh id is used "
           "(exit %d, %s, %r)" % (r[0], ids, r[1][:200]))
        recs = read(inst, "env", ids[0]).split(b"\0") if ids else []
        ok(b"u54321" in recs and b"I" + qid not in recs,
           "the envelope names the caller's uid, not the given id")
        for n in ids:
            os.unlink(os.path.join(inst.spool, "env", n))
            os.unlink(os.path.join(inst.spool, "mess", n))
        r = ns_queue(inst, ["--reuid=%d" % inst.uid, "--regid=%d" % inst.gid,
                            "--clear-groups"], env)
        ok(r is not None and r[0] == 0 and ls(inst, "env") == [qid.decode()],
           "the queue user itself may choose the id (%r)" %
           (r[1][:200] if r else None,))


def test_root_unmixed():
    """Review defect 5: started with real uid 0 and another effective
    uid (root running setuid tern-queue), it keeps no root id."""
    if os.geteuid() != 0:
        ok(True, "# SKIP the real-uid-0 test needs root")
        return
    with Instance() as inst:
        mr, mw = os.pipe()
        er, ew = os.pipe()
        p = subprocess.Popen(["setpriv", "--euid=%d" % inst.uid, "--",
                              inst.bin("tern-queue")], stdin=mr, stdout=er,
                             stderr=subprocess.PIPE, env=inst.env())
        os.close(mr)
        os.close(er)
        want = "%d" % inst.uid
        status = ""

        def dropped():
            nonlocal status
            try:
                with open("/proc/%d/status" % p.pid) as f:
                    status = f.read()
            except OSError:
                return False
            uid = [ln.split()[1:] for ln in status.splitlines()
                   if ln.startswith("Uid:")]
            return uid and uid[0] == [want] * 4
        ternlib.wait_for(dropped, timeout=5)
        lines = dict(ln.split(":", 1) for ln in status.splitlines()
                     if ":" in ln)
        is_(lines.get("Uid", "").split(), [want] * 4,
            "real, effective, saved uid all become the effective uid")
        is_(lines.get("Gid", "").split(), ["%d" % inst.gid] * 4,
            "and the gids that user's group (no gid 0 left)")
        is_(lines.get("Groups", "").split(), ["%d" % inst.gid],
            "and no supplementary group of root")
        os.write(mw, ternlib.message(subject="unmixed"))
        os.close(mw)
        os.write(ew, b"Fa@b\0Tu@tern.test\0\0")
        os.close(ew)
        p.stderr.read()
        is_(p.wait(timeout=30), 0, "the message is queued")
        ids = ls(inst, "env")
        recs = read(inst, "env", ids[0]).split(b"\0") if ids else []
        ok(b"u0" in recs, "the envelope still names uid 0 as the injector")


def start_queue(inst, msg, env):
    """Start tern-queue with small inputs already in its pipes."""
    mr, mw = os.pipe()
    er, ew = os.pipe()
    os.write(mw, msg)
    os.write(ew, env)
    for fd in (mw, ew):
        os.close(fd)
    p = subprocess.Popen([inst.bin("tern-queue")], stdin=mr, stdout=er,
                         stderr=subprocess.PIPE, env=inst.env())
    os.close(mr)
    os.close(er)
    return p


def test_many(inst):
    """200 injections one after the other: unique ids in sorted order."""
    before = set(ls(inst, "env"))
    ids, failed = [], 0
    for i in range(200):
        p = start_queue(inst, b"Subject: %d\n\n" % i, b"Fa@b\0Tc@d\0\0")
        err = p.communicate(timeout=60)[1]
        if p.returncode != 0:
            failed += 1
            diag(err.decode())
        else:
            ids.append(err.split()[2].decode())
    is_(failed, 0, "200 injections succeed")
    is_(len(set(ids)), 200, "the 200 queue ids are unique")
    is_(ids, sorted(ids), "queue ids sort in injection order")
    is_(set(ls(inst, "env")) - before, set(ids),
        "every logged id is in env/")
    is_(ls(inst, "tmp"), [], "tmp/ is empty after 200 injections")


def test_trigger(inst):
    fd = os.open(os.path.join(inst.spool, "trigger"),
                 os.O_RDONLY | os.O_NONBLOCK)
    try:
        code, err = inst.queue(b"x\n", "a@b", ["c@d"])
        is_(code, 0, "queued with a reader on the trigger")
        try:
            got = os.read(fd, 16)
        except BlockingIOError:
            got = b""
        is_(len(got), 1, "the trigger fifo receives one byte")
    finally:
        os.close(fd)


def test_big(inst):
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklm\n"
    msg = b"Subject: big\n\n" + line * (20 * 1024 * 1024 // len(line))
    before = set(ls(inst, "env"))
    t0 = time.monotonic()
    code, err = inst.queue(msg, "a@b", ["c@d"])
    el = time.monotonic() - t0
    if not is_(code, 0, "a 20 MB message is queued (%.1fs)" % el):
        diag(err.decode())
        return
    name = (set(ls(inst, "env")) - before).pop()
    data = read(inst, "mess", name)
    m = RCVD.match(data)
    ok(m is not None and
       hashlib.sha256(data[m.end():]).digest() ==
       hashlib.sha256(msg).digest(), "the 20 MB message is stored intact")


def test_caller_id(inst):
    """An I<qid> record right after F: the caller chose the id."""
    for n in ls(inst, "env") + ls(inst, "mess"):
        for sub in ("env", "mess"):
            if os.path.exists(os.path.join(inst.spool, sub, n)):
                os.unlink(os.path.join(inst.spool, sub, n))
    qid = "1lgfpi29hct550t8"
    msg = ternlib.message(subject="caller id")
    code, err = inst.queue_raw(msg, b"Fa@example.org\0I" + qid.encode() +
                               b"\0Ex\0Tu@tern.test\0\0")
    is_(code, 0, "an envelope with I<qid> after F is queued")
    is_(ls(inst, "env"), [qid], "under the id the caller gave")
    env = read(inst, "env", qid).split(b"\0") if code == 0 else []
    is_(env[1:2] + env[4:7], [b"I" + qid.encode(), b"Fa@example.org",
                              b"Ex", b"Tu@tern.test"],
        "the file has one I record, in its place; the input's is gone")
    m = RCVD.match(read(inst, "mess", qid)) if code == 0 else None
    ok(m is not None and m.group(1) == qid.encode(),
       "the Received line names the caller's id")
    code, err = inst.queue_raw(msg, b"Fa@example.org\0I" + qid.encode() +
                               b"\0Tv@tern.test\0\0")
    ok(code == 62 and b"in use" in err and ls(inst, "env") == [qid] and
       read(inst, "env", qid).split(b"\0")[6] == b"Tu@tern.test" and
       not ls(inst, "tmp"), "the same id again: exit 62, nothing overwritten")
    os.rename(os.path.join(inst.spool, "env", qid),
              os.path.join(inst.spool, "hold", qid))
    os.unlink(os.path.join(inst.spool, "mess", qid))
    code, err = inst.queue_raw(msg, b"Fa@example.org\0I" + qid.encode() +
                               b"\0Tv@tern.test\0\0")
    ok(code == 62 and ls(inst, "env") == [] and ls(inst, "mess") == [],
       "an id held in hold/ is in use too")
    for env, why in ((b"Fa@b\0Ixyz\0Tc@d\0\0", "a malformed id"),
                     (b"Fa@b\0I1lgfpi29hct550tw\0Tc@d\0\0", "a bad id"),
                     (b"Fa@b\0Tc@d\0I1lgfpi29hct550t9\0\0", "I after T"),
                     (b"Fa@b\0Ex\0I1lgfpi29hct550t9\0Tc@d\0\0",
                      "I after E")):
        code, err = inst.queue_raw(msg, env)
        ok(code == 91 and not ls(inst, "tmp") and not ls(inst, "mess"),
           "%s is a bad envelope (91)" % why)


with Instance() as inst:
    test_queued(inst)
    test_dsn_records(inst)
    test_caller_id(inst)
with Instance() as inst:
    test_bad_envelopes(inst)
    test_long_addresses(inst)
with Instance() as inst:
    test_read_errors(inst)
test_timeout()
test_databytes()
test_spool_missing()
test_untrusted_id()
test_root_unmixed()
with Instance() as inst:
    test_trigger(inst)
    test_many(inst)
    test_big(inst)
done()
