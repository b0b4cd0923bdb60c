/* listen: tern-listen's server loop, one child per connection. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "listen.h"
#include "log.h"
#include "ucspi.h"

#define LISTEN_PAUSE_MS		200	/* after accept runs out of fds */
#define LISTEN_ESC_MAX		256	/* an escaped program name */
#define LISTEN_ENV_SET		5	/* variables set per connection */
#define LISTEN_ENV_LEN		(sizeof("TCPREMOTEPORT=") + UCSPI_IP_MAX)

extern char **environ;

/* Who is on a connection, as text, for the log and the environment. */
struct listen_conn {
	int		fd;
	char		rip[UCSPI_IP_MAX];
	char		lip[UCSPI_IP_MAX];
	uint16_t	rport;
	uint16_t	lport;
	struct listen_key key;
};

struct listen_srv {
	const struct listen_cfg *cfg;
	int		lfd;
	int		sigp[2];	/* self-pipe: the handler wakes poll */
	struct listen_slots slots;
	bool		accept_failing;	/* logged once until accept works */
	int64_t		pause_until;	/* CLOCK_MONOTONIC ms; 0: accepting */
	/*
	 * The children's environment: LISTEN_ENV_SET entries pointing into
	 * envbuf, set per connection, then ours without any UCSPI name.
	 */
	char		**envp;
	char		envbuf[LISTEN_ENV_SET][LISTEN_ENV_LEN];
	/* the programs, looked up in PATH once (the child only execs) */
	char		prog[PATH_MAX];
	char		over[PATH_MAX];
};

/* Set by a vfork child whose exec failed; the memory is shared. */
static volatile int listen_spawn_errno;

/* The signal handler reaches these and nothing else. */
static volatile sig_atomic_t listen_got_term;
static volatile sig_atomic_t listen_got_chld;
static int listen_sigfd = -1;

/* Signals tern-listen catches or ignores; children get them back. */
static const int listen_sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGPIPE };

int
listen_open(const struct listen_cfg *cfg, const char **what)
{
	int fd, on = 1, saved;

	*what = "socket";
	fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, IPPROTO_TCP);
	if (fd == -1)
		return -1;
	*what = "setsockopt SO_REUSEADDR";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	/* IPv6 means IPv6 only: IPv4 gets its own listener, if any. */
	*what = "setsockopt IPV6_V6ONLY";
	if (cfg->addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	*what = "bind";
	if (bind(fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) == -1)
		goto fail;
	*what = "listen";
	if (listen(fd, cfg->backlog) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
listen_port_write(const char *path, uint16_t port)
{
	char tmp[PATH_MAX], line[16];
	int fd, n, saved;

	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = snprintf(line, sizeof(line), "%u\n", (unsigned)port);
	/* O_EXCL|O_NOFOLLOW: a planted file or link is an error, no target. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1)
		return -1;
	if (io_write_all(fd, line, (size_t)n) == -1 || close(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

static int64_t
listen_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
listen_onsig(int sig)
{
	int saved = errno;
	char c = 0;
	ssize_t r;

	if (sig == SIGCHLD)
		listen_got_chld = 1;
	else
		listen_got_term = 1;
	/* Full pipe: a wake-up is already pending, the flag says the rest. */
	r = write(listen_sigfd, &c, 1);
	(void)r;
	errno = saved;
}

/* Catch TERM, INT and CHLD through the self-pipe; ignore PIPE. */
static int
listen_signals(struct listen_srv *s)
{
	struct sigaction sa;
	sigset_t none;
	size_t i;

	if (pipe2(s->sigp, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	listen_sigfd = s->sigp[1];
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof(listen_sigs) / sizeof(listen_sigs[0]); i++) {
		sa.sa_handler = listen_sigs[i] == SIGPIPE ? SIG_IGN :
		    listen_onsig;
		if (sigaction(listen_sigs[i], &sa, NULL) == -1)
			return -1;
	}
	/* A mask inherited from our parent would hide SIGCHLD from us. */
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Log how each child ended and give its slot back. */
static void
listen_reap(struct listen_srv *s)
{
	pid_t pid;
	bool over;
	int st;

	listen_got_chld = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (listen_slots_del(&s->slots, pid, &over) == 0)
			continue;
		if (WIFSIGNALED(st))
			log_info("pid %ld signal %d", (long)pid, WTERMSIG(st));
		else
			log_info("pid %ld status %d", (long)pid,
			    WEXITSTATUS(st));
	}
}

/* Names tern-listen sets, or must not pass on from its own caller. */
static bool
listen_env_ours(const char *entry)
{
	static const char *const names[] = { "PROTO", "TCPREMOTEIP",
	    "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEHOST",
	    "TCPREMOTEINFO", "TCPLOCALHOST" };
	size_t i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (strncmp(entry, names[i], n) == 0 && entry[n] == '=')
			return true;
	}
	return false;
}

/*
 * Build the children's environment once: room for the UCSPI entries,
 * then our environment without any UCSPI name (a stale TCPREMOTEHOST
 * must not reach a connection it does not describe).  0 or -1.
 */
static int
listen_env_init(struct listen_srv *s)
{
	size_t i, n = 0, k = LISTEN_ENV_SET;

	while (environ != NULL && environ[n] != NULL)
		n++;
	s->envp = reallocarray(NULL, LISTEN_ENV_SET + n + 1, sizeof(char *));
	if (s->envp == NULL)
		return -1;
	for (i = 0; i < LISTEN_ENV_SET; i++)
		s->envp[i] = s->envbuf[i];
	for (i = 0; i < n; i++)
		if (!listen_env_ours(environ[i]))
			s->envp[k++] = environ[i];
	s->envp[k] = NULL;
	return 0;
}

/* The UCSPI entries for connection c (each fits: LISTEN_ENV_LEN). */
static void
listen_env_set(struct listen_srv *s, const struct listen_conn *c)
{
	(void)snprintf(s->envbuf[0], LISTEN_ENV_LEN, "PROTO=TCP");
	(void)snprintf(s->envbuf[1], LISTEN_ENV_LEN, "TCPREMOTEIP=%s",
	    c->rip);
	(void)snprintf(s->envbuf[2], LISTEN_ENV_LEN, "TCPREMOTEPORT=%u",
	    (unsigned)c->rport);
	(void)snprintf(s->envbuf[3], LISTEN_ENV_LEN, "TCPLOCALIP=%s", c->lip);
	(void)snprintf(s->envbuf[4], LISTEN_ENV_LEN, "TCPLOCALPORT=%u",
	    (unsigned)c->lport);
}

/*
 * The file execvp(3) would run for name, found now so that the vfork
 * child needs nothing but execve(2): name itself when it has a '/' or
 * is nowhere in PATH (the exec then fails and is logged per connection).
 */
static void
listen_lookup(char *out, size_t outsz, const char *name)
{
	const char *path = getenv("PATH"), *p, *e;
	char try[PATH_MAX];
	int r;

	(void)strlcpy(out, name, outsz);
	if (strchr(name, '/') != NULL)
		return;
	if (path == NULL)
		path = "/bin:/usr/bin";
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		r = snprintf(try, sizeof(try), "%.*s%s%s", (int)(e - p), p,
		    e == p ? "" : "/", name);
		if (r > 0 && (size_t)r < sizeof(try) && access(try, X_OK) == 0) {
			(void)strlcpy(out, try, outsz);
			return;
		}
		if (*e == '\0')
			return;
	}
}

/*
 * The vfork child: default signals and an empty mask, the socket on
 * fds 0 and 1 (stderr stays ours), exec.  Only system calls, as the
 * parent's memory is ours until the exec; an exec error goes back in
 * listen_spawn_errno.  dup2 onto itself keeps close-on-exec, hence the
 * explicit clear.
 */
static void __attribute__((noreturn))
listen_child(const struct listen_srv *s, const struct listen_conn *c,
    const char *path, char *const *argv)
{
	struct sigaction sa;
	sigset_t none;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(listen_sigs) / sizeof(listen_sigs[0]); i++)
		(void)sigaction(listen_sigs[i], &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(c->fd, STDIN_FILENO) == -1 ||
	    dup2(c->fd, STDOUT_FILENO) == -1 ||
	    io_cloexec(STDIN_FILENO, 0) == -1 ||
	    io_cloexec(STDOUT_FILENO, 0) == -1) {
		listen_spawn_errno = errno;
		_exit(111);
	}
	execve(path, argv, s->envp);
	listen_spawn_errno = errno != 0 ? errno : ENOEXEC;
	_exit(errno == ENOENT ? 100 : 111);
}

/*
 * Start a child for c running argv; record it.  pid, or -1 (logged).
 * vfork: no page tables are copied, and we wait only until the exec.
 * Every signal is blocked around it, so no handler of ours runs in
 * the child before its reset.  A child whose exec failed is logged
 * here and reaped as usual (exit 100 or 111).
 */
static pid_t
listen_spawn(struct listen_srv *s, const struct listen_conn *c,
    char *const *argv, bool over)
{
	char esc[LISTEN_ESC_MAX];
	sigset_t all, old;
	pid_t pid;
	int err;

	listen_env_set(s, c);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	listen_spawn_errno = 0;
	pid = vfork();
	if (pid == 0)
		listen_child(s, c, over ? s->over : s->prog, argv);
	err = pid == -1 ? errno : listen_spawn_errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		errno = err;
		log_warn("unable to fork for %s port %u", c->rip,
		    (unsigned)c->rport);
		return -1;
	}
	if (err != 0) {
		errno = err;
		log_fatal("pid %ld: unable to run %s", (long)pid,
		    log_esc(esc, sizeof(esc), argv[0], strlen(argv[0])));
	}
	if (listen_slots_add(&s->slots, pid, &c->key, over) == -1)
		log_warn("pid %ld: no slot", (long)pid);	/* cannot be */
	return pid;
}

static const char *
listen_limit_name(enum listen_limit lim)
{
	return lim == LISTEN_LIMIT_GLOBAL ? "global" : "ip";
}

/* One accepted connection: run the program, the -x program, or close. */
static void
listen_dispatch(struct listen_srv *s, struct listen_conn *c)
{
	const struct listen_cfg *cfg = s->cfg;
	enum listen_limit lim;
	char *xargv[2];
	pid_t pid;
	int on = 1;

	if (cfg->keepalive && setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE,
	    &on, sizeof(on)) == -1)
		log_warn("setsockopt SO_KEEPALIVE");
	lim = listen_slots_check(&s->slots, &c->key, cfg->ip_max);
	if (lim == LISTEN_OK) {
		if ((pid = listen_spawn(s, c, cfg->argv, false)) > 0)
			log_info("pid %ld from %s port %u", (long)pid, c->rip,
			    (unsigned)c->rport);
		return;
	}
	if (cfg->over_prog != NULL && listen_slots_over_room(&s->slots)) {
		xargv[0] = (char *)cfg->over_prog;
		xargv[1] = NULL;
		if ((pid = listen_spawn(s, c, xargv, true)) > 0)
			log_info("pid %ld from %s port %u limit=%s", (long)pid,
			    c->rip, (unsigned)c->rport, listen_limit_name(lim));
		return;
	}
	log_info("refused from %s port %u limit=%s", c->rip,
	    (unsigned)c->rport, listen_limit_name(lim));
}

/*
 * Out of fds or memory: say so once per episode, and stop accepting for
 * a moment so the loop does not spin while children exit.
 */
static int
listen_accept_error(struct listen_srv *s, int err)
{
	switch (err) {
	case EINTR: case EAGAIN: case ECONNABORTED: case EPROTO:
	case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN: case ENONET:
	case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH: case EPERM:
		return 0;	/* that connection is gone; the next may come */
	case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
		if (!s->accept_failing) {
			errno = err;
			log_warn("accept (pausing)");
		}
		s->accept_failing = true;
		s->pause_until = listen_now_ms() + LISTEN_PAUSE_MS;
		return 0;
	}
	errno = err;
	log_fatal("accept");
	return -1;
}

static int
listen_accept(struct listen_srv *s)
{
	struct sockaddr_storage rss, lss;
	socklen_t rlen = sizeof(rss), llen = sizeof(lss);
	struct listen_conn c;

	memset(&c, 0, sizeof(c));
	c.fd = accept4(s->lfd, (struct sockaddr *)&rss, &rlen, SOCK_CLOEXEC);
	if (c.fd == -1)
		return listen_accept_error(s, errno);
	s->accept_failing = false;
	if (getsockname(c.fd, (struct sockaddr *)&lss, &llen) == -1 ||
	    ucspi_addr_format((struct sockaddr *)&rss, rlen, c.rip,
	    sizeof(c.rip), &c.rport) == -1 ||
	    ucspi_addr_format((struct sockaddr *)&lss, llen, c.lip,
	    sizeof(c.lip), &c.lport) == -1) {
		log_warn("unable to read a connection's addresses");
		close(c.fd);
		return 0;
	}
	listen_key_of((struct sockaddr *)&rss, rlen, &c.key);
	listen_dispatch(s, &c);
	close(c.fd);
	return 0;
}

/* Wait for a signal or a connection; -1 only for a fatal poll error. */
static int
listen_wait(struct listen_srv *s, bool *can_accept)
{
	struct pollfd pfd[2];
	char drain[64];
	int64_t left = 0;
	int n, timeout = -1;

	if (s->pause_until != 0) {
		left = s->pause_until - listen_now_ms();
		if (left <= 0)
			s->pause_until = 0;
		else
			timeout = (int)left;
	}
	pfd[0].fd = s->sigp[0];
	pfd[0].events = POLLIN;
	pfd[1].fd = s->lfd;
	pfd[1].events = POLLIN;
	pfd[0].revents = pfd[1].revents = 0;
	n = s->pause_until != 0 ? 1 : 2;
	if (poll(pfd, (nfds_t)n, timeout) == -1 && errno != EINTR) {
		log_fatal("poll");
		return -1;
	}
	while (read(s->sigp[0], drain, sizeof(drain)) > 0)
		;
	*can_accept = n == 2 && (pfd[1].revents & POLLIN) != 0;
	return 0;
}

static int
listen_loop(struct listen_srv *s)
{
	bool can_accept;

	while (!listen_got_term) {
		if (listen_wait(s, &can_accept) == -1)
			return -1;
		if (listen_got_chld)
			listen_reap(s);
		if (listen_got_term)
			break;
		if (can_accept && listen_accept(s) == -1)
			return -1;
	}
	close(s->lfd);
	log_info("stopped accepting; %zu connections still running",
	    s->slots.conns + s->slots.overs);
	return 0;
}

int
listen_serve(const struct listen_cfg *cfg, int lfd)
{
	struct listen_srv s;
	int r;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.lfd = lfd;
	s.sigp[0] = s.sigp[1] = -1;
	if (listen_slots_init(&s.slots, cfg->conn_max,
	    cfg->over_prog != NULL ? cfg->conn_max : 0) == -1) {
		log_fatal("unable to allocate the connection table");
		return -1;
	}
	listen_lookup(s.prog, sizeof(s.prog), cfg->argv[0]);
	if (cfg->over_prog != NULL)
		listen_lookup(s.over, sizeof(s.over), cfg->over_prog);
	if (listen_env_init(&s) == -1) {
		log_fatal("unable to allocate the environment");
		listen_slots_free(&s.slots);
		return -1;
	}
	if (listen_signals(&s) == -1) {
		log_fatal("unable to set up signals");
		listen_slots_free(&s.slots);
		free(s.envp);
		return -1;
	}
	r = listen_loop(&s);
	listen_slots_free(&s.slots);
	free(s.envp);
	return r;
}
