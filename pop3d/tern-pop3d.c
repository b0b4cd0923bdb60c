/*
 * tern-pop3d: the POP3 TRANSACTION state on a Maildir, run as the
 * mailbox owner by a checkpassword program.  tern-pop3d(8).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "io.h"
#include "log.h"
#include "mbox.h"
#include "paths.h"
#include "pop3.h"
#include "replies.h"
#include "ucspi.h"

#define POP3D_EXIT_REFUSED	100

static void __attribute__((noreturn))
say_and_exit(const char *reply, int code)
{
	char b[256];
	int n;

	n = snprintf(b, sizeof(b), "%s\r\n", reply);
	if (n > 0 && (size_t)n < sizeof(b))
		(void)io_write_deadline(1, b, (size_t)n,
		    line_deadline(POP3_WRITE_S * 1000LL));
	exit(code);
}

/* Input the login front read after the credentials (TERN_POP3_INPUT). */
static size_t
pending_input(char *buf, size_t bufsz)
{
	const char *v = getenv(POP3_INPUT_ENV), *err = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	if (v == NULL)
		return 0;
	fd = (int)strtonum(v, 3, INT_MAX, &err);
	unsetenv(POP3_INPUT_ENV);
	if (err != NULL)
		return 0;
	while (len < bufsz && (r = io_read(fd, buf + len, bufsz - len)) > 0)
		len += (size_t)r;
	(void)close(fd);
	return len;
}

/* Never root, never a system account (control pop3minuid). */
static void
check_uid(void)
{
	long long min = POP3_MINUID_DEF;
	uid_t uid = getuid();

	if (uid == 0 || geteuid() == 0) {
		log_fatalx("refusing to serve a mailbox as root");
		say_and_exit("-ERR [SYS/PERM] refusing to serve a mailbox "
		    "as root", POP3D_EXIT_REFUSED);
	}
	if (cfg_get_num(paths_control(), "pop3minuid", 0, UINT32_MAX,
	    &min) == -1)
		log_warn("control/pop3minuid (using %d)", POP3_MINUID_DEF);
	if ((long long)uid < min) {
		log_fatalx("refusing uid %lu: below pop3minuid %lld",
		    (unsigned long)uid, min);
		say_and_exit("-ERR [SYS/PERM] refusing to serve a system "
		    "account", POP3D_EXIT_REFUSED);
	}
}

/* Seconds without a command before autologout (control pop3timeout). */
static unsigned
idle_timeout(void)
{
	long long v;
	int r;

	r = cfg_get_num(paths_control(), "pop3timeout", 1, POP3_IDLE_MAX, &v);
	if (r == -1)
		log_warn("control/pop3timeout (using %d)", POP3_IDLE_S);
	return r == 1 ? (unsigned)v : POP3_IDLE_S;
}

/* $MAILDIR, else the argument (relative to $HOME), else ~/Maildir. */
static void
maildir_path(char *out, size_t outsz, const char *arg)
{
	const char *md = getenv("MAILDIR"), *home = getenv("HOME");
	int n;

	if (md != NULL && md[0] != '\0')
		n = snprintf(out, outsz, "%s", md);
	else if (arg != NULL && arg[0] == '/')
		n = snprintf(out, outsz, "%s", arg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, outsz, "%s/%s", home, arg ? arg : "Maildir");
	else
		n = -1;
	if (n < 0 || (size_t)n >= outsz) {
		log_fatalx("no Maildir: set MAILDIR or HOME");
		say_and_exit(P_ERR_MAILBOX, 0);
	}
	/* the lock goes inside: no trailing slash */
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
}

static void
serve(struct mbox *m, const char *path, const char *user, const char *ip)
{
	static char pending[POP3_PENDING_MAX];
	size_t pendlen = pending_input(pending, sizeof(pending));
	struct pop3d s;

	if (pop3d_init(&s, &mbox_ops, m, 0, m->scan.n, pending, pendlen) ==
	    -1) {
		log_fatal("unable to start the session");
		say_and_exit(P_ERR_MAILBOX, 0);
	}
	s.idle_s = idle_timeout();
	log_info("session start user=%s ip=%s messages=%zu", user, ip,
	    m->scan.n);
	pop3d_run(&s);
	log_info("session end user=%s ip=%s retr=%u dele=%u bytes=%llu%s",
	    user, ip, s.nretr, s.ndele, (unsigned long long)s.bytes_out,
	    s.quit ? (s.update_failed ? " (update failed)" : "") :
	    " (no QUIT: nothing deleted)");
	(void)path;
	pop3d_free(&s);
}

int
main(int argc, char **argv)
{
	struct ucspi_conn conn;
	struct mbox m;
	char path[PATH_MAX], user[POP3_USER_MAX * 4 + 1];
	const char *u = getenv("USER");
	int r;

	(void)ucspi_conn_get(&conn);
	log_init("tern-pop3d", conn.use_syslog);
	(void)signal(SIGPIPE, SIG_IGN);
	pop3_wire_setup(1);
	check_uid();
	maildir_path(path, sizeof(path), argc > 1 ? argv[1] : NULL);
	log_esc(user, sizeof(user), u ? u : "-", strlen(u ? u : "-"));
	memset(&m, 0, sizeof(m));
	if ((r = mbox_lock(path, m.lock, sizeof(m.lock))) != 1) {
		if (r == 0) {
			log_warnx("user=%s mailbox in use", user);
			say_and_exit(P_ERR_INUSE, 0);
		}
		log_warn("user=%s unable to lock %s", user, path);
		say_and_exit(P_ERR_MAILBOX, 0);
	}
	m.touched = time(NULL);
	if (mscan_open(&m.scan, path, true) == -1) {
		log_warn("user=%s unable to read %s", user, path);
		mbox_unlock(m.lock);
		say_and_exit(P_ERR_MAILBOX, 0);
	}
	serve(&m, path, user, conn.remote_ip[0] ? conn.remote_ip : "-");
	mbox_unlock(m.lock);
	mscan_free(&m.scan);
	return 0;
}
