/*
 * bench/layer_compress: compress a tar as hallmark's OCI layer is
 * compressed (lib/pgzip.c), to time the codecs on their own:
 *
 *   layer_compress gzip|zstd THREADS IN OUT
 *
 * Prints one line: codec, threads, tar bytes, blob bytes, members or
 * frames, the tar's SHA-256 (the diff_id) and the blob's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hallmark/digest.h"
#include "hallmark/error.h"
#include "hallmark/pgzip.h"

int main(int argc, char **argv)
{
	struct hm_pgzip_result res;
	struct hm_error err = { 0 };
	enum hm_pgzip_codec codec;
	char in_hex[65], out_hex[65];
	int fi, fo, r;

	if (argc != 5 || (strcmp(argv[1], "gzip") && strcmp(argv[1], "zstd"))) {
		fprintf(stderr, "usage: layer_compress gzip|zstd THREADS IN OUT\n");
		return 2;
	}
	codec = strcmp(argv[1], "zstd") ? HM_PGZIP_GZIP : HM_PGZIP_ZSTD;
	fi = open(argv[3], O_RDONLY | O_CLOEXEC);
	fo = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fi < 0 || fo < 0) {
		perror("layer_compress: open");
		return 2;
	}
	r = hm_pgzip_compress_fd_codec(fi, argv[3], fo, argv[4], codec,
				       (unsigned)atoi(argv[2]), &res, &err);
	if (r < 0 || close(fo) < 0) {
		fprintf(stderr, "layer_compress: %s\n", err.msg);
		return 2;
	}
	close(fi);
	hm_hex_encode(res.in_sha256, 32, in_hex);
	hm_hex_encode(res.out_sha256, 32, out_hex);
	printf("%s %s %llu %llu %llu %s %s\n", argv[1], argv[2],
	       (unsigned long long)res.in_bytes, (unsigned long long)res.out_bytes,
	       (unsigned long long)res.members, in_hex, out_hex);
	return 0;
}
