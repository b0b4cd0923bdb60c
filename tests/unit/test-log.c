/* test-log: log line format and log_esc. */
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static int cap_pipe[2];
static int saved_stderr;

/* Send fd 2 into a pipe we can read back. */
static void
capture_start(void)
{
	fflush(stderr);
	if (pipe(cap_pipe) == -1)
		return;
	fcntl(cap_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(cap_pipe[1], F_SETPIPE_SZ, 65536);
	saved_stderr = dup(2);
	dup2(cap_pipe[1], 2);
}

/* One read: a line written with one write(2) arrives whole. */
static ssize_t
capture_read(char *out, size_t outsz)
{
	ssize_t n = read(cap_pipe[0], out, outsz - 1);

	out[n > 0 ? n : 0] = '\0';
	return n;
}

static void
capture_end(void)
{
	dup2(saved_stderr, 2);
	close(saved_stderr);
	close(cap_pipe[0]);
	close(cap_pipe[1]);
}

struct fmt_case {
	const char	*name;
	int		 which;		/* 0 info, 1 warn, 2 warnx, 3 fatal... */
	int		 err;
	const char	*text;
	const char	*want;
};

static const struct fmt_case fmt_cases[] = {
	{ "info line", 0, 0, "hello 1", "tern-test: info: hello 1\n" },
	{ "warning with errno", 1, ENOENT, "open x",
	    "tern-test: warning: open x: No such file or directory\n" },
	{ "warning without errno", 2, ENOENT, "odd",
	    "tern-test: warning: odd\n" },
	{ "fatal with errno", 3, EACCES, "open y",
	    "tern-test: fatal: open y: Permission denied\n" },
	{ "fatal without errno", 4, EACCES, "bad",
	    "tern-test: fatal: bad\n" },
	{ "a newline in the text cannot split the line", 0, 0, "a\nb\rc",
	    "tern-test: info: a?b?c\n" },
};

static void
log_one(int which, const char *text)
{
	switch (which) {
	case 0:
		log_info("%s", text);
		break;
	case 1:
		log_warn("%s", text);
		break;
	case 2:
		log_warnx("%s", text);
		break;
	case 3:
		log_fatal("%s", text);
		break;
	default:
		log_fatalx("%s", text);
		break;
	}
}

static void
test_format(void)
{
	const struct fmt_case *c;
	char got[LOG_LINE_MAX * 2];
	size_t i;
	bool same;

	log_init("tern-test", false);
	for (i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		c = &fmt_cases[i];
		capture_start();
		errno = c->err;
		log_one(c->which, c->text);
		same = errno == c->err;
		capture_read(got, sizeof(got));
		capture_end();
		tap_is_str(got, c->want, "%s: one write, exact text", c->name);
		tap_ok(same, "%s: errno unchanged", c->name);
	}
}

static void
test_long(void)
{
	char text[LOG_LINE_MAX * 2], got[LOG_LINE_MAX * 4];
	ssize_t n;

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	capture_start();
	log_info("%s", text);
	n = capture_read(got, sizeof(got));
	capture_end();
	tap_is_int(n, LOG_LINE_MAX + 1,
	    "a long line is cut to LOG_LINE_MAX plus newline");
	tap_ok(n > 4 && memcmp(got + n - 4, "...\n", 4) == 0,
	    "a cut line ends in \"...\"");

	memset(text, 'b', sizeof(text));
	text[LOG_LINE_MAX - strlen("tern-test: info: ")] = '\0';
	capture_start();
	log_info("%s", text);
	n = capture_read(got, sizeof(got));
	capture_end();
	tap_ok(n == LOG_LINE_MAX + 1 && got[n - 2] == 'b',
	    "a line of exactly LOG_LINE_MAX is not cut");

	text[LOG_LINE_MAX - strlen("tern-test: warning: ") - 2] = '\0';
	capture_start();
	errno = EIO;
	log_warn("%s", text);
	n = capture_read(got, sizeof(got));
	capture_end();
	tap_ok(n == LOG_LINE_MAX + 1 && memcmp(got + n - 4, "...\n", 4) == 0,
	    "strerror that does not fit is cut with \"...\"");
}

static void
test_syslog(void)
{
	char got[256];
	ssize_t n;

	capture_start();
	log_init("tern-test", true);
	log_info("to syslog");
	log_init("tern-test", false);
	n = capture_read(got, sizeof(got));
	log_info("back");
	capture_read(got, sizeof(got));
	capture_end();
	tap_ok(n <= 0, "with syslog nothing goes to stderr");
	tap_is_str(got, "tern-test: info: back\n",
	    "log_init(false) returns to stderr");
}

/* Under inetd fd 2 is the client's TCP socket: nothing may go there. */
static void
test_inet_stderr(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lsn, cli, srv, saved;
	char got[256];
	ssize_t n = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lsn = socket(AF_INET, SOCK_STREAM, 0);
	if (lsn == -1 || bind(lsn, (struct sockaddr *)&sin, len) == -1 ||
	    listen(lsn, 1) == -1 ||
	    getsockname(lsn, (struct sockaddr *)&sin, &len) == -1 ||
	    (cli = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(cli, (struct sockaddr *)&sin, len) == -1 ||
	    (srv = accept(lsn, NULL, NULL)) == -1) {
		tap_ok(0, "loopback socket for the inetd case");
		return;
	}
	fflush(stderr);
	saved = dup(2);
	dup2(srv, 2);
	log_init("tern-test", false);
	log_info("must not reach the client");
	dup2(saved, 2);
	close(saved);
	log_init("tern-test", false);
	fcntl(cli, F_SETFL, O_NONBLOCK);
	n = read(cli, got, sizeof(got));
	tap_ok(n == -1 && errno == EAGAIN,
	    "a TCP socket as stderr gets no log line (syslog instead)");
	close(cli);
	close(srv);
	close(lsn);
}

/* TERN_LOG=syslog, set by tern-tlsd for its program under inetd. */
static void
test_env_syslog(void)
{
	char got[256];
	ssize_t n;

	capture_start();
	setenv(LOG_ENV, "syslog", 1);
	log_init("tern-test", false);
	log_info("to syslog");
	n = capture_read(got, sizeof(got));
	tap_ok(n <= 0 && log_is_syslog(),
	    "TERN_LOG=syslog: nothing goes to stderr");
	unsetenv(LOG_ENV);
	log_init("tern-test", false);
	log_info("back");
	capture_read(got, sizeof(got));
	capture_end();
	tap_is_str(got, "tern-test: info: back\n",
	    "without TERN_LOG: stderr again");
}

struct esc_case {
	const char	*name;
	const char	*src;
	size_t		 srclen;
	size_t		 dstsz;
	const char	*want;
};
#define E(s)	s, sizeof(s) - 1

static const struct esc_case esc_cases[] = {
	{ "plain text is kept", E("a@b.c"), 64, "a@b.c" },
	{ "control bytes become \\xHH", E("a\r\nb\tc"), 64,
	    "a\\x0d\\x0ab\\x09c" },
	{ "NUL becomes \\x00", E("a\0b"), 64, "a\\x00b" },
	{ "DEL becomes \\x7f", E("\x7f"), 64, "\\x7f" },
	{ "backslash and quote are escaped", E("\\\""), 64, "\\\\\\\"" },
	{ "angle brackets become \\x3c and \\x3e", E("<a>"), 64,
	    "\\x3ca\\x3e" },
	{ "a sender cannot close from=<...> and forge fields",
	    E("x> size=1 rcpts=9"), 64, "x\\x3e size=1 rcpts=9" },
	{ "a cut never splits a bracket escape", E("ab>"), 6, "ab..." },
	{ "UTF-8 is kept", E("gr\xc3\xbc\xc3\x9f"), 64,
	    "gr\xc3\xbc\xc3\x9f" },
	{ "exact fit is not cut", E("abcde"), 6, "abcde" },
	{ "one byte too long is cut with ...", E("abcdef"), 6, "ab..." },
	{ "a cut never splits an escape", E("a\x01\x02"), 8, "a..." },
	{ "a cut never splits UTF-8", E("a\xc3\xbc\xc3\xbc\xc3\xbcz"), 7,
	    "a\xc3\xbc..." },
	{ "a cut in a UTF-8 char drops it whole", E("ab\xc3\xbc\xc3\xbcz"), 7,
	    "ab..." },
	{ "tiny buffer gets dots only", E("abcdef"), 3, ".." },
	{ "size 1 gives the empty string", E("abc"), 1, "" },
	{ "empty source", E(""), 4, "" },
};

static void
test_esc(void)
{
	const struct esc_case *c;
	char dst[128];
	size_t i;

	for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		c = &esc_cases[i];
		memset(dst, 'X', sizeof(dst));
		tap_ok(log_esc(dst, c->dstsz, c->src, c->srclen) == dst,
		    "%s: returns dst", c->name);
		tap_is_str(dst, c->want, "%s", c->name);
		tap_ok(dst[c->dstsz] == 'X', "%s: stays inside dstsz",
		    c->name);
	}
	dst[0] = 'X';
	log_esc(dst, 0, "abc", 3);
	tap_ok(dst[0] == 'X', "dstsz 0 writes nothing");
}

int
main(void)
{
	test_format();
	test_long();
	test_syslog();
	test_inet_stderr();
	test_env_syslog();
	test_esc();
	return tap_done();
}
