/*
 * Fuzz target: the manifest parser, and (differential) that every entry it
 * accepts formats back to the very same line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hallmark/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_manifest_reader *r = NULL;
	struct hm_buf line = HM_BUF_INIT, all = HM_BUF_INIT;
	struct hm_error err;
	const struct hm_entry *e;
	int fd, n;

	if (size > 1024 * 1024)
		return 0;
	fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) < 0)
		goto out;
	if (hm_manifest_reader_open(fd, "fuzz", HM_MANIFEST_HASH, &r, &err) < 0)
		goto out;
	if (hm_manifest_format_header(&all, hm_manifest_reader_header(r), &err) < 0)
		abort();   /* a header that parsed must format */
	while ((n = hm_manifest_reader_next(r, &e, &err)) > 0) {
		hm_buf_reset(&line);
		if (hm_manifest_format_entry(&line, e, &err) < 0)
			abort();
		hm_buf_add(&all, line.data, line.len);
	}
	/* An accepted manifest is canonical: formatting it gives its bytes. */
	if (n == 0 && (all.len != size || memcmp(all.data, data, size) != 0))
		abort();
out:
	hm_manifest_reader_free(r);
	hm_buf_free(&line);
	hm_buf_free(&all);
	close(fd);
	return 0;
}
