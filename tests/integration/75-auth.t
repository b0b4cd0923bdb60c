#!/usr/bin/env python3
"""tern-checkpass (checkpassword) and tern-passwd against control/passwd;
a local user running the set-group-ID tern-checkpass waits 2 s per check
(root, the smtpd user and callers of a program that is not set-ID do
not)."""
import os
import pwd
import shutil
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib as t  # noqa: E402

for prog in ("tern-checkpass", "tern-passwd"):
    if not os.access(os.path.join(t.BIN, prog), os.X_OK):
        t.skip_all(prog + " is not built")

SHOW = 'echo "$USER|$HOME|$MAILDIR|$(id -u)|$(id -G)|$(pwd)"'


def openssl_hash(flag, pw):
    r = subprocess.run(["openssl", "passwd", flag, "-salt", "tErNsAlT", pw],
                       capture_output=True, check=True)
    return r.stdout.decode().strip()


def yescrypt_hash(pw):
    """A yescrypt hash from Python's crypt module, None without it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt
    except ImportError:
        return None
    h = crypt.crypt(pw, "$y$j9T$abcdefghijklmnopqrstu.$")
    return h if h and h.startswith("$y$") else None


def checkpass(inst, data, prog=("/bin/sh", "-c", SHOW), fd3=True):
    """Run tern-checkpass with data on fd 3; returns CompletedProcess."""
    argv = [inst.bin("tern-checkpass")] + list(prog)
    if fd3:
        argv = ["/bin/sh", "-c", 'exec "$0" "$@" 3<&0'] + argv
    return subprocess.run(argv, input=data, capture_output=True,
                          env=inst.env(), timeout=60)


def login(inst, user, pw, **kw):
    return checkpass(inst, user.encode() + b"\0" + pw.encode() +
                     b"\0" + b"1700000000\0", **kw)


def passwd(inst, args, pw):
    return inst.run(["tern-passwd"] + list(args), input=pw)


def recipients(inst):
    with open(os.path.join(inst.control, "recipients")) as f:
        return [ln for ln in f.read().splitlines() if not ln.startswith("#")]


FD3 = ["/bin/sh", "-c", 'exec "$0" "$@" 3<&0']


def timed(inst, argv, data):
    """Run argv with data on fd 3: (CompletedProcess, seconds)."""
    t0 = time.monotonic()
    r = subprocess.run(argv, input=data, capture_output=True,
                       env=inst.env(), timeout=60)
    return r, time.monotonic() - t0


def test_slow_caller(inst):
    """The installed tern-checkpass is set-group-ID ternauth: any local
    user could otherwise guess passwords with it as fast as crypt runs."""
    bad = b"sha@tern.test\0Sha-Pass\0" + b"1700000000\0"
    r, dt = timed(inst, FD3 + [inst.bin("tern-checkpass"), "/bin/true"], bad)
    t.ok(r.returncode == 1 and dt < 1.5 and b"failed check by" not in
         r.stderr, "not set-ID: a failed check is answered at once "
         "(%.2f s)" % dt)
    if not inst.root or shutil.which("setpriv") is None:
        t.ok(True, "# SKIP set-group-ID copy: needs root and setpriv")
        return
    d = os.path.join(inst.dir, "sgid")
    os.mkdir(d, 0o755)
    sg = os.path.join(d, "tern-checkpass")
    shutil.copy(inst.bin("tern-checkpass"), sg)
    os.chown(sg, 0, pwd.getpwnam("daemon").pw_gid)
    os.chmod(sg, 0o2755)
    nobody = pwd.getpwnam("nobody").pw_uid
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup",
                 "--clear-groups"]
    # set-ID for nobody: the compiled-in control directory, where
    # passwd is absent (unknown user: 1) or unreadable (111)
    r, dt = timed(inst, as_nobody + FD3 + [sg, "/bin/true"], bad)
    t.ok(r.returncode in (1, 111) and dt >= 2.0,
         "set-group-ID, run by nobody: the check takes 2 s (%.2f s, "
         "exit %d)" % (dt, r.returncode))
    t.ok(r.returncode != 1 or
         b"failed check by uid %d" % nobody in r.stderr,
         "and a failure is logged with the caller's uid (%r)" % r.stderr)
    r, dt = timed(inst, FD3 + [sg, "/bin/true"], bad)
    t.ok(r.returncode == 1 and dt < 1.5 and b"failed check by" not in
         r.stderr, "set-group-ID, run by root: at once (%.2f s)" % dt)
    try:
        pwd.getpwnam("ternd")
    except KeyError:
        t.ok(True, "# SKIP no user ternd (the compiled-in smtpd user)")
        return
    r, dt = timed(inst, ["setpriv", "--reuid=ternd", "--regid=nogroup",
                         "--clear-groups"] + FD3 + [sg, "/bin/true"], bad)
    t.ok(dt < 1.5, "set-group-ID, run by the smtpd user: at once "
         "(%.2f s)" % dt)


with t.Instance() as inst:
    sha = openssl_hash("-6", "sha-pass")
    yes = yescrypt_hash("yes-pass")
    md5 = openssl_hash("-1", "md5-pass")
    maildir = inst.add_vuser("sha@tern.test", password_hash=sha)
    home = os.path.dirname(maildir)
    if yes:
        inst.add_vuser("yes@tern.test", password_hash=yes)
    inst.add_vuser("md5@tern.test", password_hash=md5)
    inst.add_vuser("bang@tern.test", password_hash="!" + sha)
    inst.add_vuser("star@tern.test", password_hash="*")
    with open(os.path.join(inst.control, "passwd"), "a") as f:
        f.write("zero@tern.test:%s:0:0:%s/zero/Maildir/\n" % (sha, inst.home))

    # a good login runs the next program as the user, with its variables
    r = login(inst, "sha@tern.test", "sha-pass")
    t.is_(r.returncode, 0, "SHA-512: the right password exits 0")
    want = "sha@tern.test|%s|%s|%d|%d|%s" % (
        home, maildir, inst.uid, inst.gid, home if inst.root else os.getcwd())
    t.is_(r.stdout.decode().strip(), want,
          "the next program gets USER, HOME, MAILDIR" +
          (", the user's uid/gid/groups and HOME as cwd" if inst.root
           else " and keeps the caller's ids"))
    t.ok(b'login ok user="sha@tern.test"' in r.stderr,
         "a good login is logged")
    r = login(inst, "SHA@Tern.Test", "sha-pass")
    t.is_(r.returncode, 0, "the user name is compared without case")
    if yes:
        r = login(inst, "yes@tern.test", "yes-pass")
        t.is_(r.returncode, 0, "yescrypt: the right password exits 0")
        t.is_(login(inst, "yes@tern.test", "yes-pasS").returncode, 1,
              "yescrypt: a wrong password exits 1")
    else:
        t.diag("no yescrypt hash from Python; tern-passwd's is tested below")

    # bad logins: exit 1, the program is not run, the password not logged
    for user, pw, why in (
            ("sha@tern.test", "Sha-Pass", "wrong password"),
            ("sha@tern.test", "", "wrong password"),
            ("ghost@tern.test", "sha-pass", "unknown user"),
            ("", "sha-pass", "unknown user"),
            ("md5@tern.test", "md5-pass", "hash type refused"),
            ("bang@tern.test", "sha-pass", "account locked"),
            ("star@tern.test", "*", "account locked"),
            ("zero@tern.test", "sha-pass", "refusing uid 0")):
        r = login(inst, user, pw)
        err = r.stderr.decode()
        t.ok(r.returncode == 1 and r.stdout == b"" and why in err and
             (pw == "" or pw not in err.replace(user, "")),
             "%s / %r: exit 1 (%s), nothing run, password not logged" %
             (user or "(empty user)", pw, why))
    r = login(inst, "a\x01b\"c@tern.test", "x")
    t.ok(b'user="a\\x01b\\"c@tern.test"' in r.stderr,
         "the user name is escaped in the log")

    # an unknown user costs a crypt(3) too (yescrypt, like new hashes)
    r = passwd(inst, ["-u", str(inst.uid), "-g", str(inst.gid), "-m",
                      os.path.join(inst.home, "t", "Maildir") + "/",
                      "timing@tern.test"], b"timing-pass\n")
    def elapsed(user):
        start = time.monotonic()
        login(inst, user, "not-it")
        return time.monotonic() - start
    # taken in turns, the fastest of each: load on the machine (other
    # tests) only adds time, and hits both alike
    times = [(elapsed("timing@tern.test"), elapsed("nobody@tern.test"))
             for _ in range(5)]
    known, unknown = (min(x) for x in zip(*times))
    t.ok(unknown > known * 0.5,
         "an unknown user takes about as long as a wrong password "
         "(%.3fs vs %.3fs)" % (unknown, known))

    test_slow_caller(inst)

    # misuse: exit 2
    r = checkpass(inst, b"sha@tern.test\0sha-pass")
    t.is_(r.returncode, 2, "an unterminated password on fd 3: exit 2")
    r = checkpass(inst, b"sha@tern.test")
    t.is_(r.returncode, 2, "no NUL at all on fd 3: exit 2")
    r = checkpass(inst, b"x" * 600 + b"\0p\0")
    t.is_(r.returncode, 2, "a user longer than 512 bytes: exit 2")
    r = checkpass(inst, b"sha@tern.test\0" + b"p" * 500 + b"\0")
    t.is_(r.returncode, 2, "a password that ends past 512 bytes: exit 2")
    r = checkpass(inst, b"sha@tern.test\0sha-pass\0\0", prog=())
    t.is_(r.returncode, 2, "no program to run: exit 2")
    r = checkpass(inst, b"", fd3=False)
    t.is_(r.returncode, 2, "fd 3 not open: exit 2")
    r = checkpass(inst, b"sha@tern.test\0sha-pass\0\0",
                  prog=("/nonexistent/prog",))
    t.is_(r.returncode, 111, "a program that cannot run: exit 111")
    os.rename(os.path.join(inst.control, "passwd"),
              os.path.join(inst.control, "passwd.x"))
    os.mkdir(os.path.join(inst.control, "passwd"))
    t.is_(login(inst, "sha@tern.test", "sha-pass").returncode, 111,
          "an unreadable passwd: exit 111")
    os.rmdir(os.path.join(inst.control, "passwd"))
    os.rename(os.path.join(inst.control, "passwd.x"),
              os.path.join(inst.control, "passwd"))

    # tern-passwd: add and change users from stdin; recipients follows
    pw_path = os.path.join(inst.control, "passwd")
    os.chmod(pw_path, 0o640)
    vmd = os.path.join(inst.home, "new", "Maildir") + "/"
    os.makedirs(vmd)
    if inst.root:
        inst.chown_tree(os.path.join(inst.home, "new"))
    r = passwd(inst, ["-u", str(inst.uid), "-g", str(inst.gid), "-m", vmd,
                      "New@Tern.Test"], b"first pass\n")
    t.is_(r.returncode, 0, "tern-passwd adds a user (password on stdin)")
    t.ok(b"added new@tern.test" in r.stderr, "and says so")
    with open(pw_path) as f:
        line = [ln for ln in f if ln.startswith("new@tern.test:")]
    t.ok(len(line) == 1 and line[0].split(":")[1].startswith("$y$j9T$"),
         "the new entry has a yescrypt hash")
    t.is_(os.stat(pw_path).st_mode & 0o7777, 0o640,
          "passwd keeps its mode")
    t.ok("new@tern.test" in recipients(inst) and
         "sha@tern.test" in recipients(inst),
         "recipients is compiled with every address")
    t.is_(login(inst, "new@tern.test", "first pass").returncode, 0,
          "the new user can log in (tern-passwd's yescrypt hash)")
    r = passwd(inst, ["new@tern.test"], b"second pass\r\nignored\n")
    t.is_(r.returncode, 0, "tern-passwd changes a password")
    t.ok(b"changed new@tern.test" in r.stderr, "and says so")
    t.is_(login(inst, "new@tern.test", "first pass").returncode, 1,
          "the old password no longer works")
    t.is_(login(inst, "new@tern.test", "second pass").returncode, 0,
          "the new one does (one line, CR dropped)")
    with open(pw_path) as f:
        t.ok(f.read().count("new@tern.test:") == 1,
             "the entry is replaced, not added again")
    r = passwd(inst, ["nobody2@tern.test"], b"pw\n")
    t.is_(r.returncode, 100, "a new user without -u -g -m: exit 100")
    r = passwd(inst, ["-u", "0", "-g", "0", "-m", vmd, "r@tern.test"],
               b"pw\n")
    t.is_(r.returncode, 100, "-u 0: exit 100")
    r = passwd(inst, ["new@tern.test"], b"\n")
    t.is_(r.returncode, 100, "an empty password: exit 100")
    r = passwd(inst, ["new@tern.test"], b"")
    t.is_(r.returncode, 100, "no password at all: exit 100")
    r = passwd(inst, ["-m", "/a:b/", "new@tern.test"], b"pw\n")
    t.is_(r.returncode, 100, "a ':' in the Maildir: exit 100")
    r = passwd(inst, ["new@tern.test", "extra"], b"pw\n")
    t.is_(r.returncode, 100, "two addresses: exit 100")
    t.is_(login(inst, "new@tern.test", "second pass").returncode, 0,
          "refused changes left the password alone")
    t.ok(not [n for n in os.listdir(inst.control) if ".tmp" in n],
         "no temporary file is left in the control directory")

    # under inetd stderr is the client's connection: tern-checkpass
    # must log to syslog then, never to the client
    import socket
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    peer = socket.create_connection(ls.getsockname(), timeout=10)
    conn, _ = ls.accept()
    data = b"sha@tern.test\0wrong\0" + b"1700000000\0"
    argv = ["/bin/sh", "-c", 'exec "$0" "$@" 3<&0',
            inst.bin("tern-checkpass"), "/bin/true"]
    r = subprocess.run(argv, input=data, stdout=subprocess.DEVNULL,
                       stderr=conn, env=inst.env(), timeout=60)
    conn.close()
    got = peer.recv(4096)
    peer.close()
    ls.close()
    t.ok(r.returncode == 1 and got == b"",
         "stderr a TCP socket (inetd): nothing is logged to the client "
         "(exit %d, %r)" % (r.returncode, got))
    r = subprocess.run(argv, input=data, capture_output=True,
                       env=inst.env(), timeout=60)
    t.ok(r.returncode == 1 and b"login failed" in r.stderr,
         "stderr a pipe: the failure is logged there (%r)" % r.stderr)

t.done()
