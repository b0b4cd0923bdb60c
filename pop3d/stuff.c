/*
 * stuff: a Maildir file (LF line ends) as POP3 sends it: CRLF line
 * ends, dot-stuffing (RFC 1939 3), TOP's header plus n lines.  The
 * byte count without the stuffing equals mscan_crlf's size.
 */
#include <string.h>

#include "pop3.h"

void
pop3_stuff_init(struct pop3_stuff *st, long long top)
{
	memset(st, 0, sizeof(*st));
	st->bol = true;
	st->header = true;
	st->top = top;
}

/* The end of one line (the LF at in[0]); false when TOP has enough. */
static bool
stuff_eol(struct pop3_stuff *st, bool blank)
{
	st->bol = true;
	if (st->header) {
		if (blank)
			st->header = false;
	} else if (st->top > 0)
		st->top--;
	if (!st->header && st->top == 0)
		st->stop = true;
	return !st->stop;
}

size_t
pop3_stuff_add(struct pop3_stuff *st, const char *in, size_t len,
    char *out)
{
	const char *p = in, *end = in + len, *nl;
	size_t o = 0, run;
	bool blank;

	while (p < end && !st->stop) {
		if (st->bol && *p == '.')
			out[o++] = '.';
		if (st->bol)
			st->linelen = 0;
		st->bol = false;
		nl = memchr(p, '\n', (size_t)(end - p));
		run = (size_t)((nl != NULL ? nl : end) - p);
		memcpy(out + o, p, run);
		o += run;
		if (run > 0) {
			st->cr = p[run - 1] == '\r';
			st->linelen = st->linelen + run > 2 ? 2 :
			    st->linelen + run;
		}
		st->raw += run;
		p += run;
		if (nl == NULL)
			break;
		/* "\r" alone before the LF still makes a blank line */
		blank = st->linelen == 0 || (st->linelen == 1 && st->cr);
		if (!st->cr)
			out[o++] = '\r';
		out[o++] = '\n';
		st->cr = false;
		st->raw++;
		p++;
		(void)stuff_eol(st, blank);
	}
	return o;
}

size_t
pop3_stuff_end(struct pop3_stuff *st, char *out)
{
	if (st->bol || st->stop)
		return 0;
	out[0] = '\r';
	out[1] = '\n';
	st->bol = true;
	return 2;
}
