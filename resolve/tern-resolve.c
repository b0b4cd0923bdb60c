/* tern-resolve: DNS lookups for delivery over a pipe, or for an admin. */
#include <sys/resource.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "server.h"

static void
usage(void)
{
	log_fatalx("usage: tern-resolve [-u user] [-p | -F] | "
	    "[-u user] mx|a|aaaa|addr|tlsa name");
}

static void
log_config(const struct rsv_cfg *c)
{
	char	 fwd[RSV_FWD_MAX * 66];
	size_t	 i;

	fwd[0] = '\0';
	for (i = 0; i < c->nfwd; i++) {
		strlcat(fwd, i == 0 ? "" : " ", sizeof(fwd));
		strlcat(fwd, c->fwd[i], sizeof(fwd));
	}
	log_info("%s%s, DNSSEC %s%s, timeout %ds", c->recurse ?
	    "recursing from the root" : c->nfwd == 0 ?
	    "forwarding to the resolvers of /etc/resolv.conf" :
	    "forwarding to ", fwd, c->novalidate ? "off" : "with ",
	    c->novalidate ? "" : c->ta[0], c->timeout);
}

/* Root must name a user; otherwise nothing is dropped. */
static int
drop(const char *user)
{
	uid_t	uid;
	gid_t	gid;

	if (!priv_is_root())
		return 0;
	if (user == NULL) {
		log_fatalx("running as root needs -u user");
		return -1;
	}
	if (priv_user(user, &uid, &gid) != 1 || uid == 0) {
		log_fatalx("no usable user %s", user);
		return -1;
	}
	if (priv_drop(uid, gid) == -1) {
		log_fatal("cannot drop to %s", user);
		return -1;
	}
	return 0;
}

/* -F receives its clients on fd 0: it must be a socket. */
static bool
fd0_is_socket(void)
{
	struct stat	st;

	return fstat(0, &st) == 0 && S_ISSOCK(st.st_mode);
}

/*
 * -F holds one socket per client: lift a soft fd limit below what
 * RSV_CLIENTS_MAX needs, as far as the hard limit allows.
 */
static void
raise_nofile(void)
{
	struct rlimit	rl;
	rlim_t		want = RSV_CLIENTS_MAX + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ?
	    rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("cannot raise the open file limit");
}

int
main(int argc, char *argv[])
{
	struct rsv_cfg	 cfg;
	struct rsv	 rsv;
	enum dnsp_type	 type = DNSP_MX;
	const char	*user = NULL, *err;
	bool		 pipemode, shared = false;
	int		 ch, status;

	log_init("tern-resolve", false);
	while ((ch = getopt(argc, argv, "Fpu:")) != -1) {
		if (ch == 'u')
			user = optarg;
		else if (ch == 'F')
			shared = true;
		else if (ch != 'p') {
			usage();
			return 100;
		}
	}
	argc -= optind;
	argv += optind;
	pipemode = argc == 0;
	if ((!pipemode && (argc != 2 || shared)) ||
	    (!pipemode && dnsp_type_parse(argv[0], &type) == -1)) {
		usage();
		return 100;
	}
	if (shared && !fd0_is_socket()) {
		log_fatalx("-F needs a unix socket on fd 0");
		return 111;
	}
	if (rsv_config_load(paths_control(), &cfg, &err) == -1) {
		log_fatal("%s", err);
		return 111;
	}
	if (pipemode)
		log_config(&cfg);
	if (rsv_init(&rsv, &cfg, NULL, NULL, &err) == -1) {
		log_fatalx("resolver: %s", err);
		return 111;
	}
	if (drop(user) == -1) {
		rsv_free(&rsv);
		return 111;
	}
	if (shared) {
		raise_nofile();
		status = rsv_serve_shared(&rsv);
	}
	else
		status = pipemode ? rsv_serve(&rsv) : rsv_command(&rsv, type,
		    argv[1]);
	rsv_free(&rsv);
	return status;
}
