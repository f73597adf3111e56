/*
 * Opening a manifest for verification: the signature is checked over the
 * raw bytes before a single line is parsed, against pinned public keys
 * only (the algorithm comes from the key, never from the file); then the
 * header is parsed and expiry checked.  The manifest is read twice (once
 * to hash, once to parse, streaming both times, so memory does not grow
 * with its size).  The first read takes the SHA-512 the signature covers
 * and, from the same bytes, a SHA-256; the second read takes its SHA-256
 * again (twice as fast here as SHA-512, on the thread that compares), and
 * hm_trust_finish() refuses the result if the two differ: the bytes parsed
 * are then not the bytes signed.
 */
#ifndef HALLMARK_TRUST_H
#define HALLMARK_TRUST_H

#include <stddef.h>
#include <time.h>

#include "hallmark/error.h"
#include "hallmark/manifest.h"
#include "hallmark/sign.h"

struct hm_trusted_manifest {
	struct hm_manifest_reader *reader;   /* positioned after the header */
	const struct hm_manifest_header *header;
	char key_id[HM_KEYID_LEN + 1];       /* the pinned key that signed it */
	char sha256_hex[65];                 /* SHA-256 of the manifest file */
	unsigned char sha256[32];            /* the same, raw */
	unsigned char sha512[64];            /* what the signature covers */
	int fd;
};

/*
 * sig_path NULL means MANIFEST.sig.  now is the time expiry is checked
 * against.  Trust failures (missing or malformed signature, a key that is
 * not pinned, a bad signature, an expired manifest) are HM_ERR_TRUST with
 * a message that says which.
 */
int hm_trust_open(const char *manifest_path, const char *sig_path,
		  struct hm_pubkey *const *keys, size_t n_keys, time_t now,
		  struct hm_trusted_manifest **ret, struct hm_error *err);
/* After the reader returned 0 (end): HM_ERR_TRUST if the bytes parsed
 * differ from the bytes whose signature was checked. */
int hm_trust_finish(struct hm_trusted_manifest *m, struct hm_error *err);
void hm_trust_free(struct hm_trusted_manifest *m);   /* accepts NULL */

#endif
