/* Unit tests: DSSE's pre-authentication encoding, envelopes, in-toto
 * Statements and the SLSA provenance predicate. */
#include "harness.h"

#include <jansson.h>

#include "hallmark/attest.h"
#include "hallmark/buf.h"
#include "hallmark/sign.h"

static const char sha_a[] =
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* The example of the DSSE protocol document. */
TEST(pae_matches_the_spec)
{
	struct hm_buf b = { 0 };
	const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";

	CHECK(hm_dsse_pae(&b, "http://example.com/HelloWorld", "hello world", 11) == 0);
	CHECK_EQ_INT(b.len, sizeof(want) - 1);
	CHECK(memcmp(b.data, want, b.len) == 0);
	hm_buf_reset(&b);
	CHECK(hm_dsse_pae(&b, "t", "", 0) == 0);
	CHECK(b.len == 13 && memcmp(b.data, "DSSEv1 1 t 0 ", 13) == 0);
	hm_buf_free(&b);
}

static struct hm_privkey *key(void)
{
	struct hm_privkey *k = NULL;
	struct hm_error err;

	return hm_privkey_generate(&k, &err) == 0 ? k : NULL;
}

TEST(envelope_round_trip_and_refusals)
{
	struct hm_privkey *k = key(), *k2 = key();
	struct hm_pubkey *pub = NULL, *pub2 = NULL;
	struct hm_buf env = { 0 }, payload = { 0 }, bad = { 0 };
	struct hm_error err;
	char id[HM_KEYID_LEN + 1], want_id[HM_KEYID_LEN + 1], *type = NULL;
	json_t *o;

	CHECK(k && k2);
	CHECK(hm_privkey_public(k, &pub, &err) == 0);
	CHECK(hm_privkey_public(k2, &pub2, &err) == 0);
	hm_pubkey_id(pub, want_id);
	CHECK(hm_dsse_sign(k, "application/x-test", "payload\0bytes", 13, &env, &err) == 0);
	CHECK(memchr(env.data, '\n', env.len) == NULL);
	CHECK(hm_dsse_verify(env.data, env.len, &pub, 1, &payload, &type, id, &err) == 0);
	CHECK_EQ_STR(type, "application/x-test");
	CHECK_EQ_STR(id, want_id);
	CHECK(payload.len == 13 && memcmp(payload.data, "payload\0bytes", 13) == 0);
	free(type);
	type = NULL;

	/* Another pinned key: not signed by it. */
	hm_buf_reset(&payload);
	CHECK(hm_dsse_verify(env.data, env.len, &pub2, 1, &payload, &type, id, &err) == HM_ERR_TRUST);
	CHECK(type == NULL && payload.len == 0);

	/* The payload type is signed too: changing it breaks the signature. */
	o = json_loadb(env.data, env.len, 0, NULL);
	CHECK(o);
	json_object_set_new(o, "payloadType", json_string("application/x-other"));
	{
		char *s = json_dumps(o, JSON_COMPACT);

		CHECK(hm_dsse_verify(s, strlen(s), &pub, 1, &payload, &type, id, &err) == HM_ERR_TRUST);
		free(s);
	}
	/* Not base64, not an envelope. */
	json_object_set_new(o, "payloadType", json_string("application/x-test"));
	json_object_set_new(o, "payload", json_string("cGF5!G9hZA=="));
	{
		char *s = json_dumps(o, JSON_COMPACT);

		CHECK(hm_dsse_verify(s, strlen(s), &pub, 1, &payload, &type, id, &err) == HM_ERR_INPUT);
		free(s);
	}
	json_decref(o);
	CHECK(hm_buf_adds(&bad, "{\"payload\": \"\"}") == 0);
	CHECK(hm_dsse_verify(bad.data, bad.len, &pub, 1, &payload, &type, id, &err) == HM_ERR_INPUT);
	CHECK(hm_dsse_verify("[1,", 3, &pub, 1, &payload, &type, id, &err) == HM_ERR_INPUT);

	hm_buf_free(&env);
	hm_buf_free(&payload);
	hm_buf_free(&bad);
	hm_pubkey_free(pub);
	hm_pubkey_free(pub2);
	hm_privkey_free(k);
	hm_privkey_free(k2);
}

/* DSSE readers accept unpadded and URL-safe base64. */
TEST(envelope_accepts_unpadded_urlsafe_base64)
{
	struct hm_privkey *k = key();
	struct hm_pubkey *pub = NULL;
	struct hm_buf env = { 0 }, payload = { 0 };
	struct hm_error err;
	char id[HM_KEYID_LEN + 1], *type = NULL, *s;
	/* 0xfb 0xff: "+/8" in standard base64, "-_8" URL-safe. */
	const char body[] = "\xfb\xff";
	json_t *o;
	const char *p;
	char *q;

	CHECK(k);
	CHECK(hm_privkey_public(k, &pub, &err) == 0);
	CHECK(hm_dsse_sign(k, "t", body, 2, &env, &err) == 0);
	o = json_loadb(env.data, env.len, 0, NULL);
	p = json_string_value(json_object_get(o, "payload"));
	CHECK_EQ_STR(p, "+/8=");
	json_object_set_new(o, "payload", json_string("-_8"));
	s = json_dumps(o, JSON_COMPACT);
	CHECK(hm_dsse_verify(s, strlen(s), &pub, 1, &payload, &type, id, &err) == 0);
	CHECK(payload.len == 2 && memcmp(payload.data, body, 2) == 0);
	free(s);
	free(type);
	/* Padding in the middle is not base64. */
	json_object_set_new(o, "payload", json_string("+=/8"));
	s = json_dumps(o, JSON_COMPACT);
	q = NULL;
	CHECK(hm_dsse_verify(s, strlen(s), &pub, 1, &payload, &q, id, &err) == HM_ERR_INPUT);
	free(s);
	json_decref(o);
	hm_buf_free(&env);
	hm_buf_free(&payload);
	hm_pubkey_free(pub);
	hm_privkey_free(k);
}

TEST(statement_shape)
{
	const struct hm_intoto_subject s[] = { { "img.oci", sha_a } };
	const struct hm_intoto_subject bad[] = { { "img.oci", "sha256:00" } };
	struct hm_buf out = { 0 };
	struct hm_error err;
	json_t *o;

	CHECK(hm_intoto_statement(s, 1, "https://example/p", "{\"a\": 1}", 8, &out, &err) == 0);
	o = json_loadb(out.data, out.len, 0, NULL);
	CHECK(o);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "_type")), HM_INTOTO_STATEMENT_TYPE);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "predicateType")), "https://example/p");
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_array_get(
		json_object_get(o, "subject"), 0), "digest"), "sha256")), sha_a);
	CHECK(json_integer_value(json_object_get(json_object_get(o, "predicate"), "a")) == 1);
	json_decref(o);
	hm_buf_reset(&out);
	CHECK(hm_intoto_statement(s, 1, "p", "[1]", 3, &out, &err) == HM_ERR_INPUT);
	CHECK(hm_intoto_statement(s, 1, "p", "{", 1, &out, &err) == HM_ERR_INPUT);
	CHECK(hm_intoto_statement(bad, 1, "p", "{}", 2, &out, &err) == HM_ERR_USAGE);
	CHECK(hm_intoto_statement(s, 0, "p", "{}", 2, &out, &err) == HM_ERR_USAGE);
	hm_buf_free(&out);
}

TEST(provenance_from_a_build_record)
{
	char rec[512];
	struct hm_buf out = { 0 };
	struct hm_error err;
	json_t *o, *bd;

	snprintf(rec, sizeof(rec),
		 "{\"format\": \"hallmark-build\", \"version\": 1, \"name\": \"web\","
		 " \"serial\": 9, \"template\": {\"path\": \"t.yaml\", \"sha256\": \"%s\"},"
		 " \"source_date_epoch\": 1700000000, \"base\": {\"kind\": \"tarball\","
		 " \"path\": \"b.tar\"}, \"outputs\": {\"manifest\": \"web.manifest\"},"
		 " \"audit\": {\"fail_on\": \"high\"}}", sha_a);
	CHECK(hm_attest_provenance(rec, strlen(rec), "web.build.json", &out, &err) == 0);
	o = json_loadb(out.data, out.len, 0, NULL);
	bd = json_object_get(o, "buildDefinition");
	CHECK_EQ_STR(json_string_value(json_object_get(bd, "buildType")), HM_SLSA_BUILD_TYPE);
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_object_get(
		json_object_get(bd, "externalParameters"), "template"), "digest"), "sha256")), sha_a);
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_object_get(o,
		"runDetails"), "metadata"), "invocationId")), "web/9");
	json_decref(o);
	hm_buf_reset(&out);
	CHECK(hm_attest_provenance("{\"format\": \"x\"}", 15, "x.json", &out, &err) == HM_ERR_INPUT);
	CHECK(strstr(err.msg, "x.json") != NULL);
	CHECK(hm_attest_provenance("{", 1, "y.json", &out, &err) == HM_ERR_INPUT);
	CHECK(strstr(err.msg, "y.json:1:") != NULL);
	hm_buf_free(&out);
}

