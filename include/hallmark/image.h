/*
 * An image to audit: the tree of a target (metadata of every entry) plus
 * access to the contents of its regular files, whatever the target is: a
 * live directory (files are opened below the root, component by component
 * with O_NOFOLLOW, at audit time), an archive (tar, OCI: contents of the
 * files audits read are captured while the archive streams past, within
 * named limits), or the builder's final tree (contents from its blob
 * store, through a callback).
 */
#ifndef HALLMARK_IMAGE_H
#define HALLMARK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hallmark/error.h"
#include "hallmark/tree.h"

/* Contents kept of one captured file, and of all of them. */
#define HM_LIMIT_AUDIT_FILE_BYTES   (1u * 1024 * 1024)
#define HM_LIMIT_AUDIT_TOTAL_BYTES  (512u * 1024 * 1024)
/* /var/lib/dpkg/status, which grows with the packages installed. */
#define HM_LIMIT_AUDIT_STATUS_BYTES (64u * 1024 * 1024)
/*
 * The files audit rules rest on (/etc/passwd, /etc/shadow, /etc/group,
 * sshd_config, login.defs, machine-id, sysctl.conf, the dpkg status) are
 * not charged to the total, nor are the first this many files in
 * /etc/ssh/sshd_config.d and the sysctl.d folders: at most 7 MiB +
 * HM_LIMIT_AUDIT_STATUS_BYTES + 128 MiB on top of the total.
 */
#define HM_LIMIT_AUDIT_RULE_DIR_FILES 128u

struct hm_image;

/*
 * Open a TARGET (hallmark/target.h: the running program's table).
 * Regular files whose path matches one of the capture globs
 * (NULL-terminated) and whose size is at most HM_LIMIT_AUDIT_FILE_BYTES
 * (HM_LIMIT_AUDIT_STATUS_BYTES for /var/lib/dpkg/status) are readable
 * afterwards through hm_image_read (for dir: targets every file is).
 */
int hm_image_open(const char *target, const char *const *capture,
		  struct hm_image **ret, struct hm_error *err);

/* The same, with the total a test can lower (0: the default). */
struct hm_image_options {
	const char *const *capture;     /* NULL-terminated globs */
	uint64_t total_bytes;           /* 0: HM_LIMIT_AUDIT_TOTAL_BYTES */
};
int hm_image_open_opt(const char *target, const struct hm_image_options *opt,
		      struct hm_image **ret, struct hm_error *err);

/* A builder's tree: read(ctx, entry, max, ...) returns the contents. */
typedef int (*hm_image_read_fn)(void *ctx, const struct hm_entry *e,
				size_t max, char **ret, size_t *ret_len,
				struct hm_error *err);
int hm_image_from_tree(const struct hm_tree *tree, hm_image_read_fn read,
		       void *ctx, struct hm_image **ret, struct hm_error *err);

void hm_image_free(struct hm_image *img);     /* accepts NULL */

/* The tree (borrowed).  Tombstones, if any, are to be skipped. */
const struct hm_tree *hm_image_tree(const struct hm_image *img);
/* The target as given, for reports. */
const char *hm_image_name(const struct hm_image *img);

/*
 * Contents of the regular file at path: at most max bytes (a larger file
 * is HM_ERR_LIMIT, so callers can say it was skipped), NUL-terminated,
 * free() it.  HM_ERR_INPUT if there is no such regular file or its
 * contents were not captured ("'/x' was not captured").
 */
int hm_image_read(const struct hm_image *img, const char *path, size_t max,
		  char **ret, size_t *ret_len, struct hm_error *err);
/* The same for a file below a live folder root, without scanning it:
 * opened component by component with O_NOFOLLOW, as dir: audits do. */
int hm_image_read_beneath(const char *root, const char *path, size_t max,
			  char **ret, size_t *ret_len, struct hm_error *err);

#endif
