/* tern-qctl: look at and change the queue; also mailq and newaliases. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alias.h"
#include "cfg.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "qctl.h"
#include "rcpt.h"

/* A subcommand: run once (all) or once per id argument (one). */
struct cmd {
	const char	*name;
	int		(*all)(struct qctl *);
	int		(*one)(struct qctl *, const char *);
	bool		 poke;	/* wake tern-send afterwards */
};

static int	cmd_flush(struct qctl *);

static const struct cmd cmds[] = {
	{ "list", qctl_list, NULL, false },
	{ "show", NULL, qctl_show, false },
	{ "delete", NULL, qctl_delete, false },
	{ "hold", NULL, qctl_hold, false },
	{ "release", NULL, qctl_release, true },
	{ "flush", cmd_flush, NULL, false },
};

static int
usage(void)
{
	fprintf(stderr, "usage: tern-qctl list | flush | newaliases\n"
	    "       tern-qctl show | delete | hold | release id ...\n");
	return QCTL_PERM;
}

/* The aliases table is read at every delivery: only check it here. */
static int
check_aliases(const char *dir)
{
	struct aliastab	 tab;
	const char	*err;
	char		*data;
	size_t		 len, line;
	int		 r;

	if ((r = cfg_read_file(dir, "aliases", CFG_TABLE_MAX, true, &data,
	    &len)) == -1) {
		log_fatal("unable to read %s/aliases", dir);
		return QCTL_TEMP;
	}
	if (r == 0) {
		printf("%s/aliases: absent, no aliases\n", dir);
		return QCTL_OK;
	}
	r = alias_parse(data, len, &tab, &line, &err);
	free(data);
	if (r == -1) {
		log_fatalx("%s/aliases line %zu: %s", dir, line, err);
		return errno == ENOMEM ? QCTL_TEMP : QCTL_PERM;
	}
	printf("%s/aliases: %zu aliases, read directly at every delivery\n",
	    dir, tab.n);
	alias_free(&tab);
	return QCTL_OK;
}

/*
 * newaliases: compile control/recipients (the hash-free list of virtual
 * users that tern-smtpd reads) from control/passwd, and check aliases.
 * Not dropped to the queue user: root (or the owner of the tables)
 * must read passwd and write the control directory.
 */
static int
cmd_newaliases(void)
{
	const char	*dir = paths_control(), *err;
	size_t		 n, line;
	int		 e;

	if (rcpt_compile(dir, &n, &line, &err) == -1) {
		e = errno;
		if (line != 0)
			log_fatalx("%s/passwd line %zu: %s: %s/" RCPT_FILE
			    " not changed", dir, line, err, dir);
		else
			log_fatal("%s: %s/" RCPT_FILE " not changed", err, dir);
		return e == EINVAL || e == E2BIG ? QCTL_PERM : QCTL_TEMP;
	}
	printf("%s/" RCPT_FILE ": %zu address%s from %s/passwd\n", dir, n,
	    n == 1 ? "" : "es", dir);
	return qctl_worst(check_aliases(dir), fflush(stdout) == EOF ?
	    QCTL_TEMP : QCTL_OK);
}

static int
cmd_flush(struct qctl *q)
{
	const char *why;
	int rv;

	if ((rv = qctl_trigger(q, 'F', &why)) != QCTL_OK)
		log_fatalx("unable to flush: %s", why);
	return rv;
}

/*
 * Take the spool path while the environment is still trusted (a real
 * uid of 0), then become the queue owner: nothing here needs root.
 */
static int
setup(struct qctl *q)
{
	const char *user = paths_queue_user();
	uid_t uid;
	gid_t gid;
	int r;

	if (strlcpy(q->spool, paths_spool(), sizeof(q->spool)) >=
	    sizeof(q->spool)) {
		log_fatalx("spool path too long");
		return QCTL_TEMP;
	}
	q->now = time(NULL);
	q->out = stdout;
	if (!priv_is_root())
		return QCTL_OK;
	if ((r = priv_user(user, &uid, &gid)) != 1) {
		if (r == 0)
			log_fatalx("no such user: %s", user);
		else
			log_fatal("unable to look up user %s", user);
		return QCTL_TEMP;
	}
	if (priv_drop(uid, gid) == -1) {
		log_fatal("unable to become %s", user);
		return QCTL_TEMP;
	}
	return QCTL_OK;
}

static int
run(struct qctl *q, const struct cmd *c, int argc, char **argv)
{
	const char *why;
	int i, rv = QCTL_OK;

	if ((c->all != NULL) != (argc == 0))
		return usage();
	if ((rv = setup(q)) != QCTL_OK)
		return rv;
	if (c->all != NULL)
		rv = c->all(q);
	for (i = 0; i < argc; i++)
		rv = qctl_worst(rv, c->one(q, argv[i]));
	/* Released messages are due now; a sleeping tern-send wakes. */
	if (c->poke && qctl_trigger(q, '\n', &why) != QCTL_OK)
		log_info("tern-send not woken: %s", why);
	if (fflush(q->out) == EOF || ferror(q->out)) {
		log_fatal("unable to write the output");
		rv = QCTL_TEMP;
	}
	return rv;
}

int
main(int argc, char **argv)
{
	const char *prog = argv[0] ? strrchr(argv[0], '/') : NULL;
	struct qctl q;
	char esc[64];
	size_t i;

	prog = prog ? prog + 1 : argv[0] ? argv[0] : "tern-qctl";
	memset(&q, 0, sizeof(q));
	/* sendmail's companions: options they may be given are ignored. */
	if (strcmp(prog, "newaliases") == 0) {
		log_init("newaliases", false);
		return cmd_newaliases();
	}
	if (strcmp(prog, "mailq") == 0) {
		log_init("mailq", false);
		return run(&q, &cmds[0], 0, NULL);
	}
	log_init("tern-qctl", false);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "newaliases") == 0)
		return argc == 2 ? cmd_newaliases() : usage();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return run(&q, &cmds[i], argc - 2, argv + 2);
	log_fatalx("unknown command: %s", log_esc(esc, sizeof(esc), argv[1],
	    strlen(argv[1])));
	return usage();
}
