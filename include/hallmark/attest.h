/*
 * Attestations: in-toto Statements v1 in DSSE envelopes, signed with the
 * same Ed25519 key as the manifest (docs/attestations.md).
 *
 * DSSE (github.com/secure-systems-lab/dsse, protocol v1) signs the
 * pre-authentication encoding of a payload, never the JSON around it:
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *
 * LEN is the byte length in ASCII decimal, no leading zeros, so
 * `openssl pkeyutl -verify -rawin` over those bytes checks a signature.
 * The envelope is {"payload": BASE64, "payloadType": TYPE,
 * "signatures": [{"keyid": KEYID, "sig": BASE64}]}, standard base64 with
 * padding, KEYID hallmark's 16-hex-digit key id.
 *
 * The predicate types are identifiers, not addresses: nothing is fetched
 * from them.
 */
#ifndef HALLMARK_ATTEST_H
#define HALLMARK_ATTEST_H

#include <stddef.h>

#include "hallmark/buf.h"
#include "hallmark/error.h"
#include "hallmark/sign.h"
#include "hallmark/trust.h"

#define HM_INTOTO_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define HM_INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
/* hallmark's own: the signed file manifest an image is verified against. */
#define HM_PREDICATE_MANIFEST "https://hallmark.dev/attestation/manifest/v1"
#define HM_PREDICATE_SPDX "https://spdx.dev/Document/v2.3"
#define HM_PREDICATE_SLSA "https://slsa.dev/provenance/v1"
#define HM_SLSA_BUILD_TYPE "https://hallmark.dev/build/v1"
#define HM_SLSA_BUILDER_ID "https://hallmark.dev/builder/v1"

/* What a Statement is about: an artifact and its SHA-256 (64 hex). */
struct hm_intoto_subject {
	const char *name;
	const char *sha256_hex;
};

/* Append PAE(type, body) to out. */
int hm_dsse_pae(struct hm_buf *out, const char *type, const void *body,
		size_t len);

/*
 * An in-toto Statement v1 about subjects, with predicate (JSON text of
 * an object) under predicate_type, as compact JSON with sorted keys.
 * HM_ERR_INPUT if the predicate is not a JSON object.
 */
int hm_intoto_statement(const struct hm_intoto_subject *subjects, size_t n,
			const char *predicate_type, const char *predicate,
			size_t predicate_len, struct hm_buf *out,
			struct hm_error *err);

/* A DSSE envelope over payload, signed with k, as one line of compact
 * JSON (no LF) appended to out. */
int hm_dsse_sign(const struct hm_privkey *k, const char *type,
		 const void *payload, size_t len, struct hm_buf *out,
		 struct hm_error *err);

/*
 * Check an envelope: its shape (HM_ERR_INPUT), then a signature whose key
 * id is one of keys and whose signature holds over the PAE (HM_ERR_TRUST
 * when none does).  On success payload gets the decoded payload, *type a
 * malloc'd copy of the payload type (free()), keyid the signer's id.
 */
int hm_dsse_verify(const char *envelope, size_t len,
		   struct hm_pubkey *const *keys, size_t n_keys,
		   struct hm_buf *payload, char **type,
		   char keyid[HM_KEYID_LEN + 1], struct hm_error *err);

/*
 * hallmark's manifest predicate for a manifest whose signature was
 * checked (hm_trust_open) and whose bytes were all read (hm_trust_finish):
 * name, serial, created, expires, template, entries, the manifest file's
 * SHA-256 and SHA-512, the signing key id.  JSON text into out.
 */
int hm_attest_manifest_predicate(const struct hm_trusted_manifest *m,
				 struct hm_buf *out, struct hm_error *err);

/*
 * A SLSA Provenance v1 predicate from a build record (NAME.build.json,
 * docs/cli.md): buildType HM_SLSA_BUILD_TYPE, the template as external
 * parameter, the base as resolved dependency, the builder's version.
 * name names the file in messages.  JSON text into out.
 */
int hm_attest_provenance(const char *build_json, size_t len,
			 const char *name, struct hm_buf *out,
			 struct hm_error *err);

#endif
