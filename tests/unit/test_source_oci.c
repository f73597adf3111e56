/*
 * Unit tests: the OCI source.  Layouts are built here with libarchive and
 * jansson (layer tars, blobs named by digest, manifest, config, index):
 * whiteout semantics, layer origins, hard links, and resolution errors.
 */
#include "harness.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <sys/stat.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/source.h"

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_TAR "application/vnd.oci.image.layer.v1.tar"
#define MT_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"

/* A member of a test layer: type f(ile), d(ir), l(symlink), h(ard link). */
struct m {
	const char *name;
	char type;
	const char *data;       /* file content, or link target */
	unsigned mode;
	const char *xattr;      /* "name=value" */
};

static la_ssize_t to_buf(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	return hm_buf_add(ctx, p, n) < 0 ? -1 : (la_ssize_t)n;
}

static int make_tar(const struct m *ms, size_t n, bool gz, struct hm_buf *out)
{
	struct archive *a = archive_write_new();
	size_t i;
	int r = 0;

	archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open(a, out, NULL, to_buf, NULL) != ARCHIVE_OK)
		return -1;
	for (i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = ms[i].data ? strlen(ms[i].data) : 0;

		archive_entry_set_pathname(e, ms[i].name);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		switch (ms[i].type) {
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, ms[i].mode ? ms[i].mode : 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, ms[i].data);
			len = 0;
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, ms[i].data);
			len = 0;
			break;
		default:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, ms[i].mode ? ms[i].mode : 0644);
			archive_entry_set_size(e, (la_int64_t)len);
		}
		if (ms[i].xattr) {
			const char *eq = strchr(ms[i].xattr, '=');
			char name[64];

			snprintf(name, sizeof(name), "%.*s", (int)(eq - ms[i].xattr), ms[i].xattr);
			archive_entry_xattr_add_entry(e, name, eq + 1, strlen(eq + 1));
		}
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (len && archive_write_data(a, ms[i].data, len) != (la_ssize_t)len))
			r = -1;
		archive_entry_free(e);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		r = -1;
	archive_write_free(a);
	return r;
}

static void hex_of(const void *p, size_t n, char hex[65])
{
	unsigned char d[32];

	hm_hash_buf(HM_HASH_SHA256, p, n, d);
	hm_hex_encode(d, 32, hex);
}

/* Write a blob into layout/blobs/sha256/ and describe it. */
static json_t *blob(const void *p, size_t n, const char *mt)
{
	char hex[65], path[128], dig[80];
	FILE *f;

	hex_of(p, n, hex);
	snprintf(path, sizeof(path), "layout/blobs/sha256/%s", hex);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		return NULL;
	snprintf(dig, sizeof(dig), "sha256:%s", hex);
	return json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", dig,
			 "size", (json_int_t)n);
}

static json_t *json_blob(json_t *j, const char *mt)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_t *d = blob(s, strlen(s), mt);

	free(s);
	json_decref(j);
	return d;
}

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(s, f);
	return fclose(f);
}

/* Write j to path and drop it. */
static int dump_take(json_t *j, const char *path)
{
	int r = j ? json_dump_file(j, path, 0) : -1;

	json_decref(j);
	return r;
}

struct layer_spec {
	const struct m *ms;
	size_t n;
};

#define L(arr) { arr, sizeof(arr) / sizeof(arr[0]) }

/* Build layout/ from layers; the manifest descriptor gets mt_manifest. */
static int build(const struct layer_spec *ls, size_t n, const char *mt_manifest)
{
	json_t *layers = json_array(), *diffs = json_array(), *cfg, *man, *mdesc;
	size_t i;

	mkdir("layout", 0755);
	mkdir("layout/blobs", 0755);
	mkdir("layout/blobs/sha256", 0755);
	for (i = 0; i < n; i++) {
		struct hm_buf raw = HM_BUF_INIT, gz = HM_BUF_INIT;
		char hex[65], dig[80];

		if (make_tar(ls[i].ms, ls[i].n, false, &raw) < 0 ||
		    make_tar(ls[i].ms, ls[i].n, true, &gz) < 0)
			return -1;
		hex_of(raw.data, raw.len, hex);
		snprintf(dig, sizeof(dig), "sha256:%s", hex);
		json_array_append_new(diffs, json_string(dig));
		/* Odd layers gzip, even ones plain: both paths are used. */
		json_array_append_new(layers, i % 2 == 0 ? blob(gz.data, gz.len, MT_GZIP) :
						  blob(raw.data, raw.len, MT_TAR));
		hm_buf_free(&raw);
		hm_buf_free(&gz);
	}
	cfg = json_blob(json_pack("{s:s, s:s, s:{s:s, s:o}}", "architecture", "amd64",
				  "os", "linux", "rootfs", "type", "layers",
				  "diff_ids", diffs), MT_CONFIG);
	man = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
			MT_MANIFEST, "config", cfg, "layers", layers);
	mdesc = json_blob(man, MT_MANIFEST);
	json_object_set_new(mdesc, "mediaType", json_string(mt_manifest));
	if (dump_take(json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2,
				"mediaType", MT_INDEX, "manifests", mdesc),
		      "layout/index.json") < 0)
		return -1;
	return write_file("layout/oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}");
}

/* All entries the source yields, tombstones included. */
struct got {
	struct hm_entry e[64];
	size_t n;
};

static int open_all(struct got *g, const struct hm_scan_options *opt,
		    struct hm_error *err)
{
	struct hm_source *src;
	const struct hm_entry *e;
	int r;

	memset(g, 0, sizeof(*g));
	r = hm_source_open_target("oci-dir:layout", opt, &src, err);
	if (r < 0)
		return r;
	while ((r = hm_source_next(src, &e, err)) > 0 && g->n < 64)
		hm_entry_copy(&g->e[g->n++], e);
	hm_source_free(src);
	return r;
}

static void got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		hm_entry_clear(&g->e[i]);
}

static const struct hm_entry *find(const struct got *g, const char *path)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (strcmp(g->e[i].path, path) == 0)
			return &g->e[i];
	return NULL;
}

static const struct m base[] = {
	{ "./", 'd', NULL, 0755, NULL },
	{ "etc/", 'd', NULL, 0755, NULL },
	{ "etc/passwd", 'f', "root:x:0:0\n", 0644, NULL },
	{ "etc/shadow", 'f', "root:*:1\n", 0640, NULL },
	{ "usr/", 'd', NULL, 0755, NULL },
	{ "usr/bin/", 'd', NULL, 0755, NULL },
	{ "usr/bin/ping", 'f', "ping", 0755, "security.capability=\x01\x02" },
	{ "usr/lib/", 'd', NULL, 0755, NULL },
	{ "usr/lib/a.so", 'f', "a", 0644, NULL },
	{ "usr/lib/sub/", 'd', NULL, 0755, NULL },
	{ "usr/lib/sub/b.so", 'f', "b", 0644, NULL },
	{ "lnk", 'l', "etc", 0, NULL },
};

TEST(layers_apply_with_origins)
{
	static const struct m app[] = {
		{ "opt/app/run", 'f', "run", 0755, NULL },
		{ "opt/app/run2", 'h', "opt/app/run", 0, NULL },
		{ "etc/passwd2", 'h', "etc/passwd", 0, NULL },   /* lower layer */
	};
	struct layer_spec ls[] = { L(base), L(app) };
	struct hm_error err = { 0 };
	struct got g;
	const struct hm_entry *e, *f;
	unsigned char d[32];

	CHECK_EQ_INT(build(ls, 2, MT_MANIFEST), 0);
	CHECK_OK(open_all(&g, NULL, &err), &err);
	CHECK((e = find(&g, "/etc/passwd")) != NULL);
	CHECK_EQ_INT(e->origin, 1);
	CHECK(e->origin_name && strncmp(e->origin_name, "layer 1 sha256:", 15) == 0);
	CHECK_EQ_INT(strlen(e->origin_name), 15 + 12);
	hm_hash_buf(HM_HASH_SHA256, "root:x:0:0\n", 11, d);
	CHECK(e->flags & HM_ENTRY_HAS_DIGEST);
	CHECK(memcmp(e->sha256, d, 32) == 0);
	CHECK_EQ_INT(e->size, 11);
	CHECK((e = find(&g, "/etc/shadow")) && e->mode == 0640);
	CHECK((e = find(&g, "/usr/bin/ping")) && e->n_xattrs == 1);
	CHECK_EQ_STR(e->xattrs[0].name, "security.capability");
	CHECK(e->xattrs[0].len == 2 && memcmp(e->xattrs[0].value, "\x01\x02", 2) == 0);
	CHECK((e = find(&g, "/lnk")) && e->type == HM_TYPE_SYMLINK);
	CHECK_EQ_STR(e->target, "etc");
	CHECK((e = find(&g, "/opt/app/run")) && e->origin == 2);
	CHECK(strncmp(e->origin_name, "layer 2 sha256:", 15) == 0);
	CHECK((f = find(&g, "/opt/app/run2")) && f->type == HM_TYPE_FILE);
	CHECK(memcmp(e->sha256, f->sha256, 32) == 0 && f->mode == 0755);
	CHECK((f = find(&g, "/etc/passwd2")) && f->origin == 2);
	CHECK(memcmp(f->sha256, d, 32) == 0);
	/* /opt was not in the layer: made up, not attributed to anything. */
	CHECK((e = find(&g, "/opt")) && (e->flags & HM_ENTRY_IMPLICIT));
	got_free(&g);
}

TEST(whiteouts_leave_tombstones_naming_the_layer)
{
	static const struct m up[] = {
		{ "etc/.wh.passwd", 'f', "", 0, NULL },
		{ "usr/lib/.wh.sub", 'f', "", 0, NULL },      /* a subtree */
		{ "usr/.wh.nothing", 'f', "", 0, NULL },      /* absent: no-op */
		{ "etc/.wh.shadow", 'f', "", 0, NULL },
		{ "etc/shadow", 'f', "new", 0600, NULL },     /* same layer: kept */
	};
	struct layer_spec ls[] = { L(base), L(up) };
	struct hm_error err = { 0 };
	struct got g;
	const struct hm_entry *e;

	CHECK_EQ_INT(build(ls, 2, MT_MANIFEST), 0);
	CHECK_OK(open_all(&g, NULL, &err), &err);
	CHECK((e = find(&g, "/etc/passwd")) != NULL);
	CHECK(e->flags & HM_ENTRY_DELETED);
	CHECK_EQ_INT(e->origin, 2);
	CHECK(strncmp(e->origin_name, "layer 2 sha256:", 15) == 0);
	CHECK((e = find(&g, "/usr/lib/sub")) && (e->flags & HM_ENTRY_DELETED));
	CHECK(find(&g, "/usr/lib/sub/b.so") == NULL);
	CHECK(find(&g, "/usr/nothing") == NULL);
	CHECK((e = find(&g, "/etc/shadow")) && !(e->flags & HM_ENTRY_DELETED));
	CHECK_EQ_INT(e->mode, 0600);
	CHECK_EQ_INT(e->origin, 2);
	CHECK((e = find(&g, "/usr/lib/a.so")) && !(e->flags & HM_ENTRY_DELETED));
	got_free(&g);
}

TEST(opaque_whiteout_after_its_siblings_keeps_them)
{
	static const struct m up[] = {
		{ "usr/lib/c.so", 'f', "c", 0644, NULL },
		{ "usr/lib/.wh..wh..opq", 'f', "", 0, NULL },
	};
	struct layer_spec ls[] = { L(base), L(up) };
	struct hm_error err = { 0 };
	struct got g;
	const struct hm_entry *e;

	CHECK_EQ_INT(build(ls, 2, MT_MANIFEST), 0);
	CHECK_OK(open_all(&g, NULL, &err), &err);
	CHECK((e = find(&g, "/usr/lib/c.so")) && !(e->flags & HM_ENTRY_DELETED));
	CHECK_EQ_INT(e->origin, 2);
	CHECK((e = find(&g, "/usr/lib/a.so")) && (e->flags & HM_ENTRY_DELETED));
	CHECK(strncmp(e->origin_name, "layer 2 sha256:", 15) == 0);
	CHECK((e = find(&g, "/usr/lib/sub")) && (e->flags & HM_ENTRY_DELETED));
	CHECK(find(&g, "/usr/lib/sub/b.so") == NULL);
	/* The directory itself stays, and so does everything beside it. */
	CHECK((e = find(&g, "/usr/lib")) && e->type == HM_TYPE_DIR &&
	      !(e->flags & HM_ENTRY_DELETED));
	CHECK((e = find(&g, "/usr/bin/ping")) && !(e->flags & HM_ENTRY_DELETED));
	got_free(&g);
}

TEST(a_later_layer_restores_a_whited_out_path)
{
	static const struct m l2[] = { { "etc/.wh.passwd", 'f', "", 0, NULL } };
	static const struct m l3[] = { { "etc/passwd", 'f', "again", 0644, NULL } };
	struct layer_spec ls[] = { L(base), L(l2), L(l3) };
	struct hm_error err = { 0 };
	struct got g;
	const struct hm_entry *e;

	CHECK_EQ_INT(build(ls, 3, MT_MANIFEST), 0);
	CHECK_OK(open_all(&g, NULL, &err), &err);
	CHECK((e = find(&g, "/etc/passwd")) && !(e->flags & HM_ENTRY_DELETED));
	CHECK_EQ_INT(e->origin, 3);
	CHECK_EQ_INT(e->size, 5);
	got_free(&g);
}

static int open_err(const struct m *up, size_t n, struct hm_error *err)
{
	struct layer_spec ls[] = { L(base), { up, n } };
	struct hm_source *src = NULL;
	int r;

	if (build(ls, 2, MT_MANIFEST) < 0)
		return 1;
	r = hm_source_oci_open("layout", true, NULL, &src, err);
	hm_source_free(src);
	return r;
}

#define OPEN_ERR(arr, err) open_err(arr, sizeof(arr) / sizeof(arr[0]), err)

TEST(hostile_layers_are_refused)
{
	static const struct m through[] = { { "lnk/.wh.passwd", 'f', "", 0, NULL } };
	static const struct m via[] = { { "lnk/passwd", 'f', "x", 0644, NULL } };
	static const struct m dup[] = {
		{ "opt/x", 'f', "1", 0644, NULL }, { "opt/x", 'f', "2", 0644, NULL },
	};
	static const struct m bare[] = { { "etc/.wh.", 'f', "", 0, NULL } };
	static const struct m dots[] = { { "etc/.wh...", 'f', "", 0, NULL } };
	static const struct m resv[] = { { "etc/.wh..wh.foo", 'f', "", 0, NULL } };
	static const struct m up[] = { { "../x", 'f', "", 0, NULL } };
	static const struct m hl[] = { { "opt/y", 'h', "opt/none", 0, NULL } };
	struct hm_error err = { 0 };

	CHECK_EQ_INT(OPEN_ERR(through, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "layer 2 sha256:") && strstr(err.msg, "reaches through '/lnk', a symlink"));
	CHECK_EQ_INT(OPEN_ERR(via, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "parent '/lnk' is a symlink"));
	CHECK_EQ_INT(OPEN_ERR(dup, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "member 'opt/x': duplicate entry"));
	CHECK_EQ_INT(OPEN_ERR(bare, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "whiteout of no valid name"));
	CHECK_EQ_INT(OPEN_ERR(dots, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "whiteout of no valid name"));
	CHECK_EQ_INT(OPEN_ERR(resv, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "reserved whiteout name"));
	CHECK_EQ_INT(OPEN_ERR(up, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "member '../x': unsafe name"));
	CHECK_EQ_INT(OPEN_ERR(hl, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "hard link to 'opt/none'"));
}

/*
 * A hard link to a lower file that the same layer whites out, in every
 * order and spelling: containerd fails (whiteout first) or keeps the
 * deleted content (link first); refused either way.  Restoring the file
 * in the layer before linking to it is fine.
 */
TEST(hard_link_to_a_file_the_same_layer_deletes)
{
	static const struct m before[] = {
		{ "etc/.wh.shadow", 'f', "", 0, NULL },
		{ "etc/x", 'h', "etc/shadow", 0, NULL },
	};
	static const struct m after[] = {
		{ "etc/x", 'h', "etc/shadow", 0, NULL },
		{ "etc/.wh.shadow", 'f', "", 0, NULL },
	};
	static const struct m readded[] = {     /* re-added after the link */
		{ "etc/.wh.shadow", 'f', "", 0, NULL },
		{ "opt/x", 'h', "etc/shadow", 0, NULL },
		{ "etc/shadow", 'f', "new", 0600, NULL },
	};
	static const struct m opq_before[] = {
		{ "usr/lib/.wh..wh..opq", 'f', "", 0, NULL },
		{ "opt/x", 'h', "usr/lib/sub/b.so", 0, NULL },
	};
	static const struct m opq_after[] = {
		{ "opt/x", 'h', "usr/lib/a.so", 0, NULL },
		{ "usr/lib/.wh..wh..opq", 'f', "", 0, NULL },
	};
	static const struct m opq_root[] = {
		{ "opt/x", 'h', "etc/passwd", 0, NULL },
		{ ".wh..wh..opq", 'f', "", 0, NULL },
	};
	static const struct m folder[] = {
		{ "opt/x", 'h', "usr/lib/sub/b.so", 0, NULL },
		{ "usr/lib/.wh.sub", 'f', "", 0, NULL },
	};
	static const struct m restored[] = {
		{ "etc/.wh.shadow", 'f', "", 0, NULL },
		{ "etc/shadow", 'f', "new", 0600, NULL },
		{ "etc/x", 'h', "etc/shadow", 0, NULL },
	};
	static const struct m other[] = {   /* a sibling of what goes */
		{ "etc/.wh.shadow", 'f', "", 0, NULL },
		{ "etc/x", 'h', "etc/passwd", 0, NULL },
		{ "usr/.wh.li", 'f', "", 0, NULL },
		{ "opt/y", 'h', "usr/lib/a.so", 0, NULL },
	};
	struct hm_error err = { 0 };

	CHECK_EQ_INT(OPEN_ERR(before, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "layer 2 sha256:"));
	CHECK(strstr(err.msg, "member 'etc/x': hard link to '/etc/shadow', which the same layer deletes ('/etc/.wh.shadow')"));
	CHECK_EQ_INT(OPEN_ERR(after, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "member 'etc/x': hard link to '/etc/shadow', which the same layer deletes"));
	CHECK_EQ_INT(OPEN_ERR(readded, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "member 'opt/x': hard link to '/etc/shadow', which the same layer deletes"));
	CHECK_EQ_INT(OPEN_ERR(opq_before, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "member 'opt/x': hard link to '/usr/lib/sub/b.so', which the same layer deletes ('/usr/lib/.wh..wh..opq')"));
	CHECK_EQ_INT(OPEN_ERR(opq_after, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'/usr/lib/a.so', which the same layer deletes ('/usr/lib/.wh..wh..opq')"));
	CHECK_EQ_INT(OPEN_ERR(opq_root, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'/etc/passwd', which the same layer deletes ('/.wh..wh..opq')"));
	CHECK_EQ_INT(OPEN_ERR(folder, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'/usr/lib/sub/b.so', which the same layer deletes ('/usr/lib/.wh.sub')"));
	memset(&err, 0, sizeof(err));
	CHECK_EQ_INT(OPEN_ERR(restored, &err), 0);
	CHECK_EQ_INT(OPEN_ERR(other, &err), 0);
}

TEST(a_manifest_list_where_a_manifest_is_expected)
{
	struct layer_spec ls[] = { L(base) };
	struct hm_source *src = NULL;
	struct hm_error err = { 0 };

	/* The descriptor says index; the blob is a manifest. */
	CHECK_EQ_INT(build(ls, 1, MT_INDEX), 0);
	CHECK_EQ_INT(hm_source_oci_open("layout", true, NULL, &src, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "is an image manifest (" MT_MANIFEST ") where an image index is expected"));
}

TEST(an_index_where_a_manifest_is_expected)
{
	struct layer_spec ls[] = { L(base) };
	struct hm_source *src = NULL;
	struct hm_error err = { 0 };
	json_t *idx, *d;

	CHECK_EQ_INT(build(ls, 1, MT_MANIFEST), 0);
	/* index.json -> (typed as a manifest) -> an index. */
	idx = json_load_file("layout/index.json", 0, NULL);
	CHECK(idx != NULL);
	d = json_blob(idx, MT_MANIFEST);
	CHECK(d != NULL);
	CHECK(dump_take(json_pack("{s:i, s:[o]}", "schemaVersion", 2, "manifests", d),
			"layout/index.json") == 0);
	CHECK_EQ_INT(hm_source_oci_open("layout", true, NULL, &src, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "is an image index (" MT_INDEX ") where an image manifest is expected"));
}

TEST(nested_index_picks_linux_amd64)
{
	static const struct m up[] = { { "opt/x", 'f', "x", 0644, NULL } };
	struct layer_spec ls[] = { L(base), L(up) };
	struct hm_error err = { 0 };
	json_t *idx, *m, *arm, *amd, *inner;
	struct got g;

	CHECK_EQ_INT(build(ls, 2, MT_MANIFEST), 0);
	idx = json_load_file("layout/index.json", 0, NULL);
	m = json_array_get(json_object_get(idx, "manifests"), 0);
	arm = json_deep_copy(m);
	amd = json_deep_copy(m);
	json_object_set_new(arm, "platform", json_pack("{s:s, s:s}", "os", "linux", "architecture", "arm64"));
	json_object_set_new(amd, "platform", json_pack("{s:s, s:s}", "os", "linux", "architecture", "amd64"));
	/* arm64 names a missing blob: picking it would fail. */
	json_object_set_new(arm, "digest", json_string("sha256:0000000000000000000000000000000000000000000000000000000000000000"));
	inner = json_blob(json_pack("{s:i, s:s, s:[o,o]}", "schemaVersion", 2,
				    "mediaType", MT_INDEX, "manifests", arm, amd), MT_INDEX);
	json_decref(idx);
	CHECK(dump_take(json_pack("{s:i, s:[o]}", "schemaVersion", 2, "manifests", inner),
			"layout/index.json") == 0);
	CHECK_OK(open_all(&g, NULL, &err), &err);
	CHECK(find(&g, "/opt/x") != NULL);
	got_free(&g);
}

TEST(blobs_are_checked_before_use)
{
	struct layer_spec ls[] = { L(base) };
	struct hm_source *src = NULL;
	struct hm_error err = { 0 };
	json_t *idx = NULL, *man = NULL;
	char path[160];
	const char *dig;
	FILE *f;

	CHECK_EQ_INT(build(ls, 1, MT_MANIFEST), 0);
	idx = json_load_file("layout/index.json", 0, NULL);
	dig = json_string_value(json_object_get(json_array_get(json_object_get(idx, "manifests"), 0), "digest"));
	snprintf(path, sizeof(path), "layout/blobs/sha256/%s", dig + 7);
	man = json_load_file(path, 0, NULL);
	CHECK(man != NULL);
	/* The layer blob: flip one byte, same size. */
	dig = json_string_value(json_object_get(json_array_get(json_object_get(man, "layers"), 0), "digest"));
	snprintf(path, sizeof(path), "layout/blobs/sha256/%s", dig + 7);
	f = fopen(path, "r+b");
	CHECK(f != NULL);
	fseek(f, 20, SEEK_SET);
	fputc(0x42, f);
	fclose(f);
	CHECK_EQ_INT(hm_source_oci_open("layout", true, NULL, &src, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "layer 1 sha256:") && strstr(err.msg, "digest mismatch"));
	/* Missing blob. */
	CHECK_EQ_INT(unlink(path), 0);
	CHECK_EQ_INT(hm_source_oci_open("layout", true, NULL, &src, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "missing blob sha256:") && strstr(err.msg, dig + 7));
	/* The manifest blob itself: appended bytes change its size. */
	dig = json_string_value(json_object_get(json_array_get(json_object_get(idx, "manifests"), 0), "digest"));
	snprintf(path, sizeof(path), "layout/blobs/sha256/%s", dig + 7);
	f = fopen(path, "ab");
	CHECK(f != NULL);
	fputs(" ", f);
	fclose(f);
	CHECK_EQ_INT(hm_source_oci_open("layout", true, NULL, &src, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "size mismatch"));
	json_decref(idx);
	json_decref(man);
}

static bool skip_passwd(void *ctx, const char *path, size_t len)
{
	(void)ctx;
	return len == 11 && memcmp(path, "/etc/passwd", 11) == 0;
}

TEST(skipped_entries_are_not_hashed)
{
	struct layer_spec ls[] = { L(base) };
	struct hm_scan_options opt = { .filter = { .skip_entry = skip_passwd } };
	struct hm_error err = { 0 };
	struct got g;
	const struct hm_entry *e;

	CHECK_EQ_INT(build(ls, 1, MT_MANIFEST), 0);
	CHECK_OK(open_all(&g, &opt, &err), &err);
	CHECK((e = find(&g, "/etc/passwd")) && !(e->flags & HM_ENTRY_HAS_DIGEST));
	CHECK((e = find(&g, "/etc/shadow")) && (e->flags & HM_ENTRY_HAS_DIGEST));
	got_free(&g);
}

TEST(target_syntax_and_bad_layouts)
{
	struct hm_source *src = NULL;
	struct hm_error err = { 0 };

	CHECK_EQ_INT(hm_source_open_target("oci:-", NULL, &src, &err), HM_ERR_USAGE);
	mkdir("empty", 0755);
	CHECK_EQ_INT(hm_source_open_target("oci-dir:empty", NULL, &src, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "oci-layout"));
	CHECK_EQ_INT(hm_source_open_target("oci:empty", NULL, &src, &err), HM_ERR_USAGE);
	CHECK(strstr(err.msg, "oci-dir:"));
	CHECK_EQ_INT(write_file("notatar", "hello, world\n"), 0);
	CHECK_EQ_INT(hm_source_open_target("oci:notatar", NULL, &src, &err), HM_ERR_INPUT);
}
