/* policy: local and relay domains, relay clients, allowed senders. */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd.h"

bool
smtp_domain_local(const struct smtpd_cfg *cfg, const char *domain)
{
	if (cfg->localdomains.n == 0)
		return addr_domain_eq(domain, cfg->me);
	return cfg_list_has(&cfg->localdomains, domain);
}

/* "example.org" matches itself; ".example.org" its subdomains. */
bool
smtp_domain_relay(const struct smtpd_cfg *cfg, const char *domain)
{
	size_t i, dl = strlen(domain), il;
	const char *it;

	for (i = 0; i < cfg->relaydomains.n; i++) {
		it = cfg->relaydomains.items[i];
		il = strlen(it);
		if (it[0] != '.' && addr_domain_eq(it, domain))
			return true;
		if (it[0] == '.' && il > 1 && dl > il &&
		    strcasecmp(domain + dl - il, it) == 0)
			return true;
	}
	return false;
}

int
smtp_net_parse(const char *s, struct smtp_net *out)
{
	char ip[UCSPI_IP_MAX];
	const char *slash = strchr(s, '/'), *err = NULL;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	if (n == 0 || n >= sizeof(ip))
		goto bad;
	memcpy(ip, s, n);
	ip[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, ip, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		goto bad;
	out->bits = max;
	if (slash != NULL) {
		out->bits = (unsigned)strtonum(slash + 1, 0, max, &err);
		if (err != NULL || slash[1] == '\0' || slash[1] == '+' ||
		    slash[1] == '-' || slash[1] == ' ')
			goto bad;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

static bool
smtp_prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool
smtp_net_match(const struct smtp_net *nets, size_t n, const char *ip)
{
	unsigned char a4[4], a6[16];
	bool v4, v6;
	size_t i;

	if (ip == NULL || *ip == '\0')
		return false;
	v4 = inet_pton(AF_INET, ip, a4) == 1;
	v6 = !v4 && inet_pton(AF_INET6, ip, a6) == 1;
	for (i = 0; i < n; i++) {
		if (v4 && nets[i].family == AF_INET &&
		    smtp_prefix_eq(a4, nets[i].addr, nets[i].bits))
			return true;
		if (v6 && nets[i].family == AF_INET6 &&
		    smtp_prefix_eq(a6, nets[i].addr, nets[i].bits))
			return true;
	}
	return false;
}

/* Is sender one of the comma-separated entries of list? */
static bool
smtp_sender_in(const char *list, const char *sender)
{
	const char *p = list, *dom = addr_domain(sender);
	size_t n;

	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			return false;
		n = strcspn(p, " \t,");
		if (n == 2 && strncmp(p, "<>", 2) == 0 && sender[0] == '\0')
			return true;
		if (p[0] == '@' && dom != NULL && n - 1 == strlen(dom) &&
		    strncasecmp(p + 1, dom, n - 1) == 0)
			return true;
		if (sender[0] != '\0' && n == strlen(sender) &&
		    strncasecmp(p, sender, n) == 0)
			return true;
		p += n;
	}
}

bool
smtp_sender_allowed(const struct smtpd_cfg *cfg, const char *login,
    const char *sender)
{
	size_t i, ll = strlen(login);
	const char *it;

	for (i = 0; i < cfg->senders.n; i++) {
		it = cfg->senders.items[i];
		if (strncasecmp(it, login, ll) == 0 && it[ll] == ':')
			return smtp_sender_in(it + ll + 1, sender);
	}
	return sender[0] != '\0' && strcasecmp(sender, login) == 0;
}

bool
smtp_xtext_valid(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '+') {
			if (!isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2]) ||
			    islower((unsigned char)s[1]) ||
			    islower((unsigned char)s[2]))
				return false;
			s += 2;
		} else if (*s < '!' || *s > '~' || *s == '=')
			return false;
	}
	return true;
}
