/*
 * Unit tests: the emitters (rootfs tarball and OCI image archive).
 *
 * A unity build: the emitters and the blob store live in builder/, which
 * unit tests do not link, so their sources are included here.  The
 * outputs are checked by real consumers: GNU tar lists and extracts the
 * rootfs (as root: devices, owners, xattrs), the extracted folder is
 * scanned back with the dir source and must equal the tree; the OCI
 * archive's JSON is parsed and every digest and size recomputed, and
 * skopeo and umoci (when installed) must accept it.
 */
#include "harness.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/source.h"
#include "hallmark/tree.h"

#include "../../builder/blobstore.h"
#include "../../builder/emit.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>



/* The image-spec's media types, spelled here independently of the emitter. */
#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"

#define MTIME ((time_t)1700000000)   /* 2023-11-14T22:13:20Z */

/* A valid vfs_cap_data (revision 2, effective, permitted = CAP_NET_RAW):
 * the kernel refuses malformed security.capability values on extraction. */
static const unsigned char cap_net_raw[20] = {
	0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* ---- building trees ----------------------------------------------------- */

static struct hm_entry *node(const char *path, enum hm_type type,
			     unsigned mode, unsigned uid, unsigned gid)
{
	struct hm_entry *e = hm_entry_new();

	if (!e || hm_entry_set_path(e, path, strlen(path)) < 0)
		abort();
	e->type = type;
	e->mode = mode;
	e->uid = uid;
	e->gid = gid;
	return e;
}

static int put(struct hm_tree *t, struct hm_entry *e, struct hm_error *err)
{
	if (e->n_xattrs && hm_entry_sort_xattrs(e) < 0)
		abort();
	return hm_tree_put_take(t, e, true, err);
}

static int put_file(struct hm_tree *t, struct hm_blobstore *s,
		    struct hm_entry *e, const char *content, size_t len,
		    struct hm_error *err)
{
	int r = hm_blob_put(s, content, len, e->sha256, err);

	if (r < 0) {
		hm_entry_free(e);
		return r;
	}
	e->size = len;
	e->flags |= HM_ENTRY_HAS_DIGEST;
	return put(t, e, err);
}

static void long_name(char *out, size_t size)
{
	snprintf(out, size, "/opt/%s/%s/%s/data.txt",
		 "a-rather-long-directory-name-for-the-vendor-0123456789",
		 "another-long-component-to-push-past-the-ustar-limits-xyz",
		 "third-level-abcdefghijklmnopqrstuvwxyz");
}

/* Every entry type a tar can hold, xattrs, setuid, a long name, big ids,
 * non-ASCII names, an empty file and a tombstone. */
static int build_tree(struct hm_tree **ret, struct hm_blobstore **ret_store,
		      struct hm_error *err)
{
	static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n";
	char big[70000], lname[512], ltarget[300];
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_entry *e;
	int r;

	memset(big, 'x', sizeof(big));
	long_name(lname, sizeof(lname));
	memset(ltarget, 'l', sizeof(ltarget) - 1);
	ltarget[sizeof(ltarget) - 1] = '\0';
	if ((r = hm_blobstore_open("store", &s, err)) < 0 ||
	    (r = hm_tree_new(&t, err)) < 0)
		goto out;
	if ((r = put(t, node("/", HM_TYPE_DIR, 0755, 0, 0), err)) < 0 ||
	    (r = put(t, node("/etc", HM_TYPE_DIR, 0755, 0, 0), err)) < 0 ||
	    (r = put_file(t, s, node("/etc/passwd", HM_TYPE_FILE, 0644, 0, 0),
			  passwd, strlen(passwd), err)) < 0 ||
	    (r = put_file(t, s, node("/etc/shadow", HM_TYPE_FILE, 0640, 0, 42),
			  "root:!:1::::::\n", 15, err)) < 0 ||
	    (r = put_file(t, s, node("/usr/bin/su", HM_TYPE_FILE, 04755, 0, 0),
			  "\177ELF su", 7, err)) < 0 ||
	    (r = put_file(t, s, node("/usr/bin/big", HM_TYPE_FILE, 0755, 0, 0),
			  big, sizeof(big), err)) < 0 ||
	    (r = put_file(t, s, node("/empty", HM_TYPE_FILE, 0600, 0, 0),
			  "", 0, err)) < 0 ||
	    (r = put_file(t, s, node(lname, HM_TYPE_FILE, 0644, 1000, 1000),
			  "long\n", 5, err)) < 0 ||
	    (r = put_file(t, s, node("/caf\xc3\xa9", HM_TYPE_FILE, 0644, 0, 0),
			  "utf8\n", 5, err)) < 0 ||
	    (r = put_file(t, s, node("/raw\xff", HM_TYPE_FILE, 0644, 0, 0),
			  "raw\n", 4, err)) < 0)
		goto out;

	e = node("/usr/bin/ping", HM_TYPE_FILE, 0755, 0, 0);
	if (hm_entry_add_xattr(e, "security.capability", cap_net_raw,
			       sizeof(cap_net_raw)) < 0 ||
	    hm_entry_add_xattr(e, "trusted.hallmark", "a\0b", 3) < 0)
		abort();
	if ((r = put_file(t, s, e, "\177ELF ping", 9, err)) < 0)
		goto out;

	e = node("/home/big", HM_TYPE_DIR, 0700, 3000000, 3000001);
	if (hm_entry_add_xattr(e, "trusted.dir", "d", 1) < 0)
		abort();
	if ((r = put(t, e, err)) < 0)
		goto out;
	if ((r = put(t, node("/tmp", HM_TYPE_DIR, 01777, 0, 0), err)) < 0)
		goto out;

	e = node("/dev/null", HM_TYPE_CHAR, 0666, 0, 0);
	e->rdev_major = 1;
	e->rdev_minor = 3;
	if ((r = put(t, e, err)) < 0)
		goto out;
	e = node("/dev/sda", HM_TYPE_BLOCK, 0660, 0, 6);
	e->rdev_major = 8;
	e->rdev_minor = 0;
	if ((r = put(t, e, err)) < 0)
		goto out;
	if ((r = put(t, node("/run/initctl", HM_TYPE_FIFO, 0600, 0, 0), err)) < 0)
		goto out;

	e = node("/bin", HM_TYPE_SYMLINK, 0777, 0, 0);
	hm_entry_set_target(e, "usr/bin", 7);
	if ((r = put(t, e, err)) < 0)
		goto out;
	e = node("/etc/long-link", HM_TYPE_SYMLINK, 0777, 0, 0);
	hm_entry_set_target(e, ltarget, strlen(ltarget));
	if ((r = put(t, e, err)) < 0)
		goto out;

	/* A removed entry leaves a tombstone the emitter must skip. */
	if ((r = put_file(t, s, node("/etc/gone", HM_TYPE_FILE, 0644, 0, 0),
			  "gone\n", 5, err)) < 0)
		goto out;
	e = node("/etc/gone", HM_TYPE_FILE, 0644, 0, 0);
	e->flags |= HM_ENTRY_DELETED;
	if (hm_tree_remove(t, "/etc/gone", 9, e) != 1) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "remove failed");
		goto out;
	}
	*ret = t;
	*ret_store = s;
	return 0;
out:
	hm_tree_free(t);
	hm_blobstore_free(s);
	return r;
}

/* ---- checking ----------------------------------------------------------- */

static int read_all(const char *path, char **ret, size_t *len)
{
	struct hm_error err;

	return hm_read_file(path, 1u << 30, ret, len, &err);
}

static bool same_file(const char *a, const char *b)
{
	char *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;
	bool same;

	if (read_all(a, &da, &la) < 0 || read_all(b, &db, &lb) < 0) {
		free(da);
		free(db);
		return false;
	}
	same = la == lb && memcmp(da, db, la) == 0;
	free(da);
	free(db);
	return same;
}

static void file_sha256(const char *path, unsigned char out[32])
{
	struct hm_error err;
	int fd = open(path, O_RDONLY);

	memset(out, 0, 32);
	if (fd >= 0)
		hm_sha256_fd(fd, path, out, NULL, &err);
	if (fd >= 0)
		close(fd);
}

static bool folder_has_only(const char *dir, const char *name)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s)\" = \"%s\"", dir, name);
	return system(cmd) == 0;
}

/* The first difference between two entries, or NULL. */
static const char *entry_diff(const struct hm_entry *a, const struct hm_entry *b)
{
	size_t i;

	if (a->path_len != b->path_len || memcmp(a->path, b->path, a->path_len))
		return "path";
	if (a->type != b->type)
		return "type";
	if (a->mode != b->mode)
		return "mode";
	if (a->uid != b->uid || a->gid != b->gid)
		return "owner";
	if (a->type == HM_TYPE_FILE &&
	    (a->size != b->size || memcmp(a->sha256, b->sha256, 32)))
		return "content";
	if (a->type == HM_TYPE_SYMLINK &&
	    (a->target_len != b->target_len ||
	     memcmp(a->target, b->target, a->target_len)))
		return "target";
	if ((a->type == HM_TYPE_CHAR || a->type == HM_TYPE_BLOCK) &&
	    (a->rdev_major != b->rdev_major || a->rdev_minor != b->rdev_minor))
		return "rdev";
	if (a->n_xattrs != b->n_xattrs)
		return "xattr count";
	for (i = 0; i < a->n_xattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len))
			return "xattr";
	return NULL;
}

/*
 * Open target ("dir:PATH", "tar:FILE", "oci:FILE") as hallmark's sources
 * do and compare it with the tree, entry by entry (tombstones skipped on
 * both sides); on a difference, describe it in why.
 */
static bool target_equals_tree(const char *target, struct hm_tree *t,
			       char *why, size_t whylen)
{
	struct hm_scan_options opt = { .threads = 1 };
	struct hm_source *ds = NULL, *ts = NULL;
	const struct hm_entry *a, *b;
	struct hm_error err;
	bool same = false;
	int ra, rb;

	snprintf(why, whylen, "setup failed");
	if (hm_source_open_target(target, &opt, &ds, &err) < 0 ||
	    hm_tree_source(t, false, &ts, &err) < 0) {
		snprintf(why, whylen, "%s", err.msg);
		goto out;
	}
	for (;;) {
		do {
			rb = hm_source_next(ts, &b, &err);
		} while (rb > 0 && (b->flags & HM_ENTRY_DELETED));
		do {
			ra = hm_source_next(ds, &a, &err);
		} while (ra > 0 && (a->flags & HM_ENTRY_DELETED));
		if (ra < 0 || rb < 0) {
			snprintf(why, whylen, "%s", err.msg);
			goto out;
		}
		if (ra == 0 || rb == 0) {
			if (ra != rb)
				snprintf(why, whylen, "%s ends first",
					 ra == 0 ? "the folder" : "the tree");
			same = ra == rb;
			goto out;
		}
		if (entry_diff(a, b)) {
			snprintf(why, whylen, "'%s' vs '%s': %s differs",
				 a->path, b->path, entry_diff(a, b));
			goto out;
		}
	}
out:
	hm_source_free(ds);
	hm_source_free(ts);
	return same;
}

static int run(const char *cmd)
{
	return system(cmd);
}

static bool have_tool(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* ---- rootfs tarball ------------------------------------------------------ */

TEST(tar_is_deterministic)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	unsigned char d1[32], d2[32], d3[32], onfile[32];
	struct hm_error err;

	CHECK_OK(build_tree(&t, &s, &err), &err);
	CHECK(mkdir("a", 0755) == 0 && mkdir("b", 0755) == 0);
	CHECK_OK(hm_emit_tar(t, s, MTIME, "a/rootfs.tar", d1, &err), &err);
	/* Another folder, another locale, a different umask: same bytes. */
	setenv("LANG", "C.UTF-8", 1);
	umask(077);
	CHECK_OK(hm_emit_tar(t, s, MTIME, "b/rootfs.tar", d2, &err), &err);
	umask(022);
	CHECK(same_file("a/rootfs.tar", "b/rootfs.tar"));
	CHECK(memcmp(d1, d2, 32) == 0);
	file_sha256("a/rootfs.tar", onfile);
	CHECK(memcmp(d1, onfile, 32) == 0);
	/* Written over an existing output. */
	CHECK_OK(hm_emit_tar(t, s, MTIME, "a/rootfs.tar", d3, &err), &err);
	CHECK(memcmp(d1, d3, 32) == 0);
	CHECK(folder_has_only("a", "rootfs.tar"));
	/* The time is the caller's. */
	CHECK_OK(hm_emit_tar(t, s, MTIME + 1, "b/rootfs.tar", d2, &err), &err);
	CHECK(memcmp(d1, d2, 32) != 0);
	hm_tree_free(t);
	hm_blobstore_free(s);
}

TEST(tar_lists_with_gnu_tar)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	unsigned char d[32];
	struct hm_error err;
	char *list = NULL, lname[512], want[600];
	size_t len;

	CHECK_OK(build_tree(&t, &s, &err), &err);
	CHECK_OK(hm_emit_tar(t, s, MTIME, "rootfs.tar", d, &err), &err);
	CHECK_EQ_INT(run("TZ=UTC tar -tvf rootfs.tar > list 2> errors"), 0);
	CHECK_OK(read_all("list", &list, &len), &err);
	/* The root first, as GNU tar writes it; the tombstone nowhere. */
	CHECK(strncmp(list, "drwxr-xr-x 0/0", 14) == 0);
	CHECK(strstr(list, " ./\n") != NULL);
	CHECK(strstr(list, "-rwsr-xr-x 0/0               7 2023-11-14 22:13 usr/bin/su\n"));
	CHECK(strstr(list, "drwx------ 3000000/3000001   0 2023-11-14 22:13 home/big/\n"));
	CHECK(strstr(list, "crw-rw-rw- 0/0             1,3 2023-11-14 22:13 dev/null\n"));
	CHECK(strstr(list, "brw-rw---- 0/6             8,0 2023-11-14 22:13 dev/sda\n"));
	CHECK(strstr(list, "prw------- 0/0               0 2023-11-14 22:13 run/initctl\n"));
	CHECK(strstr(list, "lrwxrwxrwx 0/0               0 2023-11-14 22:13 bin -> usr/bin\n"));
	CHECK(strstr(list, "drwxrwxrwt 0/0               0 2023-11-14 22:13 tmp/\n"));
	CHECK(strstr(list, "-rw-r----- 0/42             15 2023-11-14 22:13 etc/shadow\n"));
	long_name(lname, sizeof(lname));
	snprintf(want, sizeof(want), " %s\n", lname + 1);
	CHECK(strstr(list, want) != NULL);
	CHECK(strstr(list, "gone") == NULL);
	/* No user or group names, no PaxHeader member seen as a file. */
	CHECK(strstr(list, "root") == NULL);
	CHECK(strstr(list, "PaxHeader") == NULL);
	/* Only ustar and the pax keywords GNU tar knows, except hdrcharset
	 * for the two non-ASCII names. */
	CHECK_EQ_INT(run("grep -v hdrcharset errors | grep -q ."), 256);
	free(list);
	hm_tree_free(t);
	hm_blobstore_free(s);
}

TEST(tar_extracts_to_the_same_tree)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	unsigned char d[32];
	struct hm_error err;
	struct stat st;
	char why[1024];

	if (geteuid() != 0) {
		printf("# skipped: extraction with owners and devices needs root\n");
		return;
	}
	CHECK_OK(build_tree(&t, &s, &err), &err);
	CHECK_OK(hm_emit_tar(t, s, MTIME, "rootfs.tar", d, &err), &err);
	CHECK(mkdir("x", 0700) == 0);
	CHECK_EQ_INT(run("tar --xattrs --xattrs-include='*' --numeric-owner "
			 "-xpf rootfs.tar -C x 2>/dev/null"), 0);
	CHECK(lstat("x/usr/bin/su", &st) == 0);
	CHECK_EQ_INT(st.st_mtime, MTIME);
	CHECK(lstat("x/dev/sda", &st) == 0);
	CHECK(S_ISBLK(st.st_mode) && major(st.st_rdev) == 8);
	if (!target_equals_tree("dir:x", t, why, sizeof(why)))
		FAIL("extracted tree differs: %s", why);
	hm_tree_free(t);
	hm_blobstore_free(s);
}

/* hallmark's own tar source reads the tarball back to the same tree,
 * the root's metadata included. */
TEST(tar_reads_back_to_the_same_tree)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_entry *root;
	unsigned char d[32];
	struct hm_error err;
	char why[1024];

	CHECK_OK(build_tree(&t, &s, &err), &err);
	root = hm_tree_get_mut(t, "/", 1);
	CHECK(root != NULL);
	root->mode = 0750;
	root->gid = 7;
	CHECK_OK(hm_emit_tar(t, s, MTIME, "rootfs.tar", d, &err), &err);
	if (!target_equals_tree("tar:rootfs.tar", t, why, sizeof(why)))
		FAIL("tar source differs from the tree: %s", why);
	hm_tree_free(t);
	hm_blobstore_free(s);
}

TEST(tar_refuses_what_it_cannot_write)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_entry *e;
	unsigned char d[32];
	struct hm_error err;

	CHECK(mkdir("out", 0755) == 0);
	/* A socket. */
	CHECK_OK(build_tree(&t, &s, &err), &err);
	CHECK_OK(put(t, node("/run/sock", HM_TYPE_SOCKET, 0755, 0, 0), &err), &err);
	CHECK_EQ_INT(hm_emit_tar(t, s, MTIME, "out/rootfs.tar", d, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'/run/sock'") && strstr(err.msg, "socket"));
	CHECK(folder_has_only("out", ""));
	hm_tree_free(t);
	hm_blobstore_free(s);

	/* A blob shorter than the entry says. */
	CHECK_OK(build_tree(&t, &s, &err), &err);
	e = hm_tree_get_mut(t, "/etc/passwd", 11);
	CHECK(e != NULL);
	e->size += 1;
	CHECK_EQ_INT(hm_emit_tar(t, s, MTIME, "out/rootfs.tar", d, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'/etc/passwd'") != NULL);
	CHECK(folder_has_only("out", ""));

	/* A blob whose content does not match the digest. */
	e->size -= 1;
	CHECK_OK(hm_blob_put(s, "root:x:0:0:root:/root:/bin/bash", 31, e->sha256,
			     &err), &err);
	CHECK_EQ_INT(hm_emit_tar(t, s, MTIME, "out/rootfs.tar", d, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'/etc/passwd'") != NULL);

	/* A blob that is not in the store. */
	memset(e->sha256, 0xab, 32);
	CHECK_EQ_INT(hm_emit_tar(t, s, MTIME, "out/rootfs.tar", d, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'/etc/passwd'") && strstr(err.msg, "not in the store"));
	CHECK(folder_has_only("out", ""));

	/* A folder that does not exist. */
	CHECK(hm_emit_tar(t, s, MTIME, "nowhere/rootfs.tar", d, &err) < 0);
	hm_tree_free(t);
	hm_blobstore_free(s);
}

/* ---- OCI image archive ---------------------------------------------------- */

static char a_sh[] = "/bin/sh", a_c[] = "-c", a_echo[] = "echo hello";
static char e_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin", e_lang[] = "LANG=C.UTF-8";
static char l_title[] = "org.opencontainers.image.title", l_vendor[] = "vendor";
static char v_title[] = "minimal", v_vendor[] = "ops";
static char *entry_argv[] = { a_sh, a_c };
static char *cmd_argv[] = { a_echo };
static char *env_v[] = { e_path, e_lang };
static char *label_k[] = { l_title, l_vendor };
static char *label_v[] = { v_title, v_vendor };
static char user_s[] = "1000:1000", wd_s[] = "/srv";

static const struct hm_tpl_config test_config = {
	.entrypoint = entry_argv, .n_entrypoint = 2,
	.cmd = cmd_argv, .n_cmd = 1,
	.env = env_v, .n_env = 2,
	.user = user_s, .workdir = wd_s,
	.label_keys = label_k, .label_values = label_v, .n_labels = 2,
};

/* Tree -> rootfs.tar -> DIR/img.oci.tar. */
static int make_image(const char *dir, struct hm_tree **ret_tree,
		      struct hm_oci_result *res, unsigned char tar_sha[32],
		      struct hm_error *err)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	char tar[256], oci[256];
	int r;

	snprintf(tar, sizeof(tar), "%s/rootfs.tar", dir);
	snprintf(oci, sizeof(oci), "%s/img.oci.tar", dir);
	if (mkdir(dir, 0755) < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "mkdir");
	r = build_tree(&t, &s, err);
	if (r >= 0)
		r = hm_emit_tar(t, s, MTIME, tar, tar_sha, err);
	if (r >= 0)
		r = hm_emit_oci(tar, &test_config, HM_PGZIP_GZIP, "minimal:1", MTIME, oci, res, err);
	hm_blobstore_free(s);
	if (r >= 0 && ret_tree)
		*ret_tree = t;
	else
		hm_tree_free(t);
	return r;
}

static json_t *load_json(const char *path, char **ret_text, size_t *ret_len)
{
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0;
	json_t *j;

	if (read_all(path, &text, &len) < 0)
		return NULL;
	j = json_loadb(text, len, 0, &jerr);
	if (ret_text)
		*ret_text = text;
	else
		free(text);
	if (ret_len)
		*ret_len = len;
	return j;
}

/* The blob file for a "sha256:HEX" digest must hash to HEX and have size. */
static bool blob_ok(const char *layout, const char *digest, json_int_t size)
{
	unsigned char d[32];
	char path[512], hex[65];
	struct stat st;

	if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
		return false;
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, digest + 7);
	if (stat(path, &st) < 0 || st.st_size != size)
		return false;
	file_sha256(path, d);
	hm_hex_encode(d, 32, hex);
	return strcmp(hex, digest + 7) == 0;
}

TEST(oci_is_deterministic)
{
	struct hm_oci_result r1, r2;
	unsigned char t1[32], t2[32], onfile[32];
	char hex[65];
	struct hm_error err;

	CHECK_OK(make_image("a", NULL, &r1, t1, &err), &err);
	setenv("LANG", "C.UTF-8", 1);
	umask(077);
	CHECK_OK(make_image("b", NULL, &r2, t2, &err), &err);
	umask(022);
	CHECK(same_file("a/img.oci.tar", "b/img.oci.tar"));
	CHECK(memcmp(&r1, &r2, sizeof(r1)) == 0);
	file_sha256("a/img.oci.tar", onfile);
	hm_hex_encode(onfile, 32, hex);
	CHECK(strncmp(r1.archive_sha256, "sha256:", 7) == 0);
	CHECK_EQ_STR(r1.archive_sha256 + 7, hex);
	/* The layer's diff_id is the rootfs tarball's digest. */
	hm_hex_encode(t1, 32, hex);
	CHECK_EQ_STR(r1.diff_id + 7, hex);
	/* No temporary layer file left behind. */
	CHECK(folder_has_only("a", "img.oci.tar\nrootfs.tar"));
}

TEST(oci_layout_is_valid)
{
	struct hm_oci_result res;
	unsigned char tsha[32], hdr[10];
	json_t *layout = NULL, *index = NULL, *manifest = NULL, *config = NULL;
	json_t *desc, *cfg;
	char path[512], *list = NULL;
	size_t len;
	struct hm_error err;
	FILE *f;

	CHECK_OK(make_image("img", NULL, &res, tsha, &err), &err);
	/* Member order, names and owners. */
	CHECK_EQ_INT(run("tar --numeric-owner -tvf img/img.oci.tar > list"), 0);
	CHECK_OK(read_all("list", &list, &len), &err);
	CHECK(strncmp(list, "-rw-r--r-- 0/0", 14) == 0);
	CHECK_EQ_INT(run("tar -tf img/img.oci.tar | head -4 | tr '\\n' ' ' | "
			 "grep -qx 'oci-layout index.json blobs/ blobs/sha256/ '"), 0);
	CHECK_EQ_INT(run("tar -tf img/img.oci.tar | tail -n +5 | sort -c"), 0);
	CHECK_EQ_INT(run("test $(tar -tf img/img.oci.tar | wc -l) = 7"), 0);
	free(list);

	CHECK(mkdir("lay", 0755) == 0);
	CHECK_EQ_INT(run("tar -xf img/img.oci.tar -C lay"), 0);
	layout = load_json("lay/oci-layout", NULL, NULL);
	CHECK(layout != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(layout, "imageLayoutVersion")),
		     "1.0.0");

	index = load_json("lay/index.json", NULL, NULL);
	CHECK(index != NULL);
	CHECK_EQ_INT(json_integer_value(json_object_get(index, "schemaVersion")), 2);
	CHECK_EQ_STR(json_string_value(json_object_get(index, "mediaType")), MT_INDEX);
	CHECK_EQ_INT(json_array_size(json_object_get(index, "manifests")), 1);
	desc = json_array_get(json_object_get(index, "manifests"), 0);
	CHECK_EQ_STR(json_string_value(json_object_get(desc, "mediaType")), MT_MANIFEST);
	CHECK_EQ_STR(json_string_value(json_object_get(desc, "digest")),
		     res.manifest_digest);
	CHECK(blob_ok("lay", res.manifest_digest,
		      json_integer_value(json_object_get(desc, "size"))));
	CHECK_EQ_STR(json_string_value(json_object_get(
			     json_object_get(desc, "annotations"),
			     "org.opencontainers.image.ref.name")), "minimal:1");

	snprintf(path, sizeof(path), "lay/blobs/sha256/%s", res.manifest_digest + 7);
	manifest = load_json(path, NULL, NULL);
	CHECK(manifest != NULL);
	CHECK_EQ_INT(json_integer_value(json_object_get(manifest, "schemaVersion")), 2);
	CHECK_EQ_STR(json_string_value(json_object_get(manifest, "mediaType")),
		     MT_MANIFEST);
	desc = json_object_get(manifest, "config");
	CHECK_EQ_STR(json_string_value(json_object_get(desc, "mediaType")), MT_CONFIG);
	CHECK_EQ_STR(json_string_value(json_object_get(desc, "digest")),
		     res.config_digest);
	CHECK(blob_ok("lay", res.config_digest,
		      json_integer_value(json_object_get(desc, "size"))));
	CHECK_EQ_INT(json_array_size(json_object_get(manifest, "layers")), 1);
	desc = json_array_get(json_object_get(manifest, "layers"), 0);
	CHECK_EQ_STR(json_string_value(json_object_get(desc, "mediaType")),
		     MT_LAYER_GZIP);
	CHECK_EQ_STR(json_string_value(json_object_get(desc, "digest")),
		     res.layer_digest);
	CHECK_EQ_INT(json_integer_value(json_object_get(desc, "size")), res.layer_size);
	CHECK(blob_ok("lay", res.layer_digest, (json_int_t)res.layer_size));

	snprintf(path, sizeof(path), "lay/blobs/sha256/%s", res.config_digest + 7);
	config = load_json(path, NULL, NULL);
	CHECK(config != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(config, "architecture")), "amd64");
	CHECK_EQ_STR(json_string_value(json_object_get(config, "os")), "linux");
	CHECK_EQ_STR(json_string_value(json_object_get(config, "created")),
		     "2023-11-14T22:13:20Z");
	CHECK_EQ_STR(json_string_value(json_object_get(
			     json_object_get(config, "rootfs"), "type")), "layers");
	CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(
			     json_object_get(config, "rootfs"), "diff_ids"), 0)),
		     res.diff_id);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(
			     json_object_get(config, "history"), 0), "created")),
		     "2023-11-14T22:13:20Z");
	cfg = json_object_get(config, "config");
	CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(cfg, "Entrypoint"), 1)),
		     "-c");
	CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)),
		     "echo hello");
	CHECK_EQ_INT(json_array_size(json_object_get(cfg, "Env")), 2);
	CHECK_EQ_STR(json_string_value(json_object_get(cfg, "User")), "1000:1000");
	CHECK_EQ_STR(json_string_value(json_object_get(cfg, "WorkingDir")), "/srv");
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(cfg, "Labels"),
						       "vendor")), "ops");

	/* The layer: gzip without a timestamp, decompressing to rootfs.tar. */
	snprintf(path, sizeof(path), "lay/blobs/sha256/%s", res.layer_digest + 7);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	CHECK(fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr));
	fclose(f);
	CHECK(hdr[0] == 0x1f && hdr[1] == 0x8b && hdr[2] == 8);
	CHECK(hdr[4] == 0 && hdr[5] == 0 && hdr[6] == 0 && hdr[7] == 0);
	snprintf(path, sizeof(path), "gzip -dc lay/blobs/sha256/%s | cmp -s - img/rootfs.tar",
		 res.layer_digest + 7);
	CHECK_EQ_INT(run(path), 0);

	json_decref(layout);
	json_decref(index);
	json_decref(manifest);
	json_decref(config);
}

/* hallmark's own OCI source reads the image back to the same tree. */
TEST(oci_reads_back_to_the_same_tree)
{
	struct hm_oci_result res;
	struct hm_tree *t = NULL;
	unsigned char d[32];
	struct hm_error err;
	char why[1024];

	CHECK_OK(make_image("img", &t, &res, d, &err), &err);
	if (!target_equals_tree("oci:img/img.oci.tar", t, why, sizeof(why)))
		FAIL("oci source differs from the tree: %s", why);
	hm_tree_free(t);
}

TEST(oci_minimal_config)
{
	struct hm_oci_result res;
	struct hm_tpl_config empty = { 0 };
	struct hm_error err;
	json_t *config, *cfg;
	char path[512];
	unsigned char d[32];
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;

	CHECK_OK(build_tree(&t, &s, &err), &err);
	CHECK_OK(hm_emit_tar(t, s, MTIME, "rootfs.tar", d, &err), &err);
	CHECK_OK(hm_emit_oci("rootfs.tar", &empty, HM_PGZIP_GZIP, NULL, MTIME, "img.oci.tar",
			     &res, &err), &err);
	CHECK(mkdir("lay", 0755) == 0);
	CHECK_EQ_INT(run("tar -xf img.oci.tar -C lay"), 0);
	CHECK_EQ_INT(run("grep -q annotations lay/index.json"), 256);
	snprintf(path, sizeof(path), "lay/blobs/sha256/%s", res.config_digest + 7);
	config = load_json(path, NULL, NULL);
	CHECK(config != NULL);
	cfg = json_object_get(config, "config");
	CHECK(json_is_object(cfg) && json_object_size(cfg) == 0);
	json_decref(config);
	hm_tree_free(t);
	hm_blobstore_free(s);
}

TEST(oci_errors_leave_nothing)
{
	struct hm_oci_result res;
	struct hm_error err;

	CHECK(mkdir("out", 0755) == 0);
	CHECK_EQ_INT(hm_emit_oci("missing.tar", &test_config, HM_PGZIP_GZIP, "x", MTIME,
				 "out/img.oci.tar", &res, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "'missing.tar'") != NULL);
	CHECK(folder_has_only("out", ""));
	CHECK_EQ_INT(hm_emit_oci("missing.tar", &test_config, HM_PGZIP_GZIP, "bad ref", MTIME,
				 "out/img.oci.tar", &res, &err), HM_ERR_USAGE);
	CHECK_EQ_INT(hm_emit_oci("missing.tar", &test_config, HM_PGZIP_GZIP, "-x", MTIME,
				 "out/img.oci.tar", &res, &err), HM_ERR_USAGE);
	CHECK_EQ_INT(hm_emit_oci("missing.tar", &test_config, HM_PGZIP_GZIP, "a//b", MTIME,
				 "out/img.oci.tar", &res, &err), HM_ERR_USAGE);
	CHECK(folder_has_only("out", ""));
}

TEST(oci_accepted_by_skopeo)
{
	struct hm_oci_result res;
	unsigned char d[32];
	struct hm_error err;

	if (!have_tool("skopeo")) {
		printf("# skipped: skopeo is not installed\n");
		return;
	}
	CHECK_OK(make_image("img", NULL, &res, d, &err), &err);
	CHECK_EQ_INT(run("skopeo inspect oci-archive:img/img.oci.tar > inspect 2>&1"), 0);
	CHECK_EQ_INT(run("skopeo inspect oci-archive:img/img.oci.tar:minimal:1 "
			 ">/dev/null 2>&1"), 0);
	CHECK_EQ_INT(run("grep -q '\"Architecture\": \"amd64\"' inspect"), 0);
	CHECK_EQ_INT(run("grep -q '\"vendor\": \"ops\"' inspect"), 0);
}

TEST(oci_unpacked_by_umoci)
{
	struct hm_oci_result res;
	struct hm_tree *t = NULL;
	unsigned char d[32];
	struct hm_error err;
	char why[1024];

	if (!have_tool("umoci") || geteuid() != 0) {
		printf("# skipped: needs umoci and root\n");
		return;
	}
	CHECK_OK(make_image("img", &t, &res, d, &err), &err);
	CHECK(mkdir("layout", 0755) == 0);
	CHECK_EQ_INT(run("tar -xf img/img.oci.tar -C layout"), 0);
	CHECK_EQ_INT(run("umoci unpack --image layout:minimal:1 bundle "
			 "> umoci.log 2>&1"), 0);
	if (!target_equals_tree("dir:bundle/rootfs", t, why, sizeof(why)))
		FAIL("umoci's rootfs differs from the tree: %s", why);
	hm_tree_free(t);
}
