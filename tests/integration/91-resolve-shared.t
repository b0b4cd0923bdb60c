#!/usr/bin/env python3
# tern-resolve -F: clients arrive as fds over a unix socket on fd 0 (the
# way tern-send's remote spawner hands them out), all served by one
# libunbound context.  Per-client request ids, a shared cache (proved by
# stopping NSD between two lookups of a name), a garbage client dropped
# alone, EOF on fd 0.  Every query goes to a private NSD on 127.0.0.1.
import os
import resource
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import testdns  # noqa: E402
from ternlib import Instance, diag, done, is_, ok, skip_all  # noqa: E402


def frame(rid, qtype, name):
    return b"%d\0%s\0%s\0\0" % (rid, qtype.encode(), name.encode())


def parse_replies(data):
    """Complete reply frames -> {id: (letter, status, text, [records])}."""
    recs = data.split(b"\0")
    out, i = {}, 0
    while i + 4 < len(recs):
        rid, letter, status, text = recs[i:i + 4]
        j = i + 4
        while j < len(recs) - 1 and recs[j] != b"":
            j += 1
        if j >= len(recs) - 1:
            break
        out[int(rid)] = (letter.decode(), status.decode(), text.decode(),
                         [r.decode() for r in recs[i + 4:j]])
        i = j + 1
    return out


class Client:
    """One connection handed to tern-resolve over the control socket."""

    def __init__(self, ctl):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX,
                                              socket.SOCK_STREAM)
        socket.send_fds(ctl, [b"C"], [theirs.fileno()])
        theirs.close()
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def replies(self, n, timeout=10):
        """Read until n replies have arrived (or EOF, or timeout)."""
        end = time.monotonic() + timeout
        while len(parse_replies(self.buf)) < n and not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                break
            pl = select.poll()  # fds beyond 1024 in check_limit
            pl.register(self.sock, select.POLLIN)
            if not pl.poll(left * 1000):
                continue
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
            self.buf += chunk
        return parse_replies(self.buf)

    def ask(self, rid, qtype, name, timeout=10):
        self.buf = b""
        self.send(frame(rid, qtype, name))
        return self.replies(1, timeout).get(rid)

    def close(self):
        self.sock.close()


def start(t):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    argv = [t.bin("tern-resolve"), "-F"]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    err = open(os.path.join(t.dir, "resolve.log"), "wb")
    p = subprocess.Popen(argv, stdin=theirs, stdout=subprocess.DEVNULL,
                         stderr=err, env=t.env())
    theirs.close()
    err.close()
    return p, ours


def log(t):
    with open(os.path.join(t.dir, "resolve.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def check_two_clients(ctl):
    a, b = Client(ctl), Client(ctl)
    # the same ids on both connections, different questions
    a.send(b"".join(frame(i, "a", "mx2.secure.test") for i in range(1, 21)))
    b.send(b"".join(frame(i, "mx", "nullmx.secure.test")
                    for i in range(1, 21)))
    ra, rb = a.replies(20), b.replies(20)
    ok(len(ra) == 20 and all(v[0] == "K" and sorted(v[3]) ==
       ["A127.0.0.3", "A127.0.0.4", "Ssecure"] for v in ra.values()),
       "client 1: its 20 lookups answered on its own connection")
    ok(len(rb) == 20 and all(v[:2] == ("D", "5.1.10")
                             for v in rb.values()),
       "client 2: the same ids, its own answers (null MX)")
    return a, b


def check_garbage(t, ctl, a):
    g = Client(ctl)
    g.send(b"this is not a request\0\0")
    g.replies(1, timeout=5)
    ok(g.eof and g.buf == b"",
       "a client sending garbage is disconnected, nothing written to it")
    ok("protocol error" in log(t), "the garbage is logged as a protocol "
       "error")
    g.close()
    # a client that asks and leaves before the answer
    q = Client(ctl)
    q.send(frame(1, "mx", "secure.test") + frame(2, "a", "x.servfail.test"))
    q.close()
    # an fd that is no socket is refused; so is a message without an fd
    r, w = os.pipe()
    socket.send_fds(ctl, [b"C"], [r])
    os.close(r)
    os.close(w)
    ctl.sendall(b"C")
    rep = a.ask(7, "addr", "mx1.secure.test")
    ok(rep is not None and rep[0] == "K" and sorted(rep[3]) ==
       ["A127.0.0.2", "A::1", "Ssecure"],
       "the other client keeps working after the garbage, a client gone "
       "early, a pipe and a message without fd")
    ok("ignored a message" in log(t), "a control message without one "
       "socket is logged and ignored")


def check_cache(t, ctl, dns, a):
    rep = a.ask(8, "mx", "secure.test")
    ok(rep is not None and rep[0] == "K", "mx secure.test before NSD stops")
    dns.halt()
    c = Client(ctl)
    rep = c.ask(1, "mx", "secure.test")
    ok(rep is not None and rep[0] == "K" and rep[3][:2] ==
       ["Ssecure", "M10 mx1.secure.test"],
       "NSD stopped: a new client gets the same answer from the shared "
       "cache, still validated")
    rep = c.ask(2, "mx", "never-asked.secure.test", timeout=15)
    ok(rep is not None and rep[:2] == ("Z", "4.4.3"),
       "NSD stopped: a name not in the cache fails (so the cache answered)")
    c.close()


def check_limit(t, ctl, a):
    """At most 1024 clients at once; one more is closed at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2200:
        ok(True, "# SKIP client limit: hard fd limit %d" % hard)
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (2200, hard))
    rep = a.ask(40, "a", "mx2.secure.test")  # earlier clients are gone
    many = [Client(ctl) for _ in range(1022)]
    extra = Client(ctl)
    extra.replies(1, timeout=10)
    ok(extra.eof, "client 1025 (with 1024 connected) is closed at once")
    ok("clients already, one more refused" in log(t),
       "the refused client is logged")
    rep = many[-1].ask(1, "a", "mx2.secure.test")
    ok(rep is not None and rep[0] == "K", "client 1024 is served")
    for c in many + [extra]:
        c.close()
    rep = a.ask(41, "mx", "nullmx.secure.test")
    ok(rep is not None and rep[:2] == ("D", "5.1.10"),
       "after 1023 clients left, the first one still works")


def check_eof(p, ctl, a, b):
    ctl.close()
    time.sleep(0.3)
    ok(p.poll() is None, "EOF on fd 0: still running while clients are "
       "connected")
    rep = b.ask(30, "mx", "secure.test")
    ok(rep is not None and rep[0] == "K",
       "EOF on fd 0: a connected client is still served")
    a.close()
    b.close()
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    is_(rc, 0, "EOF on fd 0 and every client gone: exit 0")


def check_not_socket(t):
    argv = [t.bin("tern-resolve"), "-F"]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       env=t.env(), timeout=10)
    ok(r.returncode == 111 and b"socket" in r.stderr,
       "-F without a socket on fd 0: exit 111")
    r = subprocess.run(argv + ["mx", "secure.test"], capture_output=True,
                       env=t.env(), timeout=10)
    is_(r.returncode, 100, "-F with a query: usage, 100")


def run(t, dns):
    p = None
    try:
        dns.configure(t, timeout=3)
        check_not_socket(t)
        p, ctl = start(t)
        a, b = check_two_clients(ctl)
        check_garbage(t, ctl, a)
        check_cache(t, ctl, dns, a)
        check_limit(t, ctl, a)
        check_eof(p, ctl, a, b)
    except Exception:
        diag("nsd log:\n" + dns.log())
        if p is not None:
            diag("tern-resolve log:\n" + log(t))
        raise
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()


def main():
    try:
        dns = testdns.TestDNS()
    except FileNotFoundError as e:
        skip_all("%s not installed (make deps)" % e)
    try:
        with Instance() as t:
            run(t, dns)
    finally:
        dns.stop()
    done()


main()
