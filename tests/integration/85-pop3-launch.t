#!/usr/bin/env python3
"""The POP3 chain of INSTALL under the other launchers: tcpserver
(ucspi-tcp), systemd's Accept=yes (systemd-socket-activate --inetd -a)
and inetd (the connection on fds 0, 1 and 2), each with STLS and with
implicit TLS.  poplib logs in, reads and deletes; as root the parser
runs as pop3loginuser and tern-pop3d as the mailbox owner, and the
relay as -U; the parser holds no descriptor of the connection while
tern-pop3d runs, and the client's address reaches the programs (where
the launcher sets no UCSPI variables, from tern-tlsd).  A launcher that is not installed is skipped.
"""
import os
import poplib
import shutil
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
from ternlib import Instance, ok, is_, done, skip_all, wait_for  # noqa: E402
import pop3lib  # noqa: E402
from pop3lib import deliver, PASSWORD, ctx, ROOT  # noqa: E402

for prog in ("tern-pop3-login", "tern-pop3d", "tern-checkpass",
             "tern-tlsd"):
    if not os.access(os.path.join(ternlib.BIN, prog), os.X_OK):
        skip_all(prog + " is not built")


def chain_argv(t, mode):
    """tern-tlsd [-s] ... tern-pop3-login tern-checkpass tern-pop3d."""
    argv = [t.bin("tern-tlsd"), "-c", t.certs]
    if ROOT:
        argv += ["-U", pop3lib.RELAY_USER, "-u", "root"]
    if mode == "stls":
        argv += ["-s"]
    return argv + [t.bin("tern-pop3-login"), t.bin("tern-checkpass"),
                   t.bin("tern-pop3d")]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Launcher:
    """A super-server on 127.0.0.1 running argv per connection."""

    def __init__(self, t, kind, argv):
        self.kind, self.p, self.ls = kind, None, None
        self.logpath = os.path.join(t.dir, "launch.%s.log" % kind)
        if kind == "inetd":
            self.start_inetd(t, argv)
            return
        self.port = free_port()
        if kind == "tcpserver":
            full = ["tcpserver", "-q", "-R", "-H", "-l", "0",
                    "127.0.0.1", str(self.port)] + argv
        else:
            # it passes on only the variables named with -E
            full = ["systemd-socket-activate", "-l",
                    "127.0.0.1:%d" % self.port, "-a", "--inetd"]
            for k in sorted(t.env()):
                if k.startswith(("TERN_", "ASAN_", "UBSAN_")) or k == "PATH":
                    full += ["-E", k]
            full += argv
        with open(self.logpath, "wb") as logf:
            self.p = subprocess.Popen(full, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL,
                                      stderr=logf, env=t.env(),
                                      start_new_session=True)
        t.procs.append(self.p)
        wait_for(lambda: listening(self.port), timeout=10)
        self.top = self.p.pid

    def start_inetd(self, t, argv):
        """Like inetd's nowait: the socket on fds 0, 1 and 2, no UCSPI
        variables."""
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.top = os.getpid()
        env = t.env()
        for v in ("PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP",
                  "TCPLOCALPORT"):
            env.pop(v, None)

        def serve():
            while True:
                try:
                    c, _ = self.ls.accept()
                except OSError:
                    return
                p = subprocess.Popen(argv, stdin=c, stdout=c, stderr=c,
                                     env=env)
                t.procs.append(p)
                c.close()
        threading.Thread(target=serve, daemon=True).start()

    def stop(self):
        if self.ls is not None:
            self.ls.close()
        if self.p is not None and self.p.poll() is None:
            self.p.terminate()
            self.p.wait(timeout=10)


def session(t, la, mode):
    name = "%s %s" % (la.kind, mode)
    n0 = len(os.listdir(os.path.join(t.md, "cur")))
    mark = deliver(t, t.md, body=("via " + name + "\n").encode())
    if mode == "tls":
        p = poplib.POP3_SSL("127.0.0.1", la.port, timeout=15,
                            context=ctx())
    else:
        p = poplib.POP3("127.0.0.1", la.port, timeout=15)
        is_(p.getwelcome(), b"+OK tern POP3 server ready",
            "%s: the greeting, no log line before it" % name)
        p.stls(context=ctx())
    p.user("u@tern.test")
    p.pass_(PASSWORD)
    count, _ = p.stat()
    is_(count, n0 + 1, "%s: logged in, STAT" % name)
    c = pop3lib.chain(la.top)
    conn, held = pop3lib.conn_held(c)
    ok(c["pop3d"] and c["parser"] and conn and not held,
       "%s: while tern-pop3d runs, the pre-auth parser holds no "
       "descriptor of the connection (%r)" % (name, held))
    env = pop3lib.environ(c["pop3d"][0]["pid"]) if c["pop3d"] else {}
    is_([env.get(k) for k in ("PROTO", "TCPREMOTEIP", "TCPREMOTEPORT")],
        ["TCP", "127.0.0.1", str(p.sock.getsockname()[1])],
        "%s: the client's address reaches tern-pop3-login and tern-pop3d"
        % name)
    ids = dict(x.split() for x in p.uidl()[1])
    num = [k for k, v in ids.items() if v == mark.encode()]
    body = p.retr(int(num[0]))[1] if num else []
    is_(body[-1:], [("via " + name).encode()], "%s: RETR" % name)
    if ROOT:
        c = pop3lib.chain(la.top)
        pd = c["pop3d"]
        ok(c["relay"] and pd and c["parser"] and
           all(set(x["uids"]) == {pop3lib.RELAY_UID} for x in c["relay"]) and
           all(set(x["uids"]) == {pop3lib.LOGIN_UID} for x in c["parser"]) and
           all(set(x["uids"]) == {t.uid} for x in pd),
           "%s: relay as -U, parser as pop3loginuser, tern-pop3d as the "
           "owner (%r)" % (name, c))
    p.dele(int(num[0]) if num else 1)
    q = p.quit()
    ok(q.startswith(b"+OK bye"), "%s: QUIT after DELE (%r)" % (name, q))
    ok(wait_for(lambda: len(os.listdir(os.path.join(t.md, "cur"))) == n0,
                timeout=5), "%s: the message is gone" % name)


with Instance() as t:
    t.md = pop3lib.setup(t, insecure=False)
    if not t.have_certs:
        skip_all("openssl cannot make a certificate")
    kinds = [("tcpserver", "tcpserver"),
             ("systemd", "systemd-socket-activate"), ("inetd", None)]
    for kind, tool in kinds:
        if tool and shutil.which(tool) is None:
            ok(True, "# SKIP %s: %s not installed" % (kind, tool))
            continue
        for mode in ("stls", "tls"):
            la = Launcher(t, kind, chain_argv(t, mode))
            session(t, la, mode)
            la.stop()
done()
