/* send_bounce: delivery status notifications and the end of a message. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "io.h"
#include "line.h"
#include "log.h"
#include "rec.h"
#include "send.h"

#define INJECT_ERR_MAX	8192	/* tern-queue's stderr that we keep */

/* The pipes to and from the child, and what is left to write. */
struct inject_io {
	int		 fd[3];		/* message, envelope, stderr */
	const char	*data[2];
	size_t		 left[2];
	char		 err[INJECT_ERR_MAX + 1];
	size_t		 errlen;
};

static pid_t
inject_spawn(const char *prog, struct inject_io *io)
{
	int p[3][2], i;
	pid_t pid;

	for (i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) == -1) {
			while (--i >= 0) {
				(void)close(p[i][0]);
				(void)close(p[i][1]);
			}
			return -1;
		}
	pid = fork();
	if (pid == 0) {
		if (dup2(p[0][0], 0) == -1 || dup2(p[1][0], 1) == -1 ||
		    dup2(p[2][1], 2) == -1)
			_exit(111);
		(void)signal(SIGPIPE, SIG_DFL);
		execl(prog, "tern-queue", (char *)NULL);
		_exit(111);
	}
	for (i = 0; i < 3; i++) {
		/* The child's ends, or every end when there is no child. */
		(void)close(p[i][i == 2 ? 1 : 0]);
		if (pid == -1)
			(void)close(p[i][i == 2 ? 0 : 1]);
	}
	io->fd[0] = p[0][1];
	io->fd[1] = p[1][1];
	io->fd[2] = p[2][0];
	return pid;
}

/* Write what the child can take: the envelope only after the message. */
static void
inject_write(struct inject_io *io)
{
	ssize_t n;
	int i;

	for (i = 0; i < 2; i++) {
		if (io->fd[i] == -1 || (i == 1 && io->fd[0] != -1))
			continue;
		if (io->left[i] > 0) {
			n = write(io->fd[i], io->data[i], io->left[i]);
			if (n > 0) {
				io->data[i] += n;
				io->left[i] -= (size_t)n;
			} else if (n == -1 && errno != EAGAIN && errno != EINTR)
				io->left[i] = 0;	/* EPIPE: it gave up */
		}
		if (io->left[i] == 0) {
			(void)close(io->fd[i]);
			io->fd[i] = -1;
		}
	}
}

/* Keep the first INJECT_ERR_MAX bytes of its stderr, drain the rest. */
static void
inject_read(struct inject_io *io)
{
	char junk[512], *p = junk;
	size_t room = sizeof(junk);
	ssize_t n;

	if (io->errlen < INJECT_ERR_MAX) {
		p = io->err + io->errlen;
		room = INJECT_ERR_MAX - io->errlen;
	}
	n = read(io->fd[2], p, room);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		(void)close(io->fd[2]);
		io->fd[2] = -1;
	} else if (n > 0 && p != junk)
		io->errlen += (size_t)n;
}

/* Feed the child and collect its stderr until it closes it. */
static int
inject_pump(struct inject_io *io, int64_t deadline)
{
	struct pollfd pfd[3];
	int i, np, ms;

	for (i = 0; i < 3; i++)
		(void)io_nonblock(io->fd[i], 1);
	while (io->fd[2] != -1) {
		np = 0;
		for (i = 0; i < 2; i++)
			if (io->fd[i] != -1 && (i == 0 || io->fd[0] == -1)) {
				pfd[np].fd = io->fd[i];
				pfd[np++].events = POLLOUT;
			}
		pfd[np].fd = io->fd[2];
		pfd[np++].events = POLLIN;
		ms = (int)(deadline - line_deadline(0));
		if (ms <= 0)
			return -1;
		if (poll(pfd, (nfds_t)np, ms) == -1 && errno != EINTR)
			return -1;
		inject_write(io);
		inject_read(io);
	}
	return 0;
}

static int
inject_wait(pid_t pid, int64_t deadline)
{
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
			(void)waitpid(pid, &status, 0);
			return -1;
		}
		(void)usleep(10000);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return -1;
}

/* Copy the child's stderr to ours and find the new queue id in it. */
static void
inject_relay(struct inject_io *io, char newid[QID_LEN + 1])
{
	char *p, *tok;

	newid[0] = '\0';
	io->err[io->errlen] = '\0';
	if (io->errlen > 0)
		(void)io_write_all(2, io->err, io->errlen);
	for (p = io->err; *p != '\0' && newid[0] == '\0'; ) {
		p += strspn(p, " \t\n<>=:[]");
		tok = p;
		p += strcspn(p, " \t\n<>=:[]");
		if ((size_t)(p - tok) == QID_LEN) {
			memcpy(newid, tok, QID_LEN);
			newid[QID_LEN] = '\0';
			if (!qid_valid(newid))
				newid[0] = '\0';
		}
	}
}

int
send_inject(const char *prog, const char *msg, size_t msglen,
    const char *env, size_t envlen, char newid[QID_LEN + 1])
{
	struct inject_io io;
	int64_t deadline;
	pid_t pid;
	int r, i;

	memset(&io, 0, sizeof(io));
	io.data[0] = msg;
	io.left[0] = msglen;
	io.data[1] = env;
	io.left[1] = envlen;
	newid[0] = '\0';
	if ((pid = inject_spawn(prog, &io)) == -1) {
		log_warn("unable to run %s", prog);
		return -1;
	}
	deadline = line_deadline(SEND_INJECT_WAIT * 1000LL);
	(void)inject_pump(&io, deadline);
	/* A child that died early leaves our ends of its pipes open. */
	for (i = 0; i < 3; i++)
		if (io.fd[i] != -1)
			(void)close(io.fd[i]);
	r = inject_wait(pid, deadline);
	inject_relay(&io, newid);
	if (r != 0) {
		log_warnx("%s failed with exit code %d", prog, r);
		return -1;
	}
	return 0;
}

/*
 * The message file for the DSN: an fd, or -1 with errno; ENOENT means
 * it is lost, and bounce_build says so in the report.
 */
static int
open_message(const struct send_state *st, const char *id)
{
	char p[PATH_MAX];
	int fd;

	if (send_path(p, sizeof(p), st->spool, SPOOL_MESS, id) == -1)
		return -1;
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT)
		log_warnx("%s message file missing: DSN without its headers",
		    id);
	return fd;
}

/* The qmail-queue envelope of the DSN: "F<from>\0T<to>\0\0". */
static int
dsn_envelope(struct buf *envl, const char *from, const char *to)
{
	if (rec_put_tag(envl, 'F', from) == -1 ||
	    rec_put_tag(envl, 'T', to) == -1 || buf_appendc(envl, '\0') == -1)
		return -1;
	return 0;
}

/*
 * Inject the DSN msg from from to to; log "<id> <what> <newid> to=<..>".
 * 0, or -1 (send_inject logged why).
 */
static int
dsn_inject(struct send_state *st, const char *id, const struct buf *msg,
    const char *from, const char *to, const char *what)
{
	char newid[QID_LEN + 1], e[ADDR_BUF * 4 + 1];
	struct buf envl;
	int r = -1;

	buf_init(&envl, 2 * SPOOL_REC_MAX);
	if (dsn_envelope(&envl, from, to) == -1)
		log_warn("%s unable to build the DSN envelope", id);
	else if (send_inject(st->queue_prog, msg->data, msg->len, envl.data,
	    envl.len, newid) == 0) {
		(void)log_esc(e, sizeof(e), to, strlen(to));
		log_info("%s %s %s to=<%s>", id, what,
		    newid[0] != '\0' ? newid : "queued", e);
		r = 0;
	}
	buf_free(&envl);
	return r;
}

/* Build and inject the DSN for the records b[0..n): 0, or -1 (logged). */
static int
send_dsn(struct send_state *st, const struct spool_env *env,
    const struct bounce_rcpt *b, size_t n, time_t now)
{
	const char *to, *from;
	struct buf msg;
	int fd, r = -1;

	to = env->sender[0] != '\0' ? env->sender : st->cfg.postmaster;
	from = env->sender[0] != '\0' ? "" : BOUNCE_DOUBLE_SENDER;
	buf_init(&msg, BOUNCE_OUT_MAX);
	if ((fd = open_message(st, env->id)) == -1 && errno != ENOENT) {
		log_warn("%s unable to open the message", env->id);
		goto out;
	}
	if (bounce_build(env, b, n, fd, st->cfg.me, to, now, &msg) == -1) {
		log_warn("%s unable to build the DSN", env->id);
		goto out;
	}
	if (msg.len == 0) {
		log_info("%s bounce none: NOTIFY excludes every failure",
		    env->id);
		r = 0;
		goto out;
	}
	r = dsn_inject(st, env->id, &msg, from, to, "bounce");
out:
	if (fd != -1)
		(void)close(fd);
	buf_free(&msg);
	return r;
}

/* Is a delay warning due for env at all (before looking at bounce/)? */
static bool
delay_due(const struct send_state *st, const struct spool_env *env,
    time_t now)
{
	if (st->cfg.delaywarning <= 0 ||
	    (long long)now - (long long)env->arrival < st->cfg.delaywarning)
		return false;
	/* RFC 5321 4.5.5: nothing goes back to <>, nor about #@[]. */
	if (env->sender[0] == '\0' ||
	    strcmp(env->sender, BOUNCE_DOUBLE_SENDER) == 0)
		return false;
	return !spool_env_finished(env);
}

/*
 * Mark, inject, and undo the mark when the injection failed: a crash
 * in between costs the warning rather than sending it twice.
 */
static int
delay_send(struct send_state *st, const struct spool_env *env,
    const struct buf *msg, time_t now)
{
	int save;

	if (bounce_mark_warned(st->spool, env->id, true, now) == -1)
		return -1;
	if (dsn_inject(st, env->id, msg, "", env->sender, "delay") == 0)
		return 1;
	if (bounce_mark_warned(st->spool, env->id, false, now) == -1) {
		save = errno;
		log_warn("%s unable to undo the delay warning mark", env->id);
		errno = save;
	}
	errno = EAGAIN;
	return -1;
}

int
send_delay_warn(struct send_state *st, struct send_msg *m,
    const struct spool_env *env, time_t now)
{
	struct bounce_rcpt *notes = NULL;
	struct buf msg;
	size_t n = 0;
	bool warned;
	int fd = -1, r = -1, save;
	time_t until;

	if (!delay_due(st, env, now))
		return 0;
	if (bounce_read_notes(st->spool, m->id, env->nrcpt, &notes, &n,
	    &warned) == -1)
		return -1;
	if (warned) {
		free(notes);
		return 0;
	}
	buf_init(&msg, BOUNCE_OUT_MAX);
	until = env->arrival + (time_t)st->cfg.lifetime;
	if ((fd = open_message(st, env->id)) == -1 && errno != ENOENT)
		goto out;
	if (bounce_build_delay(env, notes, n, fd, st->cfg.me, env->sender,
	    now, until, &msg) == -1)
		goto out;
	r = msg.len == 0 ? 0 : delay_send(st, env, &msg, now);
out:
	save = errno;
	if (fd != -1)
		(void)close(fd);
	free(notes);
	buf_free(&msg);
	errno = save;
	return r;
}

void
send_delay_note(struct send_state *st, const struct send_msg *m, size_t i,
    const char *status, const char *text)
{
	if (st->cfg.delaywarning <= 0)
		return;
	/* A reply without a usable 4.y.z still tells why: keep its text. */
	if (status == NULL || status[0] != '4' ||
	    bounce_note(st->spool, m->id, i, status, text) == -1) {
		if (bounce_note(st->spool, m->id, i, "4.0.0", text) == -1)
			log_warn("%s unable to note the failure of recipient "
			    "%zu", m->id, i);
	}
}

static void
unlink_one(const struct send_state *st, const char *dir, const char *id)
{
	char p[PATH_MAX];

	if (send_path(p, sizeof(p), st->spool, dir, id) == 0 &&
	    unlink(p) == -1 && errno != ENOENT)
		log_warn("unable to remove %s", p);
}

void
send_finish(struct send_state *st, struct send_msg *m,
    const struct spool_env *env, time_t now)
{
	struct bounce_rcpt *b = NULL;
	size_t n = 0;
	int r;

	r = bounce_read(st->spool, m->id, env->nrcpt, &b, &n);
	if (r == -1) {
		log_warn("%s unable to read the failure records", m->id);
		goto later;
	}
	if (r == 1 && n > 0) {
		if (strcmp(env->sender, BOUNCE_DOUBLE_SENDER) == 0)
			log_info("%s bounce dropped: double bounce", m->id);
		else if (send_dsn(st, env, b, n, now) == -1)
			goto later;
	}
	free(b);
	/*
	 * env/ last: while it exists the message is known, so a crash
	 * between the unlinks leaves no orphan in mess/ or bounce/; the
	 * next run finds the message finished and ends it again (with no
	 * bounce records left, no second DSN).
	 */
	unlink_one(st, SPOOL_BOUNCE, m->id);
	unlink_one(st, SPOOL_MESS, m->id);
	unlink_one(st, SPOOL_ENV, m->id);
	log_info("%s done", m->id);
	send_msg_drop(st, m);
	return;
later:
	free(b);
	send_msg_schedule(st, m, send_next_try(env->arrival, now,
	    st->cfg.step, -1));
}
