/* rcpt_load: reading the resolution tables; compiling recipients. */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "paths.h"
#include "rcpt.h"

void
rcpt_cfg_init(struct rcpt_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strlcpy(cfg->extsep, "+", sizeof(cfg->extsep));
	strlcpy(cfg->aliasuser, "nobody", sizeof(cfg->aliasuser));
}

void
rcpt_cfg_free(struct rcpt_cfg *cfg)
{
	cfg_list_free(&cfg->localdomains);
	alias_free(&cfg->aliases);
	users_free(&cfg->users);
	rcpt_table_free(&cfg->recipients);
	rcpt_cfg_init(cfg);
}

/* Append one "; "-separated warning to warn (truncated silently). */
static void __attribute__((format(printf, 3, 4)))
warn_add(char *warn, size_t warnsz, const char *fmt, ...)
{
	va_list	ap;
	size_t	len;

	if (warnsz == 0)
		return;
	len = strnlen(warn, warnsz);
	if (len > 0 && len + 2 < warnsz) {
		strlcat(warn, "; ", warnsz);
		len += 2;
	}
	if (len + 1 >= warnsz)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(warn + len, warnsz - len, fmt, ap);
	va_end(ap);
}

/* A one-line control file with a default. */
static void
load_str(const char *dir, const char *name, char *out, size_t outsz,
    const char *def, char *warn, size_t warnsz)
{
	int	r;

	if ((r = cfg_get_str(dir, name, out, outsz)) == -1)
		warn_add(warn, warnsz, "cannot read control/%s (%s), using "
		    "\"%s\"", name, strerror(errno), def);
	if (r != 1)
		strlcpy(out, def, outsz);
}

static void
load_postmaster(struct rcpt_cfg *cfg, const char *dir, char *warn,
    size_t warnsz)
{
	char		 raw[ADDR_BUF];
	const char	*err;

	load_str(dir, "postmaster", raw, sizeof(raw), "", warn, warnsz);
	cfg->postmaster[0] = '\0';
	if (raw[0] != '\0' && addr_parse_mailbox(raw, strlen(raw), ADDR_UTF8,
	    cfg->me, cfg->postmaster, sizeof(cfg->postmaster), &err) == -1) {
		warn_add(warn, warnsz, "control/postmaster: %s", err);
		cfg->postmaster[0] = '\0';
	}
}

/* Table text: 1 read, 0 absent, -1 error (warned).  ENOMEM returns -2. */
static int
table_text(const char *dir, const char *name, char **data, size_t *len,
    char *warn, size_t warnsz)
{
	int	r;

	*data = NULL;
	if ((r = cfg_read_file(dir, name, CFG_TABLE_MAX, true, data,
	    len)) == -1) {
		if (errno == ENOMEM)
			return -2;
		warn_add(warn, warnsz, "cannot read control/%s: %s", name,
		    strerror(errno));
	}
	return r;
}

static int
load_aliases(struct rcpt_cfg *cfg, const char *dir, char *warn,
    size_t warnsz)
{
	const char	*err;
	char		*data;
	size_t		 len, lineno;
	int		 r;

	if ((r = table_text(dir, "aliases", &data, &len, warn, warnsz)) < 1) {
		cfg->aliases_bad = r == -1;
		return r == -2 ? -1 : 0;
	}
	if (alias_parse(data, len, &cfg->aliases, &lineno, &err) == -1) {
		r = errno;
		free(data);
		if (r == ENOMEM)
			return -1;
		warn_add(warn, warnsz, "control/aliases line %zu: %s", lineno,
		    err);
		cfg->aliases_bad = true;
		return 0;
	}
	free(data);
	return 0;
}

/* The passwd table (delivery mode); the text holds hashes: zeroed. */
static int
load_passwd(struct rcpt_cfg *cfg, const char *dir, char *warn,
    size_t warnsz)
{
	const char	*err;
	char		*data;
	size_t		 len, lineno;
	int		 r, e = 0;

	if ((r = table_text(dir, "passwd", &data, &len, warn, warnsz)) < 1) {
		cfg->users_bad = r == -1;
		return r == -2 ? -1 : 0;
	}
	if (users_parse(data, len, &cfg->users, &lineno, &err) == -1) {
		if ((e = errno) != ENOMEM)
			warn_add(warn, warnsz, "control/passwd line %zu: %s",
			    lineno, err);
		cfg->users_bad = true;
	}
	explicit_bzero(data, len);
	free(data);
	return e == ENOMEM ? -1 : 0;
}

/* 1 when path exists (*st filled), 0 absent, -1 other error. */
static int
stat_control(const char *dir, const char *name, struct stat *st)
{
	char	path[PATH_MAX];

	if (paths_join(path, sizeof(path), dir, name) == -1)
		return -1;
	if (stat(path, st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

static bool
newer(const struct stat *a, const struct stat *b)
{
	if (a->st_mtim.tv_sec != b->st_mtim.tv_sec)
		return a->st_mtim.tv_sec > b->st_mtim.tv_sec;
	return a->st_mtim.tv_nsec > b->st_mtim.tv_nsec;
}

/* Missing while passwd exists: temporary, never a wrong 550. */
static void
check_compiled(struct rcpt_cfg *cfg, const char *dir, int r, char *warn,
    size_t warnsz)
{
	struct stat	pw, rc;
	int		havepw;

	if ((havepw = stat_control(dir, "passwd", &pw)) != 1)
		return;
	if (r == 0) {
		warn_add(warn, warnsz, "control/passwd exists but control/"
		    RCPT_FILE " does not: run newaliases");
		cfg->users_bad = true;
	} else if (r == 1 && stat_control(dir, RCPT_FILE, &rc) == 1 &&
	    newer(&pw, &rc))
		warn_add(warn, warnsz, "control/passwd is newer than control/"
		    RCPT_FILE ": run newaliases");
}

static int
load_recipients(struct rcpt_cfg *cfg, const char *dir, char *warn,
    size_t warnsz)
{
	const char	*err;
	char		*data;
	size_t		 len, lineno;
	int		 r, e;

	if ((r = table_text(dir, RCPT_FILE, &data, &len, warn, warnsz)) ==
	    -2)
		return -1;
	cfg->users_bad = r == -1;
	if (r == 1 && rcpt_table_parse(data, len, &cfg->recipients, &lineno,
	    &err) == -1) {
		if ((e = errno) == ENOMEM) {
			free(data);
			return -1;
		}
		warn_add(warn, warnsz, "control/" RCPT_FILE " line %zu: %s",
		    lineno, err);
		cfg->users_bad = true;
	}
	free(data);
	check_compiled(cfg, dir, r, warn, warnsz);
	return 0;
}

static void
load_domains(struct rcpt_cfg *cfg, const char *dir, char *warn,
    size_t warnsz)
{
	char	host[ADDR_DOMAIN_MAX + 1];
	size_t	i;

	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	load_str(dir, "me", cfg->me, sizeof(cfg->me), host, warn, warnsz);
	for (i = 0; cfg->me[i] != '\0'; i++)
		cfg->me[i] = (char)tolower((unsigned char)cfg->me[i]);
	if (cfg_get_list(dir, "localdomains", &cfg->localdomains) == -1) {
		warn_add(warn, warnsz, "cannot read control/localdomains "
		    "(%s), using me", strerror(errno));
		memset(&cfg->localdomains, 0, sizeof(cfg->localdomains));
	}
}

int
rcpt_cfg_load(struct rcpt_cfg *cfg, const char *dir, enum rcpt_mode mode,
    char *warn, size_t warnsz)
{
	int	r;

	rcpt_cfg_free(cfg);
	if (warnsz > 0)
		warn[0] = '\0';
	cfg->root = geteuid() == 0;
	cfg->vuser = mode == RCPT_HASHFREE ? rcpt_vuser_recipients :
	    rcpt_vuser_passwd;
	load_domains(cfg, dir, warn, warnsz);
	load_str(dir, "extension", cfg->extsep, sizeof(cfg->extsep), "+",
	    warn, warnsz);
	load_str(dir, "aliasuser", cfg->aliasuser, sizeof(cfg->aliasuser),
	    "nobody", warn, warnsz);
	load_postmaster(cfg, dir, warn, warnsz);
	r = load_aliases(cfg, dir, warn, warnsz);
	if (r == 0)
		r = mode == RCPT_HASHFREE ? load_recipients(cfg, dir, warn,
		    warnsz) : load_passwd(cfg, dir, warn, warnsz);
	if (r == -1) {
		rcpt_cfg_free(cfg);
		errno = ENOMEM;
		return -1;
	}
	return warnsz > 0 && warn[0] != '\0' ? 1 : 0;
}

/* Write data to dir/name through a temporary file, durably. */
static int
write_atomic(const char *dir, const char *name, const char *data,
    size_t len, mode_t mode)
{
	char	tmp[PATH_MAX], path[PATH_MAX];
	int	fd, e;

	if (paths_join(path, sizeof(path), dir, name) == -1 ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1)
		return -1;
	if (io_write_all(fd, data, len) == -1 || fchmod(fd, mode) == -1 ||
	    fsync(fd) == -1 || close(fd) == -1) {
		e = errno;
		(void)close(fd);
		(void)unlink(tmp);
		errno = e;
		return -1;
	}
	if (rename(tmp, path) == -1) {
		e = errno;
		(void)unlink(tmp);
		errno = e;
		return -1;
	}
	return io_fsync_dir(dir);
}

static int
compile_fail(const char *why, int e, const char **errstr)
{
	*errstr = why;
	errno = e;
	return -1;
}

int
rcpt_compile(const char *dir, size_t *count_out, size_t *lineno_out,
    const char **errstr)
{
	struct usertab	 users;
	char		*data = NULL, *text;
	size_t		 len = 0, need;
	int		 r, e;

	*lineno_out = 0;
	*count_out = 0;
	memset(&users, 0, sizeof(users));
	if ((r = cfg_read_file(dir, "passwd", CFG_TABLE_MAX, true, &data,
	    &len)) == -1)
		return compile_fail("cannot read passwd", errno, errstr);
	if (r == 1 && users_parse(data, len, &users, lineno_out,
	    errstr) == -1) {
		e = errno;
		freezero(data, len);
		errno = e;
		return -1;
	}
	if (data != NULL)
		freezero(data, len);
	need = rcpt_table_format(&users, NULL, 0);
	if ((text = malloc(need + 1)) == NULL) {
		users_free(&users);
		return compile_fail("out of memory", ENOMEM, errstr);
	}
	(void)rcpt_table_format(&users, text, need + 1);
	*count_out = users.n;
	users_free(&users);
	r = write_atomic(dir, RCPT_FILE, text, need, 0644);
	e = errno;
	free(text);
	if (r == -1)
		return compile_fail("cannot write recipients", e, errstr);
	return 0;
}
