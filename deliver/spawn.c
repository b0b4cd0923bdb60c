/* spawn: tern-lspawn's request loop, resolution and children. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "rec.h"
#include "spawn.h"
#include "spool.h"

#define SPAWN_ARGV_FIXED	20	/* argv slots besides the targets */
#define SPAWN_CHECK_WAIT_MS	120000	/* a check waits for an older copy */
#define SPAWN_CHECK_STEP_US	50000

static volatile sig_atomic_t got_hup, got_chld;
static int sig_wfd = -1;

static void
on_signal(int sig)
{
	int	saved = errno;

	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_chld = 1;
	(void)write(sig_wfd, "s", 1);
	errno = saved;
}

static void
stamp_of(const char *path, struct spawn_stamp *st)
{
	struct stat	sb;

	memset(st, 0, sizeof(*st));
	if (stat(path, &sb) == -1)
		return;
	st->exists = true;
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtime = sb.st_mtim;
}

static bool
stamp_eq(const struct spawn_stamp *a, const struct spawn_stamp *b)
{
	return a->exists == b->exists && a->dev == b->dev &&
	    a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Read a table file: 1 read, 0 absent, -1 error (logged). */
static int
table_read(const char *name, struct spawn_stamp *st, char **data,
    size_t *len)
{
	char	path[PATH_MAX];
	int	r;

	if (paths_join(path, sizeof(path), paths_control(), name) == -1) {
		log_warn("control/%s", name);
		return -1;
	}
	stamp_of(path, st);
	if ((r = cfg_read_file(paths_control(), name, CFG_TABLE_MAX, true,
	    data, len)) == -1)
		log_warn("cannot read control/%s", name);
	return r;
}

static void
load_aliases(struct spawn *sp)
{
	const char	*err;
	char		*data;
	size_t		 len, lineno;
	int		 r;

	alias_free(&sp->cfg.aliases);
	sp->cfg.aliases_bad = false;
	if ((r = table_read("aliases", &sp->aliases_st, &data, &len)) == 0)
		return;
	if (r == -1 || alias_parse(data, len, &sp->cfg.aliases, &lineno,
	    &err) == -1) {
		if (r != -1)
			log_warnx("control/aliases line %zu: %s: deliveries "
			    "deferred", lineno, err);
		sp->cfg.aliases_bad = true;
	}
	free(data);
}

static void
load_users(struct spawn *sp)
{
	const char	*err;
	char		*data;
	size_t		 len, lineno;
	int		 r;

	users_free(&sp->cfg.users);
	sp->cfg.users_bad = false;
	if ((r = table_read("passwd", &sp->users_st, &data, &len)) == 0)
		return;
	if (r == -1 || users_parse(data, len, &sp->cfg.users, &lineno,
	    &err) == -1) {
		if (r != -1)
			log_warnx("control/passwd line %zu: %s: deliveries "
			    "deferred", lineno, err);
		sp->cfg.users_bad = true;
	}
	if (data != NULL) {
		explicit_bzero(data, len);
		free(data);
	}
}

/* A one-line control file with a default. */
static void
control_str(const char *name, char *out, size_t outsz, const char *def)
{
	int	r;

	if ((r = cfg_get_str(paths_control(), name, out, outsz)) == -1)
		log_warn("cannot read control/%s, using \"%s\"", name, def);
	if (r != 1)
		strlcpy(out, def, outsz);
}

static void
load_postmaster(struct spawn *sp)
{
	struct rcpt_cfg	*c = &sp->cfg;
	char			 raw[ADDR_BUF];
	const char		*err;

	control_str("postmaster", raw, sizeof(raw), "");
	c->postmaster[0] = '\0';
	if (raw[0] != '\0' && addr_parse_mailbox(raw, strlen(raw), ADDR_UTF8,
	    c->me, c->postmaster, sizeof(c->postmaster), &err) == -1) {
		log_warnx("control/postmaster: %s", err);
		c->postmaster[0] = '\0';
	}
}

void
spawn_config_load(struct spawn *sp)
{
	struct rcpt_cfg	*c = &sp->cfg;
	char			 host[ADDR_DOMAIN_MAX + 1];
	size_t			 i;

	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	control_str("me", c->me, sizeof(c->me), host);
	for (i = 0; c->me[i] != '\0'; i++)
		c->me[i] = (char)tolower((unsigned char)c->me[i]);
	cfg_list_free(&c->localdomains);
	memset(&c->localdomains, 0, sizeof(c->localdomains));
	if (cfg_get_list(paths_control(), "localdomains",
	    &c->localdomains) == -1) {
		log_warn("cannot read control/localdomains, using me");
		memset(&c->localdomains, 0, sizeof(c->localdomains));
	}
	control_str("extension", c->extsep, sizeof(c->extsep), "+");
	control_str("aliasuser", c->aliasuser, sizeof(c->aliasuser),
	    "nobody");
	load_postmaster(sp);
	load_aliases(sp);
	load_users(sp);
}

void
spawn_tables_check(struct spawn *sp)
{
	struct spawn_stamp	now;
	char			path[PATH_MAX];

	if (paths_join(path, sizeof(path), paths_control(), "aliases") == 0) {
		stamp_of(path, &now);
		if (!stamp_eq(&now, &sp->aliases_st))
			load_aliases(sp);
	}
	if (paths_join(path, sizeof(path), paths_control(), "passwd") == 0) {
		stamp_of(path, &now);
		if (!stamp_eq(&now, &sp->users_st))
			load_users(sp);
	}
}

int
spawn_init(struct spawn *sp)
{
	struct sigaction	sa;

	memset(sp, 0, sizeof(*sp));
	sp->cfg.root = priv_is_root();
	sp->cfg.sysuser = users_system;
	buf_init(&sp->in, 2 * SPAWN_REQ_MAX);
	if (pipe2(sp->sigfd, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_fatal("pipe");
		return -1;
	}
	sig_wfd = sp->sigfd[1];
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_fatal("sigaction");
		return -1;
	}
	spawn_config_load(sp);
	return 0;
}

/*
 * The field at data[*pos..len): 1 with *f and *flen, 0 incomplete, -1
 * over SPAWN_REQ_MAX.
 */
static int
req_field(const char *data, size_t len, size_t *pos, const char **f,
    size_t *flen, const char **errstr)
{
	const char	*nul;

	nul = memchr(data + *pos, '\0', len - *pos);
	if (nul == NULL || (size_t)(nul - data) >= SPAWN_REQ_MAX) {
		if (len >= SPAWN_REQ_MAX) {
			*errstr = "request too long";
			return -1;
		}
		return 0;
	}
	*f = data + *pos;
	*flen = (size_t)(nul - *f);
	*pos += *flen + 1;
	return 1;
}

int
spawn_parse_req(const char *data, size_t len, size_t *used,
    const char *f[4], bool *check, const char **errstr)
{
	const char	*x;
	size_t		 pos = 0, flen;
	int		 i, r;

	for (i = 0; i < 6; i++) {
		if ((r = req_field(data, len, &pos, &x, &flen, errstr)) != 1)
			return r;
		if (i < 4) {
			f[i] = x;
			continue;
		}
		if (flen == 0)
			break;		/* the end */
		if (i == 5) {
			*errstr = "request does not end with an empty field";
			return -1;
		}
		if (flen != 1 || (x[0] != 'c' && x[0] != '-')) {
			*errstr = "bad request flag";
			return -1;
		}
		*check = x[0] == 'c';
	}
	if (i == 4)
		*check = false;
	*used = pos;
	return 1;
}

int
spawn_parse_request(const char *data, size_t len, size_t *used,
    const char *f[4], const char **errstr)
{
	bool	check;

	return spawn_parse_req(data, len, used, f, &check, errstr);
}

/* A status "d.d{1,3}.d{1,3}" of class c at s[0..len). */
static bool
status_ok(const char *s, size_t len, char c)
{
	size_t	i, n = 0, dots = 0;

	if (len < 5 || len > 7 || s[0] != c || s[1] != '.')
		return false;
	for (i = 2; i < len; i++) {
		if (s[i] == '.') {
			if (n == 0 || ++dots > 1)
				return false;
			n = 0;
		} else if (!isdigit((unsigned char)s[i]) || ++n > 3)
			return false;
	}
	return dots == 1 && n > 0;
}

/* Printable ASCII of s[0..len) into text (at most SPAWN_TEXT_MAX). */
static void
clean_text(const char *s, size_t len, char *text)
{
	size_t	i;

	if (len > SPAWN_TEXT_MAX)
		len = SPAWN_TEXT_MAX;
	for (i = 0; i < len; i++)
		text[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	text[len] = '\0';
}

void
spawn_result(int wstatus, const char *line, size_t len, char *letter,
    char status[8], char text[SPAWN_TEXT_MAX + 1])
{
	const char	*nl, *sp, *def = "4.3.0";
	int		 code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;

	*letter = 'Z';
	if (code == 0) {
		*letter = 'K';
		def = "2.0.0";
	} else if (code == 100) {
		*letter = 'D';
		def = "5.0.0";
	}
	if ((nl = memchr(line, '\n', len)) != NULL)
		len = (size_t)(nl - line);
	sp = memchr(line, ' ', len);
	if (code != 0 && code != 100 && code != 111) {
		strlcpy(status, def, 8);
		if (WIFSIGNALED(wstatus))
			snprintf(text, SPAWN_TEXT_MAX + 1, "tern-local killed "
			    "by signal %d", WTERMSIG(wstatus));
		else
			snprintf(text, SPAWN_TEXT_MAX + 1, "tern-local exited "
			    "%d", code);
	} else if (sp != NULL && status_ok(line, (size_t)(sp - line),
	    def[0])) {
		memcpy(status, line, (size_t)(sp - line));
		status[sp - line] = '\0';
		clean_text(sp + 1, len - (size_t)(sp - line) - 1, text);
	} else {
		strlcpy(status, def, 8);
		if (len > 0)
			clean_text(line, len, text);
		else
			strlcpy(text, code == 0 ? "delivered" : "delivery "
			    "failed", SPAWN_TEXT_MAX + 1);
	}
}

/* Send one result to tern-send. */
static void
answer(long slot, char letter, const char *status, const char *text)
{
	struct buf	 out;
	char		 num[24], let[2] = { letter, '\0' };

	snprintf(num, sizeof(num), "%ld", slot);
	buf_init(&out, SPAWN_REQ_MAX);
	if (rec_put(&out, num) == -1 || rec_put(&out, let) == -1 ||
	    rec_put(&out, status) == -1 || rec_put(&out, text) == -1 ||
	    buf_appendc(&out, '\0') == -1 ||
	    io_write_all(STDOUT_FILENO, out.data, out.len) == -1)
		log_warn("cannot answer slot %ld", slot);
	buf_free(&out);
}

/*
 * Each delivery holds a read lock on one byte of the message, at an
 * offset given by the recipient, through an open file description of
 * its own (an OFD lock): tern-local keeps it on fd 0 until it exits,
 * even after tern-lspawn or tern-send died.  Read locks never block
 * each other; a check probes for them (lock_busy).
 */
static off_t
lock_off(const char *rcpt)
{
	uint64_t	h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *rcpt != '\0'; rcpt++)
		h = (h ^ (unsigned char)*rcpt) * 1099511628211ULL;
	return (off_t)(h & 0x3fffffffffffffffULL);
}

static void
lock_rcpt(int fd, const char *rcpt)
{
#ifdef F_OFD_SETLK
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = lock_off(rcpt);
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1)
		log_warn("cannot lock the message");
#else
	(void)fd;
	(void)rcpt;
#endif
}

/* True when another delivery to rcpt of this message still runs. */
static bool
lock_busy(int fd, const char *rcpt)
{
#ifdef F_OFD_GETLK
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = lock_off(rcpt);
	fl.l_len = 1;
	return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
#else
	(void)fd;
	(void)rcpt;
	return false;
#endif
}

/*
 * In the child of a check: an older tern-local for this recipient (its
 * tern-send or tern-lspawn died, it did not) may still be writing.  Wait
 * for it, so that tern-local -c sees its copy.  The child takes its own
 * lock only after the wait: two waiting checks that held locks would
 * wait for each other.
 */
static bool
wait_older(int fd, const char *rcpt)
{
	long	waited;

	for (waited = 0; lock_busy(fd, rcpt); waited += SPAWN_CHECK_STEP_US) {
		if (waited / 1000 >= SPAWN_CHECK_WAIT_MS)
			return false;
		(void)usleep(SPAWN_CHECK_STEP_US);
	}
	return true;
}

/* In the child: report a failure on the status pipe and exit 111. */
static void __attribute__((noreturn))
child_fail(int statfd, const char *line)
{
	(void)io_write_all(statfd, line, strlen(line));
	_exit(111);
}

static void __attribute__((noreturn))
child_exec(const struct rcpt_res *r, int msgfd, int statfd, char **argv,
    const char *rcpt, bool check)
{
	char		path[PATH_MAX];
	sigset_t	none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	if (priv_is_root() && priv_drop(r->uid, r->gid) == -1) {
		log_warn("cannot become uid %lu gid %lu",
		    (unsigned long)r->uid, (unsigned long)r->gid);
		child_fail(statfd, "4.3.0 cannot change to the user's ids\n");
	}
	if (check && !wait_older(msgfd, rcpt))
		child_fail(statfd, "4.3.0 an earlier delivery to this "
		    "recipient is still running\n");
	if (check)
		lock_rcpt(msgfd, rcpt);
	if (chdir(r->home) == -1 &&
	    (r->kind != RCPT_ALIAS || chdir("/") == -1))
		child_fail(statfd, "4.2.0 home directory unavailable\n");
	if (dup2(msgfd, STDIN_FILENO) == -1 ||
	    dup2(statfd, STDOUT_FILENO) == -1)
		child_fail(statfd, "4.3.0 cannot set up file descriptors\n");
	if (paths_join(path, sizeof(path), paths_libexec(), "tern-local") ==
	    -1)
		child_fail(STDOUT_FILENO, "4.3.0 libexec path too long\n");
	execv(path, argv);
	log_warn("cannot run %s", path);
	child_fail(STDOUT_FILENO, "4.3.0 cannot run tern-local\n");
}

/* argv for tern-local (internals.md "tern-local"); NULL on ENOMEM. */
static char **
make_argv(const struct rcpt_res *r, const char *qid, const char *sender,
    const char *rcpt, bool check)
{
	char	**av;
	size_t	  n = 0, i;

	if ((av = reallocarray(NULL, SPAWN_ARGV_FIXED + r->ntargets,
	    sizeof(char *))) == NULL)
		return NULL;
	av[n++] = (char *)"tern-local";
	av[n++] = (char *)"-s";
	av[n++] = (char *)sender;
	av[n++] = (char *)"-r";
	av[n++] = (char *)rcpt;
	av[n++] = (char *)"-q";
	av[n++] = (char *)qid;
	av[n++] = (char *)"-u";
	av[n++] = (char *)r->user;
	av[n++] = (char *)"-h";
	av[n++] = (char *)r->home;
	if (r->maildir[0] != '\0') {
		av[n++] = (char *)"-m";
		av[n++] = (char *)r->maildir;
	}
	if (r->ext[0] != '\0') {
		av[n++] = (char *)"-e";
		av[n++] = (char *)r->ext;
	}
	if (r->kind == RCPT_ALIAS)
		av[n++] = (char *)"-a";
	if (check)
		av[n++] = (char *)"-c";
	av[n++] = (char *)"--";
	for (i = 0; i < r->ntargets; i++)
		av[n++] = (char *)r->targets[i];
	av[n] = NULL;
	return av;
}

static struct spawn_child *
new_child(struct spawn *sp)
{
	struct spawn_child	*n;
	size_t			 ncap;

	if (sp->nkids == sp->capkids) {
		ncap = sp->capkids ? sp->capkids * 2 : 16;
		if ((n = reallocarray(sp->kids, ncap, sizeof(*n))) == NULL)
			return NULL;
		sp->kids = n;
		sp->capkids = ncap;
	}
	n = &sp->kids[sp->nkids];
	memset(n, 0, sizeof(*n));
	return n;
}

/* Fork tern-local for r; answers the slot itself on failure. */
static void
start_child(struct spawn *sp, long slot, const struct rcpt_res *r,
    int msgfd, const char *f[4], bool check)
{
	struct spawn_child	*k;
	char			**av;
	int			  p[2];
	pid_t			  pid;

	if ((k = new_child(sp)) == NULL ||
	    (av = make_argv(r, f[1], f[2], f[3], check)) == NULL) {
		log_warn("%s cannot start delivery", f[1]);
		answer(slot, 'Z', "4.3.0", "out of memory");
		return;
	}
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		log_warn("%s cannot start delivery", f[1]);
		answer(slot, 'Z', "4.3.0", "cannot fork");
		free(av);
		return;
	}
	if (pid == 0)
		child_exec(r, msgfd, p[1], av, f[3], check);
	free(av);
	close(p[1]);
	(void)io_nonblock(p[0], 1);
	k->pid = pid;
	k->slot = slot;
	k->statfd = p[0];
	strlcpy(k->qid, f[1], sizeof(k->qid));
	sp->nkids++;
}

static bool
slot_busy(const struct spawn *sp, long slot)
{
	size_t	i;

	for (i = 0; i < sp->nkids; i++)
		if (sp->kids[i].slot == slot)
			return true;
	return false;
}

/* Check the fields of a request; NULL when fine, else the reason. */
static const char *
bad_request(const char *f[4])
{
	if (!qid_valid(f[1]))
		return "bad queue id";
	if (strlen(f[2]) >= ADDR_BUF || !rec_clean(f[2], strlen(f[2])))
		return "bad sender";
	if (f[3][0] == '\0' || strlen(f[3]) >= ADDR_BUF ||
	    !rec_clean(f[3], strlen(f[3])))
		return "bad recipient";
	return NULL;
}

/* One request: resolve, open the message, start tern-local. */
static int
handle_request(struct spawn *sp, const char *f[4], bool check)
{
	struct rcpt_res	 r;
	char		 path[PATH_MAX], esc[ADDR_BUF * 2];
	const char	*err;
	long		 slot;
	int		 fd;

	slot = (long)strtonum(f[0], 0, SPAWN_SLOT_MAX - 1, &err);
	if (err != NULL) {
		log_warnx("protocol error: slot %s", err);
		return -1;
	}
	if (slot_busy(sp, slot)) {
		log_warnx("protocol error: slot %ld already in use", slot);
		return -1;
	}
	if ((err = bad_request(f)) != NULL) {
		log_warnx("protocol error: slot %ld: %s", slot, err);
		answer(slot, 'Z', "4.3.0", err);
		return 0;
	}
	spawn_tables_check(sp);
	rcpt_resolve(&sp->cfg, f[3], &r);
	if (r.kind == RCPT_FAIL) {
		if (r.logit)
			log_warnx("%s to=<%s>: %s", f[1], log_esc(esc,
			    sizeof(esc), f[3], strlen(f[3])), r.text);
		answer(slot, r.status[0] == '5' ? 'D' : 'Z', r.status, r.text);
		return 0;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", paths_spool(),
	    SPOOL_MESS, f[1]) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_warn("%s cannot open message", f[1]);
		answer(slot, 'Z', "4.3.0", "cannot open the message");
		return 0;
	}
	/* A check locks in its child, after the wait: see wait_older. */
	if (!check)
		lock_rcpt(fd, f[3]);
	start_child(sp, slot, &r, fd, f, check);
	close(fd);
	return 0;
}

/*
 * A request read after tern-send went away (POLLHUP: no writer left) is
 * not started: its sender may already have a new tern-send that checks
 * for this very delivery and would not see one that starts later.  Its
 * recipient stays P, so the next delivery checks.  -1 on a bad slot.
 */
static int
refuse_request(const char *f[4])
{
	const char	*err;
	long		 slot;

	slot = (long)strtonum(f[0], 0, SPAWN_SLOT_MAX - 1, &err);
	if (err != NULL) {
		log_warnx("protocol error: slot %s", err);
		return -1;
	}
	answer(slot, 'Z', "4.3.0", "tern-send went away");
	return 0;
}

/*
 * Read from fd 0 and handle every complete request (hup: the writer is
 * gone, see refuse_request): -1 fatal.
 */
static int
read_requests(struct spawn *sp, bool hup)
{
	char		 chunk[4096];
	const char	*f[4], *err;
	size_t		 used;
	ssize_t		 n;
	bool		 check;
	int		 r;

	if ((n = io_read(STDIN_FILENO, chunk, sizeof(chunk))) == -1) {
		if (errno == EAGAIN)
			return 0;
		log_warn("read requests");
		return -1;
	}
	if (n == 0) {
		sp->eof = true;
		if (sp->in.len > 0)
			log_warnx("protocol error: incomplete last request");
		return 0;
	}
	if (buf_append(&sp->in, chunk, (size_t)n) == -1) {
		log_warnx("protocol error: request too long");
		return -1;
	}
	while ((r = spawn_parse_req(sp->in.data, sp->in.len, &used, f,
	    &check, &err)) == 1) {
		if ((hup ? refuse_request(f) : handle_request(sp, f,
		    check)) == -1)
			return -1;
		buf_consume(&sp->in, used);
	}
	if (r == -1)
		log_warnx("protocol error: %s", err);
	return r == -1 ? -1 : 0;
}

/* Collect exited children. */
static void
reap(struct spawn *sp)
{
	pid_t	pid;
	int	st;
	size_t	i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < sp->nkids; i++)
			if (sp->kids[i].pid == pid && !sp->kids[i].exited) {
				sp->kids[i].exited = true;
				sp->kids[i].wstatus = st;
				break;
			}
}

/* Read what a child wrote on its status pipe; closes it at EOF. */
static void
read_status(struct spawn_child *k)
{
	ssize_t	n;

	n = read(k->statfd, k->status + k->statlen,
	    SPAWN_STATUS_MAX - k->statlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		k->statlen += (size_t)n;
	if (n <= 0 || k->statlen == SPAWN_STATUS_MAX) {
		close(k->statfd);
		k->statfd = -1;
	}
}

/* Answer and forget every child that exited and closed its pipe. */
static void
finish_children(struct spawn *sp)
{
	struct spawn_child	*k;
	char			 letter, status[8], text[SPAWN_TEXT_MAX + 1];
	size_t			 i = 0;

	while (i < sp->nkids) {
		k = &sp->kids[i];
		if (!k->exited || k->statfd != -1) {
			i++;
			continue;
		}
		spawn_result(k->wstatus, k->status, k->statlen, &letter,
		    status, text);
		if (!WIFEXITED(k->wstatus) || (WEXITSTATUS(k->wstatus) != 0 &&
		    WEXITSTATUS(k->wstatus) != 100 &&
		    WEXITSTATUS(k->wstatus) != 111))
			log_warnx("%s slot %ld: %s", k->qid, k->slot, text);
		answer(k->slot, letter, status, text);
		*k = sp->kids[--sp->nkids];
	}
}

/* Fill pfd: the signal pipe, fd 0 unless at EOF, open status pipes. */
static size_t
fill_poll(struct spawn *sp, struct pollfd *pfd)
{
	size_t	n = 0, i;

	pfd[n].fd = sp->sigfd[0];
	pfd[n++].events = POLLIN;
	pfd[n].fd = sp->eof ? -1 : STDIN_FILENO;
	pfd[n++].events = POLLIN;
	for (i = 0; i < sp->nkids; i++) {
		pfd[n].fd = sp->kids[i].statfd;
		pfd[n++].events = POLLIN;
	}
	return n;
}

static void
drain_signals(struct spawn *sp)
{
	char	junk[64];

	while (read(sp->sigfd[0], junk, sizeof(junk)) > 0)
		;
	if (got_hup) {
		got_hup = 0;
		log_info("SIGHUP: reading the configuration");
		spawn_config_load(sp);
	}
	got_chld = 0;
	reap(sp);
}

int
spawn_run(struct spawn *sp)
{
	struct pollfd	*pfd = NULL, *np;
	size_t		 n, i;

	while (!sp->eof || sp->nkids > 0) {
		if ((np = reallocarray(pfd, sp->nkids + 2, sizeof(*pfd))) ==
		    NULL) {
			log_warn("poll array");
			free(pfd);
			return 111;
		}
		pfd = np;
		n = fill_poll(sp, pfd);
		if (poll(pfd, n, -1) == -1 && errno != EINTR) {
			log_warn("poll");
			free(pfd);
			return 111;
		}
		drain_signals(sp);
		if (pfd[1].revents != 0 && read_requests(sp,
		    (pfd[1].revents & POLLHUP) != 0) == -1) {
			free(pfd);
			return 111;
		}
		for (i = 2; i < n; i++)
			if (pfd[i].revents != 0)
				read_status(&sp->kids[i - 2]);
		reap(sp);
		finish_children(sp);
	}
	free(pfd);
	return 0;
}
