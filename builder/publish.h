/*
 * Where a build writes its outputs, and how they appear at their final
 * names so that a reader sees the previous complete set or the new
 * complete set, never a mixture and never nothing.
 *
 * Layout in the output folder DIR, for a template named NAME:
 *
 *   DIR/.NAME.build-XXXXXX/        the staging folder while the build runs
 *   DIR/NAME.builds/ID/            each published build's outputs
 *   DIR/NAME.builds/current        symlink -> ID, the published set
 *   DIR/NAME.manifest              symlink -> NAME.builds/current/NAME.manifest
 *   DIR/NAME.raw, DIR/NAME.qcow2   regular files (hard links into ID)
 *
 * Publishing renames the finished staging folder to NAME.builds/ID, then
 * switches `current` with one rename(2) of a new symlink over the old:
 * every output reached through a stable symlink changes in that one step.
 * Disk images stay regular files at their final names (`verify disk:`
 * refuses symlinks on purpose), so they are renamed into place just
 * before the switch and put back if the switch fails.
 *
 * Each staging and build folder is flock()ed by the build that owns it
 * for that build's life; a build reclaims the folders of the output
 * folder whose lock it can take and that are not `current` (what killed
 * builds left), and never one a live build holds.
 */
#ifndef HALLMARK_BUILDER_PUBLISH_H
#define HALLMARK_BUILDER_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "hallmark/error.h"

struct hm_stage;

/* One kind of output: its suffix after NAME, whether this build made it,
 * and whether it stays a regular file at its final name (disk images). */
struct hm_stage_output {
	const char *suffix;
	bool made;
	bool regular;
};

/*
 * Reclaim the stale folders of out_dir, then make and lock a staging
 * folder for name there, removed on SIGINT/SIGTERM/SIGHUP and by
 * hm_stage_free() unless published.
 */
int hm_stage_open(const char *out_dir, const char *name,
		  struct hm_stage **ret, struct hm_error *err);
/* The staging folder (borrowed; valid until publish or free). */
const char *hm_stage_path(const struct hm_stage *s);

/*
 * Publish the outputs made (files named NAME+suffix in the staging
 * folder; every other file there must be gone).  outs lists every kind
 * the build can publish, so that a kind the new set lacks disappears
 * with the switch.  On error the previous set is still what the final
 * names show.
 */
int hm_stage_publish(struct hm_stage *s, const struct hm_stage_output *outs,
		     size_t n, struct hm_error *err);

/* Remove the staging folder unless published; release the lock. */
void hm_stage_free(struct hm_stage *s);

/* Remove out_dir's stale staging and build folders (no live owner, not
 * current).  Best effort; returns how many were removed. */
int hm_stage_reclaim(const char *out_dir);

#endif
