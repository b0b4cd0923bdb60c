/* rcpt: the local delivery a recipient resolves to (lspawn, smtpd). */
#ifndef TERN_RCPT_H
#define TERN_RCPT_H

/*
 * Contract for callers.
 *
 * tern-lspawn (delivery) fills a struct rcpt_cfg itself (spawn.c) with
 * the passwd table in cfg.users, vuser = NULL (the passwd lookup) and
 * root = priv_is_root(), then calls rcpt_resolve() per recipient.
 *
 * tern-smtpd (RCPT time, "hash-free": it must never read a password
 * hash, internals.md "tern-smtpd") does:
 *
 *	struct rcpt_cfg	 cfg;
 *	struct rcpt_res	 r;
 *	char		 warn[RCPT_WARN_MAX];
 *
 *	rcpt_cfg_init(&cfg);			   once
 *	switch (rcpt_cfg_load(&cfg, paths_control(), RCPT_HASHFREE,
 *	    warn, sizeof(warn))) {		   at start (and on reload)
 *	case -1: fatal (out of memory); exit 111
 *	case 1:  log_warnx("%s", warn);		   then carry on
 *	}
 *	rcpt_resolve(&cfg, "canonical@address", &r);   per RCPT
 *	r.kind == RCPT_USER or RCPT_ALIAS: 250 (the recipient exists)
 *	r.kind == RCPT_FAIL: r.status "5.x.x" -> 550 <status> <text>,
 *	    "4.x.x" -> 451 <status> <text> (r.logit: also log it)
 *	rcpt_cfg_free(&cfg);			   at exit / before reload
 *
 * Call it only for recipients whose domain is local
 * (rcpt_is_local()); a non-local domain is relaying, which smtpd
 * decides itself.  The address must be canonical (addr_parse_path
 * output, no brackets, no source route).  In hash-free mode the virtual
 * users come from control/recipients (tern-qctl newaliases, one address
 * per line) instead of control/passwd; aliases, system users
 * (getpwnam), extensions and postmaster work as for delivery.  In this
 * mode a RCPT_USER result has ids == false: uid, gid, home and maildir
 * are unknown (0 / "").  A missing recipients file while passwd exists,
 * or an unusable aliases/recipients table, makes every lookup a
 * temporary 4.3.0 failure, so nobody gets a wrong 550.
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "alias.h"
#include "cfg.h"
#include "users.h"

#define RCPT_TEXT_MAX		200	/* result text */
#define RCPT_WARN_MAX		1024	/* rcpt_cfg_load's warning text */
#define RCPT_ENTRIES_MAX	USERS_ENTRIES_MAX /* recipients lines */
#define RCPT_FILE		"recipients"	/* the compiled table */

/* control/recipients: canonical addresses, lowercased, sorted, unique. */
struct rcpttab {
	char	**addrs;
	size_t	  n;
	char	 *mem;
};

/* A virtual user as resolution sees it (strings point into a table). */
struct rcpt_vuser {
	const char	*address;
	bool		 ids;		/* false: the fields below unknown */
	uid_t		 uid;
	gid_t		 gid;
	const char	*maildir;
	const char	*home;
};

struct rcpt_cfg;

/* Virtual-user lookup: 1 found (*out filled), 0 absent, -1 error. */
typedef int	(*rcpt_vuser_fn)(const struct rcpt_cfg *, const char *address,
		    struct rcpt_vuser *out);

/* The configuration resolution needs. */
struct rcpt_cfg {
	char		 me[ADDR_DOMAIN_MAX + 1];
	struct cfglist	 localdomains;	/* n == 0: just "me" */
	char		 extsep[32];	/* extension separators, "" none */
	char		 postmaster[ADDR_BUF];	/* "" when not configured */
	char		 aliasuser[USERS_NAME_MAX + 1];
	struct aliastab	 aliases;
	bool		 aliases_bad;	/* exists but unusable: temporary */
	struct usertab	 users;		/* passwd (delivery mode) */
	struct rcpttab	 recipients;	/* recipients (hash-free mode) */
	bool		 users_bad;	/* the virtual-user table unusable */
	bool		 root;		/* running as root: ids matter */
	/* System user lookup; NULL: users_system.  Tests pass a fake. */
	int		(*sysuser)(const char *, struct sysuser *);
	/* Virtual user lookup; NULL: rcpt_vuser_passwd. */
	rcpt_vuser_fn	 vuser;
};

enum rcpt_kind {
	RCPT_USER,	/* tern-local for a mailbox owner */
	RCPT_ALIAS,	/* tern-local -a as aliasuser with targets */
	RCPT_FAIL	/* no delivery: status and text say why */
};

struct rcpt_res {
	enum rcpt_kind		 kind;
	char			 user[ADDR_BUF];
	bool			 ids;	/* uid..maildir known (RCPT_USER) */
	uid_t			 uid;
	gid_t			 gid;
	char			 home[PATH_MAX];
	char			 maildir[PATH_MAX];	/* "" for aliases */
	char			 ext[ADDR_BUF];		/* "" when none */
	const char *const	*targets;		/* RCPT_ALIAS */
	size_t			 ntargets;
	char			 status[8];		/* RCPT_FAIL */
	char			 text[RCPT_TEXT_MAX];
	bool			 logit;	/* RCPT_FAIL the admin must see */
};

/*
 * Resolve the canonical recipient rcpt (internals.md "Resolution"):
 * aliases "local@domain" then "local" (local domains only), the
 * virtual users (cfg->vuser), system users of local domains
 * (uid != 0), then the same with the part before an extension
 * separator (EXT = the rest), then postmaster, else 5.1.1.  Local parts
 * are lowercased for every lookup.  A target of uid 0 (when its ids are
 * known) is a temporary 4.3.0 failure with logit set.  Always fills
 * *out; targets point into cfg (valid until it changes).
 */
void	rcpt_resolve(const struct rcpt_cfg *cfg, const char *rcpt,
	    struct rcpt_res *out);

/* True when domain is one of the local domains. */
bool	rcpt_is_local(const struct rcpt_cfg *, const char *domain);

/* The vuser lookups: cfg->users (with ids) and cfg->recipients (none). */
int	rcpt_vuser_passwd(const struct rcpt_cfg *, const char *address,
	    struct rcpt_vuser *out);
int	rcpt_vuser_recipients(const struct rcpt_cfg *, const char *address,
	    struct rcpt_vuser *out);

/*
 * Parse control/recipients (data[0..len)): one address local@domain per
 * line, without blanks or control characters, at most ADDR_BUF - 1
 * bytes; blank lines and lines starting with '#' are ignored; a
 * trailing CR is dropped.  Addresses are lowercased (ASCII).  A
 * duplicate, a bad address, a NUL byte or more than RCPT_ENTRIES_MAX
 * lines: -1 with *errstr, *lineno_out, errno EINVAL (E2BIG for limits,
 * ENOMEM).  Returns 0 with *out filled (free with rcpt_table_free).
 */
int	rcpt_table_parse(const char *data, size_t len, struct rcpttab *out,
	    size_t *lineno_out, const char **errstr);

/* True when address is in the table (ASCII case-insensitive). */
bool	rcpt_table_has(const struct rcpttab *, const char *address);

/* Free the table and leave it empty (safe on an empty table). */
void	rcpt_table_free(struct rcpttab *);

/*
 * Write the recipients text of a passwd table to buf (the addresses,
 * sorted, one a line, after a "# generated" comment line).  Returns the
 * length the full text needs (like snprintf); the text is complete
 * only when that is < bufsz.  Never copies a hash.
 */
size_t	rcpt_table_format(const struct usertab *, char *buf, size_t bufsz);

/*
 * Compile control/recipients in dir from control/passwd (newaliases):
 * parse passwd, write the addresses (rcpt_table_format) to a temporary
 * file in dir, fsync it, chmod 0644, rename it over recipients, fsync
 * dir.  An absent passwd compiles an empty table.  Returns 0 with
 * *count_out addresses written, or -1 with errno and *errstr (for a
 * passwd that does not parse also *lineno_out != 0; errno EINVAL or
 * E2BIG: a permanent problem, anything else temporary).
 */
int	rcpt_compile(const char *dir, size_t *count_out, size_t *lineno_out,
	    const char **errstr);

/* Set *cfg to empty defaults (extsep "+", aliasuser "nobody"). */
void	rcpt_cfg_init(struct rcpt_cfg *cfg);

enum rcpt_mode {
	RCPT_DELIVERY,	/* virtual users from passwd (hashes read) */
	RCPT_HASHFREE	/* virtual users from recipients (tern-smtpd) */
};

/*
 * Free what cfg holds and (re)load it from control directory dir: me
 * (default: the host name), localdomains, extension, aliasuser,
 * postmaster, aliases, and passwd or recipients by mode.  Sets
 * root = (geteuid() == 0), sysuser = NULL and vuser for the mode.  A
 * control file that cannot be read keeps its default; a table that
 * cannot be read or parsed sets aliases_bad / users_bad.  Each such
 * problem (and, in hash-free mode, a passwd newer than recipients, or
 * recipients missing while passwd exists) is described in warn
 * ("; "-separated, truncated to warnsz).  Returns 0 clean, 1 with
 * warnings, -1 out of memory (errno ENOMEM; cfg left empty but usable).
 */
int	rcpt_cfg_load(struct rcpt_cfg *cfg, const char *dir,
	    enum rcpt_mode mode, char *warn, size_t warnsz);

/* Free the tables and lists of cfg and reset it with rcpt_cfg_init. */
void	rcpt_cfg_free(struct rcpt_cfg *cfg);

#endif
