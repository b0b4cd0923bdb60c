/* data: DATA and BDAT, the message as it goes to the queue. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "rec.h"
#include "smtpd.h"
#include "replies.h"

#define SMTP_MSG_CHUNK	32768	/* bytes gathered before a q_write */
#define SMTP_RCVD_MAX	2048	/* the Received line */
#define SMTP_QTEXT_MAX	200	/* fd 6 text in a reply */

/* A HELO name as it may appear in Received: odd bytes become '?'. */
static void
smtp_helo_clean(const char *in, char *out, size_t outsz)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outsz; i++)
		out[i] = (isalnum((unsigned char)in[i]) ||
		    strchr(".-_:[]", in[i]) != NULL) ? in[i] : '?';
	out[i] = '\0';
}

/* RFC 3848 and RFC 6531 3.7.3 protocol names. */
static void
smtp_protocol(const struct smtpd *s, char *out, size_t outsz)
{
	(void)snprintf(out, outsz, "%s%s%s", s->smtputf8 ? "UTF8SMTP" :
	    s->esmtp ? "ESMTP" : "SMTP", s->tls ? "S" : "",
	    s->authed ? "A" : "");
}

int
smtp_received(const struct smtpd *s, const char *qid, long long now,
    char *out, size_t outsz)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char helo[SMTP_HELO_MAX + 1], proto[16], tls[256] = "", rcpt[300] = "";
	time_t t = (time_t)now;
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	smtp_helo_clean(s->helo, helo, sizeof(helo));
	smtp_protocol(s, proto, sizeof(proto));
	if (s->tls)
		(void)snprintf(tls, sizeof(tls), " (using %s with cipher %s)",
		    s->tls_proto, s->tls_cipher);
	if (s->nrcpt == 1)
		(void)snprintf(rcpt, sizeof(rcpt), "\n\tfor <%s>", s->rcpt1);
	n = snprintf(out, outsz, "Received: from %s ([%s])\n\tby %s (tern) "
	    "with %s%s\n\tid %s%s; %s, %d %s %d %02d:%02d:%02d +0000\n",
	    helo, s->remote_ip, s->cfg->me, proto, tls, qid, rcpt,
	    day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return n;
}

/* Hand gathered bytes to the queue. */
static void
smtp_msg_push(struct smtpd *s)
{
	struct smtp_msg *m = &s->msg;

	if (m->out.len > 0 && !m->qfail &&
	    s->ops->q_write(s->ctx, m->out.data, m->out.len) == -1)
		m->qfail = true;
	buf_reset(&m->out);
}

/* Store bytes unless the message is refused already. */
static void
smtp_msg_store(struct smtpd *s, const char *p, size_t len)
{
	struct smtp_msg *m = &s->msg;

	if (m->toobig || m->hoploop || m->nul || m->longline || m->bare)
		return;
	m->size += len;
	if (s->cfg->databytes != 0 && m->size > s->cfg->databytes) {
		m->toobig = true;
		return;
	}
	if (m->out.len + len > SMTP_MSG_CHUNK)
		smtp_msg_push(s);
	if (len >= SMTP_MSG_CHUNK) {
		if (!m->qfail && s->ops->q_write(s->ctx, p, len) == -1)
			m->qfail = true;
	} else if (buf_append(&m->out, p, len) == -1)
		m->qfail = true;
}

static bool
smtp_hdr_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && strncasecmp(line, name, n) == 0;
}

void
smtp_msg_line(struct smtpd *s, const char *line, size_t len)
{
	struct smtp_msg *m = &s->msg;

	if (m->in_header) {
		if (len == 0)
			m->in_header = false;
		else if ((smtp_hdr_is(line, len, "Received:") ||
		    smtp_hdr_is(line, len, "Delivered-To:")) &&
		    ++m->hops >= s->cfg->maxhops)
			m->hoploop = true;
	}
	if (memchr(line, '\0', len) != NULL)
		m->nul = true;
	smtp_msg_store(s, line, len);
	smtp_msg_store(s, "\n", 1);
}

/* Start a message: a queue id, the queue, the Received line. */
static int
smtp_msg_begin(struct smtpd *s)
{
	struct smtp_msg *m = &s->msg;
	char rcvd[SMTP_RCVD_MAX];
	int n;

	qid_new(m->qid);
	m->size = 0;
	m->hops = 0;
	m->in_header = true;
	m->toobig = m->hoploop = m->nul = m->longline = false;
	m->qfail = m->bare = m->lastcr = false;
	buf_reset(&m->out);
	buf_reset(&m->hdr);
	n = smtp_received(s, m->qid, (long long)time(NULL), rcvd,
	    sizeof(rcvd));
	if (n == -1 || s->ops->q_open(s->ctx) == -1) {
		smtp_reply(s, R_QFAIL);
		return -1;
	}
	m->opened = true;
	smtp_msg_store(s, rcvd, (size_t)n);
	return 0;
}

static void
smtp_msg_abort(struct smtpd *s)
{
	if (s->msg.opened)
		s->ops->q_abort(s->ctx);
	s->msg.opened = false;
	smtp_txn_reset(s);
}

/* The envelope: F, I, E, R, the recipients, the end (tern-queue(8)). */
static int
smtp_envelope(struct smtpd *s, struct buf *env)
{
	if (rec_put_tag(env, 'F', s->sender) == -1 ||
	    rec_put_tag(env, 'I', s->msg.qid) == -1 ||
	    (s->envid[0] != '\0' && rec_put_tag(env, 'E', s->envid) == -1) ||
	    (s->ret[0] != '\0' && rec_put_tag(env, 'R', s->ret) == -1) ||
	    buf_append(env, s->rcpts.data, s->rcpts.len) == -1 ||
	    buf_appendc(env, '\0') == -1)
		return -1;
	return 0;
}

/* The fd 6 text, made safe for a reply line. */
static void
smtp_qtext_clean(char *t)
{
	size_t i;

	for (i = 0; t[i] != '\0'; i++) {
		if (i >= SMTP_QTEXT_MAX) {
			t[i] = '\0';
			break;
		}
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] > 0x7e)
			t[i] = ' ';
	}
}

/* Reply for a queue exit code (qmail-queue's, tern-queue(8)). */
static void
smtp_queue_reply(struct smtpd *s, int code, char *text)
{
	smtp_qtext_clean(text);
	if (code == 82 && text[0] == 'D' && text[1] != '\0')
		smtp_reply(s, R_QPERM_TEXT, text + 1);
	else if (code == 82 && text[0] == 'Z' && text[1] != '\0')
		smtp_reply(s, R_QFAIL_TEXT, text + 1);
	else if ((code >= 11 && code <= 40) || code == 91)
		smtp_reply(s, R_QPERM);
	else
		smtp_reply(s, R_QFAIL);
	log_warnx("%s not queued: tern-queue exit %d%s%s", s->msg.qid, code,
	    text[0] ? ": " : "", text);
}

static void
smtp_log_accepted(struct smtpd *s)
{
	char from[ADDR_BUF * 4];

	log_esc(from, sizeof(from), s->sender, strlen(s->sender));
	log_info("%s accepted from=<%s> size=%llu rcpts=%zu ip=%s",
	    s->msg.qid, from, s->msg.size, s->nrcpt, s->remote_ip);
}

/* The end of the message: refuse it or commit it, then reply. */
static void
smtp_msg_finish(struct smtpd *s)
{
	struct smtp_msg *m = &s->msg;
	char text[512] = "";
	struct buf env;
	int code = -1;

	if (m->nul || m->bare || m->longline || m->toobig || m->hoploop) {
		smtp_reply(s, m->nul ? R_MSG_NUL : m->bare ? R_MSG_BARE_CHUNK :
		    m->longline ? R_MSG_LONG : m->toobig ? R_TOO_BIG : R_HOPS);
		smtp_msg_abort(s);
		return;
	}
	smtp_msg_push(s);
	buf_init(&env, s->rcpts.len + ADDR_BUF + SMTP_ENVID_MAX + 64);
	if (!m->qfail && smtp_envelope(s, &env) == 0)
		code = s->ops->q_commit(s->ctx, env.data, env.len, text,
		    sizeof(text));
	else
		s->ops->q_abort(s->ctx);
	buf_free(&env);
	m->opened = false;
	if (code == 0) {
		smtp_reply(s, R_QUEUED, m->qid);
		smtp_log_accepted(s);
		s->nmsgs++;
		s->junkcmds = 0;
	} else
		smtp_queue_reply(s, code, text);
	smtp_txn_reset(s);
}

/*
 * Read DATA lines up to CRLF.CRLF.  A bare LF or CR ends the session:
 * the client may think "\n.\n" ended the message and send commands we
 * would take as text (SMTP smuggling); so nothing is stored and
 * nothing after it is read.  Over-long lines are refused the same way,
 * as the reader does not see how they ended.
 */
static void
smtp_data_lines(struct smtpd *s)
{
	char *line;
	size_t len;
	int flags, r;

	for (;;) {
		if (!(memchr(s->lr.buf + s->lr.start, '\n', s->lr.end -
		    s->lr.start) != NULL) && smtp_flush(s) == -1)
			break;
		r = line_read(&s->lr, line_deadline((int64_t)s->cfg->t_data *
		    1000), &line, &len, &flags);
		if (r == 1 && (flags & LINE_EOF) == 0 &&
		    (flags & (LINE_BARE_LF | LINE_BARE_CR)) == 0) {
			if (len == 1 && line[0] == '.') {
				smtp_msg_finish(s);
				return;
			}
			if (line[0] == '.')
				smtp_msg_line(s, line + 1, len - 1);
			else
				smtp_msg_line(s, line, len);
			continue;
		}
		if (r == 1 && (flags & LINE_EOF) == 0)
			smtp_reply(s, R_MSG_BARE);
		else if (r == -1 && errno == EMSGSIZE)
			smtp_reply(s, R_MSG_LONG);
		else if (r == -1 && errno == ETIMEDOUT)
			smtp_reply(s, R_SHUTDOWN, s->cfg->me);
		break;
	}
	smtp_msg_abort(s);
	s->closing = true;
}

void
smtp_cmd_data(struct smtpd *s, char *arg)
{
	if (*arg != '\0') {
		smtp_reply(s, R_NO_ARGS);
		smtp_bad(s);
		return;
	}
	if (smtp_msg_begin(s) == -1) {
		smtp_txn_reset(s);
		return;
	}
	smtp_reply(s, R_DATA_GO);
	smtp_data_lines(s);
}

/* One byte of a BDAT chunk: CRLF becomes LF, lines go to the message. */
static void
smtp_bdat_byte(struct smtpd *s, char c)
{
	struct smtp_msg *m = &s->msg;

	if (m->lastcr && c != '\n')
		m->bare = true;
	if (c == '\r') {
		m->lastcr = true;
		return;
	}
	if (c == '\n') {
		if (!m->lastcr)
			m->bare = true;
		m->lastcr = false;
		smtp_msg_line(s, m->hdr.data ? m->hdr.data : "", m->hdr.len);
		buf_reset(&m->hdr);
		return;
	}
	m->lastcr = false;
	if (buf_appendc(&m->hdr, c) == -1)
		m->longline = true;
}

/*
 * Read n chunk bytes (buffered ones first) into the message, or throw
 * them away when keep is false: 0, or -1 (the session ends).
 */
static int
smtp_bdat_read(struct smtpd *s, unsigned long long n, bool keep)
{
	char b[16384];
	size_t i, take;
	ssize_t got;

	while (n > 0) {
		take = s->lr.end - s->lr.start;
		if (take > 0) {
			if (take > n)
				take = (size_t)n;
			for (i = 0; keep && i < take; i++)
				smtp_bdat_byte(s, s->lr.buf[s->lr.start + i]);
			s->lr.start += take;
			n -= take;
			continue;
		}
		if (smtp_flush(s) == -1 || io_wait(s->lr.fd, POLLIN,
		    line_deadline((int64_t)s->cfg->t_data * 1000)) == -1)
			return -1;
		got = read(s->lr.fd, b, n < sizeof(b) ? (size_t)n : sizeof(b));
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		for (i = 0; keep && i < (size_t)got; i++)
			smtp_bdat_byte(s, b[i]);
		n -= (unsigned long long)got;
	}
	return 0;
}

/* "BDAT size [LAST]": 0 with the values, or -1. */
static int
smtp_bdat_parse(const char *arg, unsigned long long *size, bool *last)
{
	unsigned long long n = 0;
	const char *p = arg;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++)
		if (__builtin_mul_overflow(n, 10ULL, &n) ||
		    __builtin_add_overflow(n, (unsigned)(*p - '0'), &n))
			return -1;
	while (*p == ' ')
		p++;
	*last = strcasecmp(p, "LAST") == 0;
	if (!*last && *p != '\0')
		return -1;
	*size = n;
	return 0;
}

/*
 * RFC 3030.  A BDAT whose size cannot be read leaves us unable to find
 * the next command: 501 and the session ends.
 */
void
smtp_cmd_bdat(struct smtpd *s, char *arg)
{
	unsigned long long size;
	bool last;

	if (smtp_bdat_parse(arg, &size, &last) == -1 || size > SMTP_BDAT_MAX) {
		smtp_reply(s, R_SYNTAX);
		smtp_msg_abort(s);
		s->closing = true;
		return;
	}
	if (s->state != ST_RCPT && s->state != ST_BDAT) {
		/* never run a refused chunk's bytes as commands */
		if (smtp_bdat_read(s, size, false) == -1)
			s->closing = true;
		smtp_reply(s, s->state == ST_START ? R_NEED_HELO :
		    s->state == ST_MAIL ? R_NEED_RCPT : R_BAD_SEQ);
		smtp_bad(s);
		return;
	}
	if (s->state == ST_RCPT && smtp_msg_begin(s) == -1) {
		smtp_txn_reset(s);
		s->closing = true;	/* else the chunk is read as commands */
		return;
	}
	s->state = ST_BDAT;
	if (smtp_bdat_read(s, size, true) == -1) {
		smtp_msg_abort(s);
		s->closing = true;
		return;
	}
	if (!last) {
		smtp_reply(s, R_BDAT_OK, size);
		return;
	}
	if (s->msg.lastcr)
		s->msg.bare = true;
	if (s->msg.hdr.len > 0)
		smtp_msg_line(s, s->msg.hdr.data, s->msg.hdr.len);
	buf_reset(&s->msg.hdr);
	smtp_msg_finish(s);
}
