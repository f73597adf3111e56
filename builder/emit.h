/*
 * Emitters: outputs written from the final tree and the blob store.  All
 * are deterministic: the same tree gives the same bytes (entries in
 * canonical order, numeric owners only, every timestamp = mtime, no host
 * names, user names or umask), and written atomically.
 */
#ifndef HALLMARK_EMIT_H
#define HALLMARK_EMIT_H

#include <stdint.h>
#include <time.h>

#include "../disk/disk.h"
#include "blobstore.h"
#include "hallmark/error.h"
#include "hallmark/tree.h"
#include "template.h"

/*
 * Rootfs tarball (pax format, xattrs as SCHILY.xattr, hard links not
 * used: each file is stored with its content), every mtime = mtime.
 * ret_sha256 gets the SHA-256 of the file written.
 */
int hm_emit_tar(const struct hm_tree *t, struct hm_blobstore *store,
		time_t mtime, const char *path, unsigned char ret_sha256[32],
		struct hm_error *err);

struct hm_oci_result {
	char manifest_digest[72];     /* "sha256:HEX" of the image manifest JSON: the image's identity */
	char config_digest[72];
	char layer_digest[72];        /* of the gzip-compressed layer */
	char diff_id[72];             /* of the uncompressed layer tar */
	char archive_sha256[72];      /* of the .oci.tar file itself */
	uint64_t layer_size;
};

/*
 * OCI image archive (oci-layout, index.json, blobs/sha256/...): one
 * layer (gzip or zstd, as comp says) made from the rootfs tar at tar_path (which must be the one
 * hm_emit_tar wrote for the same tree), the config (architecture amd64,
 * os linux, created = mtime, config from the template, rootfs.diff_ids,
 * history), the image manifest, and index.json with the
 * org.opencontainers.image.ref.name annotation = ref.
 */
int hm_emit_oci(const char *tar_path, const struct hm_tpl_config *config,
		enum hm_pgzip_codec codec, const char *ref, time_t mtime, const char *path,
		struct hm_oci_result *ret, struct hm_error *err);

/*
 * VM disks (outputs raw and qcow2), written through libguestfs only
 * (the appliance writer, disk/writer.c; the disk tree is prepared in
 * builder/emit_disk.c): one partition (MBR or GPT) marked bootable,
 * ext4, the disk tree unpacked into it with its xattrs, extlinux on
 * /boot/extlinux and syslinux's MBR code in the first 440 bytes.
 *
 * The disk tree is the final tree with nothing removed (vm_only paths
 * included) plus what only a VM needs: /etc/fstab naming the root by
 * UUID and /boot/extlinux/extlinux.conf (hm_disk_prepare_tree), then
 * the files extlinux writes and /lost+found, read back from the disk
 * (hm_emit_disk), so that the disk manifest describes the disk exactly.
 */

void hm_disk_ids_derive(const char *template_sha256_hex,
			struct hm_disk_ids *ret);

/*
 * Can this final tree become the disk d describes?  The kernel and the
 * initrd must be files in it (directly or through symlinks that stay in
 * the image), and its content must fit in d->size with ext4's journal
 * and inode tables.  HM_ERR_INPUT naming what is missing, e.g. "disk
 * kernel '/vmlinuz' is not in the image: add linux-image-amd64 to the
 * base packages".  Runs before anything is written.
 */
int hm_disk_check(const struct hm_tree *t, const struct hm_tpl_disk *d,
		  struct hm_error *err);

/* A deep copy of t (tombstones left out).  The caller frees *ret. */
int hm_disk_tree_dup(const struct hm_tree *t, struct hm_tree **ret,
		     struct hm_error *err);

/*
 * Add /etc/fstab (replacing the base's) and /boot/extlinux/extlinux.conf
 * to the disk tree t, their contents into the store.  /boot and
 * /boot/extlinux are made (0755 0:0) if missing.
 */
int hm_disk_prepare_tree(struct hm_tree *t, struct hm_blobstore *store,
			 const struct hm_tpl_disk *d,
			 const struct hm_disk_ids *ids, struct hm_error *err);

struct hm_disk_job {
	const struct hm_tpl_disk *disk;
	const struct hm_disk_ids *ids;
	const char *content_tar;      /* hm_emit_tar of the prepared disk tree */
	const char *raw_path;         /* output raw disk, or NULL */
	const char *qcow2_path;       /* output qcow2 disk, or NULL */
	/* Without a raw output, the disk is made here and copied into the
	 * qcow2 (then removed), so the qcow2's cluster layout follows the
	 * disk's bytes and not the order the kernel wrote them in. */
	const char *scratch_raw;
	time_t mtime;                 /* mkfs times (E2FSPROGS_FAKE_TIME) */
	struct hm_progress *progress; /* NULL: none */
};

/*
 * Write the disk(s) of job (hm_disk_write, disk/disk.h) and add what extlinux and mke2fs put on the
 * file system to disk_tree.  Errors: HM_ERR_IO with libguestfs' message
 * ("cannot start the libguestfs appliance: ... (it needs ...)"), and
 * HM_ERR_INPUT when the content does not fit in the disk.  On failure
 * the output files may exist (the caller's staging removes them).
 */
int hm_emit_disk(const struct hm_disk_job *job, struct hm_tree *disk_tree,
		 struct hm_disk_result *ret, struct hm_error *err);

#endif
