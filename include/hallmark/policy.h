/*
 * Verification policy (docs/policy-format.md): which paths are not compared
 * at all, which may change content, and where new entries may appear.
 *
 *   ignore:     [ /proc/ **, /tmp/ ** ]      (written without the spaces;
 *   may_change: [/etc/machine-id]              a C comment cannot hold them)
 *   may_add:    [ /opt/app/ ** ]
 *
 * Globs match whole image paths: '*' any bytes within one component, '?'
 * one byte other than '/', '[...]' a byte class ('!' or '^' negates, ranges),
 * '**' as a whole component any number of components (including none),
 * '\' escapes the next byte.  Patterns are absolute, no empty, "." or ".."
 * components.
 */
#ifndef HALLMARK_POLICY_H
#define HALLMARK_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "hallmark/error.h"

/* Is pattern a valid glob?  On error, err says why (no position). */
int hm_glob_check(const char *pattern, size_t len, struct hm_error *err);
/* Match a checked pattern against a path (raw bytes). */
bool hm_glob_match(const char *pattern, const char *path, size_t len);

struct hm_policy;

/* An empty policy: everything strict. */
int hm_policy_new(struct hm_policy **ret, struct hm_error *err);
/* Load YAML; errors name FILE:LINE:COL.  Unknown keys, duplicate keys,
 * wrong types, anchors/aliases, bad globs are errors. */
int hm_policy_load(const char *path, struct hm_policy **ret,
		   struct hm_error *err);
/* Parse YAML held in memory; name is used in messages. */
int hm_policy_parse(const char *data, size_t len, const char *name,
		    struct hm_policy **ret, struct hm_error *err);
void hm_policy_free(struct hm_policy *p);     /* accepts NULL */

enum hm_policy_list { HM_POLICY_IGNORE, HM_POLICY_MAY_CHANGE, HM_POLICY_MAY_ADD };
/* Add a glob to a list (copies it). */
int hm_policy_add(struct hm_policy *p, enum hm_policy_list list,
		  const char *glob, struct hm_error *err);

/* Queries.  p may be NULL (strict).  Ignoring a path ignores nothing
 * below it unless a glob also matches those ("/tmp/" "**" does). */
bool hm_policy_ignored(const struct hm_policy *p, const char *path, size_t len);
bool hm_policy_may_change(const struct hm_policy *p, const char *path, size_t len);
bool hm_policy_may_add(const struct hm_policy *p, const char *path, size_t len);
/* True if every path strictly below dir is ignored (dir/x for any x),
 * so a scan need not descend: e.g. "/tmp/" "**" for dir "/tmp". */
bool hm_policy_ignores_below(const struct hm_policy *p, const char *dir, size_t len);
/* The same for may_add: every path strictly below dir may be added.  An
 * added directory is allowed when this holds, since what it holds is. */
bool hm_policy_may_add_below(const struct hm_policy *p, const char *dir, size_t len);

/*
 * Globs that match nothing are mistakes (a typo, a path of another image).
 * compare calls hm_policy_mark_manifest for each manifest path (one
 * thread; the marks are the only state a loaded policy changes);
 * hm_policy_each_unused then calls fn for each ignore or may_change glob
 * that matched none, with the policy's file name (or NULL) and the glob's
 * line (0 for hm_policy_add).  may_add globs are about paths the manifest
 * does not have, so they are never reported.
 */
void hm_policy_mark_manifest(const struct hm_policy *p, const char *path,
			     size_t len);
typedef void (*hm_policy_unused_fn)(void *ctx, const char *file,
				    unsigned long line, const char *list,
				    const char *glob);
void hm_policy_each_unused(const struct hm_policy *p, hm_policy_unused_fn fn,
			   void *ctx);
/* A source filter that skips ignored entries and ignored subtrees. */
struct hm_source_filter;
void hm_policy_source_filter(const struct hm_policy *p,
			     struct hm_source_filter *ret);

#endif
