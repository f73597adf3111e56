/*
 * Unit tests: the builder's blob store (builder/blobstore.c).
 *
 * Unity build: the builder's objects are not in libhallmark.a, which is
 * all that the Makefile links unit tests with, so the module under test
 * is compiled into this file directly.
 */
#include "../../builder/blobstore.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"

#include "harness.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------ */

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

/* Regular files below dir (-1 if it cannot be walked). */
static int count_files(const char *dir)
{
	n_files = 0;
	if (nftw(dir, count_cb, 16, FTW_PHYS) != 0)
		return -1;
	return n_files;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int r;

	if (fd < 0)
		return -1;
	r = hm_write_all(fd, data, len);
	close(fd);
	return r;
}

/* The hex digest of a file according to coreutils' sha256sum. */
static int sha256sum_of(const char *path, char hex[65])
{
	char cmd[512], *out = NULL;
	size_t len;
	int r;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s' > sum.out", path);
	if (system(cmd) != 0)
		return -1;
	r = hm_read_file("sum.out", 4096, &out, &len, NULL);
	if (r < 0 || len < 64) {
		free(out);
		return -1;
	}
	memcpy(hex, out, 64);
	hex[64] = '\0';
	free(out);
	return 0;
}

/* ---- tests -------------------------------------------------------------- */

TEST(put_read_round_trip)
{
	static const char data[] = "root:x:0:0:root:/root:/bin/bash\n";
	struct hm_blobstore *s = NULL;
	struct hm_error err = { 0 };
	unsigned char md[32], want[32];
	char hex[65], path[256], *got = NULL;
	size_t len = 0;
	struct stat st;

	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_blob_put(s, data, sizeof(data) - 1, md, &err), &err);
	hm_hash_buf(HM_HASH_SHA256, data, sizeof(data) - 1, want);
	CHECK(memcmp(md, want, 32) == 0);

	hm_hex_encode(md, 32, hex);
	snprintf(path, sizeof(path), "store/sha256/%.2s/%s", hex, hex);
	CHECK(lstat(path, &st) == 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 07777, 0444);
	CHECK_EQ_INT(st.st_size, sizeof(data) - 1);

	CHECK_OK(hm_blob_read(s, md, 1024, &got, &len, &err), &err);
	CHECK_EQ_INT(len, sizeof(data) - 1);
	CHECK(memcmp(got, data, len) == 0);
	CHECK(got[len] == '\0');
	free(got);
	CHECK_EQ_INT(count_files("store/tmp"), 0);
	hm_blobstore_free(s);
}

TEST(name_matches_sha256sum)
{
	struct hm_blobstore *s = NULL;
	struct hm_error err = { 0 };
	unsigned char md[32];
	char hex[65], want[65], path[256];
	unsigned char *big;
	size_t i, n = 3 * 1024 * 1024 + 17;

	big = malloc(n);
	CHECK(big != NULL);
	for (i = 0; i < n; i++)
		big[i] = (unsigned char)(i * 2654435761u >> 24);
	CHECK(write_file("input.bin", big, n) == 0);
	CHECK(sha256sum_of("input.bin", want) == 0);

	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_blob_put(s, big, n, md, &err), &err);
	free(big);
	hm_hex_encode(md, 32, hex);
	CHECK_EQ_STR(hex, want);
	/* The file at the name hashes to the name. */
	snprintf(path, sizeof(path), "store/sha256/%.2s/%s", want, want);
	CHECK(sha256sum_of(path, hex) == 0);
	CHECK_EQ_STR(hex, want);
	hm_blobstore_free(s);
}

TEST(streamed_in_chunks)
{
	struct hm_blobstore *s = NULL;
	struct hm_blob_writer *w = NULL;
	struct hm_error err = { 0 };
	unsigned char md[32], want[32];
	char *got = NULL;
	uint64_t size = 0;
	size_t len = 0;

	CHECK_OK(hm_blobstore_open("a/b/store", &s, &err), &err);
	CHECK_OK(hm_blob_begin(s, &w, &err), &err);
	CHECK_OK(hm_blob_write(w, "hello, ", 7, &err), &err);
	CHECK_OK(hm_blob_write(w, "", 0, &err), &err);
	CHECK_OK(hm_blob_write(w, "world\n", 6, &err), &err);
	CHECK_OK(hm_blob_commit(w, md, &size, &err), &err);
	CHECK_EQ_INT(size, 13);
	hm_hash_buf(HM_HASH_SHA256, "hello, world\n", 13, want);
	CHECK(memcmp(md, want, 32) == 0);
	CHECK_OK(hm_blob_read(s, md, 13, &got, &len, &err), &err);
	CHECK_EQ_STR(got, "hello, world\n");
	free(got);
	hm_blobstore_free(s);
}

TEST(identical_blob_twice)
{
	struct hm_blobstore *s = NULL;
	struct hm_error err = { 0 };
	unsigned char md1[32], md2[32];
	char hex[65], path[256];
	struct stat st1, st2;

	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_blob_put(s, "same\n", 5, md1, &err), &err);
	hm_hex_encode(md1, 32, hex);
	snprintf(path, sizeof(path), "store/sha256/%.2s/%s", hex, hex);
	CHECK(lstat(path, &st1) == 0);
	CHECK_OK(hm_blob_put(s, "same\n", 5, md2, &err), &err);
	CHECK(memcmp(md1, md2, 32) == 0);
	CHECK(lstat(path, &st2) == 0);
	/* The first copy was kept and the second dropped. */
	CHECK_EQ_INT(st1.st_ino, st2.st_ino);
	CHECK_EQ_INT(count_files("store/sha256"), 1);
	CHECK_EQ_INT(count_files("store/tmp"), 0);
	hm_blobstore_free(s);

	/* Reopening an existing store works and finds the blob. */
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_blob_put(s, "other\n", 6, md2, &err), &err);
	CHECK_EQ_INT(count_files("store/sha256"), 2);
	hm_blobstore_free(s);
}

TEST(abort_leaves_nothing)
{
	struct hm_blobstore *s = NULL;
	struct hm_blob_writer *w = NULL;
	struct hm_error err = { 0 };

	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_blob_begin(s, &w, &err), &err);
	CHECK_OK(hm_blob_write(w, "partial", 7, &err), &err);
	CHECK_EQ_INT(count_files("store/tmp"), 1);
	hm_blob_abort(w);
	hm_blob_abort(NULL);
	CHECK_EQ_INT(count_files("store/tmp"), 0);
	CHECK_EQ_INT(count_files("store/sha256"), 0);
	hm_blobstore_free(s);
	hm_blobstore_free(NULL);
}

TEST(empty_blob)
{
	struct hm_blobstore *s = NULL;
	struct hm_error err = { 0 };
	unsigned char md[32];
	char hex[65], *got = NULL;
	size_t len = 99;

	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_blob_put(s, "", 0, md, &err), &err);
	hm_hex_encode(md, 32, hex);
	CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_OK(hm_blob_read(s, md, 0, &got, &len, &err), &err);
	CHECK_EQ_INT(len, 0);
	CHECK_EQ_STR(got, "");
	free(got);
	hm_blobstore_free(s);
}

TEST(missing_blob)
{
	struct hm_blobstore *s = NULL;
	struct hm_error err = { 0 };
	unsigned char md[32];
	char *got = NULL;
	size_t len;
	int fd = -1;

	memset(md, 0xab, sizeof(md));
	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_EQ_INT(hm_blob_open(s, md, &fd, &err), HM_ERR_INPUT);
	CHECK_EQ_INT(fd, -1);
	CHECK(strstr(err.msg, "sha256:abababab") != NULL);
	CHECK(strstr(err.msg, "not in the store") != NULL);
	CHECK_EQ_INT(hm_blob_read(s, md, 100, &got, &len, &err), HM_ERR_INPUT);
	CHECK(got == NULL);
	hm_blobstore_free(s);
}

TEST(read_limit_and_corruption)
{
	struct hm_blobstore *s = NULL;
	struct hm_error err = { 0 };
	unsigned char md[32];
	char hex[65], path[256], *got = NULL;
	size_t len;
	int fd = -1;

	CHECK_OK(hm_blobstore_open("store", &s, &err), &err);
	CHECK_OK(hm_blob_put(s, "0123456789", 10, md, &err), &err);
	CHECK_EQ_INT(hm_blob_read(s, md, 9, &got, &len, &err), HM_ERR_LIMIT);
	CHECK(got == NULL);

	/* hm_blob_open checks nothing but existence... */
	hm_hex_encode(md, 32, hex);
	snprintf(path, sizeof(path), "store/sha256/%.2s/%s", hex, hex);
	CHECK(chmod(path, 0644) == 0);
	CHECK(write_file(path, "0123456780", 10) == 0);
	CHECK_OK(hm_blob_open(s, md, &fd, &err), &err);
	CHECK(fd >= 0);
	close(fd);
	/* ...but a whole read does not pass a damaged blob off as real. */
	CHECK_EQ_INT(hm_blob_read(s, md, 100, &got, &len, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "corrupt") != NULL);
	CHECK(got == NULL);
	hm_blobstore_free(s);
}

TEST(store_on_a_file_refused)
{
	struct hm_blobstore *s = NULL;
	struct hm_error err = { 0 };

	CHECK(write_file("plain", "x", 1) == 0);
	CHECK_EQ_INT(hm_blobstore_open("plain", &s, &err), HM_ERR_IO);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "'plain'") != NULL);
	CHECK_EQ_INT(hm_blobstore_open("", &s, &err), HM_ERR_USAGE);
}
