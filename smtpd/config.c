/* config: tern-smtpd's control files (tern-smtpd(8)). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"
#include "smtpd.h"

struct smtp_numcfg {
	const char	*name;
	long long	 min, max, def;
	size_t		 off;		/* of the unsigned in smtpd_cfg */
};

#define NUMCFG(n, lo, hi, d, field) \
	{ n, lo, hi, d, offsetof(struct smtpd_cfg, field) }

static const struct smtp_numcfg numcfgs[] = {
	NUMCFG("maxrcpt", 1, 100000, SMTP_MAXRCPT_DEF, maxrcpt),
	NUMCFG("maxhops", 1, 10000, SMTP_MAXHOPS_DEF, maxhops),
	NUMCFG("maxbadcommands", 0, 100000, SMTP_BADCMDS_DEF, maxbadcmds),
	NUMCFG("maxjunkcommands", 0, 1000000, SMTP_JUNKCMDS_DEF, maxjunkcmds),
	NUMCFG("maxauthfailures", 1, 1000, SMTP_AUTHFAIL_DEF, maxauthfail),
	NUMCFG("authfaildelay", 0, 60, SMTP_AUTHDELAY_DEF, authdelay),
	NUMCFG("timeoutcommand", 1, 86400, SMTP_T_CMD_DEF, t_cmd),
	NUMCFG("timeoutdata", 1, 86400, SMTP_T_DATA_DEF, t_data),
	NUMCFG("timeoutqueue", 1, 86400, SMTP_T_DONE_DEF, t_done),
};

static int
smtp_cfg_nums(struct smtpd_cfg *c, const char *dir, const char **errstr)
{
	long long v;
	size_t i;
	int r;

	for (i = 0; i < sizeof(numcfgs) / sizeof(numcfgs[0]); i++) {
		r = cfg_get_num(dir, numcfgs[i].name, numcfgs[i].min,
		    numcfgs[i].max, &v);
		if (r == -1) {
			*errstr = numcfgs[i].name;
			return -1;
		}
		*(unsigned *)(void *)((char *)c + numcfgs[i].off) =
		    (unsigned)(r == 1 ? v : numcfgs[i].def);
	}
	r = cfg_get_num(dir, "databytes", 0, LLONG_MAX, &v);
	if (r == -1) {
		*errstr = "databytes";
		return -1;
	}
	c->databytes = r == 1 ? (unsigned long long)v : SMTP_DATABYTES_DEF;
	r = cfg_get_num(dir, "authinsecure", 0, 1, &v);
	if (r == -1) {
		*errstr = "authinsecure";
		return -1;
	}
	c->authinsecure = r == 1 && v == 1;
	return 0;
}

static int
smtp_cfg_relayclients(struct smtpd_cfg *c, const char *dir,
    const char **errstr)
{
	struct cfglist l;
	size_t i;
	int r;

	*errstr = "relayclients";
	if ((r = cfg_get_list(dir, "relayclients", &l)) != 1)
		return r;
	if (l.n > 0 && (c->relayclients = reallocarray(NULL, l.n,
	    sizeof(*c->relayclients))) == NULL) {
		cfg_list_free(&l);
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		if (smtp_net_parse(l.items[i], &c->relayclients[i]) == -1) {
			cfg_list_free(&l);
			return -1;
		}
	}
	c->nrelayclients = l.n;
	cfg_list_free(&l);
	return 0;
}

static int
smtp_cfg_strs(struct smtpd_cfg *c, const char *dir, const char **errstr)
{
	int r;

	if ((r = cfg_get_str(dir, "me", c->me, sizeof(c->me))) == -1) {
		*errstr = "me";
		return -1;
	}
	if (r == 0 && gethostname(c->me, sizeof(c->me)) == -1)
		(void)strlcpy(c->me, "localhost", sizeof(c->me));
	c->me[sizeof(c->me) - 1] = '\0';
	r = cfg_get_str(dir, "checkpassword", c->checkpass,
	    sizeof(c->checkpass));
	if (r == -1) {
		*errstr = "checkpassword";
		return -1;
	}
	if (r == 0 && paths_join(c->checkpass, sizeof(c->checkpass),
	    paths_libexec(), "tern-checkpass") == -1) {
		*errstr = "checkpassword";
		return -1;
	}
	return 0;
}

int
smtpd_cfg_load(struct smtpd_cfg *c, const char *dir, const char **errstr)
{
	char mode[32];
	int r;

	memset(c, 0, sizeof(*c));
	if (smtp_cfg_nums(c, dir, errstr) == -1 ||
	    smtp_cfg_strs(c, dir, errstr) == -1)
		return -1;
	*errstr = "smtpmode";
	if ((r = cfg_get_str(dir, "smtpmode", mode, sizeof(mode))) == -1)
		return -1;
	if (r == 1 && strcmp(mode, "submission") == 0)
		c->mode = SMTP_SUBMISSION;
	else if (r == 1 && strcmp(mode, "mx") != 0) {
		errno = EINVAL;
		return -1;
	}
	*errstr = "localdomains";
	if (cfg_get_list(dir, "localdomains", &c->localdomains) == -1)
		return -1;
	*errstr = "relaydomains";
	if (cfg_get_list(dir, "relaydomains", &c->relaydomains) == -1)
		return -1;
	*errstr = "senders";
	if (cfg_get_list(dir, "senders", &c->senders) == -1)
		return -1;
	if (smtp_cfg_relayclients(c, dir, errstr) == -1)
		return -1;
	*errstr = NULL;
	return 0;
}

void
smtpd_cfg_free(struct smtpd_cfg *c)
{
	cfg_list_free(&c->localdomains);
	cfg_list_free(&c->relaydomains);
	cfg_list_free(&c->senders);
	free(c->relayclients);
	c->relayclients = NULL;
	c->nrelayclients = 0;
}
