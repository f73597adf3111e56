/*
 * Targets: what the CLI's TARGET names ("dir:PATH", "tar:FILE", "oci:FILE",
 * "oci-dir:PATH", "disk:FILE", ...) and how each is opened as a source.
 *
 * One row per kind of target; a program's table lists the rows it reads.
 * The core rows live here; a row whose reader needs more than the core
 * (disk:, through libguestfs) lives with that reader, and only a program
 * that links the reader puts it in its table.  So there is no hook to
 * register at start-up: what a program reads is fixed when it is linked.
 * Adding a target = its source file with its row, one line in
 * HM_TARGETS_CORE (or, for a target that needs more than the core, in
 * the table of each program that links it), its tests and its lines in
 * docs/cli.md.
 */
#ifndef HALLMARK_TARGET_H
#define HALLMARK_TARGET_H

#include <stdbool.h>

#include "hallmark/error.h"
#include "hallmark/source.h"

/* Open the part of a TARGET after its prefix ("img.qcow2,format=qcow2"). */
typedef int (*hm_target_open_fn)(const char *spec,
				 const struct hm_scan_options *opt,
				 struct hm_source **ret, struct hm_error *err);

struct hm_target {
	const char *prefix;        /* "oci-dir:" */
	const char *syntax;        /* "oci-dir:PATH", as usage and docs spell it */
	const char *summary;       /* one line for usage and docs/cli.md */
	hm_target_open_fn open;    /* NULL: this program does not read it */
	/* With open NULL: why not, then what to do instead (either may be
	 * NULL): "this program does not read disk images", "use ...". */
	const char *absent, *absent_hint;
	bool names_dir;            /* what follows the prefix is a folder */
	/* A live folder whose files stay readable after the scan, in place
	 * (audits read their contents then): dir: only. */
	bool live;
};

/* The core's rows: everything libhallmark reads by itself. */
extern const struct hm_target hm_target_dir;
extern const struct hm_target hm_target_tar;
extern const struct hm_target hm_target_oci;
extern const struct hm_target hm_target_oci_dir;
extern const struct hm_target hm_target_registry;   /* lib/source_registry.c */

/* The core's rows, in the order usage and docs list them: the start of
 * every program's table, so a new core target is added here once. */
#define HM_TARGETS_CORE \
	&hm_target_dir, &hm_target_tar, &hm_target_oci, &hm_target_oci_dir, \
	&hm_target_registry

/*
 * The running program's table: a NULL-terminated list of rows.  Each
 * program defines its own (hallmark.c, verifier/targets.c); libhallmark's
 * default (the core rows) is used by a program that defines none, such
 * as the unit tests.  hm_source_open_target() and hm_image_open() read
 * targets through it.
 */
extern const struct hm_target *const hm_program_targets[];

/*
 * Which row of table names target, and what follows its prefix.  A bare
 * path to an existing folder is the dir: row with the path as spec.
 * Unknown: HM_ERR_USAGE "cannot tell the kind of target 'X': use dir:,
 * tar:, ... or disk:" (the table's prefixes).  *ret_row and *ret_spec
 * (borrowed from target) are set on success only.
 */
int hm_target_parse(const struct hm_target *const *table, const char *target,
		    const struct hm_target **ret_row, const char **ret_spec,
		    struct hm_error *err);

/*
 * Parse target against table and open it.  A row the program does not
 * read gives HM_ERR_USAGE "ABSENT ('disk:x'): HINT".
 */
int hm_target_open(const struct hm_target *const *table, const char *target,
		   const struct hm_scan_options *opt, struct hm_source **ret,
		   struct hm_error *err);

/* The same, for a target hm_target_parse() already split into row and spec. */
int hm_target_open_row(const struct hm_target *row, const char *target,
		       const char *spec, const struct hm_scan_options *opt,
		       struct hm_source **ret, struct hm_error *err);

#endif
