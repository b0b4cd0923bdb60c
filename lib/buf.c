/* buf: a growable byte buffer with a hard maximum. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_MIN_CAP	64

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/*
 * cap counts the NUL, so a buffer of max bytes needs max + 1; growth
 * doubles to keep appends amortised O(1), but never past max + 1.
 */
int
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (__builtin_add_overflow(b->len, extra, &need) || need > b->max ||
	    __builtin_add_overflow(need, 1, &need)) {
		errno = E2BIG;
		return -1;
	}
	if (need <= b->cap && b->data != NULL)
		return 0;
	ncap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (ncap < need) {
		if (__builtin_mul_overflow(ncap, 2, &ncap)) {
			ncap = need;
			break;
		}
	}
	if (b->max < SIZE_MAX && ncap > b->max + 1)
		ncap = b->max + 1;
	if (ncap < need)
		ncap = need;
	if ((p = realloc(b->data, ncap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_appends(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_appendc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * Format into the free space first; only when that is too small reserve
 * the exact size and format again.  On failure restore the NUL that
 * vsnprintf may have overwritten, so the buffer is unchanged.
 */
int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t avail;
	int n;

	if (buf_reserve(b, 0) == -1)
		return -1;
	avail = b->cap - b->len;
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, avail, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->data[b->len] = '\0';
		errno = EINVAL;
		return -1;
	}
	if ((size_t)n >= avail) {
		b->data[b->len] = '\0';
		if (buf_reserve(b, (size_t)n) == -1)
			return -1;
		va_copy(ap2, ap);
		n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
		va_end(ap2);
		if (n < 0) {
			b->data[b->len] = '\0';
			errno = EINVAL;
			return -1;
		}
	}
	b->len += (size_t)n;
	return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		abort();
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_truncate(struct buf *b, size_t n)
{
	if (n > b->len)
		abort();
	b->len = n;
	if (b->data != NULL)
		b->data[n] = '\0';
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
