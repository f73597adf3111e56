/*
 * Unit tests: bases (builder/base.c) over the blob store.
 *
 * Linked from libhallmark-builder.a; the cache-key function and the
 * content sink, internal to base.c, come from builder/base_private.h.
 *
 * Tar fixtures are made here with GNU tar; members GNU tar will not write
 * (".." names, hard links to nowhere, devices without root) with Python's
 * tarfile.  mmdebstrap itself is never run: a fake one on PATH stands in,
 * so the cache logic is tested without a network or two minutes per run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../../builder/base.h"
#include "../../builder/base_private.h"
#include "../../builder/blobstore.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/tree.h"

#include "harness.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------ */

static int write_file(const char *path, const void *data, size_t len,
		      unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	int r;

	if (fd < 0)
		return -1;
	r = hm_write_all(fd, data, len);
	close(fd);
	return r;
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A Python script (one line per element) run with python3. */
static int python(const char *script)
{
	if (write_file("mk.py", script, strlen(script), 0644) < 0)
		return -1;
	return run("python3 mk.py");
}

static int n_files;

static int count_cb(const char *path, const struct stat *st, int flag,
		    struct FTW *f)
{
	(void)path;
	(void)st;
	(void)f;
	if (flag == FTW_F)
		n_files++;
	return 0;
}

/* Regular files below dir, -1 if it cannot be walked. */
static int count_files(const char *dir)
{
	n_files = 0;
	if (nftw(dir, count_cb, 16, FTW_PHYS) != 0)
		return -1;
	return n_files;
}

/* Entries in the folder dir (not recursive), "." and ".." excluded. */
static int count_names(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* The blob of a tree's file equals the bytes of a file on disk. */
static int blob_equals_file(struct hm_blobstore *s, const struct hm_entry *e,
			    const char *file)
{
	char *want = NULL, *got = NULL;
	size_t wlen = 0, glen = 0;
	int ok;

	if (!e || e->type != HM_TYPE_FILE || !(e->flags & HM_ENTRY_HAS_DIGEST))
		return 0;
	if (hm_read_file(file, 1 << 24, &want, &wlen, NULL) < 0)
		return 0;
	ok = hm_blob_read(s, e->sha256, 1 << 24, &got, &glen, NULL) == 0 &&
	     glen == wlen && e->size == wlen && memcmp(got, want, wlen) == 0;
	free(want);
	free(got);
	return ok;
}

static const struct hm_entry *get(const struct hm_tree *t, const char *path)
{
	return hm_tree_get(t, path, strlen(path));
}

/* A small root in ./root and its tar in ./name. */
static int make_root_tar(const char *name, const char *flags)
{
	char cmd[512];
	static char big[200000];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 23);
	if (run("mkdir -p root/etc root/usr/bin root/var/empty root/private") != 0 ||
	    write_file("root/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 30, 0644) < 0 ||
	    write_file("root/etc/empty", "", 0, 0600) < 0 ||
	    write_file("root/usr/bin/tool", big, sizeof(big), 0755) < 0 ||
	    write_file("root/usr/bin/same", "root:x:0:0:root:/root:/bin/sh\n", 30, 0644) < 0 ||
	    run("chmod 0700 root/private && ln -sf /etc/passwd root/etc/link && "
		"ln -f root/usr/bin/tool root/usr/bin/tool2") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "tar --numeric-owner --owner=0 --group=0 %s -C root -cf %s .",
		 flags, name);
	return run(cmd);
}

/* ---- tar import --------------------------------------------------------- */

static void check_root_tree(const char *tarname)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };
	const struct hm_entry *e, *e2;

	CHECK(make_root_tar(tarname, strstr(tarname, ".gz") ? "-z" : "") == 0);
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_base_import_tar(tarname, s, &t, &err), &err);

	/* /, etc, etc/{passwd,empty,link}, usr, usr/bin/{tool,tool2,same},
	 * var, var/empty, private */
	CHECK_EQ_INT(hm_tree_count(t), 13);
	CHECK((e = get(t, "/etc/passwd")) != NULL);
	CHECK_EQ_INT(e->mode, 0644);
	CHECK_EQ_INT(e->uid, 0);
	CHECK(blob_equals_file(s, e, "root/etc/passwd"));
	CHECK(blob_equals_file(s, get(t, "/etc/empty"), "root/etc/empty"));
	CHECK(blob_equals_file(s, e = get(t, "/usr/bin/tool"), "root/usr/bin/tool"));
	CHECK_EQ_INT(e->mode, 0755);
	/* The hard link is an independent file with the same blob. */
	CHECK((e2 = get(t, "/usr/bin/tool2")) != NULL);
	CHECK_EQ_INT(e2->type, HM_TYPE_FILE);
	CHECK(memcmp(e2->sha256, e->sha256, 32) == 0);
	CHECK(blob_equals_file(s, e2, "root/usr/bin/tool"));
	CHECK((e = get(t, "/etc/link")) != NULL);
	CHECK_EQ_INT(e->type, HM_TYPE_SYMLINK);
	CHECK_EQ_STR(e->target, "/etc/passwd");
	CHECK((e = get(t, "/private")) != NULL);
	CHECK_EQ_INT(e->type, HM_TYPE_DIR);
	CHECK_EQ_INT(e->mode, 0700);
	/* Contents by digest: passwd and same share one blob, and the empty
	 * file has one: 3 blobs, nothing left in tmp/. */
	CHECK_EQ_INT(count_files("store/sha256"), 3);
	CHECK_EQ_INT(count_files("store/tmp"), 0);
	hm_tree_free(t);
	hm_blobstore_free(s);
}

TEST(import_plain_tar)
{
	check_root_tree("base.tar");
}

TEST(import_gzip_tar)
{
	check_root_tree("base.tar.gz");
}

TEST(import_keeps_devices)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };
	const struct hm_entry *e;

	CHECK(python("import tarfile\n"
		     "with tarfile.open('dev.tar', 'w', format=tarfile.GNU_FORMAT) as tf:\n"
		     "    for name, typ, maj, mnr in (('dev/null', tarfile.CHRTYPE, 1, 3),\n"
		     "                                ('dev/sda', tarfile.BLKTYPE, 8, 0),\n"
		     "                                ('run/fifo', tarfile.FIFOTYPE, 0, 0)):\n"
		     "        ti = tarfile.TarInfo(name)\n"
		     "        ti.type = typ; ti.devmajor = maj; ti.devminor = mnr; ti.mode = 0o666\n"
		     "        tf.addfile(ti)\n") == 0);
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_base_import_tar("dev.tar", s, &t, &err), &err);
	CHECK((e = get(t, "/dev/null")) != NULL);
	CHECK_EQ_INT(e->type, HM_TYPE_CHAR);
	CHECK_EQ_INT(e->rdev_major, 1);
	CHECK_EQ_INT(e->rdev_minor, 3);
	CHECK((e = get(t, "/dev/sda")) != NULL);
	CHECK_EQ_INT(e->type, HM_TYPE_BLOCK);
	CHECK_EQ_INT(e->rdev_major, 8);
	CHECK((e = get(t, "/run/fifo")) != NULL);
	CHECK_EQ_INT(e->type, HM_TYPE_FIFO);
	CHECK_EQ_INT(count_files("store/sha256"), 0);
	hm_tree_free(t);
	hm_blobstore_free(s);
}

/* Import a hostile tar: must fail with code, naming the member, leaving
 * no tree and nothing in the store's tmp/. */
static void check_refused(const char *tarname, int code, const char *member)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };

	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_EQ_INT(hm_base_import_tar(tarname, s, &t, &err), code);
	CHECK(t == NULL);
	if (!strstr(err.msg, member))
		FAIL("message '%s' does not name '%s'", err.msg, member);
	if (!strstr(err.msg, tarname))
		FAIL("message '%s' does not name '%s'", err.msg, tarname);
	CHECK_EQ_INT(count_files("store/tmp"), 0);
	hm_blobstore_free(s);
}

TEST(dotdot_member_refused)
{
	CHECK(python("import io, tarfile\n"
		     "with tarfile.open('evil.tar', 'w') as tf:\n"
		     "    ti = tarfile.TarInfo('etc/../../escape'); ti.size = 3\n"
		     "    tf.addfile(ti, io.BytesIO(b'bad'))\n") == 0);
	check_refused("evil.tar", HM_ERR_INPUT, "../escape");
}

TEST(duplicate_member_refused)
{
	CHECK(run("mkdir d1 d2 && echo one > d1/x && echo two > d2/x && "
		  "tar -cf dup.tar -C d1 x && tar -rf dup.tar -C d2 x") == 0);
	check_refused("dup.tar", HM_ERR_INPUT, "duplicate entry '/x'");
}

TEST(hardlink_outside_refused)
{
	CHECK(python("import tarfile\n"
		     "with tarfile.open('link.tar', 'w') as tf:\n"
		     "    ti = tarfile.TarInfo('etc/shadow'); ti.type = tarfile.LNKTYPE\n"
		     "    ti.linkname = '../../etc/shadow'\n"
		     "    tf.addfile(ti)\n") == 0);
	check_refused("link.tar", HM_ERR_INPUT, "../../etc/shadow");
}

TEST(hardlink_to_itself_refused)
{
	CHECK(python("import tarfile\n"
		     "with tarfile.open('self.tar', 'w') as tf:\n"
		     "    ti = tarfile.TarInfo('a'); ti.type = tarfile.LNKTYPE\n"
		     "    ti.linkname = 'a'\n"
		     "    tf.addfile(ti)\n") == 0);
	check_refused("self.tar", HM_ERR_INPUT, "'/a'");
}

TEST(truncated_stream_refused)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };

	CHECK(make_root_tar("full.tar", "") == 0);
	/* Cut inside the 200 kB file's data. */
	CHECK(run("head -c 60000 full.tar > cut.tar") == 0);
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK(hm_base_import_tar("cut.tar", s, &t, &err) < 0);
	CHECK(t == NULL);
	CHECK(strstr(err.msg, "cut.tar") != NULL);
	/* The file cut short was not stored, under any name. */
	CHECK_EQ_INT(count_files("store/tmp"), 0);
	hm_blobstore_free(s);
}

TEST(missing_tar_refused)
{
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };

	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_EQ_INT(hm_base_import_tar("nope.tar", s, &t, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "'nope.tar'") != NULL);
	hm_blobstore_free(s);
}

/* The sink checks that what it stored is what the source says it read. */
TEST(sink_refuses_digest_mismatch)
{
	struct hm_blobstore *s = NULL;
	struct hm_base_sink sink;
	struct hm_entry *e = hm_entry_new();
	struct hm_error err = { 0 };

	CHECK(e != NULL);
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	memset(&sink, 0, sizeof(sink));
	sink.store = s;
	sink.limit = 1 << 20;
	hm_entry_set_path(e, "/etc/x", 6);
	e->type = HM_TYPE_FILE;
	e->flags = HM_ENTRY_HAS_DIGEST;
	e->size = 5;
	hm_hash_buf(HM_HASH_SHA256, "hello", 5, e->sha256);

	CHECK_OK(hm_base_sink_begin(&sink, e, &err), &err);
	CHECK_OK(hm_base_sink_data(&sink, "hello", 5, &err), &err);
	CHECK_OK(hm_base_sink_end(&sink, e, &err), &err);
	CHECK(sink.w == NULL);

	CHECK_OK(hm_base_sink_begin(&sink, e, &err), &err);
	CHECK_OK(hm_base_sink_data(&sink, "jello", 5, &err), &err);
	CHECK_EQ_INT(hm_base_sink_end(&sink, e, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "'/etc/x'") != NULL);
	CHECK(sink.w == NULL);
	CHECK_EQ_INT(hm_base_sink_data(&sink, "x", 1, &err), HM_ERR_IO);
	hm_entry_free(e);
	hm_blobstore_free(s);
}

/* ---- dispatch and pins -------------------------------------------------- */

TEST(tarball_pin)
{
	struct hm_template tpl;
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };
	unsigned char md[32];
	char hex[65], *data = NULL;
	size_t len;
	int hit = 7;

	CHECK(make_root_tar("base.tar", "") == 0);
	CHECK(hm_read_file("base.tar", 1 << 24, &data, &len, NULL) == 0);
	hm_hash_buf(HM_HASH_SHA256, data, len, md);
	free(data);
	hm_hex_encode(md, 32, hex);

	memset(&tpl, 0, sizeof(tpl));
	tpl.base.kind = HM_BASE_TARBALL;
	tpl.base.path = (char *)"base.tar";
	memcpy(tpl.base.sha256, hex, 65);
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_base_load(&tpl, "cache", s, &t, &hit, NULL, &err), &err);
	CHECK_EQ_INT(hit, 0);
	CHECK(get(t, "/etc/passwd") != NULL);
	hm_tree_free(t);
	t = NULL;

	/* No pin: imported as well. */
	tpl.base.sha256[0] = '\0';
	CHECK_OK(hm_base_load(&tpl, "cache", s, &t, NULL, NULL, &err), &err);
	hm_tree_free(t);
	t = NULL;

	/* A wrong pin: refused, saying both digests. */
	memcpy(tpl.base.sha256, hex, 65);
	tpl.base.sha256[0] = hex[0] == '0' ? '1' : '0';
	CHECK_EQ_INT(hm_base_load(&tpl, "cache", s, &t, NULL, NULL, &err), HM_ERR_INPUT);
	CHECK(t == NULL);
	CHECK(strstr(err.msg, "base 'base.tar' has sha256 ") != NULL);
	CHECK(strstr(err.msg, hex) != NULL);
	CHECK(strstr(err.msg, tpl.base.sha256) != NULL);
	hm_blobstore_free(s);
}

TEST(oci_base_missing_file)
{
	struct hm_template tpl;
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };

	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	memset(&tpl, 0, sizeof(tpl));
	tpl.base.kind = HM_BASE_OCI;
	tpl.base.path = (char *)"image.tar";
	CHECK(hm_base_load(&tpl, "cache", s, &t, NULL, NULL, &err) < 0);
	CHECK(strstr(err.msg, "image.tar") != NULL);
	CHECK(t == NULL);
	hm_blobstore_free(s);
}

/* ---- Debian bases ------------------------------------------------------- */

static char *pkgs_ab[] = { (char *)"openssh-server", (char *)"systemd" };

static struct hm_tpl_base debian_base(void)
{
	struct hm_tpl_base b;

	memset(&b, 0, sizeof(b));
	b.kind = HM_BASE_DEBIAN;
	b.suite = (char *)"bookworm";
	b.packages = pkgs_ab;
	b.n_packages = 2;
	return b;
}

static void key_of(const struct hm_tpl_base *b, const char *version,
		   char key[65])
{
	struct hm_buf text = HM_BUF_INIT;

	if (hm_base_debian_cache_key(b, version, &text, key, NULL) < 0)
		key[0] = '\0';
	hm_buf_free(&text);
}

TEST(debian_cache_key_text)
{
	struct hm_tpl_base b = debian_base();
	struct hm_buf text = HM_BUF_INIT, want = HM_BUF_INIT;
	struct utsname u;
	unsigned char md[32];
	char key[65], hex[65];
	struct hm_error err = { 0 };

	CHECK(uname(&u) == 0);
	CHECK_OK(hm_base_debian_cache_key(&b, "mmdebstrap 1.3.5", &text, key, &err), &err);
	hm_buf_addf(&want,
		    "mmdebstrap\nsuite=bookworm\nvariant=minbase\n"
		    "packages=openssh-server,systemd\nmirror=\n"
		    "version=mmdebstrap 1.3.5\nmachine=%s\n"
		    "hook=--customize-hook=rm -f \"$1/etc/resolv.conf\" \"$1/etc/hostname\"\n",
		    u.machine);
	CHECK_EQ_STR(text.data, want.data);
	hm_hash_buf(HM_HASH_SHA256, want.data, want.len, md);
	hm_hex_encode(md, 32, hex);
	CHECK_EQ_STR(key, hex);
	hm_buf_free(&text);
	hm_buf_free(&want);
}

TEST(debian_cache_key_changes_with_every_input)
{
	struct hm_tpl_base b = debian_base();
	char base[65], k[65];
	char *one[] = { (char *)"systemd" };

	key_of(&b, "mmdebstrap 1.3.5", base);
	CHECK(strlen(base) == 64);
	key_of(&b, "mmdebstrap 1.3.5", k);
	CHECK_EQ_STR(k, base);
	/* variant unset means minbase */
	b.variant = (char *)"minbase";
	key_of(&b, "mmdebstrap 1.3.5", k);
	CHECK_EQ_STR(k, base);

	b.variant = (char *)"essential";
	key_of(&b, "mmdebstrap 1.3.5", k);
	CHECK(strcmp(k, base) != 0);
	b = debian_base();
	b.suite = (char *)"trixie";
	key_of(&b, "mmdebstrap 1.3.5", k);
	CHECK(strcmp(k, base) != 0);
	b = debian_base();
	b.packages = one;
	b.n_packages = 1;
	key_of(&b, "mmdebstrap 1.3.5", k);
	CHECK(strcmp(k, base) != 0);
	b = debian_base();
	b.mirror = (char *)"http://deb.debian.org/debian";
	key_of(&b, "mmdebstrap 1.3.5", k);
	CHECK(strcmp(k, base) != 0);
	b = debian_base();
	key_of(&b, "mmdebstrap 1.3.6", k);
	CHECK(strcmp(k, base) != 0);
}

TEST(debian_bad_inputs_refused)
{
	struct hm_tpl_base b = debian_base();
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };
	char *bad[] = { (char *)"a,b" };

	b.suite = (char *)"--help";
	CHECK_EQ_INT(hm_base_debian(&b, "cache", NULL, &t, NULL, NULL, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "suite '--help'") != NULL);
	b = debian_base();
	b.packages = bad;
	b.n_packages = 1;
	CHECK_EQ_INT(hm_base_debian(&b, "cache", NULL, &t, NULL, NULL, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "package 'a,b'") != NULL);
	b = debian_base();
	b.mirror = (char *)"http://x\nsuite=y";
	CHECK_EQ_INT(hm_base_debian(&b, "cache", NULL, &t, NULL, NULL, &err), HM_ERR_INPUT);
	CHECK(t == NULL);
}

#define FAKE_VERSION "mmdebstrap 0.0-fake"

/*
 * A fake mmdebstrap in ./fakebin: prints FAKE_VERSION for --version;
 * otherwise records its arguments and SOURCE_DATE_EPOCH in ./args, counts
 * runs in ./runs, exits $FAKE_FAIL if set (after lines on stdout and
 * stderr, two of them errors, and a partial output), else writes a tar of ./root to
 * the output argument (the second after "--").
 */
static int make_fake_mmdebstrap(void)
{
	static const char script[] =
		"#!/bin/sh\n"
		"if [ \"$1\" = --version ]; then echo '" FAKE_VERSION "'; echo more; exit 0; fi\n"
		"echo run >> \"$FAKE_DIR/runs\"\n"
		"printf '%s\\n' \"$@\" > \"$FAKE_DIR/args\"\n"
		"echo \"SDE=$SOURCE_DATE_EPOCH\" >> \"$FAKE_DIR/args\"\n"
		"while [ \"$1\" != -- ]; do shift; done\n"
		"if [ -n \"$FAKE_FAIL\" ]; then echo 'I: downloading packages'; echo 'E: Unable to locate package ca-certificats' >&2;\n"
		"  echo 'I: a later line'; echo 'E: apt-get failed' >&2; echo partial > \"$3\"; exit \"$FAKE_FAIL\"; fi\n"
		"exec tar --numeric-owner --owner=0 --group=0 -cf \"$3\" -C \"$FAKE_DIR/root\" .\n";
	char cwd[4096];

	if (!getcwd(cwd, sizeof(cwd)) || setenv("FAKE_DIR", cwd, 1) < 0)
		return -1;
	unsetenv("FAKE_FAIL");
	if (run("mkdir -p fakebin root/etc && echo hello > root/etc/motd") != 0)
		return -1;
	return write_file("fakebin/mmdebstrap", script, sizeof(script) - 1, 0755);
}

/* Call hm_base_debian with PATH starting at ./fakebin (or being only
 * ./fakebin with only_fake), restoring PATH before returning. */
static int debian_with_fake(const struct hm_tpl_base *b, bool only_fake,
			    struct hm_blobstore *s, struct hm_tree **t, int *hit,
			    struct hm_error *err)
{
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	char cwd[2048], path[8192];
	int r;

	if (!old || !getcwd(cwd, sizeof(cwd))) {
		free(old);
		return -100;
	}
	snprintf(path, sizeof(path), "%s/fakebin%s%s", cwd, only_fake ? "" : ":",
		 only_fake ? "" : old);
	setenv("PATH", path, 1);
	r = hm_base_debian(b, "cache", s, t, hit, NULL, err);
	setenv("PATH", old, 1);
	free(old);
	return r;
}

TEST(debian_cache_hit_does_not_run_mmdebstrap)
{
	struct hm_tpl_base b = debian_base();
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };
	char key[65], cmd[512];
	int hit = -1;

	CHECK(make_fake_mmdebstrap() == 0);
	key_of(&b, FAKE_VERSION, key);
	CHECK(key[0]);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p cache && tar -cf cache/debian-%s.tar -C root .", key);
	CHECK(run(cmd) == 0);
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(debian_with_fake(&b, false, s, &t, &hit, &err), &err);
	CHECK_EQ_INT(hit, 1);
	CHECK(blob_equals_file(s, get(t, "/etc/motd"), "root/etc/motd"));
	CHECK(access("runs", F_OK) != 0);   /* never asked to build */
	hm_tree_free(t);
	hm_blobstore_free(s);
}

TEST(debian_cache_miss_builds_then_hits)
{
	struct hm_tpl_base b = debian_base();
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };
	struct hm_buf text = HM_BUF_INIT;
	static const char want_args[] =
		"--variant=minbase\n--include=openssh-server,systemd\n"
		"--customize-hook=rm -f \"$1/etc/resolv.conf\" \"$1/etc/hostname\"\n"
		"--\nbookworm\n";
	char key[65], path[512], *got = NULL;
	size_t len;
	int hit = -1;

	b.mirror = (char *)"http://mirror.example/debian";
	CHECK(make_fake_mmdebstrap() == 0);
	CHECK(setenv("SOURCE_DATE_EPOCH", "1700000000", 1) == 0);
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(debian_with_fake(&b, false, s, &t, &hit, &err), &err);
	unsetenv("SOURCE_DATE_EPOCH");
	CHECK_EQ_INT(hit, 0);
	CHECK(blob_equals_file(s, get(t, "/etc/motd"), "root/etc/motd"));
	hm_tree_free(t);
	t = NULL;

	/* mmdebstrap's command line, exactly. */
	CHECK(hm_read_file("args", 4096, &got, &len, NULL) == 0);
	if (strncmp(got, want_args, strlen(want_args)) != 0 ||
	    !strstr(got, "/base.tar\nhttp://mirror.example/debian\nSDE=1700000000\n"))
		FAIL("unexpected arguments:\n%s", got);
	free(got);

	/* The cache: the tar and its inputs under the key, no leftovers. */
	CHECK_OK(hm_base_debian_cache_key(&b, FAKE_VERSION, &text, key, &err), &err);
	snprintf(path, sizeof(path), "cache/debian-%s.tar", key);
	CHECK(access(path, F_OK) == 0);
	snprintf(path, sizeof(path), "cache/debian-%s.inputs", key);
	CHECK(hm_read_file(path, 4096, &got, &len, NULL) == 0);
	CHECK_EQ_STR(got, text.data);
	free(got);
	hm_buf_free(&text);
	CHECK_EQ_INT(count_names("cache"), 2);

	/* Second time: from the cache, mmdebstrap not run again. */
	CHECK_OK(debian_with_fake(&b, false, s, &t, &hit, &err), &err);
	CHECK_EQ_INT(hit, 1);
	CHECK(get(t, "/etc/motd") != NULL);
	CHECK(hm_read_file("runs", 4096, &got, &len, NULL) == 0);
	CHECK_EQ_STR(got, "run\n");
	free(got);
	hm_tree_free(t);
	hm_blobstore_free(s);
}

TEST(debian_mmdebstrap_failure)
{
	struct hm_tpl_base b = debian_base();
	struct hm_blobstore *s = NULL;
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };
	int hit = -1;

	CHECK(make_fake_mmdebstrap() == 0);
	CHECK(setenv("FAKE_FAIL", "3", 1) == 0);
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_EQ_INT(debian_with_fake(&b, false, s, &t, &hit, &err), HM_ERR_IO);
	unsetenv("FAKE_FAIL");
	/* What it said on stderr, its error lines only, in its order. */
	CHECK_EQ_STR(err.msg, "mmdebstrap failed (exit 3):\n"
		     "  E: Unable to locate package ca-certificats\n"
		     "  E: apt-get failed");
	CHECK(t == NULL);
	CHECK_EQ_INT(hit, -1);
	/* The cache as it was: no inputs text, no tar, no temporary folder. */
	CHECK_EQ_INT(count_names("cache"), 0);
	hm_blobstore_free(s);
}

TEST(debian_without_mmdebstrap)
{
	struct hm_tpl_base b = debian_base();
	struct hm_tree *t = NULL;
	struct hm_error err = { 0 };

	CHECK(run("mkdir fakebin") == 0);
	CHECK_EQ_INT(debian_with_fake(&b, true, NULL, &t, NULL, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "debian bases need mmdebstrap") != NULL);
	CHECK(strstr(err.msg, "'mmdebstrap'") != NULL);
	CHECK(t == NULL);
}
