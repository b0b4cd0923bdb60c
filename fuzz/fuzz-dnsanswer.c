/*
 * fuzz-dnsanswer: libFuzzer harness for tern-resolve's handling of DNS
 * answers: the rdata parsers (resolve/dnsparse) and the classification
 * of libunbound results (resolve/classify), fed as hand-built
 * ub_result structures.
 *
 * Input: byte 0 selects the query type (bits 0-1: MX, A, AAAA, TLSA)
 * and flags (bit 2 secure, 3 bogus, 4 nxdomain, 5 havedata, 6 timed
 * out, 7 the first record is the canonical name); byte 1 is the rcode;
 * then records, each a length byte and that many bytes of rdata.
 * Every reply must keep the promises of classify.h and dnsproto.h: K,
 * Z or D with a status of the same class, data records only with K,
 * bogus only with Z, M records naming host names, A records that are
 * addresses, and a frame that the client parser takes back.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../resolve/classify.h"
#include "../resolve/dnsparse.h"
#include "buf.h"
#include "dnsproto.h"

#define MAXREC	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int qtypes[4] = { DNS_T_MX, DNS_T_A, DNS_T_AAAA, DNS_T_TLSA };

struct fake {
	struct ub_result	r;
	char			*data[MAXREC + 1];
	int			 len[MAXREC];
	char			 canon[256];
};

static void
build(struct fake *f, int qtype, uint8_t flags, uint8_t rcode,
    const uint8_t *p, size_t len)
{
	size_t	pos = 0, n = 0, l;

	memset(f, 0, sizeof(*f));
	f->r.qname = (char *)"fuzz.example";
	f->r.qtype = qtype;
	f->r.qclass = 1;
	f->r.rcode = rcode & 15;
	f->r.secure = (flags & 4) != 0;
	f->r.bogus = (flags & 8) != 0;
	f->r.why_bogus = f->r.bogus ? (char *)"fuzz\tbogus" : NULL;
	f->r.nxdomain = (flags & 16) != 0;
	if ((flags & 128) && pos < len) {
		l = p[pos++];
		l = l > len - pos ? len - pos : l;
		l = l > sizeof(f->canon) - 1 ? sizeof(f->canon) - 1 : l;
		memcpy(f->canon, p + pos, l);
		f->canon[l] = '\0';
		f->r.canonname = f->canon;
		pos += l;
	}
	while (pos < len && n < MAXREC) {
		l = p[pos++];
		l = l > len - pos ? len - pos : l;
		f->data[n] = (char *)(p + pos);
		f->len[n++] = (int)l;
		pos += l;
	}
	f->r.data = f->data;
	f->r.len = f->len;
	f->r.havedata = (flags & 32) && n > 0;
}

static void
check_rec(char tag, const char *v)
{
	unsigned char	a[16];
	unsigned	pref;
	char		host[300];

	if (tag == 'M' && (sscanf(v, "%u %299s", &pref, host) != 2 ||
	    pref > 65535 || !dns_hostname_ok(host)))
		abort();
	if (tag == 'A' && inet_pton(AF_INET, v, a) != 1 &&
	    inet_pton(AF_INET6, v, a) != 1)
		abort();
}

static void
check(const struct dnsp_reply *r)
{
	struct dnsp_answer	 a;
	struct buf		 b;
	const char		*err, *v;
	size_t			 used, pos = 0;
	char			 tag;

	if (strchr("KZD", r->letter) == NULL || r->status[0] !=
	    (r->letter == 'K' ? '2' : r->letter == 'Z' ? '4' : '5') ||
	    r->nrecs > DNSP_RECS_MAX || (r->letter != 'K' && r->nrecs != 0) ||
	    (r->sec == DNSP_BOGUS && r->letter != 'Z'))
		abort();
	buf_init(&b, DNSP_REPLY_MAX);
	if (dnsp_reply_format(&b, 1, r) == -1 ||
	    dnsp_answer_parse(b.data, b.len, &used, &a, &err) != 1 ||
	    used != b.len || a.nrecs != r->nrecs || a.sec != r->sec ||
	    a.implicit != r->implicit)
		abort();
	while (dnsp_answer_next(&a, &pos, &tag, &v) == 1)
		check_rec(tag, v);
	buf_free(&b);
}

static void
classify(const struct fake *f, const struct fake *f4, bool timedout)
{
	struct dnsp_reply	r;
	struct dns_look		lk[2] = { { 0, &f->r, timedout },
				    { 0, &f4->r, false } };

	dnsp_reply_init(&r);
	switch (f->r.qtype) {
	case DNS_T_MX:
		if (dns_mx_reply(&lk[0], &r) == 0)
			dns_implicit_reply(&lk[0], lk, 2, "Fuzz.Example.", &r);
		break;
	case DNS_T_TLSA:
		dns_tlsa_reply(&lk[0], &r);
		break;
	default:
		dns_addr_reply(lk, 2, &r);
		break;
	}
	check(&r);
	dnsp_reply_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fake	*f, *f4;
	char		 name[DNS_TEXT_NAME_MAX + 1];
	size_t		 used;

	if (len < 2)
		return 0;
	if (dns_name_read(data + 2, len - 2, &used, name, sizeof(name)) == 0 &&
	    (used > len - 2 || used > DNS_WIRE_NAME_MAX ||
	    strlen(name) > DNS_TEXT_NAME_MAX))
		abort();
	if ((f = malloc(sizeof(*f))) == NULL ||
	    (f4 = malloc(sizeof(*f4))) == NULL) {
		free(f);
		return 0;
	}
	build(f, qtypes[data[0] & 3], data[0], data[1], data + 2, len - 2);
	/* the second lookup: the same records as A (addr, implicit MX) */
	build(f4, DNS_T_A, data[0], data[1], data + 2, len - 2);
	if (f->r.qtype == DNS_T_A)
		f->r.qtype = DNS_T_AAAA;
	classify(f, f4, (data[0] & 64) != 0);
	free(f);
	free(f4);
	return 0;
}
