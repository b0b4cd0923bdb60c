/*
 * fuzz-alias: alias_parse on arbitrary bytes.  Besides the sanitizers,
 * an accepted table must keep alias.h's promises: sorted unique
 * lowercase names within the limits, every target valid for
 * fwd_parse_target, and every name found again by alias_lookup.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alias.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_entry(const struct aliastab *t, size_t i)
{
	const struct alias	*a = &t->ents[i];
	struct fwd_target	 ft;
	const char		*err, *p;
	size_t			 j;

	if (strlen(a->name) == 0 || strlen(a->name) > ALIAS_NAME_MAX)
		abort();
	for (p = a->name; *p != '\0'; p++)
		if ((*p >= 'A' && *p <= 'Z') || *p == ':' || *p == ' ')
			abort();
	if (i > 0 && strcmp(t->ents[i - 1].name, a->name) >= 0)
		abort();
	if (alias_lookup(t, a->name) != a)
		abort();
	if (a->ntargets == 0 || a->ntargets > ALIAS_TARGETS_MAX)
		abort();
	for (j = 0; j < a->ntargets; j++) {
		if (strlen(a->targets[j]) > ALIAS_TARGET_MAX)
			abort();
		if (fwd_parse_target(a->targets[j], strlen(a->targets[j]),
		    NULL, "fuzz.test", &ft, &err) == -1 || ft.kind == FWD_SKIP)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct aliastab	 t;
	const char	*err = NULL;
	size_t		 line = 0, i;

	if (alias_parse((const char *)data, len, &t, &line, &err) == -1) {
		if (err == NULL || line == 0 || t.n != 0 || t.ents != NULL)
			abort();
		return 0;
	}
	for (i = 0; i < t.n; i++)
		check_entry(&t, i);
	alias_free(&t);
	return 0;
}
