/*
 * Files that appear atomically: written to a temporary name in the same
 * folder, fsynced, then renamed over the final name (and the folder
 * fsynced).  Until commit, nothing exists at the final name; abort or a
 * crash leaves at most a ".NAME.tmp-XXXXXX" file behind, never a partial
 * output at its final name.
 */
#ifndef HALLMARK_FSUTIL_H
#define HALLMARK_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hallmark/error.h"

struct hm_atomic;

/*
 * Start writing path.  mode is the new file's mode (umask is not applied).
 * Unless replace, an existing file at path is an error now and at commit.
 */
int hm_atomic_open(const char *path, unsigned mode, bool replace,
		   struct hm_atomic **ret, struct hm_error *err);
/* The descriptor to write to (owned by the handle). */
int hm_atomic_fd(const struct hm_atomic *a);
int hm_atomic_write(struct hm_atomic *a, const void *data, size_t len,
		    struct hm_error *err);
/* fsync, rename into place, fsync the folder; frees a. */
int hm_atomic_commit(struct hm_atomic *a, struct hm_error *err);
/* Remove the temporary file; frees a; accepts NULL. */
void hm_atomic_abort(struct hm_atomic *a);

/*
 * A file whose name is known only once it is complete (a content-
 * addressed store names it by its digest): the temporary file
 * ".BASE.tmp-XXXXXX" is made in dir, and hm_atomic_commit_to() gives it
 * its name.  hm_atomic_commit() is hm_atomic_commit_to(a, the path of
 * hm_atomic_open, 0).
 */
int hm_atomic_open_in(const char *dir, const char *base, unsigned mode,
		      struct hm_atomic **ret, struct hm_error *err);
enum {
	HM_ATOMIC_NO_SYNC = 1u << 0,   /* no fsync of the file or the folder
					* (a cache, not an output) */
	HM_ATOMIC_KEEP = 1u << 1,      /* a file at path stays, this one is
					* dropped, and that is success */
};
/* Rename into place at path (fsync before and the folder after, unless
 * HM_ATOMIC_NO_SYNC); frees a. */
int hm_atomic_commit_to(struct hm_atomic *a, const char *path, unsigned flags,
			struct hm_error *err);

/* mkdir -p (mode 0755, umask applied, for what it creates).  An existing
 * folder is fine; an existing non-folder at path is HM_ERR_IO. */
int hm_mkdir_p(const char *path, struct hm_error *err);

/* Whole buffer in one go. */
int hm_write_file_atomic(const char *path, const void *data, size_t len,
			 unsigned mode, bool replace, struct hm_error *err);

/*
 * Write what fn prints: to stdout when path is NULL or "-", else into
 * path atomically (mode 0644, replacing an older file), so that a reader
 * never sees half a report.  fn returns 0 or a negative error.
 */
int hm_write_output(const char *path,
		    int (*fn)(void *ctx, FILE *out, struct hm_error *err),
		    void *ctx, struct hm_error *err);

/*
 * Read a whole small file (at most max bytes, else HM_ERR_LIMIT), with
 * O_NOFOLLOW off (user-named files may be symlinks) and O_CLOEXEC.
 * The result is NUL-terminated; free() it.
 */
int hm_read_file(const char *path, size_t max, char **ret, size_t *ret_len,
		 struct hm_error *err);

/* read(2) up to len bytes, retrying on EINTR and short reads: fewer only
 * at the end of the file.  The count, or -errno. */
ssize_t hm_read_full(int fd, void *buf, size_t len);
/* The same with pread(2) from offset off (errno kept on failure). */
ssize_t hm_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* write(2) all of it, retrying on EINTR / short writes. 0 or -errno. */
int hm_write_all(int fd, const void *data, size_t len);

/*
 * Where a command's -o goes.  Only a regular file, or a name where nothing
 * is, is replaced atomically (through hm_atomic); a symlink to a regular
 * file replaces the file it resolves to and keeps the link.  A character
 * device or a FIFO (/dev/null, /dev/stdout on a pipe, a named pipe) is
 * streamed into, never replaced; NULL and "-" mean standard output.  A
 * directory, a socket, a block device or a dangling symlink is refused
 * (HM_ERR_USAGE) before anything is written.
 */
struct hm_output;

int hm_output_open(const char *path, unsigned mode, struct hm_output **ret,
		   struct hm_error *err);
/* The descriptor to write to (owned by the handle, or stdout's). */
int hm_output_fd(const struct hm_output *o);
/* The file that commit will replace, or NULL when streaming. */
const char *hm_output_file(const struct hm_output *o);
int hm_output_write(struct hm_output *o, const void *data, size_t len,
		    struct hm_error *err);
/* Put a file in place, or close a stream; frees o. */
int hm_output_commit(struct hm_output *o, struct hm_error *err);
/* Remove an unfinished file (what was streamed stays streamed); frees o;
 * accepts NULL. */
void hm_output_abort(struct hm_output *o);
/* The whole buffer to an output, in one go. */
int hm_output_write_file(const char *path, const void *data, size_t len,
			 unsigned mode, struct hm_error *err);

#endif
