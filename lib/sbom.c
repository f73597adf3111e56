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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/image.h"
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

const char *const hm_sbom_capture[] = {
	"/var/lib/dpkg/status",
	"/etc/os-release",
	"/usr/lib/os-release",
	"/usr/share/doc/*/copyright",
	NULL,
};

/* One line of a text in memory: [*p, *e), the next line after it. */
static bool next_line(const char **pos, const char *end, const char **p,
		      const char **e)
{
	const char *nl;

	if (*pos >= end)
		return false;
	*p = *pos;
	nl = memchr(*pos, '\n', (size_t)(end - *pos));
	*e = nl ? nl : end;
	*pos = nl ? nl + 1 : end;
	if (*e > *p && (*e)[-1] == '\r')
		(*e)--;
	return true;
}

static void trim_span(const char **p, const char **e)
{
	while (*p < *e && (**p == ' ' || **p == '\t'))
		(*p)++;
	while (*e > *p && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* os-release(5) says ID and VERSION_ID are lower-case a-z 0-9 . _ -. */
static bool osrel_word(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("._-", s[i])))
			return false;
	return true;
}

int hm_osrelease_distro(const char *data, size_t len, char **ret)
{
	const char *pos = data, *end = data + len, *p, *e;
	const char *id = NULL, *ver = NULL;
	size_t id_n = 0, ver_n = 0;
	struct hm_buf b = HM_BUF_INIT;

	*ret = NULL;
	while (next_line(&pos, end, &p, &e)) {
		const char *eq, *v, *ve;

		trim_span(&p, &e);
		if (p == e || *p == '#' || !(eq = memchr(p, '=', (size_t)(e - p))))
			continue;
		v = eq + 1;
		ve = e;
		/* A quoted value: the words checked below need no escapes. */
		if (ve - v >= 2 && (*v == '"' || *v == '\'') && ve[-1] == *v) {
			v++;
			ve--;
		}
		if (eq - p == 2 && memcmp(p, "ID", 2) == 0) {
			id = v;
			id_n = (size_t)(ve - v);
		} else if (eq - p == 10 && memcmp(p, "VERSION_ID", 10) == 0) {
			ver = v;
			ver_n = (size_t)(ve - v);
		}
	}
	if (!id || !osrel_word(id, id_n))
		return 0;
	if (hm_buf_addf(&b, "%.*s", (int)id_n, id) < 0 ||
	    (ver && osrel_word(ver, ver_n) &&
	     hm_buf_addf(&b, "-%.*s", (int)ver_n, ver) < 0)) {
		hm_buf_free(&b);
		return HM_ERR_NOMEM;
	}
	*ret = hm_buf_detach(&b, NULL);
	return *ret ? 0 : HM_ERR_NOMEM;
}

/* Is [p, e) field name (case-insensitive, as in deb822)?  Returns the
 * value, trimmed, or NULL. */
static const char *field_value(const char *p, const char *e, const char *name,
			       const char **ve)
{
	size_t n = strlen(name);

	if ((size_t)(e - p) <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return NULL;
	p += n + 1;
	*ve = e;
	trim_span(&p, ve);
	return p;
}

/* A license short name we pass on: printable ASCII, one line, short. */
static bool license_text_ok(const char *p, const char *e)
{
	if (p == e || e - p > 200)
		return false;
	for (; p < e; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return false;
	return true;
}

/*
 * https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/: a
 * header paragraph with a Format field naming that specification, then
 * Files paragraphs; "Files: *" is the package's default license.
 */
int hm_dep5_license(const char *data, size_t len, char **ret)
{
	const char *pos = data, *end = data + len, *p, *e, *v, *ve;
	const char *lic = NULL, *lic_e = NULL;
	size_t para = 0;
	bool in_para = false, format = false, files_star = false;
	bool in_files = false;

	*ret = NULL;
	for (;;) {
		bool more = next_line(&pos, end, &p, &e);
		const char *tp = p, *te = e;

		if (more)
			trim_span(&tp, &te);
		if (!more || tp == te) {
			/* The end of a paragraph. */
			if (in_para && para > 0 && files_star && lic)
				break;
			if (in_para)
				para++;
			in_para = files_star = in_files = false;
			lic = NULL;
			if (!more)
				break;
			continue;
		}
		if (*p == '#')
			continue;
		in_para = true;
		if (*p == ' ' || *p == '\t') {
			/* A continuation: "Files: *" must be "*" alone. */
			if (in_files)
				files_star = false;
			continue;
		}
		in_files = false;
		if (para == 0) {
			if ((v = field_value(p, e, "Format", &ve)) &&
			    (memmem(v, (size_t)(ve - v), "copyright-format/1.0", 20) ||
			     memmem(v, (size_t)(ve - v), "dep.debian.net/deps/dep5", 24)))
				format = true;
			continue;
		}
		if (!format)
			return 0;
		if ((v = field_value(p, e, "Files", &ve))) {
			files_star = ve - v == 1 && *v == '*';
			in_files = true;
		} else if ((v = field_value(p, e, "License", &ve))) {
			lic = v;
			lic_e = ve;
		}
	}
	if (!format || !lic || !license_text_ok(lic, lic_e))
		return 0;
	*ret = strndup(lic, (size_t)(lic_e - lic));
	return *ret ? 0 : HM_ERR_NOMEM;
}

/* Read path if it is there as a regular file we may read whole: 0 and
 * *ret NULL if not; an error only for what is not about the image. */
static int read_optional(const struct hm_image *img, const char *path,
			 char **ret, size_t *ret_len, struct hm_error *err)
{
	int r;

	*ret = NULL;
	r = hm_image_read(img, path, HM_LIMIT_AUDIT_FILE_BYTES, ret, ret_len, err);
	if (r == HM_ERR_INPUT || r == HM_ERR_LIMIT) {
		hm_error_clear(err);
		*ret = NULL;
		return 0;
	}
	return r;
}

int hm_sbom_describe(const struct hm_image *img, struct hm_packages *pkgs,
		     struct hm_error *err)
{
	struct hm_buf path = HM_BUF_INIT;
	char *data = NULL;
	size_t len, i;
	int r;

	free(pkgs->distro);
	pkgs->distro = NULL;
	if ((r = read_optional(img, "/etc/os-release", &data, &len, err)) < 0)
		goto out;
	if (!data &&
	    (r = read_optional(img, "/usr/lib/os-release", &data, &len, err)) < 0)
		goto out;
	if (data && (r = hm_osrelease_distro(data, len, &pkgs->distro)) < 0)
		goto nomem;
	free(data);
	data = NULL;

	for (i = 0; i < pkgs->n; i++) {
		struct hm_package *p = &pkgs->items[i];

		free(p->license);
		p->license = NULL;
		hm_buf_reset(&path);
		if (hm_buf_addf(&path, "/usr/share/doc/%s/copyright", p->name) < 0)
			goto nomem;
		if ((r = read_optional(img, path.data, &data, &len, err)) < 0)
			goto out;
		if (data && (r = hm_dep5_license(data, len, &p->license)) < 0)
			goto nomem;
		free(data);
		data = NULL;
	}
	r = 0;
	goto out;
nomem:
	r = hm_error_nomem(err);
out:
	free(data);
	hm_buf_free(&path);
	return r;
}

/* Debian's license short names (copyright-format 1.0) and SPDX's. */
static const struct {
	const char *debian, *spdx;
} license_map[] = {
	{ "AGPL-3", "AGPL-3.0-only" },      { "AGPL-3+", "AGPL-3.0-or-later" },
	{ "Apache-1.0", "Apache-1.0" },     { "Apache-1.1", "Apache-1.1" },
	{ "Apache-2.0", "Apache-2.0" },     { "Artistic-2.0", "Artistic-2.0" },
	{ "BSD-2-clause", "BSD-2-Clause" }, { "BSD-3-clause", "BSD-3-Clause" },
	{ "BSD-4-clause", "BSD-4-Clause" }, { "BSL-1.0", "BSL-1.0" },
	{ "CC0-1.0", "CC0-1.0" },           { "Expat", "MIT" },
	{ "GFDL-1.2", "GFDL-1.2-only" },    { "GFDL-1.2+", "GFDL-1.2-or-later" },
	{ "GFDL-1.3", "GFDL-1.3-only" },    { "GFDL-1.3+", "GFDL-1.3-or-later" },
	{ "GPL-1", "GPL-1.0-only" },        { "GPL-1+", "GPL-1.0-or-later" },
	{ "GPL-2", "GPL-2.0-only" },        { "GPL-2+", "GPL-2.0-or-later" },
	{ "GPL-3", "GPL-3.0-only" },        { "GPL-3+", "GPL-3.0-or-later" },
	{ "ISC", "ISC" },
	{ "LGPL-2", "LGPL-2.0-only" },      { "LGPL-2+", "LGPL-2.0-or-later" },
	{ "LGPL-2.1", "LGPL-2.1-only" },    { "LGPL-2.1+", "LGPL-2.1-or-later" },
	{ "LGPL-3", "LGPL-3.0-only" },      { "LGPL-3+", "LGPL-3.0-or-later" },
	{ "MIT", "MIT" },                   { "MPL-1.1", "MPL-1.1" },
	{ "MPL-2.0", "MPL-2.0" },           { "PSF-2", "PSF-2.0" },
	{ "Python-2.0", "Python-2.0" },     { "Zlib", "Zlib" },
	{ "Zope-2.1", "ZPL-2.1" },
	/* Spellings Debian 12's copyright files use besides the above. */
	{ "Apache-2", "Apache-2.0" },       { "GPL-2.0", "GPL-2.0-only" },
	{ "GPL-2.0+", "GPL-2.0-or-later" }, { "GPL-3.0", "GPL-3.0-only" },
	{ "GPL-3.0+", "GPL-3.0-or-later" }, { "LGPL-2.0", "LGPL-2.0-only" },
	{ "LGPL-2.0+", "LGPL-2.0-or-later" }, { "LGPL-3.0+", "LGPL-3.0-or-later" },
	/* SPDX ids Debian uses as they are. */
	{ "curl", "curl" },                 { "FSFULLR", "FSFULLR" },
	{ "FTL", "FTL" },                   { "OFL-1.1", "OFL-1.1" },
	{ "Sleepycat", "Sleepycat" },
};

/* LicenseRef-NAME for a name SPDX does not list; refs collects them
 * (id -> the Debian text) for hasExtractedLicensingInfos. */
static int add_license_ref(struct hm_buf *b, const char *s, size_t n,
			   json_t *refs)
{
	size_t start = b->len, i;
	char *id;
	json_t *name;
	int r = 0;

	r |= hm_buf_adds(b, "LicenseRef-");
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+')
			r |= hm_buf_adds(b, "-plus");
		else
			r |= add_idstr(b, (char[]){ c, '\0' });
	}
	if (r)
		return HM_ERR_NOMEM;
	if (!(id = strndup(b->data + start, b->len - start)))
		return HM_ERR_NOMEM;
	/* Two names made one id keep the first: the output stays valid. */
	if (!json_object_get(refs, id)) {
		name = json_stringn(s, n);
		if (!name || json_object_set_new(refs, id, name) < 0)
			r = HM_ERR_NOMEM;
	}
	free(id);
	return r;
}

/*
 * A DEP-5 License line as an SPDX expression: names joined by "or" or by
 * "and" (one of them: DEP-5 groups mixed ones with commas, which SPDX
 * writes differently) map name by name; anything else ("with"
 * exceptions, commas, mixed operators) becomes one LicenseRef.
 */
static int license_expr(const char *lic, struct hm_buf *b, json_t *refs)
{
	const char *p = lic, *op = NULL;
	size_t i, n;
	bool simple = true;

	/* First pass: is it NAME (OP NAME)*? */
	for (i = 0; simple && *p; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (i % 2 == 1) {
			if (n == 2 && strncasecmp(p, "or", 2) == 0 && (!op || strcmp(op, "OR") == 0))
				op = "OR";
			else if (n == 3 && strncasecmp(p, "and", 3) == 0 && (!op || strcmp(op, "AND") == 0))
				op = "AND";
			else
				simple = false;
		} else if (n == 0 || memchr(p, ',', n) ||
			   (n == 4 && strncasecmp(p, "with", 4) == 0)) {
			simple = false;
		}
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p && i % 2 == 1)
			simple = false;      /* ends with an operator */
	}
	hm_buf_reset(b);
	if (!simple)
		return add_license_ref(b, lic, strlen(lic), refs);
	for (p = lic, i = 0; *p; i++) {
		size_t k;

		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (i % 2 == 1) {
			if (hm_buf_addf(b, " %s ", op) < 0)
				return HM_ERR_NOMEM;
		} else {
			for (k = 0; k < sizeof(license_map) / sizeof(license_map[0]); k++)
				if (strlen(license_map[k].debian) == n &&
				    strncasecmp(license_map[k].debian, p, n) == 0)
					break;
			if (k < sizeof(license_map) / sizeof(license_map[0])) {
				if (hm_buf_adds(b, license_map[k].spdx) < 0)
					return HM_ERR_NOMEM;
			} else if (add_license_ref(b, p, n, refs) < 0) {
				return HM_ERR_NOMEM;
			}
		}
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	return 0;
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
	r |= hash_field(h, pkgs->distro);
	for (i = 0; i < pkgs->n; i++) {
		const struct hm_package *p = &pkgs->items[i];

		r |= hash_field(h, p->name);
		r |= hash_field(h, p->version);
		r |= hash_field(h, p->arch);
		r |= hash_field(h, p->source);
		r |= hash_field(h, p->source_version);
		r |= hash_field(h, p->maintainer);
		r |= hash_field(h, p->homepage);
		r |= hash_field(h, p->license);
	}
	r |= hm_hash_final(h, md);
	hm_hash_free(h);
	if (r)
		return HM_ERR_NOMEM;
	hm_hex_encode(md, sizeof(md), hex);
	return 0;
}

static json_t *package_json(const struct hm_package *p, const char *id,
			    const char *distro, json_t *lrefs, struct hm_buf *b)
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
	/* Declared by the packager; nobody concluded anything. */
	if (p->license) {
		if (license_expr(p->license, b, lrefs) < 0)
			goto fail;
		r |= set_str(pkg, "licenseDeclared", b->data ? b->data : "");
	} else {
		r |= set_str(pkg, "licenseDeclared", "NOASSERTION");
	}
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
	/* Qualifiers in the order package-url requires: sorted by key. */
	if (p->arch && *p->arch) {
		r |= hm_buf_adds(b, "?arch=");
		r |= add_pct(b, p->arch);
	}
	if (distro) {
		r |= hm_buf_adds(b, p->arch && *p->arch ? "&distro=" : "?distro=");
		r |= add_pct(b, distro);
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
	json_t *seen = NULL, *creators = NULL, *lrefs = NULL;
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
	lrefs = json_object();
	if (!doc || !info || !creators || !packages || !rels || !seen || !lrefs)
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
		pj = package_json(p, id, pkgs->distro, lrefs, &b);
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

	/* SPDX wants every LicenseRef used defined in the document. */
	if (json_object_size(lrefs)) {
		json_t *infos = json_array(), *li;
		const char *key;
		json_t *val;

		if (!infos || json_object_set_new(doc, "hasExtractedLicensingInfos", infos) < 0)
			goto nomem;
		json_object_foreach(lrefs, key, val) {
			hm_buf_reset(&b);
			if (hm_buf_addf(&b, "The Debian license short name '%s' of a "
					"machine-readable /usr/share/doc/PACKAGE/copyright "
					"file; the license text is in the copyright files "
					"of the packages that declare it.",
					json_string_value(val)) < 0)
				goto nomem;
			li = json_pack("{s:s, s:s, s:s}", "licenseId", key,
				       "name", json_string_value(val),
				       "extractedText", b.data);
			if (!li || json_array_append_new(infos, li) < 0)
				goto nomem;
		}
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
	json_decref(lrefs);
	return r;
}
