/* send_rspawn: the remote spawner, which runs tern-remote for tern-send. */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "priv.h"
#include "send.h"

/* received fds are moved above tern-remote's 0, 1, 3 and 4.. */
#define RSPAWN_FD_MIN	(4 + SEND_RUN_MSGS)
#define RSPAWN_FDS_MAX	(SEND_RUN_MSGS + 1)	/* messages, result pipe */
#define RSPAWN_RESOLVER_FD 3	/* tern-remote's resolver connection */
#define RSPAWN_CHILDREN_MAX 100000	/* bounded pid table */

/* The spawner's own state (it is a separate process). */
struct rspawn {
	const char	*remote;	/* tern-remote */
	const char	*resolve;	/* tern-resolve */
	int		 sock;		/* requests from tern-send */
	int		 ctl;		/* to tern-resolve -F, or -1 */
	pid_t		 resolver;	/* its pid, or -1 */
	time_t		 resolver_at;	/* last start */
	pid_t		*kids;		/* tern-remote runs */
	size_t		 nkids, kids_cap;
	char		*payload;	/* SEND_RUN_ARGV_MAX + 1 */
};

static void
child_signals(void)
{
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
}

/* Start `tern-resolve -F` with fd 0 our control socket's other end. */
static void
resolver_start(struct rspawn *rs)
{
	char *const argv[] = { (char *)"tern-resolve", (char *)"-F", NULL };
	int sv[2];
	pid_t pid;

	rs->resolver_at = time(NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("rspawn: unable to make the resolver socket");
		return;
	}
	pid = fork();
	if (pid == 0) {
		child_signals();
		if (dup2(sv[1], 0) == -1)
			_exit(111);
		execv(rs->resolve, argv);
		log_warn("rspawn: unable to run %s", rs->resolve);
		_exit(111);
	}
	(void)close(sv[1]);
	if (pid == -1) {
		log_warn("rspawn: unable to fork for tern-resolve");
		(void)close(sv[0]);
		return;
	}
	rs->ctl = sv[0];
	rs->resolver = pid;
}

static void
resolver_lost(struct rspawn *rs)
{
	if (rs->ctl != -1)
		(void)close(rs->ctl);
	rs->ctl = -1;
	if (rs->resolver > 0)
		(void)kill(rs->resolver, SIGTERM);
	rs->resolver = -1;
}

/*
 * A new connection to the shared resolver: the fd for tern-remote, or
 * -1 when there is none (tern-remote then starts its own).
 */
static int
resolver_connect(struct rspawn *rs)
{
	int sv[2], r;

	if (rs->ctl == -1 && time(NULL) != rs->resolver_at)
		resolver_start(rs);	/* at most once per second */
	if (rs->ctl == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	r = io_send_fds(rs->ctl, "C", 1, &sv[1], 1, MSG_DONTWAIT);
	(void)close(sv[1]);
	if (r == -1 && (errno == EAGAIN || errno == ETOOMANYREFS ||
	    errno == ENOBUFS)) {
		/* busy, not gone: this run starts its own tern-resolve */
		(void)close(sv[0]);
		return -1;
	}
	if (r == -1) {
		log_warnx("rspawn: the shared tern-resolve is gone");
		resolver_lost(rs);
		(void)close(sv[0]);
		return -1;
	}
	return sv[0];
}

/*
 * In the child: message 0 on fd 0, the result pipe on 1, the resolver
 * on 3, message k on 3 + k (fds[] is message 0, the pipe, message 1,
 * ...), then exec tern-remote.
 */
static void
remote_exec(const struct rspawn *rs, char **argv, int *fds, size_t nfds,
    int dnsfd)
{
	size_t i;
	int to;

	child_signals();
	/* Move everything out of the way of 0 to 3 + SEND_RUN_MSGS first. */
	for (i = 0; i < nfds; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC,
		    RSPAWN_FD_MIN)) == -1)
			_exit(111);
	if (dnsfd != -1 && (dnsfd = fcntl(dnsfd, F_DUPFD_CLOEXEC,
	    RSPAWN_FD_MIN)) == -1)
		_exit(111);
	for (i = 0; i < nfds; i++) {
		to = i == 0 ? 0 : i == 1 ? 1 : RSPAWN_RESOLVER_FD + (int)i - 1;
		if (dup2(fds[i], to) == -1)
			_exit(111);
	}
	if (dnsfd != -1) {
		if (dup2(dnsfd, RSPAWN_RESOLVER_FD) == -1 ||
		    setenv("TERN_RESOLVER_FD", "3", 1) == -1)
			_exit(111);
	} else {
		(void)close(RSPAWN_RESOLVER_FD);
		(void)unsetenv("TERN_RESOLVER_FD");
	}
	execv(rs->remote, argv);
	log_warn("rspawn: unable to run %s", rs->remote);
	_exit(111);
}

static void
kids_add(struct rspawn *rs, pid_t pid)
{
	pid_t *nk;
	size_t ncap;

	if (rs->nkids == rs->kids_cap) {
		ncap = rs->kids_cap == 0 ? 64 : rs->kids_cap * 2;
		if (ncap > RSPAWN_CHILDREN_MAX ||
		    (nk = reallocarray(rs->kids, ncap, sizeof(*nk))) == NULL)
			return;		/* only SIGTERM at the end misses it */
		rs->kids = nk;
		rs->kids_cap = ncap;
	}
	rs->kids[rs->nkids++] = pid;
}

static void
reap(struct rspawn *rs)
{
	pid_t w;
	size_t i;
	int status;

	while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
		if (w == rs->resolver) {
			log_warnx("rspawn: tern-resolve exited");
			rs->resolver = -1;
			resolver_lost(rs);
			continue;
		}
		for (i = 0; i < rs->nkids; i++)
			if (rs->kids[i] == w) {
				rs->kids[i] = rs->kids[--rs->nkids];
				break;
			}
	}
}

/* Split the NUL-terminated strings of p[0..len) into a new argv. */
static char **
split_argv(char *p, size_t len)
{
	char **argv;
	size_t n = 0, i, k = 0;

	if (len == 0 || p[len - 1] != '\0')
		return NULL;
	for (i = 0; i < len; i++)
		n += p[i] == '\0';
	if ((argv = reallocarray(NULL, n + 2, sizeof(*argv))) == NULL)
		return NULL;
	argv[k++] = (char *)"tern-remote";
	for (i = 0; i < len; i += strlen(p + i) + 1)
		argv[k++] = p + i;
	argv[k] = NULL;
	return argv;
}

static void
spawn(struct rspawn *rs, size_t len, int *fds, size_t nfds)
{
	char **argv;
	pid_t pid;
	int dnsfd;

	if ((argv = split_argv(rs->payload, len)) == NULL) {
		log_warnx("rspawn: bad request");
		return;
	}
	dnsfd = resolver_connect(rs);
	pid = fork();
	if (pid == 0)
		remote_exec(rs, argv, fds, nfds, dnsfd);
	if (pid == -1)
		log_warn("rspawn: unable to fork for tern-remote");
	else
		kids_add(rs, pid);
	if (dnsfd != -1)
		(void)close(dnsfd);
	free(argv);
}

/* One request: 1 handled, 0 EOF, -1 error. */
static int
receive(struct rspawn *rs)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(RSPAWN_FDS_MAX * sizeof(int))];
	} cbuf;
	struct msghdr msg;
	struct cmsghdr *c;
	struct iovec iov;
	int fds[RSPAWN_FDS_MAX];
	size_t nfds = 0, i, k;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = rs->payload;
	iov.iov_len = SEND_RUN_ARGV_MAX;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	do
		n = recvmsg(rs->sock, &msg, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			if (nfds < RSPAWN_FDS_MAX)
				memcpy(&fds[nfds++], CMSG_DATA(c) + i *
				    sizeof(int), sizeof(int));
			else	/* cannot happen: the buffer holds no more */
				log_warnx("rspawn: too many fds");
		}
	}
	/* A bad request closes the pipe: tern-send sees EOF, no results. */
	if (nfds >= 2 && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		spawn(rs, (size_t)n, fds, nfds);
	else
		log_warnx("rspawn: bad request");
	for (i = 0; i < nfds; i++)
		(void)close(fds[i]);
	return 1;
}

/* tern-send is gone: runs still going are stopped, their mail stays. */
static _Noreturn void
finish(struct rspawn *rs, int code)
{
	size_t i;

	for (i = 0; i < rs->nkids; i++)
		(void)kill(rs->kids[i], SIGTERM);
	/* EOF makes tern-resolve finish its clients and exit. */
	if (rs->ctl != -1)
		(void)close(rs->ctl);
	_exit(code);
}

static _Noreturn void
rspawn_run(struct rspawn *rs)
{
	struct pollfd pfd;
	int r;

	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGTERM, SIG_IGN);
	(void)signal(SIGALRM, SIG_IGN);
	(void)signal(SIGPIPE, SIG_IGN);
	resolver_start(rs);
	for (;;) {
		reap(rs);
		pfd.fd = rs->sock;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		r = receive(rs);
		if (r == 0)
			finish(rs, 0);
		if (r == -1) {
			log_warn("rspawn: unable to receive");
			finish(rs, 111);
		}
	}
}

/* As root: become user, which must exist and not be root. */
static int
become(const char *user)
{
	uid_t uid;
	gid_t gid;

	if (!priv_is_root())
		return 0;
	if (priv_user(user, &uid, &gid) != 1 || uid == 0) {
		log_warnx("rspawn: no user %s to run as (or it is root)", user);
		return -1;
	}
	if (priv_drop(uid, gid) == -1) {
		log_warn("rspawn: unable to become %s", user);
		return -1;
	}
	return 0;
}

pid_t
send_rspawn_start(const char *remote_path, const char *resolve_path,
    const char *user, int *sock_out)
{
	static struct rspawn rs;
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
		/*
		 * Hold nothing of tern-send's (the keeper's socket): those
		 * must see EOF when tern-send alone closes them.
		 */
		if (dup2(sv[1], RSPAWN_RESOLVER_FD) == -1)
			_exit(111);
		(void)close_range(RSPAWN_RESOLVER_FD + 1, ~0U, 0);
		sv[1] = RSPAWN_RESOLVER_FD;
		if (io_cloexec(sv[1], 1) == -1)
			_exit(111);
		(void)prctl(PR_SET_NAME, "tern-rspawn", 0, 0, 0);
		memset(&rs, 0, sizeof(rs));
		rs.remote = remote_path;
		rs.resolve = resolve_path;
		rs.sock = sv[1];
		rs.ctl = rs.resolver = -1;
		rs.payload = malloc(SEND_RUN_ARGV_MAX + 1);
		if (rs.payload == NULL || chdir("/") == -1 ||
		    become(user) == -1)
			_exit(111);
		rspawn_run(&rs);
	}
	(void)close(sv[1]);
	*sock_out = sv[0];
	return pid;
}

int
send_rspawn_request(int sock, const char *payload, size_t len,
    const int *msgfd, size_t nmsg, int resfd)
{
	int fds[RSPAWN_FDS_MAX];
	size_t i;

	if (len == 0 || len > SEND_RUN_ARGV_MAX || payload[len - 1] != '\0')
		return errno = E2BIG, -1;
	if (nmsg == 0 || nmsg > SEND_RUN_MSGS)
		return errno = EINVAL, -1;
	/* message 0 and the pipe first: the layout of a one-message run */
	fds[0] = msgfd[0];
	fds[1] = resfd;
	for (i = 1; i < nmsg; i++)
		fds[i + 1] = msgfd[i];
	return io_send_fds(sock, payload, len, fds, nmsg + 1, 0);
}
