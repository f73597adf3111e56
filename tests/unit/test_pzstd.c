/* Unit tests: zstd layers in independent frames (lib/pgzip.c, the zstd
 * codec of its pool): written the same whatever the thread count, read
 * back on every core, truncated and corrupt frames refused. */
#include "harness.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <zstd.h>

#include "hallmark/digest.h"
#include "hallmark/pgzip.h"
#include "codec_input.h"

/* A file holding exactly the len bytes at p. */
static void write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0 && write(fd, p, len) == (ssize_t)len);
	close(fd);
}

/* The compressed stream from memory, in pieces of whatever size asked. */
struct mem {
	const unsigned char *p;
	size_t len, pos;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
	struct mem *m = ctx;

	if (len > m->len - m->pos)
		len = m->len - m->pos;
	memcpy(buf, m->p + m->pos, len);
	m->pos += len;
	return (ssize_t)len;
}

/* hallmark's parallel reader over z (zlen bytes): 0 with the data in
 * *out, or -1 with the reason in why. */
static int zread_all(const unsigned char *z, size_t zlen, unsigned threads,
		     unsigned char **out, size_t *out_len, char *why, size_t why_len)
{
	struct mem m = { z, zlen, 0 };
	struct hm_pgunzip *r = NULL;
	struct hm_error err;
	unsigned char *acc = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (hm_pgunzip_new_zstd(mem_read, &m, threads, &r, &err) < 0) {
		snprintf(why, why_len, "cannot start: %.100s", err.msg);
		return -2;
	}
	for (;;) {
		const void *buf;
		size_t len;
		const char *w;

		rc = hm_pgunzip_next(r, &buf, &len, &w);
		if (rc <= 0) {
			if (rc < 0)
				snprintf(why, why_len, "%s", w);
			break;
		}
		acc = realloc(acc, n + len);
		if (!acc)
			abort();
		memcpy(acc + n, buf, len);
		n += len;
	}
	hm_pgunzip_free(r);
	*out = acc;
	*out_len = n;
	return rc;
}

/* Is the file at path (all of it) splittable? */
static bool splittable(const char *path, uint64_t len)
{
	int fd = open(path, O_RDONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = hm_pzstd_splittable(fd, 0, len);
	close(fd);
	return ok;
}

static void check_size(size_t len)
{
	unsigned char *in = make_input(len), *a = NULL, *plain = NULL;
	struct hm_pgzip_result r1;
	char why[200];
	size_t alen = 0, plen, off, frames = 0;
	unsigned threads;

	CHECK(in);
	check_any_threads(in, len, HM_PGZIP_ZSTD, &r1, &a, &alen);
	if (hm_failed_now)
		goto out;

	/* Plain zstd to libzstd's one-shot decoder (frames concatenated). */
	plain = malloc(len + 1);
	CHECK(plain);
	CHECK_EQ_INT(ZSTD_decompress(plain, len + 1, a, alen), len);
	CHECK(memcmp(plain, in, len) == 0);
	free(plain);
	plain = NULL;

	/* One frame per chunk, each declaring its content size. */
	for (off = 0; off < alen; frames++) {
		size_t fl = ZSTD_findFrameCompressedSize(a + off, alen - off);
		unsigned long long cs = ZSTD_getFrameContentSize(a + off, alen - off);

		CHECK(!ZSTD_isError(fl));
		CHECK(cs == (len - frames * HM_PGZIP_CHUNK < HM_PGZIP_CHUNK ?
			     len - frames * HM_PGZIP_CHUNK : HM_PGZIP_CHUNK));
		off += fl;
	}
	CHECK_EQ_INT(frames, r1.members);
	CHECK_EQ_INT(frames, len ? (len + HM_PGZIP_CHUNK - 1) / HM_PGZIP_CHUNK : 1);

	/* Round trip through the parallel reader, on 1 and 3 workers. */
	CHECK(splittable("one", alen));
	for (threads = 1; threads <= 3; threads += 2) {
		CHECK(zread_all(a, alen, threads, &plain, &plen, why, sizeof(why)) == 0);
		CHECK_EQ_INT(plen, len);
		CHECK(len == 0 || memcmp(plain, in, len) == 0);
		free(plain);
		plain = NULL;
	}
out:
	free(in);
	free(a);
}

TEST(empty_input_is_one_frame)
{
	check_size(0);
}

TEST(small_input)
{
	check_size(1000);
}

TEST(exact_chunks)
{
	check_size(3 * HM_PGZIP_CHUNK);
}

TEST(many_chunks_any_thread_count)
{
	check_size(7 * HM_PGZIP_CHUNK + 12345);
}

/* Three frames of hallmark's: the stream, its length, where frame 2
 * starts. */
static unsigned char *three_frames(size_t *alen, size_t *second)
{
	unsigned char *in = make_input(2 * HM_PGZIP_CHUNK + 5000), *a;
	struct hm_pgzip_result r;

	write_file("in", in, 2 * HM_PGZIP_CHUNK + 5000);
	free(in);
	if (codec_compress("in", "s.zst", HM_PGZIP_ZSTD, 2, &r) < 0 || !(a = slurp("s.zst", alen)))
		abort();
	*second = ZSTD_findFrameCompressedSize(a, *alen);
	if (ZSTD_isError(*second))
		abort();
	return a;
}

/* Cut anywhere: never a short layer taken for a whole one. */
TEST(truncated_refused)
{
	size_t alen, second, cuts[5], i, plen;
	unsigned char *a = three_frames(&alen, &second), *plain;
	char why[200], want[64];
	size_t third = second + ZSTD_findFrameCompressedSize(a + second, alen - second);

	cuts[0] = alen - 1;            /* inside the last frame's checksum */
	cuts[1] = second + 3;          /* inside the second frame's header */
	cuts[2] = second + 200;        /* inside its first block */
	cuts[3] = 2;                   /* inside the first magic number */
	cuts[4] = second - 1;
	for (i = 0; i < 5; i++) {
		write_file("cut.zst", a, cuts[i]);
		CHECK(!splittable("cut.zst", cuts[i]));
		why[0] = 0;
		CHECK(zread_all(a, cuts[i], 2, &plain, &plen, why, sizeof(why)) < 0);
		free(plain);
		CHECK(strstr(why, "ends inside a frame") != NULL);
		snprintf(want, sizeof(want), "at offset %zu:",
			 cuts[i] < second ? (size_t)0 : cuts[i] < third ? second : third);
		CHECK(strstr(why, want) == why);
	}
	free(a);
}

/* A byte flipped inside the second frame's data: refused at that frame,
 * its offset named; the first frame was handed out, nothing after. */
TEST(corrupt_frame_refused)
{
	size_t alen, second, plen;
	unsigned char *a = three_frames(&alen, &second), *plain;
	char why[200], want[80];

	a[second + 5000] ^= 0x20;
	why[0] = 0;
	CHECK(zread_all(a, alen, 2, &plain, &plen, why, sizeof(why)) < 0);
	free(plain);
	snprintf(want, sizeof(want), "at offset %zu: corrupt zstd frame (", second);
	CHECK(strstr(why, want) == why);
	CHECK(plen <= HM_PGZIP_CHUNK);
	free(a);
}

/* Frames a splitting reader cannot take go to the streaming reader:
 * one frame without its size, a skippable frame, trailing garbage, a
 * frame declaring more than the limit. */
TEST(not_splittable)
{
	unsigned char *in = make_input(HM_PGZIP_MAX_DATA + 10), *z;
	size_t cap = ZSTD_compressBound(HM_PGZIP_MAX_DATA + 10) + 64, n;
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_inBuffer ib = { in, 5000, 0 };
	ZSTD_outBuffer ob;

	z = malloc(cap);
	CHECK(in && z && c);
	/* No content size in the header (as a stream of unknown size). */
	CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0)));
	ob = (ZSTD_outBuffer){ z, cap, 0 };
	CHECK(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end) == 0);
	write_file("nosize.zst", z, ob.pos);
	CHECK(!splittable("nosize.zst", ob.pos));
	/* The same data with its size: splittable. */
	n = ZSTD_compress(z, cap, in, 5000, 3);
	write_file("sized.zst", z, n);
	CHECK(splittable("sized.zst", n));
	/* ... followed by a byte that starts no frame. */
	z[n] = 0;
	write_file("trailing.zst", z, n + 1);
	CHECK(!splittable("trailing.zst", n + 1));
	/* A skippable frame first. */
	memcpy(z, "\x50\x2a\x4d\x18\x04\0\0\0abcd", 12);
	n = ZSTD_compress(z + 12, cap - 12, in, 5000, 3);
	write_file("skip.zst", z, n + 12);
	CHECK(!splittable("skip.zst", n + 12));
	/* One frame over the per-frame limit (a bomb must not get a
	 * buffer of the size it claims). */
	n = ZSTD_compress(z, cap, in, HM_PGZIP_MAX_DATA + 10, 1);
	write_file("big.zst", z, n);
	CHECK(!splittable("big.zst", n));
	ZSTD_freeCCtx(c);
	free(in);
	free(z);
}
