/*
 * `hallmark verify` / `hallmark-verify`: check a target against a signed
 * manifest under a policy, report, and exit 0 (match), 1 (drift), 2 (error)
 * or 3 (trust failure).  There is no option to skip the signature check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hallmark/cli.h"
#include "hallmark/compare.h"
#include "hallmark/fsutil.h"
#include "hallmark/history.h"
#include "hallmark/manifest.h"
#include "hallmark/policy.h"
#include "hallmark/registry.h"
#include "hallmark/report.h"
#include "hallmark/sign.h"
#include "hallmark/source.h"
#include "hallmark/trust.h"
#include "verifier.h"

#define HM_MAX_PUBKEYS 16

static const char verify_usage[] =
	"usage: %s TARGET --manifest FILE --pubkey FILE... [--signature FILE]\n"
	"       [--policy FILE] [--db FILE] [--host NAME]\n"
	"       [--format text|json|junit|sarif] [-o REPORT] [--threads N]\n"
	"       [--authfile FILE] [--ca-file FILE] [--insecure-registry HOST]\n"
	"\n"
	"Verify TARGET against a signed manifest.  TARGET: dir:PATH (or a bare\n"
	"path to a directory), tar:FILE, tar:- (stdin), oci:FILE (OCI archive or\n"
	"docker-archive), oci-dir:PATH,\n"
	"registry:HOST[:PORT]/REPO[:TAG|@DIGEST] (an image in a registry),\n"
	"disk:FILE[,format=raw|qcow2] (a VM disk image, read-only; 'hallmark\n"
	"verify' only).  The signature is checked over the manifest's bytes,\n"
	"with the pinned keys only, before a line of it is read; there is no\n"
	"way to skip it.\n"
	"\n"
	"  -m, --manifest FILE      the manifest (required, except for a registry:\n"
	"                           image with a signed hallmark manifest attached)\n"
	"  -k, --pubkey FILE        a pinned public key; repeat for several (required)\n"
	"  -s, --signature FILE     the signature (default: MANIFEST.sig)\n"
	"  -p, --policy FILE        paths ignored, allowed to change or to be added\n"
	"  -d, --db FILE            record the run in this history database, and\n"
	"                           refuse a serial older than one already seen\n"
	"  -H, --host NAME          host name recorded in the report and the history\n"
	"                           (with --db, default: this machine's name)\n"
	"  -f, --format FORMAT      text (default), json, junit or sarif\n"
	"  -o, --output REPORT      write the report there, atomically (default: stdout)\n"
	"  -j, --threads N          hashing threads (default: number of CPUs)\n"
	"      --authfile FILE      registry credentials (containers-auth.json)\n"
	"      --ca-file FILE       CA certificates for the registry's TLS\n"
	"      --insecure-registry HOST  allow plain HTTP to HOST\n"
	"  -h, --help               show this help\n"
	"\n"
	"exit: 0 match, 1 drift, 2 usage/input/I/O error, 3 trust failure\n"
	"(bad or missing signature, key not pinned, expired manifest, rollback)\n";

struct report_out {
	const struct hm_report *rep;
	enum hm_report_format fmt;
};

static int print_report(void *ctx, FILE *out, struct hm_error *err)
{
	const struct report_out *ro = ctx;

	return hm_report_write(ro->rep, ro->fmt, out, err);
}

/*
 * Every finding is drift: no kind only informs (a mount point is reported
 * only when it hid manifest entries from the check), which is why the
 * reports write each one as a SARIF "error" and a JUnit <failure>.
 */
static bool is_drift(const struct hm_compare_stats *s)
{
	return s->total_findings > 0;
}

int cmd_verify(int argc, char **argv)
{
	static const struct hm_option_word formats[] = {
		{ "text", HM_REPORT_TEXT }, { "json", HM_REPORT_JSON },
		{ "junit", HM_REPORT_JUNIT }, { "sarif", HM_REPORT_SARIF }, { NULL, 0 },
	};
	const char *prog = strcmp(hm_cli_prog, "hallmark") == 0 ?
			   "hallmark verify" : hm_cli_prog;
	const char *manifest = NULL, *sig = NULL, *policy_path = NULL;
	const char *host = NULL, *out_path = NULL, *db_path = NULL, *target;
	const char *pubkey_paths[HM_MAX_PUBKEYS];
	struct hm_registry_cli rcli = HM_REGISTRY_CLI_INIT(rcli);
	/* registry: without --manifest: the attached one, and the image by
	 * the digest it is attached to. */
	char *pinned = NULL, *attached = NULL;
	struct hm_option_list pubkeys = { pubkey_paths, HM_MAX_PUBKEYS, 0 };
	unsigned long long threads = 0;
	int fmt = HM_REPORT_TEXT, nargs, rc = HM_EXIT_ERROR, r;
	const struct hm_option opts[] = {
		HM_OPT_STRING('m', "manifest", &manifest),
		HM_OPT_PUBKEYS(&pubkeys),
		HM_OPT_STRING('s', "signature", &sig),
		HM_OPT_STRING('p', "policy", &policy_path),
		HM_OPT_HOST(&host),
		HM_OPT_DB(&db_path),
		HM_OPT_FORMAT(&fmt, formats, "report format"),
		HM_OPT_OUTPUT(&out_path),
		HM_OPT_THREADS(&threads),
		HM_OPT_REGISTRY(&rcli),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	char usage[sizeof(verify_usage) + 64];
	const struct hm_cli_command cmd = {
		"verify", usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	char hostname[256], tfile[4096];
	struct hm_pubkey *keys[HM_MAX_PUBKEYS] = { NULL };
	size_t n_keys, i;
	struct hm_error err = { 0 };
	struct hm_policy *policy = NULL;
	struct hm_trusted_manifest *tm = NULL;
	struct hm_source *src = NULL;
	struct hm_scan_options scan = { 0 };
	struct hm_finding_spool *spool = NULL;
	struct hm_error cut = { 0 };
	struct hm_compare_stats stats;
	struct hm_report rep = { 0 };
	struct report_out ro;
	struct hm_history *hist = NULL;

	snprintf(usage, sizeof(usage), verify_usage, prog);
	if ((r = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return r;
	if (nargs != 1)
		return hm_cli_usage(&cmd);
	n_keys = pubkeys.n;
	target = argv[0];
	hm_registry_cli_apply(&rcli);
	if (!manifest && strncmp(target, "registry:", 9) != 0)
		return hm_cli_fail("--manifest is required");
	if (n_keys == 0)
		return hm_cli_fail("--pubkey is required: verify never skips the signature check");
	{
		/* -o never replaces what this run reads (issue 11, item 11). */
		struct hm_cli_input in[HM_MAX_PUBKEYS + 5] = {
			{ "the manifest", manifest }, { "the signature", sig },
			{ "the policy", policy_path }, { "the history database", db_path },
			{ "the target", hm_cli_target_file(target, tfile, sizeof(tfile)) },
		};
		char *dsig = NULL;

		if (!sig && manifest && asprintf(&dsig, "%s.sig", manifest) >= 0)
			in[1].path = dsig;
		for (i = 0; i < n_keys; i++)
			in[5 + i] = (struct hm_cli_input){ "the public key", pubkey_paths[i] };
		r = hm_cli_check_output(out_path, in, 5 + n_keys);
		free(dsig);
		if (r)
			return r;
	}

	for (i = 0; i < n_keys; i++)
		if ((r = hm_pubkey_load(pubkey_paths[i], &keys[i], &err)) < 0)
			goto fail;
	rep.started = time(NULL);
	if (manifest) {
		r = hm_trust_open(manifest, sig, keys, n_keys, rep.started, &tm, &err);
	} else {
		r = hm_registry_trusted_manifest(target + 9, keys, n_keys, rep.started,
						 &tm, &pinned, &attached, &err);
		target = pinned;
		manifest = attached;
	}
	if (r < 0)
		goto fail;
	/* Rollback is refused before anything is compared. */
	if (db_path) {
		if ((r = hm_history_open(db_path, HM_HISTORY_CREATE, &hist, &err)) < 0 ||
		    (r = hm_history_check_serial(hist, tm->header->name, tm->key_id,
						 tm->header->serial, NULL, &err)) < 0)
			goto fail;
		if (!host) {
			if (gethostname(hostname, sizeof(hostname)) < 0)
				snprintf(hostname, sizeof(hostname), "localhost");
			hostname[sizeof(hostname) - 1] = '\0';
			host = hostname;
		}
	}
	if (policy_path && (r = hm_policy_load(policy_path, &policy, &err)) < 0)
		goto fail;
	scan.threads = (unsigned)threads;
	hm_policy_source_filter(policy, &scan.filter);
	r = hm_source_open_target(target, &scan, &src, &err);
	if (r < 0)
		goto fail;
	/* Findings go to a temporary file as they are found: a run with
	 * millions of them reports and records them in flat memory. */
	if ((r = hm_finding_spool_new(NULL, &spool, &err)) < 0)
		goto fail;
	r = hm_compare(hm_manifest_reader_source(tm->reader), src, policy,
		       hm_finding_spool_add, spool, &stats, &err);
	if (r < 0)
		goto fail;
	/* The verdict stands only if what was compared is what was signed. */
	if ((r = hm_trust_finish(tm, &err)) < 0)
		goto fail;

	rep.finished = time(NULL);
	rep.tool_version = HM_VERSION;
	rep.target = target;
	rep.host = host;
	rep.manifest_path = manifest;
	rep.manifest_name = tm->header->name;
	rep.serial = tm->header->serial;
	rep.manifest_sha256 = tm->sha256_hex;
	rep.key_id = tm->key_id;
	rep.policy_path = policy_path;
	rep.stats = &stats;
	rep.spool = spool;
	rep.exit_code = is_drift(&stats) ? HM_EXIT_DRIFT : HM_EXIT_OK;
	ro.rep = &rep;
	ro.fmt = (enum hm_report_format)fmt;
	/*
	 * A reader that stops early (`| head`) cuts the report, not the run:
	 * it is still recorded, and the exit code is then 2 ("output cut"),
	 * never a pass or drift the reader did not see in full.
	 */
	if ((r = hm_write_output(out_path, print_report, &ro, &err)) < 0) {
		if (err.sys_errno != EPIPE)
			goto fail;
		cut = err;
		hm_error_clear(&err);
	}
	/*
	 * The report stands even if recording fails; the failure is then the
	 * exit code (2, or 3 if a concurrent run recorded a higher serial),
	 * so a timer unit does not pass a run the history lacks.
	 */
	if (hist && (r = hm_history_record(hist, &rep, NULL, &err)) < 0) {
		if (cut.code)
			hm_cli_error(&cut);
		goto fail;
	}
	rc = cut.code ? hm_cli_error(&cut) : rep.exit_code;
	goto out;
fail:
	rc = hm_cli_error(&err);
out:
	hm_history_free(hist);
	hm_source_free(src);
	free(pinned);
	free(attached);
	hm_trust_free(tm);
	hm_policy_free(policy);
	hm_finding_spool_free(spool);
	for (i = 0; i < n_keys; i++)
		hm_pubkey_free(keys[i]);
	return rc;
}
