/* smtpreply: a strict, bounded parser for SMTP replies (client side). */
#include <string.h>

#include "smtpreply.h"

void
smtpreply_init(struct smtpreply *r)
{
	r->code = 0;
	r->enh[0] = '\0';
	r->nlines = 0;
	r->text_len = 0;
	r->text[0] = '\0';
	r->done = false;
	r->cr = false;
	r->line_len = 0;
}

static bool
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * An enhanced status code "c.sss.ddd" at the start of s (RFC 3463 2:
 * subject and detail 1-3 digits, no leading zeros required), followed
 * by a space or the end.  Its length, or 0.
 */
static size_t
enh_len(const char *s, size_t len)
{
	size_t	i = 0, part, n;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && isdig(s[i]) && n < 4; i++)
			n++;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

/* Check and store one complete line: 1 last line, 0 more, -1 error. */
static int
take_line(struct smtpreply *r, const char **errstr)
{
	const char	*l = r->line, *t;
	size_t		 len = r->line_len, tlen, e;
	int		 code;

	if (len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' ||
	    l[1] > '5' || !isdig(l[2])) {
		*errstr = "reply line without a valid code";
		return -1;
	}
	if (len > 3 && l[3] != ' ' && l[3] != '-') {
		*errstr = "bad separator after the reply code";
		return -1;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (r->nlines > 0 && code != r->code) {
		*errstr = "reply code changes inside a multi-line reply";
		return -1;
	}
	if (r->nlines >= SMTPREPLY_LINES_MAX) {
		*errstr = "too many lines in one reply";
		return -1;
	}
	t = len > 4 ? l + 4 : "";
	tlen = len > 4 ? len - 4 : 0;
	if (r->text_len + (r->nlines > 0) + tlen > SMTPREPLY_TEXT_MAX) {
		*errstr = "reply text too long";
		return -1;
	}
	if (r->nlines == 0) {
		r->code = code;
		e = enh_len(t, tlen);
		if (e > 0 && e < SMTPREPLY_ENH_MAX && t[0] == l[0]) {
			memcpy(r->enh, t, e);
			r->enh[e] = '\0';
		}
	} else
		r->text[r->text_len++] = '\n';
	memcpy(r->text + r->text_len, t, tlen);
	r->text_len += tlen;
	r->text[r->text_len] = '\0';
	r->nlines++;
	return len > 3 && l[3] == '-' ? 0 : 1;
}

/* One byte: 1 reply complete, 0 more, -1 error. */
static int
feed_byte(struct smtpreply *r, char c, const char **errstr)
{
	int	n;

	if (c == '\n') {
		r->cr = false;
		n = take_line(r, errstr);
		r->line_len = 0;
		return n;
	}
	if (r->cr || c == '\0') {
		*errstr = r->cr ? "CR not followed by LF in a reply" :
		    "NUL byte in a reply";
		return -1;
	}
	if (c == '\r') {
		r->cr = true;
		return 0;
	}
	if (r->line_len >= SMTPREPLY_LINE_MAX + 4) {
		*errstr = "reply line too long";
		return -1;
	}
	r->line[r->line_len++] = c;
	return 0;
}

int
smtpreply_feed(struct smtpreply *r, const char *data, size_t len,
    size_t *used, const char **errstr)
{
	size_t	i;
	int	n;

	if (r->done)
		smtpreply_init(r);
	for (i = 0; i < len; i++) {
		n = feed_byte(r, data[i], errstr);
		if (n == -1) {
			*used = i;
			return -1;
		}
		if (n == 1) {
			r->done = true;
			*used = i + 1;
			return 1;
		}
	}
	*used = len;
	return 0;
}

const char *
smtpreply_status(const struct smtpreply *r)
{
	if (r->enh[0] != '\0')
		return r->enh;
	switch (r->code / 100) {
	case 2:
	case 3:
		return "2.0.0";
	case 4:
		return "4.0.0";
	default:
		return "5.0.0";
	}
}

char *
smtpreply_clean(char *out, size_t outsz, const char *src, size_t len)
{
	size_t		i, o = 0;
	unsigned char	c;

	for (i = 0; i < len && o + 1 < outsz; i++) {
		c = (unsigned char)src[i];
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		if (c < 0x20 || c > 0x7e)
			continue;
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

char *
smtpreply_summary(const struct smtpreply *r, char *out, size_t outsz)
{
	size_t	n;

	if (outsz < 5) {
		if (outsz > 0)
			out[0] = '\0';
		return out;
	}
	out[0] = (char)('0' + r->code / 100);
	out[1] = (char)('0' + r->code / 10 % 10);
	out[2] = (char)('0' + r->code % 10);
	out[3] = ' ';
	smtpreply_clean(out + 4, outsz - 4, r->text, r->text_len);
	n = strlen(out);
	if (n == 4)
		out[3] = '\0';
	return out;
}

bool
smtpreply_line(const struct smtpreply *r, size_t n, const char **line_out,
    size_t *len_out)
{
	const char	*p = r->text, *end = r->text + r->text_len, *nl;
	size_t		 i;

	if (n >= r->nlines)
		return false;
	for (i = 0; i < n; i++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return false;
		p = nl + 1;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	*line_out = p;
	*len_out = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
	return true;
}
