/*
 * hallmark-verify: the lean verifier for production hosts and CI runners.
 * The same options as `hallmark verify`; it links only the core (no
 * libguestfs), so installing it never pulls qemu onto a server.
 */
#include <stdio.h>
#include <string.h>

#include "hallmark/cleanup.h"
#include "hallmark/cli.h"
#include "verifier.h"

int main(int argc, char **argv)
{
	hm_cli_prog = "hallmark-verify";
	/* Temporary files go away on SIGINT/TERM/HUP. */
	hm_cleanup_install();
	hm_cli_init();
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("hallmark-verify %s\n", HM_VERSION);
		return 0;
	}
	argv[0] = (char *)"hallmark-verify";
	return hm_cli_exit(cmd_verify(argc, argv));
}
