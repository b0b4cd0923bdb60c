/* cfg: control files, one setting per file (qmail style). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "io.h"
#include "paths.h"

/*
 * Read fd to EOF into a buffer of at most max bytes (EFBIG beyond).  The
 * buffer grows to max + 2 at most: one byte past max proves EFBIG, the
 * other is the NUL.  hint (st_size) only sizes the first allocation.
 */
static int
cfg_slurp(int fd, size_t hint, size_t max, char **data_out, size_t *len_out)
{
	char *data, *p;
	size_t len = 0, cap;
	ssize_t n;

	if (max > SIZE_MAX / 2 - 2)
		max = SIZE_MAX / 2 - 2;
	cap = (hint < max ? hint : max) + 2;
	if ((data = malloc(cap)) == NULL)
		return -1;
	for (;;) {
		if (len == cap - 1) {
			cap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
			if ((p = realloc(data, cap)) == NULL) {
				free(data);
				return -1;
			}
			data = p;
		}
		if ((n = io_read(fd, data + len, cap - 1 - len)) == -1) {
			free(data);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(data);
			errno = EFBIG;
			return -1;
		}
	}
	data[len] = '\0';
	*data_out = data;
	*len_out = len;
	return 1;
}

/* Returns 1 with the file read, 0 when it does not exist, -1 on error. */
int
cfg_read_file(const char *dir, const char *name, size_t max, bool nofollow,
    char **data_out, size_t *len_out)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, r, saved;

	*data_out = NULL;
	*len_out = 0;
	if (dir != NULL) {
		if (paths_join(path, sizeof(path), dir, name) == -1)
			return -1;
	} else if (strlcpy(path, name, sizeof(path)) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* O_NONBLOCK: a fifo planted in place of a file must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    (nofollow ? O_NOFOLLOW : 0));
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	if ((uintmax_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	r = cfg_slurp(fd, (size_t)st.st_size, max, data_out, len_out);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static bool
cfg_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Find the trimmed setting lines of data[0..len), skipping blank and '#'
 * lines, and count them in *n.  With items == NULL it only counts (the
 * first pass); else it also NUL-terminates each line in place and stores
 * it in items, which must have room for the count.  NUL: EINVAL; a line
 * longer than CFG_LINE_MAX: EMSGSIZE.
 */
static int
cfg_lines(char *data, size_t len, char **items, size_t *n)
{
	char *p = data, *end = data + len, *nl, *s, *e;
	size_t count = 0;

	if (memchr(data, '\0', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) > CFG_LINE_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		for (s = p; s < nl && cfg_blank(*s); s++)
			;
		for (e = nl; e > s && cfg_blank(e[-1]); e--)
			;
		if (items != NULL)
			*e = '\0';
		if (e > s && *s != '#') {
			if (items != NULL)
				items[count] = s;
			count++;
		}
		p = nl + 1;
	}
	*n = count;
	return 0;
}

int
cfg_get_list(const char *dir, const char *name, struct cfglist *out)
{
	char *data;
	size_t len, n;
	int r;

	out->items = NULL;
	out->n = 0;
	out->mem = NULL;
	if ((r = cfg_read_file(dir, name, CFG_FILE_MAX, false, &data,
	    &len)) != 1)
		return r;
	if (cfg_lines(data, len, NULL, &n) == -1)
		goto fail;
	/* One more slot: items is never NULL for a file that exists. */
	if ((out->items = reallocarray(NULL, n + 1, sizeof(char *))) == NULL)
		goto fail;
	(void)cfg_lines(data, len, out->items, &out->n);
	out->items[out->n] = NULL;
	out->mem = data;
	return 1;
fail:
	free(data);
	return -1;
}

void
cfg_list_free(struct cfglist *l)
{
	free(l->items);
	free(l->mem);
	l->items = NULL;
	l->mem = NULL;
	l->n = 0;
}

static int
cfg_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
cfg_lowercase(char *out, size_t outsz, const char *in, size_t len)
{
	size_t i;

	if (len >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 0; i < len; i++)
		out[i] = cfg_lower((unsigned char)in[i]);
	out[len] = '\0';
	return 0;
}

/* bsearch(3) order: the key against an entry's first member. */
static int
cfg_cmp_first(const void *key, const void *ent)
{
	const char *name;

	memcpy(&name, ent, sizeof(name));
	return strcmp(key, name);
}

const void *
cfg_find_sorted(const void *tab, size_t n, size_t size, const char *key)
{
	if (n == 0)
		return NULL;
	return bsearch(key, tab, n, size, cfg_cmp_first);
}

bool
cfg_list_has(const struct cfglist *l, const char *s)
{
	const unsigned char *a, *b;
	size_t i;

	for (i = 0; i < l->n; i++) {
		a = (const unsigned char *)l->items[i];
		b = (const unsigned char *)s;
		while (*a != '\0' && cfg_lower(*a) == cfg_lower(*b)) {
			a++;
			b++;
		}
		if (*a == '\0' && *b == '\0')
			return true;
	}
	return false;
}

/* An existing file without a setting line counts as absent (0). */
int
cfg_get_str(const char *dir, const char *name, char *out, size_t outsz)
{
	struct cfglist l;
	int r;

	if (outsz > 0)
		out[0] = '\0';
	if ((r = cfg_get_list(dir, name, &l)) != 1)
		return r;
	if (l.n == 0) {
		cfg_list_free(&l);
		return 0;
	}
	if (strlcpy(out, l.items[0], outsz) >= outsz) {
		cfg_list_free(&l);
		if (outsz > 0)
			out[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	cfg_list_free(&l);
	return 1;
}

int
cfg_get_num(const char *dir, const char *name, long long min,
    long long max, long long *out)
{
	char s[CFG_LINE_MAX + 1];
	const char *errstr, *p;
	long long v;
	int r;

	if ((r = cfg_get_str(dir, name, s, sizeof(s))) != 1)
		return r;
	for (p = s; *p != '\0'; p++)
		if (*p < '0' || *p > '9') {
			errno = EINVAL;
			return -1;
		}
	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL) {
		errno = strcmp(errstr, "invalid") == 0 ? EINVAL : ERANGE;
		return -1;
	}
	*out = v;
	return 1;
}
