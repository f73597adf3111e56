/*
 * Registry credentials and authentication: the containers-auth.json file
 * (the format podman, skopeo and docker share), WWW-Authenticate
 * challenges, and the bearer-token exchange of the distribution token
 * spec.  Credentials come from that file only, never from argv; they are
 * wiped when the handle is freed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/limits.h"
#include "hallmark/registry.h"

#include "registry_private.h"

/* base64 "user:password" -> allocated "user:password"; NULL if malformed. */
static char *decode_auth(const char *b64)
{
	size_t len = strlen(b64), pad = 0;
	unsigned char *out;
	int n;

	if (len == 0 || len % 4 != 0 || len > 8192)
		return NULL;
	if (!(out = malloc(len / 4 * 3 + 1)))
		return NULL;
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
	if (b64[len - 1] == '=')
		pad++;
	if (b64[len - 2] == '=')
		pad++;
	if (n < 0 || (size_t)n < pad) {
		free(out);
		return NULL;
	}
	n -= (int)pad;
	out[n] = '\0';
	if (memchr(out, '\0', (size_t)n) || !strchr((char *)out, ':')) {
		explicit_bzero(out, (size_t)n);
		free(out);
		return NULL;
	}
	return (char *)out;
}

int hm_registry_auth_lookup(const char *json_text, size_t len,
			    const char *host, char **ret, struct hm_error *err)
{
	json_t *root, *auths, *v;
	json_error_t je;
	const char *key;
	char *cred = NULL;
	int r = 0;

	*ret = NULL;
	root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return hm_error_set(err, HM_ERR_INPUT, 0, "line %d: %s", je.line, je.text);
	auths = json_object_get(root, "auths");
	if (auths && !json_is_object(auths)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "'auths' is not an object");
		goto out;
	}
	/* "host:port", or the URL forms docker writes ("https://host/v1/"). */
	json_object_foreach(auths, key, v) {
		const char *k = key, *a;
		size_t hl = strlen(host);

		if (strncmp(k, "https://", 8) == 0)
			k += 8;
		else if (strncmp(k, "http://", 7) == 0)
			k += 7;
		if (strncasecmp(k, host, hl) != 0 || (k[hl] != '\0' && k[hl] != '/'))
			continue;
		a = json_string_value(json_object_get(v, "auth"));
		if (!a)
			continue;
		if (!(cred = decode_auth(a))) {
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "the entry of '%s' is not base64 of 'user:password'", key);
			goto out;
		}
		break;
	}
	*ret = cred;
out:
	json_decref(root);
	return r;
}

/* The auth file to read: the option, then the containers defaults. */
static int authfile_path(const struct hm_registry_options *o, char *out,
			 size_t len, bool *explicit_file)
{
	const char *e;

	*explicit_file = true;
	if (o->authfile)
		return snprintf(out, len, "%s", o->authfile) < (int)len ? 1 : -1;
	if ((e = getenv("REGISTRY_AUTH_FILE")) && *e)
		return snprintf(out, len, "%s", e) < (int)len ? 1 : -1;
	*explicit_file = false;
	if ((e = getenv("XDG_RUNTIME_DIR")) && *e) {
		struct stat st;

		if (snprintf(out, len, "%s/containers/auth.json", e) < (int)len &&
		    stat(out, &st) == 0)
			return 1;
	}
	if ((e = getenv("HOME")) && *e)
		return snprintf(out, len, "%s/.docker/config.json", e) < (int)len ? 1 : -1;
	return 0;
}

int hm_registry_load_credentials(struct hm_registry *reg, struct hm_error *err)
{
	char path[4096];
	struct hm_buf text = HM_BUF_INIT;
	bool explicit_file;
	struct stat st;
	ssize_t n;
	int fd = -1, r;

	if ((r = authfile_path(reg->opt, path, sizeof(path), &explicit_file)) <= 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* A default file that is absent means anonymous access. */
		if (errno == ENOENT && !explicit_file)
			return 0;
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s' is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > HM_LIMIT_REGISTRY_AUTHFILE_BYTES) {
		r = hm_error_set(err, HM_ERR_LIMIT, 0,
				 "'%s' exceeds %u bytes (HM_LIMIT_REGISTRY_AUTHFILE_BYTES)",
				 path, HM_LIMIT_REGISTRY_AUTHFILE_BYTES);
		goto out;
	}
	if (hm_buf_grow(&text, (size_t)st.st_size + 1) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	while ((n = read(fd, text.data + text.len, (size_t)st.st_size + 1 - text.len)) > 0)
		text.len += (size_t)n;
	if (n < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s'", path);
		goto out;
	}
	if ((r = hm_registry_auth_lookup(text.data, text.len, reg->host, &reg->cred, err)) < 0)
		hm_error_prefix(err, "'%s'", path);
out:
	if (text.data)
		explicit_bzero(text.data, text.cap);
	hm_buf_free(&text);
	close(fd);
	return r;
}

/* ---- challenges ------------------------------------------------------------- */

void hm_registry_challenge_clear(struct hm_registry_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

/* One auth-param: name=value or name="quoted \" value". */
static const char *parse_param(const char *p, char **name, char **value)
{
	const char *s;
	struct hm_buf v = HM_BUF_INIT;

	*name = *value = NULL;
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	s = p;
	while (*p && *p != '=' && *p != ' ' && *p != ',')
		p++;
	if (*p != '=' || p == s)
		return NULL;
	*name = strndup(s, (size_t)(p - s));
	p++;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (hm_buf_addc(&v, *p) < 0)
				goto fail;
		}
		if (*p != '"')
			goto fail;
		p++;
	} else {
		while (*p && *p != ',' && *p != ' ')
			if (hm_buf_addc(&v, *p++) < 0)
				goto fail;
	}
	if (hm_buf_addc(&v, '\0') < 0)
		goto fail;
	*value = v.data;
	return p;
fail:
	hm_buf_free(&v);
	free(*name);
	*name = NULL;
	return NULL;
}

int hm_registry_challenge_parse(const char *value,
				struct hm_registry_challenge *ret,
				struct hm_error *err)
{
	struct hm_registry_challenge c = { 0 };
	const char *p = value, *s;
	size_t i;

	while (*p == ' ')
		p++;
	s = p;
	while (*p && *p != ' ')
		p++;
	if (p == s || !(c.scheme = strndup(s, (size_t)(p - s))))
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "malformed WWW-Authenticate '%.100s'", value);
	for (i = 0; c.scheme[i]; i++)
		c.scheme[i] = (char)tolower((unsigned char)c.scheme[i]);
	while (*p) {
		char *name, *v;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		if (!(p = parse_param(p, &name, &v))) {
			hm_registry_challenge_clear(&c);
			return hm_error_set(err, HM_ERR_INPUT, 0,
					    "malformed WWW-Authenticate '%.100s'", value);
		}
		if (strcasecmp(name, "realm") == 0 && !c.realm)
			c.realm = v, v = NULL;
		else if (strcasecmp(name, "service") == 0 && !c.service)
			c.service = v, v = NULL;
		else if (strcasecmp(name, "scope") == 0 && !c.scope)
			c.scope = v, v = NULL;
		free(name);
		free(v);
	}
	*ret = c;
	return 0;
}

char *hm_registry_link_next(const char *value)
{
	const char *p = value;

	/* <url>; rel="next", <url>; rel="prev" */
	while (p && (p = strchr(p, '<'))) {
		const char *e = strchr(p, '>'), *params, *comma;

		if (!e)
			return NULL;
		params = e + 1;
		comma = strchr(params, '<');
		{
			size_t plen = comma ? (size_t)(comma - params) : strlen(params);
			char *ps = strndup(params, plen);
			bool next = ps && (strstr(ps, "rel=\"next\"") || strstr(ps, "rel=next"));

			free(ps);
			if (next)
				return strndup(p + 1, (size_t)(e - p - 1));
		}
		p = e + 1;
	}
	return NULL;
}

/* ---- the token exchange --------------------------------------------------- */

int hm_registry_authenticate(struct hm_registry *reg, const char *challenge,
			     const char *scope, const char *url,
			     struct hm_error *err)
{
	struct hm_registry_challenge c = { 0 };
	struct hm_buf turl = HM_BUF_INIT, body = HM_BUF_INIT;
	json_t *j = NULL;
	json_error_t je;
	const char *tok;
	char *e = NULL;
	int r;

	if (!challenge || !challenge[0])
		return hm_error_set(err, HM_ERR_TRUST, 0,
				    "'%s': the registry answers 401 without a WWW-Authenticate challenge", url);
	if ((r = hm_registry_challenge_parse(challenge, &c, err)) < 0) {
		hm_error_prefix(err, "'%s'", url);
		return r;
	}
	if (strcmp(c.scheme, "basic") == 0) {
		if (!reg->cred) {
			r = hm_error_set(err, HM_ERR_TRUST, 0,
					 "'%s': the registry requires a login and there are no credentials for '%s' (--authfile, $REGISTRY_AUTH_FILE)",
					 url, reg->host);
			goto out;
		}
		if (reg->use_basic) {
			r = hm_error_set(err, HM_ERR_TRUST, 0,
					 "'%s': the registry refuses the credentials for '%s'", url, reg->host);
			goto out;
		}
		reg->use_basic = true;
		r = 0;
		goto out;
	}
	if (strcmp(c.scheme, "bearer") != 0 || !c.realm) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "'%s': unsupported authentication challenge '%.100s'", url, challenge);
		goto out;
	}
	if (hm_buf_adds(&turl, c.realm) < 0) {
		r = hm_error_nomem(err);
		goto out;
	}
	if (c.service) {
		if (!(e = hm_registry_escape(c.service)) ||
		    hm_buf_addf(&turl, "%sservice=%s", strchr(c.realm, '?') ? "&" : "?", e) < 0) {
			r = hm_error_nomem(err);
			goto out;
		}
		free(e);
		e = NULL;
	}
	if (c.scope || scope) {
		if (!(e = hm_registry_escape(c.scope ? c.scope : scope)) ||
		    hm_buf_addf(&turl, "%sscope=%s",
				strchr(turl.data, '?') ? "&" : "?", e) < 0) {
			r = hm_error_nomem(err);
			goto out;
		}
	}
	if ((r = hm_registry_fetch_token(reg, turl.data, &body, err)) < 0)
		goto out;
	j = json_loadb(body.data ? body.data : "", body.len, 0, &je);
	tok = json_string_value(json_object_get(j, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !tok[0] || strpbrk(tok, "\r\n")) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s': the token response has no token",
				 c.realm);
		goto out;
	}
	if (reg->token) {
		explicit_bzero(reg->token, strlen(reg->token));
		free(reg->token);
	}
	free(reg->token_scope);
	reg->token_scope = scope ? strdup(scope) : NULL;
	if (!(reg->token = strdup(tok))) {
		r = hm_error_nomem(err);
		goto out;
	}
	r = 0;
out:
	if (body.data)
		explicit_bzero(body.data, body.cap);
	hm_buf_free(&body);
	hm_buf_free(&turl);
	json_decref(j);
	free(e);
	hm_registry_challenge_clear(&c);
	return r;
}
