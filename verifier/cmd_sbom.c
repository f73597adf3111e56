/*
 * `hallmark sbom`: an SPDX 2.3 SBOM of the Debian packages installed in a
 * target, from its dpkg status database.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hallmark/cli.h"
#include "hallmark/fsutil.h"
#include "hallmark/image.h"
#include "hallmark/manifest.h"
#include "hallmark/packages.h"
#include "hallmark/registry.h"
#include "verifier.h"

static const char sbom_usage[] =
	"usage: hallmark sbom TARGET [-o FILE] [--name NAME]\n"
	"       [--authfile FILE] [--ca-file FILE] [--insecure-registry HOST]\n"
	"\n"
	"Write an SPDX 2.3 JSON SBOM of the Debian packages installed in TARGET\n"
	"(from its /var/lib/dpkg/status): dir:PATH (or a bare path to a\n"
	"directory), tar:FILE, tar:-, oci:FILE, oci-dir:PATH,\n"
	"registry:HOST[:PORT]/REPO[:TAG|@DIGEST] or\n"
	"disk:FILE[,format=raw|qcow2].\n"
	"\n"
	"  -o, --output FILE        where to write it, atomically (default: stdout)\n"
	"  -n, --name NAME          document name: 1 to 128 of A-Z a-z 0-9 . _ + -\n"
	"                           (default: root)\n"
	"      --authfile FILE      registry credentials (containers-auth.json)\n"
	"      --ca-file FILE       CA certificates for the registry's TLS\n"
	"      --insecure-registry HOST  allow plain HTTP to HOST\n"
	"  -h, --help               show this help\n"
	"\n"
	"The creation time is $SOURCE_DATE_EPOCH when set, else now; the same\n"
	"packages, name and time give the same bytes.  Broken stanzas of the\n"
	"status file are skipped and named on stderr.\n";

struct sbom_out {
	const struct hm_packages *pkgs;
	const char *name;
	time_t created;
};

static int print_sbom(void *ctx, FILE *out, struct hm_error *err)
{
	const struct sbom_out *so = ctx;

	return hm_sbom_write(so->pkgs, so->name, so->created, out, err);
}

int cmd_sbom(int argc, char **argv)
{
	static const char *const capture[] = { "/var/lib/dpkg/status", NULL };
	const char *out = "-", *name = "root", *sde;
	struct hm_registry_cli rcli = HM_REGISTRY_CLI_INIT(rcli);
	const struct hm_option opts[] = {
		HM_OPT_OUTPUT(&out),
		HM_OPT_NAME(&name),
		HM_OPT_REGISTRY(&rcli),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"sbom", sbom_usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	struct hm_packages pkgs = { 0 };
	struct hm_image *img = NULL;
	struct hm_error err = { 0 };
	time_t created;
	size_t i;
	int nargs, r;

	if ((r = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return r;
	hm_registry_cli_apply(&rcli);
	if (nargs != 1)
		return hm_cli_usage(&cmd);
	if (!hm_manifest_name_valid(name))
		return hm_cli_fail("invalid name '%s': 1 to 128 of A-Z a-z 0-9 . _ + -, not starting with '.' or '-'", name);

	/* Reproducible builds pin the creation time. */
	sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(sde, &end, 10);
		if (!isdigit((unsigned char)*sde) || errno || *end ||
		    v > 253402300799ULL)
			return hm_cli_fail("SOURCE_DATE_EPOCH is not a number of seconds: '%s'", sde);
		created = (time_t)v;
	} else {
		created = time(NULL);
	}

	{
		char tfile[4096];
		const struct hm_cli_input in[] = {
			{ "the target", hm_cli_target_file(argv[0], tfile, sizeof(tfile)) },
		};

		if ((r = hm_cli_check_output(out, in, 1)))
			return r;
	}
	r = hm_image_open(argv[0], capture, &img, &err);
	if (r == 0)
		r = hm_packages_load(img, &pkgs, &err);
	if (r == 0) {
		for (i = 0; i < pkgs.n_skipped; i++)
			fprintf(stderr, "%s: skipped %s\n", hm_cli_prog, pkgs.skipped[i]);
		struct sbom_out so = { &pkgs, name, created };

		r = hm_write_output(out, print_sbom, &so, &err);
	}
	if (r == 0 && strcmp(out, "-") != 0)
		fprintf(stderr, "wrote '%s': %zu packages%s\n", out, pkgs.n,
			pkgs.n_skipped ? " (some stanzas skipped)" : "");
	hm_packages_free(&pkgs);
	hm_image_free(img);
	if (r < 0)
		return hm_cli_error(&err);
	return HM_EXIT_OK;
}
