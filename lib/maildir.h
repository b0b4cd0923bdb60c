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

/*
 * maildir_deliver with a base name from uniq_maildir_key(key), so that
 * maildir_find_key can find this delivery again (key NULL: a plain
 * name).  Same results; EINVAL for a bad key.
 */
int	maildir_deliver_key(const char *path, const char *key,
	    const void *prefix, size_t prefix_len, int fd, char *name_out,
	    size_t namesz);

/*
 * Was a message with this key delivered into the Maildir at path?  Look
 * in new/, then cur/ (the way readers move messages) for a base name
 * that carries key (uniq_maildir_has_key) and whose file starts with
 * prefix[0..prefix_len) (what the delivery wrote first: a key shared by
 * accident is not taken for ours); a matching name whose file vanished
 * before it could be read (moved or removed by a reader) counts as
 * found.  tmp/ is not looked at: nothing there is delivered.  When
 * found, the directory that holds it is fsynced (the writer may have
 * died before it did) and its base name goes to name_out.  1 found, 0
 * not found (also when new/ or cur/ do not exist), -1 error with errno.
 */
int	maildir_find_key(const char *path, const char *key,
	    const void *prefix, size_t prefix_len, char *name_out,
	    size_t namesz);

#endif
