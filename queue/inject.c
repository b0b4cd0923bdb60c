/* inject: sendmail's command line, header fix-up, hand-off to tern-queue. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "hdr.h"
#include "inject.h"
#include "io.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "rec.h"
#include "uniq.h"

#define ENVELOPE_MAX	(64 * 1024 * 1024)	/* as SPOOL_ENV_MAX */
#define EXIT_EXEC	120	/* the child could not exec the queue program */

/* ---- command line ---- */

/*
 * '+': stop at the first operand, as sendmail does; ':' first: tell a
 * missing argument from an unknown option.
 */
static const char optstring[] =
    "+:A:B:b:C:d:F:f:Gh:iL:mN:nO:o:p:q::R:r:tUV:vX:";

static int
opt_notify(struct inject_opts *o, const char *arg)
{
	char tmp[sizeof(o->notify)], *p, *word, *save = NULL;
	bool never = false, other = false;

	if (strlcpy(tmp, arg, sizeof(tmp)) >= sizeof(tmp))
		return -1;
	o->notify[0] = '\0';
	for (p = tmp; *p != '\0'; p++)
		*p = toupper((unsigned char)*p);
	for (word = strtok_r(tmp, ",", &save); word != NULL;
	    word = strtok_r(NULL, ",", &save)) {
		if (strcmp(word, "NEVER") == 0)
			never = true;
		else if (strcmp(word, "SUCCESS") == 0 ||
		    strcmp(word, "FAILURE") == 0 || strcmp(word, "DELAY") == 0)
			other = true;
		else
			return -1;
		if (o->notify[0] != '\0')
			(void)strlcat(o->notify, ",", sizeof(o->notify));
		(void)strlcat(o->notify, word, sizeof(o->notify));
	}
	return (never && other) || (!never && !other) ? -1 : 0;
}

static int
opt_mode(struct inject_opts *o, const char *arg)
{
	if (strcmp(arg, "m") == 0)
		o->mode = INJECT_SEND;
	else if (strcmp(arg, "s") == 0)
		o->mode = INJECT_SMTP;
	else if (strcmp(arg, "p") == 0)
		o->mode = INJECT_LIST;
	else if (strcmp(arg, "i") == 0)
		o->mode = INJECT_ALIASES;
	else
		return -1;
	return 0;
}

/* An option whose argument is checked: 0, or -1 with *errstr. */
static int
opt_checked(struct inject_opts *o, int c, const char **errstr)
{
	static char msg[64];

	switch (c) {
	case 'b':
		if (opt_mode(o, optarg) == 0)
			return 0;
		(void)snprintf(msg, sizeof(msg), "unsupported mode -b%.8s",
		    optarg);
		*errstr = msg;
		return -1;
	case 'N':
		if (opt_notify(o, optarg) == 0)
			return 0;
		*errstr = "bad -N: use never, or success,failure,delay";
		return -1;
	default:	/* 'R' */
		if (strcasecmp(optarg, "full") == 0 ||
		    strcasecmp(optarg, "hdrs") == 0) {
			(void)strlcpy(o->ret, strcasecmp(optarg, "full") == 0 ?
			    "FULL" : "HDRS", sizeof(o->ret));
			return 0;
		}
		*errstr = "bad -R: use full or hdrs";
		return -1;
	}
}

/* getopt's ':' (missing argument) or '?' (unknown option). */
static int
opt_error(int c, const char **errstr)
{
	static char msg[64];

	(void)snprintf(msg, sizeof(msg), c == ':' ?
	    "option -%c needs an argument" : "unknown option -%c",
	    isprint(optopt) ? optopt : '?');
	*errstr = msg;
	return -1;
}

/* One option; its argument in optarg.  0, or -1 with *errstr. */
static int
opt_one(struct inject_opts *o, int c, const char **errstr)
{
	switch (c) {
	case 'b': case 'N': case 'R':
		return opt_checked(o, c, errstr);
	case 'F':
		o->fullname = optarg;
		return 0;
	case 'f': case 'r':
		o->sender = optarg;
		return 0;
	case 'i':
		o->iflag = true;
		return 0;
	case 'o':
		if (strcmp(optarg, "i") == 0)
			o->iflag = true;
		return 0;
	case 'q':
		o->mode = INJECT_QRUN;
		return 0;
	case 't':
		o->tflag = true;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case 'A': case 'B': case 'C': case 'd': case 'G': case 'h':
	case 'L': case 'm': case 'n': case 'O': case 'p': case 'U':
	case 'V': case 'X':
		return 0;	/* sendmail options that mean nothing here */
	default:
		return opt_error(c, errstr);
	}
}

int
inject_args(int argc, char **argv, struct inject_opts *out,
    const char **errstr)
{
	int c;

	memset(out, 0, sizeof(*out));
	out->mode = INJECT_SEND;
	optind = 0;	/* glibc: start afresh (tests parse many lines) */
	opterr = 0;
	while ((c = getopt(argc, argv, optstring)) != -1)
		if (opt_one(out, c, errstr) == -1)
			return -1;
	out->rcpts = argv + optind;
	out->nrcpts = argc - optind;
	return 0;
}

/* ---- recipients ---- */

struct rcpt_arg {
	struct inject_rcpts	*r;
	const char		*defdomain;
};

static int
rcpt_push(struct inject_rcpts *r, const char *addr, const char **errstr)
{
	char **na;
	size_t ncap;

	if (r->n >= INJECT_RCPT_MAX) {
		*errstr = "too many recipients";
		return -1;
	}
	if (r->n == r->cap) {
		ncap = r->cap ? r->cap * 2 : 16;
		if ((na = reallocarray(r->a, ncap, sizeof(*na))) == NULL) {
			*errstr = "out of memory";
			return -1;
		}
		r->a = na;
		r->cap = ncap;
	}
	if ((r->a[r->n] = strdup(addr)) == NULL) {
		*errstr = "out of memory";
		return -1;
	}
	r->n++;
	return 0;
}

static int
rcpt_one(void *arg, const char *spec, size_t len, const char **errstr)
{
	struct rcpt_arg *ra = arg;
	char canon[ADDR_BUF], esc[HDR_ADDR_MAX + 16];
	const char *why = "invalid";

	if (addr_parse_mailbox(spec, len, ADDR_UTF8, ra->defdomain, canon,
	    sizeof(canon), &why) == -1) {
		(void)log_esc(esc, sizeof(esc), spec, len);
		(void)snprintf(ra->r->err, sizeof(ra->r->err),
		    "bad address \"%s\": %s", esc, why);
		*errstr = ra->r->err;
		return -1;
	}
	return rcpt_push(ra->r, canon, errstr);
}

int
inject_rcpt_list(struct inject_rcpts *r, const char *list, size_t len,
    const char *defdomain, const char **errstr)
{
	struct rcpt_arg ra = { r, defdomain };
	char esc[HDR_ADDR_MAX];
	const char *why = NULL;

	if (hdr_addrlist(list, len, rcpt_one, &ra, &why) == 0)
		return 0;
	if (why != r->err) {
		(void)log_esc(esc, sizeof(esc), list, len);
		(void)snprintf(r->err, sizeof(r->err),
		    "bad address list \"%s\": %s", esc, why);
	}
	*errstr = r->err;
	return -1;
}

int
inject_rcpt_arg(struct inject_rcpts *r, const char *arg,
    const char *defdomain, const char **errstr)
{
	char esc[HDR_ADDR_MAX];
	size_t len = strlen(arg);

	/* folding is for header fields; on a command line it smuggles */
	if (strpbrk(arg, "\r\n") != NULL) {
		(void)log_esc(esc, sizeof(esc), arg, len);
		(void)snprintf(r->err, sizeof(r->err),
		    "bad recipient \"%s\": CR or LF in an argument", esc);
		*errstr = r->err;
		return -1;
	}
	return inject_rcpt_list(r, arg, len, defdomain, errstr);
}

struct dedup_ent {
	const char	*s;
	size_t		 i;
};

static int
dedup_cmp(const void *a, const void *b)
{
	const struct dedup_ent *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

int
inject_rcpts_dedup(struct inject_rcpts *r)
{
	struct dedup_ent *e;
	size_t i, k;

	if (r->n < 2)
		return 0;
	if ((e = reallocarray(NULL, r->n, sizeof(*e))) == NULL)
		return -1;
	for (i = 0; i < r->n; i++) {
		e[i].s = r->a[i];
		e[i].i = i;
	}
	qsort(e, r->n, sizeof(*e), dedup_cmp);
	/*
	 * e[k] is the first (kept) copy of a run of equal addresses; free
	 * the later ones, NULL marking them for the compaction below.
	 */
	for (i = 1, k = 0; i < r->n; i++) {
		if (strcmp(e[i].s, e[k].s) != 0) {
			k = i;
			continue;
		}
		free(r->a[e[i].i]);
		r->a[e[i].i] = NULL;
	}
	free(e);
	for (i = k = 0; i < r->n; i++)
		if (r->a[i] != NULL)
			r->a[k++] = r->a[i];
	r->n = k;
	return 0;
}

void
inject_rcpts_free(struct inject_rcpts *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->a[i]);
	free(r->a);
	r->a = NULL;
	r->n = r->cap = 0;
}

int
inject_sender(const char *arg, const char *defdomain, char *out,
    size_t outsz, const char **errstr)
{
	size_t len = strlen(arg);

	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
		arg++;
		len -= 2;
	}
	if (len == 0) {
		if (outsz == 0)
			return -1;
		out[0] = '\0';
		return 0;
	}
	return addr_parse_mailbox(arg, len, ADDR_UTF8, defdomain, out, outsz,
	    errstr);
}

int
inject_rcpts_header(struct inject_rcpts *r, const char *data,
    const struct hdr *h, const char *defdomain, const char **errstr)
{
	static const char *plain[] = { "To", "Cc", "Bcc", NULL };
	static const char *resent[] = { "Resent-To", "Resent-Cc",
	    "Resent-Bcc", NULL };
	const char **names = plain;
	const struct hdr_field *f;
	size_t i, k;

	for (k = 0; resent[k] != NULL; k++)
		if (hdr_has(data, h, resent[k]))
			names = resent;
	for (i = 0; i < h->n; i++) {
		f = &h->f[i];
		for (k = 0; names[k] != NULL; k++)
			if (hdr_is(data, f, names[k]))
				break;
		if (names[k] == NULL)
			continue;
		if (inject_rcpt_list(r, data + f->value_off,
		    f->off + f->len - f->value_off, defdomain, errstr) == -1)
			return -1;
	}
	return 0;
}

void
inject_drop_bcc(const char *data, struct hdr *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (hdr_is(data, &h->f[i], "Bcc") ||
		    hdr_is(data, &h->f[i], "Resent-Bcc"))
			h->f[i].drop = true;
}

char *
inject_gecos_name(const char *gecos, const char *login, char *out,
    size_t outsz)
{
	size_t n = 0;
	const char *p;

	if (outsz == 0)
		return out;
	for (p = gecos; *p != '\0' && *p != ',' && n + 1 < outsz; p++) {
		if (*p != '&') {
			out[n++] = *p;
			continue;
		}
		/* BSD: '&' in the gecos field stands for the login name */
		if (n + strlen(login) + 1 >= outsz)
			break;
		memcpy(out + n, login, strlen(login));
		out[n] = toupper((unsigned char)out[n]);
		n += strlen(login);
	}
	out[n] = '\0';
	return out;
}

/* ---- header fix-up ---- */

char *
inject_date(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	/* strftime uses the C locale: main never calls setlocale */
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		(void)strlcpy(out, "Thu, 01 Jan 1970 00:00:00 +0000", outsz);
	return out;
}

static bool
is_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Q-encode one UTF-8 sequence of name (RFC 2047 5(3)); returns its length. */
static size_t
qenc_seq(const unsigned char *s, char *enc, size_t encsz)
{
	size_t n = 1, k, e = 0;

	if (s[0] >= 0xc0)
		while (n < 4 && s[n] >= 0x80 && s[n] < 0xc0)
			n++;
	for (k = 0; k < n && e + 4 < encsz; k++) {
		if (s[k] == ' ')
			enc[e++] = '_';
		else if (isalnum(s[k]) || strchr("!*+-/", s[k]) != NULL)
			enc[e++] = s[k];
		else
			e += snprintf(enc + e, encsz - e, "=%02X", s[k]);
	}
	enc[e] = '\0';
	return n;
}

/* The name as RFC 2047 encoded-words, folded before 78 columns. */
static int
put_encoded(struct buf *out, const char *name, size_t *colp)
{
	const unsigned char *s = (const unsigned char *)name;
	char word[80], enc[16];
	size_t wl = 0, n, col = *colp;
	int r = 0;

	while (*s != '\0' || wl > 0) {
		n = *s != '\0' ? qenc_seq(s, enc, sizeof(enc)) : 0;
		if (wl > 0 && (n == 0 || wl + strlen(enc) > 63)) {
			if (col > 6) {
				r |= buf_appends(out, col + 12 + wl > 76 ?
				    "\n " : " ");
				col = col + 12 + wl > 76 ? 1 : col + 1;
			}
			r |= buf_printf(out, "=?UTF-8?Q?%.*s?=", (int)wl, word);
			col += 12 + wl;
			wl = 0;
		}
		if (n == 0)
			break;
		memcpy(word + wl, enc, strlen(enc));
		wl += strlen(enc);
		s += n;
	}
	*colp = col;
	return r;
}

/* From: with the display name as atoms, a quoted string or encoded. */
static int
put_from(struct buf *out, const char *name, const char *addr)
{
	char clean[INJECT_NAME_MAX + 1];
	bool atoms = true, eight = false;
	size_t i, col = 6;
	int r = 0;

	(void)strlcpy(clean, name != NULL ? name : "", sizeof(clean));
	for (i = 0; clean[i] != '\0'; i++) {
		unsigned char c = clean[i];

		if (c < 32 || c == 127)
			clean[i] = c = ' ';
		eight |= c >= 0x80;
		atoms &= is_atext(c) || (c == ' ' && i > 0 && clean[i + 1] !=
		    '\0' && clean[i + 1] != ' ');
	}
	if (clean[0] == '\0')
		return buf_printf(out, "From: %s\n", addr);
	r |= buf_appends(out, "From: ");
	if (eight)
		r |= put_encoded(out, clean, &col);
	else if (atoms)
		r |= buf_appends(out, clean);
	else {
		r |= buf_appendc(out, '"');
		for (i = 0; clean[i] != '\0'; i++) {
			if (clean[i] == '"' || clean[i] == '\\')
				r |= buf_appendc(out, '\\');
			r |= buf_appendc(out, clean[i]);
		}
		r |= buf_appendc(out, '"');
	}
	/* fold before the address when encoded-words filled the line */
	r |= buf_printf(out, "%s<%s>\n", col + strlen(addr) + 3 > 78 ?
	    "\n " : " ", addr);
	return r;
}

int
inject_fixup(const char *data, const struct hdr *h,
    const struct inject_fix *fx, struct buf *out)
{
	const struct hdr_field *f;
	char date[64];
	size_t i;
	int r = 0;

	for (i = 0; i < h->n; i++) {
		f = &h->f[i];
		if (f->drop)
			continue;
		r |= buf_append(out, data + f->off, f->len);
		if (data[f->off + f->len - 1] != '\n')
			r |= buf_appendc(out, '\n');
	}
	if (!hdr_has(data, h, "Date"))
		r |= buf_printf(out, "Date: %s\n",
		    inject_date(fx->now, date, sizeof(date)));
	if (!hdr_has(data, h, "Message-ID"))
		r |= buf_printf(out, "Message-ID: %s\n", fx->msgid);
	if (!hdr_has(data, h, "From"))
		r |= put_from(out, fx->fullname, fx->from_addr);
	r |= buf_appendc(out, '\n');
	return r ? -1 : 0;
}

int
inject_envelope(struct buf *out, const char *sender,
    const struct inject_rcpts *r, const char *notify, const char *ret)
{
	size_t i;

	if (rec_put_tag(out, 'F', sender) == -1)
		return -1;
	if (ret != NULL && ret[0] != '\0' && rec_put_tag(out, 'R', ret) == -1)
		return -1;
	for (i = 0; i < r->n; i++) {
		if (notify != NULL && notify[0] != '\0' &&
		    rec_put_tag(out, 'N', notify) == -1)
			return -1;
		if (rec_put_tag(out, 'T', r->a[i]) == -1)
			return -1;
	}
	return rec_put(out, "");
}

/* ---- input conversion ---- */

void
inject_conv_init(struct inject_conv *cv, bool iflag)
{
	memset(cv, 0, sizeof(*cv));
	cv->iflag = iflag;
	cv->bol = true;
}

/* One byte while a '.' or CR is held, or one that may start holding. */
static int
conv_byte(struct inject_conv *cv, unsigned char c, struct buf *out)
{
	if (cv->cr) {
		cv->cr = false;
		if (c == '\n' && cv->dot) {
			cv->done = true;
			return 0;
		}
		if (c == '\n') {
			cv->bol = true;
			return buf_appendc(out, '\n');
		}
		if (cv->dot && buf_appendc(out, '.') == -1)
			return -1;
		cv->dot = cv->bol = false;
		if (buf_appendc(out, '\r') == -1)
			return -1;
	} else if (cv->dot) {
		if (c == '\n' || c == '\r') {
			cv->done = c == '\n';
			cv->cr = c == '\r';
			return 0;
		}
		cv->dot = false;
		if (buf_appendc(out, '.') == -1)
			return -1;
	}
	if (c == '\r') {
		cv->cr = true;
		return 0;
	}
	if (cv->bol && c == '.' && !cv->iflag) {
		cv->dot = true;
		cv->bol = false;
		return 0;
	}
	cv->nul |= c == '\0';
	cv->bol = c == '\n';
	return buf_appendc(out, c);
}

ssize_t
inject_conv_feed(struct inject_conv *cv, const char *in, size_t len,
    struct buf *out)
{
	size_t i = 0, run;

	while (i < len && !cv->done) {
		for (run = 0; i + run < len && in[i + run] != '\r' &&
		    in[i + run] != '\n' && in[i + run] != '\0'; run++)
			;
		if (run > 0 && !cv->cr && !cv->dot &&
		    !(cv->bol && in[i] == '.' && !cv->iflag)) {
			if (buf_append(out, in + i, run) == -1)
				return -1;
			cv->bol = false;
			i += run;
			continue;
		}
		if (conv_byte(cv, (unsigned char)in[i], out) == -1)
			return -1;
		i++;
	}
	return (ssize_t)i;
}

/*
 * Every line of a message ends in LF (RFC 5322 2.1, and Maildir readers
 * count on it): a last line without one gets it, and a CR held at the
 * end is taken as the start of a line end that EOF cut short.
 */
int
inject_conv_end(struct inject_conv *cv, struct buf *out)
{
	if (cv->dot) {
		if (buf_appendc(out, '.') == -1)
			return -1;
		cv->bol = false;
	}
	if (cv->cr)
		cv->bol = false;
	cv->dot = cv->cr = false;
	if (!cv->bol) {
		if (buf_appendc(out, '\n') == -1)
			return -1;
		cv->bol = true;
	}
	return 0;
}

/* ---- the queue program ---- */

static void
close_pair(int p[2])
{
	if (p[0] != -1)
		(void)close(p[0]);
	if (p[1] != -1)
		(void)close(p[1]);
}

/*
 * Run by root, the queue program runs as the queue user: a setuid
 * tern-queue started with real uid 0 could get root back, and its file
 * belongs to that user.  The ids go to *uid and *gid; 0 when not root,
 * 1 to drop, -1 (logged) when the user is missing or is root.
 */
static int
child_user(uid_t *uid, gid_t *gid)
{
	const char *user = paths_queue_user();
	int r;

	if (getuid() != 0 && geteuid() != 0)
		return 0;
	if ((r = priv_user(user, uid, gid)) != 1) {
		if (r == 0)
			log_fatalx("queue user %s does not exist", user);
		else
			log_fatal("unable to look up the queue user %s", user);
		return -1;
	}
	if (*uid == 0) {
		log_fatalx("queue user %s is uid 0", user);
		return -1;
	}
	return 1;
}

/* In the child: fds 0, 1, 6 from the pipes, the drop, then exec. */
static void __attribute__((noreturn))
child_exec(const char *path, int m, int e, int t, const uid_t *uid,
    const gid_t *gid)
{
	char *argv[2];

	(void)signal(SIGPIPE, SIG_DFL);
	if (uid != NULL && priv_drop(*uid, *gid) == -1) {
		log_warn("unable to become uid %lu", (unsigned long)*uid);
		_exit(EXIT_EXEC);
	}
	/* the sources are >= 3 (main keeps 0-2 open); 6 is set last */
	if (dup2(m, 0) == -1 || dup2(e, 1) == -1 ||
	    (t == 6 ? io_cloexec(6, 0) : dup2(t, 6)) == -1)
		_exit(EXIT_EXEC);
	argv[0] = (char *)path;
	argv[1] = NULL;
	execv(path, argv);
	log_warn("unable to run %s", path);
	_exit(EXIT_EXEC);
}

int
inject_child_start(const char *path, struct inject_child *c)
{
	int m[2] = { -1, -1 }, e[2] = { -1, -1 }, t[2] = { -1, -1 };
	int save, drop;
	uid_t uid;
	gid_t gid;

	if ((drop = child_user(&uid, &gid)) == -1) {
		errno = EPERM;
		return -1;
	}
	if (pipe2(m, O_CLOEXEC) == -1 || pipe2(e, O_CLOEXEC) == -1 ||
	    pipe2(t, O_CLOEXEC) == -1)
		goto fail;
	if ((c->pid = fork()) == -1)
		goto fail;
	if (c->pid == 0)
		child_exec(path, m[0], e[0], t[1], drop ? &uid : NULL,
		    drop ? &gid : NULL);
	(void)close(m[0]);
	(void)close(e[0]);
	(void)close(t[1]);
	c->msgfd = m[1];
	c->envfd = e[1];
	c->txtfd = t[0];
	return 0;
fail:
	save = errno;
	close_pair(m);
	close_pair(e);
	close_pair(t);
	errno = save;
	return -1;
}

/* The first line of what the child left on fd 6, printable. */
static void
read_text(int fd, char *text, size_t textsz)
{
	ssize_t n;
	size_t i;

	text[0] = '\0';
	if (fd == -1 || textsz < 2 || io_nonblock(fd, 1) == -1)
		return;
	if ((n = io_read(fd, text, textsz - 1)) <= 0)
		return;
	text[n] = '\0';
	text[strcspn(text, "\r\n")] = '\0';
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 32 || text[i] == 127)
			text[i] = '?';
}

int
inject_child_wait(struct inject_child *c, char *text, size_t textsz)
{
	int status;

	if (c->msgfd != -1)
		(void)close(c->msgfd);
	if (c->envfd != -1)
		(void)close(c->envfd);
	c->msgfd = c->envfd = -1;
	while (waitpid(c->pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	read_text(c->txtfd, text, textsz);
	if (c->txtfd != -1)
		(void)close(c->txtfd);
	c->txtfd = -1;
	return status;
}

/* qmail-queue's exit codes (qmail-queue(8)) and what they mean. */
static const struct {
	int		 code;
	const char	*text;
} qq_codes[] = {
	{ 11, "address too long" },
	{ 31, "mail server permanently refuses to send the message" },
	{ 51, "out of memory" },
	{ 52, "timeout" },
	{ 53, "write error (disk full?)" },
	{ 54, "unable to read the message or envelope" },
	{ 55, "unable to read a configuration file" },
	{ 56, "problem making a network connection" },
	{ 61, "problem with the home directory" },
	{ 62, "problem with the queue directory" },
	{ 63, "problem with the queue pid file" },
	{ 64, "problem with the queue message directory" },
	{ 65, "problem with the queue intd directory" },
	{ 66, "problem with the queue todo directory" },
	{ 71, "mail server temporarily refuses to send the message" },
	{ 72, "connection to mail server timed out" },
	{ 73, "connection to mail server rejected" },
	{ 74, "communication with mail server failed" },
	{ 81, "internal bug in the queue program" },
	{ 82, "the queue program refused the message" },
	{ 91, "envelope format error" },
	{ EXIT_EXEC, "unable to run the queue program" },
};

int
inject_exit_map(int status, const char *text, char *msg, size_t msgsz)
{
	const char *what = "unknown error";
	int code;
	size_t i;

	if (WIFSIGNALED(status)) {
		(void)snprintf(msg, msgsz, "queue program killed by signal %d",
		    WTERMSIG(status));
		return 111;
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 81;
	if (code == 0) {
		(void)snprintf(msg, msgsz, "ok");
		return 0;
	}
	if (code == 82 && text != NULL && (text[0] == 'D' ||
	    text[0] == 'Z') && text[1] != '\0') {
		(void)snprintf(msg, msgsz, "%s", text + 1);
		return text[0] == 'D' ? 100 : 111;
	}
	for (i = 0; i < sizeof(qq_codes) / sizeof(qq_codes[0]); i++)
		if (qq_codes[i].code == code)
			what = qq_codes[i].text;
	if (text != NULL && text[0] != '\0')
		(void)snprintf(msg, msgsz, "queue program exit %d: %s: %s",
		    code, what, text);
	else
		(void)snprintf(msg, msgsz, "queue program exit %d: %s", code,
		    what);
	return code == 11 || code == 31 || code == 91 ? 100 : 111;
}

/* ---- the message path ---- */

struct run {
	const struct inject_job	*job;
	struct inject_conv	 conv;
	struct buf		 acc;	/* the start of the message */
	struct buf		 out;	/* the fixed header, then body chunks */
	bool			 eof;
	struct hdr		 h;
	size_t			 start;	/* after a leading "From " line */
	struct inject_rcpts	 rc;
	char			 sender[ADDR_BUF];
	unsigned long long	 size;
	char			 chunk[INJECT_CHUNK];
};

/* Read and convert one chunk into b: 1 more, 0 end of input, -1. */
static int
read_chunk(struct run *r, struct buf *b)
{
	ssize_t n;

	if (r->eof || r->conv.done)
		return 0;
	if ((n = io_read(r->job->infd, r->chunk, sizeof(r->chunk))) == -1) {
		log_fatal("unable to read the message");
		return -1;
	}
	if (n == 0) {
		r->eof = true;
		if (inject_conv_end(&r->conv, b) == -1)
			goto nomem;
		return 0;
	}
	if (inject_conv_feed(&r->conv, r->chunk, n, b) == -1)
		goto nomem;
	return 1;
nomem:
	log_fatal("unable to store the message");
	return -1;
}

/* Read until the header section is complete or too large. */
static int
read_header(struct run *r)
{
	size_t from = 0;
	int rc;

	for (;;) {
		if (r->acc.len > 0 && (r->acc.data[0] == '\n' ||
		    memmem(r->acc.data + from, r->acc.len - from, "\n\n",
		    2) != NULL))
			return 0;
		if (r->acc.len >= HDR_SECTION_MAX)
			return 0;
		from = r->acc.len > 0 ? r->acc.len - 1 : 0;
		if ((rc = read_chunk(r, &r->acc)) <= 0)
			return rc;
	}
}

/* Parse the header section read so far; 0, or -1 (exit 100). */
static int
parse_header(struct run *r)
{
	const char *d = buf_cstr(&r->acc), *nl, *why;
	size_t len = r->acc.len;
	bool complete = r->eof || r->conv.done;

	/* an mbox "From " line at the top is not part of the message */
	if (len >= 5 && memcmp(d, "From ", 5) == 0 &&
	    (nl = memchr(d, '\n', len)) != NULL)
		r->start = nl - d + 1;
	len -= r->start;
	if (!complete && len > HDR_SECTION_MAX)
		len = HDR_SECTION_MAX;
	if (hdr_parse(d + r->start, len, complete, &r->h, &why) == -1) {
		log_fatalx("malformed message: %s", why);
		return -1;
	}
	if (r->conv.nul) {
		log_fatalx("malformed message: NUL byte in the message");
		return -1;
	}
	return 0;
}

/* Sender and recipients; 0, or the exit code. */
static int
find_addresses(struct run *r)
{
	const struct inject_job *j = r->job;
	const char *why = "unknown", *d = buf_cstr(&r->acc) + r->start;
	char self[ADDR_BUF + 64];
	int i;

	if (j->opts->sender != NULL) {
		if (inject_sender(j->opts->sender, j->defdomain, r->sender,
		    sizeof(r->sender), &why) == -1) {
			log_fatalx("bad sender address: %s", why);
			return 100;
		}
	} else {
		if (j->login == NULL) {
			log_fatalx("unable to find the login name of uid %lu",
			    (unsigned long)getuid());
			return 111;
		}
		(void)snprintf(self, sizeof(self), "%s", j->login);
		if (inject_sender(self, j->defdomain, r->sender,
		    sizeof(r->sender), &why) == -1) {
			log_fatalx("bad sender address from the login: %s",
			    why);
			return 100;
		}
	}
	for (i = 0; i < j->opts->nrcpts; i++)
		if (inject_rcpt_arg(&r->rc, j->opts->rcpts[i], j->defdomain,
		    &why) == -1)
			goto bad;
	if (j->opts->tflag && inject_rcpts_header(&r->rc, d, &r->h,
	    j->defdomain, &why) == -1)
		goto bad;
	if (inject_rcpts_dedup(&r->rc) == -1) {
		log_fatal("unable to sort the recipients");
		return 111;
	}
	if (r->rc.n == 0) {
		log_fatalx("no recipients");
		return 100;
	}
	return 0;
bad:
	log_fatalx("%s", why);
	return 100;
}

/* The header to send into r->out; 0, or the exit code. */
static int
fix_header(struct run *r)
{
	const struct inject_job *j = r->job;
	struct inject_fix fx;
	char qid[QID_LEN + 1], msgid[QID_LEN + 32 + ADDR_DOMAIN_MAX];
	char name[INJECT_NAME_MAX + 1], self[ADDR_BUF];
	const char *why;

	qid_new(qid);
	(void)snprintf(msgid, sizeof(msgid), "<%s.%ld@%s>", qid,
	    (long)getpid(), j->me);
	fx.now = time(NULL);
	fx.msgid = msgid;
	fx.from_addr = r->sender;
	if (r->sender[0] == '\0') {
		/* the null sender is no From: use the caller's address */
		if (j->login == NULL || inject_sender(j->login, j->defdomain,
		    self, sizeof(self), &why) == -1)
			(void)snprintf(self, sizeof(self), "MAILER-DAEMON@%s",
			    j->defdomain);
		fx.from_addr = self;
	}
	if (j->opts->fullname != NULL)
		fx.fullname = j->opts->fullname;
	else if (j->gecos != NULL && j->login != NULL)
		fx.fullname = inject_gecos_name(j->gecos, j->login, name,
		    sizeof(name));
	else
		fx.fullname = NULL;
	inject_drop_bcc(buf_cstr(&r->acc) + r->start, &r->h);
	if (inject_fixup(buf_cstr(&r->acc) + r->start, &r->h, &fx,
	    &r->out) == -1) {
		log_fatal("unable to build the header");
		return 111;
	}
	return 0;
}

/* Count n more bytes against databytes: 0, or 100 when over. */
static int
check_size(struct run *r, size_t n)
{
	r->size += n;
	if (r->job->databytes > 0 &&
	    r->size > (unsigned long long)r->job->databytes) {
		log_fatalx("message too large: the limit (databytes) is %lld"
		    " bytes", r->job->databytes);
		return 100;
	}
	return 0;
}

/* Write to the queue program; EPIPE sets *broken (its exit tells why). */
static void
send_bytes(int fd, const void *p, size_t n, bool *broken)
{
	if (*broken || n == 0)
		return;
	if (io_write_all(fd, p, n) == -1)
		*broken = true;
}

/* Send the rest of the message: 0, or the exit code for an abort. */
static int
stream_body(struct run *r, struct inject_child *c, bool *broken)
{
	size_t body = r->start + (r->h.none ? 0 : r->h.body);
	int rc, code;

	if ((code = check_size(r, r->out.len + r->acc.len - body)) != 0)
		return code;
	send_bytes(c->msgfd, r->out.data, r->out.len, broken);
	send_bytes(c->msgfd, r->acc.data + body, r->acc.len - body, broken);
	for (;;) {
		buf_reset(&r->out);
		if ((rc = read_chunk(r, &r->out)) == -1)
			return 111;
		if (r->conv.nul) {
			log_fatalx("malformed message: NUL byte in the "
			    "message");
			return 100;
		}
		if ((code = check_size(r, r->out.len)) != 0)
			return code;
		send_bytes(c->msgfd, r->out.data, r->out.len, broken);
		if (rc == 0)
			return 0;
	}
}

/* Hand the message over and map the queue program's exit. */
static int
hand_over(struct run *r)
{
	struct inject_child c;
	struct buf env;
	char text[INJECT_ERRTEXT_MAX], msg[INJECT_ERRTEXT_MAX + 128];
	bool broken = false;
	int code, status;

	if (inject_child_start(r->job->queue_prog, &c) == -1) {
		log_fatal("unable to start %s", r->job->queue_prog);
		return 111;
	}
	if ((code = stream_body(r, &c, &broken)) != 0) {
		/* no envelope: the queue program must not commit anything */
		(void)kill(c.pid, SIGTERM);
		(void)inject_child_wait(&c, text, sizeof(text));
		return code;
	}
	(void)close(c.msgfd);
	c.msgfd = -1;
	buf_init(&env, ENVELOPE_MAX);
	if (inject_envelope(&env, r->sender, &r->rc, r->job->opts->notify,
	    r->job->opts->ret) == -1) {
		log_fatal("unable to build the envelope");
		(void)kill(c.pid, SIGTERM);
		(void)inject_child_wait(&c, text, sizeof(text));
		buf_free(&env);
		return 111;
	}
	send_bytes(c.envfd, env.data, env.len, &broken);
	buf_free(&env);
	if ((status = inject_child_wait(&c, text, sizeof(text))) == -1) {
		log_fatal("unable to wait for the queue program");
		return 111;
	}
	if ((code = inject_exit_map(status, text, msg, sizeof(msg))) != 0)
		log_fatalx("%s", msg);
	else if (r->job->opts->verbose)
		log_info("queued from=<%s> rcpts=%zu size=%llu", r->sender,
		    r->rc.n, r->size);
	return code;
}

int
inject_message(const struct inject_job *job)
{
	struct run *r;
	int code;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_fatal("unable to allocate memory");
		return 111;
	}
	r->job = job;
	inject_conv_init(&r->conv, job->opts->iflag);
	buf_init(&r->acc, HDR_SECTION_MAX + 2 * INJECT_CHUNK + 16);
	buf_init(&r->out, HDR_SECTION_MAX + 2 * INJECT_CHUNK + 16);
	code = read_header(r) == -1 ? 111 : 0;
	if (code == 0 && parse_header(r) == -1)
		code = 100;
	if (code == 0)
		code = find_addresses(r);
	if (code == 0)
		code = fix_header(r);
	if (code == 0)
		code = hand_over(r);
	hdr_free(&r->h);
	inject_rcpts_free(&r->rc);
	buf_free(&r->acc);
	buf_free(&r->out);
	free(r);
	return code;
}
