/* send: tern-send, the queue manager (tern-send(8)). */
#ifndef TERN_SEND_H
#define TERN_SEND_H

#include <sys/queue.h>
#include <sys/types.h>

#include <poll.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "send_cfg.h"
#include "send_sched.h"
#include "spool.h"
#include "uniq.h"

#define SEND_STOP_WAIT	60	/* seconds to wait for results at SIGTERM */
#define SEND_OLD_AGE	(36 * 3600)	/* leftovers older than this go */
#define SEND_BACKOFF_MAX 60	/* seconds between tern-lspawn restarts */
#define SEND_INJECT_WAIT 120	/* seconds tern-queue may take */
#define SEND_RUN_RCPTS	1000	/* recipients per tern-remote run */
#define SEND_RUN_ARGV_MAX (64 * 1024)	/* a run's argv (iface-remote.md) */
#define SEND_RUN_MSGS	32	/* messages in one run (REMOTE_BATCH_MAX) */
#define SEND_DOWN_MAX	10000	/* dead-host cache entries */
#define SEND_DOWN_FIRST	60	/* seconds a dead domain is skipped */
#define SEND_DOWN_LAST	3600	/* the backoff doubles up to this */
#define SEND_DOWN_TEXT	160	/* the failure kept per dead domain */

struct send_run;
LIST_HEAD(send_runlist, send_run);

/* A message tern-send knows of (it has an env/<id>). */
struct send_msg {
	char			 id[QID_LEN + 1];
	time_t			 arrival;	/* 0: envelope not read yet */
	size_t			 heap_pos;	/* SEND_HEAP_NONE: unscheduled */
	unsigned		 inflight;	/* requests to tern-lspawn */
	unsigned		 rinflight;	/* tern-remote runs */
	unsigned		 rwait;		/* groups waiting for a run */
	time_t			 rdue;		/* remote part due (0: now) */
	struct send_runlist	 runs;		/* its runs in flight */
	unsigned		 gen;		/* last rescan that saw it */
	size_t			 resume;	/* first recipient not yet
						   handled in this round */
	bool			 announced;	/* "new" was logged */
	bool			 waiting;	/* on the wait list */
	TAILQ_ENTRY(send_msg)	 wait;
	struct send_msg		*hnext;		/* hash chain */
};
TAILQ_HEAD(send_waitq, send_msg);

/*
 * One message's part of a tern-remote run (one domain).  A run is its
 * first part, which is on st->runs and owns the result pipe, and the
 * parts chained by next, in argv order (tern-remote(8)).
 */
struct send_run {
	struct send_msg		*m;
	char			 domain[ADDR_DOMAIN_MAX + 1];	/* lower case */
	size_t			 n;		/* recipients */
	size_t			*idx;		/* their envelope indexes */
	off_t			*off;		/* their state bytes */
	char			**addr;		/* into abuf */
	char			*abuf;
	int			 fd;		/* result pipe, read end; -1
						   in parts after the first */
	struct buf		 in;		/* results read so far */
	struct send_run		*next;		/* the next part of the run */
	LIST_ENTRY(send_run)	 mlink;		/* m->runs */
	TAILQ_ENTRY(send_run)	 link;		/* st->runs: first parts */
};
TAILQ_HEAD(send_runq, send_run);

/* A (message, domain) group waiting for a free run. */
struct send_rwait {
	struct send_msg		*m;
	char			 domain[ADDR_DOMAIN_MAX + 1];
	TAILQ_ENTRY(send_rwait)	 link;
};
TAILQ_HEAD(send_rwaitq, send_rwait);

/* A destination domain that is down (dead-host cache). */
struct send_down {
	char			 domain[ADDR_DOMAIN_MAX + 1];
	time_t			 until;		/* skipped before this */
	long long		 backoff;	/* seconds of the last period */
	unsigned long long	 stamp;		/* last update, for eviction */
	char			 why[SEND_DOWN_TEXT + 1]; /* last failure */
};

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

	int			 rspawn;	/* remote spawner socket */
	pid_t			 rspawn_pid;
	struct send_runq	 runs;		/* tern-remote runs */
	size_t			 nruns;		/* runs (processes) */
	struct send_rwaitq	 rwaitq;	/* groups waiting for a run */
	struct send_down	*down;		/* dead-host cache */
	size_t			 ndown;
	unsigned long long	 down_stamp;
	struct pollfd		*pfd;		/* for poll(2), grown */
	size_t			 pfd_cap;

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
/* True when something of m is in flight or waiting for a slot or run. */
bool	send_msg_busy(const struct send_msg *);
/* Make the remote part of every message due now (a flush). */
void	send_msg_flush_remote(struct send_state *);

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
 * Attempt m now (a new round): its remote recipients when their retry
 * time has come (send_remote_attempt), then its local ones.  A local T
 * recipient is marked P (no fsync) before its request is sent; one
 * found P was maybe delivered before a crash and is sent with the check
 * flag.
 */
void	send_attempt(struct send_state *, struct send_msg *, time_t now);
/*
 * Go on with waiting messages while local slots are free, and attempt
 * due messages (also when no local slot is free, so that remote runs
 * start: their local part then waits).
 */
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
/*
 * Log "<id> delivery to=<addr> what" and, when status is not NULL,
 * " status=<status> text=\"<text>\"" (addr and text escaped).
 */
void	send_log_delivery(const char *id, const char *addr, const char *what,
	    const char *status, const char *text);
/*
 * Recipient i (state byte at off) failed for good: its bounce record,
 * then the B mark, then the log line.  1 marked, 0 the message is gone
 * (held or deleted), -1 error (logged; it stays T and is retried).
 */
int	send_perm_fail(struct send_state *, struct send_msg *, size_t i,
	    off_t off, const char *addr, const char *status,
	    const char *text);
/*
 * Nothing of m is in flight or waiting any more: read its envelope and
 * finish it, or schedule its next try (dropping it when it vanished).
 */
void	send_settle(struct send_state *, struct send_msg *, time_t now);

/* --- send_remote.c: remote recipients and tern-remote runs ----------- */

/*
 * The remote part of an attempt of m: its T and P recipients that are
 * not local and not in flight, grouped by domain (ASCII case folded).
 * A domain in the dead-host cache is deferred (4.4.1); an expired
 * message fails with 4.4.7 instead (its state in env becomes B, so
 * that the caller sees when m is finished); otherwise runs start in
 * batches of at most SEND_RUN_RCPTS while concurrencyremote and
 * concurrencydomain allow, and the rest waits for a free run.  A run
 * that starts takes along up to SEND_RUN_MSGS - 1 other messages
 * waiting for the same domain (all their waiting recipients there,
 * when they fit in the argv): one tern-remote, one connection.
 */
void	send_remote_attempt(struct send_state *, struct send_msg *,
	    struct spool_env *, time_t now);
/* Start waiting groups whose domain has a free run (FIFO per domain). */
void	send_remote_pump(struct send_state *, time_t now);
/* True when recipient i of m is in a run in flight. */
bool	send_remote_in_flight(const struct send_msg *, size_t i);
/*
 * Read what a run wrote (fd readable); at EOF apply its results, part
 * by part: K marks D, D records the failure and marks B, Z stays T
 * (4.4.7 when expired); missing results are Z 4.3.0.  Then the
 * dead-host cache is updated (down only when every message's record
 * is MZ and nothing was delivered), and each message settles when
 * nothing of it is left.
 */
void	send_remote_read(struct send_state *, struct send_run *, time_t now);
/* Forget every waiting group of m (its envelope went away). */
void	send_remote_forget(struct send_state *, struct send_msg *);
/* Forget every run in flight (their recipients stay T): at exit. */
void	send_remote_abandon(struct send_state *);
/*
 * When domain (lower case) is down: 1 with *until_out and *why_out (the
 * failure that marked it down, maybe ""), else 0.
 */
int	send_down_check(struct send_state *, const char *domain, time_t now,
	    time_t *until_out, const char **why_out);
/*
 * A run for domain ended: MZ with nothing delivered marks it down and
 * keeps why (the run's message text, cut); anything else clears it.
 */
void	send_down_update(struct send_state *, const char *domain,
	    char mresult, bool delivered, const char *why, time_t now);

/* --- send_rspawn.c: the remote spawner (iface-remote.md) ------------- */

/*
 * Fork the remote spawner (before tern-send drops privileges).  As root
 * it becomes user (paths_remote_user()); else it changes no ids.  It
 * starts `resolve_path -F` as a shared resolver and, for each request,
 * remote_path with the argv and fds of the request.  Returns its pid
 * with *sock_out tern-send's end of the SOCK_SEQPACKET socket
 * (close-on-exec), or -1 with errno.
 */
pid_t	send_rspawn_start(const char *remote_path, const char *resolve_path,
	    const char *user, int *sock_out);
/*
 * Ask the spawner to run tern-remote with the argv in payload (the
 * arguments after argv[0], each ending in NUL, len bytes in all) on
 * the nmsg (1..SEND_RUN_MSGS) message fds msgfd (message 0 becomes fd
 * 0, message k fd 3 + k) and result pipe resfd (the caller closes its
 * copies).  0, or -1 with errno (E2BIG: empty, over SEND_RUN_ARGV_MAX
 * or not NUL-terminated; EINVAL: nmsg out of range; EPIPE: the spawner
 * is gone).
 */
int	send_rspawn_request(int sock, const char *payload, size_t len,
	    const int *msgfd, size_t nmsg, int resfd);

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
/*
 * The delay warning (RFC 3464 Action: delayed): when cfg.delaywarning
 * is not 0, at least that many seconds passed since arrival, the
 * sender is neither <> nor #@[] and bounce/<id> has no mark of an
 * earlier one, inject a DSN to the sender for env's T and P recipients
 * whose NOTIFY is absent or names DELAY, each with its last note
 * (send_delay_note) or "still trying", Will-Retry-Until arrival +
 * queuelifetime.  The mark is synced before the injection (and undone
 * when the injection fails), so at most one warning per message goes
 * out, ever.  Call after an attempt's results are in; it checks all of
 * the above itself.  1 sent (logged "<id> delay <newid> to=<..>"),
 * 0 nothing to send, -1 error with errno (logged by the caller).
 */
int	send_delay_warn(struct send_state *, struct send_msg *,
	    const struct spool_env *, time_t now);
/*
 * Remember recipient i's temporary failure (status 4.y.z, else 4.0.0;
 * text as given) for the delay warning: bounce_note, no fsync.  Does
 * nothing when cfg.delaywarning is 0; a failure is logged, not fatal.
 */
void	send_delay_note(struct send_state *, const struct send_msg *,
	    size_t i, const char *status, const char *text);

/* --- send_loop.c: the event loop ------------------------------------ */

/* (Re)read the control files into st->cfg; problems are logged. */
void	send_load_config(struct send_state *);
/* Start the keeper (before any privilege drop).  0 or -1 (logged). */
int	send_loop_keeper(struct send_state *, const char *lspawn_path);
/*
 * Start the remote spawner (before any privilege drop; as root it
 * becomes user).  A failure is logged and leaves remote delivery off
 * (every remote recipient is deferred): local delivery goes on.
 */
void	send_loop_rspawn(struct send_state *, const char *remote_path,
	    const char *resolve_path, const char *user);
/*
 * Open the trigger fifo, install the signal handlers, start
 * tern-lspawn, run until SIGTERM/SIGINT.  Returns the exit code.
 */
int	send_loop_run(struct send_state *);

#endif
