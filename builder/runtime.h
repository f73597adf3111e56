/*
 * The runtime spec a build signs: the template's `runtime:` section plus
 * every kernel setting the built tree's sysctl configuration applies at
 * boot, read the way systemd-sysctl (and procps' `sysctl --system`) reads
 * it.  Only templates with a `runtime:` section get one.
 */
#ifndef HALLMARK_BUILDER_RUNTIME_H
#define HALLMARK_BUILDER_RUNTIME_H

#include "blobstore.h"
#include "hallmark/error.h"
#include "hallmark/runtime_spec.h"
#include "hallmark/tree.h"

/*
 * A copy of tpl with its sysctl list filled from tree (contents from
 * store), sorted.  Files, in order: the *.conf of /etc/sysctl.d,
 * /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and
 * /lib/sysctl.d by file name, a name in an earlier folder hiding the same
 * name in later ones (a symlink to /dev/null or to nothing masks it, one
 * to a file in the tree reads that file), then /etc/sysctl.conf; later
 * settings win.  Keys written with '/' are made dotted, a leading '-' is
 * dropped, values have their blanks folded.  A glob in a key, a key that
 * is not one, a file too large or unreadable: HM_ERR_INPUT or
 * HM_ERR_LIMIT naming FILE:LINE.  The caller frees *ret.
 */
int hm_runtime_build_spec(const struct hm_runtime_spec *tpl,
			  const struct hm_tree *tree, struct hm_blobstore *store,
			  struct hm_runtime_spec **ret, struct hm_error *err);

#endif
