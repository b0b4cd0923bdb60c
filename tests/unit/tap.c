/* tap: a minimal TAP producer for the unit tests. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

static int tap_count;
static int tap_failed;
static int tap_planned = -1;

void
tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static bool tap_vok(bool, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static bool
tap_vok(bool cond, const char *name, va_list ap)
{
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	vprintf(name, ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

bool
tap_ok(bool cond, const char *name, ...)
{
	va_list ap;

	va_start(ap, name);
	tap_vok(cond, name, ap);
	va_end(ap);
	return cond;
}

bool
tap_is_str(const char *got, const char *want, const char *name, ...)
{
	va_list ap;
	bool ok;

	ok = (got == NULL && want == NULL) ||
	    (got != NULL && want != NULL && strcmp(got, want) == 0);
	va_start(ap, name);
	tap_vok(ok, name, ap);
	va_end(ap);
	if (!ok)
		tap_diag("got \"%s\", want \"%s\"", got ? got : "(null)",
		    want ? want : "(null)");
	return ok;
}

bool
tap_is_int(long long got, long long want, const char *name, ...)
{
	va_list ap;
	bool ok = got == want;

	va_start(ap, name);
	tap_vok(ok, name, ap);
	va_end(ap);
	if (!ok)
		tap_diag("got %lld, want %lld", got, want);
	return ok;
}

void
tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int
tap_done(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_count);
	else if (tap_planned != tap_count)
		tap_failed++;
	fflush(stdout);
	return tap_failed ? 1 : 0;
}
