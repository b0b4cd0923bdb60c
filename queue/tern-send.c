/* tern-send: the queue manager (tern-send(8)). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "paths.h"
#include "priv.h"
#include "send.h"

/* fds 0-2 must exist, or a pipe could land on them and be clobbered. */
static int
fds_ensure(void)
{
	int fd;

	do {
		if ((fd = open("/dev/null", O_RDWR)) == -1)
			return -1;
	} while (fd <= 2);
	return close(fd);
}

struct progs {
	char	lspawn[PATH_MAX];
	char	queue[PATH_MAX];
	char	remote[PATH_MAX];
	char	resolve[PATH_MAX];
};

static int
prog_paths(struct progs *p)
{
	const char *q = NULL;

	if (priv_env_trusted())
		q = getenv("TERN_QUEUE");
	if (q != NULL && q[0] == '/' && strlen(q) < sizeof(p->queue))
		(void)strlcpy(p->queue, q, sizeof(p->queue));
	else if (paths_join(p->queue, sizeof(p->queue), paths_libexec(),
	    "tern-queue") == -1)
		return -1;
	if (paths_join(p->remote, sizeof(p->remote), paths_libexec(),
	    "tern-remote") == -1 || paths_join(p->resolve,
	    sizeof(p->resolve), paths_libexec(), "tern-resolve") == -1)
		return -1;
	return paths_join(p->lspawn, sizeof(p->lspawn), paths_libexec(),
	    "tern-lspawn");
}

/*
 * As root: keep the keeper root, let the remote spawner become the
 * remote user, become the queue user.
 */
static int
become_queue_user(struct send_state *st, const struct progs *p)
{
	const char *user = paths_queue_user();
	uid_t uid;
	gid_t gid;
	int r;

	/* The keeper first: the spawner closes what it inherits. */
	if (!priv_is_root()) {
		if (send_loop_keeper(st, p->lspawn) == -1)
			return -1;
		send_loop_rspawn(st, p->remote, p->resolve,
		    paths_remote_user());
		return 0;
	}
	if ((r = priv_user(user, &uid, &gid)) != 1) {
		if (r == 0)
			log_fatalx("no such user: %s", user);
		else
			log_fatal("unable to look up user %s", user);
		return -1;
	}
	if (uid == 0) {
		log_fatalx("refusing to run as root: %s has uid 0", user);
		return -1;
	}
	if (send_loop_keeper(st, p->lspawn) == -1)
		return -1;
	send_loop_rspawn(st, p->remote, p->resolve, paths_remote_user());
	if (priv_drop(uid, gid) == -1) {
		log_fatal("unable to become %s", user);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct send_state st;
	static struct progs p;

	(void)argv;
	log_init("tern-send", false);
	if (argc > 1) {
		log_fatalx("usage: tern-send");
		return 100;
	}
	(void)umask(077);
	if (fds_ensure() == -1 || send_state_init(&st) == -1) {
		log_fatal("unable to start");
		return 111;
	}
	st.control = paths_control();
	st.spool = paths_spool();
	if (prog_paths(&p) == -1) {
		log_fatal("unable to find the helper programs");
		return 111;
	}
	st.queue_prog = p.queue;
	send_load_config(&st);
	if (become_queue_user(&st, &p) == -1)
		return 111;
	if (chdir(st.spool) == -1) {
		log_fatal("unable to enter %s", st.spool);
		return 111;
	}
	if (send_spool_setup(st.spool) == -1)
		return 111;
	return send_loop_run(&st);
}
