/* test-resolve: recipient resolution of tern-lspawn, with fake users. */
#include <string.h>
#include <signal.h>
#include <sys/wait.h>

#include "../../deliver/resolve.h"
#include "../../deliver/spawn.h"
#include "tap.h"

/* System users: jim (1001, /home/jim), root (0), nobody (65534). */
static int
fake_sysuser(const char *name, struct sysuser *out)
{
	static const struct { const char *n; uid_t u; const char *h; } db[] = {
		{ "jim", 1001, "/home/jim" },
		{ "root", 0, "/root" },
		{ "nobody", 65534, "/nonexistent" },
		{ "slash", 1002, "/" },
	};
	size_t	i;

	if (strcmp(name, "broken") == 0)
		return -1;
	for (i = 0; i < sizeof(db) / sizeof(db[0]); i++)
		if (strcmp(name, db[i].n) == 0) {
			strlcpy(out->name, db[i].n, sizeof(out->name));
			out->uid = db[i].u;
			out->gid = db[i].u;
			strlcpy(out->home, db[i].h, sizeof(out->home));
			return 1;
		}
	return 0;
}

static const char aliases[] =
    "root: jim\n"
    "list: a@x.test, \"|cat\"\n"
    "info@v.test: /var/mail/info/\n"
    "sales: jim@v.test\n"
    "broken: x\n";
static const char passwd[] =
    "vu@v.test:*:2000:2000:/var/vmail/vu/Maildir/\n"
    "jim@v.test:*:2001:2000:/var/vmail/jim/Maildir/\n"
    "zero@v.test:*:0:0:/var/vmail/zero/Maildir/\n";

static const struct {
	const char	*rcpt;
	int		 kind;
	const char	*user;		/* or status for RES_FAIL */
	const char	*maildir;	/* or first target for RES_ALIAS */
	const char	*ext;
} cases[] = {
	{ "jim@t.test", RES_USER, "jim", "/home/jim/Maildir/", "" },
	{ "JIM@t.test", RES_USER, "jim", "/home/jim/Maildir/", "" },
	{ "jim@other.test", RES_USER, "jim", "/home/jim/Maildir/", "" },
	{ "jim+news@t.test", RES_USER, "jim", "/home/jim/Maildir/", "news" },
	{ "jim+a+b@t.test", RES_USER, "jim", "/home/jim/Maildir/", "a+b" },
	{ "jim@v.test", RES_USER, "jim@v.test", "/var/vmail/jim/Maildir/",
	  "" },
	{ "vu@v.test", RES_USER, "vu@v.test", "/var/vmail/vu/Maildir/", "" },
	{ "vu+x@v.test", RES_USER, "vu@v.test", "/var/vmail/vu/Maildir/",
	  "x" },
	{ "vu@t.test", RES_FAIL, "5.1.1", "", "" },
	{ "root@t.test", RES_ALIAS, "nobody", "jim", "" },
	{ "list@other.test", RES_ALIAS, "nobody", "a@x.test", "" },
	{ "list+x@t.test", RES_ALIAS, "nobody", "a@x.test", "x" },
	{ "list@v.test", RES_FAIL, "5.1.1", "", "" },
	{ "info@v.test", RES_ALIAS, "nobody", "/var/mail/info/", "" },
	{ "info@t.test", RES_FAIL, "5.1.1", "", "" },
	{ "zero@v.test", RES_FAIL, "4.3.0", "", "" },
	{ "nobody@t.test", RES_USER, "nobody", "/nonexistent/Maildir/", "" },
	{ "slash@t.test", RES_USER, "slash", "/Maildir/", "" },
	{ "broken@t.test", RES_ALIAS, "nobody", "x", "" },
	{ "broken+x@t.test", RES_ALIAS, "nobody", "x", "x" },
	{ "unknown@t.test", RES_FAIL, "5.1.1", "", "" },
	{ "postmaster@t.test", RES_ALIAS, "nobody", "pm@x.test", "" },
	{ "Postmaster@other.test", RES_ALIAS, "nobody", "pm@x.test", "" },
	{ "postmaster@v.test", RES_FAIL, "5.1.1", "", "" },
	{ "postmaster", RES_ALIAS, "nobody", "pm@x.test", "" },
	{ "+x@t.test", RES_FAIL, "5.1.1", "", "" },
};

static void
setup(struct resolve_cfg *c)
{
	static char	 dom[2][16] = { "t.test", "other.test" };
	static char	*items[2] = { dom[0], dom[1] };
	const char	*err;
	size_t		 line;

	memset(c, 0, sizeof(*c));
	strlcpy(c->me, "t.test", sizeof(c->me));
	c->localdomains.items = items;
	c->localdomains.n = 2;
	strlcpy(c->extsep, "+", sizeof(c->extsep));
	strlcpy(c->postmaster, "pm@x.test", sizeof(c->postmaster));
	strlcpy(c->aliasuser, "nobody", sizeof(c->aliasuser));
	c->root = true;
	c->sysuser = fake_sysuser;
	if (alias_parse(aliases, strlen(aliases), &c->aliases, &line,
	    &err) == -1 || users_parse(passwd, strlen(passwd), &c->users,
	    &line, &err) == -1)
		tap_diag("setup: line %zu: %s", line, err);
}

static void
test_cases(struct resolve_cfg *c)
{
	struct resolved	r;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		resolve_rcpt(c, cases[i].rcpt, &r);
		if (!tap_is_int(r.kind, cases[i].kind, "kind for %s",
		    cases[i].rcpt))
			continue;
		if (r.kind == RES_FAIL) {
			tap_is_str(r.status, cases[i].user, "status for %s",
			    cases[i].rcpt);
			continue;
		}
		tap_is_str(r.user, cases[i].user, "user for %s", cases[i].rcpt);
		tap_is_str(r.kind == RES_USER ? r.maildir : r.targets[0],
		    cases[i].maildir, "%s for %s", r.kind == RES_USER ?
		    "Maildir" : "target", cases[i].rcpt);
		tap_is_str(r.ext, cases[i].ext, "extension for %s",
		    cases[i].rcpt);
	}
}

static void
test_config(struct resolve_cfg *c)
{
	struct resolved	r;

	strlcpy(c->extsep, "-", sizeof(c->extsep));
	resolve_rcpt(c, "jim-x@t.test", &r);
	tap_ok(r.kind == RES_USER && strcmp(r.ext, "x") == 0,
	    "control extension changes the separator");
	resolve_rcpt(c, "jim+x@t.test", &r);
	tap_is_str(r.status, "5.1.1", "the old separator no longer splits");
	strlcpy(c->extsep, "+", sizeof(c->extsep));
	c->postmaster[0] = '\0';
	resolve_rcpt(c, "postmaster@t.test", &r);
	tap_ok(r.kind == RES_FAIL && strcmp(r.status, "4.3.0") == 0 &&
	    r.logit, "postmaster without control postmaster is temporary");
	strlcpy(c->aliasuser, "ghost", sizeof(c->aliasuser));
	resolve_rcpt(c, "list@t.test", &r);
	tap_ok(r.kind == RES_FAIL && r.status[0] == '4',
	    "an aliasuser that does not exist is temporary as root");
	strlcpy(c->aliasuser, "root", sizeof(c->aliasuser));
	resolve_rcpt(c, "list@t.test", &r);
	tap_ok(r.kind == RES_FAIL && r.status[0] == '4' && r.logit,
	    "aliasuser root is refused");
	strlcpy(c->aliasuser, "nobody", sizeof(c->aliasuser));
	resolve_rcpt(c, "broken-db@t.test", &r);
	tap_is_str(r.status, "5.1.1", "unknown with a working user database");
	c->aliases_bad = true;
	resolve_rcpt(c, "jim@t.test", &r);
	tap_ok(r.kind == RES_FAIL && r.status[0] == '4',
	    "an unusable aliases table defers every delivery");
	c->aliases_bad = false;
	c->localdomains.n = 0;
	resolve_rcpt(c, "jim@other.test", &r);
	tap_is_str(r.status, "5.1.1", "without localdomains only me is local");
	resolve_rcpt(c, "jim@t.test", &r);
	tap_is_str(r.user, "jim", "without localdomains me is local");
}

static void
test_sysuser_error(struct resolve_cfg *c)
{
	struct resolved	r;

	c->localdomains.n = 2;
	alias_free(&c->aliases);
	resolve_rcpt(c, "broken@t.test", &r);
	tap_ok(r.kind == RES_FAIL && r.status[0] == '4' && r.logit,
	    "an error of the user database is temporary");
}

/* tern-lspawn's side of the protocol. */
static void
test_requests(void)
{
	const char	*f[4], *err;
	size_t		 used;
	char		 big[SPAWN_REQ_MAX + 10];

	tap_is_int(spawn_parse_request("3\0id\0s\0r\0\0", 10, &used, f, &err),
	    1, "a complete request");
	tap_ok(used == 10 && strcmp(f[0], "3") == 0 &&
	    strcmp(f[3], "r") == 0, "request fields and length");
	tap_is_int(spawn_parse_request("3\0id\0s\0r\0\0" "4\0", 12, &used, f,
	    &err), 1, "a request followed by part of the next");
	tap_is_int(used, 10, "only the first request is used");
	tap_is_int(spawn_parse_request("3\0id\0s\0r\0", 9, &used, f, &err), 0,
	    "an incomplete request waits");
	tap_is_int(spawn_parse_request("3\0id\0s\0r\0x\0", 11, &used, f, &err),
	    -1, "a request without the final empty field is refused");
	memset(big, 'a', sizeof(big));
	tap_is_int(spawn_parse_request(big, sizeof(big), &used, f, &err), -1,
	    "an over-long request is refused");
}

static void
test_results(void)
{
	char	letter, status[8], text[SPAWN_TEXT_MAX + 1], long_line[600];

	spawn_result(0, "2.0.0 delivered: Maildir\n", 25, &letter, status,
	    text);
	tap_ok(letter == 'K' && strcmp(status, "2.0.0") == 0 &&
	    strcmp(text, "delivered: Maildir") == 0, "exit 0 is K");
	spawn_result(100 << 8, "5.4.6 mail loop\n", 16, &letter, status, text);
	tap_ok(letter == 'D' && strcmp(status, "5.4.6") == 0, "exit 100 is D");
	spawn_result(111 << 8, "4.2.2 mailbox over quota\n", 25, &letter,
	    status, text);
	tap_ok(letter == 'Z' && strcmp(status, "4.2.2") == 0,
	    "exit 111 is Z");
	spawn_result(100 << 8, "2.0.0 odd\n", 10, &letter, status, text);
	tap_ok(letter == 'D' && strcmp(status, "5.0.0") == 0,
	    "a status of the wrong class is replaced");
	spawn_result(1 << 8, "5.1.1 x\n", 8, &letter, status, text);
	tap_ok(letter == 'Z' && strcmp(status, "4.3.0") == 0,
	    "another exit code is temporary");
	spawn_result(SIGKILL, "", 0, &letter, status, text);
	tap_ok(letter == 'Z' && strstr(text, "signal 9") != NULL,
	    "a signal is temporary");
	spawn_result(111 << 8, "4.3.0 a\x01\xff" "b", 10, &letter, status,
	    text);
	tap_is_str(text, "a??b", "control bytes are replaced in the text");
	memset(long_line, 'x', sizeof(long_line));
	memcpy(long_line, "4.3.0 ", 6);
	spawn_result(111 << 8, long_line, sizeof(long_line), &letter, status,
	    text);
	tap_is_int((long long)strlen(text), SPAWN_TEXT_MAX,
	    "the text is cut at SPAWN_TEXT_MAX");
	spawn_result(0, "", 0, &letter, status, text);
	tap_ok(letter == 'K' && strcmp(status, "2.0.0") == 0 && text[0],
	    "no status line from a successful tern-local");
}

int
main(void)
{
	struct resolve_cfg	c;

	setup(&c);
	test_cases(&c);
	test_config(&c);
	test_sysuser_error(&c);
	test_requests();
	test_results();
	alias_free(&c.aliases);
	users_free(&c.users);
	return tap_done();
}
