/* remote_msg: the message as tern-remote sends it (CRLF, dot-stuffing). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote.h"

#define MSG_CHUNK	(64 * 1024)

int
remote_msg_encode(struct buf *out, const char *src, size_t len, bool *bol)
{
	size_t	i, start = 0;

	for (i = 0; i < len; i++) {
		if (*bol && src[i] == '.' && buf_appendc(out, '.') == -1)
			return -1;
		*bol = false;
		if (src[i] != '\n')
			continue;
		/* a CR already before the LF is kept as is: no CR CR LF */
		if (buf_append(out, src + start, i - start) == -1 ||
		    ((i == 0 || src[i - 1] != '\r') &&
		    buf_appendc(out, '\r') == -1) ||
		    buf_appendc(out, '\n') == -1)
			return -1;
		start = i + 1;
		*bol = true;
	}
	return buf_append(out, src + start, len - start);
}

/* Scan the header section (up to the first empty line) for 8-bit bytes. */
static void
scan_chunk(struct remote *r, const char *p, size_t n, bool *inhdr, int *nl)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] >= 0x80) {
			r->eightbit = true;
			if (*inhdr)
				r->needutf8 = true;
		}
		if (p[i] == '\n') {
			r->msgsize++;	/* the CR on the wire */
			if (*nl && *inhdr)
				*inhdr = false;
			*nl = 1;
		} else if (p[i] != '\r')
			*nl = 0;
	}
}

int
remote_msg_scan(struct remote *r)
{
	char	buf[MSG_CHUNK];
	ssize_t	n;
	off_t	off = 0;
	bool	inhdr = true;
	int	nl = 1;
	size_t	i;

	r->msgsize = 0;
	r->eightbit = r->needutf8 = false;
	for (;;) {
		n = pread(r->msgfd, buf, sizeof(buf), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		scan_chunk(r, buf, (size_t)n, &inhdr, &nl);
		off += n;
		r->msgsize += n;
	}
	if (addr_is_utf8(r->sender))
		r->needutf8 = true;
	for (i = 0; i < r->nrcpts; i++)
		if (addr_is_utf8(r->rcpts[i].addr))
			r->needutf8 = true;
	return 0;
}

int
remote_msg_send(struct remote *r, int block_timeout)
{
	char		in[MSG_CHUNK];
	struct buf	out;
	ssize_t		n;
	off_t		off = 0;
	bool		bol = true;
	int		rv = -1;

	buf_init(&out, 3 * MSG_CHUNK);
	for (;;) {
		n = pread(r->msgfd, in, sizeof(in), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		off += n;
		buf_reset(&out);
		if (remote_msg_encode(&out, in, (size_t)n, &bol) == -1 ||
		    rconn_write(&r->conn, out.data, out.len,
		    remote_deadline(block_timeout)) == -1)
			goto out;
	}
	buf_reset(&out);
	if ((!bol && buf_append(&out, "\r\n", 2) == -1) ||
	    buf_append(&out, ".\r\n", 3) == -1 ||
	    rconn_write(&r->conn, out.data, out.len,
	    remote_deadline(block_timeout)) == -1)
		goto out;
	rv = 0;
out:
	buf_free(&out);
	return rv;
}
