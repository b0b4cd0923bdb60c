#!/usr/bin/env python3
# tern-resolve against a private NSD on 127.0.0.1: the command line, the
# pipe protocol, every classification, DNSSEC, timeouts.  Every forwarder
# configured here is on 127.0.0.1: no packet leaves the machine.
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import testdns  # noqa: E402
from ternlib import Instance, diag, done, is_, ok, skip_all  # noqa: E402

PROG = "tern-resolve"


def cli(t, qtype, name):
    """Run the command form; (exit, first line, other lines, stderr)."""
    r = t.run([PROG, "-u", "nobody", qtype, name])
    out = r.stdout.decode().splitlines()
    return r.returncode, out[0] if out else "", out[1:], r.stderr.decode()


def frame(rid, qtype, name):
    return b"%d\0%s\0%s\0\0" % (rid, qtype.encode(), name.encode())


def parse_replies(data):
    """Reply frames -> {id: (letter, status, text, [records])}."""
    recs = data.split(b"\0")
    out, i = {}, 0
    while i + 4 < len(recs):
        rid, letter, status, text = recs[i:i + 4]
        i += 4
        rest = []
        while recs[i] != b"":
            rest.append(recs[i].decode())
            i += 1
        i += 1
        out[int(rid)] = (letter.decode(), status.decode(), text.decode(),
                         rest)
    return out


def pipe(t, data, timeout=30):
    p = subprocess.run([t.bin(PROG), "-u", "nobody"], input=data,
                       capture_output=True, env=t.env(), timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode()


def check_cli(t, dns):
    rc, head, recs, err = cli(t, "mx", "secure.test")
    is_(rc, 0, "mx: exit 0 for a domain with MX records")
    ok(head.endswith("(secure)"), "mx: signed zone answers secure")
    # equal preferences come in the order the resolver gave them
    ok(recs[0] == "10 mx1.secure.test" and sorted(recs[1:]) ==
       ["20 mx2.secure.test", "20 mx3.secure.test"],
        "mx: sorted by preference, invalid host names (under_score, "
        "9.9.9.9) skipped")
    rc, head, recs, _ = cli(t, "mx", "nomx.secure.test")
    ok(rc == 0 and "implicit MX" in head and recs == ["0 nomx.secure.test"],
       "mx: no MX but an address gives the implicit MX at preference 0")
    rc, head, recs, _ = cli(t, "mx", "nomx6.plain.test")
    ok(rc == 0 and recs == ["0 nomx6.plain.test"] and "(insecure)" in head,
       "mx: an AAAA record alone also gives the implicit MX, insecure")
    rc, head, recs, _ = cli(t, "mx", "nullmx.secure.test")
    ok(rc == 100 and " D 5.1.10 " in head and recs == [],
       "mx: null MX is permanent 5.1.10, no hosts")
    rc, head, _, _ = cli(t, "mx", "onlytxt.secure.test")
    ok(rc == 100 and " D 5.1.2 " in head,
       "mx: NODATA for MX and addresses is permanent 5.1.2")
    rc, head, _, _ = cli(t, "mx", "nosuch.secure.test")
    ok(rc == 100 and " D 5.1.2 " in head and "NXDOMAIN" in head,
       "mx: NXDOMAIN is permanent 5.1.2")
    rc, head, _, _ = cli(t, "mx", "allbad.secure.test")
    ok(rc == 100 and " D 5.4.4 " in head,
       "mx: only invalid MX names is permanent 5.4.4, no address fallback")
    rc, head, _, _ = cli(t, "mx", "x.servfail.test")
    ok(rc == 111 and " Z 4.4.3 " in head and "SERVFAIL" in head,
       "mx: SERVFAIL is temporary 4.4.3")
    rc, head, recs, _ = cli(t, "mx", "bogus.test")
    ok(rc == 111 and " Z 4.4.3 " in head and head.endswith("(bogus)")
       and recs == [], "mx: DNSSEC-bogus answer is temporary, no data")
    rc, head, recs, _ = cli(t, "a", "bogus.test")
    ok(rc == 111 and recs == [],
       "a: bogus zone gives no address fallback either")
    rc, head, recs, _ = cli(t, "mx", "cnamemx.secure.test")
    is_(recs, ["10 alias.secure.test"], "mx: MX target kept as published")
    rc, head, recs, _ = cli(t, "a", "alias.secure.test")
    ok(rc == 0 and recs == ["canonical name mx1.secure.test", "127.0.0.2"],
       "a: an MX host that is a CNAME is followed, canonical name shown")
    rc, head, recs, _ = cli(t, "addr", "mx1.secure.test")
    ok(rc == 0 and sorted(recs) == ["127.0.0.2", "::1"],
       "addr: AAAA and A together")
    rc, head, recs, _ = cli(t, "aaaa", "mx2.secure.test")
    ok(rc == 100 and " D 5.1.2 " in head, "aaaa: NODATA is permanent")
    rc, head, recs, _ = cli(t, "tlsa", "_25._tcp.mx1.secure.test")
    ok(rc == 0 and head.endswith("(secure)") and
       recs == ["3 1 1 " + dns.tlsa_hex], "tlsa: signed records are secure")
    rc, head, recs, _ = cli(t, "tlsa", "_25._tcp.mail.plain.test")
    ok(rc == 0 and head.endswith("(insecure)") and len(recs) == 1,
       "tlsa: unsigned records are insecure")
    rc, head, recs, _ = cli(t, "tlsa", "_25._tcp.mx2.secure.test")
    ok(rc == 0 and "no TLSA" in head and head.endswith("(secure)") and
       recs == [], "tlsa: none, with a validated denial")
    rc, head, _, _ = cli(t, "mx", "bad_name.secure.test")
    ok(rc == 100 and "invalid domain name" in head,
       "mx: a name that is no host name is refused, 5.1.2")
    r = t.run([PROG, "-u", "nobody", "txt", "secure.test"])
    is_(r.returncode, 100, "unknown type on the command line: usage, 100")


def check_pipe(t):
    names = [("mx", "secure.test", "K"), ("mx", "nullmx.secure.test", "D"),
             ("mx", "x.servfail.test", "Z"), ("mx", "bogus.test", "Z"),
             ("a", "mx2.secure.test", "K"), ("mx", "nomx.secure.test", "K"),
             ("tlsa", "_25._tcp.mx1.secure.test", "K"),
             ("mx", "nosuch.secure.test", "D")]
    data = b"".join(frame(i, q, n) for i, (q, n, _) in
                    enumerate(names * 40))
    t0 = time.monotonic()
    rc, out, err = pipe(t, data)
    el = time.monotonic() - t0
    rep = parse_replies(out)
    is_(rc, 0, "pipe: exit 0 at EOF after answering")
    is_(len(rep), len(names) * 40, "pipe: 320 requests in flight, each "
        "answered once")
    want = {i: names[i % len(names)][2] for i in range(len(names) * 40)}
    is_({i: v[0] for i, v in rep.items()}, want,
        "pipe: every answer has its request's classification")
    ok(el < 10, "pipe: 320 lookups took %.2fs" % el)
    r0 = rep[0]
    ok(r0[3][:2] == ["Ssecure", "M10 mx1.secure.test"] and
       sorted(r0[3][2:]) == ["M20 mx2.secure.test", "M20 mx3.secure.test"],
       "pipe: MX reply records")
    is_(rep[5][3], ["Ssecure", "I", "M0 nomx.secure.test"],
        "pipe: implicit MX carries the I record")
    ok(rep[3][3][0] == "Sbogus", "pipe: bogus answer marked Sbogus")
    is_(sorted(rep[4][3]), ["A127.0.0.3", "A127.0.0.4", "Ssecure"],
        "pipe: A reply records")
    is_(rep[1][:2], ("D", "5.1.10"), "pipe: null MX 5.1.10")
    rc, out, err = pipe(t, frame(7, "mx", "-bad-.test") + frame(8, "a",
                        "mx1.secure.test"))
    rep = parse_replies(out)
    ok(rc == 0 and rep[7][:2] == ("D", "5.1.2") and rep[8][0] == "K",
       "pipe: a bad name is answered D 5.1.2, the next request still works")
    bad = [(b"1\0mx\0a.test\0", "no final empty record"),
           (b"x\0mx\0a.test\0\0", "id not decimal"),
           (b"1\0txt\0a.test\0\0", "unknown type"),
           (b"1\0mx\0" + b"a" * 600 + b"\0\0", "oversized request"),
           (b"1\0mx\0a\nb.test\0\0", "LF in a name"),
           (frame(3, "mx", "x.servfail.test") * 2, "id reused in flight")]
    for data, why in bad:
        rc, out, err = pipe(t, data)
        ok(rc == 111 and "protocol error" in err,
           "pipe: protocol error exits 111: " + why)


def read_reply(p, timeout=10):
    """Bytes of one reply frame from a running tern-resolve, or b""."""
    import select
    buf, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([p.stdout], [], [], 0.2)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            if parse_replies(buf):
                break
    return buf


def check_stream(t):
    p = subprocess.Popen([t.bin(PROG), "-u", "nobody"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=t.env())
    try:
        p.stdin.write(frame(1, "a", "mx1.secure.test"))
        p.stdin.flush()
        rep = parse_replies(read_reply(p))
        ok(rep.get(1, ("",))[0] == "K",
           "stream: a reply comes while the request pipe stays open")
        p.stdin.write(frame(1, "aaaa", "mx1.secure.test"))
        p.stdin.flush()
        rep = parse_replies(read_reply(p))
        ok(rep.get(1, ("", "", "", []))[3] == ["Ssecure", "A::1"],
           "stream: an id may be used again once answered")
        p.stdin.close()
        is_(p.wait(timeout=10), 0, "stream: exit 0 at end of input")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def check_timeout(t):
    t.set("dnsresolvers", "127.0.0.1@%d" % testdns.dead_port())
    t.set("dnstimeout", "1")
    t0 = time.monotonic()
    rc, head, _, _ = cli(t, "mx", "secure.test")
    el = time.monotonic() - t0
    ok(rc == 111 and " Z 4.4.3 " in head,
       "timeout: a forwarder that never answers gives Z 4.4.3")
    ok(el < 5, "timeout: answered after %.1fs (dnstimeout 1)" % el)
    data = b"".join(frame(i, "mx", "d%d.secure.test" % i) for i in range(50))
    t0 = time.monotonic()
    rc, out, _ = pipe(t, data)
    el = time.monotonic() - t0
    rep = parse_replies(out)
    ok(rc == 0 and len(rep) == 50 and
       all(v[:2] == ("Z", "4.4.3") for v in rep.values()),
       "timeout: 50 lookups to a dead forwarder all answered Z 4.4.3")
    ok(el < 5, "timeout: the 50 ran at once (%.1fs, not 50s)" % el)


def check_config(t, dns):
    t.set("dnstrustanchor", "none")
    rc, head, _, _ = cli(t, "mx", "secure.test")
    ok(rc == 0 and head.endswith("(insecure)"),
       "dnstrustanchor none: no validation, answers insecure")
    rc, head, _, _ = cli(t, "mx", "bogus.test")
    is_(rc, 0, "dnstrustanchor none: expired signatures go unnoticed")
    t.set("dnsresolvers", "example.org")
    rc, head, _, err = cli(t, "mx", "secure.test")
    ok(rc == 111 and "dnsresolvers" in err,
       "a dnsresolvers line that is no address: exit 111, nothing sent")
    t.set("dnsresolvers", dns.forwarder())
    if os.geteuid() == 0:
        r = t.run([PROG, "mx", "secure.test"])
        ok(r.returncode == 111 and b"-u" in r.stderr,
           "as root without -u: refuses to run")


def check_defaults(t, dns):
    """Without dnstrustanchor the root key of dns-root-data; without
    dnsresolvers /etc/resolv.conf.  Empty input: no lookup is made, so
    nothing is sent even to resolv.conf's non-loopback resolver."""
    argv = [t.bin(PROG), "-p", "-u", "nobody"]
    os.unlink(os.path.join(t.control, "dnstrustanchor"))
    r = subprocess.run(argv, input=b"", capture_output=True, env=t.env(),
                       timeout=10)
    key = "/usr/share/dns/root.key"
    want = "DNSSEC with " + key if os.access(key, os.R_OK) else \
        "DNSSEC off"
    ok(r.returncode == 0 and want in r.stderr.decode(),
       "no dnstrustanchor: %s (dns-root-data)" % want)
    t.set("dnstrustanchor", "none")
    os.unlink(os.path.join(t.control, "dnsresolvers"))
    r = subprocess.run(argv, input=b"", capture_output=True, env=t.env(),
                       timeout=10)
    ok(r.returncode == 0 and "forwarding to the resolvers of "
       "/etc/resolv.conf" in r.stderr.decode(),
       "no dnsresolvers: forwards to the resolvers of /etc/resolv.conf")
    dns.configure(t, timeout=10)


def main():
    try:
        dns = testdns.TestDNS()
    except FileNotFoundError as e:
        skip_all("%s not installed (make deps)" % e)
    try:
        with Instance() as t:
            dns.configure(t, timeout=10)
            check_cli(t, dns)
            check_pipe(t)
            check_stream(t)
            check_config(t, dns)
            check_defaults(t, dns)
            check_timeout(t)
    except Exception:
        diag("nsd log:\n" + dns.log())
        raise
    finally:
        dns.stop()
    done()


main()
