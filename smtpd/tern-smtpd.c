/*
 * tern-smtpd: an ESMTP server on fds 0/1 (RFC 5321), in MX or
 * submission mode, handing each message to tern-queue.  tern-smtpd(8).
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "net.h"
#include "paths.h"
#include "priv.h"
#include "smtpd.h"
#include "ucspi.h"

#define SMTPD_LINGER_MS		2000	/* reading after the last reply */
#define SMTPD_LINGER_BYTES	(1024 * 1024)

static void
usage(void)
{
	log_fatalx("usage: tern-smtpd [-m mx|submission]");
	exit(100);
}

/* Before a session exists: tell the client, then go. */
static void
smtpd_die(const char *why)
{
	char b[256];
	int n;

	n = snprintf(b, sizeof(b), "421 4.3.0 %s\r\n", why);
	if (n > 0 && (size_t)n < sizeof(b))
		(void)io_write_all(1, b, (size_t)n);
	exit(111);
}

static void
smtpd_queueprog(struct smtpd_cfg *cfg)
{
	const char *q = getenv("TERN_QUEUE");

	if (q != NULL && q[0] == '/' && priv_env_trusted() &&
	    strlcpy(cfg->queueprog, q, sizeof(cfg->queueprog)) <
	    sizeof(cfg->queueprog))
		return;
	if (paths_join(cfg->queueprog, sizeof(cfg->queueprog),
	    paths_libexec(), "tern-queue") == -1)
		smtpd_die("configuration error");
}

/* TERN_TLSCTL: the control socket of tern-tlsd, or -1. */
static int
smtpd_tlsctl(void)
{
	const char *v = getenv("TERN_TLSCTL"), *err = NULL;
	int fd;

	if (v == NULL || *v == '\0')
		return -1;
	fd = (int)strtonum(v, 3, INT_MAX, &err);
	if (err != NULL || fcntl(fd, F_GETFD) == -1) {
		log_warnx("ignoring TERN_TLSCTL=%s: not an open fd", v);
		return -1;
	}
	(void)io_cloexec(fd, 1);
	return fd;
}

static void
smtpd_config(struct smtpd_cfg *cfg, struct rcpt_cfg *rc, const char *mode)
{
	char warn[RCPT_WARN_MAX];
	const char *why = NULL;

	if (smtpd_cfg_load(cfg, paths_control(), &why) == -1) {
		log_fatal("unable to read %s/%s", paths_control(),
		    why ? why : "?");
		smtpd_die("configuration error");
	}
	if (mode != NULL)
		cfg->mode = strcmp(mode, "submission") == 0 ? SMTP_SUBMISSION :
		    SMTP_MX;
	smtpd_queueprog(cfg);
	rcpt_cfg_init(rc);
	switch (rcpt_cfg_load(rc, paths_control(), RCPT_HASHFREE, warn,
	    sizeof(warn))) {
	case -1:
		log_fatal("unable to load the recipient tables");
		smtpd_die("out of memory");
		break;
	case 1:
		log_warnx("%s", warn);
		break;
	}
}

/*
 * TERN_TLS=1: already TLS (implicit), *proto and *cipher set; else the
 * STARTTLS control fd or -1.
 */
static int
smtpd_tls_env(const char **proto, const char **cipher)
{
	const char *v = getenv("TERN_TLS");

	if (v != NULL && strcmp(v, "1") == 0) {
		*proto = getenv("SSL_PROTOCOL");
		*cipher = getenv("SSL_CIPHER");
		if (*proto == NULL)
			*proto = "TLS";
		if (*cipher == NULL)
			*cipher = "unknown";
		return -1;
	}
	return smtpd_tlsctl();
}

/*
 * After the last reply: stop writing, then read what the client still
 * sends for a moment, so closing with unread input does not reset the
 * connection before the client has read our reply.
 */
static void
smtpd_linger(void)
{
	char b[4096];
	int64_t deadline = line_deadline(SMTPD_LINGER_MS);
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	size_t total = 0;
	ssize_t r;

	(void)shutdown(1, SHUT_WR);
	(void)io_nonblock(0, 1);
	while (total < SMTPD_LINGER_BYTES && line_deadline(0) < deadline) {
		r = read(0, b, sizeof(b));
		if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
			break;
		if (r > 0)
			total += (size_t)r;
		else
			(void)poll(&pfd, 1, (int)(deadline - line_deadline(0)));
	}
}

int
main(int argc, char *argv[])
{
	struct smtpd_cfg cfg;
	struct rcpt_cfg rc;
	struct ucspi_conn conn;
	struct smtpd_net net;
	struct smtpd s;
	const char *mode = NULL, *tls = NULL, *cipher = NULL;
	int ch, tlsctl;

	(void)ucspi_conn_get(&conn);
	log_init("tern-smtpd", conn.use_syslog);
	while ((ch = getopt(argc, argv, "m:")) != -1) {
		if (ch != 'm' || (strcmp(optarg, "mx") != 0 &&
		    strcmp(optarg, "submission") != 0))
			usage();
		mode = optarg;
	}
	if (optind != argc)
		usage();
	(void)signal(SIGPIPE, SIG_IGN);
	if (priv_is_root()) {
		log_fatalx("refusing to run as root: start it as its own user");
		smtpd_die("server misconfigured");
	}
	smtpd_config(&cfg, &rc, mode);
	tlsctl = smtpd_tls_env(&tls, &cipher);
	smtpd_net_init(&net, &cfg, &rc, tlsctl);
	if (smtpd_init(&s, &cfg, tlsctl != -1 ? &smtpd_net_ops :
	    &smtpd_net_ops_notls, &net, 0, conn.remote_ip, tls, cipher) == -1)
		smtpd_die("out of memory");
	log_info("session start ip=%s mode=%s%s", conn.remote_ip[0] ?
	    conn.remote_ip : "-", cfg.mode == SMTP_MX ? "mx" : "submission",
	    tls ? " tls" : "");
	smtpd_run(&s);
	log_info("session end ip=%s messages=%u%s", conn.remote_ip[0] ?
	    conn.remote_ip : "-", s.nmsgs, s.quit ? "" : " (no QUIT)");
	smtpd_linger();
	smtpd_free(&s);
	rcpt_cfg_free(&rc);
	smtpd_cfg_free(&cfg);
	return 0;
}
