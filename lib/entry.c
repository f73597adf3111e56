/*
 * Entries and the canonical path order.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hallmark/entry.h"
#include "hallmark/error.h"

struct hm_entry *hm_entry_new(void)
{
	return calloc(1, sizeof(struct hm_entry));
}

void hm_entry_clear(struct hm_entry *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->n_xattrs; i++) {
		free(e->xattrs[i].name);
		free(e->xattrs[i].value);
	}
	free(e->xattrs);
	free(e->path);
	free(e->target);
	free(e->note);
	free(e->origin_name);
	memset(e, 0, sizeof(*e));
}

void hm_entry_free(struct hm_entry *e)
{
	if (!e)
		return;
	hm_entry_clear(e);
	free(e);
}

static char *memdup_nul(const void *p, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

int hm_entry_set_path(struct hm_entry *e, const char *path, size_t len)
{
	char *p = memdup_nul(path, len);

	if (!p)
		return HM_ERR_NOMEM;
	free(e->path);
	e->path = p;
	e->path_len = len;
	return 0;
}

int hm_entry_set_target(struct hm_entry *e, const char *target, size_t len)
{
	char *p = memdup_nul(target, len);

	if (!p)
		return HM_ERR_NOMEM;
	free(e->target);
	e->target = p;
	e->target_len = len;
	return 0;
}

int hm_entry_set_note(struct hm_entry *e, const char *note)
{
	char *p = note ? strdup(note) : NULL;

	if (note && !p)
		return HM_ERR_NOMEM;
	free(e->note);
	e->note = p;
	return 0;
}

int hm_entry_add_xattr(struct hm_entry *e, const char *name,
		       const void *value, size_t len)
{
	struct hm_xattr *x;
	char *n;
	unsigned char *v;

	x = realloc(e->xattrs, (e->n_xattrs + 1) * sizeof(*x));
	if (!x)
		return HM_ERR_NOMEM;
	e->xattrs = x;
	n = strdup(name);
	v = malloc(len ? len : 1);
	if (!n || !v) {
		free(n);
		free(v);
		return HM_ERR_NOMEM;
	}
	if (len)
		memcpy(v, value, len);
	x[e->n_xattrs].name = n;
	x[e->n_xattrs].value = v;
	x[e->n_xattrs].len = len;
	e->n_xattrs++;
	return 0;
}

static int xattr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hm_xattr *)a)->name,
		      ((const struct hm_xattr *)b)->name);
}

int hm_entry_sort_xattrs(struct hm_entry *e)
{
	size_t i;

	if (e->n_xattrs > 1)
		qsort(e->xattrs, e->n_xattrs, sizeof(*e->xattrs), xattr_cmp);
	for (i = 1; i < e->n_xattrs; i++)
		if (strcmp(e->xattrs[i - 1].name, e->xattrs[i].name) == 0)
			return HM_ERR_INPUT;
	return 0;
}

const struct hm_xattr *hm_entry_find_xattr(const struct hm_entry *e,
					   const char *name)
{
	size_t i;

	for (i = 0; i < e->n_xattrs; i++)
		if (strcmp(e->xattrs[i].name, name) == 0)
			return &e->xattrs[i];
	return NULL;
}

int hm_entry_copy(struct hm_entry *dst, const struct hm_entry *src)
{
	size_t i;

	hm_entry_clear(dst);
	*dst = *src;
	dst->path = NULL;
	dst->target = NULL;
	dst->note = NULL;
	dst->origin_name = NULL;
	dst->xattrs = NULL;
	dst->n_xattrs = 0;
	if (src->path && hm_entry_set_path(dst, src->path, src->path_len) < 0)
		goto fail;
	if (src->target &&
	    hm_entry_set_target(dst, src->target, src->target_len) < 0)
		goto fail;
	if (src->note && hm_entry_set_note(dst, src->note) < 0)
		goto fail;
	if (src->origin_name && !(dst->origin_name = strdup(src->origin_name)))
		goto fail;
	for (i = 0; i < src->n_xattrs; i++)
		if (hm_entry_add_xattr(dst, src->xattrs[i].name,
				       src->xattrs[i].value,
				       src->xattrs[i].len) < 0)
			goto fail;
	return 0;
fail:
	hm_entry_clear(dst);
	return HM_ERR_NOMEM;
}

int hm_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n; i++) {
		unsigned char ca = (unsigned char)a[i];
		unsigned char cb = (unsigned char)b[i];

		if (ca == cb)
			continue;
		/* '/' ends a component: it ranks below every other byte. */
		if (ca == '/')
			return -1;
		if (cb == '/')
			return 1;
		return ca < cb ? -1 : 1;
	}
	if (alen == blen)
		return 0;
	return alen < blen ? -1 : 1;
}

bool hm_path_is_below(const char *path, size_t len, const char *dir,
		      size_t dlen)
{
	if (dlen == 1 && dir[0] == '/')
		return len > 1 && path[0] == '/';
	return len > dlen && path[dlen] == '/' && memcmp(path, dir, dlen) == 0;
}

static const char *const type_names[] = {
	[HM_TYPE_NONE] = "none",
	[HM_TYPE_FILE] = "file",
	[HM_TYPE_DIR] = "dir",
	[HM_TYPE_SYMLINK] = "symlink",
	[HM_TYPE_CHAR] = "char",
	[HM_TYPE_BLOCK] = "block",
	[HM_TYPE_FIFO] = "fifo",
	[HM_TYPE_SOCKET] = "socket",
};

const char *hm_type_name(enum hm_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "none";
	return type_names[t];
}

enum hm_type hm_type_from_name(const char *s, size_t len)
{
	unsigned t;

	for (t = HM_TYPE_FILE; t <= HM_TYPE_SOCKET; t++)
		if (strlen(type_names[t]) == len &&
		    memcmp(type_names[t], s, len) == 0)
			return (enum hm_type)t;
	return HM_TYPE_NONE;
}

enum hm_type hm_type_from_st_mode(unsigned st_mode)
{
	switch (st_mode & S_IFMT) {
	case S_IFREG: return HM_TYPE_FILE;
	case S_IFDIR: return HM_TYPE_DIR;
	case S_IFLNK: return HM_TYPE_SYMLINK;
	case S_IFCHR: return HM_TYPE_CHAR;
	case S_IFBLK: return HM_TYPE_BLOCK;
	case S_IFIFO: return HM_TYPE_FIFO;
	case S_IFSOCK: return HM_TYPE_SOCKET;
	default: return HM_TYPE_NONE;
	}
}
