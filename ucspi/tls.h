/* tls: tern-tlsd's logic (options, certificates, SNI, the relay). */
#ifndef TERN_UCSPI_TLS_H
#define TERN_UCSPI_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TLS_BUF_MAX		16384	/* one TLS record, each direction */
#define TLS_HANDSHAKE_MS	60000	/* handshake and STARTTLS flush */
#define TLS_HOLD_MS		5000	/* a ClientHello waits for 'Y' */
#define TLS_IDLE_DEFAULT	1200	/* seconds without a byte moving */
#define TLS_IDLE_MAX		86400
#define TLS_CERTS_MAX		256	/* cert/key pairs in the directory */
#define TLS_NAME_MAX		256	/* a name: host name (253) + "*." */
#define TLS_ERR_MAX		256
#define TLS_IDLE_FILE		"tlsidletimeout"	/* control file */
#define TLS_CERTDIR		"tls"	/* under the control directory */
#define TLS_DEFAULT_NAME	"default"

/* The command line. */
struct tls_cfg {
	bool		starttls;	/* -s */
	const char	*certdir;	/* -c, NULL: control dir's tls/ */
	const char	*relay_user;	/* -U */
	const char	*prog_user;	/* -u */
	long long	idle_s;		/* -t, 0: not given */
	char		**argv;		/* program and arguments */
};

/*
 * Parse tern-tlsd's command line; options stop at the program.
 * 0, or -1 with a message in err.
 */
int	tls_cfg_parse(struct tls_cfg *cfg, int argc, char **argv, char *err,
	    size_t errsz);

enum tls_file_kind {
	TLS_FILE_OTHER,		/* not ours: ignored */
	TLS_FILE_PEM,		/* <name>.pem: chain and key */
	TLS_FILE_CRT,		/* <name>.crt: chain */
	TLS_FILE_KEY		/* <name>.key: key */
};

/*
 * Classify a file name of the certificate directory and put its name
 * (without the suffix, lower-cased) into name.  A name is "default", a
 * host name (letters, digits, '-', labels joined by '.', at most 253
 * bytes) or "*." and a host name.  Dot files and names that are not
 * valid give TLS_FILE_OTHER.
 */
enum tls_file_kind tls_file_name(const char *fname, char *name,
	    size_t namesz);

struct tls_cert {
	char	 name[TLS_NAME_MAX];
	SSL_CTX	*ctx;		/* NULL in tests of the pure functions */
};

struct tls_store {
	struct tls_cert	*v;
	size_t		 n;
	long		 fallback;	/* "default", the only one, or -1 */
	const char	*picked;	/* the name SNI chose, for the log */
	const char	*sni;		/* what the client asked for */
};

/*
 * Load every pair in dir: one SSL_CTX each (TLS 1.2 to 1.3, ECDHE with
 * AEAD ciphers for 1.2, no compression, renegotiation, tickets or
 * session cache), with the SNI callback.  0, or -1 with err: an
 * unreadable directory, no pairs, a .crt without .key (or the other
 * way), a name with both .pem and .crt, a file that does not load, a
 * key that does not match.
 */
int	tls_store_load(struct tls_store *st, const char *dir, char *err,
	    size_t errsz);
void	tls_store_free(struct tls_store *st);

/*
 * Which certificate serves sni (NULL: the client sent none): the name
 * equal to it (ASCII case-insensitive), else "*." and its parent
 * (one label replaced, never the top level alone), else the fallback.
 * The index, or -1.
 */
long	tls_store_pick(const struct tls_store *st, const char *sni);

/* A new SSL for a connection, from the fallback (or first) context. */
SSL	*tls_store_ssl(struct tls_store *st);

/*
 * The relay between the client (TLS or, before STARTTLS, plaintext) and
 * the program's plaintext socket.
 */
struct tls_relay {
	int		 crfd, cwfd;	/* client: fds 0 and 1 */
	int		 pfd;		/* our end of the program's socket */
	int		 ctlfd;		/* control socket, -1: none */
	SSL		*ssl;		/* NULL: plaintext (before STARTTLS) */
	struct tls_store *store;
	const char	*peer;		/* the client's address, for logs */
	int64_t		 idle_ms;
	char		 c2p[TLS_BUF_MAX];	/* client to program */
	size_t		 c2p_len;
	char		 p2c[TLS_BUF_MAX];	/* program to client */
	size_t		 p2c_len;
	bool		 c_eof, c_dead, p_eof, p_shut, ctl_eof;
	int64_t		 hold_until;	/* client input held until then */
	bool		 hold_over;	/* held once, now passed through */
	short		 want[5];	/* poll events, see tls_relay.c */
};

enum tls_end {
	TLS_END_DONE,		/* a side closed, everything flushed */
	TLS_END_START,		/* the program asked for TLS */
	TLS_END_ERROR		/* logged */
};

/* Set up r for the fds given (made non-blocking): 0 or -1. */
int	tls_relay_init(struct tls_relay *r, int crfd, int cwfd, int pfd,
	    int ctlfd, struct tls_store *st, const char *peer,
	    int64_t idle_ms);

/*
 * Relay until a side closes (after flushing the other way) or, in
 * plaintext mode with a control socket, the program sends 'Y'.
 * A 'Y' with TLS active is answered "NO already active".
 */
enum tls_end tls_relay_run(struct tls_relay *r);

/*
 * Handshake with the client within TLS_HANDSHAKE_MS; logs one line
 * (version, cipher, SNI, or the reason of the failure).  0, or -1 with
 * the reason in why.
 */
int	tls_handshake(struct tls_relay *r, char *why, size_t whysz);

/*
 * The STARTTLS switch after TLS_END_START: send what the program wrote
 * before its 'Y', discard what the client sent that was not relayed,
 * handshake, give the program a new socket over the control socket
 * with "OK <proto> <cipher>".  0 (r relays over TLS now), or -1 after
 * "NO <reason>" was sent (logged).
 */
int	tls_starttls(struct tls_relay *r);

/* Send a control reply (with fd, or -1): 0 or -1. */
int	tls_ctl_send(int ctlfd, bool ok, const char *a, const char *b,
	    int fd);

#endif
