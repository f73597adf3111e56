/*
 * The tar source: a tar stream (plain or compressed with anything
 * libarchive's filters read: gzip, zstd, xz, bzip2, ...) read in one pass
 * into an in-memory tree, then yielded in canonical order.
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
 * on one member's logical size, so a header claiming petabytes of holes
 * fails at once.  Extended attributes come from pax SCHILY.xattr.* (GNU tar
 * --xattrs) and LIBARCHIVE.xattr.* (bsdtar) records.  ACLs are not read.
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

#define READ_BLOCK (64u * 1024)
/* Longest excerpt of a member name quoted in a message. */
#define QUOTE_MAX 256

static const unsigned char zeros[64 * 1024];

struct tar_reader {
	struct archive *a;
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

/*
 * The hallmark code for libarchive's last error: a system call that failed
 * is I/O, anything libarchive says about the stream itself is input.
 */
static int archive_code(struct tar_reader *r, int *ret_errno)
{
	int e = archive_errno(r->a);

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
	const char *msg = archive_error_string(r->a);
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

/* ---- the per-member reader shared with lib/source_oci.c ---------------- */

struct content {
	struct hm_hash *h;
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

	while (*pos < end) {
		size_t n = end - *pos < sizeof(zeros) ? (size_t)(end - *pos)
						      : sizeof(zeros);

		if ((rc = feed(c, zeros, n)) < 0)
			return rc;
		*pos += n;
	}
	return 0;
}

int hm_tar_member_content(struct archive *a, struct hm_entry *e, uint64_t size,
			  struct hm_hash *hash, const struct hm_content_sink *sink,
			  enum hm_tar_failure *ret_failure, struct hm_error *err)
{
	enum hm_tar_failure dummy;
	struct content c = { hash, sink, err, ret_failure ? ret_failure : &dummy };
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
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
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
	/* A sparse file may end in a hole. */
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
		rc = hm_tar_member_content(r->a, e, (uint64_t)declared, r->hash,
					   r->sink, &failure, err);
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

static int read_stream(struct tar_reader *r, struct hm_error *err)
{
	struct archive_entry *ae;
	struct hm_buf last = HM_BUF_INIT;
	int ar, rc = 0;

	for (;;) {
		ar = archive_read_next_header(r->a, &ae);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			const char *msg = archive_error_string(r->a);

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
	if (!r.hash || !r.a) {
		rc = hm_error_nomem(err);
		goto out;
	}
	/* Read-only: no archive_write_disk, no extraction, ever. */
	if (archive_read_support_filter_all(r.a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(r.a) != ARCHIVE_OK) {
		rc = hm_error_set(err, HM_ERR_IO, 0, "cannot set up the tar reader: %s",
				  archive_error_string(r.a));
		goto out;
	}
	if (archive_read_open_fd(r.a, r.fd, READ_BLOCK) != ARCHIVE_OK) {
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
