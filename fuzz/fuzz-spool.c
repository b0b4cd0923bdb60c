/*
 * fuzz-spool: libFuzzer harness for spool_env_parse.  Whatever parses
 * must format back to the same bytes, and every recorded state offset
 * must point at a state byte followed by the recipient's address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "spool.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_offsets(const struct spool_env *env, const char *data, size_t len)
{
	const struct spool_rcpt *r;
	size_t i;

	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		if (r->state_off < 0 || (size_t)r->state_off >= len ||
		    data[r->state_off] != r->state ||
		    strcmp(data + r->state_off + 1, r->addr) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct spool_env env;
	struct buf out;
	const char *why;

	if (spool_env_parse((const char *)data, len, &env, &why) == -1) {
		if (why == NULL)
			abort();
		spool_env_free(&env);
		return 0;
	}
	check_offsets(&env, (const char *)data, len);
	buf_init(&out, SPOOL_ENV_MAX);
	/* The parser accepts exactly what the formatter writes. */
	if (spool_env_format(&env, &out) == -1 || out.len != len ||
	    memcmp(out.data, data, len) != 0)
		abort();
	buf_free(&out);
	(void)spool_env_finished(&env);
	spool_env_free(&env);
	return 0;
}
