/*
 * The rootfs tarball: the final tree as one deterministic tar stream,
 * written with libarchive in restricted pax format (plain ustar headers,
 * a pax header only where ustar cannot say it: long or non-ASCII names,
 * big ids, xattrs as SCHILY.xattr.NAME).
 *
 * Determinism: entries in canonical order (the tree's walk), the root as
 * "./" and everything else as a relative name ("etc/passwd", dirs with a
 * trailing slash), numeric owners only (no user or group names), one
 * timestamp (mtime; atime and ctime are never set, so no pax header
 * carries them), no hard links, and the C locale for the duration of the
 * write, because libarchive converts non-ASCII names to UTF-8 through the
 * calling thread's locale and would otherwise write different bytes
 * depending on LANG.  Under the C locale a non-ASCII name is stored as
 * raw bytes with hdrcharset=BINARY, which is what the file system holds.
 *
 * File contents come from the blob store by digest and are hashed again
 * as they are copied: a blob that does not match the digest the tree (and
 * so the signed manifest) names fails the build rather than ship.
 * Sockets cannot be stored in a tar archive and are refused.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emit.h"
#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/manifest.h"

#define TAR_COPY_CHUNK (256u * 1024)
#define TAR_QUOTE_MAX 512u

struct tar_emitter {
	struct archive *a;
	struct archive_entry *ae;
	struct hm_blobstore *store;
	time_t mtime;
	const char *out_path;        /* for messages */
	int fd;                      /* the output */
	struct hm_hash *out_hash;    /* of every byte written */
	struct hm_buf name;
	struct hm_buf quoted;
	unsigned char *chunk;
	struct hm_error *err;
	bool write_failed;           /* err already says why */
	bool discard;                /* failed: let libarchive's close write nothing */
};

/* The escaped path for a message (the manifest's escaping), cut short. */
static const char *tar_quote(struct tar_emitter *t, const struct hm_entry *e)
{
	size_t len = e->path_len > TAR_QUOTE_MAX ? TAR_QUOTE_MAX : e->path_len;

	hm_buf_reset(&t->quoted);
	if (hm_escape(&t->quoted, e->path, len, 0) < 0 || !t->quoted.data)
		return "?";
	return t->quoted.data;
}

/* libarchive's write callback: to the output fd, hashing as it goes. */
static la_ssize_t tar_write_cb(struct archive *a, void *ctx, const void *buf,
			       size_t len)
{
	struct tar_emitter *t = ctx;
	int r;

	if (t->discard)
		return (la_ssize_t)len;
	r = hm_write_all(t->fd, buf, len);
	if (r < 0) {
		hm_error_set(t->err, HM_ERR_IO, -r, "cannot write '%s'",
			     t->out_path);
		t->write_failed = true;
		archive_set_error(a, -r, "write failed");
		return -1;
	}
	if (hm_hash_update(t->out_hash, buf, len) < 0) {
		hm_error_set(t->err, HM_ERR_NOMEM, 0, "cannot hash '%s'",
			     t->out_path);
		t->write_failed = true;
		archive_set_error(a, ENOMEM, "hash failed");
		return -1;
	}
	return (la_ssize_t)len;
}

/* An error from libarchive, unless the write callback already said. */
static int tar_archive_error(struct tar_emitter *t, const char *what)
{
	const char *s;

	if (t->write_failed)
		return t->err->code;
	s = archive_error_string(t->a);
	return hm_error_set(t->err, HM_ERR_IO, 0, "cannot write '%s': %s: %s",
			    t->out_path, what, s ? s : "unknown error");
}

static int tar_entry_name(struct tar_emitter *t, const struct hm_entry *e)
{
	hm_buf_reset(&t->name);
	if (e->path_len == 1 && e->path[0] == '/')
		return hm_buf_adds(&t->name, "./");
	if (hm_buf_add(&t->name, e->path + 1, e->path_len - 1) < 0)
		return HM_ERR_NOMEM;
	if (e->type == HM_TYPE_DIR && hm_buf_addc(&t->name, '/') < 0)
		return HM_ERR_NOMEM;
	return 0;
}

/* Fill t->ae from e.  Returns 0 or an error in t->err. */
static int tar_fill_entry(struct tar_emitter *t, const struct hm_entry *e)
{
	struct archive_entry *ae = t->ae;
	unsigned ftype;
	size_t i;

	switch (e->type) {
	case HM_TYPE_FILE:  ftype = AE_IFREG; break;
	case HM_TYPE_DIR:   ftype = AE_IFDIR; break;
	case HM_TYPE_SYMLINK: ftype = AE_IFLNK; break;
	case HM_TYPE_CHAR:  ftype = AE_IFCHR; break;
	case HM_TYPE_BLOCK: ftype = AE_IFBLK; break;
	case HM_TYPE_FIFO:  ftype = AE_IFIFO; break;
	case HM_TYPE_SOCKET:
		return hm_error_set(t->err, HM_ERR_INPUT, 0,
				    "'%s': a socket cannot be stored in a tar archive",
				    tar_quote(t, e));
	default:
		return hm_error_set(t->err, HM_ERR_INPUT, 0,
				    "'%s': entry of unknown type", tar_quote(t, e));
	}
	if (e->type == HM_TYPE_FILE && e->size > 0 &&
	    !(e->flags & HM_ENTRY_HAS_DIGEST))
		return hm_error_set(t->err, HM_ERR_INPUT, 0,
				    "'%s': file without content", tar_quote(t, e));
	if (e->type == HM_TYPE_SYMLINK && !e->target)
		return hm_error_set(t->err, HM_ERR_INPUT, 0,
				    "'%s': symlink without target", tar_quote(t, e));
	if (e->size > INT64_MAX)
		return hm_error_set(t->err, HM_ERR_INPUT, 0,
				    "'%s': size out of range", tar_quote(t, e));
	if (tar_entry_name(t, e) < 0)
		return hm_error_nomem(t->err);

	archive_entry_clear(ae);
	archive_entry_copy_pathname(ae, t->name.data);
	archive_entry_set_filetype(ae, ftype);
	archive_entry_set_perm(ae, e->mode & 07777);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, t->mtime, 0);
	archive_entry_set_size(ae, e->type == HM_TYPE_FILE ? (la_int64_t)e->size : 0);
	if (e->type == HM_TYPE_SYMLINK)
		archive_entry_copy_symlink(ae, e->target);
	if (e->type == HM_TYPE_CHAR || e->type == HM_TYPE_BLOCK) {
		archive_entry_set_rdevmajor(ae, e->rdev_major);
		archive_entry_set_rdevminor(ae, e->rdev_minor);
	}
	/* libarchive prepends each xattr to its list: add them backwards
	 * so that the pax header lists them sorted by name. */
	for (i = e->n_xattrs; i-- > 0;)
		archive_entry_xattr_add_entry(ae, e->xattrs[i].name,
					      e->xattrs[i].value,
					      e->xattrs[i].len);
	return 0;
}

/* Copy a file's blob into the archive, checking its size and digest. */
static int tar_copy_blob(struct tar_emitter *t, const struct hm_entry *e)
{
	unsigned char got[HM_SHA256_LEN];
	struct hm_hash *h = NULL;
	uint64_t left = e->size;
	int fd = -1, r;

	if (e->size == 0)
		return 0;
	r = hm_blob_open(t->store, e->sha256, &fd, t->err);
	if (r < 0) {
		hm_error_prefix(t->err, "'%s'", tar_quote(t, e));
		return r;
	}
	h = hm_hash_new(HM_HASH_SHA256);
	if (!h) {
		r = hm_error_nomem(t->err);
		goto out;
	}
	while (left > 0) {
		size_t want = left < TAR_COPY_CHUNK ? (size_t)left : TAR_COPY_CHUNK;
		ssize_t n = read(fd, t->chunk, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = hm_error_set(t->err, HM_ERR_IO, errno,
					 "cannot read the content of '%s'",
					 tar_quote(t, e));
			goto out;
		}
		if (n == 0)
			break;
		if (hm_hash_update(h, t->chunk, (size_t)n) < 0) {
			r = hm_error_nomem(t->err);
			goto out;
		}
		if (archive_write_data(t->a, t->chunk, (size_t)n) != n) {
			r = tar_archive_error(t, "data");
			goto out;
		}
		left -= (uint64_t)n;
	}
	if (left > 0 || read(fd, t->chunk, 1) != 0) {
		r = hm_error_set(t->err, HM_ERR_INPUT, 0,
				 "'%s': stored content is not %llu bytes long",
				 tar_quote(t, e), (unsigned long long)e->size);
		goto out;
	}
	if (hm_hash_final(h, got) < 0) {
		r = hm_error_nomem(t->err);
		goto out;
	}
	if (memcmp(got, e->sha256, sizeof(got)) != 0) {
		r = hm_error_set(t->err, HM_ERR_INPUT, 0,
				 "'%s': stored content does not match its sha256",
				 tar_quote(t, e));
		goto out;
	}
	r = 0;
out:
	hm_hash_free(h);
	close(fd);
	return r;
}

static int tar_walk_cb(void *ctx, const struct hm_entry *e)
{
	struct tar_emitter *t = ctx;
	int r;

	if (e->flags & HM_ENTRY_DELETED)
		return 0;
	r = tar_fill_entry(t, e);
	if (r < 0)
		return r;
	/* ARCHIVE_WARN: a non-ASCII name written as raw bytes, which is
	 * what we want. */
	if (archive_write_header(t->a, t->ae) < ARCHIVE_WARN)
		return tar_archive_error(t, t->name.data);
	if (e->type == HM_TYPE_FILE) {
		r = tar_copy_blob(t, e);
		if (r < 0)
			return r;
	}
	if (archive_write_finish_entry(t->a) < ARCHIVE_WARN)
		return tar_archive_error(t, t->name.data);
	return 0;
}

int hm_emit_tar(const struct hm_tree *tree, struct hm_blobstore *store,
		time_t mtime, const char *path, unsigned char ret_sha256[32],
		struct hm_error *err)
{
	struct tar_emitter t = { .store = store, .mtime = mtime,
				 .out_path = path, .fd = -1, .err = err };
	struct hm_atomic *out = NULL;
	unsigned char digest[HM_SHA256_LEN];
	locale_t c_locale = (locale_t)0, old_locale = (locale_t)0;
	struct hm_error scratch;
	int r;

	if (!err)
		t.err = err = &scratch;   /* t.err->code is read on errors */
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	t.out_hash = hm_hash_new(HM_HASH_SHA256);
	t.chunk = malloc(TAR_COPY_CHUNK);
	t.a = archive_write_new();
	t.ae = archive_entry_new();
	if (!c_locale || !t.out_hash || !t.chunk || !t.a || !t.ae) {
		r = hm_error_nomem(err);
		goto out;
	}
	old_locale = uselocale(c_locale);
	r = hm_atomic_open(path, 0644, true, &out, err);
	if (r < 0)
		goto out;
	t.fd = hm_atomic_fd(out);
	if (archive_write_set_format_pax_restricted(t.a) != ARCHIVE_OK ||
	    archive_write_set_format_option(t.a, "pax", "xattrheader",
					    "SCHILY") != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(t.a, 10240) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t.a, 10240) != ARCHIVE_OK ||
	    archive_write_open(t.a, &t, NULL, tar_write_cb, NULL) != ARCHIVE_OK) {
		r = tar_archive_error(&t, "setup");
		goto out;
	}
	r = hm_tree_walk(tree, tar_walk_cb, &t);
	if (r < 0)
		goto out;
	if (archive_write_close(t.a) != ARCHIVE_OK) {
		r = tar_archive_error(&t, "end of archive");
		goto out;
	}
	if (hm_hash_final(t.out_hash, digest) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	r = hm_atomic_commit(out, err);
	out = NULL;
	if (r < 0)
		goto out;
	memcpy(ret_sha256, digest, sizeof(digest));
out:
	t.discard = r < 0;
	if (t.a)
		archive_write_free(t.a);
	archive_entry_free(t.ae);
	hm_atomic_abort(out);
	if (old_locale)
		uselocale(old_locale);
	if (c_locale)
		freelocale(c_locale);
	hm_hash_free(t.out_hash);
	hm_buf_free(&t.name);
	hm_buf_free(&t.quoted);
	free(t.chunk);
	return r;
}
