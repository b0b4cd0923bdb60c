/*
 * fuzz-smtpauth: tern-smtpd's AUTH decoders and tern-tlsd's answer
 * parser.  First byte 0: the rest is base64 for sasl_b64_decode (a
 * decoded value must encode and decode to itself) and, when it decodes,
 * a PLAIN response for sasl_plain_split (user and password must lie in
 * the buffer, the password without NUL).  First byte 1: the rest is the
 * text of "OK <proto> <cipher>" for smtpd_tls_answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../smtpd/net.h"
#include "../smtpd/smtpd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define DEC_MAX	4096

static void
b64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/";
	unsigned long v;
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = i + 1 < n ? al[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? al[v & 63] : '=';
	}
	out[o] = '\0';
}

static void
check_b64(const char *in, size_t n)
{
	static char dec[DEC_MAX + 1], enc[DEC_MAX * 2], dec2[DEC_MAX + 1];
	const char *u, *p;
	long len, len2;

	len = sasl_b64_decode(in, n, dec, sizeof(dec));
	if (len < 0)
		return;
	if ((size_t)len > DEC_MAX || dec[len] != '\0')
		abort();
	b64_encode((const unsigned char *)dec, (size_t)len, enc);
	len2 = sasl_b64_decode(enc, strlen(enc), dec2, sizeof(dec2));
	if (len2 != len || memcmp(dec, dec2, (size_t)len) != 0)
		abort();
	if (sasl_plain_split(dec, (size_t)len, &u, &p) == 0) {
		if (u < dec || p < dec || p > dec + len || u > dec + len ||
		    *u == '\0' || p + strlen(p) != dec + len)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[1024], proto[64], cipher[128];
	size_t i;

	if (size < 1 || size - 1 >= sizeof(text) * 8)
		return 0;
	if (data[0] == 0) {
		check_b64((const char *)data + 1, size - 1);
		return 0;
	}
	if (size - 1 >= sizeof(text))
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (smtpd_tls_answer(text, proto, sizeof(proto), cipher,
	    sizeof(cipher)) == 0) {
		for (i = 0; proto[i] != '\0'; i++)
			if (proto[i] <= ' ' || proto[i] > '~')
				abort();
		for (i = 0; cipher[i] != '\0'; i++)
			if (cipher[i] <= ' ' || cipher[i] > '~')
				abort();
		if (proto[0] == '\0' || cipher[0] == '\0')
			abort();
	}
	return 0;
}
