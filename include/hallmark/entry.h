/*
 * Entries: one file-system object of a tree, with everything hallmark
 * compares (no timestamps).  A tree is a stream of entries sorted by
 * hm_path_cmp(); every source yields one and the manifest is one.
 */
#ifndef HALLMARK_ENTRY_H
#define HALLMARK_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HM_SHA256_LEN 32

enum hm_type {
	HM_TYPE_NONE = 0,
	HM_TYPE_FILE,
	HM_TYPE_DIR,
	HM_TYPE_SYMLINK,
	HM_TYPE_CHAR,
	HM_TYPE_BLOCK,
	HM_TYPE_FIFO,
	HM_TYPE_SOCKET,
};

enum hm_entry_flags {
	HM_ENTRY_HAS_DIGEST = 1u << 0,  /* sha256 is valid (files only) */
	HM_ENTRY_UNREADABLE = 1u << 1,  /* could not be read; note says why */
	HM_ENTRY_CHANGED    = 1u << 2,  /* changed while it was hashed */
	HM_ENTRY_MOUNTPOINT = 1u << 3,  /* a mount point the walk did not cross */
	HM_ENTRY_IMPLICIT   = 1u << 4,  /* a parent a tree made up (not in the input) */
	HM_ENTRY_DELETED    = 1u << 5,  /* a tombstone: removed by origin (a whiteout) */
};

struct hm_xattr {
	char *name;              /* NUL-terminated, no NUL inside */
	unsigned char *value;
	size_t len;
};

struct hm_entry {
	char *path;              /* absolute, "/" for the root, NUL-terminated */
	size_t path_len;
	enum hm_type type;
	uint32_t mode;           /* permission bits incl. setuid/setgid/sticky (07777) */
	uint32_t uid, gid;
	uint64_t size;           /* files only */
	unsigned char sha256[HM_SHA256_LEN];
	unsigned flags;          /* enum hm_entry_flags */
	char *target;            /* symlinks only, NULL otherwise */
	size_t target_len;
	uint32_t rdev_major, rdev_minor;   /* char and block devices */
	struct hm_xattr *xattrs; /* sorted by name (strcmp) */
	size_t n_xattrs;
	char *note;              /* why it is unreadable / changed, or NULL */
	/* Where the entry comes from, for findings: e.g. the layer that
	 * added, changed or (tombstones) deleted it.  0 / NULL if unknown. */
	int origin;
	char *origin_name;              /* "layer 3 sha256:ab12cd34ef56" */
};

/* A zeroed entry; NULL on allocation failure.  Free with hm_entry_free(). */
struct hm_entry *hm_entry_new(void);
/* Accepts NULL. */
void hm_entry_free(struct hm_entry *e);
/* Free the members and zero the entry, for reuse. */
void hm_entry_clear(struct hm_entry *e);
/* Deep copy of src into dst (dst is cleared first).  0 or HM_ERR_NOMEM. */
int hm_entry_copy(struct hm_entry *dst, const struct hm_entry *src);

/* Setters copy their input.  They return 0 or HM_ERR_NOMEM. */
int hm_entry_set_path(struct hm_entry *e, const char *path, size_t len);
int hm_entry_set_target(struct hm_entry *e, const char *target, size_t len);
int hm_entry_set_note(struct hm_entry *e, const char *note);
int hm_entry_add_xattr(struct hm_entry *e, const char *name,
		       const void *value, size_t len);
/* Sort xattrs by name; returns HM_ERR_INPUT if a name is duplicated. */
int hm_entry_sort_xattrs(struct hm_entry *e);
const struct hm_xattr *hm_entry_find_xattr(const struct hm_entry *e,
					   const char *name);

/*
 * Canonical order: component-wise bytewise.  Equivalent to comparing the
 * byte strings with '/' ranked below every other byte, so "/a/b" < "/a-b"
 * and a parent sorts immediately before its subtree.
 */
int hm_path_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* True if path lies strictly below dir ("/" contains everything else). */
bool hm_path_is_below(const char *path, size_t len, const char *dir,
		      size_t dlen);

const char *hm_type_name(enum hm_type t);   /* "file", "dir", ... */
/* Parse a type name of len bytes; HM_TYPE_NONE if unknown. */
enum hm_type hm_type_from_name(const char *s, size_t len);

/* The entry type of an st_mode value, HM_TYPE_NONE if unknown. */
enum hm_type hm_type_from_st_mode(unsigned st_mode);

#endif
