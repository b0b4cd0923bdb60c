/*
 * tern-queue: put one message into the spool, the qmail-queue way: the
 * message on fd 0, the envelope on fd 1, the result in the exit code.
 * Installed setuid to the queue user; see tern-queue(8).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cfg.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "qcommit.h"
#include "spool.h"

#define QUEUE_TIMEOUT_MAX	(7 * 86400)

/*
 * A set-id program may be started with fd 0, 1 or 2 closed; a file we
 * open must never land there (a log line written into the spool).  True
 * when fds 0 and 1, our input, were open.
 */
static bool
queue_fds_ok(void)
{
	bool ok = true;
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			continue;
		if (fd < 2)
			ok = false;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(QQ_BUG);
	}
	return ok;
}

/*
 * Setuid to the queue user and run by root (real uid 0): do not keep
 * the real uid 0 (nor gid 0 and root's groups) that this mixed state
 * leaves, so that no bug here can get root back.  The real uid allows
 * the effective uid 0 again, with which the drop to the euid and its
 * group is complete.
 */
static int
queue_unmix(void)
{
	uid_t euid = geteuid();
	struct passwd *pw;

	if (getuid() != 0 || euid == 0)
		return QQ_OK;
	errno = 0;
	if ((pw = getpwuid(euid)) == NULL) {
		log_fatal("unable to look up uid %lu", (unsigned long)euid);
		return QQ_CONFIG;
	}
	if (setresuid((uid_t)-1, 0, (uid_t)-1) == -1 ||
	    priv_drop(euid, pw->pw_gid) == -1) {
		log_fatal("unable to become uid %lu", (unsigned long)euid);
		return QQ_BUG;
	}
	return QQ_OK;
}

/* Started as root: become the queue user before touching the spool. */
static int
queue_drop(void)
{
	const char *user = paths_queue_user();
	uid_t uid;
	gid_t gid;
	int r;

	if (!priv_is_root())
		return QQ_OK;
	if ((r = priv_user(user, &uid, &gid)) != 1) {
		if (r == 0)
			log_fatalx("queue user %s does not exist", user);
		else
			log_fatal("unable to look up the queue user %s", user);
		return QQ_CONFIG;
	}
	if (uid == 0) {
		log_fatalx("refusing to run as root: queue user %s is uid 0",
		    user);
		return QQ_CONFIG;
	}
	if (priv_drop(uid, gid) == -1) {
		log_fatal("unable to become %s", user);
		return QQ_BUG;
	}
	return QQ_OK;
}

/* Control files databytes and queuetimeout. */
static int
queue_config(struct qcommit *q, const char *dir)
{
	long long v;
	int r;

	if ((r = cfg_get_num(dir, "databytes", 0, LLONG_MAX, &v)) == -1) {
		log_fatal("unable to read %s/databytes", dir);
		return QQ_CONFIG;
	}
	q->databytes = r == 1 ? (unsigned long long)v : 0;
	r = cfg_get_num(dir, "queuetimeout", 1, QUEUE_TIMEOUT_MAX, &v);
	if (r == -1) {
		log_fatal("unable to read %s/queuetimeout", dir);
		return QQ_CONFIG;
	}
	q->deadline_ms = (r == 1 ? v : QCOMMIT_TIMEOUT) * 1000;
	return QQ_OK;
}

static int64_t
queue_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
queue_log_done(const struct qcommit *q)
{
	char from[ADDR_BUF * 4 + 4];

	log_esc(from, sizeof(from), q->sender, strlen(q->sender));
	log_info("%s queued from=<%s> size=%lld rcpts=%zu uid=%lld", q->id,
	    from, (long long)q->size, q->nrcpt, q->uid);
}

static void
queue_log_fail(const struct qcommit *q, int code)
{
	if (q->err != 0) {
		errno = q->err;
		log_fatal("%s%s%s (exit %d)", q->id, q->id[0] ? ": " : "",
		    q->errstr, code);
	} else
		log_fatalx("%s%s%s (exit %d)", q->id, q->id[0] ? ": " : "",
		    q->errstr, code);
}

int
main(void)
{
	struct qcommit q;
	const char *spool, *control;
	bool fds;
	int code;

	fds = queue_fds_ok();
	log_init("tern-queue", false);
	(void)signal(SIGPIPE, SIG_IGN);
	umask(077);
	if (!fds) {
		log_fatalx("fd 0 or fd 1 is closed (exit %d)", QQ_READ);
		return QQ_READ;
	}
	qcommit_init(&q, 0, 1);
	q.uid = (long long)getuid();
	/* before queue_unmix: the environment of real uid 0 is trusted */
	spool = paths_spool();
	control = paths_control();
	if ((code = queue_unmix()) != QQ_OK ||
	    (code = queue_drop()) != QQ_OK ||
	    (code = queue_config(&q, control)) != QQ_OK)
		return code;
	q.deadline_ms += queue_now_ms();
	if (chdir(spool) == -1) {
		log_fatal("unable to enter the spool %s (exit %d)",
		    spool, QQ_SPOOLDIR);
		return QQ_SPOOLDIR;
	}
	if ((code = qcommit_run(&q)) != QQ_OK)
		queue_log_fail(&q, code);
	else {
		queue_log_done(&q);
		qcommit_trigger(SPOOL_TRIGGER);
	}
	qcommit_free(&q);
	return code;
}
