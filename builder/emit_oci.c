/*
 * The OCI image archive: an image layout (oci-layout, index.json,
 * blobs/sha256/...) as one tar file, with a single layer (gzip, or zstd
 * when the template asks) made from the rootfs tarball, so that the
 * layer's diff_id is the rootfs tar's own SHA-256.
 *
 * Determinism: the gzip members and zstd frames have no timestamp, a
 * fixed level and a fixed size (lib/pgzip.c), whatever the number of
 * threads; the
 * JSON documents are compact with sorted keys, the archive members come in
 * a fixed order with owner 0:0, fixed modes and mtime, and nothing about
 * the host (names, umask, paths) goes in.  The compressed layer can be
 * hundreds of megabytes and a tar member's size must be known before its
 * data, so it is compressed into an unlinked temporary file in the output
 * folder first and then copied into the archive.
 *
 * Media types and field names follow the OCI image-spec v1.0: image-
 * layout.md, manifest.md, config.md, image-index.md and annotations.md
 * (org.opencontainers.image.ref.name).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emit.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/pgzip.h"

#define OCI_COPY_CHUNK (256u * 1024)
#define OCI_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

/* A libarchive output to an fd, hashed and counted as it is written. */
struct oci_out {
	struct archive *a;
	int fd;
	const char *name;            /* for messages */
	struct hm_hash *hash;
	uint64_t bytes;
	struct hm_error *err;
	bool write_failed;           /* err already says why */
	bool discard;                /* failed: let libarchive's close write nothing */
};

static la_ssize_t oci_write_cb(struct archive *a, void *ctx, const void *buf,
			       size_t len)
{
	struct oci_out *o = ctx;
	int r;

	if (o->discard)
		return (la_ssize_t)len;
	r = hm_write_all(o->fd, buf, len);
	if (r < 0) {
		hm_error_set(o->err, HM_ERR_IO, -r, "cannot write '%s'", o->name);
		o->write_failed = true;
		archive_set_error(a, -r, "write failed");
		return -1;
	}
	if (hm_hash_update(o->hash, buf, len) < 0) {
		hm_error_set(o->err, HM_ERR_NOMEM, 0, "cannot hash '%s'", o->name);
		o->write_failed = true;
		archive_set_error(a, ENOMEM, "hash failed");
		return -1;
	}
	o->bytes += len;
	return (la_ssize_t)len;
}

static int oci_archive_error(struct oci_out *o, const char *what)
{
	const char *s;

	if (o->write_failed)
		return o->err->code;
	s = o->a ? archive_error_string(o->a) : NULL;
	return hm_error_set(o->err, HM_ERR_IO, 0, "cannot write '%s': %s: %s",
			    o->name, what, s ? s : "unknown error");
}

static int oci_out_init(struct oci_out *o, int fd, const char *name,
			struct hm_error *err)
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->name = name;
	o->err = err;
	o->hash = hm_hash_new(HM_HASH_SHA256);
	o->a = archive_write_new();
	if (!o->hash || !o->a)
		return hm_error_nomem(err);
	return 0;
}

static int oci_out_open(struct oci_out *o)
{
	if (archive_write_open(o->a, o, NULL, oci_write_cb, NULL) != ARCHIVE_OK)
		return oci_archive_error(o, "open");
	return 0;
}

/* Close the archive and get the digest of everything written. */
static int oci_out_finish(struct oci_out *o, unsigned char digest[32])
{
	if (archive_write_close(o->a) != ARCHIVE_OK)
		return oci_archive_error(o, "close");
	if (hm_hash_final(o->hash, digest) < 0)
		return hm_error_nomem(o->err);
	return 0;
}

static void oci_out_free(struct oci_out *o, bool failed)
{
	o->discard = failed;
	if (o->a)
		archive_write_free(o->a);
	o->a = NULL;
	hm_hash_free(o->hash);
	o->hash = NULL;
}

static void oci_digest_str(const unsigned char d[32], char out[72])
{
	memcpy(out, "sha256:", 7);
	hm_hex_encode(d, 32, out + 7);
}

/*
 * Compress the tar at tar_path into tmp_fd, in independent gzip members
 * or zstd frames on every core (lib/pgzip.c: the same bytes whatever the
 * thread count); diff_id is the SHA-256 of the tar, layer_digest and
 * layer_size those of the compressed blob.
 */
static int oci_make_layer(const char *tar_path, enum hm_pgzip_codec codec,
			  int tmp_fd,
			  const char *tmp_name, struct hm_oci_result *res,
			  struct hm_error *err)
{
	struct hm_pgzip_result z;
	struct stat st;
	int fd, r;

	fd = open(tar_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", tar_path);
	if (fstat(fd, &st) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'", tar_path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s' is not a regular file",
				 tar_path);
		goto out;
	}
	r = hm_pgzip_compress_fd_codec(fd, tar_path, tmp_fd, tmp_name,
				       codec, 0, &z, err);
	if (r < 0)
		goto out;
	if (z.in_bytes != (uint64_t)st.st_size) {
		r = hm_error_set(err, HM_ERR_IO, 0, "'%s' changed while it was read",
				 tar_path);
		goto out;
	}
	oci_digest_str(z.in_sha256, res->diff_id);
	oci_digest_str(z.out_sha256, res->layer_digest);
	res->layer_size = z.out_bytes;
out:
	close(fd);
	return r;
}

/* ---- JSON documents ---------------------------------------------------- */

static json_t *oci_str(const char *s, const char *what, struct hm_error *err)
{
	json_t *j = json_string(s ? s : "");

	if (!j)
		hm_error_set(err, HM_ERR_INPUT, 0,
			     "image config: %s is not valid UTF-8", what);
	return j;
}

static json_t *oci_str_array(char *const *v, size_t n, const char *what,
			     struct hm_error *err)
{
	json_t *arr = json_array();
	size_t i;

	if (!arr) {
		hm_error_nomem(err);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		json_t *s = oci_str(v[i], what, err);

		if (!s || json_array_append_new(arr, s) < 0) {
			if (s)
				hm_error_nomem(err);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Set obj[key] = val, taking val; false (err set) if anything failed. */
static bool oci_set(json_t *obj, const char *key, json_t *val,
		    struct hm_error *err)
{
	if (!val)
		return false;   /* err already set by whoever made val */
	if (json_object_set_new(obj, key, val) < 0) {
		hm_error_nomem(err);
		return false;
	}
	return true;
}

/* The image config's "config" object: only the fields the template set. */
static json_t *oci_exec_config(const struct hm_tpl_config *c,
			       struct hm_error *err)
{
	json_t *o = json_object(), *labels;
	size_t i;

	if (!o) {
		hm_error_nomem(err);
		return NULL;
	}
	if (!c)
		return o;
	if (c->n_entrypoint &&
	    !oci_set(o, "Entrypoint", oci_str_array(c->entrypoint, c->n_entrypoint,
						    "entrypoint", err), err))
		goto fail;
	if (c->n_cmd &&
	    !oci_set(o, "Cmd", oci_str_array(c->cmd, c->n_cmd, "cmd", err), err))
		goto fail;
	if (c->n_env &&
	    !oci_set(o, "Env", oci_str_array(c->env, c->n_env, "env", err), err))
		goto fail;
	if (c->user && c->user[0] &&
	    !oci_set(o, "User", oci_str(c->user, "user", err), err))
		goto fail;
	if (c->workdir && c->workdir[0] &&
	    !oci_set(o, "WorkingDir", oci_str(c->workdir, "workdir", err), err))
		goto fail;
	if (c->n_labels) {
		labels = json_object();
		if (!oci_set(o, "Labels", labels, err)) {
			if (!labels)
				hm_error_nomem(err);
			goto fail;
		}
		for (i = 0; i < c->n_labels; i++) {
			json_t *key = json_string(c->label_keys[i]);

			if (!key) {
				hm_error_set(err, HM_ERR_INPUT, 0,
					     "image config: a label name is not valid UTF-8");
				goto fail;
			}
			json_decref(key);
			if (!oci_set(labels, c->label_keys[i],
				     oci_str(c->label_values[i], "a label value", err),
				     err))
				goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* RFC 3339 in UTC, as the image-spec's "created" wants. */
static int oci_time(time_t t, char out[32], struct hm_error *err)
{
	struct tm tm;

	if (t < 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "timestamp %lld out of range", (long long)t);
	return 0;
}

/* The documents are small and fixed in shape: json_pack says them
 * directly ("o" takes the reference, also on failure). */
static char *oci_dump(json_t *doc, struct hm_error *err)
{
	char *s = doc ? json_dumps(doc, OCI_JSON_FLAGS) : NULL;

	json_decref(doc);
	if (!s)
		hm_error_nomem(err);
	return s;
}

static char *oci_config_json(const struct hm_tpl_config *c,
			     const struct hm_oci_result *res,
			     const char *created, struct hm_error *err)
{
	json_t *exec = oci_exec_config(c, err);

	if (!exec)
		return NULL;
	return oci_dump(json_pack("{s:s, s:s, s:s, s:o,"
				  " s:{s:s, s:[s]},"
				  " s:[{s:s, s:s, s:s}]}",
				  "architecture", "amd64",
				  "os", "linux",
				  "created", created,
				  "config", exec,
				  "rootfs", "type", "layers",
				  "diff_ids", res->diff_id,
				  "history", "created", created,
				  "created_by", "hallmark build",
				  "comment", "the whole tree in one layer"),
			err);
}

static char *oci_manifest_json(const char *config_digest, size_t config_size,
			       enum hm_pgzip_codec codec,
			       const struct hm_oci_result *res,
			       struct hm_error *err)
{
	return oci_dump(json_pack("{s:i, s:s, s:{s:s, s:s, s:I},"
				  " s:[{s:s, s:s, s:I}]}",
				  "schemaVersion", 2,
				  "mediaType", MT_MANIFEST,
				  "config", "mediaType", MT_CONFIG,
				  "digest", config_digest,
				  "size", (json_int_t)config_size,
				  "layers", "mediaType",
				  codec == HM_PGZIP_ZSTD ? MT_LAYER_ZSTD : MT_LAYER_GZIP,
				  "digest", res->layer_digest,
				  "size", (json_int_t)res->layer_size),
			err);
}

static char *oci_index_json(const char *manifest_digest, size_t manifest_size,
			    const char *ref, struct hm_error *err)
{
	json_t *desc;

	desc = json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}",
			 "mediaType", MT_MANIFEST,
			 "digest", manifest_digest,
			 "size", (json_int_t)manifest_size,
			 "platform", "architecture", "amd64", "os", "linux");
	if (desc && ref && ref[0] &&
	    json_object_set_new(desc, "annotations",
				json_pack("{s:s}",
					  "org.opencontainers.image.ref.name",
					  ref)) < 0) {
		json_decref(desc);
		desc = NULL;
	}
	if (!desc) {
		hm_error_nomem(err);
		return NULL;
	}
	return oci_dump(json_pack("{s:i, s:s, s:[o]}",
				  "schemaVersion", 2,
				  "mediaType", MT_INDEX,
				  "manifests", desc),
			err);
}

/*
 * A reference name as annotations.md defines it: components of
 * alphanumerics joined by separators [-._:@+] or "--", joined by "/".
 */
static bool oci_ref_valid(const char *ref)
{
	size_t i, n = strlen(ref);
	bool prev_alnum = false;

	if (n == 0 || n > 255)
		return false;
	for (i = 0; i < n; i++) {
		char c = ref[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (alnum) {
			prev_alnum = true;
			continue;
		}
		if (!prev_alnum)
			return false;
		if (c == '-' && i + 1 < n && ref[i + 1] == '-')
			i++;
		else if (!strchr("-._:@+/", c))
			return false;
		prev_alnum = false;
	}
	return prev_alnum;
}

/* ---- the archive -------------------------------------------------------- */

struct oci_blob {
	char hex[65];
	const char *data;           /* in memory, or NULL: the layer file */
	size_t len;
};

static int oci_member(struct oci_out *o, struct archive_entry *ae,
		      const char *name, bool dir, uint64_t size, time_t mtime)
{
	archive_entry_clear(ae);
	archive_entry_copy_pathname(ae, name);
	archive_entry_set_filetype(ae, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ae, dir ? 0755 : 0644);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, mtime, 0);
	archive_entry_set_size(ae, (la_int64_t)size);
	if (archive_write_header(o->a, ae) != ARCHIVE_OK)
		return oci_archive_error(o, name);
	return 0;
}

static int oci_member_data(struct oci_out *o, struct archive_entry *ae,
			   const char *name, const char *data, size_t len,
			   time_t mtime)
{
	int r = oci_member(o, ae, name, false, len, mtime);

	if (r < 0)
		return r;
	if (len && archive_write_data(o->a, data, len) != (la_ssize_t)len)
		return oci_archive_error(o, name);
	return 0;
}

static int oci_member_file(struct oci_out *o, struct archive_entry *ae,
			   const char *name, int fd, uint64_t size,
			   unsigned char *chunk, time_t mtime)
{
	uint64_t left = size;
	int r;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return hm_error_set(o->err, HM_ERR_IO, errno,
				    "cannot read back the layer of '%s'", o->name);
	r = oci_member(o, ae, name, false, size, mtime);
	if (r < 0)
		return r;
	while (left > 0) {
		size_t want = left < OCI_COPY_CHUNK ? (size_t)left : OCI_COPY_CHUNK;
		ssize_t n = hm_read_full(fd, chunk, want);

		if (n <= 0)
			return hm_error_set(o->err, HM_ERR_IO, n < 0 ? (int)-n : 0,
					    "cannot read back the layer of '%s'%s",
					    o->name, n == 0 ? ": file shrank" : "");
		if (archive_write_data(o->a, chunk, (size_t)n) != n)
			return oci_archive_error(o, name);
		left -= (uint64_t)n;
	}
	return 0;
}

static int oci_blob_cmp(const void *a, const void *b)
{
	return strcmp(((const struct oci_blob *)a)->hex,
		      ((const struct oci_blob *)b)->hex);
}

static int oci_write_archive(struct oci_out *o, struct oci_blob blobs[3],
			     const char *index, const char *layout, int layer_fd,
			     uint64_t layer_size, unsigned char *chunk,
			     time_t mtime)
{
	struct archive_entry *ae = archive_entry_new();
	char name[96];
	size_t i;
	int r;

	if (!ae)
		return hm_error_nomem(o->err);
	qsort(blobs, 3, sizeof(blobs[0]), oci_blob_cmp);
	r = oci_member_data(o, ae, "oci-layout", layout, strlen(layout), mtime);
	if (r >= 0)
		r = oci_member_data(o, ae, "index.json", index, strlen(index), mtime);
	if (r >= 0)
		r = oci_member(o, ae, "blobs/", true, 0, mtime);
	if (r >= 0)
		r = oci_member(o, ae, "blobs/sha256/", true, 0, mtime);
	for (i = 0; r >= 0 && i < 3; i++) {
		snprintf(name, sizeof(name), "blobs/sha256/%.64s", blobs[i].hex);
		if (blobs[i].data)
			r = oci_member_data(o, ae, name, blobs[i].data,
					    blobs[i].len, mtime);
		else
			r = oci_member_file(o, ae, name, layer_fd, layer_size,
					    chunk, mtime);
	}
	archive_entry_free(ae);
	return r < 0 ? r : 0;
}

/* An unlinked temporary file next to path (same file system, no litter). */
static int oci_tmpfile(const char *path, int *ret_fd, struct hm_error *err)
{
	char *copy = strdup(path), *tmp = NULL;
	int fd, r = 0;

	if (!copy || asprintf(&tmp, "%s/.hallmark-layer-XXXXXX", dirname(copy)) < 0) {
		free(copy);
		return hm_error_nomem(err);
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		r = hm_error_set(err, HM_ERR_IO, errno,
				 "cannot create a temporary file for '%s'", path);
	else
		unlink(tmp);
	free(tmp);
	free(copy);
	if (r == 0)
		*ret_fd = fd;
	return r;
}

int hm_emit_oci(const char *tar_path, const struct hm_tpl_config *config,
		enum hm_pgzip_codec codec, const char *ref, time_t mtime, const char *path,
		struct hm_oci_result *ret, struct hm_error *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	struct hm_oci_result res;
	struct oci_blob blobs[3];
	struct hm_atomic *atom = NULL;
	unsigned char d[32], *chunk = NULL;
	char *config_json = NULL, *manifest_json = NULL, *index_json = NULL;
	char created[32];
	struct oci_out o = { 0 };
	struct hm_error scratch;
	int layer_fd = -1, r;

	if (!err)
		err = &scratch;   /* err->code is read below */
	memset(&res, 0, sizeof(res));
	if (ref && ref[0] && !oci_ref_valid(ref))
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "'%s' is not a valid OCI reference name", ref);
	r = oci_time(mtime, created, err);
	if (r < 0)
		return r;
	chunk = malloc(OCI_COPY_CHUNK);
	if (!chunk)
		return hm_error_nomem(err);
	r = oci_tmpfile(path, &layer_fd, err);
	if (r < 0)
		goto out;
	r = oci_make_layer(tar_path, codec, layer_fd, path, &res, err);
	if (r < 0)
		goto out;

	config_json = oci_config_json(config, &res, created, err);
	if (!config_json) {
		r = err->code;
		goto out;
	}
	hm_hash_buf(HM_HASH_SHA256, config_json, strlen(config_json), d);
	oci_digest_str(d, res.config_digest);
	manifest_json = oci_manifest_json(res.config_digest, strlen(config_json),
					  codec, &res, err);
	if (!manifest_json) {
		r = err->code;
		goto out;
	}
	hm_hash_buf(HM_HASH_SHA256, manifest_json, strlen(manifest_json), d);
	oci_digest_str(d, res.manifest_digest);
	index_json = oci_index_json(res.manifest_digest, strlen(manifest_json),
				    ref, err);
	if (!index_json) {
		r = err->code;
		goto out;
	}

	blobs[0] = (struct oci_blob){ .data = config_json,
				      .len = strlen(config_json) };
	memcpy(blobs[0].hex, res.config_digest + 7, 65);
	blobs[1] = (struct oci_blob){ .data = manifest_json,
				      .len = strlen(manifest_json) };
	memcpy(blobs[1].hex, res.manifest_digest + 7, 65);
	blobs[2] = (struct oci_blob){ .data = NULL };
	memcpy(blobs[2].hex, res.layer_digest + 7, 65);

	r = hm_atomic_open(path, 0644, true, &atom, err);
	if (r < 0)
		goto out;
	r = oci_out_init(&o, hm_atomic_fd(atom), path, err);
	if (r < 0)
		goto out;
	if (archive_write_set_format_pax_restricted(o.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(o.a, 10240) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(o.a, 10240) != ARCHIVE_OK) {
		r = oci_archive_error(&o, "setup");
		goto out;
	}
	r = oci_out_open(&o);
	if (r < 0)
		goto out;
	r = oci_write_archive(&o, blobs, index_json, layout, layer_fd,
			      res.layer_size, chunk, mtime);
	if (r < 0)
		goto out;
	r = oci_out_finish(&o, d);
	if (r < 0)
		goto out;
	oci_digest_str(d, res.archive_sha256);
	r = hm_atomic_commit(atom, err);
	atom = NULL;
	if (r < 0)
		goto out;
	*ret = res;
out:
	oci_out_free(&o, r < 0);
	hm_atomic_abort(atom);
	if (layer_fd >= 0)
		close(layer_fd);
	free(config_json);
	free(manifest_json);
	free(index_json);
	free(chunk);
	return r;
}
