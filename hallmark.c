/*
 * hallmark: the command table.  Adding `hallmark foo` means one cmd_foo()
 * in its own file under builder/ or verifier/, one row here, one test
 * script and one section in docs/cli.md.
 */
#include <stdio.h>
#include <string.h>

#include "builder/builder.h"
#include "disk/disk.h"
#include "hallmark/cleanup.h"
#include "hallmark/cli.h"
#include "hallmark/target.h"
#include "verifier/verifier.h"

/* The targets this program reads: the core's and disk: (it links disk/). */
const struct hm_target *const hm_program_targets[] = {
	HM_TARGETS_CORE, &hm_target_disk, NULL,
};

static const struct {
	const char *name;
	hm_cmd_fn fn;
	const char *summary;
} commands[] = {
	{ "build", cmd_build, "build a gold image from a template" },
	{ "keygen", cmd_keygen, "make an Ed25519 signing key pair" },
	{ "manifest", cmd_manifest, "write the manifest of a target" },
	{ "sign", cmd_sign, "sign a manifest" },
	{ "attest", cmd_attest, "sign in-toto attestations about a manifest's images" },
	{ "push", cmd_push, "push an image to a registry with its signed manifest attached" },
	{ "verify", cmd_verify, "verify a target against a signed manifest" },
	{ "audit", cmd_audit, "audit a target against the hardening rules" },
	{ "sbom", cmd_sbom, "write an SPDX 2.3 SBOM of a target's packages" },
	{ "diff", cmd_diff, "show what differs between two manifests" },
	{ "history", cmd_history, "list recorded runs and what changed between them" },
	{ "watch", cmd_watch, "check a live tree against a signed manifest as it changes" },
	{ "runtime", cmd_runtime, "capture a running system's footprint as a template section" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: hallmark COMMAND [ARGS]\n"
		     "       hallmark --help | --version\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'hallmark COMMAND --help' describes a command.\n"
		     "exit codes: 0 match, 1 drift, 2 usage/input/I/O error, 3 trust failure\n");
}

int main(int argc, char **argv)
{
	size_t i;

	/* Temporary files and staging folders go away on SIGINT/TERM/HUP. */
	hm_cleanup_install();
	hm_cli_init();
	if (argc < 2) {
		hm_cli_fail("missing COMMAND");
		fputs("Try 'hallmark --help'.\n", stderr);
		return HM_EXIT_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("hallmark %s\n", HM_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return hm_cli_exit(commands[i].fn(argc - 1, argv + 1));
	hm_cli_fail("'%s' is not a hallmark command", argv[1]);
	fputs("Try 'hallmark --help'.\n", stderr);
	return HM_EXIT_ERROR;
}
