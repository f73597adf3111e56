/* Unit tests: gzip in independent members (lib/pgzip.c). */
#include "harness.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hallmark/digest.h"
#include "hallmark/pgzip.h"
#include "codec_input.h"

/* libarchive's gzip reader (zlib) over the whole file, members and all. */
static unsigned char *gunzip(const char *path, size_t cap, size_t *len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	unsigned char *p = malloc(cap + 1);
	la_ssize_t n;

	*len = 0;
	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		archive_read_free(a);
		free(p);
		return NULL;
	}
	if (archive_read_next_header(a, &ae) != ARCHIVE_OK) {
		archive_read_free(a);
		free(p);
		return NULL;
	}
	while ((n = archive_read_data(a, p + *len, cap + 1 - *len)) > 0)
		*len += (size_t)n;
	archive_read_free(a);
	return p;
}

static uint32_t get32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_size(size_t len)
{
	unsigned char *in = make_input(len), *a = NULL, *plain = NULL;
	struct hm_pgzip_result r1;
	size_t alen = 0, plen, off, members = 0, data = 0;

	CHECK(in);
	check_any_threads(in, len, HM_PGZIP_GZIP, &r1, &a, &alen);
	if (hm_failed_now)
		goto out;

	/* Plain gzip to a reader that knows nothing of the members. */
	/* (libarchive recognises no format in an empty stream: gzip(1) reads
	 * the empty member, the walk below checks its shape.) */
	if (len > 0) {
		plain = gunzip("one", len + 16, &plen);
		CHECK(plain && plen == len && memcmp(plain, in, len) == 0);
	}

	/* The extra field lets a reader walk the members without inflating. */
	for (off = 0; off < alen; members++) {
		CHECK(alen - off >= 30);
		CHECK(a[off] == 0x1f && a[off + 1] == 0x8b && a[off + 3] == 4);
		CHECK(a[off + 12] == 'H' && a[off + 13] == 'M');
		data += get32(a + off + 20);
		CHECK(get32(a + off + 20) <= HM_PGZIP_CHUNK);
		/* ISIZE in the trailer agrees with the extra field. */
		CHECK(get32(a + off + get32(a + off + 16) - 4) == get32(a + off + 20));
		off += get32(a + off + 16);
	}
	CHECK_EQ_INT(off, alen);
	CHECK_EQ_INT(data, len);
	CHECK_EQ_INT(members, r1.members);
	CHECK_EQ_INT(members, len ? (len + HM_PGZIP_CHUNK - 1) / HM_PGZIP_CHUNK : 1);
out:
	free(in);
	free(a);
	free(plain);
}

TEST(empty_input_is_one_member)
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

/* A read error is an error naming the input, not a short layer. */
TEST(read_error_names_the_input)
{
	struct hm_pgzip_result r;
	struct hm_error err;
	int fo = open("out.gz", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int fd = open(".", O_RDONLY | O_DIRECTORY);

	CHECK(fd >= 0 && fo >= 0);
	CHECK(hm_pgzip_compress_fd(fd, "the-dir", fo, "out.gz", 2, &r, &err) == HM_ERR_IO);
	CHECK(strstr(err.msg, "the-dir") != NULL);
	close(fd);
	close(fo);
}
