/*
 * In-memory trees (include/hallmark/tree.h).
 *
 * One node per path component.  Children are found through one hash table
 * for the whole tree, keyed by (parent node, name) with SipHash under a
 * per-tree random key, so that a hostile archive of a million names in
 * one directory costs amortised O(1) per insertion and cannot be made to
 * collide.  Each node also keeps an unsorted array of its children (with
 * every child's index in it, for O(1) removal); the array is sorted by
 * name only when the tree is walked, and stays sorted until the next
 * change, so repeated walks cost nothing extra.  Sorting sibling names
 * bytewise with the shorter of two prefix-equal names first is exactly
 * hm_path_cmp order for a depth-first walk, since names hold no '/'.
 *
 * Nothing recurses on the C stack: walks use an explicit stack, and a
 * subtree is freed by going down to its last leaf and back up through the
 * parent pointers, so depth HM_LIMIT_DEPTH is harmless.
 *
 * Tombstones (HM_ENTRY_DELETED) are nodes without children; they are
 * yielded by walks and sources but are not entries: hm_tree_get() and
 * hm_tree_get_mut() return NULL for them, hm_tree_count() skips them, and
 * a put at their path or below them replaces them without a duplicate
 * error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hallmark/buf.h"
#include "hallmark/limits.h"
#include "hallmark/manifest.h"
#include "hallmark/policy.h"
#include "hallmark/tree.h"

struct node {
	struct node *parent;
	struct node *hnext;     /* hash chain */
	uint64_t hash;
	struct hm_entry *e;     /* never NULL */
	struct node **kids;
	size_t n_kids, cap_kids;
	size_t idx;             /* position in parent->kids */
	bool sorted;            /* kids are in name order */
	size_t name_len;
	char name[];
};

struct hm_tree {
	struct node *root;
	struct node **buckets;
	size_t n_buckets;       /* a power of two */
	size_t n_nodes;         /* in the hash: every node but the root */
	size_t count;           /* entries, root included, tombstones not */
	uint64_t key[2];
};

/* ---- SipHash-2-4 ------------------------------------------------------ */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t load64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t siphash(const uint64_t key[2], const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = load64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (; left; left--)
		b |= (uint64_t)p[len - left] << (8 * ((len & 7) - left));
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t name_hash(const struct hm_tree *t, const struct node *parent,
			  const char *name, size_t len)
{
	uint64_t k[2] = { t->key[0] ^ (uint64_t)(uintptr_t)parent, t->key[1] };

	return siphash(k, name, len);
}

/* ---- nodes and the hash ---------------------------------------------- */

static struct node *find_child(const struct hm_tree *t,
			       const struct node *parent,
			       const char *name, size_t len)
{
	uint64_t h;
	struct node *n;

	if (!parent->n_kids)
		return NULL;
	h = name_hash(t, parent, name, len);
	for (n = t->buckets[h & (t->n_buckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->parent == parent &&
		    n->name_len == len && memcmp(n->name, name, len) == 0)
			return n;
	return NULL;
}

static int hash_grow(struct hm_tree *t)
{
	size_t nb = t->n_buckets * 2, i;
	struct node **b, *n, *next;

	b = calloc(nb, sizeof(*b));
	if (!b)
		return HM_ERR_NOMEM;
	for (i = 0; i < t->n_buckets; i++) {
		for (n = t->buckets[i]; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = nb;
	return 0;
}

static void hash_unlink(struct hm_tree *t, struct node *n)
{
	struct node **pp = &t->buckets[n->hash & (t->n_buckets - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	t->n_nodes--;
}

/* A new child of parent holding e (ownership taken only on success). */
static struct node *add_child(struct hm_tree *t, struct node *parent,
			      const char *name, size_t len, struct hm_entry *e)
{
	struct node *n;
	size_t b;

	if (t->n_nodes >= t->n_buckets && hash_grow(t) < 0)
		return NULL;
	if (parent->n_kids == parent->cap_kids) {
		size_t cap = parent->cap_kids ? parent->cap_kids * 2 : 4;
		struct node **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k)
			return NULL;
		parent->kids = k;
		parent->cap_kids = cap;
	}
	n = calloc(1, sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy(n->name, name, len);
	n->name_len = len;
	n->parent = parent;
	n->e = e;
	n->sorted = true;
	n->hash = name_hash(t, parent, name, len);
	b = n->hash & (t->n_buckets - 1);
	n->hnext = t->buckets[b];
	t->buckets[b] = n;
	t->n_nodes++;
	n->idx = parent->n_kids;
	parent->kids[parent->n_kids++] = n;
	if (n->idx > 0) {
		const struct node *prev = parent->kids[n->idx - 1];
		size_t m = prev->name_len < len ? prev->name_len : len;
		int c = memcmp(prev->name, name, m);

		/* Input that arrives sorted stays sorted for free. */
		if (c > 0 || (c == 0 && prev->name_len > len))
			parent->sorted = false;
	}
	return n;
}

static bool is_tombstone(const struct node *n)
{
	return n->e->flags & HM_ENTRY_DELETED;
}

/*
 * Free every node below top (not top itself); returns the number of
 * entries (not tombstones) freed.  With unhash false the hash is left
 * alone (the whole tree is going away).
 */
static size_t free_below(struct hm_tree *t, struct node *top, bool unhash)
{
	struct node *cur = top, *p;
	size_t count = 0;

	for (;;) {
		if (cur->n_kids) {
			cur = cur->kids[cur->n_kids - 1];
			continue;
		}
		if (cur == top)
			break;
		p = cur->parent;
		if (unhash)
			hash_unlink(t, cur);
		if (!is_tombstone(cur))
			count++;
		hm_entry_free(cur->e);
		free(cur->kids);
		free(cur);
		p->n_kids--;
		cur = p;
	}
	free(top->kids);
	top->kids = NULL;
	top->cap_kids = 0;
	top->sorted = true;
	return count;
}

/* Unlink a childless node from its parent and the hash and free it. */
static void free_node(struct hm_tree *t, struct node *n)
{
	struct node *p = n->parent;
	size_t last = p->n_kids - 1;

	if (n->idx != last) {
		p->kids[n->idx] = p->kids[last];
		p->kids[n->idx]->idx = n->idx;
		p->sorted = false;
	}
	p->n_kids--;
	hash_unlink(t, n);
	hm_entry_free(n->e);
	free(n->kids);
	free(n);
}

static int name_cmp(const void *pa, const void *pb)
{
	const struct node *a = *(struct node *const *)pa;
	const struct node *b = *(struct node *const *)pb;
	size_t m = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, m);

	if (c)
		return c;
	return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/* The children in canonical order.  A cache, so fine on a const tree. */
static void sort_kids(struct node *n)
{
	size_t i;

	if (n->sorted)
		return;
	qsort(n->kids, n->n_kids, sizeof(*n->kids), name_cmp);
	for (i = 0; i < n->n_kids; i++)
		n->kids[i]->idx = i;
	n->sorted = true;
}

/* ---- paths ------------------------------------------------------------ */

/*
 * Check a canonical path; 0, or HM_ERR_INPUT / HM_ERR_LIMIT (err filled
 * when err is non-NULL).
 */
static int check_path(const char *path, size_t len, struct hm_error *err)
{
	size_t i, depth = 0, start;

	if (len > HM_LIMIT_PATH_BYTES)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "path of %zu bytes exceeds the limit of %u bytes (HM_LIMIT_PATH_BYTES)",
				    len, HM_LIMIT_PATH_BYTES);
	if (!path || len == 0 || path[0] != '/' || memchr(path, '\0', len))
		goto bad;
	if (len == 1)
		return 0;
	for (i = 1; i <= len; i = start + 1) {
		size_t clen;

		start = i;
		while (start < len && path[start] != '/')
			start++;
		clen = start - i;
		if (clen == 0 || (clen == 1 && path[i] == '.') ||
		    (clen == 2 && path[i] == '.' && path[i + 1] == '.'))
			goto bad;
		if (++depth > HM_LIMIT_DEPTH)
			return hm_error_set(err, HM_ERR_LIMIT, 0,
					    "path deeper than the limit of %u components (HM_LIMIT_DEPTH)",
					    HM_LIMIT_DEPTH);
	}
	return 0;
bad:
	if (err) {
		struct hm_buf q = HM_BUF_INIT;

		hm_escape(&q, path ? path : "", path ? strnlen(path, len) : 0, 0);
		hm_error_set(err, HM_ERR_INPUT, 0, "'%s': not a canonical path",
			     q.data ? q.data : "");
		hm_buf_free(&q);
	}
	return HM_ERR_INPUT;
}

/* The node at a canonical path, or NULL (tombstones included). */
static struct node *lookup(const struct hm_tree *t, const char *path,
			   size_t len)
{
	struct node *n = t->root;
	size_t i, end;

	if (check_path(path, len, NULL) < 0)
		return NULL;
	for (i = 1; n && i < len; i = end + 1) {
		end = i;
		while (end < len && path[end] != '/')
			end++;
		n = find_child(t, n, path + i, end - i);
	}
	return n;
}

static struct hm_entry *implicit_dir(const char *path, size_t len)
{
	struct hm_entry *e = hm_entry_new();

	if (!e || hm_entry_set_path(e, path, len) < 0) {
		hm_entry_free(e);
		return NULL;
	}
	e->type = HM_TYPE_DIR;
	e->mode = 0755;
	e->flags = HM_ENTRY_IMPLICIT;
	return e;
}

/* The escaped path for a message, its first QUOTE_MAX bytes and "..."
 * if longer. */
#define QUOTE_MAX 256
static int escape_short(struct hm_buf *q, const char *path, size_t len)
{
	bool cut = len > QUOTE_MAX;

	if (hm_escape(q, path, cut ? QUOTE_MAX : len, 0) < 0 ||
	    (cut && hm_buf_adds(q, "...") < 0) || hm_buf_grow(q, 0) < 0)
		return HM_ERR_NOMEM;
	return 0;
}

/* Fill err with "FMT" where %s is the escaped path. */
static int path_error(struct hm_error *err, int code, const char *what,
		      const char *path, size_t len)
{
	struct hm_buf q = HM_BUF_INIT;

	if (hm_escape(&q, path, len, 0) < 0 || hm_buf_grow(&q, 0) < 0) {
		hm_buf_free(&q);
		return hm_error_nomem(err);
	}
	hm_error_set(err, code, 0, "%s '%s'", what, q.data ? q.data : "");
	hm_buf_free(&q);
	return code;
}

/* ---- public ----------------------------------------------------------- */

int hm_tree_new(struct hm_tree **ret, struct hm_error *err)
{
	struct hm_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return hm_error_nomem(err);
	t->n_buckets = 64;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	t->root = calloc(1, sizeof(*t->root) + 1);
	if (!t->buckets || !t->root)
		goto nomem;
	t->root->sorted = true;
	t->root->e = implicit_dir("/", 1);
	if (!t->root->e)
		goto nomem;
	if (getrandom(t->key, sizeof(t->key), GRND_NONBLOCK) != sizeof(t->key)) {
		/* Without entropy: still a good hash, only not secret. */
		t->key[0] = (uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ULL;
		t->key[1] = (uint64_t)(uintptr_t)t->buckets * 0xff51afd7ed558ccdULL;
	}
	t->count = 1;
	*ret = t;
	return 0;
nomem:
	if (t->root)
		hm_entry_free(t->root->e);
	free(t->root);
	free(t->buckets);
	free(t);
	return hm_error_nomem(err);
}

void hm_tree_free(struct hm_tree *t)
{
	if (!t)
		return;
	free_below(t, t->root, false);
	hm_entry_free(t->root->e);
	free(t->root);
	free(t->buckets);
	free(t);
}

int hm_tree_put_take(struct hm_tree *t, struct hm_entry *e, bool replace,
		     struct hm_error *err)
{
	struct node *n = t->root, *c;
	const char *path;
	size_t len, i, end;
	int r;

	if (!e)
		return hm_error_nomem(err);
	path = e->path;
	len = e->path_len;
	if ((r = check_path(path, len, err)) < 0)
		goto fail;
	if (len == 1) {
		if (e->type != HM_TYPE_DIR) {
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "'/': the root must be a directory, not a %s",
					 hm_type_name(e->type));
			goto fail;
		}
		c = t->root;
		goto replace_node;
	}
	for (i = 1;; i = end + 1) {
		end = i;
		while (end < len && path[end] != '/')
			end++;
		c = find_child(t, n, path + i, end - i);
		if (end == len)
			break;
		if (!c) {
			struct hm_entry *d = implicit_dir(path, end);

			if (!d || !(c = add_child(t, n, path + i, end - i, d))) {
				hm_entry_free(d);
				r = hm_error_nomem(err);
				goto fail;
			}
			t->count++;
		} else if (is_tombstone(c)) {
			struct hm_entry *d = implicit_dir(path, end);

			if (!d) {
				r = hm_error_nomem(err);
				goto fail;
			}
			d->origin = c->e->origin;
			hm_entry_free(c->e);
			c->e = d;
			t->count++;
		} else if (c->e->type != HM_TYPE_DIR) {
			struct hm_buf q = HM_BUF_INIT, qp = HM_BUF_INIT;

			/* Shortened: a path of thousands of bytes would push
			 * the reason out of the message. */
			if (escape_short(&q, path, len) < 0 ||
			    escape_short(&qp, path, end) < 0) {
				r = hm_error_nomem(err);
			} else {
				r = hm_error_set(err, HM_ERR_INPUT, 0,
						 "'%s': parent '%s' is a %s",
						 q.data, qp.data,
						 hm_type_name(c->e->type));
			}
			hm_buf_free(&q);
			hm_buf_free(&qp);
			goto fail;
		}
		n = c;
	}
	if (!c) {
		if (!add_child(t, n, path + i, end - i, e)) {
			r = hm_error_nomem(err);
			goto fail;
		}
		t->count++;
		return 0;
	}
replace_node:
	if (is_tombstone(c)) {
		t->count++;
	} else if (!replace && !(c->e->flags & HM_ENTRY_IMPLICIT)) {
		r = path_error(err, HM_ERR_INPUT, "duplicate entry", path, len);
		goto fail;
	}
	/* A directory over a directory updates its metadata; anything else
	 * starts afresh (only directories have children). */
	if (e->type != HM_TYPE_DIR || c->e->type != HM_TYPE_DIR)
		t->count -= free_below(t, c, true);
	hm_entry_free(c->e);
	c->e = e;
	return 0;
fail:
	hm_entry_free(e);
	return r;
}

const struct hm_entry *hm_tree_get(const struct hm_tree *t, const char *path,
				   size_t len)
{
	const struct node *n = lookup(t, path, len);

	return n && !is_tombstone(n) ? n->e : NULL;
}

struct hm_entry *hm_tree_get_mut(struct hm_tree *t, const char *path,
				 size_t len)
{
	struct node *n = lookup(t, path, len);

	return n && !is_tombstone(n) ? n->e : NULL;
}

/*
 * Removing "/" removes everything below it: the root itself always stays
 * (it has no place for a tombstone).
 */
long hm_tree_remove(struct hm_tree *t, const char *path, size_t len,
		    struct hm_entry *tombstone)
{
	struct node *n = lookup(t, path, len);
	size_t count;

	if (!n || is_tombstone(n) || n == t->root) {
		hm_entry_free(tombstone);
		return n == t->root ? hm_tree_clear_below(t, path, len) : 0;
	}
	if (tombstone && hm_entry_set_path(tombstone, path, len) < 0) {
		hm_entry_free(tombstone);
		return HM_ERR_NOMEM;
	}
	count = free_below(t, n, true) + 1;
	if (tombstone) {
		tombstone->flags |= HM_ENTRY_DELETED;
		hm_entry_free(n->e);
		n->e = tombstone;
	} else {
		free_node(t, n);
	}
	t->count -= count;
	return (long)count;
}

long hm_tree_clear_below(struct hm_tree *t, const char *dir, size_t len)
{
	struct node *n = lookup(t, dir, len);
	size_t count;

	if (!n || is_tombstone(n))
		return 0;
	count = free_below(t, n, true);
	t->count -= count;
	return (long)count;
}

size_t hm_tree_count(const struct hm_tree *t)
{
	return t->count;
}

/* ---- iteration -------------------------------------------------------- */

struct frame {
	struct node *n;
	size_t i;
};

struct iter {
	struct frame *st;
	size_t depth, cap;
	bool started;
};

static int iter_push(struct iter *it, struct node *n)
{
	if (it->depth == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 32;
		struct frame *f = realloc(it->st, cap * sizeof(*f));

		if (!f)
			return HM_ERR_NOMEM;
		it->st = f;
		it->cap = cap;
	}
	sort_kids(n);
	it->st[it->depth].n = n;
	it->st[it->depth].i = 0;
	it->depth++;
	return 0;
}

/* 1 and *ret: the next node; 0: done; <0: HM_ERR_NOMEM. */
static int iter_next(const struct hm_tree *t, struct iter *it,
		     const struct node **ret)
{
	if (!it->started) {
		it->started = true;
		if (iter_push(it, t->root) < 0)
			return HM_ERR_NOMEM;
		*ret = t->root;
		return 1;
	}
	while (it->depth) {
		struct frame *f = &it->st[it->depth - 1];
		struct node *c;

		if (f->i == f->n->n_kids) {
			it->depth--;
			continue;
		}
		c = f->n->kids[f->i++];
		if (c->n_kids && iter_push(it, c) < 0)
			return HM_ERR_NOMEM;
		*ret = c;
		return 1;
	}
	return 0;
}

int hm_tree_walk(const struct hm_tree *t,
		 int (*fn)(void *ctx, const struct hm_entry *e), void *ctx)
{
	struct iter it = { 0 };
	const struct node *n;
	int r;

	while ((r = iter_next(t, &it, &n)) > 0) {
		if ((r = fn(ctx, n->e)) < 0)
			break;
	}
	free(it.st);
	return r < 0 ? r : 0;
}

/* ---- entries by glob ------------------------------------------------------ */

struct glob_hits {
	const char *glob;
	char **paths;
	size_t n, cap;
};

static int glob_hit(void *ctx, const struct hm_entry *e)
{
	struct glob_hits *g = ctx;

	if (e->flags & HM_ENTRY_DELETED)
		return 0;
	if (!hm_glob_match(g->glob, e->path, e->path_len))
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		char **p = realloc(g->paths, cap * sizeof(*p));

		if (!p)
			return HM_ERR_NOMEM;
		g->paths = p;
		g->cap = cap;
	}
	if (!(g->paths[g->n] = strdup(e->path)))
		return HM_ERR_NOMEM;
	g->n++;
	return 0;
}

void hm_tree_paths_free(char **paths, size_t n)
{
	size_t i;

	for (i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
}

int hm_tree_glob(const struct hm_tree *t, const char *glob, char ***ret,
		 size_t *ret_n, struct hm_error *err)
{
	struct glob_hits g = { glob, NULL, 0, 0 };

	if (hm_tree_walk(t, glob_hit, &g) < 0) {
		hm_tree_paths_free(g.paths, g.n);
		return hm_error_nomem(err);
	}
	*ret = g.paths;
	*ret_n = g.n;
	return 0;
}

/*
 * The matches are gathered first and removed after the walk: the walk
 * must not see the tree change under it.  A match below an earlier one
 * is already gone with its parent's subtree and counts nothing.
 */
int hm_tree_remove_glob(struct hm_tree *t, const char *glob,
			uint64_t *ret_removed, struct hm_error *err)
{
	uint64_t removed = 0;
	char **paths;
	size_t i, n;
	int r;

	if ((r = hm_tree_glob(t, glob, &paths, &n, err)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		long k;

		if (!strcmp(paths[i], "/"))
			continue;   /* the root cannot go */
		if ((k = hm_tree_remove(t, paths[i], strlen(paths[i]), NULL)) > 0)
			removed += (uint64_t)k;
	}
	hm_tree_paths_free(paths, n);
	if (ret_removed)
		*ret_removed = removed;
	return 0;
}

struct tree_source {
	struct hm_source base;
	struct hm_tree *t;
	bool take;
	struct iter it;
};

static int tree_source_next(struct hm_source *src, const struct hm_entry **ret,
			    struct hm_error *err)
{
	struct tree_source *s = (struct tree_source *)src;
	const struct node *n;
	int r = iter_next(s->t, &s->it, &n);

	if (r < 0)
		return hm_error_nomem(err);
	if (r > 0)
		*ret = n->e;
	return r;
}

static void tree_source_free(struct hm_source *src)
{
	struct tree_source *s = (struct tree_source *)src;

	free(s->it.st);
	if (s->take)
		hm_tree_free(s->t);
	free(s);
}

static const struct hm_source_ops tree_source_ops = {
	.kind = "tree",
	.next = tree_source_next,
	.free = tree_source_free,
};

int hm_tree_source(struct hm_tree *t, bool take, struct hm_source **ret,
		   struct hm_error *err)
{
	struct tree_source *s = calloc(1, sizeof(*s));

	/* On error the tree stays the caller's, whatever take says. */
	if (!s)
		return hm_error_nomem(err);
	s->base.ops = &tree_source_ops;
	s->t = t;
	s->take = take;
	*ret = &s->base;
	return 0;
}

int hm_tree_normalize(const char *name, size_t len, struct hm_buf *out)
{
	size_t i = 0, end;

	hm_buf_reset(out);
	if (memchr(name, '\0', len))
		return -1;
	while (i < len) {
		end = i;
		while (end < len && name[end] != '/')
			end++;
		if (end - i == 2 && name[i] == '.' && name[i + 1] == '.')
			return -1;
		if (end > i && !(end - i == 1 && name[i] == '.')) {
			if (hm_buf_addc(out, '/') < 0 ||
			    hm_buf_add(out, name + i, end - i) < 0)
				return HM_ERR_NOMEM;
		}
		i = end + 1;
	}
	if (out->len == 0 && hm_buf_addc(out, '/') < 0)
		return HM_ERR_NOMEM;
	return 0;
}
