/*
 * The build pipeline (build.h): base -> tree -> operations -> outputs
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
#include "build.h"
#include "emit.h"
#include "harden.h"
#include "hallmark/audit.h"
#include "hallmark/buf.h"
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
#include "runtime.h"
#include "template.h"

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
	const struct hm_build_progress *progress;
	json_t *timings;
	bool timings_bad;             /* one could not be recorded */
};

static double elapsed(const struct build *b)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - b->t0.tv_sec) +
	       (double)(now.tv_nsec - b->t0.tv_nsec) / 1e9;
}

/* The progress handle of the front-end, or NULL. */
static struct hm_progress *steps(const struct build *b)
{
	return b->progress ? b->progress->steps : NULL;
}

static void phase_done(struct build *b, const char *phase, double *since)
{
	double now = elapsed(b);

	hm_progress_end(steps(b), NULL);

	if (json_object_set_new(b->timings, phase,
				json_integer((json_int_t)((now - *since) * 1000))) < 0)
		b->timings_bad = true;   /* build.json fails for it */
	if (b->progress && b->progress->phase_done)
		b->progress->phase_done(b->progress->ctx, phase, now - *since);
	*since = now;
}

/*
 * A manifest that is expired when it is written fails its first verify
 * (exit 3): refuse the build instead, before anything is asked or
 * written.  Verify calls a manifest expired from its expiry time on.
 */
static int check_expiry(const struct build *b, struct hm_error *err)
{
	char created[21], expires[21];
	time_t exp;

	if (!b->t->expires_days)
		return 0;
	exp = b->sde + (time_t)b->t->expires_days * 86400;
	if (time(NULL) < exp)
		return 0;
	hm_time_format(b->sde, created);
	hm_time_format(exp, expires);
	return hm_error_set(err, HM_ERR_INPUT, 0,
			    "'%s' would be expired when written: source date %s + expires_days %u = %s, which is past; "
			    "use a later --source-date-epoch (or SOURCE_DATE_EPOCH) or raise expires_days in '%s'",
			    b->t->name, created, b->t->expires_days, expires, b->t->path);
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

/*
 * The manifest of tree.  With a `runtime:` section in the template, the
 * header carries the runtime spec, its sysctl keys read from conf_tree
 * (the container tree, or the disk tree before the disk was made: every
 * file of those has its contents in the blob store), so the container
 * and the disk manifests each sign their own.
 */
static int write_tree_manifest(const struct build *b, struct hm_blobstore *store,
			       const struct hm_tree *conf_tree,
			       struct hm_tree *tree, const char *path,
			       struct hm_manifest_header *h,
			       uint64_t *ret_entries, struct hm_error *err)
{
	struct hm_runtime_spec *rt = NULL;
	struct hm_source *src = NULL;
	int r = 0;

	*ret_entries = 0;
	if (b->t->runtime &&
	    (r = hm_runtime_build_spec(b->t->runtime, conf_tree, store, &rt, err)) < 0)
		return r;
	h->runtime = rt;
	r = hm_tree_source(tree, false, &src, err);
	if (r == 0)
		r = hm_manifest_write(path, h, src, err);
	hm_source_free(src);
	h->runtime = NULL;
	hm_runtime_spec_free(rt);
	*ret_entries = h->entries;
	return r;
}

static int write_manifest(struct build *b, struct hm_blobstore *store,
			  struct hm_tree *tree, const struct hm_oci_result *oci,
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
	return write_tree_manifest(b, store, tree, tree, b->paths[OUT_MANIFEST], &h,
				   ret_entries, err);
}

static int sign_manifest(struct build *b, int manifest, int sigfile,
			 struct hm_error *err)
{
	char *text = NULL;
	size_t len;
	int r;

	r = hm_sign_manifest_file(b->key, b->paths[manifest], &text, &len, err);
	if (r == 0)
		r = hm_write_file_atomic(b->paths[sigfile], text, len, 0644, true, err);
	free(text);
	return r;
}

/* --- disks --------------------------------------------------------------- */

/* The container tree: the final tree without the vm_only paths (each
 * with its subtree, as `remove` does). */
static int remove_vm_only(struct hm_tree *tree, const struct hm_tpl_disk *d,
			  uint64_t *ret_removed, struct hm_error *err)
{
	uint64_t n;
	size_t i;
	int r = 0;

	*ret_removed = 0;
	for (i = 0; r == 0 && i < d->n_vm_only; i++)
		if ((r = hm_tree_remove_glob(tree, d->vm_only[i], &n, err)) == 0)
			*ret_removed += n;
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
static int emit_disk_retry(const struct build *b, const struct hm_disk_job *job,
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
		if (b->progress && b->progress->retrying)
			b->progress->retrying(b->progress->ctx, err->msg);
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
	job.progress = steps(b);
	r = emit_disk_retry(b, &job, disk_tree, &made, &d->res, err);
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
	r = write_tree_manifest(b, store, disk_tree, made, b->paths[OUT_DMANIFEST], &h,
				&d->entries, err);
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
	const char **users = NULL;
	struct hm_audit_options opt = { 0 };
	static const char DPKG_STATUS[] = "/var/lib/dpkg/status";
	const struct hm_entry *st;
	struct hm_image *img = NULL;
	size_t i;
	int r;

	g->fail_on = (enum hm_severity)hm_severity_from_name(b->t->audit.fail_on);
	g->name = b->t->name;
	g->created = b->sde;
	users = calloc(b->t->n_users + 1, sizeof(*users));
	if (!users) {
		r = hm_error_nomem(err);
		goto out;
	}
	for (i = 0; i < b->t->n_users; i++)
		users[i] = b->t->users[i].name;
	opt.exceptions = b->t->audit.exceptions.items;
	opt.n_exceptions = b->t->audit.exceptions.n;
	opt.declared_users = users;
	if ((r = hm_image_from_tree(tree, read_blob, store, &img, err)) < 0 ||
	    (r = hm_audit_run(img, &opt, &g->res, err)) < 0)
		goto out;
	*ret_failed = hm_audit_fails(&g->res, g->fail_on);
	/* No package database (not a Debian tree): no SBOM, not an error.
	 * One that is there but cannot be read (corrupt, over a limit, out
	 * of memory) fails the build: an SBOM never goes missing silently. */
	st = hm_tree_get(tree, DPKG_STATUS, sizeof(DPKG_STATUS) - 1);
	if (!st || st->flags & HM_ENTRY_DELETED)
		goto out;
	if ((r = hm_packages_load(img, &g->pkgs, err)) < 0 ||
	    (r = hm_sbom_describe(img, &g->pkgs, err)) < 0) {
		hm_error_prefix(err, "'%s': no SBOM can be made from '%s'",
				b->t->name, DPKG_STATUS);
		goto out;
	}
	g->have_pkgs = true;
out:
	hm_image_free(img);
	free(users);
	return r;
}

static json_t *audit_json(const struct gate *g)
{
	json_t *counts = json_object();
	size_t i, excepted = 0;
	bool bad = false;
	int s;

	for (s = HM_SEV_INFO; s <= HM_SEV_CRITICAL; s++)
		bad |= json_object_set_new(counts, hm_severity_name((enum hm_severity)s), json_integer(0)) < 0;
	for (i = 0; i < g->res.n_findings; i++) {
		const struct hm_audit_finding *f = &g->res.findings[i];
		const char *k = hm_severity_name(f->rule->severity);

		if (f->excepted) {
			excepted++;
			continue;
		}
		bad |= json_object_set_new(counts, k, json_integer(json_integer_value(json_object_get(counts, k)) + 1)) < 0;
	}
	if (bad) {
		json_decref(counts);
		return NULL;
	}
	/* "o" takes counts, also when json_pack fails. */
	return json_pack("{s:s, s:o, s:I, s:I}", "fail_on", hm_severity_name(g->fail_on),
			 "findings", counts, "excepted", (json_int_t)excepted,
			 "skipped", (json_int_t)g->res.n_skipped);
}

static json_t *disk_json(const struct build *b, int k,
			 const unsigned char sha[32], const struct disk_out *d)
{
	char digest[72];
	bool bad = false;
	json_t *o;

	sha_digest(sha, digest);
	o = digest_json(b->paths[k], b->finals[k], digest);
	bad |= json_object_set_new(o, "virtual_size", json_integer((json_int_t)b->t->disk.size)) < 0;
	bad |= json_object_set_new(o, "partition_table",
			    json_string(b->t->disk.partition_table == HM_PT_GPT ? "gpt" : "mbr")) < 0;
	bad |= json_object_set_new(o, "filesystem", json_string(b->t->disk.filesystem)) < 0;
	bad |= json_object_set_new(o, "filesystem_uuid", json_string(d->ids.fs_uuid)) < 0;
	bad |= json_object_set_new(o, "label", json_string(b->t->disk.label)) < 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * build.json's text.  jansson's dump does not check every write it makes
 * (an object key can go missing when the buffer cannot grow), so the
 * buffer keeps its own record of a failure.
 */
struct jbuf {
	struct hm_buf b;
	bool failed;
};

static int jbuf_add(const char *data, size_t len, void *ctx)
{
	struct jbuf *j = ctx;

	if (hm_buf_add(&j->b, data, len) < 0) {
		j->failed = true;
		return -1;
	}
	return 0;
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
	struct jbuf text = { HM_BUF_INIT, false };
	bool bad = false;
	int r;

	hm_hex_encode(tar_sha, 32, hex);
	snprintf(tar_digest, sizeof(tar_digest), "sha256:%s", hex);
	hm_time_format(b->sde, created);
	outputs = json_object();
	if (b->t->outputs & HM_OUTPUT_TAR)
		bad |= json_object_set_new(outputs, "rootfs",
				    digest_json(b->paths[OUT_TAR], b->finals[OUT_TAR],
						tar_digest)) < 0;
	if (b->t->outputs & HM_OUTPUT_OCI) {
		json_t *o = digest_json(b->paths[OUT_OCI], b->finals[OUT_OCI], oci->archive_sha256);

		bad |= json_object_set_new(o, "image_manifest", json_string(oci->manifest_digest)) < 0;
		bad |= json_object_set_new(o, "config", json_string(oci->config_digest)) < 0;
		bad |= json_object_set_new(o, "layer", json_string(oci->layer_digest)) < 0;
		bad |= json_object_set_new(o, "diff_id", json_string(oci->diff_id)) < 0;
		bad |= json_object_set_new(outputs, "oci", o) < 0;
	}
	if (b->made[OUT_RAW])
		bad |= json_object_set_new(outputs, "raw",
				    disk_json(b, OUT_RAW, disk->res.raw_sha256, disk)) < 0;
	if (b->made[OUT_QCOW2])
		bad |= json_object_set_new(outputs, "qcow2",
				    disk_json(b, OUT_QCOW2, disk->res.qcow2_sha256, disk)) < 0;
	bad |= json_object_set_new(outputs, "audit", json_string(b->finals[OUT_AUDIT])) < 0;
	bad |= json_object_set_new(outputs, "sbom", b->made[OUT_SBOM] ?
			    json_string(b->finals[OUT_SBOM]) : json_null()) < 0;
	bad |= json_object_set_new(outputs, "manifest", json_string(b->finals[OUT_MANIFEST])) < 0;
	bad |= json_object_set_new(outputs, "signature",
			    b->key ? json_string(b->finals[OUT_SIG]) : json_null()) < 0;
	if (b->t->outputs & HM_OUTPUT_DISK) {
		bad |= json_object_set_new(outputs, "disk_manifest",
				    json_string(b->finals[OUT_DMANIFEST])) < 0;
		bad |= json_object_set_new(outputs, "disk_signature",
				    b->made[OUT_DSIG] ? json_string(b->finals[OUT_DSIG]) : json_null()) < 0;
	}
	base = json_object();
	switch (b->t->base.kind) {
	case HM_BASE_DEBIAN: {
		json_t *pk = json_array();
		size_t i;

		for (i = 0; i < b->t->base.n_packages; i++)
			bad |= json_array_append_new(pk, json_string(b->t->base.packages[i])) < 0;
		bad |= json_object_set_new(base, "kind", json_string("debian")) < 0;
		bad |= json_object_set_new(base, "suite", json_string(b->t->base.suite)) < 0;
		bad |= json_object_set_new(base, "variant", json_string(b->t->base.variant)) < 0;
		bad |= json_object_set_new(base, "packages", pk) < 0;
		bad |= json_object_set_new(base, "cache_hit", json_boolean(cache_hit)) < 0;
		break;
	}
	case HM_BASE_TARBALL:
		bad |= json_object_set_new(base, "kind", json_string("tarball")) < 0;
		bad |= json_object_set_new(base, "path", json_string(b->t->base.path)) < 0;
		break;
	default:
		bad |= json_object_set_new(base, "kind", json_string("oci")) < 0;
		bad |= json_object_set_new(base, "path", json_string(b->t->base.path)) < 0;
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
	if (!root || bad || b->timings_bad) {
		json_decref(root);
		goto nomem;
	}
	if (b->t->outputs & HM_OUTPUT_DISK)
		bad |= json_object_set_new(root, "disk",
				    json_pack("{s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}}",
					      "entries", (json_int_t)disk->entries,
					      "vm_only_entries", (json_int_t)disk->vm_only,
					      "steps_ms",
					      "launch", (json_int_t)disk->res.launch_ms,
					      "copy", (json_int_t)disk->res.copy_ms,
					      "boot", (json_int_t)disk->res.boot_ms,
					      "pin", (json_int_t)disk->res.pin_ms,
					      "finish", (json_int_t)disk->res.finish_ms)) < 0;
	if (b->t->outputs & HM_OUTPUT_DISK) {
		/* The same, finer: for bench/disk.sh's table. */
		json_t *fine = json_object(), *dj = json_object_get(root, "disk");
		int i;

		bad |= !fine || !dj;
		for (i = 0; fine && i < HM_DISK_STEP__COUNT; i++)
			bad |= json_object_set_new(fine, hm_disk_step_name((enum hm_disk_step)i),
						   json_integer((json_int_t)disk->res.fine_ms[i])) < 0;
		if (fine && dj)
			bad |= json_object_set_new(dj, "fine_ms", fine) < 0;
		else
			json_decref(fine);
	}
	if (!bad) {
		bad = json_dump_callback(root, jbuf_add, &text,
					 JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
		      text.failed;
	}
	json_decref(root);
	if (bad) {
		hm_buf_free(&text.b);
		goto nomem;
	}
	r = hm_write_file_atomic(b->paths[OUT_BUILD], text.b.data, text.b.len,
				 0644, true, err);
	hm_buf_free(&text.b);
	return r;
nomem:
	/* jansson says only that it failed: a value it could not make. */
	return hm_error_set(err, HM_ERR_NOMEM, ENOMEM,
			    "cannot make '%s': out of memory", b->finals[OUT_BUILD]);
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

void hm_build_result_free(struct hm_build_result *res)
{
	size_t i;

	if (!res)
		return;
	free(res->name);
	for (i = 0; i < res->n_published; i++)
		free(res->published[i]);
	free(res->published);
	hm_audit_result_free(&res->audit);
	memset(res, 0, sizeof(*res));
}

/* The final names of what was published, in output order. */
static int list_published(const struct build *b, struct hm_build_result *res,
			  struct hm_error *err)
{
	int k;

	if (!(res->published = calloc(OUT__N, sizeof(*res->published))))
		return hm_error_nomem(err);
	for (k = 0; k < OUT__N; k++)
		if (b->made[k] &&
		    !(res->published[res->n_published++] = strdup(b->finals[k])))
			return hm_error_nomem(err);
	return 0;
}

int hm_build_run(const struct hm_build_options *opt, struct hm_build_result *res,
		 struct hm_error *err)
{
	struct build b = { .out_dir = opt->out_dir, .sde = opt->sde,
			   .progress = opt->progress };
	char *blobdir = NULL;
	struct hm_blobstore *store = NULL;
	struct hm_tree *tree = NULL, *disk_tree = NULL;
	struct disk_out disk;
	struct hm_ops_stats ops;
	struct gate gate;
	bool gate_failed = false;
	uint64_t hardened = 0, serial;
	struct hm_oci_result oci;
	struct hm_pubkey *pub = NULL;
	unsigned char tar_sha[32];
	uint64_t entries = 0;
	int r, cache_hit = 0, k;
	double since = 0;

	memset(res, 0, sizeof(*res));
	memset(&oci, 0, sizeof(oci));
	memset(&gate, 0, sizeof(gate));
	memset(&disk, 0, sizeof(disk));
	clock_gettime(CLOCK_MONOTONIC, &b.t0);
	if (!(b.timings = json_object())) {
		r = hm_error_nomem(err);
		goto out;
	}
	if ((r = hm_template_load(opt->template_path, &b.t, err)) < 0)
		goto out;
	serial = opt->have_serial ? opt->serial : b.t->serial;
	if (!(res->name = strdup(b.t->name))) {
		r = hm_error_nomem(err);
		goto out;
	}
	res->serial = serial;
	if ((r = check_expiry(&b, err)) < 0)
		goto out;
	/* Ask for the passphrase before the long part, not after it. */
	if (opt->key_path) {
		if ((r = hm_privkey_load_asking(opt->key_path, opt->passphrase_file,
						&b.key, err)) < 0 ||
		    (r = hm_privkey_public(b.key, &pub, err)) < 0)
			goto out;
		hm_pubkey_id(pub, b.key_id);
	}
	/* The front-end found no default: it says how to give one. */
	if (!opt->cache_dir) {
		r = hm_error_set(err, HM_ERR_USAGE, 0,
				 "no cache folder: set --cache or HALLMARK_CACHE");
		goto out;
	}
	if (asprintf(&blobdir, "%s/blobs", opt->cache_dir) < 0) {
		blobdir = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	if ((r = hm_mkdir_p(opt->cache_dir, err)) < 0 || (r = hm_mkdir_p(b.out_dir, err)) < 0 ||
	    (r = hm_blobstore_open(blobdir, &store, err)) < 0)
		goto out;

	/* Staging folder beside the final names, locked while we run;
	 * what killed builds left there is reclaimed first. */
	if ((r = hm_stage_open(b.out_dir, b.t->name, &b.stage, err)) < 0)
		goto out;
	for (k = 0; k < OUT__N; k++)
		if (asprintf(&b.paths[k], "%s/%s%s", hm_stage_path(b.stage), b.t->name,
			     out_suffix[k]) < 0 ||
		    asprintf(&b.finals[k], "%s/%s%s", b.out_dir, b.t->name, out_suffix[k]) < 0) {
			r = hm_error_nomem(err);
			goto out;
		}

	hm_progress_begin(steps(&b), "base", NULL, 0);
	if ((r = hm_base_load(b.t, opt->cache_dir, store, &tree, &cache_hit,
			      steps(&b), err)) < 0)
		goto out;
	phase_done(&b, "base", &since);
	hm_progress_begin(steps(&b), "operations", NULL, 0);
	if ((r = hm_ops_apply(b.t, tree, store, b.sde, &ops, err)) < 0)
		goto out;
	if ((r = hm_harden_apply(tree, store, b.t->harden, b.t->n_harden,
				 &hardened, err)) < 0)
		goto out;
	/* A disk that cannot be made is known now, before any output. */
	if ((b.t->outputs & HM_OUTPUT_DISK) &&
	    (r = hm_disk_check(tree, &b.t->disk, err)) < 0)
		goto out;
	phase_done(&b, "operations", &since);
	hm_progress_begin(steps(&b), "audit", NULL, 0);
	if ((r = run_gate(&b, tree, store, &gate, &gate_failed, err)) < 0)
		goto out;
	phase_done(&b, "audit", &since);
	if (gate_failed) {
		/* No image written: the caller reports the gate. */
		res->gate_failed = true;
		res->fail_on = gate.fail_on;
		res->audit = gate.res;
		memset(&gate.res, 0, sizeof(gate.res));
		goto out;
	}
	if (b.t->outputs & HM_OUTPUT_DISK) {
		/* The disk gets everything; the container outputs lose the
		 * vm_only paths. */
		hm_disk_ids_derive(b.t->sha256, &disk.ids);
		if ((r = hm_disk_tree_dup(tree, &disk_tree, err)) < 0 ||
		    (r = hm_disk_prepare_tree(disk_tree, store, &b.t->disk,
					      &disk.ids, err)) < 0 ||
		    (r = remove_vm_only(tree, &b.t->disk, &disk.vm_only, err)) < 0)
			goto out;
	}
	hm_progress_begin(steps(&b), "rootfs", NULL, 0);
	if ((r = hm_write_output(b.paths[OUT_AUDIT], gate_report, &gate, err)) < 0)
		goto out;
	b.made[OUT_AUDIT] = true;
	if (gate.have_pkgs) {
		if ((r = hm_write_output(b.paths[OUT_SBOM], gate_sbom, &gate, err)) < 0)
			goto out;
		b.made[OUT_SBOM] = true;
	}
	if ((r = hm_emit_tar(tree, store, b.sde, b.paths[OUT_TAR], tar_sha, err)) < 0)
		goto out;
	b.made[OUT_TAR] = true;
	phase_done(&b, "rootfs", &since);
	if (b.t->outputs & HM_OUTPUT_OCI) {
		hm_progress_begin(steps(&b), "oci", NULL, 0);
		if ((r = hm_emit_oci(b.paths[OUT_TAR], &b.t->config,
				     b.t->layer_compression, b.t->name, b.sde,
				     b.paths[OUT_OCI], &oci, err)) < 0)
			goto out;
		b.made[OUT_OCI] = true;
		phase_done(&b, "oci", &since);
	}
	hm_progress_begin(steps(&b), "manifest", NULL, 0);
	if ((r = write_manifest(&b, store, tree, &oci, tar_sha, serial, &entries,
				err)) < 0)
		goto out;
	b.made[OUT_MANIFEST] = true;
	if (b.key) {
		if ((r = sign_manifest(&b, OUT_MANIFEST, OUT_SIG, err)) < 0)
			goto out;
		b.made[OUT_SIG] = true;
	}
	phase_done(&b, "manifest", &since);
	if (b.t->outputs & HM_OUTPUT_DISK) {
		hm_progress_begin(steps(&b), "disk", "bytes", 0);
		if ((r = build_disks(&b, disk_tree, store, serial, &disk, err)) < 0)
			goto out;
		phase_done(&b, "disk", &since);
	}
	/* The rootfs tar is always made (the OCI layer comes from it) but is
	 * published only when asked for. */
	if (!(b.t->outputs & HM_OUTPUT_TAR))
		b.made[OUT_TAR] = false;
	if ((r = write_build_json(&b, &oci, tar_sha, &ops, hardened, &gate,
				  serial, entries, cache_hit, &disk, err)) < 0)
		goto out;
	b.made[OUT_BUILD] = true;
	if ((r = publish(&b, err)) < 0 || (r = list_published(&b, res, err)) < 0)
		goto out;
	res->entries = entries;
	res->seconds = elapsed(&b);
	r = 0;
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
	free(blobdir);
	return r;
}
