"""A private NSD on 127.0.0.1 serving tern's DNS test zones.

    with testdns.TestDNS() as dns:
        dns.port            # udp+tcp port on 127.0.0.1
        dns.trust_anchors   # file of DS records for libunbound (secure.test,
                            # bogus.test)
        dns.tlsa_hex        # the association data of mx1's TLSA record
        dns.dane_cert       # (certfile, keyfile) for CN mx.dane.test, made
                            # at start; dane.test's TLSA 3 1 1 matches it
        dns.dane_tlsa_hex   # that record's data: SHA-256 of the key's SPKI
        dns.halt()          # stop answering (the files stay), e.g. to show
                            # that a later answer came from a cache

Zones (every name below also exists with a final dot):

  secure.test   signed (NSEC), trust anchor in dns.trust_anchors
    @        MX 10 mx1, 20 mx2, 20 mx3, 30 under_score (invalid), 40 9.9.9.9.
             (numeric last label: invalid)
    mx1      A 127.0.0.2, AAAA ::1; _25._tcp.mx1 TLSA 3 1 1 tlsa_hex
    mx2      A 127.0.0.3, A 127.0.0.4
    mx3      AAAA ::1 only
    nomx     A 127.0.0.5 (implicit MX)
    nullmx   MX 0 . and A 127.0.0.6 (RFC 7505)
    onlytxt  TXT only (NODATA for MX, A and AAAA)
    cnamemx  MX 10 alias; alias CNAME mx1
    allbad   MX 10 _bad, MX 20 -dash (no valid host name)
  plain.test    unsigned (insecure answers)
    @        MX 5 mail; mail A 127.0.0.7
    nomx6    AAAA ::1 only (implicit MX through AAAA)
    _25._tcp.mail TLSA 3 1 1 tlsa_hex
  bogus.test    signed, signatures expired in 2020: DNSSEC bogus
    @        MX 10 mx; mx A 127.0.0.8
  dane.test     signed: MX 10 mx; mx A 127.0.0.2;
             _25._tcp.mx TLSA 3 1 1 dane_tlsa_hex (matches dane_cert)
  danebogus.test  as dane.test, but the TLSA record was changed after
             signing: the TLSA answer is DNSSEC bogus, MX and A are secure
  servfail.test  a zone whose file is missing: NSD answers SERVFAIL

Nothing listens anywhere but 127.0.0.1.  Skips (ternlib.skip_all) when
nsd or ldns-signzone are not installed.
"""
import hashlib
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

TLSA_HEX = "3f" * 32

ZONES = {
    "secure.test": """
@        MX 10 mx1
@        MX 20 mx2
@        MX 20 mx3
@        MX 30 under_score
@        MX 40 9.9.9.9.
mx1      A 127.0.0.2
mx1      AAAA ::1
_25._tcp.mx1 TLSA 3 1 1 {tlsa}
mx2      A 127.0.0.3
mx2      A 127.0.0.4
mx3      AAAA ::1
nomx     A 127.0.0.5
nullmx   MX 0 .
nullmx   A 127.0.0.6
onlytxt  TXT "nothing else here"
cnamemx  MX 10 alias
alias    CNAME mx1
allbad   MX 10 _bad
allbad   MX 20 -dash
""",
    "plain.test": """
@        MX 5 mail
mail     A 127.0.0.7
nomx6    AAAA ::1
_25._tcp.mail TLSA 3 1 1 {tlsa}
""",
    "bogus.test": """
@        MX 10 mx
mx       A 127.0.0.8
""",
    "dane.test": """
@        MX 10 mx
mx       A 127.0.0.2
_25._tcp.mx TLSA 3 1 1 {dane}
""",
    "danebogus.test": """
@        MX 10 mx
mx       A 127.0.0.2
_25._tcp.mx TLSA 3 1 1 {dane}
""",
}
SIGNED = {"secure.test": None, "bogus.test": ("20200101000000",
                                              "20200201000000"),
          "dane.test": None, "danebogus.test": None}
# Signed zones whose TLSA data is replaced after signing (bogus TLSA).
TAMPERED = {"danebogus.test"}


def _free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        port = random.randint(20000, 60000)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", port))
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


def drop_default_route(instance):
    """Remove ternlib's catch-all smtproutes, so delivery looks up MX."""
    path = os.path.join(instance.control, "smtproutes")
    try:
        with open(path) as f:
            if f.read().strip() == ":[127.0.0.1]:1":
                os.unlink(path)
    except FileNotFoundError:
        pass


def dead_port():
    """A port on 127.0.0.1 where nothing listens (for timeouts)."""
    return _free_port()


def query(port, name, qtype=6, timeout=0.5):
    """One UDP query to 127.0.0.1:port; the rcode, or None on timeout."""
    qid = random.randint(0, 65535)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        pkt += bytes([len(label)]) + label.encode()
    pkt += b"\0" + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
    except OSError:
        return None
    finally:
        s.close()
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return None
    return data[3] & 0x0f


class TestDNS:
    def __init__(self):
        for cmd in ("nsd", "ldns-keygen", "ldns-signzone"):
            if shutil.which(cmd) is None and not os.path.exists(
                    "/usr/sbin/" + cmd):
                raise FileNotFoundError(cmd)
        self.dir = tempfile.mkdtemp(prefix="tern-dns-")
        os.chmod(self.dir, 0o755)
        self.port = _free_port()
        self.tlsa_hex = TLSA_HEX
        self.trust_anchors = os.path.join(self.dir, "trust-anchors")
        self.proc = None
        try:
            self._dane_key()
            self._write_zones()
            self._write_conf()
            self._start()
        except BaseException:
            self.stop()
            raise

    def _dane_key(self):
        """A key and self-signed certificate for mx.dane.test, and the
        data of its TLSA 3 1 1 record (SHA-256 of the DER SPKI)."""
        cert = os.path.join(self.dir, "dane.crt")
        key = os.path.join(self.dir, "dane.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "2", "-subj", "/CN=mx.dane.test",
                        "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        spki = subprocess.run(["openssl", "pkey", "-in", key, "-pubout",
                               "-outform", "DER"], check=True,
                              capture_output=True).stdout
        self.dane_cert = (cert, key)
        self.dane_tlsa_hex = hashlib.sha256(spki).hexdigest()

    def _zone_text(self, zone, body):
        head = ("$ORIGIN %s.\n$TTL 300\n"
                "@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n"
                "@ NS ns.%s.\nns A 127.0.0.1\n" % (zone, zone, zone, zone))
        return head + body.format(tlsa=TLSA_HEX, dane=self.dane_tlsa_hex)

    def _tamper(self, path):
        """Change the TLSA data of a signed zone file, keeping its RRSIG:
        the signature no longer matches and validation fails."""
        with open(path) as f:
            text = f.read()
        out, n = [], 0
        for line in text.splitlines():
            f = line.split()
            if len(f) >= 5 and "TLSA" in f and f[-1].lower() == \
                    self.dane_tlsa_hex:
                line = line[:line.rindex(f[-1])] + "5a" * 32
                n += 1
            out.append(line)
        if n != 1:
            raise RuntimeError("no TLSA record to tamper with in " + path)
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")

    def _sign(self, zone, path, validity):
        keys = os.path.join(self.dir, "keys")
        os.makedirs(keys, exist_ok=True)
        names = []
        for extra in (["-k"], []):
            out = subprocess.run(
                ["ldns-keygen", "-a", "ECDSAP256SHA256"] + extra + [zone],
                cwd=keys, capture_output=True, check=True, text=True)
            names.append(os.path.join(keys, out.stdout.strip()))
        ksk, zsk = names
        argv = ["ldns-signzone", "-f", path + ".signed"]
        if validity:
            argv += ["-i", validity[0], "-e", validity[1]]
        subprocess.run(argv + [path, zsk, ksk], check=True,
                       capture_output=True)
        with open(ksk + ".ds") as f, open(self.trust_anchors, "a") as ta:
            ta.write(f.read())
        return path + ".signed"

    def _write_zones(self):
        self.zonefiles = {}
        open(self.trust_anchors, "w").close()
        for zone, body in ZONES.items():
            path = os.path.join(self.dir, zone + ".zone")
            with open(path, "w") as f:
                f.write(self._zone_text(zone, body))
            if zone in SIGNED:
                path = self._sign(zone, path, SIGNED[zone])
            if zone in TAMPERED:
                self._tamper(path)
            self.zonefiles[zone] = path
        # servfail.test: declared, but its file never exists.
        self.zonefiles["servfail.test"] = os.path.join(self.dir, "missing")

    def _write_conf(self):
        d = self.dir
        conf = ["server:",
                "  ip-address: 127.0.0.1",
                "  port: %d" % self.port,
                "  do-ip6: no",
                "  server-count: 1",
                "  username: \"\"",
                "  chroot: \"\"",
                "  database: \"\"",
                "  zonelistfile: \"%s/zone.list\"" % d,
                "  xfrdfile: \"%s/xfrd.state\"" % d,
                "  xfrdir: \"%s\"" % d,
                "  pidfile: \"%s/nsd.pid\"" % d,
                "  logfile: \"%s/nsd.log\"" % d,
                "  verbosity: 1",
                "remote-control:",
                "  control-enable: no"]
        for zone, path in self.zonefiles.items():
            conf += ["zone:", "  name: \"%s\"" % zone,
                     "  zonefile: \"%s\"" % path]
        self.conf = os.path.join(d, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")

    def _start(self):
        nsd = shutil.which("nsd") or "/usr/sbin/nsd"
        self.proc = subprocess.Popen(
            [nsd, "-d", "-c", self.conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("nsd exited: " + self.log())
            if query(self.port, "plain.test", timeout=0.2) == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("nsd did not answer: " + self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "nsd.log")) as f:
                return f.read()
        except OSError:
            return ""

    def forwarder(self):
        return "127.0.0.1@%d" % self.port

    def configure(self, instance, trust=True, timeout=None):
        """Point a ternlib Instance's tern-resolve at this server."""
        instance.set("dnsresolvers", self.forwarder())
        drop_default_route(instance)
        instance.set("dnstrustanchor", self.trust_anchors if trust else
                     "none")
        if timeout is not None:
            instance.set("dnstimeout", str(timeout))

    def halt(self):
        """Stop NSD; its files stay until stop()."""
        self._kill()

    def stop(self):
        self._kill()
        if os.environ.get("TERN_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()
