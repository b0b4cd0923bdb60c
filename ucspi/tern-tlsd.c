/* tern-tlsd: hold the TLS key, relay plaintext to a protocol program. */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "io.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "tls.h"
#include "tlsctl.h"
#include "ucspi.h"

#define TLSD_START_PLAIN	"S"	/* start message: STARTTLS mode */

/* Everything main() wires together. */
struct tlsd {
	struct tls_cfg	cfg;
	bool		root;
	uid_t		ruid, puid;	/* relay (-U) and program (-u) */
	gid_t		rgid, pgid;
	struct ucspi_conn conn;		/* the client, from env or socket */
	char		peer[UCSPI_IP_MAX];
	int		sp[2];		/* plaintext: [0] ours, [1] program's */
	int		ctl[2];		/* control (-s): [0] ours, [1] its */
	int		start[2];	/* start message pipe to the child */
	pid_t		child;
};

/* A closed fd 0-2 would let our sockets land there. */
static int
tlsd_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= STDERR_FILENO)
		;
	if (fd == -1)
		return -1;
	close(fd);
	return 0;
}

/*
 * Root must name both users.  The relay (-U) is never root; the program
 * (-u) may be, for a program that drops by itself (tern-pop3-login):
 * it keeps root's ids then, and is still forked before any key loads.
 */
static int
tlsd_user(const char *name, const char *opt, bool root_ok, uid_t *uid,
    gid_t *gid)
{
	char esc[128];
	int r;

	if (name == NULL) {
		log_fatalx("running as root: name the user with %s", opt);
		return -1;
	}
	log_esc(esc, sizeof(esc), name, strlen(name));
	if ((r = priv_user(name, uid, gid)) != 1) {
		if (r == 0)
			log_fatalx("%s: no such user: %s", opt, esc);
		else
			log_fatal("%s: unable to look up user %s", opt, esc);
		return -1;
	}
	if (*uid == 0 && !root_ok) {
		log_fatalx("%s: refusing to run as root", opt);
		return -1;
	}
	return 0;
}

/* Read the whole start message (the relay closes after it). */
static ssize_t
tlsd_read_start(int fd, char *buf, size_t sz)
{
	size_t len = 0;
	ssize_t n;

	while (len < sz && (n = io_read(fd, buf + len, sz - len)) > 0)
		len += (size_t)n;
	return (ssize_t)len;
}

/*
 * The program's fds 0 and 1 are our socket pair, where getpeername
 * tells nothing: when the addresses came from the socket (inetd,
 * systemd Accept=yes: no UCSPI variables), hand them on as tcpserver
 * would.  Host and info names that no UCSPI server set for this
 * connection are dropped; set by one (UCSPI_ENV), all pass unchanged.
 */
static int
tlsd_ucspi_env(const struct ucspi_conn *c)
{
	char rport[8], lport[8];

	if (c->source != UCSPI_SOCKET)
		return 0;
	(void)snprintf(rport, sizeof(rport), "%u", (unsigned)c->remote_port);
	(void)snprintf(lport, sizeof(lport), "%u", (unsigned)c->local_port);
	if (unsetenv("TCPREMOTEHOST") == -1 ||
	    unsetenv("TCPREMOTEINFO") == -1 ||
	    unsetenv("TCPLOCALHOST") == -1 ||
	    setenv("PROTO", "TCP", 1) == -1 ||
	    setenv("TCPREMOTEIP", c->remote_ip, 1) == -1 ||
	    setenv("TCPREMOTEPORT", rport, 1) == -1 ||
	    setenv("TCPLOCALIP", c->local_ip, 1) == -1 ||
	    setenv("TCPLOCALPORT", lport, 1) == -1)
		return -1;
	return 0;
}

/* The environment the program gets for the start message buf. */
static int
tlsd_child_env(const struct tlsd *d, const char *buf, size_t len)
{
	struct tlsctl_reply rep;
	char fdstr[16];
	size_t used;

	if (tlsd_ucspi_env(&d->conn) == -1)
		return -1;
	if (d->cfg.starttls) {
		if (len != 1 || buf[0] != TLSD_START_PLAIN[0])
			return -1;
		(void)snprintf(fdstr, sizeof(fdstr), "%d", d->ctl[1]);
		if (io_cloexec(d->ctl[1], 0) == -1 ||
		    setenv(TLSCTL_ENV, fdstr, 1) == -1)
			return -1;
		unsetenv("SSL_PROTOCOL");
		unsetenv("SSL_CIPHER");
		unsetenv("TERN_TLS");
		return 0;
	}
	if (tlsctl_reply_parse(buf, len, &rep, &used) != 1 || !rep.ok ||
	    used != len)
		return -1;
	unsetenv(TLSCTL_ENV);
	if (setenv("SSL_PROTOCOL", rep.proto, 1) == -1 ||
	    setenv("SSL_CIPHER", rep.cipher, 1) == -1 ||
	    setenv("TERN_TLS", "1", 1) == -1)
		return -1;
	return 0;
}

/*
 * Under inetd our fd 2 is the client's TCP socket: the program must not
 * get it (it could write into the TLS stream or read ciphertext).  It
 * gets /dev/null and TERN_LOG=syslog, so it logs where we do.
 */
static int
tlsd_child_stderr(void)
{
	int fd;

	if (!log_is_syslog())
		return 0;
	if ((fd = open("/dev/null", O_WRONLY)) == -1)
		return -1;
	if (dup2(fd, STDERR_FILENO) == -1) {
		close(fd);
		return -1;
	}
	if (fd != STDERR_FILENO)
		close(fd);
	return setenv(LOG_ENV, "syslog", 1);
}

/*
 * The program's process, forked before any key is loaded: drop to -u
 * (-u root: keep root's ids, the program drops by itself), wait for
 * the relay's start message (EOF: the relay failed, so exit quietly),
 * then exec with the plaintext socket on fds 0 and 1.
 */
static void __attribute__((noreturn))
tlsd_child(struct tlsd *d)
{
	char buf[TLSCTL_LINE_MAX], esc[128];
	ssize_t len;

	close(d->sp[0]);
	close(d->start[1]);
	if (d->cfg.starttls)
		close(d->ctl[0]);
	if (d->root && d->puid != 0 && priv_drop(d->puid, d->pgid) == -1) {
		log_fatal("unable to drop to the -u user");
		_exit(111);
	}
	if ((len = tlsd_read_start(d->start[0], buf, sizeof(buf))) <= 0)
		_exit(111);
	close(d->start[0]);
	if (tlsd_child_env(d, buf, (size_t)len) == -1 ||
	    tlsd_child_stderr() == -1 ||
	    dup2(d->sp[1], STDIN_FILENO) == -1 ||
	    dup2(d->sp[1], STDOUT_FILENO) == -1 ||
	    io_cloexec(STDIN_FILENO, 0) == -1 ||
	    io_cloexec(STDOUT_FILENO, 0) == -1) {
		log_fatal("unable to set up the program");
		_exit(111);
	}
	close(d->sp[1]);
	signal(SIGPIPE, SIG_DFL);
	execvp(d->cfg.argv[0], d->cfg.argv);
	log_fatal("unable to run %s", log_esc(esc, sizeof(esc),
	    d->cfg.argv[0], strlen(d->cfg.argv[0])));
	_exit(errno == ENOENT ? 100 : 111);
}

/* Sockets and pipe, then the child.  0 or -1 (logged). */
static int
tlsd_fork(struct tlsd *d)
{
	d->ctl[0] = d->ctl[1] = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, d->sp) == -1 ||
	    (d->cfg.starttls && socketpair(AF_UNIX, SOCK_STREAM |
	    SOCK_CLOEXEC, 0, d->ctl) == -1) ||
	    pipe2(d->start, O_CLOEXEC) == -1) {
		log_fatal("unable to create sockets");
		return -1;
	}
	if ((d->child = fork()) == -1) {
		log_fatal("fork");
		return -1;
	}
	if (d->child == 0)
		tlsd_child(d);
	close(d->sp[1]);
	close(d->start[0]);
	if (d->ctl[1] != -1)
		close(d->ctl[1]);
	return 0;
}

/* Certificates (as root), then the relay's own drop. */
static int
tlsd_load(struct tlsd *d, struct tls_store *st)
{
	char dir[PATH_MAX], err[TLS_ERR_MAX + PATH_MAX];

	if (d->cfg.certdir != NULL)
		(void)strlcpy(dir, d->cfg.certdir, sizeof(dir));
	else if (paths_join(dir, sizeof(dir), paths_control(),
	    TLS_CERTDIR) == -1) {
		log_fatalx("control directory path too long");
		return -1;
	}
	if (tls_store_load(st, dir, err, sizeof(err)) == -1) {
		log_fatalx("certificates: %s", err);
		return -1;
	}
	if (d->root && priv_drop(d->ruid, d->rgid) == -1) {
		log_fatal("unable to drop to the -U user");
		return -1;
	}
	/* No core file and no ptrace by the program's uid: the key. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl PR_SET_DUMPABLE");
	return 0;
}

static int64_t
tlsd_idle_ms(const struct tlsd *d)
{
	long long v;
	int r;

	if (d->cfg.idle_s > 0)
		return d->cfg.idle_s * 1000;
	r = cfg_get_num(paths_control(), TLS_IDLE_FILE, 1, TLS_IDLE_MAX, &v);
	if (r == -1)
		log_warn("control/%s (using %d)", TLS_IDLE_FILE,
		    TLS_IDLE_DEFAULT);
	return (r == 1 ? v : TLS_IDLE_DEFAULT) * 1000LL;
}

/* Let the child exec: the start message, then EOF. */
static int
tlsd_go(struct tlsd *d, SSL *ssl)
{
	char line[TLSCTL_LINE_MAX];
	int n;

	if (ssl == NULL)
		n = snprintf(line, sizeof(line), "%s", TLSD_START_PLAIN);
	else
		n = snprintf(line, sizeof(line), "OK %s %s\n",
		    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    io_write_all(d->start[1], line, (size_t)n) == -1) {
		log_fatal("unable to start the program");
		return -1;
	}
	close(d->start[1]);
	return 0;
}

/* After setup: handshake (implicit mode) and relay.  The exit code. */
static int
tlsd_serve(struct tlsd *d, struct tls_store *st)
{
	struct tls_relay *r;
	char why[TLS_ERR_MAX];
	enum tls_end end = TLS_END_DONE;
	int rc = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    tls_relay_init(r, STDIN_FILENO, STDOUT_FILENO, d->sp[0],
	    d->ctl[0], st, d->peer, tlsd_idle_ms(d)) == -1) {
		log_fatal("unable to set up the relay");
		free(r);
		return 111;
	}
	if ((!d->cfg.starttls && tls_handshake(r, why, sizeof(why)) == -1) ||
	    tlsd_go(d, r->ssl) == -1)
		rc = 111;
	while (rc == 0 && (end = tls_relay_run(r)) == TLS_END_START)
		if (tls_starttls(r) == -1)
			rc = 111;
	if (rc == 0 && end == TLS_END_ERROR)
		rc = 111;
	close(r->pfd);
	SSL_free(r->ssl);
	free(r);
	return rc;
}

int
main(int argc, char **argv)
{
	struct tls_store st;
	char err[TLS_ERR_MAX];
	struct tlsd d;
	int rc;

	memset(&d, 0, sizeof(d));
	log_init("tern-tlsd", false);
	if (tlsd_std_fds() == -1)
		return 111;
	(void)ucspi_conn_get(&d.conn);
	log_init("tern-tlsd", d.conn.use_syslog);
	(void)strlcpy(d.peer, d.conn.remote_ip[0] ? d.conn.remote_ip : "-",
	    sizeof(d.peer));
	if (tls_cfg_parse(&d.cfg, argc, argv, err, sizeof(err)) == -1) {
		log_fatalx("%s", err);
		return 100;
	}
	if ((d.root = priv_is_root()) &&
	    (tlsd_user(d.cfg.relay_user, "-U", false, &d.ruid,
	    &d.rgid) == -1 ||
	    tlsd_user(d.cfg.prog_user, "-u", true, &d.puid, &d.pgid) == -1))
		return 100;
	signal(SIGPIPE, SIG_IGN);
	if (tlsd_fork(&d) == -1)
		return 111;
	if (tlsd_load(&d, &st) == -1)
		return 111;	/* the child sees EOF and exits */
	rc = tlsd_serve(&d, &st);
	tls_store_free(&st);
	return rc;
}
