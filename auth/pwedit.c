/* pwedit: tern-passwd's changes to the passwd table. */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "paths.h"
#include "pwedit.h"
#include "users.h"

static int
edit_fail(const char *why, int e, const char **errstr)
{
	*errstr = why;
	errno = e;
	return -1;
}

/* Line lineno (1-based) of data: its start and length without '\n'. */
static void
find_line(const char *data, size_t len, size_t lineno, size_t *start,
    size_t *llen)
{
	const char	*p = data, *nl;

	while (--lineno > 0 && (nl = memchr(p, '\n', data + len - p)) != NULL)
		p = nl + 1;
	*start = (size_t)(p - data);
	nl = memchr(p, '\n', data + len - p);
	*llen = nl != NULL ? (size_t)(nl - p) : (size_t)(data + len - p);
}

/* The home field (6th) of a line as written, or "" when absent. */
static void
home_field(const char *line, size_t llen, char *out, size_t outsz)
{
	const char	*p = line, *end = line + llen;
	int		 i;

	out[0] = '\0';
	for (i = 0; i < 5 && p != NULL; i++)
		if ((p = memchr(p, ':', end - p)) != NULL)
			p++;
	if (p == NULL)
		return;
	if (end > p && end[-1] == '\r')
		end--;
	if ((size_t)(end - p) < outsz) {
		memcpy(out, p, end - p);
		out[end - p] = '\0';
	}
}

/* The new line for ch (old: the entry being changed, or NULL). */
static int
make_line(const struct pw_change *ch, const struct vuser *old,
    const char *home, char *out, size_t outsz, const char **errstr)
{
	int	n;

	if (old == NULL && (!ch->set_uid || !ch->set_gid ||
	    ch->maildir == NULL))
		return edit_fail("a new user needs -u, -g and -m", EINVAL,
		    errstr);
	n = snprintf(out, outsz, "%s:%s:%lu:%lu:%s%s%s\n",
	    old != NULL ? old->address : ch->address, ch->hash,
	    (unsigned long)(ch->set_uid ? ch->uid : old->uid),
	    (unsigned long)(ch->set_gid ? ch->gid : old->gid),
	    ch->maildir != NULL ? ch->maildir : old->maildir,
	    home[0] != '\0' ? ":" : "", home);
	if (n < 0 || (size_t)n >= outsz)
		return edit_fail("line too long", EINVAL, errstr);
	return 0;
}

/* Put line into data at [start, start + llen) (or append). */
static int
put_line(const char *data, size_t len, size_t start, size_t llen,
    const char *line, char **out, size_t *outlen)
{
	size_t	n = strlen(line), rest, sep;

	/* The replaced line keeps its own newline, the new one has one. */
	rest = start + llen < len ? len - start - llen - 1 : 0;
	sep = start == len && len > 0 && data[len - 1] != '\n';
	if ((*out = malloc(start + sep + n + rest + 1)) == NULL)
		return -1;
	memcpy(*out, data, start);
	if (sep)
		(*out)[start] = '\n';
	memcpy(*out + start + sep, line, n);
	memcpy(*out + start + sep + n, data + len - rest, rest);
	*outlen = start + sep + n + rest;
	(*out)[*outlen] = '\0';
	return 0;
}

/* The changed text must still be a valid table. */
static int
check_text(const char *text, size_t len, const char **errstr)
{
	struct usertab	tab;
	size_t		lineno;

	if (users_parse(text, len, &tab, &lineno, errstr) == -1)
		return -1;
	users_free(&tab);
	return 0;
}

int
pw_edit(const char *data, size_t len, const struct pw_change *ch,
    char **out, size_t *outlen, bool *added, const char **errstr)
{
	struct usertab		 tab;
	const struct vuser	*v;
	char			 line[USERS_LINE_MAX + 2], home[PATH_MAX];
	size_t			 lineno, start = len, llen = 0;
	int			 r;

	*out = NULL;
	if (users_parse(data, len, &tab, &lineno, errstr) == -1)
		return -1;
	home[0] = '\0';
	if ((v = users_lookup(&tab, ch->address)) != NULL) {
		find_line(data, len, v->lineno, &start, &llen);
		home_field(data + start, llen, home, sizeof(home));
	}
	*added = v == NULL;
	r = make_line(ch, v, home, line, sizeof(line), errstr);
	users_free(&tab);
	if (r == -1)
		return -1;
	if (put_line(data, len, start, llen, line, out, outlen) == -1)
		return edit_fail("out of memory", ENOMEM, errstr);
	explicit_bzero(line, sizeof(line));
	if (check_text(*out, *outlen, errstr) == -1) {
		freezero(*out, *outlen);
		*out = NULL;
		return -1;
	}
	return 0;
}

int
pw_lock(const char *dir)
{
	char	path[PATH_MAX];
	int	fd;

	if (paths_join(path, sizeof(path), dir, "passwd.lock") == -1)
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			(void)close(fd);
			return -1;
		}
	return fd;
}

/* A new passwd: root:ternauth 0640 when that group exists, else 0600. */
static int
new_owner(int fd, mode_t *mode)
{
	struct group	*gr;

	*mode = 0600;
	if ((gr = getgrnam(PW_GROUP)) == NULL)
		return 0;
	if (fchown(fd, (uid_t)-1, gr->gr_gid) == -1)
		return errno == EPERM ? 0 : -1;
	*mode = 0640;
	return 0;
}

/* Write, give the old owner and mode, fsync; the fd is closed. */
static int
fill_temp(int fd, const char *text, size_t len, const struct stat *old)
{
	mode_t	mode = old != NULL ? old->st_mode & 07777 : 0600;
	int	e;

	if (io_write_all(fd, text, len) == -1 ||
	    (old != NULL && fchown(fd, old->st_uid, old->st_gid) == -1 &&
	    errno != EPERM) || (old == NULL && new_owner(fd, &mode) == -1) ||
	    fchmod(fd, mode) == -1 || fsync(fd) == -1) {
		e = errno;
		(void)close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

int
pw_write(const char *dir, const char *text, size_t len)
{
	struct stat	st;
	char		path[PATH_MAX], tmp[PATH_MAX];
	bool		have;
	int		fd, e;

	if (paths_join(path, sizeof(path), dir, "passwd") == -1 ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!(have = lstat(path, &st) == 0) && errno != ENOENT)
		return -1;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		return -1;
	if (fill_temp(fd, text, len, have ? &st : NULL) == -1 ||
	    rename(tmp, path) == -1) {
		e = errno;
		(void)unlink(tmp);
		errno = e;
		return -1;
	}
	return io_fsync_dir(dir);
}

/* One line from fd 0, read byte by byte so nothing after it is used. */
static int
read_line(char *out, size_t outsz, const char **why)
{
	size_t	len = 0;
	ssize_t	n;
	char	c;

	for (;;) {
		if ((n = read(0, &c, 1)) == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*why = "cannot read the password";
			return -1;
		}
		if (n == 0 || c == '\n')
			break;
		if (c == '\0' || len + 1 >= outsz) {
			*why = c == '\0' ? "NUL byte in the password" :
			    "password too long";
			errno = EINVAL;
			return -1;
		}
		out[len++] = c;
	}
	if (len > 0 && out[len - 1] == '\r')
		len--;
	out[len] = '\0';
	return 0;
}

static int
read_tty(char *out, size_t outsz, const char **why)
{
	char	again[PW_PASS_MAX + 2];
	int	rv = 0;

	if (readpassphrase("New password: ", out, outsz,
	    RPP_REQUIRE_TTY) == NULL ||
	    readpassphrase("Retype new password: ", again, sizeof(again),
	    RPP_REQUIRE_TTY) == NULL) {
		*why = "cannot read the password from the terminal";
		rv = -1;
	} else if (strcmp(out, again) != 0) {
		*why = "the passwords do not match";
		errno = EINVAL;
		rv = -1;
	}
	explicit_bzero(again, sizeof(again));
	return rv;
}

int
pw_read_password(char *out, size_t outsz, const char **why)
{
	size_t	max = outsz < PW_PASS_MAX + 2 ? outsz : PW_PASS_MAX + 2;

	if ((isatty(0) ? read_tty(out, max, why) :
	    read_line(out, max, why)) == -1)
		return -1;
	if (strlen(out) > PW_PASS_MAX || out[0] == '\0') {
		*why = out[0] == '\0' ? "empty password" : "password too long";
		explicit_bzero(out, outsz);
		errno = EINVAL;
		return -1;
	}
	return 0;
}
