/*
 * The manifest, format version 1 (docs/manifest-format.md is the spec):
 * a header block, then one escaped, canonical line per entry.
 *
 *   hallmark-manifest 1
 *   name web-base
 *   serial 1
 *   created 2026-11-22T20:13:09Z
 *   expires never                       (or an RFC 3339 UTC time)
 *   template sha256:HEX                 (or "template none")
 *   image oci sha256:HEX                (zero or more, sorted by kind, unique)
 *   hash sha256
 *   entries 3
 *   / type=dir mode=0755 uid=0 gid=0
 *   /bin type=symlink mode=0777 uid=0 gid=0 target=usr/bin
 *   /etc/a\040b type=file mode=0644 uid=0 gid=0 size=5 sha256=HEX xattr.user.x=6869
 */
#ifndef HALLMARK_MANIFEST_H
#define HALLMARK_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hallmark/buf.h"
#include "hallmark/entry.h"
#include "hallmark/error.h"
#include "hallmark/limits.h"
#include "hallmark/runtime_spec.h"
#include "hallmark/source.h"

#define HM_MANIFEST_VERSION 1
#define HM_MANIFEST_MAX_IMAGES 8
#define HM_DIGEST_STR_MAX 72       /* "sha256:" + 64 hex + NUL */

struct hm_manifest_image {
	char kind[8];                  /* "oci", "qcow2", "raw", "tar" */
	char digest[HM_DIGEST_STR_MAX];/* "sha256:HEX" */
};

/*
 * "expires never".  No parsed time can be it (hm_time_parse stops at
 * 9999), and it is later than any time, so "now >= expires" stays false.
 * 0 is not "never": it is 1970-01-01T00:00:00Z, a time in the past, so a
 * header whose expiry was left unset is refused, not valid forever.
 */
#define HM_EXPIRES_NEVER ((time_t)INT64_MAX)

struct hm_manifest_header {
	unsigned version;
	char name[HM_LIMIT_NAME_BYTES + 1];
	uint64_t serial;
	time_t created;                /* UTC seconds */
	time_t expires;                /* HM_EXPIRES_NEVER, or after created */
	char template_digest[HM_DIGEST_STR_MAX];   /* "" = none */
	struct hm_manifest_image images[HM_MANIFEST_MAX_IMAGES];
	size_t n_images;
	/* The runtime extension: what a running instance may do.  Owned by
	 * the reader that filled it (freed with it); borrowed by the writer. */
	struct hm_runtime_spec *runtime;  /* NULL: no runtime baseline */
	uint64_t entries;
};

/*
 * Names are 1..128 bytes of [A-Za-z0-9._+-], not starting with '.' or '-'.
 * Returns true if valid.
 */
bool hm_manifest_name_valid(const char *name);

/* Escape bytes outside 0x21..0x7e and '\' as \ooo; extra (may be NUL) is
 * one more byte to escape (the xattr writer passes '='). */
int hm_escape(struct hm_buf *out, const char *s, size_t len, char extra);
/* Reverse of hm_escape; strict (bad escapes, NUL bytes, bytes that should
 * have been escaped are errors).  Returns 0 or -1. */
int hm_unescape(struct hm_buf *out, const char *s, size_t len);

/* Append the header block / one entry line (with LF) to out.  The entry
 * must be complete (files carry a digest).  0, HM_ERR_INPUT or NOMEM. */
int hm_manifest_format_header(struct hm_buf *out,
			      const struct hm_manifest_header *h,
			      struct hm_error *err);
int hm_manifest_format_entry(struct hm_buf *out, const struct hm_entry *e,
			     struct hm_error *err);

/*
 * Write a manifest of every entry of src to path, atomically (temp file in
 * the same folder, fsync, rename; nothing at path on failure).  h->entries
 * is filled in.  Entries must arrive in strict canonical order; an entry
 * that is unreadable or changed while hashed fails the write, naming it.
 * path "-" writes to stdout (not atomic).
 */
int hm_manifest_write(const char *path, struct hm_manifest_header *h,
		      struct hm_source *src, struct hm_error *err);

struct hm_manifest_reader;

enum hm_manifest_reader_flags {
	/* Hash every byte read with SHA-256 (see hm_manifest_reader_sha256). */
	HM_MANIFEST_HASH = 1u << 0,
};

/*
 * Parse the header from fd (read from its current offset, streaming, with
 * bounded memory).  name is the file name used in messages
 * ("FILE:LINE: ...").  The reader does not close fd.
 */
int hm_manifest_reader_open(int fd, const char *name, unsigned flags,
			    struct hm_manifest_reader **ret,
			    struct hm_error *err);
const struct hm_manifest_header *
hm_manifest_reader_header(const struct hm_manifest_reader *r);
/* 1 and *ret (borrowed until the next call): an entry; 0: end (entry count,
 * order and trailing data checked); <0: error naming the line. */
int hm_manifest_reader_next(struct hm_manifest_reader *r,
			    const struct hm_entry **ret, struct hm_error *err);
/* After next() returned 0 with HM_MANIFEST_HASH: SHA-256 of all bytes. */
int hm_manifest_reader_sha256(const struct hm_manifest_reader *r,
			      unsigned char out[32]);
/* The reader as a source (borrowed; freeing it frees the reader). */
struct hm_source *hm_manifest_reader_source(struct hm_manifest_reader *r);
void hm_manifest_reader_free(struct hm_manifest_reader *r);

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" <-> time_t.  parse: 0 or -1. */
void hm_time_format(time_t t, char out[21]);
int hm_time_parse(const char *s, size_t len, time_t *ret);

#endif
