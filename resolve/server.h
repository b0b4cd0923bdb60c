/* server: tern-resolve's pipe protocol loops and its command mode. */
#ifndef TERN_RSV_SERVER_H
#define TERN_RSV_SERVER_H

#include "engine.h"

#define RSV_IN_MAX	(64 * 1024)		/* request bytes buffered */
#define RSV_OUT_HIGH	(1024 * 1024)		/* stop reading above this */
#define RSV_OUT_MAX	(64 * 1024 * 1024)	/* replies buffered, hard */
#define RSV_CLIENT_INFLIGHT_MAX	1000	/* one client's lookups at once */
#define RSV_CLIENTS_MAX	1024			/* -F: clients at once */
#define RSV_ACCEPT_BURST	64	/* -F: clients taken per poll round */

/*
 * Serve requests from fd 0, replies to fd 1 (tern-resolve(8)) on an
 * initialized rsv (its done callback is replaced).  Returns the exit
 * status: 0 after EOF on fd 0 once every request was answered, 111
 * after a protocol error, a write error on fd 1 or a resolver failure
 * (each logged).
 */
int	rsv_serve(struct rsv *);

/*
 * Shared mode (-F): fd 0 is a unix stream socket that brings client
 * connections, one fd per message (SCM_RIGHTS, payload byte 'C'); each
 * client speaks the pipe protocol on its socket, all on rsv's one
 * context.  A client's protocol or write error drops that client alone
 * (logged).  At EOF on fd 0 no more clients are taken; the function
 * returns 0 once every client has reached EOF and was answered, 111
 * on a resolver or poll failure.  fd 0 must be a socket (checked by
 * the caller).
 */
int	rsv_serve_shared(struct rsv *);

/*
 * Command mode: look up one name and print the reply to stdout in the
 * form of tern-resolve(8).  Returns 0 (K), 100 (D) or 111 (Z, errors).
 */
int	rsv_command(struct rsv *, enum dnsp_type, const char *name);

#endif
