/* session: the command loop and state machine of tern-smtpd. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd.h"
#include "replies.h"

struct smtp_cmd {
	const char	*name;
	int		 states;	/* ST_* where it is allowed */
	bool		 junk;		/* counts toward maxjunkcommands */
	void		(*fn)(struct smtpd *, char *arg);
};

static void cmd_ehlo(struct smtpd *, char *);
static void cmd_helo(struct smtpd *, char *);
static void cmd_rset(struct smtpd *, char *);
static void cmd_noop(struct smtpd *, char *);
static void cmd_quit(struct smtpd *, char *);
static void cmd_vrfy(struct smtpd *, char *);
static void cmd_help(struct smtpd *, char *);
static void cmd_starttls(struct smtpd *, char *);

static const struct smtp_cmd cmds[] = {
	{ "EHLO", ST_START | ST_IDLE | ST_MAIL | ST_RCPT, false, cmd_ehlo },
	{ "HELO", ST_START | ST_IDLE | ST_MAIL | ST_RCPT, false, cmd_helo },
	{ "MAIL", ST_IDLE, false, smtp_cmd_mail },
	{ "RCPT", ST_MAIL | ST_RCPT, false, smtp_cmd_rcpt },
	{ "DATA", ST_RCPT, false, smtp_cmd_data },
	/* BDAT checks the state itself: the chunk must be read anyway */
	{ "BDAT", ST_ANY, false, smtp_cmd_bdat },
	{ "RSET", ST_ANY, true, cmd_rset },
	{ "NOOP", ST_ANY, true, cmd_noop },
	{ "QUIT", ST_ANY, false, cmd_quit },
	{ "VRFY", ST_ANY, true, cmd_vrfy },
	{ "HELP", ST_ANY, true, cmd_help },
	{ "AUTH", ST_IDLE, false, smtp_cmd_auth },
	{ "STARTTLS", ST_START | ST_IDLE, false, cmd_starttls },
};

void
smtp_reply(struct smtpd *s, const char *fmt, ...)
{
	va_list ap;
	size_t mark;
	int r;

	if (s->out.len > SMTP_OUT_MAX / 2)
		(void)smtp_flush(s);
	mark = s->out.len;
	va_start(ap, fmt);
	r = buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (r == -1 || buf_append(&s->out, "\r\n", 2) == -1) {
		buf_truncate(&s->out, mark);
		s->closing = true;
	}
}

int
smtp_flush(struct smtpd *s)
{
	int r = 0;

	if (s->out.len > 0)
		r = s->ops->output(s->ctx, s->out.data, s->out.len);
	buf_reset(&s->out);
	if (r == -1)
		s->closing = true;
	return r;
}

void
smtp_txn_reset(struct smtpd *s)
{
	s->sender[0] = '\0';
	s->smtputf8 = false;
	s->declared = 0;
	s->envid[0] = '\0';
	s->ret[0] = '\0';
	buf_reset(&s->rcpts);
	s->nrcpt = 0;
	s->rcpt1[0] = '\0';
	if (s->state != ST_START)
		s->state = ST_IDLE;
}

int
smtpd_init(struct smtpd *s, const struct smtpd_cfg *cfg,
    const struct smtpd_ops *ops, void *ctx, int infd, const char *remote_ip,
    const char *tls_proto, const char *tls_cipher)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->ops = ops;
	s->ctx = ctx;
	s->state = ST_START;
	if (line_init(&s->lr, infd, SMTP_DATA_LINE_MAX) == -1)
		return -1;
	buf_init(&s->out, SMTP_OUT_MAX);
	buf_init(&s->rcpts, (size_t)cfg->maxrcpt * (ADDR_BUF +
	    SMTP_ORCPT_MAX + 64) + 1);
	buf_init(&s->msg.hdr, SMTP_DATA_LINE_MAX + 1);
	buf_init(&s->msg.out, 65536);
	(void)strlcpy(s->remote_ip, remote_ip ? remote_ip : "",
	    sizeof(s->remote_ip));
	if (tls_proto != NULL) {
		s->tls = true;
		(void)strlcpy(s->tls_proto, tls_proto, sizeof(s->tls_proto));
		(void)strlcpy(s->tls_cipher, tls_cipher ? tls_cipher : "",
		    sizeof(s->tls_cipher));
	}
	return 0;
}

void
smtpd_free(struct smtpd *s)
{
	line_free(&s->lr);
	buf_free(&s->out);
	buf_free(&s->rcpts);
	buf_free(&s->msg.hdr);
	buf_free(&s->msg.out);
}

/*
 * One more error; too many ends the session (RFC 5321 4.3.2 leaves it).
 * Rejected recipients and AUTH exchanges count too, or a client could
 * harvest addresses or flood AUTH for ever (Postfix's
 * smtpd_hard_error_limit counts the same way).
 */
void
smtp_bad(struct smtpd *s)
{
	if (++s->badcmds > s->cfg->maxbadcmds) {
		smtp_reply(s, R_TOO_MANY_BAD, s->cfg->me);
		s->closing = true;
	}
}

static void
smtp_bad_state(struct smtpd *s, const struct smtp_cmd *c)
{
	if (s->state == ST_START && c->fn != cmd_starttls)
		smtp_reply(s, R_NEED_HELO);
	else if (c->fn == smtp_cmd_rcpt && s->state == ST_IDLE)
		smtp_reply(s, R_NEED_MAIL);
	else if (c->fn == smtp_cmd_data && s->state == ST_MAIL)
		smtp_reply(s, R_NEED_RCPT);
	else if (c->fn == smtp_cmd_data && s->state == ST_BDAT)
		smtp_reply(s, R_BDAT_MIX);
	else if (c->fn == smtp_cmd_mail && s->state != ST_START)
		smtp_reply(s, R_NESTED_MAIL);
	else
		smtp_reply(s, R_BAD_SEQ);
	smtp_bad(s);
}

/*
 * Junk: NOOP, RSET, VRFY, HELP, and EHLO/HELO past the few a session
 * needs (before and after STARTTLS, after AUTH).  True when the limit
 * is passed: 421 sent, the session ends.
 */
static bool
smtp_junk(struct smtpd *s, const struct smtp_cmd *c)
{
	if (c->fn == cmd_ehlo || c->fn == cmd_helo) {
		if (++s->nhelo <= SMTP_HELO_FREE)
			return false;
	} else if (!c->junk)
		return false;
	if (++s->junkcmds <= s->cfg->maxjunkcmds)
		return false;
	smtp_reply(s, R_TOO_MANY_JUNK, s->cfg->me);
	s->closing = true;
	return true;
}

/*
 * Find the command and run it; line holds no CR, LF or NUL.  A message
 * accepted clears the error count: the limit is on errors without mail,
 * so a long session of an honest MTA is not cut off.
 */
static void
smtp_dispatch(struct smtpd *s, char *line, size_t len)
{
	const struct smtp_cmd *c;
	unsigned nmsgs = s->nmsgs;
	size_t i, n;
	char *arg;

	for (n = 0; n < len && line[n] != ' '; n++)
		;
	arg = line + n;
	while (*arg == ' ')
		arg++;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		c = &cmds[i];
		if (strlen(c->name) != n || strncasecmp(c->name, line, n) != 0)
			continue;
		if ((c->states & s->state) == 0) {
			smtp_bad_state(s, c);
			return;
		}
		if (smtp_junk(s, c))
			return;
		c->fn(s, arg);
		if (s->nmsgs != nmsgs)
			s->badcmds = 0;
		return;
	}
	smtp_reply(s, R_UNKNOWN);
	smtp_bad(s);
}

/* True when a complete line is already buffered (no need to flush). */
static bool
smtp_line_buffered(const struct smtpd *s)
{
	return memchr(s->lr.buf + s->lr.start, '\n',
	    s->lr.end - s->lr.start) != NULL;
}

/*
 * Read the next command line.  Replies go out only when no complete
 * line is waiting: pipelined commands get their replies in one write
 * (RFC 2920 3.2).  1 got a line, 0 the session ends.
 */
int
smtp_read_cmd(struct smtpd *s, unsigned limit, char **line_out,
    size_t *len_out, int *flags_out)
{
	int r;

	if (!smtp_line_buffered(s) && smtp_flush(s) == -1)
		return 0;
	r = line_read(&s->lr, line_deadline((int64_t)s->cfg->t_cmd * 1000),
	    line_out, len_out, flags_out);
	if (r == 1 && (*flags_out & LINE_EOF) != 0)
		return 0;	/* no terminator: the client went away */
	if (r == 1 && *len_out > limit) {
		errno = EMSGSIZE;
		r = -1;
	}
	if (r == 1)
		return 1;
	if (r == -1 && errno == EMSGSIZE) {
		smtp_reply(s, R_LINE_LONG);
		smtp_bad(s);
		return s->closing ? 0 : -1;
	}
	if (r == -1 && errno == ETIMEDOUT)
		smtp_reply(s, R_SHUTDOWN, s->cfg->me);
	s->closing = true;
	return 0;
}

/* A command line that is not clean text gets 500 and counts as bad. */
static bool
smtp_line_clean(struct smtpd *s, int flags)
{
	if (flags & (LINE_BARE_LF | LINE_BARE_CR))
		smtp_reply(s, R_BARE_EOL);
	else if (flags & LINE_NUL)
		smtp_reply(s, R_NUL);
	else
		return true;
	smtp_bad(s);
	return false;
}

/*
 * RFC 5321 4.5.3.1.4 limits command lines to 512 bytes; RFC 4954 4 lets
 * AUTH with an initial response be longer.  So lines are read up to the
 * AUTH limit and every other verb is held to the RFC 5321 one here.
 */
static bool
smtp_line_fits(struct smtpd *s, const char *line, size_t len)
{
	if (len <= SMTP_CMD_LINE_MAX || strncasecmp(line, "AUTH ", 5) == 0)
		return true;
	smtp_reply(s, R_LINE_LONG);
	smtp_bad(s);
	return false;
}

void
smtpd_run(struct smtpd *s)
{
	char *line;
	size_t len;
	int flags, r;

	smtp_reply(s, R_GREETING, s->cfg->me);
	while (!s->quit && !s->closing) {
		r = smtp_read_cmd(s, SMTP_AUTH_LINE_MAX, &line, &len, &flags);
		if (r == 0)
			break;
		if (r == -1 || !smtp_line_fits(s, line, len) ||
		    !smtp_line_clean(s, flags))
			continue;
		smtp_dispatch(s, line, len);
	}
	if (s->ops->q_abort != NULL && s->msg.opened) {
		s->ops->q_abort(s->ctx);
		s->msg.opened = false;
	}
	(void)smtp_flush(s);
}

/* The EHLO/HELO argument: one printable word, kept for Received. */
static bool
smtp_helo_arg(struct smtpd *s, const char *arg, const char *verb)
{
	size_t i, n;

	n = strcspn(arg, " ");
	if (n == 0 || n > SMTP_HELO_MAX || arg[n + strspn(arg + n, " ")]
	    != '\0') {
		smtp_reply(s, R_HELO_SYNTAX, verb);
		smtp_bad(s);
		return false;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)arg[i] <= 0x20 ||
		    (unsigned char)arg[i] >= 0x7f) {
			smtp_reply(s, R_HELO_SYNTAX, verb);
			smtp_bad(s);
			return false;
		}
	}
	memcpy(s->helo, arg, n);
	s->helo[n] = '\0';
	smtp_txn_reset(s);
	s->state = ST_IDLE;
	return true;
}

/* AUTH is offered under TLS only (or with control authinsecure). */
bool
smtp_auth_offered(const struct smtpd *s)
{
	return !s->authed && s->ops->checkpass != NULL &&
	    (s->tls || s->cfg->authinsecure);
}

static void
cmd_ehlo(struct smtpd *s, char *arg)
{
	char size[48];

	if (!smtp_helo_arg(s, arg, "EHLO"))
		return;
	s->esmtp = true;
	smtp_reply(s, R_EHLO_FIRST, s->cfg->me, s->remote_ip);
	smtp_reply(s, R_EXT_CONT, "PIPELINING");
	(void)snprintf(size, sizeof(size), "SIZE %llu", s->cfg->databytes);
	smtp_reply(s, R_EXT_CONT, size);
	smtp_reply(s, R_EXT_CONT, "8BITMIME");
	smtp_reply(s, R_EXT_CONT, "ENHANCEDSTATUSCODES");
	smtp_reply(s, R_EXT_CONT, "SMTPUTF8");
	smtp_reply(s, R_EXT_CONT, "CHUNKING");
	if (s->ops->starttls != NULL && !s->tls)
		smtp_reply(s, R_EXT_CONT, "STARTTLS");
	if (smtp_auth_offered(s))
		smtp_reply(s, R_EXT_CONT, "AUTH PLAIN LOGIN");
	smtp_reply(s, R_EXT_LAST, "DSN");
}

static void
cmd_helo(struct smtpd *s, char *arg)
{
	if (!smtp_helo_arg(s, arg, "HELO"))
		return;
	s->esmtp = false;
	smtp_reply(s, R_HELO, s->cfg->me, s->remote_ip);
}

static void
cmd_rset(struct smtpd *s, char *arg)
{
	if (*arg != '\0') {
		smtp_reply(s, R_NO_ARGS);
		smtp_bad(s);
		return;
	}
	if (s->msg.opened) {
		s->ops->q_abort(s->ctx);
		s->msg.opened = false;
	}
	smtp_txn_reset(s);
	smtp_reply(s, R_OK_RSET);
}

static void
cmd_noop(struct smtpd *s, char *arg)
{
	(void)arg;	/* RFC 5321 4.1.1.9: a parameter is allowed */
	smtp_reply(s, R_NOOP_OK);
}

static void
cmd_quit(struct smtpd *s, char *arg)
{
	(void)arg;
	smtp_reply(s, R_BYE, s->cfg->me);
	s->quit = true;
}

static void
cmd_vrfy(struct smtpd *s, char *arg)
{
	if (*arg == '\0') {
		smtp_reply(s, R_SYNTAX);
		smtp_bad(s);
		return;
	}
	smtp_reply(s, R_VRFY);
}

static void
cmd_help(struct smtpd *s, char *arg)
{
	(void)arg;
	smtp_reply(s, R_HELP);
}

/*
 * RFC 3207: 220, then the handshake; whatever the client sent after
 * STARTTLS in plaintext is thrown away, and the session starts over.
 */
static void
cmd_starttls(struct smtpd *s, char *arg)
{
	if (s->ops->starttls == NULL || s->tls) {
		smtp_reply(s, s->tls ? R_BAD_SEQ : R_NOT_IMPL);
		smtp_bad(s);
		return;
	}
	if (*arg != '\0') {
		smtp_reply(s, R_NO_ARGS);
		smtp_bad(s);
		return;
	}
	smtp_reply(s, R_TLS_GO);
	if (smtp_flush(s) == -1)
		return;
	if (s->ops->starttls(s->ctx, s->tls_proto, sizeof(s->tls_proto),
	    s->tls_cipher, sizeof(s->tls_cipher)) == -1) {
		s->closing = true;
		return;
	}
	line_discard(&s->lr);
	s->tls = true;
	s->authed = false;
	s->user[0] = '\0';
	s->esmtp = false;
	s->helo[0] = '\0';
	smtp_txn_reset(s);
	s->state = ST_START;
}
