/*
 * Unit tests: the merge join of lib/compare.c.  Both sides are in-memory
 * sources over arrays of entries; the target side can play a live tree and
 * ask the digest query before yielding each regular file, the way
 * source_dir.c does.  Findings are turned into one line each
 * ("kind path expected->actual (detail)") so a test states the whole
 * output it expects.  The last test checks the join against a naive
 * reference (a map from path to entry) on random trees.
 */
#include "harness.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "hallmark/buf.h"
#include "hallmark/compare.h"
#include "hallmark/digest.h"
#include "hallmark/manifest.h"
#include "hallmark/policy.h"

/* ---- trees -------------------------------------------------------------- */

struct tree {
	struct hm_entry *e;
	size_t n, cap;
};

static void must(int r)
{
	if (r < 0) {
		fprintf(stderr, "out of memory in a test helper\n");
		abort();
	}
}

static struct hm_entry *put(struct tree *t, const char *path, enum hm_type type)
{
	struct hm_entry *e;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->e = realloc(t->e, t->cap * sizeof(*t->e));
		if (!t->e)
			must(-1);
	}
	e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	must(hm_entry_set_path(e, path, strlen(path)));
	e->type = type;
	e->mode = type == HM_TYPE_DIR ? 0755 : 0644;
	return e;
}

static struct hm_entry *put_dir(struct tree *t, const char *path)
{
	return put(t, path, HM_TYPE_DIR);
}

/* A file whose digest is 32 bytes of fill. */
static struct hm_entry *put_file(struct tree *t, const char *path,
				 uint64_t size, unsigned char fill)
{
	struct hm_entry *e = put(t, path, HM_TYPE_FILE);

	e->size = size;
	memset(e->sha256, fill, HM_SHA256_LEN);
	e->flags |= HM_ENTRY_HAS_DIGEST;
	return e;
}

static struct hm_entry *put_link(struct tree *t, const char *path,
				 const char *target)
{
	struct hm_entry *e = put(t, path, HM_TYPE_SYMLINK);

	e->mode = 0777;
	must(hm_entry_set_target(e, target, strlen(target)));
	return e;
}

static struct hm_entry *find(struct tree *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].path, path) == 0)
			return &t->e[i];
	fprintf(stderr, "test bug: no entry '%s'\n", path);
	abort();
}

static void tree_dup(struct tree *dst, const struct tree *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->n; i++)
		must(hm_entry_copy(put(dst, "/", HM_TYPE_NONE), &src->e[i]));
}

static void tree_free(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		hm_entry_clear(&t->e[i]);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static int entry_cmp(const void *a, const void *b)
{
	const struct hm_entry *x = a, *y = b;

	return hm_path_cmp(x->path, x->path_len, y->path, y->path_len);
}

static void tree_sort(struct tree *t)
{
	if (t->n)
		qsort(t->e, t->n, sizeof(*t->e), entry_cmp);
}

/* ---- an in-memory source that can play a live tree ---------------------- */

struct fake {
	struct hm_source src;
	const char *name;
	const struct tree *t;
	size_t pos, fail_at;
	bool ask;                     /* honour the digest query */
	bool has_q, asking;
	struct hm_digest_query q;
	int n_set;                    /* set_digest_query calls with a query */
	bool lie;                     /* ask about lie_size instead of the size */
	uint64_t lie_size;
	/* What was last yielded: a copy, replaced by the next call, so a join
	 * that keeps a borrowed entry too long reads freed memory (ASan). */
	struct hm_entry cur;
	struct hm_buf log;            /* "PATH=ANSWER\n" per question */
};

static int fake_next(struct hm_source *s, const struct hm_entry **ret,
		     struct hm_error *err)
{
	struct fake *f = (struct fake *)s;
	const struct hm_entry *e;
	int need = 1;

	if (f->pos == f->fail_at)
		return hm_error_set(err, HM_ERR_IO, 5, "cannot read '%s'", f->name);
	if (f->pos == f->t->n)
		return 0;
	e = &f->t->e[f->pos++];
	/* source_dir asks about regular files it would open, before it
	 * yields them: not about unreadable ones, mount points, tombstones. */
	if (f->ask && f->has_q && e->type == HM_TYPE_FILE &&
	    !(e->flags & (HM_ENTRY_UNREADABLE | HM_ENTRY_MOUNTPOINT |
			  HM_ENTRY_DELETED))) {
		f->asking = true;
		need = f->q.need(f->q.ctx, e->path, e->path_len,
				 f->lie ? f->lie_size : e->size, err);
		f->asking = false;
		if (need < 0)
			return need;
		must(hm_buf_addf(&f->log, "%s=%d\n", e->path, need));
	}
	if (hm_entry_copy(&f->cur, e) < 0)
		return hm_error_nomem(err);
	if (!need) {
		/* Declined: never opened, so no digest and no change seen. */
		f->cur.flags &= ~(unsigned)(HM_ENTRY_HAS_DIGEST | HM_ENTRY_CHANGED);
		memset(f->cur.sha256, 0, HM_SHA256_LEN);
	}
	*ret = &f->cur;
	return 1;
}

static void fake_free(struct hm_source *s)
{
	(void)s;
}

static void fake_set_query(struct hm_source *s, const struct hm_digest_query *q)
{
	struct fake *f = (struct fake *)s;

	f->has_q = q != NULL;
	if (q) {
		f->q = *q;
		f->n_set++;
	}
}

static const struct hm_source_ops fake_ops = {
	.kind = "fake",
	.next = fake_next,
	.free = fake_free,
	.set_digest_query = fake_set_query,
};

static void fake_init(struct fake *f, const char *name, const struct tree *t,
		      bool ask)
{
	memset(f, 0, sizeof(*f));
	f->src.ops = &fake_ops;
	f->name = name;
	f->t = t;
	f->fail_at = SIZE_MAX;
	f->ask = ask;
}

static void fake_fini(struct fake *f)
{
	hm_entry_clear(&f->cur);
	hm_buf_free(&f->log);
}

/* ---- running the join --------------------------------------------------- */

struct sink {
	struct hm_buf text;           /* one line per finding */
	struct hm_buf during;         /* paths reported while the target asked */
	struct fake *target;
	struct hm_buf last;           /* path of the previous finding */
	bool out_of_order;            /* a finding came before the previous one */
	int calls, fail_at_call;      /* fail_at_call: 1-based, 0 = never */
};

static int sink_fn(void *ctx, const struct hm_finding *f, struct hm_error *err)
{
	struct sink *s = ctx;

	if (++s->calls == s->fail_at_call)
		return hm_error_set(err, HM_ERR_IO, 0, "cannot write the report");
	if (s->last.len &&
	    hm_path_cmp(s->last.data, s->last.len, f->path, f->path_len) > 0)
		s->out_of_order = true;
	hm_buf_reset(&s->last);
	must(hm_buf_add(&s->last, f->path, f->path_len));
	if (s->target && s->target->asking)
		must(hm_buf_addf(&s->during, "%s ", f->path));
	must(hm_buf_addf(&s->text, "%s %s", hm_finding_kind_name(f->kind), f->path));
	if (f->expected || f->actual)
		must(hm_buf_addf(&s->text, " %s->%s", f->expected ? f->expected : "-",
				 f->actual ? f->actual : "-"));
	if (f->detail)
		must(hm_buf_addf(&s->text, " (%s)", f->detail));
	must(hm_buf_adds(&s->text, "\n"));
	return 0;
}

struct run {
	struct sink sink;
	struct hm_compare_stats st;
	struct hm_error err;
	int r;
	struct hm_buf asked;          /* the target's questions and answers */
	bool query_left;              /* the target still held the query */
	int n_set_exp;                /* queries set on the manifest side */
};

struct opts {
	const struct hm_policy *policy;
	bool ask;
	size_t exp_fail, act_fail;
	int fail_at_call;
	bool lie;
	uint64_t lie_size;
};

static void run_join(struct run *R, const struct tree *e, const struct tree *a,
		     const struct opts *o)
{
	struct fake fe, fa;

	memset(R, 0, sizeof(*R));
	fake_init(&fe, "manifest", e, false);
	fake_init(&fa, "target", a, o->ask);
	fe.fail_at = o->exp_fail ? o->exp_fail - 1 : SIZE_MAX;
	fa.fail_at = o->act_fail ? o->act_fail - 1 : SIZE_MAX;
	fa.lie = o->lie;
	fa.lie_size = o->lie_size;
	R->sink.target = &fa;
	R->sink.fail_at_call = o->fail_at_call;
	R->r = hm_compare(&fe.src, &fa.src, o->policy, sink_fn, &R->sink, &R->st,
			  &R->err);
	R->query_left = fa.has_q;
	R->n_set_exp = fe.n_set;
	R->asked = fa.log;
	fa.log = (struct hm_buf)HM_BUF_INIT;
	/* Texts are "" rather than NULL when nothing was added. */
	must(hm_buf_add(&R->asked, "", 0));
	must(hm_buf_add(&R->sink.text, "", 0));
	must(hm_buf_add(&R->sink.during, "", 0));
	R->sink.target = NULL;
	fake_fini(&fe);
	fake_fini(&fa);
}

static void run_free(struct run *R)
{
	hm_buf_free(&R->sink.text);
	hm_buf_free(&R->sink.during);
	hm_buf_free(&R->sink.last);
	hm_buf_free(&R->asked);
}

static const struct opts strict = { 0 };
static const struct opts asking = { .ask = true };

#define TXT(R) ((R).sink.text.data)

/* Run with and without the digest query; the findings must not depend on
 * it.  Leaves the asking run in R. */
#define JOIN_BOTH(R, e, a, pol, want)                                       \
	do {                                                                \
		struct opts _o = { .policy = (pol) };                       \
		run_join(&(R), (e), (a), &_o);                              \
		CHECK_OK((R).r, &(R).err);                                  \
		CHECK_EQ_STR(TXT(R), (want));                               \
		CHECK(!(R).sink.out_of_order);                              \
		run_free(&(R));                                             \
		_o.ask = true;                                              \
		run_join(&(R), (e), (a), &_o);                              \
		CHECK_OK((R).r, &(R).err);                                  \
		CHECK_EQ_STR(TXT(R), (want));                               \
		CHECK(!(R).sink.out_of_order);                              \
		CHECK(!(R).query_left);                                     \
	} while (0)

static struct hm_policy *policy(const char *ignore, const char *may_change,
				const char *may_add)
{
	struct hm_policy *p = NULL;
	struct hm_error err = { 0 };
	const char *l[3] = { ignore, may_change, may_add };
	int i;

	must(hm_policy_new(&p, &err));
	for (i = 0; i < 3; i++) {
		const char *s = l[i];

		/* Globs separated by spaces. */
		while (s && *s) {
			char g[128];
			size_t n = strcspn(s, " ");

			memcpy(g, s, n);
			g[n] = 0;
			if (hm_policy_add(p, (enum hm_policy_list)i, g, &err) < 0) {
				fprintf(stderr, "test bug: %s\n", err.msg);
				abort();
			}
			s += n + (s[n] == ' ');
		}
	}
	return p;
}

/* A small tree with one entry of every type and some xattrs. */
static void sample(struct tree *t)
{
	struct hm_entry *e;

	memset(t, 0, sizeof(*t));
	put_dir(t, "/");
	put_file(t, "/a", 3, 0xa1);
	put_dir(t, "/a-b");
	put_dir(t, "/dev");
	e = put(t, "/dev/null", HM_TYPE_CHAR);
	e->rdev_major = 1, e->rdev_minor = 3;
	e = put(t, "/dev/sda", HM_TYPE_BLOCK);
	e->rdev_major = 8, e->rdev_minor = 0;
	put_dir(t, "/etc");
	e = put_file(t, "/etc/passwd", 1000, 0x11);
	must(hm_entry_add_xattr(e, "security.selinux", "etc_t", 5));
	must(hm_entry_add_xattr(e, "user.x", "1", 1));
	put_link(t, "/etc/localtime", "/usr/share/zoneinfo/UTC");
	put(t, "/fifo", HM_TYPE_FIFO);
	put(t, "/sock", HM_TYPE_SOCKET);
	put_dir(t, "/usr");
	put_dir(t, "/usr/bin");
	put_file(t, "/usr/bin/sh", 125000, 0x22)->mode = 04755;
	put_file(t, "/usr/bin/true", 20000, 0x23);
	put_file(t, "/usr/lib", 0, 0x24);
	tree_sort(t);
}

/* ---- identical trees ---------------------------------------------------- */

TEST(identical_trees_have_no_finding)
{
	struct tree e, a;
	struct run R;

	sample(&e);
	tree_dup(&a, &e);
	JOIN_BOTH(R, &e, &a, NULL, "");
	CHECK_EQ_INT(R.st.expected, e.n);
	CHECK_EQ_INT(R.st.actual, a.n);
	CHECK_EQ_INT(R.st.matched, e.n);
	CHECK_EQ_INT(R.st.total_findings, 0);
	CHECK_EQ_INT(R.st.bytes_hashed, 3 + 1000 + 125000 + 20000);
	CHECK_EQ_STR(R.asked.data, "/a=1\n/etc/passwd=1\n/usr/bin/sh=1\n"
		     "/usr/bin/true=1\n/usr/lib=1\n");
	CHECK_EQ_INT(R.n_set_exp, 0);     /* the manifest is never asked */
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

TEST(empty_sides)
{
	struct tree e = { 0 }, a = { 0 };
	struct run R;

	JOIN_BOTH(R, &e, &a, NULL, "");
	run_free(&R);
	put_dir(&e, "/");
	put_file(&e, "/f", 1, 1);
	JOIN_BOTH(R, &e, &a, NULL, "missing / (with 1 entries below)\n");
	run_free(&R);
	JOIN_BOTH(R, &a, &e, NULL, "added / (with 1 entries below)\n");
	CHECK_EQ_STR(R.asked.data, "/f=0\n");
	run_free(&R);
	tree_free(&e);
}

/* ---- every kind of finding ---------------------------------------------- */

TEST(attribute_findings)
{
	struct tree e, a;
	struct hm_entry *x;
	struct run R;

	sample(&e);
	tree_dup(&a, &e);
	find(&a, "/a")->mode = 0600;
	find(&a, "/a-b")->uid = 1000;
	find(&a, "/dev")->gid = 5;
	find(&a, "/dev/null")->rdev_minor = 5;
	find(&a, "/dev/sda")->rdev_major = 9;
	x = find(&a, "/etc/localtime");
	must(hm_entry_set_target(x, "../a b", 6));
	x = find(&a, "/usr/bin/sh");
	x->size = 125001;
	memset(x->sha256, 0x99, HM_SHA256_LEN);
	x = find(&a, "/usr/bin/true");
	x->sha256[31] ^= 1;
	x = find(&a, "/usr/lib");
	x->size = 7;                    /* a size alone is also reported */
	JOIN_BOTH(R, &e, &a, NULL,
		  "mode /a 0644->0600\n"
		  "uid /a-b 0->1000\n"
		  "gid /dev 0->5\n"
		  "rdev /dev/null 1,3->1,5\n"
		  "rdev /dev/sda 8,0->9,0\n"
		  "target /etc/localtime /usr/share/zoneinfo/UTC->../a\\040b\n"
		  /* Content and size in one finding (issue 14, item 7). */
		  "content /usr/bin/sh "
		  "2222222222222222222222222222222222222222222222222222222222222222->"
		  "9999999999999999999999999999999999999999999999999999999999999999"
		  " (size 125000 -> 125001)\n"
		  "content /usr/bin/true "
		  "2323232323232323232323232323232323232323232323232323232323232323->"
		  "2323232323232323232323232323232323232323232323232323232323232322\n"
		  "size /usr/lib 0->7\n");
	CHECK_EQ_INT(R.st.findings[HM_FINDING_MODE], 1);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_UID], 1);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_GID], 1);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_RDEV], 2);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_TARGET], 1);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_SIZE], 1);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_CONTENT], 2);
	CHECK_EQ_INT(R.st.total_findings, 9);
	CHECK_EQ_INT(R.st.matched, e.n);
	CHECK_EQ_INT(R.st.bytes_hashed, 3 + 1000 + 125001 + 20000 + 7);
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

TEST(xattr_findings)
{
	struct tree e = { 0 }, a = { 0 };
	struct hm_entry *x;
	unsigned char big[40];
	struct run R;

	memset(big, 0xab, sizeof(big));
	put_dir(&e, "/");
	x = put_file(&e, "/f", 1, 1);
	must(hm_entry_add_xattr(x, "a.gone", "\x01", 1));
	must(hm_entry_add_xattr(x, "b.same", "s", 1));
	must(hm_entry_add_xattr(x, "c.changed", "\x02", 1));
	must(hm_entry_add_xattr(x, "e.long", big, sizeof(big)));
	tree_dup(&a, &e);
	x = find(&a, "/f");
	hm_entry_clear(x);
	must(hm_entry_set_path(x, "/f", 2));
	x->type = HM_TYPE_FILE, x->mode = 0644, x->size = 1;
	memset(x->sha256, 1, HM_SHA256_LEN);
	big[39] = 0;                    /* past what is shown */
	must(hm_entry_add_xattr(x, "b.same", "s", 1));
	must(hm_entry_add_xattr(x, "c.changed", "\x03\x04", 2));
	must(hm_entry_add_xattr(x, "d.new", "", 0));
	must(hm_entry_add_xattr(x, "e.long", big, sizeof(big)));
	JOIN_BOTH(R, &e, &a, NULL,
		  "xattr /f 01->absent (a.gone)\n"
		  "xattr /f 02->0304 (c.changed)\n"
		  "xattr /f absent-> (d.new)\n"
		  "xattr /f abababababababababababababababababababababababababababababababab"
		  "... (40 bytes)->"
		  "abababababababababababababababababababababababababababababababab"
		  "... (40 bytes) (e.long)\n");
	CHECK_EQ_INT(R.st.findings[HM_FINDING_XATTR], 4);
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

TEST(missing_added_and_type)
{
	struct tree e = { 0 }, a = { 0 };
	struct run R;

	put_dir(&e, "/");
	put_file(&e, "/gone", 1, 1);
	put_file(&e, "/same", 1, 1);
	put_file(&e, "/t1", 5, 1);
	put_dir(&e, "/t2");
	put_link(&e, "/t3", "x");
	put_dir(&a, "/");
	put_file(&a, "/new", 1, 1);
	put_file(&a, "/same", 1, 1);
	put_link(&a, "/t1", "y")->uid = 7;     /* only the type is told */
	put_file(&a, "/t2", 5, 1);
	put(&a, "/t3", HM_TYPE_FIFO);
	JOIN_BOTH(R, &e, &a, NULL,
		  "missing /gone\n"
		  "added /new\n"
		  "type /t1 file->symlink\n"
		  "type /t2 dir->file\n"
		  "type /t3 symlink->fifo\n");
	CHECK_EQ_STR(R.asked.data, "/new=0\n/same=1\n/t2=0\n");
	CHECK_EQ_INT(R.st.findings[HM_FINDING_MISSING], 1);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_ADDED], 1);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_TYPE], 3);
	CHECK_EQ_INT(R.st.matched, 5);     /* /, /same and the three types */
	CHECK_EQ_INT(R.st.bytes_hashed, 1);
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

/* Flags the target sets: unreadable, changed while hashed, mount point. */
TEST(target_flags)
{
	struct tree e = { 0 }, a = { 0 };
	struct hm_entry *x;
	struct run R;

	put_dir(&e, "/");
	put_file(&e, "/busy", 10, 1);
	put_file(&e, "/busy2", 10, 1);
	put_dir(&e, "/empty-mnt");
	put_file(&e, "/file-mnt", 4, 1);
	put_dir(&e, "/mnt");
	put_file(&e, "/mnt/a", 1, 1);
	put_dir(&e, "/mnt/b");
	put_file(&e, "/mnt/b/c", 1, 1);
	put_dir(&e, "/secret");
	put_file(&e, "/secret/key", 1, 1);
	put_file(&e, "/shadow", 1, 1);
	put_dir(&a, "/");
	x = put_file(&a, "/busy", 11, 2);
	x->flags |= HM_ENTRY_CHANGED;
	must(hm_entry_set_note(x, "size changed from 10 to 11"));
	put_file(&a, "/busy2", 10, 1)->flags |= HM_ENTRY_CHANGED;
	put_dir(&a, "/empty-mnt")->flags |= HM_ENTRY_MOUNTPOINT;
	x = put_file(&a, "/file-mnt", 9, 9);
	x->flags |= HM_ENTRY_MOUNTPOINT;
	x->mode = 0600;                 /* the mounted file's: not compared */
	x = put_dir(&a, "/mnt");
	x->flags |= HM_ENTRY_MOUNTPOINT;
	x->uid = 3;
	x = put_dir(&a, "/secret");
	x->flags |= HM_ENTRY_UNREADABLE;
	must(hm_entry_set_note(x, "cannot open: Permission denied"));
	put_file(&a, "/secret/key", 1, 2);   /* hidden with its directory */
	x = put_file(&a, "/shadow", 1, 0);
	x->flags = HM_ENTRY_UNREADABLE;
	JOIN_BOTH(R, &e, &a, NULL,
		  "changed-while-hashing /busy (size changed from 10 to 11)\n"
		  "changed-while-hashing /busy2 (changed while being hashed)\n"
		  "mountpoint /file-mnt (another file is mounted over it: not checked)\n"
		  "mountpoint /mnt (another file system is mounted here: 3 manifest "
		  "entries below not checked)\n"
		  "unreadable /secret (cannot open: Permission denied)\n"
		  "unreadable /shadow (cannot be read)\n");
	CHECK_EQ_INT(R.st.findings[HM_FINDING_CHANGED], 2);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_MOUNTPOINT], 2);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_UNREADABLE], 2);
	CHECK_EQ_INT(R.st.total_findings, 6);
	CHECK_EQ_INT(R.st.bytes_hashed, 21);    /* the two busy files */
	/* An unreadable file is not asked about; /secret/key is below a
	 * subtree the join skips. */
	CHECK_EQ_STR(R.asked.data, "/busy=1\n/busy2=1\n/secret/key=0\n");
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

/* OCI whiteouts leave tombstones: a deletion of what the manifest has is
 * "missing" naming the layer, of what it has not is nothing. */
TEST(tombstones)
{
	struct tree e = { 0 }, a = { 0 };
	struct hm_entry *x;
	struct run R;

	put_dir(&e, "/");
	put_dir(&e, "/etc");
	put_file(&e, "/etc/a", 1, 1);
	put_dir(&e, "/opt");
	put_file(&e, "/opt/x", 1, 1);
	put_file(&e, "/opt/y", 1, 1);
	put_file(&e, "/z", 1, 1);
	put_dir(&a, "/");
	put_dir(&a, "/etc");
	x = put_file(&a, "/etc/a", 0, 0);
	x->flags = HM_ENTRY_DELETED;
	x->origin = 2;
	x->origin_name = strdup("layer 2 sha256:ab12cd34ef56");
	x = put_file(&a, "/etc/never", 0, 0);
	x->flags = HM_ENTRY_DELETED;
	x = put_dir(&a, "/opt");
	x->flags = HM_ENTRY_DELETED;
	x = put(&a, "/z", HM_TYPE_NONE);
	x->flags = HM_ENTRY_DELETED;
	JOIN_BOTH(R, &e, &a, NULL,
		  "missing /etc/a (deleted by layer 2 sha256:ab12cd34ef56)\n"
		  "missing /opt (deleted by the target, with 2 entries below)\n"
		  "missing /z (deleted by the target)\n");
	CHECK_EQ_INT(R.st.matched, 2);          /* tombstones are not compared */
	CHECK_EQ_INT(R.st.findings[HM_FINDING_MISSING], 3);
	CHECK_EQ_STR(R.asked.data, "");         /* tombstones are not asked about */
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

/* Findings about what the target holds name where it came from. */
TEST(origin_in_detail)
{
	struct tree e = { 0 }, a = { 0 };
	struct hm_entry *x;
	struct run R;

	put_dir(&e, "/");
	x = put_file(&e, "/f", 1, 1);
	must(hm_entry_add_xattr(x, "user.k", "v", 1));
	put_file(&e, "/gone", 1, 1);
	put_file(&e, "/t", 1, 1);
	put_dir(&a, "/");
	x = put_file(&a, "/f", 1, 2);
	x->mode = 0;
	x->origin_name = strdup("layer 1 sha256:0011");
	x = put_dir(&a, "/new");
	x->origin_name = strdup("layer 3 sha256:3333");
	x = put_file(&a, "/new/f", 1, 1);
	x->origin_name = strdup("layer 3 sha256:3333");
	x = put_dir(&a, "/t");
	x->origin_name = strdup("layer 4 sha256:4444");
	JOIN_BOTH(R, &e, &a, NULL,
		  "mode /f 0644->0000 (from layer 1 sha256:0011)\n"
		  "content /f "
		  "0101010101010101010101010101010101010101010101010101010101010101->"
		  "0202020202020202020202020202020202020202020202020202020202020202 "
		  "(from layer 1 sha256:0011)\n"
		  "xattr /f 76->absent (user.k; from layer 1 sha256:0011)\n"
		  "missing /gone\n"
		  "added /new (with 1 entries below; from layer 3 sha256:3333)\n"
		  "type /t file->dir (from layer 4 sha256:4444)\n");
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

/* ---- subtrees: reported once at their root ------------------------------ */

TEST(subtrees_reported_once_at_their_root)
{
	struct tree e = { 0 }, a = { 0 };
	struct run R;

	put_dir(&e, "/");
	put_dir(&e, "/a");
	put_file(&e, "/a/1", 1, 1);        /* the type change of /a covers it */
	put_dir(&e, "/usr");
	put_dir(&e, "/usr/bin");
	put_file(&e, "/usr/bin/sh", 1, 1);
	put_file(&e, "/usr/bin/true", 1, 1);
	put_file(&e, "/usr/x", 1, 1);
	put_file(&e, "/usr-local", 1, 1);   /* after /usr's subtree */
	put_file(&e, "/v", 1, 1);
	put_dir(&a, "/");
	put_file(&a, "/a", 1, 1);
	put_dir(&a, "/opt");
	put_dir(&a, "/opt/app");
	put_dir(&a, "/opt/app/lib");
	put_file(&a, "/opt/app/lib/x.so", 1, 1);
	put_file(&a, "/opt/app/run", 1, 1);
	put_file(&a, "/usr-local", 1, 1);
	put_dir(&a, "/v");
	put_file(&a, "/v/1", 1, 1);
	put_dir(&a, "/v/2");
	put_file(&a, "/v/2/3", 1, 1);
	JOIN_BOTH(R, &e, &a, NULL,
		  "type /a dir->file\n"
		  "added /opt (with 4 entries below)\n"
		  "missing /usr (with 4 entries below)\n"
		  "type /v file->dir\n");
	CHECK_EQ_INT(R.st.total_findings, 4);
	CHECK_EQ_INT(R.st.expected, e.n);
	CHECK_EQ_INT(R.st.actual, a.n);
	CHECK_EQ_STR(R.asked.data, "/a=0\n/opt/app/lib/x.so=0\n/opt/app/run=0\n"
		     "/usr-local=1\n/v/1=0\n/v/2/3=0\n");
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

/* ---- the component-wise order ------------------------------------------- */

TEST(component_order)
{
	struct tree e = { 0 }, a = { 0 };
	struct run R;

	/* Canonical order: "/a", its subtree, then "/a-b", "/a.b", "/a0". */
	put_dir(&e, "/");
	put_dir(&e, "/a");
	put_file(&e, "/a/b", 1, 1);
	put_file(&e, "/a/b-c", 1, 1);
	put_dir(&e, "/a/b.d");
	put_file(&e, "/a-b", 1, 1);
	put_file(&e, "/a.b", 1, 1);
	put_file(&e, "/a0", 1, 1);
	tree_dup(&a, &e);
	JOIN_BOTH(R, &e, &a, NULL, "");
	run_free(&R);

	/* The target lacks /a: one missing subtree, and "/a-b", "/a.b",
	 * "/a0", which a strcmp order puts inside it, still match. */
	tree_free(&a);
	put_dir(&a, "/");
	put_file(&a, "/a-b", 1, 1);
	put_file(&a, "/a.b", 1, 1);
	put_file(&a, "/a0", 2, 1);
	JOIN_BOTH(R, &e, &a, NULL,
		  "missing /a (with 3 entries below)\n"
		  "size /a0 1->2\n");
	CHECK_EQ_INT(R.st.matched, 4);
	run_free(&R);

	/* And the other way round: "/a" added, "/a/b-c" vs "/a-b". */
	JOIN_BOTH(R, &a, &e, NULL,
		  "added /a (with 3 entries below)\n"
		  "size /a0 2->1\n");
	CHECK_EQ_STR(R.asked.data, "/a/b=0\n/a/b-c=0\n/a-b=1\n/a.b=1\n/a0=1\n");
	run_free(&R);

	/* "/a/x" meets "/a-b" and "/a.b": a bytewise order would think
	 * "/a/x" comes after both. */
	tree_free(&e);
	tree_free(&a);
	put_dir(&e, "/");
	put_dir(&e, "/a");
	put_file(&e, "/a/x", 1, 1);
	put_file(&e, "/a.b", 1, 1);
	put_dir(&a, "/");
	put_dir(&a, "/a");
	put_file(&a, "/a-b", 1, 1);
	put_file(&a, "/a.b", 1, 1);
	JOIN_BOTH(R, &e, &a, NULL,
		  "missing /a/x\n"
		  "added /a-b\n");
	CHECK_EQ_INT(R.st.matched, 3);
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

TEST(out_of_order_is_an_error)
{
	struct tree e = { 0 }, a = { 0 };
	struct run R;

	put_dir(&e, "/");
	put_file(&e, "/a-b", 1, 1);
	put_file(&e, "/a/b", 1, 1);        /* strcmp order, not canonical */
	put_dir(&a, "/");
	put_file(&a, "/a-b", 1, 1);
	run_join(&R, &e, &a, &strict);
	CHECK_EQ_INT(R.r, HM_ERR_INPUT);
	CHECK_EQ_STR(R.err.msg, "manifest entries out of order at '/a/b'");
	run_free(&R);
	run_join(&R, &a, &e, &asking);
	CHECK_EQ_INT(R.r, HM_ERR_INPUT);
	CHECK_EQ_STR(R.err.msg, "target entries out of order at '/a/b'");
	CHECK(!R.query_left);
	run_free(&R);

	/* A duplicate is out of order too. */
	tree_free(&e);
	put_dir(&e, "/");
	put_file(&e, "/x", 1, 1);
	put_file(&e, "/x", 1, 1);
	run_join(&R, &a, &e, &strict);
	CHECK_EQ_INT(R.r, HM_ERR_INPUT);
	CHECK_EQ_STR(R.err.msg, "target entries out of order at '/x'");
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

/* ---- policies ----------------------------------------------------------- */

TEST(ignore_is_not_compared_at_all)
{
	struct tree e = { 0 }, a = { 0 };
	struct hm_policy *p = policy("/tmp/** /var/* /run", NULL, NULL);
	struct run R;

	put_dir(&e, "/");
	put_dir(&e, "/run");
	put_file(&e, "/run/pid", 1, 1);
	put_dir(&e, "/tmp");
	put_file(&e, "/tmp/gone", 1, 1);
	put_file(&e, "/tmp/x", 1, 1);
	put_dir(&e, "/var");
	put_file(&e, "/var/a", 1, 1);
	put_dir(&e, "/var/log");
	put_file(&e, "/var/log/syslog", 1, 1);
	put_dir(&a, "/");
	put_file(&a, "/run", 1, 1);                /* type: ignored */
	put_file(&a, "/run/pid", 1, 2);            /* not ignored: compared */
	put_dir(&a, "/tmp")->mode = 01777;          /* "/tmp/" "**" is below */
	put_dir(&a, "/tmp/new");                    /* not even added */
	put_file(&a, "/tmp/new/f", 1, 1);
	put_file(&a, "/tmp/x", 9, 9);
	put_dir(&a, "/var")->uid = 1;               /* "/var/" "*" is below */
	put_file(&a, "/var/a", 2, 2);
	put_dir(&a, "/var/log");
	put_file(&a, "/var/log/syslog", 2, 2);      /* two levels: compared */
	put_file(&a, "/var/new", 1, 1);
	JOIN_BOTH(R, &e, &a, p,
		  "content /run/pid "
		  "0101010101010101010101010101010101010101010101010101010101010101->"
		  "0202020202020202020202020202020202020202020202020202020202020202\n"
		  "mode /tmp 0755->1777\n"
		  "uid /var 0->1\n"
		  "content /var/log/syslog "
		  "0101010101010101010101010101010101010101010101010101010101010101->"
		  "0202020202020202020202020202020202020202020202020202020202020202"
		  " (size 1 -> 2)\n");
	/* /run, 2 below /tmp, /var/a, /var/log: 5 in the manifest;
	 * /run, 3 below /tmp, /var/a, /var/log, /var/new: 7 in the target. */
	CHECK_EQ_INT(R.st.ignored, 5 + 7);
	CHECK_EQ_INT(R.st.expected, e.n);
	CHECK_EQ_INT(R.st.actual, a.n);
	CHECK_EQ_INT(R.st.matched, 5);
	CHECK_EQ_STR(R.asked.data, "/run=0\n/run/pid=1\n/tmp/new/f=0\n/tmp/x=0\n"
		     "/var/a=0\n/var/log/syslog=1\n/var/new=0\n");
	run_free(&R);
	hm_policy_free(p);
	tree_free(&e);
	tree_free(&a);
}

TEST(may_change_allows_content_only)
{
	struct tree e = { 0 }, a = { 0 };
	struct hm_policy *p = policy(NULL, "/etc/** /var/*", NULL);
	struct run R;

	put_dir(&e, "/");
	put_dir(&e, "/etc");
	put_file(&e, "/etc/content", 10, 1);
	put_file(&e, "/etc/grew", 10, 1);
	put_file(&e, "/etc/mode", 10, 1);
	put_file(&e, "/etc/owner", 10, 1);
	put_file(&e, "/etc/same", 10, 1);
	put_file(&e, "/etc/type", 10, 1);
	put_link(&e, "/etc/tz", "UTC");
	put_dir(&e, "/var");
	put_dir(&e, "/var/lib");
	put_file(&e, "/var/lib/db", 10, 1);     /* "/var/" "*" is one level */
	put_file(&e, "/var/x", 10, 1);
	put_dir(&a, "/");
	put_dir(&a, "/etc");
	put_file(&a, "/etc/content", 10, 2);
	put_file(&a, "/etc/grew", 99, 2);
	put_file(&a, "/etc/mode", 10, 1)->mode = 0666;
	put_file(&a, "/etc/owner", 12, 2)->gid = 4;
	put_file(&a, "/etc/same", 10, 1);
	put_link(&a, "/etc/type", "/dev/null");
	put_link(&a, "/etc/tz", "Europe/Paris");
	put_dir(&a, "/var");
	put_dir(&a, "/var/lib");
	put_file(&a, "/var/lib/db", 11, 1);
	put_file(&a, "/var/x", 11, 1);
	JOIN_BOTH(R, &e, &a, p,
		  "mode /etc/mode 0644->0666\n"
		  "gid /etc/owner 0->4\n"
		  "type /etc/type file->symlink\n"
		  "size /var/lib/db 10->11\n");
	/* content, grew, owner, tz, /var/x */
	CHECK_EQ_INT(R.st.allowed_changes, 5);
	CHECK_EQ_STR(R.asked.data, "/etc/content=1\n/etc/grew=0\n/etc/mode=1\n"
		     "/etc/owner=0\n/etc/same=1\n/var/lib/db=1\n/var/x=0\n");
	/* Declined files are not hashed. */
	CHECK_EQ_INT(R.st.bytes_hashed, 10 + 10 + 10 + 11);
	run_free(&R);
	hm_policy_free(p);
	tree_free(&e);
	tree_free(&a);
}

TEST(may_add_allows_additions_only_there)
{
	struct tree e = { 0 }, a = { 0 };
	struct hm_policy *p = policy(NULL, NULL, "/opt/app/** /srv/*");
	struct run R;

	put_dir(&e, "/");
	put_dir(&e, "/opt");
	put_dir(&e, "/opt/app");
	put_file(&e, "/opt/app/conf", 1, 1);
	put_dir(&e, "/srv");
	put_dir(&a, "/");
	put_dir(&a, "/opt");
	put_dir(&a, "/opt/app");
	put_file(&a, "/opt/app/conf", 1, 2);    /* a change is not an addition */
	put_dir(&a, "/opt/app/data");
	put_file(&a, "/opt/app/data/x", 1, 1);
	put_dir(&a, "/opt/other");
	put_file(&a, "/opt/other/y", 1, 1);
	put_dir(&a, "/srv");
	put_dir(&a, "/srv/www");                 /* "/srv/" "*": one level */
	put_file(&a, "/srv/www/index", 1, 1);
	put_file(&a, "/srv/www/more", 1, 1);
	put_file(&a, "/srv/z", 1, 1);
	JOIN_BOTH(R, &e, &a, p,
		  "content /opt/app/conf "
		  "0101010101010101010101010101010101010101010101010101010101010101->"
		  "0202020202020202020202020202020202020202020202020202020202020202\n"
		  "added /opt/other (with 1 entries below)\n"
		  "added /srv/www/index\n"
		  "added /srv/www/more\n");
	/* /opt/app/data, /opt/app/data/x, /srv/www, /srv/z */
	CHECK_EQ_INT(R.st.allowed_adds, 4);
	CHECK_EQ_INT(R.st.findings[HM_FINDING_ADDED], 3);
	run_free(&R);

	/* "/opt/app/" "**" lets /opt/app itself appear, and what it holds. */
	tree_free(&e);
	put_dir(&e, "/");
	put_dir(&e, "/opt");
	put_dir(&e, "/srv");
	JOIN_BOTH(R, &e, &a, p,
		  "added /opt/other (with 1 entries below)\n"
		  "added /srv/www/index\n"
		  "added /srv/www/more\n");
	CHECK_EQ_INT(R.st.allowed_adds, 6);
	CHECK_EQ_STR(R.asked.data, "/opt/app/conf=0\n/opt/app/data/x=0\n"
		     "/opt/other/y=0\n/srv/www/index=0\n/srv/www/more=0\n/srv/z=0\n");
	run_free(&R);
	hm_policy_free(p);
	tree_free(&e);
	tree_free(&a);
}

/* ---- the digest query --------------------------------------------------- */

/* The join reports manifest entries before the path the target asks
 * about, while it asks, so that it can answer from the manifest's side;
 * a pending "added" goes first, keeping path order, and with its whole
 * count below (it once said nothing: the count was written only after the
 * question that reported it). */
TEST(query_reports_what_comes_before)
{
	struct tree e = { 0 }, a = { 0 };
	struct run R;

	put_dir(&e, "/");
	put_file(&e, "/b", 1, 1);
	put_file(&e, "/c", 1, 1);
	put_file(&e, "/d", 1, 1);
	put_dir(&a, "/");
	put_dir(&a, "/a");
	put_dir(&a, "/a/x");
	put_file(&a, "/d", 1, 1);
	JOIN_BOTH(R, &e, &a, NULL,
		  "added /a (with 1 entries below)\n"
		  "missing /b\n"
		  "missing /c\n");
	CHECK_EQ_STR(R.sink.during.data, "/a /b /c ");
	CHECK_EQ_STR(R.asked.data, "/d=1\n");
	run_free(&R);
	tree_free(&e);
	tree_free(&a);
}

/* A source that asks about one size and yields another would make the join
 * compare without a digest: that is an error, not a silent pass. */
TEST(query_answer_is_checked)
{
	struct tree e = { 0 }, a = { 0 };
	struct hm_policy *p = policy(NULL, "/f", NULL);
	struct opts o = { .policy = p, .ask = true, .lie = true, .lie_size = 99 };
	struct run R;

	put_dir(&e, "/");
	put_file(&e, "/f", 1, 1);
	tree_dup(&a, &e);
	run_join(&R, &e, &a, &o);
	CHECK_EQ_INT(R.r, HM_ERR_INPUT);
	CHECK_EQ_STR(R.err.msg, "'/f' was compared without its digest");
	CHECK_EQ_STR(R.asked.data, "/f=0\n");
	run_free(&R);
	hm_policy_free(p);
	tree_free(&e);
	tree_free(&a);
}

/* ---- errors ------------------------------------------------------------- */

TEST(source_errors_stop_the_join)
{
	struct tree e, a;
	struct opts o = { 0 };
	size_t k;
	struct run R;

	sample(&e);
	tree_dup(&a, &e);
	find(&a, "/a")->mode = 0;
	for (k = 1; k <= e.n + 1; k++) {
		o = (struct opts){ .exp_fail = k };
		run_join(&R, &e, &a, &o);
		CHECK_EQ_INT(R.r, HM_ERR_IO);
		CHECK_EQ_STR(R.err.msg, "cannot read 'manifest': Input/output error");
		run_free(&R);
		o = (struct opts){ .act_fail = k, .ask = true };
		run_join(&R, &e, &a, &o);
		CHECK_EQ_INT(R.r, HM_ERR_IO);
		CHECK_EQ_STR(R.err.msg, "cannot read 'target': Input/output error");
		CHECK(!R.query_left);
		run_free(&R);
	}
	tree_free(&e);
	tree_free(&a);
}

TEST(callback_errors_stop_the_join)
{
	struct tree e = { 0 }, a = { 0 };
	struct opts o = { .fail_at_call = 2 };
	struct run R;

	put_dir(&e, "/");
	put_file(&e, "/a", 1, 1);
	put_file(&e, "/b", 1, 1);
	put_file(&e, "/c", 1, 1);
	put_file(&e, "/d", 1, 1);
	put_dir(&a, "/");
	put_file(&a, "/d", 1, 2);
	run_join(&R, &e, &a, &o);
	CHECK_EQ_INT(R.r, HM_ERR_IO);
	CHECK_EQ_STR(R.err.msg, "cannot write the report");
	CHECK_EQ_STR(TXT(R), "missing /a\n");
	CHECK_EQ_INT(R.sink.calls, 2);
	run_free(&R);
	/* The same from inside the target's question. */
	o.ask = true;
	run_join(&R, &e, &a, &o);
	CHECK_EQ_INT(R.r, HM_ERR_IO);
	CHECK_EQ_STR(R.err.msg, "cannot write the report");
	CHECK_EQ_STR(TXT(R), "missing /a\n");
	CHECK_EQ_INT(R.sink.calls, 2);
	CHECK(!R.query_left);
	run_free(&R);
	/* No callback: the stats still count. */
	{
		struct fake fe, fa;
		struct hm_compare_stats st;
		struct hm_error err = { 0 };

		fake_init(&fe, "manifest", &e, false);
		fake_init(&fa, "target", &a, true);
		CHECK_OK(hm_compare(&fe.src, &fa.src, NULL, NULL, NULL, &st, &err), &err);
		CHECK_EQ_INT(st.findings[HM_FINDING_MISSING], 3);
		CHECK_EQ_INT(st.findings[HM_FINDING_CONTENT], 1);
		CHECK_EQ_INT(st.total_findings, 4);
		fake_fini(&fe);
		fake_fini(&fa);
	}
	tree_free(&e);
	tree_free(&a);
}

/* ---- a random differential test against a naive reference --------------- */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)((rng >> 11) % n);
}

/* Component names chosen to exercise the order ("/a" and its subtree, then
 * "/a b" < "/a-b" < "/a.b" < "/a0" < "/ab", "/\xff" last), and the policy
 * globs of rand_policy(). */
static const char *const names[] = {
	"a", "a-b", "a.b", "a0", "ab", "b", "c", "lib", "x", "x.so", "a b",
	"\xff", "tmp", "app",
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))
#define MAX_DEPTH 5

static const char *const xnames[] = { "security.capability", "trusted.t",
				      "user.a", "user.b" };

static void rand_xattrs(struct hm_entry *e)
{
	unsigned char v[40];
	size_t i, k;

	for (i = 0; i < 4; i++) {
		size_t n;

		if (rnd(4))
			continue;
		n = rnd(3) ? rnd(4) : 30 + rnd(10);
		for (k = 0; k < n; k++)
			v[k] = (unsigned char)rnd(3);
		must(hm_entry_add_xattr(e, xnames[i], v, n));
	}
}

static char *rand_origin(void)
{
	char b[48];

	if (rnd(8))
		return NULL;
	snprintf(b, sizeof(b), "layer %u sha256:%06x", rnd(5), rnd(1u << 24));
	return strdup(b);
}

static enum hm_type rand_type(int depth)
{
	static const enum hm_type t[] = { HM_TYPE_FILE, HM_TYPE_FILE, HM_TYPE_FILE,
		HM_TYPE_SYMLINK, HM_TYPE_CHAR, HM_TYPE_BLOCK, HM_TYPE_FIFO,
		HM_TYPE_SOCKET };

	if (depth < MAX_DEPTH && rnd(100) < 45)
		return HM_TYPE_DIR;
	return t[rnd(8)];
}

static void rand_fill(struct hm_entry *e, enum hm_type type)
{
	static const char *const targets[] = { "a", "../b", "/c d", "e\\f" };
	const char *tg;

	e->type = type;
	e->mode = rnd(6) ? (type == HM_TYPE_DIR ? 0755 : 0644) : rnd(07777 + 1);
	e->uid = rnd(6) ? 0 : rnd(3);
	e->gid = rnd(6) ? 0 : rnd(3);
	switch (type) {
	case HM_TYPE_FILE:
		e->size = rnd(4);
		memset(e->sha256, (int)rnd(3), HM_SHA256_LEN);
		e->flags |= HM_ENTRY_HAS_DIGEST;
		break;
	case HM_TYPE_SYMLINK:
		tg = targets[rnd(4)];
		must(hm_entry_set_target(e, tg, strlen(tg)));
		break;
	case HM_TYPE_CHAR:
	case HM_TYPE_BLOCK:
		e->rdev_major = rnd(2);
		e->rdev_minor = rnd(2);
		break;
	default:
		break;
	}
	rand_xattrs(e);
}

/* Perturb a copy of a manifest entry (same type) the way a target drifts. */
static void rand_drift(struct hm_entry *e)
{
	const char *tg = rnd(2) ? "a" : "../b";

	if (!rnd(12))
		e->mode ^= 1u << rnd(12);
	if (!rnd(20))
		e->uid ^= 1;
	if (!rnd(20))
		e->gid ^= 2;
	if (e->type == HM_TYPE_FILE) {
		if (!rnd(8))
			e->size = rnd(4);
		if (!rnd(8))
			memset(e->sha256, (int)rnd(3), HM_SHA256_LEN);
		if (!rnd(30))
			e->flags |= HM_ENTRY_CHANGED;
		if (!rnd(30))
			must(hm_entry_set_note(e, "size changed"));
	}
	if (e->type == HM_TYPE_SYMLINK && !rnd(6))
		must(hm_entry_set_target(e, tg, strlen(tg)));
	if ((e->type == HM_TYPE_CHAR || e->type == HM_TYPE_BLOCK) && !rnd(6))
		e->rdev_minor ^= 1;
	if (e->n_xattrs && !rnd(10)) {
		struct hm_xattr *x = &e->xattrs[rnd((uint32_t)e->n_xattrs)];

		if (x->len)
			x->value[rnd((uint32_t)x->len)] ^= 1;
	}
	if (e->n_xattrs && !rnd(20)) {
		/* Drop the last one (hm_entry_clear frees what is counted). */
		e->n_xattrs--;
		free(e->xattrs[e->n_xattrs].name);
		free(e->xattrs[e->n_xattrs].value);
	}
	if (!rnd(20) && !hm_entry_find_xattr(e, "user.new")) {
		must(hm_entry_add_xattr(e, "user.new", "n", 1));
		must(hm_entry_sort_xattrs(e));
	}
}

enum side_mode { BOTH, EXP_ONLY, ACT_ONLY };

static void child_path(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", strcmp(dir, "/") ? dir : "", name);
}

static void gen(struct tree *E, struct tree *A, const char *dir, int depth,
		enum side_mode mode)
{
	size_t i;

	for (i = 0; i < N_NAMES; i++) {
		char path[256];
		enum hm_type t;
		enum side_mode m = mode;
		struct hm_entry *x, *y;
		uint32_t r;

		if (rnd(100) >= 65)
			continue;
		child_path(path, sizeof(path), dir, names[i]);
		if (m == BOTH) {
			r = rnd(100);
			m = r < 5 ? EXP_ONLY : r < 10 ? ACT_ONLY : BOTH;
		}
		t = rand_type(depth);
		if (m == ACT_ONLY && !rnd(25)) {
			/* A tombstone of what was never there. */
			y = put(A, path, t);
			y->flags = HM_ENTRY_DELETED;
			continue;
		}
		if (m != ACT_ONLY) {
			x = put(E, path, HM_TYPE_NONE);
			rand_fill(x, t);
		}
		if (m == EXP_ONLY) {
			if (t == HM_TYPE_DIR)
				gen(E, A, path, depth + 1, EXP_ONLY);
			continue;
		}
		y = put(A, path, HM_TYPE_NONE);
		if (m == ACT_ONLY) {
			rand_fill(y, t);
			y->origin_name = rand_origin();
			if (t == HM_TYPE_DIR)
				gen(E, A, path, depth + 1, ACT_ONLY);
			continue;
		}
		x = &E->e[E->n - 1];
		r = rnd(100);
		if (r < 4) {
			/* The type changed. */
			enum hm_type u = rand_type(depth);

			if (u == t)
				u = t == HM_TYPE_DIR ? HM_TYPE_FILE : HM_TYPE_DIR;
			rand_fill(y, u);
			y->origin_name = rand_origin();
			if (t == HM_TYPE_DIR)
				gen(E, A, path, depth + 1, EXP_ONLY);
			if (u == HM_TYPE_DIR)
				gen(E, A, path, depth + 1, ACT_ONLY);
			continue;
		}
		must(hm_entry_copy(y, x));
		y->origin_name = rand_origin();
		rand_drift(y);
		if (r < 7) {
			y->flags = HM_ENTRY_DELETED;
			if (t == HM_TYPE_DIR)
				gen(E, A, path, depth + 1, EXP_ONLY);
			continue;
		}
		if (r < 9 && (t == HM_TYPE_DIR || t == HM_TYPE_FILE)) {
			y->flags = HM_ENTRY_MOUNTPOINT;
			if (t == HM_TYPE_DIR)
				gen(E, A, path, depth + 1, EXP_ONLY);
			continue;
		}
		if (r < 11) {
			y->flags = HM_ENTRY_UNREADABLE;
			must(hm_entry_set_note(y, rnd(2) ? "Permission denied" : NULL));
			if (t == HM_TYPE_DIR)
				gen(E, A, path, depth + 1, rnd(2) ? EXP_ONLY : BOTH);
			continue;
		}
		if (t == HM_TYPE_DIR)
			gen(E, A, path, depth + 1, BOTH);
	}
}

/* The reference: a map from path to entry on each side, walked over the
 * sorted union of paths. */
struct lines {
	char **v;
	size_t n, cap;
};

static void line_add(struct lines *l, const char *kind, const char *path,
		     const char *exp, const char *act, const char *detail,
		     const char *origin)
{
	struct hm_buf b = HM_BUF_INIT;

	must(hm_buf_addf(&b, "%s %s", kind, path));
	if (exp || act)
		must(hm_buf_addf(&b, " %s->%s", exp ? exp : "-", act ? act : "-"));
	if (detail && origin)
		must(hm_buf_addf(&b, " (%s; from %s)", detail, origin));
	else if (detail || origin)
		must(hm_buf_addf(&b, " (%s%s)", origin ? "from " : "",
				 detail ? detail : origin));
	must(hm_buf_adds(&b, "\n"));
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			must(-1);
	}
	l->v[l->n++] = hm_buf_detach(&b, NULL);
}

static void lines_free(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Split the join's output into lines. */
static void lines_of(struct lines *l, const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		char *s = strndup(text, (size_t)(nl - text) + 1);

		if (!s)
			must(-1);
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 64;
			l->v = realloc(l->v, l->cap * sizeof(*l->v));
			if (!l->v)
				must(-1);
		}
		l->v[l->n++] = s;
		text = nl + 1;
	}
}

static const struct hm_entry *lookup(const struct tree *t, const char *path,
				     size_t *ret_i)
{
	struct hm_entry key = { .path = (char *)path, .path_len = strlen(path) };
	const struct hm_entry *e;

	e = t->n ? bsearch(&key, t->e, t->n, sizeof(*t->e), entry_cmp) : NULL;
	if (e && ret_i)
		*ret_i = (size_t)(e - t->e);
	return e;
}

/* Entries of t strictly below t->e[i], not ignored: they follow it. */
static uint64_t count_below(const struct tree *t, size_t i,
			    const struct hm_policy *p)
{
	const struct hm_entry *d = &t->e[i];
	uint64_t n = 0;

	for (i++; i < t->n && hm_path_is_below(t->e[i].path, t->e[i].path_len,
					       d->path, d->path_len); i++)
		n += !hm_policy_ignored(p, t->e[i].path, t->e[i].path_len);
	return n;
}

static void hex_text(char *out, const struct hm_xattr *x)
{
	size_t i, n = x->len < 32 ? x->len : 32;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", x->value[i]);
	out[2 * n] = 0;
	if (x->len > 32)
		sprintf(out + 2 * n, "... (%zu bytes)", x->len);
}

struct ref_stats {
	struct hm_compare_stats st;
	struct hm_buf asked;
};

static void ref_finding(struct lines *l, struct hm_compare_stats *st,
			enum hm_finding_kind k, const char *path,
			const char *exp, const char *act, const char *detail,
			const char *origin)
{
	st->findings[k]++;
	st->total_findings++;
	line_add(l, hm_finding_kind_name(k), path, exp, act, detail,
		 k == HM_FINDING_MISSING ? NULL : origin);
}

static void ref_pair(struct lines *l, struct hm_compare_stats *st,
		     const struct hm_policy *p, const struct hm_entry *a,
		     const struct hm_entry *b, bool declined)
{
	const char *o = b->origin_name;
	bool mc = hm_policy_may_change(p, a->path, a->path_len);
	char x[160], y[160];
	size_t i, k;

	if (a->mode != b->mode) {
		snprintf(x, sizeof(x), "%04o", a->mode);
		snprintf(y, sizeof(y), "%04o", b->mode);
		ref_finding(l, st, HM_FINDING_MODE, a->path, x, y, NULL, o);
	}
	if (a->uid != b->uid) {
		snprintf(x, sizeof(x), "%u", a->uid);
		snprintf(y, sizeof(y), "%u", b->uid);
		ref_finding(l, st, HM_FINDING_UID, a->path, x, y, NULL, o);
	}
	if (a->gid != b->gid) {
		snprintf(x, sizeof(x), "%u", a->gid);
		snprintf(y, sizeof(y), "%u", b->gid);
		ref_finding(l, st, HM_FINDING_GID, a->path, x, y, NULL, o);
	}
	if (a->type == HM_TYPE_FILE) {
		if (declined) {
			st->allowed_changes++;
		} else if (st->bytes_hashed += b->size, b->flags & HM_ENTRY_CHANGED) {
			ref_finding(l, st, HM_FINDING_CHANGED, a->path, NULL, NULL,
				    b->note ? b->note : "changed while being hashed", o);
		} else if (a->size != b->size ||
			   memcmp(a->sha256, b->sha256, HM_SHA256_LEN)) {
			if (mc) {
				st->allowed_changes++;
			} else {
				/* One finding per changed file (issue 14). */
				if (memcmp(a->sha256, b->sha256, HM_SHA256_LEN)) {
					char sz[64];

					snprintf(sz, sizeof(sz), "size %" PRIu64
						 " -> %" PRIu64, a->size, b->size);
					hm_hex_encode(a->sha256, HM_SHA256_LEN, x);
					hm_hex_encode(b->sha256, HM_SHA256_LEN, y);
					ref_finding(l, st, HM_FINDING_CONTENT, a->path,
						    x, y, a->size != b->size ? sz : NULL, o);
				} else {
					snprintf(x, sizeof(x), "%" PRIu64, a->size);
					snprintf(y, sizeof(y), "%" PRIu64, b->size);
					ref_finding(l, st, HM_FINDING_SIZE, a->path,
						    x, y, NULL, o);
				}
			}
		}
	} else if (a->type == HM_TYPE_SYMLINK) {
		if (a->target_len != b->target_len ||
		    memcmp(a->target, b->target, a->target_len)) {
			if (mc) {
				st->allowed_changes++;
			} else {
				struct hm_buf ta = HM_BUF_INIT, tb = HM_BUF_INIT;

				must(hm_escape(&ta, a->target, a->target_len, 0));
				must(hm_escape(&tb, b->target, b->target_len, 0));
				ref_finding(l, st, HM_FINDING_TARGET, a->path, ta.data,
					    tb.data, NULL, o);
				hm_buf_free(&ta);
				hm_buf_free(&tb);
			}
		}
	} else if ((a->type == HM_TYPE_CHAR || a->type == HM_TYPE_BLOCK) &&
		   (a->rdev_major != b->rdev_major || a->rdev_minor != b->rdev_minor)) {
		snprintf(x, sizeof(x), "%u,%u", a->rdev_major, a->rdev_minor);
		snprintf(y, sizeof(y), "%u,%u", b->rdev_major, b->rdev_minor);
		ref_finding(l, st, HM_FINDING_RDEV, a->path, x, y, NULL, o);
	}
	/* xattrs: look each name of either side up on the other. */
	for (i = 0; i < a->n_xattrs; i++) {
		const struct hm_xattr *xa = &a->xattrs[i];
		const struct hm_xattr *xb = hm_entry_find_xattr(b, xa->name);

		if (xb && xa->len == xb->len && !memcmp(xa->value, xb->value, xa->len))
			continue;
		hex_text(x, xa);
		if (xb)
			hex_text(y, xb);
		ref_finding(l, st, HM_FINDING_XATTR, a->path, x, xb ? y : "absent",
			    xa->name, o);
	}
	for (k = 0; k < b->n_xattrs; k++) {
		if (hm_entry_find_xattr(a, b->xattrs[k].name))
			continue;
		hex_text(y, &b->xattrs[k]);
		ref_finding(l, st, HM_FINDING_XATTR, a->path, "absent", y,
			    b->xattrs[k].name, o);
	}
}

static bool asks(const struct hm_entry *b)
{
	return b->type == HM_TYPE_FILE &&
	       !(b->flags & (HM_ENTRY_UNREADABLE | HM_ENTRY_MOUNTPOINT |
			     HM_ENTRY_DELETED));
}

static void reference(const struct tree *E, const struct tree *A,
		      const struct hm_policy *p, bool ask, struct lines *l,
		      struct ref_stats *rs)
{
	struct hm_compare_stats *st = &rs->st;
	const char *eskip = NULL, *askip = NULL;
	struct tree U = { 0 };
	size_t i, u, ia = 0, ib = 0;
	char d[160];

	memset(rs, 0, sizeof(*rs));
	st->expected = E->n;
	st->actual = A->n;
	/* The union of paths (the entries only carry the path). */
	for (i = 0; i < E->n; i++)
		put(&U, E->e[i].path, HM_TYPE_NONE);
	for (i = 0; i < A->n; i++)
		if (!lookup(E, A->e[i].path, NULL))
			put(&U, A->e[i].path, HM_TYPE_NONE);
	tree_sort(&U);
	for (u = 0; u < U.n; u++) {
		const char *path = U.e[u].path;
		size_t len = U.e[u].path_len;
		const struct hm_entry *a = lookup(E, path, &ia);
		const struct hm_entry *b = lookup(A, path, &ib);
		int answer = 0;

		if (hm_policy_ignored(p, path, len)) {
			st->ignored += (a != NULL) + (b != NULL);
			goto asked;
		}
		if (eskip && hm_path_is_below(path, len, eskip, strlen(eskip)))
			a = NULL;
		else
			eskip = NULL;
		if (askip && hm_path_is_below(path, len, askip, strlen(askip)))
			b = NULL;
		else
			askip = NULL;
		if (a && !b) {
			uint64_t n = count_below(E, ia, p);

			snprintf(d, sizeof(d), "with %" PRIu64 " entries below", n);
			ref_finding(l, st, HM_FINDING_MISSING, path, NULL, NULL,
				    n ? d : NULL, NULL);
			eskip = path;
		} else if (b && !a) {
			uint64_t n;

			if (b->flags & HM_ENTRY_DELETED)
				continue;
			if (hm_policy_may_add(p, path, len) ||
			    (b->type == HM_TYPE_DIR && hm_policy_may_add_below(p, path, len))) {
				st->allowed_adds++;
				goto asked;
			}
			n = count_below(A, ib, p);
			snprintf(d, sizeof(d), "with %" PRIu64 " entries below", n);
			ref_finding(l, st, HM_FINDING_ADDED, path, NULL, NULL,
				    n ? d : NULL, b->origin_name);
			askip = path;
		} else if (a && b && (b->flags & HM_ENTRY_DELETED)) {
			uint64_t n = count_below(E, ia, p);
			int k = snprintf(d, sizeof(d), "deleted by %s",
					 b->origin_name ? b->origin_name : "the target");

			if (n)
				snprintf(d + k, sizeof(d) - (size_t)k,
					 ", with %" PRIu64 " entries below", n);
			ref_finding(l, st, HM_FINDING_MISSING, path, NULL, NULL, d, NULL);
			eskip = path;
		} else if (a && b) {
			st->matched++;
			if (a->type != b->type) {
				ref_finding(l, st, HM_FINDING_TYPE, path,
					    hm_type_name(a->type), hm_type_name(b->type),
					    NULL, b->origin_name);
				eskip = path;
				askip = path;
			} else if (b->flags & HM_ENTRY_MOUNTPOINT) {
				uint64_t n = count_below(E, ia, p);

				if (a->type == HM_TYPE_DIR && n)
					snprintf(d, sizeof(d),
						 "another file system is mounted here: %" PRIu64
						 " manifest entries below not checked", n);
				else
					snprintf(d, sizeof(d),
						 "another file is mounted over it: not checked");
				if (n || a->type != HM_TYPE_DIR)
					ref_finding(l, st, HM_FINDING_MOUNTPOINT, path,
						    NULL, NULL, d, NULL);
				eskip = path;
			} else if (b->flags & HM_ENTRY_UNREADABLE) {
				ref_finding(l, st, HM_FINDING_UNREADABLE, path, NULL, NULL,
					    b->note ? b->note : "cannot be read",
					    b->origin_name);
				eskip = path;
				askip = path;
			} else {
				bool mc = hm_policy_may_change(p, path, len);
				bool declined = ask && a->type == HM_TYPE_FILE &&
						mc && a->size != b->size;

				answer = a->type == HM_TYPE_FILE && !declined;
				ref_pair(l, st, p, a, b, declined);
			}
		}
	asked:
		b = lookup(A, path, NULL);
		if (ask && b && asks(b))
			must(hm_buf_addf(&rs->asked, "%s=%d\n", path, answer));
	}
	must(hm_buf_add(&rs->asked, "", 0));
	tree_free(&U);
}

static struct hm_policy *rand_policy(void)
{
	static const char *const ig[] = { "/tmp/**", "/a/x", "/b/*", "/**/a.b",
		"/a-b/**/x.so", "/c" };
	static const char *const mc[] = { "/**/lib", "/lib/**", "/a b/*",
		"/**/x.so", "/a0/**" };
	static const char *const ma[] = { "/app/**", "/a/*", "/**/ab", "/a-b/**",
		"/x/*/c" };
	struct hm_policy *p = policy(NULL, NULL, NULL);
	struct hm_error err = { 0 };
	size_t i;

	for (i = 0; i < sizeof(ig) / sizeof(ig[0]); i++)
		if (rnd(3) == 0)
			must(hm_policy_add(p, HM_POLICY_IGNORE, ig[i], &err));
	for (i = 0; i < sizeof(mc) / sizeof(mc[0]); i++)
		if (rnd(3) == 0)
			must(hm_policy_add(p, HM_POLICY_MAY_CHANGE, mc[i], &err));
	for (i = 0; i < sizeof(ma) / sizeof(ma[0]); i++)
		if (rnd(3) == 0)
			must(hm_policy_add(p, HM_POLICY_MAY_ADD, ma[i], &err));
	return p;
}

#define CHECK_STAT(f) CHECK_EQ_INT(R.st.f, rs.st.f)

TEST(random_trees_match_the_reference)
{
	int round, k;
	uint64_t total_entries = 0, total_findings = 0;
	uint64_t kinds[HM_FINDING__COUNT] = { 0 };

	for (round = 0; round < 24; round++) {
		struct tree E = { 0 }, A = { 0 };
		struct hm_policy *p;
		struct lines got = { 0 }, want = { 0 };
		struct ref_stats rs;
		struct run R;
		struct opts o = { 0 };
		struct hm_entry *root;
		size_t i;

		rng = 0x9e3779b97f4a7c15ull * (uint64_t)(round + 1);
		p = round % 4 == 0 ? NULL : rand_policy();
		root = put_dir(&E, "/");
		must(hm_entry_copy(put(&A, "/", HM_TYPE_NONE), root));
		gen(&E, &A, "/", 1, BOTH);
		tree_sort(&E);
		tree_sort(&A);
		total_entries += E.n + A.n;
		o.policy = p;
		o.ask = round % 2 == 1;
		run_join(&R, &E, &A, &o);
		CHECK_OK(R.r, &R.err);
		CHECK(!R.sink.out_of_order);
		reference(&E, &A, p, o.ask, &want, &rs);
		lines_of(&got, TXT(R));
		qsort(got.v, got.n, sizeof(*got.v), str_cmp);
		qsort(want.v, want.n, sizeof(*want.v), str_cmp);
		for (i = 0; i < got.n && i < want.n; i++)
			if (strcmp(got.v[i], want.v[i]))
				FAIL("round %d: got %s  want %s", round, got.v[i], want.v[i]);
		CHECK_EQ_INT(got.n, want.n);
		CHECK_STAT(expected);
		CHECK_STAT(actual);
		CHECK_STAT(matched);
		CHECK_STAT(ignored);
		CHECK_STAT(allowed_changes);
		CHECK_STAT(allowed_adds);
		CHECK_STAT(bytes_hashed);
		CHECK_STAT(total_findings);
		for (k = 0; k < HM_FINDING__COUNT; k++) {
			CHECK_EQ_INT(R.st.findings[k], rs.st.findings[k]);
			kinds[k] += R.st.findings[k];
		}
		if (o.ask)
			CHECK_EQ_STR(R.asked.data ? R.asked.data : "",
				     rs.asked.data ? rs.asked.data : "");
		total_findings += got.n;
		run_free(&R);
		hm_buf_free(&rs.asked);
		lines_free(&got);
		lines_free(&want);
		hm_policy_free(p);
		tree_free(&E);
		tree_free(&A);
	}
	/* The trees are big enough, and drift in every way, to mean
	 * something. */
	CHECK(total_entries > 24 * 2 * 2000);
	CHECK(total_findings > 24 * 200);
	/* Every kind a file comparison makes (those from exe-unknown on are
	 * the runtime check's, tests/unit/test_runtime.c). */
	for (k = 0; k < HM_FINDING_EXE_UNKNOWN; k++)
		if (!kinds[k])
			FAIL("no '%s' finding in any round", hm_finding_kind_name(k));
	printf("# %" PRIu64 " entries, %" PRIu64 " findings\n", total_entries,
	       total_findings);
}
