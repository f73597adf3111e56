/*
 * One layer: its compressed blob (digest) and uncompressed tar stream
 * (diff_id) are hashed while the tar stream is read, through the tar
 * reader and header guard shared with tar: streams, into a scratch tree
 * and a list of whiteouts; only once both digests match is the layer
 * applied to the image, whiteouts first (layer.md: they apply to the
 * layers below only).  Every entry and tombstone names its layer.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/manifest.h"
#include "hallmark/pgzip.h"
#include "hallmark/source.h"
#include "hallmark/source_tar.h"
#include "hallmark/tree.h"

#include "oci_private.h"
#include "source_tar_private.h"

/* The compressed blob, from its region, hashed as it is handed out. */
static la_ssize_t blob_read(struct archive *a, void *ctx, const void **buf)
{
	struct layer *l = ctx;
	uint64_t left = l->reg.size - l->pos;
	size_t want = left < BLOCK ? (size_t)left : BLOCK;
	ssize_t n;

	(void)a;
	if (want == 0)
		return 0;
	n = hm_pread_full(l->reg.fd, l->inbuf, want, l->reg.off + l->pos);
	if (n < 0) {
		l->io_errno = errno;
		return -1;
	}
	if ((size_t)n < want) {
		l->truncated = true;
		if (n == 0)
			return -1;
	}
	if (l->blob_hash && hm_hash_update(l->blob_hash, l->inbuf, (size_t)n) < 0)
		return -1;
	l->pos += (uint64_t)n;
	*buf = l->inbuf;
	return n;
}

/* The next len bytes of the blob for the parallel inflater, hashed in
 * order like blob_read's. */
static ssize_t blob_take(void *ctx, void *buf, size_t len)
{
	struct layer *l = ctx;
	uint64_t left = l->reg.size - l->pos;
	ssize_t n;

	if (len > left)
		len = (size_t)left;
	if (len == 0)
		return 0;
	n = hm_pread_full(l->reg.fd, buf, len, l->reg.off + l->pos);
	if (n < 0) {
		l->io_errno = errno;
		return -1;
	}
	if ((size_t)n < len)
		l->truncated = true;
	if (l->blob_hash && hm_hash_update(l->blob_hash, buf, (size_t)n) < 0)
		return -1;
	l->pos += (uint64_t)n;
	return n;
}

/* The uncompressed tar stream, from the raw reader, hashed for diff_id. */
static la_ssize_t tar_read(struct archive *a, void *ctx, const void **buf)
{
	struct layer *l = ctx;
	const void *p;
	size_t len;
	la_int64_t off;
	int r;

	if (l->par_used) {
		const char *why;

		/* Finished (or stopped by the verify step below): the end. */
		if (!l->par)
			return l->raw_failed ? -1 : 0;
		r = hm_pgunzip_next(l->par, &p, &len, &why);
		if (r == 0)
			return 0;
		if (r < 0) {
			snprintf(l->par_why, sizeof(l->par_why), "%s", why);
			l->raw_failed = true;
			return -1;
		}
	} else {
		r = archive_read_data_block(l->raw, &p, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN) {
			l->raw_failed = true;
			return -1;
		}
	}
	l->tar_bytes += len;
	if (l->tar_bytes > HM_LIMIT_OCI_LAYER_BYTES) {
		l->limit_hit = true;
		return -1;
	}
	if (l->diff_hash && hm_hash_update(l->diff_hash, p, len) < 0)
		return -1;
	if (l->guard) {
		struct hm_error gerr = { 0 };

		if (hm_tar_guard_feed(l->guard, p, len, &gerr) < 0) {
			archive_set_error(a, ENOMEM, "out of memory");
			return -1;
		}
	}
	*buf = p;
	return (la_ssize_t)len;
}

static int layer_error(struct layer *l, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int layer_error(struct layer *l, int code, const char *fmt, ...)
{
	char msg[HM_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hm_error_set(l->o->err, code, 0, "'%s': %s: %s", l->o->spec,
			    l->origin, msg);
}

/* Prefix an error of a lower module with the layer and member. */
static int layer_wrap(struct layer *l, const char *member, size_t len, int r)
{
	struct hm_buf b = HM_BUF_INIT;

	if (r == HM_ERR_NOMEM)
		return r;
	if (member)
		hm_error_prefix(l->o->err, "'%s': %s: member '%s'", l->o->spec,
				l->origin, hm_oci_quote(&b, member, len));
	else
		hm_error_prefix(l->o->err, "'%s': %s", l->o->spec, l->origin);
	hm_buf_free(&b);
	return r;
}

static bool is_whiteout(const char *base, size_t len)
{
	return len >= 4 && memcmp(base, ".wh.", 4) == 0;
}

/* True if a component of dir (a canonical path prefix, "/a/b/") starts
 * with ".wh.". */
static bool has_whiteout_folder(const char *dir, size_t len)
{
	size_t i;

	for (i = 0; i + 4 < len; i++)
		if (dir[i] == '/' && memcmp(dir + i + 1, ".wh.", 4) == 0)
			return true;
	return false;
}

static int add_whiteout(struct layer *l, const char *path, size_t len,
			const char *member, size_t mlen)
{
	const char *slash = path + len;
	const char *base;
	size_t blen, plen;
	struct whiteout *w;
	struct hm_buf b = HM_BUF_INIT;
	int r = 0;

	while (slash > path && slash[-1] != '/')
		slash--;
	base = slash;
	blen = (size_t)(path + len - base);
	plen = (size_t)(base - path);          /* parent with its '/' */
	if (l->n_wh == l->cap_wh) {
		size_t cap = l->cap_wh ? 2 * l->cap_wh : 16;

		w = realloc(l->wh, cap * sizeof(*w));
		if (!w)
			return hm_error_nomem(l->o->err);
		l->wh = w;
		l->cap_wh = cap;
	}
	w = &l->wh[l->n_wh];
	memset(w, 0, sizeof(*w));
	if (blen == 12 && memcmp(base, ".wh..wh..opq", 12) == 0) {
		w->opaque = true;
		/* The directory itself ("/" for a whiteout at the top). */
		r = hm_buf_add(&b, path, plen > 1 ? plen - 1 : 1);
	} else if (blen > 8 && memcmp(base, ".wh..wh.", 8) == 0) {
		r = layer_error(l, HM_ERR_INPUT,
				"member '%s': reserved whiteout name (only .wh..wh..opq is defined)",
				hm_oci_quote(&b, member, mlen));
		hm_buf_free(&b);
		return r;
	} else if (blen == 4 || (blen == 5 && base[4] == '.') ||
		   (blen == 6 && base[4] == '.' && base[5] == '.')) {
		r = layer_error(l, HM_ERR_INPUT,
				"member '%s': whiteout of no valid name",
				hm_oci_quote(&b, member, mlen));
		hm_buf_free(&b);
		return r;
	} else {
		r = hm_buf_add(&b, path, plen);
		if (r >= 0)
			r = hm_buf_add(&b, base + 4, blen - 4);
		/*
		 * A whiteout of what this layer has already added (or of a
		 * folder it already wrote into) is refused: the image-spec
		 * keeps the layer's entry, but containerd and moby apply
		 * members in stream order and delete it, so the verdict
		 * would depend on who unpacks the image.  No image builder
		 * writes this.  A whiteout before the entry means the same
		 * everywhere (the lower one goes, the new one stays), and
		 * so do opaque whiteouts (this layer's entries stay).
		 */
		if (r >= 0 && hm_tree_get(l->scratch, b.data, b.len)) {
			struct hm_buf c = HM_BUF_INIT, d = HM_BUF_INIT;

			r = layer_error(l, HM_ERR_INPUT,
					"member '%s': whiteout of '%s', which the same layer added before it",
					hm_oci_quote(&c, member, mlen), hm_oci_quote(&d, b.data, b.len));
			hm_buf_free(&c);
			hm_buf_free(&d);
			hm_buf_free(&b);
			return r;
		}
	}
	if (r < 0 || !(w->member = malloc(len + 1))) {
		hm_buf_free(&b);
		return hm_error_nomem(l->o->err);
	}
	memcpy(w->member, path, len);
	w->member[len] = '\0';
	w->member_len = len;
	w->target = hm_buf_detach(&b, &w->target_len);
	if (!w->target) {
		free(w->member);
		return hm_error_nomem(l->o->err);
	}
	l->n_wh++;
	return 0;
}

static int set_origin(struct layer *l, struct hm_entry *e)
{
	e->origin = (int)l->idx;
	free(e->origin_name);
	e->origin_name = strdup(l->origin);
	return e->origin_name ? 0 : HM_ERR_NOMEM;
}

static bool skipped(const struct oci *o, const char *path, size_t len)
{
	const struct hm_source_filter *f = o->opt ? &o->opt->filter : NULL;

	return f && f->skip_entry && f->skip_entry(f->ctx, path, len);
}

/* The entry a hard link names: explicit in this layer, or below
 * (*below set). */
static const struct hm_entry *link_target(struct layer *l, const char *path,
					  size_t len, bool *below)
{
	const struct hm_entry *t = hm_tree_get(l->scratch, path, len);

	*below = false;
	if (t && !(t->flags & HM_ENTRY_IMPLICIT))
		return t;
	*below = true;
	return hm_tree_get(l->o->tree, path, len);
}

static int add_lower_link(struct layer *l, const char *member, size_t mlen,
			  const char *target, size_t tlen)
{
	struct lower_link *k;

	if (l->n_ll == l->cap_ll) {
		size_t cap = l->cap_ll ? 2 * l->cap_ll : 16;

		k = realloc(l->ll, cap * sizeof(*k));
		if (!k)
			return hm_error_nomem(l->o->err);
		l->ll = k;
		l->cap_ll = cap;
	}
	k = &l->ll[l->n_ll];
	k->member = strndup(member, mlen);
	k->target = strndup(target, tlen);
	if (!k->member || !k->target) {
		free(k->member);
		free(k->target);
		return hm_error_nomem(l->o->err);
	}
	k->member_len = mlen;
	k->target_len = tlen;
	l->n_ll++;
	return 0;
}

/*
 * One member of a layer into an entry.  The member's data is hashed here
 * (or left for libarchive to skip).
 */
static int read_member(struct layer *l, struct archive *ta,
		       struct archive_entry *ae, const char *path, size_t len,
		       const char *member, size_t mlen, struct hm_entry **ret)
{
	struct hm_entry *e = hm_entry_new();
	struct hm_buf b = HM_BUF_INIT, lp = HM_BUF_INIT;
	const char *hl = archive_entry_hardlink(ae);
	enum hm_tar_failure failure;
	int r;

	if (!e || hm_entry_set_path(e, path, len) < 0 || set_origin(l, e) < 0)
		goto nomem;
	if (hl) {
		const struct hm_entry *t;
		bool below = false;
		int nr;

		if ((r = hm_tar_member_check_link(ae, l->o->err)) < 0) {
			r = layer_wrap(l, member, mlen, r);
			goto out;
		}
		nr = hm_tree_normalize(hl, strlen(hl), &lp);
		if (nr == HM_ERR_NOMEM)
			goto nomem;
		t = nr < 0 ? NULL : link_target(l, lp.data, lp.len, &below);
		if (!t || t->type == HM_TYPE_DIR) {
			r = layer_error(l, HM_ERR_INPUT,
					"member '%s': hard link to '%s', which is not a file of this layer or below",
					hm_oci_quote(&b, member, mlen), hm_oci_quote(&lp, hl, strlen(hl)));
			goto out;
		}
		/* Whether this layer whites the target out is known only
		 * once the whole layer is read (apply()). */
		if (below && (r = add_lower_link(l, member, mlen, lp.data, lp.len)) < 0)
			goto out;
		if (hm_entry_copy(e, t) < 0 || hm_entry_set_path(e, path, len) < 0 ||
		    set_origin(l, e) < 0)
			goto nomem;
		e->flags &= ~(unsigned)(HM_ENTRY_IMPLICIT | HM_ENTRY_DELETED);
		r = 0;
		goto out;
	}
	/* The same reader as tar: streams: one member means the same. */
	if ((r = hm_tar_member_meta(ae, e, l->o->err)) < 0) {
		r = layer_wrap(l, member, mlen, r);
		goto out;
	}
	if (e->type == HM_TYPE_FILE) {
		la_int64_t size = archive_entry_size(ae);

		if (size < 0 || (uint64_t)size > HM_LIMIT_OCI_FILE_BYTES) {
			r = layer_error(l, HM_ERR_LIMIT,
					"member '%s': size %" PRId64 " exceeds the limit of %llu bytes (HM_LIMIT_OCI_FILE_BYTES)",
					hm_oci_quote(&b, member, mlen), (int64_t)size,
					(unsigned long long)HM_LIMIT_OCI_FILE_BYTES);
			goto out;
		}
		l->logical += (uint64_t)size;
		if (l->logical > HM_LIMIT_OCI_LAYER_BYTES) {
			r = layer_error(l, HM_ERR_LIMIT,
					"files larger than %llu bytes in all (HM_LIMIT_OCI_LAYER_BYTES)",
					(unsigned long long)HM_LIMIT_OCI_LAYER_BYTES);
			goto out;
		}
		e->size = (uint64_t)size;
		/* Skipped by the consumer's filter: left for libarchive. */
		if (!skipped(l->o, path, len)) {
			r = hm_tar_member_content(ta, l->guard, e, (uint64_t)size, NULL,
						  l->o->opt ? l->o->opt->sink : NULL,
						  &failure, l->o->err);
			/* libarchive's own failures are reported by the caller
			 * (err left unset); the sink's stand as they are. */
			if (r < 0 && failure == HM_TAR_FAIL_MEMBER)
				r = layer_wrap(l, member, mlen, r);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
	goto out;
nomem:
	r = hm_error_nomem(l->o->err);
out:
	hm_buf_free(&b);
	hm_buf_free(&lp);
	if (r < 0) {
		hm_entry_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

/*
 * Phase one: read the layer's tar stream into the scratch tree and the
 * whiteout list.  Errors of libarchive are left to the caller (returned as
 * HM_ERR_INPUT with err unset when *ta_failed).
 */
static int collect(struct layer *l, struct archive *ta, bool *ta_failed)
{
	struct hm_buf path = HM_BUF_INIT, b = HM_BUF_INIT;
	struct archive_entry *ae;
	enum hm_tar_failure failure;
	int r, ar;

	for (;;) {
		const char *name, *base;
		size_t nlen;
		struct hm_entry *e;

		/* The same header checks as tar: streams (warnings, pax
		 * global headers, ACL modes: include/hallmark/source_tar.h). */
		ar = hm_tar_next_header(ta, l->guard, &ae, &failure, l->o->err);
		if (ar == 0)
			break;
		if (ar < 0 && failure == HM_TAR_FAIL_MEMBER) {
			name = ae ? archive_entry_pathname(ae) : NULL;
			r = layer_wrap(l, name, name ? strlen(name) : 0, ar);
			goto out;
		}
		if (ar < 0) {
			*ta_failed = true;
			r = HM_ERR_INPUT;
			goto out;
		}
		if (++l->members > HM_LIMIT_OCI_LAYER_MEMBERS) {
			r = layer_error(l, HM_ERR_LIMIT, "more than %u members (HM_LIMIT_OCI_LAYER_MEMBERS)",
					HM_LIMIT_OCI_LAYER_MEMBERS);
			goto out;
		}
		name = archive_entry_pathname(ae);
		if (!name) {
			r = layer_error(l, HM_ERR_INPUT, "a member has no name");
			goto out;
		}
		nlen = strlen(name);
		if (nlen > HM_LIMIT_PATH_BYTES) {
			r = layer_error(l, HM_ERR_LIMIT, "a member name exceeds %u bytes (HM_LIMIT_PATH_BYTES)",
					HM_LIMIT_PATH_BYTES);
			goto out;
		}
		r = hm_tree_normalize(name, nlen, &path);
		if (r == HM_ERR_NOMEM)
			goto nomem;
		if (r < 0) {
			r = layer_error(l, HM_ERR_INPUT,
					"member '%s': unsafe name ('..' component or NUL byte)",
					hm_oci_quote(&b, name, nlen));
			goto out;
		}
		base = path.data + path.len;
		while (base > path.data && base[-1] != '/')
			base--;
		/*
		 * A member below a folder named like a whiteout
		 * ("etc/.wh..wh..opq/x", ".wh.etc/x") is refused: the folder
		 * itself, listed as a member, would be a whiteout, and no
		 * layer made from a file system can hold it (its name would
		 * be read as a whiteout again when the image is layered).
		 */
		if (has_whiteout_folder(path.data, (size_t)(base - path.data))) {
			r = layer_error(l, HM_ERR_INPUT,
					"member '%s': below a folder named like a whiteout (.wh.*)",
					hm_oci_quote(&b, name, nlen));
			goto out;
		}
		if (is_whiteout(base, (size_t)(path.data + path.len - base))) {
			if ((r = add_whiteout(l, path.data, path.len, name, nlen)) < 0)
				goto out;
			continue;
		}
		if ((r = read_member(l, ta, ae, path.data, path.len, name, nlen, &e)) < 0) {
			if (r == HM_ERR_INPUT && !l->o->err->code)
				*ta_failed = true;
			goto out;
		}
		if ((r = hm_tree_put_take(l->scratch, e, false, l->o->err)) < 0) {
			r = layer_wrap(l, name, nlen, r);
			goto out;
		}
	}
	r = 0;
	goto out;
nomem:
	r = hm_error_nomem(l->o->err);
out:
	hm_buf_free(&path);
	hm_buf_free(&b);
	return r;
}

static int wh_member_cmp(const void *a, const void *b)
{
	const struct whiteout *x = a, *y = b;

	return hm_path_cmp(x->member, x->member_len, y->member, y->member_len);
}

static int wh_target_cmp(const void *a, const void *b)
{
	const struct whiteout *x = a, *y = b;

	return hm_path_cmp(x->target, x->target_len, y->target, y->target_len);
}

/* Whiteouts must not reach through something that is not a directory
 * below (a symlink of a lower layer): check every ancestor of what they
 * name, and an opaque whiteout's directory itself. */
static int check_whiteout_path(struct layer *l, const struct whiteout *w)
{
	size_t end = w->opaque ? w->target_len : 0, i;
	struct hm_buf b = HM_BUF_INIT, c = HM_BUF_INIT;
	int r;

	if (!w->opaque) {
		end = w->target_len;
		while (end > 0 && w->target[end - 1] != '/')
			end--;
		end = end > 1 ? end - 1 : 0;   /* the parent, "/" skipped */
	}
	for (i = 1; i <= end; i++) {
		const struct hm_entry *lower, *mine;

		if (i < end && w->target[i] != '/')
			continue;
		lower = hm_tree_get(l->o->tree, w->target, i);
		if (!lower)
			return 0;
		if (lower->type == HM_TYPE_DIR)
			continue;
		mine = hm_tree_get(l->scratch, w->target, i);
		if (mine && mine->type == HM_TYPE_DIR && !(mine->flags & HM_ENTRY_IMPLICIT))
			continue;
		r = layer_error(l, HM_ERR_INPUT,
				"whiteout '%s' reaches through '%s', a %s of a lower layer",
				hm_oci_quote(&b, w->member, w->member_len),
				hm_oci_quote(&c, w->target, i), hm_type_name(lower->type));
		hm_buf_free(&b);
		hm_buf_free(&c);
		return r;
	}
	return 0;
}

static struct hm_entry *tombstone(struct layer *l)
{
	struct hm_entry *t = hm_entry_new();

	if (!t || set_origin(l, t) < 0) {
		hm_entry_free(t);
		return NULL;
	}
	t->flags = HM_ENTRY_DELETED;
	return t;
}

struct opq_walk {
	struct layer *l;
	struct whiteout *opq;        /* opaque whiteouts sorted by target */
	size_t n_opq;
	char **victims;
	size_t *victim_lens;
	size_t n, cap;
};

static int opq_visit(void *ctx, const struct hm_entry *e)
{
	struct opq_walk *w = ctx;
	struct whiteout key;
	size_t plen = e->path_len;

	if (e->flags & HM_ENTRY_DELETED || e->path_len == 1)
		return 0;
	while (plen > 0 && e->path[plen - 1] != '/')
		plen--;
	key.target = e->path;
	key.target_len = plen > 1 ? plen - 1 : 1;
	if (!bsearch(&key, w->opq, w->n_opq, sizeof(key), wh_target_cmp))
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		char **v = realloc(w->victims, cap * sizeof(*v));
		size_t *vl;

		if (!v)
			return HM_ERR_NOMEM;
		w->victims = v;
		vl = realloc(w->victim_lens, cap * sizeof(*vl));
		if (!vl)
			return HM_ERR_NOMEM;
		w->victim_lens = vl;
		w->cap = cap;
	}
	if (!(w->victims[w->n] = strdup(e->path)))
		return HM_ERR_NOMEM;
	w->victim_lens[w->n++] = e->path_len;
	return 0;
}

struct merge_walk {
	struct layer *l;
	int r;
};

static int merge_visit(void *ctx, const struct hm_entry *e)
{
	struct merge_walk *m = ctx;
	struct hm_entry *c;
	int r;

	if (e->flags & HM_ENTRY_IMPLICIT)
		return 0;
	c = hm_entry_new();
	if (!c || hm_entry_copy(c, e) < 0) {
		hm_entry_free(c);
		return m->r = hm_error_nomem(m->l->o->err);
	}
	r = hm_tree_put_take(m->l->o->tree, c, true, m->l->o->err);
	if (r < 0)
		return m->r = layer_wrap(m->l, NULL, 0, r);
	return 0;
}

/* Whiteouts by target, a plain one before an opaque one of the same
 * folder ("/.wh.etc" and "/etc/.wh..wh..opq" both name "/etc"). */
static int wh_target_kind_cmp(const void *a, const void *b)
{
	const struct whiteout *x = a, *y = b;
	int c = wh_target_cmp(a, b);

	return c ? c : (int)x->opaque - (int)y->opaque;
}

static const struct whiteout *wh_find(const struct whiteout *byt, size_t n,
				      const char *path, size_t len, bool opaque)
{
	struct whiteout key = { .target = (char *)path, .target_len = len,
				.opaque = opaque };

	return bsearch(&key, byt, n, sizeof(*byt), wh_target_kind_cmp);
}

/*
 * A hard link to a lower file that the same layer whites out (the file
 * itself, a folder above it, or an opaque marker in one) is refused,
 * whatever the order of the two members.  Whiteout first: containerd and
 * moby apply members in stream order, so the link's target is gone and
 * the layer fails to apply; link first: they keep the deleted file's
 * content under the new name.  The image-spec says neither, and the
 * content would be a file the image claims to have deleted.
 */
static int check_lower_links(struct layer *l)
{
	struct whiteout *byt = NULL;
	struct hm_buf b = HM_BUF_INIT, c = HM_BUF_INIT, d = HM_BUF_INIT;
	size_t i;
	int r = 0;

	if (!l->n_wh || !l->n_ll)
		return 0;
	byt = malloc(l->n_wh * sizeof(*byt));
	if (!byt)
		return hm_error_nomem(l->o->err);
	memcpy(byt, l->wh, l->n_wh * sizeof(*byt));
	qsort(byt, l->n_wh, sizeof(*byt), wh_target_kind_cmp);
	for (i = 0; i < l->n_ll; i++) {
		const struct lower_link *k = &l->ll[i];
		const struct whiteout *w;
		size_t end = k->target_len;

		/* The target itself, then each folder above it up to "/". */
		w = wh_find(byt, l->n_wh, k->target, end, false);
		while (!w && end > 1) {
			while (end > 1 && k->target[end - 1] != '/')
				end--;
			end = end > 1 ? end - 1 : 1;
			w = wh_find(byt, l->n_wh, k->target, end, true);
			if (!w && end > 1)
				w = wh_find(byt, l->n_wh, k->target, end, false);
		}
		if (w) {
			r = layer_error(l, HM_ERR_INPUT,
					"member '%s': hard link to '%s', which the same layer deletes ('%s')",
					hm_oci_quote(&b, k->member, k->member_len),
					hm_oci_quote(&c, k->target, k->target_len),
					hm_oci_quote(&d, w->member, w->member_len));
			break;
		}
	}
	free(byt);
	hm_buf_free(&b);
	hm_buf_free(&c);
	hm_buf_free(&d);
	return r;
}

/* Phase two, once the layer is verified: whiteouts against the layers
 * below, then the layer's own entries. */
static int apply(struct layer *l)
{
	struct opq_walk ow = { .l = l };
	struct merge_walk mw = { .l = l };
	struct hm_buf b = HM_BUF_INIT;
	size_t i, n_opq = 0;
	int r = 0;

	if (l->n_wh) {
		qsort(l->wh, l->n_wh, sizeof(*l->wh), wh_member_cmp);
		for (i = 1; i < l->n_wh; i++) {
			if (wh_member_cmp(&l->wh[i - 1], &l->wh[i]) == 0) {
				r = layer_error(l, HM_ERR_INPUT, "member '%s': duplicate entry",
						hm_oci_quote(&b, l->wh[i].member, l->wh[i].member_len));
				goto out;
			}
		}
	}
	for (i = 0; i < l->n_wh; i++) {
		if ((r = check_whiteout_path(l, &l->wh[i])) < 0)
			goto out;
		n_opq += l->wh[i].opaque;
	}
	if ((r = check_lower_links(l)) < 0)
		goto out;
	for (i = 0; i < l->n_wh; i++) {
		struct hm_entry *t;
		long n;

		if (l->wh[i].opaque)
			continue;
		if (!(t = tombstone(l)))
			goto nomem;
		n = hm_tree_remove(l->o->tree, l->wh[i].target, l->wh[i].target_len, t);
		if (n < 0)
			goto nomem;
	}
	if (n_opq) {
		/* Opaque directories lose their lower children, each with a
		 * tombstone so that findings say which layer hid them. */
		ow.opq = malloc(n_opq * sizeof(*ow.opq));
		if (!ow.opq)
			goto nomem;
		for (i = 0; i < l->n_wh; i++)
			if (l->wh[i].opaque)
				ow.opq[ow.n_opq++] = l->wh[i];
		qsort(ow.opq, ow.n_opq, sizeof(*ow.opq), wh_target_cmp);
		if (hm_tree_walk(l->o->tree, opq_visit, &ow) < 0)
			goto nomem;
		for (i = 0; i < ow.n; i++) {
			struct hm_entry *t = tombstone(l);

			if (!t || hm_tree_remove(l->o->tree, ow.victims[i],
						 ow.victim_lens[i], t) < 0)
				goto nomem;
		}
	}
	if (hm_tree_walk(l->scratch, merge_visit, &mw) < 0) {
		r = mw.r < 0 ? mw.r : hm_error_nomem(l->o->err);
		goto out;
	}
	r = 0;
	goto out;
nomem:
	r = hm_error_nomem(l->o->err);
out:
	for (i = 0; i < ow.n; i++)
		free(ow.victims[i]);
	free(ow.victims);
	free(ow.victim_lens);
	free(ow.opq);
	hm_buf_free(&b);
	return r;
}

/* Hash what libarchive did not read of the blob, so that the digest
 * covers all of it. */
static int drain_blob(struct layer *l)
{
	const void *p;

	while (l->pos < l->reg.size) {
		la_ssize_t n = blob_read(NULL, l, &p);

		if (n <= 0)
			return -1;
	}
	return 0;
}

static int drain_raw(struct layer *l)
{
	const void *p;
	la_ssize_t n;

	while ((n = tar_read(NULL, l, &p)) > 0)
		;
	return (int)n;
}

static const char *comp_name(enum compression c)
{
	return c == COMP_GZIP ? "gzip" : c == COMP_ZSTD ? "zstd" : "none";
}

/*
 * Start a reader of the layer's bytes on other threads where one fits:
 * 1 when started (in l->par), 0 when libarchive's filter is to read it,
 * < 0 on error.  A gzip layer in hallmark's members (lib/pgzip.c) is
 * inflated on every core; any other gzip layer by ISA-L on a thread of
 * its own.  A zstd layer whose frames each declare their size
 * (hallmark's, one frame per MiB of tar, or any small one) is
 * decompressed on every core, found by its frame and block headers
 * alone; any other (one large frame, frames without a size, skippable
 * frames) goes through libarchive's streaming filter.
 */
static int par_open(struct layer *l, enum compression comp)
{
	unsigned threads = l->o->opt ? l->o->opt->threads : 0;
	unsigned char hdr[HM_PGZIP_HEADER];
	uint32_t msize, dsize;
	ssize_t n = -1;
	int r;

	if (comp == COMP_GZIP || comp == COMP_ANY)
		n = hm_pread_full(l->reg.fd, hdr, sizeof(hdr), l->reg.off);
	if (n == (ssize_t)sizeof(hdr) && l->reg.size >= sizeof(hdr) &&
	    hm_pgzip_member_sizes(hdr, sizeof(hdr), &msize, &dsize))
		r = hm_pgunzip_new(blob_take, l, threads, &l->par, l->o->err);
	else if (n >= 3 && hdr[0] == 0x1f && hdr[1] == 0x8b && hdr[2] == 8)
		r = hm_pgunzip_new_stream(blob_take, l, &l->par, l->o->err);
	else if ((comp == COMP_ZSTD || comp == COMP_ANY) &&
		 hm_pzstd_splittable(l->reg.fd, l->reg.off, l->reg.size))
		r = hm_pgunzip_new_zstd(blob_take, l, threads, &l->par, l->o->err);
	else
		return 0;
	return r < 0 ? r : 1;
}

/*
 * Read, verify and apply one layer.  blob_hex: the digest of the blob
 * (NULL for a docker-archive, whose layers have none); want_size: its size
 * or -1; diff_hex: the digest of the uncompressed tar stream.
 */
int hm_oci_do_layer(struct oci *o, unsigned idx, const char *name,
		    const char *blob_hex, int64_t want_size, const char *diff_hex,
		    enum compression comp)
{
	struct layer l = { .o = o, .idx = idx, .reg = { .fd = -1 } };
	struct archive *ta = NULL;
	struct archive_entry *rae;
	unsigned char got[HM_SHA256_LEN], want[HM_SHA256_LEN];
	char gh[65];
	bool ta_failed = false, blob_ok = true, same_stream;
	int r, fr;
	size_t i;

	snprintf(l.origin, sizeof(l.origin), "layer %u sha256:%.12s", idx,
		 blob_hex ? blob_hex : diff_hex);
	r = hm_oci_find_region(o, name, &l.reg);
	if (r < 0)
		return r;
	if (r == 0)
		return hm_oci_input_error(o, "layer %u: missing blob %s%s", idx,
				   blob_hex ? "sha256:" : "", blob_hex ? blob_hex : name);
	if (want_size >= 0 && l.reg.size != (uint64_t)want_size) {
		r = layer_error(&l, HM_ERR_INPUT,
				"size mismatch: the descriptor says %" PRId64 " bytes, the blob has %" PRIu64,
				want_size, l.reg.size);
		goto out;
	}
	l.inbuf = malloc(BLOCK);
	/* An uncompressed blob is its own tar stream: one hash serves as
	 * digest and diff_id. */
	same_stream = blob_hex && comp == COMP_NONE;
	if (!same_stream)
		l.diff_hash = hm_hash_new(HM_HASH_SHA256);
	if (blob_hex)
		l.blob_hash = hm_hash_new(HM_HASH_SHA256);
	l.raw = archive_read_new();
	ta = archive_read_new();
	if (!l.inbuf || (!same_stream && !l.diff_hash) || (blob_hex && !l.blob_hash) || !l.raw || !ta ||
	    hm_tree_new(&l.scratch, o->err) < 0)
		goto nomem;
	if ((r = hm_tar_guard_new(ta, &l.guard, o->err)) < 0)
		goto out;
	archive_read_support_format_raw(l.raw);
	/* In-process only: a filter libarchive would run as a program
	 * (ARCHIVE_WARN) is refused, as for tar: streams. */
	if (((comp == COMP_GZIP || comp == COMP_ANY) &&
	     archive_read_support_filter_gzip(l.raw) != ARCHIVE_OK) ||
	    ((comp == COMP_ZSTD || comp == COMP_ANY) &&
	     archive_read_support_filter_zstd(l.raw) != ARCHIVE_OK)) {
		r = layer_error(&l, HM_ERR_INPUT,
				"this libarchive cannot decompress %s in-process",
				comp_name(comp));
		goto out;
	}
	archive_read_support_format_tar(ta);
	r = par_open(&l, comp);
	if (r < 0)
		goto out;
	if (r > 0) {
		l.par_used = true;
		goto open_tar;
	}
	if (archive_read_open(l.raw, &l, NULL, blob_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(l.raw, &rae) != ARCHIVE_OK) {
		r = HM_ERR_INPUT;
		ta_failed = true;
		l.raw_failed = true;
		goto verify;
	}
	if (comp != COMP_ANY) {
		int code = archive_filter_code(l.raw, 0);
		int want_code = comp == COMP_GZIP ? ARCHIVE_FILTER_GZIP :
				comp == COMP_ZSTD ? ARCHIVE_FILTER_ZSTD : ARCHIVE_FILTER_NONE;

		if (code != want_code) {
			r = layer_error(&l, HM_ERR_INPUT,
					"the media type says %s compression, the data is %s",
					comp_name(comp), archive_filter_name(l.raw, 0));
			goto verify;
		}
	}
open_tar:
	if (archive_read_open(ta, &l, NULL, tar_read, NULL) != ARCHIVE_OK) {
		r = HM_ERR_INPUT;
		ta_failed = true;
		goto verify;
	}
	hm_error_clear(o->err);
	r = collect(&l, ta, &ta_failed);
	if (r >= 0 && drain_raw(&l) < 0) {
		r = HM_ERR_INPUT;
		ta_failed = true;
	}
verify:
	/* The inflater's thread reads the blob: stop it before reading the
	 * rest here. */
	hm_pgunzip_free(l.par);
	l.par = NULL;
	/* The digest first: a blob that is not what the manifest says is
	 * reported as such, whatever else is wrong with its content. */
	if (l.blob_hash) {
		fr = drain_blob(&l);
		if (fr == 0) {
			hm_hash_final(l.blob_hash, got);
			hm_hex_decode(blob_hex, 64, want, sizeof(want));
			blob_ok = memcmp(got, want, sizeof(got)) == 0;
		}
		if (fr < 0 && !l.io_errno)
			l.truncated = true;
	}
	if (l.io_errno) {
		r = hm_error_set(o->err, HM_ERR_IO, l.io_errno, "'%s': %s: cannot read",
				 o->spec, l.origin);
		goto out;
	}
	if (l.truncated) {
		r = layer_error(&l, HM_ERR_INPUT, "truncated blob (shorter than its %" PRIu64 " bytes)",
				l.reg.size);
		goto out;
	}
	if (!blob_ok) {
		hm_hex_encode(got, sizeof(got), gh);
		r = layer_error(&l, HM_ERR_INPUT, "digest mismatch: the blob hashes to sha256:%s", gh);
		goto out;
	}
	if (l.limit_hit) {
		r = layer_error(&l, HM_ERR_LIMIT,
				"uncompressed size exceeds the limit of %llu bytes (HM_LIMIT_OCI_LAYER_BYTES)",
				(unsigned long long)HM_LIMIT_OCI_LAYER_BYTES);
		goto out;
	}
	if (l.raw_failed) {
		const char *why = l.par_used ? l.par_why : archive_error_string(l.raw);

		r = layer_error(&l, HM_ERR_INPUT, "cannot decompress: %s",
				why && why[0] ? why : "corrupt data");
		goto out;
	}
	if (ta_failed) {
		r = layer_error(&l, HM_ERR_INPUT, "not a readable tar stream: %s",
				archive_error_string(ta) ? archive_error_string(ta) : "corrupt data");
		goto out;
	}
	if (r < 0)
		goto out;
	if (same_stream)
		hm_hex_decode(blob_hex, 64, got, sizeof(got));   /* verified above */
	else
		hm_hash_final(l.diff_hash, got);
	hm_hex_decode(diff_hex, 64, want, sizeof(want));
	if (memcmp(got, want, sizeof(got)) != 0) {
		hm_hex_encode(got, sizeof(got), gh);
		r = layer_error(&l, HM_ERR_INPUT,
				"diff_id mismatch: the config says sha256:%s, the uncompressed layer hashes to sha256:%s",
				diff_hex, gh);
		goto out;
	}
	r = apply(&l);
	goto out;
nomem:
	r = hm_error_nomem(o->err);
out:
	archive_read_free(ta);
	hm_pgunzip_free(l.par);
	hm_tar_guard_free(l.guard);
	if (l.raw)
		archive_read_free(l.raw);
	hm_hash_free(l.blob_hash);
	hm_hash_free(l.diff_hash);
	free(l.inbuf);
	hm_tree_free(l.scratch);
	for (i = 0; i < l.n_wh; i++) {
		free(l.wh[i].member);
		free(l.wh[i].target);
	}
	free(l.wh);
	for (i = 0; i < l.n_ll; i++) {
		free(l.ll[i].member);
		free(l.ll[i].target);
	}
	free(l.ll);
	hm_oci_region_close(&l.reg);
	return r;
}
