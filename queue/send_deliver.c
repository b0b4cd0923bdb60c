/* send_deliver: attempts, requests to tern-lspawn and their results. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "bounce.h"
#include "log.h"
#include "send.h"
#include "send_proto.h"

#define ESC_ADDR	(SPOOL_REC_MAX * 4 + 1)
#define ESC_TEXT	(SEND_TEXT_MAX * 4 + 32)

void
send_log_delivery(const char *id, const char *addr, const char *what,
    const char *status, const char *text)
{
	char a[ESC_ADDR], t[ESC_TEXT];

	(void)log_esc(a, sizeof(a), addr, strlen(addr));
	if (status == NULL) {
		log_info("%s delivery to=<%s> %s", id, a, what);
		return;
	}
	(void)log_esc(t, sizeof(t), text, strlen(text));
	log_info("%s delivery to=<%s> %s status=%s text=\"%s\"", id, a, what,
	    status, t);
}

bool
send_can_dispatch(const struct send_state *st)
{
	return st->up && !st->stopping &&
	    st->busy < (size_t)st->cfg.concurrency && st->busy < st->nslot;
}

static bool
in_flight(const struct send_state *st, const struct send_msg *m, size_t i)
{
	size_t s;

	if (send_remote_in_flight(m, i))
		return true;
	if (m->inflight == 0)
		return false;
	for (s = 0; s < st->nslot; s++)
		if (st->slot[s].m == m && st->slot[s].rcpt == i)
			return true;
	return false;
}

/*
 * Mark recipient i P before its request goes out: if we die now, the
 * next tern-send knows a delivery may have happened.  No fsync: a dead
 * process leaves the byte in the page cache; a power loss that takes it
 * only brings back the older window of one duplicate.  1 marked (or was
 * P already), 0 the envelope is gone, -1 error (logged).
 */
static int
mark_busy(const struct send_state *st, const struct send_msg *m,
    const struct spool_rcpt *rc)
{
	int r;

	if (rc->state == SPOOL_BUSY)
		return 1;
	r = spool_mark_nosync(st->spool, m->id, rc->state_off, SPOOL_BUSY);
	if (r == -1)
		log_warn("%s unable to mark a recipient in progress", m->id);
	return r;
}

/*
 * Send the request for recipient i of env: 0 sent, 1 the envelope is
 * gone (held or deleted), -1 not sent (logged).
 */
static int
dispatch(struct send_state *st, struct send_msg *m,
    const struct spool_env *env, size_t i)
{
	const struct spool_rcpt *rc = &env->rcpt[i];
	struct send_slot *sl = NULL;
	size_t s;
	int r;

	/*
	 * Any free slot will do: after SIGHUP lowered concurrencylocal,
	 * busy < concurrency guarantees one, though maybe above the new
	 * limit (tern-lspawn only echoes the number).
	 */
	for (s = 0; s < st->nslot && sl == NULL; s++)
		if (st->slot[s].m == NULL)
			sl = &st->slot[s];
	if (sl == NULL || strlen(rc->addr) >= sizeof(sl->addr))
		return -1;
	/* Unmarked, the D mark would likely fail too: do not deliver. */
	if ((r = mark_busy(st, m, rc)) != 1)
		return r == 0 ? 1 : -1;
	if (send_request_format(&st->out, (unsigned)(sl - st->slot), m->id,
	    env->sender, rc->addr, rc->state == SPOOL_BUSY) == -1) {
		log_warn("%s unable to queue a request", m->id);
		return -1;
	}
	sl->m = m;
	sl->rcpt = i;
	sl->state_off = rc->state_off;
	(void)strlcpy(sl->addr, rc->addr, sizeof(sl->addr));
	m->inflight++;
	st->busy++;
	return 0;
}

/* The bounce record goes first, so that a B always has its record. */
int
send_perm_fail(struct send_state *st, struct send_msg *m, size_t i, off_t off,
    const char *addr, const char *status, const char *text)
{
	char p[PATH_MAX];
	struct stat sb;
	int r;

	/* No bounce record for a message held or deleted meanwhile. */
	if (send_path(p, sizeof(p), st->spool, SPOOL_ENV, m->id) == 0 &&
	    lstat(p, &sb) == -1 && errno == ENOENT)
		return 0;
	if (bounce_record(st->spool, m->id, i, status, text) == -1) {
		log_warn("%s unable to record the failure of recipient %zu",
		    m->id, i);
		return -1;
	}
	r = spool_mark(st->spool, m->id, off, SPOOL_FAILED);
	if (r == -1)
		log_warn("%s unable to mark recipient %zu", m->id, i);
	else if (r == 1)
		send_log_delivery(m->id, addr, "failed", status, text);
	return r;
}

static void
announce(struct send_msg *m, const struct spool_env *env, const char *spool)
{
	char p[PATH_MAX], s[ESC_ADDR];
	struct stat sb;
	long long size = -1;

	m->arrival = env->arrival;
	if (m->announced)
		return;
	m->announced = true;
	if (send_path(p, sizeof(p), spool, SPOOL_MESS, m->id) == 0 &&
	    stat(p, &sb) == 0)
		size = (long long)sb.st_size;
	(void)log_esc(s, sizeof(s), env->sender, strlen(env->sender));
	log_info("%s new from=<%s> size=%lld rcpts=%zu", m->id, s, size,
	    env->nrcpt);
}

/* Keep the next try in env/<id>'s mtime, for tern-qctl and people. */
static void
store_due(const struct send_state *st, const struct send_msg *m, time_t due)
{
	struct timespec ts[2];
	char p[PATH_MAX];

	if (send_path(p, sizeof(p), st->spool, SPOOL_ENV, m->id) == -1)
		return;
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = due;
	ts[1].tv_nsec = 0;
	(void)utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
}

/*
 * Nothing of m is in flight or waiting: finish it or schedule it.  Local
 * and remote recipients have their own retry steps; the remote part of
 * an attempt only runs when it is due (m->rdue), so the message is due
 * at the earlier of the two.
 */
static void
after(struct send_state *st, struct send_msg *m, const struct spool_env *env,
    time_t now)
{
	bool loc = false, rem = false;
	time_t due;
	size_t i;

	if (spool_env_finished(env)) {
		send_finish(st, m, env, now);
		return;
	}
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].state == SPOOL_TODO ||
		    env->rcpt[i].state == SPOOL_BUSY) {
			if (send_is_local(&st->cfg, env->rcpt[i].addr))
				loc = true;
			else
				rem = true;
		}
	due = send_next_try(env->arrival, now, st->cfg.step,
	    st->cfg.lifetime);
	if (rem && m->rdue <= now)
		m->rdue = send_next_try(env->arrival, now, st->cfg.rstep,
		    st->cfg.lifetime);
	if (rem && (!loc || m->rdue < due))
		due = m->rdue;
	if (st->cfg.delaywarning > 0 &&
	    now - env->arrival >= st->cfg.delaywarning &&
	    send_delay_warn(st, m, env, now) == -1)
		log_warn("%s unable to send a delay warning", m->id);
	send_msg_schedule(st, m, due);
	store_due(st, m, due);
}

/* spool_env_read failed with errno saved in err. */
static void
read_failed(struct send_state *st, struct send_msg *m, int err,
    const char *why, time_t now)
{
	if (send_msg_busy(m))
		return;		/* tried again when its results are in */
	if (err == EINVAL || err == ELOOP) {
		send_quarantine(st, m->id, why != NULL ? why : "bad envelope");
		send_msg_drop(st, m);
		return;
	}
	errno = err;
	log_warn("%s unable to read the envelope", m->id);
	send_msg_schedule(st, m, now + st->cfg.step);
}

/* Read env/<id> for m: 1 with *env, 0 when m was dealt with. */
static int
read_env(struct send_state *st, struct send_msg *m, struct spool_env *env,
    time_t now)
{
	const char *why = NULL;
	int r;

	r = spool_env_read(st->spool, SPOOL_ENV, m->id, env, &why);
	if (r == 1)
		return 1;
	if (r == 0) {
		/* Held or deleted: it just vanishes. */
		send_remote_forget(st, m);
		if (!send_msg_busy(m))
			send_msg_drop(st, m);
		return 0;
	}
	read_failed(st, m, errno, why, now);
	return 0;
}

/*
 * Attempt m now: a new round (resumed false) starts with its remote
 * recipients when they are due, which never wait for local slots; then
 * local ones from m->resume on.
 */
static void
attempt(struct send_state *st, struct send_msg *m, bool resumed, time_t now)
{
	struct spool_env env;
	struct spool_rcpt *rc;
	bool need_wait = false, gone = false;
	size_t i;
	int r;

	if (read_env(st, m, &env, now) == 0)
		return;
	announce(m, &env, st->spool);
	if (!resumed && m->rdue <= now)
		send_remote_attempt(st, m, &env, now);
	/*
	 * A round handles each recipient once: one that failed
	 * temporarily earlier in this round waits for the next round.
	 */
	for (i = m->resume; i < env.nrcpt && !need_wait && !gone; i++) {
		rc = &env.rcpt[i];
		if ((rc->state != SPOOL_TODO && rc->state != SPOOL_BUSY) ||
		    in_flight(st, m, i))
			continue;
		if (!send_is_local(&st->cfg, rc->addr))
			continue;
		if (!send_can_dispatch(st)) {
			need_wait = true;
			m->resume = i;
		} else if ((r = dispatch(st, m, &env, i)) == 1)
			gone = true;
		else if (r == -1)
			send_log_delivery(m->id, rc->addr, "deferred", "4.3.0",
			    "cannot send the request to tern-lspawn");
	}
	if (need_wait)
		send_msg_wait(st, m, resumed);
	else if (gone)
		send_remote_forget(st, m);
	/* A busy message settles when its last result is in. */
	if (!send_msg_busy(m) && gone)
		send_msg_drop(st, m);
	else if (!send_msg_busy(m))
		after(st, m, &env, now);
	spool_env_free(&env);
}

void
send_attempt(struct send_state *st, struct send_msg *m, time_t now)
{
	m->resume = 0;
	attempt(st, m, false, now);
}

void
send_pump(struct send_state *st, time_t now)
{
	struct send_msg *m;
	time_t due;

	while (send_can_dispatch(st) &&
	    (m = TAILQ_FIRST(&st->waitq)) != NULL) {
		/*
		 * Go on with a message only when several slots are free, so
		 * that a long recipient list is not read once per finished
		 * delivery.
		 */
		if (st->busy > 0 && (size_t)st->cfg.concurrency - st->busy <
		    ((size_t)st->cfg.concurrency + 1) / 2)
			break;
		TAILQ_REMOVE(&st->waitq, m, wait);
		m->waiting = false;
		attempt(st, m, true, now);
	}
	/*
	 * Due messages are taken even when no local slot is free: their
	 * remote recipients must not wait for local ones (the local part
	 * then waits on the wait list).  While local messages wait, new
	 * rounds wait too, unless a remote run could start.
	 */
	while (!st->stopping && (m = send_heap_peek(&st->heap, &due)) !=
	    NULL && due <= now) {
		if (!TAILQ_EMPTY(&st->waitq) && (st->rspawn == -1 ||
		    st->nruns >= (size_t)st->cfg.rconc))
			break;
		(void)send_heap_pop(&st->heap);
		send_attempt(st, m, now);
	}
}

void
send_settle(struct send_state *st, struct send_msg *m, time_t now)
{
	struct spool_env env;

	if (read_env(st, m, &env, now) == 0)
		return;
	m->arrival = env.arrival;
	after(st, m, &env, now);
	spool_env_free(&env);
}

static void
temp_fail(struct send_state *st, const struct send_slot *sl,
    const char *status, const char *text, time_t now)
{
	char why[SEND_TEXT_MAX + 32];

	if (sl->m->arrival == 0 ||
	    !send_expired(sl->m->arrival, now, st->cfg.lifetime)) {
		send_log_delivery(sl->m->id, sl->addr, "deferred", status,
		    text);
		send_delay_note(st, sl->m, sl->rcpt, status, text);
		return;
	}
	(void)snprintf(why, sizeof(why), "message expired: %s", text);
	(void)send_perm_fail(st, sl->m, sl->rcpt, sl->state_off, sl->addr,
	    "4.4.7", why);
}

void
send_result(struct send_state *st, unsigned slot, char code,
    const char *status, const char *text, time_t now)
{
	struct send_slot sl = st->slot[slot];
	struct send_msg *m = sl.m;
	int r;

	st->slot[slot].m = NULL;
	st->busy--;
	m->inflight--;
	if (code == 'K') {
		r = spool_mark(st->spool, m->id, sl.state_off, SPOOL_DONE);
		if (r == -1)
			log_warn("%s unable to mark recipient %zu", m->id,
			    sl.rcpt);
		else if (r == 1)
			send_log_delivery(m->id, sl.addr, "ok", NULL, NULL);
	} else if (code == 'D')
		(void)send_perm_fail(st, m, sl.rcpt, sl.state_off, sl.addr,
		    status, text);
	else
		temp_fail(st, &sl, status, text, now);
	if (!send_msg_busy(m))
		send_settle(st, m, now);
}
