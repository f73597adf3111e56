/*
 * Verification policies (docs/policy-format.md): three lists of globs
 * read from YAML, and the queries compare and the scanners ask for every
 * path.  A verify asks them for each of up to millions of paths, so each
 * glob carries its literal prefix (tested with memcmp before the matcher
 * runs) and globs without any wildcard live in a sorted array searched by
 * bisection.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/policy.h"
#include "hallmark/source.h"
#include "hallmark/yaml.h"

struct glob {
	char *pat;            /* checked, NUL-terminated */
	char *lit;            /* unescaped bytes before the first wildcard */
	size_t lit_len;
	/* For "PREFIX/" "**": PREFIX as a glob ("" for "/" "**"), else NULL.
	 * Such a glob matches every path strictly below whatever PREFIX
	 * matches, which is what hm_policy_ignores_below needs. */
	char *below;
	unsigned long line;   /* in the policy file; 0 if added in code */
	/* Matched a manifest path (hm_policy_mark_manifest): the one thing
	 * that changes in a loaded policy, written only by compare's join. */
	bool used;
};

struct glob_list {
	struct glob *wild;    /* globs with a wildcard, in the order given */
	size_t n_wild, cap_wild;
	struct glob *exact;   /* no wildcard: sorted by lit (bytewise) */
	size_t n_exact, cap_exact;
};

struct hm_policy {
	struct glob_list lists[3];
	size_t total;
	char *description;
	char *name;           /* the file, for warnings; or NULL */
};

static void glob_clear(struct glob *g)
{
	free(g->pat);
	free(g->lit);
	free(g->below);
}

int hm_policy_new(struct hm_policy **ret, struct hm_error *err)
{
	struct hm_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return hm_error_nomem(err);
	*ret = p;
	return 0;
}

void hm_policy_free(struct hm_policy *p)
{
	size_t i, j;

	if (!p)
		return;
	for (i = 0; i < 3; i++) {
		struct glob_list *l = &p->lists[i];

		for (j = 0; j < l->n_wild; j++)
			glob_clear(&l->wild[j]);
		for (j = 0; j < l->n_exact; j++)
			glob_clear(&l->exact[j]);
		free(l->wild);
		free(l->exact);
	}
	free(p->description);
	free(p->name);
	free(p);
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Fill lit with the literal prefix of a checked pattern; true if the
 * whole pattern is literal. */
static bool literal_prefix(const char *pat, char *lit, size_t *ret_len)
{
	size_t n = 0;

	for (;;) {
		char c = *pat;

		if (!c) {
			*ret_len = n;
			return true;
		}
		if (c == '*' || c == '?' || c == '[') {
			*ret_len = n;
			return false;
		}
		if (c == '\\')
			c = *++pat;
		lit[n++] = c;
		pat++;
	}
}

static int grow(struct glob **v, size_t n, size_t *cap)
{
	struct glob *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*v, ncap * sizeof(*nv));
	if (!nv)
		return HM_ERR_NOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* Index of the first exact glob >= (s, len). */
static size_t exact_lower_bound(const struct glob_list *l, const char *s,
				size_t len)
{
	size_t lo = 0, hi = l->n_exact;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct glob *g = &l->exact[mid];

		if (bytes_cmp(g->lit, g->lit_len, s, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int add_glob(struct hm_policy *p, enum hm_policy_list list,
		    const char *glob, unsigned long line, struct hm_error *err);

int hm_policy_add(struct hm_policy *p, enum hm_policy_list list,
		  const char *glob, struct hm_error *err)
{
	return add_glob(p, list, glob, 0, err);
}

static int add_glob(struct hm_policy *p, enum hm_policy_list list,
		    const char *glob, unsigned long line, struct hm_error *err)
{
	struct glob g = { 0 };
	struct glob_list *l;
	size_t len;
	bool exact;
	int r;

	if (!p || !glob || (unsigned)list > HM_POLICY_MAY_ADD)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "hm_policy_add: bad arguments");
	len = strlen(glob);
	r = hm_glob_check(glob, len, err);
	if (r < 0)
		return r;
	if (p->total >= HM_LIMIT_POLICY_GLOBS)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "more than HM_LIMIT_POLICY_GLOBS (%u) globs",
				    HM_LIMIT_POLICY_GLOBS);
	l = &p->lists[list];
	g.pat = strdup(glob);
	g.lit = malloc(len + 1);
	if (!g.pat || !g.lit)
		goto nomem;
	g.line = line;
	exact = literal_prefix(glob, g.lit, &g.lit_len);
	g.lit[g.lit_len] = '\0';
	if (len >= 3 && !strcmp(glob + len - 3, "/**")) {
		/* The '/' cannot be escaped (hm_glob_check), so "**" is a
		 * whole last component. */
		g.below = strndup(glob, len - 3);
		if (!g.below)
			goto nomem;
	}
	if (exact) {
		size_t at = exact_lower_bound(l, g.lit, g.lit_len);

		if (at < l->n_exact &&
		    !bytes_cmp(l->exact[at].lit, l->exact[at].lit_len, g.lit,
			       g.lit_len)) {
			glob_clear(&g);         /* already there */
			return 0;
		}
		if (grow(&l->exact, l->n_exact, &l->cap_exact) < 0)
			goto nomem;
		memmove(&l->exact[at + 1], &l->exact[at],
			(l->n_exact - at) * sizeof(g));
		l->exact[at] = g;
		l->n_exact++;
	} else {
		if (grow(&l->wild, l->n_wild, &l->cap_wild) < 0)
			goto nomem;
		l->wild[l->n_wild++] = g;
	}
	p->total++;
	return 0;
nomem:
	glob_clear(&g);
	return hm_error_nomem(err);
}

static bool list_match(const struct hm_policy *p, enum hm_policy_list list,
		       const char *path, size_t len)
{
	const struct glob_list *l;
	size_t i, at;

	if (!p)
		return false;
	l = &p->lists[list];
	if (l->n_exact) {
		at = exact_lower_bound(l, path, len);
		if (at < l->n_exact && l->exact[at].lit_len == len &&
		    !memcmp(l->exact[at].lit, path, len))
			return true;
	}
	for (i = 0; i < l->n_wild; i++) {
		const struct glob *g = &l->wild[i];

		if (len < g->lit_len || memcmp(path, g->lit, g->lit_len))
			continue;
		if (hm_glob_match(g->pat, path, len))
			return true;
	}
	return false;
}

/*
 * A glob is of use if it matches a manifest path; "PREFIX/" "**" also if
 * PREFIX does (ignore: [/proc/ "**"] is about the manifest's /proc, even
 * when the manifest has nothing below it).
 */
static bool glob_of_use(const struct glob *g, const char *path, size_t len)
{
	size_t blen, n;

	if (len >= g->lit_len && !memcmp(path, g->lit, g->lit_len) &&
	    hm_glob_match(g->pat, path, len))
		return true;
	if (!g->below)
		return false;
	if (!g->below[0])
		return len == 1 && path[0] == '/';      /* "/" "**" */
	/* Whatever PREFIX matches starts with the literal prefix. */
	blen = strlen(g->below);
	n = g->lit_len < blen ? g->lit_len : blen;
	return len >= n && !memcmp(path, g->lit, n) &&
	       hm_glob_match(g->below, path, len);
}

void hm_policy_mark_manifest(const struct hm_policy *p, const char *path,
			     size_t len)
{
	static const enum hm_policy_list lists[] = {
		HM_POLICY_IGNORE, HM_POLICY_MAY_CHANGE,
	};
	size_t i, k, at;

	if (!p)
		return;
	for (k = 0; k < 2; k++) {
		const struct glob_list *l = &p->lists[lists[k]];

		if (l->n_exact) {
			at = exact_lower_bound(l, path, len);
			if (at < l->n_exact && l->exact[at].lit_len == len &&
			    !memcmp(l->exact[at].lit, path, len))
				l->exact[at].used = true;
		}
		for (i = 0; i < l->n_wild; i++)
			if (!l->wild[i].used && glob_of_use(&l->wild[i], path, len))
				l->wild[i].used = true;
	}
}

void hm_policy_each_unused(const struct hm_policy *p, hm_policy_unused_fn fn,
			   void *ctx)
{
	static const struct {
		enum hm_policy_list list;
		const char *name;
	} lists[] = {
		{ HM_POLICY_IGNORE, "ignore" }, { HM_POLICY_MAY_CHANGE, "may_change" },
	};
	size_t i, k;

	if (!p)
		return;
	for (k = 0; k < 2; k++) {
		const struct glob_list *l = &p->lists[lists[k].list];

		for (i = 0; i < l->n_wild; i++)
			if (!l->wild[i].used)
				fn(ctx, p->name, l->wild[i].line, lists[k].name,
				   l->wild[i].pat);
		for (i = 0; i < l->n_exact; i++)
			if (!l->exact[i].used)
				fn(ctx, p->name, l->exact[i].line, lists[k].name,
				   l->exact[i].pat);
	}
}

bool hm_policy_ignored(const struct hm_policy *p, const char *path, size_t len)
{
	return list_match(p, HM_POLICY_IGNORE, path, len);
}

bool hm_policy_may_change(const struct hm_policy *p, const char *path,
			  size_t len)
{
	return list_match(p, HM_POLICY_MAY_CHANGE, path, len);
}

bool hm_policy_may_add(const struct hm_policy *p, const char *path, size_t len)
{
	return list_match(p, HM_POLICY_MAY_ADD, path, len);
}

/*
 * "PREFIX/" "**" matches every path below anything PREFIX matches, so
 * everything below dir is ignored when PREFIX matches dir or one of its
 * ancestors.  (When PREFIX itself ends in "**", matching it on its own
 * asks for one component more than it stands for inside the longer glob:
 * this can only say "no" where "yes" was right, never the reverse.)
 * Only globs ending in "**" can cover an unbounded subtree, so no other
 * form is missed that matters to a scan.
 */
/* True if a glob of l has the form PREFIX/ + "**" where PREFIX matches dir
 * or one of its ancestors, so that every path below dir matches. */
static bool list_covers_below(const struct glob_list *l, const char *dir,
			      size_t len)
{
	size_t i, j;

	if (len == 0 || dir[0] != '/')
		return false;
	for (i = 0; i < l->n_wild; i++) {
		const struct glob *g = &l->wild[i];
		size_t blen, n;

		if (!g->below)
			continue;
		if (!g->below[0])
			return true;            /* "/" "**" */
		/* Whatever PREFIX matches starts with the literal prefix. */
		blen = strlen(g->below);
		n = g->lit_len < blen ? g->lit_len : blen;
		if (len < n || memcmp(dir, g->lit, n))
			continue;
		for (j = 1; j <= len; j++) {
			if ((j == len || dir[j] == '/') &&
			    hm_glob_match(g->below, dir, j))
				return true;
		}
	}
	return false;
}

bool hm_policy_ignores_below(const struct hm_policy *p, const char *dir,
			     size_t len)
{
	return p && list_covers_below(&p->lists[HM_POLICY_IGNORE], dir, len);
}

bool hm_policy_may_add_below(const struct hm_policy *p, const char *dir,
			     size_t len)
{
	return p && list_covers_below(&p->lists[HM_POLICY_MAY_ADD], dir, len);
}

static bool filter_skip_entry(void *ctx, const char *path, size_t len)
{
	return hm_policy_ignored(ctx, path, len);
}

static bool filter_skip_subtree(void *ctx, const char *path, size_t len)
{
	return hm_policy_ignores_below(ctx, path, len);
}

void hm_policy_source_filter(const struct hm_policy *p,
			     struct hm_source_filter *ret)
{
	ret->skip_entry = p ? filter_skip_entry : NULL;
	ret->skip_subtree = p ? filter_skip_subtree : NULL;
	/* The filter only reads the policy; the struct has no const slot. */
	ret->ctx = (void *)(uintptr_t)p;
}

/* YAML */

static const char *const top_keys[] = {
	"version", "description", "ignore", "may_change", "may_add", NULL
};

static int parse_list(struct hm_policy *p, const struct hm_yaml_doc *doc,
		      const char *key, const struct hm_yaml_node *v,
		      enum hm_policy_list list, struct hm_error *err)
{
	size_t i;
	int r;

	if (hm_yaml_is_null(v))
		return 0;               /* "ignore:" with nothing under it */
	if (v->kind != HM_YAML_SEQUENCE)
		return hm_yaml_error(err, HM_ERR_INPUT, doc, v,
				     "'%s' must be a sequence of globs, not %s",
				     key, hm_yaml_what(v));
	for (i = 0; i < v->n; i++) {
		const struct hm_yaml_node *it = v->items[i];

		if (it->kind != HM_YAML_SCALAR || hm_yaml_is_null(it))
			return hm_yaml_error(err, HM_ERR_INPUT, doc, it,
					     "'%s' items must be globs, not %s",
					     key, hm_yaml_what(it));
		/* Checked with its length: a "\0" escape must not hide the
		 * rest of the glob. */
		r = hm_glob_check(it->str, it->len, err);
		if (r >= 0)
			r = add_glob(p, list, it->str, it->line, err);
		if (r < 0)
			return hm_error_prefix(err, "%s:%lu:%lu", doc->name,
					       it->line, it->col);
	}
	return 0;
}

int hm_policy_parse(const char *data, size_t len, const char *name,
		    struct hm_policy **ret, struct hm_error *err)
{
	struct hm_yaml_doc *doc = NULL;
	struct hm_policy *p = NULL;
	const struct hm_yaml_node *root, *v;
	const char *s;
	uint64_t version;
	int r;

	r = hm_yaml_parse(data, len, name, &doc, err);
	if (r < 0)
		goto out;
	root = doc->root;
	r = hm_yaml_check_keys(doc, root, "a policy", top_keys, err);
	if (r < 0)
		goto out;
	r = hm_policy_new(&p, err);
	if (r < 0)
		goto out;
	if (name && !(p->name = strdup(name))) {
		r = hm_error_nomem(err);
		goto out;
	}
	v = hm_yaml_get(root, "version");
	if (v) {
		r = hm_yaml_uint(doc, v, "'version'", UINT64_MAX, &version, err);
		if (r < 0)
			goto out;
		if (version != 1) {
			r = hm_yaml_error(err, HM_ERR_INPUT, doc, v,
					  "unsupported policy version %llu (this hallmark reads version 1)",
					  (unsigned long long)version);
			goto out;
		}
	}
	v = hm_yaml_get(root, "description");
	if (v && !hm_yaml_is_null(v)) {
		r = hm_yaml_string(doc, v, "'description'", &s, err);
		if (r < 0)
			goto out;
		p->description = strdup(s);
		if (!p->description) {
			r = hm_error_nomem(err);
			goto out;
		}
	}
	/* In document order, so the first bad glob is the one reported. */
	for (size_t i = 0; i < root->n; i++) {
		const struct hm_yaml_node *k = root->keys[i];
		static const struct {
			const char *key;
			enum hm_policy_list list;
		} lists[] = {
			{ "ignore", HM_POLICY_IGNORE },
			{ "may_change", HM_POLICY_MAY_CHANGE },
			{ "may_add", HM_POLICY_MAY_ADD },
		};

		for (size_t j = 0; j < 3; j++) {
			if (strcmp(k->str, lists[j].key) != 0)
				continue;
			r = parse_list(p, doc, lists[j].key, root->items[i],
				       lists[j].list, err);
			if (r < 0)
				goto out;
		}
	}
	*ret = p;
	p = NULL;
	r = 0;
out:
	hm_policy_free(p);
	hm_yaml_free(doc);
	return r;
}

int hm_policy_load(const char *path, struct hm_policy **ret,
		   struct hm_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	r = hm_read_file(path, HM_LIMIT_YAML_BYTES, &data, &len, err);
	if (r < 0)
		return r;
	r = hm_policy_parse(data, len, path, ret, err);
	free(data);
	return r;
}
