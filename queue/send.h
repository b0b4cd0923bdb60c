/* send: tern-send, the queue manager (tern-send(8)). */
#ifndef TERN_SEND_H
#define TERN_SEND_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "send_cfg.h"
#include "send_sched.h"
#include "spool.h"
#include "uniq.h"

#define SEND_STOP_WAIT	60	/* seconds to wait for results at SIGTERM */
#define SEND_OLD_AGE	(36 * 3600)	/* leftovers older than this go */
#define SEND_BACKOFF_MAX 60	/* seconds between tern-lspawn restarts */
#define SEND_INJECT_WAIT 120	/* seconds tern-queue may take */

/* A message tern-send knows of (it has an env/<id>). */
struct send_msg {
	char			 id[QID_LEN + 1];
	time_t			 arrival;	/* 0: envelope not read yet */
	size_t			 heap_pos;	/* SEND_HEAP_NONE: unscheduled */
	unsigned		 inflight;	/* requests to tern-lspawn */
	unsigned		 gen;		/* last rescan that saw it */
	size_t			 resume;	/* first recipient not yet
						   handled in this round */
	bool			 announced;	/* "new" was logged */
	bool			 waiting;	/* on the wait list */
	TAILQ_ENTRY(send_msg)	 wait;
	struct send_msg		*hnext;		/* hash chain */
};
TAILQ_HEAD(send_waitq, send_msg);

/* One request in flight at tern-lspawn. */
struct send_slot {
	struct send_msg	*m;		/* NULL: free */
	size_t		 rcpt;		/* index in the envelope */
	off_t		 state_off;	/* of its state byte */
	char		 addr[SPOOL_REC_MAX];
};

struct send_state {
	struct send_cfg		 cfg;
	const char		*control;
	const char		*spool;
	const char		*queue_prog;	/* tern-queue for bounces */

	struct send_msg		**htab;		/* id -> message */
	size_t			 hsize;		/* buckets, a power of two */
	size_t			 nmsg;
	struct send_heap	 heap;		/* due times */
	struct send_waitq	 waitq;		/* want a free slot */
	unsigned		 gen;

	struct send_slot	*slot;
	size_t			 nslot;		/* allocated */
	size_t			 busy;		/* in flight */

	int			 keeper;	/* keeper socket, or -1 */
	pid_t			 keeper_pid;
	bool			 up;		/* tern-lspawn running */
	int			 req_fd;	/* requests to tern-lspawn */
	int			 res_fd;	/* its results */
	struct buf		 out;		/* requests not yet written */
	struct buf		 in;		/* results not yet parsed */
	int64_t			 restart_at;	/* monotonic ms */
	int64_t			 started_at;
	long long		 backoff;	/* seconds */

	int			 trigger;
	int			 sigpipe[2];
	time_t			 next_rescan;
	bool			 want_rescan;
	bool			 want_flush;
	bool			 want_reload;
	bool			 stopping;
	int64_t			 stop_deadline;	/* monotonic ms */
	int			 exit_code;
};

/* --- send_msg.c: the table of known messages ------------------------ */

/* Set up the empty tables.  0, or -1 ENOMEM. */
int	send_state_init(struct send_state *);
/* The message with this id, or NULL. */
struct send_msg *send_msg_find(struct send_state *, const char *id);
/* Add a message (unknown until now), due at due.  NULL on ENOMEM. */
struct send_msg *send_msg_add(struct send_state *, const char *id,
	    time_t due);
/* (Re)schedule m at due (it must not be in flight or waiting). */
void	send_msg_schedule(struct send_state *, struct send_msg *, time_t due);
/* Forget m (nothing may be in flight). */
void	send_msg_drop(struct send_state *, struct send_msg *);
/* Put m on (or back at the head of) the wait list. */
void	send_msg_wait(struct send_state *, struct send_msg *, bool head);

/* --- send_spool.c: the spool directory ------------------------------ */

/*
 * Create the spool subdirectories (0700) and the trigger fifo (0622)
 * that are missing.  0, or -1 with errno (logged).
 */
int	send_spool_setup(const char *spool);
/*
 * Remove tmp/ files older than SEND_OLD_AGE, and mess/ and bounce/
 * files that have neither env/ nor hold/ and are that old.
 */
void	send_spool_clean(const char *spool, time_t now);
/*
 * Read env/: every valid id not yet known is added, due now; names that
 * are not queue ids (except those starting with '.') are quarantined;
 * idle known messages whose file is gone are forgotten.
 */
void	send_rescan(struct send_state *, time_t now);
/* Move env/<name>, mess/<name>, bounce/<name> to quarantine/. */
void	send_quarantine(struct send_state *, const char *name,
	    const char *why);
/* Build "<spool>/<dir>/<name>" into out: 0, or -1 ENAMETOOLONG. */
int	send_path(char *out, size_t outsz, const char *spool,
	    const char *dir, const char *name);

/* --- send_deliver.c: attempts and results --------------------------- */

/*
 * Attempt m now: dispatch its local recipients, defer remote ones.  A T
 * recipient is marked P (no fsync) before its request is sent; one
 * found P was maybe delivered before a crash and is sent with the check
 * flag.
 */
void	send_attempt(struct send_state *, struct send_msg *, time_t now);
/* Attempt due and waiting messages while slots are free. */
void	send_pump(struct send_state *, time_t now);
/*
 * Apply one result of tern-lspawn (slot must be busy; code K, Z or D):
 * K marks the recipient D, D records the failure and marks B (both
 * synced); Z leaves it P, so that the next attempt checks (a temporary
 * failure may follow a partial or unknown delivery).  Then settle the
 * message if nothing of it is left in flight.
 */
void	send_result(struct send_state *, unsigned slot, char code,
	    const char *status, const char *text, time_t now);
/* True when a request can be sent now. */
bool	send_can_dispatch(const struct send_state *);

/* --- send_bounce.c: finishing messages ------------------------------ */

/*
 * m is finished (every recipient D or B): send its DSN when bounce/<id>
 * has records, then unlink bounce/, mess/, env/ (env last) and forget m.  When the
 * DSN cannot be injected now, m is scheduled for a later try.
 */
void	send_finish(struct send_state *, struct send_msg *,
	    const struct spool_env *, time_t now);
/*
 * Run prog the qmail-queue way: msg on its fd 0, the envelope env on its
 * fd 1.  Its stderr is copied to ours; the first token of it that is a
 * queue id is put into newid (else newid is "").  0 when it exits 0,
 * else -1 (logged).
 */
int	send_inject(const char *prog, const char *msg, size_t msglen,
	    const char *env, size_t envlen, char newid[QID_LEN + 1]);

/* --- send_loop.c: the event loop ------------------------------------ */

/* (Re)read the control files into st->cfg; problems are logged. */
void	send_load_config(struct send_state *);
/* Start the keeper (before any privilege drop).  0 or -1 (logged). */
int	send_loop_keeper(struct send_state *, const char *lspawn_path);
/*
 * Open the trigger fifo, install the signal handlers, start
 * tern-lspawn, run until SIGTERM/SIGINT.  Returns the exit code.
 */
int	send_loop_run(struct send_state *);

#endif
