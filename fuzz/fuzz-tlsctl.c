/*
 * fuzz-tlsctl: the tern-tlsd control protocol (lib/tlsctl.c) and the
 * certificate names tern-tlsd accepts (ucspi/tls_cfg.c, tls_cert.c).
 *
 * The input is read as a stream of control replies, line after line, as
 * a protocol program would receive them; every accepted reply must obey
 * tlsctl.h (printable fields within their limits, used within the
 * input and ending at a newline) and must format back to a line that
 * parses to the same reply.  The same bytes go through the request
 * parser and, cut at the first NUL or newline, through tls_file_name and
 * tls_store_pick.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../ucspi/tls.h"
#include "tlsctl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t max, int lo)
{
	size_t i, n = strnlen(s, max);

	if (n >= max)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < lo || (unsigned char)s[i] > 0x7e)
			abort();
}

static void
check_reply(const struct tlsctl_reply *r)
{
	struct tlsctl_reply back;
	char line[TLSCTL_LINE_MAX];
	size_t used;
	int n;

	if (r->ok) {
		check_text(r->proto, sizeof(r->proto), 0x21);
		check_text(r->cipher, sizeof(r->cipher), 0x21);
		if (r->proto[0] == '\0' || r->cipher[0] == '\0')
			abort();
	} else
		check_text(r->reason, sizeof(r->reason), 0x20);
	if ((n = tlsctl_reply_format(line, sizeof(line), r)) < 0)
		abort();
	if (tlsctl_reply_parse(line, (size_t)n, &back, &used) != 1 ||
	    used != (size_t)n || back.ok != r->ok ||
	    strcmp(back.proto, r->proto) != 0 ||
	    strcmp(back.cipher, r->cipher) != 0 ||
	    strcmp(back.reason, r->reason) != 0)
		abort();
}

static void
fuzz_replies(const char *p, size_t len)
{
	struct tlsctl_reply r;
	size_t used;
	int n;

	while (len > 0) {
		n = tlsctl_reply_parse(p, len, &r, &used);
		if (n == 0) {
			if (len >= TLSCTL_LINE_MAX || memchr(p, '\n', len))
				abort();	/* "need more" with a line */
			return;
		}
		if (n == 1) {
			if (used == 0 || used > len || used > TLSCTL_LINE_MAX ||
			    p[used - 1] != '\n')
				abort();
			check_reply(&r);
		} else {
			/* Skip the bad line, as a program would. */
			const char *nl = memchr(p, '\n', len);

			used = nl != NULL ? (size_t)(nl - p) + 1 : len;
		}
		p += used;
		len -= used;
	}
}

static void
fuzz_names(const char *p, size_t len)
{
	static struct tls_cert certs[] = {
		{ "*.example.org", NULL }, { "default", NULL },
		{ "mail.example.org", NULL },
	};
	char fname[512], name[TLS_NAME_MAX];
	struct tls_store st;
	enum tls_file_kind k;
	long i;

	if (len >= sizeof(fname))
		len = sizeof(fname) - 1;
	memcpy(fname, p, len);
	fname[len] = '\0';
	fname[strcspn(fname, "\n")] = '\0';
	k = tls_file_name(fname, name, sizeof(name));
	if (k == TLS_FILE_OTHER && name[0] != '\0')
		abort();
	if (k != TLS_FILE_OTHER && (name[0] == '\0' ||
	    strnlen(name, sizeof(name)) > 255))
		abort();
	memset(&st, 0, sizeof(st));
	st.v = certs;
	st.n = sizeof(certs) / sizeof(certs[0]);
	st.fallback = (len & 1) ? 1 : -1;
	i = tls_store_pick(&st, fname);
	if (i < -1 || i >= (long)st.n || (i == -1 && st.fallback != -1))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t used;

	fuzz_replies((const char *)data, size);
	if (tlsctl_request_parse((const char *)data, size, &used) ==
	    TLSCTL_NEED && size != 0)
		abort();
	fuzz_names((const char *)data, size);
	return 0;
}
