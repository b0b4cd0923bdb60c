/* spool: the queue's envelope files (format: tern-spool(5)). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "rec.h"
#include "spool.h"

/* The grammar state of the parser: where we are in the file. */
enum spool_at {
	AT_VERSION,	/* expecting V1 */
	AT_ID,		/* expecting I<qid> */
	AT_TIME,	/* expecting t<seconds> */
	AT_UID,		/* u<uid> optional, then F */
	AT_HEAD,	/* after F: E, R, or the first recipient group */
	AT_GROUP,	/* N or O seen: a state record must follow */
	AT_RCPTS,	/* after a recipient: another group or the end */
	AT_END		/* the empty record was seen */
};

struct spool_parse {
	struct spool_env *env;
	enum spool_at	 at;
	size_t		 rcap;		/* allocated entries of env->rcpt */
	const char	*notify;	/* pending N of the current group */
	const char	*orcpt;		/* pending O of the current group */
	const char	*errstr;
};

/* A decimal without sign or leading zeros, in [0, max]: 0 or -1. */
static int
spool_decimal(const char *s, size_t len, long long max, long long *out)
{
	long long v = 0;
	size_t i;

	if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* NEVER, or a list of SUCCESS, FAILURE, DELAY each at most once. */
static bool
spool_notify_ok(const char *s)
{
	static const char *const kw[] = { "SUCCESS", "FAILURE", "DELAY" };
	unsigned seen = 0;
	size_t i, n;

	if (strcmp(s, "NEVER") == 0)
		return true;
	for (;;) {
		n = strcspn(s, ",");
		for (i = 0; i < 3; i++)
			if (strlen(kw[i]) == n && strncmp(s, kw[i], n) == 0)
				break;
		if (i == 3 || (seen & (1U << i)))
			return false;
		seen |= 1U << i;
		if (s[n] == '\0')
			return true;
		s += n + 1;
	}
}

/* ORCPT: addr-type ";" value, both non-empty. */
static bool
spool_orcpt_ok(const char *s)
{
	const char *semi = strchr(s, ';');

	return semi != NULL && semi != s && semi[1] != '\0';
}

static int
spool_fail(struct spool_parse *p, const char *why)
{
	p->errstr = why;
	return -1;
}

/* Append a recipient whose state record starts at offset off. */
static int
spool_add_rcpt(struct spool_parse *p, const char *rec, size_t len, size_t off)
{
	struct spool_env *env = p->env;
	struct spool_rcpt *r;
	size_t ncap;

	if (len == 1)
		return spool_fail(p, "empty recipient address");
	if (len - 1 > ADDR_PATH_MAX)
		return spool_fail(p, "recipient address too long");
	if (env->nrcpt >= SPOOL_RCPT_MAX)
		return spool_fail(p, "too many recipients");
	if (env->nrcpt == p->rcap) {
		ncap = p->rcap ? p->rcap * 2 : 8;
		if (ncap > SPOOL_RCPT_MAX)
			ncap = SPOOL_RCPT_MAX;
		r = reallocarray(env->rcpt, ncap, sizeof(*r));
		if (r == NULL) {
			p->errstr = "out of memory";
			return -1;
		}
		env->rcpt = r;
		p->rcap = ncap;
	}
	r = &env->rcpt[env->nrcpt++];
	r->addr = rec + 1;
	r->notify = p->notify;
	r->orcpt = p->orcpt;
	r->state = rec[0];
	r->state_off = (off_t)off;
	p->notify = p->orcpt = NULL;
	p->at = AT_RCPTS;
	return 0;
}

/* V1, I, t, u: the fixed header records. */
static int
spool_rec_header(struct spool_parse *p, const char *rec, size_t len)
{
	struct spool_env *env = p->env;
	long long v;

	switch (p->at) {
	case AT_VERSION:
		if (len != 2 || rec[0] != 'V')
			return spool_fail(p, "first record is not a version");
		if (rec[1] != '1')
			return spool_fail(p, "unsupported format version");
		p->at = AT_ID;
		return 0;
	case AT_ID:
		if (rec[0] != 'I' || !qid_valid(rec + 1))
			return spool_fail(p, "second record is not a queue id");
		memcpy(env->id, rec + 1, QID_LEN + 1);
		p->at = AT_TIME;
		return 0;
	case AT_TIME:
		if (rec[0] != 't' ||
		    spool_decimal(rec + 1, len - 1, LLONG_MAX, &v) == -1)
			return spool_fail(p, "third record is not a time");
		env->arrival = (time_t)v;
		p->at = AT_UID;
		return 0;
	default:
		if (spool_decimal(rec + 1, len - 1, UINT32_MAX, &v) == -1)
			return spool_fail(p, "bad uid record");
		env->uid = v;
		p->at = AT_HEAD;	/* only F may follow, checked there */
		return 0;
	}
}

/* F, E, R: the message-wide records. */
static int
spool_rec_message(struct spool_parse *p, const char *rec, size_t len)
{
	struct spool_env *env = p->env;

	if (rec[0] == 'F' && (p->at != AT_HEAD || env->sender != NULL))
		return spool_fail(p, "misplaced sender record");
	if (rec[0] != 'F' && env->sender == NULL)
		return spool_fail(p, "sender record missing");
	if (p->at != AT_HEAD)
		return spool_fail(p, "ENVID or RET record after a recipient");
	switch (rec[0]) {
	case 'F':
		if (len - 1 > ADDR_PATH_MAX)
			return spool_fail(p, "sender address too long");
		env->sender = rec + 1;
		return 0;
	case 'E':
		if (env->envid != NULL || len == 1)
			return spool_fail(p, "bad or repeated ENVID record");
		env->envid = rec + 1;
		return 0;
	default:
		if (env->ret != NULL || (strcmp(rec + 1, "FULL") != 0 &&
		    strcmp(rec + 1, "HDRS") != 0))
			return spool_fail(p, "bad or repeated RET record");
		env->ret = rec + 1;
		return 0;
	}
}

/* N, O: the optional parts of a recipient group. */
static int
spool_rec_group(struct spool_parse *p, const char *rec)
{
	if (p->at != AT_HEAD && p->at != AT_RCPTS && p->at != AT_GROUP)
		return spool_fail(p, "recipient group before the sender");
	if (rec[0] == 'N') {
		if (p->notify != NULL || p->orcpt != NULL)
			return spool_fail(p, "misplaced NOTIFY record");
		if (!spool_notify_ok(rec + 1))
			return spool_fail(p, "bad NOTIFY record");
		p->notify = rec + 1;
	} else {
		if (p->orcpt != NULL)
			return spool_fail(p, "repeated ORCPT record");
		if (!spool_orcpt_ok(rec + 1))
			return spool_fail(p, "bad ORCPT record");
		p->orcpt = rec + 1;
	}
	p->at = AT_GROUP;
	return 0;
}

/* One non-empty record at file offset off. */
static int
spool_rec(struct spool_parse *p, const char *rec, size_t len, size_t off)
{
	if (p->at <= AT_TIME || (p->at == AT_UID && rec[0] == 'u'))
		return spool_rec_header(p, rec, len);
	if (p->at == AT_UID)
		p->at = AT_HEAD;
	switch (rec[0]) {
	case 'F':
	case 'E':
	case 'R':
		return spool_rec_message(p, rec, len);
	case 'N':
	case 'O':
		if (p->env->sender == NULL)
			return spool_fail(p, "sender record missing");
		return spool_rec_group(p, rec);
	case SPOOL_TODO:
	case SPOOL_BUSY:
	case SPOOL_DONE:
	case SPOOL_FAILED:
		if (p->env->sender == NULL)
			return spool_fail(p, "sender record missing");
		return spool_add_rcpt(p, rec, len, off);
	case 'V':
	case 'I':
	case 't':
	case 'u':
		return spool_fail(p, "misplaced header record");
	default:
		return spool_fail(p, "unknown record");
	}
}

/* The empty record: only after at least one complete recipient. */
static int
spool_rec_end(struct spool_parse *p)
{
	if (p->at == AT_GROUP)
		return spool_fail(p, "NOTIFY or ORCPT without a recipient");
	if (p->at == AT_RCPTS) {
		p->at = AT_END;
		return 0;
	}
	if (p->at == AT_HEAD && p->env->sender != NULL)
		return spool_fail(p, "no recipients");
	return spool_fail(p, "envelope ends before the sender");
}

static int
spool_walk(struct spool_parse *p, const char *data, size_t len)
{
	const char *rec;
	size_t pos = 0, off, rlen;
	int r;

	while (p->at != AT_END) {
		off = pos;
		r = rec_next(data, len, &pos, SPOOL_REC_MAX, &rec, &rlen);
		if (r == 0)
			return spool_fail(p, "missing final empty record");
		if (r == -1)
			return spool_fail(p, errno == EMSGSIZE ?
			    "record too long" :
			    "record without NUL or with CR or LF");
		if (rlen == 0)
			r = spool_rec_end(p);
		else
			r = spool_rec(p, rec, rlen, off);
		if (r == -1)
			return -1;
	}
	if (pos != len)
		return spool_fail(p, "data after the final empty record");
	return 0;
}

int
spool_env_parse(const char *data, size_t len, struct spool_env *out,
    const char **errstr)
{
	struct spool_parse p;

	memset(out, 0, sizeof(*out));
	out->uid = -1;
	buf_init(&out->raw, SPOOL_ENV_MAX);
	memset(&p, 0, sizeof(p));
	p.env = out;
	p.at = AT_VERSION;
	if (len > SPOOL_ENV_MAX) {
		*errstr = "envelope too large";
		errno = EINVAL;
		return -1;
	}
	if (buf_append(&out->raw, data, len) == -1) {
		*errstr = "out of memory";
		return -1;	/* errno ENOMEM from buf */
	}
	if (spool_walk(&p, out->raw.data, out->raw.len) == -1) {
		*errstr = p.errstr;
		spool_env_free(out);
		errno = strcmp(p.errstr, "out of memory") == 0 ?
		    ENOMEM : EINVAL;
		return -1;
	}
	return 0;
}

/* Read all of fd (a regular file of at most SPOOL_ENV_MAX bytes). */
static int
spool_slurp(int fd, struct buf *b)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if (st.st_size > SPOOL_ENV_MAX) {
		errno = EFBIG;
		return -1;
	}
	for (;;) {
		if (buf_reserve(b, 8192) == -1)
			return -1;
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
}

/* spooldir/dir/id into out; id must be a valid queue id. */
static int
spool_path(char *out, size_t outsz, const char *spooldir, const char *dir,
    const char *id)
{
	int n;

	if (!qid_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(out, outsz, "%s/%s/%s", spooldir, dir, id);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
spool_env_read(const char *spooldir, const char *dir, const char *id,
    struct spool_env *out, const char **errstr)
{
	char path[PATH_MAX];
	struct buf b;
	int fd, r, save;

	memset(out, 0, sizeof(*out));
	*errstr = NULL;
	if (spool_path(path, sizeof(path), spooldir,
	    dir != NULL ? dir : SPOOL_ENV, id) == -1) {
		*errstr = "bad queue id or path";
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	buf_init(&b, SPOOL_ENV_MAX);
	r = spool_slurp(fd, &b);
	save = errno;
	close(fd);
	if (r == -1 && save == EINVAL)
		*errstr = "not a regular file";
	if (r == 0) {
		r = spool_env_parse(b.data != NULL ? b.data : "", b.len, out,
		    errstr);
		save = errno;
	}
	buf_free(&b);
	errno = save;
	if (r == 0 && strcmp(out->id, id) != 0) {
		spool_env_free(out);
		*errstr = "queue id does not match the file name";
		errno = EINVAL;
		return -1;
	}
	return r == 0 ? 1 : -1;
}

void
spool_env_free(struct spool_env *env)
{
	free(env->rcpt);
	buf_free(&env->raw);
	memset(env, 0, sizeof(*env));
	env->uid = -1;
}

bool
spool_state_valid(char c)
{
	return c == SPOOL_TODO || c == SPOOL_BUSY || c == SPOOL_DONE ||
	    c == SPOOL_FAILED;
}

static int
spool_mark_fd(const char *spooldir, const char *id, off_t state_off,
    char state, bool sync)
{
	char path[PATH_MAX], old;
	ssize_t n;
	int fd, save;

	if (!spool_state_valid(state) || state_off < 0 ||
	    spool_path(path, sizeof(path), spooldir, SPOOL_ENV, id) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	/* A wrong offset must not corrupt an address: check the old byte. */
	n = pread(fd, &old, 1, state_off);
	if ((n == 1 && !spool_state_valid(old)) || n == 0) {
		n = -1;
		errno = EINVAL;
	}
	if (n == 1 && old != state)
		n = pwrite(fd, &state, 1, state_off);
	if (n == 1 && sync && fsync(fd) == -1)
		n = -1;
	save = errno;
	close(fd);
	errno = save;
	return n == 1 ? 1 : -1;
}

int
spool_mark(const char *spooldir, const char *id, off_t state_off, char state)
{
	return spool_mark_fd(spooldir, id, state_off, state, true);
}

int
spool_mark_nosync(const char *spooldir, const char *id, off_t state_off,
    char state)
{
	return spool_mark_fd(spooldir, id, state_off, state, false);
}

/* Append tag and s as a record, refusing unclean strings. */
static int
spool_put(struct buf *out, char tag, const char *s)
{
	if (!rec_clean(s, strlen(s)) || strlen(s) + 1 > SPOOL_REC_MAX) {
		errno = EINVAL;
		return -1;
	}
	return rec_put_tag(out, tag, s);
}

static int
spool_put_num(struct buf *out, char tag, long long v)
{
	char num[32];

	(void)snprintf(num, sizeof(num), "%lld", v);
	return spool_put(out, tag, num);
}

static int
spool_format_rcpts(const struct spool_env *env, struct buf *out)
{
	const struct spool_rcpt *r;
	size_t i;

	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		if (!spool_state_valid(r->state)) {
			errno = EINVAL;
			return -1;
		}
		if ((r->notify != NULL &&
		    spool_put(out, 'N', r->notify) == -1) ||
		    (r->orcpt != NULL &&
		    spool_put(out, 'O', r->orcpt) == -1) ||
		    spool_put(out, r->state, r->addr) == -1)
			return -1;
	}
	return 0;
}

int
spool_env_format(const struct spool_env *env, struct buf *out)
{
	size_t start = out->len;

	if (!qid_valid(env->id) || env->sender == NULL || env->arrival < 0) {
		errno = EINVAL;
		return -1;
	}
	if (rec_put(out, "V1") == -1 || spool_put(out, 'I', env->id) == -1 ||
	    spool_put_num(out, 't', (long long)env->arrival) == -1 ||
	    (env->uid >= 0 && spool_put_num(out, 'u', env->uid) == -1) ||
	    spool_put(out, 'F', env->sender) == -1 ||
	    (env->envid != NULL && spool_put(out, 'E', env->envid) == -1) ||
	    (env->ret != NULL && spool_put(out, 'R', env->ret) == -1) ||
	    spool_format_rcpts(env, out) == -1 ||
	    buf_appendc(out, '\0') == -1) {
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}

bool
spool_env_finished(const struct spool_env *env)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].state == SPOOL_TODO ||
		    env->rcpt[i].state == SPOOL_BUSY)
			return false;
	return true;
}
