/* test-checkpass: fd-3 parsing, hash policy, verification, passwd edits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../auth/checkpass.h"
#include "../../auth/pwedit.h"
#include "tap.h"

static const struct {
	const char	*data;
	size_t		 len;
	int		 ret;
	const char	*user, *pass, *stamp;
	const char	*name;
} records[] = {
	{ "u\0p\0t\0", 6, 0, "u", "p", "t", "a full record" },
	{ "u\0p\0", 4, 0, "u", "p", "", "without the timestamp" },
	{ "u\0p\0t", 5, 0, "u", "p", "", "an unterminated timestamp" },
	{ "u\0p\0t\0junk", 10, 0, "u", "p", "t", "bytes after the record" },
	{ "\0\0\0", 3, 0, "", "", "", "empty fields parse" },
	{ "u\0p", 3, -1, NULL, NULL, NULL, "an unterminated password" },
	{ "user", 4, -1, NULL, NULL, NULL, "an unterminated user" },
	{ "", 0, -1, NULL, NULL, NULL, "no data at all" },
};

static void
test_parse(void)
{
	struct cp_cred	 c;
	const char	*err;
	char		 big[CP_INPUT_MAX + 1];
	size_t		 i;

	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		if (!tap_is_int(cp_parse(records[i].data, records[i].len, &c,
		    &err), records[i].ret, "parse: %s", records[i].name) ||
		    records[i].ret == -1)
			continue;
		tap_ok(strcmp(c.user, records[i].user) == 0 &&
		    strcmp(c.pass, records[i].pass) == 0 &&
		    strcmp(c.stamp, records[i].stamp) == 0,
		    "fields: %s", records[i].name);
	}
	memset(big, 'a', sizeof(big));
	big[CP_INPUT_MAX - 2] = '\0';
	big[CP_INPUT_MAX - 1] = '\0';
	tap_is_int(cp_parse(big, CP_INPUT_MAX, &c, &err), 0,
	    "a record of exactly 512 bytes parses");
	tap_is_int(cp_parse(big, CP_INPUT_MAX + 1, &c, &err), -1,
	    "513 bytes are refused");
	big[CP_INPUT_MAX - 1] = 'a';
	tap_is_int(cp_parse(big, CP_INPUT_MAX, &c, &err), -1,
	    "a password cut at 512 bytes is refused");
}

/* fd 3 is read up to 512 bytes and EOF; more is left unread. */
static void
test_read(void)
{
	char	buf[CP_INPUT_MAX + 1], big[600];
	size_t	len;
	int	p[2];

	memset(big, 'x', sizeof(big));
	if (pipe(p) == -1 || write(p[1], big, sizeof(big)) != sizeof(big))
		tap_diag("pipe");
	tap_ok(cp_read_input(p[0], buf, &len) == 0 && len == CP_INPUT_MAX,
	    "at most 512 bytes are read");
	close(p[0]);
	close(p[1]);
	if (pipe(p) == -1 || write(p[1], "u\0p\0", 4) != 4)
		tap_diag("pipe");
	close(p[1]);
	tap_ok(cp_read_input(p[0], buf, &len) == 0 && len == 4,
	    "a short record is read to EOF");
	close(p[0]);
	tap_ok(cp_read_input(p[0], buf, &len) == -1 && errno == EBADF,
	    "a closed descriptor is EBADF");
}

static const struct {
	const char	*hash;
	enum cp_hash	 kind;
	bool		 allowed;
} hashes[] = {
	{ "$y$j9T$salt$hash", CP_HASH_YESCRYPT, true },
	{ "$6$salt$hash", CP_HASH_SHA512, true },
	{ "$6$rounds=10000$salt$hash", CP_HASH_SHA512, true },
	{ "*", CP_HASH_LOCKED, false },
	{ "!", CP_HASH_LOCKED, false },
	{ "!$6$salt$hash", CP_HASH_LOCKED, false },
	{ "$1$salt$md5hash", CP_HASH_WEAK, false },
	{ "abJnggxhB/yWI", CP_HASH_WEAK, false },
	{ "$5$salt$sha256", CP_HASH_WEAK, false },
	{ "$2b$10$bcrypthashbcrypthash", CP_HASH_WEAK, false },
	{ "", CP_HASH_WEAK, false },
};

static void
test_policy(void)
{
	size_t	i;

	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		tap_is_int(cp_hash_kind(hashes[i].hash), hashes[i].kind,
		    "kind of \"%s\"", hashes[i].hash);
		tap_ok(cp_hash_allowed(cp_hash_kind(hashes[i].hash)) ==
		    hashes[i].allowed, "\"%s\" is %s", hashes[i].hash,
		    hashes[i].allowed ? "allowed" : "refused");
	}
}

static void
test_verify(void)
{
	char	h[PW_HASH_MAX];
	/* crypt("pw", "$1$salt$"): a correct MD5 hash is still refused. */
	static const char md5[] = "$1$salt$IXp9zPHZ94CMcVBXaZFPN/";
	/* crypt("pw", "$6$salt$") */
	static const char sha[] = "$6$salt$AkOOBO38SQQ8T8Q46KuCONe.8zg41nv"
	    "CDKDq7pVQd2n2hy8sf8aR3G89VY.57up0eSIa/69odCCcLT4hx7FpW/";

	tap_is_int(cp_hash_new("pw", h, sizeof(h)), 0, "hash a password");
	tap_ok(strncmp(h, "$y$", 3) == 0, "new hashes are yescrypt");
	tap_is_int(cp_verify(h, "pw"), 1, "the right password matches");
	tap_is_int(cp_verify(h, "pW"), 0, "a wrong password does not");
	tap_is_int(cp_verify(h, ""), 0, "an empty password does not");
	tap_is_int(cp_verify(sha, "pw"), 1, "a SHA-512 hash is checked");
	tap_is_int(cp_verify(sha, "px"), 0, "a SHA-512 hash with a bad one");
	tap_is_int(cp_verify(md5, "pw"), 0, "an MD5 hash never matches");
	tap_is_int(cp_verify(NULL, "tern-dummy-password"), 0,
	    "an unknown user never matches, even the dummy's password");
	tap_is_int(cp_verify("*", "pw"), 0, "a locked hash never matches");
	tap_is_int(cp_verify("$6$broken", "pw"), 0, "a malformed hash");
	tap_is_int(cp_hash_new("pw", h, 10), -1, "a short buffer is an error");
}

static const char table[] =
    "# users\n"
    "jim@t.test:$6$x$y:1000:1000:/m/jim/:/home/jim\n"
    "ann@t.test:*:1001:1001:/m/ann/\r\n"
    "zed@t.test:!:1002:1002:/m/zed/";

static void
test_lookup(void)
{
	struct vuser	 v;
	char		 strs[CP_ENTRY_MAX];
	const char	*err;

	tap_ok(cp_lookup(table, strlen(table), "JIM@t.test", &v, strs,
	    sizeof(strs), &err) == 1 && strcmp(v.hash, "$6$x$y") == 0 &&
	    strcmp(v.home, "/home/jim") == 0 && v.uid == 1000,
	    "lookup copies the entry");
	tap_is_int(cp_lookup(table, strlen(table), "no@t.test", &v, strs,
	    sizeof(strs), &err), 0, "lookup of an unknown user");
	tap_is_int(cp_lookup(table, strlen(table), "jim@t.test", &v, strs,
	    10, &err), -1, "an entry that does not fit");
	tap_is_int(cp_lookup("bad\n", 4, "jim@t.test", &v, strs,
	    sizeof(strs), &err), -1, "a broken table is an error");
}

static void
test_edit(void)
{
	struct pw_change	 ch;
	char			*out;
	const char		*err;
	size_t			 len;
	bool			 added;

	memset(&ch, 0, sizeof(ch));
	ch.address = "ann@t.test";
	ch.hash = "$y$new";
	tap_is_int(pw_edit(table, strlen(table), &ch, &out, &len, &added,
	    &err), 0, "change a password");
	tap_is_str(out, "# users\n"
	    "jim@t.test:$6$x$y:1000:1000:/m/jim/:/home/jim\n"
	    "ann@t.test:$y$new:1001:1001:/m/ann/\n"
	    "zed@t.test:!:1002:1002:/m/zed/", "only that line changes");
	tap_ok(!added, "a change does not add");
	free(out);
	ch.address = "jim@t.test";
	ch.set_uid = true;
	ch.uid = 2000;
	tap_ok(pw_edit(table, strlen(table), &ch, &out, &len, &added,
	    &err) == 0 && strstr(out, "jim@t.test:$y$new:2000:1000:/m/jim/:"
	    "/home/jim\n") != NULL, "a change keeps home and sets -u");
	free(out);
	ch.address = "new@t.test";
	tap_ok(pw_edit(table, strlen(table), &ch, &out, &len, &added,
	    &err) == -1 && errno == EINVAL, "a new user needs -u -g -m");
	ch.set_gid = true;
	ch.gid = 3;
	ch.maildir = "/m/new/";
	tap_ok(pw_edit(table, strlen(table), &ch, &out, &len, &added,
	    &err) == 0 && added && strcmp(out + strlen(table),
	    "\nnew@t.test:$y$new:2000:3:/m/new/\n") == 0,
	    "a new user is appended after a newline");
	free(out);
	tap_ok(pw_edit("", 0, &ch, &out, &len, &added, &err) == 0 &&
	    strcmp(out, "new@t.test:$y$new:2000:3:/m/new/\n") == 0,
	    "the first user of an empty table");
	free(out);
	ch.maildir = "/m/a:b/";
	tap_is_int(pw_edit("", 0, &ch, &out, &len, &added, &err), -1,
	    "a ':' in a field is refused");
	ch.maildir = "/m/new/";
	ch.address = "bad address@t.test";
	tap_is_int(pw_edit("", 0, &ch, &out, &len, &added, &err), -1,
	    "an address with a blank is refused");
	tap_is_int(pw_edit("broken\n", 7, &ch, &out, &len, &added, &err), -1,
	    "a broken table is not edited");
}

int
main(void)
{
	test_parse();
	test_read();
	test_policy();
	test_verify();
	test_lookup();
	test_edit();
	return tap_done();
}
