/*
 * OCI sources: an OCI image archive (an OCI layout inside a tar), a
 * docker-archive (as `docker save` / `podman save` write it) or an OCI
 * layout folder, flattened into one tree.
 *
 * Nothing is unpacked: an archive is scanned once to learn where each
 * member's data lies, then every blob is read in place with pread.  Every
 * blob's size and sha256 are checked against its descriptor before its
 * content is trusted: JSON blobs are hashed before they are parsed, and a
 * layer is applied to a scratch tree while its compressed bytes (digest)
 * and its uncompressed tar stream (diff_id) are hashed, and merged into
 * the image only once both match.  Whiteouts follow the image-spec
 * (layer.md): a layer's whiteouts apply to the layers below it only, so a
 * layer is collected first and applied in two phases.  Every entry and
 * tombstone names the layer it comes from, for findings.
 *
 * This file opens the image and resolves it to its layers; the parts:
 * oci_archive.c (blobs), oci_documents.c (JSON documents), oci_layer.c
 * (one layer), sharing lib/oci_private.h.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/limits.h"
#include "hallmark/manifest.h"
#include "hallmark/source.h"
#include "hallmark/source_tar.h"
#include "hallmark/tree.h"

#include "oci_private.h"
#include "source_tar_private.h"

static int start_tree(struct oci *o, size_t n_layers)
{
	if (n_layers > HM_LIMIT_OCI_LAYERS)
		return hm_error_set(o->err, HM_ERR_LIMIT, 0,
				    "'%s': %zu layers exceed the limit of %u (HM_LIMIT_OCI_LAYERS)",
				    o->spec, n_layers, HM_LIMIT_OCI_LAYERS);
	return hm_tree_new(&o->tree, o->err);
}

static int blob_name(char out[80], const char hex[65])
{
	return snprintf(out, 80, "blobs/sha256/%s", hex);
}

/* An OCI layout: oci-layout, index.json, then down to one manifest. */
static int open_layout(struct oci *o)
{
	json_t *layout = NULL, *doc = NULL, *next = NULL, *cfg = NULL, *ids;
	json_t *layers, *d = NULL;
	const char *ver, *mt;
	char hex[65], name[80], what[96];
	int64_t size;
	unsigned depth;
	size_t i;
	int r;

	if ((r = hm_oci_load_json(o, "oci-layout", NULL, -1, "oci-layout", &layout)) < 0)
		goto out;
	ver = json_string_value(json_object_get(layout, "imageLayoutVersion"));
	if (!ver || strncmp(ver, "1.", 2) != 0) {
		r = hm_oci_input_error(o, "oci-layout: unsupported imageLayoutVersion");
		goto out;
	}
	if ((r = hm_oci_load_json(o, "index.json", NULL, -1, "index.json", &doc)) < 0 ||
	    (r = hm_oci_check_doc(o, doc, K_INDEX, "index.json")) < 0)
		goto out;
	snprintf(what, sizeof(what), "index.json");
	for (depth = 0;; depth++) {
		enum kind k;

		if (depth > HM_LIMIT_OCI_INDEX_DEPTH) {
			r = hm_error_set(o->err, HM_ERR_LIMIT, 0,
					 "'%s': image indexes nested deeper than %u (HM_LIMIT_OCI_INDEX_DEPTH)",
					 o->spec, HM_LIMIT_OCI_INDEX_DEPTH);
			goto out;
		}
		if ((r = hm_oci_pick(o, doc, what, &d)) < 0 ||
		    (r = hm_oci_parse_desc(o, d, what, &mt, hex, &size)) < 0)
			goto out;
		k = hm_oci_mt_kind(mt);
		if (k == K_OTHER) {
			r = hm_oci_input_error(o, "%s names sha256:%.12s of media type '%s', neither an image manifest nor an index",
					what, hex, mt);
			goto out;
		}
		snprintf(what, sizeof(what), "%s sha256:%.12s",
			 k == K_INDEX ? "image index" : "image manifest", hex);
		blob_name(name, hex);
		if ((r = hm_oci_load_json(o, name, hex, size, what, &next)) < 0)
			goto out;
		/* The descriptor's media type and the document must agree: an
		 * index where a manifest is expected is refused, and the
		 * reverse. */
		if ((r = hm_oci_check_doc(o, next, k, what)) < 0)
			goto out;
		json_decref(doc);
		doc = next;
		next = NULL;
		if (k == K_MANIFEST)
			break;
	}
	/* doc is the image manifest. */
	if ((r = hm_oci_parse_desc(o, json_object_get(doc, "config"), "the manifest's config",
			    &mt, hex, &size)) < 0)
		goto out;
	if (strcmp(mt, MT_OCI_CONFIG) != 0 && strcmp(mt, MT_DOCKER_CONFIG) != 0) {
		r = hm_oci_input_error(o, "the manifest's config has media type '%s', not an image config", mt);
		goto out;
	}
	blob_name(name, hex);
	if ((r = hm_oci_load_json(o, name, hex, size, "image config", &cfg)) < 0)
		goto out;
	layers = json_object_get(doc, "layers");
	if (!json_is_array(layers)) {
		r = hm_oci_input_error(o, "the image manifest has no layers list");
		goto out;
	}
	if ((r = hm_oci_config_diff_ids(o, cfg, json_array_size(layers), &ids)) < 0 ||
	    (r = start_tree(o, json_array_size(layers))) < 0)
		goto out;
	json_array_foreach(layers, i, d) {
		char diff[65];
		enum compression comp;
		bool ok;

		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if ((r = hm_oci_parse_desc(o, d, what, &mt, hex, &size)) < 0 ||
		    (r = hm_oci_parse_digest(o, json_string_value(json_array_get(ids, i)),
				      "the config's diff_ids", diff)) < 0)
			goto out;
		comp = hm_oci_layer_comp(mt, &ok);
		if (!ok) {
			r = hm_oci_input_error(o, "layer %zu sha256:%.12s: unsupported media type '%s'",
					i + 1, hex, mt);
			goto out;
		}
		blob_name(name, hex);
		if ((r = hm_oci_do_layer(o, (unsigned)i + 1, name, hex, size, diff, comp)) < 0)
			goto out;
	}
	r = 0;
out:
	json_decref(layout);
	json_decref(doc);
	json_decref(next);
	json_decref(cfg);
	return r;
}

/* A name inside the archive, normalized as the member table has it. */
static int archive_path(struct oci *o, const char *s, const char *what,
			struct hm_buf *out)
{
	if (!s || hm_tree_normalize(s, strlen(s), out) < 0 || out->len < 2)
		return hm_oci_input_error(o, "manifest.json: %s is not a valid member name", what);
	return 0;
}

/* The sha256 a docker-archive file name carries: "HEX.json",
 * "blobs/sha256/HEX" or "HEX"; -1 if none. */
static int name_digest(const char *name, char hex[65])
{
	const char *base = strrchr(name, '/');
	unsigned char raw[HM_SHA256_LEN];

	base = base ? base + 1 : name;
	if (strlen(base) < 64 || hm_hex_decode(base, 64, raw, sizeof(raw)) < 0)
		return -1;
	if (base[64] != '\0' && strcmp(base + 64, ".json") != 0)
		return -1;
	memcpy(hex, base, 64);
	hex[64] = '\0';
	return 0;
}

/* A docker-archive: manifest.json names the config and the layers by
 * file; the layers' only digests are the config's diff_ids. */
static int open_docker(struct oci *o)
{
	json_t *top = NULL, *cfg = NULL, *img, *layers, *ids, *jl;
	struct hm_buf p = HM_BUF_INIT;
	char hex[65], diff[65];
	size_t i;
	int r;

	if ((r = hm_oci_load_json(o, "manifest.json", NULL, -1, "manifest.json", &top)) < 0)
		goto out;
	if (!json_is_array(top) || json_array_size(top) != 1) {
		r = hm_oci_input_error(o, "manifest.json must list exactly one image (it lists %zu)",
				json_is_array(top) ? json_array_size(top) : 0);
		goto out;
	}
	img = json_array_get(top, 0);
	if ((r = archive_path(o, json_string_value(json_object_get(img, "Config")),
			      "Config", &p)) < 0)
		goto out;
	if (name_digest(p.data, hex) < 0) {
		r = hm_oci_input_error(o, "manifest.json: the config's name does not carry its sha256 digest");
		goto out;
	}
	if ((r = hm_oci_load_json(o, p.data + 1, hex, -1, "image config", &cfg)) < 0)
		goto out;
	layers = json_object_get(img, "Layers");
	if (!json_is_array(layers)) {
		r = hm_oci_input_error(o, "manifest.json has no Layers list");
		goto out;
	}
	if ((r = hm_oci_config_diff_ids(o, cfg, json_array_size(layers), &ids)) < 0 ||
	    (r = start_tree(o, json_array_size(layers))) < 0)
		goto out;
	json_array_foreach(layers, i, jl) {
		char what[32];

		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if ((r = archive_path(o, json_string_value(jl), what, &p)) < 0 ||
		    (r = hm_oci_parse_digest(o, json_string_value(json_array_get(ids, i)),
				      "the config's diff_ids", diff)) < 0)
			goto out;
		if ((r = hm_oci_do_layer(o, (unsigned)i + 1, p.data + 1, NULL, -1, diff,
				  COMP_ANY)) < 0)
			goto out;
	}
	r = 0;
out:
	json_decref(top);
	json_decref(cfg);
	hm_buf_free(&p);
	return r;
}

int hm_source_oci_open(const char *spec, bool is_dir,
		       const struct hm_scan_options *opt,
		       struct hm_source **ret, struct hm_error *err)
{
	struct oci o = { .spec = spec, .is_dir = is_dir, .fd = -1, .opt = opt,
			 .err = err };
	struct stat st;
	size_t i;
	int r;

	if (!is_dir && strcmp(spec, "-") == 0)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "oci: needs a file, not standard input (its blobs are read in place)");
	o.fd = open(spec, O_RDONLY | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0));
	if (o.fd < 0)
		return hm_error_set(err, errno == ENOTDIR ? HM_ERR_USAGE : HM_ERR_IO,
				    errno, "cannot open '%s'", spec);
	if (fstat(o.fd, &st) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'", spec);
		goto out;
	}
	if (!is_dir && !S_ISREG(st.st_mode)) {
		r = hm_error_set(err, HM_ERR_USAGE, 0,
				 "'%s' is not a regular file%s", spec,
				 S_ISDIR(st.st_mode) ? " (use oci-dir: for a layout folder)" : "");
		goto out;
	}
	if (is_dir) {
		r = open_layout(&o);
	} else {
		if ((r = hm_oci_scan_archive(&o)) < 0)
			goto out;
		/* Told apart by content: an OCI layout if it has one (docker
		 * 25 writes both), else a docker-archive. */
		if (hm_oci_find_member(&o, "oci-layout") && hm_oci_find_member(&o, "index.json"))
			r = open_layout(&o);
		else if (hm_oci_find_member(&o, "manifest.json"))
			r = open_docker(&o);
		else
			r = hm_oci_input_error(&o, "neither an OCI image archive (oci-layout, index.json) nor a docker-archive (manifest.json)");
	}
	if (r < 0)
		goto out;
	r = hm_tree_source(o.tree, true, ret, err);
	o.tree = NULL;
out:
	hm_tree_free(o.tree);
	for (i = 0; i < o.n_m; i++)
		free(o.m[i].name);
	free(o.m);
	if (o.fd >= 0)
		close(o.fd);
	return r;
}
