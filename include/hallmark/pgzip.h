/*
 * Gzip in independent members, compressed on every core, the same bytes
 * whatever the number of threads.
 *
 * The input is cut into HM_PGZIP_CHUNK-byte pieces (the last one shorter);
 * each becomes one gzip member (RFC 1952) compressed by libdeflate at a
 * fixed level.  A gzip reader decompresses the concatenation as one
 * stream (gzip -d, zlib's gunzip, Go's compress/gzip, libarchive, Python
 * all read multi-member files), so the result is plain gzip for every
 * other reader.
 *
 * So that a reader can also split the stream without inflating it, each
 * member's header carries an extra field (FEXTRA, as BGZF does) with one
 * subfield, SI1 'H' SI2 'M', LEN 8: the member's total size in bytes and
 * the size of the data it holds, both unsigned 32-bit little-endian.  The
 * header is otherwise fixed: no name, no comment, MTIME 0, OS 255.
 *
 * The same pool writes zstd instead (HM_PGZIP_ZSTD): each chunk becomes
 * one independent zstd frame (RFC 8878) at a pinned level, its content
 * size in the frame header, a content checksum (XXH64 of the chunk: a
 * corrupt frame is caught where it is, not only by the diff_id), no
 * dictionary ID.  Any zstd
 * reader decompresses the concatenation as one stream; a reader that
 * walks the frame and block headers can split it without decompressing.
 * Byte identity holds for one libzstd (and one libdeflate) version:
 * another version may choose other matches at the same level.
 */
#ifndef HALLMARK_PGZIP_H
#define HALLMARK_PGZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include "hallmark/error.h"

#define HM_PGZIP_CHUNK (1024u * 1024)
#define HM_PGZIP_LEVEL 6
/* zstd level 3 (zstd's default): smaller than gzip -6 and several times
 * faster (docs/benchmarks.md). */
#define HM_PZSTD_LEVEL 3

enum hm_pgzip_codec { HM_PGZIP_GZIP, HM_PGZIP_ZSTD };

struct hm_pgzip_result {
	unsigned char in_sha256[32];   /* of the data read */
	unsigned char out_sha256[32];  /* of the gzip written */
	uint64_t in_bytes, out_bytes;
	uint64_t members;              /* gzip members or zstd frames */
};

/*
 * Compress everything in_fd holds (from its offset to its end) into
 * out_fd, with threads workers (0: one per CPU).  in_name and out_name
 * name the files in messages.  Short reads are retried; a read or write
 * error is HM_ERR_IO, with nothing said about what was written.
 */
int hm_pgzip_compress_fd(int in_fd, const char *in_name, int out_fd,
			 const char *out_name, unsigned threads,
			 struct hm_pgzip_result *res, struct hm_error *err);
/* The same, in the given codec. */
int hm_pgzip_compress_fd_codec(int in_fd, const char *in_name, int out_fd,
			       const char *out_name, enum hm_pgzip_codec codec,
			       unsigned threads, struct hm_pgzip_result *res,
			       struct hm_error *err);

/*
 * Reading: a stream of such members inflated on every core, handed out
 * in order.  Sizes a member may claim (a hostile stream can claim
 * anything): at most HM_PGZIP_MAX_DATA bytes of data and
 * HM_PGZIP_MAX_MEMBER bytes of member, so memory stays under
 * 2 x workers x (both).
 */
#define HM_PGZIP_HEADER 24
#define HM_PGZIP_MAX_DATA (4u * 1024 * 1024)
#define HM_PGZIP_MAX_MEMBER (HM_PGZIP_MAX_DATA + HM_PGZIP_MAX_DATA / 8 + 4096)

/* Whether p (len bytes) starts a member with hallmark's size field; if
 * so, its total size and data size. */
bool hm_pgzip_member_sizes(const unsigned char *p, size_t len,
			   uint32_t *member, uint32_t *data);

/* The next len bytes of the compressed stream into buf: len, fewer only
 * at its end, or -1 on a read error (the callback keeps the reason). */
typedef ssize_t (*hm_pgunzip_read_fn)(void *ctx, void *buf, size_t len);

struct hm_pgunzip;

int hm_pgunzip_new(hm_pgunzip_read_fn rd, void *ctx, unsigned threads,
		   struct hm_pgunzip **ret, struct hm_error *err);
/*
 * The next piece of the uncompressed stream, valid until the next call:
 * 1 with *buf and *len (len > 0), 0 at the end, -1 when the stream is
 * not a sequence of well-formed members (a read error, a member without
 * the size field, a bad CRC or size, a claim over the limits): *why then
 * says which, at which offset of the compressed stream.
 */
int hm_pgunzip_next(struct hm_pgunzip *z, const void **buf, size_t *len,
		    const char **why);
/*
 * The same reader for any gzip stream (one member or many, any header):
 * one thread reads through rd and inflates ahead with ISA-L's igzip while
 * the caller consumes.  rd is called from that thread until
 * hm_pgunzip_next() returned 0 or -1, or hm_pgunzip_free() returned.
 * Bytes after the last member are not read (the caller's digest covers
 * them), as libarchive's gzip reader leaves them.
 */
/*
 * Whether the len bytes at off in fd are zstd frames a reader can split
 * and decompress on every core: each frame declares its content size,
 * at most HM_PGZIP_MAX_DATA, and is at most HM_PGZIP_MAX_MEMBER long (no
 * skippable frame, nothing after the last frame).  Reads the frame and
 * block headers only, not the compressed data.  false also on a read
 * error: the caller's streaming reader then reports it.
 */
bool hm_pzstd_splittable(int fd, uint64_t off, uint64_t len);
/*
 * A reader of such a stream, the frames decompressed on every core and
 * handed out in order through hm_pgunzip_next() (whose -1 then names the
 * offset of the corrupt or truncated frame) and freed by
 * hm_pgunzip_free().
 */
int hm_pgunzip_new_zstd(hm_pgunzip_read_fn rd, void *ctx, unsigned threads,
			struct hm_pgunzip **ret, struct hm_error *err);
int hm_pgunzip_new_stream(hm_pgunzip_read_fn rd, void *ctx,
			  struct hm_pgunzip **ret, struct hm_error *err);
void hm_pgunzip_free(struct hm_pgunzip *z);   /* accepts NULL */

#endif
