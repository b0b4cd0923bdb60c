/* smtpd: the ESMTP session of tern-smtpd (tern-smtpd(8)). */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "sasl.h"
#include "cfg.h"
#include "line.h"
#include "ucspi.h"
#include "uniq.h"

/* Limits: each a named constant; those with a control file say so. */
#define SMTP_CMD_LINE_MAX	510	/* RFC 5321 4.5.3.1.4: 512 with CRLF */
#define SMTP_TEXT_LINE_MAX	998	/* RFC 5321 4.5.3.1.6: 1000 with CRLF */
/*
 * RFC 5321 4.5.3.1 asks for no limits where possible: longer text lines
 * are stored unchanged up to this, longer ones refuse the message.
 */
#define SMTP_DATA_LINE_MAX	65536
/*
 * RFC 4954 4: an AUTH command with an initial response, and each AUTH
 * response, may be longer than SMTP_CMD_LINE_MAX (12288 as Postfix).
 */
#define SMTP_AUTH_LINE_MAX	12288
#define SMTP_HELO_MAX		255	/* a domain, RFC 5321 4.5.3.1.2 */
#define SMTP_USER_MAX		256	/* an AUTH login name */
#define SMTP_PASS_MAX		1024	/* an AUTH password, decoded */
#define SMTP_ENVID_MAX		100	/* RFC 3461 4.4 */
#define SMTP_ORCPT_MAX		500	/* RFC 3461 4.2 (xtext) */
#define SMTP_OUT_MAX		65536	/* reply bytes before a forced flush */
#define SMTP_BDAT_MAX	(1024ULL * 1024 * 1024)	/* one BDAT chunk */
#define SMTP_MAXRCPT_DEF	100	/* maxrcpt, RFC 5321 4.5.3.1.8 */
#define SMTP_DATABYTES_DEF	(50ULL * 1024 * 1024)	/* control databytes */
#define SMTP_MAXHOPS_DEF	100	/* control maxhops (RFC 5321 6.3) */
#define SMTP_BADCMDS_DEF	20	/* control maxbadcommands */
#define SMTP_JUNKCMDS_DEF	100	/* control maxjunkcommands */
#define SMTP_AUTHFAIL_DEF	3	/* control maxauthfailures */
#define SMTP_AUTHDELAY_DEF	2	/* control authfaildelay, seconds */
#define SMTP_T_CMD_DEF		300	/* control timeoutcommand, 4.5.3.2.7 */
#define SMTP_T_DATA_DEF		180	/* control timeoutdata, 4.5.3.2.5 */
#define SMTP_T_DONE_DEF		600	/* control timeoutqueue, 4.5.3.2.6 */
#define SMTP_CHECKPASS_TIME	60	/* seconds for the checkpassword run */
/* The checkpassword interface reads at most 512 bytes on fd 3. */
#define SMTP_CP_INPUT_MAX	512
/*
 * The longest timestamp the checkpassword run is given: net.c writes
 * "<pid.time@tern>", at most 1 + 11 + 1 + 20 + 6 bytes for an int pid
 * and a 64-bit time.  User, password, timestamp and three NULs must fit
 * in SMTP_CP_INPUT_MAX.
 */
#define SMTP_CP_STAMP_MAX	40
/* EHLO/HELO a session may send before each more counts as junk. */
#define SMTP_HELO_FREE		5

/* Session states (bits, so a command lists where it is allowed). */
#define ST_START	0x01	/* no EHLO/HELO yet */
#define ST_IDLE		0x02	/* greeted, no transaction */
#define ST_MAIL		0x04	/* MAIL accepted, no recipient yet */
#define ST_RCPT		0x08	/* at least one recipient */
#define ST_BDAT		0x10	/* inside a BDAT chunk sequence */
#define ST_ANY		0x1f

enum smtp_mode { SMTP_MX, SMTP_SUBMISSION };

/* One network: an IPv4 or IPv6 prefix of the relayclients file. */
struct smtp_net {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];
	unsigned	bits;
};

/* The configuration, read once at start (smtpd_cfg_load). */
struct smtpd_cfg {
	enum smtp_mode	 mode;
	char		 me[ADDR_DOMAIN_MAX + 1];
	struct cfglist	 localdomains;	/* default: me */
	struct cfglist	 relaydomains;	/* ".dom" also matches subdomains */
	struct smtp_net	*relayclients;
	size_t		 nrelayclients;
	struct cfglist	 senders;	/* "login: addr, @domain" lines */
	unsigned long long databytes;	/* 0: no limit */
	unsigned	 maxrcpt, maxhops, maxbadcmds, maxjunkcmds;
	unsigned	 maxauthfail, authdelay;
	unsigned	 t_cmd, t_data, t_done;	/* seconds */
	bool		 authinsecure;	/* offer AUTH without TLS */
	char		 checkpass[4096];
	char		 queueprog[4096];
};

/*
 * What the session needs from the outside world, so it runs the same
 * over the network and in the fuzzer.  ctx is passed back unchanged.
 */
struct smtpd_ops {
	/* Write reply bytes: 0, or -1 (the connection is gone). */
	int	(*output)(void *ctx, const char *, size_t);
	/* Does the local recipient exist?  1 yes, 0 no, -1 temporary. */
	int	(*rcpt_exists)(void *ctx, const char *addr);
	/* Check a password: 0 good, 1 bad, -1 temporary failure. */
	int	(*checkpass)(void *ctx, const char *user, const char *pass);
	/* Start a message: 0, or -1 (temporary failure). */
	int	(*q_open)(void *ctx);
	/* Message bytes (LF line ends): 0, or -1 (the result tells why). */
	int	(*q_write)(void *ctx, const char *, size_t);
	/*
	 * Commit: the envelope, then the queue's exit code (0 ok), or -1
	 * when it could not be run; text (may stay "") gets the fd 6 text.
	 */
	int	(*q_commit)(void *ctx, const char *env, size_t envlen,
		    char *text, size_t textsz);
	/* Throw the message away. */
	void	(*q_abort)(void *ctx);
	/*
	 * STARTTLS after the 220 went out: 0 with proto and cipher set
	 * and fds 0/1 replaced, -1 when TLS failed (the session ends).
	 * NULL when TLS cannot be started.
	 */
	int	(*starttls)(void *ctx, char *proto, size_t protosz,
		    char *cipher, size_t ciphersz);
	/* Sleep before an AUTH failure reply (may be NULL). */
	void	(*delay)(void *ctx, unsigned seconds);
};

/* The message being received (DATA or BDAT). */
struct smtp_msg {
	char			qid[QID_LEN + 1];
	unsigned long long	size;		/* bytes stored, LF form */
	unsigned		hops;
	bool			in_header;	/* still in the header */
	bool			opened;		/* q_open succeeded */
	bool			toobig, hoploop, nul, longline;
	bool			qfail;		/* q_write failed */
	bool			bare;		/* bare CR in BDAT data */
	bool			lastcr;		/* BDAT: the last byte was CR */
	struct buf		 hdr;		/* BDAT: the line so far */
	struct buf		 out;		/* not yet given to q_write */
};

struct smtpd {
	const struct smtpd_cfg	*cfg;
	const struct smtpd_ops	*ops;
	void			*ctx;
	struct linereader	 lr;
	struct buf		 out;
	int			 state;
	bool			 esmtp, tls, authed, quit, closing;
	char			 tls_proto[64], tls_cipher[128];
	char			 helo[SMTP_HELO_MAX + 1];
	char			 user[SMTP_USER_MAX + 1];
	char			 remote_ip[UCSPI_IP_MAX];
	unsigned		 badcmds, junkcmds, authfails;
	unsigned		 nhelo;		/* EHLO/HELO so far */
	unsigned		 nmsgs;

	/* The transaction. */
	char			 sender[ADDR_BUF];
	bool			 smtputf8;
	unsigned long long	 declared;	/* SIZE= or 0 */
	char			 envid[SMTP_ENVID_MAX + 1];
	char			 ret[8];
	struct buf		 rcpts;		/* N, O, T records */
	size_t			 nrcpt;
	char			 rcpt1[ADDR_BUF];
	struct smtp_msg		 msg;
};

/* Read the control files from dir: 0, or -1 with *errstr (and errno). */
int	smtpd_cfg_load(struct smtpd_cfg *, const char *dir,
	    const char **errstr);
void	smtpd_cfg_free(struct smtpd_cfg *);

/*
 * Parse "a.b.c.d[/n]" or "ipv6[/n]" (a bare address is a host): 0, or
 * -1 with EINVAL.
 */
int	smtp_net_parse(const char *s, struct smtp_net *out);
/* True when the text address ip lies in one of the n networks. */
bool	smtp_net_match(const struct smtp_net *, size_t n, const char *ip);

/*
 * Set up a session reading fd infd.  tls: the connection is already
 * TLS (TERN_TLS=1) with the given protocol and cipher (may be NULL).
 * 0, or -1 with ENOMEM.
 */
int	smtpd_init(struct smtpd *, const struct smtpd_cfg *,
	    const struct smtpd_ops *, void *ctx, int infd,
	    const char *remote_ip, const char *tls_proto,
	    const char *tls_cipher);
/* Run the session to its end (QUIT, EOF, timeout, error). */
void	smtpd_run(struct smtpd *);
void	smtpd_free(struct smtpd *);

/* Queue reply text: append a reply line (CRLF added). */
void	smtp_reply(struct smtpd *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Write out buffered replies: 0, or -1 (the session then ends). */
int	smtp_flush(struct smtpd *);
/* Forget the transaction (RSET, after a message, MAIL failure). */
void	smtp_txn_reset(struct smtpd *);
/*
 * Count a bad command (or a 5xx rejection of MAIL, RCPT or an AUTH
 * exchange); past maxbadcommands: 421 and the session ends.  The count
 * starts over after each accepted message.
 */
void	smtp_bad(struct smtpd *);
/*
 * Read the next line of at most limit bytes for a command or an AUTH
 * response, flushing replies first unless a complete line is already
 * buffered (PIPELINING).  1 a line, -1 it was too long (500 sent), 0
 * the session ends (EOF, timeout: 421 sent, error).
 */
int	smtp_read_cmd(struct smtpd *, unsigned limit, char **line_out,
	    size_t *len_out, int *flags_out);
/* True when AUTH may be used now (offered in EHLO). */
bool	smtp_auth_offered(const struct smtpd *);

/* mail.c: MAIL and RCPT with their ESMTP parameters. */
void	smtp_cmd_mail(struct smtpd *, char *arg);
void	smtp_cmd_rcpt(struct smtpd *, char *arg);

/* data.c: DATA and BDAT. */
void	smtp_cmd_data(struct smtpd *, char *arg);
void	smtp_cmd_bdat(struct smtpd *, char *arg);
/*
 * Feed one line of DATA as read (terminator stripped, flags from
 * line_read) to the message: dot-unstuffing is done by the caller.
 */
void	smtp_msg_line(struct smtpd *, const char *line, size_t len);
/*
 * Write the Received line for the transaction into out: its length, or
 * -1 when it does not fit.
 */
int	smtp_received(const struct smtpd *, const char *qid, long long now,
	    char *out, size_t outsz);

/* auth.c: AUTH PLAIN and LOGIN. */
void	smtp_cmd_auth(struct smtpd *, char *arg);
/* policy.c */
/* True when domain is one of our local domains. */
bool	smtp_domain_local(const struct smtpd_cfg *, const char *domain);
/* True when domain is a relay domain. */
bool	smtp_domain_relay(const struct smtpd_cfg *, const char *domain);
/* True when the authenticated login may use sender (canonical, "" <>). */
bool	smtp_sender_allowed(const struct smtpd_cfg *, const char *login,
	    const char *sender);
/*
 * Check one xtext (RFC 3461 4): printable ASCII but '=' and '+', where
 * '+' starts two upper-case hex digits.
 */
bool	smtp_xtext_valid(const char *s);

#endif
