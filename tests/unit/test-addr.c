/* test-addr: RFC 5321 paths and mailboxes, canonical forms and errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "tap.h"

#define S(x)	x, sizeof(x) - 1
#define N	ADDR_NULL_OK
#define U	ADDR_UTF8
#define P	ADDR_POSTMASTER

#define E_CRLF	"CR or LF in address"
#define E_NUL	"NUL in address"
#define E_CTL	"control character in address"
#define E_8BIT	"non-ASCII character without SMTPUTF8"
#define E_UTF8	"invalid UTF-8 in address"
#define E_V4	"bad IPv4 address literal"
#define E_V6	"bad IPv6 address literal"
#define E_LABEL	"empty domain label"
#define E_HYPH	"domain label starts or ends with '-'"
#define E_INDOM	"invalid character in domain"
#define E_INLOC	"invalid character in local part"
#define E_NODOM	"address has no domain"

/*
 * One row: input, flags, then either the canonical form (and where the
 * ESMTP parameters start, 0 meaning the whole input) or, when want is
 * NULL, the error text and errno (0 meaning EINVAL).
 */
struct pcase {
	const char	*in;
	size_t		 len;
	int		 flags;
	const char	*want;
	size_t		 end;
	const char	*err;
	int		 eno;
};

static const struct pcase paths[] = {
	/* plain forms and case */
	{ S("<a@b>"), 0, "a@b", 0, NULL, 0 },
	{ S("<user@example.com>"), 0, "user@example.com", 0, NULL, 0 },
	{ S("<User.Name+Tag@Example.COM>"), 0, "User.Name+Tag@example.com",
	    0, NULL, 0 },
	{ S("<!#$%&'*+-/=?^_`{|}~@x>"), 0, "!#$%&'*+-/=?^_`{|}~@x", 0,
	    NULL, 0 },
	{ S("<a@1.2.3.4>"), 0, "a@1.2.3.4", 0, NULL, 0 },
	{ S("<a@x-y.z9>"), 0, "a@x-y.z9", 0, NULL, 0 },
	{ S("<a@xn--bcher-kva.DE>"), 0, "a@xn--bcher-kva.de", 0, NULL, 0 },
	{ S("<postmaster@Example.org>"), P, "postmaster@example.org", 0,
	    NULL, 0 },
	/* trailing dot */
	{ S("<a@b.c.>"), 0, "a@b.c", 0, NULL, 0 },
	{ S("<a@B.>"), 0, "a@b", 0, NULL, 0 },
	{ S("<a@b..>"), 0, NULL, 0, E_LABEL, 0 },
	{ S("<a@.>"), 0, NULL, 0, E_LABEL, 0 },
	{ S("<a@b. >"), 0, NULL, 0, E_INDOM, 0 },
	/* what follows '>' is the caller's */
	{ S("<a@b> SIZE=100"), 0, "a@b", 5, NULL, 0 },
	{ S("<a@b>\r\n"), 0, "a@b", 5, NULL, 0 },
	{ S("<a@b>junk"), 0, "a@b", 5, NULL, 0 },
	{ S("<a@b>>"), 0, "a@b", 5, NULL, 0 },
	{ S("<\"a>b\"@c> X"), 0, "\"a>b\"@c", 9, NULL, 0 },
	/* quoted local parts */
	{ S("<\"abc\"@x>"), 0, "abc@x", 0, NULL, 0 },
	{ S("<\"a.b\"@x>"), 0, "a.b@x", 0, NULL, 0 },
	{ S("<\"\\a\\b\\c\"@x>"), 0, "abc@x", 0, NULL, 0 },
	{ S("<\"a b\"@x>"), 0, "\"a b\"@x", 0, NULL, 0 },
	{ S("<\"a\\ b\"@x>"), 0, "\"a b\"@x", 0, NULL, 0 },
	{ S("<\"a@b\"@x>"), 0, "\"a@b\"@x", 0, NULL, 0 },
	{ S("<\"a\\\"b\"@x>"), 0, "\"a\\\"b\"@x", 0, NULL, 0 },
	{ S("<\"a\\\\b\"@x>"), 0, "\"a\\\\b\"@x", 0, NULL, 0 },
	{ S("<\"a..b\"@x>"), 0, "\"a..b\"@x", 0, NULL, 0 },
	{ S("<\".a\"@x>"), 0, "\".a\"@x", 0, NULL, 0 },
	{ S("<\"a.\"@x>"), 0, "\"a.\"@x", 0, NULL, 0 },
	{ S("<\"\"@x>"), 0, "\"\"@x", 0, NULL, 0 },
	{ S("<\"(c) [x],y;z:\"@x>"), 0, "\"(c) [x],y;z:\"@x", 0, NULL, 0 },
	{ S("<\"Abc\"@X>"), 0, "Abc@x", 0, NULL, 0 },
	{ S("<\"abc@x>"), 0, NULL, 0, "unbalanced quotes", 0 },
	{ S("<\"abc>"), 0, NULL, 0, "unbalanced quotes", 0 },
	{ S("<\"a\\\"@x>"), 0, NULL, 0, "unbalanced quotes", 0 },
	{ S("<\"a\\"), 0, NULL, 0, "unbalanced quotes", 0 },
	{ S("<\"a\"b@x>"), 0, NULL, 0,
	    "invalid character after quoted string", 0 },
	{ S("<a\"b\"@x>"), 0, NULL, 0, E_INLOC, 0 },
	{ S("<\"a\\\x01\"@x>"), 0, NULL, 0, E_CTL, 0 },
	{ S("<\"a\\\xc3\xa9\"@x>"), U, NULL, 0, "invalid quoted pair", 0 },
	{ S("<\"a\\\xc3\xa9\"@x>"), 0, NULL, 0, E_8BIT, 0 },
	{ S("<\"a\x7f\"@x>"), 0, NULL, 0, E_CTL, 0 },
	{ S("<\"a\tb\"@x>"), 0, NULL, 0, E_CTL, 0 },
	/* dot-string errors */
	{ S("<.a@b>"), 0, NULL, 0, "local part starts with '.'", 0 },
	{ S("<a.@b>"), 0, NULL, 0, "local part ends with '.'", 0 },
	{ S("<a..b@c>"), 0, NULL, 0, "'..' in local part", 0 },
	{ S("<..@c>"), 0, NULL, 0, "local part starts with '.'", 0 },
	{ S("<a @b>"), 0, NULL, 0, E_INLOC, 0 },
	{ S("<a(b)@c>"), 0, NULL, 0, E_INLOC, 0 },
	{ S("<a\x7f@x>"), 0, NULL, 0, E_CTL, 0 },
	{ S("<a\t@x>"), 0, NULL, 0, E_CTL, 0 },
	/* relay tricks parse to what they really are */
	{ S("<v%remote@us>"), 0, "v%remote@us", 0, NULL, 0 },
	{ S("<@us:v@remote>"), 0, "v@remote", 0, NULL, 0 },
	{ S("<\"v@remote\"@us>"), 0, "\"v@remote\"@us", 0, NULL, 0 },
	{ S("<v!remote@us>"), 0, "v!remote@us", 0, NULL, 0 },
	/* source routes */
	{ S("<@a,@b:u@d>"), 0, "u@d", 0, NULL, 0 },
	{ S("<@A.example.,@b:U@D>"), 0, "U@d", 0, NULL, 0 },
	{ S("<@[1.2.3.4]:v@remote>"), 0, "v@remote", 0, NULL, 0 },
	{ S("<@b>"), 0, NULL, 0, "missing ':' after source route", 0 },
	{ S("<@b"), 0, NULL, 0, "missing ':' after source route", 0 },
	{ S("<@b:>"), 0, NULL, 0, "empty local part", 0 },
	{ S("<@>"), 0, NULL, 0, "missing domain", 0 },
	{ S("<@a,b:c@d>"), 0, NULL, 0, "missing '@' in source route", 0 },
	{ S("<@a,>"), 0, NULL, 0, "missing '@' in source route", 0 },
	{ S("<@a;c@d>"), 0, NULL, 0, "invalid character in source route", 0 },
	{ S("<@-a:c@d>"), 0, NULL, 0, E_HYPH, 0 },
	{ S("<@a..b:c@d>"), 0, NULL, 0, E_LABEL, 0 },
	{ S("<@a:Postmaster>"), P, NULL, 0, E_NODOM, 0 },
	/* brackets and the overall shape */
	{ S(""), 0, NULL, 0, "missing '<'", 0 },
	{ S("a@b"), 0, NULL, 0, "missing '<'", 0 },
	{ S(" <a@b>"), 0, NULL, 0, "missing '<'", 0 },
	{ S("<a@b"), 0, NULL, 0, "missing '>'", 0 },
	{ S("<"), 0, NULL, 0, "empty local part", 0 },
	{ S("<a"), 0, NULL, 0, "missing '>'", 0 },
	{ S("<a@b c>"), 0, NULL, 0, E_INDOM, 0 },
	{ S("<a@b@c>"), 0, NULL, 0, E_INDOM, 0 },
	{ S("<a@b_c>"), 0, NULL, 0, E_INDOM, 0 },
	{ S("<a@ b>"), 0, NULL, 0, "missing domain", 0 },
	{ S("<a@>"), 0, NULL, 0, "missing domain", 0 },
	{ S("<a@"), 0, NULL, 0, "missing domain", 0 },
	{ S("<abc>"), 0, NULL, 0, E_NODOM, 0 },
	{ S("<@>"), N, NULL, 0, "missing domain", 0 },
	{ S("< a@b>"), 0, NULL, 0, E_INLOC, 0 },
	{ S("<a@b >"), 0, NULL, 0, E_INDOM, 0 },
	/* domains */
	{ S("<a@.b>"), 0, NULL, 0, E_LABEL, 0 },
	{ S("<a@b..c>"), 0, NULL, 0, E_LABEL, 0 },
	{ S("<a@-b.c>"), 0, NULL, 0, E_HYPH, 0 },
	{ S("<a@b-.c>"), 0, NULL, 0, E_HYPH, 0 },
	{ S("<a@b.-c>"), 0, NULL, 0, E_HYPH, 0 },
	{ S("<a@b.c->"), 0, NULL, 0, E_HYPH, 0 },
	{ S("<a@->"), 0, NULL, 0, E_HYPH, 0 },
	/* null path and postmaster */
	{ S("<>"), N, "", 0, NULL, 0 },
	{ S("<> SIZE=1"), N, "", 2, NULL, 0 },
	{ S("<>"), 0, NULL, 0, "null address not allowed", 0 },
	{ S("<>"), P | U, NULL, 0, "null address not allowed", 0 },
	{ S("<Postmaster>"), P, "postmaster", 0, NULL, 0 },
	{ S("<POSTMASTER> X"), P, "postmaster", 12, NULL, 0 },
	{ S("<postmaster>"), P | N, "postmaster", 0, NULL, 0 },
	{ S("<Postmaster>"), 0, NULL, 0, E_NODOM, 0 },
	{ S("<\"Postmaster\">"), P, NULL, 0, E_NODOM, 0 },
	{ S("<Postmasters>"), P, NULL, 0, E_NODOM, 0 },
	{ S("<Postmaster.>"), P, NULL, 0, "local part ends with '.'", 0 },
	/* address literals */
	{ S("<a@[1.2.3.4]>"), 0, "a@[1.2.3.4]", 0, NULL, 0 },
	{ S("<a@[255.255.255.255]>"), 0, "a@[255.255.255.255]", 0, NULL, 0 },
	{ S("<a@[0.0.0.0]>"), 0, "a@[0.0.0.0]", 0, NULL, 0 },
	{ S("<a@[010.000.0.255]>"), 0, "a@[10.0.0.255]", 0, NULL, 0 },
	{ S("<a@[1.2.3]>"), 0, NULL, 0, E_V4, 0 },
	{ S("<a@[1.2.3.256]>"), 0, NULL, 0, E_V4, 0 },
	{ S("<a@[1.2.3.4.5]>"), 0, NULL, 0, E_V4, 0 },
	{ S("<a@[1.2.3.0004]>"), 0, NULL, 0, E_V4, 0 },
	{ S("<a@[1..2.3]>"), 0, NULL, 0, E_V4, 0 },
	{ S("<a@[1.2.3.4.]>"), 0, NULL, 0, E_V4, 0 },
	{ S("<a@[1.2.3.-4]>"), 0, NULL, 0, E_V4, 0 },
	{ S("<a@[1.2.3.4a]>"), 0, NULL, 0, E_V4, 0 },
	{ S("<a@[999.1.1.1]>"), 0, NULL, 0, E_V4, 0 },
	{ S("<a@[1.2.3.4 ]>"), 0, NULL, 0,
	    "invalid character in address literal", 0 },
	{ S("<a@[1.2.3.4>"), 0, NULL, 0, "missing ']'", 0 },
	{ S("<a@[1.2.[3.4]>"), 0, NULL, 0,
	    "invalid character in address literal", 0 },
	{ S("<a@[]>"), 0, NULL, 0, "bad address literal", 0 },
	{ S("<a@[hello]>"), 0, NULL, 0, "bad address literal", 0 },
	{ S("<a@[x-tag:foo]>"), 0, NULL, 0, "unsupported address literal", 0 },
	{ S("<a@[1.2.3.4].>"), 0, NULL, 0, E_INDOM, 0 },
	{ S("<a@[1.2.3.4]x>"), 0, NULL, 0, E_INDOM, 0 },
	{ S("<a@x[1.2.3.4]>"), 0, NULL, 0, E_INDOM, 0 },
	{ S("<a@[IPv6:2001:DB8::1]>"), 0, "a@[IPv6:2001:db8::1]", 0, NULL, 0 },
	{ S("<a@[ipv6:2001:db8:0:0:0:0:0:1]>"), 0, "a@[IPv6:2001:db8::1]",
	    0, NULL, 0 },
	{ S("<a@[IPV6:::1]>"), 0, "a@[IPv6:::1]", 0, NULL, 0 },
	{ S("<a@[IPv6:::]>"), 0, "a@[IPv6:::]", 0, NULL, 0 },
	{ S("<a@[IPv6:::ffff:1.2.3.4]>"), 0, "a@[IPv6:::ffff:1.2.3.4]", 0,
	    NULL, 0 },
	{ S("<a@[IPv6:::FFFF:0102:0304]>"), 0, "a@[IPv6:::ffff:1.2.3.4]", 0,
	    NULL, 0 },
	{ S("<a@[IPv6:1:2:3:4:5:6:7:8]>"), 0, "a@[IPv6:1:2:3:4:5:6:7:8]", 0,
	    NULL, 0 },
	{ S("<a@[IPv6:1.2.3.4]>"), 0, NULL, 0, E_V6, 0 },
	{ S("<a@[IPv6:2001:db8::g]>"), 0, NULL, 0, E_V6, 0 },
	{ S("<a@[IPv6:fe80::1%eth0]>"), 0, NULL, 0, E_V6, 0 },
	{ S("<a@[IPv6:1:2:3:4:5:6:7:8:9]>"), 0, NULL, 0, E_V6, 0 },
	{ S("<a@[IPv6:1::2::3]>"), 0, NULL, 0, E_V6, 0 },
	{ S("<a@[IPv6:12345::]>"), 0, NULL, 0, E_V6, 0 },
	{ S("<a@[IPv6:]>"), 0, NULL, 0, E_V6, 0 },
	{ S("<a@[IPv6:::ffff:1.2.3.256]>"), 0, NULL, 0, E_V6, 0 },
	{ S("<a@[IPv6:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:"
	    "0000:0000:0]>"),
	    0, NULL, 0, "bad address literal", 0 },
	/* SMTPUTF8 */
	{ S("<jos\xc3\xa9@exampl\xc3\xa9.com>"), U,
	    "jos\xc3\xa9@exampl\xc3\xa9.com", 0, NULL, 0 },
	{ S("<a@\xc3\x89Xample.COM>"), U, "a@\xc3\x89xample.com", 0, NULL, 0 },
	{ S("<\"j\xc3\xa9\"@x>"), U, "j\xc3\xa9@x", 0, NULL, 0 },
	{ S("<\"j \xc3\xa9\"@x>"), U, "\"j \xc3\xa9\"@x", 0, NULL, 0 },
	{ S("<\xf0\x9f\x98\x80@x>"), U, "\xf0\x9f\x98\x80@x", 0, NULL, 0 },
	{ S("<\xe2\x82\xac@\xe2\x82\xac>"), U, "\xe2\x82\xac@\xe2\x82\xac", 0,
	    NULL, 0 },
	{ S("<\xf4\x8f\xbf\xbf@x>"), U, "\xf4\x8f\xbf\xbf@x", 0, NULL, 0 },
	{ S("<@\xc3\xa9:a@b>"), U, "a@b", 0, NULL, 0 },
	{ S("<jos\xc3\xa9@x>"), 0, NULL, 0, E_8BIT, 0 },
	{ S("<a@exampl\xc3\xa9.com>"), 0, NULL, 0, E_8BIT, 0 },
	{ S("<\"j\xc3\xa9\"@x>"), 0, NULL, 0, E_8BIT, 0 },
	{ S("<@\xc3\xa9:a@b>"), 0, NULL, 0, E_8BIT, 0 },
	{ S("<a@b.\xc3\xa9>"), 0, NULL, 0, E_8BIT, 0 },
	{ S("<a\xc0\xaf@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xc1\xbf@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xe0\x80\xaf@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xf0\x80\x80\xaf@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xed\xa0\x80@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xed\xbf\xbf@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xf4\x90\x80\x80@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xf5\x80\x80\x80@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xf8\x88\x80\x80\x80@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xff@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\x80@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xc3@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xe2\x82@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xc3"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a@x\xc3\x28>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<\"a\xc3\"@x>"), U, NULL, 0, E_UTF8, 0 },
	{ S("<a\xc2\x85@x>"), U, NULL, 0, E_CTL, 0 },
	{ S("<a@b\xc2\x9b>"), U, NULL, 0, E_CTL, 0 },
	{ S("<\"\xc2\x80\"@x>"), U, NULL, 0, E_CTL, 0 },
	{ S("<a\xc2\xa0@x>"), U, "a\xc2\xa0@x", 0, NULL, 0 },
	/* control characters and NUL */
	{ S("<a\0@b>"), 0, NULL, 0, E_NUL, 0 },
	{ S("<a@b\0>"), 0, NULL, 0, E_NUL, 0 },
	{ S("<\"\0\"@b>"), 0, NULL, 0, E_NUL, 0 },
	{ S("<a@b\r\n>"), 0, NULL, 0, E_CRLF, 0 },
	{ S("<a@b\n>"), 0, NULL, 0, E_CRLF, 0 },
	{ S("<a\x1b[31m@b>"), 0, NULL, 0, E_CTL, 0 },
	{ S("<a@[1.2.3.4\n]>"), 0, NULL, 0, E_CRLF, 0 },
	{ S("<@a\r:b@c>"), 0, NULL, 0, E_CRLF, 0 },
};

/* Mailbox rows: input, flags, default domain, canonical form or error. */
struct mcase {
	const char	*in;
	size_t		 len;
	int		 flags;
	const char	*defdom;
	const char	*want;
	const char	*err;
};

static const struct mcase mboxes[] = {
	{ S("a@b"), 0, NULL, "a@b", NULL },
	{ S("A@B.COM."), 0, NULL, "A@b.com", NULL },
	{ S("\"a b\"@c"), 0, NULL, "\"a b\"@c", NULL },
	{ S("\"ab\"@c"), 0, NULL, "ab@c", NULL },
	{ S("a@[IPv6:0::1]"), 0, NULL, "a@[IPv6:::1]", NULL },
	{ S("a%b@c"), 0, NULL, "a%b@c", NULL },
	{ S("a"), 0, "Example.COM", "a@example.com", NULL },
	{ S("a"), 0, "example.com.", "a@example.com", NULL },
	{ S("\"a b\""), 0, "x", "\"a b\"@x", NULL },
	{ S("a@b"), 0, "x", "a@b", NULL },
	{ S("a"), 0, NULL, NULL, E_NODOM },
	{ S("a"), 0, "bad domain", NULL,
	    "invalid character in default domain" },
	{ S("a"), 0, "-x", NULL, E_HYPH },
	{ S("a"), 0, "", NULL, "missing domain" },
	{ S("a"), 0, "x\n", NULL, E_CRLF },
	{ S("postmaster"), P, NULL, "postmaster", NULL },
	{ S("PostMaster"), P, NULL, "postmaster", NULL },
	{ S("Postmaster"), P, "x", "Postmaster@x", NULL },
	{ S("postmaster"), 0, NULL, NULL, E_NODOM },
	{ S(""), N, NULL, "", NULL },
	{ S(""), 0, NULL, NULL, "empty local part" },
	{ S(""), 0, "x", NULL, "empty local part" },
	{ S("<>"), N, NULL, "", NULL },
	{ S("<>"), 0, NULL, NULL, "null address not allowed" },
	{ S("<a@B>"), 0, NULL, "a@b", NULL },
	{ S("<@r:a@B>"), 0, NULL, "a@b", NULL },
	{ S("<Postmaster>"), P, NULL, "postmaster", NULL },
	{ S("<a@b> "), 0, NULL, NULL, "junk after '>'" },
	{ S("<a@b>c"), 0, NULL, NULL, "junk after '>'" },
	{ S("<a@b"), 0, NULL, NULL, "missing '>'" },
	{ S("<a>"), 0, "x", NULL, E_NODOM },
	{ S("a@b "), 0, NULL, NULL, E_INDOM },
	{ S("a@b>"), 0, NULL, NULL, E_INDOM },
	{ S("a@b\n"), 0, NULL, NULL, E_CRLF },
	{ S("a@b\r"), 0, NULL, NULL, E_CRLF },
	{ S("a@b\0c"), 0, NULL, NULL, E_NUL },
	{ S("a\0@b"), 0, NULL, NULL, E_NUL },
	{ S(" a@b"), 0, NULL, NULL, E_INLOC },
	{ S("a b@c"), 0, NULL, NULL, E_INLOC },
	{ S("\"a\"b@c"), 0, NULL, NULL,
	    "invalid character after quoted string" },
	{ S("@b"), 0, NULL, NULL, "empty local part" },
	{ S("@r:a@b"), 0, NULL, NULL, "empty local part" },
	{ S("a@"), 0, NULL, NULL, "missing domain" },
	{ S("a@@b"), 0, NULL, NULL, "missing domain" },
	{ S("a.@b"), 0, NULL, NULL, "local part ends with '.'" },
	{ S("a@b..c"), 0, NULL, NULL, E_LABEL },
	{ S("j\xc3\xa9@b"), U, NULL, "j\xc3\xa9@b", NULL },
	{ S("j\xc3\xa9@b"), 0, NULL, NULL, E_8BIT },
	{ S("j\xed\xa0\x80@b"), U, NULL, NULL, E_UTF8 },
	{ S("a"), U, "\xc3\xa9.x", "a@\xc3\xa9.x", NULL },
	{ S("a"), 0, "\xc3\xa9.x", NULL, E_8BIT },
};

/* Printable form of a test input for test names. */
static const char *
esc(const char *s, size_t n)
{
	static char bufs[4][1200];
	static int which;
	char *b;
	size_t i, o;

	b = bufs[which++ % 4];
	for (i = o = 0; i < n && o + 5 < sizeof(bufs[0]); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '#')
			b[o++] = (char)c;
		else
			o += (size_t)snprintf(b + o, sizeof(bufs[0]) - o,
			    "\\x%02x", c);
	}
	b[o] = '\0';
	return b;
}

static void
check_path(const struct pcase *c)
{
	char out[ADDR_BUF];
	const char *err = NULL;
	size_t end = 12345;
	int r;

	strlcpy(out, "untouched", sizeof(out));
	errno = 0;
	r = addr_parse_path(c->in, c->len, c->flags, out, sizeof(out), &end,
	    &err);
	if (c->want != NULL) {
		if (!tap_ok(r == 0, "path %s (flags %d) is accepted",
		    esc(c->in, c->len), c->flags))
			tap_diag("error: %s", err ? err : "(null)");
		tap_is_str(r == 0 ? out : NULL, c->want, "path %s -> %s",
		    esc(c->in, c->len), esc(c->want, strlen(c->want)));
		tap_is_int((long long)end, (long long)(c->end ? c->end :
		    c->len), "path %s: parameters start at %zu",
		    esc(c->in, c->len), c->end ? c->end : c->len);
		return;
	}
	tap_ok(r == -1 && errno == (c->eno ? c->eno : EINVAL) &&
	    strcmp(out, "untouched") == 0 && end == 12345,
	    "path %s (flags %d) is rejected, out untouched",
	    esc(c->in, c->len), c->flags);
	tap_is_str(r == -1 ? err : NULL, c->err, "path %s: error says %s",
	    esc(c->in, c->len), c->err);
}

static void
check_mbox(const struct mcase *c)
{
	char out[ADDR_BUF];
	const char *err = NULL;
	int r;

	errno = 0;
	r = addr_parse_mailbox(c->in, c->len, c->flags, c->defdom, out,
	    sizeof(out), &err);
	if (c->want != NULL) {
		if (r != 0)
			tap_diag("error: %s", err ? err : "(null)");
		tap_is_str(r == 0 ? out : NULL, c->want,
		    "mailbox %s (default %s, flags %d) -> %s",
		    esc(c->in, c->len), c->defdom ? c->defdom : "none",
		    c->flags, esc(c->want, strlen(c->want)));
		return;
	}
	tap_ok(r == -1 && errno == EINVAL, "mailbox %s (default %s) rejected",
	    esc(c->in, c->len), c->defdom ? esc(c->defdom,
	    strlen(c->defdom)) : "none");
	tap_is_str(r == -1 ? err : NULL, c->err, "mailbox %s: error says %s",
	    esc(c->in, c->len), c->err);
}

/* Fill b with "<" local "@" domain ">" built from repeated letters. */
static size_t
make_path(char *b, size_t bsz, size_t local_n, const char *domain)
{
	size_t n = 0;

	b[n++] = '<';
	memset(b + n, 'l', local_n);
	n += local_n;
	n += (size_t)snprintf(b + n, bsz - n, "@%s>", domain);
	return n;
}

/* A domain of total length n made of labels of at most lab bytes. */
static void
make_domain(char *d, size_t n, size_t lab)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		if (run == lab && i + 1 < n) {
			d[i] = '.';
			run = 0;
		} else {
			d[i] = 'd';
			run++;
		}
	}
	d[n] = '\0';
}

struct lcase {
	size_t		 local_n;
	size_t		 domain_n;
	size_t		 label;
	const char	*err;	/* NULL: accepted */
	const char	*name;
};

static const struct lcase lengths[] = {
	{ 64, 1, 63, NULL, "64-byte local part accepted" },
	{ 65, 1, 63, "local part too long", "65-byte local part rejected" },
	{ 1, 63, 63, NULL, "63-byte label accepted" },
	{ 1, 64, 64, "domain label too long", "64-byte label rejected" },
	{ 1, 252, 63, NULL, "252-byte domain fills a 256-byte path" },
	{ 1, 253, 63, "path too long", "253-byte domain overflows the path" },
	{ 1, 255, 63, "path too long", "255-byte domain overflows the path" },
	{ 1, 256, 63, "domain too long", "256-byte domain rejected" },
	{ 1, 300, 63, "domain too long", "300-byte domain rejected" },
	{ 64, 189, 63, NULL, "64-byte local and 189-byte domain fit" },
	{ 64, 190, 63, "path too long", "64-byte local, 190 domain: too long" },
};

static void
test_lengths(void)
{
	char in[1024], dom[512], out[ADDR_BUF];
	const struct lcase *c;
	const char *err;
	size_t i, n, end;
	int r;

	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		c = &lengths[i];
		make_domain(dom, c->domain_n, c->label);
		n = make_path(in, sizeof(in), c->local_n, dom);
		err = NULL;
		errno = 0;
		r = addr_parse_path(in, n, 0, out, sizeof(out), &end, &err);
		if (c->err == NULL) {
			tap_ok(r == 0 && strlen(out) == n - 2 && end == n,
			    "%s", c->name);
			continue;
		}
		tap_ok(r == -1 && errno == ENAMETOOLONG, "%s (ENAMETOOLONG)",
		    c->name);
		tap_is_str(err, c->err, "%s: error says %s", c->name, c->err);
	}
}

static void
test_quoted_lengths(void)
{
	char in[256], out[ADDR_BUF];
	const char *err = NULL;
	int r;

	/* 62 bytes with a space need quotes: 64 bytes, the limit. */
	snprintf(in, sizeof(in), "<\" %061d\"@x>", 0);
	r = addr_parse_path(in, strlen(in), 0, out, sizeof(out), NULL, &err);
	tap_ok(r == 0 && strlen(out) == 64 + 2, "quoted local part of 64 "
	    "bytes with its quotes accepted");
	snprintf(in, sizeof(in), "<\" %062d\"@x>", 0);
	errno = 0;
	r = addr_parse_path(in, strlen(in), 0, out, sizeof(out), NULL, &err);
	tap_ok(r == -1 && errno == ENAMETOOLONG, "quoted local part of 65 "
	    "bytes with its quotes rejected");
	/* 64 bytes that need no quotes are unquoted, so they fit. */
	snprintf(in, sizeof(in), "<\"%064d\"@x>", 0);
	r = addr_parse_path(in, strlen(in), 0, out, sizeof(out), NULL, &err);
	tap_ok(r == 0 && strlen(out) == 64 + 2 && out[0] == '0',
	    "quoted 64-byte dot-string unquoted and accepted");
	/* Needless escapes do not count towards the local part. */
	snprintf(in, sizeof(in), "<\"%s\"@x>", "\\a\\b\\c\\d\\e\\f\\g\\h"
	    "\\i\\j\\k\\l\\m\\n\\o\\p\\q\\r\\s\\t\\u\\v\\w\\x\\y\\z\\a\\b"
	    "\\c\\d\\e\\f\\g\\h\\i\\j\\k\\l");
	r = addr_parse_path(in, strlen(in), 0, out, sizeof(out), NULL, &err);
	tap_ok(r == 0 && strlen(out) == 38 + 2,
	    "needless escapes are dropped before the length check");
}

static void
test_route_lengths(void)
{
	char in[2048], out[ADDR_BUF], dom[300];
	const char *err = NULL;
	size_t n = 0;
	int r, i;

	/* The route counts towards the path as written. */
	make_domain(dom, 240, 63);
	n = (size_t)snprintf(in, sizeof(in), "<@%s:abcdefghijkl@x>", dom);
	errno = 0;
	r = addr_parse_path(in, n, 0, out, sizeof(out), NULL, &err);
	tap_ok(r == -1 && errno == ENAMETOOLONG, "long source route makes "
	    "the path too long");
	n = (size_t)snprintf(in, sizeof(in), "<@%s:a@x>", dom);
	r = addr_parse_path(in, n, 0, out, sizeof(out), NULL, &err);
	tap_is_str(r == 0 ? out : err, "a@x", "source route within 256 "
	    "bytes accepted and dropped");
	n = 1;
	in[0] = '<';
	for (i = 0; i < 500; i++) {
		memcpy(in + n, "@a,", 3);
		n += 3;
	}
	memcpy(in + n, "@a:b@c>", 7);
	n += 7;
	errno = 0;
	r = addr_parse_path(in, n, 0, out, sizeof(out), NULL, &err);
	tap_ok(r == -1 && errno == ENAMETOOLONG &&
	    strcmp(err, "path too long") == 0,
	    "500 source route hops: path too long");
}

static void
test_outsz(void)
{
	char out[8];
	const char *err = NULL;
	int r;

	strlcpy(out, "keep", sizeof(out));
	errno = 0;
	r = addr_parse_path(S("<abcdef@gh>"), 0, out, sizeof(out), NULL, &err);
	tap_ok(r == -1 && errno == ENAMETOOLONG && strcmp(out, "keep") == 0,
	    "canonical form larger than out: ENAMETOOLONG, out untouched");
	r = addr_parse_path(S("<abc@def>"), 0, out, sizeof(out), NULL, &err);
	tap_is_str(r == 0 ? out : err, "abc@def",
	    "canonical form of exactly outsz - 1 bytes fits");
	r = addr_parse_mailbox(S("abcd@efgh"), 0, NULL, out, sizeof(out),
	    &err);
	tap_ok(r == -1 && errno == ENAMETOOLONG,
	    "mailbox larger than out: ENAMETOOLONG");
	r = addr_parse_path(S("<a@b>"), 0, out, sizeof(out), NULL, NULL);
	tap_is_str(r == 0 ? out : NULL, "a@b", "end_out and errstr may be "
	    "NULL");
}

/*
 * Put byte c at position i of base (replacing the byte there when
 * overwrite is set) and parse the result.  True when the outcome is
 * right: after a path's '>' it still parses, everywhere else it is
 * rejected with message want (or, inside a UTF-8 sequence, as invalid
 * UTF-8, which it then is).
 */
static bool
ctl_at(const char *base, size_t i, bool overwrite, char c, const char *want,
    int flags, bool is_path)
{
	char in[300], out[ADDR_BUF];
	const char *err = NULL;
	size_t bl, n, end = 0;
	int r;

	bl = strlen(base);
	n = overwrite ? bl : bl + 1;
	memcpy(in, base, i);
	in[i] = c;
	memcpy(in + i + 1, base + i + overwrite, bl - i - overwrite);
	r = is_path ? addr_parse_path(in, n, flags, out, sizeof(out), &end,
	    &err) : addr_parse_mailbox(in, n, flags, NULL, out, sizeof(out),
	    &err);
	if (is_path && i == bl)
		return r == 0 && end == bl;
	if (r == -1 && err != NULL && i > 0 &&
	    (unsigned char)base[i - 1] >= 0x80 &&
	    (unsigned char)base[i] >= 0x80 && strcmp(err, E_UTF8) == 0)
		return true;
	if (r == -1 && err != NULL && strcmp(err, want) == 0)
		return true;
	tap_diag("%s at %zu (%s): %s", esc(&c, 1), i, overwrite ?
	    "overwrite" : "insert", r ? err : out);
	return false;
}

/*
 * Insert, and overwrite with, a control byte at every position of a good
 * input: every position up to the end of the path must be rejected with
 * the control-character message, and after '>' the path still parses.
 */
static void
test_ctl_everywhere(const char *base, int flags, bool is_path)
{
	static const struct { char c; const char *err; } ctl[] = {
		{ '\r', E_CRLF }, { '\n', E_CRLF }, { '\0', E_NUL },
		{ '\t', E_CTL }, { '\x01', E_CTL }, { '\x7f', E_CTL },
	};
	size_t bl, i, k, bad;

	bl = strlen(base);
	for (k = 0; k < sizeof(ctl) / sizeof(ctl[0]); k++) {
		bad = 0;
		for (i = 0; i <= bl; i++) {
			if (!ctl_at(base, i, false, ctl[k].c, ctl[k].err,
			    flags, is_path))
				bad++;
			if (i < bl && !ctl_at(base, i, true, ctl[k].c,
			    ctl[k].err, flags, is_path))
				bad++;
		}
		tap_ok(bad == 0, "%s %s at every position of %s: \"%s\"",
		    is_path ? "path" : "mailbox", esc(&ctl[k].c, 1),
		    esc(base, bl), ctl[k].err);
	}
}

static void
test_helpers(void)
{
	tap_is_str(addr_domain("a@b"), "b", "addr_domain of a@b is b");
	tap_is_str(addr_domain("\"a@b\"@c"), "c",
	    "addr_domain uses the last '@'");
	tap_ok(addr_domain("postmaster") == NULL,
	    "addr_domain of postmaster is NULL");
	tap_ok(addr_domain("") == NULL, "addr_domain of <> is NULL");
	tap_is_int((long long)addr_local_len("\"a@b\"@c"), 5,
	    "addr_local_len counts the quoted local part");
	tap_is_int((long long)addr_local_len("abc@d"), 3,
	    "addr_local_len of abc@d is 3");
	tap_is_int((long long)addr_local_len("postmaster"), 10,
	    "addr_local_len of postmaster is 10");
	tap_is_int((long long)addr_local_len(""), 0,
	    "addr_local_len of <> is 0");
	tap_ok(addr_is_utf8("j\xc3\xa9@x"), "addr_is_utf8 sees 8-bit bytes");
	tap_ok(!addr_is_utf8("je@x"), "addr_is_utf8 false for ASCII");
	tap_ok(addr_domain_eq("Example.COM", "example.com"),
	    "addr_domain_eq ignores ASCII case");
	tap_ok(!addr_domain_eq("a.b", "a.c"), "addr_domain_eq: a.b != a.c");
	tap_ok(!addr_domain_eq("a", "ab"), "addr_domain_eq: a != ab");
	tap_ok(!addr_domain_eq("ab", "a"), "addr_domain_eq: ab != a");
	tap_ok(!addr_domain_eq("\xc3\xa9", "\xc3\x89"),
	    "addr_domain_eq does not fold non-ASCII");
	tap_ok(addr_domain_eq("", ""), "addr_domain_eq of two empty domains");
}

/* Canonical output parses again to itself, as a path and a mailbox. */
static void
test_idempotent(void)
{
	char in[ADDR_BUF + 2], out[ADDR_BUF], again[ADDR_BUF];
	const char *err;
	size_t i, n, bad = 0;
	int f;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (paths[i].want == NULL)
			continue;
		f = paths[i].flags;
		if (addr_parse_path(paths[i].in, paths[i].len, f, out,
		    sizeof(out), NULL, &err) == -1)
			continue;
		n = (size_t)snprintf(in, sizeof(in), "<%s>", out);
		if (addr_parse_path(in, n, f, again, sizeof(again), NULL,
		    &err) == -1 || strcmp(again, out) != 0 ||
		    addr_parse_mailbox(out, strlen(out), f, NULL, again,
		    sizeof(again), &err) == -1 || strcmp(again, out) != 0) {
			tap_diag("not idempotent: %s", esc(out, strlen(out)));
			bad++;
		}
	}
	tap_ok(bad == 0, "every canonical form parses back to itself");
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		check_path(&paths[i]);
	for (i = 0; i < sizeof(mboxes) / sizeof(mboxes[0]); i++)
		check_mbox(&mboxes[i]);
	test_lengths();
	test_quoted_lengths();
	test_route_lengths();
	test_outsz();
	test_ctl_everywhere("<ab@cd.ef>", 0, true);
	test_ctl_everywhere("<\"a b\\\"c\"@[1.2.3.4]>", 0, true);
	test_ctl_everywhere("<@r.s,@t:a.b@[IPv6:::1]>", 0, true);
	test_ctl_everywhere("<j\xc3\xa9@\xc3\xa9.x>", ADDR_UTF8, true);
	test_ctl_everywhere("ab@cd.ef", 0, false);
	test_ctl_everywhere("\"a b\"@cd", 0, false);
	test_helpers();
	test_idempotent();
	return tap_done();
}
