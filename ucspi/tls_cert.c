/* tls_cert: the certificate directory, the SSL_CTXs and SNI. */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "paths.h"
#include "tls.h"

/*
 * TLS 1.2 only (1.3 keeps OpenSSL's AEAD-only defaults): forward
 * secrecy and AEAD, for ECDSA and RSA keys.
 */
#define TLS_CIPHERS12	"ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

/* What the directory holds for one name. */
struct tls_found {
	char	name[TLS_NAME_MAX];
	bool	pem, crt, key;
};

static int tls_cert_err(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
tls_cert_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/* OpenSSL's last error as text, or what. */
static const char *
tls_ossl_why(const char *what)
{
	static char buf[160];
	unsigned long e;

	if ((e = ERR_peek_last_error()) == 0)
		return what;
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

long
tls_store_pick(const struct tls_store *st, const char *sni)
{
	const char *dot;
	size_t i;

	if (sni == NULL || *sni == '\0')
		return st->fallback;
	for (i = 0; i < st->n; i++)
		if (strcasecmp(st->v[i].name, sni) == 0)
			return (long)i;
	/*
	 * "*.parent" covers one label; "*.org" for "example.org" would be
	 * too wide, and "*." + "" is no name at all.
	 */
	dot = strchr(sni, '.');
	if (dot != NULL && dot != sni && strchr(dot + 1, '.') != NULL) {
		for (i = 0; i < st->n; i++)
			if (strncmp(st->v[i].name, "*.", 2) == 0 &&
			    strcasecmp(st->v[i].name + 2, dot + 1) == 0)
				return (long)i;
	}
	return st->fallback;
}

/* The SNI callback: switch to the context of the name asked for. */
static int
tls_sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_store *st = arg;
	const char *sni;
	long i;

	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	st->sni = sni;
	if ((i = tls_store_pick(st, sni)) == -1) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	st->picked = st->v[i].name;
	if (SSL_get_SSL_CTX(ssl) != st->v[i].ctx &&
	    SSL_set_SSL_CTX(ssl, st->v[i].ctx) == NULL) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* One context with our settings; the files are loaded by the caller. */
static SSL_CTX *
tls_ctx_new(struct tls_store *st)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS12) != 1 ||
	    SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * One connection per process: a session cache or tickets could
	 * only serve a resumption this process will never see.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_sni_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, st);
	return ctx;
}

/* Load one pair into st->v[st->n]. */
static int
tls_load_pair(struct tls_store *st, const char *dir,
    const struct tls_found *f, char *err, size_t errsz)
{
	char crt[PATH_MAX], key[PATH_MAX], fn[TLS_NAME_MAX + 8];
	SSL_CTX *ctx;

	(void)snprintf(fn, sizeof(fn), "%s.%s", f->name, f->pem ? "pem" :
	    "crt");
	if (paths_join(crt, sizeof(crt), dir, fn) == -1)
		return tls_cert_err(err, errsz, "%s: path too long", fn);
	(void)snprintf(fn, sizeof(fn), "%s.%s", f->name, f->pem ? "pem" :
	    "key");
	if (paths_join(key, sizeof(key), dir, fn) == -1)
		return tls_cert_err(err, errsz, "%s: path too long", fn);
	if ((ctx = tls_ctx_new(st)) == NULL)
		return tls_cert_err(err, errsz, "SSL_CTX: %s",
		    tls_ossl_why("cannot set up"));
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return tls_cert_err(err, errsz, "%s: %s", f->name,
		    tls_ossl_why("cannot load the certificate or key"));
	}
	(void)strlcpy(st->v[st->n].name, f->name, sizeof(st->v[0].name));
	st->v[st->n++].ctx = ctx;
	return 0;
}

/* Note one directory entry in found (n used of TLS_CERTS_MAX). */
static int
tls_note(struct tls_found *found, size_t *n, const char *fname, char *err,
    size_t errsz)
{
	char name[TLS_NAME_MAX];
	enum tls_file_kind k;
	size_t i;

	if ((k = tls_file_name(fname, name, sizeof(name))) == TLS_FILE_OTHER)
		return 0;
	for (i = 0; i < *n; i++)
		if (strcmp(found[i].name, name) == 0)
			break;
	if (i == *n) {
		if (*n == TLS_CERTS_MAX)
			return tls_cert_err(err, errsz, "more than %d "
			    "certificates", TLS_CERTS_MAX);
		memset(&found[i], 0, sizeof(found[i]));
		(void)strlcpy(found[i].name, name, sizeof(found[i].name));
		(*n)++;
	}
	if (k == TLS_FILE_PEM)
		found[i].pem = true;
	else if (k == TLS_FILE_CRT)
		found[i].crt = true;
	else
		found[i].key = true;
	return 0;
}

static int
tls_cmp_found(const void *a, const void *b)
{
	return strcmp(((const struct tls_found *)a)->name,
	    ((const struct tls_found *)b)->name);
}

/* Read dir into found (sorted), checking that the pairs are whole. */
static int
tls_scan(const char *dir, struct tls_found *found, size_t *n, char *err,
    size_t errsz)
{
	struct dirent *de;
	DIR *d;
	size_t i;
	int r = 0;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return tls_cert_err(err, errsz, "%s: %s", dir,
		    strerror(errno));
	while (r == 0 && (de = readdir(d)) != NULL)
		r = tls_note(found, n, de->d_name, err, errsz);
	closedir(d);
	if (r == -1)
		return -1;
	qsort(found, *n, sizeof(found[0]), tls_cmp_found);
	for (i = 0; i < *n; i++) {
		if (found[i].pem && (found[i].crt || found[i].key))
			return tls_cert_err(err, errsz, "%s: both .pem and "
			    ".crt/.key", found[i].name);
		if (!found[i].pem && found[i].crt != found[i].key)
			return tls_cert_err(err, errsz, "%s: .%s without .%s",
			    found[i].name, found[i].crt ? "crt" : "key",
			    found[i].crt ? "key" : "crt");
	}
	if (*n == 0)
		return tls_cert_err(err, errsz, "%s: no certificates", dir);
	return 0;
}

int
tls_store_load(struct tls_store *st, const char *dir, char *err,
    size_t errsz)
{
	struct tls_found *found;
	size_t i, n;
	int r = -1;

	memset(st, 0, sizeof(*st));
	st->fallback = -1;
	found = calloc(TLS_CERTS_MAX, sizeof(*found));
	if (found == NULL)
		return tls_cert_err(err, errsz, "out of memory");
	if (tls_scan(dir, found, &n, err, errsz) == -1)
		goto out;
	if ((st->v = calloc(n, sizeof(*st->v))) == NULL) {
		tls_cert_err(err, errsz, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (tls_load_pair(st, dir, &found[i], err, errsz) == -1)
			goto out;
	for (i = 0; i < st->n; i++)
		if (strcmp(st->v[i].name, TLS_DEFAULT_NAME) == 0)
			st->fallback = (long)i;
	if (st->fallback == -1 && st->n == 1)
		st->fallback = 0;
	r = 0;
out:
	free(found);
	if (r == -1)
		tls_store_free(st);
	return r;
}

void
tls_store_free(struct tls_store *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		SSL_CTX_free(st->v[i].ctx);
	free(st->v);
	st->v = NULL;
	st->n = 0;
	st->fallback = -1;
}

SSL *
tls_store_ssl(struct tls_store *st)
{
	long i = st->fallback != -1 ? st->fallback : 0;

	if (st->n == 0)
		return NULL;
	return SSL_new(st->v[i].ctx);
}
