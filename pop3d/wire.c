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

#include "io.h"
#include "pop3.h"

void
pop3_wire_setup(int fd)
{
	int one = 1;

	/* replies are whole batches already: no need to wait for more */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int
pop3_wire_write(int fd, const char *p, size_t len, int64_t deadline_ms)
{
	ssize_t n;
	bool sock = true;

	while (len > 0) {
		if (io_wait(fd, POLLOUT, deadline_ms) == -1)
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
