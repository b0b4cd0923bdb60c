/* test-line: the line reader with a hard maximum and a deadline. */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line.h"
#include "tap.h"

/* Bytes with an explicit length, so test data may hold NUL. */
struct bytes {
	const char	*s;
	size_t		 n;
};
#define B(str)	{ str, sizeof(str) - 1 }
#define END	{ NULL, 0 }

/* What one line_read call must give: ret, errno, line and flags. */
struct step {
	int		 ret;
	int		 err;
	struct bytes	 line;
	int		 flags;
};
#define LINE(str, fl)	{ 1, 0, B(str), fl }
#define TOOLONG		{ -1, EMSGSIZE, END, 0 }
#define EOFSTEP		{ 0, 0, END, 0 }

#define CRLF	LINE_CRLF
#define LF	LINE_BARE_LF

/*
 * Each chunk is one SOCK_SEQPACKET packet, so each read(2) of the reader
 * returns exactly one chunk: splits land where the table says.
 */
struct line_case {
	const char	*name;
	size_t		 max;
	struct bytes	 chunks[6];
	struct step	 steps[6];	/* ends after the first EOFSTEP */
};

static const struct line_case cases[] = {
	{ "CRLF line", 5, { B("abc\r\n"), END },
	    { LINE("abc", CRLF), EOFSTEP } },
	{ "bare LF line", 5, { B("abc\n"), END },
	    { LINE("abc", LF), EOFSTEP } },
	{ "EOF without newline gives the last line", 5, { B("abc"), END },
	    { LINE("abc", LINE_EOF), EOFSTEP } },
	{ "empty input is a clean EOF", 5, { END },
	    { EOFSTEP } },
	{ "CRLF split between two reads", 5, { B("abc\r"), B("\n"), END },
	    { LINE("abc", CRLF), EOFSTEP } },
	{ "lines spread over several reads", 5,
	    { B("ab"), B("c\r\nde"), B("f\n"), END },
	    { LINE("abc", CRLF), LINE("def", LF), EOFSTEP } },
	{ "several lines in one read", 5, { B("a\nbb\r\nccc\n"), END },
	    { LINE("a", LF), LINE("bb", CRLF), LINE("ccc", LF), EOFSTEP } },
	{ "line of exactly max bytes", 5, { B("abcde\r\n"), END },
	    { LINE("abcde", CRLF), EOFSTEP } },
	{ "line of exactly max bytes, bare LF", 5, { B("abcde\n"), END },
	    { LINE("abcde", LF), EOFSTEP } },
	{ "line of max + 1 bytes is refused", 5, { B("abcdef\r\n"), END },
	    { TOOLONG, EOFSTEP } },
	{ "over-long line then a good one, same read", 5,
	    { B("abcdefghij\r\nok\r\n"), END },
	    { TOOLONG, LINE("ok", CRLF), EOFSTEP } },
	{ "over-long line over several reads then a good one", 5,
	    { B("abcdef"), B("ghij"), B("klm\r"), B("\nok\n"), END },
	    { TOOLONG, LINE("ok", LF), EOFSTEP } },
	{ "max bytes and CR in one read, LF in the next", 5,
	    { B("abcde\r"), B("\n"), END },
	    { LINE("abcde", CRLF), EOFSTEP } },
	{ "max bytes, CR, then no LF: too long", 5,
	    { B("abcde\r"), B("x\nok\n"), END },
	    { TOOLONG, LINE("ok", LF), EOFSTEP } },
	{ "bare CR inside a line is flagged", 5, { B("a\rb\r\n"), END },
	    { LINE("a\rb", CRLF | LINE_BARE_CR), EOFSTEP } },
	{ "CR before CRLF is a bare CR", 5, { B("\r\r\n"), END },
	    { LINE("\r", CRLF | LINE_BARE_CR), EOFSTEP } },
	{ "NUL inside a line is flagged and kept", 5, { B("a\0b\n"), END },
	    { LINE("a\0b", LF | LINE_NUL), EOFSTEP } },
	{ "empty lines", 5, { B("\r\n\n"), END },
	    { LINE("", CRLF), LINE("", LF), EOFSTEP } },
	{ "lone CR at EOF stays in the line", 5, { B("ab\r"), END },
	    { LINE("ab\r", LINE_EOF | LINE_BARE_CR), EOFSTEP } },
	{ "max + 1 bytes at EOF without newline", 5, { B("abcdef"), END },
	    { TOOLONG, EOFSTEP } },
	{ "over-long line cut by EOF", 5, { B("abcdefgh"), B("ijk"), END },
	    { TOOLONG, EOFSTEP } },
	{ "max 0 takes only empty lines", 0, { B("\nx\n\r\n"), END },
	    { LINE("", LF), TOOLONG, LINE("", CRLF), EOFSTEP } },
};

static bool
step_ok(const struct step *want, int ret, int err, const char *line,
    size_t len, int flags)
{
	if (ret != want->ret)
		return false;
	if (ret == -1)
		return err == want->err;
	if (ret == 0)
		return true;
	return len == want->line.n && memcmp(line, want->line.s, len) == 0 &&
	    line[len] == '\0' && flags == want->flags;
}

static void
run_case(const struct line_case *c)
{
	struct linereader lr;
	const struct step *st;
	char *line;
	size_t len, i;
	int sv[2], ret, err, flags;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1) {
		tap_ok(false, "%s: socketpair", c->name);
		return;
	}
	for (i = 0; c->chunks[i].s != NULL; i++)
		(void)write(sv[1], c->chunks[i].s, c->chunks[i].n);
	close(sv[1]);
	if (line_init(&lr, sv[0], c->max) == -1) {
		tap_ok(false, "%s: line_init", c->name);
		close(sv[0]);
		return;
	}
	for (i = 0; ; i++) {
		st = &c->steps[i];
		line = NULL;
		len = 0;
		flags = 0;
		errno = 0;
		ret = line_read(&lr, line_deadline(5000), &line, &len, &flags);
		err = errno;
		if (!tap_ok(step_ok(st, ret, err, line, len, flags),
		    "%s: read %zu", c->name, i + 1))
			tap_diag("ret %d errno %d len %zu flags %#x", ret, err,
			    len, flags);
		if (st->ret == 0)
			break;
	}
	line_free(&lr);
	close(sv[0]);
}

/* A pipe with no data: the deadline ends the wait, and not too early. */
static void
test_deadline(void)
{
	struct linereader lr;
	int64_t t0, dt;
	char *line;
	size_t len;
	int p[2], flags, r;

	if (pipe(p) == -1 || line_init(&lr, p[0], 100) == -1) {
		tap_ok(false, "deadline: setup");
		return;
	}
	t0 = line_deadline(0);
	errno = 0;
	r = line_read(&lr, line_deadline(100), &line, &len, &flags);
	dt = line_deadline(0) - t0;
	tap_ok(r == -1 && errno == ETIMEDOUT,
	    "a pipe with no data times out with ETIMEDOUT");
	tap_ok(dt >= 90 && dt < 3000, "the wait lasted about the deadline "
	    "(%lld ms)", (long long)dt);

	/* Half a line, then the deadline: the half stays buffered. */
	(void)write(p[1], "hel", 3);
	errno = 0;
	r = line_read(&lr, line_deadline(50), &line, &len, &flags);
	tap_ok(r == -1 && errno == ETIMEDOUT,
	    "a partial line then silence times out");
	tap_is_int((long long)line_pending(&lr), 3,
	    "the partial line stays pending after the timeout");
	(void)write(p[1], "lo\r\nnext\n", 9);
	r = line_read(&lr, line_deadline(1000), &line, &len, &flags);
	tap_ok(r == 1 && len == 5 && strcmp(line, "hello") == 0 &&
	    flags == LINE_CRLF, "the rest completes the line after a timeout");
	tap_is_int((long long)line_pending(&lr), 5,
	    "the next line is pending (pipelining)");
	line_discard(&lr);
	tap_is_int((long long)line_pending(&lr), 0, "discard drops it");

	/* A deadline already in the past does not block even without data. */
	t0 = line_deadline(0);
	errno = 0;
	r = line_read(&lr, line_deadline(-1000), &line, &len, &flags);
	dt = line_deadline(0) - t0;
	tap_ok(r == -1 && errno == ETIMEDOUT && dt < 1000,
	    "a deadline in the past fails at once");
	/* But data already there is still read. */
	(void)write(p[1], "x\n", 2);
	r = line_read(&lr, line_deadline(-1000), &line, &len, &flags);
	tap_ok(r == 1 && strcmp(line, "x") == 0,
	    "a past deadline still returns data that is ready");
	line_free(&lr);
	close(p[0]);
	close(p[1]);
}

static void
test_errors(void)
{
	struct linereader lr;
	char *line;
	size_t len;
	int p[2], flags, r;

	if (pipe(p) == -1 || line_init(&lr, p[0], 100) == -1) {
		tap_ok(false, "errors: setup");
		return;
	}
	close(p[0]);
	errno = 0;
	r = line_read(&lr, 0, &line, &len, &flags);
	tap_ok(r == -1 && errno == EBADF, "read(2) errors are passed up");
	line_free(&lr);
	close(p[1]);

	errno = 0;
	r = line_init(&lr, 0, (size_t)-1);
	tap_ok(r == -1 && errno == ENOMEM,
	    "line_init with a max that overflows fails with ENOMEM");

	/* A non-blocking fd without a deadline waits instead of failing. */
	if (pipe(p) == -1 || line_init(&lr, p[0], 100) == -1)
		return;
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	if (fork() == 0) {
		usleep(50 * 1000);
		(void)write(p[1], "late\n", 5);
		_exit(0);
	}
	r = line_read(&lr, 0, &line, &len, &flags);
	tap_ok(r == 1 && strcmp(line, "late") == 0,
	    "a non-blocking fd without deadline waits for data");
	(void)wait(NULL);
	line_free(&lr);
	close(p[0]);
	close(p[1]);
}

#define BIG_MAX	100000

static void
big_writer(int fd)
{
	static char big[BIG_MAX + 1];
	char small[32];
	int i, n;

	memset(big, 'x', sizeof(big));
	(void)write(fd, big, BIG_MAX);
	(void)write(fd, "\r\n", 2);
	(void)write(fd, big, BIG_MAX + 1);
	(void)write(fd, "\nok\n", 4);
	for (i = 0; i < 1000; i++) {
		n = snprintf(small, sizeof(small), "line %d\n", i);
		(void)write(fd, small, (size_t)n);
	}
}

/* Long lines through a real pipe, with partial reads of any size. */
static void
test_big(void)
{
	struct linereader lr;
	char *line, want[32];
	size_t len;
	int p[2], flags, r, i, bad;
	pid_t pid;

	if (pipe(p) == -1 || line_init(&lr, p[0], BIG_MAX) == -1)
		return;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p[0]);
		big_writer(p[1]);
		_exit(0);
	}
	close(p[1]);
	r = line_read(&lr, line_deadline(5000), &line, &len, &flags);
	tap_ok(r == 1 && len == BIG_MAX && line[0] == 'x' &&
	    line[BIG_MAX - 1] == 'x' && flags == LINE_CRLF,
	    "a %d-byte line at max %d is read whole", BIG_MAX, BIG_MAX);
	errno = 0;
	r = line_read(&lr, line_deadline(5000), &line, &len, &flags);
	tap_ok(r == -1 && errno == EMSGSIZE,
	    "a %d-byte line at max %d is refused", BIG_MAX + 1, BIG_MAX);
	r = line_read(&lr, line_deadline(5000), &line, &len, &flags);
	tap_ok(r == 1 && strcmp(line, "ok") == 0,
	    "the line after the refused one is read");
	bad = 0;
	for (i = 0; i < 1000; i++) {
		snprintf(want, sizeof(want), "line %d", i);
		r = line_read(&lr, line_deadline(5000), &line, &len, &flags);
		if (r != 1 || strcmp(line, want) != 0 || flags != LINE_BARE_LF)
			bad++;
	}
	tap_is_int(bad, 0, "1000 short lines after long ones come through");
	r = line_read(&lr, line_deadline(5000), &line, &len, &flags);
	tap_is_int(r, 0, "then a clean EOF");
	(void)waitpid(pid, NULL, 0);
	line_free(&lr);
	close(p[0]);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_deadline();
	test_errors();
	test_big();
	return tap_done();
}
