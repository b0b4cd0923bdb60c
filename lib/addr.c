/*
 * addr: RFC 5321 4.1.2 paths and mailboxes (with RFC 6531 UTF-8) parsed
 * into the canonical form described in addr.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

#define ADDR_LABEL_MAX	63	/* RFC 1035 2.3.4 */
#define ADDR_LIT_MAX	64	/* longest address literal content read */

#define MSG_8BIT	"non-ASCII character without SMTPUTF8"

/* The parser's cursor and its first error. */
struct st {
	const unsigned char *s;
	size_t		 len;
	size_t		 pos;
	int		 flags;
	const char	*err;
	int		 eno;
};

/* A bounded output area; overflowing it is a length error. */
struct sink {
	char		*p;
	size_t		 len;
	size_t		 max;
	const char	*toolong;
};

/* What a mailbox parses into before it is written canonically. */
struct mbox {
	char		 local[ADDR_LOCAL_MAX + 1];	/* unquoted bytes */
	size_t		 local_len;
	bool		 quoted;
	char		 domain[ADDR_DOMAIN_MAX + 1];	/* canonical */
	size_t		 domain_len;
};

static int	parse_domain(struct st *, struct sink *);

static int
fail(struct st *st, int eno, const char *err)
{
	st->eno = eno;
	st->err = err;
	return -1;
}

static int
peek(const struct st *st)
{
	return st->pos < st->len ? st->s[st->pos] : -1;
}

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 5322 3.2.3 atext, ASCII part. */
static bool
is_atext(int c)
{
	if (is_alnum(c))
		return true;
	return c > 0 && c < 0x80 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static const char *
ctl_msg(int c)
{
	if (c == '\r' || c == '\n')
		return "CR or LF in address";
	if (c == '\0')
		return "NUL in address";
	if (c < 0x20 || c == 0x7f)
		return "control character in address";
	return NULL;
}

/*
 * Parsing stopped at pos: name the reason, preferring the specific
 * messages for control and 8-bit bytes over the caller's generic one.
 */
static int
unexpected(struct st *st, const char *at_end, const char *other)
{
	const char *m;
	int c;

	if ((c = peek(st)) < 0)
		return fail(st, EINVAL, at_end);
	if ((m = ctl_msg(c)) != NULL)
		return fail(st, EINVAL, m);
	if (c >= 0x80 && !(st->flags & ADDR_UTF8))
		return fail(st, EINVAL, MSG_8BIT);
	return fail(st, EINVAL, other);
}

static int
sink_put(struct st *st, struct sink *k, const void *p, size_t n)
{
	if (n > k->max - k->len)
		return fail(st, ENAMETOOLONG, k->toolong);
	memcpy(k->p + k->len, p, n);
	k->len += n;
	return 0;
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp_out)
{
	uint32_t cp, min;
	size_t need, i;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	if (s[0] < 0xe0) {
		need = 2;
		min = 0x80;
		cp = s[0] & 0x1f;
	} else if (s[0] < 0xf0) {
		need = 3;
		min = 0x800;
		cp = s[0] & 0x0f;
	} else {
		need = 4;
		min = 0x10000;
		cp = s[0] & 0x07;
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_out = cp;
	return need;
}

/* Copy one UTF-8 character (RFC 6531 UTF8-non-ascii) to k. */
static int
take_utf8(struct st *st, struct sink *k)
{
	uint32_t cp;
	size_t n;

	if (!(st->flags & ADDR_UTF8))
		return fail(st, EINVAL, MSG_8BIT);
	n = utf8_seq(st->s + st->pos, st->len - st->pos, &cp);
	if (n == 0)
		return fail(st, EINVAL, "invalid UTF-8 in address");
	/* C1 controls are as dangerous in logs as C0 ones. */
	if (cp < 0xa0)
		return fail(st, EINVAL, "control character in address");
	if (sink_put(st, k, st->s + st->pos, n) == -1)
		return -1;
	st->pos += n;
	return 0;
}

/* Why a dot-string atom is empty; first says it is the first atom. */
static int
atom_empty(struct st *st, bool first)
{
	int c;

	c = peek(st);
	if (c == '.')
		return fail(st, EINVAL, first ?
		    "local part starts with '.'" : "'..' in local part");
	if (c < 0 || c == '@' || c == '>')
		return fail(st, EINVAL, first ?
		    "empty local part" : "local part ends with '.'");
	return unexpected(st, "", "invalid character in local part");
}

/* Dot-string = Atom *("." Atom); stops at the first other byte. */
static int
parse_dot_string(struct st *st, struct sink *k)
{
	size_t start;
	int c;

	for (;;) {
		start = k->len;
		while ((c = peek(st)) >= 0 && (is_atext(c) || c >= 0x80)) {
			if (c >= 0x80) {
				if (take_utf8(st, k) == -1)
					return -1;
				continue;
			}
			if (sink_put(st, k, st->s + st->pos, 1) == -1)
				return -1;
			st->pos++;
		}
		if (k->len == start)
			return atom_empty(st, start == 0);
		if (peek(st) != '.')
			return 0;
		if (sink_put(st, k, ".", 1) == -1)
			return -1;
		st->pos++;
	}
}

/* Quoted-string (RFC 5321 4.1.2); k receives the unescaped content. */
static int
parse_quoted(struct st *st, struct sink *k)
{
	int c;

	st->pos++;
	for (;;) {
		c = peek(st);
		if (c == '"') {
			st->pos++;
			return 0;
		}
		if (c == '\\') {
			st->pos++;
			c = peek(st);
			if (c < 0x20 || c > 0x7e)
				return unexpected(st, "unbalanced quotes",
				    "invalid quoted pair");
		} else if (c >= 0x80) {
			if (take_utf8(st, k) == -1)
				return -1;
			continue;
		} else if (c < 0x20 || c == 0x7f)
			return unexpected(st, "unbalanced quotes",
			    "invalid character in quoted string");
		if (sink_put(st, k, st->s + st->pos, 1) == -1)
			return -1;
		st->pos++;
	}
}

static int
parse_local(struct st *st, struct mbox *m)
{
	struct sink k = { m->local, 0, ADDR_LOCAL_MAX, "local part too long" };
	int r;

	m->quoted = peek(st) == '"';
	r = m->quoted ? parse_quoted(st, &k) : parse_dot_string(st, &k);
	m->local[k.len] = '\0';
	m->local_len = k.len;
	return r;
}

/* One sub-domain: Let-dig [Ldh-str], lowercased; may be empty. */
static int
parse_label(struct st *st, struct sink *k)
{
	size_t start;
	char lc;
	int c;

	start = k->len;
	while ((c = peek(st)) >= 0 && (is_alnum(c) || c == '-' || c >= 0x80)) {
		if (c >= 0x80) {
			if (take_utf8(st, k) == -1)
				return -1;
		} else {
			lc = (char)ascii_lower(c);
			if (sink_put(st, k, &lc, 1) == -1)
				return -1;
			st->pos++;
		}
		if (k->len - start > ADDR_LABEL_MAX)
			return fail(st, ENAMETOOLONG, "domain label too long");
	}
	if (k->len > start &&
	    (k->p[start] == '-' || k->p[k->len - 1] == '-'))
		return fail(st, EINVAL, "domain label starts or ends with '-'");
	return 0;
}

/* s starts with lower-case pfx, ignoring ASCII case (ABNF strings). */
static bool
ascii_prefix(const char *s, const char *pfx)
{
	for (; *pfx != '\0'; s++, pfx++)
		if (ascii_lower((unsigned char)*s) != *pfx)
			return false;
	return true;
}

/* Snum 3("." Snum), each 0-255; written back without leading zeros. */
static int
ipv4_canon(const char *s, char *out, size_t outsz)
{
	unsigned int q[4], v, digits, i;
	int n;

	for (i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return -1;
		for (v = 0, digits = 0; *s >= '0' && *s <= '9' && digits < 3;
		    s++, digits++)
			v = v * 10 + (unsigned int)(*s - '0');
		if (digits == 0 || v > 255)
			return -1;
		q[i] = v;
	}
	if (*s != '\0')
		return -1;
	n = snprintf(out, outsz, "[%u.%u.%u.%u]", q[0], q[1], q[2], q[3]);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* "IPv6:" literal: checked by inet_pton, rewritten by inet_ntop. */
static int
ipv6_canon(const char *s, char *out, size_t outsz)
{
	char txt[INET6_ADDRSTRLEN];
	struct in6_addr a;
	int n;

	if (inet_pton(AF_INET6, s, &a) != 1 ||
	    inet_ntop(AF_INET6, &a, txt, sizeof(txt)) == NULL)
		return -1;
	n = snprintf(out, outsz, "[IPv6:%s]", txt);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int
literal_canon(struct st *st, const char *lit, char *out, size_t outsz)
{
	if (lit[0] >= '0' && lit[0] <= '9') {
		if (ipv4_canon(lit, out, outsz) == -1)
			return fail(st, EINVAL, "bad IPv4 address literal");
		return 0;
	}
	if (ascii_prefix(lit, "ipv6:")) {
		if (ipv6_canon(lit + 5, out, outsz) == -1)
			return fail(st, EINVAL, "bad IPv6 address literal");
		return 0;
	}
	if (strchr(lit, ':') != NULL)
		return fail(st, EINVAL, "unsupported address literal");
	return fail(st, EINVAL, "bad address literal");
}

/* address-literal = "[" ... "]" (RFC 5321 4.1.3). */
static int
parse_literal(struct st *st, struct sink *k)
{
	char lit[ADDR_LIT_MAX + 1], canon[ADDR_LIT_MAX + 8];
	size_t n;
	int c;

	st->pos++;
	for (n = 0; (c = peek(st)) != ']'; n++, st->pos++) {
		/* dcontent = %d33-90 / %d94-126 */
		if (c < 33 || c > 126 || c == '[' || c == '\\')
			return unexpected(st, "missing ']'",
			    "invalid character in address literal");
		if (n == ADDR_LIT_MAX)
			return fail(st, EINVAL, "bad address literal");
		lit[n] = (char)c;
	}
	st->pos++;
	lit[n] = '\0';
	if (literal_canon(st, lit, canon, sizeof(canon)) == -1)
		return -1;
	return sink_put(st, k, canon, strlen(canon));
}

/* Domain or address literal; one trailing dot is dropped. */
static int
parse_domain(struct st *st, struct sink *k)
{
	int c;

	if (peek(st) == '[')
		return parse_literal(st, k);
	if (parse_label(st, k) == -1)
		return -1;
	if (k->len == 0) {
		if (peek(st) == '.')
			return fail(st, EINVAL, "empty domain label");
		return unexpected(st, "missing domain", "missing domain");
	}
	while (peek(st) == '.') {
		st->pos++;
		c = peek(st);
		if (c == '.')
			return fail(st, EINVAL, "empty domain label");
		if (c < 0 || !(is_alnum(c) || c == '-' || c >= 0x80))
			return 0;
		if (sink_put(st, k, ".", 1) == -1 ||
		    parse_label(st, k) == -1)
			return -1;
	}
	return 0;
}

static int
parse_mbox_domain(struct st *st, struct mbox *m)
{
	struct sink k = { m->domain, 0, ADDR_DOMAIN_MAX, "domain too long" };
	int r;

	r = parse_domain(st, &k);
	m->domain[k.len] = '\0';
	m->domain_len = k.len;
	return r;
}

/* A-d-l ":" (RFC 5321 4.1.2): checked, then forgotten. */
static int
parse_route(struct st *st)
{
	char buf[ADDR_DOMAIN_MAX + 1];
	struct sink k;
	int c;

	for (;;) {
		if (st->pos > ADDR_PATH_MAX)
			return fail(st, ENAMETOOLONG, "path too long");
		st->pos++;
		k = (struct sink){ buf, 0, ADDR_DOMAIN_MAX, "domain too long" };
		if (parse_domain(st, &k) == -1)
			return -1;
		if ((c = peek(st)) == ':') {
			st->pos++;
			return 0;
		}
		if (c != ',')
			return unexpected(st, "missing ':' after source route",
			    c == '>' ? "missing ':' after source route" :
			    "invalid character in source route");
		st->pos++;
		if (peek(st) != '@')
			return unexpected(st, "missing '@' in source route",
			    "missing '@' in source route");
	}
}

/* The unquoted local part is a Dot-string and needs no quotes. */
static bool
is_dot_string(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && i + 1 < n && s[i + 1] == '.')
			return false;
		if (s[i] != '.' && !is_atext((unsigned char)s[i]) &&
		    (unsigned char)s[i] < 0x80)
			return false;
	}
	return true;
}

static int
canon_local(struct st *st, const struct mbox *m, struct sink *k)
{
	size_t i;

	if (!m->quoted || is_dot_string(m->local, m->local_len))
		return sink_put(st, k, m->local, m->local_len);
	if (sink_put(st, k, "\"", 1) == -1)
		return -1;
	for (i = 0; i < m->local_len; i++) {
		if ((m->local[i] == '"' || m->local[i] == '\\') &&
		    sink_put(st, k, "\\", 1) == -1)
			return -1;
		if (sink_put(st, k, &m->local[i], 1) == -1)
			return -1;
	}
	return sink_put(st, k, "\"", 1);
}

static int
put_out(struct st *st, const char *s, size_t n, char *out, size_t outsz)
{
	if (out == NULL || n >= outsz)
		return fail(st, ENAMETOOLONG, "address too long");
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* Write local@domain; with the brackets it must fit ADDR_PATH_MAX. */
static int
emit(struct st *st, const struct mbox *m, char *out, size_t outsz)
{
	char lbuf[ADDR_LOCAL_MAX + 1], buf[ADDR_BUF];
	struct sink l = { lbuf, 0, ADDR_LOCAL_MAX, "local part too long" };
	struct sink a = { buf, 0, ADDR_PATH_MAX - 2, "address too long" };

	if (canon_local(st, m, &l) == -1 ||
	    sink_put(st, &a, lbuf, l.len) == -1 ||
	    sink_put(st, &a, "@", 1) == -1 ||
	    sink_put(st, &a, m->domain, m->domain_len) == -1)
		return -1;
	return put_out(st, buf, a.len, out, outsz);
}

/* "Postmaster" alone (RFC 5321 4.1.1.3), when the caller allows it. */
static bool
is_postmaster(const struct st *st, const struct mbox *m)
{
	size_t i;

	if (!(st->flags & ADDR_POSTMASTER) || m->quoted ||
	    m->local_len != 10)
		return false;
	for (i = 0; i < 10; i++)
		if (ascii_lower((unsigned char)m->local[i]) !=
		    "postmaster"[i])
			return false;
	return true;
}

static int
path(struct st *st, struct mbox *m, char *out, size_t outsz)
{
	bool route;

	if (peek(st) != '<')
		return unexpected(st, "missing '<'", "missing '<'");
	st->pos++;
	if (peek(st) == '>') {
		st->pos++;
		if (!(st->flags & ADDR_NULL_OK))
			return fail(st, EINVAL, "null address not allowed");
		return put_out(st, "", 0, out, outsz);
	}
	route = peek(st) == '@';
	if ((route && parse_route(st) == -1) || parse_local(st, m) == -1)
		return -1;
	if (peek(st) == '>' && !route && is_postmaster(st, m)) {
		st->pos++;
		return put_out(st, "postmaster", 10, out, outsz);
	}
	if (peek(st) != '@')
		return unexpected(st, "missing '>'", peek(st) == '>' ?
		    "address has no domain" : m->quoted ?
		    "invalid character after quoted string" :
		    "invalid character in local part");
	st->pos++;
	if (parse_mbox_domain(st, m) == -1)
		return -1;
	if (peek(st) != '>')
		return unexpected(st, "missing '>'",
		    "invalid character in domain");
	if (++st->pos > ADDR_PATH_MAX)
		return fail(st, ENAMETOOLONG, "path too long");
	return emit(st, m, out, outsz);
}

static int
report(const struct st *st, const char **errstr)
{
	if (errstr != NULL)
		*errstr = st->err;
	errno = st->eno;
	return -1;
}

int
addr_parse_path(const char *in, size_t len, int flags, char *out,
    size_t outsz, size_t *end_out, const char **errstr)
{
	struct st st = { (const unsigned char *)in, len, 0, flags, NULL, 0 };
	struct mbox m;

	if (path(&st, &m, out, outsz) == -1)
		return report(&st, errstr);
	if (end_out != NULL)
		*end_out = st.pos;
	return 0;
}

/* A mailbox without '@': postmaster alone, or the default domain. */
static int
no_domain(struct st *st, struct mbox *m, const char *defdom, char *out,
    size_t outsz)
{
	struct st d;

	if (defdom == NULL && is_postmaster(st, m))
		return put_out(st, "postmaster", 10, out, outsz);
	if (defdom == NULL)
		return fail(st, EINVAL, "address has no domain");
	d = (struct st){ (const unsigned char *)defdom, strlen(defdom), 0,
	    st->flags, NULL, 0 };
	if (parse_mbox_domain(&d, m) == -1 || (peek(&d) >= 0 &&
	    unexpected(&d, "", "invalid character in default domain") == -1))
		return fail(st, d.eno, d.err);
	return emit(st, m, out, outsz);
}

static int
mailbox(struct st *st, struct mbox *m, const char *defdom, char *out,
    size_t outsz)
{
	if (st->len == 0 && (st->flags & ADDR_NULL_OK))
		return put_out(st, "", 0, out, outsz);
	if (parse_local(st, m) == -1)
		return -1;
	if (peek(st) < 0)
		return no_domain(st, m, defdom, out, outsz);
	if (peek(st) != '@')
		return unexpected(st, "", m->quoted ?
		    "invalid character after quoted string" :
		    "invalid character in local part");
	st->pos++;
	if (parse_mbox_domain(st, m) == -1)
		return -1;
	if (peek(st) >= 0)
		return unexpected(st, "", "invalid character in domain");
	return emit(st, m, out, outsz);
}

int
addr_parse_mailbox(const char *in, size_t len, int flags,
    const char *default_domain, char *out, size_t outsz,
    const char **errstr)
{
	struct st st = { (const unsigned char *)in, len, 0, flags, NULL, 0 };
	struct mbox m;
	int r;

	if (len > 0 && in[0] == '<') {
		r = path(&st, &m, out, outsz);
		if (r == 0 && st.pos != len) {
			st.pos = len;
			r = fail(&st, EINVAL, "junk after '>'");
		}
	} else
		r = mailbox(&st, &m, default_domain, out, outsz);
	return r == -1 ? report(&st, errstr) : 0;
}

const char *
addr_domain(const char *canon)
{
	const char *at;

	if (canon == NULL || (at = strrchr(canon, '@')) == NULL)
		return NULL;
	return at + 1;
}

size_t
addr_local_len(const char *canon)
{
	const char *at;

	if (canon == NULL)
		return 0;
	if ((at = strrchr(canon, '@')) == NULL)
		return strlen(canon);
	return (size_t)(at - canon);
}

bool
addr_is_utf8(const char *canon)
{
	const unsigned char *p;

	if (canon == NULL)
		return false;
	for (p = (const unsigned char *)canon; *p != '\0'; p++)
		if (*p >= 0x80)
			return true;
	return false;
}

bool
addr_domain_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (ascii_lower((unsigned char)*a) !=
		    ascii_lower((unsigned char)*b))
			return false;
	return *a == *b;
}
