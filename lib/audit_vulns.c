/*
 * Known-vulnerable packages (HM-VULN-*): the dpkg status against an OSV
 * feed.
 */
#include <stdlib.h>
#include <string.h>

#include "hallmark/packages.h"

#include "audit_private.h"

const struct hm_audit_rule hm_audit_rules_vulns[] = {
	{ "HM-VULN-001", "known vulnerable package (high, or severity not given)", HM_SEV_HIGH,
	  "An installed package version is affected by a published advisory; update it to the fixed version.",
	  CIS "Ensure updates, patches, and additional security software are installed" },
	{ "HM-VULN-002", "known vulnerable package (critical)", HM_SEV_CRITICAL,
	  "An installed package version is affected by a published advisory the feed rates critical.",
	  CIS "Ensure updates, patches, and additional security software are installed" },
	{ "HM-VULN-003", "known vulnerable package (medium)", HM_SEV_MEDIUM,
	  "An installed package version is affected by a published advisory the feed rates medium.",
	  CIS "Ensure updates, patches, and additional security software are installed" },
	{ "HM-VULN-004", "known vulnerable package (low)", HM_SEV_LOW,
	  "An installed package version is affected by a published advisory the feed rates low.",
	  CIS "Ensure updates, patches, and additional security software are installed" },
	{ "HM-VULN-005", "package database cannot be audited", HM_SEV_CRITICAL,
	  "/var/lib/dpkg/status is there but could not be read, so no installed package was checked against the feed.",
	  NULL },
};
const size_t hm_audit_n_rules_vulns =
	sizeof(hm_audit_rules_vulns) / sizeof(hm_audit_rules_vulns[0]);

static const char *vuln_rule(const char *severity)
{
	if (!severity)
		return "HM-VULN-001";
	if (strcasecmp(severity, "critical") == 0)
		return "HM-VULN-002";
	if (strcasecmp(severity, "medium") == 0 || strcasecmp(severity, "moderate") == 0)
		return "HM-VULN-003";
	if (strcasecmp(severity, "low") == 0 || strcasecmp(severity, "negligible") == 0 ||
	    strcasecmp(severity, "unimportant") == 0)
		return "HM-VULN-004";
	return "HM-VULN-001";
}

int hm_audit_check_vulns(struct actx *a)
{
	static const char D[] = "/var/lib/dpkg/status";
	const struct hm_entry *e = hm_audit_get(a, D);
	struct hm_packages pkgs = { 0 };
	struct hm_vulns vulns = { 0 };
	struct hm_error err = { 0 };
	size_t i;
	int r;

	if (!a->opt || !a->opt->osv_path)
		return 0;
	/* Without a package database nothing matches, but the feed is
	 * still read: a feed that cannot be is an error, never a pass.  A
	 * database that is there but cannot be read is a finding: a huge
	 * status file must not hide the vulnerable packages. */
	if (e && e->type != HM_TYPE_FILE) {
		r = hm_audit_not_a_file(a, "HM-VULN-005", e);
	} else {
		r = hm_packages_load(a->img, &pkgs, &err);
		if (r == HM_ERR_NOMEM)
			return hm_audit_nomem(a);
		if (r < 0 && e)
			r = hm_audit_finding(a, "HM-VULN-005", D, sizeof(D) - 1,
				    "cannot be audited: %s", err.msg);
		else if (r < 0)
			r = hm_audit_skipped(a, "packages not checked: %s", err.msg);
	}
	if (r < 0)
		goto out;
	for (i = 0; i < pkgs.n_skipped; i++)
		if ((r = hm_audit_skipped(a, "%s", pkgs.skipped[i])) < 0)
			goto out;
	if ((r = hm_osv_match(a->opt->osv_path, &pkgs, &vulns, a->err)) < 0)
		goto out;
	for (i = 0; i < vulns.n_skipped; i++)
		if ((r = hm_audit_skipped(a, "%s", vulns.skipped[i])) < 0)
			goto out;
	for (i = 0; i < vulns.n; i++) {
		const struct hm_vuln *v = &vulns.items[i];

		r = hm_audit_finding(a, vuln_rule(v->severity), D, sizeof(D) - 1,
			    "%s %s: %s%s%s%s%.200s", v->pkg->name, v->pkg->version,
			    v->id, v->fixed ? ", fixed in " : ", no fix yet",
			    v->fixed ? v->fixed : "", v->summary ? ": " : "",
			    v->summary ? v->summary : "");
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	hm_vulns_free(&vulns);
	hm_packages_free(&pkgs);
	return r;
}
