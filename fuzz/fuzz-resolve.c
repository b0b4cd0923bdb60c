/*
 * fuzz-resolve: libFuzzer harness for tern-resolve's pipe protocol
 * (lib/dnsproto).  The input is read as a stream of request frames, the
 * way tern-resolve reads fd 0, and also as a stream of reply frames, the
 * way a client reads fd 1.  Whatever parses must format back to the same
 * bytes (requests) or keep its promises (replies: records inside the
 * frame, printable, counted); a parsed request's name, used as reply
 * text and record, must give a reply frame that parses again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dnsproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static bool
clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* A request echoed back as a reply must survive the client's parser. */
static void
check_reply(const struct dnsp_req *q)
{
	struct dnsp_reply	 r;
	struct dnsp_answer	 a;
	struct buf		 b;
	const char		*err;
	size_t			 used;

	buf_init(&b, DNSP_REPLY_MAX);
	dnsp_reply_init(&r);
	dnsp_reply_set(&r, 'D', "5.1.2", q->name);
	if (dnsp_reply_add(&r, 'M', q->name) == -1 ||
	    dnsp_reply_format(&b, q->id, &r) == -1)
		abort();
	if (dnsp_answer_parse(b.data, b.len, &used, &a, &err) != 1 ||
	    used != b.len || a.id != q->id || a.nrecs != 1 ||
	    strcmp(a.text, q->name) != 0)
		abort();
	dnsp_reply_free(&r);
	buf_free(&b);
}

static void
requests(const char *data, size_t len)
{
	struct dnsp_req	 q;
	struct buf	 b;
	const char	*err;
	size_t		 pos = 0, used;

	buf_init(&b, DNSP_REQ_MAX * 2);
	while (pos < len && dnsp_req_parse(data + pos, len - pos, &used, &q,
	    &err) == 1) {
		if (used == 0 || used > len - pos || used > DNSP_REQ_MAX ||
		    q.id > DNSP_ID_MAX || !clean(q.name))
			abort();
		buf_reset(&b);
		if (dnsp_req_format(&b, &q) == -1 || b.len != used ||
		    memcmp(b.data, data + pos, used) != 0)
			abort();
		check_reply(&q);
		pos += used;
	}
	buf_free(&b);
}

static void
answers(const char *data, size_t len)
{
	struct dnsp_answer	 a;
	const char		*err, *v;
	size_t			 pos = 0, used, rp, n;
	char			 tag;

	while (pos < len && dnsp_answer_parse(data + pos, len - pos, &used,
	    &a, &err) == 1) {
		if (used == 0 || used > len - pos || !clean(a.text) ||
		    strchr("KZD", a.letter) == NULL || a.nrecs > DNSP_RECS_MAX)
			abort();
		rp = n = 0;
		while (dnsp_answer_next(&a, &rp, &tag, &v) == 1) {
			if (v < data + pos || v >= data + pos + used ||
			    strchr("MAT", tag) == NULL || !clean(v))
				abort();
			n++;
		}
		if (n != a.nrecs)
			abort();
		pos += used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	requests((const char *)data, len);
	answers((const char *)data, len);
	return 0;
}
