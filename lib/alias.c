/* alias: the aliases table (sendmail syntax) and forward-file lines. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "alias.h"
#include "buf.h"
#include "cfg.h"

/* The state of one alias_parse call. */
struct aparse {
	struct aliastab	*tab;
	size_t		 cap;		/* allocated entries */
	struct buf	 entry;		/* the logical line being collected */
	size_t		 entry_line;	/* where it started; 0: none */
	size_t		 lineno;	/* error line */
	const char	*err;
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim blanks at both ends of s[0..*len): returns the new start. */
static const char *
trim(const char *s, size_t *len)
{
	while (*len > 0 && is_blank(s[0])) {
		s++;
		(*len)--;
	}
	while (*len > 0 && is_blank(s[*len - 1]))
		(*len)--;
	return s;
}

/* True when s[0..len) holds a control character other than tab. */
static bool
has_ctl(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

static int
fail(const char **errstr, const char *why, int err)
{
	*errstr = why;
	errno = err;
	return -1;
}

/* Copy s[0..len) into out->text: 0, or -1 ENAMETOOLONG. */
static int
set_text(struct fwd_target *out, const char *s, size_t len,
    const char **errstr)
{
	if (len > ALIAS_TARGET_MAX)
		return fail(errstr, "target too long", ENAMETOOLONG);
	memcpy(out->text, s, len);
	out->text[len] = '\0';
	return 0;
}

static int
parse_maildir(const char *s, size_t len, const char *home,
    struct fwd_target *out, const char **errstr)
{
	size_t	hl;

	if (s[0] == '/')
		return set_text(out, s, len, errstr);
	if (home == NULL || home[0] != '/')
		return fail(errstr, "relative Maildir path without a home "
		    "directory", EINVAL);
	hl = strlen(home);
	while (hl > 1 && home[hl - 1] == '/')
		hl--;
	if (hl == 1)
		hl = 0;		/* home "/": avoid "//path" */
	if (hl + 1 + len > ALIAS_TARGET_MAX)
		return fail(errstr, "target too long", ENAMETOOLONG);
	memcpy(out->text, home, hl);
	out->text[hl] = '/';
	memcpy(out->text + hl + 1, s, len);
	out->text[hl + 1 + len] = '\0';
	return 0;
}

/* Remove sendmail's quotes around "|cmd" or "/path/", else keep s. */
static const char *
unquote_whole(const char *s, size_t *len)
{
	const char	*in;
	size_t		 il;

	if (*len < 2 || s[0] != '"' || s[*len - 1] != '"')
		return s;
	in = s + 1;
	il = *len - 2;
	if (memchr(in, '"', il) != NULL || memchr(in, '\\', il) != NULL)
		return s;
	in = trim(in, &il);
	if (il == 0 || (in[0] != '|' && in[il - 1] != '/'))
		return s;
	*len = il;
	return in;
}

int
fwd_parse_target(const char *s, size_t len, const char *home,
    const char *default_domain, struct fwd_target *out, const char **errstr)
{
	char	addr[ADDR_BUF];

	out->kind = FWD_SKIP;
	out->text[0] = '\0';
	s = trim(s, &len);
	if (len == 0 || s[0] == '#')
		return 0;
	s = unquote_whole(s, &len);
	if (memchr(s, '\0', len) != NULL || has_ctl(s, len))
		return fail(errstr, "control character in target", EINVAL);
	if (s[0] == '|') {
		s++;
		len--;
		s = trim(s, &len);
		if (len == 0)
			return fail(errstr, "empty command", EINVAL);
		out->kind = FWD_PIPE;
		return set_text(out, s, len, errstr);
	}
	if (s[len - 1] == '/') {
		out->kind = FWD_MAILDIR;
		return parse_maildir(s, len, home, out, errstr);
	}
	if (s[0] == '/' || s[0] == '.')
		return fail(errstr, "a path must end in / (only Maildir "
		    "delivery is supported)", EINVAL);
	if (addr_parse_mailbox(s, len, ADDR_UTF8, default_domain, addr,
	    sizeof(addr), errstr) == -1) {
		if (errno != ENAMETOOLONG)
			errno = EINVAL;
		return -1;
	}
	out->kind = FWD_ADDR;
	return set_text(out, addr, strlen(addr), errstr);
}

/* An alias name: printable, no blanks, quotes or commas; "l" or "l@d". */
static int
check_name(const char *s, size_t len, const char **errstr)
{
	const char	*at;
	size_t		 i;

	if (len == 0)
		return fail(errstr, "empty alias name", EINVAL);
	if (len > ALIAS_NAME_MAX)
		return fail(errstr, "alias name too long", E2BIG);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || c == '"' || c == ',')
			return fail(errstr, "bad character in alias name",
			    EINVAL);
	}
	at = memchr(s, '@', len);
	if (at != NULL && (at == s || at == s + len - 1 ||
	    memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL))
		return fail(errstr, "alias name is not local or local@domain",
		    EINVAL);
	return 0;
}

/* Read a quoted string at *pp into tmp (escapes undone). */
static int
scan_quoted(const char **pp, const char *end, struct buf *tmp,
    const char **errstr)
{
	const char	*p = *pp + 1;

	for (; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		if (buf_appendc(tmp, *p) == -1)
			return fail(errstr, "target too long", E2BIG);
	}
	if (p == end)
		return fail(errstr, "unterminated quoted target", EINVAL);
	*pp = p + 1;
	return 0;
}

/*
 * Scan one target at *pp (blanks skipped), store its text in tmp and
 * set *pp past it and its comma.  Returns 1 with a target, 0 at the end
 * of the list, -1 on a syntax error.
 */
static int
next_target(const char **pp, const char *end, struct buf *tmp,
    const char **errstr)
{
	const char	*p = *pp, *start;
	size_t		 len;
	bool		 quoted = false;

	while (p < end && is_blank(*p))
		p++;
	if (p == end)
		return 0;
	start = p;
	buf_reset(tmp);
	if (*p == '"') {
		if (scan_quoted(&p, end, tmp, errstr) == -1)
			return -1;
		quoted = p == end || *p != '@';	/* else "local"@domain */
	}
	if (quoted) {
		while (p < end && is_blank(*p))
			p++;
		if (p < end && *p != ',')
			return fail(errstr, "text after a quoted target",
			    EINVAL);
	} else {
		while (p < end && *p != ',')
			p++;
		len = (size_t)(p - start);
		start = trim(start, &len);
		buf_reset(tmp);
		if (buf_append(tmp, start, len) == -1)
			return fail(errstr, "target too long", E2BIG);
	}
	if (p < end) {
		*pp = ++p;
		while (p < end && is_blank(*p))
			p++;
		if (p == end)
			return fail(errstr, "empty target", EINVAL);
	} else
		*pp = p;
	return 1;
}

/* Check one target and append it (with its NUL) to store. */
static int
add_target(const struct buf *tmp, struct buf *store, const char **errstr)
{
	struct fwd_target	 t;
	const char		*s = buf_cstr(tmp);
	size_t			 len = tmp->len;

	if (len == 0)
		return fail(errstr, "empty target", EINVAL);
	if (len >= 9 && strncasecmp(s, ":include:", 9) == 0)
		return fail(errstr, ":include: is not supported", EINVAL);
	if (memchr(s, '\0', len) != NULL)
		return fail(errstr, "NUL byte in target", EINVAL);
	if (fwd_parse_target(s, len, NULL, "invalid", &t, errstr) == -1)
		return -1;
	if (t.kind == FWD_SKIP)
		return fail(errstr, "empty target", EINVAL);
	if (buf_append(store, s, len + 1) == -1)
		return fail(errstr, "entry too long", E2BIG);
	return 0;
}

/* Append the entry (name and targets in store) to the table. */
static int
push_entry(struct aparse *ap, const struct buf *store, size_t ntargets)
{
	struct aliastab	*tab = ap->tab;
	struct alias	*a, *n;
	char		*mem, *p;
	size_t		 i;

	if (tab->n == ALIAS_ENTRIES_MAX)
		return fail(&ap->err, "too many aliases", E2BIG);
	if (tab->n == ap->cap) {
		size_t ncap = ap->cap ? ap->cap * 2 : 64;
		if ((n = reallocarray(tab->ents, ncap, sizeof(*n))) == NULL)
			return fail(&ap->err, "out of memory", ENOMEM);
		tab->ents = n;
		ap->cap = ncap;
	}
	a = &tab->ents[tab->n];
	if ((mem = malloc(store->len)) == NULL)
		return fail(&ap->err, "out of memory", ENOMEM);
	if ((a->targets = reallocarray(NULL, ntargets, sizeof(char *))) ==
	    NULL) {
		free(mem);
		return fail(&ap->err, "out of memory", ENOMEM);
	}
	memcpy(mem, store->data, store->len);
	a->name = mem;
	p = mem + strlen(mem) + 1;
	for (i = 0; i < ntargets; i++) {
		a->targets[i] = p;
		p += strlen(p) + 1;
	}
	a->ntargets = ntargets;
	a->lineno = ap->entry_line;
	tab->n++;
	return 0;
}

/* Parse the collected logical line "name: targets". */
static int
parse_entry(struct aparse *ap, const char *s, size_t len)
{
	struct buf	 store, tmp;
	const char	*colon, *name, *p, *end = s + len;
	size_t		 nlen, i, ntargets = 0;
	int		 r, rv = -1;

	if ((colon = memchr(s, ':', len)) == NULL)
		return fail(&ap->err, "missing ':' after the alias name",
		    EINVAL);
	nlen = (size_t)(colon - s);
	name = trim(s, &nlen);
	if (check_name(name, nlen, &ap->err) == -1)
		return -1;
	buf_init(&store, ALIAS_ENTRY_MAX + ALIAS_NAME_MAX + 2);
	buf_init(&tmp, ALIAS_TARGET_MAX);
	for (i = 0; i < nlen; i++)
		if (buf_appendc(&store, (char)(name[i] >= 'A' &&
		    name[i] <= 'Z' ? name[i] + 32 : name[i])) == -1)
			goto out;
	if (buf_appendc(&store, '\0') == -1)
		goto out;
	p = colon + 1;
	while ((r = next_target(&p, end, &tmp, &ap->err)) == 1) {
		if (++ntargets > ALIAS_TARGETS_MAX) {
			fail(&ap->err, "too many targets", E2BIG);
			goto out;
		}
		if (add_target(&tmp, &store, &ap->err) == -1)
			goto out;
	}
	if (r == 0 && ntargets == 0)
		fail(&ap->err, "alias without targets", EINVAL);
	else if (r == 0)
		rv = push_entry(ap, &store, ntargets);
out:
	if (rv == -1 && ap->err == NULL)
		fail(&ap->err, "out of memory", errno);
	buf_free(&store);
	buf_free(&tmp);
	return rv;
}

/* Parse the pending logical line, if any. */
static int
flush_entry(struct aparse *ap)
{
	int	rv = 0;

	if (ap->entry_line != 0) {
		rv = parse_entry(ap, buf_cstr(&ap->entry), ap->entry.len);
		if (rv == -1)
			ap->lineno = ap->entry_line;
	}
	buf_reset(&ap->entry);
	ap->entry_line = 0;
	return rv;
}

/* One physical line s[0..len) (newline and CR removed). */
static int
parse_line(struct aparse *ap, const char *s, size_t len, size_t lineno)
{
	size_t	tl = len;

	ap->lineno = lineno;
	if (len > ALIAS_LINE_MAX)
		return fail(&ap->err, "line too long", E2BIG);
	if (memchr(s, '\0', len) != NULL)
		return fail(&ap->err, "NUL byte", EINVAL);
	if (has_ctl(s, len))
		return fail(&ap->err, "control character", EINVAL);
	(void)trim(s, &tl);
	if (tl == 0 || s[0] == '#')
		return 0;
	if (is_blank(s[0])) {
		if (ap->entry_line == 0)
			return fail(&ap->err, "continuation line without "
			    "an entry", EINVAL);
		if (buf_appendc(&ap->entry, ' ') == -1 ||
		    buf_append(&ap->entry, s, len) == -1)
			return fail(&ap->err, "entry too long", E2BIG);
		return 0;
	}
	if (flush_entry(ap) == -1)
		return -1;
	ap->entry_line = lineno;
	if (buf_append(&ap->entry, s, len) == -1)
		return fail(&ap->err, "entry too long", E2BIG);
	return 0;
}

static int
cmp_alias(const void *a, const void *b)
{
	return strcmp(((const struct alias *)a)->name,
	    ((const struct alias *)b)->name);
}

/* Sort the table and refuse duplicate names. */
static int
sort_table(struct aparse *ap)
{
	struct aliastab	*tab = ap->tab;
	size_t		 i;

	if (tab->n > 1)
		qsort(tab->ents, tab->n, sizeof(tab->ents[0]), cmp_alias);
	for (i = 1; i < tab->n; i++)
		if (strcmp(tab->ents[i - 1].name, tab->ents[i].name) == 0) {
			ap->lineno = tab->ents[i].lineno >
			    tab->ents[i - 1].lineno ? tab->ents[i].lineno :
			    tab->ents[i - 1].lineno;
			return fail(&ap->err, "duplicate alias name", EINVAL);
		}
	return 0;
}

int
alias_parse(const char *data, size_t len, struct aliastab *out,
    size_t *lineno_out, const char **errstr)
{
	struct aparse	 ap;
	const char	*s, *eol;
	size_t		 pos = 0, l, lineno = 0;
	int		 rv = 0, saved;

	memset(out, 0, sizeof(*out));
	memset(&ap, 0, sizeof(ap));
	ap.tab = out;
	buf_init(&ap.entry, ALIAS_ENTRY_MAX);
	while (rv == 0 && pos < len) {
		s = data + pos;
		eol = memchr(s, '\n', len - pos);
		l = eol != NULL ? (size_t)(eol - s) : len - pos;
		pos += l + (eol != NULL);
		if (l > 0 && s[l - 1] == '\r')
			l--;
		rv = parse_line(&ap, s, l, ++lineno);
	}
	if (rv == 0)
		rv = flush_entry(&ap);
	if (rv == 0)
		rv = sort_table(&ap);
	saved = errno;
	buf_free(&ap.entry);
	if (rv == -1) {
		alias_free(out);
		*errstr = ap.err;
		*lineno_out = ap.lineno;
		errno = saved;
	}
	return rv;
}

const struct alias *
alias_lookup(const struct aliastab *tab, const char *name)
{
	char	 key[ALIAS_NAME_MAX + 1];

	if (cfg_lowercase(key, sizeof(key), name, strlen(name)) == -1)
		return NULL;
	return cfg_find_sorted(tab->ents, tab->n, sizeof(tab->ents[0]), key);
}

void
alias_free(struct aliastab *tab)
{
	size_t	i;

	for (i = 0; i < tab->n; i++) {
		free(tab->ents[i].name);
		free(tab->ents[i].targets);
	}
	free(tab->ents);
	tab->ents = NULL;
	tab->n = 0;
}
