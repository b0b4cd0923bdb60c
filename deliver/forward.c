/* forward: forward files and reinjection through tern-queue. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "local.h"
#include "paths.h"
#include "priv.h"
#include "rec.h"

int
local_add_forward(struct local *l, const char *addr)
{
	const char	*p = l->fwd.data;
	size_t		 i;

	for (i = 0; i < l->nfwd; i++, p += strlen(p) + 1)
		if (strcmp(p, addr) == 0)
			return 0;
	if (l->nfwd == FWD_TARGETS_MAX)
		return local_set(l, 111, "4.3.5", "too many forward targets");
	if (buf_append(&l->fwd, addr, strlen(addr) + 1) == -1)
		return local_set(l, 111, "4.3.0", "out of memory");
	l->nfwd++;
	return 0;
}

int
local_qq_status(int wstatus, char status[8], const char **text)
{
	int	code;

	if (!WIFEXITED(wstatus)) {
		strlcpy(status, "4.3.0", 8);
		*text = "tern-queue crashed";
		return 111;
	}
	code = WEXITSTATUS(wstatus);
	strlcpy(status, "4.3.0", 8);
	if (code == 0) {
		strlcpy(status, "2.0.0", 8);
		*text = "forwarded";
		return 0;
	}
	if (code == 11) {
		strlcpy(status, "5.1.3", 8);
		*text = "forward address too long";
		return 100;
	}
	if ((code >= 12 && code <= 40) || code == 91) {
		/* tern-queue refuses this envelope for good: retrying the
		 * same bytes cannot help, so the sender must hear of it. */
		strlcpy(status, "5.3.0", 8);
		*text = code == 91 ? "forward refused: envelope format error"
		    : "forward refused permanently";
		return 100;
	}
	*text = code == 53 ? "forward failed: queue write error or disk full"
	    : "forward failed temporarily";
	return 111;
}

/* tern-queue: $TERN_QUEUE when trusted and absolute, else LIBEXEC's. */
static int
queue_path(char *out, size_t outsz)
{
	const char	*q = getenv("TERN_QUEUE");

	if (q != NULL && q[0] == '/' && priv_env_trusted()) {
		if (strlcpy(out, q, outsz) >= outsz)
			return -1;
		return 0;
	}
	return paths_join(out, outsz, paths_libexec(), "tern-queue");
}

int
local_forward(struct local *l)
{
	struct run_spec	 rs;
	struct buf	 env, dt;
	char		 path[PATH_MAX], *argv[2], status[8];
	const char	*p = l->fwd.data, *text;
	size_t		 i;
	int		 st, r = 0, code;

	buf_init(&env, FWD_TARGETS_MAX * (ADDR_BUF + 2) + ADDR_BUF + 8);
	buf_init(&dt, 2 * ADDR_BUF);
	if (rec_put_tag(&env, 'F', l->sender) == -1)
		r = -1;
	for (i = 0; r == 0 && i < l->nfwd; i++, p += strlen(p) + 1)
		r = rec_put_tag(&env, 'T', p);
	if (r == 0)
		r = buf_appendc(&env, '\0');
	if (r == 0)
		r = buf_printf(&dt, "Delivered-To: %s\n", l->rcpt);
	if (r == -1 || queue_path(path, sizeof(path)) == -1) {
		buf_free(&env);
		buf_free(&dt);
		return local_set(l, 111, "4.3.0", "cannot build the "
		    "forward envelope");
	}
	argv[0] = path;
	argv[1] = NULL;
	memset(&rs, 0, sizeof(rs));
	rs.path = path;
	rs.argv = argv;
	rs.prefix = dt.data;
	rs.prefix_len = dt.len;
	rs.msgfd = l->fd;
	rs.fd1data = env.data;
	rs.fd1len = env.len;
	rs.timeout_ms = l->timeout_ms;
	r = run_child(&rs, &st);
	buf_free(&env);
	buf_free(&dt);
	if (r == -1)
		return local_set(l, 111, "4.3.0", "cannot run tern-queue: %s",
		    strerror(errno));
	if ((code = local_qq_status(st, status, &text)) != 0)
		return local_set(l, code, status, "%s", text);
	return 0;
}

/* Open the forward file: fd, -2 absent, -1 error (result set). */
static int
open_forward(struct local *l, char *path, size_t pathsz)
{
	struct stat	st;
	int		fd = -2;

	/* An extension with '/' could name a file outside $HOME. */
	if (l->ext[0] != '\0' && strchr(l->ext, '/') == NULL) {
		if ((size_t)snprintf(path, pathsz, "%s/.forward+%s", l->home,
		    l->ext) >= pathsz)
			return local_set(l, 111, "4.3.0", "path too long");
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			fd = errno == ENOENT ? -2 : -1;
	}
	if (fd == -2) {
		if ((size_t)snprintf(path, pathsz, "%s/.forward", l->home) >=
		    pathsz)
			return local_set(l, 111, "4.3.0", "path too long");
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			fd = errno == ENOENT ? -2 : -1;
	}
	if (fd == -1)
		return local_set(l, 111, "4.3.0", "cannot open forward file: "
		    "%s", strerror(errno));
	if (fd >= 0 && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)) {
		close(fd);
		return local_set(l, 111, "4.7.0", "forward file is not a "
		    "regular file of the user, or is writable by others");
	}
	return fd;
}

/* Read all of fd (at most FWD_FILE_MAX bytes) into a new buf. */
static int
slurp(struct local *l, int fd, struct buf *b)
{
	char	chunk[4096];
	ssize_t	n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return local_set(l, 111, "4.3.0", "cannot read forward "
			    "file: %s", strerror(errno));
		if (buf_append(b, chunk, (size_t)n) == -1)
			return local_set(l, 111, "4.3.5", "forward file too "
			    "large");
	}
	return 0;
}

/* Add one classified target to the array: 0 or -1 (result set). */
static int
add_target(struct local *l, const char *s, size_t len, const char *home,
    size_t lineno, struct fwd_target *t, size_t *n)
{
	const char	*err;

	if (memchr(s, '\0', len) != NULL)
		return local_set(l, 111, "4.3.5", "NUL byte in target");
	if (fwd_parse_target(s, len, home, l->domain[0] ? l->domain : NULL,
	    &t[*n], &err) == -1) {
		if (lineno > 0)
			return local_set(l, 111, "4.3.5", "forward file line "
			    "%zu: %s", lineno, err);
		return local_set(l, 111, "4.3.5", "bad alias target: %s", err);
	}
	if (t[*n].kind == FWD_SKIP)
		return 0;
	if (*n == FWD_TARGETS_MAX)
		return local_set(l, 111, "4.3.5", "too many targets");
	(*n)++;
	return 0;
}

/* The lines of the forward file open on fd. */
static int
forward_lines(struct local *l, int fd, struct fwd_target *t, size_t *n)
{
	struct buf	 b;
	const char	*s, *end, *eol;
	size_t		 lineno = 0;
	int		 r;

	buf_init(&b, FWD_FILE_MAX);
	if ((r = slurp(l, fd, &b)) == 0 && b.len > 0) {
		s = b.data;
		end = b.data + b.len;
		for (; r == 0 && s < end; s = eol != NULL ? eol + 1 : end) {
			eol = memchr(s, '\n', (size_t)(end - s));
			r = add_target(l, s, eol != NULL ? (size_t)(eol - s) :
			    (size_t)(end - s), l->home, ++lineno, t, n);
		}
	}
	buf_free(&b);
	return r;
}

int
local_targets(struct local *l, struct fwd_target **out, size_t *n_out)
{
	struct fwd_target	*t;
	char			 path[PATH_MAX];
	size_t			 i;
	int			 fd, r = 0;

	*out = NULL;
	*n_out = 0;
	if ((t = reallocarray(NULL, FWD_TARGETS_MAX + 1, sizeof(*t))) == NULL)
		return local_set(l, 111, "4.3.0", "out of memory");
	*out = t;
	if (l->alias) {
		for (i = 0; r == 0 && i < l->nargs; i++)
			r = add_target(l, l->args[i], strlen(l->args[i]), NULL,
			    0, t, n_out);
		return r;
	}
	if ((fd = open_forward(l, path, sizeof(path))) == -1)
		return -1;
	if (fd == -2)
		return 0;
	r = forward_lines(l, fd, t, n_out);
	close(fd);
	return r;
}
