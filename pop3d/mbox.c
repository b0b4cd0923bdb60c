/* mbox: the lock of a Maildir and the session's operations on it. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "line.h"
#include "mbox.h"

#define MBOX_LOCK_TEXT_MAX	300
#define MBOX_HOST_MAX		256

int
mbox_lock_parse(const char *text, size_t len, long *pid, char *host,
    size_t hostsz)
{
	const char *p = text, *end = text + len, *h;
	long v = 0;

	if (len == 0 || end[-1] != '\n')
		return -1;
	end--;
	for (; p < end && *p >= '0' && *p <= '9' && v < 100000000; p++)
		v = v * 10 + (*p - '0');
	if (p == text || p >= end || *p != ' ' || v <= 0)
		return -1;
	h = ++p;
	if (h == end || (size_t)(end - h) >= hostsz ||
	    memchr(h, ' ', (size_t)(end - h)) != NULL ||
	    memchr(h, '\0', (size_t)(end - h)) != NULL ||
	    memchr(h, '\n', (size_t)(end - h)) != NULL)
		return -1;
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	*pid = v;
	return 0;
}

/* Is the existing lock stale?  true: remove it and try again. */
static bool
mbox_lock_stale(const char *lock, const char *myhost)
{
	char text[MBOX_LOCK_TEXT_MAX], host[MBOX_HOST_MAX];
	struct stat st, now;
	ssize_t n;
	long pid;
	int fd;

	if ((fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1)
		return errno == ENOENT;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		(void)close(fd);
		return false;
	}
	n = read(fd, text, sizeof(text));
	(void)close(fd);
	if (time(NULL) - st.st_mtime <= POP3_LOCK_STALE_S &&
	    (n <= 0 || mbox_lock_parse(text, (size_t)n, &pid, host,
	    sizeof(host)) == -1 || strcmp(host, myhost) != 0 ||
	    kill((pid_t)pid, 0) == 0 || errno != ESRCH))
		return false;
	/* only the file we looked at: not a new lock made meanwhile */
	if (lstat(lock, &now) == -1 || now.st_ino != st.st_ino ||
	    now.st_dev != st.st_dev)
		return false;
	return unlink(lock) == 0 || errno == ENOENT;
}

static int
mbox_lock_tmp(const char *dir, const char *host, char *tmp, size_t tmpsz)
{
	char text[MBOX_LOCK_TEXT_MAX];
	int fd, n;

	n = snprintf(tmp, tmpsz, "%s/%s.%s.%ld.%08x", dir, MBOX_LOCK_NAME,
	    host, (long)getpid(), arc4random());
	if (n < 0 || (size_t)n >= tmpsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return -1;
	n = snprintf(text, sizeof(text), "%ld %s\n", (long)getpid(), host);
	if (io_write_all(fd, text, (size_t)n) == -1) {
		(void)close(fd);
		(void)unlink(tmp);
		return -1;
	}
	(void)close(fd);
	return 0;
}

int
mbox_lock(const char *dir, char *lock_out, size_t locksz)
{
	char host[MBOX_HOST_MAX], tmp[PATH_MAX];
	struct stat st;
	int tries, r = 0;

	if (gethostname(host, sizeof(host)) == -1)
		(void)strlcpy(host, "localhost", sizeof(host));
	host[strcspn(host, "/: \n")] = '\0';
	if (snprintf(lock_out, locksz, "%s/%s", dir, MBOX_LOCK_NAME) >=
	    (int)locksz || mbox_lock_tmp(dir, host, tmp, sizeof(tmp)) == -1)
		return -1;
	for (tries = 0; tries < 2 && r == 0; tries++) {
		/* link's own answer can be lost over NFS: the count says */
		(void)link(tmp, lock_out);
		if (stat(tmp, &st) == 0 && st.st_nlink == 2)
			r = 1;
		else if (!mbox_lock_stale(lock_out, host))
			break;
	}
	(void)unlink(tmp);
	return r;
}

void
mbox_lock_touch(const char *lock)
{
	(void)utimensat(AT_FDCWD, lock, NULL, AT_SYMLINK_NOFOLLOW);
}

void
mbox_unlock(const char *lock)
{
	if (lock != NULL && lock[0] != '\0')
		(void)unlink(lock);
}

static int
mbox_output(void *ctx, const char *p, size_t len)
{
	(void)ctx;
	return pop3_wire_write(1, p, len,
	    line_deadline(POP3_WRITE_S * 1000LL));
}

static int
mbox_size(void *ctx, size_t i, uint64_t *out)
{
	struct mbox *m = ctx;

	return mscan_msg_size(&m->scan, i, out);
}

static int
mbox_uid(void *ctx, size_t i, char *out, size_t outsz)
{
	struct mbox *m = ctx;
	char uid[MSCAN_UID_MAX + 1];

	if (i >= m->scan.n)
		return -1;
	(void)mscan_uid(m->scan.msgs[i].name, m->scan.msgs[i].baselen, uid);
	return strlcpy(out, uid, outsz) < outsz ? 0 : -1;
}

static int
mbox_open(void *ctx, size_t i)
{
	struct mbox *m = ctx;

	return mscan_msg_open(&m->scan, i);
}

static int
mbox_remove(void *ctx, size_t i)
{
	struct mbox *m = ctx;

	return mscan_msg_unlink(&m->scan, i);
}

static void
mbox_tick(void *ctx)
{
	struct mbox *m = ctx;
	time_t now = time(NULL);

	if (m->lock[0] != '\0' && now - m->touched >= POP3_LOCK_TOUCH_S) {
		mbox_lock_touch(m->lock);
		m->touched = now;
	}
}

static void
mbox_release(void *ctx)
{
	struct mbox *m = ctx;

	mbox_unlock(m->lock);
	m->lock[0] = '\0';
}

const struct pop3d_ops mbox_ops = {
	mbox_output, mbox_size, mbox_uid, mbox_open, mbox_remove, mbox_tick,
	mbox_release
};
