/* send_sched: when tern-send tries a message again, and the due heap. */
#ifndef TERN_SEND_SCHED_H
#define TERN_SEND_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * qmail's retry schedule: with age = now - arrival (0 when the clock
 * went backwards) and k = floor(sqrt(age / step)), the next try is
 * arrival + (k + 1)^2 * step, which is always later than now.  When
 * lifetime >= 0 and that is past arrival + lifetime, the next try is
 * moved to arrival + lifetime + 1 (never earlier than now + 1), so that
 * the last attempt, and the expiry that follows it, happen on time.
 * step must be > 0.  Saturates at the largest time_t instead of
 * overflowing.
 */
time_t	send_next_try(time_t arrival, time_t now, long long step,
	    long long lifetime);

/*
 * True when a message that arrived at arrival has outlived lifetime
 * seconds at now (now - arrival > lifetime): its temporary failures
 * become permanent (4.4.7).
 */
bool	send_expired(time_t arrival, time_t now, long long lifetime);

/*
 * A binary min-heap of items keyed by a due time.  Each item stores
 * its own position (so it can be removed or moved in O(log n)): the
 * heap reads and writes it through the pos pointer given at insertion
 * time; SEND_HEAP_NONE means "not in the heap".
 */
#define SEND_HEAP_NONE	((size_t)-1)

struct send_heap_ent {
	time_t	 due;
	void	*item;
	size_t	*pos;		/* the item's own copy of its index */
};

struct send_heap {
	struct send_heap_ent	*v;
	size_t			 n;
	size_t			 cap;
};

void	send_heap_init(struct send_heap *);
void	send_heap_free(struct send_heap *);
/* Insert item due at due; *pos must be SEND_HEAP_NONE.  0, or -1 ENOMEM. */
int	send_heap_push(struct send_heap *, time_t due, void *item,
	    size_t *pos);
/* The earliest item and its due time, or NULL when empty. */
void	*send_heap_peek(const struct send_heap *, time_t *due_out);
/* Remove and return the earliest item (its *pos becomes NONE), or NULL. */
void	*send_heap_pop(struct send_heap *);
/* Remove the item at index pos (its *pos becomes NONE). */
void	send_heap_remove(struct send_heap *, size_t pos);
/* Make every item due no later than due (for a flush). */
void	send_heap_advance_all(struct send_heap *, time_t due);

#endif
