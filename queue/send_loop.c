/* send_loop: tern-send's event loop, signals and tern-lspawn's pipes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "line.h"
#include "log.h"
#include "paths.h"
#include "send.h"
#include "send_keeper.h"
#include "send_proto.h"

#define SEND_OUT_MAX	(16 * 1024 * 1024)	/* requests not yet written */
#define SEND_IN_MAX	(1024 * 1024)		/* results not yet parsed */

static int sig_fd = -1;

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int save = errno;

	(void)write(sig_fd, &c, 1);
	errno = save;
}

static int
signals_setup(struct send_state *st)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGALRM };
	struct sigaction sa;
	size_t i;

	if (pipe2(st->sigpipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	sig_fd = st->sigpipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	(void)signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void
begin_stop(struct send_state *st, int code)
{
	if (st->stopping)
		return;
	st->stopping = true;
	st->exit_code = code;
	st->stop_deadline = line_deadline(SEND_STOP_WAIT * 1000LL);
	log_info("stopping: %zu deliveries and %zu remote runs in flight",
	    st->busy, st->nruns);
}

int
send_loop_keeper(struct send_state *st, const char *lspawn_path)
{
	st->keeper_pid = send_keeper_start(lspawn_path, &st->keeper);
	if (st->keeper_pid == -1) {
		log_warn("unable to start the keeper of tern-lspawn");
		return -1;
	}
	return 0;
}

void
send_loop_rspawn(struct send_state *st, const char *remote_path,
    const char *resolve_path, const char *user)
{
	st->rspawn_pid = send_rspawn_start(remote_path, resolve_path, user,
	    &st->rspawn);
	if (st->rspawn_pid == -1) {
		log_warn("unable to start the remote spawner");
		st->rspawn = -1;
	}
}

static void
lspawn_start(struct send_state *st)
{
	int req[2], res[2];

	if (pipe2(req, O_CLOEXEC) == -1) {
		log_warn("unable to make a pipe for tern-lspawn");
		st->restart_at = line_deadline(st->backoff * 1000);
		return;
	}
	if (pipe2(res, O_CLOEXEC) == -1) {
		log_warn("unable to make a pipe for tern-lspawn");
		(void)close(req[0]);
		(void)close(req[1]);
		st->restart_at = line_deadline(st->backoff * 1000);
		return;
	}
	if (st->keeper == -1 || send_keeper_spawn(st->keeper, req[0],
	    res[1]) == -1) {
		log_warnx("cannot start tern-lspawn: its keeper is gone");
		begin_stop(st, 111);
		(void)close(req[1]);
		(void)close(res[0]);
		req[1] = -1;
	}
	/* Only tern-lspawn may hold these ends, or we never see EOF. */
	(void)close(req[0]);
	(void)close(res[1]);
	if (req[1] == -1)
		return;
	(void)io_nonblock(req[1], 1);
	(void)io_nonblock(res[0], 1);
	st->req_fd = req[1];
	st->res_fd = res[0];
	st->up = true;
	st->started_at = line_deadline(0);
	buf_reset(&st->out);
	buf_reset(&st->in);
}

/* tern-lspawn is gone (or we gave up on it): fail what was in flight. */
static void
lspawn_lost(struct send_state *st, const char *why, time_t now)
{
	int64_t mono = line_deadline(0);
	size_t s;

	if (st->req_fd != -1)
		(void)close(st->req_fd);
	if (st->res_fd != -1)
		(void)close(st->res_fd);
	st->req_fd = st->res_fd = -1;
	st->up = false;
	if (!st->stopping || st->busy > 0)
		log_warnx("tern-lspawn %s", why);
	for (s = 0; s < st->nslot; s++)
		if (st->slot[s].m != NULL)
			send_result(st, (unsigned)s, 'Z', "4.3.0",
			    "tern-lspawn died", now);
	if (mono - st->started_at > SEND_BACKOFF_MAX * 1000LL)
		st->backoff = 1;
	st->restart_at = mono + st->backoff * 1000;
	if (!st->stopping)
		log_info("restarting tern-lspawn in %lld s", st->backoff);
	st->backoff = st->backoff * 2 > SEND_BACKOFF_MAX ? SEND_BACKOFF_MAX :
	    st->backoff * 2;
}

static void
flush_requests(struct send_state *st, time_t now)
{
	ssize_t n;

	if (!st->up || st->req_fd == -1 || st->out.len == 0)
		return;
	n = write(st->req_fd, st->out.data, st->out.len);
	if (n > 0)
		buf_consume(&st->out, (size_t)n);
	else if (n == -1 && errno != EAGAIN && errno != EINTR)
		lspawn_lost(st, "stopped reading requests", now);
}

/* Apply every complete result in st->in: 0, or -1 on a protocol error. */
static int
parse_results(struct send_state *st, time_t now)
{
	struct send_result res;
	const char *why = NULL;
	size_t used;
	int r = 0;

	while (st->in.len > 0 && (r = send_result_parse(st->in.data,
	    st->in.len, &used, &res, &why)) == 1) {
		if (res.slot >= st->nslot || st->slot[res.slot].m == NULL) {
			log_warnx("tern-lspawn answered idle slot %u",
			    res.slot);
			return -1;
		}
		buf_consume(&st->in, used);
		send_result(st, res.slot, res.code, res.status, res.text, now);
		if (!st->up)
			return 0;
	}
	if (r == -1) {
		log_warnx("tern-lspawn protocol error: %s", why);
		return -1;
	}
	return 0;
}

static void
read_results(struct send_state *st, time_t now)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(st->res_fd, chunk, sizeof(chunk));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			lspawn_lost(st, n == 0 ? "exited" : "read error", now);
			return;
		}
		if (buf_append(&st->in, chunk, (size_t)n) == -1) {
			lspawn_lost(st, "sent too much", now);
			return;
		}
		if (parse_results(st, now) == -1) {
			lspawn_lost(st, "dropped after a protocol error", now);
			return;
		}
		if (!st->up)
			return;
	}
}

static void
cfg_warn(const char *file, const char *why)
{
	log_warnx("control/%s: %s: using the default", file, why);
}

/* Make room for cfg.concurrency slots; on failure fewer are used. */
static void
grow_slots(struct send_state *st)
{
	struct send_slot *ns;
	size_t want = (size_t)st->cfg.concurrency;

	if (want <= st->nslot)
		return;
	ns = reallocarray(st->slot, want, sizeof(*ns));
	if (ns == NULL) {
		log_warn("unable to allocate %zu slots", want);
		return;
	}
	memset(ns + st->nslot, 0, (want - st->nslot) * sizeof(*ns));
	st->slot = ns;
	st->nslot = want;
}

void
send_load_config(struct send_state *st)
{
	send_cfg_free(&st->cfg);
	send_cfg_load(&st->cfg, st->control, cfg_warn);
}

static void
reload(struct send_state *st, time_t now)
{
	send_load_config(st);
	grow_slots(st);
	if (st->next_rescan > now + st->cfg.rescan)
		st->next_rescan = now + st->cfg.rescan;
	log_info("control files reread: me=%s concurrencylocal=%lld "
	    "concurrencyremote=%lld concurrencydomain=%lld", st->cfg.me,
	    st->cfg.concurrency, st->cfg.rconc, st->cfg.dconc);
	if (st->keeper != -1 && st->up && send_keeper_hup(st->keeper) == -1)
		log_warn("unable to pass SIGHUP on to tern-lspawn");
}

static void
read_signals(struct send_state *st)
{
	unsigned char c[64];
	ssize_t n, i;

	while ((n = read(st->sigpipe[0], c, sizeof(c))) > 0)
		for (i = 0; i < n; i++) {
			if (c[i] == SIGTERM || c[i] == SIGINT)
				begin_stop(st, 0);
			else if (c[i] == SIGHUP)
				st->want_reload = true;
			else if (c[i] == SIGALRM)
				st->want_flush = true;
		}
}

static void
read_trigger(struct send_state *st)
{
	char c[512];
	ssize_t n;

	while ((n = read(st->trigger, c, sizeof(c))) > 0) {
		st->want_rescan = true;
		if (memchr(c, 'F', (size_t)n) != NULL)
			st->want_flush = true;
	}
}

static int64_t
real_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
min_wait(int64_t a, int64_t b)
{
	if (b < 0)
		b = 0;
	return a < 0 || b < a ? b : a;
}

/* Milliseconds until something is due, -1 for "only events". */
static int
next_timeout(const struct send_state *st)
{
	int64_t t = -1, rnow = real_ms(), mono = line_deadline(0);
	time_t due;

	/* send_pump takes due messages on these conditions. */
	if (!st->stopping && (TAILQ_EMPTY(&st->waitq) || (st->rspawn != -1 &&
	    st->nruns < (size_t)st->cfg.rconc)) &&
	    send_heap_peek(&st->heap, &due) != NULL)
		t = min_wait(t, (int64_t)due * 1000 - rnow);
	if (!st->stopping)
		t = min_wait(t, (int64_t)st->next_rescan * 1000 - rnow);
	if (!st->up && !st->stopping)
		t = min_wait(t, st->restart_at - mono);
	if (st->stopping)
		t = min_wait(t, st->stop_deadline - mono);
	return t > INT_MAX ? INT_MAX : (int)t;
}

static void
keeper_gone(struct send_state *st)
{
	int status;

	log_warnx("the keeper of tern-lspawn exited");
	(void)close(st->keeper);
	st->keeper = -1;
	(void)waitpid(st->keeper_pid, &status, WNOHANG);
}

static void
rspawn_gone(struct send_state *st)
{
	int status;

	log_warnx("the remote spawner exited: remote delivery stops");
	(void)close(st->rspawn);
	st->rspawn = -1;
	(void)waitpid(st->rspawn_pid, &status, WNOHANG);
}

/* Room for the fixed fds and one per run: false when out of memory. */
static bool
pfd_grow(struct send_state *st, size_t want)
{
	struct pollfd *np;

	if (want <= st->pfd_cap)
		return true;
	want += 64;
	if ((np = reallocarray(st->pfd, want, sizeof(*np))) == NULL)
		return false;
	st->pfd = np;
	st->pfd_cap = want;
	return true;
}

/* Read every run whose pipe has something (or EOF). */
static void
read_runs(struct send_state *st, const struct pollfd *pfd, nfds_t n,
    time_t now)
{
	struct send_run *run, *next;
	nfds_t i = 0;

	/* Runs are in pfd in list order; reading may end (free) a run. */
	for (run = TAILQ_FIRST(&st->runs); run != NULL && i < n; run = next,
	    i++) {
		next = TAILQ_NEXT(run, link);
		if (pfd[i].fd == run->fd && pfd[i].revents != 0)
			send_remote_read(st, run, now);
	}
}

static void
wait_events(struct send_state *st, time_t now)
{
	struct send_run *run;
	struct pollfd *pfd;
	nfds_t n = 0, i, nfix;

	if (!pfd_grow(st, 6 + st->nruns)) {
		log_warn("poll");
		(void)usleep(100000);
		return;
	}
	pfd = st->pfd;

	pfd[n].fd = st->sigpipe[0];
	pfd[n++].events = POLLIN;
	pfd[n].fd = st->trigger;
	pfd[n++].events = POLLIN;
	pfd[n].fd = st->keeper;		/* negative: ignored by poll */
	pfd[n++].events = POLLIN;
	pfd[n].fd = st->up ? st->res_fd : -1;
	pfd[n++].events = POLLIN;
	pfd[n].fd = st->up && st->out.len > 0 ? st->req_fd : -1;
	pfd[n++].events = POLLOUT;
	pfd[n].fd = st->rspawn;		/* it never writes: any event is EOF */
	pfd[n++].events = POLLIN;
	nfix = n;
	TAILQ_FOREACH(run, &st->runs, link) {
		pfd[n].fd = run->fd;
		pfd[n++].events = POLLIN;
	}
	if (poll(pfd, n, next_timeout(st)) == -1) {
		if (errno != EINTR)
			log_warn("poll");
		return;
	}
	for (i = 0; i < n; i++)
		if (pfd[i].fd < 0)
			pfd[i].revents = 0;
	now = time(NULL);
	if (pfd[0].revents)
		read_signals(st);
	if (pfd[1].revents)
		read_trigger(st);
	if (pfd[2].revents)
		keeper_gone(st);
	if (pfd[3].revents && st->up)
		read_results(st, now);
	if (pfd[4].revents && st->up)
		flush_requests(st, now);
	if (pfd[5].revents && st->rspawn != -1)
		rspawn_gone(st);
	read_runs(st, pfd + nfix, n - nfix, now);
}

/* One turn of the loop before waiting; false when it is time to exit. */
static bool
turn(struct send_state *st, time_t now)
{
	if (st->want_reload) {
		st->want_reload = false;
		reload(st, now);
	}
	if (st->want_rescan || now >= st->next_rescan) {
		st->want_rescan = false;
		send_rescan(st, now);
		st->next_rescan = now + st->cfg.rescan;
	}
	if (st->want_flush) {
		st->want_flush = false;
		send_heap_advance_all(&st->heap, now);
		send_msg_flush_remote(st);
	}
	if (!st->up && !st->stopping && line_deadline(0) >= st->restart_at)
		lspawn_start(st);
	send_remote_pump(st, now);
	send_pump(st, now);
	flush_requests(st, now);
	if (!st->stopping)
		return true;
	if (st->up && st->req_fd != -1 && st->out.len == 0) {
		/* EOF on its requests makes tern-lspawn finish and exit. */
		(void)close(st->req_fd);
		st->req_fd = -1;
	}
	if ((st->busy == 0 || !st->up) && st->nruns == 0)
		return false;
	if (line_deadline(0) >= st->stop_deadline) {
		log_warnx("giving up on %zu deliveries and %zu remote runs in "
		    "flight", st->up ? st->busy : 0, st->nruns);
		return false;
	}
	return true;
}

static int
open_trigger(struct send_state *st)
{
	char p[PATH_MAX];

	if (send_path(p, sizeof(p), st->spool, SPOOL_TRIGGER, NULL) == -1)
		return -1;
	/* O_RDWR: a writer always exists, so the fifo never reads EOF. */
	st->trigger = open(p, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (st->trigger == -1) {
		log_warn("unable to open %s", p);
		return -1;
	}
	return 0;
}

int
send_loop_run(struct send_state *st)
{
	time_t now;

	if (signals_setup(st) == -1) {
		log_warn("unable to set up signals");
		return 111;
	}
	if (open_trigger(st) == -1)
		return 111;
	buf_init(&st->out, SEND_OUT_MAX);
	buf_init(&st->in, SEND_IN_MAX);
	grow_slots(st);
	log_info("started: spool=%s concurrencylocal=%lld "
	    "concurrencyremote=%lld", st->spool, st->cfg.concurrency,
	    st->cfg.rconc);
	now = time(NULL);
	send_spool_clean(st->spool, now);
	st->want_rescan = true;
	while (turn(st, time(NULL)))
		wait_events(st, time(NULL));
	if (st->keeper != -1)
		(void)close(st->keeper);
	/* EOF makes the spawner stop the runs still going (SIGTERM). */
	send_remote_abandon(st);
	if (st->rspawn != -1)
		(void)close(st->rspawn);
	log_info("exiting");
	return st->exit_code;
}
