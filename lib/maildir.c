/* maildir: deliver into a Maildir, crash-safe. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "maildir.h"
#include "paths.h"
#include "uniq.h"

#define MAILDIR_COPY_BUF	(64 * 1024)
#define MAILDIR_NAME_MAX	512
#define MAILDIR_TRIES		3	/* fresh names after EEXIST in tmp/ */

/* mkdir that accepts an existing directory (but not anything else). */
static int
maildir_mkdir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
maildir_create(const char *path)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[PATH_MAX];
	size_t i;

	if (maildir_mkdir(path) == -1)
		return -1;
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if (paths_join(p, sizeof(p), path, sub[i]) == -1 ||
		    maildir_mkdir(p) == -1)
			return -1;
	}
	return 0;
}

/* Copy the rest of in to out through a 64 KiB buffer: 0 or -1. */
static int
maildir_copy(int in, int out)
{
	char *b;
	ssize_t n;
	int saved;

	if ((b = malloc(MAILDIR_COPY_BUF)) == NULL)
		return -1;
	while ((n = io_read(in, b, MAILDIR_COPY_BUF)) > 0)
		if (io_write_all(out, b, (size_t)n) == -1)
			break;
	saved = errno;
	free(b);
	errno = saved;
	return n == 0 ? 0 : -1;
}

/*
 * Create a fresh file in tmp/: its base name into name, its path into
 * tmppath.  The fd, or -1.
 */
static int
maildir_open_tmp(const char *path, const char *key, char *name,
    size_t namesz, char *tmppath, size_t tmpsz)
{
	char dir[PATH_MAX];
	int fd, i;

	if (paths_join(dir, sizeof(dir), path, "tmp") == -1)
		return -1;
	for (i = 0; i < MAILDIR_TRIES; i++) {
		if (uniq_maildir_key(name, namesz, key) == -1 ||
		    paths_join(tmppath, tmpsz, dir, name) == -1)
			return -1;
		fd = open(tmppath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* Write prefix and the rest of in, then make the data durable. */
static int
maildir_fill(int fd, const void *prefix, size_t prefix_len, int in)
{
	if (prefix_len > 0 && io_write_all(fd, prefix, prefix_len) == -1)
		return -1;
	if (maildir_copy(in, fd) == -1)
		return -1;
	return fsync(fd);
}

/*
 * link(2) keeps the tmp name until the new name exists, so a crash
 * leaves at worst a stale tmp file; rename is the fallback where the
 * file system has no hard links.
 */
static int
maildir_publish(const char *tmppath, const char *newpath)
{
	if (link(tmppath, newpath) == 0) {
		(void)unlink(tmppath);
		return 0;
	}
	if (errno != EXDEV && errno != EPERM && errno != ENOSYS &&
	    errno != EOPNOTSUPP && errno != EMLINK)
		return -1;
	return rename(tmppath, newpath);
}

int
maildir_deliver(const char *path, const void *prefix, size_t prefix_len,
    int in, char *name_out, size_t namesz)
{
	return maildir_deliver_key(path, NULL, prefix, prefix_len, in,
	    name_out, namesz);
}

int
maildir_deliver_key(const char *path, const char *key, const void *prefix,
    size_t prefix_len, int in, char *name_out, size_t namesz)
{
	char name[MAILDIR_NAME_MAX], tmppath[PATH_MAX], newpath[PATH_MAX];
	char newdir[PATH_MAX];
	int fd, saved;

	if (paths_join(newdir, sizeof(newdir), path, "new") == -1)
		return -1;
	if ((fd = maildir_open_tmp(path, key, name, sizeof(name), tmppath,
	    sizeof(tmppath))) == -1)
		return -1;
	if (strlen(name) >= namesz ||
	    paths_join(newpath, sizeof(newpath), newdir, name) == -1) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if (maildir_fill(fd, prefix, prefix_len, in) == -1)
		goto fail;
	/* NFS reports some write errors only at close. */
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (maildir_publish(tmppath, newpath) == -1)
		goto fail;
	if (io_fsync_dir(newdir) == -1) {
		/* Not durable: take it back, the caller's retry is the copy. */
		saved = errno;
		(void)unlink(newpath);
		(void)unlink(tmppath);
		errno = saved;
		return -1;
	}
	strlcpy(name_out, name, namesz);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlink(tmppath);
	errno = saved;
	return -1;
}

/* Read up to len bytes (fewer only at EOF): the count, or -1. */
static ssize_t
maildir_read_full(int fd, char *b, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = io_read(fd, b + got, len - got)) == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Does dir/name start with prefix?  1 yes, 0 no, -1 gone (ENOENT). */
static int
maildir_starts_with(int dfd, const char *name, const void *prefix,
    size_t prefix_len)
{
	char *b;
	ssize_t n;
	int fd, r;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd == -1)
		return errno == ENOENT ? -1 : 0;
	if ((b = malloc(prefix_len + 1)) == NULL) {
		close(fd);
		return 0;
	}
	n = maildir_read_full(fd, b, prefix_len);
	r = n == (ssize_t)prefix_len && memcmp(b, prefix, prefix_len) == 0;
	free(b);
	close(fd);
	return r;
}

/* One of new/, cur/: 1 found (name_out set), 0 not, -1 error. */
static int
maildir_find_in(const char *path, const char *sub, const char *key,
    const void *prefix, size_t prefix_len, char *name_out, size_t namesz)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *dp;
	int r = 0, c, saved;

	if (paths_join(dir, sizeof(dir), path, sub) == -1)
		return -1;
	if ((dp = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL) {
			r = errno != 0 ? -1 : 0;
			break;
		}
		if (de->d_name[0] == '.' ||
		    !uniq_maildir_has_key(de->d_name, key))
			continue;
		c = maildir_starts_with(dirfd(dp), de->d_name, prefix,
		    prefix_len);
		if (c != 0) {
			strlcpy(name_out, de->d_name, namesz);
			r = 1;
			break;
		}
	}
	saved = errno;
	(void)closedir(dp);
	/* A killed writer may have linked it without the directory sync. */
	if (r == 1 && io_fsync_dir(dir) == -1)
		return -1;
	errno = saved;
	return r;
}

int
maildir_find_key(const char *path, const char *key, const void *prefix,
    size_t prefix_len, char *name_out, size_t namesz)
{
	int r;

	if (key == NULL || key[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	r = maildir_find_in(path, "new", key, prefix, prefix_len, name_out,
	    namesz);
	if (r != 0)
		return r;
	return maildir_find_in(path, "cur", key, prefix, prefix_len,
	    name_out, namesz);
}
