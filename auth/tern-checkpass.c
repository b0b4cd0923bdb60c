/* tern-checkpass: checkpassword against the tern passwd table. */
#include <sys/auxv.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "checkpass.h"
#include "log.h"
#include "paths.h"
#include "priv.h"

/*
 * A local user running the set-group-ID program (no root, not the
 * smtpd user)?  Its checks are slowed down: see cp_slow_caller.
 */
static bool
slow_caller(void)
{
	uid_t	uid;
	gid_t	gid;
	bool	setid = getauxval(AT_SECURE) != 0;

	if (!setid || getuid() == 0)
		return false;
	/* set-ID: paths_smtpd_user() is the compiled-in name */
	if (priv_user(paths_smtpd_user(), &uid, &gid) != 1)
		return cp_slow_caller(setid, getuid(), -1);
	return cp_slow_caller(setid, getuid(), (long long)uid);
}

/* Run with a login on fd 3: exec argv[1..] as the user, or exit 1/2/111. */
int
main(int argc, char **argv)
{
	struct cp_cred	 c;
	struct vuser	 v;
	char		 buf[CP_INPUT_MAX + 1], strs[CP_ENTRY_MAX];
	char		 esc[300];
	const char	*why = "";
	size_t		 len;
	int		 rv;
	bool		 slow;

	/* a TCP stderr (inetd's connection) makes lib/log use syslog */
	log_init("tern-checkpass", false);
	if (argc < 2) {
		log_fatalx("usage: tern-checkpass prog [args ...] 3< login");
		return CP_EXIT_MISUSE;
	}
	if (cp_read_input(3, buf, &len) == -1) {
		log_fatal("unable to read fd 3");
		explicit_bzero(buf, sizeof(buf));
		return errno == EBADF || errno == ETIMEDOUT ? CP_EXIT_MISUSE :
		    CP_EXIT_TEMP;
	}
	(void)close(3);
	if (cp_parse(buf, len, &c, &why) == -1) {
		explicit_bzero(buf, sizeof(buf));
		log_fatalx("malformed fd 3 data: %s", why);
		return CP_EXIT_MISUSE;
	}
	log_esc(esc, sizeof(esc), c.user, strlen(c.user));
	slow = slow_caller();
	rv = cp_check(paths_control(), &c, &v, strs, sizeof(strs), &why);
	explicit_bzero(buf, sizeof(buf));
	/*
	 * Whatever the outcome: the caller may kill us or watch its own
	 * prog start, so a delay on failure alone would tell it nothing
	 * it has to wait for.
	 */
	if (slow)
		cp_slow_wait();
	if (rv != 0) {
		explicit_bzero(strs, sizeof(strs));
		if (rv == CP_EXIT_TEMP)
			log_fatal("user=\"%s\" %s", esc, why);
		else if (slow)
			log_warnx("login failed user=\"%s\": %s: failed check "
			    "by uid %lu", esc, why, (unsigned long)getuid());
		else
			log_warnx("login failed user=\"%s\": %s", esc, why);
		return rv;
	}
	explicit_bzero((char *)v.hash, strlen(v.hash));
	if (cp_become(&v, &why) == -1) {
		log_fatal("user=\"%s\" %s", esc, why);
		return CP_EXIT_TEMP;
	}
	log_info("login ok user=\"%s\" uid=%lu", esc, (unsigned long)v.uid);
	execvp(argv[1], argv + 1);
	log_fatal("unable to run %s", argv[1]);
	return CP_EXIT_TEMP;
}
