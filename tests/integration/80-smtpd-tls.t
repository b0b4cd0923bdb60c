#!/usr/bin/env python3
"""tern-smtpd with TLS from tern-tlsd: STARTTLS (smtplib, swaks, openssl
s_client), plaintext pipelined after STARTTLS is never executed, the
session is reset after the handshake, implicit TLS, AUTH PLAIN and LOGIN
through the real tern-checkpass, and the Received line's protocol and
cipher.
"""
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ternlib import Instance, ok, is_, diag, done, skip_all  # noqa

ROOT = os.geteuid() == 0
QID = re.compile(rb"queued as ([0-9a-v]{16})")
PASSWORD = "s3cret pass"


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


class Server:
    n = 0

    def __init__(self, t, tls_args, smtpd_args=()):
        Server.n += 1
        self.logpath = os.path.join(t.dir, "smtpd.%d.log" % Server.n)
        argv = []
        if ROOT:
            argv += ["-R"]
        argv += ["127.0.0.1", "0", t.bin("tern-tlsd"), "-c", t.certs]
        if ROOT:
            argv += ["-U", "nobody", "-u", "nobody"]
        argv += list(tls_args) + [t.bin("tern-smtpd")] + list(smtpd_args)
        self.p, self.port = t.listen(argv, self.logpath)

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")


def setup(t):
    t.certs = os.path.join(t.dir, "certs")
    os.makedirs(t.certs)
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", os.path.join(t.certs, "default.key"),
                        "-out", os.path.join(t.certs, "default.crt"),
                        "-subj", "/CN=tern.test", "-days", "2"],
                       capture_output=True)
    if r.returncode != 0:
        skip_all("openssl cannot make a certificate")
    h = subprocess.run(["openssl", "passwd", "-6", PASSWORD],
                       capture_output=True, text=True).stdout.strip()
    t.add_vuser("u@tern.test")
    t.add_vuser("p@tern.test", password_hash=h)
    t.set("recipients", "u@tern.test\np@tern.test")
    t.set("checkpassword", t.bin("tern-checkpass"))
    t.set("authfaildelay", "0")


def spool_ids(t):
    return sorted(os.listdir(os.path.join(t.spool, "env")))


def mess(t, qid):
    with open(os.path.join(t.spool, "mess", qid), "rb") as f:
        return f.read()


def recv_until(s, pat, limit=65536):
    data = b""
    while not re.search(pat, data) and len(data) < limit:
        b = s.recv(4096)
        if not b:
            break
        data += b
    return data


def test_starttls_smtplib(t, mx):
    s = smtplib.SMTP("127.0.0.1", mx.port, timeout=20)
    s.ehlo("c.example")
    ok(s.has_extn("starttls") and not s.has_extn("auth"),
       "before TLS: STARTTLS offered, AUTH not")
    code, _ = s.starttls(context=ctx())
    is_(code, 220, "STARTTLS: 220")
    s.ehlo("c.example")
    ok(not s.has_extn("starttls") and s.has_extn("auth"),
       "after TLS: no STARTTLS, AUTH offered")
    s.mail("a@example.org")
    s.rcpt("u@tern.test")
    code, resp = s.data(b"Subject: tls\r\n\r\nhi\r\n")
    s.quit()
    m = QID.search(resp)
    ok(code == 250 and m is not None, "a message over STARTTLS is queued")
    data = mess(t, m.group(1).decode()) if m else b""
    ok(re.search(rb"with ESMTPS \(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)"
                 rb"\n\tid " + (m.group(1) if m else b"x"), data) is not None,
       "Received: ESMTPS with the TLS version and cipher")


def test_pipelined_after_starttls(t, mx):
    before = spool_ids(t)
    s = socket.create_connection(("127.0.0.1", mx.port), timeout=10)
    recv_until(s, rb"220 .*\r\n")
    s.sendall(b"EHLO c\r\n")
    recv_until(s, rb"250 [^\r]*\r\n")
    s.sendall(b"STARTTLS\r\nMAIL FROM:<x@y.example>\r\n"
              b"RCPT TO:<u@tern.test>\r\nDATA\r\n")
    plain = recv_until(s, rb"220 [^\r]*\r\n")
    is_(plain, b"220 2.0.0 Ready to start TLS\r\n",
        "only the 220 comes back in plaintext")
    ts = ctx().wrap_socket(s, server_hostname="tern.test")
    ts.sendall(b"RCPT TO:<u@tern.test>\r\n")
    first = recv_until(ts, rb"\r\n")
    ok(first.startswith(b"503 "), "after the handshake the pipelined MAIL "
       "was never executed: RCPT gets 503 (%r)" % first[:40])
    ts.sendall(b"MAIL FROM:<a@example.org>\r\n")
    r = recv_until(ts, rb"\r\n")
    ok(r.startswith(b"503 5.5.1 Send EHLO"), "the session was reset: MAIL "
       "needs a new EHLO")
    ts.sendall(b"QUIT\r\n")
    recv_until(ts, rb"221 ")
    ts.close()
    is_(spool_ids(t), before, "nothing was queued")


def test_swaks_openssl(t, mx, sub):
    if shutil.which("swaks") is None:
        ok(True, "# SKIP swaks not installed")
    else:
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                            str(sub.port), "--tls", "--auth", "LOGIN",
                            "--auth-user", "p@tern.test", "--auth-password",
                            PASSWORD, "--from", "p@tern.test", "--to",
                            "u@tern.test", "--body", "swaks tls"],
                           capture_output=True, timeout=60)
        m = QID.search(r.stdout)
        ok(r.returncode == 0 and m is not None and
           b"with ESMTPSA" in mess(t, m.group(1).decode()),
           "swaks --tls --auth LOGIN on submission: queued, ESMTPSA")
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                            str(sub.port), "--tls", "--auth", "PLAIN",
                            "--auth-user", "p@tern.test", "--auth-password",
                            "wrong", "--from", "p@tern.test", "--to",
                            "u@tern.test"], capture_output=True, timeout=60)
        ok(r.returncode != 0 and b"535 5.7.8" in r.stdout,
           "swaks with a wrong password: 535 5.7.8")
    r = subprocess.run(["openssl", "s_client", "-connect",
                        "127.0.0.1:%d" % mx.port, "-starttls", "smtp",
                        "-brief", "-crlf", "-ign_eof"], input=b"QUIT\n",
                       capture_output=True, timeout=30)
    ok(r.returncode == 0 and b"CONNECTION ESTABLISHED" in r.stderr and
       b"221 2.0.0" in r.stdout, "openssl s_client -starttls smtp")


def test_submission_auth(t, sub):
    s = smtplib.SMTP("127.0.0.1", sub.port, timeout=20)
    s.ehlo("c")
    c = s.docmd("AUTH PLAIN AHBAdGVybi50ZXN0AHg=")
    m = s.docmd("MAIL FROM:<p@tern.test>")
    ok(c[0] == 538 and m[0] == 530, "submission before TLS: AUTH 538, "
       "MAIL 530")
    s.starttls(context=ctx())
    s.ehlo("c")
    code = s.docmd("AUTH PLAIN AHBAdGVybi50ZXN0AG5vdCBpdA==")[0]
    is_(code, 535, "tern-checkpass refuses a wrong password: 535")
    s.user, s.password = "p@tern.test", PASSWORD
    code, _ = s.auth("PLAIN", s.auth_plain)
    is_(code, 235, "tern-checkpass accepts the right one: 235")
    r1 = s.docmd("MAIL FROM:<u@tern.test>")
    s.docmd("RSET")
    s.mail("p@tern.test")
    s.rcpt("v@remote.example")
    code, resp = s.data(b"Subject: sub\r\n\r\nx\r\n")
    s.quit()
    m = QID.search(resp)
    ok(r1[0] == 553 and m is not None and
       b"with ESMTPSA" in mess(t, m.group(1).decode()),
       "own sender only; relays when authenticated; ESMTPSA")


def test_implicit(t, imp):
    s = smtplib.SMTP_SSL("127.0.0.1", imp.port, timeout=20, context=ctx())
    s.ehlo("c")
    ok(not s.has_extn("starttls") and s.has_extn("auth"),
       "implicit TLS: no STARTTLS, AUTH offered")
    s.user, s.password = "p@tern.test", PASSWORD
    code = s.auth("LOGIN", s.auth_login, initial_response_ok=False)[0]
    is_(code, 235, "AUTH LOGIN over implicit TLS")
    s.mail("p@tern.test")
    s.rcpt("u@tern.test")
    code, resp = s.data(b"Subject: 465\r\n\r\nx\r\n")
    s.quit()
    m = QID.search(resp)
    ok(m is not None and re.search(rb"with ESMTPSA \(using TLSv1\.[23] ",
                                   mess(t, m.group(1).decode())),
       "a message over implicit TLS: ESMTPSA with the TLS version")


def main():
    with Instance() as t:
        for p in ("tern-tlsd", "tern-checkpass", "tern-listen"):
            if not os.path.exists(t.bin(p)):
                skip_all("%s not built" % p)
        if shutil.which("openssl") is None:
            skip_all("no openssl")
        setup(t)
        mx = Server(t, ["-s"])
        sub = Server(t, ["-s"], ["-m", "submission"])
        imp = Server(t, [], ["-m", "submission"])
        test_starttls_smtplib(t, mx)
        test_pipelined_after_starttls(t, mx)
        test_submission_auth(t, sub)
        test_swaks_openssl(t, mx, sub)
        test_implicit(t, imp)
        ok("tls" in imp.log(), "implicit TLS noted in the session log")
    done()


main()
