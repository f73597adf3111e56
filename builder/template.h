/*
 * Build templates (docs/template-format.md): a declarative description of
 * a gold image.  There is no RUN step: every change to the base is one of
 * the operations below, applied in a fixed order, so a template says what
 * the image is, not how a shell got there.
 *
 * Order of application: base, remove, directories, files, symlinks,
 * groups, users, permissions, harden (the fixes of the named audit
 * rules); then the audit gate.
 */
#ifndef HALLMARK_TEMPLATE_H
#define HALLMARK_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hallmark/audit_exceptions.h"
#include "hallmark/error.h"
#include "hallmark/pgzip.h"
#include "hallmark/runtime_spec.h"

enum hm_base_kind { HM_BASE_DEBIAN = 1, HM_BASE_TARBALL, HM_BASE_OCI };

struct hm_tpl_base {
	enum hm_base_kind kind;
	/* debian: mmdebstrap inputs */
	char *suite;              /* e.g. "bookworm" */
	char *variant;            /* "minbase" (default), "essential", "apt", ... */
	char **packages;          /* sorted, unique */
	size_t n_packages;
	char *mirror;             /* NULL: mmdebstrap's default */
	/* tarball / oci: a file, resolved against the template's folder */
	char *path;
	char sha256[65];          /* optional pin of the file's SHA-256 ("" = none) */
};

struct hm_tpl_file {
	char *path;               /* canonical image path */
	char *content;            /* inline content, or NULL */
	size_t content_len;
	char *source;             /* a file resolved against the template's folder, or NULL */
	char *source_rel;         /* the same, relative to that folder and free of
				   * symlinks: what hm_template_open_source() opens */
	uint32_t mode, uid, gid;  /* defaults 0644, 0, 0 */
};

struct hm_tpl_dir {
	char *path;
	uint32_t mode, uid, gid;  /* defaults 0755, 0, 0 */
};

struct hm_tpl_symlink {
	char *path;
	char *target;
	uint32_t uid, gid;
};

/* A permission fix: every existing entry matching the glob gets mode,
 * and uid/gid when set. */
struct hm_tpl_perm {
	char *glob;
	uint32_t mode;
	bool has_uid, has_gid;
	uint32_t uid, gid;
};

struct hm_tpl_group {
	char *name;
	uint32_t gid;
};

struct hm_tpl_user {
	char *name;
	uint32_t uid, gid;        /* gid: the primary group, which must exist */
	char *home;               /* default /home/NAME */
	char *shell;              /* default /usr/sbin/nologin */
	char *gecos;              /* default "" */
	char **groups;            /* supplementary groups, by name */
	size_t n_groups;
	char **authorized_keys;   /* lines for HOME/.ssh/authorized_keys */
	size_t n_authorized_keys;
	bool create_home;         /* default true */
	/* Passwords are always locked ("!" in shadow): a template cannot
	 * carry a password or a hash. */
};

struct hm_tpl_config {         /* OCI image config */
	char **entrypoint; size_t n_entrypoint;
	char **cmd; size_t n_cmd;
	char **env; size_t n_env;   /* "KEY=VALUE" */
	char *user;                 /* "" = unset */
	char *workdir;
	char **label_keys, **label_values; size_t n_labels;  /* sorted by key */
};

/* The audit gate: the final tree is audited before any output is
 * written; a finding at or above fail_on that no exception covers fails
 * the build (exit 1).  Without an `audit:` section the gate still runs,
 * with fail_on "high". */
struct hm_tpl_audit {
	char *fail_on;            /* severity name; "high" by default */
	/* Findings of a rule (or family, "HM-SYS-*"), on paths matching the
	 * glob if one is given, do not fail the gate; they stay in the
	 * report with the reason.  What hm_audit_run() takes, as is. */
	struct hm_audit_exception_list exceptions;
};

enum hm_output_kind {
	HM_OUTPUT_OCI = 1u << 0,
	HM_OUTPUT_TAR = 1u << 1,
	HM_OUTPUT_RAW = 1u << 2,    /* disk outputs: need a `disk:` section */
	HM_OUTPUT_QCOW2 = 1u << 3,
};
#define HM_OUTPUT_DISK (HM_OUTPUT_RAW | HM_OUTPUT_QCOW2)

/* Disk sizes: below 64 MiB an ext4 with a journal and a kernel does not
 * fit; above 2 TiB an MBR cannot address the partition. */
#define HM_TPL_DISK_MIN_BYTES    (64ull * 1024 * 1024)
#define HM_TPL_DISK_MAX_BYTES    (2ull * 1024 * 1024 * 1024 * 1024)
/* The size must be whole MiB: the partition starts at 1 MiB and the
 * qcow2 clusters and the ext4 blocks then line up. */
#define HM_TPL_DISK_ALIGN_BYTES  (1024ull * 1024)
/* ext4 stores at most 16 bytes of label. */
#define HM_TPL_DISK_LABEL_MAX    16u
/* The kernel command line the template adds (x86 takes 2048 in all). */
#define HM_TPL_DISK_CMDLINE_MAX  1024u

enum hm_partition_table { HM_PT_MBR = 1, HM_PT_GPT };

/* The VM disk (outputs raw and qcow2): one partition, ext4, booted by
 * extlinux.  Present (size != 0) exactly when a disk output is asked. */
struct hm_tpl_disk {
	uint64_t size;            /* bytes, a multiple of 1 MiB */
	enum hm_partition_table partition_table;  /* default mbr */
	char *filesystem;         /* "ext4" */
	char *label;              /* 1..16 bytes; default: the name, cut */
	char *kernel;             /* image path; default /vmlinuz */
	char *initrd;             /* image path; default /initrd.img */
	char *cmdline;            /* default "console=ttyS0" */
	char **vm_only;           /* globs: on the disk, not in the container outputs */
	size_t n_vm_only;
};

struct hm_template {
	char *path;                 /* as given */
	char *dir;                  /* its folder: relative sources resolve here */
	char sha256[65];            /* of the template file's bytes */
	char *name;                 /* manifest name (hm_manifest_name_valid) */
	uint64_t serial;
	uint32_t expires_days;      /* 0 = never */
	char *description;
	struct hm_tpl_base base;
	char **remove; size_t n_remove;              /* globs */
	struct hm_tpl_dir *dirs; size_t n_dirs;
	struct hm_tpl_file *files; size_t n_files;
	struct hm_tpl_symlink *symlinks; size_t n_symlinks;
	struct hm_tpl_group *groups; size_t n_groups;
	struct hm_tpl_user *users; size_t n_users;
	struct hm_tpl_perm *perms; size_t n_perms;
	struct hm_tpl_config config;
	unsigned outputs;           /* enum hm_output_kind bits; default OCI|TAR */
	enum hm_pgzip_codec layer_compression;   /* the OCI layer's: gzip (default) or zstd */
	struct hm_tpl_disk disk;    /* when outputs has a disk kind */
	char **harden; size_t n_harden;   /* rule ids whose fixes to apply, in order */
	struct hm_tpl_audit audit;
	/* What a running instance may do (`runtime:`), sorted; NULL when the
	 * template has no such section.  Its sysctl list is empty here: the
	 * build fills it from the built tree (builder/runtime.c). */
	struct hm_runtime_spec *runtime;
};

/*
 * Load and validate a template.  Errors are HM_ERR_INPUT "FILE:LINE:COL:
 * what" (unknown or duplicate keys, wrong types, anchors and aliases, bad
 * paths, modes or names, a source file that does not exist or escapes the
 * template's folder, duplicates across operations), HM_ERR_LIMIT for
 * sizes.  The caller frees *ret with hm_template_free().
 */
int hm_template_load(const char *path, struct hm_template **ret,
		     struct hm_error *err);
void hm_template_free(struct hm_template *t);   /* accepts NULL */

/*
 * Open rel (a path without symlinks, relative to the template's folder)
 * for reading, following no symlink at any component and never leaving
 * the folder: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the
 * kernel has it, else one openat(O_NOFOLLOW) per component.  A path
 * swapped for a symlink after the template was loaded fails (ELOOP)
 * instead of reading the symlink's target.  Returns the descriptor, or
 * -errno.  The caller checks what it opened with fstat().
 */
int hm_template_open_source(const struct hm_template *t, const char *rel);

/* Tests only: pretend openat2 is missing, to run the fallback. */
extern bool hm_template_no_openat2;

#endif
