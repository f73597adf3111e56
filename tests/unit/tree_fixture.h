/*
 * Small trees for the builder's unit tests: an entry with its content in
 * a blob store, put into a tree.  Any failure aborts the test binary (a
 * broken fixture is not a finding of the code under test).
 */
#ifndef HM_TEST_TREE_FIXTURE_H
#define HM_TEST_TREE_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "hallmark/entry.h"
#include "hallmark/tree.h"
#include "../../builder/blobstore.h"

/* path (type, mode) into tree; a file's content (or NULL) goes to store. */
static inline void fixture_put(struct hm_tree *tree, struct hm_blobstore *store,
			       const char *path, enum hm_type type, unsigned mode,
			       const char *content)
{
	struct hm_entry *e = hm_entry_new();
	struct hm_error err;

	if (!e || hm_entry_set_path(e, path, strlen(path)) < 0)
		abort();
	e->type = type;
	e->mode = mode;
	if (content) {
		if (hm_blob_put(store, content, strlen(content), e->sha256, &err) < 0)
			abort();
		e->size = strlen(content);
		e->flags |= HM_ENTRY_HAS_DIGEST;
	}
	if (hm_tree_put_take(tree, e, true, &err) < 0)
		abort();
}

#endif
