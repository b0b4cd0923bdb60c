/* line: read lines from an fd with a hard maximum and a deadline. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "line.h"

#define LINE_SLACK	4096	/* readahead beyond the longest line */

int
line_init(struct linereader *lr, int fd, size_t max)
{
	size_t cap;

	/* max + CR + LF + NUL, plus room to read ahead. */
	if (__builtin_add_overflow(max, LINE_SLACK + 3, &cap)) {
		errno = ENOMEM;
		return -1;
	}
	lr->fd = fd;
	if ((lr->buf = malloc(cap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	lr->cap = cap;
	lr->start = lr->end = 0;
	lr->max = max;
	lr->discarding = false;
	return 0;
}

void
line_free(struct linereader *lr)
{
	free(lr->buf);
	lr->buf = NULL;
	lr->cap = lr->start = lr->end = 0;
}

int64_t
line_deadline(int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms;
}

size_t
line_pending(const struct linereader *lr)
{
	return lr->end - lr->start;
}

void
line_discard(struct linereader *lr)
{
	lr->start = lr->end = 0;
}

/*
 * Read more bytes after lr->end (moving pending bytes to the front
 * first).  Returns the count, 0 at EOF, -1 on error.  One byte always
 * stays free for the NUL of an unterminated last line.
 */
static ssize_t
line_fill(struct linereader *lr, int64_t deadline_ms)
{
	ssize_t n;

	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
		lr->end -= lr->start;
		lr->start = 0;
	}
	for (;;) {
		if (deadline_ms != 0 && io_wait(lr->fd, POLLIN, deadline_ms) == -1)
			return -1;
		n = read(lr->fd, lr->buf + lr->end, lr->cap - 1 - lr->end);
		if (n >= 0) {
			lr->end += (size_t)n;
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		/* A non-blocking fd without a deadline: wait for ever. */
		if (deadline_ms == 0 && io_wait(lr->fd, POLLIN, 0) == -1)
			return -1;
	}
}

/* Inside a line there is no LF, so every CR there is a bare CR. */
static int
line_content_flags(const char *p, size_t len)
{
	int flags = 0;

	if (memchr(p, '\r', len) != NULL)
		flags |= LINE_BARE_CR;
	if (memchr(p, '\0', len) != NULL)
		flags |= LINE_NUL;
	return flags;
}

/* Hand out the line that ends with the LF at buf[nl]. */
static int
line_take(struct linereader *lr, size_t nl, char **line_out,
    size_t *len_out, int *flags_out)
{
	char *p = lr->buf + lr->start;
	size_t len = nl - lr->start;
	int flags = LINE_BARE_LF;

	if (len > 0 && p[len - 1] == '\r') {
		len--;
		flags = LINE_CRLF;
	}
	lr->start = nl + 1;
	if (len > lr->max) {
		errno = EMSGSIZE;
		return -1;
	}
	p[len] = '\0';
	*line_out = p;
	*len_out = len;
	*flags_out = flags | line_content_flags(p, len);
	return 1;
}

/* EOF: the unterminated rest is the last line. */
static int
line_eof(struct linereader *lr, char **line_out, size_t *len_out,
    int *flags_out)
{
	char *p = lr->buf + lr->start;
	size_t len = lr->end - lr->start;

	lr->start = lr->end = 0;
	if (lr->discarding) {
		lr->discarding = false;
		return 0;
	}
	if (len == 0)
		return 0;
	if (len > lr->max) {
		errno = EMSGSIZE;
		return -1;
	}
	p[len] = '\0';
	*line_out = p;
	*len_out = len;
	*flags_out = LINE_EOF | line_content_flags(p, len);
	return 1;
}

/*
 * Without an LF, max + 1 pending bytes can still be a line of max bytes
 * whose CR arrived before its LF; anything more is too long for sure.
 */
static bool
line_too_long(const struct linereader *lr)
{
	size_t pending = lr->end - lr->start;

	if (pending <= lr->max)
		return false;
	return pending > lr->max + 1 || lr->buf[lr->end - 1] != '\r';
}

int
line_read(struct linereader *lr, int64_t deadline_ms, char **line_out,
    size_t *len_out, int *flags_out)
{
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
		if (lr->discarding && nl != NULL) {
			lr->start = (size_t)(nl - lr->buf) + 1;
			lr->discarding = false;
			continue;
		}
		if (lr->discarding)
			lr->start = lr->end = 0;
		else if (nl != NULL)
			return line_take(lr, (size_t)(nl - lr->buf), line_out,
			    len_out, flags_out);
		else if (line_too_long(lr)) {
			/* Report now, skip the rest as it arrives. */
			lr->start = lr->end = 0;
			lr->discarding = true;
			errno = EMSGSIZE;
			return -1;
		}
		if ((n = line_fill(lr, deadline_ms)) == -1)
			return -1;
		if (n == 0)
			return line_eof(lr, line_out, len_out, flags_out);
	}
}
