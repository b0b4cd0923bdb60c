/* tlsctl: the tern-tlsd control protocol, both ends. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tlsctl.h"

enum tlsctl_req
tlsctl_request_parse(const char *buf, size_t len, size_t *used)
{
	if (len == 0) {
		*used = 0;
		return TLSCTL_NEED;
	}
	*used = 1;
	return buf[0] == TLSCTL_REQ_START ? TLSCTL_START : TLSCTL_BAD;
}

/* A token of 0x21..0x7e, 1 to max - 1 bytes, copied with a NUL. */
static int
tlsctl_token(const char *s, size_t len, char *out, size_t max)
{
	size_t i;

	if (len == 0 || len >= max)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* The text after "NO": empty, or one space and printable ASCII. */
static int
tlsctl_reason(const char *s, size_t len, char *out, size_t max)
{
	size_t i;

	out[0] = '\0';
	if (len == 0)
		return 0;
	if (s[0] != ' ' || len - 1 >= max)
		return -1;
	for (i = 1; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return -1;
	memcpy(out, s + 1, len - 1);
	out[len - 1] = '\0';
	return 0;
}

/* "OK proto cipher" (without the '\n'), len bytes. */
static int
tlsctl_ok(const char *s, size_t len, struct tlsctl_reply *out)
{
	const char *sp;

	if (len < 3 || s[2] != ' ')
		return -1;
	s += 3;
	len -= 3;
	if ((sp = memchr(s, ' ', len)) == NULL)
		return -1;
	if (tlsctl_token(s, (size_t)(sp - s), out->proto,
	    sizeof(out->proto)) == -1)
		return -1;
	len -= (size_t)(sp - s) + 1;
	return tlsctl_token(sp + 1, len, out->cipher, sizeof(out->cipher));
}

int
tlsctl_reply_parse(const char *buf, size_t len, struct tlsctl_reply *out,
    size_t *used)
{
	const char *nl;
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	*used = 0;
	if (len > TLSCTL_LINE_MAX)
		len = TLSCTL_LINE_MAX;
	if ((nl = memchr(buf, '\n', len)) == NULL) {
		if (len < TLSCTL_LINE_MAX)
			return 0;
		errno = EINVAL;
		return -1;
	}
	n = (size_t)(nl - buf);
	if (n >= 2 && memcmp(buf, "OK", 2) == 0) {
		out->ok = true;
		r = tlsctl_ok(buf, n, out);
	} else if (n >= 2 && memcmp(buf, "NO", 2) == 0)
		r = tlsctl_reason(buf + 2, n - 2, out->reason,
		    sizeof(out->reason));
	else
		r = -1;
	if (r == -1) {
		memset(out, 0, sizeof(*out));
		errno = EINVAL;
		return -1;
	}
	*used = n + 1;
	return 1;
}

int
tlsctl_reply_format(char *buf, size_t bufsz, const struct tlsctl_reply *r)
{
	char why[TLSCTL_REASON_MAX];
	struct tlsctl_reply chk;
	size_t i, used;
	int n;

	if (r->ok) {
		n = snprintf(buf, bufsz, "OK %s %s\n", r->proto, r->cipher);
	} else {
		(void)strlcpy(why, r->reason, sizeof(why));
		for (i = 0; why[i] != '\0'; i++)
			if ((unsigned char)why[i] < 0x20 ||
			    (unsigned char)why[i] > 0x7e)
				why[i] = '?';
		n = snprintf(buf, bufsz, why[0] != '\0' ? "NO %s\n" : "NO\n",
		    why);
	}
	if (n < 0 || (size_t)n >= bufsz) {
		errno = ENOSPC;
		return -1;
	}
	/* What we send must be what the other end accepts. */
	if (tlsctl_reply_parse(buf, (size_t)n, &chk, &used) != 1 ||
	    used != (size_t)n) {
		errno = EINVAL;
		return -1;
	}
	return n;
}

int
tlsctl_env_fd(void)
{
	const char *s, *es;
	long long fd;

	if ((s = getenv(TLSCTL_ENV)) == NULL)
		return -1;
	fd = strtonum(s, 3, 65535, &es);
	if (es != NULL || fcntl((int)fd, F_GETFD) == -1)
		return -1;
	return (int)fd;
}

static int
tlsctl_wait_in(int fd, int64_t deadline_ms)
{
	struct pollfd pfd;
	struct timespec ts;
	int64_t left;
	int r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		left = -1;
		if (deadline_ms != 0) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			left = deadline_ms - ((int64_t)ts.tv_sec * 1000 +
			    ts.tv_nsec / 1000000);
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
		}
		r = poll(&pfd, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/* One recvmsg: bytes into buf, a passed descriptor into *fd (once). */
static ssize_t
tlsctl_recv(int ctlfd, char *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr	hdr;
		char		space[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct msghdr msg;
	struct cmsghdr *c;
	struct iovec iov;
	size_t i, nfd;
	ssize_t n;
	int got[4];

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.space;
	msg.msg_controllen = sizeof(cm.space);
	if ((n = recvmsg(ctlfd, &msg, MSG_CMSG_CLOEXEC)) == -1)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfd > 4)
			nfd = 4;
		memcpy(got, CMSG_DATA(c), nfd * sizeof(int));
		/* Keep the first; more than one is not ours to hold. */
		for (i = 0; i < nfd; i++) {
			if (*fd == -1)
				*fd = got[i];
			else
				close(got[i]);
		}
	}
	return n;
}

int
tlsctl_start(int ctlfd, int64_t deadline_ms, int *fd_out,
    struct tlsctl_reply *out)
{
	char buf[TLSCTL_LINE_MAX], y = TLSCTL_REQ_START;
	size_t len = 0, used;
	ssize_t n;
	int fd = -1, r;

	*fd_out = -1;
	while ((n = write(ctlfd, &y, 1)) == -1 && errno == EINTR)
		;
	if (n != 1)
		return -1;
	for (;;) {
		if (tlsctl_wait_in(ctlfd, deadline_ms) == -1)
			goto fail;
		n = tlsctl_recv(ctlfd, buf + len, sizeof(buf) - len, &fd);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			goto fail;
		}
		len += (size_t)n;
		if ((r = tlsctl_reply_parse(buf, len, out, &used)) != 0)
			break;
	}
	if (r == -1 || used != len || (out->ok && fd == -1)) {
		errno = EPROTO;
		goto fail;
	}
	if (!out->ok) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	*fd_out = fd;
	return 1;
fail:
	if (fd != -1)
		close(fd);
	return -1;
}
