/* send_keeper: start tern-lspawn with the ids tern-send started with. */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "send_keeper.h"

#define KEEPER_SPAWN	'S'
#define KEEPER_HUP	'H'

static void
keeper_exec(const char *path, int fd0, int fd1)
{
	char *const argv[] = { (char *)"tern-lspawn", NULL };
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	/* fd1 must not be clobbered by the first dup2. */
	if (fd1 == 0 && (fd1 = dup(fd1)) == -1)
		_exit(111);
	if (dup2(fd0, 0) == -1 || dup2(fd1, 1) == -1)
		_exit(111);
	execv(path, argv);
	log_warn("unable to run %s", path);
	_exit(111);
}

/* Receive one command byte and up to two fds: 1, 0 at EOF, -1 error. */
static int
keeper_recv(int sock, char *cmd, int fds[2])
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(2 * sizeof(int))];
	} cbuf;
	struct msghdr msg;
	struct cmsghdr *c;
	struct iovec iov;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = cmd;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	fds[0] = fds[1] = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(2 * sizeof(int)))
			memcpy(fds, CMSG_DATA(c), 2 * sizeof(int));
	return 1;
}

static void
keeper_command(const char *path, char cmd, int fds[2], pid_t *child)
{
	pid_t pid;

	if (cmd == KEEPER_SPAWN && fds[0] != -1 && fds[1] != -1) {
		pid = fork();
		if (pid == 0)
			keeper_exec(path, fds[0], fds[1]);
		if (pid == -1)
			log_warn("unable to fork for tern-lspawn");
		else
			*child = pid;
	} else if (cmd == KEEPER_HUP && *child > 0)
		(void)kill(*child, SIGHUP);
	if (fds[0] != -1)
		(void)close(fds[0]);
	if (fds[1] != -1)
		(void)close(fds[1]);
}

static void
keeper_run(const char *path, int sock)
{
	struct pollfd pfd;
	pid_t child = -1, w;
	int fds[2], r, status;
	char cmd;

	/* Signals are for tern-send; the keeper ends with its socket. */
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGTERM, SIG_IGN);
	(void)signal(SIGALRM, SIG_IGN);
	(void)signal(SIGPIPE, SIG_IGN);
	for (;;) {
		while ((w = waitpid(-1, &status, WNOHANG)) > 0)
			if (w == child)
				child = -1;
		pfd.fd = sock;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		r = keeper_recv(sock, &cmd, fds);
		if (r == 0)
			_exit(0);
		if (r == -1) {
			log_warn("keeper: unable to receive");
			_exit(111);
		}
		keeper_command(path, cmd, fds, &child);
	}
}

pid_t
send_keeper_start(const char *lspawn_path, int *sock_out)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	pid = fork();
	if (pid == -1) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		(void)close(sv[0]);
		/* So that ps(1) tells it from tern-send itself. */
		(void)prctl(PR_SET_NAME, "tern-keeper", 0, 0, 0);
		if (chdir("/") == -1)
			_exit(111);
		keeper_run(lspawn_path, sv[1]);
		_exit(111);
	}
	(void)close(sv[1]);
	*sock_out = sv[0];
	return pid;
}

static int
keeper_send(int sock, char cmd, const int *fds, size_t nfds)
{
	return io_send_fds(sock, &cmd, 1, fds, nfds, 0);
}

int
send_keeper_spawn(int sock, int req_rd, int res_wr)
{
	int fds[2] = { req_rd, res_wr };

	return keeper_send(sock, KEEPER_SPAWN, fds, 2);
}

int
send_keeper_hup(int sock)
{
	return keeper_send(sock, KEEPER_HUP, NULL, 0);
}
