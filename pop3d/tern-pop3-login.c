/*
 * tern-pop3-login: the POP3 dialogue before login, parsed by an
 * unprivileged child; the parent runs checkpassword, which starts
 * tern-pop3d as the mailbox owner.  tern-pop3-login(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "front.h"
#include "io.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "replies.h"
#include "tlsctl.h"

/* With fd 0, 1 or 2 closed, our sockets could land there. */
static int
std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= 2)
		;
	if (fd == -1)
		return -1;
	(void)close(fd);
	return 0;
}

static void __attribute__((noreturn))
die(int code)
{
	(void)io_write_all(1, P_ERR_INTERNAL "\r\n", sizeof(P_ERR_INTERNAL) + 1);
	exit(code);
}

/* Root: the login child's user, which must exist and not be root. */
static void
login_user(struct front *f)
{
	char esc[256];
	int r;

	f->root = priv_is_root();
	if (!f->root)
		return;
	log_esc(esc, sizeof(esc), f->loginuser, strlen(f->loginuser));
	if ((r = priv_user(f->loginuser, &f->uid, &f->gid)) != 1) {
		if (r == 0)
			log_fatalx("pop3loginuser: no such user: %s", esc);
		else
			log_fatal("pop3loginuser: unable to look up %s", esc);
		die(111);
	}
	if (f->uid == 0) {
		log_fatalx("pop3loginuser %s is root: refusing", esc);
		die(111);
	}
}

int
main(int argc, char **argv)
{
	struct front f;
	const char *why = NULL, *tls;
	int ch;

	if (std_fds() == -1)
		return 111;
	memset(&f, 0, sizeof(f));
	(void)ucspi_conn_get(&f.conn);
	log_init("tern-pop3-login", f.conn.use_syslog);
	while ((ch = getopt(argc, argv, "+")) != -1) {
		log_fatalx("usage: tern-pop3-login checkpassword [arg ...]");
		return 100;
	}
	if (optind >= argc) {
		log_fatalx("usage: tern-pop3-login checkpassword [arg ...]");
		return 100;
	}
	f.cpargv = argv + optind;
	(void)signal(SIGPIPE, SIG_IGN);
	if (front_cfg_load(&f, paths_control(), &why) == -1) {
		log_fatal("unable to read %s/%s", paths_control(), why);
		die(111);
	}
	login_user(&f);
	tls = getenv("TERN_TLS");
	f.tls = tls != NULL && strcmp(tls, "1") == 0;
	f.tlsctl = f.tls ? -1 : tlsctl_env_fd();
	if (f.tlsctl != -1)
		(void)io_cloexec(f.tlsctl, 1);
	log_info("connect ip=%s%s", f.conn.remote_ip[0] ? f.conn.remote_ip :
	    "-", f.tls ? " tls" : "");
	if (front_start(&f) == -1)
		die(111);
	return front_parent(&f);
}
