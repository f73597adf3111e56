/*
 * The JSON documents of an image: index, manifest and config (OCI) and
 * their docker equivalents.  A document must be of the kind its
 * descriptor names and have the fields of one kind only (CVE-2021-41190);
 * an index is resolved to linux/amd64; a config gives the diff_ids.
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

enum kind hm_oci_mt_kind(const char *mt)
{
	if (!mt)
		return K_OTHER;
	if (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST))
		return K_INDEX;
	if (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST))
		return K_MANIFEST;
	return K_OTHER;
}

/* What a JSON document is: its mediaType, else its shape. */
static enum kind doc_kind(json_t *j, const char **ret_mt)
{
	const char *mt = json_string_value(json_object_get(j, "mediaType"));

	*ret_mt = mt;
	if (mt)
		return hm_oci_mt_kind(mt);
	if (json_object_get(j, "manifests"))
		return K_INDEX;
	if (json_object_get(j, "layers") || json_object_get(j, "config"))
		return K_MANIFEST;
	return K_OTHER;
}

static const char *kind_name(enum kind k)
{
	return k == K_INDEX ? "an image index" : k == K_MANIFEST ? "an image manifest" : "an unknown document";
}

int hm_oci_check_doc(struct oci *o, json_t *j, enum kind want, const char *what)
{
	const char *mt;
	enum kind k = doc_kind(j, &mt);
	json_t *sv = json_object_get(j, "schemaVersion");

	bool index_fields = json_object_get(j, "manifests") != NULL;
	bool manifest_fields = json_object_get(j, "layers") || json_object_get(j, "config");

	if (!json_is_object(j))
		return hm_oci_input_error(o, "%s is not a JSON object", what);
	/*
	 * CVE-2021-41190: a document with the fields of both an index and a
	 * manifest, or whose mediaType says one and whose fields say the
	 * other, is read as one by some tools and as the other by others
	 * (whatever was signed or scanned, another image gets run).  The
	 * image-spec (1.0.2) forbids it; so do we, whatever the descriptor.
	 */
	if ((index_fields && manifest_fields) ||
	    (k == K_MANIFEST && index_fields) || (k == K_INDEX && manifest_fields))
		return hm_oci_input_error(o, "%s is ambiguous: its mediaType and fields say both image index and image manifest (CVE-2021-41190)",
				   what);
	if (k != want)
		return hm_oci_input_error(o, "%s is %s (%s) where %s is expected", what,
				   kind_name(k), mt ? mt : "by its shape", kind_name(want));
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return hm_oci_input_error(o, "%s: schemaVersion is not 2", what);
	return 0;
}

/* A descriptor: mediaType, digest, size. */
int hm_oci_parse_desc(struct oci *o, json_t *d, const char *where,
		      const char **ret_mt, char hex[65], int64_t *ret_size)
{
	json_t *sz = json_object_get(d, "size");

	if (!json_is_object(d))
		return hm_oci_input_error(o, "%s: descriptor is not an object", where);
	*ret_mt = json_string_value(json_object_get(d, "mediaType"));
	if (!*ret_mt)
		return hm_oci_input_error(o, "%s: descriptor has no mediaType", where);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return hm_oci_input_error(o, "%s: descriptor has no valid size", where);
	*ret_size = json_integer_value(sz);
	return hm_oci_parse_digest(o, json_string_value(json_object_get(d, "digest")),
			    where, hex);
}

static bool is_linux_amd64(json_t *d)
{
	json_t *p = json_object_get(d, "platform");
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));

	return os && arch && !strcmp(os, "linux") && !strcmp(arch, "amd64");
}

/* Pick one descriptor of an index: the only one, else linux/amd64. */
int hm_oci_pick(struct oci *o, json_t *index, const char *what, json_t **ret)
{
	json_t *ms = json_object_get(index, "manifests"), *d, *found = NULL;
	size_t i, n, hits = 0;

	if (!json_is_array(ms))
		return hm_oci_input_error(o, "%s has no manifests list", what);
	n = json_array_size(ms);
	if (n == 0)
		return hm_oci_input_error(o, "%s lists no manifests", what);
	if (n == 1) {
		*ret = json_array_get(ms, 0);
		return 0;
	}
	json_array_foreach(ms, i, d) {
		if (is_linux_amd64(d)) {
			found = d;
			hits++;
		}
	}
	if (hits == 1) {
		*ret = found;
		return 0;
	}
	return hm_oci_input_error(o, "%s lists %zu manifests and %s for linux/amd64: cannot tell which image to check",
			   what, n, hits ? "several" : "none");
}

enum compression hm_oci_layer_comp(const char *mt, bool *ok)
{
	static const struct { const char *mt; enum compression c; } t[] = {
		{ "application/vnd.oci.image.layer.v1.tar", COMP_NONE },
		{ "application/vnd.oci.image.layer.v1.tar+gzip", COMP_GZIP },
		{ "application/vnd.oci.image.layer.v1.tar+zstd", COMP_ZSTD },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar", COMP_NONE },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", COMP_GZIP },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", COMP_ZSTD },
		{ "application/vnd.docker.image.rootfs.diff.tar", COMP_NONE },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip", COMP_GZIP },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", COMP_GZIP },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(mt, t[i].mt)) {
			*ok = true;
			return t[i].c;
		}
	}
	*ok = false;
	return COMP_NONE;
}

/* The diff_ids of a config, checked against the number of layers. */
int hm_oci_config_diff_ids(struct oci *o, json_t *cfg, size_t n_layers,
			   json_t **ret)
{
	json_t *rootfs = json_object_get(cfg, "rootfs");
	json_t *ids = json_object_get(rootfs, "diff_ids");
	const char *type = json_string_value(json_object_get(rootfs, "type"));

	if (!json_is_object(cfg) || !type || strcmp(type, "layers") != 0 ||
	    !json_is_array(ids))
		return hm_oci_input_error(o, "the image config has no rootfs of type layers with diff_ids");
	if (json_array_size(ids) != n_layers)
		return hm_oci_input_error(o, "the image config lists %zu diff_ids for %zu layers",
				   json_array_size(ids), n_layers);
	*ret = ids;
	return 0;
}
