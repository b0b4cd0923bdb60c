/* tern-local: deliver one message for one recipient, as its owner. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "io.h"
#include "local.h"
#include "log.h"
#include "paths.h"
#include "rec.h"

static void
on_chld(int sig)
{
	(void)sig;
}

static int
usage(struct local *l)
{
	return local_set(l, 111, "4.3.0", "usage: tern-local -s sender -r "
	    "recipient -q qid -u user -h home -m maildir [-e ext] [-a] "
	    "[-c] [-- target ...]");
}

/* Parse the command line into *l: 0 or -1 (result set). */
static int
parse_args(struct local *l, int argc, char *argv[])
{
	int	c;

	while ((c = getopt(argc, argv, "s:r:q:u:h:m:e:ac")) != -1) {
		switch (c) {
		case 's':
			l->sender = optarg;
			break;
		case 'r':
			l->rcpt = optarg;
			break;
		case 'q':
			l->qid = optarg;
			break;
		case 'u':
			l->user = optarg;
			break;
		case 'h':
			l->home = optarg;
			break;
		case 'm':
			l->maildir = optarg;
			break;
		case 'e':
			l->ext = optarg;
			break;
		case 'a':
			l->alias = true;
			break;
		case 'c':
			l->check = true;
			break;
		default:
			return usage(l);
		}
	}
	l->args = argv + optind;
	l->nargs = (size_t)(argc - optind);
	if (l->sender == NULL || l->rcpt == NULL || l->rcpt[0] == '\0' ||
	    !rec_clean(l->sender, strlen(l->sender)) ||
	    !rec_clean(l->rcpt, strlen(l->rcpt)) ||
	    l->user == NULL || l->home == NULL || l->home[0] != '/' ||
	    (!l->alias && (l->maildir == NULL || l->maildir[0] != '/')) ||
	    (!l->alias && l->nargs > 0))
		return usage(l);
	if (l->alias)
		l->maildir = NULL;
	return 0;
}

/* Signals and the message fd; the pipe timeout from control. */
static int
setup(struct local *l)
{
	struct sigaction	sa;
	struct stat		st;
	sigset_t		chld;
	long long		t;
	int			r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_chld;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigprocmask(SIG_BLOCK, &chld, NULL) == -1 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return local_set(l, 111, "4.3.0", "cannot set up signals");
	if (fstat(l->fd, &st) == -1 || !S_ISREG(st.st_mode))
		return local_set(l, 111, "4.3.0", "the message on fd 0 is not "
		    "a regular file");
	r = cfg_get_num(paths_control(), "pipetimeout", 1,
	    LOCAL_PIPETIMEOUT_MAX, &t);
	if (r == -1)
		return local_set(l, 111, "4.3.0", "cannot read control/"
		    "pipetimeout: %s", strerror(errno));
	l->timeout_ms = (r == 1 ? t : LOCAL_PIPETIMEOUT) * 1000;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct local	l;
	char		line[LOCAL_TEXT_MAX + 16], esc[ADDR_BUF * 2];
	char		qesc[64], tesc[LOCAL_TEXT_MAX * 2];
	int		n;

	log_init("tern-local", false);
	memset(&l, 0, sizeof(l));
	l.ext = "";
	l.qid = "-";
	l.fd = STDIN_FILENO;
	buf_init(&l.prefix, 2 * ADDR_BUF + 64);
	buf_init(&l.fwd, FWD_TARGETS_MAX * (ADDR_BUF + 1));
	if (parse_args(&l, argc, argv) == 0 && setup(&l) == 0)
		(void)local_run(&l);
	if (l.code != 0)
		log_info("%s to=<%s> %s %s", log_esc(qesc, sizeof(qesc), l.qid,
		    strlen(l.qid)), log_esc(esc, sizeof(esc), l.rcpt ? l.rcpt :
		    "", l.rcpt ? strlen(l.rcpt) : 0), l.status,
		    log_esc(tesc, sizeof(tesc), l.text, strlen(l.text)));
	n = snprintf(line, sizeof(line), "%s %s\n", l.status, l.text);
	if (n > 0)
		(void)io_write_all(STDOUT_FILENO, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	buf_free(&l.prefix);
	buf_free(&l.fwd);
	return l.code;
}
