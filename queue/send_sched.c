/* send_sched: the retry formula and the heap of due messages. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "send_sched.h"

/* time_t is a signed integer type on every system we build on. */
#define TIME_T_MAX \
	((time_t)(((uintmax_t)1 << (sizeof(time_t) * 8 - 1)) - 1))

/* floor(sqrt(x)) without floating point, exact for every x. */
static long long
isqrt_ll(long long x)
{
	long long r, lo, hi;

	if (x <= 0)
		return 0;
	lo = 0;
	hi = 3037000499LL;	/* floor(sqrt(LLONG_MAX)) */
	while (lo < hi) {
		r = lo + (hi - lo + 1) / 2;
		if (r <= x / r)
			lo = r;
		else
			hi = r - 1;
	}
	return lo;
}

static time_t
add_sat(time_t a, long long b)
{
	long long r;

	if (__builtin_add_overflow((long long)a, b, &r) || r > TIME_T_MAX)
		return TIME_T_MAX;
	return (time_t)r;
}

time_t
send_next_try(time_t arrival, time_t now, long long step,
    long long lifetime)
{
	long long age, k, span;
	time_t next, last;

	if (step <= 0)
		abort();
	age = now > arrival ? (long long)now - (long long)arrival : 0;
	k = isqrt_ll(age / step) + 1;
	if (__builtin_mul_overflow(k, k, &span) ||
	    __builtin_mul_overflow(span, step, &span))
		next = TIME_T_MAX;
	else
		next = add_sat(arrival, span);
	if (next <= now)	/* only when arrival is in the future */
		next = add_sat(now, step);
	if (lifetime >= 0) {
		last = add_sat(add_sat(arrival, lifetime), 1);
		if (next > last)
			next = last > now ? last : add_sat(now, 1);
	}
	return next;
}

bool
send_expired(time_t arrival, time_t now, long long lifetime)
{
	long long age;

	if (now <= arrival)
		return false;
	age = (long long)now - (long long)arrival;
	return age > lifetime;
}

void
send_heap_init(struct send_heap *h)
{
	h->v = NULL;
	h->n = 0;
	h->cap = 0;
}

void
send_heap_free(struct send_heap *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		*h->v[i].pos = SEND_HEAP_NONE;
	free(h->v);
	send_heap_init(h);
}

static void
heap_set(struct send_heap *h, size_t i, struct send_heap_ent e)
{
	h->v[i] = e;
	*e.pos = i;
}

static void
heap_up(struct send_heap *h, size_t i)
{
	struct send_heap_ent e = h->v[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (h->v[parent].due <= e.due)
			break;
		heap_set(h, i, h->v[parent]);
		i = parent;
	}
	heap_set(h, i, e);
}

static void
heap_down(struct send_heap *h, size_t i)
{
	struct send_heap_ent e = h->v[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1].due < h->v[c].due)
			c++;
		if (e.due <= h->v[c].due)
			break;
		heap_set(h, i, h->v[c]);
		i = c;
	}
	heap_set(h, i, e);
}

int
send_heap_push(struct send_heap *h, time_t due, void *item, size_t *pos)
{
	struct send_heap_ent *nv;
	size_t ncap;

	if (*pos != SEND_HEAP_NONE)
		abort();
	if (h->n == h->cap) {
		ncap = h->cap ? h->cap * 2 : 64;
		nv = reallocarray(h->v, ncap, sizeof(*nv));
		if (nv == NULL)
			return -1;
		h->v = nv;
		h->cap = ncap;
	}
	h->v[h->n].due = due;
	h->v[h->n].item = item;
	h->v[h->n].pos = pos;
	*pos = h->n;
	h->n++;
	heap_up(h, h->n - 1);
	return 0;
}

void *
send_heap_peek(const struct send_heap *h, time_t *due_out)
{
	if (h->n == 0)
		return NULL;
	if (due_out != NULL)
		*due_out = h->v[0].due;
	return h->v[0].item;
}

void
send_heap_remove(struct send_heap *h, size_t pos)
{
	size_t *gone;

	if (pos >= h->n)
		abort();
	gone = h->v[pos].pos;
	h->n--;
	if (pos != h->n) {
		heap_set(h, pos, h->v[h->n]);
		/* The moved entry goes up or down, never both. */
		heap_up(h, pos);
		heap_down(h, pos);
	}
	*gone = SEND_HEAP_NONE;
}

void *
send_heap_pop(struct send_heap *h)
{
	void *item;

	if (h->n == 0)
		return NULL;
	item = h->v[0].item;
	send_heap_remove(h, 0);
	return item;
}

void
send_heap_advance_all(struct send_heap *h, time_t due)
{
	size_t i;

	/* Lowering keys to a common ceiling keeps the heap order. */
	for (i = 0; i < h->n; i++)
		if (h->v[i].due > due)
			h->v[i].due = due;
}
