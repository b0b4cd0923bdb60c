/* checkpass: the pure parts of tern-checkpass and tern-passwd. */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "checkpass.h"

/* crypt("tern-dummy-password") with tern-passwd's default yescrypt cost. */
const char cp_dummy_hash[] =
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$gHdX6xmsLGYBqUdCzlkJvz5LhO4GIC/XEpCVzVm0Y2A";

int
cp_parse(const char *buf, size_t len, struct cp_cred *out,
    const char **errstr)
{
	const char	*end, *p;

	if (len > CP_INPUT_MAX) {
		*errstr = "more than 512 bytes on fd 3";
		return -1;
	}
	end = buf + len;
	out->user = buf;
	if ((p = memchr(buf, '\0', len)) == NULL) {
		*errstr = "user not terminated";
		return -1;
	}
	out->pass = ++p;
	if ((p = memchr(p, '\0', end - p)) == NULL) {
		*errstr = "password not terminated";
		return -1;
	}
	out->stamp = ++p;
	/* An unterminated or absent timestamp is ignored: it is unused. */
	if (p == end || memchr(p, '\0', end - p) == NULL)
		out->stamp = "";
	return 0;
}

enum cp_hash
cp_hash_kind(const char *hash)
{
	if (hash[0] == '*' || hash[0] == '!')
		return CP_HASH_LOCKED;
	if (strncmp(hash, "$y$", 3) == 0)
		return CP_HASH_YESCRYPT;
	if (strncmp(hash, "$6$", 3) == 0)
		return CP_HASH_SHA512;
	return CP_HASH_WEAK;
}

bool
cp_hash_allowed(enum cp_hash kind)
{
	return kind == CP_HASH_YESCRYPT || kind == CP_HASH_SHA512;
}

int
cp_verify(const char *hash, const char *pass)
{
	struct crypt_data	*cd;
	const char		*setting, *got;
	bool			 real;
	size_t			 hlen;
	int			 rv = 0;

	real = hash != NULL && cp_hash_allowed(cp_hash_kind(hash));
	setting = real ? hash : cp_dummy_hash;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	got = crypt_r(pass, setting, cd);
	hlen = strlen(setting);
	/* crypt_r fails with "*0"/"*1" or NULL: never equal to a hash. */
	if (got != NULL && got[0] != '*' && strlen(got) == hlen &&
	    CRYPTO_memcmp(got, setting, hlen) == 0)
		rv = real ? 1 : 0;
	if (got == NULL && errno != EINVAL && errno != ERANGE)
		rv = -1;
	freezero(cd, sizeof(*cd));
	return rv;
}

int
cp_lookup(const char *data, size_t len, const char *address,
    struct vuser *out, char *strs, size_t strsz, const char **errstr)
{
	struct usertab		 tab;
	const struct vuser	*v;
	size_t			 lineno, a, h, m;
	int			 rv = 0;

	if (users_parse(data, len, &tab, &lineno, errstr) == -1)
		return -1;
	if ((v = users_lookup(&tab, address)) != NULL) {
		a = strlen(v->address) + 1;
		h = strlen(v->hash) + 1;
		m = strlen(v->maildir) + 1;
		if (a + h + m + strlen(v->home) + 1 > strsz) {
			*errstr = "entry too long";
			errno = ENAMETOOLONG;
			rv = -1;
		} else {
			*out = *v;
			out->address = memcpy(strs, v->address, a);
			out->hash = memcpy(strs + a, v->hash, h);
			out->maildir = memcpy(strs + a + h, v->maildir, m);
			out->home = memcpy(strs + a + h + m, v->home,
			    strlen(v->home) + 1);
			rv = 1;
		}
	}
	users_free(&tab);
	return rv;
}

int
cp_hash_new(const char *pass, char *out, size_t outsz)
{
	struct crypt_data	*cd;
	char			 salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char		*h;
	int			 rv = -1;

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL &&
	    crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return -1;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	h = crypt_r(pass, salt, cd);
	if (h == NULL || h[0] == '*' || !cp_hash_allowed(cp_hash_kind(h)))
		errno = EINVAL;
	else if (strlcpy(out, h, outsz) >= outsz)
		errno = ENAMETOOLONG;
	else
		rv = 0;
	freezero(cd, sizeof(*cd));
	return rv;
}
