/*
 * Unit tests: signature-first opening of manifests (lib/trust.c).  The
 * signature is checked over the raw bytes before any line is parsed, the
 * key comes from the pinned set, expiry is refused, and the bytes parsed
 * must be the bytes signed.
 */
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/sign.h"
#include "hallmark/trust.h"

#define MANIFEST(expires)                                                 \
	"hallmark-manifest 1\nname web\nserial 7\n"                       \
	"created 2026-11-22T20:13:09Z\nexpires " expires "\n"             \
	"template none\nhash sha256\nentries 2\n"                         \
	"/ type=dir mode=0755 uid=0 gid=0\n"                              \
	"/etc type=dir mode=0755 uid=0 gid=0\n"

/* 2026-12-01T00:00:00Z, between created and the expiry used below. */
#define NOW ((time_t)1796083200)

struct keys {
	struct hm_privkey *priv;
	struct hm_pubkey *pub;
};

static int make_keys(struct keys *k, struct hm_error *err)
{
	int r = hm_privkey_generate(&k->priv, err);

	if (r < 0)
		return r;
	return hm_privkey_public(k->priv, &k->pub, err);
}

static void free_keys(struct keys *k)
{
	hm_privkey_free(k->priv);
	hm_pubkey_free(k->pub);
}

/* Write text to path and its signature by k to sig_path. */
static int write_signed(const char *path, const char *sig_path,
			const char *text, const struct keys *k,
			struct hm_error *err)
{
	unsigned char sha[64], sig[HM_SIG_LEN];
	char id[HM_KEYID_LEN + 1], *sigtext = NULL;
	size_t siglen;
	int r;

	r = hm_write_file_atomic(path, text, strlen(text), 0644, true, err);
	if (r < 0)
		return r;
	hm_hash_buf(HM_HASH_SHA512, text, strlen(text), sha);
	r = hm_sign_manifest_digest(k->priv, sha, sig, err);
	if (r < 0)
		return r;
	hm_pubkey_id(k->pub, id);
	r = hm_sigfile_format(id, sig, &sigtext, &siglen, err);
	if (r < 0)
		return r;
	r = hm_write_file_atomic(sig_path, sigtext, siglen, 0644, true, err);
	free(sigtext);
	return r;
}

TEST(signed_manifest_opens_and_reads)
{
	struct hm_error err = { 0 };
	struct keys k = { 0 };
	struct hm_pubkey *pins[1];
	struct hm_trusted_manifest *m = NULL;
	const struct hm_entry *e;
	char id[HM_KEYID_LEN + 1];
	int n = 0, r;

	CHECK_OK(make_keys(&k, &err), &err);
	CHECK_OK(write_signed("m", "m.sig", MANIFEST("never"), &k, &err), &err);
	pins[0] = k.pub;
	CHECK_OK(hm_trust_open("m", NULL, pins, 1, NOW, &m, &err), &err);
	CHECK_EQ_STR(m->header->name, "web");
	CHECK_EQ_INT(m->header->serial, 7);
	hm_pubkey_id(k.pub, id);
	CHECK_EQ_STR(m->key_id, id);
	CHECK_EQ_INT(strlen(m->sha256_hex), 64);
	while ((r = hm_manifest_reader_next(m->reader, &e, &err)) > 0)
		n++;
	CHECK_OK(r, &err);
	CHECK_EQ_INT(n, 2);
	CHECK_OK(hm_trust_finish(m, &err), &err);
	hm_trust_free(m);
	free_keys(&k);
}

TEST(unpinned_key_is_a_trust_failure)
{
	struct hm_error err = { 0 };
	struct keys signer = { 0 }, other = { 0 };
	struct hm_pubkey *pins[1];
	struct hm_trusted_manifest *m = NULL;

	CHECK_OK(make_keys(&signer, &err), &err);
	CHECK_OK(make_keys(&other, &err), &err);
	CHECK_OK(write_signed("m", "m.sig", MANIFEST("never"), &signer, &err), &err);
	pins[0] = other.pub;
	CHECK_EQ_INT(hm_trust_open("m", NULL, pins, 1, NOW, &m, &err), HM_ERR_TRUST);
	CHECK(m == NULL);
	CHECK(strstr(err.msg, "not pinned") != NULL);
	/* No key at all pinned: the same. */
	CHECK_EQ_INT(hm_trust_open("m", NULL, pins, 0, NOW, &m, &err), HM_ERR_TRUST);
	free_keys(&signer);
	free_keys(&other);
}

TEST(one_changed_byte_is_a_bad_signature)
{
	struct hm_error err = { 0 };
	struct keys k = { 0 };
	struct hm_pubkey *pins[1];
	struct hm_trusted_manifest *m = NULL;
	char *text = strdup(MANIFEST("never"));
	struct hm_error werr;

	CHECK(text != NULL);
	CHECK_OK(make_keys(&k, &err), &err);
	CHECK_OK(write_signed("m", "m.sig", text, &k, &err), &err);
	strstr(text, "serial 7")[7] = '9';   /* a higher serial, unsigned */
	CHECK_OK(hm_write_file_atomic("m", text, strlen(text), 0644, true, &werr), &werr);
	pins[0] = k.pub;
	CHECK_EQ_INT(hm_trust_open("m", NULL, pins, 1, NOW, &m, &err), HM_ERR_TRUST);
	CHECK(strstr(err.msg, "bad signature") != NULL);
	free(text);
	free_keys(&k);
}

TEST(signature_is_checked_before_parsing)
{
	/* Garbage that the parser would refuse as input: a signed garbage
	 * file parses (and fails as input) only after the signature holds;
	 * an unsigned change is a trust failure, never a parse error. */
	struct hm_error err = { 0 };
	struct keys k = { 0 };
	struct hm_pubkey *pins[1];
	struct hm_trusted_manifest *m = NULL;
	struct hm_error werr;

	CHECK_OK(make_keys(&k, &err), &err);
	CHECK_OK(write_signed("m", "m.sig", "not a manifest\r\n", &k, &err), &err);
	pins[0] = k.pub;
	CHECK_EQ_INT(hm_trust_open("m", NULL, pins, 1, NOW, &m, &err), HM_ERR_INPUT);
	CHECK_OK(hm_write_file_atomic("m", "not a manifest\r\r", 16, 0644, true, &werr),
		 &werr);
	CHECK_EQ_INT(hm_trust_open("m", NULL, pins, 1, NOW, &m, &err), HM_ERR_TRUST);
	free_keys(&k);
}

TEST(expired_manifest_is_refused)
{
	struct hm_error err = { 0 };
	struct keys k = { 0 };
	struct hm_pubkey *pins[1];
	struct hm_trusted_manifest *m = NULL;

	CHECK_OK(make_keys(&k, &err), &err);
	CHECK_OK(write_signed("m", "m.sig", MANIFEST("2026-11-30T00:00:00Z"), &k, &err),
		 &err);
	pins[0] = k.pub;
	CHECK_EQ_INT(hm_trust_open("m", NULL, pins, 1, NOW, &m, &err), HM_ERR_TRUST);
	CHECK(strstr(err.msg, "expired at 2026-11-30T00:00:00Z") != NULL);
	/* The second before expiry it is still good; at expiry it is not. */
	CHECK_OK(hm_trust_open("m", NULL, pins, 1, (time_t)1795996800 - 1,
			       &m, &err), &err);
	hm_trust_free(m);
	m = NULL;
	CHECK_EQ_INT(hm_trust_open("m", NULL, pins, 1, (time_t)1795996800,
				   &m, &err), HM_ERR_TRUST);
	free_keys(&k);
}

TEST(signature_file_is_named_or_defaulted)
{
	struct hm_error err = { 0 };
	struct keys k = { 0 };
	struct hm_pubkey *pins[1];
	struct hm_trusted_manifest *m = NULL;

	CHECK_OK(make_keys(&k, &err), &err);
	CHECK_OK(write_signed("m", "other.sig", MANIFEST("never"), &k, &err), &err);
	pins[0] = k.pub;
	/* No m.sig: the default name is missing. */
	CHECK(hm_trust_open("m", NULL, pins, 1, NOW, &m, &err) < 0);
	CHECK(strstr(err.msg, "m.sig") != NULL);
	CHECK_OK(hm_trust_open("m", "other.sig", pins, 1, NOW, &m, &err), &err);
	hm_trust_free(m);
	free_keys(&k);
}

TEST(manifest_must_be_a_regular_file)
{
	struct hm_error err = { 0 };
	struct keys k = { 0 };
	struct hm_pubkey *pins[1];
	struct hm_trusted_manifest *m = NULL;

	CHECK_OK(make_keys(&k, &err), &err);
	CHECK(mkdir("d", 0755) == 0);
	CHECK(mkfifo("fifo", 0644) == 0);
	pins[0] = k.pub;
	CHECK_EQ_INT(hm_trust_open("d", NULL, pins, 1, NOW, &m, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "not a regular file") != NULL);
	/* A FIFO is opened without blocking and refused. */
	CHECK_EQ_INT(hm_trust_open("fifo", NULL, pins, 1, NOW, &m, &err), HM_ERR_INPUT);
	CHECK(hm_trust_open("missing", NULL, pins, 1, NOW, &m, &err) == HM_ERR_IO);
	free_keys(&k);
}

TEST(bytes_changed_while_read_are_caught_at_finish)
{
	/* The file is rewritten in place after the signature check, past
	 * what the reader has buffered: the parser reads other bytes than
	 * were signed, and finish says so. */
	enum { N = 20000 };
	struct hm_error err = { 0 };
	struct keys k = { 0 };
	struct hm_pubkey *pins[1];
	struct hm_trusted_manifest *m = NULL;
	const struct hm_entry *e;
	char *text = malloc(N * 48 + 512), *p;
	size_t len;
	int fd, r, i;

	CHECK(text != NULL);
	p = text + sprintf(text, "hallmark-manifest 1\nname web\nserial 7\n"
			   "created 2026-11-22T20:13:09Z\nexpires never\n"
			   "template none\nhash sha256\nentries %d\n"
			   "/ type=dir mode=0755 uid=0 gid=0\n", N + 1);
	for (i = 0; i < N; i++)
		p += sprintf(p, "/d%05d type=dir mode=0755 uid=0 gid=0\n", i);
	len = (size_t)(p - text);
	CHECK_OK(make_keys(&k, &err), &err);
	CHECK_OK(write_signed("m", "m.sig", text, &k, &err), &err);
	pins[0] = k.pub;
	CHECK_OK(hm_trust_open("m", NULL, pins, 1, NOW, &m, &err), &err);
	/* The last entry's mode 0755 becomes 0757. */
	text[len - strlen("5 uid=0 gid=0\n")] = '7';
	fd = open("m", O_WRONLY);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, text, len, 0) == (ssize_t)len);
	close(fd);
	while ((r = hm_manifest_reader_next(m->reader, &e, &err)) > 0)
		;
	CHECK_OK(r, &err);
	CHECK_EQ_INT(hm_trust_finish(m, &err), HM_ERR_TRUST);
	CHECK(strstr(err.msg, "changed while being verified") != NULL);
	hm_trust_free(m);
	free(text);
	free_keys(&k);
}
