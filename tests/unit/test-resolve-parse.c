/* test-resolve-parse: DNS names and rdata as tern-resolve reads them. */
#include <errno.h>
#include <string.h>

#include "../../resolve/config.h"
#include "../../resolve/dnsparse.h"
#include "tap.h"

struct bytes {
	const char	*s;
	size_t		 n;
};
#define B(str)	{ str, sizeof(str) - 1 }

struct name_case {
	const char	*name;
	struct bytes	 wire;
	int		 ret;
	const char	*text;
	size_t		 used;
};

static const struct name_case name_cases[] = {
	{ "two labels", B("\4mail\7example\0"), 0, "mail.example", 14 },
	{ "upper case folded", B("\2MX\3ORG\0"), 0, "mx.org", 8 },
	{ "the root", B("\0"), 0, "", 1 },
	{ "bytes after the name are not read", B("\1a\0\xff\xff"), 0, "a",
	    3 },
	{ "underscore label", B("\4_tcp\1h\0"), 0, "_tcp.h", 8 },
	{ "compression pointer", B("\xc0\x0c"), -1, NULL, 0 },
	{ "pointer after a label", B("\1a\xc0\x0c"), -1, NULL, 0 },
	{ "extended label type 0x40", B("\x41" "a\0"), -1, NULL, 0 },
	{ "label past the end", B("\5ab\0"), -1, NULL, 0 },
	{ "no final root label", B("\1a"), -1, NULL, 0 },
	{ "empty input", B(""), -1, NULL, 0 },
	{ "a dot inside a label", B("\3a.b\0"), -1, NULL, 0 },
	{ "a NUL inside a label", B("\3a\0b\0"), -1, NULL, 0 },
	{ "a space inside a label", B("\3a b\0"), -1, NULL, 0 },
	{ "8-bit byte", B("\2\xc3\xa9\0"), -1, NULL, 0 },
};

static void
test_name_read(void)
{
	const struct name_case	*c;
	char			 out[DNS_TEXT_NAME_MAX + 1];
	size_t			 i, used;
	int			 r;

	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		c = &name_cases[i];
		used = 0;
		r = dns_name_read((const uint8_t *)c->wire.s, c->wire.n,
		    &used, out, sizeof(out));
		tap_is_int(r, c->ret, "name: %s", c->name);
		if (r == 0 && c->ret == 0)
			tap_ok(strcmp(out, c->text) == 0 && used == c->used,
			    "name: %s: text and length", c->name);
	}
}

/* Names at and over the length limits, and a small output buffer. */
static void
test_name_limits(void)
{
	uint8_t	w[300];
	char	out[DNS_TEXT_NAME_MAX + 1], small[4];
	size_t	used, pos = 0;
	int	i;

	/* 3 x 63 + 61 + 5 length bytes + root = 255 octets */
	for (i = 0; i < 4; i++) {
		w[pos++] = i < 3 ? 63 : 61;
		memset(w + pos, 'a', w[pos - 1]);
		pos += w[pos - 1];
	}
	w[pos++] = 0;
	tap_ok(pos == 255 && dns_name_read(w, pos, &used, out,
	    sizeof(out)) == 0 && strlen(out) == DNS_TEXT_NAME_MAX,
	    "a name of 255 octets gives 253 characters");
	w[3 * 64] = 62;
	memset(w + 3 * 64 + 1, 'a', 62);
	w[3 * 64 + 63] = 0;
	tap_is_int(dns_name_read(w, 256, &used, out, sizeof(out)), -1,
	    "a name of 256 octets is refused");
	w[0] = 64;
	tap_is_int(dns_name_read(w, sizeof(w), &used, out, sizeof(out)), -1,
	    "a label of 64 bytes is refused");
	tap_is_int(dns_name_read((const uint8_t *)"\5abcde\0", 7, &used,
	    small, sizeof(small)), -1, "an output buffer too small fails");
}

struct host_case {
	const char	*name;
	bool		 host;
	bool		 qname;
};

static const struct host_case host_cases[] = {
	{ "mx1.example.org", true, true },
	{ "localhost", true, true },
	{ "a-b.c0", true, true },
	{ "3com.example", true, true },
	{ "", false, false },
	{ ".", false, false },
	{ "example.org.", false, true },
	{ "example..org", false, false },
	{ "-a.example", false, false },
	{ "a-.example", false, false },
	{ "under_score.example", false, true },
	{ "_25._tcp.mx.example", false, true },
	{ "10.0.0.1", false, true },
	{ "example.123", false, true },
	{ "a b.example", false, false },
	{ "[10.0.0.1]", false, false },
	{ "ex\xc3\xa4mple.org", false, false },
};

static void
test_hostname(void)
{
	char	long_label[80], long_name[300];
	size_t	i;

	for (i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
		tap_is_int(dns_hostname_ok(host_cases[i].name),
		    host_cases[i].host, "host name? \"%s\"",
		    host_cases[i].name);
		tap_is_int(dns_qname_ok(host_cases[i].name),
		    host_cases[i].qname, "query name? \"%s\"",
		    host_cases[i].name);
	}
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	tap_ok(!dns_hostname_ok(long_label), "a label of 64 bytes is no host");
	long_label[63] = '\0';
	tap_ok(dns_hostname_ok(long_label), "a label of 63 bytes is a host");
	for (i = 0; i < 254; i++)
		long_name[i] = i % 2 == 0 ? 'a' : '.';
	long_name[253] = '\0';
	tap_ok(dns_hostname_ok(long_name), "a name of 253 bytes is a host");
	long_name[253] = 'a';
	long_name[254] = '\0';
	tap_ok(!dns_hostname_ok(long_name), "254 bytes is too long");
}

static void
test_rdata(void)
{
	char		host[DNS_TEXT_NAME_MAX + 1], a[64];
	uint16_t	pref = 1;
	struct buf	b;

	tap_ok(dns_mx_parse((const uint8_t *)"\0\x0a\2mx\3org\0", 10, &pref,
	    host, sizeof(host)) == 0 && pref == 10 &&
	    strcmp(host, "mx.org") == 0, "MX rdata: preference and host");
	tap_ok(dns_mx_parse((const uint8_t *)"\0\0\0", 3, &pref, host,
	    sizeof(host)) == 0 && pref == 0 && host[0] == '\0',
	    "MX rdata: null MX gives the root");
	tap_is_int(dns_mx_parse((const uint8_t *)"\0\x0a", 2, &pref, host,
	    sizeof(host)), -1, "MX rdata: too short");
	tap_is_int(dns_mx_parse((const uint8_t *)"\0\x0a\1a\0x", 6, &pref,
	    host, sizeof(host)), -1, "MX rdata: bytes after the name");
	tap_ok(dns_addr_parse(DNS_T_A, (const uint8_t *)"\x7f\0\0\1", 4, a,
	    sizeof(a)) == 0 && strcmp(a, "127.0.0.1") == 0, "A rdata");
	tap_ok(dns_addr_parse(DNS_T_AAAA, (const uint8_t *)
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16, a, sizeof(a)) == 0 &&
	    strcmp(a, "::1") == 0, "AAAA rdata");
	tap_is_int(dns_addr_parse(DNS_T_A, (const uint8_t *)"\1\2\3", 3, a,
	    sizeof(a)), -1, "A rdata of 3 bytes");
	tap_is_int(dns_addr_parse(DNS_T_AAAA, (const uint8_t *)"\1\2\3\4", 4,
	    a, sizeof(a)), -1, "AAAA rdata of 4 bytes");
	buf_init(&b, 1 << 16);
	tap_ok(dns_tlsa_format((const uint8_t *)"\3\1\1\xab\x0c", 5, &b) == 0 &&
	    strcmp(buf_cstr(&b), "3 1 1 ab0c") == 0, "TLSA rdata as text");
	buf_reset(&b);
	tap_is_int(dns_tlsa_format((const uint8_t *)"\3\1\1", 3, &b), -1,
	    "TLSA without association data");
	buf_free(&b);
}

static void
test_fwd(void)
{
	static const struct { const char *s; int ret; } c[] = {
		{ "127.0.0.1", 0 }, { "127.0.0.1@5353", 0 }, { "::1@53", 0 },
		{ "127.0.0.1@0", -1 }, { "127.0.0.1@65536", -1 },
		{ "localhost", -1 }, { "@53", -1 }, { "127.0.0.1@", -1 },
		{ "127.0.0.1@53@53", -1 },
	};
	char	out[64];
	size_t	i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		tap_is_int(rsv_fwd_parse(c[i].s, out, sizeof(out)), c[i].ret,
		    "forwarder \"%s\"", c[i].s);
}

int
main(void)
{
	test_name_read();
	test_name_limits();
	test_hostname();
	test_rdata();
	test_fwd();
	return tap_done();
}
