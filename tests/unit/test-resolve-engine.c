/*
 * test-resolve-engine: tern-resolve's lookups on a real libunbound
 * context answering from local data.  The only forwarder is
 * 127.0.0.1 port 1, where nothing listens: names without local data
 * fail there, and no packet leaves the machine.
 */
#include <poll.h>
#include <string.h>

#include "../../resolve/engine.h"
#include "line.h"
#include "tap.h"

#define NREP	64

struct got {
	unsigned long	id;
	char		letter;
	char		status[10];
	char		recs[512];
	bool		implicit;
	const void	*owner;
};

static struct got	got[NREP];
static size_t		ngot;

static void
on_done(struct rsv *rsv, struct rsv_req *rq, void *arg)
{
	struct got	*g;
	size_t		 pos = 0;

	(void)rsv;
	(void)arg;
	if (ngot == NREP)
		return;
	g = &got[ngot++];
	g->id = rq->id;
	g->owner = rq->owner;
	g->letter = rq->rep.letter;
	g->implicit = rq->rep.implicit;
	strlcpy(g->status, rq->rep.status, sizeof(g->status));
	g->recs[0] = '\0';
	while (pos < rq->rep.recs.len) {
		if (g->recs[0] != '\0')
			strlcat(g->recs, "|", sizeof(g->recs));
		strlcat(g->recs, rq->rep.recs.data + pos, sizeof(g->recs));
		pos += strlen(rq->rep.recs.data + pos) + 1;
	}
}

static const struct got *
find(unsigned long id)
{
	size_t	i;

	for (i = 0; i < ngot; i++)
		if (got[i].id == id)
			return &got[i];
	return NULL;
}

/* Run until nothing is in flight or 10 s have passed. */
static void
run(struct rsv *rsv)
{
	struct pollfd	pfd;
	int64_t		end = line_deadline(10000), now, next;

	while ((now = line_deadline(0)) < end) {
		if ((next = rsv_expire(rsv, now)) == -1)
			return;
		pfd.fd = rsv_fd(rsv);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(next - now)) > 0)
			(void)rsv_process(rsv);
	}
}

#define LD	"local-data:"
static const char *const local_data[][2] = {
	{ LD, "a.test. MX 20 mx2.a.test." },
	{ LD, "a.test. MX 10 mx1.a.test." },
	{ LD, "mx1.a.test. A 127.0.0.2" },
	{ LD, "mx1.a.test. AAAA ::1" },
	{ LD, "nomx.test. A 127.0.0.5" },
	{ LD, "nullmx.test. MX 0 ." },
	{ LD, "txt.test. TXT \"only\"" },
	{ LD, "_25._tcp.mx1.a.test. TLSA 3 1 1 abcd" },
	{ "local-zone:", "nx.test. static" },
	{ NULL, NULL }
};

static const struct {
	unsigned long	 id;
	enum dnsp_type	 type;
	const char	*name;
	char		 letter;
	const char	*status;
	const char	*recs;
} cases[] = {
	{ 1, DNSP_MX, "a.test", 'K', "2.0.0", "M10 mx1.a.test|M20 mx2.a.test" },
	{ 2, DNSP_MX, "nomx.test", 'K', "2.0.0", "M0 nomx.test" },
	{ 3, DNSP_MX, "nullmx.test", 'D', "5.1.10", "" },
	{ 4, DNSP_MX, "txt.test", 'D', "5.1.2", "" },
	{ 5, DNSP_MX, "x.nx.test", 'D', "5.1.2", "" },
	{ 6, DNSP_ADDR, "mx1.a.test", 'K', "2.0.0", "A::1|A127.0.0.2" },
	{ 7, DNSP_A, "nomx.test.", 'K', "2.0.0", "A127.0.0.5" },
	{ 8, DNSP_TLSA, "_25._tcp.mx1.a.test", 'K', "2.0.0", "T3 1 1 abcd" },
	{ 9, DNSP_MX, "elsewhere.test", 'Z', "4.4.3", "" },
	{ 10, DNSP_MX, "bad..name", 'D', "5.1.2", "" },
	{ 11, DNSP_TLSA, "_25._tcp.x.nx.test", 'K', "2.0.0", "" },
};

static void
submit(struct rsv *rsv, void *owner, unsigned long id, enum dnsp_type t,
    const char *name)
{
	struct dnsp_req	q;

	memset(&q, 0, sizeof(q));
	q.id = id;
	q.type = t;
	strlcpy(q.name, name, sizeof(q.name));
	tap_is_int(rsv_submit(rsv, &q, owner, line_deadline(0)), 0,
	    "owner %s: submit %lu %s", owner == NULL ? "none" : "set", id,
	    name);
}

/* tern-resolve -F: one context, request ids per client, clients leave. */
static void
check_owners(struct rsv *rsv)
{
	static int	a, b, c;

	ngot = 0;
	submit(rsv, &a, 1, DNSP_MX, "a.test");
	submit(rsv, &b, 1, DNSP_MX, "nullmx.test");
	submit(rsv, &a, 2, DNSP_MX, "elsewhere.test");
	tap_ok(rsv_busy(rsv, &a, 1) && rsv_busy(rsv, &b, 1) &&
	    !rsv_busy(rsv, &c, 1) && !rsv_busy(rsv, &b, 2),
	    "an id is in flight per owner, not across owners");
	tap_is_int((long long)rsv_forget(rsv, &a), 2,
	    "forgetting an owner cancels its two requests");
	tap_is_int((long long)rsv_forget(rsv, &c), 0,
	    "forgetting an owner without requests changes nothing");
	tap_is_int((long long)rsv->nreqs, 1, "the other owner's request stays");
	run(rsv);
	tap_ok(ngot == 1 && got[0].owner == &b && got[0].id == 1 &&
	    got[0].letter == 'D' && strcmp(got[0].status, "5.1.10") == 0,
	    "only the remaining owner is answered, with its own answer");
}

static int
setup(struct rsv *rsv)
{
	struct rsv_cfg	 cfg;
	const char	*err;

	memset(&cfg, 0, sizeof(cfg));
	strlcpy(cfg.fwd[0], "127.0.0.1@1", sizeof(cfg.fwd[0]));
	cfg.nfwd = 1;
	cfg.novalidate = true;
	cfg.timeout = 2;
	cfg.extra = local_data;
	if (rsv_init(rsv, &cfg, on_done, NULL, &err) == -1) {
		tap_diag("rsv_init: %s", err);
		return -1;
	}
	return 0;
}

int
main(void)
{
	struct rsv		 rsv;
	struct dnsp_req		 q;
	const struct got	*g;
	size_t			 i;

	if (!tap_ok(setup(&rsv) == 0, "a context with local data"))
		return tap_done();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&q, 0, sizeof(q));
		q.id = cases[i].id;
		q.type = cases[i].type;
		strlcpy(q.name, cases[i].name, sizeof(q.name));
		tap_is_int(rsv_submit(&rsv, &q, NULL, line_deadline(0)), 0,
		    "submit %s %s", dnsp_type_name(q.type), q.name);
	}
	tap_ok(rsv_busy(&rsv, NULL, 1) && !rsv_busy(&rsv, NULL, 10),
	    "lookups in flight are busy, a refused name is answered at once");
	tap_is_int((long long)rsv.nreqs, sizeof(cases) / sizeof(cases[0]) - 1,
	    "every other request is in flight at once");
	run(&rsv);
	tap_is_int((long long)rsv.nreqs, 0, "every request finished");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((g = find(cases[i].id)) == NULL) {
			tap_ok(false, "%s: answered", cases[i].name);
			continue;
		}
		tap_ok(g->letter == cases[i].letter &&
		    strcmp(g->status, cases[i].status) == 0,
		    "%s %s: %c %s", dnsp_type_name(cases[i].type),
		    cases[i].name, g->letter, g->status);
		tap_is_str(g->recs, cases[i].recs, "%s: records",
		    cases[i].name);
	}
	tap_ok(find(2) != NULL && find(2)->implicit,
	    "implicit MX is marked");
	tap_is_int((long long)ngot, sizeof(cases) / sizeof(cases[0]),
	    "each request answered once");
	check_owners(&rsv);
	rsv_free(&rsv);
	return tap_done();
}
