/* config: tern-resolve's control files. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "config.h"
#include "ucspi.h"

int
rsv_fwd_parse(const char *s, char *out, size_t outsz)
{
	char		 ip[UCSPI_IP_MAX + 1];
	const char	*at;
	uint16_t	 port;
	size_t		 n;

	at = strchr(s, '@');
	n = at == NULL ? strlen(s) : (size_t)(at - s);
	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (!ucspi_ip_valid(ip))
		return -1;
	if (at != NULL && (ucspi_port_parse(at + 1, &port) == -1 ||
	    port == 0))
		return -1;
	if (strlcpy(out, s, outsz) >= outsz)
		return -1;
	return 0;
}

static int
load_fwd(const char *dir, struct rsv_cfg *cfg, const char **errstr)
{
	struct cfglist	l;
	size_t		i;
	int		r;

	*errstr = "control/dnsresolvers";
	if ((r = cfg_get_list(dir, "dnsresolvers", &l)) == -1)
		return -1;
	if (r == 0)
		return 0;
	for (i = 0; i < l.n; i++) {
		if (cfg->nfwd == RSV_FWD_MAX || rsv_fwd_parse(l.items[i],
		    cfg->fwd[cfg->nfwd], sizeof(cfg->fwd[0])) == -1) {
			*errstr = "control/dnsresolvers: bad line (ip or "
			    "ip@port, at most 16)";
			cfg_list_free(&l);
			errno = EINVAL;
			return -1;
		}
		cfg->nfwd++;
	}
	cfg_list_free(&l);
	return 0;
}

static int
load_ta(const char *dir, struct rsv_cfg *cfg, const char **errstr)
{
	struct cfglist	l;
	size_t		i;
	int		r;

	*errstr = "control/dnstrustanchor";
	if ((r = cfg_get_list(dir, "dnstrustanchor", &l)) == -1)
		return -1;
	if (r == 0 || l.n == 0) {
		if (r == 1)
			cfg_list_free(&l);
		if (access(RSV_ROOT_KEY, R_OK) == 0) {
			strlcpy(cfg->ta[0], RSV_ROOT_KEY, sizeof(cfg->ta[0]));
			cfg->nta = 1;
		} else
			cfg->novalidate = true;
		return 0;
	}
	for (i = 0; i < l.n; i++) {
		if (strcasecmp(l.items[i], "none") == 0)
			cfg->novalidate = true;
		else if (cfg->nta == RSV_TA_MAX || l.items[i][0] != '/' ||
		    strlcpy(cfg->ta[cfg->nta], l.items[i],
		    sizeof(cfg->ta[0])) >= sizeof(cfg->ta[0])) {
			*errstr = "control/dnstrustanchor: bad line "
			    "(absolute paths or none, at most 16)";
			cfg_list_free(&l);
			errno = EINVAL;
			return -1;
		} else
			cfg->nta++;
	}
	cfg_list_free(&l);
	return 0;
}

int
rsv_config_load(const char *dir, struct rsv_cfg *cfg, const char **errstr)
{
	char		s[16];
	long long	n;
	int		r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout = RSV_TIMEOUT_DEFAULT;
	if (load_fwd(dir, cfg, errstr) == -1 || load_ta(dir, cfg, errstr) ==
	    -1)
		return -1;
	*errstr = "control/dnsrecurse";
	if ((r = cfg_get_str(dir, "dnsrecurse", s, sizeof(s))) == -1)
		return -1;
	if (r == 1 && cfg->nfwd == 0 && (strcmp(s, "1") == 0 ||
	    strcasecmp(s, "yes") == 0))
		cfg->recurse = true;
	*errstr = "control/dnstimeout";
	if ((r = cfg_get_num(dir, "dnstimeout", 1, RSV_TIMEOUT_MAX, &n)) ==
	    -1)
		return -1;
	if (r == 1)
		cfg->timeout = (int)n;
	return 0;
}
