/* rec: NUL-terminated records, the format of envelopes and pipes. */
#include <errno.h>
#include <string.h>

#include "rec.h"

int
rec_next(const char *data, size_t len, size_t *pos, size_t max,
    const char **rec_out, size_t *len_out)
{
	const char *p, *nul;
	size_t n;

	if (*pos == len)
		return 0;
	if (*pos > len) {
		errno = EINVAL;
		return -1;
	}
	p = data + *pos;
	if ((nul = memchr(p, '\0', len - *pos)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	n = (size_t)(nul - p);
	if (n > max) {
		errno = EMSGSIZE;
		return -1;
	}
	if (!rec_clean(p, n)) {
		errno = EINVAL;
		return -1;
	}
	*rec_out = p;
	*len_out = n;
	*pos += n + 1;
	return 1;
}

bool
rec_clean(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
			return false;
	return true;
}

int
rec_put(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (!rec_clean(s, n)) {
		errno = EINVAL;
		return -1;
	}
	/* The NUL is part of the record: one append keeps it atomic. */
	return buf_append(b, s, n + 1);
}

int
rec_put_tag(struct buf *b, char tag, const char *s)
{
	size_t n = strlen(s), need;

	if (tag == '\0' || tag == '\r' || tag == '\n' || !rec_clean(s, n)) {
		errno = EINVAL;
		return -1;
	}
	if (__builtin_add_overflow(n, 2, &need)) {
		errno = E2BIG;
		return -1;
	}
	if (buf_reserve(b, need) == -1)
		return -1;
	/* Cannot fail after the reserve above. */
	(void)buf_appendc(b, tag);
	(void)buf_append(b, s, n + 1);
	return 0;
}
