/* sendmail, tern-inject: the sendmail command line for scripts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cfg.h"
#include "inject.h"
#include "log.h"
#include "paths.h"
#include "priv.h"

#define HOST_MAX	256

struct config {
	char		 me[ADDR_DOMAIN_MAX + 1];
	char		 defdomain[ADDR_DOMAIN_MAX + 1];
	long long	 databytes;
	char		 queue[PATH_MAX];
	char		 login[LOGIN_NAME_MAX + 64];
	char		 gecos[1024];
	bool		 have_login;
	bool		 have_gecos;
};

static void __attribute__((noreturn))
usage(const char *why)
{
	log_fatalx("%s", why);
	(void)fprintf(stderr, "usage: sendmail [-itv] [-bm | -bp | -bs] "
	    "[-F fullname] [-f sender] [-N dsn] [-R ret] [-o option] "
	    "[--] [recipient ...]\n");
	exit(100);
}

/* A closed fd 0, 1 or 2 would let a pipe take its number: fill them. */
static void
open_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= 2)
		;
	if (fd > 2)
		(void)close(fd);
}

static void
load_config(struct config *c)
{
	const char *dir = paths_control(), *q;
	int r;

	if ((r = cfg_get_str(dir, "me", c->me, sizeof(c->me))) == -1)
		goto bad;
	if (r == 0 && (gethostname(c->me, sizeof(c->me)) == -1 ||
	    c->me[0] == '\0'))
		(void)strlcpy(c->me, "localhost", sizeof(c->me));
	c->me[sizeof(c->me) - 1] = '\0';
	if ((r = cfg_get_str(dir, "defaultdomain", c->defdomain,
	    sizeof(c->defdomain))) == -1)
		goto bad;
	if (r == 0)
		(void)strlcpy(c->defdomain, c->me, sizeof(c->defdomain));
	c->databytes = 0;
	if (cfg_get_num(dir, "databytes", 0, LLONG_MAX, &c->databytes) == -1)
		goto bad;
	q = priv_env_trusted() ? getenv("TERN_QUEUE") : NULL;
	if (q != NULL && q[0] != '\0')
		r = strlcpy(c->queue, q, sizeof(c->queue)) < sizeof(c->queue) ?
		    0 : -1;
	else
		r = paths_join(c->queue, sizeof(c->queue), paths_libexec(),
		    "tern-queue");
	if (r == -1) {
		log_fatalx("queue program path too long");
		exit(111);
	}
	return;
bad:
	log_fatal("unable to read the control files in %s", dir);
	exit(111);
}

static void
load_user(struct config *c)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwuid(getuid())) == NULL)
		return;
	if (strlcpy(c->login, pw->pw_name, sizeof(c->login)) <
	    sizeof(c->login))
		c->have_login = true;
	if (pw->pw_gecos != NULL && strlcpy(c->gecos, pw->pw_gecos,
	    sizeof(c->gecos)) < sizeof(c->gecos))
		c->have_gecos = true;
}

/*
 * -bp: the queue listing is tern-qctl's job.  It is looked for in LIBEXEC
 * (tests, make run), then in PATH (an installed system keeps it in sbin).
 */
static void __attribute__((noreturn))
list_queue(void)
{
	char path[PATH_MAX];
	char *argv[] = { "tern-qctl", "list", NULL };

	if (paths_join(path, sizeof(path), paths_libexec(), "tern-qctl") == 0)
		execv(path, argv);
	execvp("tern-qctl", argv);
	log_fatal("-bp: unable to run tern-qctl: use mailq");
	exit(111);
}

int
main(int argc, char **argv)
{
	struct inject_opts opts;
	struct inject_job job;
	struct config *c;
	const char *why;

	log_init("sendmail", false);
	open_std_fds();
	if (inject_args(argc, argv, &opts, &why) == -1)
		usage(why);
	switch (opts.mode) {
	case INJECT_SMTP:
		log_fatalx("-bs (SMTP on standard input) is not supported");
		return 100;
	case INJECT_LIST:
		list_queue();
	case INJECT_ALIASES:
		log_info("-bi: nothing to rebuild, the aliases file is read "
		    "as it is");
		return 0;
	case INJECT_QRUN:
		log_info("-q ignored: tern-send runs the queue by itself");
		return 0;
	case INJECT_SEND:
		break;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_fatal("unable to allocate memory");
		return 111;
	}
	load_config(c);
	load_user(c);
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&job, 0, sizeof(job));
	job.opts = &opts;
	job.queue_prog = c->queue;
	job.me = c->me;
	job.defdomain = c->defdomain;
	job.login = c->have_login ? c->login : NULL;
	job.gecos = c->have_gecos ? c->gecos : NULL;
	job.databytes = c->databytes;
	job.infd = 0;
	return inject_message(&job);
}
