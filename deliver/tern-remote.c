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
		"[-N idx:notify] [-O idx:orcpt] domain sender recipient ..."

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
apply_opts(struct remote *r, struct rcptopt *o, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if ((size_t)o[i].idx >= r->nrcpts)
			return -1;
		if (o[i].kind == 'N' && notify_ok(o[i].val))
			r->rcpts[o[i].idx].notify = o[i].val;
		else if (o[i].kind == 'O' && remote_xtext_ok(o[i].val) &&
		    strchr(o[i].val, ';') != NULL)
			r->rcpts[o[i].idx].orcpt = o[i].val;
		else
			return -1;
	}
	return 0;
}

static int
parse_args(struct remote *r, int argc, char *argv[], const char **user)
{
	static struct rcptopt	 opts[2 * REMOTE_RCPTS_MAX];
	size_t			 nopts = 0, i;
	int			 c;

	while ((c = getopt(argc, argv, "u:R:E:N:O:")) != -1) {
		switch (c) {
		case 'u':
			*user = optarg;
			break;
		case 'R':
			if (strcasecmp(optarg, "FULL") != 0 &&
			    strcasecmp(optarg, "HDRS") != 0)
				return -1;
			r->ret = optarg;
			break;
		case 'E':
			if (!remote_xtext_ok(optarg) || strlen(optarg) > 100)
				return -1;
			r->envid = optarg;
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
	if (argc < 3 || argc - 2 > REMOTE_RCPTS_MAX)
		return -1;
	r->domain = argv[0];
	r->sender = strcmp(argv[1], "#@[]") == 0 ? "" : argv[1];
	r->nrcpts = (size_t)(argc - 2);
	r->rcpts = calloc(r->nrcpts, sizeof(*r->rcpts));
	if (r->rcpts == NULL)
		return -1;
	for (i = 0; i < r->nrcpts; i++)
		r->rcpts[i].addr = argv[2 + i];
	return apply_opts(r, opts, nopts);
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

/* Everything before the delivery: 0 go on, -1 the message result set. */
static int
prepare(struct remote *r)
{
	struct stat	 st;
	const char	*why = NULL;
	size_t		 i;

	if (fstat(r->msgfd, &st) == -1 || !S_ISREG(st.st_mode)) {
		remote_msg_set(r, 'Z', "4.3.0", "the message on fd 0 is not "
		    "a regular file");
		return -1;
	}
	errno = 0;
	if (remote_cfg_load(r, paths_control(), &why) == -1) {
		remote_msg_set(r, 'Z', "4.3.5", "control file trouble: %s%s%s",
		    why, errno != 0 ? ": " : "", errno != 0 ? strerror(errno) :
		    "");
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
	free(r->rcpts);
	if (r->sslctx != NULL)
		SSL_CTX_free(r->sslctx);
	explicit_bzero(&r->cfg, sizeof(r->cfg));
}

int
main(int argc, char *argv[])
{
	struct remote	 r;
	struct buf	 out;
	const char	*user = paths_remote_user();
	int		 rv = 0;

	log_init("tern-remote", false);
	memset(&r, 0, sizeof(r));
	r.msgfd = STDIN_FILENO;
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
	if (prepare(&r) == 0 && remote_dns(&r) == 0)
		remote_deliver(&r);
	else
		remote_rest_set(&r, r.mletter == 'D' ? 'D' : 'Z', r.mstatus,
		    r.mtext);
	log_results(&r);
	buf_init(&out, (REMOTE_RCPTS_MAX + 1) * (REMOTE_TEXT_MAX + 32));
	if (remote_results_format(&r, &out) == -1 ||
	    io_write_all(STDOUT_FILENO, out.data, out.len) == -1) {
		log_warn("fatal: cannot write the results");
		rv = 111;
	}
	buf_free(&out);
	cleanup(&r);
	return rv;
}
