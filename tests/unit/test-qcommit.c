/* test-qcommit: tern-queue's envelope reader and Received line. */
#include <string.h>
#include <unistd.h>

#include "../../queue/qcommit.h"
#include "tap.h"

#define ENV(s)	s, sizeof(s) - 1

struct envcase {
	const char	*name;
	const char	*data;
	size_t		 len;
	int		 code;
	size_t		 nrcpt;
};

static const struct envcase cases[] = {
	{ "a qmail envelope is read", ENV("Fa@b\0Tc@d\0Te@f\0\0"), QQ_OK, 2 },
	{ "the null sender is read", ENV("F\0Tc@d\0\0"), QQ_OK, 1 },
	{ "DSN records are read", ENV("Fa@b\0Ex\0RFULL\0NNEVER\0Orfc822;c@d\0"
	    "Tc@d\0\0"), QQ_OK, 1 },
	{ "bytes after the end are ignored", ENV("Fa@b\0Tc@d\0\0junk"), QQ_OK,
	    1 },
	{ "no F first is 91", ENV("Tc@d\0\0"), QQ_BADENV, 0 },
	{ "an empty first record is 91", ENV("\0"), QQ_BADENV, 0 },
	{ "an unknown record is 91", ENV("Fa@b\0Qx\0Tc@d\0\0"), QQ_BADENV, 0 },
	{ "a second F is 91", ENV("Fa@b\0Fa@b\0\0"), QQ_BADENV, 0 },
	{ "CR is 91", ENV("Fa@b\0Tc\r\0\0"), QQ_BADENV, 0 },
	{ "LF is 91", ENV("Fa\n\0Tc\0\0"), QQ_BADENV, 0 },
	{ "ESC in a recipient is 91", ENV("Fa@b\0T\x1b[31mx@y\0\0"),
	    QQ_BADENV, 0 },
	{ "0x01 in a recipient is 91", ENV("Fa@b\0T\x01x@y\0\0"), QQ_BADENV,
	    0 },
	{ "a tab in the sender is 91", ENV("Fa\t@b\0Tc@d\0\0"), QQ_BADENV,
	    0 },
	{ "0x1f in an ENVID is 91", ENV("Fa@b\0Ex\x1f\0Tc@d\0\0"),
	    QQ_BADENV, 0 },
	{ "DEL in an ORCPT is 91", ENV("Fa@b\0Orfc822;\x7f\0Tc@d\0\0"),
	    QQ_BADENV, 0 },
	{ "0x7f in NOTIFY is 91", ENV("Fa@b\0N\x7f\0Tc@d\0\0"), QQ_BADENV,
	    0 },
	{ "8-bit bytes (UTF-8) are kept", ENV("Fa@b\0T\xc3\xa9@d\0\0"),
	    QQ_OK, 1 },
	{ "space and '~' are kept", ENV("F\"a b~\"@b\0Tc@d\0\0"), QQ_OK, 1 },
	{ "an empty envelope is 54", ENV(""), QQ_READ, 0 },
	{ "no final NUL is 54", ENV("Fa@b\0Tc@d\0"), QQ_READ, 0 },
	{ "a cut record is 54", ENV("Fa@b\0Tc@"), QQ_READ, 0 },
};

/* Run qcommit_read_env on data through a pipe. */
static int
read_env(const char *data, size_t len, struct qcommit *q)
{
	int p[2], code;

	if (pipe(p) == -1)
		return -1;
	if (write(p[1], data, len) != (ssize_t)len)
		return -1;
	close(p[1]);
	qcommit_init(q, -1, p[0]);
	code = qcommit_read_env(q);
	close(p[0]);
	return code;
}

static void
test_cases(void)
{
	struct qcommit q;
	size_t i;
	int code;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		code = read_env(cases[i].data, cases[i].len, &q);
		tap_ok(code == cases[i].code && (code != QQ_OK ||
		    q.nrcpt == cases[i].nrcpt), "%s (got %d)", cases[i].name,
		    code);
		qcommit_free(&q);
	}
}

static void
test_fields(void)
{
	static const char in[] = "Fs@x\0Rhdrs\0Nsuccess,delay\0Tc@d\0\0";
	struct qcommit q;

	tap_is_int(read_env(in, sizeof(in) - 1, &q), QQ_OK,
	    "envelope with lower-case keywords is read");
	tap_is_str(q.sender, "s@x", "sender points at the F value");
	tap_ok(q.in.len == sizeof(in) - 1 &&
	    memcmp(q.in.data, "Fs@x\0RHDRS\0NSUCCESS,DELAY\0Tc@d\0\0",
	    q.in.len) == 0, "RET and NOTIFY are upper-cased in place");
	qcommit_free(&q);
}

static void
test_lengths(void)
{
	char b[2048];
	struct qcommit q;
	size_t n;

	for (n = 256; n <= 257; n++) {
		memset(b, 'a', sizeof(b));
		memcpy(b, "Fa@b\0T", 6);
		memcpy(b + 6 + n, "\0\0", 2);
		tap_is_int(read_env(b, 6 + n + 2, &q),
		    n == 256 ? QQ_OK : QQ_ADDR_LONG,
		    "a %zu-byte recipient is %s", n, n == 256 ? "read" : "11");
		qcommit_free(&q);
	}
	b[0] = 'F';
	memset(b + 1, 'a', 300);
	tap_is_int(read_env(b, 301, &q), QQ_ADDR_LONG,
	    "an over-long sender is 11 before its NUL arrives");
	qcommit_free(&q);
	memcpy(b, "F\0E", 3);
	memset(b + 3, 'e', 1100);
	tap_is_int(read_env(b, 1103, &q), QQ_ADDR_LONG,
	    "an ENVID over SPOOL_REC_MAX is 11");
	qcommit_free(&q);
}

static void
test_received(void)
{
	char b[256];
	int n;

	n = qcommit_received(b, sizeof(b), "1lgfnc4rsi7lhvrm", 1000,
	    (time_t)951782400);
	tap_is_str(b, "Received: (tern-queue 1lgfnc4rsi7lhvrm invoked by "
	    "uid 1000); Tue, 29 Feb 2000 00:00:00 +0000\n",
	    "Received line in qmail's style with an RFC 5322 date");
	tap_is_int(n, (long long)strlen(b), "its length is returned");
	tap_ok(strncmp(b + strlen(QCOMMIT_RCVD_PREFIX), "1lgfnc4rsi7lhvrm",
	    QID_LEN) == 0, "the id sits right after QCOMMIT_RCVD_PREFIX");
	tap_is_int(qcommit_received(b, 40, "1lgfnc4rsi7lhvrm", 0, 0), -1,
	    "a short buffer is refused");
}

int
main(void)
{
	test_cases();
	test_fields();
	test_lengths();
	test_received();
	return tap_done();
}
