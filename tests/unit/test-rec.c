/* test-rec: NUL-terminated records. */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "rec.h"
#include "tap.h"

struct bytes {
	const char	*s;
	size_t		 n;
};
#define B(str)	{ str, sizeof(str) - 1 }

/* rec_next over data: the records it yields, then how it ends. */
struct next_case {
	const char	*name;
	struct bytes	 data;
	size_t		 max;
	const char	*recs[4];	/* records before the end */
	int		 end_ret;	/* 0 clean end, -1 error */
	int		 end_err;
};

static const struct next_case next_cases[] = {
	{ "no data is the end", B(""), 10, { NULL }, 0, 0 },
	{ "records in order", B("Fa@b\0Tc@d\0\0"), 10,
	    { "Fa@b", "Tc@d", "", NULL }, 0, 0 },
	{ "an empty record", B("\0"), 10, { "", NULL }, 0, 0 },
	{ "record of exactly max bytes", B("abcd\0"), 4,
	    { "abcd", NULL }, 0, 0 },
	{ "record of max + 1 bytes", B("abcde\0"), 4,
	    { NULL }, -1, EMSGSIZE },
	{ "missing final NUL", B("ab\0cd"), 10, { "ab", NULL }, -1, EINVAL },
	{ "LF inside a record", B("a\nb\0"), 10, { NULL }, -1, EINVAL },
	{ "CR inside a record", B("ok\0a\rb\0"), 10,
	    { "ok", NULL }, -1, EINVAL },
};

static void
test_next(void)
{
	const struct next_case *c;
	const char *rec;
	size_t i, j, pos, len;
	bool ok;
	int r;

	for (i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]); i++) {
		c = &next_cases[i];
		pos = 0;
		ok = true;
		for (j = 0; c->recs[j] != NULL; j++) {
			r = rec_next(c->data.s, c->data.n, &pos, c->max, &rec,
			    &len);
			if (r != 1 || len != strlen(c->recs[j]) ||
			    memcmp(rec, c->recs[j], len) != 0)
				ok = false;
		}
		tap_ok(ok, "%s: records", c->name);
		errno = 0;
		r = rec_next(c->data.s, c->data.n, &pos, c->max, &rec, &len);
		tap_ok(r == c->end_ret && (r == 0 || errno == c->end_err),
		    "%s: ends with %d", c->name, c->end_ret);
	}
}

struct put_case {
	const char	*name;
	char		 tag;	/* 0: rec_put */
	const char	*s;
	size_t		 max;
	int		 want_ret;
	int		 want_err;
	struct bytes	 want;	/* buffer after "x\0" + this put */
};

static const struct put_case put_cases[] = {
	{ "put appends the string and a NUL", 0, "abc", 64, 0, 0,
	    B("x\0abc\0") },
	{ "put of an empty string is one NUL", 0, "", 64, 0, 0, B("x\0\0") },
	{ "put refuses LF", 0, "a\nb", 64, -1, EINVAL, B("x\0") },
	{ "put refuses CR", 0, "a\rb", 64, -1, EINVAL, B("x\0") },
	{ "put that does not fit changes nothing", 0, "abc", 5, -1, E2BIG,
	    B("x\0") },
	{ "put that fits exactly", 0, "ab", 5, 0, 0, B("x\0ab\0") },
	{ "tagged put", 'T', "c@d", 64, 0, 0, B("x\0Tc@d\0") },
	{ "tagged put refuses CR", 'T', "c\r", 64, -1, EINVAL, B("x\0") },
	{ "tagged put refuses a LF tag", '\n', "c", 64, -1, EINVAL, B("x\0") },
	{ "tagged put that does not fit changes nothing", 'T', "ab", 5, -1,
	    E2BIG, B("x\0") },
	{ "tagged put that fits exactly", 'T', "a", 5, 0, 0, B("x\0Ta\0") },
};

static void
test_put(void)
{
	const struct put_case *c;
	struct buf b;
	size_t i;
	int r;

	for (i = 0; i < sizeof(put_cases) / sizeof(put_cases[0]); i++) {
		c = &put_cases[i];
		buf_init(&b, c->max);
		(void)buf_append(&b, "x", 2);
		errno = 0;
		r = c->tag ? rec_put_tag(&b, c->tag, c->s) : rec_put(&b, c->s);
		tap_ok(r == c->want_ret && (r == 0 || errno == c->want_err),
		    "%s: returns %d", c->name, c->want_ret);
		tap_ok(b.len == c->want.n && memcmp(b.data, c->want.s,
		    b.len) == 0, "%s: buffer", c->name);
		buf_free(&b);
	}
}

static void
test_clean(void)
{
	tap_ok(rec_clean("abc", 3), "plain text is clean");
	tap_ok(rec_clean("", 0), "empty text is clean");
	tap_ok(!rec_clean("a\0c", 3), "NUL is not clean");
	tap_ok(!rec_clean("a\r", 2), "CR is not clean");
	tap_ok(!rec_clean("\n", 1), "LF is not clean");
	tap_ok(rec_clean("a\nb", 1), "only len bytes are looked at");
}

/* What rec_put writes, rec_next reads back unchanged. */
static void
test_roundtrip(void)
{
	static const char *const in[] = { "V1", "Fa@b", "", "Tc@d" };
	const char *rec;
	struct buf b;
	size_t i, pos = 0, len;
	bool ok = true;

	buf_init(&b, 1024);
	(void)rec_put(&b, in[0]);
	(void)rec_put_tag(&b, 'F', in[1] + 1);
	(void)rec_put(&b, in[2]);
	(void)rec_put_tag(&b, 'T', in[3] + 1);
	for (i = 0; i < 4; i++)
		ok = ok && rec_next(b.data, b.len, &pos, 100, &rec, &len) == 1 &&
		    len == strlen(in[i]) && memcmp(rec, in[i], len) == 0;
	ok = ok && rec_next(b.data, b.len, &pos, 100, &rec, &len) == 0;
	tap_ok(ok, "records put are read back in order, then the end");
	buf_free(&b);
}

int
main(void)
{
	test_roundtrip();
	test_next();
	test_put();
	test_clean();
	return tap_done();
}
