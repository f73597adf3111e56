/*
 * disk/: VM disk images through libguestfs, the only code that speaks it.
 * What the rest of hallmark sees of it: the disk: target row (for the
 * target table of a program that links disk/, i.e. hallmark), and the
 * disk writer (for the builder).  disk/ includes lib/ headers only;
 * hallmark-verify links none of it.
 */
#ifndef HALLMARK_DISK_H
#define HALLMARK_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hallmark/error.h"
#include "hallmark/progress.h"
#include "hallmark/source.h"
#include "hallmark/target.h"
#include "hallmark/tree.h"

/* ---- the disk: target (source_disk.c) ---------------------------------- */

/*
 * spec: "FILE[,format=raw|qcow2]".  Without format=, a name ending in
 * ".qcow2" means qcow2 and anything else raw: the format is never probed
 * from the file's own bytes.  The header is checked first (disk_header.h:
 * a qcow2 naming another host file is refused, HM_ERR_INPUT).  The image
 * is opened read-only; every filesystem of the operating system found on
 * it is mounted read-only inside the appliance and streamed out as tar
 * into the tar source (hm_source_tar_open), so entries are what a tar:
 * target of the same tree gives.  Errors: HM_ERR_USAGE for a bad spec,
 * HM_ERR_INPUT for an image that is not a disk of the format, is
 * truncated, has no filesystem, several candidate roots, or a filesystem
 * that does not mount; HM_ERR_IO when the appliance cannot start (the
 * message says what libguestfs needs).
 */
int hm_disk_source_open(const char *spec, const struct hm_scan_options *opt,
			struct hm_source **ret, struct hm_error *err);

/* Its row, for a program's target table (hallmark.c). */
extern const struct hm_target hm_target_disk;

/* ---- the disk writer (writer.c) ---------------------------------------- */

/*
 * The geometry every disk gets, pinned so that it depends neither on the
 * disk's size class nor on the appliance's mke2fs.conf; the builder
 * checks a tree against it before anything starts (hm_disk_check).
 */
#define HM_DISK_SECTOR            512u
#define HM_DISK_PART_START_SECTOR 2048     /* 1 MiB, as every tool aligns */
#define HM_DISK_GPT_BACKUP_SECTORS 34u     /* GPT's backup table at the end */
#define HM_DISK_BLOCK             4096u    /* ext4 block */
#define HM_DISK_INODE_SIZE        256u
#define HM_DISK_BYTES_PER_INODE   16384u
#define HM_DISK_RESERVED_INODES   11u      /* ext4's first (root 2, lost+found 11) */

/* Every identity of a disk, derived from the template's digest so that
 * two builds of one template name the same file system. */
struct hm_disk_ids {
	char fs_uuid[37];             /* RFC 4122 form, lowercase */
	char hash_seed[37];           /* ext4 directory hash seed */
	char disk_guid[37];           /* GPT disk GUID */
	char part_guid[37];           /* GPT partition GUID */
	unsigned char mbr_signature[4];   /* MBR disk signature, bytes 440..443 */
};

struct hm_disk_write_job {
	uint64_t size;                /* bytes of the disk */
	bool gpt;                     /* GPT, else MBR */
	const char *label;            /* the ext4 label */
	const struct hm_disk_ids *ids;
	const char *content_tar;      /* the tree, as hm_emit_tar wrote it */
	const char *raw_path;         /* output raw disk, or NULL */
	const char *qcow2_path;       /* output qcow2 disk, or NULL */
	/* Without a raw output, the disk is made here and copied into the
	 * qcow2 (then removed), so the qcow2's cluster layout follows the
	 * disk's bytes and not the order the kernel wrote them in. */
	const char *scratch_raw;
	time_t mtime;                 /* mkfs times (E2FSPROGS_FAKE_TIME) */
	/* The current step's detail and bytes (libguestfs's progress
	 * events), and the appliance's messages; NULL: none. */
	struct hm_progress *progress;
};

/* The finer steps of hm_disk_write, in the order they run. */
enum hm_disk_step {
	HM_DISK_STEP_MKFS,            /* host: mke2fs */
	HM_DISK_STEP_UNPACK,          /* host: the tar into files and requests */
	HM_DISK_STEP_POPULATE,        /* host: debugfs copies the tree in */
	HM_DISK_STEP_LAUNCH,
	HM_DISK_STEP_PARTITION,
	HM_DISK_STEP_CHECK,           /* free space, xattrs read back */
	HM_DISK_STEP_EXTLINUX,
	HM_DISK_STEP_READ_BACK,
	HM_DISK_STEP_UMOUNT,
	HM_DISK_STEP_SHUTDOWN,
	HM_DISK_STEP_PIN_BITMAPS,     /* host, from here on */
	HM_DISK_STEP_PIN_SEND,
	HM_DISK_STEP_PIN_DEBUGFS,
	HM_DISK_STEP_PIN_FSCK,
	HM_DISK_STEP_QCOW2,
	HM_DISK_STEP_DIGEST,
	HM_DISK_STEP__COUNT
};

/* "populate", "pin_fsck", ...: a JSON key. */
const char *hm_disk_step_name(enum hm_disk_step s);

struct hm_disk_result {
	unsigned char raw_sha256[32], qcow2_sha256[32];
	uint64_t raw_bytes, qcow2_bytes;   /* file sizes */
	/* Where the time goes, in ms: the appliance's launch; partitioning,
	 * mke2fs and the copy of the tree; extlinux and the read-back; the
	 * pinning of times and journal; the copy into the qcow2 and the
	 * shutdown (which flushes). */
	uint64_t launch_ms, copy_ms, boot_ms, pin_ms, finish_ms;
	/* The same, finer (hm_disk_step_name names each): what bench/disk.sh
	 * tabulates from build.json's disk.fine_ms. */
	uint64_t fine_ms[HM_DISK_STEP__COUNT];
	/* On failure: the appliance stopped answering and was stopped. */
	bool hung;
};

/*
 * Write the disk(s) of job in one appliance launch: the partition table,
 * ext4, the tree unpacked from content_tar (xattrs kept, checked), the
 * boot loader, the metadata pinned for reproducibility; and add what
 * extlinux and mke2fs put on the file system to disk_tree.  Errors:
 * HM_ERR_IO with libguestfs' message ("cannot start the libguestfs
 * appliance: ... (it needs ...)"), HM_ERR_INPUT when the content does not
 * fit in the disk.  On failure the output files may exist (the caller's
 * staging removes them).
 */
int hm_disk_write(const struct hm_disk_write_job *job, struct hm_tree *disk_tree,
		  struct hm_disk_result *ret, struct hm_error *err);

/* A disk size as a template writes it: "64M", "2G". */
void hm_disk_size_name(uint64_t bytes, char *out, size_t len);

#endif
