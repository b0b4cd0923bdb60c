/* tern-listen: accept TCP connections and run a program for each. */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "priv.h"
#include "ucspi.h"

/*
 * With fd 0, 1 or 2 closed, the listening socket or a connection could
 * land there and be taken for stdin, stdout or the log.
 */
static int
std_fds_open(void)
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
 * The user to become: -U's uid and gid, each replaced by -u or -g.
 * Root must name both (no network-facing child runs as root) unless -R
 * says the program drops by itself; anybody else keeps their own ids.
 * 0 with *drop set, or -1 (logged).
 */
static int
target_ids(const struct listen_cfg *cfg, uid_t *uid, gid_t *gid, bool *drop)
{
	char esc[128];
	int r;

	*drop = false;
	if (cfg->user != NULL) {
		if ((r = priv_user(cfg->user, uid, gid)) != 1) {
			log_esc(esc, sizeof(esc), cfg->user, strlen(cfg->user));
			if (r == 0)
				log_fatalx("no such user: %s", esc);
			else
				log_fatal("unable to look up user %s", esc);
			return -1;
		}
	}
	if (cfg->have_uid)
		*uid = cfg->uid;
	if (cfg->have_gid)
		*gid = cfg->gid;
	if (priv_is_root() && cfg->keep_root && cfg->over_prog != NULL) {
		/* -R is for programs that drop by themselves; -x's is not */
		log_fatalx("-x cannot be used with -R as root: the "
		    "over-program would run as root");
		return -1;
	}
	if (!priv_is_root() || cfg->keep_root)
		return 0;
	if (cfg->user == NULL && (!cfg->have_uid || !cfg->have_gid)) {
		log_fatalx("running as root: name the user to run as "
		    "with -U user, or -u uid and -g gid");
		return -1;
	}
	if (*uid == 0) {
		log_fatalx("refusing to run connections as root (uid 0)");
		return -1;
	}
	*drop = true;
	return 0;
}

/* Log the bound address (port 0 became a real port) and publish it. */
static int
announce(const struct listen_cfg *cfg, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[UCSPI_IP_MAX];
	uint16_t port;

	if (getsockname(lfd, (struct sockaddr *)&ss, &len) == -1 ||
	    ucspi_addr_format((struct sockaddr *)&ss, len, ip, sizeof(ip),
	    &port) == -1) {
		log_fatal("getsockname");
		return -1;
	}
	log_info("listening on %s port %u", ip, (unsigned)port);
	if (cfg->port_file != NULL &&
	    listen_port_write(cfg->port_file, port) == -1) {
		log_fatal("unable to write the port file");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct listen_cfg cfg;
	char err[LISTEN_ERR_MAX];
	const char *what;
	uid_t uid = 0;
	gid_t gid = 0;
	bool drop;
	int lfd;

	log_init("tern-listen", false);
	if (std_fds_open() == -1) {
		log_fatal("unable to open /dev/null");
		return 111;
	}
	if (listen_cfg_parse(&cfg, argc, argv, err, sizeof(err)) == -1) {
		log_fatalx("%s", err);
		return 100;
	}
	if (target_ids(&cfg, &uid, &gid, &drop) == -1)
		return 100;
	if ((lfd = listen_open(&cfg, &what)) == -1) {
		log_fatal("unable to listen on %s port %s: %s",
		    cfg.host, cfg.port, what);
		return 111;
	}
	if (announce(&cfg, lfd) == -1)
		return 111;
	if (cfg.keep_root && priv_is_root())
		log_info("-R: the program runs as root and must drop "
		    "privileges by itself");
	if (drop && priv_drop(uid, gid) == -1) {
		log_fatal("unable to drop to uid %ld gid %ld", (long)uid,
		    (long)gid);
		return 111;
	}
	return listen_serve(&cfg, lfd) == 0 ? 0 : 111;
}
