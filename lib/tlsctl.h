/*
 * tlsctl: the tern-tlsd control protocol (STARTTLS on request), both
 * ends.  The protocol program writes the byte 'Y' to the control socket
 * named by TERN_TLSCTL; tern-tlsd answers with one line, "OK <protocol>
 * <cipher>\n" carrying a new plaintext socket (SCM_RIGHTS), or
 * "NO <reason>\n".  See tern-tlsd(8).
 */
#ifndef TERN_TLSCTL_H
#define TERN_TLSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLSCTL_ENV		"TERN_TLSCTL"
#define TLSCTL_REQ_START	'Y'	/* the only request */
#define TLSCTL_PROTO_MAX	32	/* "TLSv1.3" and room to spare */
#define TLSCTL_CIPHER_MAX	128	/* OpenSSL/IANA cipher names */
#define TLSCTL_REASON_MAX	200
#define TLSCTL_LINE_MAX		256	/* a whole reply, '\n' included */

enum tlsctl_req {
	TLSCTL_NEED,		/* no complete request yet */
	TLSCTL_START,		/* 'Y': start TLS */
	TLSCTL_BAD		/* anything else */
};

struct tlsctl_reply {
	bool	ok;				/* OK (true) or NO */
	char	proto[TLSCTL_PROTO_MAX];	/* OK: e.g. "TLSv1.3" */
	char	cipher[TLSCTL_CIPHER_MAX];	/* OK: e.g. "TLS_AES_..." */
	char	reason[TLSCTL_REASON_MAX];	/* NO: printable text */
};

/*
 * The server side: look at the first bytes the program sent on the
 * control socket.  Always consumes one byte (*used = 1) when len > 0:
 * TLSCTL_START for 'Y', TLSCTL_BAD for any other byte; TLSCTL_NEED with
 * *used = 0 when len is 0.
 */
enum tlsctl_req tlsctl_request_parse(const char *buf, size_t len,
	    size_t *used);

/*
 * Parse one reply line from buf (len bytes, not NUL-terminated).
 * "OK <proto> <cipher>\n": proto and cipher are 1 to PROTO_MAX - 1 /
 * CIPHER_MAX - 1 bytes of 0x21..0x7e, separated by one space.
 * "NO <reason>\n" or "NO\n": reason is 0 to REASON_MAX - 1 bytes of
 * 0x20..0x7e.  Returns 1 with *out and *used (bytes of the line,
 * '\n' included), 0 when no '\n' has come yet and len < LINE_MAX
 * (read more), -1 with EINVAL for a malformed or overlong line.
 */
int	tlsctl_reply_parse(const char *buf, size_t len,
	    struct tlsctl_reply *out, size_t *used);

/*
 * Format r as a reply line into buf (bufsz bytes, NUL-terminated).
 * A reason with bytes outside 0x20..0x7e has them replaced by '?' and
 * is cut to fit.  The length of the line, or -1 with EINVAL when an OK
 * reply's proto or cipher would not parse back, ENOSPC when bufsz is
 * too small.
 */
int	tlsctl_reply_format(char *buf, size_t bufsz,
	    const struct tlsctl_reply *r);

/*
 * The control fd named in the environment (TERN_TLSCTL, a decimal fd
 * above 2 that is open): the fd, or -1 when unset or invalid.
 */
int	tlsctl_env_fd(void);

/*
 * The program side, blocking: send 'Y' on ctlfd, wait until the
 * absolute CLOCK_MONOTONIC deadline_ms (0: none) for the reply and,
 * for OK, the passed descriptor (close-on-exec) in *fd_out.
 * 1 OK (*fd_out is the new plaintext socket), 0 NO (*fd_out -1; the
 * reason in *out), -1 with errno (ETIMEDOUT, EPROTO: a bad reply or an
 * OK without a descriptor, ECONNRESET: tern-tlsd closed the socket).
 */
int	tlsctl_start(int ctlfd, int64_t deadline_ms, int *fd_out,
	    struct tlsctl_reply *out);

#endif
