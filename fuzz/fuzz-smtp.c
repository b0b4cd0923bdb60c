/*
 * fuzz-smtp: the tern-smtpd session (command parser and state machine)
 * fed bytes from a memfd, replies into a buffer, queue and checkpassword
 * faked.  The first byte picks TLS (bit 0), submission mode (bit 1),
 * AUTH without TLS (bit 2) and a STARTTLS that works (bit 3).  Checks:
 * every reply line is "ddd" then ' ' or '-', ends in CRLF and holds no
 * other CR, LF or NUL; a committed message holds no CR and no NUL; the
 * envelope is F, I<valid qid>, records without CR/LF, the final NUL.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec.h"
#include "uniq.h"
#include "../smtpd/smtpd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fz {
	struct buf	msg;
	bool		tls_ok;
};

/* Each output call must hold whole reply lines. */
static int
fz_output(void *ctx, const char *p, size_t len)
{
	size_t i, start = 0;

	(void)ctx;
	if (len < 6 || p[len - 2] != '\r' || p[len - 1] != '\n')
		abort();
	for (i = 0; i < len; i++) {
		if (p[i] == '\0')
			abort();
		if (p[i] == '\r' && (i + 1 >= len || p[i + 1] != '\n'))
			abort();
		if (p[i] != '\n')
			continue;
		if (i - start < 5 || p[start] < '2' || p[start] > '5' ||
		    p[start + 1] < '0' || p[start + 1] > '9' ||
		    p[start + 2] < '0' || p[start + 2] > '9' ||
		    (p[start + 3] != ' ' && p[start + 3] != '-'))
			abort();
		start = i + 1;
	}
	return 0;
}

static int
fz_rcpt(void *ctx, const char *addr)
{
	(void)ctx;
	if (strchr(addr, '\r') || strchr(addr, '\n'))
		abort();
	return addr[0] == 'u' ? 1 : addr[0] == 't' ? -1 : 0;
}

static int
fz_checkpass(void *ctx, const char *user, const char *pass)
{
	(void)ctx;
	if (strlen(user) > SMTP_USER_MAX || strlen(pass) > SMTP_PASS_MAX)
		abort();
	return strcmp(pass, "pw") == 0 ? 0 : user[0] == 't' ? -1 : 1;
}

static int
fz_q_open(void *ctx)
{
	struct fz *f = ctx;

	buf_reset(&f->msg);
	return 0;
}

static int
fz_q_write(void *ctx, const char *p, size_t len)
{
	struct fz *f = ctx;

	return buf_append(&f->msg, p, len);
}

static int
fz_q_commit(void *ctx, const char *env, size_t len, char *text, size_t tsz)
{
	struct fz *f = ctx;
	const char *rec;
	size_t pos = 0, rlen, n = 0;
	char qid[QID_LEN + 1];

	if (memchr(f->msg.data, '\r', f->msg.len) != NULL ||
	    memchr(f->msg.data, '\0', f->msg.len) != NULL)
		abort();
	if (len < 2 || env[len - 1] != '\0' || env[len - 2] != '\0')
		abort();
	while (pos < len - 1) {
		if (rec_next(env, len - 1, &pos, 4096, &rec, &rlen) != 1)
			abort();
		if ((n == 0 && rec[0] != 'F') || (n == 1 && (rec[0] != 'I' ||
		    rlen != QID_LEN + 1)) || (n > 1 && rlen == 0))
			abort();
		if (n == 1) {
			memcpy(qid, rec + 1, QID_LEN);
			qid[QID_LEN] = '\0';
			if (!qid_valid(qid))
				abort();
		}
		n++;
	}
	(void)strlcpy(text, "Zlater", tsz);
	return f->msg.len % 3 == 0 ? 82 : 0;
}

static void
fz_q_abort(void *ctx)
{
	(void)ctx;
}

static int
fz_starttls(void *ctx, char *proto, size_t psz, char *cipher, size_t csz)
{
	struct fz *f = ctx;

	(void)strlcpy(proto, "TLSv1.3", psz);
	(void)strlcpy(cipher, "C", csz);
	return f->tls_ok ? 0 : -1;
}

static const struct smtpd_ops fz_ops = {
	fz_output, fz_rcpt, fz_checkpass, fz_q_open, fz_q_write,
	fz_q_commit, fz_q_abort, fz_starttls, NULL
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char local[] = "tern.test";
	static char *items[] = { local };
	struct smtpd_cfg cfg;
	struct smtpd s;
	struct fz f;
	int fd;

	if (size < 1)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	(void)strlcpy(cfg.me, "tern.test", sizeof(cfg.me));
	cfg.localdomains.items = items;
	cfg.localdomains.n = 1;
	cfg.mode = (data[0] & 2) ? SMTP_SUBMISSION : SMTP_MX;
	cfg.authinsecure = (data[0] & 4) != 0;
	cfg.databytes = 2000;
	cfg.maxrcpt = 5;
	cfg.maxhops = 3;
	cfg.maxbadcmds = 10;
	cfg.maxjunkcmds = 20;
	cfg.maxauthfail = 3;
	cfg.t_cmd = cfg.t_data = cfg.t_done = 10;
	memset(&f, 0, sizeof(f));
	f.tls_ok = (data[0] & 8) != 0;
	buf_init(&f.msg, 1 << 20);
	if ((fd = memfd_create("fuzz", 0)) == -1)
		abort();
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1) ||
	    lseek(fd, 0, SEEK_SET) == -1)
		abort();
	if (smtpd_init(&s, &cfg, &fz_ops, &f, fd, "192.0.2.1",
	    (data[0] & 1) ? "TLSv1.2" : NULL, "X") == 0) {
		smtpd_run(&s);
		smtpd_free(&s);
	}
	(void)close(fd);
	buf_free(&f.msg);
	return 0;
}
