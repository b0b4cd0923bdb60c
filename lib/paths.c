/* paths: where the control directory, the spool and helpers are. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"
#include "priv.h"

#ifndef TERN_CONTROLDIR
#define TERN_CONTROLDIR	"/etc/tern"
#endif
#ifndef TERN_SPOOLDIR
#define TERN_SPOOLDIR	"/var/spool/tern"
#endif
#ifndef TERN_LIBEXECDIR
#define TERN_LIBEXECDIR	"/usr/local/libexec/tern"
#endif
#ifndef TERN_QUEUEUSER
#define TERN_QUEUEUSER	"ternq"
#endif

#ifndef TERN_SMTPDUSER
#define TERN_SMTPDUSER	"ternd"
#endif
#ifndef TERN_REMOTEUSER
#define TERN_REMOTEUSER	"ternr"
#endif

#define PATHS_USER_MAX	64	/* longer than any login name we accept */

/* An absolute path of sane length from the trusted environment, or def. */
static const char *
paths_env_dir(const char *var, const char *def)
{
	const char *v;

	if (!priv_env_trusted() || (v = getenv(var)) == NULL)
		return def;
	if (v[0] != '/' || strnlen(v, PATH_MAX) >= PATH_MAX)
		return def;
	return v;
}

const char *
paths_control(void)
{
	return paths_env_dir("TERN_CONTROL", TERN_CONTROLDIR);
}

const char *
paths_spool(void)
{
	return paths_env_dir("TERN_SPOOL", TERN_SPOOLDIR);
}

const char *
paths_libexec(void)
{
	return paths_env_dir("TERN_LIBEXEC", TERN_LIBEXECDIR);
}

/* A user name from the trusted environment, or def. */
static const char *
paths_env_user(const char *var, const char *def)
{
	const char *v;
	size_t n;

	if (!priv_env_trusted() || (v = getenv(var)) == NULL)
		return def;
	n = strnlen(v, PATHS_USER_MAX);
	if (n == 0 || n >= PATHS_USER_MAX || strchr(v, '/') != NULL ||
	    strchr(v, ':') != NULL)
		return def;
	return v;
}

const char *
paths_queue_user(void)
{
	return paths_env_user("TERN_QUEUEUSER", TERN_QUEUEUSER);
}

const char *
paths_smtpd_user(void)
{
	return paths_env_user("TERN_SMTPDUSER", TERN_SMTPDUSER);
}

const char *
paths_remote_user(void)
{
	return paths_env_user("TERN_REMOTEUSER", TERN_REMOTEUSER);
}

/* A dir ending in '/' (or empty) needs no separator: no "//". */
int
paths_join(char *out, size_t outsz, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	const char *sep = (dl == 0 || dir[dl - 1] == '/') ? "" : "/";
	int r;

	r = snprintf(out, outsz, "%s%s%s", dir, sep, name);
	if (r < 0 || (size_t)r >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
