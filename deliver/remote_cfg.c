/* remote_cfg: tern-remote's control files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "remote.h"

/* Next line of text (NUL-terminated) into line, trimmed; false at end. */
static bool
next_line(const char **pos, char *line, size_t linesz)
{
	const char	*p = *pos, *nl;
	size_t		 n;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		*pos = nl != NULL ? nl + 1 : p + n;
		while (n > 0 && strchr(" \t\r", p[n - 1]) != NULL)
			n--;
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		if (n == 0 || *p == '#' || n >= linesz) {
			p = *pos;
			continue;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		return true;
	}
	return false;
}

/*
 * How well pattern matches domain: 3 exact, 2 ".suffix", 1 the default
 * pattern dflt ("" or "*"), 0 not at all.
 */
static int
match(const char *pat, const char *domain, const char *dflt)
{
	size_t	pl = strlen(pat), dl = strlen(domain);

	if (strcmp(pat, dflt) == 0)
		return 1;
	if (strcasecmp(pat, domain) == 0)
		return 3;
	if (pat[0] == '.' && dl > pl && strcasecmp(domain + dl - pl, pat) == 0)
		return 2;
	return 0;
}

int
remote_route_find(const char *text, const char *domain, char *out,
    size_t outsz, bool *insecure, const char **why)
{
	char		 line[CFG_LINE_MAX], *colon, *host, *opt;
	const char	*pos = text;
	int		 best = 0, m;

	while (next_line(&pos, line, sizeof(line))) {
		/* qmail's "domain:host:port" is not ours: "domain host" */
		host = line + strcspn(line, " \t");
		if (line[0] == ':') {
			host = line + 1;
			colon = line;
			*colon = '\0';
		} else if (*host != '\0')
			*host++ = '\0';
		host += strspn(host, " \t");
		opt = host + strcspn(host, " \t");
		if (*opt != '\0')
			*opt++ = '\0';
		opt += strspn(opt, " \t");
		if (*opt != '\0' && strcmp(opt, "insecure") != 0) {
			*why = "smtproutes: unknown option";
			return -1;
		}
		m = match(line, domain, "");
		if (m <= best)
			continue;
		best = m;
		if (strlcpy(out, host, outsz) >= outsz) {
			*why = "smtproutes: host too long";
			return -1;
		}
		*insecure = *opt != '\0';
	}
	return best > 0 ? 1 : 0;
}

static int
policy_parse(const char *s, enum remote_tls *out)
{
	static const char *const names[] = { "none", "may", "encrypt",
	    "dane", "verify" };
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum remote_tls)i;
			return 0;
		}
	return -1;
}

int
remote_tlspolicy_find(const char *text, const char *domain,
    enum remote_tls *out, const char **why)
{
	char		 line[CFG_LINE_MAX], *p;
	const char	*pos = text;
	enum remote_tls	 t;
	int		 best = 0, m;

	*out = RTLS_MAY;
	while (next_line(&pos, line, sizeof(line))) {
		p = line + strcspn(line, " \t");
		if (*p == '\0') {
			*why = "tlspolicy: a line without a policy";
			return -1;
		}
		*p++ = '\0';
		p += strspn(p, " \t");
		if (policy_parse(p, &t) == -1) {
			*why = "tlspolicy: unknown policy";
			return -1;
		}
		m = match(line, domain, "*");
		if (m > best) {
			best = m;
			*out = t;
		}
	}
	return best > 0 ? 1 : 0;
}

int
remote_hostport(const char *s, int defport, char *name, size_t namesz,
    int *port, bool *literal)
{
	const char	*end, *colon, *err;
	size_t		 n;

	*literal = s[0] == '[';
	if (*literal) {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		s++;
		n = (size_t)(end - s);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strrchr(s, ':');
		n = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (n == 0 || n >= namesz)
		return -1;
	memcpy(name, s, n);
	name[n] = '\0';
	*port = defport;
	if (colon != NULL) {
		*port = (int)strtonum(colon + 1, 1, 65535, &err);
		if (err != NULL)
			return -1;
	}
	return 0;
}

static int
get_num(const char *dir, const char *name, long long min, long long max,
    long long dflt, long long *out, const char **why)
{
	int	r = cfg_get_num(dir, name, min, max, out);

	if (r == -1) {
		*why = name;
		return -1;
	}
	if (r == 0)
		*out = dflt;
	return 0;
}

/* smtpauth: "host user password"; only when nobody else may read it. */
static int
load_auth(struct remote_cfg *c, const char *dir, const char *host,
    const char **why)
{
	char		*data = NULL, line[CFG_LINE_MAX], *u, *pw;
	const char	*pos;
	size_t		 len;
	int		 r;

	r = cfg_read_file(dir, "smtpauth", CFG_FILE_MAX, true, &data, &len);
	if (r != 1) {
		*why = "smtpauth";
		return r;
	}
	pos = data;
	while (next_line(&pos, line, sizeof(line))) {
		u = line + strcspn(line, " \t");
		if (*u == '\0')
			continue;
		*u++ = '\0';
		u += strspn(u, " \t");
		pw = u + strcspn(u, " \t");
		if (*pw == '\0')
			continue;
		*pw++ = '\0';
		pw += strspn(pw, " \t");
		if (strcasecmp(line, host) != 0)
			continue;
		if (strlcpy(c->auth_user, u, sizeof(c->auth_user)) >=
		    sizeof(c->auth_user) || strlcpy(c->auth_pass, pw,
		    sizeof(c->auth_pass)) >= sizeof(c->auth_pass))
			break;
		c->auth = true;
		break;
	}
	explicit_bzero(line, sizeof(line));
	explicit_bzero(data, len);
	free(data);
	return 0;
}

/* Refuse an smtpauth file that group or others may read. */
static int
auth_mode_ok(const char *dir, const char **why)
{
	char		path[4096];
	struct stat	st;
	int		fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/smtpauth", dir) >=
	    sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1 || (st.st_mode & 077) != 0 ||
	    st.st_uid != geteuid()) {
		close(fd);
		*why = "smtpauth may be read by others (or is not ours): "
		    "not used";
		return -1;
	}
	close(fd);
	return 0;
}

static int
load_route(struct remote *r, const char *dir, const char **why)
{
	struct remote_cfg	*c = &r->cfg;
	char			*text = NULL, host[REMOTE_HOST_MAX + 1];
	size_t			 len;
	int			 n, port;
	bool			 lit;

	n = cfg_read_file(dir, "smtproutes", CFG_FILE_MAX, false, &text, &len);
	if (n == -1) {
		*why = "smtproutes";
		return -1;
	}
	c->route[0] = '\0';
	if (n == 1)
		n = remote_route_find(text, r->domain, c->route,
		    sizeof(c->route), &c->route_insecure, why);
	free(text);
	if (n == -1)
		return -1;
	if (c->route[0] == '\0')
		return 0;
	if (remote_hostport(c->route, c->port, host, sizeof(host), &port,
	    &lit) == -1) {
		*why = "smtproutes: bad host";
		return -1;
	}
	if (auth_mode_ok(dir, why) == -1)
		return -1;
	return load_auth(c, dir, host, why) == -1 ? -1 : 0;
}

static int
load_policy(struct remote *r, const char *dir, const char **why)
{
	char	*text = NULL;
	size_t	 len;
	int	 n;

	r->cfg.tls = RTLS_MAY;
	n = cfg_read_file(dir, "tlspolicy", CFG_FILE_MAX, false, &text, &len);
	if (n == -1) {
		*why = "tlspolicy";
		return -1;
	}
	if (n == 1)
		n = remote_tlspolicy_find(text, r->domain, &r->cfg.tls, why);
	free(text);
	if (n == -1)
		return -1;
	r->cfg.tls_explicit = n == 1;
	return 0;
}

int
remote_cfg_load(struct remote *r, const char *dir, const char **why)
{
	struct remote_cfg	*c = &r->cfg;
	long long		 v;
	int			 n;

	n = cfg_get_str(dir, "me", c->me, sizeof(c->me));
	if (n == -1 || (n == 0 && gethostname(c->me, sizeof(c->me)) == -1))
		return *why = "me", -1;
	n = cfg_get_str(dir, "helohost", c->helo, sizeof(c->helo));
	if (n == -1)
		return *why = "helohost", -1;
	if (n == 0)
		strlcpy(c->helo, c->me, sizeof(c->helo));
	if (get_num(dir, "remotemaxaddrs", 1, REMOTE_ADDRS_MAX,
	    REMOTE_ADDRS_DEFAULT, &c->maxaddrs, why) == -1 ||
	    get_num(dir, "remoteport", 1, 65535, REMOTE_PORT, &v, why) == -1)
		return -1;
	c->port = (int)v;
	if (get_num(dir, "remotetimeoutconnect", 1, 3600, REMOTE_TO_CONNECT,
	    &v, why) == -1)
		return -1;
	c->to_connect = (int)v;
	if (get_num(dir, "remotetimeoutgreeting", 1, 3600,
	    REMOTE_TO_GREETING, &v, why) == -1)
		return -1;
	c->to_greeting = (int)v;
	if (get_num(dir, "remotetimeout", 1, 3600, 3600, &v, why) == -1)
		return -1;
	c->to_cap = (int)v;
	if (load_policy(r, dir, why) == -1)
		return -1;
	return load_route(r, dir, why);
}
