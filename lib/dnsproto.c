/* dnsproto: the pipe protocol of tern-resolve (see tern-resolve(8)). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsproto.h"

static const char *const type_names[] = {
	[DNSP_MX] = "mx", [DNSP_A] = "a", [DNSP_AAAA] = "aaaa",
	[DNSP_ADDR] = "addr", [DNSP_TLSA] = "tlsa"
};
static const char *const sec_names[] = {
	[DNSP_INSECURE] = "insecure", [DNSP_SECURE] = "secure",
	[DNSP_BOGUS] = "bogus"
};

static bool
printable(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/*
 * The next NUL-terminated field of data[*pos..len) that is printable
 * and at most max bytes: 1 found, 0 no NUL yet, -1 bad.
 */
static int
field(const char *data, size_t len, size_t *pos, size_t max,
    const char **f, size_t *flen)
{
	const char	*nul;
	size_t		 n;

	if (*pos >= len)
		return 0;
	nul = memchr(data + *pos, '\0', len - *pos);
	n = nul == NULL ? len - *pos : (size_t)(nul - (data + *pos));
	if (n > max || !printable(data + *pos, n))
		return -1;
	if (nul == NULL)
		return 0;
	*f = data + *pos;
	*flen = n;
	*pos += n + 1;
	return 1;
}

static int
id_parse(const char *s, size_t len, unsigned long *out)
{
	unsigned long	v = 0;
	size_t		i;

	if (len == 0 || len > 9 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

const char *
dnsp_type_name(enum dnsp_type t)
{
	if ((size_t)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "?";
	return type_names[t];
}

int
dnsp_type_parse(const char *s, enum dnsp_type *out)
{
	size_t	i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(s, type_names[i]) == 0) {
			*out = (enum dnsp_type)i;
			return 0;
		}
	return -1;
}

/* The three fields and the final empty record; 1, 0 or -1 as the API. */
static int
req_fields(const char *data, size_t len, size_t *pos, const char *f[3],
    size_t fl[3], const char **errstr)
{
	static const size_t	 max[3] = { 9, 4, DNSP_NAME_MAX + 1 };
	static const char	*why[3] = { "bad request id",
	    "bad query type", "bad name" };
	int			 i, r;

	for (i = 0; i < 3; i++) {
		if ((r = field(data, len, pos, max[i], &f[i], &fl[i])) != 1) {
			if (r == -1)
				*errstr = why[i];
			return r;
		}
	}
	if (*pos >= len)
		return 0;
	if (data[*pos] != '\0') {
		*errstr = "request does not end in an empty record";
		return -1;
	}
	(*pos)++;
	return 1;
}

int
dnsp_req_parse(const char *data, size_t len, size_t *used,
    struct dnsp_req *out, const char **errstr)
{
	const char	*f[3];
	size_t		 fl[3], pos = 0;
	char		 type[8];
	int		 r;

	*errstr = "request too long";
	if ((r = req_fields(data, len, &pos, f, fl, errstr)) != 1) {
		if (r == 0 && len >= DNSP_REQ_MAX) {
			*errstr = "request too long";
			return -1;
		}
		return r;
	}
	if (id_parse(f[0], fl[0], &out->id) == -1) {
		*errstr = "bad request id";
		return -1;
	}
	memcpy(type, f[1], fl[1]);
	type[fl[1]] = '\0';
	if (dnsp_type_parse(type, &out->type) == -1) {
		*errstr = "unknown query type";
		return -1;
	}
	if (fl[2] == 0) {
		*errstr = "empty name";
		return -1;
	}
	memcpy(out->name, f[2], fl[2]);
	out->name[fl[2]] = '\0';
	*used = pos;
	return 1;
}

int
dnsp_req_format(struct buf *out, const struct dnsp_req *rq)
{
	size_t	n = strlen(rq->name);

	if (rq->id > DNSP_ID_MAX || n == 0 || n > DNSP_NAME_MAX + 1 ||
	    !printable(rq->name, n) || (size_t)rq->type >=
	    sizeof(type_names) / sizeof(type_names[0])) {
		errno = EINVAL;
		return -1;
	}
	if (buf_printf(out, "%lu", rq->id) == -1 ||
	    buf_appendc(out, '\0') == -1 ||
	    buf_append(out, type_names[rq->type],
	    strlen(type_names[rq->type]) + 1) == -1 ||
	    buf_append(out, rq->name, n + 1) == -1 ||
	    buf_appendc(out, '\0') == -1)
		return -1;
	return 0;
}

void
dnsp_reply_init(struct dnsp_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->recs, DNSP_REPLY_MAX - 1024);
	dnsp_reply_set(r, 'K', "2.0.0", "ok");
}

void
dnsp_reply_free(struct dnsp_reply *r)
{
	buf_free(&r->recs);
	r->nrecs = 0;
}

void
dnsp_reply_clear(struct dnsp_reply *r)
{
	buf_reset(&r->recs);
	r->nrecs = 0;
	r->implicit = false;
	r->canon[0] = '\0';
}

void
dnsp_reply_set(struct dnsp_reply *r, char letter, const char *status,
    const char *text)
{
	size_t	i;

	r->letter = letter;
	strlcpy(r->status, status, sizeof(r->status));
	strlcpy(r->text, text, sizeof(r->text));
	/* Resolver texts (why_bogus) are remote data: keep them printable. */
	for (i = 0; r->text[i] != '\0'; i++)
		if ((unsigned char)r->text[i] < 0x20 ||
		    (unsigned char)r->text[i] > 0x7e)
			r->text[i] = '?';
	if (r->text[0] == '\0')
		strlcpy(r->text, "-", sizeof(r->text));
}

int
dnsp_reply_add(struct dnsp_reply *r, char tag, const char *value)
{
	size_t	n = strlen(value);

	if (!printable(value, n) || tag < 'A' || tag > 'Z') {
		errno = EINVAL;
		return -1;
	}
	if (r->nrecs >= DNSP_RECS_MAX || n + 2 > r->recs.max - r->recs.len) {
		errno = E2BIG;
		return -1;
	}
	if (buf_appendc(&r->recs, tag) == -1 ||
	    buf_append(&r->recs, value, n + 1) == -1)
		return -1;
	r->nrecs++;
	return 0;
}

int
dnsp_reply_format(struct buf *out, unsigned long id,
    const struct dnsp_reply *r)
{
	size_t	mark = out->len;

	if (buf_printf(out, "%lu", id) == -1 || buf_appendc(out, '\0') == -1 ||
	    buf_appendc(out, r->letter) == -1 ||
	    buf_appendc(out, '\0') == -1 ||
	    buf_append(out, r->status, strlen(r->status) + 1) == -1 ||
	    buf_append(out, r->text, strlen(r->text) + 1) == -1 ||
	    buf_printf(out, "S%s", sec_names[r->sec]) == -1 ||
	    buf_appendc(out, '\0') == -1 ||
	    (r->implicit && buf_append(out, "I", 2) == -1) ||
	    (r->canon[0] != '\0' && (buf_printf(out, "C%s", r->canon) == -1 ||
	    buf_appendc(out, '\0') == -1)) ||
	    (r->recs.len > 0 &&
	    buf_append(out, r->recs.data, r->recs.len) == -1) ||
	    buf_appendc(out, '\0') == -1) {
		buf_truncate(out, mark);
		return -1;
	}
	return 0;
}

static bool
status_ok(const char *s, size_t len, char letter)
{
	size_t	i, dots = 0, run = 0;

	if (len < 5 || len > 9 || s[0] != (letter == 'K' ? '2' :
	    letter == 'Z' ? '4' : '5') || s[1] != '.')
		return false;
	for (i = 2; i < len; i++) {
		if (s[i] == '.') {
			if (run == 0 || ++dots > 1)
				return false;
			run = 0;
		} else if (s[i] >= '0' && s[i] <= '9' && run < 3)
			run++;
		else
			return false;
	}
	return dots == 1 && run > 0;
}

/* One data record of an answer into *out; 0 or -1 with *errstr. */
static int
answer_rec(const char *f, size_t fl, struct dnsp_answer *out, bool *have_s,
    const char **errstr)
{
	size_t	i;

	/* S, I and C come first: the data records are one run. */
	if (out->recs != NULL && strchr("SIC", f[0]) != NULL) {
		*errstr = "S, I or C record after data records";
		return -1;
	}
	switch (f[0]) {
	case 'S':
		for (i = 0; i < 3; i++)
			if (strcmp(f + 1, sec_names[i]) == 0)
				break;
		if (*have_s || i == 3) {
			*errstr = "bad or repeated S record";
			return -1;
		}
		*have_s = true;
		out->sec = (enum dnsp_sec)i;
		return 0;
	case 'I':
		if (fl != 1 || out->implicit) {
			*errstr = "bad I record";
			return -1;
		}
		out->implicit = true;
		return 0;
	case 'C':
		if (fl < 2 || out->canon != NULL) {
			*errstr = "bad C record";
			return -1;
		}
		out->canon = f + 1;
		return 0;
	case 'M': case 'A': case 'T':
		if (fl < 2 || ++out->nrecs > DNSP_RECS_MAX) {
			*errstr = "bad or too many data records";
			return -1;
		}
		if (out->recs == NULL)
			out->recs = f;
		out->recs_len = (size_t)(f + fl + 1 - out->recs);
		return 0;
	}
	*errstr = "unknown record";
	return -1;
}

int
dnsp_answer_parse(const char *data, size_t len, size_t *used,
    struct dnsp_answer *out, const char **errstr)
{
	const char	*f[4];
	size_t		 fl[4], pos = 0, lim;
	bool		 have_s = false;
	int		 i, r;

	memset(out, 0, sizeof(*out));
	lim = len < DNSP_REPLY_MAX ? len : DNSP_REPLY_MAX;
	*errstr = "reply too long";
	for (i = 0; i < 4; i++)
		if ((r = field(data, lim, &pos, DNSP_TEXT_MAX, &f[i],
		    &fl[i])) != 1)
			goto short_or_bad;
	if (id_parse(f[0], fl[0], &out->id) == -1 || fl[1] != 1 ||
	    strchr("KZD", f[1][0]) == NULL ||
	    !status_ok(f[2], fl[2], f[1][0])) {
		*errstr = "bad id, letter or status";
		return -1;
	}
	out->letter = f[1][0];
	out->status = f[2];
	out->text = f[3];
	for (;;) {
		if ((r = field(data, lim, &pos, DNSP_REPLY_MAX, &f[0],
		    &fl[0])) != 1)
			goto short_or_bad;
		if (fl[0] == 0)
			break;
		if (answer_rec(f[0], fl[0], out, &have_s, errstr) == -1)
			return -1;
	}
	if (!have_s) {
		*errstr = "no S record";
		return -1;
	}
	*used = pos;
	return 1;
short_or_bad:
	if (r == -1) {
		*errstr = "bad field in reply";
		return -1;
	}
	if (len >= DNSP_REPLY_MAX)
		return -1;
	return 0;
}

int
dnsp_answer_next(const struct dnsp_answer *a, size_t *pos, char *tag,
    const char **value)
{
	size_t	n;

	if (a->recs == NULL || *pos >= a->recs_len)
		return 0;
	n = strlen(a->recs + *pos);
	*tag = a->recs[*pos];
	*value = a->recs + *pos + 1;
	*pos += n + 1;
	return 1;
}
