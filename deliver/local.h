/* local: tern-local's deliveries (Maildir, commands, forwarding). */
#ifndef TERN_LOCAL_H
#define TERN_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "alias.h"
#include "buf.h"

#define LOCAL_HOPS_MAX		100	/* Received + Delivered-To lines */
#define LOCAL_HEADER_LINE_MAX	8192	/* longer header lines are skipped */
#define LOCAL_PIPETIMEOUT	3600	/* control pipetimeout default, s */
#define LOCAL_PIPETIMEOUT_MAX	604800
#define LOCAL_TEXT_MAX		300

/* Everything one tern-local run knows; the result ends up in code/status. */
struct local {
	const char	 *sender;
	const char	 *rcpt;
	const char	 *qid;
	const char	 *user;
	const char	 *home;
	const char	 *maildir;	/* NULL in alias mode */
	const char	 *ext;		/* "" when none */
	bool		  alias;
	bool		  check;	/* -c: look for an earlier copy first */
	char		**args;		/* alias targets */
	size_t		  nargs;
	char		  local[ADDR_BUF];	/* local part of rcpt */
	char		  domain[ADDR_BUF];	/* its domain (may be "") */
	int64_t		  timeout_ms;	/* per command */
	int		  fd;		/* the message: a regular file */
	struct buf	  prefix;	/* Return-Path and Delivered-To */
	struct buf	  fwd;		/* forward addresses, NUL-separated */
	size_t		  nfwd;
	int		  nmaildir, npipe;
	int		  nfound;	/* Maildir copies found by -c */
	int		  code;		/* 0, 100, 111 */
	char		  status[8];
	char		  text[LOCAL_TEXT_MAX];
};

/*
 * Record the outcome: code 0/100/111 with status "x.y.z" and text.
 * Returns -1 so callers can "return local_set(...)" for failures.
 */
int	local_set(struct local *, int code, const char *status,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Fill the derived fields (local, domain, prefix) and check the header
 * section of the message for loops (5.4.6).  0, or -1 with the result
 * set.
 */
int	local_prepare(struct local *);

/*
 * Scan the header section on fd (from offset 0) for a Delivered-To
 * naming rcpt (case-insensitive) or more than LOCAL_HOPS_MAX Received
 * plus Delivered-To lines.  1 loop (*why says which), 0 none, -1 error.
 */
int	local_loop_check(int fd, const char *rcpt, const char **why);

/*
 * Deliver the message into the Maildir at path: 0, or -1 (result set).
 * For a queued message (qid valid) the base name carries the key of
 * (qid, rcpt, path) (uniq_key); with check set, a copy with that key
 * already in new/ or cur/ counts as this delivery and nothing is
 * written.
 */
int	local_maildir(struct local *, const char *path);

/*
 * Run a command: 0 ok, 1 ok and stop (exit 99), -1 failed (result set:
 * 100 permanent for exit 100, else temporary).
 */
int	local_pipe(struct local *, const char *cmd);

/* Remember a forward address (duplicates once): 0 or -1 (result set). */
int	local_add_forward(struct local *, const char *addr);

/*
 * Reinject the message to every remembered address through tern-queue
 * with the same sender and Delivered-To prepended: 0 or -1 (result set).
 */
int	local_forward(struct local *);

/*
 * The targets for this run: the alias arguments (-a), else the forward
 * file (.forward+ext, then .forward), else none (*n_out 0: the Maildir).
 * *out is malloc'd.  0, or -1 (result set).
 */
int	local_targets(struct local *, struct fwd_target **out, size_t *n_out);

/*
 * The whole delivery: prepare, targets, each target in order, the
 * forward.  Returns the exit code (result set).
 */
int	local_run(struct local *);

/*
 * How tern-queue's exit status maps to a result: 0, 100 or 111 with
 * status and text (qmail-queue's codes).
 */
int	local_qq_status(int wstatus, char status[8], const char **text);

/* Start a child with fds set up and wait for it (run.c). */
struct run_spec {
	const char	 *path;
	char *const	 *argv;
	char *const	 *envp;
	const void	 *prefix;	/* written first on the child's fd 0 */
	size_t		  prefix_len;
	int		  msgfd;	/* then this file, from offset 0 */
	const void	 *fd1data;	/* NULL: child's fd 1 is /dev/null */
	/* else written on its fd 1 after fd 0 */
	size_t		  fd1len;
	bool		  quiet;	/* child's fd 2 is /dev/null */
	int64_t		  timeout_ms;
};

/*
 * Run spec: returns 0 with *wstatus when the child finished, -1 with
 * errno on failure (ETIMEDOUT: killed, with its process group, at the
 * deadline).  The caller must have SIGCHLD blocked (tern-local does).
 */
int	run_child(const struct run_spec *, int *wstatus);

#endif
