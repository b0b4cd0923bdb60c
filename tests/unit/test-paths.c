/* test-paths: compiled-in paths, trusted overrides, path joining. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"
#include "priv.h"
#include "tap.h"

struct env_case {
	const char	*name;
	const char	*value;		/* NULL: unset */
	bool		 taken;		/* the value wins over the default */
};

static char too_long[PATH_MAX + 2];

static const struct env_case env_cases[] = {
	{ "unset variable gives the default", NULL, false },
	{ "absolute path is taken", "/srv/tern/x", true },
	{ "relative path is ignored", "srv/tern", false },
	{ "empty value is ignored", "", false },
	{ "over-long path is ignored", too_long, false },
};

struct which {
	const char	*var;
	const char	*def;
	const char	*(*fn)(void);
};

static const struct which whiches[] = {
	{ "TERN_CONTROL", TERN_CONTROLDIR, paths_control },
	{ "TERN_SPOOL", TERN_SPOOLDIR, paths_spool },
	{ "TERN_LIBEXEC", TERN_LIBEXECDIR, paths_libexec },
};

static void
test_env(void)
{
	const struct env_case *c;
	const struct which *w;
	size_t i, j;

	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[0] = '/';
	for (j = 0; j < sizeof(whiches) / sizeof(whiches[0]); j++) {
		w = &whiches[j];
		for (i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
			c = &env_cases[i];
			if (c->value != NULL)
				setenv(w->var, c->value, 1);
			else
				unsetenv(w->var);
			tap_is_str(w->fn(), c->taken ? c->value : w->def,
			    "%s: %s", w->var, c->name);
		}
		unsetenv(w->var);
	}
}

struct user_case {
	const char	*name;
	const char	*value;
	const char	*want;
};

static const struct user_case user_cases[] = {
	{ "queue user defaults to the compiled-in name", NULL,
	    TERN_QUEUEUSER },
	{ "TERN_QUEUEUSER is taken", "nobody", "nobody" },
	{ "empty TERN_QUEUEUSER is ignored", "", TERN_QUEUEUSER },
	{ "a user name with '/' is ignored", "a/b", TERN_QUEUEUSER },
	{ "a user name with ':' is ignored", "a:b", TERN_QUEUEUSER },
	{ "an over-long user name is ignored",
	    "u123456789012345678901234567890123456789012345678901234567890123",
	    TERN_QUEUEUSER },
};

static void
test_queue_user(void)
{
	const struct user_case *c;
	size_t i;

	tap_is_str(TERN_QUEUEUSER, "ternq", "the Makefile's default is ternq");
	for (i = 0; i < sizeof(user_cases) / sizeof(user_cases[0]); i++) {
		c = &user_cases[i];
		if (c->value != NULL)
			setenv("TERN_QUEUEUSER", c->value, 1);
		else
			unsetenv("TERN_QUEUEUSER");
		tap_is_str(paths_queue_user(), c->want, "%s", c->name);
	}
	unsetenv("TERN_QUEUEUSER");
}

struct join_case {
	const char	*name;
	const char	*dir, *file;
	size_t		 outsz;
	int		 want_ret;
	const char	*want;
};

static const struct join_case join_cases[] = {
	{ "join with a slash", "/etc/tern", "me", 64, 0, "/etc/tern/me" },
	{ "no double slash after a trailing one", "/etc/tern/", "me", 64, 0,
	    "/etc/tern/me" },
	{ "root directory", "/", "x", 64, 0, "/x" },
	{ "exact fit", "/a", "b", 5, 0, "/a/b" },
	{ "one byte short", "/a", "bc", 5, -1, "" },
	{ "size zero", "/a", "b", 0, -1, NULL },
};

static void
test_join(void)
{
	const struct join_case *c;
	char out[64];
	size_t i;
	int r;

	for (i = 0; i < sizeof(join_cases) / sizeof(join_cases[0]); i++) {
		c = &join_cases[i];
		strlcpy(out, "untouched", sizeof(out));
		errno = 0;
		r = paths_join(out, c->outsz, c->dir, c->file);
		tap_ok(r == c->want_ret && (r == 0 || errno == ENAMETOOLONG),
		    "%s: returns %d", c->name, c->want_ret);
		tap_is_str(out, c->want != NULL ? c->want : "untouched",
		    "%s: result", c->name);
	}
}

/*
 * In the set-id copy: report what the library decided, one line.  _exit
 * skips LeakSanitizer, which cannot run in a set-id process.
 */
static int
secure_child(void)
{
	printf("%d %s %s %s %s\n", priv_env_trusted(), paths_control(),
	    paths_spool(), paths_libexec(), paths_queue_user());
	fflush(stdout);
	_exit(0);
}

static bool
copy_self(const char *to)
{
	char b[65536];
	ssize_t n;
	int in, out;
	bool ok = true;

	if ((in = open("/proc/self/exe", O_RDONLY)) == -1)
		return false;
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0700)) == -1) {
		close(in);
		return false;
	}
	while ((n = read(in, b, sizeof(b))) > 0)
		if (write(out, b, (size_t)n) != n)
			ok = false;
	close(in);
	return close(out) == 0 && n == 0 && ok;
}

/* Run the set-id copy as ruid, with hostile variables; read its line. */
static bool
run_setid(const char *prog, uid_t ruid, gid_t rgid, char *out, size_t outsz)
{
	pid_t pid;
	ssize_t n;
	int p[2], st;

	if (pipe(p) == -1)
		return false;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		setenv("TERN_CONTROL", "/evil/control", 1);
		setenv("TERN_SPOOL", "/evil/spool", 1);
		setenv("TERN_LIBEXEC", "/evil/libexec", 1);
		setenv("TERN_QUEUEUSER", "evil", 1);
		if (setgroups(1, &rgid) == -1 ||
		    setresgid(rgid, rgid, rgid) == -1 ||
		    setresuid(ruid, ruid, ruid) == -1)
			_exit(1);
		execl(prog, prog, "secure-child", (char *)NULL);
		_exit(1);
	}
	close(p[1]);
	n = read(p[0], out, outsz - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0 && n > 0;
}

/*
 * A set-user-ID program must ignore the environment unless its real uid
 * is 0: run a set-user-ID copy of this test with hostile variables.
 */
static void
test_setid(void)
{
	char dir[] = "/tmp/test-paths.XXXXXX", prog[PATH_MAX], got[1024];
	char want[1024];
	struct passwd *pw;

	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL) {
		tap_diag("not root: set-id cases skipped");
		return;
	}
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1)
		return;
	snprintf(prog, sizeof(prog), "%s/t", dir);
	if (!copy_self(prog) || chmod(prog, 04755) == -1) {
		tap_ok(false, "set-id copy of the test");
		goto out;
	}
	snprintf(want, sizeof(want), "0 %s %s %s %s\n", TERN_CONTROLDIR,
	    TERN_SPOOLDIR, TERN_LIBEXECDIR, TERN_QUEUEUSER);
	tap_ok(run_setid(prog, pw->pw_uid, pw->pw_gid, got, sizeof(got)),
	    "set-uid-root copy runs as nobody");
	tap_is_str(got, want,
	    "set-uid program run by a user ignores TERN_* variables");

	if (chown(prog, pw->pw_uid, pw->pw_gid) == -1 ||
	    chmod(prog, 04755) == -1)
		goto out;
	tap_ok(run_setid(prog, 0, 0, got, sizeof(got)),
	    "set-uid-nobody copy runs as root");
	tap_is_str(got, "1 /evil/control /evil/spool /evil/libexec evil\n",
	    "a set-uid program run by root trusts the environment");
out:
	unlink(prog);
	rmdir(dir);
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "secure-child") == 0)
		return secure_child();
	tap_ok(priv_env_trusted(), "a plain process trusts its environment");
	test_env();
	test_queue_user();
	test_join();
	test_setid();
	return tap_done();
}
