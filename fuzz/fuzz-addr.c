/*
 * fuzz-addr: addr_parse_path and addr_parse_mailbox on arbitrary bytes.
 * The first byte picks the flags, the rest is the input.  Besides the
 * sanitizers, every accepted address must meet the promises of addr.h:
 * bounded, no control bytes, 8-bit only with ADDR_UTF8, and canonical
 * (parsing the output again gives the output).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_canon(const char *out, int flags)
{
	char in[ADDR_BUF + 2], again[ADDR_BUF];
	const unsigned char *p;
	const char *err;
	size_t n, end;

	n = strlen(out);
	if (n + 2 > ADDR_PATH_MAX)
		abort();
	for (p = (const unsigned char *)out; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 &&
		    !(flags & ADDR_UTF8)))
			abort();
	if (addr_local_len(out) > ADDR_LOCAL_MAX)
		abort();
	if (addr_domain(out) != NULL && (strlen(addr_domain(out)) >
	    ADDR_DOMAIN_MAX || addr_local_len(out) + 1 +
	    strlen(addr_domain(out)) != n))
		abort();
	in[0] = '<';
	memcpy(in + 1, out, n);
	in[n + 1] = '>';
	if (addr_parse_path(in, n + 2, flags, again, sizeof(again), &end,
	    &err) == -1 || end != n + 2 || strcmp(again, out) != 0)
		abort();
	if (addr_parse_mailbox(out, n, flags, NULL, again, sizeof(again),
	    &err) == -1 || strcmp(again, out) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[ADDR_BUF];
	const char *in, *err;
	size_t len, end;
	int flags;

	if (size == 0)
		return 0;
	flags = data[0] & (ADDR_NULL_OK | ADDR_UTF8 | ADDR_POSTMASTER);
	in = (const char *)data + 1;
	len = size - 1;
	if (addr_parse_path(in, len, flags, out, sizeof(out), &end,
	    &err) == 0) {
		if (end < 2 || end > len || in[end - 1] != '>')
			abort();
		check_canon(out, flags);
	} else if (err == NULL)
		abort();
	if (addr_parse_mailbox(in, len, flags, (data[0] & 0x80) ?
	    "Default.Example" : NULL, out, sizeof(out), &err) == 0)
		check_canon(out, flags);
	else if (err == NULL)
		abort();
	return 0;
}
