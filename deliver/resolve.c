/* resolve: which local delivery a recipient gets (tern-lspawn). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "resolve.h"

static void
res_fail(struct resolved *out, const char *status, const char *text,
    bool logit)
{
	out->kind = RES_FAIL;
	strlcpy(out->status, status, sizeof(out->status));
	strlcpy(out->text, text, sizeof(out->text));
	out->logit = logit;
}

/* uid 0 never receives mail: the admin must fix the table. */
static bool
refuse_root(struct resolved *out)
{
	if (out->uid != 0)
		return false;
	res_fail(out, "4.3.0", "refusing to deliver as root", true);
	return true;
}

bool
resolve_is_local(const struct resolve_cfg *cfg, const char *domain)
{
	if (cfg->localdomains.n == 0)
		return addr_domain_eq(domain, cfg->me);
	return cfg_list_has(&cfg->localdomains, domain);
}

static void
fill_alias(const struct resolve_cfg *cfg, const char *const *targets,
    size_t ntargets, struct resolved *out)
{
	struct sysuser	su;
	int		r;

	out->kind = RES_ALIAS;
	out->targets = targets;
	out->ntargets = ntargets;
	strlcpy(out->user, cfg->aliasuser, sizeof(out->user));
	r = cfg->sysuser(cfg->aliasuser, &su);
	if (r == 1) {
		out->uid = su.uid;
		out->gid = su.gid;
		strlcpy(out->home, su.home, sizeof(out->home));
	} else if (cfg->root) {
		res_fail(out, "4.3.0", "aliasuser does not exist", true);
		return;
	} else {
		out->uid = getuid();
		out->gid = getgid();
		strlcpy(out->home, "/", sizeof(out->home));
	}
	(void)refuse_root(out);
}

/* Steps 1-3 for one lowercased local part: 1 resolved, 0 not found. */
static int
try_local(const struct resolve_cfg *cfg, const char *key, const char *domain,
    bool islocal, struct resolved *out)
{
	char			 full[ADDR_BUF * 2];
	const struct alias	*a = NULL;
	const struct vuser	*v;
	struct sysuser		 su;
	int			 r;

	if ((size_t)snprintf(full, sizeof(full), "%s@%s", key, domain) >=
	    sizeof(full))
		return 0;
	if ((a = alias_lookup(&cfg->aliases, full)) == NULL && islocal)
		a = alias_lookup(&cfg->aliases, key);
	if (a != NULL) {
		fill_alias(cfg, (const char *const *)a->targets, a->ntargets,
		    out);
		return 1;
	}
	if ((v = users_lookup(&cfg->users, full)) != NULL) {
		out->kind = RES_USER;
		strlcpy(out->user, v->address, sizeof(out->user));
		out->uid = v->uid;
		out->gid = v->gid;
		strlcpy(out->home, v->home, sizeof(out->home));
		strlcpy(out->maildir, v->maildir, sizeof(out->maildir));
		(void)refuse_root(out);
		return 1;
	}
	if (!islocal)
		return 0;
	if ((r = cfg->sysuser(key, &su)) == -1) {
		res_fail(out, "4.3.0", "cannot read the user database", true);
		return 1;
	}
	if (r == 0 || su.uid == 0)
		return 0;
	out->kind = RES_USER;
	strlcpy(out->user, su.name, sizeof(out->user));
	out->uid = su.uid;
	out->gid = su.gid;
	strlcpy(out->home, su.home, sizeof(out->home));
	if ((size_t)snprintf(out->maildir, sizeof(out->maildir), "%s/Maildir/",
	    strcmp(su.home, "/") == 0 ? "" : su.home) >= sizeof(out->maildir))
		res_fail(out, "4.3.0", "home directory path too long", true);
	return 1;
}

/* Step 5: postmaster of any local domain goes to control postmaster. */
static void
try_postmaster(const struct resolve_cfg *cfg, struct resolved *out)
{
	static const char	*one[1];

	if (cfg->postmaster[0] == '\0') {
		res_fail(out, "4.3.0", "no postmaster configured", true);
		return;
	}
	one[0] = cfg->postmaster;
	fill_alias(cfg, one, 1, out);
}

void
resolve_rcpt(const struct resolve_cfg *cfg, const char *rcpt,
    struct resolved *out)
{
	char		 key[ADDR_BUF];
	const char	*domain;
	size_t		 i, llen;
	bool		 islocal;

	memset(out, 0, sizeof(*out));
	if (cfg->aliases_bad || cfg->users_bad) {
		res_fail(out, "4.3.0", cfg->aliases_bad ? "aliases table "
		    "unusable" : "passwd table unusable", false);
		return;
	}
	domain = addr_domain(rcpt);
	llen = domain != NULL ? addr_local_len(rcpt) : strlen(rcpt);
	if (domain == NULL)
		domain = cfg->me;
	if (llen == 0 || llen >= sizeof(key)) {
		res_fail(out, "5.1.3", "bad recipient address", false);
		return;
	}
	for (i = 0; i < llen; i++)
		key[i] = rcpt[i] >= 'A' && rcpt[i] <= 'Z' ? rcpt[i] + 32 :
		    rcpt[i];
	key[llen] = '\0';
	islocal = resolve_is_local(cfg, domain);
	if (try_local(cfg, key, domain, islocal, out))
		return;
	i = strcspn(key, cfg->extsep);
	if (i > 0 && i < llen) {
		key[i] = '\0';
		if (try_local(cfg, key, domain, islocal, out)) {
			strlcpy(out->ext, key + i + 1, sizeof(out->ext));
			return;
		}
		key[i] = rcpt[i];
	}
	if (islocal && strcmp(key, "postmaster") == 0)
		try_postmaster(cfg, out);
	else
		res_fail(out, "5.1.1", "no such user", false);
}
