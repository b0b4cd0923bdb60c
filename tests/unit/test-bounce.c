/* test-bounce: bounce records and the RFC 3464 DSN that bounce_build makes. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../queue/bounce.h"
#include "../../queue/send.h"
#include "log.h"
#include "tap.h"

#define ARRIVAL	1795676400	/* Thu, 26 Nov 2026 07:00:00 +0000 */
#define NOW	1795681805	/* Thu, 26 Nov 2026 08:30:05 +0000 */
#define UNTIL	(ARRIVAL + 432000) /* Tue, 1 Dec 2026 07:00:00 +0000 */
#define ME	"tern.test"
#define OUTMAX	(BOUNCE_OUT_MAX)
#define FULLHDR	"Content-Description: Undelivered Message\n" \
		"Content-Type: message/rfc822\n\n"

static char tmp[PATH_MAX];	/* a private spool */
static int nmsg;

static const char msg_plain[] =
    "Received: from x by tern.test\n"
    "From: Alice <a@example.org>\n"
    "To: x@tern.test, y@tern.test\n"
    "Subject: hello\n"
    "\tcontinued\n"
    "Message-ID: <1@example.org>\n"
    "\n"
    "the body line\n"
    "BODYMARK\n";

/* A message in a file; returns an fd at offset 17 (bounce uses pread). */
static int
msgfd(const char *data, size_t len)
{
	char path[PATH_MAX + 32];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/msg%d", tmp, nmsg++);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, data, len) != (ssize_t)len) {
		perror("msgfd");
		exit(1);
	}
	(void)unlink(path);
	(void)lseek(fd, len > 17 ? 17 : 0, SEEK_SET);
	return fd;
}

static void
env_init(struct spool_env *env, struct spool_rcpt *r, size_t n)
{
	memset(env, 0, sizeof(*env));
	qid_new(env->id);
	env->arrival = ARRIVAL;
	env->uid = -1;
	env->sender = "a@example.org";
	memset(r, 0, n * sizeof(*r));
	env->rcpt = r;
	env->nrcpt = n;
}

static struct bounce_rcpt
fail(size_t index, const char *status, const char *text)
{
	struct bounce_rcpt b;

	memset(&b, 0, sizeof(b));
	b.index = index;
	strlcpy(b.status, status, sizeof(b.status));
	strlcpy(b.text, text, sizeof(b.text));
	return b;
}

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* The boundary parameter of the top Content-Type. */
static void
boundary(const char *dsn, char *out, size_t outsz)
{
	const char *p = strstr(dsn, "boundary=\""), *e;

	out[0] = '\0';
	if (p == NULL || (e = strchr(p + 10, '"')) == NULL ||
	    (size_t)(e - p - 10) >= outsz)
		return;
	memcpy(out, p + 10, (size_t)(e - p - 10));
	out[e - p - 10] = '\0';
}

/*
 * Body part k (0-based) of the multipart message, its headers and body,
 * without the line end that belongs to the next delimiter.
 */
static void
part(const char *dsn, int k, char *out, size_t outsz)
{
	char bnd[128], delim[140];
	const char *p, *e;
	int i;

	out[0] = '\0';
	boundary(dsn, bnd, sizeof(bnd));
	(void)snprintf(delim, sizeof(delim), "\n--%s", bnd);
	p = dsn;
	for (i = 0; i <= k; i++) {
		if ((p = strstr(p, delim)) == NULL)
			return;
		p += strlen(delim);
	}
	if (*p != '\n' || (e = strstr(p, delim)) == NULL)
		return;
	p++;
	if ((size_t)(e - p) >= outsz)
		return;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
}

static bool
seven_bit(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if ((unsigned char)b->data[i] >= 0x80 || b->data[i] == '\r' ||
		    b->data[i] == '\0')
			return false;
	return true;
}

static void
dump(const char *name, const struct buf *b)
{
	const char *dir = getenv("TEST_BOUNCE_DUMP");
	char path[PATH_MAX + 64];
	FILE *f;

	/* For looking at the DSNs with a real MIME parser by hand. */
	if (dir == NULL)
		return;
	(void)snprintf(path, sizeof(path), "%s/%s.eml", dir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(b->data, 1, b->len, f);
		fclose(f);
	}
}

static int
build(const struct spool_env *env, const struct bounce_rcpt *r, size_t n,
    const char *msg, size_t msglen, struct buf *out)
{
	int fd = msg ? msgfd(msg, msglen) : -1, rv;

	rv = bounce_build(env, r, n, fd, ME, env->sender, NOW, out);
	if (fd != -1)
		close(fd);
	return rv;
}

static void
test_basic(void)
{
	struct spool_env env;
	struct spool_rcpt rc[3];
	struct bounce_rcpt f[1];
	struct buf out;
	char bnd[128], p[8192], want[256];

	env_init(&env, rc, 3);
	rc[0].addr = "x@tern.test", rc[0].state = SPOOL_DONE;
	rc[1].addr = "y@tern.test", rc[1].state = SPOOL_FAILED;
	rc[2].addr = "z@tern.test", rc[2].state = SPOOL_DONE;
	f[0] = fail(1, "5.1.1", "no such user");
	buf_init(&out, OUTMAX);
	tap_is_int(build(&env, f, 1, msg_plain, sizeof(msg_plain) - 1,
	    &out), 0, "bounce_build succeeds");
	dump("basic", &out);
	tap_ok(strncmp(out.data, "From: Mail Delivery System "
	    "<MAILER-DAEMON@tern.test>\n", 52) == 0,
	    "From is the MAILER-DAEMON of me, first line");
	tap_ok(has(out.data, "\nTo: <a@example.org>\n"), "To is rcpt_to");
	tap_ok(has(out.data, "\nSubject: Undelivered Mail Returned to "
	    "Sender\n"), "Subject says undelivered");
	tap_ok(has(out.data, "\nDate: Thu, 26 Nov 2026 08:30:05 +0000\n"),
	    "Date is now in RFC 5322 form");
	(void)snprintf(want, sizeof(want), "\nMessage-ID: <%s.bounce@"
	    "tern.test>\n", env.id);
	tap_ok(has(out.data, want), "Message-ID is <id.bounce@me>");
	tap_ok(has(out.data, "\nAuto-Submitted: auto-replied\n"),
	    "Auto-Submitted: auto-replied (RFC 3834)");
	tap_ok(has(out.data, "\nMIME-Version: 1.0\n"), "MIME-Version");
	tap_ok(has(out.data, "\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\""),
	    "multipart/report; report-type=delivery-status");
	tap_ok(!has(out.data, "Content-Transfer-Encoding"),
	    "7-bit content has no transfer encoding");
	boundary(out.data, bnd, sizeof(bnd));
	tap_ok(strlen(bnd) > 0 && strlen(bnd) <= 70, "boundary of 1-70 chars");
	(void)snprintf(want, sizeof(want), "\n--%s--\n", bnd);
	tap_ok(out.len > strlen(want) &&
	    strcmp(out.data + out.len - strlen(want), want) == 0,
	    "ends with the close delimiter");
	tap_is_int((long long)count(out.data, bnd), 5,
	    "boundary occurs only in Content-Type and 4 delimiters");
	tap_ok(seven_bit(&out), "output is 7-bit, LF only");

	part(out.data, 0, p, sizeof(p));
	tap_ok(has(p, "Content-Type: text/plain; charset=us-ascii\n\n"),
	    "part 1 is text/plain us-ascii");
	tap_ok(has(p, "This is the mail system at host tern.test.\n"),
	    "human part names the host");
	tap_ok(has(p, "<y@tern.test>: no such user\n"),
	    "human part names the failed recipient and why");
	tap_ok(has(p, "(5.1.1: the mailbox does not exist)"),
	    "human part explains the status in words");
	tap_ok(!has(p, "x@tern.test") && !has(p, "z@tern.test"),
	    "delivered recipients are not mentioned");
	tap_ok(has(p, "headers of your message are attached"),
	    "human part says what is attached");

	part(out.data, 1, p, sizeof(p));
	tap_ok(starts(p, "Content-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n\n"),
	    "part 2 is message/delivery-status");
	tap_ok(has(p, "\n\nReporting-MTA: dns; tern.test\n"),
	    "Reporting-MTA: dns; me");
	tap_ok(has(p, "\nArrival-Date: Thu, 26 Nov 2026 07:00:00 +0000\n"),
	    "Arrival-Date from env->arrival");
	tap_ok(!has(p, "Original-Envelope-Id") &&
	    !has(p, "Original-Recipient"), "no ENVID, no ORCPT fields");
	tap_ok(has(p, "\n\nFinal-Recipient: rfc822; y@tern.test\n"
	    "Action: failed\nStatus: 5.1.1\n"
	    "Diagnostic-Code: X-tern; no such user\n"
	    "Last-Attempt-Date: Thu, 26 Nov 2026 08:30:05 +0000\n"),
	    "per-recipient fields in order, local text is X-tern");
	tap_is_int((long long)count(p, "Final-Recipient:"), 1,
	    "one recipient block");

	part(out.data, 2, p, sizeof(p));
	tap_ok(starts(p, "Content-Description: Undelivered Message Headers\n"
	    "Content-Type: text/rfc822-headers\n\nReceived: from x"),
	    "part 3 is text/rfc822-headers with the header section");
	tap_ok(has(p, "Subject: hello\n\tcontinued\nMessage-ID: "
	    "<1@example.org>\n\n") && !has(p, "BODYMARK"),
	    "whole header section, no body");
	part(out.data, 3, p, sizeof(p));
	tap_is_str(p, "", "no fourth part");
	buf_free(&out);
}

static void
test_dsn_params(void)
{
	struct spool_env env;
	struct spool_rcpt rc[4];
	struct bounce_rcpt f[4];
	struct buf out;
	char p[8192];

	env_init(&env, rc, 4);
	env.envid = "QQ314159";
	rc[0].addr = "a@tern.test", rc[0].orcpt = "rfc822;A+2Bext@tern.test";
	rc[1].addr = "b@tern.test", rc[1].orcpt = "rfc822;b+ZZ@tern.test";
	rc[2].addr = "c@tern.test", rc[2].orcpt = "rfc822;c+0A@tern.test";
	rc[3].addr = "d@tern.test", rc[3].orcpt = "noseparator";
	f[0] = fail(0, "5.1.1", "a");
	f[1] = fail(1, "5.2.2", "b");
	f[2] = fail(2, "5.1.1", "c");
	f[3] = fail(3, "4.4.7", "d");
	buf_init(&out, OUTMAX);
	tap_is_int(build(&env, f, 4, msg_plain, sizeof(msg_plain) - 1,
	    &out), 0, "bounce_build with ENVID and ORCPT succeeds");
	dump("params", &out);
	part(out.data, 1, p, sizeof(p));
	tap_ok(has(p, "\n\nOriginal-Envelope-Id: QQ314159\n"
	    "Reporting-MTA: dns; tern.test\n"),
	    "Original-Envelope-Id comes first, as stored");
	tap_ok(has(p, "\n\nOriginal-Recipient: rfc822;A+ext@tern.test\n"
	    "Final-Recipient: rfc822; a@tern.test\n"),
	    "Original-Recipient is the xtext-decoded ORCPT");
	tap_ok(has(p, "Original-Recipient: rfc822;b+ZZ@tern.test\n"),
	    "bad xtext is shown as stored");
	tap_ok(has(p, "Original-Recipient: rfc822;c+0A@tern.test\n"),
	    "xtext decoding to a control character is shown as stored");
	tap_ok(!has(p, "noseparator"), "ORCPT without addr-type is left out");
	tap_ok(has(p, "Status: 4.4.7\n"), "status 4.4.7 kept");
	part(out.data, 0, p, sizeof(p));
	tap_ok(has(p, "(4.4.7: the message stayed in the queue for too "
	    "long)"), "4.4.7 explained");
	tap_ok(has(p, "(5.2.2: the mailbox is full)"), "5.2.2 explained");
	buf_free(&out);
}

static void
test_notify(void)
{
	struct spool_env env;
	struct spool_rcpt rc[5];
	struct bounce_rcpt f[5];
	struct buf out;
	size_t i;

	env_init(&env, rc, 5);
	rc[0].addr = "never@t", rc[0].notify = "NEVER";
	rc[1].addr = "sd@t", rc[1].notify = "SUCCESS,DELAY";
	rc[2].addr = "sf@t", rc[2].notify = "success,failure";
	rc[3].addr = "f@t", rc[3].notify = "FAILURE";
	rc[4].addr = "none@t";
	for (i = 0; i < 5; i++)
		f[i] = fail(i, "5.1.1", "x");
	buf_init(&out, OUTMAX);
	tap_is_int(build(&env, f, 5, msg_plain, sizeof(msg_plain) - 1,
	    &out), 0, "bounce_build with NOTIFY succeeds");
	tap_ok(!has(out.data, "never@t") && !has(out.data, "sd@t"),
	    "NOTIFY=NEVER and a list without FAILURE are left out");
	tap_ok(has(out.data, "rfc822; sf@t\n") && has(out.data,
	    "rfc822; f@t\n") && has(out.data, "rfc822; none@t\n"),
	    "FAILURE in any case, and no NOTIFY, are reported");
	tap_is_int(build(&env, f, 2, msg_plain, sizeof(msg_plain) - 1,
	    &out), 0, "nobody to report is not an error");
	tap_is_int((long long)out.len, 0, "nobody to report: empty output");
	tap_is_int(build(&env, f, 0, msg_plain, sizeof(msg_plain) - 1,
	    &out), 0, "no records: success");
	tap_is_int((long long)out.len, 0, "no records: empty output");
	buf_free(&out);
}

static void
test_pick(void)
{
	struct spool_env env;
	struct spool_rcpt rc[2];
	struct bounce_rcpt f[5];
	struct buf out;
	char p[8192];

	env_init(&env, rc, 2);
	rc[0].addr = "r0@t";
	rc[1].addr = "r1@t";
	f[0] = fail(1, "5.1.1", "first try");
	f[1] = fail(7, "5.1.1", "out of range");
	f[2] = fail(1, "5.2.2", "second try");
	f[3] = fail(0, "9.9.9", "bad status");
	f[4] = fail(0, "5.1.1", "");
	buf_init(&out, OUTMAX);
	tap_is_int(build(&env, f, 5, msg_plain, sizeof(msg_plain) - 1,
	    &out), 0, "bounce_build with repeated records succeeds");
	part(out.data, 1, p, sizeof(p));
	tap_ok(has(p, "Status: 5.2.2\nDiagnostic-Code: X-tern; second try\n") &&
	    !has(p, "first try"), "the last record of an index wins");
	tap_ok(!has(out.data, "out of range"), "index past nrcpt ignored");
	tap_ok(!has(out.data, "9.9.9"), "a bad status is ignored");
	tap_ok(has(p, "Final-Recipient: rfc822; r0@t\nAction: failed\n"
	    "Status: 5.1.1\nLast-Attempt-Date"),
	    "no Diagnostic-Code without a text");
	tap_ok(strstr(p, "r0@t") < strstr(p, "r1@t"),
	    "recipients in envelope order");
	part(out.data, 0, p, sizeof(p));
	tap_ok(has(p, "<r0@t>: the mailbox does not exist\n"),
	    "human part falls back to the status in words");
	buf_free(&out);
}

static void
test_full(void)
{
	struct spool_env env;
	struct spool_rcpt rc[1];
	struct bounce_rcpt f[1];
	struct buf out, big;
	char p[8192];

	env_init(&env, rc, 1);
	env.ret = "FULL";
	rc[0].addr = "r@t";
	f[0] = fail(0, "5.1.1", "no");
	buf_init(&out, OUTMAX);
	tap_is_int(build(&env, f, 1, msg_plain, sizeof(msg_plain) - 1,
	    &out), 0, "RET=FULL succeeds");
	dump("full", &out);
	part(out.data, 2, p, sizeof(p));
	tap_ok(starts(p, FULLHDR), "RET=FULL returns message/rfc822");
	tap_ok(starts(p, FULLHDR) && strcmp(p + strlen(FULLHDR), msg_plain) ==
	    0, "the whole message, exactly");
	part(out.data, 0, p, sizeof(p));
	tap_ok(has(p, "Your message is attached below."),
	    "human part says the message is attached");

	/* Over 10 MB: headers only, and the report says so. */
	buf_init(&big, BOUNCE_FULL_MAX + 4096);
	(void)buf_appends(&big, "Subject: big\n\n");
	while (big.len <= BOUNCE_FULL_MAX)
		(void)buf_appends(&big, "0123456789012345678901234567890123456"
		    "789012345678901234567890123456789012345678\n");
	tap_is_int(build(&env, f, 1, big.data, big.len, &out), 0,
	    "RET=FULL of a message over 10 MB succeeds");
	part(out.data, 2, p, sizeof(p));
	tap_is_str(p, "Content-Description: Undelivered Message Headers\n"
	    "Content-Type: text/rfc822-headers\n\nSubject: big\n\n",
	    "over 10 MB: only the headers are returned");
	part(out.data, 0, p, sizeof(p));
	tap_ok(has(p, "too large to return whole"),
	    "over 10 MB: the human part says so");
	buf_free(&big);

	/* A small out->max gets the headers rather than failing. */
	buf_free(&out);
	buf_init(&out, 70000);
	buf_init(&big, 30000);
	(void)buf_appends(&big, "Subject: mid\n\n");
	while (big.len < 20000)
		(void)buf_appends(&big, "a line of the body of the message\n");
	tap_is_int(build(&env, f, 1, big.data, big.len, &out), 0,
	    "RET=FULL with a small buffer succeeds");
	buf_free(&big);
	tap_ok(has(out.data, "text/rfc822-headers"),
	    "a message that does not fit is returned as headers");
	buf_free(&out);
	buf_init(&out, 100);
	errno = 0;
	tap_is_int(build(&env, f, 1, msg_plain, sizeof(msg_plain) - 1,
	    &out), -1, "a buffer too small for the report fails");
	tap_ok(errno == E2BIG && out.len == 0, "... with E2BIG, empty");
	buf_free(&out);
}

static void
test_headers(void)
{
	struct spool_env env;
	struct spool_rcpt rc[1];
	struct bounce_rcpt f[1];
	struct buf out, h;
	static char p[BOUNCE_HEADERS_MAX + 8192];
	const char *body;
	size_t len;

	env_init(&env, rc, 1);
	rc[0].addr = "r@t";
	f[0] = fail(0, "5.1.1", "no");
	buf_init(&out, OUTMAX);
	buf_init(&h, 4 * BOUNCE_HEADERS_MAX);
	while (h.len < BOUNCE_HEADERS_MAX + 100)
		(void)buf_appends(&h, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		    "\tbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n");
	(void)buf_appends(&h, "\nBODYMARK\n");
	tap_is_int(build(&env, f, 1, h.data, h.len, &out), 0,
	    "a long header section succeeds");
	part(out.data, 2, p, sizeof(p));
	body = strstr(p, "\n\n");
	len = body ? strlen(body + 2) : 0;
	tap_ok(body != NULL && len > 0 && len <= BOUNCE_HEADERS_MAX + 1,
	    "long headers are cut to BOUNCE_HEADERS_MAX");
	tap_ok(body != NULL && strcmp(body + 2 + len - 3, "b\n\n") == 0,
	    "cut after a whole field (not inside a folded one)");
	part(out.data, 0, p, sizeof(p));
	tap_ok(has(p, "was cut short"), "the human part says it was cut");

	/* Headers only, no blank line: everything is the header section. */
	tap_is_int(build(&env, f, 1, "Subject: x\nFrom: y", 18, &out), 0,
	    "a message without a body succeeds");
	part(out.data, 2, p, sizeof(p));
	tap_ok(has(p, "\n\nSubject: x\nFrom: y\n\n"),
	    "no body: all of it returned, line end added");
	tap_is_int(build(&env, f, 1, "\nbody only\n", 11, &out), 0,
	    "a message without headers succeeds");
	part(out.data, 2, p, sizeof(p));
	tap_ok(!has(p, "body only"), "no headers: empty header part");

	tap_is_int(build(&env, f, 1, "", 0, &out), 0,
	    "an empty message succeeds");
	part(out.data, 2, p, sizeof(p));
	tap_ok(has(p, "text/rfc822-headers\n\n") && !has(p, ":  "),
	    "empty message: an empty header part");
	env.ret = "FULL";
	tap_is_int(build(&env, f, 1, "", 0, &out), 0,
	    "an empty message with RET=FULL succeeds");
	part(out.data, 2, p, sizeof(p));
	tap_is_str(p, FULLHDR, "empty message: an empty message/rfc822");
	env.ret = NULL;

	/* 8-bit header bytes are declared, at the top and in the part. */
	tap_is_int(build(&env, f, 1, "Subject: caf\xc3\xa9\n\nx\n", 18,
	    &out), 0, "an 8-bit header section succeeds");
	part(out.data, 2, p, sizeof(p));
	tap_ok(has(p, "Content-Type: text/rfc822-headers\n"
	    "Content-Transfer-Encoding: 8bit\n\n"), "8-bit part declared 8bit");
	tap_ok(has(out.data, "\tboundary=\"") && strstr(out.data,
	    "\nContent-Transfer-Encoding: 8bit\n\nThis is a MIME") != NULL,
	    "8-bit content: top level declared 8bit");

	/* The message is gone: report without a third part. */
	tap_is_int(build(&env, f, 1, NULL, 0, &out), 0,
	    "a lost message still gives a report");
	part(out.data, 2, p, sizeof(p));
	tap_is_str(p, "", "lost message: no third part");
	tap_ok(has(out.data, "could not be read any more"),
	    "lost message: the human part says so");
	buf_free(&h);
	buf_free(&out);
}

struct dcase {
	const char	*text;
	const char	*type;
};

static const struct dcase dcases[] = {
	{ "550 5.1.1 no such user", "smtp" },
	{ "451-4.3.0 try later", "smtp" },
	{ "250 ok", "smtp" },
	{ "no such user", "X-tern" },
	{ "550", "X-tern" },
	{ "550x no", "X-tern" },
	{ "650 no", "X-tern" },
	{ "5a0 no", "X-tern" },
	{ " 550 no", "X-tern" },
	{ "", "X-tern" },
};

static void
test_diag_type(void)
{
	struct spool_env env;
	struct spool_rcpt rc[3];
	struct bounce_rcpt f[3];
	struct buf out;
	char p[8192];
	size_t i;

	for (i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++)
		tap_is_str(bounce_diag_type(dcases[i].text), dcases[i].type,
		    "diagnostic type of \"%s\" is %s", dcases[i].text,
		    dcases[i].type);
	tap_is_str(bounce_diag_type(NULL), "X-tern", "NULL text is X-tern");
	env_init(&env, rc, 3);
	rc[0].addr = "a@t";
	rc[1].addr = "b@t";
	rc[2].addr = "c@t";
	f[0] = fail(0, "5.1.1", "550 5.1.1 user unknown");
	f[1] = fail(1, "5.1.1", "no such user");
	f[2] = fail(2, "5.3.0", "550 looks like smtp");
	(void)strlcpy(f[2].diag_type, "X-tern", sizeof(f[2].diag_type));
	buf_init(&out, OUTMAX);
	tap_is_int(bounce_build(&env, f, 3, -1, "me", "to@x", NOW, &out), 0,
	    "bounce_build with mixed diagnostic types");
	part(out.data, 1, p, sizeof(p));
	tap_ok(has(p, "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"),
	    "an SMTP reply is Diagnostic-Code: smtp");
	tap_ok(has(p, "Diagnostic-Code: X-tern; no such user\n"),
	    "local text is Diagnostic-Code: X-tern");
	tap_ok(has(p, "Diagnostic-Code: X-tern; 550 looks like smtp\n"),
	    "a record's own diag_type wins over its text");
	buf_free(&out);
}

static void
test_hostile(void)
{
	struct spool_env env;
	struct spool_rcpt rc[1];
	struct bounce_rcpt f[1];
	struct buf out;

	env_init(&env, rc, 1);
	env.envid = "id\twith\x1b" "esc";
	rc[0].addr = "evil\x01\xff@t";
	f[0] = fail(0, "5.1.1", "text\x7f\x80");
	buf_init(&out, OUTMAX);
	tap_is_int(bounce_build(&env, f, 1, -1, "me\x02", "to\x03", NOW, &out),
	    0, "control bytes everywhere still build");
	tap_ok(seven_bit(&out), "control and 8-bit bytes do not get out");
	tap_ok(has(out.data, "Original-Envelope-Id: id?with?esc\n") &&
	    has(out.data, "Final-Recipient: rfc822; evil??@t\n") &&
	    has(out.data, "Diagnostic-Code: X-tern; text??\n") &&
	    has(out.data, "MAILER-DAEMON@me?>") && has(out.data, "To: <to?>"),
	    "they become '?'");
	buf_free(&out);
}

static void
test_record(void)
{
	char id[QID_LEN + 1], path[PATH_MAX + 64], big[1000];
	struct bounce_rcpt *r;
	struct stat st;
	size_t n;
	int fd;

	qid_new(id);
	(void)snprintf(path, sizeof(path), "%s/bounce/%s", tmp, id);
	tap_is_int(bounce_read(tmp, id, 10, &r, &n), 0, "no file: 0");
	tap_ok(r == NULL && n == 0, "no file: nothing out");
	tap_is_int(bounce_record(tmp, id, 3, "5.1.1", "no such user"), 0,
	    "bounce_record appends");
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "bounce file has mode 0600");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = '\t';
	tap_is_int(bounce_record(tmp, id, 0, "4.4.7", big), 0,
	    "a long text is accepted");
	tap_is_int(bounce_record(tmp, id, 3, "5.2.2", "full"), 0,
	    "the same index again");
	tap_is_int(bounce_record(tmp, id, 12, "5.1.1", NULL), 0,
	    "an index past nrcpt, NULL text");
	errno = 0;
	tap_ok(bounce_record(tmp, id, 1, "5.1", "x") == -1 && errno == EINVAL,
	    "status without detail: EINVAL");
	tap_ok(bounce_record(tmp, id, 1, "6.1.1", "x") == -1 &&
	    bounce_record(tmp, id, 1, "5.1.1000", "x") == -1 &&
	    bounce_record(tmp, id, 1, "5.1.1.1", "x") == -1 &&
	    bounce_record(tmp, id, 1, "5..1", "x") == -1,
	    "bad class, long detail, extra part, empty part: refused");
	tap_ok(bounce_record(tmp, "../../etc", 1, "5.1.1", "x") == -1 &&
	    errno == EINVAL, "an id that is not a queue id: EINVAL");
	tap_is_int(bounce_read(tmp, id, 10, &r, &n), 1, "bounce_read finds it");
	tap_is_int((long long)n, 2, "two records: last wins, range checked");
	if (n == 2) {
		tap_ok(r[0].index == 0 && r[1].index == 3,
		    "records sorted by index");
		tap_is_int((long long)strlen(r[0].text), BOUNCE_TEXT_MAX,
		    "text cut at BOUNCE_TEXT_MAX");
		tap_ok(r[0].text[5] == '?', "control characters become '?'");
		tap_is_str(r[1].status, "5.2.2", "last record wins: status");
		tap_is_str(r[1].text, "full", "last record wins: text");
		tap_is_str(r[1].diag_type, "X-tern",
		    "bounce_read sets the diagnostic type from the text");
	}
	free(r);

	/* A torn record (no final NUL) is cut before the next append. */
	fd = open(path, O_WRONLY | O_APPEND);
	(void)write(fd, "5\0" "5.1.1\0" "torn", 12);
	close(fd);
	tap_is_int(bounce_record(tmp, id, 6, "5.1.2", "after"), 0,
	    "append after a torn record");
	tap_is_int(bounce_read(tmp, id, 10, &r, &n), 1, "read after repair");
	tap_ok(n == 3 && r[2].index == 6 && strcmp(r[2].text, "after") == 0,
	    "the torn record is gone, the new one is whole");
	free(r);

	/* Zeros (a crash can leave them) cost only themselves. */
	fd = open(path, O_WRONLY | O_APPEND);
	(void)write(fd, "\0\0\0\0\0", 5);
	close(fd);
	tap_is_int(bounce_record(tmp, id, 7, "5.1.1", "z"), 0,
	    "append after zeros");
	tap_is_int(bounce_read(tmp, id, 10, &r, &n), 1, "read after zeros");
	tap_ok(n == 4 && r[3].index == 7, "records after zeros are found");
	free(r);

	/* The bounce file is never followed through a symlink. */
	qid_new(id);
	(void)snprintf(path, sizeof(path), "%s/bounce/%s", tmp, id);
	(void)symlink("/etc/passwd", path);
	tap_ok(bounce_record(tmp, id, 0, "5.1.1", "x") == -1 &&
	    errno == ELOOP, "bounce_record refuses a symlink");
	tap_ok(bounce_read(tmp, id, 1, &r, &n) == -1 && errno == ELOOP,
	    "bounce_read refuses a symlink");
}

struct scase {
	const char	*text;
	bool		 split;
	const char	*mta;
	const char	*rest;
	const char	*name;
};

static const struct scase scases[] = {
	{ "mx.example.net [192.0.2.1]: 550 5.1.1 no", true, "mx.example.net",
	    "550 5.1.1 no", "host name and IPv4" },
	{ "mx.example.net [2001:db8::25]: 451 4.3.0 later", true,
	    "mx.example.net", "451 4.3.0 later", "IPv6 literal in brackets" },
	{ "mx.example.net [::ffff:192.0.2.1]: 550 x", true, "mx.example.net",
	    "550 x", "IPv4-mapped IPv6 in brackets" },
	{ "127.0.0.2 [127.0.0.2]: 550 x", true, "[127.0.0.2]", "550 x",
	    "an IPv4 host becomes an address literal" },
	{ "::1 [::1]: 550 x", true, "[IPv6:::1]", "550 x",
	    "an IPv6 host becomes an IPv6 literal" },
	{ "mx [192.0.2.1]: connection refused", true, "mx",
	    "connection refused", "rest that is no SMTP reply" },
	{ "mx [192.0.2.1]: ", true, "mx", "", "empty rest" },
	{ "mx [192.0.2.1]: 550 a [192.0.2.2]: b", true, "mx",
	    "550 a [192.0.2.2]: b", "split at the first \"]: \"" },
	{ "mx_1.Example-2.net [192.0.2.1]: x", true, "mx_1.Example-2.net",
	    "x", "underscore, digits and case kept" },
	{ "mx.example.net [192.0.2.1] 550 no", false, "", NULL,
	    "missing \"]: \"" },
	{ "mx.example.net 192.0.2.1]: 550 no", false, "", NULL,
	    "missing \" [\"" },
	{ " [192.0.2.1]: 550 no", false, "", NULL, "empty host" },
	{ "mx [] : 550", false, "", NULL, "empty address" },
	{ "mx []: 550", false, "", NULL, "empty brackets" },
	{ "mx [not.an.ip]: 550", false, "", NULL, "no address in brackets" },
	{ "mx [fe80::1%eth0]: 550", false, "", NULL, "a zone is no address" },
	{ "mx [192.0.2.1 x]: 550", false, "", NULL, "junk in brackets" },
	{ "message expired: mx [192.0.2.1]: 451 x", false, "", NULL,
	    "a prefix with blanks is no host" },
	{ "-mx.example [192.0.2.1]: x", false, "", NULL,
	    "label starts with -" },
	{ "mx-.example [192.0.2.1]: x", false, "", NULL, "label ends with -" },
	{ "mx..example [192.0.2.1]: x", false, "", NULL, "empty label" },
	{ ".mx.example [192.0.2.1]: x", false, "", NULL, "leading dot" },
	{ "mx.example. [192.0.2.1]: x", false, "", NULL, "trailing dot" },
	{ "m\x01x [192.0.2.1]: x", false, "", NULL, "control byte in host" },
	{ "", false, "", NULL, "empty text" },
};

static void
test_split(void)
{
	char mta[BOUNCE_MTA_MAX + 1], text[600], small[4];
	const char *rest;
	size_t i;
	bool r;

	for (i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		r = bounce_split_remote(scases[i].text, mta, sizeof(mta),
		    &rest);
		tap_ok(r == scases[i].split, "split: %s: %s", scases[i].name,
		    r ? "split" : "not split");
		tap_is_str(mta, scases[i].mta, "split: %s: mta",
		    scases[i].name);
		tap_is_str(rest, scases[i].rest ? scases[i].rest :
		    scases[i].text, "split: %s: rest", scases[i].name);
	}
	tap_ok(!bounce_split_remote(NULL, mta, sizeof(mta), &rest) &&
	    rest == NULL && mta[0] == '\0', "split: NULL text is not split");

	/* 4 labels of 63 and one of 1: 253 characters, the most. */
	memset(text, 'a', sizeof(text));
	text[63] = text[127] = text[191] = text[255] = '.';
	(void)strlcpy(text + 253, " [192.0.2.1]: 550 x", sizeof(text) - 253);
	tap_ok(bounce_split_remote(text, mta, sizeof(mta), &rest) &&
	    strlen(mta) == 253 && strcmp(rest, "550 x") == 0,
	    "split: a host of 253 characters is taken");
	tap_ok(!bounce_split_remote(text, small, sizeof(small), &rest) &&
	    small[0] == '\0' && rest == text,
	    "split: an mta buffer too small is no split");
	memset(text, 'a', sizeof(text));
	text[63] = text[127] = text[191] = text[255] = '.';
	(void)strlcpy(text + 254, " [192.0.2.1]: 550 x", sizeof(text) - 254);
	tap_ok(!bounce_split_remote(text, mta, sizeof(mta), &rest),
	    "split: an overlong host (254) is not taken");
	memset(text, 'a', sizeof(text));
	(void)strlcpy(text + 64, " [192.0.2.1]: 550 x", sizeof(text) - 64);
	tap_ok(!bounce_split_remote(text, mta, sizeof(mta), &rest),
	    "split: a label of 64 characters is not taken");
	memset(text, 'a', sizeof(text));
	(void)strlcpy(text + 63, " [192.0.2.1]: 550 x", sizeof(text) - 63);
	tap_ok(bounce_split_remote(text, mta, sizeof(mta), &rest),
	    "split: a label of 63 characters is taken");
	memset(text, '1', sizeof(text));
	memcpy(text, "mx [", 4);
	(void)strlcpy(text + 300, "]: 550 x", sizeof(text) - 300);
	tap_ok(!bounce_split_remote(text, mta, sizeof(mta), &rest),
	    "split: an overlong address is not taken");
}

static void
test_remote_dsn(void)
{
	struct spool_env env;
	struct spool_rcpt rc[3];
	struct bounce_rcpt f[3], *r;
	struct buf out;
	char p[8192], id[QID_LEN + 1];
	size_t n;

	env_init(&env, rc, 3);
	rc[0].addr = "a@example.net";
	rc[1].addr = "b@example.net";
	rc[2].addr = "c@example.net";
	f[0] = fail(0, "5.1.1",
	    "mx.example.net [192.0.2.1]: 550 5.1.1 <a@example.net>: no");
	f[1] = fail(1, "4.4.7", "message expired: mx.example.net "
	    "[192.0.2.1]: 451 4.3.0 later");
	f[2] = fail(2, "5.4.4", "mx.example.net [2001:db8::25]: "
	    "connection dropped");
	buf_init(&out, OUTMAX);
	tap_is_int(build(&env, f, 3, msg_plain, sizeof(msg_plain) - 1,
	    &out), 0, "bounce_build with remote texts succeeds");
	dump("remote", &out);
	part(out.data, 1, p, sizeof(p));
	tap_ok(has(p, "Final-Recipient: rfc822; a@example.net\n"
	    "Action: failed\nStatus: 5.1.1\n"
	    "Remote-MTA: dns; mx.example.net\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <a@example.net>: no\n"
	    "Last-Attempt-Date: "),
	    "remote reply: Remote-MTA, then Diagnostic-Code: smtp; reply");
	tap_ok(has(p, "Status: 4.4.7\nDiagnostic-Code: X-tern; message "
	    "expired: mx.example.net [192.0.2.1]: 451 4.3.0 later\n"),
	    "a text with a prefix stays whole, X-tern");
	tap_ok(has(p, "Status: 5.4.4\nRemote-MTA: dns; mx.example.net\n"
	    "Diagnostic-Code: X-tern; connection dropped\n"),
	    "remote text without a reply: Remote-MTA and X-tern");
	tap_is_int((long long)count(p, "Remote-MTA:"), 2,
	    "Remote-MTA only where the text names one");
	part(out.data, 0, p, sizeof(p));
	tap_ok(has(p, "<a@example.net>: mx.example.net [192.0.2.1]: 550 "
	    "5.1.1 <a@example.net>: no\n"),
	    "human part shows the whole text");

	/* Records read back get their type from the reply. */
	qid_new(id);
	(void)bounce_record(tmp, id, 0, "5.1.1", f[0].text);
	tap_ok(bounce_read(tmp, id, 3, &r, &n) == 1 && n == 1 &&
	    strcmp(r[0].diag_type, "smtp") == 0,
	    "bounce_read: a remote reply's type is smtp");
	free(r);
	buf_free(&out);
}

static void
test_notes(void)
{
	char id[QID_LEN + 1], path[PATH_MAX + 64];
	struct bounce_rcpt *r;
	size_t n;
	bool warned = true;
	int fd;

	qid_new(id);
	(void)snprintf(path, sizeof(path), "%s/bounce/%s", tmp, id);
	tap_is_int(bounce_warned(tmp, id), 0, "no file: not warned");
	tap_ok(bounce_read_notes(tmp, id, 4, &r, &n, &warned) == 0 &&
	    r == NULL && n == 0 && !warned, "no file: no notes, not warned");
	errno = 0;
	tap_ok(bounce_note(tmp, id, 0, "5.1.1", "x") == -1 && errno == EINVAL,
	    "a note must be 4.y.z");
	tap_ok(bounce_note(tmp, "../x", 0, "4.1.1", "x") == -1 &&
	    errno == EINVAL, "a note needs a queue id");
	tap_is_int(bounce_note(tmp, id, 1, "4.2.0", "first"), 0,
	    "bounce_note appends");
	tap_is_int(bounce_record(tmp, id, 2, "5.1.1", "failed"), 0,
	    "a failure after a note");
	tap_is_int(bounce_note(tmp, id, 1, "4.3.0", "second\x01"), 0,
	    "a second note of the same recipient");
	tap_is_int(bounce_note(tmp, id, 3, "4.4.1", NULL), 0,
	    "a note without a text");
	tap_is_int(bounce_note(tmp, id, 9, "4.4.1", "out of range"), 0,
	    "a note past nrcpt");
	tap_ok(bounce_read_notes(tmp, id, 4, &r, &n, &warned) == 1 &&
	    n == 2 && !warned, "bounce_read_notes: two recipients");
	if (n == 2) {
		tap_ok(r[0].index == 1 && strcmp(r[0].status, "4.3.0") == 0 &&
		    strcmp(r[0].text, "second?") == 0,
		    "the last note wins, cleaned");
		tap_ok(r[1].index == 3 && r[1].text[0] == '\0',
		    "an empty note text");
	}
	free(r);
	tap_ok(bounce_read(tmp, id, 4, &r, &n) == 1 && n == 1 &&
	    r[0].index == 2, "bounce_read skips notes");
	free(r);

	tap_is_int(bounce_mark_warned(tmp, id, true, NOW), 0,
	    "bounce_mark_warned sent");
	tap_is_int(bounce_warned(tmp, id), 1, "warned after the mark");
	tap_is_int(bounce_record(tmp, id, 0, "5.1.2", "after mark"), 0,
	    "a failure after the mark");
	tap_ok(bounce_read(tmp, id, 4, &r, &n) == 1 && n == 2 &&
	    r[0].index == 0 && r[1].index == 2,
	    "bounce_read skips the mark, keeps records around it");
	free(r);
	tap_ok(bounce_read_notes(tmp, id, 4, &r, &n, &warned) == 1 &&
	    n == 2 && warned, "bounce_read_notes says warned");
	free(r);
	tap_is_int(bounce_mark_warned(tmp, id, false, NOW), 0,
	    "bounce_mark_warned unsent");
	tap_is_int(bounce_warned(tmp, id), 0, "the last mark counts: unsent");
	tap_is_int(bounce_mark_warned(tmp, id, true, NOW), 0,
	    "marked sent again");
	tap_is_int(bounce_warned(tmp, id), 1, "the last mark counts: sent");

	/* A torn mark is cut off; the earlier mark still counts. */
	fd = open(path, O_WRONLY | O_APPEND);
	(void)write(fd, "W\0uns", 5);
	close(fd);
	tap_is_int(bounce_warned(tmp, id), 1, "a torn mark does not count");
	tap_is_int(bounce_note(tmp, id, 0, "4.0.0", "after torn"), 0,
	    "a note after a torn mark");
	tap_ok(bounce_read_notes(tmp, id, 4, &r, &n, &warned) == 1 &&
	    n == 3 && r[0].index == 0 && warned,
	    "the torn mark was cut, the note is whole");
	free(r);

	/* A full file takes no more notes, but failures still. */
	qid_new(id);
	(void)snprintf(path, sizeof(path), "%s/bounce/%s", tmp, id);
	tap_is_int(bounce_note(tmp, id, 0, "4.0.0", "early"), 0,
	    "a note in a new file");
	fd = open(path, O_WRONLY);
	tap_ok(fd != -1 && ftruncate(fd, BOUNCE_NOTES_MAX) == 0,
	    "the file grows to BOUNCE_NOTES_MAX");
	if (fd != -1)
		close(fd);
	tap_is_int(bounce_note(tmp, id, 0, "4.0.0", "late"), 0,
	    "a note to a full file: 0");
	tap_is_int(bounce_record(tmp, id, 1, "5.1.1", "fail"), 0,
	    "a failure to a full file is appended");
	tap_ok(bounce_read_notes(tmp, id, 4, &r, &n, &warned) == 1 &&
	    n == 1 && strcmp(r[0].text, "early") == 0,
	    "the late note was not added");
	free(r);
	tap_ok(bounce_read(tmp, id, 4, &r, &n) == 1 && n == 1 &&
	    r[0].index == 1, "the failure is there");
	free(r);
	(void)unlink(path);
}

static void
test_delay(void)
{
	struct spool_env env;
	struct spool_rcpt rc[8];
	struct bounce_rcpt f[3];
	struct buf out;
	char p[8192], want[256];

	env_init(&env, rc, 8);
	env.ret = "FULL";
	env.envid = "ENV-7";
	rc[0].addr = "t@x", rc[0].state = SPOOL_TODO;
	rc[1].addr = "p@x", rc[1].state = SPOOL_BUSY,
	    rc[1].notify = "DELAY";
	rc[2].addr = "done@x", rc[2].state = SPOOL_DONE;
	rc[3].addr = "failed@x", rc[3].state = SPOOL_FAILED;
	rc[4].addr = "never@x", rc[4].state = SPOOL_TODO,
	    rc[4].notify = "NEVER";
	rc[5].addr = "fail@x", rc[5].state = SPOOL_TODO,
	    rc[5].notify = "SUCCESS,FAILURE";
	rc[6].addr = "sd@x", rc[6].state = SPOOL_TODO,
	    rc[6].notify = "success,delay", rc[6].orcpt = "rfc822;SD@x";
	rc[7].addr = "bad@x", rc[7].state = SPOOL_TODO;
	f[0] = fail(0, "4.2.0", "mx.x [192.0.2.7]: 451 4.2.0 greylisted");
	f[1] = fail(4, "4.0.0", "never shown");
	f[2] = fail(7, "5.1.1", "not a temporary status");
	buf_init(&out, OUTMAX);
	tap_is_int(bounce_build_delay(&env, f, 3, msgfd(msg_plain,
	    sizeof(msg_plain) - 1), ME, "s@y", NOW, UNTIL, &out), 0,
	    "bounce_build_delay succeeds");
	dump("delay", &out);
	tap_ok(has(out.data, "\nSubject: Delayed Mail (still being "
	    "retried)\n"), "Subject says delayed");
	(void)snprintf(want, sizeof(want), "\nMessage-ID: <%s.delay@"
	    "tern.test>\n", env.id);
	tap_ok(has(out.data, want), "Message-ID is <id.delay@me>");
	tap_ok(has(out.data, "\nTo: <s@y>\n") && has(out.data,
	    "report-type=delivery-status"), "To and report type");
	part(out.data, 1, p, sizeof(p));
	tap_ok(has(p, "Original-Envelope-Id: ENV-7\n"), "ENVID is kept");
	tap_ok(has(p, "\n\nFinal-Recipient: rfc822; t@x\nAction: delayed\n"
	    "Status: 4.2.0\nRemote-MTA: dns; mx.x\n"
	    "Diagnostic-Code: smtp; 451 4.2.0 greylisted\n"
	    "Last-Attempt-Date: Thu, 26 Nov 2026 08:30:05 +0000\n"
	    "Will-Retry-Until: Tue, 1 Dec 2026 07:00:00 +0000\n"),
	    "a noted recipient: delayed, its status and diagnostic, "
	    "Will-Retry-Until");
	tap_ok(has(p, "\n\nFinal-Recipient: rfc822; p@x\nAction: delayed\n"
	    "Status: 4.0.0\nDiagnostic-Code: X-tern; still trying\n"),
	    "P without a note, NOTIFY=DELAY: 4.0.0 still trying");
	tap_ok(has(p, "Original-Recipient: rfc822;SD@x\n"
	    "Final-Recipient: rfc822; sd@x\n"),
	    "NOTIFY naming DELAY in lower case, with ORCPT");
	tap_ok(has(p, "Final-Recipient: rfc822; bad@x\nAction: delayed\n"
	    "Status: 4.0.0\nDiagnostic-Code: X-tern; still trying\n"),
	    "a note that is not 4.y.z is not used");
	tap_ok(!has(out.data, "done@x") && !has(out.data, "failed@x"),
	    "delivered and failed recipients are left out");
	tap_ok(!has(out.data, "never@x") && !has(out.data, "never shown") &&
	    !has(out.data, "fail@x"),
	    "NOTIFY=NEVER and NOTIFY without DELAY are left out");
	tap_is_int((long long)count(p, "Action: delayed\n"), 4,
	    "four recipients are delayed");
	tap_ok(!has(out.data, "Action: failed"), "nothing failed");
	part(out.data, 0, p, sizeof(p));
	tap_ok(has(p, "WARNING ONLY") && has(p, "for 1 hours") == false &&
	    has(p, "for 90 minutes") && has(p, "until Tue, 1 Dec 2026 "
	    "07:00:00 +0000"), "human part: a warning, the age and the end");
	tap_ok(has(p, "<t@x>: mx.x [192.0.2.7]: 451 4.2.0 greylisted\n"
	    "    (4.2.0: there is a problem with the recipient's mailbox)") &&
	    has(p, "<p@x>: still trying\n    (4.0.0: not delivered yet)\n"),
	    "human part: each recipient and why");
	part(out.data, 2, p, sizeof(p));
	tap_ok(starts(p, "Content-Description: Message Headers\n"
	    "Content-Type: text/rfc822-headers\n\nReceived: from x") &&
	    !has(p, "BODYMARK"), "only headers, even with RET=FULL");
	tap_ok(seven_bit(&out), "delay report is 7-bit");

	/* Nobody to warn. */
	rc[0].notify = rc[1].notify = rc[7].notify = "FAILURE";
	rc[6].notify = "NEVER";
	tap_is_int(bounce_build_delay(&env, f, 3, -1, ME, "s@y", NOW, UNTIL,
	    &out), 0, "nobody to warn: success");
	tap_is_int((long long)out.len, 0, "nobody to warn: empty output");
	buf_free(&out);
}

/* Send our stderr (tern-send's log) to path; returns the old one. */
static int
log_to(const char *path)
{
	int fd, saved = dup(2);

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1) {
		(void)dup2(fd, 2);
		close(fd);
	}
	return saved;
}

static void
log_done(int saved)
{
	if (saved != -1) {
		(void)dup2(saved, 2);
		close(saved);
	}
}

/* A tern-queue stand-in: keeps what it is given, says a queue id. */
static void
fake_queue(const char *path, int code)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "#!/bin/sh\ncat > \"$0.msg\"\ncat 0<&1 > \"$0.env\"\n"
	    "echo $(( $(cat \"$0.n\" 2>/dev/null || echo 0) + 1 )) > "
	    "\"$0.n\"\necho 'tern-queue: info: 1lgfnc4rsi7lhvrm queued' "
	    ">&2\nexit %d\n", code);
	fclose(f);
	(void)chmod(path, 0700);
}

static long
slurp_num(const char *path)
{
	char b[32] = "";
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	if (fgets(b, sizeof(b), f) == NULL)
		b[0] = '\0';
	fclose(f);
	return strtol(b, NULL, 10);
}

static bool
file_has(const char *path, const char *needle, size_t nlen)
{
	static char b[65536];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	n = fread(b, 1, sizeof(b) - 1, f);
	fclose(f);
	return memmem(b, n, needle, nlen) != NULL;
}

static void
test_delay_warn(void)
{
	static struct send_state st;
	struct send_msg m;
	struct spool_env env;
	struct spool_rcpt rc[2];
	char good[PATH_MAX + 32], bad[PATH_MAX + 32], p[PATH_MAX + 64];
	char cnt[PATH_MAX + 64], logpath[PATH_MAX + 32], want[128];
	struct bounce_rcpt *r;
	size_t n;
	bool warned;
	int fd, saved;

	(void)snprintf(logpath, sizeof(logpath), "%s/log", tmp);
	saved = log_to(logpath);
	(void)snprintf(good, sizeof(good), "%s/queue-ok", tmp);
	(void)snprintf(bad, sizeof(bad), "%s/queue-fail", tmp);
	(void)snprintf(cnt, sizeof(cnt), "%s.n", good);
	fake_queue(good, 0);
	fake_queue(bad, 111);
	memset(&st, 0, sizeof(st));
	(void)strlcpy(st.cfg.me, ME, sizeof(st.cfg.me));
	st.cfg.lifetime = 432000;
	st.cfg.delaywarning = 0;
	st.spool = tmp;
	st.queue_prog = good;
	env_init(&env, rc, 2);
	rc[0].addr = "t@x", rc[0].state = SPOOL_TODO;
	rc[1].addr = "d@x", rc[1].state = SPOOL_DONE;
	memset(&m, 0, sizeof(m));
	(void)strlcpy(m.id, env.id, sizeof(m.id));
	(void)snprintf(p, sizeof(p), "%s/mess/%s", tmp, env.id);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	(void)write(fd, msg_plain, sizeof(msg_plain) - 1);
	close(fd);

	tap_is_int(send_delay_warn(&st, &m, &env, NOW), 0,
	    "delaywarning 0: nothing");
	st.cfg.delaywarning = NOW - ARRIVAL + 1;
	tap_is_int(send_delay_warn(&st, &m, &env, NOW), 0,
	    "younger than delaywarning: nothing");
	st.cfg.delaywarning = NOW - ARRIVAL;
	env.sender = "";
	tap_is_int(send_delay_warn(&st, &m, &env, NOW), 0,
	    "null sender: nothing");
	env.sender = "#@[]";
	tap_is_int(send_delay_warn(&st, &m, &env, NOW), 0,
	    "double-bounce sender: nothing");
	env.sender = "a@example.org";
	rc[0].notify = "FAILURE";
	tap_is_int(send_delay_warn(&st, &m, &env, NOW), 0,
	    "NOTIFY=FAILURE only: nothing");
	rc[0].notify = NULL;
	tap_is_int(slurp_num(cnt), 0, "... and nothing was injected");
	tap_is_int(bounce_warned(tmp, env.id), 0, "... and no mark");

	send_delay_note(&st, &m, 0, "4.7.1",
	    "mx.x [192.0.2.9]: 450 4.7.1 try again");
	st.queue_prog = bad;
	tap_is_int(send_delay_warn(&st, &m, &env, NOW), -1,
	    "tern-queue fails: -1");
	tap_is_int(bounce_warned(tmp, env.id), 0, "... and the mark is undone");
	st.queue_prog = good;
	tap_is_int(send_delay_warn(&st, &m, &env, NOW), 1, "due: sent");
	tap_is_int(slurp_num(cnt), 1, "one injection");
	tap_is_int(bounce_warned(tmp, env.id), 1, "the mark is there");
	(void)snprintf(p, sizeof(p), "%s.env", good);
	tap_ok(file_has(p, "F\0Ta@example.org\0\0", 18),
	    "envelope: from <> to the sender");
	(void)snprintf(p, sizeof(p), "%s.msg", good);
	tap_ok(file_has(p, "Action: delayed\nStatus: 4.7.1\n"
	    "Remote-MTA: dns; mx.x\nDiagnostic-Code: smtp; 450 4.7.1 try "
	    "again\n", 84), "the report has the noted failure");
	tap_ok(!file_has(p, "d@x", 3), "not the delivered recipient");
	tap_is_int(send_delay_warn(&st, &m, &env, NOW + 3600), 0,
	    "a second time: nothing");
	tap_is_int(slurp_num(cnt), 1, "at most one warning per message");
	tap_ok(bounce_read(tmp, env.id, 2, &r, &n) == 1 && n == 0,
	    "marks and notes are no failure records");
	free(r);
	st.cfg.delaywarning = 0;
	send_delay_note(&st, &m, 1, "4.0.0", "off");
	tap_ok(bounce_read_notes(tmp, env.id, 2, &r, &n, &warned) == 1 &&
	    n == 1 && r[0].index == 0, "no note when delay warnings are off");
	free(r);
	st.cfg.delaywarning = 1;
	send_delay_note(&st, &m, 1, "5.1.1", "odd status");
	tap_ok(bounce_read_notes(tmp, env.id, 2, &r, &n, &warned) == 1 &&
	    n == 2 && strcmp(r[1].status, "4.0.0") == 0 &&
	    strcmp(r[1].text, "odd status") == 0,
	    "a note with a status that is not 4.y.z becomes 4.0.0");
	free(r);
	(void)snprintf(p, sizeof(p), "%s/mess/%s", tmp, env.id);
	(void)unlink(p);
	log_done(saved);
	(void)snprintf(want, sizeof(want), "info: %s delay 1lgfnc4rsi7lhvrm "
	    "to=<a@example.org>\n", env.id);
	tap_ok(file_has(logpath, want, strlen(want)),
	    "log: <id> delay <newid> to=<sender>");
	(void)unlink(logpath);
}

/* Remove the files of dir (not its subdirectories), then dir. */
static void
cleanup(const char *dir)
{
	char path[PATH_MAX * 2];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			(void)snprintf(path, sizeof(path), "%s/%s", dir,
			    de->d_name);
			(void)unlink(path);
		}
		closedir(d);
	}
	(void)rmdir(dir);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	char bdir[PATH_MAX + 16], mdir[PATH_MAX + 16];

	setenv("TZ", "UTC", 1);
	tzset();
	(void)snprintf(tmp, sizeof(tmp), "%s/test-bounce.XXXXXX",
	    t && *t ? t : "/tmp");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	(void)snprintf(bdir, sizeof(bdir), "%s/bounce", tmp);
	(void)mkdir(bdir, 0700);
	(void)snprintf(mdir, sizeof(mdir), "%s/mess", tmp);
	(void)mkdir(mdir, 0700);
	test_basic();
	test_dsn_params();
	test_notify();
	test_pick();
	test_full();
	test_headers();
	test_hostile();
	test_diag_type();
	test_record();
	test_split();
	test_remote_dsn();
	test_notes();
	test_delay();
	test_delay_warn();
	cleanup(bdir);
	cleanup(mdir);
	cleanup(tmp);
	return tap_done();
}
