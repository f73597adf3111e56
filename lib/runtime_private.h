/*
 * What the files of the runtime check share (lib/runtime*.c): the scope,
 * the processes found by the first pass (the listeners need their socket
 * inodes, the findings their description), and the finding helper.
 */
#ifndef HALLMARK_RUNTIME_PRIVATE_H
#define HALLMARK_RUNTIME_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hallmark/buf.h"
#include "hallmark/runtime.h"

/* One process of the scope that was inspected. */
struct rt_proc {
	pid_t pid;
	uid_t uid;
	char *exe;            /* its executable, as a path inside the scope's root */
	bool exe_is_file;     /* exe names a file (not deleted, not a memfd) */
	char *desc;           /* "pid N uid U (USER) exe PATH cmdline ARGS" */
	uint64_t *sockets;    /* inodes of its socket fds, sorted */
	size_t n_sockets;
};

struct rt_ctx {
	const struct hm_runtime_options *opt;
	const struct hm_runtime_spec *spec;
	const struct hm_runtime_image *img;
	hm_finding_fn fn;
	void *fn_ctx;
	struct hm_runtime_stats *rstats;
	struct hm_compare_stats *stats;
	const char *proc;          /* "/proc" or the recorded tree */
	int proc_fd;               /* the proc root, O_DIRECTORY */
	char scope[32];            /* "self" (this host) or the PID, under proc */
	char *root_prefix;         /* readlink(scope/root) unless "/": cut from paths */
	size_t root_prefix_len;
	struct rt_proc *procs;
	size_t n_procs, cap_procs;
};

/* Open the proc root and the scope (opt is borrowed); _close frees all. */
int rt_ctx_open(struct rt_ctx *c, const struct hm_runtime_options *opt,
		struct hm_error *err);
void rt_ctx_close(struct rt_ctx *c);

/* Hand one finding to the caller's callback and count it. */
int rt_finding(struct rt_ctx *c, enum hm_finding_kind kind, const char *path,
	       const char *expected, const char *actual, const char *detail,
	       struct hm_error *err);

/* Read a small file relative to a directory fd, NUL-terminated.  0, or
 * -errno (ENOENT/ESRCH: gone). */
int rt_read_at(int dirfd, const char *name, size_t max, char **ret,
	       size_t *ret_len);

/* A path read from the kernel, as the scope's root sees it (prefix cut,
 * " (deleted)" kept).  Returns a pointer into path. */
const char *rt_scope_path(const struct rt_ctx *c, const char *path);

/* The image's entries in order, for the module pass. */
size_t rt_image_count(const struct hm_runtime_image *img);
const struct hm_entry *rt_image_at(const struct hm_runtime_image *img, size_t i);

/* The passes, in the order hm_runtime_check runs them. */
int rt_check_processes(struct rt_ctx *c, struct hm_error *err);
int rt_check_listeners(struct rt_ctx *c, struct hm_error *err);
int rt_check_modules(struct rt_ctx *c, struct hm_error *err);
int rt_check_sysctl(struct rt_ctx *c, struct hm_error *err);
int rt_check_mounts(struct rt_ctx *c, struct hm_error *err);

#endif
