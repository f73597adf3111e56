/*
 * The builder's content-addressed blob store: file contents live here by
 * SHA-256, never under their own names; the tree carries metadata and the
 * digest.  Layout: DIR/sha256/XX/HEX (XX = first two hex digits), files
 * mode 0444, written atomically, so an interrupted build never leaves a
 * blob whose name lies about its content.
 */
#ifndef HALLMARK_BLOBSTORE_H
#define HALLMARK_BLOBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "hallmark/error.h"

struct hm_blobstore;
struct hm_blob_writer;

/* Open (creating) the store in dir. */
int hm_blobstore_open(const char *dir, struct hm_blobstore **ret,
		      struct hm_error *err);
void hm_blobstore_free(struct hm_blobstore *s);   /* accepts NULL */

/* Stream a blob in: begin, write any number of chunks, then commit (which
 * returns its SHA-256 and size; an existing identical blob is kept) or
 * abort.  Both free w. */
int hm_blob_begin(struct hm_blobstore *s, struct hm_blob_writer **ret,
		  struct hm_error *err);
int hm_blob_write(struct hm_blob_writer *w, const void *data, size_t len,
		  struct hm_error *err);
int hm_blob_commit(struct hm_blob_writer *w, unsigned char sha256[32],
		   uint64_t *ret_size, struct hm_error *err);
void hm_blob_abort(struct hm_blob_writer *w);   /* accepts NULL */

/* One-shot put of a buffer. */
int hm_blob_put(struct hm_blobstore *s, const void *data, size_t len,
		unsigned char sha256[32], struct hm_error *err);
/* Open a blob for reading (O_RDONLY|O_CLOEXEC); HM_ERR_INPUT if absent. */
int hm_blob_open(struct hm_blobstore *s, const unsigned char sha256[32],
		 int *ret_fd, struct hm_error *err);
/* Read a whole blob (at most max bytes) into memory; free() it. */
int hm_blob_read(struct hm_blobstore *s, const unsigned char sha256[32],
		 size_t max, char **ret, size_t *ret_len, struct hm_error *err);

#endif
