/* test-priv: user lookup, environment trust and the privilege drop. */
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"
#include "tap.h"

struct user_case {
	const char	*name;
	const char	*user;
	int		 want_ret;
};

static const struct user_case user_cases[] = {
	{ "root exists", "root", 1 },
	{ "nobody exists", "nobody", 1 },
	{ "an unknown user is absent", "no-such-tern-user-x", 0 },
	{ "the empty name is absent", "", 0 },
};

static void
test_user(void)
{
	const struct user_case *c;
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	size_t i;
	int r;

	for (i = 0; i < sizeof(user_cases) / sizeof(user_cases[0]); i++) {
		c = &user_cases[i];
		uid = 4242;
		gid = 4242;
		r = priv_user(c->user, &uid, &gid);
		tap_is_int(r, c->want_ret, "%s", c->name);
		if (r != 1) {
			tap_ok(uid == 4242 && gid == 4242,
			    "%s: outputs untouched", c->name);
			continue;
		}
		pw = getpwnam(c->user);
		tap_ok(pw != NULL && pw->pw_uid == uid && pw->pw_gid == gid,
		    "%s: uid and gid match getpwnam", c->name);
	}
}

/* Not root: a "drop" to our own ids is a no-op, anything else EPERM. */
static void
test_unprivileged(void)
{
	int r;

	if (geteuid() == 0)
		return;
	tap_is_int(priv_drop(getuid(), getgid()), 0,
	    "unprivileged drop to our own ids does nothing and succeeds");
	errno = 0;
	r = priv_drop(getuid() + 1, getgid());
	tap_ok(r == -1 && errno == EPERM,
	    "unprivileged drop to another uid fails with EPERM");
	errno = 0;
	r = priv_drop(getuid(), getgid() + 1);
	tap_ok(r == -1 && errno == EPERM,
	    "unprivileged drop to another gid fails with EPERM");
	errno = 0;
	r = priv_drop(0, 0);
	tap_ok(r == -1 && errno == EPERM,
	    "unprivileged drop to root fails with EPERM");
}

/* Bits a child reports in its exit status. */
#define CHK_RET		0x01	/* priv_drop returned 0 */
#define CHK_UIDS	0x02	/* real, effective, saved uid are the target */
#define CHK_GIDS	0x04	/* and the gids */
#define CHK_GROUPS	0x08	/* supplementary groups: just the gid */
#define CHK_NOROOT	0x10	/* uid (and gid unless 0) 0 cannot return */
#define CHK_ALL		0x1f

static int
drop_child(uid_t uid, gid_t gid)
{
	gid_t extra[3] = { 0, 1, 2 }, groups[8];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int bits = 0, n;

	/* Start with supplementary groups that the drop must remove. */
	(void)setgroups(3, extra);
	if (priv_drop(uid, gid) == 0)
		bits |= CHK_RET;
	if (getresuid(&ru, &eu, &su) == 0 && ru == uid && eu == uid &&
	    su == uid)
		bits |= CHK_UIDS;
	if (getresgid(&rg, &eg, &sg) == 0 && rg == gid && eg == gid &&
	    sg == gid)
		bits |= CHK_GIDS;
	n = getgroups(8, groups);
	if (n == 1 && groups[0] == gid)
		bits |= CHK_GROUPS;
	if (setuid(0) == -1 && seteuid(0) == -1 &&
	    (gid == 0 || setgid(0) == -1))
		bits |= CHK_NOROOT;
	return bits;
}

static int
in_child(int (*fn)(uid_t, gid_t), uid_t uid, gid_t gid)
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0)
		_exit(fn(uid, gid));
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int
drop_root_child(uid_t uid, gid_t gid)
{
	errno = 0;
	if (priv_drop(uid, gid) == -1 && errno == EPERM && geteuid() == 0)
		return 0;
	return 1;
}

/* Root: drop in a forked child and check every id from the inside. */
static void
test_root(void)
{
	uid_t uid;
	gid_t gid;
	int bits;

	if (geteuid() != 0) {
		tap_diag("not root: drop cases as root skipped");
		return;
	}
	tap_ok(priv_is_root(), "root: priv_is_root is true");
	if (priv_user("nobody", &uid, &gid) != 1) {
		tap_ok(false, "root: user nobody");
		return;
	}
	bits = in_child(drop_child, uid, gid);
	tap_ok(bits >= 0 && (bits & CHK_RET), "root: drop to nobody succeeds");
	tap_ok(bits >= 0 && (bits & CHK_UIDS),
	    "root: real, effective and saved uid are nobody's");
	tap_ok(bits >= 0 && (bits & CHK_GIDS),
	    "root: real, effective and saved gid are nobody's");
	tap_ok(bits >= 0 && (bits & CHK_GROUPS),
	    "root: supplementary groups are only nobody's gid");
	tap_ok(bits >= 0 && (bits & CHK_NOROOT),
	    "root: after the drop root cannot come back");
	tap_is_int(in_child(drop_root_child, 0, 0), 0,
	    "root: a drop to uid 0 is refused with EPERM and changes nothing");
	bits = in_child(drop_child, 12345, 23456);
	tap_is_int(bits, CHK_ALL,
	    "root: drop to ids without a passwd entry works");
	bits = in_child(drop_child, 12345, 0);
	tap_is_int(bits, CHK_ALL, "root: drop to a user in group 0 works");
}

int
main(void)
{
	tap_ok(priv_is_root() == (geteuid() == 0),
	    "priv_is_root follows the effective uid");
	tap_ok(priv_env_trusted(), "a plain process trusts its environment");
	test_user();
	test_unprivileged();
	test_root();
	return tap_done();
}
