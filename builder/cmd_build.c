/*
 * `hallmark build TEMPLATE`: the options, the defaults a command line
 * has (SOURCE_DATE_EPOCH, the cache folder), the progress (lib/cli.c
 * renders the pipeline's steps) and the exit code, over the build pipeline of build.c (build.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "builder.h"
#include "hallmark/audit.h"
#include "hallmark/cli.h"
#include "hallmark/options.h"
#include "hallmark/report.h"

static const char build_usage[] =
	"usage: hallmark build TEMPLATE [-o DIR] [--key KEY] [--passphrase-file F]\n"
	"       [--serial N] [--source-date-epoch T] [--cache DIR] [--quiet|--verbose]\n"
	"       [--push REF [--authfile F] [--ca-file F]]\n"
	"\n"
	"Build the gold image TEMPLATE describes (docs/template-format.md) and\n"
	"write, in DIR (default: images/): NAME.oci.tar, NAME.rootfs.tar,\n"
	"NAME.audit.json, NAME.sbom.spdx.json (Debian trees), NAME.manifest (bound\n"
	"to the image digests and the template's), NAME.manifest.sig (with --key)\n"
	"and NAME.build.json.  The final tree is audited before anything is\n"
	"written: a finding at or above the template's audit.fail_on (default\n"
	"high) fails the build with exit 1.  Nothing appears at a final name\n"
	"unless the whole build succeeds.\n"
	"\n"
	"  -o, --output DIR          output folder (default: images)\n"
	"  -k, --key KEY             sign the manifest with this private key\n"
	"      --passphrase-file F   the key's passphrase (else HALLMARK_PASSPHRASE_FILE\n"
	"                            or the terminal)\n"
	"  -s, --serial N            manifest serial (default: the template's)\n"
	"      --source-date-epoch T every timestamp in the outputs (default:\n"
	"                            $SOURCE_DATE_EPOCH, else now)\n"
	"      --cache DIR           bases and blobs (default: $HALLMARK_CACHE,\n"
	"                            else /var/cache/hallmark as root, else\n"
	"                            ~/.cache/hallmark)\n"
	"  -q, --quiet               no progress, no step times: errors and the\n"
	"                            paths written only\n"
	"  -v, --verbose             also what mmdebstrap and the disk appliance say\n"
	"      --push REF            then push the image to REF with its signed\n"
	"                            manifest and attestations attached, as\n"
	"                            `hallmark push` does (needs --key)\n"
	"      --authfile F          the registry credentials (hallmark push)\n"
	"      --ca-file F           the registry's CAs (hallmark push)\n"
	"  -h, --help                show this help\n";

static char *default_cache(void)
{
	const char *env = getenv("HALLMARK_CACHE"), *home = getenv("HOME");
	char *p = NULL;

	if (env && *env)
		return strdup(env);
	if (geteuid() == 0)
		return strdup("/var/cache/hallmark");
	if (home && *home && asprintf(&p, "%s/.cache/hallmark", home) >= 0)
		return p;
	return NULL;
}

static void print_retry(void *ctx, const char *why)
{
	(void)ctx;
	fprintf(stderr, "hallmark build: %s; starting it again (once)\n", why);
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || *end || *ret > max ? -1 : 0;
}

int cmd_build(int argc, char **argv)
{
	struct hm_build_options b = { .out_dir = "images" };
	struct hm_build_progress progress = { NULL, print_retry, NULL, NULL };
	bool quiet = false, verbose = false;
	const char *keypath = NULL, *passfile = NULL, *cache_arg = NULL, *sde_env;
	struct hm_push_options push = { .chunk_size = HM_PUSH_CHUNK_DEFAULT };
	unsigned long long v, serial = 0, sde_opt = 0;
	bool have_serial = false, have_sde = false;
	const struct hm_option opts[] = {
		HM_OPT_OUTPUT(&b.out_dir),
		HM_OPT_KEY(&keypath),
		HM_OPT_PASSPHRASE_FILE(&passfile),
		HM_OPT_NO_PASSPHRASE(),
		HM_OPT_SERIAL(&serial, &have_serial),
		HM_OPT_UINT_QUOTED(0, "source-date-epoch", &sde_opt, 0, 253402300799ULL,
				   "seconds since 1970", &have_sde),
		HM_OPT_STRING(0, "cache", &cache_arg),
		HM_OPT_QUIET(&quiet),
		HM_OPT_VERBOSE(&verbose),
		/* hallmark build --push: the push options (cmd_push.c). */
		HM_OPT_STRING(0, "push", &push.ref),
		HM_OPT_STRING(0, "authfile", &push.authfile),
		HM_OPT_STRING(0, "ca-file", &push.ca_file),
		HM_OPT_PUSH_NO_SECRETS(),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"build", build_usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	char *cache = NULL, sde_text[32];
	struct hm_build_result res;
	struct hm_error err = { 0 };
	int nargs, rc, r;
	size_t i;

	memset(&res, 0, sizeof(res));
	if ((rc = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return rc;
	if (nargs != 1)
		return hm_cli_usage(&cmd);
	if (push.ref && !keypath)
		return hm_cli_fail("build: --push needs --key: only a signed image is pushed");
	rc = HM_EXIT_ERROR;
	b.sde = (time_t)sde_opt;
	if (cache_arg && !(cache = strdup(cache_arg)))
		return hm_cli_fail("out of memory");

	/* Reproducible builds pin every timestamp. */
	sde_env = getenv("SOURCE_DATE_EPOCH");
	if (!have_sde && sde_env && *sde_env) {
		if (parse_u64(sde_env, 253402300799ULL, &v) < 0) {
			rc = hm_cli_fail("SOURCE_DATE_EPOCH is not a number of seconds: '%s'", sde_env);
			goto out;
		}
		b.sde = (time_t)v;
		have_sde = true;
	}
	if (!have_sde)
		b.sde = time(NULL);
	snprintf(sde_text, sizeof(sde_text), "%lld", (long long)b.sde);
	setenv("SOURCE_DATE_EPOCH", sde_text, 1);   /* for mmdebstrap */

	b.template_path = argv[0];
	b.key_path = keypath;
	b.passphrase_file = passfile;
	b.have_serial = have_serial;
	b.serial = serial;
	b.cache_dir = cache ? cache : (cache = default_cache());
	/* Off a terminal, a line per step with its time, as before. */
	progress.steps = hm_cli_progress_new("hallmark build", quiet, verbose, true);
	b.progress = &progress;
	r = hm_build_run(&b, &res, &err);
	hm_cli_progress_done();
	if (r < 0) {
		rc = hm_cli_error(&err);
		goto out;
	}
	if (res.gate_failed) {
		/* Exit 1, the report on stderr, and no image written. */
		hm_audit_report_write(&res.audit, argv[0], res.fail_on,
				      HM_REPORT_TEXT, stderr, &err);
		fprintf(stderr, "hallmark: build of '%s' failed its audit gate (fail_on %s): no image written\n",
			res.name, hm_severity_name(res.fail_on));
		rc = HM_EXIT_DRIFT;
		goto out;
	}
	for (i = 0; i < res.n_published; i++)
		printf("%s\n", res.published[i]);
	if (!quiet)
		fprintf(stderr, "hallmark build: %s serial %llu: %llu entries in %.1f s\n",
			res.name, (unsigned long long)res.serial,
			(unsigned long long)res.entries, res.seconds);
	rc = HM_EXIT_OK;
	for (i = 0; push.ref && i < res.n_published; i++) {
		size_t n = strlen(res.published[i]);

		if (n > 8 && !strcmp(res.published[i] + n - 8, ".oci.tar")) {
			push.keypath = keypath;
			push.passfile = passfile;
			rc = hm_push_run(res.published[i], &push);
			break;
		}
	}
out:
	hm_build_result_free(&res);
	free(cache);
	return rc;
}
