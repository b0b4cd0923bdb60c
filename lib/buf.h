/* buf: a growable byte buffer with a hard maximum. */
#ifndef TERN_BUF_H
#define TERN_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * data is always NUL-terminated once anything was stored (data[len] == 0);
 * before that data may be NULL and buf_cstr() returns "".  len never
 * exceeds max; growth past max fails with E2BIG, allocation failure with
 * ENOMEM, and a failed call leaves the buffer unchanged.
 */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
};

/* An empty buffer that will hold at most max bytes (excluding the NUL). */
void	buf_init(struct buf *, size_t max);
/* Ensure room for extra more bytes: 0, or -1 with errno E2BIG/ENOMEM. */
int	buf_reserve(struct buf *, size_t extra);
/* Append bytes (may contain NUL): 0 or -1 (E2BIG, ENOMEM). */
int	buf_append(struct buf *, const void *, size_t);
int	buf_appends(struct buf *, const char *);
int	buf_appendc(struct buf *, char);
/* Append formatted text: 0 or -1 (E2BIG, ENOMEM, EINVAL). */
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* Remove the first n bytes (n > len is a contract violation: abort). */
void	buf_consume(struct buf *, size_t n);
/* Forget the contents, keep the allocation. */
void	buf_reset(struct buf *);
/* Truncate to n bytes (n <= len). */
void	buf_truncate(struct buf *, size_t n);
/* The contents as a C string ("" when empty). */
const char *buf_cstr(const struct buf *);
/* Free the memory (explicit_bzero first: buffers may hold secrets). */
void	buf_free(struct buf *);

#endif
