/*
 * The template's operations on a tree, in their fixed order: remove,
 * directories, files, symlinks, groups, users, permissions.  Contents go
 * to the blob store; the tree holds metadata and digests.
 */
#ifndef HALLMARK_OPS_H
#define HALLMARK_OPS_H

#include <stdint.h>
#include <time.h>

#include "blobstore.h"
#include "hallmark/error.h"
#include "hallmark/tree.h"
#include "template.h"

/* What the operations did, for build.json. */
struct hm_ops_stats {
	uint64_t removed;        /* entries removed by `remove` */
	uint64_t dirs, files, symlinks, groups, users, perms;
};

/*
 * Apply t's operations to tree.  now is the build's time (shadow's
 * "last changed" day derives from it, for reproducibility).  Errors name
 * the template's operation: "template.yaml: files: '/opt/x/y': parent
 * directory '/opt/x' does not exist".
 */
int hm_ops_apply(const struct hm_template *t, struct hm_tree *tree,
		 struct hm_blobstore *store, time_t now,
		 struct hm_ops_stats *stats, struct hm_error *err);

#endif
