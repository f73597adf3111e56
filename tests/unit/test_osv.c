/*
 * OSV matching: ranges, versions lists, source and binary names, broken
 * entries skipped and listed, duplicates merged.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "hallmark/packages.h"

static const char status[] =
	"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
	"Source: glibc (2.36-9+deb12u4)\nVersion: 2.36-9+deb12u4+b1\n\n"
	"Package: libc6\nStatus: install ok installed\nArchitecture: i386\n"
	"Source: glibc\nVersion: 2.36-9+deb12u4\n\n"
	"Package: openssl\nStatus: install ok installed\nArchitecture: amd64\n"
	"Version: 3.0.11-1~deb12u2\n\n"
	"Package: curl\nStatus: install ok installed\nArchitecture: amd64\n"
	"Version: 7.88.1-10+deb12u4\n\n"
	"Package: tool\nStatus: install ok installed\nArchitecture: all\n"
	"Version: 3.1-1\n\n"
	"Package: other\nStatus: install ok installed\nArchitecture: all\n"
	"Version: 2.5\n";

static const char feed[] =
	"[\n"
	/* 0: source name, range, fixed above both glibc binaries */
	"{\"id\": \"DSA-5555-1\", \"summary\": \"glibc\\nsecurity update\",\n"
	" \"aliases\": [\"CVE-2023-4911\"], \"modified\": \"x\", \"whatever\": {\"a\": [1]},\n"
	" \"database_specific\": {\"severity\": \"high\"},\n"
	" \"affected\": [\n"
	"  {\"package\": {\"ecosystem\": \"Debian:11\", \"name\": \"glibc\"},\n"
	"   \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"2.31-13+deb11u7\"}]}]},\n"
	"  {\"package\": {\"ecosystem\": \"Debian:12\", \"name\": \"glibc\", \"purl\": \"pkg:deb/debian/glibc\"},\n"
	"   \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"2.36-9+deb12u5\"}]}],\n"
	"   \"ecosystem_specific\": {\"urgency\": \"high\"}}]},\n"
	/* 1: fixed version equals the installed one: not affected */
	"{\"id\": \"DSA-6000-1\", \"affected\": [{\"package\": {\"ecosystem\": \"Debian\", \"name\": \"openssl\"},\n"
	"   \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"3.0.11-1~deb12u2\"}]}]}]},\n"
	/* 2: a versions list; no fix; CVSS-style severity */
	"{\"id\": \"DEBIAN-CVE-2024-1\", \"severity\": [{\"type\": \"CVSS_V3\", \"score\": \"CVSS:3.1/AV:N\"}],\n"
	" \"affected\": [{\"package\": {\"ecosystem\": \"Debian:12\", \"name\": \"curl\"},\n"
	"   \"versions\": [\"7.88.1-10+deb12u3\", \"7.88.1-10+deb12u4\"]},\n"
	"  {\"package\": {\"ecosystem\": \"PyPI\", \"name\": \"curl\"}, \"versions\": [\"not a debian version\"]}]},\n"
	/* 3: another ecosystem only */
	"{\"id\": \"PYSEC-1\", \"affected\": [{\"package\": {\"ecosystem\": \"PyPI\", \"name\": \"openssl\"},\n"
	"   \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}]}]}]},\n"
	/* 4: a bad version: skipped as a whole, though it would match */
	"{\"id\": \"DSA-BAD\", \"affected\": [{\"package\": {\"ecosystem\": \"Debian\", \"name\": \"curl\"},\n"
	"   \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"x y\"}]}]}]},\n"
	/* 5: not an object */
	"42,\n"
	/* 6: withdrawn */
	"{\"id\": \"DSA-W\", \"withdrawn\": \"2024-01-01T00:00:00Z\", \"affected\": [{\"package\": {\"ecosystem\": \"Debian\", \"name\": \"curl\"},\n"
	"   \"versions\": [\"7.88.1-10+deb12u4\"]}]},\n"
	/* 7: two intervals, last_affected; a binary name */
	"{\"id\": \"DLA-7\", \"affected\": [\n"
	"  {\"package\": {\"ecosystem\": \"Debian\", \"name\": \"tool\"},\n"
	"   \"ranges\": [{\"type\": \"GIT\", \"events\": [{\"introduced\": \"abc\"}]},\n"
	"              {\"type\": \"ECOSYSTEM\", \"events\": [{\"fixed\": \"3.5\"}, {\"introduced\": \"3.0\"}, {\"introduced\": \"0\"}, {\"fixed\": \"2.0\"}]}]},\n"
	"  {\"package\": {\"ecosystem\": \"Debian\", \"name\": \"other\"},\n"
	"   \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"2.0\"}, {\"introduced\": \"3.0\"}, {\"fixed\": \"3.5\"}]}]},\n"
	"  {\"package\": {\"ecosystem\": \"Debian\", \"name\": \"libc6\"},\n"
	"   \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"2.36\"}, {\"last_affected\": \"2.36-9+deb12u4+b1\"}]}]}]},\n"
	/* 8: a shape error */
	"{\"id\": \"DSA-SHAPE\", \"affected\": [{\"package\": {\"ecosystem\": \"Debian\", \"name\": \"curl\"}, \"ranges\": {\"type\": \"ECOSYSTEM\"}}]},\n"
	/* 9: no id */
	"{\"affected\": []}\n"
	"]\n";

static int write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(data, f);
	return fclose(f);
}

static const struct hm_vuln *find(const struct hm_vulns *v, const char *pkg,
				  const char *arch, const char *id)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->items[i].pkg->name, pkg) == 0 &&
		    strcmp(v->items[i].pkg->arch, arch) == 0 &&
		    strcmp(v->items[i].id, id) == 0)
			return &v->items[i];
	return NULL;
}

TEST(matches_feed)
{
	struct hm_packages p = { 0 };
	struct hm_vulns v = { 0 };
	struct hm_error err = { 0 };
	const struct hm_vuln *f;
	size_t i;

	CHECK_OK(hm_dpkg_parse(status, strlen(status), "status", &p, &err), &err);
	CHECK_EQ_INT(p.n, 6);
	CHECK(write_file("osv.json", feed) == 0);
	CHECK_OK(hm_osv_match("osv.json", &p, &v, &err), &err);
	for (i = 0; i < v.n; i++)
		printf("# %s:%s %s fixed %s\n", v.items[i].pkg->name,
		       v.items[i].pkg->arch, v.items[i].id,
		       v.items[i].fixed ? v.items[i].fixed : "-");
	for (i = 0; i < v.n_skipped; i++)
		printf("# skipped: %s\n", v.skipped[i]);

	/* glibc's advisory hits both libc6 (by source, source version). */
	f = find(&v, "libc6", "amd64", "DSA-5555-1");
	CHECK(f != NULL);
	CHECK_EQ_STR(f->fixed, "2.36-9+deb12u5");
	CHECK_EQ_STR(f->severity, "high");
	CHECK_EQ_STR(f->summary, "glibc security update");   /* control chars blanked */
	CHECK(find(&v, "libc6", "i386", "DSA-5555-1") != NULL);
	/* Binary name, binary version: 2.36-9+deb12u4+b1 is last_affected,
	 * so amd64 is hit; the i386 one (same source) too, being older. */
	f = find(&v, "libc6", "amd64", "DLA-7");
	CHECK(f != NULL);
	CHECK(f->fixed == NULL);
	CHECK(find(&v, "libc6", "i386", "DLA-7") != NULL);
	CHECK(find(&v, "openssl", "amd64", "DSA-6000-1") == NULL);
	CHECK(find(&v, "openssl", "amd64", "PYSEC-1") == NULL);
	f = find(&v, "curl", "amd64", "DEBIAN-CVE-2024-1");
	CHECK(f != NULL);
	CHECK(f->fixed == NULL);
	CHECK(f->summary == NULL);
	CHECK_EQ_STR(f->severity, "CVSS:3.1/AV:N");
	CHECK(find(&v, "curl", "amd64", "DSA-BAD") == NULL);
	CHECK(find(&v, "curl", "amd64", "DSA-W") == NULL);
	CHECK(find(&v, "curl", "amd64", "DSA-SHAPE") == NULL);
	/* 3.1 is in [3.0, 3.5): fixed 3.5; 2.5 is in no interval. */
	f = find(&v, "tool", "all", "DLA-7");
	CHECK(f != NULL);
	CHECK_EQ_STR(f->fixed, "3.5");
	CHECK(find(&v, "other", "all", "DLA-7") == NULL);
	CHECK_EQ_INT(v.n, 6);
	/* Sorted by package, then id. */
	for (i = 1; i < v.n; i++)
		CHECK(v.items[i - 1].pkg < v.items[i].pkg ||
		      (v.items[i - 1].pkg == v.items[i].pkg &&
		       strcmp(v.items[i - 1].id, v.items[i].id) < 0));

	CHECK_EQ_INT(v.n_skipped, 4);
	CHECK_EQ_STR(v.skipped[0], "osv.json: entry 4 (DSA-BAD): bad version 'x y'");
	CHECK_EQ_STR(v.skipped[1], "osv.json: entry 5: not an object");
	CHECK_EQ_STR(v.skipped[2], "osv.json: entry 8 (DSA-SHAPE): affected[0]: ranges and versions must be arrays");
	CHECK_EQ_STR(v.skipped[3], "osv.json: entry 9: no valid \"id\"");
	hm_vulns_free(&v);
	hm_vulns_free(&v);
	hm_packages_free(&p);
}

TEST(duplicates_merged_and_single_object)
{
	static const char one[] =
		"{\"id\": \"DSA-1\", \"affected\": [\n"
		" {\"package\": {\"ecosystem\": \"Debian:11\", \"name\": \"curl\"}, \"versions\": [\"7.88.1-10+deb12u4\"]},\n"
		" {\"package\": {\"ecosystem\": \"Debian:12\", \"name\": \"curl\"},\n"
		"  \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"7.0\"}, {\"fixed\": \"7.88.1-10+deb12u5\"}]}]}]}\n";
	struct hm_packages p = { 0 };
	struct hm_vulns v = { 0 };
	struct hm_error err = { 0 };

	CHECK_OK(hm_dpkg_parse(status, strlen(status), "status", &p, &err), &err);
	CHECK(write_file("one.json", one) == 0);
	CHECK_OK(hm_osv_match("one.json", &p, &v, &err), &err);
	CHECK_EQ_INT(v.n, 1);
	CHECK_EQ_STR(v.items[0].id, "DSA-1");
	CHECK_EQ_STR(v.items[0].pkg->name, "curl");
	CHECK_EQ_STR(v.items[0].fixed, "7.88.1-10+deb12u5");
	CHECK_EQ_INT(v.n_skipped, 0);
	hm_vulns_free(&v);
	hm_packages_free(&p);
}

TEST(bad_feeds_are_errors)
{
	struct hm_packages p = { 0 };
	struct hm_vulns v = { 0 };
	struct hm_error err = { 0 };

	CHECK_OK(hm_dpkg_parse(status, strlen(status), "status", &p, &err), &err);
	CHECK_EQ_INT(hm_osv_match("missing.json", &p, &v, &err), HM_ERR_IO);
	CHECK(strstr(err.msg, "cannot open 'missing.json'") != NULL);

	CHECK(write_file("trunc.json", "[{\"id\": \"x\",\n") == 0);
	CHECK_EQ_INT(hm_osv_match("trunc.json", &p, &v, &err), HM_ERR_INPUT);
	CHECK(strncmp(err.msg, "trunc.json:", 11) == 0);

	CHECK(write_file("dup.json", "{\"id\": \"a\", \"id\": \"b\"}") == 0);
	CHECK_EQ_INT(hm_osv_match("dup.json", &p, &v, &err), HM_ERR_INPUT);
	CHECK(strstr(err.msg, "duplicate") != NULL);

	CHECK(write_file("str.json", "\"hello\"") == 0);
	CHECK_EQ_INT(hm_osv_match("str.json", &p, &v, &err), HM_ERR_INPUT);
	CHECK(write_file("bin.json", "\x7f" "ELF\x01\x02") == 0);
	CHECK_EQ_INT(hm_osv_match("bin.json", &p, &v, &err), HM_ERR_INPUT);
	CHECK_EQ_INT(hm_osv_match(".", &p, &v, &err), HM_ERR_INPUT);
	CHECK(v.n == 0 && v.items == NULL);     /* nothing written on failure */

	/* An empty feed matches nothing; so does an empty package list. */
	CHECK(write_file("empty.json", "[]") == 0);
	CHECK_OK(hm_osv_match("empty.json", &p, &v, &err), &err);
	CHECK_EQ_INT(v.n, 0);
	hm_vulns_free(&v);
	hm_packages_free(&p);
	CHECK(write_file("osv.json", feed) == 0);
	CHECK_OK(hm_osv_match("osv.json", &p, &v, &err), &err);
	CHECK_EQ_INT(v.n, 0);
	CHECK_EQ_INT(v.n_skipped, 4);
	hm_vulns_free(&v);
}

TEST(many_bad_entries_are_capped)
{
	struct hm_packages p = { 0 };
	struct hm_vulns v = { 0 };
	struct hm_error err = { 0 };
	FILE *f = fopen("many.json", "w");
	int i;

	CHECK(f != NULL);
	fputs("[", f);
	for (i = 0; i < 1500; i++)
		fprintf(f, "%s7", i ? "," : "");
	fputs("]", f);
	CHECK(fclose(f) == 0);
	CHECK_OK(hm_osv_match("many.json", &p, &v, &err), &err);
	CHECK_EQ_INT(v.n_skipped, 1001);
	CHECK_EQ_STR(v.skipped[1000], "many.json: 500 more entries skipped");
	hm_vulns_free(&v);
}
