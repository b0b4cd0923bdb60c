/* test-cfg: control files. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "tap.h"

static char dir[] = "/tmp/test-cfg.XXXXXX";

struct bytes {
	const char	*s;
	size_t		 n;
};
#define B(str)	{ str, sizeof(str) - 1 }
#define ABSENT	{ NULL, 0 }

static void
put_file(const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return;
	if (write(fd, data, len) != (ssize_t)len)
		tap_diag("short write to %s", path);
	close(fd);
}

static void
rm_file(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

struct str_case {
	const char	*name;
	struct bytes	 file;		/* ABSENT: no file */
	size_t		 outsz;
	int		 want_ret;
	int		 want_err;
	const char	*want;
};

static const struct str_case str_cases[] = {
	{ "missing file is absent", ABSENT, 64, 0, 0, "" },
	{ "first line", B("mx.example.org\nother\n"), 64, 1, 0,
	    "mx.example.org" },
	{ "blanks and CR are trimmed", B(" \t mx.example.org \t\r\n"), 64, 1,
	    0, "mx.example.org" },
	{ "comments and blank lines are skipped",
	    B("# the host\n\n   \n  # indented\nhost\n"), 64, 1, 0, "host" },
	{ "no newline at the end", B("host"), 64, 1, 0, "host" },
	{ "empty file is absent", B(""), 64, 0, 0, "" },
	{ "only comments is absent", B("# x\n#y\n"), 64, 0, 0, "" },
	{ "inner blanks are kept", B("a b\tc\n"), 64, 1, 0, "a b\tc" },
	{ "value that exactly fits", B("abcd\n"), 5, 1, 0, "abcd" },
	{ "value one byte too long", B("abcde\n"), 5, -1, ENAMETOOLONG, "" },
	{ "NUL byte is refused", B("ab\0c\n"), 64, -1, EINVAL, "" },
};

static void
test_str(void)
{
	const struct str_case *c;
	char out[64];
	size_t i;
	int r;

	for (i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
		c = &str_cases[i];
		if (c->file.s != NULL)
			put_file("setting", c->file.s, c->file.n);
		else
			rm_file("setting");
		errno = 0;
		r = cfg_get_str(dir, "setting", out, c->outsz);
		tap_ok(r == c->want_ret && (r != -1 || errno == c->want_err),
		    "%s: returns %d", c->name, c->want_ret);
		if (r == 1)
			tap_is_str(out, c->want, "%s: value", c->name);
	}
}

struct num_case {
	const char	*name;
	struct bytes	 file;
	long long	 min, max;
	int		 want_ret;
	int		 want_err;
	long long	 want;
};

static const struct num_case num_cases[] = {
	{ "missing number is absent", ABSENT, 0, 100, 0, 0, 0 },
	{ "plain decimal", B("42\n"), 0, 100, 1, 0, 42 },
	{ "trimmed decimal", B("  42 \r\n"), 0, 100, 1, 0, 42 },
	{ "lower bound", B("1\n"), 1, 100, 1, 0, 1 },
	{ "upper bound", B("100\n"), 1, 100, 1, 0, 100 },
	{ "below min", B("0\n"), 1, 100, -1, ERANGE, 0 },
	{ "above max", B("101\n"), 1, 100, -1, ERANGE, 0 },
	{ "huge number", B("99999999999999999999999\n"), 0, LLONG_MAX, -1,
	    ERANGE, 0 },
	{ "LLONG_MAX itself", B("9223372036854775807\n"), 0, LLONG_MAX, 1,
	    0, LLONG_MAX },
	{ "garbage word", B("lots\n"), 0, 100, -1, EINVAL, 0 },
	{ "suffix k is garbage", B("10k\n"), 0, 100000, -1, EINVAL, 0 },
	{ "negative is garbage", B("-5\n"), -10, 100, -1, EINVAL, 0 },
	{ "plus sign is garbage", B("+5\n"), 0, 100, -1, EINVAL, 0 },
	{ "hex is garbage", B("0x10\n"), 0, 100, -1, EINVAL, 0 },
	{ "inner blank is garbage", B("1 0\n"), 0, 100, -1, EINVAL, 0 },
	{ "long run of leading zeros", B("00000000000000000000000000000000"
	    "00000000000000000000000000000001\n"), 0, 100, 1, 0, 1 },
};

static void
test_num(void)
{
	const struct num_case *c;
	long long v;
	size_t i;
	int r;

	for (i = 0; i < sizeof(num_cases) / sizeof(num_cases[0]); i++) {
		c = &num_cases[i];
		if (c->file.s != NULL)
			put_file("number", c->file.s, c->file.n);
		else
			rm_file("number");
		v = -12345;
		errno = 0;
		r = cfg_get_num(dir, "number", c->min, c->max, &v);
		tap_ok(r == c->want_ret && (r != -1 || errno == c->want_err),
		    "%s: returns %d", c->name, c->want_ret);
		if (r == 1)
			tap_is_int(v, c->want, "%s: value", c->name);
		else
			tap_is_int(v, -12345, "%s: out untouched", c->name);
	}
}

struct list_case {
	const char	*name;
	struct bytes	 file;
	int		 want_ret;
	int		 want_err;
	const char	*want[5];
};

static const struct list_case list_cases[] = {
	{ "missing list is absent", ABSENT, 0, 0, { NULL } },
	{ "empty list file", B(""), 1, 0, { NULL } },
	{ "items trimmed, comments and blanks skipped",
	    B("# local domains\nexample.org\n  Example.NET \r\n\n#x\nlast"), 1,
	    0, { "example.org", "Example.NET", "last", NULL } },
	{ "a line of exactly CFG_LINE_MAX is fine", ABSENT, 1, 0, { NULL } },
	{ "a line over CFG_LINE_MAX is refused", ABSENT, -1, EMSGSIZE,
	    { NULL } },
	{ "NUL in a list is refused", B("a\nb\0\n"), -1, EINVAL, { NULL } },
};

static void
check_list(const struct list_case *c)
{
	struct cfglist l;
	size_t n;
	bool ok;
	int r;

	l.n = 99;
	errno = 0;
	r = cfg_get_list(dir, "list", &l);
	tap_ok(r == c->want_ret && (r != -1 || errno == c->want_err),
	    "%s: returns %d", c->name, c->want_ret);
	for (n = 0; c->want[n] != NULL; n++)
		;
	ok = r != 1 || c->want[0] == NULL || l.n == n;
	for (n = 0; ok && r == 1 && c->want[0] != NULL && n < l.n; n++)
		ok = strcmp(l.items[n], c->want[n]) == 0;
	tap_ok(ok && (r == 1 || l.n == 0), "%s: items", c->name);
	cfg_list_free(&l);
}

static void
test_list(void)
{
	static char longline[CFG_LINE_MAX + 2];
	struct cfglist l;
	size_t i;

	for (i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		if (list_cases[i].file.s != NULL)
			put_file("list", list_cases[i].file.s,
			    list_cases[i].file.n);
		else if (strstr(list_cases[i].name, "exactly") != NULL) {
			memset(longline, 'x', CFG_LINE_MAX);
			longline[CFG_LINE_MAX] = '\n';
			put_file("list", longline, CFG_LINE_MAX + 1);
		} else if (strstr(list_cases[i].name, "over") != NULL) {
			memset(longline, 'x', CFG_LINE_MAX + 1);
			longline[CFG_LINE_MAX + 1] = '\n';
			put_file("list", longline, CFG_LINE_MAX + 2);
		} else
			rm_file("list");
		check_list(&list_cases[i]);
	}

	put_file("list", "example.org\nEXAMPLE.net\n", 24);
	if (cfg_get_list(dir, "list", &l) != 1)
		return;
	tap_ok(cfg_list_has(&l, "example.org"), "has: exact match");
	tap_ok(cfg_list_has(&l, "Example.NET"), "has: ASCII case-insensitive");
	tap_ok(!cfg_list_has(&l, "example.or"), "has: no prefix match");
	tap_ok(!cfg_list_has(&l, "example.orgx"), "has: no longer match");
	tap_ok(!cfg_list_has(&l, ""), "has: empty string is not an item");
	cfg_list_free(&l);
	tap_ok(l.items == NULL && l.mem == NULL && l.n == 0,
	    "cfg_list_free leaves an empty list");
}

static void
test_read_file(void)
{
	char path[PATH_MAX], link[PATH_MAX], *data, *big;
	size_t len;
	int r;

	put_file("f", "hello\n", 6);
	r = cfg_read_file(dir, "f", 6, true, &data, &len);
	tap_ok(r == 1 && len == 6 && memcmp(data, "hello\n", 7) == 0,
	    "a file of exactly max bytes is read, NUL-terminated");
	free(data);
	errno = 0;
	r = cfg_read_file(dir, "f", 5, true, &data, &len);
	tap_ok(r == -1 && errno == EFBIG && data == NULL,
	    "a file of max + 1 bytes fails with EFBIG");
	errno = 0;
	r = cfg_read_file(dir, "nothere", 5, true, &data, &len);
	tap_ok(r == 0 && data == NULL, "a missing file is absent");

	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(link, sizeof(link), "%s/ln", dir);
	unlink(link);
	if (symlink(path, link) == 0) {
		errno = 0;
		r = cfg_read_file(dir, "ln", 100, true, &data, &len);
		tap_ok(r == -1 && errno == ELOOP,
		    "nofollow refuses a symbolic link");
		r = cfg_read_file(dir, "ln", 100, false, &data, &len);
		tap_ok(r == 1 && len == 6, "without nofollow a link is read");
		free(data);
		unlink(link);
	}
	r = cfg_read_file(NULL, path, 100, true, &data, &len);
	tap_ok(r == 1 && len == 6, "dir NULL takes name as the path");
	free(data);
	errno = 0;
	r = cfg_read_file(NULL, dir, 100, true, &data, &len);
	tap_ok(r == -1 && errno == EISDIR, "a directory is refused");
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (mkfifo(path, 0600) == 0) {
		errno = 0;
		r = cfg_read_file(dir, "fifo", 100, true, &data, &len);
		tap_ok(r == -1 && errno == EINVAL,
		    "a fifo is refused at once (no hang)");
		unlink(path);
	}
	/* st_size 0 but content: the size is only a hint. */
	r = cfg_read_file(NULL, "/proc/self/status", 1024 * 1024, false,
	    &data, &len);
	tap_ok(r == 1 && len > 0 && strlen(data) == len,
	    "a file whose st_size is 0 is read to EOF");
	free(data);
	errno = 0;
	r = cfg_read_file(NULL, "/proc/self/status", 10, false, &data, &len);
	tap_ok(r == -1 && errno == EFBIG,
	    "a file growing past max while read fails with EFBIG");

	/* The control-file limit applies to cfg_get_str and friends. */
	if ((big = malloc(CFG_FILE_MAX + 1)) == NULL)
		return;
	memset(big, '#', CFG_FILE_MAX + 1);
	big[0] = 'v';
	big[1] = '\n';
	big[CFG_FILE_MAX] = '\n';
	for (len = 2; len < CFG_FILE_MAX; len += 80)
		big[len] = '\n';
	put_file("big", big, CFG_FILE_MAX);
	r = cfg_get_str(dir, "big", path, sizeof(path));
	tap_ok(r == 1 && strcmp(path, "v") == 0,
	    "a control file of exactly CFG_FILE_MAX bytes is read");
	put_file("big", big, CFG_FILE_MAX + 1);
	errno = 0;
	r = cfg_get_str(dir, "big", path, sizeof(path));
	tap_ok(r == -1 && errno == EFBIG,
	    "a control file over CFG_FILE_MAX fails with EFBIG");
	rm_file("big");
	free(big);
}

static void
test_perm(void)
{
	char out[64], path[PATH_MAX];
	struct cfglist l;
	int r;

	errno = 0;
	r = cfg_get_list("/nonexistent-tern-dir", "x", &l);
	tap_ok(r == 0 && l.n == 0, "a missing control directory means absent");
	if (geteuid() == 0) {
		tap_diag("root reads any file: skipping the EACCES case");
		return;
	}
	put_file("secret", "x\n", 2);
	snprintf(path, sizeof(path), "%s/secret", dir);
	chmod(path, 0);
	errno = 0;
	r = cfg_get_str(dir, "secret", out, sizeof(out));
	tap_ok(r == -1 && errno == EACCES,
	    "an unreadable file is an error, not absent");
	rm_file("secret");
}

int
main(void)
{
	char cmd[PATH_MAX + 16];

	if (mkdtemp(dir) == NULL) {
		tap_ok(false, "mkdtemp");
		return tap_done();
	}
	test_str();
	test_num();
	test_list();
	test_read_file();
	test_perm();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
