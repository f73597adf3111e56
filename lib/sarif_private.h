/*
 * The SARIF 2.1.0 skeleton shared by the verify and audit reports
 * (lib/report.c, lib/audit_report.c); internal to lib/.  One run, whose
 * tool.driver names hallmark and holds the rule table, one invocation,
 * the results streamed one at a time, and the run's properties:
 *
 *	hm_sarif_begin(j, version, rules, invocation);
 *	... hm_json_out_value(j, hm_sarif_result_new(...)) per result ...
 *	hm_sarif_end(j, properties);
 *	hm_json_out_finish(j);
 *
 * The json_t arguments are taken (NULL: an allocation failed, which the
 * writer reports as HM_ERR_NOMEM).
 */
#ifndef HALLMARK_SARIF_PRIVATE_H
#define HALLMARK_SARIF_PRIVATE_H

#include <jansson.h>
#include <stddef.h>

#include "hallmark/json_out.h"

/*
 * Open the document up to the results: $schema, version, runs[0].tool
 * (driver name "hallmark", version, rules) and runs[0].invocations
 * ([invocation]), then "results": [ left open.
 */
void hm_sarif_begin(struct hm_json_out *j, const char *version, json_t *rules,
		    json_t *invocation);
/* Close the results, write runs[0].properties, close the document. */
void hm_sarif_end(struct hm_json_out *j, json_t *properties);

/* {"text": s}, SARIF's message and description object; NULL if no memory. */
json_t *hm_sarif_text(const char *s);
json_t *hm_sarif_textn(const char *s, size_t len);

/*
 * A rule of the driver's table: id, name (omitted if NULL),
 * shortDescription, fullDescription and help (each omitted if NULL) and
 * defaultConfiguration.level.  The caller may add members (properties)
 * after these.  NULL if no memory.
 */
json_t *hm_sarif_rule_new(const char *id, const char *name,
			  const char *short_desc, const char *full_desc,
			  const char *help, const char *level);

/*
 * A result: ruleId, ruleIndex, level, message.text and, when path is
 * given, one location whose artifactLocation.uri is the raw path as a
 * URI reference (hm_buf_add_uri_path).  The caller may add members
 * (suppressions) after these.  NULL if no memory.
 */
json_t *hm_sarif_result_new(const char *rule_id, size_t rule_index,
			    const char *level, json_t *message,
			    const char *path, size_t path_len);

#endif
