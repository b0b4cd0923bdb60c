/* test-smtpreply: the strict SMTP reply parser. */
#include <stdlib.h>
#include <string.h>

#include "smtpreply.h"
#include "tap.h"

struct okcase {
	const char	*name;
	const char	*in;
	int		 code;
	const char	*status;
	size_t		 nlines;
	const char	*summary;
	size_t		 used;		/* 0: all of in */
};

static const struct okcase okcases[] = {
	{ "single line", "250 ok\r\n", 250, "2.0.0", 1, "250 ok", 0 },
	{ "enhanced code taken", "550 5.1.1 no such user\r\n", 550,
	    "5.1.1", 1, "550 5.1.1 no such user", 0 },
	{ "enhanced code of another class ignored",
	    "450 5.1.1 odd\r\n", 450, "4.0.0", 1, "450 5.1.1 odd", 0 },
	{ "multi-line reply joined", "250-mx.example\r\n250-SIZE 100\r\n"
	    "250 PIPELINING\r\n", 250, "2.0.0", 3,
	    "250 mx.example SIZE 100 PIPELINING", 0 },
	{ "bare LF accepted", "220 hi\n", 220, "2.0.0", 1, "220 hi", 0 },
	{ "code alone", "354\r\n", 354, "2.0.0", 1, "354", 0 },
	{ "empty continuation text", "250-\r\n250 x\r\n", 250, "2.0.0", 2,
	    "250 x", 0 },
	{ "stops after one reply", "250 a\r\n251 b\r\n", 250, "2.0.0", 1,
	    "250 a", 7 },
	{ "control bytes cleaned", "421 4.3.2 bye\x01\x7f\xc3\xa9 now\r\n",
	    421, "4.3.2", 1, "421 4.3.2 bye now", 0 },
	{ "enhanced code with three-digit parts",
	    "554 5.123.456 x\r\n", 554, "5.123.456", 1,
	    "554 5.123.456 x", 0 },
	{ "not enhanced: four digits", "550 5.1111.1 x\r\n", 550, "5.0.0",
	    1, "550 5.1111.1 x", 0 },
};

static const struct {
	const char	*name;
	const char	*in;
} badcases[] = {
	{ "letters for a code", "abc ok\r\n" },
	{ "two-digit code", "25 ok\r\n" },
	{ "1xx code", "150 go\r\n" },
	{ "6xx code", "650 no\r\n" },
	{ "second digit above 5", "260 x\r\n" },
	{ "bad separator", "250xok\r\n" },
	{ "code changes in a multi-line reply", "250-a\r\n251 b\r\n" },
	{ "CR without LF", "250 a\rb\r\n" },
	{ "empty line", "\r\n" },
};

static int
feed_str(struct smtpreply *r, const char *s, size_t len, size_t *used,
    const char **err)
{
	smtpreply_init(r);
	return smtpreply_feed(r, s, len, used, err);
}

static void
test_ok(struct smtpreply *r)
{
	const struct okcase	*c;
	const char		*err = NULL;
	char			 sum[200];
	size_t			 i, used, len;

	for (i = 0; i < sizeof(okcases) / sizeof(okcases[0]); i++) {
		c = &okcases[i];
		len = strlen(c->in);
		tap_is_int(feed_str(r, c->in, len, &used, &err), 1,
		    "%s: complete", c->name);
		tap_is_int(used, c->used ? c->used : len, "%s: used",
		    c->name);
		tap_is_int(r->code, c->code, "%s: code", c->name);
		tap_is_str(smtpreply_status(r), c->status, "%s: status",
		    c->name);
		tap_is_int(r->nlines, c->nlines, "%s: lines", c->name);
		tap_is_str(smtpreply_summary(r, sum, sizeof(sum)),
		    c->summary, "%s: summary", c->name);
	}
}

static void
test_bad(struct smtpreply *r)
{
	const char	*err;
	size_t		 i, used;

	for (i = 0; i < sizeof(badcases) / sizeof(badcases[0]); i++) {
		err = NULL;
		tap_ok(feed_str(r, badcases[i].in, strlen(badcases[i].in),
		    &used, &err) == -1 && err != NULL, "rejected: %s",
		    badcases[i].name);
	}
	err = NULL;
	tap_ok(feed_str(r, "250 a\0b\r\n", 9, &used, &err) == -1 &&
	    err != NULL, "rejected: NUL byte in a line");
}

/* Byte by byte, across two replies in one stream. */
static void
test_split(struct smtpreply *r)
{
	const char	*s = "250-a\r\n250 b\r\n354 go\r\n", *err;
	size_t		 i, used, n = strlen(s);
	int		 got = 0, rv;

	smtpreply_init(r);
	for (i = 0; i < n; i++) {
		rv = smtpreply_feed(r, s + i, 1, &used, &err);
		if (rv == 1 && ++got == 1)
			tap_ok(r->code == 250 && r->nlines == 2,
			    "byte by byte: first reply after its last LF");
		if (rv == -1)
			break;
	}
	tap_ok(got == 2 && r->code == 354, "byte by byte: second reply");
}

static void
test_limits(struct smtpreply *r)
{
	char		*big;
	const char	*err, *line;
	size_t		 used, n, i, ll;
	int		 rv = 0;

	big = malloc(70000);
	if (big == NULL)
		abort();
	memcpy(big, "250 ", 4);
	memset(big + 4, 'x', SMTPREPLY_LINE_MAX);
	memcpy(big + 4 + SMTPREPLY_LINE_MAX, "\r\n", 2);
	tap_is_int(feed_str(r, big, SMTPREPLY_LINE_MAX + 6, &used, &err), 1,
	    "a line of exactly SMTPREPLY_LINE_MAX text bytes is taken");
	memset(big + 4, 'x', 65536);
	memcpy(big + 4 + 65536, "\r\n", 2);
	tap_is_int(feed_str(r, big, 65542, &used, &err), -1,
	    "a 64 KiB line is refused");
	tap_ok(used <= SMTPREPLY_LINE_MAX + 8,
	    "the long line is refused soon after the limit (%zu)", used);
	smtpreply_init(r);
	for (i = 0; i < 100000; i++) {
		rv = smtpreply_feed(r, "250-x\r\n", 7, &used, &err);
		if (rv != 0)
			break;
	}
	tap_ok(rv == -1 && i == SMTPREPLY_LINES_MAX,
	    "100000 continuation lines: refused at line %zu", i + 1);
	smtpreply_init(r);
	n = 0;
	rv = 0;
	for (i = 0; i < 40 && rv != -1; i++) {
		memcpy(big, "250-", 4);
		memset(big + 4, 'y', 4000);
		memcpy(big + 4004, "\r\n", 2);
		rv = smtpreply_feed(r, big, 4006, &used, &err);
		n++;
	}
	tap_ok(rv == -1 && n == 17, "text beyond 64 KiB is refused (line %zu)",
	    n);
	feed_str(r, "250-one\r\n250-two\r\n250 three\r\n", 30, &used, &err);
	tap_ok(smtpreply_line(r, 1, &line, &ll) && ll == 3 &&
	    memcmp(line, "two", 3) == 0, "line 1 of a reply");
	tap_ok(!smtpreply_line(r, 3, &line, &ll), "no line 3");
	free(big);
}

static void
test_clean(void)
{
	char	out[8];

	tap_is_str(smtpreply_clean(out, sizeof(out), "ab\r\n\tcdefghij", 13),
	    "ab cdef", "clean: blanks squeezed and cut to the buffer");
	tap_is_str(smtpreply_clean(out, 1, "abc", 3), "",
	    "clean: a one-byte buffer gets the empty string");
}

int
main(void)
{
	struct smtpreply	*r;

	r = malloc(sizeof(*r));
	if (r == NULL)
		abort();
	test_ok(r);
	test_bad(r);
	test_split(r);
	test_limits(r);
	test_clean();
	free(r);
	return tap_done();
}
