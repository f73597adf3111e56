/*
 * SPDX 2.3 SBOMs: the required fields, one package per installed package,
 * reproducible bytes, identifiers and purls encoded.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "hallmark/packages.h"

static const char status[] =
	"Package: libstdc++6\nStatus: install ok installed\nArchitecture: amd64\n"
	"Source: gcc-12 (12.2.0-14)\nVersion: 12.2.0-14\n"
	"Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>\n"
	"Homepage: https://gcc.gnu.org/\n\n"
	"Package: libstdc--6\nStatus: install ok installed\nArchitecture: amd64\n"
	"Version: 1:2.0+dfsg-1\nMaintainer: Somebody\n\n"
	"Package: tzdata\nStatus: install ok installed\nArchitecture: all\n"
	"Version: 2024a-0+deb12u1\n";

static json_t *write_and_load(const struct hm_packages *p, const char *name,
			      time_t t, const char *path)
{
	struct hm_error err = { 0 };
	json_error_t jerr;
	FILE *f = fopen(path, "w");

	if (!f)
		return NULL;
	if (hm_sbom_write(p, name, t, f, &err) < 0) {
		printf("# %s\n", err.msg);
		fclose(f);
		return NULL;
	}
	fclose(f);
	return json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

TEST(required_fields)
{
	struct hm_packages p = { 0 };
	struct hm_error err = { 0 };
	json_t *doc, *pkgs, *rels, *pk, *info, *ref;
	const char *ns;
	size_t i;

	CHECK_OK(hm_dpkg_parse(status, strlen(status), "status", &p, &err), &err);
	CHECK_EQ_INT(p.n, 3);
	doc = write_and_load(&p, "debian-12", 1700000000, "sbom.json");
	CHECK(doc != NULL);
	CHECK_EQ_STR(str(doc, "spdxVersion"), "SPDX-2.3");
	CHECK_EQ_STR(str(doc, "dataLicense"), "CC0-1.0");
	CHECK_EQ_STR(str(doc, "SPDXID"), "SPDXRef-DOCUMENT");
	CHECK_EQ_STR(str(doc, "name"), "debian-12");
	ns = str(doc, "documentNamespace");
	CHECK(ns != NULL);
	CHECK(strncmp(ns, "https://spdx.org/spdxdocs/hallmark/debian-12-", 45) == 0);
	CHECK_EQ_INT(strlen(ns), 45 + 64);
	info = json_object_get(doc, "creationInfo");
	CHECK_EQ_STR(str(info, "created"), "2023-11-14T22:13:20Z");
	CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(info, "creators"), 0)),
		     "Tool: hallmark-" HM_VERSION);

	pkgs = json_object_get(doc, "packages");
	rels = json_object_get(doc, "relationships");
	CHECK_EQ_INT(json_array_size(pkgs), 3);
	CHECK_EQ_INT(json_array_size(rels), 3);
	for (i = 0; i < 3; i++) {
		json_t *rel = json_array_get(rels, i);

		pk = json_array_get(pkgs, i);
		CHECK(str(pk, "SPDXID") && strncmp(str(pk, "SPDXID"), "SPDXRef-Package-deb-", 20) == 0);
		CHECK(str(pk, "name") && str(pk, "versionInfo"));
		CHECK_EQ_STR(str(pk, "downloadLocation"), "NOASSERTION");
		CHECK(json_is_false(json_object_get(pk, "filesAnalyzed")));
		CHECK_EQ_STR(str(pk, "licenseConcluded"), "NOASSERTION");
		CHECK_EQ_STR(str(pk, "licenseDeclared"), "NOASSERTION");
		CHECK_EQ_STR(str(pk, "copyrightText"), "NOASSERTION");
		CHECK(str(pk, "supplier") != NULL);
		CHECK_EQ_STR(str(rel, "spdxElementId"), "SPDXRef-DOCUMENT");
		CHECK_EQ_STR(str(rel, "relationshipType"), "DESCRIBES");
		CHECK_EQ_STR(str(rel, "relatedSpdxElement"), str(pk, "SPDXID"));
	}
	/* Byte order: '+' (43) before '-' (45), so libstdc++6 comes first. */
	pk = json_array_get(pkgs, 0);
	CHECK_EQ_STR(str(pk, "name"), "libstdc++6");
	CHECK_EQ_STR(str(pk, "SPDXID"), "SPDXRef-Package-deb-libstdc--6-amd64");
	CHECK_EQ_STR(str(pk, "supplier"),
		     "Organization: Debian GCC Maintainers (debian-gcc@lists.debian.org)");
	CHECK_EQ_STR(str(pk, "homepage"), "https://gcc.gnu.org/");
	CHECK_EQ_STR(str(pk, "sourceInfo"), "built package from: gcc-12 12.2.0-14");
	ref = json_array_get(json_object_get(pk, "externalRefs"), 0);
	CHECK_EQ_STR(str(ref, "referenceCategory"), "PACKAGE-MANAGER");
	CHECK_EQ_STR(str(ref, "referenceType"), "purl");
	CHECK_EQ_STR(str(ref, "referenceLocator"),
		     "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64");
	/* Sanitising made the same id: the second one is numbered. */
	pk = json_array_get(pkgs, 1);
	CHECK_EQ_STR(str(pk, "name"), "libstdc--6");
	CHECK_EQ_STR(str(pk, "SPDXID"), "SPDXRef-Package-deb-libstdc--6-amd64-2");
	CHECK_EQ_STR(str(pk, "supplier"), "Organization: Somebody");
	ref = json_array_get(json_object_get(pk, "externalRefs"), 0);
	CHECK_EQ_STR(str(ref, "referenceLocator"),
		     "pkg:deb/debian/libstdc--6@1:2.0%2Bdfsg-1?arch=amd64");
	pk = json_array_get(pkgs, 2);
	CHECK_EQ_STR(str(pk, "supplier"), "NOASSERTION");
	CHECK(json_object_get(pk, "homepage") == NULL);
	json_decref(doc);
	hm_packages_free(&p);
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

TEST(reproducible)
{
	struct hm_packages p = { 0 }, q = { 0 };
	struct hm_error err = { 0 };
	json_t *d1, *d2, *d3;
	char *a, *b;

	CHECK_OK(hm_dpkg_parse(status, strlen(status), "status", &p, &err), &err);
	d1 = write_and_load(&p, "x", 0, "a.json");
	d2 = write_and_load(&p, "x", 0, "b.json");
	CHECK(d1 && d2);
	a = slurp("a.json");
	b = slurp("b.json");
	CHECK(a && b);
	CHECK_EQ_STR(a, b);
	CHECK(a[strlen(a) - 1] == '\n');
	free(a);
	free(b);
	/* Different contents, different namespace. */
	CHECK_OK(hm_dpkg_parse(status, strlen(status) - 5, "status", &q, &err), &err);
	d3 = write_and_load(&q, "x", 0, "c.json");
	CHECK(d3 != NULL);
	CHECK(strcmp(str(d1, "documentNamespace"), str(d3, "documentNamespace")) != 0);
	json_decref(d1);
	json_decref(d2);
	json_decref(d3);
	hm_packages_free(&p);
	hm_packages_free(&q);
}

TEST(empty_and_odd_name)
{
	struct hm_packages p = { 0 };
	json_t *doc;

	doc = write_and_load(&p, "my image/1", 0, "e.json");
	CHECK(doc != NULL);
	CHECK_EQ_INT(json_array_size(json_object_get(doc, "packages")), 0);
	CHECK(strncmp(str(doc, "documentNamespace"),
		      "https://spdx.org/spdxdocs/hallmark/my%20image%2F1-", 50) == 0);
	json_decref(doc);
}

TEST(write_error)
{
	struct hm_packages p = { 0 };
	struct hm_error err = { 0 };
	FILE *f = fopen("/dev/full", "w");

	if (!f) {
		printf("# skip write_error: no /dev/full\n");
		return;
	}
	CHECK_EQ_INT(hm_sbom_write(&p, "x", 0, f, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "cannot write the SBOM") != NULL);
	fclose(f);
}

static char *distro_of(const char *text)
{
	char *d = NULL;

	if (hm_osrelease_distro(text, strlen(text), &d) < 0)
		return strdup("(nomem)");
	return d;
}

TEST(os_release)
{
	static const struct {
		const char *text, *want;     /* want NULL: no distro */
	} cases[] = {
		{ "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
		  "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n", "debian-12" },
		{ "ID='ubuntu'\r\nVERSION_ID='22.04'\r\n", "ubuntu-22.04" },
		{ "  # a comment\nID=debian\nVERSION_CODENAME=trixie\n", "debian" },
		{ "NAME=x\n", NULL },
		{ "", NULL },
		{ "ID=Debian\nVERSION_ID=12\n", NULL },          /* not lower case */
		{ "ID=debian\nVERSION_ID=\"12 beta\"\n", "debian" },
		{ "ID=\"deb&x=1\"\n", NULL },                   /* would inject a qualifier */
		{ "ID=debian", "debian" },                       /* no final newline */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = distro_of(cases[i].text);

		if (cases[i].want)
			CHECK_EQ_STR(d ? d : "(null)", cases[i].want);
		else
			CHECK(d == NULL);
		free(d);
	}
}

static const char dep5_gpl[] =
	"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
	"Upstream-Name: bash\n"
	"# a comment line\n"
	"\n"
	"Files: debian/*\n"
	"Copyright: 2020 Someone\n"
	"License: MIT\n"
	"\n"
	"Files: *\n"
	"Copyright: 1987-2022 Free Software Foundation, Inc.\n"
	"License: GPL-3+\n"
	" This program is free software...\n"
	"\n"
	"License: GPL-3+\n"
	" The full text.\n";

static char *dep5_of(const char *text)
{
	char *l = NULL;

	if (hm_dep5_license(text, strlen(text), &l) < 0)
		return strdup("(nomem)");
	return l;
}

TEST(dep5)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ dep5_gpl, "GPL-3+" },
		{ "format: http://dep.debian.net/deps/dep5\n\nfiles: *\nlicense: Expat\n", "Expat" },
		{ "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
		  "Files: *\nCopyright: x\nLicense: GPL-2+ or Artistic-2.0\n", "GPL-2+ or Artistic-2.0" },
		/* Free-form text: not DEP-5. */
		{ "This is Debian's prepackaged version of zlib.\n\nLicense: Zlib\n", NULL },
		{ "Upstream-Name: x\n\nFiles: *\nLicense: MIT\n", NULL },
		{ "Format: https://example.org/something-else\n\nFiles: *\nLicense: MIT\n", NULL },
		/* "Files: *" continued on the next line is not the default. */
		{ "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
		  "Files: *\n src/*\nLicense: MIT\n", NULL },
		{ "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
		  "Files: src/*\nLicense: MIT\n", NULL },
		{ "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
		  "Files: *\nLicense: \xff\xfe\n", NULL },
		{ "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\r\n\r\n"
		  "Files: *\r\nLicense: BSD-3-clause\r\n", "BSD-3-clause" },
		{ "", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *l = dep5_of(cases[i].text);

		if (cases[i].want)
			CHECK_EQ_STR(l ? l : "(null)", cases[i].want);
		else
			CHECK(l == NULL);
		free(l);
	}
}

TEST(distro_and_licenses)
{
	static const char *const lic[] = {
		"GPL-2+", "GPL-2+ or Artistic-2.0", "public-domain",
		"GPL-2+ with OpenSSL exception", "expat and lgpl-2.1+", "GPL-2 or",
	};
	static const char *const want[] = {
		"GPL-2.0-or-later", "GPL-2.0-or-later OR Artistic-2.0",
		"LicenseRef-public-domain",
		"LicenseRef-GPL-2-plus-with-OpenSSL-exception", "MIT AND LGPL-2.1-or-later",
		"LicenseRef-GPL-2-or",
	};
	struct hm_packages p = { 0 };
	struct hm_error err = { 0 };
	char text[4096];
	size_t i, len = 0;
	json_t *doc, *pkgs, *infos;
	char *ns;

	for (i = 0; i < 6; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
			"Package: p%zu\nStatus: install ok installed\nArchitecture: amd64\n"
			"Version: 1\n\n", i);
	len += (size_t)snprintf(text + len, sizeof(text) - len,
		"Package: q\nStatus: install ok installed\nVersion: 1\n");
	CHECK_OK(hm_dpkg_parse(text, len, "status", &p, &err), &err);
	CHECK_EQ_INT(p.n, 7);
	doc = write_and_load(&p, "x", 0, "n.json");
	CHECK(doc != NULL);
	ns = strdup(str(doc, "documentNamespace"));
	for (i = 0; i < 6; i++)
		p.items[i].license = strdup(lic[i]);
	p.distro = strdup("debian-12");
	json_decref(doc);
	doc = write_and_load(&p, "x", 0, "l.json");
	CHECK(doc != NULL);
	CHECK(ns && strcmp(ns, str(doc, "documentNamespace")) != 0);
	free(ns);
	pkgs = json_object_get(doc, "packages");
	for (i = 0; i < 6; i++) {
		json_t *pk = json_array_get(pkgs, i);

		CHECK_EQ_STR(str(pk, "licenseDeclared"), want[i]);
		CHECK_EQ_STR(str(pk, "licenseConcluded"), "NOASSERTION");
	}
	CHECK_EQ_STR(str(json_array_get(pkgs, 6), "licenseDeclared"), "NOASSERTION");
	CHECK_EQ_STR(str(json_array_get(json_object_get(json_array_get(pkgs, 0),
		"externalRefs"), 0), "referenceLocator"),
		"pkg:deb/debian/p0@1?arch=amd64&distro=debian-12");
	CHECK_EQ_STR(str(json_array_get(json_object_get(json_array_get(pkgs, 6),
		"externalRefs"), 0), "referenceLocator"),
		"pkg:deb/debian/q@1?distro=debian-12");
	/* Every LicenseRef used is defined, once. */
	infos = json_object_get(doc, "hasExtractedLicensingInfos");
	CHECK_EQ_INT(json_array_size(infos), 3);
	CHECK_EQ_STR(str(json_array_get(infos, 0), "licenseId"), "LicenseRef-public-domain");
	CHECK_EQ_STR(str(json_array_get(infos, 0), "name"), "public-domain");
	CHECK(str(json_array_get(infos, 0), "extractedText") != NULL);
	CHECK_EQ_STR(str(json_array_get(infos, 1), "licenseId"),
		     "LicenseRef-GPL-2-plus-with-OpenSSL-exception");
	CHECK_EQ_STR(str(json_array_get(infos, 2), "name"), "GPL-2 or");
	json_decref(doc);
	hm_packages_free(&p);
}
