/* classify: turn libunbound results into tern-resolve replies. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify.h"
#include "dnsparse.h"

#define RCODE_NXDOMAIN	3	/* RFC 1035 4.1.1 */

/* An MX record kept for sorting; seq keeps equal preferences in order. */
struct mxent {
	uint16_t	pref;
	size_t		seq;
	char		host[DNS_TEXT_NAME_MAX + 1];
};

static const char *const rcode_names[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"
};

enum dns_kind
dns_kind(const struct dns_look *lk, const char **why)
{
	const struct ub_result	*r = lk->res;

	*why = "";
	if (lk->timedout) {
		*why = "timed out";
		return DK_TEMP;
	}
	if (lk->err != 0 || r == NULL) {
		*why = lk->err != 0 ? ub_strerror(lk->err) : "no result";
		return DK_TEMP;
	}
	if (r->bogus) {
		*why = r->why_bogus != NULL ? r->why_bogus : "bogus";
		return DK_BOGUS;
	}
	if (r->nxdomain || r->rcode == RCODE_NXDOMAIN)
		return DK_NXDOMAIN;
	if (r->rcode != 0) {
		*why = r->rcode > 0 && r->rcode < 6 ? rcode_names[r->rcode] :
		    "error rcode";
		return DK_TEMP;
	}
	if (r->havedata && r->data != NULL && r->data[0] != NULL)
		return DK_DATA;
	return DK_NODATA;
}

/* Z 4.4.3 for a temporary or bogus lookup. */
static void
temp_reply(enum dns_kind k, const char *why, struct dnsp_reply *out)
{
	char	text[DNSP_TEXT_MAX + 1];

	dnsp_reply_clear(out);
	out->sec = k == DK_BOGUS ? DNSP_BOGUS : DNSP_INSECURE;
	if (k == DK_BOGUS) {
		(void)snprintf(text, sizeof(text),
		    "DNSSEC validation failed: %s", why);
	} else
		(void)snprintf(text, sizeof(text), "DNS lookup failed: %s",
		    why);
	dnsp_reply_set(out, 'Z', "4.4.3", text);
}

/* The canonical name when CNAMEs were followed (a clean name only). */
static void
set_canon(const struct ub_result *r, struct dnsp_reply *out)
{
	char	c[DNS_TEXT_NAME_MAX + 2];
	size_t	i, n;

	if (r == NULL || r->canonname == NULL || r->qname == NULL ||
	    strlcpy(c, r->canonname, sizeof(c)) >= sizeof(c) ||
	    !dns_qname_ok(c))
		return;
	n = strlen(c);
	if (n > 0 && c[n - 1] == '.')
		c[--n] = '\0';
	for (i = 0; i < n; i++)
		c[i] = (char)tolower((unsigned char)c[i]);
	if (strncasecmp(c, r->qname, n) == 0 && (r->qname[n] == '\0' ||
	    (r->qname[n] == '.' && r->qname[n + 1] == '\0')))
		return;
	strlcpy(out->canon, c, sizeof(out->canon));
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct mxent	*x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Collect the usable MX records; *nullmx when the set is a null MX. */
static size_t
mx_collect(const struct ub_result *r, struct mxent *v, bool *nullmx)
{
	size_t		i, n = 0;
	uint16_t	pref;
	char		host[DNS_TEXT_NAME_MAX + 1];

	*nullmx = false;
	for (i = 0; r->data[i] != NULL && i < 65536; i++) {
		if (r->len[i] < 0 || dns_mx_parse((const uint8_t *)r->data[i],
		    (size_t)r->len[i], &pref, host, sizeof(host)) == -1)
			continue;
		if (host[0] == '\0' && pref == 0 && r->data[1] == NULL)
			*nullmx = true;
		if (!dns_hostname_ok(host) || n >= DNSP_RECS_MAX)
			continue;
		v[n].pref = pref;
		v[n].seq = i;
		strlcpy(v[n].host, host, sizeof(v[n].host));
		n++;
	}
	return n;
}

int
dns_mx_reply(const struct dns_look *lk, struct dnsp_reply *out)
{
	struct mxent	*v;
	const char	*why;
	char		 rec[DNS_TEXT_NAME_MAX + 8];
	enum dns_kind	 k;
	size_t		 i, n;
	bool		 nullmx;

	dnsp_reply_clear(out);
	switch ((k = dns_kind(lk, &why))) {
	case DK_TEMP:
	case DK_BOGUS:
		temp_reply(k, why, out);
		return 1;
	case DK_NXDOMAIN:
		out->sec = lk->res->secure ? DNSP_SECURE : DNSP_INSECURE;
		dnsp_reply_set(out, 'D', "5.1.2",
		    "domain does not exist (NXDOMAIN)");
		return 1;
	case DK_NODATA:
		return 0;
	case DK_DATA:
		break;
	}
	out->sec = lk->res->secure ? DNSP_SECURE : DNSP_INSECURE;
	set_canon(lk->res, out);
	if ((v = calloc(DNSP_RECS_MAX, sizeof(*v))) == NULL) {
		temp_reply(DK_TEMP, "out of memory", out);
		return 1;
	}
	n = mx_collect(lk->res, v, &nullmx);
	qsort(v, n, sizeof(*v), mx_cmp);
	if (nullmx)
		dnsp_reply_set(out, 'D', "5.1.10",
		    "domain does not accept mail (null MX, RFC 7505)");
	else if (n == 0)
		dnsp_reply_set(out, 'D', "5.4.4", "no valid MX host name");
	else
		dnsp_reply_set(out, 'K', "2.0.0", "MX");
	for (i = 0; !nullmx && i < n; i++) {
		(void)snprintf(rec, sizeof(rec), "%u %s", v[i].pref, v[i].host);
		(void)dnsp_reply_add(out, 'M', rec);
	}
	free(v);
	return 1;
}

/* Add the addresses of one lookup with data. */
static void
addr_add(const struct ub_result *r, struct dnsp_reply *out)
{
	char	a[64];
	size_t	i;

	for (i = 0; r->data[i] != NULL && i < 65536; i++)
		if (r->len[i] >= 0 && dns_addr_parse(r->qtype,
		    (const uint8_t *)r->data[i], (size_t)r->len[i], a,
		    sizeof(a)) == 0)
			(void)dnsp_reply_add(out, 'A', a);
}

void
dns_addr_reply(const struct dns_look *looks, int n, struct dnsp_reply *out)
{
	enum dns_kind	 k[2];
	const char	*why[2], *tempwhy = NULL;
	int		 i, bogus = -1;
	bool		 data = false, nx = true, secure = true;

	dnsp_reply_clear(out);
	for (i = 0; i < n && i < 2; i++) {
		k[i] = dns_kind(&looks[i], &why[i]);
		if (k[i] == DK_BOGUS && bogus == -1)
			bogus = i;
		if (k[i] == DK_TEMP && tempwhy == NULL)
			tempwhy = why[i];
		if (k[i] != DK_NXDOMAIN)
			nx = false;
		if (k[i] == DK_TEMP || k[i] == DK_BOGUS ||
		    !looks[i].res->secure)
			secure = false;
		if (k[i] == DK_DATA) {
			data = true;
			set_canon(looks[i].res, out);
			addr_add(looks[i].res, out);
		}
	}
	out->sec = secure ? DNSP_SECURE : DNSP_INSECURE;
	if (bogus != -1)
		temp_reply(DK_BOGUS, why[bogus], out);
	else if (data && out->nrecs == 0)
		temp_reply(DK_TEMP, "malformed address records", out);
	else if (data)
		dnsp_reply_set(out, 'K', "2.0.0", tempwhy == NULL ? "address" :
		    "address (partial: a lookup failed)");
	else if (tempwhy != NULL)
		temp_reply(DK_TEMP, tempwhy, out);
	else
		dnsp_reply_set(out, 'D', "5.1.2", nx ?
		    "domain does not exist (NXDOMAIN)" :
		    "no address records");
}

void
dns_implicit_reply(const struct dns_look *mx, const struct dns_look *looks,
    int n, const char *name, struct dnsp_reply *out)
{
	char	rec[DNS_TEXT_NAME_MAX + 8];
	size_t	len;
	bool	mxsecure = mx->res != NULL && mx->res->secure;

	dns_addr_reply(looks, n, out);
	if (out->letter == 'D')
		dnsp_reply_set(out, 'D', "5.1.2",
		    "no MX and no address records");
	if (out->letter != 'K')
		return;
	dnsp_reply_clear(out);
	set_canon(mx->res, out);
	if (!mxsecure)
		out->sec = DNSP_INSECURE;
	out->implicit = true;
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	(void)snprintf(rec, sizeof(rec), "0 %.*s", (int)len, name);
	for (len = 2; rec[len] != '\0'; len++)
		rec[len] = (char)tolower((unsigned char)rec[len]);
	dnsp_reply_set(out, 'K', "2.0.0", "implicit MX (RFC 5321 5.1)");
	(void)dnsp_reply_add(out, 'M', rec);
}

void
dns_tlsa_reply(const struct dns_look *lk, struct dnsp_reply *out)
{
	struct buf		 b;
	const struct ub_result	*r = lk->res;
	const char		*why;
	enum dns_kind		 k;
	size_t			 i;

	dnsp_reply_clear(out);
	if ((k = dns_kind(lk, &why)) == DK_TEMP || k == DK_BOGUS) {
		temp_reply(k, why, out);
		return;
	}
	out->sec = r->secure ? DNSP_SECURE : DNSP_INSECURE;
	if (k != DK_DATA) {
		dnsp_reply_set(out, 'K', "2.0.0", "no TLSA records");
		return;
	}
	set_canon(r, out);
	dnsp_reply_set(out, 'K', "2.0.0", "TLSA");
	buf_init(&b, 2 * DNS_TLSA_DATA_MAX + 16);
	for (i = 0; r->data[i] != NULL && i < 65536; i++) {
		buf_reset(&b);
		if (r->len[i] >= 0 && dns_tlsa_format((const uint8_t *)
		    r->data[i], (size_t)r->len[i], &b) == 0)
			(void)dnsp_reply_add(out, 'T', buf_cstr(&b));
	}
	buf_free(&b);
}
