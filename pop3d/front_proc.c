/*
 * front_proc: tern-pop3-login's processes.  The login child parses the
 * network unprivileged; the parent only reads one bounded message from
 * it and runs checkpassword with the connection on fds 0 and 1.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
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
	int fd = -1;

	if (tlsctl_start(f->tlsctl, line_deadline(FRONT_TLS_WAIT_MS), &fd,
	    &rep) != 1) {
		log_warnx("STLS failed: %s", rep.ok ? "no answer" : rep.reason);
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

/* Send the login with fd 0 attached, wait for the verdict. */
static int
child_login(void *ctx, const char *user, const char *pass,
    const char *pending, size_t pendlen, bool tls)
{
	struct front *f = ctx;
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} cm;
	char msgbuf[FRONT_MSG_MAX];
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t len, r;
	char v;
	int fd = 0;

	if ((len = front_msg_build(msgbuf, sizeof(msgbuf), user, pass,
	    pending, pendlen, tls)) == -1)
		return -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = msgbuf;
	iov.iov_len = (size_t)len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while ((r = sendmsg(f->sock[1], &msg, MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	explicit_bzero(msgbuf, sizeof(msgbuf));
	if (r != len)
		return -1;
	while ((r = recv(f->sock[1], &v, 1, 0)) == -1 && errno == EINTR)
		;
	if (r == 0)
		return 0;	/* the parent is done: the session has run */
	return r == 1 && v == FRONT_VERDICT_BAD ? 1 : -1;
}

/* No delay here: the parent waits before it answers a failure. */
static const struct pop3_login_ops child_ops = {
	child_output, child_starttls, child_login, NULL
};

static const struct pop3_login_ops child_ops_notls = {
	child_output, NULL, child_login, NULL
};

static void __attribute__((noreturn))
front_child(struct front *f)
{
	struct pop3_login s;

	(void)close(f->sock[0]);
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

/* One message from the child: its length (0 at EOF), *fd_out or -1. */
static ssize_t
parent_recv(struct front *f, char *buf, size_t bufsz, int *fd_out)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} cm;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t r;

	*fd_out = -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = bufsz;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	while ((r = recvmsg(f->sock[0], &msg, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	for (c = CMSG_FIRSTHDR(&msg); r > 0 && c != NULL;
	    c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)) && *fd_out == -1)
			memcpy(fd_out, CMSG_DATA(c), sizeof(int));
	if (r > 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		errno = EMSGSIZE;
		return -1;
	}
	return r;
}

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

int
front_parent(struct front *f)
{
	char buf[FRONT_MSG_MAX + 1], v;
	struct front_cred c;
	int conn, status, verdict;
	unsigned fails = 0;
	bool more;
	ssize_t r;

	for (;;) {
		r = parent_recv(f, buf, sizeof(buf), &conn);
		if (r <= 0 || front_msg_parse(buf, (size_t)r, &c) == -1 ||
		    conn == -1) {
			if (r != 0)
				log_warnx("bad message from the login child");
			if (conn != -1)
				(void)close(conn);
			break;
		}
		status = parent_check(f, &c, conn);
		(void)close(conn);
		verdict = status == -1 ? FRONT_VERDICT_TEMP :
		    front_verdict(status);
		parent_log(f, &c, verdict);
		explicit_bzero(buf, sizeof(buf));
		if (verdict == 0)
			break;
		more = verdict != FRONT_VERDICT_BAD || parent_failed(f, &fails);
		v = (char)verdict;
		if (send(f->sock[0], &v, 1, MSG_NOSIGNAL) != 1 || !more)
			break;
	}
	(void)close(f->sock[0]);
	while (waitpid(f->child, &status, 0) == -1 && errno == EINTR)
		;
	return 0;
}
