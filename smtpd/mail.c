/* mail: MAIL FROM and RCPT TO with their ESMTP parameters. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rec.h"
#include "smtpd.h"
#include "replies.h"

#define SMTP_SIZE_DIGITS	20	/* ULLONG_MAX has 20 digits */

/*
 * Split the next "KEY[=VALUE]" off *p (NUL-terminating both): 1, or 0
 * at the end.  value is NULL without '='.
 */
static int
smtp_param_next(char **p, char **key, char **value)
{
	char *s = *p;

	while (*s == ' ')
		s++;
	if (*s == '\0')
		return 0;
	*key = s;
	*value = NULL;
	s += strcspn(s, " =");
	if (*s == '=') {
		*s++ = '\0';
		*value = s;
		s += strcspn(s, " ");
	}
	if (*s == ' ')
		*s++ = '\0';
	*p = s;
	return 1;
}

/* Parse "<path>" after "FROM:" or "TO:"; 0 with *params_out, or -1. */
static int
smtp_path(struct smtpd *s, char *arg, const char *kw, int flags, int code,
    char *out, char **params_out)
{
	const char *why = "syntax error";
	size_t kwlen = strlen(kw), end;

	if (strncasecmp(arg, kw, kwlen) != 0) {
		smtp_reply(s, R_SYNTAX);
		smtp_bad(s);
		return -1;
	}
	arg += kwlen;
	while (*arg == ' ')	/* RFC 5321 forbids it; many clients do it */
		arg++;
	if (addr_parse_path(arg, strlen(arg), flags | ADDR_UTF8, out,
	    ADDR_BUF, &end, &why) == -1) {
		smtp_reply(s, R_ADDR_SYNTAX, code, why);
		smtp_bad(s);
		return -1;
	}
	if (arg[end] != '\0' && arg[end] != ' ') {
		smtp_reply(s, R_ADDR_SYNTAX, code, "junk after the address");
		smtp_bad(s);
		return -1;
	}
	*params_out = arg + end;
	return 0;
}

static bool
smtp_size_parse(const char *v, unsigned long long *out)
{
	unsigned long long n = 0;
	size_t i, len = v ? strlen(v) : 0;

	if (len == 0 || len > SMTP_SIZE_DIGITS)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)v[i]) ||
		    __builtin_mul_overflow(n, 10ULL, &n) ||
		    __builtin_add_overflow(n, (unsigned)(v[i] - '0'), &n))
			return false;
	}
	*out = n;
	return true;
}

static void
smtp_upper(char *v)
{
	for (; *v != '\0'; v++)
		*v = (char)toupper((unsigned char)*v);
}

/* One MAIL parameter: 0, or -1 with a reply sent. */
static int
smtp_mail_param(struct smtpd *s, char *key, char *v, bool *body8)
{
	if (strcasecmp(key, "SIZE") == 0 && smtp_size_parse(v, &s->declared))
		return 0;
	if (strcasecmp(key, "BODY") == 0 && v != NULL) {
		if (strcasecmp(v, "7BIT") == 0 ||
		    strcasecmp(v, "8BITMIME") == 0) {
			*body8 = true;
			return 0;
		}
		smtp_reply(s, R_NO_8BIT_BODY);
		return -1;
	}
	if (strcasecmp(key, "SMTPUTF8") == 0 && v == NULL) {
		s->smtputf8 = true;
		return 0;
	}
	if (strcasecmp(key, "RET") == 0 && v != NULL && s->ret[0] == '\0' &&
	    (strcasecmp(v, "FULL") == 0 || strcasecmp(v, "HDRS") == 0)) {
		smtp_upper(v);
		(void)strlcpy(s->ret, v, sizeof(s->ret));
		return 0;
	}
	if (strcasecmp(key, "ENVID") == 0 && v != NULL &&
	    s->envid[0] == '\0' && strlen(v) <= SMTP_ENVID_MAX &&
	    smtp_xtext_valid(v)) {
		(void)strlcpy(s->envid, v, sizeof(s->envid));
		return 0;
	}
	if (strcasecmp(key, "AUTH") == 0 && v != NULL &&
	    (strcmp(v, "<>") == 0 || smtp_xtext_valid(v)))
		return 0;	/* RFC 4954 5: we never trust it */
	smtp_reply(s, R_PARAM, key);
	return -1;
}

void
smtp_cmd_mail(struct smtpd *s, char *arg)
{
	char *params, *key, *v;
	bool body8 = false;

	if (s->cfg->mode == SMTP_SUBMISSION && !s->authed) {
		smtp_reply(s, R_AUTH_REQ);
		smtp_bad(s);
		return;
	}
	smtp_txn_reset(s);
	if (smtp_path(s, arg, "FROM:", ADDR_NULL_OK, 7, s->sender,
	    &params) == -1)
		return;
	while (smtp_param_next(&params, &key, &v)) {
		if (smtp_mail_param(s, key, v, &body8) == -1) {
			smtp_txn_reset(s);
			smtp_bad(s);
			return;
		}
	}
	if (addr_is_utf8(s->sender) && !s->smtputf8) {
		smtp_reply(s, R_UTF8_ADDR);
	} else if (s->cfg->databytes != 0 && s->declared > s->cfg->databytes) {
		smtp_reply(s, R_TOO_BIG);
	} else if (s->cfg->mode == SMTP_SUBMISSION &&
	    !smtp_sender_allowed(s->cfg, s->user, s->sender)) {
		smtp_reply(s, R_SENDER_DENIED, s->sender, s->user);
	} else {
		s->state = ST_MAIL;
		smtp_reply(s, R_OK_SENDER);
		return;
	}
	smtp_txn_reset(s);
	smtp_bad(s);
}

/* NOTIFY: NEVER, or a list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1). */
static bool
smtp_notify_valid(char *v)
{
	static const char *const kw[] = { "SUCCESS", "FAILURE", "DELAY" };
	unsigned seen = 0, bit;
	size_t i, n;
	char *p;

	smtp_upper(v);
	if (strcmp(v, "NEVER") == 0)
		return true;
	for (p = v; *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		for (i = 0, bit = 0; i < 3; i++)
			if (strlen(kw[i]) == n && strncmp(p, kw[i], n) == 0)
				bit = 1U << i;
		if (bit == 0 || (seen & bit) != 0 ||
		    (p[n] == ',' && p[n + 1] == '\0'))
			return false;
		seen |= bit;
	}
	return seen != 0;
}

/* ORCPT: addr-type ";" xtext (RFC 3461 4.2). */
static bool
smtp_orcpt_valid(const char *v)
{
	const char *semi = strchr(v, ';');
	const char *p;

	if (semi == NULL || semi == v || strlen(v) > SMTP_ORCPT_MAX)
		return false;
	for (p = v; p < semi; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return false;
	return smtp_xtext_valid(semi + 1);
}

/*
 * A local part with %, ! or (quoted) @ asks the next hop to route the
 * mail further: a relay trick, unless such a local user exists or the
 * client may relay anyway.
 */
static bool
smtp_local_tricky(const char *canon)
{
	size_t i, n = addr_local_len(canon);

	for (i = 0; i < n; i++)
		if (canon[i] == '%' || canon[i] == '!' || canon[i] == '@')
			return true;
	return false;
}

static bool
smtp_is_postmaster(const char *canon)
{
	return addr_local_len(canon) == 10 &&
	    strncasecmp(canon, "postmaster", 10) == 0;
}

/*
 * May this recipient be accepted?  0, or -1 with a reply sent.  A 5xx
 * counts as a bad command (address harvesting, relay probing); a 451
 * is our fault and does not.  The relay domain's MX would act on a
 * routing trick (allow_untrusted_routing in Postfix), so only a trusted
 * client may use one there.
 */
static int
smtp_rcpt_policy(struct smtpd *s, const char *canon)
{
	const char *dom = addr_domain(canon);
	int r;

	if (dom == NULL)
		return 0;	/* <Postmaster>: RFC 5321 4.5.1 */
	if (smtp_domain_local(s->cfg, dom)) {
		if (smtp_is_postmaster(canon) || s->ops->rcpt_exists == NULL)
			return 0;
		if ((r = s->ops->rcpt_exists(s->ctx, canon)) == 1)
			return 0;
		if (r == -1) {
			smtp_reply(s, R_RCPT_TEMP);
			return -1;
		}
		if (smtp_local_tricky(canon))
			smtp_reply(s, R_RELAY, canon);
		else
			smtp_reply(s, R_NO_USER, canon);
		smtp_bad(s);
		return -1;
	}
	if (s->authed || smtp_net_match(s->cfg->relayclients,
	    s->cfg->nrelayclients, s->remote_ip))
		return 0;
	if (smtp_domain_relay(s->cfg, dom) && !smtp_local_tricky(canon))
		return 0;
	smtp_reply(s, R_RELAY, canon);
	smtp_bad(s);
	return -1;
}

/* The RCPT parameters into notify and orcpt: 0, or -1 (reply sent). */
static int
smtp_rcpt_params(struct smtpd *s, char *params, char **notify,
    char **orcpt)
{
	char *key, *v;

	*notify = *orcpt = NULL;
	while (smtp_param_next(&params, &key, &v)) {
		if (strcasecmp(key, "NOTIFY") == 0 && v != NULL &&
		    *notify == NULL && smtp_notify_valid(v))
			*notify = v;
		else if (strcasecmp(key, "ORCPT") == 0 && v != NULL &&
		    *orcpt == NULL && smtp_orcpt_valid(v))
			*orcpt = v;
		else {
			smtp_reply(s, R_PARAM, key);
			smtp_bad(s);
			return -1;
		}
	}
	return 0;
}

void
smtp_cmd_rcpt(struct smtpd *s, char *arg)
{
	char canon[ADDR_BUF], *params, *notify, *orcpt;
	size_t mark = s->rcpts.len;

	if (s->nrcpt >= s->cfg->maxrcpt) {
		smtp_reply(s, R_TOO_MANY_RCPT);
		return;
	}
	if (smtp_path(s, arg, "TO:", ADDR_POSTMASTER, 3, canon,
	    &params) == -1 ||
	    smtp_rcpt_params(s, params, &notify, &orcpt) == -1)
		return;
	if (addr_is_utf8(canon) && !s->smtputf8) {
		smtp_reply(s, R_UTF8_ADDR);
		smtp_bad(s);
		return;
	}
	if (smtp_rcpt_policy(s, canon) == -1)
		return;
	if ((notify != NULL && rec_put_tag(&s->rcpts, 'N', notify) == -1) ||
	    (orcpt != NULL && rec_put_tag(&s->rcpts, 'O', orcpt) == -1) ||
	    rec_put_tag(&s->rcpts, 'T', canon) == -1) {
		buf_truncate(&s->rcpts, mark);
		smtp_reply(s, R_NOMEM);
		return;
	}
	if (s->nrcpt++ == 0)
		(void)strlcpy(s->rcpt1, canon, sizeof(s->rcpt1));
	s->state = ST_RCPT;
	smtp_reply(s, R_OK_RCPT);
}
