/* dnsparse: bounded parsers for DNS names and the rdata tern-resolve uses. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "dnsparse.h"

static bool
name_byte_ok(uint8_t c)
{
	return isalnum(c) || c == '-' || c == '_';
}

int
dns_name_read(const uint8_t *p, size_t len, size_t *used, char *out,
    size_t outsz)
{
	size_t	pos = 0, o = 0, i;
	uint8_t	ll;

	if (outsz == 0)
		return -1;
	/* Each turn consumes at least one byte; pos <= 255 ends it. */
	for (;;) {
		if (pos >= len || pos >= DNS_WIRE_NAME_MAX)
			return -1;
		ll = p[pos++];
		if (ll == 0)
			break;
		if (ll > DNS_LABEL_MAX || ll > len - pos ||
		    pos + ll >= DNS_WIRE_NAME_MAX)
			return -1;	/* pointer, extended type, overrun */
		if (o != 0 && o + 1 < outsz)
			out[o++] = '.';
		else if (o != 0)
			return -1;
		if ((size_t)ll >= outsz - o)
			return -1;
		for (i = 0; i < ll; i++) {
			if (!name_byte_ok(p[pos + i]))
				return -1;
			out[o++] = (char)tolower(p[pos + i]);
		}
		pos += ll;
	}
	out[o] = '\0';
	*used = pos;
	return 0;
}

/* Labels of name check: 1-63 bytes, allowed bytes, hyphen rules. */
static bool
labels_ok(const char *name, size_t len, bool underscore, bool *numeric_last)
{
	size_t	i, start = 0;
	bool	digits = true;

	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : '.';

		if (c == '.') {
			if (i == start || i - start > DNS_LABEL_MAX ||
			    name[start] == '-' || name[i - 1] == '-')
				return false;
			*numeric_last = digits;
			start = i + 1;
			digits = true;
			continue;
		}
		if (!isalnum(c) && c != '-' && !(underscore && c == '_'))
			return false;
		if (!isdigit(c))
			digits = false;
	}
	return true;
}

bool
dns_hostname_ok(const char *name)
{
	size_t	len = strlen(name);
	bool	numeric = false;

	if (len == 0 || len > DNS_TEXT_NAME_MAX)
		return false;
	return labels_ok(name, len, false, &numeric) && !numeric;
}

bool
dns_qname_ok(const char *name)
{
	size_t	len = strlen(name);
	bool	numeric = false;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_TEXT_NAME_MAX)
		return false;
	return labels_ok(name, len, true, &numeric);
}

int
dns_mx_parse(const uint8_t *rd, size_t len, uint16_t *pref, char *host,
    size_t hostsz)
{
	size_t	used;

	if (len < 3)
		return -1;
	*pref = (uint16_t)(rd[0] << 8 | rd[1]);
	if (dns_name_read(rd + 2, len - 2, &used, host, hostsz) == -1 ||
	    used != len - 2)
		return -1;
	return 0;
}

int
dns_addr_parse(int type, const uint8_t *rd, size_t len, char *out,
    size_t outsz)
{
	int	af;

	if (type == DNS_T_A && len == 4)
		af = AF_INET;
	else if (type == DNS_T_AAAA && len == 16)
		af = AF_INET6;
	else
		return -1;
	if (outsz > INT32_MAX || inet_ntop(af, rd, out,
	    (socklen_t)outsz) == NULL)
		return -1;
	return 0;
}

int
dns_tlsa_format(const uint8_t *rd, size_t len, struct buf *out)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	if (len < 4 || len - 3 > DNS_TLSA_DATA_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (buf_reserve(out, 12 + 2 * (len - 3)) == -1 ||
	    buf_printf(out, "%u %u %u ", rd[0], rd[1], rd[2]) == -1)
		return -1;
	for (i = 3; i < len; i++) {
		(void)buf_appendc(out, hex[rd[i] >> 4]);
		(void)buf_appendc(out, hex[rd[i] & 15]);
	}
	return 0;
}
