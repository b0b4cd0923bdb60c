/* run: start a command with the message on its stdin, with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "line.h"
#include "local.h"

extern char **environ;

static void __attribute__((noreturn))
run_exec(const struct run_spec *rs, int in, int out)
{
	sigset_t	none;
	int		null;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	(void)setpgid(0, 0);
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    dup2(in, STDIN_FILENO) == -1 ||
	    dup2(out != -1 ? out : null, STDOUT_FILENO) == -1 ||
	    (rs->quiet && dup2(null, STDERR_FILENO) == -1))
		_exit(111);
	execve(rs->path, rs->argv, rs->envp != NULL ? rs->envp : environ);
	_exit(111);
}

/* Write the prefix and the message file to fd; EPIPE is not an error. */
static int
feed(int fd, const struct run_spec *rs, int64_t deadline)
{
	char	chunk[65536];
	ssize_t	n;

	if (io_write_deadline(fd, rs->prefix, rs->prefix_len, deadline) == -1)
		return errno == EPIPE ? 0 : -1;
	if (lseek(rs->msgfd, 0, SEEK_SET) == -1)
		return -1;
	while ((n = io_read(rs->msgfd, chunk, sizeof(chunk))) > 0)
		if (io_write_deadline(fd, chunk, (size_t)n, deadline) == -1)
			return errno == EPIPE ? 0 : -1;
	return n == 0 ? 0 : -1;
}

static void
kill_wait(pid_t pid, int *wstatus)
{
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, wstatus, 0) == -1 && errno == EINTR)
		;
}

/* Wait for pid until the deadline (SIGCHLD is blocked by the caller). */
static int
wait_deadline(pid_t pid, int64_t deadline, int *wstatus)
{
	struct timespec	ts;
	sigset_t	chld;
	int64_t		left;
	pid_t		r;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		if ((r = waitpid(pid, wstatus, WNOHANG)) == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
		if ((left = deadline - line_deadline(0)) <= 0) {
			kill_wait(pid, wstatus);
			errno = ETIMEDOUT;
			return -1;
		}
		if (left > 1000)
			left = 1000;	/* a lost SIGCHLD costs a second */
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		(void)sigtimedwait(&chld, NULL, &ts);
	}
}

/* Feed the child's fd 0 (and fd 1) then close them. */
static int
feed_all(const struct run_spec *rs, int in, int out, int64_t deadline)
{
	int	r, saved;

	r = feed(in, rs, deadline);
	saved = errno;
	close(in);
	if (r == 0 && out != -1 && io_write_deadline(out, rs->fd1data,
	    rs->fd1len, deadline) == -1 && errno != EPIPE) {
		r = -1;
		saved = errno;
	}
	if (out != -1)
		close(out);
	errno = saved;
	return r;
}

int
run_child(const struct run_spec *rs, int *wstatus)
{
	int64_t	deadline = line_deadline(rs->timeout_ms);
	int	in[2], out[2] = { -1, -1 }, saved;
	pid_t	pid;

	if (pipe2(in, O_CLOEXEC) == -1)
		return -1;
	if ((rs->fd1data != NULL && pipe2(out, O_CLOEXEC) == -1) ||
	    (pid = fork()) == -1) {
		saved = errno;
		close(in[0]);
		close(in[1]);
		if (out[0] != -1) {
			close(out[0]);
			close(out[1]);
		}
		errno = saved;
		return -1;
	}
	if (pid == 0)
		run_exec(rs, in[0], out[0]);
	close(in[0]);
	if (out[0] != -1)
		close(out[0]);
	(void)io_nonblock(in[1], 1);
	if (out[1] != -1)
		(void)io_nonblock(out[1], 1);
	if (feed_all(rs, in[1], out[1], deadline) == -1) {
		saved = errno;
		kill_wait(pid, wstatus);
		errno = saved;
		return -1;
	}
	return wait_deadline(pid, deadline, wstatus);
}
