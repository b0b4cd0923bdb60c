#!/usr/bin/env python3
"""tern-send runs tern-remote: one transaction per (message, domain),
several messages for one domain in one run (one connection),
per-recipient results, retries, bounces, the dead-host cache and the
per-domain concurrency limit, against scripted servers on 127.0.0.2
reached through control/smtproutes (no DNS)."""
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from smtpserver import SMTPServer  # noqa: E402
import ternlib  # noqa: E402
from ternlib import Instance, diag, done, is_, message, ok, wait_for  # noqa

ROOT = os.geteuid() == 0
ENV = {"TERN_REMOTEUSER": "nobody"} if ROOT else {}
SRC = os.environ.get("TERN_SRC") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")


class CountingServer(SMTPServer):
    """Counts sessions open at the same time (until QUIT is answered)."""

    def __init__(self, *a, **kw):
        self.active = 0
        self.peak = 0
        self.count_lock = threading.Lock()
        super().__init__(*a, **kw)

    def _serve(self, conn, s):
        with self.count_lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        s.counted = True
        try:
            super()._serve(conn, s)
        finally:
            self._uncount(s)

    def _uncount(self, s):
        with self.count_lock:
            if getattr(s, "counted", False):
                s.counted = False
                self.active -= 1

    def _send(self, conn, reply):
        # The session ends for the client with 221: stop counting first.
        if isinstance(reply, str) and reply.startswith("221"):
            with self.lock:
                mine = [x for x in self.sessions if not x.closed and
                        getattr(x, "counted", False) and x.cmds and
                        x.cmds[-1].upper() == b"QUIT"]
            for x in mine[:1]:
                self._uncount(x)
        super()._send(conn, reply)


def todo_ok(cond, name, todo):
    """ok(), or a TAP TODO result (not counted as failed) when todo."""
    if not todo:
        return ok(cond, name)
    ternlib._count += 1
    print("%sok %d - %s # TODO bounce.c has no Remote-MTA yet" %
          ("" if cond else "not ", ternlib._count, name), flush=True)
    return cond


def routes(t, servers):
    t.set("smtproutes", "\n".join("%s [%s]:%d" % (d, s.host, s.port)
                                  for d, s in servers.items()))


def setup(t):
    t.set("remoteretrystep", "1")
    t.set("remotetimeoutconnect", "2")
    t.set("rescaninterval", "3600")


def ndata(srv):
    return sum(len(s.data) for s in srv.sessions)


def rcpts_of(sess):
    return [c.split(b"<", 1)[1].split(b">", 1)[0].decode()
            for c in sess.cmds if c.upper().startswith(b"RCPT")]


def test_one_transaction():
    with Instance() as t:
        setup(t)
        srv = SMTPServer("127.0.0.2")
        try:
            routes(t, {"a.test": srv})
            t.start_send(ENV)
            code, _ = t.queue(message(to="x1@a.test"), "s@tern.test",
                              ["x1@a.test", "X2@A.TEST"])
            is_(code, 0, "queued for two recipients at one domain")
            ok(wait_for(t.queue_empty, 15), "the message is delivered")
            is_(len(srv.sessions), 1, "one connection")
            s = srv.sessions[0] if srv.sessions else None
            ok(s is not None and rcpts_of(s) == ["x1@a.test", "X2@A.TEST"]
               and len(s.data) == 1, "both recipients in ONE transaction")
            log = t.logtext()
            ok(re.search(r"\S+ remote domain=a\.test rcpts=2 result=MK\n",
                         log), "log: the run with rcpts=2 result=MK")
            ok("delivery to=<x1@a.test> ok" in log and
               "delivery to=<X2@A.TEST> ok" in log,
               "log: one line per recipient")
            is_(t.stop_send(), 0, "SIGTERM: exit 0")
        finally:
            srv.stop()


def test_two_domains():
    with Instance() as t:
        setup(t)
        sa, sb = SMTPServer("127.0.0.2"), SMTPServer("127.0.0.2")
        try:
            routes(t, {"a.test": sa, "b.test": sb})
            t.start_send(ENV)
            t.queue(message(), "s@tern.test", ["u@a.test", "v@b.test",
                                                "w@a.test"])
            ok(wait_for(t.queue_empty, 15), "two domains: delivered")
            ok(len(sa.sessions) == 1 and rcpts_of(sa.sessions[0]) ==
               ["u@a.test", "w@a.test"], "a.test: one run, its two "
               "recipients")
            ok(len(sb.sessions) == 1 and rcpts_of(sb.sessions[0]) ==
               ["v@b.test"], "b.test: its own run")
            is_(len(re.findall(r"remote domain=\S+ rcpts=\d result=MK",
                               t.logtext())), 2, "log: two runs")
        finally:
            sa.stop()
            sb.stop()


def test_results_retry_bounce():
    seen = {"tmp": 0}

    def rcpt(addr):
        if addr.startswith("bad"):
            return "550 5.1.1 <%s>: no such user" % addr
        if addr.startswith("tmp"):
            seen["tmp"] += 1
            return "450 4.2.1 mailbox busy" if seen["tmp"] == 1 else \
                "250 2.1.5 ok"
        return "250 2.1.5 ok"

    with Instance() as t:
        setup(t)
        md = t.add_vuser("s@tern.test")
        srv = SMTPServer("127.0.0.2", rcpt=rcpt)
        try:
            routes(t, {"r.test": srv})
            t.start_send(ENV)
            t.queue(message(subject="mixed"), "s@tern.test",
                    ["ok@r.test", "tmp@r.test", "bad@r.test"])
            ok(wait_for(lambda: "remote domain=r.test rcpts=3 result=MK" in
                        t.logtext(), 15), "one run for the three")
            ok("to=<tmp@r.test> deferred status=4.2.1" in t.logtext(),
               "450: deferred")
            log = t.logtext()
            ok("delivery to=<ok@r.test> ok" in log, "250: delivered")
            ok(re.search(r"delivery to=<bad@r.test> failed status=5\.1\.1 "
                         r"text=\"127\.0\.0\.2 \[127\.0\.0\.2\]: 550 5\.1\.1",
                         log), "550: failed with the server's text")
            ok(wait_for(t.queue_empty, 20), "retried later, then done")
            is_(len(srv.sessions), 2, "two connections in all")
            if len(srv.sessions) == 2:
                is_(rcpts_of(srv.sessions[1]), ["tmp@r.test"],
                    "the retry has only the deferred recipient")
            is_(ndata(srv), 2, "each recipient got the message once")
            ok(wait_for(lambda: len(t.maildir_files(md)) == 1, 10),
               "a bounce reached the sender")
            dsn = b"".join(t.read_new(md)).decode("utf-8", "replace")
            if "Diagnostic-Code: smtp; 550" not in dsn:
                diag(dsn)
            ok("Final-Recipient: rfc822; bad@r.test" in dsn and
               "ok@r.test" not in dsn.split("Final-Recipient", 1)[-1],
               "the DSN names the failed recipient only")
            # Remote-MTA / Diagnostic-Code come with the bounce helper's
            # part (queue/bounce.c); until then this is a TODO.
            todo_ok(re.search(r"\nRemote-MTA: dns; \[?127\.0\.0\.2\]?\n",
                              dsn) is not None and
                    "Diagnostic-Code: smtp; 550 5.1.1" in dsn,
                    "the DSN has Remote-MTA and Diagnostic-Code",
                    b"Remote-MTA" not in open(os.path.join(
                        SRC, "queue", "bounce.c"), "rb").read())
        finally:
            srv.stop()


def test_dead_host():
    with Instance() as t:
        setup(t)
        srv = SMTPServer("127.0.0.2", greeting="421 4.3.2 not now")
        try:
            routes(t, {"dead.test": srv})
            t.start_send(ENV)
            t.queue(message(), "s@tern.test", ["a@dead.test"])
            ok(wait_for(lambda: "destination dead.test down for 60 s" in
                        t.logtext(), 15), "MZ, nothing delivered: down")
            ok(re.search(r"remote domain=dead\.test rcpts=1 result=MZ",
                         t.logtext()), "log: result=MZ")
            t.queue(message(), "s@tern.test", ["b@dead.test"])
            ok(wait_for(lambda: re.search(
                r"delivery to=<b@dead\.test> deferred status=4\.4\.1 "
                r"text=\"[^\"]*\(destination dead\.test down, retry at ",
                t.logtext()), 10), "a second message is deferred: down")
            t.send.send_signal(signal.SIGALRM)
            ok(wait_for(lambda: t.logtext().count(
                "to=<a@dead.test> deferred status=4.4.1") >= 1, 10),
               "a flush defers the first one too")
            time.sleep(0.5)
            is_(len(srv.sessions), 1, "no second connection within the "
                "backoff")
            ok(not t.queue_empty(), "nothing is lost: both still queued")
        finally:
            srv.stop()


def test_domain_concurrency():
    with Instance() as t:
        setup(t)
        t.set("concurrencydomain", "1")
        slow = CountingServer("127.0.0.2", greeting_delay=0.4)
        fast = SMTPServer("127.0.0.2")
        try:
            routes(t, {"slow.test": slow, "fast.test": fast})
            t.start_send(ENV)
            for i in range(5):
                t.queue(message(subject="slow %d" % i), "s@tern.test",
                        ["u%d@slow.test" % i])
            t.queue(message(subject="fast"), "s@tern.test", ["f@fast.test"])
            ok(wait_for(lambda: ndata(fast) == 1, 10),
               "another domain is delivered meanwhile")
            ok(ndata(slow) < 4, "while slow.test is still busy (%d of 5)"
               % ndata(slow))
            ok(wait_for(t.queue_empty, 30), "everything is delivered")
            is_(slow.peak, 1, "never more than one connection to slow.test")
            is_(ndata(slow), 5, "slow.test got each message once")
            is_(ndata(fast), 1, "fast.test got its message once")
        finally:
            slow.stop()
            fast.stop()


def test_expiry():
    with Instance() as t:
        setup(t)
        t.set("queuelifetime", "2")
        md = t.add_vuser("s@tern.test")
        srv = SMTPServer("127.0.0.2", greeting="421 4.3.2 not now")
        try:
            routes(t, {"dead.test": srv})
            t.start_send(ENV)
            t.queue(message(subject="expires"), "s@tern.test",
                    ["a@dead.test"])
            ok(wait_for(lambda: re.search(
                r"delivery to=<a@dead\.test> failed status=4\.4\.7 "
                r"text=\"message expired: [^\"]*destination dead\.test down",
                t.logtext()), 15), "down and expired: 4.4.7")
            ok(wait_for(t.queue_empty, 10), "the message leaves the queue")
            ok(wait_for(lambda: len(t.maildir_files(md)) == 1, 10) and
               re.search(r"(?m)^Status: 4\.4\.7$", b"".join(
                   t.read_new(md)).decode("utf-8", "replace")),
               "the sender gets a 4.4.7 bounce")
            is_(len(srv.sessions), 1, "one connection only (then down)")
        finally:
            srv.stop()


def test_batches():
    with Instance() as t:
        setup(t)
        srv = SMTPServer("127.0.0.2")
        try:
            routes(t, {"many.test": srv})
            t.start_send(ENV)
            rcpts = ["u%04d@many.test" % i for i in range(1001)]
            code, _ = t.queue(message(), "s@tern.test", rcpts)
            is_(code, 0, "queued for 1001 recipients")
            ok(wait_for(t.queue_empty, 60), "all delivered")
            got = sorted(len(rcpts_of(x)) for x in srv.sessions)
            is_(got, [1, 1000], "two runs: 1000 recipients, then 1")
            is_(sorted(sum((rcpts_of(x) for x in srv.sessions), [])), rcpts,
                "each recipient exactly once")
        finally:
            srv.stop()


def test_queued_batch():
    with Instance() as t:
        setup(t)
        t.set("concurrencydomain", "1")
        srv = CountingServer("127.0.0.2")
        try:
            routes(t, {"b.test": srv})
            for i in range(20):
                code, _ = t.queue(message(subject="batch %d" % i),
                                  "s@tern.test", ["u%d@b.test" % i])
                if code != 0:
                    break
            is_(code, 0, "20 messages queued while tern-send is stopped")
            t.start_send(ENV)
            ok(wait_for(t.queue_empty, 30), "all 20 delivered")
            ok(len(srv.sessions) <= 2, "far fewer connections than "
               "messages: %d for 20" % len(srv.sessions))
            is_(srv.peak, 1, "concurrencydomain 1: one connection at a "
                "time")
            subj = sorted(re.search(rb"Subject: (batch \d+)", d).group(1)
                          for x in srv.sessions for d in x.data)
            is_(subj, sorted(b"batch %d" % i for i in range(20)),
                "each message delivered exactly once")
            ok(re.search(r"remote run domain=b\.test messages=(\d+)",
                         t.logtext()), "log: a run of several messages")
            is_(len(re.findall(r"remote domain=b\.test rcpts=1 result=MK",
                               t.logtext())), 20,
                "log: one result line per message")
        finally:
            srv.stop()


def test_batch_mixed_results():
    with Instance() as t:
        setup(t)
        t.set("concurrencydomain", "1")
        t.set("remoteretrystep", "3600")    # no retry of the 451 one
        srv = SMTPServer("127.0.0.2", greeting_delay=1.0,
                         rcpt=lambda a: "451 4.2.0 later"
                         if a.startswith("tmp") else "250 2.1.5 ok")
        try:
            routes(t, {"m.test": srv})
            t.start_send(ENV)
            t.queue(message(subject="first"), "s@tern.test", ["u0@m.test"])
            ok(wait_for(lambda: len(srv.sessions) == 1, 10),
               "mixed batch: the first run is in its slow greeting")
            for n in ["u1", "u2", "tmp"]:    # the MZ one last
                t.queue(message(subject=n), "s@tern.test",
                        ["%s@m.test" % n])
            # (the 451 one gets an empty DATA: 354 then "." at once)
            ok(wait_for(lambda: sorted(re.search(rb"Subject: \w+", d)[0]
                                       for x in srv.sessions
                                       for d in x.data if d) ==
                        [b"Subject: first", b"Subject: u1",
                         b"Subject: u2"], 20),
               "mixed batch: the accepted messages delivered, once each")
            ok(wait_for(lambda: "to=<tmp@m.test> deferred status=4.2.0" in
                        t.logtext(), 10), "mixed batch: 451 deferred")
            is_(len(srv.sessions), 2, "mixed batch: the three waiting "
                "messages went in one run")
            time.sleep(0.3)
            ok("destination m.test down" not in t.logtext(),
               "mixed batch: MZ with MK in the run: domain not down")
            ok(not t.queue_empty(), "mixed batch: the deferred one stays")
        finally:
            srv.stop()


def test_local_not_blocked():
    with Instance() as t:
        setup(t)
        t.set("concurrencyremote", "1")
        md = t.add_vuser("s@tern.test")
        slow = SMTPServer("127.0.0.2", greeting_delay=0.5)
        try:
            routes(t, {"slow.test": slow})
            t.start_send(ENV)
            for i in range(3):
                t.queue(message(), "s@tern.test", ["u%d@slow.test" % i])
            t.queue(message(subject="local"), "a@example.org",
                    ["s@tern.test"])
            ok(wait_for(lambda: t.maildir_files(md), 10) and
               ndata(slow) < 3, "local mail is delivered while remote "
               "runs wait for the one remote slot")
            ok(wait_for(t.queue_empty, 20) and ndata(slow) == 3,
               "then the remote ones, one at a time")
        finally:
            slow.stop()


def fake_libexec(t, script):
    """A libexec dir: the real programs, tern-remote replaced by script."""
    d = os.path.join(t.dir, "libexec")
    os.makedirs(d)
    bindir = os.path.dirname(t.bin("tern-send"))
    for n in os.listdir(bindir):
        if n != "tern-remote":
            os.symlink(os.path.join(bindir, n), os.path.join(d, n))
    path = os.path.join(d, "tern-remote")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + script)
    os.chmod(path, 0o755)
    os.chmod(d, 0o755)
    return d


def test_missing_results():
    with Instance() as t:
        setup(t)
        # no retry: it would deliver b (the fake says K for the first)
        t.set("remoteretrystep", "3600")
        # The first recipient's result, then nothing: the run "died".
        lib = fake_libexec(t, "printf 'K\\0002.0.0\\000fine\\000'\n"
                           "exit 111\n")
        t.set("smtproutes", "x.test [127.0.0.2]:9")
        t.start_send(dict(ENV, TERN_LIBEXEC=lib))
        t.queue(message(), "s@tern.test", ["a@x.test", "b@x.test"])
        ok(wait_for(lambda: "remote domain=x.test rcpts=2 result=MZ" in
                    t.logtext(), 15), "a run without its message record: "
           "logged as MZ")
        log = t.logtext()
        ok("delivery to=<a@x.test> ok" in log, "the result it gave counts")
        ok('delivery to=<b@x.test> deferred status=4.3.0 '
           'text="tern-remote gave no result"' in log,
           "a missing result is Z 4.3.0")
        ok("destination x.test down" not in log,
           "our own failure does not mark the domain down")
        env = os.listdir(os.path.join(t.spool, "env"))
        if is_(len(env), 1, "the message stays queued"):
            with open(os.path.join(t.spool, "env", env[0]), "rb") as f:
                data = f.read()
            ok(b"\0Da@x.test\0" in data and b"\0Tb@x.test\0" in data,
               "a marked D, b still T")


def test_shifted_results():
    """Fewer results than recipients, then the message record: the
    results may belong to other recipients, so none is used."""
    with Instance() as t:
        setup(t)
        t.set("remoteretrystep", "3600")
        lib = fake_libexec(t, "printf 'K\\0002.0.0\\000fine\\000"
                           "MK\\0002.0.0\\000one of two\\000'\n")
        t.set("smtproutes", "x.test [127.0.0.2]:9")
        t.start_send(dict(ENV, TERN_LIBEXEC=lib))
        t.queue(message(), "s@tern.test", ["a@x.test", "b@x.test"])
        ok(wait_for(lambda: "delivery to=<b@x.test> deferred" in
                    t.logtext(), 15), "shifted results: b is deferred")
        log = t.logtext()
        ok("delivery to=<a@x.test> ok" not in log,
           "shifted results: no K is applied to a")
        env = os.listdir(os.path.join(t.spool, "env"))
        if is_(len(env), 1, "shifted results: the message stays queued"):
            with open(os.path.join(t.spool, "env", env[0]), "rb") as f:
                data = f.read()
            ok(b"\0Ta@x.test\0" in data and b"\0Tb@x.test\0" in data,
               "shifted results: a and b still T")


def spawner_pid(p):
    """The child of tern-send (pid p) that is the remote spawner."""
    try:
        with open("/proc/%d/task/%d/children" % (p, p)) as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return None
    for k in kids:
        try:
            with open("/proc/%d/comm" % k) as f:
                if f.read().strip() == "tern-rspawn":
                    return k
        except OSError:
            pass
    return None


def test_spawner_gone():
    with Instance() as t:
        setup(t)
        md = t.add_vuser("s@tern.test")
        srv = SMTPServer("127.0.0.2")
        try:
            routes(t, {"a.test": srv})
            t.start_send(ENV)
            pid = wait_for(lambda: spawner_pid(t.send.pid), 10)
            if not ok(pid, "the remote spawner runs (tern-rspawn)"):
                return
            os.kill(pid, signal.SIGKILL)
            ok(wait_for(lambda: "the remote spawner exited" in
                        t.logtext(), 10), "tern-send notices its death")
            t.queue(message(), "s@tern.test", ["u@a.test"])
            ok(wait_for(lambda: 'delivery to=<u@a.test> deferred '
                        'status=4.3.0 text="remote delivery not available'
                        in t.logtext(), 10), "remote mail is deferred")
            t.queue(message(subject="local"), "a@example.org",
                    ["s@tern.test"])
            ok(wait_for(lambda: t.maildir_files(md), 10),
               "local mail still flows")
            is_(len(srv.sessions), 0, "no connection was made")
        finally:
            srv.stop()


def test_sigterm_waits():
    with Instance() as t:
        setup(t)
        srv = SMTPServer("127.0.0.2", greeting_delay=1.5)
        try:
            routes(t, {"a.test": srv})
            t.start_send(ENV)
            t.queue(message(), "s@tern.test", ["u@a.test"])
            ok(wait_for(lambda: len(srv.sessions) == 1, 10),
               "a run is in flight")
            start = time.monotonic()
            is_(t.stop_send(), 0, "SIGTERM: exit 0")
            ok(time.monotonic() - start > 0.5 and ndata(srv) == 1,
               "after the run in flight finished")
            ok(t.queue_empty(), "its recipient was marked done")
        finally:
            srv.stop()


def main():
    test_one_transaction()
    test_two_domains()
    test_results_retry_bounce()
    test_dead_host()
    test_domain_concurrency()
    test_expiry()
    test_batches()
    test_queued_batch()
    test_batch_mixed_results()
    test_local_not_blocked()
    test_missing_results()
    test_shifted_results()
    test_spawner_gone()
    test_sigterm_waits()
    done()


main()
