/*
 * Sources: anything that yields a tree as a stream of entries in canonical
 * order (hm_path_cmp).  A directory, a tar stream, an OCI image, a disk
 * image and a manifest are all sources; compare and the manifest writer
 * consume them without knowing which.
 */
#ifndef HALLMARK_SOURCE_H
#define HALLMARK_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hallmark/entry.h"
#include "hallmark/error.h"

struct hm_source;
struct hm_digest_query;

struct hm_source_ops {
	const char *kind;   /* "dir", "tar", "oci", "manifest", ... */
	/* 1 and *ret set: an entry, borrowed until the next call or free.
	 * 0: end of the tree.  <0: error in err (the source is then done). */
	int (*next)(struct hm_source *src, const struct hm_entry **ret,
		    struct hm_error *err);
	void (*free)(struct hm_source *src);
	/* Optional (NULL: the source hashes every file): see
	 * hm_source_set_digest_query. */
	void (*set_digest_query)(struct hm_source *src,
				 const struct hm_digest_query *q);
};

/* Embed as the first member of a concrete source. */
struct hm_source {
	const struct hm_source_ops *ops;
};

int hm_source_next(struct hm_source *src, const struct hm_entry **ret,
		   struct hm_error *err);
void hm_source_free(struct hm_source *src);       /* accepts NULL */

/*
 * What a consumer may tell a source in advance, so that it does not hash
 * or descend into what will be ignored anyway.  Returning true from
 * skip_subtree for a directory path omits everything below it (the
 * directory entry itself is still yielded); skip_entry omits one entry.
 * Both may be NULL.
 */
struct hm_source_filter {
	bool (*skip_entry)(void *ctx, const char *path, size_t len);
	bool (*skip_subtree)(void *ctx, const char *path, size_t len);
	void *ctx;
};

/*
 * How a consumer tells a source which file contents it will not use, so
 * that a live tree does not read them: a file added where the manifest has
 * nothing is "added" (or allowed) whatever its content, and a 16 TiB sparse
 * file under /home would otherwise be read for hours.  need() is asked on
 * the thread that calls hm_source_next(), about the regular file that call
 * is about to yield (path as in the entry, its size), and only while its
 * digest is not yet known: it returns 1 if the consumer will compare the
 * digest, 0 if not, <0 on error (in err; next() then fails with it).  A
 * file declined this way is yielded with its attributes and xattrs but
 * without HM_ENTRY_HAS_DIGEST, and is never opened if it was not already
 * being hashed.  Sources that read every byte anyway (tar, OCI) ignore the
 * query.  q is copied; NULL removes it.
 */
struct hm_digest_query {
	int (*need)(void *ctx, const char *path, size_t len, uint64_t size,
		    struct hm_error *err);
	void *ctx;
};

static inline void hm_source_set_digest_query(struct hm_source *src,
					      const struct hm_digest_query *q)
{
	if (src && src->ops->set_digest_query)
		src->ops->set_digest_query(src, q);
}

/*
 * Where archive sources (tar, OCI) hand the contents of regular files as
 * they read them, for the builder's blob store: begin(entry) before the
 * first byte of a file, data() for each chunk, end() after the last; the
 * entry's digest is filled in by the time end() is called.  NULL: contents
 * are only hashed.  Callbacks return 0 or a negative error code.
 */
struct hm_content_sink {
	int (*begin)(void *ctx, const struct hm_entry *e, struct hm_error *err);
	int (*data)(void *ctx, const void *buf, size_t len, struct hm_error *err);
	int (*end)(void *ctx, struct hm_entry *e, struct hm_error *err);
	void *ctx;
};

struct hm_scan_options {
	unsigned threads;            /* hashing workers; 0 = number of CPUs */
	struct hm_source_filter filter;
	const struct hm_content_sink *sink;   /* archive sources only */
};

/*
 * A live directory tree rooted at path, walked relative to directory fds
 * with O_NOFOLLOW, never opening FIFOs or devices, not crossing mount
 * points as the kernel knows them (bind mounts on the same file system
 * too, and files mounted over files: they are yielded with
 * HM_ENTRY_MOUNTPOINT and neither descended nor opened),
 * hashing files on worker threads.  Entries are yielded in canonical order
 * with paths relative to the root ("/" is path itself).  Per-entry
 * problems (permission denied, changed while hashed) are flags on the
 * entry, never silent skips; only problems with the root itself or
 * resource exhaustion are errors.  It honours hm_source_set_digest_query.
 */
int hm_source_dir_open(const char *path, const struct hm_scan_options *opt,
		       struct hm_source **ret, struct hm_error *err);

/*
 * An OCI image flattened into one tree: with is_dir false, spec is an
 * image archive (an OCI layout in an uncompressed tar, or a docker-archive
 * as `docker save` writes it, told apart by content) read in place with
 * pread; with is_dir true, an OCI layout folder.  Every blob's size and
 * digest (and each layer's diff_id) are checked before its content is
 * used; whiteouts are applied per the image-spec and leave tombstones
 * (HM_ENTRY_DELETED).  Entries name their layer in origin / origin_name
 * ("layer 2 sha256:ab12cd34ef56").  Bad images are HM_ERR_INPUT, limits
 * HM_ERR_LIMIT; nothing is written to disk.
 */
int hm_source_oci_open(const char *spec, bool is_dir,
		       const struct hm_scan_options *opt,
		       struct hm_source **ret, struct hm_error *err);

/*
 * Open a TARGET as the CLI names it ("dir:PATH", "tar:FILE", "tar:-",
 * "oci:FILE", "oci-dir:PATH", a bare path that is a directory, and what
 * else the running program's table has: hallmark/target.h).
 */
int hm_source_open_target(const char *target,
			  const struct hm_scan_options *opt,
			  struct hm_source **ret, struct hm_error *err);

#endif
