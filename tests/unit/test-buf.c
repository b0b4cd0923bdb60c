/* test-buf: the bounded growable buffer. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

/* A sequence of appends into a buffer of a given max. */
struct append_case {
	const char	*name;
	size_t		 max;
	const char	*parts[4];
	int		 want_ret[4];	/* per part: 0 or -1 (E2BIG) */
	const char	*want;
};

static const struct append_case append_cases[] = {
	{ "empty appends leave an empty string", 8,
	    { "", "", NULL }, { 0, 0 }, "" },
	{ "appends concatenate", 16,
	    { "ab", "cd", "ef", NULL }, { 0, 0, 0 }, "abcdef" },
	{ "filling up to max exactly is allowed", 4,
	    { "ab", "cd", NULL }, { 0, 0 }, "abcd" },
	{ "one byte past max fails and keeps the contents", 4,
	    { "abc", "de", "d", NULL }, { 0, -1, 0 }, "abcd" },
	{ "max 0 accepts only empty appends", 0,
	    { "", "x", NULL }, { 0, -1 }, "" },
	{ "a long append grows past the first allocation", 1000,
	    { "0123456789012345678901234567890123456789"
	      "0123456789012345678901234567890123456789"
	      "0123456789", NULL }, { 0 },
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789" },
};

static void
test_appends(void)
{
	const struct append_case *c;
	struct buf b;
	size_t i, j;
	bool ok;
	int r;

	for (i = 0; i < sizeof(append_cases) / sizeof(append_cases[0]); i++) {
		c = &append_cases[i];
		buf_init(&b, c->max);
		ok = true;
		for (j = 0; c->parts[j] != NULL; j++) {
			errno = 0;
			r = buf_appends(&b, c->parts[j]);
			if (r != c->want_ret[j] || (r == -1 && errno != E2BIG))
				ok = false;
		}
		tap_ok(ok, "%s: return values", c->name);
		tap_is_str(buf_cstr(&b), c->want, "%s: contents", c->name);
		tap_is_int((long long)b.len, (long long)strlen(c->want),
		    "%s: len", c->name);
		tap_ok(b.len <= b.max && (b.data == NULL ||
		    b.data[b.len] == '\0'), "%s: NUL-terminated, len <= max",
		    c->name);
		buf_free(&b);
	}
}

static void
test_overflow(void)
{
	struct buf b;
	int r;

	buf_init(&b, SIZE_MAX);
	tap_ok(buf_appends(&b, "abc") == 0, "unbounded max: small append");
	errno = 0;
	r = buf_reserve(&b, SIZE_MAX);
	tap_ok(r == -1 && errno == E2BIG,
	    "reserve that overflows size_t fails with E2BIG");
	errno = 0;
	r = buf_reserve(&b, SIZE_MAX - 3);
	tap_ok(r == -1 && errno == E2BIG,
	    "reserve to exactly SIZE_MAX (no room for NUL) fails with E2BIG");
	tap_is_str(buf_cstr(&b), "abc", "failed reserves leave contents");
#ifndef __SANITIZE_ADDRESS__
	/* ASan aborts on such a request instead of returning NULL. */
	errno = 0;
	r = buf_reserve(&b, SIZE_MAX / 2);
	tap_ok(r == -1 && errno == ENOMEM,
	    "an impossible allocation fails with ENOMEM");
	tap_is_str(buf_cstr(&b), "abc", "failed allocation leaves contents");
#endif
	buf_free(&b);

	buf_init(&b, 10);
	errno = 0;
	r = buf_reserve(&b, 11);
	tap_ok(r == -1 && errno == E2BIG, "reserve past max fails: E2BIG");
	tap_ok(buf_reserve(&b, 10) == 0, "reserve up to max succeeds");
	tap_ok(b.cap == 11, "capacity never exceeds max + 1");
	buf_free(&b);
}

struct printf_case {
	const char	*name;
	size_t		 max;
	const char	*before;
	int		 arg;
	int		 want_ret;
	const char	*want;
};

static const struct printf_case printf_cases[] = {
	{ "printf into an empty buffer", 64, "", 42, 0, "n=42." },
	{ "printf appends after contents", 64, "x", 7, 0, "xn=7." },
	{ "printf exactly to max", 6, "x", 7, 0, "xn=7." },
	{ "printf past max fails, contents kept", 4, "x", 7, -1, "x" },
	{ "printf that needs a second pass (grows)", 4096,
	    "0123456789012345678901234567890123456789012345678901234567",
	    123456789, 0,
	    "0123456789012345678901234567890123456789012345678901234567"
	    "n=123456789." },
};

static void
test_printf(void)
{
	const struct printf_case *c;
	struct buf b;
	size_t i;
	int r;

	for (i = 0; i < sizeof(printf_cases) / sizeof(printf_cases[0]); i++) {
		c = &printf_cases[i];
		buf_init(&b, c->max);
		(void)buf_appends(&b, c->before);
		errno = 0;
		r = buf_printf(&b, "n=%d.", c->arg);
		tap_ok(r == c->want_ret && (r == 0 || errno == E2BIG),
		    "%s: returns %d", c->name, c->want_ret);
		tap_is_str(buf_cstr(&b), c->want, "%s: contents", c->name);
		tap_is_int((long long)b.len, (long long)strlen(c->want),
		    "%s: len", c->name);
		buf_free(&b);
	}
}

static void
test_edit(void)
{
	struct buf b;

	buf_init(&b, 64);
	tap_is_str(buf_cstr(&b), "", "a fresh buffer reads as \"\"");
	tap_ok(b.data == NULL, "a fresh buffer allocates nothing");
	(void)buf_append(&b, "a\0b", 3);
	tap_ok(b.len == 3 && memcmp(b.data, "a\0b", 4) == 0,
	    "append keeps embedded NUL bytes");
	(void)buf_appendc(&b, 'c');
	buf_consume(&b, 2);
	tap_ok(b.len == 2 && memcmp(b.data, "bc", 3) == 0,
	    "consume removes the front and keeps the NUL");
	buf_consume(&b, 0);
	tap_is_str(buf_cstr(&b), "bc", "consume 0 changes nothing");
	buf_truncate(&b, 1);
	tap_is_str(buf_cstr(&b), "b", "truncate shortens");
	buf_consume(&b, 1);
	tap_ok(b.len == 0 && b.data[0] == '\0', "consume all leaves \"\"");
	(void)buf_appends(&b, "xyz");
	buf_reset(&b);
	tap_ok(b.len == 0 && b.data != NULL && b.data[0] == '\0',
	    "reset keeps the allocation and empties it");
	buf_free(&b);
	tap_ok(b.data == NULL && b.len == 0 && b.cap == 0,
	    "free forgets the memory");
	tap_ok(buf_appends(&b, "again") == 0 && b.max == 64,
	    "a freed buffer can be used again with the same max");
	buf_free(&b);
}

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Contract violations abort: run one in a child and look at its end. */
static bool
aborts(void (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return false;
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		fn();
		_exit(0);
	}
	if (waitpid(pid, &st, 0) == -1)
		return false;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void
consume_too_much(void)
{
	struct buf b;

	buf_init(&b, 8);
	(void)buf_appends(&b, "ab");
	buf_consume(&b, 3);
}

static void
truncate_too_far(void)
{
	struct buf b;

	buf_init(&b, 8);
	(void)buf_appends(&b, "ab");
	buf_truncate(&b, 3);
}

int
main(void)
{
	test_appends();
	test_overflow();
	test_printf();
	test_edit();
	tap_ok(aborts(consume_too_much), "consume past len aborts");
	tap_ok(aborts(truncate_too_far), "truncate past len aborts");
	return tap_done();
}
