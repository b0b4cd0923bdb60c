/* uniq: unique, sortable names: queue ids and Maildir file names. */
#ifndef TERN_UNIQ_H
#define TERN_UNIQ_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A queue id is QID_LEN characters of [0-9a-v] (base32, so ids sort as
 * strings in time order): 7 for the seconds since the epoch, 4 for the
 * microseconds, 5 from arc4random(3).  The random part keeps ids unique
 * across restarts and clock jumps; tern-queue also refuses to overwrite
 * an existing id (link(2) fails with EEXIST and it draws again).
 */
#define QID_LEN	16

/*
 * Write a new id and its NUL into out (QID_LEN + 1 bytes).  Within one
 * process ids strictly increase (a draw in the same microsecond as the
 * last takes the next microsecond), so they never repeat there.
 */
void	qid_new(char out[QID_LEN + 1]);
/* True when s is exactly a well-formed queue id. */
bool	qid_valid(const char *s);
/* The seconds part of a valid id. */
long long qid_time(const char *s);

/*
 * A Maildir base name unique across hosts and processes:
 * "<sec>.M<usec>P<pid>Q<count>R<random hex>.<host>", where host has '/'
 * as \057 and ':' as \072 (the Maildir rules).  0, or -1 (ENAMETOOLONG).
 */
int	uniq_maildir(char *out, size_t outsz);

/*
 * The delivery key of one queued message for one recipient into one
 * Maildir: the queue id, then 16 lower-case hex digits of a 64-bit
 * FNV-1a hash of rcpt, a NUL and path.  The same inputs always give the
 * same key, so a later delivery can find an earlier one (tern-spool(5),
 * "Crashes").  0, or -1 EINVAL when qid is not a queue id.
 */
#define UNIQ_KEY_LEN	(QID_LEN + 16)
#define UNIQ_KEY_MAX	64	/* longest key uniq_maildir_key takes */
int	uniq_key(char out[UNIQ_KEY_LEN + 1], const char *qid, const char *rcpt,
	    const char *path);

/*
 * As uniq_maildir, with "K<key>" at the end of the unique part:
 * "<sec>.M<usec>P<pid>Q<count>R<random hex>K<key>.<host>".  key is 1 to
 * UNIQ_KEY_MAX characters of [0-9a-z] (else EINVAL); NULL is
 * uniq_maildir.  0, or -1 (ENAMETOOLONG, EINVAL).
 */
int	uniq_maildir_key(char *out, size_t outsz, const char *key);

/*
 * True when the Maildir base name (as found in new/, or in cur/ with a
 * ":2,flags" suffix) was made by uniq_maildir_key with this key: its
 * unique part, between the first and the second '.', ends in "K<key>".
 */
bool	uniq_maildir_has_key(const char *name, const char *key);

#endif
