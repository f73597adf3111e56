/*
 * Ed25519 keys, manifest signatures and signature files.
 *
 * This file and digest.c are the only callers of libcrypto; every OpenSSL
 * failure becomes an hm_error here and the OpenSSL error queue is cleared
 * so that a later, unrelated failure does not report a stale reason.
 *
 * Private key material only ever sits in OpenSSL's own objects (freed with
 * cleansing) and in buffers that are wiped before they are freed: the PEM
 * text is built in a BIO_s_secmem() buffer and key files are read into a
 * fixed-size buffer, never realloc()ed, so no stale copy is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/sign.h"

struct hm_privkey {
	EVP_PKEY *pkey;
};

struct hm_pubkey {
	EVP_PKEY *pkey;
};

#define ENCRYPTED_PEM "-----BEGIN ENCRYPTED PRIVATE KEY-----"
#define SIGFILE_MAGIC "hallmark-signature 1"
#define SIG_B64_LEN 88          /* 4 * ceil(64 / 3) */
#define MSG_LEN (sizeof(HM_SIGN_CONTEXT) + HM_SHA512_LEN)   /* 20 + NUL + 64 */

/* Record an error after an OpenSSL failure, dropping OpenSSL's queue. */
#define crypto_fail(err, code, ...) \
	(ERR_clear_error(), hm_error_set((err), (code), 0, __VA_ARGS__))

int hm_privkey_generate(struct hm_privkey **ret, struct hm_error *err)
{
	struct hm_privkey *k = calloc(1, sizeof(*k));

	if (!k)
		return hm_error_nomem(err);
	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k->pkey) {
		free(k);
		return crypto_fail(err, HM_ERR_NOMEM,
				   "cannot generate an Ed25519 key");
	}
	*ret = k;
	return 0;
}

void hm_privkey_free(struct hm_privkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);   /* cleanses the private scalar */
	free(k);
}

void hm_pubkey_free(struct hm_pubkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

static int raw_public(const EVP_PKEY *pkey, unsigned char raw[32])
{
	size_t len = 32;

	if (!EVP_PKEY_get_raw_public_key(pkey, raw, &len) || len != 32) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

int hm_privkey_public(const struct hm_privkey *k, struct hm_pubkey **ret,
		      struct hm_error *err)
{
	unsigned char raw[32];
	struct hm_pubkey *p;

	if (raw_public(k->pkey, raw) < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "cannot get the public half of a key");
	p = calloc(1, sizeof(*p));
	if (!p)
		return hm_error_nomem(err);
	p->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
	if (!p->pkey) {
		free(p);
		ERR_clear_error();
		return hm_error_nomem(err);
	}
	*ret = p;
	return 0;
}

/* Write what bio holds to path with mode, never replacing a file. */
static int save_bio(BIO *bio, const char *path, unsigned mode,
		    struct hm_error *err)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	if (len <= 0)
		return hm_error_nomem(err);
	return hm_write_file_atomic(path, data, (size_t)len, mode, false, err);
}

/*
 * PKCS#8 with PBES2: scrypt and AES-256-CBC.  OpenSSL's default PBKDF2
 * count (2048) is cheap to brute-force; scrypt with the parameters of
 * `openssl pkcs8 -scrypt` (N=2^14, r=8, p=1: 16 MiB, tens of ms) is not,
 * and stays under the memory cap every OpenSSL 3 reader applies.
 */
static int write_encrypted(BIO *bio, EVP_PKEY *pkey, const char *pass,
			   int passlen)
{
	PKCS8_PRIV_KEY_INFO *p8inf = NULL;
	X509_ALGOR *pbe = NULL;
	X509_SIG *p8 = NULL;
	int ok = 0;

	p8inf = EVP_PKEY2PKCS8(pkey);
	if (!p8inf)
		goto out;
	pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL,
				    1 << 14, 8, 1);
	if (!pbe)
		goto out;
	p8 = PKCS8_set0_pbe(pass, passlen, p8inf, pbe);
	if (!p8)
		goto out;
	pbe = NULL;             /* owned by p8 now */
	ok = PEM_write_bio_PKCS8(bio, p8);
out:
	X509_SIG_free(p8);
	X509_ALGOR_free(pbe);
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	return ok;
}

int hm_privkey_save(const struct hm_privkey *k, const char *path,
		    const char *passphrase, struct hm_error *err)
{
	/* secmem: its buffer is cleansed when it grows and when it is freed. */
	BIO *bio = BIO_new(BIO_s_secmem());
	int r, ok;

	if (!bio)
		return hm_error_nomem(err);
	if (passphrase) {
		size_t plen = strlen(passphrase);

		if (plen == 0 || plen > HM_LIMIT_PASSPHRASE_BYTES) {
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "cannot write '%s': bad passphrase length",
					 path);
			goto out;
		}
		ok = write_encrypted(bio, k->pkey, passphrase, (int)plen);
	} else {
		ok = PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, NULL, NULL, 0,
						   NULL, NULL);
	}
	if (!ok) {
		r = crypto_fail(err, HM_ERR_NOMEM, "cannot encode the key for '%s'",
				path);
		goto out;
	}
	r = save_bio(bio, path, 0600, err);
out:
	BIO_free(bio);
	return r;
}

int hm_pubkey_save(const struct hm_pubkey *k, const char *path,
		   struct hm_error *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int r;

	if (!bio)
		return hm_error_nomem(err);
	if (!PEM_write_bio_PUBKEY(bio, k->pkey))
		r = crypto_fail(err, HM_ERR_NOMEM, "cannot encode the key for '%s'",
				path);
	else
		r = save_bio(bio, path, 0644, err);
	BIO_free(bio);
	return r;
}

/*
 * Read a private key file into a fixed buffer (wipe and free it with
 * wipe_free).  The mode is checked on the open descriptor, so the file
 * checked is the file read; symlinks are followed on purpose (users link
 * key files), the target's mode is what counts.
 */
static int read_private(const char *path, char **ret, size_t *ret_len,
			struct hm_error *err)
{
	const size_t cap = HM_LIMIT_KEYFILE_BYTES + 1;
	size_t len = 0;
	struct stat st;
	char *buf = NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "'%s' is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		r = hm_error_set(err, HM_ERR_TRUST, 0,
				 "private key '%s' is accessible by group or others (mode %04o): chmod 600 it",
				 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	buf = malloc(cap + 1);
	if (!buf) {
		r = hm_error_nomem(err);
		goto out;
	}
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > HM_LIMIT_KEYFILE_BYTES) {
		r = hm_error_set(err, HM_ERR_LIMIT, 0,
				 "'%s' is larger than %u bytes", path,
				 HM_LIMIT_KEYFILE_BYTES);
		goto out;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	if (buf) {
		OPENSSL_cleanse(buf, cap + 1);
		free(buf);
	}
	close(fd);
	return r;
}

static void wipe_free(char *buf)
{
	if (!buf)
		return;
	OPENSSL_cleanse(buf, HM_LIMIT_KEYFILE_BYTES + 2);
	free(buf);
}

static bool is_encrypted_pem(const char *data, size_t len)
{
	return memmem(data, len, ENCRYPTED_PEM, strlen(ENCRYPTED_PEM)) != NULL;
}

int hm_privkey_is_encrypted(const char *path, bool *ret, struct hm_error *err)
{
	size_t len;
	char *data;
	int r;

	r = read_private(path, &data, &len, err);
	if (r < 0)
		return r;
	*ret = is_encrypted_pem(data, len);
	wipe_free(data);
	return 0;
}

int hm_privkey_load(const char *path, const char *passphrase,
		    struct hm_privkey **ret, struct hm_error *err)
{
	PKCS8_PRIV_KEY_INFO *p8inf = NULL;
	struct hm_privkey *k = NULL;
	X509_SIG *p8 = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *data = NULL;
	size_t len;
	int r;

	r = read_private(path, &data, &len, err);
	if (r < 0)
		return r;
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio) {
		r = hm_error_nomem(err);
		goto out;
	}
	/*
	 * Decode the PKCS#8 container and decrypt it in two steps, so that a
	 * malformed file and a wrong passphrase are told apart.
	 */
	if (is_encrypted_pem(data, len)) {
		size_t plen;

		if (!passphrase) {
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "private key '%s' is encrypted: a passphrase is needed",
					 path);
			goto out;
		}
		p8 = PEM_read_bio_PKCS8(bio, NULL, NULL, NULL);
		if (!p8) {
			r = crypto_fail(err, HM_ERR_INPUT,
					"'%s' is not a PEM private key", path);
			goto out;
		}
		plen = strlen(passphrase);
		if (plen > HM_LIMIT_PASSPHRASE_BYTES)
			plen = HM_LIMIT_PASSPHRASE_BYTES;
		p8inf = PKCS8_decrypt(p8, passphrase, (int)plen);
		if (!p8inf) {
			r = crypto_fail(err, HM_ERR_TRUST,
					"cannot decrypt '%s': wrong passphrase", path);
			goto out;
		}
	} else {
		p8inf = PEM_read_bio_PKCS8_PRIV_KEY_INFO(bio, NULL, NULL, NULL);
		if (!p8inf) {
			r = crypto_fail(err, HM_ERR_INPUT,
					"'%s' is not a PEM private key", path);
			goto out;
		}
	}
	pkey = EVP_PKCS82PKEY(p8inf);
	if (!pkey) {
		r = crypto_fail(err, HM_ERR_INPUT,
				"'%s' is not a PEM private key", path);
		goto out;
	}
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		r = hm_error_set(err, HM_ERR_TRUST, 0,
				 "'%s' is not an Ed25519 private key", path);
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		r = hm_error_nomem(err);
		goto out;
	}
	k->pkey = pkey;
	pkey = NULL;
	*ret = k;
out:
	EVP_PKEY_free(pkey);
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	X509_SIG_free(p8);
	BIO_free(bio);
	wipe_free(data);
	return r;
}

/* A verifier never asks for a passphrase: OpenSSL's decoders would. */
static int refuse_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Any PEM block labelled "... PRIVATE KEY" (PKCS#8 as keygen writes it,
 * encrypted or not, and the older "EC/RSA/OPENSSH PRIVATE KEY"): given
 * as --pubkey, it is the wrong file of the pair, and OpenSSL 3 would
 * derive the public key from it, prompting on the terminal when it is
 * encrypted.
 */
static bool has_private_pem(const char *data, size_t len)
{
	static const char begin[] = "-----BEGIN ";
	const char *p = data, *end = data + len, *eol;

	while ((p = memmem(p, (size_t)(end - p), begin, strlen(begin)))) {
		p += strlen(begin);
		eol = memmem(p, (size_t)(end - p), "-----", 5);
		if (!eol)
			break;
		if (memmem(p, (size_t)(eol - p), "PRIVATE KEY", 11))
			return true;
		p = eol + 5;
	}
	return false;
}

int hm_pubkey_load(const char *path, struct hm_pubkey **ret,
		   struct hm_error *err)
{
	struct hm_pubkey *k = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *data = NULL;
	size_t len;
	int r;

	r = hm_read_file(path, HM_LIMIT_KEYFILE_BYTES, &data, &len, err);
	if (r < 0)
		return r;
	if (has_private_pem(data, len)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "'%s' is a private key: pass the .pub file", path);
		goto out;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio) {
		r = hm_error_nomem(err);
		goto out;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, refuse_passphrase, NULL);
	if (!pkey) {
		r = crypto_fail(err, HM_ERR_INPUT, "'%s' is not a PEM public key",
				path);
		goto out;
	}
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		r = hm_error_set(err, HM_ERR_TRUST, 0,
				 "'%s' is not an Ed25519 public key", path);
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		r = hm_error_nomem(err);
		goto out;
	}
	k->pkey = pkey;
	pkey = NULL;
	*ret = k;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	free(data);
	return r;
}

void hm_pubkey_id(const struct hm_pubkey *k, char out[HM_KEYID_LEN + 1])
{
	unsigned char raw[32], sha[32];

	/* Cannot fail for a loaded Ed25519 key; a zero id never matches. */
	if (raw_public(k->pkey, raw) < 0 ||
	    hm_hash_buf(HM_HASH_SHA256, raw, sizeof(raw), sha) < 0) {
		memset(out, '0', HM_KEYID_LEN);
		out[HM_KEYID_LEN] = '\0';
		return;
	}
	hm_hex_encode(sha, HM_KEYID_LEN / 2, out);
}

static void build_message(const unsigned char sha512[64],
			  unsigned char msg[MSG_LEN])
{
	/* sizeof includes the NUL that separates context and digest. */
	memcpy(msg, HM_SIGN_CONTEXT, sizeof(HM_SIGN_CONTEXT));
	memcpy(msg + sizeof(HM_SIGN_CONTEXT), sha512, HM_SHA512_LEN);
}

int hm_sign_message(const struct hm_privkey *k, const void *msg, size_t len,
		    unsigned char sig[HM_SIG_LEN], struct hm_error *err)
{
	size_t siglen = HM_SIG_LEN;
	EVP_MD_CTX *ctx;
	int r = 0;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return hm_error_nomem(err);
	/* Ed25519 is one-shot: no digest, the whole message at once. */
	if (!EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) ||
	    !EVP_DigestSign(ctx, sig, &siglen, msg, len) ||
	    siglen != HM_SIG_LEN)
		r = crypto_fail(err, HM_ERR_NOMEM, "Ed25519 signing failed");
	EVP_MD_CTX_free(ctx);
	return r;
}

int hm_verify_message(const struct hm_pubkey *k, const void *msg, size_t len,
		      const unsigned char sig[HM_SIG_LEN], struct hm_error *err)
{
	EVP_MD_CTX *ctx;
	int r = 0;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return hm_error_nomem(err);
	if (!EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey)) {
		r = crypto_fail(err, HM_ERR_NOMEM, "Ed25519 verification failed");
		goto out;
	}
	/* 1 is valid; 0 (mismatch) and < 0 (malformed) are both refusals. */
	if (EVP_DigestVerify(ctx, sig, HM_SIG_LEN, msg, len) != 1)
		r = crypto_fail(err, HM_ERR_TRUST, "signature does not match");
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

int hm_sign_manifest_digest(const struct hm_privkey *k,
			    const unsigned char sha512[64],
			    unsigned char sig[HM_SIG_LEN], struct hm_error *err)
{
	unsigned char msg[MSG_LEN];

	build_message(sha512, msg);
	return hm_sign_message(k, msg, sizeof(msg), sig, err);
}

int hm_verify_manifest_digest(const struct hm_pubkey *k,
			      const unsigned char sha512[64],
			      const unsigned char sig[HM_SIG_LEN],
			      struct hm_error *err)
{
	unsigned char msg[MSG_LEN];

	build_message(sha512, msg);
	return hm_verify_message(k, msg, sizeof(msg), sig, err);
}

static bool keyid_valid(const char *s, size_t len)
{
	size_t i;

	if (len != HM_KEYID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int hm_sigfile_format(const char keyid[HM_KEYID_LEN + 1],
		      const unsigned char sig[HM_SIG_LEN], char **ret,
		      size_t *ret_len, struct hm_error *err)
{
	unsigned char b64[SIG_B64_LEN + 1];
	char *out;
	int n;

	if (!keyid_valid(keyid, strnlen(keyid, HM_KEYID_LEN + 1)))
		return hm_error_set(err, HM_ERR_USAGE, 0, "bad key id '%.*s'",
				    HM_KEYID_LEN + 1, keyid);
	if (EVP_EncodeBlock(b64, sig, HM_SIG_LEN) != SIG_B64_LEN)
		return hm_error_nomem(err);
	n = asprintf(&out, SIGFILE_MAGIC "\nkey %s\ned25519 %s\n", keyid,
		     (const char *)b64);
	if (n < 0)
		return hm_error_nomem(err);
	*ret = out;
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

/* Decode exactly 88 canonical base64 characters into 64 bytes. */
static int decode_sig(const char *b64, size_t len, unsigned char sig[HM_SIG_LEN])
{
	unsigned char out[SIG_B64_LEN], again[SIG_B64_LEN + 1];
	int n;

	if (len != SIG_B64_LEN)
		return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, SIG_B64_LEN);
	/* The count includes the two padding bytes: 22 groups of 3. */
	if (n != SIG_B64_LEN / 4 * 3) {
		ERR_clear_error();
		return -1;
	}
	/*
	 * EVP_DecodeBlock skips surrounding blanks and does not insist on
	 * padding or zero spare bits; re-encoding and comparing accepts only
	 * the one canonical spelling.
	 */
	if (EVP_EncodeBlock(again, out, HM_SIG_LEN) != SIG_B64_LEN ||
	    memcmp(again, b64, SIG_B64_LEN) != 0)
		return -1;
	memcpy(sig, out, HM_SIG_LEN);
	return 0;
}

int hm_sigfile_parse(const char *data, size_t len, const char *name,
		     char keyid[HM_KEYID_LEN + 1],
		     unsigned char sig[HM_SIG_LEN], struct hm_error *err)
{
	const char *line[3], *p = data, *end = data + len;
	size_t llen[3];
	unsigned char s[HM_SIG_LEN];
	int i;

	if (len > HM_LIMIT_SIGFILE_BYTES)
		return hm_error_set(err, HM_ERR_TRUST, 0,
				    "signature '%s' is larger than %u bytes",
				    name, HM_LIMIT_SIGFILE_BYTES);
	for (i = 0; i < 3; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			return hm_error_set(err, HM_ERR_TRUST, 0,
					    p == end ? "%s:%d: missing line" :
					    "%s:%d: missing newline at the end",
					    name, i + 1);
		line[i] = p;
		llen[i] = (size_t)(nl - p);
		if (memchr(p, '\r', llen[i]))
			return hm_error_set(err, HM_ERR_TRUST, 0,
					    "%s:%d: carriage return (CRLF line ends are not allowed)",
					    name, i + 1);
		if (memchr(p, '\0', llen[i]))
			return hm_error_set(err, HM_ERR_TRUST, 0,
					    "%s:%d: NUL byte", name, i + 1);
		p = nl + 1;
	}
	if (p != end)
		return hm_error_set(err, HM_ERR_TRUST, 0,
				    "%s:4: trailing data after the signature", name);
	if (llen[0] != strlen(SIGFILE_MAGIC) ||
	    memcmp(line[0], SIGFILE_MAGIC, llen[0]) != 0)
		return hm_error_set(err, HM_ERR_TRUST, 0,
				    "%s:1: expected '" SIGFILE_MAGIC "'", name);
	if (llen[1] < 4 || memcmp(line[1], "key ", 4) != 0 ||
	    !keyid_valid(line[1] + 4, llen[1] - 4))
		return hm_error_set(err, HM_ERR_TRUST, 0,
				    "%s:2: expected 'key' and 16 lowercase hex digits",
				    name);
	if (llen[2] < 8 || memcmp(line[2], "ed25519 ", 8) != 0 ||
	    decode_sig(line[2] + 8, llen[2] - 8, s) < 0)
		return hm_error_set(err, HM_ERR_TRUST, 0,
				    "%s:3: expected 'ed25519' and a base64 64-byte signature",
				    name);
	memcpy(keyid, line[1] + 4, HM_KEYID_LEN);
	keyid[HM_KEYID_LEN] = '\0';
	memcpy(sig, s, HM_SIG_LEN);
	return 0;
}

int hm_sigfile_load(const char *path, char keyid[HM_KEYID_LEN + 1],
		    unsigned char sig[HM_SIG_LEN], struct hm_error *err)
{
	struct hm_error e = { 0 };
	char *data = NULL;
	size_t len;
	int r;

	r = hm_read_file(path, HM_LIMIT_SIGFILE_BYTES, &data, &len, &e);
	if (r < 0) {
		if (e.sys_errno == ENOENT)
			return hm_error_set(err, HM_ERR_TRUST, 0,
					    "missing signature '%s'", path);
		/* Too large or not a file: a bad signature, not an I/O error. */
		if (r == HM_ERR_LIMIT || r == HM_ERR_INPUT)
			r = e.code = HM_ERR_TRUST;
		if (err)
			*err = e;
		return r;
	}
	r = hm_sigfile_parse(data, len, path, keyid, sig, err);
	free(data);
	return r;
}

/* ---- signing a manifest file ----------------------------------------------- */

/*
 * The SHA-256 of the same bytes on a second thread, one chunk at a time
 * while the caller hashes that chunk with SHA-512: a 100 MB manifest is
 * read once and hashed in the time of the slower hash, not of the two,
 * and verify's walk cannot start before that is done.
 */
struct side_hash {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hm_hash *h;
	const void *data;       /* the chunk handed over, while busy */
	size_t len;
	bool busy, done;
};

static void *side_main(void *arg)
{
	struct side_hash *sh = arg;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		while (!sh->busy && !sh->done)
			pthread_cond_wait(&sh->cv, &sh->mu);
		if (!sh->busy)
			break;
		pthread_mutex_unlock(&sh->mu);
		hm_hash_update(sh->h, sh->data, sh->len);
		pthread_mutex_lock(&sh->mu);
		sh->busy = false;
		pthread_cond_broadcast(&sh->cv);
	}
	pthread_mutex_unlock(&sh->mu);
	return NULL;
}

/* Wait until the chunk handed over before is hashed; then hand over data
 * (or, with data NULL, say that no more is coming). */
static void side_give(struct side_hash *sh, const void *data, size_t len)
{
	pthread_mutex_lock(&sh->mu);
	while (sh->busy)
		pthread_cond_wait(&sh->cv, &sh->mu);
	if (data) {
		sh->data = data;
		sh->len = len;
		sh->busy = true;
	} else {
		sh->done = true;
	}
	pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
}

/* One reader for `hallmark sign`, the build and the signature-first
 * opening of lib/trust.c: the signature covers the exact bytes. */
int hm_manifest_hash_fd(int fd, const char *path, const void *prefix,
			size_t prefix_len, unsigned char sha512[64],
			unsigned char sha256[32], struct hm_error *err)
{
	enum { CHUNK = 256 * 1024 };
	struct hm_hash *h512 = hm_hash_new(HM_HASH_SHA512);
	struct side_hash sh = {
		.mu = PTHREAD_MUTEX_INITIALIZER,
		.cv = PTHREAD_COND_INITIALIZER,
		.h = sha256 ? hm_hash_new(HM_HASH_SHA256) : NULL,
	};
	/* Two buffers: one is read into while the side thread hashes the
	 * other. */
	unsigned char *buf = malloc(2 * CHUNK);
	bool side = false;
	uint64_t total = prefix_len;
	ssize_t n = (ssize_t)prefix_len;
	unsigned k = 0;
	int r = 0;

	if (!h512 || (sha256 && !sh.h) || !buf) {
		r = hm_error_nomem(err);
		goto out;
	}
	/* Without the thread, both hashes on this one. */
	side = sh.h && pthread_create(&sh.tid, NULL, side_main, &sh) == 0;
	for (;; k ^= 1) {
		unsigned char *into = buf + (size_t)k * CHUNK;
		const void *data = into;

		if (prefix) {
			data = prefix;
			prefix = NULL;
		} else if ((n = read(fd, into, CHUNK)) < 0) {
			if (errno == EINTR) {
				k ^= 1;         /* the same buffer again */
				continue;
			}
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s'", path);
			goto out;
		} else if (n == 0) {
			break;
		} else {
			total += (uint64_t)n;
		}
		if (total > HM_LIMIT_MANIFEST_BYTES) {
			r = hm_error_set(err, HM_ERR_LIMIT, 0,
					 "manifest '%s' is larger than %llu bytes",
					 path, (unsigned long long)HM_LIMIT_MANIFEST_BYTES);
			goto out;
		}
		if (side)
			side_give(&sh, data, (size_t)n);
		else if (sh.h)
			hm_hash_update(sh.h, data, (size_t)n);
		hm_hash_update(h512, data, (size_t)n);
	}
	if (side) {
		side_give(&sh, NULL, 0);
		pthread_join(sh.tid, NULL);
		side = false;
	}
	hm_hash_final(h512, sha512);
	if (sh.h)
		hm_hash_final(sh.h, sha256);
out:
	if (side) {
		side_give(&sh, NULL, 0);
		pthread_join(sh.tid, NULL);
	}
	free(buf);
	hm_hash_free(h512);
	hm_hash_free(sh.h);
	return r;
}

int hm_sign_manifest_fd(const struct hm_privkey *k, int fd, const char *path,
			const void *prefix, size_t prefix_len, char **ret,
			size_t *ret_len, struct hm_error *err)
{
	unsigned char sha512[64], sig[HM_SIG_LEN];
	char keyid[HM_KEYID_LEN + 1];
	struct hm_pubkey *pub = NULL;
	int r;

	if ((r = hm_privkey_public(k, &pub, err)) < 0)
		return r;
	hm_pubkey_id(pub, keyid);
	hm_pubkey_free(pub);
	if ((r = hm_manifest_hash_fd(fd, path, prefix, prefix_len, sha512, NULL,
				     err)) < 0 ||
	    (r = hm_sign_manifest_digest(k, sha512, sig, err)) < 0)
		return r;
	return hm_sigfile_format(keyid, sig, ret, ret_len, err);
}

int hm_sign_manifest_file(const struct hm_privkey *k, const char *path,
			  char **ret, size_t *ret_len, struct hm_error *err)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s' is not a regular file", path);
	else
		r = hm_sign_manifest_fd(k, fd, path, NULL, 0, ret, ret_len, err);
	close(fd);
	return r;
}
