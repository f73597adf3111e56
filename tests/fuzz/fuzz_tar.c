/*
 * Fuzz target: a tar stream (any compression libarchive reads) as a tree,
 * hm_source_tar_open on the bytes held in a memfd.  Every entry it yields
 * has an absolute path, and they come in strictly increasing canonical
 * order with no duplicates.  Contents go through a sink that stops the
 * stream after 4 MiB of content in all, so that decompression bombs and
 * sparse headers do not turn into slow units (the library's own caps are
 * far higher: HM_LIMIT_TAR_MEMBER_BYTES).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/entry.h"
#include "hallmark/source.h"
#include "hallmark/source_tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CONTENT_CAP (4ull * 1024 * 1024)

static int sink_begin(void *ctx, const struct hm_entry *e, struct hm_error *err)
{
	(void)ctx;
	(void)e;
	(void)err;
	return 0;
}

static int sink_data(void *ctx, const void *buf, size_t len, struct hm_error *err)
{
	uint64_t *total = ctx;

	(void)buf;
	*total += len;
	if (*total > FUZZ_CONTENT_CAP)
		return hm_error_set(err, HM_ERR_LIMIT, 0, "fuzz content cap");
	return 0;
}

static int sink_end(void *ctx, struct hm_entry *e, struct hm_error *err)
{
	(void)ctx;
	(void)err;
	if (!(e->flags & HM_ENTRY_HAS_DIGEST))
		abort();   /* the digest is filled in by the time end() runs */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t total = 0;
	const struct hm_content_sink sink = { sink_begin, sink_data, sink_end, &total };
	struct hm_scan_options opt = { .threads = 1, .sink = &sink };
	struct hm_buf prev = HM_BUF_INIT;
	struct hm_source *src = NULL;
	const struct hm_entry *e;
	struct hm_error err;
	char path[64];
	int fd, n, first = 1;

	if (size > 1024 * 1024)
		return 0;
	fd = memfd_create("fuzz-tar", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (hm_source_tar_open(path, &opt, &src, &err) < 0) {
		if (getenv("HM_FUZZ_VERBOSE"))
			fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	while ((n = hm_source_next(src, &e, &err)) > 0) {
		if (getenv("HM_FUZZ_VERBOSE"))
			fprintf(stderr, "%s\n", e->path);
		if (!e->path || e->path_len == 0 || e->path[0] != '/' ||
		    strlen(e->path) != e->path_len)
			abort();
		if (!first && hm_path_cmp(prev.data, prev.len, e->path, e->path_len) >= 0)
			abort();   /* canonical order, no duplicates */
		first = 0;
		hm_buf_reset(&prev);
		if (hm_buf_add(&prev, e->path, e->path_len) < 0)
			abort();
	}
	if (n < 0 && getenv("HM_FUZZ_VERBOSE"))
		fprintf(stderr, "%s\n", err.msg);
out:
	hm_source_free(src);
	hm_buf_free(&prev);
	close(fd);
	return 0;
}
