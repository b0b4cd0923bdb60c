/* send_keeper: the small root process that starts tern-lspawn. */
#ifndef TERN_SEND_KEEPER_H
#define TERN_SEND_KEEPER_H

#include <sys/types.h>

/*
 * tern-lspawn must run as root, tern-send must not, and tern-send must
 * be able to start tern-lspawn again when it dies.  So before dropping
 * privileges tern-send forks a keeper that keeps the original ids and
 * does nothing but: start lspawn_path with the two pipe ends it is sent
 * as its fds 0 and 1, forward SIGHUP to it, reap children, and exit when
 * tern-send closes its end of the socket.
 *
 * Fork the keeper.  Returns its pid with *sock_out tern-send's end of a
 * SOCK_SEQPACKET socket (close-on-exec), or -1 with errno.
 */
pid_t	send_keeper_start(const char *lspawn_path, int *sock_out);

/*
 * Ask the keeper to start tern-lspawn with req_rd as its fd 0 and res_wr
 * as its fd 1 (the caller closes its copies afterwards).  0, or -1 with
 * errno (EPIPE: the keeper is gone).
 */
int	send_keeper_spawn(int sock, int req_rd, int res_wr);

/* Ask the keeper to send SIGHUP to the tern-lspawn it started last. */
int	send_keeper_hup(int sock);

#endif
