/* test-ucspi: the connection's addresses from UCSPI variables or fd 0. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "ucspi.h"

static const struct {
	const char	*s;
	int		ok;
	unsigned	port;
} port_cases[] = {
	{ "0", 1, 0 }, { "25", 1, 25 }, { "65535", 1, 65535 },
	{ "00025", 1, 25 }, { "65536", 0, 0 }, { "99999", 0, 0 },
	{ "123456", 0, 0 }, { "000025", 0, 0 }, { "", 0, 0 }, { "-1", 0, 0 },
	{ "+25", 0, 0 }, { " 25", 0, 0 }, { "25 ", 0, 0 }, { "0x19", 0, 0 },
	{ "2a", 0, 0 },
};

static void
test_port_parse(void)
{
	uint16_t p;
	size_t i;
	int r;

	for (i = 0; i < sizeof(port_cases) / sizeof(port_cases[0]); i++) {
		p = 7;
		errno = 0;
		r = ucspi_port_parse(port_cases[i].s, &p);
		if (port_cases[i].ok)
			tap_ok(r == 0 && p == port_cases[i].port,
			    "port \"%s\" is %u", port_cases[i].s,
			    port_cases[i].port);
		else
			tap_ok(r == -1 && errno == EINVAL && p == 7,
			    "port \"%s\" is refused", port_cases[i].s);
	}
}

static const struct {
	const char	*s;
	int		ok;
} ip_cases[] = {
	{ "127.0.0.1", 1 }, { "::1", 1 }, { "::", 1 }, { "2001:db8::1", 1 },
	{ "::ffff:192.0.2.1", 1 }, { "", 0 }, { "localhost", 0 },
	{ "256.0.0.1", 0 }, { "1.2.3", 0 }, { "[::1]", 0 }, { "fe80::1%lo", 0 },
	{ "127.0.0.1 ", 0 },
};

static void
test_ip_valid(void)
{
	size_t i;

	for (i = 0; i < sizeof(ip_cases) / sizeof(ip_cases[0]); i++)
		tap_ok(ucspi_ip_valid(ip_cases[i].s) == (ip_cases[i].ok != 0),
		    "address \"%s\" is %s", ip_cases[i].s,
		    ip_cases[i].ok ? "valid" : "refused");
}

static void
test_addr_format(void)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct sockaddr_un su;
	char ip[UCSPI_IP_MAX], small[8];
	uint16_t port = 0;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(2525);
	inet_pton(AF_INET, "192.0.2.33", &s4.sin_addr);
	tap_ok(ucspi_addr_format((struct sockaddr *)&s4, sizeof(s4), ip,
	    sizeof(ip), &port) == 0 && strcmp(ip, "192.0.2.33") == 0 &&
	    port == 2525, "format: IPv4 address and port");
	tap_ok(ucspi_addr_format((struct sockaddr *)&s4, sizeof(s4), small,
	    sizeof(small), &port) == -1 && errno == ENOSPC,
	    "format: a buffer too small is ENOSPC");
	tap_ok(ucspi_addr_format((struct sockaddr *)&s4, 4, ip, sizeof(ip),
	    &port) == -1 && errno == EAFNOSUPPORT,
	    "format: a short sockaddr is refused");
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(65535);
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    &s6.sin6_addr);
	tap_ok(ucspi_addr_format((struct sockaddr *)&s6, sizeof(s6), ip,
	    sizeof(ip), &port) == 0 &&
	    strcmp(ip, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 0 &&
	    port == 65535, "format: the longest IPv6 text fits UCSPI_IP_MAX");
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &s6.sin6_addr);
	tap_ok(ucspi_addr_format((struct sockaddr *)&s6, sizeof(s6), ip,
	    sizeof(ip), &port) == 0 && strcmp(ip, "198.51.100.7") == 0,
	    "format: an IPv4-mapped address comes out as IPv4");
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	tap_ok(ucspi_addr_format((struct sockaddr *)&su, sizeof(su), ip,
	    sizeof(ip), &port) == -1 && errno == EAFNOSUPPORT,
	    "format: a Unix socket address is refused");
}

static void
env_set(const char *proto, const char *rip, const char *rport,
    const char *lip, const char *lport)
{
	const char *names[] = { "PROTO", "TCPREMOTEIP", "TCPREMOTEPORT",
	    "TCPLOCALIP", "TCPLOCALPORT" };
	const char *vals[] = { proto, rip, rport, lip, lport };
	size_t i;

	for (i = 0; i < 5; i++) {
		if (vals[i] == NULL)
			unsetenv(names[i]);
		else
			setenv(names[i], vals[i], 1);
	}
}

static bool
conn_empty(const struct ucspi_conn *c)
{
	return c->source == UCSPI_NONE && c->remote_ip[0] == '\0' &&
	    c->local_ip[0] == '\0' && c->remote_port == 0 &&
	    c->local_port == 0;
}

static void
test_env(void)
{
	struct ucspi_conn c;

	env_set("TCP", "2001:db8::5", "40000", "2001:db8::1", "25");
	tap_ok(ucspi_conn_get(&c) == 1 && c.source == UCSPI_ENV &&
	    strcmp(c.remote_ip, "2001:db8::5") == 0 && c.remote_port == 40000 &&
	    strcmp(c.local_ip, "2001:db8::1") == 0 && c.local_port == 25,
	    "env: PROTO=TCP gives the four variables");
	env_set("TCP", "192.0.2.9", "1", NULL, NULL);
	tap_ok(ucspi_conn_get(&c) == 1 && c.source == UCSPI_ENV &&
	    strcmp(c.remote_ip, "192.0.2.9") == 0 && c.local_ip[0] == '\0' &&
	    c.local_port == 0, "env: missing TCPLOCAL* are left empty");
	env_set("TCP", "192.0.2.9", "65536", "192.0.2.1", "25");
	tap_ok(ucspi_conn_get(&c) == -1 && errno == EINVAL && conn_empty(&c),
	    "env: TCPREMOTEPORT out of range is EINVAL, nothing filled");
	env_set("TCP", "192.0.2.9\r\nX", "25", "192.0.2.1", "25");
	tap_ok(ucspi_conn_get(&c) == -1 && errno == EINVAL && conn_empty(&c),
	    "env: a TCPREMOTEIP with CR LF is EINVAL");
	env_set("TCP", NULL, "25", "192.0.2.1", "25");
	tap_ok(ucspi_conn_get(&c) == -1 && errno == EINVAL,
	    "env: PROTO=TCP without TCPREMOTEIP is EINVAL");
	env_set("TCP", "192.0.2.9", "25", "example.org", "25");
	tap_ok(ucspi_conn_get(&c) == -1 && errno == EINVAL,
	    "env: a TCPLOCALIP that is a name is EINVAL");
	env_set(NULL, NULL, NULL, NULL, NULL);
}

/* Run ucspi_conn_get with fd0 on fd 0 and fd2 (or closed: -1) on fd 2. */
static int
conn_with(int fd0, int fd2, struct ucspi_conn *c)
{
	int s0, s2, r, saved;

	s0 = dup(STDIN_FILENO);
	s2 = dup(STDERR_FILENO);
	if (s0 == -1 || s2 == -1 || dup2(fd0, STDIN_FILENO) == -1)
		abort();
	if (fd2 == -1)
		close(STDERR_FILENO);
	else if (dup2(fd2, STDERR_FILENO) == -1)
		abort();
	r = ucspi_conn_get(c);
	saved = errno;
	if (dup2(s0, STDIN_FILENO) == -1 || dup2(s2, STDERR_FILENO) == -1)
		abort();
	close(s0);
	close(s2);
	errno = saved;
	return r;
}

/* A connected loopback pair on family (AF_INET or AF_INET6 mapped). */
static int
tcp_pair(int family, const char *lip, int *cli, int *srv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l, off = 0;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		len = sizeof(struct sockaddr_in);
		inet_pton(AF_INET, lip, &((struct sockaddr_in *)&ss)->sin_addr);
	} else {
		len = sizeof(struct sockaddr_in6);
		inet_pton(AF_INET6, lip,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr);
	}
	if ((l = socket(family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (family == AF_INET6)
		setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(l, (struct sockaddr *)&ss, len) == -1 || listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&ss, &len) == -1 ||
	    (*cli = socket(family, SOCK_STREAM, 0)) == -1 ||
	    connect(*cli, (struct sockaddr *)&ss, len) == -1 ||
	    (*srv = accept(l, NULL, NULL)) == -1) {
		close(l);
		return -1;
	}
	close(l);
	return 0;
}

static unsigned
local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void
test_socket_tcp(void)
{
	struct ucspi_conn c;
	int cli, srv, p[2];

	if (tcp_pair(AF_INET, "127.0.0.1", &cli, &srv) == -1 || pipe(p) == -1) {
		tap_ok(false, "socket: loopback TCP connection (%s)",
		    strerror(errno));
		return;
	}
	tap_ok(conn_with(srv, p[1], &c) == 1 && c.source == UCSPI_SOCKET &&
	    strcmp(c.remote_ip, "127.0.0.1") == 0 &&
	    c.remote_port == local_port(cli) &&
	    strcmp(c.local_ip, "127.0.0.1") == 0 &&
	    c.local_port == local_port(srv),
	    "socket: no PROTO, TCP on fd 0: getpeername and getsockname");
	tap_ok(!c.use_syslog, "syslog: not when stderr is a pipe");
	tap_ok(conn_with(srv, srv, &c) == 1 && c.use_syslog,
	    "syslog: when stderr is the connection (inetd)");
	tap_ok(conn_with(srv, cli, &c) == 1 && !c.use_syslog,
	    "syslog: not when stderr is another socket (journald)");
	tap_ok(conn_with(srv, -1, &c) == 1 && c.use_syslog,
	    "syslog: when stderr is closed");
	setenv("PROTO", "UDP", 1);
	tap_ok(conn_with(srv, p[1], &c) == 1 && c.source == UCSPI_SOCKET,
	    "socket: PROTO other than TCP falls back to fd 0");
	unsetenv("PROTO");
	close(cli);
	close(srv);
	close(p[0]);
	close(p[1]);
}

/* systemd's ListenStream= sockets are dual-stack: IPv4 shows up mapped. */
static void
test_socket_mapped(void)
{
	struct ucspi_conn c;
	int cli, srv;

	if (tcp_pair(AF_INET6, "::ffff:127.0.0.1", &cli, &srv) == -1) {
		tap_ok(true, "# SKIP no dual-stack IPv6 socket here");
		return;
	}
	tap_ok(conn_with(srv, srv, &c) == 1 &&
	    strcmp(c.remote_ip, "127.0.0.1") == 0 &&
	    strcmp(c.local_ip, "127.0.0.1") == 0,
	    "socket: IPv4-mapped peer on an IPv6 socket is given as IPv4");
	close(cli);
	close(srv);
}

static void
test_socket_none(void)
{
	struct ucspi_conn c;
	int sp[2], p[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1 || pipe(p) == -1)
		abort();
	tap_ok(conn_with(sp[0], p[1], &c) == 0 && conn_empty(&c),
	    "socket: a socketpair on fd 0 is no TCP connection (0)");
	tap_ok(conn_with(sp[0], sp[0], &c) == 0 && c.use_syslog,
	    "syslog: a socketpair on fds 0 and 2 still means syslog");
	tap_ok(conn_with(p[0], p[1], &c) == 0 && conn_empty(&c),
	    "socket: a pipe on fd 0 is no TCP connection (0)");
	close(sp[0]);
	close(sp[1]);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	unsetenv("PROTO");
	test_port_parse();
	test_ip_valid();
	test_addr_format();
	test_env();
	test_socket_tcp();
	test_socket_mapped();
	test_socket_none();
	return tap_done();
}
