/* classify: turn libunbound results into tern-resolve replies. */
#ifndef TERN_CLASSIFY_H
#define TERN_CLASSIFY_H

#include <stdbool.h>
#include <unbound.h>

#include "dnsproto.h"

/* What one lookup gave. */
enum dns_kind {
	DK_DATA,	/* NOERROR with records of the type asked */
	DK_NODATA,	/* NOERROR, the name exists, no such records */
	DK_NXDOMAIN,	/* the name does not exist */
	DK_TEMP,	/* SERVFAIL, REFUSED, other rcodes, resolver errors */
	DK_BOGUS	/* DNSSEC validation failed (data or not) */
};

/*
 * One finished lookup: err and res as libunbound's callback gave them
 * (res may be NULL when err is not 0), or timedout for a lookup that
 * tern-resolve gave up on.
 */
struct dns_look {
	int			 err;
	const struct ub_result	*res;
	bool			 timedout;
};

/*
 * Classify a lookup; *why gets a short reason for DK_TEMP and DK_BOGUS
 * ("SERVFAIL", "timed out", libunbound's why_bogus).  A result with
 * data but an rcode other than NOERROR is DK_TEMP; bogus wins over
 * everything but a resolver error.
 */
enum dns_kind dns_kind(const struct dns_look *, const char **why);

/*
 * The reply to an "mx" request from its MX lookup.  Returns 1 when the
 * reply is final, 0 when the MX RRset is empty (NODATA) and the address
 * lookups for an implicit MX must follow (dns_implicit_reply).  Final
 * replies: K with M records "pref host" sorted by preference (stable),
 * names that are not host names skipped, at most DNSP_RECS_MAX; D
 * 5.1.10 for a null MX (one MX record, preference 0, exchange "."); D
 * 5.4.4 when every MX name was skipped; D 5.1.2 for NXDOMAIN; Z 4.4.3
 * for DK_TEMP and DK_BOGUS.
 */
int	dns_mx_reply(const struct dns_look *, struct dnsp_reply *out);

/*
 * The reply to an "a", "aaaa" or "addr" request from its lookups (n is
 * 1 or 2; for addr the AAAA lookup comes first).  K with A records as
 * soon as one lookup has addresses (a temporary failure of the other is
 * then only noted in the text, a bogus one is not forgiven); Z 4.4.3 on
 * any bogus answer or a temporary failure without addresses; otherwise D
 * 5.1.2 (NXDOMAIN, or no address records).  secure only when every
 * lookup was validated.
 */
void	dns_addr_reply(const struct dns_look *looks, int n,
	    struct dnsp_reply *out);

/*
 * Finish an "mx" request whose MX lookup (mx) was NODATA from the
 * address lookups of the domain itself (RFC 5321 5.1): K with the I
 * record and "0 <name>" when there is an address, otherwise as
 * dns_addr_reply but with D 5.1.2 "no MX and no address records".
 */
void	dns_implicit_reply(const struct dns_look *mx,
	    const struct dns_look *looks, int n, const char *name,
	    struct dnsp_reply *out);

/*
 * The reply to a "tlsa" request: K with T records (possibly none: NXDOMAIN
 * and NODATA are "no TLSA records", with the S record telling whether
 * that denial was validated); Z 4.4.3 on DK_TEMP and DK_BOGUS.  Records
 * that do not parse are skipped.
 */
void	dns_tlsa_reply(const struct dns_look *, struct dnsp_reply *out);

#endif
