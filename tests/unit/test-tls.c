/* test-tls: tern-tlsd's options, certificate file names and SNI choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../ucspi/tls.h"
#include "tap.h"

#define ARGV_MAX	16

static int
split(char *line, char **argv)
{
	int argc = 0;
	char *p = line, *sp;

	while (p != NULL && *p != '\0' && argc < ARGV_MAX - 1) {
		argv[argc++] = p;
		if ((sp = strchr(p, ' ')) != NULL)
			*sp++ = '\0';
		p = sp;
	}
	argv[argc] = NULL;
	return argc;
}

static const struct {
	const char	*line;
	int		 ok;
	bool		 starttls;
	const char	*certdir, *ruser, *puser, *prog;
	long long	 idle;
	const char	*name;
} cfg_cases[] = {
	{ "tern-tlsd prog", 1, false, NULL, NULL, NULL, "prog", 0,
	  "no options: implicit mode, defaults" },
	{ "tern-tlsd -s -c /x -U tls -u smtp prog -s -c y", 1, true, "/x",
	  "tls", "smtp", "prog", 0,
	  "options stop at the program; its -s -c are its own" },
	{ "tern-tlsd -t 86400 prog", 1, false, NULL, NULL, NULL, "prog",
	  86400, "-t at its maximum" },
	{ "tern-tlsd -t 86401 prog", 0, false, NULL, NULL, NULL, NULL, 0,
	  "-t over the maximum is refused" },
	{ "tern-tlsd -t 0 prog", 0, false, NULL, NULL, NULL, NULL, 0,
	  "-t 0 is refused" },
	{ "tern-tlsd -t x prog", 0, false, NULL, NULL, NULL, NULL, 0,
	  "-t garbage is refused" },
	{ "tern-tlsd -s", 0, false, NULL, NULL, NULL, NULL, 0,
	  "no program is a usage error" },
	{ "tern-tlsd -z prog", 0, false, NULL, NULL, NULL, NULL, 0,
	  "an unknown option is refused" },
	{ "tern-tlsd -c", 0, false, NULL, NULL, NULL, NULL, 0,
	  "-c without its argument is refused" },
};

static void
test_cfg(void)
{
	char line[256], *argv[ARGV_MAX], err[TLS_ERR_MAX];
	struct tls_cfg cfg;
	size_t i;
	int argc, r;

	for (i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++) {
		(void)strlcpy(line, cfg_cases[i].line, sizeof(line));
		argc = split(line, argv);
		err[0] = '\0';
		r = tls_cfg_parse(&cfg, argc, argv, err, sizeof(err));
		if (!tap_ok((r == 0) == (cfg_cases[i].ok == 1), "cfg: %s",
		    cfg_cases[i].name)) {
			tap_diag("err: %s", err);
			continue;
		}
		if (r != 0) {
			tap_ok(err[0] != '\0', "cfg: %s: message given",
			    cfg_cases[i].name);
			continue;
		}
		tap_ok(cfg.starttls == cfg_cases[i].starttls &&
		    cfg.idle_s == cfg_cases[i].idle &&
		    (cfg.certdir == NULL) == (cfg_cases[i].certdir == NULL) &&
		    (cfg.relay_user == NULL) == (cfg_cases[i].ruser == NULL) &&
		    (cfg.prog_user == NULL) == (cfg_cases[i].puser == NULL) &&
		    strcmp(cfg.argv[0], cfg_cases[i].prog) == 0,
		    "cfg: %s: values", cfg_cases[i].name);
	}
}

static const struct {
	const char		*fname;
	enum tls_file_kind	 kind;
	const char		*name;
} file_cases[] = {
	{ "default.pem", TLS_FILE_PEM, "default" },
	{ "default.crt", TLS_FILE_CRT, "default" },
	{ "default.key", TLS_FILE_KEY, "default" },
	{ "Mail.Example.ORG.pem", TLS_FILE_PEM, "mail.example.org" },
	{ "*.example.org.pem", TLS_FILE_PEM, "*.example.org" },
	{ "*.pem", TLS_FILE_OTHER, "" },
	{ "*example.org.pem", TLS_FILE_OTHER, "" },
	{ "a.*.org.pem", TLS_FILE_OTHER, "" },
	{ ".pem", TLS_FILE_OTHER, "" },
	{ ".hidden.pem", TLS_FILE_OTHER, "" },
	{ "x..y.pem", TLS_FILE_OTHER, "" },
	{ "x.y..pem", TLS_FILE_OTHER, "" },
	{ "a b.pem", TLS_FILE_OTHER, "" },
	{ "README", TLS_FILE_OTHER, "" },
	{ "default.pem~", TLS_FILE_OTHER, "" },
	{ "default.csr", TLS_FILE_OTHER, "" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  ".pem", TLS_FILE_PEM,
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  ".pem", TLS_FILE_OTHER, "" },
};

static void
test_file_names(void)
{
	char name[TLS_NAME_MAX], long_name[400];
	enum tls_file_kind k;
	size_t i;

	for (i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		k = tls_file_name(file_cases[i].fname, name, sizeof(name));
		tap_ok(k == file_cases[i].kind &&
		    strcmp(name, file_cases[i].name) == 0,
		    "file name %.40s: kind %d name \"%s\"",
		    file_cases[i].fname, (int)file_cases[i].kind,
		    file_cases[i].name);
	}
	/* 5 labels of 50 + dots = 254 bytes: over the 253 of a host name. */
	memset(long_name, 0, sizeof(long_name));
	for (i = 0; i < 5; i++) {
		memset(long_name + i * 51, 'a', 50);
		long_name[i * 51 + 50] = i < 4 ? '.' : '\0';
	}
	(void)strlcat(long_name, ".pem", sizeof(long_name));
	tap_ok(tls_file_name(long_name, name, sizeof(name)) ==
	    TLS_FILE_OTHER, "file name: a 254-byte host name is refused");
	long_name[250] = '\0';
	(void)strlcat(long_name, ".pem", sizeof(long_name));
	tap_ok(tls_file_name(long_name, name, sizeof(name)) == TLS_FILE_PEM,
	    "file name: a 250-byte host name is fine");
	tap_ok(tls_file_name("default.pem", name, 4) == TLS_FILE_OTHER,
	    "file name: a name that does not fit the buffer is refused");
}

static struct tls_cert certs[] = {
	{ "*.example.org", NULL }, { "default", NULL },
	{ "mail.example.org", NULL }, { "other.test", NULL },
};

static const struct {
	const char	*sni;
	long		 with_default, without;
	const char	*name;
} pick_cases[] = {
	{ "mail.example.org", 2, 2, "exact name" },
	{ "MAIL.Example.org", 2, 2, "exact name, any case" },
	{ "mx.example.org", 0, 0, "wildcard for one label" },
	{ "a.mx.example.org", 1, -1, "wildcard does not cover two labels" },
	{ "example.org", 1, -1, "wildcard does not cover the parent" },
	{ "other.test", 3, 3, "another exact name" },
	{ "unknown.test", 1, -1, "unknown: fallback" },
	{ NULL, 1, -1, "no SNI: fallback" },
	{ "", 1, -1, "empty SNI: fallback" },
	{ ".example.org", 1, -1, "empty first label: no wildcard" },
	{ "default", 1, 1, "\"default\" asked by name" },
};

static void
test_pick(void)
{
	struct tls_store st;
	size_t i;

	memset(&st, 0, sizeof(st));
	st.v = certs;
	st.n = sizeof(certs) / sizeof(certs[0]);
	for (i = 0; i < sizeof(pick_cases) / sizeof(pick_cases[0]); i++) {
		st.fallback = 1;
		tap_is_int(tls_store_pick(&st, pick_cases[i].sni),
		    pick_cases[i].with_default, "pick: %s", pick_cases[i].name);
		st.fallback = -1;
		tap_is_int(tls_store_pick(&st, pick_cases[i].sni),
		    pick_cases[i].without, "pick without fallback: %s",
		    pick_cases[i].name);
	}
}

static void
test_store_errors(void)
{
	char err[TLS_ERR_MAX + 4096];
	struct tls_store st;

	tap_ok(tls_store_load(&st, "/nonexistent/tern-tls", err,
	    sizeof(err)) == -1 && strstr(err, "/nonexistent") != NULL,
	    "store: a missing directory is an error naming it");
	tap_ok(st.n == 0 && st.v == NULL, "store: nothing held after it");
}

/* Files named in a fresh directory; the store must refuse them. */
static const struct {
	const char	*files;		/* space-separated */
	const char	*want;		/* in the message */
	const char	*name;
} dir_cases[] = {
	{ "", "no certificates", "an empty directory" },
	{ "README notes.txt .x.pem", "no certificates",
	  "only files that are not ours" },
	{ "a.example.crt", ".crt without .key", "a .crt alone" },
	{ "a.example.key", ".key without .crt", "a .key alone" },
	{ "a.example.pem a.example.crt a.example.key", "both",
	  ".pem and .crt/.key for one name" },
	{ "default.pem", "default", "a .pem that is no certificate" },
};

static void
test_store_dirs(void)
{
	char dir[] = "/tmp/test-tls.XXXXXX", path[512], list[256];
	char err[TLS_ERR_MAX + 4096], *f, *sp;
	struct tls_store st;
	size_t i;
	FILE *fp;

	if (mkdtemp(dir) == NULL) {
		tap_ok(false, "store: mkdtemp");
		return;
	}
	for (i = 0; i < sizeof(dir_cases) / sizeof(dir_cases[0]); i++) {
		(void)strlcpy(list, dir_cases[i].files, sizeof(list));
		for (f = list; f != NULL && *f != '\0'; f = sp) {
			if ((sp = strchr(f, ' ')) != NULL)
				*sp++ = '\0';
			(void)snprintf(path, sizeof(path), "%s/%s", dir, f);
			if ((fp = fopen(path, "w")) != NULL) {
				fputs("not a certificate\n", fp);
				fclose(fp);
			}
		}
		err[0] = '\0';
		tap_ok(tls_store_load(&st, dir, err, sizeof(err)) == -1 &&
		    strstr(err, dir_cases[i].want) != NULL,
		    "store: %s is refused", dir_cases[i].name);
		if (strstr(err, dir_cases[i].want) == NULL)
			tap_diag("err: %s", err);
		(void)strlcpy(list, dir_cases[i].files, sizeof(list));
		for (f = list; f != NULL && *f != '\0'; f = sp) {
			if ((sp = strchr(f, ' ')) != NULL)
				*sp++ = '\0';
			(void)snprintf(path, sizeof(path), "%s/%s", dir, f);
			unlink(path);
		}
	}
	rmdir(dir);
}

int
main(void)
{
	test_cfg();
	test_file_names();
	test_pick();
	test_store_errors();
	test_store_dirs();
	return tap_done();
}
