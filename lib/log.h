/* log: one event per line on stderr (or syslog), one write(2) each. */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define LOG_LINE_MAX	2048	/* longer lines end in "..." */

/* Set to "syslog" by a parent that logs to syslog for its children. */
#define LOG_ENV		"TERN_LOG"

/*
 * Program name for the prefix; use_syslog sends lines to syslog(3), and
 * so do a stderr that is a TCP socket (inetd: it is the client) and
 * TERN_LOG=syslog in the environment, even when use_syslog is false.
 */
void	log_init(const char *prog, bool use_syslog);
/* True when lines go to syslog. */
bool	log_is_syslog(void);

/*
 * "prog: info: ...", "prog: warning: ...", "prog: fatal: ...".
 * log_warn and log_fatal append ": " and strerror(errno) of the errno at
 * entry; the x variants do not.  None of them exits: the caller does.
 * Never changes errno.
 */
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * Escape untrusted text for a log line: bytes < 0x20, 0x7f, '\\' and
 * '"' become \xHH / \\ / \" (so text="..." quoting is safe); bytes
 * >= 0x80 are kept (UTF-8).
 * Writes at most dstsz - 1 bytes plus NUL, ending in "..." when cut.
 * Returns dst.
 */
char	*log_esc(char *dst, size_t dstsz, const char *src, size_t srclen);

#endif
