/*
 * Digests through OpenSSL's EVP interface.
 *
 * The EVP_MD objects are fetched once per process: fetching per file costs
 * more than hashing a small file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hallmark/digest.h"

struct hm_hash {
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
};

static EVP_MD *md_sha256, *md_sha512;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch_mds(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
}

static const EVP_MD *md_for(enum hm_hash_alg alg)
{
	pthread_once(&md_once, fetch_mds);
	return alg == HM_HASH_SHA512 ? md_sha512 : md_sha256;
}

struct hm_hash *hm_hash_new(enum hm_hash_alg alg)
{
	struct hm_hash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->md = md_for(alg);
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx || !EVP_DigestInit_ex(h->ctx, h->md, NULL)) {
		hm_hash_free(h);
		return NULL;
	}
	return h;
}

void hm_hash_free(struct hm_hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int hm_hash_reset(struct hm_hash *h)
{
	return EVP_DigestInit_ex(h->ctx, h->md, NULL) ? 0 : HM_ERR_NOMEM;
}

int hm_hash_update(struct hm_hash *h, const void *data, size_t len)
{
	return EVP_DigestUpdate(h->ctx, data, len) ? 0 : HM_ERR_NOMEM;
}

int hm_hash_final(struct hm_hash *h, unsigned char *out)
{
	return EVP_DigestFinal_ex(h->ctx, out, NULL) ? 0 : HM_ERR_NOMEM;
}

int hm_hash_buf(enum hm_hash_alg alg, const void *data, size_t len,
		unsigned char *out)
{
	const EVP_MD *md = md_for(alg);

	if (!md || !EVP_Digest(data, len, out, NULL, md, NULL))
		return HM_ERR_NOMEM;
	return 0;
}

int hm_sha256_fd(int fd, const char *name, unsigned char out[32],
		 uint64_t *ret_bytes, struct hm_error *err)
{
	/* 256 KiB: large enough to amortise syscalls, small per worker. */
	enum { CHUNK = 256 * 1024 };
	unsigned char *buf;
	struct hm_hash *h;
	uint64_t total = 0;
	int r = 0;

	buf = malloc(CHUNK);
	h = hm_hash_new(HM_HASH_SHA256);
	if (!buf || !h) {
		r = hm_error_nomem(err);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = hm_error_set(err, HM_ERR_IO, errno,
					 "cannot read '%s'", name);
			goto out;
		}
		if (n == 0)
			break;
		hm_hash_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	hm_hash_final(h, out);
	if (ret_bytes)
		*ret_bytes = total;
out:
	hm_hash_free(h);
	free(buf);
	return r;
}

bool hm_hex_is_sha256(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 64)
		return false;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

void hm_hex_encode(const unsigned char *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[data[i] >> 4];
		out[2 * i + 1] = hex[data[i] & 15];
	}
	out[2 * len] = '\0';
}

/*
 * Lower-case hex digit values, -1 for every other byte (manifests and OCI
 * digests are lower case only).  A table, not comparisons: the manifest
 * reader decodes a digest per line, a million for a large tree.
 */
static const signed char hexval[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

int hm_hex_decode(const char *hex, size_t hexlen, unsigned char *out,
		  size_t len)
{
	const unsigned char *h = (const unsigned char *)hex;
	int bad = 0;
	size_t i;

	if (hexlen != 2 * len)
		return -1;
	/* Every byte decoded, one test at the end: no branch per digit. */
	for (i = 0; i < len; i++) {
		int hi = hexval[h[2 * i]], lo = hexval[h[2 * i + 1]];

		bad |= hi | lo;
		out[i] = (unsigned char)((unsigned)hi << 4 | (unsigned)lo);
	}
	return bad < 0 ? -1 : 0;
}
