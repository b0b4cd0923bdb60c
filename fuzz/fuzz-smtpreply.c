/*
 * fuzz-smtpreply: the SMTP reply parser of tern-remote (lib/smtpreply.c).
 *
 * The input is a stream of replies as a server would send them; it is
 * fed in chunks whose sizes come from the first byte, reply after reply,
 * until the parser reports an error or the input ends.  Every complete
 * reply must obey smtpreply.h: a code in [200, 559], at most
 * SMTPREPLY_LINES_MAX lines and SMTPREPLY_TEXT_MAX bytes of text, an
 * enhanced code of the reply's class, a summary of printable ASCII.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpreply.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smtpreply reply;

static void
check_reply(const struct smtpreply *r)
{
	char		 sum[512];
	const char	*st, *line;
	size_t		 i, n, len;

	if (r->code < 200 || r->code > 559 || r->nlines == 0 ||
	    r->nlines > SMTPREPLY_LINES_MAX ||
	    r->text_len > SMTPREPLY_TEXT_MAX ||
	    strlen(r->text) != r->text_len)
		abort();
	st = smtpreply_status(r);
	if (st[0] - '0' != r->code / 100 && !(r->code / 100 == 3 &&
	    st[0] == '2'))
		abort();
	smtpreply_summary(r, sum, sizeof(sum));
	n = strlen(sum);
	if (n >= sizeof(sum))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)sum[i] < 0x20 ||
		    (unsigned char)sum[i] > 0x7e)
			abort();
	for (i = 0; i < r->nlines; i++)
		if (!smtpreply_line(r, i, &line, &len) ||
		    memchr(line, '\n', len) != NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p, *err;
	size_t		 len, chunk, used, n;
	int		 rv;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	p = (const char *)data + 1;
	len = size - 1;
	smtpreply_init(&reply);
	while (len > 0) {
		n = len < chunk ? len : chunk;
		rv = smtpreply_feed(&reply, p, n, &used, &err);
		if (used > n)
			abort();
		if (rv == -1) {
			if (err == NULL)
				abort();
			break;
		}
		if (rv == 0 && used != n)
			abort();
		if (rv == 1)
			check_reply(&reply);
		p += used;
		len -= used;
	}
	return 0;
}
