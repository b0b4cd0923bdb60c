/*
 * maildir_scan: read a Maildir for a POP3 or IMAP server.  Lists the
 * messages of cur/ (after moving those of new/ there), opens them
 * safely, computes their size in CRLF form and removes them.
 */
#ifndef TERN_MAILDIR_SCAN_H
#define TERN_MAILDIR_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MSCAN_NAME_MAX	255	/* NAME_MAX: one directory entry */
#define MSCAN_UID_MAX	70	/* RFC 1939 7: a unique-id is 1 to 70 octets */
#define MSCAN_MSGS_MAX	(1024 * 1024)	/* messages listed at most */

/* One message in cur/. */
struct mscan_msg {
	char		*name;		/* file name in cur/ (base ":2,flags") */
	size_t		 baselen;	/* bytes before the first ':' */
	long long	 stamp;		/* leading decimal of the name, or 0 */
	uint64_t	 vsize;		/* CRLF size, when have_vsize */
	bool		 have_vsize;
};

struct mscan {
	int			 curfd;		/* cur/, O_DIRECTORY */
	struct mscan_msg	*msgs;
	size_t			 n, cap;
};

/*
 * The size of a message once its line ends are CRLF: every LF not
 * preceded by CR counts one more byte, and a message that does not end
 * in LF gets a CRLF added (two more bytes), so that a POP3 or IMAP
 * server that sends the file this way sends exactly that many bytes.
 * Feed the file through mscan_crlf_add in any pieces, then take
 * mscan_crlf_end.
 */
struct mscan_crlf {
	uint64_t	size;
	bool		any;		/* at least one byte seen */
	unsigned char	last;		/* the last byte seen */
};
void	mscan_crlf_init(struct mscan_crlf *);
void	mscan_crlf_add(struct mscan_crlf *, const void *, size_t);
uint64_t mscan_crlf_end(const struct mscan_crlf *);

/*
 * Open the Maildir at path: when move_new, rename every regular file of
 * new/ to cur/<name>:2, (a name already holding ':' keeps it; a name
 * that already exists in cur/ is never replaced: the file stays in
 * new/); then list
 * cur/: regular files only (symlinks, directories, fifos and names
 * starting with '.' are skipped, never listed), at most MSCAN_MSGS_MAX,
 * sorted by their leading number (delivery time), then by name.
 * 0, or -1 with errno (ENOENT: no cur/; E2BIG: too many messages).
 */
int	mscan_open(struct mscan *, const char *path, bool move_new);
void	mscan_free(struct mscan *);

/*
 * Open message i for reading: O_NOFOLLOW, O_NONBLOCK (cleared after),
 * O_CLOEXEC, and it must be a regular file (else ELOOP/EFTYPE-like
 * EINVAL).  When its name has gone (another reader changed its flags),
 * cur/ is searched for the same base name and the entry updated.
 * The fd, or -1 with errno (ENOENT: the message is gone).
 */
int	mscan_msg_open(struct mscan *, size_t i);

/*
 * The CRLF size of message i: taken from the name when it carries both
 * ",S=<n>" (file size) and ",W=<m>" (CRLF size) and n is the size of
 * the file, else counted by reading the file.  Cached in the entry.
 * 0, or -1 with errno.
 */
int	mscan_msg_size(struct mscan *, size_t i, uint64_t *size_out);

/*
 * Remove message i (also under a changed flags part, as for
 * mscan_msg_open).  0 (also when it was already gone), or -1 with errno.
 */
int	mscan_msg_unlink(struct mscan *, size_t i);

/*
 * The unique id of a message name: its base name (up to the first ':')
 * when that is 1 to MSCAN_UID_MAX bytes of 0x21..0x7e, as qmail-pop3d
 * gave it; otherwise "sha256-" and the first 56 hex digits of the
 * SHA-256 of the base name.  Writes a NUL-terminated id into out
 * (MSCAN_UID_MAX + 1 bytes): its length.
 */
size_t	mscan_uid(const char *name, size_t baselen,
	    char out[MSCAN_UID_MAX + 1]);

/*
 * Parse the sizes a name may carry: ",S=<n>" and ",W=<m>" in the base
 * name.  Each found one is set and flagged; false when a value is
 * malformed.
 */
bool	mscan_name_sizes(const char *name, size_t baselen, bool *have_s,
	    uint64_t *s, bool *have_w, uint64_t *w);

#endif
