/* server: tern-resolve's pipe protocol loops and its command mode. */
#include <sys/socket.h>
#include <sys/stat.h>

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

/* One peer speaking the pipe protocol: fds 0 and 1, or a socket. */
struct client {
	int		 rfd, wfd;
	struct buf	 in;
	struct buf	 out;
	size_t		 nreqs;		/* its lookups in the engine */
	bool		 eof;
	bool		 failed;	/* out of memory for replies */
	bool		 dead;		/* dropped: freed by the sweep */
	int		 pr, pw;	/* this round's poll entries, or -1 */
	char		 tag[32];	/* log prefix: "" or "client N: " */
};

struct server {
	struct rsv	*rsv;
	struct client	*cl[RSV_CLIENTS_MAX];
	size_t		 ncl;
	int		 ctl;		/* -F: clients come from here; -1 */
	bool		 shared;	/* -F: an error drops one client */
	bool		 broken;	/* pipe mode: a client error ends all */
	unsigned long	 served;	/* clients taken so far */
	struct pollfd	 pfd[2 + 2 * RSV_CLIENTS_MAX];
};

static struct client *
client_new(struct server *sv, int rfd, int wfd)
{
	struct client	*c;

	if (sv->ncl >= RSV_CLIENTS_MAX || (c = calloc(1, sizeof(*c))) ==
	    NULL)
		return NULL;
	c->rfd = rfd;
	c->wfd = wfd;
	buf_init(&c->in, RSV_IN_MAX);
	buf_init(&c->out, RSV_OUT_MAX);
	sv->served++;
	if (sv->shared)
		(void)snprintf(c->tag, sizeof(c->tag), "client %lu: ",
		    sv->served);
	sv->cl[sv->ncl++] = c;
	return c;
}

/* Forget slot i: its lookups are cancelled, a socket is closed. */
static void
client_free(struct server *sv, size_t i)
{
	struct client	*c = sv->cl[i];

	(void)rsv_forget(sv->rsv, c);
	if (sv->shared)
		close(c->rfd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	sv->cl[i] = sv->cl[--sv->ncl];
}

/* A client that broke the protocol or cannot be written to. */
static void
client_drop(struct server *sv, struct client *c)
{
	c->dead = true;
	if (!sv->shared)
		sv->broken = true;
}

static bool
client_finished(const struct client *c)
{
	return c->eof && c->nreqs == 0 && c->in.len == 0 && c->out.len == 0;
}

static void
log_reply(const struct client *c, const struct rsv_req *rq)
{
	char	name[DNSP_NAME_MAX * 4 + 8], text[DNSP_TEXT_MAX * 4 + 8];

	if (rq->rep.letter == 'K')
		return;
	log_info("%s%lu %s %s: %c %s %s", c->tag, rq->id,
	    dnsp_type_name(rq->type),
	    log_esc(name, sizeof(name), rq->name, strlen(rq->name)),
	    rq->rep.letter, rq->rep.status,
	    log_esc(text, sizeof(text), rq->rep.text, strlen(rq->rep.text)));
}

static void
serve_done(struct rsv *rsv, struct rsv_req *rq, void *arg)
{
	struct client	*c = rq->owner;

	(void)rsv;
	(void)arg;
	c->nreqs--;
	if (c->dead)
		return;
	log_reply(c, rq);
	if (dnsp_reply_format(&c->out, rq->id, &rq->rep) == -1)
		c->failed = true;
}

static bool
may_take(const struct server *sv, const struct client *c)
{
	return c->nreqs < RSV_CLIENT_INFLIGHT_MAX &&
	    sv->rsv->nreqs < RSV_INFLIGHT_MAX;
}

/* Take every complete request from c's input: 0, or -1 (logged). */
static int
take_requests(struct server *sv, struct client *c)
{
	struct dnsp_req	 q;
	const char	*err;
	size_t		 used;
	int		 r;

	while (!c->dead && c->in.len > 0 && may_take(sv, c)) {
		r = dnsp_req_parse(c->in.data, c->in.len, &used, &q, &err);
		if (r == 0)
			break;
		if (r == -1 || rsv_busy(sv->rsv, c, q.id)) {
			log_warnx("%sprotocol error: %s", c->tag, r == -1 ?
			    err : "request id already in flight");
			return -1;
		}
		buf_consume(&c->in, used);
		c->nreqs++;
		if (rsv_submit(sv->rsv, &q, c, line_deadline(0)) == -1) {
			c->nreqs--;
			log_warn("%scannot start a lookup", c->tag);
			return -1;
		}
	}
	if (c->eof && c->in.len > 0 && may_take(sv, c)) {
		log_warnx("%sprotocol error: incomplete request at end of "
		    "input", c->tag);
		return -1;
	}
	return 0;
}

static int
read_input(struct server *sv, struct client *c)
{
	char	chunk[4096];
	size_t	room = c->in.max - c->in.len;
	ssize_t	n;

	n = io_read(c->rfd, chunk, room < sizeof(chunk) ? room :
	    sizeof(chunk));
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n == -1) {
		log_warn("%sread requests", c->tag);
		return -1;
	}
	if (n == 0)
		c->eof = true;
	else if (buf_append(&c->in, chunk, (size_t)n) == -1) {
		log_warn("%srequest buffer", c->tag);
		return -1;
	}
	return take_requests(sv, c);
}

static int
write_output(struct client *c)
{
	ssize_t	n;

	n = write(c->wfd, c->out.data, c->out.len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == -1) {
		log_warn("%swrite replies", c->tag);
		return -1;
	}
	buf_consume(&c->out, (size_t)n);
	return 0;
}

/*
 * Take the fds of one control message: the client socket, or -1 for a
 * message to ignore (every fd it carried closed).
 */
static int
ctl_fds(struct msghdr *mh, char byte)
{
	struct cmsghdr	*cm;
	struct stat	 st;
	int		 fds[RSV_ACCEPT_BURST], nfd = 0, i, n;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n && nfd < RSV_ACCEPT_BURST; i++)
			memcpy(&fds[nfd++], CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
	}
	if (byte == 'C' && nfd == 1 && !(mh->msg_flags & MSG_CTRUNC) &&
	    fstat(fds[0], &st) == 0 && S_ISSOCK(st.st_mode))
		return fds[0];
	for (i = 0; i < nfd; i++)
		close(fds[i]);
	log_warnx("control: ignored a message that is not 'C' with one "
	    "socket");
	return -1;
}

/* One message on the control socket: 1 taken, 0 none waiting, -1 EOF. */
static int
ctl_recv(struct server *sv)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cmsg;
	struct msghdr	mh;
	struct iovec	iov;
	char		byte;
	ssize_t		n;
	int		fd;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsg.buf;
	mh.msg_controllen = sizeof(cmsg.buf);
	n = recvmsg(sv->ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		if (n == -1)
			log_warn("control: receive");
		return -1;
	}
	if ((fd = ctl_fds(&mh, byte)) == -1)
		return 1;
	if (sv->ncl >= RSV_CLIENTS_MAX)
		log_warnx("control: %zu clients already, one more refused",
		    sv->ncl);
	else if (io_nonblock(fd, 1) == -1 || client_new(sv, fd, fd) == NULL)
		log_warn("control: cannot take a client");
	else
		return 1;
	close(fd);
	return 1;
}

/* Take the clients waiting on the control socket, a bounded number. */
static void
ctl_accept(struct server *sv)
{
	int	i, r = 1;

	for (i = 0; i < RSV_ACCEPT_BURST && r == 1; i++)
		r = ctl_recv(sv);
	if (r == -1) {
		/* no more clients; the ones connected are served out */
		sv->ctl = -1;
		log_info("control closed: %zu clients left to finish",
		    sv->ncl);
	}
}

/* Drop the dead, close the finished, take what was buffered. */
static void
sweep(struct server *sv)
{
	struct client	*c;
	size_t		 i = 0;

	while (i < sv->ncl) {
		c = sv->cl[i];
		if (!c->dead && c->failed) {
			log_warnx("%scannot buffer replies", c->tag);
			client_drop(sv, c);
		}
		if (!c->dead && take_requests(sv, c) == -1)
			client_drop(sv, c);
		if (c->dead || client_finished(c))
			client_free(sv, i);	/* slot i is refilled */
		else
			i++;
	}
}

static void
poll_add(struct server *sv, nfds_t *n, int fd, short ev, int *idx)
{
	/*
	 * A socket (rfd == wfd) gets one entry: nfds must stay below the
	 * open file limit, or poll(2) fails with EINVAL.
	 */
	if (*idx == -1 || sv->pfd[*idx].fd != fd) {
		*idx = (int)(*n)++;
		sv->pfd[*idx].fd = fd;
		sv->pfd[*idx].events = 0;
	}
	sv->pfd[*idx].events |= ev;
}

/* Fill sv->pfd: ctl, the resolver, then each client's fds; nfds. */
static nfds_t
poll_setup(struct server *sv)
{
	struct client	*c;
	nfds_t		 n = 2;
	size_t		 i;

	sv->pfd[0].fd = sv->ctl;
	sv->pfd[1].fd = rsv_fd(sv->rsv);
	sv->pfd[0].events = sv->pfd[1].events = POLLIN;
	for (i = 0; i < sv->ncl; i++) {
		c = sv->cl[i];
		c->pr = c->pw = -1;
		if (!c->eof && may_take(sv, c) && c->out.len < RSV_OUT_HIGH &&
		    c->in.max - c->in.len >= DNSP_REQ_MAX)
			poll_add(sv, &n, c->rfd, POLLIN, &c->pr);
		if (c->out.len == 0)
			continue;
		c->pw = c->pr;
		poll_add(sv, &n, c->wfd, POLLOUT, &c->pw);
	}
	return n;
}

static bool
ready(const struct server *sv, int idx, short ev)
{
	return idx != -1 && (sv->pfd[idx].revents & (ev | POLLERR | POLLHUP));
}

static void
poll_clients(struct server *sv)
{
	struct client	*c;
	size_t		 i;

	for (i = 0; i < sv->ncl; i++) {
		c = sv->cl[i];
		if (!c->dead && ready(sv, c->pw, POLLOUT) &&
		    write_output(c) == -1)
			client_drop(sv, c);
		if (!c->dead && ready(sv, c->pr, POLLIN) &&
		    read_input(sv, c) == -1)
			client_drop(sv, c);
	}
}

/* One poll round: 0 go on, 1 finished, -1 failed (logged). */
static int
serve_round(struct server *sv)
{
	int64_t	now = line_deadline(0), next;
	nfds_t	n;
	int	timeout;

	next = rsv_expire(sv->rsv, now);
	sweep(sv);
	if (sv->broken)
		return -1;
	if (sv->ctl == -1 && sv->ncl == 0)
		return 1;
	timeout = next == -1 ? -1 : next - now > 60000 ? 60000 :
	    (int)(next - now);
	n = poll_setup(sv);
	if (poll(sv->pfd, n, timeout) == -1) {
		if (errno == EINTR)
			return 0;
		log_warn("poll");
		return -1;
	}
	if ((sv->pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    rsv_process(sv->rsv) == -1) {
		log_warnx("resolver failed");
		return -1;
	}
	poll_clients(sv);
	if (sv->ctl != -1 && (sv->pfd[0].revents & (POLLIN | POLLHUP |
	    POLLERR)))
		ctl_accept(sv);
	return 0;
}

/* Run the loop until it ends; free what is left.  The exit status. */
static int
serve_loop(struct server *sv)
{
	int	r;

	sv->rsv->done = serve_done;
	sv->rsv->arg = sv;
	(void)signal(SIGPIPE, SIG_IGN);
	while ((r = serve_round(sv)) == 0)
		;
	while (sv->ncl > 0)
		client_free(sv, 0);
	return r == 1 ? 0 : 111;
}

int
rsv_serve(struct rsv *rsv)
{
	struct server	*sv;
	int		 status = 111;

	if ((sv = calloc(1, sizeof(*sv))) == NULL) {
		log_warn("server state");
		return 111;
	}
	sv->rsv = rsv;
	sv->ctl = -1;
	if (io_nonblock(0, 1) == -1 || io_nonblock(1, 1) == -1)
		log_warn("fds 0 and 1");
	else if (client_new(sv, 0, 1) == NULL)
		log_warn("client state");
	else
		status = serve_loop(sv);
	/* The fds may be shared with a terminal: leave them as found. */
	(void)io_nonblock(0, 0);
	(void)io_nonblock(1, 0);
	free(sv);
	return status;
}

int
rsv_serve_shared(struct rsv *rsv)
{
	struct server	*sv;
	int		 status;

	if ((sv = calloc(1, sizeof(*sv))) == NULL) {
		log_warn("server state");
		return 111;
	}
	sv->rsv = rsv;
	sv->ctl = 0;
	sv->shared = true;
	status = serve_loop(sv);
	log_info("%lu clients served", sv->served);
	free(sv);
	return status;
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
	if (rsv_submit(rsv, &q, NULL, line_deadline(0)) == -1) {
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
