/* send_proto: the pipe protocol between tern-send and tern-lspawn. */
#ifndef TERN_SEND_PROTO_H
#define TERN_SEND_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SEND_TEXT_MAX	400	/* result text, internals.md */
#define SEND_STATUS_MAX	15	/* "x.yyy.zzz", RFC 3463 section 2 */
#define SEND_SLOT_DIGITS 9	/* a slot number has at most this many */
/* The longest well-formed result, with every NUL counted. */
#define SEND_RESULT_MAX	(SEND_SLOT_DIGITS + 1 + 2 + SEND_STATUS_MAX + 1 + \
	    SEND_TEXT_MAX + 1 + 1)

/* One result of tern-lspawn. */
struct send_result {
	unsigned	 slot;
	char		 code;		/* K done, Z temporary, D permanent */
	char		 status[SEND_STATUS_MAX + 1];	/* "x.y.z" */
	char		 text[SEND_TEXT_MAX + 1];	/* printable ASCII */
};

/*
 * Append the request "<slot>\0<id>\0<sender>\0<recipient>\0<flag>\0\0"
 * to out, flag "c" when check (the recipient was found in state P: a
 * delivery may have happened, tern-local must look before it writes),
 * else "-".  id, sender and rcpt must not contain NUL, CR or LF (they
 * come from an envelope that was parsed); sender may be "".  0, or -1
 * with errno (EINVAL for a bad field, buf errors).
 */
int	send_request_format(struct buf *out, unsigned slot, const char *id,
	    const char *sender, const char *rcpt, bool check);

/*
 * Parse the result at the start of data[0..len):
 * "<slot>\0<K|Z|D>\0<status>\0<text>\0\0".  Returns 1 with *out filled
 * and *used_out the bytes it took; 0 when data holds only the start of a
 * result (read more); -1 with *errstr when the bytes can never become a
 * valid result (bad slot number, unknown letter, status not x.y.z, text
 * over SEND_TEXT_MAX, a missing final empty field).  Bytes of the text
 * outside printable ASCII become '?'.
 */
int	send_result_parse(const char *data, size_t len, size_t *used_out,
	    struct send_result *out, const char **errstr);

/*
 * True when s looks like an RFC 3463 status code: class 2, 4 or 5, then
 * ".subject.detail" with 1 to 3 digits each.
 */
bool	send_status_valid(const char *s);

#endif
