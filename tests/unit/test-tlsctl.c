/* test-tlsctl: the tern-tlsd control protocol, parser and both ends. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../ucspi/tls.h"
#include "tap.h"
#include "tlsctl.h"

static const struct {
	const char	*in;
	int		 r;		/* tlsctl_reply_parse's result */
	size_t		 used;
	bool		 ok;
	const char	*a, *b;		/* proto, cipher or reason */
	const char	*name;
} reply_cases[] = {
	{ "OK TLSv1.3 TLS_AES_256_GCM_SHA384\n", 1, 34, true, "TLSv1.3",
	  "TLS_AES_256_GCM_SHA384", "OK with protocol and cipher" },
	{ "OK TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256\nrest", 1, 39, true,
	  "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256",
	  "OK: used stops after the newline" },
	{ "NO already active\n", 1, 18, false, "already active", "",
	  "NO with a reason" },
	{ "NO\n", 1, 3, false, "", "", "NO without a reason" },
	{ "NO \n", 1, 4, false, "", "", "NO with an empty reason" },
	{ "OK TLSv1.3", 0, 0, false, "", "", "no newline yet: need more" },
	{ "", 0, 0, false, "", "", "nothing yet: need more" },
	{ "OK TLSv1.3\n", -1, 0, false, "", "", "OK without a cipher" },
	{ "OK  TLSv1.3 X\n", -1, 0, false, "", "", "OK with two spaces" },
	{ "OK TLSv1.3 X \n", -1, 0, false, "", "", "OK with a trailing space" },
	{ "OK TLSv1.3 X Y\n", -1, 0, false, "", "", "OK with a third word" },
	{ "OK TLSv1.3 X\r\n", -1, 0, false, "", "", "CR is not allowed" },
	{ "OKTLSv1.3 X\n", -1, 0, false, "", "", "OK glued to the word" },
	{ "ok TLSv1.3 X\n", -1, 0, false, "", "", "lower case ok" },
	{ "NOPE\n", -1, 0, false, "", "", "NO glued to text" },
	{ "NO bad\tthing\n", -1, 0, false, "", "", "a tab in the reason" },
	{ "YES\n", -1, 0, false, "", "", "an unknown word" },
	{ "\n", -1, 0, false, "", "", "an empty line" },
};

static void
test_reply_parse(void)
{
	struct tlsctl_reply rep;
	size_t i, used, len;
	int r;

	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		len = strlen(reply_cases[i].in);
		r = tlsctl_reply_parse(reply_cases[i].in, len, &rep, &used);
		if (!tap_is_int(r, reply_cases[i].r, "reply: %s",
		    reply_cases[i].name) || r != 1)
			continue;
		tap_ok(used == reply_cases[i].used && rep.ok ==
		    reply_cases[i].ok && strcmp(rep.ok ? rep.proto :
		    rep.reason, reply_cases[i].a) == 0 && strcmp(rep.ok ?
		    rep.cipher : "", reply_cases[i].b) == 0,
		    "reply: %s: fields", reply_cases[i].name);
	}
}

/* Lines at and over each limit. */
static void
test_reply_limits(void)
{
	char buf[TLSCTL_LINE_MAX * 2];
	struct tlsctl_reply rep;
	size_t used;
	int n;

	memset(buf, 'a', sizeof(buf));
	tap_is_int(tlsctl_reply_parse(buf, TLSCTL_LINE_MAX - 1, &rep, &used),
	    0, "limit: LINE_MAX - 1 bytes without newline: need more");
	tap_is_int(tlsctl_reply_parse(buf, TLSCTL_LINE_MAX, &rep, &used), -1,
	    "limit: LINE_MAX bytes without newline: malformed");
	tap_is_int(tlsctl_reply_parse(buf, sizeof(buf), &rep, &used), -1,
	    "limit: more than LINE_MAX without newline: malformed");
	/* "NO " + reason of REASON_MAX - 1 + "\n". */
	n = snprintf(buf, sizeof(buf), "NO %.*s\n", TLSCTL_REASON_MAX - 1,
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxx");
	tap_is_int(tlsctl_reply_parse(buf, (size_t)n, &rep, &used), 1,
	    "limit: a reason of REASON_MAX - 1 bytes parses");
	n = snprintf(buf, sizeof(buf), "NO %0*d\n", TLSCTL_REASON_MAX, 0);
	tap_is_int(tlsctl_reply_parse(buf, (size_t)n, &rep, &used), -1,
	    "limit: a reason of REASON_MAX bytes is refused");
	n = snprintf(buf, sizeof(buf), "OK %0*d X\n", TLSCTL_PROTO_MAX, 0);
	tap_is_int(tlsctl_reply_parse(buf, (size_t)n, &rep, &used), -1,
	    "limit: a protocol of PROTO_MAX bytes is refused");
	n = snprintf(buf, sizeof(buf), "OK %0*d X\n", TLSCTL_PROTO_MAX - 1, 0);
	tap_is_int(tlsctl_reply_parse(buf, (size_t)n, &rep, &used), 1,
	    "limit: a protocol of PROTO_MAX - 1 bytes parses");
	n = snprintf(buf, sizeof(buf), "OK T %0*d\n", TLSCTL_CIPHER_MAX, 0);
	tap_is_int(tlsctl_reply_parse(buf, (size_t)n, &rep, &used), -1,
	    "limit: a cipher of CIPHER_MAX bytes is refused");
}

static void
test_format(void)
{
	struct tlsctl_reply r, back;
	char buf[TLSCTL_LINE_MAX];
	size_t used;
	int n;

	memset(&r, 0, sizeof(r));
	r.ok = true;
	(void)strlcpy(r.proto, "TLSv1.3", sizeof(r.proto));
	(void)strlcpy(r.cipher, "TLS_CHACHA20_POLY1305_SHA256",
	    sizeof(r.cipher));
	n = tlsctl_reply_format(buf, sizeof(buf), &r);
	tap_is_str(buf, "OK TLSv1.3 TLS_CHACHA20_POLY1305_SHA256\n",
	    "format: OK line");
	tap_ok(n > 0 && tlsctl_reply_parse(buf, (size_t)n, &back, &used) == 1
	    && strcmp(back.cipher, r.cipher) == 0, "format: OK parses back");
	(void)strlcpy(r.cipher, "has space", sizeof(r.cipher));
	tap_ok(tlsctl_reply_format(buf, sizeof(buf), &r) == -1 &&
	    errno == EINVAL, "format: a cipher with a space is refused");
	memset(&r, 0, sizeof(r));
	(void)strlcpy(r.reason, "bad\r\nOK x y", sizeof(r.reason));
	n = tlsctl_reply_format(buf, sizeof(buf), &r);
	tap_is_str(buf, "NO bad??OK x y\n",
	    "format: CR/LF in a reason cannot forge a second line");
	r.reason[0] = '\0';
	tlsctl_reply_format(buf, sizeof(buf), &r);
	tap_is_str(buf, "NO\n", "format: NO without reason");
	tap_ok(tlsctl_reply_format(buf, 3, &r) == -1 && errno == ENOSPC,
	    "format: a buffer too small is ENOSPC");
}

static void
test_request(void)
{
	size_t used;

	tap_ok(tlsctl_request_parse("Y", 1, &used) == TLSCTL_START &&
	    used == 1, "request: Y starts TLS");
	tap_ok(tlsctl_request_parse("YY", 2, &used) == TLSCTL_START &&
	    used == 1, "request: one byte at a time");
	tap_ok(tlsctl_request_parse("y", 1, &used) == TLSCTL_BAD &&
	    used == 1, "request: lower-case y is bad");
	tap_ok(tlsctl_request_parse("", 0, &used) == TLSCTL_NEED &&
	    used == 0, "request: nothing yet");
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fake tern-tlsd on the other end of sv[1], by the child. */
static void
fake_server(int fd, int mode)
{
	char c;
	int sp[2];

	if (read(fd, &c, 1) != 1 || c != 'Y')
		_exit(2);
	if (mode == 0) {	/* OK with a socket that says "hi" */
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1 ||
		    write(sp[0], "hi", 2) != 2 ||
		    tls_ctl_send(fd, true, "TLSv1.3", "TLS_X", sp[1]) == -1)
			_exit(3);
	} else if (mode == 1) {
		(void)tls_ctl_send(fd, false, "handshake failed", NULL, -1);
	} else if (mode == 2) {	/* OK without a descriptor: a lie */
		(void)tls_ctl_send(fd, true, "TLSv1.3", "TLS_X", -1);
	} else if (mode == 3) {
		(void)write(fd, "garbage\n", 8);
	} else if (mode == 4) {
		sleep(2);
	}
	_exit(0);
}

static int
run_start(int mode, int *fd, struct tlsctl_reply *rep, int *err)
{
	int sv[2], r, st;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -2;
	if ((pid = fork()) == 0) {
		close(sv[0]);
		fake_server(sv[1], mode);
	}
	close(sv[1]);
	r = tlsctl_start(sv[0], mode == 4 ? now_ms() + 200 : 0, fd, rep);
	*err = errno;
	close(sv[0]);
	waitpid(pid, &st, 0);
	return r;
}

static void
test_start(void)
{
	struct tlsctl_reply rep;
	char buf[4];
	int fd, err;

	tap_ok(run_start(0, &fd, &rep, &err) == 1 && fd > 2 &&
	    strcmp(rep.proto, "TLSv1.3") == 0, "start: OK with a socket");
	tap_ok(fd > 2 && read(fd, buf, 2) == 2 && memcmp(buf, "hi", 2) == 0,
	    "start: the passed socket works");
	tap_ok(fd > 2 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
	    "start: the passed socket is close-on-exec");
	if (fd > 2)
		close(fd);
	tap_ok(run_start(1, &fd, &rep, &err) == 0 && fd == -1 &&
	    strcmp(rep.reason, "handshake failed") == 0,
	    "start: NO with its reason");
	tap_ok(run_start(2, &fd, &rep, &err) == -1 && err == EPROTO,
	    "start: OK without a descriptor is EPROTO");
	tap_ok(run_start(3, &fd, &rep, &err) == -1 && err == EPROTO,
	    "start: a malformed reply is EPROTO");
	tap_ok(run_start(4, &fd, &rep, &err) == -1 && err == ETIMEDOUT,
	    "start: no reply by the deadline is ETIMEDOUT");
	tap_ok(run_start(5, &fd, &rep, &err) == -1 && err == ECONNRESET,
	    "start: the server closing is ECONNRESET");
}

static void
test_env(void)
{
	int sv[2];
	char s[16];

	unsetenv(TLSCTL_ENV);
	tap_is_int(tlsctl_env_fd(), -1, "env: unset");
	setenv(TLSCTL_ENV, "1", 1);
	tap_is_int(tlsctl_env_fd(), -1, "env: fds 0-2 are refused");
	setenv(TLSCTL_ENV, "9x", 1);
	tap_is_int(tlsctl_env_fd(), -1, "env: garbage is refused");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return;
	(void)snprintf(s, sizeof(s), "%d", sv[0]);
	setenv(TLSCTL_ENV, s, 1);
	tap_is_int(tlsctl_env_fd(), sv[0], "env: an open fd");
	close(sv[0]);
	tap_is_int(tlsctl_env_fd(), -1, "env: a closed fd is refused");
	close(sv[1]);
	unsetenv(TLSCTL_ENV);
}

int
main(void)
{
	test_reply_parse();
	test_reply_limits();
	test_format();
	test_request();
	test_start();
	test_env();
	return tap_done();
}
