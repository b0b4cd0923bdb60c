/* users: the virtual passwd table and system users. */
#ifndef TERN_USERS_H
#define TERN_USERS_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define USERS_LINE_MAX		4096	/* one line of the passwd table */
#define USERS_ENTRIES_MAX	1000000	/* lines in one table */
#define USERS_NAME_MAX		256	/* a system user name */

/*
 * One line "address:hash:uid:gid:maildir[:home]" of the passwd table.
 * address is lowercased; maildir and home are absolute; home defaults
 * to the Maildir's parent directory.  Strings point into the table.
 */
struct vuser {
	const char	*address;
	const char	*hash;
	uid_t		 uid;
	gid_t		 gid;
	const char	*maildir;
	const char	*home;
	size_t		 lineno;
};

/* Entries sorted by address; each address appears once. */
struct usertab {
	struct vuser	*ents;
	size_t		 n;
	/* the strings (hashes: zeroed on free) */
	char		*mem;
	size_t		 memsz;
};

/*
 * Parse the text of the passwd table (data[0..len)).  Blank lines and
 * lines starting with '#' are ignored; a trailing CR is dropped.  The
 * address must be local@domain without blanks or control characters;
 * the hash is any non-empty field (crypt(3) string, "*" or "!" to lock);
 * uid and gid are decimals in [0, 2^31 - 1] (strtonum); maildir and home
 * are absolute paths.  Too many or too few fields, a duplicate address,
 * NUL bytes, a line longer than USERS_LINE_MAX: -1 with *errstr,
 * *lineno_out and errno EINVAL (E2BIG for limits, ENOMEM).
 * Returns 0 with *out filled (free with users_free).
 */
int	users_parse(const char *data, size_t len, struct usertab *out,
	    size_t *lineno_out, const char **errstr);

/* The entry for address (ASCII case-insensitive), or NULL. */
const struct vuser *users_lookup(const struct usertab *, const char *address);

/* Free the table and leave it empty (safe on an empty table). */
void	users_free(struct usertab *);

/* A user from the system's database (getpwnam). */
struct sysuser {
	char	name[USERS_NAME_MAX + 1];
	uid_t	uid;
	gid_t	gid;
	char	home[PATH_MAX];
};

/*
 * Look name up with getpwnam(3): 1 found (*out filled), 0 no such user,
 * -1 error (errno; ENAMETOOLONG when the name or home does not fit).
 */
int	users_system(const char *name, struct sysuser *out);

#endif
