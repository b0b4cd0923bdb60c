/* send_spool: tern-send's view of the spool directories. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "send.h"

int
send_path(char *out, size_t outsz, const char *spool, const char *dir,
    const char *name)
{
	int n;

	if (name == NULL)
		n = snprintf(out, outsz, "%s/%s", spool, dir);
	else
		n = snprintf(out, outsz, "%s/%s/%s", spool, dir, name);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
send_spool_setup(const char *spool)
{
	static const char *const dirs[] = { SPOOL_TMP, SPOOL_MESS, SPOOL_ENV,
	    SPOOL_HOLD, SPOOL_BOUNCE, SPOOL_QUAR };
	char p[PATH_MAX];
	struct stat sb;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (send_path(p, sizeof(p), spool, dirs[i], NULL) == -1 ||
		    (mkdir(p, 0700) == -1 && errno != EEXIST)) {
			log_warn("unable to create %s/%s", spool, dirs[i]);
			return -1;
		}
	}
	if (send_path(p, sizeof(p), spool, SPOOL_TRIGGER, NULL) == -1)
		return -1;
	if (mkfifo(p, 0622) == 0) {
		/* mkfifo honours the umask; tern-queue needs to write it. */
		if (chmod(p, 0622) == -1) {
			log_warn("unable to chmod %s", p);
			return -1;
		}
	} else if (errno != EEXIST) {
		log_warn("unable to create %s", p);
		return -1;
	}
	if (lstat(p, &sb) == -1 || !S_ISFIFO(sb.st_mode)) {
		log_warnx("%s is not a fifo", p);
		return -1;
	}
	return 0;
}

/* True when name has an envelope in env/ or hold/ (or we cannot tell). */
static bool
has_envelope(const char *spool, const char *name)
{
	char p[PATH_MAX];
	struct stat sb;

	if (send_path(p, sizeof(p), spool, SPOOL_ENV, name) == -1 ||
	    lstat(p, &sb) == 0 || errno != ENOENT)
		return true;
	if (send_path(p, sizeof(p), spool, SPOOL_HOLD, name) == -1 ||
	    lstat(p, &sb) == 0 || errno != ENOENT)
		return true;
	return false;
}

static void
clean_dir(const char *spool, const char *dir, bool orphans, time_t now)
{
	char d[PATH_MAX], p[PATH_MAX], ename[NAME_MAX * 4 + 1];
	struct dirent *de;
	struct stat sb;
	DIR *dp;

	if (send_path(d, sizeof(d), spool, dir, NULL) == -1 ||
	    (dp = opendir(d)) == NULL) {
		log_warn("unable to read %s/%s", spool, dir);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (send_path(p, sizeof(p), spool, dir, de->d_name) == -1 ||
		    lstat(p, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		if (now - sb.st_mtime <= SEND_OLD_AGE)
			continue;
		if (orphans && has_envelope(spool, de->d_name))
			continue;
		(void)log_esc(ename, sizeof(ename), de->d_name,
		    strlen(de->d_name));
		if (unlink(p) == -1)
			log_warn("unable to remove %s/%s", dir, ename);
		else
			log_info("%s removed from %s/: older than 36 hours",
			    ename, dir);
	}
	(void)closedir(dp);
}

void
send_spool_clean(const char *spool, time_t now)
{
	clean_dir(spool, SPOOL_TMP, false, now);
	clean_dir(spool, SPOOL_MESS, true, now);
	clean_dir(spool, SPOOL_BOUNCE, true, now);
}

/* Rename spool/dir/name to quarantine/name<suffix>; ENOENT is fine. */
static void
quarantine_one(const char *spool, const char *dir, const char *name,
    const char *suffix)
{
	char from[PATH_MAX], to[PATH_MAX], qname[NAME_MAX + 1];

	if (snprintf(qname, sizeof(qname), "%s%s", name, suffix) >=
	    (int)sizeof(qname) ||
	    send_path(from, sizeof(from), spool, dir, name) == -1 ||
	    send_path(to, sizeof(to), spool, SPOOL_QUAR, qname) == -1) {
		log_warnx("%s cannot be quarantined: name too long", name);
		return;
	}
	if (rename(from, to) == -1 && errno != ENOENT)
		log_warn("unable to move %s to %s", from, to);
}

void
send_quarantine(struct send_state *st, const char *name, const char *why)
{
	char ename[NAME_MAX * 4 + 1];

	(void)log_esc(ename, sizeof(ename), name, strlen(name));
	log_warnx("%s quarantined: %s", ename, why);
	quarantine_one(st->spool, SPOOL_ENV, name, ".e");
	/* A bad name is not a queue id: no message file belongs to it. */
	if (!qid_valid(name))
		return;
	quarantine_one(st->spool, SPOOL_MESS, name, ".m");
	quarantine_one(st->spool, SPOOL_BOUNCE, name, ".b");
}

static void
rescan_one(struct send_state *st, const char *name, time_t now)
{
	struct send_msg *m;

	if (!qid_valid(name)) {
		send_quarantine(st, name, "not a queue id");
		return;
	}
	m = send_msg_find(st, name);
	if (m != NULL) {
		m->gen = st->gen;
		return;
	}
	if (send_msg_add(st, name, now) == NULL)
		log_warnx("%s not scheduled: out of memory", name);
}

/* Forget idle messages the last scan did not see (held, deleted). */
static void
rescan_sweep(struct send_state *st)
{
	struct send_msg *m, *next;
	size_t i;

	for (i = 0; i < st->hsize; i++)
		for (m = st->htab[i]; m != NULL; m = next) {
			next = m->hnext;
			if (m->gen != st->gen && !send_msg_busy(m))
				send_msg_drop(st, m);
		}
}

void
send_rescan(struct send_state *st, time_t now)
{
	char d[PATH_MAX];
	struct dirent *de;
	DIR *dp;

	if (send_path(d, sizeof(d), st->spool, SPOOL_ENV, NULL) == -1 ||
	    (dp = opendir(d)) == NULL) {
		log_warn("unable to read %s/%s", st->spool, SPOOL_ENV);
		return;
	}
	st->gen++;
	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL)
			break;
		if (de->d_name[0] != '.')
			rescan_one(st, de->d_name, now);
	}
	if (errno != 0) {
		/* A partial listing must not make anyone look deleted. */
		log_warn("unable to read %s", d);
		(void)closedir(dp);
		return;
	}
	(void)closedir(dp);
	rescan_sweep(st);
}
