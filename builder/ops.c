/*
 * Template operations on the tree (see ops.h).
 *
 * Account databases (/etc/passwd, /etc/group, /etc/shadow, /etc/gshadow)
 * are edited as text: read from the blob store, lines appended or
 * amended, written back as a new blob.  Nothing runs inside the image (no
 * useradd, no chroot), so a build needs no privileges and cannot be
 * influenced by the image's own programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hallmark/buf.h"
#include "hallmark/digest.h"
#include "hallmark/policy.h"
#include "ops.h"

/* Account files are small; a larger one is not an account file. */
#define ACCOUNT_FILE_MAX (16u * 1024 * 1024)
/* A template's source file (also bounded by the template loader). */
#define SOURCE_FILE_MAX (64ull * 1024 * 1024)

struct ctx {
	const struct hm_template *t;
	struct hm_tree *tree;
	struct hm_blobstore *store;
	time_t now;
	struct hm_error *err;
};

static int parent_is_dir(struct ctx *c, const char *what, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t plen = slash == path ? 1 : (size_t)(slash - path);
	const struct hm_entry *p = hm_tree_get(c->tree, path, plen);

	if (p && !(p->flags & HM_ENTRY_DELETED) && p->type == HM_TYPE_DIR)
		return 0;
	return hm_error_set(c->err, HM_ERR_INPUT, 0,
			    "%s: %s: '%s': parent directory '%.*s' does not exist%s",
			    c->t->path, what, path, (int)plen, path,
			    p && !(p->flags & HM_ENTRY_DELETED) ?
			    " (it is not a directory)" : "");
}

static struct hm_entry *new_entry(struct ctx *c, const char *path,
				  enum hm_type type, uint32_t mode,
				  uint32_t uid, uint32_t gid)
{
	struct hm_entry *e = hm_entry_new();

	if (!e || hm_entry_set_path(e, path, strlen(path)) < 0) {
		hm_entry_free(e);
		hm_error_nomem(c->err);
		return NULL;
	}
	e->type = type;
	e->mode = mode & 07777;
	e->uid = uid;
	e->gid = gid;
	return e;
}

static int put(struct ctx *c, struct hm_entry *e)
{
	return hm_tree_put_take(c->tree, e, true, c->err);
}

/* --- remove ------------------------------------------------------------ */

static int op_remove(struct ctx *c, struct hm_ops_stats *st)
{
	uint64_t n;
	size_t i;
	int r = 0;

	for (i = 0; i < c->t->n_remove && r == 0; i++) {
		/* The root cannot go: it never matches. */
		r = hm_tree_remove_glob(c->tree, c->t->remove[i], &n, c->err);
		if (r == 0)
			st->removed += n;
	}
	return r;
}

/* --- directories, files, symlinks -------------------------------------- */

static int op_dirs(struct ctx *c, struct hm_ops_stats *st)
{
	size_t i;
	int r;

	for (i = 0; i < c->t->n_dirs; i++) {
		const struct hm_tpl_dir *d = &c->t->dirs[i];
		struct hm_entry *e;

		if ((r = parent_is_dir(c, "directories", d->path)) < 0)
			return r;
		e = new_entry(c, d->path, HM_TYPE_DIR, d->mode, d->uid, d->gid);
		if (!e)
			return c->err->code;
		if ((r = put(c, e)) < 0)
			return r;
		st->dirs++;
	}
	return 0;
}

/*
 * Stream a template source file into the store.  It is opened again
 * beneath the template's folder without following any symlink (the
 * loader checked the same symlink-free path), and only what that
 * descriptor reads lands in the image: a file swapped for a symlink to a
 * host file since the check fails instead of leaking the host file.
 */
static int store_source(struct ctx *c, const struct hm_tpl_file *f,
			unsigned char sha256[32], uint64_t *size)
{
	struct hm_blob_writer *w = NULL;
	const char *path = f->source;
	struct stat st;
	char buf[65536];
	uint64_t total = 0;
	int fd = -1, r;

	fd = hm_template_open_source(c->t, f->source_rel);
	if (fd < 0) {
		if (fd == -ELOOP)
			return hm_error_set(c->err, HM_ERR_INPUT, 0,
					    "'source' '%s' became a symlink after the template was loaded",
					    path);
		return hm_error_set(c->err, HM_ERR_IO, -fd, "cannot open '%s'", path);
	}
	if (fstat(fd, &st) < 0) {
		r = hm_error_set(c->err, HM_ERR_IO, errno, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = hm_error_set(c->err, HM_ERR_INPUT, 0, "'source' '%s' is not a regular file",
				 path);
		goto out;
	}
	if ((r = hm_blob_begin(c->store, &w, c->err)) < 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = hm_error_set(c->err, HM_ERR_IO, errno, "cannot read '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > SOURCE_FILE_MAX) {
			r = hm_error_set(c->err, HM_ERR_LIMIT, 0,
					 "'%s' is larger than %llu bytes", path,
					 (unsigned long long)SOURCE_FILE_MAX);
			goto out;
		}
		if ((r = hm_blob_write(w, buf, (size_t)n, c->err)) < 0)
			goto out;
	}
	r = hm_blob_commit(w, sha256, size, c->err);
	w = NULL;
out:
	hm_blob_abort(w);
	if (fd >= 0)
		close(fd);
	return r;
}

static int op_files(struct ctx *c, struct hm_ops_stats *st)
{
	size_t i;
	int r;

	for (i = 0; i < c->t->n_files; i++) {
		const struct hm_tpl_file *f = &c->t->files[i];
		unsigned char sha[32];
		uint64_t size = f->content_len;
		struct hm_entry *e;

		if ((r = parent_is_dir(c, "files", f->path)) < 0)
			return r;
		if (f->source)
			r = store_source(c, f, sha, &size);
		else
			r = hm_blob_put(c->store, f->content ? f->content : "",
					f->content_len, sha, c->err);
		if (r < 0)
			return r;
		e = new_entry(c, f->path, HM_TYPE_FILE, f->mode, f->uid, f->gid);
		if (!e)
			return c->err->code;
		e->size = size;
		memcpy(e->sha256, sha, sizeof(sha));
		e->flags |= HM_ENTRY_HAS_DIGEST;
		if ((r = put(c, e)) < 0)
			return r;
		st->files++;
	}
	return 0;
}

static int op_symlinks(struct ctx *c, struct hm_ops_stats *st)
{
	size_t i;
	int r;

	for (i = 0; i < c->t->n_symlinks; i++) {
		const struct hm_tpl_symlink *s = &c->t->symlinks[i];
		struct hm_entry *e;

		if ((r = parent_is_dir(c, "symlinks", s->path)) < 0)
			return r;
		e = new_entry(c, s->path, HM_TYPE_SYMLINK, 0777, s->uid, s->gid);
		if (!e)
			return c->err->code;
		if (hm_entry_set_target(e, s->target, strlen(s->target)) < 0) {
			hm_entry_free(e);
			return hm_error_nomem(c->err);
		}
		if ((r = put(c, e)) < 0)
			return r;
		st->symlinks++;
	}
	return 0;
}

/* --- account databases -------------------------------------------------- */

/* One account file held as text while the operations edit it. */
struct acct {
	const char *path;          /* "/etc/passwd" */
	uint32_t mode;             /* for a new file */
	uint32_t gid;
	struct hm_buf text;
	bool exists, dirty;
};

static int acct_load(struct ctx *c, struct acct *a)
{
	const struct hm_entry *e = hm_tree_get(c->tree, a->path, strlen(a->path));
	char *data;
	size_t len;
	int r;

	if (!e || (e->flags & HM_ENTRY_DELETED)) {
		a->exists = false;
		return 0;
	}
	if (e->type != HM_TYPE_FILE)
		return hm_error_set(c->err, HM_ERR_INPUT, 0,
				    "'%s' in the base is not a regular file", a->path);
	r = hm_blob_read(c->store, e->sha256, ACCOUNT_FILE_MAX, &data, &len, c->err);
	if (r < 0)
		return r;
	a->exists = true;
	a->mode = e->mode;
	a->gid = e->gid;
	r = hm_buf_add(&a->text, data, len);
	free(data);
	if (r < 0)
		return hm_error_nomem(c->err);
	if (a->text.len && a->text.data[a->text.len - 1] != '\n' &&
	    hm_buf_addc(&a->text, '\n') < 0)
		return hm_error_nomem(c->err);
	return 0;
}

static int acct_store(struct ctx *c, struct acct *a)
{
	unsigned char sha[32];
	struct hm_entry *e;
	int r;

	if (!a->dirty)
		return 0;
	r = hm_blob_put(c->store, a->text.data ? a->text.data : "", a->text.len,
			sha, c->err);
	if (r < 0)
		return r;
	if ((r = parent_is_dir(c, "users", a->path)) < 0)
		return r;
	e = new_entry(c, a->path, HM_TYPE_FILE, a->mode, 0, a->gid);
	if (!e)
		return c->err->code;
	e->size = a->text.len;
	memcpy(e->sha256, sha, sizeof(sha));
	e->flags |= HM_ENTRY_HAS_DIGEST;
	return put(c, e);
}

/*
 * Find the line whose first field is name; returns its start offset or
 * -1.  With id_field > 0, also reports a line whose field id_field equals
 * id through *ret_id_line.
 */
static long acct_find(const struct acct *a, const char *name, int id_field,
		      uint32_t id, long *ret_id_line)
{
	size_t nlen = strlen(name), pos = 0;
	long found = -1;
	char idbuf[16];

	snprintf(idbuf, sizeof(idbuf), "%u", id);
	if (ret_id_line)
		*ret_id_line = -1;
	while (pos < a->text.len) {
		const char *line = a->text.data + pos;
		const char *end = memchr(line, '\n', a->text.len - pos);
		size_t len = end ? (size_t)(end - line) : a->text.len - pos;

		if (len > nlen && line[nlen] == ':' && memcmp(line, name, nlen) == 0)
			found = (long)pos;
		if (id_field > 0 && ret_id_line && *ret_id_line < 0) {
			const char *f = line;
			int k;

			for (k = 0; k < id_field && f; k++) {
				f = memchr(f, ':', len - (size_t)(f - line));
				if (f)
					f++;
			}
			if (f) {
				size_t rest = len - (size_t)(f - line);
				const char *colon = memchr(f, ':', rest);
				size_t flen = colon ? (size_t)(colon - f) : rest;

				if (flen == strlen(idbuf) && memcmp(f, idbuf, flen) == 0)
					*ret_id_line = (long)pos;
			}
		}
		pos += len + 1;
	}
	return found;
}

static int acct_append(struct ctx *c, struct acct *a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int acct_append(struct ctx *c, struct acct *a, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = hm_buf_vaddf(&a->text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return hm_error_nomem(c->err);
	a->dirty = true;
	return 0;
}

/* Add member to the 4th field (group) or the 4th field (gshadow) of the
 * line of group name. */
static int acct_add_member(struct ctx *c, struct acct *a, const char *group,
			   const char *member)
{
	long at = acct_find(a, group, 0, 0, NULL);
	struct hm_buf out = HM_BUF_INIT;
	const char *line, *end;
	size_t len;

	if (at < 0)
		return hm_error_set(c->err, HM_ERR_INPUT, 0,
				    "%s: users: group '%s' is not in %s",
				    c->t->path, group, a->path);
	line = a->text.data + at;
	end = memchr(line, '\n', a->text.len - (size_t)at);
	len = end ? (size_t)(end - line) : a->text.len - (size_t)at;
	if (hm_buf_add(&out, a->text.data, (size_t)at + len) < 0 ||
	    hm_buf_addf(&out, "%s%s", line[len - 1] == ':' ? "" : ",", member) < 0 ||
	    hm_buf_add(&out, line + len, a->text.len - (size_t)at - len) < 0) {
		hm_buf_free(&out);
		return hm_error_nomem(c->err);
	}
	hm_buf_free(&a->text);
	a->text = out;
	a->dirty = true;
	return 0;
}

static int op_groups(struct ctx *c, struct acct *group, struct acct *gshadow,
		     struct hm_ops_stats *st)
{
	size_t i;
	int r;

	for (i = 0; i < c->t->n_groups; i++) {
		const struct hm_tpl_group *g = &c->t->groups[i];
		long by_id;

		if (acct_find(group, g->name, 2, g->gid, &by_id) >= 0)
			return hm_error_set(c->err, HM_ERR_INPUT, 0,
					    "%s: groups: group '%s' exists in the base already",
					    c->t->path, g->name);
		if (by_id >= 0)
			return hm_error_set(c->err, HM_ERR_INPUT, 0,
					    "%s: groups: gid %u of '%s' is taken in the base",
					    c->t->path, g->gid, g->name);
		if ((r = acct_append(c, group, "%s:x:%u:\n", g->name, g->gid)) < 0)
			return r;
		if (gshadow->exists &&
		    (r = acct_append(c, gshadow, "%s:!::\n", g->name)) < 0)
			return r;
		st->groups++;
	}
	return 0;
}

static int make_dir(struct ctx *c, const char *path, uint32_t mode,
		    uint32_t uid, uint32_t gid)
{
	struct hm_entry *e;
	int r;

	if ((r = parent_is_dir(c, "users", path)) < 0)
		return r;
	e = new_entry(c, path, HM_TYPE_DIR, mode, uid, gid);
	if (!e)
		return c->err->code;
	return put(c, e);
}

static int op_user_home(struct ctx *c, const struct hm_tpl_user *u)
{
	struct hm_buf text = HM_BUF_INIT;
	char *ssh = NULL, *keys = NULL;
	struct hm_entry *e;
	unsigned char sha[32];
	size_t i;
	int r;

	/* An existing home is left as the base has it. */
	if (u->create_home && !hm_tree_get(c->tree, u->home, strlen(u->home)) &&
	    (r = make_dir(c, u->home, 0750, u->uid, u->gid)) < 0)
		return r;
	if (u->n_authorized_keys == 0)
		return 0;
	if (asprintf(&ssh, "%s/.ssh", u->home) < 0 ||
	    asprintf(&keys, "%s/.ssh/authorized_keys", u->home) < 0) {
		r = hm_error_nomem(c->err);
		goto out;
	}
	if ((r = make_dir(c, ssh, 0700, u->uid, u->gid)) < 0)
		goto out;
	for (i = 0; i < u->n_authorized_keys; i++)
		if (hm_buf_addf(&text, "%s\n", u->authorized_keys[i]) < 0) {
			r = hm_error_nomem(c->err);
			goto out;
		}
	if ((r = hm_blob_put(c->store, text.data, text.len, sha, c->err)) < 0)
		goto out;
	e = new_entry(c, keys, HM_TYPE_FILE, 0600, u->uid, u->gid);
	if (!e) {
		r = c->err->code;
		goto out;
	}
	e->size = text.len;
	memcpy(e->sha256, sha, sizeof(sha));
	e->flags |= HM_ENTRY_HAS_DIGEST;
	r = put(c, e);
out:
	free(ssh);
	free(keys);
	hm_buf_free(&text);
	return r;
}

static int op_users(struct ctx *c, struct acct *passwd, struct acct *shadow,
		    struct acct *group, struct acct *gshadow,
		    struct hm_ops_stats *st)
{
	/* shadow's "last password change", in days: from the build's time so
	 * that two builds give the same bytes. */
	long day = (long)(c->now / 86400);
	size_t i, k;
	int r;

	for (i = 0; i < c->t->n_users; i++) {
		const struct hm_tpl_user *u = &c->t->users[i];
		long by_id;

		if (acct_find(passwd, u->name, 2, u->uid, &by_id) >= 0)
			return hm_error_set(c->err, HM_ERR_INPUT, 0,
					    "%s: users: user '%s' exists in the base already",
					    c->t->path, u->name);
		if (by_id >= 0)
			return hm_error_set(c->err, HM_ERR_INPUT, 0,
					    "%s: users: uid %u of '%s' is taken in the base",
					    c->t->path, u->uid, u->name);
		acct_find(group, "", 2, u->gid, &by_id);
		if (by_id < 0)
			return hm_error_set(c->err, HM_ERR_INPUT, 0,
					    "%s: users: primary gid %u of '%s' is not in /etc/group (add it to groups)",
					    c->t->path, u->gid, u->name);
		if ((r = acct_append(c, passwd, "%s:x:%u:%u:%s:%s:%s\n", u->name,
				     u->uid, u->gid, u->gecos ? u->gecos : "",
				     u->home, u->shell)) < 0)
			return r;
		/* "!" : locked.  A template cannot carry a password. */
		if ((r = acct_append(c, shadow, "%s:!:%ld:0:99999:7:::\n",
				     u->name, day)) < 0)
			return r;
		for (k = 0; k < u->n_groups; k++) {
			if ((r = acct_add_member(c, group, u->groups[k], u->name)) < 0)
				return r;
			if (gshadow->exists &&
			    (r = acct_add_member(c, gshadow, u->groups[k], u->name)) < 0)
				return r;
		}
		if ((r = op_user_home(c, u)) < 0)
			return r;
		st->users++;
	}
	return 0;
}

static int op_accounts(struct ctx *c, struct hm_ops_stats *st)
{
	struct acct passwd = { .path = "/etc/passwd", .mode = 0644 };
	struct acct shadow = { .path = "/etc/shadow", .mode = 0640, .gid = 42 };
	struct acct group = { .path = "/etc/group", .mode = 0644 };
	struct acct gshadow = { .path = "/etc/gshadow", .mode = 0640, .gid = 42 };
	int r;

	if (c->t->n_users == 0 && c->t->n_groups == 0)
		return 0;
	if ((r = acct_load(c, &passwd)) < 0 || (r = acct_load(c, &shadow)) < 0 ||
	    (r = acct_load(c, &group)) < 0 || (r = acct_load(c, &gshadow)) < 0)
		goto out;
	if (!passwd.exists || !group.exists) {
		r = hm_error_set(c->err, HM_ERR_INPUT, 0,
				 "%s: users and groups need /etc/passwd and /etc/group in the base",
				 c->t->path);
		goto out;
	}
	if ((r = op_groups(c, &group, &gshadow, st)) < 0 ||
	    (r = op_users(c, &passwd, &shadow, &group, &gshadow, st)) < 0)
		goto out;
	if ((r = acct_store(c, &passwd)) < 0 || (r = acct_store(c, &shadow)) < 0 ||
	    (r = acct_store(c, &group)) < 0 || (r = acct_store(c, &gshadow)) < 0)
		goto out;
out:
	hm_buf_free(&passwd.text);
	hm_buf_free(&shadow.text);
	hm_buf_free(&group.text);
	hm_buf_free(&gshadow.text);
	return r;
}

/* --- permissions -------------------------------------------------------- */

static int op_perms(struct ctx *c, struct hm_ops_stats *st)
{
	size_t i, k;
	int r = 0;

	for (i = 0; i < c->t->n_perms && r == 0; i++) {
		const struct hm_tpl_perm *p = &c->t->perms[i];
		char **paths = NULL;
		size_t n = 0;

		r = hm_tree_glob(c->tree, p->glob, &paths, &n, c->err);
		for (k = 0; r == 0 && k < n; k++) {
			struct hm_entry *e = hm_tree_get_mut(c->tree, paths[k],
							     strlen(paths[k]));

			if (!e || e->type == HM_TYPE_SYMLINK)
				continue;   /* a symlink's mode means nothing */
			e->mode = p->mode & 07777;
			if (p->has_uid)
				e->uid = p->uid;
			if (p->has_gid)
				e->gid = p->gid;
			st->perms++;
		}
		hm_tree_paths_free(paths, n);
	}
	return r;
}

int hm_ops_apply(const struct hm_template *t, struct hm_tree *tree,
		 struct hm_blobstore *store, time_t now,
		 struct hm_ops_stats *stats, struct hm_error *err)
{
	struct ctx c = { .t = t, .tree = tree, .store = store, .now = now, .err = err };
	int r;

	memset(stats, 0, sizeof(*stats));
	if ((r = op_remove(&c, stats)) < 0 || (r = op_dirs(&c, stats)) < 0 ||
	    (r = op_files(&c, stats)) < 0 || (r = op_symlinks(&c, stats)) < 0 ||
	    (r = op_accounts(&c, stats)) < 0 || (r = op_perms(&c, stats)) < 0)
		return r;
	return 0;
}
