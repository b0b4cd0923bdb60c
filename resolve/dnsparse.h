/* dnsparse: bounded parsers for DNS names and the rdata tern-resolve uses. */
#ifndef TERN_DNSPARSE_H
#define TERN_DNSPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DNS_WIRE_NAME_MAX	255	/* RFC 1035 2.3.4 */
#define DNS_LABEL_MAX		63	/* RFC 1035 2.3.4 */
#define DNS_TEXT_NAME_MAX	253	/* wire 255 minus length and root */
#define DNS_TLSA_DATA_MAX	4096	/* cert association data we pass on */

#define DNS_T_A		1
#define DNS_T_MX	15
#define DNS_T_AAAA	28
#define DNS_T_TLSA	52

/*
 * Read an uncompressed wire-format name from p[0..len) (rdata as
 * libunbound gives it: names are already decompressed there).  On
 * success returns 0, writes the name in lower case without the final
 * dot into out ("" for the root) and sets *used to the bytes read.
 * Fails with -1 for: a compression pointer or an extended label type,
 * a label running past len, a name over DNS_WIRE_NAME_MAX octets, or a
 * byte other than letters, digits, '-' and '_' (such a name is never a
 * host name, and refusing it means no escaping is needed), or an out
 * smaller than the name.  Reads at most DNS_WIRE_NAME_MAX bytes.
 */
int	dns_name_read(const uint8_t *p, size_t len, size_t *used, char *out,
	    size_t outsz);

/*
 * True when name (no final dot) is a host name usable as an MX target
 * or an SMTP destination: 1-63 byte labels of letters, digits and '-'
 * not at either end of a label, at most DNS_TEXT_NAME_MAX bytes, not
 * the root, and a last label that is not all digits (RFC 3696 2), so
 * "10.0.0.1" is not a host name.  A single label is allowed.
 */
bool	dns_hostname_ok(const char *name);

/*
 * True when name is acceptable as a query: like dns_hostname_ok but
 * labels may also contain and start with '_' (TLSA "_25._tcp.host") and
 * the last label may be numeric (A lookups of odd names are the
 * caller's business).  One final '.' is allowed.
 */
bool	dns_qname_ok(const char *name);

/*
 * MX rdata: preference and exchange.  0 with *pref and host (lower
 * case, "" for the root name "."), or -1 for malformed rdata (short,
 * bad name, bytes after the name).
 */
int	dns_mx_parse(const uint8_t *rd, size_t len, uint16_t *pref,
	    char *host, size_t hostsz);

/* A (4 bytes) or AAAA (16 bytes) rdata as text: 0, or -1 wrong length. */
int	dns_addr_parse(int type, const uint8_t *rd, size_t len, char *out,
	    size_t outsz);

/*
 * TLSA rdata (RFC 6698 2.1) as "usage selector mtype hex" appended to
 * out: 0, or -1 when shorter than 4 bytes or with more than
 * DNS_TLSA_DATA_MAX bytes of association data (EINVAL), or buf errors.
 */
int	dns_tlsa_format(const uint8_t *rd, size_t len, struct buf *out);

#endif
