#!/usr/bin/env python3
# tern-remote with MX lookups through tern-resolve and a private NSD
# (tests/lib/testdns.py): MX order and fallback across addresses, null
# MX, NXDOMAIN, SERVFAIL, an MX pointing back to this host, DANE (a
# matching key, a key that does not match, a bogus TLSA answer), the
# resolver as a unix socket (TERN_RESOLVER) or as an inherited connection
# to a shared tern-resolve -F (TERN_RESOLVER_FD).  All SMTP servers listen
# on one high port (control remoteport) on 127.0.0.x and ::1; every DNS
# query goes to 127.0.0.1.
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import testdns  # noqa: E402
from smtpserver import SMTPServer, make_cert  # noqa: E402
from ternlib import Instance, diag, done, is_, ok, skip_all  # noqa: E402

MSG = b"Subject: mx\n\nbody\n"


def parse(out):
    f = out.split(b"\0")
    recs = [(f[i].decode(), f[i + 1].decode(), f[i + 2].decode())
            for i in range(0, len(f) - 1, 3)]
    return recs[:-1], recs[-1] if recs else None


def remote(t, domain, rcpts=None, env=None, pass_fds=()):
    path = os.path.join(t.dir, "msg")
    with open(path, "wb") as f:
        f.write(MSG)
    argv = [t.bin("tern-remote")]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    argv += [domain, "a@example.org"] + (rcpts or ["u@" + domain])
    with open(path, "rb") as f:
        r = subprocess.run(argv, stdin=f, capture_output=True,
                           env=env or t.env(), timeout=60,
                           pass_fds=pass_fds)
    recs, m = parse(r.stdout)
    return recs, m, r.stderr.decode("utf-8", "replace")


def servers(port, specs):
    """Start SMTPServer(host, port=port, **kw) for each (host, kw)."""
    out = {}
    for host, kw in specs:
        out[host] = SMTPServer(host, port=port, **kw)
    return out


def stop(srvs):
    for s in srvs.values():
        s.stop()


def common_port():
    """A port free on 127.0.0.2-4 and ::1."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]
        s.close()
        try:
            for h in ("127.0.0.3", "127.0.0.4", "::1"):
                x = socket.socket(socket.AF_INET6 if ":" in h else
                                  socket.AF_INET)
                x.bind((h, port))
                x.close()
            return port
        except OSError:
            continue
    raise RuntimeError("no common port")


def test_order(t, port):
    # mx1 (pref 10): ::1 then 127.0.0.2; mx2, mx3 (pref 20).  mx1 has a
    # secure TLSA record: these tests switch TLS off (test_dane has it).
    t.set("tlspolicy", "secure.test none")
    srvs = servers(port, [("::1", dict(greeting="421 4.3.2 busy")),
                          ("127.0.0.2", {})])
    try:
        recs, m, err = remote(t, "secure.test")
        if not ok(recs[0][0] == "K" and "mx1.secure.test [127.0.0.2]" in
                  recs[0][2], "421 greeting on ::1: next address of the "
                  "same MX delivers"):
            diag(recs)
            diag(err)
        is_(len(srvs["::1"].sessions), 1, "the 421 address was tried first")
    finally:
        stop(srvs)
    srvs = servers(port, [("127.0.0.3", {}), ("127.0.0.4", {})])
    try:
        seen = set()
        for _ in range(3):
            recs, m, err = remote(t, "secure.test")
            if recs[0][0] == "K":
                seen.add(recs[0][2].split(" ")[0])
        ok(seen <= {"mx2.secure.test", "mx3.secure.test"} and
           "mx2.secure.test" in seen,
           "mx1 refused: the next preference delivers (%s)" % sorted(seen))
    finally:
        stop(srvs)
    t.set("remotemaxaddrs", "2")
    srvs = servers(port, [("127.0.0.3", {})])
    try:
        recs, m, err = remote(t, "secure.test")
        is_(recs[0][0], "Z", "remotemaxaddrs 2: addresses beyond mx1's two "
            "are not tried")
        is_(len(srvs["127.0.0.3"].sessions), 0, "remotemaxaddrs 2: mx2 "
            "never contacted")
    finally:
        stop(srvs)
        os.unlink(os.path.join(t.control, "remotemaxaddrs"))


def test_dns_failures(t, port):
    srvs = servers(port, [("127.0.0.2", {})])
    try:
        recs, m, _ = remote(t, "nullmx.secure.test")
        ok(recs[0][:2] == ("D", "5.1.10") and m[0] == "MD",
           "null MX: permanent 5.1.10")
        recs, m, _ = remote(t, "nosuch.secure.test")
        is_(recs[0][:2], ("D", "5.1.2"), "NXDOMAIN: permanent 5.1.2")
        recs, m, _ = remote(t, "x.servfail.test")
        is_(recs[0][:2], ("Z", "4.4.3"), "SERVFAIL: temporary 4.4.3")
        is_(len(srvs["127.0.0.2"].sessions), 0,
            "no connection for null MX, NXDOMAIN, SERVFAIL")
        t.set("me", "mx1.secure.test")
        recs, m, _ = remote(t, "secure.test")
        is_(recs[0][:2], ("D", "5.4.6"), "best MX is this host: loop 5.4.6")
        t.set("me", "tern.test")
    finally:
        stop(srvs)


def test_dane(t, port, cert):
    # mx1 has a secure TLSA record that no certificate here matches.
    os.unlink(os.path.join(t.control, "tlspolicy"))
    srvs = servers(port, [("127.0.0.2", dict(cert=cert))])
    try:
        recs, m, err = remote(t, "secure.test")
        if not ok(recs[0][:2] == ("Z", "4.7.5") and "DANE" in recs[0][2],
                  "DANE authentication fails, other hosts down: deferred "
                  "4.7.5"):
            diag(recs)
            diag(err)
        ok(srvs["127.0.0.2"].sessions and all(
           not s.data for s in srvs["127.0.0.2"].sessions),
           "DANE failure: nothing sent to the unauthenticated host")
    finally:
        stop(srvs)
    srvs = servers(port, [("::1", dict(cert=cert)),
                          ("127.0.0.2", dict(cert=cert))])
    try:
        recs, m, err = remote(t, "secure.test")
        ok(recs[0][0] == "K" and recs[0][2].startswith("mx3.secure.test") and
           err.count("DANE authentication failed") == 2,
           "DANE fails on both mx1 addresses; mx3 (validated: no TLSA) "
           "delivers")
    finally:
        stop(srvs)
    srvs = servers(port, [("127.0.0.2", {})])
    try:
        recs, m, err = remote(t, "secure.test")
        ok(recs[0][0] == "Z" and any(not s.cmds or b"MAIL" not in
           b" ".join(s.cmds) for s in srvs["127.0.0.2"].sessions),
           "secure TLSA but no STARTTLS offered: no delivery in clear")
    finally:
        stop(srvs)
    t.set("tlspolicy", "secure.test none")
    srvs = servers(port, [("127.0.0.2", {})])
    try:
        recs, m, err = remote(t, "secure.test")
        is_(recs[0][0], "K", "tlspolicy none: TLSA ignored, delivered")
    finally:
        stop(srvs)
        os.unlink(os.path.join(t.control, "tlspolicy"))


def test_dane_ok(t, port, dns, cert):
    """dane.test: signed, _25._tcp.mx TLSA 3 1 1 of dns.dane_cert's key."""
    srvs = servers(port, [("127.0.0.2", dict(cert=dns.dane_cert))])
    try:
        recs, m, err = remote(t, "dane.test")
        if not ok(recs[0][0] == "K" and "mx.dane.test [127.0.0.2]" in
                  recs[0][2], "DANE: the MX presents the key of its secure "
                  "TLSA 3 1 1 record: delivered"):
            diag(recs)
            diag(err)
        ok("mx.dane.test [127.0.0.2]: TLS" in err and
           "verify=dane-verified" in err, "DANE: the log says the "
           "certificate was DANE-verified")
        s = srvs["127.0.0.2"].sessions
        ok(len(s) == 1 and s[0].tls and s[0].data,
           "DANE: the message went over TLS")
    finally:
        stop(srvs)
    srvs = servers(port, [("127.0.0.2", dict(cert=cert))])
    try:
        recs, m, err = remote(t, "dane.test")
        ok(recs[0][:2] == ("Z", "4.7.5") and "DANE" in recs[0][2] and
           all(not s.data for s in srvs["127.0.0.2"].sessions),
           "DANE: another key on the same host: deferred 4.7.5, nothing "
           "sent")
    finally:
        stop(srvs)
    srvs = servers(port, [("127.0.0.2", dict(cert=dns.dane_cert))])
    try:
        recs, m, err = remote(t, "danebogus.test")
        if not ok(recs[0][:2] == ("Z", "4.4.3") and "TLSA" in recs[0][2],
                  "DANE: a bogus TLSA answer is temporary 4.4.3"):
            diag(recs)
        is_(len(srvs["127.0.0.2"].sessions), 0, "DANE: bogus TLSA: no "
            "connection, no fallback to unauthenticated TLS or clear text")
    finally:
        stop(srvs)


def start_shared(t):
    """A tern-resolve -F; (process, control socket, log path)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    argv = [t.bin("tern-resolve"), "-F"]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    logpath = os.path.join(t.dir, "resolve-F.log")
    with open(logpath, "wb") as err:
        p = subprocess.Popen(argv, stdin=theirs, stdout=subprocess.DEVNULL,
                             stderr=err, env=t.env())
    theirs.close()
    return p, ours, logpath


def shared_conn(ctl):
    """A new client connection to tern-resolve -F: our end."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    socket.send_fds(ctl, [b"C"], [theirs.fileno()])
    theirs.close()
    return ours


def test_resolver_fd(t, port):
    """TERN_RESOLVER_FD: a connection to a shared tern-resolve -F, as
    tern-send's remote spawner passes it."""
    t.set("tlspolicy", "secure.test none")
    # no tern-resolve to spawn: only the inherited connection can work
    nolibexec = tempfile.mkdtemp(dir=t.dir)
    p, ctl, logpath = start_shared(t)
    srvs = servers(port, [("127.0.0.2", {})])
    try:
        c1 = shared_conn(ctl)
        env = t.env(TERN_RESOLVER_FD=str(c1.fileno()))
        env["TERN_LIBEXEC"] = nolibexec
        recs, m, err = remote(t, "secure.test", env=env,
                              pass_fds=(c1.fileno(),))
        c1.close()
        if not ok(recs[0][0] == "K" and "mx1.secure.test [127.0.0.2]" in
                  recs[0][2], "TERN_RESOLVER_FD: lookups over the "
                  "inherited connection to tern-resolve -F, delivered"):
            diag(recs)
            diag(err)
        c2 = shared_conn(ctl)
        recs, m, err = remote(t, "nullmx.secure.test", env=dict(
            env, TERN_RESOLVER_FD=str(c2.fileno())), pass_fds=(c2.fileno(),))
        c2.close()
        is_(recs[0][:2], ("D", "5.1.10"), "TERN_RESOLVER_FD: a second run "
            "on its own connection to the same resolver")
        pr, pw = os.pipe()
        recs, m, err = remote(t, "secure.test", env=t.env(
            TERN_RESOLVER_FD=str(pr)), pass_fds=(pr,))
        os.close(pr)
        os.close(pw)
        ok(recs[0][0] == "K" and "no stream socket" in err,
           "TERN_RESOLVER_FD names a pipe: tern-resolve -p is run instead")
        dead, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        peer.close()
        recs, m, err = remote(t, "secure.test", env=t.env(
            TERN_RESOLVER_FD=str(dead.fileno())), pass_fds=(dead.fileno(),))
        dead.close()
        ok(recs[0][0] == "K" and "closed the connection" in err,
           "TERN_RESOLVER_FD whose resolver is gone: tern-resolve -p is "
           "run instead")
        ctl.close()
        rc = p.wait(timeout=10)
        with open(logpath) as f:
            log = f.read()
        ok(rc == 0 and "2 clients served" in log,
           "tern-resolve -F served both runs and exited 0 at EOF")
    finally:
        stop(srvs)
        if p.poll() is None:
            p.kill()
            p.wait()
        os.unlink(os.path.join(t.control, "tlspolicy"))


def test_resolver_socket(t, port):
    """TERN_RESOLVER: a unix socket whose peer speaks tern-resolve's
    protocol (here: a tern-resolve per connection on the socket)."""
    path = os.path.join(t.dir, "resolver.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    os.chmod(path, 0o777)
    ls.listen(4)
    children = []

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            argv = [t.bin("tern-resolve"), "-p"]
            if os.geteuid() == 0:
                argv += ["-u", "nobody"]
            children.append(subprocess.Popen(argv, stdin=c, stdout=c,
                                             stderr=subprocess.DEVNULL,
                                             env=t.env()))
            c.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    t.set("tlspolicy", "secure.test none")
    srvs = servers(port, [("127.0.0.2", {})])
    try:
        path_env = dict(t.env(), TERN_RESOLVER=path)
        argv = [t.bin("tern-remote")] + (["-u", "nobody"] if
                                         os.geteuid() == 0 else [])
        with open(os.path.join(t.dir, "msg"), "rb") as f:
            r = subprocess.run(argv + ["secure.test", "a@example.org",
                                       "u@secure.test"], stdin=f,
                               capture_output=True, env=path_env, timeout=60)
        recs, m = parse(r.stdout)
        ok(recs[0][0] == "K" and len(children) == 1,
           "TERN_RESOLVER: lookups over the unix socket, delivered")
        r = subprocess.run(argv + ["secure.test", "a@example.org",
                                   "u@secure.test"],
                           stdin=open(os.path.join(t.dir, "msg"), "rb"),
                           capture_output=True, timeout=60,
                           env=dict(path_env, TERN_RESOLVER=path + ".no"))
        recs, m = parse(r.stdout)
        is_(recs[0][:2], ("Z", "4.4.3"), "TERN_RESOLVER names no socket: "
            "temporary 4.4.3")
    finally:
        stop(srvs)
        ls.shutdown(socket.SHUT_RDWR)
        ls.close()
        for c in children:
            c.wait(timeout=10)
        os.unlink(os.path.join(t.control, "tlspolicy"))


def main():
    try:
        dns = testdns.TestDNS()
    except FileNotFoundError as e:
        skip_all("%s not installed (make deps)" % e)
    try:
        with Instance() as t:
            dns.configure(t, timeout=5)
            port = common_port()
            t.set("remoteport", str(port))
            t.set("remotetimeoutconnect", "2")
            certdir = tempfile.mkdtemp(dir=t.dir)
            os.chmod(certdir, 0o755)
            cert = make_cert(certdir, "mx1.secure.test")
            test_order(t, port)
            test_dns_failures(t, port)
            test_dane(t, port, cert)
            test_dane_ok(t, port, dns, cert)
            test_resolver_fd(t, port)
            test_resolver_socket(t, port)
    except Exception:
        diag("nsd log:\n" + dns.log())
        raise
    finally:
        dns.stop()
    done()


main()
