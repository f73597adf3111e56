/* Unit tests: the manifest format (escaping, times, writer, reader). */
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/manifest.h"

/* ---- helpers ------------------------------------------------------------ */

/* A source over an array of entries; fails with HM_ERR_IO at fail_at. */
struct mem_source {
	struct hm_source src;
	const struct hm_entry *entries;
	size_t n, pos, fail_at;
};

static int mem_next(struct hm_source *s, const struct hm_entry **ret,
		    struct hm_error *err)
{
	struct mem_source *m = (struct mem_source *)s;

	if (m->pos == m->fail_at)
		return hm_error_set(err, HM_ERR_IO, 5, "cannot read '/broken'");
	if (m->pos == m->n)
		return 0;
	*ret = &m->entries[m->pos++];
	return 1;
}

static void mem_free(struct hm_source *s)
{
	(void)s;
}

static const struct hm_source_ops mem_ops = { .kind = "mem", .next = mem_next, .free = mem_free };

static struct mem_source mem_source(const struct hm_entry *e, size_t n)
{
	struct mem_source m = { { &mem_ops }, e, n, 0, SIZE_MAX };

	return m;
}

static void set_entry(struct hm_entry *e, const char *path, enum hm_type t,
		      unsigned mode)
{
	memset(e, 0, sizeof(*e));
	hm_entry_set_path(e, path, strlen(path));
	e->type = t;
	e->mode = mode;
}

static void header_init(struct hm_manifest_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = 1;
	strcpy(h->name, "web-base");
	h->serial = 7;
	h->created = 1795378389;   /* 2026-11-22T20:13:09Z */
	h->expires = HM_EXPIRES_NEVER;
}

/* issue 11, item 14: 0 is 1970, a past time, never "never". */
TEST(expiry_zero_is_not_never)
{
	struct hm_manifest_header h;
	struct hm_buf b = HM_BUF_INIT;
	struct hm_error err = { 0 };

	header_init(&h);
	CHECK_OK(hm_manifest_format_header(&b, &h, &err), &err);
	CHECK(strstr(b.data, "\nexpires never\n"));
	hm_buf_reset(&b);
	h.expires = 0;
	CHECK_EQ_INT(hm_manifest_format_header(&b, &h, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "expiry time 1970-01-01T00:00:00Z is not after the creation time"));
	CHECK(!b.data || !strstr(b.data, "never"));
	h.expires = h.created;
	CHECK_EQ_INT(hm_manifest_format_header(&b, &h, &err), HM_ERR_INPUT);
	h.expires = h.created + 1;
	CHECK_OK(hm_manifest_format_header(&b, &h, &err), &err);
	hm_buf_free(&b);
}

static int write_text(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int r;

	if (fd < 0)
		return -1;
	r = hm_write_all(fd, data, len);
	close(fd);
	return r;
}

/*
 * Parse all of text; returns what the reader returned last (0 when the
 * whole manifest is valid) and the number of entries read.
 */
static int parse_text(const char *text, size_t len, struct hm_error *err,
		      size_t *count)
{
	struct hm_manifest_reader *r = NULL;
	const struct hm_entry *e;
	int fd, rc;

	*count = 0;
	if (write_text("m.manifest", text, len) < 0)
		return -100;
	fd = open("m.manifest", O_RDONLY);
	if (fd < 0)
		return -100;
	rc = hm_manifest_reader_open(fd, "m.manifest", 0, &r, err);
	while (rc >= 0) {
		rc = hm_manifest_reader_next(r, &e, err);
		if (rc == 1)
			(*count)++;
		else
			break;
	}
	hm_manifest_reader_free(r);
	close(fd);
	return rc;
}

static size_t count_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return SIZE_MAX;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- escaping ----------------------------------------------------------- */

TEST(escape_every_byte_round_trips)
{
	struct hm_buf esc = HM_BUF_INIT, raw = HM_BUF_INIT;
	char all[255];
	int c;
	size_t i;

	for (c = 0; c < 256; c++) {
		char ch = (char)c;

		hm_buf_reset(&esc);
		hm_buf_reset(&raw);
		CHECK_EQ_INT(hm_escape(&esc, &ch, 1, 0), 0);
		if (c > 0x20 && c < 0x7f && c != '\\') {
			CHECK_EQ_INT(esc.len, 1);
		} else {
			char want[5];

			snprintf(want, sizeof(want), "\\%03o", c);
			CHECK_EQ_STR(esc.data, want);
		}
		if (c == 0) {
			/* NUL can be escaped, but never read back. */
			CHECK_EQ_INT(hm_unescape(&raw, esc.data, esc.len), -1);
			continue;
		}
		CHECK_EQ_INT(hm_unescape(&raw, esc.data, esc.len), 0);
		CHECK_EQ_INT(raw.len, 1);
		CHECK_EQ_INT((unsigned char)raw.data[0], c);
	}
	for (i = 0; i < sizeof(all); i++)
		all[i] = (char)(i + 1);
	hm_buf_reset(&esc);
	hm_buf_reset(&raw);
	CHECK_EQ_INT(hm_escape(&esc, all, sizeof(all), 0), 0);
	for (i = 0; i < esc.len; i++)
		CHECK(esc.data[i] > 0x20 && esc.data[i] < 0x7f);
	CHECK_EQ_INT(hm_unescape(&raw, esc.data, esc.len), 0);
	CHECK_EQ_INT(raw.len, sizeof(all));
	CHECK(memcmp(raw.data, all, sizeof(all)) == 0);
	hm_buf_free(&esc);
	hm_buf_free(&raw);
}

TEST(escape_awkward_names)
{
	static const char *const names[] = {
		"/etc/a b", "/new\nline", "/back\\slash", "/bad\xff\xfeutf8",
		"/caf\xc3\xa9", "/tab\there", "/eq=sign", "/\x7f\x01",
	};
	struct hm_buf esc = HM_BUF_INIT, raw = HM_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		hm_buf_reset(&esc);
		hm_buf_reset(&raw);
		CHECK_EQ_INT(hm_escape(&esc, names[i], strlen(names[i]), 0), 0);
		CHECK(!memchr(esc.data, ' ', esc.len));
		CHECK(!memchr(esc.data, '\n', esc.len));
		CHECK_EQ_INT(hm_unescape(&raw, esc.data, esc.len), 0);
		CHECK_EQ_STR(raw.data, names[i]);
	}
	hm_buf_reset(&esc);
	CHECK_EQ_INT(hm_escape(&esc, "/a b\\c", 6, 0), 0);
	CHECK_EQ_STR(esc.data, "/a\\040b\\134c");
	hm_buf_reset(&esc);
	CHECK_EQ_INT(hm_escape(&esc, "user.a=b", 8, '='), 0);
	CHECK_EQ_STR(esc.data, "user.a\\075b");
	hm_buf_free(&esc);
	hm_buf_free(&raw);
}

TEST(unescape_is_strict)
{
	static const char *const bad[] = {
		"\\", "\\0", "\\01", "\\08x", "\\400", "\\777", "\\000",
		"a b", "a\nb", "a\tb", "\\141" /* 'a' needs no escape */,
		"\\x41", "ab\\", "\xff",
	};
	struct hm_buf raw = HM_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hm_buf_reset(&raw);
		if (hm_unescape(&raw, bad[i], strlen(bad[i])) != -1)
			FAIL("accepted '%s'", bad[i]);
	}
	hm_buf_reset(&raw);
	CHECK_EQ_INT(hm_unescape(&raw, "\\075\\377\\001", 12), 0);
	CHECK_EQ_INT(raw.len, 3);
	CHECK(memcmp(raw.data, "=\xff\x01", 3) == 0);
	hm_buf_free(&raw);
}

TEST(times_and_names)
{
	char out[21];
	time_t t;

	hm_time_format(1795378389, out);
	CHECK_EQ_STR(out, "2026-11-22T20:13:09Z");
	CHECK_EQ_INT(hm_time_parse(out, 20, &t), 0);
	CHECK_EQ_INT(t, 1795378389);
	CHECK_EQ_INT(hm_time_parse("2024-02-29T00:00:00Z", 20, &t), 0);
	CHECK_EQ_INT(hm_time_parse("2023-02-29T00:00:00Z", 20, &t), -1);
	CHECK_EQ_INT(hm_time_parse("2026-11-22T24:00:00Z", 20, &t), -1);
	CHECK_EQ_INT(hm_time_parse("2026-11-22T20:13:60Z", 20, &t), -1);
	CHECK_EQ_INT(hm_time_parse("2026-11-22t20:13:09z", 20, &t), -1);
	CHECK_EQ_INT(hm_time_parse("2026-11-22T20:13:09+00:00", 25, &t), -1);
	CHECK_EQ_INT(hm_time_parse("2026-1-22T20:13:09Z", 19, &t), -1);
	CHECK_EQ_INT(hm_time_parse("1969-12-31T23:59:59Z", 20, &t), -1);
	CHECK_EQ_INT(hm_time_parse("2026-13-01T00:00:00Z", 20, &t), -1);

	CHECK(hm_manifest_name_valid("web-base"));
	CHECK(hm_manifest_name_valid("Debian_12.hardened+1"));
	CHECK(!hm_manifest_name_valid(""));
	CHECK(!hm_manifest_name_valid(".hidden"));
	CHECK(!hm_manifest_name_valid("-opt"));
	CHECK(!hm_manifest_name_valid("a b"));
	CHECK(!hm_manifest_name_valid("a/b"));
	{
		char long_name[HM_LIMIT_NAME_BYTES + 2];

		memset(long_name, 'a', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = '\0';
		CHECK(!hm_manifest_name_valid(long_name));
		long_name[HM_LIMIT_NAME_BYTES] = '\0';
		CHECK(hm_manifest_name_valid(long_name));
	}
}

/* ---- a tree with every kind of entry ------------------------------------ */

#define N_TREE 10

static void build_tree(struct hm_entry *e)
{
	static const unsigned char cap[20] = {
		0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	size_t i;

	set_entry(&e[0], "/", HM_TYPE_DIR, 0755);
	set_entry(&e[1], "/bin", HM_TYPE_SYMLINK, 0777);
	hm_entry_set_target(&e[1], "usr/bin", 7);
	set_entry(&e[2], "/dev", HM_TYPE_DIR, 0755);
	set_entry(&e[3], "/dev/null", HM_TYPE_CHAR, 0666);
	e[3].rdev_major = 1;
	e[3].rdev_minor = 3;
	set_entry(&e[4], "/dev/sda", HM_TYPE_BLOCK, 0660);
	e[4].gid = 6;
	e[4].rdev_major = 8;
	set_entry(&e[5], "/etc", HM_TYPE_DIR, 0755);
	set_entry(&e[6], "/etc/a b\n\\\xff", HM_TYPE_FILE, 04755);
	e[6].size = 5;
	e[6].uid = 4294967295u;
	e[6].flags = HM_ENTRY_HAS_DIGEST;
	for (i = 0; i < HM_SHA256_LEN; i++)
		e[6].sha256[i] = (unsigned char)(i * 7);
	hm_entry_add_xattr(&e[6], "security.capability", cap, sizeof(cap));
	hm_entry_add_xattr(&e[6], "user.empty", "", 0);
	hm_entry_add_xattr(&e[6], "user.k=v x", "hi", 2);
	set_entry(&e[7], "/run", HM_TYPE_DIR, 01777);
	hm_entry_add_xattr(&e[7], "user.x", "\0\n", 2);
	set_entry(&e[8], "/run/fifo", HM_TYPE_FIFO, 0600);
	set_entry(&e[9], "/run/sock", HM_TYPE_SOCKET, 0755);
	hm_entry_set_target(&e[9], "x", 1);   /* stray target: not written */
}

static void free_tree(struct hm_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hm_entry_clear(&e[i]);
}

static int entries_equal(const struct hm_entry *a, const struct hm_entry *b)
{
	size_t i;

	if (a->path_len != b->path_len || memcmp(a->path, b->path, a->path_len) ||
	    a->type != b->type || a->mode != b->mode || a->uid != b->uid ||
	    a->gid != b->gid)
		return 0;
	if (a->type == HM_TYPE_FILE &&
	    (a->size != b->size || memcmp(a->sha256, b->sha256, 32) ||
	     !(b->flags & HM_ENTRY_HAS_DIGEST)))
		return 0;
	if (a->type == HM_TYPE_SYMLINK &&
	    (a->target_len != b->target_len ||
	     memcmp(a->target, b->target, a->target_len)))
		return 0;
	if ((a->type == HM_TYPE_CHAR || a->type == HM_TYPE_BLOCK) &&
	    (a->rdev_major != b->rdev_major || a->rdev_minor != b->rdev_minor))
		return 0;
	if (a->n_xattrs != b->n_xattrs)
		return 0;
	for (i = 0; i < a->n_xattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len))
			return 0;
	return 1;
}

TEST(format_parse_round_trip)
{
	struct hm_entry tree[N_TREE];
	struct hm_manifest_header h;
	struct hm_buf text = HM_BUF_INIT, again = HM_BUF_INIT;
	struct hm_manifest_reader *r;
	const struct hm_manifest_header *rh;
	const struct hm_entry *e;
	struct hm_error err = { 0 };
	size_t i;
	int fd;

	build_tree(tree);
	header_init(&h);
	h.expires = 1826914389;
	strcpy(h.template_digest, "sha256:"
	       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	strcpy(h.images[0].kind, "oci");
	strcpy(h.images[0].digest, "sha256:"
	       "1111111111111111111111111111111111111111111111111111111111111111");
	strcpy(h.images[1].kind, "tar");
	strcpy(h.images[1].digest, "sha256:"
	       "2222222222222222222222222222222222222222222222222222222222222222");
	h.n_images = 2;
	h.entries = N_TREE;
	CHECK_OK(hm_manifest_format_header(&text, &h, &err), &err);
	for (i = 0; i < N_TREE; i++)
		CHECK_OK(hm_manifest_format_entry(&text, &tree[i], &err), &err);
	CHECK(strstr(text.data, "\n/etc/a\\040b\\012\\134\\377 type=file mode=4755 "
			"uid=4294967295 gid=0 size=5 sha256=00070e15") != NULL);
	CHECK(strstr(text.data, " xattr.security.capability="
			"0100000200200000000000000000000000000000 "
			"xattr.user.empty= xattr.user.k\\075v\\040x=6869\n") != NULL);
	CHECK(strstr(text.data, "\n/dev/null type=char mode=0666 uid=0 gid=0 rdev=1,3\n"));
	CHECK(strstr(text.data, "\n/run/sock type=socket mode=0755 uid=0 gid=0\n"));
	CHECK(strstr(text.data, "\nexpires 2027-11-22T20:13:09Z\n"));

	CHECK_EQ_INT(write_text("t.manifest", text.data, text.len), 0);
	fd = open("t.manifest", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_OK(hm_manifest_reader_open(fd, "t.manifest", 0, &r, &err), &err);
	rh = hm_manifest_reader_header(r);
	CHECK_EQ_STR(rh->name, "web-base");
	CHECK_EQ_INT(rh->serial, 7);
	CHECK_EQ_INT(rh->created, h.created);
	CHECK_EQ_INT(rh->expires, h.expires);
	CHECK_EQ_STR(rh->template_digest, h.template_digest);
	CHECK_EQ_INT(rh->n_images, 2);
	CHECK_EQ_STR(rh->images[1].kind, "tar");
	CHECK_EQ_STR(rh->images[1].digest, h.images[1].digest);
	CHECK_OK(hm_manifest_format_header(&again, rh, &err), &err);
	for (i = 0; i < N_TREE; i++) {
		CHECK_EQ_INT(hm_manifest_reader_next(r, &e, &err), 1);
		if (!entries_equal(&tree[i], e))
			FAIL("entry %zu ('%s') differs after parsing", i, tree[i].path);
		CHECK_OK(hm_manifest_format_entry(&again, e, &err), &err);
	}
	CHECK_EQ_INT(hm_manifest_reader_next(r, &e, &err), 0);
	CHECK_EQ_INT(hm_manifest_reader_next(r, &e, &err), 0);
	/* Without HM_MANIFEST_HASH there is no digest to give. */
	{
		unsigned char d[32];

		CHECK(hm_manifest_reader_sha256(r, d) < 0);
	}
	hm_manifest_reader_free(r);
	close(fd);
	CHECK_EQ_INT(again.len, text.len);
	CHECK(memcmp(again.data, text.data, text.len) == 0);
	free_tree(tree, N_TREE);
	hm_buf_free(&text);
	hm_buf_free(&again);
}

TEST(write_then_read_as_source)
{
	struct hm_entry tree[N_TREE];
	struct hm_manifest_header h;
	struct mem_source m;
	struct hm_manifest_reader *r;
	struct hm_source *src;
	struct hm_buf want = HM_BUF_INIT;
	const struct hm_entry *e;
	struct hm_error err = { 0 };
	char *data = NULL;
	size_t len, i = 0;
	struct stat st;
	int fd, rc;

	build_tree(tree);
	header_init(&h);
	m = mem_source(tree, N_TREE);
	CHECK_OK(hm_manifest_write("out.manifest", &h, &m.src, &err), &err);
	CHECK_EQ_INT(h.entries, N_TREE);
	CHECK_EQ_INT(stat("out.manifest", &st), 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0644);
	CHECK_EQ_INT(count_dir_entries("."), 1);

	CHECK_OK(hm_manifest_format_header(&want, &h, &err), &err);
	for (i = 0; i < N_TREE; i++)
		CHECK_OK(hm_manifest_format_entry(&want, &tree[i], &err), &err);
	CHECK_OK(hm_read_file("out.manifest", 1 << 20, &data, &len, &err), &err);
	CHECK_EQ_INT(len, want.len);
	CHECK(memcmp(data, want.data, len) == 0);
	CHECK(strstr(data, "\nentries 10\n/ type=dir mode=0755 uid=0 gid=0\n"));

	fd = open("out.manifest", O_RDONLY);
	CHECK_OK(hm_manifest_reader_open(fd, "out.manifest", 0, &r, &err), &err);
	src = hm_manifest_reader_source(r);
	CHECK_EQ_STR(src->ops->kind, "manifest");
	i = 0;
	while ((rc = hm_source_next(src, &e, &err)) == 1) {
		CHECK(i < N_TREE && entries_equal(&tree[i], e));
		i++;
	}
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(i, N_TREE);
	hm_source_free(src);
	close(fd);
	free(data);
	hm_buf_free(&want);
	free_tree(tree, N_TREE);
}

TEST(write_is_atomic)
{
	struct hm_entry tree[N_TREE];
	struct hm_manifest_header h;
	struct mem_source m;
	struct hm_error err = { 0 };

	CHECK_EQ_INT(mkdir("out", 0755), 0);
	build_tree(tree);
	header_init(&h);
	m = mem_source(tree, N_TREE);
	m.fail_at = 6;
	CHECK_EQ_INT(hm_manifest_write("out/x.manifest", &h, &m.src, &err),
		     HM_ERR_IO);
	CHECK(strstr(err.msg, "/broken") != NULL);
	CHECK_EQ_INT(count_dir_entries("out"), 0);
	CHECK_EQ_INT(h.entries, 0);

	/* An existing manifest survives a failed rewrite untouched. */
	CHECK_EQ_INT(write_text("out/x.manifest", "old\n", 4), 0);
	m = mem_source(tree, N_TREE);
	tree[6].flags = HM_ENTRY_UNREADABLE;
	hm_entry_set_note(&tree[6], "Permission denied");
	CHECK_EQ_INT(hm_manifest_write("out/x.manifest", &h, &m.src, &err),
		     HM_ERR_INPUT);
	CHECK(strstr(err.msg, "cannot record '/etc/a\\040b\\012\\134\\377': Permission denied"));
	CHECK_EQ_INT(count_dir_entries("out"), 1);
	{
		char *data = NULL;
		size_t len;

		CHECK_OK(hm_read_file("out/x.manifest", 100, &data, &len, &err), &err);
		CHECK_EQ_STR(data, "old\n");
		free(data);
	}
	free_tree(tree, N_TREE);
}

TEST(writer_validates)
{
	struct hm_entry e[3];
	struct hm_manifest_header h;
	struct hm_buf b = HM_BUF_INIT;
	struct mem_source m;
	struct hm_error err = { 0 };

	header_init(&h);
	strcpy(h.name, ".bad");
	CHECK_EQ_INT(hm_manifest_format_header(&b, &h, &err), HM_ERR_INPUT);
	header_init(&h);
	strcpy(h.images[0].kind, "tar");
	strcpy(h.images[0].digest, "sha256:"
	       "2222222222222222222222222222222222222222222222222222222222222222");
	strcpy(h.images[1].kind, "oci");
	strcpy(h.images[1].digest, h.images[0].digest);
	h.n_images = 2;
	CHECK_EQ_INT(hm_manifest_format_header(&b, &h, &err), HM_ERR_INPUT);
	CHECK_EQ_INT(b.len, 0);

	set_entry(&e[0], "/", HM_TYPE_DIR, 0755);
	set_entry(&e[1], "/f", HM_TYPE_FILE, 0644);
	CHECK_EQ_INT(hm_manifest_format_entry(&b, &e[1], &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "cannot record '/f'"));
	set_entry(&e[2], "/a/../b", HM_TYPE_DIR, 0755);
	CHECK_EQ_INT(hm_manifest_format_entry(&b, &e[2], &err), HM_ERR_INPUT);
	hm_entry_clear(&e[2]);
	set_entry(&e[2], "/a/", HM_TYPE_DIR, 0755);
	CHECK_EQ_INT(hm_manifest_format_entry(&b, &e[2], &err), HM_ERR_INPUT);
	hm_entry_clear(&e[2]);
	CHECK_EQ_INT(b.len, 0);

	/* Out of order, and a missing parent, fail the write. */
	header_init(&h);
	e[1].flags = HM_ENTRY_HAS_DIGEST;
	set_entry(&e[2], "/a-b", HM_TYPE_DIR, 0755);
	{
		struct hm_entry order[3];

		order[0] = e[0];
		order[1] = e[2];
		set_entry(&order[2], "/a/b", HM_TYPE_DIR, 0755);
		m = mem_source(order, 3);
		CHECK_EQ_INT(hm_manifest_write("o.manifest", &h, &m.src, &err),
			     HM_ERR_INPUT);
		CHECK(strstr(err.msg, "entries out of order: '/a/b' after '/a-b'"));
		m = mem_source(order, 1);
		order[1] = order[2];
		m.n = 2;
		CHECK_EQ_INT(hm_manifest_write("o.manifest", &h, &m.src, &err),
			     HM_ERR_INPUT);
		CHECK(strstr(err.msg, "no directory entry for the parent of '/a/b'"));
		hm_entry_clear(&order[2]);
	}
	CHECK_EQ_INT(count_dir_entries("."), 0);
	hm_entry_clear(&e[0]);
	hm_entry_clear(&e[1]);
	hm_entry_clear(&e[2]);
	hm_buf_free(&b);
}

/* ---- malformed manifests ------------------------------------------------ */

#define HDR "hallmark-manifest 1\nname web\nserial 1\n" \
	"created 2026-11-22T20:13:09Z\nexpires never\ntemplate none\n" \
	"hash sha256\n"
#define SHA "0000000000000000000000000000000000000000000000000000000000000000"
#define ROOT "/ type=dir mode=0755 uid=0 gid=0\n"

struct bad_case {
	const char *text;
	int line;
	int code;
	const char *what;    /* a piece of the message */
};

static const struct bad_case bad_cases[] = {
	{ "", 1, HM_ERR_INPUT, "empty file" },
	{ "hallmark-manifest 2\n", 1, HM_ERR_INPUT, "version" },
	{ "hallmark-manifest 1\r\n", 1, HM_ERR_INPUT, "carriage return" },
	{ "hallmark-manifest 1\nname .x\n", 2, HM_ERR_INPUT, "name" },
	{ "hallmark-manifest 1\nname web\nserial 01\n", 3, HM_ERR_INPUT, "serial" },
	{ "hallmark-manifest 1\nname web\nserial 18446744073709551616\n", 3,
	  HM_ERR_INPUT, "serial" },
	{ "hallmark-manifest 1\nname web\nserial 1\ncreated 2026-11-22 20:13:09\n",
	  4, HM_ERR_INPUT, "created" },
	{ "hallmark-manifest 1\nname web\nserial 1\ncreated 2026-11-22T20:13:09Z\n"
	  "expires soon\n", 5, HM_ERR_INPUT, "expires" },
	{ "hallmark-manifest 1\nname web\nserial 1\ncreated 2026-11-22T20:13:09Z\n"
	  "expires never\ntemplate sha256:ABC\n", 6, HM_ERR_INPUT, "template" },
	{ "hallmark-manifest 1\nname web\nserial 1\ncreated 2026-11-22T20:13:09Z\n"
	  "expires never\ntemplate none\nimage tar sha256:" SHA "\nimage oci sha256:"
	  SHA "\n", 8, HM_ERR_INPUT, "image kinds out of order" },
	{ "hallmark-manifest 1\nname web\nserial 1\ncreated 2026-11-22T20:13:09Z\n"
	  "expires never\ntemplate none\nimage oci sha256:" SHA "\nimage oci sha256:"
	  SHA "\n", 8, HM_ERR_INPUT, "repeated" },
	{ "hallmark-manifest 1\nname web\nserial 1\ncreated 2026-11-22T20:13:09Z\n"
	  "expires never\ntemplate none\nimage vmdk sha256:" SHA "\n", 7,
	  HM_ERR_INPUT, "image" },
	{ "hallmark-manifest 1\nname web\nserial 1\ncreated 2026-11-22T20:13:09Z\n"
	  "expires never\ntemplate none\nhash md5\n", 7, HM_ERR_INPUT, "hash" },
	{ HDR "entries 100000001\n", 8, HM_ERR_LIMIT, "limit" },
	{ HDR "entries 1\n", 9, HM_ERR_INPUT, "ends after 0 of 1" },
	{ HDR "entries 1\n" ROOT "/x type=dir mode=0755 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "data after" },
	{ HDR "entries 1\n/ type=dir mode=0755 uid=0 gid=0", 9, HM_ERR_INPUT,
	  "no newline" },
	{ HDR "entries 1\n/ type=dir mode=0755 uid=0 gid=0\r\n", 9, HM_ERR_INPUT,
	  "carriage return" },
	{ HDR "entries 1\n/ type=dir mode=0755 uid=0 gid=0\n\n", 10, HM_ERR_INPUT,
	  "data after" },
	{ HDR "entries 3\n" ROOT "/b type=dir mode=0755 uid=0 gid=0\n"
	  "/a type=dir mode=0755 uid=0 gid=0\n", 11, HM_ERR_INPUT,
	  "entries out of order: '/a' after '/b'" },
	{ HDR "entries 3\n" ROOT "/a-b type=dir mode=0755 uid=0 gid=0\n"
	  "/a type=dir mode=0755 uid=0 gid=0\n", 11, HM_ERR_INPUT, "out of order" },
	{ HDR "entries 3\n" ROOT "/a type=dir mode=0755 uid=0 gid=0\n"
	  "/a type=dir mode=0755 uid=0 gid=0\n", 11, HM_ERR_INPUT, "duplicate" },
	{ HDR "entries 2\n" ROOT "/a/b type=dir mode=0755 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "parent" },
	{ HDR "entries 3\n" ROOT "/a type=fifo mode=0755 uid=0 gid=0\n"
	  "/a/b type=fifo mode=0755 uid=0 gid=0\n", 11, HM_ERR_INPUT, "parent" },
	{ HDR "entries 1\n/a type=dir mode=0755 uid=0 gid=0\n", 9, HM_ERR_INPUT,
	  "root" },
	{ HDR "entries 1\n/ type=fifo mode=0755 uid=0 gid=0\n", 9, HM_ERR_INPUT,
	  "not a directory" },
	{ HDR "entries 2\n" ROOT "/a\x01 type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "raw byte 0x01" },
	{ HDR "entries 2\n" ROOT "/a\tb type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "raw byte 0x09" },
	{ HDR "entries 2\n" ROOT "/a\xc3\xa9 type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "raw byte" },
	{ HDR "entries 2\n" ROOT "/a\\000b type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "escape" },
	{ HDR "entries 2\n" ROOT "/a\\9 type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "escape" },
	{ HDR "entries 2\n" ROOT "/a\\141 type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "escape" },
	{ HDR "entries 2\n" ROOT "/a\\075 type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "escape" },
	{ HDR "entries 2\n" ROOT "/a/ type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "invalid path" },
	{ HDR "entries 2\n" ROOT "a type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "not absolute" },
	{ HDR "entries 2\n" ROOT "/. type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "'.'" },
	{ HDR "entries 2\n" ROOT "//a type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "empty component" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 color=red\n",
	  10, HM_ERR_INPUT, "unknown key 'color'" },
	{ HDR "entries 2\n" ROOT "/a type=fifo uid=0 mode=0644 gid=0\n", 10,
	  HM_ERR_INPUT, "out of order" },
	{ HDR "entries 2\n" ROOT "/a mode=0644 type=fifo uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "out of order" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 mode=0644 uid=0 gid=0\n",
	  10, HM_ERR_INPUT, "repeated" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0\n", 10,
	  HM_ERR_INPUT, "missing field 'gid'" },
	{ HDR "entries 2\n" ROOT "/a type=file mode=0644 uid=0 gid=0 size=1\n", 10,
	  HM_ERR_INPUT, "missing field 'sha256'" },
	{ HDR "entries 2\n" ROOT "/a type=dir mode=0755 uid=0 gid=0 sha256=" SHA
	  "\n", 10, HM_ERR_INPUT, "does not apply to type dir" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 rdev=1,2\n",
	  10, HM_ERR_INPUT, "does not apply" },
	{ HDR "entries 2\n" ROOT "/a type=door mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "unknown type" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "mode" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0844 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "mode" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=4294967296 gid=0\n",
	  10, HM_ERR_INPUT, "uid" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=-1 gid=0\n", 10,
	  HM_ERR_INPUT, "uid" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=00 gid=0\n", 10,
	  HM_ERR_INPUT, "uid" },
	{ HDR "entries 2\n" ROOT "/a type=file mode=0644 uid=0 gid=0 size=1 sha256="
	  "ABCD000000000000000000000000000000000000000000000000000000000000\n", 10,
	  HM_ERR_INPUT, "sha256" },
	{ HDR "entries 2\n" ROOT "/a type=char mode=0644 uid=0 gid=0 rdev=1\n", 10,
	  HM_ERR_INPUT, "rdev" },
	{ HDR "entries 2\n" ROOT "/a type=symlink mode=0777 uid=0 gid=0 target=\n",
	  10, HM_ERR_INPUT, "empty symlink target" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644  uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "empty field" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 \n", 10,
	  HM_ERR_INPUT, "empty field" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 xattr.user.b=00"
	  " xattr.user.a=00\n", 10, HM_ERR_INPUT, "xattrs out of order" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 xattr.user.a=00"
	  " xattr.user.a=00\n", 10, HM_ERR_INPUT, "repeated" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 xattr.user.a=0\n",
	  10, HM_ERR_INPUT, "hex" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 xattr.user.a=AB\n",
	  10, HM_ERR_INPUT, "hex" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 xattr.=00\n",
	  10, HM_ERR_INPUT, "empty xattr name" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 xattr.user.a=00 uid=0 gid=0\n",
	  10, HM_ERR_INPUT, "missing field 'uid'" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 xattr.user.a=00"
	  " mode=0644\n", 10, HM_ERR_INPUT, "repeated" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0 size=3\n", 10,
	  HM_ERR_INPUT, "does not apply" },
	{ HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid gid=0\n", 10,
	  HM_ERR_INPUT, "KEY=VALUE" },
	{ HDR "entries 2\n" ROOT "/a\0 type=fifo mode=0644 uid=0 gid=0\n", 10,
	  HM_ERR_INPUT, "NUL" },
};

TEST(malformed_manifests_rejected_with_line)
{
	size_t i, count;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct hm_error err = { 0 };
		size_t len = strlen(c->text);
		char where[32];
		int rc;

		/* The one case with a NUL byte in it. */
		if (strstr(c->text, "/a") && strcmp(c->what, "NUL") == 0)
			len += strlen(c->text + len + 1) + 1;
		rc = parse_text(c->text, len, &err, &count);
		snprintf(where, sizeof(where), "m.manifest:%d:", c->line);
		if (rc != c->code || strncmp(err.msg, where, strlen(where)) != 0 ||
		    !strstr(err.msg, c->what))
			FAIL("case %zu: got %d '%s', expected %d '%s ... %s'", i,
			     rc, err.msg, c->code, where, c->what);
	}
}

/*
 * Every byte value at every place of a name long enough for the word-at-
 * a-time check (two words and a tail), and every byte value at every
 * place of a digest: refused exactly when it is not printable ASCII (or,
 * in a digest, not a lower-case hex digit), with the right message.
 */
TEST(every_raw_byte_and_bad_digit_refused)
{
	static const char pre[] = HDR "entries 2\n" ROOT;
	static const char rest[] = " type=fifo mode=0644 uid=0 gid=0\n";
	char text[512], what[48];
	size_t count;
	unsigned pos, v;

	for (pos = 0; pos < 19; pos++) {
		for (v = 0; v < 256; v++) {
			struct hm_error err = { 0 };
			char name[19];
			size_t len;
			int rc, raw = v < 0x20 || v > 0x7e;

			if (!raw)
				continue;
			memset(name, 'n', sizeof(name));
			name[pos] = (char)v;
			/* Built with memcpy: the name may hold a NUL. */
			len = strlen(pre);
			memcpy(text, pre, len);
			text[len++] = '/';
			memcpy(text + len, name, sizeof(name));
			len += sizeof(name);
			memcpy(text + len, rest, strlen(rest));
			len += strlen(rest);
			rc = parse_text(text, len, &err, &count);
			if (v == 0)
				snprintf(what, sizeof(what), "NUL byte");
			else if (v == '\r')
				snprintf(what, sizeof(what), "carriage return");
			else if (v == '\n')
				snprintf(what, sizeof(what), "m.manifest:10:");
			else
				snprintf(what, sizeof(what), "raw byte 0x%02x", v);
			if (rc != HM_ERR_INPUT || !strstr(err.msg, what))
				FAIL("byte 0x%02x at %u: got %d '%s', expected '%s'",
				     v, pos, rc, err.msg, what);
		}
	}
	for (pos = 0; pos < 64; pos++) {
		for (v = 1; v < 256; v++) {
			struct hm_error err = { 0 };
			char digest[65];
			int rc, good = (v >= '0' && v <= '9') || (v >= 'a' && v <= 'f');

			if (v == '\n' || v == ' ')
				continue;       /* end the line or the field */
			memset(digest, '0', 64);
			digest[64] = '\0';
			digest[pos] = (char)v;
			snprintf(text, sizeof(text), "%s/a type=file mode=0644 uid=0 "
				 "gid=0 size=0 sha256=%s\n", pre, digest);
			rc = parse_text(text, strlen(text), &err, &count);
			if (good ? rc != 0 || count != 2 : rc >= 0)
				FAIL("digit 0x%02x at %u: got %d '%s'", v, pos, rc,
				     err.msg);
		}
	}
}

TEST(valid_edge_cases_accepted)
{
	static const char *const good[] = {
		HDR "entries 1\n" ROOT,
		HDR "entries 4\n" ROOT "/a type=dir mode=0755 uid=0 gid=0\n"
		"/a/b type=file mode=7777 uid=0 gid=0 size=0 sha256=" SHA "\n"
		"/a-b type=symlink mode=0777 uid=0 gid=0 target=/a/b=c\\040d\n",
		HDR "entries 2\n" ROOT "/x type=fifo mode=0000 uid=0 gid=0 "
		"xattr.a\\075b= xattr.user.z=ff\n",
	};
	struct hm_error err = { 0 };
	size_t i, count;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = parse_text(good[i], strlen(good[i]), &err, &count);

		if (rc != 0)
			FAIL("case %zu rejected: %s", i, err.msg);
	}
	CHECK_EQ_INT(count, 2);
}

TEST(limits)
{
	struct hm_buf t = HM_BUF_INIT;
	struct hm_error err = { 0 };
	size_t count, i;
	int rc;

	/* A line over the limit is refused without reading it whole. */
	hm_buf_adds(&t, HDR "entries 2\n" ROOT "/");
	for (i = 0; i <= HM_LIMIT_MANIFEST_LINE; i++)
		hm_buf_addc(&t, 'a');
	hm_buf_adds(&t, " type=fifo mode=0644 uid=0 gid=0\n");
	rc = parse_text(t.data, t.len, &err, &count);
	CHECK_EQ_INT(rc, HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "m.manifest:10:"));

	/* Too many xattrs on one entry. */
	hm_buf_reset(&t);
	hm_buf_adds(&t, HDR "entries 2\n" ROOT "/a type=fifo mode=0644 uid=0 gid=0");
	for (i = 0; i <= HM_LIMIT_XATTRS; i++)
		hm_buf_addf(&t, " xattr.user.%04zu=00", i);
	hm_buf_adds(&t, "\n");
	rc = parse_text(t.data, t.len, &err, &count);
	CHECK_EQ_INT(rc, HM_ERR_LIMIT);
	CHECK(strstr(err.msg, "m.manifest:10:"));

	/* Deeper than HM_LIMIT_DEPTH. */
	hm_buf_reset(&t);
	hm_buf_addf(&t, HDR "entries %u\n" ROOT, HM_LIMIT_DEPTH + 2);
	{
		struct hm_buf p = HM_BUF_INIT;

		for (i = 0; i <= HM_LIMIT_DEPTH; i++) {
			hm_buf_adds(&p, "/d");
			hm_buf_add(&t, p.data, p.len);
			hm_buf_adds(&t, " type=dir mode=0755 uid=0 gid=0\n");
		}
		hm_buf_free(&p);
	}
	rc = parse_text(t.data, t.len, &err, &count);
	CHECK_EQ_INT(rc, HM_ERR_LIMIT);
	CHECK_EQ_INT(count, HM_LIMIT_DEPTH + 1);
	CHECK(strstr(err.msg, "deeper"));
	hm_buf_free(&t);
}

/* ---- a large manifest, streamed ------------------------------------------ */

#define GEN_DIRS 100
#define GEN_FILES 999

struct gen_source {
	struct hm_source src;
	struct hm_entry e;
	long i;   /* -1: root, then dir d * (GEN_FILES + 1) + f (f=0: the dir) */
};

static int gen_next(struct hm_source *s, const struct hm_entry **ret,
		    struct hm_error *err)
{
	struct gen_source *g = (struct gen_source *)s;
	char path[64];
	long d, f;

	(void)err;
	if (g->i == (long)GEN_DIRS * (GEN_FILES + 1))
		return 0;
	hm_entry_clear(&g->e);
	if (g->i < 0) {
		set_entry(&g->e, "/", HM_TYPE_DIR, 0755);
	} else {
		d = g->i / (GEN_FILES + 1);
		f = g->i % (GEN_FILES + 1);
		if (f == 0) {
			snprintf(path, sizeof(path), "/usr lib %03ld", d);
			set_entry(&g->e, path, HM_TYPE_DIR, 0755);
		} else {
			snprintf(path, sizeof(path), "/usr lib %03ld/file-%04ld.so", d, f);
			set_entry(&g->e, path, HM_TYPE_FILE, 0644);
			g->e.size = (uint64_t)(d * 1000 + f);
			g->e.flags = HM_ENTRY_HAS_DIGEST;
			memcpy(g->e.sha256, &g->i, sizeof(g->i));
		}
	}
	g->i++;
	*ret = &g->e;
	return 1;
}

static void gen_free(struct hm_source *s)
{
	hm_entry_clear(&((struct gen_source *)s)->e);
}

static const struct hm_source_ops gen_ops = { .kind = "gen", .next = gen_next, .free = gen_free };

TEST(large_manifest_streams_and_hashes)
{
	struct gen_source g = { { &gen_ops }, { 0 }, -1 };
	struct hm_manifest_header h;
	struct hm_manifest_reader *r;
	const struct hm_entry *e;
	struct hm_error err = { 0 };
	unsigned char want[64], got[64];
	char *data = NULL;
	size_t len, n = 0;
	uint64_t sizes = 0, want_sizes = 0;
	int fd, rc;
	long d, f;

	header_init(&h);
	CHECK_OK(hm_manifest_write("big.manifest", &h, &g.src, &err), &err);
	hm_source_free(&g.src);
	CHECK_EQ_INT(h.entries, 1 + GEN_DIRS * (GEN_FILES + 1));
	CHECK(h.entries >= 100000);

	fd = open("big.manifest", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_OK(hm_manifest_reader_open(fd, "big.manifest", HM_MANIFEST_HASH,
					 &r, &err), &err);
	while ((rc = hm_manifest_reader_next(r, &e, &err)) == 1) {
		n++;
		if (e->type == HM_TYPE_FILE)
			sizes += e->size;
	}
	CHECK_OK(rc, &err);
	CHECK_EQ_INT(n, h.entries);
	for (d = 0; d < GEN_DIRS; d++)
		for (f = 1; f <= GEN_FILES; f++)
			want_sizes += (uint64_t)(d * 1000 + f);
	CHECK_EQ_INT(sizes, want_sizes);
	CHECK_EQ_INT(hm_manifest_reader_sha256(r, got), 0);
	hm_manifest_reader_free(r);
	close(fd);

	CHECK_OK(hm_read_file("big.manifest", 64 << 20, &data, &len, &err), &err);
	CHECK(len > 2 * 256 * 1024);   /* spans several read buffers */
	CHECK_EQ_INT(hm_hash_buf(HM_HASH_SHA256, data, len, want), 0);
	CHECK(memcmp(want, got, 32) == 0);

	/* One flipped byte deep inside: a different digest, or a parse error. */
	data[len / 2] = data[len / 2] == '0' ? '1' : '0';
	CHECK_EQ_INT(write_text("big2.manifest", data, len), 0);
	fd = open("big2.manifest", O_RDONLY);
	CHECK_OK(hm_manifest_reader_open(fd, "big2.manifest", HM_MANIFEST_HASH,
					 &r, &err), &err);
	while ((rc = hm_manifest_reader_next(r, &e, &err)) == 1)
		;
	if (rc == 0) {
		CHECK_EQ_INT(hm_manifest_reader_sha256(r, got), 0);
		CHECK(memcmp(want, got, 32) != 0);
	}
	hm_manifest_reader_free(r);
	close(fd);
	free(data);
}

TEST(write_to_stdout)
{
	struct hm_entry tree[N_TREE];
	struct hm_manifest_header h;
	struct mem_source m;
	struct hm_buf want = HM_BUF_INIT;
	struct hm_error err = { 0 };
	char *data = NULL;
	size_t len, i;
	int fd, saved, rc;

	build_tree(tree);
	header_init(&h);
	m = mem_source(tree, N_TREE);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open("s.manifest", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	rc = hm_manifest_write("-", &h, &m.src, &err);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	CHECK_OK(rc, &err);
	CHECK_OK(hm_manifest_format_header(&want, &h, &err), &err);
	for (i = 0; i < N_TREE; i++)
		CHECK_OK(hm_manifest_format_entry(&want, &tree[i], &err), &err);
	CHECK_OK(hm_read_file("s.manifest", 1 << 20, &data, &len, &err), &err);
	CHECK_EQ_INT(len, want.len);
	CHECK(memcmp(data, want.data, len) == 0);
	free(data);
	hm_buf_free(&want);
	free_tree(tree, N_TREE);
}

/* ---- the runtime extension ---------------------------------------------- */

#include "hallmark/sign.h"
#include "hallmark/trust.h"

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A spec with every kind of line, in canonical order, with bytes that
 * need escaping. */
static struct hm_runtime_spec *sample_spec(void)
{
	struct hm_runtime_spec *s = calloc(1, sizeof(*s));

	s->n_listen = 3;
	s->listen = calloc(3, sizeof(*s->listen));
	strcpy(s->listen[0].proto, "tcp");
	s->listen[0].port = 22;
	s->listen[0].exe = xstrdup("/usr/sbin/sshd");
	strcpy(s->listen[1].proto, "tcp");
	s->listen[1].port = 8080;
	s->listen[1].addr = xstrdup("::1");
	s->listen[1].exe = xstrdup("/opt/my app/srv");
	strcpy(s->listen[2].proto, "udp");
	s->listen[2].port = 53;
	s->listen[2].addr = xstrdup("127.0.0.1");
	s->processes_listed = true;
	s->n_processes = 2;
	s->processes = calloc(2, sizeof(char *));
	s->processes[0] = xstrdup("/usr/lib/systemd/**");
	s->processes[1] = xstrdup("/usr/sbin/sshd");
	s->n_mounts = 2;
	s->mounts = calloc(2, sizeof(*s->mounts));
	s->mounts[0].path = xstrdup("/");
	s->mounts[0].n_options = 2;
	s->mounts[0].options = calloc(2, sizeof(char *));
	s->mounts[0].options[0] = xstrdup("nodev");
	s->mounts[0].options[1] = xstrdup("ro");
	s->mounts[1].path = xstrdup("/srv");
	s->n_sysctl = 3;
	s->sysctl = calloc(3, sizeof(*s->sysctl));
	s->sysctl[0].key = xstrdup("kernel.empty");
	s->sysctl[0].value = xstrdup("");
	s->sysctl[1].key = xstrdup("net.ipv4.conf.eth0/5.rp_filter");
	s->sysctl[1].value = xstrdup("1");
	s->sysctl[2].key = xstrdup("net.ipv4.ip_local_port_range");
	s->sysctl[2].value = xstrdup("32768 60999");
	return s;
}

#define RT_TEXT                                                                \
	"runtime 11\n"                                                         \
	"listen tcp 22 * /usr/sbin/sshd\n"                                     \
	"listen tcp 8080 ::1 /opt/my\\040app/srv\n"                            \
	"listen udp 53 127.0.0.1 *\n"                                          \
	"processes\n"                                                          \
	"process /usr/lib/systemd/**\n"                                        \
	"process /usr/sbin/sshd\n"                                             \
	"mount / nodev,ro\n"                                                   \
	"mount /srv\n"                                                         \
	"sysctl kernel.empty\n"                                                \
	"sysctl net.ipv4.conf.eth0/5.rp_filter 1\n"                            \
	"sysctl net.ipv4.ip_local_port_range 32768\\04060999\n"

#define RT_HEAD "hallmark-manifest 1\nname web\nserial 1\n" \
	"created 2026-11-22T20:13:09Z\nexpires never\ntemplate none\n"
#define RT_TAIL "hash sha256\nentries 1\n/ type=dir mode=0755 uid=0 gid=0\n"

TEST(runtime_format_is_canonical)
{
	struct hm_manifest_header h;
	struct hm_buf b = HM_BUF_INIT;
	struct hm_error err = { 0 };

	header_init(&h);
	/* No runtime: the header is today's, byte for byte. */
	CHECK_OK(hm_manifest_format_header(&b, &h, &err), &err);
	CHECK_EQ_STR(b.data, "hallmark-manifest 1\nname web-base\nserial 7\n"
		     "created 2026-11-22T20:13:09Z\nexpires never\ntemplate none\n"
		     "hash sha256\nentries 0\n");
	hm_buf_reset(&b);
	h.runtime = sample_spec();
	CHECK_OK(hm_manifest_format_header(&b, &h, &err), &err);
	CHECK_EQ_STR(b.data, "hallmark-manifest 1\nname web-base\nserial 7\n"
		     "created 2026-11-22T20:13:09Z\nexpires never\ntemplate none\n"
		     RT_TEXT "hash sha256\nentries 0\n");
	/* An empty spec: one line, and "processes" only when listed. */
	hm_runtime_spec_free(h.runtime);
	h.runtime = calloc(1, sizeof(*h.runtime));
	hm_buf_reset(&b);
	CHECK_OK(hm_manifest_format_header(&b, &h, &err), &err);
	CHECK(strstr(b.data, "template none\nruntime 0\nhash sha256\n") != NULL);
	h.runtime->processes_listed = true;
	hm_buf_reset(&b);
	CHECK_OK(hm_manifest_format_header(&b, &h, &err), &err);
	CHECK(strstr(b.data, "template none\nruntime 1\nprocesses\nhash sha256\n") != NULL);
	hm_runtime_spec_free(h.runtime);
	hm_buf_free(&b);
}

TEST(runtime_writer_refuses_what_the_reader_would)
{
	struct hm_manifest_header h;
	struct hm_buf b = HM_BUF_INIT;
	struct hm_error err = { 0 };
	struct hm_runtime_spec *s;
	char *tmp;

	header_init(&h);
	h.runtime = s = sample_spec();
	/* Out of order. */
	tmp = s->processes[0];
	s->processes[0] = s->processes[1];
	s->processes[1] = tmp;
	CHECK_EQ_INT(hm_manifest_format_header(&b, &h, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "runtime section: process '/usr/lib/systemd/**' out of order") != NULL);
	CHECK(b.len == 0);
	CHECK_OK(hm_runtime_spec_sort(s, &err), &err);
	CHECK_OK(hm_manifest_format_header(&b, &h, &err), &err);
	hm_buf_reset(&b);
	/* ro and rw. */
	free(s->mounts[0].options[0]);
	s->mounts[0].options[0] = xstrdup("ro");
	free(s->mounts[0].options[1]);
	s->mounts[0].options[1] = xstrdup("rw");
	CHECK_EQ_INT(hm_manifest_format_header(&b, &h, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'ro' and 'rw' together") != NULL);
	free(s->mounts[0].options[1]);
	s->mounts[0].options[1] = xstrdup("nosuid");
	CHECK_EQ_INT(hm_manifest_format_header(&b, &h, &err), HM_ERR_INPUT);
	CHECK_OK(hm_runtime_spec_sort(s, &err), &err);
	CHECK_OK(hm_manifest_format_header(&b, &h, &err), &err);
	hm_buf_reset(&b);
	/* A non-canonical address, a glob key, a repeat. */
	free(s->listen[1].addr);
	s->listen[1].addr = xstrdup("0:0::1");
	CHECK_EQ_INT(hm_manifest_format_header(&b, &h, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "canonical form") != NULL);
	free(s->listen[1].addr);
	s->listen[1].addr = xstrdup("::1");
	free(s->sysctl[1].key);
	s->sysctl[1].key = xstrdup("net.ipv4.conf.*.rp_filter");
	CHECK_EQ_INT(hm_manifest_format_header(&b, &h, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "is not a sysctl key") != NULL);
	free(s->sysctl[1].key);
	s->sysctl[1].key = xstrdup("kernel.empty");
	CHECK_EQ_INT(hm_runtime_spec_sort(s, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "sysctl key 'kernel.empty' is set twice") != NULL);
	hm_runtime_spec_free(s);
	hm_buf_free(&b);
}

TEST(runtime_round_trip)
{
	static const char text[] = RT_HEAD RT_TEXT RT_TAIL;
	struct hm_manifest_reader *r = NULL;
	const struct hm_runtime_spec *s;
	struct hm_manifest_header h;
	struct hm_buf b = HM_BUF_INIT;
	struct hm_error err = { 0 };
	const struct hm_entry *e;
	int fd;

	CHECK(write_text("m.manifest", text, strlen(text)) == 0);
	fd = open("m.manifest", O_RDONLY);
	CHECK_OK(hm_manifest_reader_open(fd, "m.manifest", 0, &r, &err), &err);
	if (!r)
		return;
	s = hm_manifest_reader_header(r)->runtime;
	CHECK(s != NULL);
	CHECK_EQ_INT(s->n_listen, 3);
	CHECK_EQ_STR(s->listen[1].exe, "/opt/my app/srv");
	CHECK_EQ_STR(s->listen[1].addr, "::1");
	CHECK(s->listen[2].exe == NULL);
	CHECK(s->listen[0].addr == NULL);
	CHECK_EQ_INT(s->listen[2].port, 53);
	CHECK(s->processes_listed);
	CHECK_EQ_INT(s->n_processes, 2);
	CHECK_EQ_INT(s->n_mounts, 2);
	CHECK_EQ_INT(s->mounts[0].n_options, 2);
	CHECK_EQ_INT(s->mounts[1].n_options, 0);
	CHECK_EQ_STR(s->sysctl[0].value, "");
	CHECK_EQ_STR(s->sysctl[2].value, "32768 60999");
	CHECK_EQ_INT(hm_manifest_reader_next(r, &e, &err), 1);
	CHECK_EQ_INT(hm_manifest_reader_next(r, &e, &err), 0);
	/* Written again, the same bytes. */
	h = *hm_manifest_reader_header(r);
	CHECK_OK(hm_manifest_format_header(&b, &h, &err), &err);
	CHECK(strncmp(b.data, text, b.len) == 0);
	hm_manifest_reader_free(r);
	close(fd);
	hm_buf_free(&b);
}

static const struct bad_case rt_bad[] = {
	{ RT_HEAD "runtime x\n", 7, HM_ERR_INPUT, "expected 'runtime N'" },
	{ RT_HEAD "runtime 01\n", 7, HM_ERR_INPUT, "expected 'runtime N'" },
	{ RT_HEAD "runtime 65537\n", 7, HM_ERR_LIMIT, "HM_LIMIT_RUNTIME_LINES" },
	{ RT_HEAD "runtime 2\nlisten tcp 22 * *\n" RT_TAIL, 9, HM_ERR_INPUT,
	  "fewer lines than the 2" },
	{ RT_HEAD "runtime 1\nlisten tcp 22 * *\nlisten tcp 23 * *\n" RT_TAIL, 9,
	  HM_ERR_INPUT, "expected 'hash sha256'" },
	{ RT_HEAD "runtime 1\nlisten sctp 22 * *\n" RT_TAIL, 8, HM_ERR_INPUT, "tcp or udp" },
	{ RT_HEAD "runtime 1\nlisten tcp 0 * *\n" RT_TAIL, 8, HM_ERR_INPUT, "1..65535" },
	{ RT_HEAD "runtime 1\nlisten tcp 65536 * *\n" RT_TAIL, 8, HM_ERR_INPUT, "1..65535" },
	{ RT_HEAD "runtime 1\nlisten tcp 022 * *\n" RT_TAIL, 8, HM_ERR_INPUT, "1..65535" },
	{ RT_HEAD "runtime 1\nlisten tcp 22 *\n" RT_TAIL, 8, HM_ERR_INPUT, "expected 'listen" },
	{ RT_HEAD "runtime 1\nlisten tcp 22 * * x\n" RT_TAIL, 8, HM_ERR_INPUT, "not a runtime line" },
	{ RT_HEAD "runtime 1\nlisten tcp 22  *\n" RT_TAIL, 8, HM_ERR_INPUT, "not a runtime line" },
	{ RT_HEAD "runtime 1\nlisten tcp 22 localhost *\n" RT_TAIL, 8, HM_ERR_INPUT, "numeric address" },
	{ RT_HEAD "runtime 1\nlisten tcp 22 0:0::1 *\n" RT_TAIL, 8, HM_ERR_INPUT, "canonical form" },
	{ RT_HEAD "runtime 1\nlisten tcp 22 * sshd\n" RT_TAIL, 8, HM_ERR_INPUT, "absolute path" },
	{ RT_HEAD "runtime 2\nlisten udp 22 * *\nlisten tcp 22 * *\n" RT_TAIL, 9,
	  HM_ERR_INPUT, "out of order" },
	{ RT_HEAD "runtime 2\nlisten tcp 22 * *\nlisten tcp 22 * *\n" RT_TAIL, 9,
	  HM_ERR_INPUT, "out of order or repeated" },
	{ RT_HEAD "runtime 1\nprocess /x\n" RT_TAIL, 8, HM_ERR_INPUT, "without 'processes'" },
	{ RT_HEAD "runtime 2\nprocesses\nprocesses\n" RT_TAIL, 9, HM_ERR_INPUT, "order" },
	{ RT_HEAD "runtime 1\nprocesses x\n" RT_TAIL, 8, HM_ERR_INPUT, "'processes' alone" },
	{ RT_HEAD "runtime 2\nprocesses\nprocess sshd\n" RT_TAIL, 9, HM_ERR_INPUT, "absolute path or glob" },
	{ RT_HEAD "runtime 2\nprocesses\nprocess /a[\n" RT_TAIL, 9, HM_ERR_INPUT, "glob" },
	{ RT_HEAD "runtime 3\nprocesses\nprocess /b\nprocess /a\n" RT_TAIL, 10,
	  HM_ERR_INPUT, "out of order" },
	{ RT_HEAD "runtime 2\nmount / ro\nlisten tcp 22 * *\n" RT_TAIL, 9, HM_ERR_INPUT,
	  "in the order listen, processes" },
	{ RT_HEAD "runtime 2\nsysctl a.b 1\nmount / ro\n" RT_TAIL, 9, HM_ERR_INPUT, "order" },
	{ RT_HEAD "runtime 1\nmount / ro,fast\n" RT_TAIL, 8, HM_ERR_INPUT, "unknown option 'fast'" },
	{ RT_HEAD "runtime 1\nmount / rw,ro\n" RT_TAIL, 8, HM_ERR_INPUT, "out of order" },
	{ RT_HEAD "runtime 1\nmount / ro,rw\n" RT_TAIL, 8, HM_ERR_INPUT, "'ro' and 'rw'" },
	{ RT_HEAD "runtime 1\nmount / noatime,relatime\n" RT_TAIL, 8, HM_ERR_INPUT, "more than one" },
	{ RT_HEAD "runtime 1\nmount / ro,,nodev\n" RT_TAIL, 8, HM_ERR_INPUT, "bad option list" },
	{ RT_HEAD "runtime 1\nmount / ro,\n" RT_TAIL, 8, HM_ERR_INPUT, "bad option list" },
	{ RT_HEAD "runtime 1\nmount tmp ro\n" RT_TAIL, 8, HM_ERR_INPUT, "canonical absolute path" },
	{ RT_HEAD "runtime 1\nmount /tmp/ ro\n" RT_TAIL, 8, HM_ERR_INPUT, "canonical absolute path" },
	{ RT_HEAD "runtime 2\nmount /tmp\nmount /tmp ro\n" RT_TAIL, 9, HM_ERR_INPUT, "repeated" },
	{ RT_HEAD "runtime 1\nsysctl\n" RT_TAIL, 8, HM_ERR_INPUT, "expected 'sysctl KEY" },
	{ RT_HEAD "runtime 1\nsysctl net.*.x 1\n" RT_TAIL, 8, HM_ERR_INPUT, "not a sysctl key" },
	{ RT_HEAD "runtime 1\nsysctl -a.b 1\n" RT_TAIL, 8, HM_ERR_INPUT, "not a sysctl key" },
	{ RT_HEAD "runtime 2\nsysctl b 1\nsysctl a 1\n" RT_TAIL, 9, HM_ERR_INPUT, "out of order" },
	{ RT_HEAD "runtime 2\nsysctl a 1\nsysctl a 2\n" RT_TAIL, 9, HM_ERR_INPUT, "repeated" },
	{ RT_HEAD "runtime 1\nsysctl a \\141\n" RT_TAIL, 8, HM_ERR_INPUT, "bad escape" },
	{ RT_HEAD "runtime 1\nsysctl a b\\075c\n" RT_TAIL, 8, HM_ERR_INPUT, "bad escape" },
	{ RT_HEAD "runtime 1\nsysctl a b\\000\n" RT_TAIL, 8, HM_ERR_INPUT, "bad escape" },
	{ RT_HEAD "runtime 1\nsysctl a 1 2\n" RT_TAIL, 8, HM_ERR_INPUT, "expected 'sysctl KEY" },
	{ RT_HEAD "runtime 1\nsysctl a 1 \n" RT_TAIL, 8, HM_ERR_INPUT, "not a runtime line" },
	{ RT_HEAD "runtime 1\nuser root\n" RT_TAIL, 8, HM_ERR_INPUT, "not a runtime line" },
	{ RT_HEAD "runtime 1\n", 8, HM_ERR_INPUT, "ends in the header" },
	{ RT_HEAD "image tar sha256:" SHA "\nruntime 0\nimage oci sha256:" SHA "\n" RT_TAIL,
	  9, HM_ERR_INPUT, "expected 'hash sha256'" },
	{ RT_HEAD "runtime 0\nruntime 0\n" RT_TAIL, 8, HM_ERR_INPUT, "expected 'hash sha256'" },
};

TEST(runtime_malformed_lines_named)
{
	size_t i, count;

	for (i = 0; i < sizeof(rt_bad) / sizeof(rt_bad[0]); i++) {
		const struct bad_case *c = &rt_bad[i];
		struct hm_error err = { 0 };
		char where[32];
		int rc = parse_text(c->text, strlen(c->text), &err, &count);

		snprintf(where, sizeof(where), "m.manifest:%d:", c->line);
		if (rc != c->code || strncmp(err.msg, where, strlen(where)) != 0 ||
		    !strstr(err.msg, c->what))
			FAIL("case %zu: got %d '%s', expected %d '%s ... %s'", i,
			     rc, err.msg, c->code, where, c->what);
	}
}

/* The runtime lines are part of the signed bytes: one changed byte in
 * them is a bad signature, found before they are parsed. */
TEST(runtime_lines_are_signed)
{
	struct hm_privkey *priv = NULL;
	struct hm_pubkey *pub = NULL;
	struct hm_trusted_manifest *m = NULL;
	struct hm_manifest_header h;
	struct hm_source *src = NULL;
	struct hm_entry root;
	struct mem_source ms;
	struct hm_error err = { 0 };
	char *sig = NULL, *data = NULL, *p;
	size_t siglen, len;
	const struct hm_entry *e;

	CHECK_OK(hm_privkey_generate(&priv, &err), &err);
	CHECK_OK(hm_privkey_public(priv, &pub, &err), &err);
	memset(&root, 0, sizeof(root));
	set_entry(&root, "/", HM_TYPE_DIR, 0755);
	ms = mem_source(&root, 1);
	src = &ms.src;
	header_init(&h);
	h.runtime = sample_spec();
	CHECK_OK(hm_manifest_write("s.manifest", &h, src, &err), &err);
	hm_runtime_spec_free(h.runtime);
	CHECK_OK(hm_sign_manifest_file(priv, "s.manifest", &sig, &siglen, &err), &err);
	CHECK_OK(hm_write_file_atomic("s.manifest.sig", sig, siglen, 0644, true, &err), &err);
	CHECK_OK(hm_trust_open("s.manifest", NULL, &pub, 1, h.created + 1, &m, &err), &err);
	if (m) {
		CHECK(m->header->runtime != NULL);
		CHECK_EQ_INT(m->header->runtime->n_sysctl, 3);
		while (hm_manifest_reader_next(m->reader, &e, &err) > 0)
			;
		CHECK_OK(hm_trust_finish(m, &err), &err);
	}
	hm_trust_free(m);
	m = NULL;
	/* "listen tcp 22" becomes "listen tcp 23": still a valid line. */
	CHECK_OK(hm_read_file("s.manifest", 1 << 20, &data, &len, &err), &err);
	p = data ? strstr(data, "listen tcp 22 ") : NULL;
	CHECK(p != NULL);
	if (p) {
		p[12] = '3';
		CHECK_OK(hm_write_file_atomic("s.manifest", data, len, 0644, true, &err), &err);
		CHECK_EQ_INT(hm_trust_open("s.manifest", NULL, &pub, 1, h.created + 1, &m, &err),
			     HM_ERR_TRUST);
		CHECK(strstr(err.msg, "bad signature") != NULL);
		hm_trust_free(m);
	}
	free(data);
	free(sig);
	hm_entry_clear(&root);
	hm_privkey_free(priv);
	hm_pubkey_free(pub);
}

/* Where the tests were started (or HM_TOP): the docs are found from it. */
static char start_cwd[4096];

__attribute__((constructor)) static void remember_cwd(void)
{
	if (!getcwd(start_cwd, sizeof(start_cwd)))
		start_cwd[0] = '\0';
}

static const char *top_dir(void)
{
	const char *top = getenv("HM_TOP");

	return top ? top : start_cwd;
}

/* The example of docs/manifest-format.md section 12 reads, with its
 * runtime lines: the spec and the reader cannot drift apart. */
TEST(runtime_doc_example)
{
	char path[8192], *doc = NULL, *begin, *end;
	struct hm_error err = { 0 };
	size_t len, count;

	snprintf(path, sizeof(path), "%s/docs/manifest-format.md", top_dir());
	CHECK_OK(hm_read_file(path, 1 << 20, &doc, &len, &err), &err);
	if (!doc)
		return;
	begin = strstr(doc, "## 12. The runtime extension");
	CHECK(begin != NULL);
	begin = begin ? strstr(begin, "```\nhallmark-manifest 1\n") : NULL;
	CHECK(begin != NULL);
	if (begin) {
		begin += 4;
		end = strstr(begin, "```\n");
		CHECK(end != NULL);
		if (end) {
			CHECK_EQ_INT(parse_text(begin, (size_t)(end - begin), &err, &count), 0);
			CHECK_EQ_INT(count, 1);
		}
	}
	free(doc);
}

/* HM_LIMIT_RUNTIME_LINES lines read (and quickly: the lists grow by
 * doubling, each line is checked against its predecessor only). */
TEST(runtime_at_the_limit)
{
	struct hm_buf b = HM_BUF_INIT;
	struct hm_error err = { 0 };
	size_t count;
	unsigned i;

	CHECK(hm_buf_addf(&b, RT_HEAD "runtime %u\n", HM_LIMIT_RUNTIME_LINES) == 0);
	for (i = 0; i < HM_LIMIT_RUNTIME_LINES; i++)
		CHECK(hm_buf_addf(&b, "sysctl k.%06u %u\n", i, i) == 0);
	CHECK(hm_buf_adds(&b, RT_TAIL) == 0);
	CHECK_EQ_INT(parse_text(b.data, b.len, &err, &count), 0);
	CHECK_EQ_INT(count, 1);
	hm_buf_free(&b);
}
