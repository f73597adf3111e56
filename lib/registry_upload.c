/*
 * Chunked uploads, mounts and the referrers-API probe for `hallmark push`,
 * on the registry client's handle (registry_private.h): one HTTP client in
 * the project, its TLS, redirect and authentication rules included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/limits.h"
#include "hallmark/registry_upload.h"
#include "registry_private.h"

struct hm_registry_upload {
	struct hm_registry *reg;
	char *repo, *scope;
	struct hm_buf where;     /* the current upload location, a path */
	unsigned long long offset;
	bool open;
};

static void cancel(struct hm_registry *reg, const char *path, const char *scope)
{
	struct req rq = { .method = "DELETE", .path = path, .scope = scope };
	struct resp rs = { 0 };
	struct hm_error ignored = { 0 };

	hm_registry_request(reg, &rq, &rs, &ignored);
	hm_registry_resp_free(&rs);
}

int hm_registry_mount_blob(struct hm_registry *reg, const char *repo,
			   const char *digest, const char *from,
			   struct hm_error *err)
{
	struct resp rs = { 0 };
	struct req rq = { .method = "POST" };
	struct hm_buf loc = HM_BUF_INIT;
	char *path = NULL, *esc = NULL, *scope = NULL, hex[65];
	int r;

	if ((r = hm_registry_check_digest(digest, hex, err)) < 0)
		return r;
	/* The token must cover pulling from the source repository too. */
	if (!(esc = hm_registry_escape(from)) ||
	    asprintf(&scope, "repository:%s:pull,push repository:%s:pull", repo, from) < 0 ||
	    asprintf(&path, "/v2/%s/blobs/uploads/?mount=%s&from=%s", repo, digest, esc) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	rq.path = path;
	rq.scope = scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status == 201) {
		r = 1;
	} else if (rs.status == 202) {
		/* No mount: an upload was opened instead. */
		if ((r = hm_registry_upload_location(reg, repo, &rs, &loc, err)) >= 0)
			cancel(reg, loc.data, scope);
		r = r < 0 ? r : 0;
	} else {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the registry answers %ld "
				 "to mounting %s from '%s'", reg->host, repo, rs.status,
				 digest, from);
	}
out:
	hm_registry_resp_free(&rs);
	hm_buf_free(&loc);
	free(path);
	free(esc);
	free(scope);
	return r;
}

int hm_registry_upload_start(struct hm_registry *reg, const char *repo,
			     struct hm_registry_upload **ret,
			     struct hm_error *err)
{
	struct hm_registry_upload *u = calloc(1, sizeof(*u));
	struct resp rs = { 0 };
	struct req rq = { .method = "POST" };
	char *path = NULL;
	int r;

	if (!u || !(u->repo = strdup(repo)) || !(u->scope = hm_registry_repo_scope(repo, "pull,push")) ||
	    asprintf(&path, "/v2/%s/blobs/uploads/", repo) < 0) {
		path = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	u->reg = reg;
	rq.path = path;
	rq.scope = u->scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status != 202) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the registry answers %ld "
				 "to an upload", reg->host, repo, rs.status);
		goto out;
	}
	if ((r = hm_registry_upload_location(reg, repo, &rs, &u->where, err)) < 0)
		goto out;
	u->open = true;
	*ret = u;
	u = NULL;
out:
	hm_registry_resp_free(&rs);
	free(path);
	hm_registry_upload_free(u);
	return r;
}

int hm_registry_upload_chunk(struct hm_registry_upload *u, const void *data,
			     size_t len, struct hm_error *err)
{
	struct resp rs = { 0 };
	char range[64];
	struct req rq = { .method = "PATCH", .ctype = "application/octet-stream",
			  .data = data, .len = len, .range = range };
	char *path = NULL;
	int r;

	if (!len)
		return 0;
	snprintf(range, sizeof(range), "%llu-%llu", u->offset, u->offset + len - 1);
	if (!(path = strdup(u->where.data)))
		return hm_error_nomem(err);
	rq.path = path;
	rq.scope = u->scope;
	if ((r = hm_registry_request(u->reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status != 202) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the registry answers %ld "
				 "to the chunk at %llu", u->reg->host, u->repo, rs.status,
				 u->offset);
		goto out;
	}
	if ((r = hm_registry_upload_location(u->reg, u->repo, &rs, &u->where, err)) < 0)
		goto out;
	u->offset += len;
out:
	hm_registry_resp_free(&rs);
	free(path);
	return r;
}

int hm_registry_upload_finish(struct hm_registry_upload *u,
			      const char *digest, struct hm_error *err)
{
	struct resp rs = { 0 };
	struct req rq = { .method = "PUT", .ctype = "application/octet-stream" };
	struct hm_buf put = HM_BUF_INIT;
	char hex[65];
	int r;

	if ((r = hm_registry_check_digest(digest, hex, err)) < 0)
		return r;
	if (hm_buf_addf(&put, "%s%cdigest=%s", u->where.data,
			strchr(u->where.data, '?') ? '&' : '?', digest) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	rq.path = put.data;
	rq.scope = u->scope;
	if ((r = hm_registry_request(u->reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status != 201) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: the registry answers %ld "
				 "to the upload of %s", u->reg->host, u->repo, rs.status, digest);
		goto out;
	}
	u->open = false;
out:
	hm_registry_resp_free(&rs);
	hm_buf_free(&put);
	return r;
}

void hm_registry_upload_free(struct hm_registry_upload *u)
{
	if (!u)
		return;
	if (u->open)
		cancel(u->reg, u->where.data, u->scope);
	hm_buf_free(&u->where);
	free(u->repo);
	free(u->scope);
	free(u);
}

int hm_registry_referrers_api(struct hm_registry *reg, const char *repo,
			      const char *digest, bool *has,
			      struct hm_error *err)
{
	struct hm_buf body = HM_BUF_INIT;
	struct resp rs = { .body = &body, .max = HM_LIMIT_REGISTRY_MANIFEST_BYTES,
			   .limit_name = "HM_LIMIT_REGISTRY_MANIFEST_BYTES" };
	struct req rq = { .method = "GET", .accept = HM_MT_OCI_INDEX };
	char *path = NULL, *scope = NULL, hex[65];
	int r;

	*has = false;
	if ((r = hm_registry_check_digest(digest, hex, err)) < 0)
		return r;
	if (!(scope = hm_registry_repo_scope(repo, "pull,push")) ||
	    asprintf(&path, "/v2/%s/referrers/%s", repo, digest) < 0) {
		path = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	rq.path = path;
	rq.scope = scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	*has = rs.status == 200 && rs.ctype.len &&
	       strncmp(rs.ctype.data, HM_MT_OCI_INDEX, strlen(HM_MT_OCI_INDEX)) == 0;
out:
	hm_registry_resp_free(&rs);
	hm_buf_free(&body);
	free(path);
	free(scope);
	return r;
}
