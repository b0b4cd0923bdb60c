/* listen: tern-listen's logic (options, addresses, limits, the server). */
#ifndef TERN_LISTEN_H
#define TERN_LISTEN_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LISTEN_CONN_DEFAULT	40	/* -c, as tcpserver */
#define LISTEN_IP_DEFAULT	10	/* -i */
#define LISTEN_BACKLOG_DEFAULT	128	/* -b */
#define LISTEN_CONN_MAX		65535	/* largest -c, -i and -b */
#define LISTEN_ERR_MAX		256	/* room for an option error */

/* What the command line asks for. */
struct listen_cfg {
	struct sockaddr_storage addr;	/* host and port to bind */
	socklen_t	addrlen;
	const char	*host;		/* as given (a valid literal) */
	const char	*port;		/* as given (digits) */
	size_t		conn_max;	/* -c: connections running at once */
	size_t		ip_max;		/* -i: of them from one address */
	int		backlog;	/* -b */
	bool		keepalive;	/* -k: SO_KEEPALIVE on connections */
	bool		keep_root;	/* -R: root runs program as root */
	const char	*port_file;	/* -P: write the bound port here */
	const char	*over_prog;	/* -x: runs connections over a limit */
	const char	*user;		/* -U: user to run as */
	bool		have_uid;	/* -u given */
	bool		have_gid;	/* -g given */
	uid_t		uid;
	gid_t		gid;
	char		**argv;		/* program and arguments, NULL-ended */
};

/*
 * Parse tern-listen's command line (argv[0] is the program name) into
 * cfg, defaults filled in.  Options stop at the first operand, so the
 * program's own options are left alone.  Looks nothing up: -U is only
 * recorded.  0, or -1 with a message for the user in err (errsz bytes).
 */
int	listen_cfg_parse(struct listen_cfg *cfg, int argc, char **argv,
	    char *err, size_t errsz);

/*
 * Parse an address literal and a port into a sockaddr: IPv4 dotted quad
 * or IPv6 text (no brackets, no zone, no host names), port "0" to
 * "65535".  0, or -1 with EINVAL.
 */
int	listen_addr_parse(const char *host, const char *port,
	    struct sockaddr_storage *ss_out, socklen_t *len_out);

/*
 * The per-address limit is counted by key: the whole IPv4 address, the
 * /64 prefix of an IPv6 address (one site or host usually owns a /64,
 * so counting single IPv6 addresses would limit nothing).
 */
struct listen_key {
	sa_family_t	family;		/* AF_INET, AF_INET6 or AF_UNSPEC */
	uint8_t		bytes[16];	/* unused tail bytes are zero */
};

/* The key of sa (salen bytes); anything but IPv4/IPv6 is AF_UNSPEC. */
void	listen_key_of(const struct sockaddr *sa, socklen_t salen,
	    struct listen_key *out);

/* A running child: a connection's program, or the -x program. */
struct listen_slot {
	pid_t		pid;		/* 0: free */
	bool		over;		/* runs the -x program */
	struct listen_key key;
};

struct listen_slots {
	struct listen_slot *v;
	size_t		cap;		/* conn_max + over_max */
	size_t		conn_max;
	size_t		over_max;
	size_t		conns;		/* running programs */
	size_t		overs;		/* running -x programs */
};

enum listen_limit {
	LISTEN_OK,		/* room for one more */
	LISTEN_LIMIT_GLOBAL,	/* conn_max programs running */
	LISTEN_LIMIT_IP		/* ip_max programs running for this key */
};

/* Room for conn_max programs and over_max -x programs: 0 or -1. */
int	listen_slots_init(struct listen_slots *sl, size_t conn_max,
	    size_t over_max);
void	listen_slots_free(struct listen_slots *sl);
/* May one more program run for key, with at most ip_max per key? */
enum listen_limit listen_slots_check(const struct listen_slots *sl,
	    const struct listen_key *key, size_t ip_max);
/* Is there room for one more -x program? */
bool	listen_slots_over_room(const struct listen_slots *sl);
/*
 * Record a running child (over: the -x program).  0, or -1 with ENOSPC
 * when its kind is at its maximum (the caller checks first).
 */
int	listen_slots_add(struct listen_slots *sl, pid_t pid,
	    const struct listen_key *key, bool over);
/* Forget a child: 1 (with *over_out) found, 0 not one of ours. */
int	listen_slots_del(struct listen_slots *sl, pid_t pid, bool *over_out);

/*
 * Create, bind and listen: SO_REUSEADDR, IPV6_V6ONLY for IPv6,
 * close-on-exec and non-blocking.  The fd, or -1 with errno and *what
 * naming the step that failed.
 */
int	listen_open(const struct listen_cfg *cfg, const char **what);

/*
 * Write the port as a decimal line to path: a temporary file in the
 * same directory, then rename(2), so a reader sees all or nothing.
 * 0, or -1 with errno.
 */
int	listen_port_write(const char *path, uint16_t port);

/*
 * Serve: accept on lfd and run one child per connection until SIGTERM
 * or SIGINT; then close lfd and return 0 (children keep running).
 * Logs every event.  -1 on a fatal error (logged).
 */
int	listen_serve(const struct listen_cfg *cfg, int lfd);

#endif
