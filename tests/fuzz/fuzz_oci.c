/*
 * Fuzz target: OCI image archives, hm_source_oci_open on bytes in a memfd.
 *
 * Two kinds of input:
 *
 *   - raw: the bytes are the image archive (an OCI layout in a tar, or a
 *     docker-archive).  Blobs are checked by digest before use, so
 *     mutations mostly exercise the outer tar and the digest checks.
 *
 *   - "OCIFUZZ\n" then sections separated by "\n=====\n": index.json, a
 *     manifest, a config, then up to 4 layers (tar streams, any
 *     compression).  The target builds the archive itself (with
 *     libarchive's writer, into the memfd) and fills placeholders with
 *     the real digests and sizes, so the fuzzer reaches the JSON parsers
 *     and layer application (whiteouts included) past the digest checks:
 *     in index.json @M@ / @MS@ (the manifest's "sha256:..." and size); in
 *     the manifest @C@ / @CS@ (config), @L0@ / @L0S@ ... @L3@ / @L3S@
 *     (layers); in the config @D0@ ... @D3@ (SHA-256 of a layer's bytes,
 *     the diff_id of an uncompressed layer).
 *
 * Every entry yielded has an absolute path, in strictly increasing
 * canonical order.  Contents go through a sink capped at 4 MiB per open,
 * so bombs are not slow units.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/entry.h"
#include "hallmark/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CONTENT_CAP (4ull * 1024 * 1024)
#define MAGIC "OCIFUZZ\n"
#define SEP "\n=====\n"
#define MAX_LAYERS 4

struct part {
	const char *data;
	size_t len;
};

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
	(void)e;
	(void)err;
	return 0;
}

/* "sha256:" and 64 hex digits of data. */
static void digest(const void *data, size_t len, char out[72])
{
	unsigned char md[32];

	if (hm_hash_buf(HM_HASH_SHA256, data, len, md) < 0)
		abort();
	memcpy(out, "sha256:", 7);
	hm_hex_encode(md, 32, out + 7);
}

/* Append src to out with every key of keys[] replaced by vals[]. */
static void substitute(struct hm_buf *out, const struct part *src,
		       char keys[][32], char vals[][80], size_t n)
{
	size_t i, k;

	for (i = 0; i < src->len; i++) {
		for (k = 0; k < n; k++) {
			size_t kl = strlen(keys[k]);

			if (src->len - i >= kl && memcmp(src->data + i, keys[k], kl) == 0)
				break;
		}
		if (k < n) {
			if (hm_buf_adds(out, vals[k]) < 0)
				abort();
			i += strlen(keys[k]) - 1;
		} else if (hm_buf_addc(out, src->data[i]) < 0) {
			abort();
		}
	}
}

static int add_member(struct archive *a, const char *name, const void *data,
		      size_t len)
{
	struct archive_entry *ae = archive_entry_new();
	int r = -1;

	if (!ae)
		abort();
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)len);
	if (archive_write_header(a, ae) == ARCHIVE_OK &&
	    (len == 0 || archive_write_data(a, data, len) == (la_ssize_t)len))
		r = 0;
	archive_entry_free(ae);
	return r;
}

static int add_blob(struct archive *a, const char *dig, const void *data,
		    size_t len)
{
	char name[96];

	snprintf(name, sizeof(name), "blobs/sha256/%s", dig + 7);
	return add_member(a, name, data, len);
}

/* Build the image archive of a structured input into fd. */
static int build(int fd, const uint8_t *data, size_t size)
{
	struct part parts[3 + MAX_LAYERS];
	char keys[2 * MAX_LAYERS + 2][32], vals[2 * MAX_LAYERS + 2][80];
	char dig[MAX_LAYERS][72], cdig[72], mdig[72];
	struct hm_buf config = HM_BUF_INIT, manifest = HM_BUF_INIT, index = HM_BUF_INIT;
	const char *p = (const char *)data + strlen(MAGIC), *end = (const char *)data + size;
	struct archive *a = NULL;
	size_t n = 0, i, nl;
	int r = -1;

	while (n < 3 + MAX_LAYERS) {
		const char *s = memmem(p, (size_t)(end - p), SEP, strlen(SEP));

		if (!s || n == 2 + MAX_LAYERS)
			s = end;
		parts[n].data = p;
		parts[n++].len = (size_t)(s - p);
		if (s == end)
			break;
		p = s + strlen(SEP);
	}
	if (n < 3)
		return -1;
	nl = n - 3;

	/* config: @Di@ -> layer digests (diff_ids of uncompressed layers) */
	for (i = 0; i < nl; i++) {
		digest(parts[3 + i].data, parts[3 + i].len, dig[i]);
		snprintf(keys[i], sizeof(keys[i]), "@D%zu@", i);
		memcpy(vals[i], dig[i], 72);
	}
	substitute(&config, &parts[2], keys, vals, nl);
	digest(config.data ? config.data : "", config.len, cdig);

	/* manifest: @C@ @CS@ @Li@ @LiS@ (sizes first: @L0S@ before @L0@) */
	snprintf(keys[0], sizeof(keys[0]), "@CS@");
	snprintf(vals[0], 80, "%zu", config.len);
	snprintf(keys[1], sizeof(keys[0]), "@C@");
	memcpy(vals[1], cdig, 72);
	for (i = 0; i < nl; i++) {
		snprintf(keys[2 + 2 * i], sizeof(keys[0]), "@L%zuS@", i);
		snprintf(vals[2 + 2 * i], 80, "%zu", parts[3 + i].len);
		snprintf(keys[3 + 2 * i], sizeof(keys[0]), "@L%zu@", i);
		memcpy(vals[3 + 2 * i], dig[i], 72);
	}
	substitute(&manifest, &parts[1], keys, vals, 2 + 2 * nl);
	digest(manifest.data ? manifest.data : "", manifest.len, mdig);

	/* index.json: @MS@ @M@ */
	snprintf(keys[0], sizeof(keys[0]), "@MS@");
	snprintf(vals[0], 80, "%zu", manifest.len);
	snprintf(keys[1], sizeof(keys[0]), "@M@");
	memcpy(vals[1], mdig, 72);
	substitute(&index, &parts[0], keys, vals, 2);

	a = archive_write_new();
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK)
		goto out;
	if (add_member(a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30) < 0 ||
	    add_member(a, "index.json", index.data, index.len) < 0 ||
	    add_blob(a, mdig, manifest.data, manifest.len) < 0 ||
	    add_blob(a, cdig, config.data, config.len) < 0)
		goto out;
	for (i = 0; i < nl; i++) {
		size_t j;

		for (j = 0; j < i && strcmp(dig[j], dig[i]) != 0; j++)
			;
		if (j == i && add_blob(a, dig[i], parts[3 + i].data, parts[3 + i].len) < 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		goto out;
	r = 0;
out:
	if (a)
		archive_write_free(a);
	hm_buf_free(&config);
	hm_buf_free(&manifest);
	hm_buf_free(&index);
	return r;
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
	fd = memfd_create("fuzz-oci", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size >= strlen(MAGIC) && memcmp(data, MAGIC, strlen(MAGIC)) == 0) {
		if (build(fd, data, size) < 0)
			goto out;
	} else if (write(fd, data, size) != (ssize_t)size) {
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (hm_source_oci_open(path, false, &opt, &src, &err) < 0) {
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
