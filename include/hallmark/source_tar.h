/*
 * Tar streams as trees: the "tar:FILE" / "tar:-" target, and the reader
 * the builder imports tar bases with.  Plain tar or tar compressed with
 * gzip, zstd, xz or bzip2, decompressed in-process (no other filter, no
 * external program); libarchive is only used to read, nothing is ever
 * extracted or written to disk.
 */
#ifndef HALLMARK_SOURCE_TAR_H
#define HALLMARK_SOURCE_TAR_H

#include "hallmark/error.h"
#include "hallmark/source.h"
#include "hallmark/tree.h"

/*
 * Logical bytes of one tar member, holes of sparse files included: 1 TiB.
 * Hashing that many zeros takes minutes, not forever, so a header that
 * claims petabytes of holes fails at once (HM_ERR_LIMIT).
 */
#define HM_LIMIT_TAR_MEMBER_BYTES (1ull << 40)
/*
 * Logical bytes of all members of one tar stream together, holes
 * included: 256 GiB, checked from each header before its data is read.
 */
#define HM_LIMIT_TAR_STREAM_BYTES (256ull << 30)
/*
 * Bytes of holes of all sparse members of one stream together: 16 GiB.
 * A hole costs nothing to store and about a second per 1.6 GB to hash
 * (SHA-256 has no shortcut for zeros), so this is what bounds the time a
 * few KiB of headers can cost; refused before the hole is hashed.
 */
#define HM_LIMIT_TAR_HOLE_BYTES   (16ull << 30)

/*
 * Read the whole tar stream at path ("-": standard input, not closed) in
 * one pass into a new tree (*ret, the caller's on success).  Only metadata
 * is kept; each regular file's content is hashed (SHA-256 of the logical
 * content, holes as zeros) and, when opt->sink is set, handed to it.  Member
 * names are made canonical with hm_tree_normalize(); parents the stream
 * does not list are implicit entries (dir 0755 0:0, HM_ENTRY_IMPLICIT).
 * Hard links become copies of their target's entry (which must be an
 * earlier regular file).  opt->filter: members it skips are neither
 * hashed nor kept.  opt may be NULL.
 *
 * Errors name the file and the member: HM_ERR_INPUT for ".." members,
 * duplicate entries ("duplicate entry '/x' in 'FILE'"), bad hard links,
 * paths under a non-directory, truncated or corrupt streams;
 * HM_ERR_LIMIT for sizes over the named limits; HM_ERR_IO when the file
 * cannot be opened or read.
 */
int hm_tar_read_tree(const char *path, const struct hm_scan_options *opt,
		     struct hm_tree **ret, struct hm_error *err);

/*
 * The same stream as a source yielding in canonical order (the stream is
 * read whole at open time, so errors in it come from here).  Implicit
 * parents the filter's skip_entry rejects are not yielded either.
 */
int hm_source_tar_open(const char *path, const struct hm_scan_options *opt,
		       struct hm_source **ret, struct hm_error *err);

#endif
