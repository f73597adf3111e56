/*
 * `hallmark build TEMPLATE`: base -> tree -> operations -> outputs
 * (rootfs tar, OCI archive) -> manifest bound to their digests -> signature
 * -> VM disks (raw, qcow2) and their own manifest -> build.json.
 *
 * A template with disk outputs makes two trees from the final one: the
 * disk tree (everything, plus fstab, extlinux and what they bring) and
 * the container tree (without the template's vm_only paths: kernels and
 * modules are dead weight in a container).  NAME.manifest describes the
 * container tree and NAME.disk.manifest the disk tree, each bound to the
 * digests of the images made from it.
 *
 * Every output is written into a private staging folder inside the output
 * folder, which becomes the published set in one step only when all of
 * them exist (publish.c): a failed build leaves nothing at a final name,
 * and a reader sees the previous complete set or the new one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base.h"
#include "blobstore.h"
#include "builder.h"
#include "emit.h"
#include "harden.h"
#include "hallmark/audit.h"
#include "hallmark/cli.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/image.h"
#include "hallmark/manifest.h"
#include "hallmark/packages.h"
#include "hallmark/policy.h"
#include "hallmark/report.h"
#include "hallmark/sign.h"
#include "hallmark/tree.h"
#include "ops.h"
#include "publish.h"
#include "template.h"

static const char build_usage[] =
	"usage: hallmark build TEMPLATE [-o DIR] [--key KEY] [--passphrase-file F]\n"
	"       [--serial N] [--source-date-epoch T] [--cache DIR]\n"
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
	"  -h, --help                show this help\n";

/* OUT_DTAR and OUT_DSCRATCH are working files in the staging folder,
 * never published (and removed with it). */
enum { OUT_TAR, OUT_OCI, OUT_AUDIT, OUT_SBOM, OUT_MANIFEST, OUT_SIG, OUT_BUILD,
       OUT_RAW, OUT_QCOW2, OUT_DMANIFEST, OUT_DSIG, OUT_DTAR, OUT_DSCRATCH,
       OUT__N };
static const char *const out_suffix[OUT__N] = {
	".rootfs.tar", ".oci.tar", ".audit.json", ".sbom.spdx.json", ".manifest",
	".manifest.sig", ".build.json", ".raw", ".qcow2", ".disk.manifest",
	".disk.manifest.sig", ".disk-content.tar", ".disk-scratch.raw",
};

/* What the disk phase made, for the manifest and build.json. */
struct disk_out {
	struct hm_disk_ids ids;
	struct hm_disk_result res;
	uint64_t entries;             /* of the disk manifest */
	uint64_t vm_only;             /* entries only the disk has */
};

struct build {
	struct hm_template *t;
	const char *out_dir;
	struct hm_stage *stage;       /* staging folder inside out_dir */
	char *paths[OUT__N];          /* staged paths */
	char *finals[OUT__N];         /* final paths */
	bool made[OUT__N];
	struct hm_privkey *key;
	char key_id[HM_KEYID_LEN + 1];
	time_t sde;
	struct timespec t0;
	json_t *timings;
};

static double elapsed(const struct build *b)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - b->t0.tv_sec) +
	       (double)(now.tv_nsec - b->t0.tv_nsec) / 1e9;
}

static void phase_done(struct build *b, const char *phase, double *since)
{
	double now = elapsed(b);

	json_object_set_new(b->timings, phase,
			    json_integer((json_int_t)((now - *since) * 1000)));
	fprintf(stderr, "hallmark build: %s done (%.1f s)\n", phase, now - *since);
	*since = now;
}

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

static int mkdir_p(const char *path, struct hm_error *err)
{
	char *copy = strdup(path), *p;

	if (!copy)
		return hm_error_nomem(err);
	for (p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
			hm_error_set(err, HM_ERR_IO, errno, "cannot create '%s'", copy);
			free(copy);
			return HM_ERR_IO;
		}
		*p = '/';
	}
	free(copy);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot create '%s'", path);
	return 0;
}

/* SHA-512 of a file, for its signature. */
static int sha512_file(const char *path, unsigned char out[64],
		       struct hm_error *err)
{
	struct hm_hash *h = hm_hash_new(HM_HASH_SHA512);
	char *data = NULL;
	size_t len;
	int r;

	if (!h)
		return hm_error_nomem(err);
	r = hm_read_file(path, HM_LIMIT_MANIFEST_BYTES, &data, &len, err);
	if (r == 0) {
		hm_hash_update(h, data, len);
		hm_hash_final(h, out);
	}
	free(data);
	hm_hash_free(h);
	return r;
}

static void header_init(const struct build *b, uint64_t serial,
			struct hm_manifest_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = HM_MANIFEST_VERSION;
	snprintf(h->name, sizeof(h->name), "%s", b->t->name);
	h->serial = serial;
	h->created = b->sde;
	h->expires = b->t->expires_days ?
		     b->sde + (time_t)b->t->expires_days * 86400 : HM_EXPIRES_NEVER;
	snprintf(h->template_digest, sizeof(h->template_digest), "sha256:%s",
		 b->t->sha256);
}

/* Image lines must come sorted by kind: callers add them in that order. */
static void header_image(struct hm_manifest_header *h, const char *kind,
			 const char *digest)
{
	snprintf(h->images[h->n_images].kind, sizeof(h->images[0].kind), "%s", kind);
	snprintf(h->images[h->n_images].digest, sizeof(h->images[0].digest),
		 "%s", digest);
	h->n_images++;
}

static void sha_digest(const unsigned char sha[32], char out[72])
{
	char hex[65];

	hm_hex_encode(sha, 32, hex);
	snprintf(out, 72, "sha256:%s", hex);
}

static int write_tree_manifest(struct hm_tree *tree, const char *path,
			       struct hm_manifest_header *h,
			       uint64_t *ret_entries, struct hm_error *err)
{
	struct hm_source *src = NULL;
	int r;

	r = hm_tree_source(tree, false, &src, err);
	if (r == 0)
		r = hm_manifest_write(path, h, src, err);
	hm_source_free(src);
	*ret_entries = h->entries;
	return r;
}

static int write_manifest(struct build *b, struct hm_tree *tree,
			  const struct hm_oci_result *oci,
			  const unsigned char tar_sha[32], uint64_t serial,
			  uint64_t *ret_entries, struct hm_error *err)
{
	struct hm_manifest_header h;
	char digest[72];

	header_init(b, serial, &h);
	/* image lines are sorted by kind: oci before tar. */
	if (b->t->outputs & HM_OUTPUT_OCI)
		header_image(&h, "oci", oci->manifest_digest);
	sha_digest(tar_sha, digest);
	header_image(&h, "tar", digest);
	return write_tree_manifest(tree, b->paths[OUT_MANIFEST], &h, ret_entries, err);
}

static int sign_manifest(struct build *b, int manifest, int sigfile,
			 struct hm_error *err)
{
	unsigned char sha512[64], sig[HM_SIG_LEN];
	char *text = NULL;
	size_t len;
	int r;

	r = sha512_file(b->paths[manifest], sha512, err);
	if (r == 0)
		r = hm_sign_manifest_digest(b->key, sha512, sig, err);
	if (r == 0)
		r = hm_sigfile_format(b->key_id, sig, &text, &len, err);
	if (r == 0)
		r = hm_write_file_atomic(b->paths[sigfile], text, len, 0644, true, err);
	free(text);
	return r;
}

/* --- disks --------------------------------------------------------------- */

struct vm_only {
	const struct hm_tpl_disk *d;
	char **paths;
	size_t n, cap;
};

static int vm_only_match(void *ctx, const struct hm_entry *e)
{
	struct vm_only *v = ctx;
	size_t i;

	if (e->flags & HM_ENTRY_DELETED || (e->path_len == 1 && e->path[0] == '/'))
		return 0;
	for (i = 0; i < v->d->n_vm_only; i++)
		if (hm_glob_match(v->d->vm_only[i], e->path, e->path_len))
			break;
	if (i == v->d->n_vm_only)
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		char **p = realloc(v->paths, cap * sizeof(*p));

		if (!p)
			return HM_ERR_NOMEM;
		v->paths = p;
		v->cap = cap;
	}
	if (!(v->paths[v->n] = strdup(e->path)))
		return HM_ERR_NOMEM;
	v->n++;
	return 0;
}

/* The container tree: the final tree without the vm_only paths (each
 * with its subtree, as `remove` does). */
static int remove_vm_only(struct hm_tree *tree, const struct hm_tpl_disk *d,
			  uint64_t *ret_removed, struct hm_error *err)
{
	struct vm_only v = { d, NULL, 0, 0 };
	size_t i;
	int r = 0;

	*ret_removed = 0;
	if (hm_tree_walk(tree, vm_only_match, &v) < 0)
		r = hm_error_nomem(err);
	for (i = 0; r == 0 && i < v.n; i++) {
		long n = hm_tree_remove(tree, v.paths[i], strlen(v.paths[i]), NULL);

		if (n > 0)
			*ret_removed += (uint64_t)n;
	}
	for (i = 0; i < v.n; i++)
		free(v.paths[i]);
	free(v.paths);
	return r;
}

/*
 * The disks, once more if the appliance stopped answering the first time
 * (a guest under TCG can wedge; the watchdog stops it).  The disk is made
 * from scratch each time from the same inputs, so a second attempt gives
 * the same bytes as an undisturbed first.  The read-back adds to the
 * tree, so each attempt works on its own copy: *ret_tree, the tree of
 * the disk made.
 */
static int emit_disk_retry(const struct hm_disk_job *job,
			   const struct hm_tree *disk_tree, struct hm_tree **ret_tree,
			   struct hm_disk_result *res, struct hm_error *err)
{
	struct hm_tree *copy = NULL;
	int r, attempt;

	for (attempt = 1;; attempt++) {
		if ((r = hm_disk_tree_dup(disk_tree, &copy, err)) < 0)
			return r;
		r = hm_emit_disk(job, copy, res, err);
		if (r == 0 || !res->hung || attempt == 2)
			break;
		fprintf(stderr, "hallmark build: %s; starting it again (once)\n", err->msg);
		hm_error_clear(err);
		hm_tree_free(copy);
		copy = NULL;
		if (job->raw_path)
			unlink(job->raw_path);
		if (job->qcow2_path)
			unlink(job->qcow2_path);
	}
	if (r < 0) {
		hm_tree_free(copy);
		copy = NULL;
	}
	*ret_tree = copy;
	return r;
}

/*
 * The disk phase: the disk tree as a tar (staged, removed after), the
 * disk(s) from it, and the disk manifest bound to their digests.
 */
static int build_disks(struct build *b, const struct hm_tree *disk_tree,
		       struct hm_blobstore *store, uint64_t serial,
		       struct disk_out *d, struct hm_error *err)
{
	struct hm_disk_job job = { 0 };
	struct hm_manifest_header h;
	struct hm_tree *made = NULL;
	unsigned char tar_sha[32];
	char digest[72];
	int r;

	r = hm_emit_tar(disk_tree, store, b->sde, b->paths[OUT_DTAR], tar_sha, err);
	if (r < 0)
		return r;
	job.disk = &b->t->disk;
	job.ids = &d->ids;
	job.content_tar = b->paths[OUT_DTAR];
	job.raw_path = b->t->outputs & HM_OUTPUT_RAW ? b->paths[OUT_RAW] : NULL;
	job.qcow2_path = b->t->outputs & HM_OUTPUT_QCOW2 ? b->paths[OUT_QCOW2] : NULL;
	job.scratch_raw = b->paths[OUT_DSCRATCH];
	job.mtime = b->sde;
	r = emit_disk_retry(&job, disk_tree, &made, &d->res, err);
	unlink(b->paths[OUT_DTAR]);
	if (r < 0)
		return r;
	b->made[OUT_RAW] = job.raw_path != NULL;
	b->made[OUT_QCOW2] = job.qcow2_path != NULL;

	header_init(b, serial, &h);
	/* Sorted by kind: qcow2 before raw. */
	if (job.qcow2_path) {
		sha_digest(d->res.qcow2_sha256, digest);
		header_image(&h, "qcow2", digest);
	}
	if (job.raw_path) {
		sha_digest(d->res.raw_sha256, digest);
		header_image(&h, "raw", digest);
	}
	r = write_tree_manifest(made, b->paths[OUT_DMANIFEST], &h, &d->entries, err);
	hm_tree_free(made);
	if (r < 0)
		return r;
	b->made[OUT_DMANIFEST] = true;
	if (b->key) {
		if ((r = sign_manifest(b, OUT_DMANIFEST, OUT_DSIG, err)) < 0)
			return r;
		b->made[OUT_DSIG] = true;
	}
	return 0;
}

/* An output: its final name, digest and size (stat of the staged file). */
static json_t *digest_json(const char *staged, const char *final,
			   const char *digest)
{
	struct stat st;

	return json_pack("{s:s, s:s, s:I}", "file", final, "digest", digest,
			 "size", (json_int_t)(stat(staged, &st) == 0 ? st.st_size : -1));
}

/* Contents of the final tree's files for the audit: from the blob store. */
static int read_blob(void *ctx, const struct hm_entry *e, size_t max,
		     char **ret, size_t *ret_len, struct hm_error *err)
{
	if (e->size > max)
		return hm_error_set(err, HM_ERR_LIMIT, 0, "'%s' is larger than %zu bytes",
				    e->path, max);
	return hm_blob_read(ctx, e->sha256, max, ret, ret_len, err);
}


struct gate {
	struct hm_audit_result res;
	enum hm_severity fail_on;
	const char *name;
	struct hm_packages pkgs;
	bool have_pkgs;
	time_t created;
};

static int gate_report(void *ctx, FILE *f, struct hm_error *err)
{
	struct gate *g = ctx;

	return hm_audit_report_write(&g->res, g->name, g->fail_on, HM_REPORT_JSON, f, err);
}

static int gate_sbom(void *ctx, FILE *f, struct hm_error *err)
{
	struct gate *g = ctx;

	return hm_sbom_write(&g->pkgs, g->name, g->created, f, err);
}

/*
 * The audit gate, on the final tree and before any output exists: a
 * finding at or above the template's fail_on that no exception covers
 * fails the build.  Also loads the package list for the SBOM.
 */
static int run_gate(struct build *b, struct hm_tree *tree,
		    struct hm_blobstore *store, struct gate *g, bool *ret_failed,
		    struct hm_error *err)
{
	struct hm_audit_exception *ex = NULL;
	const char **users = NULL;
	struct hm_audit_options opt = { 0 };
	struct hm_image *img = NULL;
	struct hm_error perr = { 0 };
	size_t i;
	int r;

	g->fail_on = (enum hm_severity)hm_severity_from_name(b->t->audit.fail_on);
	g->name = b->t->name;
	g->created = b->sde;
	ex = calloc(b->t->audit.n_exceptions + 1, sizeof(*ex));
	users = calloc(b->t->n_users + 1, sizeof(*users));
	if (!ex || !users) {
		r = hm_error_nomem(err);
		goto out;
	}
	for (i = 0; i < b->t->audit.n_exceptions; i++) {
		ex[i].rule_id = b->t->audit.exceptions[i].rule;
		ex[i].path_glob = b->t->audit.exceptions[i].path;
		ex[i].reason = b->t->audit.exceptions[i].reason;
	}
	for (i = 0; i < b->t->n_users; i++)
		users[i] = b->t->users[i].name;
	opt.exceptions = ex;
	opt.n_exceptions = b->t->audit.n_exceptions;
	opt.declared_users = users;
	if ((r = hm_image_from_tree(tree, read_blob, store, &img, err)) < 0 ||
	    (r = hm_audit_run(img, &opt, &g->res, err)) < 0)
		goto out;
	*ret_failed = hm_audit_fails(&g->res, g->fail_on);
	/* No package database (not a Debian tree): no SBOM, not an error. */
	g->have_pkgs = hm_packages_load(img, &g->pkgs, &perr) == 0;
out:
	hm_image_free(img);
	free(ex);
	free(users);
	return r;
}

static json_t *audit_json(const struct gate *g)
{
	json_t *counts = json_object();
	size_t i, excepted = 0;
	int s;

	for (s = HM_SEV_INFO; s <= HM_SEV_CRITICAL; s++)
		json_object_set_new(counts, hm_severity_name((enum hm_severity)s), json_integer(0));
	for (i = 0; i < g->res.n_findings; i++) {
		const struct hm_audit_finding *f = &g->res.findings[i];
		const char *k = hm_severity_name(f->rule->severity);

		if (f->excepted) {
			excepted++;
			continue;
		}
		json_object_set_new(counts, k, json_integer(json_integer_value(json_object_get(counts, k)) + 1));
	}
	return json_pack("{s:s, s:o, s:I, s:I}", "fail_on", hm_severity_name(g->fail_on),
			 "findings", counts, "excepted", (json_int_t)excepted,
			 "skipped", (json_int_t)g->res.n_skipped);
}

static json_t *disk_json(const struct build *b, int k,
			 const unsigned char sha[32], const struct disk_out *d)
{
	char digest[72];
	json_t *o;

	sha_digest(sha, digest);
	o = digest_json(b->paths[k], b->finals[k], digest);
	json_object_set_new(o, "virtual_size", json_integer((json_int_t)b->t->disk.size));
	json_object_set_new(o, "partition_table",
			    json_string(b->t->disk.partition_table == HM_PT_GPT ? "gpt" : "mbr"));
	json_object_set_new(o, "filesystem", json_string(b->t->disk.filesystem));
	json_object_set_new(o, "filesystem_uuid", json_string(d->ids.fs_uuid));
	json_object_set_new(o, "label", json_string(b->t->disk.label));
	return o;
}

static int write_build_json(struct build *b, const struct hm_oci_result *oci,
			    const unsigned char tar_sha[32],
			    const struct hm_ops_stats *ops, uint64_t hardened,
			    const struct gate *g, uint64_t serial,
			    uint64_t entries, int cache_hit,
			    const struct disk_out *disk, struct hm_error *err)
{
	char hex[65], tar_digest[72], created[21];
	json_t *root, *outputs, *base;
	char *text;
	int r;

	hm_hex_encode(tar_sha, 32, hex);
	snprintf(tar_digest, sizeof(tar_digest), "sha256:%s", hex);
	hm_time_format(b->sde, created);
	outputs = json_object();
	if (b->t->outputs & HM_OUTPUT_TAR)
		json_object_set_new(outputs, "rootfs",
				    digest_json(b->paths[OUT_TAR], b->finals[OUT_TAR],
						tar_digest));
	if (b->t->outputs & HM_OUTPUT_OCI) {
		json_t *o = digest_json(b->paths[OUT_OCI], b->finals[OUT_OCI], oci->archive_sha256);

		json_object_set_new(o, "image_manifest", json_string(oci->manifest_digest));
		json_object_set_new(o, "config", json_string(oci->config_digest));
		json_object_set_new(o, "layer", json_string(oci->layer_digest));
		json_object_set_new(o, "diff_id", json_string(oci->diff_id));
		json_object_set_new(outputs, "oci", o);
	}
	if (b->made[OUT_RAW])
		json_object_set_new(outputs, "raw",
				    disk_json(b, OUT_RAW, disk->res.raw_sha256, disk));
	if (b->made[OUT_QCOW2])
		json_object_set_new(outputs, "qcow2",
				    disk_json(b, OUT_QCOW2, disk->res.qcow2_sha256, disk));
	json_object_set_new(outputs, "audit", json_string(b->finals[OUT_AUDIT]));
	json_object_set_new(outputs, "sbom", b->made[OUT_SBOM] ?
			    json_string(b->finals[OUT_SBOM]) : json_null());
	json_object_set_new(outputs, "manifest", json_string(b->finals[OUT_MANIFEST]));
	json_object_set_new(outputs, "signature",
			    b->key ? json_string(b->finals[OUT_SIG]) : json_null());
	if (b->t->outputs & HM_OUTPUT_DISK) {
		json_object_set_new(outputs, "disk_manifest",
				    json_string(b->finals[OUT_DMANIFEST]));
		json_object_set_new(outputs, "disk_signature",
				    b->made[OUT_DSIG] ? json_string(b->finals[OUT_DSIG]) : json_null());
	}
	base = json_object();
	switch (b->t->base.kind) {
	case HM_BASE_DEBIAN: {
		json_t *pk = json_array();
		size_t i;

		for (i = 0; i < b->t->base.n_packages; i++)
			json_array_append_new(pk, json_string(b->t->base.packages[i]));
		json_object_set_new(base, "kind", json_string("debian"));
		json_object_set_new(base, "suite", json_string(b->t->base.suite));
		json_object_set_new(base, "variant", json_string(b->t->base.variant));
		json_object_set_new(base, "packages", pk);
		json_object_set_new(base, "cache_hit", json_boolean(cache_hit));
		break;
	}
	case HM_BASE_TARBALL:
		json_object_set_new(base, "kind", json_string("tarball"));
		json_object_set_new(base, "path", json_string(b->t->base.path));
		break;
	default:
		json_object_set_new(base, "kind", json_string("oci"));
		json_object_set_new(base, "path", json_string(b->t->base.path));
		break;
	}
	root = json_pack("{s:s, s:i, s:s, s:I, s:{s:s, s:s}, s:s, s:I, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o}",
			 "format", "hallmark-build", "version", 1,
			 "name", b->t->name, "serial", (json_int_t)serial,
			 "template", "path", b->t->path, "sha256", b->t->sha256,
			 "source_date_epoch", created,
			 "entries", (json_int_t)entries,
			 "base", base,
			 "outputs", outputs,
			 "operations",
			 "removed", (json_int_t)ops->removed,
			 "directories", (json_int_t)ops->dirs,
			 "files", (json_int_t)ops->files,
			 "symlinks", (json_int_t)ops->symlinks,
			 "groups", (json_int_t)ops->groups,
			 "users", (json_int_t)ops->users,
			 "permissions", (json_int_t)ops->perms,
			 "hardened", (json_int_t)hardened,
			 "audit", audit_json(g),
			 "key_id", b->key ? json_string(b->key_id) : json_null(),
			 "timings_ms", json_incref(b->timings));
	if (!root)
		return hm_error_nomem(err);
	if (b->t->outputs & HM_OUTPUT_DISK)
		json_object_set_new(root, "disk",
				    json_pack("{s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}}",
					      "entries", (json_int_t)disk->entries,
					      "vm_only_entries", (json_int_t)disk->vm_only,
					      "steps_ms",
					      "launch", (json_int_t)disk->res.launch_ms,
					      "copy", (json_int_t)disk->res.copy_ms,
					      "boot", (json_int_t)disk->res.boot_ms,
					      "pin", (json_int_t)disk->res.pin_ms,
					      "finish", (json_int_t)disk->res.finish_ms));
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return hm_error_nomem(err);
	r = hm_write_file_atomic(b->paths[OUT_BUILD], text, strlen(text), 0644, true, err);
	free(text);
	return r;
}

/* Every kind a build can publish; disk images stay regular files. */
static int publish(struct build *b, struct hm_error *err)
{
	static const int kinds[] = { OUT_TAR, OUT_OCI, OUT_AUDIT, OUT_SBOM,
				     OUT_MANIFEST, OUT_SIG, OUT_BUILD, OUT_RAW,
				     OUT_QCOW2, OUT_DMANIFEST, OUT_DSIG };
	struct hm_stage_output outs[sizeof(kinds) / sizeof(kinds[0])];
	size_t i;
	int k;

	/* What is not published must not stay in the published folder. */
	for (k = 0; k < OUT__N; k++)
		if (!b->made[k])
			unlink(b->paths[k]);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		outs[i].suffix = out_suffix[kinds[i]];
		outs[i].made = b->made[kinds[i]];
		outs[i].regular = kinds[i] == OUT_RAW || kinds[i] == OUT_QCOW2;
	}
	return hm_stage_publish(b->stage, outs, sizeof(kinds) / sizeof(kinds[0]), err);
}

static void cleanup_stage(struct build *b)
{
	int k;

	for (k = 0; k < OUT__N; k++) {
		free(b->paths[k]);
		free(b->finals[k]);
	}
	/* Removes the staging folder unless it was published. */
	hm_stage_free(b->stage);
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
	struct build b = { .out_dir = "images" };
	const char *keypath = NULL, *passfile = NULL, *cache_arg = NULL, *sde_env;
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
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"build", build_usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	char *cache = NULL, *blobdir = NULL, sde_text[32];
	struct hm_blobstore *store = NULL;
	struct hm_tree *tree = NULL, *disk_tree = NULL;
	struct disk_out disk;
	struct hm_ops_stats ops;
	struct gate gate;
	bool gate_failed = false;
	uint64_t hardened = 0;
	struct hm_oci_result oci;
	struct hm_pubkey *pub = NULL;
	struct hm_error err = { 0 };
	unsigned char tar_sha[32];
	uint64_t entries = 0;
	int nargs, r, rc = HM_EXIT_ERROR, cache_hit = 0, k;
	double since = 0;

	memset(&oci, 0, sizeof(oci));
	memset(&gate, 0, sizeof(gate));
	memset(&disk, 0, sizeof(disk));
	if ((r = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return r;
	if (nargs != 1)
		return hm_cli_usage(&cmd);
	b.sde = (time_t)sde_opt;
	if (cache_arg)
		cache = strdup(cache_arg);
	clock_gettime(CLOCK_MONOTONIC, &b.t0);
	b.timings = json_object();
	if (!b.timings)
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

	if ((r = hm_template_load(argv[0], &b.t, &err)) < 0)
		goto fail;
	if (!have_serial)
		serial = b.t->serial;
	/* Ask for the passphrase before the long part, not after it. */
	if (keypath) {
		if ((r = hm_privkey_load_asking(keypath, passfile, &b.key, &err)) < 0 ||
		    (r = hm_privkey_public(b.key, &pub, &err)) < 0)
			goto fail;
		hm_pubkey_id(pub, b.key_id);
	}
	if (!cache && !(cache = default_cache())) {
		rc = hm_cli_fail("no cache folder: set --cache or HALLMARK_CACHE");
		goto out;
	}
	if (asprintf(&blobdir, "%s/blobs", cache) < 0) {
		blobdir = NULL;
		r = hm_error_nomem(&err);
		goto fail;
	}
	if ((r = mkdir_p(cache, &err)) < 0 || (r = mkdir_p(b.out_dir, &err)) < 0 ||
	    (r = hm_blobstore_open(blobdir, &store, &err)) < 0)
		goto fail;

	/* Staging folder beside the final names, locked while we run;
	 * what killed builds left there is reclaimed first. */
	if ((r = hm_stage_open(b.out_dir, b.t->name, &b.stage, &err)) < 0)
		goto fail;
	for (k = 0; k < OUT__N; k++)
		if (asprintf(&b.paths[k], "%s/%s%s", hm_stage_path(b.stage), b.t->name,
			     out_suffix[k]) < 0 ||
		    asprintf(&b.finals[k], "%s/%s%s", b.out_dir, b.t->name, out_suffix[k]) < 0) {
			r = hm_error_nomem(&err);
			goto fail;
		}

	if ((r = hm_base_load(b.t, cache, store, &tree, &cache_hit, &err)) < 0)
		goto fail;
	phase_done(&b, "base", &since);
	if ((r = hm_ops_apply(b.t, tree, store, b.sde, &ops, &err)) < 0)
		goto fail;
	if ((r = hm_harden_apply(tree, store, b.t->harden, b.t->n_harden,
				 &hardened, &err)) < 0)
		goto fail;
	/* A disk that cannot be made is known now, before any output. */
	if ((b.t->outputs & HM_OUTPUT_DISK) &&
	    (r = hm_disk_check(tree, &b.t->disk, &err)) < 0)
		goto fail;
	phase_done(&b, "operations", &since);
	if ((r = run_gate(&b, tree, store, &gate, &gate_failed, &err)) < 0)
		goto fail;
	phase_done(&b, "audit", &since);
	if (gate_failed) {
		/* Exit 1, the report on stderr, and no image written. */
		hm_audit_report_write(&gate.res, argv[0], gate.fail_on,
				      HM_REPORT_TEXT, stderr, &err);
		fprintf(stderr, "hallmark: build of '%s' failed its audit gate (fail_on %s): no image written\n",
			b.t->name, hm_severity_name(gate.fail_on));
		rc = HM_EXIT_DRIFT;
		goto out;
	}
	if (b.t->outputs & HM_OUTPUT_DISK) {
		/* The disk gets everything; the container outputs lose the
		 * vm_only paths. */
		hm_disk_ids_derive(b.t->sha256, &disk.ids);
		if ((r = hm_disk_tree_dup(tree, &disk_tree, &err)) < 0 ||
		    (r = hm_disk_prepare_tree(disk_tree, store, &b.t->disk,
					      &disk.ids, &err)) < 0 ||
		    (r = remove_vm_only(tree, &b.t->disk, &disk.vm_only, &err)) < 0)
			goto fail;
	}
	if ((r = hm_write_output(b.paths[OUT_AUDIT], gate_report, &gate, &err)) < 0)
		goto fail;
	b.made[OUT_AUDIT] = true;
	if (gate.have_pkgs) {
		if ((r = hm_write_output(b.paths[OUT_SBOM], gate_sbom, &gate, &err)) < 0)
			goto fail;
		b.made[OUT_SBOM] = true;
	}
	if ((r = hm_emit_tar(tree, store, b.sde, b.paths[OUT_TAR], tar_sha, &err)) < 0)
		goto fail;
	b.made[OUT_TAR] = true;
	phase_done(&b, "rootfs", &since);
	if (b.t->outputs & HM_OUTPUT_OCI) {
		if ((r = hm_emit_oci(b.paths[OUT_TAR], &b.t->config, b.t->name, b.sde,
				     b.paths[OUT_OCI], &oci, &err)) < 0)
			goto fail;
		b.made[OUT_OCI] = true;
		phase_done(&b, "oci", &since);
	}
	if ((r = write_manifest(&b, tree, &oci, tar_sha, serial, &entries, &err)) < 0)
		goto fail;
	b.made[OUT_MANIFEST] = true;
	if (b.key) {
		if ((r = sign_manifest(&b, OUT_MANIFEST, OUT_SIG, &err)) < 0)
			goto fail;
		b.made[OUT_SIG] = true;
	}
	phase_done(&b, "manifest", &since);
	if (b.t->outputs & HM_OUTPUT_DISK) {
		if ((r = build_disks(&b, disk_tree, store, serial, &disk, &err)) < 0)
			goto fail;
		phase_done(&b, "disk", &since);
	}
	/* The rootfs tar is always made (the OCI layer comes from it) but is
	 * published only when asked for. */
	if (!(b.t->outputs & HM_OUTPUT_TAR))
		b.made[OUT_TAR] = false;
	if ((r = write_build_json(&b, &oci, tar_sha, &ops, hardened, &gate,
				  serial, entries, cache_hit, &disk, &err)) < 0)
		goto fail;
	b.made[OUT_BUILD] = true;
	if ((r = publish(&b, &err)) < 0)
		goto fail;
	for (k = 0; k < OUT__N; k++)
		if (b.made[k])
			printf("%s\n", b.finals[k]);
	fprintf(stderr, "hallmark build: %s serial %llu: %llu entries in %.1f s\n",
		b.t->name, serial, (unsigned long long)entries, elapsed(&b));
	rc = HM_EXIT_OK;
	goto out;
fail:
	rc = hm_cli_error(&err);
out:
	hm_audit_result_free(&gate.res);
	if (gate.have_pkgs)
		hm_packages_free(&gate.pkgs);
	cleanup_stage(&b);
	hm_tree_free(tree);
	hm_tree_free(disk_tree);
	hm_blobstore_free(store);
	hm_template_free(b.t);
	hm_privkey_free(b.key);
	hm_pubkey_free(pub);
	json_decref(b.timings);
	free(cache);
	free(blobdir);
	return rc;
}
