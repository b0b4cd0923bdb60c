/* server: tern-resolve's pipe protocol loop and its command mode. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "line.h"
#include "log.h"
#include "server.h"

struct server {
	struct buf	 in;
	struct buf	 out;
	bool		 eof;
	bool		 failed;	/* out of memory for replies */
};

static void
log_reply(const struct rsv_req *rq)
{
	char	name[DNSP_NAME_MAX * 4 + 8], text[DNSP_TEXT_MAX * 4 + 8];

	if (rq->rep.letter == 'K')
		return;
	log_info("%lu %s %s: %c %s %s", rq->id, dnsp_type_name(rq->type),
	    log_esc(name, sizeof(name), rq->name, strlen(rq->name)),
	    rq->rep.letter, rq->rep.status,
	    log_esc(text, sizeof(text), rq->rep.text, strlen(rq->rep.text)));
}

static void
serve_done(struct rsv *rsv, struct rsv_req *rq, void *arg)
{
	struct server	*sv = arg;

	(void)rsv;
	log_reply(rq);
	if (dnsp_reply_format(&sv->out, rq->id, &rq->rep) == -1)
		sv->failed = true;
}

/* Take every complete request from the input: 0, or -1 (logged). */
static int
take_requests(struct rsv *rsv, struct server *sv)
{
	struct dnsp_req	 q;
	const char	*err;
	size_t		 used;
	int		 r;

	while (sv->in.len > 0 && rsv->nreqs < RSV_INFLIGHT_MAX) {
		r = dnsp_req_parse(sv->in.data, sv->in.len, &used, &q, &err);
		if (r == 0)
			break;
		if (r == -1 || rsv_busy(rsv, q.id)) {
			log_warnx("protocol error: %s", r == -1 ? err :
			    "request id already in flight");
			return -1;
		}
		buf_consume(&sv->in, used);
		if (rsv_submit(rsv, &q, line_deadline(0)) == -1) {
			log_warn("cannot start a lookup");
			return -1;
		}
	}
	if (sv->eof && sv->in.len > 0 && rsv->nreqs < RSV_INFLIGHT_MAX) {
		log_warnx("protocol error: incomplete request at end of input");
		return -1;
	}
	return 0;
}

static int
read_input(struct rsv *rsv, struct server *sv)
{
	char	chunk[4096];
	size_t	room = sv->in.max - sv->in.len;
	ssize_t	n;

	n = io_read(0, chunk, room < sizeof(chunk) ? room : sizeof(chunk));
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n == -1) {
		log_warn("read requests");
		return -1;
	}
	if (n == 0)
		sv->eof = true;
	else if (buf_append(&sv->in, chunk, (size_t)n) == -1) {
		log_warn("request buffer");
		return -1;
	}
	return take_requests(rsv, sv);
}

static int
write_output(struct server *sv)
{
	ssize_t	n;

	n = write(1, sv->out.data, sv->out.len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == -1) {
		log_warn("write replies");
		return -1;
	}
	buf_consume(&sv->out, (size_t)n);
	return 0;
}

/* One poll round: 0 go on, 1 finished, -1 failed (logged). */
static int
serve_round(struct rsv *rsv, struct server *sv)
{
	struct pollfd	pfd[3];
	int64_t		now = line_deadline(0), next;
	int		timeout;

	next = rsv_expire(rsv, now);
	if (sv->failed) {
		log_warnx("cannot buffer replies");
		return -1;
	}
	if (take_requests(rsv, sv) == -1)
		return -1;
	if (sv->eof && rsv->nreqs == 0 && sv->in.len == 0 && sv->out.len == 0)
		return 1;
	timeout = next == -1 ? -1 : next - now > 60000 ? 60000 :
	    (int)(next - now);
	pfd[0].fd = !sv->eof && rsv->nreqs < RSV_INFLIGHT_MAX &&
	    sv->out.len < RSV_OUT_HIGH &&
	    sv->in.max - sv->in.len >= DNSP_REQ_MAX ? 0 : -1;
	pfd[1].fd = rsv_fd(rsv);
	pfd[2].fd = sv->out.len > 0 ? 1 : -1;
	pfd[0].events = pfd[1].events = POLLIN;
	pfd[2].events = POLLOUT;
	if (poll(pfd, 3, timeout) == -1) {
		if (errno == EINTR)
			return 0;
		log_warn("poll");
		return -1;
	}
	if ((pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    rsv_process(rsv) == -1) {
		log_warnx("resolver failed");
		return -1;
	}
	if ((pfd[2].revents & (POLLOUT | POLLERR | POLLHUP)) &&
	    write_output(sv) == -1)
		return -1;
	if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    read_input(rsv, sv) == -1)
		return -1;
	return 0;
}

int
rsv_serve(struct rsv *rsv)
{
	struct server	sv;
	int		r;

	memset(&sv, 0, sizeof(sv));
	buf_init(&sv.in, RSV_IN_MAX);
	buf_init(&sv.out, RSV_OUT_MAX);
	rsv->done = serve_done;
	rsv->arg = &sv;
	(void)signal(SIGPIPE, SIG_IGN);
	if (io_nonblock(0, 1) == -1 || io_nonblock(1, 1) == -1) {
		log_warn("fds 0 and 1");
		return 111;
	}
	while ((r = serve_round(rsv, &sv)) == 0)
		;
	/* The fds may be shared with a terminal: leave them as found. */
	(void)io_nonblock(0, 0);
	(void)io_nonblock(1, 0);
	buf_free(&sv.in);
	buf_free(&sv.out);
	return r == 1 ? 0 : 111;
}

static void
command_done(struct rsv *rsv, struct rsv_req *rq, void *arg)
{
	static const char *const sec[] = { "insecure", "secure", "bogus" };
	const struct dnsp_reply	*r = &rq->rep;
	size_t			 pos = 0;
	int			*status = arg;

	(void)rsv;
	printf("%s %s: %c %s %s (%s)\n", dnsp_type_name(rq->type), rq->name,
	    r->letter, r->status, r->text, sec[r->sec]);
	if (r->canon[0] != '\0')
		printf("canonical name %s\n", r->canon);
	while (pos < r->recs.len) {
		printf("%s\n", r->recs.data + pos + 1);
		pos += strlen(r->recs.data + pos) + 1;
	}
	*status = r->letter == 'K' ? 0 : r->letter == 'D' ? 100 : 111;
}

int
rsv_command(struct rsv *rsv, enum dnsp_type type, const char *name)
{
	struct dnsp_req	q;
	struct pollfd	pfd;
	int64_t		now, next;
	int		status = -1;

	rsv->done = command_done;
	rsv->arg = &status;
	memset(&q, 0, sizeof(q));
	q.type = type;
	if (strlcpy(q.name, name, sizeof(q.name)) >= sizeof(q.name)) {
		log_warnx("name too long");
		return 100;
	}
	if (rsv_submit(rsv, &q, line_deadline(0)) == -1) {
		log_warn("cannot start the lookup");
		return 111;
	}
	while (status == -1) {
		now = line_deadline(0);
		if ((next = rsv_expire(rsv, now)) == -1)
			break;
		pfd.fd = rsv_fd(rsv);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(next - now)) == -1 && errno != EINTR)
			return 111;
		if (pfd.revents != 0 && rsv_process(rsv) == -1)
			return 111;
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		return 111;
	return status == -1 ? 111 : status;
}
