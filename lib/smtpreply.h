/* smtpreply: a strict, bounded parser for SMTP replies (client side). */
#ifndef TERN_SMTPREPLY_H
#define TERN_SMTPREPLY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * RFC 5321 4.5.3.1.5 allows 512 octets per reply line; real servers
 * send longer ones, so we take up to 4 KiB and no more.
 */
#define SMTPREPLY_LINE_MAX	4096	/* one line, code and CRLF excluded */
#define SMTPREPLY_LINES_MAX	1000	/* lines in one multi-line reply */
#define SMTPREPLY_TEXT_MAX	(64 * 1024)	/* stored text of a reply */
#define SMTPREPLY_ENH_MAX	12	/* "5.123.123" and a NUL */

/*
 * One reply and the state of the parser that is assembling it.  Fixed
 * size: parsing never allocates.  After smtpreply_feed returned 1, code,
 * enh, nlines and text describe the reply until the next feed.
 */
struct smtpreply {
	int	code;			/* 200..559 */
	char	enh[SMTPREPLY_ENH_MAX];	/* first line's enhanced code or "" */
	size_t	nlines;
	size_t	text_len;
	/* the lines' text (after "NNN-" / "NNN "), joined by '\n' */
	char	text[SMTPREPLY_TEXT_MAX + 1];
	/* parser state */
	bool	done;			/* a reply is complete */
	bool	cr;			/* last byte was CR */
	size_t	line_len;
	char	line[SMTPREPLY_LINE_MAX + 8];
};

/* Make the parser ready for the first reply. */
void	smtpreply_init(struct smtpreply *);

/*
 * Feed data[0..len).  Returns 1 when a reply is complete (*used bytes
 * were taken, the rest belongs to later replies), 0 when all len bytes
 * were taken and the reply is not complete yet (*used == len), -1 with
 * *errstr when the bytes cannot be an SMTP reply: a line longer than
 * SMTPREPLY_LINE_MAX, more than SMTPREPLY_LINES_MAX lines, a code that
 * is not 3 digits in [2-5][0-5][0-9], a fourth byte other than ' ',
 * '-' or the line end, a code that changes inside a multi-line reply,
 * a NUL or a CR not followed by LF, or text beyond SMTPREPLY_TEXT_MAX.
 * Lines end in CRLF or a bare LF.  After -1 the stream is unusable
 * (the caller closes it); init again to reuse the struct.  The next
 * feed after a 1 starts a new reply.
 */
int	smtpreply_feed(struct smtpreply *, const char *data, size_t len,
	    size_t *used, const char **errstr);

/*
 * The enhanced status code (RFC 3463) of a complete reply: the one it
 * carried when its class matches the reply's, else derived from the
 * class: "2.0.0" (also for 3xx), "4.0.0", "5.0.0".
 */
const char *smtpreply_status(const struct smtpreply *);

/*
 * Write "<code> <text>" into out (outsz > 0), the lines joined by a
 * space, every byte outside printable ASCII dropped, runs of blanks
 * squeezed, cut to outsz - 1 bytes.  Returns out.
 */
char	*smtpreply_summary(const struct smtpreply *, char *out, size_t outsz);

/*
 * Copy src[0..len) into out as printable ASCII: control bytes, DEL and
 * bytes >= 0x80 dropped, CR/LF/TAB become one space, cut to outsz - 1
 * bytes.  Returns out.
 */
char	*smtpreply_clean(char *out, size_t outsz, const char *src,
	    size_t len);

/*
 * True when the text of line n (0-based) of a complete reply exists; it
 * is then in *line_out / *len_out (not NUL-terminated).  For EHLO.
 */
bool	smtpreply_line(const struct smtpreply *, size_t n,
	    const char **line_out, size_t *len_out);

#endif
