/* test-resolve-proto: tern-resolve's pipe protocol (lib/dnsproto). */
#include <string.h>

#include "buf.h"
#include "dnsproto.h"
#include "tap.h"

struct bytes {
	const char	*s;
	size_t		 n;
};
#define B(str)	{ str, sizeof(str) - 1 }

struct req_case {
	const char	*name;
	struct bytes	 data;
	int		 ret;		/* 1, 0 or -1 */
	unsigned long	 id;
	enum dnsp_type	 type;
	const char	*qname;
	size_t		 used;
};

static const struct req_case req_cases[] = {
	{ "mx request", B("1\0mx\0example.org\0\0"), 1, 1, DNSP_MX,
	    "example.org", 18 },
	{ "tlsa request with a final dot",
	    B("42\0tlsa\0_25._tcp.mx.example.org.\0\0"), 1, 42, DNSP_TLSA,
	    "_25._tcp.mx.example.org.", 34 },
	{ "id 0", B("0\0a\0h\0\0"), 1, 0, DNSP_A, "h", 7 },
	{ "largest id", B("999999999\0aaaa\0h\0\0"), 1, 999999999,
	    DNSP_AAAA, "h", 18 },
	{ "first of two frames", B("1\0addr\0h\0\0" "2\0mx\0i\0\0"), 1, 1,
	    DNSP_ADDR, "h", 10 },
	{ "a name the resolver will refuse is still a frame",
	    B("3\0mx\0-bad-\0\0"), 1, 3, DNSP_MX, "-bad-", 12 },
	{ "nothing yet", B(""), 0, 0, 0, NULL, 0 },
	{ "half a frame", B("12\0mx\0exa"), 0, 0, 0, NULL, 0 },
	{ "all but the final NUL", B("12\0mx\0example.org\0"), 0, 0, 0, NULL,
	    0 },
	{ "id of 10 digits", B("1000000000\0mx\0h\0\0"), -1, 0, 0, NULL, 0 },
	{ "id with a leading zero", B("01\0mx\0h\0\0"), -1, 0, 0, NULL, 0 },
	{ "empty id", B("\0mx\0h\0\0"), -1, 0, 0, NULL, 0 },
	{ "negative id", B("-1\0mx\0h\0\0"), -1, 0, 0, NULL, 0 },
	{ "unknown type", B("1\0txt\0h\0\0"), -1, 0, 0, NULL, 0 },
	{ "type in upper case", B("1\0MX\0h\0\0"), -1, 0, 0, NULL, 0 },
	{ "empty name", B("1\0mx\0\0\0"), -1, 0, 0, NULL, 0 },
	{ "LF in the name", B("1\0mx\0a\nb\0\0"), -1, 0, 0, NULL, 0 },
	{ "8-bit byte in the name", B("1\0mx\0\xc3\xa9.org\0\0"), -1, 0, 0,
	    NULL, 0 },
	{ "a fourth field", B("1\0mx\0h\0x\0\0"), -1, 0, 0, NULL, 0 },
};

static void
test_req_parse(void)
{
	const struct req_case	*c;
	struct dnsp_req		 q;
	const char		*err;
	size_t			 i, used;
	int			 r;

	for (i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		c = &req_cases[i];
		memset(&q, 0, sizeof(q));
		used = 0;
		r = dnsp_req_parse(c->data.s, c->data.n, &used, &q, &err);
		tap_is_int(r, c->ret, "request: %s", c->name);
		if (r == 1)
			tap_ok(q.id == c->id && q.type == c->type &&
			    strcmp(q.name, c->qname) == 0 && used == c->used,
			    "request: %s: fields and length", c->name);
	}
}

/* Name length limits and the frame limit. */
static void
test_req_limits(void)
{
	char		 data[DNSP_REQ_MAX + 64];
	struct dnsp_req	 q;
	const char	*err;
	size_t		 used, n;

	memcpy(data, "1\0mx\0", 5);
	memset(data + 5, 'a', DNSP_NAME_MAX + 1);
	n = 5 + DNSP_NAME_MAX + 1;
	data[n++] = '\0';
	data[n++] = '\0';
	tap_is_int(dnsp_req_parse(data, n, &used, &q, &err), 1,
	    "a name of %d bytes (with its final dot) is a frame",
	    DNSP_NAME_MAX + 1);
	memset(data + 5, 'a', DNSP_NAME_MAX + 2);
	n = 5 + DNSP_NAME_MAX + 2;
	data[n++] = '\0';
	data[n++] = '\0';
	tap_is_int(dnsp_req_parse(data, n, &used, &q, &err), -1,
	    "a name one byte longer is a protocol error");
	memset(data + 5, 'a', sizeof(data) - 5);
	tap_is_int(dnsp_req_parse(data, 100, &used, &q, &err), 0,
	    "100 bytes of a name so far: wait for more");
	tap_is_int(dnsp_req_parse(data, DNSP_REQ_MAX, &used, &q, &err), -1,
	    "DNSP_REQ_MAX bytes without an end: protocol error");
}

static void
test_req_format(void)
{
	struct dnsp_req	 q = { 77, DNSP_TLSA, "_25._tcp.h.example" }, back;
	struct buf	 b;
	const char	*err;
	size_t		 used;

	buf_init(&b, 4096);
	tap_is_int(dnsp_req_format(&b, &q), 0, "format a request");
	tap_ok(dnsp_req_parse(b.data, b.len, &used, &back, &err) == 1 &&
	    used == b.len && back.id == 77 && back.type == DNSP_TLSA &&
	    strcmp(back.name, q.name) == 0, "a formatted request parses back");
	q.id = DNSP_ID_MAX + 1;
	tap_is_int(dnsp_req_format(&b, &q), -1, "id over DNSP_ID_MAX refused");
	q.id = 1;
	strlcpy(q.name, "a\nb", sizeof(q.name));
	tap_is_int(dnsp_req_format(&b, &q), -1, "LF in a name refused");
	buf_free(&b);
}

static void
test_reply_roundtrip(void)
{
	struct dnsp_reply	 r;
	struct dnsp_answer	 a;
	struct buf		 b;
	const char		*err, *v;
	size_t			 used, pos = 0;
	char			 tag;

	buf_init(&b, DNSP_REPLY_MAX);
	dnsp_reply_init(&r);
	r.sec = DNSP_SECURE;
	r.implicit = true;
	strlcpy(r.canon, "mx1.example.org", sizeof(r.canon));
	dnsp_reply_set(&r, 'K', "2.0.0", "implicit\tMX");
	tap_is_str(r.text, "implicit?MX", "control bytes in a text become ?");
	tap_is_int(dnsp_reply_add(&r, 'M', "0 example.org"), 0, "add M");
	tap_is_int(dnsp_reply_add(&r, 'M', "bad\nvalue"), -1,
	    "a record with LF is refused");
	tap_is_int(dnsp_reply_add(&r, 'x', "v"), -1,
	    "a lower-case tag is refused");
	tap_is_int(dnsp_reply_format(&b, 9, &r), 0, "format a reply");
	tap_ok(b.len == 65 && memcmp(b.data, "9\0K\0002.0.0\0implicit?MX\0"
	    "Ssecure\0I\0Cmx1.example.org\0M0 example.org\0\0", b.len) == 0,
	    "the reply frame's bytes");
	tap_is_int(dnsp_answer_parse(b.data, b.len, &used, &a, &err), 1,
	    "the frame parses as an answer");
	tap_ok(used == b.len && a.id == 9 && a.letter == 'K' &&
	    strcmp(a.status, "2.0.0") == 0 && a.sec == DNSP_SECURE &&
	    a.implicit && a.canon != NULL &&
	    strcmp(a.canon, "mx1.example.org") == 0 && a.nrecs == 1,
	    "answer fields");
	tap_ok(dnsp_answer_next(&a, &pos, &tag, &v) == 1 && tag == 'M' &&
	    strcmp(v, "0 example.org") == 0 &&
	    dnsp_answer_next(&a, &pos, &tag, &v) == 0,
	    "answer records walk");
	tap_is_int(dnsp_answer_parse(b.data, b.len - 1, &used, &a, &err), 0,
	    "a reply without its final NUL is incomplete");
	dnsp_reply_free(&r);
	buf_free(&b);
}

static void
test_reply_limits(void)
{
	struct dnsp_reply	r;
	int			i, ok = 0;

	dnsp_reply_init(&r);
	for (i = 0; i < DNSP_RECS_MAX + 5; i++)
		if (dnsp_reply_add(&r, 'A', "127.0.0.1") == 0)
			ok++;
	tap_is_int(ok, DNSP_RECS_MAX, "at most DNSP_RECS_MAX records");
	dnsp_reply_clear(&r);
	tap_is_int((long long)r.nrecs, 0, "clear forgets the records");
	dnsp_reply_free(&r);
}

struct ans_case {
	const char	*name;
	struct bytes	 data;
	int		 ret;
};

static const struct ans_case ans_cases[] = {
	{ "temporary with bogus", B("1\0Z\0004.4.3\0bad\0Sbogus\0\0"), 1 },
	{ "permanent 5.1.10", B("1\0D\0005.1.10\0null\0Ssecure\0\0"), 1 },
	{ "no S record", B("1\0K\0002.0.0\0ok\0A1.2.3.4\0\0"), -1 },
	{ "two S records", B("1\0K\0002.0.0\0ok\0Ssecure\0Ssecure\0\0"), -1 },
	{ "unknown S value", B("1\0K\0002.0.0\0ok\0Smaybe\0\0"), -1 },
	{ "status class against the letter",
	    B("1\0K\0004.4.3\0ok\0Ssecure\0\0"), -1 },
	{ "status with four parts", B("1\0K\0002.0.0.1\0ok\0Ssecure\0\0"), -1 },
	{ "unknown letter", B("1\0Q\0002.0.0\0ok\0Ssecure\0\0"), -1 },
	{ "unknown tag", B("1\0K\0002.0.0\0ok\0Ssecure\0Xv\0\0"), -1 },
	{ "S after data", B("1\0K\0002.0.0\0ok\0A1\0Ssecure\0\0"), -1 },
	{ "empty data record tag only", B("1\0K\0002.0.0\0ok\0Ssecure\0A\0\0"),
	    -1 },
	{ "incomplete", B("1\0K\0002.0.0\0ok\0Ssec"), 0 },
};

static void
test_answer_parse(void)
{
	struct dnsp_answer	 a;
	const char		*err;
	size_t			 i, used;

	for (i = 0; i < sizeof(ans_cases) / sizeof(ans_cases[0]); i++)
		tap_is_int(dnsp_answer_parse(ans_cases[i].data.s,
		    ans_cases[i].data.n, &used, &a, &err), ans_cases[i].ret,
		    "answer: %s", ans_cases[i].name);
}

int
main(void)
{
	test_req_parse();
	test_req_limits();
	test_req_format();
	test_reply_roundtrip();
	test_reply_limits();
	test_answer_parse();
	return tap_done();
}
