/* tap: the Test Anything Protocol for unit tests, read by prove(1). */
#ifndef TERN_TAP_H
#define TERN_TAP_H

#include <stdbool.h>

/* Announce the number of tests (or call tap_done at the end instead). */
void	tap_plan(int n);
/* One result; returns cond.  name says the behaviour, printf-style. */
bool	tap_ok(bool cond, const char *name, ...)
	    __attribute__((format(printf, 2, 3)));
/* Compare strings; prints both on failure. */
bool	tap_is_str(const char *got, const char *want, const char *name, ...)
	    __attribute__((format(printf, 3, 4)));
/* Compare integers; prints both on failure. */
bool	tap_is_int(long long got, long long want, const char *name, ...)
	    __attribute__((format(printf, 3, 4)));
/* A diagnostic line ("# ..."). */
void	tap_diag(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Print the plan if none was given; return the exit status (0 all ok). */
int	tap_done(void);

#endif
