/* engine: tern-resolve's lookups on one libunbound context. */
#ifndef TERN_ENGINE_H
#define TERN_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <unbound.h>

#include "dnsproto.h"

#define RSV_INFLIGHT_MAX	4096	/* in flight, all clients together */
#define RSV_TIMEOUT_DEFAULT	30	/* seconds, control dnstimeout */
#define RSV_TIMEOUT_MAX		600
#define RSV_FWD_MAX		16	/* forwarders used */
#define RSV_TA_MAX		16	/* trust anchor files */
#define RSV_ROOT_KEY		"/usr/share/dns/root.key"
#define RSV_RESOLV_CONF		"/etc/resolv.conf"

/* What the control files asked for (see tern-resolve(8)). */
struct rsv_cfg {
	/* "ip" or "ip@port"; none: /etc/resolv.conf */
	char	fwd[RSV_FWD_MAX][64];
	size_t	nfwd;
	bool	recurse;		/* dnsrecurse: no forwarding at all */
	char	ta[RSV_TA_MAX][1024];	/* trust anchor files */
	size_t	nta;
	bool	novalidate;		/* dnstrustanchor says "none" */
	int	timeout;		/* seconds per request */
	/*
	 * Unit tests only, NULL otherwise: unbound.conf options set after
	 * the fixed ones, pairs of name (with its ':') and value, ending
	 * in a NULL name ("local-data:", "a.test. MX 10 mx.a.test.").
	 */
	const char *const (*extra)[2];
};

struct rsv;
struct rsv_req;

/* One libunbound lookup of a request. */
struct rsv_sub {
	struct rsv_req		*req;
	int			 rrtype;
	int			 async_id;
	bool			 busy;
	bool			 timedout;
	int			 err;
	struct ub_result	*res;
};

struct rsv_req {
	struct rsv		*rsv;
	void			*owner;		/* the client that asked */
	unsigned long		 id;		/* unique per owner */
	enum dnsp_type		 type;
	char			 name[DNSP_NAME_MAX + 2];
	int64_t			 deadline;	/* CLOCK_MONOTONIC ms */
	int			 phase;		/* 1: implicit MX lookups */
	bool			 starting;
	int			 nbusy;
	struct rsv_sub		 sub[3];
	struct dnsp_reply	 rep;
};

/* Called once per request with its final reply; req is freed after. */
typedef void (*rsv_done_fn)(struct rsv *, struct rsv_req *, void *arg);

struct rsv {
	struct ub_ctx	 *ctx;
	struct rsv_req	**reqs;		/* in flight, RSV_INFLIGHT_MAX slots */
	size_t		  nreqs;
	int		  timeout_ms;
	rsv_done_fn	  done;
	void		 *arg;
};

/*
 * Create the libunbound context with every option set before the first
 * lookup: forward mode to cfg's forwarders, or to the resolv.conf ones,
 * or (recurse) full recursion; local-zone "test." transparent;
 * do-not-query-localhost no; the trust anchor files.  Then finalizes
 * it with a lookup of "localhost." (answered locally, no packet) so
 * that files are read before the caller drops privileges.
 * 0, or -1 with *errstr (a static or libunbound string).
 */
int	rsv_init(struct rsv *, const struct rsv_cfg *, rsv_done_fn done,
	    void *arg, const char **errstr);
void	rsv_free(struct rsv *);

/* The fd to poll for POLLIN; then call rsv_process. */
int	rsv_fd(struct rsv *);
/* Deliver finished lookups (calls done): 0, or -1 resolver broken. */
int	rsv_process(struct rsv *);

/*
 * Start a request for owner (any pointer that tells clients apart; the
 * done callback finds it in the request).  The id must not be in
 * flight for that owner (rsv_busy) and fewer than RSV_INFLIGHT_MAX may
 * be in flight; a bad name is answered at once (done is called before
 * this returns).  0, or -1 (ENOMEM, or EAGAIN when full).
 */
int	rsv_submit(struct rsv *, const struct dnsp_req *, void *owner,
	    int64_t now_ms);
/* True when owner's request id is in flight. */
bool	rsv_busy(const struct rsv *, const void *owner, unsigned long id);
/*
 * Cancel and free every request of owner without calling done (the
 * client is gone).  Returns how many there were.
 */
size_t	rsv_forget(struct rsv *, const void *owner);

/*
 * Give up on requests whose deadline is <= now_ms (they are answered
 * Z 4.4.3 "timed out", or from what did arrive), and return the
 * earliest remaining deadline, or -1 when nothing is in flight.
 */
int64_t	rsv_expire(struct rsv *, int64_t now_ms);

#endif
