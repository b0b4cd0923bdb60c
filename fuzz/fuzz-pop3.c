/*
 * fuzz-pop3: the POP3 command parsers of tern-pop3-login (before
 * login) and tern-pop3d (after it), fed from a memory file.  First
 * byte: bit 0 picks the session (0 login, 1 transaction), bit 1 TLS
 * already on / pop3insecure, bit 2 whether logins succeed.  The rest is
 * the client's input.  Also checks the credentials message and the
 * POP3 conversion against the CRLF size of lib/maildir_scan.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../pop3d/front.h"
#include "../pop3d/pop3.h"
#include "maildir_scan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *msgs[] = {
	"Subject: a\n\nbody\n.dot\n", "S: b\r\n\r\nx", "", ".\n..\n",
};
#define NMSGS	(sizeof(msgs) / sizeof(msgs[0]))

static bool	 login_ok;

static int
memfd_with(const char *p, size_t len)
{
	int fd = memfd_create("fuzz", 0);

	if (fd == -1 || (len > 0 && write(fd, p, len) != (ssize_t)len) ||
	    lseek(fd, 0, SEEK_SET) == -1)
		abort();
	return fd;
}

static int
f_output(void *ctx, const char *p, size_t len)
{
	(void)ctx;
	/* every reply line ends in CRLF and nothing is ever sent half */
	if (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n')
		abort();
	return 0;
}

static int
f_starttls(void *ctx)
{
	(void)ctx;
	return 0;
}

static int
f_login(void *ctx, const char *user, const char *pass, const char *pending,
    size_t pendlen, bool tls)
{
	char buf[FRONT_MSG_MAX];
	struct front_cred c;
	ssize_t n;

	(void)ctx;
	if (user[0] == '\0' || strlen(user) > POP3_USER_MAX ||
	    strlen(pass) > POP3_PASS_MAX)
		abort();
	n = front_msg_build(buf, sizeof(buf), user, pass, pending, pendlen,
	    tls);
	if (n < 0 || front_msg_parse(buf, (size_t)n, &c) != 0 ||
	    strcmp(c.user, user) != 0 || strcmp(c.pass, pass) != 0 ||
	    c.pendlen != pendlen)
		abort();
	return login_ok ? 0 : 1;
}

static const struct pop3_login_ops lops = {
	f_output, f_starttls, f_login, NULL
};

static int
f_size(void *ctx, size_t i, uint64_t *out)
{
	struct mscan_crlf c;

	(void)ctx;
	mscan_crlf_init(&c);
	mscan_crlf_add(&c, msgs[i], strlen(msgs[i]));
	*out = mscan_crlf_end(&c);
	return 0;
}

static int
f_uid(void *ctx, size_t i, char *out, size_t outsz)
{
	char uid[MSCAN_UID_MAX + 1];

	(void)ctx;
	(void)mscan_uid(msgs[i], strlen(msgs[i]), uid);
	return strlcpy(out, uid, outsz) < outsz ? 0 : -1;
}

static int
f_open(void *ctx, size_t i)
{
	(void)ctx;
	return memfd_with(msgs[i], strlen(msgs[i]));
}

static int
f_remove(void *ctx, size_t i)
{
	(void)ctx;
	if (i >= NMSGS)
		abort();
	return 0;
}

static const struct pop3d_ops tops = {
	f_output, f_size, f_uid, f_open, f_remove, NULL, NULL
};

/* The POP3 form of data, less stuffing, is as long as its CRLF size. */
static void
check_stuff(const uint8_t *data, size_t size)
{
	struct pop3_stuff st;
	struct mscan_crlf c;
	char *out;
	size_t o, i, dots = 0;

	if ((out = malloc(2 * size + 3)) == NULL)
		return;
	pop3_stuff_init(&st, -1);
	o = pop3_stuff_add(&st, (const char *)data, size, out);
	o += pop3_stuff_end(&st, out + o);
	for (i = 0; i < o; i++)
		if (out[i] == '.' && (i == 0 || out[i - 1] == '\n'))
			dots++;
	mscan_crlf_init(&c);
	mscan_crlf_add(&c, data, size);
	if (mscan_crlf_end(&c) != o - dots)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_login_cfg cfg;
	struct pop3_login l;
	struct pop3d s;
	int fd;

	if (size < 1 || size > 65536)
		return 0;
	check_stuff(data + 1, size - 1);
	login_ok = (data[0] & 4) != 0;
	fd = memfd_with((const char *)data + 1, size - 1);
	if ((data[0] & 1) == 0) {
		cfg.insecure = (data[0] & 2) != 0;
		cfg.faildelay = 0;
		if (pop3_login_init(&l, &cfg, &lops, NULL, fd,
		    (data[0] & 2) != 0) == 0) {
			pop3_login_run(&l);
			pop3_login_free(&l);
		}
	} else if (pop3d_init(&s, &tops, NULL, fd, NMSGS, "", 0) == 0) {
		pop3d_run(&s);
		pop3d_free(&s);
	}
	(void)close(fd);
	return 0;
}
