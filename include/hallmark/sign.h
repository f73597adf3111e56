/*
 * Ed25519 keys and manifest signatures (DESIGN.md, "Signature").
 *
 * Key files: private keys are PKCS#8 PEM, encrypted with AES-256 (PBES2,
 * scrypt or PBKDF2) unless written without a passphrase; public keys are
 * SubjectPublicKeyInfo PEM.  A key id is the first 8 bytes of SHA-256 of
 * the raw 32-byte public key, as 16 lowercase hex digits.
 *
 * Signed message: "hallmark/manifest/v1" NUL, then SHA-512 of the manifest
 * bytes (85 bytes in all), so `openssl pkeyutl -verify -rawin` checks it.
 *
 * Signature file, exactly three LF-terminated lines:
 *   hallmark-signature 1
 *   key KEYID
 *   ed25519 BASE64SIG
 */
#ifndef HALLMARK_SIGN_H
#define HALLMARK_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "hallmark/error.h"

#define HM_KEYID_LEN 16          /* hex digits, plus NUL in buffers */
#define HM_SIG_LEN 64
#define HM_SIGN_CONTEXT "hallmark/manifest/v1"

struct hm_privkey;
struct hm_pubkey;

int hm_privkey_generate(struct hm_privkey **ret, struct hm_error *err);
void hm_privkey_free(struct hm_privkey *k);   /* wipes; accepts NULL */
void hm_pubkey_free(struct hm_pubkey *k);     /* accepts NULL */

/* The public half (caller frees). */
int hm_privkey_public(const struct hm_privkey *k, struct hm_pubkey **ret,
		      struct hm_error *err);

/*
 * Save atomically, refusing to overwrite an existing file.  The private
 * key file is mode 0600, encrypted with passphrase unless it is NULL.
 */
int hm_privkey_save(const struct hm_privkey *k, const char *path,
		    const char *passphrase, struct hm_error *err);
int hm_pubkey_save(const struct hm_pubkey *k, const char *path,
		   struct hm_error *err);

/*
 * Load a private key.  A file readable or writable by group or others is
 * refused (HM_ERR_TRUST).  For an encrypted key, passphrase must be given
 * (HM_ERR_USAGE "... is encrypted" otherwise); a wrong one is HM_ERR_TRUST.
 * hm_privkey_is_encrypted() tells in advance whether to ask for one.
 */
int hm_privkey_is_encrypted(const char *path, bool *ret, struct hm_error *err);
int hm_privkey_load(const char *path, const char *passphrase,
		    struct hm_privkey **ret, struct hm_error *err);
/* Only Ed25519 public keys are accepted (HM_ERR_TRUST otherwise). */
int hm_pubkey_load(const char *path, struct hm_pubkey **ret,
		   struct hm_error *err);

/* Key id: 16 hex digits + NUL. */
void hm_pubkey_id(const struct hm_pubkey *k, char out[HM_KEYID_LEN + 1]);

/* Sign / verify any message with Ed25519 (DSSE envelopes sign their
 * pre-authentication encoding this way).  Verify: 0 if valid,
 * HM_ERR_TRUST if not. */
int hm_sign_message(const struct hm_privkey *k, const void *msg, size_t len,
		    unsigned char sig[HM_SIG_LEN], struct hm_error *err);
int hm_verify_message(const struct hm_pubkey *k, const void *msg, size_t len,
		      const unsigned char sig[HM_SIG_LEN], struct hm_error *err);

/* Sign / verify the message built from a manifest's SHA-512. */
int hm_sign_manifest_digest(const struct hm_privkey *k,
			    const unsigned char sha512[64],
			    unsigned char sig[HM_SIG_LEN], struct hm_error *err);
/* 0 if valid, HM_ERR_TRUST if not. */
int hm_verify_manifest_digest(const struct hm_pubkey *k,
			      const unsigned char sha512[64],
			      const unsigned char sig[HM_SIG_LEN],
			      struct hm_error *err);

/*
 * The SHA-512 (what a signature covers) and, if sha256 is not NULL, the
 * SHA-256 (what reports show) of a manifest's bytes: prefix (bytes the
 * caller has read from fd already) and then fd to its end.  HM_ERR_LIMIT
 * above HM_LIMIT_MANIFEST_BYTES in all, HM_ERR_IO naming path.
 */
int hm_manifest_hash_fd(int fd, const char *path, const void *prefix,
			size_t prefix_len, unsigned char sha512[64],
			unsigned char sha256[32], struct hm_error *err);
/*
 * The signature file (hm_sigfile_format) of those bytes signed with k:
 * hash, sign, format.  *ret (*ret_len bytes) is the caller's to free.
 * The _file form opens path itself (a regular file, no symlink check).
 */
int hm_sign_manifest_fd(const struct hm_privkey *k, int fd, const char *path,
			const void *prefix, size_t prefix_len, char **ret,
			size_t *ret_len, struct hm_error *err);
int hm_sign_manifest_file(const struct hm_privkey *k, const char *path,
			  char **ret, size_t *ret_len, struct hm_error *err);

/* Signature files.  Parse is strict (exact lines, LF only, sizes). */
int hm_sigfile_format(const char keyid[HM_KEYID_LEN + 1],
		      const unsigned char sig[HM_SIG_LEN], char **ret,
		      size_t *ret_len, struct hm_error *err);
int hm_sigfile_parse(const char *data, size_t len, const char *name,
		     char keyid[HM_KEYID_LEN + 1],
		     unsigned char sig[HM_SIG_LEN], struct hm_error *err);
/* Read and parse a signature file (HM_LIMIT_SIGFILE_BYTES). A missing
 * file is HM_ERR_TRUST ("missing signature"). */
int hm_sigfile_load(const char *path, char keyid[HM_KEYID_LEN + 1],
		    unsigned char sig[HM_SIG_LEN], struct hm_error *err);

/*
 * Passphrase for a key: from file (if not NULL), else from the file named
 * by $HALLMARK_PASSPHRASE_FILE, else prompted on /dev/tty with echo off
 * (twice when confirm).  The trailing newline of a file is dropped.
 * Free with hm_passphrase_free() (wipes).
 */
int hm_passphrase_get(const char *file, const char *prompt, bool confirm,
		      char **ret, struct hm_error *err);
void hm_passphrase_free(char *p);

/* Load a private key, asking for its passphrase (hm_passphrase_get with
 * passfile) only if the key is encrypted. */
int hm_privkey_load_asking(const char *path, const char *passfile,
			   struct hm_privkey **ret, struct hm_error *err);

#endif
