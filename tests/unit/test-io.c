/* test-io: write-all, deadlines, directory fsync and fd flags. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "tap.h"

#define BIG	(1024 * 1024 + 17)

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Child: read fd to EOF, exit 0 when it got exactly n bytes of pattern. */
static void
reader_child(int fd, size_t n)
{
	char b[8192];
	size_t got = 0, i;
	ssize_t r;

	while ((r = io_read(fd, b, sizeof(b))) > 0) {
		for (i = 0; i < (size_t)r; i++)
			if (b[i] != (char)((got + i) % 251))
				_exit(2);
		got += (size_t)r;
		usleep(100);
	}
	_exit(r == 0 && got == n ? 0 : 1);
}

/* Write BIG bytes to a pipe (blocking or not) read slowly by a child. */
static void
test_write_all(int nonblock, int64_t deadline)
{
	char *data;
	size_t i;
	pid_t pid;
	int p[2], st, r;

	if ((data = malloc(BIG)) == NULL || pipe(p) == -1)
		return;
	for (i = 0; i < BIG; i++)
		data[i] = (char)(i % 251);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p[1]);
		reader_child(p[0], BIG);
	}
	close(p[0]);
	if (nonblock)
		(void)io_nonblock(p[1], 1);
	r = deadline ? io_write_deadline(p[1], data, BIG, now_ms() + deadline) :
	    io_write_all(p[1], data, BIG);
	close(p[1]);
	waitpid(pid, &st, 0);
	tap_ok(r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "%s pipe%s: all %d bytes arrive in order",
	    nonblock ? "non-blocking" : "blocking",
	    deadline ? " with deadline" : "", BIG);
	free(data);
}

/* Nobody reads: the pipe fills and the deadline must end the write. */
static void
test_write_timeout(int nonblock)
{
	char *data;
	int64_t t0, dt;
	int p[2], r;

	if ((data = calloc(1, BIG)) == NULL || pipe(p) == -1)
		return;
	if (nonblock)
		(void)io_nonblock(p[1], 1);
	t0 = now_ms();
	errno = 0;
	r = io_write_deadline(p[1], data, BIG, t0 + 100);
	dt = now_ms() - t0;
	tap_ok(r == -1 && errno == ETIMEDOUT,
	    "%s pipe nobody reads: ETIMEDOUT",
	    nonblock ? "non-blocking" : "blocking");
	tap_ok(dt >= 90 && dt < 3000, "%s pipe: gave up at the deadline "
	    "(%lld ms)", nonblock ? "non-blocking" : "blocking",
	    (long long)dt);
	close(p[0]);
	close(p[1]);
	free(data);
}

static void
test_epipe(void)
{
	int p[2], r;

	if (pipe(p) == -1)
		return;
	close(p[0]);
	errno = 0;
	r = io_write_all(p[1], "x", 1);
	tap_ok(r == -1 && errno == EPIPE, "writing to a closed pipe: EPIPE");
	close(p[1]);
	errno = 0;
	r = io_write_all(p[1], "x", 1);
	tap_ok(r == -1 && errno == EBADF, "writing to a closed fd: EBADF");
	tap_ok(io_write_all(1, "", 0) == 0, "writing nothing succeeds");
}

struct fsync_case {
	const char	*name;
	const char	*sub;	/* inside the temp dir; NULL: the dir */
	int		 want_err;
};

static const struct fsync_case fsync_cases[] = {
	{ "fsync of an existing directory", NULL, 0 },
	{ "fsync of a missing directory", "missing", ENOENT },
	{ "fsync of a regular file as a directory", "file", ENOTDIR },
};

static void
test_fsync_dir(void)
{
	char dir[] = "/tmp/test-io.XXXXXX", path[PATH_MAX];
	const struct fsync_case *c;
	size_t i;
	int fd, r;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/file", dir);
	if ((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1)
		close(fd);
	for (i = 0; i < sizeof(fsync_cases) / sizeof(fsync_cases[0]); i++) {
		c = &fsync_cases[i];
		if (c->sub != NULL)
			snprintf(path, sizeof(path), "%s/%s", dir, c->sub);
		else
			snprintf(path, sizeof(path), "%s", dir);
		errno = 0;
		r = io_fsync_dir(path);
		tap_ok(c->want_err ? r == -1 && errno == c->want_err : r == 0,
		    "%s", c->name);
	}
	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	rmdir(dir);
}

/* io_fsync_all: which fds, and which failure is reported. */
struct fsync_all_case {
	const char	*name;
	int		 bad;		/* index of a closed fd, -1 none */
	int		 bad2;		/* a second one, -1 none */
	size_t		 n;
};

static const struct fsync_all_case fsync_all_cases[] = {
	{ "io_fsync_all: a file alone", -1, -1, 1 },
	{ "io_fsync_all: two files and a directory at once", -1, -1, 3 },
	{ "io_fsync_all: the most it takes", -1, -1, IO_FSYNC_MAX },
	{ "io_fsync_all: a bad first fd is reported as 0", 0, -1, 3 },
	{ "io_fsync_all: a bad fd in a thread is reported", 2, -1, 3 },
	{ "io_fsync_all: of two bad fds the first is reported", 1, 2, 3 },
};

static void
test_fsync_all(void)
{
	char dir[] = "/tmp/test-io.XXXXXX", path[PATH_MAX];
	const struct fsync_all_case *c;
	int fds[IO_FSYNC_MAX], open_fds[IO_FSYNC_MAX], r;
	size_t i, k, which;

	if (mkdtemp(dir) == NULL)
		return;
	for (k = 0; k < IO_FSYNC_MAX; k++) {
		snprintf(path, sizeof(path), "%s/f%zu", dir, k);
		open_fds[k] = k == 2 ? open(dir, O_RDONLY | O_DIRECTORY) :
		    open(path, O_CREAT | O_WRONLY, 0600);
		if (open_fds[k] != -1 && k != 2)
			(void)write(open_fds[k], "data\n", 5);
	}
	for (i = 0; i < sizeof(fsync_all_cases) / sizeof(fsync_all_cases[0]);
	    i++) {
		c = &fsync_all_cases[i];
		for (k = 0; k < IO_FSYNC_MAX; k++)
			fds[k] = (int)k == c->bad || (int)k == c->bad2 ?
			    1000 + (int)k : open_fds[k];
		which = 99;
		errno = 0;
		r = io_fsync_all(fds, c->n, &which);
		if (c->bad == -1)
			tap_ok(r == 0, "%s", c->name);
		else
			tap_ok(r == -1 && errno == EBADF &&
			    which == (size_t)c->bad, "%s", c->name);
	}
	r = io_fsync_all(fds, IO_FSYNC_MAX + 1, &which);
	tap_ok(r == -1 && errno == EINVAL && which == 0,
	    "io_fsync_all: more than IO_FSYNC_MAX is refused");
	io_sync_start(open_fds[0]);
	io_sync_start(-1);
	tap_ok(io_fsync_all(open_fds, 1, &which) == 0,
	    "io_sync_start: a hint, the fsync after it still works");
	for (k = 0; k < IO_FSYNC_MAX; k++) {
		if (open_fds[k] != -1)
			close(open_fds[k]);
		snprintf(path, sizeof(path), "%s/f%zu", dir, k);
		unlink(path);
	}
	rmdir(dir);
}

static void
test_flags(void)
{
	int p[2];

	if (pipe(p) == -1)
		return;
	tap_ok(io_cloexec(p[0], 1) == 0 &&
	    (fcntl(p[0], F_GETFD) & FD_CLOEXEC), "cloexec on sets FD_CLOEXEC");
	tap_ok(io_cloexec(p[0], 0) == 0 &&
	    !(fcntl(p[0], F_GETFD) & FD_CLOEXEC), "cloexec off clears it");
	tap_ok(io_nonblock(p[0], 1) == 0 &&
	    (fcntl(p[0], F_GETFL) & O_NONBLOCK), "nonblock on sets O_NONBLOCK");
	tap_ok(io_nonblock(p[0], 0) == 0 &&
	    !(fcntl(p[0], F_GETFL) & O_NONBLOCK), "nonblock off clears it");
	close(p[0]);
	close(p[1]);
	errno = 0;
	tap_ok(io_cloexec(p[0], 1) == -1 && errno == EBADF,
	    "flags on a closed fd: EBADF");
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/* A signal without SA_RESTART interrupts read(2): io_read retries. */
static void
test_read_eintr(void)
{
	struct sigaction sa;
	char b[8];
	pid_t pid;
	int p[2];
	ssize_t n;

	if (pipe(p) == -1)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		usleep(150 * 1000);
		(void)write(p[1], "hi", 2);
		_exit(0);
	}
	ualarm(50 * 1000, 0);
	n = io_read(p[0], b, sizeof(b));
	tap_ok(n == 2 && memcmp(b, "hi", 2) == 0,
	    "io_read retries after EINTR and gets the data");
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_write_all(0, 0);
	test_write_all(1, 0);
	test_write_all(0, 10000);
	test_write_all(1, 10000);
	test_write_timeout(0);
	test_write_timeout(1);
	test_epipe();
	test_fsync_dir();
	test_fsync_all();
	test_flags();
	test_read_eintr();
	return tap_done();
}
