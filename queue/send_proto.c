/* send_proto: framing of tern-lspawn requests and results. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rec.h"
#include "send_proto.h"

int
send_request_format(struct buf *out, unsigned slot, const char *id,
    const char *sender, const char *rcpt, bool check)
{
	char num[16];
	size_t mark;

	if (id[0] == '\0' || rcpt[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	(void)snprintf(num, sizeof(num), "%u", slot);
	mark = out->len;
	/* rec_put rejects CR and LF; NUL cannot be inside a C string. */
	if (rec_put(out, num) == -1 || rec_put(out, id) == -1 ||
	    rec_put(out, sender) == -1 || rec_put(out, rcpt) == -1 ||
	    rec_put(out, check ? "c" : "-") == -1 ||
	    buf_appendc(out, '\0') == -1) {
		if (out->len > mark)
			buf_truncate(out, mark);
		return -1;
	}
	return 0;
}

bool
send_status_valid(const char *s)
{
	int part, digits;

	if (*s != '2' && *s != '4' && *s != '5')
		return false;
	s++;
	for (part = 0; part < 2; part++) {
		if (*s++ != '.')
			return false;
		for (digits = 0; *s >= '0' && *s <= '9'; s++)
			digits++;
		if (digits < 1 || digits > 3)
			return false;
	}
	return *s == '\0';
}

/*
 * The next NUL-terminated field at data[*pos..len), at most max bytes:
 * 1 found, 0 not yet complete, -1 too long.
 */
static int
next_field(const char *data, size_t len, size_t *pos, size_t max,
    const char **f_out, size_t *flen_out)
{
	const char *nul;
	size_t avail = len - *pos;

	nul = memchr(data + *pos, '\0', avail < max + 1 ? avail : max + 1);
	if (nul == NULL)
		return avail > max ? -1 : 0;
	*f_out = data + *pos;
	*flen_out = (size_t)(nul - *f_out);
	*pos += *flen_out + 1;
	return 1;
}

static int
parse_slot(const char *f, size_t flen, unsigned *slot)
{
	size_t i;
	unsigned v = 0;

	if (flen == 0 || flen > SEND_SLOT_DIGITS || (f[0] == '0' && flen > 1))
		return -1;
	for (i = 0; i < flen; i++) {
		if (f[i] < '0' || f[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(f[i] - '0');
	}
	*slot = v;
	return 0;
}

static void
copy_text(char *dst, const char *f, size_t flen)
{
	size_t i;

	for (i = 0; i < flen; i++)
		dst[i] = (f[i] >= 0x20 && f[i] < 0x7f) ? f[i] : '?';
	dst[flen] = '\0';
}

int
send_result_parse(const char *data, size_t len, size_t *used_out,
    struct send_result *out, const char **errstr)
{
	static const size_t max[5] = { SEND_SLOT_DIGITS, 1, SEND_STATUS_MAX,
	    SEND_TEXT_MAX, 0 };
	static const char *const why[5] = { "slot number too long",
	    "result letter too long", "status too long", "text too long",
	    "missing end of result" };
	const char *f[5];
	size_t flen[5], pos = 0;
	int i, r;

	if (len == 0)
		return 0;
	for (i = 0; i < 5; i++) {
		r = next_field(data, len, &pos, max[i], &f[i], &flen[i]);
		if (r == 0)
			return 0;
		if (r == -1) {
			*errstr = why[i];
			return -1;
		}
	}
	if (parse_slot(f[0], flen[0], &out->slot) == -1) {
		*errstr = "bad slot number";
		return -1;
	}
	if (flen[1] != 1 || strchr("KZD", f[1][0]) == NULL) {
		*errstr = "unknown result letter";
		return -1;
	}
	out->code = f[1][0];
	memcpy(out->status, f[2], flen[2]);
	out->status[flen[2]] = '\0';
	if (!send_status_valid(out->status)) {
		*errstr = "status is not x.y.z";
		return -1;
	}
	copy_text(out->text, f[3], flen[3]);
	*used_out = pos;
	return 1;
}
