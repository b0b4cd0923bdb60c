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

#endif
