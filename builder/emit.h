/*
 * Emitters: outputs written from the final tree and the blob store.  All
 * are deterministic: the same tree gives the same bytes (entries in
 * canonical order, numeric owners only, every timestamp = mtime, no host
 * names, user names or umask), and written atomically.
 */
#ifndef HALLMARK_EMIT_H
#define HALLMARK_EMIT_H

#include <stdint.h>
#include <time.h>

#include "blobstore.h"
#include "hallmark/error.h"
#include "hallmark/tree.h"
#include "template.h"

/*
 * Rootfs tarball (pax format, xattrs as SCHILY.xattr, hard links not
 * used: each file is stored with its content), every mtime = mtime.
 * ret_sha256 gets the SHA-256 of the file written.
 */
int hm_emit_tar(const struct hm_tree *t, struct hm_blobstore *store,
		time_t mtime, const char *path, unsigned char ret_sha256[32],
		struct hm_error *err);

struct hm_oci_result {
	char manifest_digest[72];     /* "sha256:HEX" of the image manifest JSON: the image's identity */
	char config_digest[72];
	char layer_digest[72];        /* of the gzip-compressed layer */
	char diff_id[72];             /* of the uncompressed layer tar */
	char archive_sha256[72];      /* of the .oci.tar file itself */
	uint64_t layer_size;
};

/*
 * OCI image archive (oci-layout, index.json, blobs/sha256/...): one
 * gzip layer made from the rootfs tar at tar_path (which must be the one
 * hm_emit_tar wrote for the same tree), the config (architecture amd64,
 * os linux, created = mtime, config from the template, rootfs.diff_ids,
 * history), the image manifest, and index.json with the
 * org.opencontainers.image.ref.name annotation = ref.
 */
int hm_emit_oci(const char *tar_path, const struct hm_tpl_config *config,
		const char *ref, time_t mtime, const char *path,
		struct hm_oci_result *ret, struct hm_error *err);

#endif
