#!/usr/bin/env python3
"""tern-local run directly, and tern-lspawn driven over its pipe protocol."""
import os
import select
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import (Instance, ok, is_, diag, done, message)  # noqa: E402

QID = "0123456789abcdef"
RCPT = "u@tern.test"


class T:
    """One instance with a user u, a forward recorder and message files."""

    def __init__(self, inst):
        self.i = inst
        self.home = os.path.join(inst.home, "u")
        self.maildir = inst.add_vuser(RCPT)
        self.qqdir = os.path.join(inst.dir, "qq")
        os.makedirs(self.qqdir)
        self.qq = os.path.join(inst.dir, "qq.sh")
        with open(self.qq, "w") as f:
            f.write("#!/bin/sh\n"
                    "n=$(mktemp %s/rec.XXXXXX) || exit 111\n"
                    "cat > $n.msg\n"
                    "cat <&1 > $n.env\n"
                    "exit $(cat %s/exit 2>/dev/null || echo 0)\n"
                    % (self.qqdir, inst.dir))
        os.chmod(self.qq, 0o755)
        self.out = os.path.join(inst.dir, "out")
        os.makedirs(self.out)
        if inst.root:
            inst.chown_tree(self.qqdir)
            inst.chown_tree(self.out)
        self.n = 0

    def msgfile(self, data):
        self.n += 1
        p = os.path.join(self.i.dir, "msg%d" % self.n)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o644)
        return p

    def env(self, **kw):
        return self.i.env(TERN_QUEUE=self.qq, **kw)

    def local(self, data, args=(), rcpt=RCPT, sender="a@example.org",
              home=None, maildir=None, alias=False, targets=(), ext=None):
        home = home or self.home
        argv = [self.i.bin("tern-local"), "-s", sender, "-r", rcpt,
                "-q", QID, "-u", "u", "-h", home]
        if not alias:
            argv += ["-m", maildir or self.maildir + "/"]
        if ext:
            argv += ["-e", ext]
        if alias:
            argv += ["-a"]
        argv += list(args) + ["--"] + list(targets)
        kw = {}
        if self.i.root:
            kw = dict(user=self.i.uid, group=self.i.gid, extra_groups=[])
        with open(self.msgfile(data), "rb") as f:
            p = subprocess.run(argv, stdin=f, capture_output=True,
                               env=self.env(), timeout=60, cwd=home, **kw)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def records(self):
        out = []
        for n in sorted(os.listdir(self.qqdir)):
            if n.endswith(".env"):
                base = os.path.join(self.qqdir, n[:-4])
                with open(base + ".msg", "rb") as f:
                    m = f.read()
                with open(base + ".env", "rb") as f:
                    e = f.read()
                out.append((m, e))
        return out

    def clear_records(self):
        for n in os.listdir(self.qqdir):
            os.unlink(os.path.join(self.qqdir, n))

    def write_home(self, name, text, mode=0o644, home=None):
        p = os.path.join(home or self.home, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        if self.i.root:
            os.chown(p, self.i.uid, self.i.gid)
        return p


def status_of(out):
    return out.split(" ", 1)[0]


def test_maildir(t):
    m = message(subject="plain")
    rc, out, err = t.local(m)
    is_(rc, 0, "tern-local delivers to the Maildir (%s)" % out.strip())
    ok(out.endswith("\n") and out.count("\n") == 1,
       "exactly one status line on fd 1")
    got = t.i.read_new(t.maildir)
    ok(len(got) == 1 and got[0] == b"Return-Path: <a@example.org>\n"
       b"Delivered-To: u@tern.test\n" + m,
       "Return-Path and Delivered-To prepended to the Maildir copy")
    rc, out, err = t.local(m, sender="")
    got = t.i.read_new(t.maildir)
    ok(rc == 0 and any(g.startswith(b"Return-Path: <>\n") for g in got),
       "the null sender gives Return-Path: <>")
    n = len(t.i.maildir_files(t.maildir))
    rc, out, err = t.local(m, sender="a@b\nX-Injected: yes")
    ok(rc == 111 and len(t.i.maildir_files(t.maildir)) == n,
       "a sender with a newline is refused, nothing delivered")
    rc, out, err = t.local(m, args=["-x"])
    ok(rc == 111 and status_of(out) == "4.3.0", "bad usage is temporary")


def test_loops(t):
    m = message(extra="Delivered-To: U@Tern.Test\n")
    rc, out, err = t.local(m)
    ok(rc == 100 and status_of(out) == "5.4.6",
       "Delivered-To naming the recipient is a loop 5.4.6 (%s)" % out.strip())
    m = message(extra="Delivered-To: other@tern.test\n")
    rc, out, err = t.local(m)
    is_(rc, 0, "Delivered-To for another address is no loop")
    m = message(body="Delivered-To: u@tern.test\n")
    rc, out, err = t.local(m)
    is_(rc, 0, "Delivered-To in the body is no loop")
    m = message(extra="Received: from x\n" * 60 + "Delivered-To: x@y\n" * 40)
    rc, out, err = t.local(m)
    is_(rc, 0, "100 Received plus Delivered-To lines pass")
    m = message(extra="Received: from x\n" * 61 + "Delivered-To: x@y\n" * 40)
    rc, out, err = t.local(m)
    ok(rc == 100 and status_of(out) == "5.4.6",
       "101 Received plus Delivered-To lines are a loop 5.4.6")


def test_forward_file(t):
    t.clear_records()
    before = len(t.i.maildir_files(t.maildir))
    outf = os.path.join(t.out, "pipe1")
    t.write_home(".forward",
                 "# my forwards\n"
                 "|cat > %s; env > %s.env\n"
                 "bob@example.org\n"
                 "\n"
                 "carol\n"
                 "bob@example.org\n" % (outf, outf))
    m = message(subject="fwd")
    rc, out, err = t.local(m, sender='"x;$(touch /tmp/pwn)"@example.org')
    is_(rc, 0, "a forward file with a command and addresses (%s)"
        % out.strip())
    with open(outf, "rb") as f:
        piped = f.read()
    ok(piped == b'Return-Path: <"x;$(touch /tmp/pwn)"@example.org>\n'
       b"Delivered-To: u@tern.test\n" + m,
       "the command gets the message with Return-Path and Delivered-To")
    with open(outf + ".env") as f:
        env = dict(l.split("=", 1) for l in f.read().splitlines()
                   if "=" in l)
    ok(env.get("SENDER") == '"x;$(touch /tmp/pwn)"@example.org' and
       env.get("RECIPIENT") == RCPT and env.get("LOCAL") == "u" and
       env.get("DOMAIN") == "tern.test" and env.get("QUEUEID") == QID and
       env.get("HOME") == t.home and env.get("USER") == "u" and
       env.get("EXT") == "",
       "the envelope is in the command's environment")
    ok(not os.path.exists("/tmp/pwn"), "envelope data never reaches a shell")
    recs = t.records()
    ok(len(recs) == 1, "all forward addresses in one reinjection")
    if recs:
        ok(recs[0][0] == b"Delivered-To: u@tern.test\n" + m,
           "the forwarded copy has only Delivered-To prepended")
        is_(recs[0][1], b'F"x;$(touch /tmp/pwn)"@example.org\0'
            b"Tbob@example.org\0Tcarol@tern.test\0\0",
            "same sender, each address once, bare names qualified")
    is_(len(t.i.maildir_files(t.maildir)), before,
        "no Maildir copy unless the forward file names it")
    t.write_home(".forward", "./Maildir/\n")
    rc, out, err = t.local(m)
    ok(rc == 0 and len(t.i.maildir_files(t.maildir)) == before + 1,
       "./Maildir/ in the forward file keeps a copy")
    t.write_home(".forward", "# nothing\n\n")
    rc, out, err = t.local(m)
    ok(rc == 0 and len(t.i.maildir_files(t.maildir)) == before + 2,
       "a forward file without targets delivers to the Maildir")
    t.write_home(".forward", "/var/mail/u\n")
    rc, out, err = t.local(m)
    ok(rc == 111 and status_of(out).startswith("4."),
       "a bad forward line is a temporary failure (%s)" % out.strip())
    t.write_home(".forward", "./Maildir/\n", mode=0o666)
    rc, out, err = t.local(m)
    ok(rc == 111 and status_of(out) == "4.7.0",
       "a forward file writable by others is refused (%s)" % out.strip())
    os.unlink(os.path.join(t.home, ".forward"))


def test_extension(t):
    news = os.path.join(t.home, "news")
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(news, d), exist_ok=True)
    if t.i.root:
        t.i.chown_tree(news)
    t.write_home(".forward+news", "./news/\n")
    before = len(t.i.maildir_files(t.maildir))
    rc, out, err = t.local(message(), rcpt="u+news@tern.test", ext="news")
    ok(rc == 0 and len(t.i.maildir_files(news)) == 1 and
       len(t.i.maildir_files(t.maildir)) == before,
       "user+ext uses .forward+ext")
    rc, out, err = t.local(message(), rcpt="u+other@tern.test", ext="other")
    ok(rc == 0 and len(t.i.maildir_files(t.maildir)) == before + 1,
       "without .forward+ext (and .forward) the Maildir gets it")
    t.write_home(".forward", "./news/\n")
    os.makedirs(os.path.join(t.home, ".forward+d"))
    mark = os.path.join(t.out, "slash-ext")
    t.write_home(".forward+d/f", "|touch %s\n" % mark)
    rc, out, err = t.local(message(), rcpt="u+d/f@tern.test", ext="d/f")
    ok(rc == 0 and len(t.i.maildir_files(news)) == 2 and
       not os.path.exists(mark),
       "an extension with / never names a file as .forward+ext")
    os.unlink(os.path.join(t.home, ".forward"))
    os.unlink(os.path.join(t.home, ".forward+news"))


def test_pipes(t):
    m = message()
    cases = [("exit 0", 0, "2."), ("exit 100", 100, "5."),
             ("exit 111", 111, "4."), ("exit 3", 111, "4."),
             ("kill -9 $$", 111, "4.")]
    for cmd, want, cls in cases:
        rc, out, err = t.local(m, alias=True, targets=["|" + cmd])
        ok(rc == want and out.startswith(cls),
           "command '%s': exit %d, %sx.x (%s)" % (cmd, want, cls,
                                                  out.strip()))
    mark = os.path.join(t.out, "after99")
    rc, out, err = t.local(m, alias=True,
                           targets=["|exit 99", "|touch " + mark])
    ok(rc == 0 and not os.path.exists(mark),
       "exit 99 is success and stops the following targets")
    rc, out, err = t.local(m, alias=True,
                           targets=["|exit 0", "|touch " + mark])
    ok(rc == 0 and os.path.exists(mark), "after exit 0 the next target runs")
    rc, out, err = t.local(m, alias=True, targets=["|head -c1 >/dev/null"])
    is_(rc, 0, "a command that reads only part of the message succeeds")
    t.i.set("pipetimeout", "1")
    start = time.monotonic()
    rc, out, err = t.local(m, alias=True, targets=["|sleep 30"])
    took = time.monotonic() - start
    ok(rc == 111 and "timed out" in out and took < 10,
       "control pipetimeout kills a slow command (%s, %.1fs)"
       % (out.strip(), took))
    os.unlink(os.path.join(t.i.control, "pipetimeout"))


def test_alias_mode(t):
    t.clear_records()
    am = os.path.join(t.i.dir, "aliasbox")
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(am, d))
    if t.i.root:
        t.i.chown_tree(am)
    rc, out, err = t.local(message(), alias=True, rcpt="list@tern.test",
                           targets=[am + "/", "x@example.org", "y"])
    ok(rc == 0 and len(t.i.maildir_files(am)) == 1,
       "alias mode delivers to a Maildir target (%s)" % out.strip())
    recs = t.records()
    ok(len(recs) == 1 and
       recs[0][1] == b"Fa@example.org\0Tx@example.org\0Ty@tern.test\0\0",
       "alias mode forwards the addresses in one reinjection")
    rc, out, err = t.local(message(), alias=True, targets=["Maildir/"])
    ok(rc == 111, "a relative Maildir is refused in alias mode")
    with open(os.path.join(t.i.dir, "exit"), "w") as f:
        f.write("31\n")
    rc, out, err = t.local(message(), alias=True, targets=["z@example.org"])
    ok(rc == 100 and status_of(out) == "5.3.0",
       "tern-queue exit 31 is permanent (%s)" % out.strip())
    with open(os.path.join(t.i.dir, "exit"), "w") as f:
        f.write("53\n")
    rc, out, err = t.local(message(), alias=True, targets=["z@example.org"])
    ok(rc == 111 and status_of(out).startswith("4."),
       "tern-queue exit 53 is temporary (%s)" % out.strip())
    os.unlink(os.path.join(t.i.dir, "exit"))


class Lspawn:
    """tern-lspawn with requests on its fd 0 and results on its fd 1."""

    def __init__(self, t):
        self.t = t
        self.errf = open(os.path.join(t.i.dir, "lspawn.err"), "wb")
        self.p = subprocess.Popen([t.i.bin("tern-lspawn")],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=self.errf, env=t.env())
        self.buf = b""

    def send(self, slot, rcpt, qid=QID, sender="a@example.org"):
        req = b"\0".join(x.encode() for x in
                         (str(slot), qid, sender, rcpt)) + b"\0\0"
        self.p.stdin.write(req)
        self.p.stdin.flush()

    def results(self, n, timeout=20):
        """Read n results: list of (slot, letter, status, text)."""
        out = []
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while len(out) < n and time.monotonic() < end:
            while b"\0\0" in self.buf:
                rec, self.buf = self.buf.split(b"\0\0", 1)
                f = rec.decode().split("\0")
                out.append((int(f[0]), f[1], f[2], f[3]))
            if len(out) >= n:
                break
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                d = os.read(fd, 4096)
                if not d:
                    break
                self.buf += d
        return out

    def close(self):
        self.p.stdin.close()
        try:
            rc = self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.errf.close()
        with open(self.errf.name) as f:
            return rc, f.read()


def spool_message(t, qid, data):
    p = os.path.join(t.i.spool, "mess", qid)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o600)


def test_lspawn(t):
    i = t.i
    t.clear_records()
    spool_message(t, QID, message(subject="via lspawn"))
    loopid = "0123456789abcdeg"
    spool_message(t, loopid, message(extra="Delivered-To: vu@tern.test\n"))
    vu = i.add_vuser("vu@tern.test")
    vuhome = os.path.dirname(vu)
    with open(os.path.join(i.control, "passwd"), "a") as f:
        f.write("zero@tern.test:*:0:0:%s/\n" % vu)
    box = os.path.join(i.dir, "listbox")
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(box, d))
    catout = os.path.join(t.out, "listcat")
    slow = os.path.join(t.out, "slow")
    i.set("aliases", "# test aliases\n"
          "List: vu@tern.test,\n"
          "   \"|cat > %s\",\n"
          "   %s/\n"
          "slow@tern.test: |sleep 2; touch %s\n" % (catout, box, slow))
    i.set("aliasuser", "nobody")
    if i.root:
        i.chown_tree(box)
    t.write_home(".forward+ext", "|cat > %s/ext\n" % t.out,
                 home=vuhome)
    ls = Lspawn(t)
    ls.send(7, "slow@tern.test")
    ls.send(0, "vu@tern.test")
    ls.send(1, "nosuchuser@tern.test")
    ls.send(2, "list@tern.test")
    ls.send(3, "zero@tern.test")
    ls.send(4, "VU+ext@tern.test")
    ls.send(5, "vu@tern.test", qid=loopid)
    ls.send(6, "postmaster@tern.test")
    ls.send(8, "nobody@tern.test")
    ls.send(9, "vu@tern.test", qid="not-a-queue-id!")
    res = ls.results(10)
    by = {r[0]: r for r in res}
    is_(len(res), 10, "one result per request")
    ok(by.get(0, (0, ""))[1] == "K" and len(i.maildir_files(vu)) == 1,
       "virtual user delivered: %r" % (by.get(0),))
    got = i.read_new(vu)
    ok(got and got[0].startswith(b"Return-Path: <a@example.org>\n"
                                 b"Delivered-To: vu@tern.test\n"),
       "the Maildir copy names the recipient")
    ok(by.get(1, (0, "", ""))[1:3] == ("D", "5.1.1"),
       "unknown user is 5.1.1: %r" % (by.get(1),))
    ok(by.get(2, (0, ""))[1] == "K", "alias delivered: %r" % (by.get(2),))
    ok(os.path.exists(catout) and len(i.maildir_files(box)) == 1,
       "alias command and Maildir targets ran")
    recs = t.records()
    ok(any(e == b"Fa@example.org\0Tvu@tern.test\0\0" for m, e in recs),
       "alias address target reinjected through TERN_QUEUE")
    ok(by.get(3, (0, "", ""))[1:3] == ("Z", "4.3.0"),
       "uid 0 is refused temporarily: %r" % (by.get(3),))
    ok(by.get(4, (0, ""))[1] == "K" and
       os.path.exists(os.path.join(t.out, "ext")),
       "user+ext uses .forward+ext: %r" % (by.get(4),))
    ok(by.get(5, (0, "", ""))[1:3] == ("D", "5.4.6"),
       "loop detected through lspawn: %r" % (by.get(5),))
    ok(by.get(6, (0, ""))[1] == "Z",
       "postmaster without control postmaster is temporary: %r"
       % (by.get(6),))
    ok(by.get(8, (0, ""))[1] == "Z",
       "system user nobody (home /nonexistent) is temporary: %r"
       % (by.get(8),))
    ok(by.get(9, (0, ""))[1] == "Z", "a bad queue id is temporary")
    order = [r[0] for r in res]
    ok(7 in order and order.index(7) == len(order) - 1 and
       os.path.exists(slow),
       "a slow delivery does not hold up the others: %r" % (order,))
    # Tables are re-read when they change; control files on SIGHUP.
    time.sleep(0.01)
    with open(os.path.join(i.control, "aliases"), "a") as f:
        f.write("new: %s/\n" % box)
    i.set("postmaster", "pm@example.org")
    ls.p.send_signal(1)
    time.sleep(0.3)
    ls.send(0, "new@tern.test")
    ls.send(1, "postmaster@tern.test")
    res = ls.results(2)
    by = {r[0]: r for r in res}
    ok(by.get(0, (0, ""))[1] == "K" and len(i.maildir_files(box)) == 2,
       "a changed aliases file is re-read: %r" % (by.get(0),))
    ok(by.get(1, (0, ""))[1] == "K" and
       any(e == b"Fa@example.org\0Tpm@example.org\0\0"
           for m, e in t.records()),
       "control postmaster (read on SIGHUP) gets postmaster mail")
    with open(os.path.join(i.control, "aliases"), "a") as f:
        f.write("broken line\n")
    ls.send(0, "vu@tern.test")
    res = ls.results(1)
    ok(res and res[0][1] == "Z",
       "an unusable aliases file defers deliveries: %r" % (res,))
    rc, err = ls.close()
    is_(rc, 0, "tern-lspawn exits 0 at EOF")
    ok("refusing to deliver as root" in err, "uid 0 refusal is logged")
    ok("control/aliases line" in err, "the bad aliases line is logged")


def main():
    with Instance() as inst:
        t = T(inst)
        test_maildir(t)
        test_loops(t)
        test_forward_file(t)
        test_extension(t)
        test_pipes(t)
        test_alias_mode(t)
        test_lspawn(t)
    done()


main()
