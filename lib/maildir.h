/* maildir: deliver into a Maildir, crash-safe. */
#ifndef TERN_MAILDIR_H
#define TERN_MAILDIR_H

#include <stddef.h>

/*
 * Create path and its tmp, new and cur (mode 0700) when missing.
 * 0, or -1 with errno.
 */
int	maildir_create(const char *path);

/*
 * Deliver one message into the Maildir at path: a unique name in tmp/
 * (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), write prefix[0..prefix_len)
 * then the rest of fd (read to EOF), fsync, close, link into new/
 * (rename where link is not supported), unlink the tmp name, fsync new/.
 * Only then returns 0, with the base name in name_out.  On any failure
 * it removes what it wrote (also the new/ name when the fsync of new/
 * fails) and returns -1 with errno (ENOSPC, EDQUOT, EIO, EFBIG, read(2)
 * errors of fd, ENAMETOOLONG when namesz is too small): nothing
 * half-written is ever visible in new/.
 */
int	maildir_deliver(const char *path, const void *prefix,
	    size_t prefix_len, int fd, char *name_out, size_t namesz);

#endif
