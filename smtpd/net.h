/* net: tern-smtpd's real outside world (network, tern-queue, TLS, auth). */
#ifndef TERN_SMTPD_NET_H
#define TERN_SMTPD_NET_H

#include <sys/types.h>

#include "rcpt.h"
#include "smtpd.h"

/* The context of smtpd_net_ops. */
struct smtpd_net {
	const struct smtpd_cfg	*cfg;
	struct rcpt_cfg		*rcpt;	/* NULL: every local user exists */
	int			 outfd;	/* replies (1) */
	int			 tlsctl;	/* TERN_TLSCTL, -1 none */
	pid_t			 qpid;	/* tern-queue, -1 none */
	int			 qmsg, qenv, qtext;
};

/* The operations over fds 0/1, tern-queue and checkpassword. */
extern const struct smtpd_ops smtpd_net_ops;
/* Same without STARTTLS (no control fd). */
extern const struct smtpd_ops smtpd_net_ops_notls;

/* Set up n for the session: no queue running, tlsctl as given. */
void	smtpd_net_init(struct smtpd_net *n, const struct smtpd_cfg *cfg,
	    struct rcpt_cfg *rcpt, int tlsctl);

/*
 * Parse the text after "OK " of tern-tlsd's answer ("proto cipher"):
 * 0 with both copied (printable, no blanks), or -1.
 */
int	smtpd_tls_answer(const char *text, char *proto, size_t protosz,
	    char *cipher, size_t ciphersz);

#endif
