/*
 * hallmark push: an OCI image archive to a registry, then its signed
 * manifest and in-toto attestations attached as OCI 1.1 referrers of the
 * image manifest (docs/registry.md, "Push and attachments").
 *
 * The archive is read twice with libarchive, never unpacked: once for
 * index.json and the small JSON blobs (the image manifest, its config),
 * once to stream each layer the registry lacks, in chunks, hashed on the
 * way so a layer whose bytes do not match its name is never committed
 * under that name.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder.h"
#include "hallmark/attest.h"
#include "hallmark/buf.h"
#include "hallmark/cli.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/manifest.h"
#include "hallmark/registry.h"
#include "hallmark/registry_upload.h"
#include "hallmark/sign.h"
#include "hallmark/trust.h"

/* The attached manifest's types are the registry client's (registry.h),
 * which finds it. */
#define ARTIFACT_MANIFEST HM_ARTIFACT_MANIFEST
#define LAYER_MANIFEST HM_MT_MANIFEST_LAYER
#define LAYER_SIGNATURE HM_MT_SIGNATURE_LAYER
#define DSSE_TYPE "application/vnd.dsse.envelope.v1+json"
#define PREDICATE_ANNOTATION "in-toto.io/predicate-type"
/* A blob this small is read whole in the first pass (manifests, configs). */
#define SMALL_BLOB_MAX (1u << 20)
#define MAX_BLOBS 1024
/* All of them together: a hostile archive does not fill the memory. */
#define SMALL_TOTAL_MAX (64u << 20)

static const char usage[] =
	"usage: hallmark push IMAGE.oci.tar REF [--key KEY] [--manifest F]\n"
	"                     [--authfile F] [--ca-file F] [--insecure-registry HOST]\n"
	"                     [--mount-from REPO] [--chunk-size N] [--passphrase-file F]\n";

static const char help[] =
	"\n"
	"Upload the OCI image archive to REF (HOST[:PORT]/REPOSITORY[:TAG]), then\n"
	"attach to the image manifest, as OCI 1.1 referrers: the signed hallmark\n"
	"manifest (NAME.manifest and NAME.manifest.sig next to the image, or\n"
	"--manifest), and with --key the in-toto attestations (hallmark manifest,\n"
	"SLSA provenance from NAME.build.json, SPDX SBOM) in DSSE envelopes about\n"
	"the pushed digest.  Blobs the registry has are skipped.  On a registry\n"
	"without the referrers API the sha256-DIGEST tag index is kept up to date.\n"
	"Credentials come from the auth file, never the command line.\n"
	"\n"
	"  -k, --key KEY              sign attestations (the key that signed the\n"
	"                             manifest)\n"
	"      --manifest F           the signed manifest (F.sig beside it)\n"
	"      --authfile F           containers-auth.json (default\n"
	"                             $REGISTRY_AUTH_FILE, then\n"
	"                             $XDG_RUNTIME_DIR/containers/auth.json, then\n"
	"                             ~/.docker/config.json)\n"
	"      --ca-file F            trust these CAs for the registry's TLS\n"
	"      --insecure-registry H  allow plain HTTP to H (loopback always is)\n"
	"      --mount-from REPO      mount blobs from REPO on the same registry\n"
	"      --chunk-size N         larger blobs go in chunks of N bytes\n"
	"                             (default 16777216)\n"
	"      --passphrase-file F    read the key's passphrase from F (first line)\n"
	"  -h, --help                 show this help\n";

/* A blob of the image: its descriptor, and its bytes when small. */
struct blob {
	char digest[72];
	unsigned long long size;
	char *data; /* NULL until read (small blobs only) */
	bool needed, done;
};

struct image {
	struct blob blobs[MAX_BLOBS];
	size_t n;
	char *index;
	size_t index_len;
	char manifest_digest[72];
	char *manifest;
	size_t manifest_len;
	char *manifest_type;
};

/* The registry client's handle, the repository pushed to, and what the
 * push did (for the summary). */
struct push_stats {
	unsigned long blobs_uploaded, blobs_present, blobs_mounted, chunks;
	unsigned long long bytes_uploaded;
};
struct pusher {
	struct hm_registry *reg;
	const char *repo;
	struct push_stats st;
};

static int p_blob_has(struct pusher *p, const char *digest, bool *has,
		      struct hm_error *err)
{
	int r = hm_registry_blob_exists(p->reg, p->repo, digest, err);

	if (r < 0)
		return r;
	*has = r > 0;
	p->st.blobs_present += *has;
	return 0;
}

static int p_blob_mount(struct pusher *p, const char *digest, const char *from,
			bool *mounted, struct hm_error *err)
{
	int r = hm_registry_mount_blob(p->reg, p->repo, digest, from, err);

	if (r < 0)
		return r;
	*mounted = r > 0;
	p->st.blobs_mounted += *mounted;
	return 0;
}

static int p_blob_put(struct pusher *p, const char *digest, const void *data,
		      size_t len, struct hm_error *err)
{
	int r = hm_registry_put_blob(p->reg, p->repo, digest, data, len, err);

	if (r >= 0) {
		p->st.blobs_uploaded++;
		p->st.bytes_uploaded += len;
	}
	return r;
}

/* PUT a manifest; the client returns its sha256, which names it. */
static int p_manifest_put(struct pusher *p, const char *reference, const char *mt,
			  const void *data, size_t len, struct hm_error *err)
{
	char d[HM_REGISTRY_DIGEST_LEN + 1];

	return hm_registry_put_manifest(p->reg, p->repo, reference, mt, data, len, d, err);
}

/* GET a manifest or index by tag; *found false when there is none. */
static int p_manifest_get(struct pusher *p, const char *tag, const char *accept,
			  struct hm_buf *out, bool *found, struct hm_error *err)
{
	char d[HM_REGISTRY_DIGEST_LEN + 1], *mt = NULL;
	int r;

	*found = false;
	if ((r = hm_registry_head_manifest(p->reg, p->repo, tag, d, err)) <= 0)
		return r;
	r = hm_registry_get_manifest(p->reg, p->repo, tag, accept, out, &mt, d, err);
	free(mt);
	*found = r >= 0;
	return r < 0 ? r : 0;
}

static const char *member_name(struct archive_entry *ae)
{
	const char *p = archive_entry_pathname(ae);

	if (!p)
		return "";
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

static struct blob *find_blob(struct image *im, const char *digest)
{
	size_t i;

	for (i = 0; i < im->n; i++)
		if (!strcmp(im->blobs[i].digest, digest))
			return &im->blobs[i];
	return NULL;
}

static int open_archive(const char *path, struct archive **ret, struct hm_error *err)
{
	struct archive *a = archive_read_new();

	if (!a)
		return hm_error_nomem(err);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		int r = hm_error_set(err, HM_ERR_IO, 0, "cannot open '%s': %s", path,
				     archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* Read the current member whole, up to max bytes. */
static int read_member(struct archive *a, const char *path, const char *name,
		       size_t max, char **ret, size_t *ret_len, struct hm_error *err)
{
	struct hm_buf b = { 0 };
	char chunk[65536];
	la_ssize_t n;

	while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
		if (b.len + (size_t)n > max) {
			hm_buf_free(&b);
			return hm_error_set(err, HM_ERR_LIMIT, 0, "%s: member '%s' is "
					    "larger than %zu bytes", path, name, max);
		}
		if (hm_buf_add(&b, chunk, (size_t)n) < 0) {
			hm_buf_free(&b);
			return hm_error_nomem(err);
		}
	}
	if (n < 0) {
		hm_buf_free(&b);
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s: member '%s': %s", path,
				    name, archive_error_string(a));
	}
	if (hm_buf_addc(&b, '\0') < 0) {
		hm_buf_free(&b);
		return hm_error_nomem(err);
	}
	*ret = b.data;
	*ret_len = b.len - 1;
	return 0;
}

static int sha256_hex(const void *data, size_t len, char out[72])
{
	unsigned char d[32];
	struct hm_buf hex = { 0 };

	if (hm_hash_buf(HM_HASH_SHA256, data, len, d) < 0 ||
	    hm_buf_addhex(&hex, d, sizeof(d)) < 0) {
		hm_buf_free(&hex);
		return -1;
	}
	snprintf(out, 72, "sha256:%s", hex.data);
	hm_buf_free(&hex);
	return 0;
}

/* A descriptor's digest and size, checked. */
static int parse_desc(json_t *d, const char *path, const char *where,
		      char digest[72], unsigned long long *size,
		      struct hm_error *err)
{
	const char *dg = json_string_value(json_object_get(d, "digest"));
	json_t *sz = json_object_get(d, "size");
	size_t i;

	if (!dg || strncmp(dg, "sha256:", 7) || strlen(dg) != 71 ||
	    !json_is_integer(sz) || json_integer_value(sz) < 0)
		goto bad;
	for (i = 7; i < 71; i++)
		if (!strchr("0123456789abcdef", dg[i]))
			goto bad;
	memcpy(digest, dg, 72);
	*size = (unsigned long long)json_integer_value(sz);
	return 0;
bad:
	return hm_error_set(err, HM_ERR_INPUT, 0, "%s: %s is not a descriptor with a "
			    "sha256 digest and a size", path, where);
}

/* Pass 1: index.json, the small blobs; then the image manifest's blobs. */
static int load_image(const char *path, struct image *im, struct hm_error *err)
{
	struct archive *a = NULL;
	struct archive_entry *ae;
	json_t *idx = NULL, *man = NULL, *layers, *l;
	char *small[MAX_BLOBS] = { 0 }, names[MAX_BLOBS][72];
	size_t small_len[MAX_BLOBS], n_small = 0, small_total = 0, i, len;
	char digest[72], where[64];
	unsigned long long size;
	struct blob *b;
	int r;

	if ((r = open_archive(path, &a, err)) < 0)
		return r;
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		const char *name = member_name(ae);

		if (!strcmp(name, "index.json")) {
			/* Two would let two readers see two images. */
			if (im->index) {
				r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: two index.json "
						 "members", path);
				goto out;
			}
			if ((r = read_member(a, path, name, SMALL_BLOB_MAX, &im->index,
					     &im->index_len, err)) < 0)
				goto out;
		} else if (!strncmp(name, "blobs/sha256/", 13) && strlen(name) == 77 &&
			   archive_entry_size(ae) <= SMALL_BLOB_MAX && n_small < MAX_BLOBS) {
			if (small_total + (size_t)archive_entry_size(ae) > SMALL_TOTAL_MAX) {
				r = hm_error_set(err, HM_ERR_LIMIT, 0, "%s: more than %u bytes "
						 "of small blobs", path, SMALL_TOTAL_MAX);
				goto out;
			}
			snprintf(names[n_small], sizeof(names[n_small]), "sha256:%s", name + 13);
			if ((r = read_member(a, path, name, SMALL_BLOB_MAX, &small[n_small],
					     &small_len[n_small], err)) < 0)
				goto out;
			small_total += small_len[n_small];
			n_small++;
		}
	}
	if (r != ARCHIVE_EOF) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	r = -1;
	if (!im->index) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: no index.json (not an OCI "
				 "image archive)", path);
		goto out;
	}
	idx = json_loadb(im->index, im->index_len, 0, NULL);
	if (json_array_size(json_object_get(idx, "manifests")) != 1) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: index.json must list exactly "
				 "one image manifest", path);
		goto out;
	}
	l = json_array_get(json_object_get(idx, "manifests"), 0);
	if ((r = parse_desc(l, path, "index.json's manifest", im->manifest_digest,
			    &size, err)) < 0)
		goto out;
	r = -1;
	for (i = 0; i < n_small; i++)
		if (!strcmp(names[i], im->manifest_digest))
			break;
	if (i == n_small || small_len[i] != size) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: image manifest %s is not in "
				 "the archive with its size", path, im->manifest_digest);
		goto out;
	}
	if (sha256_hex(small[i], small_len[i], digest) < 0 ||
	    strcmp(digest, im->manifest_digest) != 0) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: image manifest's bytes are "
				 "not %s", path, im->manifest_digest);
		goto out;
	}
	im->manifest = small[i];
	im->manifest_len = small_len[i];
	small[i] = NULL;
	man = json_loadb(im->manifest, im->manifest_len, 0, NULL);
	im->manifest_type = strdup(json_string_value(json_object_get(man, "mediaType")) ?
				   json_string_value(json_object_get(man, "mediaType")) :
				   HM_MT_OCI_MANIFEST);
	layers = json_object_get(man, "layers");
	if (!man || !json_is_array(layers) || !im->manifest_type ||
	    json_array_size(layers) + 1 > MAX_BLOBS) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: image manifest %s has no "
				 "layers array", path, im->manifest_digest);
		goto out;
	}
	for (i = 0; i <= json_array_size(layers); i++) {
		json_t *d = i == 0 ? json_object_get(man, "config") :
				     json_array_get(layers, i - 1);

		snprintf(where, sizeof(where), i == 0 ? "the config" : "layer %zu", i - 1);
		if ((r = parse_desc(d, path, where, digest, &size, err)) < 0)
			goto out;
		if (find_blob(im, digest))
			continue;
		b = &im->blobs[im->n++];
		memcpy(b->digest, digest, sizeof(digest));
		b->size = size;
		b->needed = true;
	}
	/* Small blobs: keep those the manifest names, checked now. */
	for (i = 0; i < n_small; i++) {
		b = find_blob(im, names[i]);
		if (!b || b->data)
			continue;
		len = small_len[i];
		if (len != b->size || sha256_hex(small[i], len, digest) < 0 ||
		    strcmp(digest, b->digest) != 0) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: blob %s does not match "
					 "its descriptor (size or digest)", path, b->digest);
			goto out;
		}
		b->data = small[i];
		small[i] = NULL;
	}
	r = 0;
out:
	for (i = 0; i < n_small; i++)
		free(small[i]);
	json_decref(idx);
	json_decref(man);
	if (a)
		archive_read_free(a);
	return r;
}

static void image_free(struct image *im)
{
	size_t i;

	for (i = 0; i < im->n; i++)
		free(im->blobs[i].data);
	free(im->index);
	free(im->manifest);
	free(im->manifest_type);
}

/* Stream the current member to the registry in chunks, hashing it. */
static int stream_blob(struct pusher *reg, struct archive *a, const char *path,
		       struct blob *b, size_t chunk, struct hm_error *err)
{
	struct hm_registry_upload *u = NULL;
	struct hm_hash *h = hm_hash_new(HM_HASH_SHA256);
	unsigned char d[32];
	unsigned long long total = 0;
	char *buf = malloc(chunk), got[72];
	struct hm_buf hex = { 0 };
	size_t fill = 0;
	la_ssize_t n;
	int r;

	if (!h || !buf) {
		r = hm_error_nomem(err);
		goto out;
	}
	if ((r = hm_registry_upload_start(reg->reg, reg->repo, &u, err)) < 0)
		goto out;
	for (;;) {
		n = archive_read_data(a, buf + fill, chunk - fill);
		if (n < 0) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: blob %s: %s", path,
					 b->digest, archive_error_string(a));
			goto out;
		}
		fill += (size_t)n;
		total += (unsigned long long)n;
		if (total > b->size) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: blob %s is larger than "
					 "its descriptor's %llu bytes", path, b->digest, b->size);
			goto out;
		}
		if (fill == chunk || (n == 0 && fill)) {
			hm_hash_update(h, buf, fill);
			if ((r = hm_registry_upload_chunk(u, buf, fill, err)) < 0)
				goto out;
			reg->st.chunks++;
			reg->st.bytes_uploaded += fill;
			fill = 0;
		}
		if (n == 0)
			break;
	}
	if (hm_hash_final(h, d) < 0 || hm_buf_addhex(&hex, d, sizeof(d)) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	snprintf(got, sizeof(got), "sha256:%s", hex.data);
	if (total != b->size || strcmp(got, b->digest) != 0) {
		/* Abandoned: the registry never stores it under the wrong name. */
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: blob %s holds %llu bytes "
				 "whose digest is %s", path, b->digest, total, got);
		goto out;
	}
	if ((r = hm_registry_upload_finish(u, b->digest, err)) >= 0)
		reg->st.blobs_uploaded++;
out:
	hm_registry_upload_free(u);
	hm_hash_free(h);
	hm_buf_free(&hex);
	free(buf);
	return r;
}

/* HEAD each blob, mount or upload those missing. */
static int push_blobs(struct pusher *reg, const char *path, struct image *im,
		      const char *mount_from, size_t chunk, struct hm_error *err)
{
	struct archive *a = NULL;
	struct archive_entry *ae;
	size_t i, left = 0;
	bool has;
	int r;

	for (i = 0; i < im->n; i++) {
		struct blob *b = &im->blobs[i];

		if ((r = p_blob_has(reg, b->digest, &has, err)) < 0)
			return r;
		if (!has && mount_from &&
		    (r = p_blob_mount(reg, b->digest, mount_from, &has, err)) < 0)
			return r;
		if (has) {
			b->done = true;
			continue;
		}
		if (b->data && b->size <= chunk) {
			if ((r = p_blob_put(reg, b->digest, b->data, b->size, err)) < 0)
				return r;
			b->done = true;
			continue;
		}
		left++;
	}
	if (!left)
		return 0;
	if ((r = open_archive(path, &a, err)) < 0)
		return r;
	while (left && (r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		const char *name = member_name(ae);
		char digest[72];
		struct blob *b;

		if (strncmp(name, "blobs/sha256/", 13) || strlen(name) != 77)
			continue;
		snprintf(digest, sizeof(digest), "sha256:%s", name + 13);
		if (!(b = find_blob(im, digest)) || b->done)
			continue;
		if ((r = stream_blob(reg, a, path, b, chunk, err)) < 0)
			goto out;
		b->done = true;
		left--;
	}
	if (left) {
		for (i = 0; i < im->n && im->blobs[i].done; i++)
			;
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: blob %s is not in the "
				 "archive", path, i < im->n ? im->blobs[i].digest : "?");
		goto out;
	}
	r = 0;
out:
	archive_read_free(a);
	return r;
}

/* Upload a small blob unless the registry has it; its descriptor. */
static int put_small(struct pusher *reg, const char *media_type,
		     const void *data, size_t len, const char *title,
		     json_t **ret, struct hm_error *err)
{
	char digest[72];
	bool has;
	int r;

	if (sha256_hex(data, len, digest) < 0)
		return hm_error_nomem(err);
	if ((r = p_blob_has(reg, digest, &has, err)) < 0)
		return r;
	if (!has && (r = p_blob_put(reg, digest, data, len, err)) < 0)
		return r;
	*ret = json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest,
			 "size", (json_int_t)len);
	if (*ret && title)
		json_object_set_new(*ret, "annotations",
				    json_pack("{s:s}", "org.opencontainers.image.title", title));
	return *ret ? 0 : hm_error_nomem(err);
}

/*
 * An artifact manifest about the image: the empty config, layers, the
 * image as subject.  PUT by its digest; its descriptor (with
 * artifactType and annotations, as the referrers list shows it) into
 * *ret.  Takes layers and annotations.
 */
static int put_artifact(struct pusher *reg, const struct image *im,
			const char *artifact_type, json_t *layers,
			json_t *annotations, json_t **ret, struct hm_error *err)
{
	json_t *m = NULL, *cfg = NULL;
	char *text = NULL, digest[72];
	int r;

	if ((r = put_small(reg, HM_MT_OCI_EMPTY, "{}", 2, NULL, &cfg, err)) < 0)
		goto out;
	m = json_pack("{s:i, s:s, s:s, s:O, s:O, s:{s:s, s:s, s:I}}",
		      "schemaVersion", 2, "mediaType", HM_MT_OCI_MANIFEST,
		      "artifactType", artifact_type, "config", cfg, "layers", layers,
		      "subject", "mediaType", im->manifest_type,
		      "digest", im->manifest_digest, "size", (json_int_t)im->manifest_len);
	if (!m || (annotations && json_object_set(m, "annotations", annotations) < 0) ||
	    !(text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS))) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (sha256_hex(text, strlen(text), digest) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	if ((r = p_manifest_put(reg, digest, HM_MT_OCI_MANIFEST, text,
				       strlen(text), err)) < 0)
		goto out;
	*ret = json_pack("{s:s, s:s, s:I, s:s}", "mediaType", HM_MT_OCI_MANIFEST,
			 "digest", digest, "size", (json_int_t)strlen(text),
			 "artifactType", artifact_type);
	if (!*ret || (annotations && json_object_set(*ret, "annotations", annotations) < 0))
		r = hm_error_nomem(err);
out:
	json_decref(m);
	json_decref(cfg);
	json_decref(layers);
	json_decref(annotations);
	free(text);
	return r;
}

/*
 * Without the referrers API: the sha256-HEX tag holds an image index of
 * the referrers (distribution-spec 1.1, "referrers tag schema").  Merged
 * with what is there, so attachments from other tools stay.
 */
static int update_fallback_tag(struct pusher *reg, const struct image *im,
			       json_t *added, struct hm_error *err)
{
	char tag[80];
	struct hm_buf old = { 0 };
	json_t *idx = NULL, *list, *d, *e;
	bool found;
	size_t i, j;
	char *text = NULL;
	int r;

	snprintf(tag, sizeof(tag), "sha256-%s", im->manifest_digest + 7);
	if ((r = p_manifest_get(reg, tag, HM_MT_OCI_INDEX, &old, &found, err)) < 0)
		goto out;
	if (found) {
		idx = json_loadb(old.data, old.len, 0, NULL);
		if (!json_is_array(json_object_get(idx, "manifests"))) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "tag %s is not an image "
					 "index: not replaced", tag);
			goto out;
		}
	} else if (!(idx = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2,
				     "mediaType", HM_MT_OCI_INDEX, "manifests"))) {
		r = hm_error_nomem(err);
		goto out;
	}
	list = json_object_get(idx, "manifests");
	json_array_foreach(added, i, d) {
		const char *dg = json_string_value(json_object_get(d, "digest"));
		bool dup = false;

		json_array_foreach(list, j, e)
			if (!strcmp(json_string_value(json_object_get(e, "digest")) ?
				    json_string_value(json_object_get(e, "digest")) : "", dg))
				dup = true;
		if (!dup && json_array_append(list, d) < 0) {
			r = hm_error_nomem(err);
			goto out;
		}
	}
	if (!(text = json_dumps(idx, JSON_COMPACT | JSON_SORT_KEYS))) {
		r = hm_error_nomem(err);
		goto out;
	}
	r = p_manifest_put(reg, tag, HM_MT_OCI_INDEX, text, strlen(text), err);
out:
	free(text);
	json_decref(idx);
	hm_buf_free(&old);
	return r;
}

/* DIR/NAME.manifest for DIR/NAME.oci.tar; NULL on no memory. */
static char *manifest_beside(const char *image)
{
	size_t n = strlen(image);
	char *p;

	if (n > 8 && !strcmp(image + n - 8, ".oci.tar"))
		n -= 8;
	else if (n > 4 && !strcmp(image + n - 4, ".tar"))
		n -= 4;
	if (asprintf(&p, "%.*s.manifest", (int)n, image) < 0)
		return NULL;
	return p;
}

/* DIR/NAME.SUFFIX beside the manifest, when it exists. */
static char *beside_if(const char *manifest, const char *name, const char *suffix)
{
	const char *slash = strrchr(manifest, '/');
	int dirlen = slash ? (int)(slash - manifest + 1) : 0;
	char *p;

	if (asprintf(&p, "%.*s%s%s", dirlen, manifest, name, suffix) < 0)
		return NULL;
	if (access(p, F_OK) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* One DSSE envelope per predicate, each its own artifact. */
static int attach_statement(struct pusher *reg, const struct image *im,
			    const struct hm_privkey *key,
			    const struct hm_intoto_subject *subj,
			    const char *type, const char *pred, size_t pred_len,
			    json_t *added, struct hm_error *err)
{
	struct hm_buf st = { 0 }, env = { 0 };
	json_t *layer = NULL, *desc = NULL;
	int r;

	if ((r = hm_intoto_statement(subj, 1, type, pred, pred_len, &st, err)) < 0 ||
	    (r = hm_dsse_sign(key, HM_INTOTO_PAYLOAD_TYPE, st.data, st.len, &env, err)) < 0 ||
	    (r = put_small(reg, DSSE_TYPE, env.data, env.len, NULL, &layer, err)) < 0)
		goto out;
	json_object_set_new(layer, "annotations", json_pack("{s:s}", PREDICATE_ANNOTATION, type));
	r = put_artifact(reg, im, HM_INTOTO_PAYLOAD_TYPE, json_pack("[O]", layer),
			 json_pack("{s:s}", PREDICATE_ANNOTATION, type), &desc, err);
	if (r >= 0 && json_array_append(added, desc) < 0)
		r = hm_error_nomem(err);
	if (r >= 0)
		printf("attached %s %s (%s)\n", HM_INTOTO_PAYLOAD_TYPE,
		       json_string_value(json_object_get(desc, "digest")), type);
out:
	json_decref(layer);
	json_decref(desc);
	hm_buf_free(&st);
	hm_buf_free(&env);
	return r;
}

static int check_binding(const struct hm_trusted_manifest *tm, const char *mpath,
			 const char *image, const char *digest, struct hm_error *err)
{
	struct hm_manifest_reader *rd = NULL;
	const struct hm_manifest_header *h;
	size_t i;
	int fd = -1, r = 0;

	if (tm) {
		h = tm->header;
	} else {
		if ((fd = open(mpath, O_RDONLY | O_CLOEXEC)) < 0)
			return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", mpath);
		if ((r = hm_manifest_reader_open(fd, mpath, 0, &rd, err)) < 0)
			goto out;
		h = hm_manifest_reader_header(rd);
	}
	for (i = 0; i < h->n_images; i++) {
		const struct hm_manifest_image *mi = &h->images[i];

		if (!strcmp(mi->kind, "oci") && strcmp(mi->digest, digest)) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s' is bound to image %s, "
					 "not to %s's %s: not pushed", mpath, mi->digest,
					 image, digest);
			goto out;
		}
	}
out:
	hm_manifest_reader_free(rd);
	if (fd >= 0)
		close(fd);
	return r;
}

int hm_push_run(const char *image, const struct hm_push_options *po)
{
	struct hm_registry_ref ref = { 0 };
	struct pusher pu = { 0 }, *reg = &pu;
	const char *insecure[1] = { po->insecure_host };
	struct hm_registry_options ro = { po->authfile, po->ca_file, insecure,
					  po->insecure_host ? 1 : 0 };
	struct image *im = calloc(1, sizeof(*im));
	struct hm_error err = { 0 };
	struct hm_privkey *key = NULL;
	struct hm_pubkey *pub = NULL;
	struct hm_trusted_manifest *tm = NULL;
	struct hm_buf pred = { 0 };
	json_t *added = json_array(), *l1 = NULL, *l2 = NULL, *desc = NULL;
	char *mpath = NULL, *sigpath = NULL, *mtext = NULL, *stext = NULL;
	char *buildp = NULL, *sbomp = NULL, *text = NULL, *subject_name = NULL;
	size_t mlen = 0, slen = 0, tlen;
	const struct push_stats *st = &pu.st;
	const struct hm_entry *e;
	const char *mslash;
	bool supported;
	int rc = HM_EXIT_ERROR, r;

	if (!im || !added) {
		rc = hm_cli_fail("out of memory");
		goto out;
	}
	if (hm_registry_ref_parse(po->ref, false, &ref, &err) < 0)
		goto fail;
	if (!ref.tag) {
		rc = hm_cli_fail("push: '%s' names a digest: push to a tag", po->ref);
		goto out;
	}
	/* The signed manifest travels with the image: it must be there. */
	if (!(mpath = po->manifest ? strdup(po->manifest) : manifest_beside(image)) ||
	    asprintf(&sigpath, "%s.sig", mpath) < 0) {
		sigpath = NULL;
		rc = hm_cli_fail("out of memory");
		goto out;
	}
	if (hm_read_file(mpath, HM_LIMIT_MANIFEST_BYTES, &mtext, &mlen, &err) < 0 ||
	    hm_read_file(sigpath, 65536, &stext, &slen, &err) < 0)
		goto fail;
	if (po->keypath &&
	    (hm_privkey_load_asking(po->keypath, po->passfile, &key, &err) < 0 ||
	     hm_privkey_public(key, &pub, &err) < 0 ||
	     hm_trust_open(mpath, sigpath, &pub, 1, time(NULL), &tm, &err) < 0))
		goto fail;
	if (tm) {
		while ((r = hm_manifest_reader_next(tm->reader, &e, &err)) > 0)
			;
		if (r < 0 || hm_trust_finish(tm, &err) < 0)
			goto fail;
	}
	if (load_image(image, im, &err) < 0)
		goto fail;
	/* The manifest is bound to its image: attach it to no other.  Without
	 * --key the header is read unverified: the verifier checks the
	 * signature, this only keeps a wrong pair from being attached. */
	if ((r = check_binding(tm, mpath, image, im->manifest_digest, &err)) < 0)
		goto fail;
	pu.repo = ref.repo;
	if (hm_registry_new(ref.host, &ro, &pu.reg, &err) < 0 ||
	    push_blobs(reg, image, im, po->mount_from, po->chunk_size, &err) < 0 ||
	    p_manifest_put(reg, ref.tag ? ref.tag : "latest", im->manifest_type,
				  im->manifest, im->manifest_len, &err) < 0)
		goto fail;
	fprintf(stderr, "hallmark push: image: %lu blob%s uploaded (%lu chunk%s, %llu bytes), "
		"%lu already there, %lu mounted\n",
		st->blobs_uploaded, st->blobs_uploaded == 1 ? "" : "s",
		st->chunks, st->chunks == 1 ? "" : "s", st->bytes_uploaded,
		st->blobs_present, st->blobs_mounted);
	printf("pushed %s/%s:%s@%s\n", ref.host, ref.repo, ref.tag ? ref.tag : "latest",
	       im->manifest_digest);

	/* (a) the signed hallmark manifest: NAME.manifest and its .sig. */
	mslash = strrchr(mpath, '/');
	if (put_small(reg, LAYER_MANIFEST, mtext, mlen, mslash ? mslash + 1 : mpath, &l1, &err) < 0 ||
	    put_small(reg, LAYER_SIGNATURE, stext, slen,
		      strrchr(sigpath, '/') ? strrchr(sigpath, '/') + 1 : sigpath, &l2, &err) < 0 ||
	    put_artifact(reg, im, ARTIFACT_MANIFEST, json_pack("[O, O]", l1, l2), NULL,
			 &desc, &err) < 0)
		goto fail;
	if (json_array_append(added, desc) < 0) {
		rc = hm_cli_fail("out of memory");
		goto out;
	}
	printf("attached %s %s\n", ARTIFACT_MANIFEST,
	       json_string_value(json_object_get(desc, "digest")));

	/* (b) in-toto statements about the pushed digest, signed by KEY. */
	if (tm) {
		struct hm_intoto_subject subj;

		if (asprintf(&subject_name, "%s/%s", ref.host, ref.repo) < 0) {
			subject_name = NULL;
			rc = hm_cli_fail("out of memory");
			goto out;
		}
		subj.name = subject_name;
		subj.sha256_hex = im->manifest_digest + 7;
		buildp = beside_if(mpath, tm->header->name, ".build.json");
		sbomp = beside_if(mpath, tm->header->name, ".sbom.spdx.json");
		if (hm_attest_manifest_predicate(tm, &pred, &err) < 0 ||
		    attach_statement(reg, im, key, &subj, HM_PREDICATE_MANIFEST,
				     pred.data, pred.len, added, &err) < 0)
			goto fail;
		if (buildp) {
			hm_buf_reset(&pred);
			if (hm_read_file(buildp, HM_LIMIT_BUILD_RECORD_BYTES, &text, &tlen, &err) < 0 ||
			    hm_attest_provenance(text, tlen, buildp, &pred, &err) < 0 ||
			    attach_statement(reg, im, key, &subj, HM_PREDICATE_SLSA,
					     pred.data, pred.len, added, &err) < 0)
				goto fail;
			free(text);
			text = NULL;
		}
		if (sbomp &&
		    (hm_read_file(sbomp, HM_LIMIT_SBOM_BYTES, &text, &tlen, &err) < 0 ||
		     attach_statement(reg, im, key, &subj, HM_PREDICATE_SPDX, text, tlen,
				      added, &err) < 0))
			goto fail;
	}

	if (hm_registry_referrers_api(reg->reg, reg->repo, im->manifest_digest, &supported, &err) < 0)
		goto fail;
	if (!supported) {
		if (update_fallback_tag(reg, im, added, &err) < 0)
			goto fail;
		printf("referrers tag sha256-%s updated (the registry has no referrers API)\n",
		       im->manifest_digest + 7);
	}
	fprintf(stderr, "hallmark push: in all: %lu blob%s uploaded (%lu chunk%s, %llu bytes), "
		"%lu already there, %lu mounted, %zu attachment%s\n",
		st->blobs_uploaded, st->blobs_uploaded == 1 ? "" : "s",
		st->chunks, st->chunks == 1 ? "" : "s", st->bytes_uploaded,
		st->blobs_present, st->blobs_mounted, json_array_size(added),
		json_array_size(added) == 1 ? "" : "s");
	rc = HM_EXIT_OK;
	goto out;
fail:
	rc = hm_cli_error(&err);
out:
	if (im)
		image_free(im);
	free(im);
	hm_registry_free(pu.reg);
	hm_registry_ref_clear(&ref);
	hm_trust_free(tm);
	hm_privkey_free(key);
	hm_pubkey_free(pub);
	hm_buf_free(&pred);
	json_decref(added);
	json_decref(l1);
	json_decref(l2);
	json_decref(desc);
	free(mpath);
	free(sigpath);
	free(mtext);
	free(stext);
	free(buildp);
	free(sbomp);
	free(text);
	free(subject_name);
	return rc;
}

int cmd_push(int argc, char **argv)
{
	struct hm_push_options po = { .chunk_size = HM_PUSH_CHUNK_DEFAULT };
	unsigned long long chunk = HM_PUSH_CHUNK_DEFAULT;
	const struct hm_option opts[] = {
		HM_OPT_KEY(&po.keypath),
		HM_OPT_STRING(0, "manifest", &po.manifest),
		HM_OPT_STRING(0, "authfile", &po.authfile),
		HM_OPT_STRING(0, "ca-file", &po.ca_file),
		HM_OPT_STRING(0, "insecure-registry", &po.insecure_host),
		HM_OPT_STRING(0, "mount-from", &po.mount_from),
		HM_OPT_UINT(0, "chunk-size", &chunk, 4096, 1ULL << 30, NULL),
		HM_OPT_PASSPHRASE_FILE(&po.passfile),
		HM_OPT_NO_PASSPHRASE(),
		HM_OPT_PUSH_NO_SECRETS(),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"push", usage, help, opts, HM_OPTIONS_CMD_TEXT,
	};
	int nargs, rc;

	if ((rc = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return rc;
	if (nargs != 2) {
		hm_cli_fail(nargs > 2 ? "push: one IMAGE and one REF only" :
			    "push: IMAGE and REF are required");
		return hm_cli_usage(&cmd);
	}
	po.ref = argv[1];
	po.chunk_size = (size_t)chunk;
	return hm_push_run(argv[0], &po);
}
