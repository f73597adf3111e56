/*
 * registry: targets, HOST[:PORT]/REPO[:TAG|@sha256:HEX]: an image read
 * straight from a registry, and the signed hallmark manifest attached to
 * it as an OCI 1.1 referrer (docs/registry.md).
 *
 * The image goes through the same reader as oci: (source_oci.c), so the
 * same image gives the same findings either way.  That reader reads blobs
 * in place with pread, so the blobs are streamed, hashed as they arrive,
 * into an OCI image archive in an anonymous temporary file (O_TMPFILE:
 * it has no name, and vanishes with its last descriptor) which the reader
 * then opens.  A blob whose size or digest is wrong fails the whole open;
 * nothing is ever kept under a name derived from a digest.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/limits.h"
#include "hallmark/registry.h"
#include "hallmark/source.h"
#include "hallmark/target.h"
#include "hallmark/trust.h"

#include "registry_private.h"

/* An anonymous file in $TMPDIR (else /var/tmp: images are large). */
static int anon_file(int *ret, struct hm_error *err)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* A file system without O_TMPFILE: a name for an instant. */
		if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/.hallmark-registry-XXXXXX", dir) >= sizeof(tmpl))
			return hm_error_set(err, HM_ERR_USAGE, 0, "TMPDIR is too long");
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd >= 0)
			unlink(tmpl);
	}
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot make a temporary file in '%s'", dir);
	*ret = fd;
	return 0;
}

/*
 * The readers name the files they read; ours have no names but
 * /proc/self/fd/N, which means nothing to a user: say what they hold.
 */
static void name_in_msg(struct hm_error *err, const char *path, const char *name)
{
	struct hm_buf b = HM_BUF_INIT;
	const char *p = err->msg, *q;
	size_t pl = strlen(path);

	while ((q = strstr(p, path))) {
		if (hm_buf_add(&b, p, (size_t)(q - p)) < 0 || hm_buf_adds(&b, name) < 0)
			goto out;
		p = q + pl;
	}
	if (p == err->msg || hm_buf_adds(&b, p) < 0)
		goto out;
	snprintf(err->msg, sizeof(err->msg), "%s", b.data);
out:
	hm_buf_free(&b);
}

static bool is_index(const char *mt)
{
	return strcmp(mt, HM_MT_OCI_INDEX) == 0 || strcmp(mt, HM_MT_DOCKER_LIST) == 0;
}

static bool is_image(const char *mt)
{
	return strcmp(mt, HM_MT_OCI_MANIFEST) == 0 || strcmp(mt, HM_MT_DOCKER_MANIFEST) == 0;
}

/* A descriptor's digest and size; HM_ERR_INPUT if malformed. */
static int desc_of(const struct hm_registry_ref *ref, json_t *d, const char *what,
		   const char **ret_digest, uint64_t *ret_size, struct hm_error *err)
{
	const char *dg = json_string_value(json_object_get(d, "digest"));
	json_t *sz = json_object_get(d, "size");
	char hex[65];

	if (!dg || hm_registry_check_digest(dg, hex, err) < 0 ||
	    !json_is_integer(sz) || json_integer_value(sz) < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: %s is not a valid descriptor",
				    ref->host, ref->repo, what);
	*ret_digest = dg;
	*ret_size = (uint64_t)json_integer_value(sz);
	return 0;
}

/*
 * The image manifest ref names: by tag or digest; an index is resolved to
 * its linux/amd64 entry, fetched by digest.  *ret_top is the digest the
 * reference resolved to (the index's, if it was one).
 */
static int resolve_image(struct hm_registry *reg, const struct hm_registry_ref *ref,
			 struct hm_buf *body, char **ret_mt,
			 char digest[HM_REGISTRY_DIGEST_LEN + 1],
			 char top[HM_REGISTRY_DIGEST_LEN + 1], struct hm_error *err)
{
	char *mt = NULL;
	json_t *j = NULL, *arr, *d;
	json_error_t je;
	const char *pick = NULL;
	uint64_t size = 0;
	size_t i;
	int r;

	if ((r = hm_registry_get_manifest(reg, ref->repo, ref->tag ? ref->tag : ref->digest,
					  NULL, body, &mt, digest, err)) < 0)
		goto out;
	memcpy(top, digest, HM_REGISTRY_DIGEST_LEN + 1);
	if (is_index(mt)) {
		j = json_loadb(body->data, body->len, 0, &je);
		arr = json_object_get(j, "manifests");
		json_array_foreach(arr, i, d) {
			json_t *p = json_object_get(d, "platform");
			const char *os = json_string_value(json_object_get(p, "os"));
			const char *arch = json_string_value(json_object_get(p, "architecture"));

			/* The one platform hallmark's images are built for; an
			 * index without platforms and one entry is that entry. */
			if ((os && arch && strcmp(os, "linux") == 0 && strcmp(arch, "amd64") == 0) ||
			    (!p && json_array_size(arr) == 1)) {
				if ((r = desc_of(ref, d, "the index's linux/amd64 entry", &pick, &size, err)) < 0)
					goto out;
				break;
			}
		}
		if (!pick) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the index %s has no linux/amd64 image",
					 ref->host, ref->repo, top);
			goto out;
		}
		free(mt);
		mt = NULL;
		{
			char want[HM_REGISTRY_DIGEST_LEN + 1];

			snprintf(want, sizeof(want), "%s", pick);
			if ((r = hm_registry_get_manifest(reg, ref->repo, want, NULL, body, &mt,
							  digest, err)) < 0)
				goto out;
		}
		if (body->len != size) {
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "%s/%s: manifest %s has %zu bytes, its descriptor says %" PRIu64,
					 ref->host, ref->repo, digest, body->len, size);
			goto out;
		}
	}
	if (!is_image(mt)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: %s is of media type '%s', not an image",
				 ref->host, ref->repo, digest, mt);
		goto out;
	}
	*ret_mt = mt;
	mt = NULL;
	r = 0;
out:
	free(mt);
	json_decref(j);
	return r;
}

/* ---- the image as an OCI archive in an anonymous file --------------------- */

struct writer {
	struct archive *a;
	struct hm_error *err;
};

static int ar_fail(struct writer *w, const char *what)
{
	return hm_error_set(w->err, HM_ERR_IO, archive_errno(w->a),
			    "cannot write the temporary image (%s): %s", what,
			    archive_error_string(w->a) ? archive_error_string(w->a) : "");
}

static int ar_header(struct writer *w, const char *name, uint64_t size)
{
	struct archive_entry *e = archive_entry_new();
	int r = 0;

	if (!e)
		return hm_error_nomem(w->err);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	if (archive_write_header(w->a, e) != ARCHIVE_OK)
		r = ar_fail(w, name);
	archive_entry_free(e);
	return r;
}

static int ar_data(void *ctx, const void *buf, size_t len, struct hm_error *err)
{
	struct writer *w = ctx;

	(void)err;
	if (archive_write_data(w->a, buf, len) != (la_ssize_t)len)
		return ar_fail(w, "data");
	return 0;
}

static int ar_file(struct writer *w, const char *name, const void *data, size_t len)
{
	int r;

	if ((r = ar_header(w, name, len)) < 0)
		return r;
	return ar_data(w, data, len, w->err);
}

static int ar_blob(struct writer *w, struct hm_registry *reg,
		   const struct hm_registry_ref *ref, const char *digest,
		   uint64_t size, uint64_t *total)
{
	char name[96];
	int r;

	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	if ((r = ar_header(w, name, size)) < 0)
		return r;
	return hm_registry_get_blob(reg, ref->repo, digest, size, ar_data, w, total, w->err);
}

static int write_image(struct hm_registry *reg, const struct hm_registry_ref *ref,
		       const struct hm_buf *man, const char *mt, const char *digest,
		       int fd, struct hm_error *err)
{
	struct writer w = { .err = err };
	json_t *j = NULL, *layers, *d, *idx = NULL;
	json_error_t je;
	char *idx_text = NULL, name[96];
	const char *dg;
	uint64_t size, total = 0;
	size_t i;
	int r;

	j = json_loadb(man->data, man->len, 0, &je);
	layers = json_object_get(j, "layers");
	if (!json_is_array(layers)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the image manifest %s has no layers list",
				 ref->host, ref->repo, digest);
		goto out;
	}
	if (json_array_size(layers) > HM_LIMIT_OCI_LAYERS) {
		r = hm_error_set(err, HM_ERR_LIMIT, 0, "%s/%s: %zu layers exceed the limit of %u (HM_LIMIT_OCI_LAYERS)",
				 ref->host, ref->repo, json_array_size(layers), HM_LIMIT_OCI_LAYERS);
		goto out;
	}
	idx = json_pack("{s:i, s:s, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2,
			"mediaType", HM_MT_OCI_INDEX, "manifests", "mediaType", mt,
			"digest", digest, "size", (json_int_t)man->len);
	if (!idx || !(idx_text = json_dumps(idx, JSON_COMPACT))) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (!(w.a = archive_write_new()) ||
	    archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
	    archive_write_open_fd(w.a, fd) != ARCHIVE_OK) {
		r = w.a ? ar_fail(&w, "open") : hm_error_nomem(err);
		goto out;
	}
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	if ((r = ar_file(&w, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30)) < 0 ||
	    (r = ar_file(&w, "index.json", idx_text, strlen(idx_text))) < 0 ||
	    (r = ar_file(&w, name, man->data, man->len)) < 0)
		goto out;
	if ((r = desc_of(ref, json_object_get(j, "config"), "the manifest's config", &dg, &size, err)) < 0 ||
	    (r = ar_blob(&w, reg, ref, dg, size, &total)) < 0)
		goto out;
	json_array_foreach(layers, i, d) {
		char what[32];

		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if ((r = desc_of(ref, d, what, &dg, &size, err)) < 0 ||
		    (r = ar_blob(&w, reg, ref, dg, size, &total)) < 0)
			goto out;
	}
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		r = ar_fail(&w, "close");
		goto out;
	}
	r = 0;
out:
	if (w.a)
		archive_write_free(w.a);
	free(idx_text);
	json_decref(idx);
	json_decref(j);
	return r;
}

static int open_registry(const char *spec, const struct hm_scan_options *opt,
			 struct hm_source **ret, struct hm_error *err)
{
	struct hm_registry_ref ref = { 0 };
	struct hm_registry *reg = NULL;
	struct hm_buf man = HM_BUF_INIT;
	char digest[HM_REGISTRY_DIGEST_LEN + 1], top[HM_REGISTRY_DIGEST_LEN + 1];
	char path[64], *mt = NULL;
	int fd = -1, r;

	if ((r = hm_registry_ref_parse(spec, false, &ref, err)) < 0 ||
	    (r = hm_registry_new(ref.host, NULL, &reg, err)) < 0 ||
	    (r = resolve_image(reg, &ref, &man, &mt, digest, top, err)) < 0 ||
	    (r = anon_file(&fd, err)) < 0 ||
	    (r = write_image(reg, &ref, &man, mt, digest, fd, err)) < 0)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((r = hm_source_oci_open(path, false, opt, ret, err)) < 0) {
		char name[600];

		snprintf(name, sizeof(name), "registry:%s/%s@%s", ref.host, ref.repo, digest);
		name_in_msg(err, path, name);
	}
out:
	if (fd >= 0)
		close(fd);
	free(mt);
	hm_buf_free(&man);
	hm_registry_free(reg);
	hm_registry_ref_clear(&ref);
	return r;
}

const struct hm_target hm_target_registry = {
	.prefix = "registry:", .syntax = "registry:HOST[:PORT]/REPO[:TAG|@DIGEST]",
	.summary = "an image in a registry (OCI distribution API)",
	.open = open_registry,
};

/* ---- the attached signed manifest ----------------------------------------- */

/* A blob of at most max bytes into a new anonymous file. */
static int blob_to_file(struct hm_registry *reg, const char *repo, const char *digest,
			uint64_t size, uint64_t max, int *ret_fd, struct hm_error *err);

struct fdsink {
	int fd;
};

static int fd_write(void *ctx, const void *buf, size_t len, struct hm_error *err)
{
	struct fdsink *s = ctx;
	const char *p = buf;

	while (len) {
		ssize_t n = write(s->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hm_error_set(err, HM_ERR_IO, errno, "cannot write a temporary file");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int blob_to_file(struct hm_registry *reg, const char *repo, const char *digest,
			uint64_t size, uint64_t max, int *ret_fd, struct hm_error *err)
{
	struct fdsink s = { -1 };
	int r;

	if (size > max)
		return hm_error_set(err, HM_ERR_LIMIT, 0, "blob %s of %" PRIu64 " bytes exceeds %" PRIu64,
				    digest, size, max);
	if ((r = anon_file(&s.fd, err)) < 0)
		return r;
	if ((r = hm_registry_get_blob(reg, repo, digest, size, fd_write, &s, NULL, err)) < 0) {
		close(s.fd);
		return r;
	}
	*ret_fd = s.fd;
	return 0;
}

/* The layer of artifact manifest j whose media type is mt. */
static json_t *layer_of(json_t *j, const char *mt)
{
	json_t *d;
	size_t i;

	json_array_foreach(json_object_get(j, "layers"), i, d) {
		const char *m = json_string_value(json_object_get(d, "mediaType"));

		if (m && strcmp(m, mt) == 0)
			return d;
	}
	return NULL;
}

/* Try one referrer: fetch it, check its subject, fetch its two layers,
 * and check the signature with the pinned keys. */
static int try_referrer(struct hm_registry *reg, const struct hm_registry_ref *ref,
			const char *subject, const struct hm_registry_desc *desc,
			struct hm_pubkey *const *keys, size_t n_keys, time_t now,
			struct hm_trusted_manifest **ret, struct hm_error *err)
{
	struct hm_buf body = HM_BUF_INIT;
	json_t *j = NULL, *ml, *sl;
	json_error_t je;
	const char *sub, *mdg, *sdg;
	uint64_t msz, ssz;
	char *mt = NULL, mpath[64], spath[64];
	int mfd = -1, sfd = -1, r;

	if ((r = hm_registry_get_manifest(reg, ref->repo, desc->digest, HM_MT_OCI_MANIFEST,
					  &body, &mt, NULL, err)) < 0)
		goto out;
	j = json_loadb(body.data, body.len, 0, &je);
	sub = json_string_value(json_object_get(json_object_get(j, "subject"), "digest"));
	/* The referrers index is only the registry's word; the artifact's
	 * own subject is what binds it to this image. */
	if (!sub || strcmp(sub, subject) != 0) {
		r = hm_error_set(err, HM_ERR_TRUST, 0,
				 "%s/%s: referrer %s is attached to %s, not to %s",
				 ref->host, ref->repo, desc->digest, sub ? sub : "no image", subject);
		goto out;
	}
	ml = layer_of(j, HM_MT_MANIFEST_LAYER);
	sl = layer_of(j, HM_MT_SIGNATURE_LAYER);
	if (!ml || !sl) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: referrer %s lacks the manifest or the signature layer",
				 ref->host, ref->repo, desc->digest);
		goto out;
	}
	if ((r = desc_of(ref, ml, "the manifest layer", &mdg, &msz, err)) < 0 ||
	    (r = desc_of(ref, sl, "the signature layer", &sdg, &ssz, err)) < 0 ||
	    (r = blob_to_file(reg, ref->repo, mdg, msz, HM_LIMIT_MANIFEST_BYTES, &mfd, err)) < 0 ||
	    (r = blob_to_file(reg, ref->repo, sdg, ssz, HM_LIMIT_SIGFILE_BYTES, &sfd, err)) < 0)
		goto out;
	snprintf(mpath, sizeof(mpath), "/proc/self/fd/%d", mfd);
	snprintf(spath, sizeof(spath), "/proc/self/fd/%d", sfd);
	if ((r = hm_trust_open(mpath, spath, keys, n_keys, now, ret, err)) < 0) {
		char name[600];

		snprintf(name, sizeof(name), "%s/%s@%s (manifest)", ref->host, ref->repo, desc->digest);
		name_in_msg(err, mpath, name);
		snprintf(name, sizeof(name), "%s/%s@%s (signature)", ref->host, ref->repo, desc->digest);
		name_in_msg(err, spath, name);
	}
out:
	if (mfd >= 0)
		close(mfd);
	if (sfd >= 0)
		close(sfd);
	free(mt);
	json_decref(j);
	hm_buf_free(&body);
	return r;
}

int hm_registry_trusted_manifest(const char *spec,
				 struct hm_pubkey *const *keys, size_t n_keys,
				 time_t now, struct hm_trusted_manifest **ret_tm,
				 char **ret_target, char **ret_desc,
				 struct hm_error *err)
{
	struct hm_registry_ref ref = { 0 };
	struct hm_registry *reg = NULL;
	struct hm_buf man = HM_BUF_INIT;
	struct hm_registry_descs refs = { 0 };
	struct hm_error last = { 0 };
	char digest[HM_REGISTRY_DIGEST_LEN + 1], top[HM_REGISTRY_DIGEST_LEN + 1];
	char *mt = NULL, *target = NULL, *desc = NULL;
	const char *subjects[2];
	size_t i, s, tried = 0;
	int r;

	if ((r = hm_registry_ref_parse(spec, false, &ref, err)) < 0 ||
	    (r = hm_registry_new(ref.host, NULL, &reg, err)) < 0 ||
	    (r = resolve_image(reg, &ref, &man, &mt, digest, top, err)) < 0)
		goto out;
	/* Attached to the image manifest, or to the index it came from. */
	subjects[0] = digest;
	subjects[1] = strcmp(top, digest) != 0 ? top : NULL;
	for (s = 0; s < 2 && subjects[s]; s++) {
		hm_registry_descs_free(&refs);
		if ((r = hm_registry_referrers(reg, ref.repo, subjects[s], HM_ARTIFACT_MANIFEST,
					       &refs, err)) < 0)
			goto out;
		for (i = 0; i < refs.n; i++) {
			struct hm_error e = { 0 };

			tried++;
			if (try_referrer(reg, &ref, subjects[s], &refs.v[i], keys, n_keys, now,
					 ret_tm, &e) < 0) {
				/* Any failure: the next one may be good; the last
				 * reason is named in the verdict. */
				last = e;
				continue;
			}
			if (asprintf(&target, "registry:%s/%s@%s", ref.host, ref.repo, digest) < 0 ||
			    asprintf(&desc, "registry:%s/%s@%s", ref.host, ref.repo, refs.v[i].digest) < 0) {
				r = hm_error_nomem(err);
				goto out;
			}
			*ret_target = target;
			*ret_desc = desc;
			target = desc = NULL;
			r = 0;
			goto out;
		}
	}
	if (tried == 0)
		r = hm_error_set(err, HM_ERR_TRUST, 0,
				 "unsigned image: registry:%s/%s@%s has no hallmark manifest attached",
				 ref.host, ref.repo, digest);
	else
		r = hm_error_set(err, HM_ERR_TRUST, 0,
				 "unsigned image: none of the %zu hallmark manifests attached to registry:%s/%s@%s is signed by a pinned key (%s)",
				 tried, ref.host, ref.repo, digest, last.msg);
out:
	free(target);
	free(desc);
	free(mt);
	hm_registry_descs_free(&refs);
	hm_buf_free(&man);
	hm_registry_free(reg);
	hm_registry_ref_clear(&ref);
	return r;
}
