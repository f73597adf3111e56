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

#include "hallmark/audit.h"
#include "hallmark/buf.h"
#include "hallmark/cli.h"
#include "hallmark/compare.h"
#include "hallmark/fsutil.h"
#include "hallmark/history.h"
#include "hallmark/image.h"
#include "hallmark/manifest.h"
#include "hallmark/nss_files.h"
#include "hallmark/policy.h"
#include "hallmark/progress.h"
#include "hallmark/prometheus.h"
#include "hallmark/registry.h"
#include "hallmark/report.h"
#include "hallmark/runtime.h"
#include "hallmark/sign.h"
#include "hallmark/source.h"
#include "hallmark/syslog.h"
#include "hallmark/target.h"
#include "hallmark/trust.h"
#include "verifier.h"

#define HM_MAX_PUBKEYS 16

static const char verify_usage[] =
	"usage: %s TARGET --manifest FILE --pubkey FILE... [--signature FILE]\n"
	"       [--policy FILE] [--db FILE|URI] [--host NAME]\n"
	"       [--format text|json|junit|sarif] [-o REPORT] [--threads N]\n"
	"       [--runtime] [--prometheus FILE] [--syslog] [--quiet|--verbose]\n"
	"       [--authfile FILE] [--ca-file FILE] [--insecure-registry HOST]\n"
	"\n"
	"Verify TARGET against a signed manifest.  TARGET: dir:PATH (or a bare\n"
	"path to a directory), tar:FILE, tar:- (stdin), oci:FILE (OCI archive or\n"
	"docker-archive), oci-dir:PATH,\n"
	"registry:HOST[:PORT]/REPO[:TAG|@DIGEST] (an image in a registry),\n"
	"disk:FILE[,format=raw|qcow2] (a VM disk image, read-only; 'hallmark\n"
	"verify' only); or a running system against the manifest's runtime\n"
	"section: runtime: (this machine's processes, listeners, kernel modules\n"
	"and settings, mounts) or runtime:PID (those of the container whose\n"
	"process PID is).  The signature is checked over the manifest's bytes,\n"
	"with the pinned keys only, before a line of it is read; there is no\n"
	"way to skip it.\n"
	"\n"
	"  -m, --manifest FILE      the manifest (required, except for a registry:\n"
	"                           image with a signed hallmark manifest attached)\n"
	"  -k, --pubkey FILE        a pinned public key; repeat for several (required)\n"
	"  -s, --signature FILE     the signature (default: MANIFEST.sig)\n"
	"  -p, --policy FILE        paths ignored, allowed to change or to be added\n"
	"  -d, --db FILE|URI        record the run in this history database (an\n"
	"                           SQLite file or a postgresql:// URI), and\n"
	"                           refuse a serial older than one already seen\n"
	"  -H, --host NAME          host name recorded in the report and the history\n"
	"                           (with --db, default: this machine's name)\n"
	"  -f, --format FORMAT      text (default), json, junit or sarif\n"
	"  -o, --output REPORT      write the report there, atomically (default: stdout)\n"
	"  -j, --threads N          hashing threads (default: number of CPUs)\n"
	"      --authfile FILE      registry credentials (containers-auth.json)\n"
	"      --ca-file FILE       CA certificates for the registry's TLS\n"
	"      --insecure-registry HOST  allow plain HTTP to HOST\n"
	"  -r, --runtime            with dir:, check this machine's running state too,\n"
	"                           in the same report\n"
	"  -q, --quiet              no progress line on a terminal\n"
	"  -v, --verbose            also the time the check took\n"
	"      --prometheus FILE    write the run's metrics there, atomically\n"
	"                           (Prometheus text format, for node_exporter)\n"
	"      --syslog             one line per finding and one per run to\n"
	"                           syslog (JSON with ECS field names)\n"
	"%s"
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

static void warn_unused_glob(void *ctx, const char *file, unsigned long line,
			     const char *list, const char *glob)
{
	(void)ctx;
	fprintf(stderr, "%s: warning: %s:%lu: %s glob '%s' matches nothing in the manifest\n",
		hm_cli_prog, file ? file : "the policy", line, list, glob);
}

static bool has_image(const struct hm_manifest_header *h, const char *kind)
{
	size_t i;

	for (i = 0; i < h->n_images; i++)
		if (strcmp(h->images[i].kind, kind) == 0)
			return true;
	return false;
}

/*
 * A build's NAME.manifest has the oci and tar image lines, its
 * NAME.disk.manifest the qcow2 and raw ones (the disk tree has /boot and
 * the kernel the container tree lacks): said before a long disk read.
 */
static void hint_manifest(const char *target, const char *manifest,
			  const struct hm_manifest_header *h)
{
	size_t n = strlen(manifest);
	bool disk = has_image(h, "qcow2") || has_image(h, "raw");
	bool container = has_image(h, "oci") || has_image(h, "tar");

	if (strncmp(target, "disk:", 5) == 0 && container && !disk) {
		if (n > 9 && strcmp(manifest + n - 9, ".manifest") == 0)
			fprintf(stderr, "%s: hint: '%s' is a container manifest (image lines oci, tar): a disk is verified against %.*s.disk.manifest\n",
				hm_cli_prog, manifest, (int)(n - 9), manifest);
		else
			fprintf(stderr, "%s: hint: '%s' is a container manifest (image lines oci, tar): a disk is verified against NAME.disk.manifest\n",
				hm_cli_prog, manifest);
	} else if (strncmp(target, "disk:", 5) != 0 && disk && !container) {
		fprintf(stderr, "%s: hint: '%s' is a disk manifest (image lines qcow2, raw): verify a disk: target against it, other targets against NAME.manifest\n",
			hm_cli_prog, manifest);
	}
}

/*
 * Findings go to the spool; a changed /etc/passwd of a live folder is
 * read again (below the root, O_NOFOLLOW, as dir: audits read it) and
 * its uid-0 accounts besides root are named in the finding's detail: a
 * second root is the drift a reader must not miss among the others.
 * The manifest holds only the old file's digest, so the note says what
 * is there now, not that it was not there before.
 */
struct verify_sink {
	struct hm_finding_spool *spool;
	const char *root;        /* the dir: target's folder, or NULL */
};

static int verify_finding(void *ctx, const struct hm_finding *f,
			  struct hm_error *err)
{
	static const char PASSWD[] = "/etc/passwd";
	const struct verify_sink *vs = ctx;
	struct hm_buf names = HM_BUF_INIT, detail = HM_BUF_INIT;
	struct hm_finding nf;
	struct hm_error rerr = { 0 };
	char *data = NULL;
	size_t len, n = 0;
	int r;

	if (!vs->root || f->kind != HM_FINDING_CONTENT ||
	    f->path_len != sizeof(PASSWD) - 1 || memcmp(f->path, PASSWD, f->path_len) != 0)
		return hm_finding_spool_add(vs->spool, f, err);
	/* Unreadable now (gone, a symlink, over the limit): the finding as is. */
	if (hm_image_read_beneath(vs->root, PASSWD, HM_LIMIT_AUDIT_FILE_BYTES,
				  &data, &len, &rerr) < 0)
		return hm_finding_spool_add(vs->spool, f, err);
	r = hm_nss_passwd_uid0(data, len, &names, &n, err);
	free(data);
	if (r < 0)
		goto out;
	if (n == 0) {
		r = hm_finding_spool_add(vs->spool, f, err);
		goto out;
	}
	if (hm_buf_addf(&detail, "%s%suid-0 account%s %s besides root",
			f->detail ? f->detail : "", f->detail ? "; " : "",
			n > 1 ? "s" : "", names.data) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	nf = *f;
	nf.detail = detail.data;
	r = hm_finding_spool_add(vs->spool, &nf, err);
out:
	hm_buf_free(&names);
	hm_buf_free(&detail);
	return r;
}

/* An OCI image read as a plain tree: drift that is a mistake of the
 * command line, not of the target. */
static void hint_target(const char *target, const struct hm_compare_stats *s)
{
	if (!s->oci_layout)
		return;
	if (strncmp(target, "tar:", 4) == 0)
		fprintf(stderr, "%s: hint: '%s' is an OCI image archive (it has oci-layout and index.json): verify oci:%s\n",
			hm_cli_prog, target + 4, target + 4);
	else if (strncmp(target, "oci", 3) != 0)
		fprintf(stderr, "%s: hint: '%s' is an OCI image layout (it has oci-layout and index.json): verify oci-dir:%s\n",
			hm_cli_prog, target, strncmp(target, "dir:", 4) == 0 ?
			target + 4 : target);
}

/* --prometheus and --syslog: what monitoring reads (issue 16). */
struct feeds {
	const char *prometheus;        /* --prometheus FILE or NULL */
	bool syslog;
	struct timespec t0;
};

static int syslog_finding(void *ctx, const struct hm_finding *f,
			  struct hm_error *err)
{
	return hm_syslog_finding(ctx, f, err);
}

/*
 * Every run ends here, an error too (exit 2 or 3 is what monitoring must
 * see).  A feed that cannot be written makes the exit code 2, as a
 * history that cannot be written does: a run must not look green while
 * its metrics silently stop.
 */
static int feeds_finish(const struct feeds *fd, const struct hm_report *rep,
			const struct hm_error *run_err, int rc)
{
	struct timespec t1;
	struct hm_error err = { 0 };
	double dur;
	int r;

	if (!fd->prometheus && !fd->syslog)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dur = (double)(t1.tv_sec - fd->t0.tv_sec) +
	      (double)(t1.tv_nsec - fd->t0.tv_nsec) / 1e9;
	if (fd->syslog) {
		struct hm_syslog_run sr = {
			.host = rep->host, .target = rep->target,
			.manifest_name = rep->manifest_name, .serial = rep->serial,
			.exit_code = rc, .error = run_err->code ? run_err->msg : NULL,
			.findings = rep->stats ? rep->stats->total_findings : 0,
			.started = rep->started,
			.finished = rep->finished ? rep->finished : time(NULL),
			.duration = dur,
		};

		hm_syslog_open();
		r = 0;
		if (rep->stats && rep->exit_code == HM_EXIT_DRIFT)
			r = hm_report_each_finding(rep, syslog_finding, &sr, &err);
		if (r == 0)
			r = hm_syslog_run(&sr, &err);
		hm_syslog_close();
		if (r < 0)
			rc = hm_cli_error(&err);
	}
	if (fd->prometheus) {
		struct hm_prometheus_run pr = {
			.host = rep->host, .target = rep->target,
			.manifest_name = rep->manifest_name,
			.have_serial = rep->manifest_name != NULL,
			.serial = rep->serial, .exit_code = rc, .stats = rep->stats,
			.finished = rep->finished ? rep->finished : time(NULL),
			.duration = dur,
		};

		if (hm_prometheus_write(fd->prometheus, &pr, &err) < 0)
			rc = hm_cli_error(&err);
	}
	return rc;
}

/* runtime: and --runtime: the manifest must carry a runtime baseline. */
static int check_runtime(const struct hm_trusted_manifest *tm, pid_t pid,
			 const struct hm_runtime_image *img,
			 struct hm_finding_spool *spool, struct hm_compare_stats *stats,
			 struct hm_error *err)
{
	struct hm_runtime_options o = { .pid = pid };
	struct hm_runtime_stats rs;
	struct hm_compare_stats rc;
	size_t k;
	int r;

	r = hm_runtime_check(&o, tm->header->runtime, img, hm_finding_spool_add, spool,
			     &rs, &rc, err);
	if (r < 0)
		return r;
	for (k = 0; k < HM_FINDING__COUNT; k++)
		stats->findings[k] += rc.findings[k];
	stats->total_findings += rc.total_findings;
	stats->bytes_hashed += rs.hashed_bytes;
	stats->actual += rs.processes;
	if (rs.modules_skipped)
		fprintf(stderr, "%s: kernel modules not inspected: the image ships no "
			"module files, so those loaded are the host's\n", hm_cli_prog);
	return 0;
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
	bool quiet = false, verbose = false;
	struct hm_progress *progress = NULL;
	struct feeds feeds = { 0 };
	bool runtime = false, rt_target;
	pid_t rt_pid = 0;
	struct hm_runtime_image *img = NULL;
	struct hm_source *tee = NULL;
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
		HM_OPT_FLAG('r', "runtime", &runtime),
		HM_OPT_QUIET(&quiet),
		HM_OPT_VERBOSE(&verbose),
		HM_OPT_STRING(0, "prometheus", &feeds.prometheus),
		HM_OPT_FLAG(0, "syslog", &feeds.syslog),
		HM_OPT_REGISTRY(&rcli),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	char usage[sizeof(verify_usage) + 128];
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

	/* hallmark-verify has no commands: --version is its own (main.c). */
	snprintf(usage, sizeof(usage), verify_usage, prog,
		 strcmp(hm_cli_prog, "hallmark-verify") == 0 ?
		 "      --version            show the version and exit\n" : "");
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
	/* A running system is not a tree: runtime: is checked by its own
	 * engine (lib/runtime*.c), not opened through the table of targets. */
	rt_target = hm_runtime_is_target(target);
	if (rt_target && (r = hm_runtime_parse_target(target, &rt_pid, &err)) < 0)
		return hm_cli_error(&err);
	if (rt_target && runtime)
		return hm_cli_fail("--runtime goes with a dir: target: '%s' is already "
				   "a runtime check", target);
	if (rt_target && policy_path)
		return hm_cli_fail("--policy applies to file trees, not to '%s'", target);
	if (runtime && strncmp(target, "dir:", 4) != 0 && target[0] != '/')
		return hm_cli_fail("--runtime checks this machine: it goes with a dir: "
				   "target, not '%s'", target);
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

	clock_gettime(CLOCK_MONOTONIC, &feeds.t0);
	rep.started = time(NULL);
	rep.target = target;
	rep.host = host;
	for (i = 0; i < n_keys; i++)
		if ((r = hm_pubkey_load(pubkey_paths[i], &keys[i], &err)) < 0)
			goto fail;
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
	hint_manifest(target, manifest, tm->header);
	if ((rt_target || runtime) && !tm->header->runtime) {
		r = hm_error_set(&err, HM_ERR_USAGE, 0, "manifest %s has no runtime "
				 "baseline: build its image from a template with a "
				 "runtime: section", tm->header->name);
		goto fail;
	}
	if ((rt_target || runtime) && (r = hm_runtime_image_new(&img, &err)) < 0)
		goto fail;
	/* Rollback is refused before anything is compared, and the serial
	 * (its signature checked) is claimed at once: a run of an older one
	 * racing with this one is refused whichever records first. */
	if (db_path) {
		if ((r = hm_history_open(db_path, HM_HISTORY_CREATE, &hist, &err)) < 0 ||
		    (r = hm_history_claim_serial(hist, tm->header->name, tm->key_id,
						 tm->header->serial, &err)) < 0)
			goto fail;
	}
	/* The history and the feeds always name a host. */
	if (!host && (db_path || feeds.prometheus || feeds.syslog)) {
		if (gethostname(hostname, sizeof(hostname)) < 0)
			snprintf(hostname, sizeof(hostname), "localhost");
		hostname[sizeof(hostname) - 1] = '\0';
		host = hostname;
	}
	rep.host = host;
	rep.manifest_name = tm->header->name;
	rep.serial = tm->header->serial;
	if (policy_path && (r = hm_policy_load(policy_path, &policy, &err)) < 0)
		goto fail;
	scan.threads = (unsigned)threads;
	hm_policy_source_filter(policy, &scan.filter);
	/* Findings go to a temporary file as they are found: a run with
	 * millions of them reports and records them in flat memory. */
	if ((r = hm_finding_spool_new(NULL, &spool, &err)) < 0)
		goto fail;
	if (rt_target) {
		memset(&stats, 0, sizeof(stats));
		if ((r = hm_runtime_image_load(hm_manifest_reader_source(tm->reader),
					       img, &err)) < 0 ||
		    (r = hm_trust_finish(tm, &err)) < 0)
			goto fail;
		stats.expected = tm->header->entries;
		/* Only what was signed is checked against. */
		if ((r = check_runtime(tm, rt_pid, img, spool, &stats, &err)) < 0)
			goto fail;
	} else {
		/* Entries checked of the manifest's count: a disk's appliance
		 * start shows as the heartbeat, before the first entry. */
		progress = hm_cli_progress_new(prog, quiet, verbose, false);
		hm_progress_begin(progress, "verify", "entries", tm->header->entries);
		r = hm_source_open_target(target, &scan, &src, &err);
		if (r < 0 || (r = hm_progress_source_take(progress, src, &src, &err)) < 0)
			goto fail;
		if (runtime && (r = hm_runtime_image_tee(hm_manifest_reader_source(tm->reader),
							 img, &tee, &err)) < 0)
			goto fail;
		{
			const struct hm_target *row;
			const char *spec;
			struct hm_error perr = { 0 };
			struct verify_sink vs = { spool, NULL };

			/* A live tree's /etc/passwd can be read again, to name
			 * its uid-0 accounts (verify_finding). */
			if (hm_target_parse(hm_program_targets, target, &row, &spec,
					    &perr) == 0 && row->live)
				vs.root = spec;
			r = hm_compare(tee ? tee : hm_manifest_reader_source(tm->reader),
				       src, policy, verify_finding, &vs, &stats, &err);
		}
		if (r < 0)
			goto fail;
		/* The verdict stands only if what was compared is what was signed. */
		if ((r = hm_trust_finish(tm, &err)) < 0)
			goto fail;
		hm_progress_end(progress, NULL);
		hm_cli_progress_done();
		if (runtime && (r = check_runtime(tm, 0, img, spool, &stats, &err)) < 0)
			goto fail;
	}

	hm_policy_each_unused(policy, warn_unused_glob, NULL);
	if (is_drift(&stats))
		hint_target(target, &stats);
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
	rc = feeds_finish(&feeds, &rep, &cut, rc);
	goto out;
fail:
	rc = hm_cli_error(&err);
	rep.exit_code = rc;
	rc = feeds_finish(&feeds, &rep, &err, rc);
out:
	hm_history_free(hist);
	hm_source_free(tee);
	hm_runtime_image_free(img);
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
