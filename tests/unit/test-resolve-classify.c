/* test-resolve-classify: libunbound results -> tern-resolve replies. */
#include <string.h>

#include "../../resolve/classify.h"
#include "../../resolve/dnsparse.h"
#include "tap.h"

#define MAXRR	8

/* A hand-made ub_result: rdata given as byte strings with lengths. */
struct fake {
	struct ub_result	 r;
	char			*data[MAXRR + 1];
	int			 len[MAXRR];
};

struct rr {
	const char	*d;
	int		 n;
};
#define RR(s)	{ s, sizeof(s) - 1 }

enum { SEC = 1, BOG = 2, NX = 4 };

static void
fake_make(struct fake *f, const char *qname, int qtype, int rcode,
    int flags, const struct rr *rrs)
{
	int	i;

	memset(f, 0, sizeof(*f));
	f->r.qname = (char *)qname;
	f->r.qtype = qtype;
	f->r.qclass = 1;
	f->r.rcode = rcode;
	for (i = 0; rrs != NULL && rrs[i].d != NULL && i < MAXRR; i++) {
		f->data[i] = (char *)rrs[i].d;
		f->len[i] = rrs[i].n;
	}
	f->r.data = f->data;
	f->r.len = f->len;
	f->r.havedata = i > 0;
	f->r.nxdomain = (flags & NX) != 0;
	f->r.secure = (flags & SEC) != 0;
	f->r.bogus = (flags & BOG) != 0;
	f->r.why_bogus = (flags & BOG) ? (char *)"signature expired" : NULL;
}

/* The reply's data records joined with '|'. */
static const char *
recs_of(const struct dnsp_reply *r)
{
	static char	out[2048];
	size_t		pos = 0;

	out[0] = '\0';
	while (pos < r->recs.len) {
		if (out[0] != '\0')
			strlcat(out, "|", sizeof(out));
		strlcat(out, r->recs.data + pos, sizeof(out));
		pos += strlen(r->recs.data + pos) + 1;
	}
	return out;
}

struct mx_case {
	const char	*name;
	int		 rcode, flags, timedout;
	struct rr	 rrs[MAXRR + 1];
	int		 ret;
	char		 letter;
	const char	*status;
	const char	*recs;
	enum dnsp_sec	 sec;
};

static const struct mx_case mx_cases[] = {
	{ "sorted by preference, equal ones in answer order", 0, SEC, 0,
	    { RR("\0\x14\2m2\1x\0"), RR("\0\x0a\2m1\1x\0"),
	    RR("\0\x14\2m3\1x\0") }, 1, 'K', "2.0.0",
	    "M10 m1.x|M20 m2.x|M20 m3.x", DNSP_SECURE },
	{ "invalid host names skipped", 0, 0, 0,
	    { RR("\0\1\3a_b\1x\0"), RR("\0\2\1" "9\1" "9\0"),
	    RR("\0\3\2ok\1x\0"), RR("\0\4\xc0\x0c"), RR("\0\5\3-ab\1x\0") },
	    1, 'K', "2.0.0", "M3 ok.x", DNSP_INSECURE },
	{ "null MX", 0, SEC, 0, { RR("\0\0\0") }, 1, 'D', "5.1.10", "",
	    DNSP_SECURE },
	{ "null MX beside another MX is only skipped", 0, 0, 0,
	    { RR("\0\0\0"), RR("\0\x0a\2mx\1x\0") }, 1, 'K', "2.0.0",
	    "M10 mx.x", DNSP_INSECURE },
	{ "MX . at preference 10 is no null MX", 0, 0, 0, { RR("\0\x0a\0") },
	    1, 'D', "5.4.4", "", DNSP_INSECURE },
	{ "only invalid names", 0, 0, 0, { RR("\0\x0a\3_mx\1x\0") }, 1, 'D',
	    "5.4.4", "", DNSP_INSECURE },
	{ "NXDOMAIN", 3, NX | SEC, 0, { { NULL, 0 } }, 1, 'D', "5.1.2", "",
	    DNSP_SECURE },
	{ "SERVFAIL", 2, 0, 0, { { NULL, 0 } }, 1, 'Z', "4.4.3", "",
	    DNSP_INSECURE },
	{ "REFUSED", 5, 0, 0, { { NULL, 0 } }, 1, 'Z', "4.4.3", "",
	    DNSP_INSECURE },
	{ "bogus with data", 0, BOG, 0, { RR("\0\x0a\2mx\1x\0") }, 1, 'Z',
	    "4.4.3", "", DNSP_BOGUS },
	{ "bogus NXDOMAIN", 3, BOG | NX, 0, { { NULL, 0 } }, 1, 'Z', "4.4.3",
	    "", DNSP_BOGUS },
	{ "timed out", 0, 0, 1, { { NULL, 0 } }, 1, 'Z', "4.4.3", "",
	    DNSP_INSECURE },
	{ "NODATA asks for the implicit MX", 0, SEC, 0, { { NULL, 0 } }, 0,
	    0, NULL, NULL, 0 },
};

static void
test_mx(void)
{
	const struct mx_case	*c;
	struct dnsp_reply	 rep;
	struct fake		 f;
	struct dns_look		 lk;
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(mx_cases) / sizeof(mx_cases[0]); i++) {
		c = &mx_cases[i];
		fake_make(&f, "x", DNS_T_MX, c->rcode, c->flags, c->rrs);
		lk.err = 0;
		lk.res = &f.r;
		lk.timedout = c->timedout != 0;
		dnsp_reply_init(&rep);
		r = dns_mx_reply(&lk, &rep);
		tap_is_int(r, c->ret, "mx: %s: final?", c->name);
		if (r == 1) {
			tap_ok(rep.letter == c->letter &&
			    strcmp(rep.status, c->status) == 0 &&
			    rep.sec == c->sec, "mx: %s: %c %s", c->name,
			    rep.letter, rep.status);
			tap_is_str(recs_of(&rep), c->recs, "mx: %s: records",
			    c->name);
		}
		dnsp_reply_free(&rep);
	}
}

static void
test_mx_limit(void)
{
	struct dnsp_reply	 rep;
	struct ub_result	 r;
	struct dns_look		 lk = { 0, &r, false };
	static char		 rd[300][8];
	char			*data[301];
	int			 len[300], i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < 300; i++) {
		memcpy(rd[i], "\0\0\2mx\1x\0", 8);
		rd[i][1] = (char)(i % 256);
		data[i] = rd[i];
		len[i] = 8;
	}
	data[300] = NULL;
	r.qname = (char *)"x";
	r.qtype = DNS_T_MX;
	r.data = data;
	r.len = len;
	r.havedata = 1;
	dnsp_reply_init(&rep);
	tap_ok(dns_mx_reply(&lk, &rep) == 1 && rep.letter == 'K' &&
	    rep.nrecs == DNSP_RECS_MAX, "300 MX records: the first %d kept",
	    DNSP_RECS_MAX);
	len[0] = -1;
	dnsp_reply_free(&rep);
	dnsp_reply_init(&rep);
	tap_ok(dns_mx_reply(&lk, &rep) == 1 && rep.letter == 'K',
	    "a negative rdata length is skipped");
	dnsp_reply_free(&rep);
}

static const struct rr a_rrs[] = { RR("\x7f\0\0\2"), RR("\x7f\0\0\3"),
	{ NULL, 0 } };
static const struct rr aaaa_rrs[] = {
	RR("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1"), { NULL, 0 } };
static const struct rr bad_a[] = { RR("\1\2\3"), { NULL, 0 } };

/* addr with (AAAA, A) outcomes. */
struct addr_case {
	const char	*name;
	int		 rc6, fl6, rc4, fl4;
	const struct rr	*rr6, *rr4;
	char		 letter;
	const char	*status;
	const char	*recs;
	enum dnsp_sec	 sec;
};

static const struct addr_case addr_cases[] = {
	{ "both", 0, SEC, 0, SEC, aaaa_rrs, a_rrs, 'K', "2.0.0",
	    "A::1|A127.0.0.2|A127.0.0.3", DNSP_SECURE },
	{ "A only, AAAA NODATA", 0, SEC, 0, SEC, NULL, a_rrs, 'K', "2.0.0",
	    "A127.0.0.2|A127.0.0.3", DNSP_SECURE },
	{ "AAAA SERVFAIL, A data: partial", 2, 0, 0, SEC, NULL, a_rrs, 'K',
	    "2.0.0", "A127.0.0.2|A127.0.0.3", DNSP_INSECURE },
	{ "AAAA bogus, A data: temporary", 0, BOG, 0, SEC, aaaa_rrs, a_rrs,
	    'Z', "4.4.3", "", DNSP_BOGUS },
	{ "one insecure answer", 0, 0, 0, SEC, aaaa_rrs, a_rrs, 'K', "2.0.0",
	    "A::1|A127.0.0.2|A127.0.0.3", DNSP_INSECURE },
	{ "NXDOMAIN twice", 3, NX, 3, NX, NULL, NULL, 'D', "5.1.2", "",
	    DNSP_INSECURE },
	{ "NODATA twice", 0, 0, 0, 0, NULL, NULL, 'D', "5.1.2", "",
	    DNSP_INSECURE },
	{ "SERVFAIL and NODATA", 2, 0, 0, 0, NULL, NULL, 'Z', "4.4.3", "",
	    DNSP_INSECURE },
	{ "only malformed A rdata", 0, 0, 0, 0, NULL, bad_a, 'Z', "4.4.3", "",
	    DNSP_INSECURE },
};

static void
test_addr(void)
{
	const struct addr_case	*c;
	struct dnsp_reply	 rep;
	struct fake		 f6, f4, fmx;
	struct dns_look		 lk[2], mx = { 0, &fmx.r, false };
	size_t			 i;

	for (i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		c = &addr_cases[i];
		fake_make(&f6, "h", DNS_T_AAAA, c->rc6, c->fl6, c->rr6);
		fake_make(&f4, "h", DNS_T_A, c->rc4, c->fl4, c->rr4);
		lk[0] = (struct dns_look){ 0, &f6.r, false };
		lk[1] = (struct dns_look){ 0, &f4.r, false };
		dnsp_reply_init(&rep);
		dns_addr_reply(lk, 2, &rep);
		tap_ok(rep.letter == c->letter && strcmp(rep.status,
		    c->status) == 0 && rep.sec == c->sec,
		    "addr: %s: %c %s", c->name, rep.letter, rep.status);
		tap_is_str(recs_of(&rep), c->recs, "addr: %s: records",
		    c->name);
		dnsp_reply_free(&rep);
		/* The same lookups as the implicit MX of "H.example." */
		fake_make(&fmx, "h", DNS_T_MX, 0, SEC, NULL);
		dnsp_reply_init(&rep);
		dns_implicit_reply(&mx, lk, 2, "H.example.", &rep);
		if (c->letter == 'K')
			tap_ok(rep.letter == 'K' && rep.implicit &&
			    strcmp(recs_of(&rep), "M0 h.example") == 0,
			    "implicit MX: %s: 0 h.example", c->name);
		else
			tap_ok(rep.letter == c->letter && !rep.implicit &&
			    rep.nrecs == 0, "implicit MX: %s: %c", c->name,
			    c->letter);
		dnsp_reply_free(&rep);
	}
}

static void
test_tlsa(void)
{
	static const struct rr tl[] = { RR("\3\1\1\xaa\xbb"), RR("\3\1"),
		{ NULL, 0 } };
	struct dnsp_reply	rep;
	struct fake		f;
	struct dns_look		lk = { 0, &f.r, false };

	fake_make(&f, "_25._tcp.h", DNS_T_TLSA, 0, SEC, tl);
	dnsp_reply_init(&rep);
	dns_tlsa_reply(&lk, &rep);
	tap_ok(rep.letter == 'K' && rep.sec == DNSP_SECURE &&
	    strcmp(recs_of(&rep), "T3 1 1 aabb") == 0,
	    "tlsa: secure record kept, a short one skipped");
	fake_make(&f, "_25._tcp.h", DNS_T_TLSA, 3, NX | SEC, NULL);
	dns_tlsa_reply(&lk, &rep);
	tap_ok(rep.letter == 'K' && rep.sec == DNSP_SECURE && rep.nrecs == 0,
	    "tlsa: NXDOMAIN is K with no records, secure denial");
	fake_make(&f, "_25._tcp.h", DNS_T_TLSA, 0, BOG, tl);
	dns_tlsa_reply(&lk, &rep);
	tap_ok(rep.letter == 'Z' && rep.sec == DNSP_BOGUS && rep.nrecs == 0,
	    "tlsa: bogus is Z without records");
	lk.res = NULL;
	lk.err = UB_SERVFAIL;
	dns_tlsa_reply(&lk, &rep);
	tap_ok(rep.letter == 'Z' && strcmp(rep.status, "4.4.3") == 0,
	    "tlsa: a resolver error is Z 4.4.3");
	dnsp_reply_free(&rep);
}

static void
test_canon(void)
{
	struct dnsp_reply	rep;
	struct fake		f;
	struct dns_look		lk = { 0, &f.r, false };

	fake_make(&f, "alias.x", DNS_T_A, 0, 0, a_rrs);
	f.r.canonname = (char *)"MX1.x.";
	dnsp_reply_init(&rep);
	dns_addr_reply(&lk, 1, &rep);
	tap_is_str(rep.canon, "mx1.x", "a CNAME target becomes the C record");
	fake_make(&f, "mx1.x.", DNS_T_A, 0, 0, a_rrs);
	f.r.canonname = (char *)"mx1.x.";
	dns_addr_reply(&lk, 1, &rep);
	tap_is_str(rep.canon, "", "no C record when the name is its own");
	f.r.canonname = (char *)"bad name.";
	dns_addr_reply(&lk, 1, &rep);
	tap_is_str(rep.canon, "", "a canonical name with a blank is dropped");
	dnsp_reply_free(&rep);
}

int
main(void)
{
	test_mx();
	test_mx_limit();
	test_addr();
	test_tlsa();
	test_canon();
	return tap_done();
}
