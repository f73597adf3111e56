/*
 * in-toto Statements in DSSE envelopes (include/hallmark/attest.h).
 *
 * JSON is jansson's, base64 and Ed25519 OpenSSL's: this file only puts
 * the pieces in the order the two specifications fix.  Statements and
 * envelopes are written compact with sorted keys, so the same inputs give
 * the same bytes (Ed25519 signatures are deterministic too).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "hallmark/attest.h"
#include "hallmark/digest.h"
#include "hallmark/limits.h"
#include "hallmark/manifest.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

int hm_dsse_pae(struct hm_buf *out, const char *type, const void *body,
		size_t len)
{
	size_t tlen = strlen(type);

	if (hm_buf_addf(out, "DSSEv1 %zu ", tlen) < 0 ||
	    hm_buf_add(out, type, tlen) < 0 ||
	    hm_buf_addf(out, " %zu ", len) < 0 ||
	    hm_buf_add(out, body, len) < 0)
		return -1;
	return 0;
}

/* Serialise o into out (appending); consumes nothing. */
static int dump(const json_t *o, struct hm_buf *out, struct hm_error *err)
{
	char *s = json_dumps(o, JSON_FLAGS);
	int r = 0;

	if (!s || hm_buf_adds(out, s) < 0)
		r = hm_error_nomem(err);
	free(s);
	return r;
}

int hm_intoto_statement(const struct hm_intoto_subject *subjects, size_t n,
			const char *predicate_type, const char *predicate,
			size_t predicate_len, struct hm_buf *out,
			struct hm_error *err)
{
	json_t *st = NULL, *subj = NULL, *pred = NULL;
	json_error_t jerr;
	size_t i;
	int r;

	if (n == 0)
		return hm_error_set(err, HM_ERR_USAGE, 0, "a statement needs a subject");
	pred = json_loadb(predicate, predicate_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!pred || !json_is_object(pred)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "predicate %s is not a JSON object%s%s",
				 predicate_type, pred ? "" : ": ", pred ? "" : jerr.text);
		goto out;
	}
	subj = json_array();
	if (!subj)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (!hm_hex_is_sha256(subjects[i].sha256_hex)) {
			r = hm_error_set(err, HM_ERR_USAGE, 0,
					 "subject '%s': not a SHA-256 digest", subjects[i].name);
			goto out;
		}
		if (json_array_append_new(subj, json_pack("{s:s, s:{s:s}}",
				"name", subjects[i].name,
				"digest", "sha256", subjects[i].sha256_hex)) < 0)
			goto nomem;
	}
	st = json_pack("{s:s, s:O, s:s, s:O}", "_type", HM_INTOTO_STATEMENT_TYPE,
		       "subject", subj, "predicateType", predicate_type,
		       "predicate", pred);
	if (!st)
		goto nomem;
	r = dump(st, out, err);
	goto out;
nomem:
	r = hm_error_nomem(err);
out:
	json_decref(st);
	json_decref(subj);
	json_decref(pred);
	return r;
}

/* Standard base64 with padding, NUL-terminated; NULL on no memory. */
static char *b64_encode(const void *data, size_t len)
{
	char *s;

	if (len > (SIZE_MAX / 4) * 3 - 3)
		return NULL;
	s = malloc(4 * ((len + 2) / 3) + 1);
	if (s && EVP_EncodeBlock((unsigned char *)s, data, (int)len) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

/*
 * Strict decoding: standard alphabet, length a multiple of four, padding
 * only at the end.  DSSE allows URL-safe base64 too: it is mapped to the
 * standard alphabet first.  Returns 0, or -1 when s is not base64.
 */
static int b64_decode(const char *s, size_t len, struct hm_buf *out)
{
	char *std = NULL;
	size_t i, pad = 0, need;
	int n, r = -1;

	/* Unpadded input (allowed by DSSE) is padded here. */
	need = (len + 3) / 4 * 4;
	if (len % 4 == 1 || len > INT32_MAX)
		return -1;
	std = malloc(need + 1);
	if (!std)
		return -1;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		if (c == '=') {
			pad++;
		} else if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				     (c >= '0' && c <= '9') || c == '+' || c == '/')) {
			goto out;
		}
		std[i] = c;
	}
	if (pad > 2)
		goto out;
	for (; i < need; i++, pad++)
		std[i] = '=';
	if (pad > 2)
		goto out;
	std[need] = '\0';
	if (hm_buf_grow(out, need / 4 * 3 + 1) < 0)
		goto out;
	n = EVP_DecodeBlock((unsigned char *)out->data + out->len,
			    (unsigned char *)std, (int)need);
	if (n < 0 || (size_t)n < pad)
		goto out;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	out->len += (size_t)n - pad;
	r = 0;
out:
	free(std);
	return r;
}

int hm_dsse_sign(const struct hm_privkey *k, const char *type,
		 const void *payload, size_t len, struct hm_buf *out,
		 struct hm_error *err)
{
	struct hm_buf pae = { 0 };
	struct hm_pubkey *pub = NULL;
	unsigned char sig[HM_SIG_LEN];
	char keyid[HM_KEYID_LEN + 1];
	char *p64 = NULL, *s64 = NULL;
	json_t *env = NULL;
	int r;

	if (hm_dsse_pae(&pae, type, payload, len) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	r = hm_sign_message(k, pae.data, pae.len, sig, err);
	if (r < 0)
		goto out;
	r = hm_privkey_public(k, &pub, err);
	if (r < 0)
		goto out;
	hm_pubkey_id(pub, keyid);
	p64 = b64_encode(payload, len);
	s64 = b64_encode(sig, sizeof(sig));
	env = p64 && s64 ? json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payload", p64,
				     "payloadType", type, "signatures",
				     "keyid", keyid, "sig", s64) : NULL;
	r = env ? dump(env, out, err) : hm_error_nomem(err);
out:
	json_decref(env);
	free(p64);
	free(s64);
	hm_pubkey_free(pub);
	hm_buf_free(&pae);
	return r;
}

int hm_dsse_verify(const char *envelope, size_t len,
		   struct hm_pubkey *const *keys, size_t n_keys,
		   struct hm_buf *payload, char **type,
		   char keyid[HM_KEYID_LEN + 1], struct hm_error *err)
{
	struct hm_buf body = { 0 }, pae = { 0 }, sig = { 0 };
	json_t *env, *sigs, *s;
	json_error_t jerr;
	const char *ptype, *p64;
	bool any_known = false;
	size_t i, j;
	int r;

	*type = NULL;
	env = json_loadb(envelope, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!env)
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "not a DSSE envelope: %s (line %d, column %d)",
				    jerr.text, jerr.line, jerr.column);
	ptype = json_string_value(json_object_get(env, "payloadType"));
	p64 = json_string_value(json_object_get(env, "payload"));
	sigs = json_object_get(env, "signatures");
	if (!json_is_object(env) || !ptype || !p64 || !json_is_array(sigs) ||
	    json_array_size(sigs) == 0) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "not a DSSE envelope: it needs "
				 "payloadType, payload and signatures");
		goto out;
	}
	if (b64_decode(p64, json_string_length(json_object_get(env, "payload")), &body) < 0) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "DSSE envelope: payload is not base64");
		goto out;
	}
	if (hm_dsse_pae(&pae, ptype, body.data ? body.data : "", body.len) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	json_array_foreach(sigs, i, s) {
		const char *id = json_string_value(json_object_get(s, "keyid"));
		const char *s64 = json_string_value(json_object_get(s, "sig"));

		if (!id || !s64)
			continue;
		for (j = 0; j < n_keys; j++) {
			char kid[HM_KEYID_LEN + 1];
			struct hm_error verr = { 0 };

			hm_pubkey_id(keys[j], kid);
			if (strcmp(kid, id) != 0)
				continue;
			any_known = true;
			hm_buf_reset(&sig);
			if (b64_decode(s64, strlen(s64), &sig) < 0 || sig.len != HM_SIG_LEN)
				continue;
			if (hm_verify_message(keys[j], pae.data, pae.len,
					      (unsigned char *)sig.data, &verr) == 0) {
				memcpy(keyid, kid, sizeof(kid));
				*type = strdup(ptype);
				if (!*type || hm_buf_add(payload, body.data ? body.data : "", body.len) < 0) {
					free(*type);
					*type = NULL;
					r = hm_error_nomem(err);
					goto out;
				}
				r = 0;
				goto out;
			}
		}
	}
	r = hm_error_set(err, HM_ERR_TRUST, 0, any_known ?
			 "DSSE envelope: the signature by the pinned key does not match" :
			 "DSSE envelope: not signed by a pinned key");
out:
	json_decref(env);
	hm_buf_free(&body);
	hm_buf_free(&pae);
	hm_buf_free(&sig);
	return r;
}

int hm_attest_manifest_predicate(const struct hm_trusted_manifest *m,
				 struct hm_buf *out, struct hm_error *err)
{
	const struct hm_manifest_header *h = m->header;
	char created[21], expires[21], sha512[129];
	json_t *o, *images;
	size_t i;
	int r;

	hm_time_format(h->created, created);
	if (h->expires != HM_EXPIRES_NEVER)
		hm_time_format(h->expires, expires);
	hm_hex_encode(m->sha512, sizeof(m->sha512), sha512);
	images = json_object();
	for (i = 0; images && i < h->n_images; i++)
		if (json_object_set_new(images, h->images[i].kind,
					json_string(h->images[i].digest)) < 0) {
			json_decref(images);
			images = NULL;
		}
	o = images ? json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:O, s:I, s:{s:s, s:s}, s:s}",
			       "name", h->name, "serial", (json_int_t)h->serial,
			       "created", created,
			       "expires", h->expires == HM_EXPIRES_NEVER ? NULL : expires,
			       "template", h->template_digest[0] ? h->template_digest : NULL,
			       "images", images, "entries", (json_int_t)h->entries,
			       "digest", "sha256", m->sha256_hex, "sha512", sha512,
			       "keyid", m->key_id) : NULL;
	r = o ? dump(o, out, err) : hm_error_nomem(err);
	json_decref(o);
	json_decref(images);
	return r;
}

/* A string member of o, or NULL. */
static const char *str_at(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int hm_attest_provenance(const char *build_json, size_t len,
			 const char *name, struct hm_buf *out,
			 struct hm_error *err)
{
	json_t *b, *tpl, *base, *pred = NULL, *deps = NULL, *dep = NULL;
	json_error_t jerr;
	const char *fmt, *tsha;
	char invocation[160];
	int r;

	b = json_loadb(build_json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!b)
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s:%d:%d: %s", name,
				    jerr.line, jerr.column, jerr.text);
	fmt = str_at(b, "format");
	tpl = json_object_get(b, "template");
	tsha = str_at(tpl, "sha256");
	base = json_object_get(b, "base");
	if (!fmt || strcmp(fmt, "hallmark-build") != 0 ||
	    json_integer_value(json_object_get(b, "version")) != 1 ||
	    !str_at(b, "name") || !json_is_integer(json_object_get(b, "serial")) ||
	    !json_is_object(base) || !tsha || !hm_hex_is_sha256(tsha)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "%s: not a hallmark build record (format hallmark-build, "
				 "version 1, with name, serial, template and base)", name);
		goto out;
	}
	snprintf(invocation, sizeof(invocation), "%.128s/%" PRIu64, str_at(b, "name"),
		 (uint64_t)json_integer_value(json_object_get(b, "serial")));
	/* The base is what the build resolved: a Debian suite and package
	 * set, or a tarball or OCI image named by path. */
	dep = json_pack("{s:s, s:O}", "name", "base", "annotations", base);
	deps = dep ? json_array() : NULL;
	if (!deps || json_array_append(deps, dep) < 0)
		goto nomem;
	pred = json_pack("{s:{s:s, s:{s:{s:s?, s:{s:s}}, s:O?}, s:{s:s, s:I}, s:O},"
			 " s:{s:{s:s, s:{s:s}}, s:{s:s}}}",
			 "buildDefinition",
			 "buildType", HM_SLSA_BUILD_TYPE,
			 "externalParameters",
			 "template", "path", str_at(tpl, "path"), "digest", "sha256", tsha,
			 "source_date_epoch", json_object_get(b, "source_date_epoch"),
			 "internalParameters", "name", str_at(b, "name"),
			 "serial", (json_int_t)json_integer_value(json_object_get(b, "serial")),
			 "resolvedDependencies", deps,
			 "runDetails",
			 "builder", "id", HM_SLSA_BUILDER_ID, "version", "hallmark", HM_VERSION,
			 "metadata", "invocationId", invocation);
	if (!pred)
		goto nomem;
	/* Outputs and the audit gate are what this build produced and passed:
	 * by-products in SLSA's words. */
	if (json_is_object(json_object_get(b, "outputs")) &&
	    json_object_set_new(json_object_get(pred, "runDetails"), "byproducts",
				json_pack("[{s:s, s:O}, {s:s, s:O*}]",
					  "name", "outputs", "annotations",
					  json_object_get(b, "outputs"),
					  "name", "audit", "annotations",
					  json_object_get(b, "audit"))) < 0)
		goto nomem;
	r = dump(pred, out, err);
	goto out;
nomem:
	r = hm_error_nomem(err);
out:
	json_decref(pred);
	json_decref(deps);
	json_decref(dep);
	json_decref(b);
	return r;
}
