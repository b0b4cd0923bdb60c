#!/usr/bin/env python3
"""Delivery to system users (getpwnam) of a local domain.

The users come from a private passwd file through nss_wrapper
(LD_PRELOAD, Debian's libnss-wrapper), so the test needs no change to
the machine's /etc/passwd: a user with ~/Maildir/, an extension, a
.forward with a pipe, and a uid-0 account, which is never delivered to.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import (Instance, ok, is_, done, message, wait_for,  # noqa
                     skip_all)

WRAP = None
for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
          "/usr/lib64", "/usr/lib"):
    if os.path.exists(os.path.join(d, "libnss_wrapper.so")):
        WRAP = os.path.join(d, "libnss_wrapper.so")
        break
if WRAP is None:
    skip_all("libnss-wrapper is not installed")

with Instance() as t:
    home = os.path.join(t.home, "sysu")
    os.makedirs(os.path.join(home, "Maildir"))
    for s in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(home, "Maildir", s))
    pipe_out = os.path.join(home, "piped")
    with open(os.path.join(home, ".forward+pipe"), "w") as f:
        f.write('|cat > "%s"; echo "$RECIPIENT $EXT" >> "%s"\n'
                % (pipe_out, pipe_out))
    os.chmod(os.path.join(home, ".forward+pipe"), 0o600)
    if t.root:
        t.chown_tree(home)
    pw = os.path.join(t.dir, "passwd")
    gr = os.path.join(t.dir, "group")
    with open(pw, "w") as f:
        f.write("sysu:x:%d:%d:System User:%s:/bin/sh\n" % (t.uid, t.gid, home))
        f.write("toor:x:0:0:root again:%s:/bin/sh\n" % home)
        # The real accounts the programs drop to (nobody as root).
        f.write(open("/etc/passwd").read())
    with open(gr, "w") as f:
        f.write("sysg:x:%d:\n" % t.gid)
        f.write(open("/etc/group").read())
    asan = os.environ.get("ASAN_OPTIONS", "")
    t.start_send({"LD_PRELOAD": WRAP, "NSS_WRAPPER_PASSWD": pw,
                  "NSS_WRAPPER_GROUP": gr, "NSS_WRAPPER_DISABLE_DEEPBIND": "1",
                  "ASAN_OPTIONS": (asan + ":" if asan else "") +
                  "verify_asan_link_order=0"})
    md = os.path.join(home, "Maildir")

    rc, _ = t.queue(message(subject="sys", to="sysu@tern.test"),
                    "s@example.org", ["sysu@tern.test", "SysU+news@tern.test"])
    is_(rc, 0, "queued to a system user and its extension")
    ok(wait_for(lambda: len(t.maildir_files(md)) == 2),
       "both copies are in ~/Maildir/new")
    msgs = t.read_new(md)
    ok(all(m.startswith(b"Return-Path: <s@example.org>\n") for m in msgs),
       "Return-Path is the first line")
    dts = sorted(m.split(b"\n")[1] for m in msgs)
    is_(dts, [b"Delivered-To: SysU+news@tern.test",
              b"Delivered-To: sysu@tern.test"],
        "Delivered-To names each recipient (local part case kept)")

    rc, _ = t.queue(message(subject="piped"), "s@example.org",
                    ["sysu+pipe@tern.test"])
    ok(wait_for(lambda: os.path.exists(pipe_out) and
                b"sysu+pipe@tern.test pipe" in open(pipe_out, "rb").read()),
       ".forward+ext runs its command with RECIPIENT and EXT set")
    is_(len(t.maildir_files(md)), 2, "the forward file replaced the Maildir")

    rc, _ = t.queue(message(subject="root"), "s@example.org",
                    ["toor@tern.test"])
    ok(wait_for(lambda: "toor@tern.test" in t.logtext() and
                "deferred" in t.logtext()),
       "a uid-0 system user is deferred, never delivered")
    ok(not t.queue_empty(), "and its message stays queued")
    t.stop_send()
done()
