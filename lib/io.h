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
 * absolute CLOCK_MONOTONIC deadline_ms (0 = none) with ETIMEDOUT.
 */
int	io_write_deadline(int fd, const void *buf, size_t len,
	    int64_t deadline_ms);
/* read(2) retrying EINTR. */
ssize_t	io_read(int fd, void *buf, size_t len);
/* Open dir read-only and fsync it: 0 or -1. */
int	io_fsync_dir(const char *dir);
/* Set or clear O_CLOEXEC / O_NONBLOCK: 0 or -1. */
int	io_cloexec(int fd, int on);
int	io_nonblock(int fd, int on);

#endif
