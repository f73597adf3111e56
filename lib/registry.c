/*
 * The registry client's transport: one libcurl handle per registry host,
 * the request loop (authentication rounds, redirects under the rules of
 * registry.h), response headers, bodies bounded by named limits and blobs
 * hashed as they stream.  The only file that calls libcurl; its errors
 * become struct hm_error here.  The distribution-spec endpoints built on
 * it are in registry_api.c, credentials in registry_auth.c.
 */
#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hallmark/digest.h"
#include "hallmark/limits.h"
#include "hallmark/registry.h"

#include "registry_private.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static const struct hm_registry_options *cli_options;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void hm_registry_set_options(const struct hm_registry_options *o)
{
	cli_options = o;
}

void hm_registry_cli_apply(struct hm_registry_cli *cli)
{
	cli->opt.authfile = cli->authfile;
	cli->opt.ca_file = cli->ca_file;
	cli->opt.insecure_hosts = cli->insecure_v;
	cli->opt.n_insecure = cli->insecure.n;
	hm_registry_set_options(&cli->opt);
}

const struct hm_registry_options *hm_registry_get_options(void)
{
	static const struct hm_registry_options none = { 0 };

	return cli_options ? cli_options : &none;
}

/* "127.0.0.1:5000" -> "127.0.0.1"; "[::1]:5000" -> "::1". */
static void host_name(const char *hostport, char *out, size_t outlen)
{
	const char *end;
	size_t n;

	if (hostport[0] == '[') {
		end = strchr(hostport, ']');
		n = end ? (size_t)(end - hostport - 1) : strlen(hostport + 1);
		hostport++;
	} else {
		end = strchr(hostport, ':');
		n = end ? (size_t)(end - hostport) : strlen(hostport);
	}
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, hostport, n);
	out[n] = '\0';
}

bool hm_registry_plain_allowed(const struct hm_registry_options *o,
			       const char *hostport)
{
	char h[256];
	size_t i;

	host_name(hostport, h, sizeof(h));
	if (strcmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 ||
	    strcmp(h, "::1") == 0)
		return true;
	for (i = 0; o && i < o->n_insecure; i++)
		if (strcasecmp(o->insecure_hosts[i], hostport) == 0 ||
		    strcasecmp(o->insecure_hosts[i], h) == 0)
			return true;
	return false;
}

int hm_registry_new(const char *host, const struct hm_registry_options *o,
		    struct hm_registry **ret, struct hm_error *err)
{
	struct hm_registry *reg;
	int r;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return hm_error_set(err, HM_ERR_IO, 0, "cannot initialise libcurl: %s",
				    curl_easy_strerror(curl_init_rc));
	if (!host[0] || strpbrk(host, "/@ \t\r\n?#"))
		return hm_error_set(err, HM_ERR_USAGE, 0, "'%s' is not a registry host", host);
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return hm_error_nomem(err);
	reg->opt = o ? o : hm_registry_get_options();
	reg->plain_ok = hm_registry_plain_allowed(reg->opt, host);
	if (!(reg->host = strdup(host)) || !(reg->curl = curl_easy_init())) {
		r = hm_error_nomem(err);
		goto fail;
	}
	if ((r = hm_registry_load_credentials(reg, err)) < 0)
		goto fail;
	*ret = reg;
	return 0;
fail:
	hm_registry_free(reg);
	return r;
}

void hm_registry_free(struct hm_registry *reg)
{
	if (!reg)
		return;
	if (reg->curl)
		curl_easy_cleanup(reg->curl);
	if (reg->cred) {
		explicit_bzero(reg->cred, strlen(reg->cred));
		free(reg->cred);
	}
	if (reg->token) {
		explicit_bzero(reg->token, strlen(reg->token));
		free(reg->token);
	}
	free(reg->token_scope);
	free(reg->host);
	free(reg);
}

/* ---- responses ---------------------------------------------------------- */

static void resp_reset_headers(struct resp *rs)
{
	hm_buf_reset(&rs->ctype);
	hm_buf_reset(&rs->location);
	hm_buf_reset(&rs->www_auth);
	hm_buf_reset(&rs->link);
	hm_buf_reset(&rs->dcd);
	rs->status = 0;
}

void hm_registry_resp_free(struct resp *rs)
{
	hm_buf_free(&rs->ctype);
	hm_buf_free(&rs->location);
	hm_buf_free(&rs->www_auth);
	hm_buf_free(&rs->link);
	hm_buf_free(&rs->dcd);
	hm_buf_free(&rs->errbody);
	hm_hash_free(rs->h);
	rs->h = NULL;
}

static bool is_2xx(long s)
{
	return s >= 200 && s < 300;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ctx)
{
	struct resp *rs = ctx;
	size_t len = size * n, k;
	struct hm_buf *dst = NULL;
	const char *v;

	if (len > HM_LIMIT_REGISTRY_HEADER_BYTES)
		return 0;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		const char *sp = memchr(buf, ' ', len);

		resp_reset_headers(rs);
		rs->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	v = memchr(buf, ':', len);
	if (!v)
		return len;
	k = (size_t)(v - buf);
#define HDR(name, field) \
	if (k == sizeof(name) - 1 && strncasecmp(buf, name, k) == 0) dst = &rs->field
	HDR("content-type", ctype);
	HDR("location", location);
	HDR("www-authenticate", www_auth);
	HDR("link", link);
	HDR("docker-content-digest", dcd);
#undef HDR
	if (!dst)
		return len;
	v++;
	len -= k + 1;
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	/* Several WWW-Authenticate headers: the first wins. */
	if (dst->len)
		return size * n;
	hm_buf_reset(dst);
	if (hm_buf_add(dst, v, len) < 0 || hm_buf_addc(dst, '\0') < 0)
		return 0;
	dst->len--;
	return size * n;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ctx)
{
	struct resp *rs = ctx;
	size_t len = size * n;

	if (!is_2xx(rs->status)) {
		/* An error body is for the message only: keep its start. */
		if (rs->errbody.len < 4096 &&
		    hm_buf_add(&rs->errbody, buf, len < 4096 ? len : 4096) < 0)
			return 0;
		if (rs->errbody.len + len > HM_LIMIT_REGISTRY_MANIFEST_BYTES) {
			rs->over = true;
			return 0;
		}
		return len;
	}
	rs->got += len;
	if (rs->total && (*rs->total += len) > HM_LIMIT_REGISTRY_TOTAL_BYTES) {
		rs->total_over = true;
		return 0;
	}
	if (rs->sink) {
		/* The descriptor's size, not Content-Length, bounds a blob. */
		if (rs->got > rs->want) {
			rs->over = true;
			return 0;
		}
		if (hm_hash_update(rs->h, buf, len) < 0) {
			rs->sink_r = hm_error_nomem(rs->err);
			return 0;
		}
		if ((rs->sink_r = rs->sink(rs->ctx, buf, len, rs->err)) < 0)
			return 0;
		return len;
	}
	if (!rs->body)
		return len;
	if (rs->body->len + len > rs->max) {
		rs->over = true;
		return 0;
	}
	if (hm_buf_add(rs->body, buf, len) < 0)
		return 0;
	return len;
}

/* ---- URLs ------------------------------------------------------------------ */

/* The "host[:port]" and scheme of url, via libcurl's parser. */
static int url_parts(const char *url, char *host, size_t hostlen,
		     char *scheme, size_t schemelen)
{
	CURLU *u = curl_url();
	char *h = NULL, *p = NULL, *s = NULL;
	int r = -1;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &p, 0) != CURLUE_OK)
		p = NULL;
	if ((size_t)snprintf(host, hostlen, "%s%s%s", h, p ? ":" : "", p ? p : "") >= hostlen ||
	    (size_t)snprintf(scheme, schemelen, "%s", s) >= schemelen)
		goto out;
	r = 0;
out:
	curl_free(h);
	curl_free(p);
	curl_free(s);
	curl_url_cleanup(u);
	return r;
}

/* Location (absolute or relative) against base, allocated. */
static char *url_resolve(const char *base, const char *loc)
{
	CURLU *u = curl_url();
	char *out = NULL, *res = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
		res = strdup(out);
	curl_free(out);
	curl_url_cleanup(u);
	return res;
}

const char *hm_registry_scheme(const struct hm_registry *reg)
{
	return reg->use_http ? "http" : "https";
}

/* ---- one exchange --------------------------------------------------------- */

static int set_tls(struct hm_registry *reg, CURL *c)
{
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (reg->opt->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, reg->opt->ca_file);
	return 0;
}

static CURLcode perform(struct hm_registry *reg, const struct req *rq,
			const char *url, bool send_auth, struct resp *rs,
			struct curl_slist *hdrs)
{
	CURL *c = reg->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* Redirects are followed by hand, under registry.h's rules. */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)HM_LIMIT_REGISTRY_CONNECT_SECONDS);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)HM_LIMIT_REGISTRY_STALL_SECONDS);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hallmark/" HM_VERSION);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	set_tls(reg, c);
	if (strcmp(rq->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(rq->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->data ? rq->data : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
	}
	if (send_auth) {
		if (reg->token) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
			curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, reg->token);
		} else if (reg->cred && reg->use_basic) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERPWD, reg->cred);
		}
	}
	return curl_easy_perform(c);
}

/* A libcurl failure as an hm_error: TLS failures are trust failures. */
static int curl_fail(CURLcode cc, const char *url, struct hm_error *err)
{
	int code = HM_ERR_IO;

	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
		code = cc == CURLE_SSL_CACERT_BADFILE ? HM_ERR_USAGE : HM_ERR_TRUST;
	return hm_error_set(err, code, 0, "'%s': %s", url, curl_easy_strerror(cc));
}

/* The registry's own words from an error body, if it sent some. */
static void error_detail(const struct resp *rs, char *out, size_t len)
{
	size_t i, n = 0;

	out[0] = '\0';
	if (!rs->errbody.len)
		return;
	for (i = 0; i < rs->errbody.len && n + 1 < len && n < 200; i++) {
		unsigned char ch = (unsigned char)rs->errbody.data[i];

		out[n++] = isprint(ch) ? (char)ch : ' ';
	}
	out[n] = '\0';
}

/* "NAME: VALUE" appended to *hdrs, when value is set; -1 on no memory. */
static int add_header(struct curl_slist **hdrs, const char *name,
		      const char *value)
{
	struct hm_buf a = HM_BUF_INIT;
	struct curl_slist *t = NULL;

	if (!value)
		return 0;
	if (hm_buf_addf(&a, "%s: %s", name, value) == 0)
		t = curl_slist_append(*hdrs, a.data);
	hm_buf_free(&a);
	if (!t)
		return -1;
	*hdrs = t;
	return 0;
}

int hm_registry_request(struct hm_registry *reg, const struct req *rq,
			struct resp *rs, struct hm_error *err)
{
	struct curl_slist *hdrs = NULL, *t;
	char *url = NULL, *next;
	char host[300], scheme[16], detail[256];
	unsigned redirects = 0, auth_rounds = 0;
	bool same_host = true;
	CURLcode cc;
	int r;

	if (add_header(&hdrs, "Accept", rq->accept) < 0 ||
	    add_header(&hdrs, "Content-Type", rq->ctype) < 0 ||
	    add_header(&hdrs, "Content-Range", rq->range) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	/* An upload of a body we already hold: no 100-continue round trip. */
	if (!(t = curl_slist_append(hdrs, "Expect:"))) {
		r = hm_error_nomem(err);
		goto out;
	}
	hdrs = t;
	for (;;) {
		if (!url && asprintf(&url, "%s://%s%s", hm_registry_scheme(reg),
				     reg->host, rq->path) < 0) {
			url = NULL;
			r = hm_error_nomem(err);
			goto out;
		}
		resp_reset_headers(rs);
		hm_buf_reset(&rs->errbody);
		if (rs->body)
			hm_buf_reset(rs->body);
		rs->got = 0;
		rs->over = false;
		if (rs->sink) {
			hm_hash_free(rs->h);
			if (!(rs->h = hm_hash_new(HM_HASH_SHA256))) {
				r = hm_error_nomem(err);
				goto out;
			}
		}
		cc = perform(reg, rq, url, same_host, rs, hdrs);
		/* Loopback and --insecure-registry hosts: HTTPS first, plain
		 * HTTP if the server does not speak TLS at all.  A certificate
		 * that fails verification is never a reason to fall back. */
		if (cc == CURLE_SSL_CONNECT_ERROR && reg->plain_ok && !reg->use_http &&
		    !reg->opt->ca_file && same_host && redirects == 0) {
			reg->use_http = true;
			free(url);
			url = NULL;
			continue;
		}
		if (rs->total_over) {
			r = hm_error_set(err, HM_ERR_LIMIT, 0,
					 "'%s': the image's blobs exceed %llu bytes (HM_LIMIT_REGISTRY_TOTAL_BYTES)",
					 url, (unsigned long long)HM_LIMIT_REGISTRY_TOTAL_BYTES);
			goto out;
		}
		if (rs->sink_r < 0) {
			r = rs->sink_r;
			goto out;
		}
		if (rs->over && rs->sink) {
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "'%s': the registry sent more than the %" PRIu64 " bytes the descriptor gives",
					 url, rs->want);
			goto out;
		}
		if (rs->over) {
			r = hm_error_set(err, HM_ERR_LIMIT, 0,
					 "'%s': the response exceeds %zu bytes (%s)", url,
					 rs->body && is_2xx(rs->status) ? rs->max :
					 (size_t)HM_LIMIT_REGISTRY_MANIFEST_BYTES,
					 rs->body && is_2xx(rs->status) ? rs->limit_name :
					 "HM_LIMIT_REGISTRY_MANIFEST_BYTES");
			goto out;
		}
		if (cc == CURLE_SSL_CONNECT_ERROR && !reg->plain_ok && same_host) {
			r = hm_error_set(err, HM_ERR_IO, 0,
					 "'%s': %s (plain HTTP is used only for a loopback host or one named with --insecure-registry)",
					 url, curl_easy_strerror(cc));
			goto out;
		}
		if (cc != CURLE_OK) {
			r = curl_fail(cc, url, err);
			goto out;
		}
		if (rs->status == 401 && same_host) {
			if (++auth_rounds > HM_LIMIT_REGISTRY_AUTH_ROUNDS) {
				r = hm_error_set(err, HM_ERR_TRUST, 0,
						 "'%s': the registry refuses the credentials (401 after %u attempts to authenticate)",
						 url, HM_LIMIT_REGISTRY_AUTH_ROUNDS);
				goto out;
			}
			if ((r = hm_registry_authenticate(reg, rs->www_auth.data, rq->scope,
							  url, err)) < 0)
				goto out;
			continue;
		}
		if (rs->status >= 300 && rs->status < 400 && rs->status != 304) {
			if (!rs->location.len) {
				r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s': redirect without a Location", url);
				goto out;
			}
			if (++redirects > HM_LIMIT_REGISTRY_REDIRECTS) {
				r = hm_error_set(err, HM_ERR_LIMIT, 0,
						 "'%s': more than %u redirects (HM_LIMIT_REGISTRY_REDIRECTS)",
						 rq->path, HM_LIMIT_REGISTRY_REDIRECTS);
				goto out;
			}
			if (!(next = url_resolve(url, rs->location.data)) ||
			    url_parts(next, host, sizeof(host), scheme, sizeof(scheme)) < 0) {
				r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s': bad redirect to '%s'",
						 url, rs->location.data);
				free(next);
				goto out;
			}
			same_host = strcasecmp(host, reg->host) == 0 &&
				    strcmp(scheme, hm_registry_scheme(reg)) == 0;
			if (!same_host && !rq->blob) {
				r = hm_error_set(err, HM_ERR_INPUT, 0,
						 "'%s': refusing a redirect to another host ('%s'): only blobs may be served from elsewhere",
						 url, next);
				free(next);
				goto out;
			}
			if (!same_host && strcmp(scheme, "https") != 0 &&
			    !(strcmp(scheme, "http") == 0 &&
			      hm_registry_plain_allowed(reg->opt, host))) {
				r = hm_error_set(err, HM_ERR_INPUT, 0,
						 "'%s': refusing a blob redirect to '%s' over plain HTTP",
						 url, next);
				free(next);
				goto out;
			}
			free(url);
			url = next;
			continue;
		}
		break;
	}
	if (!is_2xx(rs->status) && rs->status != 404) {
		error_detail(rs, detail, sizeof(detail));
		r = hm_error_set(err, rs->status == 401 || rs->status == 403 ? HM_ERR_TRUST : HM_ERR_INPUT, 0,
				 "'%s': the registry answers %ld%s%s", url, rs->status,
				 detail[0] ? ": " : "", detail);
		goto out;
	}
	r = 0;
out:
	free(url);
	curl_slist_free_all(hdrs);
	return r;
}

/* ---- blobs ------------------------------------------------------------------ */

int hm_registry_check_digest(const char *digest, char hex[65], struct hm_error *err)
{
	unsigned char raw[32];

	if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71 ||
	    hm_hex_decode(digest + 7, 64, raw, sizeof(raw)) < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0, "'%s' is not a sha256 digest",
				    digest ? digest : "(none)");
	memcpy(hex, digest + 7, 65);
	return 0;
}

int hm_registry_get_blob(struct hm_registry *reg, const char *repo,
			 const char *digest, uint64_t size,
			 hm_registry_sink_fn sink, void *ctx, uint64_t *total,
			 struct hm_error *err)
{
	struct resp rs = { .sink = sink, .ctx = ctx, .want = size, .err = err,
			   .total = total };
	struct req rq = { .method = "GET", .blob = true };
	unsigned char md[32];
	char hex[65], got[65], *path = NULL, *scope = NULL;
	int r;

	if ((r = hm_registry_check_digest(digest, hex, err)) < 0)
		return r;
	if (asprintf(&path, "/v2/%s/blobs/%s", repo, digest) < 0 ||
	    asprintf(&scope, "repository:%s:pull", repo) < 0) {
		path = scope = NULL;
		r = hm_error_nomem(err);
		goto out;
	}
	rq.path = path;
	rq.scope = scope;
	if ((r = hm_registry_request(reg, &rq, &rs, err)) < 0)
		goto out;
	if (rs.status == 404) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "%s/%s: blob %s unknown to the registry",
				 reg->host, repo, digest);
		goto out;
	}
	if (rs.got != size) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "%s/%s: blob %s has %" PRIu64 " bytes, its descriptor says %" PRIu64,
				 reg->host, repo, digest, rs.got, size);
		goto out;
	}
	if (hm_hash_final(rs.h, md) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	hm_hex_encode(md, 32, got);
	if (strcmp(got, hex) != 0) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "%s/%s: blob %s does not match its digest (its content is sha256:%s)",
				 reg->host, repo, digest, got);
		goto out;
	}
	r = 0;
out:
	hm_registry_resp_free(&rs);
	free(path);
	free(scope);
	return r;
}

static int sink_buf(void *ctx, const void *buf, size_t len, struct hm_error *err)
{
	return hm_buf_add(ctx, buf, len) < 0 ? hm_error_nomem(err) : 0;
}

int hm_registry_get_blob_buf(struct hm_registry *reg, const char *repo,
			     const char *digest, uint64_t size, size_t max,
			     struct hm_buf *body, struct hm_error *err)
{
	int r;

	if (size > max)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "%s/%s: blob %s of %" PRIu64 " bytes exceeds %zu bytes",
				    reg->host, repo, digest, size, max);
	hm_buf_reset(body);
	r = hm_registry_get_blob(reg, repo, digest, size, sink_buf, body, NULL, err);
	if (r < 0)
		hm_buf_reset(body);
	return r;
}

/* ---- the token endpoint ----------------------------------------------------- */

int hm_registry_fetch_token(struct hm_registry *reg, const char *url,
			    struct hm_buf *body, struct hm_error *err)
{
	char host[300], scheme[16];
	struct resp rs = { .body = body, .max = HM_LIMIT_REGISTRY_TOKEN_BYTES,
			   .limit_name = "HM_LIMIT_REGISTRY_TOKEN_BYTES" };
	CURL *c = NULL;
	CURLcode cc;
	int r;

	if (url_parts(url, host, sizeof(host), scheme, sizeof(scheme)) < 0)
		return hm_error_set(err, HM_ERR_INPUT, 0, "%s: bad token realm '%s'",
				    reg->host, url);
	/* Credentials go to the realm only over TLS, unless it is a host the
	 * user allowed plain HTTP for. */
	if (strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 && hm_registry_plain_allowed(reg->opt, host)))
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "%s: refusing the token realm '%s' (not HTTPS)", reg->host, url);
	if (!(c = curl_easy_init()))
		return hm_error_nomem(err);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)HM_LIMIT_REGISTRY_CONNECT_SECONDS);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)HM_LIMIT_REGISTRY_STALL_SECONDS);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hallmark/" HM_VERSION);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &rs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &rs);
	set_tls(reg, c);
	if (reg->cred) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, reg->cred);
	}
	hm_buf_reset(body);
	cc = curl_easy_perform(c);
	if (rs.over)
		r = hm_error_set(err, HM_ERR_LIMIT, 0,
				 "'%s': the token response exceeds %u bytes (HM_LIMIT_REGISTRY_TOKEN_BYTES)",
				 url, HM_LIMIT_REGISTRY_TOKEN_BYTES);
	else if (cc != CURLE_OK)
		r = curl_fail(cc, url, err);
	else if (!is_2xx(rs.status))
		r = hm_error_set(err, rs.status == 401 || rs.status == 403 ? HM_ERR_TRUST : HM_ERR_INPUT, 0,
				 "'%s': the token endpoint answers %ld", url, rs.status);
	else
		r = 0;
	curl_easy_cleanup(c);
	hm_registry_resp_free(&rs);
	return r;
}

/* "a b&c" -> "a%20b%26c", for a query value. */
char *hm_registry_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *out;

	if (!e)
		return NULL;
	out = strdup(e);
	curl_free(e);
	return out;
}
