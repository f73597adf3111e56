/*
 * The build's runtime spec (runtime.h): the template's section and the
 * sysctl keys of the built tree.  The tree is the one the manifest
 * describes, so the keys signed are exactly those its files set.
 */
#include <stdlib.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/entry.h"
#include "hallmark/limits.h"
#include "hallmark/policy.h"
#include "runtime.h"

/* systemd-sysctl's folders, highest precedence first. */
static const char *const sysctl_dirs[] = {
	"/etc/sysctl.d/*.conf", "/run/sysctl.d/*.conf",
	"/usr/local/lib/sysctl.d/*.conf", "/usr/lib/sysctl.d/*.conf",
	"/lib/sysctl.d/*.conf", NULL,
};

/* Symlinks followed from a sysctl.d name before giving up. */
#define MAX_LINKS 8

struct assign {
	char *key, *value;
	size_t seq;
};

struct sctx {
	const struct hm_tree *tree;
	struct hm_blobstore *store;
	struct hm_runtime_spec *s;
	struct assign *assign;
	size_t n_assign, cap;
	const char **paths;
	size_t n_paths;
	int werr;
	struct hm_error *err;
};

static const char *base_name(const char *p)
{
	return strrchr(p, '/') + 1;
}

static int dir_rank(const char *path)
{
	int i;

	for (i = 0; sysctl_dirs[i]; i++)
		if (hm_glob_match(sysctl_dirs[i], path, strlen(path)))
			break;
	return i;
}

static int collect(void *ctx, const struct hm_entry *e)
{
	struct sctx *c = ctx;
	const char **p;

	if ((e->flags & HM_ENTRY_DELETED) ||
	    (e->type != HM_TYPE_FILE && e->type != HM_TYPE_SYMLINK) ||
	    !sysctl_dirs[dir_rank(e->path)])
		return 0;
	if (!(p = realloc(c->paths, (c->n_paths + 1) * sizeof(*p)))) {
		c->werr = HM_ERR_NOMEM;
		return -1;
	}
	c->paths = p;
	c->paths[c->n_paths++] = e->path;
	return 0;
}

static int cmp_files(const void *x, const void *y)
{
	const char *a = *(const char *const *)x, *b = *(const char *const *)y;
	int r = strcmp(base_name(a), base_name(b));

	return r ? r : dir_rank(a) - dir_rank(b);
}

/*
 * The path a symlink at `at` points to, resolved lexically against its
 * folder into out ("" when it climbs above the root, which the kernel
 * would stop at "/": kept simple, as no sysctl file does that).
 */
static int resolve_link(const char *at, const char *target, size_t tlen,
			struct hm_buf *out)
{
	struct hm_buf raw = { 0 };
	const char *p, *end;
	int r = 0;

	hm_buf_reset(out);
	if (tlen && target[0] != '/')
		r |= hm_buf_add(&raw, at, (size_t)(strrchr(at, '/') - at));
	r |= hm_buf_addc(&raw, '/');
	r |= hm_buf_add(&raw, target, tlen);
	if (r < 0)
		goto out;
	for (p = raw.data, end = raw.data + raw.len; p < end; ) {
		const char *s = memchr(p, '/', (size_t)(end - p));
		size_t n = s ? (size_t)(s - p) : (size_t)(end - p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (out->len && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len)
				out->len--;
		} else if (n && !(n == 1 && p[0] == '.')) {
			r |= hm_buf_addc(out, '/');
			r |= hm_buf_add(out, p, n);
		}
		p += n + 1;
	}
	if (!out->len)
		r |= hm_buf_addc(out, '/');
	if (out->data)
		out->data[out->len] = '\0';
out:
	hm_buf_free(&raw);
	return r < 0 ? HM_ERR_NOMEM : 0;
}

/* Record an assignment; the last of a key wins when they are folded
 * (fold_keys), so a file of many keys costs a sort, not a search each. */
static int set_key(struct sctx *c, const char *key, const char *value)
{
	struct assign *y;

	if (c->n_assign >= HM_LIMIT_RUNTIME_ASSIGNMENTS)
		return HM_ERR_LIMIT;
	if (c->n_assign == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct assign *nv = realloc(c->assign, ncap * sizeof(*nv));

		if (!nv)
			return hm_error_nomem(c->err);
		c->assign = nv;
		c->cap = ncap;
	}
	y = &c->assign[c->n_assign];
	y->seq = c->n_assign;
	y->key = strdup(key);
	y->value = strdup(value);
	if (!y->key || !y->value) {
		free(y->key);
		free(y->value);
		return hm_error_nomem(c->err);
	}
	c->n_assign++;
	return 0;
}

/* By key, then by the order of assignment. */
static int cmp_assign(const void *x, const void *y)
{
	const struct assign *a = x, *b = y;
	int r = strcmp(a->key, b->key);

	return r ? r : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

/* The last assignment of each key, moved into the spec, sorted. */
static int fold_keys(struct sctx *c)
{
	struct hm_runtime_spec *s = c->s;
	size_t i;

	if (c->n_assign > 1)
		qsort(c->assign, c->n_assign, sizeof(*c->assign), cmp_assign);
	if (c->n_assign && !(s->sysctl = calloc(c->n_assign, sizeof(*s->sysctl))))
		return hm_error_nomem(c->err);
	for (i = 0; i < c->n_assign; i++) {
		struct assign *y = &c->assign[i];

		if (i + 1 < c->n_assign && !strcmp(y->key, y[1].key))
			continue;
		s->sysctl[s->n_sysctl].key = y->key;
		s->sysctl[s->n_sysctl++].value = y->value;
		y->key = y->value = NULL;
	}
	if (s->n_sysctl > HM_LIMIT_RUNTIME_LINES)
		return hm_error_set(c->err, HM_ERR_LIMIT, 0,
				    "the image's sysctl configuration sets %zu keys, more than HM_LIMIT_RUNTIME_LINES (%u)",
				    s->n_sysctl, HM_LIMIT_RUNTIME_LINES);
	return 0;
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* One file's assignments (sysctl.d(5)); shown is the image path named in
 * errors, data is NUL-terminated. */
static int parse_file(struct sctx *c, const char *shown, char *data, size_t len)
{
	char *line = data, *end = data + len;
	size_t lineno = 0;
	int r;

	if (memchr(data, '\0', len))
		return hm_error_set(c->err, HM_ERR_INPUT, 0,
				    "%s: a NUL byte: not a sysctl configuration file", shown);
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *next = nl ? nl + 1 : end, *eq, *key, *val, *o;
		size_t n, i;
		bool slash;

		if (nl)
			*nl = '\0';
		lineno++;
		while (blank(*line))
			line++;
		/* A line without '=' is one systemd-sysctl warns about and
		 * skips: it sets nothing. */
		if (!*line || *line == '#' || *line == ';' || !(eq = strchr(line, '='))) {
			line = next;
			continue;
		}
		*eq = '\0';
		key = line;
		/* "-key = v": the write may fail without an error at boot;
		 * the key is still one the image sets. */
		if (*key == '-')
			key++;
		while (blank(*key))
			key++;
		n = strlen(key);
		while (n && blank(key[n - 1]))
			key[--n] = '\0';
		if (strpbrk(key, "*?["))
			return hm_error_set(c->err, HM_ERR_INPUT, 0,
					    "%s:%zu: sysctl key '%.200s' is a glob: the keys it sets depend on the running kernel and cannot be signed; list them one by one",
					    shown, lineno, key);
		/* sysctl.d(5): when the first separator is '/', '/' separates
		 * and '.' is part of a name ("net/ipv4/conf/eth0.1/rp_filter"
		 * is "net.ipv4.conf.eth0/1.rp_filter"). */
		slash = key[strcspn(key, "./")] == '/';
		for (i = 0; slash && i < n; i++)
			key[i] = key[i] == '/' ? '.' : key[i] == '.' ? '/' : key[i];
		if (!hm_runtime_sysctl_key_valid(key, n))
			return hm_error_set(c->err, HM_ERR_INPUT, 0,
					    "%s:%zu: '%.200s' is not a sysctl key",
					    shown, lineno, key);
		/* The value, its runs of blanks folded into one space. */
		val = o = eq + 1;
		while (blank(*val))
			val++;
		for (; *val; val++) {
			if (!blank(*val))
				*o++ = *val;
			else if (val[1] && !blank(val[1]))
				*o++ = ' ';
		}
		*o = '\0';
		r = set_key(c, key, eq + 1);
		if (r == HM_ERR_LIMIT)
			return hm_error_set(c->err, HM_ERR_LIMIT, 0,
					    "%s:%zu: more than %u sysctl assignments in all",
					    shown, lineno, HM_LIMIT_RUNTIME_ASSIGNMENTS);
		if (r < 0)
			return r;
		line = next;
	}
	return 0;
}

/* Read the file at path (following symlinks within the tree) and apply
 * it; a name that leads nowhere, or to /dev/null, sets nothing. */
static int apply(struct sctx *c, const char *path)
{
	struct hm_buf cur = { 0 }, next = { 0 };
	const struct hm_entry *e;
	char *data = NULL;
	size_t len = 0;
	int r = 0, hops;

	if ((r = hm_buf_adds(&cur, path)) < 0) {
		r = hm_error_nomem(c->err);
		goto out;
	}
	for (hops = 0;; hops++) {
		e = hm_tree_get(c->tree, cur.data, cur.len);
		if (!e || (e->flags & HM_ENTRY_DELETED) || !strcmp(cur.data, "/dev/null"))
			goto out;
		if (e->type != HM_TYPE_SYMLINK)
			break;
		if (hops == MAX_LINKS) {
			r = hm_error_set(c->err, HM_ERR_INPUT, 0,
					 "'%s': more than %d symlinks", path, MAX_LINKS);
			goto out;
		}
		if (resolve_link(cur.data, e->target, e->target_len, &next) < 0) {
			r = hm_error_nomem(c->err);
			goto out;
		}
		hm_buf_reset(&cur);
		if (hm_buf_add(&cur, next.data, next.len) < 0) {
			r = hm_error_nomem(c->err);
			goto out;
		}
	}
	if (e->type != HM_TYPE_FILE) {
		r = hm_error_set(c->err, HM_ERR_INPUT, 0,
				 "'%s' is not a regular file", path);
		goto out;
	}
	if (e->size > HM_LIMIT_RUNTIME_SYSCTL_FILE_BYTES) {
		r = hm_error_set(c->err, HM_ERR_LIMIT, 0,
				 "'%s' is larger than %u bytes", cur.data,
				 HM_LIMIT_RUNTIME_SYSCTL_FILE_BYTES);
		goto out;
	}
	if ((r = hm_blob_read(c->store, e->sha256, HM_LIMIT_RUNTIME_SYSCTL_FILE_BYTES,
			      &data, &len, c->err)) < 0) {
		hm_error_prefix(c->err, "'%s'", cur.data);
		goto out;
	}
	r = parse_file(c, cur.data, data, len);
out:
	free(data);
	hm_buf_free(&cur);
	hm_buf_free(&next);
	return r;
}

int hm_runtime_build_spec(const struct hm_runtime_spec *tpl,
			  const struct hm_tree *tree, struct hm_blobstore *store,
			  struct hm_runtime_spec **ret, struct hm_error *err)
{
	struct sctx c = { .tree = tree, .store = store, .err = err };
	size_t i;
	int r;

	if ((r = hm_runtime_spec_dup(tpl, &c.s, err)) < 0)
		return r;
	/* The template's spec has no sysctl; a copy may, if a caller
	 * passed one: the built tree is the only source. */
	for (i = 0; i < c.s->n_sysctl; i++) {
		free(c.s->sysctl[i].key);
		free(c.s->sysctl[i].value);
	}
	free(c.s->sysctl);
	c.s->sysctl = NULL;
	c.s->n_sysctl = 0;

	if (hm_tree_walk(tree, collect, &c) < 0 && c.werr) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (c.n_paths > 1)
		qsort(c.paths, c.n_paths, sizeof(*c.paths), cmp_files);
	for (i = 0; i < c.n_paths; i++) {
		/* The first folder holding a name hides it in the others. */
		if (i && !strcmp(base_name(c.paths[i]), base_name(c.paths[i - 1])))
			continue;
		if ((r = apply(&c, c.paths[i])) < 0)
			goto out;
	}
	/* Read last, as procps' `sysctl --system` does (Debian links it as
	 * /etc/sysctl.d/99-sysctl.conf for systemd-sysctl). */
	if ((r = apply(&c, "/etc/sysctl.conf")) < 0 || (r = fold_keys(&c)) < 0 ||
	    (r = hm_runtime_spec_sort(c.s, err)) < 0)
		goto out;
	*ret = c.s;
	c.s = NULL;
out:
	for (i = 0; i < c.n_assign; i++) {
		free(c.assign[i].key);
		free(c.assign[i].value);
	}
	free(c.assign);
	free(c.paths);
	hm_runtime_spec_free(c.s);
	return r;
}
