/* listen_cfg: tern-listen's command line and listening address. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "ucspi.h"

/* Largest uid/gid accepted: (uid_t)-1 means "unchanged" to set*id(2). */
#define LISTEN_ID_MAX	4294967294LL

int
listen_addr_parse(const char *host, const char *port,
    struct sockaddr_storage *ss_out, socklen_t *len_out)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss_out;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss_out;
	uint16_t p;

	if (ucspi_port_parse(port, &p) == -1)
		return -1;
	memset(ss_out, 0, sizeof(*ss_out));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		*len_out = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		*len_out = sizeof(*s6);
		return 0;
	}
	errno = EINVAL;
	return -1;
}

static int listen_err(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
listen_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errsz, fmt, ap);	/* a cut message is fine */
	va_end(ap);
	return -1;
}

/* A bounded decimal option value; the message names the option. */
static int
listen_num(const char *s, long long lo, long long hi, long long *out,
    int opt, char *err, size_t errsz)
{
	const char *es;

	*out = strtonum(s, lo, hi, &es);
	if (es != NULL)
		return listen_err(err, errsz, "-%c %s: %s (%lld to %lld)",
		    opt, s, es, lo, hi);
	return 0;
}

static void
listen_cfg_defaults(struct listen_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->conn_max = LISTEN_CONN_DEFAULT;
	cfg->ip_max = LISTEN_IP_DEFAULT;
	cfg->backlog = LISTEN_BACKLOG_DEFAULT;
}

/* One option with its argument; 0 or -1 with err. */
static int
listen_opt(struct listen_cfg *cfg, int c, const char *arg, char *err,
    size_t errsz)
{
	long long v;

	switch (c) {
	case 'c': case 'i': case 'b':
		if (listen_num(arg, 1, LISTEN_CONN_MAX, &v, c, err, errsz))
			return -1;
		if (c == 'c')
			cfg->conn_max = (size_t)v;
		else if (c == 'i')
			cfg->ip_max = (size_t)v;
		else
			cfg->backlog = (int)v;
		return 0;
	case 'u': case 'g':
		if (listen_num(arg, 0, LISTEN_ID_MAX, &v, c, err, errsz))
			return -1;
		if (c == 'u') {
			cfg->uid = (uid_t)v;
			cfg->have_uid = true;
		} else {
			cfg->gid = (gid_t)v;
			cfg->have_gid = true;
		}
		return 0;
	case 'U':
		cfg->user = arg;
		return 0;
	case 'x':
		cfg->over_prog = arg;
		return 0;
	case 'P':
		cfg->port_file = arg;
		return 0;
	case 'k':
		cfg->keepalive = true;
		return 0;
	case 'R':
		cfg->keep_root = true;
		return 0;
	}
	return listen_err(err, errsz, "unknown option");
}

/*
 * The leading '+' stops GNU getopt at the first operand: the program's
 * own options (tern-listen ... tern-smtpd -x) must not be taken as ours.
 */
int
listen_cfg_parse(struct listen_cfg *cfg, int argc, char **argv, char *err,
    size_t errsz)
{
	int c;

	listen_cfg_defaults(cfg);
	optind = 0;	/* glibc: full reset, so parsing can run again */
	opterr = 0;
	while ((c = getopt(argc, argv, "+b:c:g:i:kP:Ru:U:x:")) != -1) {
		if (c == '?' || c == ':')
			return listen_err(err, errsz, "bad option -%c",
			    optopt >= 0x21 && optopt < 0x7f ? optopt : '?');
		if (listen_opt(cfg, c, optarg, err, errsz) == -1)
			return -1;
	}
	/* -R keeps root for the program: a user to become contradicts it. */
	if (cfg->keep_root && (cfg->user != NULL || cfg->have_uid ||
	    cfg->have_gid))
		return listen_err(err, errsz, "-R excludes -U, -u and -g");
	if (argc - optind < 3)
		return listen_err(err, errsz, "usage: tern-listen [-kR] "
		    "[-b backlog] [-c n] [-i n] [-P file] [-u uid] [-g gid] "
		    "[-U user] [-x program] host port program [arg ...]");
	if (listen_addr_parse(argv[optind], argv[optind + 1], &cfg->addr,
	    &cfg->addrlen) == -1)
		return listen_err(err, errsz, "bad address %.64s port %.16s: "
		    "need an IPv4 or IPv6 address literal and a port "
		    "0 to 65535", argv[optind], argv[optind + 1]);
	cfg->host = argv[optind];
	cfg->port = argv[optind + 1];
	cfg->argv = argv + optind + 2;
	return 0;
}
