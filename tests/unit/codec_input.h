/*
 * Inputs for the compression tests (test_pgzip, test_pzstd): a
 * deterministic text-like buffer that compresses about as a tar of a root
 * does, and a whole file read back.
 */
#ifndef HM_TEST_CODEC_INPUT_H
#define HM_TEST_CODEC_INPUT_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

#endif
