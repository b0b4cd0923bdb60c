/* users: the virtual passwd table and system users. */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "users.h"

#define ID_MAX	2147483647LL	/* uid_t and gid_t fit everywhere */

/* The state of one users_parse call. */
struct uparse {
	struct usertab	*tab;
	size_t		 cap;
	char		*homes;		/* room for derived homes */
	const char	*err;
};

static int
fail(struct uparse *up, const char *why, int err)
{
	up->err = why;
	errno = err;
	return -1;
}

/* Split s at ':' into at most max fields; returns the count. */
static size_t
split(char *s, char **f, size_t max)
{
	size_t	n = 0;

	f[n++] = s;
	while ((s = strchr(s, ':')) != NULL) {
		*s++ = '\0';
		if (n == max)
			return max + 1;
		f[n++] = s;
	}
	return n;
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool
valid_address(char *s)
{
	char	*at = strrchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || !printable(s) ||
	    strlen(s) > 255)
		return false;
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 32;
	return true;
}

static bool
valid_path(const char *s)
{
	return s[0] == '/' && printable(s);
}

/* The Maildir's parent directory, written at up->homes. */
static const char *
parent_dir(struct uparse *up, const char *maildir)
{
	char	*h = up->homes;
	size_t	 len = strlen(maildir);

	while (len > 1 && maildir[len - 1] == '/')
		len--;
	while (len > 1 && maildir[len - 1] != '/')
		len--;
	while (len > 1 && maildir[len - 1] == '/')
		len--;
	memcpy(h, maildir, len);
	h[len] = '\0';
	up->homes += len + 1;
	return h;
}

static int
grow(struct uparse *up)
{
	struct vuser	*n;
	size_t		 ncap;

	if (up->tab->n < up->cap)
		return 0;
	if (up->tab->n == USERS_ENTRIES_MAX)
		return fail(up, "too many users", E2BIG);
	ncap = up->cap ? up->cap * 2 : 64;
	if ((n = reallocarray(up->tab->ents, ncap, sizeof(*n))) == NULL)
		return fail(up, "out of memory", ENOMEM);
	up->tab->ents = n;
	up->cap = ncap;
	return 0;
}

/* One line, NUL-terminated in place. */
static int
parse_line(struct uparse *up, char *s, size_t lineno)
{
	struct vuser	 u;
	char		*f[7];
	const char	*e;
	size_t		 n;

	n = split(s, f, 6);
	if (n < 5 || n > 6)
		return fail(up, "need 5 or 6 fields", EINVAL);
	if (!valid_address(f[0]))
		return fail(up, "bad address", EINVAL);
	if (f[1][0] == '\0' || !printable(f[1]))
		return fail(up, "bad password hash", EINVAL);
	u.uid = (uid_t)strtonum(f[2], 0, ID_MAX, &e);
	if (e != NULL)
		return fail(up, "bad uid", EINVAL);
	u.gid = (gid_t)strtonum(f[3], 0, ID_MAX, &e);
	if (e != NULL)
		return fail(up, "bad gid", EINVAL);
	if (!valid_path(f[4]))
		return fail(up, "Maildir is not an absolute path", EINVAL);
	if (n == 6 && !valid_path(f[5]))
		return fail(up, "home is not an absolute path", EINVAL);
	if (grow(up) == -1)
		return -1;
	u.address = f[0];
	u.hash = f[1];
	u.maildir = f[4];
	u.home = n == 6 ? f[5] : parent_dir(up, f[4]);
	u.lineno = lineno;
	up->tab->ents[up->tab->n++] = u;
	return 0;
}

static int
cmp_user(const void *a, const void *b)
{
	return strcmp(((const struct vuser *)a)->address,
	    ((const struct vuser *)b)->address);
}

/* Split mem into lines and parse each; *lineno_out on error. */
static int
parse_all(struct uparse *up, char *mem, size_t len, size_t *lineno_out)
{
	char	*s = mem, *end = mem + len, *eol;
	size_t	 l, lineno = 0;

	for (; s < end; s = eol != NULL ? eol + 1 : end) {
		*lineno_out = ++lineno;
		eol = memchr(s, '\n', (size_t)(end - s));
		l = eol != NULL ? (size_t)(eol - s) : (size_t)(end - s);
		s[l] = '\0';
		if (l > USERS_LINE_MAX)
			return fail(up, "line too long", E2BIG);
		if (strlen(s) != l)
			return fail(up, "NUL byte", EINVAL);
		if (l > 0 && s[l - 1] == '\r')
			s[--l] = '\0';
		if (l > 0 && s[0] != '#' && parse_line(up, s, lineno) == -1)
			return -1;
	}
	return 0;
}

int
users_parse(const char *data, size_t len, struct usertab *out,
    size_t *lineno_out, const char **errstr)
{
	struct uparse	 up;
	size_t		 i;
	int		 saved;

	memset(out, 0, sizeof(*out));
	memset(&up, 0, sizeof(up));
	up.tab = out;
	*lineno_out = 0;
	if (len > (size_t)-1 / 2 - 2 ||
	    (out->mem = malloc(2 * len + 2)) == NULL) {
		*errstr = "out of memory";
		errno = ENOMEM;
		return -1;
	}
	out->memsz = 2 * len + 2;
	memcpy(out->mem, data, len);
	out->mem[len] = '\0';
	up.homes = out->mem + len + 1;
	if (parse_all(&up, out->mem, len, lineno_out) == -1)
		goto bad;
	if (out->n > 1)
		qsort(out->ents, out->n, sizeof(out->ents[0]), cmp_user);
	for (i = 1; i < out->n; i++)
		if (strcmp(out->ents[i - 1].address, out->ents[i].address) ==
		    0) {
			*lineno_out = out->ents[i].lineno >
			    out->ents[i - 1].lineno ? out->ents[i].lineno :
			    out->ents[i - 1].lineno;
			fail(&up, "duplicate address", EINVAL);
			goto bad;
		}
	return 0;
bad:
	saved = errno;
	*errstr = up.err;
	users_free(out);
	errno = saved;
	return -1;
}

const struct vuser *
users_lookup(const struct usertab *tab, const char *address)
{
	char	 key[USERS_LINE_MAX + 1];

	if (cfg_lowercase(key, sizeof(key), address, strlen(address)) == -1)
		return NULL;
	return cfg_find_sorted(tab->ents, tab->n, sizeof(tab->ents[0]), key);
}

void
users_free(struct usertab *tab)
{
	free(tab->ents);
	if (tab->mem != NULL) {
		explicit_bzero(tab->mem, tab->memsz);
		free(tab->mem);
	}
	memset(tab, 0, sizeof(*tab));
}

int
users_system(const char *name, struct sysuser *out)
{
	struct passwd	*pw;

	if (strlen(name) > USERS_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		if (errno == 0 || errno == ENOENT || errno == ESRCH ||
		    errno == EBADF || errno == EPERM)
			return 0;
		return -1;
	}
	if (strlcpy(out->name, pw->pw_name, sizeof(out->name)) >=
	    sizeof(out->name) ||
	    strlcpy(out->home, pw->pw_dir, sizeof(out->home)) >=
	    sizeof(out->home)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	return 1;
}
