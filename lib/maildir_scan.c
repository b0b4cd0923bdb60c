/* maildir_scan: list, open, size and remove the messages of a Maildir. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "maildir_scan.h"

#define MSCAN_READ_CHUNK	65536

void
mscan_crlf_init(struct mscan_crlf *c)
{
	memset(c, 0, sizeof(*c));
}

void
mscan_crlf_add(struct mscan_crlf *c, const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len, *nl;
	unsigned char prev = c->last;

	if (len == 0)
		return;
	c->size += len;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if ((nl == p ? prev : nl[-1]) != '\r')
			c->size++;
		prev = '\n';
		p = nl + 1;
	}
	c->any = true;
	c->last = end[-1];
}

uint64_t
mscan_crlf_end(const struct mscan_crlf *c)
{
	return c->size + (c->any && c->last != '\n' ? 2 : 0);
}

void
mscan_free(struct mscan *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->msgs[i].name);
	free(m->msgs);
	if (m->curfd != -1)
		(void)close(m->curfd);
	memset(m, 0, sizeof(*m));
	m->curfd = -1;
}

/* A name a reader must never take: hidden, too long, or with '/'. */
static bool
mscan_name_ok(const char *n)
{
	return n[0] != '.' && strlen(n) <= MSCAN_NAME_MAX &&
	    strchr(n, '/') == NULL;
}

static bool
mscan_is_file(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

/* new/ -> cur/ with ":2," (Maildir's "seen by a reader" step). */
static int
mscan_move_new(int mdfd, int curfd)
{
	char to[MSCAN_NAME_MAX + 8];
	struct dirent *de;
	int newfd;
	DIR *d;

	if ((newfd = openat(mdfd, "new", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(newfd)) == NULL) {
		(void)close(newfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!mscan_name_ok(de->d_name) ||
		    !mscan_is_file(dirfd(d), de->d_name))
			continue;
		if (snprintf(to, sizeof(to), "%s%s", de->d_name,
		    strchr(de->d_name, ':') ? "" : ":2,") >= (int)sizeof(to) ||
		    strlen(to) > MSCAN_NAME_MAX)
			continue;
		/*
		 * Never over a name already in cur/ (that would lose a
		 * message); ENOENT: another reader moved it first.
		 */
		if (renameat2(dirfd(d), de->d_name, curfd, to,
		    RENAME_NOREPLACE) == -1 && (errno == EINVAL ||
		    errno == ENOSYS) && linkat(dirfd(d), de->d_name, curfd,
		    to, 0) == 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	(void)closedir(d);
	return 0;
}

static long long
mscan_stamp(const char *n)
{
	long long v = 0;
	int i;

	for (i = 0; i < 18 && n[i] >= '0' && n[i] <= '9'; i++)
		v = v * 10 + (n[i] - '0');
	return v;
}

static int
mscan_add(struct mscan *m, const char *name)
{
	struct mscan_msg *e, *nm;
	size_t ncap;

	if (m->n == m->cap) {
		if (m->cap >= MSCAN_MSGS_MAX) {
			errno = E2BIG;
			return -1;
		}
		ncap = m->cap ? m->cap * 2 : 64;
		if ((nm = reallocarray(m->msgs, ncap, sizeof(*nm))) == NULL)
			return -1;
		m->msgs = nm;
		m->cap = ncap;
	}
	e = &m->msgs[m->n];
	memset(e, 0, sizeof(*e));
	if ((e->name = strdup(name)) == NULL)
		return -1;
	e->baselen = strcspn(name, ":");
	e->stamp = mscan_stamp(name);
	m->n++;
	return 0;
}

static int
mscan_cmp(const void *a, const void *b)
{
	const struct mscan_msg *x = a, *y = b;

	if (x->stamp != y->stamp)
		return x->stamp < y->stamp ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
mscan_list_cur(struct mscan *m)
{
	struct dirent *de;
	int fd, saved;
	DIR *d;

	if ((fd = dup(m->curfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!mscan_name_ok(de->d_name) ||
		    !mscan_is_file(m->curfd, de->d_name))
			continue;
		if (mscan_add(m, de->d_name) == -1) {
			saved = errno;
			(void)closedir(d);
			errno = saved;
			return -1;
		}
	}
	(void)closedir(d);
	if (m->n > 1)
		qsort(m->msgs, m->n, sizeof(m->msgs[0]), mscan_cmp);
	return 0;
}

int
mscan_open(struct mscan *m, const char *path, bool move_new)
{
	int mdfd, saved;

	memset(m, 0, sizeof(*m));
	m->curfd = -1;
	if ((mdfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	m->curfd = openat(mdfd, "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (m->curfd == -1 || (move_new && mscan_move_new(mdfd, m->curfd) ==
	    -1) || mscan_list_cur(m) == -1) {
		saved = errno;
		(void)close(mdfd);
		mscan_free(m);
		errno = saved;
		return -1;
	}
	(void)close(mdfd);
	return 0;
}

/* The name went away: look for the same base name with other flags. */
static int
mscan_refind(struct mscan *m, size_t i)
{
	struct mscan_msg *e = &m->msgs[i];
	struct dirent *de;
	char *n = NULL;
	int fd;
	DIR *d;

	if ((fd = dup(m->curfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, e->name, e->baselen) == 0 &&
		    (de->d_name[e->baselen] == ':' ||
		    de->d_name[e->baselen] == '\0') &&
		    mscan_name_ok(de->d_name)) {
			n = strdup(de->d_name);
			break;
		}
	}
	(void)closedir(d);
	if (n == NULL) {
		errno = de == NULL ? ENOENT : ENOMEM;
		return -1;
	}
	free(e->name);
	e->name = n;
	return 0;
}

static int
mscan_open_name(int dirfd, const char *name)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    fcntl(fd, F_SETFL, O_RDONLY) == -1) {
		(void)close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

int
mscan_msg_open(struct mscan *m, size_t i)
{
	int fd;

	if (i >= m->n) {
		errno = EINVAL;
		return -1;
	}
	fd = mscan_open_name(m->curfd, m->msgs[i].name);
	if (fd == -1 && errno == ENOENT && mscan_refind(m, i) == 0)
		fd = mscan_open_name(m->curfd, m->msgs[i].name);
	return fd;
}

static bool
mscan_num(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = p;

	while (p < end && *p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	*out = v;
	return p > s && (p == end || *p == ',' || *p == ':');
}

bool
mscan_name_sizes(const char *name, size_t baselen, bool *have_s,
    uint64_t *s, bool *have_w, uint64_t *w)
{
	const char *p = name, *end = name + baselen;

	*have_s = *have_w = false;
	while ((p = memchr(p, ',', (size_t)(end - p))) != NULL) {
		p++;
		if (end - p >= 2 && p[1] == '=' && (p[0] == 'S' ||
		    p[0] == 'W')) {
			if (!mscan_num(p + 2, end, p[0] == 'S' ? s : w))
				return false;
			*(p[0] == 'S' ? have_s : have_w) = true;
		}
	}
	return true;
}

static int
mscan_count(int fd, uint64_t *out)
{
	struct mscan_crlf c;
	char *buf;
	ssize_t r;

	if ((buf = malloc(MSCAN_READ_CHUNK)) == NULL)
		return -1;
	mscan_crlf_init(&c);
	while ((r = read(fd, buf, MSCAN_READ_CHUNK)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			free(buf);
			return -1;
		}
		mscan_crlf_add(&c, buf, (size_t)r);
	}
	free(buf);
	*out = mscan_crlf_end(&c);
	return 0;
}

int
mscan_msg_size(struct mscan *m, size_t i, uint64_t *size_out)
{
	struct mscan_msg *e;
	struct stat st;
	bool hs, hw;
	uint64_t s, w;
	int fd, r, saved;

	if (i >= m->n) {
		errno = EINVAL;
		return -1;
	}
	e = &m->msgs[i];
	if (e->have_vsize) {
		*size_out = e->vsize;
		return 0;
	}
	if ((fd = mscan_msg_open(m, i)) == -1)
		return -1;
	if (mscan_name_sizes(e->name, e->baselen, &hs, &s, &hw, &w) && hs &&
	    hw && fstat(fd, &st) == 0 && (uint64_t)st.st_size == s && w >= s) {
		e->vsize = w;
		r = 0;
	} else
		r = mscan_count(fd, &e->vsize);
	saved = errno;
	(void)close(fd);
	errno = saved;
	if (r == 0) {
		e->have_vsize = true;
		*size_out = e->vsize;
	}
	return r;
}

int
mscan_msg_unlink(struct mscan *m, size_t i)
{
	if (i >= m->n) {
		errno = EINVAL;
		return -1;
	}
	if (unlinkat(m->curfd, m->msgs[i].name, 0) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	if (mscan_refind(m, i) == -1)
		return errno == ENOENT ? 0 : -1;
	if (unlinkat(m->curfd, m->msgs[i].name, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

size_t
mscan_uid(const char *name, size_t baselen, char out[MSCAN_UID_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i, o;
	bool plain = baselen >= 1 && baselen <= MSCAN_UID_MAX;

	for (i = 0; plain && i < baselen; i++)
		if ((unsigned char)name[i] < 0x21 ||
		    (unsigned char)name[i] > 0x7e)
			plain = false;
	if (plain) {
		memcpy(out, name, baselen);
		out[baselen] = '\0';
		return baselen;
	}
	if (EVP_Digest(name, baselen, md, &mdlen, EVP_sha256(), NULL) != 1)
		mdlen = 0;
	o = strlcpy(out, "sha256-", MSCAN_UID_MAX + 1);
	for (i = 0; i < mdlen && o + 2 <= MSCAN_UID_MAX - 7; i++) {
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
	return o;
}
