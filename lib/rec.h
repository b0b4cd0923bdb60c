/* rec: NUL-terminated records, the format of envelopes and pipes. */
#ifndef TERN_REC_H
#define TERN_REC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * A record is a run of bytes without NUL, CR or LF, followed by NUL.
 * rec_next scans data[*pos..len): returns 1 with *rec_out and *len_out set
 * and *pos advanced past the NUL; 0 when *pos == len; -1 with EINVAL when
 * the remaining bytes have no NUL, or a record holds CR or LF, or is
 * longer than max (EMSGSIZE).
 */
int	rec_next(const char *data, size_t len, size_t *pos, size_t max,
	    const char **rec_out, size_t *len_out);

/* True when s[0..len) contains no NUL, CR or LF. */
bool	rec_clean(const char *s, size_t len);

/* Append s and a NUL: 0, or -1 (EINVAL when s holds CR/LF; buf errors). */
int	rec_put(struct buf *, const char *s);
/* Append tag, s and a NUL (tag is one char): as rec_put. */
int	rec_put_tag(struct buf *, char tag, const char *s);

#endif
