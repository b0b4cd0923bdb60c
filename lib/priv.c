/* priv: privilege drop and the trust of the environment. */
#include <sys/auxv.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "priv.h"

/* True when real, effective and saved uid and gid are uid and gid. */
static bool
priv_ids_are(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		return false;
	return ru == uid && eu == uid && su == uid &&
	    rg == gid && eg == gid && sg == gid;
}

/*
 * Dropping "to root" would verify nothing, so uid 0 is refused.  After
 * the drop, getting root back must fail: that proves the saved uid went
 * too.  A target gid of 0 is allowed (a user in group root).
 */
int
priv_drop(uid_t uid, gid_t gid)
{
	gid_t groups[2];
	int n;

	if (geteuid() != 0) {
		if (priv_ids_are(uid, gid))
			return 0;
		errno = EPERM;
		return -1;
	}
	if (uid == 0) {
		errno = EPERM;
		return -1;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		return -1;
	if (!priv_ids_are(uid, gid))
		goto fail;
	if ((n = getgroups(2, groups)) != 1 || groups[0] != gid)
		goto fail;
	if (setresuid((uid_t)-1, 0, (uid_t)-1) == 0 ||
	    (gid != 0 && setresgid((gid_t)-1, 0, (gid_t)-1) == 0))
		goto fail;
	return 0;
fail:
	errno = EPERM;
	return -1;
}

int
priv_user(const char *name, uid_t *uid_out, gid_t *gid_out)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		/* getpwnam(3): these mean "no such user", not a failure. */
		if (errno == 0 || errno == ENOENT || errno == ESRCH ||
		    errno == EBADF || errno == EPERM)
			return 0;
		return -1;
	}
	*uid_out = pw->pw_uid;
	*gid_out = pw->pw_gid;
	return 1;
}

bool
priv_is_root(void)
{
	return geteuid() == 0;
}

bool
priv_env_trusted(void)
{
	return getauxval(AT_SECURE) == 0 || getuid() == 0;
}
