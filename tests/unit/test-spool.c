/* test-spool: envelope files: parse, format, mark (tern-spool(5)). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec.h"
#include "spool.h"
#include "tap.h"

#define QID	"1lgfnc4rsi7lhvrm"
#define HEAD	"V1\0I" QID "\0t1795677572\0"

/* A literal with embedded NULs: its bytes without the string's own NUL. */
#define ENV(s)	{ s, sizeof(s) - 1 }

struct envcase {
	const char	*name;
	struct {
		const char *data;
		size_t	 len;
	} in;
	size_t		 nrcpt;		/* good cases */
	const char	*why;		/* bad cases: errstr substring */
};

static const struct envcase good[] = {
	{ "minimal envelope parses", ENV(HEAD "Fa@b\0Tc@d\0\0"), 1, NULL },
	{ "null sender is allowed", ENV(HEAD "F\0Tc@d\0\0"), 1, NULL },
	{ "uid record is optional and kept",
	    ENV(HEAD "u1000\0Fa@b\0Tc@d\0\0"), 1, NULL },
	{ "E and R records before recipients",
	    ENV(HEAD "Fa@b\0Exyz\0RHDRS\0Tc@d\0\0"), 1, NULL },
	{ "R before E is accepted", ENV(HEAD "F\0RFULL\0Exyz\0Tc@d\0\0"), 1,
	    NULL },
	{ "N and O in a group", ENV(HEAD "Fa@b\0NSUCCESS,DELAY\0"
	    "Orfc822;c@d\0Tc@d\0Te@f\0\0"), 2, NULL },
	{ "NEVER notify", ENV(HEAD "Fa@b\0NNEVER\0Tc@d\0\0"), 1, NULL },
	{ "done and failed states", ENV(HEAD "Fa@b\0Dc@d\0Be@f\0Tg@h\0\0"),
	    3, NULL },
	{ "in-progress state P", ENV(HEAD "Fa@b\0Pc@d\0NNEVER\0Pe@f\0\0"),
	    2, NULL },
	{ "time zero", ENV("V1\0I" QID "\0t0\0Fa@b\0Tc@d\0\0"), 1, NULL },
};

static const struct envcase bad[] = {
	{ "empty input", ENV(""), 0, "missing final" },
	{ "no version first", ENV("I" QID "\0t1\0Fa@b\0Tc@d\0\0"), 0,
	    "version" },
	{ "version 2 is refused", ENV("V2\0I" QID "\0t1\0Fa@b\0Tc@d\0\0"), 0,
	    "version" },
	{ "bad queue id", ENV("V1\0Ixyz\0t1\0Fa@b\0Tc@d\0\0"), 0, "queue id" },
	{ "time not decimal", ENV("V1\0I" QID "\0t12a\0Fa@b\0Tc@d\0\0"), 0,
	    "time" },
	{ "negative time", ENV("V1\0I" QID "\0t-1\0Fa@b\0Tc@d\0\0"), 0,
	    "time" },
	{ "time with leading zero", ENV("V1\0I" QID "\0t01\0Fa@b\0Tc@d\0\0"),
	    0, "time" },
	{ "time overflow", ENV("V1\0I" QID "\0t99999999999999999999\0Fa@b\0"
	    "Tc@d\0\0"), 0, "time" },
	{ "uid not decimal", ENV(HEAD "u-1\0Fa@b\0Tc@d\0\0"), 0, "uid" },
	{ "missing sender", ENV(HEAD "Tc@d\0\0"), 0, "sender" },
	{ "two senders", ENV(HEAD "Fa@b\0Fa@b\0Tc@d\0\0"), 0, "sender" },
	{ "unknown record", ENV(HEAD "Fa@b\0Xfoo\0Tc@d\0\0"), 0,
	    "unknown record" },
	{ "header record later", ENV(HEAD "Fa@b\0u5\0Tc@d\0\0"), 0,
	    "misplaced" },
	{ "zero recipients", ENV(HEAD "Fa@b\0\0"), 0, "no recipients" },
	{ "no final empty record", ENV(HEAD "Fa@b\0Tc@d\0"), 0,
	    "missing final" },
	{ "last record without NUL", ENV(HEAD "Fa@b\0Tc@d"), 0, "NUL" },
	{ "data after the end", ENV(HEAD "Fa@b\0Tc@d\0\0Te@f\0"), 0,
	    "after the final" },
	{ "CR in an address", ENV(HEAD "Fa@b\0Tc\r@d\0\0"), 0, "CR or LF" },
	{ "LF in the sender", ENV(HEAD "Fa\n@b\0Tc@d\0\0"), 0, "CR or LF" },
	{ "empty recipient", ENV(HEAD "Fa@b\0T\0\0"), 0, "empty recipient" },
	{ "bad state byte", ENV(HEAD "Fa@b\0Zc@d\0\0"), 0, "unknown record" },
	{ "E after a recipient", ENV(HEAD "Fa@b\0Tc@d\0Exyz\0\0"), 0,
	    "ENVID or RET record after a recipient" },
	{ "R after a recipient", ENV(HEAD "Fa@b\0Tc@d\0RFULL\0\0"), 0,
	    "after a recipient" },
	{ "E before the sender", ENV(HEAD "Exyz\0Fa@b\0Tc@d\0\0"), 0,
	    "sender record missing" },
	{ "repeated E", ENV(HEAD "Fa@b\0Ex\0Ey\0Tc@d\0\0"), 0, "ENVID" },
	{ "empty E", ENV(HEAD "Fa@b\0E\0Tc@d\0\0"), 0, "ENVID" },
	{ "bad RET", ENV(HEAD "Fa@b\0RALL\0Tc@d\0\0"), 0, "RET" },
	{ "lower-case RET", ENV(HEAD "Fa@b\0Rfull\0Tc@d\0\0"), 0, "RET" },
	{ "bad NOTIFY word", ENV(HEAD "Fa@b\0NSOMETIMES\0Tc@d\0\0"), 0,
	    "NOTIFY" },
	{ "NEVER combined", ENV(HEAD "Fa@b\0NNEVER,DELAY\0Tc@d\0\0"), 0,
	    "NOTIFY" },
	{ "repeated NOTIFY word", ENV(HEAD "Fa@b\0NDELAY,DELAY\0Tc@d\0\0"), 0,
	    "NOTIFY" },
	{ "empty NOTIFY item", ENV(HEAD "Fa@b\0NDELAY,\0Tc@d\0\0"), 0,
	    "NOTIFY" },
	{ "O before N", ENV(HEAD "Fa@b\0Orfc822;x\0NNEVER\0Tc@d\0\0"), 0,
	    "NOTIFY" },
	{ "ORCPT without type", ENV(HEAD "Fa@b\0Ox@y\0Tc@d\0\0"), 0,
	    "ORCPT" },
	{ "N without a recipient", ENV(HEAD "Fa@b\0Tc@d\0NNEVER\0\0"), 0,
	    "without a recipient" },
	{ "unknown state byte Q", ENV(HEAD "Fa@b\0Qc@d\0\0"), 0,
	    "unknown record" },
};

static void
test_table(void)
{
	struct spool_env env;
	const char *why;
	size_t i;
	int r;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		r = spool_env_parse(good[i].in.data, good[i].in.len, &env,
		    &why);
		if (!tap_ok(r == 0, "%s", good[i].name))
			tap_diag("errstr: %s", r == -1 ? why : "");
		else
			tap_is_int((long long)env.nrcpt,
			    (long long)good[i].nrcpt, "%s: recipient count",
			    good[i].name);
		spool_env_free(&env);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		r = spool_env_parse(bad[i].in.data, bad[i].in.len, &env, &why);
		tap_ok(r == -1 && errno == EINVAL && why != NULL &&
		    strstr(why, bad[i].why) != NULL, "refused: %s (%s)",
		    bad[i].name, why != NULL ? why : "accepted");
		spool_env_free(&env);
	}
}

static void
test_fields(void)
{
	static const char in[] = HEAD "u42\0Fa@b\0Eenv1\0RFULL\0"
	    "NSUCCESS\0Orfc822;c@d\0Tc@d\0De@f\0\0";
	struct spool_env env;
	const char *why;

	if (!tap_ok(spool_env_parse(in, sizeof(in) - 1, &env, &why) == 0,
	    "full envelope parses")) {
		spool_env_free(&env);
		return;
	}
	tap_is_str(env.id, QID, "queue id is read");
	tap_is_int((long long)env.arrival, 1795677572LL, "arrival is read");
	tap_is_int(env.uid, 42, "uid is read");
	tap_is_str(env.sender, "a@b", "sender is read");
	tap_is_str(env.envid, "env1", "ENVID is read");
	tap_is_str(env.ret, "FULL", "RET is read");
	tap_is_str(env.rcpt[0].notify, "SUCCESS", "NOTIFY binds to its T");
	tap_is_str(env.rcpt[0].orcpt, "rfc822;c@d", "ORCPT binds to its T");
	tap_ok(env.rcpt[1].notify == NULL && env.rcpt[1].orcpt == NULL,
	    "next recipient has no NOTIFY or ORCPT");
	tap_ok(in[env.rcpt[0].state_off] == 'T' &&
	    strcmp(in + env.rcpt[0].state_off + 1, "c@d") == 0,
	    "state offset of recipient 0 points at its T");
	tap_ok(in[env.rcpt[1].state_off] == 'D' &&
	    env.rcpt[1].state == SPOOL_DONE, "state D is read");
	tap_ok(!spool_env_finished(&env), "a T recipient is not finished");
	spool_env_free(&env);
}

/* A buffer of n recipient records (each "Tr<i>@x") after HEAD "F". */
static int
many(struct buf *b, size_t n, size_t addrlen)
{
	char a[600];
	size_t i;

	buf_init(b, SPOOL_ENV_MAX);
	if (buf_append(b, HEAD "F\0", sizeof(HEAD "F\0") - 1) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		memset(a, 'x', sizeof(a));
		(void)snprintf(a, sizeof(a), "r%zu@", i);
		a[strlen(a)] = 'x';
		a[addrlen] = '\0';
		if (rec_put_tag(b, 'T', a) == -1)
			return -1;
	}
	return buf_appendc(b, '\0');
}

static void
test_limits(void)
{
	struct spool_env env;
	struct buf b;
	const char *why;

	tap_ok(many(&b, SPOOL_RCPT_MAX, 10) == 0 &&
	    spool_env_parse(b.data, b.len, &env, &why) == 0 &&
	    env.nrcpt == SPOOL_RCPT_MAX, "SPOOL_RCPT_MAX recipients parse");
	spool_env_free(&env);
	buf_free(&b);
	why = "";
	tap_ok(many(&b, SPOOL_RCPT_MAX + 1, 10) == 0 &&
	    spool_env_parse(b.data, b.len, &env, &why) == -1 &&
	    strstr(why, "too many") != NULL, "one recipient more is refused");
	buf_free(&b);
	tap_ok(many(&b, 1, 256) == 0 &&
	    spool_env_parse(b.data, b.len, &env, &why) == 0,
	    "a 256-byte address parses");
	spool_env_free(&env);
	buf_free(&b);
	why = "";
	tap_ok(many(&b, 1, 257) == 0 &&
	    spool_env_parse(b.data, b.len, &env, &why) == -1 &&
	    strstr(why, "too long") != NULL, "a 257-byte address is refused");
	buf_free(&b);
}

static void
test_record_max(void)
{
	struct spool_env env;
	struct buf b;
	char e[SPOOL_REC_MAX + 2];
	const char *why;
	size_t n;
	int r;

	for (n = SPOOL_REC_MAX - 1; n <= SPOOL_REC_MAX; n++) {
		buf_init(&b, SPOOL_ENV_MAX);
		memset(e, 'e', sizeof(e));
		e[n] = '\0';
		why = "";
		(void)buf_append(&b, HEAD "F\0", sizeof(HEAD "F\0") - 1);
		(void)rec_put_tag(&b, 'E', e);
		(void)buf_append(&b, "Ta@b\0\0", 6);
		r = spool_env_parse(b.data, b.len, &env, &why);
		if (n < SPOOL_REC_MAX)
			tap_ok(r == 0, "a record of SPOOL_REC_MAX parses");
		else
			tap_ok(r == -1 && strstr(why, "too long") != NULL,
			    "a record over SPOOL_REC_MAX is refused");
		spool_env_free(&env);
		buf_free(&b);
	}
}

static void
test_round_trip(void)
{
	struct spool_rcpt r[3] = {
		{ "c@d", "SUCCESS,FAILURE", "rfc822;c@d", 0, SPOOL_TODO },
		{ "e@f", NULL, NULL, 0, SPOOL_DONE },
		{ "\"a b\"@g", "NEVER", NULL, 0, SPOOL_FAILED },
	};
	struct spool_env in, out;
	struct buf b, b2;
	const char *why = "";
	size_t i;

	memset(&in, 0, sizeof(in));
	memcpy(in.id, QID, sizeof(in.id));
	in.arrival = 1795677572;
	in.uid = 1000;
	in.sender = "";
	in.envid = "abc+2Bdef";
	in.ret = "HDRS";
	in.rcpt = r;
	in.nrcpt = 3;
	buf_init(&b, SPOOL_ENV_MAX);
	buf_init(&b2, SPOOL_ENV_MAX);
	tap_ok(spool_env_format(&in, &b) == 0, "format succeeds");
	tap_ok(spool_env_parse(b.data, b.len, &out, &why) == 0,
	    "formatted envelope parses (%s)", why);
	tap_ok(out.nrcpt == 3 && out.uid == 1000 && out.arrival == in.arrival &&
	    strcmp(out.sender, "") == 0 && strcmp(out.envid, in.envid) == 0 &&
	    strcmp(out.ret, "HDRS") == 0, "header fields survive the trip");
	for (i = 0; i < 3 && out.nrcpt == 3; i++)
		tap_ok(strcmp(out.rcpt[i].addr, r[i].addr) == 0 &&
		    out.rcpt[i].state == r[i].state &&
		    (r[i].notify == NULL ? out.rcpt[i].notify == NULL :
		    strcmp(out.rcpt[i].notify, r[i].notify) == 0) &&
		    (r[i].orcpt == NULL ? out.rcpt[i].orcpt == NULL :
		    strcmp(out.rcpt[i].orcpt, r[i].orcpt) == 0),
		    "recipient %zu survives the trip", i);
	tap_ok(spool_env_format(&out, &b2) == 0 && b2.len == b.len &&
	    memcmp(b.data, b2.data, b.len) == 0,
	    "format of the parsed envelope gives the same bytes");
	tap_ok(!spool_env_finished(&out), "a T recipient: not finished");
	spool_env_free(&out);
	buf_free(&b2);
	r[0].addr = "c\n@d";
	tap_ok(spool_env_format(&in, &b2) == -1 && errno == EINVAL &&
	    b2.len == 0, "format refuses an LF and writes nothing");
	r[0].addr = "c@d";
	r[1].state = 'x';
	tap_ok(spool_env_format(&in, &b2) == -1 && errno == EINVAL,
	    "format refuses a bad state");
	buf_free(&b);
	buf_free(&b2);
}

static int
write_file(const char *path, const void *data, size_t len)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void
test_mark(const char *dir)
{
	static const char in[] = HEAD "Fa@b\0NNEVER\0Tc@d\0Te@f\0\0";
	struct spool_env env, env2;
	const char *why = "";
	char path[PATH_MAX];

	(void)snprintf(path, sizeof(path), "%s/env", dir);
	(void)mkdir(path, 0700);
	(void)snprintf(path, sizeof(path), "%s/env/" QID, dir);
	tap_ok(write_file(path, in, sizeof(in) - 1) == 0, "envelope written");
	tap_is_int(spool_env_read(dir, NULL, QID, &env, &why), 1,
	    "spool_env_read finds env/<id>");
	if (env.nrcpt != 2) {
		tap_ok(false, "two recipients read (%s)", why);
		return;
	}
	tap_is_int(spool_mark_nosync(dir, QID, env.rcpt[1].state_off,
	    SPOOL_BUSY), 1, "mark recipient 1 in progress without fsync");
	tap_is_int(spool_mark_nosync(dir, QID, env.rcpt[0].state_off,
	    SPOOL_BUSY), 1, "mark recipient 0 in progress");
	tap_is_int(spool_env_read(dir, SPOOL_ENV, QID, &env2, &why), 1,
	    "an envelope with P recipients parses");
	tap_ok(env2.nrcpt == 2 && env2.rcpt[0].state == SPOOL_BUSY &&
	    env2.rcpt[1].state == SPOOL_BUSY &&
	    strcmp(env2.rcpt[1].addr, "e@f") == 0,
	    "state P is read back, addresses intact");
	tap_ok(!spool_env_finished(&env2), "P recipients: not finished");
	spool_env_free(&env2);
	tap_is_int(spool_mark_nosync(dir, QID, env.rcpt[0].state_off,
	    SPOOL_TODO), 1, "P goes back to T");
	tap_is_int(spool_mark(dir, QID, env.rcpt[1].state_off, SPOOL_DONE), 1,
	    "mark recipient 1 done (from P)");
	tap_is_int(spool_mark(dir, QID, env.rcpt[0].state_off, SPOOL_FAILED),
	    1, "mark recipient 0 failed");
	tap_is_int(spool_env_read(dir, SPOOL_ENV, QID, &env2, &why), 1,
	    "re-read after marking");
	tap_ok(env2.nrcpt == 2 && env2.rcpt[0].state == SPOOL_FAILED &&
	    env2.rcpt[1].state == SPOOL_DONE &&
	    strcmp(env2.rcpt[1].addr, "e@f") == 0 &&
	    strcmp(env2.rcpt[0].notify, "NEVER") == 0,
	    "marks are read back, addresses intact");
	tap_ok(spool_env_finished(&env2), "all D or B: finished");
	spool_env_free(&env2);
	errno = 0;
	tap_ok(spool_mark(dir, QID, env.rcpt[1].state_off + 1, SPOOL_DONE) ==
	    -1 && errno == EINVAL, "mark refuses an offset not at a state");
	tap_ok(spool_mark(dir, QID, env.rcpt[1].state_off, 'X') == -1,
	    "mark refuses an unknown state");
	tap_ok(spool_mark_nosync(dir, QID, env.rcpt[1].state_off + 1,
	    SPOOL_BUSY) == -1 && errno == EINVAL,
	    "mark_nosync refuses an offset not at a state");
	tap_ok(spool_mark(dir, QID, 1 << 20, SPOOL_DONE) == -1,
	    "mark refuses an offset past the end");
	tap_ok(spool_mark(dir, "../../etc/xx", 0, SPOOL_DONE) == -1 &&
	    errno == EINVAL, "mark refuses a bad queue id");
	spool_env_free(&env);
	tap_is_int(unlink(path), 0, "envelope removed");
	tap_is_int(spool_mark(dir, QID, 30, SPOOL_DONE), 0,
	    "mark of a vanished envelope returns 0");
	tap_is_int(spool_env_read(dir, NULL, QID, &env, &why), 0,
	    "read of a vanished envelope returns 0");
}

static void
test_read_checks(const char *dir)
{
	static const char in[] = "V1\0I1lgfnc4rsi7lhvrn\0t1\0Fa@b\0Tc@d\0\0";
	static const char junk[] = HEAD "Fa@b\0Tc@d\0";
	struct spool_env env;
	const char *why = "";
	char path[PATH_MAX], target[PATH_MAX];

	(void)snprintf(path, sizeof(path), "%s/env/" QID, dir);
	(void)write_file(path, in, sizeof(in) - 1);
	tap_ok(spool_env_read(dir, NULL, QID, &env, &why) == -1 &&
	    errno == EINVAL && strstr(why, "file name") != NULL,
	    "an envelope whose id differs from its name is refused");
	(void)write_file(path, junk, sizeof(junk) - 1);
	tap_ok(spool_env_read(dir, NULL, QID, &env, &why) == -1 &&
	    errno == EINVAL && strstr(why, "final") != NULL,
	    "a truncated envelope file is refused");
	(void)unlink(path);
	(void)snprintf(target, sizeof(target), "%s/target", dir);
	(void)write_file(target, "V1\0", 3);
	tap_ok(symlink(target, path) == 0 &&
	    spool_env_read(dir, NULL, QID, &env, &why) == -1 &&
	    errno == ELOOP, "a symlinked envelope is not followed");
	tap_ok(spool_mark(dir, QID, 0, SPOOL_DONE) == -1 && errno == ELOOP,
	    "mark does not follow a symlink");
	(void)unlink(path);
	(void)unlink(target);
}

int
main(void)
{
	char dir[] = "/tmp/test-spool.XXXXXX";
	char path[PATH_MAX];

	test_table();
	test_fields();
	test_limits();
	test_record_max();
	test_round_trip();
	if (mkdtemp(dir) == NULL) {
		tap_ok(false, "mkdtemp");
		return tap_done();
	}
	test_mark(dir);
	test_read_checks(dir);
	(void)snprintf(path, sizeof(path), "%s/env", dir);
	(void)rmdir(path);
	(void)rmdir(dir);
	return tap_done();
}
