/* bounce: failure records and RFC 3464 delivery status notifications. */
#include <sys/stat.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bounce.h"
#include "io.h"
#include "paths.h"
#include "rec.h"
#include "uniq.h"

#define BOUNCE_INDEX_DIGITS	10	/* digits of an index, at most */
#define BOUNCE_BOUNDARY_TRIES	16
#define BOUNCE_DATE_MAX		64
#define BOUNCE_FIELD_MAX	1024	/* one address or id in a header */

/* What a parsed bounce file looks like before the last-wins pass. */
struct bounce_list {
	struct bounce_rcpt	*v;
	size_t			 n, cap;
	bool			 notes;	/* notes, not failures */
	bool			 warned; /* last W mark: sent */
};

static bool
bounce_status_ok(const char *s, size_t len)
{
	size_t i, part = 0, digits = 0;

	if (len < 5 || len >= sizeof(((struct bounce_rcpt *)0)->status) ||
	    (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	/* RFC 3463 2: class "." subject (1-3 digits) "." detail (1-3). */
	for (i = 2; i < len; i++) {
		if (s[i] == '.') {
			if (digits == 0 || ++part > 1)
				return false;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			if (++digits > 3)
				return false;
		} else
			return false;
	}
	return part == 1 && digits > 0;
}

/*
 * Only a real SMTP reply may be labelled smtp (RFC 3464 2.3.6); tern's
 * own words about a local failure are of its own type.
 */
const char *
bounce_diag_type(const char *text)
{
	if (text != NULL && text[0] != '\0' && strchr("245", text[0]) &&
	    text[1] >= '0' && text[1] <= '9' &&
	    text[2] >= '0' && text[2] <= '9' &&
	    (text[3] == ' ' || text[3] == '-'))
		return "smtp";
	return "X-tern";
}

/* RFC 1123 2.1 host name labels, '_' tolerated (seen in MX names). */
static bool
bounce_hostname_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > BOUNCE_HOST_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return false;
		if ((label == 0 && s[i] == '-') || ++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

/* 4 or 6 when s[0..len) is an IPv4 or IPv6 address, else 0. */
static int
bounce_ip_family(const char *s, size_t len)
{
	char tmp[64];
	unsigned char a[16];

	if (len == 0 || len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, a) == 1)
		return 4;
	if (inet_pton(AF_INET6, tmp, a) == 1)
		return 6;
	return 0;
}

/*
 * tern-remote writes "host [ip]: text" (deliver/remote_smtp.c); the
 * first " [" ends the host, which holds no blank, and the first "]: "
 * after it ends the address, which holds no "]".
 */
bool
bounce_split_remote(const char *text, char *mta, size_t mtasz,
    const char **rest_out)
{
	const char *lb, *rb;
	size_t hlen;
	int fam, n;

	*rest_out = text;
	if (mtasz > 0)
		mta[0] = '\0';
	if (text == NULL || (lb = strstr(text, " [")) == NULL ||
	    (rb = strstr(lb + 2, "]: ")) == NULL)
		return false;
	hlen = (size_t)(lb - text);
	if (bounce_ip_family(lb + 2, (size_t)(rb - lb - 2)) == 0)
		return false;
	if ((fam = bounce_ip_family(text, hlen)) != 0)
		n = snprintf(mta, mtasz, "[%s%.*s]", fam == 6 ? "IPv6:" : "",
		    (int)hlen, text);
	else if (bounce_hostname_ok(text, hlen))
		n = snprintf(mta, mtasz, "%.*s", (int)hlen, text);
	else
		return false;
	if (n < 0 || (size_t)n >= mtasz) {
		if (mtasz > 0)
			mta[0] = '\0';
		return false;
	}
	*rest_out = rb + 3;
	return true;
}

/* Printable ASCII only: the text ends up in headers and log lines. */
static void
bounce_clean(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	size_t i;

	for (i = 0; i < srclen && i + 1 < dstsz; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
	dst[i] = '\0';
}

static int
bounce_path(char *out, size_t outsz, const char *spooldir, const char *id)
{
	char dir[PATH_MAX];

	if (!qid_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	if (paths_join(dir, sizeof(dir), spooldir, SPOOL_BOUNCE) == -1)
		return -1;
	return paths_join(out, outsz, dir, id);
}

static int
bounce_index(const char *s, size_t len, size_t *out)
{
	size_t i, v = 0;

	if (len == 0 || len > BOUNCE_INDEX_DIGITS)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "W\0sent|unsent\0<seconds>\0": the delay warning mark. */
static int
bounce_add_mark(struct bounce_list *l, const char *const f[3],
    const size_t flen[3])
{
	size_t i;

	if (flen[2] == 0 || flen[2] > 20) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < flen[2]; i++)
		if (f[2][i] < '0' || f[2][i] > '9') {
			errno = EINVAL;
			return -1;
		}
	if (flen[1] == 4 && memcmp(f[1], "sent", 4) == 0)
		l->warned = true;
	else if (flen[1] == 6 && memcmp(f[1], "unsent", 6) == 0)
		l->warned = false;
	else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* The diagnostic type of a text, looking past "host [ip]: ". */
static const char *
bounce_text_type(const char *text)
{
	char mta[BOUNCE_MTA_MAX + 1];
	const char *rest;

	(void)bounce_split_remote(text, mta, sizeof(mta), &rest);
	return bounce_diag_type(rest);
}

/*
 * One triple: a failure "<index>", a note "Z<index>" (status 4.y.z) or
 * a mark "W"; kept when it is of the kind l collects.  -1 EINVAL when
 * it does not look right.
 */
static int
bounce_add(struct bounce_list *l, const char *const f[3],
    const size_t flen[3])
{
	struct bounce_rcpt *r, *nv;
	size_t idx, ncap, skip;

	if (flen[0] == 1 && f[0][0] == 'W')
		return bounce_add_mark(l, f, flen);
	skip = flen[0] > 0 && f[0][0] == 'Z';
	if (bounce_index(f[0] + skip, flen[0] - skip, &idx) == -1 ||
	    !bounce_status_ok(f[1], flen[1]) || (skip && f[1][0] != '4')) {
		errno = EINVAL;
		return -1;
	}
	if ((skip == 1) != l->notes)
		return 0;
	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : 16;
		if ((nv = reallocarray(l->v, ncap, sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	r = &l->v[l->n++];
	r->index = idx;
	memcpy(r->status, f[1], flen[1]);
	r->status[flen[1]] = '\0';
	bounce_clean(r->text, sizeof(r->text), f[2], flen[2]);
	(void)strlcpy(r->diag_type, bounce_text_type(r->text),
	    sizeof(r->diag_type));
	return 0;
}

/*
 * Split the file into fields and take (index, status, text) triples;
 * when a triple does not look right, drop one field and try again, so a
 * torn record (or the zeros a crash can leave) costs only that record.
 * *end_out is where the last good triple ends.
 */
static int
bounce_parse(const char *data, size_t len, struct bounce_list *l,
    size_t *end_out)
{
	const char *f[3], *nul;
	size_t flen[3], nf = 0, pos = 0;

	*end_out = 0;
	while (pos < len && (nul = memchr(data + pos, '\0', len - pos))) {
		f[nf] = data + pos;
		flen[nf] = (size_t)(nul - (data + pos));
		pos += flen[nf] + 1;
		if (++nf < 3)
			continue;
		if (bounce_add(l, f, flen) == -1) {
			if (errno == ENOMEM)
				return -1;
			f[0] = f[1], flen[0] = flen[1];
			f[1] = f[2], flen[1] = flen[2];
			nf = 2;
			continue;
		}
		*end_out = pos;
		nf = 0;
	}
	return 0;
}

/* The whole file (a regular file of at most BOUNCE_FILE_MAX bytes). */
static int
bounce_slurp(int fd, char **data_out, size_t *len_out)
{
	struct stat st;
	char *data;
	size_t len = 0;
	ssize_t r;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if (st.st_size > BOUNCE_FILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL)
		return -1;
	while (len < (size_t)st.st_size) {
		r = pread(fd, data + len, (size_t)st.st_size - len, (off_t)len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				break;	/* shrank: take what is */
			free(data);
			return -1;
		}
		len += (size_t)r;
	}
	*data_out = data;
	*len_out = len;
	return 0;
}

/*
 * A crash in the middle of an append can leave a record without its
 * final NUL; appending after it would glue the next index onto that
 * text, so cut the file back to the last complete record first.
 */
static int
bounce_repair(int fd)
{
	struct bounce_list l = { NULL, 0, 0, false, false };
	struct stat st;
	char last, *data;
	size_t len, end;
	int rv;

	if (fstat(fd, &st) == -1)
		return -1;
	if (st.st_size == 0)
		return 0;
	if (pread(fd, &last, 1, st.st_size - 1) != 1)
		return -1;
	if (last == '\0')
		return 0;
	if (bounce_slurp(fd, &data, &len) == -1)
		return -1;
	rv = bounce_parse(data, len, &l, &end);
	free(data);
	free(l.v);
	if (rv == -1)
		return -1;
	return ftruncate(fd, (off_t)end);
}

static int
bounce_open_append(const char *path, const char *spooldir)
{
	char dir[PATH_MAX];
	int fd, flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC;

	/* Read-write: bounce_repair looks at what is there. */
	if ((fd = open(path, flags)) != -1 || errno != ENOENT)
		return fd;
	if ((fd = open(path, flags | O_CREAT, 0600)) == -1)
		return -1;
	/* A new file must survive a crash as well as its records do. */
	if (paths_join(dir, sizeof(dir), spooldir, SPOOL_BOUNCE) == -1 ||
	    io_fsync_dir(dir) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Append the record f[0]\0f[1]\0f[2]\0 with one write(2) (O_APPEND
 * keeps concurrent records whole), synced when sync; nothing when limit
 * is not 0 and the file already has that many bytes.
 */
static int
bounce_append(const char *spooldir, const char *id, const char *const f[3],
    bool sync, off_t limit)
{
	char path[PATH_MAX];
	struct stat sb;
	struct buf b;
	int fd, rv = -1, save;

	if (bounce_path(path, sizeof(path), spooldir, id) == -1)
		return -1;
	buf_init(&b, 4 * (BOUNCE_TEXT_MAX + 1));
	if (rec_put(&b, f[0]) == -1 || rec_put(&b, f[1]) == -1 ||
	    rec_put(&b, f[2]) == -1)
		goto out;
	if ((fd = bounce_open_append(path, spooldir)) == -1)
		goto out;
	if (bounce_repair(fd) == 0 && fstat(fd, &sb) == 0) {
		if (limit != 0 && sb.st_size >= limit)
			rv = 0;
		else if (io_write_all(fd, b.data, b.len) == 0 &&
		    (!sync || fsync(fd) == 0))
			rv = 0;
	}
	save = errno;
	close(fd);
	errno = save;
out:
	save = errno;
	buf_free(&b);
	errno = save;
	return rv;
}

int
bounce_record(const char *spooldir, const char *id, size_t index,
    const char *status, const char *text)
{
	char clean[BOUNCE_TEXT_MAX + 1], num[32];
	const char *f[3] = { num, status, clean };

	if (text == NULL)
		text = "";
	if (!bounce_status_ok(status, strlen(status)) || !qid_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	bounce_clean(clean, sizeof(clean), text, strlen(text));
	(void)snprintf(num, sizeof(num), "%zu", index);
	return bounce_append(spooldir, id, f, true, 0);
}

int
bounce_note(const char *spooldir, const char *id, size_t index,
    const char *status, const char *text)
{
	char clean[BOUNCE_TEXT_MAX + 1], num[32];
	const char *f[3] = { num, status, clean };

	if (text == NULL)
		text = "";
	if (!bounce_status_ok(status, strlen(status)) || status[0] != '4' ||
	    !qid_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	bounce_clean(clean, sizeof(clean), text, strlen(text));
	(void)snprintf(num, sizeof(num), "Z%zu", index);
	return bounce_append(spooldir, id, f, false, BOUNCE_NOTES_MAX);
}

int
bounce_mark_warned(const char *spooldir, const char *id, bool sent,
    time_t now)
{
	char t[32];
	const char *f[3] = { "W", sent ? "sent" : "unsent", t };

	if (!qid_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	(void)snprintf(t, sizeof(t), "%lld", now < 0 ? 0LL : (long long)now);
	return bounce_append(spooldir, id, f, true, 0);
}

static int
bounce_cmp(const void *a, const void *b)
{
	const struct bounce_rcpt *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* Keep the last record of each index below nrcpt, sorted by index. */
static int
bounce_last_wins(struct bounce_list *l, size_t nrcpt)
{
	unsigned char *seen;
	size_t i, k, keep = 0;

	if ((seen = calloc(nrcpt / 8 + 1, 1)) == NULL)
		return -1;
	/* Backwards, so the last record of an index is the one seen. */
	for (k = l->n; k-- > 0;) {
		i = l->v[k].index;
		if (i >= nrcpt || seen[i / 8] & (1u << (i % 8)))
			l->v[k].index = SIZE_MAX;
		else
			seen[i / 8] |= (unsigned char)(1u << (i % 8));
	}
	free(seen);
	for (k = 0; k < l->n; k++)
		if (l->v[k].index != SIZE_MAX)
			l->v[keep++] = l->v[k];
	l->n = keep;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), bounce_cmp);
	return 0;
}

/* Read bounce/<id> into l (l->notes says which records): 1, 0, -1. */
static int
bounce_load(const char *spooldir, const char *id, size_t nrcpt,
    struct bounce_list *l)
{
	char path[PATH_MAX], *data;
	size_t len, end;
	int fd, rv, save;

	if (bounce_path(path, sizeof(path), spooldir, id) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	rv = bounce_slurp(fd, &data, &len);
	save = errno;
	close(fd);
	errno = save;
	if (rv == -1)
		return -1;
	rv = bounce_parse(data, len, l, &end);
	free(data);
	if (rv == -1 || bounce_last_wins(l, nrcpt) == -1) {
		save = errno;
		free(l->v);
		l->v = NULL;
		errno = save;
		return -1;
	}
	return 1;
}

int
bounce_read(const char *spooldir, const char *id, size_t nrcpt,
    struct bounce_rcpt **out, size_t *n_out)
{
	struct bounce_list l = { NULL, 0, 0, false, false };
	int rv;

	*out = NULL;
	*n_out = 0;
	if ((rv = bounce_load(spooldir, id, nrcpt, &l)) == 1) {
		*out = l.v;
		*n_out = l.n;
	}
	return rv;
}

int
bounce_read_notes(const char *spooldir, const char *id, size_t nrcpt,
    struct bounce_rcpt **out, size_t *n_out, bool *warned_out)
{
	struct bounce_list l = { NULL, 0, 0, true, false };
	int rv;

	*out = NULL;
	*n_out = 0;
	*warned_out = false;
	if ((rv = bounce_load(spooldir, id, nrcpt, &l)) == 1) {
		*out = l.v;
		*n_out = l.n;
		*warned_out = l.warned;
	}
	return rv;
}

int
bounce_warned(const char *spooldir, const char *id)
{
	struct bounce_rcpt *r;
	size_t n;
	bool warned;

	/* nrcpt 0: no note is kept, only the marks are looked at. */
	if (bounce_read_notes(spooldir, id, 0, &r, &n, &warned) == -1)
		return -1;
	free(r);
	return warned;
}

/* One recipient in the report and the record that says why. */
struct dsn_pick {
	size_t			 rcpt;	/* index in env->rcpt */
	const struct bounce_rcpt *rec;	/* NULL: 4.0.0 still trying */
};

/* The DSN being built, one buffer per MIME part. */
struct dsn {
	const struct spool_env	*env;
	const char		*me;
	time_t			 now;
	bool			 delay;	/* a delay warning */
	time_t			 until;	/* Will-Retry-Until */
	struct dsn_pick		*pick;	/* recipients to report */
	size_t			 npick;
	enum { DSN_LOST, DSN_HDRS, DSN_FULL } ret;
	bool			 too_big;	/* RET=FULL but too big */
	bool			 cut;		/* headers were cut */
	const char		*cte;		/* returned part's CTE */
	struct buf		 human, status, content;
};

/* RFC 5322 3.3 date-time in local time, "Thu, 26 Nov 2026 07:00:00 +0000". */
static int
bounce_date(char *out, size_t outsz, time_t t)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;
	int n;

	if (localtime_r(&t, &tm) == NULL || tm.tm_wday < 0 ||
	    tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11) {
		errno = EINVAL;
		return -1;
	}
	off = tm.tm_gmtoff / 60;
	n = snprintf(out, outsz, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
bounce_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * RFC 3461 4: "+XX" stands for the byte XX.  The decoded address goes
 * into a header, so anything outside printable ASCII (or a bad "+")
 * keeps the encoded form, which is printable by definition.
 */
static void
bounce_xtext(char *out, size_t outsz, const char *s)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; s[i] != '\0' && o + 1 < outsz; i++) {
		if (s[i] != '+') {
			out[o++] = s[i];
			continue;
		}
		if ((hi = bounce_hex((unsigned char)s[i + 1])) == -1 ||
		    (lo = bounce_hex((unsigned char)s[i + 2])) == -1 ||
		    hi * 16 + lo < 0x20 || hi * 16 + lo > 0x7e) {
			strlcpy(out, s, outsz);
			return;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
}

/* NOTIFY absent, or a list naming word (RFC 3461 4.1). */
static bool
bounce_notify_has(const char *notify, const char *word)
{
	const char *p = notify, *e;
	size_t n, wlen = strlen(word);

	if (notify == NULL || *notify == '\0')
		return true;
	while (*p != '\0') {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == wlen && strncasecmp(p, word, wlen) == 0)
			return true;
		p += n + (e != NULL);
	}
	return false;
}

/* last[i]: the index in r of the last valid record of recipient i. */
static size_t *
bounce_last(const struct spool_env *env, const struct bounce_rcpt *r,
    size_t n)
{
	size_t i, k, *last;

	if ((last = reallocarray(NULL, env->nrcpt, sizeof(*last))) == NULL)
		return NULL;
	for (i = 0; i < env->nrcpt; i++)
		last[i] = SIZE_MAX;
	for (k = 0; k < n; k++)
		if (r[k].index < env->nrcpt)
			last[r[k].index] = k;
	for (i = 0; i < env->nrcpt; i++)
		if (last[i] != SIZE_MAX && !bounce_status_ok(r[last[i]].status,
		    strnlen(r[last[i]].status, sizeof(r->status))))
			last[i] = SIZE_MAX;
	return last;
}

/*
 * Choose the recipients to report.  Failures: those with a record
 * (the last wins), not delivered, NOTIFY naming FAILURE.  Delays: every
 * recipient still to do, NOTIFY naming DELAY, with its 4.y.z note.
 */
static int
bounce_pick(struct dsn *d, const struct bounce_rcpt *r, size_t n)
{
	const struct spool_env *env = d->env;
	const struct spool_rcpt *rc;
	size_t i, *last;

	if (env->nrcpt == 0)
		return 0;
	if ((last = bounce_last(env, r, n)) == NULL ||
	    (d->pick = reallocarray(NULL, env->nrcpt, sizeof(*d->pick))) ==
	    NULL) {
		free(last);
		return -1;
	}
	for (i = 0; i < env->nrcpt; i++) {
		rc = &env->rcpt[i];
		if (d->delay && ((rc->state != SPOOL_TODO &&
		    rc->state != SPOOL_BUSY) ||
		    !bounce_notify_has(rc->notify, "DELAY")))
			continue;
		if (!d->delay && (last[i] == SIZE_MAX ||
		    rc->state == SPOOL_DONE ||
		    !bounce_notify_has(rc->notify, "FAILURE")))
			continue;
		d->pick[d->npick].rcpt = i;
		d->pick[d->npick].rec = last[i] == SIZE_MAX ? NULL :
		    &r[last[i]];
		if (d->delay && last[i] != SIZE_MAX && r[last[i]].status[0] !=
		    '4')
			d->pick[d->npick].rec = NULL;
		d->npick++;
	}
	free(last);
	return 0;
}

static const char *
pick_status(const struct dsn_pick *p)
{
	return p->rec != NULL ? p->rec->status : "4.0.0";
}

/* The pick's text, cleaned (a caller's record may not be). */
static void
pick_text(const struct dsn_pick *p, char *out, size_t outsz)
{
	if (p->rec == NULL)
		(void)strlcpy(out, BOUNCE_STILL_TRYING, outsz);
	else
		bounce_clean(out, outsz, p->rec->text, strnlen(p->rec->text,
		    sizeof(p->rec->text)));
}

/* RFC 3463 3, in words a sender can act on. */
static const struct {
	const char	*code;		/* "1.1" or just "1" */
	const char	*text;
} bounce_words[] = {
	{ "1.1", "the mailbox does not exist" },
	{ "1.2", "the destination domain does not exist" },
	{ "1.3", "the recipient address is not valid" },
	{ "1.6", "the mailbox has moved" },
	{ "1.10", "the recipient address does not accept mail" },
	{ "2.1", "the mailbox is disabled" },
	{ "2.2", "the mailbox is full" },
	{ "2.3", "the message is larger than the mailbox accepts" },
	{ "3.4", "the message is too large for the receiving system" },
	{ "4.4", "no route to the destination was found" },
	{ "4.6", "the message was caught in a mail loop" },
	{ "4.7", "the message stayed in the queue for too long" },
	{ "5.3", "the message had too many recipients" },
	{ "7.1", "the recipient's system refused the message" },
	{ "1", "there is a problem with the recipient address" },
	{ "2", "there is a problem with the recipient's mailbox" },
	{ "3", "the receiving mail system has a problem" },
	{ "4", "there is a network or routing problem" },
	{ "5", "the mail protocol exchange failed" },
	{ "6", "there is a problem with the message content" },
	{ "7", "the message was refused for security or policy reasons" },
};

static const char *
bounce_explain(const char *status, bool delay)
{
	const char *sd = status + 2;	/* "5.1.1" -> "1.1" */
	size_t i, n;

	for (i = 0; i < sizeof(bounce_words) / sizeof(bounce_words[0]); i++) {
		n = strlen(bounce_words[i].code);
		if (strncmp(sd, bounce_words[i].code, n) == 0 &&
		    (sd[n] == '\0' || (n == 1 && sd[n] == '.')))
			return bounce_words[i].text;
	}
	return delay ? "not delivered yet" : "delivery failed";
}

static const char *
bounce_ret_words(const struct dsn *d)
{
	if (d->ret == DSN_LOST)
		return "Your message could not be read any more, so it is not\n"
		    "attached.\n";
	if (d->ret == DSN_FULL)
		return "Your message is attached below.\n";
	if (d->too_big)
		return "Your message was too large to return whole, so "
		    "only its\nheaders are attached below.\n";
	return "The headers of your message are attached below.\n";
}

/* How long the message has waited, in the largest sensible unit. */
static void
bounce_age(char *out, size_t outsz, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		(void)snprintf(out, outsz, "%lld seconds", secs);
	else if (secs < 2 * 3600)
		(void)snprintf(out, outsz, "%lld minutes", secs / 60);
	else if (secs < 2 * 86400)
		(void)snprintf(out, outsz, "%lld hours", secs / 3600);
	else
		(void)snprintf(out, outsz, "%lld days", secs / 86400);
}

/* The opening words: what happened and what the sender should do. */
static int
bounce_intro(struct dsn *d, const char *me)
{
	char age[64], until[BOUNCE_DATE_MAX];

	if (!d->delay)
		return buf_printf(&d->human, "This is the mail system at host "
		    "%s.\n\nI am sorry to report that your message could not "
		    "be delivered to\none or more of its recipients. The mail "
		    "system has given up on the\naddresses listed at the end "
		    "of this report.\n\n", me);
	if (bounce_date(until, sizeof(until), d->until) == -1)
		return -1;
	bounce_age(age, sizeof(age), (long long)d->now -
	    (long long)d->env->arrival);
	return buf_printf(&d->human, "This is the mail system at host %s.\n\n"
	    "THIS IS A WARNING ONLY: you do not need to send your message "
	    "again.\n\nYour message has not been delivered yet to the "
	    "addresses listed at\nthe end of this report; it has been in the "
	    "queue for %s. The mail\nsystem keeps trying until %s.\n\n",
	    me, age, until);
}

static int
bounce_human(struct dsn *d)
{
	char me[BOUNCE_FIELD_MAX + 1], addr[BOUNCE_FIELD_MAX + 1];
	char text[BOUNCE_TEXT_MAX + 1];
	const struct dsn_pick *p;
	const char *why, *addr_raw;
	size_t k;

	bounce_clean(me, sizeof(me), d->me, strlen(d->me));
	if (bounce_intro(d, me) == -1 || buf_printf(&d->human, "%s%s\n"
	    "If you need help, write to the postmaster of %s and include "
	    "this\nreport.\n\n                   The mail system\n",
	    bounce_ret_words(d), d->cut ? "Its header section was long "
	    "and was cut short.\n" : "", me) == -1)
		return -1;
	for (k = 0; k < d->npick; k++) {
		p = &d->pick[k];
		why = bounce_explain(pick_status(p), d->delay);
		addr_raw = d->env->rcpt[p->rcpt].addr;
		bounce_clean(addr, sizeof(addr), addr_raw, strlen(addr_raw));
		/* The whole text: people read "host [ip]: reply" well. */
		pick_text(p, text, sizeof(text));
		if (buf_printf(&d->human, "\n<%s>: %s\n    (%s: %s)\n", addr,
		    text[0] ? text : why, pick_status(p), why) == -1)
			return -1;
	}
	return 0;
}

/* RFC 3464 2.3.1: the ORCPT's type as given, its address decoded. */
static int
bounce_orcpt(struct buf *b, const char *orcpt)
{
	char type[64], dec[BOUNCE_FIELD_MAX + 1], addr[BOUNCE_FIELD_MAX + 1];
	const char *semi;
	size_t n;

	if (orcpt == NULL || (semi = strchr(orcpt, ';')) == NULL ||
	    (n = (size_t)(semi - orcpt)) == 0 || n >= sizeof(type))
		return 0;	/* not addr-type;xtext: leave it out */
	bounce_clean(type, sizeof(type), orcpt, n);
	bounce_xtext(dec, sizeof(dec), semi + 1);
	bounce_clean(addr, sizeof(addr), dec, strlen(dec));
	return buf_printf(b, "Original-Recipient: %s;%s\n", type, addr);
}

/* The record's diagnostic type (an atom), or the one its text implies. */
static void
bounce_dtype(char *out, size_t outsz, const struct bounce_rcpt *r,
    const char *text)
{
	size_t i, n = r != NULL ? strnlen(r->diag_type,
	    sizeof(r->diag_type)) : 0;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)r->diag_type[i]) &&
		    r->diag_type[i] != '-')
			break;
	if (n == 0 || i < n)
		(void)strlcpy(out, bounce_diag_type(text), outsz);
	else
		bounce_clean(out, outsz, r->diag_type, n);
}

/*
 * RFC 3464 2.3.5-2.3.6: a text from tern-remote names the MTA that
 * answered; the rest is the reply itself.
 */
static int
bounce_diag(struct buf *b, const struct dsn_pick *p)
{
	char text[BOUNCE_TEXT_MAX + 1], mta[BOUNCE_MTA_MAX + 1];
	char type[sizeof(p->rec->diag_type)];
	const char *rest;

	pick_text(p, text, sizeof(text));
	if (bounce_split_remote(text, mta, sizeof(mta), &rest) &&
	    buf_printf(b, "Remote-MTA: dns; %s\n", mta) == -1)
		return -1;
	if (rest[0] == '\0')
		return 0;
	bounce_dtype(type, sizeof(type), p->rec, rest);
	return buf_printf(b, "Diagnostic-Code: %s; %s\n", type, rest);
}

/* The fields of one recipient, in RFC 3464 2.3's order. */
static int
bounce_status_rcpt(struct dsn *d, const struct dsn_pick *p, const char *now,
    const char *until)
{
	const struct spool_rcpt *rc = &d->env->rcpt[p->rcpt];
	char addr[BOUNCE_FIELD_MAX + 1];

	bounce_clean(addr, sizeof(addr), rc->addr, strlen(rc->addr));
	if (buf_appendc(&d->status, '\n') == -1 ||
	    bounce_orcpt(&d->status, rc->orcpt) == -1 ||
	    buf_printf(&d->status, "Final-Recipient: rfc822; %s\n"
	    "Action: %s\nStatus: %s\n", addr, d->delay ? "delayed" : "failed",
	    pick_status(p)) == -1 ||
	    bounce_diag(&d->status, p) == -1 ||
	    buf_printf(&d->status, "Last-Attempt-Date: %s\n", now) == -1)
		return -1;
	if (d->delay && buf_printf(&d->status, "Will-Retry-Until: %s\n",
	    until) == -1)
		return -1;
	return 0;
}

static int
bounce_status(struct dsn *d)
{
	char me[BOUNCE_FIELD_MAX + 1], field[BOUNCE_FIELD_MAX + 1];
	char arrival[BOUNCE_DATE_MAX], now[BOUNCE_DATE_MAX];
	char until[BOUNCE_DATE_MAX];
	size_t k;

	if (bounce_date(arrival, sizeof(arrival), d->env->arrival) == -1 ||
	    bounce_date(now, sizeof(now), d->now) == -1 ||
	    bounce_date(until, sizeof(until), d->until) == -1)
		return -1;
	bounce_clean(me, sizeof(me), d->me, strlen(d->me));
	if (d->env->envid != NULL) {
		bounce_clean(field, sizeof(field), d->env->envid,
		    strlen(d->env->envid));
		if (buf_printf(&d->status, "Original-Envelope-Id: %s\n",
		    field) == -1)
			return -1;
	}
	if (buf_printf(&d->status, "Reporting-MTA: dns; %s\n"
	    "X-Tern-Queue-ID: %s\nArrival-Date: %s\n", me, d->env->id,
	    arrival) == -1)
		return -1;
	for (k = 0; k < d->npick; k++)
		if (bounce_status_rcpt(d, &d->pick[k], now, until) == -1)
			return -1;
	return 0;
}

/* Read len bytes at offset 0 into b (short only at EOF). */
static int
bounce_pread(int fd, struct buf *b, size_t len)
{
	char chunk[65536];
	size_t n;
	ssize_t r;

	while (b->len < len) {
		n = len - b->len < sizeof(chunk) ? len - b->len : sizeof(chunk);
		r = pread(fd, chunk, n, (off_t)b->len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		if (buf_append(b, chunk, (size_t)r) == -1)
			return -1;
	}
	return 0;
}

/*
 * Where to cut a header section that is over the limit: after the last
 * whole field (a line end followed by a field start), else after the
 * last line end, else nothing.
 */
static size_t
bounce_cut(const char *h, size_t len, size_t max)
{
	size_t i, line = 0;

	if (len <= max)
		return len;
	for (i = max; i-- > 0;) {
		if (h[i] != '\n')
			continue;
		if (h[i + 1] != ' ' && h[i + 1] != '\t')
			return i + 1;
		if (line == 0)
			line = i + 1;
	}
	return line;
}

/* The header section of b: up to and including the line end before the
 * first empty line, or everything when there is no body. */
static size_t
bounce_header_end(const char *s, size_t len)
{
	size_t i;

	if (len > 0 && (s[0] == '\n' || (len > 1 && s[0] == '\r' &&
	    s[1] == '\n')))
		return 0;
	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\n')
			continue;
		if (s[i + 1] == '\n' ||
		    (s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n'))
			return i + 1;
	}
	return len;
}

/*
 * The transfer encoding a returned part needs (RFC 2045 2.7-2.9): NULL
 * for 7bit, "8bit" for bytes over 127, "binary" for NUL or a line over
 * 998 bytes where binary is allowed (message/rfc822; text takes 8bit).
 */
static const char *
bounce_cte(const char *s, size_t len, bool binary_ok)
{
	bool eight = false, binary = false;
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\n') {
			col = 0;
			continue;
		}
		if (++col > 998 || s[i] == '\0')
			binary = true;
		if ((unsigned char)s[i] >= 0x80)
			eight = true;
	}
	if (binary && binary_ok)
		return "binary";
	return eight || binary ? "8bit" : NULL;
}

static int
bounce_headers(struct dsn *d, int msgfd, off_t size)
{
	struct buf *c = &d->content;
	size_t end;

	d->ret = DSN_HDRS;
	if (bounce_pread(msgfd, c, BOUNCE_HEADERS_MAX + 2) == -1)
		return -1;
	end = bounce_header_end(c->data ? c->data : "", c->len);
	if ((end == c->len && (off_t)c->len < size) ||
	    end > BOUNCE_HEADERS_MAX) {
		end = bounce_cut(c->data, end, BOUNCE_HEADERS_MAX);
		d->cut = true;
	}
	buf_truncate(c, end);
	if (c->len > 0 && c->data[c->len - 1] != '\n' &&
	    buf_appendc(c, '\n') == -1)
		return -1;
	d->cte = bounce_cte(c->data, c->len, false);
	return 0;
}

/* The returned part: the whole message for RET=FULL when it fits. */
static int
bounce_content(struct dsn *d, int msgfd, size_t room)
{
	struct buf *c = &d->content;
	struct stat st;

	if (msgfd < 0) {
		d->ret = DSN_LOST;
		return 0;
	}
	if (fstat(msgfd, &st) == -1)
		return -1;
	/* RFC 3461 4.3: RET is about failures; a warning has headers. */
	if (d->delay || d->env->ret == NULL ||
	    strcasecmp(d->env->ret, "FULL") != 0)
		return bounce_headers(d, msgfd, st.st_size);
	if (st.st_size > BOUNCE_FULL_MAX || (size_t)st.st_size > room) {
		d->too_big = true;
		return bounce_headers(d, msgfd, st.st_size);
	}
	d->ret = DSN_FULL;
	if (bounce_pread(msgfd, c, (size_t)st.st_size) == -1)
		return -1;
	if (c->len > 0 && c->data[c->len - 1] != '\n' &&
	    buf_appendc(c, '\n') == -1)
		return -1;
	d->cte = bounce_cte(c->data, c->len, true);
	return 0;
}

static bool
bounce_in(const struct buf *b, const char *s)
{
	return b->len > 0 && memmem(b->data, b->len, s, strlen(s)) != NULL;
}

/* RFC 2046 5.1.1: a boundary that occurs in none of the parts. */
static int
bounce_boundary(const struct dsn *d, char *out, size_t outsz)
{
	int i, n;

	for (i = 0; i < BOUNCE_BOUNDARY_TRIES; i++) {
		n = snprintf(out, outsz, "=_tern_%s_%08x%08x", d->env->id,
		    arc4random(), arc4random());
		if (n < 0 || (size_t)n >= outsz) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (!bounce_in(&d->human, out) && !bounce_in(&d->status, out) &&
		    !bounce_in(&d->content, out))
			return 0;
	}
	errno = EAGAIN;
	return -1;
}

static int
bounce_top(const struct dsn *d, const char *rcpt_to, const char *bnd,
    struct buf *out)
{
	char me[BOUNCE_FIELD_MAX + 1], to[BOUNCE_FIELD_MAX + 1];
	char date[BOUNCE_DATE_MAX], cte[64];

	if (bounce_date(date, sizeof(date), d->now) == -1)
		return -1;
	bounce_clean(me, sizeof(me), d->me, strlen(d->me));
	bounce_clean(to, sizeof(to), rcpt_to, strlen(rcpt_to));
	cte[0] = '\0';
	if (d->cte != NULL)
		(void)snprintf(cte, sizeof(cte),
		    "Content-Transfer-Encoding: %s\n", d->cte);
	return buf_printf(out, "From: Mail Delivery System "
	    "<MAILER-DAEMON@%s>\nTo: <%s>\nSubject: %s\nDate: %s\n"
	    "Message-ID: <%s.%s@%s>\nAuto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n%s\nThis is a MIME-encapsulated message.\n\n",
	    me, to, d->delay ? "Delayed Mail (still being retried)" :
	    "Undelivered Mail Returned to Sender", date, d->env->id,
	    d->delay ? "delay" : "bounce", me, bnd, cte);
}

/*
 * The line end before a delimiter belongs to the delimiter (RFC 2046
 * 5.1.1), hence the "\n" before each "--boundary".
 */
static int
bounce_assemble(const struct dsn *d, const char *rcpt_to, const char *bnd,
    struct buf *out)
{
	bool full = d->ret == DSN_FULL;

	if (bounce_top(d, rcpt_to, bnd, out) == -1 ||
	    buf_printf(out, "--%s\nContent-Description: Notification\n"
	    "Content-Type: text/plain; charset=us-ascii\n\n", bnd) == -1 ||
	    buf_append(out, d->human.data, d->human.len) == -1 ||
	    buf_printf(out, "\n--%s\nContent-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n\n", bnd) == -1 ||
	    buf_append(out, d->status.data, d->status.len) == -1)
		return -1;
	if (d->ret != DSN_LOST && (buf_printf(out, "\n--%s\n"
	    "Content-Description: %s\nContent-Type: %s\n", bnd,
	    full ? "Undelivered Message" : d->delay ? "Message Headers" :
	    "Undelivered Message Headers",
	    full ? "message/rfc822" : "text/rfc822-headers") == -1 ||
	    (d->cte != NULL && buf_printf(out,
	    "Content-Transfer-Encoding: %s\n", d->cte) == -1) ||
	    buf_appendc(out, '\n') == -1 ||
	    buf_append(out, d->content.data, d->content.len) == -1 ||
	    (!full && buf_appendc(out, '\n') == -1)))
		return -1;
	return buf_printf(out, "\n--%s--\n", bnd);
}

/* Both reports: failures (bounce_build) and delays (_delay). */
static int
bounce_make(struct dsn *d, const struct bounce_rcpt *r, size_t n, int msgfd,
    const char *rcpt_to, struct buf *out)
{
	char bnd[80];
	size_t room, over;
	int rv = -1, save;

	buf_reset(out);
	buf_init(&d->human, out->max);
	buf_init(&d->status, out->max);
	buf_init(&d->content, BOUNCE_FULL_MAX + 1);
	if (bounce_pick(d, r, n) == -1)
		goto done;
	rv = 0;
	if (d->npick == 0 || (rv = bounce_status(d)) == -1)
		goto done;
	/* The human part is never larger than the report plus a page. */
	over = 2 * d->status.len + 64 * 1024;
	room = out->max > over ? out->max - over : 0;
	if (bounce_content(d, msgfd, room) == -1 || bounce_human(d) == -1 ||
	    bounce_boundary(d, bnd, sizeof(bnd)) == -1 ||
	    bounce_assemble(d, rcpt_to, bnd, out) == -1)
		rv = -1;
done:
	save = errno;
	free(d->pick);
	buf_free(&d->human);
	buf_free(&d->status);
	buf_free(&d->content);
	if (rv == -1)
		buf_reset(out);
	errno = save;
	return rv;
}

int
bounce_build(const struct spool_env *env, const struct bounce_rcpt *r,
    size_t n, int msgfd, const char *me, const char *rcpt_to,
    time_t now, struct buf *out)
{
	struct dsn d;

	memset(&d, 0, sizeof(d));
	d.env = env;
	d.me = me;
	d.now = now;
	d.until = now;
	return bounce_make(&d, r, n, msgfd, rcpt_to, out);
}

int
bounce_build_delay(const struct spool_env *env,
    const struct bounce_rcpt *notes, size_t n, int msgfd, const char *me,
    const char *rcpt_to, time_t now, time_t until, struct buf *out)
{
	struct dsn d;

	memset(&d, 0, sizeof(d));
	d.env = env;
	d.me = me;
	d.now = now;
	d.delay = true;
	d.until = until;
	return bounce_make(&d, notes, n, msgfd, rcpt_to, out);
}
