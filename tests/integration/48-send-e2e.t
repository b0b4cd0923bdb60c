#!/usr/bin/env python3
"""End to end: sendmail on instance A -> tern-queue -> tern-send ->
tern-remote -> instance B's tern-smtpd (tern-listen on 127.0.0.3,
tern-tlsd -s: STARTTLS) -> tern-queue -> tern-send -> tern-local -> a
Maildir on B.  A reaches B once through control/smtproutes and once
through MX records served by the private NSD of tests/lib/testdns.py
(tern-resolve in the chain, control remoteport)."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, ok, skip_all, wait_for  # noqa

ROOT = os.geteuid() == 0
ENV = {"TERN_REMOTEUSER": "nobody"} if ROOT else {}
MX_HOST = "127.0.0.3"


def start_mx(b):
    """tern-listen on 127.0.0.3, any port, tern-tlsd -s, tern-smtpd."""
    b.certs = os.path.join(b.dir, "certs")
    os.makedirs(b.certs)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    os.path.join(b.certs, "default.key"), "-out",
                    os.path.join(b.certs, "default.crt"), "-subj",
                    "/CN=mx.b.test", "-days", "2"], check=True,
                   capture_output=True)
    if ROOT:
        b.chown_tree(b.certs)
    b.mxlog = os.path.join(b.dir, "mx.log")
    argv = []
    if ROOT:
        argv += ["-R"]
    argv += [MX_HOST, "0", b.bin("tern-tlsd"), "-s", "-c", b.certs]
    if ROOT:
        argv += ["-U", "nobody", "-u", "nobody"]
    argv += [b.bin("tern-smtpd")]
    return b.listen(argv, b.mxlog)[1]


def instance_b(domain):
    b = Instance(me=domain)
    md = b.add_vuser("u@" + domain)
    b.set("recipients", "u@" + domain)
    return b, md


def send_through(a, b, md, rcpt, subject):
    """sendmail on A; returns B's delivered message (bytes) or None."""
    msg = ("From: x@a.test\nTo: %s\nSubject: %s\n\nline one\n.dot\nend\n"
           % (rcpt, subject)).encode()
    r = a.run(["sendmail", "-f", "x@a.test", rcpt], input=msg)
    is_(r.returncode, 0, "%s: sendmail on A queued it" % subject)
    got = wait_for(lambda: b.maildir_files(md), 30)
    if not ok(got, "%s: the message reached B's Maildir" % subject):
        diag("A:\n" + a.logtext())
        diag("B:\n" + b.logtext())
        with open(b.mxlog) as f:
            diag("B smtpd:\n" + f.read())
        return None
    ok(wait_for(a.queue_empty, 10), "%s: A's queue is empty" % subject)
    return b.read_new(md)[0]


def check_received(raw, subject):
    head = raw.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    ok(b"\n\nline one\n.dot\nend\n" in raw and
       ("Subject: %s\n" % subject) in head,
       "%s: body and subject unchanged" % subject)
    rec = re.search(r"Received: from [^\n]*\n\tby \S+ \(tern\) with "
                    r"(\S+)( \(using (TLSv1\.[23]) with cipher \S+\))?",
                    head)
    if not ok(rec and rec.group(1) == "ESMTPS" and rec.group(3),
              "%s: B's Received line says ESMTPS with TLS" % subject):
        diag(head)


def test_routes():
    with Instance(me="a.test") as a:
        b, md = instance_b("b.test")
        with b:
            port = start_mx(b)
            b.start_send(ENV)
            a.set("smtproutes", "b.test [%s]:%d" % (MX_HOST, port))
            a.start_send(ENV)
            raw = send_through(a, b, md, "u@b.test", "routed")
            if raw is not None:
                check_received(raw, "routed")
            ok(re.search(r"remote domain=b\.test rcpts=1 result=MK",
                         a.logtext()), "A logged the run")


def test_mx():
    try:
        import testdns
        dns = testdns.TestDNS()
    except (ImportError, FileNotFoundError) as e:
        ok(True, "# SKIP no private DNS: %s" % e)
        return
    # secure.test: MX 10 mx1 (127.0.0.2, ::1; nothing listens there on
    # our port), MX 20 mx2 (127.0.0.3 = B, 127.0.0.4) and mx3 (::1).
    try:
        with Instance(me="a.test") as a:
            b, md = instance_b("secure.test")
            with b:
                port = start_mx(b)
                b.start_send(ENV)
                dns.configure(a, timeout=2)
                a.set("remoteport", str(port))
                a.set("remotetimeoutconnect", "2")
                a.start_send(ENV)
                raw = send_through(a, b, md, "u@secure.test", "mx")
                if raw is not None:
                    check_received(raw, "mx")
                log = a.logtext()
                ok("tern-resolve: info: forwarding to 127.0.0.1@" in log and
                   "mx2.secure.test [127.0.0.3]: 250 " in log and re.search(
                       r"remote domain=secure\.test rcpts=1 result=MK", log),
                   "A found B (mx2) through tern-resolve and the MX records")
                is_(a.stop_send(), 0, "A's tern-send stops")
                # tern-resolve -F logs its count when the spawner is gone
                pat = r"tern-resolve: info: (\d+) clients? served"
                wait_for(lambda: re.search(pat, a.logtext()), 10)
                log = a.logtext()
                is_(log.count("tern-resolve: info: forwarding to "), 1,
                    "one tern-resolve for A: the spawner's shared one")
                served = re.search(pat, log)
                ok(served and int(served.group(1)) >= 1,
                   "the run used the shared tern-resolve -F")
    finally:
        dns.stop()


def main():
    if shutil.which("openssl") is None:
        skip_all("no openssl")
    test_routes()
    test_mx()
    done()


main()
