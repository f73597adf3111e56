/*
 * Internal to lib/: the libarchive-level tar reader that the tar source
 * (lib/source_tar.c) and the OCI source's layers (lib/source_oci.c)
 * share, so that one member means the same in both.  Nothing outside lib/
 * sees struct archive; the public side is include/hallmark/source_tar.h.
 */
#ifndef HALLMARK_SOURCE_TAR_PRIVATE_H
#define HALLMARK_SOURCE_TAR_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "hallmark/entry.h"
#include "hallmark/error.h"
#include "hallmark/source.h"
#include "hallmark/source_tar.h"

/*
 * The per-member reader, shared by the tar source and the OCI source's
 * layers, so that one member means the same in both.  It works on the
 * current member of a libarchive reader; the caller owns the names (the
 * canonical path, already in e), hard links (their targets are looked up
 * in the caller's tree) and size limits.  Its own errors are the reason
 * only ("uid 4294967296 out of range"), for the caller to prefix with the
 * file and the member.
 */
struct archive;
struct archive_entry;
struct hm_hash;
struct hm_tar_guard;

/*
 * Enable on a libarchive reader exactly the decompressors hallmark
 * promises, gzip, zstd, xz and bzip2, and only if libarchive runs them
 * in-process: never lzop, lrzip, grzip or any other program from PATH, and
 * no uudecode.  0, or HM_ERR_IO if this libarchive would need an external
 * program for one of them.
 */
int hm_tar_support_filters(struct archive *a, struct hm_error *err);

/* Who failed in hm_tar_next_header() and hm_tar_member_content(). */
enum hm_tar_failure {
	HM_TAR_FAIL_MEMBER,   /* the member (or memory): err holds the reason */
	HM_TAR_FAIL_ARCHIVE,  /* libarchive: err untouched, HM_ERR_INPUT returned;
			       * archive_error_string(a) says why */
	HM_TAR_FAIL_SINK,     /* the sink: its error, as it set it */
};

/*
 * What libarchive's tar reader does not tell: a guard watches the
 * uncompressed stream a tar reader (format tar, no filter) is fed through
 * its read callback, and checks each member's header blocks.
 *
 * hm_tar_guard_new(): a guard for the tar reader a (borrowed; a guard
 * serves one reader, for its life).  The caller hands every buffer its
 * read callback returns to libarchive to hm_tar_guard_feed() first, and
 * reads headers only with hm_tar_next_header().  HM_ERR_NOMEM.
 */
int hm_tar_guard_new(struct archive *a, struct hm_tar_guard **ret,
		     struct hm_error *err);
void hm_tar_guard_free(struct hm_tar_guard *g);
int hm_tar_guard_feed(struct hm_tar_guard *g, const void *buf, size_t len,
		      struct hm_error *err);

/*
 * The next member's header, in place of archive_read_next_header(): 1 and
 * *ret (libarchive's, valid until the next call), 0 at the end, or
 * HM_ERR_INPUT with *ret_failure:
 *   HM_TAR_FAIL_ARCHIVE: libarchive could not read on (err untouched);
 *   HM_TAR_FAIL_MEMBER: *ret is the member and err the reason, for the
 *   caller to prefix with the file and the member name:
 *   - any warning of libarchive's on the header (a malformed pax record,
 *     a bad length, a NUL in a pax key, a malformed GNU sparse map...):
 *     part of the header was dropped.  Names are converted from the pax
 *     UTF-8 to UTF-8 (a C.UTF-8 thread locale), so a valid non-ASCII name
 *     is no warning: its bytes are the member's name, in any locale;
 *   - a pax global header ('g') before the member: GNU tar applies it to
 *     every later member, libarchive drops it; hallmark refuses it;
 *   - a header chain the guard cannot follow.
 * The data of the previous member, if unread, is skipped first.  The
 * permission bits of a member with a POSIX ACL are set back to its
 * header's mode (libarchive replaces them with the ACL's entries).
 */
int hm_tar_next_header(struct archive *a, struct hm_tar_guard *g,
		       struct archive_entry **ret,
		       enum hm_tar_failure *ret_failure, struct hm_error *err);

/*
 * Everything but the content of a member that is not a hard link: type,
 * mode, owner, xattrs (pax SCHILY.xattr.* / LIBARCHIVE.xattr.*, an exact
 * repeat dropped), symlink target, device numbers.  HM_ERR_INPUT for an
 * unsupported type, owners or device numbers past 32 bits, an empty
 * symlink target or xattr name, an xattr recorded twice with different
 * values; HM_ERR_LIMIT past HM_LIMIT_XATTR* or HM_LIMIT_TARGET_BYTES.
 */
int hm_tar_member_meta(struct archive_entry *ae, struct hm_entry *e,
		       struct hm_error *err);

/* HM_ERR_INPUT if a hard link member carries data (see the .c file). */
int hm_tar_member_check_link(struct archive_entry *ae, struct hm_error *err);

/*
 * The content of the current member, a regular file whose header declared
 * size bytes (checked against the caller's limit first): hashed with
 * SHA-256 over its logical content (holes of sparse members as zeros)
 * into e->sha256 (e->size = size, HM_ENTRY_HAS_DIGEST), and handed to
 * sink if not NULL (begin, data..., end; e->path is what begin sees).
 * hash: a SHA-256 context to reuse, or NULL.  Data that overlaps or lies
 * past size is HM_ERR_INPUT.  g: the stream's guard (the header was read
 * with hm_tar_next_header()), or NULL; with it, a member that is not
 * sparse but whose data ends before size (a GNU "realsize" field that GNU
 * tar, Python and Go ignore) is HM_ERR_INPUT rather than zero padding,
 * and holes past HM_LIMIT_TAR_HOLE_BYTES over the stream are
 * HM_ERR_LIMIT, before they are hashed.  On failure *ret_failure says
 * whose.
 */
int hm_tar_member_content(struct archive *a, struct hm_tar_guard *g,
			  struct hm_entry *e, uint64_t size,
			  struct hm_hash *hash, const struct hm_content_sink *sink,
			  enum hm_tar_failure *ret_failure, struct hm_error *err);

#endif
