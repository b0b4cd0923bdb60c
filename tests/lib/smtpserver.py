"""A scriptable fake SMTP server for tern-remote's tests (loopback only).

    srv = SMTPServer(host="127.0.0.2", rcpt=lambda a: "550 5.1.1 no" if
                     a.startswith("bad") else "250 ok")
    srv.port                   # the port it listens on (0 = any given)
    srv.sessions               # one Session per connection, in order
    srv.stop()

Every reply can be scripted: the greeting (with a delay, or raw bytes),
the EHLO keywords, MAIL, RCPT per recipient (a function of the address),
DATA, RSET, the reply after the message, what happens after the message
(drop the connection without a reply, or after the reply to the n-th
message of the first session), STARTTLS with a certificate (and bytes
injected right after the 220), and raw bytes instead of any reply.  A
Session records the commands (bytes, CRLF stripped), the DATA content
exactly as it came over the wire (dot-stuffing and CRLF kept, the final
".\\r\\n" removed), and whether TLS was on.
"""
import os
import socket
import ssl
import subprocess
import threading
import time


def make_cert(directory, cn="mx.test"):
    """A self-signed certificate and key; returns (certfile, keyfile)."""
    cert = os.path.join(directory, "srv.crt")
    key = os.path.join(directory, "srv.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=" + cn, "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class Session:
    def __init__(self):
        self.cmds = []
        self.data = []
        self.tls = False
        self.closed = False


class SMTPServer:
    def __init__(self, host="127.0.0.1", port=0, greeting="220 fake.test "
                 "ESMTP", greeting_delay=0.0, raw_greeting=None,
                 ehlo=("PIPELINING", "8BITMIME", "SIZE 10000000"),
                 ehlo_reply=None, mail="250 2.1.0 ok", rcpt=None,
                 data="354 go ahead", end="250 2.0.0 queued as X",
                 after_data=None, cert=None, inject_after_starttls=b"",
                 helo="250 fake.test", rset="250 2.0.0 ok",
                 drop_after=None, drop_at_rcpt=None):
        self.greeting = greeting
        self.greeting_delay = greeting_delay
        self.raw_greeting = raw_greeting
        self.ehlo = list(ehlo)
        self.ehlo_reply = ehlo_reply
        self.mail = mail
        self.rcpt = rcpt or (lambda addr: "250 2.1.5 ok")
        self.data = data
        self.end = end
        self.after_data = after_data
        self.cert = cert
        self.inject = inject_after_starttls
        self.helo = helo
        self.rset = rset
        # close the first session after this many messages (replied to)
        self.drop_after = drop_after
        # close the first session, without a reply, at the first RCPT
        # after this many messages
        self.drop_at_rcpt = drop_at_rcpt
        self.sessions = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else
                                  socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        try:
            # shutdown wakes the accept() of the other thread (Linux);
            # close alone would leave the port listening
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(5)
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            s = Session()
            with self.lock:
                self.sessions.append(s)
            threading.Thread(target=self._serve, args=(conn, s),
                             daemon=True).start()

    # -- one connection ------------------------------------------------
    def _serve(self, conn, s):
        conn.settimeout(20)
        try:
            self._dialogue(conn, s)
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            s.closed = True
            try:
                conn.close()
            except OSError:
                pass

    def _send(self, conn, reply):
        if isinstance(reply, bytes):
            conn.sendall(reply)
        else:
            conn.sendall(reply.encode() + b"\r\n")

    def _ehlo_text(self):
        if self.ehlo_reply is not None:
            return self.ehlo_reply
        kws = list(self.ehlo)
        if self.cert is not None and "STARTTLS" not in kws:
            kws.append("STARTTLS")
        lines = ["fake.test"] + kws
        return "\r\n".join("250%s%s" % ("-" if i < len(lines) - 1 else " ",
                                        l) for i, l in enumerate(lines))

    def _dialogue(self, conn, s):
        if self.greeting_delay:
            time.sleep(self.greeting_delay)
        self._send(conn, self.raw_greeting if self.raw_greeting is not None
                   else self.greeting)
        if not self.greeting.startswith("220") or \
                self.raw_greeting is not None:
            time.sleep(0.05)    # let the client read it before the close
            return
        f = conn.makefile("rb")
        while True:
            line = f.readline(100000)
            if not line:
                return
            cmd = line.rstrip(b"\r\n")
            s.cmds.append(cmd)
            verb = cmd.split(b" ", 1)[0].upper()
            if verb == b"EHLO":
                self._send(conn, self._ehlo_text())
            elif verb == b"HELO":
                self._send(conn, self.helo)
            elif verb == b"STARTTLS" and self.cert is not None:
                conn.sendall(b"220 2.0.0 go ahead\r\n" + self.inject)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.cert)
                conn = ctx.wrap_socket(conn, server_side=True)
                s.tls = True
                f = conn.makefile("rb")
            elif verb == b"AUTH" and cmd.upper().startswith(b"AUTH LOGIN"):
                self._send(conn, "334 UGFzc3dvcmQ6")
                line = f.readline(100000)
                s.cmds.append(line.rstrip(b"\r\n"))
                self._send(conn, "235 2.7.0 authenticated")
            elif verb == b"AUTH":
                self._send(conn, "235 2.7.0 authenticated")
            elif verb == b"MAIL":
                self._send(conn, self.mail)
            elif verb == b"RCPT":
                if self.drop_at_rcpt is not None and \
                        s is self.sessions[0] and \
                        len(s.data) >= self.drop_at_rcpt:
                    return
                addr = cmd.split(b"<", 1)[-1].split(b">", 1)[0].decode(
                    "utf-8", "replace")
                self._send(conn, self.rcpt(addr))
            elif verb == b"DATA":
                self._send(conn, self.data)
                if self.data.startswith("354"):
                    if not self._message(conn, f, s):
                        return
            elif verb == b"RSET":
                self._send(conn, self.rset)
            elif verb == b"QUIT":
                self._send(conn, "221 2.0.0 bye")
                return
            else:
                self._send(conn, "502 5.5.2 unknown command")

    def _message(self, conn, f, s):
        data = b""
        while True:
            line = f.readline(1 << 20)
            if not line:
                return False
            if line == b".\r\n":
                break
            data += line
        s.data.append(data)
        if self.after_data == "drop":
            return False
        self._send(conn, self.end)
        if self.drop_after is not None and s is self.sessions[0] and \
                len(s.data) >= self.drop_after:
            return False
        return True
