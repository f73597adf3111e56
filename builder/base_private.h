/*
 * What builder/base.c keeps to itself, exposed for its unit test
 * (tests/unit/test_base.c) only: the content sink that stores a base's
 * files in the blob store, and the cache key of a Debian base.
 */
#ifndef HALLMARK_BASE_PRIVATE_H
#define HALLMARK_BASE_PRIVATE_H

#include <stdint.h>

#include "blobstore.h"
#include "hallmark/buf.h"
#include "hallmark/entry.h"
#include "hallmark/error.h"
#include "template.h"

/* The hm_content_sink of an import: each file of the base into store. */
struct hm_base_sink {
	struct hm_blobstore *store;
	struct hm_blob_writer *w;    /* the file being stored, or NULL */
	const char *path;            /* the base, for messages */
	uint64_t stored, limit;      /* content bytes so far, and at most */
	const struct hm_entry *cur;
};

int hm_base_sink_begin(void *ctx, const struct hm_entry *e, struct hm_error *err);
int hm_base_sink_data(void *ctx, const void *buf, size_t len, struct hm_error *err);
/* Fails (HM_ERR_IO, naming the entry) when what was stored is not what
 * the source said it read. */
int hm_base_sink_end(void *ctx, struct hm_entry *e, struct hm_error *err);

/*
 * The cache key: SHA-256 (hex) of a canonical text of everything that
 * decides mmdebstrap's output, the text in *text.  version is the first
 * line of `mmdebstrap --version`.
 */
int hm_base_debian_cache_key(const struct hm_tpl_base *b, const char *version,
			     struct hm_buf *text, char key[65],
			     struct hm_error *err);

#endif
