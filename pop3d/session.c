/*
 * session: the TRANSACTION and UPDATE states of POP3 (RFC 1939 5-6,
 * RFC 2449 CAPA), run by tern-pop3d as the mailbox owner.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pop3.h"
#include "replies.h"

#define POP3_READ_CHUNK	65536

struct pop3d_cmd {
	const char	*name;
	void		(*fn)(struct pop3d *, char *arg);
};

static void cmd_stat(struct pop3d *, char *);
static void cmd_list(struct pop3d *, char *);
static void cmd_retr(struct pop3d *, char *);
static void cmd_dele(struct pop3d *, char *);
static void cmd_noop(struct pop3d *, char *);
static void cmd_rset(struct pop3d *, char *);
static void cmd_quit(struct pop3d *, char *);
static void cmd_top(struct pop3d *, char *);
static void cmd_uidl(struct pop3d *, char *);
static void cmd_capa(struct pop3d *, char *);
static void cmd_authed(struct pop3d *, char *);

static const struct pop3d_cmd pop3d_cmds[] = {
	{ "STAT", cmd_stat }, { "LIST", cmd_list }, { "RETR", cmd_retr },
	{ "DELE", cmd_dele }, { "NOOP", cmd_noop }, { "RSET", cmd_rset },
	{ "QUIT", cmd_quit }, { "TOP", cmd_top }, { "UIDL", cmd_uidl },
	{ "CAPA", cmd_capa }, { "USER", cmd_authed }, { "PASS", cmd_authed },
	{ "AUTH", cmd_authed }, { "APOP", cmd_authed },
	{ "STLS", cmd_authed },
};

int
pop3d_flush(struct pop3d *s)
{
	int r = 0;

	if (s->out.len > 0 && !s->closing)
		r = s->ops->output(s->ctx, s->out.data, s->out.len);
	s->bytes_out += s->out.len;
	buf_reset(&s->out);
	if (r == -1)
		s->closing = true;
	return r;
}

static void pop3d_reply(struct pop3d *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
pop3d_reply(struct pop3d *s, const char *fmt, ...)
{
	va_list ap;
	size_t mark;
	int r;

	if (s->out.len >= POP3_OUT_FLUSH)
		(void)pop3d_flush(s);
	mark = s->out.len;
	va_start(ap, fmt);
	r = buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (r == -1 || buf_append(&s->out, "\r\n", 2) == -1) {
		buf_truncate(&s->out, mark);
		s->closing = true;
	}
}

static void
pop3d_bad(struct pop3d *s, const char *reply)
{
	pop3d_reply(s, "%s", reply);
	if (++s->badcmds >= POP3_BADCMDS_MAX) {
		pop3d_reply(s, "%s", P_ERR_TOO_MANY);
		s->closing = true;
	}
}

int
pop3d_init(struct pop3d *s, const struct pop3d_ops *ops, void *ctx,
    int infd, size_t nmsgs, const char *pending, size_t pendlen)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	s->nmsgs = nmsgs;
	s->idle_s = POP3_IDLE_S;
	if (nmsgs > 0 && (s->msgs = calloc(nmsgs, sizeof(*s->msgs))) == NULL)
		return -1;
	if (line_init(&s->lr, infd, POP3_PENDING_MAX) == -1) {
		free(s->msgs);
		return -1;
	}
	if (pendlen >= s->lr.cap) {
		pop3d_free(s);
		errno = E2BIG;
		return -1;
	}
	/* the pipelined commands that came with the login come first */
	if (pendlen > 0)
		memcpy(s->lr.buf, pending, pendlen);
	s->lr.end = pendlen;
	buf_init(&s->out, POP3_OUT_MAX);
	return 0;
}

void
pop3d_free(struct pop3d *s)
{
	line_free(&s->lr);
	buf_free(&s->out);
	free(s->msgs);
	s->msgs = NULL;
}

/* The live message numbered by arg (1-based): its index, or -1 (replied). */
static long
pop3d_msgno(struct pop3d *s, const char *arg, size_t len)
{
	unsigned long n;

	if (pop3_num(arg, len, 1, &n) == -1) {
		pop3d_bad(s, len == 0 ? P_ERR_SYNTAX : P_ERR_NOMSG);
		return -1;
	}
	if (n > s->nmsgs) {
		pop3d_bad(s, P_ERR_NOMSG);
		return -1;
	}
	if (s->msgs[n - 1].deleted) {
		pop3d_reply(s, P_ERR_DELETED, n);
		return -1;
	}
	return (long)(n - 1);
}

/* Message i's size, asked once; -1 (the session ends) on failure. */
static int
pop3d_size(struct pop3d *s, size_t i, uint64_t *out)
{
	struct pop3_msg *m = &s->msgs[i];

	if (!m->sized) {
		if (s->ops->size(s->ctx, i, &m->size) == -1)
			return -1;
		m->sized = true;
	}
	*out = m->size;
	return 0;
}

/* The count and size of the live messages; -1 when one is unreadable. */
static int
pop3d_totals(struct pop3d *s, size_t *count, unsigned long long *octets)
{
	uint64_t sz;
	size_t i;

	*count = 0;
	*octets = 0;
	for (i = 0; i < s->nmsgs; i++) {
		if (s->msgs[i].deleted)
			continue;
		if (pop3d_size(s, i, &sz) == -1)
			return -1;
		(*count)++;
		*octets += sz;
	}
	return 0;
}

static void
pop3d_sys(struct pop3d *s)
{
	pop3d_reply(s, "%s", P_ERR_MAILBOX);
	s->closing = true;
}

static void
cmd_stat(struct pop3d *s, char *arg)
{
	unsigned long long octets;
	size_t count;

	if (*arg != '\0') {
		pop3d_bad(s, P_ERR_SYNTAX);
		return;
	}
	if (pop3d_totals(s, &count, &octets) == -1) {
		pop3d_sys(s);
		return;
	}
	pop3d_reply(s, P_STAT, count, octets);
}

static void
cmd_list(struct pop3d *s, char *arg)
{
	unsigned long long octets;
	uint64_t sz;
	size_t count, i;
	long n;

	if (*arg != '\0') {
		if ((n = pop3d_msgno(s, arg, strlen(arg))) == -1)
			return;
		if (pop3d_size(s, (size_t)n, &sz) == -1) {
			pop3d_sys(s);
			return;
		}
		pop3d_reply(s, P_LIST_ONE, (unsigned long)n + 1,
		    (unsigned long long)sz);
		return;
	}
	if (pop3d_totals(s, &count, &octets) == -1) {
		pop3d_sys(s);
		return;
	}
	pop3d_reply(s, P_LIST_ALL, count, octets);
	for (i = 0; i < s->nmsgs && !s->closing; i++)
		if (!s->msgs[i].deleted)
			pop3d_reply(s, P_LIST_LINE, (unsigned long)i + 1,
			    (unsigned long long)s->msgs[i].size);
	pop3d_reply(s, "%s", P_END);
}

static void
cmd_uidl(struct pop3d *s, char *arg)
{
	char uid[128];
	size_t i;
	long n;

	if (*arg != '\0') {
		if ((n = pop3d_msgno(s, arg, strlen(arg))) == -1)
			return;
		if (s->ops->uid(s->ctx, (size_t)n, uid, sizeof(uid)) == -1) {
			pop3d_sys(s);
			return;
		}
		pop3d_reply(s, P_UIDL_ONE, (unsigned long)n + 1, uid);
		return;
	}
	pop3d_reply(s, "%s", P_UIDL_ALL);
	for (i = 0; i < s->nmsgs && !s->closing; i++) {
		if (s->msgs[i].deleted)
			continue;
		if (s->ops->uid(s->ctx, i, uid, sizeof(uid)) == -1) {
			pop3d_sys(s);
			return;
		}
		pop3d_reply(s, P_UIDL_LINE, (unsigned long)i + 1, uid);
	}
	pop3d_reply(s, "%s", P_END);
}

/* Copy message fd to the client, converted; 0, or -1 (session over). */
static int
pop3d_send(struct pop3d *s, int fd, long long top)
{
	struct pop3_stuff st;
	char *in;
	ssize_t r;
	int rc = 0;

	if ((in = malloc(POP3_READ_CHUNK)) == NULL)
		return -1;
	pop3_stuff_init(&st, top);
	while (!st.stop) {
		r = read(fd, in, POP3_READ_CHUNK);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r == 0 ? 0 : -1;
			break;
		}
		if (buf_reserve(&s->out, 2 * (size_t)r + 2) == -1) {
			rc = -1;
			break;
		}
		s->out.len += pop3_stuff_add(&st, in, (size_t)r,
		    s->out.data + s->out.len);
		s->out.data[s->out.len] = '\0';
		if (s->out.len >= POP3_OUT_FLUSH && pop3d_flush(s) == -1) {
			rc = -1;
			break;
		}
	}
	free(in);
	if (rc == 0 && buf_reserve(&s->out, 2) == 0) {
		s->out.len += pop3_stuff_end(&st, s->out.data + s->out.len);
		s->out.data[s->out.len] = '\0';
		pop3d_reply(s, "%s", P_END);
	}
	return rc;
}

static void
pop3d_retr(struct pop3d *s, long n, long long top)
{
	uint64_t sz;
	int fd;

	if (pop3d_size(s, (size_t)n, &sz) == -1 ||
	    (fd = s->ops->open(s->ctx, (size_t)n)) == -1) {
		pop3d_reply(s, P_ERR_READ, (unsigned long)n + 1);
		return;
	}
	if (top < 0)
		pop3d_reply(s, P_RETR, (unsigned long long)sz);
	else
		pop3d_reply(s, "%s", P_TOP);
	if (pop3d_send(s, fd, top) == -1)
		s->closing = true;	/* half a message: only hanging up tells */
	(void)close(fd);
	if (top < 0)
		s->nretr++;
}

static void
cmd_retr(struct pop3d *s, char *arg)
{
	long n;

	if ((n = pop3d_msgno(s, arg, strlen(arg))) != -1)
		pop3d_retr(s, n, -1);
}

static void
cmd_top(struct pop3d *s, char *arg)
{
	unsigned long lines;
	size_t a = strcspn(arg, " ");
	const char *l;
	long n;

	if (arg[a] != ' ') {
		pop3d_bad(s, P_ERR_SYNTAX);
		return;
	}
	l = arg + a + 1;
	if (pop3_num(l, strlen(l), 0, &lines) == -1) {
		pop3d_bad(s, P_ERR_SYNTAX);
		return;
	}
	if ((n = pop3d_msgno(s, arg, a)) != -1)
		pop3d_retr(s, n, (long long)lines);
}

static void
cmd_dele(struct pop3d *s, char *arg)
{
	long n;

	if ((n = pop3d_msgno(s, arg, strlen(arg))) == -1)
		return;
	s->msgs[n].deleted = true;
	pop3d_reply(s, P_DELE, (unsigned long)n + 1);
}

static void
cmd_noop(struct pop3d *s, char *arg)
{
	if (*arg != '\0')
		pop3d_bad(s, P_ERR_SYNTAX);
	else
		pop3d_reply(s, "%s", P_OK);
}

static void
cmd_rset(struct pop3d *s, char *arg)
{
	unsigned long long octets;
	size_t count, i;

	if (*arg != '\0') {
		pop3d_bad(s, P_ERR_SYNTAX);
		return;
	}
	for (i = 0; i < s->nmsgs; i++)
		s->msgs[i].deleted = false;
	if (pop3d_totals(s, &count, &octets) == -1) {
		pop3d_sys(s);
		return;
	}
	pop3d_reply(s, P_RSET, count, octets);
}

/* RFC 1939 6: the UPDATE state, only after QUIT. */
static void
cmd_quit(struct pop3d *s, char *arg)
{
	size_t i;

	(void)arg;
	for (i = 0; i < s->nmsgs; i++) {
		if (!s->msgs[i].deleted)
			continue;
		if (s->ops->remove(s->ctx, i) == -1)
			s->update_failed = true;
		else
			s->ndele++;
	}
	if (s->ops->release != NULL)
		s->ops->release(s->ctx);
	if (s->update_failed)
		pop3d_reply(s, "%s", P_ERR_UPDATE);
	else
		pop3d_reply(s, P_QUIT_OK, s->ndele);
	s->quit = true;
}

static void
cmd_capa(struct pop3d *s, char *arg)
{
	if (*arg != '\0') {
		pop3d_bad(s, P_ERR_SYNTAX);
		return;
	}
	pop3d_reply(s, "%s", P_CAPA);
	pop3d_reply(s, "%s", P_CAPA_COMMON);
	pop3d_reply(s, "%s", P_CAPA_IMPL);
	pop3d_reply(s, "%s", P_END);
}

static void
cmd_authed(struct pop3d *s, char *arg)
{
	(void)arg;
	pop3d_bad(s, P_ERR_IN_AUTH);
}

void
pop3d_line(struct pop3d *s, char *line, size_t len)
{
	const struct pop3d_cmd *c;
	size_t i, n;
	char *arg;

	if (len > POP3_CMD_LINE_MAX) {
		pop3d_bad(s, P_ERR_LONG);
		return;
	}
	if (s->ops->tick != NULL)
		s->ops->tick(s->ctx);
	n = strcspn(line, " ");
	arg = line + n;
	if (*arg == ' ')
		arg++;
	for (i = 0; i < sizeof(pop3d_cmds) / sizeof(pop3d_cmds[0]); i++) {
		c = &pop3d_cmds[i];
		if (strlen(c->name) == n && strncasecmp(c->name, line, n) == 0) {
			c->fn(s, arg);
			return;
		}
	}
	pop3d_bad(s, P_ERR_UNKNOWN);
}

static bool
pop3d_line_buffered(const struct pop3d *s)
{
	return memchr(s->lr.buf + s->lr.start, '\n',
	    s->lr.end - s->lr.start) != NULL;
}

void
pop3d_run(struct pop3d *s)
{
	char *line;
	size_t len;
	int flags, r;

	pop3d_reply(s, P_LOGGED_IN, s->nmsgs);
	while (!s->quit && !s->closing) {
		if (!pop3d_line_buffered(s) && pop3d_flush(s) == -1)
			break;
		r = line_read(&s->lr, line_deadline(s->idle_s * 1000LL),
		    &line, &len, &flags);
		if (r == -1 && errno == EMSGSIZE) {
			pop3d_bad(s, P_ERR_LONG);
			continue;
		}
		if (r == -1 && errno == ETIMEDOUT)
			pop3d_reply(s, "%s", P_ERR_TIMEOUT);
		if (r != 1 || (flags & LINE_EOF))
			break;
		if (flags & (LINE_NUL | LINE_BARE_CR)) {
			pop3d_bad(s, P_ERR_NUL);
			continue;
		}
		pop3d_line(s, line, len);
	}
	(void)pop3d_flush(s);
}
