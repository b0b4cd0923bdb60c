/* remote: tern-remote's SMTP client (see tern-remote(8)). */
#ifndef TERN_REMOTE_H
#define TERN_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "addr.h"
#include "buf.h"
#include "smtpreply.h"

#define REMOTE_TEXT_MAX		400	/* result text (bounce_record's) */
#define REMOTE_RCPTS_MAX	10000	/* recipients of one message in a run */
#define REMOTE_BATCH_MAX	32	/* messages in one run */
#define REMOTE_BATCH_FD		3	/* message k >= 1 is on fd this + k */
#define REMOTE_HOSTS_MAX	100	/* MX hosts or route hosts */
#define REMOTE_ADDRS_DEFAULT	10	/* control remotemaxaddrs */
#define REMOTE_ADDRS_MAX	100
#define REMOTE_PORT		25
#define REMOTE_HOST_MAX		255	/* a host name, RFC 1035 */
#define REMOTE_IP_MAX		64	/* inet_ntop of IPv6, and room */
#define REMOTE_PIPELINE_MAX	100	/* commands in one pipelined group */
#define REMOTE_XTEXT_MAX	500	/* ORCPT / ENVID, RFC 3461 4.2 */
/* RFC 5321 4.5.3.2 timeouts, in seconds */
#define REMOTE_TO_CONNECT	30	/* not in the RFC: ours */
#define REMOTE_TO_GREETING	300	/* 4.5.3.2.1 */
#define REMOTE_TO_MAIL		300	/* 4.5.3.2.2, also EHLO and RCPT */
#define REMOTE_TO_DATAINIT	120	/* 4.5.3.2.4 */
#define REMOTE_TO_BLOCK		180	/* 4.5.3.2.5 */
#define REMOTE_TO_DATAEND	600	/* 4.5.3.2.6 */
#define REMOTE_TO_QUIT		10	/* ours: no reason to wait long */

/* TLS policy of a destination (control tlspolicy). */
enum remote_tls {
	RTLS_NONE,	/* never STARTTLS */
	RTLS_MAY,	/* when offered; DANE when a secure TLSA exists */
	RTLS_ENCRYPT,	/* TLS required, certificate not checked */
	RTLS_DANE,	/* DANE required (secure TLSA records) */
	RTLS_VERIFY	/* TLS required, WebPKI chain and host name */
};

/* One recipient and its result. */
struct remote_rcpt {
	const char	*addr;
	const char	*notify;	/* DSN NOTIFY or NULL */
	const char	*orcpt;		/* DSN ORCPT (xtext) or NULL */
	char		 letter;	/* K, Z, D; 0 = no result yet */
	bool		 accepted;	/* RCPT got 2xx in this session */
	char		 status[SMTPREPLY_ENH_MAX];
	char		 text[REMOTE_TEXT_MAX + 1];
};

/* A destination host: from an MX record or a route. */
struct remote_host {
	char		name[REMOTE_HOST_MAX + 1];
	int		pref;
	int		port;
	bool		literal;	/* [1.2.3.4]: no address lookup */
	bool		secure;		/* MX + address answers validated */
	bool		insecure_auth;	/* route says AUTH without TLS */
	size_t		naddrs;
	char		addrs[REMOTE_ADDRS_MAX][REMOTE_IP_MAX];
	struct buf	tlsa;		/* "u s m hex\0"..., secure only */
	size_t		ntlsa;
};

/* Settings read from the control directory. */
struct remote_cfg {
	char		me[REMOTE_HOST_MAX + 1];
	char		helo[REMOTE_HOST_MAX + 1];
	long long	maxaddrs;
	int		port;
	int		to_connect, to_greeting, to_cap;	/* seconds */
	enum remote_tls	tls;
	bool		tls_explicit;	/* tlspolicy named this domain */
	char		route[REMOTE_HOST_MAX + 16];	/* "" = MX */
	bool		route_insecure;
	char		auth_user[256];
	char		auth_pass[256];
	bool		auth;
};

/* A connection: a socket, maybe TLS, and its reply parser. */
struct remote_conn {
	int			 fd;
	SSL			*ssl;
	char			 rbuf[4096];
	size_t			 rstart, rend;
	struct smtpreply	*reply;		/* heap: it is large */
};

/*
 * One message of a run.  remote_job_load copies it into struct remote
 * (the message being delivered), remote_job_save copies the results
 * back: the SMTP code sees one message at a time.
 */
struct remote_job {
	const char		*sender;
	const char		*ret;
	const char		*envid;
	struct remote_rcpt	*rcpts;
	size_t			 nrcpts;
	int			 msgfd;
	off_t			 msgsize;
	bool			 eightbit, needutf8;
	bool			 done;		/* results final before SMTP */
	char			 mletter;
	char			 mstatus[SMTPREPLY_ENH_MAX];
	char			 mtext[REMOTE_TEXT_MAX + 1];
};

/* Everything one run knows. */
struct remote {
	struct remote_job	*jobs;		/* the messages, in order */
	size_t			 njobs;
	/*
	 * Called by remote_deliver for each job, in order, as soon as it
	 * is finished, so that its results are out before the next one
	 * starts (a run killed later costs no finished message); NULL:
	 * none.  emitted counts the jobs it has written.
	 */
	void			(*job_done)(struct remote *, size_t);
	size_t			 emitted;
	bool			 emit_failed;	/* a write failed */
	bool			 conn_bad;	/* 421 seen: do not reuse */
	bool			 gaveup;	/* no host worked: rest Z */
	bool			 reusing;	/* on the last message's
						   connection */
	bool			 rset_pending;	/* RSET's reply is due */
	const char		*domain;
	const char		*sender;
	const char		*ret;		/* DSN RET or NULL */
	const char		*envid;		/* DSN ENVID or NULL */
	struct remote_rcpt	*rcpts;
	size_t			 nrcpts;
	int			 msgfd;
	off_t			 msgsize;
	bool			 eightbit;	/* any byte >= 0x80 */
	bool			 needutf8;	/* SMTPUTF8 needed */
	struct remote_cfg	 cfg;
	struct remote_host	*hosts;
	size_t			 nhosts;
	SSL_CTX			*sslctx;	/* made at the first STARTTLS */
	bool			 sslca;		/* its CA store is loaded */
	struct remote_conn	 conn;
	/* the host being talked to */
	const struct remote_host *host;
	char			 ip[REMOTE_IP_MAX];
	/* ESMTP extensions of the current session */
	bool			 x_pipelining, x_8bit, x_utf8, x_dsn;
	bool			 x_starttls, x_auth_plain, x_auth_login;
	long long		 x_size;	/* 0 = no limit announced */
	bool			 tls_on;
	bool			 mail_sent;	/* results are final now */
	bool			 cork;		/* collect commands in out */
	struct buf		 out;		/* a pipelined group */
	/* the result for the message as a whole */
	char			 mletter;
	char			 mstatus[SMTPREPLY_ENH_MAX];
	char			 mtext[REMOTE_TEXT_MAX + 1];
};

/* remote_cfg.c */

/*
 * Read the control files for r->domain into r->cfg (me, helohost,
 * remotemaxaddrs, remoteport, remotetimeoutconnect,
 * remotetimeoutgreeting, remotetimeout, smtproutes, tlspolicy,
 * smtpauth).  0, or -1 with *why set (a file that cannot be read or
 * does not parse).
 */
int	remote_cfg_load(struct remote *, const char *dir, const char **why);

/*
 * Find the route for domain in the smtproutes text (lines "domain
 * host[:port] [insecure]", ".suffix host", ":host" for every domain;
 * "domain:" with no host means MX).  1 found (*out is the host[:port]
 * part, "" for MX; *insecure set), 0 none, -1 a bad line (*why).
 */
int	remote_route_find(const char *text, const char *domain, char *out,
	    size_t outsz, bool *insecure, const char **why);

/*
 * The TLS policy for domain from the tlspolicy text ("domain policy",
 * ".suffix policy", "* policy"); 1 found, 0 none (*out RTLS_MAY), -1
 * a bad line.
 */
int	remote_tlspolicy_find(const char *text, const char *domain,
	    enum remote_tls *out, const char **why);

/*
 * Split "host[:port]" or "[ip][:port]" into name (brackets removed for
 * literals, *literal set) and *port (defport when absent): 0 or -1.
 */
int	remote_hostport(const char *s, int defport, char *name,
	    size_t namesz, int *port, bool *literal);

/* remote_dns.c */

/*
 * Fill r->hosts: the route's host, or the MX hosts of r->domain through
 * tern-resolve (TERN_RESOLVER socket, else $LIBEXEC/tern-resolve -p),
 * their addresses and, for secure hosts, TLSA records.  0 with hosts,
 * or -1 with the message result set (5.1.2, 5.1.10, 4.4.3, 5.4.6...).
 */
int	remote_dns(struct remote *);

/* Shuffle runs of equal preference in hosts[0..n) (sorted by pref). */
void	remote_shuffle_equal(struct remote_host *hosts, size_t n);

/* remote_net.c */

void	rconn_init(struct remote_conn *);
/*
 * Connect to ip:port before deadline (CLOCK_MONOTONIC ms): 0, or -1
 * with errno (ETIMEDOUT, ECONNREFUSED, ...).
 */
int	rconn_connect(struct remote_conn *, const char *ip, int port,
	    int64_t deadline);
/* Write all of data (through TLS when on): 0 or -1 with errno. */
int	rconn_write(struct remote_conn *, const void *, size_t,
	    int64_t deadline);
/*
 * Read one reply into c->reply: 0, or -1 with errno (ETIMEDOUT,
 * ECONNRESET at EOF, EPROTO for bytes that are no reply, *why says).
 */
int	rconn_reply(struct remote_conn *, int64_t deadline, const char **why);
/* Bytes received but not yet parsed. */
size_t	rconn_pending(const struct remote_conn *);
/* Forget received bytes (before a TLS handshake). */
void	rconn_discard(struct remote_conn *);
/* Shut TLS down (no waiting) and close. */
void	rconn_close(struct remote_conn *);
/* Seconds from now as an absolute deadline. */
int64_t	remote_deadline(int seconds);

/* remote_tls.c */

/*
 * The client SSL_CTX (TLS 1.2+, DANE enabled, no CA store yet: the
 * handshake loads it when the policy needs it): NULL on failure.
 */
SSL_CTX	*remote_tls_ctx(void);
/*
 * Handshake on c->fd for host under policy (DANE when the host has
 * TLSA records).  0 with c->ssl set and *info a log text (version,
 * cipher, verification), -1 with *info the reason and *perm_status
 * "4.7.5" for an authentication failure, "4.7.0" otherwise.
 */
int	remote_tls_start(struct remote *, enum remote_tls policy,
	    char *info, size_t infosz, const char **status);

/* remote_smtp.c */

/*
 * Deliver every job not done through the hosts in r->hosts, over one
 * connection while it stays usable (RSET between transactions), else
 * connecting again with the normal host fallback; once no host works
 * the jobs left get the same deferral.  Every recipient gets a result,
 * and so does every message.  Never fails: trouble is a result.
 */
void	remote_deliver(struct remote *);

/* remote_msg.c */

/*
 * Look at the message on r->msgfd: size (bytes on the wire, CRLF
 * counted), 8-bit bytes, and whether SMTPUTF8 is needed (8-bit in the
 * header section or in an address).  0, or -1 with errno.
 */
int	remote_msg_scan(struct remote *);
/*
 * Send the message as DATA content: LF -> CRLF, dot-stuffing, a final
 * CRLF when missing, then ".\r\n".  0, or -1 with errno.
 */
int	remote_msg_send(struct remote *, int block_timeout);
/*
 * Dot-stuff and convert src[0..len) into out, *bol tracking whether
 * the next byte starts a line.  For remote_msg_send and its tests.
 */
int	remote_msg_encode(struct buf *out, const char *src, size_t len,
	    bool *bol);

/* remote_result.c */

/* Set a recipient's result (text cleaned and cut to REMOTE_TEXT_MAX). */
void	remote_rcpt_set(struct remote_rcpt *, char letter, const char *status,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Set the message's result. */
void	remote_msg_set(struct remote *, char letter, const char *status,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Make job k the message of r (its envelope, fd, results). */
void	remote_job_load(struct remote *, size_t k);
/* Copy the message's scan and results of r back into job k. */
void	remote_job_save(struct remote *, size_t k);
/* Every recipient without a result gets this one. */
void	remote_rest_set(struct remote *, char letter, const char *status,
	    const char *text);
/*
 * Append the result records to out: per recipient
 * "<K|Z|D>\0<status>\0<text>\0", then "M<K|Z|D>\0<status>\0<text>\0".
 */
int	remote_results_format(const struct remote *, struct buf *out);
/* True when s is RFC 3461 xtext of 1..REMOTE_XTEXT_MAX bytes. */
bool	remote_xtext_ok(const char *s);

#endif
