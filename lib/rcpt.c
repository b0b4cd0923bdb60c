/* rcpt: the local delivery a recipient resolves to (lspawn, smtpd). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "io.h"
#include "rcpt.h"

#define RCPT_HEADER	"# tern recipients: compiled from passwd by " \
			"newaliases; do not edit\n"

static void
res_fail(struct rcpt_res *out, const char *status, const char *text,
    bool logit)
{
	out->kind = RCPT_FAIL;
	strlcpy(out->status, status, sizeof(out->status));
	strlcpy(out->text, text, sizeof(out->text));
	out->logit = logit;
}

/* uid 0 never receives mail: the admin must fix the table. */
static bool
refuse_root(struct rcpt_res *out)
{
	if (!out->ids || out->uid != 0)
		return false;
	res_fail(out, "4.3.0", "refusing to deliver as root", true);
	return true;
}

static int
sysuser_lookup(const struct rcpt_cfg *cfg, const char *name,
    struct sysuser *su)
{
	return (cfg->sysuser != NULL ? cfg->sysuser : users_system)(name, su);
}

bool
rcpt_is_local(const struct rcpt_cfg *cfg, const char *domain)
{
	if (cfg->localdomains.n == 0)
		return addr_domain_eq(domain, cfg->me);
	return cfg_list_has(&cfg->localdomains, domain);
}

int
rcpt_vuser_passwd(const struct rcpt_cfg *cfg, const char *address,
    struct rcpt_vuser *out)
{
	const struct vuser	*v;

	if ((v = users_lookup(&cfg->users, address)) == NULL)
		return 0;
	out->address = v->address;
	out->ids = true;
	out->uid = v->uid;
	out->gid = v->gid;
	out->maildir = v->maildir;
	out->home = v->home;
	return 1;
}

static int
addrcmp(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

int
rcpt_vuser_recipients(const struct rcpt_cfg *cfg, const char *address,
    struct rcpt_vuser *out)
{
	char	**p;

	if (cfg->recipients.n == 0)
		return 0;
	p = bsearch(&address, cfg->recipients.addrs, cfg->recipients.n,
	    sizeof(*cfg->recipients.addrs), addrcmp);
	if (p == NULL)
		return 0;
	memset(out, 0, sizeof(*out));
	out->address = *p;
	out->maildir = "";
	out->home = "";
	return 1;
}

bool
rcpt_table_has(const struct rcpttab *tab, const char *address)
{
	return tab->n > 0 && bsearch(&address, tab->addrs, tab->n,
	    sizeof(*tab->addrs), addrcmp) != NULL;
}

static void
fill_alias(const struct rcpt_cfg *cfg, const char *const *targets,
    size_t ntargets, struct rcpt_res *out)
{
	struct sysuser	su;
	int		r;

	out->kind = RCPT_ALIAS;
	out->targets = targets;
	out->ntargets = ntargets;
	strlcpy(out->user, cfg->aliasuser, sizeof(out->user));
	r = sysuser_lookup(cfg, cfg->aliasuser, &su);
	out->ids = true;
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

/* A virtual user: 1 resolved (maybe to a failure), 0 not found. */
static int
try_vuser(const struct rcpt_cfg *cfg, const char *full, struct rcpt_res *out)
{
	struct rcpt_vuser	v;
	int			r;

	memset(&v, 0, sizeof(v));
	r = (cfg->vuser != NULL ? cfg->vuser : rcpt_vuser_passwd)(cfg, full,
	    &v);
	if (r == 0)
		return 0;
	if (r == -1) {
		res_fail(out, "4.3.0", "cannot read the user table", true);
		return 1;
	}
	out->kind = RCPT_USER;
	strlcpy(out->user, v.address, sizeof(out->user));
	out->ids = v.ids;
	if (v.ids) {
		out->uid = v.uid;
		out->gid = v.gid;
		strlcpy(out->home, v.home, sizeof(out->home));
		strlcpy(out->maildir, v.maildir, sizeof(out->maildir));
	}
	(void)refuse_root(out);
	return 1;
}

/* A system user of a local domain: 1 resolved, 0 not found. */
static int
try_sysuser(const struct rcpt_cfg *cfg, const char *key, struct rcpt_res *out)
{
	struct sysuser	su;
	int		r;

	if ((r = sysuser_lookup(cfg, key, &su)) == -1) {
		res_fail(out, "4.3.0", "cannot read the user database", true);
		return 1;
	}
	if (r == 0 || su.uid == 0)
		return 0;
	out->kind = RCPT_USER;
	strlcpy(out->user, su.name, sizeof(out->user));
	out->ids = true;
	out->uid = su.uid;
	out->gid = su.gid;
	strlcpy(out->home, su.home, sizeof(out->home));
	if ((size_t)snprintf(out->maildir, sizeof(out->maildir), "%s/Maildir/",
	    strcmp(su.home, "/") == 0 ? "" : su.home) >= sizeof(out->maildir))
		res_fail(out, "4.3.0", "home directory path too long", true);
	return 1;
}

/* Steps 1-3 for one lowercased local part: 1 resolved, 0 not found. */
static int
try_local(const struct rcpt_cfg *cfg, const char *key, const char *domain,
    bool islocal, struct rcpt_res *out)
{
	char			 full[ADDR_BUF * 2];
	const struct alias	*a = NULL;

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
	if (try_vuser(cfg, full, out))
		return 1;
	if (!islocal)
		return 0;
	return try_sysuser(cfg, key, out);
}

/* Step 5: postmaster of any local domain goes to control postmaster. */
static void
try_postmaster(const struct rcpt_cfg *cfg, struct rcpt_res *out)
{
	static const char	*one[1];

	if (cfg->postmaster[0] == '\0') {
		res_fail(out, "4.3.0", "no postmaster configured", true);
		return;
	}
	one[0] = cfg->postmaster;
	fill_alias(cfg, one, 1, out);
}

/* The tables must be usable before anything can be said. */
static bool
tables_bad(const struct rcpt_cfg *cfg, struct rcpt_res *out)
{
	if (cfg->aliases_bad)
		res_fail(out, "4.3.0", "aliases table unusable", false);
	else if (cfg->users_bad)
		res_fail(out, "4.3.0", cfg->vuser == rcpt_vuser_recipients ?
		    "recipients table unusable" : "passwd table unusable",
		    false);
	return cfg->aliases_bad || cfg->users_bad;
}

void
rcpt_resolve(const struct rcpt_cfg *cfg, const char *rcpt,
    struct rcpt_res *out)
{
	char		 key[ADDR_BUF];
	const char	*domain;
	size_t		 i, llen;
	bool		 islocal;

	memset(out, 0, sizeof(*out));
	if (tables_bad(cfg, out))
		return;
	domain = addr_domain(rcpt);
	llen = domain != NULL ? addr_local_len(rcpt) : strlen(rcpt);
	if (domain == NULL)
		domain = cfg->me;
	if (llen == 0 || cfg_lowercase(key, sizeof(key), rcpt, llen) == -1) {
		res_fail(out, "5.1.3", "bad recipient address", false);
		return;
	}
	islocal = rcpt_is_local(cfg, domain);
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

/* local@domain, both parts non-empty, no blanks or control bytes. */
static bool
valid_address(const char *s)
{
	const char	*at, *p;

	if ((at = strrchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
	    strlen(s) >= ADDR_BUF)
		return false;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

struct line_ent {
	char	*s;
	size_t	 lineno;
};

static int
entcmp(const void *a, const void *b)
{
	return strcmp(((const struct line_ent *)a)->s,
	    ((const struct line_ent *)b)->s);
}

static int
parse_fail(const char *why, int err, size_t lineno, size_t *lineno_out,
    const char **errstr)
{
	*errstr = why;
	*lineno_out = lineno;
	errno = err;
	return -1;
}

/* Split mem (NUL-terminated) into checked, lowercased entries. */
static int
split_lines(char *mem, size_t len, struct line_ent *ents, size_t *n_out,
    size_t *lineno_out, const char **errstr)
{
	char	*line, *nl, *p;
	size_t	 n = 0, lineno = 0;

	for (line = mem; line < mem + len; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', mem + len - line)) == NULL)
			nl = mem + len;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (!valid_address(line))
			return parse_fail("bad address", EINVAL, lineno,
			    lineno_out, errstr);
		for (p = line; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 32;
		ents[n].s = line;
		ents[n++].lineno = lineno;
	}
	*n_out = n;
	return 0;
}

/* Sort, refuse duplicates and move the pointers into out. */
static int
table_fill(struct line_ent *ents, size_t n, struct rcpttab *out,
    size_t *lineno_out, const char **errstr)
{
	size_t	i;

	qsort(ents, n, sizeof(*ents), entcmp);
	for (i = 1; i < n; i++)
		if (strcmp(ents[i - 1].s, ents[i].s) == 0)
			return parse_fail("duplicate address", EINVAL,
			    ents[i].lineno > ents[i - 1].lineno ?
			    ents[i].lineno : ents[i - 1].lineno, lineno_out,
			    errstr);
	if ((out->addrs = reallocarray(NULL, n + 1, sizeof(char *))) == NULL)
		return parse_fail("out of memory", ENOMEM, 0, lineno_out,
		    errstr);
	for (i = 0; i < n; i++)
		out->addrs[i] = ents[i].s;
	out->n = n;
	return 0;
}

int
rcpt_table_parse(const char *data, size_t len, struct rcpttab *out,
    size_t *lineno_out, const char **errstr)
{
	struct line_ent	*ents = NULL;
	size_t		 nlines = 1, i, n;

	memset(out, 0, sizeof(*out));
	*lineno_out = 0;
	if (memchr(data, '\0', len) != NULL)
		return parse_fail("NUL byte", EINVAL, 0, lineno_out, errstr);
	for (i = 0; i < len; i++)
		if (data[i] == '\n' && ++nlines > RCPT_ENTRIES_MAX + 1)
			return parse_fail("too many lines", E2BIG,
			    RCPT_ENTRIES_MAX + 1, lineno_out, errstr);
	if ((out->mem = malloc(len + 1)) == NULL ||
	    (ents = reallocarray(NULL, nlines, sizeof(*ents))) == NULL) {
		free(out->mem);
		out->mem = NULL;
		return parse_fail("out of memory", ENOMEM, 0, lineno_out,
		    errstr);
	}
	memcpy(out->mem, data, len);
	out->mem[len] = '\0';
	if (split_lines(out->mem, len, ents, &n, lineno_out, errstr) == -1 ||
	    table_fill(ents, n, out, lineno_out, errstr) == -1) {
		i = errno;
		free(ents);
		rcpt_table_free(out);
		errno = (int)i;
		return -1;
	}
	free(ents);
	return 0;
}

void
rcpt_table_free(struct rcpttab *tab)
{
	free(tab->addrs);
	free(tab->mem);
	memset(tab, 0, sizeof(*tab));
}

size_t
rcpt_table_format(const struct usertab *users, char *buf, size_t bufsz)
{
	size_t	need, i, n;

	need = strlen(RCPT_HEADER);
	if (bufsz > 0)
		strlcpy(buf, RCPT_HEADER, bufsz);
	for (i = 0; i < users->n; i++) {
		n = strlen(users->ents[i].address);
		if (need + n + 1 < bufsz) {
			memcpy(buf + need, users->ents[i].address, n);
			buf[need + n] = '\n';
			buf[need + n + 1] = '\0';
		}
		need += n + 1;
	}
	return need;
}
