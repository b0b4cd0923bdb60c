/* local: tern-local's deliveries (Maildir, commands) and the main flow. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "line.h"
#include "local.h"
#include "log.h"
#include "maildir.h"
#include "uniq.h"

int
local_set(struct local *l, int code, const char *status, const char *fmt,
    ...)
{
	va_list	ap;

	l->code = code;
	strlcpy(l->status, status, sizeof(l->status));
	va_start(ap, fmt);
	(void)vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
	return -1;
}

/* Is line a header field named name (case-insensitive)? Sets *val. */
static bool
field_is(const char *line, size_t len, const char *name, const char **val)
{
	size_t	n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	*val = line + n + 1;
	return true;
}

static bool
names_rcpt(const char *v, const char *rcpt)
{
	size_t	len;

	while (*v == ' ' || *v == '\t')
		v++;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
	    v[len - 1] == '\r'))
		len--;
	return len == strlen(rcpt) && strncasecmp(v, rcpt, len) == 0;
}

int
local_loop_check(int fd, const char *rcpt, const char **why)
{
	struct linereader	 lr;
	const char		*v;
	char			*line;
	size_t			 len, hops = 0;
	int			 r, flags, rv = 0;

	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    line_init(&lr, fd, LOCAL_HEADER_LINE_MAX) == -1)
		return -1;
	while ((r = line_read(&lr, 0, &line, &len, &flags)) != 0) {
		if (r == -1 && errno == EMSGSIZE)
			continue;
		if (r == -1 || len == 0 || (len == 1 && line[0] == '\r')) {
			rv = r == -1 ? -1 : 0;
			break;
		}
		if (field_is(line, len, "Delivered-To", &v)) {
			hops++;
			if (names_rcpt(v, rcpt)) {
				*why = "Delivered-To names the recipient";
				rv = 1;
				break;
			}
		} else if (field_is(line, len, "Received", &v))
			hops++;
		if (hops > LOCAL_HOPS_MAX) {
			*why = "too many Received and Delivered-To lines";
			rv = 1;
			break;
		}
	}
	line_free(&lr);
	return rv;
}

int
local_prepare(struct local *l)
{
	const char	*dom, *why = NULL;
	size_t		 ll;
	int		 r;

	dom = addr_domain(l->rcpt);
	ll = dom != NULL ? addr_local_len(l->rcpt) : strlen(l->rcpt);
	if (ll >= sizeof(l->local))
		return local_set(l, 100, "5.1.3", "recipient too long");
	memcpy(l->local, l->rcpt, ll);
	l->local[ll] = '\0';
	strlcpy(l->domain, dom != NULL ? dom : "", sizeof(l->domain));
	if (buf_printf(&l->prefix, "Return-Path: <%s>\nDelivered-To: %s\n",
	    l->sender, l->rcpt) == -1)
		return local_set(l, 111, "4.3.0", "out of memory");
	if ((r = local_loop_check(l->fd, l->rcpt, &why)) == -1)
		return local_set(l, 111, "4.3.0", "cannot read the message: "
		    "%s", strerror(errno));
	if (r == 1)
		return local_set(l, 100, "5.4.6", "mail loop: %s", why);
	return 0;
}

/* The key for path, or NULL when the message is not a queued one. */
static const char *
maildir_key(const struct local *l, const char *path,
    char key[UNIQ_KEY_LEN + 1])
{
	if (l->qid == NULL || !qid_valid(l->qid) ||
	    uniq_key(key, l->qid, l->rcpt, path) == -1)
		return NULL;
	return key;
}

/* -c: 1 an earlier delivery is there, 0 not, -1 error (result set). */
static int
maildir_check(struct local *l, const char *path, const char *key)
{
	char name[256];
	int r;

	if (!l->check || key == NULL)
		return 0;
	r = maildir_find_key(path, key, l->prefix.data, l->prefix.len, name,
	    sizeof(name));
	if (r == -1)
		return local_set(l, 111, "4.2.0", "cannot look for an earlier "
		    "delivery: %s", strerror(errno));
	return r;
}

int
local_maildir(struct local *l, const char *path)
{
	char		name[512], kbuf[UNIQ_KEY_LEN + 1];
	const char	*key = maildir_key(l, path, kbuf);
	struct stat	st;
	int		e, r;

	if ((r = maildir_check(l, path, key)) != 0) {
		if (r == 1) {
			l->nfound++;
			log_info("%s already delivered: %s", l->qid, key);
		}
		return r == 1 ? 0 : -1;
	}
	if (l->maildir != NULL && strcmp(path, l->maildir) == 0 &&
	    stat(path, &st) == -1 && errno == ENOENT &&
	    maildir_create(path) == -1)
		return local_set(l, 111, "4.2.0", "cannot create the "
		    "Maildir: %s", strerror(errno));
	if (lseek(l->fd, 0, SEEK_SET) == -1 ||
	    maildir_deliver_key(path, key, l->prefix.data, l->prefix.len,
	    l->fd, name, sizeof(name)) == -1) {
		e = errno;
		if (e == EDQUOT)
			return local_set(l, 111, "4.2.2", "mailbox over quota");
		if (e == ENOSPC)
			return local_set(l, 111, "4.3.1", "mail system full");
		return local_set(l, 111, "4.2.0", "Maildir delivery failed: "
		    "%s", strerror(e));
	}
	l->nmaildir++;
	return 0;
}

/* The environment of a command: the envelope, never in its text. */
static int
pipe_env(struct local *l, struct buf *mem, char *envp[12])
{
	const char	*names[] = { "SENDER", "RECIPIENT", "LOCAL", "DOMAIN",
	    "EXT", "HOME", "USER", "LOGNAME", "QUEUEID", "SHELL", "PATH" };
	const char	*vals[] = { l->sender, l->rcpt, l->local, l->domain,
	    l->ext, l->home, l->user, l->user, l->qid, "/bin/sh",
	    "/usr/local/bin:/usr/bin:/bin" };
	size_t		 i, off[11];

	for (i = 0; i < 11; i++) {
		off[i] = mem->len;
		if (buf_printf(mem, "%s=%s", names[i], vals[i]) == -1 ||
		    buf_appendc(mem, '\0') == -1)
			return -1;
	}
	for (i = 0; i < 11; i++)
		envp[i] = mem->data + off[i];
	envp[11] = NULL;
	return 0;
}

int
local_pipe(struct local *l, const char *cmd)
{
	struct run_spec	 rs;
	struct buf	 mem;
	char		*envp[12], *argv[4];
	int		 st, r, code;

	buf_init(&mem, 16384);
	if (pipe_env(l, &mem, envp) == -1) {
		buf_free(&mem);
		return local_set(l, 111, "4.3.0", "environment too large");
	}
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)cmd;
	argv[3] = NULL;
	memset(&rs, 0, sizeof(rs));
	rs.path = "/bin/sh";
	rs.argv = argv;
	rs.envp = envp;
	rs.prefix = l->prefix.data;
	rs.prefix_len = l->prefix.len;
	rs.msgfd = l->fd;
	rs.quiet = true;
	rs.timeout_ms = l->timeout_ms;
	r = run_child(&rs, &st);
	buf_free(&mem);
	if (r == -1 && errno == ETIMEDOUT)
		return local_set(l, 111, "4.3.0", "command timed out");
	if (r == -1)
		return local_set(l, 111, "4.3.0", "cannot run command: %s",
		    strerror(errno));
	if (WIFSIGNALED(st))
		return local_set(l, 111, "4.3.0", "command killed by signal "
		    "%d", WTERMSIG(st));
	code = WEXITSTATUS(st);
	l->npipe += code == 0 || code == 99;
	if (code == 0 || code == 99)
		return code == 99;
	if (code == 100)
		return local_set(l, 100, "5.3.0", "command failed "
		    "permanently (exit 100)");
	return local_set(l, 111, "4.3.0", "command failed (exit %d)", code);
}

/* One target; 1 means stop (a command exited 99). */
static int
do_target(struct local *l, const struct fwd_target *t)
{
	switch (t->kind) {
	case FWD_MAILDIR:
		return local_maildir(l, t->text);
	case FWD_PIPE:
		return local_pipe(l, t->text);
	case FWD_ADDR:
		return local_add_forward(l, t->text);
	default:
		return 0;
	}
}

static void
summary(struct local *l)
{
	local_set(l, 0, "2.0.0", "delivered:%s%s%s%s", l->nmaildir ?
	    " Maildir" : "", l->nfound ? " already delivered" : "",
	    l->npipe ? " command" : "", l->nfwd ? " forwarded" : "");
	if (l->nmaildir + l->nfound + l->npipe + (int)l->nfwd == 0)
		local_set(l, 0, "2.0.0", "delivered: nothing to do");
}

int
local_run(struct local *l)
{
	struct fwd_target	*t = NULL;
	size_t			 n = 0, i;
	int			 r = 0;

	if (local_prepare(l) == -1 || local_targets(l, &t, &n) == -1) {
		free(t);
		return l->code;
	}
	if (n == 0 && l->maildir != NULL)
		r = local_maildir(l, l->maildir);
	else if (n == 0)
		r = local_set(l, 111, "4.3.5", "no targets and no Maildir");
	for (i = 0; i < n && r == 0; i++)
		r = do_target(l, &t[i]);
	free(t);
	if (r != -1 && l->nfwd > 0)
		r = local_forward(l);
	if (r != -1)
		summary(l);
	return l->code;
}
