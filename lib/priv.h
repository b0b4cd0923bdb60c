/* priv: privilege drop and the trust of the environment. */
#ifndef TERN_PRIV_H
#define TERN_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Become uid/gid for good: setgroups(1, &gid), setresgid, setresuid, then
 * verify that neither real, effective nor saved ids can return to root.
 * 0, or -1 with errno.  Called when not root: returns 0 and does nothing
 * if uid/gid are already the process's ids, else -1 with EPERM.
 */
int	priv_drop(uid_t uid, gid_t gid);

/* Look up a user: 1 found, 0 absent, -1 error. */
int	priv_user(const char *name, uid_t *uid_out, gid_t *gid_out);

/* True when the effective uid is 0. */
bool	priv_is_root(void);

/*
 * True when paths may be taken from the environment: the process is not
 * running set-user-ID or set-group-ID (AT_SECURE), or its real uid is 0.
 */
bool	priv_env_trusted(void);

#endif
