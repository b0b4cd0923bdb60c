/* send_msg: the messages tern-send knows of, by id and by due time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "send.h"

#define HASH_MIN	256

static size_t
hash_id(const char *id, size_t size)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)*id;
		h *= 16777619u;
	}
	return h & (size - 1);
}

int
send_state_init(struct send_state *st)
{
	memset(st, 0, sizeof(*st));
	st->htab = calloc(HASH_MIN, sizeof(*st->htab));
	if (st->htab == NULL)
		return -1;
	st->hsize = HASH_MIN;
	send_heap_init(&st->heap);
	TAILQ_INIT(&st->waitq);
	TAILQ_INIT(&st->runs);
	TAILQ_INIT(&st->rwaitq);
	st->rspawn = -1;
	st->keeper = st->req_fd = st->res_fd = st->trigger = -1;
	st->sigpipe[0] = st->sigpipe[1] = -1;
	st->backoff = 1;
	return 0;
}

struct send_msg *
send_msg_find(struct send_state *st, const char *id)
{
	struct send_msg *m;

	for (m = st->htab[hash_id(id, st->hsize)]; m != NULL; m = m->hnext)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

/* Double the table when it gets crowded; failure only costs speed. */
static void
hash_grow(struct send_state *st)
{
	struct send_msg **nt, *m, *next;
	size_t i, nsize;

	if (st->nmsg < st->hsize || st->hsize > SIZE_MAX / 4)
		return;
	nsize = st->hsize * 2;
	nt = calloc(nsize, sizeof(*nt));
	if (nt == NULL)
		return;
	for (i = 0; i < st->hsize; i++)
		for (m = st->htab[i]; m != NULL; m = next) {
			next = m->hnext;
			m->hnext = nt[hash_id(m->id, nsize)];
			nt[hash_id(m->id, nsize)] = m;
		}
	free(st->htab);
	st->htab = nt;
	st->hsize = nsize;
}

struct send_msg *
send_msg_add(struct send_state *st, const char *id, time_t due)
{
	struct send_msg *m;
	size_t h;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	(void)strlcpy(m->id, id, sizeof(m->id));
	m->heap_pos = SEND_HEAP_NONE;
	m->gen = st->gen;
	LIST_INIT(&m->runs);
	if (send_heap_push(&st->heap, due, m, &m->heap_pos) == -1) {
		free(m);
		return NULL;
	}
	h = hash_id(id, st->hsize);
	m->hnext = st->htab[h];
	st->htab[h] = m;
	st->nmsg++;
	hash_grow(st);
	return m;
}

void
send_msg_schedule(struct send_state *st, struct send_msg *m, time_t due)
{
	if (m->heap_pos != SEND_HEAP_NONE)
		send_heap_remove(&st->heap, m->heap_pos);
	if (send_heap_push(&st->heap, due, m, &m->heap_pos) == -1) {
		/* The next rescan finds it again. */
		log_warnx("%s not scheduled: out of memory", m->id);
		send_msg_drop(st, m);
	}
}

void
send_msg_drop(struct send_state *st, struct send_msg *m)
{
	struct send_msg **pp;

	if (m->inflight != 0 || m->rinflight != 0 || m->rwait != 0)
		abort();
	if (m->heap_pos != SEND_HEAP_NONE)
		send_heap_remove(&st->heap, m->heap_pos);
	if (m->waiting)
		TAILQ_REMOVE(&st->waitq, m, wait);
	for (pp = &st->htab[hash_id(m->id, st->hsize)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == m) {
			*pp = m->hnext;
			break;
		}
	st->nmsg--;
	free(m);
}

void
send_msg_wait(struct send_state *st, struct send_msg *m, bool head)
{
	if (m->heap_pos != SEND_HEAP_NONE)
		send_heap_remove(&st->heap, m->heap_pos);
	if (m->waiting)
		TAILQ_REMOVE(&st->waitq, m, wait);
	if (head)
		TAILQ_INSERT_HEAD(&st->waitq, m, wait);
	else
		TAILQ_INSERT_TAIL(&st->waitq, m, wait);
	m->waiting = true;
}

bool
send_msg_busy(const struct send_msg *m)
{
	return m->inflight != 0 || m->rinflight != 0 || m->rwait != 0 ||
	    m->waiting;
}

void
send_msg_flush_remote(struct send_state *st)
{
	struct send_msg *m;
	size_t i;

	for (i = 0; i < st->hsize; i++)
		for (m = st->htab[i]; m != NULL; m = m->hnext)
			m->rdue = 0;
}
