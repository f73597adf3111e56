/*
 * The targets hallmark-verify reads: the core's.  It links no libguestfs
 * (installing it must not pull qemu onto a server), so its disk: row
 * only says so.  Linked into hallmark-verify alone: hallmark has its own
 * table (hallmark.c).
 */
#include "hallmark/target.h"

static const struct hm_target no_disk = {
	.prefix = "disk:", .syntax = "disk:FILE[,format=raw|qcow2]",
	.summary = "a VM disk image: not read by hallmark-verify, read by 'hallmark verify'",
	.absent = "this program does not read disk images",
	.absent_hint = "use 'hallmark verify', which links libguestfs",
};

const struct hm_target *const hm_program_targets[] = {
	HM_TARGETS_CORE, &no_disk, NULL,
};
