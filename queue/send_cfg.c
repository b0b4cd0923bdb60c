/* send_cfg: control files of tern-send. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "send_cfg.h"

static void
cfg_defaults(struct send_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (gethostname(cfg->me, sizeof(cfg->me)) == -1 ||
	    cfg->me[0] == '\0')
		(void)strlcpy(cfg->me, "localhost", sizeof(cfg->me));
	cfg->me[sizeof(cfg->me) - 1] = '\0';
	cfg->concurrency = SEND_CONC_DEFAULT;
	cfg->lifetime = SEND_LIFETIME_DEFAULT;
	cfg->step = SEND_STEP_DEFAULT;
	cfg->rescan = SEND_RESCAN_DEFAULT;
	cfg->rconc = SEND_RCONC_DEFAULT;
	cfg->dconc = SEND_DCONC_DEFAULT;
	cfg->rstep = SEND_RSTEP_DEFAULT;
	cfg->delaywarning = 0;
}

static void
get_num(const char *dir, const char *name, long long min, long long max,
    long long *val, void (*warn)(const char *, const char *))
{
	long long v;
	int r;

	r = cfg_get_num(dir, name, min, max, &v);
	if (r == 1)
		*val = v;
	else if (r == -1)
		warn(name, strerror(errno));
}

static void
get_str(const char *dir, const char *name, char *out, size_t outsz,
    void (*warn)(const char *, const char *))
{
	char tmp[ADDR_BUF];
	int r;

	if (outsz > sizeof(tmp))
		outsz = sizeof(tmp);
	r = cfg_get_str(dir, name, tmp, outsz);
	if (r == 1 && tmp[0] != '\0')
		(void)strlcpy(out, tmp, outsz);
	else if (r == -1)
		warn(name, strerror(errno));
}

void
send_cfg_load(struct send_cfg *cfg, const char *dir,
    void (*warn)(const char *, const char *))
{
	char addr[ADDR_BUF], canon[ADDR_BUF];
	const char *why;

	cfg_defaults(cfg);
	get_str(dir, "me", cfg->me, sizeof(cfg->me), warn);
	if (cfg_get_list(dir, "localdomains", &cfg->localdomains) == -1) {
		warn("localdomains", strerror(errno));
		memset(&cfg->localdomains, 0, sizeof(cfg->localdomains));
	}
	get_num(dir, "concurrencylocal", 1, SEND_CONC_MAX,
	    &cfg->concurrency, warn);
	get_num(dir, "queuelifetime", 0, SEND_LIFETIME_MAX, &cfg->lifetime,
	    warn);
	get_num(dir, "localretrystep", 1, SEND_STEP_MAX, &cfg->step, warn);
	get_num(dir, "rescaninterval", 1, SEND_RESCAN_MAX, &cfg->rescan,
	    warn);
	get_num(dir, "concurrencyremote", 1, SEND_RCONC_MAX, &cfg->rconc,
	    warn);
	get_num(dir, "concurrencydomain", 1, SEND_RCONC_MAX, &cfg->dconc,
	    warn);
	if (cfg->dconc > cfg->rconc)
		cfg->dconc = cfg->rconc;
	get_num(dir, "remoteretrystep", 1, SEND_STEP_MAX, &cfg->rstep, warn);
	get_num(dir, "delaywarning", 0, SEND_DELAYWARN_MAX,
	    &cfg->delaywarning, warn);
	if (snprintf(cfg->postmaster, sizeof(cfg->postmaster),
	    "postmaster@%s", cfg->me) >= (int)sizeof(cfg->postmaster))
		(void)strlcpy(cfg->postmaster, "postmaster",
		    sizeof(cfg->postmaster));
	addr[0] = '\0';
	get_str(dir, "postmaster", addr, sizeof(addr), warn);
	if (addr[0] == '\0')
		return;
	/* The same file tells tern-lspawn where postmaster mail goes. */
	if (addr_parse_mailbox(addr, strlen(addr), 0, cfg->me, canon,
	    sizeof(canon), &why) == -1)
		warn("postmaster", why);
	else
		(void)strlcpy(cfg->postmaster, canon, sizeof(cfg->postmaster));
}

void
send_cfg_free(struct send_cfg *cfg)
{
	if (cfg->localdomains.items != NULL || cfg->localdomains.mem != NULL)
		cfg_list_free(&cfg->localdomains);
	memset(&cfg->localdomains, 0, sizeof(cfg->localdomains));
}

bool
send_is_local(const struct send_cfg *cfg, const char *rcpt)
{
	const char *dom;

	dom = addr_domain(rcpt);
	if (dom == NULL)
		return true;
	if (cfg->localdomains.n == 0)
		return addr_domain_eq(dom, cfg->me);
	return cfg_list_has(&cfg->localdomains, dom);
}
