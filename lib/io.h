/* io: small, careful wrappers around read/write/fsync. */
#ifndef TERN_IO_H
#define TERN_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Write all of buf, retrying short writes and EINTR: 0 or -1. */
int	io_write_all(int fd, const void *buf, size_t len);
/*
 * Like io_write_all on a non-blocking or blocking fd, but give up at the
 * absolute CLOCK_MONOTONIC deadline_ms (0 = none) with ETIMEDOUT.  A
 * non-blocking fd is written in as few write(2) calls as it takes; a
 * blocking one in PIPE_BUF pieces, each after poll says there is room.
 */
int	io_write_deadline(int fd, const void *buf, size_t len,
	    int64_t deadline_ms);
/*
 * Wait until fd has one of events (poll(2) bits) or an error/hangup, or
 * the absolute CLOCK_MONOTONIC deadline_ms passes (0: none).  0, or -1
 * with ETIMEDOUT or poll's errno.  EINTR is retried.
 */
int	io_wait(int fd, short events, int64_t deadline_ms);
#define IO_FDS_MAX	40	/* descriptors io_send_fds passes at once */

/*
 * One sendmsg(2) of len bytes of data with fds[0..nfds) attached as
 * SCM_RIGHTS (nfds 0: none, at most IO_FDS_MAX), retrying EINTR, with
 * MSG_NOSIGNAL and flags (e.g. MSG_DONTWAIT).  0 when all of data went,
 * -1 with sendmsg's errno, EIO for a short send, EINVAL for too many fds.
 */
int	io_send_fds(int sock, const void *data, size_t len, const int *fds,
	    size_t nfds, int flags);
/* read(2) retrying EINTR. */
ssize_t	io_read(int fd, void *buf, size_t len);
/*
 * Start writing fd's dirty pages to the disk without waiting, so that a
 * later fsync(2) of it (or of another file on the same journal) finds
 * them written.  A hint: never fails, does nothing where the system has
 * no such call.  It never replaces the fsync.
 */
void	io_sync_start(int fd);
/*
 * fsync fds[0..n) at the same time (n at most IO_FSYNC_MAX): all but the
 * first in threads of their own, so that a journaling file system
 * serves them with one commit and one cache flush instead of n of each.
 * A directory that cannot be synced (EINVAL) counts as synced, as in
 * io_fsync_dir.  Where no thread can be started, the fsync runs in the
 * caller.  0 when every one succeeded, else -1 with errno and *which
 * naming the first that failed.
 */
#define IO_FSYNC_MAX	4
int	io_fsync_all(const int *fds, size_t n, size_t *which);
/* Open dir read-only and fsync it: 0 or -1. */
int	io_fsync_dir(const char *dir);
/* Set or clear O_CLOEXEC / O_NONBLOCK: 0 or -1. */
int	io_cloexec(int fd, int on);
int	io_nonblock(int fd, int on);

#endif
