/*
 * `hallmark manifest`: write the manifest of a target.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder.h"
#include "hallmark/cli.h"
#include "hallmark/manifest.h"
#include "hallmark/registry.h"
#include "hallmark/source.h"

static const char manifest_usage[] =
	"usage: hallmark manifest TARGET [-o FILE] [--name NAME] [--serial N]\n"
	"       [--expires TIME | --valid-days N] [--threads N]\n"
	"       [--authfile FILE] [--ca-file FILE] [--insecure-registry HOST]\n"
	"\n"
	"Write the manifest of every entry of TARGET: dir:PATH (or a bare path\n"
	"to a directory), tar:FILE, tar:-, oci:FILE, oci-dir:PATH,\n"
	"registry:HOST[:PORT]/REPO[:TAG|@DIGEST] or\n"
	"disk:FILE[,format=raw|qcow2] (a VM disk image, read-only).\n"
	"\n"
	"  -o, --output FILE        where to write it, atomically (default: stdout)\n"
	"  -n, --name NAME          image identity: 1 to 128 of A-Z a-z 0-9 . _ + -\n"
	"                           (default: root)\n"
	"  -s, --serial N           serial number, only ever goes up per name (default: 1)\n"
	"  -e, --expires TIME       refuse the manifest after TIME (2027-01-31T00:00:00Z)\n"
	"  -d, --valid-days N       refuse it N days after its creation\n"
	"  -j, --threads N          hashing threads (default: number of CPUs)\n"
	"      --authfile FILE      registry credentials (containers-auth.json)\n"
	"      --ca-file FILE       CA certificates for the registry's TLS\n"
	"      --insecure-registry HOST  allow plain HTTP to HOST\n"
	"  -h, --help               show this help\n"
	"\n"
	"The creation time is $SOURCE_DATE_EPOCH when set, else now.\n";

static int parse_u64(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*ret = v;
	return 0;
}

static int parse_expires(const struct hm_option *opt, const char *arg,
			 struct hm_error *err)
{
	if (hm_time_parse(arg, strlen(arg), opt->value) < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "--expires takes a UTC time like 2027-01-31T00:00:00Z, not '%s'",
				    arg);
	return 0;
}

int cmd_manifest(int argc, char **argv)
{
	struct hm_manifest_header h = { .version = HM_MANIFEST_VERSION, .serial = 1,
					.expires = HM_EXPIRES_NEVER };
	const char *out = "-", *name = "root", *sde;
	unsigned long long v, serial = 1, valid_days = 0, threads = 0;
	struct hm_registry_cli rcli = HM_REGISTRY_CLI_INIT(rcli);
	const struct hm_option opts[] = {
		HM_OPT_OUTPUT(&out),
		HM_OPT_NAME(&name),
		HM_OPT_SERIAL(&serial, NULL),
		HM_OPT_CALLBACK('e', "expires", &h.expires, parse_expires),
		HM_OPT_UINT('d', "valid-days", &valid_days, 1, 100000,
			    "a number of days from 1 to 100000"),
		HM_OPT_THREADS(&threads),
		HM_OPT_REGISTRY(&rcli),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"manifest", manifest_usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	struct hm_scan_options scan = { 0 };
	struct hm_source *src = NULL;
	struct hm_error err = { 0 };
	int nargs, r;

	if ((r = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return r;
	hm_registry_cli_apply(&rcli);
	if (nargs != 1)
		return hm_cli_usage(&cmd);
	h.serial = serial;
	scan.threads = (unsigned)threads;
	if (!hm_manifest_name_valid(name))
		return hm_cli_fail("invalid name '%s': 1 to 128 of A-Z a-z 0-9 . _ + -, not starting with '.' or '-'", name);
	snprintf(h.name, sizeof(h.name), "%s", name);

	/* Reproducible builds pin the creation time. */
	sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		if (parse_u64(sde, 253402300799ULL, &v) < 0)
			return hm_cli_fail("SOURCE_DATE_EPOCH is not a number of seconds: '%s'", sde);
		h.created = (time_t)v;
	} else {
		h.created = time(NULL);
	}
	if (valid_days)
		h.expires = h.created + (time_t)valid_days * 86400;
	/* 1970-01-01T00:00:00Z is a past time like any other, not "never". */
	if (h.expires != HM_EXPIRES_NEVER && h.expires <= h.created)
		return hm_cli_fail("--expires is not after the creation time");

	{
		char tfile[4096];
		const struct hm_cli_input in[] = {
			{ "the target", hm_cli_target_file(argv[0], tfile, sizeof(tfile)) },
		};

		if ((r = hm_cli_check_output(out, in, 1)))
			return r;
	}
	r = hm_source_open_target(argv[0], &scan, &src, &err);
	if (r == 0)
		r = hm_manifest_write(out, &h, src, &err);
	hm_source_free(src);
	if (r < 0)
		return hm_cli_error(&err);
	if (strcmp(out, "-") != 0)
		fprintf(stderr, "wrote '%s': %s serial %llu, %llu entries\n", out,
			h.name, (unsigned long long)h.serial,
			(unsigned long long)h.entries);
	return HM_EXIT_OK;
}
