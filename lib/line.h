/* line: read lines from an fd with a hard maximum and a deadline. */
#ifndef TERN_LINE_H
#define TERN_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a line ended, and what it contained (bits of line.flags). */
#define LINE_CRLF	0x01	/* ended with CR LF */
#define LINE_BARE_LF	0x02	/* ended with LF not preceded by CR */
#define LINE_BARE_CR	0x04	/* a CR not followed by LF inside the line */
#define LINE_NUL	0x08	/* a NUL byte inside the line */
#define LINE_EOF	0x10	/* last line had no terminator before EOF */

struct linereader {
	int	 fd;
	char	*buf;		/* readahead; cap bytes */
	size_t	 cap;
	size_t	 start;		/* first unconsumed byte */
	size_t	 end;		/* one past the last buffered byte */
	size_t	 max;		/* longest line accepted, terminator excluded */
	bool	 discarding;	/* skipping the rest of an over-long line */
};

/*
 * Set up a reader on fd for lines of at most max bytes (terminator not
 * counted).  Allocates about max + 4 KiB.  0, or -1 with ENOMEM.
 */
int	line_init(struct linereader *, int fd, size_t max);
void	line_free(struct linereader *);

/*
 * Read one line.  deadline_ms is an absolute CLOCK_MONOTONIC time in
 * milliseconds (see line_deadline), or 0 for none.
 * Returns 1 with *line_out pointing at the line inside the reader (valid
 * until the next call, NUL-terminated, terminator stripped: CRLF, or LF,
 * or nothing at EOF), *len_out its length and *flags_out the LINE_* bits.
 * Returns 0 at a clean EOF (no bytes pending).
 * Returns -1 with errno: ETIMEDOUT deadline passed; EMSGSIZE the line is
 * longer than max (the reader then skips to the end of that line, so the
 * next call returns the following line); EIO/ECONNRESET/... from read(2).
 * EINTR is retried internally.
 */
int	line_read(struct linereader *, int64_t deadline_ms,
	    char **line_out, size_t *len_out, int *flags_out);

/* Bytes buffered but not yet returned (e.g. pipelined after STARTTLS). */
size_t	line_pending(const struct linereader *);
/* Drop every buffered byte. */
void	line_discard(struct linereader *);

/* Now on CLOCK_MONOTONIC in milliseconds, plus ms. */
int64_t	line_deadline(int64_t ms);

#endif
