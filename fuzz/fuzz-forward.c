/*
 * fuzz-forward: fwd_parse_target on every line of arbitrary bytes, as
 * tern-local reads a forward file.  The first byte picks whether a home
 * directory and a default domain are given.  Accepted targets must keep
 * alias.h's promises: bounded, NUL-terminated, no control characters,
 * a Maildir path absolute and ending in '/', a command not empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alias.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct fwd_target *t)
{
	size_t			 len = strlen(t->text), i;
	const unsigned char	*p = (const unsigned char *)t->text;

	if (len > ALIAS_TARGET_MAX)
		abort();
	for (i = 0; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			abort();
	switch (t->kind) {
	case FWD_SKIP:
		break;
	case FWD_PIPE:
		if (len == 0)
			abort();
		break;
	case FWD_MAILDIR:
		if (len < 1 || p[0] != '/' || p[len - 1] != '/')
			abort();
		break;
	case FWD_ADDR:
		if (len == 0 || strchr(t->text, '@') == NULL)
			abort();
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fwd_target	 t;
	const char		*s, *end, *eol, *err, *home, *dom;

	if (len == 0)
		return 0;
	home = (data[0] & 1) ? "/home/fuzz" : NULL;
	dom = (data[0] & 2) ? "fuzz.test" : NULL;
	s = (const char *)data + 1;
	end = (const char *)data + len;
	for (; s < end; s = eol != NULL ? eol + 1 : end) {
		eol = memchr(s, '\n', (size_t)(end - s));
		if (fwd_parse_target(s, eol != NULL ? (size_t)(eol - s) :
		    (size_t)(end - s), home, dom, &t, &err) == 0)
			check(&t);
		else if (err == NULL)
			abort();
	}
	return 0;
}
