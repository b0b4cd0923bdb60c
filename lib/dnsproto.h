/* dnsproto: the pipe protocol of tern-resolve (see tern-resolve(8)). */
#ifndef TERN_DNSPROTO_H
#define TERN_DNSPROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define DNSP_NAME_MAX	253		/* RFC 1035 2.3.4 (255 octets wire) */
#define DNSP_ID_MAX	999999999UL	/* request ids are 1 to 9 digits */
#define DNSP_REQ_MAX	512		/* one request frame, NULs included */
#define DNSP_TEXT_MAX	400		/* the text field of a reply */
#define DNSP_REPLY_MAX	(256 * 1024)	/* one reply frame */
#define DNSP_RECS_MAX	100		/* data records in one reply */

/* Query types of a request (the type field, lower case). */
enum dnsp_type {
	DNSP_MX,	/* "mx": MX hosts, implicit MX, null MX */
	DNSP_A,		/* "a" */
	DNSP_AAAA,	/* "aaaa" */
	DNSP_ADDR,	/* "addr": AAAA and A together */
	DNSP_TLSA	/* "tlsa" */
};

/* DNSSEC state of a reply's data (the S record). */
enum dnsp_sec {
	DNSP_INSECURE,	/* "Sinsecure": not signed, or no trust anchor */
	DNSP_SECURE,	/* "Ssecure": validated */
	DNSP_BOGUS	/* "Sbogus": validation failed (always with Z) */
};

/*
 * A request: "<id>\0<type>\0<name>\0\0".  name is kept as given (it is
 * checked by the resolver, which answers a bad name with D 5.1.2).
 */
struct dnsp_req {
	unsigned long	id;
	enum dnsp_type	type;
	/* a final '.' allowed */
	char		name[DNSP_NAME_MAX + 2];
};

/*
 * Take one request from data[0..len).  Returns 1 with *out filled and
 * *used the frame's length; 0 when the bytes so far are the start of a
 * frame that has not fully arrived (and are shorter than DNSP_REQ_MAX);
 * -1 with *errstr when the bytes can never become a valid frame: a
 * frame longer than DNSP_REQ_MAX, an id that is not 1-9 decimal digits
 * (no leading zero unless "0"), an unknown type, an empty or overlong
 * name, CR, LF or a byte outside printable ASCII in a field, or a
 * missing final empty record.
 */
int	dnsp_req_parse(const char *data, size_t len, size_t *used,
	    struct dnsp_req *out, const char **errstr);

/* Append a request frame to out: 0, or -1 (EINVAL bad fields; buf errors). */
int	dnsp_req_format(struct buf *out, const struct dnsp_req *);

/* "mx", "a", ... for a type; the type for a name: 0, or -1 unknown. */
const char *dnsp_type_name(enum dnsp_type);
int	dnsp_type_parse(const char *s, enum dnsp_type *out);

/*
 * A reply as the resolver builds it.  recs holds the data records (tag
 * letter + value, each followed by NUL) in order; nrecs counts them.
 */
struct dnsp_reply {
	char		letter;			/* 'K', 'Z' or 'D' */
	char		status[10];		/* "2.0.0", "5.1.10" */
	char		text[DNSP_TEXT_MAX + 1];
	enum dnsp_sec	sec;
	bool		implicit;		/* the I record (MX only) */
	char		canon[DNSP_NAME_MAX + 1];	/* "" = none */
	struct buf	recs;
	size_t		nrecs;
};

/* An empty reply (K 2.0.0, insecure, no records); free with _free. */
void	dnsp_reply_init(struct dnsp_reply *);
void	dnsp_reply_free(struct dnsp_reply *);
/* Set letter, status and text (text cut at DNSP_TEXT_MAX, made printable). */
void	dnsp_reply_set(struct dnsp_reply *, char letter, const char *status,
	    const char *text);
/*
 * Add a data record "tag value": 0, or -1 with E2BIG past DNSP_RECS_MAX
 * records or DNSP_REPLY_MAX bytes, EINVAL for a value with a NUL, CR,
 * LF or a byte outside printable ASCII.
 */
int	dnsp_reply_add(struct dnsp_reply *, char tag, const char *value);
/* Forget the data records, I and C (a reply that turns into an error). */
void	dnsp_reply_clear(struct dnsp_reply *);

/*
 * Append the reply frame for request id to out:
 * "<id>\0<letter>\0<status>\0<text>\0S<sec>\0[I\0][C<canon>\0]<recs>\0".
 * 0, or -1 (buf errors).
 */
int	dnsp_reply_format(struct buf *out, unsigned long id,
	    const struct dnsp_reply *);

/* A reply frame as the client sees it; pointers go into the frame. */
struct dnsp_answer {
	unsigned long	 id;
	char		 letter;
	const char	*status;	/* NUL-terminated inside the data */
	const char	*text;
	enum dnsp_sec	 sec;
	bool		 implicit;
	const char	*canon;		/* NULL when absent */
	const char	*recs;		/* the M, A, T records, in order */
	size_t		 recs_len;	/* bytes of recs, NULs included */
	size_t		 nrecs;
};

/*
 * Take one reply frame from data[0..len): 1 with *out and *used, 0 for
 * an incomplete frame (shorter than DNSP_REPLY_MAX), -1 with *errstr
 * for bytes that cannot be a valid frame (bad id, letter, status, a
 * missing or repeated S record, an unknown tag, a record with CR, LF or
 * a non-printable byte, too many records, too long).
 */
int	dnsp_answer_parse(const char *data, size_t len, size_t *used,
	    struct dnsp_answer *out, const char **errstr);

/*
 * Walk the data records of an answer: 1 with *tag and *value (a C
 * string inside the frame), 0 at the end.  *pos starts at 0.
 */
int	dnsp_answer_next(const struct dnsp_answer *, size_t *pos, char *tag,
	    const char **value);

#endif
