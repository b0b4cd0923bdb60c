/* parse: base64, SASL PLAIN (RFC 4616) and message numbers. */
#include <string.h>

#include "pop3.h"

int
pop3_num(const char *s, size_t len, unsigned long min, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > POP3_NUM_DIGITS)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}
