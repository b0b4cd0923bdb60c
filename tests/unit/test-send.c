/* test-send: tern-send's pure logic: schedule, heap, split, framing. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../queue/send.h"
#include "../../queue/send_cfg.h"
#include "../../queue/send_proto.h"
#include "../../queue/send_sched.h"
#include "tap.h"

static void
test_next_try(void)
{
	static const struct {
		long long arrival, now, step, lifetime, want;
		const char *name;
	} t[] = {
		{ 1000, 1000, 60, -1, 1060, "first retry one step on" },
		{ 1000, 1059, 60, -1, 1060, "still the first step at age 59" },
		{ 1000, 1060, 60, -1, 1240, "age 60: (1+1)^2 steps" },
		{ 1000, 1239, 60, -1, 1240, "age 239 keeps the 4-step mark" },
		{ 1000, 1240, 60, -1, 1540, "age 240: (2+1)^2 steps" },
		{ 0, 3600, 60, -1, 3840, "age one hour: 64 steps" },
		{ 0, 1000000, 1, -1, 1002001, "integer sqrt is exact: 1000^2" },
		{ 0, 999999, 1, -1, 1000000, "exact just below a square" },
		{ 2000, 1000, 60, -1, 2060, "clock went back: age 0" },
		{ 1000, 1000, 60, 30, 1031, "clamped to the lifetime" },
		{ 1000, 1001, 1, 3, 1004, "short lifetime: try at expiry" },
		{ 0, 100, 60, 30, 101, "past the lifetime: one second later" },
		{ 1000, 1000, 60, 432000, 1060, "default lifetime: no clamp" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		tap_is_int((long long)send_next_try((time_t)t[i].arrival,
		    (time_t)t[i].now, t[i].step, t[i].lifetime), t[i].want,
		    "next_try: %s", t[i].name);
}

static void
test_next_try_limits(void)
{
	time_t big = (time_t)(((unsigned long long)1 << 62));
	time_t n;
	bool later = true;
	long long age;

	n = send_next_try(0, big, 86400, -1);
	tap_ok(n > big, "next_try: huge age saturates instead of overflowing");
	n = send_next_try(big, big, (long long)1 << 62, -1);
	tap_ok(n > big, "next_try: huge step saturates");
	for (age = 0; age < 100000; age += 7)
		if (send_next_try(500, 500 + age, 60, -1) <= 500 + age)
			later = false;
	tap_ok(later, "next_try: always later than now");
}

static void
test_expired(void)
{
	tap_ok(!send_expired(1000, 1003, 3), "expired: not at age == lifetime");
	tap_ok(send_expired(1000, 1004, 3), "expired: one second past it");
	tap_ok(!send_expired(1000, 900, 3), "expired: never before arrival");
	tap_ok(send_expired(1000, 1001, 0), "expired: lifetime 0 is immediate");
}

struct hitem {
	size_t	 pos;
	int	 key;
};

static void
test_heap(void)
{
	static const int keys[] = { 50, 10, 40, 10, 90, 30, 70, 20, 60, 80,
	    5, 15 };
	enum { N = sizeof(keys) / sizeof(keys[0]) };
	struct hitem it[N], *p;
	struct send_heap h;
	time_t due, last = 0;
	bool sorted = true, all = true;
	size_t i, n = 0;

	send_heap_init(&h);
	tap_ok(send_heap_pop(&h) == NULL, "heap: empty pops NULL");
	for (i = 0; i < N; i++) {
		it[i].pos = SEND_HEAP_NONE;
		it[i].key = keys[i];
		if (send_heap_push(&h, keys[i], &it[i], &it[i].pos) == -1)
			all = false;
	}
	tap_ok(all, "heap: pushes succeed");
	send_heap_remove(&h, it[4].pos);	/* 90 */
	tap_ok(it[4].pos == SEND_HEAP_NONE, "heap: removed item is marked");
	send_heap_remove(&h, it[1].pos);	/* one 10 */
	while ((p = send_heap_peek(&h, &due)) != NULL) {
		if (due < last || p->key != due)
			sorted = false;
		last = due;
		(void)send_heap_pop(&h);
		if (p->pos != SEND_HEAP_NONE)
			sorted = false;
		n++;
	}
	tap_ok(sorted, "heap: pops in due order, positions kept");
	tap_is_int((long long)n, N - 2, "heap: every remaining item popped");
	for (i = 0; i < N; i++)
		(void)send_heap_push(&h, keys[i], &it[i], &it[i].pos);
	send_heap_advance_all(&h, 25);
	for (i = 0, last = 0, sorted = true; i < N; i++) {
		(void)send_heap_peek(&h, &due);
		if (due < last || due > 25)
			sorted = false;
		last = due;
		(void)send_heap_pop(&h);
	}
	tap_ok(sorted, "heap: advance_all brings everything to the flush time");
	send_heap_free(&h);
}

static void
test_is_local(void)
{
	char *items[] = { "a.test", "B.test" };
	struct send_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	(void)strlcpy(cfg.me, "tern.test", sizeof(cfg.me));
	tap_ok(send_is_local(&cfg, "u@tern.test"), "local: me by default");
	tap_ok(send_is_local(&cfg, "u@TERN.Test"), "local: me, case ignored");
	tap_ok(!send_is_local(&cfg, "u@example.org"), "local: other is remote");
	tap_ok(send_is_local(&cfg, "postmaster"), "local: bare postmaster");
	tap_ok(!send_is_local(&cfg, "u@sub.tern.test"),
	    "local: a subdomain of me is remote");
	cfg.localdomains.items = items;
	cfg.localdomains.n = 2;
	tap_ok(send_is_local(&cfg, "u@b.test"), "local: listed, case ignored");
	tap_ok(send_is_local(&cfg, "\"a@b\"@a.test"),
	    "local: domain after the last @");
	tap_ok(!send_is_local(&cfg, "u@tern.test"),
	    "local: me is not implied once localdomains lists domains");
}

static void
test_request(void)
{
	static const char want[] = "3\0" "0123456789abcdef\0" "s@x\0" "r@y\0"
	    "-\0";
	static const char wantc[] = "12\0" "0123456789abcdef\0" "s@x\0"
	    "r@y\0" "c\0";
	struct buf b;

	buf_init(&b, 4096);
	tap_ok(send_request_format(&b, 3, "0123456789abcdef", "s@x", "r@y",
	    false) == 0 && b.len == sizeof(want) &&
	    memcmp(b.data, want, sizeof(want)) == 0,
	    "request: fields NUL-terminated, flag -, then an empty field");
	buf_reset(&b);
	tap_ok(send_request_format(&b, 12, "0123456789abcdef", "s@x", "r@y",
	    true) == 0 && b.len == sizeof(wantc) &&
	    memcmp(b.data, wantc, sizeof(wantc)) == 0,
	    "request: a check delivery carries the flag c");
	buf_reset(&b);
	tap_ok(send_request_format(&b, 0, "0123456789abcdef", "", "r@y",
	    false) == 0 && b.len == 2 + 17 + 1 + 4 + 2 + 1 &&
	    b.data[19] == '\0', "request: the null sender is an empty field");
	buf_reset(&b);
	tap_ok(send_request_format(&b, 0, "id", "s", "r\n@y", false) == -1 &&
	    b.len == 0, "request: LF in a field is refused, nothing written");
	tap_ok(send_request_format(&b, 0, "id", "s", "", false) == -1,
	    "request: empty recipient refused");
	buf_free(&b);
	buf_init(&b, 10);
	tap_ok(send_request_format(&b, 0, "0123456789abcdef", "s", "r",
	    true) == -1 && b.len == 0,
	    "request: buffer cap reached, nothing written");
	buf_free(&b);
}

static int
parse(const char *data, size_t len, struct send_result *r, size_t *used,
    const char **why)
{
	*why = NULL;
	return send_result_parse(data, len, used, r, why);
}

static void
test_result_ok(void)
{
	static const char one[] = "7\0K\0" "2.0.0\0delivered\0\0";
	static const char two[] = "0\0Z\0" "4.3.0\0a\x01" "b\0\0" "1\0D\0"
	    "5.1.1\0no such user\0\0";
	struct send_result r;
	const char *why;
	size_t used, i;
	bool partial = true;

	tap_ok(parse(one, sizeof(one) - 1, &r, &used, &why) == 1 &&
	    used == sizeof(one) - 1 && r.slot == 7 && r.code == 'K' &&
	    strcmp(r.status, "2.0.0") == 0 && strcmp(r.text, "delivered") == 0,
	    "result: a complete K result");
	for (i = 0; i < sizeof(one) - 1; i++)
		if (parse(one, i, &r, &used, &why) != 0)
			partial = false;
	tap_ok(partial, "result: every proper prefix asks for more");
	tap_ok(parse(two, sizeof(two) - 1, &r, &used, &why) == 1 &&
	    r.code == 'Z' && strcmp(r.text, "a?b") == 0,
	    "result: control bytes in the text become '?'");
	tap_ok(parse(two + used, sizeof(two) - 1 - used, &r, &used, &why) == 1
	    && r.slot == 1 && r.code == 'D' && strcmp(r.status, "5.1.1") == 0,
	    "result: the second of two back-to-back results");
}

static void
test_result_bad(void)
{
	static const struct {
		const char *data;
		size_t len;
		const char *name;
	} t[] = {
#define T(s, n) { s, sizeof(s) - 1, n }
		T("x\0K\0" "2.0.0\0ok\0\0", "slot not a number"),
		T("01\0K\0" "2.0.0\0ok\0\0", "slot with a leading zero"),
		T("1234567890\0", "slot over nine digits"),
		T("\0K\0" "2.0.0\0ok\0\0", "empty slot"),
		T("1\0X\0" "2.0.0\0ok\0\0", "unknown letter"),
		T("1\0KK", "letter field too long"),
		T("1\0K\0" "6.0.0\0ok\0\0", "status class 6"),
		T("1\0K\0" "4.0\0ok\0\0", "status with two parts"),
		T("1\0K\0" "4.1234.0\0ok\0\0", "status part of four digits"),
		T("1\0K\0" "4.1.1 \0ok\0\0", "status with a trailing blank"),
		T("1\0K\0" "2.0.0\0ok\0X", "no final empty field"),
#undef T
	};
	struct send_result r;
	const char *why;
	char big[SEND_RESULT_MAX + 64];
	size_t used, i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		tap_ok(parse(t[i].data, t[i].len, &r, &used, &why) == -1 &&
		    why != NULL, "result refused: %s", t[i].name);
	n = (size_t)snprintf(big, sizeof(big), "1%cZ%c4.0.0%c", 0, 0, 0);
	memset(big + n, 'a', SEND_TEXT_MAX);
	big[n + SEND_TEXT_MAX] = '\0';
	big[n + SEND_TEXT_MAX + 1] = '\0';
	tap_ok(parse(big, n + SEND_TEXT_MAX + 2, &r, &used, &why) == 1 &&
	    strlen(r.text) == SEND_TEXT_MAX,
	    "result: text of exactly 400 bytes");
	memset(big + n, 'a', SEND_TEXT_MAX + 1);
	tap_ok(parse(big, n + SEND_TEXT_MAX + 1, &r, &used, &why) == -1,
	    "result refused: text over 400 bytes, even before its NUL");
}

static void
test_status(void)
{
	tap_ok(send_status_valid("5.1.1"), "status: 5.1.1");
	tap_ok(send_status_valid("4.999.999"), "status: three-digit parts");
	tap_ok(!send_status_valid(""), "status: empty");
	tap_ok(!send_status_valid("3.0.0"), "status: class 3");
	tap_ok(!send_status_valid("5..1"), "status: empty part");
}

static int nwarn;

static void
count_warn(const char *file, const char *why)
{
	(void)file;
	(void)why;
	nwarn++;
}

static void
put(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;

	(void)snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "w")) == NULL)
		abort();
	(void)fputs(text, f);
	(void)fclose(f);
}

static void
rm_files(const char *dir)
{
	static const char *const names[] = { "me", "concurrencylocal",
	    "queuelifetime", "localretrystep", "rescaninterval", "postmaster",
	    "localdomains" };
	char p[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		(void)unlink(p);
	}
	(void)rmdir(dir);
}

static void
test_cfg(void)
{
	char dir[] = "/tmp/test-send.XXXXXX";
	struct send_cfg cfg;

	if (mkdtemp(dir) == NULL)
		abort();
	put(dir, "me", "tern.test\n");
	nwarn = 0;
	send_cfg_load(&cfg, dir, count_warn);
	tap_ok(nwarn == 0 && cfg.concurrency == 10 && cfg.lifetime == 432000 &&
	    cfg.step == 60 && cfg.rescan == 60 && cfg.localdomains.n == 0,
	    "cfg: defaults when files are absent");
	tap_is_str(cfg.postmaster, "postmaster@tern.test",
	    "cfg: postmaster defaults to postmaster@me");
	send_cfg_free(&cfg);
	put(dir, "concurrencylocal", "0\n");
	put(dir, "queuelifetime", "3\n");
	put(dir, "localretrystep", "1\n");
	put(dir, "rescaninterval", "soon\n");
	put(dir, "postmaster", "admin\n");
	put(dir, "localdomains", "a.test\nb.test\n");
	send_cfg_load(&cfg, dir, count_warn);
	tap_ok(nwarn == 2 && cfg.concurrency == 10 && cfg.rescan == 60,
	    "cfg: out of range and garbage warn and keep the default");
	tap_ok(cfg.lifetime == 3 && cfg.step == 1 && cfg.localdomains.n == 2,
	    "cfg: values read");
	tap_is_str(cfg.postmaster, "admin@tern.test",
	    "cfg: postmaster without a domain gets me");
	send_cfg_free(&cfg);
	put(dir, "concurrencylocal", "1001\n");
	nwarn = 0;
	send_cfg_load(&cfg, dir, count_warn);
	tap_ok(nwarn == 2 && cfg.concurrency == SEND_CONC_DEFAULT,
	    "cfg: concurrencylocal over the maximum is refused");
	send_cfg_free(&cfg);
	rm_files(dir);
}

static void
test_msg_table(void)
{
	static struct send_state st;
	struct send_msg *m;
	char id[QID_LEN + 1];
	bool found = true, gone = true;
	time_t due;
	int i;

	if (send_state_init(&st) == -1)
		abort();
	for (i = 0; i < 3000; i++) {
		(void)snprintf(id, sizeof(id), "1lg%013d", i);
		if (send_msg_add(&st, id, 5000 - i) == NULL)
			found = false;
	}
	tap_ok(found && st.nmsg == 3000 && st.hsize >= 3000,
	    "table: 3000 messages added, the hash grew");
	for (i = 0; i < 3000; i++) {
		(void)snprintf(id, sizeof(id), "1lg%013d", i);
		m = send_msg_find(&st, id);
		if (m == NULL || strcmp(m->id, id) != 0)
			found = false;
		else if (i % 2 == 0)
			send_msg_drop(&st, m);
	}
	tap_ok(found, "table: every message is found by id");
	for (i = 0; i < 3000; i += 2) {
		(void)snprintf(id, sizeof(id), "1lg%013d", i);
		if (send_msg_find(&st, id) != NULL)
			gone = false;
	}
	tap_ok(gone && st.nmsg == 1500 && st.heap.n == 1500,
	    "table: dropped messages leave the table and the heap");
	m = send_heap_peek(&st.heap, &due);
	tap_ok(m != NULL && due == 5000 - 2999 && strcmp(m->id,
	    "1lg0000000002999") == 0, "table: the heap yields the earliest");
	send_msg_wait(&st, m, false);
	tap_ok(m->waiting && m->heap_pos == SEND_HEAP_NONE &&
	    TAILQ_FIRST(&st.waitq) == m, "table: waiting leaves the heap");
	send_msg_drop(&st, m);
	tap_ok(TAILQ_EMPTY(&st.waitq) && st.nmsg == 1499,
	    "table: dropping a waiting message empties the wait list");
}

int
main(void)
{
	test_next_try();
	test_next_try_limits();
	test_expired();
	test_heap();
	test_is_local();
	test_request();
	test_result_ok();
	test_result_bad();
	test_status();
	test_cfg();
	test_msg_table();
	return tap_done();
}
