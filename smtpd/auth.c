/* auth: AUTH PLAIN and LOGIN (RFC 4954, RFC 4616). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd.h"
#include "replies.h"

/* Decoded responses: a PLAIN response holds two names and a password. */
#define SMTP_AUTH_DEC_MAX	(2 * SMTP_USER_MAX + SMTP_PASS_MAX + 3)

/* A login name we accept: printable, no blanks, not too long. */
static bool
smtp_user_ok(const char *u, size_t len)
{
	size_t i;

	if (len == 0 || len > SMTP_USER_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return false;
	return true;
}

/*
 * A 5xx answer that ends an AUTH exchange (cancel, bad base64, bad
 * response): it counts as a bad command, so AUTH cannot be flooded.
 */
static void
smtp_auth_refuse(struct smtpd *s, const char *reply)
{
	smtp_reply(s, "%s", reply);
	smtp_bad(s);
}

/*
 * The checkpassword interface reads at most SMTP_CP_INPUT_MAX bytes on
 * fd 3: credentials that cannot fit with the timestamp would only make
 * the program fail as misused (a temporary failure), so they are a bad
 * login before any program runs.
 */
static bool
smtp_cred_fits(const char *user, const char *pass)
{
	return strlen(user) + strlen(pass) + SMTP_CP_STAMP_MAX + 3 <=
	    SMTP_CP_INPUT_MAX;
}

/*
 * One base64 response: the initial one (ir) or after a 334 prompt.
 * Decoded length, or -1 with the reply sent (501 for "*", bad base64).
 */
static long
smtp_auth_resp(struct smtpd *s, const char *ir, const char *prompt,
    char *out, size_t outsz)
{
	char *line;
	size_t len;
	int flags, r;
	long n;

	if (ir == NULL) {
		smtp_reply(s, R_AUTH_CONT, prompt);
		r = smtp_read_cmd(s, SMTP_AUTH_LINE_MAX, &line, &len, &flags);
		if (r != 1)
			return -1;
		if (flags & (LINE_BARE_LF | LINE_BARE_CR | LINE_NUL)) {
			smtp_auth_refuse(s, R_AUTH_SYNTAX);
			return -1;
		}
		ir = line;
	}
	if ((n = sasl_response(ir, out, outsz)) == SASL_CANCEL)
		smtp_auth_refuse(s, R_AUTH_CANCEL);
	else if (n == -1)
		smtp_auth_refuse(s, R_AUTH_B64);
	return n < 0 ? -1 : n;
}

/*
 * Run the check and answer; too many failures end the session.
 * Credentials too long for the checkpassword interface fail like a
 * wrong password.
 */
static void
smtp_auth_check(struct smtpd *s, const char *user, const char *pass)
{
	unsigned delay;
	int r;

	r = smtp_cred_fits(user, pass) ? s->ops->checkpass(s->ctx, user,
	    pass) : 1;
	if (r == 0) {
		s->authed = true;
		(void)strlcpy(s->user, user, sizeof(s->user));
		smtp_reply(s, R_AUTH_OK);
		return;
	}
	if (r == -1) {
		smtp_reply(s, R_AUTH_TEMP);
		return;
	}
	s->authfails++;
	/* A growing delay slows down guessing over one connection. */
	delay = s->cfg->authdelay << (s->authfails > 5 ? 5 : s->authfails - 1);
	if (delay > 0 && s->ops->delay != NULL) {
		(void)smtp_flush(s);
		s->ops->delay(s->ctx, delay);
	}
	smtp_reply(s, R_AUTH_BAD);
	if (s->authfails >= s->cfg->maxauthfail) {
		smtp_reply(s, R_TOO_MANY_AUTH, s->cfg->me);
		s->closing = true;
	}
}

static void
smtp_auth_plain(struct smtpd *s, const char *ir, char *dec, size_t decsz)
{
	const char *user, *pass;
	long n;

	if ((n = smtp_auth_resp(s, ir, "", dec, decsz)) == -1)
		return;
	if (sasl_plain_split(dec, (size_t)n, &user, &pass) == -1 ||
	    !smtp_user_ok(user, strlen(user))) {
		smtp_auth_refuse(s, R_AUTH_SYNTAX);
		return;
	}
	smtp_auth_check(s, user, pass);
}

static void
smtp_auth_login(struct smtpd *s, const char *ir, char *dec, size_t decsz)
{
	char user[SMTP_USER_MAX + 1];
	long n;

	if ((n = smtp_auth_resp(s, ir, R_LOGIN_USER, dec, decsz)) == -1)
		return;
	if (!smtp_user_ok(dec, (size_t)n)) {
		smtp_auth_refuse(s, R_AUTH_SYNTAX);
		return;
	}
	memcpy(user, dec, (size_t)n + 1);
	if ((n = smtp_auth_resp(s, NULL, R_LOGIN_PASS, dec, decsz)) == -1)
		return;
	if (memchr(dec, '\0', (size_t)n) != NULL) {
		smtp_auth_refuse(s, R_AUTH_SYNTAX);
		return;
	}
	smtp_auth_check(s, user, dec);
	explicit_bzero(user, sizeof(user));
}

void
smtp_cmd_auth(struct smtpd *s, char *arg)
{
	char dec[SMTP_AUTH_DEC_MAX + 1];
	char *mech = arg, *ir = NULL;
	size_t n = strcspn(arg, " ");

	if (s->authed) {
		smtp_reply(s, R_AUTHED);
		smtp_bad(s);
		return;
	}
	if (!smtp_auth_offered(s)) {
		smtp_reply(s, s->ops->checkpass != NULL && !s->tls ?
		    R_AUTH_TLS : R_NOT_IMPL);
		smtp_bad(s);
		return;
	}
	if (arg[n] == ' ') {
		arg[n] = '\0';
		ir = arg + n + 1;
		ir += strspn(ir, " ");
	}
	if (strcasecmp(mech, "PLAIN") == 0)
		smtp_auth_plain(s, ir, dec, sizeof(dec));
	else if (strcasecmp(mech, "LOGIN") == 0)
		smtp_auth_login(s, ir, dec, sizeof(dec));
	else {
		smtp_reply(s, R_AUTH_MECH);
		smtp_bad(s);
	}
	explicit_bzero(dec, sizeof(dec));
}
