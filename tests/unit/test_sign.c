/* Unit tests: Ed25519 keys, signatures, signature files, passphrases. */
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/sign.h"

#define PASS "correct horse battery staple"

static int write_text(const char *path, const char *text, unsigned mode)
{
	struct hm_error err;

	return hm_write_file_atomic(path, text, strlen(text), mode, true, &err);
}

/* A public key PEM of another algorithm, made with OpenSSL directly. */
static int write_foreign_pubkey(const char *path, const char *alg,
				const char *param)
{
	EVP_PKEY *pkey = param ? EVP_PKEY_Q_keygen(NULL, NULL, alg, param) :
				 EVP_PKEY_Q_keygen(NULL, NULL, alg);
	FILE *f = fopen(path, "w");
	int r = -1;

	if (pkey && f && PEM_write_PUBKEY(f, pkey))
		r = 0;
	if (f && fclose(f) != 0)
		r = -1;
	EVP_PKEY_free(pkey);
	return r;
}

static void sample_digest(unsigned char sha[64])
{
	hm_hash_buf(HM_HASH_SHA512, "hallmark-manifest 1\n", 20, sha);
}

TEST(generate_sign_verify)
{
	struct hm_error err = { 0 };
	struct hm_privkey *k = NULL;
	struct hm_pubkey *p = NULL;
	unsigned char sha[64], sig[HM_SIG_LEN], sig2[HM_SIG_LEN];

	sample_digest(sha);
	CHECK_OK(hm_privkey_generate(&k, &err), &err);
	CHECK_OK(hm_privkey_public(k, &p, &err), &err);
	CHECK_OK(hm_sign_manifest_digest(k, sha, sig, &err), &err);
	CHECK_OK(hm_verify_manifest_digest(p, sha, sig, &err), &err);
	/* Ed25519 is deterministic. */
	CHECK_OK(hm_sign_manifest_digest(k, sha, sig2, &err), &err);
	CHECK(memcmp(sig, sig2, HM_SIG_LEN) == 0);

	sha[17] ^= 0x04;
	CHECK_EQ_INT(hm_verify_manifest_digest(p, sha, sig, &err), HM_ERR_TRUST);
	CHECK_EQ_STR(err.msg, "signature does not match");
	sha[17] ^= 0x04;
	sig[40] ^= 0x80;
	CHECK_EQ_INT(hm_verify_manifest_digest(p, sha, sig, &err), HM_ERR_TRUST);
	sig[40] ^= 0x80;
	CHECK_OK(hm_verify_manifest_digest(p, sha, sig, &err), &err);
	hm_privkey_free(k);
	hm_pubkey_free(p);
}

TEST(other_key_does_not_verify)
{
	struct hm_error err = { 0 };
	struct hm_privkey *a = NULL, *b = NULL;
	struct hm_pubkey *pa = NULL, *pb = NULL;
	unsigned char sha[64], sig[HM_SIG_LEN];
	char ida[HM_KEYID_LEN + 1], idb[HM_KEYID_LEN + 1];

	sample_digest(sha);
	CHECK_OK(hm_privkey_generate(&a, &err), &err);
	CHECK_OK(hm_privkey_generate(&b, &err), &err);
	CHECK_OK(hm_privkey_public(a, &pa, &err), &err);
	CHECK_OK(hm_privkey_public(b, &pb, &err), &err);
	hm_pubkey_id(pa, ida);
	hm_pubkey_id(pb, idb);
	CHECK(strcmp(ida, idb) != 0);
	CHECK_OK(hm_sign_manifest_digest(a, sha, sig, &err), &err);
	CHECK_EQ_INT(hm_verify_manifest_digest(pb, sha, sig, &err), HM_ERR_TRUST);
	hm_privkey_free(a);
	hm_privkey_free(b);
	hm_pubkey_free(pa);
	hm_pubkey_free(pb);
}

/* The signed message is exactly context, NUL, SHA-512: check with plain
 * OpenSSL, independently of sign.c's message builder. */
TEST(signed_message_layout)
{
	struct hm_error err = { 0 };
	struct hm_privkey *k = NULL;
	struct hm_pubkey *p = NULL;
	unsigned char sha[64], sig[HM_SIG_LEN], msg[85], raw[32];
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t rawlen = sizeof(raw);
	FILE *f;

	sample_digest(sha);
	CHECK_OK(hm_privkey_generate(&k, &err), &err);
	CHECK_OK(hm_privkey_public(k, &p, &err), &err);
	CHECK_OK(hm_sign_manifest_digest(k, sha, sig, &err), &err);
	CHECK_OK(hm_pubkey_save(p, "k.pub", &err), &err);
	f = fopen("k.pub", "r");
	CHECK(f);
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	CHECK(pkey);
	memcpy(msg, "hallmark/manifest/v1", 20);
	msg[20] = 0;
	memcpy(msg + 21, sha, 64);
	ctx = EVP_MD_CTX_new();
	CHECK(ctx);
	CHECK_EQ_INT(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey), 1);
	CHECK_EQ_INT(EVP_DigestVerify(ctx, sig, 64, msg, sizeof(msg)), 1);

	/* And the key id is SHA-256 of the raw key, first 8 bytes. */
	{
		unsigned char h[32];
		char want[17], got[HM_KEYID_LEN + 1];

		CHECK_EQ_INT(EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen), 1);
		CHECK_EQ_INT(rawlen, 32);
		hm_hash_buf(HM_HASH_SHA256, raw, 32, h);
		hm_hex_encode(h, 8, want);
		hm_pubkey_id(p, got);
		CHECK_EQ_STR(got, want);
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	hm_privkey_free(k);
	hm_pubkey_free(p);
}

static void save_load(const char *pass)
{
	struct hm_error err = { 0 };
	struct hm_privkey *k = NULL, *k2 = NULL;
	struct hm_pubkey *p = NULL, *p2 = NULL, *p3 = NULL;
	char id1[HM_KEYID_LEN + 1], id2[HM_KEYID_LEN + 1], id3[HM_KEYID_LEN + 1];
	unsigned char sha[64], sig[HM_SIG_LEN];
	char *text = NULL;
	struct stat st;
	bool enc = pass == NULL;    /* the opposite of what must come back */

	sample_digest(sha);
	CHECK_OK(hm_privkey_generate(&k, &err), &err);
	CHECK_OK(hm_privkey_public(k, &p, &err), &err);
	CHECK_OK(hm_privkey_save(k, "x.key", pass, &err), &err);
	CHECK_OK(hm_pubkey_save(p, "x.pub", &err), &err);
	CHECK_EQ_INT(stat("x.key", &st), 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	CHECK_EQ_INT(stat("x.pub", &st), 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0644);

	CHECK_OK(hm_read_file("x.key", 100000, &text, NULL, &err), &err);
	CHECK_EQ_INT(strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL,
		     pass != NULL);
	CHECK_EQ_INT(strstr(text, "-----BEGIN PRIVATE KEY-----") != NULL,
		     pass == NULL);
	free(text);
	CHECK_OK(hm_privkey_is_encrypted("x.key", &enc, &err), &err);
	CHECK_EQ_INT(enc, pass != NULL);

	CHECK_OK(hm_privkey_load("x.key", pass, &k2, &err), &err);
	CHECK_OK(hm_privkey_public(k2, &p2, &err), &err);
	CHECK_OK(hm_pubkey_load("x.pub", &p3, &err), &err);
	hm_pubkey_id(p, id1);
	hm_pubkey_id(p2, id2);
	hm_pubkey_id(p3, id3);
	CHECK_EQ_INT(strlen(id1), HM_KEYID_LEN);
	CHECK_EQ_STR(id1, id2);
	CHECK_EQ_STR(id1, id3);
	/* The loaded private key signs what the saved public key accepts. */
	CHECK_OK(hm_sign_manifest_digest(k2, sha, sig, &err), &err);
	CHECK_OK(hm_verify_manifest_digest(p3, sha, sig, &err), &err);

	/* Never overwrite a key file. */
	CHECK(hm_privkey_save(k, "x.key", pass, &err) < 0);
	CHECK(hm_pubkey_save(p, "x.pub", &err) < 0);
	hm_privkey_free(k);
	hm_privkey_free(k2);
	hm_pubkey_free(p);
	hm_pubkey_free(p2);
	hm_pubkey_free(p3);
}

TEST(save_load_encrypted)
{
	save_load(PASS);
}

TEST(save_load_plain)
{
	save_load(NULL);
}

TEST(wrong_or_missing_passphrase)
{
	struct hm_error err = { 0 };
	struct hm_privkey *k = NULL, *k2 = NULL;

	CHECK_OK(hm_privkey_generate(&k, &err), &err);
	CHECK_OK(hm_privkey_save(k, "x.key", PASS, &err), &err);
	CHECK_EQ_INT(hm_privkey_load("x.key", "correct horse battery stapler",
				     &k2, &err), HM_ERR_TRUST);
	CHECK(strstr(err.msg, "wrong passphrase") != NULL);
	CHECK(strstr(err.msg, "'x.key'") != NULL);
	CHECK(k2 == NULL);
	CHECK_EQ_INT(hm_privkey_load("x.key", NULL, &k2, &err), HM_ERR_USAGE);
	CHECK(strstr(err.msg, "encrypted") != NULL);
	CHECK(k2 == NULL);
	hm_privkey_free(k);
}

TEST(private_key_mode_refused)
{
	struct hm_error err = { 0 };
	struct hm_privkey *k = NULL, *k2 = NULL;
	bool enc;

	CHECK_OK(hm_privkey_generate(&k, &err), &err);
	CHECK_OK(hm_privkey_save(k, "x.key", NULL, &err), &err);
	CHECK_EQ_INT(chmod("x.key", 0644), 0);
	CHECK_EQ_INT(hm_privkey_load("x.key", NULL, &k2, &err), HM_ERR_TRUST);
	CHECK(strstr(err.msg, "'x.key'") != NULL);
	CHECK(strstr(err.msg, "0644") != NULL);
	CHECK_EQ_INT(hm_privkey_is_encrypted("x.key", &enc, &err), HM_ERR_TRUST);
	CHECK_EQ_INT(chmod("x.key", 0620), 0);     /* group-writable too */
	CHECK_EQ_INT(hm_privkey_load("x.key", NULL, &k2, &err), HM_ERR_TRUST);
	CHECK_EQ_INT(chmod("x.key", 0400), 0);
	CHECK_OK(hm_privkey_load("x.key", NULL, &k2, &err), &err);
	/* A symlink to a private file is fine: the target's mode counts. */
	CHECK_EQ_INT(symlink("x.key", "link.key"), 0);
	hm_privkey_free(k2);
	k2 = NULL;
	CHECK_OK(hm_privkey_load("link.key", NULL, &k2, &err), &err);
	hm_privkey_free(k);
	hm_privkey_free(k2);
}

TEST(bad_key_files)
{
	struct hm_error err = { 0 };
	struct hm_privkey *k = NULL;
	struct hm_pubkey *p = NULL;
	CHECK_EQ_INT(hm_privkey_load("nope.key", NULL, &k, &err), HM_ERR_IO);
	CHECK_EQ_INT(hm_pubkey_load("nope.pub", &p, &err), HM_ERR_IO);
	CHECK_EQ_INT(write_text("garbage.key", "hello\n", 0600), 0);
	CHECK_EQ_INT(hm_privkey_load("garbage.key", NULL, &k, &err), HM_ERR_INPUT);
	CHECK_EQ_INT(write_text("garbage.pub", "hello\n", 0644), 0);
	CHECK_EQ_INT(hm_pubkey_load("garbage.pub", &p, &err), HM_ERR_INPUT);
	/* A public key where a private one is expected, and vice versa. */
	CHECK_OK(hm_privkey_generate(&k, &err), &err);
	CHECK_OK(hm_privkey_public(k, &p, &err), &err);
	CHECK_OK(hm_privkey_save(k, "x.key", NULL, &err), &err);
	CHECK_OK(hm_pubkey_save(p, "x.pub", &err), &err);
	hm_privkey_free(k);
	hm_pubkey_free(p);
	k = NULL;
	p = NULL;
	CHECK_EQ_INT(chmod("x.pub", 0600), 0);
	CHECK(hm_privkey_load("x.pub", NULL, &k, &err) < 0);
	CHECK(hm_pubkey_load("x.key", &p, &err) < 0);
	CHECK(k == NULL && p == NULL);
}

/*
 * A private key given as the public one (issue 14, item 3): refused by
 * its PEM label before OpenSSL sees it, so an encrypted one never makes
 * OpenSSL ask for its passphrase.
 */
TEST(private_key_as_public_key)
{
	struct hm_error err = { 0 };
	struct hm_privkey *k = NULL;
	struct hm_pubkey *p = NULL;

	CHECK_OK(hm_privkey_generate(&k, &err), &err);
	CHECK_OK(hm_privkey_save(k, "plain.key", NULL, &err), &err);
	CHECK_OK(hm_privkey_save(k, "enc.key", PASS, &err), &err);
	hm_privkey_free(k);
	CHECK_EQ_INT(hm_pubkey_load("plain.key", &p, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'plain.key' is a private key: pass the .pub file");
	CHECK_EQ_INT(hm_pubkey_load("enc.key", &p, &err), HM_ERR_INPUT);
	CHECK_EQ_STR(err.msg, "'enc.key' is a private key: pass the .pub file");
	CHECK_EQ_INT(write_text("ssh.key", "-----BEGIN OPENSSH PRIVATE KEY-----\n"
				"b3BlbnNzaC1rZXktdjEAAAAA\n"
				"-----END OPENSSH PRIVATE KEY-----\n", 0600), 0);
	CHECK_EQ_INT(hm_pubkey_load("ssh.key", &p, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "is a private key") != NULL);
	CHECK(p == NULL);
}

TEST(foreign_public_keys_refused)
{
	struct hm_error err = { 0 };
	struct hm_pubkey *p = NULL;

	CHECK_EQ_INT(write_foreign_pubkey("ec.pub", "EC", "P-256"), 0);
	CHECK_EQ_INT(hm_pubkey_load("ec.pub", &p, &err), HM_ERR_TRUST);
	CHECK_EQ_STR(err.msg, "'ec.pub' is not an Ed25519 public key");
	/* Same 32-byte size, different curve use. */
	CHECK_EQ_INT(write_foreign_pubkey("x25519.pub", "X25519", NULL), 0);
	CHECK_EQ_INT(hm_pubkey_load("x25519.pub", &p, &err), HM_ERR_TRUST);
	CHECK_EQ_INT(write_foreign_pubkey("ed448.pub", "ED448", NULL), 0);
	CHECK_EQ_INT(hm_pubkey_load("ed448.pub", &p, &err), HM_ERR_TRUST);
	CHECK(p == NULL);
}

TEST(foreign_private_key_refused)
{
	struct hm_error err = { 0 };
	struct hm_privkey *k = NULL;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	FILE *f;

	CHECK(pkey);
	f = fopen("ec.key", "w");
	CHECK(f);
	CHECK_EQ_INT(PEM_write_PKCS8PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(pkey);
	CHECK_EQ_INT(chmod("ec.key", 0600), 0);
	CHECK_EQ_INT(hm_privkey_load("ec.key", NULL, &k, &err), HM_ERR_TRUST);
	CHECK(strstr(err.msg, "Ed25519") != NULL);
	CHECK(k == NULL);
}

static void some_sig(unsigned char sig[HM_SIG_LEN])
{
	int i;

	for (i = 0; i < HM_SIG_LEN; i++)
		sig[i] = (unsigned char)(i * 37 + 11);
}

TEST(sigfile_round_trip)
{
	struct hm_error err = { 0 };
	unsigned char sig[HM_SIG_LEN], sig2[HM_SIG_LEN];
	char id[HM_KEYID_LEN + 1];
	char *text = NULL;
	size_t len = 0;
	const char *nl;

	some_sig(sig);
	CHECK_OK(hm_sigfile_format("0123456789abcdef", sig, &text, &len, &err), &err);
	CHECK_EQ_INT(len, strlen(text));
	CHECK(strncmp(text, "hallmark-signature 1\nkey 0123456789abcdef\ned25519 ", 50) == 0);
	nl = strchr(text + 50, '\n');
	CHECK(nl != NULL);
	CHECK_EQ_INT(nl - (text + 50), 88);
	CHECK_EQ_INT(nl[1], '\0');
	CHECK_OK(hm_sigfile_parse(text, len, "s.sig", id, sig2, &err), &err);
	CHECK_EQ_STR(id, "0123456789abcdef");
	CHECK(memcmp(sig, sig2, HM_SIG_LEN) == 0);

	CHECK_EQ_INT(hm_write_file_atomic("s.sig", text, len, 0644, false, &err), 0);
	memset(sig2, 0, sizeof(sig2));
	CHECK_OK(hm_sigfile_load("s.sig", id, sig2, &err), &err);
	CHECK(memcmp(sig, sig2, HM_SIG_LEN) == 0);
	free(text);

	CHECK(hm_sigfile_format("0123456789ABCDEF", sig, &text, &len, &err) < 0);
	{
		char short_id[HM_KEYID_LEN + 1] = "0123456789abcde";

		CHECK(hm_sigfile_format(short_id, sig, &text, &len, &err) < 0);
	}
}

/* Parse text that is expected to be refused as a trust failure naming
 * the file and the line. */
#define CHECK_REFUSED(text, line)                                          \
	do {                                                               \
		struct hm_error _e = { 0 };                                \
		char _id[HM_KEYID_LEN + 1];                                \
		unsigned char _s[HM_SIG_LEN];                              \
		CHECK_EQ_INT(hm_sigfile_parse((text), strlen(text), "bad.sig", \
					      _id, _s, &_e), HM_ERR_TRUST); \
		CHECK(strncmp(_e.msg, "bad.sig:" line ":", strlen("bad.sig:" line ":")) == 0); \
	} while (0)

TEST(sigfile_strict)
{
	struct hm_error err = { 0 };
	unsigned char sig[HM_SIG_LEN];
	char *good = NULL, buf[512], *b64;
	size_t len;

	some_sig(sig);
	CHECK_OK(hm_sigfile_format("0123456789abcdef", sig, &good, &len, &err), &err);
	b64 = strstr(good, "ed25519 ") + 8;
	CHECK(b64[86] == '=' && b64[87] == '=');

	CHECK_REFUSED("", "1");
	CHECK_REFUSED("hallmark-signature 2\nkey 0123456789abcdef\ned25519 x\n", "1");
	/* CRLF anywhere. */
	snprintf(buf, sizeof(buf), "hallmark-signature 1\r\nkey 0123456789abcdef\ned25519 %.88s\n", b64);
	CHECK_REFUSED(buf, "1");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef\ned25519 %.88s\r\n", b64);
	CHECK_REFUSED(buf, "3");
	/* Extra line, trailing data, missing final newline. */
	snprintf(buf, sizeof(buf), "%s\n", good);
	CHECK_REFUSED(buf, "4");
	snprintf(buf, sizeof(buf), "%sextra\n", good);
	CHECK_REFUSED(buf, "4");
	snprintf(buf, sizeof(buf), "%.*s", (int)len - 1, good);
	CHECK_REFUSED(buf, "3");
	/* Key ids: uppercase, short, long, missing. */
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789ABCDEF\ned25519 %.88s\n", b64);
	CHECK_REFUSED(buf, "2");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcde\ned25519 %.88s\n", b64);
	CHECK_REFUSED(buf, "2");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef0\ned25519 %.88s\n", b64);
	CHECK_REFUSED(buf, "2");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey  0123456789abcdef\ned25519 %.88s\n", b64);
	CHECK_REFUSED(buf, "2");
	/* Signatures: short, wrong algorithm, bad characters, no padding,
	 * surrounding blanks, non-canonical spare bits. */
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef\ned25519 %.84s\n", b64);
	CHECK_REFUSED(buf, "3");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef\ned448 %.88s\n", b64);
	CHECK_REFUSED(buf, "3");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef\ned25519 *%.87s\n", b64 + 1);
	CHECK_REFUSED(buf, "3");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef\ned25519 %.86sAA\n", b64);
	CHECK_REFUSED(buf, "3");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef\ned25519 %.86s\n", b64);
	CHECK_REFUSED(buf, "3");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef\ned25519  %.88s\n", b64);
	CHECK_REFUSED(buf, "3");
	snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef\ned25519 %.88s \n", b64);
	CHECK_REFUSED(buf, "3");
	{
		/* Flip a spare bit of the last sextet: decodes to the same
		 * bytes, but is not the canonical spelling. */
		static const char alphabet[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *pos = strchr(alphabet, b64[85]);
		char alt[89];

		CHECK(pos);
		memcpy(alt, b64, 88);
		alt[88] = '\0';
		alt[85] = alphabet[(pos - alphabet) ^ 1];
		snprintf(buf, sizeof(buf), "hallmark-signature 1\nkey 0123456789abcdef\ned25519 %s\n", alt);
		CHECK_REFUSED(buf, "3");
	}
	/* A NUL byte inside a line. */
	{
		char id[HM_KEYID_LEN + 1];
		unsigned char s[HM_SIG_LEN];
		char copy[512];

		memcpy(copy, good, len);
		copy[5] = '\0';
		CHECK_EQ_INT(hm_sigfile_parse(copy, len, "bad.sig", id, s, &err),
			     HM_ERR_TRUST);
	}
	free(good);
}

TEST(sigfile_load_errors)
{
	struct hm_error err = { 0 };
	char id[HM_KEYID_LEN + 1];
	unsigned char sig[HM_SIG_LEN];
	char *big;

	CHECK_EQ_INT(hm_sigfile_load("missing.sig", id, sig, &err), HM_ERR_TRUST);
	CHECK_EQ_STR(err.msg, "missing signature 'missing.sig'");
	big = malloc(8192);
	CHECK(big);
	memset(big, 'a', 8191);
	big[8191] = '\0';
	CHECK_EQ_INT(write_text("big.sig", big, 0644), 0);
	free(big);
	CHECK_EQ_INT(hm_sigfile_load("big.sig", id, sig, &err), HM_ERR_TRUST);
	CHECK(strstr(err.msg, "big.sig") != NULL);
	CHECK_EQ_INT(mkdir("dir.sig", 0755), 0);
	CHECK_EQ_INT(hm_sigfile_load("dir.sig", id, sig, &err), HM_ERR_TRUST);
	CHECK_EQ_INT(write_text("crlf.sig", "hallmark-signature 1\r\n", 0644), 0);
	CHECK_EQ_INT(hm_sigfile_load("crlf.sig", id, sig, &err), HM_ERR_TRUST);
	CHECK(strncmp(err.msg, "crlf.sig:1:", 11) == 0);
}

TEST(passphrase_from_file)
{
	struct hm_error err = { 0 };
	char *p = NULL, big[HM_LIMIT_PASSPHRASE_BYTES + 3];

	unsetenv("HALLMARK_PASSPHRASE_FILE");
	CHECK_EQ_INT(write_text("pass", PASS "\n", 0600), 0);
	CHECK_OK(hm_passphrase_get("pass", NULL, true, &p, &err), &err);
	CHECK_EQ_STR(p, PASS);
	hm_passphrase_free(p);
	p = NULL;
	/* Only one newline is dropped; no newline at all is fine. */
	CHECK_EQ_INT(write_text("pass2", "abc", 0600), 0);
	CHECK_OK(hm_passphrase_get("pass2", NULL, false, &p, &err), &err);
	CHECK_EQ_STR(p, "abc");
	hm_passphrase_free(p);
	p = NULL;
	CHECK_EQ_INT(write_text("pass3", "abc\n\n", 0600), 0);
	CHECK(hm_passphrase_get("pass3", NULL, false, &p, &err) < 0);
	/* The environment names the file when no file is given. */
	setenv("HALLMARK_PASSPHRASE_FILE", "pass2", 1);
	CHECK_OK(hm_passphrase_get(NULL, NULL, false, &p, &err), &err);
	CHECK_EQ_STR(p, "abc");
	hm_passphrase_free(p);
	p = NULL;
	/* An explicit file wins over the environment. */
	CHECK_OK(hm_passphrase_get("pass", NULL, false, &p, &err), &err);
	CHECK_EQ_STR(p, PASS);
	hm_passphrase_free(p);
	p = NULL;
	unsetenv("HALLMARK_PASSPHRASE_FILE");

	CHECK_EQ_INT(write_text("empty", "\n", 0600), 0);
	CHECK_EQ_INT(hm_passphrase_get("empty", NULL, false, &p, &err), HM_ERR_USAGE);
	/* Readable by others: refused as a private key file is (issue 14). */
	CHECK_EQ_INT(write_text("loose", PASS "\n", 0640), 0);
	CHECK_EQ_INT(chmod("loose", 0640), 0);
	CHECK_EQ_INT(hm_passphrase_get("loose", NULL, false, &p, &err), HM_ERR_TRUST);
	CHECK_EQ_STR(err.msg, "passphrase file 'loose' is accessible by group or others (mode 0640): chmod 600 it");
	CHECK(p == NULL);
	CHECK_EQ_INT(hm_passphrase_get("none", NULL, false, &p, &err), HM_ERR_IO);
	/* Exactly at the limit (plus newline) is fine, one more byte is not. */
	memset(big, 'x', HM_LIMIT_PASSPHRASE_BYTES);
	big[HM_LIMIT_PASSPHRASE_BYTES] = '\n';
	big[HM_LIMIT_PASSPHRASE_BYTES + 1] = '\0';
	CHECK_EQ_INT(write_text("long", big, 0600), 0);
	CHECK_OK(hm_passphrase_get("long", NULL, false, &p, &err), &err);
	CHECK_EQ_INT(strlen(p), HM_LIMIT_PASSPHRASE_BYTES);
	hm_passphrase_free(p);
	p = NULL;
	big[HM_LIMIT_PASSPHRASE_BYTES] = 'x';
	big[HM_LIMIT_PASSPHRASE_BYTES + 1] = '\n';
	big[HM_LIMIT_PASSPHRASE_BYTES + 2] = '\0';
	CHECK_EQ_INT(write_text("toolong", big, 0600), 0);
	CHECK_EQ_INT(hm_passphrase_get("toolong", NULL, false, &p, &err), HM_ERR_LIMIT);
	CHECK(p == NULL);
}

TEST(passphrase_without_terminal)
{
	struct hm_error err = { 0 };
	char *p = NULL;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);

	if (fd >= 0) {
		/* A terminal is there: it would prompt; nothing to check. */
		close(fd);
		return;
	}
	unsetenv("HALLMARK_PASSPHRASE_FILE");
	CHECK_EQ_INT(hm_passphrase_get(NULL, "Passphrase: ", false, &p, &err),
		     HM_ERR_USAGE);
	CHECK(strstr(err.msg, "--passphrase-file") != NULL);
	CHECK(p == NULL);
}

/* Signing a manifest file: one reader for sign, build and verify. The
 * signature file of a file verifies against its SHA-512; bytes the
 * caller read first (the magic line) count as if read here. */
TEST(sign_manifest_file)
{
	static const char text[] = "hallmark-manifest 1\nname x\n";
	struct hm_privkey *k = NULL;
	struct hm_pubkey *pub = NULL;
	struct hm_error err = { 0 };
	unsigned char sha512[64], sha256[32], sig[HM_SIG_LEN], md[64];
	char id[HM_KEYID_LEN + 1], *a = NULL, *b = NULL;
	size_t alen, blen;
	int fd;

	CHECK_OK(hm_privkey_generate(&k, &err), &err);
	CHECK_OK(hm_privkey_public(k, &pub, &err), &err);
	CHECK(write_text("m", text, 0644) == 0);
	CHECK_OK(hm_sign_manifest_file(k, "m", &a, &alen, &err), &err);
	CHECK_OK(hm_sigfile_parse(a, alen, "m.sig", id, sig, &err), &err);
	CHECK_OK(hm_hash_buf(HM_HASH_SHA512, text, strlen(text), md), &err);
	CHECK_OK(hm_verify_manifest_digest(pub, md, sig, &err), &err);
	/* The hash with a prefix read by the caller. */
	fd = open("m", O_RDONLY);
	CHECK(fd >= 0 && lseek(fd, 20, SEEK_SET) == 20);
	CHECK_OK(hm_manifest_hash_fd(fd, "m", text, 20, sha512, sha256, &err), &err);
	CHECK(memcmp(sha512, md, 64) == 0);
	CHECK_OK(hm_hash_buf(HM_HASH_SHA256, text, strlen(text), md), &err);
	CHECK(memcmp(sha256, md, 32) == 0);
	CHECK(lseek(fd, 20, SEEK_SET) == 20);
	CHECK_OK(hm_sign_manifest_fd(k, fd, "m", text, 20, &b, &blen, &err), &err);
	close(fd);
	CHECK(alen == blen && memcmp(a, b, alen) == 0);   /* Ed25519 is deterministic */
	free(a);
	free(b);
	/* Not a regular file; not there. */
	CHECK_EQ_INT(hm_sign_manifest_file(k, ".", &a, &alen, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "'.' is not a regular file") != NULL);
	CHECK_EQ_INT(hm_sign_manifest_file(k, "nowhere", &a, &alen, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "'nowhere'") != NULL);
	hm_privkey_free(k);
	hm_pubkey_free(pub);
}

/* Many chunks (the SHA-256 is taken on a second thread, one 256 KiB chunk
 * at a time, from two buffers in turn): both digests are those of the
 * whole, prefix included, and a file that stops being readable midway
 * is an error, not a digest. */
TEST(manifest_hash_over_many_chunks)
{
	size_t len = 5 * 256 * 1024 + 12345, i;
	unsigned char *data = malloc(len), sha512[64], sha256[32], md[64];
	struct hm_error err = { 0 };
	int fd;

	CHECK(data != NULL);
	for (i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	fd = open("big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	CHECK(lseek(fd, 7, SEEK_SET) == 7);
	CHECK_OK(hm_manifest_hash_fd(fd, "big", data, 7, sha512, sha256, &err), &err);
	CHECK_OK(hm_hash_buf(HM_HASH_SHA512, data, len, md), &err);
	CHECK(memcmp(sha512, md, 64) == 0);
	CHECK_OK(hm_hash_buf(HM_HASH_SHA256, data, len, md), &err);
	CHECK(memcmp(sha256, md, 32) == 0);
	/* Without the SHA-256, the same SHA-512. */
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK_OK(hm_manifest_hash_fd(fd, "big", NULL, 0, md, NULL, &err), &err);
	CHECK(memcmp(sha512, md, 64) == 0);
	close(fd);
	/* A descriptor that cannot be read: the error names the file. */
	fd = open("big", O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ_INT(hm_manifest_hash_fd(fd, "big", data, 7, sha512, sha256, &err),
		     HM_ERR_IO);
	CHECK(strstr(err.msg, "'big'") != NULL);
	close(fd);
	free(data);
}
