/* test-alias: the aliases table and forward-file targets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "tap.h"

/* Files that parse, with a lookup and the expected targets. */
static const struct {
	const char	*what;
	const char	*file;
	const char	*name;
	const char	*targets;	/* joined with '|' between targets */
} good[] = {
	{ "a simple alias", "root: bob\n", "root", "bob" },
	{ "a list", "staff: a@x.test, b@y.test,c\n", "staff",
	  "a@x.test|b@y.test|c" },
	{ "names are case-insensitive", "Info: bob\n", "INFO", "bob" },
	{ "local@domain names", "info@ex.test: bob\n", "info@EX.test", "bob" },
	{ "continuation lines join the entry",
	  "list: a,\n  b,\n\tc\n", "list", "a|b|c" },
	{ "comments and blank lines are ignored",
	  "# c\n\nx: a\n# between\n   \ny: b\n", "y", "b" },
	{ "a quoted command keeps commas and blanks",
	  "prog: \"|/bin/cat > /dev/null, x\"\n", "prog",
	  "|/bin/cat > /dev/null, x" },
	{ "an unquoted command", "prog: |/usr/bin/true\n", "prog",
	  "|/usr/bin/true" },
	{ "a Maildir path", "arch: /var/mail/arch/Maildir/\n", "arch",
	  "/var/mail/arch/Maildir/" },
	{ "a quoted local part stays an address",
	  "q: \"john doe\"@ex.test, b\n", "q", "\"john doe\"@ex.test|b" },
	{ "escapes in quotes", "e: \"|echo \\\"hi\\\"\"\n", "e",
	  "|echo \"hi\"" },
	{ "CRLF line ends", "a: b\r\nc: d\r\n", "c", "d" },
	{ "no final newline", "a: b", "a", "b" },
	{ "the last of several entries", "a: b\nc: d\ne: f\n", "e", "f" },
};

/* Files that must be refused, with the line of the error. */
static const struct {
	const char	*what;
	const char	*file;
	size_t		 lineno;
} bad[] = {
	{ "missing colon", "root bob\n", 1 },
	{ "empty name", ": bob\n", 1 },
	{ "no targets", "root:\n", 1 },
	{ "no targets, only blanks", "root:   \n", 1 },
	{ "empty target between commas", "a: b,,c\n", 1 },
	{ "trailing comma", "a: b,\n", 1 },
	{ ":include: is refused", "a: :include:/etc/list\n", 1 },
	{ ":include: in capitals is refused", "a: :INCLUDE:/x\n", 1 },
	{ "duplicate names", "a: b\nA: c\n", 2 },
	{ "continuation without an entry", "  b\n", 1 },
	{ "unterminated quote", "a: \"|cat\n", 1 },
	{ "text after a quoted target", "a: \"|cat\" x\n", 1 },
	{ "a file path that is not a Maildir", "a: /var/mail/a\n", 1 },
	{ "a relative Maildir", "a: Maildir/\n", 1 },
	{ "an empty command", "a: |\n", 1 },
	{ "a bad address", "a: b@@c\n", 1 },
	{ "blank inside a name", "a b: c\n", 1 },
	{ "bad name with two @", "a@b@c: d\n", 1 },
	{ "control character", "a: b\x01\n", 1 },
	{ "error on the right line", "a: b\nc: d\n\ne: \n", 4 },
	{ "error in a continued entry is at its first line",
	  "a: b\nc: d,\n  ,e\n", 2 },
};

static void
join(const struct alias *a, char *out, size_t outsz)
{
	size_t	i;

	out[0] = '\0';
	for (i = 0; i < a->ntargets; i++) {
		if (i > 0)
			strlcat(out, "|", outsz);
		strlcat(out, a->targets[i], outsz);
	}
}

static void
test_good(void)
{
	struct aliastab		 t;
	const struct alias	*a;
	const char		*err = NULL;
	char			 got[512];
	size_t			 i, line;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!tap_ok(alias_parse(good[i].file, strlen(good[i].file), &t,
		    &line, &err) == 0, "parses: %s", good[i].what)) {
			tap_diag("line %zu: %s", line, err);
			continue;
		}
		a = alias_lookup(&t, good[i].name);
		if (tap_ok(a != NULL, "finds %s: %s", good[i].name,
		    good[i].what)) {
			join(a, got, sizeof(got));
			tap_is_str(got, good[i].targets, "targets: %s",
			    good[i].what);
		}
		alias_free(&t);
	}
}

static void
test_bad(void)
{
	struct aliastab	 t;
	const char	*err = NULL;
	size_t		 i, line = 0;
	int		 r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = alias_parse(bad[i].file, strlen(bad[i].file), &t, &line,
		    &err);
		if (tap_ok(r == -1, "refuses: %s", bad[i].what)) {
			tap_is_int((long long)line, (long long)bad[i].lineno,
			    "error line: %s", bad[i].what);
			tap_ok(err != NULL && t.n == 0, "reason given and "
			    "table empty: %s (%s)", bad[i].what,
			    err ? err : "");
		} else
			alias_free(&t);
	}
}

/* Build a file of n targets "t<i>" for alias "big". */
static char *
many_targets(size_t n, const char *sep)
{
	char	*s;
	size_t	 i, cap = 32 + n * 16, len;

	if ((s = malloc(cap)) == NULL)
		abort();
	len = strlcpy(s, "big: t0", cap);
	for (i = 1; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%st%zu", sep, i);
	strlcat(s, "\n", cap);
	return s;
}

static char *
repeat(const char *head, char c, size_t n, const char *tail)
{
	char	*s;
	size_t	 hl = strlen(head), tl = strlen(tail);

	if ((s = malloc(hl + n + tl + 1)) == NULL)
		abort();
	memcpy(s, head, hl);
	memset(s + hl, c, n);
	memcpy(s + hl + n, tail, tl + 1);
	return s;
}

static void
expect(const char *file, size_t len, int want_errno, const char *what)
{
	struct aliastab	 t;
	const char	*err = NULL;
	size_t		 line;
	int		 r;

	r = alias_parse(file, len, &t, &line, &err);
	if (want_errno == 0) {
		if (!tap_ok(r == 0, "accepts %s", what))
			tap_diag("%s", err);
		else
			alias_free(&t);
		return;
	}
	if (tap_ok(r == -1, "refuses %s", what))
		tap_is_int(errno, want_errno, "errno for %s", what);
	else
		alias_free(&t);
}

static void
test_limits(void)
{
	char	*s;

	s = many_targets(ALIAS_TARGETS_MAX, ",\n ");
	expect(s, strlen(s), 0, "ALIAS_TARGETS_MAX targets");
	free(s);
	s = many_targets(ALIAS_TARGETS_MAX + 1, ",\n ");
	expect(s, strlen(s), E2BIG, "one target too many");
	free(s);
	s = many_targets(900, ",");
	expect(s, strlen(s), E2BIG, "a physical line over ALIAS_LINE_MAX");
	free(s);
	s = repeat("a: \"|", 'x', ALIAS_TARGET_MAX - 1, "\"\n");
	expect(s, strlen(s), 0, "a target of ALIAS_TARGET_MAX bytes");
	free(s);
	s = repeat("a: \"|", 'x', ALIAS_TARGET_MAX, "\"\n");
	expect(s, strlen(s), E2BIG, "a target over ALIAS_TARGET_MAX");
	free(s);
	s = repeat("", 'n', ALIAS_NAME_MAX, ": b\n");
	expect(s, strlen(s), 0, "a name of ALIAS_NAME_MAX bytes");
	free(s);
	s = repeat("", 'n', ALIAS_NAME_MAX + 1, ": b\n");
	expect(s, strlen(s), E2BIG, "a name over ALIAS_NAME_MAX");
	free(s);
	expect("a: b\0c\n", 7, EINVAL, "a NUL byte");
	expect("", 0, 0, "an empty file");
}

static void
test_entry_max(void)
{
	char	*s;
	size_t	 i, len = 0, cap = ALIAS_ENTRY_MAX + 8192;

	/* 900 targets of 80 bytes on continuation lines: over 64 KiB. */
	if ((s = malloc(cap)) == NULL)
		abort();
	len = strlcpy(s, "big: ", cap);
	for (i = 0; i < 900; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%070zu@x.test",
		    i ? ",\n " : "", i);
	expect(s, len, E2BIG, "an entry over ALIAS_ENTRY_MAX");
	free(s);
}

static void
test_lookup(void)
{
	struct aliastab	 t;
	const char	*err;
	const char	*f = "b: x\na: y\nc@d.test: z\n";
	size_t		 line;

	if (!tap_ok(alias_parse(f, strlen(f), &t, &line, &err) == 0,
	    "table for lookups parses"))
		return;
	tap_ok(alias_lookup(&t, "a") != NULL && alias_lookup(&t, "b") != NULL,
	    "lookup finds every entry after sorting");
	tap_ok(alias_lookup(&t, "d") == NULL, "lookup of an absent name");
	tap_ok(alias_lookup(&t, "c") == NULL, "local@domain entry is not "
	    "found by its local part");
	tap_ok(alias_lookup(&t, "C@D.TEST") != NULL, "local@domain lookup "
	    "ignores case");
	tap_is_int((long long)alias_lookup(&t, "b")->lineno, 1,
	    "entries remember their line");
	alias_free(&t);
	alias_free(&t);
	tap_ok(t.n == 0, "alias_free twice is safe");
}

/* Forward-file lines. */
static const struct {
	const char	*line;
	const char	*home;
	const char	*domain;
	int		 rv;
	enum fwd_kind	 kind;
	const char	*text;
} fwd[] = {
	{ "", "/h", "d.test", 0, FWD_SKIP, "" },
	{ "   ", "/h", "d.test", 0, FWD_SKIP, "" },
	{ "# comment", "/h", "d.test", 0, FWD_SKIP, "" },
	{ "|/usr/bin/procmail -f-", "/h", "d.test", 0, FWD_PIPE,
	  "/usr/bin/procmail -f-" },
	{ "| cat", "/h", "d.test", 0, FWD_PIPE, "cat" },
	{ "\"|/usr/bin/procmail\"", "/h", "d.test", 0, FWD_PIPE,
	  "/usr/bin/procmail" },
	{ "./Maildir/", "/home/u", "d.test", 0, FWD_MAILDIR,
	  "/home/u/./Maildir/" },
	{ "Mail/lists/", "/home/u/", "d.test", 0, FWD_MAILDIR,
	  "/home/u/Mail/lists/" },
	{ "Maildir/", "/", "d.test", 0, FWD_MAILDIR, "/Maildir/" },
	{ "/var/mail/x/", "/h", "d.test", 0, FWD_MAILDIR, "/var/mail/x/" },
	{ "bob@Example.ORG", "/h", "d.test", 0, FWD_ADDR, "bob@example.org" },
	{ "  bob@x.test  ", "/h", "d.test", 0, FWD_ADDR, "bob@x.test" },
	{ "bob", "/h", "d.test", 0, FWD_ADDR, "bob@d.test" },
	{ "bob", "/h", NULL, -1, FWD_SKIP, "" },
	{ "Maildir/", NULL, "d.test", -1, FWD_SKIP, "" },
	{ "/var/mail/x", "/h", "d.test", -1, FWD_SKIP, "" },
	{ "./mbox", "/h", "d.test", -1, FWD_SKIP, "" },
	{ "|", "/h", "d.test", -1, FWD_SKIP, "" },
	{ "|  ", "/h", "d.test", -1, FWD_SKIP, "" },
	{ "a b c", "/h", "d.test", -1, FWD_SKIP, "" },
	{ "bob@", "/h", "d.test", -1, FWD_SKIP, "" },
	{ "|cat\x01", "/h", "d.test", -1, FWD_SKIP, "" },
	{ "\\bob", "/h", "d.test", -1, FWD_SKIP, "" },
};

static void
test_forward(void)
{
	struct fwd_target	 t;
	const char		*err = NULL;
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++) {
		r = fwd_parse_target(fwd[i].line, strlen(fwd[i].line),
		    fwd[i].home, fwd[i].domain, &t, &err);
		if (!tap_is_int(r, fwd[i].rv, "forward line \"%s\" %s",
		    fwd[i].line, fwd[i].rv ? "refused" : "accepted"))
			continue;
		if (r == 0) {
			tap_is_int(t.kind, fwd[i].kind, "kind of \"%s\"",
			    fwd[i].line);
			tap_is_str(t.text, fwd[i].text, "text of \"%s\"",
			    fwd[i].line);
		}
	}
}

static void
test_forward_limits(void)
{
	struct fwd_target	 t;
	const char		*err;
	char			*s;

	s = repeat("|", 'x', ALIAS_TARGET_MAX, "");
	tap_ok(fwd_parse_target(s, strlen(s), "/h", "d", &t, &err) == 0,
	    "a command of ALIAS_TARGET_MAX bytes is accepted");
	free(s);
	s = repeat("|", 'x', ALIAS_TARGET_MAX + 1, "");
	tap_ok(fwd_parse_target(s, strlen(s), "/h", "d", &t, &err) == -1 &&
	    errno == ENAMETOOLONG, "a longer command is refused");
	free(s);
	s = repeat("", 'x', ALIAS_TARGET_MAX - 3, "/");
	tap_ok(fwd_parse_target(s, strlen(s), "/h", "d", &t, &err) == -1 &&
	    errno == ENAMETOOLONG, "home plus a relative path too long");
	free(s);
	tap_ok(fwd_parse_target("|a\0b", 4, "/h", "d", &t, &err) == -1,
	    "a NUL byte in a line is refused");
}

int
main(void)
{
	test_good();
	test_bad();
	test_limits();
	test_entry_max();
	test_lookup();
	test_forward();
	test_forward_limits();
	return tap_done();
}
