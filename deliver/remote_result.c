/* remote_result: tern-remote's per-recipient and message results. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rec.h"
#include "remote.h"

static void
set_vtext(char *text, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
set_vtext(char *text, const char *fmt, va_list ap)
{
	char	raw[REMOTE_TEXT_MAX * 4];

	if (vsnprintf(raw, sizeof(raw), fmt, ap) < 0)
		raw[0] = '\0';
	smtpreply_clean(text, REMOTE_TEXT_MAX + 1, raw, strlen(raw));
}

void
remote_rcpt_set(struct remote_rcpt *rc, char letter, const char *status,
    const char *fmt, ...)
{
	va_list	ap;

	rc->letter = letter;
	strlcpy(rc->status, status, sizeof(rc->status));
	va_start(ap, fmt);
	set_vtext(rc->text, fmt, ap);
	va_end(ap);
}

void
remote_msg_set(struct remote *r, char letter, const char *status,
    const char *fmt, ...)
{
	va_list	ap;

	r->mletter = letter;
	strlcpy(r->mstatus, status, sizeof(r->mstatus));
	va_start(ap, fmt);
	set_vtext(r->mtext, fmt, ap);
	va_end(ap);
}

void
remote_rest_set(struct remote *r, char letter, const char *status,
    const char *text)
{
	size_t	i;

	for (i = 0; i < r->nrcpts; i++)
		if (r->rcpts[i].letter == 0)
			remote_rcpt_set(&r->rcpts[i], letter, status, "%s",
			    text);
}

static int
put3(struct buf *out, const char *first, char letter, const char *status,
    const char *text)
{
	char	l[3];

	l[0] = first != NULL ? first[0] : letter;
	l[1] = first != NULL ? letter : '\0';
	l[2] = '\0';
	return rec_put(out, l) == -1 || rec_put(out, status) == -1 ||
	    rec_put(out, text) == -1 ? -1 : 0;
}

int
remote_results_format(const struct remote *r, struct buf *out)
{
	const struct remote_rcpt	*rc;
	size_t				 i;

	for (i = 0; i < r->nrcpts; i++) {
		rc = &r->rcpts[i];
		if (put3(out, NULL, rc->letter ? rc->letter : 'Z',
		    rc->letter ? rc->status : "4.3.0",
		    rc->letter ? rc->text : "no result") == -1)
			return -1;
	}
	return put3(out, "M", r->mletter ? r->mletter : 'Z',
	    r->mletter ? r->mstatus : "4.3.0",
	    r->mletter ? r->mtext : "no result");
}

bool
remote_xtext_ok(const char *s)
{
	size_t		i, n = strlen(s);
	unsigned char	c;

	if (n == 0 || n > REMOTE_XTEXT_MAX)
		return false;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e || c == '=')
			return false;
		if (c == '+' && (i + 2 >= n ||
		    strchr("0123456789ABCDEF", s[i + 1]) == NULL ||
		    strchr("0123456789ABCDEF", s[i + 2]) == NULL ||
		    s[i + 1] == '\0' || s[i + 2] == '\0'))
			return false;
	}
	return true;
}

void
remote_job_load(struct remote *r, size_t k)
{
	const struct remote_job	*j = &r->jobs[k];

	r->sender = j->sender;
	r->ret = j->ret;
	r->envid = j->envid;
	r->rcpts = j->rcpts;
	r->nrcpts = j->nrcpts;
	r->msgfd = j->msgfd;
	r->msgsize = j->msgsize;
	r->eightbit = j->eightbit;
	r->needutf8 = j->needutf8;
	r->mletter = j->mletter;
	memcpy(r->mstatus, j->mstatus, sizeof(r->mstatus));
	memcpy(r->mtext, j->mtext, sizeof(r->mtext));
}

void
remote_job_save(struct remote *r, size_t k)
{
	struct remote_job	*j = &r->jobs[k];

	j->msgsize = r->msgsize;
	j->eightbit = r->eightbit;
	j->needutf8 = r->needutf8;
	j->mletter = r->mletter;
	memcpy(j->mstatus, r->mstatus, sizeof(j->mstatus));
	memcpy(j->mtext, r->mtext, sizeof(j->mtext));
}
