/* mbox: tern-pop3d's maildrop: a locked Maildir (tern-pop3d(8)). */
#ifndef TERN_POP3_MBOX_H
#define TERN_POP3_MBOX_H

#include <limits.h>
#include <stdbool.h>
#include <time.h>

#include "maildir_scan.h"
#include "pop3.h"

#define MBOX_LOCK_NAME	"tern-pop3.lock"	/* in the Maildir */

struct mbox {
	struct mscan	scan;
	char		lock[PATH_MAX];		/* "" when not held */
	time_t		touched;
};

/*
 * Take the POP3 lock of the Maildir at dir (NFS-safe dotlock: a unique
 * file linked to MBOX_LOCK_NAME, success judged by its link count; it
 * holds "pid host").  A lock left by a dead process on this host, or
 * not renewed for POP3_LOCK_STALE_S seconds, is removed first.
 * 1 taken (path in lock_out), 0 held by another session, -1 error.
 */
int	mbox_lock(const char *dir, char *lock_out, size_t locksz);
/* Renew the lock's mtime (so others do not take it for stale). */
void	mbox_lock_touch(const char *lock);
/* Remove the lock. */
void	mbox_unlock(const char *lock);

/*
 * Parse the contents of a lock file, "pid host\n": 0 with *pid and
 * host, or -1.
 */
int	mbox_lock_parse(const char *text, size_t len, long *pid,
	    char *host, size_t hostsz);

/* The operations over a struct mbox (ctx), writing to fd 1. */
extern const struct pop3d_ops mbox_ops;

#endif
