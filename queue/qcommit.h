/* qcommit: tern-queue's logic, the qmail-queue interface (tern-queue(8)). */
#ifndef TERN_QCOMMIT_H
#define TERN_QCOMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "uniq.h"

/* qmail-queue's exit codes, as tern-queue uses them (tern-queue(8)). */
#define QQ_OK		0
#define QQ_ADDR_LONG	11	/* an envelope field is too long */
#define QQ_REFUSED	31	/* permanently refused: over a limit */
#define QQ_NOMEM	51	/* out of memory */
#define QQ_TIMEOUT	52	/* input not complete before the deadline */
#define QQ_WRITE	53	/* write error or disk full */
#define QQ_READ		54	/* cannot read the message or envelope */
#define QQ_CONFIG	55	/* cannot read a control file, no queue user */
#define QQ_SPOOLDIR	61	/* the spool or one of its directories */
#define QQ_CREATE	62	/* cannot create a file in tmp/ */
#define QQ_SYNC		64	/* fsync failed */
#define QQ_LINK		65	/* link into mess/ or rename into env/ */
#define QQ_BUG		81	/* internal error */
#define QQ_BADENV	91	/* malformed envelope */

#define QCOMMIT_TIMEOUT	86400	/* default queuetimeout, seconds (qmail) */
#define QCOMMIT_IO	65536	/* bytes per read of the message */
#define QCOMMIT_TRIES	8	/* queue ids drawn before giving up */

/* The Received line: the queue id starts at this offset (strlen). */
#define QCOMMIT_RCVD_PREFIX "Received: (tern-queue "

struct qcommit {
	/* Set by the caller (qcommit_init gives the defaults). */
	int		 msgfd;		/* the message, read to EOF */
	int		 envfd;		/* the envelope, qmail format */
	int64_t		 deadline_ms;	/* CLOCK_MONOTONIC ms, 0 none */
	unsigned long long databytes;	/* message size limit, 0 none */
	long long	 uid;		/* the invoker's real uid */
	time_t		 now;		/* arrival time */

	/* Results. */
	char		 id[QID_LEN + 1];	/* the queue id */
	off_t		 size;		/* bytes in mess/<id> */
	size_t		 nrcpt;
	const char	*sender;	/* into env; valid until qcommit_free */
	const char	*errstr;	/* why it failed, for the log */
	int		 err;		/* errno behind errstr, 0 none */

	/* Private. */
	int		 mfd, efd;
	char		 mtmp[32], etmp[32];	/* tmp/<id>.m, tmp/<id>.e */
	char		 mid[QID_LEN + 1];	/* the id in the tmp names */
	bool		 linked, renamed;
	char		 errbuf[128];	/* errstr with the parser's reason */
	struct buf	 in;		/* the envelope as read */
	struct buf	 env;		/* the envelope file */
};

/* Defaults: no deadline, no size limit, uid -1, now = time(NULL). */
void	qcommit_init(struct qcommit *, int msgfd, int envfd);

/*
 * Commit one message to the spool, which must be the current directory
 * (tmp/, mess/, env/): read the message from msgfd into tmp/<id>.m after
 * a Received line, read and check the envelope, write tmp/<id>.e, then
 * link, fsync and rename in the order of tern-spool(5).  Returns QQ_OK
 * once the message is durable, else one of the QQ_ codes with errstr and
 * err set and every file it created removed.  Does not poke the trigger.
 */
int	qcommit_run(struct qcommit *);

/*
 * Read the qmail envelope from q->envfd into q->in (up to the empty
 * record; bytes after it are ignored), checking record tags, lengths
 * and counts as they arrive, and normalising NOTIFY and RET to upper
 * case.  QQ_OK or a QQ_ code with errstr.  The full grammar is checked
 * later by spool_env_parse.
 */
int	qcommit_read_env(struct qcommit *);

/*
 * Write "Received: (tern-queue <id> invoked by uid <uid>); <date>\n"
 * (RFC 5322 date in UTC) into out.  Its length, or -1 when outsz is too
 * small.
 */
int	qcommit_received(char *out, size_t outsz, const char *id,
	    long long uid, time_t now);

/*
 * Wake tern-send: one byte into the fifo at path, opened non-blocking.
 * Every failure (no reader: ENXIO, full: EAGAIN, no fifo) is ignored.
 */
void	qcommit_trigger(const char *path);

/* Close and free everything (after qcommit_run). */
void	qcommit_free(struct qcommit *);

#endif
