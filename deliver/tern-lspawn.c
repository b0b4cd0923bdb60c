/* tern-lspawn: start tern-local for each request of tern-send. */
#include <stdlib.h>

#include "log.h"
#include "spawn.h"

int
main(int argc, char *argv[])
{
	struct spawn	sp;

	(void)argv;
	log_init("tern-lspawn", false);
	if (argc != 1) {
		log_fatalx("usage: tern-lspawn (requests on fd 0, results "
		    "on fd 1)");
		return 100;
	}
	if (spawn_init(&sp) == -1)
		return 111;
	return spawn_run(&sp);
}
