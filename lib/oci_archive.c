/*
 * The outer OCI archive, layout folder or docker-archive: where each blob
 * lies (a region of a file, read in place with pread; nothing unpacked),
 * its digest checked before a JSON blob is parsed; and the messages and
 * digests every part of the OCI source uses.
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
#include "hallmark/source.h"
#include "hallmark/source_tar.h"
#include "hallmark/tree.h"

#include "oci_private.h"
#include "source_tar_private.h"

int hm_oci_input_error(struct oci *o, const char *fmt, ...)
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
const char *hm_oci_quote(struct hm_buf *b, const char *s, size_t len)
{
	bool cut = len > QUOTE_MAX;

	hm_buf_reset(b);
	if (hm_escape(b, s, cut ? QUOTE_MAX : len, 0) < 0 ||
	    (cut && hm_buf_adds(b, "...") < 0) || hm_buf_grow(b, 0) < 0)
		return "?";
	return b->data ? b->data : "";
}

/* "sha256:HEX" -> the 64 hex digits (validated, so safe as a file name). */
int hm_oci_parse_digest(struct oci *o, const char *d, const char *where,
			char hex[65])
{
	unsigned char raw[HM_SHA256_LEN];
	size_t len = d ? strlen(d) : 0;

	if (!d || strncmp(d, "sha256:", 7) != 0) {
		struct hm_buf b = HM_BUF_INIT;
		int r = hm_oci_input_error(o, "%s: unsupported digest '%s' (only sha256 is supported)",
				    where, d ? hm_oci_quote(&b, d, len) : "(none)");

		hm_buf_free(&b);
		return r;
	}
	if (len != 7 + 64 || hm_hex_decode(d + 7, 64, raw, sizeof(raw)) < 0)
		return hm_oci_input_error(o, "%s: malformed digest (want sha256: and 64 lowercase hex digits)",
				   where);
	memcpy(hex, d + 7, 64);
	hex[64] = '\0';
	return 0;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name,
		      ((const struct member *)b)->name);
}

const struct member *hm_oci_find_member(const struct oci *o, const char *name)
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
int hm_oci_find_region(struct oci *o, const char *name, struct region *ret)
{
	if (o->is_dir) {
		struct stat st;
		int fd = -1, r = open_in_dir(o, name, &fd, &st);

		if (r == -ENOENT)
			return 0;
		if (r == -EINVAL || r == -ELOOP || r == -ENOTDIR)
			return hm_oci_input_error(o, "'%s' is not a regular file", name);
		if (r < 0)
			return hm_error_set(o->err, HM_ERR_IO, -r,
					    "cannot open '%s/%s'", o->spec, name);
		*ret = (struct region){ .fd = fd, .own_fd = true, .off = 0,
					.size = (uint64_t)st.st_size };
		return 1;
	} else {
		const struct member *m = hm_oci_find_member(o, name);

		if (!m)
			return 0;
		*ret = (struct region){ .fd = o->fd, .off = m->off, .size = m->size };
		return 1;
	}
}

void hm_oci_region_close(struct region *r)
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
int hm_oci_load_json(struct oci *o, const char *name, const char *hex,
		     int64_t want_size, const char *what, json_t **ret)
{
	struct region reg = { .fd = -1 };
	unsigned char *buf = NULL, got[HM_SHA256_LEN], want[HM_SHA256_LEN];
	json_error_t jerr;
	json_t *j;
	int r;

	r = hm_oci_find_region(o, name, &reg);
	if (r < 0)
		return r;
	if (r == 0) {
		if (hex)
			return hm_oci_input_error(o, "%s: missing blob sha256:%s", what, hex);
		return hm_oci_input_error(o, "no '%s' in the image", name);
	}
	if (want_size >= 0 && reg.size != (uint64_t)want_size) {
		r = hm_oci_input_error(o, "%s sha256:%.12s: size mismatch: the descriptor says %" PRId64
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
	if (hm_pread_full(reg.fd, buf, reg.size, reg.off) != (ssize_t)reg.size) {
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
			r = hm_oci_input_error(o, "%s sha256:%.12s: digest mismatch: the blob hashes to sha256:%s",
					what, hex, gh);
			goto out;
		}
	}
	j = json_loadb((const char *)buf, reg.size, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		r = hm_oci_input_error(o, "%s: invalid JSON at line %d: %s", what,
				jerr.line, jerr.text);
		goto out;
	}
	*ret = j;
	r = 0;
out:
	free(buf);
	hm_oci_region_close(&reg);
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
int hm_oci_scan_archive(struct oci *o)
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
		r = hm_oci_input_error(o, "not a tar archive: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		const char *p, *lk;
		bool symbolic;

		ar = archive_read_next_header(a, &ae);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = hm_oci_input_error(o, "not a readable tar archive: %s",
					archive_error_string(a));
			goto out;
		}
		if (archive_filter_count(a) > 1 ||
		    archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE) {
			r = hm_oci_input_error(o, "the archive is compressed (%s): an image archive is read in place, decompress it first",
					archive_filter_name(a, 0));
			goto out;
		}
		symbolic = archive_entry_filetype(ae) == AE_IFLNK;
		lk = symbolic ? archive_entry_symlink(ae) : archive_entry_hardlink(ae);
		if (archive_entry_filetype(ae) != AE_IFREG && !symbolic)
			continue;
		p = archive_entry_pathname(ae);
		if (!p) {
			r = hm_oci_input_error(o, "a member has no name");
			goto out;
		}
		if (hm_tree_normalize(p, strlen(p), &name) < 0 || name.len < 2) {
			r = hm_oci_input_error(o, "member '%s': unsafe name", hm_oci_quote(&qb, p, strlen(p)));
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
			r = hm_oci_input_error(o, "member '%s' is sparse: its data cannot be read in place",
					hm_oci_quote(&qb, p, strlen(p)));
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
			r = hm_oci_input_error(o, "member '%s' appears twice",
					hm_oci_quote(&qb, o->m[i].name, strlen(o->m[i].name)));
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
