/* bounce: failure records and RFC 3464 delivery status notifications. */
#ifndef TERN_BOUNCE_H
#define TERN_BOUNCE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "spool.h"

#define BOUNCE_TEXT_MAX	400	/* diagnostic text kept per recipient */
#define BOUNCE_HEADERS_MAX (64 * 1024) /* original header bytes returned */

/* The sender of double bounces (a bounce of a bounce, to the postmaster). */
#define BOUNCE_DOUBLE_SENDER "#@[]"

/* One failed recipient, as recorded in bounce/<id>. */
struct bounce_rcpt {
	size_t		 index;		/* into spool_env.rcpt */
	char		 status[16];	/* RFC 3463 "5.1.1" */
	char		 text[BOUNCE_TEXT_MAX + 1]; /* printable ASCII */
};

/*
 * Append "<index>\0<status>\0<text>\0" to spooldir/bounce/<id> (created
 * 0600 when missing) and fsync it.  status must look like x.y.z; text is
 * cleaned (control characters become '?', cut at BOUNCE_TEXT_MAX).
 * 0, or -1 with errno.
 */
int	bounce_record(const char *spooldir, const char *id, size_t index,
	    const char *status, const char *text);

/*
 * Read spooldir/bounce/<id>: 1 with *out a malloc'd array of *n_out
 * records (the last record wins for a repeated index; entries whose
 * index is >= nrcpt are dropped), 0 when there is no such file, -1 on
 * error.  Free with free(3).
 */
int	bounce_read(const char *spooldir, const char *id, size_t nrcpt,
	    struct bounce_rcpt **out, size_t *n_out);

/*
 * Build the DSN for env's failed recipients: a multipart/report;
 * report-type=delivery-status message (RFC 3464, RFC 6522) with a human
 * part, a message/delivery-status part (Reporting-MTA: dns; me,
 * Arrival-Date, Original-Envelope-Id when env->envid, then per
 * recipient Original-Recipient when orcpt, Final-Recipient: rfc822;
 * addr, Action: failed, Status, Diagnostic-Code: smtp; text) and the
 * original message's header section (text/rfc822-headers) read from
 * msgfd; with RET=FULL the whole message as message/rfc822 instead.
 * Header lines: From: MAILER-DAEMON@me, To: rcpt_to, Subject, Date
 * (now), Message-ID, Auto-Submitted: auto-replied, MIME-Version.
 * LF line ends.  Recipients whose NOTIFY excludes FAILURE are left out;
 * returns 0 with out->len == 0 when nobody is left to report.
 * 0, or -1 with errno.
 */
int	bounce_build(const struct spool_env *env, const struct bounce_rcpt *,
	    size_t n, int msgfd, const char *me, const char *rcpt_to,
	    time_t now, struct buf *out);

#endif
