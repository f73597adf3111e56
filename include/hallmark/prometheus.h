/*
 * The metrics of one verify run in the Prometheus text format, for
 * node_exporter's textfile collector (docs/report-format.md).  The file
 * is replaced atomically: the collector never reads half of it.
 */
#ifndef HALLMARK_PROMETHEUS_H
#define HALLMARK_PROMETHEUS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hallmark/compare.h"
#include "hallmark/error.h"

struct hm_prometheus_run {
	const char *host;                  /* label; NULL: "" */
	const char *target;                /* label */
	const char *manifest_name;         /* label; NULL before it is known */
	bool have_serial;
	uint64_t serial;
	int exit_code;                     /* 0 pass, 1 drift, 2 error, 3 trust */
	const struct hm_compare_stats *stats;  /* NULL if nothing was compared */
	time_t finished;
	double duration;                   /* seconds */
};

/* Write the metrics of r to path atomically (mode 0644).  HM_ERR_IO. */
int hm_prometheus_write(const char *path, const struct hm_prometheus_run *r,
			struct hm_error *err);

#endif
