/* tern-remote: deliver one message to one domain over SMTP. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "io.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "rec.h"
#include "remote.h"

#define USAGE	"usage: tern-remote [-u user] [-R ret] [-E envid] " \
		"[-N idx:notify] [-O idx:orcpt] domain sender recipient ... " \
		"[+ [-R ret] [-E envid] [-N idx:notify] [-O idx:orcpt] " \
		"sender recipient ...] ..."

/* "idx:value" for recipient options, kept until the recipients exist. */
struct rcptopt {
	char	kind;
	long	idx;
	char	*val;
};

static int
usage(const char *why)
{
	log_warnx("%s", why != NULL ? why : USAGE);
	return 111;
}

static int
opt_rcpt(struct rcptopt *o, size_t *n, char kind, char *arg)
{
	char		*colon = strchr(arg, ':');
	const char	*err;

	if (colon == NULL || *n >= 2 * REMOTE_RCPTS_MAX)
		return -1;
	*colon = '\0';
	o[*n].idx = (long)strtonum(arg, 0, REMOTE_RCPTS_MAX - 1, &err);
	if (err != NULL)
		return -1;
	o[*n].kind = kind;
	o[*n].val = colon + 1;
	(*n)++;
	return 0;
}

static bool
notify_ok(const char *s)
{
	return strcasecmp(s, "NEVER") == 0 ||
	    strspn(s, "SUCESFALIRDYcesfalirdy,") == strlen(s);
}

/* Attach the -N/-O values to the recipients: 0 or -1. */
static int
apply_opts(struct remote_job *j, struct rcptopt *o, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if ((size_t)o[i].idx >= j->nrcpts)
			return -1;
		if (o[i].kind == 'N' && notify_ok(o[i].val))
			j->rcpts[o[i].idx].notify = o[i].val;
		else if (o[i].kind == 'O' && remote_xtext_ok(o[i].val) &&
		    strchr(o[i].val, ';') != NULL)
			j->rcpts[o[i].idx].orcpt = o[i].val;
		else
			return -1;
	}
	return 0;
}

/*
 * One message's part of the argv: argv[0] is the program or "+", then
 * options, [domain when first], sender, recipients.  0 or -1.
 */
static int
parse_job(struct remote *r, struct remote_job *j, int argc, char *argv[],
    bool first, const char **user)
{
	static struct rcptopt	 opts[2 * REMOTE_RCPTS_MAX];
	size_t			 nopts = 0, i;
	int			 c;

	/*
	 * glibc: optind 0 starts over on this argv; the leading '+' stops
	 * at the first operand instead of permuting, so an address that
	 * starts with '-' is never taken for an option (tern-send also
	 * ends the options with "--").
	 */
	optind = 0;
	while ((c = getopt(argc, argv, first ? "+u:R:E:N:O:" :
	    "+R:E:N:O:")) != -1) {
		switch (c) {
		case 'u':
			*user = optarg;
			break;
		case 'R':
			if (strcasecmp(optarg, "FULL") != 0 &&
			    strcasecmp(optarg, "HDRS") != 0)
				return -1;
			j->ret = optarg;
			break;
		case 'E':
			if (!remote_xtext_ok(optarg) || strlen(optarg) > 100)
				return -1;
			j->envid = optarg;
			break;
		case 'N':
		case 'O':
			if (opt_rcpt(opts, &nopts, (char)c, optarg) == -1)
				return -1;
			break;
		default:
			return -1;
		}
	}
	argc -= optind;
	argv += optind;
	if (first) {
		if (argc < 1)
			return -1;
		r->domain = argv[0];
		argc--;
		argv++;
	}
	if (argc < 2 || argc - 1 > REMOTE_RCPTS_MAX)
		return -1;
	j->sender = strcmp(argv[0], "#@[]") == 0 ? "" : argv[0];
	j->nrcpts = (size_t)(argc - 1);
	j->rcpts = calloc(j->nrcpts, sizeof(*j->rcpts));
	if (j->rcpts == NULL)
		return -1;
	for (i = 0; i < j->nrcpts; i++)
		j->rcpts[i].addr = argv[1 + i];
	return apply_opts(j, opts, nopts);
}

/* The messages, split at lone "+" arguments: 0 or -1. */
static int
parse_args(struct remote *r, int argc, char *argv[], const char **user)
{
	int	start = 0, end;

	r->jobs = calloc(REMOTE_BATCH_MAX, sizeof(*r->jobs));
	if (r->jobs == NULL)
		return -1;
	while (start < argc) {
		for (end = start + 1; end < argc && strcmp(argv[end], "+") != 0;
		    end++)
			;
		if (r->njobs == REMOTE_BATCH_MAX)
			return -1;
		r->jobs[r->njobs].msgfd = r->njobs == 0 ? STDIN_FILENO :
		    REMOTE_BATCH_FD + (int)r->njobs;
		if (parse_job(r, &r->jobs[r->njobs], end - start, argv + start,
		    r->njobs == 0, user) == -1)
			return -1;
		r->njobs++;
		start = end;
	}
	return r->njobs > 0 ? 0 : -1;
}

/* A value fit for the SMTP envelope (no CR, LF, '<', '>', space). */
static bool
envelope_ok(const char *s, bool empty_ok)
{
	return (empty_ok || s[0] != '\0') && rec_clean(s, strlen(s)) &&
	    strpbrk(s, "<> \t") == NULL && strlen(s) < ADDR_BUF;
}

static int
drop(const char *user)
{
	uid_t	uid;
	gid_t	gid;

	if (!priv_is_root())
		return 0;
	if (priv_user(user, &uid, &gid) != 1 || uid == 0) {
		log_warnx("fatal: no user %s to run as (or it is root)", user);
		return -1;
	}
	if (priv_drop(uid, gid) == -1) {
		log_warn("fatal: cannot drop to %s", user);
		return -1;
	}
	return 0;
}

/* The loaded message before the delivery: 0, or -1 its result set. */
static int
prepare(struct remote *r)
{
	struct stat	 st;
	size_t		 i;

	if (fstat(r->msgfd, &st) == -1 || !S_ISREG(st.st_mode)) {
		remote_msg_set(r, 'Z', "4.3.0", "the message on fd %d is not "
		    "a regular file", r->msgfd);
		return -1;
	}
	if (!envelope_ok(r->sender, true)) {
		remote_msg_set(r, 'D', "5.1.7", "bad sender address");
		return -1;
	}
	for (i = 0; i < r->nrcpts; i++)
		if (!envelope_ok(r->rcpts[i].addr, false))
			remote_rcpt_set(&r->rcpts[i], 'D', "5.1.3",
			    "bad recipient address");
	if (remote_msg_scan(r) == -1) {
		remote_msg_set(r, 'Z', "4.3.0", "cannot read the message: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Every job not done gets r's message result (a failure of the run). */
static void
fail_all(struct remote *r)
{
	char	l = r->mletter == 'D' ? 'D' : 'Z';
	char	status[SMTPREPLY_ENH_MAX], text[REMOTE_TEXT_MAX + 1];
	size_t	k;

	strlcpy(status, r->mstatus, sizeof(status));
	strlcpy(text, r->mtext, sizeof(text));
	for (k = 0; k < r->njobs; k++) {
		if (r->jobs[k].done)
			continue;
		remote_job_load(r, k);
		remote_msg_set(r, l, status, "%s", text);
		remote_rest_set(r, l, status, text);
		remote_job_save(r, k);
		r->jobs[k].done = true;
	}
}

/*
 * Control files once, each message, DNS once, then SMTP.  Trouble is
 * a result: every job has its results afterwards.
 */
static void
run(struct remote *r)
{
	const char	*why = NULL;
	size_t		 k, left = 0;

	errno = 0;
	if (remote_cfg_load(r, paths_control(), &why) == -1) {
		remote_msg_set(r, 'Z', "4.3.5", "control file trouble: %s%s%s",
		    why, errno != 0 ? ": " : "", errno != 0 ? strerror(errno) :
		    "");
		fail_all(r);
		return;
	}
	for (k = 0; k < r->njobs; k++) {
		remote_job_load(r, k);
		if (prepare(r) == -1) {
			remote_rest_set(r, r->mletter == 'D' ? 'D' : 'Z',
			    r->mstatus, r->mtext);
			r->jobs[k].done = true;
		} else
			left++;
		remote_job_save(r, k);
	}
	if (left == 0)
		return;
	if (remote_dns(r) == -1) {
		fail_all(r);
		return;
	}
	remote_deliver(r);
}

static void
log_results(const struct remote *r)
{
	char	a[ADDR_BUF * 2], t[REMOTE_TEXT_MAX * 2];
	size_t	i;

	for (i = 0; i < r->nrcpts; i++)
		log_info("%s to=<%s> %s %s %s", r->domain, log_esc(a, sizeof(a),
		    r->rcpts[i].addr, strlen(r->rcpts[i].addr)),
		    r->rcpts[i].letter == 'K' ? "ok" : r->rcpts[i].letter ==
		    'D' ? "failed" : "deferred", r->rcpts[i].status,
		    log_esc(t, sizeof(t), r->rcpts[i].text,
		    strlen(r->rcpts[i].text)));
}

static void
cleanup(struct remote *r)
{
	size_t	i;

	rconn_close(&r->conn);
	buf_free(&r->out);
	for (i = 0; r->hosts != NULL && i < REMOTE_HOSTS_MAX; i++)
		buf_free(&r->hosts[i].tlsa);
	free(r->hosts);
	free(r->conn.reply);
	for (i = 0; r->jobs != NULL && i < r->njobs + (r->njobs <
	    REMOTE_BATCH_MAX); i++)
		free(r->jobs[i].rcpts);
	free(r->jobs);
	if (r->sslctx != NULL)
		SSL_CTX_free(r->sslctx);
	explicit_bzero(&r->cfg, sizeof(r->cfg));
}

/*
 * Log and write the results of job k (the next one due), at once: a
 * run that is killed later leaves tern-send the finished messages.
 */
static void
job_results(struct remote *r, size_t k)
{
	struct buf	out;

	if (r->emit_failed || k != r->emitted)
		return;
	remote_job_load(r, k);
	log_results(r);
	buf_init(&out, (r->nrcpts + 1) * (REMOTE_TEXT_MAX + 32));
	if (remote_results_format(r, &out) == -1 ||
	    io_write_all(STDOUT_FILENO, out.data, out.len) == -1)
		r->emit_failed = true;
	buf_free(&out);
	r->emitted++;
}

/* The results of the jobs not written yet, in order: 0 or -1. */
static int
results(struct remote *r)
{
	while (!r->emit_failed && r->emitted < r->njobs)
		job_results(r, r->emitted);
	return r->emit_failed ? -1 : 0;
}

int
main(int argc, char *argv[])
{
	struct remote	 r;
	const char	*user = paths_remote_user();
	int		 rv = 0;

	log_init("tern-remote", false);
	memset(&r, 0, sizeof(r));
	rconn_init(&r.conn);
	buf_init(&r.out, REMOTE_PIPELINE_MAX * 2048);
	if (parse_args(&r, argc, argv, &user) == -1) {
		cleanup(&r);
		return usage(NULL);
	}
	if (drop(user) == -1 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		cleanup(&r);
		return 111;
	}
	r.conn.reply = malloc(sizeof(*r.conn.reply));
	r.hosts = calloc(REMOTE_HOSTS_MAX, sizeof(*r.hosts));
	if (r.conn.reply == NULL || r.hosts == NULL) {
		cleanup(&r);
		return usage("fatal: out of memory");
	}
	remote_job_load(&r, 0);
	r.job_done = job_results;
	run(&r);
	if (results(&r) == -1) {
		log_warn("fatal: cannot write the results");
		rv = 111;
	}
	cleanup(&r);
	return rv;
}
