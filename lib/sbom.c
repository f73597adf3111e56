/*
 * SPDX 2.3 SBOMs (https://spdx.github.io/spdx-spec/v2.3/) of installed
 * Debian packages, in the JSON serialisation.
 *
 * Builds must be reproducible, so the document is a pure function of its
 * inputs: keys sorted, packages in the order given (name, then arch), the
 * creation time from the caller (SOURCE_DATE_EPOCH) and a namespace made
 * from a SHA-256 of the content instead of a random UUID.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/manifest.h"
#include "hallmark/packages.h"

#ifndef HM_VERSION
#define HM_VERSION "unknown"
#endif

#define HM_SPDX_NAMESPACE "https://spdx.org/spdxdocs/hallmark/"

/* Percent-encoding as package-url does: unreserved characters and ':'
 * stay, everything else (notably '+') is %XX. */
static int add_pct(struct hm_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(".-_~:", c))
			r |= hm_buf_addc(b, (char)c);
		else
			r |= hm_buf_addf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	return r;
}

/* SPDX identifiers allow [A-Za-z0-9.-] after "SPDXRef-". */
static int add_idstr(struct hm_buf *b, const char *s)
{
	int r = 0;

	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-'))
			c = '-';
		r |= hm_buf_addc(b, c);
	}
	return r;
}

/* A unique SPDXID for pkg; ids already given are keys of seen. */
static int package_id(const struct hm_package *pkg, json_t *seen,
		      struct hm_buf *b)
{
	size_t base, k;
	int r = 0;

	hm_buf_reset(b);
	r |= hm_buf_adds(b, "SPDXRef-Package-deb-");
	r |= add_idstr(b, pkg->name);
	if (pkg->arch && *pkg->arch) {
		r |= hm_buf_addc(b, '-');
		r |= add_idstr(b, pkg->arch);
	}
	if (r)
		return HM_ERR_NOMEM;
	/* Sanitising can make two names one ("a+b", "a-b"): number them. */
	base = b->len;
	for (k = 2; json_object_get(seen, b->data); k++) {
		b->len = base;
		if (hm_buf_addf(b, "-%zu", k) < 0)
			return HM_ERR_NOMEM;
	}
	if (json_object_set_new(seen, b->data, json_true()) < 0)
		return HM_ERR_NOMEM;
	return 0;
}

/* "Name <mail>" (Debian's Maintainer) as SPDX's "Name (mail)". */
static int add_supplier(struct hm_buf *b, const char *m)
{
	const char *lt = strrchr(m, '<'), *gt = strrchr(m, '>');
	const char *end;

	if (hm_buf_adds(b, "Organization: ") < 0)
		return HM_ERR_NOMEM;
	if (lt && gt && gt > lt && gt[1] == '\0') {
		for (end = lt; end > m && end[-1] == ' '; end--)
			;
		if (end > m)
			return hm_buf_addf(b, "%.*s (%.*s)", (int)(end - m), m,
					   (int)(gt - lt - 1), lt + 1);
	}
	return hm_buf_adds(b, m);
}

/* Set key to a string; -1 if it is not UTF-8 or memory ran out. */
static int set_str(json_t *obj, const char *key, const char *value)
{
	json_t *s = json_string(value);

	return s ? json_object_set_new(obj, key, s) : -1;
}

static int hash_field(struct hm_hash *h, const char *s)
{
	if (!s)
		s = "";
	return hm_hash_update(h, s, strlen(s) + 1);
}

/* SHA-256 of the name, creation time and everything of each package. */
static int content_digest(const struct hm_packages *pkgs, const char *name,
			  const char *created, char hex[65])
{
	unsigned char md[32];
	struct hm_hash *h = hm_hash_new(HM_HASH_SHA256);
	size_t i;
	int r = 0;

	if (!h)
		return HM_ERR_NOMEM;
	r |= hash_field(h, name);
	r |= hash_field(h, created);
	for (i = 0; i < pkgs->n; i++) {
		const struct hm_package *p = &pkgs->items[i];

		r |= hash_field(h, p->name);
		r |= hash_field(h, p->version);
		r |= hash_field(h, p->arch);
		r |= hash_field(h, p->source);
		r |= hash_field(h, p->source_version);
		r |= hash_field(h, p->maintainer);
		r |= hash_field(h, p->homepage);
	}
	r |= hm_hash_final(h, md);
	hm_hash_free(h);
	if (r)
		return HM_ERR_NOMEM;
	hm_hex_encode(md, sizeof(md), hex);
	return 0;
}

static json_t *package_json(const struct hm_package *p, const char *id,
			    struct hm_buf *b)
{
	json_t *pkg = json_object(), *refs = json_array(), *ref = json_object();
	int r = 0;

	if (!pkg || !refs || !ref)
		goto fail;
	r |= set_str(pkg, "SPDXID", id);
	r |= set_str(pkg, "name", p->name);
	r |= set_str(pkg, "versionInfo", p->version);
	r |= set_str(pkg, "downloadLocation", "NOASSERTION");
	r |= json_object_set_new(pkg, "filesAnalyzed", json_false());
	r |= set_str(pkg, "licenseConcluded", "NOASSERTION");
	r |= set_str(pkg, "licenseDeclared", "NOASSERTION");
	r |= set_str(pkg, "copyrightText", "NOASSERTION");
	hm_buf_reset(b);
	if (p->maintainer && *p->maintainer) {
		r |= add_supplier(b, p->maintainer);
		r |= set_str(pkg, "supplier", b->data ? b->data : "");
	} else {
		r |= set_str(pkg, "supplier", "NOASSERTION");
	}
	if (p->homepage && (strncmp(p->homepage, "http://", 7) == 0 ||
			    strncmp(p->homepage, "https://", 8) == 0))
		r |= set_str(pkg, "homepage", p->homepage);
	hm_buf_reset(b);
	r |= hm_buf_addf(b, "built package from: %s %s", p->source,
			 p->source_version);
	r |= set_str(pkg, "sourceInfo", b->data ? b->data : "");

	hm_buf_reset(b);
	r |= hm_buf_adds(b, "pkg:deb/debian/");
	r |= add_pct(b, p->name);
	r |= hm_buf_addc(b, '@');
	r |= add_pct(b, p->version);
	if (p->arch && *p->arch) {
		r |= hm_buf_adds(b, "?arch=");
		r |= add_pct(b, p->arch);
	}
	r |= set_str(ref, "referenceCategory", "PACKAGE-MANAGER");
	r |= set_str(ref, "referenceType", "purl");
	r |= set_str(ref, "referenceLocator", b->data ? b->data : "");
	r |= json_array_append(refs, ref);
	r |= json_object_set(pkg, "externalRefs", refs);
	if (r)
		goto fail;
	json_decref(refs);
	json_decref(ref);
	return pkg;
fail:
	json_decref(pkg);
	json_decref(refs);
	json_decref(ref);
	return NULL;
}

int hm_sbom_write(const struct hm_packages *pkgs, const char *name,
		  time_t created, FILE *out, struct hm_error *err)
{
	struct hm_buf b = HM_BUF_INIT;
	json_t *doc = NULL, *info = NULL, *packages = NULL, *rels = NULL;
	json_t *seen = NULL, *creators = NULL;
	char when[21], digest[65];
	size_t i;
	int r;

	hm_time_format(created, when);
	r = content_digest(pkgs, name, when, digest);
	if (r < 0)
		return hm_error_nomem(err);

	doc = json_object();
	info = json_object();
	creators = json_array();
	packages = json_array();
	rels = json_array();
	seen = json_object();
	if (!doc || !info || !creators || !packages || !rels || !seen)
		goto nomem;

	r = 0;
	r |= set_str(doc, "spdxVersion", "SPDX-2.3");
	r |= set_str(doc, "dataLicense", "CC0-1.0");
	r |= set_str(doc, "SPDXID", "SPDXRef-DOCUMENT");
	if (set_str(doc, "name", name) < 0) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "SBOM name is not UTF-8");
		goto out;
	}
	r |= hm_buf_adds(&b, HM_SPDX_NAMESPACE);
	r |= add_pct(&b, name);
	r |= hm_buf_addf(&b, "-%s", digest);
	r |= set_str(doc, "documentNamespace", b.data ? b.data : "");
	r |= set_str(info, "created", when);
	r |= json_array_append_new(creators, json_string("Tool: hallmark-" HM_VERSION));
	r |= json_object_set(info, "creators", creators);
	r |= json_object_set(doc, "creationInfo", info);
	r |= json_object_set(doc, "packages", packages);
	r |= json_object_set(doc, "relationships", rels);
	if (r)
		goto nomem;

	for (i = 0; i < pkgs->n; i++) {
		const struct hm_package *p = &pkgs->items[i];
		json_t *pj, *rel;
		char *id;

		if (package_id(p, seen, &b) < 0)
			goto nomem;
		id = hm_buf_detach(&b, NULL);
		pj = package_json(p, id, &b);
		if (!pj) {
			free(id);
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "package '%s' has a field that is not UTF-8",
					 p->name);
			goto out;
		}
		rel = json_pack("{s:s, s:s, s:s}", "spdxElementId", "SPDXRef-DOCUMENT",
				"relationshipType", "DESCRIBES",
				"relatedSpdxElement", id);
		free(id);
		if (json_array_append_new(packages, pj) < 0 || !rel ||
		    json_array_append_new(rels, rel) < 0)
			goto nomem;
	}

	if (json_dumpf(doc, out, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 ||
	    fputc('\n', out) == EOF || fflush(out) == EOF || ferror(out)) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot write the SBOM");
		goto out;
	}
	r = 0;
	goto out;
nomem:
	r = hm_error_nomem(err);
out:
	hm_buf_free(&b);
	json_decref(doc);
	json_decref(info);
	json_decref(creators);
	json_decref(packages);
	json_decref(rels);
	json_decref(seen);
	return r;
}
