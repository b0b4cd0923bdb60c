/*
 * front_proc: tern-pop3-login's processes.  The login child parses the
 * network unprivileged; the parent only reads one bounded message from
 * it and runs checkpassword with the connection on fds 0 and 1.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "front.h"
#include "io.h"
#include "log.h"
#include "priv.h"
#include "replies.h"
#include "tlsctl.h"

#define FRONT_TLS_WAIT_MS	60000	/* tern-tlsd's answer to 'Y' */

/* --- the login child ------------------------------------------------ */

static int
child_output(void *ctx, const char *p, size_t len)
{
	(void)ctx;
	return pop3_wire_write(1, p, len,
	    line_deadline(POP3_WRITE_S * 1000LL));
}

static int
child_starttls(void *ctx)
{
	struct front *f = ctx;
	struct tlsctl_reply rep;
	char esc[TLSCTL_REASON_MAX * 4];
	int fd = -1, r;

	/* a failure before any reply leaves rep as it was: zero it */
	memset(&rep, 0, sizeof(rep));
	r = tlsctl_start(f->tlsctl, line_deadline(FRONT_TLS_WAIT_MS), &fd,
	    &rep);
	if (r == -1) {
		log_warn("STLS failed");
		return -1;
	}
	if (r == 0) {
		log_esc(esc, sizeof(esc), rep.reason, strlen(rep.reason));
		log_warnx("STLS failed: tern-tlsd said NO %s", esc);
		return -1;
	}
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1) {
		log_warn("STLS: dup2");
		(void)close(fd);
		return -1;
	}
	(void)close(fd);
	f->tls = true;
	return 0;
}

static void
front_close_fds(int *fds, size_t *nfds)
{
	while (*nfds > 0)
		(void)close(fds[--*nfds]);
}

/* Take the descriptors of one received message, at most FRONT_FDS_MAX. */
static void
front_take_fds(struct msghdr *msg, int *fds, size_t *nfds)
{
	struct cmsghdr *c;
	size_t i, n;
	int fd;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < FRONT_FDS_MAX)
				fds[(*nfds)++] = fd;
			else
				(void)close(fd);
		}
	}
}

/*
 * One message into buf and its descriptors (close-on-exec) into fds:
 * its length (0 at EOF, no descriptors then), or -1 (EMSGSIZE: cut).
 */
static ssize_t
front_recv(int sock, void *buf, size_t bufsz, int *fds, size_t *nfds)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int) * FRONT_FDS_MAX)];
		struct cmsghdr	align;
	} cm;
	struct msghdr msg;
	struct iovec iov;
	ssize_t r;

	*nfds = 0;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = bufsz;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	while ((r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (r == -1)
		return -1;
	front_take_fds(&msg, fds, nfds);
	if (r > 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		front_close_fds(fds, nfds);
		errno = EMSGSIZE;
		return -1;
	}
	if (r == 0)
		front_close_fds(fds, nfds);
	return r;
}

/*
 * The connection is with the parent now: hold no copy of it (nor of
 * the control socket) while checkpassword and a session may run, so a
 * parser taken over by the client cannot read or write the session.
 */
static void
child_let_go(struct front *f)
{
	(void)dup2(f->devnull, 0);
	(void)dup2(f->devnull, 1);
	if (f->tlsctl != -1)
		(void)close(f->tlsctl);
	f->tlsctl = -1;
}

/*
 * The parent gave them back with a verdict: 0 (*nfds 0: all taken), or
 * -1 (none came, or no dup2; the caller closes what is left).
 */
static int
child_take_back(struct front *f, int *fds, size_t *nfds)
{
	if (*nfds == 0)
		return -1;
	if (dup2(fds[0], 0) == -1 || dup2(fds[0], 1) == -1) {
		log_warn("unable to take the connection back");
		return -1;
	}
	(void)close(fds[0]);
	f->tlsctl = *nfds > 1 ? fds[1] : -1;
	*nfds = 0;
	return 0;
}

/*
 * Send the login with the connection attached, let go of it, wait for
 * the verdict (which brings it back) or EOF (a session has run).
 */
static int
child_login(void *ctx, const char *user, const char *pass,
    const char *pending, size_t pendlen, bool tls)
{
	struct front *f = ctx;
	char msgbuf[FRONT_MSG_MAX], v;
	int fds[FRONT_FDS_MAX] = { 0, f->tlsctl };
	size_t nfds = f->tlsctl != -1 ? 2 : 1;
	ssize_t len, r;

	if ((len = front_msg_build(msgbuf, sizeof(msgbuf), user, pass,
	    pending, pendlen, tls)) == -1)
		return -1;
	r = io_send_fds(f->sock[1], msgbuf, (size_t)len, fds, nfds, 0);
	explicit_bzero(msgbuf, sizeof(msgbuf));
	if (r == -1)
		return -1;
	child_let_go(f);
	r = front_recv(f->sock[1], &v, 1, fds, &nfds);
	if (r == 0)
		return 0;	/* the parent is done: the session has run */
	if (r != 1 || child_take_back(f, fds, &nfds) == -1) {
		front_close_fds(fds, &nfds);
		return 0;	/* no connection any more: end quietly */
	}
	return v == FRONT_VERDICT_BAD ? 1 : -1;
}

/* No delay here: the parent waits before it answers a failure. */
static const struct pop3_login_ops child_ops = {
	child_output, child_starttls, child_login, NULL
};

static const struct pop3_login_ops child_ops_notls = {
	child_output, NULL, child_login, NULL
};

/*
 * Under inetd fd 2 is the client's socket as well (and below tern-tlsd
 * there, the encrypted stream): the parser must not hold it either.
 * lib/log already sends such a process's lines to syslog.
 */
static void
child_stderr(struct front *f)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct stat s0, s2;

	if (fstat(STDERR_FILENO, &s2) == -1 || !S_ISSOCK(s2.st_mode))
		return;
	if ((fstat(STDIN_FILENO, &s0) == 0 && s0.st_dev == s2.st_dev &&
	    s0.st_ino == s2.st_ino) ||
	    (getsockname(STDERR_FILENO, (struct sockaddr *)&ss, &len) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)))
		(void)dup2(f->devnull, STDERR_FILENO);
}

static void __attribute__((noreturn))
front_child(struct front *f)
{
	struct pop3_login s;

	(void)close(f->sock[0]);
	if ((f->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		log_fatal("/dev/null");
		_exit(111);
	}
	child_stderr(f);
	if (f->root && priv_drop(f->uid, f->gid) == -1) {
		log_fatal("unable to drop to user %s", f->loginuser);
		(void)io_write_all(1, P_ERR_INTERNAL "\r\n",
		    sizeof(P_ERR_INTERNAL) + 1);
		_exit(111);
	}
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	pop3_wire_setup(1);
	(void)chdir("/");
	if (pop3_login_init(&s, &f->cfg, f->tlsctl != -1 ? &child_ops :
	    &child_ops_notls, f, 0, f->tls) == -1) {
		log_fatal("out of memory");
		_exit(111);
	}
	s.idle_s = f->idle_s;
	pop3_login_run(&s);
	pop3_login_free(&s);
	_exit(0);
}

int
front_start(struct front *f)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    f->sock) == -1) {
		log_fatal("socketpair");
		return -1;
	}
	if ((f->child = fork()) == -1) {
		log_fatal("fork");
		return -1;
	}
	if (f->child == 0)
		front_child(f);
	(void)close(f->sock[1]);
	if (f->tlsctl != -1)
		(void)close(f->tlsctl);	/* only the child starts TLS */
	f->tlsctl = -1;
	return 0;
}

/* --- the parent ----------------------------------------------------- */

/* Put from[i] on to[i] in a child (sources may sit on targets). */
static int
parent_fds(const int *from, const int *to, size_t n)
{
	int tmp[4];
	size_t i;

	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 10)) == -1)
			return -1;
	for (i = 0; i < n; i++)
		if (dup2(tmp[i], to[i]) == -1)
			return -1;
	return 0;
}

/* A pipe holding data (small: fits the pipe), read end returned. */
static int
parent_pipe_with(const char *data, size_t len)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if (io_write_all(p[1], data, len) == -1) {
		(void)close(p[0]);
		(void)close(p[1]);
		return -1;
	}
	(void)close(p[1]);
	return p[0];
}

/*
 * Under inetd fd 2 is the connection: the programs after us must not
 * log there.  They get a pipe instead, whose lines go to syslog.
 */
static void
parent_relay(int fd)
{
	char buf[LOG_LINE_MAX], esc[LOG_LINE_MAX];
	size_t have = 0, n;
	ssize_t r;
	char *nl;

	for (;;) {
		r = io_read(fd, buf + have, sizeof(buf) - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		while ((nl = memchr(buf, '\n', have)) != NULL ||
		    have == sizeof(buf) - 1) {
			n = nl != NULL ? (size_t)(nl - buf) : have;
			log_esc(esc, sizeof(esc), buf, n);
			log_info("%s", esc);
			n += nl != NULL ? 1 : 0;
			memmove(buf, buf + n, have - n);
			have -= n;
		}
	}
	(void)close(fd);
}

static void __attribute__((noreturn))
parent_exec(struct front *f, int conn, int cred, int pend, bool tls,
    int err)
{
	int from[4] = { conn, conn, cred, pend }, to[4] = { 0, 1, 3, 4 };

	(void)close(f->sock[0]);
	unsetenv(TLSCTL_ENV);
	unsetenv(POP3_INPUT_ENV);
	if ((pend != -1 && setenv(POP3_INPUT_ENV, "4", 1) == -1) ||
	    (tls && setenv("TERN_TLS", "1", 1) == -1) ||
	    parent_fds(from, to, pend != -1 ? 4 : 3) == -1) {
		log_warn("unable to set up %s", f->cpargv[0]);
		_exit(FRONT_CHECK_FAIL);
	}
	if (err != -1 && dup2(err, 2) == -1)
		_exit(FRONT_CHECK_FAIL);
	(void)signal(SIGPIPE, SIG_DFL);
	execvp(f->cpargv[0], f->cpargv);
	log_warn("unable to run %s", f->cpargv[0]);
	_exit(FRONT_CHECK_FAIL);
}

/* Run checkpassword for one login: its wait status, or -1. */
static int
parent_check(struct front *f, const struct front_cred *c, int conn)
{
	char cred[POP3_USER_MAX + POP3_PASS_MAX + 64], stamp[48];
	int n, credfd, pendfd = -1, status, err[2] = { -1, -1 };
	pid_t pid;

	(void)snprintf(stamp, sizeof(stamp), "<%ld.%lld@tern>",
	    (long)getpid(), (long long)time(NULL));
	n = snprintf(cred, sizeof(cred), "%s%c%s%c%s%c", c->user, 0, c->pass,
	    0, stamp, 0);
	if (n < 0 || (size_t)n >= sizeof(cred))
		return -1;
	credfd = parent_pipe_with(cred, (size_t)n);
	explicit_bzero(cred, sizeof(cred));
	if (credfd == -1 || (c->pendlen > 0 && (pendfd =
	    parent_pipe_with(c->pending, c->pendlen)) == -1))
		return -1;
	if (f->conn.use_syslog && pipe2(err, O_CLOEXEC) == -1)
		err[0] = err[1] = -1;
	if ((pid = fork()) == 0)
		parent_exec(f, conn, credfd, pendfd, c->tls, err[1]);
	(void)close(credfd);
	if (pendfd != -1)
		(void)close(pendfd);
	if (err[1] != -1)
		(void)close(err[1]);
	if (err[0] != -1)
		parent_relay(err[0]);
	if (pid == -1)
		return -1;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return status;
}

static void
parent_log(const struct front *f, const struct front_cred *c, int verdict)
{
	char esc[POP3_USER_MAX * 4 + 1];
	const char *ip = f->conn.remote_ip[0] ? f->conn.remote_ip : "-";

	log_esc(esc, sizeof(esc), c->user, strlen(c->user));
	if (verdict == FRONT_VERDICT_BAD)
		log_warnx("login failed user=\"%s\" ip=%s", esc, ip);
	else if (verdict == FRONT_VERDICT_TEMP)
		log_warnx("login temporary failure user=\"%s\" ip=%s", esc, ip);
	else
		log_info("session end user=\"%s\" ip=%s", esc, ip);
}

/*
 * A failed login waits before it is answered, and the third ends the
 * connection, counted here: the child parses the network and is not
 * trusted to slow down guessing by itself.
 */
static bool
parent_failed(struct front *f, unsigned *fails)
{
	struct timespec ts = { (time_t)f->cfg.faildelay, 0 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return ++*fails < POP3_AUTHFAIL_MAX;
}

/*
 * Answer the child: the verdict with its connection (and control
 * socket) back, so that it can go on; the parent keeps no copy.
 */
static int
parent_answer(struct front *f, char verdict, int *fds, size_t *nfds)
{
	ssize_t r;

	r = io_send_fds(f->sock[0], &verdict, 1, fds, *nfds, 0);
	front_close_fds(fds, nfds);
	return r;
}

/*
 * The connection stays with the parent (root, which parses nothing)
 * while checkpassword and the session run: only it can give it back.
 */
int
front_parent(struct front *f)
{
	char buf[FRONT_MSG_MAX + 1];
	struct front_cred c;
	int fds[FRONT_FDS_MAX], status, verdict;
	unsigned fails = 0;
	size_t nfds;
	bool more;
	ssize_t r;

	for (;;) {
		r = front_recv(f->sock[0], buf, sizeof(buf), fds, &nfds);
		if (r <= 0 || front_msg_parse(buf, (size_t)r, &c) == -1 ||
		    nfds == 0) {
			if (r != 0)
				log_warnx("bad message from the login child");
			front_close_fds(fds, &nfds);
			break;
		}
		status = parent_check(f, &c, fds[0]);
		verdict = status == -1 ? FRONT_VERDICT_TEMP :
		    front_verdict(status);
		parent_log(f, &c, verdict);
		explicit_bzero(buf, sizeof(buf));
		if (verdict == 0) {
			front_close_fds(fds, &nfds);
			break;
		}
		more = verdict != FRONT_VERDICT_BAD || parent_failed(f, &fails);
		if (parent_answer(f, (char)verdict, fds, &nfds) == -1 || !more)
			break;
	}
	(void)close(f->sock[0]);
	while (waitpid(f->child, &status, 0) == -1 && errno == EINTR)
		;
	return 0;
}
