/* hdr: an RFC 5322 header section and address lists, as sendmail reads them. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"

/*
 * A field name is printable ASCII without ':' (RFC 5322 2.2 ftext);
 * blanks before the colon are obsolete syntax (4.5) we still accept.
 */
static bool
field_start(const char *p, size_t n, size_t *name_len, size_t *value_off)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i, k;

	for (i = 0; i < n && u[i] > 32 && u[i] < 127 && u[i] != ':'; i++)
		;
	if (i == 0)
		return false;
	for (k = i; k < n && (u[k] == ' ' || u[k] == '\t'); k++)
		;
	if (k >= n || u[k] != ':')
		return false;
	*name_len = i;
	*value_off = k + 1;
	return true;
}

static int
fail(int err, const char **errstr, const char *why)
{
	*errstr = why;
	errno = err;
	return -1;
}

static int
add_field(struct hdr *h, size_t off, size_t len, size_t name_len,
    size_t value_off, const char **errstr)
{
	struct hdr_field *nf;
	size_t ncap;

	if (h->n >= HDR_FIELDS_MAX)
		return fail(E2BIG, errstr, "too many header fields");
	if (h->n == h->cap) {
		ncap = h->cap ? h->cap * 2 : 16;
		nf = reallocarray(h->f, ncap, sizeof(*nf));
		if (nf == NULL)
			return fail(ENOMEM, errstr, "out of memory");
		h->f = nf;
		h->cap = ncap;
	}
	nf = &h->f[h->n++];
	nf->off = off;
	nf->len = len;
	nf->name_len = name_len;
	nf->value_off = off + value_off;
	nf->drop = false;
	return 0;
}

/* One line of the section at data[pos..pos+ll): 1 more, 0 the end, -1. */
static int
parse_line(const char *data, size_t pos, size_t ll, size_t next,
    struct hdr *h, const char **errstr)
{
	size_t nl, vo;

	if (ll == 0) {
		h->end = pos;
		h->body = next;
		return 0;
	}
	if (ll > HDR_LINE_MAX)
		return fail(E2BIG, errstr,
		    "header line longer than 998 characters");
	if (memchr(data + pos, '\0', ll) != NULL)
		return fail(EINVAL, errstr, "NUL byte in the header");
	if (data[pos] == ' ' || data[pos] == '\t') {
		h->f[h->n - 1].len = next - h->f[h->n - 1].off;
		return 1;
	}
	if (!field_start(data + pos, ll, &nl, &vo))
		return fail(EINVAL, errstr,
		    "header line that is neither a field nor a continuation");
	return add_field(h, pos, next - pos, nl, vo, errstr) == 0 ? 1 : -1;
}

int
hdr_parse(const char *data, size_t len, bool complete, struct hdr *out,
    const char **errstr)
{
	const char *nl;
	size_t pos = 0, ll, next, n, v;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > 0 && data[0] != '\n' && !field_start(data,
	    (nl = memchr(data, '\n', len)) ? (size_t)(nl - data) : len,
	    &n, &v)) {
		out->none = true;
		return 0;
	}
	for (;;) {
		if (pos == len || ((nl = memchr(data + pos, '\n',
		    len - pos)) == NULL && !complete)) {
			if (!complete)
				goto toolarge;
			out->end = out->body = len;
			return 0;
		}
		ll = nl ? (size_t)(nl - (data + pos)) : len - pos;
		next = nl ? pos + ll + 1 : len;
		if ((r = parse_line(data, pos, ll, next, out, errstr)) <= 0)
			break;
		pos = next;
	}
	if (r < 0)
		hdr_free(out);
	return r;
toolarge:
	hdr_free(out);
	return fail(EFBIG, errstr, "header section too large");
}

void
hdr_free(struct hdr *h)
{
	free(h->f);
	h->f = NULL;
	h->n = h->cap = 0;
}

bool
hdr_is(const char *data, const struct hdr_field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	    strncasecmp(data + f->off, name, f->name_len) == 0;
}

bool
hdr_has(const char *data, const struct hdr *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (hdr_is(data, &h->f[i], name))
			return true;
	return false;
}

/* ---- address lists ---- */

enum tok_type { TOK_END, TOK_WORD, TOK_QSTR, TOK_LIT, TOK_SPECIAL };

struct tok {
	enum tok_type	 type;
	const char	*s;	/* the token as written (quotes included) */
	size_t		 len;
	char		 c;	/* TOK_SPECIAL: the character */
};

struct lex {
	const char	*p;
	size_t		 len;
	size_t		 pos;
};

static bool
is_ctl(unsigned char c)
{
	return (c < 32 && c != '\t' && c != '\n') || c == 127;
}

/* Characters that end an atom; '.' is kept in words (obs-phrase). */
static bool
is_special(unsigned char c)
{
	return strchr("()<>[]:;@\\,\"", c) != NULL || c == ' ' || c == '\t' ||
	    c == '\n' || is_ctl(c);
}

static int
skip_comment(struct lex *lx, const char **errstr)
{
	unsigned depth = 0;
	unsigned char c;

	while (lx->pos < lx->len) {
		c = lx->p[lx->pos++];
		if (c == '\\' && lx->pos < lx->len)
			lx->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return 0;
		else if (c == '\0')
			return fail(EINVAL, errstr, "NUL byte in an address");
	}
	return fail(EINVAL, errstr, "unterminated comment");
}

static int
skip_cfws(struct lex *lx, const char **errstr)
{
	unsigned char c;

	while (lx->pos < lx->len) {
		c = lx->p[lx->pos];
		if (c == ' ' || c == '\t' || c == '\n')
			lx->pos++;
		else if (c == '(') {
			if (skip_comment(lx, errstr) == -1)
				return -1;
		} else
			break;
	}
	return 0;
}

/* A quoted string or a domain literal, from its opening byte. */
static int
lex_quoted(struct lex *lx, char close, struct tok *t, const char **errstr)
{
	size_t start = lx->pos;
	unsigned char c;

	lx->pos++;
	while (lx->pos < lx->len) {
		c = lx->p[lx->pos++];
		if (c == '\\' && lx->pos < lx->len)
			c = lx->p[lx->pos++];
		else if (c == (unsigned char)close) {
			t->s = lx->p + start;
			t->len = lx->pos - start;
			return 0;
		}
		if (c == '\0' || is_ctl(c))
			return fail(EINVAL, errstr,
			    "control character in an address");
	}
	return fail(EINVAL, errstr, close == '"' ?
	    "unterminated quoted string" : "unterminated domain literal");
}

static int
lex_next(struct lex *lx, struct tok *t, const char **errstr)
{
	unsigned char c;
	size_t start;

	if (skip_cfws(lx, errstr) == -1)
		return -1;
	memset(t, 0, sizeof(*t));
	if (lx->pos >= lx->len) {
		t->type = TOK_END;
		return 0;
	}
	c = lx->p[lx->pos];
	if (c == '"' || c == '[') {
		t->type = c == '"' ? TOK_QSTR : TOK_LIT;
		return lex_quoted(lx, c == '"' ? '"' : ']', t, errstr);
	}
	if (is_ctl(c))
		return fail(EINVAL, errstr, "control character in an address");
	if (strchr("<>:;@,", c) != NULL) {
		t->type = TOK_SPECIAL;
		t->c = c;
		lx->pos++;
		return 0;
	}
	if (is_special(c))
		return fail(EINVAL, errstr, c == ')' ? "unbalanced ')'" :
		    c == ']' ? "unbalanced ']'" : "stray backslash");
	start = lx->pos;
	while (lx->pos < lx->len && !is_special(lx->p[lx->pos]))
		lx->pos++;
	t->type = TOK_WORD;
	t->s = lx->p + start;
	t->len = lx->pos - start;
	return 0;
}

struct aparse {
	struct lex	 lx;
	hdr_addr_fn	 fn;
	void		*arg;
	char		 spec[HDR_ADDR_MAX + 1];
	size_t		 slen;
	int		 prev;		/* last added: 0 none, 1 word, 2 '@' */
	bool		 adjacent;	/* two words, no '.' or '@' between */
	bool		 addrish;	/* holds an '@' or a literal: no phrase */
	bool		 in_group;
};

/* Append a token of the addr-spec being collected. */
static int
spec_add(struct aparse *ap, const struct tok *t, const char **errstr)
{
	const char *s = t->type == TOK_SPECIAL ? &t->c : t->s;
	size_t n = t->type == TOK_SPECIAL ? 1 : t->len;
	bool word = t->type != TOK_SPECIAL;

	if (word && ap->prev == 1 && ap->spec[ap->slen - 1] != '.' &&
	    s[0] != '.')
		ap->adjacent = true;
	if (n > HDR_ADDR_MAX - ap->slen)
		return fail(ENAMETOOLONG, errstr, "address too long");
	memcpy(ap->spec + ap->slen, s, n);
	ap->slen += n;
	ap->spec[ap->slen] = '\0';
	ap->prev = word ? 1 : 2;
	ap->addrish |= !word || t->type == TOK_LIT;
	return 0;
}

static void
spec_reset(struct aparse *ap)
{
	ap->slen = 0;
	ap->spec[0] = '\0';
	ap->prev = 0;
	ap->adjacent = false;
	ap->addrish = false;
}

/*
 * The words before ':' or '<' are a display name (RFC 5322 3.4: a
 * phrase, required for a group) and are thrown away: an addr-spec among
 * them would be a recipient silently lost ("a@b: c@d;").
 */
static int
spec_phrase(struct aparse *ap, bool group, const char **errstr)
{
	if (ap->addrish)
		return fail(EINVAL, errstr, group ?
		    "an address where a group name belongs" :
		    "an address where a display name belongs");
	if (group && ap->slen == 0)
		return fail(EINVAL, errstr, "a group without a name");
	spec_reset(ap);
	return 0;
}

/* The words collected so far are a bare addr-spec: hand it over. */
static int
spec_flush(struct aparse *ap, const char **errstr)
{
	int r;

	if (ap->slen == 0)
		return 0;
	if (ap->adjacent)
		return fail(EINVAL, errstr, "display name without an address");
	r = ap->fn(ap->arg, ap->spec, ap->slen, errstr);
	spec_reset(ap);
	return r;
}

/* After "<": [route ":"] addr-spec ">". */
static int
parse_angle(struct aparse *ap, const char **errstr)
{
	struct tok t;

	if (spec_phrase(ap, false, errstr) == -1 ||
	    lex_next(&ap->lx, &t, errstr) == -1)
		return -1;
	if (t.type == TOK_SPECIAL && t.c == '@') {
		do {
			if (lex_next(&ap->lx, &t, errstr) == -1)
				return -1;
		} while (t.type != TOK_END && !(t.type == TOK_SPECIAL &&
		    (t.c == ':' || t.c == '>')));
		if (t.type != TOK_SPECIAL || t.c != ':')
			return fail(EINVAL, errstr, "bad source route");
		if (lex_next(&ap->lx, &t, errstr) == -1)
			return -1;
	}
	while (!(t.type == TOK_SPECIAL && t.c == '>')) {
		if (t.type == TOK_END)
			return fail(EINVAL, errstr, "missing '>'");
		if (t.type == TOK_SPECIAL && t.c != '@')
			return fail(EINVAL, errstr, "bad character in <>");
		if (spec_add(ap, &t, errstr) == -1 ||
		    lex_next(&ap->lx, &t, errstr) == -1)
			return -1;
	}
	if (ap->slen == 0)
		return fail(EINVAL, errstr, "empty address <>");
	return spec_flush(ap, errstr);
}

/* After a mailbox or a group: only ",", ";" in a group, or the end. */
static int
expect_sep(struct aparse *ap, struct tok *t, const char **errstr)
{
	size_t save = ap->lx.pos;

	if (lex_next(&ap->lx, t, errstr) == -1)
		return -1;
	if (t->type == TOK_END || (t->type == TOK_SPECIAL &&
	    (t->c == ',' || (t->c == ';' && ap->in_group)))) {
		ap->lx.pos = save;
		return 0;
	}
	return fail(EINVAL, errstr, "text after an address");
}

static int
parse_special(struct aparse *ap, struct tok *t, const char **errstr)
{
	switch (t->c) {
	case '<':
		if (parse_angle(ap, errstr) == -1)
			return -1;
		return expect_sep(ap, t, errstr);
	case ':':
		if (ap->in_group)
			return fail(EINVAL, errstr, "group inside a group");
		ap->in_group = true;
		return spec_phrase(ap, true, errstr);
	case ';':
		if (!ap->in_group)
			return fail(EINVAL, errstr, "';' outside a group");
		ap->in_group = false;
		if (spec_flush(ap, errstr) == -1)
			return -1;
		return expect_sep(ap, t, errstr);
	case ',':
		return spec_flush(ap, errstr);
	case '@':
		return spec_add(ap, t, errstr);
	default:
		return fail(EINVAL, errstr, "unbalanced '>'");
	}
}

int
hdr_addrlist(const char *in, size_t len, hdr_addr_fn fn, void *arg,
    const char **errstr)
{
	struct aparse *ap;
	struct tok t;
	int r = 0;

	if ((ap = calloc(1, sizeof(*ap))) == NULL)
		return fail(ENOMEM, errstr, "out of memory");
	ap->lx.p = in;
	ap->lx.len = len;
	ap->fn = fn;
	ap->arg = arg;
	for (;;) {
		if ((r = lex_next(&ap->lx, &t, errstr)) == -1)
			break;
		if (t.type == TOK_END) {
			/* RFC 5322 3.4: a group ends in ';' */
			r = ap->in_group ? fail(EINVAL, errstr,
			    "group not closed with ';'") :
			    spec_flush(ap, errstr);
			break;
		}
		if (t.type == TOK_SPECIAL)
			r = parse_special(ap, &t, errstr);
		else
			r = spec_add(ap, &t, errstr);
		if (r == -1)
			break;
	}
	free(ap);
	return r;
}
