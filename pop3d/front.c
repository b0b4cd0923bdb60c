/* front: the credentials message, the verdicts, the control files. */
#include <sys/wait.h>

#include <errno.h>
#include <string.h>

#include "cfg.h"
#include "front.h"

int
front_cfg_load(struct front *f, const char *dir, const char **errstr)
{
	long long v;
	int r;

	r = cfg_get_num(dir, "pop3insecure", 0, 1, &v);
	if (r == -1) {
		*errstr = "pop3insecure";
		return -1;
	}
	f->cfg.insecure = r == 1 && v == 1;
	r = cfg_get_num(dir, "pop3faildelay", 0, 60, &v);
	if (r == -1) {
		*errstr = "pop3faildelay";
		return -1;
	}
	f->cfg.faildelay = r == 1 ? (unsigned)v : POP3_FAILDELAY_DEF;
	r = cfg_get_num(dir, "pop3timeout", 1, POP3_IDLE_MAX, &v);
	if (r == -1) {
		*errstr = "pop3timeout";
		return -1;
	}
	f->idle_s = r == 1 ? (unsigned)v : POP3_IDLE_S;
	r = cfg_get_str(dir, "pop3loginuser", f->loginuser,
	    sizeof(f->loginuser));
	if (r == -1) {
		*errstr = "pop3loginuser";
		return -1;
	}
	if (r == 0)
		(void)strlcpy(f->loginuser, FRONT_LOGINUSER_DEF,
		    sizeof(f->loginuser));
	return 0;
}

ssize_t
front_msg_build(char *buf, size_t bufsz, const char *user, const char *pass,
    const char *pending, size_t pendlen, bool tls)
{
	struct front_hdr h;
	size_t ul = strlen(user), pl = strlen(pass), o = sizeof(h);

	if (ul > POP3_USER_MAX || pl > POP3_PASS_MAX ||
	    pendlen > POP3_PENDING_MAX || o + ul + pl + pendlen > bufsz) {
		errno = E2BIG;
		return -1;
	}
	h.userlen = (uint32_t)ul;
	h.passlen = (uint32_t)pl;
	h.pendlen = (uint32_t)pendlen;
	h.tls = tls ? 1 : 0;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + o, user, ul);
	memcpy(buf + o + ul, pass, pl);
	if (pendlen > 0)
		memcpy(buf + o + ul + pl, pending, pendlen);
	return (ssize_t)(o + ul + pl + pendlen);
}

/*
 * The buffer holds header, user, pass, pending; user and pass are
 * moved one byte to make room for their NULs (the header is not needed
 * after it is read).
 */
int
front_msg_parse(char *buf, size_t len, struct front_cred *out)
{
	struct front_hdr h;
	char *u, *p;

	if (len < sizeof(h))
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (h.userlen > POP3_USER_MAX || h.passlen > POP3_PASS_MAX ||
	    h.pendlen > POP3_PENDING_MAX || h.tls > 1 ||
	    len != sizeof(h) + h.userlen + h.passlen + h.pendlen)
		return -1;
	u = buf + sizeof(h);
	if (memchr(u, '\0', h.userlen + h.passlen) != NULL)
		return -1;
	/* header >= 2 bytes: room to shift user and pass left by two */
	memmove(buf, u, h.userlen);
	buf[h.userlen] = '\0';
	p = buf + h.userlen + 1;
	memmove(p, u + h.userlen, h.passlen);
	p[h.passlen] = '\0';
	out->user = buf;
	out->pass = p;
	out->pending = u + h.userlen + h.passlen;
	out->pendlen = h.pendlen;
	out->tls = h.tls == 1;
	return 0;
}

int
front_verdict(int status)
{
	/* killed: whatever ran got the connection; do not talk on it */
	if (!WIFEXITED(status))
		return 0;
	switch (WEXITSTATUS(status)) {
	case 1:
		return FRONT_VERDICT_BAD;
	case 2:
	case 111:
	case FRONT_CHECK_FAIL:
		return FRONT_VERDICT_TEMP;
	default:
		return 0;
	}
}
