/* send_remote: remote recipients, grouped by domain, run by tern-remote. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "send.h"
#include "send_proto.h"

/* Bytes of results a run may write: per record, and for the message. */
#define RUN_REC_MAX	(2 + 1 + SEND_STATUS_MAX + 1 + SEND_TEXT_MAX + 1)
#define ESC_DOM		(ADDR_DOMAIN_MAX * 4 + 1)

/* A remote recipient of the envelope being handled. */
struct rref {
	const char	*dom;
	size_t		 idx;
};

/* One parsed result record. */
struct rres {
	char	letter;
	char	status[SEND_STATUS_MAX + 1];
	char	text[SEND_TEXT_MAX + 1];
};

static void
lower(char *out, size_t outsz, const char *in)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outsz; i++)
		out[i] = in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' :
		    in[i];
	out[i] = '\0';
}

static int
rref_cmp(const void *a, const void *b)
{
	const struct rref *x = a, *y = b;
	int c;

	if ((c = strcasecmp(x->dom, y->dom)) != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool
in_flight_dom(const struct send_msg *m, size_t i, const char *dom)
{
	const struct send_run *r;
	size_t j;

	LIST_FOREACH(r, &m->runs, mlink) {
		if (dom != NULL && strcmp(r->domain, dom) != 0)
			continue;
		for (j = 0; j < r->n; j++)
			if (r->idx[j] == i)
				return true;
	}
	return false;
}

bool
send_remote_in_flight(const struct send_msg *m, size_t i)
{
	return m->rinflight > 0 && in_flight_dom(m, i, NULL);
}

/*
 * The remote T/P recipients of env not in flight (only those of domain
 * dom, lower case, unless NULL), sorted by domain: NULL when none.
 */
static struct rref *
collect(const struct send_state *st, const struct send_msg *m,
    const struct spool_env *env, const char *dom, size_t *n_out)
{
	struct rref *v;
	const char *d;
	size_t i, n = 0;

	*n_out = 0;
	if ((v = reallocarray(NULL, env->nrcpt, sizeof(*v))) == NULL) {
		log_warn("%s unable to group its remote recipients", m->id);
		return NULL;
	}
	for (i = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].state != SPOOL_TODO &&
		    env->rcpt[i].state != SPOOL_BUSY)
			continue;
		if (send_is_local(&st->cfg, env->rcpt[i].addr) ||
		    (d = addr_domain(env->rcpt[i].addr)) == NULL)
			continue;
		if (dom != NULL && strcasecmp(d, dom) != 0)
			continue;
		if (m->rinflight > 0 && in_flight_dom(m, i, NULL))
			continue;
		v[n].dom = d;
		v[n++].idx = i;
	}
	if (n == 0) {
		free(v);
		return NULL;
	}
	qsort(v, n, sizeof(*v), rref_cmp);
	*n_out = n;
	return v;
}

static size_t
domain_runs(const struct send_state *st, const char *dom)
{
	const struct send_run *r;
	size_t n = 0;

	TAILQ_FOREACH(r, &st->runs, link)
		n += strcmp(r->domain, dom) == 0;
	return n;
}

static bool
can_run(const struct send_state *st, const char *dom)
{
	return !st->stopping && st->rspawn != -1 &&
	    st->nruns < (size_t)st->cfg.rconc &&
	    domain_runs(st, dom) < (size_t)st->cfg.dconc;
}

static void
rwait_add(struct send_state *st, struct send_msg *m, const char *dom)
{
	struct send_rwait *w;

	TAILQ_FOREACH(w, &st->rwaitq, link)
		if (w->m == m && strcmp(w->domain, dom) == 0)
			return;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		/* Not lost: the recipients stay T for the next try. */
		log_warn("%s unable to wait for a run to %s", m->id, dom);
		return;
	}
	w->m = m;
	(void)strlcpy(w->domain, dom, sizeof(w->domain));
	TAILQ_INSERT_TAIL(&st->rwaitq, w, link);
	m->rwait++;
}

void
send_remote_forget(struct send_state *st, struct send_msg *m)
{
	struct send_rwait *w, *next;

	for (w = TAILQ_FIRST(&st->rwaitq); w != NULL && m->rwait > 0;
	    w = next) {
		next = TAILQ_NEXT(w, link);
		if (w->m != m)
			continue;
		TAILQ_REMOVE(&st->rwaitq, w, link);
		m->rwait--;
		free(w);
	}
}

/* A recipient that is not run now: deferred, or 4.4.7 when expired. */
static void
not_run(struct send_state *st, struct send_msg *m, struct spool_env *env,
    size_t i, const char *status, const char *text, time_t now)
{
	struct spool_rcpt *rc = &env->rcpt[i];
	char why[SEND_TEXT_MAX + 32];

	if (!send_expired(env->arrival, now, st->cfg.lifetime)) {
		/* No delay note: the last remote error says more. */
		send_log_delivery(m->id, rc->addr, "deferred", status, text);
		return;
	}
	(void)snprintf(why, sizeof(why), "message expired: %s", text);
	/* The caller decides from env whether m is finished. */
	if (send_perm_fail(st, m, i, rc->state_off, rc->addr, "4.4.7",
	    why) == 1)
		rc->state = SPOOL_FAILED;
}

static size_t
opt_len(const char *v, size_t i)
{
	char num[32];

	return v == NULL ? 0 : 3 + (size_t)snprintf(num, sizeof(num), "%zu",
	    i) + 1 + strlen(v) + 1;
}

/* How many of refs[0..n) fit in one run's argv. */
static size_t
batch_size(const struct spool_env *env, const char *dom,
    const struct rref *refs, size_t n)
{
	const struct spool_rcpt *rc;
	size_t total, k;

	total = strlen(dom) + 1 + strlen(env->sender) + 1;
	if (env->ret != NULL)
		total += 3 + strlen(env->ret) + 1;
	if (env->envid != NULL)
		total += 3 + strlen(env->envid) + 1;
	for (k = 0; k < n && k < SEND_RUN_RCPTS; k++) {
		rc = &env->rcpt[refs[k].idx];
		total += strlen(rc->addr) + 1 + opt_len(rc->notify, k) +
		    opt_len(rc->orcpt, k);
		if (total > SEND_RUN_ARGV_MAX)
			break;
	}
	return k;
}

/*
 * One message's part of a run's argv, NUL-separated: options, the
 * domain (first part only), the sender, the recipients refs[0..n).
 * Parts after the first start with a lone "+" (tern-remote(8)).
 */
static int
build_argv(struct buf *b, const struct spool_env *env, const char *dom,
    const struct rref *refs, size_t n, bool first)
{
	const struct spool_rcpt *rc;
	size_t k;
	int r = 0;

	if (!first)
		r |= buf_printf(b, "+%c", 0);
	if (env->ret != NULL)
		r |= buf_printf(b, "-R%c%s%c", 0, env->ret, 0);
	if (env->envid != NULL)
		r |= buf_printf(b, "-E%c%s%c", 0, env->envid, 0);
	for (k = 0; k < n; k++) {
		rc = &env->rcpt[refs[k].idx];
		if (rc->notify != NULL)
			r |= buf_printf(b, "-N%c%zu:%s%c", 0, k, rc->notify, 0);
		if (rc->orcpt != NULL)
			r |= buf_printf(b, "-O%c%zu:%s%c", 0, k, rc->orcpt, 0);
	}
	/* an address may start with '-': end the options explicitly */
	r |= buf_printf(b, "--%c", 0);
	if (first)
		r |= buf_printf(b, "%s%c", dom, 0);
	r |= buf_printf(b, "%s%c", env->sender, 0);
	for (k = 0; k < n; k++)
		r |= buf_printf(b, "%s%c", env->rcpt[refs[k].idx].addr, 0);
	return r == 0 ? 0 : -1;
}

static struct send_run *
run_new(struct send_msg *m, const struct spool_env *env, const char *dom,
    const struct rref *refs, size_t n)
{
	struct send_run *run;
	size_t k, total = 0, len;
	char *p;

	for (k = 0; k < n; k++)
		total += strlen(env->rcpt[refs[k].idx].addr) + 1;
	if ((run = calloc(1, sizeof(*run))) == NULL)
		return NULL;
	run->idx = reallocarray(NULL, n, sizeof(*run->idx));
	run->off = reallocarray(NULL, n, sizeof(*run->off));
	run->addr = reallocarray(NULL, n, sizeof(*run->addr));
	run->abuf = malloc(total);
	if (run->idx == NULL || run->off == NULL || run->addr == NULL ||
	    run->abuf == NULL) {
		free(run->idx);
		free(run->off);
		free(run->addr);
		free(run->abuf);
		free(run);
		return NULL;
	}
	(void)strlcpy(run->domain, dom, sizeof(run->domain));
	for (k = 0, p = run->abuf; k < n; k++, p += len) {
		run->idx[k] = refs[k].idx;
		run->off[k] = env->rcpt[refs[k].idx].state_off;
		len = strlen(env->rcpt[refs[k].idx].addr) + 1;
		memcpy(p, env->rcpt[refs[k].idx].addr, len);
		run->addr[k] = p;
	}
	run->m = m;
	run->n = n;
	run->fd = -1;
	buf_init(&run->in, 0);
	return run;
}

/* Free one part (not linked anywhere any more). */
static void
run_free(struct send_run *run)
{
	if (run->fd != -1)
		(void)close(run->fd);
	buf_free(&run->in);
	free(run->idx);
	free(run->off);
	free(run->addr);
	free(run->abuf);
	free(run);
}

/* Free a run's parts from run on. */
static void
run_free_chain(struct send_run *run)
{
	struct send_run *next;

	for (; run != NULL; run = next) {
		next = run->next;
		run_free(run);
	}
}

static void
rspawn_lost(struct send_state *st)
{
	log_warnx("the remote spawner is gone: remote delivery stops");
	(void)close(st->rspawn);
	st->rspawn = -1;
}

/* mess/<id> of m, opened for tern-remote: the fd, or -1 (logged). */
static int
open_mess(const struct send_state *st, const struct send_msg *m)
{
	char p[PATH_MAX];
	int fd;

	if (send_path(p, sizeof(p), st->spool, SPOOL_MESS, m->id) == -1 ||
	    (fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warn("%s unable to open the message", m->id);
		return -1;
	}
	return fd;
}

/* A run being put together: its parts, argv, message fds. */
struct batch {
	struct send_run		*first, *last;
	size_t			 nmsg;
	int			 fds[SEND_RUN_MSGS];
	struct send_rwait	*taken[SEND_RUN_MSGS];	/* [0] unused */
	struct buf		 argv;
	size_t			 nres;	/* result records expected */
};

/* Hand the batch to the spawner: the result pipe's read end, or -1. */
static int
run_spawn(struct send_state *st, const struct batch *bt)
{
	const char *id = bt->first->m->id;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		log_warn("%s unable to make a pipe for tern-remote", id);
		return -1;
	}
	if (send_rspawn_request(st->rspawn, bt->argv.data, bt->argv.len,
	    bt->fds, bt->nmsg, pfd[1]) == -1) {
		log_warn("%s unable to start tern-remote", id);
		if (errno != E2BIG && errno != EINVAL)
			rspawn_lost(st);
		(void)close(pfd[0]);
		pfd[0] = -1;
	}
	(void)close(pfd[1]);
	if (pfd[0] != -1)
		(void)io_nonblock(pfd[0], 1);
	return pfd[0];
}

/*
 * Add w's message to the batch when all its waiting recipients at dom
 * fit (argv, SEND_RUN_RCPTS) and its message opens: 1 added, else 0
 * (it stays waiting, for a run of its own).
 */
static int
batch_take(struct send_state *st, struct batch *bt, struct send_rwait *w)
{
	struct spool_env env;
	struct send_run *run = NULL;
	struct rref *refs = NULL;
	const char *why = NULL;
	size_t n, len = bt->argv.len;
	int fd = -1;

	if (spool_env_read(st->spool, SPOOL_ENV, w->m->id, &env, &why) != 1)
		return 0;
	if ((refs = collect(st, w->m, &env, w->domain, &n)) == NULL ||
	    batch_size(&env, w->domain, refs, n) != n ||
	    build_argv(&bt->argv, &env, w->domain, refs, n, false) == -1 ||
	    (run = run_new(w->m, &env, w->domain, refs, n)) == NULL ||
	    (fd = open_mess(st, w->m)) == -1) {
		buf_truncate(&bt->argv, len);
		if (run != NULL)
			run_free(run);
		free(refs);
		spool_env_free(&env);
		return 0;
	}
	w->m->arrival = env.arrival;
	bt->last->next = run;
	bt->last = run;
	bt->taken[bt->nmsg] = w;
	bt->fds[bt->nmsg++] = fd;
	bt->nres += n + 1;
	free(refs);
	spool_env_free(&env);
	return 1;
}

/* Take along other messages waiting for dom (FIFO), up to the limit. */
static void
batch_fill(struct send_state *st, struct batch *bt)
{
	struct send_rwait *w;

	TAILQ_FOREACH(w, &st->rwaitq, link) {
		if (bt->nmsg == SEND_RUN_MSGS)
			break;
		if (w->m != bt->first->m &&
		    strcmp(w->domain, bt->first->domain) == 0)
			(void)batch_take(st, bt, w);
	}
}

/* The batch runs now (result pipe rfd): link every part. */
static void
batch_commit(struct send_state *st, struct batch *bt, int rfd)
{
	struct send_run *run;
	char dom[ESC_DOM];
	size_t k;

	for (k = 1; k < bt->nmsg; k++) {
		TAILQ_REMOVE(&st->rwaitq, bt->taken[k], link);
		bt->taken[k]->m->rwait--;
		free(bt->taken[k]);
	}
	for (run = bt->first; run != NULL; run = run->next) {
		LIST_INSERT_HEAD(&run->m->runs, run, mlink);
		run->m->rinflight++;
	}
	run = bt->first;
	run->fd = rfd;
	buf_init(&run->in, bt->nres * RUN_REC_MAX);
	TAILQ_INSERT_TAIL(&st->runs, run, link);
	st->nruns++;
	if (bt->nmsg > 1) {
		(void)log_esc(dom, sizeof(dom), run->domain,
		    strlen(run->domain));
		log_info("%s remote run domain=%s messages=%zu", run->m->id,
		    dom, bt->nmsg);
	}
}

/*
 * Start one run for refs[0..k) of m (k from batch_size), with other
 * messages waiting for the same domain when this is m's last batch
 * (last): 0, or -1 (logged).
 */
static int
run_start(struct send_state *st, struct send_msg *m,
    const struct spool_env *env, const char *dom, const struct rref *refs,
    size_t k, bool last)
{
	struct batch bt;
	size_t i;
	int rfd = -1;

	memset(&bt, 0, sizeof(bt));
	buf_init(&bt.argv, SEND_RUN_ARGV_MAX);
	if (build_argv(&bt.argv, env, dom, refs, k, true) == -1)
		log_warn("%s unable to build the argv of tern-remote", m->id);
	else if ((bt.first = run_new(m, env, dom, refs, k)) == NULL)
		log_warn("%s unable to start a run", m->id);
	else if ((bt.fds[0] = open_mess(st, m)) != -1) {
		bt.last = bt.first;
		bt.nmsg = 1;
		bt.nres = k + 1;
		if (last)
			batch_fill(st, &bt);
		rfd = run_spawn(st, &bt);
	}
	for (i = 0; i < bt.nmsg; i++)
		(void)close(bt.fds[i]);
	if (rfd != -1)
		batch_commit(st, &bt, rfd);
	else
		run_free_chain(bt.first);
	buf_free(&bt.argv);
	return rfd != -1 ? 0 : -1;
}

/*
 * The deferral text of a dead domain.  It starts with the failure that
 * marked it down (tern-remote's "host [ip]: ..."), so that an expiry
 * bounce still names the remote host and its answer.
 */
static void
down_text(char *out, size_t outsz, const char *dom, time_t until,
    const char *why)
{
	struct tm tm;
	char when[32];
	int r;

	if (gmtime_r(&until, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)strlcpy(when, "later", sizeof(when));
	/* A cut text is still a good reason: truncation is fine here. */
	if (why[0] != '\0')
		r = snprintf(out, outsz, "%s (destination %s down, retry at "
		    "%s)", why, dom, when);
	else
		r = snprintf(out, outsz, "destination %s down, retry at %s",
		    dom, when);
	if (r < 0)
		(void)strlcpy(out, "destination down", outsz);
}

/* One domain's recipients refs[0..n) of m (sorted, not in flight). */
static void
group(struct send_state *st, struct send_msg *m, struct spool_env *env,
    const struct rref *refs, size_t n, time_t now)
{
	char dom[ADDR_DOMAIN_MAX + 1], text[SEND_TEXT_MAX + 1];
	const char *status = "4.3.0", *why;
	time_t until;
	size_t k = 0, b;

	lower(dom, sizeof(dom), refs[0].dom);
	text[0] = '\0';
	if (send_down_check(st, dom, now, &until, &why) == 1) {
		down_text(text, sizeof(text), dom, until, why);
		status = "4.4.1";
	}
	while (text[0] == '\0' && k < n) {
		if (st->rspawn == -1) {
			(void)strlcpy(text, "remote delivery not available: "
			    "no remote spawner", sizeof(text));
			break;
		}
		if (!can_run(st, dom)) {
			rwait_add(st, m, dom);
			return;
		}
		b = batch_size(env, dom, refs + k, n - k);
		if (b == 0 || run_start(st, m, env, dom, refs + k, b,
		    k + b == n) == -1) {
			(void)strlcpy(text, "cannot start tern-remote",
			    sizeof(text));
			break;
		}
		k += b;
	}
	for (; k < n; k++)
		not_run(st, m, env, refs[k].idx, status, text, now);
}

void
send_remote_attempt(struct send_state *st, struct send_msg *m,
    struct spool_env *env, time_t now)
{
	struct rref *refs;
	size_t n, a, b;

	if ((refs = collect(st, m, env, NULL, &n)) == NULL)
		return;
	for (a = 0; a < n; a = b) {
		for (b = a + 1; b < n && strcasecmp(refs[a].dom,
		    refs[b].dom) == 0; b++)
			;
		group(st, m, env, refs + a, b - a, now);
	}
	free(refs);
}

/* A waiting group got its chance: read the envelope again and run. */
static void
resume(struct send_state *st, struct send_msg *m, const char *dom,
    time_t now)
{
	struct spool_env env;
	struct rref *refs;
	const char *why = NULL;
	size_t n;

	/* Failures are dealt with when m settles (send_settle). */
	if (spool_env_read(st->spool, SPOOL_ENV, m->id, &env, &why) != 1)
		return;
	m->arrival = env.arrival;
	if ((refs = collect(st, m, &env, dom, &n)) != NULL) {
		group(st, m, &env, refs, n, now);
		free(refs);
	}
	spool_env_free(&env);
}

void
send_remote_pump(struct send_state *st, time_t now)
{
	struct send_rwait *w;
	struct send_msg *m;
	char dom[ADDR_DOMAIN_MAX + 1];

	/*
	 * From the head each time: a resumed group may add or remove
	 * entries.  Each pass starts one group or ends, so this ends.
	 */
	while (!st->stopping && st->rspawn != -1 &&
	    st->nruns < (size_t)st->cfg.rconc) {
		TAILQ_FOREACH(w, &st->rwaitq, link)
			if (domain_runs(st, w->domain) < (size_t)st->cfg.dconc)
				break;
		if (w == NULL)
			return;
		TAILQ_REMOVE(&st->rwaitq, w, link);
		m = w->m;
		m->rwait--;
		(void)strlcpy(dom, w->domain, sizeof(dom));
		free(w);
		resume(st, m, dom, now);
		if (!send_msg_busy(m))
			send_settle(st, m, now);
	}
}

/* Parse one "<letter(s)>\0<status>\0<text>\0" at *p: 0, or -1. */
static int
parse_rec(const char **p, const char *end, bool msg, struct rres *out)
{
	const char *f[3], *q = *p;
	size_t i, len;

	for (i = 0; i < 3; i++) {
		f[i] = q;
		if ((q = memchr(q, '\0', (size_t)(end - q))) == NULL)
			return -1;
		q++;
	}
	if (msg && f[0][0] != 'M')
		return -1;
	out->letter = f[0][msg ? 1 : 0];
	if (strchr("KZD", out->letter) == NULL || out->letter == '\0' ||
	    strlen(f[0]) != (msg ? 2u : 1u) || !send_status_valid(f[1]) ||
	    strlen(f[1]) > SEND_STATUS_MAX)
		return -1;
	(void)strlcpy(out->status, f[1], sizeof(out->status));
	len = strlen(f[2]);
	if (len > SEND_TEXT_MAX)
		len = SEND_TEXT_MAX;
	for (i = 0; i < len; i++)
		out->text[i] = f[2][i] >= 0x20 && f[2][i] < 0x7f ? f[2][i] :
		    '?';
	out->text[len] = '\0';
	*p = q;
	return 0;
}

static void
apply(struct send_state *st, const struct send_run *run, size_t k,
    const struct rres *res, time_t now)
{
	struct send_msg *m = run->m;
	char why[SEND_TEXT_MAX + 32];
	int r;

	if (res->letter == 'K') {
		r = spool_mark(st->spool, m->id, run->off[k], SPOOL_DONE);
		if (r == -1)
			log_warn("%s unable to mark recipient %zu", m->id,
			    run->idx[k]);
		else if (r == 1)
			send_log_delivery(m->id, run->addr[k], "ok", NULL,
			    NULL);
	} else if (res->letter == 'D')
		(void)send_perm_fail(st, m, run->idx[k], run->off[k],
		    run->addr[k], res->status, res->text);
	else if (m->arrival == 0 ||
	    !send_expired(m->arrival, now, st->cfg.lifetime)) {
		send_log_delivery(m->id, run->addr[k], "deferred",
		    res->status, res->text);
		send_delay_note(st, m, run->idx[k], res->status, res->text);
	} else {
		(void)snprintf(why, sizeof(why), "message expired: %s",
		    res->text);
		(void)send_perm_fail(st, m, run->idx[k], run->off[k],
		    run->addr[k], "4.4.7", why);
	}
}

/* Fewer than the three fields of a record are left: output cut off. */
static bool
cut_short(const char *q, const char *end)
{
	int fields = 0;

	while (q < end && fields < 3) {
		if ((q = memchr(q, '\0', (size_t)(end - q))) == NULL)
			break;
		q++;
		fields++;
	}
	return fields < 3;
}

/*
 * Apply the results of one part, from *p on (good false once they are
 * missing or bad: the rest is Z 4.3.0); returns its message letter, or
 * '\0' when its message record is missing.
 */
static char
part_results(struct send_state *st, const struct send_run *run,
    const char **p, const char *end, bool *good, bool *delivered_out,
    char *why, size_t whysz, time_t now)
{
	static const struct rres none = { 'Z', "4.3.0",
	    "tern-remote gave no result" };
	struct rres res;
	const char *q = *p;
	size_t k, usable = run->n;

	/*
	 * Check the part before applying it: a record that does not parse
	 * where a recipient's should be (a message record too early: fewer
	 * results than recipients) means the results may be shifted, so
	 * none of them is used.  Results cut off by the end of the output
	 * (the run died) are in order: those that came count.
	 */
	for (k = 0; *good && k < run->n; k++)
		if (parse_rec(&q, end, false, &res) == -1) {
			usable = cut_short(q, end) ? k : 0;
			break;
		}
	*delivered_out = false;
	for (k = 0; k < run->n; k++) {
		if (*good && (k >= usable ||
		    parse_rec(p, end, false, &res) == -1))
			*good = false;
		apply(st, run, k, *good ? &res : &none, now);
		*delivered_out |= *good && res.letter == 'K';
	}
	if (!*good || parse_rec(p, end, true, &res) == -1) {
		*good = false;
		return '\0';
	}
	(void)strlcpy(why, res.text, whysz);
	return res.letter;
}

/*
 * Apply the results of every part; the dead-host cache marks the
 * domain down only when every message record is MZ and nothing was
 * delivered, keeping the last message's text.
 */
static void
run_results(struct send_state *st, const struct send_run *first,
    time_t now)
{
	const struct send_run *run;
	const char *p = first->in.data, *end = p + first->in.len;
	char dom[ESC_DOM], why[SEND_DOWN_TEXT + 1], mres, worst = '\0';
	bool good = p != NULL, delivered, any_k = false;

	why[0] = '\0';
	(void)log_esc(dom, sizeof(dom), first->domain, strlen(first->domain));
	for (run = first; run != NULL; run = run->next) {
		mres = part_results(st, run, &p, end, &good, &delivered, why,
		    sizeof(why), now);
		log_info("%s remote domain=%s rcpts=%zu result=M%c",
		    run->m->id, dom, run->n, mres == '\0' ? 'Z' : mres);
		any_k |= delivered;
		if (mres != '\0' && (worst == '\0' || mres != 'Z'))
			worst = mres;
	}
	/* No message record: our side failed, not the destination. */
	if (worst != '\0')
		send_down_update(st, first->domain, worst, any_k, why, now);
}

/* Unlink every part of a finished run; each message then settles. */
static void
run_end(struct send_state *st, struct send_run *first, time_t now)
{
	struct send_msg *ms[SEND_RUN_MSGS];
	struct send_run *run, *next;
	size_t n = 0, i;

	run_results(st, first, now);
	TAILQ_REMOVE(&st->runs, first, link);
	st->nruns--;
	for (run = first; run != NULL; run = next) {
		next = run->next;
		LIST_REMOVE(run, mlink);
		run->m->rinflight--;
		if (n < SEND_RUN_MSGS)
			ms[n++] = run->m;
		run_free(run);
	}
	for (i = 0; i < n; i++)
		if (!send_msg_busy(ms[i]))
			send_settle(st, ms[i], now);
}

/* Read what the run has written: 1 at EOF (or too much), 0 for more. */
static int
run_drain(struct send_run *run)
{
	char chunk[8192];
	ssize_t n;

	for (;;) {
		n = read(run->fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		if (buf_append(&run->in, chunk, (size_t)n) == -1) {
			/* More than any valid answer: what came is enough. */
			log_warnx("%s tern-remote wrote too much", run->m->id);
			return 1;
		}
	}
}

void
send_remote_read(struct send_state *st, struct send_run *run, time_t now)
{
	if (run_drain(run) == 1)
		run_end(st, run, now);
}

void
send_remote_abandon(struct send_state *st)
{
	struct send_run *first, *run;

	while ((first = TAILQ_FIRST(&st->runs)) != NULL) {
		/*
		 * tern-remote writes each message's results as soon as it is
		 * done: apply those (the rest stays T, retried at the next
		 * start), so that no finished message goes out twice.
		 */
		(void)run_drain(first);
		run_results(st, first, time(NULL));
		TAILQ_REMOVE(&st->runs, first, link);
		st->nruns--;
		for (run = first; run != NULL; run = run->next) {
			LIST_REMOVE(run, mlink);
			run->m->rinflight--;
		}
		run_free_chain(first);
	}
}

/* --- the dead-host cache ----------------------------------------------- */

static struct send_down *
down_find(struct send_state *st, const char *dom)
{
	size_t i;

	for (i = 0; i < st->ndown; i++)
		if (strcmp(st->down[i].domain, dom) == 0)
			return &st->down[i];
	return NULL;
}

int
send_down_check(struct send_state *st, const char *dom, time_t now,
    time_t *until_out, const char **why_out)
{
	struct send_down *d;

	if ((d = down_find(st, dom)) == NULL || d->until <= now)
		return 0;
	*until_out = d->until;
	*why_out = d->why;
	return 1;
}

/* A new entry, evicting the oldest when the cache is full; or NULL. */
static struct send_down *
down_new(struct send_state *st)
{
	struct send_down *d;
	size_t i, old = 0;

	if (st->ndown == SEND_DOWN_MAX) {
		for (i = 1; i < st->ndown; i++)
			if (st->down[i].stamp < st->down[old].stamp)
				old = i;
		return &st->down[old];
	}
	if (st->down == NULL)
		st->down = reallocarray(NULL, SEND_DOWN_MAX, sizeof(*d));
	if (st->down == NULL)
		return NULL;
	d = &st->down[st->ndown++];
	d->backoff = 0;
	return d;
}

void
send_down_update(struct send_state *st, const char *dom, char mres,
    bool delivered, const char *why, time_t now)
{
	struct send_down *d = down_find(st, dom);

	if (mres != 'Z' || delivered) {
		if (d != NULL)
			*d = st->down[--st->ndown];
		return;
	}
	if (d == NULL) {
		if ((d = down_new(st)) == NULL)
			return;		/* no cache: only costs connections */
		(void)strlcpy(d->domain, dom, sizeof(d->domain));
		d->backoff = 0;
	}
	d->backoff = d->backoff == 0 ? SEND_DOWN_FIRST : d->backoff * 2;
	if (d->backoff > SEND_DOWN_LAST)
		d->backoff = SEND_DOWN_LAST;
	d->until = now + d->backoff;
	d->stamp = ++st->down_stamp;
	(void)strlcpy(d->why, why, sizeof(d->why));
	log_info("destination %s down for %lld s", dom, d->backoff);
}
