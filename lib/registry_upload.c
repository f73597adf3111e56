/*
 * Pushing to a registry over libcurl: the requests of the
 * distribution-spec's push workflow, their authentication, and nothing
 * else (registry_upload.h says what is answered and what is refused).
 *
 * One curl easy handle per push handle, reused so the connection stays
 * open across the many small requests a push makes.  Every response body
 * is read into memory under a limit; nothing the registry sends is
 * written to disk.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hallmark/registry_upload.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"

#define RESPONSE_MAX HM_REGUP_MANIFEST_MAX
#define AUTHFILE_MAX (1u << 20)
#define HEADER_MAX 4096

struct hm_regup {
	CURL *curl;
	char *host, *repo;
	char *base;        /* scheme://host */
	char *basic;       /* base64 USER:PASSWORD from the auth file, or NULL */
	char *bearer;      /* the token of the last bearer challenge answered */
	char *ca_file;
	bool basic_sent;   /* the server asked for Basic: send it from now on */
	struct hm_regup_stats stats;
};

struct hm_regup_upload {
	struct hm_regup *r;
	char *location;
	unsigned long long offset;
};

/* What one request gives back. */
struct response {
	long status;
	struct hm_buf body;
	bool body_cut;
	char location[HEADER_MAX];
	char digest[HEADER_MAX];       /* Docker-Content-Digest */
	char challenge[HEADER_MAX];    /* WWW-Authenticate */
	char content_type[256];
};

static void response_free(struct response *rs)
{
	hm_buf_free(&rs->body);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct response *rs = arg;
	size_t len = size * n;

	if (rs->body.len + len > RESPONSE_MAX) {
		rs->body_cut = true;
		return 0; /* curl stops: CURLE_WRITE_ERROR */
	}
	if (hm_buf_add(&rs->body, p, len) < 0)
		return 0;
	return len;
}

/* Copy a header's value (trimmed) when its name is name. */
static void header_value(const char *line, size_t len, const char *name,
			 char *out, size_t outsz)
{
	size_t nl = strlen(name);

	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	line += nl + 1;
	len -= nl + 1;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
		       line[len - 1] == ' '))
		len--;
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, line, len);
	out[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct response *rs = arg;
	size_t len = size * n;

	/* A new status line (after a 100 Continue) starts a new response. */
	if (len > 5 && strncmp(p, "HTTP/", 5) == 0)
		rs->location[0] = rs->digest[0] = rs->challenge[0] =
			rs->content_type[0] = '\0';
	header_value(p, len, "Location", rs->location, sizeof(rs->location));
	header_value(p, len, "Docker-Content-Digest", rs->digest, sizeof(rs->digest));
	header_value(p, len, "WWW-Authenticate", rs->challenge, sizeof(rs->challenge));
	header_value(p, len, "Content-Type", rs->content_type, sizeof(rs->content_type));
	return len;
}

static bool is_loopback(const char *host)
{
	size_t n = strcspn(host, ":");

	if (host[0] == '[')
		return strncmp(host, "[::1]", 5) == 0;
	return (n == 9 && strncmp(host, "localhost", 9) == 0) ||
	       (n >= 4 && strncmp(host, "127.", 4) == 0);
}

/* The registry's error message ("errors":[{"code","message"}]), if any. */
static const char *registry_message(const struct response *rs, char *buf,
				    size_t size)
{
	json_t *j, *e;
	const char *code, *msg;

	buf[0] = '\0';
	if (!rs->body.len)
		return buf;
	j = json_loadb(rs->body.data, rs->body.len, 0, NULL);
	e = json_array_get(json_object_get(j, "errors"), 0);
	code = json_string_value(json_object_get(e, "code"));
	msg = json_string_value(json_object_get(e, "message"));
	if (code || msg)
		snprintf(buf, size, ": %s%s%s", code ? code : "",
			 code && msg ? " " : "", msg ? msg : "");
	json_decref(j);
	return buf;
}

static int status_error(struct hm_regup *r, const char *what,
			const struct response *rs, struct hm_error *err)
{
	char m[512];

	if (rs->status == 401 && !r->basic && !r->bearer)
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s: %s asks for credentials "
				    "for '%s' and no auth file has any for it (--authfile)",
				    what, r->host, r->repo);
	if (rs->status == 401 || rs->status == 403)
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s: %s refuses the "
				    "credentials for '%s' (HTTP %ld)%s", what,
				    r->host, r->repo, rs->status,
				    registry_message(rs, m, sizeof(m)));
	return hm_error_set(err, HM_ERR_IO, 0, "%s: %s answers HTTP %ld%s", what,
			    r->host, rs->status, registry_message(rs, m, sizeof(m)));
}

/* A challenge parameter (realm="..."), malloc'd; NULL when absent. */
static char *challenge_param(const char *c, const char *name)
{
	size_t nl = strlen(name);
	const char *p = c, *end;

	while ((p = strstr(p, name))) {
		if ((p == c || p[-1] == ' ' || p[-1] == ',') && p[nl] == '=' &&
		    p[nl + 1] == '"') {
			p += nl + 2;
			end = strchr(p, '"');
			return end ? strndup(p, (size_t)(end - p)) : NULL;
		}
		p += nl;
	}
	return NULL;
}

static int perform(struct hm_regup *r, const char *method, const char *url,
		   const char *content_type, const void *body, size_t len,
		   const char *extra_header, bool nobody, struct response *rs,
		   struct hm_error *err);

/*
 * Answer a bearer challenge: GET the realm (with the Basic credentials
 * when there are some) for a token covering this repository's pull and
 * push.  The realm must be https, or on the registry's own host.
 */
static int get_token(struct hm_regup *r, const char *challenge,
		     struct hm_error *err)
{
	char *realm = challenge_param(challenge, "realm");
	char *service = challenge_param(challenge, "service");
	char *esc_service = NULL, *esc_scope = NULL, *scope = NULL, *url = NULL;
	struct response rs = { 0 };
	char auth[HEADER_MAX];
	const char *tok;
	json_t *j = NULL;
	int ret;

	if (!realm) {
		ret = hm_error_set(err, HM_ERR_INPUT, 0, "%s: bearer challenge "
				   "without a realm", r->host);
		goto out;
	}
	if (strncmp(realm, "https://", 8) != 0 &&
	    (strncmp(realm, r->base, strlen(r->base)) != 0 ||
	     !strchr("/?", realm[strlen(r->base)]))) {
		ret = hm_error_set(err, HM_ERR_INPUT, 0, "%s: token realm '%s' is "
				   "neither https nor this registry", r->host, realm);
		goto out;
	}
	if (asprintf(&scope, "repository:%s:pull,push", r->repo) < 0 ||
	    !(esc_scope = curl_easy_escape(r->curl, scope, 0)) ||
	    (service && !(esc_service = curl_easy_escape(r->curl, service, 0))) ||
	    asprintf(&url, "%s%cscope=%s%s%s", realm, strchr(realm, '?') ? '&' : '?',
		     esc_scope, esc_service ? "&service=" : "",
		     esc_service ? esc_service : "") < 0) {
		url = NULL;
		ret = hm_error_nomem(err);
		goto out;
	}
	auth[0] = '\0';
	if (r->basic)
		snprintf(auth, sizeof(auth), "Authorization: Basic %s", r->basic);
	/* The realm is fetched without the bearer or basic logic of perform(). */
	free(r->bearer);
	r->bearer = NULL;
	ret = perform(r, "GET", url, NULL, NULL, 0, auth[0] ? auth : NULL, false,
		      &rs, err);
	explicit_bzero(auth, sizeof(auth));
	if (ret < 0)
		goto out;
	if (rs.status == 401 || rs.status == 403) {
		ret = hm_error_set(err, HM_ERR_INPUT, 0, "token server '%s' refuses the "
				   "credentials for '%s' on %s (HTTP %ld)", realm, r->repo,
				   r->host, rs.status);
		goto out;
	}
	if (rs.status != 200) {
		ret = status_error(r, "token", &rs, err);
		goto out;
	}
	j = json_loadb(rs.body.data, rs.body.len, 0, NULL);
	tok = json_string_value(json_object_get(j, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || strpbrk(tok, "\r\n")) {
		ret = hm_error_set(err, HM_ERR_INPUT, 0, "%s: token answer has no "
				   "token", r->host);
		goto out;
	}
	if (!(r->bearer = strdup(tok)))
		ret = hm_error_nomem(err);
out:
	json_decref(j);
	response_free(&rs);
	curl_free(esc_scope);
	curl_free(esc_service);
	free(realm);
	free(service);
	free(scope);
	free(url);
	return ret;
}

static int perform(struct hm_regup *r, const char *method, const char *url,
		   const char *content_type, const void *body, size_t len,
		   const char *extra_header, bool nobody, struct response *rs,
		   struct hm_error *err)
{
	struct curl_slist *h = NULL, *t;
	char line[HEADER_MAX + 64];
	CURLcode cc;
	int ret = 0;

	hm_buf_reset(&rs->body);
	rs->body_cut = false;
	rs->status = 0;
	curl_easy_reset(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_URL, url);
	curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(r->curl, CURLOPT_NOBODY, nobody ? 1L : 0L);
	curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled registry ends the push rather than hanging it. */
	curl_easy_setopt(r->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(r->curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "hallmark/" HM_VERSION);
	if (r->ca_file)
		curl_easy_setopt(r->curl, CURLOPT_CAINFO, r->ca_file);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(r->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r->curl, CURLOPT_HEADERDATA, rs);
	if (body || !strcmp(method, "PUT") || !strcmp(method, "PATCH") ||
	    !strcmp(method, "POST")) {
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	snprintf(line, sizeof(line), "Content-Type: %s",
		 content_type ? content_type : "application/octet-stream");
	if (!(t = curl_slist_append(h, line)))
		goto nomem;
	h = t;
	if (!(t = curl_slist_append(h, "Expect:")))
		goto nomem;
	h = t;
	if (extra_header) {
		if (!(t = curl_slist_append(h, extra_header)))
			goto nomem;
		h = t;
	}
	if (r->bearer)
		snprintf(line, sizeof(line), "Authorization: Bearer %s", r->bearer);
	else if (r->basic && r->basic_sent)
		snprintf(line, sizeof(line), "Authorization: Basic %s", r->basic);
	else
		line[0] = '\0';
	if (line[0] && (!extra_header || strncasecmp(extra_header, "Authorization:", 14))) {
		t = curl_slist_append(h, line);
		explicit_bzero(line, sizeof(line));
		if (!t)
			goto nomem;
		h = t;
	}
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
	r->stats.requests++;
	cc = curl_easy_perform(r->curl);
	if (cc != CURLE_OK) {
		if (rs->body_cut)
			ret = hm_error_set(err, HM_ERR_LIMIT, 0, "%s %s: answer larger "
					   "than %u bytes", method, url, RESPONSE_MAX);
		else
			ret = hm_error_set(err, HM_ERR_IO, 0, "%s %s: %s", method, url,
					   curl_easy_strerror(cc));
		if (cc == CURLE_SSL_CONNECT_ERROR)
			err->sys_errno = -1; /* marks "no TLS here" for the ping */
		goto out;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &rs->status);
	goto out;
nomem:
	ret = hm_error_nomem(err);
out:
	curl_slist_free_all(h);
	return ret;
}

/*
 * One request to the registry, answering one authentication challenge
 * (Basic with the auth file's credentials, or a bearer token) and trying
 * again.  path is below the base ("/v2/..."), or an absolute upload
 * Location on the same scheme and host.
 */
static int request(struct hm_regup *r, const char *method, const char *path,
		   const char *content_type, const void *body, size_t len,
		   const char *extra_header, bool nobody, struct response *rs,
		   struct hm_error *err)
{
	char *url = NULL;
	int ret, tries;

	if (path[0] == '/') {
		if (asprintf(&url, "%s%s", r->base, path) < 0)
			return hm_error_nomem(err);
	} else {
		size_t bl = strlen(r->base);

		if (strncmp(path, r->base, bl) != 0 || (path[bl] != '/' && path[bl] != '?'))
			return hm_error_set(err, HM_ERR_INPUT, 0, "%s: refusing to "
					    "follow '%s' to another host", r->host, path);
		if (!(url = strdup(path)))
			return hm_error_nomem(err);
	}
	for (tries = 0;; tries++) {
		ret = perform(r, method, url, content_type, body, len, extra_header,
			      nobody, rs, err);
		if (ret < 0 || rs->status != 401 || tries > 0)
			break;
		if (strncasecmp(rs->challenge, "Bearer", 6) == 0) {
			if ((ret = get_token(r, rs->challenge, err)) < 0)
				break;
		} else if (strncasecmp(rs->challenge, "Basic", 5) == 0 && r->basic &&
			   !r->basic_sent) {
			r->basic_sent = true;
		} else {
			break;
		}
	}
	free(url);
	return ret;
}

/* The auth file's base64 USER:PASSWORD for host, into *ret (or NULL). */
static int read_authfile(const char *path, bool named, const char *host,
			 char **ret, struct hm_error *err)
{
	char *text = NULL;
	size_t len;
	json_t *j = NULL, *auths;
	const char *auth;
	json_error_t je;
	int r;

	*ret = NULL;
	r = hm_read_file(path, AUTHFILE_MAX, &text, &len, err);
	if (r < 0) {
		if (!named && err->sys_errno == ENOENT) {
			hm_error_clear(err);
			return 0;
		}
		return r;
	}
	if (!(j = json_loadb(text, len, 0, &je)) || !json_is_object(j)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s:%d:%d: not a JSON object%s%s",
				 path, j ? 1 : je.line, j ? 1 : je.column,
				 j ? "" : ": ", j ? "" : je.text);
		goto out;
	}
	auths = json_object_get(j, "auths");
	if (auths && !json_is_object(auths)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: \"auths\" is not an object", path);
		goto out;
	}
	auth = json_string_value(json_object_get(json_object_get(auths, host), "auth"));
	if (auth) {
		if (strpbrk(auth, "\r\n ")) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "%s: the \"auth\" of '%s' "
					 "is not base64", path, host);
			goto out;
		}
		if (!(*ret = strdup(auth)))
			r = hm_error_nomem(err);
	}
out:
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
	json_decref(j);
	return r < 0 ? r : 0;
}

static int find_credentials(struct hm_regup *r, const char *named,
			    struct hm_error *err)
{
	const char *env;
	char *p = NULL;
	int ret;

	if (named)
		return read_authfile(named, true, r->host, &r->basic, err);
	if ((env = getenv("REGISTRY_AUTH_FILE")) && *env)
		return read_authfile(env, true, r->host, &r->basic, err);
	if ((env = getenv("XDG_RUNTIME_DIR")) && *env) {
		if (asprintf(&p, "%s/containers/auth.json", env) < 0)
			return hm_error_nomem(err);
		ret = read_authfile(p, false, r->host, &r->basic, err);
		free(p);
		if (ret < 0 || r->basic)
			return ret;
	}
	if ((env = getenv("HOME")) && *env) {
		if (asprintf(&p, "%s/.docker/config.json", env) < 0)
			return hm_error_nomem(err);
		ret = read_authfile(p, false, r->host, &r->basic, err);
		free(p);
		return ret;
	}
	return 0;
}

int hm_regup_open(const char *host, const char *repo,
		  const struct hm_regup_options *o, struct hm_regup **ret,
		  struct hm_error *err)
{
	static const struct hm_regup_options none;
	struct hm_regup *r;
	struct response rs = { 0 };
	bool plain_ok;
	int rc;

	if (!o)
		o = &none;
	plain_ok = is_loopback(host) || (o->insecure_host && !strcmp(o->insecure_host, host));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return hm_error_set(err, HM_ERR_IO, 0, "cannot initialise libcurl");
	if (!(r = calloc(1, sizeof(*r))))
		return hm_error_nomem(err);
	if (!(r->host = strdup(host)) || !(r->repo = strdup(repo)) ||
	    (o->ca_file && !(r->ca_file = strdup(o->ca_file))) ||
	    asprintf(&r->base, "https://%s", host) < 0 ||
	    !(r->curl = curl_easy_init())) {
		rc = hm_error_nomem(err);
		goto fail;
	}
	if ((rc = find_credentials(r, o->authfile, err)) < 0)
		goto fail;
	rc = request(r, "GET", "/v2/", NULL, NULL, 0, NULL, false, &rs, err);
	if (rc < 0 && plain_ok && err->sys_errno == -1) {
		/* No TLS on a loopback or named-insecure host: plain HTTP. */
		hm_error_clear(err);
		free(r->base);
		if (asprintf(&r->base, "http://%s", host) < 0) {
			r->base = NULL;
			rc = hm_error_nomem(err);
			goto fail;
		}
		rc = request(r, "GET", "/v2/", NULL, NULL, 0, NULL, false, &rs, err);
	}
	if (rc < 0) {
		if (err->sys_errno == -1)
			err->sys_errno = 0;
		goto fail;
	}
	if (rs.status != 200) {
		rc = status_error(r, "/v2/", &rs, err);
		goto fail;
	}
	response_free(&rs);
	*ret = r;
	return 0;
fail:
	response_free(&rs);
	hm_regup_free(r);
	return rc;
}

void hm_regup_free(struct hm_regup *r)
{
	if (!r)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	if (r->basic) {
		explicit_bzero(r->basic, strlen(r->basic));
		free(r->basic);
	}
	if (r->bearer) {
		explicit_bzero(r->bearer, strlen(r->bearer));
		free(r->bearer);
	}
	free(r->host);
	free(r->repo);
	free(r->base);
	free(r->ca_file);
	free(r);
}

const struct hm_regup_stats *hm_regup_stats(const struct hm_regup *r)
{
	return &r->stats;
}

/* A digest goes into a URL as it is: check it is "sha256:" and 64 hex. */
static int check_digest(const char *d, struct hm_error *err)
{
	size_t i;

	if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		goto bad;
	for (i = 7; i < 71; i++)
		if (!strchr("0123456789abcdef", d[i]))
			goto bad;
	return 0;
bad:
	return hm_error_set(err, HM_ERR_INPUT, 0, "'%s' is not a sha256 digest", d);
}

int hm_regup_blob_has(struct hm_regup *r, const char *digest, bool *has,
		      struct hm_error *err)
{
	struct response rs = { 0 };
	char *path = NULL;
	int ret;

	if ((ret = check_digest(digest, err)) < 0)
		return ret;
	if (asprintf(&path, "/v2/%s/blobs/%s", r->repo, digest) < 0)
		return hm_error_nomem(err);
	ret = request(r, "HEAD", path, NULL, NULL, 0, NULL, true, &rs, err);
	if (ret >= 0) {
		if (rs.status == 200) {
			*has = true;
			r->stats.blobs_present++;
		} else if (rs.status == 404) {
			*has = false;
		} else {
			ret = status_error(r, digest, &rs, err);
		}
	}
	free(path);
	response_free(&rs);
	return ret;
}

static void upload_cancel(struct hm_regup *r, const char *location)
{
	struct response rs = { 0 };
	struct hm_error ignored = { 0 };

	request(r, "DELETE", location, NULL, NULL, 0, NULL, false, &rs, &ignored);
	response_free(&rs);
}

/* Start an upload session (POST, optional query), Location into *ret. */
static int upload_post(struct hm_regup *r, const char *query,
		       struct response *rs, char **ret, struct hm_error *err)
{
	char *path = NULL;
	int rc;

	*ret = NULL;
	if (asprintf(&path, "/v2/%s/blobs/uploads/%s", r->repo, query ? query : "") < 0)
		return hm_error_nomem(err);
	rc = request(r, "POST", path, NULL, NULL, 0, NULL, false, rs, err);
	free(path);
	if (rc < 0)
		return rc;
	if (rs->status != 202 && rs->status != 201)
		return status_error(r, "blob upload", rs, err);
	if (!rs->location[0])
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s: upload answer has no "
				    "Location", r->host);
	if (!(*ret = strdup(rs->location)))
		return hm_error_nomem(err);
	return 0;
}

int hm_regup_blob_mount(struct hm_regup *r, const char *digest,
			const char *from, bool *mounted, struct hm_error *err)
{
	struct response rs = { 0 };
	char *q = NULL, *loc = NULL, *esc = NULL;
	int ret;

	*mounted = false;
	if ((ret = check_digest(digest, err)) < 0)
		return ret;
	if (!(esc = curl_easy_escape(r->curl, from, 0)) ||
	    asprintf(&q, "?mount=%s&from=%s", digest, esc) < 0) {
		q = NULL;
		ret = hm_error_nomem(err);
		goto out;
	}
	ret = upload_post(r, q, &rs, &loc, err);
	if (ret >= 0 && rs.status == 201) {
		*mounted = true;
		r->stats.blobs_mounted++;
	} else if (ret >= 0 && loc) {
		/* 202: the registry could not mount and opened an upload. */
		upload_cancel(r, loc);
	}
out:
	curl_free(esc);
	free(q);
	free(loc);
	response_free(&rs);
	return ret;
}

int hm_regup_upload_start(struct hm_regup *r, struct hm_regup_upload **ret,
			  struct hm_error *err)
{
	struct hm_regup_upload *u;
	struct response rs = { 0 };
	int rc;

	if (!(u = calloc(1, sizeof(*u))))
		return hm_error_nomem(err);
	u->r = r;
	rc = upload_post(r, NULL, &rs, &u->location, err);
	response_free(&rs);
	if (rc < 0) {
		free(u->location);
		free(u);
		return rc;
	}
	*ret = u;
	return 0;
}

int hm_regup_upload_chunk(struct hm_regup_upload *u, const void *data,
			  size_t len, struct hm_error *err)
{
	struct response rs = { 0 };
	char range[64];
	int rc;

	if (!len)
		return 0;
	snprintf(range, sizeof(range), "Content-Range: %llu-%llu", u->offset,
		 u->offset + len - 1);
	rc = request(u->r, "PATCH", u->location, "application/octet-stream", data,
		     len, range, false, &rs, err);
	if (rc >= 0 && rs.status != 202)
		rc = status_error(u->r, "blob chunk", &rs, err);
	if (rc >= 0 && !rs.location[0])
		rc = hm_error_set(err, HM_ERR_INPUT, 0, "%s: chunk answer has no "
				  "Location", u->r->host);
	if (rc >= 0) {
		char *l = strdup(rs.location);

		if (!l) {
			rc = hm_error_nomem(err);
		} else {
			free(u->location);
			u->location = l;
			u->offset += len;
			u->r->stats.chunks++;
			u->r->stats.bytes_uploaded += len;
		}
	}
	response_free(&rs);
	return rc;
}

/* PUT LOCATION?digest=D (with the last bytes, or none). */
static int upload_put(struct hm_regup_upload *u, const char *digest,
		      const void *data, size_t len, struct hm_error *err)
{
	struct response rs = { 0 };
	char *url = NULL;
	int rc;

	if ((rc = check_digest(digest, err)) < 0)
		return rc;
	if (asprintf(&url, "%s%cdigest=%s", u->location,
		     strchr(u->location, '?') ? '&' : '?', digest) < 0)
		return hm_error_nomem(err);
	rc = request(u->r, "PUT", url, "application/octet-stream", data, len, NULL,
		     false, &rs, err);
	if (rc >= 0 && rs.status != 201)
		rc = status_error(u->r, digest, &rs, err);
	if (rc >= 0 && rs.digest[0] && strcmp(rs.digest, digest) != 0)
		rc = hm_error_set(err, HM_ERR_INPUT, 0, "%s: blob %s stored as %s",
				  u->r->host, digest, rs.digest);
	if (rc >= 0) {
		u->r->stats.blobs_uploaded++;
		u->r->stats.bytes_uploaded += len;
		free(u->location);
		u->location = NULL;
	}
	free(url);
	response_free(&rs);
	return rc;
}

int hm_regup_upload_finish(struct hm_regup_upload *u, const char *digest,
			   struct hm_error *err)
{
	return upload_put(u, digest, NULL, 0, err);
}

void hm_regup_upload_free(struct hm_regup_upload *u)
{
	if (!u)
		return;
	if (u->location)
		upload_cancel(u->r, u->location);
	free(u->location);
	free(u);
}

int hm_regup_blob_put(struct hm_regup *r, const char *digest,
		      const void *data, size_t len, struct hm_error *err)
{
	struct hm_regup_upload *u = NULL;
	int rc;

	if ((rc = check_digest(digest, err)) < 0)
		return rc;
	if ((rc = hm_regup_upload_start(r, &u, err)) < 0)
		return rc;
	rc = upload_put(u, digest, data, len, err);
	hm_regup_upload_free(u);
	return rc;
}

/* A tag or a digest: what may go into a manifest URL. */
static int check_reference(const char *ref, struct hm_error *err)
{
	size_t i, n = strlen(ref);

	if (strncmp(ref, "sha256:", 7) == 0)
		return check_digest(ref, err);
	if (n == 0 || n > 128)
		goto bad;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_.-", ref[i]) || (i == 0 && strchr(".-", ref[i])))
			goto bad;
	return 0;
bad:
	return hm_error_set(err, HM_ERR_USAGE, 0, "'%s' is not a tag", ref);
}

int hm_regup_manifest_put(struct hm_regup *r, const char *reference,
			  const char *media_type, const void *data, size_t len,
			  struct hm_error *err)
{
	struct response rs = { 0 };
	unsigned char d[32];
	char want[80], *path = NULL;
	struct hm_buf hex = { 0 };
	int rc;

	if ((rc = check_reference(reference, err)) < 0)
		return rc;
	if (hm_hash_buf(HM_HASH_SHA256, data, len, d) < 0)
		return hm_error_set(err, HM_ERR_IO, 0, "sha256 failed");
	if (hm_buf_addhex(&hex, d, sizeof(d)) < 0)
		return hm_error_nomem(err);
	snprintf(want, sizeof(want), "sha256:%s", hex.data);
	hm_buf_free(&hex);
	if (asprintf(&path, "/v2/%s/manifests/%s", r->repo, reference) < 0)
		return hm_error_nomem(err);
	rc = request(r, "PUT", path, media_type, data, len, NULL, false, &rs, err);
	if (rc >= 0 && rs.status != 201)
		rc = status_error(r, "manifest", &rs, err);
	if (rc >= 0 && rs.digest[0] && strcmp(rs.digest, want) != 0)
		rc = hm_error_set(err, HM_ERR_INPUT, 0, "%s: manifest %s stored as %s",
				  r->host, want, rs.digest);
	free(path);
	response_free(&rs);
	return rc;
}

int hm_regup_manifest_get(struct hm_regup *r, const char *reference,
			  const char *accept, struct hm_buf *out, bool *found,
			  struct hm_error *err)
{
	struct response rs = { 0 };
	char *path = NULL, hdr[512];
	int rc;

	*found = false;
	if ((rc = check_reference(reference, err)) < 0)
		return rc;
	if (asprintf(&path, "/v2/%s/manifests/%s", r->repo, reference) < 0)
		return hm_error_nomem(err);
	snprintf(hdr, sizeof(hdr), "Accept: %s", accept);
	rc = request(r, "GET", path, NULL, NULL, 0, hdr, false, &rs, err);
	if (rc >= 0 && rs.status == 200) {
		*found = true;
		hm_buf_reset(out);
		if (hm_buf_add(out, rs.body.data ? rs.body.data : "", rs.body.len) < 0)
			rc = hm_error_nomem(err);
	} else if (rc >= 0 && rs.status != 404) {
		rc = status_error(r, reference, &rs, err);
	}
	free(path);
	response_free(&rs);
	return rc;
}

int hm_regup_referrers(struct hm_regup *r, const char *digest,
		       struct hm_buf *out, bool *supported, struct hm_error *err)
{
	struct response rs = { 0 };
	char *path = NULL;
	int rc;

	*supported = false;
	if ((rc = check_digest(digest, err)) < 0)
		return rc;
	if (asprintf(&path, "/v2/%s/referrers/%s", r->repo, digest) < 0)
		return hm_error_nomem(err);
	rc = request(r, "GET", path, NULL, NULL, 0, "Accept: " HM_OCI_INDEX_TYPE,
		     false, &rs, err);
	/* The spec: a registry with the API answers 200 and an image index,
	 * even for a digest it does not know.  Anything else: no API. */
	if (rc >= 0 && rs.status == 200 &&
	    strncmp(rs.content_type, HM_OCI_INDEX_TYPE, strlen(HM_OCI_INDEX_TYPE)) == 0) {
		*supported = true;
		hm_buf_reset(out);
		if (hm_buf_add(out, rs.body.data ? rs.body.data : "", rs.body.len) < 0)
			rc = hm_error_nomem(err);
	} else if (rc >= 0 && (rs.status == 401 || rs.status == 403)) {
		rc = status_error(r, "referrers", &rs, err);
	}
	free(path);
	response_free(&rs);
	return rc;
}

/* HOST[:PORT]/REPO[:TAG][@DIGEST] */
int hm_regup_ref_parse(const char *ref, struct hm_regup_ref *ret,
		       struct hm_error *err)
{
	const char *slash = strchr(ref, '/'), *at, *lastslash, *colon;
	struct hm_regup_ref r = { 0 };
	size_t i;

	if (!slash || slash == ref)
		goto bad;
	/* The first component is a host only when it looks like one; a
	 * registry is never guessed (no docker.io default). */
	if (!memchr(ref, '.', (size_t)(slash - ref)) &&
	    !memchr(ref, ':', (size_t)(slash - ref)) &&
	    strncmp(ref, "localhost/", 10) != 0)
		goto bad;
	if (!(r.host = strndup(ref, (size_t)(slash - ref))))
		goto nomem;
	at = strchr(slash, '@');
	if (at && !(r.digest = strdup(at + 1)))
		goto nomem;
	lastslash = strrchr(slash, '/');
	colon = strchr(lastslash, ':');
	if (colon && at && colon > at)
		colon = NULL;
	if (colon && !(r.tag = strndup(colon + 1, (size_t)((at ? at : colon + strlen(colon)) - colon - 1))))
		goto nomem;
	if (!(r.repo = strndup(slash + 1, (size_t)((colon ? colon : at ? at : slash + strlen(slash)) - slash - 1))))
		goto nomem;
	if (!r.repo[0])
		goto bad;
	for (i = 0; r.repo[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789._-/", r.repo[i]))
			goto bad;
	if (strstr(r.repo, "//") || r.repo[0] == '/' || r.repo[strlen(r.repo) - 1] == '/' ||
	    strstr(r.repo, ".."))
		goto bad;
	if (r.digest && check_digest(r.digest, err) < 0)
		goto bad;
	if (r.tag && check_reference(r.tag, err) < 0)
		goto bad;
	*ret = r;
	return 0;
nomem:
	hm_regup_ref_clear(&r);
	return hm_error_nomem(err);
bad:
	hm_regup_ref_clear(&r);
	return hm_error_set(err, HM_ERR_USAGE, 0, "'%s' is not a registry reference "
			    "(HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST])", ref);
}

void hm_regup_ref_clear(struct hm_regup_ref *r)
{
	free(r->host);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}
