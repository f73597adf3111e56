/*
 * OCI sources: an OCI image archive (an OCI layout inside a tar), a
 * docker-archive (as `docker save` / `podman save` write it) or an OCI
 * layout folder, flattened into one tree.
 *
 * Nothing is unpacked: an archive is scanned once to learn where each
 * member's data lies, then every blob is read in place with pread.  Every
 * blob's size and sha256 are checked against its descriptor before its
 * content is trusted: JSON blobs are hashed before they are parsed, and a
 * layer is applied to a scratch tree while its compressed bytes (digest)
 * and its uncompressed tar stream (diff_id) are hashed, and merged into
 * the image only once both match.  Whiteouts follow the image-spec
 * (layer.md): a layer's whiteouts apply to the layers below it only, so a
 * layer is collected first and applied in two phases.  Every entry and
 * tombstone names the layer it comes from, for findings.
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
#include "hallmark/limits.h"
#include "hallmark/manifest.h"
#include "hallmark/source.h"
#include "hallmark/source_tar.h"

#include "source_tar_private.h"
#include "hallmark/tree.h"

/* Named limits on what an image may make us hold or do. */
/* One JSON document: oci-layout, index.json, manifest.json, a manifest,
 * an index, a config. */
#define HM_LIMIT_OCI_JSON_BYTES     (4u * 1024 * 1024)
/* Layers of one image. */
#define HM_LIMIT_OCI_LAYERS         256u
/* Nested image indexes followed from index.json. */
#define HM_LIMIT_OCI_INDEX_DEPTH    4u
/* Members of the outer archive. */
#define HM_LIMIT_OCI_MEMBERS        (1000u * 1000)
/* Members of one layer. */
#define HM_LIMIT_OCI_LAYER_MEMBERS  (10u * 1000 * 1000)
/* Uncompressed tar stream of one layer, and the sum of the logical sizes
 * of its files (sparse members count with their logical size). */
#define HM_LIMIT_OCI_LAYER_BYTES    (64ull * 1024 * 1024 * 1024)
/* Logical size of one file in a layer. */
#define HM_LIMIT_OCI_FILE_BYTES     (64ull * 1024 * 1024 * 1024)

#define BLOCK (256u * 1024)

#define MT_OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST   "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

enum compression { COMP_NONE, COMP_GZIP, COMP_ZSTD, COMP_ANY };

/* A regular member of the outer archive. */
struct member {
	char *name;              /* normalized, without the leading '/' */
	uint64_t off, size;
};

/* Where the bytes of one blob are: a region of a file. */
struct region {
	int fd;
	bool own_fd;
	uint64_t off, size;
};

struct oci {
	const char *spec;        /* for messages */
	bool is_dir;
	int fd;                  /* the archive file, or the layout folder */
	struct member *m;
	size_t n_m;
	const struct hm_scan_options *opt;
	struct hm_tree *tree;    /* the image so far */
	struct hm_error *err;
};

/* A whiteout of a layer, applied after the layer is verified. */
struct whiteout {
	char *member;            /* the member's path, for messages and dups */
	size_t member_len;
	char *target;            /* what it deletes; for opaque, the dir */
	size_t target_len;
	bool opaque;
};

/* A hard link of a layer to a file of the layers below, checked against
 * the layer's whiteouts once they are all known. */
struct lower_link {
	char *member;            /* the link's member name, for messages */
	size_t member_len;
	char *target;            /* canonical path of what it names */
	size_t target_len;
};

struct layer {
	struct oci *o;
	unsigned idx;            /* 1-based */
	char origin[64];         /* "layer 3 sha256:ab12cd34ef56" */
	/* compressed input */
	struct region reg;
	uint64_t pos;            /* bytes of reg handed out */
	unsigned char *inbuf;
	struct hm_hash *blob_hash;   /* NULL: no blob digest (docker-archive) */
	int io_errno;
	bool truncated;
	/* uncompressed tar stream */
	struct archive *raw;
	struct hm_tar_guard *guard;  /* the tar reader's header checks */
	struct hm_hash *diff_hash;
	uint64_t tar_bytes;
	bool raw_failed, limit_hit;
	/* the layer's contents */
	struct hm_tree *scratch;
	struct whiteout *wh;
	size_t n_wh, cap_wh;
	struct lower_link *ll;
	size_t n_ll, cap_ll;
	uint64_t members, logical;
};

/* ---- helpers ---------------------------------------------------------- */

static int input_error(struct oci *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int input_error(struct oci *o, const char *fmt, ...)
{
	char msg[HM_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hm_error_set(o->err, HM_ERR_INPUT, 0, "'%s': %s", o->spec, msg);
}

/* Longest excerpt of a name quoted in a message. */
#define QUOTE_MAX 256

/* Escaped copy of a name for messages (names come from the image),
 * shortened: a name of thousands of bytes would push the reason out of
 * the message. */
static const char *q(struct hm_buf *b, const char *s, size_t len)
{
	bool cut = len > QUOTE_MAX;

	hm_buf_reset(b);
	if (hm_escape(b, s, cut ? QUOTE_MAX : len, 0) < 0 ||
	    (cut && hm_buf_adds(b, "...") < 0) || hm_buf_grow(b, 0) < 0)
		return "?";
	return b->data ? b->data : "";
}

/* "sha256:HEX" -> the 64 hex digits (validated, so safe as a file name). */
static int parse_digest(struct oci *o, const char *d, const char *where,
			char hex[65])
{
	unsigned char raw[HM_SHA256_LEN];
	size_t len = d ? strlen(d) : 0;

	if (!d || strncmp(d, "sha256:", 7) != 0) {
		struct hm_buf b = HM_BUF_INIT;
		int r = input_error(o, "%s: unsupported digest '%s' (only sha256 is supported)",
				    where, d ? q(&b, d, len) : "(none)");

		hm_buf_free(&b);
		return r;
	}
	if (len != 7 + 64 || hm_hex_decode(d + 7, 64, raw, sizeof(raw)) < 0)
		return input_error(o, "%s: malformed digest (want sha256: and 64 lowercase hex digits)",
				   where);
	memcpy(hex, d + 7, 64);
	hex[64] = '\0';
	return 0;
}

static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name,
		      ((const struct member *)b)->name);
}

static const struct member *find_member(const struct oci *o, const char *name)
{
	struct member key = { .name = (char *)name };

	if (!o->n_m)
		return NULL;
	return bsearch(&key, o->m, o->n_m, sizeof(*o->m), member_cmp);
}

/* Open a file of the layout folder below the top, never through a
 * symlink: every component is opened with O_NOFOLLOW. */
static int open_in_dir(struct oci *o, const char *name, int *ret_fd,
		       struct stat *st)
{
	char comp[256];
	const char *p = name, *slash;
	int dfd = o->fd, fd = -1;

	for (;;) {
		size_t len;

		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len >= sizeof(comp))
			break;
		memcpy(comp, p, len);
		comp[len] = '\0';
		fd = openat(dfd, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			    (slash ? O_DIRECTORY : O_NONBLOCK));
		if (dfd != o->fd)
			close(dfd);
		if (fd < 0)
			return -errno;
		if (!slash)
			break;
		dfd = fd;
		p = slash + 1;
	}
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*ret_fd = fd;
	return 0;
}

/* The region of a file of the image by name ("blobs/sha256/HEX",
 * "index.json", ...).  1: found, 0: absent, <0: error. */
static int find_region(struct oci *o, const char *name, struct region *ret)
{
	if (o->is_dir) {
		struct stat st;
		int fd = -1, r = open_in_dir(o, name, &fd, &st);

		if (r == -ENOENT)
			return 0;
		if (r == -EINVAL || r == -ELOOP || r == -ENOTDIR)
			return input_error(o, "'%s' is not a regular file", name);
		if (r < 0)
			return hm_error_set(o->err, HM_ERR_IO, -r,
					    "cannot open '%s/%s'", o->spec, name);
		*ret = (struct region){ .fd = fd, .own_fd = true, .off = 0,
					.size = (uint64_t)st.st_size };
		return 1;
	} else {
		const struct member *m = find_member(o, name);

		if (!m)
			return 0;
		*ret = (struct region){ .fd = o->fd, .off = m->off, .size = m->size };
		return 1;
	}
}

static void region_close(struct region *r)
{
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->own_fd = false;
}

/*
 * Read a JSON file of the image into memory and parse it.  With hex
 * non-NULL the bytes must hash to it and, with want_size non-negative,
 * have that size; both checked before parsing.
 */
static int load_json(struct oci *o, const char *name, const char *hex,
		     int64_t want_size, const char *what, json_t **ret)
{
	struct region reg = { .fd = -1 };
	unsigned char *buf = NULL, got[HM_SHA256_LEN], want[HM_SHA256_LEN];
	json_error_t jerr;
	json_t *j;
	int r;

	r = find_region(o, name, &reg);
	if (r < 0)
		return r;
	if (r == 0) {
		if (hex)
			return input_error(o, "%s: missing blob sha256:%s", what, hex);
		return input_error(o, "no '%s' in the image", name);
	}
	if (want_size >= 0 && reg.size != (uint64_t)want_size) {
		r = input_error(o, "%s sha256:%.12s: size mismatch: the descriptor says %" PRId64
				" bytes, the blob has %" PRIu64, what, hex ? hex : "",
				want_size, reg.size);
		goto out;
	}
	if (reg.size > HM_LIMIT_OCI_JSON_BYTES) {
		r = hm_error_set(o->err, HM_ERR_LIMIT, 0,
				 "'%s': %s of %" PRIu64 " bytes exceeds the limit of %u bytes (HM_LIMIT_OCI_JSON_BYTES)",
				 o->spec, what, reg.size, HM_LIMIT_OCI_JSON_BYTES);
		goto out;
	}
	buf = malloc(reg.size ? reg.size : 1);
	if (!buf) {
		r = hm_error_nomem(o->err);
		goto out;
	}
	if (pread_full(reg.fd, buf, reg.size, reg.off) != (ssize_t)reg.size) {
		r = hm_error_set(o->err, HM_ERR_IO, errno, "'%s': cannot read %s",
				 o->spec, what);
		goto out;
	}
	if (hex) {
		hm_hex_decode(hex, 64, want, sizeof(want));
		if (hm_hash_buf(HM_HASH_SHA256, buf, reg.size, got) < 0) {
			r = hm_error_nomem(o->err);
			goto out;
		}
		if (memcmp(got, want, sizeof(got)) != 0) {
			char gh[65];

			hm_hex_encode(got, sizeof(got), gh);
			r = input_error(o, "%s sha256:%.12s: digest mismatch: the blob hashes to sha256:%s",
					what, hex, gh);
			goto out;
		}
	}
	j = json_loadb((const char *)buf, reg.size, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		r = input_error(o, "%s: invalid JSON at line %d: %s", what,
				jerr.line, jerr.text);
		goto out;
	}
	*ret = j;
	r = 0;
out:
	free(buf);
	region_close(&reg);
	return r;
}

/* ---- the outer archive ------------------------------------------------ */

/* Append a member; takes name. */
static int add_member(struct oci *o, size_t *cap, char *name, uint64_t off,
		      uint64_t size)
{
	if (!name)
		return hm_error_nomem(o->err);
	if (o->n_m == HM_LIMIT_OCI_MEMBERS) {
		free(name);
		return hm_error_set(o->err, HM_ERR_LIMIT, 0,
				    "'%s': more than %u members (HM_LIMIT_OCI_MEMBERS)",
				    o->spec, HM_LIMIT_OCI_MEMBERS);
	}
	if (o->n_m == *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		struct member *m = realloc(o->m, ncap * sizeof(*m));

		if (!m) {
			free(name);
			return hm_error_nomem(o->err);
		}
		o->m = m;
		*cap = ncap;
	}
	o->m[o->n_m++] = (struct member){ .name = name, .off = off, .size = size };
	return 0;
}

/*
 * The member a link names, as a member name: a hard link's target is a
 * member name already; a symlink's is relative to the link's folder
 * ("../ID/layer.tar", as docker save writes for repeated layers).  ".."
 * is resolved within the archive's names; leaving the top is refused.
 */
static int link_member(const char *link, const char *target, bool symbolic,
		       struct hm_buf *out)
{
	struct hm_buf tmp = HM_BUF_INIT;
	const char *p;
	size_t i = 0;
	int r = -1;

	hm_buf_reset(out);
	if (symbolic && target[0] != '/') {
		const char *slash = strrchr(link, '/');

		if (slash && hm_buf_add(&tmp, link, (size_t)(slash - link + 1)) < 0)
			goto out;
	}
	if (hm_buf_adds(&tmp, target) < 0 || hm_buf_grow(&tmp, 0) < 0)
		goto out;
	p = tmp.data;
	while (p[i]) {
		size_t end = i;

		while (p[end] && p[end] != '/')
			end++;
		if (end - i == 2 && p[i] == '.' && p[i + 1] == '.') {
			char *last;

			if (out->len == 0)
				goto out;
			last = memrchr(out->data, '/', out->len);
			out->len = last ? (size_t)(last - out->data) : 0;
		} else if (end > i && !(end - i == 1 && p[i] == '.')) {
			if ((out->len && hm_buf_addc(out, '/') < 0) ||
			    hm_buf_add(out, p + i, end - i) < 0)
				goto out;
		}
		i = p[end] ? end + 1 : end;
	}
	r = out->len && hm_buf_grow(out, 0) == 0 ? 0 : -1;
	if (r == 0)
		out->data[out->len] = '\0';
out:
	hm_buf_free(&tmp);
	return r;
}

struct alias {
	char *name, *target;
};

/*
 * One pass over the archive's headers: each regular member's name, data
 * offset and size.  The data offset of a member of an uncompressed tar is
 * the count of bytes libarchive has consumed once its header is read
 * (archive_filter_bytes); the digest checks catch any disagreement.
 * Symlinks and hard links to regular members become aliases of them.
 */
static int scan_archive(struct oci *o)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	struct hm_buf name = HM_BUF_INIT, qb = HM_BUF_INIT, t = HM_BUF_INIT;
	struct alias *al = NULL;
	size_t cap = 0, n_al = 0, cap_al = 0, i, pass;
	int r, ar;

	if (!a)
		return hm_error_nomem(o->err);
	archive_read_support_format_tar(a);
	if ((r = hm_tar_support_filters(a, o->err)) < 0)
		goto out;
	if (archive_read_open_fd(a, o->fd, BLOCK) != ARCHIVE_OK) {
		r = input_error(o, "not a tar archive: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		const char *p, *lk;
		bool symbolic;

		ar = archive_read_next_header(a, &ae);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = input_error(o, "not a readable tar archive: %s",
					archive_error_string(a));
			goto out;
		}
		if (archive_filter_count(a) > 1 ||
		    archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE) {
			r = input_error(o, "the archive is compressed (%s): an image archive is read in place, decompress it first",
					archive_filter_name(a, 0));
			goto out;
		}
		symbolic = archive_entry_filetype(ae) == AE_IFLNK;
		lk = symbolic ? archive_entry_symlink(ae) : archive_entry_hardlink(ae);
		if (archive_entry_filetype(ae) != AE_IFREG && !symbolic)
			continue;
		p = archive_entry_pathname(ae);
		if (!p) {
			r = input_error(o, "a member has no name");
			goto out;
		}
		if (hm_tree_normalize(p, strlen(p), &name) < 0 || name.len < 2) {
			r = input_error(o, "member '%s': unsafe name", q(&qb, p, strlen(p)));
			goto out;
		}
		if (lk) {
			if (n_al == HM_LIMIT_OCI_MEMBERS)
				continue;       /* too many: they stay unresolved */
			if (n_al == cap_al) {
				size_t ncap = cap_al ? 2 * cap_al : 16;
				struct alias *x = realloc(al, ncap * sizeof(*x));

				if (!x)
					goto nomem;
				al = x;
				cap_al = ncap;
			}
			/* A link out of the archive stays unresolved: a
			 * missing blob, if anything needs it. */
			if (link_member(name.data + 1, lk, symbolic, &t) < 0)
				continue;
			al[n_al].name = strdup(name.data + 1);
			al[n_al].target = strdup(t.data);
			if (!al[n_al].name || !al[n_al].target) {
				free(al[n_al].name);
				free(al[n_al].target);
				goto nomem;
			}
			n_al++;
			continue;
		}
		if (archive_entry_sparse_count(ae) > 0) {
			r = input_error(o, "member '%s' is sparse: its data cannot be read in place",
					q(&qb, p, strlen(p)));
			goto out;
		}
		if ((r = add_member(o, &cap, strdup(name.data + 1),
				    (uint64_t)archive_filter_bytes(a, 0),
				    (uint64_t)archive_entry_size(ae))) < 0)
			goto out;
	}
	/* Links to links: a few rounds, then the rest stay unresolved. */
	for (pass = 0; pass < 4 && n_al; pass++) {
		size_t before = o->n_m, k = 0;

		if (o->n_m)
			qsort(o->m, o->n_m, sizeof(*o->m), member_cmp);
		for (i = 0; i < n_al; i++) {
			struct member key = { .name = al[i].target };
			const struct member *m = before ?
				bsearch(&key, o->m, before, sizeof(*o->m), member_cmp) : NULL;

			if (!m) {
				al[k++] = al[i];
				continue;
			}
			r = add_member(o, &cap, al[i].name, m->off, m->size);
			al[i].name = NULL;
			free(al[i].target);
			if (r < 0) {
				for (i++; i < n_al; i++)
					al[k++] = al[i];
				n_al = k;
				goto out;
			}
		}
		n_al = k;
	}
	if (o->n_m)
		qsort(o->m, o->n_m, sizeof(*o->m), member_cmp);
	for (i = 1; i < o->n_m; i++) {
		if (strcmp(o->m[i - 1].name, o->m[i].name) == 0) {
			r = input_error(o, "member '%s' appears twice",
					q(&qb, o->m[i].name, strlen(o->m[i].name)));
			goto out;
		}
	}
	r = 0;
	goto out;
nomem:
	r = hm_error_nomem(o->err);
out:
	for (i = 0; i < n_al; i++) {
		free(al[i].name);
		free(al[i].target);
	}
	free(al);
	archive_read_free(a);
	hm_buf_free(&name);
	hm_buf_free(&qb);
	hm_buf_free(&t);
	return r;
}

/* ---- reading one layer ------------------------------------------------ */

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
	n = pread_full(l->reg.fd, l->inbuf, want, l->reg.off + l->pos);
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

/* The uncompressed tar stream, from the raw reader, hashed for diff_id. */
static la_ssize_t tar_read(struct archive *a, void *ctx, const void **buf)
{
	struct layer *l = ctx;
	const void *p;
	size_t len;
	la_int64_t off;
	int r;

	r = archive_read_data_block(l->raw, &p, &len, &off);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN) {
		l->raw_failed = true;
		return -1;
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
				l->origin, q(&b, member, len));
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
				q(&b, member, mlen));
		hm_buf_free(&b);
		return r;
	} else if (blen == 4 || (blen == 5 && base[4] == '.') ||
		   (blen == 6 && base[4] == '.' && base[5] == '.')) {
		r = layer_error(l, HM_ERR_INPUT,
				"member '%s': whiteout of no valid name",
				q(&b, member, mlen));
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
					q(&c, member, mlen), q(&d, b.data, b.len));
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
					q(&b, member, mlen), q(&lp, hl, strlen(hl)));
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
					q(&b, member, mlen), (int64_t)size,
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
					q(&b, name, nlen));
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
					q(&b, name, nlen));
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
				q(&b, w->member, w->member_len),
				q(&c, w->target, i), hm_type_name(lower->type));
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
					q(&b, k->member, k->member_len),
					q(&c, k->target, k->target_len),
					q(&d, w->member, w->member_len));
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
						q(&b, l->wh[i].member, l->wh[i].member_len));
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
 * Read, verify and apply one layer.  blob_hex: the digest of the blob
 * (NULL for a docker-archive, whose layers have none); want_size: its size
 * or -1; diff_hex: the digest of the uncompressed tar stream.
 */
static int do_layer(struct oci *o, unsigned idx, const char *name,
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
	r = find_region(o, name, &l.reg);
	if (r < 0)
		return r;
	if (r == 0)
		return input_error(o, "layer %u: missing blob %s%s", idx,
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
		r = layer_error(&l, HM_ERR_INPUT, "cannot decompress: %s",
				archive_error_string(l.raw) ? archive_error_string(l.raw) : "corrupt data");
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
	region_close(&l.reg);
	return r;
}

/* ---- resolution ------------------------------------------------------- */

enum kind { K_INDEX, K_MANIFEST, K_OTHER };

static enum kind mt_kind(const char *mt)
{
	if (!mt)
		return K_OTHER;
	if (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST))
		return K_INDEX;
	if (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST))
		return K_MANIFEST;
	return K_OTHER;
}

/* What a JSON document is: its mediaType, else its shape. */
static enum kind doc_kind(json_t *j, const char **ret_mt)
{
	const char *mt = json_string_value(json_object_get(j, "mediaType"));

	*ret_mt = mt;
	if (mt)
		return mt_kind(mt);
	if (json_object_get(j, "manifests"))
		return K_INDEX;
	if (json_object_get(j, "layers") || json_object_get(j, "config"))
		return K_MANIFEST;
	return K_OTHER;
}

static const char *kind_name(enum kind k)
{
	return k == K_INDEX ? "an image index" : k == K_MANIFEST ? "an image manifest" : "an unknown document";
}

static int check_doc(struct oci *o, json_t *j, enum kind want, const char *what)
{
	const char *mt;
	enum kind k = doc_kind(j, &mt);
	json_t *sv = json_object_get(j, "schemaVersion");

	bool index_fields = json_object_get(j, "manifests") != NULL;
	bool manifest_fields = json_object_get(j, "layers") || json_object_get(j, "config");

	if (!json_is_object(j))
		return input_error(o, "%s is not a JSON object", what);
	/*
	 * CVE-2021-41190: a document with the fields of both an index and a
	 * manifest, or whose mediaType says one and whose fields say the
	 * other, is read as one by some tools and as the other by others
	 * (whatever was signed or scanned, another image gets run).  The
	 * image-spec (1.0.2) forbids it; so do we, whatever the descriptor.
	 */
	if ((index_fields && manifest_fields) ||
	    (k == K_MANIFEST && index_fields) || (k == K_INDEX && manifest_fields))
		return input_error(o, "%s is ambiguous: its mediaType and fields say both image index and image manifest (CVE-2021-41190)",
				   what);
	if (k != want)
		return input_error(o, "%s is %s (%s) where %s is expected", what,
				   kind_name(k), mt ? mt : "by its shape", kind_name(want));
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return input_error(o, "%s: schemaVersion is not 2", what);
	return 0;
}

/* A descriptor: mediaType, digest, size. */
static int parse_desc(struct oci *o, json_t *d, const char *where,
		      const char **ret_mt, char hex[65], int64_t *ret_size)
{
	json_t *sz = json_object_get(d, "size");

	if (!json_is_object(d))
		return input_error(o, "%s: descriptor is not an object", where);
	*ret_mt = json_string_value(json_object_get(d, "mediaType"));
	if (!*ret_mt)
		return input_error(o, "%s: descriptor has no mediaType", where);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return input_error(o, "%s: descriptor has no valid size", where);
	*ret_size = json_integer_value(sz);
	return parse_digest(o, json_string_value(json_object_get(d, "digest")),
			    where, hex);
}

static bool is_linux_amd64(json_t *d)
{
	json_t *p = json_object_get(d, "platform");
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));

	return os && arch && !strcmp(os, "linux") && !strcmp(arch, "amd64");
}

/* Pick one descriptor of an index: the only one, else linux/amd64. */
static int pick(struct oci *o, json_t *index, const char *what, json_t **ret)
{
	json_t *ms = json_object_get(index, "manifests"), *d, *found = NULL;
	size_t i, n, hits = 0;

	if (!json_is_array(ms))
		return input_error(o, "%s has no manifests list", what);
	n = json_array_size(ms);
	if (n == 0)
		return input_error(o, "%s lists no manifests", what);
	if (n == 1) {
		*ret = json_array_get(ms, 0);
		return 0;
	}
	json_array_foreach(ms, i, d) {
		if (is_linux_amd64(d)) {
			found = d;
			hits++;
		}
	}
	if (hits == 1) {
		*ret = found;
		return 0;
	}
	return input_error(o, "%s lists %zu manifests and %s for linux/amd64: cannot tell which image to check",
			   what, n, hits ? "several" : "none");
}

static enum compression layer_comp(const char *mt, bool *ok)
{
	static const struct { const char *mt; enum compression c; } t[] = {
		{ "application/vnd.oci.image.layer.v1.tar", COMP_NONE },
		{ "application/vnd.oci.image.layer.v1.tar+gzip", COMP_GZIP },
		{ "application/vnd.oci.image.layer.v1.tar+zstd", COMP_ZSTD },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar", COMP_NONE },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", COMP_GZIP },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", COMP_ZSTD },
		{ "application/vnd.docker.image.rootfs.diff.tar", COMP_NONE },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip", COMP_GZIP },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", COMP_GZIP },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(mt, t[i].mt)) {
			*ok = true;
			return t[i].c;
		}
	}
	*ok = false;
	return COMP_NONE;
}

/* The diff_ids of a config, checked against the number of layers. */
static int config_diff_ids(struct oci *o, json_t *cfg, size_t n_layers,
			   json_t **ret)
{
	json_t *rootfs = json_object_get(cfg, "rootfs");
	json_t *ids = json_object_get(rootfs, "diff_ids");
	const char *type = json_string_value(json_object_get(rootfs, "type"));

	if (!json_is_object(cfg) || !type || strcmp(type, "layers") != 0 ||
	    !json_is_array(ids))
		return input_error(o, "the image config has no rootfs of type layers with diff_ids");
	if (json_array_size(ids) != n_layers)
		return input_error(o, "the image config lists %zu diff_ids for %zu layers",
				   json_array_size(ids), n_layers);
	*ret = ids;
	return 0;
}

static int start_tree(struct oci *o, size_t n_layers)
{
	if (n_layers > HM_LIMIT_OCI_LAYERS)
		return hm_error_set(o->err, HM_ERR_LIMIT, 0,
				    "'%s': %zu layers exceed the limit of %u (HM_LIMIT_OCI_LAYERS)",
				    o->spec, n_layers, HM_LIMIT_OCI_LAYERS);
	return hm_tree_new(&o->tree, o->err);
}

static int blob_name(char out[80], const char hex[65])
{
	return snprintf(out, 80, "blobs/sha256/%s", hex);
}

/* An OCI layout: oci-layout, index.json, then down to one manifest. */
static int open_layout(struct oci *o)
{
	json_t *layout = NULL, *doc = NULL, *next = NULL, *cfg = NULL, *ids;
	json_t *layers, *d = NULL;
	const char *ver, *mt;
	char hex[65], name[80], what[96];
	int64_t size;
	unsigned depth;
	size_t i;
	int r;

	if ((r = load_json(o, "oci-layout", NULL, -1, "oci-layout", &layout)) < 0)
		goto out;
	ver = json_string_value(json_object_get(layout, "imageLayoutVersion"));
	if (!ver || strncmp(ver, "1.", 2) != 0) {
		r = input_error(o, "oci-layout: unsupported imageLayoutVersion");
		goto out;
	}
	if ((r = load_json(o, "index.json", NULL, -1, "index.json", &doc)) < 0 ||
	    (r = check_doc(o, doc, K_INDEX, "index.json")) < 0)
		goto out;
	snprintf(what, sizeof(what), "index.json");
	for (depth = 0;; depth++) {
		enum kind k;

		if (depth > HM_LIMIT_OCI_INDEX_DEPTH) {
			r = hm_error_set(o->err, HM_ERR_LIMIT, 0,
					 "'%s': image indexes nested deeper than %u (HM_LIMIT_OCI_INDEX_DEPTH)",
					 o->spec, HM_LIMIT_OCI_INDEX_DEPTH);
			goto out;
		}
		if ((r = pick(o, doc, what, &d)) < 0 ||
		    (r = parse_desc(o, d, what, &mt, hex, &size)) < 0)
			goto out;
		k = mt_kind(mt);
		if (k == K_OTHER) {
			r = input_error(o, "%s names sha256:%.12s of media type '%s', neither an image manifest nor an index",
					what, hex, mt);
			goto out;
		}
		snprintf(what, sizeof(what), "%s sha256:%.12s",
			 k == K_INDEX ? "image index" : "image manifest", hex);
		blob_name(name, hex);
		if ((r = load_json(o, name, hex, size, what, &next)) < 0)
			goto out;
		/* The descriptor's media type and the document must agree: an
		 * index where a manifest is expected is refused, and the
		 * reverse. */
		if ((r = check_doc(o, next, k, what)) < 0)
			goto out;
		json_decref(doc);
		doc = next;
		next = NULL;
		if (k == K_MANIFEST)
			break;
	}
	/* doc is the image manifest. */
	if ((r = parse_desc(o, json_object_get(doc, "config"), "the manifest's config",
			    &mt, hex, &size)) < 0)
		goto out;
	if (strcmp(mt, MT_OCI_CONFIG) != 0 && strcmp(mt, MT_DOCKER_CONFIG) != 0) {
		r = input_error(o, "the manifest's config has media type '%s', not an image config", mt);
		goto out;
	}
	blob_name(name, hex);
	if ((r = load_json(o, name, hex, size, "image config", &cfg)) < 0)
		goto out;
	layers = json_object_get(doc, "layers");
	if (!json_is_array(layers)) {
		r = input_error(o, "the image manifest has no layers list");
		goto out;
	}
	if ((r = config_diff_ids(o, cfg, json_array_size(layers), &ids)) < 0 ||
	    (r = start_tree(o, json_array_size(layers))) < 0)
		goto out;
	json_array_foreach(layers, i, d) {
		char diff[65];
		enum compression comp;
		bool ok;

		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if ((r = parse_desc(o, d, what, &mt, hex, &size)) < 0 ||
		    (r = parse_digest(o, json_string_value(json_array_get(ids, i)),
				      "the config's diff_ids", diff)) < 0)
			goto out;
		comp = layer_comp(mt, &ok);
		if (!ok) {
			r = input_error(o, "layer %zu sha256:%.12s: unsupported media type '%s'",
					i + 1, hex, mt);
			goto out;
		}
		blob_name(name, hex);
		if ((r = do_layer(o, (unsigned)i + 1, name, hex, size, diff, comp)) < 0)
			goto out;
	}
	r = 0;
out:
	json_decref(layout);
	json_decref(doc);
	json_decref(next);
	json_decref(cfg);
	return r;
}

/* A name inside the archive, normalized as the member table has it. */
static int archive_path(struct oci *o, const char *s, const char *what,
			struct hm_buf *out)
{
	if (!s || hm_tree_normalize(s, strlen(s), out) < 0 || out->len < 2)
		return input_error(o, "manifest.json: %s is not a valid member name", what);
	return 0;
}

/* The sha256 a docker-archive file name carries: "HEX.json",
 * "blobs/sha256/HEX" or "HEX"; -1 if none. */
static int name_digest(const char *name, char hex[65])
{
	const char *base = strrchr(name, '/');
	unsigned char raw[HM_SHA256_LEN];

	base = base ? base + 1 : name;
	if (strlen(base) < 64 || hm_hex_decode(base, 64, raw, sizeof(raw)) < 0)
		return -1;
	if (base[64] != '\0' && strcmp(base + 64, ".json") != 0)
		return -1;
	memcpy(hex, base, 64);
	hex[64] = '\0';
	return 0;
}

/* A docker-archive: manifest.json names the config and the layers by
 * file; the layers' only digests are the config's diff_ids. */
static int open_docker(struct oci *o)
{
	json_t *top = NULL, *cfg = NULL, *img, *layers, *ids, *jl;
	struct hm_buf p = HM_BUF_INIT;
	char hex[65], diff[65];
	size_t i;
	int r;

	if ((r = load_json(o, "manifest.json", NULL, -1, "manifest.json", &top)) < 0)
		goto out;
	if (!json_is_array(top) || json_array_size(top) != 1) {
		r = input_error(o, "manifest.json must list exactly one image (it lists %zu)",
				json_is_array(top) ? json_array_size(top) : 0);
		goto out;
	}
	img = json_array_get(top, 0);
	if ((r = archive_path(o, json_string_value(json_object_get(img, "Config")),
			      "Config", &p)) < 0)
		goto out;
	if (name_digest(p.data, hex) < 0) {
		r = input_error(o, "manifest.json: the config's name does not carry its sha256 digest");
		goto out;
	}
	if ((r = load_json(o, p.data + 1, hex, -1, "image config", &cfg)) < 0)
		goto out;
	layers = json_object_get(img, "Layers");
	if (!json_is_array(layers)) {
		r = input_error(o, "manifest.json has no Layers list");
		goto out;
	}
	if ((r = config_diff_ids(o, cfg, json_array_size(layers), &ids)) < 0 ||
	    (r = start_tree(o, json_array_size(layers))) < 0)
		goto out;
	json_array_foreach(layers, i, jl) {
		char what[32];

		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if ((r = archive_path(o, json_string_value(jl), what, &p)) < 0 ||
		    (r = parse_digest(o, json_string_value(json_array_get(ids, i)),
				      "the config's diff_ids", diff)) < 0)
			goto out;
		if ((r = do_layer(o, (unsigned)i + 1, p.data + 1, NULL, -1, diff,
				  COMP_ANY)) < 0)
			goto out;
	}
	r = 0;
out:
	json_decref(top);
	json_decref(cfg);
	hm_buf_free(&p);
	return r;
}

int hm_source_oci_open(const char *spec, bool is_dir,
		       const struct hm_scan_options *opt,
		       struct hm_source **ret, struct hm_error *err)
{
	struct oci o = { .spec = spec, .is_dir = is_dir, .fd = -1, .opt = opt,
			 .err = err };
	struct stat st;
	size_t i;
	int r;

	if (!is_dir && strcmp(spec, "-") == 0)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "oci: needs a file, not standard input (its blobs are read in place)");
	o.fd = open(spec, O_RDONLY | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0));
	if (o.fd < 0)
		return hm_error_set(err, errno == ENOTDIR ? HM_ERR_USAGE : HM_ERR_IO,
				    errno, "cannot open '%s'", spec);
	if (fstat(o.fd, &st) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'", spec);
		goto out;
	}
	if (!is_dir && !S_ISREG(st.st_mode)) {
		r = hm_error_set(err, HM_ERR_USAGE, 0,
				 "'%s' is not a regular file%s", spec,
				 S_ISDIR(st.st_mode) ? " (use oci-dir: for a layout folder)" : "");
		goto out;
	}
	if (is_dir) {
		r = open_layout(&o);
	} else {
		if ((r = scan_archive(&o)) < 0)
			goto out;
		/* Told apart by content: an OCI layout if it has one (docker
		 * 25 writes both), else a docker-archive. */
		if (find_member(&o, "oci-layout") && find_member(&o, "index.json"))
			r = open_layout(&o);
		else if (find_member(&o, "manifest.json"))
			r = open_docker(&o);
		else
			r = input_error(&o, "neither an OCI image archive (oci-layout, index.json) nor a docker-archive (manifest.json)");
	}
	if (r < 0)
		goto out;
	r = hm_tree_source(o.tree, true, ret, err);
	o.tree = NULL;
out:
	hm_tree_free(o.tree);
	for (i = 0; i < o.n_m; i++)
		free(o.m[i].name);
	free(o.m);
	if (o.fd >= 0)
		close(o.fd);
	return r;
}
