/* test-listen: tern-listen's options, addresses, limits and port file. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../ucspi/listen.h"
#include "tap.h"

#define ARGV_MAX	32

/* Split a command line at spaces into argv (no quoting needed here). */
static int
split(char *line, char **argv)
{
	int argc = 0;
	char *p = line, *sp;

	while (p != NULL && *p != '\0' && argc < ARGV_MAX - 1) {
		argv[argc++] = p;
		if ((sp = strchr(p, ' ')) != NULL)
			*sp++ = '\0';
		p = sp;
	}
	argv[argc] = NULL;
	return argc;
}

static const struct {
	const char	*line;
	int		ok;
	size_t		conn_max, ip_max;
	int		family;
	unsigned	port;
	const char	*prog;
	const char	*name;
} cfg_cases[] = {
	{ "tern-listen 127.0.0.1 25 prog", 1, 40, 10, AF_INET, 25, "prog",
	  "defaults: -c 40 -i 10" },
	{ "tern-listen -c 5 -i 2 ::1 0 prog -c 9", 1, 5, 2, AF_INET6, 0,
	  "prog", "options stop at the program; its -c is its own" },
	{ "tern-listen -c 65535 -i 65535 -b 65535 0.0.0.0 65535 p", 1,
	  65535, 65535, AF_INET, 65535, "p", "largest -c -i -b and port" },
	{ "tern-listen :: 587 p", 1, 40, 10, AF_INET6, 587, "p",
	  ":: is the IPv6 any address" },
	{ "tern-listen -- 127.0.0.1 25 p", 1, 40, 10, AF_INET, 25, "p",
	  "-- ends the options" },
	{ "tern-listen -c 0 127.0.0.1 25 p", 0, 0, 0, 0, 0, NULL,
	  "-c 0 is refused" },
	{ "tern-listen -c 65536 127.0.0.1 25 p", 0, 0, 0, 0, 0, NULL,
	  "-c over the maximum is refused" },
	{ "tern-listen -i x 127.0.0.1 25 p", 0, 0, 0, 0, 0, NULL,
	  "-i that is no number is refused" },
	{ "tern-listen -u -1 127.0.0.1 25 p", 0, 0, 0, 0, 0, NULL,
	  "a negative uid is refused" },
	{ "tern-listen -u 4294967295 127.0.0.1 25 p", 0, 0, 0, 0, 0, NULL,
	  "uid (uid_t)-1 is refused" },
	{ "tern-listen -q 127.0.0.1 25 p", 0, 0, 0, 0, 0, NULL,
	  "an unknown option is refused" },
	{ "tern-listen -c", 0, 0, 0, 0, 0, NULL,
	  "an option without its value is refused" },
	{ "tern-listen 127.0.0.1 25", 0, 0, 0, 0, 0, NULL,
	  "no program is a usage error" },
	{ "tern-listen localhost 25 p", 0, 0, 0, 0, 0, NULL,
	  "a host name is refused" },
	{ "tern-listen [::1] 25 p", 0, 0, 0, 0, 0, NULL,
	  "a bracketed IPv6 address is refused" },
	{ "tern-listen 127.0.0.1 65536 p", 0, 0, 0, 0, 0, NULL,
	  "port 65536 is refused" },
	{ "tern-listen 127.0.0.1 -1 p", 0, 0, 0, 0, 0, NULL,
	  "a negative port is refused" },
	{ "tern-listen 127.0.0.1 smtp p", 0, 0, 0, 0, 0, NULL,
	  "a service name is refused" },
	{ "tern-listen 127.0.0.1 +25 p", 0, 0, 0, 0, 0, NULL,
	  "a signed port is refused" },
	{ "tern-listen 1.2.3.4.5 25 p", 0, 0, 0, 0, 0, NULL,
	  "a malformed IPv4 address is refused" },
};

static unsigned
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void
test_cfg(void)
{
	struct listen_cfg cfg;
	char line[256], err[LISTEN_ERR_MAX];
	char *argv[ARGV_MAX];
	size_t i;
	int argc, r;

	for (i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++) {
		strlcpy(line, cfg_cases[i].line, sizeof(line));
		argc = split(line, argv);
		err[0] = '\0';
		r = listen_cfg_parse(&cfg, argc, argv, err, sizeof(err));
		if (!cfg_cases[i].ok) {
			tap_ok(r == -1 && err[0] != '\0', "cfg: %s",
			    cfg_cases[i].name);
			continue;
		}
		tap_ok(r == 0 && cfg.conn_max == cfg_cases[i].conn_max &&
		    cfg.ip_max == cfg_cases[i].ip_max &&
		    cfg.addr.ss_family == cfg_cases[i].family &&
		    port_of(&cfg.addr) == cfg_cases[i].port &&
		    strcmp(cfg.argv[0], cfg_cases[i].prog) == 0,
		    "cfg: %s", cfg_cases[i].name);
		if (r == -1)
			tap_diag("err: %s", err);
	}
}

static void
test_cfg_ids(void)
{
	struct listen_cfg cfg;
	char line[] = "tern-listen -k -u 0 -g 4294967294 -U nobody -x over "
	    "-P /tmp/p -b 7 127.0.0.1 25 prog a b";
	char err[LISTEN_ERR_MAX];
	char *argv[ARGV_MAX];
	int argc;

	argc = split(line, argv);
	tap_ok(listen_cfg_parse(&cfg, argc, argv, err, sizeof(err)) == 0 &&
	    cfg.keepalive && cfg.have_uid && cfg.uid == 0 && cfg.have_gid &&
	    cfg.gid == (gid_t)4294967294U && strcmp(cfg.user, "nobody") == 0 &&
	    strcmp(cfg.over_prog, "over") == 0 &&
	    strcmp(cfg.port_file, "/tmp/p") == 0 && cfg.backlog == 7,
	    "cfg: -k -u -g -U -x -P -b are recorded");
	tap_ok(strcmp(cfg.argv[1], "a") == 0 && strcmp(cfg.argv[2], "b") == 0 &&
	    cfg.argv[3] == NULL, "cfg: the program's arguments follow it");
}

/* A sockaddr for text ip, for the key tests. */
static socklen_t
sa_of(const char *ip, struct sockaddr_storage *ss)
{
	socklen_t len;

	if (listen_addr_parse(ip, "1", ss, &len) == -1)
		abort();
	return len;
}

static const struct {
	const char	*a, *b;
	int		same;
	const char	*name;
} key_cases[] = {
	{ "192.0.2.1", "192.0.2.1", 1, "one IPv4 address is one key" },
	{ "192.0.2.1", "192.0.2.2", 0, "IPv4 neighbours are counted apart" },
	{ "2001:db8::1", "2001:db8::ffff:2", 1, "IPv6 in one /64 share a key" },
	{ "2001:db8::1", "2001:db8:0:1::1", 0, "IPv6 in another /64 differ" },
	{ "::ffff:192.0.2.1", "192.0.2.1", 1,
	  "an IPv4-mapped address counts as its IPv4 address" },
	{ "0.0.0.0", "::", 0, "IPv4 and IPv6 zero keys differ" },
};

static void
test_keys(void)
{
	struct sockaddr_storage sa, sb;
	struct listen_key ka, kb;
	socklen_t la, lb;
	size_t i;

	for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		la = sa_of(key_cases[i].a, &sa);
		lb = sa_of(key_cases[i].b, &sb);
		listen_key_of((struct sockaddr *)&sa, la, &ka);
		listen_key_of((struct sockaddr *)&sb, lb, &kb);
		tap_ok((memcmp(&ka, &kb, sizeof(ka)) == 0) ==
		    (key_cases[i].same != 0), "key: %s", key_cases[i].name);
	}
	la = sa_of("192.0.2.1", &sa);
	listen_key_of((struct sockaddr *)&sa, 4, &ka);
	tap_ok(ka.family == AF_UNSPEC, "key: a short sockaddr has no family");
}

static struct listen_key
key_for(const char *ip)
{
	struct sockaddr_storage ss;
	struct listen_key k;
	socklen_t len;

	len = sa_of(ip, &ss);
	listen_key_of((struct sockaddr *)&ss, len, &k);
	return k;
}

static void
test_slots_limits(void)
{
	struct listen_slots sl;
	struct listen_key a = key_for("192.0.2.1"), b = key_for("192.0.2.2");
	bool over;

	tap_ok(listen_slots_init(&sl, 3, 1) == 0, "slots: init 3 + 1");
	tap_ok(listen_slots_check(&sl, &a, 2) == LISTEN_OK,
	    "slots: an empty table has room");
	listen_slots_add(&sl, 101, &a, false);
	listen_slots_add(&sl, 102, &a, false);
	tap_ok(listen_slots_check(&sl, &a, 2) == LISTEN_LIMIT_IP,
	    "slots: the third from one address hits -i 2");
	tap_ok(listen_slots_check(&sl, &b, 2) == LISTEN_OK,
	    "slots: another address still has room");
	tap_ok(listen_slots_add(&sl, 103, &b, false) == 0,
	    "slots: add up to -c");
	tap_ok(listen_slots_check(&sl, &b, 2) == LISTEN_LIMIT_GLOBAL,
	    "slots: -c 3 reached is the global limit");
	tap_ok(listen_slots_add(&sl, 104, &b, false) == -1 && errno == ENOSPC,
	    "slots: adding over -c fails with ENOSPC");
	tap_ok(listen_slots_over_room(&sl) &&
	    listen_slots_add(&sl, 201, &a, true) == 0 &&
	    !listen_slots_over_room(&sl), "slots: one -x child fits, not two");
	tap_ok(listen_slots_add(&sl, 202, &a, true) == -1 && errno == ENOSPC,
	    "slots: adding over the -x maximum fails with ENOSPC");
	tap_ok(listen_slots_del(&sl, 101, &over) == 1 && !over &&
	    listen_slots_check(&sl, &a, 2) == LISTEN_OK,
	    "slots: a reaped child frees its place");
	tap_ok(listen_slots_del(&sl, 201, &over) == 1 && over &&
	    listen_slots_over_room(&sl),
	    "slots: a reaped -x child frees its place");
	tap_ok(listen_slots_del(&sl, 999, &over) == 0,
	    "slots: an unknown pid is not ours");
	tap_ok(listen_slots_del(&sl, 101, &over) == 0,
	    "slots: a pid is forgotten only once");
	tap_ok(listen_slots_add(&sl, 0, &a, false) == -1 && errno == EINVAL,
	    "slots: pid 0 is refused");
	tap_is_int((long long)(sl.conns + sl.overs), 2,
	    "slots: counts follow adds and deletes");
	listen_slots_free(&sl);
	tap_ok(listen_slots_init(&sl, 0, 0) == -1 && errno == EINVAL,
	    "slots: -c 0 is refused");
	tap_ok(listen_slots_init(&sl, SIZE_MAX, 1) == -1 && errno == EINVAL,
	    "slots: a size overflow is refused");
}

/* The -x children do not count against the per-address limit. */
static void
test_slots_over_not_counted(void)
{
	struct listen_slots sl;
	struct listen_key a = key_for("2001:db8::1");

	listen_slots_init(&sl, 2, 2);
	listen_slots_add(&sl, 1, &a, true);
	listen_slots_add(&sl, 2, &a, true);
	tap_ok(listen_slots_check(&sl, &a, 1) == LISTEN_OK,
	    "slots: -x children do not use up -i or -c");
	listen_slots_free(&sl);
}

static void
test_port_write(void)
{
	char dir[] = "/tmp/test-listen.XXXXXX", path[PATH_MAX], buf[32];
	struct stat st;
	FILE *f;
	size_t n = 0;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/port", dir);
	tap_ok(listen_port_write(path, 65535) == 0, "port file: written");
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	tap_is_str(buf, "65535\n", "port file: holds the port and a newline");
	tap_ok(listen_port_write(path, 25) == 0 && stat(path, &st) == 0 &&
	    st.st_size == 3, "port file: replaced atomically on a rewrite");
	unlink(path);
	rmdir(dir);
	snprintf(path, sizeof(path), "%s/port", dir);
	tap_ok(listen_port_write(path, 25) == -1 && errno == ENOENT,
	    "port file: a missing directory is an error");
}

int
main(void)
{
	test_cfg();
	test_cfg_ids();
	test_keys();
	test_slots_limits();
	test_slots_over_not_counted();
	test_port_write();
	return tap_done();
}
