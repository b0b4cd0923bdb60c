/* paths: where the control directory, the spool and helpers are. */
#ifndef TERN_PATHS_H
#define TERN_PATHS_H

#include <stddef.h>

/*
 * Compiled-in defaults (TERN_CONTROLDIR, TERN_SPOOLDIR, TERN_LIBEXECDIR
 * from the Makefile), overridden by the environment variables
 * TERN_CONTROL, TERN_SPOOL and TERN_LIBEXEC only when priv_env_trusted().
 * A value that is not an absolute path, or longer than PATH_MAX, is
 * ignored.  Never NULL.
 */
const char *paths_control(void);
const char *paths_spool(void);
const char *paths_libexec(void);

/*
 * The user that owns the spool and runs tern-queue and tern-send when
 * they are started as root: TERN_QUEUEUSER (trusted environment only),
 * else the compiled-in TERN_QUEUEUSER ("ternq").  Never NULL.
 */
const char *paths_queue_user(void);

/*
 * The user tern-smtpd runs as, whose tern-queue may choose the queue id
 * (an I envelope record): TERN_SMTPDUSER (trusted environment only), else
 * the compiled-in TERN_SMTPDUSER ("ternd").  Never NULL.
 */
const char *paths_smtpd_user(void);

/*
 * The user remote delivery runs as (tern-remote, tern-resolve under
 * tern-send): TERN_REMOTEUSER (trusted environment only), else the
 * compiled-in TERN_REMOTEUSER ("ternr").  Never NULL.
 */
const char *paths_remote_user(void);

/*
 * Join dir and name with '/' into out (no second '/' after a dir that
 * ends in one): 0, or -1 with ENAMETOOLONG (out is then "").
 */
int	paths_join(char *out, size_t outsz, const char *dir, const char *name);

#endif
