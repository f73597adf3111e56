/*
 * The per-file system calls of `hallmark verify dir:` on a small file,
 * made one by one or in batches through io_uring, to measure whether
 * batching pays on this kernel (issue 18, item 1).  Not part of hallmark:
 * bench/file-calls.sh builds and times it.
 *
 * For every regular file of a two-level tree (bench/mktree-1m.py), as
 * lib/source_dir.c does it:
 *   statx(dir, name, AT_SYMLINK_NOFOLLOW)   the walker's "before"
 *   openat(dir, name, O_NOFOLLOW | O_NONBLOCK | O_NOATIME)
 *   flistxattr(fd)                          the extended attributes
 *   pread(fd, 4 KiB)                        the content (files are small)
 *   fstat(fd)                               the "after"
 *   close(fd)
 * "calls" makes them as plain system calls; "uring" submits the statx,
 * openat, read, fstat (statx with AT_EMPTY_PATH) and close of BATCH files
 * at a time, one io_uring_enter per step, and keeps flistxattr a plain
 * call (io_uring has no listxattr operation).  The open's result must be
 * seen before the read is submitted (hallmark needs the descriptor for
 * flistxattr), so a batch takes four round trips.
 *
 * Usage: file_calls calls|uring ROOT [BATCH]
 * Prints the files and bytes read; exit 0, or 1 on an error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_BATCH 128
#define OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOATIME)

struct file {
	char name[256];
	struct statx before, after;
	char data[4096];
	int fd;
	int res;
};

static unsigned long n_files, n_bytes;
static struct io_uring ring;
static struct file batch[MAX_BATCH];

static void one_file(int dfd, const char *name)
{
	struct statx stx;
	struct stat st;
	char data[4096], names[1024];
	ssize_t n;
	int fd;

	if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0 ||
	    !S_ISREG(stx.stx_mode))
		return;
	if ((fd = openat(dfd, name, OPEN_FLAGS)) < 0)
		return;
	(void)flistxattr(fd, names, sizeof(names));
	if ((n = pread(fd, data, sizeof(data), 0)) > 0)
		n_bytes += (unsigned long)n;
	(void)fstat(fd, &st);
	close(fd);
	n_files++;
}

/* Submit what is queued and reap `want` completions into batch[].res
 * (user_data is the index; closes carry MAX_BATCH and are not kept). */
static int reap(unsigned want)
{
	struct io_uring_cqe *cqe;
	unsigned i;
	int r;

	if (!want)
		return 0;
	if ((r = io_uring_submit_and_wait(&ring, want)) < 0)
		return r;
	for (i = 0; i < want; i++) {
		if ((r = io_uring_wait_cqe(&ring, &cqe)) < 0)
			return r;
		if (cqe->user_data < MAX_BATCH)
			batch[cqe->user_data].res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	return 0;
}

static struct io_uring_sqe *sqe_for(unsigned i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe)
		abort();        /* the ring holds 2 * MAX_BATCH entries */
	sqe->user_data = i;
	return sqe;
}

static int batch_files(int dfd, unsigned k)
{
	char names[1024];
	unsigned i, m;
	int r;

	for (i = 0; i < k; i++)
		io_uring_prep_statx(sqe_for(i), dfd, batch[i].name, AT_SYMLINK_NOFOLLOW,
				    STATX_BASIC_STATS, &batch[i].before);
	if ((r = reap(k)) < 0)
		return r;
	for (i = m = 0; i < k; i++) {
		batch[i].fd = -1;
		if (batch[i].res < 0 || !S_ISREG(batch[i].before.stx_mode))
			continue;
		io_uring_prep_openat(sqe_for(i), dfd, batch[i].name, OPEN_FLAGS, 0);
		batch[i].fd = 0;        /* asked */
		m++;
	}
	if ((r = reap(m)) < 0)
		return r;
	for (i = m = 0; i < k; i++) {
		if (batch[i].fd < 0)
			continue;
		if (batch[i].res < 0) {
			batch[i].fd = -1;
			continue;
		}
		batch[i].fd = batch[i].res;
		(void)flistxattr(batch[i].fd, names, sizeof(names));
		io_uring_prep_read(sqe_for(i), batch[i].fd, batch[i].data,
				   sizeof(batch[i].data), 0);
		m++;
	}
	if ((r = reap(m)) < 0)
		return r;
	for (i = m = 0; i < k; i++) {
		if (batch[i].fd < 0)
			continue;
		if (batch[i].res > 0)
			n_bytes += (unsigned long)batch[i].res;
		io_uring_prep_statx(sqe_for(i), batch[i].fd, "", AT_EMPTY_PATH,
				    STATX_BASIC_STATS, &batch[i].after);
		io_uring_prep_close(sqe_for(MAX_BATCH), batch[i].fd);
		m += 2;
		n_files++;
	}
	return reap(m);
}

int main(int argc, char **argv)
{
	bool uring;
	unsigned size = argc > 3 ? (unsigned)atoi(argv[3]) : 64;
	struct dirent *de;
	DIR *top;
	int r;

	if (argc < 3 || (strcmp(argv[1], "calls") && strcmp(argv[1], "uring")) ||
	    size < 1 || size > MAX_BATCH) {
		fprintf(stderr, "usage: file_calls calls|uring ROOT [BATCH 1..%d]\n",
			MAX_BATCH);
		return 2;
	}
	uring = !strcmp(argv[1], "uring");
	if (uring && (r = io_uring_queue_init(2 * MAX_BATCH + 2, &ring, 0)) < 0) {
		fprintf(stderr, "file_calls: io_uring: %s\n", strerror(-r));
		return 1;
	}
	if (!(top = opendir(argv[2]))) {
		fprintf(stderr, "file_calls: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	while ((de = readdir(top))) {
		struct dirent *e;
		unsigned k = 0;
		DIR *d;
		int dfd;

		if (de->d_name[0] == '.' ||
		    (dfd = openat(dirfd(top), de->d_name,
				  O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		if (!(d = fdopendir(dfd))) {
			close(dfd);
			continue;
		}
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			if (!uring) {
				one_file(dfd, e->d_name);
				continue;
			}
			snprintf(batch[k].name, sizeof(batch[k].name), "%s", e->d_name);
			if (++k == size) {
				if ((r = batch_files(dfd, k)) < 0)
					goto fail;
				k = 0;
			}
		}
		if (k && (r = batch_files(dfd, k)) < 0)
			goto fail;
		closedir(d);
	}
	closedir(top);
	printf("%lu files, %lu bytes\n", n_files, n_bytes);
	return 0;
fail:
	fprintf(stderr, "file_calls: io_uring: %s\n", strerror(-r));
	return 1;
}
