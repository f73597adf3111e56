/*
 * What the compression tests (test_pgzip, test_pzstd) share: a
 * deterministic text-like input that compresses about as a tar of a root
 * does, a whole file read back, one codec run over a file, and the check
 * that the thread count never changes the bytes.  Include after
 * harness.h.
 */
#ifndef HM_TEST_CODEC_INPUT_H
#define HM_TEST_CODEC_INPUT_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/digest.h"
#include "hallmark/pgzip.h"

static inline unsigned char *make_input(size_t len)
{
	static const char *words[] = { "root", "etc", "usr", "bin", "lib",
		"share", "doc", "hallmark", "manifest", "0755", "\n", "/" };
	unsigned char *p = malloc(len ? len : 1);
	uint32_t x = 2463534242u;
	size_t i = 0;

	while (p && i < len) {
		const char *w;
		size_t n;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		w = (x & 7) == 0 ? NULL : words[x % 12];
		if (!w) {
			p[i++] = (unsigned char)(x >> 8);
			continue;
		}
		n = strlen(w);
		if (n > len - i)
			n = len - i;
		memcpy(p + i, w, n);
		i += n;
	}
	return p;
}

static inline unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *p;
	int fd = open(path, O_RDONLY);

	*len = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	p = malloc((size_t)st.st_size + 1);
	if (p && read(fd, p, (size_t)st.st_size) != st.st_size) {
		free(p);
		p = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static inline int codec_compress(const char *in, const char *out,
				 enum hm_pgzip_codec codec, unsigned threads,
				 struct hm_pgzip_result *res)
{
	struct hm_error err;
	int fi = open(in, O_RDONLY), fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int r = fi < 0 || fo < 0 ? -1 :
		hm_pgzip_compress_fd_codec(fi, in, fo, out, codec, threads, res, &err);

	if (fi >= 0)
		close(fi);
	if (fo >= 0)
		close(fo);
	return r;
}

/*
 * IN (LEN bytes) written to "in", compressed with CODEC on 1, 2 and 5
 * threads: the three outputs must be the same bytes, and *r1 must count
 * and hash what went in and what came out.  *out (malloc'd, *out_len
 * bytes) is that output; on a failed check the caller sees hm_failed_now.
 */
static inline void check_any_threads(const unsigned char *in, size_t len,
				     enum hm_pgzip_codec codec,
				     struct hm_pgzip_result *r1,
				     unsigned char **out, size_t *out_len)
{
	struct hm_pgzip_result r2, r3;
	unsigned char d[32], *a, *b;
	size_t alen, blen;
	int fd = open("in", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	*out = NULL;
	CHECK(fd >= 0 && write(fd, in, len) == (ssize_t)len);
	close(fd);
	CHECK(codec_compress("in", "one", codec, 1, r1) == 0);
	CHECK(codec_compress("in", "two", codec, 2, &r2) == 0);
	CHECK(codec_compress("in", "five", codec, 5, &r3) == 0);
	a = slurp("one", &alen);
	*out = a;
	*out_len = alen;
	b = slurp("two", &blen);
	CHECK(a && b && alen == blen && memcmp(a, b, alen) == 0);
	free(b);
	b = slurp("five", &blen);
	CHECK(b && alen == blen && memcmp(a, b, alen) == 0);
	free(b);
	CHECK(memcmp(r1->out_sha256, r3.out_sha256, sizeof(d)) == 0);
	CHECK_EQ_INT(r1->in_bytes, len);
	CHECK_EQ_INT(r1->out_bytes, alen);
	hm_hash_buf(HM_HASH_SHA256, in, len, d);
	CHECK(memcmp(d, r1->in_sha256, sizeof(d)) == 0);
	hm_hash_buf(HM_HASH_SHA256, a, alen, d);
	CHECK(memcmp(d, r1->out_sha256, sizeof(d)) == 0);
}

#endif
