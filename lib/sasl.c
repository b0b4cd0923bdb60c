/* sasl: base64 (RFC 4648) and SASL PLAIN (RFC 4616) for AUTH commands. */
#include <stdbool.h>
#include <string.h>

#include "sasl.h"

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* One group of four: the 24 bits and how many '=' ended it. */
static int
b64_quad(const char *q, bool last, unsigned long *v, size_t *pad)
{
	size_t j;
	int d;

	*v = 0;
	*pad = 0;
	for (j = 0; j < 4; j++) {
		if (q[j] == '=' && last && j >= 2 && (j == 3 || q[3] == '=')) {
			(*pad)++;
			*v <<= 6;
			continue;
		}
		if (*pad > 0 || (d = b64_val((unsigned char)q[j])) == -1)
			return -1;
		*v = (*v << 6) | (unsigned long)d;
	}
	return 0;
}

long
sasl_b64_decode(const char *in, size_t len, char *out, size_t outsz)
{
	unsigned long v;
	size_t i, o = 0, pad;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		if (b64_quad(in + i, i + 4 == len, &v, &pad) == -1 ||
		    o + 3 - pad > outsz - 1) {
			out[0] = '\0';
			return -1;
		}
		out[o++] = (char)(v >> 16);
		if (pad < 2)
			out[o++] = (char)(v >> 8 & 0xff);
		if (pad < 1)
			out[o++] = (char)(v & 0xff);
	}
	out[o] = '\0';
	return (long)o;
}

int
sasl_plain_split(char *resp, size_t len, const char **user_out,
    const char **pass_out)
{
	char *z, *u, *p;

	if ((z = memchr(resp, '\0', len)) == NULL)
		return -1;
	u = z + 1;
	if ((p = memchr(u, '\0', len - (size_t)(u - resp))) == NULL)
		return -1;
	p++;
	if (memchr(p, '\0', len - (size_t)(p - resp)) != NULL || *u == '\0')
		return -1;
	if (*resp != '\0' && strcmp(resp, u) != 0)
		return -1;
	*user_out = u;
	*pass_out = p;
	return 0;
}

long
sasl_response(const char *resp, char *out, size_t outsz)
{
	if (strcmp(resp, "*") == 0)
		return SASL_CANCEL;
	if (strcmp(resp, "=") == 0) {
		if (outsz > 0)
			out[0] = '\0';
		return 0;
	}
	return sasl_b64_decode(resp, strlen(resp), out, outsz);
}
