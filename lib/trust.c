/*
 * Signature-first opening of manifests (see include/hallmark/trust.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/digest.h"
#include "hallmark/limits.h"
#include "hallmark/sign.h"
#include "hallmark/trust.h"


int hm_trust_open(const char *manifest_path, const char *sig_path,
		  struct hm_pubkey *const *keys, size_t n_keys, time_t now,
		  struct hm_trusted_manifest **ret, struct hm_error *err)
{
	struct hm_trusted_manifest *m;
	unsigned char sig[HM_SIG_LEN];
	char sig_keyid[HM_KEYID_LEN + 1];
	char *default_sig = NULL;
	const struct hm_pubkey *key = NULL;
	struct stat st;
	size_t i;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return hm_error_nomem(err);
	m->fd = open(manifest_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (m->fd < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", manifest_path);
		goto fail;
	}
	if (fstat(m->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "manifest '%s' is not a regular file", manifest_path);
		goto fail;
	}
	if (!sig_path) {
		if (asprintf(&default_sig, "%s.sig", manifest_path) < 0) {
			default_sig = NULL;
			r = hm_error_nomem(err);
			goto fail;
		}
		sig_path = default_sig;
	}
	r = hm_sigfile_load(sig_path, sig_keyid, sig, err);
	if (r < 0)
		goto fail;
	for (i = 0; i < n_keys; i++) {
		char id[HM_KEYID_LEN + 1];

		hm_pubkey_id(keys[i], id);
		if (strcmp(id, sig_keyid) == 0) {
			key = keys[i];
			break;
		}
	}
	if (!key) {
		r = hm_error_set(err, HM_ERR_TRUST, 0,
				 "'%s' is signed by key %s, which is not pinned (--pubkey)",
				 manifest_path, sig_keyid);
		goto fail;
	}
	/* First pass: SHA-512 (signed) and SHA-256 (reported) of the raw bytes. */
	r = hm_manifest_hash_fd(m->fd, manifest_path, NULL, 0, m->sha512, m->sha256, err);
	if (r < 0)
		goto fail;
	r = hm_verify_manifest_digest(key, m->sha512, sig, err);
	if (r < 0) {
		hm_error_set(err, HM_ERR_TRUST, 0,
			     "bad signature: '%s' does not match '%s' (key %s)",
			     sig_path, manifest_path, sig_keyid);
		goto fail;
	}
	memcpy(m->key_id, sig_keyid, sizeof(m->key_id));
	hm_hex_encode(m->sha256, sizeof(m->sha256), m->sha256_hex);

	/* Only now is a single line of it parsed. */
	if (lseek(m->fd, 0, SEEK_SET) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s'", manifest_path);
		goto fail;
	}
	r = hm_manifest_reader_open(m->fd, manifest_path, HM_MANIFEST_HASH,
				    &m->reader, err);
	if (r < 0)
		goto fail;
	m->header = hm_manifest_reader_header(m->reader);
	if (m->header->expires && now >= m->header->expires) {
		char when[21];

		hm_time_format(m->header->expires, when);
		r = hm_error_set(err, HM_ERR_TRUST, 0,
				 "manifest '%s' (%s serial %llu) expired at %s",
				 manifest_path, m->header->name,
				 (unsigned long long)m->header->serial, when);
		goto fail;
	}
	free(default_sig);
	*ret = m;
	return 0;
fail:
	free(default_sig);
	hm_trust_free(m);
	return r;
}

int hm_trust_finish(struct hm_trusted_manifest *m, struct hm_error *err)
{
	unsigned char again[32];

	if (hm_manifest_reader_sha256(m->reader, again) < 0 ||
	    memcmp(again, m->sha256, sizeof(again)) != 0)
		return hm_error_set(err, HM_ERR_TRUST, 0,
				    "manifest changed while being verified: the bytes read are not the bytes signed");
	return 0;
}

void hm_trust_free(struct hm_trusted_manifest *m)
{
	if (!m)
		return;
	hm_manifest_reader_free(m->reader);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}
