/* Unit tests: in-memory trees (lib/tree.c). */
#include "harness.h"

#include "hallmark/buf.h"
#include "hallmark/limits.h"
#include "hallmark/tree.h"

static struct hm_entry *mk(const char *path, enum hm_type type)
{
	struct hm_entry *e = hm_entry_new();

	if (!e)
		return NULL;
	if (hm_entry_set_path(e, path, strlen(path)) < 0) {
		hm_entry_free(e);
		return NULL;
	}
	e->type = type;
	e->mode = type == HM_TYPE_DIR ? 0755 : 0644;
	return e;
}

static int put(struct hm_tree *t, const char *path, enum hm_type type,
	       bool replace, struct hm_error *err)
{
	return hm_tree_put_take(t, mk(path, type), replace, err);
}

static const struct hm_entry *get(const struct hm_tree *t, const char *path)
{
	return hm_tree_get(t, path, strlen(path));
}

/* Every path the walk yields, "|"-joined, tombstones marked with "~". */
static int collect(void *ctx, const struct hm_entry *e)
{
	struct hm_buf *b = ctx;

	if (b->len && hm_buf_addc(b, '|') < 0)
		return HM_ERR_NOMEM;
	if ((e->flags & HM_ENTRY_DELETED) && hm_buf_addc(b, '~') < 0)
		return HM_ERR_NOMEM;
	return hm_buf_add(b, e->path, e->path_len);
}

static char *walk_str(const struct hm_tree *t)
{
	struct hm_buf b = HM_BUF_INIT;

	if (hm_tree_walk(t, collect, &b) < 0 || hm_buf_addc(&b, '\0') < 0) {
		hm_buf_free(&b);
		return NULL;
	}
	return b.data;
}

TEST(new_tree_has_implicit_root)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	const struct hm_entry *r;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	CHECK_EQ_INT(hm_tree_count(t), 1);
	r = get(t, "/");
	CHECK(r != NULL);
	CHECK_EQ_STR(r->path, "/");
	CHECK_EQ_INT(r->type, HM_TYPE_DIR);
	CHECK_EQ_INT(r->mode, 0755);
	CHECK(r->flags & HM_ENTRY_IMPLICIT);
	/* An explicit root replaces it; a non-directory root is refused. */
	CHECK_OK(put(t, "/", HM_TYPE_DIR, false, &err), &err);
	CHECK(!(get(t, "/")->flags & HM_ENTRY_IMPLICIT));
	CHECK_EQ_INT(put(t, "/", HM_TYPE_FILE, true, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "root") != NULL);
	CHECK_EQ_INT(put(t, "/", HM_TYPE_DIR, false, &err), HM_ERR_INPUT);
	hm_tree_free(t);
}

TEST(put_creates_implicit_parents)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	char *s;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	CHECK_OK(put(t, "/a/b/c", HM_TYPE_FILE, false, &err), &err);
	CHECK_EQ_INT(hm_tree_count(t), 4);
	CHECK(get(t, "/a")->flags & HM_ENTRY_IMPLICIT);
	CHECK_EQ_INT(get(t, "/a/b")->type, HM_TYPE_DIR);
	CHECK_EQ_STR(get(t, "/a/b")->path, "/a/b");
	CHECK(!(get(t, "/a/b/c")->flags & HM_ENTRY_IMPLICIT));
	CHECK(get(t, "/a/b/c/d") == NULL);
	CHECK(get(t, "/x") == NULL);
	/* The explicit directory replaces the implicit one, keeping children. */
	{
		struct hm_entry *e = mk("/a", HM_TYPE_DIR);

		e->mode = 0700;
		e->uid = 5;
		CHECK_OK(hm_tree_put_take(t, e, false, &err), &err);
	}
	CHECK_EQ_INT(get(t, "/a")->mode, 0700);
	CHECK_EQ_INT(get(t, "/a")->uid, 5);
	CHECK(!(get(t, "/a")->flags & HM_ENTRY_IMPLICIT));
	CHECK(get(t, "/a/b/c") != NULL);
	CHECK_EQ_INT(hm_tree_count(t), 4);
	s = walk_str(t);
	CHECK_EQ_STR(s, "/|/a|/a/b|/a/b/c");
	free(s);
	hm_tree_free(t);
}

TEST(duplicate_and_replace)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	struct hm_entry *m;
	char *s;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	CHECK_OK(put(t, "/d/x", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(put(t, "/d/y/z", HM_TYPE_FILE, false, &err), &err);
	CHECK_EQ_INT(put(t, "/d/x", HM_TYPE_FILE, false, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "duplicate entry '/d/x'");
	CHECK_EQ_INT(put(t, "/d/y", HM_TYPE_DIR, false, &err), 0);   /* was implicit */
	CHECK_EQ_INT(put(t, "/d/y", HM_TYPE_DIR, false, &err), HM_ERR_INPUT);
	/* Directory over directory: metadata changes, children stay. */
	CHECK_OK(put(t, "/d/y", HM_TYPE_DIR, true, &err), &err);
	CHECK(get(t, "/d/y/z") != NULL);
	CHECK_EQ_INT(hm_tree_count(t), 5);
	/* A file over a directory drops its subtree. */
	CHECK_OK(put(t, "/d/y", HM_TYPE_FILE, true, &err), &err);
	CHECK(get(t, "/d/y/z") == NULL);
	CHECK_EQ_INT(get(t, "/d/y")->type, HM_TYPE_FILE);
	CHECK_EQ_INT(hm_tree_count(t), 4);
	/* A directory over a file has no children either. */
	CHECK_OK(put(t, "/d/y", HM_TYPE_DIR, true, &err), &err);
	CHECK_EQ_INT(hm_tree_count(t), 4);
	s = walk_str(t);
	CHECK_EQ_STR(s, "/|/d|/d/x|/d/y");
	free(s);
	m = hm_tree_get_mut(t, "/d/x", 4);
	CHECK(m != NULL);
	m->uid = 42;
	CHECK_EQ_INT(get(t, "/d/x")->uid, 42);
	hm_tree_free(t);
}

TEST(parent_must_be_a_directory)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	CHECK_OK(put(t, "/l", HM_TYPE_SYMLINK, false, &err), &err);
	CHECK_OK(put(t, "/f", HM_TYPE_FILE, false, &err), &err);
	CHECK_EQ_INT(put(t, "/l/x", HM_TYPE_FILE, false, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'/l/x': parent '/l' is a symlink");
	CHECK_EQ_INT(put(t, "/f/a/b", HM_TYPE_DIR, true, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'/f/a/b': parent '/f' is a file");
	CHECK_EQ_INT(hm_tree_count(t), 3);
	hm_tree_free(t);
}

TEST(non_canonical_paths_refused)
{
	static const char *const bad[] = {
		"a", "", "/a/", "/a//b", "/./a", "/a/..", "/a/./b", "//",
	};
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	size_t i;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (put(t, bad[i], HM_TYPE_FILE, true, &err) != HM_ERR_INPUT)
			FAIL("'%s' was accepted", bad[i]);
		CHECK(get(t, bad[i]) == NULL || strcmp(bad[i], "/") == 0);
	}
	{
		/* An embedded NUL. */
		struct hm_entry *e = mk("/a", HM_TYPE_FILE);

		e->path[1] = '\0';
		CHECK_EQ_INT(hm_tree_put_take(t, e, true, &err), HM_ERR_INPUT);
	}
	CHECK_EQ_INT(hm_tree_count(t), 1);
	hm_tree_free(t);
}

TEST(remove_and_tombstones)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	struct hm_entry *ts;
	char *s;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	CHECK_OK(put(t, "/a/b/c", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(put(t, "/a/b/d", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(put(t, "/a/e", HM_TYPE_FILE, false, &err), &err);
	CHECK_EQ_INT(hm_tree_count(t), 6);
	ts = hm_entry_new();
	ts->origin = 3;
	CHECK_EQ_INT(hm_tree_remove(t, "/a/b", 4, ts), 3);
	CHECK_EQ_INT(hm_tree_count(t), 3);
	CHECK(get(t, "/a/b") == NULL);
	CHECK(get(t, "/a/b/c") == NULL);
	s = walk_str(t);
	CHECK_EQ_STR(s, "/|/a|~/a/b|/a/e");
	free(s);
	/* Removing what is not there keeps nothing (and frees the tombstone). */
	CHECK_EQ_INT(hm_tree_remove(t, "/zz", 3, hm_entry_new()), 0);
	CHECK_EQ_INT(hm_tree_remove(t, "/a/b", 4, hm_entry_new()), 0);
	CHECK_EQ_INT(hm_tree_remove(t, "/a/b/c", 6, NULL), 0);
	/* A later put below the tombstone makes an implicit directory of it. */
	CHECK_OK(put(t, "/a/b/new", HM_TYPE_FILE, false, &err), &err);
	CHECK(get(t, "/a/b") != NULL);
	CHECK(get(t, "/a/b")->flags & HM_ENTRY_IMPLICIT);
	CHECK_EQ_INT(hm_tree_count(t), 5);
	/* A put at a tombstone replaces it without a duplicate error. */
	CHECK_EQ_INT(hm_tree_remove(t, "/a/e", 4, hm_entry_new()), 1);
	CHECK_OK(put(t, "/a/e", HM_TYPE_SYMLINK, false, &err), &err);
	CHECK_EQ_INT(get(t, "/a/e")->type, HM_TYPE_SYMLINK);
	CHECK_EQ_INT(hm_tree_count(t), 5);
	/* Without a tombstone the node is gone. */
	CHECK_EQ_INT(hm_tree_remove(t, "/a/e", 4, NULL), 1);
	s = walk_str(t);
	CHECK_EQ_STR(s, "/|/a|/a/b|/a/b/new");
	free(s);
	/* Removing "/" empties the tree but keeps the root. */
	CHECK_EQ_INT(hm_tree_remove(t, "/", 1, hm_entry_new()), 3);
	CHECK_EQ_INT(hm_tree_count(t), 1);
	hm_tree_free(t);
}

TEST(clear_below_keeps_the_dir)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	char *s;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	CHECK_OK(put(t, "/o/p/q", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(put(t, "/o/r", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(put(t, "/o-x", HM_TYPE_FILE, false, &err), &err);
	CHECK_EQ_INT(hm_tree_clear_below(t, "/o", 2), 3);
	CHECK_EQ_INT(hm_tree_count(t), 3);
	CHECK(get(t, "/o") != NULL);
	CHECK_EQ_INT(hm_tree_clear_below(t, "/nope", 5), 0);
	CHECK_OK(put(t, "/o/r", HM_TYPE_FILE, false, &err), &err);
	s = walk_str(t);
	CHECK_EQ_STR(s, "/|/o|/o/r|/o-x");
	free(s);
	hm_tree_free(t);
}

static int path_qsort_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return hm_path_cmp(x, strlen(x), y, strlen(y));
}

struct order_ctx {
	char **want;
	size_t n, i;
	int bad;
};

static int check_order(void *ctx, const struct hm_entry *e)
{
	struct order_ctx *o = ctx;

	if (o->i >= o->n || strcmp(o->want[o->i], e->path) != 0) {
		o->bad = 1;
		return -1;
	}
	o->i++;
	return 0;
}

TEST(walk_order_of_10k_shuffled_paths)
{
	/* Names chosen to trip every ordering trap: prefixes, '-' and ' '
	 * (below '/' in strcmp terms but not here), bytes >= 0x80. */
	static const char *const names[] = {
		"a", "a-b", "a b", "ab", "a0", "b", ".x", "\xc3\xa9", "\xff",
		"a.b", "A", "z",
	};
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	struct hm_source *src = NULL;
	const struct hm_entry *e;
	char **all = NULL;
	size_t n_all = 0, cap = 0, i, u;
	struct order_ctx o = { 0 };
	int r;

	srand(12345);
	CHECK_OK(hm_tree_new(&t, &err), &err);
	for (i = 0; i < 10000; i++) {
		char path[256];
		size_t len = 0, depth = 1 + (size_t)rand() % 5, d;

		for (d = 0; d < depth; d++)
			len += (size_t)snprintf(path + len, sizeof(path) - len, "/%s",
						names[rand() % 12]);
		if (rand() % 3 == 0)
			snprintf(path + len, sizeof(path) - len, "%d", rand() % 50);
		/* Directories everywhere, so that any path may get children. */
		CHECK_OK(put(t, path, HM_TYPE_DIR, true, &err), &err);
		/* Expected: the path and all its ancestors. */
		for (len = strlen(path); len > 0;) {
			if (n_all == cap) {
				cap = cap ? cap * 2 : 1024;
				all = realloc(all, cap * sizeof(*all));
			}
			all[n_all++] = strndup(path, len);
			while (len > 0 && path[len - 1] != '/')
				len--;
			len = len > 1 ? len - 1 : 0;
		}
	}
	if (n_all == cap)
		all = realloc(all, (cap + 1) * sizeof(*all));
	all[n_all++] = strdup("/");
	qsort(all, n_all, sizeof(*all), path_qsort_cmp);
	for (i = 1, u = 1; i < n_all; i++) {
		if (strcmp(all[i], all[u - 1]) == 0)
			free(all[i]);
		else
			all[u++] = all[i];
	}
	CHECK(u > 5000);
	CHECK_EQ_INT(hm_tree_count(t), u);
	o.want = all;
	o.n = u;
	CHECK_EQ_INT(hm_tree_walk(t, check_order, &o), 0);
	CHECK(!o.bad);
	CHECK_EQ_INT(o.i, u);
	/* The source yields the same sequence, and owns the tree. */
	CHECK_OK(hm_tree_source(t, true, &src, &err), &err);
	for (i = 0; (r = hm_source_next(src, &e, &err)) > 0; i++)
		if (i >= u || strcmp(e->path, all[i]) != 0)
			FAIL("source entry %zu is '%s'", i, e->path);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(i, u);
	hm_source_free(src);
	for (i = 0; i < u; i++)
		free(all[i]);
	free(all);
}

TEST(deep_and_long_paths)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	struct hm_source *src = NULL;
	const struct hm_entry *e;
	struct hm_entry *x;
	char *p;
	size_t i, n = 0;
	int r;

	p = malloc(2 * (HM_LIMIT_DEPTH + 1) + 1);
	for (i = 0; i < HM_LIMIT_DEPTH; i++)
		memcpy(p + 2 * i, "/a", 2);
	p[2 * HM_LIMIT_DEPTH] = '\0';
	CHECK_OK(hm_tree_new(&t, &err), &err);
	CHECK_OK(put(t, p, HM_TYPE_FILE, false, &err), &err);
	CHECK_EQ_INT(hm_tree_count(t), HM_LIMIT_DEPTH + 1);
	CHECK(get(t, p) != NULL);
	strcat(p, "/b");
	CHECK_EQ_INT(put(t, p, HM_TYPE_FILE, false, &err), HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "HM_LIMIT_DEPTH") != NULL);
	/* The walk of a 4096-deep tree uses no deep recursion. */
	CHECK_OK(hm_tree_source(t, false, &src, &err), &err);
	while ((r = hm_source_next(src, &e, &err)) > 0)
		n++;
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(n, HM_LIMIT_DEPTH + 1);
	hm_source_free(src);
	/* Removing the top of it frees it without recursion either. */
	CHECK_EQ_INT(hm_tree_remove(t, "/a", 2, NULL), HM_LIMIT_DEPTH);
	CHECK_EQ_INT(hm_tree_count(t), 1);
	free(p);

	p = malloc(HM_LIMIT_PATH_BYTES + 2);
	p[0] = '/';
	memset(p + 1, 'x', HM_LIMIT_PATH_BYTES);
	p[HM_LIMIT_PATH_BYTES + 1] = '\0';
	x = mk(p, HM_TYPE_FILE);
	CHECK_EQ_INT(hm_tree_put_take(t, x, false, &err), HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "HM_LIMIT_PATH_BYTES") != NULL);
	free(p);
	hm_tree_free(t);
}

TEST(many_siblings)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	char path[32];
	long i;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	for (i = 100000; i > 0; i--) {
		snprintf(path, sizeof(path), "/d/%ld", i * 7919 % 100003);
		CHECK_OK(put(t, path, HM_TYPE_FILE, false, &err), &err);
	}
	CHECK_EQ_INT(hm_tree_count(t), 100002);
	CHECK(get(t, "/d/7919") != NULL);
	/* Removal by swap keeps every other sibling reachable. */
	for (i = 1; i <= 1000; i++) {
		snprintf(path, sizeof(path), "/d/%ld", i * 7919 % 100003);
		CHECK_EQ_INT(hm_tree_remove(t, path, strlen(path), NULL), 1);
	}
	CHECK_EQ_INT(hm_tree_count(t), 99002);
	CHECK(get(t, "/d/7919") == NULL);
	snprintf(path, sizeof(path), "/d/%ld", 5000L * 7919 % 100003);
	CHECK(get(t, path) != NULL);
	hm_tree_free(t);
}

TEST(normalize_member_names)
{
	static const char *const cases[][2] = {
		{ "./etc/passwd", "/etc/passwd" },
		{ "/etc//x/", "/etc/x" },
		{ "etc/./y", "/etc/y" },
		{ "./", "/" },
		{ ".", "/" },
		{ "", "/" },
		{ "///a", "/a" },
		{ "a/.../b", "/a/.../b" },
		{ "..a/b..", "/..a/b.." },
	};
	static const char *const bad[] = { "../x", "a/../b", "a/..", ".." };
	struct hm_buf b = HM_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ_INT(hm_tree_normalize(cases[i][0], strlen(cases[i][0]), &b), 0);
		CHECK_EQ_STR(b.data, cases[i][1]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hm_tree_normalize(bad[i], strlen(bad[i]), &b) != -1)
			FAIL("'%s' was accepted", bad[i]);
	CHECK_EQ_INT(hm_tree_normalize("a\0b", 3, &b), -1);
	hm_buf_free(&b);
}

/* Removal by glob, as a template's `remove`, the hardening fixes and a
 * disk's vm_only do it: live matches with their subtrees, never the root,
 * a count of what went. */
TEST(remove_glob)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	uint64_t n = 99;
	char *s;

	CHECK_OK(hm_tree_new(&t, &err), &err);
	CHECK_OK(put(t, "/usr/share/doc/a/README", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(put(t, "/usr/share/doc/a/changelog.gz", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(put(t, "/usr/share/doc/b/copyright", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(put(t, "/usr/bin/sh", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(put(t, "/boot/vmlinuz", HM_TYPE_FILE, false, &err), &err);
	CHECK_OK(hm_tree_remove(t, "/usr/bin/sh", 11, hm_entry_new()) == 1 ? 0 : -1, &err);
	{
		char **paths = NULL;
		size_t np = 0;

		/* Matching alone: live entries in canonical order. */
		CHECK_OK(hm_tree_glob(t, "/usr/share/doc/*/*", &paths, &np, &err), &err);
		CHECK_EQ_INT(np, 3);
		CHECK_EQ_STR(paths[0], "/usr/share/doc/a/README");
		CHECK_EQ_STR(paths[2], "/usr/share/doc/b/copyright");
		hm_tree_paths_free(paths, np);
		CHECK_OK(hm_tree_glob(t, "/usr/bin/*", &paths, &np, &err), &err);
		CHECK_EQ_INT(np, 0);
		hm_tree_paths_free(paths, np);
		CHECK_OK(hm_tree_glob(t, "/**", &paths, &np, &err), &err);
		CHECK_EQ_STR(paths[0], "/boot");
		hm_tree_paths_free(paths, np);
	}
	/* One name in each doc folder. */
	CHECK_OK(hm_tree_remove_glob(t, "/usr/share/doc/*/[!c]*", &n, &err), &err);
	CHECK_EQ_INT(n, 1);
	/* A folder goes with what is below it; its matched children count once. */
	CHECK_OK(hm_tree_remove_glob(t, "/usr/share/doc/**", &n, &err), &err);
	CHECK_EQ_INT(n, 4);
	s = walk_str(t);
	CHECK_EQ_STR(s, "/|/boot|/boot/vmlinuz|/usr|/usr/bin|~/usr/bin/sh|/usr/share|/usr/share/doc");
	free(s);
	/* A tombstone is not live: not removed, not counted. */
	CHECK_OK(hm_tree_remove_glob(t, "/usr/bin/*", &n, &err), &err);
	CHECK_EQ_INT(n, 0);
	/* Nothing matches: nothing removed. */
	CHECK_OK(hm_tree_remove_glob(t, "/nowhere/**", NULL, &err), &err);
	/* The root never matches, even the glob of everything. */
	CHECK_OK(hm_tree_remove_glob(t, "/**", &n, &err), &err);
	CHECK_EQ_INT(n, 6);
	CHECK_EQ_INT(hm_tree_count(t), 1);
	CHECK(get(t, "/") != NULL);
	hm_tree_free(t);
}
