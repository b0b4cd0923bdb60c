#!/usr/bin/env python3
# sendmail / tern-inject: options, header fix-up, refusals, and the
# TERN_QUEUE hook with qmail-queue's exit codes.  Messages go through the
# real tern-queue into the instance's spool; the test reads env/<id> and
# mess/<id> directly (no tern-send).
import os
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, ok, is_, diag, done  # noqa: E402


def queued(t):
    """[(envelope records, message bytes)] of everything in the spool."""
    out = []
    for qid in sorted(os.listdir(os.path.join(t.spool, "env"))):
        with open(os.path.join(t.spool, "env", qid), "rb") as f:
            recs = f.read().split(b"\0")
        with open(os.path.join(t.spool, "mess", qid), "rb") as f:
            out.append((recs, f.read()))
    return out


def sender_of(recs):
    return [r[1:].decode() for r in recs if r[:1] == b"F"][0]


def rcpts_of(recs):
    return sorted(r[1:].decode() for r in recs if r[:1] == b"T")


def clear(t):
    for d in ("env", "mess", "tmp"):
        p = os.path.join(t.spool, d)
        for n in os.listdir(p):
            os.unlink(os.path.join(p, n))


def header_of(msg):
    return msg.split(b"\n\n", 1)[0].decode("utf-8", "replace")


def body_of(msg):
    return msg.split(b"\n\n", 1)[1]


def sm(t, args, data, prog="sendmail", **env):
    return t.run([prog] + list(args), input=data, env=t.env(**env))


def one(t, name):
    """The single queued message, or fail the test named name."""
    q = queued(t)
    if not is_(len(q), 1, name + ": one message queued"):
        return [b""], b"\n\n"
    return q[0]


def refused(t, r, name, text):
    ok(r.returncode == 100, name + ": exit 100 (got %d)" % r.returncode)
    ok(text.encode() in r.stderr and b"sendmail: fatal:" in r.stderr,
       name + ": says '%s' (%r)" % (text, r.stderr[:200]))
    ok(queued(t) == [] and not os.listdir(os.path.join(t.spool, "tmp")),
       name + ": nothing queued")


with Instance() as t:
    me = "tern.test"
    # -t: recipients from To/Cc/Bcc, groups, quoted names, comments
    msg = (b"To: \"Smith, John\" <js@Example.org>, Ann <ann>\r\n"
           b"Cc: team: a@b.test, (comment) c@d.test;\r\n"
           b"Bcc: hidden@x.test,\r\n  other@x.test\r\n"
           b"Subject: hi\r\n\r\nline one\r\n.\r\nafter the dot\r\n")
    r = sm(t, ["-t"], msg)
    is_(r.returncode, 0, "-t: exit 0")
    recs, m = one(t, "-t")
    is_(rcpts_of(recs), sorted(["js@example.org", "ann@" + me, "a@b.test",
                                "c@d.test", "hidden@x.test", "other@x.test"]),
        "-t: To, Cc group and Bcc (folded) addresses in the envelope")
    h = header_of(m)
    ok("Bcc" not in h and "hidden@" not in h and "other@x" not in h,
       "-t: Bcc removed from the stored message")
    ok("\nSubject: hi\n" in h and "To: \"Smith, John\"" in h,
       "-t: other fields kept, CRLF turned into LF")
    ok("\nDate: " in h and "\nMessage-ID: <" in h and "@" + me + ">" in h,
       "Date and Message-ID added when missing (id @me)")
    ok(b"\r" not in m, "no CR left from CRLF input")
    is_(body_of(m), b"line one\n", "without -i a lone '.' ends the message")
    user = sender_of(recs)
    ok(user.endswith("@" + me), "sender defaults to login@defaultdomain "
       "(%s)" % user)
    ok(("\nFrom: " in h) and ("<%s>" % user in h or
                              "From: %s\n" % user in h),
       "From added from the sender when missing")
    clear(t)

    # -f, -F, -i; From uses the -f address and the full name
    r = sm(t, ["-i", "-f", "bounce@list.test", "-F", "List Robot",
               "rcpt@x.test"], b"Subject: s\n\na\n.\nb\n")
    is_(r.returncode, 0, "-i -f -F: exit 0")
    recs, m = one(t, "-i -f -F")
    is_(sender_of(recs), "bounce@list.test", "-f sets the envelope sender")
    is_(rcpts_of(recs), ["rcpt@x.test"], "recipient from the command line")
    ok("From: List Robot <bounce@list.test>" in header_of(m),
       "-F gives the From display name, with the -f address")
    is_(body_of(m), b"a\n.\nb\n", "-i: a lone '.' is data")
    clear(t)

    # -fsender glued, -oi, several command-line recipients and lists
    r = sm(t, ["-oi", "-fs@x.test", "a@x.test", "Bee <b@x.test>, c"],
           b"From: me@x.test\nDate: Thu, 26 Nov 2026 07:00:00 +0000\n"
           b"Message-ID: <keep@x.test>\n\n.\n")
    is_(r.returncode, 0, "-oi -fsender: exit 0")
    recs, m = one(t, "-oi")
    is_(sender_of(recs), "s@x.test", "-fsender (glued) sets the sender")
    is_(rcpts_of(recs), ["a@x.test", "b@x.test", "c@" + me],
        "operands are address lists, unqualified ones get the domain")
    h = header_of(m)
    ok("Message-ID: <keep@x.test>" in h and h.count("Message-ID") == 1 and
       h.count("\nDate:") + h.startswith("Date:") == 1 and
       h.count("From:") == 1, "existing From, Date, Message-ID kept as is")
    is_(body_of(m), b".\n", "-oi: a lone '.' is data")
    clear(t)

    # -t with command-line recipients: both (as Postfix)
    r = sm(t, ["-t", "extra@x.test"], b"To: to@x.test\n\nb\n")
    is_(r.returncode, 0, "-t plus operands: exit 0")
    recs, _ = one(t, "-t plus operands")
    is_(rcpts_of(recs), ["extra@x.test", "to@x.test"],
        "-t adds the command-line recipients")
    clear(t)

    # the null sender; From then names the caller
    r = sm(t, ["-f", "<>", "a@x.test"], b"Subject: s\n\nb\n")
    is_(r.returncode, 0, "-f '<>': exit 0")
    recs, m = one(t, "-f <>")
    is_(sender_of(recs), "", "-f '<>' is the null sender")
    ok("\nFrom: " in header_of(m) and "@" + me in header_of(m).split(
        "\nFrom: ")[1], "null sender: From is the caller's address")
    clear(t)
    r = sm(t, ["-f", "", "a@x.test"], b"\nb\n")
    is_(r.returncode, 0, "-f '': exit 0")
    recs, m = one(t, "-f ''")
    is_(sender_of(recs), "", "-f '' is the null sender")
    clear(t)

    # no header at all: the input is the body
    r = sm(t, ["a@x.test"], b"just a line\nand another\n")
    is_(r.returncode, 0, "headerless input: exit 0")
    recs, m = one(t, "headerless")
    ok(b"\n\njust a line\nand another\n" in m and b"\nDate: " in m,
       "headerless input becomes the body after the added fields")
    clear(t)

    # defaultdomain
    t.set("defaultdomain", "dflt.test")
    r = sm(t, ["-t"], b"To: bob\n\nb\n")
    recs, m = one(t, "defaultdomain")
    is_(rcpts_of(recs), ["bob@dflt.test"], "defaultdomain qualifies "
        "recipients")
    ok(sender_of(recs).endswith("@dflt.test"), "and the sender")
    clear(t)
    os.unlink(os.path.join(t.control, "defaultdomain"))

    # tern-inject is the same program
    if os.path.exists(t.bin("tern-inject")):
        r = sm(t, ["-t"], b"To: ti@x.test\n\nb\n", prog="tern-inject")
        is_(r.returncode, 0, "tern-inject: exit 0")
        recs, _ = one(t, "tern-inject")
        is_(rcpts_of(recs), ["ti@x.test"], "tern-inject: same behaviour")
        clear(t)
    else:
        ok(False, "tern-inject link exists in " + t.bin(""))

    # a large message streams through (2 MiB body)
    big = b"Subject: big\n\n" + (b"x" * 99 + b"\n") * 20000
    r = sm(t, ["-v", "a@x.test"], big)
    is_(r.returncode, 0, "2 MB message: exit 0")
    recs, m = one(t, "2 MB message")
    is_(body_of(m), big.split(b"\n\n", 1)[1], "2 MB body stored intact")
    ok(b"sendmail: info: queued" in r.stderr, "-v reports the hand-off")
    clear(t)

    # refusals: nothing queued, exit 100
    refused(t, sm(t, ["-t"], b"To: a@x.test\nbroken line\n\nb\n"),
            "line without colon", "malformed message")
    refused(t, sm(t, ["a@x.test"], b"To: a@x.test\nX: a\0b\n\nb\n"),
            "NUL in the header", "NUL")
    refused(t, sm(t, ["a@x.test"], b"Subject: x\n\nbody \0 nul\n"),
            "NUL in the body", "NUL")
    refused(t, sm(t, ["-t"], b"To: John Smith\n\nb\n"),
            "display name without address", "bad address")
    refused(t, sm(t, ["-t"], b"To: <a@x.test\n\nb\n"),
            "unbalanced bracket", "bad address")
    refused(t, sm(t, ["a@@x"], b"\nb\n"), "bad operand", "bad address")
    refused(t, sm(t, ["-t"], b"To: undisclosed-recipients:;\n\nb\n"),
            "no recipients", "no recipients")
    refused(t, sm(t, [], b"Subject: x\n\nb\n"), "no recipients at all",
            "no recipients")
    refused(t, sm(t, ["-f", "a b@c", "a@x.test"], b"\nb\n"),
            "bad sender", "bad sender")
    refused(t, sm(t, ["a@x.test"], b"X: " + b"a" * 996 + b"\n\nb\n"),
            "header line of 999", "998")
    r = sm(t, ["a@x.test"], b"X: " + b"a" * 995 + b"\n\nb\n")
    is_(r.returncode, 0, "a header line of 998 bytes is fine")
    clear(t)
    refused(t, sm(t, ["a@x.test"], (b"X: " + b"a" * 900 + b"\n") * 1200),
            "header section over 1 MiB", "too large")
    refused(t, sm(t, ["-z", "a@x.test"], b"\nb\n"), "unknown option",
            "unknown option -z")
    ok(b"usage:" in sm(t, ["-z"], b"").stderr, "unknown option: usage")
    refused(t, sm(t, ["-bs"], b""), "-bs", "not supported")
    refused(t, sm(t, ["-N", "sometimes", "a@x.test"], b"\nb\n"), "bad -N",
            "-N")

    t.set("databytes", "1000")
    refused(t, sm(t, ["a@x.test"], b"Subject: s\n\n" + b"y" * 2000),
            "over databytes", "databytes")
    refused(t, sm(t, ["a@x.test"], b"Subject: s\n\n" + b"y\n" * 200000),
            "over databytes while streaming", "databytes")
    r = sm(t, ["a@x.test"], b"Subject: s\n\n" + b"y" * 500)
    is_(r.returncode, 0, "under databytes: exit 0")
    clear(t)
    os.unlink(os.path.join(t.control, "databytes"))

    # DSN options reach the spool through the real tern-queue
    r = sm(t, ["-N", "never", "-R", "full", "a@x.test"], b"\nb\n")
    is_(r.returncode, 0, "-N never -R full: exit 0")
    recs, _ = one(t, "-N -R")
    ok(b"RFULL" in recs and b"NNEVER" in recs and
       recs.index(b"NNEVER") < recs.index(b"Ta@x.test"),
       "-N and -R stored as the N and R envelope records")
    qid = os.listdir(os.path.join(t.spool, "env"))[0]

    # -bp runs tern-qctl list (from LIBEXEC), which shows the message
    r = sm(t, ["-bp"], b"")
    is_(r.returncode, 0, "-bp: exit 0")
    ok(qid.encode() in r.stdout, "-bp lists the queued message")
    clear(t)
    r = sm(t, ["-bi"], b"")
    is_(r.returncode, 0, "-bi: exit 0 (nothing to rebuild)")

    r = sm(t, ["-q"], b"")
    is_(r.returncode, 0, "-q: exit 0 (ignored, with a message)")
    ok(b"-q" in r.stderr, "-q: says it is ignored")

    # address lists never lose a recipient silently (review defect 9)
    for arg, text in (("a@b.c: d@e.f;", "group name"),
                      ("a.b: d@e.f", "not closed"),
                      ("a@b.c\nX-Inj: 1", "CR or LF"),
                      ("a@b.c,\r\n d@e.f", "CR or LF"),
                      ("a@b.c <d@e.f>", "display name"),
                      ("x@y.z Name <d@e.f>", "display name")):
        r = sm(t, [arg], b"Subject: s\n\nb\n")
        refused(t, r, "recipient %r" % arg, text)
        clear(t)
    r = sm(t, ["-t"], b"To: a@b.c: d@e.f;\nSubject: s\n\nb\n")
    refused(t, r, "-t with an address as group name", "group name")
    clear(t)
    r = sm(t, ["a.b: d@e.f;, \"x@y\" <g@h.test>"], b"Subject: s\n\nb\n")
    is_(r.returncode, 0, "a closed group and a quoted name with '@': exit 0")
    recs, _ = one(t, "group and quoted name")
    is_(rcpts_of(recs), ["d@e.f", "g@h.test"],
        "group members and the angle address are the recipients")
    clear(t)

    # a last line without LF gets one (review defect 10)
    r = sm(t, ["a@x.test"], b"Subject: s\n\nbody")
    is_(r.returncode, 0, "last line without LF: exit 0")
    _, m = one(t, "last line without LF")
    is_(body_of(m), b"body\n", "a last line without LF gets one")
    clear(t)
    r = sm(t, ["a@x.test"], b"body")
    is_(r.returncode, 0, "one line without LF: exit 0")
    _, m = one(t, "one line without LF")
    ok(m.endswith(b"\n\nbody\n"), "a one-line body without LF gets one "
       "(%r)" % m[-20:])
    clear(t)
    r = sm(t, ["a@x.test"], b"Subject: s\r\n\r\nbody\r")
    is_(r.returncode, 0, "CRLF input cut after CR: exit 0")
    _, m = one(t, "CRLF input cut after CR")
    is_(body_of(m), b"body\n", "a CR at the end becomes the final LF")
    clear(t)

    # TERN_QUEUE: a filter that records what it gets
    fdir = os.path.join(t.dir, "filterdir")
    os.mkdir(fdir)
    if t.root:
        t.chown_tree(fdir)   # the filter runs as the queue user
    rec = os.path.join(fdir, "filter")
    script = os.path.join(t.dir, "qq.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\ncat > %s.msg\ncat <&1 > %s.env\n"
                "id -ru > %s.uid\nid -rg >> %s.uid\nid -u >> %s.uid\n"
                "[ -n \"$QTEXT\" ] && printf '%%s' \"$QTEXT\" >&6\n"
                "exit ${QEXIT:-0}\n" % (rec, rec, rec, rec, rec))
    os.chmod(script, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP |
             stat.S_IROTH | stat.S_IXOTH)
    r = sm(t, ["-f", "s@x.test", "-N", "success,failure", "-R", "hdrs",
               "a@x.test", "b@x.test"], b"Subject: f\n\nbody\n",
           TERN_QUEUE=script)
    is_(r.returncode, 0, "TERN_QUEUE: exit 0")
    with open(rec + ".env", "rb") as f:
        is_(f.read(), b"Fs@x.test\0RHDRS\0NSUCCESS,FAILURE\0Ta@x.test\0"
            b"NSUCCESS,FAILURE\0Tb@x.test\0\0",
            "TERN_QUEUE: qmail-queue envelope on fd 1 (with R and N)")
    with open(rec + ".msg", "rb") as f:
        m = f.read()
    ok(m.startswith(b"Subject: f\n") and m.endswith(b"\n\nbody\n"),
       "TERN_QUEUE: the fixed message on fd 0")
    ok(queued(t) == [], "TERN_QUEUE: tern-queue not run")
    with open(rec + ".uid") as f:
        ids = [int(x) for x in f.read().split()]
    if t.root:
        # review defect 5: root's sendmail must not start a setuid
        # tern-queue with real uid 0
        is_(ids, [t.uid, t.gid, t.uid], "run by root, the queue program "
            "runs as the queue user (real and effective ids)")
    else:
        is_(ids, [os.getuid(), os.getgid(), os.geteuid()],
            "not root: the queue program runs as the caller")
    for code, text, want, says in ((31, "", 100, "permanently"),
                                   (11, "", 100, "address too long"),
                                   (53, "", 111, "write error"),
                                   (82, "Dno spam here", 100, "no spam here"),
                                   (82, "Ztry later", 111, "try later"),
                                   (1, "", 111, "exit 1")):
        r = sm(t, ["a@x.test"], b"\nb\n", TERN_QUEUE=script,
               QEXIT=str(code), QTEXT=text)
        is_(r.returncode, want, "TERN_QUEUE exit %d %s -> %d" %
            (code, text, want))
        ok(says.encode() in r.stderr, "TERN_QUEUE exit %d: says '%s' (%r)"
           % (code, says, r.stderr[:200]))
    # a filter that exits at once: sendmail meets EPIPE, reports the exit
    quick = os.path.join(t.dir, "quick.sh")
    with open(quick, "w") as f:
        f.write("#!/bin/sh\nexit 31\n")
    os.chmod(quick, 0o755)
    r = sm(t, ["a@x.test"], big, TERN_QUEUE=quick)
    is_(r.returncode, 100, "queue program gone before the end (EPIPE): "
        "its exit 31 -> 100")
    ok(b"permanently" in r.stderr, "EPIPE: the exit code's meaning is "
       "reported (%r)" % r.stderr[:200])
    r = sm(t, ["a@x.test"], b"\nb\n",
           TERN_QUEUE=os.path.join(t.dir, "no-such-program"))
    is_(r.returncode, 111, "TERN_QUEUE not executable: exit 111")
    ok(queued(t) == [], "nothing queued anywhere")

done()
