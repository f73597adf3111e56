/*
 * Reports of a verification: text (for people), JSON (stable, documented
 * in docs/report-format.md), JUnit XML and SARIF 2.1.0 (for CI servers).
 */
#ifndef HALLMARK_REPORT_H
#define HALLMARK_REPORT_H

#include <stdio.h>
#include <time.h>

#include "hallmark/compare.h"
#include "hallmark/error.h"

enum hm_report_format {
	HM_REPORT_TEXT,
	HM_REPORT_JSON,
	HM_REPORT_JUNIT,
	HM_REPORT_SARIF,
};

/* Parse "text", "json", "junit", "sarif"; -1 if unknown. */
int hm_report_format_from_name(const char *s);

struct hm_report {
	const char *tool_version;
	const char *target;          /* as given on the command line */
	const char *host;            /* --host or NULL */
	const char *manifest_path;
	const char *manifest_name;
	unsigned long long serial;
	const char *manifest_sha256; /* hex of SHA-256 of the manifest file */
	const char *key_id;          /* signer's key id */
	const char *policy_path;     /* or NULL */
	time_t started, finished;
	int exit_code;               /* 0 pass, 1 drift (what the run returns) */
	const struct hm_compare_stats *stats;
	const struct hm_findings *findings;
};

/* Write the report to out.  Errors only on write failure (HM_ERR_IO). */
int hm_report_write(const struct hm_report *r, enum hm_report_format fmt,
		    FILE *out, struct hm_error *err);

#endif
