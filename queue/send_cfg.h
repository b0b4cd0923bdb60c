/* send_cfg: tern-send's control files and the local/remote split. */
#ifndef TERN_SEND_CFG_H
#define TERN_SEND_CFG_H

#include <stdbool.h>

#include "addr.h"
#include "cfg.h"

#define SEND_CONC_MAX		1000	/* concurrencylocal upper bound */
#define SEND_CONC_DEFAULT	10
#define SEND_LIFETIME_DEFAULT	432000	/* 5 days, qmail's queuelifetime */
#define SEND_LIFETIME_MAX	(10LL * 365 * 86400)
#define SEND_STEP_DEFAULT	60	/* qmail's local retry step */
#define SEND_STEP_MAX		86400
#define SEND_RESCAN_DEFAULT	60
#define SEND_RESCAN_MAX		86400
#define SEND_RCONC_DEFAULT	20	/* concurrencyremote */
#define SEND_RCONC_MAX		1000
#define SEND_DCONC_DEFAULT	5	/* concurrencydomain */
#define SEND_RSTEP_DEFAULT	1200	/* qmail's remote chance step, 20 min */
#define SEND_DELAYWARN_MAX	SEND_LIFETIME_MAX

struct send_cfg {
	char		 me[ADDR_DOMAIN_MAX + 1];
	struct cfglist	 localdomains;	/* empty: only me is local */
	long long	 concurrency;	/* concurrencylocal */
	long long	 lifetime;	/* queuelifetime, seconds */
	long long	 step;		/* localretrystep, seconds */
	long long	 rescan;	/* rescaninterval, seconds */
	long long	 rconc;		/* concurrencyremote: runs in flight */
	long long	 dconc;		/* concurrencydomain: runs per domain */
	long long	 rstep;		/* remoteretrystep, seconds */
	long long	 delaywarning;	/* seconds after arrival, 0 off */
	char		 postmaster[ADDR_BUF];
};

/*
 * Fill cfg with the defaults (me from gethostname(3)), then read the
 * control files me, localdomains, concurrencylocal, queuelifetime,
 * localretrystep, rescaninterval, postmaster, concurrencyremote,
 * concurrencydomain (at most concurrencyremote), remoteretrystep and
 * delaywarning from dir.  A file that
 * cannot be read or holds a bad value is reported through warn (called
 * with the file name and a reason) and its default is used, so this
 * never fails.  Free with send_cfg_free.
 */
void	send_cfg_load(struct send_cfg *cfg, const char *dir,
	    void (*warn)(const char *file, const char *why));
void	send_cfg_free(struct send_cfg *);

/*
 * True when the canonical address rcpt is delivered locally: it has no
 * domain ("postmaster"), or its domain is in localdomains (ASCII case
 * ignored), or localdomains is empty and the domain is me.
 */
bool	send_is_local(const struct send_cfg *, const char *rcpt);

#endif
