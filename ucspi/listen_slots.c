/* listen_slots: the running children and the connection limits. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "listen.h"

/*
 * An IPv4-mapped IPv6 address is an IPv4 client: count it as one, so a
 * dual-stack socket cannot double anybody's share.
 */
void
listen_key_of(const struct sockaddr *sa, socklen_t salen,
    struct listen_key *out)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	memset(out, 0, sizeof(*out));
	out->family = AF_UNSPEC;
	if (sa->sa_family == AF_INET && salen >= sizeof(*s4)) {
		out->family = AF_INET;
		memcpy(out->bytes, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(*s6)) {
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			out->family = AF_INET;
			memcpy(out->bytes, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			out->family = AF_INET6;
			memcpy(out->bytes, &s6->sin6_addr, 8);	/* the /64 */
		}
	}
}

static bool
listen_key_eq(const struct listen_key *a, const struct listen_key *b)
{
	return a->family == b->family &&
	    memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

int
listen_slots_init(struct listen_slots *sl, size_t conn_max, size_t over_max)
{
	memset(sl, 0, sizeof(*sl));
	if (conn_max == 0 ||
	    __builtin_add_overflow(conn_max, over_max, &sl->cap)) {
		errno = EINVAL;
		return -1;
	}
	if ((sl->v = calloc(sl->cap, sizeof(*sl->v))) == NULL)
		return -1;
	sl->conn_max = conn_max;
	sl->over_max = over_max;
	return 0;
}

void
listen_slots_free(struct listen_slots *sl)
{
	free(sl->v);
	memset(sl, 0, sizeof(*sl));
}

/* A linear scan: cap is at most twice LISTEN_CONN_MAX, a few µs a call. */
enum listen_limit
listen_slots_check(const struct listen_slots *sl, const struct listen_key *key,
    size_t ip_max)
{
	size_t i, n;

	if (sl->conns >= sl->conn_max)
		return LISTEN_LIMIT_GLOBAL;
	n = 0;
	for (i = 0; i < sl->cap; i++) {
		if (sl->v[i].pid != 0 && !sl->v[i].over &&
		    listen_key_eq(&sl->v[i].key, key))
			n++;
	}
	return n >= ip_max ? LISTEN_LIMIT_IP : LISTEN_OK;
}

bool
listen_slots_over_room(const struct listen_slots *sl)
{
	return sl->overs < sl->over_max;
}

int
listen_slots_add(struct listen_slots *sl, pid_t pid,
    const struct listen_key *key, bool over)
{
	size_t i;

	if (pid <= 0 || (over ? sl->overs >= sl->over_max :
	    sl->conns >= sl->conn_max)) {
		errno = pid <= 0 ? EINVAL : ENOSPC;
		return -1;
	}
	/* Each kind is within its maximum, so a free slot exists. */
	for (i = 0; i < sl->cap && sl->v[i].pid != 0; i++)
		;
	sl->v[i].pid = pid;
	sl->v[i].over = over;
	sl->v[i].key = *key;
	if (over)
		sl->overs++;
	else
		sl->conns++;
	return 0;
}

int
listen_slots_del(struct listen_slots *sl, pid_t pid, bool *over_out)
{
	size_t i;

	if (pid <= 0)
		return 0;
	for (i = 0; i < sl->cap; i++) {
		if (sl->v[i].pid != pid)
			continue;
		*over_out = sl->v[i].over;
		if (sl->v[i].over)
			sl->overs--;
		else
			sl->conns--;
		memset(&sl->v[i], 0, sizeof(sl->v[i]));
		return 1;
	}
	return 0;
}
