/*
 * Audit rules: checks that work on any image (a built tree, a container
 * image, a live host), each with an id, a severity, a rationale and a
 * reference (CIS Debian Linux 12 Benchmark section where one exists).
 * docs/audit-rules.md lists them all.
 */
#ifndef HALLMARK_AUDIT_H
#define HALLMARK_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "hallmark/error.h"
#include "hallmark/image.h"

enum hm_severity {
	HM_SEV_INFO = 0,
	HM_SEV_LOW,
	HM_SEV_MEDIUM,
	HM_SEV_HIGH,
	HM_SEV_CRITICAL,
};
const char *hm_severity_name(enum hm_severity s);     /* "info" ... "critical" */
int hm_severity_from_name(const char *s);              /* -1 if unknown */

struct hm_audit_rule {
	const char *id;          /* stable, e.g. "HM-ACCT-001" */
	const char *title;       /* one line */
	enum hm_severity severity;
	const char *rationale;
	const char *reference;   /* "CIS Debian 12 5.4.2.1", or NULL */
};

/* Every rule, in id order; n in *ret_n. */
const struct hm_audit_rule *hm_audit_rules(size_t *ret_n);
const struct hm_audit_rule *hm_audit_rule_find(const char *id);

struct hm_audit_finding {
	const struct hm_audit_rule *rule;
	char *path;              /* the file concerned (raw bytes), or NULL */
	size_t path_len;
	char *message;           /* printable; secrets already masked */
	bool excepted;           /* allowed by an exception (still reported) */
	char *exception_reason;
};

/* What an audit looked at and could not: "'/var/log/x': larger than 1 MiB,
 * not scanned", "/etc/shadow:3: malformed line".  Reported, never fatal. */
struct hm_audit_result {
	struct hm_audit_finding *findings;
	size_t n_findings, cap_findings;
	char **skipped;
	size_t n_skipped, cap_skipped;
};

/* Options: exceptions (rule id -> reason; path glob optional), the
 * accounts the template declared (others are "pre-configured"), an OSV
 * feed (optional), and site rules (optional, --rules FILE). */
struct hm_audit_exception {
	const char *rule_id;
	const char *path_glob;   /* NULL: every finding of the rule */
	const char *reason;      /* required */
};

struct hm_audit_options {
	const struct hm_audit_exception *exceptions;
	size_t n_exceptions;
	const char *const *declared_users;   /* NULL-terminated, or NULL */
	const char *osv_path;                /* NULL: no vulnerability check */
};

/* The capture globs audit rules need from archive targets. */
const char *const *hm_audit_capture_globs(void);

/* Run every rule over img.  Findings are appended to res. */
int hm_audit_run(const struct hm_image *img, const struct hm_audit_options *opt,
		 struct hm_audit_result *res, struct hm_error *err);
void hm_audit_result_free(struct hm_audit_result *res);

/* Does any finding not excepted reach fail_on?  (The gate.) */
bool hm_audit_fails(const struct hm_audit_result *res, enum hm_severity fail_on);

/*
 * The accounts other than root with uid 0 in the text of an /etc/passwd,
 * read as glibc reads it (as HM-ACCT-002 does): appended to names as
 * "'a', 'b'", their count in *ret_n.  Lines glibc rejects are not
 * accounts.  HM_ERR_NOMEM or 0.
 */
struct hm_buf;

/* Reports: text, json, sarif (the HM_REPORT_* values of report.h). */
int hm_audit_report_write(const struct hm_audit_result *res, const char *target,
			  enum hm_severity fail_on, int format, FILE *out,
			  struct hm_error *err);

#endif
