/* tern-passwd: add a virtual user or change its password. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "checkpass.h"
#include "log.h"
#include "paths.h"
#include "pwedit.h"
#include "rcpt.h"

#define EXIT_PERM	100
#define EXIT_TEMP	111

static int
usage(void)
{
	fprintf(stderr, "usage: tern-passwd [-u uid -g gid -m maildir] "
	    "address\n");
	return EXIT_PERM;
}

/* No control characters anywhere: each becomes one line of passwd. */
static bool
clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

/* One option into ch: 0, or -1 (logged). */
static int
parse_opt(int c, const char *arg, struct pw_change *ch)
{
	const char	*err = NULL;

	switch (c) {
	case 'u':
		ch->set_uid = true;
		ch->uid = strtonum(arg, 1, INT32_MAX, &err);
		if (err != NULL && strcmp(arg, "0") == 0)
			err = "uid 0 is refused: tern never delivers as root";
		break;
	case 'g':
		ch->set_gid = true;
		ch->gid = strtonum(arg, 0, INT32_MAX, &err);
		break;
	case 'm':
		ch->maildir = arg;
		if (arg[0] != '/' || !clean(arg))
			err = "not an absolute path";
		break;
	default:
		return -1;
	}
	if (err != NULL) {
		log_fatalx("-%c: %s", c, err);
		return -1;
	}
	return 0;
}

/* Options and the address (lowercased). */
static int
parse_args(int argc, char **argv, struct pw_change *ch, char *addr,
    size_t addrsz)
{
	size_t	i;
	int	c;

	while ((c = getopt(argc, argv, "u:g:m:")) != -1)
		if (parse_opt(c, optarg, ch) == -1)
			return -1;
	if (argc - optind != 1 || strlcpy(addr, argv[optind], addrsz) >=
	    addrsz || !clean(addr) || strchr(addr, '@') == NULL)
		return -1;
	for (i = 0; addr[i] != '\0'; i++)
		if (addr[i] >= 'A' && addr[i] <= 'Z')
			addr[i] += 32;
	ch->address = addr;
	return 0;
}

/* Read, edit and replace passwd under its lock. */
static int
update(const char *dir, const struct pw_change *ch, bool *added)
{
	const char	*err;
	char		*data, *text;
	size_t		 len, tlen;
	int		 r;

	if ((r = cfg_read_file(dir, "passwd", CFG_TABLE_MAX, true, &data,
	    &len)) == -1) {
		log_fatal("unable to read %s/passwd", dir);
		return EXIT_TEMP;
	}
	r = pw_edit(r == 1 ? data : "", r == 1 ? len : 0, ch, &text, &tlen,
	    added, &err);
	if (data != NULL)
		freezero(data, len);
	if (r == -1) {
		log_fatalx("%s/passwd not changed: %s", dir, err);
		return errno == ENOMEM ? EXIT_TEMP : EXIT_PERM;
	}
	r = pw_write(dir, text, tlen);
	freezero(text, tlen);
	if (r == -1) {
		log_fatal("unable to write %s/passwd", dir);
		return EXIT_TEMP;
	}
	return 0;
}

static int
recompile(const char *dir)
{
	const char	*err;
	size_t		 n, line;

	if (rcpt_compile(dir, &n, &line, &err) == -1) {
		log_fatal("%s; run newaliases", err);
		return EXIT_TEMP;
	}
	log_info("%s/" RCPT_FILE ": %zu addresses", dir, n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct pw_change	 ch;
	const char		*dir, *why;
	char			 addr[USERS_LINE_MAX], pass[PW_PASS_MAX + 2];
	char			 hash[PW_HASH_MAX];
	bool			 added;
	int			 lock, rv;

	log_init("tern-passwd", false);
	memset(&ch, 0, sizeof(ch));
	if (parse_args(argc, argv, &ch, addr, sizeof(addr)) == -1)
		return usage();
	dir = paths_control();
	if (pw_read_password(pass, sizeof(pass), &why) == -1) {
		log_fatalx("%s", why);
		return errno == EINVAL ? EXIT_PERM : EXIT_TEMP;
	}
	rv = cp_hash_new(pass, hash, sizeof(hash));
	explicit_bzero(pass, sizeof(pass));
	if (rv == -1) {
		log_fatal("unable to hash the password");
		return EXIT_TEMP;
	}
	ch.hash = hash;
	if ((lock = pw_lock(dir)) == -1) {
		log_fatal("unable to lock %s/passwd", dir);
		return EXIT_TEMP;
	}
	rv = update(dir, &ch, &added);
	explicit_bzero(hash, sizeof(hash));
	(void)close(lock);
	if (rv != 0)
		return rv;
	log_info("%s %s", added ? "added" : "changed", addr);
	return recompile(dir);
}
