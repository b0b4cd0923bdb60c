/*
 * login: the AUTHORIZATION state of POP3 (RFC 1939 4, RFC 2449 CAPA,
 * RFC 5034 AUTH PLAIN, RFC 2595 STLS), run unprivileged by
 * tern-pop3-login.  It only collects credentials: checking them and
 * the maildrop are the business of other processes (ops->login).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pop3.h"
#include "replies.h"

/* A decoded PLAIN response: two names and a password. */
#define POP3_PLAIN_DEC_MAX	(2 * POP3_USER_MAX + POP3_PASS_MAX + 3)

struct login_cmd {
	const char	*name;
	void		(*fn)(struct pop3_login *, char *arg);
};

static void cmd_capa(struct pop3_login *, char *);
static void cmd_user(struct pop3_login *, char *);
static void cmd_pass(struct pop3_login *, char *);
static void cmd_auth(struct pop3_login *, char *);
static void cmd_stls(struct pop3_login *, char *);
static void cmd_quit(struct pop3_login *, char *);
static void cmd_noauth(struct pop3_login *, char *);

static const struct login_cmd login_cmds[] = {
	{ "CAPA", cmd_capa }, { "USER", cmd_user }, { "PASS", cmd_pass },
	{ "AUTH", cmd_auth }, { "STLS", cmd_stls }, { "QUIT", cmd_quit },
	{ "STAT", cmd_noauth }, { "LIST", cmd_noauth },
	{ "RETR", cmd_noauth }, { "DELE", cmd_noauth },
	{ "NOOP", cmd_noauth }, { "RSET", cmd_noauth },
	{ "TOP", cmd_noauth }, { "UIDL", cmd_noauth },
};

static void
login_reply(struct pop3_login *s, const char *text)
{
	if (buf_appends(&s->out, text) == -1 ||
	    buf_append(&s->out, "\r\n", 2) == -1)
		s->done = true;
}

static int
login_flush(struct pop3_login *s)
{
	int r = 0;

	if (s->out.len > 0)
		r = s->ops->output(s->ctx, s->out.data, s->out.len);
	buf_reset(&s->out);
	if (r == -1)
		s->done = true;
	return r;
}

static void
login_bad(struct pop3_login *s, const char *reply)
{
	login_reply(s, reply);
	if (++s->badcmds >= POP3_BADCMDS_MAX) {
		login_reply(s, P_ERR_TOO_MANY);
		s->done = true;
	}
}

/* USER/PASS and AUTH PLAIN: only under TLS, or with pop3insecure. */
static bool
login_plain_ok(const struct pop3_login *s)
{
	return s->tls || s->cfg->insecure;
}

int
pop3_login_init(struct pop3_login *s, const struct pop3_login_cfg *cfg,
    const struct pop3_login_ops *ops, void *ctx, int infd, bool tls)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->ops = ops;
	s->ctx = ctx;
	s->tls = tls;
	s->idle_s = POP3_IDLE_S;
	if (line_init(&s->lr, infd, POP3_AUTH_LINE_MAX) == -1)
		return -1;
	buf_init(&s->out, 4096);
	return 0;
}

void
pop3_login_free(struct pop3_login *s)
{
	line_free(&s->lr);
	buf_free(&s->out);
	explicit_bzero(s->user, sizeof(s->user));
}

static void
cmd_capa(struct pop3_login *s, char *arg)
{
	if (*arg != '\0') {
		login_bad(s, P_ERR_SYNTAX);
		return;
	}
	login_reply(s, P_CAPA);
	login_reply(s, P_CAPA_COMMON);
	if (login_plain_ok(s)) {
		login_reply(s, "USER");
		login_reply(s, "SASL PLAIN");
	}
	if (s->ops->starttls != NULL && !s->tls)
		login_reply(s, "STLS");
	login_reply(s, P_CAPA_IMPL);
	login_reply(s, P_END);
}

/* Printable, no blanks, not too long: what we pass as a login name. */
static bool
login_name_ok(const char *u, size_t len)
{
	size_t i;

	if (len == 0 || len > POP3_USER_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return false;
	return true;
}

static void
cmd_user(struct pop3_login *s, char *arg)
{
	if (!login_plain_ok(s)) {
		login_bad(s, P_ERR_PLAIN);
		return;
	}
	if (!login_name_ok(arg, strlen(arg))) {
		login_bad(s, P_ERR_SYNTAX);
		return;
	}
	(void)strlcpy(s->user, arg, sizeof(s->user));
	login_reply(s, P_USER_OK);
}

/* Hand the login to the privileged side and answer its verdict. */
static void
login_try(struct pop3_login *s, const char *user, const char *pass)
{
	int r;

	if (login_flush(s) == -1)
		return;
	r = s->ops->login(s->ctx, user, pass, s->lr.buf + s->lr.start,
	    line_pending(&s->lr), s->tls);
	if (r == 0) {
		s->done = true;		/* the mailbox session has run */
		return;
	}
	if (r == -1) {
		login_reply(s, P_ERR_AUTH_TEMP);
		return;
	}
	s->authfails++;
	if (s->cfg->faildelay > 0 && s->ops->delay != NULL)
		s->ops->delay(s->ctx, s->cfg->faildelay);
	if (s->authfails >= POP3_AUTHFAIL_MAX) {
		login_reply(s, P_ERR_AUTH_LAST);
		s->done = true;
	} else
		login_reply(s, P_ERR_BADAUTH);
}

static void
cmd_pass(struct pop3_login *s, char *arg)
{
	char user[POP3_USER_MAX + 1];

	if (!login_plain_ok(s)) {
		login_bad(s, P_ERR_PLAIN);
		return;
	}
	if (s->user[0] == '\0') {
		login_bad(s, P_ERR_NEED_USER);
		return;
	}
	/* RFC 1939 7: the password is the rest of the line, spaces too */
	if (strlen(arg) > POP3_PASS_MAX) {
		login_bad(s, P_ERR_SYNTAX);
		return;
	}
	memcpy(user, s->user, sizeof(user));
	explicit_bzero(s->user, sizeof(s->user));
	login_try(s, user, arg);
	explicit_bzero(user, sizeof(user));
}

/*
 * The PLAIN response: the initial one, or read after "+ ".  Decoded
 * length, or -1 with the reply queued (or the session ended).
 */
static long
login_sasl_resp(struct pop3_login *s, const char *ir, char *dec,
    size_t decsz)
{
	char *line;
	size_t len;
	int flags, r;
	long n;

	if (ir == NULL) {
		login_reply(s, P_AUTH_CONT);
		if (login_flush(s) == -1)
			return -1;
		r = line_read(&s->lr, line_deadline(s->idle_s * 1000LL),
		    &line, &len, &flags);
		if (r != 1 || (flags & LINE_EOF)) {
			s->done = true;
			return -1;
		}
		if (flags & (LINE_BARE_LF | LINE_BARE_CR | LINE_NUL)) {
			login_bad(s, P_ERR_B64);
			return -1;
		}
		ir = line;
	}
	if ((n = sasl_response(ir, dec, decsz)) == SASL_CANCEL)
		login_bad(s, P_ERR_CANCEL);
	else if (n == -1)
		login_bad(s, P_ERR_B64);
	return n < 0 ? -1 : n;
}

static void
login_auth_list(struct pop3_login *s)
{
	login_reply(s, P_AUTH_LIST);
	if (login_plain_ok(s))
		login_reply(s, "PLAIN");
	login_reply(s, P_END);
}

static void
cmd_auth(struct pop3_login *s, char *arg)
{
	char dec[POP3_PLAIN_DEC_MAX + 1];
	const char *user, *pass, *ir = NULL;
	size_t n = strcspn(arg, " ");
	long len;

	if (*arg == '\0') {
		login_auth_list(s);
		return;
	}
	if (arg[n] == ' ') {
		arg[n] = '\0';
		ir = arg + n + 1;
	}
	if (strcasecmp(arg, "PLAIN") != 0) {
		login_bad(s, P_ERR_MECH);
		return;
	}
	if (!login_plain_ok(s)) {
		login_bad(s, P_ERR_PLAIN);
		return;
	}
	if ((len = login_sasl_resp(s, ir, dec, sizeof(dec))) == -1)
		return;
	if (sasl_plain_split(dec, (size_t)len, &user, &pass) == -1 ||
	    !login_name_ok(user, strlen(user)) ||
	    strlen(pass) > POP3_PASS_MAX)
		login_bad(s, P_ERR_B64);
	else
		login_try(s, user, pass);
	explicit_bzero(dec, sizeof(dec));
}

/*
 * RFC 2595 4: +OK, then the handshake.  Whatever the client sent after
 * STLS in plaintext is thrown away and never executed.
 */
static void
cmd_stls(struct pop3_login *s, char *arg)
{
	if (s->tls) {
		login_bad(s, P_ERR_TLS_ON);
		return;
	}
	if (s->ops->starttls == NULL) {
		login_bad(s, P_ERR_TLS_NA);
		return;
	}
	if (s->user[0] != '\0') {
		login_bad(s, P_ERR_TLS_USER);
		return;
	}
	if (*arg != '\0') {
		login_bad(s, P_ERR_SYNTAX);
		return;
	}
	login_reply(s, P_TLS_GO);
	if (login_flush(s) == -1)
		return;
	line_discard(&s->lr);
	if (s->ops->starttls(s->ctx) == -1) {
		s->done = true;
		return;
	}
	line_discard(&s->lr);
	s->tls = true;
}

static void
cmd_quit(struct pop3_login *s, char *arg)
{
	(void)arg;
	login_reply(s, P_BYE);
	s->done = true;
}

static void
cmd_noauth(struct pop3_login *s, char *arg)
{
	(void)arg;
	login_bad(s, P_ERR_NOAUTH);
}

void
pop3_login_line(struct pop3_login *s, char *line, size_t len)
{
	const struct login_cmd *c;
	size_t i, n;
	char *arg;

	if (++s->ncmds > POP3_PREAUTH_CMDS_MAX) {
		login_reply(s, P_ERR_TOO_CMDS);
		s->done = true;
		return;
	}
	n = strcspn(line, " ");
	arg = line + n;
	if (*arg == ' ')
		arg++;
	for (i = 0; i < sizeof(login_cmds) / sizeof(login_cmds[0]); i++) {
		c = &login_cmds[i];
		if (strlen(c->name) == n && strncasecmp(c->name, line, n) == 0) {
			/* AUTH's initial response may be long, nothing else */
			if (len > POP3_CMD_LINE_MAX && c->fn != cmd_auth)
				login_bad(s, P_ERR_LONG);
			else
				c->fn(s, arg);
			return;
		}
	}
	login_bad(s, len > POP3_CMD_LINE_MAX ? P_ERR_LONG : P_ERR_UNKNOWN);
}

/* True when a whole line is already buffered: no need to flush yet. */
static bool
login_line_buffered(const struct pop3_login *s)
{
	return memchr(s->lr.buf + s->lr.start, '\n',
	    s->lr.end - s->lr.start) != NULL;
}

void
pop3_login_run(struct pop3_login *s)
{
	char *line;
	size_t len;
	int flags, r;

	login_reply(s, P_GREETING);
	while (!s->done) {
		if (!login_line_buffered(s) && login_flush(s) == -1)
			break;
		r = line_read(&s->lr, line_deadline(s->idle_s * 1000LL),
		    &line, &len, &flags);
		if (r == -1 && errno == EMSGSIZE) {
			login_bad(s, P_ERR_LONG);
			continue;
		}
		if (r == -1 && errno == ETIMEDOUT)
			login_reply(s, P_ERR_TIMEOUT);
		if (r != 1 || (flags & LINE_EOF))
			break;
		if (flags & (LINE_NUL | LINE_BARE_CR)) {
			login_bad(s, P_ERR_NUL);
			continue;
		}
		pop3_login_line(s, line, len);
	}
	(void)login_flush(s);
}
