/*
 * Watching a live tree against its manifest (`hallmark watch`): a
 * fanotify filesystem mark reports every change on the file system the
 * tree is on, the changed paths are collected for a short settle, then
 * checked against their manifest entries with the same compare, policy
 * and directory walk as verify, and only those paths are read.
 *
 * Nothing is trusted to the events alone: hm_watch_full_scan runs the
 * whole verify, and hm_watch_run runs one itself when the kernel's event
 * queue overflowed or more paths changed than HM_LIMIT_WATCH_PENDING.
 *
 * Like the rest of lib/, this never prints: findings and scans go to the
 * caller's callbacks.
 */
#ifndef HALLMARK_WATCH_H
#define HALLMARK_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hallmark/compare.h"
#include "hallmark/error.h"
#include "hallmark/policy.h"
#include "hallmark/source.h"

/* Who made a change, as the kernel reported it and /proc told us at the
 * moment the event was read.  Strings are printable (escaped). */
struct hm_watch_cause {
	pid_t pid;
	bool exited;          /* gone before we could look: only pid is known */
	uint32_t uid;
	const char *user;     /* the uid's name, or "?" */
	const char *exe;      /* /proc/PID/exe, escaped */
	const char *cmdline;  /* arguments, each escaped, joined by spaces */
	/* "pid N uid U (USER) exe PATH cmdline ARGS" or "pid N exited" */
	const char *text;
};

/* Why a full scan runs. */
enum hm_watch_scan_reason {
	HM_WATCH_SCAN_START,      /* "start" */
	HM_WATCH_SCAN_OVERFLOW,   /* "event queue overflowed" */
	HM_WATCH_SCAN_BURST,      /* "more than N paths changed at once" */
};
const char *hm_watch_scan_reason_text(enum hm_watch_scan_reason r);

struct hm_watch_callbacks {
	/* A full scan begins (the caller may print why). */
	int (*scan_begin)(void *ctx, enum hm_watch_scan_reason why,
			  struct hm_error *err);
	/* A finding: of a full scan (who NULL) or of a change (who set;
	 * f->detail then ends with who->text). */
	int (*finding)(void *ctx, const struct hm_finding *f,
		       const struct hm_watch_cause *who, struct hm_error *err);
	/* A full scan ended, or a batch of changes was checked (why < 0). */
	int (*checked)(void *ctx, int why, const struct hm_compare_stats *st,
		       struct hm_error *err);
	void *ctx;
};

struct hm_watch_options {
	unsigned threads;         /* hashing workers of the scans; 0: CPUs */
	unsigned settle_ms;       /* 0: HM_WATCH_SETTLE_MS */
	size_t max_pending;       /* 0: HM_LIMIT_WATCH_PENDING */
};

#define HM_WATCH_SETTLE_MS 150u

struct hm_watch;

/*
 * Start watching the directory root (its file system, with one
 * FAN_MARK_FILESYSTEM mark; changes elsewhere are ignored).  policy is
 * borrowed and must outlive the watch (NULL: strict).  Errors, each naming
 * what is missing: HM_ERR_USAGE without CAP_SYS_ADMIN (fanotify needs
 * it), on a kernel without FAN_REPORT_DFID_NAME or filesystem marks, or on
 * a file system that cannot report file handles; HM_ERR_IO otherwise.
 */
int hm_watch_new(const char *root, const struct hm_policy *policy,
		 const struct hm_watch_options *opt, struct hm_watch **ret,
		 struct hm_error *err);
void hm_watch_free(struct hm_watch *w);          /* accepts NULL */

/*
 * Take the manifest's entries (read to its end from src, copied) as what
 * the tree must match.  Entries must come in canonical order.
 */
int hm_watch_load_manifest(struct hm_watch *w, struct hm_source *src,
			   struct hm_error *err);
size_t hm_watch_manifest_entries(const struct hm_watch *w);

/* The whole verify of the tree against the manifest, now. */
int hm_watch_full_scan(struct hm_watch *w, enum hm_watch_scan_reason why,
		       const struct hm_watch_callbacks *cb,
		       struct hm_error *err);

/*
 * Read events and check what changed until stop_fd (e.g. a signalfd)
 * becomes readable; returns 0 then, or the first error (of a callback
 * too).  Full scans run from here when events were lost.
 */
int hm_watch_run(struct hm_watch *w, int stop_fd,
		 const struct hm_watch_callbacks *cb, struct hm_error *err);

#endif
