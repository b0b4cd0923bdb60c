/* sasl: base64 and SASL PLAIN responses, shared by smtpd and pop3d. */
#ifndef TERN_SASL_H
#define TERN_SASL_H

#include <stddef.h>

/*
 * Decode base64 (RFC 4648, padding required, no blanks) from in[0..len)
 * into out, NUL-terminated.  Returns the decoded length, or -1 when the
 * input is malformed or does not fit in outsz - 1 bytes.
 */
long	sasl_b64_decode(const char *in, size_t len, char *out, size_t outsz);

#define SASL_CANCEL	(-2)

/*
 * A client's SASL response line (RFC 4954 4, RFC 5034 4): "*" cancels
 * (SASL_CANCEL), "=" is the empty response (0), anything else is base64
 * decoded into out as by sasl_b64_decode (its length, or -1).
 */
long	sasl_response(const char *resp, char *out, size_t outsz);

/*
 * Split a decoded PLAIN response "authzid NUL authcid NUL passwd" of len
 * bytes (RFC 4616).  The user must not be empty, the password holds no
 * NUL, and an authzid, when given, must equal the user.  0 with the two
 * pointers into resp, or -1.
 */
int	sasl_plain_split(char *resp, size_t len, const char **user_out,
	    const char **pass_out);

#endif
