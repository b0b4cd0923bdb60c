#!/usr/bin/env python3
# tern-remote (instance A) to tern-smtpd behind tern-listen and tern-tlsd
# (instance B) on 127.0.0.1: STARTTLS, PIPELINING, per-recipient results
# from real recipient validation, the message in B's spool unchanged.
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, diag, done, is_, ok, skip_all  # noqa

ROOT = os.geteuid() == 0
BODY = b"line one\n.dot line\n\nlast\n"


def start_mx(b):
    b.certs = os.path.join(b.dir, "certs")
    os.makedirs(b.certs)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    os.path.join(b.certs, "default.key"), "-out",
                    os.path.join(b.certs, "default.crt"), "-subj",
                    "/CN=tern.test", "-days", "2"], check=True,
                   capture_output=True)
    b.add_vuser("u@tern.test")
    b.set("recipients", "u@tern.test")
    b.mxlog = os.path.join(b.dir, "mx.log")
    argv = []
    if ROOT:
        argv += ["-R"]
    argv += ["127.0.0.1", "0", b.bin("tern-tlsd"), "-s", "-c", b.certs]
    if ROOT:
        argv += ["-U", "nobody", "-u", "nobody"]
    argv += [b.bin("tern-smtpd")]
    return b.listen(argv, b.mxlog)[1]


def main():
    if shutil.which("openssl") is None:
        skip_all("no openssl")
    with Instance(me="a.test") as a, Instance(me="tern.test") as b:
        port = start_mx(b)
        a.set("smtproutes", "tern.test [127.0.0.1]:%d" % port)
        msg = (b"From: x@a.test\nTo: u@tern.test\nSubject: e2e\n\n" + BODY)
        path = os.path.join(a.dir, "msg")
        with open(path, "wb") as f:
            f.write(msg)
        argv = [a.bin("tern-remote")] + (["-u", "nobody"] if ROOT else [])
        with open(path, "rb") as f:
            r = subprocess.run(argv + ["tern.test", "x@a.test",
                                       "u@tern.test", "nosuch@tern.test"],
                               stdin=f, capture_output=True, env=a.env(),
                               timeout=60)
        fields = r.stdout.split(b"\0")
        err = r.stderr.decode("utf-8", "replace")
        ok(r.returncode == 0 and fields[0] == b"K",
           "tern-smtpd accepted the existing recipient")
        ok(fields[3] == b"D" and fields[4] == b"5.1.1" and
           b"127.0.0.1 [127.0.0.1]: 550" in fields[5],
           "unknown recipient: D 5.1.1 with tern-smtpd's reply")
        ok("TLSv1." in err, "STARTTLS with tern-tlsd")
        ids = os.listdir(os.path.join(b.spool, "env"))
        is_(len(ids), 1, "one message queued on B")
        if ids:
            with open(os.path.join(b.spool, "mess", ids[0]), "rb") as f:
                stored = f.read()
            ok(stored.endswith(msg), "B stored the message byte for byte "
               "(LF again, dots unstuffed)")
            ok(b"TLS" in stored.split(b"\n\n")[0] or b"ESMTPS" in stored,
               "B's Received line records TLS")
        else:
            diag(err)
            with open(b.mxlog) as f:
                diag(f.read())
    done()


main()
