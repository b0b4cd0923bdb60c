/* test-remote: tern-remote's routes, TLS policy, message encoding, results. */
#include <stdlib.h>
#include <string.h>

#include "../../deliver/remote.h"
#include "tap.h"

static const char routes[] =
    "# comment\n"
    "example.net [127.0.0.2]:2525\n"
    ".sub.example.org relay.example.org:587 insecure\n"
    "exact.sub.example.org [::1]\n"
    ":smart.example.com\n"
    "mxonly.example\n";

static void
test_routes(void)
{
	static const struct {
		const char	*domain, *want;
		int		 rv;
		bool		 insecure;
	} cases[] = {
		{ "example.net", "[127.0.0.2]:2525", 1, false },
		{ "EXAMPLE.NET", "[127.0.0.2]:2525", 1, false },
		{ "a.sub.example.org", "relay.example.org:587", 1, true },
		{ "exact.sub.example.org", "[::1]", 1, false },
		{ "sub.example.org", "smart.example.com", 1, false },
		{ "other.test", "smart.example.com", 1, false },
		{ "mxonly.example", "", 1, false },
	};
	char		 out[300];
	const char	*why;
	bool		 ins;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ins = false;
		out[0] = '\0';
		tap_is_int(remote_route_find(routes, cases[i].domain, out,
		    sizeof(out), &ins, &why), cases[i].rv, "route %s: found",
		    cases[i].domain);
		tap_is_str(out, cases[i].want, "route %s: host",
		    cases[i].domain);
		tap_ok(ins == cases[i].insecure, "route %s: insecure flag",
		    cases[i].domain);
	}
	tap_is_int(remote_route_find("a.test b.test\n", "c.test", out,
	    sizeof(out), &ins, &why), 0, "no route and no smarthost: MX");
	tap_is_int(remote_route_find("a.test b.test bogus\n", "a.test", out,
	    sizeof(out), &ins, &why), -1, "an unknown route option is an "
	    "error");
}

static void
test_policy(void)
{
	const char	*why, *text = "* none\n.example.org verify\n"
	    "mx.example.org dane\n";
	enum remote_tls	 t;

	tap_ok(remote_tlspolicy_find(text, "mx.example.org", &t, &why) == 1 &&
	    t == RTLS_DANE, "tlspolicy: exact match wins");
	tap_ok(remote_tlspolicy_find(text, "a.example.org", &t, &why) == 1 &&
	    t == RTLS_VERIFY, "tlspolicy: suffix match");
	tap_ok(remote_tlspolicy_find(text, "x.test", &t, &why) == 1 &&
	    t == RTLS_NONE, "tlspolicy: * for the rest");
	tap_ok(remote_tlspolicy_find("", "x.test", &t, &why) == 0 &&
	    t == RTLS_MAY, "tlspolicy: default may");
	tap_is_int(remote_tlspolicy_find("x.test maybe\n", "x.test", &t,
	    &why), -1, "tlspolicy: unknown policy is an error");
	tap_is_int(remote_tlspolicy_find("x.test\n", "x.test", &t, &why), -1,
	    "tlspolicy: a line without a policy is an error");
}

static void
test_hostport(void)
{
	char	name[64];
	int	port;
	bool	lit;

	tap_ok(remote_hostport("[127.0.0.2]:2525", 25, name, sizeof(name),
	    &port, &lit) == 0 && strcmp(name, "127.0.0.2") == 0 &&
	    port == 2525 && lit, "hostport: literal with port");
	tap_ok(remote_hostport("[::1]", 25, name, sizeof(name), &port, &lit)
	    == 0 && strcmp(name, "::1") == 0 && port == 25 && lit,
	    "hostport: IPv6 literal, default port");
	tap_ok(remote_hostport("mx.test", 26, name, sizeof(name), &port, &lit)
	    == 0 && strcmp(name, "mx.test") == 0 && port == 26 && !lit,
	    "hostport: name, default port");
	tap_is_int(remote_hostport("mx.test:99999", 25, name, sizeof(name),
	    &port, &lit), -1, "hostport: port out of range");
	tap_is_int(remote_hostport("[::1", 25, name, sizeof(name), &port,
	    &lit), -1, "hostport: unclosed bracket");
	tap_is_int(remote_hostport("[::1]x", 25, name, sizeof(name), &port,
	    &lit), -1, "hostport: junk after the bracket");
}

static void
test_encode(void)
{
	static const struct {
		const char	*in, *want;
	} cases[] = {
		{ "a\nb\n", "a\r\nb\r\n" },
		{ ".x\n..y\n.\n", "..x\r\n...y\r\n..\r\n" },
		{ "a\r\nb", "a\r\nb" },
		{ "x.y\n", "x.y\r\n" },
	};
	struct buf	out;
	size_t		i;
	bool		bol;

	buf_init(&out, 1024);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&out);
		bol = true;
		remote_msg_encode(&out, cases[i].in, strlen(cases[i].in), &bol);
		tap_is_str(buf_cstr(&out), cases[i].want, "encode case %zu",
		    i);
	}
	/* a dot at the start of the second chunk, after a chunk's LF */
	buf_reset(&out);
	bol = true;
	remote_msg_encode(&out, "a\n", 2, &bol);
	remote_msg_encode(&out, ".b\n", 3, &bol);
	tap_is_str(buf_cstr(&out), "a\r\n..b\r\n",
	    "encode: dot-stuffing across chunks");
	buf_free(&out);
}

static void
test_results(void)
{
	struct remote		r;
	struct remote_rcpt	rc[2];
	struct buf		out;
	char			long_text[1000];

	memset(&r, 0, sizeof(r));
	memset(rc, 0, sizeof(rc));
	r.rcpts = rc;
	r.nrcpts = 2;
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	remote_rcpt_set(&rc[0], 'D', "5.1.1", "h [1.2.3.4]: 550 \x01no%s",
	    "");
	remote_rcpt_set(&rc[1], 'Z', "4.0.0", "%s", long_text);
	tap_is_int(strlen(rc[1].text), REMOTE_TEXT_MAX,
	    "text cut at REMOTE_TEXT_MAX");
	remote_msg_set(&r, 'K', "2.0.0", "done");
	buf_init(&out, 4096);
	rc[1].text[3] = '\0';
	remote_results_format(&r, &out);
	tap_ok(out.len == 54 && memcmp(out.data, "D\0" "5.1.1\0"
	    "h [1.2.3.4]: 550 no\0Z\0" "4.0.0\0xxx\0MK\0" "2.0.0\0done\0",
	    54) == 0, "result records, control bytes stripped");
	buf_free(&out);
	tap_ok(remote_xtext_ok("rfc822;a+2Bb@x"), "xtext: hexchar ok");
	tap_ok(!remote_xtext_ok("a+2b"), "xtext: lower-case hex refused");
	tap_ok(!remote_xtext_ok("a=b"), "xtext: '=' refused");
	tap_ok(!remote_xtext_ok("a b"), "xtext: space refused");
	tap_ok(!remote_xtext_ok("ab+2"), "xtext: cut hexchar refused");
}

static void
test_shuffle(void)
{
	struct remote_host	*h;
	size_t			 i, k, firsts[3] = { 0, 0, 0 };
	bool			 sorted = true;

	h = calloc(5, sizeof(*h));
	if (h == NULL)
		abort();
	for (k = 0; k < 300; k++) {
		for (i = 0; i < 5; i++) {
			h[i].pref = i == 0 ? 10 : i < 4 ? 20 : 30;
			h[i].port = (int)i;
		}
		remote_shuffle_equal(h, 5);
		if (h[0].port != 0 || h[4].port != 4)
			sorted = false;
		firsts[h[1].port - 1]++;
	}
	tap_ok(sorted, "shuffle: preference order kept");
	tap_ok(firsts[0] > 50 && firsts[1] > 50 && firsts[2] > 50,
	    "shuffle: each of three equal hosts comes first sometimes "
	    "(%zu %zu %zu)", firsts[0], firsts[1], firsts[2]);
	free(h);
}

int
main(void)
{
	test_routes();
	test_policy();
	test_hostport();
	test_encode();
	test_results();
	test_shuffle();
	return tap_done();
}
