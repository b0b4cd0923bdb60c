#!/usr/bin/env python3
# tern-remote against Postfix's smtp-sink (a server nobody here wrote):
# PIPELINING, 8BITMIME, many recipients in one transaction.  Skips when
# /usr/sbin/smtp-sink (Debian package postfix) is not installed.
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, ok, skip_all  # noqa: E402

SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def free_port(host):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    if not os.access(SINK, os.X_OK):
        skip_all("smtp-sink not installed (package postfix)")
    with Instance() as t:
        port = free_port("127.0.0.2")
        argv = [SINK, "-c", "-8"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        sink = subprocess.Popen(argv + ["127.0.0.2:%d" % port, "10"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL,
                                start_new_session=True)
        t.procs.append(sink)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.2", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        t.set("smtproutes", "example.net [127.0.0.2]:%d" % port)
        path = os.path.join(t.dir, "msg")
        with open(path, "wb") as f:
            f.write(b"Subject: sink\n\n" + b"caf\xc3\xa9 line\n.dot\n" * 500)
        rcpts = ["u%d@example.net" % i for i in range(50)]
        argv = [t.bin("tern-remote")] + (["-u", "nobody"] if
                                         os.geteuid() == 0 else [])
        with open(path, "rb") as f:
            r = subprocess.run(argv + ["example.net", "a@example.org"] +
                               rcpts, stdin=f, capture_output=True,
                               env=t.env(), timeout=60)
        fields = r.stdout.split(b"\0")
        if not is_(r.returncode, 0, "smtp-sink: exit 0"):
            diag(r.stderr.decode("utf-8", "replace")[-3000:])
        letters = [fields[i] for i in range(0, 150, 3)]
        ok(letters == [b"K"] * 50 and fields[150] == b"MK",
           "smtp-sink: 50 recipients delivered in one run")
    done()


main()
