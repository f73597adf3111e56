/*
 * The runtime check (runtime: and runtime:PID): its scope, the image's
 * entries by path, and the order of its passes.  The passes live by
 * concern: processes (runtime_proc.c), listeners (runtime_net.c), modules,
 * kernel settings and mounts (runtime_kernel.c).
 *
 * Every /proc file is read relative to a directory fd opened once (the
 * proc root is a parameter, so tests can hand in a recorded tree), and
 * ENOENT/ESRCH under a PID mean "exited", never an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/runtime.h"
#include "runtime_private.h"

#define RT_PID_MAX 4194304   /* the kernel's PID_MAX_LIMIT */

bool hm_runtime_is_target(const char *target)
{
	return strncmp(target, "runtime:", 8) == 0;
}

int hm_runtime_parse_target(const char *target, pid_t *ret_pid,
			    struct hm_error *err)
{
	const char *s = target + (hm_runtime_is_target(target) ? 8 : 0);
	unsigned long v = 0;
	const char *p;

	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > RT_PID_MAX)
			break;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (*p || (*s && (v == 0 || v > RT_PID_MAX || *s == '0')))
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "bad runtime target '%s': use runtime: (this "
				    "host) or runtime:PID", target);
	*ret_pid = (pid_t)v;
	return 0;
}

/* ---- the image's entries by path ------------------------------------- */

struct hm_runtime_image {
	struct hm_entry *e;      /* in canonical order, as the manifest has them */
	size_t n, cap;
};

int hm_runtime_image_new(struct hm_runtime_image **ret, struct hm_error *err)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : hm_error_nomem(err);
}

int hm_runtime_image_add(struct hm_runtime_image *img, const struct hm_entry *e,
			 struct hm_error *err)
{
	struct hm_entry *d;

	if (img->n && hm_path_cmp(img->e[img->n - 1].path, img->e[img->n - 1].path_len,
				  e->path, e->path_len) >= 0)
		return hm_error_set(err, HM_ERR_INPUT, 0, "image entries out of order "
				    "at '%s'", e->path);
	if (img->n == img->cap) {
		size_t cap = img->cap ? img->cap * 2 : 1024;

		d = realloc(img->e, cap * sizeof(*d));
		if (!d)
			return hm_error_nomem(err);
		img->e = d;
		img->cap = cap;
	}
	/* Only what the checks use: no xattrs, targets or notes. */
	d = &img->e[img->n];
	memset(d, 0, sizeof(*d));
	if (hm_entry_set_path(d, e->path, e->path_len) < 0)
		return hm_error_nomem(err);
	d->type = e->type;
	d->mode = e->mode;
	d->uid = e->uid;
	d->gid = e->gid;
	d->size = e->size;
	d->flags = e->flags & HM_ENTRY_HAS_DIGEST;
	memcpy(d->sha256, e->sha256, sizeof(d->sha256));
	img->n++;
	return 0;
}

const struct hm_entry *hm_runtime_image_find(const struct hm_runtime_image *img,
					     const char *path, size_t len)
{
	size_t lo = 0, hi = img ? img->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = hm_path_cmp(img->e[mid].path, img->e[mid].path_len, path, len);

		if (c == 0)
			return &img->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t rt_image_count(const struct hm_runtime_image *img)
{
	return img ? img->n : 0;
}

const struct hm_entry *rt_image_at(const struct hm_runtime_image *img, size_t i)
{
	return &img->e[i];
}

void hm_runtime_image_free(struct hm_runtime_image *img)
{
	size_t i;

	if (!img)
		return;
	for (i = 0; i < img->n; i++)
		free(img->e[i].path);
	free(img->e);
	free(img);
}

/* ---- helpers shared by the passes ------------------------------------ */

int rt_finding(struct rt_ctx *c, enum hm_finding_kind kind, const char *path,
	       const char *expected, const char *actual, const char *detail,
	       struct hm_error *err)
{
	struct hm_finding f = {
		.kind = kind, .path = (char *)path, .path_len = strlen(path),
		.expected = (char *)expected, .actual = (char *)actual,
		.detail = (char *)detail,
	};

	c->stats->findings[kind]++;
	c->stats->total_findings++;
	return c->fn(c->fn_ctx, &f, err);
}

int rt_read_at(int dirfd, const char *name, size_t max, char **ret,
	       size_t *ret_len)
{
	struct hm_buf b = HM_BUF_INIT;
	ssize_t n;
	int fd, e;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (hm_buf_grow(&b, 4096) < 0) {
			e = ENOMEM;
			goto fail;
		}
		n = read(fd, b.data + b.len, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			goto fail;
		}
		if (n == 0 || b.len + (size_t)n > max) {
			if (n > 0)
				b.len = max;
			break;
		}
		b.len += (size_t)n;
	}
	close(fd);
	if (hm_buf_addc(&b, '\0') < 0) {
		hm_buf_free(&b);
		return -ENOMEM;
	}
	b.len--;
	if (ret_len)
		*ret_len = b.len;
	*ret = b.data;
	return 0;
fail:
	close(fd);
	hm_buf_free(&b);
	return -e;
}

const char *rt_scope_path(const struct rt_ctx *c, const char *path)
{
	size_t n = c->root_prefix_len;

	if (n && strncmp(path, c->root_prefix, n) == 0 &&
	    (path[n] == '/' || path[n] == '\0'))
		return path[n] ? path + n : "/";
	return path;
}

/* The root the scope's paths are relative to, as the kernel prints it. */
static int scope_root(struct rt_ctx *c, struct hm_error *err)
{
	char link[PATH_MAX + 1], name[48];
	ssize_t n;

	snprintf(name, sizeof(name), "%s/root", c->scope);
	n = readlinkat(c->proc_fd, name, link, sizeof(link) - 1);
	if (n < 0) {
		/* A recorded tree stores no links: its paths are the scope's. */
		if (errno == ENOENT && c->opt->pid == 0)
			return 0;
		return hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s/%s'",
				    c->proc, name);
	}
	link[n] = '\0';
	if (strcmp(link, "/") == 0)
		return 0;
	c->root_prefix = strdup(link);
	if (!c->root_prefix)
		return hm_error_nomem(err);
	c->root_prefix_len = (size_t)n;
	return 0;
}

int rt_ctx_open(struct rt_ctx *c, const struct hm_runtime_options *opt,
		struct hm_error *err)
{
	struct stat st;
	int r;

	c->opt = opt;
	c->proc = opt->proc ? opt->proc : "/proc";
	if (opt->pid)
		snprintf(c->scope, sizeof(c->scope), "%ld", (long)opt->pid);
	else
		snprintf(c->scope, sizeof(c->scope), "self");
	c->proc_fd = open(c->proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->proc_fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", c->proc);
	if (fstatat(c->proc_fd, c->scope, &st, 0) < 0)
		return errno == ENOENT ?
		       hm_error_set(err, HM_ERR_IO, 0, "no process %s: runtime:%s names "
				    "no running process", c->scope, c->scope) :
		       hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s/%s'",
				    c->proc, c->scope);
	r = scope_root(c, err);
	return r < 0 ? r : 0;
}

void rt_ctx_close(struct rt_ctx *c)
{
	size_t i;

	for (i = 0; i < c->n_procs; i++) {
		free(c->procs[i].exe);
		free(c->procs[i].desc);
		free(c->procs[i].sockets);
	}
	free(c->procs);
	free(c->root_prefix);
	if (c->proc_fd >= 0)
		close(c->proc_fd);
	c->procs = NULL;
	c->root_prefix = NULL;
	c->proc_fd = -1;
}

int hm_runtime_check(const struct hm_runtime_options *opt,
		     const struct hm_runtime_spec *spec,
		     const struct hm_runtime_image *img, hm_finding_fn fn,
		     void *ctx, struct hm_runtime_stats *rstats,
		     struct hm_compare_stats *stats, struct hm_error *err)
{
	struct rt_ctx c = {
		.spec = spec, .img = img, .fn = fn, .fn_ctx = ctx,
		.rstats = rstats, .stats = stats, .proc_fd = -1,
	};
	int r;

	memset(rstats, 0, sizeof(*rstats));
	memset(stats, 0, sizeof(*stats));
	if ((r = rt_ctx_open(&c, opt, err)) < 0)
		goto out;
	if (!opt->no_processes && (r = rt_check_processes(&c, err)) < 0)
		goto out;
	if (!opt->no_listeners && (r = rt_check_listeners(&c, err)) < 0)
		goto out;
	if (!opt->no_modules && (r = rt_check_modules(&c, err)) < 0)
		goto out;
	if (!opt->no_sysctl && (r = rt_check_sysctl(&c, err)) < 0)
		goto out;
	if (!opt->no_mounts && (r = rt_check_mounts(&c, err)) < 0)
		goto out;
	r = 0;
out:
	rt_ctx_close(&c);
	return r;
}

/* ---- the manifest's entries, kept as a comparison reads them ---------- */

struct tee_source {
	struct hm_source base;
	struct hm_source *inner;         /* borrowed */
	struct hm_runtime_image *img;    /* borrowed */
};

static int tee_next(struct hm_source *src, const struct hm_entry **ret,
		    struct hm_error *err)
{
	struct tee_source *t = (struct tee_source *)src;
	int r = hm_source_next(t->inner, ret, err);

	if (r == 1 && (*ret)->type != HM_TYPE_NONE &&
	    hm_runtime_image_add(t->img, *ret, err) < 0)
		return err->code;
	return r;
}

static void tee_free(struct hm_source *src)
{
	free(src);
}

static const struct hm_source_ops tee_ops = {
	.kind = "manifest", .next = tee_next, .free = tee_free,
};

int hm_runtime_image_tee(struct hm_source *inner, struct hm_runtime_image *img,
			 struct hm_source **ret, struct hm_error *err)
{
	struct tee_source *t = calloc(1, sizeof(*t));

	if (!t)
		return hm_error_nomem(err);
	t->base.ops = &tee_ops;
	t->inner = inner;
	t->img = img;
	*ret = &t->base;
	return 0;
}

int hm_runtime_image_load(struct hm_source *src, struct hm_runtime_image *img,
			  struct hm_error *err)
{
	const struct hm_entry *e;
	int r;

	while ((r = hm_source_next(src, &e, err)) == 1)
		if ((r = hm_runtime_image_add(img, e, err)) < 0)
			return r;
	return r;
}
