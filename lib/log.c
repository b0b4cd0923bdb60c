/* log: one event per line on stderr (or syslog), one write(2) each. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

#define LOG_PROG_MAX	64

static char	log_prog[LOG_PROG_MAX] = "tern";
static bool	log_syslog;

/*
 * Is stderr a TCP connection?  Under inetd (and below tern-tlsd or
 * tern-smtpd started by inetd) fd 2 is the client's socket: a log line
 * written there would reach the peer, so such a stderr is never used.
 */
static bool
log_stderr_is_inet(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct stat st;

	if (fstat(STDERR_FILENO, &st) == -1 || !S_ISSOCK(st.st_mode))
		return false;
	if (getsockname(STDERR_FILENO, (struct sockaddr *)&ss, &len) == -1)
		return false;
	return ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
}

void
log_init(const char *prog, bool use_syslog)
{
	if (!use_syslog && (log_stderr_is_inet() ||
	    (getenv(LOG_ENV) != NULL && strcmp(getenv(LOG_ENV), "syslog") == 0)))
		use_syslog = true;
	if (prog != NULL && *prog != '\0')
		strlcpy(log_prog, prog, sizeof(log_prog));
	if (use_syslog && !log_syslog)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
	else if (!use_syslog && log_syslog)
		closelog();
	log_syslog = use_syslog;
}

bool
log_is_syslog(void)
{
	return log_syslog;
}

/*
 * Format the text, append ": strerror(err)" when err != 0, mark a cut
 * line with "...", and keep CR/LF out so one event stays one line.
 */
static void log_emit(int, const char *, int, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

static void
log_emit(int pri, const char *level, int err, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX + 2];
	size_t off, n, i;
	int r;

	r = snprintf(line, sizeof(line) - 1, "%s: %s: ", log_prog, level);
	off = r < 0 ? 0 : (size_t)r;
	if (off > LOG_LINE_MAX)
		off = LOG_LINE_MAX;
	n = off;
	r = vsnprintf(line + off, LOG_LINE_MAX + 1 - off, fmt, ap);
	if (r > 0)
		n += (size_t)r;
	if (err != 0 && n <= LOG_LINE_MAX) {
		r = snprintf(line + n, LOG_LINE_MAX + 1 - n, ": %s",
		    strerror(err));
		if (r > 0)
			n += (size_t)r;
	}
	if (n > LOG_LINE_MAX) {
		n = LOG_LINE_MAX;
		memcpy(line + n - 3, "...", 3);
	}
	for (i = off; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r' || line[i] == '\0')
			line[i] = '?';
	if (log_syslog) {
		line[n] = '\0';
		syslog(pri, "%s", line + strlen(log_prog) + 2);
		return;
	}
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) == -1 && errno == EINTR)
		;
}

#define LOG_FN(name, pri, level, witherr)				\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
	int saved = errno;						\
									\
	va_start(ap, fmt);						\
	log_emit(pri, level, (witherr) ? saved : 0, fmt, ap);		\
	va_end(ap);							\
	errno = saved;							\
}

LOG_FN(log_info, LOG_INFO, "info", 0)
LOG_FN(log_warn, LOG_WARNING, "warning", 1)
LOG_FN(log_warnx, LOG_WARNING, "warning", 0)
LOG_FN(log_fatal, LOG_ERR, "fatal", 1)
LOG_FN(log_fatalx, LOG_ERR, "fatal", 0)

/*
 * '<' and '>' too: callers bracket untrusted values (from=<...>), and a
 * value must not close its bracket and forge fields after it.
 */
static bool
log_esc_hex(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '<' || c == '>';
}

static size_t
log_esc_len(unsigned char c, bool quote)
{
	if (log_esc_hex(c))
		return 4;
	if (c == '\\' || (quote && c == '"'))
		return 2;
	return 1;
}

static void
log_esc_put(char *dst, unsigned char c, bool quote)
{
	static const char hex[] = "0123456789abcdef";

	if (log_esc_hex(c)) {
		dst[0] = '\\';
		dst[1] = 'x';
		dst[2] = hex[c >> 4];
		dst[3] = hex[c & 0xf];
	} else if (c == '\\' || (quote && c == '"')) {
		dst[0] = '\\';
		dst[1] = (char)c;
	} else
		dst[0] = (char)c;
}

/*
 * '"' is always escaped: log lines quote untrusted text as text="...".
 * When the result does not fit, stop early enough for "..." and never in
 * the middle of an escape or of a UTF-8 sequence.
 */
char *
log_esc(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i, need, out, limit;

	if (dstsz == 0)
		return dst;
	need = 0;
	for (i = 0; i < srclen; i++)
		need += log_esc_len(s[i], true);
	limit = need < dstsz ? need : (dstsz - 1 >= 3 ? dstsz - 1 - 3 : 0);
	out = 0;
	for (i = 0; i < srclen; i++) {
		if (out + log_esc_len(s[i], true) > limit)
			break;
		log_esc_put(dst + out, s[i], true);
		out += log_esc_len(s[i], true);
	}
	if (i < srclen) {
		/* Back off a cut UTF-8 sequence (lead byte included). */
		if ((s[i] & 0xc0) == 0x80) {
			while (i > 0 && (s[i - 1] & 0xc0) == 0x80 && out > 0) {
				i--;
				out--;
			}
			if (i > 0 && s[i - 1] >= 0xc0 && out > 0)
				out--;
		}
		for (need = 0; need < 3 && out < dstsz - 1; need++)
			dst[out++] = '.';
	}
	dst[out] = '\0';
	return dst;
}
