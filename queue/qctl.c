/* qctl: the logic of tern-qctl (list, show, delete, hold, release, flush). */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "io.h"
#include "log.h"
#include "paths.h"
#include "qctl.h"
#include "spool.h"
#include "uniq.h"

#define QCTL_ESC_MAX	1100	/* an escaped address or text */

/* One message found in env/ or hold/. */
struct qent {
	char	id[QID_LEN + 1];
	bool	held;
};

struct qlist {
	struct qent	*v;
	size_t		 n, cap;
};

int
qctl_worst(int a, int b)
{
	if (a == QCTL_TEMP || b == QCTL_TEMP)
		return QCTL_TEMP;
	return a == QCTL_PERM || b == QCTL_PERM ? QCTL_PERM : QCTL_OK;
}

void
qctl_age(char *out, size_t outsz, long long s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		(void)snprintf(out, outsz, "%llds", s);
	else if (s < 3600)
		(void)snprintf(out, outsz, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		(void)snprintf(out, outsz, "%lldh%02lldm", s / 3600,
		    s % 3600 / 60);
	else
		(void)snprintf(out, outsz, "%lldd%02lldh", s / 86400,
		    s % 86400 / 3600);
}

/* Envelope text for a terminal: control bytes escaped (log_esc). */
static const char *
qctl_esc(char *dst, size_t dstsz, const char *s)
{
	return log_esc(dst, dstsz, s, strlen(s));
}

static int
qctl_path(char *out, size_t outsz, const struct qctl *q, const char *dir,
    const char *id)
{
	char d[PATH_MAX];

	if (paths_join(d, sizeof(d), q->spool, dir) == -1 ||
	    paths_join(out, outsz, d, id) == -1) {
		log_warnx("path too long under %s", q->spool);
		return -1;
	}
	return 0;
}

static bool
qctl_id_ok(const char *id)
{
	char e[64];

	if (qid_valid(id))
		return true;
	log_warnx("not a queue id: %s", qctl_esc(e, sizeof(e), id));
	return false;
}

/* Add the queue ids in one spool directory to l. */
static int
qctl_scan(const struct qctl *q, const char *dir, bool held, struct qlist *l)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct qent *nv;
	DIR *d;

	if (paths_join(path, sizeof(path), q->spool, dir) == -1 ||
	    (d = opendir(path)) == NULL) {
		log_warn("unable to read %s/%s", q->spool, dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!qid_valid(de->d_name))
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 64;
			if ((nv = reallocarray(l->v, l->cap, sizeof(*nv))) ==
			    NULL) {
				log_warn("unable to list the queue");
				closedir(d);
				return -1;
			}
			l->v = nv;
		}
		strlcpy(l->v[l->n].id, de->d_name, sizeof(l->v[l->n].id));
		l->v[l->n++].held = held;
	}
	closedir(d);
	return 0;
}

static int
qctl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qent *)a)->id,
	    ((const struct qent *)b)->id);
}

/* Size of mess/<id>, or -1 when it is missing. */
static long long
qctl_msize(const struct qctl *q, const char *id)
{
	char path[PATH_MAX];
	struct stat st;

	if (qctl_path(path, sizeof(path), q, SPOOL_MESS, id) == -1 ||
	    stat(path, &st) == -1)
		return -1;
	return (long long)st.st_size;
}

static const char *
qctl_state(char state)
{
	switch (state) {
	case SPOOL_TODO:
	case SPOOL_BUSY:	/* started, outcome unknown or deferred */
		return "pending";
	case SPOOL_DONE:
		return "delivered";
	case SPOOL_FAILED:
		return "failed";
	}
	return "unknown";
}

/* The bounce record of recipient i, if any (records sorted by index). */
static const struct bounce_rcpt *
qctl_failure(const struct bounce_rcpt *r, size_t n, size_t i)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (r[k].index == i)
			return &r[k];
	return NULL;
}

/* The DSN parameters of recipient i, for show. */
static void
qctl_print_dsn(const struct qctl *q, const struct spool_rcpt *r)
{
	char e[QCTL_ESC_MAX];

	if (r->notify != NULL)
		fprintf(q->out, " notify=%s", qctl_esc(e, sizeof(e),
		    r->notify));
	if (r->orcpt != NULL)
		fprintf(q->out, " orcpt=%s", qctl_esc(e, sizeof(e), r->orcpt));
}

static void
qctl_print_rcpts(const struct qctl *q, const struct spool_env *env,
    const char *indent, bool dsn)
{
	char e[QCTL_ESC_MAX], t[QCTL_ESC_MAX];
	const struct bounce_rcpt *f;
	struct bounce_rcpt *r = NULL;
	size_t i, n = 0;

	if (bounce_read(q->spool, env->id, env->nrcpt, &r, &n) == -1)
		n = 0;
	for (i = 0; i < env->nrcpt; i++) {
		fprintf(q->out, "%s%-9s <%s>", indent,
		    qctl_state(env->rcpt[i].state),
		    qctl_esc(e, sizeof(e), env->rcpt[i].addr));
		if (env->rcpt[i].state == SPOOL_FAILED &&
		    (f = qctl_failure(r, n, i)) != NULL)
			fprintf(q->out, " %s %s", f->status,
			    qctl_esc(t, sizeof(t), f->text));
		if (dsn)
			qctl_print_dsn(q, &env->rcpt[i]);
		fputc('\n', q->out);
	}
	free(r);
}

/* One message of the listing; 1 shown, 0 vanished, -1 unreadable. */
static int
qctl_list_one(struct qctl *q, const struct qent *m, long long *bytes)
{
	struct spool_env env;
	const char *errstr = NULL;
	char age[32], size[32], e[QCTL_ESC_MAX];
	long long sz;
	int r;

	r = spool_env_read(q->spool, m->held ? SPOOL_HOLD : SPOOL_ENV, m->id,
	    &env, &errstr);
	if (r == 0)
		return 0;
	if (r == -1) {
		fprintf(q->out, "%-16s  unreadable envelope: %s\n", m->id,
		    errstr ? errstr : strerror(errno));
		return -1;
	}
	qctl_age(age, sizeof(age), (long long)(q->now - env.arrival));
	if ((sz = qctl_msize(q, m->id)) >= 0) {
		(void)snprintf(size, sizeof(size), "%lld", sz);
		*bytes += sz;
	} else
		strlcpy(size, "?", sizeof(size));
	fprintf(q->out, "%-16s %7s %9s  <%s>%s\n", m->id, age, size,
	    qctl_esc(e, sizeof(e), env.sender), m->held ? "  (held)" : "");
	qctl_print_rcpts(q, &env, "    ", false);
	spool_env_free(&env);
	return 1;
}

int
qctl_list(struct qctl *q)
{
	struct qlist l = { NULL, 0, 0 };
	long long bytes = 0;
	size_t k, shown = 0, held = 0;
	int rv = QCTL_OK, r;

	if (qctl_scan(q, SPOOL_ENV, false, &l) == -1 ||
	    qctl_scan(q, SPOOL_HOLD, true, &l) == -1) {
		free(l.v);
		return QCTL_TEMP;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), qctl_cmp);
	for (k = 0; k < l.n; k++) {
		if (k == 0)
			fprintf(q->out, "%-16s %7s %9s  %s\n", "QUEUE ID",
			    "AGE", "SIZE", "SENDER / RECIPIENTS");
		if ((r = qctl_list_one(q, &l.v[k], &bytes)) == -1)
			rv = QCTL_TEMP;
		if (r == 1) {
			shown++;
			held += l.v[k].held;
		}
	}
	if (shown == 0 && rv == QCTL_OK)
		fprintf(q->out, "queue is empty\n");
	else
		fprintf(q->out, "-- %zu message%s (%zu held), %lld bytes\n",
		    shown, shown == 1 ? "" : "s", held, bytes);
	free(l.v);
	return rv;
}

/* Find id: 1 with *held set, 0 not queued, -1 error (logged). */
static int
qctl_find(const struct qctl *q, const char *id, bool *held)
{
	char path[PATH_MAX];
	struct stat st;
	int i;

	for (i = 0; i < 2; i++) {
		if (qctl_path(path, sizeof(path), q, i ? SPOOL_HOLD : SPOOL_ENV,
		    id) == -1)
			return -1;
		if (lstat(path, &st) == 0) {
			*held = i == 1;
			return 1;
		}
		if (errno != ENOENT) {
			log_warn("unable to stat %s", path);
			return -1;
		}
	}
	return 0;
}

static void
qctl_show_env(const struct qctl *q, const struct spool_env *env, bool held)
{
	char e[QCTL_ESC_MAX], age[32];
	struct tm tm;
	char date[64];

	qctl_age(age, sizeof(age), (long long)(q->now - env->arrival));
	if (localtime_r(&env->arrival, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
		strlcpy(date, "?", sizeof(date));
	fprintf(q->out, "id: %s%s\narrival: %s (%s ago)\n", env->id,
	    held ? " (held)" : "", date, age);
	if (env->uid >= 0)
		fprintf(q->out, "uid: %lld\n", env->uid);
	fprintf(q->out, "sender: <%s>\n", qctl_esc(e, sizeof(e), env->sender));
	if (env->envid != NULL)
		fprintf(q->out, "envid: %s\n", qctl_esc(e, sizeof(e),
		    env->envid));
	if (env->ret != NULL)
		fprintf(q->out, "ret: %s\n", qctl_esc(e, sizeof(e), env->ret));
	fprintf(q->out, "recipients: %zu\n", env->nrcpt);
	qctl_print_rcpts(q, env, "  ", true);
}

/* Copy mess/<id> to q->out as it is. */
static int
qctl_copy_message(const struct qctl *q, const char *id)
{
	char path[PATH_MAX], chunk[65536];
	ssize_t r;
	int fd;

	if (qctl_path(path, sizeof(path), q, SPOOL_MESS, id) == -1)
		return QCTL_TEMP;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_warn("unable to open %s", path);
		return QCTL_TEMP;
	}
	while ((r = io_read(fd, chunk, sizeof(chunk))) > 0)
		if (fwrite(chunk, 1, (size_t)r, q->out) != (size_t)r)
			break;
	if (r == -1)
		log_warn("unable to read %s", path);
	close(fd);
	return r == 0 ? QCTL_OK : QCTL_TEMP;
}

int
qctl_show(struct qctl *q, const char *id)
{
	struct spool_env env;
	const char *errstr = NULL;
	bool held = false;
	int r;

	if (!qctl_id_ok(id))
		return QCTL_PERM;
	if ((r = qctl_find(q, id, &held)) == 0) {
		log_warnx("no such message: %s", id);
		return QCTL_PERM;
	}
	if (r == 1)
		r = spool_env_read(q->spool, held ? SPOOL_HOLD : SPOOL_ENV,
		    id, &env, &errstr);
	if (r == 0) {
		log_warnx("no such message: %s", id);
		return QCTL_PERM;
	}
	if (r == -1) {
		if (errstr != NULL)
			log_warnx("unable to read the envelope of %s: %s", id,
			    errstr);
		else
			log_warn("unable to read the envelope of %s", id);
		return QCTL_TEMP;
	}
	qctl_show_env(q, &env, held);
	spool_env_free(&env);
	fprintf(q->out, "size: %lld\n\n", qctl_msize(q, id));
	return qctl_copy_message(q, id);
}

static int
qctl_fsync_sub(const struct qctl *q, const char *sub)
{
	char dir[PATH_MAX];

	if (paths_join(dir, sizeof(dir), q->spool, sub) == -1 ||
	    io_fsync_dir(dir) == -1) {
		log_warn("unable to fsync %s/%s", q->spool, sub);
		return -1;
	}
	return 0;
}

int
qctl_delete(struct qctl *q, const char *id)
{
	static const char *const rest[] = { SPOOL_MESS, SPOOL_BOUNCE };
	char path[PATH_MAX];
	bool held = false;
	int r, rv = QCTL_OK;
	size_t i;

	if (!qctl_id_ok(id))
		return QCTL_PERM;
	if ((r = qctl_find(q, id, &held)) == -1)
		return QCTL_TEMP;
	/* The envelope first: without it tern-send no longer sees the
	 * message, and its own cleanup would remove the rest. */
	if (r == 0 || qctl_path(path, sizeof(path), q, held ? SPOOL_HOLD :
	    SPOOL_ENV, id) == -1 || unlink(path) == -1) {
		if (r == 0 || errno == ENOENT) {
			log_warnx("no such message: %s", id);
			return QCTL_PERM;
		}
		log_warn("unable to remove %s", path);
		return QCTL_TEMP;
	}
	if (qctl_fsync_sub(q, held ? SPOOL_HOLD : SPOOL_ENV) == -1)
		rv = QCTL_TEMP;
	for (i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) {
		if (qctl_path(path, sizeof(path), q, rest[i], id) == -1 ||
		    (unlink(path) == -1 && errno != ENOENT)) {
			log_warn("unable to remove %s/%s/%s", q->spool, rest[i],
			    id);
			rv = QCTL_TEMP;
		}
	}
	log_info("%s deleted", id);
	return rv;
}

/* rename(2) that never replaces: renameat2, or link and unlink. */
static int
qctl_rename(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) == -1)
		return -1;
	return unlink(from);
}

/* Move id between spool directories: 1 moved, 0 not in from, -1. */
static int
qctl_move(const struct qctl *q, const char *id, const char *from,
    const char *to)
{
	char src[PATH_MAX], dst[PATH_MAX];

	if (qctl_path(src, sizeof(src), q, from, id) == -1 ||
	    qctl_path(dst, sizeof(dst), q, to, id) == -1)
		return -1;
	/* Released: due now (tern-send keeps the next try in the mtime). */
	if (strcmp(to, SPOOL_ENV) == 0 &&
	    utimensat(AT_FDCWD, src, NULL, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno != ENOENT) {
		log_warn("unable to touch %s", src);
		return -1;
	}
	if (qctl_rename(src, dst) == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno == EEXIST)
			log_warnx("%s is in both %s/ and %s/: not moved", id,
			    from, to);
		else
			log_warn("unable to rename %s to %s", src, dst);
		return -1;
	}
	if (qctl_fsync_sub(q, to) == -1 || qctl_fsync_sub(q, from) == -1)
		return -1;
	return 1;
}

/* hold and release: the same move in opposite directions. */
static int
qctl_hold_release(struct qctl *q, const char *id, bool hold)
{
	const char *from = hold ? SPOOL_ENV : SPOOL_HOLD;
	const char *to = hold ? SPOOL_HOLD : SPOOL_ENV;
	bool held = false;
	int r;

	if (!qctl_id_ok(id))
		return QCTL_PERM;
	if ((r = qctl_move(q, id, from, to)) == -1)
		return QCTL_TEMP;
	if (r == 1) {
		log_info("%s %s", id, hold ? "held" : "released");
		return QCTL_OK;
	}
	if ((r = qctl_find(q, id, &held)) == -1)
		return QCTL_TEMP;
	if (r == 0) {
		log_warnx("no such message: %s", id);
		return QCTL_PERM;
	}
	log_info("%s %s", id, hold ? "is held already" : "is not held");
	return QCTL_OK;
}

int
qctl_hold(struct qctl *q, const char *id)
{
	return qctl_hold_release(q, id, true);
}

int
qctl_release(struct qctl *q, const char *id)
{
	return qctl_hold_release(q, id, false);
}

int
qctl_trigger(const struct qctl *q, char byte, const char **why)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	*why = NULL;
	if (paths_join(path, sizeof(path), q->spool, SPOOL_TRIGGER) == -1) {
		*why = "spool path too long";
		return QCTL_TEMP;
	}
	/* O_NONBLOCK: a fifo without a reader fails with ENXIO at once. */
	fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		*why = errno == ENXIO ? "tern-send is not running" :
		    strerror(errno);
		return QCTL_TEMP;
	}
	if (fstat(fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		*why = "the trigger is not a fifo";
		close(fd);
		return QCTL_TEMP;
	}
	if (write(fd, &byte, 1) != 1) {
		*why = errno == EAGAIN ? "tern-send is not reading its "
		    "trigger" : strerror(errno);
		close(fd);
		return QCTL_TEMP;
	}
	close(fd);
	return QCTL_OK;
}
