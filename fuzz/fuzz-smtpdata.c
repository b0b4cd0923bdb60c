/*
 * fuzz-smtpdata: the DATA reader.  The input is sent after a fixed
 * EHLO/MAIL/RCPT/DATA; a simple model computes what must be stored:
 * lines end with CRLF, "." alone ends the data, one leading dot is
 * removed, a bare CR or LF before the end refuses the message (and
 * nothing after it is read), a NUL refuses it.  The stored message
 * (after tern-smtpd's Received line) must equal the model's exactly,
 * and a message is committed exactly when the model says so.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../smtpd/smtpd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define PREFIX	"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<u@tern.test>\r\nDATA\r\n"

struct fz {
	struct buf	msg;
	int		commits;
};

static int
fz_output(void *ctx, const char *p, size_t len)
{
	(void)ctx;
	(void)p;
	(void)len;
	return 0;
}

static int
fz_rcpt(void *ctx, const char *addr)
{
	(void)ctx;
	(void)addr;
	return 1;
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

	(void)env;
	(void)len;
	(void)text;
	(void)tsz;
	f->commits++;
	return 0;
}

static void
fz_q_abort(void *ctx)
{
	(void)ctx;
}

static const struct smtpd_ops fz_ops = {
	fz_output, fz_rcpt, NULL, fz_q_open, fz_q_write, fz_q_commit,
	fz_q_abort, NULL, NULL
};

/* The model: 1 and the body in *out when a message must be committed. */
static int
model(const uint8_t *d, size_t n, struct buf *out)
{
	size_t i = 0, j, len;
	const uint8_t *l;

	while (i < n) {
		l = d + i;
		for (j = i; j < n && d[j] != '\n'; j++)
			;
		if (j == n)
			return 0;		/* EOF inside a line */
		if (j == i || d[j - 1] != '\r')
			return 0;		/* bare LF */
		len = j - 1 - i;
		if (memchr(l, '\r', len) != NULL || len > SMTP_DATA_LINE_MAX)
			return 0;		/* bare CR, too long */
		if (len == 1 && l[0] == '.')
			return 1;
		if (memchr(l, '\0', len) != NULL)
			return 0;
		if (len > 0 && l[0] == '.') {
			l++;
			len--;
		}
		if (buf_append(out, l, len) == -1 ||
		    buf_appendc(out, '\n') == -1)
			abort();
		i = j + 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_cfg cfg;
	struct smtpd s;
	struct buf want;
	struct fz f;
	const char *body;
	int fd, expect;

	memset(&cfg, 0, sizeof(cfg));
	(void)strlcpy(cfg.me, "tern.test", sizeof(cfg.me));
	cfg.maxrcpt = cfg.maxhops = cfg.maxbadcmds = cfg.maxjunkcmds = 100000;
	cfg.maxauthfail = 1;
	cfg.t_cmd = cfg.t_data = cfg.t_done = 10;
	memset(&f, 0, sizeof(f));
	buf_init(&f.msg, 1 << 24);
	buf_init(&want, 1 << 24);
	expect = model(data, size, &want);
	if ((fd = memfd_create("fuzz", 0)) == -1 ||
	    write(fd, PREFIX, strlen(PREFIX)) == -1 ||
	    write(fd, data, size) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET) == -1)
		abort();
	if (smtpd_init(&s, &cfg, &fz_ops, &f, fd, "192.0.2.1", NULL,
	    NULL) == -1)
		abort();
	smtpd_run(&s);
	smtpd_free(&s);
	(void)close(fd);
	if (f.commits != expect)
		abort();
	if (expect) {
		body = strstr(buf_cstr(&f.msg), "+0000\n");
		if (body == NULL)
			abort();
		body += 6;
		if ((size_t)(f.msg.data + f.msg.len - body) != want.len ||
		    memcmp(body, want.data ? want.data : "", want.len) != 0)
			abort();
	}
	buf_free(&f.msg);
	buf_free(&want);
	return 0;
}
