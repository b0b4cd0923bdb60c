/* server: tern-resolve's pipe protocol loop and its command mode. */
#ifndef TERN_RSV_SERVER_H
#define TERN_RSV_SERVER_H

#include "engine.h"

#define RSV_IN_MAX	(64 * 1024)		/* request bytes buffered */
#define RSV_OUT_HIGH	(1024 * 1024)		/* stop reading above this */
#define RSV_OUT_MAX	(64 * 1024 * 1024)	/* replies buffered, hard */

/*
 * Serve requests from fd 0, replies to fd 1 (tern-resolve(8)) on an
 * initialized rsv (its done callback is replaced).  Returns the exit
 * status: 0 after EOF on fd 0 once every request was answered, 111
 * after a protocol error, a write error on fd 1 or a resolver failure
 * (each logged).
 */
int	rsv_serve(struct rsv *);

/*
 * Command mode: look up one name and print the reply to stdout in the
 * form of tern-resolve(8).  Returns 0 (K), 100 (D) or 111 (Z, errors).
 */
int	rsv_command(struct rsv *, enum dnsp_type, const char *name);

#endif
