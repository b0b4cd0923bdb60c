"""tern-smtpd under tern-listen on 127.0.0.1 port 0, for the smtpd tests."""
import os
import smtplib
import socket

ROOT = os.geteuid() == 0


class SmtpdServer:
    """tern-listen on 127.0.0.1 port 0 running tern-smtpd [args]."""
    RAW_TIMEOUT = 10

    def __init__(self, t, args=(), env=None):
        self.t = t
        self.logpath = os.path.join(t.dir, "smtpd.%d.log" % len(t.procs))
        argv = ["-U", "nobody"] if ROOT else []
        argv += ["127.0.0.1", "0", t.bin("tern-smtpd")] + list(args)
        self.p, self.port = t.listen(argv, self.logpath, env)

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=20)
        s.ehlo("client.example")
        return s

    def raw(self, data, timeout=None):
        """Send data in one write; read everything until the server closes."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.settimeout(timeout or self.RAW_TIMEOUT)
        out = b""
        try:
            out += s.recv(4096)          # the greeting
            s.sendall(data)
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except socket.timeout:
            out += b"<timeout>"
        except (ConnectionResetError, BrokenPipeError):
            out += b"<reset>"
        s.close()
        return out
