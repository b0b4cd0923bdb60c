/*
 * test-pop3: the POP3 parsers and sessions (pop3d/), the front's
 * credentials message, the Maildir lock and lib/maildir_scan.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../pop3d/front.h"
#include "../../pop3d/mbox.h"
#include "../../pop3d/pop3.h"
#include "maildir_scan.h"
#include "tap.h"

/* --- numbers, base64, PLAIN ------------------------------------------ */

static const struct {
	const char	*in;
	unsigned long	 min;
	int		 r;
	unsigned long	 v;
	const char	*name;
} num_cases[] = {
	{ "1", 1, 0, 1, "1 is a message number" },
	{ "999999999", 1, 0, 999999999, "nine digits are allowed" },
	{ "0", 1, -1, 0, "RETR 0 is no message" },
	{ "0", 0, 0, 0, "TOP may ask for 0 lines" },
	{ "4294967297", 1, -1, 0, "ten digits (past 32 bits) are refused" },
	{ "-1", 0, -1, 0, "a sign is refused" },
	{ "+1", 1, -1, 0, "a plus sign is refused" },
	{ "1 ", 1, -1, 0, "a trailing blank is refused" },
	{ "", 1, -1, 0, "an empty number is refused" },
	{ "1x", 1, -1, 0, "trailing garbage is refused" },
};

static void
test_num(void)
{
	unsigned long v;
	size_t i;
	int r;

	for (i = 0; i < sizeof(num_cases) / sizeof(num_cases[0]); i++) {
		v = 12345;
		r = pop3_num(num_cases[i].in, strlen(num_cases[i].in),
		    num_cases[i].min, &v);
		tap_ok(r == num_cases[i].r && (r != 0 || v == num_cases[i].v),
		    "pop3_num: %s", num_cases[i].name);
	}
}

static void
test_plain(void)
{
	char out[64], dec[64];
	const char *u, *p;
	long n;

	n = sasl_b64_decode("AHVAdGVybi50ZXN0AHMzY3JldA==", 28, dec,
	    sizeof(dec));
	tap_is_int(n, 19, "base64 of a PLAIN response decodes");
	tap_ok(sasl_plain_split(dec, (size_t)n, &u, &p) == 0 &&
	    strcmp(u, "u@tern.test") == 0 && strcmp(p, "s3cret") == 0,
	    "PLAIN splits into user and password");
	n = sasl_b64_decode("YQBiAGM=", 8, dec, sizeof(dec));
	tap_ok(n == 5 && sasl_plain_split(dec, 5, &u, &p) == -1,
	    "PLAIN with an authzid unlike the user is refused");
	tap_is_int(sasl_b64_decode("abc", 3, out, sizeof(out)), -1,
	    "base64 not a multiple of 4 is refused");
	tap_is_int(sasl_b64_decode("a=bc", 4, out, sizeof(out)), -1,
	    "'=' inside base64 is refused");
	tap_is_int(sasl_b64_decode("YWJjZGVm", 8, out, 4), -1,
	    "base64 that does not fit is refused");
	n = sasl_b64_decode("AAB4", 4, dec, sizeof(dec));
	tap_ok(n == 3 && sasl_plain_split(dec, 3, &u, &p) == -1,
	    "PLAIN with an empty user is refused");
}

/* --- CRLF size and dot-stuffing -------------------------------------- */

static const struct {
	const char	*in;
	const char	*out;
	long long	 top;
	const char	*name;
} stuff_cases[] = {
	{ "a\nb\n", "a\r\nb\r\n", -1, "LF becomes CRLF" },
	{ "a\r\nb\r\n", "a\r\nb\r\n", -1, "CRLF stays CRLF" },
	{ "a\nb", "a\r\nb\r\n", -1, "a last line without LF gets CRLF" },
	{ ".a\n..b\nc.\n", "..a\r\n...b\r\nc.\r\n", -1,
	  "a leading dot is doubled, others not" },
	{ ".\n", "..\r\n", -1, "a lone dot line is stuffed" },
	{ "", "", -1, "an empty file sends nothing" },
	{ "a\rb\n", "a\rb\r\n", -1, "a bare CR is sent as is" },
	{ "x\r", "x\r\r\n", -1, "a last CR without LF gets CRLF" },
	{ "H: 1\n\nb1\nb2\nb3\n", "H: 1\r\n\r\nb1\r\n", 1,
	  "TOP 1: header, blank line, one body line" },
	{ "H: 1\r\n\r\nb1\r\n", "H: 1\r\n\r\n", 0,
	  "TOP 0 on a CRLF file: header and blank line" },
	{ "H: 1\nH: 2\n", "H: 1\r\nH: 2\r\n", 0,
	  "TOP 0 without a body: the whole header" },
	{ "H: 1\n\n.b1\nb2\n", "H: 1\r\n\r\n..b1\r\nb2\r\n", 5,
	  "TOP more lines than the body has" },
};

static size_t
stuff_all(const char *in, size_t len, long long top, size_t step,
    char *out)
{
	struct pop3_stuff st;
	size_t i, o = 0, n;

	pop3_stuff_init(&st, top);
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		o += pop3_stuff_add(&st, in + i, n, out + o);
	}
	o += pop3_stuff_end(&st, out + o);
	out[o] = '\0';
	return o;
}

static void
test_stuff(void)
{
	struct mscan_crlf c;
	char out[256], out1[256];
	size_t i, len, o, dots, j;
	const char *in;

	for (i = 0; i < sizeof(stuff_cases) / sizeof(stuff_cases[0]); i++) {
		in = stuff_cases[i].in;
		len = strlen(in);
		o = stuff_all(in, len, stuff_cases[i].top, len + 1, out);
		tap_is_str(out, stuff_cases[i].out, "stuff: %s",
		    stuff_cases[i].name);
		(void)stuff_all(in, len, stuff_cases[i].top, 1, out1);
		tap_is_str(out1, out, "stuff byte by byte: %s",
		    stuff_cases[i].name);
		if (stuff_cases[i].top >= 0)
			continue;
		for (dots = 0, j = 0; j < o; j++)
			if (out[j] == '.' && (j == 0 || out[j - 1] == '\n'))
				dots++;
		mscan_crlf_init(&c);
		for (j = 0; j < len; j++)
			mscan_crlf_add(&c, in + j, 1);
		tap_is_int((long long)mscan_crlf_end(&c), (long long)(o - dots),
		    "the CRLF size is what is sent, less stuffing: %s",
		    stuff_cases[i].name);
	}
}

/* --- unique ids, sizes in names -------------------------------------- */

static void
test_uid(void)
{
	char uid[MSCAN_UID_MAX + 1], name[200];
	bool hs, hw;
	uint64_t s, w;

	tap_is_int((long long)mscan_uid("123.M1P2.host:2,S", 13, uid), 13,
	    "a short base name is its own id");
	tap_is_str(uid, "123.M1P2.host", "the id stops at ':'");
	memset(name, 'a', 71);
	name[71] = '\0';
	tap_is_int((long long)mscan_uid(name, 71, uid), 63,
	    "a base name over 70 bytes is hashed");
	tap_ok(strncmp(uid, "sha256-", 7) == 0, "the hashed id says sha256");
	tap_ok(mscan_name_sizes("1.M2.h,S=4096,W=4200", 20, &hs, &s, &hw,
	    &w) && hs && hw && s == 4096 && w == 4200,
	    "S= and W= are read from a name");
	tap_ok(!mscan_name_sizes("1.M2.h,S=40x", 12, &hs, &s, &hw, &w),
	    "a malformed S= is refused");
}

/* --- the credentials message ----------------------------------------- */

static void
test_front_msg(void)
{
	char buf[FRONT_MSG_MAX];
	struct front_cred c;
	struct front_hdr h;
	ssize_t n;

	n = front_msg_build(buf, sizeof(buf), "u@x", "p w", "STAT\r\n", 6,
	    true);
	tap_ok(n > 0 && front_msg_parse(buf, (size_t)n, &c) == 0 &&
	    strcmp(c.user, "u@x") == 0 && strcmp(c.pass, "p w") == 0 &&
	    c.pendlen == 6 && memcmp(c.pending, "STAT\r\n", 6) == 0 && c.tls,
	    "the credentials message round-trips");
	n = front_msg_build(buf, sizeof(buf), "u", "p", "", 0, false);
	tap_is_int(front_msg_parse(buf, (size_t)n - 1, &c), -1,
	    "a short message is refused");
	memcpy(&h, buf, sizeof(h));
	h.userlen = 100000;
	memcpy(buf, &h, sizeof(h));
	tap_is_int(front_msg_parse(buf, (size_t)n, &c), -1,
	    "a huge length is refused");
	n = front_msg_build(buf, sizeof(buf), "u", "p", "", 0, false);
	buf[sizeof(h)] = '\0';
	tap_is_int(front_msg_parse(buf, (size_t)n, &c), -1,
	    "a NUL in the user is refused");
	tap_is_int(front_verdict(1 << 8), FRONT_VERDICT_BAD,
	    "checkpassword exit 1: bad login");
	tap_is_int(front_verdict(111 << 8), FRONT_VERDICT_TEMP,
	    "exit 111: temporary");
	tap_is_int(front_verdict(0), 0, "exit 0: the session ran");
	tap_is_int(front_verdict(9), 0, "killed: the session is over");
}

/* --- the login session over a fake outside --------------------------- */

struct fake {
	char	out[8192];
	size_t	outlen;
	int	fd;		/* the session's input */
	int	logins;
	char	user[64];
	const char *after_tls;	/* input once TLS is up */
};

static int
fake_output(void *ctx, const char *p, size_t len)
{
	struct fake *f = ctx;

	if (f->outlen + len >= sizeof(f->out))
		return -1;
	memcpy(f->out + f->outlen, p, len);
	f->outlen += len;
	f->out[f->outlen] = '\0';
	return 0;
}

static int
memfd_with(const char *s)
{
	int fd = memfd_create("pop3", 0);

	if (fd == -1 || write(fd, s, strlen(s)) != (ssize_t)strlen(s) ||
	    lseek(fd, 0, SEEK_SET) == -1)
		abort();
	return fd;
}

static int
fake_starttls(void *ctx)
{
	struct fake *f = ctx;
	int fd = memfd_with(f->after_tls);

	if (dup2(fd, f->fd) == -1)
		abort();
	(void)close(fd);
	return 0;
}

static int
fake_login(void *ctx, const char *user, const char *pass,
    const char *pending, size_t pendlen, bool tls)
{
	struct fake *f = ctx;

	(void)pending;
	(void)pendlen;
	(void)tls;
	f->logins++;
	(void)strlcpy(f->user, user, sizeof(f->user));
	return strcmp(pass, "good") == 0 ? 0 : 1;
}

static const struct pop3_login_ops fake_login_ops = {
	fake_output, fake_starttls, fake_login, NULL
};

static void
run_login(struct fake *f, const char *in, bool insecure)
{
	struct pop3_login_cfg cfg = { insecure, 0 };
	struct pop3_login s;

	f->outlen = 0;
	f->out[0] = '\0';
	f->logins = 0;
	f->fd = memfd_with(in);
	if (pop3_login_init(&s, &cfg, &fake_login_ops, f, f->fd, false) == -1)
		abort();
	pop3_login_run(&s);
	pop3_login_free(&s);
	(void)close(f->fd);
}

static void
test_login(void)
{
	struct fake f;

	memset(&f, 0, sizeof(f));
	f.after_tls = "PASS good\r\nQUIT\r\n";
	run_login(&f, "STLS\r\nUSER x\r\n", false);
	tap_ok(strstr(f.out, "+OK begin TLS") != NULL &&
	    strstr(f.out, "-ERR send USER first") != NULL && f.logins == 0,
	    "USER sent with STLS in one write is never executed");
	run_login(&f, "USER u\r\nPASS good\r\nSTAT\r\n", false);
	tap_ok(f.logins == 0 && strstr(f.out, "-ERR [AUTH] plaintext") !=
	    NULL, "no plaintext login without TLS or pop3insecure");
	run_login(&f, "USER u\r\nPASS good\r\n", true);
	tap_ok(f.logins == 1 && strcmp(f.user, "u") == 0,
	    "USER and PASS hand the login over");
	run_login(&f, "USER u\r\nPASS a\r\nUSER u\r\nPASS b\r\nUSER u\r\n"
	    "PASS c\r\nUSER u\r\nPASS good\r\n", true);
	tap_ok(f.logins == 3 && strstr(f.out, "closing connection") != NULL,
	    "the third failure ends the session");
	run_login(&f, "USER u\r\nSTLS\r\n", true);
	tap_ok(strstr(f.out, "-ERR STLS not allowed after USER") != NULL,
	    "STLS after USER is refused");
	run_login(&f, "AUTH PLAIN AHUAZ29vZA==\r\n", true);
	tap_ok(f.logins == 1 && strcmp(f.user, "u") == 0,
	    "AUTH PLAIN with an initial response");
	run_login(&f, "RETR 1\r\nLIST\r\nQUIT\r\n", true);
	tap_ok(f.logins == 0 && strstr(f.out, "-ERR not logged in") != NULL,
	    "transaction commands before login are refused");
}

/* --- the transaction session over fake messages ---------------------- */

struct fakebox {
	struct fake	 f;
	const char	*msgs[3];
	bool		 removed[3];
};

static int
box_size(void *ctx, size_t i, uint64_t *out)
{
	struct fakebox *b = ctx;
	struct mscan_crlf c;

	mscan_crlf_init(&c);
	mscan_crlf_add(&c, b->msgs[i], strlen(b->msgs[i]));
	*out = mscan_crlf_end(&c);
	return 0;
}

static int
box_uid(void *ctx, size_t i, char *out, size_t outsz)
{
	(void)ctx;
	(void)snprintf(out, outsz, "uid%zu", i + 1);
	return 0;
}

static int
box_open(void *ctx, size_t i)
{
	struct fakebox *b = ctx;

	return memfd_with(b->msgs[i]);
}

static int
box_remove(void *ctx, size_t i)
{
	struct fakebox *b = ctx;

	b->removed[i] = true;
	return 0;
}

static const struct pop3d_ops box_ops = {
	fake_output, box_size, box_uid, box_open, box_remove, NULL, NULL
};

static void
run_box(struct fakebox *b, const char *in, const char *pending)
{
	struct pop3d s;
	int fd = memfd_with(in);

	b->f.outlen = 0;
	memset(b->removed, 0, sizeof(b->removed));
	if (pop3d_init(&s, &box_ops, b, fd, 3, pending, strlen(pending)) ==
	    -1)
		abort();
	pop3d_run(&s);
	pop3d_free(&s);
	(void)close(fd);
}

static void
test_session(void)
{
	struct fakebox b;

	memset(&b, 0, sizeof(b));
	b.msgs[0] = "S: a\n\nbody\n.dot\n";
	b.msgs[1] = "S: b\n\nx";
	b.msgs[2] = "";
	run_box(&b, "QUIT\r\n", "STAT\r\nDELE 2\r\n");
	tap_ok(strstr(b.f.out, "+OK 3 31\r\n") != NULL &&
	    strstr(b.f.out, "+OK message 2 deleted") != NULL && b.removed[1] &&
	    !b.removed[0], "pending input runs first; DELE takes effect "
	    "at QUIT");
	run_box(&b, "DELE 1\r\nRETR 1\r\n", "");
	tap_ok(strstr(b.f.out, "-ERR message 1 already deleted") != NULL &&
	    !b.removed[0], "DELE then RETR: -ERR; no QUIT: nothing removed");
	run_box(&b, "RETR 1\r\nQUIT\r\n", "");
	tap_ok(strstr(b.f.out, "+OK 20 octets\r\nS: a\r\n\r\nbody\r\n..dot"
	    "\r\n.\r\n") != NULL, "RETR: size, CRLF, stuffing, end");
	run_box(&b, "RETR 0\r\nRETR 4294967297\r\nTOP 1 -1\r\nLIST 99999"
	    "\r\nQUIT\r\n", "");
	tap_ok(strstr(b.f.out, "-ERR no such message\r\n-ERR no such message"
	    "\r\n-ERR syntax error\r\n-ERR no such message\r\n") != NULL,
	    "bad message numbers are refused");
	run_box(&b, "UIDL\r\nQUIT\r\n", "");
	tap_ok(strstr(b.f.out, "1 uid1\r\n2 uid2\r\n3 uid3\r\n.\r\n") != NULL,
	    "UIDL lists every id");
}

/* --- Maildir scan and lock ------------------------------------------- */

static void
put(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *fp;

	(void)snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fp = fopen(p, "w")) == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
}

static void
test_scan(void)
{
	char md[] = "/tmp/test-pop3.XXXXXX", p[512], p2[512], lock[1100];
	char host[256];
	struct mscan m;
	uint64_t sz;
	int fd;

	if (mkdtemp(md) == NULL)
		abort();
	(void)snprintf(p, sizeof(p), "%s/new", md);
	(void)mkdir(p, 0700);
	(void)snprintf(p2, sizeof(p2), "%s/cur", md);
	(void)mkdir(p2, 0700);
	put(p, "200.M1.h", "new one\n");
	put(p2, "100.M1.h:2,S", "old\none\n");
	put(md, "outside", "secret\n");
	(void)snprintf(lock, sizeof(lock), "%s/outside", md);
	(void)snprintf(p, sizeof(p), "%s/cur/50.link:2,", md);
	(void)symlink(lock, p);
	(void)snprintf(p, sizeof(p), "%s/new", md);
	(void)snprintf(p2, sizeof(p2), "%s/cur", md);
	put(p, "300.dup.h", "in new\n");
	put(p2, "300.dup.h:2,", "in cur\n");
	tap_ok(mscan_open(&m, md, true) == 0 && m.n == 3,
	    "scan: three messages, the symlink is not listed");
	mscan_free(&m);
	(void)snprintf(lock, sizeof(lock), "%s/300.dup.h", p);
	tap_ok(access(lock, F_OK) == 0, "a name already in cur/ is not "
	    "replaced: the new/ file stays");
	(void)unlink(lock);
	(void)snprintf(lock, sizeof(lock), "%s/300.dup.h:2,", p2);
	(void)unlink(lock);
	(void)snprintf(lock, sizeof(lock), "%s/outside", md);
	tap_ok(mscan_open(&m, md, true) == 0 && m.n == 2,
	    "scan again: two messages");
	tap_ok(m.n == 2 && strcmp(m.msgs[0].name, "100.M1.h:2,S") == 0 &&
	    strcmp(m.msgs[1].name, "200.M1.h:2,") == 0,
	    "new/ moved to cur/ with :2, and sorted by time");
	tap_ok(mscan_msg_size(&m, 0, &sz) == 0 && sz == 10,
	    "the size counts CRLF");
	(void)snprintf(p, sizeof(p), "%s/cur/100.M1.h:2,S", md);
	(void)snprintf(p2, sizeof(p2), "%s/cur/100.M1.h:2,RS", md);
	(void)rename(p, p2);
	fd = mscan_msg_open(&m, 0);
	tap_ok(fd != -1 && strcmp(m.msgs[0].name, "100.M1.h:2,RS") == 0,
	    "a message whose flags changed is found again");
	if (fd != -1)
		(void)close(fd);
	tap_ok(mscan_msg_unlink(&m, 0) == 0 && access(p2, F_OK) == -1,
	    "and removed");
	mscan_free(&m);
	tap_is_int(mbox_lock(md, lock, sizeof(lock)), 1, "lock taken");
	tap_is_int(mbox_lock(md, p, sizeof(p)), 0, "a second lock: in use");
	mbox_unlock(lock);
	put(md, MBOX_LOCK_NAME, "999999999 nohost.invalid\n");
	tap_is_int(mbox_lock(md, lock, sizeof(lock)), 0,
	    "a fresh lock of another host is respected");
	(void)gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	(void)snprintf(p, sizeof(p), "99999999 %s\n", host);
	put(md, MBOX_LOCK_NAME, p);
	tap_is_int(mbox_lock(md, lock, sizeof(lock)), 1,
	    "the lock of a dead process on this host is taken over");
	mbox_unlock(lock);
	(void)snprintf(p, sizeof(p), "rm -rf '%s'", md);
	(void)system(p);
}

int
main(void)
{
	test_num();
	test_plain();
	test_stuff();
	test_uid();
	test_front_msg();
	test_login();
	test_session();
	test_scan();
	return tap_done();
}
