/* test-uniq: queue ids and Maildir names. */
#include <sys/wait.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "uniq.h"

#define DRAWS	100000

struct valid_case {
	const char	*name;
	const char	*s;
	bool		 want;
};

static const struct valid_case valid_cases[] = {
	{ "16 base32 digits", "1kq3v0a00000abcd", true },
	{ "all zeros", "0000000000000000", true },
	{ "highest microsecond 999999", "0000000ughv00000", true },
	{ "microsecond 1000000 is not valid", "0000000ugi000000", false },
	{ "microsecond part vvvv is not valid", "0000000vvvv00000", false },
	{ "15 digits", "1kq3v0a00000abc", false },
	{ "17 digits", "1kq3v0a00000abcde", false },
	{ "empty", "", false },
	{ "upper case", "1KQ3V0A00000ABCD", false },
	{ "w is not base32hex", "1kq3v0a00000abcw", false },
	{ "slash", "1kq3v0a0000/abcd", false },
};

static void
test_valid(void)
{
	const struct valid_case *c;
	size_t i;

	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		c = &valid_cases[i];
		tap_ok(qid_valid(c->s) == c->want, "qid_valid: %s", c->name);
	}
	tap_is_int(qid_time("0000001000000000"), 1, "qid_time of 1 s");
	tap_is_int(qid_time("0000010000000000"), 32, "qid_time of 32 s");
	tap_is_int(qid_time("vvvvvvv000000000"), (1LL << 35) - 1,
	    "qid_time of the largest seconds part");
}

/* Strictly increasing as strings means both sorted and unique. */
static void
test_draws(void)
{
	static char ids[DRAWS][QID_LEN + 1];
	long long t0, t1;
	size_t i, bad_valid = 0, bad_order = 0;

	t0 = (long long)time(NULL);
	for (i = 0; i < DRAWS; i++) {
		qid_new(ids[i]);
		if (!qid_valid(ids[i]))
			bad_valid++;
		if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
			bad_order++;
	}
	t1 = (long long)time(NULL);
	tap_is_int((long long)bad_valid, 0, "%d new ids are all valid", DRAWS);
	tap_is_int((long long)bad_order, 0,
	    "%d ids in a row are unique and sort in draw order", DRAWS);
	tap_ok(qid_time(ids[0]) >= t0 && qid_time(ids[DRAWS - 1]) <= t1 + 1,
	    "the seconds part is the current time");
}

/* Two processes drawing at the same time never share an id. */
static void
test_fork(void)
{
	enum { N = 2000 };
	static char mine[N][QID_LEN + 1], theirs[N][QID_LEN + 1];
	size_t i, j, dup = 0;
	ssize_t n, got = 0;
	pid_t pid;
	int p[2];

	if (pipe(p) == -1)
		return;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		for (i = 0; i < N; i++)
			qid_new(theirs[i]);
		(void)write(p[1], theirs, sizeof(theirs));
		_exit(0);
	}
	close(p[1]);
	for (i = 0; i < N; i++)
		qid_new(mine[i]);
	while (got < (ssize_t)sizeof(theirs) && (n = read(p[0],
	    (char *)theirs + got, sizeof(theirs) - (size_t)got)) > 0)
		got += n;
	close(p[0]);
	waitpid(pid, NULL, 0);
	for (i = 0; i < N; i++)
		for (j = 0; j < N; j++)
			if (memcmp(mine[i], theirs[j], QID_LEN) == 0)
				dup++;
	tap_ok(got == (ssize_t)sizeof(theirs) && dup == 0,
	    "ids drawn by a parent and its forked child do not collide");
}

/* Check "<sec>.M<usec>P<pid>Q<count>R<16 hex>.<host>" and return host. */
static const char *
parse_maildir(const char *s, long *count_out)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (end == s || *end != '.' || v < time(NULL) - 5)
		return NULL;
	s = end + 1;
	if (*s++ != 'M' || (v = strtol(s, &end, 10)) < 0 || v > 999999 ||
	    *end != 'P')
		return NULL;
	s = end + 1;
	if (strtol(s, &end, 10) != (long)getpid() || *end != 'Q')
		return NULL;
	s = end + 1;
	*count_out = strtol(s, &end, 10);
	if (*end != 'R' || strspn(end + 1, "0123456789abcdef") != 16 ||
	    end[17] != '.')
		return NULL;
	return end + 18;
}

static void
test_maildir(void)
{
	char a[256], b[256], host[256], small[20];
	const char *ha, *hb;
	long ca = 0, cb = 0;
	int r;

	tap_is_int(uniq_maildir(a, sizeof(a)), 0, "maildir name: made");
	tap_is_int(uniq_maildir(b, sizeof(b)), 0, "maildir name: made again");
	ha = parse_maildir(a, &ca);
	hb = parse_maildir(b, &cb);
	tap_ok(ha != NULL && hb != NULL,
	    "maildir names have the form sec.MusecPpidQcountRhex.host");
	if (gethostname(host, sizeof(host)) == 0 && ha != NULL)
		tap_is_str(ha, host, "maildir name ends in the host name");
	tap_ok(strcmp(a, b) != 0 && cb == ca + 1,
	    "two names differ and the count goes up by one");
	errno = 0;
	r = uniq_maildir(small, sizeof(small));
	tap_ok(r == -1 && errno == ENAMETOOLONG && small[0] == '\0',
	    "a buffer too small fails with ENAMETOOLONG");
}

static const struct {
	const char	*what;
	const char	*name;
	const char	*key;
	bool		 has;
} keycases[] = {
	{ "in new/", "1.M2P3Q1Rab" "Kxyz" ".host", "xyz", true },
	{ "in cur/ with flags", "1.M2P3Q1Rab" "Kxyz" ".host:2,S", "xyz", true },
	{ "another key", "1.M2P3Q1Rab" "Kxyy" ".host", "xyz", false },
	{ "key without K", "1.M2P3Q1Rab" "xyz" ".host", "xyz", false },
	{ "key only a suffix of the K part", "1.M2Kaxyz.host", "xyz", false },
	{ "key in the host part only", "1.M2P3.Kxyz.h", "xyz", false },
	{ "no unique part end", "1.M2P3Kxyz", "xyz", false },
	{ "no dot at all", "Kxyz", "xyz", false },
	{ "name shorter than the key", "1.K.h", "xyz", false },
	{ "empty key", "1.M2K.h", "", false },
};

static void
test_key(void)
{
	char k1[UNIQ_KEY_LEN + 1], k2[UNIQ_KEY_LEN + 1], name[256], tiny[40];
	char big[UNIQ_KEY_MAX + 2];
	size_t i;
	int r;

	tap_is_int(uniq_key(k1, "1lgfnc4rsi7lhvrm", "a@b", "/m/"), 0,
	    "key: made");
	tap_ok(strlen(k1) == UNIQ_KEY_LEN &&
	    strncmp(k1, "1lgfnc4rsi7lhvrm", QID_LEN) == 0 &&
	    strspn(k1 + QID_LEN, "0123456789abcdef") == 16,
	    "key: queue id then 16 hex digits");
	(void)uniq_key(k2, "1lgfnc4rsi7lhvrm", "a@b", "/m/");
	tap_is_str(k2, k1, "key: the same inputs give the same key");
	(void)uniq_key(k2, "1lgfnc4rsi7lhvrm", "a@c", "/m/");
	tap_ok(strcmp(k1, k2) != 0, "key: another recipient, another key");
	(void)uniq_key(k2, "1lgfnc4rsi7lhvrm", "a@b", "/n/");
	tap_ok(strcmp(k1, k2) != 0, "key: another Maildir, another key");
	(void)uniq_key(k1, "1lgfnc4rsi7lhvrm", "ab", "c");
	(void)uniq_key(k2, "1lgfnc4rsi7lhvrm", "a", "bc");
	tap_ok(strcmp(k1, k2) != 0, "key: the recipient/path split counts");
	(void)uniq_key(k2, "1lgfnc4rsi7lhvrn", "ab", "c");
	tap_ok(strcmp(k1, k2) != 0, "key: another queue id, another key");
	errno = 0;
	tap_ok(uniq_key(k2, "not-a-qid", "a", "b") == -1 && errno == EINVAL,
	    "key: a bad queue id is refused");
	tap_is_int(uniq_maildir_key(name, sizeof(name), k1), 0,
	    "keyed maildir name: made");
	tap_ok(uniq_maildir_has_key(name, k1) && strstr(name, k1) != NULL,
	    "keyed maildir name carries its key");
	tap_ok(!uniq_maildir_has_key(name, k2),
	    "keyed maildir name does not match another key");
	tap_ok(uniq_maildir(name, sizeof(name)) == 0 &&
	    !uniq_maildir_has_key(name, k1), "a plain name has no key");
	errno = 0;
	tap_ok(uniq_maildir_key(name, sizeof(name), "Bad") == -1 &&
	    errno == EINVAL, "keyed name: upper case in the key refused");
	tap_ok(uniq_maildir_key(name, sizeof(name), "") == -1 &&
	    errno == EINVAL, "keyed name: empty key refused");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tap_ok(uniq_maildir_key(name, sizeof(name), big) == -1 &&
	    errno == EINVAL, "keyed name: key over UNIQ_KEY_MAX refused");
	big[UNIQ_KEY_MAX] = '\0';
	tap_ok(uniq_maildir_key(name, sizeof(name), big) == 0 &&
	    uniq_maildir_has_key(name, big), "keyed name: UNIQ_KEY_MAX key");
	errno = 0;
	r = uniq_maildir_key(tiny, sizeof(tiny), k1);
	tap_ok(r == -1 && errno == ENAMETOOLONG && tiny[0] == '\0',
	    "keyed name: a buffer too small fails with ENAMETOOLONG");
	for (i = 0; i < sizeof(keycases) / sizeof(keycases[0]); i++)
		tap_ok(uniq_maildir_has_key(keycases[i].name,
		    keycases[i].key) == keycases[i].has, "has_key: %s",
		    keycases[i].what);
}

/* As root, in a UTS namespace of our own: a host name with / and :. */
static int
host_child(void)
{
	char name[256];
	const char *h;
	long c;

	if (unshare(CLONE_NEWUTS) == -1 || sethostname("a/b:c", 5) == -1)
		return 2;
	if (uniq_maildir(name, sizeof(name)) == -1 ||
	    (h = parse_maildir(name, &c)) == NULL)
		return 1;
	return strcmp(h, "a\\057b\\072c") == 0 ? 0 : 1;
}

static void
test_host_escape(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(host_child());
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return;
	if (WEXITSTATUS(st) == 2) {
		tap_diag("no UTS namespace (not root?): host escape skipped");
		return;
	}
	tap_is_int(WEXITSTATUS(st), 0,
	    "'/' and ':' in the host name become \\057 and \\072");
}

int
main(void)
{
	test_valid();
	test_draws();
	test_fork();
	test_maildir();
	test_key();
	test_host_escape();
	return tap_done();
}
