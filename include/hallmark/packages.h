/*
 * Installed packages: the dpkg status database of an image, Debian version
 * comparison (as dpkg --compare-versions), matching against an OSV feed,
 * and SPDX 2.3 SBOMs.
 */
#ifndef HALLMARK_PACKAGES_H
#define HALLMARK_PACKAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "hallmark/error.h"
#include "hallmark/image.h"

struct hm_package {
	char *name;
	char *version;           /* full Debian version: [epoch:]upstream[-revision] */
	char *arch;
	char *source;            /* source package name (Source: or name) */
	char *source_version;    /* Source: "(ver)" or version */
	char *maintainer, *homepage;   /* or NULL */
	char *license;           /* DEP-5 License of "Files: *", or NULL */
};

struct hm_packages {
	struct hm_package *items;    /* sorted by name, then arch */
	size_t n, cap;
	char **skipped;              /* broken stanzas: "status:120: no Version" */
	size_t n_skipped;
	char *distro;                /* "debian-12" from os-release, or NULL */
};

/* Parse a dpkg status file held in memory (name for messages): only
 * packages whose Status is "WANT ok installed" are kept (held and
 * deinstall-marked packages are still on disk); broken
 * stanzas are skipped and listed.  HM_ERR_LIMIT for more than 200000
 * stanzas or a kept field over 4096 bytes: skipping those would let
 * padding hide a package. */
int hm_dpkg_parse(const char *data, size_t len, const char *name,
		  struct hm_packages *ret, struct hm_error *err);
/* /var/lib/dpkg/status of an image (HM_ERR_INPUT if absent). */
int hm_packages_load(const struct hm_image *img, struct hm_packages *ret,
		     struct hm_error *err);
void hm_packages_free(struct hm_packages *p);

/* <0, 0, >0 as dpkg --compare-versions, for valid versions (check with
 * hm_debver_valid first; invalid ones compare as dpkg would not). */
int hm_debver_cmp(const char *a, const char *b);
bool hm_debver_valid(const char *v);

struct hm_vuln {
	const struct hm_package *pkg;
	char *id;                /* advisory id, e.g. "DSA-5555-1" or "CVE-..." */
	char *summary;           /* or NULL */
	char *fixed;             /* fixed version, or NULL if none yet */
	char *severity;          /* as the feed says, or NULL */
};

struct hm_vulns {
	struct hm_vuln *items;
	size_t n, cap;
	char **skipped;          /* feed entries not understood: "osv.json: entry 12: bad version 'x'" */
	size_t n_skipped;
};

/* Match installed packages against an OSV JSON feed (a file holding one
 * OSV object or an array of them; ecosystem "Debian" or "Debian:12",
 * ranges of type ECOSYSTEM with introduced/fixed events, or explicit
 * versions lists), by package name or source package name. */
int hm_osv_match(const char *osv_path, const struct hm_packages *pkgs,
		 struct hm_vulns *ret, struct hm_error *err);
void hm_vulns_free(struct hm_vulns *v);

/* SPDX 2.3 JSON of the packages.  name: the document name; created:
 * its creation time (SOURCE_DATE_EPOCH for reproducible builds). */
/* What an SBOM reads of an image: the status database, os-release and
 * the packages' copyright files (NULL-terminated capture globs). */
extern const char *const hm_sbom_capture[];

/*
 * Fill pkgs->distro from the image's /etc/os-release (else
 * /usr/lib/os-release, as os-release(5) says): "ID-VERSION_ID", or ID
 * alone without a VERSION_ID; NULL without one.  And each package's
 * license from /usr/share/doc/NAME/copyright when that is a
 * machine-readable (DEP-5) file.  Files that are absent, not regular,
 * not captured or over HM_LIMIT_AUDIT_FILE_BYTES leave NULL: the SBOM
 * then says NOASSERTION.
 */
int hm_sbom_describe(const struct hm_image *img, struct hm_packages *pkgs,
		     struct hm_error *err);
/* The parsers under it, for tests: the distro of an os-release file
 * (*ret NULL: none); the License of the "Files: *" paragraph of a DEP-5
 * copyright file (*ret NULL: not DEP-5, or no such paragraph).  Both
 * return HM_ERR_NOMEM or 0. */
int hm_osrelease_distro(const char *data, size_t len, char **ret);
int hm_dep5_license(const char *data, size_t len, char **ret);

int hm_sbom_write(const struct hm_packages *pkgs, const char *name,
		  time_t created, FILE *out, struct hm_error *err);

#endif
