/* remote_tls: STARTTLS for tern-remote: opportunistic, DANE, verify. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "io.h"
#include "line.h"
#include "remote.h"

SSL_CTX *
remote_tls_ctx(void)
{
	SSL_CTX	*ctx;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_dane_enable(ctx) <= 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * Verification is judged after the handshake, by policy.  The CA
	 * store is loaded only when a policy needs it (setup_ssl): reading
	 * the system bundle costs more CPU than the rest of a run.
	 */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* Add the host's TLSA records: the number that OpenSSL took. */
static int
add_tlsa(SSL *ssl, const struct remote_host *h)
{
	const char	*p = h->tlsa.data, *end = p + h->tlsa.len;
	unsigned char	 data[4096];
	unsigned int	 u, s, m;
	size_t		 n, i;
	int		 off, good = 0;
	char		 hx[3];

	while (p != NULL && p < end) {
		if (sscanf(p, "%u %u %u %n", &u, &s, &m, &off) == 3) {
			n = strlen(p + off) / 2;
			for (i = 0; i < n && i < sizeof(data); i++) {
				hx[0] = p[off + 2 * i];
				hx[1] = p[off + 2 * i + 1];
				hx[2] = '\0';
				data[i] = (unsigned char)strtoul(hx, NULL, 16);
			}
			if (u <= 255 && s <= 255 && m <= 255 &&
			    n <= sizeof(data) && SSL_dane_tlsa_add(ssl,
			    (uint8_t)u, (uint8_t)s, (uint8_t)m, data, n) > 0)
				good++;
		}
		p += strlen(p) + 1;
	}
	return good;
}

static int
handshake(struct remote_conn *c, int64_t deadline)
{
	int		rv, e;

	for (;;) {
		rv = SSL_connect(c->ssl);
		if (rv == 1)
			return 0;
		e = SSL_get_error(c->ssl, rv);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		if (io_wait(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    deadline) == -1)
			return -1;
	}
}

/* Set up c->ssl for the policy: DANE, WebPKI names, or nothing. */
static int
setup_ssl(struct remote *r, enum remote_tls policy, bool *dane)
{
	const struct remote_host	*h = r->host;
	struct remote_conn		*c = &r->conn;

	if (r->sslctx == NULL && (r->sslctx = remote_tls_ctx()) == NULL)
		return -1;
	/* WebPKI roots: for verify, and for DANE's PKIX usages 0 and 1. */
	if (!r->sslca && (policy == RTLS_VERIFY ||
	    (h->ntlsa > 0 && policy != RTLS_NONE))) {
		(void)SSL_CTX_set_default_verify_paths(r->sslctx);
		r->sslca = true;
	}
	c->ssl = SSL_new(r->sslctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	if (!h->literal)
		(void)SSL_set_tlsext_host_name(c->ssl, h->name);
	*dane = h->ntlsa > 0 && policy != RTLS_NONE;
	if (*dane) {
		if (SSL_dane_enable(c->ssl, h->name) <= 0)
			return -1;
		/* RFC 7672 3.1.3: the name checks of DANE-TA(2) only */
		SSL_dane_set_flags(c->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		if (add_tlsa(c->ssl, h) == 0)
			*dane = false;	/* no usable record: as without */
	}
	if (!*dane && policy == RTLS_VERIFY && !h->literal &&
	    SSL_set1_host(c->ssl, h->name) != 1)
		return -1;
	return 0;
}

int
remote_tls_start(struct remote *r, enum remote_tls policy, char *info,
    size_t infosz, const char **status)
{
	struct remote_conn	*c = &r->conn;
	const char		*vr;
	long			 v;
	bool			 dane = false;

	*status = "4.7.0";
	ERR_clear_error();
	if (setup_ssl(r, policy, &dane) == -1 ||
	    handshake(c, remote_deadline(r->cfg.to_greeting < 120 ?
	    r->cfg.to_greeting : 120)) == -1) {
		snprintf(info, infosz, "TLS handshake failed: %s",
		    ERR_reason_error_string(ERR_peek_last_error()) ?
		    ERR_reason_error_string(ERR_peek_last_error()) :
		    strerror(errno));
		*status = dane ? "4.7.5" : "4.7.0";
		return -1;
	}
	v = SSL_get_verify_result(c->ssl);
	vr = v == X509_V_OK ? (dane ? "dane-verified" : "verified") :
	    X509_verify_cert_error_string(v);
	snprintf(info, infosz, "TLS %s cipher=%s verify=%s",
	    SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl),
	    v == X509_V_OK ? vr : "unverified");
	if ((dane || policy == RTLS_VERIFY) && v != X509_V_OK) {
		snprintf(info, infosz, "TLS certificate %s failed: %s",
		    dane ? "DANE authentication" : "verification", vr);
		*status = dane ? "4.7.5" : "4.7.0";
		return -1;
	}
	if (policy == RTLS_DANE && !dane) {
		snprintf(info, infosz, "tlspolicy dane: no secure TLSA "
		    "records for %s", r->host->name);
		*status = "4.7.5";
		return -1;
	}
	return 0;
}
