/*
 * The builder's content-addressed blob store (builder/blobstore.h).
 *
 * A blob is streamed into a temporary file under DIR/tmp/ (the same file
 * system as its final place), hashed as it goes, and only once its digest
 * is known is it renamed to DIR/sha256/XX/HEX, mode 0444.  So a name in
 * the store is never created before its content is complete: a build
 * that fails or is killed leaves at most files in DIR/tmp/, which any
 * later run may delete while no build is running.
 *
 * There is no fsync per blob: a base of 20,000 files would cost 20,000
 * journal commits, and the store is a private cache, not an output.  The
 * price is that after a power loss (not a mere crash of the build) a blob
 * may hold less than its name says; hm_blob_read() checks the digest of
 * what it returns, and the outputs written from blobs are fsynced and
 * hashed again by their writers.  Deleting the store is always safe.
 *
 * Not thread-safe: one writer at a time per store is the builder's use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobstore.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"

struct hm_blobstore {
	char *dir;
	/* Fan-out folders DIR/sha256/XX known to exist, one bit each. */
	unsigned char have_fanout[256 / 8];
};

struct hm_blob_writer {
	struct hm_blobstore *store;
	struct hm_hash *hash;
	struct hm_atomic *file;       /* in DIR/tmp, named at commit */
	uint64_t size;
};

int hm_blobstore_open(const char *dir, struct hm_blobstore **ret,
		      struct hm_error *err)
{
	struct hm_blobstore *s = NULL;
	char *sub = NULL;
	int r;

	if (!dir || !*dir)
		return hm_error_set(err, HM_ERR_USAGE, 0, "no blob store folder");
	r = hm_mkdir_p(dir, err);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (asprintf(&sub, "%s/sha256", dir) < 0) {
		sub = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	if ((r = hm_mkdir_p(sub, err)) < 0)
		goto out;
	free(sub);
	if (asprintf(&sub, "%s/tmp", dir) < 0) {
		sub = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	if ((r = hm_mkdir_p(sub, err)) < 0)
		goto out;
	*ret = s;
	s = NULL;
out:
	free(sub);
	hm_blobstore_free(s);
	return r;
}

void hm_blobstore_free(struct hm_blobstore *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

/* DIR/sha256/XX/HEX into a new string; NULL on allocation failure. */
static char *blob_path(const struct hm_blobstore *s,
		       const unsigned char sha256[32])
{
	char hex[65], *p;

	hm_hex_encode(sha256, 32, hex);
	if (asprintf(&p, "%s/sha256/%.2s/%s", s->dir, hex, hex) < 0)
		return NULL;
	return p;
}

int hm_blob_begin(struct hm_blobstore *s, struct hm_blob_writer **ret,
		  struct hm_error *err)
{
	struct hm_blob_writer *w;
	char *tmpdir = NULL;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return hm_error_nomem(err);
	w->store = s;
	w->hash = hm_hash_new(HM_HASH_SHA256);
	if (!w->hash || asprintf(&tmpdir, "%s/tmp", s->dir) < 0) {
		tmpdir = NULL;
		r = hm_error_nomem(err);
		goto fail;
	}
	/* Read-only from the start: a blob is never changed once named. */
	if ((r = hm_atomic_open_in(tmpdir, "blob", 0444, &w->file, err)) < 0)
		goto fail;
	free(tmpdir);
	*ret = w;
	return 0;
fail:
	free(tmpdir);
	hm_blob_abort(w);
	return r;
}

int hm_blob_write(struct hm_blob_writer *w, const void *data, size_t len,
		  struct hm_error *err)
{
	int r;

	if (!len)
		return 0;
	if (hm_hash_update(w->hash, data, len) < 0)
		return hm_error_set(err, HM_ERR_NOMEM, 0, "cannot hash a blob");
	if ((r = hm_atomic_write(w->file, data, len, err)) < 0)
		return r;
	w->size += len;
	return 0;
}

/* Create DIR/sha256/XX unless this store made sure of it already. */
static int ensure_fanout(struct hm_blobstore *s, const unsigned char sha256[32],
			 struct hm_error *err)
{
	unsigned b = sha256[0];
	char *p;
	int r;

	if (s->have_fanout[b / 8] & (1u << (b % 8)))
		return 0;
	if (asprintf(&p, "%s/sha256/%02x", s->dir, b) < 0)
		return hm_error_nomem(err);
	r = hm_mkdir_p(p, err);
	free(p);
	if (r < 0)
		return r;
	s->have_fanout[b / 8] |= (unsigned char)(1u << (b % 8));
	return 0;
}

int hm_blob_commit(struct hm_blob_writer *w, unsigned char sha256[32],
		   uint64_t *ret_size, struct hm_error *err)
{
	unsigned char md[32];
	char *final = NULL;
	struct hm_atomic *file;
	int r = 0;

	if (hm_hash_final(w->hash, md) < 0) {
		r = hm_error_set(err, HM_ERR_NOMEM, 0, "cannot hash a blob");
		goto out;
	}
	final = blob_path(w->store, md);
	if (!final) {
		r = hm_error_nomem(err);
		goto out;
	}
	if ((r = ensure_fanout(w->store, md, err)) < 0)
		goto out;
	/* No fsync (see the top); a blob already there has this content. */
	file = w->file;
	w->file = NULL;
	if ((r = hm_atomic_commit_to(file, final, HM_ATOMIC_NO_SYNC | HM_ATOMIC_KEEP,
				     err)) < 0)
		goto out;
	memcpy(sha256, md, 32);
	if (ret_size)
		*ret_size = w->size;
out:
	free(final);
	hm_blob_abort(w);
	return r;
}

void hm_blob_abort(struct hm_blob_writer *w)
{
	if (!w)
		return;
	hm_atomic_abort(w->file);
	hm_hash_free(w->hash);
	free(w);
}

int hm_blob_put(struct hm_blobstore *s, const void *data, size_t len,
		unsigned char sha256[32], struct hm_error *err)
{
	struct hm_blob_writer *w;
	int r;

	r = hm_blob_begin(s, &w, err);
	if (r < 0)
		return r;
	r = hm_blob_write(w, data, len, err);
	if (r < 0) {
		hm_blob_abort(w);
		return r;
	}
	return hm_blob_commit(w, sha256, NULL, err);
}

int hm_blob_open(struct hm_blobstore *s, const unsigned char sha256[32],
		 int *ret_fd, struct hm_error *err)
{
	char *p = blob_path(s, sha256);
	int fd, r = 0;

	if (!p)
		return hm_error_nomem(err);
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		char hex[65];

		hm_hex_encode(sha256, 32, hex);
		if (errno == ENOENT)
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "blob sha256:%s is not in the store '%s'",
					 hex, s->dir);
		else
			r = hm_error_set(err, HM_ERR_IO, errno,
					 "cannot open '%s'", p);
		goto out;
	}
	*ret_fd = fd;
out:
	free(p);
	return r;
}

int hm_blob_read(struct hm_blobstore *s, const unsigned char sha256[32],
		 size_t max, char **ret, size_t *ret_len, struct hm_error *err)
{
	unsigned char md[32];
	char hex[65], *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd = -1, r;

	r = hm_blob_open(s, sha256, &fd, err);
	if (r < 0)
		return r;
	hm_hex_encode(sha256, 32, hex);
	if (fstat(fd, &st) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno,
				 "cannot read blob sha256:%s", hex);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = hm_error_set(err, HM_ERR_IO, 0,
				 "blob sha256:%s is not a regular file", hex);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = hm_error_set(err, HM_ERR_LIMIT, 0,
				 "blob sha256:%s is larger than %zu bytes", hex, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = hm_error_nomem(err);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = hm_error_set(err, HM_ERR_IO, errno,
					 "cannot read blob sha256:%s", hex);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	/* The store is not fsynced per blob (see the top of this file): a
	 * blob cut short by a power loss must not pass for the real one. */
	if (hm_hash_buf(HM_HASH_SHA256, buf, len, md) < 0) {
		r = hm_error_set(err, HM_ERR_NOMEM, 0, "cannot hash a blob");
		goto out;
	}
	if (memcmp(md, sha256, 32) != 0) {
		r = hm_error_set(err, HM_ERR_IO, 0,
				 "blob sha256:%s in '%s' is corrupt (delete the store and build again)",
				 hex, s->dir);
		goto out;
	}
	*ret = buf;
	buf = NULL;
	if (ret_len)
		*ret_len = len;
out:
	free(buf);
	close(fd);
	return r;
}
