/*
 * The "disk:" target: a VM disk image read offline through libguestfs.
 * Linked into hallmark only (never into hallmark-verify, which must not
 * pull libguestfs and qemu onto a server); hallmark's main registers it
 * with hm_source_register_disk().
 */
#ifndef HALLMARK_SOURCE_DISK_H
#define HALLMARK_SOURCE_DISK_H

#include "hallmark/error.h"
#include "hallmark/source.h"

/*
 * spec: "FILE[,format=raw|qcow2]".  Without format=, a name ending in
 * ".qcow2" means qcow2 and anything else raw: the format is never probed
 * from the file's own bytes.  A qcow2 image with a backing file or an
 * external data file is refused (HM_ERR_INPUT).  The image is opened
 * read-only; every filesystem of the operating system found on it is
 * mounted read-only inside the appliance and streamed out as tar into
 * the tar source (hm_source_tar_open), so entries are what a tar: target
 * of the same tree gives.  Errors: HM_ERR_USAGE for a bad spec,
 * HM_ERR_INPUT for an image that is not a disk of the format, is
 * truncated, has no filesystem, several candidate roots, or a filesystem
 * that does not mount; HM_ERR_IO when the appliance cannot start (the
 * message says what libguestfs needs).
 */
int hm_source_disk_open(const char *spec, const struct hm_scan_options *opt,
			struct hm_source **ret, struct hm_error *err);

#endif
