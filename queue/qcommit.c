/* qcommit: tern-queue's logic, the qmail-queue interface (tern-queue(8)). */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "io.h"
#include "paths.h"
#include "priv.h"
#include "qcommit.h"
#include "rec.h"
#include "spool.h"

/* The envelope file starts "V1\0I<id>\0": the id is at this offset. */
#define QC_ENV_ID_OFF	4
/* What the header records add to the input envelope, at most. */
#define QC_ENV_HEAD	128
#define QC_IN_MAX	(SPOOL_ENV_MAX - QC_ENV_HEAD)

/* How far the envelope scan got (qcommit_read_env). */
struct qc_scan {
	size_t	 start;		/* first byte of the record being read */
	size_t	 nrec;		/* complete records */
	size_t	 nrcpt;		/* T records */
	bool	 end;		/* the empty record was seen */
};

static int
qc_fail(struct qcommit *q, int code, const char *why, int err)
{
	q->errstr = why;
	q->err = err;
	return code;
}

/*
 * read(2) that gives up at the deadline: poll first, so a silent writer
 * cannot hold tern-queue (and its tmp file) forever.
 */
static ssize_t
qc_read(int fd, void *b, size_t len, int64_t deadline_ms)
{
	if (io_wait(fd, POLLIN, deadline_ms) == -1)
		return -1;
	return io_read(fd, b, len);
}

/* The exit code for a failed read of the message or envelope. */
static int
qc_read_fail(struct qcommit *q, const char *why)
{
	if (errno == ETIMEDOUT)
		return qc_fail(q, QQ_TIMEOUT, "timeout reading the input", 0);
	if (errno == ENOMEM)
		return qc_fail(q, QQ_NOMEM, why, errno);
	return qc_fail(q, QQ_READ, why, errno);
}

/* Disk full and friends are 53; anything else keeps the given code. */
static int
qc_io_fail(struct qcommit *q, int code, const char *why)
{
	if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG ||
	    (code == QQ_WRITE && errno != ENOMEM))
		return qc_fail(q, QQ_WRITE, why, errno);
	if (errno == ENOMEM)
		return qc_fail(q, QQ_NOMEM, why, errno);
	return qc_fail(q, code, why, errno);
}

void
qcommit_init(struct qcommit *q, int msgfd, int envfd)
{
	memset(q, 0, sizeof(*q));
	q->msgfd = msgfd;
	q->envfd = envfd;
	q->uid = -1;
	q->now = time(NULL);
	q->mfd = q->efd = -1;
	buf_init(&q->in, QC_IN_MAX);
	buf_init(&q->env, SPOOL_ENV_MAX);
}

int
qcommit_received(char *out, size_t outsz, const char *id, long long uid,
    time_t now)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	int n;

	/* UTC: a set-id program must not depend on the caller's TZ. */
	if (gmtime_r(&now, &tm) == NULL)
		return -1;
	n = snprintf(out, outsz, "%s%s invoked by uid %lld); "
	    "%s, %d %s %d %02d:%02d:%02d +0000\n", QCOMMIT_RCVD_PREFIX, id,
	    uid, day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return n;
}

/* Create tmp/<id>.m, drawing a new id while the name is taken. */
static int
qc_create(struct qcommit *q)
{
	int tries;

	for (tries = 0; tries < QCOMMIT_TRIES; tries++) {
		qid_new(q->id);
		(void)snprintf(q->mtmp, sizeof(q->mtmp), "%s/%s.m",
		    SPOOL_TMP, q->id);
		q->mfd = open(q->mtmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (q->mfd != -1) {
			memcpy(q->mid, q->id, sizeof(q->mid));
			return QQ_OK;
		}
		if (errno != EEXIST)
			break;
	}
	q->mtmp[0] = '\0';
	if (errno == ENOENT || errno == ENOTDIR)
		return qc_fail(q, QQ_SPOOLDIR, "no tmp/ in the spool", errno);
	return qc_io_fail(q, QQ_CREATE, "unable to create the message file");
}

/* Stream the message into the tmp file after the Received line. */
static int
qc_copy_message(struct qcommit *q)
{
	char b[QCOMMIT_IO];
	unsigned long long total = 0;
	ssize_t n;
	int rl;

	rl = qcommit_received(b, sizeof(b), q->id, q->uid, q->now);
	if (rl == -1)
		return qc_fail(q, QQ_BUG, "cannot format the Received line", 0);
	if (io_write_all(q->mfd, b, (size_t)rl) == -1)
		return qc_io_fail(q, QQ_WRITE, "unable to write the message");
	for (;;) {
		n = qc_read(q->msgfd, b, sizeof(b), q->deadline_ms);
		if (n == -1)
			return qc_read_fail(q, "unable to read the message");
		if (n == 0)
			break;
		total += (unsigned long long)n;
		if (q->databytes != 0 && total > q->databytes)
			return qc_fail(q, QQ_REFUSED,
			    "message larger than databytes", 0);
		if (io_write_all(q->mfd, b, (size_t)n) == -1)
			return qc_io_fail(q, QQ_WRITE,
			    "unable to write the message");
	}
	q->size = (off_t)(total + (unsigned long long)rl);
	return QQ_OK;
}

/*
 * Both tmp files and mess/ are synced in qc_sync_all, after the link
 * (env/ in qc_publish); until then only their writeback is started, the
 * message's once the envelope was read, so that a queue id the caller
 * chose (qc_take_id) does not write the first page twice.
 */
static int
qc_start_message(struct qcommit *q)
{
	io_sync_start(q->mfd);
	return QQ_OK;
}

/* A record (or the part of one read so far) over its length limit? */
static int
qc_env_limit(struct qcommit *q, const char *rec, size_t len)
{
	bool addr = len > 0 && (rec[0] == 'F' || rec[0] == 'T');

	if (len > (addr ? ADDR_PATH_MAX + 1 : SPOOL_REC_MAX))
		return qc_fail(q, QQ_ADDR_LONG, addr ? "address too long" :
		    "envelope record too long", 0);
	return QQ_OK;
}

/* One complete record of the qmail envelope. */
static int
qc_env_record(struct qcommit *q, struct qc_scan *st, char *rec, size_t len)
{
	size_t i;

	if (len > 0 && rec[0] == 'I' && st->nrec == 1) {
		/* the caller's queue id, right after F (qc_take_id) */
		if (len != QID_LEN + 1)
			return qc_fail(q, QQ_BADENV,
			    "bad envelope: malformed queue id", 0);
	} else if (len == 0 || st->nrec == 0) {
		if (len == 0 && st->nrec > 0)
			st->end = true;
		else if (len == 0 || rec[0] != 'F')
			return qc_fail(q, QQ_BADENV,
			    "bad envelope: it does not start with F", 0);
	} else if (rec[0] == 'T') {
		if (++st->nrcpt > SPOOL_RCPT_MAX)
			return qc_fail(q, QQ_REFUSED, "too many recipients", 0);
	} else if (rec[0] == 'N' || rec[0] == 'R') {
		/* Keywords are case-insensitive: store them canonical. */
		for (i = 1; i < len; i++)
			rec[i] = (char)toupper((unsigned char)rec[i]);
	} else if (rec[0] != 'E' && rec[0] != 'O')
		return qc_fail(q, QQ_BADENV, rec[0] == 'F' ?
		    "bad envelope: a second F record" :
		    "bad envelope: unknown record", 0);
	st->nrec++;
	return qc_env_limit(q, rec, len);
}

/* Scan in.data[from..in.len) for records; stop at the empty one. */
static int
qc_env_scan(struct qcommit *q, struct qc_scan *st, size_t from)
{
	char *d = q->in.data;
	size_t i;
	int code;

	for (i = from; i < q->in.len && !st->end; i++) {
		/*
		 * Any local user reaches this through setuid tern-queue:
		 * no control byte may go on to headers, argv or terminals.
		 */
		if (d[i] != '\0' && ((unsigned char)d[i] < 0x20 ||
		    d[i] == 0x7f))
			return qc_fail(q, QQ_BADENV,
			    "bad envelope: control character in a record", 0);
		if (d[i] != '\0')
			continue;
		code = qc_env_record(q, st, d + st->start, i - st->start);
		if (code != QQ_OK)
			return code;
		st->start = i + 1;
	}
	if (st->end) {
		buf_truncate(&q->in, i);	/* ignore what follows */
		return QQ_OK;
	}
	return qc_env_limit(q, d + st->start, q->in.len - st->start);
}

int
qcommit_read_env(struct qcommit *q)
{
	struct qc_scan st;
	size_t from;
	ssize_t n;
	int code;

	memset(&st, 0, sizeof(st));
	while (!st.end) {
		if (buf_reserve(&q->in, QCOMMIT_IO) == -1 &&
		    buf_reserve(&q->in, 1) == -1) {
			if (errno == ENOMEM)
				return qc_fail(q, QQ_NOMEM, "out of memory",
				    errno);
			return qc_fail(q, QQ_REFUSED, "envelope too large", 0);
		}
		n = qc_read(q->envfd, q->in.data + q->in.len,
		    q->in.cap - q->in.len - 1, q->deadline_ms);
		if (n == -1)
			return qc_read_fail(q, "unable to read the envelope");
		if (n == 0)
			return qc_fail(q, QQ_READ, "unable to read the "
			    "envelope: it ends before the final NUL", 0);
		from = q->in.len;
		q->in.len += (size_t)n;
		q->in.data[q->in.len] = '\0';
		if ((code = qc_env_scan(q, &st, from)) != QQ_OK)
			return code;
	}
	q->nrcpt = st.nrcpt;
	q->sender = q->in.data + 1;	/* the first record is F */
	return QQ_OK;
}

/*
 * The envelope file: tern's header records, then the input from F to
 * the empty record, which already has the file's layout.  spool_env_parse
 * is the one judge of the grammar, so tern-send can read what is written.
 */
static int
qc_build_env(struct qcommit *q)
{
	struct spool_env check;
	const char *why;
	char num[32];

	(void)snprintf(num, sizeof(num), "%lld", (long long)q->now);
	if (rec_put(&q->env, "V1") == -1 ||
	    rec_put_tag(&q->env, 'I', q->id) == -1 ||
	    rec_put_tag(&q->env, 't', num) == -1)
		return qc_fail(q, QQ_NOMEM, "out of memory", errno);
	(void)snprintf(num, sizeof(num), "%lld", q->uid);
	if ((q->uid >= 0 && rec_put_tag(&q->env, 'u', num) == -1) ||
	    buf_append(&q->env, q->in.data, q->in.len) == -1)
		return qc_fail(q, QQ_NOMEM, "out of memory", errno);
	if (spool_env_parse(q->env.data, q->env.len, &check, &why) == -1) {
		if (errno == ENOMEM)
			return qc_fail(q, QQ_NOMEM, "out of memory", errno);
		(void)snprintf(q->errbuf, sizeof(q->errbuf),
		    "bad envelope: %s", why);
		return qc_fail(q, QQ_BADENV, q->errbuf, 0);
	}
	spool_env_free(&check);
	return QQ_OK;
}

static int
qc_write_env(struct qcommit *q)
{
	(void)snprintf(q->etmp, sizeof(q->etmp), "%s/%s.e", SPOOL_TMP,
	    q->mid);
	q->efd = open(q->etmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (q->efd == -1) {
		q->etmp[0] = '\0';
		return qc_io_fail(q, QQ_CREATE,
		    "unable to create the envelope file");
	}
	if (io_write_all(q->efd, q->env.data, q->env.len) == -1)
		return qc_io_fail(q, QQ_WRITE, "unable to write the envelope");
	io_sync_start(q->efd);
	return QQ_OK;
}

/* Is name in use in spool directory dir?  (lstat: links count too.) */
static bool
qc_id_taken(const char *dir, const char *id)
{
	char path[64];
	struct stat st;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, id);
	return lstat(path, &st) == 0 || errno != ENOENT;
}

/*
 * May the invoker choose the queue id?  Only root, the queue user itself
 * and the SMTP user (tern-smtpd): from anyone else through setuid
 * tern-queue the id is a way to collide with or predict other mail.
 */
static bool
qc_id_trusted(const struct qcommit *q)
{
	uid_t uid;
	gid_t gid;

	if (q->uid == 0 || q->uid == (long long)geteuid())
		return true;
	return q->uid >= 0 && priv_user(paths_smtpd_user(), &uid, &gid) == 1 &&
	    q->uid == (long long)uid;
}

/*
 * An "I<id>" record right after F: the caller (tern-smtpd) chose the
 * queue id, so its Received line and reply name the real one.  Take
 * the record out of the input (the file has its own I record), patch
 * the id into the Received line already written, and refuse an id that
 * is in use anywhere in the spool (exit 62): it is never overwritten.
 * From an untrusted invoker (qc_id_trusted) the record is dropped
 * unread and a fresh id is kept.
 */
static int
qc_take_id(struct qcommit *q, bool *fixed)
{
	char *d = q->in.data, *rec;
	size_t flen = strlen(d) + 1, ilen;
	off_t off = (off_t)strlen(QCOMMIT_RCVD_PREFIX);

	*fixed = false;
	rec = d + flen;
	if (flen >= q->in.len || rec[0] != 'I')
		return QQ_OK;
	ilen = strlen(rec) + 1;
	if (!qc_id_trusted(q)) {
		memmove(rec, rec + ilen, q->in.len - flen - ilen);
		buf_truncate(&q->in, q->in.len - ilen);
		q->sender = q->in.data + 1;
		return QQ_OK;
	}
	if (ilen != QID_LEN + 2 || !qid_valid(rec + 1))
		return qc_fail(q, QQ_BADENV, "bad envelope: bad queue id", 0);
	if (qc_id_taken(SPOOL_MESS, rec + 1) ||
	    qc_id_taken(SPOOL_ENV, rec + 1) ||
	    qc_id_taken(SPOOL_HOLD, rec + 1) ||
	    qc_id_taken(SPOOL_BOUNCE, rec + 1))
		return qc_fail(q, QQ_CREATE, "queue id in use", EEXIST);
	memcpy(q->id, rec + 1, QID_LEN + 1);
	memmove(rec, rec + ilen, q->in.len - flen - ilen);
	buf_truncate(&q->in, q->in.len - ilen);
	q->sender = q->in.data + 1;
	if (pwrite(q->mfd, q->id, QID_LEN, off) != QID_LEN)
		return qc_io_fail(q, QQ_WRITE, "unable to write the queue id");
	*fixed = true;
	return QQ_OK;
}

/*
 * mess/<id> exists already: take a new id.  Ids have a fixed length, so
 * the Received line and the I record are patched in place (the tmp
 * names keep the first id; nothing reads them).  Nothing was synced
 * yet: qc_sync_all syncs the patched files.
 */
static int
qc_relabel(struct qcommit *q)
{
	off_t off = (off_t)strlen(QCOMMIT_RCVD_PREFIX);

	qid_new(q->id);
	memcpy(q->env.data + QC_ENV_ID_OFF, q->id, QID_LEN);
	if (pwrite(q->mfd, q->id, QID_LEN, off) != QID_LEN ||
	    pwrite(q->efd, q->id, QID_LEN, QC_ENV_ID_OFF) != QID_LEN)
		return qc_io_fail(q, QQ_WRITE,
		    "unable to rewrite the queue id");
	return QQ_OK;
}

static int
qc_link(struct qcommit *q, bool fixed)
{
	char path[64];
	int tries, code;

	for (tries = 0;; tries++) {
		(void)snprintf(path, sizeof(path), "%s/%s", SPOOL_MESS, q->id);
		if (link(q->mtmp, path) == 0)
			break;
		if (errno == EEXIST && fixed)
			return qc_fail(q, QQ_CREATE, "queue id in use", errno);
		if (errno != EEXIST || tries >= QCOMMIT_TRIES)
			return qc_fail(q, QQ_LINK,
			    "unable to link the message into mess/", errno);
		if ((code = qc_relabel(q)) != QQ_OK)
			return code;
	}
	q->linked = true;
	return QQ_OK;
}

/*
 * Before the rename into env/, the message, the envelope and the name
 * mess/<id> must be on the disk.  The link came first, so that the
 * three fsyncs can run at once (io_fsync_all): a journaling file system
 * then writes all of it with one commit and one cache flush, where one
 * fsync after the other costs a flush each.  Each is still made: no
 * file system is assumed to order anything.  A crash before this leaves
 * what one before the rename always could: tmp/ files and a mess/<id>
 * without an envelope, which nobody delivers.
 */
static int
qc_sync_all(struct qcommit *q)
{
	static const char *const what[] = { "unable to sync the message",
	    "unable to sync the envelope", "unable to sync mess/" };
	int fds[3], dfd;
	size_t which;

	dfd = open(SPOOL_MESS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return qc_io_fail(q, QQ_SYNC, what[2]);
	fds[0] = q->mfd;
	fds[1] = q->efd;
	fds[2] = dfd;
	if (io_fsync_all(fds, 3, &which) == -1) {
		(void)close(dfd);
		return qc_io_fail(q, QQ_SYNC, what[which]);
	}
	(void)close(dfd);
	return QQ_OK;
}

/*
 * The commit: env/<id> appears.  mess/<id> was new, and tern-send removes
 * env/ before mess/, so the rename cannot replace a live envelope.
 */
static int
qc_publish(struct qcommit *q)
{
	char path[64];

	(void)snprintf(path, sizeof(path), "%s/%s", SPOOL_ENV, q->id);
	if (rename(q->etmp, path) == -1)
		return qc_fail(q, QQ_LINK,
		    "unable to rename the envelope into env/", errno);
	q->etmp[0] = '\0';
	q->renamed = true;
	if (io_fsync_dir(SPOOL_ENV) == -1)
		return qc_io_fail(q, QQ_SYNC, "unable to sync env/");
	(void)unlink(q->mtmp);	/* tern-send removes it if this fails */
	q->mtmp[0] = '\0';
	return QQ_OK;
}

/* After a failure: remove everything this run created. */
static void
qc_undo(struct qcommit *q)
{
	char path[64];
	int save = errno;

	if (q->renamed) {
		(void)snprintf(path, sizeof(path), "%s/%s", SPOOL_ENV, q->id);
		(void)unlink(path);
		q->renamed = false;
	}
	if (q->linked) {
		(void)snprintf(path, sizeof(path), "%s/%s", SPOOL_MESS, q->id);
		(void)unlink(path);
		q->linked = false;
	}
	if (q->etmp[0] != '\0')
		(void)unlink(q->etmp);
	if (q->mtmp[0] != '\0')
		(void)unlink(q->mtmp);
	q->etmp[0] = q->mtmp[0] = '\0';
	errno = save;
}

int
qcommit_run(struct qcommit *q)
{
	bool fixed = false;
	int code;

	if ((code = qc_create(q)) == QQ_OK &&
	    (code = qc_copy_message(q)) == QQ_OK &&
	    (code = qcommit_read_env(q)) == QQ_OK &&
	    (code = qc_take_id(q, &fixed)) == QQ_OK &&
	    (code = qc_start_message(q)) == QQ_OK &&
	    (code = qc_build_env(q)) == QQ_OK &&
	    (code = qc_write_env(q)) == QQ_OK &&
	    (code = qc_link(q, fixed)) == QQ_OK &&
	    (code = qc_sync_all(q)) == QQ_OK &&
	    (code = qc_publish(q)) == QQ_OK)
		return QQ_OK;
	qc_undo(q);
	return code;
}

void
qcommit_trigger(const char *path)
{
	struct stat st;
	ssize_t n = 0;
	int fd;

	fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return;		/* ENXIO: tern-send is not running */
	/* EAGAIN (a full fifo) is fine: tern-send has wake-ups pending. */
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		n = write(fd, "", 1);
	(void)n;
	(void)close(fd);
}

void
qcommit_free(struct qcommit *q)
{
	if (q->mfd != -1)
		(void)close(q->mfd);
	if (q->efd != -1)
		(void)close(q->efd);
	q->mfd = q->efd = -1;
	buf_free(&q->in);
	buf_free(&q->env);
	q->sender = NULL;
}
