/* test-smtp: the tern-smtpd session over in-memory I/O, and its parsers. */
#include <sys/mman.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../smtpd/net.h"
#include "../../smtpd/smtpd.h"
#include "tap.h"

/* What the fake outside world saw. */
struct fake {
	struct buf	 out;		/* every reply byte */
	int		 writes;	/* output calls */
	struct buf	 msg;		/* the message of the last commit */
	struct buf	 env;
	int		 commits, aborts;
	int		 qcode;		/* what q_commit returns */
	const char	*after_tls;	/* input after STARTTLS, NULL: fail */
	unsigned	 delays[4];	/* the AUTH failure delays asked for */
	int		 ndelays;
	int		 nchecks;	/* checkpass calls */
	int		 infd;
};

static int
f_output(void *ctx, const char *p, size_t len)
{
	struct fake *f = ctx;

	f->writes++;
	return buf_append(&f->out, p, len);
}

static int
f_rcpt(void *ctx, const char *addr)
{
	(void)ctx;
	if (strncmp(addr, "temp@", 5) == 0)
		return -1;
	return strncmp(addr, "u@", 2) == 0 || strncmp(addr, "a%b@", 4) == 0;
}

static int
f_checkpass(void *ctx, const char *user, const char *pass)
{
	struct fake *f = ctx;

	f->nchecks++;
	if (strcmp(user, "temp") == 0)
		return -1;
	if (strcmp(user, "u@tern.test") == 0 && strcmp(pass, "pw") == 0)
		return 0;
	/* a long password of 'p's also works, for the long AUTH lines */
	return strcmp(user, "u@tern.test") == 0 && strlen(pass) > 100 &&
	    strspn(pass, "p") == strlen(pass) ? 0 : 1;
}

static int
f_q_open(void *ctx)
{
	struct fake *f = ctx;

	buf_reset(&f->msg);
	return 0;
}

static int
f_q_write(void *ctx, const char *p, size_t len)
{
	struct fake *f = ctx;

	return buf_append(&f->msg, p, len);
}

static int
f_q_commit(void *ctx, const char *env, size_t len, char *text, size_t tsz)
{
	struct fake *f = ctx;

	f->commits++;
	buf_reset(&f->env);
	(void)buf_append(&f->env, env, len);
	(void)strlcpy(text, "Dgo away", tsz);
	return f->qcode;
}

static void
f_q_abort(void *ctx)
{
	struct fake *f = ctx;

	f->aborts++;
}

/* Switch the input to after_tls, as tern-tlsd's new socketpair would. */
static int
f_starttls(void *ctx, char *proto, size_t psz, char *cipher, size_t csz)
{
	struct fake *f = ctx;
	int fd;

	if (f->after_tls == NULL)
		return -1;
	if ((fd = memfd_create("tls", 0)) == -1 ||
	    write(fd, f->after_tls, strlen(f->after_tls)) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1 || dup2(fd, f->infd) == -1)
		return -1;
	(void)close(fd);
	(void)strlcpy(proto, "TLSv1.3", psz);
	(void)strlcpy(cipher, "TLS_AES_256_GCM_SHA384", csz);
	return 0;
}

static void
f_delay(void *ctx, unsigned seconds)
{
	struct fake *f = ctx;

	if (f->ndelays < 4)
		f->delays[f->ndelays++] = seconds;
}

static const struct smtpd_ops fake_ops = {
	f_output, f_rcpt, f_checkpass, f_q_open, f_q_write, f_q_commit,
	f_q_abort, f_starttls, f_delay
};

static void
cfg_default(struct smtpd_cfg *c)
{
	memset(c, 0, sizeof(*c));
	(void)strlcpy(c->me, "tern.test", sizeof(c->me));
	c->databytes = 1000;
	c->maxrcpt = 3;
	c->maxhops = 5;
	c->maxbadcmds = 5;
	c->maxjunkcmds = 10;
	c->maxauthfail = 2;
	c->t_cmd = c->t_data = c->t_done = 5;
}

/* Run a session on input; the reply codes (last lines) into codes. */
static void
run(const struct smtpd_cfg *cfg, struct fake *f, const char *in,
    size_t inlen, bool tls, char *codes, size_t codesz)
{
	struct smtpd s;
	const char *p;
	size_t n = 0;
	int fd;

	buf_init(&f->out, 1 << 20);
	buf_init(&f->msg, 1 << 20);
	buf_init(&f->env, 1 << 20);
	fd = memfd_create("in", 0);
	if (fd == -1 || write(fd, in, inlen) != (ssize_t)inlen ||
	    lseek(fd, 0, SEEK_SET) == -1)
		abort();
	f->infd = fd;
	if (smtpd_init(&s, cfg, &fake_ops, f, fd, "192.0.2.1",
	    tls ? "TLSv1.2" : NULL, tls ? "X" : NULL) == -1)
		abort();
	smtpd_run(&s);
	smtpd_free(&s);
	(void)close(fd);
	codes[0] = '\0';
	for (p = buf_cstr(&f->out); *p != '\0'; p = strchr(p, '\n') + 1) {
		if (p[3] == ' ' && n + 4 < codesz) {
			memcpy(codes + n, p, 3);
			codes[n + 3] = ' ';
			n += 4;
			codes[n] = '\0';
		}
		if (strchr(p, '\n') == NULL)
			break;
	}
	if (n > 0)
		codes[n - 1] = '\0';
}

static void
fake_free(struct fake *f)
{
	buf_free(&f->out);
	buf_free(&f->msg);
	buf_free(&f->env);
}

#define EHLO	"EHLO c.example\r\n"
#define MAILRCPT "MAIL FROM:<a@b.example>\r\nRCPT TO:<u@tern.test>\r\n"
#define X2(x)	x x
#define X3(x)	x x x
#define X4(x)	X2(X2(x))
#define X6(x)	X3(X2(x))
#define C550x6	"550 550 550 550 550 550"

struct sess_case {
	const char	*name;
	const char	*in;
	bool		 tls;
	const char	*codes;
	const char	*msg;		/* stored after Received, or NULL */
};

static const struct sess_case sess_cases[] = {
	{ "greeting, EHLO and QUIT", EHLO "QUIT\r\n", false,
	    "220 250 221", NULL },
	{ "MAIL before EHLO is a bad sequence",
	    "MAIL FROM:<a@b>\r\nQUIT\r\n", false, "220 503 221", NULL },
	{ "RCPT before MAIL and DATA before RCPT are bad sequences",
	    EHLO "RCPT TO:<u@tern.test>\r\nMAIL FROM:<a@b>\r\nDATA\r\n"
	    "QUIT\r\n", false, "220 250 503 250 503 221", NULL },
	{ "a nested MAIL is refused", EHLO "MAIL FROM:<a@b>\r\n"
	    "MAIL FROM:<a@b>\r\nQUIT\r\n", false, "220 250 250 503 221",
	    NULL },
	{ "a message is stored with LF ends, dots unstuffed",
	    EHLO MAILRCPT "DATA\r\nS: x\r\n\r\n..a\r\n.\r\nQUIT\r\n", false,
	    "220 250 250 250 354 250 221", "S: x\n\n.a\n" },
	{ "unknown local user 550, relay 554, local part tricks 554",
	    EHLO "MAIL FROM:<a@b>\r\nRCPT TO:<x@tern.test>\r\n"
	    "RCPT TO:<v@remote.example>\r\nRCPT TO:<v%r@tern.test>\r\n"
	    "RCPT TO:<temp@tern.test>\r\nQUIT\r\n", false,
	    "220 250 250 550 554 554 451 221", NULL },
	{ "a user whose local part has % exists: accepted",
	    EHLO "MAIL FROM:<a@b>\r\nRCPT TO:<a%b@tern.test>\r\nQUIT\r\n",
	    false, "220 250 250 250 221", NULL },
	{ "the recipient limit gives 452", EHLO "MAIL FROM:<a@b>\r\n"
	    "RCPT TO:<u@tern.test>\r\nRCPT TO:<u@tern.test>\r\n"
	    "RCPT TO:<u@tern.test>\r\nRCPT TO:<u@tern.test>\r\nQUIT\r\n",
	    false, "220 250 250 250 250 250 452 221", NULL },
	{ "SIZE over databytes 552", EHLO "MAIL FROM:<a@b> SIZE=1001\r\n"
	    "MAIL FROM:<a@b> SIZE=1000\r\nQUIT\r\n", false,
	    "220 250 552 250 221", NULL },
	{ "a bare LF in DATA closes the session", EHLO MAILRCPT
	    "DATA\r\na\nb\r\n.\r\nQUIT\r\n", false, "220 250 250 250 354 554",
	    NULL },
	{ "smuggled end \\n.\\n is data, not an end", EHLO MAILRCPT
	    "DATA\r\na\r\n.\nMAIL FROM:<x@y>\r\n.\r\nQUIT\r\n", false,
	    "220 250 250 250 354 554", NULL },
	{ "hop count at maxhops: 554", EHLO MAILRCPT "DATA\r\nReceived: a\r\n"
	    "received: b\r\nDelivered-To: c\r\nReceived: d\r\nReceived: e\r\n"
	    "\r\nx\r\n.\r\nQUIT\r\n", false, "220 250 250 250 354 554 221",
	    NULL },
	{ "hops in the body do not count", EHLO MAILRCPT "DATA\r\n\r\n"
	    "Received: a\r\nReceived: a\r\nReceived: a\r\nReceived: a\r\n"
	    "Received: a\r\n.\r\nQUIT\r\n", false,
	    "220 250 250 250 354 250 221", NULL },
	{ "too many bad commands: 421", "A\r\nB\r\nC\r\nD\r\nE\r\nF\r\nG\r\n",
	    false, "220 500 500 500 500 500 500 421", NULL },
	{ "too many NOOPs: 421", "NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"
	    "NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n", false,
	    "220 250 250 250 250 250 250 250 250 250 250 421", NULL },
	{ "BDAT chunks, CRLF to LF", EHLO MAILRCPT "BDAT 3\r\nS: BDAT 5 LAST"
	    "\r\n\r\nx\r\nQUIT\r\n", false, "220 250 250 250 250 250 221",
	    "S: \nx\n" },
	{ "DATA after BDAT is a bad sequence", EHLO MAILRCPT
	    "BDAT 2\r\nabDATA\r\nQUIT\r\n", false,
	    "220 250 250 250 250 503 221",
	    NULL },
	{ "a refused BDAT's chunk is skipped, never run as commands",
	    EHLO "MAIL FROM:<a@b>\r\nRCPT TO:<x@tern.test>\r\n"
	    "BDAT 25 LAST\r\nMAIL FROM:<a@b>\r\nBDAT 1\r\nQUIT\r\n", false,
	    "220 250 250 550 503 221", NULL },
	{ "a bad BDAT size ends the session", EHLO MAILRCPT
	    "BDAT x\r\nQUIT\r\n", false, "220 250 250 250 501", NULL },
	{ "AUTH without TLS: 538", EHLO "AUTH PLAIN AHVAdGVybi50ZXN0AHB3\r\n"
	    "QUIT\r\n", false, "220 250 538 221", NULL },
	{ "AUTH PLAIN under TLS: 235; a second AUTH 503", EHLO
	    "AUTH PLAIN AHVAdGVybi50ZXN0AHB3\r\nAUTH PLAIN =\r\nQUIT\r\n",
	    true, "220 250 235 503 221", NULL },
	{ "AUTH LOGIN with prompts, bad password 535", EHLO "AUTH LOGIN\r\n"
	    "dUB0ZXJuLnRlc3Q=\r\neA==\r\nQUIT\r\n", true,
	    "220 250 334 334 535 221", NULL },
	{ "AUTH: * cancels, bad base64 501, unknown mechanism 504", EHLO
	    "AUTH PLAIN\r\n*\r\nAUTH PLAIN a===\r\nAUTH X\r\nQUIT\r\n", true,
	    "220 250 334 501 501 504 221", NULL },
	{ "two AUTH failures: 421", EHLO "AUTH PLAIN AHUAeA==\r\n"
	    "AUTH PLAIN AHUAeA==\r\nQUIT\r\n", true, "220 250 535 535 421",
	    NULL },
	{ "STARTTLS: pipelined MAIL is discarded, session reset",
	    EHLO "STARTTLS\r\nMAIL FROM:<x@y>\r\n", false,
	    "220 250 220 503 250 221", NULL },
	{ "non-ASCII addresses need SMTPUTF8 (553), then UTF8SMTP",
	    EHLO "MAIL FROM:<\xc3\xbc@b.example>\r\n"
	    "MAIL FROM:<\xc3\xbc@b.example> SMTPUTF8\r\nRCPT TO:<u@tern.test>"
	    "\r\nDATA\r\nx\r\n.\r\nQUIT\r\n", false,
	    "220 250 553 250 250 354 250 221", "x\n" },
	{ "EHLO without a name 501, VRFY 252, HELP 214, RSET 250",
	    "EHLO\r\nHELO a b\r\nEHLO a\r\nVRFY u\r\nHELP\r\n"
	    "MAIL FROM:<a@b>\r\nRSET\r\nRCPT TO:<u@tern.test>\r\nQUIT\r\n",
	    false, "220 501 501 250 252 214 250 250 503 221", NULL },
	{ "BODY=BINARYMIME and unknown parameters: 555",
	    EHLO "MAIL FROM:<a@b> BODY=BINARYMIME\r\nMAIL FROM:<a@b> X=Y\r\n"
	    "MAIL FROM:<a@b> SIZE=1 SIZE=x\r\nQUIT\r\n", false,
	    "220 250 555 555 555 221", NULL },
	{ "STARTTLS failure ends the session", EHLO "STARTTLS\r\nNOOP\r\n",
	    false, "220 250 220", NULL },
	{ "unknown local users count as bad commands (harvest): 421",
	    EHLO "MAIL FROM:<a@b>\r\n" X6("RCPT TO:<x@tern.test>\r\n")
	    "RCPT TO:<u@tern.test>\r\n", false,
	    "220 250 250 " C550x6 " 421", NULL },
	{ "relay attempts count as bad commands: 421",
	    EHLO "MAIL FROM:<a@b>\r\n" X6("RCPT TO:<v@remote.example>\r\n")
	    "NOOP\r\n", false, "220 250 250 554 554 554 554 554 554 421",
	    NULL },
	{ "a non-ASCII RCPT without SMTPUTF8 counts as a bad command",
	    EHLO "MAIL FROM:<a@b>\r\n"
	    X6("RCPT TO:<\xc3\xbc@tern.test>\r\n") "NOOP\r\n", false,
	    "220 250 250 553 553 553 553 553 553 421", NULL },
	{ "a few unknown recipients do not end a transaction",
	    EHLO "MAIL FROM:<a@b>\r\n" X3("RCPT TO:<x@tern.test>\r\n")
	    "RCPT TO:<u@tern.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n", false,
	    "220 250 250 550 550 550 250 354 250 221", "x\n" },
	{ "the bad command count starts over after an accepted message",
	    EHLO X4("FOO\r\n") MAILRCPT "DATA\r\nx\r\n.\r\n" X4("FOO\r\n")
	    "QUIT\r\n", false,
	    "220 250 500 500 500 500 250 250 354 250 500 500 500 500 221",
	    "x\n" },
	{ "EHLO and HELO beyond five a session count as junk: 421",
	    X4(X4(EHLO)) "QUIT\r\n", false, "220 250 250 250 250 250 "
	    "250 250 250 250 250 250 250 250 250 250 421", NULL },
	{ "five EHLO/HELO are not junk", X3(EHLO) X2("HELO c\r\n")
	    X4("NOOP\r\n") X4("NOOP\r\n") X2("NOOP\r\n") "QUIT\r\n",
	    false, "220 250 250 250 250 250 250 250 250 250 250 250 250 250 "
	    "250 250 221", NULL },
	{ "AUTH with bad base64 counts as a bad command: 421",
	    EHLO X6("AUTH PLAIN !!!!\r\n") "QUIT\r\n", true,
	    "220 250 501 501 501 501 501 501 421", NULL },
	{ "AUTH cancelled with * counts as a bad command: 421",
	    EHLO X6("AUTH PLAIN\r\n*\r\n") "QUIT\r\n", true,
	    "220 250 334 501 334 501 334 501 334 501 334 501 334 501 421",
	    NULL },
	{ "AUTH LOGIN cancelled at the password counts too",
	    EHLO X6("AUTH LOGIN dUB0ZXJuLnRlc3Q=\r\n*\r\n") "QUIT\r\n", true,
	    "220 250 334 501 334 501 334 501 334 501 334 501 334 501 421",
	    NULL },
	{ "an empty or malformed PLAIN response counts as a bad command",
	    EHLO X3("AUTH PLAIN =\r\nAUTH PLAIN dQ==\r\n") "QUIT\r\n", true,
	    "220 250 501 501 501 501 501 501 421", NULL },
};

static void
test_sessions(void)
{
	struct smtpd_cfg cfg;
	struct fake f;
	char codes[256];
	const char *m;
	size_t i;

	cfg_default(&cfg);
	for (i = 0; i < sizeof(sess_cases) / sizeof(sess_cases[0]); i++) {
		const struct sess_case *c = &sess_cases[i];

		memset(&f, 0, sizeof(f));
		if (strstr(c->name, "pipelined") != NULL)
			f.after_tls = "MAIL FROM:<a@b>\r\nEHLO x\r\nQUIT\r\n";
		run(&cfg, &f, c->in, strlen(c->in), c->tls, codes,
		    sizeof(codes));
		tap_is_str(codes, c->codes, "%s", c->name);
		if (c->msg != NULL) {
			m = strstr(buf_cstr(&f.msg), "+0000\n");
			tap_is_str(m ? m + 6 : "", c->msg, "%s: message",
			    c->name);
		}
		fake_free(&f);
	}
}

static void
test_envelope(void)
{
	static const char in[] = EHLO "MAIL FROM:<a@b.example> RET=HDRS "
	    "ENVID=x+2By\r\nRCPT TO:<u@tern.test> NOTIFY=failure,delay "
	    "ORCPT=rfc822;u@tern.test\r\nRCPT TO:<u2@x.example>\r\n"
	    "DATA\r\nx\r\n.\r\nQUIT\r\n";
	struct smtpd_cfg cfg;
	struct fake f;
	char codes[128], want[512];
	const char *qid;
	size_t n;

	cfg_default(&cfg);
	cfg.authinsecure = true;
	memset(&f, 0, sizeof(f));
	cfg.relayclients = calloc(1, sizeof(*cfg.relayclients));
	if (cfg.relayclients == NULL ||
	    smtp_net_parse("192.0.2.0/24", cfg.relayclients) == -1)
		abort();
	cfg.nrelayclients = 1;
	run(&cfg, &f, in, sizeof(in) - 1, false, codes, sizeof(codes));
	tap_is_str(codes, "220 250 250 250 250 354 250 221",
	    "DSN parameters and a relay client");
	qid = strstr(buf_cstr(&f.out), "queued as ");
	qid = qid ? qid + 10 : "";
	n = (size_t)snprintf(want, sizeof(want), "Fa@b.example%cI%.16s%c"
	    "Ex+2By%cRHDRS%cNFAILURE,DELAY%cOrfc822;u@tern.test%c"
	    "Tu@tern.test%cTu2@x.example%c%c", 0, qid, 0, 0, 0, 0, 0, 0, 0,
	    0);
	tap_ok(f.env.len == n && memcmp(f.env.data, want, n) == 0,
	    "the envelope: F, I<qid>, E, R, N, O, T..., end");
	tap_ok(strstr(buf_cstr(&f.msg), "\n\tid ") != NULL &&
	    strncmp(strstr(buf_cstr(&f.msg), "\n\tid ") + 5, qid, 16) == 0,
	    "the Received line carries the same id");
	tap_ok(f.writes == 2, "pipelined replies go out in one write after "
	    "the greeting (%d writes)", f.writes);
	fake_free(&f);

	memset(&f, 0, sizeof(f));
	f.qcode = 82;
	run(&cfg, &f, in, sizeof(in) - 1, false, codes, sizeof(codes));
	tap_ok(strstr(buf_cstr(&f.out), "554 5.3.0 go away\r\n") != NULL,
	    "queue exit 82 with D text: 554 with the text");
	fake_free(&f);
	memset(&f, 0, sizeof(f));
	f.qcode = 53;
	run(&cfg, &f, in, sizeof(in) - 1, false, codes, sizeof(codes));
	tap_ok(strstr(buf_cstr(&f.out), "451 4.3.0") != NULL,
	    "queue exit 53: 451");
	fake_free(&f);
	free(cfg.relayclients);
}

static void
test_auth_delay(void)
{
	static const char in[] = EHLO "AUTH PLAIN AHUAeA==\r\n"
	    "AUTH PLAIN AHUAeA==\r\nAUTH PLAIN AHUAeA==\r\nQUIT\r\n";
	struct smtpd_cfg cfg;
	struct fake f;
	char codes[128];

	cfg_default(&cfg);
	cfg.maxauthfail = 3;
	cfg.authdelay = 1;
	memset(&f, 0, sizeof(f));
	run(&cfg, &f, in, sizeof(in) - 1, true, codes, sizeof(codes));
	tap_is_str(codes, "220 250 535 535 535 421",
	    "three AUTH failures, then 421");
	tap_ok(f.ndelays == 3 && f.delays[0] == 1 && f.delays[1] == 2 &&
	    f.delays[2] == 4, "each failure waits twice as long as the last");
	fake_free(&f);
}

static void
test_tls_ehlo(void)
{
	static const char in[] = EHLO "STARTTLS\r\n";
	struct smtpd_cfg cfg;
	struct fake f;
	char codes[128];
	const char *after;

	cfg_default(&cfg);
	memset(&f, 0, sizeof(f));
	f.after_tls = "EHLO again\r\n" MAILRCPT "DATA\r\nx\r\n.\r\nQUIT\r\n";
	run(&cfg, &f, in, sizeof(in) - 1, false, codes, sizeof(codes));
	after = strstr(buf_cstr(&f.out), "220 2.0.0 Ready");
	tap_ok(strstr(buf_cstr(&f.out), "250-STARTTLS") != NULL && after &&
	    strstr(after, "STARTTLS") == NULL &&
	    strstr(after, "AUTH PLAIN LOGIN") != NULL,
	    "STARTTLS offered before TLS only; AUTH offered after");
	tap_ok(strstr(buf_cstr(&f.msg), "with ESMTPS (using TLSv1.3 with "
	    "cipher TLS_AES_256_GCM_SHA384)") != NULL,
	    "Received names ESMTPS, the protocol and the cipher");
	fake_free(&f);
}

/* Base64 of in[0..len) into out (room for 4 * (len + 2) / 3 + 1). */
static void
b64_enc(const char *in, size_t len, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long v;
	unsigned char c;
	size_t i, o = 0, k;

	for (i = 0; i < len; i += 3) {
		v = 0;
		for (k = 0; k < 3; k++) {
			c = i + k < len ? (unsigned char)in[i + k] : 0;
			v = v << 8 | c;
		}
		for (k = 0; k < 4; k++)
			out[o + k] = k <= len - i ? al[v >> (18 - 6 * k) & 63] :
			    '=';
		o += 4;
	}
	out[o] = '\0';
}

/* "EHLO, AUTH PLAIN <user, a password of plen 'p's>, NOOP, QUIT" */
static char *
auth_input(const char *verb, size_t plen, size_t pad)
{
	char *dec, *enc, *in;
	size_t dlen = 13 + plen, n;

	dec = malloc(dlen + 1);
	enc = malloc(4 * (dlen + 2) / 3 + 1);
	n = 64 + 4 * (dlen + 2) / 3 + pad;
	in = malloc(n);
	if (dec == NULL || enc == NULL || in == NULL)
		abort();
	memcpy(dec, "\0u@tern.test\0", 13);
	memset(dec + 13, 'p', plen);
	b64_enc(dec, dlen, enc);
	(void)snprintf(in, n, EHLO "%s %s%*s\r\nNOOP\r\nQUIT\r\n", verb,
	    enc, (int)pad, "");
	free(dec);
	free(enc);
	return in;
}

/*
 * RFC 4954 4: AUTH with an initial response may exceed 512 bytes; no
 * other command may.
 */
static void
test_auth_long(void)
{
	struct smtpd_cfg cfg;
	struct fake f;
	char codes[128], *in;

	cfg_default(&cfg);
	in = auth_input("AUTH PLAIN", 420, 0);	/* 580 base64 chars */
	memset(&f, 0, sizeof(f));
	run(&cfg, &f, in, strlen(in), true, codes, sizeof(codes));
	tap_ok(strlen(in) > 600 && strcmp(codes, "220 250 235 250 221") == 0,
	    "an AUTH PLAIN line of %zu bytes is read: 235 (%s)", strlen(in) -
	    strlen(EHLO "\r\nNOOP\r\nQUIT\r\n"), codes);
	free(in);
	fake_free(&f);
	in = auth_input("NOOP", 420, 0);
	memset(&f, 0, sizeof(f));
	run(&cfg, &f, in, strlen(in), true, codes, sizeof(codes));
	tap_is_str(codes, "220 250 500 250 221",
	    "any other command of that length: 500");
	tap_ok(strstr(buf_cstr(&f.out), "500 5.5.2 Line too long") != NULL,
	    "with 5.5.2 Line too long");
	free(in);
	fake_free(&f);
	in = auth_input("AUTH PLAIN", 420, SMTP_AUTH_LINE_MAX);
	memset(&f, 0, sizeof(f));
	run(&cfg, &f, in, strlen(in), true, codes, sizeof(codes));
	tap_ok(strcmp(codes, "220 250 500 250 221") == 0 && f.nchecks == 0,
	    "an AUTH line over %d bytes: 500, nothing checked",
	    SMTP_AUTH_LINE_MAX);
	free(in);
	fake_free(&f);
}

/*
 * The checkpassword interface takes 512 bytes: what cannot fit is a bad
 * login (535, an AUTH failure), and the program is not run for it.
 */
static void
test_auth_fit(void)
{
	/* user 11 bytes + password + timestamp + 3 NULs */
	size_t fit = SMTP_CP_INPUT_MAX - 3 - SMTP_CP_STAMP_MAX - 11;
	struct smtpd_cfg cfg;
	struct fake f;
	char codes[128], *in;

	cfg_default(&cfg);
	in = auth_input("AUTH PLAIN", fit, 0);
	memset(&f, 0, sizeof(f));
	run(&cfg, &f, in, strlen(in), true, codes, sizeof(codes));
	tap_ok(strcmp(codes, "220 250 235 250 221") == 0 && f.nchecks == 1,
	    "a %zu-byte password fits the 512 bytes of fd 3: checked, 235",
	    fit);
	free(in);
	fake_free(&f);
	in = auth_input("AUTH PLAIN", fit + 1, 0);
	memset(&f, 0, sizeof(f));
	run(&cfg, &f, in, strlen(in), true, codes, sizeof(codes));
	tap_ok(strcmp(codes, "220 250 535 250 221") == 0 && f.nchecks == 0 &&
	    strstr(buf_cstr(&f.out), "535 5.7.8") != NULL,
	    "one byte more: 535 5.7.8 without running checkpassword (%s)",
	    codes);
	free(in);
	fake_free(&f);
	in = auth_input("AUTH PLAIN", 600, 0);
	memset(&f, 0, sizeof(f));
	cfg.maxauthfail = 1;
	run(&cfg, &f, in, strlen(in), true, codes, sizeof(codes));
	tap_ok(strcmp(codes, "220 250 535 421") == 0 && f.nchecks == 0,
	    "a 600-byte password is an AUTH failure: maxauthfailures 1 "
	    "ends the session (%s)", codes);
	free(in);
	fake_free(&f);
}

struct trick_case {
	const char	*rcpt;
	const char	*plain;		/* codes for anyone */
	const char	*trusted;	/* for a relay client */
};

static const struct trick_case trick_cases[] = {
	{ "v@relay.test", "250", "250" },
	{ "v%evil.example@relay.test", "554", "250" },
	{ "evil.example!v@relay.test", "554", "250" },
	{ "\"v@evil.example\"@relay.test", "554", "250" },
	{ "\"v%evil.example\"@x.sub.relay.test", "554", "250" },
	{ "\"v w\"@relay.test", "250", "250" },
	{ "v@evil.example", "554", "250" },
};

/* One RCPT through a relay domain, from anyone or from a relay client. */
static void
trick_run(struct smtpd_cfg *cfg, struct smtp_net *net,
    const struct trick_case *c)
{
	struct fake f;
	char in[512], codes[128], want[64];
	int trusted;

	for (trusted = 0; trusted < 2; trusted++) {
		cfg->relayclients = trusted ? net : NULL;
		cfg->nrelayclients = trusted ? 1 : 0;
		(void)snprintf(in, sizeof(in), EHLO "MAIL FROM:<a@b>\r\n"
		    "RCPT TO:<%s>\r\nQUIT\r\n", c->rcpt);
		(void)snprintf(want, sizeof(want), "220 250 250 %s 221",
		    trusted ? c->trusted : c->plain);
		memset(&f, 0, sizeof(f));
		run(cfg, &f, in, strlen(in), false, codes, sizeof(codes));
		tap_is_str(codes, want, "RCPT TO:<%s> from %s", c->rcpt,
		    trusted ? "a relay client" : "anyone");
		fake_free(&f);
	}
	cfg->relayclients = NULL;
	cfg->nrelayclients = 0;
}

/* Routing tricks through a relay domain (allow_untrusted_routing=no). */
static void
test_relay_tricks(void)
{
	static const char in[] = EHLO "AUTH PLAIN AHVAdGVybi50ZXN0AHB3\r\n"
	    "MAIL FROM:<a@b>\r\nRCPT TO:<v%evil.example@relay.test>\r\n"
	    "QUIT\r\n";
	char *rd[] = { (char *)"relay.test", (char *)".sub.relay.test" };
	struct smtpd_cfg cfg;
	struct smtp_net net;
	struct fake f;
	char codes[128];
	size_t i;

	cfg_default(&cfg);
	cfg.relaydomains.items = rd;
	cfg.relaydomains.n = 2;
	if (smtp_net_parse("192.0.2.0/24", &net) == -1)
		abort();
	for (i = 0; i < sizeof(trick_cases) / sizeof(trick_cases[0]); i++)
		trick_run(&cfg, &net, &trick_cases[i]);
	memset(&f, 0, sizeof(f));
	run(&cfg, &f, in, sizeof(in) - 1, true, codes, sizeof(codes));
	tap_is_str(codes, "220 250 235 250 250 221",
	    "an authenticated client may route through a relay domain");
	fake_free(&f);
}

struct b64_case {
	const char	*in;
	long		 len;
	const char	*out;
};

static const struct b64_case b64_cases[] = {
	{ "", 0, "" },
	{ "YQ==", 1, "a" },
	{ "YWI=", 2, "ab" },
	{ "YWJj", 3, "abc" },
	{ "AGEAYg==", 4, "\0a\0b" },
	{ "YQ=", -1, NULL },		/* not a multiple of 4 */
	{ "Y===", -1, NULL },		/* too much padding */
	{ "YQ==YQ==", -1, NULL },	/* padding in the middle */
	{ "Y Q=", -1, NULL },
	{ "YW*j", -1, NULL },
	{ "=YWJ", -1, NULL },
	{ "YWJjZGVmZ2hpamtsbW5vcA==", -1, NULL },	/* 16 > outsz - 1 */
};

static void
test_b64(void)
{
	char out[16];
	long n;
	size_t i;

	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		const struct b64_case *c = &b64_cases[i];

		n = sasl_b64_decode(c->in, strlen(c->in), out, sizeof(out));
		tap_ok(n == c->len && (n < 0 || memcmp(out, c->out,
		    (size_t)n) == 0), "base64 \"%s\" -> %ld", c->in, c->len);
	}
}

static void
test_sasl_response(void)
{
	char out[16];

	tap_ok(sasl_response("*", out, sizeof(out)) == SASL_CANCEL,
	    "SASL response \"*\" cancels");
	tap_ok(sasl_response("=", out, sizeof(out)) == 0 && out[0] == '\0',
	    "SASL response \"=\" is empty");
	tap_ok(sasl_response("dQ==", out, sizeof(out)) == 1 &&
	    strcmp(out, "u") == 0, "SASL response base64 is decoded");
	tap_ok(sasl_response("!!!!", out, sizeof(out)) == -1,
	    "SASL response that is no base64: -1");
}

static void
test_plain(void)
{
	char a[] = "\0u\0p", b[] = "u\0u\0p", c[] = "x\0u\0p", d[] = "\0\0p",
	    e[] = "\0u\0p\0q", g[] = "\0u";
	const char *u, *p;

	tap_ok(sasl_plain_split(a, 4, &u, &p) == 0 && strcmp(u, "u") == 0 &&
	    strcmp(p, "p") == 0, "PLAIN: empty authzid");
	tap_ok(sasl_plain_split(b, 5, &u, &p) == 0, "PLAIN: authzid = authcid");
	tap_ok(sasl_plain_split(c, 5, &u, &p) == -1,
	    "PLAIN: another authzid is refused");
	tap_ok(sasl_plain_split(d, 3, &u, &p) == -1, "PLAIN: empty user");
	tap_ok(sasl_plain_split(e, 6, &u, &p) == -1, "PLAIN: NUL in password");
	tap_ok(sasl_plain_split(g, 2, &u, &p) == -1, "PLAIN: no password");
}

static void
test_policy(void)
{
	struct smtp_net n[3];
	struct smtpd_cfg cfg;
	char list[] = "u@tern.test: alias@tern.test, @other.test,<>";
	char *items[] = { list };
	char proto[16], cipher[16];

	tap_ok(smtp_net_parse("10.1.0.0/16", &n[0]) == 0 &&
	    smtp_net_parse("2001:db8::/32", &n[1]) == 0 &&
	    smtp_net_parse("192.0.2.7", &n[2]) == 0, "CIDR lists parse");
	tap_ok(smtp_net_match(n, 3, "10.1.255.3") &&
	    !smtp_net_match(n, 3, "10.2.0.1") &&
	    smtp_net_match(n, 3, "2001:db8:1::5") &&
	    !smtp_net_match(n, 3, "2001:db9::1") &&
	    smtp_net_match(n, 3, "192.0.2.7") &&
	    !smtp_net_match(n, 3, "192.0.2.8") && !smtp_net_match(n, 3, ""),
	    "CIDR matching, IPv4 and IPv6");
	tap_ok(smtp_net_parse("10.0.0.0/33", &n[0]) == -1 &&
	    smtp_net_parse("10.0.0.0/", &n[0]) == -1 &&
	    smtp_net_parse("host.example", &n[0]) == -1 &&
	    smtp_net_parse("::/129", &n[0]) == -1, "bad networks refused");
	cfg_default(&cfg);
	cfg.senders.items = items;
	cfg.senders.n = 1;
	tap_ok(smtp_sender_allowed(&cfg, "u@tern.test", "alias@tern.test") &&
	    smtp_sender_allowed(&cfg, "u@tern.test", "x@other.test") &&
	    smtp_sender_allowed(&cfg, "u@tern.test", "") &&
	    !smtp_sender_allowed(&cfg, "u@tern.test", "u@tern.test") &&
	    !smtp_sender_allowed(&cfg, "u@tern.test", "x@sub.other.test"),
	    "senders: a listed login may use exactly its list");
	tap_ok(smtp_sender_allowed(&cfg, "v@tern.test", "V@tern.test") &&
	    !smtp_sender_allowed(&cfg, "v@tern.test", "w@tern.test") &&
	    !smtp_sender_allowed(&cfg, "v@tern.test", ""),
	    "senders: an unlisted login may use only itself");
	tap_ok(smtp_xtext_valid("a+2Bb") && smtp_xtext_valid("") &&
	    !smtp_xtext_valid("a+2b") && !smtp_xtext_valid("a+2") &&
	    !smtp_xtext_valid("a=b") && !smtp_xtext_valid("a b"),
	    "xtext");
	tap_ok(smtpd_tls_answer("TLSv1.3 TLS_AES_128_GCM_SHA256", proto,
	    sizeof(proto), cipher, sizeof(cipher)) == -1,
	    "a tls answer that does not fit is refused");
	tap_ok(smtpd_tls_answer("TLSv1.3 X", proto, sizeof(proto), cipher,
	    sizeof(cipher)) == 0 && strcmp(proto, "TLSv1.3") == 0 &&
	    strcmp(cipher, "X") == 0 && smtpd_tls_answer("TLSv1.3", proto,
	    sizeof(proto), cipher, sizeof(cipher)) == -1 &&
	    smtpd_tls_answer("A B C", proto, sizeof(proto), cipher,
	    sizeof(cipher)) == -1, "tern-tlsd's OK line");
}

int
main(void)
{
	test_sessions();
	test_envelope();
	test_tls_ehlo();
	test_auth_delay();
	test_auth_long();
	test_auth_fit();
	test_relay_tricks();
	test_b64();
	test_sasl_response();
	test_plain();
	test_policy();
	return tap_done();
}
