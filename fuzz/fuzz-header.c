/*
 * fuzz-header: sendmail's input path on arbitrary bytes: the CRLF and
 * "." conversion, hdr_parse, hdr_addrlist on To/Cc/Bcc (through
 * inject_rcpts_header, so addr_parse_mailbox too) and inject_fixup.  The
 * first byte picks -i, whether the input is complete and the chunk size.
 * Besides the sanitizers it checks what hdr.h and inject.h promise: the
 * fields lie inside the section and do not overlap, and the fixed header
 * parses again with the same fields minus Bcc plus Date, Message-ID and
 * From.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "../queue/hdr.h"
#include "../queue/inject.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_fields(const char *d, size_t len, const struct hdr *h)
{
	size_t i, prev = 0;

	if (h->none)
		return;
	if (h->end > len || h->body > len || h->end > h->body)
		abort();
	for (i = 0; i < h->n; i++) {
		if (h->f[i].off < prev || h->f[i].len == 0 ||
		    h->f[i].off + h->f[i].len > h->end ||
		    h->f[i].name_len == 0 ||
		    h->f[i].value_off > h->f[i].off + h->f[i].len ||
		    memchr(d + h->f[i].off, ':', h->f[i].value_off -
		    h->f[i].off) == NULL)
			abort();
		prev = h->f[i].off + h->f[i].len;
	}
}

/* The fixed header must parse to the kept fields plus the added ones. */
static void
check_fixed(const char *d, const struct hdr *h, const struct buf *fixed)
{
	struct hdr again;
	const char *why;
	size_t i, kept = 0;

	for (i = 0; i < h->n; i++)
		kept += !h->f[i].drop;
	kept += !hdr_has(d, h, "Date") + !hdr_has(d, h, "Message-ID") +
	    !hdr_has(d, h, "From");
	if (fixed->len < 2 || fixed->data[fixed->len - 1] != '\n' ||
	    fixed->data[fixed->len - 2] != '\n')
		abort();
	if (hdr_parse(fixed->data, fixed->len, true, &again, &why) == -1 ||
	    again.none || again.n != kept || again.body != fixed->len ||
	    !hdr_has(fixed->data, &again, "Date") ||
	    !hdr_has(fixed->data, &again, "From") ||
	    hdr_has(fixed->data, &again, "Bcc"))
		abort();
	hdr_free(&again);
}

static void
convert(const uint8_t *data, size_t size, bool iflag, size_t step,
    struct buf *out)
{
	struct inject_conv cv;
	size_t pos, n;
	ssize_t r;

	inject_conv_init(&cv, iflag);
	for (pos = 0; pos < size && !cv.done; pos += (size_t)r) {
		n = size - pos < step ? size - pos : step;
		if ((r = inject_conv_feed(&cv, (const char *)data + pos, n,
		    out)) <= 0)
			abort();
		if ((size_t)r < n && !cv.done)
			abort();
	}
	if (!cv.done && inject_conv_end(&cv, out) == -1)
		abort();
	if (out->len > size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inject_fix fx = { 0, "<id@fuzz.test>", "u@fuzz.test",
	    "F\xc3\xbczz Name" };
	struct inject_rcpts rc;
	struct buf conv, fixed;
	struct hdr h;
	const char *why;
	uint8_t opt;

	if (size < 1)
		return 0;
	opt = data[0];
	buf_init(&conv, size + 16);
	buf_init(&fixed, size + 4096);
	convert(data + 1, size - 1, opt & 1, (opt >> 2) + 1, &conv);
	if (hdr_parse(buf_cstr(&conv), conv.len, !(opt & 2), &h, &why) == 0) {
		check_fields(buf_cstr(&conv), conv.len, &h);
		memset(&rc, 0, sizeof(rc));
		(void)inject_rcpts_header(&rc, buf_cstr(&conv), &h,
		    "fuzz.test", &why);
		(void)inject_rcpts_dedup(&rc);
		inject_rcpts_free(&rc);
		inject_drop_bcc(buf_cstr(&conv), &h);
		if (inject_fixup(buf_cstr(&conv), &h, &fx, &fixed) == -1)
			abort();
		check_fixed(buf_cstr(&conv), &h, &fixed);
		hdr_free(&h);
	} else if (why == NULL)
		abort();
	buf_free(&conv);
	buf_free(&fixed);
	return 0;
}
