/* maildir: deliver into a Maildir, crash-safe. */
#include <sys/stat.h>

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
maildir_open_tmp(const char *path, char *name, size_t namesz,
    char *tmppath, size_t tmpsz)
{
	char dir[PATH_MAX];
	int fd, i;

	if (paths_join(dir, sizeof(dir), path, "tmp") == -1)
		return -1;
	for (i = 0; i < MAILDIR_TRIES; i++) {
		if (uniq_maildir(name, namesz) == -1 ||
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
	char name[MAILDIR_NAME_MAX], tmppath[PATH_MAX], newpath[PATH_MAX];
	char newdir[PATH_MAX];
	int fd, saved;

	if (paths_join(newdir, sizeof(newdir), path, "new") == -1)
		return -1;
	if ((fd = maildir_open_tmp(path, name, sizeof(name), tmppath,
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
