/*
 * Atomic output files and small-file reading.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/cleanup.h"
#include "hallmark/fsutil.h"

struct hm_atomic {
	char *path;
	char *tmp;
	int fd;
	bool replace;
	int cleanup;                  /* hm_cleanup slot of tmp, or -1 */
};

/* read(2), or pread(2) from *off when off is given, until len bytes, the
 * end of the file or an error other than EINTR. */
static ssize_t read_full(int fd, void *buf, size_t len, const uint64_t *off)
{
	size_t got = 0;

	while (got < len) {
		char *p = (char *)buf + got;
		ssize_t n = off ? pread(fd, p, len - got, (off_t)(*off + got))
				: read(fd, p, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t hm_read_full(int fd, void *buf, size_t len)
{
	return read_full(fd, buf, len, NULL);
}

ssize_t hm_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return read_full(fd, buf, len, &off);
}

int hm_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static char *dir_of(const char *path)
{
	char *copy = strdup(path), *d;

	if (!copy)
		return NULL;
	d = strdup(dirname(copy));
	free(copy);
	return d;
}

/* The temporary file ".BASE.tmp-XXXXXX" in dir, mode, and its cleanup
 * on a signal; a->path is set by the caller. */
static int atomic_start(struct hm_atomic *a, const char *dir, const char *base,
			unsigned mode, struct hm_error *err)
{
	a->fd = -1;
	a->cleanup = -1;
	if (asprintf(&a->tmp, "%s/.%s.tmp-XXXXXX", dir, base) < 0) {
		a->tmp = NULL;
		return hm_error_nomem(err);
	}
	a->fd = mkostemp(a->tmp, O_CLOEXEC);
	if (a->fd < 0) {
		int e = errno;

		free(a->tmp);
		a->tmp = NULL;
		return hm_error_set(err, HM_ERR_IO, e, "cannot create a file in '%s'", dir);
	}
	/* A signal before commit removes the temporary file. */
	a->cleanup = hm_cleanup_add(a->tmp, false);
	if (fchmod(a->fd, mode & 07777) < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot set the mode of '%s'", a->tmp);
	return 0;
}

int hm_atomic_open(const char *path, unsigned mode, bool replace,
		   struct hm_atomic **ret, struct hm_error *err)
{
	struct hm_atomic *a;
	char *copy = NULL;
	char *dir = NULL;
	struct stat st;
	int r;

	if (!replace && lstat(path, &st) == 0)
		return hm_error_set(err, HM_ERR_IO, EEXIST,
				    "cannot write '%s'", path);
	a = calloc(1, sizeof(*a));
	if (a) {
		a->fd = -1;
		a->cleanup = -1;
	}
	copy = strdup(path);
	dir = dir_of(path);
	if (!a || !copy || !dir || !(a->path = strdup(path))) {
		r = hm_error_nomem(err);
		goto fail;
	}
	a->replace = replace;
	if ((r = atomic_start(a, dir, basename(copy), mode, err)) < 0)
		goto fail;
	free(copy);
	free(dir);
	*ret = a;
	return 0;
fail:
	free(copy);
	free(dir);
	hm_atomic_abort(a);
	return r;
}

int hm_atomic_open_in(const char *dir, const char *base, unsigned mode,
		      struct hm_atomic **ret, struct hm_error *err)
{
	struct hm_atomic *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return hm_error_nomem(err);
	a->replace = true;
	if ((r = atomic_start(a, dir, base, mode, err)) < 0) {
		hm_atomic_abort(a);
		return r;
	}
	*ret = a;
	return 0;
}

int hm_atomic_fd(const struct hm_atomic *a)
{
	return a->fd;
}

int hm_atomic_write(struct hm_atomic *a, const void *data, size_t len,
		    struct hm_error *err)
{
	int r = hm_write_all(a->fd, data, len);

	if (r < 0)
		return hm_error_set(err, HM_ERR_IO, -r, "cannot write '%s'",
				    a->path ? a->path : a->tmp);
	return 0;
}

int hm_atomic_commit_to(struct hm_atomic *a, const char *path, unsigned flags,
			struct hm_error *err)
{
	bool sync = !(flags & HM_ATOMIC_NO_SYNC);
	struct stat st;
	char *dir = NULL;
	int r = 0, dfd;

	if (sync && fsync(a->fd) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", path);
		goto out;
	}
	/* close() reports delayed write errors (NFS, quota): check it. */
	if (close(a->fd) < 0) {
		a->fd = -1;
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", path);
		goto out;
	}
	a->fd = -1;
	if ((flags & HM_ATOMIC_KEEP) && lstat(path, &st) == 0) {
		/* Same name, same content: the old file stays, hm_atomic_abort
		 * below drops the new one. */
		goto out;
	}
	if (a->replace) {
		if (rename(a->tmp, path) < 0) {
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", path);
			goto out;
		}
	} else {
		/* link() fails if the name was taken meanwhile; rename would not. */
		if (link(a->tmp, path) < 0) {
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", path);
			goto out;
		}
		unlink(a->tmp);
	}
	hm_cleanup_forget(a->cleanup);
	a->cleanup = -1;
	free(a->tmp);
	a->tmp = NULL;
	dir = sync ? dir_of(path) : NULL;
	if (dir && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	free(dir);
	hm_atomic_abort(a);
	return r;
}

int hm_atomic_commit(struct hm_atomic *a, struct hm_error *err)
{
	return hm_atomic_commit_to(a, a->path, 0, err);
}

void hm_atomic_abort(struct hm_atomic *a)
{
	if (!a)
		return;
	hm_cleanup_forget(a->cleanup);
	if (a->fd >= 0)
		close(a->fd);
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	free(a);
}

int hm_write_file_atomic(const char *path, const void *data, size_t len,
			 unsigned mode, bool replace, struct hm_error *err)
{
	struct hm_atomic *a;
	int r;

	r = hm_atomic_open(path, mode, replace, &a, err);
	if (r < 0)
		return r;
	r = hm_atomic_write(a, data, len, err);
	if (r < 0) {
		hm_atomic_abort(a);
		return r;
	}
	return hm_atomic_commit(a, err);
}

int hm_read_file(const char *path, size_t max, char **ret, size_t *ret_len,
		 struct hm_error *err)
{
	size_t len = 0, cap = 4096;
	char *buf = NULL, *p;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
	{
		struct stat st;

		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			r = hm_error_set(err, HM_ERR_INPUT, 0,
					 "'%s' is not a regular file", path);
			goto out;
		}
	}
	buf = malloc(cap);
	if (!buf) {
		r = hm_error_nomem(err);
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			if (cap > max + 1) {
				r = hm_error_set(err, HM_ERR_LIMIT, 0,
						 "'%s' is larger than %zu bytes", path, max);
				goto out;
			}
			cap *= 2;
			p = realloc(buf, cap);
			if (!p) {
				r = hm_error_nomem(err);
				goto out;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = hm_error_set(err, HM_ERR_LIMIT, 0,
					 "'%s' is larger than %zu bytes", path, max);
			goto out;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	buf = NULL;
	if (ret_len)
		*ret_len = len;
out:
	free(buf);
	close(fd);
	return r;
}

int hm_write_output(const char *path,
		    int (*fn)(void *ctx, FILE *out, struct hm_error *err),
		    void *ctx, struct hm_error *err)
{
	struct hm_output *o = NULL;
	FILE *f = NULL;
	int fd = -1, r;

	if (!path || strcmp(path, "-") == 0) {
		r = fn(ctx, stdout, err);
		if (r == 0 && fflush(stdout) != 0)
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot write to stdout");
		return r;
	}
	/* Streamed into the output (a temporary file until commit), so a
	 * report of millions of findings never sits in memory whole. */
	if ((r = hm_output_open(path, 0644, &o, err)) < 0)
		return r;
	fd = dup(hm_output_fd(o));
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", path);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	r = fn(ctx, f, err);
	if (fclose(f) != 0 && r == 0)
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", path);
	if (r == 0) {
		r = hm_output_commit(o, err);
		o = NULL;
	}
out:
	hm_output_abort(o);
	return r;
}

/* ---- command outputs (-o) --------------------------------------------- */

struct hm_output {
	struct hm_atomic *atomic;      /* a regular file or a new name */
	int fd;                        /* a stream: ours, or stdout's */
	char *name;                    /* for messages */
};

static int output_new(const char *name, struct hm_output **ret,
		      struct hm_error *err)
{
	struct hm_output *o = calloc(1, sizeof(*o));

	if (!o || !(o->name = strdup(name))) {
		free(o);
		return hm_error_nomem(err);
	}
	o->fd = -1;
	*ret = o;
	return 0;
}

/* What cannot be streamed into or replaced, or NULL. */
static const char *output_refusal(mode_t m)
{
	if (S_ISDIR(m))
		return "is a directory";
	if (S_ISSOCK(m))
		return "is a socket";
	/* A report streamed into a disk would overwrite its first blocks. */
	if (S_ISBLK(m))
		return "is a block device";
	if (!S_ISREG(m) && !S_ISCHR(m) && !S_ISFIFO(m))
		return "is not a file, a character device or a FIFO";
	return NULL;
}

int hm_output_open(const char *path, unsigned mode, struct hm_output **ret,
		   struct hm_error *err)
{
	struct hm_output *o = NULL;
	struct stat lst, st;
	const char *why;
	char *resolved = NULL;
	int r;

	if (!path || strcmp(path, "-") == 0) {
		if ((r = output_new("standard output", &o, err)) < 0)
			return r;
		o->fd = STDOUT_FILENO;
		*ret = o;
		return 0;
	}
	if (lstat(path, &lst) < 0) {
		if (errno != ENOENT)
			return hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", path);
		lst.st_mode = st.st_mode = S_IFREG;  /* nothing there: a new file */
	} else if (S_ISLNK(lst.st_mode)) {
		if (stat(path, &st) < 0)
			return hm_error_set(err, HM_ERR_USAGE, errno,
					    "cannot write '%s': a symlink to nothing is not replaced",
					    path);
	} else {
		st = lst;
	}
	if ((why = output_refusal(st.st_mode)))
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "cannot write '%s': it %s (name a file, a FIFO, a character device or '-')",
				    path, why);
	if ((r = output_new(path, &o, err)) < 0)
		return r;
	if (S_ISREG(st.st_mode)) {
		const char *file = path;

		/*
		 * Renaming over a symlink would replace the link; replace what
		 * it names, provided that is still the file stat() saw (a
		 * /proc/self/fd link to a deleted file resolves to a name
		 * that is not it).
		 */
		if (S_ISLNK(lst.st_mode)) {
			struct stat rst;

			resolved = realpath(path, NULL);
			if (!resolved || lstat(resolved, &rst) < 0 ||
			    !S_ISREG(rst.st_mode) || rst.st_dev != st.st_dev ||
			    rst.st_ino != st.st_ino) {
				r = hm_error_set(err, HM_ERR_IO, resolved ? 0 : errno,
						 "cannot write '%s': cannot resolve the file it links to",
						 path);
				goto fail;
			}
			file = resolved;
		}
		if ((r = hm_atomic_open(file, mode, true, &o->atomic, err)) < 0)
			goto fail;
		o->fd = hm_atomic_fd(o->atomic);
	} else {
		struct stat fst;

		/* No O_CREAT, no O_TRUNC: a device or a FIFO is written into. */
		o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (o->fd < 0) {
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", path);
			goto fail;
		}
		/* Opening without O_TRUNC changed nothing if it was swapped. */
		if (fstat(o->fd, &fst) < 0 || (!S_ISCHR(fst.st_mode) &&
					       !S_ISFIFO(fst.st_mode))) {
			r = hm_error_set(err, HM_ERR_IO, 0,
					 "cannot write '%s': it changed while it was opened",
					 path);
			goto fail;
		}
	}
	free(resolved);
	*ret = o;
	return 0;
fail:
	free(resolved);
	hm_output_abort(o);
	return r;
}

int hm_output_fd(const struct hm_output *o)
{
	return o->fd;
}

const char *hm_output_file(const struct hm_output *o)
{
	return o->atomic ? o->atomic->path : NULL;
}

int hm_output_write(struct hm_output *o, const void *data, size_t len,
		    struct hm_error *err)
{
	int r = hm_write_all(o->fd, data, len);

	if (r < 0)
		return hm_error_set(err, HM_ERR_IO, -r, "cannot write '%s'", o->name);
	return 0;
}

int hm_output_commit(struct hm_output *o, struct hm_error *err)
{
	int r = 0;

	if (o->atomic) {
		r = hm_atomic_commit(o->atomic, err);
		o->atomic = NULL;
	} else if (o->fd != STDOUT_FILENO) {
		if (close(o->fd) < 0)
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot write '%s'", o->name);
		o->fd = -1;
	}
	hm_output_abort(o);
	return r;
}

void hm_output_abort(struct hm_output *o)
{
	if (!o)
		return;
	if (o->atomic)
		hm_atomic_abort(o->atomic);
	else if (o->fd >= 0 && o->fd != STDOUT_FILENO)
		close(o->fd);
	free(o->name);
	free(o);
}

int hm_output_write_file(const char *path, const void *data, size_t len,
			 unsigned mode, struct hm_error *err)
{
	struct hm_output *o;
	int r;

	if ((r = hm_output_open(path, mode, &o, err)) < 0)
		return r;
	if ((r = hm_output_write(o, data, len, err)) < 0) {
		hm_output_abort(o);
		return r;
	}
	return hm_output_commit(o, err);
}

/* One component: an existing folder is fine, an existing non-folder not. */
static int mkdir_one(const char *path, struct hm_error *err)
{
	struct stat st;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return hm_error_set(err, HM_ERR_IO, errno,
				    "cannot create the folder '%s'", path);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return hm_error_set(err, HM_ERR_IO, ENOTDIR,
				    "cannot use '%s' as a folder", path);
	return 0;
}

int hm_mkdir_p(const char *path, struct hm_error *err)
{
	char *p = strdup(path), *s;
	int r = 0;

	if (!p)
		return hm_error_nomem(err);
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			r = hm_error_set(err, HM_ERR_IO, errno,
					 "cannot create the folder '%s'", p);
			goto out;
		}
		*s = '/';
	}
	r = mkdir_one(p, err);
out:
	free(p);
	return r;
}
