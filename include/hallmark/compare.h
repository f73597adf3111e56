/*
 * Compare: a merge join of two sorted entry streams (expected: the
 * manifest; actual: the target) under a policy, producing findings.
 */
#ifndef HALLMARK_COMPARE_H
#define HALLMARK_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hallmark/entry.h"
#include "hallmark/error.h"
#include "hallmark/policy.h"
#include "hallmark/source.h"

/* Kinds of finding; the names (hm_finding_kind_name) are stable ids used
 * in every report format. */
enum hm_finding_kind {
	HM_FINDING_MISSING,      /* "missing": in the manifest, not in the target */
	HM_FINDING_ADDED,        /* "added": in the target, not allowed by may_add */
	HM_FINDING_TYPE,         /* "type" */
	HM_FINDING_CONTENT,      /* "content": sha256 differs */
	HM_FINDING_SIZE,         /* "size" */
	HM_FINDING_MODE,         /* "mode" */
	HM_FINDING_UID,          /* "uid" */
	HM_FINDING_GID,          /* "gid" */
	HM_FINDING_TARGET,       /* "target": symlink target */
	HM_FINDING_RDEV,         /* "rdev": device numbers */
	HM_FINDING_XATTR,        /* "xattr": one finding per differing name */
	HM_FINDING_UNREADABLE,   /* "unreadable": could not be read or listed */
	HM_FINDING_CHANGED,      /* "changed-while-hashing" */
	HM_FINDING_MOUNTPOINT,   /* "mountpoint": not descended (one file system) */
	/* The running instance (runtime.h): path is what the finding is about. */
	HM_FINDING_EXE_UNKNOWN,  /* "exe-unknown": runs a file not in the manifest */
	HM_FINDING_EXE_CONTENT,  /* "exe-content": runs a file whose content differs */
	HM_FINDING_EXE_DELETED,  /* "exe-deleted": runs a deleted file */
	HM_FINDING_EXE_ANONYMOUS,/* "exe-anonymous": memfd or anonymous code */
	HM_FINDING_PROCESS_UNLISTED, /* "process-unlisted": not in `processes` */
	HM_FINDING_PROCESS_USER, /* "process-user": uid without an account */
	HM_FINDING_LISTENER_UNDECLARED, /* "listener-undeclared" */
	HM_FINDING_LISTENER_ABSENT,     /* "listener-absent" */
	HM_FINDING_MODULE_UNKNOWN,      /* "module-unknown" */
	HM_FINDING_KERNEL_TAINTED,      /* "kernel-tainted" */
	HM_FINDING_SYSCTL,              /* "sysctl": effective value differs */
	HM_FINDING_MOUNT_OPTIONS,       /* "mount-options": declared options do not hold */
	HM_FINDING_MOUNT_UNDECLARED,    /* "mount-undeclared" */
	HM_FINDING_NOT_INSPECTED,       /* "not-inspected": could not be seen */
	HM_FINDING__COUNT
};

const char *hm_finding_kind_name(enum hm_finding_kind k);
/* One-line meaning of a kind, for report headers and SARIF rules. */
const char *hm_finding_kind_text(enum hm_finding_kind k);

struct hm_finding {
	enum hm_finding_kind kind;
	char *path;              /* raw bytes, NUL-terminated */
	size_t path_len;
	char *expected;          /* printable text (escaped), or NULL */
	char *actual;            /* printable text (escaped), or NULL */
	char *detail;            /* e.g. xattr name, layer, error text; or NULL */
};

/* Called once per finding, in path order; return <0 to stop (error). */
typedef int (*hm_finding_fn)(void *ctx, const struct hm_finding *f,
			     struct hm_error *err);

struct hm_compare_stats {
	uint64_t expected;       /* manifest entries read */
	uint64_t actual;         /* target entries read */
	uint64_t matched;        /* entries present in both and compared */
	uint64_t ignored;        /* entries skipped by ignore (either side) */
	uint64_t allowed_changes;/* content differences allowed by may_change */
	uint64_t allowed_adds;   /* additions allowed by may_add */
	uint64_t bytes_hashed;   /* sum of sizes of files compared by digest */
	uint64_t findings[HM_FINDING__COUNT];
	uint64_t total_findings;
	/* The target has /oci-layout and /index.json the manifest lacks: an
	 * OCI image layout read as a plain tree (tar:, dir:), not oci:. */
	bool oci_layout;
};

/*
 * Run the comparison.  Both sources must yield canonical order (an
 * out-of-order entry is an HM_ERR_INPUT error).  Returns 0 when done
 * (drift or not: see stats->total_findings) or a negative error.
 */
int hm_compare(struct hm_source *expected, struct hm_source *actual,
	       const struct hm_policy *policy, hm_finding_fn fn, void *ctx,
	       struct hm_compare_stats *stats, struct hm_error *err);

/* A growable list of findings (for reports).  hm_findings_add copies. */
struct hm_findings {
	struct hm_finding *items;
	size_t n, cap;
};
int hm_findings_add(struct hm_findings *l, const struct hm_finding *f,
		    struct hm_error *err);
/* hm_finding_fn that appends to the struct hm_findings given as ctx. */
int hm_findings_collect(void *ctx, const struct hm_finding *f,
			struct hm_error *err);
void hm_findings_free(struct hm_findings *l);

#endif
