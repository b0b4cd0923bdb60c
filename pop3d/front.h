/*
 * front: tern-pop3-login's two processes.  The parent keeps its
 * privileges and only runs the checkpassword program; the child drops
 * them and speaks the login dialogue (pop3_login_run).  They talk over
 * a SOCK_SEQPACKET pair: one credentials message from the child
 * carrying the connection (and the tern-tlsd control socket, if any),
 * after which the child holds neither; one verdict byte back, which
 * returns them for the next attempt.  So while a mailbox session runs,
 * no process of the login user holds the connection.
 */
#ifndef TERN_POP3_FRONT_H
#define TERN_POP3_FRONT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pop3.h"
#include "ucspi.h"

#ifndef TERN_LOGINUSER
#define TERN_LOGINUSER		"nobody"	/* the build may set it */
#endif
#define FRONT_LOGINUSER_DEF	TERN_LOGINUSER	/* control pop3loginuser */
#define FRONT_VERDICT_BAD	'F'	/* checkpassword said no (exit 1) */
#define FRONT_VERDICT_TEMP	'T'	/* it could not tell (2, 111, ...) */
#define FRONT_CHECK_FAIL	120	/* exit of a child that could not exec */
#define FRONT_FDS_MAX		2	/* passed: the connection, tlsctl */

/* The credentials message, header first, then user, pass, pending. */
struct front_hdr {
	uint32_t	userlen;
	uint32_t	passlen;
	uint32_t	pendlen;
	uint32_t	tls;		/* 1: the connection is TLS now */
};
#define FRONT_MSG_MAX	(sizeof(struct front_hdr) + POP3_USER_MAX + \
			    POP3_PASS_MAX + POP3_PENDING_MAX)

/* A parsed credentials message; pointers into the caller's buffer. */
struct front_cred {
	char		*user;		/* NUL-terminated */
	char		*pass;		/* NUL-terminated */
	const char	*pending;
	size_t		 pendlen;
	bool		 tls;
};

struct front {
	struct pop3_login_cfg	 cfg;
	char			 loginuser[64];
	char			**cpargv;	/* checkpassword and its args */
	struct ucspi_conn	 conn;
	unsigned		 idle_s;	/* pop3timeout */
	bool			 root, tls;
	uid_t			 uid;		/* the login child's ids */
	gid_t			 gid;
	int			 tlsctl;	/* TERN_TLSCTL, -1 none */
	int			 devnull;	/* the child's: 0/1 while away */
	int			 sock[2];	/* [0] parent, [1] child */
	pid_t			 child;
};

/*
 * Read the control files pop3insecure, pop3faildelay, pop3loginuser,
 * pop3timeout from dir.  0, or -1 with *errstr naming the bad file.
 */
int	front_cfg_load(struct front *, const char *dir, const char **errstr);

/*
 * Build the credentials message into buf (FRONT_MSG_MAX bytes): its
 * length, or -1 when something is too long (E2BIG).
 */
ssize_t	front_msg_build(char *buf, size_t bufsz, const char *user,
	    const char *pass, const char *pending, size_t pendlen, bool tls);
/*
 * Parse a credentials message of len bytes in buf (which it changes:
 * NULs are put after user and pass): 0 with *out, or -1 when the
 * lengths do not add up, exceed the limits, or user/pass hold a NUL.
 */
int	front_msg_parse(char *buf, size_t len, struct front_cred *out);

/*
 * The verdict for a checkpassword wait status: 0 the mailbox session
 * ran (killed by a signal, or any exit but 1, 2, 111 and
 * FRONT_CHECK_FAIL), or the verdict byte to send to the login child.
 */
int	front_verdict(int status);

/* Fork the login child and run it; the parent returns 0 or -1. */
int	front_start(struct front *);
/*
 * The parent's loop: logins until the child is done, a session has
 * run, or the third failed login (each answered after cfg.faildelay
 * seconds).  The exit code.
 */
int	front_parent(struct front *);

#endif
