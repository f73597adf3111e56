/*
 * A disk image's header, checked on the host before anything reads it.
 *
 * The appliance mounts a guest's filesystems, so a hostile filesystem
 * only meets the appliance's kernel; but the image *format* is parsed on
 * the host, by qemu-img and qemu, and a qcow2 header can name other host
 * files (a backing file, an external data file) that qemu would open and
 * read into the guest's disk.  These checks refuse such headers, and the
 * truncated or corrupt tables that would fail later and less clearly.
 */
#ifndef HALLMARK_DISK_HEADER_H
#define HALLMARK_DISK_HEADER_H

#include <stdint.h>

#include "hallmark/error.h"

/* Every disk is a whole number of these. */
#define HM_DISK_SECTOR 512u

/*
 * Check the image open on fd (size bytes, named file in messages) as
 * FORMAT ("raw" or "qcow2", never probed from the bytes): not empty; a
 * raw image a whole number of sectors; a qcow2 image of version 2 or 3
 * with no backing file, no external data file, no incompatible feature
 * this check does not know, and its refcount, L1 and L2 tables inside the
 * file.  HM_ERR_INPUT naming the file (and the host file a header names,
 * escaped); HM_ERR_IO if fd cannot be read.  Reads with pread only.
 */
int hm_disk_header_check(int fd, const char *file, const char *format,
			 uint64_t size, struct hm_error *err);

/*
 * Open file once (O_NOFOLLOW: a symlink is refused; a FIFO cannot hang
 * the open) and check it through that descriptor: a regular file or a
 * block device, then hm_disk_header_check.  *ret_fd (O_CLOEXEC) is the
 * caller's on success.
 */
int hm_disk_image_open(const char *file, const char *format, int *ret_fd,
		       struct hm_error *err);

#endif
