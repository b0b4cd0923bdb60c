/* engine: tern-resolve's lookups on one libunbound context. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "dnsparse.h"
#include "engine.h"

#define CLASS_IN	1

static void	req_finish(struct rsv_req *);

/* Options no configuration may change (tern-resolve(8) says why). */
static const char *const fixed_opts[][2] = {
	/* RFC 6761 reserves test.; the tests serve it on loopback. */
	{ "local-zone:", "test. transparent" },
	{ "do-not-query-localhost:", "no" },
	{ "qname-minimisation:", "no" },
};

static int
set_forwarding(struct ub_ctx *ctx, const struct rsv_cfg *cfg,
    const char **errstr)
{
	size_t	i;
	int	r;

	if (cfg->recurse)
		return 0;
	if (cfg->nfwd == 0) {
		if ((r = ub_ctx_resolvconf(ctx, RSV_RESOLV_CONF)) != 0) {
			*errstr = r == UB_READFILE ? "cannot read "
			    RSV_RESOLV_CONF : ub_strerror(r);
			return -1;
		}
		return 0;
	}
	for (i = 0; i < cfg->nfwd; i++)
		if ((r = ub_ctx_set_fwd(ctx, cfg->fwd[i])) != 0) {
			*errstr = "bad forwarder in control/dnsresolvers";
			return -1;
		}
	return 0;
}

static int
set_options(struct ub_ctx *ctx, const struct rsv_cfg *cfg,
    const char **errstr)
{
	size_t	i;
	int	r;

	for (i = 0; i < sizeof(fixed_opts) / sizeof(fixed_opts[0]); i++)
		if ((r = ub_ctx_set_option(ctx, fixed_opts[i][0],
		    fixed_opts[i][1])) != 0) {
			*errstr = ub_strerror(r);
			return -1;
		}
	for (i = 0; cfg->extra != NULL && cfg->extra[i][0] != NULL; i++)
		if ((r = ub_ctx_set_option(ctx, cfg->extra[i][0],
		    cfg->extra[i][1])) != 0) {
			*errstr = ub_strerror(r);
			return -1;
		}
	if (set_forwarding(ctx, cfg, errstr) == -1)
		return -1;
	for (i = 0; !cfg->novalidate && i < cfg->nta; i++)
		if ((r = ub_ctx_add_ta_file(ctx, cfg->ta[i])) != 0) {
			*errstr = ub_strerror(r);
			return -1;
		}
	/* A thread, not a forked process: the cache stays in this one. */
	if ((r = ub_ctx_async(ctx, 1)) != 0) {
		*errstr = ub_strerror(r);
		return -1;
	}
	return 0;
}

int
rsv_init(struct rsv *rsv, const struct rsv_cfg *cfg, rsv_done_fn done,
    void *arg, const char **errstr)
{
	struct ub_result	*res = NULL;
	int			 r;

	memset(rsv, 0, sizeof(*rsv));
	rsv->done = done;
	rsv->arg = arg;
	rsv->timeout_ms = cfg->timeout * 1000;
	if ((rsv->reqs = calloc(RSV_INFLIGHT_MAX, sizeof(*rsv->reqs))) ==
	    NULL || (rsv->ctx = ub_ctx_create()) == NULL) {
		*errstr = "cannot create the resolver context";
		rsv_free(rsv);
		return -1;
	}
	if (set_options(rsv->ctx, cfg, errstr) == -1) {
		rsv_free(rsv);
		return -1;
	}
	/* localhost. is one of libunbound's built-in local zones. */
	if ((r = ub_resolve(rsv->ctx, "localhost.", DNS_T_A, CLASS_IN,
	    &res)) != 0) {
		*errstr = ub_strerror(r);
		rsv_free(rsv);
		return -1;
	}
	ub_resolve_free(res);
	return 0;
}

void
rsv_free(struct rsv *rsv)
{
	size_t	i;
	int	j;

	for (i = 0; rsv->reqs != NULL && i < rsv->nreqs; i++) {
		for (j = 0; j < 3; j++)
			if (rsv->reqs[i]->sub[j].busy)
				(void)ub_cancel(rsv->ctx,
				    rsv->reqs[i]->sub[j].async_id);
		for (j = 0; j < 3; j++)
			ub_resolve_free(rsv->reqs[i]->sub[j].res);
		dnsp_reply_free(&rsv->reqs[i]->rep);
		free(rsv->reqs[i]);
	}
	free(rsv->reqs);
	if (rsv->ctx != NULL)
		ub_ctx_delete(rsv->ctx);
	memset(rsv, 0, sizeof(*rsv));
}

int
rsv_fd(struct rsv *rsv)
{
	return ub_fd(rsv->ctx);
}

int
rsv_process(struct rsv *rsv)
{
	return ub_process(rsv->ctx) == 0 ? 0 : -1;
}

bool
rsv_busy(const struct rsv *rsv, const void *owner, unsigned long id)
{
	size_t	i;

	for (i = 0; i < rsv->nreqs; i++)
		if (rsv->reqs[i]->id == id && rsv->reqs[i]->owner == owner)
			return true;
	return false;
}

static void
on_result(void *arg, int err, struct ub_result *res)
{
	struct rsv_sub	*s = arg;
	struct rsv_req	*rq = s->req;

	s->busy = false;
	s->err = err;
	s->res = res;
	rq->nbusy--;
	if (rq->nbusy == 0 && !rq->starting)
		req_finish(rq);
}

/* Start lookup i of rq for rrtype; a failure to start is its result. */
static void
sub_start(struct rsv_req *rq, int i, int rrtype)
{
	struct rsv_sub	*s = &rq->sub[i];
	int		 r;

	s->req = rq;
	s->rrtype = rrtype;
	s->busy = true;
	rq->nbusy++;
	if ((r = ub_resolve_async(rq->rsv->ctx, rq->name, rrtype, CLASS_IN,
	    s, on_result, &s->async_id)) != 0) {
		s->busy = false;
		s->err = r;
		rq->nbusy--;
	}
}

/* Start the lookups of a phase; finish at once when none is pending. */
static void
req_start(struct rsv_req *rq)
{
	rq->starting = true;
	if (rq->phase == 1) {
		sub_start(rq, 1, DNS_T_AAAA);
		sub_start(rq, 2, DNS_T_A);
	} else if (rq->type == DNSP_ADDR) {
		sub_start(rq, 0, DNS_T_AAAA);
		sub_start(rq, 1, DNS_T_A);
	} else
		sub_start(rq, 0, rq->type == DNSP_MX ? DNS_T_MX :
		    rq->type == DNSP_A ? DNS_T_A : rq->type == DNSP_AAAA ?
		    DNS_T_AAAA : DNS_T_TLSA);
	rq->starting = false;
	if (rq->nbusy == 0)
		req_finish(rq);
}

static void
req_release(struct rsv_req *rq)
{
	struct rsv	*rsv = rq->rsv;
	size_t		 i;
	int		 j;

	for (i = 0; i < rsv->nreqs; i++)
		if (rsv->reqs[i] == rq) {
			rsv->reqs[i] = rsv->reqs[--rsv->nreqs];
			break;
		}
	for (j = 0; j < 3; j++)
		ub_resolve_free(rq->sub[j].res);
	dnsp_reply_free(&rq->rep);
	free(rq);
}

static void
req_finish(struct rsv_req *rq)
{
	struct dns_look	lk[3];
	int		j;

	for (j = 0; j < 3; j++) {
		lk[j].err = rq->sub[j].err;
		lk[j].res = rq->sub[j].res;
		lk[j].timedout = rq->sub[j].timedout;
	}
	if (rq->type == DNSP_MX && rq->phase == 0) {
		if (dns_mx_reply(&lk[0], &rq->rep) == 0) {
			rq->phase = 1;
			req_start(rq);
			return;
		}
	} else if (rq->type == DNSP_MX)
		dns_implicit_reply(&lk[0], &lk[1], 2, rq->name, &rq->rep);
	else if (rq->type == DNSP_TLSA)
		dns_tlsa_reply(&lk[0], &rq->rep);
	else
		dns_addr_reply(&lk[0], rq->type == DNSP_ADDR ? 2 : 1,
		    &rq->rep);
	rq->rsv->done(rq->rsv, rq, rq->rsv->arg);
	req_release(rq);
}

/* A name a request may ask for (tlsa: owner names with '_'). */
static bool
name_ok(enum dnsp_type type, const char *name)
{
	char	tmp[DNSP_NAME_MAX + 2];
	size_t	n;

	if (!dns_qname_ok(name))
		return false;
	if (type == DNSP_TLSA)
		return true;
	n = strlcpy(tmp, name, sizeof(tmp));
	if (n > 0 && tmp[n - 1] == '.')
		tmp[n - 1] = '\0';
	return dns_hostname_ok(tmp);
}

int
rsv_submit(struct rsv *rsv, const struct dnsp_req *q, void *owner,
    int64_t now_ms)
{
	struct rsv_req	*rq;

	if (rsv->nreqs >= RSV_INFLIGHT_MAX) {
		errno = EAGAIN;
		return -1;
	}
	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return -1;
	rq->rsv = rsv;
	rq->owner = owner;
	rq->id = q->id;
	rq->type = q->type;
	strlcpy(rq->name, q->name, sizeof(rq->name));
	rq->deadline = now_ms + rsv->timeout_ms;
	dnsp_reply_init(&rq->rep);
	rsv->reqs[rsv->nreqs++] = rq;
	if (!name_ok(q->type, q->name)) {
		dnsp_reply_set(&rq->rep, 'D', "5.1.2", "invalid domain name");
		rsv->done(rsv, rq, rsv->arg);
		req_release(rq);
		return 0;
	}
	req_start(rq);
	return 0;
}

size_t
rsv_forget(struct rsv *rsv, const void *owner)
{
	size_t	i = 0, n = 0;
	int	j;

	while (i < rsv->nreqs) {
		if (rsv->reqs[i]->owner != owner) {
			i++;
			continue;
		}
		/* a cancelled lookup's callback never runs */
		for (j = 0; j < 3; j++)
			if (rsv->reqs[i]->sub[j].busy)
				(void)ub_cancel(rsv->ctx,
				    rsv->reqs[i]->sub[j].async_id);
		/* releasing swaps the last request into slot i */
		req_release(rsv->reqs[i]);
		n++;
	}
	return n;
}

/* Cancel what is still running and answer from what arrived. */
static void
req_timeout(struct rsv_req *rq)
{
	int	j;

	for (j = 0; j < 3; j++)
		if (rq->sub[j].busy) {
			(void)ub_cancel(rq->rsv->ctx, rq->sub[j].async_id);
			rq->sub[j].busy = false;
			rq->sub[j].timedout = true;
		}
	/* A timed-out MX lookup is DK_TEMP: no implicit-MX phase follows. */
	rq->nbusy = 0;
	req_finish(rq);
}

int64_t
rsv_expire(struct rsv *rsv, int64_t now_ms)
{
	int64_t	next = -1;
	size_t	i = 0;

	while (i < rsv->nreqs) {
		if (rsv->reqs[i]->deadline <= now_ms) {
			/* finishing swaps the last request into slot i */
			req_timeout(rsv->reqs[i]);
			continue;
		}
		if (next == -1 || rsv->reqs[i]->deadline < next)
			next = rsv->reqs[i]->deadline;
		i++;
	}
	return next;
}
