/* tls_relay: the poll loop between the client and the program. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "io.h"
#include "log.h"
#include "tls.h"
#include "tlsctl.h"

/* Indexes of tls_relay.want and of the pollfd array. */
enum { W_CIN, W_COUT, W_PIN, W_POUT, W_CTL, W_N };

/* Result of one step: it moved bytes (or hit an end), or it could not. */
enum { STEP_IDLE, STEP_MOVED };

static int64_t
tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
tls_relay_init(struct tls_relay *r, int crfd, int cwfd, int pfd, int ctlfd,
    struct tls_store *st, const char *peer, int64_t idle_ms)
{
	memset(r, 0, sizeof(*r));
	r->crfd = crfd;
	r->cwfd = cwfd;
	r->pfd = pfd;
	r->ctlfd = ctlfd;
	r->store = st;
	r->peer = peer;
	r->idle_ms = idle_ms;
	r->ctl_eof = ctlfd == -1;
	if (io_nonblock(crfd, 1) == -1 || io_nonblock(cwfd, 1) == -1 ||
	    io_nonblock(pfd, 1) == -1 ||
	    (ctlfd != -1 && io_nonblock(ctlfd, 1) == -1))
		return -1;
	return 0;
}

/* Log why the TLS connection broke (a reset, or a TLS error). */
static void
tls_relay_why(struct tls_relay *r, int n)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = NULL;

	if (e != 0)
		s = ERR_reason_error_string(e);
	if (s == NULL && SSL_get_error(r->ssl, n) == SSL_ERROR_SYSCALL &&
	    errno != 0)
		s = strerror(errno);
	log_info("%s: tls connection ended: %s", r->peer,
	    s != NULL ? s : "connection closed");
	ERR_clear_error();
}

/* Map an SSL result that moved nothing to want flags; -1: fatal. */
static int
tls_ssl_wait(struct tls_relay *r, int n)
{
	switch (SSL_get_error(r->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		r->want[W_CIN] |= POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		r->want[W_COUT] |= POLLOUT;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		r->c_eof = true;
		return 0;
	}
	tls_relay_why(r, n);
	return -1;
}

/*
 * Before STARTTLS: the program's "go ahead" reply may reach the client,
 * and the client's ClientHello come back, before the program's 'Y' has
 * reached us.  Relayed as plaintext, the ClientHello would be lost, so
 * client input that starts with a TLS handshake record (0x16, which no
 * text protocol starts a line with) is left in the socket for a while,
 * for the handshake to read.  True: do not read the client now.
 */
static bool
tls_hold(struct tls_relay *r)
{
	unsigned char c;

	if (r->ctl_eof || r->hold_over)
		return false;
	if (r->hold_until != 0) {
		if (tls_now_ms() < r->hold_until)
			return true;
		r->hold_over = true;	/* no 'Y': it is the program's data */
		return false;
	}
	if (recv(r->crfd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1 && c == 0x16) {
		r->hold_until = tls_now_ms() + TLS_HOLD_MS;
		return true;
	}
	return false;
}

/* Client to buffer: SSL_read or read. */
static int
tls_client_in(struct tls_relay *r)
{
	size_t room = sizeof(r->c2p) - r->c2p_len;
	ssize_t n;

	if (r->c_eof || room == 0)
		return STEP_IDLE;
	if (r->ssl != NULL) {
		ERR_clear_error();
		errno = 0;
		n = SSL_read(r->ssl, r->c2p + r->c2p_len, (int)room);
		if (n <= 0) {
			if (tls_ssl_wait(r, (int)n) == -1)
				r->c_eof = r->c_dead = true;
			return r->c_eof ? STEP_MOVED : STEP_IDLE;
		}
	} else {
		if (tls_hold(r))
			return STEP_IDLE;
		n = read(r->crfd, r->c2p + r->c2p_len, room);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			r->want[W_CIN] |= POLLIN;
			return STEP_IDLE;
		}
		if (n <= 0) {
			r->c_eof = true;
			return STEP_MOVED;
		}
		r->hold_until = 0;
		r->hold_over = false;
	}
	r->c2p_len += (size_t)n;
	return STEP_MOVED;
}

/* Buffer to client: SSL_write or write. */
static int
tls_client_out(struct tls_relay *r)
{
	ssize_t n;

	if (r->p2c_len == 0 || r->c_dead)
		return STEP_IDLE;
	if (r->ssl != NULL) {
		ERR_clear_error();
		errno = 0;
		n = SSL_write(r->ssl, r->p2c, (int)r->p2c_len);
		if (n <= 0) {
			if (tls_ssl_wait(r, (int)n) == -1)
				r->c_dead = true;
			return r->c_dead ? STEP_MOVED : STEP_IDLE;
		}
	} else {
		n = write(r->cwfd, r->p2c, r->p2c_len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			r->want[W_COUT] |= POLLOUT;
			return STEP_IDLE;
		}
		if (n <= 0) {
			r->c_dead = true;
			return STEP_MOVED;
		}
	}
	memmove(r->p2c, r->p2c + n, r->p2c_len - (size_t)n);
	r->p2c_len -= (size_t)n;
	return STEP_MOVED;
}

/* Program to buffer. */
static int
tls_prog_in(struct tls_relay *r)
{
	size_t room = sizeof(r->p2c) - r->p2c_len;
	ssize_t n;

	if (r->p_eof || room == 0)
		return STEP_IDLE;
	n = read(r->pfd, r->p2c + r->p2c_len, room);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		r->want[W_PIN] |= POLLIN;
		return STEP_IDLE;
	}
	if (n <= 0) {
		r->p_eof = true;
		return STEP_MOVED;
	}
	r->p2c_len += (size_t)n;
	return STEP_MOVED;
}

/* Buffer to program; a program that went away ends its direction. */
static int
tls_prog_out(struct tls_relay *r)
{
	ssize_t n;

	if (r->c2p_len == 0)
		return STEP_IDLE;
	if (r->p_eof) {
		r->c2p_len = 0;
		return STEP_MOVED;
	}
	n = write(r->pfd, r->c2p, r->c2p_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		r->want[W_POUT] |= POLLOUT;
		return STEP_IDLE;
	}
	if (n <= 0) {
		r->p_eof = true;
		r->c2p_len = 0;
		return STEP_MOVED;
	}
	memmove(r->c2p, r->c2p + n, r->c2p_len - (size_t)n);
	r->c2p_len -= (size_t)n;
	return STEP_MOVED;
}

int
tls_ctl_send(int ctlfd, bool ok, const char *a, const char *b, int fd)
{
	struct tlsctl_reply rep;
	char line[TLSCTL_LINE_MAX];
	int n;

	memset(&rep, 0, sizeof(rep));
	rep.ok = ok;
	(void)strlcpy(ok ? rep.proto : rep.reason, a, ok ?
	    sizeof(rep.proto) : sizeof(rep.reason));
	if (ok)
		(void)strlcpy(rep.cipher, b, sizeof(rep.cipher));
	if ((n = tlsctl_reply_format(line, sizeof(line), &rep)) == -1)
		return -1;
	/*
	 * A reply is short and the program waits for it: a full socket
	 * means a program that does not follow the protocol.
	 */
	return io_send_fds(ctlfd, line, (size_t)n, &fd, fd != -1 ? 1 : 0, 0);
}

/* Requests on the control socket, one byte at a time. */
static int
tls_ctl_in(struct tls_relay *r, bool *start)
{
	enum tlsctl_req q;
	size_t used;
	ssize_t n;
	char c;

	if (r->ctl_eof)
		return STEP_IDLE;
	n = read(r->ctlfd, &c, 1);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		r->want[W_CTL] |= POLLIN;
		return STEP_IDLE;
	}
	if (n <= 0) {
		r->ctl_eof = true;	/* the program gave up STARTTLS */
		return STEP_MOVED;
	}
	q = tlsctl_request_parse(&c, 1, &used);
	if (q == TLSCTL_START && r->ssl == NULL) {
		*start = true;
		return STEP_MOVED;
	}
	if (tls_ctl_send(r->ctlfd, false, q == TLSCTL_START ?
	    "already active" : "bad request", NULL, -1) == -1)
		r->ctl_eof = true;
	log_warnx("%s: control request refused: %s", r->peer,
	    q == TLSCTL_START ? "TLS already active" : "bad request");
	return STEP_MOVED;
}

/* Half-close toward the program once the client said all it will. */
static void
tls_half_close(struct tls_relay *r)
{
	if (r->c_eof && r->c2p_len == 0 && !r->p_shut && !r->p_eof) {
		shutdown(r->pfd, SHUT_WR);
		r->p_shut = true;
	}
}

/* One pass over every direction; true when anything moved. */
static bool
tls_pass(struct tls_relay *r, bool *start)
{
	int moved = 0;

	memset(r->want, 0, sizeof(r->want));
	if (r->ssl == NULL)
		moved |= tls_ctl_in(r, start);
	if (*start)
		return true;
	moved |= tls_client_in(r);
	moved |= tls_prog_out(r);
	moved |= tls_prog_in(r);
	moved |= tls_client_out(r);
	if (r->ssl != NULL)
		moved |= tls_ctl_in(r, start);	/* only refusals now */
	tls_half_close(r);
	return moved != 0;
}

/* Wait for what the last pass wanted; -1 on idle timeout. */
static int
tls_wait(struct tls_relay *r, int64_t deadline)
{
	const int fds[W_N] = { r->crfd, r->cwfd, r->pfd, r->pfd, r->ctlfd };
	struct pollfd pfd[W_N];
	int64_t left, hold;
	nfds_t n = 0;
	int i;

	for (i = 0; i < W_N; i++) {
		if (r->want[i] == 0 || fds[i] == -1)
			continue;
		pfd[n].fd = fds[i];
		pfd[n].events = r->want[i];
		pfd[n++].revents = 0;
	}
	if (n == 0)
		return -1;	/* nothing can move again */
	if ((left = deadline - tls_now_ms()) <= 0)
		return -1;
	if (r->hold_until != 0 && !r->hold_over) {
		hold = r->hold_until - tls_now_ms();
		if (hold < 0)
			hold = 0;
		if (hold + 1 < left)
			left = hold + 1;
	}
	if (poll(pfd, n, left > 0x7fffffff ? 0x7fffffff : (int)left) == -1 &&
	    errno != EINTR)
		return -1;
	return 0;
}

enum tls_end
tls_relay_run(struct tls_relay *r)
{
	int64_t deadline = tls_now_ms() + r->idle_ms;
	bool start = false, moved;

	for (;;) {
		moved = tls_pass(r, &start);
		if (moved)
			deadline = tls_now_ms() + r->idle_ms;
		if (start)
			return TLS_END_START;
		if (r->c_dead || (r->p_eof && r->p2c_len == 0))
			break;
		/*
		 * Wait only when a whole pass moved nothing: the wants of a
		 * pass that moved bytes are incomplete.
		 */
		if (!moved && tls_wait(r, deadline) == -1) {
			if (tls_now_ms() >= deadline)
				log_info("%s: idle timeout", r->peer);
			break;
		}
	}
	if (r->ssl != NULL && !r->c_dead) {
		ERR_clear_error();
		(void)SSL_shutdown(r->ssl);	/* close_notify, best effort */
	}
	if (!r->c_dead)
		shutdown(r->cwfd, SHUT_WR);
	return TLS_END_DONE;
}
