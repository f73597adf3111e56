/*
 * Bases: the starting tree of a build.  A base is read into a tree (the
 * metadata) and the blob store (the contents); nothing from it is ever
 * extracted under its own name on the host.
 */
#ifndef HALLMARK_BASE_H
#define HALLMARK_BASE_H

#include "blobstore.h"
#include "hallmark/error.h"
#include "hallmark/progress.h"
#include "hallmark/tree.h"
#include "template.h"

/*
 * Import a tar stream (any compression libarchive reads) into a new tree
 * and the store.  Hostile input is refused with HM_ERR_INPUT naming the
 * member: "../" paths, hard links to outside the stream or to themselves,
 * duplicate entries, truncated streams, members over the size limits.
 * Absolute symlinks are kept as they are (they are data, resolved only
 * inside the image).  Devices are kept as entries (no content).
 */
int hm_base_import_tar(const char *path, struct hm_blobstore *store,
		       struct hm_tree **ret, struct hm_error *err);

/*
 * Import an OCI image archive or docker-archive: layers applied in order
 * with whiteouts, every blob's digest checked (the oci: source's rules).
 */
int hm_base_import_oci(const char *path, struct hm_blobstore *store,
		       struct hm_tree **ret, struct hm_error *err);

/*
 * A Debian base made by mmdebstrap (run rootless where possible, as
 * `mmdebstrap --variant=V --include=P SUITE OUT.tar [MIRROR]`), cached in
 * cache_dir by the SHA-256 of its inputs so a second build does not
 * download again; then imported like a tarball.  ret_cache_hit tells
 * whether the cache was used.  mmdebstrap's lines go to progress (may be
 * NULL) as it prints them and are kept, bounded, for its failure: the
 * message then quotes its errors ("E: Unable to locate package x"), and
 * the cache is left as it was (no tar, no inputs, no temporary folder).
 */
int hm_base_debian(const struct hm_tpl_base *b, const char *cache_dir,
		   struct hm_blobstore *store, struct hm_tree **ret,
		   int *ret_cache_hit, struct hm_progress *progress,
		   struct hm_error *err);

/* Dispatch on b->kind. */
int hm_base_load(const struct hm_template *t, const char *cache_dir,
		 struct hm_blobstore *store, struct hm_tree **ret,
		 int *ret_cache_hit, struct hm_progress *progress,
		 struct hm_error *err);

#endif
