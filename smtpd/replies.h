/*
 * replies: every reply text of tern-smtpd, in one place (RFC 5321 4.2,
 * enhanced status codes RFC 3463 / RFC 5248).  Those with conversions
 * are printf formats for smtp_reply.
 */
#ifndef TERN_SMTPD_REPLIES_H
#define TERN_SMTPD_REPLIES_H

#define R_GREETING	"220 %s ESMTP tern"
#define R_BYE		"221 2.0.0 %s closing connection"
#define R_EHLO_FIRST	"250-%s Hello [%s]"
#define R_HELO		"250 %s Hello [%s]"
#define R_EXT_CONT	"250-%s"
#define R_EXT_LAST	"250 %s"
#define R_NOOP_OK		"250 2.0.0 Ok"
#define R_OK_SENDER	"250 2.1.0 Sender ok"
#define R_OK_RCPT	"250 2.1.5 Recipient ok"
#define R_OK_RSET	"250 2.0.0 Reset"
#define R_QUEUED	"250 2.0.0 Ok: queued as %s"
#define R_BDAT_OK	"250 2.0.0 %llu octets received"
#define R_VRFY		"252 2.5.0 Cannot VRFY user, but will accept " \
			"message and attempt delivery"
#define R_HELP		"214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT " \
			"RSET NOOP QUIT VRFY HELP AUTH STARTTLS"
#define R_DATA_GO	"354 End data with <CR><LF>.<CR><LF>"
#define R_TLS_GO	"220 2.0.0 Ready to start TLS"
#define R_AUTH_OK	"235 2.7.0 Authentication successful"
#define R_AUTH_CONT	"334 %s"

#define R_SHUTDOWN	"421 4.4.2 %s timeout, closing connection"
#define R_TOO_MANY_BAD	"421 4.7.0 %s too many errors, closing connection"
#define R_TOO_MANY_JUNK	"421 4.7.0 %s too many commands without mail, " \
			"closing connection"
#define R_TOO_MANY_AUTH	"421 4.7.0 %s too many authentication failures, " \
			"closing connection"
#define R_TLS_FAILED	"421 4.7.0 %s TLS not available, closing connection"
#define R_QFAIL		"451 4.3.0 Temporary failure queueing the message"
#define R_QFAIL_TEXT	"451 4.3.0 %s"
#define R_RCPT_TEMP	"451 4.3.0 Temporary failure checking the recipient"
#define R_TOO_MANY_RCPT	"452 4.5.3 Too many recipients"
#define R_AUTH_TEMP	"454 4.7.0 Temporary authentication failure"
#define R_TLS_NA	"454 4.7.0 TLS not available"

#define R_LINE_LONG	"500 5.5.2 Line too long"
#define R_BARE_EOL	"500 5.5.2 Bare LF or CR not allowed, use CRLF"
#define R_NUL		"500 5.5.2 NUL byte in command"
#define R_UNKNOWN	"500 5.5.1 Command unrecognized"
#define R_SYNTAX	"501 5.5.4 Syntax error in parameters or arguments"
#define R_ADDR_SYNTAX	"501 5.1.%d Bad address syntax: %s"
#define R_HELO_SYNTAX	"501 5.5.4 Syntax: %s hostname"
#define R_NO_ARGS	"501 5.5.4 No arguments allowed"
#define R_AUTH_CANCEL	"501 5.0.0 Authentication cancelled"
#define R_AUTH_B64	"501 5.5.2 Cannot decode the base64 response"
#define R_AUTH_SYNTAX	"501 5.5.2 Malformed authentication response"
#define R_NOT_IMPL	"502 5.5.1 Command not implemented"
#define R_BAD_SEQ	"503 5.5.1 Bad sequence of commands"
#define R_NEED_HELO	"503 5.5.1 Send EHLO or HELO first"
#define R_NEED_MAIL	"503 5.5.1 Need MAIL before RCPT"
#define R_NEED_RCPT	"503 5.5.1 Need RCPT before DATA"
#define R_NESTED_MAIL	"503 5.5.1 Sender already given"
#define R_AUTHED	"503 5.5.1 Already authenticated"
#define R_BDAT_MIX	"503 5.5.1 DATA not allowed after BDAT"
#define R_AUTH_MECH	"504 5.5.4 Unrecognized authentication mechanism"
#define R_AUTH_REQ	"530 5.7.0 Authentication required"
#define R_AUTH_BAD	"535 5.7.8 Authentication credentials invalid"
#define R_AUTH_TLS	"538 5.7.11 Encryption required for requested " \
			"authentication mechanism"
#define R_NO_USER	"550 5.1.1 <%s>: Recipient address rejected: " \
			"no such user"
#define R_TOO_BIG	"552 5.3.4 Message size exceeds fixed limit"
#define R_SENDER_DENIED	"553 5.7.1 <%s>: Sender address not owned by " \
			"user %s"
#define R_UTF8_ADDR	"553 5.6.7 Non-ASCII address requires SMTPUTF8"
#define R_RELAY		"554 5.7.1 <%s>: Relay access denied"
#define R_HOPS		"554 5.4.6 Too many hops (mail loop?)"
#define R_MSG_BARE	"554 5.6.0 Message refused: bare LF or CR in data, " \
			"use CRLF; closing connection"
#define R_MSG_BARE_CHUNK "554 5.6.0 Message refused: bare LF or CR in data, " \
			"use CRLF"
#define R_MSG_NUL	"554 5.6.0 Message refused: NUL byte in data"
#define R_MSG_LONG	"554 5.6.0 Message refused: line too long"
#define R_QPERM		"554 5.3.0 Message refused by the queue"
#define R_QPERM_TEXT	"554 5.3.0 %s"
#define R_PARAM		"555 5.5.4 Unsupported or bad parameter %s"
#define R_NO_8BIT_BODY	"555 5.5.4 BODY must be 7BIT or 8BITMIME"
#define R_NOMEM		"451 4.3.0 Out of memory"

/* AUTH LOGIN prompts, base64 of "Username:" and "Password:". */
#define R_LOGIN_USER	"VXNlcm5hbWU6"
#define R_LOGIN_PASS	"UGFzc3dvcmQ6"

#endif
