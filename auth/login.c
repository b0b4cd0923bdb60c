/* login: tern-checkpass's input, password check and change of user. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "checkpass.h"
#include "priv.h"

int
cp_read_input(int fd, char *buf, size_t *len_out)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	time_t		end = time(NULL) + CP_READ_TIMEOUT, left;
	size_t		len = 0;
	ssize_t		n;
	int		r;

	while (len < CP_INPUT_MAX) {
		if ((left = end - time(NULL)) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if ((r = poll(&pfd, 1, (int)left * 1000)) == -1 &&
		    errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (pfd.revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		if ((n = read(fd, buf + len, CP_INPUT_MAX - len)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*len_out = len;
	return 0;
}

/* The passwd entry of user: 1 found, 0 absent, -1 error (*why). */
static int
find_user(const char *dir, const char *user, struct vuser *v, char *strs,
    size_t strsz, const char **why)
{
	char	*data;
	size_t	 len;
	int	 r;

	if ((r = cfg_read_file(dir, "passwd", CFG_TABLE_MAX, true, &data,
	    &len)) == -1) {
		*why = "cannot read passwd";
		return -1;
	}
	if (r == 0)
		return 0;
	r = cp_lookup(data, len, user, v, strs, strsz, why);
	freezero(data, len);
	return r;
}

int
cp_check(const char *dir, const struct cp_cred *c, struct vuser *v,
    char *strs, size_t strsz, const char **why)
{
	const char	*hash = NULL;
	int		 found, r;

	found = c->user[0] == '\0' ? 0 : find_user(dir, c->user, v, strs,
	    strsz, why);
	if (found == -1)
		return CP_EXIT_TEMP;
	if (found == 1)
		hash = v->hash;
	/* Always one crypt(3), so the time tells nothing. */
	if ((r = cp_verify(hash, c->pass)) == -1) {
		*why = "crypt failed";
		return CP_EXIT_TEMP;
	}
	if (found == 0)
		*why = "unknown user";
	else if (cp_hash_kind(hash) == CP_HASH_LOCKED)
		*why = "account locked";
	else if (!cp_hash_allowed(cp_hash_kind(hash)))
		*why = "hash type refused (only yescrypt and SHA-512)";
	else if (r == 0 || c->pass[0] == '\0')
		*why = "wrong password";
	else if (v->uid == 0)
		*why = "refusing uid 0";
	else
		return 0;
	return CP_EXIT_BAD;
}

/* Not root: keep no set-group-ID (ternauth) or set-user-ID power. */
static int
drop_setid(void)
{
	gid_t	g = getgid();
	uid_t	u = getuid();

	if (setresgid(g, g, g) == -1 || setresuid(u, u, u) == -1)
		return -1;
	if (getegid() != g || geteuid() != u) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
cp_become(const struct vuser *v, const char **why)
{
	if (setenv("USER", v->address, 1) == -1 ||
	    setenv("HOME", v->home, 1) == -1 ||
	    setenv("MAILDIR", v->maildir, 1) == -1) {
		*why = "setenv";
		return -1;
	}
	if (!priv_is_root()) {
		*why = "cannot drop set-group-ID";
		return drop_setid();
	}
	if (v->uid == 0) {
		*why = "refusing uid 0";
		errno = EPERM;
		return -1;
	}
	if (priv_drop(v->uid, v->gid) == -1) {
		*why = "cannot change to the user's uid/gid";
		return -1;
	}
	if (chdir(v->home) == -1) {
		*why = "cannot chdir to HOME";
		return -1;
	}
	return 0;
}

bool
cp_slow_caller(bool setid, uid_t ruid, long long smtpd_uid)
{
	if (!setid || ruid == 0)
		return false;
	return smtpd_uid < 0 || (uid_t)smtpd_uid != ruid;
}

void
cp_slow_wait(void)
{
	struct timespec ts = { CP_SLOW_DELAY, 0 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
