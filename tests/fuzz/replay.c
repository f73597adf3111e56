/*
 * Replay driver for the fuzz targets: runs every file of the corpus
 * folders given on the command line through LLVMFuzzerTestOneInput, so
 * `make check` exercises each target with gcc and no fuzzer.  A crash or
 * a sanitizer report is a failure (the runner sees no summary line); the
 * last line is "N passed, 0 failed".  The targets follow libFuzzer's
 * entry point, so the same files link with clang -fsanitize=fuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	for (;;) {
		size_t n;

		if (len == cap) {
			unsigned char *p;

			cap = cap ? cap * 2 : 4096;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	int i, passed = 0, failed = 0;

	for (i = 1; i < argc; i++) {
		struct dirent *d;
		char **names = NULL;
		size_t n = 0, k;
		DIR *dir = opendir(argv[i]);

		if (!dir) {
			printf("not ok cannot open %s\n", argv[i]);
			failed++;
			continue;
		}
		while ((d = readdir(dir))) {
			char **p;

			if (d->d_name[0] == '.')
				continue;
			p = realloc(names, (n + 1) * sizeof(*names));
			if (!p)
				return 2;
			names = p;
			if (asprintf(&names[n++], "%s/%s", argv[i], d->d_name) < 0)
				return 2;
		}
		closedir(dir);
		qsort(names, n, sizeof(*names), cmp);
		for (k = 0; k < n; k++) {
			if (run_file(names[k]) < 0) {
				printf("not ok cannot read %s\n", names[k]);
				failed++;
			} else {
				passed++;
			}
			free(names[k]);
		}
		free(names);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
