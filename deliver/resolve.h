/* resolve: which local delivery a recipient gets (tern-lspawn). */
#ifndef TERN_RESOLVE_H
#define TERN_RESOLVE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "addr.h"
#include "alias.h"
#include "cfg.h"
#include "users.h"

#define RESOLVE_TEXT_MAX	200

/* The configuration resolution needs; filled by spawn_config_load. */
struct resolve_cfg {
	char		 me[ADDR_DOMAIN_MAX + 1];
	struct cfglist	 localdomains;	/* n == 0: just "me" */
	char		 extsep[32];	/* extension separators, "" none */
	char		 postmaster[ADDR_BUF];	/* "" when not configured */
	char		 aliasuser[USERS_NAME_MAX + 1];
	struct aliastab	 aliases;
	bool		 aliases_bad;	/* exists but unusable: temporary */
	struct usertab	 users;
	bool		 users_bad;
	bool		 root;		/* running as root: ids matter */
	/* System user lookup (users_system; tests pass a fake). */
	int		(*sysuser)(const char *, struct sysuser *);
};

enum resolve_kind {
	RES_USER,	/* tern-local for a mailbox owner */
	RES_ALIAS,	/* tern-local -a as aliasuser with targets */
	RES_FAIL	/* no delivery: status and text say why */
};

struct resolved {
	enum resolve_kind	 kind;
	char			 user[ADDR_BUF];
	uid_t			 uid;
	gid_t			 gid;
	char			 home[PATH_MAX];
	char			 maildir[PATH_MAX];	/* "" for aliases */
	char			 ext[ADDR_BUF];		/* "" when none */
	const char *const	*targets;		/* RES_ALIAS */
	size_t			 ntargets;
	char			 status[8];		/* RES_FAIL */
	char			 text[RESOLVE_TEXT_MAX];
	bool			 logit;	/* RES_FAIL the admin must see */
};

/*
 * Resolve the canonical recipient rcpt (internals.md "Resolution"):
 * aliases "local@domain" then "local" (local domains only), the passwd
 * table, system users of local domains (uid != 0), then the same with
 * the part before an extension separator (EXT = the rest), then
 * postmaster, else 5.1.1.  Local parts are lowercased for every lookup.
 * A target of uid 0 is a temporary 4.3.0 failure with logit set.
 * Always fills *out; targets point into cfg (valid until it changes).
 */
void	resolve_rcpt(const struct resolve_cfg *cfg, const char *rcpt,
	    struct resolved *out);

/* True when domain is one of the local domains. */
bool	resolve_is_local(const struct resolve_cfg *, const char *domain);

#endif
