/* net: fds 0/1, tern-queue, the checkpassword program and STARTTLS. */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "line.h"
#include "log.h"
#include "net.h"
#include "tlsctl.h"

#define SMTP_CHILD_FAIL	120	/* exit of a child that could not exec */

extern char **environ;

/*
 * Set by a vfork child that could not exec, read by the parent once the
 * child is gone: the memory is shared until the exec.
 */
static volatile int net_spawn_errno;

void
smtpd_net_init(struct smtpd_net *n, const struct smtpd_cfg *cfg,
    struct rcpt_cfg *rcpt, int tlsctl)
{
	memset(n, 0, sizeof(*n));
	n->cfg = cfg;
	n->rcpt = rcpt;
	n->outfd = 1;
	n->tlsctl = tlsctl;
	n->qpid = -1;
	n->qmsg = n->qenv = n->qtext = -1;
	/*
	 * Replies leave in one write per group (smtp_flush), so Nagle can
	 * only hold back a reply the client waits for.  Not a TCP socket
	 * (a pipe, tern-tlsd's socketpair): nothing to do.
	 */
	(void)setsockopt(n->outfd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
	    sizeof(int));
}

static int
net_output(void *ctx, const char *p, size_t len)
{
	struct smtpd_net *n = ctx;

	return io_write_deadline(n->outfd, p, len,
	    line_deadline((int64_t)n->cfg->t_cmd * 1000));
}

static int
net_rcpt_exists(void *ctx, const char *addr)
{
	struct smtpd_net *n = ctx;
	char esc[ADDR_BUF * 4];
	struct rcpt_res r;

	if (n->rcpt == NULL)
		return 1;
	rcpt_resolve(n->rcpt, addr, &r);
	if (r.kind != RCPT_FAIL)
		return 1;
	if (r.logit) {
		log_esc(esc, sizeof(esc), addr, strlen(addr));
		log_warnx("recipient <%s>: %s %s", esc, r.status, r.text);
	}
	return r.status[0] == '5' ? 0 : -1;
}

/*
 * In a child: put each from[i] on to[i].  A source may sit on another
 * one's target, so all are first copied above every target.
 */
static int
net_child_fds(const int *from, const int *to, size_t n)
{
	int tmp[4];
	size_t i;

	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(from[i], F_DUPFD, 10)) == -1)
			return -1;
	for (i = 0; i < n; i++)
		if (dup2(tmp[i], to[i]) == -1)
			return -1;
	for (i = 0; i < n; i++)
		(void)close(tmp[i]);
	return 0;
}

/*
 * The vfork child: default SIGPIPE (ignored here, and an ignored signal
 * stays ignored across exec) and an empty mask, the fds, exec.  Only
 * system calls: the parent's memory is ours until the exec.
 */
static void __attribute__((noreturn))
net_child(char *const *argv, const int *from, const int *to, size_t n)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (net_child_fds(from, to, n) == 0)
		execve(argv[0], argv, environ);
	net_spawn_errno = errno != 0 ? errno : ENOEXEC;
	_exit(SMTP_CHILD_FAIL);
}

/*
 * Run argv[0] with from[i] on fd to[i] (n at most 4).  vfork: the
 * parent waits only for the exec, and copies no page tables.  Every
 * signal is blocked around it, so that no handler of ours runs in the
 * child.  The pid, or -1 with errno (an exec that failed is reaped).
 */
static pid_t
net_spawn(char *const *argv, const int *from, const int *to, size_t n)
{
	sigset_t all, old;
	pid_t pid;
	int err, status;

	sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &old);
	net_spawn_errno = 0;
	pid = vfork();
	if (pid == 0)
		net_child(argv, from, to, n);
	err = pid == -1 ? errno : net_spawn_errno;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid != -1 && err != 0) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		pid = -1;
	}
	if (pid == -1)
		errno = err;
	return pid;
}

static void
net_close(int *fd)
{
	if (*fd != -1)
		(void)close(*fd);
	*fd = -1;
}

static int
net_q_open(void *ctx)
{
	struct smtpd_net *n = ctx;
	int m[2], e[2], t[2], from[3], to[3] = { 0, 1, 6 };
	char *argv[2];

	if (pipe2(m, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(e, O_CLOEXEC) == -1)
		goto fail_m;
	if (pipe2(t, O_CLOEXEC) == -1)
		goto fail_e;
	/*
	 * Our write ends only (tern-queue's ends stay blocking): the
	 * message goes in 32 KiB writes with no poll before each.
	 */
	if (io_nonblock(m[1], 1) == -1 || io_nonblock(e[1], 1) == -1)
		goto fail_t;
	from[0] = m[0];
	from[1] = e[0];
	from[2] = t[1];
	argv[0] = (char *)n->cfg->queueprog;
	argv[1] = NULL;
	if ((n->qpid = net_spawn(argv, from, to, 3)) == -1)
		goto fail_t;
	(void)close(m[0]);
	(void)close(e[0]);
	(void)close(t[1]);
	n->qmsg = m[1];
	n->qenv = e[1];
	n->qtext = t[0];
	return 0;
fail_t:
	(void)close(t[0]);
	(void)close(t[1]);
fail_e:
	(void)close(e[0]);
	(void)close(e[1]);
fail_m:
	(void)close(m[0]);
	(void)close(m[1]);
	log_warn("unable to run %s", n->cfg->queueprog);
	n->qpid = -1;
	return -1;
}

static int
net_q_write(void *ctx, const char *p, size_t len)
{
	struct smtpd_net *n = ctx;

	return io_write_deadline(n->qmsg, p, len,
	    line_deadline((int64_t)n->cfg->t_done * 1000));
}

/* Read the fd 6 text until EOF (tern-queue's exit) or the deadline. */
static int
net_q_text(struct smtpd_net *n, char *text, size_t textsz, int64_t deadline)
{
	struct pollfd pfd;
	size_t have = 0;
	char junk[256];
	int64_t left;
	ssize_t r;

	for (;;) {
		left = deadline - line_deadline(0);
		if (left <= 0)
			return -1;
		pfd.fd = n->qtext;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) < 1)
			continue;
		if (have + 1 < textsz)
			r = io_read(n->qtext, text + have, textsz - 1 - have);
		else
			r = io_read(n->qtext, junk, sizeof(junk));
		if (r <= 0)
			break;
		if (have + 1 < textsz)
			have += (size_t)r;
	}
	text[have] = '\0';
	return 0;
}

static int
net_q_wait(struct smtpd_net *n, bool kill_it)
{
	int status;

	if (n->qpid == -1)
		return -1;
	if (kill_it)
		(void)kill(n->qpid, SIGKILL);
	while (waitpid(n->qpid, &status, 0) == -1 && errno == EINTR)
		;
	n->qpid = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) != SMTP_CHILD_FAIL)
		return WEXITSTATUS(status);
	return -1;
}

static int
net_q_commit(void *ctx, const char *env, size_t envlen, char *text,
    size_t textsz)
{
	struct smtpd_net *n = ctx;
	int64_t deadline = line_deadline((int64_t)n->cfg->t_done * 1000);
	bool late;

	net_close(&n->qmsg);
	(void)io_write_deadline(n->qenv, env, envlen, deadline);
	net_close(&n->qenv);
	late = net_q_text(n, text, textsz, deadline) == -1;
	net_close(&n->qtext);
	if (late)
		log_warnx("tern-queue did not finish in time: killed");
	return late ? (net_q_wait(n, true), -1) : net_q_wait(n, false);
}

/* The queue sees the message end but no envelope: it removes its files. */
static void
net_q_abort(void *ctx)
{
	struct smtpd_net *n = ctx;

	net_close(&n->qmsg);
	net_close(&n->qenv);
	net_close(&n->qtext);
	(void)net_q_wait(n, false);
}

/* Wait for a child with a time limit; its exit code, or -1. */
static int
net_wait_limit(pid_t pid, unsigned seconds)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int64_t deadline = line_deadline((int64_t)seconds * 1000);
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r == -1 && errno != EINTR)
			return -1;
		if (line_deadline(0) > deadline) {
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
				;
			return -1;
		}
		(void)nanosleep(&ts, NULL);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A buffer that held a password: zeroed, then freed. */
static void
net_buf_wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

/*
 * Run "checkpassword /bin/true" with user NUL pass NUL stamp NUL on fd 3
 * (at most SMTP_CP_INPUT_MAX bytes: auth.c refuses longer credentials
 * first; anything longer here is a bad login, never cut).
 */
static int
net_checkpass(void *ctx, const char *user, const char *pass)
{
	struct smtpd_net *n = ctx;
	char stamp[SMTP_CP_STAMP_MAX + 1], *argv[3];
	int p[2], from[3], to[3] = { 0, 1, 3 }, null = -1, r;
	struct buf b;
	pid_t pid = -1;

	(void)snprintf(stamp, sizeof(stamp), "<%ld.%lld@tern>",
	    (long)getpid(), (long long)time(NULL));
	if (strlen(user) + strlen(pass) + strlen(stamp) + 3 >
	    SMTP_CP_INPUT_MAX)
		return 1;
	buf_init(&b, SMTP_CP_INPUT_MAX);
	if (buf_append(&b, user, strlen(user) + 1) == -1 ||
	    buf_append(&b, pass, strlen(pass) + 1) == -1 ||
	    buf_append(&b, stamp, strlen(stamp) + 1) == -1 ||
	    pipe2(p, O_CLOEXEC) == -1) {
		net_buf_wipe(&b);
		return -1;
	}
	/* the network is not the checker's business */
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		from[0] = from[1] = null;
		from[2] = p[0];
		argv[0] = (char *)n->cfg->checkpass;
		argv[1] = (char *)"/bin/true";
		argv[2] = NULL;
		pid = net_spawn(argv, from, to, 3);
	}
	if (pid == -1)
		log_warn("unable to run %s", n->cfg->checkpass);
	if (null != -1)
		(void)close(null);
	(void)close(p[0]);
	if (pid != -1)
		(void)io_write_all(p[1], b.data, b.len);	/* < PIPE_BUF */
	(void)close(p[1]);
	net_buf_wipe(&b);
	if (pid == -1)
		return -1;
	r = net_wait_limit(pid, SMTP_CHECKPASS_TIME);
	if (r != 0 && r != 1)
		log_warnx("checkpassword %s failed (exit %d)",
		    n->cfg->checkpass, r);
	return r == 0 ? 0 : r == 1 ? 1 : -1;
}

int
smtpd_tls_answer(const char *text, char *proto, size_t protosz,
    char *cipher, size_t ciphersz)
{
	size_t a = strcspn(text, " "), i;
	const char *c;

	if (a == 0 || text[a] != ' ' || a >= protosz)
		return -1;
	c = text + a + 1;
	if (*c == '\0' || strlen(c) >= ciphersz || strchr(c, ' ') != NULL)
		return -1;
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7e)
			return -1;
	memcpy(proto, text, a);
	proto[a] = '\0';
	(void)strlcpy(cipher, c, ciphersz);
	return 0;
}

/*
 * STARTTLS through tern-tlsd (lib/tlsctl): 'Y', then its answer and the
 * new plaintext socket, within the command timeout.
 */
static int
net_starttls(void *ctx, char *proto, size_t protosz, char *cipher,
    size_t ciphersz)
{
	struct smtpd_net *n = ctx;
	struct tlsctl_reply rep;
	int fd = -1;

	memset(&rep, 0, sizeof(rep));
	if (tlsctl_start(n->tlsctl, line_deadline((int64_t)n->cfg->t_cmd *
	    1000), &fd, &rep) != 1 || strlcpy(proto, rep.proto, protosz) >=
	    protosz || strlcpy(cipher, rep.cipher, ciphersz) >= ciphersz) {
		if (fd != -1)
			(void)close(fd);
		log_warnx("STARTTLS failed: %s", rep.reason[0] != '\0' ?
		    rep.reason : strerror(errno));
		return -1;
	}
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1) {
		(void)close(fd);
		return -1;
	}
	(void)close(fd);
	return 0;
}

static void
net_delay(void *ctx, unsigned seconds)
{
	(void)ctx;
	(void)sleep(seconds);
}

const struct smtpd_ops smtpd_net_ops = {
	net_output, net_rcpt_exists, net_checkpass, net_q_open, net_q_write,
	net_q_commit, net_q_abort, net_starttls, net_delay
};

const struct smtpd_ops smtpd_net_ops_notls = {
	net_output, net_rcpt_exists, net_checkpass, net_q_open, net_q_write,
	net_q_commit, net_q_abort, NULL, net_delay
};
