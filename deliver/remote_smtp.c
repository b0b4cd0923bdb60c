/* remote_smtp: the SMTP dialogue of tern-remote (RFC 5321, 2920, 3207). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "remote.h"

/* What a session attempt came to. */
enum sess {
	SESS_OK,	/* go on */
	SESS_NEXT,	/* nothing final: try the next address */
	SESS_DONE	/* every recipient has its result */
};

/* The last reason an address did not work, for the final deferral. */
struct lasterr {
	char	status[SMTPREPLY_ENH_MAX];
	char	text[REMOTE_TEXT_MAX + 1];
};

static struct lasterr	last;

static int
stage(const struct remote *r, int secs)
{
	return secs < r->cfg.to_cap ? secs : r->cfg.to_cap;
}

/* "host [ip]: " prefix plus text into out. */
static void
hosttext(const struct remote *r, char *out, size_t outsz, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
hosttext(const struct remote *r, char *out, size_t outsz, const char *fmt,
    ...)
{
	char	tmp[REMOTE_TEXT_MAX * 2];
	va_list	ap;

	va_start(ap, fmt);
	if (vsnprintf(tmp, sizeof(tmp), fmt, ap) < 0)
		tmp[0] = '\0';
	va_end(ap);
	(void)snprintf(out, outsz, "%s [%s]: %s", r->host->name, r->ip, tmp);
}

static enum sess
fail_next(struct remote *r, const char *status, const char *what)
{
	char	esc[REMOTE_TEXT_MAX * 2], t[REMOTE_TEXT_MAX + 1];

	hosttext(r, t, sizeof(t), "%s", what);
	log_info("%s %s", r->domain, log_esc(esc, sizeof(esc), t, strlen(t)));
	/* a refused connection says less than what another host said */
	if (strcmp(status, "4.4.1") == 0 && last.status[0] != '\0' &&
	    strcmp(last.status, "4.4.1") != 0)
		return SESS_NEXT;
	strlcpy(last.status, status, sizeof(last.status));
	strlcpy(last.text, t, sizeof(last.text));
	return SESS_NEXT;
}

/* The reply as text: "host [ip]: 550 5.1.1 ..." */
static void
replytext(const struct remote *r, char *out, size_t outsz)
{
	char	sum[REMOTE_TEXT_MAX + 1];

	smtpreply_summary(r->conn.reply, sum, sizeof(sum));
	hosttext(r, out, outsz, "%s", sum);
}

static int
cmd(struct remote *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
cmd(struct remote *r, const char *fmt, ...)
{
	char	line[2048];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(line + n, "\r\n", 2);
	/* one write per pipelined group: no Nagle delay between commands */
	if (r->cork && buf_append(&r->out, line, (size_t)n + 2) == 0)
		return 0;
	return rconn_write(&r->conn, line, (size_t)n + 2,
	    remote_deadline(stage(r, REMOTE_TO_MAIL)));
}

/* Send the commands collected while corked: 0 or -1. */
static int
flush(struct remote *r)
{
	int	rv = 0;

	r->cork = false;
	if (r->out.len > 0)
		rv = rconn_write(&r->conn, r->out.data, r->out.len,
		    remote_deadline(stage(r, REMOTE_TO_MAIL)));
	buf_reset(&r->out);
	return rv;
}

/* Read a reply: its code, or -1 with *why (errno text or parser's). */
static int
reply(struct remote *r, int secs, const char **why)
{
	if (rconn_reply(&r->conn, remote_deadline(stage(r, secs)), why) ==
	    -1) {
		if (*why == NULL)
			*why = errno == ETIMEDOUT ? "timed out waiting for a "
			    "reply" : errno == ECONNRESET ? "connection "
			    "closed" : strerror(errno);
		return -1;
	}
	/* 421: the server closes; the next message needs a new session */
	if (r->conn.reply->code == 421)
		r->conn_bad = true;
	return r->conn.reply->code;
}

static void
quit(struct remote *r)
{
	const char	*why;

	if (cmd(r, "QUIT") == 0)
		(void)reply(r, REMOTE_TO_QUIT, &why);
	rconn_close(&r->conn);
}

static bool
kw(const char *line, size_t len, const char *word, const char **arg)
{
	size_t	n = strlen(word);

	if (len < n || strncasecmp(line, word, n) != 0 ||
	    (len > n && line[n] != ' ' && line[n] != '='))
		return false;
	*arg = line + n + (len > n);
	return true;
}

static void
ehlo_parse(struct remote *r)
{
	const struct smtpreply	*rp = r->conn.reply;
	const char		*l, *arg, *err;
	char			 tmp[64];
	size_t			 i, len;

	r->x_pipelining = r->x_8bit = r->x_utf8 = r->x_dsn = false;
	r->x_starttls = r->x_auth_plain = r->x_auth_login = false;
	r->x_size = -1;
	for (i = 1; smtpreply_line(rp, i, &l, &len); i++) {
		if (kw(l, len, "PIPELINING", &arg))
			r->x_pipelining = true;
		else if (kw(l, len, "8BITMIME", &arg))
			r->x_8bit = true;
		else if (kw(l, len, "SMTPUTF8", &arg))
			r->x_utf8 = true;
		else if (kw(l, len, "DSN", &arg))
			r->x_dsn = true;
		else if (kw(l, len, "STARTTLS", &arg))
			r->x_starttls = true;
		else if (kw(l, len, "SIZE", &arg)) {
			snprintf(tmp, sizeof(tmp), "%.*s",
			    (int)(len - (size_t)(arg - l)), arg);
			r->x_size = arg == l + len ? 0 :
			    strtonum(tmp, 0, 1LL << 50, &err);
		} else if (kw(l, len, "AUTH", &arg)) {
			snprintf(tmp, sizeof(tmp), " %.*s ",
			    (int)(len - (size_t)(arg - l)), arg);
			r->x_auth_plain = strcasestr(tmp, " PLAIN ") != NULL;
			r->x_auth_login = strcasestr(tmp, " LOGIN ") != NULL;
		}
	}
}

/* EHLO, HELO after a 5xx: 0, or -1 (lasterr set). */
static int
hello(struct remote *r)
{
	const char	*why;
	char		 t[REMOTE_TEXT_MAX + 1];
	int		 code;

	if (cmd(r, "EHLO %s", r->cfg.helo) == -1)
		return fail_next(r, "4.4.2", strerror(errno)), -1;
	code = reply(r, REMOTE_TO_MAIL, &why);
	if (code >= 500 && code < 600) {
		if (cmd(r, "HELO %s", r->cfg.helo) == -1)
			return fail_next(r, "4.4.2", strerror(errno)), -1;
		code = reply(r, REMOTE_TO_MAIL, &why);
		r->x_size = -1;
		r->x_pipelining = r->x_8bit = r->x_utf8 = r->x_dsn = false;
		r->x_starttls = r->x_auth_plain = r->x_auth_login = false;
		if (code >= 200 && code < 300)
			return 0;
	} else if (code >= 200 && code < 300) {
		ehlo_parse(r);
		return 0;
	}
	if (code == -1)
		return fail_next(r, "4.4.2", why), -1;
	smtpreply_summary(r->conn.reply, t, sizeof(t));
	return fail_next(r, "4.4.2", t), -1;
}

/* Throw away what the server sent before the handshake (RFC 3207 5). */
static void
drain(struct remote *r)
{
	char		buf[4096];
	size_t		n = rconn_pending(&r->conn);
	struct pollfd	pfd;
	ssize_t		got;

	rconn_discard(&r->conn);
	pfd.fd = r->conn.fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) &&
	    (got = read(r->conn.fd, buf, sizeof(buf))) > 0) {
		n += (size_t)got;
		if (n > 1024 * 1024)
			break;
	}
	if (n > 0)
		log_warnx("%s %s [%s]: discarded %zu bytes sent before the "
		    "TLS handshake", r->domain, r->host->name, r->ip, n);
}

static enum sess
starttls(struct remote *r, enum remote_tls pol, bool required)
{
	const char	*why, *st;
	char		 info[300], t[REMOTE_TEXT_MAX + 1];
	int		 code;

	if (cmd(r, "STARTTLS") == -1)
		return fail_next(r, "4.4.2", strerror(errno));
	code = reply(r, REMOTE_TO_MAIL, &why);
	if (code == -1)
		return fail_next(r, "4.4.2", why);
	if (code != 220) {
		smtpreply_summary(r->conn.reply, t, sizeof(t));
		return required ? fail_next(r, "4.7.4", t) : SESS_OK;
	}
	drain(r);
	if (remote_tls_start(r, pol, info, sizeof(info), &st) == -1)
		return fail_next(r, st, info);
	r->tls_on = true;
	log_info("%s %s [%s]: %s", r->domain, r->host->name, r->ip, info);
	return hello(r) == -1 ? SESS_NEXT : SESS_OK;
}

static enum sess
tls_step(struct remote *r)
{
	enum remote_tls	pol = r->cfg.tls;
	bool		required;

	if (pol == RTLS_MAY && r->host->ntlsa > 0)
		pol = RTLS_DANE;
	required = pol >= RTLS_ENCRYPT;
	if (pol == RTLS_NONE)
		return SESS_OK;
	if (r->x_starttls)
		return starttls(r, pol, required);
	if (required)
		return fail_next(r, pol == RTLS_DANE ? "4.7.5" : "4.7.4",
		    "TLS required but STARTTLS not offered");
	return SESS_OK;
}

static void
b64(const char *in, size_t len, char *out, size_t outsz)
{
	if (outsz < 4 * ((len + 2) / 3) + 1) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
	    (int)len);
}

/* AUTH PLAIN or LOGIN with the smtpauth credentials of the route. */
static enum sess
auth(struct remote *r)
{
	char		 raw[600], enc[900], t[REMOTE_TEXT_MAX + 1];
	const char	*why;
	size_t		 ul = strlen(r->cfg.auth_user), pl;
	int		 code;

	if (!r->tls_on && !r->host->insecure_auth)
		return fail_next(r, "4.7.0", "refusing to send credentials "
		    "without TLS (smtproutes: insecure allows it)");
	pl = strlen(r->cfg.auth_pass);
	if (r->x_auth_plain) {
		raw[0] = '\0';
		memcpy(raw + 1, r->cfg.auth_user, ul);
		raw[ul + 1] = '\0';
		memcpy(raw + ul + 2, r->cfg.auth_pass, pl);
		b64(raw, ul + pl + 2, enc, sizeof(enc));
		code = cmd(r, "AUTH PLAIN %s", enc) == -1 ? -1 :
		    reply(r, REMOTE_TO_MAIL, &why);
	} else if (r->x_auth_login) {
		b64(r->cfg.auth_user, ul, enc, sizeof(enc));
		code = cmd(r, "AUTH LOGIN %s", enc) == -1 ? -1 :
		    reply(r, REMOTE_TO_MAIL, &why);
		b64(r->cfg.auth_pass, pl, enc, sizeof(enc));
		if (code == 334)
			code = cmd(r, "%s", enc) == -1 ? -1 :
			    reply(r, REMOTE_TO_MAIL, &why);
	} else
		return fail_next(r, "4.7.0", "no AUTH PLAIN or LOGIN offered");
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(enc, sizeof(enc));
	if (code == 235)
		return SESS_OK;
	if (code == -1)
		return fail_next(r, "4.4.2", "AUTH failed");
	smtpreply_summary(r->conn.reply, t, sizeof(t));
	return fail_next(r, "4.7.0", t);
}

/* Every recipient still open gets letter/status and the reply's text. */
static void
all_from_reply(struct remote *r, char letter, const char *status,
    bool only_accepted)
{
	char	t[REMOTE_TEXT_MAX + 1];
	size_t	i;

	replytext(r, t, sizeof(t));
	for (i = 0; i < r->nrcpts; i++)
		if (r->rcpts[i].letter == 0 && (!only_accepted ||
		    r->rcpts[i].accepted))
			remote_rcpt_set(&r->rcpts[i], letter, status, "%s", t);
}

static char
letter_of(int code)
{
	return code < 400 ? 'K' : code < 500 ? 'Z' : 'D';
}

static int
send_mail(struct remote *r)
{
	char	p[1200];

	p[0] = '\0';
	if (r->x_size >= 0)
		snprintf(p, sizeof(p), " SIZE=%lld", (long long)r->msgsize);
	if (r->eightbit && r->x_8bit)
		strlcat(p, " BODY=8BITMIME", sizeof(p));
	if (r->needutf8)
		strlcat(p, " SMTPUTF8", sizeof(p));
	if (r->x_dsn && r->ret != NULL) {
		strlcat(p, " RET=", sizeof(p));
		strlcat(p, r->ret, sizeof(p));
	}
	if (r->x_dsn && r->envid != NULL) {
		strlcat(p, " ENVID=", sizeof(p));
		strlcat(p, r->envid, sizeof(p));
	}
	return cmd(r, "MAIL FROM:<%s>%s", r->sender, p);
}

static int
send_rcpt(struct remote *r, const struct remote_rcpt *rc)
{
	char	p[1200];

	p[0] = '\0';
	if (r->x_dsn && rc->notify != NULL) {
		strlcat(p, " NOTIFY=", sizeof(p));
		strlcat(p, rc->notify, sizeof(p));
	}
	if (r->x_dsn && rc->orcpt != NULL) {
		strlcat(p, " ORCPT=", sizeof(p));
		strlcat(p, rc->orcpt, sizeof(p));
	}
	return cmd(r, "RCPT TO:<%s>%s", rc->addr, p);
}

/* Transaction state while replies come in. */
struct txn {
	size_t	*idx;		/* rcpts in this transaction */
	size_t	 n;
	bool	 mail_ok;
	size_t	 naccepted;
	int	 data_code;	/* reply to DATA, 0 before */
};

/* Send command k (0 MAIL, 1..n RCPT, n + 1 DATA): 0 or -1. */
static int
send_k(struct remote *r, struct txn *t, size_t k)
{
	if (k == 0)
		return send_mail(r);
	if (k <= t->n)
		return send_rcpt(r, &r->rcpts[t->idx[k - 1]]);
	return cmd(r, "DATA");
}

/* Handle the reply to command k. */
static void
got_k(struct remote *r, struct txn *t, size_t k, int code)
{
	struct remote_rcpt	*rc;
	char			 txt[REMOTE_TEXT_MAX + 1];

	if (k == 0) {
		t->mail_ok = code >= 200 && code < 300;
		r->mail_sent = true;
		if (!t->mail_ok)
			all_from_reply(r, code < 500 ? 'Z' : 'D',
			    smtpreply_status(r->conn.reply), false);
	} else if (k <= t->n && t->mail_ok) {
		rc = &r->rcpts[t->idx[k - 1]];
		if (code >= 200 && code < 300) {
			rc->accepted = true;
			t->naccepted++;
			return;
		}
		replytext(r, txt, sizeof(txt));
		remote_rcpt_set(rc, letter_of(code),
		    smtpreply_status(r->conn.reply), "%s", txt);
	} else if (k > t->n)
		t->data_code = code;
}

/* The reply to an RSET sent ahead of MAIL: 0, or -1 (lasterr set). */
static int
rset_reply(struct remote *r)
{
	const char	*why;
	int		 code;

	r->rset_pending = false;
	code = reply(r, REMOTE_TO_MAIL, &why);
	if (code >= 200 && code < 300)
		return 0;
	(void)fail_next(r, "4.4.2", code == -1 ? why : "RSET refused");
	return -1;
}

/* Commands in groups (pipelining) or one by one; replies in order. */
static enum sess
envelope(struct remote *r, struct txn *t)
{
	size_t		 k = 0, j, end, group;
	const char	*why;
	int		 code;

	group = r->x_pipelining ? REMOTE_PIPELINE_MAX : 1;
	while (k <= t->n + 1) {
		end = k + group < t->n + 2 ? k + group : t->n + 2;
		r->cork = true;
		for (j = k; j < end; j++)
			if (send_k(r, t, j) == -1)
				break;
		(void)flush(r);	/* a write error shows in the replies */
		if (r->rset_pending && rset_reply(r) == -1)
			return SESS_NEXT;
		for (j = k; j < end; j++) {
			code = reply(r, j > t->n ? REMOTE_TO_DATAINIT :
			    REMOTE_TO_MAIL, &why);
			if (code == -1) {
				if (!r->mail_sent)
					return fail_next(r, "4.4.2", why);
				return SESS_NEXT;	/* caller: all Z */
			}
			got_k(r, t, j, code);
		}
		k = end;
		if (!r->x_pipelining && (!t->mail_ok ||
		    (k == t->n + 1 && t->naccepted == 0)))
			break;
	}
	return SESS_OK;
}

static void
lost(struct remote *r, const char *what)
{
	char	t[REMOTE_TEXT_MAX + 1];
	size_t	i;

	hosttext(r, t, sizeof(t), "%s", what);
	for (i = 0; i < r->nrcpts; i++)
		if (r->rcpts[i].letter == 0)
			remote_rcpt_set(&r->rcpts[i], 'Z', "4.4.2", "%s", t);
}

/* After DATA's 354: the message, then its final reply. */
static enum sess
body(struct remote *r, struct txn *t)
{
	const char	*why;
	int		 code;

	if (remote_msg_send(r, stage(r, REMOTE_TO_BLOCK)) == -1) {
		lost(r, "connection lost while sending the message");
		rconn_close(&r->conn);
		return SESS_DONE;
	}
	code = reply(r, REMOTE_TO_DATAEND, &why);
	if (code == -1) {
		/* the server may have taken it: a duplicate is possible */
		lost(r, "no reply after the message (it may have been "
		    "delivered: a retry may duplicate it)");
		rconn_close(&r->conn);
		return SESS_DONE;
	}
	all_from_reply(r, letter_of(code), smtpreply_status(r->conn.reply),
	    true);
	(void)t;
	return SESS_OK;
}

static enum sess
transaction(struct remote *r)
{
	struct txn	t;
	size_t		i, idx[REMOTE_RCPTS_MAX];
	enum sess	s;
	const char	*why;

	memset(&t, 0, sizeof(t));
	t.idx = idx;
	for (i = 0; i < r->nrcpts; i++)
		if (r->rcpts[i].letter == 0)
			idx[t.n++] = i;
	s = envelope(r, &t);
	if (s == SESS_NEXT && r->mail_sent && r->reusing) {
		/*
		 * The reused connection died before DATA: nothing of this
		 * message went out, so connect again like for a new one.
		 */
		for (i = 0; i < r->nrcpts; i++)
			if (r->rcpts[i].letter == 0)
				r->rcpts[i].accepted = false;
		return SESS_NEXT;
	}
	if (s == SESS_NEXT && r->mail_sent) {
		lost(r, "connection lost during the envelope");
		rconn_close(&r->conn);
		return SESS_DONE;
	}
	if (s != SESS_OK)
		return s;
	if (t.data_code == 354 && t.naccepted > 0)
		s = body(r, &t);
	else if (t.data_code == 354) {
		/* RFC 2920 3.1: no recipient, yet DATA was taken */
		if (cmd(r, ".") == 0)
			(void)reply(r, REMOTE_TO_DATAEND, &why);
	} else if (t.mail_ok && t.naccepted > 0 && t.data_code != 0) {
		all_from_reply(r, letter_of(t.data_code) == 'K' ? 'Z' :
		    letter_of(t.data_code), smtpreply_status(r->conn.reply),
		    true);
	}
	/* the connection stays open for the next message of the run */
	return SESS_DONE;
}

/* Checks that end the delivery before MAIL: 0 go on, -1 all D. */
static int
pre_checks(struct remote *r)
{
	char	t[REMOTE_TEXT_MAX + 1];

	if (r->needutf8 && !r->x_utf8) {
		hosttext(r, t, sizeof(t), "the message needs SMTPUTF8, which "
		    "the server does not offer");
		remote_rest_set(r, 'D', "5.6.7", t);
		return -1;
	}
	if (r->x_size > 0 && r->msgsize > r->x_size) {
		hosttext(r, t, sizeof(t), "message of %lld bytes is larger "
		    "than the server's limit of %lld", (long long)r->msgsize,
		    r->x_size);
		remote_rest_set(r, 'D', "5.3.4", t);
		return -1;
	}
	return 0;
}

/* One address: connect, greet, TLS, AUTH, the transaction. */
static enum sess
session(struct remote *r)
{
	const char	*why;
	char		 t[REMOTE_TEXT_MAX + 1];
	enum sess	 s;
	int		 code;

	r->tls_on = false;
	r->mail_sent = false;
	r->conn_bad = false;
	r->rset_pending = false;
	if (rconn_connect(&r->conn, r->ip, r->host->port,
	    remote_deadline(r->cfg.to_connect)) == -1)
		return fail_next(r, "4.4.1", errno == ETIMEDOUT ? "connect "
		    "timed out" : strerror(errno));
	code = reply(r, r->cfg.to_greeting, &why);
	if (code == -1)
		s = fail_next(r, "4.4.2", why);
	else if (code != 220) {
		smtpreply_summary(r->conn.reply, t, sizeof(t));
		s = fail_next(r, code >= 500 ? "4.4.2" :
		    smtpreply_status(r->conn.reply), t);
	} else if (hello(r) == -1)
		s = SESS_NEXT;
	else if ((s = tls_step(r)) == SESS_OK && r->cfg.auth)
		s = auth(r);
	if (s != SESS_OK) {
		if (r->conn.fd != -1 && code > 0)
			quit(r);
		rconn_close(&r->conn);
		return s;
	}
	if (pre_checks(r) == -1)
		return SESS_DONE;	/* this message only: session kept */
	return transaction(r);
}

/*
 * The next message over the open session: RSET (the last transaction
 * may be open), pipelined with MAIL when PIPELINING, then the
 * transaction.  SESS_DONE, or SESS_NEXT when nothing of this message
 * happened and a new connection is needed.
 */
static enum sess
reuse(struct remote *r)
{
	const char	*why;
	enum sess	 s;
	int		 code;

	if (r->conn.fd == -1 || r->conn_bad)
		return SESS_NEXT;
	r->mail_sent = false;
	if (pre_checks(r) == -1)
		return SESS_DONE;
	r->cork = r->x_pipelining;
	if (cmd(r, "RSET") == -1) {
		r->cork = false;
		buf_reset(&r->out);
		return SESS_NEXT;
	}
	if (r->x_pipelining)
		r->rset_pending = true;
	else {
		code = reply(r, REMOTE_TO_MAIL, &why);
		if (code < 200 || code >= 300)
			return SESS_NEXT;
	}
	r->reusing = true;
	s = transaction(r);
	r->reusing = false;
	return s;
}

static void
finish(struct remote *r)
{
	size_t	i, nk = 0, nz = 0;

	for (i = 0; i < r->nrcpts; i++) {
		if (r->rcpts[i].letter == 'K')
			nk++;
		else if (r->rcpts[i].letter == 'Z')
			nz++;
	}
	if (nk > 0)
		remote_msg_set(r, 'K', "2.0.0", "%s [%s]: delivered to %zu of "
		    "%zu recipients", r->host->name, r->ip, nk, r->nrcpts);
	else if (nz > 0)
		remote_msg_set(r, 'Z', "4.0.0", "%s [%s]: no recipient "
		    "accepted", r->host->name, r->ip);
	else
		remote_msg_set(r, 'D', "5.0.0", "%s [%s]: every recipient "
		    "refused", r->host->name, r->ip);
}

/* Every recipient left and the message: the run's last deferral. */
static void
give_up(struct remote *r)
{
	if (last.status[0] == '\0')
		strlcpy(last.status, "4.4.1", sizeof(last.status));
	last.status[0] = '4';
	remote_rest_set(r, 'Z', last.status, last.text);
	remote_msg_set(r, 'Z', last.status, "%s", last.text);
}

/* The loaded message: over the open session, else host by host. */
static void
deliver_one(struct remote *r)
{
	size_t	h, a;

	if (r->conn.fd != -1) {
		if (reuse(r) == SESS_DONE) {
			finish(r);
			return;
		}
		rconn_close(&r->conn);
	}
	if (r->gaveup) {
		give_up(r);
		return;
	}
	last.status[0] = '\0';
	strlcpy(last.text, "no host could be tried", sizeof(last.text));
	for (h = 0; h < r->nhosts; h++) {
		r->host = &r->hosts[h];
		for (a = 0; a < r->hosts[h].naddrs; a++) {
			strlcpy(r->ip, r->hosts[h].addrs[a], sizeof(r->ip));
			if (session(r) == SESS_DONE) {
				finish(r);
				return;
			}
			rconn_close(&r->conn);
		}
	}
	/* the same hosts would fail the same way for the next messages */
	r->gaveup = true;
	give_up(r);
}

void
remote_deliver(struct remote *r)
{
	size_t	k;

	for (k = 0; k < r->njobs; k++) {
		if (!r->jobs[k].done) {
			remote_job_load(r, k);
			deliver_one(r);
			remote_job_save(r, k);
		}
		if (r->job_done != NULL)
			r->job_done(r, k);
	}
	if (r->conn.fd != -1)
		quit(r);
}
