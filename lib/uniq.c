/* uniq: unique, sortable names: queue ids and Maildir file names. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "uniq.h"

#define QID_SEC_LEN	7
#define QID_USEC_LEN	4
#define QID_RAND_LEN	5
#define UNIQ_HOST_MAX	256

static const char qid_digits[] = "0123456789abcdefghijklmnopqrstuv";

/* Write v as n base32 digits, most significant first. */
static void
qid_put(char *out, uint64_t v, int n)
{
	while (n-- > 0) {
		out[n] = qid_digits[v & 31];
		v >>= 5;
	}
}

static int
qid_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'v')
		return c - 'a' + 10;
	return -1;
}

static uint64_t
qid_get(const char *s, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 5 | (uint64_t)qid_digit(s[i]);
	return v;
}

/*
 * The time part never repeats or goes back inside one process: a draw in
 * the same microsecond as the last (or after the clock stepped back)
 * takes the last time plus one microsecond.  So one process's ids are
 * strictly increasing, and the random part separates processes.
 */
void
qid_new(char out[QID_LEN + 1])
{
	static uint64_t last;
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	if (now <= last)
		now = last + 1;
	last = now;
	qid_put(out, now / 1000000, QID_SEC_LEN);
	qid_put(out + QID_SEC_LEN, now % 1000000, QID_USEC_LEN);
	qid_put(out + QID_SEC_LEN + QID_USEC_LEN,
	    arc4random_uniform(1U << (5 * QID_RAND_LEN)), QID_RAND_LEN);
	out[QID_LEN] = '\0';
}

bool
qid_valid(const char *s)
{
	int i;

	for (i = 0; i < QID_LEN; i++)
		if (qid_digit(s[i]) == -1)
			return false;
	if (s[QID_LEN] != '\0')
		return false;
	return qid_get(s + QID_SEC_LEN, QID_USEC_LEN) < 1000000;
}

long long
qid_time(const char *s)
{
	return (long long)qid_get(s, QID_SEC_LEN);
}

/* The host name with '/' and ':' escaped as Maildir readers expect. */
static void
uniq_host(char *out, size_t outsz)
{
	char host[UNIQ_HOST_MAX + 1];
	size_t i, o;

	if (gethostname(host, sizeof(host) - 1) == -1 || host[0] == '\0')
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (i = o = 0; host[i] != '\0' && o + 5 < outsz; i++) {
		if (host[i] == '/' || host[i] == ':') {
			memcpy(out + o, host[i] == '/' ? "\\057" : "\\072", 4);
			o += 4;
		} else
			out[o++] = host[i];
	}
	out[o] = '\0';
}

/* A key: 1 to UNIQ_KEY_MAX characters of [0-9a-z]. */
static bool
uniq_key_ok(const char *key)
{
	size_t i;

	for (i = 0; key[i] != '\0'; i++)
		if (i >= UNIQ_KEY_MAX || !((key[i] >= '0' && key[i] <= '9') ||
		    (key[i] >= 'a' && key[i] <= 'z')))
			return false;
	return i > 0;
}

int
uniq_maildir_key(char *out, size_t outsz, const char *key)
{
	static unsigned long count;
	char host[UNIQ_HOST_MAX * 4 + 1];
	struct timespec ts;
	int r;

	if (key != NULL && !uniq_key_ok(key)) {
		if (outsz > 0)
			out[0] = '\0';
		errno = EINVAL;
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	uniq_host(host, sizeof(host));
	r = snprintf(out, outsz, "%lld.M%ldP%ldQ%luR%08x%08x%s%s.%s",
	    (long long)ts.tv_sec, ts.tv_nsec / 1000, (long)getpid(),
	    ++count, arc4random(), arc4random(), key != NULL ? "K" : "",
	    key != NULL ? key : "", host);
	if (r < 0 || (size_t)r >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
uniq_maildir(char *out, size_t outsz)
{
	return uniq_maildir_key(out, outsz, NULL);
}

int
uniq_key(char out[UNIQ_KEY_LEN + 1], const char *qid, const char *rcpt,
    const char *path)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a, 64 bits */
	const char *p;
	int i;

	if (!qid_valid(qid)) {
		errno = EINVAL;
		return -1;
	}
	/* rcpt, its NUL, then path: "ab"+"c" and "a"+"bc" differ. */
	for (p = rcpt; ; p++) {
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		if (*p == '\0')
			break;
	}
	for (p = path; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	memcpy(out, qid, QID_LEN);
	for (i = 15; i >= 0; i--) {
		out[QID_LEN + i] = "0123456789abcdef"[h & 15];
		h >>= 4;
	}
	out[UNIQ_KEY_LEN] = '\0';
	return 0;
}

bool
uniq_maildir_has_key(const char *name, const char *key)
{
	const char *u, *end;
	size_t klen = strlen(key);

	if (klen == 0 || (u = strchr(name, '.')) == NULL)
		return false;
	u++;
	if ((end = strchr(u, '.')) == NULL)
		return false;
	if ((size_t)(end - u) < klen + 1)
		return false;
	return end[-(ptrdiff_t)klen - 1] == 'K' &&
	    memcmp(end - klen, key, klen) == 0;
}
