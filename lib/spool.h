/* spool: the queue's envelope files (format: tern-spool(5)). */
#ifndef TERN_SPOOL_H
#define TERN_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "uniq.h"

#define SPOOL_REC_MAX	1024		/* one envelope record */
#define SPOOL_RCPT_MAX	100000		/* recipients per message */
#define SPOOL_ENV_MAX	(64 * 1024 * 1024) /* one envelope file */

/* Recipient states: the first byte of its T record, changed in place. */
#define SPOOL_TODO	'T'	/* not yet delivered */
#define SPOOL_DONE	'D'	/* delivered */
#define SPOOL_FAILED	'B'	/* failed for good; its bounce record exists */
/*
 * A delivery was started and its outcome is not known yet (or it failed
 * temporarily): written without fsync before tern-send dispatches it.
 * Found when an envelope is read, it means a delivery may already have
 * happened, so the next one checks first (tern-spool(5)).
 */
#define SPOOL_BUSY	'P'

/* Spool subdirectories (relative to paths_spool()). */
#define SPOOL_TMP	"tmp"
#define SPOOL_MESS	"mess"
#define SPOOL_ENV	"env"
#define SPOOL_HOLD	"hold"
#define SPOOL_BOUNCE	"bounce"
#define SPOOL_QUAR	"quarantine"
#define SPOOL_TRIGGER	"trigger"

struct spool_rcpt {
	const char	*addr;		/* canonical; points into raw */
	const char	*notify;	/* DSN NOTIFY or NULL */
	const char	*orcpt;		/* DSN ORCPT (addr-type;xtext) or NULL */
	off_t		 state_off;	/* offset of the state byte in the file */
	char		 state;		/* SPOOL_TODO, _BUSY, _DONE, _FAILED */
};

struct spool_env {
	char		 id[QID_LEN + 1];
	time_t		 arrival;	/* seconds since the epoch */
	long long	 uid;		/* uid of the injector, -1 unknown */
	const char	*sender;	/* canonical, "" for the null sender */
	const char	*envid;		/* DSN ENVID or NULL */
	const char	*ret;		/* DSN RET: "FULL", "HDRS" or NULL */
	struct spool_rcpt *rcpt;
	size_t		 nrcpt;
	struct buf	 raw;		/* the file's bytes; strings point here */
};

/*
 * Parse an envelope file's bytes (copied into env->raw), strictly, by
 * the grammar of tern-spool(5): V1, I<qid>, t<decimal>, optional
 * u<decimal>, F, optional E and R, then one or more groups
 * [N][O]T|P|D|B,
 * then the empty record and nothing after it.  Records are at most
 * SPOOL_REC_MAX bytes, addresses at most ADDR_PATH_MAX, recipients at
 * most SPOOL_RCPT_MAX and not empty; R is FULL or HDRS, N is NEVER or a
 * list of SUCCESS, FAILURE, DELAY (upper case), O is type;value.
 * rcpt[i].state_off is the offset in data of recipient i's state byte.
 * Returns 0, or -1 with errno EINVAL and *errstr saying what is wrong
 * (unknown record, missing final empty record, bad state byte, ...) or
 * ENOMEM; on failure *out is left empty (spool_env_free is harmless).
 */
int	spool_env_parse(const char *data, size_t len, struct spool_env *out,
	    const char **errstr);
/*
 * Read and parse env/<id> (or hold/<id> when dir is SPOOL_HOLD; NULL
 * means SPOOL_ENV) under spooldir, opened with O_NOFOLLOW: 1 read, 0 no
 * such file, -1 error (errno; EINVAL with *errstr for an invalid id, a
 * file that is not regular or does not parse, or whose I record differs
 * from id; ELOOP for a symlink).
 */
int	spool_env_read(const char *spooldir, const char *dir, const char *id,
	    struct spool_env *out, const char **errstr);
void	spool_env_free(struct spool_env *);

/*
 * Set the state byte at state_off (a spool_rcpt's) in env/<id> to state
 * (SPOOL_TODO, SPOOL_BUSY, SPOOL_DONE or SPOOL_FAILED) with one pwrite,
 * and fsync the file (opened O_RDWR|O_NOFOLLOW).  1 done, 0 the file is
 * gone (deleted or held meanwhile), -1 error: EINVAL for a bad id or
 * state, or when the byte at state_off is not a state byte (a wrong
 * offset never overwrites an address).
 */
int	spool_mark(const char *spooldir, const char *id, off_t state_off,
	    char state);
/*
 * The same without the fsync: the byte survives the death of any
 * process (it is in the page cache) but maybe not a power loss.  For
 * SPOOL_BUSY, whose loss only brings back the older behaviour.
 */
int	spool_mark_nosync(const char *spooldir, const char *id,
	    off_t state_off, char state);

/* True when c is one of the four state bytes. */
bool	spool_state_valid(char c);

/*
 * Serialise an envelope as tern-queue writes it (header records, then the
 * recipient groups, then the final empty record) into out.  Strings must
 * be clean (rec_clean); 0 or -1 (EINVAL, E2BIG, ENOMEM).
 */
int	spool_env_format(const struct spool_env *, struct buf *out);

/*
 * True when every recipient is SPOOL_DONE or SPOOL_FAILED (SPOOL_TODO
 * and SPOOL_BUSY are not finished).
 */
bool	spool_env_finished(const struct spool_env *);

#endif
