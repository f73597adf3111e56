/*
 * Digests through OpenSSL EVP (SHA-NI when the CPU has it), and hex.
 * This module and sign.c are the only callers of libcrypto.
 */
#ifndef HALLMARK_DIGEST_H
#define HALLMARK_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hallmark/error.h"

#define HM_SHA512_LEN 64

enum hm_hash_alg { HM_HASH_SHA256, HM_HASH_SHA512 };

struct hm_hash;

/* A new context, ready for updates; NULL on allocation failure. */
struct hm_hash *hm_hash_new(enum hm_hash_alg alg);
void hm_hash_free(struct hm_hash *h);                  /* accepts NULL */
/* Start over (after final, or to reuse). */
int hm_hash_reset(struct hm_hash *h);
int hm_hash_update(struct hm_hash *h, const void *data, size_t len);
/* Write the digest (32 or 64 bytes) to out. */
int hm_hash_final(struct hm_hash *h, unsigned char *out);

/* One-shot digest of a buffer. */
int hm_hash_buf(enum hm_hash_alg alg, const void *data, size_t len,
		unsigned char *out);

/*
 * SHA-256 of everything readable from fd (read to EOF, no seek).
 * ret_bytes receives the number of bytes hashed.  I/O errors are
 * HM_ERR_IO with errno; name is used in the message.
 */
int hm_sha256_fd(int fd, const char *name, unsigned char out[32],
		 uint64_t *ret_bytes, struct hm_error *err);

/* 2*len lowercase hex digits plus NUL into out. */
/* 64 lowercase hex digits and nothing else. */
bool hm_hex_is_sha256(const char *s);
void hm_hex_encode(const unsigned char *data, size_t len, char *out);
/* Decode exactly 2*len lowercase hex digits; -1 if anything else. */
int hm_hex_decode(const char *hex, size_t hexlen, unsigned char *out,
		  size_t len);

#endif
