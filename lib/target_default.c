/*
 * The target table of a program that defines none (the unit tests, a
 * program built on libhallmark alone): the core's rows.  A program that
 * defines hm_program_targets itself (hallmark.c, verifier/targets.c)
 * links its own object first, so the linker never takes this member
 * from libhallmark.a; keep nothing else in this file.
 */
#include "hallmark/target.h"

const struct hm_target *const hm_program_targets[] = {
	HM_TARGETS_CORE, NULL,
};
