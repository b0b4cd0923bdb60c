/* tls_cfg: tern-tlsd's command line and certificate file names. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls.h"

static int tls_err(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
tls_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errsz, fmt, ap);	/* a cut message is fine */
	va_end(ap);
	return -1;
}

/* The '+' stops at the program: its options are its own. */
int
tls_cfg_parse(struct tls_cfg *cfg, int argc, char **argv, char *err,
    size_t errsz)
{
	const char *es;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	optind = 0;
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:st:u:U:")) != -1) {
		switch (c) {
		case 'c':
			cfg->certdir = optarg;
			break;
		case 's':
			cfg->starttls = true;
			break;
		case 't':
			cfg->idle_s = strtonum(optarg, 1, TLS_IDLE_MAX, &es);
			if (es != NULL)
				return tls_err(err, errsz, "-t %.32s: %s "
				    "(1 to %d)", optarg, es, TLS_IDLE_MAX);
			break;
		case 'u':
			cfg->prog_user = optarg;
			break;
		case 'U':
			cfg->relay_user = optarg;
			break;
		default:
			return tls_err(err, errsz, "bad option -%c",
			    optopt > 0x20 && optopt < 0x7f ? optopt : '?');
		}
	}
	if (optind >= argc)
		return tls_err(err, errsz, "usage: tern-tlsd [-s] "
		    "[-c certdir] [-t idle] [-U relayuser] [-u proguser] "
		    "program [arg ...]");
	cfg->argv = argv + optind;
	return 0;
}

/* A host name: LDH labels of 1 to 63 bytes joined by '.'. */
static bool
tls_host_valid(const char *s)
{
	size_t label = 0, len = strlen(s);

	if (len == 0 || len > 253)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-' ||
		    *s == '_') {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return label != 0;
}

enum tls_file_kind
tls_file_name(const char *fname, char *name, size_t namesz)
{
	static const struct {
		const char *sfx;
		enum tls_file_kind kind;
	} sfx[] = {
		{ ".pem", TLS_FILE_PEM }, { ".crt", TLS_FILE_CRT },
		{ ".key", TLS_FILE_KEY },
	};
	size_t i, len = strlen(fname), n;
	const char *host;

	name[0] = '\0';
	if (fname[0] == '.' || len <= 4)
		return TLS_FILE_OTHER;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (strcmp(fname + len - 4, sfx[i].sfx) != 0)
			continue;
		n = len - 4;
		if (n >= namesz || n >= TLS_NAME_MAX)
			return TLS_FILE_OTHER;
		memcpy(name, fname, n);
		name[n] = '\0';
		for (n = 0; name[n] != '\0'; n++)
			name[n] = (char)tolower((unsigned char)name[n]);
		host = strncmp(name, "*.", 2) == 0 ? name + 2 : name;
		if (tls_host_valid(host))
			return sfx[i].kind;
		name[0] = '\0';
		return TLS_FILE_OTHER;
	}
	return TLS_FILE_OTHER;
}
