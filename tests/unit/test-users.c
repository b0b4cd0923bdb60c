/* test-users: the virtual passwd table and system users. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "users.h"

static const struct {
	const char	*what;
	const char	*file;
	const char	*addr;
	const char	*hash;
	long long	 uid, gid;
	const char	*maildir, *home;
} good[] = {
	{ "a full line", "a@x.test:$6$salt$h:1000:100:/var/vmail/a/Maildir/:"
	  "/var/vmail/a\n", "a@x.test", "$6$salt$h", 1000, 100,
	  "/var/vmail/a/Maildir/", "/var/vmail/a" },
	{ "home defaults to the Maildir's parent",
	  "b@x.test:*:1:2:/home/b/Maildir/\n", "b@x.test", "*", 1, 2,
	  "/home/b/Maildir/", "/home/b" },
	{ "parent without trailing slash",
	  "b@x.test:*:1:2:/home/b/Maildir\n", "b@x.test", "*", 1, 2,
	  "/home/b/Maildir", "/home/b" },
	{ "parent of a top-level Maildir is /", "c@x.test:*:1:2:/Maildir/\n",
	  "c@x.test", "*", 1, 2, "/Maildir/", "/" },
	{ "addresses are lowercased and looked up without case",
	  "Big@X.Test:!:3:4:/m/\n", "bIG@x.TEST", "!", 3, 4, "/m/", "/" },
	{ "comments, blank lines and CRLF",
	  "# users\n\nd@x.test:*:5:6:/d/M/\r\n", "d@x.test", "*", 5, 6,
	  "/d/M/", "/d" },
	{ "uid 0 parses (refused at delivery)", "r@x.test:*:0:0:/r/M/\n",
	  "r@x.test", "*", 0, 0, "/r/M/", "/r" },
	{ "largest ids", "e@x.test:*:2147483647:2147483647:/e/M/",
	  "e@x.test", "*", 2147483647LL, 2147483647LL, "/e/M/", "/e" },
	{ "second of two", "a@x.test:*:1:1:/a/M/\nb@x.test:*:2:2:/b/M/\n",
	  "b@x.test", "*", 2, 2, "/b/M/", "/b" },
};

static const struct {
	const char	*what;
	const char	*file;
	size_t		 lineno;
} bad[] = {
	{ "too few fields", "a@x.test:*:1:1\n", 1 },
	{ "too many fields", "a@x.test:*:1:1:/m/:/h:x\n", 1 },
	{ "no @ in the address", "a:*:1:1:/m/\n", 1 },
	{ "empty local part", "@x.test:*:1:1:/m/\n", 1 },
	{ "empty domain", "a@:*:1:1:/m/\n", 1 },
	{ "blank in the address", "a b@x.test:*:1:1:/m/\n", 1 },
	{ "empty hash", "a@x.test::1:1:/m/\n", 1 },
	{ "negative uid", "a@x.test:*:-1:1:/m/\n", 1 },
	{ "uid with garbage", "a@x.test:*:1x:1:/m/\n", 1 },
	{ "uid too large", "a@x.test:*:2147483648:1:/m/\n", 1 },
	{ "empty gid", "a@x.test:*:1::/m/\n", 1 },
	{ "relative Maildir", "a@x.test:*:1:1:m/\n", 1 },
	{ "relative home", "a@x.test:*:1:1:/m/:h\n", 1 },
	{ "empty home field", "a@x.test:*:1:1:/m/:\n", 1 },
	{ "duplicate address (case-insensitive)",
	  "a@x.test:*:1:1:/m/\nA@X.test:*:2:2:/n/\n", 2 },
	{ "error line counted", "# c\n\na@x.test:*:1:1:/m/\nbad\n", 4 },
	{ "NUL byte", "a@x.test:*:1:1:/m\0/\n", 1 },
	{ "control character in path", "a@x.test:*:1:1:/m\x01/\n", 1 },
};

static void
test_good(void)
{
	struct usertab		 t;
	const struct vuser	*u;
	const char		*err = NULL;
	size_t			 i, line;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!tap_ok(users_parse(good[i].file, strlen(good[i].file),
		    &t, &line, &err) == 0, "parses: %s", good[i].what)) {
			tap_diag("line %zu: %s", line, err);
			continue;
		}
		u = users_lookup(&t, good[i].addr);
		if (tap_ok(u != NULL, "finds: %s", good[i].what)) {
			tap_is_str(u->hash, good[i].hash, "hash: %s",
			    good[i].what);
			tap_ok(u->uid == (uid_t)good[i].uid &&
			    u->gid == (gid_t)good[i].gid, "ids: %s",
			    good[i].what);
			tap_is_str(u->maildir, good[i].maildir, "Maildir: %s",
			    good[i].what);
			tap_is_str(u->home, good[i].home, "home: %s",
			    good[i].what);
		}
		users_free(&t);
	}
}

static void
test_bad(void)
{
	struct usertab	 t;
	const char	*err = NULL;
	size_t		 i, line = 0, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = strlen(bad[i].file);
		if (strcmp(bad[i].what, "NUL byte") == 0)
			len = 20;
		if (!tap_ok(users_parse(bad[i].file, len, &t, &line, &err) ==
		    -1, "refuses: %s", bad[i].what)) {
			users_free(&t);
			continue;
		}
		tap_is_int((long long)line, (long long)bad[i].lineno,
		    "error line: %s (%s)", bad[i].what, err);
		tap_ok(t.n == 0 && t.mem == NULL, "table empty after: %s",
		    bad[i].what);
	}
}

static void
test_limits(void)
{
	struct usertab	 t;
	const char	*err;
	char		*s;
	size_t		 line, pad;

	/* A line of exactly USERS_LINE_MAX bytes, then one byte more. */
	pad = USERS_LINE_MAX - strlen("a@x.test:*:1:1:/") - 1;
	if ((s = malloc(USERS_LINE_MAX + 8)) == NULL)
		abort();
	memcpy(s, "a@x.test:*:1:1:/", 16);
	memset(s + 16, 'm', pad);
	memcpy(s + 16 + pad, "/\n", 3);
	tap_ok(users_parse(s, strlen(s), &t, &line, &err) == 0,
	    "a line of USERS_LINE_MAX bytes is accepted");
	users_free(&t);
	memcpy(s + 16 + pad, "m/\n", 4);
	tap_ok(users_parse(s, strlen(s), &t, &line, &err) == -1 &&
	    errno == E2BIG, "a longer line is refused");
	free(s);
	tap_ok(users_parse("", 0, &t, &line, &err) == 0 && t.n == 0,
	    "an empty table parses");
	tap_ok(users_lookup(&t, "a@x.test") == NULL,
	    "lookup in an empty table");
	users_free(&t);
	users_free(&t);
	tap_ok(t.n == 0, "users_free twice is safe");
}

static void
test_system(void)
{
	struct sysuser	 su;
	char		 big[USERS_NAME_MAX + 2];

	tap_is_int(users_system("root", &su), 1, "root exists");
	tap_ok(su.uid == 0 && su.home[0] == '/', "root's uid and home");
	tap_is_int(users_system("no-such-user-tern", &su), 0,
	    "an unknown user is absent");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tap_ok(users_system(big, &su) == -1 && errno == ENAMETOOLONG,
	    "an over-long name is an error");
}

int
main(void)
{
	test_good();
	test_bad();
	test_limits();
	test_system();
	return tap_done();
}
