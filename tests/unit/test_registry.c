/*
 * The registry client's parsers: references, WWW-Authenticate challenges,
 * Link headers, containers-auth.json.  The exchanges themselves run
 * against real servers in tests/cli/t3101 (docker-registry) and t3102
 * (a hostile one).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/digest.h"
#include "hallmark/registry.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(references_by_tag_digest_or_neither)
{
	struct hm_registry_ref r = { 0 };
	struct hm_error err = { 0 };

	CHECK_EQ_INT(hm_registry_ref_parse("127.0.0.1:5000/base/debian:12", false, &r, &err), 0);
	CHECK_EQ_STR(r.host, "127.0.0.1:5000");
	CHECK_EQ_STR(r.repo, "base/debian");
	CHECK_EQ_STR(r.tag, "12");
	CHECK_EQ_STR(r.digest, "");
	hm_registry_ref_clear(&r);

	CHECK_EQ_INT(hm_registry_ref_parse("reg.example/app/web@sha256:" D64, false, &r, &err), 0);
	CHECK_EQ_STR(r.host, "reg.example");
	CHECK_EQ_STR(r.repo, "app/web");
	CHECK(r.tag == NULL);
	CHECK_EQ_STR(r.digest, "sha256:" D64);
	hm_registry_ref_clear(&r);

	/* No tag: latest, as every registry client. */
	CHECK_EQ_INT(hm_registry_ref_parse("reg.example/app", false, &r, &err), 0);
	CHECK_EQ_STR(r.tag, "latest");
	hm_registry_ref_clear(&r);

	/* A whole registry, for audit only. */
	CHECK_EQ_INT(hm_registry_ref_parse("reg.example:443", true, &r, &err), 0);
	CHECK_EQ_STR(r.host, "reg.example:443");
	CHECK(r.repo == NULL);
	hm_registry_ref_clear(&r);
	CHECK_EQ_INT(hm_registry_ref_parse("reg.example", false, &r, &err), HM_ERR_USAGE);
}

TEST(malformed_references_are_usage_errors)
{
	static const char *const bad[] = {
		"reg/App:1",                 /* uppercase repository */
		"reg/a//b:1",
		"reg/a/:1",
		"reg/../x:1",
		"reg/a:b c",
		"reg/a:-x",
		"reg/a@sha256:abc",
		"reg/a@sha512:" D64,
		"reg/a@sha256:" D64 "00",
		"/a:1",
		"u@reg/a:1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hm_registry_ref r = { 0 };
		struct hm_error err = { 0 };

		if (hm_registry_ref_parse(bad[i], false, &r, &err) != HM_ERR_USAGE)
			FAIL("'%s' was accepted", bad[i]);
		CHECK(r.host == NULL);
	}
}

TEST(challenges)
{
	struct hm_registry_challenge c = { 0 };
	struct hm_error err = { 0 };

	CHECK_EQ_INT(hm_registry_challenge_parse(
		"Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
		"scope=\"repository:base/debian:pull\"", &c, &err), 0);
	CHECK_EQ_STR(c.scheme, "bearer");
	CHECK_EQ_STR(c.realm, "https://auth.example/token");
	CHECK_EQ_STR(c.service, "registry.example");
	CHECK_EQ_STR(c.scope, "repository:base/debian:pull");
	hm_registry_challenge_clear(&c);

	CHECK_EQ_INT(hm_registry_challenge_parse("Basic realm=\"a \\\"q\\\" b\"", &c, &err), 0);
	CHECK_EQ_STR(c.scheme, "basic");
	CHECK_EQ_STR(c.realm, "a \"q\" b");
	CHECK(c.service == NULL);
	hm_registry_challenge_clear(&c);

	CHECK_EQ_INT(hm_registry_challenge_parse("Bearer realm=\"unterminated", &c, &err),
		     HM_ERR_INPUT);
	CHECK_EQ_INT(hm_registry_challenge_parse("", &c, &err), HM_ERR_INPUT);
}

TEST(link_next)
{
	char *n;

	n = hm_registry_link_next("</v2/_catalog?last=b&n=2>; rel=\"next\"");
	CHECK(n && strcmp(n, "/v2/_catalog?last=b&n=2") == 0);
	free(n);
	n = hm_registry_link_next("</p>; rel=\"prev\", </n?x=1>; rel=\"next\"");
	CHECK(n && strcmp(n, "/n?x=1") == 0);
	free(n);
	CHECK(hm_registry_link_next("</p>; rel=\"prev\"") == NULL);
	CHECK(hm_registry_link_next("garbage") == NULL);
}

TEST(auth_file_lookup)
{
	/* "user:pa:ss" and "other:x" in base64. */
	static const char json[] =
		"{\"auths\": {\"https://reg.example:5000/v1/\": {\"auth\": \"dXNlcjpwYTpzcw==\"},"
		" \"other.example\": {\"auth\": \"b3RoZXI6eA==\"}}}";
	struct hm_error err = { 0 };
	char *c = NULL;

	CHECK_EQ_INT(hm_registry_auth_lookup(json, strlen(json), "reg.example:5000", &c, &err), 0);
	CHECK(c && strcmp(c, "user:pa:ss") == 0);
	free(c);
	CHECK_EQ_INT(hm_registry_auth_lookup(json, strlen(json), "other.example", &c, &err), 0);
	CHECK(c && strcmp(c, "other:x") == 0);
	free(c);
	/* A prefix of another host is not that host. */
	CHECK_EQ_INT(hm_registry_auth_lookup(json, strlen(json), "reg.example", &c, &err), 0);
	CHECK(c == NULL);
	CHECK_EQ_INT(hm_registry_auth_lookup("{\"auths\": {\"h\": {\"auth\": \"!!!\"}}}", 32, "h",
					     &c, &err), HM_ERR_INPUT);
	CHECK_EQ_INT(hm_registry_auth_lookup("{\"auths\": {\"h\": {\"auth\": \"bm9jb2xvbg==\"}}}",
					     41, "h", &c, &err), HM_ERR_INPUT);   /* "nocolon" */
	CHECK_EQ_INT(hm_registry_auth_lookup("{", 1, "h", &c, &err), HM_ERR_INPUT);
}

/*
 * The upload primitives against a live registry: run by
 * tests/cli/t3101-registry.sh, which starts Debian's docker-registry and
 * sets HM_TEST_REGISTRY=HOST:PORT; without it there is nothing to talk to
 * and this test says so.  It uploads a blob and an artifact manifest
 * under the tag "uploaded", reads both back through the client, and
 * t3101 reads them back with skopeo.
 */
TEST(uploads_against_a_live_registry)
{
	static const char blob[] = "hallmark upload test\n";
	const char *host = getenv("HM_TEST_REGISTRY");
	struct hm_registry *reg = NULL;
	struct hm_error err = { 0 };
	struct hm_buf body = HM_BUF_INIT, man = HM_BUF_INIT;
	unsigned char md[32];
	char digest[80], hex[65], mdigest[HM_REGISTRY_DIGEST_LEN + 1];
	char got[HM_REGISTRY_DIGEST_LEN + 1], *mt = NULL;

	if (!host) {
		printf("# HM_TEST_REGISTRY not set: uploads run from tests/cli/t3101\n");
		return;
	}
	hm_hash_buf(HM_HASH_SHA256, blob, strlen(blob), md);
	hm_hex_encode(md, 32, hex);
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	CHECK_EQ_INT(hm_registry_new(host, NULL, &reg, &err), 0);
	if (!reg) {
		printf("# %s\n", err.msg);
		return;
	}
	CHECK_EQ_INT(hm_registry_blob_exists(reg, "t/upload", digest, &err), 0);
	CHECK_EQ_INT(hm_registry_put_blob(reg, "t/upload", digest, blob, strlen(blob), &err), 0);
	CHECK_EQ_INT(hm_registry_blob_exists(reg, "t/upload", digest, &err), 1);
	/* The registry checks the digest the client claims. */
	CHECK(hm_registry_put_blob(reg, "t/upload", "sha256:" D64, blob, strlen(blob), &err) < 0);
	CHECK_EQ_INT(hm_registry_get_blob_buf(reg, "t/upload", digest, strlen(blob), 1024,
					      &body, &err), 0);
	CHECK(body.len == strlen(blob) && memcmp(body.data, blob, body.len) == 0);
	hm_buf_addf(&man, "{\"schemaVersion\":2,\"mediaType\":\"%s\","
		    "\"config\":{\"mediaType\":\"application/octet-stream\",\"digest\":\"%s\",\"size\":%zu},"
		    "\"layers\":[{\"mediaType\":\"application/octet-stream\",\"digest\":\"%s\",\"size\":%zu}]}",
		    HM_MT_OCI_MANIFEST, digest, strlen(blob), digest, strlen(blob));
	CHECK_EQ_INT(hm_registry_put_manifest(reg, "t/upload", "uploaded", HM_MT_OCI_MANIFEST,
					      man.data, man.len, mdigest, &err), 0);
	CHECK_EQ_INT(hm_registry_get_manifest(reg, "t/upload", mdigest, HM_MT_OCI_MANIFEST,
					      &body, &mt, got, &err), 0);
	CHECK(body.len == man.len && memcmp(body.data, man.data, man.len) == 0);
	CHECK_EQ_STR(got, mdigest);
	CHECK(mt && strcmp(mt, HM_MT_OCI_MANIFEST) == 0);
	if (err.code)
		printf("# %s\n", err.msg);
	free(mt);
	hm_buf_free(&body);
	hm_buf_free(&man);
	hm_registry_free(reg);
}
