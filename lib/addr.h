/* addr: RFC 5321 paths and mailboxes in a canonical form. */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_PATH_MAX	256	/* RFC 5321 4.5.3.1.3, brackets included */
/* Room for any canonical address plus its NUL. */
#define ADDR_BUF	(ADDR_PATH_MAX + 1)

/* Flags for the parsers. */
#define ADDR_NULL_OK	0x01	/* "<>" allowed (MAIL FROM): canonical "" */
#define ADDR_UTF8	0x02	/* UTF-8 in local part and domain (SMTPUTF8) */
#define ADDR_POSTMASTER	0x04	/* bare "<Postmaster>" allowed (RCPT TO) */

/*
 * Canonical form: local@domain.  The local part is kept exactly (case
 * preserved) and written as a dot-string when it is one, otherwise as a
 * quoted string with only the necessary backslashes ("a b"@x, "a\"b"@x;
 * "abc"@x becomes abc@x).  The domain is lowercased (ASCII only, UTF-8
 * labels are kept as given), a trailing dot removed; an address literal
 * is kept in brackets with IPv4 dotted quads in plain decimal
 * ("[10.0.0.1]" for "[010.0.0.1]") and IPv6 written by inet_ntop
 * ("[IPv6:2001:db8::1]"); General-address-literals ("[tag:...]") are
 * rejected.  Source routes (<@a,@b:u@d>) are checked and dropped.
 * "<Postmaster>" canonicalises to "postmaster" (no domain).  No
 * canonical address contains CR, LF, NUL, a space outside quotes, a
 * character below 0x20, DEL, a C1 control (U+0080-U+009F) or malformed
 * UTF-8 (overlong forms, surrogates, above U+10FFFF); bytes >= 0x80
 * appear only with ADDR_UTF8.  The quoted local part is at most
 * ADDR_LOCAL_MAX bytes, the domain ADDR_DOMAIN_MAX, each label 63, and
 * "<" canonical ">" at most ADDR_PATH_MAX.
 */

/*
 * Parse an SMTP path "<...>" starting at in[0] (no leading spaces).
 * On success returns 0, writes the canonical address to out (outsz >=
 * ADDR_BUF suffices) and sets *end_out to the first byte after '>'
 * (where ESMTP parameters start).  On failure returns -1 and sets
 * *errstr to a short English reason ("unbalanced quotes", "domain too
 * long", ...) suitable for a 501 reply; errno is EINVAL, or ENAMETOOLONG
 * for a length limit (for qmail-queue's exit 11): local part, domain,
 * label, the path as written (source route included) over ADDR_PATH_MAX,
 * or a canonical form that does not fit out.  Whatever follows '>' is
 * not looked at.  out and *end_out are changed only on success; end_out
 * and errstr may be NULL.
 */
int	addr_parse_path(const char *in, size_t len, int flags,
	    char *out, size_t outsz, size_t *end_out, const char **errstr);

/*
 * Parse a bare mailbox "local@domain" (no brackets, no route, the whole
 * of in[0..len) ), as given on a sendmail command line, in an alias or
 * forward file.  A mailbox without '@' is accepted only when
 * default_domain is not NULL, which is then appended (it is checked like
 * any domain), or, with ADDR_POSTMASTER and no default_domain, when it is
 * "postmaster" (any case).  With ADDR_NULL_OK an empty input gives "".
 * An input starting with '<' is parsed as a whole path instead (sendmail
 * -f '<a@b>', -f '<>'), nothing may follow its '>'.  Same canonical
 * form, return values and errors as addr_parse_path.
 */
int	addr_parse_mailbox(const char *in, size_t len, int flags,
	    const char *default_domain, char *out, size_t outsz,
	    const char **errstr);

/* The domain of a canonical address (after its last '@'), or NULL. */
const char *addr_domain(const char *canon);
/* Length of the local part of a canonical address (up to its last '@'). */
size_t	addr_local_len(const char *canon);
/* True when the canonical address contains bytes >= 0x80. */
bool	addr_is_utf8(const char *canon);
/* ASCII case-insensitive comparison of two domains. */
bool	addr_domain_eq(const char *, const char *);

#endif
