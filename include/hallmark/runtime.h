/*
 * The running instance (runtime: and runtime:PID): processes, listening
 * sockets, kernel modules, kernel settings and mounts, checked against a
 * signed manifest's entries and its runtime section (runtime_spec.h).
 *
 * A runtime check is not a tree: nothing here is a source.  It reads
 * /proc (a parameter, so that unit tests can hand it a recorded tree),
 * hashes what the kernel says each process runs and maps (never a path a
 * process could have renamed), and hands hm_findings of the runtime kinds
 * (compare.h) to the same callback a file comparison feeds, so the four
 * report formats and the history carry them unchanged.
 */
#ifndef HALLMARK_RUNTIME_H
#define HALLMARK_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hallmark/buf.h"
#include "hallmark/compare.h"
#include "hallmark/entry.h"
#include "hallmark/error.h"
#include "hallmark/runtime_spec.h"
#include "hallmark/source.h"

/*
 * Parse the part of a TARGET after "runtime:": "" is this host (pid 0),
 * digits are a PID (1..4194304).  Anything else is HM_ERR_USAGE naming
 * the target.  *ret_pid is set on success only.
 */
int hm_runtime_parse_target(const char *target, pid_t *ret_pid,
			    struct hm_error *err);
/* True if target starts with "runtime:". */
bool hm_runtime_is_target(const char *target);

/*
 * The image's entries, by path: what a running executable, a module file
 * or /etc/passwd is looked up in.  Only what runtime checks use is kept
 * (path, type, size, digest).  _add copies; 0 or HM_ERR_NOMEM.
 */
struct hm_runtime_image;
int hm_runtime_image_new(struct hm_runtime_image **ret, struct hm_error *err);
int hm_runtime_image_add(struct hm_runtime_image *img, const struct hm_entry *e,
			 struct hm_error *err);
/* Borrowed, NULL if the image has no entry at path. */
const struct hm_entry *hm_runtime_image_find(const struct hm_runtime_image *img,
					     const char *path, size_t len);
void hm_runtime_image_free(struct hm_runtime_image *img);   /* accepts NULL */
/* Add every entry of src (a manifest) to img, to its end: 0 or an error. */
int hm_runtime_image_load(struct hm_source *src, struct hm_runtime_image *img,
			  struct hm_error *err);
/*
 * A source yielding inner's entries (borrowed; not freed with it) and
 * adding each to img as it goes: a file comparison and a runtime check
 * in one run read the manifest once.
 */
int hm_runtime_image_tee(struct hm_source *inner, struct hm_runtime_image *img,
			 struct hm_source **ret, struct hm_error *err);

struct hm_runtime_options {
	const char *proc;   /* the proc root: NULL is "/proc" */
	pid_t pid;          /* 0: this host; else the namespaces of this PID */
	/* What to check; a check left out is neither run nor reported. */
	bool no_processes, no_listeners, no_modules, no_sysctl, no_mounts;
};

struct hm_runtime_stats {
	uint64_t processes;        /* processes checked (kernel threads aside) */
	uint64_t vanished;         /* exited (or PID reused) during the scan */
	uint64_t executables;      /* distinct executable files (dev, ino, size, mtime) */
	uint64_t hashed_bytes;     /* bytes of them hashed, each file once */
	uint64_t listeners;        /* listening sockets seen */
	uint64_t modules;          /* loaded modules seen */
	uint64_t sysctls;          /* settings read */
	uint64_t mounts;           /* mounts seen */
	/* Kernel modules were not inspected: a container scope whose image
	 * ships no module files (the loaded ones are the host's). */
	bool modules_skipped;
};

/*
 * Check the running system of opt's scope against spec (the manifest's
 * runtime section: required) and img (the manifest's entries).  Each
 * finding goes to fn in the order found (processes, listeners, modules,
 * settings, mounts); stats->findings counts them by kind.  What cannot be
 * seen (permission denied, hidepid) is a HM_FINDING_NOT_INSPECTED
 * finding, never a silent skip; a process that exits during the scan is
 * skipped and counted.  Errors: HM_ERR_IO when the scope itself cannot be
 * read (no such PID, no /proc), HM_ERR_NOMEM; fn's errors as it returns
 * them.
 */
int hm_runtime_check(const struct hm_runtime_options *opt,
		     const struct hm_runtime_spec *spec,
		     const struct hm_runtime_image *img, hm_finding_fn fn,
		     void *ctx, struct hm_runtime_stats *rstats,
		     struct hm_compare_stats *stats, struct hm_error *err);

/*
 * Today's footprint of opt's scope as a runtime section: the executables
 * its processes run, its listeners (with the owner's executable), its
 * mounts with their ro/nosuid/nodev/noexec flags; sorted, for a person to
 * review.  *ret is freed with hm_runtime_spec_free.
 */
int hm_runtime_capture(const struct hm_runtime_options *opt,
		       struct hm_runtime_spec **ret, struct hm_error *err);
/* s as a template's `runtime:` section, YAML appended to out (libyaml's
 * emitter).  0, HM_ERR_NOMEM or HM_ERR_INPUT. */
int hm_runtime_spec_yaml(const struct hm_runtime_spec *s, struct hm_buf *out,
			 struct hm_error *err);

/* ---- the parsers of /proc files, exposed for the unit tests ---------- */

struct hm_proc_socket {
	char proto[4];             /* "tcp" or "udp" */
	bool v6;
	unsigned char addr[16];    /* network order; IPv4 in the first 4 */
	uint16_t port;
	uint64_t inode;
};

/*
 * One line of /proc/net/{tcp,tcp6,udp,udp6} (not the header).  1 and
 * *ret: a listening socket (TCP state LISTEN; UDP unconnected, bound);
 * 0: a socket that does not listen; -1: a malformed line.
 */
int hm_proc_parse_socket(const char *line, const char *proto, bool v6,
			 struct hm_proc_socket *ret);
/* "tcp/127.0.0.1:8080", "udp/[::1]:53", "tcp/0.0.0.0:22" (any address). */
void hm_proc_socket_name(const struct hm_proc_socket *s, char *out, size_t n);

struct hm_proc_mount {
	char *point;               /* unescaped mount point, relative to the root */
	char *options;             /* per-mount options, then super options, comma-joined */
	char *fstype;
};
/* One line of mountinfo; 0, or -1 if malformed.  Free with _clear. */
int hm_proc_parse_mountinfo(const char *line, struct hm_proc_mount *ret);
void hm_proc_mount_clear(struct hm_proc_mount *m);

/* The start time (field 22) and flags (field 9) of /proc/PID/stat, whose
 * comm may hold spaces and parentheses.  0 or -1. */
int hm_proc_parse_stat(const char *data, size_t len,
		       unsigned long long *ret_start, unsigned long *ret_flags);

/* A module name as the kernel lists it, from a module file's base name:
 * the .ko[.xz|.zst|.gz] suffix cut and '-' made '_'.  0, or -1 if base is
 * not a module file name. */
int hm_module_name(const char *base, char *out, size_t n);

#endif
