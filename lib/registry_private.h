/*
 * What the registry client's files share; internal to lib/.  registry.c
 * is the transport (libcurl), registry_auth.c the credentials and the
 * token dance, registry_api.c the distribution-spec endpoints,
 * source_registry.c the registry: target.
 */
#ifndef HALLMARK_REGISTRY_PRIVATE_H
#define HALLMARK_REGISTRY_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "hallmark/buf.h"
#include "hallmark/error.h"
#include "hallmark/registry.h"

struct hm_hash;

struct hm_registry {
	char *host;                  /* "host[:port]" as the reference has it */
	const struct hm_registry_options *opt;
	void *curl;                  /* CURL * */
	bool plain_ok;               /* loopback or --insecure-registry */
	bool use_http;               /* the server speaks no TLS */
	char *cred;                  /* "user:password" from the auth file, secret */
	bool use_basic;              /* the server asked for Basic */
	char *token, *token_scope;   /* bearer token and the scope it was for */
};

/* One request. */
struct req {
	const char *method;          /* GET, HEAD, PUT, POST, PATCH */
	const char *path;            /* "/v2/..." */
	const char *accept, *ctype;
	const void *data;            /* the body of PUT / POST */
	size_t len;
	bool blob;                   /* may be redirected to another host */
	const char *scope;           /* "repository:REPO:pull" for a token */
	const char *range;           /* Content-Range of a PATCH chunk (registry_upload.c) */
};

/* One response: the final exchange's headers, and its body into body
 * (at most max, named limit_name) or, for a blob, into sink while hashed. */
struct resp {
	long status;
	struct hm_buf ctype, location, www_auth, link, dcd, errbody;
	struct hm_buf *body;
	size_t max;
	const char *limit_name;
	bool over, total_over;
	hm_registry_sink_fn sink;
	void *ctx;
	struct hm_hash *h;
	uint64_t want, got, *total;
	int sink_r;
	struct hm_error *err;
};

int hm_registry_request(struct hm_registry *reg, const struct req *rq,
			struct resp *rs, struct hm_error *err);
void hm_registry_resp_free(struct resp *rs);
const char *hm_registry_scheme(const struct hm_registry *reg);
bool hm_registry_plain_allowed(const struct hm_registry_options *o,
			       const char *hostport);
int hm_registry_check_digest(const char *digest, char hex[65],
			     struct hm_error *err);

/* A GET of a token realm URL (with the Basic credentials if any) into
 * body, bounded by HM_LIMIT_REGISTRY_TOKEN_BYTES. */
int hm_registry_fetch_token(struct hm_registry *reg, const char *url,
			    struct hm_buf *body, struct hm_error *err);
/* s escaped for a URL query, allocated; NULL when out of memory. */
char *hm_registry_escape(const char *s);

/* registry_auth.c */
int hm_registry_load_credentials(struct hm_registry *reg, struct hm_error *err);
/* After a 401 with challenge (may be NULL) for url: set what the next
 * attempt sends (Basic credentials, or a token from the realm). */
int hm_registry_authenticate(struct hm_registry *reg, const char *challenge,
			     const char *scope, const char *url,
			     struct hm_error *err);

/* "repository:REPO:ACTIONS", the scope of a token; NULL on no memory. */
char *hm_registry_repo_scope(const char *repo, const char *actions);
/* The Location of an upload as a path on this registry, into out;
 * another host is refused (credentials would follow). */
int hm_registry_upload_location(struct hm_registry *reg, const char *repo,
				const struct resp *rs, struct hm_buf *out,
				struct hm_error *err);

#endif
