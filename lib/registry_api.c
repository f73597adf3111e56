/*
 * The distribution-spec v2 endpoints over registry.c's transport:
 * references, manifests, tag lists and the catalog (Link pagination), the
 * OCI 1.1 referrers API and its fallback tag, and the upload primitives.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hallmark/digest.h"
#include "hallmark/limits.h"
#include "hallmark/registry.h"

#include "registry_private.h"

#define ACCEPT_IMAGE HM_MT_OCI_MANIFEST ", " HM_MT_OCI_INDEX ", " \
	HM_MT_DOCKER_MANIFEST ", " HM_MT_DOCKER_LIST

/* ---- references ------------------------------------------------------------ */

void hm_registry_ref_clear(struct hm_registry_ref *ref)
{
	if (!ref)
		return;
	free(ref->host);
	free(ref->repo);
	free(ref->tag);
	memset(ref, 0, sizeof(*ref));
}

/* distribution's grammar, loosely: lowercase components of [a-z0-9._-]
 * separated by '/'. */
static bool valid_repo(const char *s)
{
	const char *p;

	if (!*s || *s == '/' || s[strlen(s) - 1] == '/' || strstr(s, "//") ||
	    strlen(s) > 255)
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-' || *p == '/'))
			return false;
	return !strstr(s, "/.") && s[0] != '.';
}

static bool valid_tag(const char *s)
{
	const char *p;

	if (!*s || strlen(s) > 128 || *s == '.' || *s == '-')
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

int hm_registry_ref_parse(const char *spec, bool allow_bare,
			  struct hm_registry_ref *ret, struct hm_error *err)
{
	struct hm_registry_ref ref = { 0 };
	const char *slash = strchr(spec, '/'), *at, *colon, *last;
	char hex[65];
	int r;

	if (!slash) {
		if (!allow_bare || !spec[0])
			return hm_error_set(err, HM_ERR_USAGE, 0,
					    "'registry:%s': give HOST/REPO[:TAG|@sha256:DIGEST]", spec);
		ref.host = strdup(spec);
		if (!ref.host)
			return hm_error_nomem(err);
		goto check_host;
	}
	if (!(ref.host = strndup(spec, (size_t)(slash - spec))))
		return hm_error_nomem(err);
	at = strchr(slash + 1, '@');
	if (at) {
		if ((r = hm_registry_check_digest(at + 1, hex, err)) < 0) {
			hm_registry_ref_clear(&ref);
			return hm_error_set(err, HM_ERR_USAGE, 0,
					    "'registry:%s': the digest must be sha256: and 64 lowercase hex digits",
					    spec);
		}
		snprintf(ref.digest, sizeof(ref.digest), "%s", at + 1);
		ref.repo = strndup(slash + 1, (size_t)(at - slash - 1));
	} else {
		last = strrchr(slash + 1, '/');
		colon = strchr(last ? last : slash + 1, ':');
		ref.repo = colon ? strndup(slash + 1, (size_t)(colon - slash - 1)) :
			   strdup(slash + 1);
		ref.tag = strdup(colon ? colon + 1 : "latest");
		if (!ref.tag) {
			hm_registry_ref_clear(&ref);
			return hm_error_nomem(err);
		}
		if (!valid_tag(ref.tag)) {
			hm_registry_ref_clear(&ref);
			return hm_error_set(err, HM_ERR_USAGE, 0, "'registry:%s': bad tag", spec);
		}
	}
	if (!ref.repo) {
		hm_registry_ref_clear(&ref);
		return hm_error_nomem(err);
	}
	if (!valid_repo(ref.repo)) {
		hm_registry_ref_clear(&ref);
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "'registry:%s': bad repository name (lowercase a-z 0-9 . _ - and /)",
				    spec);
	}
check_host:
	if (!ref.host[0] || strpbrk(ref.host, "@ \t?#\\")) {
		hm_registry_ref_clear(&ref);
		return hm_error_set(err, HM_ERR_USAGE, 0, "'registry:%s': bad host", spec);
	}
	*ret = ref;
	return 0;
}

/* ---- manifests -------------------------------------------------------------- */

char *hm_registry_repo_scope(const char *repo, const char *actions)
{
	char *s;

	return asprintf(&s, "repository:%s:%s", repo, actions) < 0 ? NULL : s;
}

static void sha256_digest(const void *data, size_t len, char out[HM_REGISTRY_DIGEST_LEN + 1])
{
	unsigned char md[32];

	hm_hash_buf(HM_HASH_SHA256, data, len, md);
	memcpy(out, "sha256:", 7);
	hm_hex_encode(md, 32, out + 7);
}

/* The media type without parameters ("; charset=utf-8"). */
static char *bare_mt(const char *ct)
{
	size_t n = strcspn(ct, "; ");

	return strndup(ct, n);
}

int hm_registry_get_manifest(struct hm_registry *reg, const char *repo,
			     const char *reference, const char *accept,
			     struct hm_buf *body, char **ret_mt,
			     char ret_digest[HM_REGISTRY_DIGEST_LEN + 1],
			     struct hm_error *err)
{
	struct resp rs = { .body = body, .max = HM_LIMIT_REGISTRY_MANIFEST_BYTES,
			   .limit_name = "HM_LIMIT_REGISTRY_MANIFEST_BYTES" };
	struct req rq = { .method = "GET", .accept = accept ? accept : ACCEPT_IMAGE };
	char *path = NULL, *scope = NULL, *mt = NULL, digest[HM_REGISTRY_DIGEST_LEN + 1];
	json_t *j = NULL;
	json_error_t je;
	int r;

	if (asprintf(&path, "/v2/%s/manifests/%s", repo, reference) < 0 ||
	    !(scope = hm_registry_repo_scope(repo, "pull"))) {
		if (scope == NULL && path) {
			free(path);
		}
		return hm_error_nomem(err);
	}
	rq.path = path;
	rq.scope = scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status == 404) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: manifest '%s' unknown to the registry",
				 reg->host, repo, reference);
		goto out;
	}
	sha256_digest(body->data ? body->data : "", body->len, digest);
	/* By digest, the body is what was asked for or nothing. */
	if (strncmp(reference, "sha256:", 7) == 0 && strcmp(digest, reference) != 0) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "%s/%s: manifest %s does not match its digest (its content is %s)",
				 reg->host, repo, reference, digest);
		goto out;
	}
	/* The media type: the document's own field, else Content-Type. */
	j = json_loadb(body->data ? body->data : "", body->len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: manifest '%s' is not a JSON object: %s",
				 reg->host, repo, reference, j ? "" : je.text);
		goto out;
	}
	if (json_string_value(json_object_get(j, "mediaType")))
		mt = strdup(json_string_value(json_object_get(j, "mediaType")));
	else
		mt = bare_mt(rs.ctype.data ? rs.ctype.data : "");
	if (!mt) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (ret_mt)
		*ret_mt = mt, mt = NULL;
	if (ret_digest)
		memcpy(ret_digest, digest, sizeof(digest));
	r = 0;
out:
	json_decref(j);
	free(mt);
	free(path);
	free(scope);
	hm_registry_resp_free(&rs);
	return r;
}

int hm_registry_head_manifest(struct hm_registry *reg, const char *repo,
			      const char *reference,
			      char ret_digest[HM_REGISTRY_DIGEST_LEN + 1],
			      struct hm_error *err)
{
	struct resp rs = { 0 };
	struct req rq = { .method = "HEAD", .accept = ACCEPT_IMAGE };
	char *path = NULL, *scope = NULL, hex[65];
	struct hm_error ignore = { 0 };
	int r;

	if (asprintf(&path, "/v2/%s/manifests/%s", repo, reference) < 0)
		return hm_error_nomem(err);
	if (!(scope = hm_registry_repo_scope(repo, "pull"))) {
		free(path);
		return hm_error_nomem(err);
	}
	rq.path = path;
	rq.scope = scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status == 404) {
		r = 0;
		goto out;
	}
	ret_digest[0] = '\0';
	if (rs.dcd.data && hm_registry_check_digest(rs.dcd.data, hex, &ignore) == 0)
		snprintf(ret_digest, HM_REGISTRY_DIGEST_LEN + 1, "%s", rs.dcd.data);
	r = 1;
out:
	free(path);
	free(scope);
	hm_registry_resp_free(&rs);
	return r;
}

/* ---- names -------------------------------------------------------------------- */

void hm_registry_names_free(struct hm_registry_names *names)
{
	size_t i;

	for (i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	names->v = NULL;
	names->n = 0;
}

/* Pages of {"key": [names]}, following Link rel="next" on this host. */
static int list_names(struct hm_registry *reg, const char *first, const char *key,
		      const char *scope, struct hm_registry_names *ret,
		      struct hm_error *err)
{
	struct hm_registry_names out = { 0 };
	struct hm_buf body = HM_BUF_INIT;
	char *path = strdup(first), *next;
	unsigned pages = 0;
	int r = 0;

	if (!path)
		return hm_error_nomem(err);
	while (path) {
		struct resp rs = { .body = &body, .max = HM_LIMIT_REGISTRY_MANIFEST_BYTES,
				   .limit_name = "HM_LIMIT_REGISTRY_MANIFEST_BYTES" };
		struct req rq = { .method = "GET", .path = path, .accept = "application/json",
				  .scope = scope };
		json_t *j, *arr, *v;
		json_error_t je;
		size_t i;

		if (++pages > HM_LIMIT_REGISTRY_PAGES) {
			r = hm_error_set(err, HM_ERR_LIMIT, 0, "%s: more than %u pages (HM_LIMIT_REGISTRY_PAGES)",
					 reg->host, HM_LIMIT_REGISTRY_PAGES);
			goto out;
		}
		if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0) {
			hm_registry_resp_free(&rs);
			goto out;
		}
		if (rs.status == 404) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "%s%s: not found", reg->host, path);
			hm_registry_resp_free(&rs);
			goto out;
		}
		j = json_loadb(body.data ? body.data : "", body.len, 0, &je);
		arr = json_object_get(j, key);
		if (!json_is_object(j) || (arr && !json_is_array(arr) && !json_is_null(arr))) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "%s%s: not a list of %s",
					 reg->host, path, key);
			json_decref(j);
			hm_registry_resp_free(&rs);
			goto out;
		}
		json_array_foreach(arr, i, v) {
			char **nv;

			if (!json_is_string(v))
				continue;
			if (out.n >= HM_LIMIT_REGISTRY_NAMES) {
				r = hm_error_set(err, HM_ERR_LIMIT, 0,
						 "%s%s: more than %u names (HM_LIMIT_REGISTRY_NAMES)",
						 reg->host, first, HM_LIMIT_REGISTRY_NAMES);
				break;
			}
			if (!(nv = realloc(out.v, (out.n + 1) * sizeof(*nv))) ||
			    !(nv[out.n] = strdup(json_string_value(v)))) {
				if (nv)
					out.v = nv;
				r = hm_error_nomem(err);
				break;
			}
			out.v = nv;
			out.n++;
		}
		json_decref(j);
		next = rs.link.data ? hm_registry_link_next(rs.link.data) : NULL;
		hm_registry_resp_free(&rs);
		free(path);
		path = NULL;
		if (r < 0) {
			free(next);
			goto out;
		}
		/* The next page is a path on this registry; an absolute URL
		 * elsewhere is refused rather than followed. */
		if (next && next[0] != '/') {
			char pre[300];

			snprintf(pre, sizeof(pre), "%s://%s/", hm_registry_scheme(reg), reg->host);
			if (strncmp(next, pre, strlen(pre)) != 0) {
				r = hm_error_set(err, HM_ERR_INPUT, 0,
						 "%s: refusing a next page on another host ('%s')",
						 reg->host, next);
				free(next);
				goto out;
			}
			memmove(next, next + strlen(pre) - 1, strlen(next + strlen(pre) - 1) + 1);
		}
		path = next;
	}
	*ret = out;
	out.v = NULL;
	out.n = 0;
out:
	free(path);
	hm_buf_free(&body);
	hm_registry_names_free(&out);
	return r;
}

int hm_registry_tags(struct hm_registry *reg, const char *repo,
		     struct hm_registry_names *ret, struct hm_error *err)
{
	char *path = NULL, *scope = hm_registry_repo_scope(repo, "pull");
	int r;

	if (!scope || asprintf(&path, "/v2/%s/tags/list", repo) < 0) {
		free(scope);
		return hm_error_nomem(err);
	}
	r = list_names(reg, path, "tags", scope, ret, err);
	free(path);
	free(scope);
	return r;
}

int hm_registry_catalog(struct hm_registry *reg,
			struct hm_registry_names *ret, struct hm_error *err)
{
	return list_names(reg, "/v2/_catalog?n=1000", "repositories",
			  "registry:catalog:*", ret, err);
}

/* ---- referrers ---------------------------------------------------------------- */

void hm_registry_descs_free(struct hm_registry_descs *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].media_type);
		free(d->v[i].artifact_type);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

static int parse_referrers(struct hm_registry *reg, const char *repo, json_t *j,
			   const char *artifact_type, struct hm_registry_descs *out,
			   struct hm_error *err)
{
	json_t *arr = json_object_get(j, "manifests"), *d;
	size_t i;
	char hex[65];

	if (!json_is_array(arr))
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the referrers index has no manifests list",
				    reg->host, repo);
	if (json_array_size(arr) > HM_LIMIT_REGISTRY_REFERRERS)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "%s/%s: %zu referrers exceed %u (HM_LIMIT_REGISTRY_REFERRERS)",
				    reg->host, repo, json_array_size(arr), HM_LIMIT_REGISTRY_REFERRERS);
	json_array_foreach(arr, i, d) {
		const char *mt = json_string_value(json_object_get(d, "mediaType"));
		const char *at = json_string_value(json_object_get(d, "artifactType"));
		const char *dg = json_string_value(json_object_get(d, "digest"));
		json_t *sz = json_object_get(d, "size");
		struct hm_error ignore = { 0 };
		struct hm_registry_desc *nv;

		if (!mt || !dg || !json_is_integer(sz) || json_integer_value(sz) < 0 ||
		    hm_registry_check_digest(dg, hex, &ignore) < 0)
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "%s/%s: referrer %zu is not a valid descriptor",
					    reg->host, repo, i + 1);
		if (artifact_type && (!at || strcmp(at, artifact_type) != 0))
			continue;
		if (!(nv = realloc(out->v, (out->n + 1) * sizeof(*nv))))
			return hm_error_nomem(err);
		out->v = nv;
		memset(&nv[out->n], 0, sizeof(*nv));
		snprintf(nv[out->n].digest, sizeof(nv[out->n].digest), "%s", dg);
		nv[out->n].size = (uint64_t)json_integer_value(sz);
		nv[out->n].media_type = strdup(mt);
		nv[out->n].artifact_type = at ? strdup(at) : NULL;
		out->n++;
		if (!nv[out->n - 1].media_type || (at && !nv[out->n - 1].artifact_type))
			return hm_error_nomem(err);
	}
	return 0;
}

int hm_registry_referrers(struct hm_registry *reg, const char *repo,
			  const char *subject, const char *artifact_type,
			  struct hm_registry_descs *ret, struct hm_error *err)
{
	struct hm_registry_descs out = { 0 };
	struct hm_buf body = HM_BUF_INIT;
	struct resp rs = { .body = &body, .max = HM_LIMIT_REGISTRY_MANIFEST_BYTES,
			   .limit_name = "HM_LIMIT_REGISTRY_MANIFEST_BYTES" };
	struct req rq = { .method = "GET", .accept = HM_MT_OCI_INDEX };
	char *path = NULL, *scope = hm_registry_repo_scope(repo, "pull"), *e = NULL, hex[65];
	json_t *j = NULL;
	json_error_t je;
	int r;

	if ((r = hm_registry_check_digest(subject, hex, err)) < 0)
		goto out;
	if (!scope || (artifact_type && !(e = hm_registry_escape(artifact_type))) ||
	    asprintf(&path, "/v2/%s/referrers/%s%s%s", repo, subject,
		     e ? "?artifactType=" : "", e ? e : "") < 0) {
		path = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	rq.path = path;
	rq.scope = scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status == 404) {
		/* No referrers API: the fallback tag holds an index of them. */
		char tag[80], *mt = NULL;
		struct hm_error e404 = { 0 };

		snprintf(tag, sizeof(tag), "sha256-%s", hex);
		r = hm_registry_get_manifest(reg, repo, tag, HM_MT_OCI_INDEX, &body, &mt,
					     NULL, &e404);
		free(mt);
		if (r < 0) {
			/* An unknown fallback tag is no referrers at all. */
			if (strstr(e404.msg, "unknown to the registry")) {
				r = 0;
				*ret = out;
				goto out;
			}
			*err = e404;
			goto out;
		}
	}
	j = json_loadb(body.data ? body.data : "", body.len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the referrers of %s are not a JSON index",
				 reg->host, repo, subject);
		goto out;
	}
	if ((r = parse_referrers(reg, repo, j, artifact_type, &out, err)) < 0)
		goto out;
	*ret = out;
	out.v = NULL;
	out.n = 0;
out:
	json_decref(j);
	hm_registry_descs_free(&out);
	hm_buf_free(&body);
	hm_registry_resp_free(&rs);
	free(path);
	free(scope);
	free(e);
	return r;
}

/* ---- uploads ------------------------------------------------------------------ */

int hm_registry_blob_exists(struct hm_registry *reg, const char *repo,
			    const char *digest, struct hm_error *err)
{
	struct resp rs = { 0 };
	struct req rq = { .method = "HEAD" };
	char *path = NULL, *scope = hm_registry_repo_scope(repo, "pull,push"), hex[65];
	int r;

	if ((r = hm_registry_check_digest(digest, hex, err)) < 0)
		goto out;
	if (!scope || asprintf(&path, "/v2/%s/blobs/%s", repo, digest) < 0) {
		path = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	rq.path = path;
	rq.scope = scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	r = rs.status == 404 ? 0 : 1;
out:
	free(path);
	free(scope);
	hm_registry_resp_free(&rs);
	return r;
}

/* The Location of an upload as a path on this registry; another host is
 * refused (credentials would follow). */
int hm_registry_upload_location(struct hm_registry *reg, const char *repo,
				const struct resp *rs, struct hm_buf *out,
				struct hm_error *err)
{
	char pre[320];
	const char *loc = rs->location.data;

	if (!rs->location.len)
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the registry answers "
				    "%ld to an upload, without a location", reg->host,
				    repo, rs->status);
	snprintf(pre, sizeof(pre), "%s://%s/", hm_registry_scheme(reg), reg->host);
	hm_buf_reset(out);
	if (loc[0] == '/') {
		if (hm_buf_adds(out, loc) < 0)
			return hm_error_nomem(err);
	} else if (strncasecmp(loc, pre, strlen(pre)) == 0) {
		if (hm_buf_adds(out, loc + strlen(pre) - 1) < 0)
			return hm_error_nomem(err);
	} else {
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: refusing an upload "
				    "location on another host ('%s')", reg->host, repo, loc);
	}
	return 0;
}

int hm_registry_put_blob(struct hm_registry *reg, const char *repo,
			 const char *digest, const void *data, size_t len,
			 struct hm_error *err)
{
	struct resp rs = { 0 };
	struct req rq = { .method = "POST" };
	char *path = NULL, *scope = hm_registry_repo_scope(repo, "pull,push"), hex[65];
	struct hm_buf put = HM_BUF_INIT;
	int r;

	if ((r = hm_registry_check_digest(digest, hex, err)) < 0)
		goto out;
	if (!scope || asprintf(&path, "/v2/%s/blobs/uploads/", repo) < 0) {
		path = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	rq.path = path;
	rq.scope = scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status != 202) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "%s/%s: the registry answers %ld to an upload, without a location",
				 reg->host, repo, rs.status);
		goto out;
	}
	if ((r = hm_registry_upload_location(reg, repo, &rs, &put, err)) < 0)
		goto out;
	if (r < 0 || hm_buf_addf(&put, "%sdigest=%s", strchr(put.data, '?') ? "&" : "?",
				 digest) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	hm_registry_resp_free(&rs);
	memset(&rs, 0, sizeof(rs));
	rq = (struct req){ .method = "PUT", .path = put.data, .scope = scope,
			   .ctype = "application/octet-stream", .data = data, .len = len };
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status != 201) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the registry answers %ld to the upload of %s",
				 reg->host, repo, rs.status, digest);
		goto out;
	}
	r = 0;
out:
	hm_buf_free(&put);
	free(path);
	free(scope);
	hm_registry_resp_free(&rs);
	return r;
}

int hm_registry_put_manifest(struct hm_registry *reg, const char *repo,
			     const char *reference, const char *mt,
			     const void *data, size_t len,
			     char ret_digest[HM_REGISTRY_DIGEST_LEN + 1],
			     struct hm_error *err)
{
	struct resp rs = { 0 };
	struct req rq = { .method = "PUT", .ctype = mt, .data = data, .len = len };
	char *path = NULL, *scope = hm_registry_repo_scope(repo, "pull,push");
	int r;

	if (len > HM_LIMIT_REGISTRY_MANIFEST_BYTES) {
		free(scope);
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "a manifest of %zu bytes exceeds %u (HM_LIMIT_REGISTRY_MANIFEST_BYTES)",
				    len, HM_LIMIT_REGISTRY_MANIFEST_BYTES);
	}
	if (!scope || asprintf(&path, "/v2/%s/manifests/%s", repo, reference) < 0) {
		free(scope);
		return hm_error_nomem(err);
	}
	rq.path = path;
	rq.scope = scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status != 201) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the registry answers %ld to the manifest '%s'",
				 reg->host, repo, rs.status, reference);
		goto out;
	}
	if (ret_digest)
		sha256_digest(data, len, ret_digest);
	r = 0;
out:
	free(path);
	free(scope);
	hm_registry_resp_free(&rs);
	return r;
}
