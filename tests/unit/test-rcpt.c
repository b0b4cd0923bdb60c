/* test-rcpt: recipient resolution (lib/rcpt), with fake users. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>

#include "rcpt.h"
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
	const char	*user;		/* or status for RCPT_FAIL */
	const char	*maildir;	/* or first target for RCPT_ALIAS */
	const char	*ext;
} cases[] = {
	{ "jim@t.test", RCPT_USER, "jim", "/home/jim/Maildir/", "" },
	{ "JIM@t.test", RCPT_USER, "jim", "/home/jim/Maildir/", "" },
	{ "jim@other.test", RCPT_USER, "jim", "/home/jim/Maildir/", "" },
	{ "jim+news@t.test", RCPT_USER, "jim", "/home/jim/Maildir/", "news" },
	{ "jim+a+b@t.test", RCPT_USER, "jim", "/home/jim/Maildir/", "a+b" },
	{ "jim@v.test", RCPT_USER, "jim@v.test", "/var/vmail/jim/Maildir/",
	  "" },
	{ "vu@v.test", RCPT_USER, "vu@v.test", "/var/vmail/vu/Maildir/", "" },
	{ "vu+x@v.test", RCPT_USER, "vu@v.test", "/var/vmail/vu/Maildir/",
	  "x" },
	{ "vu@t.test", RCPT_FAIL, "5.1.1", "", "" },
	{ "root@t.test", RCPT_ALIAS, "nobody", "jim", "" },
	{ "list@other.test", RCPT_ALIAS, "nobody", "a@x.test", "" },
	{ "list+x@t.test", RCPT_ALIAS, "nobody", "a@x.test", "x" },
	{ "list@v.test", RCPT_FAIL, "5.1.1", "", "" },
	{ "info@v.test", RCPT_ALIAS, "nobody", "/var/mail/info/", "" },
	{ "info@t.test", RCPT_FAIL, "5.1.1", "", "" },
	{ "zero@v.test", RCPT_FAIL, "4.3.0", "", "" },
	{ "nobody@t.test", RCPT_USER, "nobody", "/nonexistent/Maildir/", "" },
	{ "slash@t.test", RCPT_USER, "slash", "/Maildir/", "" },
	{ "broken@t.test", RCPT_ALIAS, "nobody", "x", "" },
	{ "broken+x@t.test", RCPT_ALIAS, "nobody", "x", "x" },
	{ "unknown@t.test", RCPT_FAIL, "5.1.1", "", "" },
	{ "postmaster@t.test", RCPT_ALIAS, "nobody", "pm@x.test", "" },
	{ "Postmaster@other.test", RCPT_ALIAS, "nobody", "pm@x.test", "" },
	{ "postmaster@v.test", RCPT_FAIL, "5.1.1", "", "" },
	{ "postmaster", RCPT_ALIAS, "nobody", "pm@x.test", "" },
	{ "+x@t.test", RCPT_FAIL, "5.1.1", "", "" },
};

static void
setup(struct rcpt_cfg *c)
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
test_cases(struct rcpt_cfg *c)
{
	struct rcpt_res	r;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rcpt_resolve(c, cases[i].rcpt, &r);
		if (!tap_is_int(r.kind, cases[i].kind, "kind for %s",
		    cases[i].rcpt))
			continue;
		if (r.kind == RCPT_FAIL) {
			tap_is_str(r.status, cases[i].user, "status for %s",
			    cases[i].rcpt);
			continue;
		}
		tap_is_str(r.user, cases[i].user, "user for %s", cases[i].rcpt);
		tap_is_str(r.kind == RCPT_USER ? r.maildir : r.targets[0],
		    cases[i].maildir, "%s for %s", r.kind == RCPT_USER ?
		    "Maildir" : "target", cases[i].rcpt);
		tap_is_str(r.ext, cases[i].ext, "extension for %s",
		    cases[i].rcpt);
	}
}

static void
test_config(struct rcpt_cfg *c)
{
	struct rcpt_res	r;

	strlcpy(c->extsep, "-", sizeof(c->extsep));
	rcpt_resolve(c, "jim-x@t.test", &r);
	tap_ok(r.kind == RCPT_USER && strcmp(r.ext, "x") == 0,
	    "control extension changes the separator");
	rcpt_resolve(c, "jim+x@t.test", &r);
	tap_is_str(r.status, "5.1.1", "the old separator no longer splits");
	strlcpy(c->extsep, "+", sizeof(c->extsep));
	c->postmaster[0] = '\0';
	rcpt_resolve(c, "postmaster@t.test", &r);
	tap_ok(r.kind == RCPT_FAIL && strcmp(r.status, "4.3.0") == 0 &&
	    r.logit, "postmaster without control postmaster is temporary");
	strlcpy(c->aliasuser, "ghost", sizeof(c->aliasuser));
	rcpt_resolve(c, "list@t.test", &r);
	tap_ok(r.kind == RCPT_FAIL && r.status[0] == '4',
	    "an aliasuser that does not exist is temporary as root");
	strlcpy(c->aliasuser, "root", sizeof(c->aliasuser));
	rcpt_resolve(c, "list@t.test", &r);
	tap_ok(r.kind == RCPT_FAIL && r.status[0] == '4' && r.logit,
	    "aliasuser root is refused");
	strlcpy(c->aliasuser, "nobody", sizeof(c->aliasuser));
	rcpt_resolve(c, "broken-db@t.test", &r);
	tap_is_str(r.status, "5.1.1", "unknown with a working user database");
	c->aliases_bad = true;
	rcpt_resolve(c, "jim@t.test", &r);
	tap_ok(r.kind == RCPT_FAIL && r.status[0] == '4',
	    "an unusable aliases table defers every delivery");
	c->aliases_bad = false;
	c->localdomains.n = 0;
	rcpt_resolve(c, "jim@other.test", &r);
	tap_is_str(r.status, "5.1.1", "without localdomains only me is local");
	rcpt_resolve(c, "jim@t.test", &r);
	tap_is_str(r.user, "jim", "without localdomains me is local");
}

static void
test_sysuser_error(struct rcpt_cfg *c)
{
	struct rcpt_res	r;

	c->localdomains.n = 2;
	alias_free(&c->aliases);
	rcpt_resolve(c, "broken@t.test", &r);
	tap_ok(r.kind == RCPT_FAIL && r.status[0] == '4' && r.logit,
	    "an error of the user database is temporary");
}

/* control/recipients parsing. */
static const struct {
	const char	*text;
	int		 ret;
	size_t		 n;		/* entries, or the bad line */
	const char	*first;
} tables[] = {
	{ "", 0, 0, NULL },
	{ "# only a comment\n\n", 0, 0, NULL },
	{ "b@x.test\na@x.test\n", 0, 2, "a@x.test" },
	{ "Vu@V.Test\r\n", 0, 1, "vu@v.test" },
	{ "a@x.test", 0, 1, "a@x.test" },
	{ "a@x.test\nA@X.TEST\n", -1, 2, NULL },
	{ "a@x.test\nnoat\n", -1, 2, NULL },
	{ "@x.test\n", -1, 1, NULL },
	{ "a@\n", -1, 1, NULL },
	{ "a b@x.test\n", -1, 1, NULL },
	{ "a@x.test:$6$hash\n", 0, 1, "a@x.test:$6$hash" },
	{ "a\t@x.test\n", -1, 1, NULL },
};

static void
test_table_parse(void)
{
	struct rcpttab	 t;
	const char	*err;
	char		 big[ADDR_BUF + 8];
	size_t		 i, line;
	int		 r;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		r = rcpt_table_parse(tables[i].text, strlen(tables[i].text),
		    &t, &line, &err);
		if (!tap_is_int(r, tables[i].ret, "recipients table %zu", i))
			continue;
		if (r == -1)
			tap_is_int(line, tables[i].n, "bad line of table %zu",
			    i);
		else
			tap_ok(t.n == tables[i].n && (t.n == 0 ||
			    strcmp(t.addrs[0], tables[i].first) == 0),
			    "entries of table %zu", i);
		rcpt_table_free(&t);
	}
	tap_is_int(rcpt_table_parse("a@x\0b", 5, &t, &line, &err), -1,
	    "a NUL byte in recipients is refused");
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 8, "@x.test\n", 8);
	tap_is_int(rcpt_table_parse(big, sizeof(big), &t, &line, &err), -1,
	    "an address longer than ADDR_BUF - 1 is refused");
	tap_is_int(rcpt_table_parse(big + 9, sizeof(big) - 9, &t, &line,
	    &err), 0, "an address of ADDR_BUF - 1 bytes is accepted");
	big[sizeof(big) - 1] = '\0';
	tap_ok(rcpt_table_has(&t, big + 9) && !rcpt_table_has(&t, "a@x.test"),
	    "rcpt_table_has finds exactly what the table holds");
	rcpt_table_free(&t);
}

/* The compiled text holds the addresses, never a hash. */
static void
test_table_format(const struct rcpt_cfg *c)
{
	char	buf[512], tiny[40];
	size_t	need;

	need = rcpt_table_format(&c->users, buf, sizeof(buf));
	tap_ok(need < sizeof(buf) && strstr(buf, "jim@v.test\nvu@v.test\n"
	    "zero@v.test\n") != NULL && strchr(buf, '*') == NULL,
	    "recipients text: sorted addresses without hashes");
	tap_is_int(rcpt_table_format(&c->users, tiny, sizeof(tiny)), need,
	    "a short buffer still reports the full length");
	tap_ok(strlen(tiny) < sizeof(tiny), "a short buffer stays terminated");
}

/* tern-smtpd's view: recipients instead of passwd, no ids. */
static const struct {
	const char	*rcpt;
	int		 kind;
	const char	*user;
	const char	*ext;
} hf_cases[] = {
	{ "vu@v.test", RCPT_USER, "vu@v.test", "" },
	{ "VU+tag@v.test", RCPT_USER, "vu@v.test", "tag" },
	{ "zero@v.test", RCPT_USER, "zero@v.test", "" },
	{ "ghost@v.test", RCPT_FAIL, "5.1.1", "" },
	{ "jim@t.test", RCPT_USER, "jim", "" },
	{ "jim+x@t.test", RCPT_USER, "jim", "x" },
	{ "root@t.test", RCPT_ALIAS, "nobody", "" },
	{ "info@v.test", RCPT_ALIAS, "nobody", "" },
	{ "postmaster@other.test", RCPT_ALIAS, "nobody", "" },
	{ "unknown@t.test", RCPT_FAIL, "5.1.1", "" },
};

static void
test_hashfree(struct rcpt_cfg *c)
{
	static const char	 text[] = "vu@v.test\nzero@v.test\n";
	struct rcpt_res		 r;
	const char		*err;
	size_t			 i, line;

	c->vuser = rcpt_vuser_recipients;
	if (rcpt_table_parse(text, strlen(text), &c->recipients, &line,
	    &err) == -1 || alias_parse(aliases, strlen(aliases), &c->aliases,
	    &line, &err) == -1)
		tap_diag("hash-free setup: %s", err);
	users_free(&c->users);
	strlcpy(c->postmaster, "pm@x.test", sizeof(c->postmaster));
	for (i = 0; i < sizeof(hf_cases) / sizeof(hf_cases[0]); i++) {
		rcpt_resolve(c, hf_cases[i].rcpt, &r);
		if (!tap_is_int(r.kind, hf_cases[i].kind, "hash-free kind "
		    "for %s", hf_cases[i].rcpt))
			continue;
		tap_is_str(r.kind == RCPT_FAIL ? r.status : r.user,
		    hf_cases[i].user, "hash-free result for %s",
		    hf_cases[i].rcpt);
		tap_is_str(r.ext, hf_cases[i].ext, "hash-free extension for %s",
		    hf_cases[i].rcpt);
	}
	rcpt_resolve(c, "vu@v.test", &r);
	tap_ok(!r.ids && r.maildir[0] == '\0', "hash-free users have no ids");
	c->users_bad = true;
	rcpt_resolve(c, "vu@v.test", &r);
	tap_ok(r.kind == RCPT_FAIL && strcmp(r.status, "4.3.0") == 0 &&
	    strstr(r.text, "recipients") != NULL,
	    "an unusable recipients table is temporary");
	c->users_bad = false;
	rcpt_table_free(&c->recipients);
	c->vuser = NULL;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	path[PATH_MAX];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return;
	fputs(text, fp);
	fclose(fp);
}

/* rcpt_cfg_load and rcpt_compile on a real control directory. */
static void
test_load_compile(void)
{
	struct rcpt_cfg	 c;
	struct rcpt_res	 r;
	char		 dir[] = "/tmp/test-rcpt.XXXXXX", warn[RCPT_WARN_MAX];
	char		 path[PATH_MAX];
	const char	*err;
	size_t		 n, line;
	struct timespec	 ts[2] = { { 0, UTIME_OMIT }, { 1, 0 } };

	if (mkdtemp(dir) == NULL)
		tap_diag("mkdtemp failed");
	write_file(dir, "me", "t.test\n");
	write_file(dir, "passwd", passwd);
	rcpt_cfg_init(&c);
	tap_is_int(rcpt_cfg_load(&c, dir, RCPT_HASHFREE, warn, sizeof(warn)),
	    1, "passwd without recipients is a warning");
	rcpt_resolve(&c, "vu@v.test", &r);
	tap_ok(r.kind == RCPT_FAIL && r.status[0] == '4',
	    "and every lookup is temporary until newaliases ran");
	tap_ok(rcpt_compile(dir, &n, &line, &err) == 0 && n == 3,
	    "rcpt_compile writes the three addresses");
	snprintf(path, sizeof(path), "%s/recipients", dir);
	tap_is_int(rcpt_cfg_load(&c, dir, RCPT_HASHFREE, warn, sizeof(warn)),
	    0, "a compiled recipients table loads without warnings");
	rcpt_resolve(&c, "vu@v.test", &r);
	tap_ok(r.kind == RCPT_USER && !r.ids, "the virtual user is found");
	(void)utimensat(AT_FDCWD, path, ts, 0);
	tap_ok(rcpt_cfg_load(&c, dir, RCPT_HASHFREE, warn, sizeof(warn)) ==
	    1 && strstr(warn, "newer") != NULL,
	    "a passwd newer than recipients is reported");
	tap_is_int(rcpt_cfg_load(&c, dir, RCPT_DELIVERY, warn, sizeof(warn)),
	    0, "delivery mode reads passwd");
	rcpt_resolve(&c, "vu@v.test", &r);
	tap_ok(r.kind == RCPT_USER && r.ids && r.uid == 2000,
	    "delivery mode knows the ids");
	write_file(dir, "passwd", "bad line\n");
	tap_ok(rcpt_compile(dir, &n, &line, &err) == -1 && line == 1 &&
	    errno == EINVAL, "a bad passwd is not compiled");
	rcpt_cfg_free(&c);
	unlink(path);
	snprintf(path, sizeof(path), "%s/passwd", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/me", dir);
	unlink(path);
	rmdir(dir);
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
	struct rcpt_cfg	c;

	setup(&c);
	test_cases(&c);
	test_config(&c);
	test_sysuser_error(&c);
	test_table_parse();
	test_table_format(&c);
	test_hashfree(&c);
	test_load_compile();
	test_requests();
	test_results();
	alias_free(&c.aliases);
	users_free(&c.users);
	return tap_done();
}
