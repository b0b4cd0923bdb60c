/* test-maildir: crash-safe Maildir delivery. */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildir.h"
#include "tap.h"

static char top[] = "/tmp/test-maildir.XXXXXX";

/* Entries in md/sub other than . and ..; -1 when it cannot be read. */
static int
count(const char *md, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", md, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static bool
is_dir_0700(const char *md, const char *sub)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", md, sub);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 07777) == 0700;
}

/* A temp file holding len bytes of a pattern, opened for reading. */
static int
input(size_t len)
{
	char path[PATH_MAX], b[4096];
	size_t i, j, n;
	int fd;

	snprintf(path, sizeof(path), "%s/input", top);
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	unlink(path);
	for (i = 0; i < len; i += n) {
		n = len - i < sizeof(b) ? len - i : sizeof(b);
		for (j = 0; j < n; j++)
			b[j] = (char)('a' + (i + j) % 26);
		if (write(fd, b, n) != (ssize_t)n)
			break;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* The delivered file is prefix followed by len bytes of the pattern. */
static bool
delivered_ok(const char *md, const char *name, const char *prefix,
    size_t len)
{
	char path[PATH_MAX], *data;
	size_t plen = strlen(prefix), i;
	struct stat st;
	ssize_t n;
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/new/%s", md, name);
	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		return false;
	if ((size_t)st.st_size != plen + len || (st.st_mode & 0777) != 0600 ||
	    (data = malloc(plen + len + 1)) == NULL) {
		close(fd);
		return false;
	}
	n = read(fd, data, plen + len + 1);
	close(fd);
	ok = n == (ssize_t)(plen + len) && memcmp(data, prefix, plen) == 0;
	for (i = 0; ok && i < len; i++)
		ok = data[plen + i] == (char)('a' + i % 26);
	free(data);
	return ok;
}

static void
test_create(void)
{
	char md[512], path[PATH_MAX];
	int fd, r;

	snprintf(md, sizeof(md), "%s/Maildir", top);
	tap_is_int(maildir_create(md), 0, "create a new Maildir");
	tap_ok(is_dir_0700(md, "") && is_dir_0700(md, "tmp") &&
	    is_dir_0700(md, "new") && is_dir_0700(md, "cur"),
	    "the Maildir and tmp, new, cur are directories of mode 0700");
	tap_is_int(maildir_create(md), 0, "create on an existing Maildir");
	snprintf(path, sizeof(path), "%s/half", top);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/half/new", top);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/half", top);
	tap_ok(maildir_create(path) == 0 && count(path, "tmp") == 0 &&
	    count(path, "cur") == 0, "create completes a half-made Maildir");
	snprintf(path, sizeof(path), "%s/no/such/Maildir", top);
	errno = 0;
	r = maildir_create(path);
	tap_ok(r == -1 && errno == ENOENT,
	    "create below a missing directory fails with ENOENT");
	snprintf(path, sizeof(path), "%s/file", top);
	if ((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1)
		close(fd);
	errno = 0;
	r = maildir_create(path);
	tap_ok(r == -1 && errno == ENOTDIR,
	    "create over a regular file fails with ENOTDIR");
}

struct deliver_case {
	const char	*name;
	const char	*prefix;
	size_t		 len;
};

static const struct deliver_case deliver_cases[] = {
	{ "prefix and body", "Return-Path: <a@b>\nDelivered-To: c@d\n", 1000 },
	{ "body only", "", 5 },
	{ "prefix only, empty input", "Return-Path: <>\n", 0 },
	{ "empty message", "", 0 },
	{ "exactly the 64 KiB copy buffer", "", 65536 },
	{ "one byte past the copy buffer", "X: y\n", 65537 },
	{ "a few MiB", "X: y\n", 3 * 1024 * 1024 + 7 },
};

static void
test_deliver(void)
{
	const struct deliver_case *c;
	char md[512], name[256], first[256];
	size_t i;
	int fd, r;

	snprintf(md, sizeof(md), "%s/Maildir", top);
	first[0] = '\0';
	for (i = 0; i < sizeof(deliver_cases) / sizeof(deliver_cases[0]);
	    i++) {
		c = &deliver_cases[i];
		fd = input(c->len);
		name[0] = '\0';
		r = maildir_deliver(md, c->prefix, strlen(c->prefix), fd,
		    name, sizeof(name));
		close(fd);
		tap_is_int(r, 0, "%s: delivered", c->name);
		tap_ok(delivered_ok(md, name, c->prefix, c->len),
		    "%s: new/ holds exactly prefix and message", c->name);
		tap_ok(count(md, "tmp") == 0 && count(md, "cur") == 0,
		    "%s: nothing left in tmp/ or cur/", c->name);
		tap_ok(strcmp(name, first) != 0, "%s: a fresh name", c->name);
		if (i == 0)
			strlcpy(first, name, sizeof(first));
	}
	tap_is_int(count(md, "new"), (long long)i, "one file per delivery");
}

/* Wait up to 2 s for md/sub to hold n entries. */
static bool
wait_count(const char *md, const char *sub, int n)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (count(md, sub) == n)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/*
 * Deliver from a pipe in a child: while the message is still arriving
 * it is in tmp/ only; new/ gets it once the input ended.
 */
static void
test_visible_after(void)
{
	char md[512], name[256];
	pid_t pid;
	int p[2], st;

	snprintf(md, sizeof(md), "%s/Slow", top);
	if (maildir_create(md) == -1 || pipe(p) == -1)
		return;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p[1]);
		_exit(maildir_deliver(md, "P: 1\n", 5, p[0], name,
		    sizeof(name)) == 0 ? 0 : 1);
	}
	close(p[0]);
	(void)write(p[1], "Subject: half", 13);
	tap_ok(wait_count(md, "tmp", 1),
	    "during delivery the message is in tmp/");
	usleep(50 * 1000);
	tap_is_int(count(md, "new"), 0, "during delivery new/ is empty");
	(void)write(p[1], "\n\nbody\n", 7);
	close(p[1]);
	tap_ok(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "delivery from a pipe succeeds at EOF");
	tap_ok(count(md, "new") == 1 && count(md, "tmp") == 0,
	    "after success the message is in new/ and gone from tmp/");
}

/* Child: deliver with a 4 KiB file size limit, so write(2) fails. */
static int
fsize_child(const char *md)
{
	struct rlimit rl = { 4096, 4096 };
	char name[256];
	int fd;

	signal(SIGXFSZ, SIG_IGN);
	if ((fd = input(20000)) == -1 || setrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 2;
	errno = 0;
	if (maildir_deliver(md, "P: 1\n", 5, fd, name, sizeof(name)) != -1)
		return 3;
	return errno == EFBIG ? 0 : 4;
}

static void
test_failures(void)
{
	char md[512], path[PATH_MAX], name[256];
	pid_t pid;
	int fd, st, r;

	snprintf(md, sizeof(md), "%s/Fail", top);
	if (maildir_create(md) == -1)
		return;
	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(fsize_child(md));
	tap_ok(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "a failing write(2) fails the delivery "
	    "with its errno");
	tap_ok(count(md, "tmp") == 0 && count(md, "new") == 0,
	    "a failing write leaves nothing in tmp/ or new/");

	fd = open(md, O_RDONLY | O_DIRECTORY);
	errno = 0;
	r = maildir_deliver(md, "P: 1\n", 5, fd, name, sizeof(name));
	close(fd);
	tap_ok(r == -1 && errno == EISDIR, "a failing read(2) of the input "
	    "fails the delivery with its errno");
	tap_ok(count(md, "tmp") == 0 && count(md, "new") == 0,
	    "a failing read leaves nothing in tmp/ or new/");

	fd = input(10);
	errno = 0;
	r = maildir_deliver(md, "", 0, fd, name, 10);
	tap_ok(r == -1 && errno == ENAMETOOLONG,
	    "a name buffer too small fails with ENAMETOOLONG");
	tap_ok(count(md, "tmp") == 0 && count(md, "new") == 0,
	    "a too-small name buffer leaves nothing behind");

	/* new/ is not a directory: link fails after the data is written. */
	snprintf(path, sizeof(path), "%s/new", md);
	rmdir(path);
	if ((r = open(path, O_CREAT | O_WRONLY, 0600)) != -1)
		close(r);
	lseek(fd, 0, SEEK_SET);
	errno = 0;
	r = maildir_deliver(md, "", 0, fd, name, sizeof(name));
	tap_ok(r == -1 && errno == ENOTDIR,
	    "a broken new/ fails the delivery with ENOTDIR");
	tap_is_int(count(md, "tmp"), 0,
	    "a failed link into new/ leaves nothing in tmp/");

	snprintf(path, sizeof(path), "%s/none", top);
	lseek(fd, 0, SEEK_SET);
	errno = 0;
	r = maildir_deliver(path, "", 0, fd, name, sizeof(name));
	tap_ok(r == -1 && errno == ENOENT,
	    "delivery to a missing Maildir fails with ENOENT");
	tap_is_int(count(path, ""), -1, "and creates nothing");
	close(fd);
}

/* Rename md/from/name to md/to/name<suffix>: 0 or -1. */
static int
move(const char *md, const char *from, const char *name, const char *to,
    const char *suffix)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s/%s/%s", md, from, name);
	snprintf(b, sizeof(b), "%s/%s/%s%s", md, to, name, suffix);
	return rename(a, b);
}

#define KEY_A	"1lgfnc4rsi7lhvrm0123456789abcdef"
#define KEY_B	"1lgfnc4rsi7lhvrm0123456789abcdee"
#define PFX	"Return-Path: <s@x>\nDelivered-To: r@y\n"

static void
test_key(void)
{
	char md[512], name[256], found[256], path[PATH_MAX];
	int fd, r;

	snprintf(md, sizeof(md), "%s/Key", top);
	tap_is_int(maildir_find_key(md, KEY_A, PFX, strlen(PFX), found,
	    sizeof(found)), 0, "find: a missing Maildir holds nothing");
	if (maildir_create(md) == -1)
		return;
	tap_is_int(maildir_find_key(md, KEY_A, PFX, strlen(PFX), found,
	    sizeof(found)), 0, "find: an empty Maildir holds nothing");
	fd = input(100);
	tap_is_int(maildir_deliver_key(md, KEY_A, PFX, strlen(PFX), fd, name,
	    sizeof(name)), 0, "keyed delivery succeeds");
	tap_ok(strstr(name, "K" KEY_A ".") != NULL,
	    "keyed delivery: the base name carries K<key>");
	r = maildir_find_key(md, KEY_A, PFX, strlen(PFX), found,
	    sizeof(found));
	tap_ok(r == 1 && strcmp(found, name) == 0, "find: the keyed message "
	    "is found in new/");
	tap_is_int(maildir_find_key(md, KEY_B, PFX, strlen(PFX), found,
	    sizeof(found)), 0, "find: another key is not found");
	tap_is_int(maildir_find_key(md, KEY_A, "Return-Path: <t@x>\n", 20,
	    found, sizeof(found)), 0,
	    "find: the key with other content (a hash collision) is not ours");
	tap_ok(move(md, "new", name, "cur", ":2,S") == 0 &&
	    maildir_find_key(md, KEY_A, PFX, strlen(PFX), found,
	    sizeof(found)) == 1 && strstr(found, ":2,S") != NULL,
	    "find: a message moved to cur/ with flags is found there");
	tap_ok(move(md, "cur", found, "tmp", "") == 0 &&
	    maildir_find_key(md, KEY_A, PFX, strlen(PFX), found,
	    sizeof(found)) == 0, "find: tmp/ does not count as delivered");
	lseek(fd, 0, SEEK_SET);
	tap_is_int(maildir_deliver_key(md, NULL, PFX, strlen(PFX), fd, name,
	    sizeof(name)), 0, "delivery without a key still works");
	tap_ok(strchr(name, 'K') == NULL || strstr(name, "K" KEY_A) == NULL,
	    "an unkeyed name does not carry the key");
	tap_is_int(maildir_find_key(md, KEY_A, PFX, strlen(PFX), found,
	    sizeof(found)), 0, "find: an unkeyed message is not found");
	lseek(fd, 0, SEEK_SET);
	errno = 0;
	tap_ok(maildir_deliver_key(md, "Bad/Key", PFX, strlen(PFX), fd, name,
	    sizeof(name)) == -1 && errno == EINVAL, "a bad key is refused");
	errno = 0;
	tap_ok(maildir_find_key(md, "", PFX, strlen(PFX), found,
	    sizeof(found)) == -1 && errno == EINVAL,
	    "find: an empty key is refused");
	snprintf(path, sizeof(path), "%s/cur", md);
	tap_ok(chmod(path, 0) == 0 && (geteuid() == 0 ||
	    maildir_find_key(md, KEY_B, PFX, strlen(PFX), found,
	    sizeof(found)) == -1), "find: an unreadable cur/ is an error");
	(void)chmod(path, 0700);
	close(fd);
}

int
main(void)
{
	char cmd[PATH_MAX + 16];

	if (mkdtemp(top) == NULL) {
		tap_ok(false, "mkdtemp");
		return tap_done();
	}
	test_create();
	test_deliver();
	test_visible_after();
	test_failures();
	test_key();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", top);
	return tap_done();
}
