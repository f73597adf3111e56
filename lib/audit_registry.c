/*
 * Registry audits (HM-REG-001, 002): a whole registry, every repository
 * of its catalog (those a glob picks) and every tag, audited image by
 * image into one result.  An image that is not signed by a pinned key, or
 * that cannot be read at all, is a finding of its own: the run goes on
 * with the next image, so one broken or hostile image does not hide the
 * rest.  Findings of an image carry "REPO:TAG:" before their path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hallmark/audit.h"
#include "hallmark/image.h"
#include "hallmark/policy.h"
#include "hallmark/registry.h"
#include "hallmark/trust.h"

#include "audit_private.h"

const struct hm_audit_rule hm_audit_rules_registry[] = {
	{ "HM-REG-001", "image in a registry is not signed: no attached hallmark manifest signed by a pinned key",
	  HM_SEV_HIGH,
	  "an image nobody signed, or signed by a key not pinned, may be forged or replayed; keep it out of production",
	  NULL },
	{ "HM-REG-002", "image in a registry cannot be read or audited", HM_SEV_HIGH,
	  "an image hallmark cannot read (bad digest, limit, malformed, unreachable) was not audited at all",
	  NULL },
};
const size_t hm_audit_n_rules_registry =
	sizeof(hm_audit_rules_registry) / sizeof(hm_audit_rules_registry[0]);

/* Append one finding to res, taking path and message. */
static int push(struct hm_audit_result *res, const struct hm_audit_finding *f,
		struct hm_error *err)
{
	if (res->n_findings == res->cap_findings) {
		size_t cap = res->cap_findings ? res->cap_findings * 2 : 16;
		struct hm_audit_finding *nv = realloc(res->findings, cap * sizeof(*nv));

		if (!nv)
			return hm_error_nomem(err);
		res->findings = nv;
		res->cap_findings = cap;
	}
	res->findings[res->n_findings++] = *f;
	return 0;
}

static int image_finding(struct hm_audit_result *res, const char *id,
			 const char *image, const char *msg, struct hm_error *err)
{
	struct hm_audit_finding f = { .rule = hm_audit_rule_find(id) };

	if (!(f.path = strdup(image)) || !(f.message = strdup(msg))) {
		free(f.path);
		return hm_error_nomem(err);
	}
	f.path_len = strlen(f.path);
	if (push(res, &f, err) < 0) {
		free(f.path);
		free(f.message);
		return hm_error_nomem(err);
	}
	return 0;
}

/* Move one image's findings into res, their paths prefixed. */
static int merge(struct hm_audit_result *res, struct hm_audit_result *one,
		 const char *image, struct hm_error *err)
{
	size_t i, il = strlen(image);

	for (i = 0; i < one->n_findings; i++) {
		struct hm_audit_finding f = one->findings[i];
		char *p = malloc(il + 1 + f.path_len + 1);

		if (!p)
			return hm_error_nomem(err);
		/* A finding about no file in particular names the image. */
		memcpy(p, image, il);
		p[il] = ':';
		if (f.path)
			memcpy(p + il + 1, f.path, f.path_len);
		f.path_len = f.path ? f.path_len + il + 1 : il;
		p[f.path_len] = '\0';
		f.path = p;
		if (push(res, &f, err) < 0) {
			free(p);
			return hm_error_nomem(err);
		}
		/* res owns the message and reason now; one keeps its path. */
		one->findings[i].message = NULL;
		one->findings[i].exception_reason = NULL;
	}
	return 0;
}

/* One image: audit it, and check its attached signature if keys. */
static int audit_one(const char *host, const char *image,
		     struct hm_pubkey *const *keys, size_t n_keys,
		     const struct hm_audit_options *opt,
		     struct hm_audit_result *res, struct hm_error *err)
{
	struct hm_audit_result one = { 0 };
	struct hm_image *img = NULL;
	struct hm_error e = { 0 };
	char *target = NULL, *spec = NULL;
	int r;

	if (asprintf(&target, "registry:%s/%s", host, image) < 0)
		return hm_error_nomem(err);
	spec = target + 9;
	if (n_keys) {
		struct hm_trusted_manifest *tm = NULL;
		char *pinned = NULL, *desc = NULL;

		r = hm_registry_trusted_manifest(spec, keys, n_keys, time(NULL), &tm,
						 &pinned, &desc, &e);
		hm_trust_free(tm);
		free(pinned);
		free(desc);
		if (r < 0 && (r = image_finding(res, r == HM_ERR_TRUST ? "HM-REG-001" : "HM-REG-002",
						image, e.msg, err)) < 0)
			goto out;
		hm_error_clear(&e);
	}
	if (hm_image_open(target, hm_audit_capture_globs(), &img, &e) < 0 ||
	    hm_audit_run(img, opt, &one, &e) < 0) {
		if (e.code == HM_ERR_NOMEM) {
			r = hm_error_nomem(err);
			goto out;
		}
		r = image_finding(res, "HM-REG-002", image, e.msg, err);
		goto out;
	}
	r = merge(res, &one, image, err);
out:
	hm_image_free(img);
	hm_audit_result_free(&one);
	free(target);
	return r;
}

int hm_registry_audit(const char *host, const char *repo_glob,
		      struct hm_pubkey *const *keys, size_t n_keys,
		      const struct hm_audit_options *opt,
		      struct hm_audit_result *res, struct hm_error *err)
{
	struct hm_registry *reg = NULL;
	struct hm_registry_names repos = { 0 }, tags = { 0 };
	size_t i, j;
	int r;

	if ((r = hm_registry_new(host, NULL, &reg, err)) < 0 ||
	    (r = hm_registry_catalog(reg, &repos, err)) < 0)
		goto out;
	for (i = 0; i < repos.n; i++) {
		struct hm_error e = { 0 };

		if (repo_glob && !hm_glob_match(repo_glob, repos.v[i], strlen(repos.v[i])))
			continue;
		hm_registry_names_free(&tags);
		if (hm_registry_tags(reg, repos.v[i], &tags, &e) < 0) {
			if ((r = image_finding(res, "HM-REG-002", repos.v[i], e.msg, err)) < 0)
				goto out;
			continue;
		}
		for (j = 0; j < tags.n; j++) {
			char *image;

			/* The fallback tags of referrers are not images. */
			if (strncmp(tags.v[j], "sha256-", 7) == 0)
				continue;
			if (asprintf(&image, "%s:%s", repos.v[i], tags.v[j]) < 0) {
				r = hm_error_nomem(err);
				goto out;
			}
			r = audit_one(host, image, keys, n_keys, opt, res, err);
			free(image);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
out:
	hm_registry_names_free(&tags);
	hm_registry_names_free(&repos);
	hm_registry_free(reg);
	return r;
}

int hm_registry_audit_image(const char *spec, struct hm_pubkey *const *keys,
			    size_t n_keys, struct hm_audit_result *res,
			    struct hm_error *err)
{
	struct hm_trusted_manifest *tm = NULL;
	char *pinned = NULL, *desc = NULL;
	struct hm_error e = { 0 };
	int r;

	r = hm_registry_trusted_manifest(spec, keys, n_keys, time(NULL), &tm,
					 &pinned, &desc, &e);
	hm_trust_free(tm);
	free(pinned);
	free(desc);
	if (r == HM_ERR_TRUST)
		return image_finding(res, "HM-REG-001", spec, e.msg, err);
	if (r < 0) {
		*err = e;
		return r;
	}
	return 0;
}
