/*
 * The tar source: a tar stream (plain or compressed with gzip, zstd, xz
 * or bzip2, decompressed in-process) read in one pass into an in-memory
 * tree, then yielded in canonical order.
 *
 * A tar stream has no order worth trusting, so the whole stream is read at
 * open time: each member's metadata goes into the tree, and its content is
 * hashed as it streams past and never kept (memory is bounded by the
 * metadata, never by contents).  Nothing is ever written to disk: libarchive
 * is used only to read, and no extraction function is called.  This file is
 * the only caller of libarchive's reader for tar targets.
 *
 * Member names are made canonical (leading "./" and "/" dropped, "." and
 * repeated slashes folded); a ".." component is refused, since a tree never
 * leaves its root.  Two members with the same canonical path are refused
 * too: extraction would silently keep the last one, and a verifier must not
 * silently pick.  Directories a member needs but the stream does not list
 * are made up as "implicit" entries (dir 0755 0:0, HM_ENTRY_IMPLICIT) and
 * compared like any other: a tar of a whole tree ("tar -C root -c .")
 * always lists every directory, so only a partial tar shows them, and then
 * their made-up metadata is rightly reported as drift.
 *
 * Hard links become separate file entries with the target's metadata and
 * digest, as in a manifest.  Sparse members are hashed over their logical
 * content (holes read as zeros), with HM_LIMIT_TAR_MEMBER_BYTES as the cap
 * on one member's logical size, HM_LIMIT_TAR_STREAM_BYTES on all members'
 * and HM_LIMIT_TAR_HOLE_BYTES on the holes of all, so a header claiming
 * petabytes of holes fails at once.  Extended attributes come from pax
 * SCHILY.xattr.* (GNU tar --xattrs) and LIBARCHIVE.xattr.* (bsdtar)
 * records.  ACLs are not recorded; they do not change the mode either.
 *
 * libarchive's tar reader is trusted for parsing, not for telling all it
 * saw: its warnings mean dropped records, it drops pax global headers
 * without a word and lets an ACL rewrite the mode.  So the file is
 * decompressed by one libarchive reader and fed to the tar reader through
 * a callback, where the guard (hm_tar_guard_*, hm_tar_next_header) keeps
 * the uncompressed header blocks of the member being read and checks
 * them after libarchive did.
 *
 * The per-member reader (metadata, xattrs, content with holes through the
 * sink: hm_tar_member_*) is exported for lib/source_oci.c, so that a
 * member of a layer and the same member of a tar stream give the same
 * entry and are refused for the same reasons.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/limits.h"
#include "hallmark/manifest.h"
#include "hallmark/source_tar.h"

#include "source_tar_private.h"

#define READ_BLOCK (64u * 1024)
#define TAR_BLOCK 512u
/* libarchive refuses extension headers (pax, GNU long names) past 1 MiB. */
#define SPECIAL_HEADER_MAX (1u << 20)
/* Longest excerpt of a member name quoted in a message. */
#define QUOTE_MAX 256

static const unsigned char zeros[64 * 1024];

struct tar_reader {
	struct archive *a;            /* the tar reader, fed by raw */
	struct archive *raw;          /* decompression only: the file's bytes */
	struct hm_tar_guard *guard;
	bool raw_failed;              /* a read of raw failed: its error stands */
	uint64_t logical;             /* logical bytes of the members so far */
	int fd;
	const char *name;             /* the file, for messages ("-": stdin) */
	struct hm_source_filter filter;
	const struct hm_content_sink *sink;
	struct hm_tree *tree;
	struct hm_hash *hash;
	struct hm_buf path, link, quoted;
	/* The last parent directory looked up in the filter, and its verdict. */
	struct hm_buf skip_dir;
	bool skip_dir_valid, skip_dir_skipped;
};

struct tar_source {
	struct hm_source base;
	struct hm_source *inner;      /* the tree, owned */
	struct hm_source_filter filter;
};

/* An escaped, shortened copy of s for messages (valid until the next call). */
static const char *quote(struct tar_reader *r, const char *s, size_t len)
{
	bool cut = len > QUOTE_MAX;

	hm_buf_reset(&r->quoted);
	if (hm_escape(&r->quoted, s, cut ? QUOTE_MAX : len, 0) < 0 ||
	    (cut && hm_buf_adds(&r->quoted, "...") < 0) ||
	    hm_buf_grow(&r->quoted, 0) < 0)
		return "(out of memory)";
	return r->quoted.data ? r->quoted.data : "";
}

/* The reader whose error stands: the decompressor's if it failed. */
static struct archive *failed_reader(struct tar_reader *r)
{
	return r->raw_failed ? r->raw : r->a;
}

/*
 * The hallmark code for libarchive's last error: a system call that failed
 * is I/O, anything libarchive says about the stream itself is input.
 */
static int archive_code(struct tar_reader *r, int *ret_errno)
{
	int e = archive_errno(failed_reader(r));

	*ret_errno = 0;
	if (e == ENOMEM)
		return HM_ERR_NOMEM;
	/* libarchive reports format problems as EILSEQ (its private
	 * ARCHIVE_ERRNO_FILE_FORMAT on Linux), misuse as EINVAL, and
	 * anything else it has to say as -1. */
	if (e > 0 && e != EILSEQ && e != EINVAL) {
		*ret_errno = e;
		return HM_ERR_IO;
	}
	return HM_ERR_INPUT;
}

/* A libarchive failure while reading, as an hm_error naming the member. */
static int read_error(struct tar_reader *r, const char *member, size_t len,
		      struct hm_error *err)
{
	const char *msg = archive_error_string(failed_reader(r));
	int e_no, code = archive_code(r, &e_no);

	if (code == HM_ERR_NOMEM)
		return hm_error_nomem(err);
	if (member)
		return hm_error_set(err, code, e_no, "cannot read '%s': tar member '%s': %s",
				    r->name, quote(r, member, len),
				    msg ? msg : "truncated or corrupt stream");
	return hm_error_set(err, code, e_no, "cannot read '%s': %s", r->name,
			    msg ? msg : "truncated or corrupt stream");
}

/* True if the consumer's filter excludes the subtree of some ancestor of
 * path (a canonical path other than "/"). */
static bool below_skipped(struct tar_reader *r, const char *path, size_t len)
{
	size_t plen = len, i;

	if (!r->filter.skip_subtree)
		return false;
	while (plen > 0 && path[plen - 1] != '/')
		plen--;
	plen = plen > 1 ? plen - 1 : 1;          /* the parent */
	/* Members of one directory usually come together: one lookup each. */
	if (r->skip_dir_valid && r->skip_dir.len == plen &&
	    memcmp(r->skip_dir.data, path, plen) == 0)
		return r->skip_dir_skipped;
	r->skip_dir_valid = false;
	r->skip_dir_skipped = false;
	for (i = 1; i <= plen; i++) {
		if (i != 1 && i != plen && path[i] != '/')
			continue;
		if (r->filter.skip_subtree(r->filter.ctx, path, i)) {
			r->skip_dir_skipped = true;
			break;
		}
	}
	hm_buf_reset(&r->skip_dir);
	if (hm_buf_add(&r->skip_dir, path, plen) == 0)
		r->skip_dir_valid = true;
	return r->skip_dir_skipped;
}

static bool filtered(struct tar_reader *r, const char *path, size_t len)
{
	if (r->filter.skip_entry && r->filter.skip_entry(r->filter.ctx, path, len))
		return true;
	return len > 1 && below_skipped(r, path, len);
}

/* ---- filters and the header guard, shared with lib/source_oci.c -------- */

int hm_tar_support_filters(struct archive *a, struct hm_error *err)
{
	static const struct {
		const char *name;
		int (*add)(struct archive *);
	} filters[] = {
		{ "gzip", archive_read_support_filter_gzip },
		{ "zstd", archive_read_support_filter_zstd },
		{ "xz", archive_read_support_filter_xz },
		{ "bzip2", archive_read_support_filter_bzip2 },
	};
	size_t i;

	/*
	 * Not archive_read_support_filter_all(): it lets libarchive run
	 * lzop, lrzip or grzip from PATH on untrusted input and decode
	 * uuencoded text.  Each of these returns ARCHIVE_WARN when this
	 * libarchive was built without the library and would run the
	 * program instead: refused as well.
	 */
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (filters[i].add(a) != ARCHIVE_OK)
			return hm_error_set(err, HM_ERR_IO, 0,
					    "cannot set up the tar reader: libarchive has no in-process %s decompressor",
					    filters[i].name);
	return 0;
}

struct hm_tar_guard {
	struct archive *a;         /* the tar reader watched, borrowed */
	locale_t utf8;             /* C.UTF-8, or (locale_t)0 */
	/* The uncompressed stream from offset win_start on, as far as it was
	 * fed; bytes libarchive has consumed are dropped, except those of
	 * the header being read. */
	struct hm_buf win;
	uint64_t win_start;
	int64_t prev_header;       /* the previous member's header offset, or -1 */
	bool in_header, started;
	bool sparse;               /* the current member has a sparse map */
	uint64_t holes;            /* bytes of holes hashed in the stream */
};

int hm_tar_guard_new(struct archive *a, struct hm_tar_guard **ret,
		     struct hm_error *err)
{
	struct hm_tar_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return hm_error_nomem(err);
	g->a = a;
	/* Without it, pax names that are not ASCII are refused (a warning
	 * on their header): safe, if unkind. */
	g->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	*ret = g;
	return 0;
}

void hm_tar_guard_free(struct hm_tar_guard *g)
{
	if (!g)
		return;
	if (g->utf8)
		freelocale(g->utf8);
	hm_buf_free(&g->win);
	free(g);
}

/* The uncompressed offset libarchive has consumed up to, or -1. */
static int64_t consumed(struct hm_tar_guard *g)
{
	/* Filter 0 is the one the format reads from: its position counts
	 * bytes of the uncompressed stream. */
	return archive_filter_bytes(g->a, 0);
}

int hm_tar_guard_feed(struct hm_tar_guard *g, const void *buf, size_t len,
		      struct hm_error *err)
{
	int64_t c = consumed(g);
	uint64_t lo = c < 0 ? g->win_start : (uint64_t)c;

	/*
	 * While a header is read, keep its blocks: libarchive sets the
	 * header's offset once it has skipped whatever the caller left of
	 * the previous member's data (bytes dropped as they go past).
	 */
	if (g->in_header) {
		int64_t hp = archive_read_header_position(g->a);

		if (hp >= 0 && hp != g->prev_header && (uint64_t)hp < lo)
			lo = (uint64_t)hp;
		if (hp < 0)
			lo = g->win_start;
	}
	if (lo > g->win_start) {
		size_t drop = lo - g->win_start < g->win.len ? (size_t)(lo - g->win_start)
							     : g->win.len;

		memmove(g->win.data, g->win.data + drop, g->win.len - drop);
		g->win.len -= drop;
		g->win_start += drop;
	}
	if (hm_buf_add(&g->win, buf, len) < 0)
		return hm_error_nomem(err);
	return 0;
}

/*
 * A numeric header field as libarchive's tar_atol() reads it: octal after
 * blanks, or base-256 when the high bit of the first byte is set.  -1 for
 * negative values and for values past max (all the guard needs).
 */
static int64_t field_num(const unsigned char *p, size_t n, int64_t max)
{
	int64_t v = 0;

	if (p[0] & 0x80) {
		if (p[0] & 0x40)
			return -1;
		v = p[0] & 0x3f;
		for (size_t i = 1; i < n; i++) {
			if (v > max)
				return -1;
			v = v * 256 + p[i];
		}
		return v > max ? -1 : v;
	}
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n && *p == '-')
		return -1;
	for (; n && *p >= '0' && *p <= '7'; p++, n--) {
		v = v * 8 + (*p - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* The header checksum test of POSIX (unsigned bytes) or of old tars. */
static bool header_checksum_ok(const unsigned char *h)
{
	int64_t want = field_num(h + 148, 8, INT32_MAX);
	long u = 0, s = 0;
	size_t i;

	for (i = 0; i < TAR_BLOCK; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : h[i];

		u += c;
		s += (signed char)c;
	}
	return want >= 0 && (want == u || want == s);
}

/*
 * A pax global header: libarchive reads and drops it, while GNU tar and
 * Python apply its records (path, uid, mode, size...) to every later
 * member.  Refused, unless every record is one hallmark does not record
 * anyway: "git archive" writes one holding only the commit as a comment.
 * True (and err set) if refused.
 */
static bool global_header_refused(const unsigned char *body, size_t size,
				  struct hm_error *err)
{
	static const char *const harmless[] = { "comment", "mtime", "atime", "ctime" };
	const unsigned char *bad = NULL;
	size_t at = 0, badlen = 0;

	while (at < size) {
		size_t len = 0, i = at, key, klen, k;

		while (i < size && body[i] >= '0' && body[i] <= '9' && len < SPECIAL_HEADER_MAX)
			len = len * 10 + (body[i++] - '0');
		/* "LEN KEY=VALUE\n", LEN counting it all. */
		if (i == at || i >= size || body[i] != ' ' || len > size - at ||
		    len < i - at + 3 || body[at + len - 1] != '\n')
			goto refused;
		key = i + 1;
		for (klen = 0; key + klen < at + len - 1 && body[key + klen] != '='; klen++)
			;
		for (k = 0; k < sizeof(harmless) / sizeof(harmless[0]); k++)
			if (strlen(harmless[k]) == klen &&
			    memcmp(body + key, harmless[k], klen) == 0)
				break;
		if (k == sizeof(harmless) / sizeof(harmless[0])) {
			bad = body + key;
			badlen = klen < 64 ? klen : 64;
			goto refused;
		}
		at += len;
	}
	return false;
refused:
	/* Keys are quoted only if they are plain words (no escapes here). */
	for (size_t i = 0; bad && i < badlen; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", bad[i]) ||
		    !bad[i])
			bad = NULL;
	if (bad && badlen)
		hm_error_set(err, HM_ERR_INPUT, 0,
			     "a pax global header (typeflag 'g') before it sets '%.*s', which GNU tar applies to every later member and libarchive drops: refused",
			     (int)badlen, (const char *)bad);
	else
		hm_error_set(err, HM_ERR_INPUT, 0,
			     "a malformed pax global header (typeflag 'g') before it: refused");
	return true;
}

/*
 * Follow the header blocks of the member just read, [start, end) of the
 * stream, to its own header (the first that is not an extension header),
 * as libarchive's tar reader did.  NULL and err set if a global header is
 * among them or the chain is not what libarchive must have read.
 */
static const unsigned char *walk_headers(struct hm_tar_guard *g, uint64_t start,
					 uint64_t end, struct hm_error *err)
{
	uint64_t p = start;

	if (start < g->win_start || end > g->win_start + g->win.len)
		goto lost;
	while (p + TAR_BLOCK <= end) {
		const unsigned char *h = (const unsigned char *)g->win.data + (p - g->win_start);
		int64_t size;

		switch (h[156]) {
		case 'x': case 'X': case 'L': case 'K': case 'A': case 'g':
			size = field_num(h + 124, 12, SPECIAL_HEADER_MAX);
			if (size < 0 || p + TAR_BLOCK + (uint64_t)size > end)
				goto lost;
			if (h[156] == 'g' && global_header_refused(h + TAR_BLOCK, (size_t)size, err))
				return NULL;
			p += TAR_BLOCK + (((uint64_t)size + TAR_BLOCK - 1) & ~(uint64_t)(TAR_BLOCK - 1));
			continue;
		case 'V':               /* a volume label: libarchive skips it */
			p += TAR_BLOCK;
			continue;
		default:
			if (!header_checksum_ok(h))
				goto lost;
			return h;
		}
	}
lost:
	hm_error_set(err, HM_ERR_INPUT, 0, "header blocks that cannot be followed");
	return NULL;
}

/*
 * libarchive replaces the permission bits of an entry with the user, group
 * and other entries of its POSIX ACL; with a mask, the group bits of the
 * file (stat(2), dir:, what GNU tar restores without --acls) are the
 * mask's, which the header's mode holds.  ACLs themselves are not
 * recorded (docs/cli.md).
 */
static int header_mode(struct archive_entry *ae, const unsigned char *h,
		       struct hm_error *err)
{
	int64_t mode;

	if (!archive_entry_acl_types(ae))
		return 0;
	mode = field_num(h + 100, 8, INT32_MAX);
	if (mode < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0, "unreadable mode field");
	archive_entry_set_perm(ae, (mode_t)(mode & 07777));
	return 0;
}

int hm_tar_next_header(struct archive *a, struct hm_tar_guard *g,
		       struct archive_entry **ret,
		       enum hm_tar_failure *ret_failure, struct hm_error *err)
{
	locale_t old = (locale_t)0;
	const unsigned char *h;
	int64_t start, end;
	int ar, rc;

	*ret_failure = HM_TAR_FAIL_ARCHIVE;
	g->prev_header = g->started ? archive_read_header_position(a) : -1;
	g->started = true;
	g->in_header = true;
	/* Names in pax records are UTF-8; libarchive converts them to the
	 * locale's charset, and in the C locale every non-ASCII name is a
	 * warning.  UTF-8 to UTF-8 keeps the bytes, so that warning never
	 * comes and every warning left means a dropped record. */
	if (g->utf8)
		old = uselocale(g->utf8);
	ar = archive_read_next_header(a, ret);
	if (g->utf8)
		uselocale(old);
	g->in_header = false;
	if (ar == ARCHIVE_EOF)
		return 0;
	if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
		return HM_ERR_INPUT;
	*ret_failure = HM_TAR_FAIL_MEMBER;
	if (ar == ARCHIVE_WARN) {
		const char *msg = archive_error_string(a);

		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "part of its header was dropped: %s",
				    msg ? msg : "libarchive warning");
	}
	start = archive_read_header_position(a);
	end = consumed(g);
	if (start < 0 || end < start)
		return hm_error_set(err, HM_ERR_INPUT, 0, "header blocks that cannot be followed");
	if (!(h = walk_headers(g, (uint64_t)start, (uint64_t)end, err)))
		return HM_ERR_INPUT;
	if ((rc = header_mode(*ret, h, err)) < 0)
		return rc;
	g->sparse = archive_entry_sparse_count(*ret) > 0;
	return 1;
}

/* ---- the per-member reader shared with lib/source_oci.c ---------------- */

struct content {
	struct hm_hash *h;
	struct hm_tar_guard *g;
	const struct hm_content_sink *sink;
	struct hm_error *err;
	enum hm_tar_failure *failure;
};

/* Content bytes to the hash and to the sink, if any. */
static int feed(struct content *c, const void *buf, size_t len)
{
	int rc;

	if (!len)
		return 0;
	if (hm_hash_update(c->h, buf, len) < 0)
		return hm_error_nomem(c->err);
	if (c->sink && c->sink->data &&
	    (rc = c->sink->data(c->sink->ctx, buf, len, c->err)) < 0) {
		*c->failure = HM_TAR_FAIL_SINK;
		return rc;
	}
	return 0;
}

/* Zeros from *pos up to end: a hole of a sparse member. */
static int hole(struct content *c, uint64_t *pos, uint64_t end)
{
	int rc;

	/* Checked before a byte of it is hashed: the time a hole costs is
	 * all SHA-256, a second per 1.6 GB or so. */
	if (c->g && *pos < end) {
		if (end - *pos > HM_LIMIT_TAR_HOLE_BYTES - c->g->holes)
			return hm_error_set(c->err, HM_ERR_LIMIT, 0,
					    "holes of sparse members add up to more than %llu bytes in the stream (HM_LIMIT_TAR_HOLE_BYTES)",
					    (unsigned long long)HM_LIMIT_TAR_HOLE_BYTES);
		c->g->holes += end - *pos;
	}
	while (*pos < end) {
		size_t n = end - *pos < sizeof(zeros) ? (size_t)(end - *pos)
						      : sizeof(zeros);

		if ((rc = feed(c, zeros, n)) < 0)
			return rc;
		*pos += n;
	}
	return 0;
}

int hm_tar_member_content(struct archive *a, struct hm_tar_guard *g,
			  struct hm_entry *e, uint64_t size,
			  struct hm_hash *hash, const struct hm_content_sink *sink,
			  enum hm_tar_failure *ret_failure, struct hm_error *err)
{
	enum hm_tar_failure dummy;
	struct content c = { hash, g, sink, err, ret_failure ? ret_failure : &dummy };
	uint64_t pos = 0;
	const void *buf;
	size_t len;
	la_int64_t off;
	int ar, rc;

	*c.failure = HM_TAR_FAIL_MEMBER;
	if (!c.h && !(c.h = hm_hash_new(HM_HASH_SHA256)))
		return hm_error_nomem(err);
	if (hm_hash_reset(c.h) < 0) {
		rc = hm_error_nomem(err);
		goto out;
	}
	if (sink && sink->begin && (rc = sink->begin(sink->ctx, e, err)) < 0) {
		*c.failure = HM_TAR_FAIL_SINK;
		goto out;
	}
	for (;;) {
		ar = archive_read_data_block(a, &buf, &len, &off);
		if (ar == ARCHIVE_EOF)
			break;
		/* A warning here is data libarchive could not deliver. */
		if (ar != ARCHIVE_OK) {
			*c.failure = HM_TAR_FAIL_ARCHIVE;
			rc = HM_ERR_INPUT;
			goto out;
		}
		/* Sparse data comes in increasing offsets, within the size
		 * the header declared (the caller checked that against its
		 * limit, so holes are bounded too). */
		if (off < 0 || (uint64_t)off < pos || (uint64_t)off > size ||
		    len > size - (uint64_t)off) {
			rc = hm_error_set(err, HM_ERR_INPUT, 0,
					  "data outside its size (overlapping or beyond the end)");
			goto out;
		}
		if ((rc = hole(&c, &pos, (uint64_t)off)) < 0 ||
		    (rc = feed(&c, buf, len)) < 0)
			goto out;
		pos += len;
	}
	/*
	 * A sparse file may end in a hole; any other file ends with its
	 * data.  libarchive takes the "realsize" field of a GNU header as
	 * the size of any member, where GNU tar, Python and Go read it for
	 * sparse members only: zeros made up to fill it would be a content
	 * no extractor writes.
	 */
	if (g && !g->sparse && pos < size) {
		rc = hm_error_set(err, HM_ERR_INPUT, 0,
				  "its header says %llu bytes but its data holds %llu and it is not sparse (a GNU realsize that GNU tar ignores)",
				  (unsigned long long)size, (unsigned long long)pos);
		goto out;
	}
	if ((rc = hole(&c, &pos, size)) < 0)
		goto out;
	if (hm_hash_final(c.h, e->sha256) < 0) {
		rc = hm_error_nomem(err);
		goto out;
	}
	e->size = size;
	e->flags |= HM_ENTRY_HAS_DIGEST;
	if (sink && sink->end && (rc = sink->end(sink->ctx, e, err)) < 0) {
		*c.failure = HM_TAR_FAIL_SINK;
		goto out;
	}
	rc = 0;
out:
	if (c.h != hash)
		hm_hash_free(c.h);
	return rc;
}

/*
 * bsdtar (and libarchive's pax writer) records each xattr twice, as
 * LIBARCHIVE.xattr.* and SCHILY.xattr.*, and the reader returns both: an
 * exact repeat is dropped (and counts once towards the limits), the same
 * name with another value is an error.
 */
static int read_xattrs(struct archive_entry *ae, struct hm_entry *e,
		       struct hm_error *err)
{
	const char *name;
	const void *value;
	size_t size, total = 0;

	if (archive_entry_xattr_reset(ae) <= 0)
		return 0;
	while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
		size_t nlen = name ? strlen(name) : 0;
		const struct hm_xattr *old;

		if (nlen == 0 || nlen > HM_LIMIT_XATTR_NAME_BYTES)
			return hm_error_set(err, nlen ? HM_ERR_LIMIT : HM_ERR_INPUT, 0,
					    "xattr name of %zu bytes (1 to %u allowed)",
					    nlen, HM_LIMIT_XATTR_NAME_BYTES);
		if ((old = hm_entry_find_xattr(e, name))) {
			if (old->len == size && (!size || memcmp(old->value, value, size) == 0))
				continue;
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "xattr '%s' recorded twice with different values",
					    name);
		}
		if (e->n_xattrs >= HM_LIMIT_XATTRS)
			return hm_error_set(err, HM_ERR_LIMIT, 0,
					    "more than %u xattrs (HM_LIMIT_XATTRS)",
					    HM_LIMIT_XATTRS);
		total += size;
		if (size > HM_LIMIT_XATTR_VALUE_BYTES || total > HM_LIMIT_XATTR_TOTAL_BYTES)
			return hm_error_set(err, HM_ERR_LIMIT, 0,
					    "xattr values exceed the limits (HM_LIMIT_XATTR_VALUE_BYTES, HM_LIMIT_XATTR_TOTAL_BYTES)");
		if (hm_entry_add_xattr(e, name, value, size) < 0)
			return hm_error_nomem(err);
	}
	if (hm_entry_sort_xattrs(e) < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0, "duplicate xattr");
	return 0;
}

int hm_tar_member_meta(struct archive_entry *ae, struct hm_entry *e,
		       struct hm_error *err)
{
	int64_t id;
	int rc;

	/* libarchive's AE_IF* are the S_IF* values. */
	e->type = hm_type_from_st_mode(archive_entry_filetype(ae));
	if (e->type == HM_TYPE_NONE)
		return hm_error_set(err, HM_ERR_INPUT, 0, "unsupported file type");
	e->mode = (uint32_t)(archive_entry_mode(ae) & 07777);
	id = archive_entry_uid(ae);
	if (id < 0 || id > UINT32_MAX)
		return hm_error_set(err, HM_ERR_INPUT, 0, "uid %lld out of range", (long long)id);
	e->uid = (uint32_t)id;
	id = archive_entry_gid(ae);
	if (id < 0 || id > UINT32_MAX)
		return hm_error_set(err, HM_ERR_INPUT, 0, "gid %lld out of range", (long long)id);
	e->gid = (uint32_t)id;
	if ((rc = read_xattrs(ae, e, err)) < 0)
		return rc;
	switch (e->type) {
	case HM_TYPE_SYMLINK: {
		const char *t = archive_entry_symlink(ae);
		size_t tlen = t ? strlen(t) : 0;

		if (tlen == 0 || tlen > HM_LIMIT_TARGET_BYTES)
			return hm_error_set(err, tlen ? HM_ERR_LIMIT : HM_ERR_INPUT, 0,
					    "symlink target of %zu bytes (1 to %u allowed, HM_LIMIT_TARGET_BYTES)",
					    tlen, HM_LIMIT_TARGET_BYTES);
		if (hm_entry_set_target(e, t, tlen) < 0)
			return hm_error_nomem(err);
		break;
	}
	case HM_TYPE_CHAR:
	case HM_TYPE_BLOCK:
		if (archive_entry_rdevmajor(ae) > UINT32_MAX ||
		    archive_entry_rdevminor(ae) > UINT32_MAX)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "device number out of range");
		e->rdev_major = (uint32_t)archive_entry_rdevmajor(ae);
		e->rdev_minor = (uint32_t)archive_entry_rdevminor(ae);
		break;
	default:
		break;
	}
	return 0;
}

int hm_tar_member_check_link(struct archive_entry *ae, struct hm_error *err)
{
	/*
	 * A hard link that carries data (pax allows it) is refused:
	 * libarchive's extractor writes that data into the shared inode, so
	 * "x -> /etc/shadow" plus bytes rewrites /etc/shadow, while GNU tar
	 * skips the bytes.  Keeping the target's old digest would pass a tree
	 * that extracts differently.  libarchive already zeroes the size of
	 * ustar/GNU links, whose size field is traditionally noise.
	 */
	if (archive_entry_size_is_set(ae) && archive_entry_size(ae) != 0)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "hard link with %lld bytes of data (extractors disagree on what it writes)",
				    (long long)archive_entry_size(ae));
	return 0;
}

/* ---- the tar source ------------------------------------------------------ */

/* The canonical path of a member name (or hard link target) into out. */
static int member_path(struct tar_reader *r, const char *name,
		       struct hm_buf *out, const char *what, struct hm_error *err)
{
	int rc = hm_tree_normalize(name, strlen(name), out);

	if (rc == HM_ERR_NOMEM)
		return hm_error_nomem(err);
	if (rc < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "'%s': %s '%s': path escapes the root", r->name,
				    what, quote(r, name, strlen(name)));
	if (out->len > HM_LIMIT_PATH_BYTES)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "'%s': %s '%s...' is longer than %u bytes (HM_LIMIT_PATH_BYTES)",
				    r->name, what, quote(r, name, 64), HM_LIMIT_PATH_BYTES);
	return 0;
}

/* A hard link: a copy of the regular file it names, under its own path. */
static int hard_link(struct tar_reader *r, const char *target,
		     struct hm_entry *e, struct hm_error *err)
{
	const struct hm_entry *t;
	char *path;
	size_t len;
	int rc;

	if ((rc = member_path(r, target, &r->link, "hard link target", err)) < 0)
		return rc;
	t = hm_tree_get(r->tree, r->link.data, r->link.len);
	if (!t && filtered(r, r->link.data, r->link.len)) {
		/* Its target was left out on purpose: so is its content. */
		e->type = HM_TYPE_FILE;
		e->flags |= HM_ENTRY_UNREADABLE;
		return hm_entry_set_note(e, "hard link to an entry that was not read") < 0
			? hm_error_nomem(err) : 0;
	}
	if (!t || t->type != HM_TYPE_FILE || (t->flags & HM_ENTRY_IMPLICIT)) {
		struct hm_buf q = HM_BUF_INIT;

		if (hm_escape(&q, r->link.data, r->link.len, 0) < 0 ||
		    hm_buf_grow(&q, 0) < 0) {
			hm_buf_free(&q);
			return hm_error_nomem(err);
		}
		rc = hm_error_set(err, HM_ERR_INPUT, 0,
				  "'%s': tar member '%s': hard link to '%s', which is not a regular file earlier in the stream",
				  r->name, quote(r, e->path, e->path_len), q.data);
		hm_buf_free(&q);
		return rc;
	}
	path = e->path;
	len = e->path_len;
	e->path = NULL;
	if (hm_entry_copy(e, t) < 0) {
		free(path);
		return hm_error_nomem(err);
	}
	free(e->path);
	e->path = path;
	e->path_len = len;
	return 0;
}

/* One member: its entry goes into the tree, its data is hashed or skipped. */
static int read_member(struct tar_reader *r, struct archive_entry *ae,
		       struct hm_error *err)
{
	const char *name = archive_entry_pathname(ae);
	const char *link = archive_entry_hardlink(ae);
	struct hm_entry *e = NULL;
	enum hm_tar_failure failure;
	int rc;

	if (!name)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "cannot read '%s': a tar member without a name", r->name);
	if ((rc = member_path(r, name, &r->path, "tar member", err)) < 0)
		return rc;
	if (filtered(r, r->path.data, r->path.len)) {
		if (archive_read_data_skip(r->a) != ARCHIVE_OK)
			return read_error(r, r->path.data, r->path.len, err);
		return 0;
	}
	if (!(e = hm_entry_new()) ||
	    hm_entry_set_path(e, r->path.data, r->path.len) < 0) {
		rc = hm_error_nomem(err);
		goto out;
	}
	if (link) {
		if ((rc = hm_tar_member_check_link(ae, err)) < 0)
			goto named;
		if ((rc = hard_link(r, link, e, err)) < 0)
			goto out;
		if (archive_read_data_skip(r->a) != ARCHIVE_OK) {
			rc = read_error(r, e->path, e->path_len, err);
			goto out;
		}
		goto put;
	}
	if ((rc = hm_tar_member_meta(ae, e, err)) < 0)
		goto named;
	if (e->type == HM_TYPE_FILE) {
		int64_t declared = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;

		if (declared < 0 || (uint64_t)declared > HM_LIMIT_TAR_MEMBER_BYTES) {
			rc = hm_error_set(err, HM_ERR_LIMIT, 0,
					  "cannot read '%s': tar member '%s' is larger than %llu bytes (HM_LIMIT_TAR_MEMBER_BYTES)",
					  r->name, quote(r, e->path, e->path_len),
					  (unsigned long long)HM_LIMIT_TAR_MEMBER_BYTES);
			goto out;
		}
		/* All members together, before any of this one is read. */
		r->logical += (uint64_t)declared;
		if (r->logical > HM_LIMIT_TAR_STREAM_BYTES) {
			rc = hm_error_set(err, HM_ERR_LIMIT, 0,
					  "cannot read '%s': at tar member '%s', the members add up to more than %llu bytes (HM_LIMIT_TAR_STREAM_BYTES)",
					  r->name, quote(r, e->path, e->path_len),
					  (unsigned long long)HM_LIMIT_TAR_STREAM_BYTES);
			goto out;
		}
		rc = hm_tar_member_content(r->a, r->guard, e, (uint64_t)declared,
					   r->hash, r->sink, &failure, err);
		if (rc < 0 && failure == HM_TAR_FAIL_ARCHIVE)
			rc = read_error(r, e->path, e->path_len, err);
		if (rc < 0 && failure == HM_TAR_FAIL_MEMBER)
			goto named;
		if (rc < 0)
			goto out;
	} else if (archive_read_data_skip(r->a) != ARCHIVE_OK) {
		/* Anything but a file's data is skipped (a no-op for most
		 * types). */
		rc = read_error(r, e->path, e->path_len, err);
		goto out;
	}
put:
	rc = hm_tree_put_take(r->tree, e, false, err);
	e = NULL;
	if (rc < 0) {
		if (strncmp(err->msg, "duplicate entry", 15) == 0) {
			char msg[HM_ERROR_MSG_MAX];

			memcpy(msg, err->msg, sizeof(msg));
			hm_error_set(err, rc, 0, "%s in '%s'", msg, r->name);
		} else {
			hm_error_prefix(err, "'%s'", r->name);
		}
	}
	goto out;
named:
	/* An error of the per-member reader: name the file and the member. */
	if (rc != HM_ERR_NOMEM)
		hm_error_prefix(err, "'%s': tar member '%s'", r->name,
				quote(r, e->path, e->path_len));
out:
	hm_entry_free(e);
	return rc;
}

/* The uncompressed stream, from raw to the tar reader, past the guard. */
static la_ssize_t tee_read(struct archive *a, void *ctx, const void **buf)
{
	struct tar_reader *r = ctx;
	struct hm_error gerr = { 0 };
	size_t len;
	la_int64_t off;
	int ar;

	(void)a;
	ar = archive_read_data_block(r->raw, buf, &len, &off);
	if (ar == ARCHIVE_EOF)
		return 0;
	if (ar != ARCHIVE_OK) {
		r->raw_failed = true;
		return -1;
	}
	if (hm_tar_guard_feed(r->guard, *buf, len, &gerr) < 0) {
		archive_set_error(r->a, ENOMEM, "out of memory");
		return -1;
	}
	return (la_ssize_t)len;
}

static int read_stream(struct tar_reader *r, struct hm_error *err)
{
	struct archive_entry *ae = NULL;
	struct hm_buf last = HM_BUF_INIT;
	enum hm_tar_failure failure;
	int ar, rc = 0;

	for (;;) {
		ar = hm_tar_next_header(r->a, r->guard, &ae, &failure, err);
		if (ar == 0)
			break;
		if (ar < 0 && failure == HM_TAR_FAIL_MEMBER) {
			const char *name = ae ? archive_entry_pathname(ae) : NULL;

			if (ar != HM_ERR_NOMEM && name)
				hm_error_prefix(err, "cannot read '%s': tar member '%s'",
						r->name, quote(r, name, strlen(name)));
			else if (ar != HM_ERR_NOMEM)
				hm_error_prefix(err, "cannot read '%s'", r->name);
			rc = ar;
			break;
		}
		if (ar < 0) {
			const char *msg = archive_error_string(failed_reader(r));

			if (last.len)
				rc = hm_error_set(err, HM_ERR_INPUT, 0,
						  "cannot read '%s' after tar member '%s': %s",
						  r->name, quote(r, last.data, last.len),
						  msg ? msg : "truncated or corrupt stream");
			else
				rc = read_error(r, NULL, 0, err);
			break;
		}
		if ((rc = read_member(r, ae, err)) < 0)
			break;
		hm_buf_reset(&last);
		if (hm_buf_add(&last, r->path.data, r->path.len) < 0) {
			rc = hm_error_nomem(err);
			break;
		}
	}
	hm_buf_free(&last);
	return rc;
}

static int tar_source_next(struct hm_source *src, const struct hm_entry **ret,
			   struct hm_error *err)
{
	struct tar_source *s = (struct tar_source *)src;
	const struct hm_entry *e;
	int r;

	/* Made-up parents of entries the filter skipped stay out too. */
	while ((r = hm_source_next(s->inner, &e, err)) > 0) {
		if ((e->flags & HM_ENTRY_IMPLICIT) && s->filter.skip_entry &&
		    s->filter.skip_entry(s->filter.ctx, e->path, e->path_len))
			continue;
		*ret = e;
		return 1;
	}
	return r;
}

static void tar_source_free(struct hm_source *src)
{
	struct tar_source *s = (struct tar_source *)src;

	hm_source_free(s->inner);
	free(s);
}

static const struct hm_source_ops tar_source_ops = {
	.kind = "tar",
	.next = tar_source_next,
	.free = tar_source_free,
};

int hm_tar_read_tree(const char *path, const struct hm_scan_options *opt,
		     struct hm_tree **ret, struct hm_error *err)
{
	struct tar_reader r = { .fd = -1 };
	struct archive_entry *rae;
	bool is_stdin = strcmp(path, "-") == 0;
	struct stat st;
	int rc;

	r.name = path;
	if (opt) {
		r.filter = opt->filter;
		r.sink = opt->sink;
	}
	if (is_stdin) {
		r.fd = STDIN_FILENO;
	} else {
		r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (r.fd < 0) {
			rc = hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
			goto out;
		}
		if (fstat(r.fd, &st) < 0) {
			rc = hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'", path);
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = hm_error_set(err, HM_ERR_USAGE, 0,
					  "'%s' is a directory: use dir: for directories", path);
			goto out;
		}
	}
	if ((rc = hm_tree_new(&r.tree, err)) < 0)
		goto out;
	r.hash = hm_hash_new(HM_HASH_SHA256);
	r.a = archive_read_new();
	r.raw = archive_read_new();
	if (!r.hash || !r.a || !r.raw) {
		rc = hm_error_nomem(err);
		goto out;
	}
	if ((rc = hm_tar_guard_new(r.a, &r.guard, err)) < 0)
		goto out;
	/*
	 * Read-only: no archive_write_disk, no extraction, ever.  Two
	 * readers: raw decompresses the file, the tar reader reads the
	 * result through tee_read(), where the guard sees the header blocks
	 * libarchive does not report on (pax global headers, the mode a
	 * POSIX ACL overrides).
	 */
	if ((rc = hm_tar_support_filters(r.raw, err)) < 0)
		goto out;
	if (archive_read_support_format_raw(r.raw) != ARCHIVE_OK ||
	    archive_read_support_format_tar(r.a) != ARCHIVE_OK) {
		rc = hm_error_set(err, HM_ERR_IO, 0, "cannot set up the tar reader: %s",
				  archive_error_string(r.a));
		goto out;
	}
	if (archive_read_open_fd(r.raw, r.fd, READ_BLOCK) != ARCHIVE_OK ||
	    archive_read_next_header(r.raw, &rae) != ARCHIVE_OK) {
		r.raw_failed = true;
		rc = read_error(&r, NULL, 0, err);
		goto out;
	}
	if (archive_read_open(r.a, &r, NULL, tee_read, NULL) != ARCHIVE_OK) {
		rc = read_error(&r, NULL, 0, err);
		goto out;
	}
	if ((rc = read_stream(&r, err)) < 0)
		goto out;
	*ret = r.tree;
	r.tree = NULL;
	rc = 0;
out:
	if (r.a)
		archive_read_free(r.a);
	if (r.raw)
		archive_read_free(r.raw);
	hm_tar_guard_free(r.guard);
	if (r.fd >= 0 && !is_stdin)
		close(r.fd);
	hm_tree_free(r.tree);
	hm_hash_free(r.hash);
	hm_buf_free(&r.path);
	hm_buf_free(&r.link);
	hm_buf_free(&r.quoted);
	hm_buf_free(&r.skip_dir);
	return rc;
}

int hm_source_tar_open(const char *path, const struct hm_scan_options *opt,
		       struct hm_source **ret, struct hm_error *err)
{
	struct tar_source *s = calloc(1, sizeof(*s));
	struct hm_tree *t = NULL;
	int rc;

	if (!s)
		return hm_error_nomem(err);
	if ((rc = hm_tar_read_tree(path, opt, &t, err)) < 0)
		goto fail;
	if ((rc = hm_tree_source(t, true, &s->inner, err)) < 0)
		goto fail;
	s->base.ops = &tar_source_ops;
	if (opt)
		s->filter = opt->filter;
	*ret = &s->base;
	return 0;
fail:
	hm_tree_free(t);
	free(s);
	return rc;
}
