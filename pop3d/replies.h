/*
 * replies: every reply text of tern-pop3-login and tern-pop3d, in one
 * place (RFC 1939, RFC 2449 response codes, RFC 3206).  Those with
 * conversions are printf formats.
 */
#ifndef TERN_POP3_REPLIES_H
#define TERN_POP3_REPLIES_H

#define P_GREETING	"+OK tern POP3 server ready"
#define P_BYE		"+OK bye"
#define P_OK		"+OK"
#define P_USER_OK	"+OK send PASS"
#define P_CAPA		"+OK capability list follows"
#define P_TLS_GO	"+OK begin TLS negotiation"
#define P_AUTH_CONT	"+ "
#define P_AUTH_LIST	"+OK methods supported:"
#define P_END		"."

#define P_ERR_UNKNOWN	"-ERR unknown command"
#define P_ERR_SYNTAX	"-ERR syntax error"
#define P_ERR_LONG	"-ERR line too long"
#define P_ERR_NUL	"-ERR NUL byte or bare CR/LF in command"
#define P_ERR_TOO_MANY	"-ERR too many errors, closing connection"
#define P_ERR_TOO_CMDS	"-ERR too many commands before login, " \
			"closing connection"
#define P_ERR_TIMEOUT	"-ERR autologout: idle for too long"
#define P_ERR_NOAUTH	"-ERR not logged in: use USER and PASS or AUTH"
#define P_ERR_NEED_USER	"-ERR send USER first"
#define P_ERR_BADAUTH	"-ERR [AUTH] authentication failed"
#define P_ERR_AUTH_LAST	"-ERR [AUTH] authentication failed, " \
			"closing connection"
#define P_ERR_PLAIN	"-ERR [AUTH] plaintext authentication disallowed " \
			"without TLS: use STLS"
#define P_ERR_AUTH_TEMP	"-ERR [SYS/TEMP] temporary authentication failure"
#define P_ERR_MECH	"-ERR unrecognized authentication mechanism"
#define P_ERR_CANCEL	"-ERR authentication cancelled"
#define P_ERR_B64	"-ERR malformed authentication response"
#define P_ERR_TLS_ON	"-ERR TLS already active"
#define P_ERR_TLS_NA	"-ERR STLS not available"
#define P_ERR_TLS_USER	"-ERR STLS not allowed after USER"
#define P_ERR_TLS_FAIL	"-ERR [SYS/TEMP] TLS not available"
#define P_ERR_IN_AUTH	"-ERR already logged in"
#define P_ERR_INTERNAL	"-ERR [SYS/TEMP] internal error, closing connection"

#define P_STAT		"+OK %zu %llu"
#define P_LIST_ALL	"+OK %zu messages (%llu octets)"
#define P_LIST_ONE	"+OK %lu %llu"
#define P_LIST_LINE	"%lu %llu"
#define P_UIDL_ALL	"+OK unique-id listing follows"
#define P_UIDL_ONE	"+OK %lu %s"
#define P_UIDL_LINE	"%lu %s"
#define P_RETR		"+OK %llu octets"
#define P_TOP		"+OK top of message follows"
#define P_DELE		"+OK message %lu deleted"
#define P_RSET		"+OK %zu messages (%llu octets)"
#define P_LOGGED_IN	"+OK logged in, %zu messages"
#define P_QUIT_OK	"+OK bye, %u messages deleted"
#define P_ERR_NOMSG	"-ERR no such message"
#define P_ERR_DELETED	"-ERR message %lu already deleted"
#define P_ERR_READ	"-ERR [SYS/TEMP] cannot read message %lu"
#define P_ERR_UPDATE	"-ERR [SYS/TEMP] some deleted messages were not " \
			"removed"
#define P_ERR_INUSE	"-ERR [IN-USE] mailbox in use by another session"
#define P_ERR_MAILBOX	"-ERR [SYS/TEMP] cannot open the mailbox"
#define P_ERR_SYSPERM	"-ERR [SYS/PERM] %s"

/* CAPA lines (RFC 2449 6), both states. */
#define P_CAPA_COMMON	"TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n" \
			"PIPELINING"
#define P_CAPA_IMPL	"IMPLEMENTATION tern"

#endif
