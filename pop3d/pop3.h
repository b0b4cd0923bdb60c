/*
 * pop3: the sessions of tern-pop3-login (before login) and tern-pop3d
 * (after it).  tern-pop3-login(8), tern-pop3d(8).
 */
#ifndef TERN_POP3_H
#define TERN_POP3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sasl.h"
#include "line.h"

/* Limits: each a named constant; those with a control file say so. */
#define POP3_CMD_LINE_MAX	253	/* RFC 2449 4: 255 octets with CRLF */
#define POP3_AUTH_LINE_MAX	2048	/* RFC 5034 4: SASL lines may be longer */
#define POP3_USER_MAX		256	/* a login name */
#define POP3_PASS_MAX		256	/* a password (checkpassword: 512 in all) */
#define POP3_PENDING_MAX	(POP3_AUTH_LINE_MAX + 8192) /* pipelined input */
#define POP3_OUT_MAX		(256 * 1024)	/* output buffered at most */
#define POP3_OUT_FLUSH		(64 * 1024)	/* write out past this */
#define POP3_IDLE_S		600	/* RFC 1939 3: autologout >= 10 min */
#define POP3_IDLE_MAX		86400	/* control pop3timeout at most */
#define POP3_WRITE_S		600	/* a write that takes longer ends it */
#define POP3_BADCMDS_MAX	20	/* errors before we hang up */
#define POP3_PREAUTH_CMDS_MAX	50	/* commands before login at most */
#define POP3_AUTHFAIL_MAX	3	/* the third failure disconnects */
#define POP3_FAILDELAY_DEF	2	/* control pop3faildelay, seconds */
#define POP3_MINUID_DEF		1000	/* control pop3minuid */
#define POP3_NUM_DIGITS		9	/* a message number: 1..999999999 */
#define POP3_LOCK_STALE_S	(POP3_IDLE_S + 300) /* an untouched lock */
#define POP3_LOCK_TOUCH_S	60	/* how often a session renews it */
#define POP3_INPUT_ENV		"TERN_POP3_INPUT"	/* fd: pipelined input */

/* The configuration of tern-pop3-login (control files). */
struct pop3_login_cfg {
	bool		insecure;	/* pop3insecure: plaintext login allowed */
	unsigned	faildelay;	/* pop3faildelay, seconds */
};

/*
 * What the login session needs from the outside world, so it runs the
 * same over the network and in the fuzzer.  ctx is passed back.
 */
struct pop3_login_ops {
	/* Write bytes: 0, or -1 (the connection is gone). */
	int	(*output)(void *ctx, const char *, size_t);
	/*
	 * STLS after its +OK went out: 0 with fds replaced (the session
	 * drops its buffered input), -1 when TLS failed (session ends).
	 * NULL when there is no TLS to start.
	 */
	int	(*starttls)(void *ctx);
	/*
	 * Try a login: hand the credentials and the input the client
	 * already sent after them to the privileged side.  0 the login
	 * worked and the mailbox session has run (the login session just
	 * ends), 1 wrong credentials, -1 temporary failure.
	 */
	int	(*login)(void *ctx, const char *user, const char *pass,
		    const char *pending, size_t pendlen, bool tls);
	/* Sleep before a failure reply (may be NULL). */
	void	(*delay)(void *ctx, unsigned seconds);
};

struct pop3_login {
	const struct pop3_login_cfg	*cfg;
	const struct pop3_login_ops	*ops;
	void				*ctx;
	struct linereader		 lr;
	struct buf			 out;
	bool				 tls, done;
	char				 user[POP3_USER_MAX + 1];
	unsigned			 badcmds, ncmds, authfails;
	unsigned			 idle_s;	/* POP3_IDLE_S */
};

/*
 * Set up a session on infd; tls: already TLS.  The idle timeout is
 * POP3_IDLE_S; the caller may change idle_s after.  0, or -1 (ENOMEM).
 */
int	pop3_login_init(struct pop3_login *, const struct pop3_login_cfg *,
	    const struct pop3_login_ops *, void *ctx, int infd, bool tls);
/* Greet and run until login, QUIT, EOF, timeout or error. */
void	pop3_login_run(struct pop3_login *);
void	pop3_login_free(struct pop3_login *);

/*
 * Run one command line (no CR/LF) of the login session: the same as a
 * line read by pop3_login_run.  For tests and the fuzzer.
 */
void	pop3_login_line(struct pop3_login *, char *line, size_t len);

/*
 * Parse a number argument: 1 to POP3_NUM_DIGITS decimal digits, no
 * sign, no blanks, value at least min.  0 with *out, or -1.
 */
int	pop3_num(const char *s, size_t len, unsigned long min,
	    unsigned long *out);

/* Make fd (a TCP socket, else nothing happens) send at once. */
void	pop3_wire_setup(int fd);
/*
 * Write all of p to fd, in as few calls as the fd takes, until the
 * absolute CLOCK_MONOTONIC deadline_ms: 0, or -1 with errno (ETIMEDOUT).
 */
int	pop3_wire_write(int fd, const char *p, size_t len,
	    int64_t deadline_ms);

/* One message of the maildrop, as the transaction session sees it. */
struct pop3_msg {
	uint64_t	size;		/* CRLF octets, when sized */
	bool		sized;
	bool		deleted;
};

/* The outside world of tern-pop3d's transaction session. */
struct pop3d_ops {
	int	(*output)(void *ctx, const char *, size_t);
	/* The CRLF size of message i (0-based): 0, or -1. */
	int	(*size)(void *ctx, size_t i, uint64_t *out);
	/* The unique id of message i into out: 0, or -1. */
	int	(*uid)(void *ctx, size_t i, char *out, size_t outsz);
	/* Open message i for reading (LF line ends): an fd, or -1. */
	int	(*open)(void *ctx, size_t i);
	/* Remove message i at QUIT: 0, or -1. */
	int	(*remove)(void *ctx, size_t i);
	/* Called before each command (renew the lock); may be NULL. */
	void	(*tick)(void *ctx);
	/*
	 * After QUIT's removals, before its reply: let the maildrop go, so
	 * a client that reconnects at once finds it free.  May be NULL.
	 */
	void	(*release)(void *ctx);
};

struct pop3d {
	const struct pop3d_ops	*ops;
	void			*ctx;
	struct linereader	 lr;
	struct buf		 out;
	struct pop3_msg		*msgs;
	size_t			 nmsgs;
	bool			 quit, closing, update_failed;
	unsigned		 badcmds;
	unsigned		 idle_s;	/* POP3_IDLE_S */
	/* counters for the log */
	unsigned		 nretr, ndele;
	uint64_t		 bytes_out;
};

/*
 * Set up a transaction session over nmsgs messages reading infd.
 * pending[0..pendlen) is input that came before (pipelined after the
 * login): it is read first.  The idle timeout is POP3_IDLE_S; the
 * caller may change idle_s after.  0, or -1 (ENOMEM, E2BIG).
 */
int	pop3d_init(struct pop3d *, const struct pop3d_ops *, void *ctx,
	    int infd, size_t nmsgs, const char *pending, size_t pendlen);
/* Greet (+OK) and run until QUIT, EOF, timeout or error. */
void	pop3d_run(struct pop3d *);
/* Run one command line (no CR/LF), for tests and the fuzzer. */
void	pop3d_line(struct pop3d *, char *line, size_t len);
/* Write out buffered replies: 0, or -1. */
int	pop3d_flush(struct pop3d *);
void	pop3d_free(struct pop3d *);

/*
 * The message on fd as POP3 sends it (RFC 1939 3): LF line ends become
 * CRLF, a line starting with '.' gets one more, and a last line without
 * LF gets CRLF.  With top >= 0 only the header, the blank line and the
 * first top lines of the body.  Appends to out, calling flush whenever
 * out holds POP3_OUT_FLUSH bytes.  The ".\r\n" is not added.
 * 0, or -1 (read error, or flush failed).
 */
struct pop3_stuff {
	bool		bol;		/* at the start of a line */
	bool		cr;		/* the last byte was CR */
	bool		header;		/* still in the header */
	bool		stop;		/* TOP: enough lines sent */
	long long	top;		/* body lines still to send, -1 all */
	size_t		linelen;	/* bytes of the line so far, up to 2 */
	uint64_t	raw;		/* bytes of the file consumed */
};
void	pop3_stuff_init(struct pop3_stuff *, long long top);
/* Convert in[0..len) into out (capacity for 2 * len + 2 more). */
size_t	pop3_stuff_add(struct pop3_stuff *, const char *in, size_t len,
	    char *out);
/* The end of the message: CRLF when it did not end in LF. */
size_t	pop3_stuff_end(struct pop3_stuff *, char *out);

#endif
