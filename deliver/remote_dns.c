/* remote_dns: MX hosts, addresses and TLSA records through tern-resolve. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dnsproto.h"
#include "io.h"
#include "line.h"
#include "log.h"
#include "paths.h"
#include "remote.h"

#define DNS_WAIT	120	/* seconds for all answers of one round */

/* The resolver: a socket, or a child's two pipe ends. */
struct resolver {
	int		 rfd, wfd;
	pid_t		 pid;
	struct buf	 in;
	bool		 inherited;	/* TERN_RESOLVER_FD */
	bool		 answered;	/* some answer arrived */
	bool		 gone;		/* the peer closed the connection */
};

static int
res_socket(struct resolver *rs, const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	rs->rfd = rs->wfd = fd;
	return 0;
}

static int
res_spawn(struct resolver *rs)
{
	char	path[4096];
	int	req[2], rep[2];

	if (paths_join(path, sizeof(path), paths_libexec(), "tern-resolve")
	    == -1 || pipe2(req, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(rep, O_CLOEXEC) == -1) {
		close(req[0]);
		close(req[1]);
		return -1;
	}
	rs->pid = fork();
	if (rs->pid == 0) {
		/* only the pipes: no message fd (4..) reaches the resolver */
		if (dup2(req[0], 0) == -1 || dup2(rep[1], 1) == -1)
			_exit(111);
		(void)close_range(3, ~0U, 0);
		execl(path, "tern-resolve", "-p", (char *)NULL);
		_exit(111);
	}
	close(req[0]);
	close(rep[1]);
	if (rs->pid == -1) {
		close(req[1]);
		close(rep[0]);
		return -1;
	}
	rs->wfd = req[1];
	rs->rfd = rep[0];
	return 0;
}

/*
 * TERN_RESOLVER_FD: a connection to a shared tern-resolve -F, set up
 * by tern-send's remote spawner.  1 when it is a usable stream socket,
 * 0 when unset, -1 when unusable (logged; the caller spawns instead).
 */
static int
res_inherited(struct resolver *rs)
{
	const char	*env = getenv("TERN_RESOLVER_FD"), *err;
	struct stat	 st;
	socklen_t	 len = sizeof(int);
	char		 esc[16 * 4 + 1];
	int		 fd, type = -1;

	if (env == NULL || env[0] == '\0')
		return 0;
	fd = (int)strtonum(env, 3, INT_MAX, &err);
	if (err != NULL || fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM) {
		log_warnx("TERN_RESOLVER_FD=%s is no stream socket: "
		    "running tern-resolve -p", log_esc(esc, sizeof(esc), env,
		    strnlen(env, 16)));
		return -1;
	}
	/* one connection per run: closed at the end of remote_dns */
	(void)unsetenv("TERN_RESOLVER_FD");
	if (io_cloexec(fd, 1) == -1)
		return -1;
	rs->rfd = rs->wfd = fd;
	rs->inherited = true;
	return 1;
}

/* TERN_RESOLVER_FD, else the TERN_RESOLVER socket, else a child. */
static int
res_open(struct resolver *rs)
{
	const char	*env = getenv("TERN_RESOLVER");

	memset(rs, 0, sizeof(*rs));
	rs->rfd = rs->wfd = -1;
	rs->pid = -1;
	buf_init(&rs->in, DNSP_REPLY_MAX * 2);
	if (res_inherited(rs) == 1)
		return 0;
	if (env != NULL && env[0] != '\0')
		return res_socket(rs, env);
	return res_spawn(rs);
}

static void
res_close(struct resolver *rs)
{
	int	st;

	if (rs->wfd != -1 && rs->wfd != rs->rfd)
		close(rs->wfd);
	if (rs->rfd != -1)
		close(rs->rfd);
	if (rs->pid > 0)
		while (waitpid(rs->pid, &st, 0) == -1 && errno == EINTR)
			;
	buf_free(&rs->in);
}

static int
res_send(struct resolver *rs, unsigned long id, enum dnsp_type t,
    const char *name)
{
	struct dnsp_req	q;
	struct buf	out;
	int		rv;

	q.id = id;
	q.type = t;
	if (strlcpy(q.name, name, sizeof(q.name)) >= sizeof(q.name)) {
		errno = EINVAL;
		return -1;
	}
	buf_init(&out, DNSP_REQ_MAX);
	rv = dnsp_req_format(&out, &q);
	if (rv == 0)
		rv = io_write_all(rs->wfd, out.data, out.len);
	if (rv == -1 && (errno == EPIPE || errno == ECONNRESET))
		rs->gone = true;
	buf_free(&out);
	return rv;
}

/*
 * The next answer frame: 1 with *a (pointing into rs->in until the
 * next call: consume *used afterwards), -1 on error or EOF.
 */
static int
res_next(struct resolver *rs, struct dnsp_answer *a, size_t *used)
{
	char		 tmp[8192];
	const char	*err;
	ssize_t		 n;
	int64_t		 deadline = remote_deadline(DNS_WAIT);
	struct pollfd	 pfd;
	int		 rv;

	for (;;) {
		rv = dnsp_answer_parse(rs->in.data ? rs->in.data : "",
		    rs->in.len, used, a, &err);
		if (rv == 1)
			rs->answered = true;
		if (rv != 0)
			return rv == 1 ? 1 : (errno = EPROTO, -1);
		pfd.fd = rs->rfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) == -1 && errno != EINTR)
			return -1;
		if (line_deadline(0) > deadline)
			return errno = ETIMEDOUT, -1;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		n = io_read(rs->rfd, tmp, sizeof(tmp));
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			rs->gone = true;
		if (n <= 0)
			return errno = n == 0 ? ECONNRESET : errno, -1;
		if (buf_append(&rs->in, tmp, (size_t)n) == -1)
			return -1;
	}
}

/* MX answer -> r->hosts; the M records are "pref host". */
static int
take_mx(struct remote *r, const struct dnsp_answer *a)
{
	struct remote_host	*h;
	const char		*v, *sp, *err;
	char			 num[8];
	size_t			 pos = 0;
	char			 tag;

	while (dnsp_answer_next(a, &pos, &tag, &v) == 1) {
		if (tag != 'M' || r->nhosts >= REMOTE_HOSTS_MAX ||
		    (sp = strchr(v, ' ')) == NULL ||
		    (size_t)(sp - v) >= sizeof(num))
			continue;
		memcpy(num, v, (size_t)(sp - v));
		num[sp - v] = '\0';
		h = &r->hosts[r->nhosts];
		memset(h, 0, sizeof(*h));
		h->pref = (int)strtonum(num, 0, 65535, &err);
		if (err != NULL)
			continue;
		if (strlcpy(h->name, sp + 1, sizeof(h->name)) >=
		    sizeof(h->name))
			continue;
		h->port = r->cfg.port;
		h->secure = a->sec == DNSP_SECURE;
		buf_init(&h->tlsa, 64 * 1024);
		r->nhosts++;
	}
	return 0;
}

void
remote_shuffle_equal(struct remote_host *hosts, size_t n)
{
	struct remote_host	tmp;
	size_t			i, j, k, run;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && hosts[j].pref == hosts[i].pref; j++)
			;
		run = j - i;
		for (k = run; k > 1; k--) {
			size_t	x = arc4random_uniform((uint32_t)k);

			tmp = hosts[i + k - 1];
			hosts[i + k - 1] = hosts[i + x];
			hosts[i + x] = tmp;
		}
	}
}

/* True when ip is an address of one of this machine's interfaces. */
static bool
is_local_ip(const char *ip)
{
	struct ifaddrs	*ifs, *i;
	char		 s[REMOTE_IP_MAX];
	const void	*a;
	bool		 found = false;

	if (getifaddrs(&ifs) == -1)
		return false;
	for (i = ifs; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			a = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(i->ifa_addr->sa_family, a, s, sizeof(s)) !=
		    NULL && strcmp(s, ip) == 0)
			found = true;
	}
	freeifaddrs(ifs);
	return found;
}

/* An address answer for host h: its A records (IPv6 come first). */
static void
take_addrs(struct remote *r, struct remote_host *h,
    const struct dnsp_answer *a, size_t *total)
{
	const char	*v;
	size_t		 pos = 0;
	char		 tag;

	if (a->letter != 'K')
		return;
	h->secure = h->secure && a->sec == DNSP_SECURE;
	while (dnsp_answer_next(a, &pos, &tag, &v) == 1) {
		if (tag != 'A' || h->naddrs >= REMOTE_ADDRS_MAX ||
		    *total >= (size_t)r->cfg.maxaddrs)
			continue;
		if (strlcpy(h->addrs[h->naddrs], v, REMOTE_IP_MAX) >=
		    REMOTE_IP_MAX)
			continue;
		h->naddrs++;
		(*total)++;
	}
}

/* A TLSA answer for host h; why gets the reason when h is unusable. */
static void
take_tlsa(struct remote_host *h, const struct dnsp_answer *a,
    const char *name, char *why, size_t whysz)
{
	const char	*v;
	size_t		 pos = 0;
	char		 tag;

	if (a->letter != 'K' || a->sec != DNSP_SECURE) {
		/*
		 * A secure host whose TLSA lookup failed (bogus, SERVFAIL)
		 * is unusable: RFC 7672 2.2 forbids falling back to
		 * unauthenticated TLS or clear text.
		 */
		if (a->letter != 'K') {
			h->naddrs = 0;
			(void)snprintf(why, whysz, "DNS: TLSA lookup of %s "
			    "failed: %s", name, a->text);
		}
		return;
	}
	while (dnsp_answer_next(a, &pos, &tag, &v) == 1)
		if (tag == 'T' && buf_append(&h->tlsa, v, strlen(v) + 1) == 0)
			h->ntlsa++;
}

/* The name to ask for host i: the host, or its TLSA owner name. */
static void
query_name(const struct remote *r, size_t i, enum dnsp_type t, char *name,
    size_t namesz)
{
	/*
	 * An MX host serves SMTP on 25: remoteport (a test hook) moves the
	 * connection, not the TLSA name.
	 */
	if (t == DNSP_TLSA)
		(void)snprintf(name, namesz, "_%d._tcp.%s",
		    r->cfg.route[0] == '\0' ? REMOTE_PORT : r->hosts[i].port,
		    r->hosts[i].name);
	else
		strlcpy(name, r->hosts[i].name, namesz);
}

/*
 * Send one query per host of kind t and dispatch the answers by id; why
 * gets the reason a TLSA failure made a host unusable.
 */
static int
round_trip(struct remote *r, struct resolver *rs, enum dnsp_type t,
    size_t *total, char *why, size_t whysz)
{
	struct dnsp_answer	 a;
	char			 name[DNSP_NAME_MAX + 16];
	size_t			 i, used, want = 0;

	for (i = 0; i < r->nhosts; i++) {
		if (r->hosts[i].literal || (t == DNSP_TLSA &&
		    (!r->hosts[i].secure || r->hosts[i].naddrs == 0)))
			continue;
		query_name(r, i, t, name, sizeof(name));
		if (res_send(rs, i + 1, t, name) == -1)
			return -1;
		want++;
	}
	while (want > 0) {
		if (res_next(rs, &a, &used) == -1)
			return -1;
		if (a.id >= 1 && a.id <= r->nhosts && t == DNSP_TLSA) {
			query_name(r, a.id - 1, t, name, sizeof(name));
			take_tlsa(&r->hosts[a.id - 1], &a, name, why, whysz);
		} else if (a.id >= 1 && a.id <= r->nhosts)
			take_addrs(r, &r->hosts[a.id - 1], &a, total);
		buf_consume(&rs->in, used);
		want--;
	}
	return 0;
}

/* The MX lookup: 0 with hosts, -1 with the message result set. */
static int
lookup_mx(struct remote *r, struct resolver *rs)
{
	struct dnsp_answer	a;
	size_t			used;

	if (res_send(rs, 1, DNSP_MX, r->domain) == -1 ||
	    res_next(rs, &a, &used) == -1) {
		remote_msg_set(r, 'Z', "4.4.3", "cannot query tern-resolve: "
		    "%s", strerror(errno));
		return -1;
	}
	if (a.letter != 'K') {
		remote_msg_set(r, a.letter == 'D' ? 'D' : 'Z', a.status,
		    "DNS: %s: %s", r->domain, a.text);
		buf_consume(&rs->in, used);
		return -1;
	}
	take_mx(r, &a);
	buf_consume(&rs->in, used);
	if (r->nhosts == 0) {
		remote_msg_set(r, 'Z', "4.4.3", "DNS: %s: no usable MX host",
		    r->domain);
		return -1;
	}
	remote_shuffle_equal(r->hosts, r->nhosts);
	return 0;
}

/*
 * RFC 5321 5.1: when this host is one of the MX hosts, only hosts of a
 * lower preference may be used; none left is a loop.  by_ip also looks
 * at the addresses (only when delivering to the standard port).
 */
static int
cut_self(struct remote *r, bool by_ip)
{
	size_t	i, j;
	bool	self;

	for (i = 0; i < r->nhosts; i++) {
		self = strcasecmp(r->hosts[i].name, r->cfg.me) == 0;
		for (j = 0; by_ip && !self && j < r->hosts[i].naddrs; j++)
			self = is_local_ip(r->hosts[i].addrs[j]);
		if (!self)
			continue;
		while (i > 0 && r->hosts[i - 1].pref == r->hosts[i].pref)
			i--;
		r->nhosts = i;
		break;
	}
	if (r->nhosts > 0)
		return 0;
	remote_msg_set(r, 'D', "5.4.6", "MX for %s points back to this "
	    "host (%s)", r->domain, r->cfg.me);
	return -1;
}

static int
route_host(struct remote *r)
{
	struct remote_host	*h = &r->hosts[0];

	memset(h, 0, sizeof(*h));
	buf_init(&h->tlsa, 64 * 1024);
	if (remote_hostport(r->cfg.route, r->cfg.port, h->name,
	    sizeof(h->name), &h->port, &h->literal) == -1)
		return -1;
	h->insecure_auth = r->cfg.route_insecure;
	if (h->literal) {
		strlcpy(h->addrs[0], h->name, REMOTE_IP_MAX);
		h->naddrs = 1;
	}
	r->nhosts = 1;
	return 0;
}

static int
lookups(struct remote *r, struct resolver *rs)
{
	char	why[DNSP_TEXT_MAX + DNSP_NAME_MAX + 64];
	size_t	total = 0, i;

	why[0] = '\0';
	if (r->cfg.route[0] != '\0') {
		if (route_host(r) == -1) {
			remote_msg_set(r, 'Z', "4.3.5", "bad smtproutes host");
			return -1;
		}
	} else if (lookup_mx(r, rs) == -1 || cut_self(r, false) == -1)
		return -1;
	if (round_trip(r, rs, DNSP_ADDR, &total, why, sizeof(why)) == -1) {
		remote_msg_set(r, 'Z', "4.4.3", "cannot query tern-resolve: "
		    "%s", strerror(errno));
		return -1;
	}
	if (r->cfg.route[0] == '\0' && cut_self(r, r->cfg.port ==
	    REMOTE_PORT) == -1)
		return -1;
	if (r->cfg.tls != RTLS_NONE && round_trip(r, rs, DNSP_TLSA, &total,
	    why, sizeof(why)) == -1) {
		remote_msg_set(r, 'Z', "4.4.3", "cannot query tern-resolve: "
		    "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < r->nhosts; i++)
		if (r->hosts[i].naddrs > 0)
			return 0;
	if (why[0] != '\0')
		remote_msg_set(r, 'Z', "4.4.3", "%s", why);
	else
		remote_msg_set(r, 'Z', "4.4.3", "no address found for any "
		    "mail host of %s", r->domain);
	return -1;
}

int
remote_dns(struct remote *r)
{
	struct resolver	rs;
	int		rv;

	if (r->cfg.route[0] != '\0' && r->cfg.route[0] == '[' &&
	    strchr(r->cfg.route, ']') != NULL)
		return lookups(r, NULL);
	if (res_open(&rs) == -1) {
		remote_msg_set(r, 'Z', "4.4.3", "cannot start tern-resolve: %s",
		    strerror(errno));
		buf_free(&rs.in);
		return -1;
	}
	rv = lookups(r, &rs);
	if (rv == -1 && rs.inherited && rs.gone && !rs.answered) {
		/*
		 * The shared resolver died before it answered (tern-send
		 * restarts it): a run of our own beats deferring the domain
		 * as if its hosts had failed.
		 */
		log_warnx("the shared tern-resolve closed the connection: "
		    "running tern-resolve -p");
		res_close(&rs);
		if (res_open(&rs) == -1) {
			remote_msg_set(r, 'Z', "4.4.3", "cannot start "
			    "tern-resolve: %s", strerror(errno));
			buf_free(&rs.in);
			return -1;
		}
		rv = lookups(r, &rs);
	}
	res_close(&rs);
	return rv;
}
