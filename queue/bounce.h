/* bounce: failure records and RFC 3464 delivery status notifications. */
#ifndef TERN_BOUNCE_H
#define TERN_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "spool.h"

#define BOUNCE_TEXT_MAX	400	/* diagnostic text per recipient */
#define BOUNCE_HEADERS_MAX (64 * 1024) /* original header bytes returned */
/* RET=FULL returns only the headers of a message larger than this. */
#define BOUNCE_FULL_MAX	(10 * 1024 * 1024)
#define BOUNCE_FILE_MAX	(64 * 1024 * 1024) /* a bounce/<id> file */
/* A buf max for bounce_build that holds any RET=FULL report. */
#define BOUNCE_OUT_MAX	(BOUNCE_FULL_MAX + 16 * 1024 * 1024)

/* The sender of double bounces (a bounce of a bounce, to the postmaster). */
#define BOUNCE_DOUBLE_SENDER "#@[]"

/* bounce_note adds nothing to a bounce/<id> file this large. */
#define BOUNCE_NOTES_MAX (16 * 1024 * 1024)
/* A host name in a remote text: RFC 1035 2.3.4 (253 without the dot). */
#define BOUNCE_HOST_MAX	253
/* bounce_split_remote's mta: a name, or "[IPv6:" address "]". */
#define BOUNCE_MTA_MAX	(BOUNCE_HOST_MAX + 8)
/* The diagnostic of a delayed recipient whose last failure is unknown. */
#define BOUNCE_STILL_TRYING "still trying"

/* One failed recipient, as recorded in bounce/<id>. */
struct bounce_rcpt {
	size_t		 index;		/* into spool_env.rcpt */
	char		 status[16];	/* RFC 3463 "5.1.1" */
	char		 text[BOUNCE_TEXT_MAX + 1]; /* printable ASCII */
	/*
	 * RFC 3464 2.3.6 diagnostic-type of text: "smtp" for an SMTP
	 * reply, "X-tern" for local text; "" means bounce_diag_type(text).
	 */
	char		 diag_type[8];
};

/*
 * The diagnostic type for a failure text: "smtp" when it starts like an
 * SMTP reply (/^[245][0-9][0-9][ -]/), else "X-tern".
 */
const char *bounce_diag_type(const char *text);

/*
 * Split a tern-remote text "host [ip]: rest" at the first "]: " after
 * the first " [": true when host is a plausible host name (LDH labels
 * of 1-63 characters, '_' allowed, at most BOUNCE_HOST_MAX in all) or
 * an IP address, and ip is an IPv4 or IPv6 address.  Then mta (of
 * mtasz bytes, BOUNCE_MTA_MAX + 1 is enough) gets the host for
 * "Remote-MTA: dns; mta" (an address as a literal, "[192.0.2.1]" or
 * "[IPv6:2001:db8::1]") and *rest_out points into text after the "]: ".
 * Otherwise false, mta "" and *rest_out is text.
 */
bool	bounce_split_remote(const char *text, char *mta, size_t mtasz,
	    const char **rest_out);

/*
 * Append "<index>\0<status>\0<text>\0" to spooldir/bounce/<id> (created
 * 0600 when missing, O_NOFOLLOW; the directory is fsynced when the file
 * is new) and fsync it.  status must look like x.y.z with x 2, 4 or 5
 * (EINVAL otherwise, also for an id that is not a queue id); text (NULL
 * is "") is cleaned (bytes outside printable ASCII become '?', cut at
 * BOUNCE_TEXT_MAX).  A torn last record left by a crash is cut off
 * before appending.  0, or -1 with errno.
 */
int	bounce_record(const char *spooldir, const char *id, size_t index,
	    const char *status, const char *text);

/*
 * Remember the latest temporary failure of recipient index for the
 * delay warning: append "Z<index>\0<status>\0<text>\0" to bounce/<id>
 * like bounce_record, but without fsync (a note lost in a crash only
 * makes the warning say BOUNCE_STILL_TRYING).  status must be 4.y.z.
 * Nothing is appended (and 0 returned) once the file holds
 * BOUNCE_NOTES_MAX bytes.  0, or -1 with errno.
 */
int	bounce_note(const char *spooldir, const char *id, size_t index,
	    const char *status, const char *text);

/*
 * Record in bounce/<id> whether the delay warning was sent: sent true
 * before it is injected ("W\0sent\0<now>\0", synced), false after its
 * injection failed ("W\0unsent\0<now>\0"); the last such record
 * counts.  So at most one warning goes out per message, ever.  0, or
 * -1 with errno.
 */
int	bounce_mark_warned(const char *spooldir, const char *id, bool sent,
	    time_t now);

/*
 * 1 when bounce/<id> says the delay warning was sent, 0 when not (or
 * there is no such file), -1 on error.
 */
int	bounce_warned(const char *spooldir, const char *id);

/*
 * Read spooldir/bounce/<id>: 1 with *out a malloc'd array of *n_out
 * failure records (notes and warning marks are skipped), diag_type set
 * from each text (from the part after "host [ip]: " when
 * bounce_split_remote splits it) (the last record wins for a
 * repeated index; entries whose
 * index is >= nrcpt are dropped, and so are malformed or torn records),
 * ordered by index; 0 when there is no such file (*out NULL, *n_out 0),
 * -1 on error (EFBIG beyond BOUNCE_FILE_MAX).  Free with free(3).
 */
int	bounce_read(const char *spooldir, const char *id, size_t nrcpt,
	    struct bounce_rcpt **out, size_t *n_out);

/*
 * The same for the notes of bounce_note (the last one of an index
 * wins), with *warned_out as bounce_warned would say (false when
 * there is no file).
 */
int	bounce_read_notes(const char *spooldir, const char *id, size_t nrcpt,
	    struct bounce_rcpt **out, size_t *n_out, bool *warned_out);

/*
 * Build the DSN for env's failed recipients: a multipart/report;
 * report-type=delivery-status message (RFC 3464, RFC 6522) with a human
 * part, a message/delivery-status part (Reporting-MTA: dns; me,
 * Arrival-Date, Original-Envelope-Id when env->envid, then per
 * recipient Original-Recipient when orcpt, Final-Recipient: rfc822;
 * addr, Action: failed, Status, Remote-MTA: dns; host and
 * Diagnostic-Code: <diag_type>; rest when bounce_split_remote splits the
 * text, else Diagnostic-Code: <diag_type>; text) and the
 * original message's header section (text/rfc822-headers) read from
 * msgfd; with RET=FULL the whole message as message/rfc822 instead.
 * Header lines: From: MAILER-DAEMON@me, To: rcpt_to, Subject, Date
 * (now), Message-ID, Auto-Submitted: auto-replied, MIME-Version.
 * LF line ends.  Recipients whose NOTIFY excludes FAILURE are left out,
 * and so are records for a recipient marked SPOOL_DONE or out of range
 * (the last record wins for a repeated index); returns 0 with
 * out->len == 0 when nobody is left to report.  out is reset first; the
 * message is read with pread(2) (msgfd's offset is not used), and
 * msgfd -1 means the message is lost (the report says so).  RET=FULL
 * returns headers only when the message is over BOUNCE_FULL_MAX or would
 * not fit in out->max (BOUNCE_OUT_MAX is enough).
 * 0, or -1 with errno (E2BIG when out->max is too small).
 */
int	bounce_build(const struct spool_env *env, const struct bounce_rcpt *,
	    size_t n, int msgfd, const char *me, const char *rcpt_to,
	    time_t now, struct buf *out);

/*
 * Build the delay warning (RFC 3464 Action: delayed) for every
 * recipient of env that is SPOOL_TODO or SPOOL_BUSY and whose NOTIFY is
 * absent or names DELAY (RFC 3461 4.1).  A recipient's Status and
 * diagnostic come from its last record in notes (the result of
 * bounce_read_notes; a status that is not 4.y.z is ignored), else
 * 4.0.0 and BOUNCE_STILL_TRYING.  Like bounce_build, with Subject
 * "Delayed Mail (still being retried)", Message-ID <id.delay@me>,
 * per recipient Will-Retry-Until (until) after Last-Attempt-Date, and
 * always only the header section of the message (RET is for failures,
 * RFC 3461 4.3).  0 with out->len == 0 when nobody is to be told.
 * 0, or -1 with errno.
 */
int	bounce_build_delay(const struct spool_env *env,
	    const struct bounce_rcpt *notes, size_t n, int msgfd,
	    const char *me, const char *rcpt_to, time_t now, time_t until,
	    struct buf *out);

#endif
