/* checkpass: the pure parts of tern-checkpass and tern-passwd. */
#ifndef TERN_CHECKPASS_H
#define TERN_CHECKPASS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "users.h"

/* The checkpassword interface: at most 512 bytes on fd 3. */
#define CP_INPUT_MAX		512
#define CP_READ_TIMEOUT		10	/* seconds for all of fd 3 */
#define CP_SLOW_DELAY		2	/* seconds per check, cp_slow_caller */

/* Exit codes of the checkpassword interface. */
#define CP_EXIT_BAD		1	/* unacceptable login */
#define CP_EXIT_MISUSE		2	/* bad arguments or fd 3 data */
#define CP_EXIT_TEMP		111	/* temporary problem */

/* One fd-3 record; the pointers point into the caller's buffer. */
struct cp_cred {
	const char	*user;
	const char	*pass;
	const char	*stamp;		/* "" when the field is absent */
};

/*
 * Parse fd 3 data buf[0..len), len <= CP_INPUT_MAX:
 * "user\0password\0timestamp\0".  The timestamp field may be absent
 * (data ending after the password's NUL) and anything after its NUL is
 * ignored.  Returns 0 with *out filled, or -1 with *errstr when the
 * user or password is not NUL-terminated within len, or len exceeds
 * CP_INPUT_MAX (misuse: exit 2).  Empty fields parse (a bad login).
 */
int	cp_parse(const char *buf, size_t len, struct cp_cred *out,
	    const char **errstr);

/* What a hash field of passwd is, for the login policy. */
enum cp_hash {
	CP_HASH_YESCRYPT,	/* "$y$..." */
	CP_HASH_SHA512,		/* "$6$..." */
	CP_HASH_LOCKED,		/* "*" or starting with '!' or '*' */
	CP_HASH_WEAK		/* DES, MD5, anything else: refused */
};

/* Classify hash (never NULL). */
enum cp_hash	cp_hash_kind(const char *hash);

/* True for the kinds a login may be checked against. */
bool	cp_hash_allowed(enum cp_hash);

/* A yescrypt hash nobody's password matches, for unknown users. */
extern const char cp_dummy_hash[];

/*
 * Check pass against hash in constant time: crypt(3) runs against hash
 * when it is allowed (cp_hash_allowed), else against cp_dummy_hash so
 * that the time does not tell whether the user exists (hash NULL) or is
 * locked; the crypt output is compared with CRYPTO_memcmp.  Returns 1
 * match, 0 no match (also for a refused or NULL hash), -1 when crypt(3)
 * fails (errno; a malformed hash gives 0).  Scratch memory is zeroed.
 */
int	cp_verify(const char *hash, const char *pass);

/*
 * Look address up in the passwd text data[0..len): 1 found (*out a
 * copy of the entry, its strings in strs[0..strsz)), 0 absent, -1 the
 * table does not parse (*errstr, errno) or the entry does not fit.
 */
int	cp_lookup(const char *data, size_t len, const char *address,
	    struct vuser *out, char *strs, size_t strsz, const char **errstr);

/*
 * Make a new hash of pass into out: yescrypt from crypt_gensalt, or
 * SHA-512 where yescrypt is not available.  0, or -1 with errno.
 */
int	cp_hash_new(const char *pass, char *out, size_t outsz);

/* Room for the strings of one passwd entry (cp_lookup's strs). */
#define CP_ENTRY_MAX		USERS_LINE_MAX

/*
 * Read the fd-3 data: at most CP_INPUT_MAX bytes, until EOF, within
 * CP_READ_TIMEOUT seconds.  0 with *len_out, or -1 with errno (EBADF
 * when fd is not open, ETIMEDOUT).
 */
int	cp_read_input(int fd, char *buf, size_t *len_out);

/*
 * Check the login c against dir/passwd.  Returns 0 when the password
 * matches an entry with an allowed hash and a uid other than 0 (*v
 * filled, strings in strs), CP_EXIT_BAD (unknown user, locked or
 * refused hash, wrong password, uid 0) or CP_EXIT_TEMP (passwd
 * unreadable or broken, crypt failure), with *why for the log.
 */
int	cp_check(const char *dir, const struct cp_cred *c, struct vuser *v,
	    char *strs, size_t strsz, const char **why);

/*
 * Become the user of v for the next program: set USER, HOME and MAILDIR;
 * as root drop to v's uid/gid (setgroups, setresgid, setresuid,
 * verified) and chdir to HOME; otherwise give up any set-group-ID or
 * set-user-ID privilege.  0, or -1 with *why and errno.
 */
int	cp_become(const struct vuser *v, const char **why);

/*
 * Whether this caller's checks must be slowed down: true when the
 * program runs set-ID (setid: AT_SECURE) for a real uid other than 0
 * and smtpd_uid (the smtpd user's uid, -1 when there is none).  Such a
 * caller cannot read the hashes itself: without a delay the program
 * would let it guess passwords as fast as crypt(3) runs.  Root's login
 * fronts and tern-smtpd slow down failed logins themselves.
 */
bool	cp_slow_caller(bool setid, uid_t ruid, long long smtpd_uid);

/* Sleep CP_SLOW_DELAY seconds in full, whatever signals arrive. */
void	cp_slow_wait(void);

#endif
