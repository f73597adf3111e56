/*
 * Verify runs and their findings to syslog(3) (journald reads /dev/log):
 * one line per finding and one per run, each a JSON object with Elastic
 * Common Schema (ECS) field names (docs/report-format.md).  Only the
 * finding's kind and path are sent, never expected or actual values
 * (a changed file's content, a password hash) nor the details.
 */
#ifndef HALLMARK_SYSLOG_H
#define HALLMARK_SYSLOG_H

#include <stdint.h>
#include <time.h>

#include "hallmark/compare.h"
#include "hallmark/error.h"

struct hm_syslog_run {
	const char *host;              /* NULL: "" */
	const char *target;
	const char *manifest_name;     /* NULL before it is known */
	uint64_t serial;
	int exit_code;                 /* 0 pass, 1 drift, 2 error, 3 trust */
	const char *error;             /* the error message, or NULL */
	uint64_t findings;
	time_t started, finished;
	double duration;               /* seconds */
};

/* openlog("hallmark", LOG_PID, LOG_DAEMON) once; hm_syslog_close after. */
void hm_syslog_open(void);
void hm_syslog_close(void);
/* One finding (LOG_WARNING); run gives its host, manifest and target. */
int hm_syslog_finding(const struct hm_syslog_run *run,
		      const struct hm_finding *f, struct hm_error *err);
/* The run (LOG_INFO pass, LOG_WARNING drift, LOG_ERR error or trust). */
int hm_syslog_run(const struct hm_syslog_run *run, struct hm_error *err);

#endif
