/*
 * Fuzz target: the template loader (builder/template.c), linked from
 * libhallmark-builder.a.  The input is a template
 * held in a memfd and loaded as /proc/self/fd/N; relative `source:` files
 * then resolve in /proc/self/fd, and the loader's containment check must
 * reject whatever lies outside it.  A template that loads has a name and
 * a base.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../builder/template.h"
#include "hallmark/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_template *t = NULL;
	struct hm_error err;
	char path[64];
	int fd;

	if (size > 256 * 1024)
		return 0;
	fd = memfd_create("fuzz-template", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (hm_template_load(path, &t, &err) < 0) {
		if (getenv("HM_FUZZ_VERBOSE"))
			fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	if (getenv("HM_FUZZ_VERBOSE"))
		fprintf(stderr, "loaded '%s'\n", t->name);
	if (!t->name || !hm_manifest_name_valid(t->name) || !t->base.kind)
		abort();
out:
	hm_template_free(t);
	close(fd);
	return 0;
}
