/*
 * The dpkg status parser: installed packages kept and sorted, broken
 * stanzas skipped with their line, never fatal.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hallmark/packages.h"

static const char status[] =
	"Package: zlib1g\n"
	"Status: install ok installed\n"
	"Priority: required\n"
	"Architecture: amd64\n"
	"Source: zlib\n"
	"Version: 1:1.2.13.dfsg-1\n"
	"Maintainer: Mark Brown <broonie@debian.org>\n"
	"Description: compression library - runtime\n"
	" zlib is a library implementing the deflate compression method found\n"
	" in gzip and PKZIP.\n"
	"Homepage: http://zlib.net/\n"
	"\n"
	"Package: libc6\n"
	"Status: install ok installed\n"
	"Architecture: amd64\n"
	"Source: glibc (2.36-9+deb12u4)\n"
	"Version: 2.36-9+deb12u4+b1\n"
	"\n"
	"Package: libc6\n"
	"Status: hold ok installed\n"
	"Architecture: i386\n"
	"Version: 2.36-9\n"
	"\n"
	"Package: oldpkg\n"
	"Status: deinstall ok config-files\n"
	"Version: 1.0\n"
	"\n"
	"Package: gone\n"
	"Status: purge ok not-installed\n"
	"\n"
	"package: base-files\n"           /* field names are case-insensitive */
	"STATUS: install ok installed\n"
	"Architecture: amd64\n"
	"Version: 12.4+deb12u5\n";

TEST(parses_installed_sorted)
{
	struct hm_packages p = { 0 };
	struct hm_error err = { 0 };

	CHECK_OK(hm_dpkg_parse(status, strlen(status), "status", &p, &err), &err);
	CHECK_EQ_INT(p.n, 4);
	CHECK_EQ_INT(p.n_skipped, 0);
	CHECK_EQ_STR(p.items[0].name, "base-files");
	CHECK_EQ_STR(p.items[0].source, "base-files");
	CHECK_EQ_STR(p.items[0].source_version, "12.4+deb12u5");
	CHECK(p.items[0].maintainer == NULL);
	CHECK_EQ_STR(p.items[1].name, "libc6");
	CHECK_EQ_STR(p.items[1].arch, "amd64");
	CHECK_EQ_STR(p.items[1].source, "glibc");
	CHECK_EQ_STR(p.items[1].source_version, "2.36-9+deb12u4");
	CHECK_EQ_STR(p.items[1].version, "2.36-9+deb12u4+b1");
	CHECK_EQ_STR(p.items[2].name, "libc6");
	CHECK_EQ_STR(p.items[2].arch, "i386");           /* held is installed */
	CHECK_EQ_STR(p.items[3].name, "zlib1g");
	CHECK_EQ_STR(p.items[3].version, "1:1.2.13.dfsg-1");
	CHECK_EQ_STR(p.items[3].source, "zlib");
	CHECK_EQ_STR(p.items[3].source_version, "1:1.2.13.dfsg-1");
	CHECK_EQ_STR(p.items[3].maintainer, "Mark Brown <broonie@debian.org>");
	CHECK_EQ_STR(p.items[3].homepage, "http://zlib.net/");
	hm_packages_free(&p);
	hm_packages_free(&p);     /* a freed set is empty, freeing again is safe */
}

static int has_skipped(const struct hm_packages *p, const char *what)
{
	size_t i;

	for (i = 0; i < p->n_skipped; i++)
		if (strcmp(p->skipped[i], what) == 0)
			return 1;
	return 0;
}

TEST(broken_stanzas_are_skipped)
{
	static const char bad[] =
		"Package: good\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n"
		"\n"
		"Status: install ok installed\nVersion: 1.0\n"                        /* 6 */
		"\n"
		"Package: nover\nStatus: install ok installed\n"                      /* 9 */
		"\n"
		"Package: badver\nStatus: install ok installed\nVersion: 1.0-\n"      /* 12 */
		"\n"
		"Package: noline\nStatus: install ok installed\nthis is junk\nVersion: 1\n" /* 16 */
		"\n"
		"Package: dup\nStatus: install ok installed\nVersion: 1\nVersion: 2\n" /* 21 */
		"\n"
		"Package: badsrc\nStatus: install ok installed\nVersion: 1\nSource: a (b c)\n"
		"\n"
		" leading continuation\nPackage: cont\n"                             /* 32 */
		"\n"
		"Package: badstatus\nStatus: install\nVersion: 1\n"                  /* 35 */
		"\n"
		"Package: Bad_Name!\nStatus: install ok installed\nVersion: 1\n"      /* 39 */
		"\n"
		"Package: after\nStatus: install ok installed\nVersion: 2:3.4-5\n";
	struct hm_packages p = { 0 };
	struct hm_error err = { 0 };
	size_t i;

	CHECK_OK(hm_dpkg_parse(bad, strlen(bad), "st", &p, &err), &err);
	CHECK_EQ_INT(p.n, 2);
	CHECK_EQ_STR(p.items[0].name, "after");
	CHECK_EQ_STR(p.items[0].arch, "");
	CHECK_EQ_STR(p.items[1].name, "good");
	CHECK_EQ_INT(p.n_skipped, 9);
	for (i = 0; i < p.n_skipped; i++)
		printf("# skipped: %s\n", p.skipped[i]);
	CHECK(has_skipped(&p, "st:6: no Package field"));
	CHECK(has_skipped(&p, "st:9: package 'nover': no Version field"));
	CHECK(has_skipped(&p, "st:14: package 'badver': invalid Version '1.0-'"));
	CHECK(has_skipped(&p, "st:18: package 'noline': line without ':'"));
	CHECK(has_skipped(&p, "st:24: package 'dup': duplicate field 'Version'"));
	CHECK(has_skipped(&p, "st:29: package 'badsrc': invalid Source 'a (b c)'"));
	CHECK(has_skipped(&p, "st:31: package 'cont': continuation line without a field"));
	CHECK(has_skipped(&p, "st:35: package 'badstatus': invalid Status 'install'"));
	CHECK(has_skipped(&p, "st:38: invalid Package name 'Bad_Name!'"));
	hm_packages_free(&p);
}

TEST(nul_bytes_and_binary)
{
	static const char data[] =
		"Package: a\nStatus: install ok installed\nVersion: 1\0x\n"
		"\n"
		"Package: b\nStatus: install ok installed\nVersion: 2\n";
	struct hm_packages p = { 0 };
	struct hm_error err = { 0 };
	char noise[4096];
	size_t i;

	CHECK_OK(hm_dpkg_parse(data, sizeof(data) - 1, "st", &p, &err), &err);
	CHECK_EQ_INT(p.n, 1);
	CHECK_EQ_STR(p.items[0].name, "b");
	CHECK_EQ_INT(p.n_skipped, 1);
	CHECK_EQ_STR(p.skipped[0], "st:3: package 'a': NUL byte");
	hm_packages_free(&p);

	/* Random bytes: no crash, no package, whatever is skipped is said. */
	srand(1);
	for (i = 0; i < sizeof(noise); i++)
		noise[i] = (char)(rand() & 0xff);
	CHECK_OK(hm_dpkg_parse(noise, sizeof(noise), "noise", &p, &err), &err);
	CHECK_EQ_INT(p.n, 0);
	CHECK(p.n_skipped > 0);
	hm_packages_free(&p);

	CHECK_OK(hm_dpkg_parse("", 0, "empty", &p, &err), &err);
	CHECK_EQ_INT(p.n, 0);
	CHECK_EQ_INT(p.n_skipped, 0);
	hm_packages_free(&p);
}

TEST(limits_and_oddities)
{
	struct hm_packages p = { 0 };
	struct hm_error err = { 0 };
	char *big;
	size_t n = 10000, off = 0;

	/* A kept field beyond the limit is an error, not a skipped stanza:
	 * it would hide its package from the vulnerability check. */
	big = malloc(n + 256);
	CHECK(big != NULL);
	off += (size_t)sprintf(big, "Package: small\nStatus: install ok installed\nVersion: 1\n\n"
			       "Package: huge\nStatus: install ok installed\nVersion: 1\nMaintainer: ");
	memset(big + off, 'm', n);
	off += n;
	off += (size_t)sprintf(big + off, "\n");
	CHECK_EQ_INT(hm_dpkg_parse(big, off, "st", &p, &err), HM_ERR_LIMIT);
	CHECK_EQ_STR(err.msg, "st:8: field 'Maintainer' is longer than 4096 bytes");
	CHECK_EQ_INT(p.n, 0);
	free(big);

	/* CRLF, blank lines made of spaces, no final newline, continuation
	 * of a kept field, a duplicate package (the first one wins). */
	static const char odd[] =
		"Package: a\r\nStatus: install ok installed\r\nVersion: 1.0\r\n"
		"Maintainer: A\n  B <b@example.org>\n"
		"  \t\n"
		"Package: a\nStatus: install ok installed\nVersion: 2.0\n"
		"\n\n\n"
		"Package: c\nStatus: install ok installed\nVersion: 3\nMaintainer: \xff\xfe\n"
		"\n"
		"Package: d\nStatus: install ok installed\nVersion: 4";
	CHECK_OK(hm_dpkg_parse(odd, strlen(odd), "st", &p, &err), &err);
	CHECK_EQ_INT(p.n, 2);
	CHECK_EQ_STR(p.items[0].name, "a");
	CHECK_EQ_STR(p.items[0].version, "1.0");
	CHECK_EQ_STR(p.items[0].maintainer, "A B <b@example.org>");
	CHECK_EQ_STR(p.items[1].name, "d");
	CHECK_EQ_INT(p.n_skipped, 2);
	CHECK_EQ_STR(p.skipped[0], "st:16: package 'c': field 'Maintainer' is not printable UTF-8");
	CHECK_EQ_STR(p.skipped[1], "st:7: package 'a': duplicate of an earlier stanza");
	hm_packages_free(&p);
}

TEST(many_stanzas)
{
	struct hm_packages p = { 0 };
	struct hm_error err = { 0 };
	char *buf;
	size_t i, off = 0, n = 3000;

	buf = malloc(n * 80);
	CHECK(buf != NULL);
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(buf + off,
				       "Package: p%05zu\nStatus: install ok installed\nVersion: %zu\n\n",
				       n - i, i);
	CHECK_OK(hm_dpkg_parse(buf, off, "st", &p, &err), &err);
	free(buf);
	CHECK_EQ_INT(p.n, n);
	for (i = 1; i < p.n; i++)
		CHECK(strcmp(p.items[i - 1].name, p.items[i].name) < 0);
	hm_packages_free(&p);
}

/* Padding the file with fake stanzas must not push a real package past
 * the stanza limit unseen: the limit is an error (HM-VULN-005). */
TEST(stanza_limit_is_an_error)
{
	struct hm_packages p = { 0 };
	struct hm_error err = { 0 };
	static const char stanza[] = "Package: pad\nStatus: purge ok not-installed\n\n";
	static const char tail[] = "Package: vuln\nStatus: install ok installed\nVersion: 1\n";
	size_t n = 200000, off = 0, i;
	char *buf = malloc(n * (sizeof(stanza) - 1) + sizeof(tail));

	CHECK(buf != NULL);
	for (i = 0; i < n; i++) {
		memcpy(buf + off, stanza, sizeof(stanza) - 1);
		off += sizeof(stanza) - 1;
	}
	/* Exactly at the limit: read whole. */
	CHECK_OK(hm_dpkg_parse(buf, off, "st", &p, &err), &err);
	CHECK_EQ_INT(p.n, 0);
	CHECK_EQ_INT(p.n_skipped, 0);
	hm_packages_free(&p);
	memcpy(buf + off, tail, sizeof(tail) - 1);
	off += sizeof(tail) - 1;
	CHECK_EQ_INT(hm_dpkg_parse(buf, off, "st", &p, &err), HM_ERR_LIMIT);
	CHECK_EQ_STR(err.msg, "st:600001: more than 200000 stanzas");
	CHECK_EQ_INT(p.n, 0);
	free(buf);
}
