/*
 * Hardening fixes: for some audit rules, the change to a tree that makes
 * the rule pass.  A template's `harden:` section names the rules whose
 * fixes the build applies (after its other operations, before the audit
 * gate).  docs/audit-rules.md says which rules have a fix and what it does.
 */
#ifndef HALLMARK_HARDEN_H
#define HALLMARK_HARDEN_H

#include <stdbool.h>
#include <stdint.h>

#include "blobstore.h"
#include "hallmark/error.h"
#include "hallmark/tree.h"

/* Does rule id have a fix? */
bool hm_harden_supported(const char *id);

/* Apply the fix of each rule in ids, in order.  *ret_changed counts the
 * entries added, changed or removed. */
int hm_harden_apply(struct hm_tree *tree, struct hm_blobstore *store,
		    char *const *ids, size_t n, uint64_t *ret_changed,
		    struct hm_error *err);

#endif
