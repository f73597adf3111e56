/*
 * Unit tests: the tar source (lib/source_tar.c).  Archives are built in
 * the test with libarchive's writer, or with GNU tar for sparse files.
 */
#include "harness.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "hallmark/digest.h"
#include "hallmark/source_tar.h"

#include "../../lib/source_tar_private.h"

/* ---- writing test archives ------------------------------------------- */

static struct archive *tw_open(const char *path, bool gzip)
{
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		archive_write_free(a);
		return NULL;
	}
	return a;
}

static struct archive_entry *ent(const char *name, unsigned type,
				 unsigned perm)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	return e;
}

/* Write e (freed) with data; 0 or -1. */
static int tw_add(struct archive *a, struct archive_entry *e, const void *data,
		  size_t len)
{
	int r = 0;

	if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
		archive_entry_set_size(e, (la_int64_t)len);
	/* WARN: a name the locale cannot convert, written as binary. */
	if (archive_write_header(a, e) < ARCHIVE_WARN)
		r = -1;
	else if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
		r = -1;
	archive_entry_free(e);
	return r;
}

static int tw_close(struct archive *a)
{
	int r = archive_write_close(a) == ARCHIVE_OK ? 0 : -1;

	archive_write_free(a);
	return r;
}

/* One regular file member. */
static int tw_file(struct archive *a, const char *name, const char *data)
{
	return tw_add(a, ent(name, AE_IFREG, 0644), data, strlen(data));
}

/* ---- reading them back ------------------------------------------------ */

struct loaded {
	struct hm_entry e[64];
	size_t n;
};

static void loaded_free(struct loaded *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		hm_entry_clear(&l->e[i]);
	l->n = 0;
}

/* Read a target into l; the source's return code. */
static int load(const char *target, const struct hm_scan_options *opt,
		struct loaded *l, struct hm_error *err)
{
	struct hm_source *src = NULL;
	const struct hm_entry *e;
	int r;

	memset(l, 0, sizeof(*l));
	if ((r = hm_source_open_target(target, opt, &src, err)) < 0)
		return r;
	while ((r = hm_source_next(src, &e, err)) > 0) {
		if (l->n == 64) {
			r = -100;
			break;
		}
		if (hm_entry_copy(&l->e[l->n++], e) < 0) {
			r = HM_ERR_NOMEM;
			break;
		}
	}
	hm_source_free(src);
	return r;
}

static const struct hm_entry *find(const struct loaded *l, const char *path)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->e[i].path, path) == 0)
			return &l->e[i];
	return NULL;
}

static void sha_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];

	hm_hash_buf(HM_HASH_SHA256, data, len, d);
	hm_hex_encode(d, 32, out);
}

static void entry_hex(const struct hm_entry *e, char out[65])
{
	hm_hex_encode(e->sha256, 32, out);
}

/* ---- tests ------------------------------------------------------------ */

TEST(every_type_in_canonical_order)
{
	struct hm_error err = { 0 };
	struct loaded l;
	struct archive *a = tw_open("t.tar", false);
	struct archive_entry *e;
	const struct hm_entry *x;
	char want[65], got[65];
	static const char *const order[] = {
		"/", "/dev", "/dev/blk", "/dev/null", "/etc", "/etc/fifo",
		"/etc/hosts", "/etc/hosts.link", "/etc/passwd", "/etc-old", "/link",
	};
	size_t i;

	CHECK(a != NULL);
	/* Members out of order, the root last, a directory after its child. */
	CHECK(tw_file(a, "./etc/passwd", "root:x:0:0\n") == 0);
	e = ent("./etc", AE_IFDIR, 0750);
	archive_entry_set_uid(e, 7);
	archive_entry_set_gid(e, 8);
	CHECK(tw_add(a, e, NULL, 0) == 0);
	CHECK(tw_add(a, ent("./etc-old", AE_IFDIR, 01777), NULL, 0) == 0);
	e = ent("./link", AE_IFLNK, 0777);
	archive_entry_set_symlink(e, "etc/passwd");
	CHECK(tw_add(a, e, NULL, 0) == 0);
	e = ent("./dev/null", AE_IFCHR, 0666);
	archive_entry_set_rdevmajor(e, 1);
	archive_entry_set_rdevminor(e, 3);
	CHECK(tw_add(a, e, NULL, 0) == 0);
	e = ent("./dev/blk", AE_IFBLK, 0660);
	archive_entry_set_rdevmajor(e, 8);
	archive_entry_set_rdevminor(e, 1);
	CHECK(tw_add(a, e, NULL, 0) == 0);
	CHECK(tw_add(a, ent("./etc/fifo", AE_IFIFO, 0600), NULL, 0) == 0);
	e = ent("./etc/hosts", AE_IFREG, 04755);
	archive_entry_set_uid(e, 1000);
	CHECK(tw_add(a, e, "127.0.0.1 localhost\n", 20) == 0);
	e = ent("./etc/hosts.link", AE_IFREG, 04755);
	archive_entry_set_hardlink(e, "./etc/hosts");
	CHECK(tw_add(a, e, NULL, 0) == 0);
	CHECK(tw_add(a, ent("./", AE_IFDIR, 0700), NULL, 0) == 0);
	CHECK(tw_close(a) == 0);

	CHECK_OK(load("tar:t.tar", NULL, &l, &err), &err);
	CHECK_EQ_INT(l.n, sizeof(order) / sizeof(order[0]));
	for (i = 0; i < l.n; i++)
		CHECK_EQ_STR(l.e[i].path, order[i]);
	CHECK_EQ_INT(l.e[0].mode, 0700);                    /* the root's member */
	CHECK(!(l.e[0].flags & HM_ENTRY_IMPLICIT));
	x = find(&l, "/etc");
	CHECK_EQ_INT(x->type, HM_TYPE_DIR);
	CHECK_EQ_INT(x->mode, 0750);
	CHECK_EQ_INT(x->uid, 7);
	CHECK_EQ_INT(x->gid, 8);
	CHECK(!(x->flags & HM_ENTRY_IMPLICIT));
	x = find(&l, "/dev");                               /* never listed */
	CHECK(x->flags & HM_ENTRY_IMPLICIT);
	CHECK_EQ_INT(x->mode, 0755);
	CHECK_EQ_INT(find(&l, "/etc-old")->mode, 01777);
	x = find(&l, "/etc/passwd");
	CHECK_EQ_INT(x->type, HM_TYPE_FILE);
	CHECK_EQ_INT(x->size, 11);
	CHECK(x->flags & HM_ENTRY_HAS_DIGEST);
	sha_hex("root:x:0:0\n", 11, want);
	entry_hex(x, got);
	CHECK_EQ_STR(got, want);
	x = find(&l, "/link");
	CHECK_EQ_INT(x->type, HM_TYPE_SYMLINK);
	CHECK_EQ_STR(x->target, "etc/passwd");
	CHECK_EQ_INT(x->target_len, 10);
	x = find(&l, "/dev/null");
	CHECK_EQ_INT(x->type, HM_TYPE_CHAR);
	CHECK_EQ_INT(x->rdev_major, 1);
	CHECK_EQ_INT(x->rdev_minor, 3);
	x = find(&l, "/dev/blk");
	CHECK_EQ_INT(x->type, HM_TYPE_BLOCK);
	CHECK_EQ_INT(x->rdev_major, 8);
	CHECK_EQ_INT(find(&l, "/etc/fifo")->type, HM_TYPE_FIFO);
	x = find(&l, "/etc/hosts");
	CHECK_EQ_INT(x->mode, 04755);
	CHECK_EQ_INT(x->uid, 1000);
	/* The hard link: the target's metadata and digest, its own path. */
	x = find(&l, "/etc/hosts.link");
	CHECK_EQ_INT(x->type, HM_TYPE_FILE);
	CHECK_EQ_INT(x->size, 20);
	CHECK_EQ_INT(x->uid, 1000);
	CHECK(x->flags & HM_ENTRY_HAS_DIGEST);
	sha_hex("127.0.0.1 localhost\n", 20, want);
	entry_hex(x, got);
	CHECK_EQ_STR(got, want);
	loaded_free(&l);
}

TEST(xattrs_from_pax_headers)
{
	static const unsigned char cap[] = { 1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0 };
	struct hm_error err = { 0 };
	struct loaded l;
	struct archive *a = tw_open("x.tar", false);
	struct archive_entry *e;
	const struct hm_entry *x;

	CHECK(a != NULL);
	e = ent("usr/bin/ping", AE_IFREG, 0755);
	archive_entry_xattr_add_entry(e, "user.z", "last", 4);
	archive_entry_xattr_add_entry(e, "security.capability", cap, sizeof(cap));
	archive_entry_xattr_add_entry(e, "user.empty", "", 0);
	CHECK(tw_add(a, e, "ping", 4) == 0);
	e = ent("usr", AE_IFDIR, 0755);
	archive_entry_xattr_add_entry(e, "user.dir", "d", 1);
	CHECK(tw_add(a, e, NULL, 0) == 0);
	CHECK(tw_close(a) == 0);

	CHECK_OK(load("tar:x.tar", NULL, &l, &err), &err);
	x = find(&l, "/usr/bin/ping");
	CHECK(x != NULL);
	CHECK_EQ_INT(x->n_xattrs, 3);
	CHECK_EQ_STR(x->xattrs[0].name, "security.capability");
	CHECK_EQ_INT(x->xattrs[0].len, sizeof(cap));
	CHECK(memcmp(x->xattrs[0].value, cap, sizeof(cap)) == 0);
	CHECK_EQ_STR(x->xattrs[1].name, "user.empty");
	CHECK_EQ_INT(x->xattrs[1].len, 0);
	CHECK_EQ_STR(x->xattrs[2].name, "user.z");
	CHECK(memcmp(x->xattrs[2].value, "last", 4) == 0);
	x = find(&l, "/usr");
	CHECK_EQ_INT(x->n_xattrs, 1);
	CHECK_EQ_STR(x->xattrs[0].name, "user.dir");
	loaded_free(&l);
}

TEST(bad_hard_links_refused)
{
	struct hm_error err = { 0 };
	struct loaded l;
	struct archive *a;
	struct archive_entry *e;

	/* To a file that comes later in the stream (or never). */
	a = tw_open("h1.tar", false);
	e = ent("link", AE_IFREG, 0644);
	archive_entry_set_hardlink(e, "file");
	CHECK(tw_add(a, e, NULL, 0) == 0);
	CHECK(tw_file(a, "file", "data") == 0);
	CHECK(tw_close(a) == 0);
	CHECK_EQ_INT(load("tar:h1.tar", NULL, &l, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'h1.tar'") != NULL);
	CHECK(strstr(err.msg, "'/link'") != NULL);
	CHECK(strstr(err.msg, "hard link to '/file'") != NULL);
	loaded_free(&l);

	/* To a directory, and to itself. */
	a = tw_open("h2.tar", false);
	CHECK(tw_add(a, ent("d", AE_IFDIR, 0755), NULL, 0) == 0);
	e = ent("link", AE_IFREG, 0644);
	archive_entry_set_hardlink(e, "d");
	CHECK(tw_add(a, e, NULL, 0) == 0);
	CHECK(tw_close(a) == 0);
	CHECK_EQ_INT(load("tar:h2.tar", NULL, &l, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "hard link to '/d'") != NULL);
	loaded_free(&l);
	a = tw_open("h3.tar", false);
	e = ent("self", AE_IFREG, 0644);
	archive_entry_set_hardlink(e, "self");
	CHECK(tw_add(a, e, NULL, 0) == 0);
	CHECK(tw_close(a) == 0);
	CHECK_EQ_INT(load("tar:h3.tar", NULL, &l, &err), HM_ERR_INPUT);
	loaded_free(&l);
	/* Outside the root. */
	a = tw_open("h4.tar", false);
	e = ent("out", AE_IFREG, 0644);
	archive_entry_set_hardlink(e, "../etc/shadow");
	CHECK(tw_add(a, e, NULL, 0) == 0);
	CHECK(tw_close(a) == 0);
	CHECK_EQ_INT(load("tar:h4.tar", NULL, &l, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "escapes the root") != NULL);
	loaded_free(&l);
}

TEST(sparse_file_hashes_its_logical_content)
{
	struct hm_error err = { 0 };
	struct loaded l;
	const struct hm_entry *x;
	unsigned char want[32];
	char hw[65], hg[65];
	uint64_t n;
	struct stat st;
	int fd;

	if (system("tar --version >/dev/null 2>&1") != 0) {
		printf("# skip: no tar\n");
		return;
	}
	CHECK(mkdir("root", 0755) == 0);
	fd = open("root/holes", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, "start", 5, 0) == 5);
	CHECK(pwrite(fd, "middle", 6, 3 << 20) == 6);
	CHECK(ftruncate(fd, 8 << 20) == 0);         /* ends in a hole */
	close(fd);
	fd = open("root/holes", O_RDONLY);
	CHECK_OK(hm_sha256_fd(fd, "holes", want, &n, &err), &err);
	close(fd);
	CHECK_EQ_INT(n, 8 << 20);
	CHECK(system("tar --sparse --format=gnu -C root -cf gnu.tar . && "
		     "tar --sparse --format=pax -C root -cf pax.tar .") == 0);
	/* Really stored sparse: far smaller than the logical size. */
	CHECK(stat("gnu.tar", &st) == 0 && st.st_size < (1 << 20));
	CHECK(stat("pax.tar", &st) == 0 && st.st_size < (1 << 20));
	hm_hex_encode(want, 32, hw);

	CHECK_OK(load("tar:gnu.tar", NULL, &l, &err), &err);
	x = find(&l, "/holes");
	CHECK(x != NULL);
	CHECK_EQ_INT(x->size, 8 << 20);
	entry_hex(x, hg);
	CHECK_EQ_STR(hg, hw);
	loaded_free(&l);
	CHECK_OK(load("tar:pax.tar", NULL, &l, &err), &err);
	x = find(&l, "/holes");
	CHECK(x != NULL);
	CHECK_EQ_INT(x->size, 8 << 20);
	entry_hex(x, hg);
	CHECK_EQ_STR(hg, hw);
	loaded_free(&l);
}

TEST(huge_member_fails_fast)
{
	struct hm_error err = { 0 };
	struct loaded l;
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	static char buf[64 * 1024];
	size_t used = 0;
	FILE *f;

	/* Only the headers of a member that claims 2 TiB. */
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 0);
	CHECK(archive_write_open_memory(a, buf, sizeof(buf), &used) == ARCHIVE_OK);
	e = ent("big", AE_IFREG, 0644);
	archive_entry_set_size(e, (la_int64_t)2 << 40);
	CHECK(archive_write_header(a, e) == ARCHIVE_OK);
	archive_entry_free(e);
	CHECK(used > 0);
	f = fopen("big.tar", "wb");
	CHECK(f != NULL);
	CHECK(fwrite(buf, 1, used, f) == used);
	/* Some data, so that the header parses and the reader starts. */
	memset(buf, 'x', sizeof(buf));
	CHECK(fwrite(buf, 1, sizeof(buf), f) == sizeof(buf));
	fclose(f);
	archive_write_free(a);
	CHECK_EQ_INT(load("tar:big.tar", NULL, &l, &err), HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "HM_LIMIT_TAR_MEMBER_BYTES") != NULL);
	CHECK(strstr(err.msg, "'/big'") != NULL);
	loaded_free(&l);
}

TEST(dotdot_members_refused)
{
	static const char *const bad[] = { "../x", "a/../../b", "ok/..", ".." };
	struct hm_error err = { 0 };
	struct loaded l;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct archive *a = tw_open("evil.tar", false);

		CHECK(tw_file(a, "fine", "x") == 0);
		CHECK(tw_file(a, bad[i], "gotcha") == 0);
		CHECK(tw_close(a) == 0);
		CHECK_EQ_INT(load("tar:evil.tar", NULL, &l, &err), HM_ERR_INPUT);
		if (!strstr(err.msg, bad[i]) || !strstr(err.msg, "path escapes the root") ||
		    !strstr(err.msg, "'evil.tar'"))
			FAIL("message for '%s': %s", bad[i], err.msg);
		loaded_free(&l);
	}
}

TEST(absolute_and_odd_names_normalized)
{
	struct hm_error err = { 0 };
	struct loaded l;
	struct archive *a = tw_open("n.tar", false);

	CHECK(tw_file(a, "/abs/x", "1") == 0);
	CHECK(tw_file(a, "./rel//y", "2") == 0);
	CHECK(tw_add(a, ent("rel/./dir/", AE_IFDIR, 0711), NULL, 0) == 0);
	CHECK(tw_file(a, "sp ace\t\xff", "3") == 0);
	CHECK(tw_close(a) == 0);
	CHECK_OK(load("tar:n.tar", NULL, &l, &err), &err);
	CHECK(find(&l, "/abs/x") != NULL);
	CHECK(find(&l, "/rel/y") != NULL);
	CHECK(find(&l, "/rel/dir") != NULL);
	CHECK_EQ_INT(find(&l, "/rel/dir")->mode, 0711);
	CHECK(find(&l, "/sp ace\t\xff") != NULL);
	CHECK_EQ_INT(l.n, 7);
	loaded_free(&l);
}

TEST(duplicates_refused)
{
	struct hm_error err = { 0 };
	struct loaded l;
	struct archive *a = tw_open("dup.tar", false);

	CHECK(tw_file(a, "./a", "one") == 0);
	CHECK(tw_file(a, "b", "x") == 0);
	CHECK(tw_file(a, "/a", "two") == 0);
	CHECK(tw_close(a) == 0);
	CHECK_EQ_INT(load("tar:dup.tar", NULL, &l, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "duplicate entry '/a' in 'dup.tar'");
	loaded_free(&l);

	/* So is anything below a symlink. */
	a = tw_open("sym.tar", false);
	{
		struct archive_entry *e = ent("l", AE_IFLNK, 0777);

		archive_entry_set_symlink(e, "/etc");
		CHECK(tw_add(a, e, NULL, 0) == 0);
	}
	CHECK(tw_file(a, "l/passwd", "evil") == 0);
	CHECK(tw_close(a) == 0);
	CHECK_EQ_INT(load("tar:sym.tar", NULL, &l, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "parent '/l' is a symlink") != NULL);
	CHECK(strstr(err.msg, "sym.tar") != NULL);
	loaded_free(&l);
}

TEST(truncated_stream_refused)
{
	struct hm_error err = { 0 };
	struct loaded l;
	struct archive *a = tw_open("full.tar", false);
	static char data[100000];
	struct stat st;

	memset(data, 'q', sizeof(data));
	CHECK(tw_file(a, "first", "1") == 0);
	CHECK(tw_add(a, ent("big", AE_IFREG, 0644), data, sizeof(data)) == 0);
	CHECK(tw_close(a) == 0);
	CHECK_OK(load("tar:full.tar", NULL, &l, &err), &err);
	loaded_free(&l);
	CHECK(stat("full.tar", &st) == 0);
	CHECK(truncate("full.tar", 40000) == 0);
	CHECK_EQ_INT(load("tar:full.tar", NULL, &l, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'full.tar'") != NULL);
	CHECK(strstr(err.msg, "'/big'") != NULL);
	loaded_free(&l);
	/* Cut inside a header: the message names the member before. */
	CHECK(truncate("full.tar", 1024 + 100) == 0);
	CHECK(load("tar:full.tar", NULL, &l, &err) < 0);
	CHECK(strstr(err.msg, "'full.tar'") != NULL);
	loaded_free(&l);
	/* Not a tar at all. */
	CHECK(system("head -c 5000 /dev/urandom > junk.tar") == 0);
	CHECK_EQ_INT(load("tar:junk.tar", NULL, &l, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'junk.tar'") != NULL);
	loaded_free(&l);
	CHECK_EQ_INT(load("tar:missing.tar", NULL, &l, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "missing.tar") != NULL);
}

TEST(gzip_stream_and_stdin)
{
	struct hm_error err = { 0 };
	struct loaded l;
	struct archive *a = tw_open("t.tar.gz", true);
	char want[65], got[65];
	int fd, saved;

	CHECK(tw_file(a, "etc/motd", "welcome\n") == 0);
	CHECK(tw_close(a) == 0);
	CHECK_OK(load("tar:t.tar.gz", NULL, &l, &err), &err);
	CHECK_EQ_INT(l.n, 3);
	sha_hex("welcome\n", 8, want);
	entry_hex(find(&l, "/etc/motd"), got);
	CHECK_EQ_STR(got, want);
	loaded_free(&l);

	/* tar:- reads standard input (and leaves it open). */
	saved = dup(0);
	fd = open("t.tar.gz", O_RDONLY);
	CHECK(fd >= 0 && saved >= 0);
	CHECK(dup2(fd, 0) == 0);
	close(fd);
	CHECK_OK(load("tar:-", NULL, &l, &err), &err);
	CHECK(fcntl(0, F_GETFD) >= 0);
	dup2(saved, 0);
	close(saved);
	CHECK_EQ_INT(l.n, 3);
	entry_hex(find(&l, "/etc/motd"), got);
	CHECK_EQ_STR(got, want);
	loaded_free(&l);
}

static bool skip_entry(void *ctx, const char *path, size_t len)
{
	(void)ctx;
	return len == 9 && memcmp(path, "/etc/skip", 9) == 0;
}

static bool skip_subtree(void *ctx, const char *path, size_t len)
{
	(void)ctx;
	return len == 4 && memcmp(path, "/var", 4) == 0;
}

struct sink_state {
	int begins, ends;
	uint64_t bytes;
	char last[65];
};

static int sink_begin(void *ctx, const struct hm_entry *e, struct hm_error *err)
{
	(void)err;
	((struct sink_state *)ctx)->begins++;
	return e->type == HM_TYPE_FILE ? 0 : -1;
}

static int sink_data(void *ctx, const void *buf, size_t len, struct hm_error *err)
{
	(void)buf;
	(void)err;
	((struct sink_state *)ctx)->bytes += len;
	return 0;
}

static int sink_end(void *ctx, struct hm_entry *e, struct hm_error *err)
{
	struct sink_state *s = ctx;

	(void)err;
	s->ends++;
	hm_hex_encode(e->sha256, 32, s->last);
	return 0;
}

TEST(filter_and_sink)
{
	struct hm_error err = { 0 };
	struct loaded l;
	struct archive *a = tw_open("f.tar", false);
	struct sink_state ss = { 0 };
	struct hm_content_sink sink = { sink_begin, sink_data, sink_end, &ss };
	struct hm_scan_options opt = { 0 };
	struct archive_entry *e;
	char want[65];

	CHECK(tw_file(a, "etc/keep", "kept") == 0);
	CHECK(tw_file(a, "etc/skip", "skipped") == 0);
	CHECK(tw_add(a, ent("var", AE_IFDIR, 0755), NULL, 0) == 0);
	CHECK(tw_file(a, "var/log/syslog", "lots of logs") == 0);
	CHECK(tw_file(a, "var/x", "x") == 0);
	/* A hard link to a member the filter skipped. */
	e = ent("etc/link", AE_IFREG, 0644);
	archive_entry_set_hardlink(e, "var/x");
	CHECK(tw_add(a, e, NULL, 0) == 0);
	CHECK(tw_close(a) == 0);
	opt.filter.skip_entry = skip_entry;
	opt.filter.skip_subtree = skip_subtree;
	opt.sink = &sink;
	CHECK_OK(load("tar:f.tar", &opt, &l, &err), &err);
	CHECK(find(&l, "/etc/keep") != NULL);
	CHECK(find(&l, "/etc/skip") == NULL);
	CHECK(find(&l, "/var") != NULL);               /* the dir itself stays */
	CHECK(find(&l, "/var/log") == NULL);
	CHECK(find(&l, "/var/log/syslog") == NULL);
	CHECK(find(&l, "/etc/link") != NULL);
	CHECK(find(&l, "/etc/link")->flags & HM_ENTRY_UNREADABLE);
	CHECK_EQ_INT(l.n, 5);
	/* Only what was kept went through the sink. */
	CHECK_EQ_INT(ss.begins, 1);
	CHECK_EQ_INT(ss.ends, 1);
	CHECK_EQ_INT(ss.bytes, 4);
	sha_hex("kept", 4, want);
	CHECK_EQ_STR(ss.last, want);
	loaded_free(&l);
}

TEST(read_tree_for_the_builder)
{
	struct hm_error err = { 0 };
	struct hm_tree *t = NULL;
	struct archive *a = tw_open("b.tar", false);

	CHECK(tw_file(a, "./opt/app/run", "#!/bin/sh\n") == 0);
	CHECK(tw_close(a) == 0);
	CHECK_OK(hm_tar_read_tree("b.tar", NULL, &t, &err), &err);
	CHECK_EQ_INT(hm_tree_count(t), 4);
	CHECK(hm_tree_get(t, "/opt/app/run", 12) != NULL);
	CHECK(hm_tree_get(t, "/opt", 4)->flags & HM_ENTRY_IMPLICIT);
	hm_tree_free(t);
	CHECK_EQ_INT(hm_tar_read_tree(".", NULL, &t, &err), HM_ERR_USAGE);
}

/* ---- the header guard, as lib/source_oci.c would use it ---------------- */

/* A tar in memory, handed to libarchive (and the guard) chunk bytes at a
 * time, so that headers straddle the buffers. */
struct memsrc {
	const unsigned char *p;
	size_t len, at, chunk;
	struct hm_tar_guard *g;
};

static la_ssize_t mem_read(struct archive *a, void *ctx, const void **buf)
{
	struct memsrc *m = ctx;
	struct hm_error e = { 0 };
	size_t n = m->len - m->at < m->chunk ? m->len - m->at : m->chunk;

	(void)a;
	*buf = m->p + m->at;
	m->at += n;
	if (n && hm_tar_guard_feed(m->g, *buf, n, &e) < 0)
		return -1;
	return (la_ssize_t)n;
}

/*
 * Every member of the tar in p through hm_tar_next_header(), the files'
 * content through hm_tar_member_content() with the guard: the first
 * failure (err set, *ret_mode the last member's permission bits), or 0.
 */
static int guarded(const void *p, size_t len, size_t chunk, unsigned *ret_mode,
		   struct hm_error *err)
{
	struct archive *a = archive_read_new();
	struct memsrc m = { p, len, 0, chunk, NULL };
	struct archive_entry *ae;
	enum hm_tar_failure f;
	int r;

	if (hm_tar_guard_new(a, &m.g, err) < 0)
		return HM_ERR_NOMEM;
	archive_read_support_format_tar(a);
	if (archive_read_open(a, &m, NULL, mem_read, NULL) != ARCHIVE_OK) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "open: %s", archive_error_string(a));
		goto out;
	}
	while ((r = hm_tar_next_header(a, m.g, &ae, &f, err)) > 0) {
		struct hm_entry *e = hm_entry_new();

		*ret_mode = archive_entry_perm(ae);
		if (archive_entry_filetype(ae) == AE_IFREG)
			r = hm_tar_member_content(a, m.g, e, (uint64_t)archive_entry_size(ae),
						  NULL, NULL, &f, err);
		hm_entry_free(e);
		if (r < 0)
			break;
	}
	if (r < 0 && f == HM_TAR_FAIL_ARCHIVE)
		hm_error_set(err, r, 0, "libarchive: %s", archive_error_string(a));
out:
	archive_read_free(a);
	hm_tar_guard_free(m.g);
	return r < 0 ? r : 0;
}

/* Write one pax archive of e (freed) and data into buf; its length. */
static size_t pax_mem(unsigned char *buf, size_t cap, struct archive_entry *e,
		      const char *data)
{
	struct archive *a = archive_write_new();
	size_t used = 0;

	archive_write_set_format_pax(a);
	archive_write_open_memory(a, buf, cap, &used);
	archive_entry_set_size(e, (la_int64_t)strlen(data));
	archive_write_header(a, e);
	archive_write_data(a, data, strlen(data));
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	return used;
}

/* Replace every from with to (as long) in buf. */
static int patch(unsigned char *buf, size_t len, const char *from, const char *to,
		 size_t n)
{
	int hits = 0;

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, from, n) == 0) {
			memcpy(buf + i, to, n);
			hits++;
		}
	return hits;
}

TEST(guard_keeps_the_header_mode_under_an_acl_mask)
{
	static unsigned char buf[64 * 1024];
	struct archive_entry *e = ent("f", AE_IFREG, 0670);
	struct hm_error err = { 0 };
	size_t len, chunk;
	unsigned mode = 0;

	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 7,
				    ARCHIVE_ENTRY_ACL_GROUP, 4, "adm");
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 7,
				    ARCHIVE_ENTRY_ACL_MASK, -1, NULL);
	len = pax_mem(buf, sizeof(buf), e, "x\n");
	/* The writer derives group:: from the mode; a real ACL's group
	 * entry differs from the mask, as GNU tar --acls writes it. */
	CHECK(patch(buf, len, "group::rwx", "group::r--", 10) == 1);
	for (chunk = 7; chunk <= 4096; chunk *= 3) {
		CHECK_OK(guarded(buf, len, chunk, &mode, &err), &err);
		CHECK_EQ_INT(mode, 0670);
	}
}

TEST(guard_refuses_header_warnings)
{
	static unsigned char buf[64 * 1024];
	struct archive_entry *e = ent("f", AE_IFREG, 0644);
	struct hm_error err = { 0 };
	unsigned mode;
	size_t len;

	archive_entry_xattr_add_entry(e, "user.ab", "v", 1);
	len = pax_mem(buf, sizeof(buf), e, "x\n");
	CHECK_OK(guarded(buf, len, 100, &mode, &err), &err);
	/* A NUL in the key: libarchive drops the rest of the header. */
	CHECK(patch(buf, len, "user.ab=", "user.a\0=", 8) >= 1);
	CHECK_EQ_INT(guarded(buf, len, 100, &mode, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "part of its header was dropped") != NULL);
}

/* A pax global header block holding records, then the archive in tail. */
static size_t with_global(unsigned char *out, const char *records,
			  const unsigned char *tail, size_t tlen)
{
	size_t rlen = strlen(records), i;
	unsigned sum = 0;

	memset(out, 0, 1024);
	memcpy(out, "pax_global_header", 17);
	memcpy(out + 100, "0000644", 7);
	snprintf((char *)out + 124, 12, "%011o", (unsigned)rlen);
	out[156] = 'g';
	memcpy(out + 257, "ustar\0" "00", 8);
	memset(out + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += out[i];
	snprintf((char *)out + 148, 8, "%06o", sum);
	memcpy(out + 512, records, rlen);
	memcpy(out + 1024, tail, tlen);
	return 1024 + tlen;
}

TEST(guard_refuses_pax_global_headers)
{
	static unsigned char one[64 * 1024], buf[80 * 1024];
	struct hm_error err = { 0 };
	unsigned mode;
	size_t len = pax_mem(one, sizeof(one), ent("f", AE_IFREG, 0644), "x\n"), n;

	n = with_global(buf, "8 uid=0\n8 gid=0\n", one, len);
	CHECK_EQ_INT(guarded(buf, n, 100, &mode, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "pax global header (typeflag 'g') before it sets 'uid'") != NULL);
	/* git archive's: a comment only. */
	n = with_global(buf, "16 comment=abcd\n", one, len);
	CHECK_OK(guarded(buf, n, 100, &mode, &err), &err);
	n = with_global(buf, "18 comment=abcd\n", one, len);
	CHECK_EQ_INT(guarded(buf, n, 100, &mode, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "malformed pax global header") != NULL);
}

TEST(guard_caps_holes_before_hashing_them)
{
	static unsigned char buf[64 * 1024];
	struct archive_entry *e = ent("f", AE_IFREG, 0644);
	struct hm_error err = { 0 };
	struct archive *a = archive_write_new();
	char data[512];
	size_t used = 0;
	unsigned mode;

	memset(data, 'x', sizeof(data));
	archive_write_set_format_pax(a);
	archive_write_open_memory(a, buf, sizeof(buf), &used);
	archive_entry_set_size(e, (la_int64_t)(HM_LIMIT_TAR_HOLE_BYTES + 1024));
	archive_entry_sparse_add_entry(e, 0, 512);
	archive_write_header(a, e);
	archive_write_data(a, data, sizeof(data));
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	CHECK_EQ_INT(guarded(buf, used, 4096, &mode, &err), HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "HM_LIMIT_TAR_HOLE_BYTES") != NULL);
}

TEST(only_the_promised_filters)
{
	static const unsigned char lzop[] = "\x89LZO\x00\r\n\x1a\n\x10\x30\x20\xa0\x09\x40\x01\x05\x03";
	static unsigned char buf[4096];
	struct hm_error err = { 0 };
	struct archive *a = archive_read_new();

	CHECK_OK(hm_tar_support_filters(a, &err), &err);
	archive_read_support_format_tar(a);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, lzop, sizeof(lzop) - 1);
	CHECK(archive_read_open_memory(a, buf, sizeof(buf)) != ARCHIVE_OK ||
	      archive_filter_code(a, 0) != ARCHIVE_FILTER_LZOP);
	archive_read_free(a);
	a = archive_read_new();
	CHECK_OK(hm_tar_support_filters(a, &err), &err);
	/* Every filter libarchive has, but those four, is not enabled. */
	CHECK(archive_read_append_filter(a, ARCHIVE_FILTER_GZIP) == ARCHIVE_OK);
	archive_read_free(a);
}
