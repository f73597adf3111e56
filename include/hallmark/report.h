/*
 * Reports of a verification: text (for people), JSON (stable, documented
 * in docs/report-format.md), JUnit XML and SARIF 2.1.0 (for CI servers).
 *
 * A report is written in memory that does not grow with the number of
 * findings: they are read one at a time from a spool (or a list), in the
 * order compare found them, which keeps the findings of one path together.
 */
#ifndef HALLMARK_REPORT_H
#define HALLMARK_REPORT_H

#include <stdint.h>
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

/*
 * Findings kept in an unlinked temporary file instead of memory, for runs
 * with more findings than fit (lib/finding.c).  The first MiB of them
 * stays in memory, so a run with few findings writes no file.  The file
 * is gone when the spool is freed or the process dies.
 */
struct hm_finding_spool;

/* A spool whose file, if needed, goes in dir (NULL: $TMPDIR, else /tmp). */
int hm_finding_spool_new(const char *dir, struct hm_finding_spool **ret,
			 struct hm_error *err);
/* hm_finding_fn that appends a copy of f to the spool given as ctx.
 * Errors: HM_ERR_IO naming the folder (no temporary file, disk full). */
int hm_finding_spool_add(void *spool, const struct hm_finding *f,
			 struct hm_error *err);
uint64_t hm_finding_spool_count(const struct hm_finding_spool *s);
/*
 * Call fn for each finding in the order added; the finding lives until
 * fn returns.  fn returns <0 to stop with that error, >0 to stop early
 * (then 0 is returned).  Adding after a pass is allowed.
 */
int hm_finding_spool_each(struct hm_finding_spool *s, hm_finding_fn fn,
			  void *ctx, struct hm_error *err);
void hm_finding_spool_free(struct hm_finding_spool *s);   /* accepts NULL */

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
	const struct hm_findings *findings; /* the findings: this list, */
	struct hm_finding_spool *spool;     /* or, if set, this spool */
};

/*
 * Each finding of r (its spool's, else its list's, else none), in order;
 * fn as for hm_finding_spool_each.  For the history, which records them.
 */
int hm_report_each_finding(const struct hm_report *r, hm_finding_fn fn,
			   void *ctx, struct hm_error *err);

/*
 * Write the report to out.  Errors: HM_ERR_IO on write failure (sys_errno
 * EPIPE when a reader closed the pipe), or reading the spool back;
 * HM_ERR_USAGE for a finding of no known kind.
 */
int hm_report_write(const struct hm_report *r, enum hm_report_format fmt,
		    FILE *out, struct hm_error *err);

#endif
