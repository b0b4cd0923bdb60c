/* inject: sendmail's command line, header fix-up, hand-off to tern-queue. */
#ifndef TERN_INJECT_H
#define TERN_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "hdr.h"

#define INJECT_RCPT_MAX		100000	/* as SPOOL_RCPT_MAX */
#define INJECT_NAME_MAX		200	/* a full name (-F, gecos), bytes */
#define INJECT_CHUNK		65536	/* one read(2) of the message */
#define INJECT_ERRTEXT_MAX	512	/* text read from a filter's fd 6 */

/* What the command line asks for (sendmail's -b modes and -q). */
enum inject_mode {
	INJECT_SEND,		/* -bm, the default: read and queue a message */
	INJECT_SMTP,		/* -bs: not supported yet */
	INJECT_LIST,		/* -bp: list the queue (mailq) */
	INJECT_ALIASES,		/* -bi: newaliases */
	INJECT_QRUN		/* -q: run the queue */
};

struct inject_opts {
	enum inject_mode mode;
	bool		 tflag;		/* -t: recipients from the header */
	bool		 iflag;		/* -i, -oi: a lone "." is data */
	bool		 verbose;	/* -v */
	const char	*sender;	/* -f, -r; NULL when not given */
	const char	*fullname;	/* -F; NULL when not given */
	char		 notify[32];	/* -N as a NOTIFY value, or "" */
	char		 ret[8];	/* -R: "FULL", "HDRS" or "" */
	char		**rcpts;	/* the operands: recipient lists */
	int		 nrcpts;
};

/*
 * Parse sendmail's arguments (argv[0] is the program name) into *out.
 * Options end at "--" or the first operand.  Options of sendmail that do
 * not matter to tern (-oX other than -oi, -B, -U, -G, -h, -L, -O, -p, -A,
 * -C, -X, -V, -n, -d) are accepted and ignored.  Returns 0, or -1 with
 * *errstr naming the problem (unknown option, missing argument, bad -N or
 * -R value, unsupported -b mode) for a usage message.
 */
int	inject_args(int argc, char **argv, struct inject_opts *out,
	    const char **errstr);

/* A growing list of canonical recipient addresses. */
struct inject_rcpts {
	char	**a;
	size_t	  n;
	size_t	  cap;
	char	  err[HDR_ADDR_MAX + 128]; /* the last error, for *errstr */
};

/*
 * Parse an RFC 5322 address list (a To/Cc/Bcc value or a command-line
 * operand) and append each mailbox in canonical form (addr_parse_mailbox,
 * UTF-8 allowed; a mailbox without '@' gets defdomain).  0, or -1 with
 * *errstr pointing into r->err ("bad address ...: reason"); the list is
 * then partly filled.  More than INJECT_RCPT_MAX recipients is an error.
 */
int	inject_rcpt_list(struct inject_rcpts *r, const char *list, size_t len,
	    const char *defdomain, const char **errstr);
/*
 * A command-line operand: as inject_rcpt_list, but CR or LF anywhere in
 * arg is refused (folding belongs to header fields; in an argument it
 * only hides a second line).
 */
int	inject_rcpt_arg(struct inject_rcpts *r, const char *arg,
	    const char *defdomain, const char **errstr);
/* Remove later duplicates (exact match), keeping the first order. */
int	inject_rcpts_dedup(struct inject_rcpts *);
void	inject_rcpts_free(struct inject_rcpts *);

/*
 * Canonical envelope sender from a -f value into out (ADDR_BUF bytes):
 * "", "<>" are the null sender (out = ""); "<a@b>" loses its brackets;
 * an address without '@' gets defdomain.  0, or -1 with *errstr.
 */
int	inject_sender(const char *arg, const char *defdomain, char *out,
	    size_t outsz, const char **errstr);

/*
 * With -t: add the recipients of the To, Cc and Bcc fields of h, or of
 * Resent-To, Resent-Cc and Resent-Bcc when the header has any of them
 * (a resent message, RFC 5322 3.6.6).  0, or -1 with *errstr.
 */
int	inject_rcpts_header(struct inject_rcpts *r, const char *data,
	    const struct hdr *h, const char *defdomain, const char **errstr);

/* Mark Bcc and Resent-Bcc fields of h as dropped. */
void	inject_drop_bcc(const char *data, struct hdr *h);

/*
 * A full name from a passwd gecos field: its first comma-separated part,
 * '&' replaced by the login with its first letter in upper case.  Writes
 * at most outsz - 1 bytes; returns out.
 */
char	*inject_gecos_name(const char *gecos, const char *login, char *out,
	    size_t outsz);

/* What the header fix-up adds when a field is missing. */
struct inject_fix {
	time_t		 now;		/* for Date, in the local time zone */
	const char	*msgid;		/* for Message-ID, with its <> */
	const char	*from_addr;	/* canonical address for From */
	const char	*fullname;	/* display name for From, or NULL/"" */
};

/*
 * Write the header section to send: the fields of data/h not dropped, in
 * order, each ending in LF; then Date, Message-ID and From when h has no
 * field of that name; then the empty line.  When h->none, only the added
 * fields and the empty line.  The full name is written as an atom
 * phrase, a quoted string, or RFC 2047 Q encoded-words (UTF-8) when it
 * has 8-bit bytes; control characters become spaces.  0, or -1 (buf
 * errors).
 */
int	inject_fixup(const char *data, const struct hdr *h,
	    const struct inject_fix *fx, struct buf *out);

/* Date in RFC 5322 3.3 form for t in the local zone; returns out. */
char	*inject_date(time_t t, char *out, size_t outsz);

/*
 * The envelope in qmail-queue's form: F<sender>, R<ret> when ret is not
 * empty, then per recipient N<notify> (when not empty) and T<rcpt>, then
 * the empty record.  0, or -1 (EINVAL for CR/LF in a string, buf errors).
 */
int	inject_envelope(struct buf *out, const char *sender,
	    const struct inject_rcpts *r, const char *notify, const char *ret);

/*
 * Input conversion: CRLF becomes LF (a CR not before LF is kept), and
 * unless iflag a line of a single "." (with LF or CRLF) ends the input.
 */
struct inject_conv {
	bool	iflag;
	bool	bol;		/* at the start of a line */
	bool	dot;		/* holding a '.' that began a line */
	bool	cr;		/* holding a CR */
	bool	done;		/* the "." line was seen */
	bool	nul;		/* a NUL byte went through */
};

void	inject_conv_init(struct inject_conv *, bool iflag);
/*
 * Convert in[0..len) appending to out.  Returns the number of input
 * bytes used (less than len once the "." line ends the input), or -1
 * (buf errors).
 */
ssize_t	inject_conv_feed(struct inject_conv *, const char *in, size_t len,
	    struct buf *out);
/*
 * At the end of input: write out a held '.', then LF when the output
 * does not end in one (a held CR becomes that LF); nothing for empty
 * input.  0 or -1.
 */
int	inject_conv_end(struct inject_conv *, struct buf *out);

/* The queue program, running. */
struct inject_child {
	pid_t	pid;
	int	msgfd;		/* its fd 0, the message */
	int	envfd;		/* its fd 1, the envelope */
	int	txtfd;		/* its fd 6: a filter's error text */
};

/*
 * Start path with the message pipe on its fd 0, the envelope pipe on its
 * fd 1, a pipe on fd 6 and our stderr.  Our ends are close-on-exec.
 * When the real or effective uid is 0, the child becomes the queue user
 * (paths_queue_user(), priv_drop) before exec: a missing or uid-0 queue
 * user is -1 with EPERM (logged).  0, or -1 with errno.
 */
int	inject_child_start(const char *path, struct inject_child *c);
/*
 * Close the pipes still open, wait for the child and read what it wrote
 * on fd 6 (at most textsz - 1 bytes, first line, never blocking).
 * Returns its wait status, or -1 with errno.
 */
int	inject_child_wait(struct inject_child *c, char *text, size_t textsz);

/*
 * Map a wait status of the queue program and its fd-6 text to our exit
 * code: 0; 100 for 11, 31, 91, and for 82 with text starting with 'D';
 * 111 for everything else.  Writes the reason (qmail-queue's meaning of
 * the code, or the text) to msg.
 */
int	inject_exit_map(int status, const char *text, char *msg,
	    size_t msgsz);

/* Everything the message path needs, filled in by the caller. */
struct inject_job {
	const struct inject_opts *opts;
	const char	*queue_prog;	/* TERN_QUEUE or LIBEXEC/tern-queue */
	const char	*me;
	const char	*defdomain;
	const char	*login;		/* of the real uid, NULL when unknown */
	const char	*gecos;		/* NULL when unknown */
	long long	 databytes;	/* 0: no limit */
	int		 infd;		/* the message */
};

/*
 * Read the message from job->infd, fix its header, work out sender and
 * recipients and hand it to the queue program.  Reports errors with
 * log_fatalx ("fatal: ...").  Returns the exit code: 0, 100, 111.
 */
int	inject_message(const struct inject_job *job);

#endif
