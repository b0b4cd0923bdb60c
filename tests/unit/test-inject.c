/* test-inject: sendmail's header parser, address lists, fix-up, options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "buf.h"
#include "../../queue/hdr.h"
#include "../../queue/inject.h"
#include "tap.h"

#define S(x)	x, sizeof(x) - 1

/* ---- hdr_parse ---- */

struct pcase {
	const char	*name;
	const char	*in;
	size_t		 len;
	bool		 complete;
	int		 rc;		/* 0 or -1 */
	int		 eno;		/* errno when rc == -1 */
	size_t		 nfields;
	bool		 none;
	size_t		 body;		/* offset of the body */
	const char	*names;		/* field names joined by '|' */
};

static const struct pcase pcases[] = {
	{ "two fields and a body", S("A: 1\nB: 2\n\nbody\n"), true, 0, 0,
	    2, false, 11, "A|B" },
	{ "folded field is one field", S("Subject: a\n b\n\tc\nX: y\n\nz"),
	    true, 0, 0, 2, false, 23, "Subject|X" },
	{ "blanks before the colon (obsolete) accepted",
	    S("Subject : x\n\n"), true, 0, 0, 1, false, 13, "Subject" },
	{ "no body, header ends at EOF", S("A: 1\nB: 2"), true, 0, 0, 2,
	    false, 9, "A|B" },
	{ "empty first line: no fields, body after it", S("\nbody"), true,
	    0, 0, 0, false, 1, "" },
	{ "empty input", S(""), true, 0, 0, 0, false, 0, "" },
	{ "first line not a field: all body", S("hello world\nA: b\n"),
	    true, 0, 0, 0, true, 0, "" },
	{ "first line a continuation: all body", S(" x\nA: b\n"), true, 0,
	    0, 0, true, 0, "" },
	{ "colon-less line inside the header refused",
	    S("A: 1\nbroken line\n\nbody"), true, -1, EINVAL, 0, false, 0,
	    "" },
	{ "empty field name inside the header refused",
	    S("A: 1\n: x\n\n"), true, -1, EINVAL, 0, false, 0, "" },
	{ "NUL in the header refused", S("A: 1\nB: \0x\n\n"), true, -1,
	    EINVAL, 0, false, 0, "" },
	{ "NUL in the body is not the parser's business",
	    S("A: 1\n\nx\0y"), true, 0, 0, 1, false, 6, "A" },
	{ "no empty line within an incomplete buffer: too large",
	    S("A: 1\nB: 2\n"), false, -1, EFBIG, 0, false, 0, "" },
	{ "empty line within an incomplete buffer is fine",
	    S("A: 1\n\nmore"), false, 0, 0, 1, false, 6, "A" },
	{ "space inside a field name is not a field", S("A b: 1\n\n"),
	    true, 0, 0, 0, true, 0, "" },
	{ "mbox From line is not a field",
	    S("From a@b Thu Nov 26 07:00:00 2026\n"), true, 0, 0, 0, true,
	    0, "" },
};

static void
names_of(const char *d, const struct hdr *h, char *out, size_t outsz)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < h->n; i++) {
		if (i > 0)
			(void)strlcat(out, "|", outsz);
		(void)snprintf(out + strlen(out), outsz - strlen(out), "%.*s",
		    (int)h->f[i].name_len, d + h->f[i].off);
	}
}

static void
test_parse(void)
{
	const struct pcase *c;
	struct hdr h;
	const char *why = NULL;
	char names[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		c = &pcases[i];
		errno = 0;
		rc = hdr_parse(c->in, c->len, c->complete, &h, &why);
		tap_is_int(rc, c->rc, "hdr_parse: %s", c->name);
		if (rc == -1) {
			tap_is_int(errno, c->eno, "hdr_parse: %s: errno",
			    c->name);
			continue;
		}
		names_of(c->in, &h, names, sizeof(names));
		tap_ok(h.n == c->nfields && h.none == c->none &&
		    (c->none || h.body == c->body) &&
		    strcmp(names, c->names) == 0,
		    "hdr_parse: %s: fields %s body %zu", c->name, names,
		    h.body);
		hdr_free(&h);
	}
}

/* Line and section limits, built at run time. */
static void
test_parse_limits(void)
{
	struct buf b;
	struct hdr h;
	const char *why;
	size_t i;

	buf_init(&b, 4 * HDR_SECTION_MAX);
	(void)buf_appends(&b, "X: ");
	for (i = 3; i < HDR_LINE_MAX; i++)
		(void)buf_appendc(&b, 'a');
	(void)buf_appends(&b, "\n\n");
	tap_is_int(hdr_parse(b.data, b.len, true, &h, &why), 0,
	    "hdr_parse: a header line of exactly 998 bytes is accepted");
	hdr_free(&h);
	buf_truncate(&b, b.len - 2);
	(void)buf_appends(&b, "a\n\n");
	errno = 0;
	tap_ok(hdr_parse(b.data, b.len, true, &h, &why) == -1 &&
	    errno == E2BIG, "hdr_parse: a header line of 999 bytes is refused");
	buf_reset(&b);
	for (i = 0; i <= HDR_FIELDS_MAX; i++)
		(void)buf_appends(&b, "X: y\n");
	errno = 0;
	tap_ok(hdr_parse(b.data, b.len, true, &h, &why) == -1 &&
	    errno == E2BIG, "hdr_parse: more than %d fields are refused",
	    HDR_FIELDS_MAX);
	buf_truncate(&b, b.len - 5);
	tap_ok(hdr_parse(b.data, b.len, true, &h, &why) == 0 &&
	    h.n == HDR_FIELDS_MAX, "hdr_parse: %d fields are accepted",
	    HDR_FIELDS_MAX);
	hdr_free(&h);
	buf_free(&b);
}

/* ---- hdr_addrlist ---- */

static int
collect(void *arg, const char *spec, size_t len, const char **errstr)
{
	struct buf *b = arg;

	(void)errstr;
	if (b->len > 0)
		(void)buf_appendc(b, '|');
	return buf_append(b, spec, len);
}

struct acase {
	const char	*in;
	const char	*want;	/* mailboxes joined by '|', NULL: error */
};

static const struct acase acases[] = {
	{ "a@b", "a@b" },
	{ "a@b, c@d", "a@b|c@d" },
	{ "John Smith <js@example.org>", "js@example.org" },
	{ "\"Smith, John\" <js@x>, k@y", "js@x|k@y" },
	{ "\"a \\\" quote, comma\" <q@x>", "q@x" },
	{ "js@x (John Smith)", "js@x" },
	{ "(lead) js (mid) @ (x) x.org (tail)", "js@x.org" },
	{ "js@x (nested (comment) here)", "js@x" },
	{ "js@x (comma, in comment), k@y", "js@x|k@y" },
	{ "undisclosed-recipients:;", "" },
	{ "undisclosed-recipients: ;, a@b", "a@b" },
	{ "team: a@b, B <c@d>;, e@f", "a@b|c@d|e@f" },
	{ "team: a@b (open group at the end)", NULL },
	{ "a.b: d@e.f", NULL },
	{ "a@b.c: d@e.f;", NULL },
	{ "a@b.c\nX-Inj: 1", NULL },
	{ "x@[1.2.3.4]: d@e.f;", NULL },
	{ ": d@e.f;", NULL },
	{ "a@b.c <d@e.f>", NULL },
	{ "a @ b <d@e.f>", NULL },
	{ "[1.2.3.4] <d@e.f>", NULL },
	{ "\"a@b.c\" <d@e.f>", "d@e.f" },
	{ "\"a@b.c\": d@e.f;", "d@e.f" },
	{ "a.b: d@e.f;", "d@e.f" },
	{ "Dr. J. Q. <d@e.f>", "d@e.f" },
	{ "<@r1,@r2:a@b>", "a@b" },
	{ "\"a b\"@x", "\"a b\"@x" },
	{ "a@[127.0.0.1]", "a@[127.0.0.1]" },
	{ "root", "root" },
	{ "John Q. Public <jqp@x>", "jqp@x" },
	{ "first . last @ x", "first.last@x" },
	{ "a@b,\n c@d", "a@b|c@d" },
	{ ",, a@b ,,", "a@b" },
	{ "", "" },
	{ "J\xc3\xb6rg <j@x>", "j@x" },
	{ "John Smith", NULL },
	{ "a@b c@d", NULL },
	{ "<a@b", NULL },
	{ "a@b>", NULL },
	{ "<>", NULL },
	{ "\"unterminated <a@b>", NULL },
	{ "a@b (unterminated", NULL },
	{ "a@[1.2.3.4", NULL },
	{ "g1: g2: a@b;;", NULL },
	{ "a@b;", NULL },
	{ "<a@b> trailing", NULL },
	{ "x: <a@b> y;", NULL },
	{ "a@b)", NULL },
	{ "a\\b@c", NULL },
	{ "a\x01@b", NULL },
	{ "<a@b@c <d>>", NULL },
	{ "<@r1 a@b>", NULL },
};

/* The input for a test name: LF shown as "\\n". */
static const char *
oneline(const char *s)
{
	static char out[128];
	size_t n = 0;

	for (; *s != '\0' && n + 3 < sizeof(out); s++) {
		if (*s == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else
			out[n++] = *s;
	}
	out[n] = '\0';
	return out;
}

static void
test_addrlist(void)
{
	const struct acase *c;
	struct buf b;
	const char *why;
	size_t i;
	int rc;

	buf_init(&b, 65536);
	for (i = 0; i < sizeof(acases) / sizeof(acases[0]); i++) {
		c = &acases[i];
		buf_reset(&b);
		why = NULL;
		rc = hdr_addrlist(c->in, strlen(c->in), collect, &b, &why);
		if (c->want == NULL)
			tap_ok(rc == -1 && why != NULL,
			    "hdr_addrlist refuses '%s' (%s)", oneline(c->in),
			    why ? why : "no reason");
		else
			tap_is_str(rc == 0 ? buf_cstr(&b) : why, c->want,
			    "hdr_addrlist parses '%s'", oneline(c->in));
	}
	buf_reset(&b);
	for (i = 0; i < HDR_ADDR_MAX + 1; i++)
		(void)buf_appendc(&b, 'a');
	(void)buf_appends(&b, "@x");
	tap_ok(hdr_addrlist(b.data, b.len, collect, &b, &why) == -1,
	    "hdr_addrlist refuses an addr-spec over %d bytes", HDR_ADDR_MAX);
	buf_free(&b);
}

/* ---- input conversion ---- */

struct ccase {
	const char	*name;
	const char	*in;
	size_t		 len;
	bool		 iflag;
	const char	*want;
	size_t		 wlen;
	bool		 done;
};

static const struct ccase ccases[] = {
	{ "CRLF becomes LF", S("a\r\nb\r\n"), false, S("a\nb\n"), false },
	{ "bare CR is kept", S("a\rb\rc\n"), false, S("a\rb\rc\n"),
	    false },
	{ "a CR at EOF ends the last line", S("a\rb\r"), false, S("a\rb\n"),
	    false },
	{ "a last line without LF gets one", S("a\nbody"), false,
	    S("a\nbody\n"), false },
	{ "one line without LF gets one", S("body"), false, S("body\n"),
	    false },
	{ "empty input stays empty", S(""), false, S(""), false },
	{ "-i: a last line without LF gets one", S("x\n."), true,
	    S("x\n.\n"), false },
	{ "CR CR LF keeps one CR", S("a\r\r\n"), false, S("a\r\n"), false },
	{ "lone dot ends input", S("a\n.\nb\n"), false, S("a\n"), true },
	{ "lone dot with CRLF ends input", S("a\r\n.\r\nb\n"), false,
	    S("a\n"), true },
	{ "lone dot first ends input", S(".\nb"), false, S(""), true },
	{ "dot with text is data", S("a\n.b\n..\n"), false,
	    S("a\n.b\n..\n"), false },
	{ "dot CR x is data", S(".\rx\n"), false, S(".\rx\n"), false },
	{ "-i: lone dot is data", S("a\n.\nb\n"), true, S("a\n.\nb\n"),
	    false },
	{ "dot at EOF without LF is data", S("a\n."), false, S("a\n.\n"),
	    false },
	{ "dot CR at EOF is data", S("a\n.\r"), false, S("a\n.\n"),
	    false },
	{ "dot not at line start is data", S("a.\n"), false, S("a.\n"),
	    false },
};

/* Feed in pieces of every size, so held bytes cross chunk borders. */
static void
test_conv(void)
{
	const struct ccase *c;
	struct inject_conv cv;
	struct buf b;
	size_t i, step, pos;
	ssize_t n;
	bool good;

	buf_init(&b, 4096);
	for (i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
		c = &ccases[i];
		good = true;
		for (step = 1; step <= c->len + 1; step++) {
			buf_reset(&b);
			inject_conv_init(&cv, c->iflag);
			for (pos = 0; pos < c->len && !cv.done; pos += n) {
				n = inject_conv_feed(&cv, c->in + pos,
				    c->len - pos < step ? c->len - pos : step,
				    &b);
				if (n <= 0)
					break;
			}
			if (!cv.done)
				(void)inject_conv_end(&cv, &b);
			good &= b.len == c->wlen && (b.len == 0 ||
			    memcmp(b.data, c->want, b.len) == 0) &&
			    cv.done == c->done;
		}
		tap_ok(good, "conv: %s", c->name);
	}
	inject_conv_init(&cv, false);
	buf_reset(&b);
	(void)inject_conv_feed(&cv, S("a\0b\n"), &b);
	tap_ok(cv.nul && b.len == 4, "conv: a NUL byte is passed and flagged");
	buf_free(&b);
}

/* ---- fix-up ---- */

static void
fixup(const char *in, const char *fullname, struct buf *out)
{
	struct inject_fix fx = { 0, "<id@tern.test>", "u@tern.test",
	    fullname };
	struct hdr h;
	const char *why;

	buf_reset(out);
	if (hdr_parse(in, strlen(in), true, &h, &why) == -1) {
		(void)buf_appends(out, why);
		return;
	}
	inject_drop_bcc(in, &h);
	(void)inject_fixup(in, &h, &fx, out);
	hdr_free(&h);
}

#define ADDED	"Date: Thu, 01 Jan 1970 00:00:00 +0000\n" \
		"Message-ID: <id@tern.test>\n"

struct fcase {
	const char	*name;
	const char	*in;
	const char	*fullname;
	const char	*want;
};

static const struct fcase fcases[] = {
	{ "missing Date, Message-ID, From are added", "Subject: x\n\nb",
	    NULL, "Subject: x\n" ADDED "From: u@tern.test\n\n" },
	{ "present fields are kept as they are",
	    "From: a@b\nDate: x\nMessage-ID: <y>\n\n", NULL,
	    "From: a@b\nDate: x\nMessage-ID: <y>\n\n" },
	{ "field names match in any case",
	    "FROM: a@b\ndate: x\nmessage-id: <y>\n\n", NULL,
	    "FROM: a@b\ndate: x\nmessage-id: <y>\n\n" },
	{ "Bcc is removed, folded lines and all",
	    "To: a@b\nBcc: c@d,\n e@f\nSubject: s\n\n", "N",
	    "To: a@b\nSubject: s\n" ADDED "From: N <u@tern.test>\n\n" },
	{ "Resent-Bcc is removed too", "Resent-Bcc: c@d\nFrom: a@b\n\n",
	    NULL, "From: a@b\n" ADDED "\n" },
	{ "last field without LF gets one", "From: a@b\nX: y", NULL,
	    "From: a@b\nX: y\n" ADDED "\n" },
	{ "no header section: only the added fields", "hello\n", "",
	    ADDED "From: u@tern.test\n\n" },
	{ "plain full name as atoms", "\n", "John Smith",
	    ADDED "From: John Smith <u@tern.test>\n\n" },
	{ "full name with specials is quoted", "\n", "Smith, \"J\" \\x",
	    ADDED "From: \"Smith, \\\"J\\\" \\\\x\" <u@tern.test>\n\n" },
	{ "full name with a dot is quoted", "\n", "John Q. Public",
	    ADDED "From: \"John Q. Public\" <u@tern.test>\n\n" },
	{ "full name with controls: spaces", "\n", "a\nb",
	    ADDED "From: a b <u@tern.test>\n\n" },
	{ "8-bit full name is RFC 2047 encoded", "\n", "J\xc3\xb6rg M",
	    ADDED "From: =?UTF-8?Q?J=C3=B6rg_M?= <u@tern.test>\n\n" },
};

static void
test_fixup(void)
{
	struct buf b;
	size_t i;
	char name[INJECT_NAME_MAX + 1];
	const char *p, *q;
	bool fold;

	buf_init(&b, 65536);
	for (i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		fixup(fcases[i].in, fcases[i].fullname, &b);
		tap_is_str(buf_cstr(&b), fcases[i].want, "fixup: %s",
		    fcases[i].name);
	}
	/* a long 8-bit name: several encoded-words, lines under 78 */
	memset(name, 0, sizeof(name));
	for (i = 0; i + 2 < INJECT_NAME_MAX; i += 2)
		memcpy(name + i, "\xc3\xa9", 2);
	fixup("\n", name, &b);
	fold = strstr(buf_cstr(&b), "?=\n =?UTF-8?Q?") != NULL;
	for (p = buf_cstr(&b); (q = strchr(p, '\n')) != NULL; p = q + 1)
		fold &= q - p <= 78;
	tap_ok(fold, "fixup: a long encoded name is folded below 78 columns");
	buf_free(&b);
}

static void
test_date(void)
{
	char d[64];

	tap_is_str(inject_date(1795676400, d, sizeof(d)),
	    "Thu, 26 Nov 2026 07:00:00 +0000",
	    "inject_date: RFC 5322 form in the local zone (UTC)");
	(void)setenv("TZ", "EST5", 1);
	tzset();
	tap_is_str(inject_date(1795676400, d, sizeof(d)),
	    "Thu, 26 Nov 2026 02:00:00 -0500",
	    "inject_date: zone offset of the local zone");
	(void)setenv("TZ", "UTC", 1);
	tzset();
}

/* ---- recipients and envelope ---- */

static void
test_rcpts(void)
{
	struct inject_rcpts r;
	struct buf env;
	const char *why;
	char s[300];
	int rc;
	const char hdr[] = "To: A <a@X.org>, b\nCc: g: c@d, a@x.org;\n"
	    "Bcc: hidden@h\nSubject: s\n\n";
	struct hdr h;

	memset(&r, 0, sizeof(r));
	tap_ok(inject_rcpt_list(&r, S("Joe <joe@Example.ORG>, root"),
	    "dflt.test", &why) == 0 && r.n == 2 &&
	    strcmp(r.a[0], "joe@example.org") == 0 &&
	    strcmp(r.a[1], "root@dflt.test") == 0,
	    "rcpt list: canonical, unqualified gets defaultdomain");
	/* the call first: argument order is unspecified, why must be set */
	why = "";
	rc = inject_rcpt_list(&r, S("bad@@x"), "d", &why);
	tap_ok(rc == -1 && strstr(why, "bad@@x") != NULL,
	    "rcpt list: a bad address is refused and named (%s)", why);
	inject_rcpts_free(&r);
	why = "";
	rc = inject_rcpt_arg(&r, "a@b.c\nX-Inj: 1", "d", &why);
	tap_ok(rc == -1 && r.n == 0 && strstr(why, "CR or LF") != NULL,
	    "rcpt arg: LF in an argument is refused (%s)", why);
	tap_ok(inject_rcpt_arg(&r, "a@b.c,\r d@e.f", "d", &why) == -1 &&
	    r.n == 0, "rcpt arg: CR in an argument is refused");
	tap_ok(inject_rcpt_arg(&r, "a@b.c, \t d@e.f", "d", &why) == 0 &&
	    r.n == 2, "rcpt arg: blanks between addresses are fine");
	inject_rcpts_free(&r);

	(void)hdr_parse(hdr, sizeof(hdr) - 1, true, &h, &why);
	tap_ok(inject_rcpts_header(&r, hdr, &h, "dd", &why) == 0 &&
	    r.n == 5, "-t: To, Cc (group) and Bcc give 5 addresses");
	tap_ok(inject_rcpts_dedup(&r) == 0 && r.n == 4 &&
	    strcmp(r.a[0], "a@x.org") == 0 && strcmp(r.a[1], "b@dd") == 0 &&
	    strcmp(r.a[2], "c@d") == 0 && strcmp(r.a[3], "hidden@h") == 0,
	    "dedup: the later duplicate goes, order kept");
	hdr_free(&h);

	buf_init(&env, 4096);
	tap_ok(inject_envelope(&env, "s@x", &r, "", "") == 0 &&
	    env.len == 36 && memcmp(env.data,
	    "Fs@x\0Ta@x.org\0Tb@dd\0Tc@d\0Thidden@h\0\0", 36) == 0,
	    "envelope: qmail-queue form F, T..., empty record");
	buf_reset(&env);
	inject_rcpts_free(&r);
	(void)inject_rcpt_list(&r, S("a@b"), "d", &why);
	tap_ok(inject_envelope(&env, "", &r, "SUCCESS,FAILURE", "HDRS") ==
	    0 && env.len == 31 && memcmp(env.data,
	    "F\0RHDRS\0NSUCCESS,FAILURE\0Ta@b\0\0", 31) == 0,
	    "envelope: null sender, R before the first N/T");
	inject_rcpts_free(&r);
	buf_free(&env);

	{
		const char resent[] = "To: a@x\nResent-To: r@x\n"
		    "Resent-Cc: s@x\n\n";

		(void)hdr_parse(resent, sizeof(resent) - 1, true, &h, &why);
		tap_ok(inject_rcpts_header(&r, resent, &h, "d", &why) == 0 &&
		    r.n == 2 && strcmp(r.a[0], "r@x") == 0,
		    "-t on a resent message uses the Resent- fields only");
		hdr_free(&h);
		inject_rcpts_free(&r);
	}
	tap_ok(inject_sender("<>", "d", s, sizeof(s), &why) == 0 &&
	    s[0] == '\0', "sender: <> is the null sender");
	tap_ok(inject_sender("", "d", s, sizeof(s), &why) == 0 &&
	    s[0] == '\0', "sender: empty is the null sender");
	tap_ok(inject_sender("<a@B>", "d", s, sizeof(s), &why) == 0 &&
	    strcmp(s, "a@b") == 0, "sender: brackets dropped");
	tap_ok(inject_sender("bob", "d.test", s, sizeof(s), &why) == 0 &&
	    strcmp(s, "bob@d.test") == 0, "sender: unqualified qualified");
	tap_ok(inject_sender("a b@c", "d", s, sizeof(s), &why) == -1,
	    "sender: a bad address is refused");
}

static void
test_rcpt_limit(void)
{
	struct inject_rcpts r;
	struct buf b;
	const char *why = NULL;
	size_t i;

	memset(&r, 0, sizeof(r));
	buf_init(&b, 16 * 1024 * 1024);
	for (i = 0; i <= INJECT_RCPT_MAX; i++)
		(void)buf_printf(&b, "r%zu@x,", i);
	tap_ok(inject_rcpt_list(&r, b.data, b.len, "d", &why) == -1 &&
	    r.n == INJECT_RCPT_MAX,
	    "rcpt list: more than %d recipients refused (%s)",
	    INJECT_RCPT_MAX, why ? why : "");
	inject_rcpts_free(&r);
	buf_free(&b);
}

/* ---- command line ---- */

struct ocase {
	const char	*argv[8];
	int		 rc;
	int		 mode;
	bool		 t, i;
	const char	*sender;
	const char	*fullname;
	int		 nrcpts;
	const char	*notify;
};

static const struct ocase ocases[] = {
	{ { "sendmail", "-t", NULL }, 0, INJECT_SEND, true, false, NULL,
	    NULL, 0, "" },
	{ { "sendmail", "-oi", "-f", "a@b", "x@y", NULL }, 0, INJECT_SEND,
	    false, true, "a@b", NULL, 1, "" },
	{ { "sendmail", "-fa@b", "-FJoe", "-i", "x", "y", NULL }, 0,
	    INJECT_SEND, false, true, "a@b", "Joe", 2, "" },
	{ { "sendmail", "-r", "s@x", "-oem", "-odb", "--", "-x@y", NULL },
	    0, INJECT_SEND, false, false, "s@x", NULL, 1, "" },
	{ { "sendmail", "x@y", "-t", NULL }, 0, INJECT_SEND, false, false,
	    NULL, NULL, 2, "" },
	{ { "sendmail", "-bs", NULL }, 0, INJECT_SMTP, false, false, NULL,
	    NULL, 0, "" },
	{ { "sendmail", "-bp", NULL }, 0, INJECT_LIST, false, false, NULL,
	    NULL, 0, "" },
	{ { "sendmail", "-q", NULL }, 0, INJECT_QRUN, false, false, NULL,
	    NULL, 0, "" },
	{ { "sendmail", "-q30m", NULL }, 0, INJECT_QRUN, false, false,
	    NULL, NULL, 0, "" },
	{ { "sendmail", "-N", "delay,Failure", "a", NULL }, 0, INJECT_SEND,
	    false, false, NULL, NULL, 1, "DELAY,FAILURE" },
	{ { "sendmail", "-Nnever", "a", NULL }, 0, INJECT_SEND, false,
	    false, NULL, NULL, 1, "NEVER" },
	{ { "sendmail", "-U", "-Am", "-B", "8BITMIME", "-v", "a", NULL }, 0,
	    INJECT_SEND, false, false, NULL, NULL, 1, "" },
	{ { "sendmail", "-N", "never,success", NULL },
	    -1, 0, false, false, NULL, NULL, 0, NULL },
	{ { "sendmail", "-N", "sometimes", NULL },
	    -1, 0, false, false, NULL, NULL, 0, NULL },
	{ { "sendmail", "-R", "most", NULL },
	    -1, 0, false, false, NULL, NULL, 0, NULL },
	{ { "sendmail", "-bx", NULL },
	    -1, 0, false, false, NULL, NULL, 0, NULL },
	{ { "sendmail", "-z", NULL },
	    -1, 0, false, false, NULL, NULL, 0, NULL },
	{ { "sendmail", "-f", NULL },
	    -1, 0, false, false, NULL, NULL, 0, NULL },
};

static void
test_args(void)
{
	const struct ocase *c;
	struct inject_opts o;
	const char *why;
	char *argv[8];
	int argc, rc;
	size_t i;

	for (i = 0; i < sizeof(ocases) / sizeof(ocases[0]); i++) {
		c = &ocases[i];
		for (argc = 0; c->argv[argc] != NULL; argc++)
			argv[argc] = (char *)c->argv[argc];
		argv[argc] = NULL;
		why = NULL;
		rc = inject_args(argc, argv, &o, &why);
		if (c->rc == -1) {
			tap_ok(rc == -1 && why != NULL,
			    "args: %s %s refused (%s)", argv[1],
			    argv[2] ? argv[2] : "", why ? why : "");
			continue;
		}
		tap_ok(rc == 0 && (int)o.mode == c->mode && o.tflag == c->t &&
		    o.iflag == c->i && o.nrcpts == c->nrcpts &&
		    ((!c->sender && !o.sender) || (c->sender && o.sender &&
		    strcmp(c->sender, o.sender) == 0)) &&
		    ((!c->fullname && !o.fullname) || (c->fullname &&
		    o.fullname && strcmp(c->fullname, o.fullname) == 0)) &&
		    strcmp(o.notify, c->notify) == 0,
		    "args: %s %s %s parsed", argv[1], argv[2] ? argv[2] : "",
		    argv[2] && argv[3] ? argv[3] : "");
	}
	argv[0] = "sendmail";
	argv[1] = "-R";
	argv[2] = "hdrs";
	argv[3] = NULL;
	tap_ok(inject_args(3, argv, &o, &why) == 0 &&
	    strcmp(o.ret, "HDRS") == 0, "args: -R hdrs gives RET=HDRS");
}

/* ---- exit codes ---- */

static void
test_exit_map(void)
{
	static const struct {
		int		 code;
		const char	*text;
		int		 want;
		const char	*msg;	/* a part of the message */
	} cases[] = {
		{ 0, "", 0, "ok" },
		{ 11, "", 100, "address too long" },
		{ 31, "", 100, "permanently refuses" },
		{ 91, "", 100, "envelope format" },
		{ 53, "", 111, "write error" },
		{ 71, "", 111, "temporarily" },
		{ 81, "", 111, "internal bug" },
		{ 82, "Dno thanks", 100, "no thanks" },
		{ 82, "Zlater", 111, "later" },
		{ 82, "no prefix", 111, "no prefix" },
		{ 82, "", 111, "refused" },
		{ 120, "", 111, "unable to run" },
		{ 42, "", 111, "unknown" },
	};
	char msg[600];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = inject_exit_map(cases[i].code << 8, cases[i].text, msg,
		    sizeof(msg));
		tap_ok(r == cases[i].want && strstr(msg, cases[i].msg) != NULL,
		    "exit map: %d '%s' -> %d (%s)", cases[i].code,
		    cases[i].text, r, msg);
	}
	r = inject_exit_map(9, "", msg, sizeof(msg));	/* SIGKILL */
	tap_ok(r == 111 && strstr(msg, "signal 9") != NULL,
	    "exit map: killed by a signal is temporary");
}

static void
test_gecos(void)
{
	char out[64];

	tap_is_str(inject_gecos_name("John Smith,Room 1,555", "js", out,
	    sizeof(out)), "John Smith", "gecos: first comma field");
	tap_is_str(inject_gecos_name("& Jones", "bob", out, sizeof(out)),
	    "Bob Jones", "gecos: & is the capitalised login");
	tap_is_str(inject_gecos_name("", "bob", out, sizeof(out)), "",
	    "gecos: empty stays empty");
	tap_is_str(inject_gecos_name("abcdefghij", "x", out, 5), "abcd",
	    "gecos: cut at the buffer size");
}

int
main(void)
{
	(void)setenv("TZ", "UTC", 1);
	tzset();
	test_parse();
	test_parse_limits();
	test_addrlist();
	test_conv();
	test_fixup();
	test_date();
	test_rcpts();
	test_rcpt_limit();
	test_args();
	test_exit_map();
	test_gecos();
	return tap_done();
}
