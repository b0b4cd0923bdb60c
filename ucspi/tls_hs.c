/* tls_hs: the handshake, and the STARTTLS switch of sockets. */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "io.h"
#include "line.h"
#include "log.h"
#include "tls.h"

/* Why the handshake failed, from OpenSSL's error queue or errno. */
static void
tls_hs_why(SSL *ssl, int n, char *why, size_t whysz)
{
	unsigned long e = ERR_peek_last_error();
	const char *s;

	if (e != 0 && (s = ERR_reason_error_string(e)) != NULL)
		(void)snprintf(why, whysz, "%s", s);
	else if (SSL_get_error(ssl, n) == SSL_ERROR_SYSCALL && errno != 0)
		(void)snprintf(why, whysz, "%s", strerror(errno));
	else
		(void)snprintf(why, whysz, "connection closed");
	ERR_clear_error();
}

/* SSL_accept until done, the deadline, or an error. */
static int
tls_hs_accept(SSL *ssl, int rfd, int wfd, char *why, size_t whysz)
{
	int64_t deadline = line_deadline(TLS_HANDSHAKE_MS);
	int n, e;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((n = SSL_accept(ssl)) == 1)
			return 0;
		e = SSL_get_error(ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			tls_hs_why(ssl, n, why, whysz);
			return -1;
		}
		if (io_wait(e == SSL_ERROR_WANT_READ ? rfd : wfd,
		    e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    deadline) == -1) {
			(void)snprintf(why, whysz, "timeout");
			return -1;
		}
	}
}

int
tls_handshake(struct tls_relay *r, char *why, size_t whysz)
{
	char sni[TLS_NAME_MAX];
	SSL *ssl;

	if ((ssl = tls_store_ssl(r->store)) == NULL ||
	    SSL_set_rfd(ssl, r->crfd) != 1 || SSL_set_wfd(ssl, r->cwfd) != 1) {
		(void)snprintf(why, whysz, "cannot set up TLS");
		SSL_free(ssl);
		log_warnx("%s: tls handshake failed: %s", r->peer, why);
		return -1;
	}
	if (tls_hs_accept(ssl, r->crfd, r->cwfd, why, whysz) == -1) {
		log_esc(sni, sizeof(sni), r->store->sni ? r->store->sni : "-",
		    strlen(r->store->sni ? r->store->sni : "-"));
		log_info("%s: tls handshake failed: %s sni=%s", r->peer, why,
		    sni);
		SSL_free(ssl);
		return -1;
	}
	r->ssl = ssl;
	log_esc(sni, sizeof(sni), r->store->sni ? r->store->sni : "-",
	    strlen(r->store->sni ? r->store->sni : "-"));
	log_info("%s: tls %s %s sni=%s cert=%s", r->peer, SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl), sni,
	    r->store->picked ? r->store->picked : "-");
	return 0;
}

/*
 * Everything the program wrote before its 'Y' is already in our socket
 * (it wrote it first): read until the socket is empty and send it in
 * plaintext before the handshake starts.
 */
static int
tls_flush_plain(struct tls_relay *r)
{
	int64_t deadline = line_deadline(TLS_HANDSHAKE_MS);
	ssize_t n;

	for (;;) {
		if (r->p2c_len > 0 && io_write_deadline(r->cwfd, r->p2c,
		    r->p2c_len, deadline) == -1)
			return -1;
		r->p2c_len = 0;
		n = read(r->pfd, r->p2c, sizeof(r->p2c));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;	/* the program left */
		r->p2c_len = (size_t)n;
	}
}

/* The new plaintext socket: ours replaces r->pfd, the other goes out. */
static int
tls_new_pair(struct tls_relay *r, int *theirs)
{
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		return -1;
	if (io_nonblock(sp[0], 1) == -1) {
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	close(r->pfd);
	r->pfd = sp[0];
	*theirs = sp[1];
	return 0;
}

int
tls_starttls(struct tls_relay *r)
{
	char why[TLS_ERR_MAX];
	int theirs;

	/*
	 * Bytes the client sent before the handshake never reach the
	 * program over TLS: they were not protected.
	 */
	r->c2p_len = 0;
	if (tls_flush_plain(r) == -1) {
		log_warnx("%s: starttls: cannot send the program's reply",
		    r->peer);
		(void)tls_ctl_send(r->ctlfd, false, "cannot send reply",
		    NULL, -1);
		return -1;
	}
	if (tls_handshake(r, why, sizeof(why)) == -1) {
		(void)tls_ctl_send(r->ctlfd, false, why, NULL, -1);
		return -1;
	}
	if (tls_new_pair(r, &theirs) == -1) {
		log_warn("%s: starttls: socketpair", r->peer);
		(void)tls_ctl_send(r->ctlfd, false, "internal error", NULL, -1);
		return -1;
	}
	if (tls_ctl_send(r->ctlfd, true, SSL_get_version(r->ssl),
	    SSL_get_cipher_name(r->ssl), theirs) == -1) {
		log_warn("%s: starttls: cannot pass the socket", r->peer);
		close(theirs);
		return -1;
	}
	close(theirs);
	r->c_eof = r->p_eof = r->p_shut = r->hold_over = false;
	r->hold_until = 0;
	return 0;
}
