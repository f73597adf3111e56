/*
 * Audit results: severities, the gate, and freeing.  The rules are in
 * audit_rules.c, the reports in audit_report.c.
 */
#include <stdlib.h>
#include <string.h>

#include "hallmark/audit.h"

static const char *const severity_names[] = {
	[HM_SEV_INFO] = "info",
	[HM_SEV_LOW] = "low",
	[HM_SEV_MEDIUM] = "medium",
	[HM_SEV_HIGH] = "high",
	[HM_SEV_CRITICAL] = "critical",
};

const char *hm_severity_name(enum hm_severity s)
{
	if ((unsigned)s > HM_SEV_CRITICAL)
		return "unknown";
	return severity_names[s];
}

int hm_severity_from_name(const char *s)
{
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < sizeof(severity_names) / sizeof(severity_names[0]); i++)
		if (strcmp(s, severity_names[i]) == 0)
			return (int)i;
	return -1;
}

void hm_audit_result_free(struct hm_audit_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; i < res->n_findings; i++) {
		free(res->findings[i].path);
		free(res->findings[i].message);
		free(res->findings[i].exception_reason);
	}
	free(res->findings);
	for (i = 0; i < res->n_skipped; i++)
		free(res->skipped[i]);
	free(res->skipped);
	memset(res, 0, sizeof(*res));
}

bool hm_audit_fails(const struct hm_audit_result *res, enum hm_severity fail_on)
{
	size_t i;

	for (i = 0; i < res->n_findings; i++) {
		const struct hm_audit_finding *f = &res->findings[i];

		if (!f->excepted && f->rule && f->rule->severity >= fail_on)
			return true;
	}
	return false;
}
