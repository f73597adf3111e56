/*
 * Prometheus text exposition (version 0.0.4) of a verify run: one gauge
 * family per figure, each with its # HELP and # TYPE lines, every series
 * labelled with the host, the target and the manifest name.  Label
 * values are escaped as the format says (\\, \" and \n); everything
 * else in a label is passed through, which the format allows (UTF-8 or
 * not, the parser takes bytes).
 */
#include <inttypes.h>
#include <stdio.h>

#include "hallmark/fsutil.h"
#include "hallmark/prometheus.h"

static void label_value(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void labels(FILE *out, const struct hm_prometheus_run *r,
		   const char *kind)
{
	fputs("{host=\"", out);
	label_value(out, r->host);
	fputs("\",target=\"", out);
	label_value(out, r->target);
	fputs("\",manifest=\"", out);
	label_value(out, r->manifest_name);
	fputc('"', out);
	if (kind)
		fprintf(out, ",kind=\"%s\"", kind);
	fputc('}', out);
}

static void family(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static int write_metrics(void *ctx, FILE *out, struct hm_error *err)
{
	const struct hm_prometheus_run *r = ctx;
	int k;

	(void)err;
	family(out, "hallmark_verify_result",
	       "Exit code of the last verify run: 0 pass, 1 drift, 2 error, 3 trust failure.");
	fputs("hallmark_verify_result", out);
	labels(out, r, NULL);
	fprintf(out, " %d\n", r->exit_code);
	family(out, "hallmark_verify_last_run_timestamp_seconds",
	       "When the last verify run finished, in seconds since the epoch.");
	fputs("hallmark_verify_last_run_timestamp_seconds", out);
	labels(out, r, NULL);
	fprintf(out, " %lld\n", (long long)r->finished);
	family(out, "hallmark_verify_duration_seconds",
	       "How long the last verify run took.");
	fputs("hallmark_verify_duration_seconds", out);
	labels(out, r, NULL);
	fprintf(out, " %.3f\n", r->duration);
	if (r->have_serial) {
		family(out, "hallmark_verify_manifest_serial",
		       "Serial of the signed manifest the last run checked.");
		fputs("hallmark_verify_manifest_serial", out);
		labels(out, r, NULL);
		fprintf(out, " %" PRIu64 "\n", r->serial);
	}
	if (r->stats) {
		family(out, "hallmark_verify_findings",
		       "Findings of the last verify run, by kind (docs/report-format.md).");
		for (k = 0; k < HM_FINDING__COUNT; k++) {
			fputs("hallmark_verify_findings", out);
			labels(out, r, hm_finding_kind_name((enum hm_finding_kind)k));
			fprintf(out, " %" PRIu64 "\n", r->stats->findings[k]);
		}
		family(out, "hallmark_verify_entries",
		       "Manifest entries the last verify run compared.");
		fputs("hallmark_verify_entries", out);
		labels(out, r, NULL);
		fprintf(out, " %" PRIu64 "\n", (uint64_t)r->stats->expected);
	}
	return 0;
}

int hm_prometheus_write(const char *path, const struct hm_prometheus_run *r,
			struct hm_error *err)
{
	return hm_write_output(path, write_metrics, (void *)r, err);
}
