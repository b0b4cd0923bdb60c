/* test-spawn: tern-lspawn's request parser (internals.md). */
#include <stdbool.h>
#include <string.h>

#include "../../deliver/spawn.h"
#include "tap.h"

/* A literal with embedded NULs: its bytes without the string's own NUL. */
#define REQ(s)	s, sizeof(s) - 1

static const struct {
	const char	*name;
	const char	*data;
	size_t		 len;
	int		 want;		/* 1 parsed, 0 incomplete, -1 bad */
	bool		 check;
	size_t		 used;
} cases[] = {
	{ "the older form without a flag", REQ("3\0id\0s\0r\0\0"), 1, false,
	    10 },
	{ "flag - is a plain delivery", REQ("3\0id\0s\0r\0-\0\0"), 1, false,
	    12 },
	{ "flag c asks for a check", REQ("3\0id\0s\0r\0c\0\0"), 1, true, 12 },
	{ "the null sender with a flag", REQ("0\0id\0\0r\0c\0\0"), 1, true,
	    11 },
	{ "a flagged request then part of the next",
	    REQ("3\0id\0s\0r\0c\0\0" "4\0"), 1, true, 12 },
	{ "incomplete before the flag", REQ("3\0id\0s\0r\0"), 0, false, 0 },
	{ "incomplete after the flag", REQ("3\0id\0s\0r\0c\0"), 0, false, 0 },
	{ "flag without its NUL", REQ("3\0id\0s\0r\0c"), 0, false, 0 },
	{ "an unknown flag", REQ("3\0id\0s\0r\0x\0\0"), -1, false, 0 },
	{ "a flag of two bytes", REQ("3\0id\0s\0r\0cc\0\0"), -1, false, 0 },
	{ "no empty field after the flag", REQ("3\0id\0s\0r\0c\0x\0"), -1,
	    false, 0 },
};

static void
test_table(void)
{
	const char	*f[4], *err;
	size_t		 i, used;
	bool		 check;
	int		 r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check = !cases[i].check;
		used = 0;
		err = NULL;
		r = spawn_parse_req(cases[i].data, cases[i].len, &used, f,
		    &check, &err);
		if (!tap_is_int(r, cases[i].want, "%s", cases[i].name) ||
		    r != 1)
			continue;
		tap_ok(check == cases[i].check && used == cases[i].used &&
		    strcmp(f[0], cases[i].data) == 0 &&
		    strcmp(f[3], "r") == 0, "%s: flag, fields and length",
		    cases[i].name);
	}
}

static void
test_limits(void)
{
	static char big[SPAWN_REQ_MAX + 16];
	const char	*f[4], *err;
	size_t		 used, n;
	bool		 check;

	/* The longest request that fits: one recipient field fills it. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "1\0id\0s\0", 7);
	n = SPAWN_REQ_MAX - 7 - 4;	/* recipient + NUL + "c\0" + NUL */
	big[7 + n - 1] = '\0';
	memcpy(big + 7 + n, "c\0\0", 3);
	tap_is_int(spawn_parse_req(big, 7 + n + 3, &used, f, &check, &err), 1,
	    "a request of SPAWN_REQ_MAX - 1 bytes is taken");
	big[7 + n - 1] = 'a';
	big[7 + n + 1] = 'a';
	memset(big + 7 + n, 'a', sizeof(big) - 7 - n);
	big[SPAWN_REQ_MAX] = '\0';
	tap_is_int(spawn_parse_req(big, sizeof(big), &used, f, &check, &err),
	    -1, "a field ending past SPAWN_REQ_MAX is refused");
	tap_is_int(spawn_parse_req(big, SPAWN_REQ_MAX - 1, &used, f, &check,
	    &err), 0, "a long request not yet complete waits");
	tap_is_int(spawn_parse_request(REQ("3\0id\0s\0r\0c\0\0"), &used, f,
	    &err), 1, "spawn_parse_request takes the flagged form too");
}

int
main(void)
{
	test_table();
	test_limits();
	return tap_done();
}
