/* cfg: control files, one setting per file (qmail style). */
#ifndef TERN_CFG_H
#define TERN_CFG_H

#include <stdbool.h>
#include <stddef.h>

#define CFG_FILE_MAX	(1024 * 1024)	/* a control file larger is refused */
#define CFG_TABLE_MAX	(64 * 1024 * 1024) /* passwd, aliases */
#define CFG_LINE_MAX	4096

/*
 * Every reader takes the control directory and a file name inside it.
 * It returns 1 when the file was read, 0 when the file does not exist
 * ("absent": the caller uses its default; cfg_get_str and cfg_get_num
 * also return 0 for a file with no setting line).  Any other error
 * (unreadable, too large: EFBIG, a line over CFG_LINE_MAX: EMSGSIZE, NUL
 * byte: EINVAL) returns -1 with errno.  Lines are trimmed of leading and
 * trailing blanks (space, tab, CR); blank lines and lines starting with
 * '#' are ignored.
 */

/* The first line into out (truncation is an error: ENAMETOOLONG). */
int	cfg_get_str(const char *dir, const char *name, char *out, size_t outsz);

/*
 * The first line as an unsigned number in [min, max].  Suffixes k, m, g
 * (x1024) and, for durations, s, m, h, d are not accepted here: plain
 * decimal only.  Out of range or garbage: -1 with EINVAL or ERANGE.
 */
int	cfg_get_num(const char *dir, const char *name, long long min,
	    long long max, long long *out);

/* A list of lines.  items[i] point into one allocation. */
struct cfglist {
	char	**items;
	size_t	  n;
	char	 *mem;
};

/* All lines of the file into *out (freed with cfg_list_free). */
int	cfg_get_list(const char *dir, const char *name, struct cfglist *out);
void	cfg_list_free(struct cfglist *);
/* True when s equals an item, ASCII case-insensitively. */
bool	cfg_list_has(const struct cfglist *, const char *s);

/*
 * Copy the first len bytes of in to out lowercased (ASCII) and
 * NUL-terminate: 0, or -1 with ENAMETOOLONG when len >= outsz.
 */
int	cfg_lowercase(char *out, size_t outsz, const char *in, size_t len);

/*
 * Binary search in a table sorted by strcmp(3) on its first member, a
 * string pointer (struct alias, struct vuser, ...): the entry whose name
 * equals key, or NULL.  size is the entry size.
 */
const void *cfg_find_sorted(const void *tab, size_t n, size_t size,
	    const char *key);

/*
 * Read a whole file (control dir or any path when dir is NULL) into a
 * malloc'd NUL-terminated buffer of at most max bytes (EFBIG beyond).
 * Always O_CLOEXEC; O_NOFOLLOW only when nofollow is true (a link is then
 * ELOOP).  Only regular files: a directory is EISDIR, anything else
 * (fifo, device) EINVAL.  1 read (*data_out is the caller's to free),
 * 0 absent (*data_out NULL), -1 error.
 */
int	cfg_read_file(const char *dir, const char *name, size_t max,
	    bool nofollow, char **data_out, size_t *len_out);

#endif
