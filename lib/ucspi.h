/* ucspi: who is on the other end of a server's fd 0, and where to log. */
#ifndef TERN_UCSPI_H
#define TERN_UCSPI_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#define UCSPI_IP_MAX	46	/* INET6_ADDRSTRLEN: longest text address */

enum ucspi_source {
	UCSPI_NONE,	/* no UCSPI variables and fd 0 is no TCP socket */
	UCSPI_ENV,	/* PROTO=TCP and the TCP* variables (tcpserver) */
	UCSPI_SOCKET	/* getpeername/getsockname on fd 0 (inetd, systemd) */
};

struct ucspi_conn {
	enum ucspi_source source;
	char		remote_ip[UCSPI_IP_MAX];	/* "" when unknown */
	char		local_ip[UCSPI_IP_MAX];		/* "" when unknown */
	uint16_t	remote_port;			/* 0 when unknown */
	uint16_t	local_port;			/* 0 when unknown */
	/*
	 * True when stderr is closed or is the connection itself (inetd
	 * hands the socket on fds 0, 1 and 2): log with syslog then, so
	 * log lines never reach the client.  A stderr that is some other
	 * socket (journald under systemd) or a pipe (s6, daemontools) is
	 * left to stderr logging.
	 */
	bool		use_syslog;
};

/*
 * Describe the connection on fd 0.  When PROTO is "TCP" (tcpserver,
 * s6-tcpserver, tern-listen) the addresses come from the environment:
 * TCPREMOTEIP and TCPREMOTEPORT must be set, TCPLOCALIP and TCPLOCALPORT
 * may be missing (left empty), and each that is set must be a valid
 * address literal or port.  Otherwise they come from getpeername and
 * getsockname on fd 0 (inetd, systemd Accept=yes).  IPv4-mapped IPv6
 * addresses from a socket are given in IPv4 form.  Always fills
 * use_syslog.
 * Returns 1 with source UCSPI_ENV or UCSPI_SOCKET; 0 with UCSPI_NONE
 * and empty addresses when PROTO is not "TCP" and fd 0 is not a
 * connected IPv4/IPv6 socket (a terminal, a pipe, a socketpair); -1
 * with errno (EINVAL: a malformed or missing variable) and empty
 * addresses.
 */
int	ucspi_conn_get(struct ucspi_conn *out);

/*
 * Write the address of sa (AF_INET or AF_INET6, salen bytes) as text
 * into ip (ipsz bytes, UCSPI_IP_MAX always enough) and its port into
 * *port_out.  IPv4-mapped IPv6 addresses come out as IPv4.
 * 0, or -1 with EAFNOSUPPORT (other family or salen too short) or
 * ENOSPC (ip too small).
 */
int	ucspi_addr_format(const struct sockaddr *sa, socklen_t salen,
	    char *ip, size_t ipsz, uint16_t *port_out);

/*
 * Parse a decimal port "0" to "65535" (no sign, no leading spaces):
 * 0 with *port_out set, or -1 with EINVAL.
 */
int	ucspi_port_parse(const char *s, uint16_t *port_out);

/* True when the text is an IPv4 or IPv6 address literal. */
bool	ucspi_ip_valid(const char *s);

#endif
