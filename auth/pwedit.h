/* pwedit: tern-passwd's changes to the passwd table. */
#ifndef TERN_PWEDIT_H
#define TERN_PWEDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PW_PASS_MAX	256	/* a password, without its newline */
#define PW_HASH_MAX	256	/* a crypt(3) string */
#define PW_GROUP	"ternauth"	/* may read passwd (tern-checkpass) */

/* One change: the hash, and the fields given as options. */
struct pw_change {
	const char	*address;	/* lowercased local@domain */
	const char	*hash;
	bool		 set_uid, set_gid;
	uid_t		 uid;
	gid_t		 gid;
	const char	*maildir;	/* NULL: keep */
};

/*
 * Apply ch to the passwd text data[0..len) (len 0: no file yet): the
 * entry of ch->address gets the new hash and the fields given (its
 * other fields, home included, stay as written); no entry: one is
 * appended, which needs uid, gid and maildir.  Every other line stays
 * byte for byte.  The result must parse (users_parse), so a field with
 * ':' or a newline is refused.  Returns 0 with *out (malloc'd,
 * NUL-terminated, the caller zeroes and frees it), *outlen and *added,
 * or -1 with *errstr (errno EINVAL; ENOMEM).
 */
int	pw_edit(const char *data, size_t len, const struct pw_change *ch,
	    char **out, size_t *outlen, bool *added, const char **errstr);

/*
 * Take the lock dir/passwd.lock (flock, waits), held until the
 * returned fd is closed (or the process exits).  fd, or -1 with errno.
 */
int	pw_lock(const char *dir);

/*
 * Replace dir/passwd with text[0..len): temporary file in dir, owner
 * and mode of the old file (a new file: group PW_GROUP and mode 0640
 * when that group exists, else 0600), fsync, rename, fsync of dir.  0, or -1 with errno (the old file is left as it was).
 */
int	pw_write(const char *dir, const char *text, size_t len);

/*
 * Read the new password: from the terminal with echo off, twice (they
 * must match), when fd 0 is a terminal; else one line from fd 0
 * (without its newline and a CR before it).  Empty, longer than
 * PW_PASS_MAX, or with a NUL byte: refused.  0, or -1 with *why
 * (errno EINVAL for a refused password, else the I/O error).
 */
int	pw_read_password(char *out, size_t outsz, const char **why);

#endif
