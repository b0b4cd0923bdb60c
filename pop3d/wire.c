/*
 * wire: writing replies to the client.  Each buffer goes out in as few
 * system calls as the socket takes, so a reply is never split into a
 * full segment and a small tail that Nagle's algorithm would hold back
 * until the client's delayed ACK (40 ms per message on Linux).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include "pop3.h"

void
pop3_wire_setup(int fd)
{
	int one = 1;

	/* replies are whole batches already: no need to wait for more */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int
wire_wait(int fd, int64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int64_t left;
	int r;

	for (;;) {
		left = deadline_ms - line_deadline(0);
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r > 0)
			return 0;
	}
}

int
pop3_wire_write(int fd, const char *p, size_t len, int64_t deadline_ms)
{
	ssize_t n;
	bool sock = true;

	while (len > 0) {
		if (wire_wait(fd, deadline_ms) == -1)
			return -1;
		n = sock ? send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL) :
		    write(fd, p, len);
		if (n == -1 && errno == ENOTSOCK && sock) {
			sock = false;	/* a pipe: poll said there is room */
			continue;
		}
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
