/* spawn: tern-lspawn's request loop, resolution and children. */
#ifndef TERN_SPAWN_H
#define TERN_SPAWN_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"
#include "rcpt.h"
#include "uniq.h"

#define SPAWN_SLOT_MAX		100000	/* slots are in [0, SPAWN_SLOT_MAX) */
/* one request: 4 fields of SPOOL_REC_MAX and the flag */
#define SPAWN_REQ_MAX		8192
#define SPAWN_STATUS_MAX	1024	/* status bytes read from tern-local */
#define SPAWN_TEXT_MAX		400	/* result text (internals.md) */

/* A tern-local being run for one slot. */
struct spawn_child {
	pid_t	 pid;
	long	 slot;
	int	 statfd;	/* read end of the status pipe; -1 at EOF */
	bool	 exited;
	int	 wstatus;
	size_t	 statlen;
	char	 status[SPAWN_STATUS_MAX + 1];
	char	 qid[QID_LEN + 1];
};

/* Identity of a table file, to notice when it changes. */
struct spawn_stamp {
	bool		exists;
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec	mtime;
};

struct spawn {
	struct rcpt_cfg	 cfg;
	struct spawn_stamp	 aliases_st, users_st;
	struct spawn_child	*kids;
	size_t			 nkids, capkids;
	struct buf		 in;		/* request bytes not yet used */
	bool			 eof;		/* fd 0 closed by tern-send */
	/* self-pipe for SIGCHLD/SIGHUP */
	int			 sigfd[2];
};

/*
 * Set up *sp and read the configuration (control files, aliases,
 * passwd).  Control files that cannot be read are logged and their
 * defaults used; an unusable table makes deliveries that need it fail
 * temporarily.  0, or -1 (logged) when the process cannot run at all.
 */
int	spawn_init(struct spawn *sp);

/*
 * Re-read every control file and table (SIGHUP); the tables are also
 * re-read by spawn_tables_check when their file changed.
 */
void	spawn_config_load(struct spawn *sp);
void	spawn_tables_check(struct spawn *sp);

/*
 * Run until fd 0 reaches EOF and every child has answered: returns the
 * exit status (0, or 111 after a protocol or system error, logged).
 */
int	spawn_run(struct spawn *sp);

/*
 * Turn a finished child's exit status and status line into a result
 * record set: letter K/Z/D, status "x.y.z" and printable text of at most
 * SPAWN_TEXT_MAX bytes.  Exposed for the unit tests.
 */
void	spawn_result(int wstatus, const char *line, size_t len, char *letter,
	    char status[8], char text[SPAWN_TEXT_MAX + 1]);

/*
 * Parse one request from data[0..len):
 * "<slot>\0<qid>\0<sender>\0<recipient>\0[<flag>\0]\0", flag "c"
 * (check for an earlier delivery first) or "-"; without the flag field
 * (the older form) it is "-".  1 with the fields set (pointing into
 * data), *check set and *used the bytes consumed, 0 when incomplete, -1
 * when malformed (errstr): over SPAWN_REQ_MAX, a flag other than c or
 * -, no final empty field.
 */
int	spawn_parse_req(const char *data, size_t len, size_t *used,
	    const char *f[4], bool *check, const char **errstr);
/* spawn_parse_req without the flag (it is parsed and dropped). */
int	spawn_parse_request(const char *data, size_t len, size_t *used,
	    const char *f[4], const char **errstr);

#endif
