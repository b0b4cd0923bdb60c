/* qctl: the logic of tern-qctl (list, show, delete, hold, release, flush). */
#ifndef TERN_QCTL_H
#define TERN_QCTL_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* Exit codes, qmail's: success, permanent (usage, no such id), temporary. */
#define QCTL_OK		0
#define QCTL_PERM	100
#define QCTL_TEMP	111

struct qctl {
	char	 spool[PATH_MAX];	/* copied before the drop */
	time_t	 now;
	FILE	*out;			/* listings and show output */
};

/*
 * Every command returns QCTL_OK, QCTL_PERM or QCTL_TEMP and logs what
 * went wrong (lib/log.h) itself.  Commands that take an id refuse one
 * that is not a well-formed queue id (QCTL_PERM).
 */

/*
 * Print every message in env/ and hold/, oldest first: id, age, size of
 * mess/<id>, sender, "(held)", then each recipient with its state
 * (pending, delivered, failed with the status of its bounce record).
 * Envelope text is escaped.  A file that does not parse is shown as such
 * (QCTL_TEMP at the end); one that vanishes meanwhile is skipped.
 */
int	qctl_list(struct qctl *);

/* Print the envelope of id (env/ or hold/), a blank line, the message. */
int	qctl_show(struct qctl *, const char *id);

/*
 * Remove id for good: env/<id> (or hold/<id>), then mess/<id> and
 * bounce/<id>; the directory is fsynced.  No bounce is sent.
 */
int	qctl_delete(struct qctl *, const char *id);

/* rename(2) env/<id> to hold/<id> (never replacing); held already: ok. */
int	qctl_hold(struct qctl *, const char *id);

/*
 * rename(2) hold/<id> back to env/<id> with its mtime (tern-send's next
 * try) set to now; not held: ok.  The caller pokes the trigger.
 */
int	qctl_release(struct qctl *, const char *id);

/*
 * Write one byte to the trigger fifo without blocking: 'F' (flush: retry
 * everything now) or any other byte (look at new messages).  QCTL_OK, or
 * QCTL_TEMP with *why set ("tern-send is not running" when nobody has
 * the fifo open for reading).
 */
int	qctl_trigger(const struct qctl *, char byte, const char **why);

/* Write an age as "45s", "12m05s", "3h07m", "2d04h" into out. */
void	qctl_age(char *out, size_t outsz, long long secs);

/* The worse of two exit codes: QCTL_TEMP over QCTL_PERM over QCTL_OK. */
int	qctl_worst(int, int);

#endif
