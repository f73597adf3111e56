/*
 * Audit exception lists, as a template's `audit.exceptions` and a site
 * rules file's `exceptions` write them (docs/audit-rules.md):
 *
 *   - rule: HM-SSH-004          a rule id, or a family ending in '*'
 *     path: /etc/ssh/ssh_host_* optional glob over the finding's path
 *     reason: ...               required, not empty
 *
 * One reader for both, so that a template and `hallmark audit --rules`
 * accept exactly the same lists, producing what hm_audit_run() takes.
 */
#ifndef HALLMARK_AUDIT_EXCEPTIONS_H
#define HALLMARK_AUDIT_EXCEPTIONS_H

#include <stddef.h>

#include "hallmark/audit.h"
#include "hallmark/error.h"
#include "hallmark/yaml.h"

/* The list owns the strings its items point to. */
struct hm_audit_exception_list {
	struct hm_audit_exception *items;
	size_t n;
};

/*
 * Read the exception list at node list of doc (a sequence; NULL or null
 * is the empty list).  Errors are HM_ERR_INPUT "FILE:LINE:COL: what"
 * (not a sequence, unknown keys, no rule, an unknown rule id, a bad path
 * glob, no or an empty reason) and HM_ERR_LIMIT (more than
 * HM_LIMIT_AUDIT_EXCEPTIONS items, a rule or reason too long).  On
 * success *ret (zeroed first by the caller) holds the list; the caller
 * frees it with hm_audit_exceptions_free().  On error *ret is untouched.
 */
int hm_audit_exceptions_parse(const struct hm_yaml_doc *doc,
			      const struct hm_yaml_node *list,
			      struct hm_audit_exception_list *ret,
			      struct hm_error *err);
/* Frees the items and their strings; accepts an empty list. */
void hm_audit_exceptions_free(struct hm_audit_exception_list *l);

#endif
