/*
 * The one reader of audit exception lists (include/hallmark/audit_exceptions.h),
 * over the strict YAML reader of lib/yaml.c.  Templates (builder/template.c)
 * and site rules files (verifier/cmd_audit.c) both call it, so a rule
 * family such as "HM-SYS-*" means the same in both, and the build's audit
 * gate gets the struct the audit engine takes without a copy.
 */
#include <stdlib.h>
#include <string.h>

#include "hallmark/audit_exceptions.h"
#include "hallmark/limits.h"
#include "hallmark/policy.h"

void hm_audit_exceptions_free(struct hm_audit_exception_list *l)
{
	size_t i;

	if (!l)
		return;
	/* The items' fields are const for the engine; the list owns them. */
	for (i = 0; i < l->n; i++) {
		free((char *)l->items[i].rule_id);
		free((char *)l->items[i].path_glob);
		free((char *)l->items[i].reason);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* A string value of at most max bytes (0: no bound but the file's), copied. */
static int dup_value(const struct hm_yaml_doc *doc, const struct hm_yaml_node *n,
		     const char *what, size_t max, const char **ret,
		     struct hm_error *err)
{
	const char *s;
	char *copy;
	int r;

	if ((r = hm_yaml_string(doc, n, what, &s, err)) < 0)
		return r;
	if (max && n->len > max)
		return hm_yaml_error(err, HM_ERR_LIMIT, doc, n,
				     "%s is longer than %zu bytes", what, max);
	if (!(copy = strdup(s)))
		return hm_error_nomem(err);
	*ret = copy;
	return 0;
}

static int parse_one(const struct hm_yaml_doc *doc, const struct hm_yaml_node *x,
		     struct hm_audit_exception *e, struct hm_error *err)
{
	static const char *const keys[] = { "rule", "path", "reason", NULL };
	const struct hm_yaml_node *v;
	size_t len;
	int r;

	if (x->kind != HM_YAML_MAPPING)
		return hm_yaml_error(err, HM_ERR_INPUT, doc, x,
				     "an exception must be a mapping, not %s",
				     hm_yaml_what(x));
	if ((r = hm_yaml_check_keys(doc, x, "an exception", keys, err)) < 0)
		return r;
	if (!(v = hm_yaml_get(x, "rule")))
		return hm_yaml_error(err, HM_ERR_INPUT, doc, x,
				     "an exception needs 'rule'");
	if ((r = dup_value(doc, v, "'rule'", HM_LIMIT_AUDIT_RULE_BYTES,
			   &e->rule_id, err)) < 0)
		return r;
	len = strlen(e->rule_id);
	/* "HM-SYS-*" names a family (the engine matches the prefix);
	 * anything else must be a known rule. */
	if (!(len && e->rule_id[len - 1] == '*') && !hm_audit_rule_find(e->rule_id))
		return hm_yaml_error(err, HM_ERR_INPUT, doc, v,
				     "unknown rule '%s'", e->rule_id);
	if ((v = hm_yaml_get(x, "path"))) {
		struct hm_error gerr = { 0 };

		if ((r = dup_value(doc, v, "'path'", HM_LIMIT_GLOB_BYTES,
				   &e->path_glob, err)) < 0)
			return r;
		if (hm_glob_check(e->path_glob, strlen(e->path_glob), &gerr) < 0)
			return hm_yaml_error(err, gerr.code, doc, v, "'path': %s",
					     gerr.msg);
	}
	if (!(v = hm_yaml_get(x, "reason")))
		return hm_yaml_error(err, HM_ERR_INPUT, doc, x,
				     "an exception needs 'reason'");
	if ((r = dup_value(doc, v, "'reason'", HM_LIMIT_AUDIT_REASON_BYTES,
			   &e->reason, err)) < 0)
		return r;
	if (!*e->reason)
		return hm_yaml_error(err, HM_ERR_INPUT, doc, v,
				     "'reason' must not be empty");
	return 0;
}

int hm_audit_exceptions_parse(const struct hm_yaml_doc *doc,
			      const struct hm_yaml_node *list,
			      struct hm_audit_exception_list *ret,
			      struct hm_error *err)
{
	struct hm_audit_exception_list l = { NULL, 0 };
	size_t i;
	int r = 0;

	if (!list || hm_yaml_is_null(list))
		return 0;
	if (list->kind != HM_YAML_SEQUENCE)
		return hm_yaml_error(err, HM_ERR_INPUT, doc, list,
				     "'exceptions' must be a sequence, not %s",
				     hm_yaml_what(list));
	if (list->n > HM_LIMIT_AUDIT_EXCEPTIONS)
		return hm_yaml_error(err, HM_ERR_LIMIT, doc, list,
				     "more than %u exceptions", HM_LIMIT_AUDIT_EXCEPTIONS);
	if (list->n && !(l.items = calloc(list->n, sizeof(*l.items))))
		return hm_error_nomem(err);
	for (i = 0; i < list->n; i++) {
		/* Counted first: a half-read item is freed with the rest. */
		l.n++;
		if ((r = parse_one(doc, list->items[i], &l.items[i], err)) < 0)
			goto out;
	}
	*ret = l;
	l = (struct hm_audit_exception_list){ NULL, 0 };
out:
	hm_audit_exceptions_free(&l);
	return r;
}
