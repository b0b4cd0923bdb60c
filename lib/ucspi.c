/* ucspi: who is on the other end of a server's fd 0, and where to log. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ucspi.h"

int
ucspi_port_parse(const char *s, uint16_t *port_out)
{
	unsigned long v = 0;
	size_t i;

	/* Digits only: strtol would take spaces, signs and "0x". */
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			goto bad;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v > 65535)
		goto bad;
	*port_out = (uint16_t)v;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

bool
ucspi_ip_valid(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* The text of an IPv4 address held in four bytes. */
static int
ucspi_format4(const void *a4, char *ip, size_t ipsz)
{
	if (inet_ntop(AF_INET, a4, ip, (socklen_t)ipsz) == NULL) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

/*
 * A dual-stack IPv6 socket (systemd's default, inetd "tcp6") sees IPv4
 * clients as ::ffff:a.b.c.d; servers and their logs want a.b.c.d.
 */
int
ucspi_addr_format(const struct sockaddr *sa, socklen_t salen, char *ip,
    size_t ipsz, uint16_t *port_out)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	if (sa->sa_family == AF_INET && salen >= sizeof(*s4)) {
		s4 = (const struct sockaddr_in *)sa;
		*port_out = ntohs(s4->sin_port);
		return ucspi_format4(&s4->sin_addr, ip, ipsz);
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(*s6)) {
		s6 = (const struct sockaddr_in6 *)sa;
		*port_out = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			return ucspi_format4(&s6->sin6_addr.s6_addr[12], ip,
			    ipsz);
		if (inet_ntop(AF_INET6, &s6->sin6_addr, ip,
		    (socklen_t)ipsz) == NULL) {
			errno = ENOSPC;
			return -1;
		}
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

/*
 * Copy an address variable: absent is fine when optional, present must
 * be an address literal.
 */
static int
ucspi_env_ip(const char *name, bool required, char *ip, size_t ipsz)
{
	const char *v = getenv(name);

	if (v == NULL && !required)
		return 0;
	if (v == NULL || !ucspi_ip_valid(v) || strlcpy(ip, v, ipsz) >= ipsz) {
		ip[0] = '\0';
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
ucspi_env_port(const char *name, bool required, uint16_t *port_out)
{
	const char *v = getenv(name);

	if (v == NULL && !required)
		return 0;
	if (v == NULL) {
		errno = EINVAL;
		return -1;
	}
	return ucspi_port_parse(v, port_out);
}

static int
ucspi_from_env(struct ucspi_conn *c)
{
	if (ucspi_env_ip("TCPREMOTEIP", true, c->remote_ip,
	    sizeof(c->remote_ip)) == -1 ||
	    ucspi_env_port("TCPREMOTEPORT", true, &c->remote_port) == -1 ||
	    ucspi_env_ip("TCPLOCALIP", false, c->local_ip,
	    sizeof(c->local_ip)) == -1 ||
	    ucspi_env_port("TCPLOCALPORT", false, &c->local_port) == -1)
		return -1;
	c->source = UCSPI_ENV;
	return 1;
}

/* Not a socket, or not an IP socket: there is simply nothing to tell. */
static int
ucspi_from_socket(struct ucspi_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len;

	len = sizeof(ss);
	if (getpeername(STDIN_FILENO, (struct sockaddr *)&ss, &len) == -1) {
		if (errno == ENOTSOCK || errno == ENOTCONN || errno == EBADF)
			return 0;
		return -1;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return 0;
	if (ucspi_addr_format((struct sockaddr *)&ss, len, c->remote_ip,
	    sizeof(c->remote_ip), &c->remote_port) == -1)
		return -1;
	len = sizeof(ss);
	if (getsockname(STDIN_FILENO, (struct sockaddr *)&ss, &len) == -1 ||
	    ucspi_addr_format((struct sockaddr *)&ss, len, c->local_ip,
	    sizeof(c->local_ip), &c->local_port) == -1)
		return -1;
	c->source = UCSPI_SOCKET;
	return 1;
}

/* inetd puts the connection on fds 0, 1 and 2: the same socket. */
static bool
ucspi_stderr_is_conn(void)
{
	struct stat s0, s2;

	if (fstat(STDERR_FILENO, &s2) == -1)
		return errno == EBADF;
	if (!S_ISSOCK(s2.st_mode))
		return false;
	if (fstat(STDIN_FILENO, &s0) == -1)
		return false;
	return s0.st_dev == s2.st_dev && s0.st_ino == s2.st_ino;
}

int
ucspi_conn_get(struct ucspi_conn *out)
{
	const char *proto;
	int r, saved;

	memset(out, 0, sizeof(*out));
	out->source = UCSPI_NONE;
	out->use_syslog = ucspi_stderr_is_conn();
	proto = getenv("PROTO");
	if (proto != NULL && strcmp(proto, "TCP") == 0)
		r = ucspi_from_env(out);
	else
		r = ucspi_from_socket(out);
	if (r != 1) {
		/* Half-filled fields must not pass for an answer. */
		saved = errno;
		out->remote_ip[0] = out->local_ip[0] = '\0';
		out->remote_port = out->local_port = 0;
		out->source = UCSPI_NONE;
		errno = saved;
	}
	return r;
}
