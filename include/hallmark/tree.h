/*
 * In-memory trees: entries keyed by path, for sources whose input does not
 * arrive in canonical order (tar streams, OCI layers) and for the builder.
 * Only metadata is held (no file contents), so a tree of N entries costs
 * O(N) small allocations.
 *
 * A tree is a hierarchy of nodes, one per path component, so that removing
 * a subtree (a whiteout) or all children of a directory (an opaque
 * whiteout) is one operation, and iterating in canonical order is a
 * depth-first walk with sorted children.
 */
#ifndef HALLMARK_TREE_H
#define HALLMARK_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "hallmark/buf.h"
#include "hallmark/entry.h"
#include "hallmark/error.h"
#include "hallmark/source.h"

struct hm_tree;

/* A tree holding only the root "/" (a dir 0755 0:0, HM_ENTRY_IMPLICIT). */
int hm_tree_new(struct hm_tree **ret, struct hm_error *err);
void hm_tree_free(struct hm_tree *t);             /* accepts NULL */

/*
 * Insert e at e->path, taking ownership of e (freed on error too).  The
 * path must be canonical (absolute, no empty, "." or ".." components, no
 * trailing slash); hm_tree_normalize() makes one from archive member names.
 * Missing parent directories are created as implicit entries (dir 0755
 * 0:0, flag HM_ENTRY_IMPLICIT) that a later explicit entry replaces.  A
 * parent that exists but is not a directory is an HM_ERR_INPUT error
 * ("'/a/b': parent '/a' is a symlink"): a tree never resolves a path
 * through a symlink.  Replacing an existing entry with a non-directory
 * drops its subtree.  With replace false, an existing explicit entry at
 * the path is an HM_ERR_INPUT error ("duplicate entry").
 */
int hm_tree_put_take(struct hm_tree *t, struct hm_entry *e, bool replace,
		     struct hm_error *err);

/* The entry at path, or NULL.  Borrowed. */
const struct hm_entry *hm_tree_get(const struct hm_tree *t, const char *path,
				   size_t len);
/* Mutable access, for the builder's operations.  Borrowed. */
struct hm_entry *hm_tree_get_mut(struct hm_tree *t, const char *path,
				 size_t len);

/*
 * Remove the entry at path and its subtree; returns the number of entries
 * removed (0 if there was none).  If tombstone is non-NULL and an entry
 * was removed, tombstone is kept in its place (ownership taken either
 * way): an entry with HM_ENTRY_DELETED that sources yield so that compare
 * can say who deleted it; a later put replaces it.
 */
long hm_tree_remove(struct hm_tree *t, const char *path, size_t len,
		    struct hm_entry *tombstone);
/*
 * The paths of the live entries whose path matches glob (checked with
 * hm_glob_check), in canonical order: *ret holds *ret_n strings, freed
 * with hm_tree_paths_free().  HM_ERR_NOMEM with err set.
 */
int hm_tree_glob(const struct hm_tree *t, const char *glob, char ***ret,
		 size_t *ret_n, struct hm_error *err);
void hm_tree_paths_free(char **paths, size_t n);   /* accepts NULL */
/*
 * Remove every live entry whose path matches glob (checked with
 * hm_glob_check), each with its subtree, as a template's `remove` does;
 * the root never matches.  *ret_removed (may be NULL) gets the number of
 * entries removed.  Returns 0, or HM_ERR_NOMEM with err set (the tree
 * may then have lost some of the matches).
 */
int hm_tree_remove_glob(struct hm_tree *t, const char *glob,
			uint64_t *ret_removed, struct hm_error *err);
/* Remove every entry strictly below dir (opaque whiteout); returns the
 * count.  dir itself stays. */
long hm_tree_clear_below(struct hm_tree *t, const char *dir, size_t len);

size_t hm_tree_count(const struct hm_tree *t);   /* entries incl. root, excl. tombstones */

/*
 * Visit every entry in canonical order (tombstones included: check the
 * flag).  fn returns <0 to stop, which hm_tree_walk returns.
 */
int hm_tree_walk(const struct hm_tree *t,
		 int (*fn)(void *ctx, const struct hm_entry *e), void *ctx);

/*
 * The tree as a source, in canonical order.  With take true the source
 * owns the tree and frees it; otherwise the tree must outlive the source
 * and must not be changed while it is used.
 */
int hm_tree_source(struct hm_tree *t, bool take, struct hm_source **ret,
		   struct hm_error *err);

/*
 * Canonical image path from an archive member name: leading "./" and "/"
 * dropped, "." components dropped, repeated and trailing slashes folded;
 * ".." components and NUL bytes are refused (-1).  "" and "." give "/".
 */
int hm_tree_normalize(const char *name, size_t len, struct hm_buf *out);

#endif
