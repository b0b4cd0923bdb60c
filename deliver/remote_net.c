/* remote_net: one SMTP connection with deadlines, plain or TLS. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "io.h"
#include "line.h"
#include "remote.h"

int64_t
remote_deadline(int seconds)
{
	return line_deadline((int64_t)seconds * 1000);
}

void
rconn_init(struct remote_conn *c)
{
	c->fd = -1;
	c->ssl = NULL;
	c->rstart = c->rend = 0;
}

static int
make_addr(const char *ip, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	errno = EINVAL;
	return -1;
}

int
rconn_connect(struct remote_conn *c, const char *ip, int port,
    int64_t deadline)
{
	struct sockaddr_storage	ss;
	socklen_t		len, elen = sizeof(int);
	int			fd, err = 0;

	if (make_addr(ip, port, &ss, &len) == -1)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno != EINPROGRESS ||
		    io_wait(fd, POLLOUT, deadline) == -1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	/* we write whole commands, groups and blocks: no Nagle delays */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
	    sizeof(int));
	c->fd = fd;
	c->rstart = c->rend = 0;
	smtpreply_init(c->reply);
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* SSL_read/SSL_write result: 1 retry after waiting, -1 error. */
static int
ssl_want(struct remote_conn *c, int rv, int64_t deadline)
{
	switch (SSL_get_error(c->ssl, rv)) {
	case SSL_ERROR_WANT_READ:
		return io_wait(c->fd, POLLIN, deadline) == -1 ? -1 : 1;
	case SSL_ERROR_WANT_WRITE:
		return io_wait(c->fd, POLLOUT, deadline) == -1 ? -1 : 1;
	case SSL_ERROR_ZERO_RETURN:
		errno = ECONNRESET;
		return -1;
	default:
		ERR_clear_error();
		if (errno == 0)
			errno = EPROTO;
		return -1;
	}
}

int
rconn_write(struct remote_conn *c, const void *data, size_t len,
    int64_t deadline)
{
	const char	*p = data;
	int		 n;

	if (c->ssl == NULL)
		return io_write_deadline(c->fd, data, len, deadline);
	while (len > 0) {
		errno = 0;
		n = SSL_write(c->ssl, p, len > 65536 ? 65536 : (int)len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (ssl_want(c, n, deadline) == -1)
			return -1;
	}
	return 0;
}

/* Read more bytes into rbuf: n > 0, or -1 (EOF is ECONNRESET). */
static ssize_t
fill(struct remote_conn *c, int64_t deadline)
{
	ssize_t	n;

	c->rstart = c->rend = 0;
	for (;;) {
		if (c->ssl != NULL) {
			errno = 0;
			n = SSL_read(c->ssl, c->rbuf, sizeof(c->rbuf));
			if (n <= 0 && ssl_want(c, (int)n, deadline) == 1)
				continue;
		} else {
			n = read(c->fd, c->rbuf, sizeof(c->rbuf));
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				if (io_wait(c->fd, POLLIN, deadline) == -1)
					return -1;
				continue;
			}
		}
		if (n == 0 || (n < 0 && c->ssl != NULL && errno == 0))
			errno = ECONNRESET;
		if (n <= 0)
			return -1;
		c->rend = (size_t)n;
		return n;
	}
}

int
rconn_reply(struct remote_conn *c, int64_t deadline, const char **why)
{
	size_t	used;
	int	rv;

	*why = NULL;
	for (;;) {
		if (c->rstart == c->rend && fill(c, deadline) == -1)
			return -1;
		rv = smtpreply_feed(c->reply, c->rbuf + c->rstart,
		    c->rend - c->rstart, &used, why);
		c->rstart += used;
		if (rv == 1)
			return 0;
		if (rv == -1) {
			errno = EPROTO;
			return -1;
		}
	}
}

size_t
rconn_pending(const struct remote_conn *c)
{
	return c->rend - c->rstart;
}

void
rconn_discard(struct remote_conn *c)
{
	c->rstart = c->rend = 0;
	smtpreply_init(c->reply);
}

void
rconn_close(struct remote_conn *c)
{
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->rstart = c->rend = 0;
}
