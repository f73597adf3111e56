/*
 * Images to audit: a tree plus the contents of the files rules read.
 *
 * Three kinds.  A live directory keeps its root path and opens files at
 * audit time, below the root, one component at a time with O_NOFOLLOW, so
 * a symlink anywhere in the path is never followed.  An archive (tar, OCI)
 * is streamed once: files whose path matches a capture glob are kept in
 * memory (HM_LIMIT_AUDIT_FILE_BYTES each, HM_LIMIT_AUDIT_TOTAL_BYTES in
 * all) and checked against the digest the source computed.  The few files
 * a rule's verdict rests on are not charged to that total (see rule_named
 * below), so earlier layers full of scanned files cannot starve them.  A
 * builder's tree hands its contents through a callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/image.h"
#include "hallmark/manifest.h"
#include "hallmark/policy.h"
#include "hallmark/source.h"
#include "hallmark/target.h"

enum image_kind { IMAGE_DIR, IMAGE_ARCHIVE, IMAGE_TREE };

/*
 * What a capture is charged to: the total budget, nothing (a file with a
 * fixed name a rule reads), or the count of rule files in a folder.
 */
enum charge { CHARGE_TOTAL, CHARGE_NAMED, CHARGE_RULE_DIR };

/*
 * The files audit rules read through read_audited (lib/audit_rules.c):
 * a file there but not captured is a critical "cannot be audited"
 * finding, so they must not depend on what else the image holds.  Fixed
 * names are captured whatever the total: each path holds one capture (a
 * later layer's replaces it), so they add at most 7 MiB plus
 * HM_LIMIT_AUDIT_STATUS_BYTES.  Files in the folders below can be many:
 * the first HM_LIMIT_AUDIT_RULE_DIR_FILES of them are exempt, later ones
 * are charged to the total like any other file.  sshd Include files
 * outside /etc/ssh/sshd_config.d are charged to the total too.  Keep in
 * step with audit_rules.c.
 */
static const char *const rule_named[] = {
	"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/ssh/sshd_config",
	"/etc/machine-id", "/etc/login.defs", "/etc/sysctl.conf",
	"/var/lib/dpkg/status", NULL,
};

static const char *const rule_dirs[] = {
	"/etc/ssh/sshd_config.d/*", "/etc/sysctl.d/*.conf", "/run/sysctl.d/*.conf",
	"/usr/local/lib/sysctl.d/*.conf", "/usr/lib/sysctl.d/*.conf",
	"/lib/sysctl.d/*.conf", NULL,
};

/* One captured file, in a chained hash table keyed by path. */
struct capture {
	struct capture *next;
	char *path;
	size_t path_len;
	char *data;
	size_t len;
	enum charge charge;
	unsigned char sha256[HM_SHA256_LEN];
};

#define CAPTURE_BUCKETS 1024u

struct hm_image {
	enum image_kind kind;
	char *name;
	struct hm_tree *tree;
	bool own_tree;
	char *root;                      /* IMAGE_DIR */
	struct capture **buckets;        /* IMAGE_ARCHIVE */
	uint64_t captured_bytes;         /* charged to total_bytes */
	uint64_t total_bytes;
	size_t rule_dir_files;           /* captures charged CHARGE_RULE_DIR */
	hm_image_read_fn read;           /* IMAGE_TREE */
	void *ctx;
};

/* The state of the content sink while an archive streams past. */
struct sink_state {
	struct hm_image *img;
	const char *const *globs;
	bool active;
	size_t limit;              /* of the file being captured */
	enum charge charge;        /* of the file being captured */
	struct hm_buf buf;
};

static size_t path_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h % CAPTURE_BUCKETS);
}

static struct capture **capture_slot(const struct hm_image *img,
				     const char *path, size_t len)
{
	struct capture **p = &img->buckets[path_hash(path, len)];

	while (*p && ((*p)->path_len != len || memcmp((*p)->path, path, len) != 0))
		p = &(*p)->next;
	return p;
}

static void capture_free(struct capture *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->data);
	free(c);
}

static bool wanted(const char *const *globs, const char *path, size_t len)
{
	size_t i;

	for (i = 0; globs && globs[i]; i++)
		if (hm_glob_match(globs[i], path, len))
			return true;
	return false;
}

/* The package database is the one big file audits need whole. */
static size_t capture_limit(const char *path)
{
	return strcmp(path, "/var/lib/dpkg/status") == 0 ?
	       HM_LIMIT_AUDIT_STATUS_BYTES : HM_LIMIT_AUDIT_FILE_BYTES;
}

static bool is_named(const char *path, size_t len)
{
	size_t i;

	for (i = 0; rule_named[i]; i++)
		if (strlen(rule_named[i]) == len && memcmp(rule_named[i], path, len) == 0)
			return true;
	return false;
}

/* What capturing e would be charged to.  A path already captured in a
 * rule folder keeps its place (a later layer's version replaces it). */
static enum charge charge_of(const struct hm_image *img, const struct hm_entry *e)
{
	const struct capture *old;

	if (is_named(e->path, e->path_len))
		return CHARGE_NAMED;
	if (!wanted(rule_dirs, e->path, e->path_len))
		return CHARGE_TOTAL;
	old = *capture_slot(img, e->path, e->path_len);
	if ((old && old->charge == CHARGE_RULE_DIR) ||
	    img->rule_dir_files < HM_LIMIT_AUDIT_RULE_DIR_FILES)
		return CHARGE_RULE_DIR;
	return CHARGE_TOTAL;
}

/* Whether n more bytes fit the total, for files charged to it. */
static bool fits(const struct sink_state *s, uint64_t n)
{
	return s->charge != CHARGE_TOTAL ||
	       (s->img->captured_bytes <= s->img->total_bytes &&
		n <= s->img->total_bytes - s->img->captured_bytes);
}

static int sink_begin(void *ctx, const struct hm_entry *e, struct hm_error *err)
{
	struct sink_state *s = ctx;

	(void)err;
	hm_buf_reset(&s->buf);
	s->active = false;
	if (e->type != HM_TYPE_FILE || !wanted(s->globs, e->path, e->path_len))
		return 0;
	s->limit = capture_limit(e->path);
	s->charge = charge_of(s->img, e);
	/* Tar members' sizes are only known at the end: data() checks too. */
	s->active = e->size <= s->limit && fits(s, e->size);
	return 0;
}

static int sink_data(void *ctx, const void *buf, size_t len, struct hm_error *err)
{
	struct sink_state *s = ctx;

	if (!s->active)
		return 0;
	if (len > s->limit - s->buf.len || !fits(s, (uint64_t)s->buf.len + len)) {
		/* Too large to keep: not captured, reads say so. */
		s->active = false;
		hm_buf_free(&s->buf);
		return 0;
	}
	if (hm_buf_add(&s->buf, buf, len) < 0)
		return hm_error_nomem(err);
	return 0;
}

static void uncharge(struct hm_image *img, const struct capture *c)
{
	if (c->charge == CHARGE_TOTAL)
		img->captured_bytes -= c->len;
	else if (c->charge == CHARGE_RULE_DIR)
		img->rule_dir_files--;
}

static int sink_end(void *ctx, struct hm_entry *e, struct hm_error *err)
{
	struct sink_state *s = ctx;
	struct capture *c, **slot;
	unsigned char sha[HM_SHA256_LEN];

	if (!s->active)
		return 0;
	s->active = false;
	if (hm_hash_buf(HM_HASH_SHA256, s->buf.data ? s->buf.data : "", s->buf.len,
			sha) < 0)
		return hm_error_nomem(err);
	/* What was captured must be what the source hashed. */
	if (!(e->flags & HM_ENTRY_HAS_DIGEST) ||
	    memcmp(sha, e->sha256, HM_SHA256_LEN) != 0)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = malloc(e->path_len + 1))) {
		free(c);
		return hm_error_nomem(err);
	}
	memcpy(c->path, e->path, e->path_len);
	c->path[e->path_len] = '\0';
	c->path_len = e->path_len;
	c->data = hm_buf_detach(&s->buf, &c->len);
	if (!c->data) {
		capture_free(c);
		return hm_error_nomem(err);
	}
	memcpy(c->sha256, sha, HM_SHA256_LEN);
	c->charge = s->charge;
	/* A later layer's version replaces an earlier one. */
	slot = capture_slot(s->img, c->path, c->path_len);
	if (*slot) {
		c->next = (*slot)->next;
		uncharge(s->img, *slot);
		capture_free(*slot);
	}
	*slot = c;
	if (c->charge == CHARGE_TOTAL)
		s->img->captured_bytes += c->len;
	else if (c->charge == CHARGE_RULE_DIR)
		s->img->rule_dir_files++;
	return 0;
}

static int image_new(const char *name, enum image_kind kind,
		     struct hm_image **ret, struct hm_error *err)
{
	struct hm_image *img = calloc(1, sizeof(*img));

	if (!img || !(img->name = strdup(name ? name : ""))) {
		free(img);
		return hm_error_nomem(err);
	}
	img->kind = kind;
	*ret = img;
	return 0;
}

/* The source's entries into img->tree (tombstones left out). */
static int drain(struct hm_source *src, struct hm_tree *tree,
		 struct hm_error *err)
{
	const struct hm_entry *e;
	struct hm_entry *copy;
	int r;

	while ((r = hm_source_next(src, &e, err)) > 0) {
		if (e->flags & HM_ENTRY_DELETED)
			continue;
		copy = hm_entry_new();
		if (!copy || hm_entry_copy(copy, e) < 0) {
			hm_entry_free(copy);
			return hm_error_nomem(err);
		}
		if ((r = hm_tree_put_take(tree, copy, true, err)) < 0)
			return r;
	}
	return r;
}

int hm_image_open(const char *target, const char *const *capture,
		  struct hm_image **ret, struct hm_error *err)
{
	const struct hm_image_options opt = { .capture = capture };

	return hm_image_open_opt(target, &opt, ret, err);
}

int hm_image_open_opt(const char *target, const struct hm_image_options *iopt,
		      struct hm_image **ret, struct hm_error *err)
{
	struct hm_image *img = NULL;
	struct hm_source *src = NULL;
	struct sink_state st = { .globs = iopt->capture, .buf = HM_BUF_INIT };
	struct hm_content_sink sink = { sink_begin, sink_data, sink_end, &st };
	struct hm_scan_options opt = { 0 };
	const struct hm_target *row;
	const char *spec, *root;
	int r;

	/* A live folder is read in place later; anything else is captured
	 * while it streams past. */
	if ((r = hm_target_parse(hm_program_targets, target, &row, &spec, err)) < 0)
		return r;
	root = row->live ? spec : NULL;
	if ((r = image_new(target, root ? IMAGE_DIR : IMAGE_ARCHIVE, &img, err)) < 0)
		return r;
	img->own_tree = true;
	if ((r = hm_tree_new(&img->tree, err)) < 0)
		goto out;
	if (root) {
		if (!(img->root = strdup(root))) {
			r = hm_error_nomem(err);
			goto out;
		}
	} else {
		img->buckets = calloc(CAPTURE_BUCKETS, sizeof(*img->buckets));
		if (!img->buckets) {
			r = hm_error_nomem(err);
			goto out;
		}
		img->total_bytes = iopt->total_bytes ? iopt->total_bytes :
				   HM_LIMIT_AUDIT_TOTAL_BYTES;
		st.img = img;
		opt.sink = &sink;
	}
	if ((r = hm_target_open_row(row, target, spec, &opt, &src, err)) < 0)
		goto out;
	if ((r = drain(src, img->tree, err)) < 0)
		goto out;
	*ret = img;
	img = NULL;
	r = 0;
out:
	hm_source_free(src);
	hm_buf_free(&st.buf);
	hm_image_free(img);
	return r;
}

int hm_image_from_tree(const struct hm_tree *tree, hm_image_read_fn read,
		       void *ctx, struct hm_image **ret, struct hm_error *err)
{
	struct hm_image *img = NULL;
	int r;

	if ((r = image_new("tree", IMAGE_TREE, &img, err)) < 0)
		return r;
	img->tree = (struct hm_tree *)tree;   /* borrowed, never changed */
	img->read = read;
	img->ctx = ctx;
	*ret = img;
	return 0;
}

void hm_image_free(struct hm_image *img)
{
	size_t i;

	if (!img)
		return;
	if (img->buckets) {
		for (i = 0; i < CAPTURE_BUCKETS; i++) {
			struct capture *c = img->buckets[i], *next;

			for (; c; c = next) {
				next = c->next;
				capture_free(c);
			}
		}
		free(img->buckets);
	}
	if (img->own_tree)
		hm_tree_free(img->tree);
	free(img->root);
	free(img->name);
	free(img);
}

const struct hm_tree *hm_image_tree(const struct hm_image *img)
{
	return img->tree;
}

const char *hm_image_name(const struct hm_image *img)
{
	return img->name;
}

/* A path for messages (escaped like the manifest); never NULL. */
static const char *quote(struct hm_buf *b, const char *path, size_t len)
{
	hm_buf_reset(b);
	if (hm_escape(b, path, len, 0) < 0 || !b->data)
		return "?";
	return b->data;
}

/* Open path below the root, component by component, never following a
 * symlink; the last component must be a regular file. */
static int dir_read(const char *root, const char *path, size_t len,
		    size_t max, char **ret, size_t *ret_len, struct hm_error *err)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct hm_buf q = HM_BUF_INIT, data = HM_BUF_INIT;
	char *comp = NULL;
	size_t i = 1, end;
	int dirfd, fd = -1, r;
	struct stat st;
	ssize_t n;

	dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot open '%s'", root);
		goto out;
	}
	if (!(comp = malloc(len + 1))) {
		r = hm_error_nomem(err);
		goto out;
	}
	for (;;) {
		end = i;
		while (end < len && path[end] != '/')
			end++;
		memcpy(comp, path + i, end - i);
		comp[end - i] = '\0';
		fd = openat(dirfd, comp, flags | (end < len ? O_DIRECTORY : 0));
		if (fd < 0) {
			r = hm_error_set(err, errno == ENOENT ? HM_ERR_INPUT : HM_ERR_IO,
					 errno, "cannot open '%s'", quote(&q, path, len));
			goto out;
		}
		close(dirfd);
		dirfd = fd;
		fd = -1;
		if (end == len)
			break;
		i = end + 1;
	}
	fd = dirfd;
	dirfd = -1;
	if (fstat(fd, &st) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot stat '%s'",
				 quote(&q, path, len));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s' is not a regular file",
				 quote(&q, path, len));
		goto out;
	}
	if ((uint64_t)st.st_size > max)
		goto limit;
	for (;;) {
		if (hm_buf_grow(&data, 65536) < 0) {
			r = hm_error_nomem(err);
			goto out;
		}
		n = read(fd, data.data + data.len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s'",
					 quote(&q, path, len));
			goto out;
		}
		if (n == 0)
			break;
		data.len += (size_t)n;
		if (data.len > max)   /* grew while read */
			goto limit;
	}
	if (hm_buf_add(&data, "", 0) < 0 || !(*ret = hm_buf_detach(&data, ret_len))) {
		r = hm_error_nomem(err);
		goto out;
	}
	r = 0;
	goto out;
limit:
	r = hm_error_set(err, HM_ERR_LIMIT, 0, "'%s' is larger than %zu bytes",
			 quote(&q, path, len), max);
out:
	if (dirfd >= 0)
		close(dirfd);
	if (fd >= 0)
		close(fd);
	free(comp);
	hm_buf_free(&data);
	hm_buf_free(&q);
	return r;
}

/* Captured contents of e (by path, else any capture with its digest: tar
 * hard links are copies of their target's entry). */
static const struct capture *find_capture(const struct hm_image *img,
					  const struct hm_entry *e)
{
	const struct capture *c = *capture_slot(img, e->path, e->path_len);
	size_t i;

	if (c && memcmp(c->sha256, e->sha256, HM_SHA256_LEN) == 0)
		return c;
	if (!(e->flags & HM_ENTRY_HAS_DIGEST))
		return NULL;
	for (i = 0; i < CAPTURE_BUCKETS; i++)
		for (c = img->buckets[i]; c; c = c->next)
			if (c->len == e->size &&
			    memcmp(c->sha256, e->sha256, HM_SHA256_LEN) == 0)
				return c;
	return NULL;
}

int hm_image_read_beneath(const char *root, const char *path, size_t max,
			  char **ret, size_t *ret_len, struct hm_error *err)
{
	if (path[0] != '/' || !path[1])
		return hm_error_set(err, HM_ERR_USAGE, 0, "'%s' is not an absolute path", path);
	return dir_read(root, path, strlen(path), max, ret, ret_len, err);
}

int hm_image_read(const struct hm_image *img, const char *path, size_t max,
		  char **ret, size_t *ret_len, struct hm_error *err)
{
	const struct hm_entry *e;
	const struct capture *c;
	struct hm_buf q = HM_BUF_INIT;
	size_t len = strlen(path);
	char *data;
	int r;

	e = hm_tree_get(img->tree, path, len);
	if (!e || (e->flags & HM_ENTRY_DELETED) || e->type != HM_TYPE_FILE) {
		r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s' is not a regular file",
				 quote(&q, path, len));
		goto out;
	}
	if (e->size > max) {
		r = hm_error_set(err, HM_ERR_LIMIT, 0, "'%s' is larger than %zu bytes",
				 quote(&q, path, len), max);
		goto out;
	}
	switch (img->kind) {
	case IMAGE_DIR:
		r = dir_read(img->root, path, len, max, ret, ret_len, err);
		break;
	case IMAGE_TREE:
		if (!img->read) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s' was not captured",
					 quote(&q, path, len));
			break;
		}
		r = img->read(img->ctx, e, max, ret, ret_len, err);
		break;
	default:
		c = find_capture(img, e);
		if (!c) {
			r = hm_error_set(err, HM_ERR_INPUT, 0, "'%s' was not captured",
					 quote(&q, path, len));
			break;
		}
		if (c->len > max) {
			r = hm_error_set(err, HM_ERR_LIMIT, 0,
					 "'%s' is larger than %zu bytes",
					 quote(&q, path, len), max);
			break;
		}
		if (!(data = malloc(c->len + 1))) {
			r = hm_error_nomem(err);
			break;
		}
		memcpy(data, c->data, c->len);
		data[c->len] = '\0';
		*ret = data;
		*ret_len = c->len;
		r = 0;
		break;
	}
out:
	hm_buf_free(&q);
	return r;
}
