/* io: small, careful wrappers around read/write/fsync. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

static int64_t
io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
io_wait(int fd, short events, int64_t deadline_ms)
{
	struct pollfd pfd;
	int64_t left;
	int r, timeout;

	for (;;) {
		timeout = -1;
		if (deadline_ms != 0) {
			left = deadline_ms - io_now_ms();
			if (left < 0)
				left = 0;
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, timeout);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			if (timeout == INT_MAX)
				continue;
			errno = ETIMEDOUT;
			return -1;
		}
		/* POLLERR/POLLHUP: let read/write(2) report the real error. */
		return 0;
	}
}

int
io_write_all(int fd, const void *buf, size_t len)
{
	return io_write_deadline(fd, buf, len, 0);
}

/*
 * With a deadline, a blocking fd gets at most PIPE_BUF bytes after each
 * poll: poll promises that much room on a pipe, so the write cannot
 * block past the deadline.  A non-blocking fd cannot block at all: it
 * gets everything at once, and a poll only when it is full.
 */
int
io_write_deadline(int fd, const void *buf, size_t len, int64_t deadline_ms)
{
	const char *p = buf;
	size_t chunk;
	ssize_t n;
	int fl;
	bool nb = false;

	if (deadline_ms != 0 && (fl = fcntl(fd, F_GETFL)) != -1)
		nb = (fl & O_NONBLOCK) != 0;
	while (len > 0) {
		if (deadline_ms != 0 && !nb &&
		    io_wait(fd, POLLOUT, deadline_ms) == -1)
			return -1;
		chunk = len;
		if (deadline_ms != 0 && !nb && chunk > PIPE_BUF)
			chunk = PIPE_BUF;
		n = write(fd, p, chunk);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (io_wait(fd, POLLOUT, deadline_ms) == -1)
					return -1;
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
io_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n == -1 && errno == EINTR);
	return n;
}

void
io_sync_start(int fd)
{
#ifdef SYNC_FILE_RANGE_WRITE
	/* Linux: queue the writeback (and the block allocation) now. */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
	(void)fd;
#endif
}

/* One fsync of io_fsync_all; err is its errno, 0 when it worked. */
struct io_syncer {
	int		fd;
	int		err;
	bool		thread;
	pthread_t	tid;
};

static void *
io_syncer_run(void *arg)
{
	struct io_syncer *w = arg;
	struct stat st;

	w->err = 0;
	if (fsync(w->fd) == -1) {
		w->err = errno;
		/* A directory some file systems cannot sync: nothing to do. */
		if (w->err == EINVAL && fstat(w->fd, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			w->err = 0;
	}
	return NULL;
}

int
io_fsync_all(const int *fds, size_t n, size_t *which)
{
	struct io_syncer w[IO_FSYNC_MAX];
	size_t i;

	if (n > IO_FSYNC_MAX) {
		*which = 0;
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		w[i].fd = fds[i];
		w[i].thread = i > 0 && pthread_create(&w[i].tid, NULL,
		    io_syncer_run, &w[i]) == 0;
	}
	for (i = 0; i < n; i++) {
		if (w[i].thread)
			(void)pthread_join(w[i].tid, NULL);
		else
			(void)io_syncer_run(&w[i]);
	}
	for (i = 0; i < n; i++) {
		if (w[i].err != 0) {
			*which = i;
			errno = w[i].err;
			return -1;
		}
	}
	return 0;
}

int
io_fsync_dir(const char *dir)
{
	int fd, r, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	/* Some file systems cannot fsync a directory: nothing to do. */
	if (r == -1 && errno == EINVAL)
		r = 0;
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

static int
io_setfl(int fd, int get, int set, int flag, int on)
{
	int fl, nfl;

	if ((fl = fcntl(fd, get)) == -1)
		return -1;
	nfl = on ? (fl | flag) : (fl & ~flag);
	if (nfl != fl && fcntl(fd, set, nfl) == -1)
		return -1;
	return 0;
}

int
io_cloexec(int fd, int on)
{
	return io_setfl(fd, F_GETFD, F_SETFD, FD_CLOEXEC, on);
}

int
io_nonblock(int fd, int on)
{
	return io_setfl(fd, F_GETFL, F_SETFL, O_NONBLOCK, on);
}

int
io_send_fds(int sock, const void *data, size_t len, const int *fds,
    size_t nfds, int flags)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(IO_FDS_MAX * sizeof(int))];
	} cbuf;
	struct msghdr msg;
	struct cmsghdr *c;
	struct iovec iov;
	ssize_t n;

	if (nfds > IO_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL | flags);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}
