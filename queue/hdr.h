/* hdr: an RFC 5322 header section and address lists, as sendmail reads them. */
#ifndef TERN_HDR_H
#define TERN_HDR_H

#include <stdbool.h>
#include <stddef.h>

#define HDR_LINE_MAX	998		/* RFC 5322 2.1.1, LF excluded */
#define HDR_SECTION_MAX	(1024 * 1024)	/* our limit on the header section */
#define HDR_FIELDS_MAX	10000		/* our limit on fields */

/* One header field: offsets into the section the parser was given. */
struct hdr_field {
	size_t	off;		/* first byte of the field name */
	size_t	len;		/* whole field, continuation lines and LF */
	size_t	name_len;	/* the name, without blanks before ':' */
	size_t	value_off;	/* first byte after the ':' */
	bool	drop;		/* not to be written out (Bcc) */
};

struct hdr {
	struct hdr_field *f;
	size_t	 n;
	size_t	 cap;
	size_t	 end;		/* bytes of the fields, empty line excluded */
	size_t	 body;		/* where the body starts */
	bool	 none;		/* the first line is no field: all is body */
};

/*
 * Parse the start of a message with LF line ends, data[0..len).  The
 * header section ends at the first empty line, or at the end of data
 * when complete is true (a message without body); when complete is false
 * and no empty line was seen within len bytes, that is "header section
 * too large" (EFBIG).  When the first line is not a header field (no
 * "name:" with a printable name), the message has no header section:
 * out->none is set and out->body is 0.  A later line that is neither a
 * field nor a continuation (starts with SP or HT), a NUL byte in the
 * header section, a line longer than HDR_LINE_MAX or more than
 * HDR_FIELDS_MAX fields is an error: -1 with errno EINVAL (EFBIG, E2BIG
 * for the limits) and *errstr an English reason.  ENOMEM: *errstr is set
 * too.  On success returns 0; free out with hdr_free.
 */
int	hdr_parse(const char *data, size_t len, bool complete, struct hdr *out,
	    const char **errstr);
void	hdr_free(struct hdr *);

/* True when field f of the section data is named name (ASCII, any case). */
bool	hdr_is(const char *data, const struct hdr_field *f, const char *name);

/* True when any field is named name. */
bool	hdr_has(const char *data, const struct hdr *, const char *name);

/*
 * Called by hdr_addrlist for each mailbox: spec[0..len) is its addr-spec
 * with comments and folding whitespace removed (quoted strings and
 * domain literals kept as written).  Return 0 to go on, or -1 with
 * *errstr set to stop the parse (hdr_addrlist then returns -1).
 */
typedef int (*hdr_addr_fn)(void *arg, const char *spec, size_t len,
    const char **errstr);

#define HDR_ADDR_MAX	2048	/* one addr-spec (ours; paths are 256) */

/*
 * Parse an RFC 5322 address-list (3.4; obs-addr-list empty elements are
 * skipped): mailboxes "a@b", name-addrs "Name <a@b>" (a source route
 * "<@x,@y:a@b>" is dropped), groups "name: a@b, c@d;" including empty
 * ones ("undisclosed-recipients:;"), with comments "(...)" (nested, with
 * quoted pairs) and folding whitespace anywhere between tokens.  Calls
 * fn for each mailbox in order.  0 on success; -1 with *errstr on a
 * syntax error (unterminated quote, comment or literal, a display name
 * without address, "<>" or an unbalanced bracket, a group in a group, a
 * group without a name or not closed with ';', words before ':' or '<'
 * that are no phrase (an '@' or a domain literal: "a@b: c@d;" never
 * loses a@b silently), a NUL or control byte other than blanks and LF)
 * or when fn fails.
 */
int	hdr_addrlist(const char *in, size_t len, hdr_addr_fn fn, void *arg,
	    const char **errstr);

#endif
